//! Delivering notifications outside the app: email (SMTP, or `.eml` files in a local outbox
//! folder by default) and Zalo (ZNS HTTP API), behind one [`Notifier`] trait, driven by a
//! background [`Worker`] over the database job queue with retries and quiet hours.

use db::Db;
use db::family::Outgoing;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed future, so notifiers can sit behind `dyn Notifier`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What is sent.
#[derive(Debug, Clone)]
pub struct Message {
    /// Recipient's name.
    pub to_name: String,
    /// Subject / title.
    pub subject: String,
    /// Text.
    pub body: String,
    /// Absolute link to open it in lophoc.
    pub url: String,
    /// Id for tracing (the notification id).
    pub tracking_id: String,
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later (network, server busy).
    #[error("tạm thời: {0}")]
    Temporary(String),
    /// Will never work (bad address, refused).
    #[error("vĩnh viễn: {0}")]
    Permanent(String),
}

/// A delivery channel.
pub trait Notifier: Send + Sync {
    /// Its name, as recorded ("email", "zalo").
    fn channel(&self) -> &'static str;
    /// The recipient's addresses on this channel (none if they have none or do not want it).
    fn addresses(&self, o: &Outgoing) -> Vec<String>;
    /// Sends one message; returns a detail to record (a message id).
    fn send<'a>(
        &'a self,
        to: &'a str,
        msg: &'a Message,
    ) -> BoxFuture<'a, Result<String, SendError>>;
}

/// Email through lettre: SMTP when configured, else `.eml` files in an outbox folder.
pub struct EmailNotifier {
    from: lettre::message::Mailbox,
    transport: EmailTransport,
}

enum EmailTransport {
    Smtp(lettre::AsyncSmtpTransport<lettre::Tokio1Executor>),
    Outbox(lettre::AsyncFileTransport<lettre::Tokio1Executor>),
}

impl EmailNotifier {
    /// Email to files in `dir` (created if missing).
    pub fn outbox(dir: PathBuf, from: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            from: from.parse()?,
            transport: EmailTransport::Outbox(lettre::AsyncFileTransport::new(dir)),
        })
    }

    /// Email through an SMTP server given as `smtp://user:pass@host:587` or `smtps://…`.
    pub fn smtp(url: &str, from: &str) -> anyhow::Result<Self> {
        let t = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)?.build();
        Ok(Self {
            from: from.parse()?,
            transport: EmailTransport::Smtp(t),
        })
    }
}

impl Notifier for EmailNotifier {
    fn channel(&self) -> &'static str {
        "email"
    }

    fn addresses(&self, o: &Outgoing) -> Vec<String> {
        o.email
            .clone()
            .filter(|_| o.prefs.email)
            .into_iter()
            .collect()
    }

    fn send<'a>(
        &'a self,
        to: &'a str,
        msg: &'a Message,
    ) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            use lettre::AsyncTransport;
            let to_box: lettre::message::Mailbox =
                format!("{} <{to}>", msg.to_name.replace(['<', '>', '"'], ""))
                    .parse()
                    .map_err(|e| SendError::Permanent(format!("địa chỉ email {to}: {e}")))?;
            let email = lettre::Message::builder()
                .from(self.from.clone())
                .to(to_box)
                .subject(&msg.subject)
                .header(lettre::message::header::ContentType::TEXT_PLAIN)
                .body(format!("{}\n\n{}\n", msg.body, msg.url))
                .map_err(|e| SendError::Permanent(e.to_string()))?;
            match &self.transport {
                EmailTransport::Smtp(t) => t
                    .send(email)
                    .await
                    .map(|r| r.code().to_string())
                    .map_err(|e| {
                        if e.is_permanent() {
                            SendError::Permanent(e.to_string())
                        } else {
                            SendError::Temporary(e.to_string())
                        }
                    }),
                EmailTransport::Outbox(t) => t
                    .send(email)
                    .await
                    .map(|id| format!("outbox {id}"))
                    .map_err(|e| SendError::Temporary(e.to_string())),
            }
        })
    }
}

/// Settings of the Zalo ZNS channel for the installation. Each school may also set its own
/// Official Account (token and template), which then takes precedence.
#[derive(Debug, Clone)]
pub struct ZaloConfig {
    /// The ZNS endpoint (`https://business.openapi.zalo.me/message/template`).
    pub endpoint: String,
    /// The installation's access token (empty: only schools with their own account send).
    pub access_token: String,
    /// The installation's approved template (title, content, link).
    pub template_id: String,
}

/// Zalo Notification Service: a template message to the parent's phone.
pub struct ZaloNotifier {
    config: ZaloConfig,
    http: reqwest::Client,
}

impl ZaloNotifier {
    /// A notifier for these settings.
    pub fn new(config: ZaloConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .expect("an HTTP client with default settings");
        Self { config, http }
    }
}

/// A phone as ZNS wants it: international form without "+" (`84912345678`).
pub fn zalo_phone(phone: &str) -> String {
    match phone.strip_prefix('0') {
        Some(rest) => format!("84{rest}"),
        None => phone.to_owned(),
    }
}

/// Where one Zalo message goes and from which account (kept out of logs and records).
#[derive(serde::Serialize, serde::Deserialize)]
struct ZaloAddress {
    phone: String,
    token: String,
    template: String,
}

impl Notifier for ZaloNotifier {
    fn channel(&self) -> &'static str {
        "zalo"
    }

    fn addresses(&self, o: &Outgoing) -> Vec<String> {
        let (token, template) = match &o.school_zalo {
            Some((t, tpl)) => (t.clone(), tpl.clone()),
            None if !self.config.access_token.is_empty() => (
                self.config.access_token.clone(),
                self.config.template_id.clone(),
            ),
            None => return vec![],
        };
        o.phone
            .as_deref()
            .filter(|_| o.prefs.zalo)
            .map(|p| ZaloAddress {
                phone: zalo_phone(p),
                token,
                template,
            })
            .and_then(|a| serde_json::to_string(&a).ok())
            .into_iter()
            .collect()
    }

    fn send<'a>(
        &'a self,
        to: &'a str,
        msg: &'a Message,
    ) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let to: ZaloAddress =
                serde_json::from_str(to).map_err(|e| SendError::Permanent(e.to_string()))?;
            let body = serde_json::json!({
                "phone": to.phone,
                "template_id": to.template,
                "template_data": {
                    "title": msg.subject.chars().take(100).collect::<String>(),
                    "content": msg.body.chars().take(400).collect::<String>(),
                    "link": msg.url,
                },
                "tracking_id": msg.tracking_id,
            });
            let resp = self
                .http
                .post(&self.config.endpoint)
                .header("access_token", &to.token)
                .json(&body)
                .send()
                .await
                .map_err(|e| SendError::Temporary(format!("Zalo không trả lời: {e}")))?;
            let status = resp.status();
            if status.is_server_error() || status.as_u16() == 429 {
                return Err(SendError::Temporary(format!("Zalo trả lời HTTP {status}")));
            }
            let answer: serde_json::Value = resp
                .json()
                .await
                .map_err(|e| SendError::Temporary(format!("Zalo trả lời không đọc được: {e}")))?;
            match answer["error"].as_i64() {
                Some(0) => Ok(answer["data"]["msg_id"].as_str().unwrap_or("").to_owned()),
                Some(code) => {
                    let text = format!(
                        "Zalo lỗi {code}: {}",
                        answer["message"].as_str().unwrap_or("")
                    );
                    // Quota and rate limits pass; everything else is about this message.
                    if code == -32 || code == -1 {
                        Err(SendError::Temporary(text))
                    } else {
                        Err(SendError::Permanent(text))
                    }
                }
                None => Err(SendError::Temporary("Zalo trả lời thiếu mã lỗi".into())),
            }
        })
    }
}

/// The server's VAPID key pair, made once and kept in the database so every node signs alike.
pub async fn vapid_key(
    db: &Db,
) -> anyhow::Result<web_push_native::jwt_simple::algorithms::ES256KeyPair> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let stored = db
        .setting_or_init("vapid_private_key", || {
            b64.encode(web_push_native::jwt_simple::algorithms::ES256KeyPair::generate().to_bytes())
        })
        .await?;
    web_push_native::jwt_simple::algorithms::ES256KeyPair::from_bytes(&b64.decode(stored)?)
}

/// The public half of the VAPID key as browsers want it (uncompressed point, base64url).
pub fn vapid_public(
    key: &web_push_native::jwt_simple::algorithms::ES256KeyPair,
) -> anyhow::Result<String> {
    use base64::Engine;
    let secret = web_push_native::p256::SecretKey::from_slice(&key.to_bytes())?;
    use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;
    let point = secret.public_key().to_encoded_point(false);
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(point.as_bytes()))
}

/// Whether a push endpoint may be used: browsers' push services speak HTTPS on public names;
/// anything else could make the server call into its own network.
pub fn push_endpoint_ok(endpoint: &str, allow_insecure: bool) -> bool {
    let Ok(uri) = endpoint.parse::<axum::http::Uri>() else {
        return false;
    };
    let Some(host) = uri.host() else { return false };
    if allow_insecure {
        return matches!(uri.scheme_str(), Some("http" | "https"));
    }
    let ip_literal = host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[');
    uri.scheme_str() == Some("https") && !ip_literal && host != "localhost" && host.contains('.')
}

/// Web Push (RFC 8030, VAPID, aes128gcm) to every device a user subscribed.
pub struct PushNotifier {
    db: Db,
    http: reqwest::Client,
    contact: String,
    key: tokio::sync::OnceCell<web_push_native::jwt_simple::algorithms::ES256KeyPair>,
}

impl PushNotifier {
    /// A notifier signing as `contact` (a `mailto:` or `https:` URL of the operator).
    pub fn new(db: Db, contact: String) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .expect("an HTTP client with default settings");
        Self {
            db,
            http,
            contact,
            key: tokio::sync::OnceCell::new(),
        }
    }
}

impl Notifier for PushNotifier {
    fn channel(&self) -> &'static str {
        "push"
    }

    fn addresses(&self, o: &Outgoing) -> Vec<String> {
        o.push
            .iter()
            .filter_map(|p| serde_json::to_string(p).ok())
            .collect()
    }

    fn send<'a>(
        &'a self,
        to: &'a str,
        msg: &'a Message,
    ) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let sub: db::family::PushSubscription =
                serde_json::from_str(to).map_err(|e| SendError::Permanent(e.to_string()))?;
            let key = self
                .key
                .get_or_try_init(|| vapid_key(&self.db))
                .await
                .map_err(|e| SendError::Temporary(e.to_string()))?;
            let bad = |what: &str| SendError::Permanent(format!("đăng ký push hỏng ({what})"));
            let ua_public = web_push_native::p256::PublicKey::from_sec1_bytes(
                &b64.decode(&sub.p256dh).map_err(|_| bad("p256dh"))?,
            )
            .map_err(|_| bad("p256dh"))?;
            let auth_bytes = b64.decode(&sub.auth).map_err(|_| bad("auth"))?;
            if auth_bytes.len() != 16 {
                return Err(bad("auth"));
            }
            let payload =
                serde_json::json!({ "title": msg.subject, "body": msg.body, "url": msg.url });
            let request = web_push_native::WebPushBuilder::new(
                sub.endpoint.parse().map_err(|_| bad("endpoint"))?,
                ua_public,
                web_push_native::Auth::clone_from_slice(&auth_bytes),
            )
            .with_valid_duration(Duration::from_secs(24 * 3600))
            .with_vapid(key, &self.contact)
            .build(payload.to_string())
            .map_err(|e| SendError::Permanent(e.to_string()))?;
            let request = reqwest::Request::try_from(request)
                .map_err(|e| SendError::Permanent(e.to_string()))?;
            let resp =
                self.http.execute(request).await.map_err(|e| {
                    SendError::Temporary(format!("dịch vụ push không trả lời: {e}"))
                })?;
            let status = resp.status();
            if status.is_success() {
                return Ok(format!("HTTP {}", status.as_u16()));
            }
            if status.as_u16() == 404 || status.as_u16() == 410 {
                // The device unsubscribed or the browser was reset: forget it.
                let _ = self.db.remove_push_subscription(None, &sub.endpoint).await;
                return Err(SendError::Permanent(format!(
                    "thiết bị đã huỷ đăng ký (HTTP {status})"
                )));
            }
            if status.is_server_error() || status.as_u16() == 429 {
                return Err(SendError::Temporary(format!(
                    "dịch vụ push trả lời HTTP {status}"
                )));
            }
            Err(SendError::Permanent(format!(
                "dịch vụ push từ chối: HTTP {status}"
            )))
        })
    }
}

/// The next Sunday 18:00 in Vietnam strictly after `ms`.
pub fn next_digest_at(ms: i64) -> i64 {
    let day = 86_400_000;
    let local = ms + 7 * 3_600_000;
    let midnight = local - local.rem_euclid(day);
    // 1970-01-01 was a Thursday: days since then + 4, mod 7, gives 0 for Sunday.
    let weekday = ((midnight / day) + 4).rem_euclid(7);
    let mut at = midnight + (7 - weekday) % 7 * day + 18 * 3_600_000;
    if at <= local {
        at += 7 * day;
    }
    at - 7 * 3_600_000
}

/// Hour (0–23) in Vietnam (UTC+7) for a unix ms time.
fn vn_hour(ms: i64) -> u8 {
    (((ms / 1000 + 7 * 3600).rem_euclid(86_400)) / 3600) as u8
}

/// If `ms` falls within quiet hours [start, end) (which may wrap midnight), the next moment they
/// end; otherwise none.
pub fn quiet_until(ms: i64, start: u8, end: u8) -> Option<i64> {
    if start == end {
        return None;
    }
    let h = vn_hour(ms);
    let quiet = if start < end {
        h >= start && h < end
    } else {
        h >= start || h < end
    };
    if !quiet {
        return None;
    }
    let day_ms = 86_400_000;
    let local = ms + 7 * 3_600_000;
    let midnight = local - local.rem_euclid(day_ms);
    let mut at = midnight + i64::from(end) * 3_600_000;
    if at <= local {
        at += day_ms;
    }
    Some(at - 7 * 3_600_000)
}

/// Retries before giving up on a delivery.
pub const MAX_ATTEMPTS: i64 = 5;

/// Runs queued jobs.
#[derive(Clone)]
pub struct Worker {
    db: Db,
    notifiers: Arc<Vec<Arc<dyn Notifier>>>,
    public_url: String,
    retry_base_ms: i64,
}

impl Worker {
    /// A worker with these channels; links in messages start with `public_url`.
    pub fn new(db: Db, notifiers: Vec<Arc<dyn Notifier>>, public_url: String) -> Self {
        Self {
            db,
            notifiers: Arc::new(notifiers),
            public_url: public_url.trim_end_matches('/').to_owned(),
            retry_base_ms: 30_000,
        }
    }

    /// Sets the first retry wait (doubling after each failure).
    pub fn with_retry_base(mut self, ms: i64) -> Self {
        self.retry_base_ms = ms;
        self
    }

    /// Claims and runs the due jobs once, 16 at a time; returns how many ran.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let jobs = self.db.claim_jobs(200, 5 * 60 * 1000).await?;
        let n = jobs.len();
        let mut set = tokio::task::JoinSet::new();
        let gate = Arc::new(tokio::sync::Semaphore::new(16));
        for job in jobs {
            let w = self.clone();
            let permit = gate.clone().acquire_owned().await?;
            set.spawn(async move {
                let _permit = permit;
                if let Err(e) = w.run_job(&job).await {
                    tracing::warn!(job = %job.id, error = %e, "job failed");
                }
            });
        }
        while set.join_next().await.is_some() {}
        Ok(n)
    }

    /// Runs until `stop` is set, polling the queue every second when it is empty.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        if let Err(e) = self.schedule_digest(db::now_ms()).await {
            tracing::warn!(error = %e, "could not schedule the weekly digest");
        }
        loop {
            match self.run_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "job queue unavailable"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn run_job(&self, job: &db::jobs::Job) -> anyhow::Result<()> {
        match job.kind.as_str() {
            "deliver" => self.deliver(job).await,
            "digest" => {
                let now = db::now_ms();
                let sent = self.send_digest(now - 7 * 86_400_000).await?;
                tracing::info!(parents = sent, "weekly digest sent");
                self.db.finish_job(job.id).await?;
                self.schedule_digest(now).await?;
                Ok(())
            }
            other => {
                self.db
                    .fail_job(job.id, &format!("unknown job kind {other}"))
                    .await?;
                Ok(())
            }
        }
    }

    /// Queues the next weekly digest (Sunday 18:00, Vietnam time), once whatever the number
    /// of workers.
    pub async fn schedule_digest(&self, now: i64) -> anyhow::Result<()> {
        let at = next_digest_at(now);
        let id =
            uuid::Uuid::from_u128(0x6c6f_7068_6f63_0000_0000_0000_0000_0000 | (at / 1000) as u128);
        self.db.enqueue_once(id, "digest", "", at).await?;
        Ok(())
    }

    /// Puts a digest of each child's week since `since` in every parent's inbox (parents who
    /// turned it off, or whose children had a quiet week, get nothing). Returns how many.
    pub async fn send_digest(&self, since: i64) -> anyhow::Result<usize> {
        let mut sent = 0;
        for parent in self.db.parents().await? {
            if !self.db.wants_digest(parent).await? {
                continue;
            }
            let lines: Vec<String> = self
                .db
                .children_week(parent, since)
                .await?
                .into_iter()
                .filter(|c| c.announcements > 0 || c.unread_messages > 0)
                .map(|c| {
                    format!(
                        "{} (lớp {}): {} thông báo mới của lớp, {} tin nhắn chưa đọc",
                        c.student_name, c.class_name, c.announcements, c.unread_messages
                    )
                })
                .collect();
            if lines.is_empty() {
                continue;
            }
            self.db
                .notify_one(parent, "digest", "Tuần qua của con", &lines.join("\n"), "/")
                .await?;
            sent += 1;
        }
        Ok(sent)
    }

    async fn deliver(&self, job: &db::jobs::Job) -> anyhow::Result<()> {
        let id = domain::Id::parse_str(&job.payload)?;
        let o = match self.db.outgoing(id).await {
            Ok(o) => o,
            Err(db::DbError::NotFound) => {
                self.db.fail_job(job.id, "notification gone").await?;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        if o.notification.read {
            self.db
                .record_delivery(id, "app", "read", "đã đọc trong ứng dụng trước khi gửi")
                .await?;
            self.db.finish_job(job.id).await?;
            return Ok(());
        }
        let now = db::now_ms();
        if let Some(at) = quiet_until(now, o.prefs.quiet_start, o.prefs.quiet_end) {
            self.db.defer_job(job.id, at).await?;
            return Ok(());
        }
        let done: Vec<String> = self
            .db
            .deliveries(id)
            .await?
            .into_iter()
            .filter(|(_, status, _, _)| status == "sent" || status == "refused")
            .map(|(channel, _, _, _)| channel)
            .collect();
        let msg = Message {
            to_name: o.full_name.clone(),
            subject: o.notification.title.clone(),
            body: o.notification.body.clone(),
            url: format!("{}/inbox/{}", self.public_url, o.notification.id),
            tracking_id: o.notification.id.to_string(),
        };
        let mut retry = None;
        for n in self.notifiers.iter() {
            if done.iter().any(|c| c == n.channel()) {
                continue;
            }
            for to in n.addresses(&o) {
                match n.send(&to, &msg).await {
                    Ok(detail) => {
                        self.db
                            .record_delivery(id, n.channel(), "sent", &detail)
                            .await?
                    }
                    Err(SendError::Permanent(e)) => {
                        self.db
                            .record_delivery(id, n.channel(), "refused", &e)
                            .await?
                    }
                    Err(SendError::Temporary(e)) => {
                        self.db
                            .record_delivery(id, n.channel(), "failed", &e)
                            .await?;
                        retry = Some(e);
                    }
                }
            }
        }
        match retry {
            None => self.db.finish_job(job.id).await?,
            Some(e) if job.attempts >= MAX_ATTEMPTS => self.db.fail_job(job.id, &e).await?,
            Some(e) => {
                // 30 s, 1 min, 2 min, 4 min… by default.
                let wait = self.retry_base_ms * (1i64 << (job.attempts - 1).clamp(0, 10));
                self.db.retry_job(job.id, now + wait, &e).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn quiet_hours_wrap_midnight_in_vietnam_time() {
        // 2026-11-23 15:00 UTC = 22:00 in Vietnam: quiet until 06:00 the next morning.
        let t = 1_795_446_000_000; // 2026-11-23T15:00:00Z
        assert_eq!(vn_hour(t), 22);
        let until = quiet_until(t, 21, 6).unwrap();
        assert_eq!(vn_hour(until), 6);
        assert_eq!(until - t, 8 * H);
        // 10:00 in Vietnam is not quiet.
        assert_eq!(quiet_until(t - 12 * H, 21, 6), None);
        // 03:00 is quiet until 06:00 the same day.
        assert_eq!(quiet_until(t + 5 * H, 21, 6), Some(t + 8 * H));
        // Equal bounds switch quiet hours off; a daytime window works too.
        assert_eq!(quiet_until(t, 0, 0), None);
        assert!(quiet_until(t - 10 * H, 11, 13).is_some());
    }

    #[test]
    fn the_digest_goes_out_on_sunday_evening() {
        // Monday 2026-11-23 22:00 in Vietnam → Sunday 2026-11-29 18:00 (11:00 UTC).
        let t = 1_795_446_000_000;
        let at = next_digest_at(t);
        assert_eq!(at, 1_795_446_000_000 + (5 * 24 + 20) * H);
        assert_eq!(vn_hour(at), 18);
        // Exactly at the time, the next one is a week later.
        assert_eq!(next_digest_at(at), at + 7 * 24 * H);
    }

    #[test]
    fn push_endpoints_must_be_public_https() {
        assert!(push_endpoint_ok(
            "https://fcm.googleapis.com/fcm/send/abc",
            false
        ));
        assert!(!push_endpoint_ok(
            "http://fcm.googleapis.com/fcm/send/abc",
            false
        ));
        assert!(!push_endpoint_ok("https://127.0.0.1/x", false));
        assert!(!push_endpoint_ok("https://localhost/x", false));
        assert!(!push_endpoint_ok("https://[::1]/x", false));
        assert!(!push_endpoint_ok("not a url", false));
        assert!(push_endpoint_ok("http://127.0.0.1:9/x", true));
    }

    #[test]
    fn phones_become_international_for_zalo() {
        assert_eq!(zalo_phone("0912345678"), "84912345678");
    }
}
