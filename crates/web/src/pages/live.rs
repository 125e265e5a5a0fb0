//! Live classes (Circular 09/2021 Art. 9): sessions on a course's timetable, the room page, the
//! short-lived signed tokens that admit people to a room, the WebSocket bridge to the media
//! server ([`live::Live`]), attendance from its join/leave events with the teacher's audited
//! corrections and an Excel export, recordings muxed by ffmpeg into a lesson video, and the
//! whiteboard picture saved at the end.
//!
//! Who may enter a room: the course's teacher (as teacher), the class's students (as
//! students), and invited staff — the principal, subject-group heads and officers whose scope
//! contains the school — as observers. Everyone else gets 403. The room is open from 15 minutes
//! before the start until the teacher ends the session or an hour after its scheduled end.
//!
//! Tokens are `base64url(claims JSON) "." base64url(HMAC-SHA256)`, valid two minutes, signed
//! with a key kept in the database so every node accepts the tokens of every other.

use super::learning::{Access, course_for};
use super::parse_uuid;
use crate::AppState;
use crate::auth::Session;
use crate::error::{Form, WebError, WebResult};
use crate::view::{Ctx, format_ms, render};
use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use db::learning::{Course, Lesson};
use db::live::{AttendanceRow, AttendanceStatus, LiveSession, NewRecording, PollResult, Recording};
use db::org::School;
use domain::Id;
use domain::auth::{Action, Target};
use live::proto::{ClientMsg, ServerMsg};
use media::video::{BoxFuture, VideoError};
use serde::{Deserialize, Serialize};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub mod slides;

/// How long a room token is valid.
pub const TOKEN_TTL_MS: i64 = 2 * 60 * 1000;
/// Largest WebSocket message accepted from a browser.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Largest whiteboard picture.
pub const MAX_WHITEBOARD_BYTES: usize = 5 * 1024 * 1024;
/// Close code for a refused token.
pub const CLOSE_BAD_TOKEN: u16 = 4401;
/// Close code for a refused join (locked, removed, shutting down, not open).
pub const CLOSE_REFUSED: u16 = 4403;
/// Close code when the session is over.
pub const CLOSE_ENDED: u16 = 4410;
/// Shortest and longest session, minutes.
const MINUTES: (i64, i64) = (10, 240);
const VN_OFFSET_S: i32 = 7 * 3600;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/courses/{id}/live", get(schedule_page).post(schedule))
        .route("/live/{id}", get(session_page))
        .route("/live/{id}/room", get(room_page))
        .route("/live/{id}/token", get(token))
        .route("/live/{id}/end", post(end))
        .route("/live/{id}/attendance", post(correct))
        .route("/live/{id}/attendance.xlsx", get(attendance_xlsx))
        .route(
            "/live/{id}/whiteboard",
            post(whiteboard).layer(axum::extract::DefaultBodyLimit::max(
                MAX_WHITEBOARD_BYTES + 1024,
            )),
        )
        .route("/live/{id}/whiteboard.png", get(whiteboard_png))
        .route(
            "/live/{id}/slides",
            post(slides::upload).layer(axum::extract::DefaultBodyLimit::max(
                slides::MAX_SLIDES_BYTES + 1024,
            )),
        )
        .route("/live/{id}/slides/{deck}/{page}", get(slides::page))
        .route("/live/{id}/recordings/{r}/download", get(download))
        .route("/live/ws", get(ws))
        .route("/static/live.js", get(live_js))
}

/// The routes of a media-only node (`lophoc serve --role media`): the WebSocket bridge and a
/// health check.
pub fn media_router() -> Router<AppState> {
    Router::new()
        .route("/live/ws", get(ws))
        .route("/healthz", get(media_health))
}

async fn media_health(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
    }
}

// ----- the live hub in the app state -----

/// Whatever muxes a recording's IVF video and Ogg audio into an MP4: ffmpeg, or a fake in tests.
pub trait Muxer: Send + Sync {
    /// Whether it can work at all (ffmpeg installed).
    fn available(&self) -> bool;
    /// Writes `out` (H.264/AAC MP4) from the files present; both are timestamped from the
    /// recording's start, so no offset is applied.
    fn mux<'a>(
        &'a self,
        video: Option<&'a FsPath>,
        audio: Option<&'a FsPath>,
        out: &'a FsPath,
    ) -> BoxFuture<'a, Result<(), VideoError>>;
}

/// The muxer in [`crate::WebConfig`]: ffmpeg by default, a fake in tests.
#[derive(Clone)]
pub struct SharedMuxer(pub Arc<dyn Muxer>);

impl std::fmt::Debug for SharedMuxer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedMuxer")
            .field("available", &self.0.available())
            .finish()
    }
}

/// The ffmpeg command line that muxes a recording.
pub fn mux_args(video: Option<&FsPath>, audio: Option<&FsPath>, out: &FsPath) -> Vec<String> {
    let mut a: Vec<String> = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
        .map(String::from)
        .to_vec();
    for p in [video, audio].into_iter().flatten() {
        a.push("-i".into());
        a.push(p.display().to_string());
    }
    let mut input = 0;
    if video.is_some() {
        a.extend(["-map", "0:v:0"].map(String::from));
        input = 1;
    }
    if audio.is_some() {
        a.extend(["-map".to_owned(), format!("{input}:a:0")]);
    }
    if video.is_some() {
        a.extend(
            [
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p",
            ]
            .map(String::from),
        );
    }
    if audio.is_some() {
        a.extend(["-c:a", "aac", "-b:a", "96k"].map(String::from));
    }
    a.extend(["-movflags", "+faststart"].map(String::from));
    a.push(out.display().to_string());
    a
}

/// [`Muxer`] over the ffmpeg found on `PATH`.
#[derive(Debug, Clone)]
pub struct FfmpegMuxer {
    ffmpeg: Option<PathBuf>,
}

impl FfmpegMuxer {
    /// Uses `ffmpeg` from `PATH` (unavailable when there is none).
    pub fn from_path() -> Self {
        let ffmpeg = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("ffmpeg"))
                .find(|p| p.is_file())
        });
        Self { ffmpeg }
    }

    async fn run(
        &self,
        video: Option<&FsPath>,
        audio: Option<&FsPath>,
        out: &FsPath,
    ) -> Result<(), VideoError> {
        let Some(ffmpeg) = &self.ffmpeg else {
            return Err(VideoError::Unavailable);
        };
        let output = tokio::process::Command::new(ffmpeg)
            .args(mux_args(video, audio, out))
            .kill_on_drop(true)
            .output()
            .await?;
        if output.status.success() {
            Ok(())
        } else {
            let err = String::from_utf8_lossy(&output.stderr);
            let tail: String = err
                .chars()
                .rev()
                .take(300)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            Err(VideoError::Failed(tail.trim().to_owned()))
        }
    }
}

impl Muxer for FfmpegMuxer {
    fn available(&self) -> bool {
        self.ffmpeg.is_some()
    }

    fn mux<'a>(
        &'a self,
        video: Option<&'a FsPath>,
        audio: Option<&'a FsPath>,
        out: &'a FsPath,
    ) -> BoxFuture<'a, Result<(), VideoError>> {
        Box::pin(self.run(video, audio, out))
    }
}

/// A muxer for tests: writes a tiny file that looks like an MP4 (an `ftyp` box) when at least
/// one input exists.
#[derive(Debug, Clone, Default)]
pub struct FakeMuxer;

impl Muxer for FakeMuxer {
    fn available(&self) -> bool {
        true
    }

    fn mux<'a>(
        &'a self,
        video: Option<&'a FsPath>,
        audio: Option<&'a FsPath>,
        out: &'a FsPath,
    ) -> BoxFuture<'a, Result<(), VideoError>> {
        Box::pin(async move {
            for p in [video, audio].into_iter().flatten() {
                tokio::fs::metadata(p)
                    .await
                    .map_err(|e| VideoError::Unreadable(e.to_string()))?;
            }
            let mut mp4 = vec![0, 0, 0, 0x18];
            mp4.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
            mp4.extend_from_slice(&[0, 0, 0, 8]);
            mp4.extend_from_slice(b"free");
            tokio::fs::write(out, mp4).await?;
            Ok(())
        })
    }
}

/// The live side of the app state: the media server, the muxer, the token key and a feed of
/// persisted events (tests await it instead of sleeping).
pub struct LiveHub {
    /// The media server of this node.
    pub live: live::Live,
    /// Muxes recordings.
    pub muxer: Arc<dyn Muxer>,
    /// This node's id in the `live_nodes` registry.
    pub node_id: String,
    /// Public WebSocket base of this node (empty: same origin as the pages).
    pub ws_base: String,
    /// Each event, once persisted, as a short description.
    pub persisted: tokio::sync::broadcast::Sender<Persisted>,
    key: tokio::sync::OnceCell<Vec<u8>>,
    /// Rooms of this node whose session is watched for its end ([`watch_room`]).
    watched: std::sync::Mutex<std::collections::HashSet<Id>>,
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHub")
            .field("node_id", &self.node_id)
            .finish()
    }
}

/// A media-server event written to the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Persisted {
    /// A visit opened.
    Joined {
        /// Session.
        room: Id,
        /// Account.
        user: Id,
    },
    /// A visit closed.
    Left {
        /// Session.
        room: Id,
        /// Account.
        user: Id,
    },
    /// A recording was stored (or failed).
    Recording {
        /// Session.
        room: Id,
    },
    /// A poll was stored.
    Poll {
        /// Session.
        room: Id,
    },
}

impl LiveHub {
    /// A hub over a started media server.
    pub fn new(live: live::Live, muxer: Arc<dyn Muxer>, node_id: String, ws_base: String) -> Self {
        Self {
            live,
            muxer,
            node_id,
            ws_base,
            persisted: tokio::sync::broadcast::channel(256).0,
            key: tokio::sync::OnceCell::new(),
            watched: std::sync::Mutex::default(),
        }
    }

    /// The token key shared by every node (made once, kept in the database).
    pub async fn key(&self, db: &db::Db) -> WebResult<&[u8]> {
        let k = self
            .key
            .get_or_try_init(|| async {
                use rand::RngCore;
                let hexkey = db
                    .setting_or_init("live_token_key", || {
                        let mut b = [0u8; 32];
                        rand::thread_rng().fill_bytes(&mut b);
                        hex::encode(b)
                    })
                    .await?;
                hex::decode(hexkey.trim())
                    .map_err(|e| WebError::Internal(anyhow::anyhow!("live_token_key: {e}")))
            })
            .await?;
        Ok(k.as_slice())
    }
}

// ----- tokens -----

/// What a room token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Session (room).
    pub s: Id,
    /// Account.
    pub u: Id,
    /// Name shown in the room.
    pub n: String,
    /// Role in the room.
    pub r: live::Role,
    /// Expiry, unix ms.
    pub e: i64,
}

/// Why a token was refused; the message is the WebSocket close reason (at most 123 bytes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No token.
    #[error("Thiếu mã vào lớp: hãy vào từ trang buổi học.")]
    Missing,
    /// Not a token of ours (tampered, truncated, wrong key).
    #[error("Mã vào lớp không hợp lệ.")]
    Forged,
    /// Too old.
    #[error("Mã vào lớp đã hết hạn: hãy tải lại trang.")]
    Expired,
}

fn mac(key: &[u8]) -> hmac::Hmac<sha2::Sha256> {
    use hmac::Mac;
    hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// Signs claims into a token.
pub fn sign(key: &[u8], c: &Claims) -> String {
    use base64::Engine;
    use hmac::Mac;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let body = b64.encode(serde_json::to_vec(c).expect("claims serialize"));
    let mut m = mac(key);
    m.update(body.as_bytes());
    format!("{body}.{}", b64.encode(m.finalize().into_bytes()))
}

/// Checks a token's signature (in constant time) and expiry.
pub fn verify(key: &[u8], token: &str, now: i64) -> Result<Claims, TokenError> {
    use base64::Engine;
    use hmac::Mac;
    let token = token.trim();
    if token.is_empty() {
        return Err(TokenError::Missing);
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (body, sig) = token.split_once('.').ok_or(TokenError::Forged)?;
    let sig = b64.decode(sig).map_err(|_| TokenError::Forged)?;
    let mut m = mac(key);
    m.update(body.as_bytes());
    m.verify_slice(&sig).map_err(|_| TokenError::Forged)?;
    let raw = b64.decode(body).map_err(|_| TokenError::Forged)?;
    let c: Claims = serde_json::from_slice(&raw).map_err(|_| TokenError::Forged)?;
    if now >= c.e {
        return Err(TokenError::Expired);
    }
    Ok(c)
}

// ----- helpers -----

fn vn(ms: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(time::UtcOffset::from_whole_seconds(VN_OFFSET_S).expect("offset"))
}

/// `dd/mm/yyyy` in Vietnam time.
pub fn format_day(ms: i64) -> String {
    let t = vn(ms);
    format!("{:02}/{:02}/{}", t.day(), u8::from(t.month()), t.year())
}

fn ms_of_system(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn course_name(c: &Course) -> String {
    format!("{} — {}", c.subject_name, c.class_name)
}

/// The recording's material title: "Bản ghi buổi học <title> <dd/mm/yyyy>".
pub fn recording_title(s: &LiveSession) -> String {
    format!("Bản ghi buổi học {} {}", s.title, format_day(s.starts_at))
}

/// A session with its course, school and the reader's relation to the course.
struct Loaded {
    session: LiveSession,
    course: Course,
    school: School,
    access: Access,
}

/// Loads a session the reader may see (through its course); anyone else gets 403.
async fn load(state: &AppState, s: &Session, id: Id) -> WebResult<Loaded> {
    let session = match state.db.live_session(id).await {
        Ok(x) => x,
        Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    let (course, school, access) = course_for(state, s, session.course_id).await?;
    Ok(Loaded {
        session,
        course,
        school,
        access,
    })
}

fn class_target<'a>(school: &'a domain::auth::SchoolRef, teachers: &'a [Id]) -> Target<'a> {
    Target::Class {
        school,
        homeroom: None,
        teachers,
    }
}

/// May schedule, end and correct: the course's teacher or a manager of the school.
fn may_manage(s: &Session, l: &Loaded) -> bool {
    let sref = l.school.as_ref();
    let teachers: Vec<Id> = l.course.teacher_user_id.into_iter().collect();
    s.actor
        .can(Action::ManageLiveSession, class_target(&sref, &teachers))
}

/// The reader's role in the room, if they may enter it.
async fn room_role(state: &AppState, s: &Session, l: &Loaded) -> WebResult<Option<live::Role>> {
    let sref = l.school.as_ref();
    if l.course.teacher_user_id == Some(s.user.id) && may_manage(s, l) {
        return Ok(Some(live::Role::Teacher));
    }
    if state
        .db
        .course_student(&l.course, s.user.id)
        .await?
        .is_some()
        && s.actor.can(
            Action::JoinLive,
            Target::Student {
                school: &sref,
                user_id: Some(s.user.id),
                guardians: &[],
            },
        )
    {
        return Ok(Some(live::Role::Student));
    }
    if s.actor.can(Action::ObserveLive, Target::School(&sref)) {
        return Ok(Some(live::Role::Observer));
    }
    Ok(None)
}

fn role_code(r: live::Role) -> &'static str {
    match r {
        live::Role::Teacher => "teacher",
        live::Role::Student => "student",
        live::Role::Observer => "observer",
    }
}

/// Staff who see the whole class's attendance: managers and observers of the school.
fn sees_all(s: &Session, l: &Loaded) -> bool {
    let sref = l.school.as_ref();
    may_manage(s, l)
        || s.actor.can(Action::ObserveLive, Target::School(&sref))
        || matches!(l.access, Access::Observe)
}

// ----- scheduling -----

/// A session in a list.
pub struct SessionRow {
    /// The session.
    pub session: LiveSession,
    /// "dd/mm/yyyy HH:MM – HH:MM".
    pub when: String,
    /// Open now.
    pub open: bool,
    /// Over.
    pub over: bool,
}

fn session_row(s: LiveSession, now: i64) -> SessionRow {
    let end = vn(s.ends_at);
    SessionRow {
        when: format!(
            "{} – {:02}:{:02}",
            format_ms(s.starts_at),
            end.hour(),
            end.minute()
        ),
        open: s.is_open(now),
        over: s.is_over(now),
        session: s,
    }
}

#[derive(Template)]
#[template(path = "live_schedule.html")]
struct SchedulePage {
    ctx: Ctx,
    course: Course,
    school: School,
    manage: bool,
    lessons: Vec<Lesson>,
    upcoming: Vec<SessionRow>,
    past: Vec<SessionRow>,
    today: String,
    max_series: usize,
    /// The reader may enter the room (its teacher, its students, observers).
    enter: bool,
}

async fn schedule_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<super::OkQuery>,
) -> WebResult<Html<String>> {
    let (course, school, access) = course_for(&state, &s, id).await?;
    let sref = school.as_ref();
    let teachers: Vec<Id> = course.teacher_user_id.into_iter().collect();
    let manage = s
        .actor
        .can(Action::ManageLiveSession, class_target(&sref, &teachers));
    // The same rule as the room's (`room_role`), without loading a session.
    let enter = course.teacher_user_id == Some(s.user.id)
        || matches!(access, Access::Student(_))
        || s.actor.can(Action::ObserveLive, Target::School(&sref));
    let now = db::now_ms();
    let (mut upcoming, mut past) = (Vec::new(), Vec::new());
    for x in state.db.course_live_sessions(&course).await? {
        let row = session_row(x, now);
        if row.over {
            past.push(row);
        } else {
            upcoming.push(row);
        }
    }
    past.reverse();
    let lessons = if manage {
        state.db.lessons(&course).await?
    } else {
        Vec::new()
    };
    let t = vn(now);
    render(&SchedulePage {
        ctx: Ctx::new(
            &s,
            format!("{} · {}", s.lang.t("live-title"), course_name(&course)),
        )
        .with_help("lop-truc-tuyen")
        .with_notice(crate::view::saved_notice(q.ok.as_deref(), s.lang)),
        today: format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        course,
        school,
        manage,
        lessons,
        upcoming,
        past,
        max_series: db::live::MAX_SERIES,
        enter,
    })
}

/// The schedule form.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScheduleForm {
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Lesson id or empty.
    #[serde(default)]
    pub lesson: String,
    /// `yyyy-mm-dd`.
    #[serde(default)]
    pub date: String,
    /// `HH:MM`.
    #[serde(default)]
    pub start: String,
    /// Length in minutes.
    #[serde(default)]
    pub minutes: String,
    /// `once` or `weekly`.
    #[serde(default)]
    pub repeat: String,
    /// Last day of a weekly series, `yyyy-mm-dd`.
    #[serde(default)]
    pub until: String,
}

/// A checked schedule: title, lesson, and the (start, end) of each session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Title.
    pub title: String,
    /// Lesson.
    pub lesson: Option<Id>,
    /// Sessions, unix ms.
    pub slots: Vec<(i64, i64)>,
}

fn parse_day(raw: &str, field: &str) -> WebResult<time::Date> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(WebError::BadRequest(format!("Chưa nhập {field}.")));
    }
    time::Date::parse(raw, &time::format_description::well_known::Iso8601::DATE).map_err(|_| {
        WebError::BadRequest(format!(
            "{field}: \"{raw}\" không phải ngày hợp lệ (dd/mm/yyyy)."
        ))
    })
}

impl ScheduleForm {
    /// Checks the form; every error names the field, in Vietnamese.
    pub fn check(&self, now: i64) -> WebResult<Schedule> {
        let title = self.title.trim();
        if title.is_empty() {
            return Err(WebError::BadRequest("Chưa nhập tên buổi học.".into()));
        }
        if title.chars().count() > 200 {
            return Err(WebError::BadRequest(
                "Tên buổi học dài quá 200 ký tự.".into(),
            ));
        }
        let lesson = match self.lesson.trim() {
            "" => None,
            raw => Some(parse_uuid(raw, "Bài học")?),
        };
        let day = parse_day(&self.date, "Ngày học")?;
        let start_raw = self.start.trim();
        let start = time::Time::parse(
            start_raw,
            &time::macros::format_description!("[hour]:[minute]"),
        )
        .map_err(|_| {
            WebError::BadRequest(format!(
                "Giờ bắt đầu: \"{start_raw}\" không phải giờ hợp lệ (HH:MM)."
            ))
        })?;
        let minutes: i64 = self.minutes.trim().parse().map_err(|_| {
            WebError::BadRequest(format!(
                "Thời lượng (phút): \"{}\" không phải số.",
                self.minutes.trim()
            ))
        })?;
        if !(MINUTES.0..=MINUTES.1).contains(&minutes) {
            return Err(WebError::BadRequest(format!(
                "Thời lượng (phút) phải từ {} đến {} phút.",
                MINUTES.0, MINUTES.1
            )));
        }
        let offset = time::UtcOffset::from_whole_seconds(VN_OFFSET_S).expect("offset");
        let first = time::PrimitiveDateTime::new(day, start)
            .assume_offset(offset)
            .unix_timestamp()
            * 1000;
        let len = minutes * 60_000;
        if first + len <= now {
            return Err(WebError::BadRequest(format!(
                "Ngày học / giờ bắt đầu: buổi {} đã qua.",
                format_ms(first)
            )));
        }
        let slots = match self.repeat.trim() {
            "" | "once" => vec![(first, first + len)],
            "weekly" => {
                let until = parse_day(&self.until, "Lặp đến ngày")?;
                if until < day {
                    return Err(WebError::BadRequest(
                        "Lặp đến ngày phải từ ngày học trở đi.".into(),
                    ));
                }
                let weeks = (until - day).whole_weeks() + 1;
                if weeks > db::live::MAX_SERIES as i64 {
                    return Err(WebError::BadRequest(format!(
                        "Lặp đến ngày: lịch hằng tuần tạo tối đa {} buổi, lịch này có {weeks} buổi.",
                        db::live::MAX_SERIES
                    )));
                }
                (0..weeks)
                    .map(|w| {
                        let t = first + w * 7 * 24 * 3600 * 1000;
                        (t, t + len)
                    })
                    .collect()
            }
            other => {
                return Err(WebError::BadRequest(format!(
                    "Lặp lại: \"{other}\" không hợp lệ (chỉ \"một lần\" hoặc \"hằng tuần\")."
                )));
            }
        };
        Ok(Schedule {
            title: title.to_owned(),
            lesson,
            slots,
        })
    }
}

async fn schedule(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<ScheduleForm>,
) -> WebResult<Redirect> {
    let (course, school, _) = course_for(&state, &s, id).await?;
    let sref = school.as_ref();
    let teachers: Vec<Id> = course.teacher_user_id.into_iter().collect();
    s.require(Action::ManageLiveSession, class_target(&sref, &teachers))?;
    let plan = f.check(db::now_ms())?;
    if let Some(l) = plan.lesson {
        match state.db.lesson(course.school_id, l).await {
            Ok(lesson) if lesson.course_id == course.id => {}
            _ => {
                return Err(WebError::BadRequest(
                    "Bài học: bài đã chọn không thuộc khoá học này.".into(),
                ));
            }
        }
    }
    let ids = state
        .db
        .create_live_sessions(&course, plan.lesson, &plan.title, &plan.slots, s.user.id)
        .await?;
    if ids.len() == 1 {
        Ok(Redirect::to(&format!("/live/{}?ok=1", ids[0])))
    } else {
        Ok(Redirect::to(&format!("/courses/{id}/live?ok=1")))
    }
}

// ----- what students and parents see elsewhere -----

/// An upcoming session in a student's or parent's list.
#[derive(Debug, Clone)]
pub struct UpcomingLine {
    /// Session.
    pub id: Id,
    /// Title.
    pub title: String,
    /// Subject.
    pub subject: String,
    /// "dd/mm/yyyy HH:MM – HH:MM".
    pub when: String,
    /// The room is open now.
    pub open: bool,
}

/// A student's live classes for the home page and the child page: what comes next and the
/// attendance so far.
#[derive(Debug, Clone, Default)]
pub struct ChildLive {
    /// Whether to show the block at all.
    pub shown: bool,
    /// Upcoming sessions, soonest first.
    pub upcoming: Vec<UpcomingLine>,
    /// Sessions attended and missed this year.
    pub tally: db::live::LiveTally,
    /// Offer "Vào lớp" (the student's own home; parents and staff get the session page).
    pub enter: bool,
}

/// The live block of one student (the caller checked the reader may see the student);
/// `enter` when the reader is the student.
pub async fn child_live(state: &AppState, student_id: Id, enter: bool) -> WebResult<ChildLive> {
    let now = db::now_ms();
    let upcoming = state
        .db
        .upcoming_live_for_student(student_id, 5)
        .await?
        .into_iter()
        .map(|u| {
            let row = session_row(u.session, now);
            UpcomingLine {
                id: row.session.id,
                title: row.session.title.clone(),
                subject: u.subject_name,
                when: row.when,
                open: row.open,
            }
        })
        .collect::<Vec<_>>();
    let tally = state.db.student_live_tally(student_id).await?;
    Ok(ChildLive {
        shown: !upcoming.is_empty() || tally.held > 0,
        upcoming,
        tally,
        enter,
    })
}

/// "2/3 (67 %)" for a student's live attendance in a course, "—" when nothing was held.
pub fn tally_label(t: Option<&db::live::LiveTally>) -> String {
    match t.and_then(|t| t.percent().map(|p| (t, p))) {
        Some((t, p)) => format!("{}/{} ({p} %)", t.attended, t.held),
        None => "—".into(),
    }
}

// ----- the session page -----

/// One line of the attendance table.
pub struct AttendanceLine {
    /// The data.
    pub row: AttendanceRow,
    /// First join, formatted.
    pub first: String,
    /// Minutes inside.
    pub minutes: i64,
}

/// A recording as the session page shows it.
pub struct RecordingLine {
    /// The recording.
    pub rec: Recording,
    /// "HH:MM – HH:MM".
    pub span: String,
    /// Where to watch it (the lesson or the library), if it became a material.
    pub watch: Option<String>,
}

#[derive(Template)]
#[template(path = "live_session.html")]
struct SessionPage {
    ctx: Ctx,
    row: SessionRow,
    course: Course,
    lesson: Option<Lesson>,
    role: Option<&'static str>,
    manage: bool,
    all: bool,
    opens: String,
    lines: Vec<AttendanceLine>,
    statuses: Vec<(&'static str, &'static str)>,
    recordings: Vec<RecordingLine>,
    polls: Vec<PollResult>,
    whiteboard: bool,
}

impl SessionPage {
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
}

async fn session_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<super::OkQuery>,
) -> WebResult<Html<String>> {
    let l = load(&state, &s, id).await?;
    let role = room_role(&state, &s, &l).await?;
    let manage = may_manage(&s, &l);
    let all = sees_all(&s, &l);
    let mine: Vec<Id> = match &l.access {
        Access::Student(st) => vec![*st],
        Access::Parent(children) => children.clone(),
        _ => Vec::new(),
    };
    let lines = state
        .db
        .live_attendance(&l.course, &l.session)
        .await?
        .into_iter()
        .filter(|r| all || mine.contains(&r.student.student_id))
        .map(|row| AttendanceLine {
            first: row.visits.first_join.map(format_ms).unwrap_or_default(),
            minutes: (row.visits.total_ms + 30_000) / 60_000,
            row,
        })
        .collect();
    let lesson = match l.session.lesson_id {
        Some(x) => state.db.lesson(l.school.id, x).await.ok(),
        None => None,
    };
    let recordings = state
        .db
        .live_recordings(&l.session)
        .await?
        .into_iter()
        .map(|rec| {
            let (a, b) = (vn(rec.started_at), vn(rec.ended_at));
            let watch = rec.material_id.map(|m| match &lesson {
                Some(les) => format!("/courses/{}/lessons/{}", l.course.id, les.id),
                None if all => format!("/schools/{}/library/{m}", l.school.id),
                None => format!("/courses/{}", l.course.id),
            });
            RecordingLine {
                span: format!(
                    "{:02}:{:02} – {:02}:{:02}",
                    a.hour(),
                    a.minute(),
                    b.hour(),
                    b.minute()
                ),
                watch,
                rec,
            }
        })
        .collect();
    let polls = state.db.live_polls(&l.session).await?;
    let title = l.session.title.clone();
    render(&SessionPage {
        ctx: Ctx::new(&s, title)
            .with_help("lop-truc-tuyen")
            .with_notice(crate::view::saved_notice(q.ok.as_deref(), s.lang)),
        opens: format_ms(l.session.opens_at()),
        whiteboard: l.session.whiteboard_key.is_some(),
        row: session_row(l.session, db::now_ms()),
        course: l.course,
        lesson,
        role: role.map(role_code),
        manage,
        all,
        lines,
        statuses: AttendanceStatus::ALL
            .iter()
            .map(|x| (x.code(), x.label()))
            .collect(),
        recordings,
        polls,
    })
}

// ----- the room -----

#[derive(Template)]
#[template(path = "live_room.html")]
struct RoomPage {
    ctx: Ctx, // title = session title; help = Some("/guides/lop-truc-tuyen")
    session_id: Id,
    course: String,     // course name, e.g. "Toán — 6A1"
    role: &'static str, // "teacher" | "student" | "observer"
    me_id: Id,
    me_name: String,
    token_url: String,      // "/live/{id}/token"
    whiteboard_url: String, // "/live/{id}/whiteboard"
    slides_url: String,     // "/live/{id}/slides"
    back_url: String,       // the session page "/live/{id}"
    starts_at: String,      // "dd/mm/yyyy HH:MM" (Asia/Ho_Chi_Minh)
}

#[derive(Template)]
#[template(path = "live_wait.html")]
struct WaitPage {
    ctx: Ctx,
    back_url: String,
    message: String,
}

async fn room_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    let l = load(&state, &s, id).await?;
    let Some(role) = room_role(&state, &s, &l).await? else {
        return Err(WebError::Forbidden);
    };
    let now = db::now_ms();
    if !l.session.is_open(now) {
        let message = if l.session.is_over(now) {
            s.lang.t("live-room-over")
        } else {
            format!(
                "{} {}.",
                s.lang.t("live-room-opens"),
                format_ms(l.session.opens_at())
            )
        };
        return Ok(render(&WaitPage {
            ctx: Ctx::new(&s, l.session.title.clone()).with_help("lop-truc-tuyen"),
            back_url: format!("/live/{id}"),
            message,
        })?
        .into_response());
    }
    let mut r = render(&RoomPage {
        ctx: Ctx::new(&s, l.session.title.clone()).with_help("lop-truc-tuyen"),
        session_id: id,
        course: course_name(&l.course),
        role: role_code(role),
        me_id: s.user.id,
        me_name: s.user.full_name.clone(),
        token_url: format!("/live/{id}/token"),
        whiteboard_url: format!("/live/{id}/whiteboard"),
        slides_url: format!("/live/{id}/slides"),
        back_url: format!("/live/{id}"),
        starts_at: format_ms(l.session.starts_at),
    })?
    .into_response();
    // The room needs the camera and microphone of this page only.
    r.headers_mut().insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self), microphone=(self), display-capture=(self)"),
    );
    Ok(r)
}

fn json_error(status: StatusCode, msg: String) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "error": status.as_u16(), "message": msg })),
    )
        .into_response()
}

/// Where the room of a session lives: the node the registry placed it on, or — on first use,
/// or when that node stopped reporting — the least-loaded fresh node (this one when none
/// reports). A placement is a compare-and-swap, so concurrent first joins agree and a room
/// never spans nodes.
async fn ws_base_for(state: &AppState, session: &LiveSession) -> WebResult<String> {
    let hub = &state.live;
    let nodes = state.db.live_nodes().await?;
    let fresh = |id: &str| id == hub.node_id || nodes.iter().any(|n| n.id == id);
    let node = match &session.node_id {
        Some(n) if fresh(n) => n.clone(),
        placed => {
            let pick = nodes
                .first()
                .map_or_else(|| hub.node_id.clone(), |n| n.id.clone());
            state
                .db
                .place_live_session(session, placed.as_deref(), &pick)
                .await?
        }
    };
    if node == hub.node_id {
        return Ok(hub.ws_base.clone());
    }
    Ok(match nodes.iter().find(|n| n.id == node) {
        Some(n) => n.ws_base.clone(),
        None => hub.ws_base.clone(),
    })
}

async fn token(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    let l = load(&state, &s, id).await?;
    let Some(role) = room_role(&state, &s, &l).await? else {
        return Ok(json_error(
            StatusCode::FORBIDDEN,
            WebError::Forbidden.to_string(),
        ));
    };
    let now = db::now_ms();
    if !l.session.is_open(now) {
        let msg = if l.session.is_over(now) {
            s.lang.t("live-room-over")
        } else {
            format!(
                "{} {}.",
                s.lang.t("live-room-opens"),
                format_ms(l.session.opens_at())
            )
        };
        return Ok(json_error(StatusCode::CONFLICT, msg));
    }
    let key = state.live.key(&state.db).await?;
    let t = sign(
        key,
        &Claims {
            s: id,
            u: s.user.id,
            n: s.user.full_name.clone(),
            r: role,
            e: now + TOKEN_TTL_MS,
        },
    );
    let base = ws_base_for(&state, &l.session).await?;
    let ws = format!("{}/live/ws?token={t}", base.trim_end_matches('/'));
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "token": t, "ws": ws })),
    )
        .into_response())
}

// ----- the WebSocket bridge -----

/// The query of the WebSocket route.
#[derive(Debug, Deserialize)]
pub struct WsQuery {
    /// The room token.
    #[serde(default)]
    pub token: String,
}

async fn ws(
    State(state): State<AppState>,
    Query(q): Query<WsQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // A page session of another account than the token's (a token passed on) is refused.
    let cookie_user = match crate::auth::cookie(&headers, crate::auth::SESSION_COOKIE) {
        Some(t) => state
            .db
            .session_user(&crate::auth::token_hash(t))
            .await
            .ok()
            .flatten()
            .map(|(_, u)| u.id),
        None => None,
    };
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| bridge(state, q.token, cookie_user, socket))
}

async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

fn server_json(m: &ServerMsg) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{\"t\":\"pong\"}".into())
}

async fn bridge(state: AppState, token: String, cookie_user: Option<Id>, socket: WebSocket) {
    let key = match state.live.key(&state.db).await {
        Ok(k) => k,
        Err(_) => return close(socket, 1011, "Lỗi máy chủ, hãy thử lại.").await,
    };
    let claims = match verify(key, &token, db::now_ms()) {
        Ok(c) => c,
        Err(e) => return close(socket, CLOSE_BAD_TOKEN, &e.to_string()).await,
    };
    if cookie_user.is_some_and(|u| u != claims.u) {
        return close(
            socket,
            CLOSE_BAD_TOKEN,
            "Mã vào lớp thuộc về tài khoản khác.",
        )
        .await;
    }
    let session = match state.db.live_session(claims.s).await {
        Ok(x) => x,
        Err(_) => return close(socket, CLOSE_BAD_TOKEN, "Mã vào lớp không hợp lệ.").await,
    };
    if !session.is_open(db::now_ms()) {
        return close(socket, CLOSE_ENDED, "Buổi học đã kết thúc hoặc chưa mở.").await;
    }
    let conn = state
        .live
        .live
        .connect(
            live::RoomSpec {
                room_id: session.id,
                school_id: session.school_id,
                title: session.title.clone(),
            },
            live::Participant {
                user_id: claims.u,
                name: claims.n.clone(),
                role: claims.r,
            },
        )
        .await;
    match conn {
        Ok(c) => {
            watch_room(state.clone(), session.id);
            pump(socket, c).await
        }
        Err(e) => close(socket, CLOSE_REFUSED, &e.to_string()).await,
    }
}

/// How often a node looks in the database whether the session of a room it holds is over.
pub const END_POLL: Duration = Duration::from_secs(2);

/// Closes the room once its session is over — ended by the teacher (whose request may have
/// reached another node than the media node holding the room) or past its time — so that the
/// people inside are disconnected, not only newcomers refused. One watcher per open room.
fn watch_room(state: AppState, room: Id) {
    let fresh = state
        .live
        .watched
        .lock()
        .map(|mut w| w.insert(room))
        .unwrap_or(false);
    if !fresh {
        return;
    }
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(END_POLL).await;
            if !state.live.live.has_room(room).await {
                break;
            }
            match state.db.live_session(room).await {
                Ok(s) if s.is_over(db::now_ms()) => {
                    state.live.live.close_room(room).await;
                    break;
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "live: checking the end of {room}"),
            }
        }
        if let Ok(mut w) = state.live.watched.lock() {
            w.remove(&room);
        }
        // Someone came in while the watcher was stopping.
        if state.live.live.has_room(room).await {
            watch_room(state, room);
        }
    });
}

/// Forwards frames both ways until either side ends.
async fn pump(mut socket: WebSocket, conn: live::Connection) {
    let live::Connection { tx, mut rx } = conn;
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    match serde_json::from_str::<ClientMsg>(text.as_str()) {
                        Ok(m) => {
                            if tx.send(m).await.is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            let err = ServerMsg::Error {
                                code: "bad_request".into(),
                                message: format!("Tin nhắn không hợp lệ: {e}"),
                            };
                            if socket.send(Message::Text(server_json(&err).into())).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let err = ServerMsg::Error {
                        code: "bad_request".into(),
                        message: "Chỉ nhận tin nhắn dạng văn bản JSON.".into(),
                    };
                    if socket.send(Message::Text(server_json(&err).into())).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) => {
                    // A goodbye: leave at once, without the reconnection grace.
                    let _ = tx.send(ClientMsg::Leave).await;
                    break;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                // A broken socket: dropping tx lets the media server wait for a reconnection.
                Some(Err(_)) | None => break,
            },
            outgoing = rx.recv() => match outgoing {
                Some(m) => {
                    if socket.send(Message::Text(server_json(&m).into())).await.is_err() {
                        break;
                    }
                }
                None => {
                    close(socket, 1000, "Buổi học đã kết thúc.").await;
                    return;
                }
            },
        }
    }
}

// ----- ending, attendance, Excel -----

async fn end(State(state): State<AppState>, s: Session, Path(id): Path<Id>) -> WebResult<Redirect> {
    let l = load(&state, &s, id).await?;
    if !may_manage(&s, &l) {
        return Err(WebError::Forbidden);
    }
    state.db.end_live_session(&l.session, s.user.id).await?;
    // Everyone is disconnected; their leaves arrive as events.
    state.live.live.close_room(id).await;
    Ok(Redirect::to(&format!("/live/{id}?ok=1")))
}

/// A correction.
#[derive(Debug, Deserialize)]
pub struct CorrectionForm {
    /// Student record.
    #[serde(default)]
    pub student: String,
    /// Status code.
    #[serde(default)]
    pub status: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
}

async fn correct(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<CorrectionForm>,
) -> WebResult<Redirect> {
    let l = load(&state, &s, id).await?;
    if !may_manage(&s, &l) {
        return Err(WebError::Forbidden);
    }
    let student = parse_uuid(&f.student, "Học sinh")?;
    let status = AttendanceStatus::from_code(f.status.trim()).ok_or_else(|| {
        WebError::BadRequest(format!("Trạng thái: \"{}\" không hợp lệ.", f.status.trim()))
    })?;
    let reason = f.reason.trim();
    if reason.is_empty() {
        return Err(WebError::BadRequest(
            "Lý do điều chỉnh: chưa nhập lý do.".into(),
        ));
    }
    if reason.chars().count() > 500 {
        return Err(WebError::BadRequest(
            "Lý do điều chỉnh dài quá 500 ký tự.".into(),
        ));
    }
    let rows = state.db.live_attendance(&l.course, &l.session).await?;
    let Some(row) = rows.iter().find(|r| r.student.student_id == student) else {
        return Err(WebError::BadRequest(
            "Học sinh: em này không thuộc lớp của buổi học.".into(),
        ));
    };
    state
        .db
        .correct_live_attendance(&l.session, student, row.status, status, reason, s.user.id)
        .await?;
    Ok(Redirect::to(&format!("/live/{id}?ok=1#attendance")))
}

async fn attendance_xlsx(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    use office::table::Cell;
    let l = load(&state, &s, id).await?;
    if !sees_all(&s, &l) {
        return Err(WebError::Forbidden);
    }
    let rows = state.db.live_attendance(&l.course, &l.session).await?;
    let headers = [
        "Mã học sinh",
        "Họ và tên",
        "Số lần vào",
        "Vào lần đầu",
        "Số phút",
        "Trạng thái",
        "Lý do điều chỉnh",
    ];
    let data: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            vec![
                Cell::from(r.student.code.clone()),
                Cell::from(r.student.full_name.clone()),
                Cell::from(r.visits.visits as i64),
                Cell::from(r.visits.first_join.map(format_ms).unwrap_or_default()),
                Cell::from((r.visits.total_ms + 30_000) / 60_000),
                Cell::from(r.status.label()),
                Cell::from(
                    r.correction
                        .as_ref()
                        .map(|c| c.reason.clone())
                        .unwrap_or_default(),
                ),
            ]
        })
        .collect();
    let title = vec![
        format!("ĐIỂM DANH – {}", l.session.title.to_uppercase()),
        format!(
            "Lớp {} · môn {} · {}",
            l.course.class_name,
            l.course.subject_name,
            format_ms(l.session.starts_at)
        ),
    ];
    let bytes = office::table::export("Điểm danh", &title, &headers, &data)
        .map_err(|x| WebError::Internal(x.into()))?;
    Ok(crate::files::xlsx_download(
        bytes,
        "diem-danh-lop-truc-tuyen.xlsx",
    ))
}

// ----- whiteboard and recordings -----

async fn whiteboard(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    body: Body,
) -> WebResult<Response> {
    let l = load(&state, &s, id).await?;
    if room_role(&state, &s, &l).await? != Some(live::Role::Teacher) {
        return Err(WebError::Forbidden);
    }
    let too_big = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "Ảnh bảng trắng lớn quá {} MB.",
                MAX_WHITEBOARD_BYTES / 1024 / 1024
            ),
        )
            .into_response()
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_WHITEBOARD_BYTES + 1).await else {
        return Ok(too_big());
    };
    if bytes.len() > MAX_WHITEBOARD_BYTES {
        return Ok(too_big());
    }
    if !matches!(
        media::sniff::sniff(&bytes),
        Ok(Some(media::sniff::Kind::Png))
    ) {
        return Err(WebError::BadRequest(
            "Ảnh bảng trắng: nội dung gửi lên không phải ảnh PNG.".into(),
        ));
    }
    let key = format!("live/{}/{id}/whiteboard.png", l.school.id);
    state
        .storage
        .put(&key, bytes.to_vec())
        .await
        .map_err(|e| WebError::Internal(e.into()))?;
    state
        .db
        .set_live_whiteboard(&l.session, &key, s.user.id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn whiteboard_png(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let l = load(&state, &s, id).await?;
    let Some(key) = &l.session.whiteboard_key else {
        return Err(WebError::NotFound);
    };
    // The key stays the same when the teacher saves again: no long caching.
    let mut r = crate::files::serve(&state, key, "image/png", "bang-trang.png", &headers).await?;
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r.headers_mut().remove(header::ETAG);
    Ok(r)
}

async fn download(
    State(state): State<AppState>,
    s: Session,
    Path((id, rid)): Path<(Id, Id)>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let l = load(&state, &s, id).await?;
    if !may_manage(&s, &l) {
        return Err(WebError::Forbidden);
    }
    let recs = state.db.live_recordings(&l.session).await?;
    let Some(key) = recs
        .iter()
        .find(|r| r.id == rid)
        .and_then(|r| r.file_key.clone())
    else {
        return Err(WebError::NotFound);
    };
    let name = format!(
        "ban-ghi-{}.mp4",
        format_day(l.session.starts_at).replace('/', "-")
    );
    crate::files::serve(&state, &key, "video/mp4", &name, &headers).await
}

// ----- events from the media server -----

/// Persists the media server's events until it stops.
pub async fn persist_events(
    state: AppState,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<live::LiveEvent>,
) {
    while let Some(ev) = rx.recv().await {
        match handle_event(&state, ev).await {
            Ok(Some(p)) => {
                let _ = state.live.persisted.send(p);
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = ?e, "persisting a live event failed"),
        }
    }
}

/// Writes one event: a visit opened or closed, a recording turned into a lesson video, a
/// poll stored.
pub async fn handle_event(
    state: &AppState,
    ev: live::LiveEvent,
) -> anyhow::Result<Option<Persisted>> {
    use live::LiveEvent as E;
    Ok(match ev {
        E::Joined { room, user, at } => {
            state.db.live_joined(room, user, ms_of_system(at)).await?;
            Some(Persisted::Joined { room, user })
        }
        E::Left { room, user, at } => {
            state.db.live_left(room, user, ms_of_system(at)).await?;
            Some(Persisted::Left { room, user })
        }
        E::PollClosed {
            room,
            question,
            results,
        } => {
            state.db.add_live_poll(room, &question, &results).await?;
            Some(Persisted::Poll { room })
        }
        E::RecordingFinished {
            room,
            by,
            video,
            audio,
            started_at,
            ended_at,
        } => {
            let Ok(session) = state.db.live_session(room).await else {
                return Ok(None);
            };
            let (started_at, ended_at) = (ms_of_system(started_at), ms_of_system(ended_at));
            let outcome = store_recording(state, &session, by, video.clone(), audio.clone()).await;
            let rec = match outcome {
                Ok((key, size, material)) => {
                    // The sources are no longer needed once the MP4 is stored.
                    for p in [video, audio].into_iter().flatten() {
                        let _ = tokio::fs::remove_file(p).await;
                    }
                    NewRecording {
                        by: Some(by),
                        started_at,
                        ended_at,
                        status: "ready",
                        error: None,
                        file_key: Some(key),
                        size: Some(size),
                        material_id: Some(material),
                    }
                }
                Err(e) => {
                    tracing::warn!(session = %room, error = %e, "a recording could not be stored");
                    NewRecording {
                        by: Some(by),
                        started_at,
                        ended_at,
                        status: "failed",
                        error: Some(e.to_string()),
                        file_key: None,
                        size: None,
                        material_id: None,
                    }
                }
            };
            state.db.add_live_recording(&session, &rec).await?;
            Some(Persisted::Recording { room })
        }
    })
}

/// Muxes a recording, stores the MP4, makes the lesson video and starts its transcode.
async fn store_recording(
    state: &AppState,
    s: &LiveSession,
    by: Id,
    video: Option<PathBuf>,
    audio: Option<PathBuf>,
) -> anyhow::Result<(String, i64, Id)> {
    if video.is_none() && audio.is_none() {
        anyhow::bail!("Bản ghi trống: không có hình và tiếng.");
    }
    if !state.live.muxer.available() {
        anyhow::bail!("{}", media::video::NO_FFMPEG);
    }
    let course = state.db.course(s.course_id).await?;
    let work = std::env::temp_dir().join(format!("lophoc-mux-{}", domain::new_id().simple()));
    tokio::fs::create_dir_all(&work).await?;
    let out = work.join("ban-ghi.mp4");
    let result = store_muxed(state, s, &course, by, video, audio, &out).await;
    let _ = tokio::fs::remove_dir_all(&work).await;
    result
}

async fn store_muxed(
    state: &AppState,
    s: &LiveSession,
    course: &Course,
    by: Id,
    video: Option<PathBuf>,
    audio: Option<PathBuf>,
    out: &FsPath,
) -> anyhow::Result<(String, i64, Id)> {
    use domain::learning::MaterialKind;
    state
        .transcodes
        .run(
            state
                .live
                .muxer
                .mux(video.as_deref(), audio.as_deref(), out),
        )
        .await?;
    let check = out.to_path_buf();
    let kind = tokio::task::spawn_blocking(move || {
        media::sniff::sniff_file(&check, &media::sniff::ZipLimits::default())
    })
    .await??;
    if kind != Some(media::sniff::Kind::Mp4) {
        anyhow::bail!("ffmpeg không tạo ra tệp MP4 hợp lệ.");
    }
    let title = recording_title(s);
    let owner = course.teacher_user_id.unwrap_or(by);
    let mid = state
        .db
        .create_material(
            s.school_id,
            owner,
            MaterialKind::Video,
            &db::learning::MaterialInput {
                subject_name: course.subject_name.clone(),
                grade: Some(course.grade),
                title: title.clone(),
                attribution: format!("Lớp {}", course.class_name),
                ..Default::default()
            },
        )
        .await?;
    let key = format!("videos/{}/{mid}/original.mp4", s.school_id);
    let size = state.storage.put_file(&key, out).await? as i64;
    let name = format!("{title}.mp4");
    state
        .db
        .set_video_file(s.school_id, mid, (&key, &name, "video/mp4", size))
        .await?;
    if let Some(lesson) = s.lesson_id {
        let lesson = state.db.lesson(s.school_id, lesson).await?;
        state.db.attach_material(&lesson, mid).await?;
    }
    super::video::spawn_transcode(state.clone(), s.school_id, mid);
    Ok((key, size, mid))
}

/// Keeps this node's row of the `live_nodes` registry fresh (load = people connected).
pub async fn heartbeat(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let hub = &state.live;
        let load = hub.live.participants() as i64;
        if let Err(e) = state
            .db
            .live_node_heartbeat(&hub.node_id, &hub.ws_base, load)
            .await
        {
            tracing::warn!(error = %e, "live node heartbeat failed");
        }
    }
}

// ----- the script -----

pub(crate) const LIVE_JS: &str = include_str!("../../static/live.js");

async fn live_js(headers: HeaderMap) -> Response {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let etag = TAG.get_or_init(|| media::serve::etag_for_bytes(LIVE_JS.as_bytes()));
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let mut r = if media::serve::not_modified(inm, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        LIVE_JS.into_response()
    };
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(e: i64) -> Claims {
        Claims {
            s: domain::new_id(),
            u: domain::new_id(),
            n: "Nguyễn Văn An".into(),
            r: live::Role::Student,
            e,
        }
    }

    #[test]
    fn tokens_verify_and_refuse_tampering_expiry_and_other_keys() {
        let key = b"0123456789abcdef0123456789abcdef";
        let c = claims(10_000);
        let t = sign(key, &c);
        assert_eq!(verify(key, &t, 9_999), Ok(c.clone()));
        assert_eq!(verify(key, &t, 10_000), Err(TokenError::Expired));
        assert_eq!(verify(b"another key", &t, 0), Err(TokenError::Forged));
        assert_eq!(verify(key, "", 0), Err(TokenError::Missing));
        assert_eq!(verify(key, "abc", 0), Err(TokenError::Forged));
        // A teacher's role written into a student's token breaks the signature.
        let (body, sig) = t.split_once('.').unwrap();
        let forged = {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let mut raw: Claims = serde_json::from_slice(&b64.decode(body).unwrap()).unwrap();
            raw.r = live::Role::Teacher;
            format!("{}.{sig}", b64.encode(serde_json::to_vec(&raw).unwrap()))
        };
        assert_eq!(verify(key, &forged, 0), Err(TokenError::Forged));
        // Close reasons must fit a WebSocket close frame.
        for e in [TokenError::Missing, TokenError::Forged, TokenError::Expired] {
            assert!(e.to_string().len() <= 123);
        }
    }

    fn form(date: &str, start: &str, minutes: &str, repeat: &str, until: &str) -> ScheduleForm {
        ScheduleForm {
            title: "Ôn tập chương 1".into(),
            lesson: String::new(),
            date: date.into(),
            start: start.into(),
            minutes: minutes.into(),
            repeat: repeat.into(),
            until: until.into(),
        }
    }

    #[test]
    fn schedules_are_checked_and_weekly_ones_expand() {
        // 2025-09-01 00:00 in Vietnam.
        let now = 1_756_659_600_000;
        let one = form("2025-09-08", "19:30", "45", "once", "")
            .check(now)
            .unwrap();
        assert_eq!(one.slots.len(), 1);
        assert_eq!(format_ms(one.slots[0].0), "08/09/2025 19:30");
        assert_eq!(one.slots[0].1 - one.slots[0].0, 45 * 60_000);
        let weekly = form("2025-09-08", "19:30", "45", "weekly", "2025-10-06")
            .check(now)
            .unwrap();
        assert_eq!(weekly.slots.len(), 5);
        assert_eq!(format_ms(weekly.slots[4].0), "06/10/2025 19:30");
        let err = |f: ScheduleForm| match f.check(now) {
            Err(WebError::BadRequest(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert!(err(form("", "19:30", "45", "once", "")).contains("Ngày học"));
        assert!(err(form("2025-09-08", "25:00", "45", "once", "")).contains("Giờ bắt đầu"));
        assert!(err(form("2025-09-08", "19:30", "abc", "once", "")).contains("Thời lượng"));
        assert!(err(form("2025-09-08", "19:30", "5", "once", "")).contains("Thời lượng"));
        assert!(err(form("2025-08-01", "19:30", "45", "once", "")).contains("đã qua"));
        assert!(err(form("2025-09-08", "19:30", "45", "weekly", "2025-09-01")).contains("Lặp đến"));
        assert!(err(form("2025-09-08", "19:30", "45", "weekly", "2026-09-08")).contains("40"));
        assert!(err(form("2025-09-08", "19:30", "45", "daily", "")).contains("Lặp lại"));
        let mut untitled = form("2025-09-08", "19:30", "45", "once", "");
        untitled.title = "  ".into();
        assert!(err(untitled).contains("tên buổi học"));
    }

    #[test]
    fn the_mux_command_maps_both_inputs_without_an_offset() {
        let a = mux_args(
            Some(FsPath::new("/r/v.ivf")),
            Some(FsPath::new("/r/a.ogg")),
            FsPath::new("/o.mp4"),
        );
        let line = a.join(" ");
        assert!(line.contains("-i /r/v.ivf -i /r/a.ogg -map 0:v:0 -map 1:a:0"));
        assert!(line.contains("-c:v libx264") && line.contains("-c:a aac"));
        assert!(!line.contains("itsoffset"));
        assert!(line.ends_with("/o.mp4"));
        let audio_only = mux_args(None, Some(FsPath::new("/r/a.ogg")), FsPath::new("/o.mp4"));
        assert!(audio_only.join(" ").contains("-map 0:a:0"));
        assert!(!audio_only.join(" ").contains("libx264"));
    }

    #[test]
    fn recording_titles_carry_the_vietnamese_date() {
        let s = LiveSession {
            id: Id::nil(),
            school_id: Id::nil(),
            course_id: Id::nil(),
            lesson_id: None,
            series_id: None,
            title: "Ôn tập".into(),
            // 08/09/2025 19:30 in Vietnam is 12:30 UTC.
            starts_at: 1_757_334_600_000,
            ends_at: 1_757_337_300_000,
            status: "scheduled".into(),
            ended_at: None,
            node_id: None,
            whiteboard_key: None,
            whiteboard_at: None,
            created_by: Id::nil(),
        };
        assert_eq!(recording_title(&s), "Bản ghi buổi học Ôn tập 08/09/2025");
    }
}
