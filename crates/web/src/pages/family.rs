//! Families: parents activate their account with a one-time code and consent to the
//! processing of their child's data; parents and teachers talk in conversations about one
//! child; teachers post class announcements and see who read them; everyone has an inbox; the
//! school moderates reported messages.

use super::{OkQuery, parse_uuid, school_for};
use crate::AppState;
use crate::auth::{
    self, Session, hash_password, new_session_token, session_cookie, verify_password,
};
use crate::error::{Form, WebError, WebResult};
use crate::i18n::Lang;
use crate::view::{Ctx, format_ms, render, saved_notice};
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use db::family::{Announcement, MessageView, Notification, ReportedMessage, Thread, ThreadSummary};
use db::org::School;
use db::roster::Student;
use db::school::Class;
use domain::Id;
use domain::auth::{Action, Target};
use serde::Deserialize;
use std::net::SocketAddr;

/// Version of the consent text parents accept at activation (Decree 13/2023).
pub const CONSENT_VERSION: &str = "2026-11";
/// How long a printed activation code stays valid.
const CODE_DAYS: i64 = 30;
/// Wrong tries before a code stops working.
const CODE_MAX_FAILURES: i64 = 5;
/// Messages one person may send per minute and per day (flood control).
const MESSAGES_PER_MINUTE: i64 = 10;
const MESSAGES_PER_DAY: i64 = 200;
/// Longest message.
const MAX_MESSAGE_CHARS: usize = 2000;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/activate", get(activate_page).post(activate))
        .route(
            "/schools/{id}/classes/{class}/parent-codes",
            post(issue_codes),
        )
        .route(
            "/schools/{id}/classes/{class}/announcements",
            post(announce),
        )
        .route("/announcements/{id}", get(announcement_page))
        .route("/messages", get(threads_page))
        .route("/messages/new", get(compose_page).post(compose))
        .route("/messages/{thread}", get(thread_page).post(reply))
        .route("/messages/{thread}/report/{message}", post(report))
        .route("/messages/{thread}/photos/{photo}", get(photo))
        .route("/schools/{id}/moderation", get(moderation_page))
        .route(
            "/schools/{id}/moderation/messages/{message}",
            post(moderate_message),
        )
        .route(
            "/schools/{id}/moderation/threads/{thread}",
            post(moderate_thread),
        )
        .route("/inbox", get(inbox_page))
        .route("/account/notifications", get(prefs_page).post(save_prefs))
        .route("/push/key", get(push_key))
        .route("/push/subscribe", post(push_subscribe))
        .route("/push/unsubscribe", post(push_unsubscribe))
        .route("/inbox/read-all", post(read_all))
        .route("/inbox/{id}", get(open_notification))
}

// ----- one-time codes -----

/// A printable code: 8 letters and digits without look-alikes, shown as `ABCD-EFGH`.
pub fn new_code() -> String {
    let raw = auth::random_password().to_uppercase();
    format!("{}-{}", &raw[..4], &raw[4..8])
}

/// The form of a code that is hashed: case, spaces and dashes do not matter.
pub fn normalize_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// What the class page needs to authorize class actions: the school, the class and the
/// accounts of its teachers.
pub(crate) struct ClassPeople {
    /// The school.
    pub school: School,
    /// The class.
    pub class: Class,
    /// The homeroom teacher's account.
    pub homeroom: Option<Id>,
    /// Subject teachers' accounts.
    pub teachers: Vec<Id>,
}

impl ClassPeople {
    /// The authorization target.
    pub fn target<'a>(&'a self, school: &'a domain::auth::SchoolRef) -> Target<'a> {
        Target::Class {
            school,
            homeroom: self.homeroom,
            teachers: &self.teachers,
        }
    }
}

/// Loads a class with its teachers; an id of another school answers 403.
pub(crate) async fn class_people(
    state: &AppState,
    s: &Session,
    school_id: Id,
    class_id: Id,
) -> WebResult<ClassPeople> {
    let school = match state.db.school(school_id).await {
        Ok(x) => x,
        Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    let class = match state.db.class(school_id, class_id).await {
        Ok(c) => c,
        Err(db::DbError::NotFound) => {
            return Err(
                if s.actor
                    .can(Action::ViewSchool, Target::School(&school.as_ref()))
                {
                    WebError::NotFound
                } else {
                    WebError::Forbidden
                },
            );
        }
        Err(e) => return Err(e.into()),
    };
    let homeroom = match class.homeroom_staff_id {
        Some(h) => Some(state.db.staff_member(school_id, h).await?.user_id),
        None => None,
    };
    let teachers = state
        .db
        .class_staff(school_id, class_id)
        .await?
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    Ok(ClassPeople {
        school,
        class,
        homeroom,
        teachers,
    })
}

#[derive(Template)]
#[template(path = "parent_codes.html")]
struct CodesPage {
    ctx: Ctx,
    activate_url: String,
    back: String,
    class_name: String,
    school_name: String,
    expires: String,
    slips: Vec<(String, String, String, String)>,
}

/// Whose codes to print.
#[derive(Deserialize)]
pub struct CodesForm {
    #[serde(default)]
    include_active: Option<String>,
}

async fn issue_codes(
    State(state): State<AppState>,
    s: Session,
    headers: HeaderMap,
    Path((id, class_id)): Path<(Id, Id)>,
    Form(f): Form<CodesForm>,
) -> WebResult<Response> {
    let cp = class_people(&state, &s, id, class_id).await?;
    let sref = cp.school.as_ref();
    s.require(Action::ManageClass, cp.target(&sref))?;
    let parents = state.db.class_parents(id, class_id).await?;
    let mut slips = Vec::new();
    let mut codes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in parents {
        if (p.activated && f.include_active.is_none()) || p.phone.is_empty() {
            continue;
        }
        // One code per parent even with two children in the class.
        if seen.insert(p.user_id) {
            let code = new_code();
            codes.push((p.user_id, hash_password(normalize_code(&code)).await?));
            slips.push((
                format!("{} ({} của {})", p.full_name, p.relation, p.student_name),
                p.phone,
                code,
                p.student_name,
            ));
        }
    }
    let expires_at = db::now_ms() + CODE_DAYS * 24 * 3600 * 1000;
    state
        .db
        .issue_activation_codes(id, &codes, expires_at, Some(s.user.id))
        .await?;
    // The slip carries the address parents type, as this server is reached.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = if state.config.secure_cookies {
        "https"
    } else {
        "http"
    };
    Ok(render(&CodesPage {
        activate_url: format!("{scheme}://{host}/activate"),
        ctx: Ctx::new(&s, s.lang.t("codes-title")).with_help("phu-huynh"),
        back: format!("/schools/{id}/classes/{class_id}"),
        class_name: cp.class.name,
        school_name: cp.school.name,
        expires: format_ms(expires_at)[..10].to_owned(),
        slips,
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "activate.html")]
struct ActivatePage {
    ctx: Ctx,
    phone: String,
}

fn activate_view(lang: Lang, phone: String, error: Option<String>, status: StatusCode) -> Response {
    let mut ctx = Ctx::anonymous(lang, lang.t("activate-title")).with_help("phu-huynh");
    ctx.error = error;
    match render(&ActivatePage { ctx, phone }) {
        Ok(html) => (status, html).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn activate_page(headers: HeaderMap) -> Response {
    activate_view(
        Lang::from_headers(&headers),
        String::new(),
        None,
        StatusCode::OK,
    )
}

/// The activation form.
#[derive(Deserialize)]
pub struct ActivateForm {
    phone: String,
    code: String,
    new: String,
    confirm: String,
    #[serde(default)]
    consent: Option<String>,
}

async fn activate(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<ActivateForm>,
) -> WebResult<Response> {
    let lang = Lang::from_headers(&headers);
    let fail = |msg: String, status| Ok(activate_view(lang, f.phone.clone(), Some(msg), status));
    let ip = peer.ip();
    if state.throttle.blocked(ip) {
        return fail(lang.t("login-throttled-ip"), StatusCode::TOO_MANY_REQUESTS);
    }
    let wrong = || lang.t("activate-wrong");
    let Ok(phone) = domain::people::VnPhone::parse(&f.phone) else {
        return fail(lang.t("activate-bad-phone"), StatusCode::BAD_REQUEST);
    };
    let user = state.db.user_by_login(phone.as_str()).await?;
    let code = match &user {
        Some(u) => state.db.latest_activation_code(u.id).await?,
        None => None,
    };
    let (Some(user), Some(code)) = (user, code) else {
        state.throttle.fail(ip);
        // The same time as a real check, so answers do not reveal which phones exist.
        let _ = hash_password(f.code.clone()).await;
        return fail(wrong(), StatusCode::UNAUTHORIZED);
    };
    if code.used_at.is_some() {
        return fail(lang.t("activate-used"), StatusCode::CONFLICT);
    }
    if code.failed_attempts >= CODE_MAX_FAILURES {
        return fail(lang.t("activate-locked"), StatusCode::TOO_MANY_REQUESTS);
    }
    if code.expires_at <= db::now_ms() {
        return fail(lang.t("activate-expired"), StatusCode::GONE);
    }
    if !verify_password(normalize_code(&f.code), code.code_hash.clone()).await {
        state.throttle.fail(ip);
        state.db.activation_failed(code.id).await?;
        return fail(wrong(), StatusCode::UNAUTHORIZED);
    }
    if f.consent.is_none() {
        return fail(lang.t("activate-need-consent"), StatusCode::BAD_REQUEST);
    }
    if f.new != f.confirm {
        return fail(lang.t("password-mismatch"), StatusCode::BAD_REQUEST);
    }
    if let Err(e) = domain::people::check_new_password(&f.new, &user.username) {
        return fail(e.0, StatusCode::BAD_REQUEST);
    }
    let hash = hash_password(f.new.clone()).await?;
    match state
        .db
        .activate_account(&code, user.id, &hash, CONSENT_VERSION)
        .await
    {
        Ok(()) => {}
        Err(db::DbError::Conflict(_)) => {
            return fail(lang.t("activate-used"), StatusCode::CONFLICT);
        }
        Err(e) => return Err(e.into()),
    }
    let (token, token_hash) = new_session_token();
    let ttl = state.config.session_ttl;
    state
        .db
        .create_session(
            &token_hash,
            user.id,
            db::now_ms() + ttl.as_millis() as i64,
            "",
        )
        .await?;
    Ok((
        [(
            header::SET_COOKIE,
            session_cookie(&token, ttl, state.config.secure_cookies),
        )],
        Redirect::to("/?ok=activated"),
    )
        .into_response())
}

// ----- announcements -----

/// A new announcement.
#[derive(Deserialize)]
pub struct AnnounceForm {
    title: String,
    body: String,
}

async fn announce(
    State(state): State<AppState>,
    s: Session,
    Path((id, class_id)): Path<(Id, Id)>,
    Form(f): Form<AnnounceForm>,
) -> WebResult<Redirect> {
    let cp = class_people(&state, &s, id, class_id).await?;
    let sref = cp.school.as_ref();
    s.require(Action::TeachClass, cp.target(&sref))?;
    let title = domain::text::normalize_spaces(&f.title);
    let body = f.body.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(WebError::BadRequest(
            "Tiêu đề thông báo phải có từ 1 đến 200 ký tự".into(),
        ));
    }
    if body.is_empty() || body.chars().count() > 5000 {
        return Err(WebError::BadRequest(
            "Nội dung thông báo phải có từ 1 đến 5000 ký tự".into(),
        ));
    }
    state
        .db
        .post_announcement(id, class_id, s.user.id, &title, body)
        .await?;
    Ok(Redirect::to(&format!(
        "/schools/{id}/classes/{class_id}?ok=1"
    )))
}

#[derive(Template)]
#[template(path = "announcement.html")]
struct AnnouncementPage {
    ctx: Ctx,
    a: Announcement,
    sent: Vec<(String, i64)>,
    when: String,
    readers: Vec<(String, String, Option<String>)>,
    back: String,
}

async fn announcement_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Html<String>> {
    let a = match state.db.announcement(id).await {
        Ok(a) => a,
        Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    let school_id = state.db.class_school(a.class_id).await?;
    let cp = class_people(&state, &s, school_id, a.class_id).await?;
    let sref = cp.school.as_ref();
    let (readers, back) = if s.actor.can(Action::TeachClass, cp.target(&sref)) {
        let readers = state
            .db
            .announcement_readers(id)
            .await?
            .into_iter()
            .map(|(n, p, r)| (n, p, r.map(format_ms)))
            .collect();
        (
            readers,
            format!("/schools/{school_id}/classes/{}", a.class_id),
        )
    } else if state
        .db
        .announcement_recipient(id, s.user.id)
        .await?
        .is_some()
    {
        state.db.mark_announcement_read(id, s.user.id).await?;
        state
            .db
            .read_notifications_for(s.user.id, &format!("/announcements/{id}"))
            .await?;
        (vec![], "/".to_owned())
    } else {
        return Err(WebError::Forbidden);
    };
    let sent = if readers.is_empty() {
        vec![]
    } else {
        state.db.announcement_deliveries(id).await?
    };
    render(&AnnouncementPage {
        sent,
        ctx: Ctx::new(&s, a.title.clone()),
        when: format_ms(a.created_at),
        a,
        readers,
        back,
    })
}

// ----- conversations -----

#[derive(Template)]
#[template(path = "messages.html")]
struct ThreadsPage {
    ctx: Ctx,
    threads: Vec<ThreadSummary>,
}

impl ThreadsPage {
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
}

async fn threads_page(State(state): State<AppState>, s: Session) -> WebResult<Html<String>> {
    render(&ThreadsPage {
        ctx: Ctx::new(&s, s.lang.t("nav-messages")).with_help("phu-huynh"),
        threads: state.db.threads_of(s.user.id).await?,
    })
}

/// Who a new conversation is with: a parent picks a teacher of their child's class, a teacher
/// picks a parent of a student of their class.
#[derive(Deserialize)]
pub struct ComposeQuery {
    school: String,
    student: String,
    #[serde(default)]
    with: String,
}

struct Party {
    school: School,
    student: Student,
    parent: Id,
    staff: Id,
    other_name: String,
}

/// Checks who may talk to whom about which child (the rule lives in `Actor::may_open_thread`).
async fn party(
    state: &AppState,
    s: &Session,
    school: &str,
    student: &str,
    with: &str,
) -> WebResult<Party> {
    let school_id = parse_uuid(school, "Trường")?;
    let student_id = parse_uuid(student, "Học sinh")?;
    let with = parse_uuid(with, "Người nhận")?;
    let (school, student) = match (
        state.db.school(school_id).await,
        state.db.current_year(school_id).await,
    ) {
        (Ok(sc), Ok(year)) => match state
            .db
            .student(school_id, student_id, year.map(|y| y.id))
            .await
        {
            Ok(st) => (sc, st),
            Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
            Err(e) => return Err(e.into()),
        },
        (Err(db::DbError::NotFound), _) => return Err(WebError::Forbidden),
        (Err(e), _) | (_, Err(e)) => return Err(e.into()),
    };
    let guardians: Vec<Id> = state
        .db
        .guardians(school_id, student_id)
        .await?
        .into_iter()
        .map(|g| g.user_id)
        .collect();
    let class_staff: Vec<Id> = match student.class_id {
        Some(c) => state
            .db
            .class_staff(school_id, c)
            .await?
            .into_iter()
            .map(|(id, _, _)| id)
            .collect(),
        None => vec![],
    };
    let (parent, staff) = if guardians.contains(&s.user.id) {
        (s.user.id, with)
    } else {
        (with, s.user.id)
    };
    if !s
        .actor
        .may_open_thread(parent, staff, &guardians, &class_staff)
    {
        return Err(WebError::Forbidden);
    }
    let other_name = state.db.user(with).await?.full_name;
    Ok(Party {
        school,
        student,
        parent,
        staff,
        other_name,
    })
}

#[derive(Template)]
#[template(path = "compose.html")]
struct ComposePage {
    ctx: Ctx,
    school_id: Id,
    student_id: Id,
    with: Id,
    with_name: String,
    student_name: String,
    key: String,
    office_hours: String,
}

async fn compose_page(
    State(state): State<AppState>,
    s: Session,
    Query(q): Query<ComposeQuery>,
) -> WebResult<Response> {
    let p = party(&state, &s, &q.school, &q.student, &q.with).await?;
    // An existing conversation continues where it is.
    let existing = state.db.threads_of(s.user.id).await?;
    if let Some(t) = existing.iter().find(|t| {
        t.thread.student_id == p.student.id
            && t.thread.parent_id == p.parent
            && t.thread.staff_user_id == p.staff
    }) {
        return Ok(Redirect::to(&format!("/messages/{}", t.thread.id)).into_response());
    }
    Ok(render(&ComposePage {
        ctx: Ctx::new(&s, s.lang.t("compose-title")).with_help("phu-huynh"),
        school_id: p.school.id,
        student_id: p.student.id,
        with: if p.parent == s.user.id {
            p.staff
        } else {
            p.parent
        },
        with_name: p.other_name,
        student_name: p.student.full_name,
        key: uuid::Uuid::new_v4().to_string(),
        office_hours: if p.parent == s.user.id {
            state.db.office_hours(p.staff).await?
        } else {
            String::new()
        },
    })?
    .into_response())
}

/// A message typed in a form; the key makes a retried send harmless.
#[derive(Deserialize)]
pub struct MessageForm {
    #[serde(default)]
    school: String,
    #[serde(default)]
    student: String,
    #[serde(default)]
    with: String,
    body: String,
    key: String,
}

fn check_body(body: &str, has_photos: bool) -> WebResult<&str> {
    let body = body.trim();
    if body.is_empty() && !has_photos {
        return Err(WebError::BadRequest("Tin nhắn trống".into()));
    }
    if body.chars().count() > MAX_MESSAGE_CHARS {
        return Err(WebError::BadRequest(format!(
            "Tin nhắn dài quá {MAX_MESSAGE_CHARS} ký tự"
        )));
    }
    Ok(body)
}

async fn check_flood(state: &AppState, user: Id) -> WebResult<()> {
    let now = db::now_ms();
    if state.db.messages_sent_since(user, now - 60_000).await? >= MESSAGES_PER_MINUTE
        || state
            .db
            .messages_sent_since(user, now - 24 * 3600 * 1000)
            .await?
            >= MESSAGES_PER_DAY
    {
        return Err(WebError::TooMany(
            "Bạn gửi quá nhiều tin nhắn trong thời gian ngắn. Vui lòng chờ một lát rồi gửi tiếp."
                .into(),
        ));
    }
    Ok(())
}

fn check_key(key: &str) -> WebResult<&str> {
    let key = key.trim();
    if key.is_empty() || key.len() > 64 {
        return Err(WebError::BadRequest(
            "Thiếu mã gửi tin; hãy tải lại trang".into(),
        ));
    }
    Ok(key)
}

async fn compose(
    State(state): State<AppState>,
    s: Session,
    req: axum::extract::Request,
) -> WebResult<Redirect> {
    let m = read_message(req, &state).await?;
    let p = party(&state, &s, &m.form.school, &m.form.student, &m.form.with).await?;
    let body = check_body(&m.form.body, !m.photos.is_empty())?;
    let key = check_key(&m.form.key)?;
    check_flood(&state, s.user.id).await?;
    let thread = state
        .db
        .open_thread(p.school.id, p.student.id, p.parent, p.staff)
        .await?;
    send(&state, &s, &thread, body, key, m.photos).await?;
    Ok(Redirect::to(&format!("/messages/{}", thread.id)))
}

/// Photos allowed per message, and the size of each.
const MAX_PHOTOS: usize = 4;
const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;

/// A checked photo: bytes, content type, file extension.
type Photo = (Vec<u8>, &'static str, &'static str);

/// A message as posted: the form fields and the photos (checked to be images).
struct MessageInput {
    form: MessageForm,
    photos: Vec<Photo>,
}

/// Reads a message from a plain form or, with photos, a multipart form.
async fn read_message(req: axum::extract::Request, state: &AppState) -> WebResult<MessageInput> {
    use axum::extract::FromRequest;
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let Form(form) = Form::<MessageForm>::from_request(req, state).await?;
        return Ok(MessageInput {
            form,
            photos: vec![],
        });
    }
    let too_big = || {
        WebError::BadRequest(format!(
            "Tệp gửi lên quá lớn (tối đa {MAX_PHOTOS} ảnh, mỗi ảnh {} MB)",
            MAX_PHOTO_BYTES / 1024 / 1024
        ))
    };
    let mut mp = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|_| WebError::BadRequest("Biểu mẫu gửi lên không hợp lệ".into()))?;
    let mut fields = std::collections::HashMap::new();
    let mut photos = Vec::new();
    while let Some(field) = mp.next_field().await.map_err(|_| too_big())? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "photos" {
            let bytes = field.bytes().await.map_err(|_| too_big())?;
            if bytes.is_empty() {
                continue; // the file input left empty
            }
            let n = photos.len() + 1;
            if n > MAX_PHOTOS {
                return Err(WebError::BadRequest(format!(
                    "Mỗi tin nhắn gửi tối đa {MAX_PHOTOS} ảnh"
                )));
            }
            if bytes.len() > MAX_PHOTO_BYTES {
                return Err(WebError::BadRequest(format!(
                    "Ảnh thứ {n} lớn quá {} MB",
                    MAX_PHOTO_BYTES / 1024 / 1024
                )));
            }
            let (ctype, ext) = media::sniff_image(&bytes).ok_or_else(|| {
                WebError::BadRequest(format!("Tệp thứ {n} không phải ảnh JPEG, PNG hoặc WebP"))
            })?;
            photos.push((bytes.to_vec(), ctype, ext));
        } else {
            let text = field.text().await.map_err(|_| too_big())?;
            fields.insert(name, text);
        }
    }
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    Ok(MessageInput {
        form: MessageForm {
            school: get("school"),
            student: get("student"),
            with: get("with"),
            body: get("body"),
            key: get("key"),
        },
        photos,
    })
}

async fn send(
    state: &AppState,
    s: &Session,
    thread: &Thread,
    body: &str,
    key: &str,
    photos: Vec<Photo>,
) -> WebResult<()> {
    if thread.blocked {
        return Err(WebError::Conflict(
            "Nhà trường đã tạm khoá cuộc trao đổi này.".into(),
        ));
    }
    // Files first, then the message and its attachment rows in one transaction: a message
    // never points at a missing photo.
    let mut stored = Vec::new();
    for (bytes, ctype, ext) in photos {
        let storage_key = format!(
            "messages/{}/{}.{ext}",
            thread.school_id,
            uuid::Uuid::now_v7()
        );
        let size = bytes.len() as i64;
        state
            .storage
            .put(&storage_key, bytes)
            .await
            .map_err(|e| WebError::Internal(e.into()))?;
        stored.push(db::family::NewAttachment {
            storage_key,
            content_type: ctype.to_owned(),
            size,
        });
    }
    let (_, created) = state
        .db
        .post_message(thread, s.user.id, body, key, &stored)
        .await?;
    if !created {
        // A retried send: the first one already has its photos.
        for a in &stored {
            let _ = state.storage.delete(&a.storage_key).await;
        }
    }
    Ok(())
}

async fn photo(
    State(state): State<AppState>,
    s: Session,
    Path((id, photo)): Path<(Id, Id)>,
) -> WebResult<Response> {
    thread_for(&state, &s, id).await?;
    let a = match state.db.attachment(photo).await {
        Ok(a) if a.thread_id == id => a,
        Ok(_) | Err(db::DbError::NotFound) => return Err(WebError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let bytes = state
        .storage
        .get(&a.storage_key)
        .await
        .map_err(|e| WebError::Internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, a.content_type),
            (header::CACHE_CONTROL, "private, max-age=86400".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "thread.html")]
struct ThreadPage {
    ctx: Ctx,
    photos: Vec<db::family::Attachment>,
    thread: Thread,
    title: String,
    messages: Vec<MessageView>,
    me: Id,
    seen_by_other: bool,
    participant: bool,
    key: String,
}

impl ThreadPage {
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
}

/// Loads a conversation the actor takes part in, or moderates.
async fn thread_for(state: &AppState, s: &Session, id: Id) -> WebResult<(Thread, bool)> {
    let thread = match state.db.thread(id).await {
        Ok(t) => t,
        Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    let participant = thread.parent_id == s.user.id || thread.staff_user_id == s.user.id;
    if !participant {
        let school = state.db.school(thread.school_id).await?;
        s.require(Action::ModerateSchool, Target::School(&school.as_ref()))?;
    }
    Ok((thread, participant))
}

async fn thread_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Html<String>> {
    let (thread, participant) = thread_for(&state, &s, id).await?;
    let student = state
        .db
        .student(thread.school_id, thread.student_id, None)
        .await?;
    let other = if thread.parent_id == s.user.id {
        thread.staff_user_id
    } else {
        thread.parent_id
    };
    let other_name = state.db.user(other).await?.full_name;
    let messages = state.db.messages(id).await?;
    let last_mine = messages
        .iter()
        .rev()
        .find(|m| m.sender_id == s.user.id)
        .map(|m| m.created_at);
    let seen_by_other = match (last_mine, state.db.thread_read_at(id, other).await?) {
        (Some(sent), Some(read)) => read >= sent,
        _ => false,
    };
    if participant {
        state.db.mark_thread_read(&thread, s.user.id).await?;
        state
            .db
            .read_notifications_for(s.user.id, &format!("/messages/{id}"))
            .await?;
    }
    render(&ThreadPage {
        photos: state.db.thread_attachments(id).await?,
        ctx: Ctx::new(&s, other_name.clone()),
        title: format!("{other_name} · {}", student.full_name),
        thread,
        messages,
        me: s.user.id,
        seen_by_other,
        participant,
        key: uuid::Uuid::new_v4().to_string(),
    })
}

async fn reply(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    req: axum::extract::Request,
) -> WebResult<Redirect> {
    let (thread, participant) = thread_for(&state, &s, id).await?;
    if !participant {
        return Err(WebError::Forbidden);
    }
    let m = read_message(req, &state).await?;
    let body = check_body(&m.form.body, !m.photos.is_empty())?;
    let key = check_key(&m.form.key)?;
    check_flood(&state, s.user.id).await?;
    send(&state, &s, &thread, body, key, m.photos).await?;
    Ok(Redirect::to(&format!("/messages/{id}")))
}

async fn report(
    State(state): State<AppState>,
    s: Session,
    Path((id, message)): Path<(Id, Id)>,
) -> WebResult<Redirect> {
    let (thread, participant) = thread_for(&state, &s, id).await?;
    if !participant {
        return Err(WebError::Forbidden);
    }
    state.db.report_message(&thread, message, s.user.id).await?;
    Ok(Redirect::to(&format!("/messages/{id}?reported=1")))
}

#[derive(Template)]
#[template(path = "moderation.html")]
struct ModerationPage {
    ctx: Ctx,
    school: School,
    reported: Vec<ReportedMessage>,
}

impl ModerationPage {
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
}

async fn moderation_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::ModerateSchool).await?;
    render(&ModerationPage {
        ctx: Ctx::new(&s, s.lang.t("nav-moderation"))
            .with_notice(saved_notice(q.ok.as_deref(), s.lang))
            .with_help("phu-huynh"),
        reported: state.db.reported_messages(id).await?,
        school,
    })
}

/// A moderation decision.
#[derive(Deserialize)]
pub struct ModerateForm {
    action: String,
}

async fn moderate_message(
    State(state): State<AppState>,
    s: Session,
    Path((id, message)): Path<(Id, Id)>,
    Form(f): Form<ModerateForm>,
) -> WebResult<Redirect> {
    school_for(&state, &s, id, Action::ModerateSchool).await?;
    let hide = match f.action.as_str() {
        "hide" => true,
        "show" => false,
        _ => return Err(WebError::BadRequest("Thao tác không hợp lệ".into())),
    };
    state
        .db
        .set_message_hidden(id, message, hide, s.user.id)
        .await?;
    Ok(Redirect::to(&format!("/schools/{id}/moderation?ok=1")))
}

async fn moderate_thread(
    State(state): State<AppState>,
    s: Session,
    Path((id, thread)): Path<(Id, Id)>,
    Form(f): Form<ModerateForm>,
) -> WebResult<Redirect> {
    school_for(&state, &s, id, Action::ModerateSchool).await?;
    let block = match f.action.as_str() {
        "block" => true,
        "unblock" => false,
        _ => return Err(WebError::BadRequest("Thao tác không hợp lệ".into())),
    };
    state
        .db
        .set_thread_blocked(id, thread, block, s.user.id)
        .await?;
    Ok(Redirect::to(&format!("/schools/{id}/moderation?ok=1")))
}

// ----- inbox -----

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    ctx: Ctx,
    items: Vec<Notification>,
}

impl InboxPage {
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
}

async fn inbox_page(State(state): State<AppState>, s: Session) -> WebResult<Html<String>> {
    render(&InboxPage {
        ctx: Ctx::new(&s, s.lang.t("nav-inbox")),
        items: state.db.notifications(s.user.id, 100).await?,
    })
}

async fn open_notification(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Redirect> {
    let link = match state.db.open_notification(s.user.id, id).await {
        Ok(l) => l,
        Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    // Links are made by lophoc itself; never follow anything that leaves the site.
    let link = if link.starts_with('/') && !link.starts_with("//") {
        link
    } else {
        "/".into()
    };
    Ok(Redirect::to(&link))
}

async fn read_all(State(state): State<AppState>, s: Session) -> WebResult<Redirect> {
    state.db.read_all_notifications(s.user.id).await?;
    Ok(Redirect::to("/inbox"))
}

// ----- preferences -----

#[derive(Template)]
#[template(path = "notify_prefs.html")]
struct PrefsPage {
    ctx: Ctx,
    prefs: db::family::Prefs,
    email: String,
    phone: String,
    hours: Vec<u8>,
    devices: usize,
    staff: bool,
    office_hours: String,
    parent: bool,
    digest: bool,
}

async fn prefs_page(
    State(state): State<AppState>,
    s: Session,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    render(&PrefsPage {
        ctx: Ctx::new(&s, s.lang.t("prefs-title"))
            .with_notice(saved_notice(q.ok.as_deref(), s.lang))
            .with_help("phu-huynh"),
        prefs: state.db.prefs(s.user.id).await?,
        email: s.user.email.clone().unwrap_or_default(),
        phone: s.user.phone.clone().unwrap_or_default(),
        hours: (0..24).collect(),
        devices: state.db.push_subscriptions(s.user.id).await?.len(),
        staff: is_staff(&s),
        office_hours: state.db.office_hours(s.user.id).await?,
        parent: s.actor.has_role(domain::auth::Role::Parent),
        digest: state.db.wants_digest(s.user.id).await?,
    })
}

/// The preferences form.
#[derive(Deserialize)]
pub struct PrefsForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    by_email: Option<String>,
    #[serde(default)]
    by_zalo: Option<String>,
    quiet_start: u8,
    quiet_end: u8,
    #[serde(default)]
    office_hours: Option<String>,
    #[serde(default)]
    digest: Option<String>,
}

fn is_staff(s: &Session) -> bool {
    s.actor.grants.iter().any(|g| {
        matches!(
            g.role,
            domain::auth::Role::Teacher
                | domain::auth::Role::GroupHead
                | domain::auth::Role::Principal
                | domain::auth::Role::SchoolAdmin
        )
    })
}

async fn save_prefs(
    State(state): State<AppState>,
    s: Session,
    Form(f): Form<PrefsForm>,
) -> WebResult<Redirect> {
    if f.quiet_start > 23 || f.quiet_end > 23 {
        return Err(WebError::BadRequest("Giờ yên lặng phải từ 0 đến 23".into()));
    }
    let email = f.email.trim().to_lowercase();
    if !email.is_empty()
        && (!email.contains('@') || email.len() > 200 || email.contains(char::is_whitespace))
    {
        return Err(WebError::BadRequest(format!(
            "Email \"{email}\" không hợp lệ"
        )));
    }
    state
        .db
        .set_email(s.user.id, Some(email.as_str()).filter(|e| !e.is_empty()))
        .await?;
    state
        .db
        .set_prefs(
            s.user.id,
            db::family::Prefs {
                email: f.by_email.is_some(),
                zalo: f.by_zalo.is_some(),
                quiet_start: f.quiet_start,
                quiet_end: f.quiet_end,
            },
        )
        .await?;
    if s.actor.has_role(domain::auth::Role::Parent) {
        state.db.set_digest(s.user.id, f.digest.is_some()).await?;
    }
    if let Some(text) = f.office_hours.filter(|_| is_staff(&s)) {
        let text = domain::text::normalize_spaces(&text);
        if text.chars().count() > 200 {
            return Err(WebError::BadRequest(
                "Giờ trả lời tin nhắn dài quá 200 ký tự".into(),
            ));
        }
        state.db.set_office_hours(s.user.id, &text).await?;
    }
    Ok(Redirect::to("/account/notifications?ok=1"))
}

// ----- Web Push -----

async fn push_key(
    State(state): State<AppState>,
    _s: Session,
) -> WebResult<axum::Json<serde_json::Value>> {
    let key = crate::notify::vapid_key(&state.db).await?;
    Ok(axum::Json(
        serde_json::json!({ "key": crate::notify::vapid_public(&key)? }),
    ))
}

/// A subscription as `PushSubscription.toJSON()` gives it.
#[derive(Deserialize)]
pub struct SubscriptionJson {
    endpoint: String,
    keys: SubscriptionKeys,
}

/// The keys of a subscription.
#[derive(Deserialize)]
pub struct SubscriptionKeys {
    p256dh: String,
    auth: String,
}

async fn push_subscribe(
    State(state): State<AppState>,
    s: Session,
    crate::error::Json(body): crate::error::Json<SubscriptionJson>,
) -> Result<StatusCode, crate::error::ApiError> {
    if !crate::notify::push_endpoint_ok(&body.endpoint, state.config.push_allow_insecure)
        || body.endpoint.len() > 1000
        || body.keys.p256dh.len() > 200
        || body.keys.auth.len() > 100
    {
        return Err(
            WebError::BadRequest("Địa chỉ đăng ký thông báo đẩy không hợp lệ".into()).into(),
        );
    }
    state
        .db
        .add_push_subscription(
            s.user.id,
            &db::family::PushSubscription {
                endpoint: body.endpoint,
                p256dh: body.keys.p256dh,
                auth: body.keys.auth,
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The endpoint to forget.
#[derive(Deserialize)]
pub struct UnsubscribeJson {
    endpoint: String,
}

async fn push_unsubscribe(
    State(state): State<AppState>,
    s: Session,
    crate::error::Json(body): crate::error::Json<UnsubscribeJson>,
) -> Result<StatusCode, crate::error::ApiError> {
    state
        .db
        .remove_push_subscription(Some(s.user.id), &body.endpoint)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- the child's tests -----

/// A published test of one of the child's courses, as the child's page lists it.
pub struct ChildExam {
    /// Subject.
    pub subject: String,
    /// Title.
    pub title: String,
    /// When it can be taken, `dd/mm/yyyy hh:mm – dd/mm/yyyy hh:mm`.
    pub window: String,
    /// Where the child stands: a message key (`exam-child-…`).
    pub status: &'static str,
}

/// The status key of a test for a child, from their attempts and the window.
pub fn exam_status(
    attempt_statuses: &[&str],
    opens_at: i64,
    closes_at: i64,
    now: i64,
) -> &'static str {
    if attempt_statuses.contains(&"submitted") {
        "exam-child-done"
    } else if attempt_statuses.contains(&"started") && now <= closes_at {
        "exam-child-started"
    } else if now < opens_at {
        "exam-child-upcoming"
    } else if now <= closes_at {
        "exam-child-open"
    } else {
        "exam-child-missed"
    }
}

/// The child's published tests that are still to come, open, or closed within the last week,
/// soonest first (the caller checked the reader may see the student). Scores stay on the
/// gradebook and on the exam's own result page, under the exam's release rule.
pub async fn child_exams(state: &AppState, student: &Student) -> WebResult<Vec<ChildExam>> {
    let now = db::now_ms();
    let week = 7 * 86_400_000;
    let mut out = Vec::new();
    for course in state.db.student_courses(student.id).await? {
        for e in state.db.course_exams(course.school_id, course.id).await? {
            if e.status != "published" || e.settings.closes_at < now - week {
                continue;
            }
            let attempts = match student.user_id {
                Some(u) => state.db.user_attempts(&e, u).await?,
                None => vec![],
            };
            let statuses: Vec<&str> = attempts.iter().map(|a| a.status.as_str()).collect();
            out.push((
                e.settings.opens_at,
                ChildExam {
                    subject: course.subject_name.clone(),
                    status: exam_status(&statuses, e.settings.opens_at, e.settings.closes_at, now),
                    window: format!(
                        "{} – {}",
                        format_ms(e.settings.opens_at),
                        format_ms(e.settings.closes_at)
                    ),
                    title: e.settings.title,
                },
            ));
        }
    }
    out.sort_by_key(|(at, _)| *at);
    Ok(out.into_iter().map(|(_, e)| e).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_childs_test_is_upcoming_open_done_or_missed() {
        let (opens, closes) = (1_000, 2_000);
        assert_eq!(exam_status(&[], opens, closes, 500), "exam-child-upcoming");
        assert_eq!(exam_status(&[], opens, closes, 1_500), "exam-child-open");
        assert_eq!(
            exam_status(&["ready"], opens, closes, 1_500),
            "exam-child-open"
        );
        assert_eq!(
            exam_status(&["started"], opens, closes, 1_500),
            "exam-child-started"
        );
        assert_eq!(
            exam_status(&["started", "submitted"], opens, closes, 2_500),
            "exam-child-done"
        );
        assert_eq!(exam_status(&[], opens, closes, 2_500), "exam-child-missed");
        assert_eq!(
            exam_status(&["started"], opens, closes, 2_500),
            "exam-child-missed"
        );
    }

    #[test]
    fn codes_read_the_same_however_they_are_typed() {
        assert_eq!(normalize_code(" abcd-efgh "), "ABCDEFGH");
        let c = new_code();
        assert_eq!(c.len(), 9);
        assert_eq!(normalize_code(&c).len(), 8);
    }
}
