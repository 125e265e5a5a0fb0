//! Configuration: built-in defaults, then `lophoc.toml`, then `LOPHOC_*` environment variables.
//! Every value has a working default, so `lophoc serve` runs with no configuration at all.

use anyhow::{Context, Result};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The settings of a lophoc process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Data directory: the SQLite database and, later, stored files.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; empty means SQLite in `data_dir`.
    pub database_url: String,
    /// Address to listen on.
    pub listen: String,
    /// Mark cookies Secure (serve over HTTPS).
    pub cookie_secure: bool,
    /// Trust X-Forwarded-For from a reverse proxy.
    pub trust_proxy: bool,
    /// Log format: "text" or "json".
    pub log_format: String,
    /// Log filter, e.g. "info" or "lophoc=debug,info".
    pub log_level: String,
    /// The address users reach lophoc at (links in emails and Zalo messages); default
    /// `http://<listen>`.
    pub public_url: String,
    /// SMTP server for email, `smtp://user:pass@host:587`; empty: email goes to `<data>/outbox`.
    #[serde(skip_serializing, default = "empty_secret")]
    pub smtp_url: secrecy::SecretString,
    /// Sender of email.
    pub mail_from: String,
    /// Zalo ZNS endpoint; the channel is on when an access token is set.
    pub zalo_endpoint: String,
    /// Zalo Official Account access token.
    #[serde(skip_serializing, default = "empty_secret")]
    pub zalo_access_token: secrecy::SecretString,
    /// Zalo ZNS template id (title, content, link).
    pub zalo_template_id: String,
    /// Largest lesson video a teacher may upload, in MB (default 2048 = 2 GB).
    pub max_video_mb: u64,
    /// UDP address of the live-class media server (all peers share it).
    pub live_udp: String,
    /// TCP address for ICE-TCP (networks that block UDP); empty turns it off.
    pub live_tcp: String,
    /// IP addresses announced to browsers, comma separated; empty: detected.
    pub live_announce: String,
    /// This media node's id in the registry (several nodes share one database).
    pub live_node_id: String,
    /// Public WebSocket base of this media node (`wss://media1.example`); empty: the web origin.
    pub live_ws_base: String,
    /// Accept Web Push subscriptions to plain-HTTP or local endpoints. Only for browser tests
    /// with a local push stand-in: real push services are public HTTPS, and anything else lets
    /// a user make the server call into its own network.
    pub push_allow_insecure: bool,
}

fn empty_secret() -> secrecy::SecretString {
    secrecy::SecretString::from("")
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            listen: "127.0.0.1:8080".into(),
            cookie_secure: false,
            trust_proxy: false,
            log_format: "text".into(),
            log_level: "info".into(),
            public_url: String::new(),
            smtp_url: secrecy::SecretString::from(""),
            mail_from: "lophoc <no-reply@lophoc.local>".into(),
            max_video_mb: 2048,
            zalo_endpoint: "https://business.openapi.zalo.me/message/template".into(),
            zalo_access_token: secrecy::SecretString::from(""),
            zalo_template_id: String::new(),
            live_udp: "0.0.0.0:3478".into(),
            live_tcp: "0.0.0.0:3478".into(),
            live_announce: String::new(),
            live_node_id: "local".into(),
            live_ws_base: String::new(),
            push_allow_insecure: false,
        }
    }
}

impl Config {
    /// Loads defaults ← file ← environment. Errors name the bad key and where it came from.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) => {
                anyhow::ensure!(f.exists(), "không tìm thấy tệp cấu hình {}", f.display());
                fig = fig.merge(Toml::file(f));
            }
            None => fig = fig.merge(Toml::file("lophoc.toml")),
        }
        fig = fig.merge(Env::prefixed("LOPHOC_"));
        let config: Config = fig.extract().map_err(|e| {
            let mut msg = String::from("cấu hình không hợp lệ:");
            for err in e {
                let key = err.path.join(".").to_lowercase();
                let source = match &err.metadata {
                    Some(md) => {
                        let profile = err.profile.clone().unwrap_or_default();
                        let name = md.interpolate(&profile, &err.path);
                        match &md.source {
                            Some(figment::Source::File(f)) => {
                                format!("tệp {}, khoá {name}", f.display())
                            }
                            _ if md.name.contains("environment") => {
                                format!("biến môi trường LOPHOC_{name}")
                            }
                            _ => format!("{} ({name})", md.name),
                        }
                    }
                    None => "mặc định".into(),
                };
                msg.push_str(&format!("\n  {key}: {} (nguồn: {source})", err.kind));
            }
            anyhow::anyhow!(msg)
        })?;
        anyhow::ensure!(
            matches!(config.log_format.as_str(), "text" | "json"),
            "cấu hình không hợp lệ: log_format = \"{}\" (chỉ nhận \"text\" hoặc \"json\")",
            config.log_format
        );
        config.live()?;
        Ok(config)
    }

    /// The media server's settings; errors name the bad key.
    pub fn live(&self) -> Result<web::live::LiveConfig> {
        let addr = |key: &str, v: &str| -> Result<std::net::SocketAddr> {
            v.trim().parse().map_err(|_| {
                anyhow::anyhow!(
                    "cấu hình không hợp lệ: {key} = \"{v}\" không phải địa chỉ IP:cổng (ví dụ 0.0.0.0:3478)"
                )
            })
        };
        let udp = addr("live_udp", &self.live_udp)?;
        let tcp = match self.live_tcp.trim() {
            "" => None,
            v => Some(addr("live_tcp", v)?),
        };
        let announce = self
            .live_announce
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse().map_err(|_| {
                    anyhow::anyhow!(
                        "cấu hình không hợp lệ: live_announce chứa \"{s}\", không phải địa chỉ IP"
                    )
                })
            })
            .collect::<Result<Vec<std::net::IpAddr>>>()?;
        Ok(web::live::LiveConfig {
            udp,
            tcp,
            announce,
            recordings_dir: self.data_dir.join("recordings"),
            ..web::live::LiveConfig::default()
        })
    }

    /// The database URL: PostgreSQL when configured, else SQLite in the data directory.
    pub fn database_url(&self) -> Result<String> {
        if !self.database_url.is_empty() {
            return Ok(self.database_url.clone());
        }
        std::fs::create_dir_all(&self.data_dir).with_context(|| {
            format!("không tạo được thư mục dữ liệu {}", self.data_dir.display())
        })?;
        Ok(format!(
            "sqlite://{}?mode=rwc",
            self.data_dir.join("lophoc.db").display()
        ))
    }

    /// The web layer's settings.
    pub fn web(&self) -> web::WebConfig {
        use secrecy::ExposeSecret;
        // The endpoint serves schools with their own Official Account even without a token here.
        let zalo = Some(web::notify::ZaloConfig {
            endpoint: self.zalo_endpoint.clone(),
            access_token: self.zalo_access_token.expose_secret().to_owned(),
            template_id: self.zalo_template_id.clone(),
        });
        web::WebConfig {
            secure_cookies: self.cookie_secure,
            trust_proxy: self.trust_proxy,
            outbox_dir: Some(self.data_dir.join("outbox")),
            files_dir: Some(self.data_dir.join("files")),
            uploads_dir: Some(self.data_dir.join("uploads")),
            max_video_bytes: self.max_video_mb.max(1) * 1024 * 1024,
            smtp_url: (!self.smtp_url.expose_secret().is_empty()).then(|| self.smtp_url.clone()),
            mail_from: self.mail_from.clone(),
            zalo,
            live: self.live().unwrap_or_default(),
            live_node_id: self.live_node_id.clone(),
            live_ws_base: self.live_ws_base.clone(),
            push_allow_insecure: self.push_allow_insecure,
            public_url: if self.public_url.is_empty() {
                format!("http://{}", self.listen)
            } else {
                self.public_url.clone()
            },
            ..web::WebConfig::default()
        }
    }
}

/// Hides the password of a database URL for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Structured logs to stderr, as text or JSON.
pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
