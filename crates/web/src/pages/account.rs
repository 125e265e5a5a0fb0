//! Logging in and out, and changing one's password.

use crate::AppState;
use crate::auth::{
    self, PendingSession, Session, clear_cookie, hash_password, new_session_token, session_cookie,
    verify_password,
};
use crate::error::Form;
use crate::error::WebResult;
use crate::i18n::Lang;
use crate::view::{Ctx, render};
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/logout-all", post(logout_all))
        .route(
            "/account/password",
            get(password_page).post(change_password),
        )
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: Ctx,
    login: String,
}

async fn login_page(headers: HeaderMap) -> WebResult<Html<String>> {
    let lang = Lang::from_headers(&headers);
    render(&LoginPage {
        ctx: Ctx::anonymous(lang, lang.t("login-title")).with_help("dang-nhap"),
        login: String::new(),
    })
}

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
}

fn client_ip(state: &AppState, headers: &HeaderMap, peer: Option<SocketAddr>) -> IpAddr {
    if state.config.trust_proxy
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    peer.map(|p| p.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
}

fn login_failed(lang: Lang, login: String, message: String, status: StatusCode) -> Response {
    let mut ctx = Ctx::anonymous(lang, lang.t("login-title")).with_help("dang-nhap");
    ctx.error = Some(message);
    match render(&LoginPage { ctx, login }) {
        Ok(html) => (status, html).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> WebResult<Response> {
    let lang = Lang::from_headers(&headers);
    let ip = client_ip(&state, &headers, Some(peer));
    if state.throttle.blocked(ip) {
        return Ok(login_failed(
            lang,
            form.login,
            lang.t("login-throttled-ip"),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let wrong = || lang.t("login-wrong");
    let Some(user) = state.db.user_by_login(&form.login).await? else {
        state.throttle.fail(ip);
        // Spend the same time as a real check, so response times do not reveal accounts.
        let _ = hash_password(form.password.clone()).await;
        return Ok(login_failed(
            lang,
            form.login,
            wrong(),
            StatusCode::UNAUTHORIZED,
        ));
    };
    let now = db::now_ms();
    if user.locked_until > now {
        let minutes = (user.locked_until - now + 59_999) / 60_000;
        return Ok(login_failed(
            lang,
            form.login,
            lang.t("login-locked")
                .replace("MINUTES", &minutes.to_string()),
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let Some(hash) = user.password_hash.clone() else {
        return Ok(login_failed(
            lang,
            form.login,
            lang.t("login-no-password"),
            StatusCode::UNAUTHORIZED,
        ));
    };
    if user.status != "active" {
        return Ok(login_failed(
            lang,
            form.login,
            lang.t("login-disabled"),
            StatusCode::FORBIDDEN,
        ));
    }
    if !verify_password(form.password, hash).await {
        state.throttle.fail(ip);
        let lock = auth::lock_duration(user.failed_logins + 1)
            .map(|d| now + d.as_millis() as i64)
            .unwrap_or(0);
        state.db.record_failed_login(user.id, lock).await?;
        return Ok(login_failed(
            lang,
            form.login,
            wrong(),
            StatusCode::UNAUTHORIZED,
        ));
    }
    state.db.clear_failed_logins(user.id).await?;
    state.db.touch_user(user.id).await?;
    let (token, hash) = new_session_token();
    let ttl = state.config.session_ttl;
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    state
        .db
        .create_session(&hash, user.id, now + ttl.as_millis() as i64, ua)
        .await?;
    tracing::info!(user = %user.username, "login");
    let target = if user.must_change_password {
        "/account/password"
    } else {
        "/"
    };
    Ok((
        [(
            header::SET_COOKIE,
            session_cookie(&token, ttl, state.config.secure_cookies),
        )],
        Redirect::to(target),
    )
        .into_response())
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> WebResult<Response> {
    if let Some(token) = auth::cookie(&headers, auth::SESSION_COOKIE) {
        state.db.delete_session(&auth::token_hash(token)).await?;
    }
    Ok((
        [(
            header::SET_COOKIE,
            clear_cookie(state.config.secure_cookies),
        )],
        Redirect::to("/login"),
    )
        .into_response())
}

async fn logout_all(State(state): State<AppState>, s: PendingSession) -> WebResult<Response> {
    let s = s.0;
    state.db.delete_user_sessions(s.user.id, None).await?;
    Ok((
        [(
            header::SET_COOKIE,
            clear_cookie(state.config.secure_cookies),
        )],
        Redirect::to("/login"),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    ctx: Ctx,
    forced: bool,
}

fn password_ctx(s: &Session) -> Ctx {
    let mut ctx = Ctx::new(s, s.lang.t("password-title")).with_help("dang-nhap");
    if s.user.must_change_password {
        // Until the password is changed the menu would only lead back here.
        if let Some(u) = ctx.user.as_mut() {
            u.links.clear();
        }
    }
    ctx
}

async fn password_page(s: PendingSession) -> WebResult<Html<String>> {
    let s = s.0;
    render(&PasswordPage {
        forced: s.user.must_change_password,
        ctx: password_ctx(&s),
    })
}

/// The password form.
#[derive(Deserialize)]
pub struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

async fn change_password(
    State(state): State<AppState>,
    s: PendingSession,
    Form(form): Form<PasswordForm>,
) -> WebResult<Response> {
    let s = s.0;
    let fail = |msg: String| -> WebResult<Response> {
        let mut ctx = password_ctx(&s);
        ctx.error = Some(msg);
        Ok((
            StatusCode::BAD_REQUEST,
            render(&PasswordPage {
                forced: s.user.must_change_password,
                ctx,
            })?,
        )
            .into_response())
    };
    let current_ok = match &s.user.password_hash {
        Some(h) => verify_password(form.current.clone(), h.clone()).await,
        None => false,
    };
    if !current_ok {
        return fail(s.lang.t("password-wrong-current"));
    }
    if form.new != form.confirm {
        return fail(s.lang.t("password-mismatch"));
    }
    if form.new == form.current {
        return fail(s.lang.t("password-same"));
    }
    if let Err(e) = domain::people::check_new_password(&form.new, &s.user.username) {
        return fail(e.0);
    }
    let hash = hash_password(form.new).await?;
    state.db.set_password(s.user.id, &hash, false).await?;
    // Other devices that knew the old password are logged out; this one stays.
    state
        .db
        .delete_user_sessions(s.user.id, Some(&s.token_hash))
        .await?;
    Ok(Redirect::to("/?ok=password").into_response())
}
