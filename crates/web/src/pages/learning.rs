//! Courses: the lesson plan with the teaching forms of Circular 09, lessons with their approved
//! materials and watch progress, homework with submissions (text, files, phone photos) and
//! grading, questions and answers, course posts, and each student's progress.

use super::parse_uuid;
use crate::AppState;
use crate::auth::Session;
use crate::error::{Form, WebError, WebResult};
use crate::view::{Ctx, format_ms, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use db::learning::{
    Course, CourseStudent, Lesson, LessonInput, LessonMaterial, NewFile, Post, Question, Reply,
    StudentProgress, Submission, Task, TaskInput, TaskSummary, Topic,
};
use db::org::School;
use domain::Id;
use domain::auth::{Action, Target};
use domain::learning::{LatePolicy, LessonForm, MaterialKind, format_tenths, parse_score_tenths};
use serde::Deserialize;

/// Largest file a student or teacher attaches to homework.
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;
/// Most files per submission (photos of several pages).
pub const MAX_ATTACHMENTS: usize = 10;
/// Longest text of a question, reply or submission.
const MAX_TEXT_CHARS: usize = 20_000;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/courses", get(courses_page))
        .route("/courses/{id}", get(course_page))
        .route("/courses/{id}/topics", post(add_topic))
        .route("/courses/{id}/lessons", post(add_lesson))
        .route(
            "/courses/{id}/lessons/{lesson}",
            get(lesson_page).post(edit_lesson),
        )
        .route(
            "/courses/{id}/lessons/{lesson}/materials",
            post(attach_material),
        )
        .route(
            "/courses/{id}/lessons/{lesson}/materials/{material}/remove",
            post(detach_material),
        )
        .route("/courses/{id}/materials/{material}", get(material_page))
        .route(
            "/courses/{id}/materials/{material}/file",
            get(material_file),
        )
        .route(
            "/courses/{id}/materials/{material}/progress",
            post(progress_beacon),
        )
        .route("/courses/{id}/tasks", post(add_task))
        .route("/courses/{id}/tasks/{task}", get(task_page))
        .route("/courses/{id}/tasks/{task}/submit", post(submit))
        .route("/courses/{id}/tasks/{task}/grade/{submission}", post(grade))
        .route("/courses/{id}/files/{file}", get(attachment))
        .route("/courses/{id}/questions", get(questions_page).post(ask))
        .route(
            "/courses/{id}/questions/{q}",
            get(question_page).post(reply),
        )
        .route("/courses/{id}/questions/{q}/answered", post(mark_answered))
        .route("/courses/{id}/questions/{q}/moderate", post(moderate))
        .route("/courses/{id}/posts", post(add_post))
        .route("/courses/{id}/progress", get(progress_page))
        .route(
            "/schools/{id}/posts",
            get(school_posts_page).post(add_school_post),
        )
}

// ----- access -----

/// How the reader relates to a course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Its teacher, or a manager of the school: may change everything.
    Teach,
    /// A student of the class (their student record).
    Student(Id),
    /// A parent of students of the class (their children).
    Parent(Vec<Id>),
    /// Staff of the school or an officer above it: may read.
    Observe,
}

impl Access {
    /// May change the course.
    pub fn teaches(&self) -> bool {
        matches!(self, Self::Teach)
    }

    /// The student record, for a student.
    pub fn student(&self) -> Option<Id> {
        match self {
            Self::Student(id) => Some(*id),
            _ => None,
        }
    }

    /// Whether the reader sees only approved material, as students do.
    pub fn learner_view(&self) -> bool {
        matches!(self, Self::Student(_) | Self::Parent(_))
    }
}

/// A course and the reader's relation to it; anyone else gets 403 (whether it exists or not).
pub async fn course_for(
    state: &AppState,
    s: &Session,
    id: Id,
) -> WebResult<(Course, School, Access)> {
    let course = match state.db.course(id).await {
        Ok(c) => c,
        Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    let school = state.db.school(course.school_id).await?;
    let sref = school.as_ref();
    let teachers: Vec<Id> = course.teacher_user_id.into_iter().collect();
    let access = if s.actor.can(
        Action::TeachClass,
        Target::Class {
            school: &sref,
            homeroom: None,
            teachers: &teachers,
        },
    ) && (course.teacher_user_id == Some(s.user.id)
        || s.actor.can(Action::ManageSchool, Target::School(&sref)))
    {
        Access::Teach
    } else if let Some(student) = state.db.course_student(&course, s.user.id).await? {
        Access::Student(student)
    } else if s.actor.can(Action::ViewSchool, Target::School(&sref)) {
        Access::Observe
    } else {
        let children = state.db.course_children(&course, s.user.id).await?;
        if children.is_empty() {
            return Err(WebError::Forbidden);
        }
        Access::Parent(children)
    };
    Ok((course, school, access))
}

fn require_teach(access: &Access) -> WebResult<()> {
    if access.teaches() {
        Ok(())
    } else {
        Err(WebError::Forbidden)
    }
}

fn course_title(c: &Course) -> String {
    format!("{} – {}", c.subject_name, c.class_name)
}

fn check_text(raw: &str, field: &str, required: bool, max: usize) -> WebResult<String> {
    let t = raw.trim();
    if required && t.is_empty() {
        return Err(WebError::BadRequest(format!("Chưa nhập {field}.")));
    }
    if t.chars().count() > max {
        return Err(WebError::BadRequest(format!(
            "{field} dài quá {max} ký tự."
        )));
    }
    Ok(t.to_owned())
}

fn check_key(key: &str) -> WebResult<&str> {
    let k = key.trim();
    if k.is_empty() || k.len() > 64 || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(WebError::BadRequest(
            "Thiếu mã chống gửi trùng; hãy tải lại trang và gửi lại.".into(),
        ));
    }
    Ok(k)
}

/// Parses a date-time from an `<input type="datetime-local">` in Vietnam time.
fn parse_local_time(raw: &str, field: &str) -> WebResult<Option<i64>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let dt = time::PrimitiveDateTime::parse(raw, &fmt).map_err(|_| {
        WebError::BadRequest(format!("{field}: \"{raw}\" không phải ngày giờ hợp lệ."))
    })?;
    let t = dt.assume_offset(time::UtcOffset::from_hms(7, 0, 0).expect("offset"));
    Ok(Some(t.unix_timestamp() * 1000))
}

fn parse_date(raw: &str, field: &str) -> WebResult<Option<time::Date>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    time::Date::parse(raw, &time::format_description::well_known::Iso8601::DATE)
        .map(Some)
        .map_err(|_| WebError::BadRequest(format!("{field}: \"{raw}\" không phải ngày hợp lệ.")))
}

fn lesson_url(c: &Course, l: Id) -> String {
    format!("/courses/{}/lessons/{l}", c.id)
}

// ----- course list -----

/// A course in a list.
pub struct CourseCard {
    /// The course.
    pub course: Course,
    /// Extra line (the child, for parents).
    pub note: String,
}

#[derive(Template)]
#[template(path = "courses.html")]
struct CoursesPage {
    ctx: Ctx,
    cards: Vec<CourseCard>,
    posts: Vec<(Post, String)>,
    pending: Vec<db::learning::PendingQuestion>,
}

impl CoursesPage {
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
}

async fn courses_page(State(state): State<AppState>, s: Session) -> WebResult<Html<String>> {
    let mut cards = Vec::new();
    // Teachers: courses made from their teaching assignments this year.
    for sid in s.actor.school_ids() {
        if let Some(y) = state.db.current_year(sid).await? {
            state.db.ensure_courses(sid, y.id).await?;
        }
    }
    for c in state.db.courses_taught(s.user.id).await? {
        cards.push(CourseCard {
            course: c,
            note: String::new(),
        });
    }
    if let Some(st) = state.db.student_by_user(s.user.id).await? {
        if let Some(y) = state.db.current_year(st.school_id).await? {
            state.db.ensure_courses(st.school_id, y.id).await?;
        }
        for c in state.db.student_courses(st.id).await? {
            cards.push(CourseCard {
                course: c,
                note: String::new(),
            });
        }
    }
    for child in state.db.children_of(s.user.id).await? {
        if let Some(y) = state.db.current_year(child.school_id).await? {
            state.db.ensure_courses(child.school_id, y.id).await?;
        }
        for c in state.db.student_courses(child.id).await? {
            cards.push(CourseCard {
                course: c,
                note: child.full_name.clone(),
            });
        }
    }
    let pending = state.db.unanswered_for(s.user.id).await?;
    // The school's and the class's announcements to students.
    let mut raw_posts = Vec::new();
    if let Some(st) = state.db.student_by_user(s.user.id).await? {
        raw_posts.extend(state.db.school_posts(st.school_id, st.class_id).await?);
    }
    let posts = raw_posts
        .into_iter()
        .map(|p| {
            let html = crate::rich::render(&p.body);
            (p, html)
        })
        .collect();
    render(&CoursesPage {
        posts,
        ctx: Ctx::new(&s, s.lang.t("courses-title")).with_help("hoc-tap"),
        cards,
        pending,
    })
}

// ----- course page -----

/// A lesson in the plan with its topic.
pub struct PlanRow {
    /// The lesson.
    pub lesson: Lesson,
    /// Topic title, on the first lesson of a topic.
    pub topic_title: Option<String>,
}

#[derive(Template)]
#[template(path = "course.html")]
struct CoursePage {
    ctx: Ctx,
    course: Course,
    school: School,
    access: Access,
    topics: Vec<Topic>,
    plan: Vec<PlanRow>,
    tasks: Vec<TaskSummary>,
    posts: Vec<(Post, String)>,
    forms: Vec<(&'static str, &'static str)>,
    policies: Vec<(&'static str, &'static str)>,
    share: String,
    target: String,
    online: i64,
    planned: i64,
    open_questions: i64,
}

impl CoursePage {
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
    fn form_label(&self, f: &LessonForm) -> &'static str {
        f.label()
    }
    fn form_code(&self, f: &LessonForm) -> &'static str {
        f.code()
    }
    fn date(&self, d: &Option<time::Date>) -> String {
        d.map(|d| format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year()))
            .unwrap_or_default()
    }
    fn score(&self, t: &Option<i64>) -> String {
        t.map(format_tenths).unwrap_or_default()
    }
}

async fn course_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Html<String>> {
    let (course, school, access) = course_for(&state, &s, id).await?;
    let topics = state.db.topics(&course).await?;
    let lessons = state.db.lessons(&course).await?;
    let mut plan = Vec::new();
    let mut last_topic = None;
    let (mut online, mut planned) = (0, 0);
    for l in lessons {
        planned += l.periods;
        if l.form.counts_online() {
            online += l.periods;
        }
        let topic_title = if l.topic_id != last_topic {
            last_topic = l.topic_id;
            l.topic_id
                .and_then(|t| topics.iter().find(|x| x.id == t))
                .map(|t| t.title.clone())
        } else {
            None
        };
        plan.push(PlanRow {
            lesson: l,
            topic_title,
        });
    }
    let denominator = course.periods_per_year.max(planned);
    let share = domain::learning::online_share_permille(online, denominator)
        .map(domain::learning::format_permille)
        .unwrap_or_else(|| "—".into());
    let target =
        domain::learning::format_permille(state.db.online_target(&school.unit_path).await?);
    let tasks = state.db.tasks(&course, access.student()).await?;
    let posts = state
        .db
        .posts(&course)
        .await?
        .into_iter()
        .map(|p| {
            let html = crate::rich::render(&p.body);
            (p, html)
        })
        .collect();
    let open_questions = state.db.open_question_count(&course).await?;
    render(&CoursePage {
        ctx: Ctx::new(&s, course_title(&course)).with_help("hoc-tap"),
        forms: LessonForm::ALL
            .iter()
            .map(|f| (f.code(), f.label()))
            .collect(),
        policies: LatePolicy::ALL
            .iter()
            .map(|p| (p.code(), p.label()))
            .collect(),
        course,
        school,
        access,
        topics,
        plan,
        tasks,
        posts,
        share,
        target,
        online,
        planned,
        open_questions,
    })
}

#[derive(Deserialize)]
struct TopicForm {
    title: String,
}

async fn add_topic(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<TopicForm>,
) -> WebResult<Redirect> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    let title = check_text(&f.title, "tên chủ đề", true, 200)?;
    state.db.create_topic(&course, &title).await?;
    Ok(Redirect::to(&format!("/courses/{id}#plan")))
}

#[derive(Deserialize)]
struct LessonFormData {
    title: String,
    #[serde(default)]
    topic: String,
    form: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    periods: String,
    #[serde(default)]
    body: String,
}

fn lesson_input(f: &LessonFormData) -> WebResult<LessonInput> {
    let title = check_text(&f.title, "tên bài học", true, 200)?;
    let form = LessonForm::from_code(f.form.trim())
        .ok_or_else(|| WebError::BadRequest("Hình thức dạy học không hợp lệ.".into()))?;
    let periods = match f.periods.trim() {
        "" => 1,
        p => p
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=10).contains(n))
            .ok_or_else(|| {
                WebError::BadRequest(format!("Số tiết \"{p}\" không hợp lệ: nhập từ 1 đến 10."))
            })?,
    };
    let topic_id = match f.topic.trim() {
        "" => None,
        t => Some(parse_uuid(t, "chủ đề")?),
    };
    Ok(LessonInput {
        topic_id,
        title,
        form,
        date: parse_date(&f.date, "Ngày dạy")?,
        periods,
        body: check_text(&f.body, "nội dung", false, MAX_TEXT_CHARS)?,
    })
}

async fn add_lesson(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<LessonFormData>,
) -> WebResult<Redirect> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    let input = lesson_input(&f)?;
    let lesson = state.db.create_lesson(&course, &input, s.user.id).await?;
    Ok(Redirect::to(&lesson_url(&course, lesson.id)))
}

async fn lesson_of(state: &AppState, course: &Course, id: Id) -> WebResult<Lesson> {
    match state.db.lesson(course.school_id, id).await {
        Ok(l) if l.course_id == course.id => Ok(l),
        Ok(_) | Err(db::DbError::NotFound) => Err(WebError::NotFound),
        Err(e) => Err(e.into()),
    }
}

async fn edit_lesson(
    State(state): State<AppState>,
    s: Session,
    Path((id, lesson)): Path<(Id, Id)>,
    Form(f): Form<LessonFormData>,
) -> WebResult<Redirect> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    let lesson = lesson_of(&state, &course, lesson).await?;
    let input = lesson_input(&f)?;
    state.db.update_lesson(&course, lesson.id, &input).await?;
    Ok(Redirect::to(&format!(
        "{}?ok=1",
        lesson_url(&course, lesson.id)
    )))
}

// ----- lesson page -----

/// A material as a lesson page shows it.
pub struct MaterialView {
    /// The material and the version shown.
    pub item: LessonMaterial,
    /// Its text, rendered and sanitized.
    pub html: String,
    /// Share watched, percent.
    pub watched_percent: i64,
}

#[derive(Template)]
#[template(path = "lesson.html")]
struct LessonPage {
    ctx: Ctx,
    course: Course,
    access: Access,
    lesson: Lesson,
    body_html: String,
    materials: Vec<MaterialView>,
    library: Vec<db::learning::Material>,
    topics: Vec<Topic>,
    forms: Vec<(&'static str, &'static str)>,
    tasks: Vec<TaskSummary>,
    questions: Vec<Question>,
    key: String,
    math: bool,
}

impl LessonPage {
    fn status_label(&self, m: &db::learning::Material) -> &'static str {
        m.status.label()
    }
    fn status_code(&self, m: &db::learning::Material) -> &'static str {
        m.status.code()
    }
    fn kind_code(&self, m: &db::learning::Material) -> &'static str {
        m.kind.code()
    }
    fn kind_label(&self, m: &db::learning::Material) -> &'static str {
        m.kind.label()
    }
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
    fn topic_selected(&self, id: &Id) -> bool {
        self.lesson.topic_id == Some(*id)
    }
    fn iso_date(&self) -> String {
        self.lesson
            .date
            .map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
            .unwrap_or_default()
    }
}

async fn lesson_page(
    State(state): State<AppState>,
    s: Session,
    Path((id, lesson)): Path<(Id, Id)>,
    Query(ok): Query<super::OkQuery>,
) -> WebResult<Html<String>> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    let lesson = lesson_of(&state, &course, lesson).await?;
    let reader = if access.learner_view() {
        Some(s.user.id)
    } else {
        None
    };
    let items = state.db.lesson_materials(&lesson, reader).await?;
    let mut materials = Vec::new();
    let mut math = false;
    for item in items {
        let html = item
            .shown
            .as_ref()
            .map(|v| crate::rich::render(&v.body))
            .unwrap_or_default();
        math |= crate::rich::has_math(&html);
        let watched_percent = domain::learning::watched_percent(
            item.watched_s,
            item.material.duration_s.unwrap_or(0),
        );
        materials.push(MaterialView {
            item,
            html,
            watched_percent,
        });
    }
    let body_html = crate::rich::render(&lesson.body);
    math |= crate::rich::has_math(&body_html);
    let library = if access.teaches() {
        state
            .db
            .library(course.school_id, &db::learning::LibraryFilter::default())
            .await?
            .into_iter()
            .filter(|m| !materials.iter().any(|v| v.item.material.id == m.id))
            .collect()
    } else {
        Vec::new()
    };
    let tasks = state
        .db
        .tasks(&course, access.student())
        .await?
        .into_iter()
        .filter(|t| t.task.lesson_id == Some(lesson.id))
        .collect();
    let questions = state
        .db
        .questions(
            &course,
            (!access.teaches() && !matches!(access, Access::Observe)).then_some(s.user.id),
            Some(lesson.id),
        )
        .await?;
    render(&LessonPage {
        ctx: Ctx::new(&s, lesson.title.clone())
            .with_help("hoc-tap")
            .with_notice(crate::view::saved_notice(ok.ok.as_deref(), s.lang)),
        topics: state.db.topics(&course).await?,
        forms: LessonForm::ALL
            .iter()
            .map(|f| (f.code(), f.label()))
            .collect(),
        course,
        access,
        lesson,
        body_html,
        materials,
        library,
        tasks,
        questions,
        key: uuid::Uuid::now_v7().simple().to_string(),
        math,
    })
}

#[derive(Deserialize)]
struct AttachForm {
    material: String,
}

async fn attach_material(
    State(state): State<AppState>,
    s: Session,
    Path((id, lesson)): Path<(Id, Id)>,
    Form(f): Form<AttachForm>,
) -> WebResult<Redirect> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    let lesson = lesson_of(&state, &course, lesson).await?;
    let material = parse_uuid(&f.material, "học liệu")?;
    state.db.attach_material(&lesson, material).await?;
    if let Ok(m) = state.db.material(course.school_id, material).await
        && m.approved_version.is_some()
    {
        notify_students(
            &state,
            &course,
            "material",
            &format!("Học liệu mới – {}: {}", course.subject_name, m.title),
            &lesson_url(&course, lesson.id),
        )
        .await?;
    }
    Ok(Redirect::to(&lesson_url(&course, lesson.id)))
}

/// Tells the students of a course about something new (in-app inbox and their channels).
pub(crate) async fn notify_students(
    state: &AppState,
    course: &Course,
    kind: &str,
    title: &str,
    link: &str,
) -> WebResult<()> {
    let users: Vec<Id> = state
        .db
        .course_students(course)
        .await?
        .into_iter()
        .filter_map(|st| st.user_id)
        .collect();
    state
        .db
        .notify_many(&users, course.school_id, kind, title, link)
        .await?;
    Ok(())
}

async fn detach_material(
    State(state): State<AppState>,
    s: Session,
    Path((id, lesson, material)): Path<(Id, Id, Id)>,
) -> WebResult<Redirect> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    let lesson = lesson_of(&state, &course, lesson).await?;
    state.db.detach_material(&lesson, material).await?;
    Ok(Redirect::to(&lesson_url(&course, lesson.id)))
}

/// A material of a course the reader may open, with the version they see.
async fn course_material(
    state: &AppState,
    course: &Course,
    access: &Access,
    material: Id,
) -> WebResult<(db::learning::Material, db::learning::MaterialVersion)> {
    if !state.db.material_in_course(course, material).await? {
        return Err(WebError::NotFound);
    }
    let m = state.db.material(course.school_id, material).await?;
    let version = if access.learner_view() {
        m.approved_version.ok_or(WebError::NotFound)?
    } else {
        m.version
    };
    let v = state
        .db
        .material_version(course.school_id, m.id, version)
        .await?;
    Ok((m, v))
}

#[derive(Template)]
#[template(path = "material_view.html")]
struct MaterialViewPage {
    ctx: Ctx,
    course: Course,
    material: db::learning::Material,
    version: db::learning::MaterialVersion,
    html: String,
    math: bool,
    hls: Option<String>,
    position_s: i64,
    learner: bool,
    video_note: Option<String>,
    embed: Option<String>,
}

async fn material_page(
    State(state): State<AppState>,
    s: Session,
    Path((id, material)): Path<(Id, Id)>,
) -> WebResult<Response> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    let (m, v) = course_material(&state, &course, &access, material).await?;
    let mut position_s = 0;
    if let Access::Student(_) = access {
        state
            .db
            .record_progress(&course, m.id, s.user.id, None, 0, m.duration_s)
            .await?;
        position_s = state
            .db
            .lesson_progress_position(&course, m.id, s.user.id)
            .await?;
    }
    let html = crate::rich::render(&v.body);
    let hls = (m.kind == MaterialKind::Video && m.video_status.as_deref() == Some("ready"))
        .then(|| crate::pages::video::hls_url(&course, &m));
    let video_note = crate::pages::video::status_note(&m, s.lang);
    let embed = v.url.as_deref().and_then(crate::rich::embed_url);
    let with_embed = embed.is_some();
    let page = render(&MaterialViewPage {
        embed,
        ctx: Ctx::new(&s, v.title.clone()).with_help("hoc-tap"),
        math: crate::rich::has_math(&html),
        course,
        learner: matches!(access, Access::Student(_)),
        material: m,
        version: v,
        html,
        hls,
        position_s,
        video_note,
    })?;
    Ok(with_embed_policy(page, with_embed))
}

/// A page, with the policy that lets it frame the known players when it embeds one.
pub(crate) fn with_embed_policy(page: Html<String>, embed: bool) -> Response {
    let mut r = page.into_response();
    if embed && let Ok(v) = axum::http::HeaderValue::from_str(&crate::rich::csp_with_embeds()) {
        r.headers_mut()
            .insert(axum::http::header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

async fn material_file(
    State(state): State<AppState>,
    s: Session,
    Path((id, material)): Path<(Id, Id)>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    let (_, v) = course_material(&state, &course, &access, material).await?;
    let key = v.file_key.ok_or(WebError::NotFound)?;
    crate::files::serve(
        &state,
        &key,
        v.content_type
            .as_deref()
            .unwrap_or("application/octet-stream"),
        v.file_name.as_deref().unwrap_or("tep"),
        &headers,
    )
    .await
}

#[derive(Deserialize)]
struct Beacon {
    #[serde(default)]
    position: Option<f64>,
    #[serde(default)]
    watched: Option<f64>,
}

/// Longest step a single beacon may claim: the player reports every 15 s.
const MAX_BEACON_STEP_S: i64 = 30;

async fn progress_beacon(
    State(state): State<AppState>,
    s: Session,
    Path((id, material)): Path<(Id, Id)>,
    crate::error::Json(b): crate::error::Json<Beacon>,
) -> WebResult<Response> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    if !matches!(access, Access::Student(_)) {
        return Ok(axum::http::StatusCode::NO_CONTENT.into_response());
    }
    let (m, _) = course_material(&state, &course, &access, material).await?;
    let clean = |x: Option<f64>| x.filter(|v| v.is_finite() && *v >= 0.0).map(|v| v as i64);
    let position = clean(b.position).map(|p| m.duration_s.map_or(p, |d| p.min(d)));
    let step = clean(b.watched).unwrap_or(0).min(MAX_BEACON_STEP_S);
    state
        .db
        .record_progress(&course, m.id, s.user.id, position, step, m.duration_s)
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

// ----- tasks -----

/// Fields and files of a multipart form.
pub struct Upload {
    /// Text fields.
    pub fields: std::collections::HashMap<String, String>,
    /// Files: (field name, sanitized file name, bytes).
    pub files: Vec<(String, String, Vec<u8>)>,
}

impl Upload {
    /// A text field, empty when absent.
    pub fn get(&self, k: &str) -> String {
        self.fields.get(k).cloned().unwrap_or_default()
    }
}

/// Reads a multipart form with at most `max_files` files of at most `max_bytes` each.
pub async fn read_upload(
    req: axum::extract::Request,
    state: &AppState,
    max_files: usize,
    max_bytes: usize,
) -> WebResult<Upload> {
    use axum::extract::FromRequest;
    let too_big = || {
        WebError::BadRequest(format!(
            "Tệp gửi lên quá lớn (tối đa {max_files} tệp, mỗi tệp {} MB).",
            max_bytes / 1024 / 1024
        ))
    };
    let mut mp = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|_| WebError::BadRequest("Biểu mẫu gửi lên không hợp lệ.".into()))?;
    let mut fields = std::collections::HashMap::new();
    let mut files = Vec::new();
    while let Some(field) = mp.next_field().await.map_err(|_| too_big())? {
        let name = field.name().unwrap_or("").to_owned();
        if let Some(file_name) = field.file_name().map(crate::files::clean_name) {
            let bytes = field.bytes().await.map_err(|_| too_big())?;
            if bytes.is_empty() {
                continue;
            }
            if files.len() >= max_files {
                return Err(WebError::BadRequest(format!(
                    "Gửi tối đa {max_files} tệp một lần."
                )));
            }
            if bytes.len() > max_bytes {
                return Err(WebError::BadRequest(format!(
                    "Tệp \"{file_name}\" lớn quá {} MB.",
                    max_bytes / 1024 / 1024
                )));
            }
            files.push((name, file_name, bytes.to_vec()));
        } else {
            let text = field.text().await.map_err(|_| too_big())?;
            fields.insert(name, text);
        }
    }
    Ok(Upload { fields, files })
}

/// Checks and stores uploaded files under `prefix`; nothing is stored if one is refused.
pub async fn store_files(
    state: &AppState,
    prefix: &str,
    files: Vec<(String, String, Vec<u8>)>,
) -> WebResult<Vec<NewFile>> {
    let mut checked = Vec::new();
    for (_, name, bytes) in files {
        let ctype = crate::files::check_kind(&name, &bytes)?;
        checked.push((name, ctype, bytes));
    }
    let mut out = Vec::new();
    for (name, ctype, bytes) in checked {
        let key = format!("{prefix}/{}", uuid::Uuid::now_v7());
        let size = bytes.len() as i64;
        state
            .storage
            .put(&key, bytes)
            .await
            .map_err(|e| WebError::Internal(e.into()))?;
        out.push(NewFile {
            storage_key: key,
            file_name: name,
            content_type: ctype.to_owned(),
            size,
        });
    }
    Ok(out)
}

async fn add_task(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    req: axum::extract::Request,
) -> WebResult<Redirect> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    let up = read_upload(req, &state, MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES).await?;
    let title = check_text(&up.get("title"), "tên bài tập", true, 200)?;
    let instructions = check_text(&up.get("instructions"), "hướng dẫn", false, MAX_TEXT_CHARS)?;
    let opens_at = parse_local_time(&up.get("opens"), "Mở từ")?.unwrap_or_else(db::now_ms);
    let due_at = parse_local_time(&up.get("due"), "Hạn nộp")?;
    if let Some(d) = due_at
        && d <= opens_at
    {
        return Err(WebError::BadRequest(
            "Hạn nộp phải sau thời điểm mở bài tập.".into(),
        ));
    }
    let late_policy =
        LatePolicy::from_code(up.get("late").trim()).unwrap_or(LatePolicy::AcceptLate);
    let lesson_id = match up.get("lesson").trim() {
        "" => None,
        l => Some(
            lesson_of(&state, &course, parse_uuid(l, "bài học")?)
                .await?
                .id,
        ),
    };
    let files = store_files(&state, &format!("tasks/{}", course.school_id), up.files).await?;
    let task_id = state
        .db
        .create_task(
            &course,
            &TaskInput {
                lesson_id,
                title,
                instructions,
                opens_at,
                due_at,
                late_policy,
            },
            s.user.id,
        )
        .await?;
    if !files.is_empty() {
        let task = state.db.task(&course, task_id).await?;
        state.db.add_task_files(&task, &files).await?;
    }
    Ok(Redirect::to(&format!("/courses/{id}/tasks/{task_id}")))
}

/// A student's row on the teacher's view of a task.
pub struct TaskRow {
    /// The student.
    pub student: CourseStudent,
    /// Their submission.
    pub submission: Option<Submission>,
    /// Its files.
    pub files: Vec<db::learning::LearningFile>,
}

#[derive(Template)]
#[template(path = "task.html")]
struct TaskPage {
    ctx: Ctx,
    course: Course,
    access: Access,
    task: Task,
    instructions: String,
    task_files: Vec<db::learning::LearningFile>,
    rows: Vec<TaskRow>,
    mine: Option<Submission>,
    my_files: Vec<db::learning::LearningFile>,
    filter: String,
    key: String,
    overdue: bool,
    missing: usize,
    late: usize,
    math: bool,
}

impl TaskPage {
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
    fn score(&self, t: &Option<i64>) -> String {
        t.map(format_tenths).unwrap_or_default()
    }
    fn kb(&self, n: &i64) -> String {
        format!("{} KB", (n + 1023) / 1024)
    }
    fn is_image(&self, f: &db::learning::LearningFile) -> bool {
        f.content_type.starts_with("image/")
    }
    fn can_submit(&self) -> bool {
        self.mine.as_ref().is_none_or(|m| m.score.is_none())
    }
    fn policy(&self) -> &'static str {
        self.task.late_policy.label()
    }
}

#[derive(Deserialize)]
struct TaskQuery {
    #[serde(default)]
    show: String,
    ok: Option<String>,
}

async fn task_page(
    State(state): State<AppState>,
    s: Session,
    Path((id, task)): Path<(Id, Id)>,
    Query(q): Query<TaskQuery>,
) -> WebResult<Html<String>> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    let task = state.db.task(&course, task).await?;
    let task_files = state
        .db
        .learning_files(course.school_id, "task", task.id)
        .await?;
    let now = db::now_ms();
    let overdue = task.due_at.is_some_and(|d| now > d);
    let mut rows = Vec::new();
    let (mut missing, mut late) = (0, 0);
    if matches!(access, Access::Teach | Access::Observe) {
        let subs = state.db.submissions(course.school_id, task.id).await?;
        for st in state.db.course_students(&course).await? {
            let submission = subs.iter().find(|x| x.student_id == st.student_id).cloned();
            let files = match &submission {
                Some(sub) => {
                    state
                        .db
                        .learning_files(course.school_id, "submission", sub.id)
                        .await?
                }
                None => vec![],
            };
            match &submission {
                None => missing += 1,
                Some(x) if x.late => late += 1,
                _ => {}
            }
            let keep = match q.show.as_str() {
                "missing" => submission.is_none(),
                "late" => submission.as_ref().is_some_and(|x| x.late),
                "ungraded" => submission.as_ref().is_some_and(|x| x.score.is_none()),
                _ => true,
            };
            if keep {
                rows.push(TaskRow {
                    student: st,
                    submission,
                    files,
                });
            }
        }
    }
    let student = match &access {
        Access::Student(id) => Some(*id),
        Access::Parent(children) => children.first().copied(),
        _ => None,
    };
    let mine = match student {
        Some(sid) => state.db.submission(course.school_id, task.id, sid).await?,
        None => None,
    };
    let my_files = match &mine {
        Some(m) => {
            state
                .db
                .learning_files(course.school_id, "submission", m.id)
                .await?
        }
        None => vec![],
    };
    let instructions = crate::rich::render(&task.instructions);
    render(&TaskPage {
        ctx: Ctx::new(&s, task.title.clone())
            .with_help("hoc-tap")
            .with_notice(crate::view::saved_notice(q.ok.as_deref(), s.lang)),
        math: crate::rich::has_math(&instructions),
        course,
        access,
        task,
        instructions,
        task_files,
        rows,
        mine,
        my_files,
        filter: q.show,
        key: uuid::Uuid::now_v7().simple().to_string(),
        overdue,
        missing,
        late,
    })
}

async fn submit(
    State(state): State<AppState>,
    s: Session,
    Path((id, task)): Path<(Id, Id)>,
    req: axum::extract::Request,
) -> WebResult<Redirect> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    let Access::Student(student_id) = access else {
        return Err(WebError::Forbidden);
    };
    let task = state.db.task(&course, task).await?;
    let up = read_upload(req, &state, MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES).await?;
    let key = check_key(&up.get("key"))?.to_owned();
    let body = check_text(&up.get("body"), "bài làm", false, MAX_TEXT_CHARS)?;
    if body.is_empty() && up.files.is_empty() {
        return Err(WebError::BadRequest(
            "Bài nộp trống: hãy viết bài làm hoặc đính kèm tệp, ảnh chụp.".into(),
        ));
    }
    let late =
        domain::learning::hand_in(db::now_ms(), task.opens_at, task.due_at, task.late_policy)
            .map_err(|e| WebError::Conflict(e.0))?;
    let files = store_files(
        &state,
        &format!("submissions/{}", course.school_id),
        up.files,
    )
    .await?;
    let result = state
        .db
        .submit(&task, student_id, s.user.id, &body, &files, late, &key)
        .await;
    let created = match result {
        Ok((_, created)) => created,
        Err(e) => {
            for f in &files {
                let _ = state.storage.delete(&f.storage_key).await;
            }
            return Err(e.into());
        }
    };
    if !created {
        // A retry of a submission already stored: drop the second copy of its files.
        for f in &files {
            let _ = state.storage.delete(&f.storage_key).await;
        }
    }
    Ok(Redirect::to(&format!(
        "/courses/{id}/tasks/{}?ok=1",
        task.id
    )))
}

#[derive(Deserialize)]
struct GradeForm {
    score: String,
    #[serde(default)]
    feedback: String,
}

async fn grade(
    State(state): State<AppState>,
    s: Session,
    Path((id, task, submission)): Path<(Id, Id, Id)>,
    Form(f): Form<GradeForm>,
) -> WebResult<Redirect> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    let task = state.db.task(&course, task).await?;
    let sub = state
        .db
        .submission_by_id(course.school_id, submission)
        .await?;
    if sub.task_id != task.id {
        return Err(WebError::NotFound);
    }
    let score = parse_score_tenths(&f.score)
        .map_err(|e| WebError::BadRequest(format!("{}: {}", sub.student_name, e.0)))?;
    let feedback = check_text(&f.feedback, "nhận xét", false, 2000)?;
    state
        .db
        .grade(&course, &task, &sub, score, &feedback, s.user.id)
        .await?;
    Ok(Redirect::to(&format!(
        "/courses/{id}/tasks/{}?ok=1#s-{}",
        task.id, sub.student_id
    )))
}

async fn attachment(
    State(state): State<AppState>,
    s: Session,
    Path((id, file)): Path<(Id, Id)>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    let (kind, owner, f) = match state.db.learning_file(course.school_id, file).await {
        Ok(x) => x,
        Err(db::DbError::NotFound) => return Err(WebError::NotFound),
        Err(e) => return Err(e.into()),
    };
    match kind.as_str() {
        "task" => {
            let t = state.db.task_by_id(course.school_id, owner).await?;
            if t.course_id != course.id {
                return Err(WebError::NotFound);
            }
        }
        "submission" => {
            let sub = state.db.submission_by_id(course.school_id, owner).await?;
            let t = state.db.task_by_id(course.school_id, sub.task_id).await?;
            let own = match &access {
                Access::Student(sid) => *sid == sub.student_id,
                Access::Parent(children) => children.contains(&sub.student_id),
                Access::Teach | Access::Observe => true,
            };
            if t.course_id != course.id || !own {
                return Err(WebError::NotFound);
            }
        }
        _ => return Err(WebError::NotFound),
    }
    crate::files::serve(
        &state,
        &f.storage_key,
        &f.content_type,
        &f.file_name,
        &headers,
    )
    .await
}

// ----- questions -----

#[derive(Template)]
#[template(path = "questions.html")]
struct QuestionsPage {
    ctx: Ctx,
    course: Course,
    access: Access,
    questions: Vec<Question>,
    lessons: Vec<Lesson>,
    key: String,
}

impl QuestionsPage {
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
}

fn question_reader(access: &Access, me: Id) -> Option<Id> {
    match access {
        Access::Teach | Access::Observe => None,
        _ => Some(me),
    }
}

async fn questions_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Html<String>> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    let questions = state
        .db
        .questions(&course, question_reader(&access, s.user.id), None)
        .await?;
    render(&QuestionsPage {
        ctx: Ctx::new(
            &s,
            format!(
                "{} · {}",
                s.lang.t("questions-title"),
                course_title(&course)
            ),
        )
        .with_help("hoc-tap"),
        lessons: state.db.lessons(&course).await?,
        course,
        access,
        questions,
        key: uuid::Uuid::now_v7().simple().to_string(),
    })
}

#[derive(Deserialize)]
struct AskForm {
    body: String,
    #[serde(default)]
    lesson: String,
    #[serde(default)]
    private: Option<String>,
    key: String,
}

/// Questions one person may ask per hour (flood control).
const QUESTIONS_PER_HOUR: usize = 30;

async fn ask(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<AskForm>,
) -> WebResult<Redirect> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    if matches!(access, Access::Observe | Access::Parent(_)) {
        return Err(WebError::Forbidden);
    }
    let body = check_text(&f.body, "câu hỏi", true, 5000)?;
    let key = check_key(&f.key)?;
    let hour_ago = db::now_ms() - 3_600_000;
    let recent = state
        .db
        .questions(&course, Some(s.user.id), None)
        .await?
        .iter()
        .filter(|q| q.author_id == s.user.id && q.created_at > hour_ago)
        .count();
    if recent >= QUESTIONS_PER_HOUR {
        return Err(WebError::TooMany(
            "Bạn đã hỏi nhiều câu trong một giờ; hãy chờ giáo viên trả lời trước.".into(),
        ));
    }
    let lesson = match f.lesson.trim() {
        "" => None,
        l => Some(
            lesson_of(&state, &course, parse_uuid(l, "bài học")?)
                .await?
                .id,
        ),
    };
    let qid = state
        .db
        .ask(
            &course,
            lesson,
            s.user.id,
            &s.user.full_name,
            &body,
            f.private.is_some(),
            key,
        )
        .await?;
    Ok(Redirect::to(&format!("/courses/{id}/questions/{qid}")))
}

#[derive(Template)]
#[template(path = "question.html")]
struct QuestionPage {
    ctx: Ctx,
    course: Course,
    access: Access,
    question: Question,
    body: String,
    replies: Vec<(Reply, String)>,
    key: String,
    math: bool,
}

impl QuestionPage {
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
    fn by_teacher(&self, id: &Id) -> bool {
        self.course.teacher_user_id == Some(*id)
    }
}

async fn question_of(
    state: &AppState,
    s: &Session,
    course: &Course,
    access: &Access,
    id: Id,
) -> WebResult<Question> {
    let q = state.db.question(course, id).await?;
    let visible = match access {
        Access::Teach | Access::Observe => true,
        _ => !q.hidden && (!q.private || q.author_id == s.user.id),
    };
    if !visible {
        return Err(WebError::NotFound);
    }
    Ok(q)
}

async fn question_page(
    State(state): State<AppState>,
    s: Session,
    Path((id, qid)): Path<(Id, Id)>,
) -> WebResult<Html<String>> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    let question = question_of(&state, &s, &course, &access, qid).await?;
    let replies: Vec<(Reply, String)> = state
        .db
        .replies(&question, access.teaches())
        .await?
        .into_iter()
        .map(|r| {
            let html = crate::rich::render(&r.body);
            (r, html)
        })
        .collect();
    state
        .db
        .read_notifications_for(s.user.id, &format!("/courses/{id}/questions/{qid}"))
        .await?;
    let body = crate::rich::render(&question.body);
    let math =
        crate::rich::has_math(&body) || replies.iter().any(|(_, h)| crate::rich::has_math(h));
    render(&QuestionPage {
        ctx: Ctx::new(&s, s.lang.t("question-title")).with_help("hoc-tap"),
        course,
        access,
        question,
        body,
        replies,
        key: uuid::Uuid::now_v7().simple().to_string(),
        math,
    })
}

#[derive(Deserialize)]
struct ReplyForm {
    body: String,
    key: String,
}

async fn reply(
    State(state): State<AppState>,
    s: Session,
    Path((id, qid)): Path<(Id, Id)>,
    Form(f): Form<ReplyForm>,
) -> WebResult<Redirect> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    if matches!(access, Access::Observe | Access::Parent(_)) {
        return Err(WebError::Forbidden);
    }
    let q = question_of(&state, &s, &course, &access, qid).await?;
    let body = check_text(&f.body, "câu trả lời", true, 5000)?;
    state
        .db
        .reply(&course, &q, s.user.id, &body, check_key(&f.key)?)
        .await?;
    Ok(Redirect::to(&format!("/courses/{id}/questions/{qid}#end")))
}

#[derive(Deserialize)]
struct AnsweredForm {
    answered: String,
}

async fn mark_answered(
    State(state): State<AppState>,
    s: Session,
    Path((id, qid)): Path<(Id, Id)>,
    Form(f): Form<AnsweredForm>,
) -> WebResult<Redirect> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    let q = question_of(&state, &s, &course, &access, qid).await?;
    // The teacher, or the student who asked, marks the question answered.
    if !access.teaches() && q.author_id != s.user.id {
        return Err(WebError::Forbidden);
    }
    state.db.set_answered(&q, f.answered == "1").await?;
    Ok(Redirect::to(&format!("/courses/{id}/questions/{qid}")))
}

#[derive(Deserialize)]
struct ModerateForm {
    #[serde(default)]
    reply: String,
    hidden: String,
}

async fn moderate(
    State(state): State<AppState>,
    s: Session,
    Path((id, qid)): Path<(Id, Id)>,
    Form(f): Form<ModerateForm>,
) -> WebResult<Redirect> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    let q = question_of(&state, &s, &course, &access, qid).await?;
    let reply = match f.reply.trim() {
        "" => None,
        r => Some(parse_uuid(r, "trả lời")?),
    };
    state
        .db
        .moderate_question(&q, reply, f.hidden == "1", s.user.id)
        .await?;
    Ok(Redirect::to(&format!("/courses/{id}/questions/{qid}")))
}

// ----- posts -----

#[derive(Deserialize)]
struct PostForm {
    title: String,
    body: String,
}

async fn add_post(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<PostForm>,
) -> WebResult<Redirect> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    let title = check_text(&f.title, "tiêu đề", true, 200)?;
    let body = check_text(&f.body, "nội dung thông báo", true, 5000)?;
    state.db.post(&course, s.user.id, &title, &body).await?;
    Ok(Redirect::to(&format!("/courses/{id}")))
}

// ----- school and class announcements -----

#[derive(Template)]
#[template(path = "school_posts.html")]
struct SchoolPostsPage {
    ctx: Ctx,
    school: School,
    posts: Vec<(Post, String)>,
    classes: Vec<db::school::Class>,
    whole_school: bool,
}

impl SchoolPostsPage {
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
}

/// The classes the reader may announce to: all for managers, their homeroom classes otherwise.
async fn postable_classes(
    state: &AppState,
    s: &Session,
    school: &School,
) -> WebResult<(bool, Vec<db::school::Class>)> {
    let Some(year) = state.db.current_year(school.id).await? else {
        return Ok((false, vec![]));
    };
    let manager = s
        .actor
        .can(Action::ManageSchool, Target::School(&school.as_ref()));
    let me = state.db.staff_by_user(school.id, s.user.id).await?;
    let classes = state
        .db
        .classes(school.id, year.id)
        .await?
        .into_iter()
        .filter(|c| manager || (me.is_some() && c.homeroom_staff_id == me.as_ref().map(|m| m.id)))
        .collect();
    Ok((manager, classes))
}

async fn school_posts_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Html<String>> {
    let school = super::school_for(&state, &s, id, Action::ViewSchool).await?;
    let (whole_school, classes) = postable_classes(&state, &s, &school).await?;
    let posts = state
        .db
        .school_posts(school.id, None)
        .await?
        .into_iter()
        .map(|p| {
            let html = crate::rich::render(&p.body);
            (p, html)
        })
        .collect();
    render(&SchoolPostsPage {
        ctx: Ctx::new(&s, s.lang.t("school-posts-title")).with_help("hoc-tap"),
        school,
        posts,
        classes,
        whole_school,
    })
}

#[derive(Deserialize)]
struct SchoolPostForm {
    #[serde(default)]
    class: String,
    title: String,
    body: String,
}

async fn add_school_post(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<SchoolPostForm>,
) -> WebResult<Redirect> {
    let school = super::school_for(&state, &s, id, Action::ViewSchool).await?;
    let (whole_school, classes) = postable_classes(&state, &s, &school).await?;
    let class = match f.class.trim() {
        "" => None,
        c => Some(parse_uuid(c, "lớp")?),
    };
    let allowed = match class {
        None => whole_school,
        Some(c) => classes.iter().any(|x| x.id == c),
    };
    if !allowed {
        return Err(WebError::Forbidden);
    }
    let title = check_text(&f.title, "tiêu đề", true, 200)?;
    let body = check_text(&f.body, "nội dung thông báo", true, 5000)?;
    let year = state
        .db
        .current_year(school.id)
        .await?
        .ok_or_else(|| WebError::Conflict("Trường chưa có năm học hiện tại.".into()))?;
    state
        .db
        .post_school(school.id, year.id, class, s.user.id, &title, &body)
        .await?;
    Ok(Redirect::to(&format!("/schools/{id}/posts")))
}

// ----- progress -----

#[derive(Template)]
#[template(path = "progress.html")]
struct ProgressPage {
    ctx: Ctx,
    course: Course,
    rows: Vec<StudentProgress>,
    totals: db::learning::CourseTotals,
    filter: String,
    live: std::collections::HashMap<Id, db::live::LiveTally>,
}

impl ProgressPage {
    fn score(&self, t: &Option<i64>) -> String {
        t.map(format_tenths).unwrap_or_default()
    }
    fn live_share(&self, student: &Id) -> String {
        super::live::tally_label(self.live.get(student))
    }
}

#[derive(Deserialize)]
struct ProgressQuery {
    #[serde(default)]
    show: String,
    #[serde(default)]
    format: String,
}

async fn progress_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<ProgressQuery>,
) -> WebResult<Response> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    let mut rows = state.db.course_progress(&course).await?;
    // A student sees only their own row; a parent their children's.
    match &access {
        Access::Student(sid) => rows.retain(|r| r.student_id == *sid),
        Access::Parent(children) => rows.retain(|r| children.contains(&r.student_id)),
        Access::Teach | Access::Observe => {}
    }
    let totals = state.db.course_totals(&course).await?;
    let live = state.db.course_live_tally(&course).await?;
    match q.show.as_str() {
        "missing" => rows.retain(|r| r.missing > 0),
        "late" => rows.retain(|r| r.late > 0),
        "inactive" => rows.retain(|r| r.opened == 0),
        _ => {}
    }
    if q.format == "xlsx" {
        use office::table::Cell;
        let headers = [
            "Mã học sinh",
            "Họ và tên",
            "Học liệu đã mở",
            "Video đã xem (%)",
            "Bài đã nộp",
            "Đã chấm",
            "Nộp muộn",
            "Chưa nộp (quá hạn)",
            "Điểm TB bài tập",
            "Bài kiểm tra đã làm",
            "Điểm TB kiểm tra",
            "Dự lớp trực tuyến",
        ];
        let data: Vec<Vec<Cell>> = rows
            .iter()
            .map(|r| {
                vec![
                    Cell::from(r.code.clone()),
                    Cell::from(r.full_name.clone()),
                    Cell::from(r.opened),
                    Cell::from(r.video_percent),
                    Cell::from(r.submitted),
                    Cell::from(r.graded),
                    Cell::from(r.late),
                    Cell::from(r.missing),
                    r.average
                        .map_or(Cell::from(""), |a| Cell::Number(a as f64 / 10.0)),
                    Cell::from(r.tests),
                    r.test_average
                        .map_or(Cell::from(""), |a| Cell::Number(a as f64 / 10.0)),
                    Cell::from(super::live::tally_label(live.get(&r.student_id))),
                ]
            })
            .collect();
        let title = vec![
            format!("TIẾN ĐỘ HỌC TẬP – {}", course_title(&course).to_uppercase()),
            format!(
                "Tổng: {} học liệu, {} video, {} bài tập · số liệu lúc {}",
                totals.materials,
                totals.videos,
                totals.tasks,
                format_ms(db::now_ms())
            ),
        ];
        let bytes = office::table::export("Tiến độ", &title, &headers, &data)
            .map_err(|e| WebError::Internal(e.into()))?;
        return Ok(crate::files::xlsx_download(
            bytes,
            &format!("tien-do-{}-{}.xlsx", course.class_name, course.subject_code),
        ));
    }
    Ok(render(&ProgressPage {
        ctx: Ctx::new(
            &s,
            format!("{} · {}", s.lang.t("progress-title"), course_title(&course)),
        )
        .with_help("hoc-tap"),
        course,
        rows,
        totals,
        filter: q.show,
        live,
    })?
    .into_response())
}
