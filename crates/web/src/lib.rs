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
pub mod files;
pub mod i18n;
pub mod imports;
pub mod notify;
pub mod pages;
pub mod rich;
pub mod view;

/// The live-class media server, re-exported for the binary's configuration.
pub use live;

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
    /// Where email goes when no SMTP server is set: `.eml` files in this folder.
    pub outbox_dir: Option<std::path::PathBuf>,
    /// SMTP server (`smtp://user:pass@host:587`); takes precedence over the outbox.
    pub smtp_url: Option<secrecy::SecretString>,
    /// Sender of email.
    pub mail_from: String,
    /// Zalo ZNS settings, if the channel is on.
    pub zalo: Option<notify::ZaloConfig>,
    /// The address users reach lophoc at, for links in messages.
    pub public_url: String,
    /// Run the background worker inside the web process.
    pub run_worker: bool,
    /// First wait before retrying a failed delivery (doubles each time).
    pub retry_base_ms: i64,
    /// Contact of the operator in VAPID signatures (`mailto:…`).
    pub push_contact: String,
    /// Accept plain-HTTP and local push endpoints (tests with a local push stand-in only).
    pub push_allow_insecure: bool,
    /// Folder of stored files; none keeps them in memory (tests).
    pub files_dir: Option<std::path::PathBuf>,
    /// Largest lesson video accepted by the resumable upload, in bytes (default 2 GB).
    pub max_video_bytes: u64,
    /// Folder of resumable uploads in progress; none uses `<files_dir>/_uploads`, or a fresh
    /// temporary folder when files are kept in memory.
    pub uploads_dir: Option<std::path::PathBuf>,
    /// The video transcoder; none uses ffmpeg from `PATH` (tests inject a fake).
    pub transcoder: Option<pages::video::SharedTranscoder>,
    /// The live-class media server (UDP/TCP addresses, announced IPs, recordings folder).
    pub live: live::LiveConfig,
    /// Muxes live recordings into MP4; none uses ffmpeg from `PATH` (tests inject a fake).
    pub live_muxer: Option<pages::live::SharedMuxer>,
    /// This node's id in the registry of media nodes.
    pub live_node_id: String,
    /// This node's public WebSocket base (`wss://media1.example`); empty: the pages' origin.
    pub live_ws_base: String,
    /// What this process serves: everything, only the pages, or only the media server.
    pub role: NodeRole,
    /// How often this node reports its load to the `live_nodes` registry; none: never (a
    /// web-only node, or tests that register nodes themselves).
    pub live_heartbeat: Option<Duration>,
}

/// What a `lophoc serve` process runs (`--role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeRole {
    /// Pages, background jobs and the media server (one box).
    #[default]
    All,
    /// Pages and background jobs; rooms go to media nodes of the registry.
    Web,
    /// Only the media server and its WebSocket route (plus `/healthz`).
    Media,
}

impl NodeRole {
    /// From `--role` (`all`, `web`, `media`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "all" => Some(Self::All),
            "web" => Some(Self::Web),
            "media" => Some(Self::Media),
            _ => None,
        }
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            trust_proxy: false,
            session_ttl: Duration::from_secs(14 * 24 * 3600),
            max_upload_bytes: office::roster::MAX_FILE_BYTES,
            outbox_dir: None,
            smtp_url: None,
            mail_from: "lophoc <no-reply@lophoc.local>".into(),
            zalo: None,
            public_url: "http://localhost:8080".into(),
            run_worker: true,
            retry_base_ms: 30_000,
            push_contact: "mailto:admin@lophoc.local".into(),
            push_allow_insecure: false,
            files_dir: None,
            max_video_bytes: media::upload::DEFAULT_MAX_LEN,
            uploads_dir: None,
            transcoder: None,
            live: live::LiveConfig::default(),
            live_muxer: None,
            live_node_id: "local".into(),
            live_ws_base: String::new(),
            role: NodeRole::All,
            live_heartbeat: Some(Duration::from_secs(10)),
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
    /// Stored files (message photos).
    pub storage: media::Storage,
    /// Resumable video uploads in progress.
    pub uploads: Arc<pages::video::VideoUploads>,
    /// Turns uploaded videos into HLS renditions.
    pub transcoder: Arc<dyn media::video::Transcoder>,
    /// Bounds how many transcodes run at once (one by default).
    pub transcodes: media::video::TranscodeQueue,
    /// The live-class media server of this node, with the muxer and the token key.
    pub live: Arc<pages::live::LiveHub>,
}

/// The application: its router and state.
pub struct App {
    /// Shared state.
    pub state: AppState,
    router: Router,
    worker: notify::Worker,
}

impl WebConfig {
    /// The delivery channels these settings turn on.
    pub fn notifiers(&self, db: &Db) -> anyhow::Result<Vec<Arc<dyn notify::Notifier>>> {
        use secrecy::ExposeSecret;
        let mut out: Vec<Arc<dyn notify::Notifier>> = Vec::new();
        match (&self.smtp_url, &self.outbox_dir) {
            (Some(url), _) => out.push(Arc::new(
                notify::EmailNotifier::smtp(url.expose_secret(), &self.mail_from)
                    .map_err(|e| anyhow::anyhow!("smtp_url / mail_from không hợp lệ: {e}"))?,
            )),
            (None, Some(dir)) => out.push(Arc::new(
                notify::EmailNotifier::outbox(dir.clone(), &self.mail_from).map_err(|e| {
                    anyhow::anyhow!("outbox {} / mail_from không hợp lệ: {e}", dir.display())
                })?,
            )),
            (None, None) => {}
        }
        // Always on: schools may bring their own Official Account even when the installation
        // has none.
        out.push(Arc::new(notify::ZaloNotifier::new(
            self.zalo.clone().unwrap_or_else(|| notify::ZaloConfig {
                endpoint: "https://business.openapi.zalo.me/message/template".into(),
                access_token: String::new(),
                template_id: String::new(),
            }),
        )));
        out.push(Arc::new(notify::PushNotifier::new(
            db.clone(),
            self.push_contact.clone(),
        )));
        Ok(out)
    }
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
    /// Builds the application on an open, migrated database; refuses bad delivery settings.
    pub fn build(db: Db, config: WebConfig) -> anyhow::Result<Self> {
        let worker = notify::Worker::new(
            db.clone(),
            config.notifiers(&db)?,
            config.public_url.clone(),
        )
        .with_retry_base(config.retry_base_ms);
        let storage = match &config.files_dir {
            Some(dir) => media::Storage::local(dir)
                .map_err(|e| anyhow::anyhow!("thư mục tệp {}: {e}", dir.display()))?,
            None => media::Storage::memory(),
        };
        let uploads = Arc::new(pages::video::VideoUploads::from_config(&config));
        let transcoder = match &config.transcoder {
            Some(t) => t.0.clone(),
            None => Arc::new(media::video::FfmpegTranscoder::from_path()),
        };
        // A web-only node hosts no room of its own (unless no media node reports): its media
        // server stays on loopback and leaves the configured ports to the media nodes.
        let live_config = match config.role {
            NodeRole::Web => live::LiveConfig {
                udp: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                tcp: None,
                ..config.live.clone()
            },
            NodeRole::All | NodeRole::Media => config.live.clone(),
        };
        let (media_server, live_events) = live::Live::start(live_config).map_err(|e| {
            anyhow::anyhow!(
                "không mở được máy chủ lớp học trực tuyến (UDP {}, TCP {:?}; khoá live_udp, live_tcp): {e}",
                config.live.udp,
                config.live.tcp
            )
        })?;
        let muxer: Arc<dyn pages::live::Muxer> = match &config.live_muxer {
            Some(m) => m.0.clone(),
            None => Arc::new(pages::live::FfmpegMuxer::from_path()),
        };
        let live = Arc::new(pages::live::LiveHub::new(
            media_server,
            muxer,
            config.live_node_id.clone(),
            config.live_ws_base.clone(),
        ));
        let state = AppState {
            live,
            storage,
            uploads,
            transcoder,
            transcodes: media::video::TranscodeQueue::default(),
            db,
            config: Arc::new(config),
            metrics: metrics_handle(),
            imports: Arc::new(imports::ImportStore::default()),
            throttle: Arc::new(auth::IpThrottle::default()),
        };
        // Videos left waiting by a restart are transcoded again.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(pages::video::resume_transcodes(state.clone()));
            // Joins, leaves, recordings and polls from the media server go to the database.
            rt.spawn(pages::live::persist_events(state.clone(), live_events));
            if let (Some(every), true) = (
                state.config.live_heartbeat,
                state.config.role != NodeRole::Web,
            ) {
                rt.spawn(pages::live::heartbeat(state.clone(), every));
            }
        }
        let body_limit = state.config.max_upload_bytes + 64 * 1024;
        let routes = match state.config.role {
            NodeRole::Media => pages::live::media_router(),
            NodeRole::All | NodeRole::Web => {
                Router::new().merge(pages::router()).merge(api::router())
            }
        };
        let router = routes
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
                    "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
                ),
            ))
            // Pages are text: gzip makes them several times smaller on 3G.
            .layer(tower_http::compression::CompressionLayer::new())
            .layer(tower_http::catch_panic::CatchPanicLayer::new())
            .with_state(state.clone());
        Ok(Self {
            state,
            router,
            worker,
        })
    }

    /// The background worker (tests drive it with `run_once`).
    pub fn worker(&self) -> notify::Worker {
        self.worker.clone()
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
        let uploads = self.state.uploads.clone();
        let purger = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tick.tick().await;
                if let Err(e) = purge_db.purge_expired_sessions().await {
                    tracing::warn!(error = %e, "purging expired sessions failed");
                }
                // Uploads abandoned for two days free their disk space.
                if let Ok(u) = uploads.get().await
                    && let Err(e) = u.sweep_idle(Duration::from_secs(48 * 3600)).await
                {
                    tracing::warn!(error = %e, "sweeping idle uploads failed");
                }
            }
        });
        if self.state.config.run_worker && self.state.config.role != NodeRole::Media {
            // The stored coverage figures of the province dashboards, counted every few minutes.
            pages::oversight::start_refresher(self.state.db.clone());
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = if self.state.config.run_worker && self.state.config.role != NodeRole::Media {
            Some(tokio::spawn(self.worker.clone().run(stopped)))
        } else {
            None
        };
        let result = axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        purger.abort();
        // Let the worker finish the job in hand; the queue keeps the rest for next time.
        let _ = stop.send(true);
        if let Some(w) = worker {
            let _ = w.await;
        }
        result
    }
}
