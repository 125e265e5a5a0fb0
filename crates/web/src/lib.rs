//! The lophoc web application: HTML pages for every role, the JSON API, and the plumbing
//! (sessions, CSRF, i18n, errors, metrics) they share.
//!
//! [`App::build`] wires a [`Db`] into an axum router; `lophoc serve` and the integration tests
//! both use it, so tests run the real application.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod csrf;
pub mod demo;
pub mod error;
pub mod i18n;
pub mod imports;
pub mod pages;
pub mod view;

use axum::Router;
use axum::http::{HeaderValue, header};
use db::Db;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;

/// Settings the web layer needs.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark session cookies `Secure` (set when lophoc is served over HTTPS).
    pub secure_cookies: bool,
    /// Trust `X-Forwarded-For` from a reverse proxy for the client address.
    pub trust_proxy: bool,
    /// Session lifetime without activity.
    pub session_ttl: Duration,
    /// Largest accepted upload (roster files).
    pub max_upload_bytes: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            trust_proxy: false,
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            max_upload_bytes: office::roster::MAX_FILE_BYTES,
        }
    }
}

/// Shared state of every request.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Settings.
    pub config: Arc<WebConfig>,
    /// Prometheus metrics renderer.
    pub metrics: PrometheusHandle,
    /// Roster imports waiting for confirmation or running.
    pub imports: Arc<imports::ImportStore>,
    /// Login attempt counters per client address.
    pub throttle: Arc<auth::IpThrottle>,
}

/// The application: its router and state.
pub struct App {
    /// Shared state.
    pub state: AppState,
    router: Router,
}

fn metrics_handle() -> PrometheusHandle {
    // The recorder is process-global; tests build many apps in one process.
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle())
        })
        .clone()
}

impl App {
    /// Builds the application on an open, migrated database.
    pub fn build(db: Db, config: WebConfig) -> Self {
        let state = AppState {
            db,
            config: Arc::new(config),
            metrics: metrics_handle(),
            imports: Arc::new(imports::ImportStore::default()),
            throttle: Arc::new(auth::IpThrottle::default()),
        };
        let body_limit = state.config.max_upload_bytes + 64 * 1024;
        let router = Router::new()
            .merge(pages::router())
            .merge(api::router())
            .layer(axum::middleware::from_fn(csrf::protect))
            .layer(axum::middleware::from_fn(view::track))
            .layer(axum::extract::DefaultBodyLimit::max(body_limit))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("DENY"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
                ),
            ))
            // Pages are text: gzip makes them several times smaller on 3G.
            .layer(tower_http::compression::CompressionLayer::new())
            .layer(tower_http::catch_panic::CatchPanicLayer::new())
            .with_state(state.clone());
        Self { state, router }
    }

    /// The router, for serving or for in-process tests.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Serves on a bound listener until `shutdown` resolves, then finishes in-flight requests.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let purge_db = self.state.db.clone();
        let purger = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                if let Err(e) = purge_db.purge_expired_sessions().await {
                    tracing::warn!(error = %e, "purging expired sessions failed");
                }
            }
        });
        let result = axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        purger.abort();
        result
    }
}
