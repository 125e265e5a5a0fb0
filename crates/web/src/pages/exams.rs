//! Online exams of a course: the teacher builds one from a question bank (fixed questions or a
//! matrix), publishes it — which pre-generates every student's attempt with their own shuffled
//! paper — and students take it on a phone. The delivery path is built for the synchronised
//! start of a whole school:
//!
//! - starting is one conditional `UPDATE` of a pre-generated row (idempotent), after one
//!   session read; the exam itself is cached for a second;
//! - each answer is an `INSERT … ON CONFLICT DO UPDATE … WHERE excluded.seq > seq` carrying an
//!   idempotency key, so retries and late duplicates change nothing; the same statement checks
//!   the session, and saves arriving together share it and its commit (`db::exams::SaveQueue`),
//!   acknowledged only once committed;
//! - the deadline is the server's; an attempt past it counts as submitted whenever it is read,
//!   and a background sweep (started on first use) marks it.
//!
//! Then: automatic marking, an essay queue, regrading after a key fix, results with the
//! integrity log and Excel export, item analysis, and posting to the gradebook.

use super::learning::{Access, course_for};
use crate::AppState;
use crate::auth::{SESSION_COOKIE, Session, cookie, token_hash};
use crate::error::{ApiError, Form, Json, WebError, WebResult};
use crate::view::{Ctx, format_ms, render};
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use db::exams::{
    AnswerSave, Attempt, ExamRow, ExamSettings, NewAttempt, NewBankQuestion, SaveOutcome,
};
use db::learning::Course;
use domain::Id;
use domain::auth::Role;
use exam::model::{CognitiveLevel, Exam, Question, QuestionKind, Section, ShortKey};
use exam::scoring::Response as Answer;
use exam::shuffle::{MatrixRow, ShuffleOptions, VariantItem};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Saves arriving this long after the deadline are still accepted: they left the browser in
/// time and were delayed by the network.
pub const GRACE_MS: i64 = 5_000;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/courses/{id}/exams", get(list).post(create))
        .route("/courses/{id}/exams/sample-bank", post(sample_bank))
        .route("/exams/{id}", get(exam_page))
        .route("/exams/{id}/publish", post(publish))
        .route("/exams/{id}/settings", post(edit_settings))
        .route("/exams/{id}/assets/{asset}", get(exam_asset))
        .route("/exams/{id}/force-majeure", post(force_majeure))
        .route("/exams/{id}/start", post(start))
        .route("/exams/{id}/results", get(results))
        .route("/exams/{id}/paper.docx", get(paper_versions))
        .route("/exams/{id}/analysis", get(analysis))
        .route("/exams/{id}/grading", get(grading))
        .route("/exams/{id}/key", post(fix_key))
        .route("/exams/{id}/gradebook", post(to_gradebook))
        .route("/attempts/{id}", get(attempt_page))
        .route("/attempts/{id}/state", get(attempt_state))
        .route("/attempts/{id}/answers", post(save))
        .route("/attempts/{id}/events", post(event))
        .route("/attempts/{id}/submit", post(submit))
        .route("/attempts/{id}/extra", post(extra_time))
        .route("/attempts/{id}/marks", post(marks))
        .route("/static/exam.js", get(exam_js))
}

// ----- helpers -----

fn now() -> i64 {
    db::now_ms()
}

fn client_ip(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    if state.config.trust_proxy
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
    {
        return ip;
    }
    peer.ip()
}

/// One allowed address range (computer-room mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl Cidr {
    /// Parses `192.168.1.0/24`, `10.0.0.5` or an IPv6 range.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (ip, bits) = match s.trim().split_once('/') {
            Some((ip, b)) => (
                ip.trim().parse::<IpAddr>().ok()?,
                b.trim().parse::<u8>().ok()?,
            ),
            None => {
                let ip = s.trim().parse::<IpAddr>().ok()?;
                (ip, if ip.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        (bits <= max).then_some(Cidr { net: ip, bits })
    }

    /// Whether `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - self.bits)
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - self.bits)
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Parses a CIDR list separated by commas, spaces or new lines; names the first bad entry.
pub fn parse_ranges(s: &str) -> Result<Vec<Cidr>, String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(|p| {
            Cidr::parse(p).ok_or_else(|| {
                format!("Dải địa chỉ IP \"{p}\" không hợp lệ (ví dụ 192.168.1.0/24).")
            })
        })
        .collect()
}

fn ip_allowed(ranges: &str, ip: IpAddr) -> bool {
    let r = parse_ranges(ranges).unwrap_or_default();
    r.is_empty() || r.iter().any(|c| c.contains(ip))
}

const IP_REFUSED: &str =
    "Máy của em không thuộc phòng máy được phép làm bài này. Hãy làm bài tại phòng máy của trường.";

fn deny(msg: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(format!(
            "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\"><title>Không được phép · lophoc</title>\
             <link rel=\"stylesheet\" href=\"/static/app.css\"><main data-page=\"error\"><h1>Không được phép</h1>\
             <p class=\"flash flash-error\" role=\"alert\">{msg}</p><p><a href=\"/\">Trang chủ</a></p></main></html>"
        )),
    )
        .into_response()
}

/// The query of the paper downloads (`paper.docx`, `paper.pdf`): how many versions.
#[derive(Deserialize)]
pub(crate) struct PaperQuery {
    #[serde(default)]
    pub(crate) versions: Option<u32>,
}

/// Paper tests as both downloads make them: N shuffled versions (mã đề 101, 102, …) from the
/// exam's own paper and seed, with the header of the school, exam, class and duration.
pub(crate) struct PaperVersions {
    /// How many versions.
    pub(crate) n: u32,
    /// The header printed on each version.
    pub(crate) header: exam::docx::PaperHeader,
    /// The exam's paper (the original order; the keys tables refer to it).
    pub(crate) paper: Exam,
    /// The versions, in code order.
    pub(crate) versions: Vec<exam::shuffle::Variant>,
}

/// Checks that the session teaches the exam's course and that the number of versions is 1–24,
/// then prepares the versions: the one loader of `paper.docx` and `paper.pdf`, so both files
/// always hold the same versions and keys.
pub(crate) async fn paper_versions_of(
    state: &AppState,
    s: &Session,
    id: Id,
    q: &PaperQuery,
) -> WebResult<PaperVersions> {
    let (e, course, access) = exam_for(state, s, id).await?;
    require_teach(&access)?;
    let n = q.versions.unwrap_or(4);
    if !(1..=24).contains(&n) {
        return Err(WebError::BadRequest(format!(
            "Số mã đề {n} không hợp lệ: chọn từ 1 đến 24."
        )));
    }
    let paper = paper_of(&e)?;
    let codes: Vec<u32> = (0..n).map(|i| 101 + i).collect();
    let opts = ShuffleOptions {
        questions: true,
        options: true,
    };
    let versions = codes
        .iter()
        .map(|c| drawn_variant(&e, &paper, e.seed as u64, *c, opts))
        .collect::<WebResult<Vec<_>>>()?;
    let school = state.db.school(course.school_id).await?;
    let header = exam::docx::PaperHeader {
        school: school.name.to_uppercase(),
        title: e.settings.title.to_uppercase(),
        subject: format!("Môn: {} – lớp {}", course.subject_name, course.class_name),
        minutes: u32::try_from(e.settings.duration_min).unwrap_or(45),
    };
    Ok(PaperVersions {
        n,
        header,
        paper,
        versions,
    })
}

/// Paper tests: N shuffled versions (mã đề 101, 102, …) in one Word file, each with its bubble
/// answer sheet and answer key, from the exam's own paper and seed.
async fn paper_versions(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<PaperQuery>,
) -> WebResult<Response> {
    let p = paper_versions_of(&state, &s, id, &q).await?;
    let bytes = exam::docx::paper_docx(&p.header, &p.paper, &p.versions);
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                    .to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"de-kiem-tra-{}-ma-de.docx\"", p.n),
            ),
        ],
        bytes,
    )
        .into_response())
}

pub(crate) fn paper_of(e: &ExamRow) -> WebResult<Exam> {
    serde_json::from_str(&e.paper).map_err(|err| WebError::Internal(err.into()))
}

fn items_of(a: &Attempt) -> WebResult<Vec<VariantItem>> {
    serde_json::from_str(&a.variant).map_err(|err| WebError::Internal(err.into()))
}

fn paper_questions(p: &Exam) -> &[Question] {
    p.sections.first().map_or(&[][..], |s| &s.questions[..])
}

fn e4(v: f64) -> i64 {
    (v * 10_000.0).round() as i64
}

fn points(e4: i64) -> String {
    exam::model::format_number(e4 as f64 / 10_000.0)
}

fn released(policy: &str, closes_at: i64) -> bool {
    policy == "immediately" || (policy == "after_close" && now() > closes_at)
}

fn kind_label(k: &QuestionKind) -> &'static str {
    match k {
        QuestionKind::SingleChoice { .. } => "Một lựa chọn",
        QuestionKind::MultipleResponse { .. } => "Nhiều lựa chọn",
        QuestionKind::TrueFalseCluster { .. } => "Đúng/Sai",
        QuestionKind::ShortAnswer { .. } => "Trả lời ngắn",
        QuestionKind::Essay { .. } => "Tự luận",
    }
}

fn kind_code(k: &QuestionKind) -> &'static str {
    match k {
        QuestionKind::SingleChoice { .. } => "single_choice",
        QuestionKind::MultipleResponse { .. } => "multiple_response",
        QuestionKind::TrueFalseCluster { .. } => "true_false",
        QuestionKind::ShortAnswer { .. } => "short_answer",
        QuestionKind::Essay { .. } => "essay",
    }
}

fn level_code(l: CognitiveLevel) -> &'static str {
    match l {
        CognitiveLevel::NhanBiet => "nhan_biet",
        CognitiveLevel::ThongHieu => "thong_hieu",
        CognitiveLevel::VanDung => "van_dung",
        CognitiveLevel::VanDungCao => "van_dung_cao",
    }
}

/// The bank row of a question (for sample banks, tests and the benchmark).
pub fn bank_row(q: &Question) -> NewBankQuestion {
    let mut text = q.stem.as_str().to_owned();
    if let Some(opts) = q.kind.options() {
        for o in opts {
            text.push(' ');
            text.push_str(o.as_str());
        }
    }
    NewBankQuestion {
        kind: kind_code(&q.kind).into(),
        body: serde_json::to_string(q).unwrap_or_default(),
        text_folded: domain::text::fold(&text),
        topic: q.meta.topic.clone().unwrap_or_default(),
        level: q.meta.level.map(level_code).unwrap_or("").into(),
    }
}

fn is_principal(s: &Session, school_id: Id) -> bool {
    s.actor
        .grants
        .iter()
        .any(|g| g.school_id == Some(school_id) && g.role == Role::Principal)
}

/// The exam with its course and the reader's relation to it.
pub(crate) async fn exam_for(
    state: &AppState,
    s: &Session,
    id: Id,
) -> WebResult<(ExamRow, Course, Access)> {
    ensure_sweeper(state);
    let e = match state.db.exam(id).await {
        Ok(e) => e,
        Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
        Err(err) => return Err(err.into()),
    };
    let (course, _, access) = course_for(state, s, e.course_id).await?;
    Ok((e, course, access))
}

pub(crate) fn require_teach(a: &Access) -> WebResult<()> {
    if a.teaches() {
        Ok(())
    } else {
        Err(WebError::Forbidden)
    }
}

// ----- the student's paper -----

/// What a save checks a response against, per displayed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Single(usize),
    Multi(usize),
    TrueFalse(usize),
    Short,
    Essay,
}

fn shape(q: &Question) -> Shape {
    match &q.kind {
        QuestionKind::SingleChoice { options, .. } => Shape::Single(options.len()),
        QuestionKind::MultipleResponse { options, .. } => Shape::Multi(options.len()),
        QuestionKind::TrueFalseCluster { statements } => Shape::TrueFalse(statements.len()),
        QuestionKind::ShortAnswer { .. } => Shape::Short,
        QuestionKind::Essay { .. } => Shape::Essay,
    }
}

fn check_response(s: Shape, r: &Answer) -> Result<(), String> {
    let ok = match (s, r) {
        (Shape::Single(n), Answer::SingleChoice(c)) => *c < n,
        (Shape::Multi(n), Answer::MultipleResponse(cs)) => cs.iter().all(|c| *c < n),
        (Shape::TrueFalse(n), Answer::TrueFalse(v)) => v.len() == n,
        (Shape::Short, Answer::ShortAnswer(t)) => t.chars().count() <= 200,
        (Shape::Essay, Answer::Essay(t)) => t.chars().count() <= 20_000,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err("Bài làm không hợp lệ: câu trả lời không khớp với câu hỏi (phương án không tồn tại hoặc sai kiểu).".into())
    }
}

/// What the save path keeps in memory per attempt: the paper never changes shape once
/// published, so a save costs one statement, not a read of the whole paper.
#[derive(Debug)]
struct Head {
    exam_id: Id,
    school_id: Id,
    user_id: Option<Id>,
    shapes: Vec<Shape>,
    ranges: String,
    /// The session and address last seen on this attempt, for the integrity log.
    last: Mutex<Option<(String, String)>>,
}

fn heads() -> &'static Mutex<HashMap<Id, Arc<Head>>> {
    static H: OnceLock<Mutex<HashMap<Id, Arc<Head>>>> = OnceLock::new();
    H.get_or_init(Default::default)
}

async fn head(state: &AppState, id: Id) -> WebResult<Arc<Head>> {
    if let Some(h) = heads().lock().expect("heads").get(&id) {
        return Ok(h.clone());
    }
    let h = state.db.attempt_head(id).await?;
    let (e, _) = cached_exam(state, h.exam_id).await?;
    remember_head(id, &e, h)
}

/// Puts what the save path needs of an attempt in the cache (at start, or at the first save).
fn remember_head(id: Id, e: &ExamRow, h: db::exams::AttemptHead) -> WebResult<Arc<Head>> {
    let items: Vec<VariantItem> =
        serde_json::from_str(&h.variant).map_err(|e| WebError::Internal(e.into()))?;
    let head = Arc::new(Head {
        exam_id: h.exam_id,
        school_id: h.school_id,
        user_id: h.user_id,
        shapes: items.iter().map(|i| shape(&i.question)).collect(),
        ranges: e.settings.ip_ranges.clone(),
        last: Mutex::new(None),
    });
    let mut map = heads().lock().expect("heads");
    if map.len() > 200_000 {
        map.clear();
    }
    Ok(map.entry(id).or_insert(head).clone())
}

/// An exam as the hot paths (start, submit) read it: the row and its parsed paper.
struct Cached {
    at: std::time::Instant,
    exam: Arc<ExamRow>,
    paper: Arc<Exam>,
}

/// How long a cached exam is used without reading it again. Changes made through this process
/// drop it at once ([`forget_exam`]); another process's change is seen within this time.
const EXAM_CACHE: Duration = Duration::from_secs(1);

fn exams_cache() -> &'static Mutex<HashMap<Id, Cached>> {
    static C: OnceLock<Mutex<HashMap<Id, Cached>>> = OnceLock::new();
    C.get_or_init(Default::default)
}

/// The exam and its paper, read at most once a second: a synchronised start of a whole
/// school reads it a handful of times, not once per student.
async fn cached_exam(state: &AppState, id: Id) -> WebResult<(Arc<ExamRow>, Arc<Exam>)> {
    if let Some(c) = exams_cache().lock().expect("exams").get(&id)
        && c.at.elapsed() < EXAM_CACHE
    {
        return Ok((c.exam.clone(), c.paper.clone()));
    }
    let e = state.db.exam(id).await?;
    let paper = Arc::new(paper_of(&e)?);
    let exam = Arc::new(e);
    let mut map = exams_cache().lock().expect("exams");
    if map.len() > 10_000 {
        map.retain(|_, c| c.at.elapsed() < EXAM_CACHE);
    }
    map.insert(
        id,
        Cached {
            at: std::time::Instant::now(),
            exam: exam.clone(),
            paper: paper.clone(),
        },
    );
    Ok((exam, paper))
}

/// Drops what this process keeps of an exam after a change (settings, key, publication).
fn forget_exam(id: Id) {
    exams_cache().lock().expect("exams").remove(&id);
    // The save path keeps the exam's address ranges per attempt.
    heads()
        .lock()
        .expect("heads")
        .retain(|_, h| h.exam_id != id);
}

/// Logs a second session or an address change on an attempt (once per change).
async fn watch(state: &AppState, attempt: Id, h: &Head, session: &str, ip: &str) {
    let change = {
        let mut last = h.last.lock().expect("last");
        let change = match last.as_ref() {
            None => None,
            Some((s, i)) if s != session => {
                Some(("second_session", format!("phiên khác (trước đó từ {i})")))
            }
            Some((_, i)) if i != ip => Some(("ip_change", format!("{i} → {ip}"))),
            _ => None,
        };
        *last = Some((session.to_owned(), ip.to_owned()));
        change
    };
    if let Some((kind, detail)) = change
        && let Err(e) = state
            .db
            .log_exam_event(h.school_id, h.exam_id, attempt, kind, &detail, ip)
            .await
    {
        tracing::warn!(error = %e, "integrity event not logged");
    }
}

/// One version of the exam from `seed`: for a matrix exam, its own draw from the pool first
/// (so each student, and each printed mã đề, gets different questions of the same matrix);
/// then the shuffles. Items point at the question's index in the whole paper.
fn drawn_variant(
    e: &ExamRow,
    paper: &Exam,
    seed: u64,
    code: u32,
    opts: ShuffleOptions,
) -> WebResult<exam::shuffle::Variant> {
    if e.settings.mode != "matrix" {
        return Ok(exam::shuffle::make_variant(paper, seed, code, opts));
    }
    let pool = paper_questions(paper);
    let rows: Vec<MatrixRow> =
        serde_json::from_str(&e.settings.spec).map_err(|x| WebError::Internal(x.into()))?;
    let picked = exam::shuffle::draw(pool, &rows, exam::shuffle::mix(seed, u64::from(code)))
        .map_err(|x| WebError::BadRequest(x.to_string()))?;
    let sub = Exam {
        title: paper.title.clone(),
        sections: vec![Section {
            title: paper
                .sections
                .first()
                .map(|s| s.title.clone())
                .unwrap_or_default(),
            questions: picked.iter().map(|i| pool[*i].clone()).collect(),
        }],
        ..Exam::default()
    };
    let mut v = exam::shuffle::make_variant(&sub, seed, code, opts);
    for it in v.sections.iter_mut().flatten() {
        it.original = picked[it.original];
    }
    Ok(v)
}

fn make_attempt(
    e: &ExamRow,
    paper: &Exam,
    student: Id,
    user: Option<Id>,
    attempt_no: i64,
) -> WebResult<NewAttempt> {
    let seed = exam::shuffle::student_seed(
        e.seed as u64 ^ (attempt_no as u64).wrapping_mul(0x9E37_79B9),
        &student.to_string(),
    );
    let opts = ShuffleOptions {
        questions: e.settings.shuffle_questions,
        options: e.settings.shuffle_options,
    };
    let v = drawn_variant(e, paper, seed, 1, opts)?;
    let items: Vec<VariantItem> = v.sections.into_iter().flatten().collect();
    Ok(NewAttempt {
        student_id: student,
        user_id: user,
        attempt_no,
        variant: serde_json::to_string(&items).map_err(|x| WebError::Internal(x.into()))?,
    })
}

// ----- marking -----

fn manual_of(a: &Attempt) -> BTreeMap<String, Vec<f64>> {
    serde_json::from_str(&a.manual).unwrap_or_default()
}

fn rubric_of(q: &Question) -> Vec<(String, f64)> {
    match &q.kind {
        QuestionKind::Essay { rubric } if !rubric.is_empty() => rubric
            .iter()
            .map(|c| (c.description.clone(), c.max_points))
            .collect(),
        _ => vec![("Điểm".into(), q.points)],
    }
}

/// Marks an attempt from its saved answers and the exam's current paper; returns the marks
/// stored.
async fn grade(state: &AppState, a: &Attempt, paper: &Exam) -> WebResult<db::exams::Marks> {
    let items = items_of(a)?;
    let answers: HashMap<i64, Answer> = state
        .db
        .answers(a.id)
        .await?
        .into_iter()
        .filter_map(|w| Some((w.item, serde_json::from_str(&w.response).ok()?)))
        .collect();
    let manual = manual_of(a);
    let qs = paper_questions(paper);
    let (mut total, mut max, mut pending) = (0.0, 0.0, 0);
    let mut per = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let Some(q) = qs.get(it.original) else {
            per.push(None);
            continue;
        };
        max += q.points;
        let resp = answers
            .get(&(i as i64))
            .and_then(|r| it.to_original(r).ok());
        let s = match exam::scoring::score(q, resp.as_ref()) {
            Ok(Some(v)) => Some(v),
            Ok(None) => match manual.get(&i.to_string()) {
                Some(m) => Some(
                    m.iter()
                        .zip(rubric_of(q))
                        .map(|(v, (_, mx))| v.clamp(0.0, mx))
                        .sum::<f64>()
                        .min(q.points.max(0.0)),
                ),
                None if resp.is_none() => Some(0.0),
                None => {
                    pending += 1;
                    None
                }
            },
            Err(_) => Some(0.0),
        };
        if let Some(v) = s {
            total += v;
        }
        per.push(s);
    }
    let marks = db::exams::Marks {
        score_e4: e4(total),
        max_e4: e4(max),
        per_item: serde_json::to_string(&per).unwrap_or_else(|_| "[]".into()),
        manual_pending: pending,
    };
    state.db.set_attempt_marks(a.id, &marks).await?;
    Ok(marks)
}

/// Submits (if still open) and marks an attempt; used on submission, on reading an expired
/// attempt, and by the sweep. Reads the attempt once; what the submission and the marks change
/// is applied to it in memory.
async fn finalize(state: &AppState, id: Id) -> WebResult<Attempt> {
    let mut a = state.db.attempt(id).await?;
    let t = now();
    if a.status == "submitted" && a.graded_at.is_some() {
        return Ok(a);
    }
    if a.status == "started" {
        if state.db.submit_attempt(id, t).await? {
            a.status = "submitted".into();
            a.submitted_at = Some(a.deadline_at.map_or(t, |d| d.min(t)));
        } else {
            // Changed meanwhile (a second tab, the sweep): as it is now.
            a = state.db.attempt(id).await?;
        }
    }
    if a.status == "submitted" {
        let (_, paper) = cached_exam(state, a.exam_id).await?;
        let m = grade(state, &a, &paper).await?;
        a.score_e4 = Some(m.score_e4);
        a.max_e4 = Some(m.max_e4);
        a.per_item = m.per_item;
        a.manual_pending = m.manual_pending;
        a.graded_at = Some(now());
    }
    Ok(a)
}

/// Reads an attempt, finishing it first if its deadline has passed.
async fn read_attempt(state: &AppState, id: Id) -> WebResult<Attempt> {
    let a = state.db.attempt(id).await?;
    let t = now();
    if (a.status == "started" && a.effective_status(t, GRACE_MS) == "submitted")
        || (a.status == "submitted" && a.graded_at.is_none())
    {
        return finalize(state, id).await;
    }
    Ok(a)
}

/// Starts, once per application, the sweep that submits and marks overdue attempts.
fn ensure_sweeper(state: &AppState) {
    static STARTED: OnceLock<Mutex<HashSet<usize>>> = OnceLock::new();
    let key = Arc::as_ptr(&state.config) as usize;
    let mut set = STARTED
        .get_or_init(Default::default)
        .lock()
        .expect("sweepers");
    if !set.insert(key) {
        return;
    }
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let state = state.clone();
    rt.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        loop {
            tick.tick().await;
            sweep(&state).await;
        }
    });
}

/// Submits and marks every overdue attempt, and marks submitted ones left unmarked.
pub async fn sweep(state: &AppState) {
    let mut ids = state
        .db
        .overdue_attempts(now(), GRACE_MS)
        .await
        .unwrap_or_default();
    ids.extend(state.db.ungraded_attempts().await.unwrap_or_default());
    for id in ids {
        if let Err(e) = finalize(state, id).await {
            tracing::warn!(attempt = %id, error = %e, "exam sweep failed");
        }
    }
}

// ----- teacher: list, create -----

struct ExamLine {
    id: Id,
    title: String,
    status: String,
    opens: String,
    closes: String,
    kind: String,
}

fn line(e: &ExamRow) -> ExamLine {
    ExamLine {
        id: e.id,
        title: e.settings.title.clone(),
        status: if e.status == "published" {
            "Đã giao".into()
        } else {
            "Bản nháp".into()
        },
        opens: format_ms(e.settings.opens_at),
        closes: format_ms(e.settings.closes_at),
        kind: if e.settings.kind == "periodic" {
            "Định kỳ".into()
        } else {
            "Thường xuyên".into()
        },
    }
}

struct BankQ {
    id: Id,
    kind: &'static str,
    stem: String,
    topic: String,
    level: String,
}

#[derive(Template)]
#[template(path = "exams.html")]
struct ListPage {
    ctx: Ctx,
    course: Course,
    teach: bool,
    exams: Vec<ExamLine>,
    banks: Vec<db::exams::BankSummary>,
    bank: Option<Id>,
    questions: Vec<BankQ>,
    /// A listed stem has an equation: the page loads the math style sheet.
    math: bool,
    opens: String,
    closes: String,
}

/// A question's stem in one line of a list, as HTML: equations drawn, images as "[hình]",
/// text cut after about `max` characters (never inside an equation). Says whether it has math.
fn stem_line(c: &exam::model::Content, max: usize) -> (String, bool) {
    use exam::model::Segment;
    let (mut out, mut len, mut math) = (String::new(), 0usize, false);
    for seg in c.segments() {
        if len >= max {
            out.push('…');
            break;
        }
        match seg {
            Segment::Text(t) => {
                let t = t.replace(['\n', '\t'], " ");
                let room = max - len;
                if t.chars().count() > room {
                    out.extend(t.chars().take(room));
                    out.push('…');
                    break;
                }
                len += t.chars().count();
                out.push_str(&t);
            }
            Segment::Math(m) => {
                math = true;
                len += m.chars().count().min(20);
                out.push('$');
                out.push_str(m);
                out.push('$');
            }
            Segment::Image(_) => {
                len += 6;
                out.push_str(" [hình] ");
            }
        }
    }
    (content_html(&exam::model::Content(out), ""), math)
}

#[derive(Deserialize)]
struct ListQuery {
    bank: Option<String>,
}

fn local_input(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).expect("offset"));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

fn parse_local(s: &str, field: &str) -> WebResult<i64> {
    let bad = || WebError::BadRequest(format!("{field} không hợp lệ (dd/mm/yyyy hh:mm)."));
    let s = s.trim();
    let (d, t) = s
        .split_once('T')
        .or_else(|| s.split_once(' '))
        .ok_or_else(bad)?;
    let dp: Vec<i64> = d
        .split('-')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<WebResult<_>>()?;
    let tp: Vec<i64> = t
        .split(':')
        .map(|x| x.parse().map_err(|_| bad()))
        .collect::<WebResult<_>>()?;
    if dp.len() != 3 || tp.len() < 2 {
        return Err(bad());
    }
    let month = time::Month::try_from(dp[1] as u8).map_err(|_| bad())?;
    let date =
        time::Date::from_calendar_date(dp[0] as i32, month, dp[2] as u8).map_err(|_| bad())?;
    let tm = time::Time::from_hms(tp[0] as u8, tp[1] as u8, 0).map_err(|_| bad())?;
    let odt = time::PrimitiveDateTime::new(date, tm)
        .assume_offset(time::UtcOffset::from_hms(7, 0, 0).expect("offset"));
    Ok(odt.unix_timestamp() * 1000)
}

async fn list(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<ListQuery>,
) -> WebResult<Response> {
    ensure_sweeper(&state);
    let (course, _, access) = course_for(&state, &s, id).await?;
    let teach = access.teaches();
    let exams = state
        .db
        .course_exams(course.school_id, course.id)
        .await?
        .iter()
        .filter(|e| teach || e.status == "published")
        .map(line)
        .collect();
    let (banks, bank, questions) = if teach {
        let banks = state.db.exam_banks(course.school_id, s.user.id).await?;
        let bank = q
            .bank
            .and_then(|b| Id::parse_str(&b).ok())
            .filter(|b| banks.iter().any(|x| x.id == *b))
            .or_else(|| banks.first().map(|b| b.id));
        let mut qs = Vec::new();
        if let Some(b) = bank {
            for r in state.db.exam_bank_questions(course.school_id, b).await? {
                if let Ok(q) = serde_json::from_str::<Question>(&r.body) {
                    qs.push(BankQ {
                        id: r.id,
                        kind: kind_label(&q.kind),
                        stem: stem_line(&q.stem, 120).0,
                        topic: r.topic,
                        level: q.meta.level.map(|l| l.label()).unwrap_or("").into(),
                    });
                }
            }
        }
        (banks, bank, qs)
    } else {
        (Vec::new(), None, Vec::new())
    };
    let t = now();
    Ok(render(&ListPage {
        ctx: Ctx::new(
            &s,
            format!("{} – {}", s.lang.t("exams-title"), course.class_name),
        ),
        course,
        teach,
        exams,
        banks,
        bank,
        math: questions.iter().any(|q| q.stem.contains("<math")),
        questions,
        opens: local_input(t),
        closes: local_input(t + 7 * 24 * 3600 * 1000),
    })?
    .into_response())
}

/// Creates a sample bank from the downloadable Word template, so a teacher can try an exam
/// before importing their own questions.
async fn sample_bank(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    let report = exam::docx::import(&exam::docx::template_docx())
        .map_err(|e| WebError::Internal(anyhow::anyhow!("{e}")))?;
    let rows: Vec<NewBankQuestion> = report.into_questions().iter().map(bank_row).collect();
    let bank = state
        .db
        .exam_sample_bank(course.school_id, s.user.id, "Ngân hàng mẫu", &rows)
        .await?;
    Ok(Redirect::to(&format!("/courses/{}/exams?bank={bank}", course.id)).into_response())
}

fn field<'a>(f: &'a [(String, String)], k: &str) -> &'a str {
    f.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

fn parse_matrix(text: &str) -> WebResult<Vec<MatrixRow>> {
    let mut rows = Vec::new();
    for (n, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let parts: Vec<&str> = l.split('|').map(str::trim).collect();
        let bad = || {
            WebError::BadRequest(format!(
                "Ma trận, dòng {}: cần dạng \"chủ đề | mức độ | số câu\" (ví dụ: Phân số | Nhận biết | 4).",
                n + 1
            ))
        };
        if parts.len() != 3 {
            return Err(bad());
        }
        let level = CognitiveLevel::from_label(parts[1]).ok_or_else(bad)?;
        let count: usize = parts[2].parse().map_err(|_| bad())?;
        if parts[0].is_empty() || count == 0 || count > 200 {
            return Err(bad());
        }
        rows.push(MatrixRow {
            topic: parts[0].to_owned(),
            level,
            count,
        });
    }
    if rows.is_empty() {
        return Err(WebError::BadRequest("Ma trận đề chưa có dòng nào.".into()));
    }
    Ok(rows)
}

async fn create(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    let title = exam_title(&f)?;
    let bank = super::parse_uuid(field(&f, "bank"), "Ngân hàng câu hỏi")?;
    if !state
        .db
        .exam_banks(course.school_id, s.user.id)
        .await?
        .iter()
        .any(|b| b.id == bank)
    {
        return Err(WebError::Forbidden);
    }
    let bank_qs = state.db.exam_bank_questions(course.school_id, bank).await?;
    let parsed: Vec<(Id, Question)> = bank_qs
        .iter()
        .filter_map(|r| Some((r.id, serde_json::from_str(&r.body).ok()?)))
        .collect();
    let mode = if field(&f, "mode") == "matrix" {
        "matrix"
    } else {
        "fixed"
    };
    let seed = (uuid::Uuid::now_v7().as_u128() as u64 >> 1) as i64;
    let (spec, questions) = if mode == "matrix" {
        let rows = parse_matrix(field(&f, "matrix"))?;
        let wanted: Vec<(String, CognitiveLevel)> = rows
            .iter()
            .map(|r| (domain::text::fold(&r.topic), r.level))
            .collect();
        let pool: Vec<Question> = parsed
            .into_iter()
            .map(|(_, q)| q)
            .filter(|q| {
                q.meta.level.is_some_and(|l| {
                    let t = domain::text::fold(q.meta.topic.as_deref().unwrap_or(""));
                    wanted.iter().any(|(wt, wl)| *wt == t && *wl == l)
                })
            })
            .collect();
        // Checked now, in Vietnamese, rather than at publication.
        exam::shuffle::draw(&pool, &rows, seed as u64)
            .map_err(|e| WebError::BadRequest(e.to_string()))?;
        (serde_json::to_string(&rows).unwrap_or_default(), pool)
    } else {
        let chosen: HashSet<&str> = f
            .iter()
            .filter(|(k, _)| k == "q")
            .map(|(_, v)| v.as_str())
            .collect();
        let picked: Vec<(Id, Question)> = parsed
            .into_iter()
            .filter(|(i, _)| chosen.contains(i.to_string().as_str()))
            .collect();
        if picked.is_empty() {
            return Err(WebError::BadRequest(
                "Hãy chọn ít nhất một câu hỏi cho bài kiểm tra.".into(),
            ));
        }
        let ids: Vec<String> = picked.iter().map(|(i, _)| i.to_string()).collect();
        (
            serde_json::to_string(&ids).unwrap_or_default(),
            picked.into_iter().map(|(_, q)| q).collect(),
        )
    };
    let paper = Exam {
        title: title.to_owned(),
        sections: vec![Section {
            title: String::new(),
            questions,
        }],
        ..Exam::default()
    };
    if let Err(errs) = paper.validate() {
        let msg: Vec<String> = errs.iter().take(5).map(|e| e.to_string()).collect();
        return Err(WebError::BadRequest(format!(
            "Có câu hỏi chưa dùng được: {}",
            msg.join("; ")
        )));
    }
    let settings = settings_from_form(&f, title, mode, spec)?;
    let paper_json = serde_json::to_string(&paper).map_err(|e| WebError::Internal(e.into()))?;
    let eid = state
        .db
        .create_exam(
            course.school_id,
            course.id,
            bank,
            &settings,
            &paper_json,
            seed,
            s.user.id,
        )
        .await?;
    Ok(Redirect::to(&format!("/exams/{eid}")).into_response())
}

/// The exam's name from a form: required, at most 200 characters.
fn exam_title(f: &[(String, String)]) -> WebResult<&str> {
    let title = field(f, "title");
    if title.is_empty() || title.chars().count() > 200 {
        return Err(WebError::BadRequest(
            "Chưa nhập tên bài kiểm tra (tối đa 200 ký tự).".into(),
        ));
    }
    Ok(title)
}

/// The settings a teacher fills in, checked; errors name the field.
fn settings_from_form(
    f: &[(String, String)],
    title: &str,
    mode: &str,
    spec: String,
) -> WebResult<ExamSettings> {
    let opens_at = parse_local(field(f, "opens"), "Thời gian mở")?;
    let closes_at = parse_local(field(f, "closes"), "Thời gian đóng")?;
    if closes_at <= opens_at {
        return Err(WebError::BadRequest(
            "Thời gian đóng phải sau thời gian mở.".into(),
        ));
    }
    let num = |k: &str, label: &str, lo: i64, hi: i64| -> WebResult<i64> {
        let v: i64 = field(f, k)
            .parse()
            .map_err(|_| WebError::BadRequest(format!("{label} phải là số.")))?;
        if v < lo || v > hi {
            return Err(WebError::BadRequest(format!(
                "{label} phải từ {lo} đến {hi}."
            )));
        }
        Ok(v)
    };
    let duration_min = num("duration", "Thời gian làm bài (phút)", 1, 600)?;
    let attempts_allowed = num("attempts", "Số lần làm bài", 1, 10)?;
    let ip_ranges = field(f, "ip_ranges");
    parse_ranges(ip_ranges).map_err(WebError::BadRequest)?;
    let pick = |k: &str, allowed: &[&'static str]| -> &'static str {
        let v = field(f, k);
        allowed
            .iter()
            .find(|a| **a == v)
            .copied()
            .unwrap_or(allowed[0])
    };
    Ok(ExamSettings {
        title: title.to_owned(),
        mode: mode.into(),
        spec,
        opens_at,
        closes_at,
        duration_min,
        attempts_allowed,
        access_code: field(f, "access_code").chars().take(50).collect(),
        ip_ranges: ip_ranges.to_owned(),
        shuffle_questions: !field(f, "shuffle_questions").is_empty(),
        shuffle_options: !field(f, "shuffle_options").is_empty(),
        one_per_page: field(f, "layout") == "one",
        score_release: pick("score_release", &["immediately", "after_close"]).into(),
        answer_release: pick("answer_release", &["never", "after_close"]).into(),
        kind: pick("kind", &["regular", "periodic"]).into(),
    })
}

// ----- exam page, publish, force majeure -----

#[derive(Template)]
#[template(path = "exam.html")]
struct ExamPage {
    ctx: Ctx,
    course: Course,
    e: ExamRow,
    teach: bool,
    principal: bool,
    questions: Vec<(usize, &'static str, String, String)>,
    mine: Vec<(Id, i64, String, String)>,
    can_start: bool,
    again: bool,
    opens: String,
    closes: String,
    opens_input: String,
    closes_input: String,
    fm_at: String,
}

async fn exam_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    let (e, course, access) = exam_for(&state, &s, id).await?;
    let teach = access.teaches();
    let principal = is_principal(&s, e.school_id);
    if !teach && !principal && e.status != "published" {
        return Err(WebError::Forbidden);
    }
    let paper = paper_of(&e)?;
    let questions = if teach {
        paper_questions(&paper)
            .iter()
            .enumerate()
            .map(|(i, q)| {
                (
                    i + 1,
                    kind_label(&q.kind),
                    q.stem.as_str().chars().take(160).collect(),
                    exam::shuffle::key_text(q),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut mine = Vec::new();
    let (mut can_start, mut again) = (false, false);
    if let Access::Student(_) = access {
        let t = now();
        let atts = state.db.user_attempts(&e, s.user.id).await?;
        for a in &atts {
            let st = match a.effective_status(t, GRACE_MS) {
                "ready" => "Chưa làm",
                "started" => "Đang làm",
                _ => "Đã nộp",
            };
            mine.push((
                a.id,
                a.attempt_no,
                st.to_owned(),
                a.started_at.map(format_ms).unwrap_or_default(),
            ));
        }
        let open = t >= e.settings.opens_at && t < e.settings.closes_at;
        let last_done = atts
            .last()
            .is_some_and(|a| a.effective_status(t, GRACE_MS) == "submitted");
        can_start = open && (!last_done || atts.is_empty());
        again = open && last_done && (atts.len() as i64) < e.settings.attempts_allowed;
    }
    let title = e.settings.title.clone();
    Ok(render(&ExamPage {
        ctx: Ctx::new(&s, title),
        opens: format_ms(e.settings.opens_at),
        closes: format_ms(e.settings.closes_at),
        opens_input: local_input(e.settings.opens_at),
        closes_input: local_input(e.settings.closes_at),
        fm_at: e.force_majeure_at.map(format_ms).unwrap_or_default(),
        course,
        e,
        teach,
        principal,
        questions,
        mine,
        can_start,
        again,
    })?
    .into_response())
}

/// An image of the exam's questions, for whoever may see the exam (students only once it is
/// published).
async fn exam_asset(
    State(state): State<AppState>,
    s: Session,
    headers: HeaderMap,
    Path((id, asset)): Path<(Id, String)>,
) -> WebResult<Response> {
    let (e, _, access) = exam_for(&state, &s, id).await?;
    if !access.teaches() && e.status != "published" && !is_principal(&s, e.school_id) {
        return Err(WebError::Forbidden);
    }
    let bank = state.db.bank(e.school_id, e.bank_id).await?;
    let found = state
        .db
        .bank_assets(&bank)
        .await?
        .into_iter()
        .find(|a| a.asset_id == asset)
        .ok_or(WebError::NotFound)?;
    crate::files::serve(
        &state,
        &found.storage_key,
        &found.content_type,
        &asset,
        &headers,
    )
    .await
}

/// The teacher changes an exam's settings (audited). Once published, its shuffles and kind
/// stay: the students' papers were generated with them.
async fn edit_settings(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let (e, _, access) = exam_for(&state, &s, id).await?;
    require_teach(&access)?;
    let title = exam_title(&f)?;
    let mut new = settings_from_form(&f, title, &e.settings.mode, e.settings.spec.clone())?;
    if e.status == "published" {
        new.shuffle_questions = e.settings.shuffle_questions;
        new.shuffle_options = e.settings.shuffle_options;
        new.kind = e.settings.kind.clone();
    }
    state.db.update_exam_settings(&e, &new, s.user.id).await?;
    forget_exam(id);
    Ok(Redirect::to(&format!("/exams/{id}")).into_response())
}

async fn publish(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    let (e, course, access) = exam_for(&state, &s, id).await?;
    require_teach(&access)?;
    if e.settings.kind == "periodic" && e.force_majeure.trim().is_empty() {
        return Err(WebError::Conflict(
            "Bài kiểm tra định kỳ chỉ được tổ chức trực tuyến khi hiệu trưởng ghi nhận lý do bất khả kháng (Thông tư 09, Điều 6.3).".into(),
        ));
    }
    let paper = paper_of(&e)?;
    let students = state.db.course_students(&course).await?;
    let attempts = students
        .iter()
        .map(|st| make_attempt(&e, &paper, st.student_id, st.user_id, 1))
        .collect::<WebResult<Vec<_>>>()?;
    state.db.publish_exam(&e, &attempts, s.user.id).await?;
    forget_exam(id);
    Ok(Redirect::to(&format!("/exams/{id}")).into_response())
}

#[derive(Deserialize)]
struct ReasonForm {
    reason: String,
}

async fn force_majeure(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<ReasonForm>,
) -> WebResult<Response> {
    let (e, _, _) = exam_for(&state, &s, id).await?;
    if !is_principal(&s, e.school_id) {
        return Ok(deny(
            "Chỉ hiệu trưởng được ghi nhận lý do bất khả kháng cho bài kiểm tra định kỳ trực tuyến.",
        ));
    }
    let reason = f.reason.trim();
    if reason.chars().count() < 5 || reason.chars().count() > 1000 {
        return Err(WebError::BadRequest(
            "Hãy ghi rõ lý do bất khả kháng (5–1000 ký tự).".into(),
        ));
    }
    state
        .db
        .set_exam_force_majeure(&e, reason, s.user.id)
        .await?;
    forget_exam(id);
    Ok(Redirect::to(&format!("/exams/{id}")).into_response())
}

// ----- start, take, save, submit -----

#[derive(Deserialize)]
struct StartForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    again: String,
}

async fn start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<Id>,
    Form(f): Form<StartForm>,
) -> WebResult<Response> {
    ensure_sweeper(&state);
    // The session in one read (the start of a whole school needs neither roles nor counters).
    let token = cookie(&headers, SESSION_COOKIE).ok_or(WebError::LoginRequired)?;
    let hash = token_hash(token);
    let (user, must_change) = state
        .db
        .exam_session(&hash, now())
        .await?
        .ok_or(WebError::LoginRequired)?;
    if must_change {
        return Ok(Redirect::to("/account/password").into_response());
    }
    let e = match cached_exam(&state, id).await {
        Ok((e, _)) if e.status == "published" => e,
        Ok(_) | Err(WebError::NotFound) => return Err(WebError::Forbidden),
        Err(err) => return Err(err),
    };
    let ip = client_ip(&state, &headers, peer);
    if !ip_allowed(&e.settings.ip_ranges, ip) {
        return Ok(deny(IP_REFUSED));
    }
    let t = now();
    let open = t >= e.settings.opens_at && t < e.settings.closes_at;
    let code_ok = e.settings.access_code.is_empty() || f.code.trim() == e.settings.access_code;
    if open
        && code_ok
        && let Some((aid, h)) = state
            .db
            .start_ready_attempt(&e, user, t, &hash, &ip.to_string())
            .await?
    {
        // The synchronised start: the pre-generated attempt, started in one statement; its
        // paper, returned by it, primes the save path.
        let head = remember_head(aid, &e, h)?;
        *head.last.lock().expect("last") = Some((hash, ip.to_string()));
        return Ok(Redirect::to(&format!("/attempts/{aid}")).into_response());
    }
    let mut atts = state.db.user_attempts(&e, user).await?;
    if atts.is_empty() {
        // Joined the class after publication: their paper is made now.
        let course = state.db.course(e.course_id).await?;
        let Some(student) = state.db.course_student(&course, user).await? else {
            return Err(WebError::Forbidden);
        };
        let a = make_attempt(&e, &paper_of(&e)?, student, Some(user), 1)?;
        state.db.add_attempt(&e, &a).await?;
        atts = state.db.user_attempts(&e, user).await?;
    }
    let last = atts.last().ok_or(WebError::Forbidden)?.clone();
    let last_status = last.effective_status(t, GRACE_MS).to_owned();
    if last_status == "started" {
        // A retried or second start: the same attempt.
        return Ok(Redirect::to(&format!("/attempts/{}", last.id)).into_response());
    }
    if t < e.settings.opens_at {
        return Err(WebError::Conflict(format!(
            "Bài kiểm tra mở lúc {}.",
            format_ms(e.settings.opens_at)
        )));
    }
    if t >= e.settings.closes_at {
        return Err(WebError::Conflict("Bài kiểm tra đã đóng.".into()));
    }
    if !e.settings.access_code.is_empty() && f.code.trim() != e.settings.access_code {
        return Ok(deny("Mã truy cập không đúng. Hãy hỏi thầy cô coi thi."));
    }
    let target = if last_status == "submitted" {
        if f.again.is_empty() || last.attempt_no >= e.settings.attempts_allowed {
            return Ok(Redirect::to(&format!("/attempts/{}", last.id)).into_response());
        }
        let a = make_attempt(
            &e,
            &paper_of(&e)?,
            last.student_id,
            Some(user),
            last.attempt_no + 1,
        )?;
        state.db.add_attempt(&e, &a).await?;
        state
            .db
            .user_attempts(&e, user)
            .await?
            .into_iter()
            .find(|x| x.attempt_no == last.attempt_no + 1)
            .ok_or(WebError::NotFound)?
    } else {
        last
    };
    state
        .db
        .start_attempt(target.id, user, t, &hash, &ip.to_string())
        .await?;
    Ok(Redirect::to(&format!("/attempts/{}", target.id)).into_response())
}

/// One option as the paper shows it.
struct Opt {
    value: usize,
    letter: char,
    text: String,
    checked: bool,
}

/// One statement of a true/false cluster.
struct Stmt {
    index: usize,
    letter: char,
    text: String,
    yes: bool,
    no: bool,
}

/// Question content (text with `$LaTeX$` and `{{img:ID}}`) as safe HTML: math through the
/// same renderer as lesson materials, images from `img_base/ID`. Plain text — most content —
/// skips the Markdown pass, since a paper of forty items is rendered on every reload.
pub fn content_html(c: &exam::model::Content, img_base: &str) -> String {
    use exam::model::Segment;
    let raw = c.as_str();
    if !raw.contains('$') && !raw.contains("{{img:") {
        let mut out = String::with_capacity(raw.len() + 16);
        for ch in raw.chars() {
            match ch {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
        }
        return out;
    }
    // Images are put back after the sanitizer (which keeps lesson materials free of images):
    // a private-use placeholder marks each one, and only checked ids become a URL.
    const OPEN: char = '\u{E000}';
    const CLOSE: char = '\u{E001}';
    let mut md = String::with_capacity(raw.len() * 2);
    let mut images: Vec<&str> = Vec::new();
    for seg in c.segments() {
        match seg {
            Segment::Text(t) => {
                for ch in t.chars() {
                    match ch {
                        '\n' => md.push_str("  \n"),
                        OPEN | CLOSE => {}
                        c if c.is_ascii_punctuation() => {
                            md.push('\\');
                            md.push(c);
                        }
                        c => md.push(c),
                    }
                }
            }
            Segment::Math(m) => {
                md.push('$');
                md.push_str(m);
                md.push('$');
            }
            Segment::Image(id) => {
                // Ids come from the imported package; anything odd is not turned into a URL.
                if !id.is_empty()
                    && id.len() <= 100
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                {
                    md.push(OPEN);
                    md.push_str(&images.len().to_string());
                    md.push(CLOSE);
                    images.push(id);
                }
            }
        }
    }
    let mut html = crate::rich::render(&md);
    for (n, id) in images.iter().enumerate() {
        html = html.replace(
            &format!("{OPEN}{n}{CLOSE}"),
            &format!("<img src=\"{img_base}/{id}\" alt=\"\" loading=\"lazy\" class=\"q-img\">"),
        );
    }
    // One paragraph becomes inline content (it sits inside labels).
    let t = html.trim();
    match t.strip_prefix("<p>").and_then(|r| r.strip_suffix("</p>")) {
        Some(inner) if !inner.contains("<p>") => inner.to_owned(),
        _ => t.to_owned(),
    }
}

/// One displayed item.
struct ItemView {
    index: usize,
    number: usize,
    kind: &'static str,
    stem: String,
    options: Vec<Opt>,
    statements: Vec<Stmt>,
    text: String,
    seq: i64,
    points: String,
    earned: Option<String>,
    key: String,
}

/// Whether any displayed item has a formula, so the page links `math.css`.
fn views_have_math(views: &[ItemView]) -> bool {
    use crate::rich::has_math;
    views.iter().any(|v| {
        has_math(&v.stem)
            || v.options.iter().any(|o| has_math(&o.text))
            || v.statements.iter().any(|st| has_math(&st.text))
    })
}

fn item_views(
    items: &[VariantItem],
    answers: &[db::exams::Answer],
    paper: Option<&Exam>,
    per: &[Option<f64>],
    img_base: &str,
) -> Vec<ItemView> {
    let by: HashMap<i64, (&db::exams::Answer, Option<Answer>)> = answers
        .iter()
        .map(|a| (a.item, (a, serde_json::from_str(&a.response).ok())))
        .collect();
    items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let q = &it.question;
            let saved = by.get(&(i as i64));
            let resp = saved.and_then(|(_, r)| r.as_ref());
            let mut v = ItemView {
                index: i,
                number: i + 1,
                kind: kind_code(&q.kind),
                stem: content_html(&q.stem, img_base),
                options: Vec::new(),
                statements: Vec::new(),
                text: String::new(),
                seq: saved.map_or(0, |(a, _)| a.seq),
                points: exam::model::format_number(q.points),
                earned: per
                    .get(i)
                    .copied()
                    .flatten()
                    .map(exam::model::format_number),
                key: paper
                    .and_then(|p| paper_questions(p).get(it.original))
                    .map(|orig| {
                        // The fixed key, shown in this paper's option order.
                        let mut shown = orig.clone();
                        if orig.kind.options().is_some() && !it.option_order.is_empty() {
                            shown.kind = match &orig.kind {
                                QuestionKind::SingleChoice { options, key } => {
                                    QuestionKind::SingleChoice {
                                        options: options.clone(),
                                        key: key.and_then(|k| {
                                            it.option_order.iter().position(|o| *o == k)
                                        }),
                                    }
                                }
                                QuestionKind::MultipleResponse { options, keys } => {
                                    QuestionKind::MultipleResponse {
                                        options: options.clone(),
                                        keys: keys
                                            .iter()
                                            .filter_map(|k| {
                                                it.option_order.iter().position(|o| o == k)
                                            })
                                            .collect(),
                                    }
                                }
                                other => other.clone(),
                            };
                        }
                        exam::shuffle::key_text(&shown)
                    })
                    .unwrap_or_default(),
            };
            match &q.kind {
                QuestionKind::SingleChoice { options, .. }
                | QuestionKind::MultipleResponse { options, .. } => {
                    v.options = options
                        .iter()
                        .enumerate()
                        .map(|(d, o)| Opt {
                            value: d,
                            letter: exam::model::option_letter(d),
                            text: content_html(o, img_base),
                            checked: match resp {
                                Some(Answer::SingleChoice(c)) => *c == d,
                                Some(Answer::MultipleResponse(cs)) => cs.contains(&d),
                                _ => false,
                            },
                        })
                        .collect();
                }
                QuestionKind::TrueFalseCluster { statements } => {
                    v.statements = statements
                        .iter()
                        .enumerate()
                        .map(|(j, st)| {
                            let a = match resp {
                                Some(Answer::TrueFalse(x)) => x.get(j).copied().flatten(),
                                _ => None,
                            };
                            Stmt {
                                index: j,
                                letter: (b'a' + j as u8) as char,
                                text: content_html(&st.text, img_base),
                                yes: a == Some(true),
                                no: a == Some(false),
                            }
                        })
                        .collect();
                }
                QuestionKind::ShortAnswer { .. } | QuestionKind::Essay { .. } => {
                    v.text = match resp {
                        Some(Answer::ShortAnswer(t)) | Some(Answer::Essay(t)) => t.clone(),
                        _ => String::new(),
                    };
                }
            }
            v
        })
        .collect()
}

/// One rubric criterion of an essay as the marking form shows it: description, maximum,
/// the mark given so far.
type Criterion = (String, String, String);

#[derive(Template)]
#[template(path = "exam_take.html")]
struct TakePage {
    ctx: Ctx,
    e: ExamRow,
    a: Attempt,
    items: Vec<ItemView>,
    deadline: i64,
    server_now: i64,
    math: bool,
}

#[derive(Template)]
#[template(path = "exam_result.html")]
struct ResultPage {
    ctx: Ctx,
    e: ExamRow,
    a: Attempt,
    math: bool,
    items: Vec<ItemView>,
    show_score: bool,
    show_key: bool,
    teacher: bool,
    score: String,
    max: String,
    submitted: String,
    rubrics: Vec<(usize, Vec<Criterion>)>,
}

async fn attempt_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    ensure_sweeper(&state);
    let a = match read_attempt(&state, id).await {
        Ok(a) => a,
        Err(WebError::NotFound) => return Err(WebError::Forbidden),
        Err(e) => return Err(e),
    };
    let e = state.db.exam(a.exam_id).await?;
    let owner = a.user_id == Some(s.user.id);
    if !owner {
        let (_, _, access) = course_for(&state, &s, e.course_id).await?;
        require_teach(&access)?;
    }
    let items = items_of(&a)?;
    let answers = state.db.answers(a.id).await?;
    if owner && a.status == "ready" {
        return Ok(Redirect::to(&format!("/exams/{}", e.id)).into_response());
    }
    if owner && a.status == "started" {
        let h = head(&state, a.id).await?;
        {
            let mut last = h.last.lock().expect("last");
            if last.is_none() {
                *last = Some((a.session_hash.clone(), a.ip.clone()));
            }
        }
        if s.token_hash != a.session_hash {
            let ip = a.ip.clone();
            watch(&state, a.id, &h, &s.token_hash, &ip).await;
        }
        let views = item_views(
            &items,
            &answers,
            None,
            &[],
            &format!("/exams/{}/assets", e.id),
        );
        let deadline = a.deadline_at.unwrap_or(a.closes_at);
        return Ok(render(&TakePage {
            ctx: Ctx::new(&s, e.settings.title.clone()),
            math: views_have_math(&views),
            items: views,
            deadline,
            server_now: now(),
            e,
            a,
        })?
        .into_response());
    }
    let paper = paper_of(&e)?;
    let per: Vec<Option<f64>> = serde_json::from_str(&a.per_item).unwrap_or_default();
    let show_score = !owner || released(&e.settings.score_release, e.settings.closes_at);
    let show_key = !owner || released(&e.settings.answer_release, e.settings.closes_at);
    let views = item_views(
        &items,
        &answers,
        show_key.then_some(&paper),
        if show_score { &per } else { &[] },
        &format!("/exams/{}/assets", e.id),
    );
    let manual = manual_of(&a);
    let rubrics = if owner {
        Vec::new()
    } else {
        items
            .iter()
            .enumerate()
            .filter_map(|(i, it)| {
                let q = paper_questions(&paper).get(it.original)?;
                matches!(q.kind, QuestionKind::Essay { .. }).then(|| {
                    let given = manual.get(&i.to_string());
                    (
                        i,
                        rubric_of(q)
                            .into_iter()
                            .enumerate()
                            .map(|(c, (d, mx))| {
                                (
                                    d,
                                    exam::model::format_number(mx),
                                    given
                                        .and_then(|g| g.get(c))
                                        .map(|v| exam::model::format_number(*v))
                                        .unwrap_or_default(),
                                )
                            })
                            .collect(),
                    )
                })
            })
            .collect()
    };
    Ok(render(&ResultPage {
        ctx: Ctx::new(&s, format!("{} – {}", e.settings.title, a.student_name)),
        score: a.score_e4.map(points).unwrap_or_else(|| "—".into()),
        max: a.max_e4.map(points).unwrap_or_else(|| "—".into()),
        submitted: a.submitted_at.map(format_ms).unwrap_or_default(),
        math: views_have_math(&views),
        items: views,
        show_score,
        show_key,
        teacher: !owner,
        rubrics,
        e,
        a,
    })?
    .into_response())
}

/// The session's user, from the cookie alone (the hot save path skips the full session).
async fn session_user(state: &AppState, headers: &HeaderMap) -> Result<(Id, String), ApiError> {
    let token = cookie(headers, SESSION_COOKIE).ok_or(WebError::LoginRequired)?;
    let hash = token_hash(token);
    let row = state
        .db
        .session(&hash)
        .await?
        .ok_or(WebError::LoginRequired)?;
    Ok((row.user_id, hash))
}

async fn attempt_state(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Id>,
) -> Result<Response, ApiError> {
    let (user, _) = session_user(&state, &headers).await?;
    let a = read_attempt(&state, id).await.map_err(|e| match e {
        WebError::NotFound => WebError::Forbidden,
        e => e,
    })?;
    if a.user_id != Some(user) {
        return Err(WebError::Forbidden.into());
    }
    let answers: Vec<serde_json::Value> = state
        .db
        .answers(id)
        .await?
        .into_iter()
        .map(|w| {
            serde_json::json!({
                "item": w.item,
                "seq": w.seq,
                "response": serde_json::from_str::<serde_json::Value>(&w.response).unwrap_or_default(),
            })
        })
        .collect();
    Ok(axum::Json(serde_json::json!({
        "status": a.effective_status(now(), GRACE_MS),
        "deadline": a.deadline_at,
        "now": now(),
        "answers": answers,
    }))
    .into_response())
}

/// The body of an answer save.
#[derive(Debug, Deserialize)]
pub struct SaveBody {
    /// Displayed item index, from 0.
    pub item: i64,
    /// The response, as `exam::scoring::Response` JSON (displayed option order).
    pub response: serde_json::Value,
    /// Increases with every change of this item in the browser.
    pub seq: i64,
    /// A random idempotency key of this save.
    pub key: String,
}

fn closed_response() -> Response {
    (
        StatusCode::CONFLICT,
        axum::Json(serde_json::json!({
            "error": "closed",
            "message": "Đã hết giờ làm bài hoặc bài đã nộp: câu trả lời này không được lưu.",
        })),
    )
        .into_response()
}

/// What a save must be before it is written: from an allowed room, for an item of the paper,
/// with a response of that item's kind, a sequence number and a key.
fn check_save(h: &Head, ip: IpAddr, body: &SaveBody) -> Result<Answer, WebError> {
    if !h.ranges.is_empty() && !ip_allowed(&h.ranges, ip) {
        return Err(WebError::BadRequest(IP_REFUSED.into()));
    }
    let shape = usize::try_from(body.item)
        .ok()
        .and_then(|i| h.shapes.get(i).copied())
        .ok_or_else(|| WebError::BadRequest("Câu hỏi không tồn tại trong đề.".into()))?;
    let resp: Answer = serde_json::from_value(body.response.clone()).map_err(|_| {
        WebError::BadRequest("Bài làm không hợp lệ: sai định dạng câu trả lời.".into())
    })?;
    check_response(shape, &resp).map_err(WebError::BadRequest)?;
    if body.seq < 1 || body.key.is_empty() || body.key.len() > 100 {
        return Err(WebError::BadRequest(
            "Thiếu số thứ tự hoặc khoá của lần lưu.".into(),
        ));
    }
    Ok(resp)
}

async fn save(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<Id>,
    Json(body): Json<SaveBody>,
) -> Result<Response, ApiError> {
    // The session is checked by the save statement itself (one round trip per save, none
    // for the session): here only that there is one.
    let token = cookie(&headers, SESSION_COOKIE).ok_or(WebError::LoginRequired)?;
    let hash = token_hash(token);
    let h = match head(&state, id).await {
        Ok(h) => h,
        Err(WebError::NotFound) => return Err(WebError::Forbidden.into()),
        Err(e) => return Err(e.into()),
    };
    let ip = client_ip(&state, &headers, peer);
    let checked = check_save(&h, ip, &body);
    let resp = match checked {
        Ok(r) => r,
        // Refused either way; whose attempt it is decides how (this rare path may read): a
        // stranger learns nothing of the paper or the room.
        Err(err) => {
            return Err(match state.db.exam_session(&hash, now()).await? {
                None => WebError::LoginRequired,
                Some((u, _)) if h.user_id != Some(u) => WebError::Forbidden,
                Some(_) => err,
            }
            .into());
        }
    };
    let json = serde_json::to_string(&resp).map_err(|e| WebError::Internal(e.into()))?;
    let outcome = state
        .db
        .save_answer(AnswerSave {
            attempt_id: id,
            session_hash: hash.clone(),
            item: body.item,
            response: json,
            seq: body.seq,
            key: body.key,
            now: now(),
            grace_ms: GRACE_MS,
        })
        .await?;
    match outcome {
        SaveOutcome::Saved(seq) | SaveOutcome::Unchanged(seq) => {
            watch(&state, id, &h, &hash, &ip.to_string()).await;
            Ok(axum::Json(serde_json::json!({ "saved": true, "seq": seq })).into_response())
        }
        SaveOutcome::Closed => Ok(closed_response()),
        SaveOutcome::NoSession => Err(WebError::LoginRequired.into()),
        SaveOutcome::NotYours => Err(WebError::Forbidden.into()),
    }
}

/// An integrity event from the browser.
#[derive(Debug, Deserialize)]
pub struct EventBody {
    /// `hidden`, `fullscreen_exit`, `paste` or `blur`.
    pub kind: String,
    /// Free detail.
    #[serde(default)]
    pub detail: String,
}

async fn event(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<Id>,
    Json(body): Json<EventBody>,
) -> Result<Response, ApiError> {
    let (user, _) = session_user(&state, &headers).await?;
    let h = head(&state, id).await.map_err(|_| WebError::Forbidden)?;
    if h.user_id != Some(user) {
        return Err(WebError::Forbidden.into());
    }
    let kind = match body.kind.as_str() {
        k @ ("hidden" | "fullscreen_exit" | "paste" | "blur") => k,
        _ => return Err(WebError::BadRequest("Loại sự kiện không hợp lệ.".into()).into()),
    };
    let ip = client_ip(&state, &headers, peer).to_string();
    state
        .db
        .log_exam_event(h.school_id, h.exam_id, id, kind, &body.detail, &ip)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Id>,
) -> Result<Response, ApiError> {
    let (user, _) = session_user(&state, &headers).await?;
    let h = head(&state, id).await.map_err(|_| WebError::Forbidden)?;
    if h.user_id != Some(user) {
        return Err(WebError::Forbidden.into());
    }
    let a = finalize(&state, id).await?;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        return Ok(axum::Json(serde_json::json!({
            "submitted": a.status == "submitted",
            "status": a.status,
        }))
        .into_response());
    }
    Ok(Redirect::to(&format!("/attempts/{id}")).into_response())
}

// ----- teacher: results, grading, regrade, gradebook, analysis -----

struct ResultRow {
    a: Attempt,
    status: &'static str,
    score: String,
    ten: String,
    time: String,
    flags: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "exam_results.html")]
struct ResultsPage {
    ctx: Ctx,
    e: ExamRow,
    course: Course,
    rows: Vec<ResultRow>,
    pending: usize,
}

fn event_label(k: &str) -> &'static str {
    match k {
        "hidden" => "Rời trang",
        "fullscreen_exit" => "Thoát toàn màn hình",
        "paste" => "Dán nội dung",
        "blur" => "Chuyển cửa sổ",
        "ip_change" => "Đổi địa chỉ IP",
        "second_session" => "Phiên đăng nhập thứ hai",
        _ => "Khác",
    }
}

fn ten_scale(a: &Attempt) -> Option<f64> {
    match (a.score_e4, a.max_e4) {
        (Some(s), Some(m)) if m > 0 => Some(((s as f64 / m as f64) * 1000.0).round() / 100.0),
        _ => None,
    }
}

async fn finalize_due(state: &AppState, e: &ExamRow) -> WebResult<Vec<Attempt>> {
    let t = now();
    let atts = state.db.exam_attempts(e).await?;
    let mut out = Vec::with_capacity(atts.len());
    for a in atts {
        if (a.status == "started" && a.effective_status(t, GRACE_MS) == "submitted")
            || (a.status == "submitted" && a.graded_at.is_none())
        {
            out.push(finalize(state, a.id).await?);
        } else {
            out.push(a);
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct FormatQuery {
    #[serde(default)]
    format: String,
}

async fn results(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<FormatQuery>,
) -> WebResult<Response> {
    let (e, course, access) = exam_for(&state, &s, id).await?;
    require_teach(&access)?;
    let atts = finalize_due(&state, &e).await?;
    let events = state.db.exam_events(&e).await?;
    let t = now();
    let rows: Vec<ResultRow> = atts
        .into_iter()
        .map(|a| {
            let status = match a.effective_status(t, GRACE_MS) {
                "ready" => "Chưa làm",
                "started" => "Đang làm",
                _ => "Đã nộp",
            };
            let time = match (a.started_at, a.submitted_at) {
                (Some(s0), Some(s1)) => format!("{} phút", (s1 - s0).max(0) / 60_000),
                _ => String::new(),
            };
            let flags = events
                .iter()
                .filter(|ev| ev.attempt_id == a.id)
                .map(|ev| {
                    (
                        format_ms(ev.at),
                        event_label(&ev.kind).to_owned(),
                        ev.detail.clone(),
                    )
                })
                .collect();
            ResultRow {
                status,
                score: match (a.score_e4, a.status.as_str()) {
                    (Some(sc), "submitted") => points(sc),
                    _ => String::new(),
                },
                ten: ten_scale(&a)
                    .map(exam::model::format_number)
                    .unwrap_or_default(),
                time,
                flags,
                a,
            }
        })
        .collect();
    if q.format == "xlsx" {
        use office::table::Cell;
        let headers = [
            "Mã học sinh",
            "Họ và tên",
            "Lần",
            "Trạng thái",
            "Điểm",
            "Thang 10",
            "Thời gian làm",
            "Cảnh báo",
        ];
        let data: Vec<Vec<Cell>> = rows
            .iter()
            .map(|r| {
                vec![
                    Cell::from(r.a.student_code.clone()),
                    Cell::from(r.a.student_name.clone()),
                    Cell::from(r.a.attempt_no),
                    Cell::from(r.status),
                    Cell::from(r.score.clone()),
                    Cell::from(r.ten.clone()),
                    Cell::from(r.time.clone()),
                    Cell::from(r.flags.len() as i64),
                ]
            })
            .collect();
        let title = vec![
            format!("KẾT QUẢ – {}", e.settings.title.to_uppercase()),
            format!("Lớp {} · môn {}", course.class_name, course.subject_name),
        ];
        let bytes = office::table::export("Kết quả", &title, &headers, &data)
            .map_err(|x| WebError::Internal(x.into()))?;
        return Ok(crate::files::xlsx_download(bytes, "ket-qua-kiem-tra.xlsx"));
    }
    let pending = rows.iter().filter(|r| r.a.manual_pending > 0).count();
    Ok(render(&ResultsPage {
        ctx: Ctx::new(&s, format!("Kết quả – {}", e.settings.title)),
        e,
        course,
        rows,
        pending,
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "exam_grading.html")]
struct GradingPage {
    ctx: Ctx,
    e: ExamRow,
    queue: Vec<(Id, String, i64)>,
}

async fn grading(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    let (e, _, access) = exam_for(&state, &s, id).await?;
    require_teach(&access)?;
    let queue = finalize_due(&state, &e)
        .await?
        .into_iter()
        .filter(|a| a.status == "submitted" && a.manual_pending > 0)
        .map(|a| (a.id, a.student_name, a.manual_pending))
        .collect();
    Ok(render(&GradingPage {
        ctx: Ctx::new(&s, format!("Chấm tự luận – {}", e.settings.title)),
        e,
        queue,
    })?
    .into_response())
}

async fn marks(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let a = read_attempt(&state, id).await?;
    let e = state.db.exam(a.exam_id).await?;
    let (_, _, access) = course_for(&state, &s, e.course_id).await?;
    require_teach(&access)?;
    let paper = paper_of(&e)?;
    let items = items_of(&a)?;
    let item: usize = field(&f, "item")
        .parse()
        .map_err(|_| WebError::BadRequest("Câu không hợp lệ.".into()))?;
    let q = items
        .get(item)
        .and_then(|it| paper_questions(&paper).get(it.original))
        .filter(|q| matches!(q.kind, QuestionKind::Essay { .. }))
        .ok_or_else(|| WebError::BadRequest("Câu này không phải câu tự luận.".into()))?;
    let mut given = Vec::new();
    for (c, (d, mx)) in rubric_of(q).into_iter().enumerate() {
        let raw = field(&f, &format!("c{c}"));
        let v = exam::model::parse_number(raw)
            .filter(|v| *v >= 0.0 && *v <= mx)
            .ok_or_else(|| {
                WebError::BadRequest(format!(
                    "Điểm tiêu chí \"{d}\" phải từ 0 đến {}.",
                    exam::model::format_number(mx)
                ))
            })?;
        given.push(v);
    }
    let mut manual = manual_of(&a);
    manual.insert(item.to_string(), given);
    let json = serde_json::to_string(&manual).map_err(|x| WebError::Internal(x.into()))?;
    state.db.set_manual_marks(&a, &json, s.user.id).await?;
    let a = state.db.attempt(id).await?;
    grade(&state, &a, &paper).await?;
    Ok(Redirect::to(&format!("/attempts/{id}")).into_response())
}

#[derive(Deserialize)]
struct ExtraForm {
    minutes: String,
}

async fn extra_time(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<ExtraForm>,
) -> WebResult<Response> {
    let a = state
        .db
        .attempt(id)
        .await
        .map_err(|_| WebError::Forbidden)?;
    let e = state.db.exam(a.exam_id).await?;
    let (_, _, access) = course_for(&state, &s, e.course_id).await?;
    require_teach(&access)?;
    let m: i64 = f
        .minutes
        .trim()
        .parse()
        .ok()
        .filter(|m| (0..=300).contains(m))
        .ok_or_else(|| WebError::BadRequest("Số phút thêm phải từ 0 đến 300.".into()))?;
    if a.status == "submitted" {
        return Err(WebError::Conflict(
            "Bài đã nộp, không thể cộng thêm giờ.".into(),
        ));
    }
    state.db.set_extra_time(&a, m * 60_000, s.user.id).await?;
    Ok(Redirect::to(&format!("/exams/{}/results", e.id)).into_response())
}

/// Parses a corrected key as teachers type it, for the kind of `q`.
fn with_key(q: &Question, raw: &str) -> Result<Question, String> {
    let raw = raw.trim();
    let mut out = q.clone();
    let letters = |s: &str| -> Option<Vec<usize>> {
        s.chars()
            .filter(|c| c.is_alphabetic())
            .map(exam::model::option_index)
            .collect()
    };
    out.kind = match &q.kind {
        QuestionKind::SingleChoice { options, .. } => {
            let k = letters(raw)
                .filter(|v| v.len() == 1)
                .ok_or("Đáp án phải là một chữ cái, ví dụ B.")?[0];
            QuestionKind::SingleChoice {
                options: options.clone(),
                key: Some(k),
            }
        }
        QuestionKind::MultipleResponse { options, .. } => QuestionKind::MultipleResponse {
            options: options.clone(),
            keys: letters(raw)
                .ok_or("Đáp án là các chữ cái, ví dụ AC.")?
                .into_iter()
                .collect(),
        },
        QuestionKind::TrueFalseCluster { statements } => {
            let v: Vec<bool> = raw
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| match c {
                    'Đ' | 'đ' | 'D' | 'd' => Ok(true),
                    'S' | 's' => Ok(false),
                    _ => Err("Đáp án đúng/sai viết dạng ĐSĐĐ."),
                })
                .collect::<Result<_, _>>()?;
            if v.len() != statements.len() {
                return Err(format!("Cần {} ý Đ/S.", statements.len()));
            }
            QuestionKind::TrueFalseCluster {
                statements: statements
                    .iter()
                    .zip(v)
                    .map(|(s, t)| exam::model::Statement {
                        text: s.text.clone(),
                        truth: Some(t),
                    })
                    .collect(),
            }
        }
        QuestionKind::ShortAnswer { key } => QuestionKind::ShortAnswer {
            key: Some(match key {
                Some(ShortKey::Numeric { tolerance, .. }) => ShortKey::Numeric {
                    value: exam::model::parse_number(raw)
                        .ok_or("Đáp án phải là một số, ví dụ 2,5.")?,
                    tolerance: *tolerance,
                },
                _ => ShortKey::Text {
                    accepted: raw
                        .split(';')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect(),
                },
            }),
        },
        QuestionKind::Essay { .. } => return Err("Câu tự luận không có đáp án để sửa.".into()),
    };
    out.validate(1).map_err(|e| {
        e.iter()
            .map(|x| x.problem.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    Ok(out)
}

async fn fix_key(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let (e, _, access) = exam_for(&state, &s, id).await?;
    require_teach(&access)?;
    let mut paper = paper_of(&e)?;
    let n: usize = field(&f, "question")
        .parse()
        .ok()
        .filter(|n| *n >= 1 && *n <= paper_questions(&paper).len())
        .ok_or_else(|| WebError::BadRequest("Số câu không hợp lệ.".into()))?;
    let old = paper.sections[0].questions[n - 1].clone();
    let new = with_key(&old, field(&f, "key"))
        .map_err(|m| WebError::BadRequest(format!("Câu {n}: {m}")))?;
    let detail = format!(
        "Câu {n}: {} → {}",
        exam::shuffle::key_text(&old),
        exam::shuffle::key_text(&new)
    );
    paper.sections[0].questions[n - 1] = new;
    let json = serde_json::to_string(&paper).map_err(|x| WebError::Internal(x.into()))?;
    state
        .db
        .set_exam_paper(&e, &json, &detail, s.user.id)
        .await?;
    forget_exam(id);
    for a in state.db.exam_attempts(&e).await? {
        if a.status == "submitted" {
            grade(&state, &a, &paper).await?;
        }
    }
    Ok(Redirect::to(&format!("/exams/{id}/results")).into_response())
}

async fn to_gradebook(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let (e, course, access) = exam_for(&state, &s, id).await?;
    require_teach(&access)?;
    let kind = match field(&f, "kind") {
        k @ (db::gradebook::KIND_TX | db::gradebook::KIND_GK | db::gradebook::KIND_CK) => k,
        _ => {
            return Err(WebError::BadRequest(
                "Hãy chọn cột điểm ĐĐGtx, ĐĐGgk hoặc ĐĐGck.".into(),
            ));
        }
    };
    let slot: i64 = if kind == db::gradebook::KIND_TX {
        field(&f, "slot")
            .parse()
            .ok()
            .filter(|s| (1..=10).contains(s))
            .ok_or_else(|| WebError::BadRequest("Cột ĐĐGtx phải từ 1 đến 10.".into()))?
    } else {
        1
    };
    let term: i64 = if field(&f, "term") == "2" { 2 } else { 1 };
    let atts = finalize_due(&state, &e).await?;
    if atts
        .iter()
        .any(|a| a.status == "submitted" && a.manual_pending > 0)
    {
        return Err(WebError::Conflict(
            "Còn bài tự luận chưa chấm; hãy chấm xong trước khi ghi vào sổ điểm.".into(),
        ));
    }
    // The best attempt of each student.
    let mut best: BTreeMap<Id, f64> = BTreeMap::new();
    for a in atts.iter().filter(|a| a.status == "submitted") {
        if let Some(v) = ten_scale(a) {
            let b = best.entry(a.student_id).or_insert(v);
            *b = b.max(v);
        }
    }
    let cells: Vec<db::gradebook::CellWrite> = best
        .into_iter()
        .map(|(student_id, v)| db::gradebook::CellWrite {
            student_id,
            kind: kind.to_owned(),
            slot,
            value: Some(exam::model::format_number((v * 10.0).round() / 10.0)),
        })
        .collect();
    state
        .db
        .set_grades(&course, term, &cells, &format!("exam:{id}"), s.user.id)
        .await?;
    Ok(Redirect::to(&format!("/courses/{}/gradebook?term={term}", course.id)).into_response())
}

struct AnalysisRow {
    number: usize,
    stem: String,
    facility: String,
    discrimination: String,
    pbis: String,
    options: String,
    flags: String,
}

#[derive(Template)]
#[template(path = "exam_analysis.html")]
struct AnalysisPage {
    ctx: Ctx,
    e: ExamRow,
    message: Option<String>,
    rows: Vec<AnalysisRow>,
    students: usize,
    mean: String,
    sd: String,
    kr20: String,
    alpha: String,
    sem: String,
    histogram: String,
}

fn f2(v: f64) -> String {
    format!("{v:.2}").replace('.', ",")
}

fn of2(v: Option<f64>) -> String {
    v.map(f2).unwrap_or_else(|| "—".into())
}

async fn analysis(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<FormatQuery>,
) -> WebResult<Response> {
    let (e, _, access) = exam_for(&state, &s, id).await?;
    require_teach(&access)?;
    let paper = paper_of(&e)?;
    let qs = paper_questions(&paper);
    let atts: Vec<Attempt> = finalize_due(&state, &e)
        .await?
        .into_iter()
        .filter(|a| a.status == "submitted")
        .collect();
    // Columns are the paper's questions at least one attempt got: all of them for a fixed
    // exam; for a matrix exam each student's draw, analysed over the students who got it.
    let mut matrix: Vec<Vec<Option<exam::analysis::Cell>>> = Vec::new();
    let mut per_student = 0;
    for a in &atts {
        let items = items_of(a)?;
        per_student = per_student.max(items.len());
        let per: Vec<Option<f64>> = serde_json::from_str(&a.per_item).unwrap_or_default();
        let answers: HashMap<i64, Answer> = state
            .db
            .answers(a.id)
            .await?
            .into_iter()
            .filter_map(|w| Some((w.item, serde_json::from_str(&w.response).ok()?)))
            .collect();
        let mut row = vec![None; qs.len()];
        for (i, it) in items.iter().enumerate() {
            if let Some(qq) = qs.get(it.original) {
                let resp = answers
                    .get(&(i as i64))
                    .and_then(|r| it.to_original(r).ok());
                let earned = per.get(i).copied().flatten().unwrap_or(0.0);
                row[it.original] =
                    Some(exam::analysis::Cell::from_answer(qq, resp.as_ref(), earned));
            }
        }
        matrix.push(row);
    }
    let cols: Vec<usize> = (0..qs.len())
        .filter(|c| matrix.iter().any(|r| r[*c].is_some()))
        .collect();
    let rows: Vec<Vec<Option<exam::analysis::Cell>>> = matrix
        .iter()
        .map(|r| cols.iter().map(|c| r[*c]).collect())
        .collect();
    let infos: Vec<exam::analysis::ItemInfo> = cols
        .iter()
        .map(|c| exam::analysis::ItemInfo::of(&qs[*c]))
        .collect();
    let result = exam::analysis::analyse_sparse(&rows, &infos);
    let mut page = AnalysisPage {
        ctx: Ctx::new(&s, format!("Phân tích đề – {}", e.settings.title)),
        message: None,
        rows: Vec::new(),
        students: atts.len(),
        mean: String::new(),
        sd: String::new(),
        kr20: String::new(),
        alpha: String::new(),
        sem: String::new(),
        histogram: String::new(),
        e,
    };
    match result {
        Err(err) => page.message = Some(err.to_string()),
        Ok(an) => {
            page.rows = an
                .items
                .iter()
                .zip(&cols)
                .map(|(it, c)| AnalysisRow {
                    number: c + 1,
                    stem: qs[*c].stem.as_str().chars().take(80).collect(),
                    facility: f2(it.facility),
                    discrimination: f2(it.discrimination),
                    pbis: of2(it.point_biserial),
                    options: it
                        .options
                        .iter()
                        .map(|o| {
                            format!(
                                "{}: {} ({}↑/{}↓)",
                                exam::model::option_letter(o.option),
                                o.total,
                                o.upper,
                                o.lower
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" · "),
                    flags: it
                        .flags
                        .iter()
                        .map(|f| f.to_string())
                        .collect::<Vec<_>>()
                        .join("; "),
                })
                .collect();
            page.mean = f2(an.mean);
            page.sd = f2(an.sd);
            page.kr20 = of2(an.kr20);
            page.alpha = of2(an.alpha);
            page.sem = of2(an.sem);
            page.histogram = exam::analysis::histogram_svg(&an.totals, per_student as f64, 10);
        }
    }
    if q.format == "xlsx" {
        use office::table::Cell;
        let headers = [
            "Câu",
            "Nội dung",
            "Độ khó (p)",
            "Độ phân biệt (D)",
            "Tương quan điểm–tổng",
            "Phương án",
            "Cảnh báo",
        ];
        let data: Vec<Vec<Cell>> = page
            .rows
            .iter()
            .map(|r| {
                vec![
                    Cell::from(r.number as i64),
                    Cell::from(r.stem.clone()),
                    Cell::from(r.facility.clone()),
                    Cell::from(r.discrimination.clone()),
                    Cell::from(r.pbis.clone()),
                    Cell::from(r.options.clone()),
                    Cell::from(r.flags.clone()),
                ]
            })
            .collect();
        let title = vec![
            format!("PHÂN TÍCH ĐỀ – {}", page.e.settings.title.to_uppercase()),
            format!(
                "{} học sinh · trung bình {} · độ lệch chuẩn {} · KR-20 {} · α {} · SEM {}",
                page.students, page.mean, page.sd, page.kr20, page.alpha, page.sem
            ),
        ];
        let bytes = office::table::export("Phân tích đề", &title, &headers, &data)
            .map_err(|x| WebError::Internal(x.into()))?;
        return Ok(crate::files::xlsx_download(bytes, "phan-tich-de.xlsx"));
    }
    Ok(render(&page)?.into_response())
}

// ----- the script -----

pub(crate) const EXAM_JS: &str = include_str!("../../static/exam.js");

async fn exam_js(headers: HeaderMap) -> Response {
    static TAG: OnceLock<String> = OnceLock::new();
    let etag = TAG.get_or_init(|| media::serve::etag_for_bytes(EXAM_JS.as_bytes()));
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let mut r = if media::serve::not_modified(inm, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        EXAM_JS.into_response()
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

    #[test]
    fn question_content_is_escaped_and_shows_images_and_math() {
        use exam::model::Content;
        let plain = content_html(&Content::new("a < b & \"c\""), "/x");
        assert_eq!(plain, "a &lt; b &amp; &quot;c&quot;");
        // Markdown has no say in question text: stars and list numbers stay as typed.
        let md = content_html(
            &Content::new("1. *đậm* $x^2$ <script>alert(1)</script>"),
            "/x",
        );
        assert!(md.contains("1. *đậm*"), "{md}");
        assert!(!md.contains("<script"), "{md}");
        assert!(
            md.contains("<math") && md.contains("<msup>"),
            "math is MathML: {md}"
        );
        let img = content_html(&Content::new("Hình: {{img:image1.png}}"), "/exams/7/assets");
        assert!(
            img.contains("<img src=\"/exams/7/assets/image1.png\""),
            "{img}"
        );
        let odd = content_html(&Content::new("{{img:../../secret}} $1$"), "/exams/7/assets");
        assert!(!odd.contains("<img"), "{odd}");
    }

    #[test]
    fn cidr_ranges() {
        let r = parse_ranges("192.168.1.0/24, 10.0.0.5").unwrap();
        assert!(r[0].contains("192.168.1.77".parse().unwrap()));
        assert!(!r[0].contains("192.168.2.1".parse().unwrap()));
        assert!(r[1].contains("10.0.0.5".parse().unwrap()));
        assert!(r[0].contains("::ffff:192.168.1.3".parse().unwrap()));
        assert!(parse_ranges("192.168.1.0/33").is_err());
        assert!(ip_allowed("", "1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn local_times_are_vietnam_time() {
        let ms = parse_local("2025-09-05T07:30", "x").unwrap();
        assert_eq!(format_ms(ms), "05/09/2025 07:30");
        assert_eq!(local_input(ms), "2025-09-05T07:30");
    }

    #[test]
    fn tampered_responses_are_refused() {
        assert!(check_response(Shape::Single(4), &Answer::SingleChoice(9)).is_err());
        assert!(check_response(Shape::Single(4), &Answer::SingleChoice(3)).is_ok());
        assert!(check_response(Shape::TrueFalse(4), &Answer::TrueFalse(vec![Some(true)])).is_err());
        assert!(check_response(Shape::Short, &Answer::Essay("x".into())).is_err());
    }
}
