//! Passwords, sessions and the [`Session`] extractor that turns a cookie into an [`Actor`].

use crate::AppState;
use crate::error::WebError;
use crate::i18n::Lang;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use base64::Engine;
use db::accounts::User;
use domain::auth::{Action, Actor, Target};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "lophoc_sid";

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id parameters: 19 MiB, 2 passes, 1 lane.
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters"),
    )
}

/// Hashes a password with argon2id off the async threads.
pub async fn hash_password(password: String) -> Result<String, WebError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| WebError::Internal(anyhow::anyhow!("hashing failed: {e}")))
    })
    .await
    .map_err(|e| WebError::Internal(e.into()))?
}

/// Checks a password against a stored hash off the async threads.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A random password that is easy to read off a printed slip (no 0/O, 1/l).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// A new session token (for the cookie) and its hash (for the database).
pub fn new_session_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// The stored form of a session token: a leaked database does not yield live cookies.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The `Set-Cookie` value for a session.
pub fn session_cookie(token: &str, ttl: Duration, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        ttl.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Reads a cookie from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The logged-in user behind a request. Extracting it refuses anonymous requests and, until
/// the user has chosen a new password, every page but the password page.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who acts.
    pub actor: Actor,
    /// Their account.
    pub user: User,
    /// Hash of this session's token.
    pub token_hash: String,
    /// Interface language.
    pub lang: Lang,
    /// Unread notifications.
    pub unread: i64,
}

impl Session {
    /// Refuses unless the actor may do `action` on `target`: the one authorization check.
    pub fn require(&self, action: Action, target: Target<'_>) -> Result<(), WebError> {
        if self.actor.can(action, target) {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }
}

/// A session that may still have to change its password (for the password page itself).
#[derive(Debug, Clone)]
pub struct PendingSession(pub Session);

pub(crate) async fn load_session(parts: &Parts, state: &AppState) -> Result<Session, WebError> {
    let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(WebError::LoginRequired)?;
    let hash = token_hash(token);
    let (row, user) = state
        .db
        .session_user(&hash)
        .await?
        .ok_or(WebError::LoginRequired)?;
    if user.status != "active" {
        return Err(WebError::LoginRequired);
    }
    // Slide the expiry, but write at most every ten minutes: a page view should not cost a
    // write on a busy SQLite.
    let now = db::now_ms();
    if now - row.last_seen > 10 * 60 * 1000 {
        let ttl = state.config.session_ttl.as_millis() as i64;
        state.db.touch_session(&hash, now + ttl).await?;
        state.db.touch_user(user.id).await?;
    }
    let actor = state.db.actor(&user).await?;
    Ok(Session {
        actor,
        user,
        token_hash: hash,
        lang: Lang::from_headers(&parts.headers),
        unread: row.unread,
    })
}

impl FromRequestParts<AppState> for PendingSession {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        load_session(parts, state).await.map(PendingSession)
    }
}

/// Rejection that sends users with a temporary password to the password page.
#[derive(Debug)]
pub enum SessionRejection {
    /// The usual errors.
    Web(WebError),
    /// Must change the password first.
    MustChangePassword,
}

impl axum::response::IntoResponse for SessionRejection {
    fn into_response(self) -> axum::response::Response {
        match self {
            Self::Web(e) => e.into_response(),
            Self::MustChangePassword => {
                axum::response::Redirect::to("/account/password").into_response()
            }
        }
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, SessionRejection> {
        let s = load_session(parts, state)
            .await
            .map_err(SessionRejection::Web)?;
        if s.user.must_change_password {
            return Err(SessionRejection::MustChangePassword);
        }
        Ok(s)
    }
}

/// Counts failed logins per client address. Generous on purpose: a whole class logs in from
/// behind one NAT address, so the per-account lock does the real work.
#[derive(Debug, Default)]
pub struct IpThrottle {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl IpThrottle {
    /// Failed attempts allowed per address per window.
    pub const LIMIT: u32 = 200;
    /// The window.
    pub const WINDOW: Duration = Duration::from_secs(15 * 60);

    /// Whether the address is over its limit.
    pub fn blocked(&self, ip: IpAddr) -> bool {
        let map = self.failures.lock().expect("throttle lock");
        map.get(&ip)
            .is_some_and(|(n, start)| *n >= Self::LIMIT && start.elapsed() < Self::WINDOW)
    }

    /// Counts one failure.
    pub fn fail(&self, ip: IpAddr) {
        let mut map = self.failures.lock().expect("throttle lock");
        if map.len() > 100_000 {
            map.retain(|_, (_, start)| start.elapsed() < Self::WINDOW);
        }
        let entry = map.entry(ip).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= Self::WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}

/// How long an account stays locked after `failures` consecutive failures: nothing for the
/// first four, then one minute doubling up to fifteen.
pub fn lock_duration(failures: i64) -> Option<Duration> {
    if failures < 5 {
        return None;
    }
    let minutes = 1u64 << (failures - 5).min(4);
    Some(Duration::from_secs(60 * minutes.min(15)))
}

impl axum::extract::OptionalFromRequestParts<AppState> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(load_session(parts, state)
            .await
            .ok()
            .filter(|s| !s.user.must_change_password))
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for PendingSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(load_session(parts, state).await.ok().map(PendingSession))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_grows_then_caps() {
        assert_eq!(lock_duration(4), None);
        assert_eq!(lock_duration(5), Some(Duration::from_secs(60)));
        assert_eq!(lock_duration(6), Some(Duration::from_secs(120)));
        assert_eq!(lock_duration(20), Some(Duration::from_secs(900)));
    }

    #[test]
    fn cookies_are_read_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; lophoc_sid=xyz; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn ip_throttle_blocks_after_limit() {
        let t = IpThrottle::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..IpThrottle::LIMIT {
            assert!(!t.blocked(ip));
            t.fail(ip);
        }
        assert!(t.blocked(ip));
    }

    #[test]
    fn random_passwords_are_readable() {
        let p = random_password();
        assert_eq!(p.len(), 10);
        assert!(!p.contains(['0', 'o', '1', 'l']));
    }
}
