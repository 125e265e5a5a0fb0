//! Health, metrics, static assets and the language switch.

use crate::AppState;
use crate::auth::Session;
use crate::error::WebError;
use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use domain::auth::{Action, Target};
use std::net::SocketAddr;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/static/{file}", get(asset))
        .route("/lang/{code}", get(set_lang))
        .route("/manifest.webmanifest", get(manifest))
        .route("/sw.js", get(service_worker))
        .route("/offline", get(offline))
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Prometheus metrics: for system admins, or from the machine itself (a local scraper).
async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    session: Option<Session>,
) -> Result<String, WebError> {
    let local = peer.ip().is_loopback();
    let admin = session.is_some_and(|s| s.actor.can(Action::ManageSystem, Target::System));
    if !(local || admin) {
        return Err(WebError::Forbidden);
    }
    Ok(state.metrics.render())
}

const CSS: &str = include_str!("../../static/app.css");
const JS: &str = include_str!("../../static/app.js");
const ICON: &str = include_str!("../../static/icon.svg");
const SW: &str = include_str!("../../static/sw.js");
const MATH: &str = include_str!("../../static/math.css");

/// A short hash of the assets: pages link `app.css?v=…`, so a new binary busts the year-long
/// browser cache exactly when an asset changed.
pub fn asset_version() -> &'static str {
    static V: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(CSS);
        h.update(JS);
        h.update(MATH);
        // The page scripts are cached by URL too (the service worker keeps /static/*).
        h.update(super::exams::EXAM_JS);
        h.update(super::live::LIVE_JS);
        h.update(super::video::PLAYER_JS);
        h.update(super::video::UPLOAD_JS);
        hex::encode(&h.finalize()[..6])
    })
}

async fn asset(Path(file): Path<String>) -> Response {
    let (body, ctype) = match file.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        "icon.svg" => (ICON, "image/svg+xml"),
        "math.css" => (MATH, "text/css; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            // Assets change only with a new binary; the layout links them with a version.
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

async fn set_lang(Path(code): Path<String>, headers: HeaderMap) -> Response {
    let code = if code == "en" { "en" } else { "vi" };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned()))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    (
        [(
            header::SET_COOKIE,
            format!("lang={code}; Path=/; Max-Age=31536000; SameSite=Lax"),
        )],
        Redirect::to(&back),
    )
        .into_response()
}

/// The web app manifest: lophoc installs on a phone's home screen like an app.
async fn manifest(headers: HeaderMap) -> Response {
    let lang = crate::i18n::Lang::from_headers(&headers);
    let body = serde_json::json!({
        "name": "lophoc",
        "short_name": "lophoc",
        "description": lang.t("login-intro"),
        "lang": lang.code(),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5cad",
        "icons": [{ "src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any" }],
    });
    (
        [(header::CONTENT_TYPE, "application/manifest+json")],
        body.to_string(),
    )
        .into_response()
}

/// The service worker, served from the root so that it may control every page.
async fn service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // Browsers check for a new worker on their own; keep it uncached so they see it.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SW,
    )
        .into_response()
}

#[derive(askama::Template)]
#[template(path = "offline.html")]
struct OfflinePage {
    ctx: crate::view::Ctx,
}

async fn offline(headers: HeaderMap) -> Result<axum::response::Html<String>, WebError> {
    let lang = crate::i18n::Lang::from_headers(&headers);
    crate::view::render(&OfflinePage {
        ctx: crate::view::Ctx::anonymous(lang, lang.t("offline-title")),
    })
}
