//! The student list of a school and one student's record, as staff, the student and parents
//! see it.

use super::{OkQuery, issued, school_for};
use crate::AppState;
use crate::auth::Session;
use crate::error::Form;
use crate::error::{WebError, WebResult};
use crate::view::{Ctx, render, saved_notice};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect, Response};
use axum::routing::{get, post};
use db::org::School;
use db::roster::{Guardian, Student, StudentFilter};
use db::school::Class;
use domain::Id;
use domain::auth::{Action, Target};
use domain::people::{StudentStatus, format_vn_date};
use serde::Deserialize;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schools/{id}/students", get(list))
        .route("/schools/{id}/students/{student}", get(detail))
        .route("/schools/{id}/students/{student}/status", post(set_status))
        .route("/schools/{id}/students/{student}/edit", post(edit))
        .route("/schools/{id}/students/{student}/comments", post(comment))
        .route(
            "/schools/{id}/students/{student}/password",
            post(reset_password),
        )
}

#[derive(Template)]
#[template(path = "students.html")]
struct ListPage {
    ctx: Ctx,
    school: School,
    students: Vec<Student>,
    classes: Vec<Class>,
    statuses: [StudentStatus; 5],
    q: ListQuery,
    can_manage: bool,
}

/// Filters of the list.
#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    class: String,
    #[serde(default)]
    status: String,
}

impl ListPage {
    fn d(&self, d: &time::Date) -> String {
        format_vn_date(*d)
    }
}

async fn list(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<ListQuery>,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::ViewSchool).await?;
    let year = state.db.current_year(id).await?;
    let classes = match &year {
        Some(y) => state.db.classes(id, y.id).await?,
        None => vec![],
    };
    let filter = StudentFilter {
        class_id: Id::parse_str(&q.class).ok(),
        status: StudentStatus::from_code(&q.status),
        query: Some(q.q.clone()),
    };
    let students = state.db.students(id, year.map(|y| y.id), &filter).await?;
    render(&ListPage {
        ctx: Ctx::new(&s, s.lang.t("nav-students")).with_help("nhap-danh-sach-hoc-sinh"),
        can_manage: s
            .actor
            .can(Action::ManageSchool, Target::School(&school.as_ref())),
        school,
        students,
        classes,
        statuses: StudentStatus::ALL,
        q,
    })
}

#[derive(Template)]
#[template(path = "student.html")]
struct DetailPage {
    ctx: Ctx,
    school: School,
    student: Student,
    guardians: Vec<Guardian>,
    statuses: [StudentStatus; 5],
    can_manage: bool,
    classes: Vec<Class>,
    /// For a parent: the child's teachers to message.
    teachers: Vec<(Id, String, String)>,
    /// For a teacher of the class: the parents can be messaged.
    message_parents: bool,
    /// For a parent: the class's announcements and whether they read them.
    announcements: Vec<(db::family::Announcement, bool)>,
    /// Teachers' comments.
    comments: Vec<db::family::Comment>,
    /// The viewer may write a comment.
    can_comment: bool,
    /// The student's homework (for the student and their parents).
    tasks: Vec<db::learning::StudentTask>,
    /// The student's grades of the current term (for the student and their parents).
    grades: Vec<super::gradebook::SubjectGrades>,
    /// That term (1 or 2).
    term: u8,
    /// For the student and their parents: upcoming live sessions and attendance so far.
    live: super::live::ChildLive,
    /// For the student and their parents: school-day attendance this year.
    school_attendance: super::attendance::ChildAttendance,
    /// For the student and their parents: tests to come, open or just closed.
    exams: Vec<super::family::ChildExam>,
}

impl DetailPage {
    fn d(&self, d: &time::Date) -> String {
        format_vn_date(*d)
    }

    fn when(&self, ms: &i64) -> String {
        crate::view::format_ms(*ms)
    }

    fn score(&self, t: &Option<i64>) -> String {
        t.map(domain::learning::format_tenths).unwrap_or_default()
    }
}

/// Loads a student and checks the actor may see them: staff of the school, officers above it,
/// the student, or one of their parents. Anyone else gets 403, whether the ids exist or not.
async fn student_for(
    state: &AppState,
    s: &Session,
    school_id: Id,
    id: Id,
) -> WebResult<(School, Student, Vec<Guardian>)> {
    let (school, student) = match (
        state.db.school(school_id).await,
        state.db.student(school_id, id, None).await,
    ) {
        (Ok(school), Ok(_)) => {
            let year = state.db.current_year(school_id).await?.map(|y| y.id);
            (school, state.db.student(school_id, id, year).await?)
        }
        (Err(db::DbError::NotFound), _) | (_, Err(db::DbError::NotFound)) => {
            return Err(WebError::Forbidden);
        }
        (Err(e), _) | (_, Err(e)) => return Err(e.into()),
    };
    let guardians = state.db.guardians(school_id, id).await?;
    let ids: Vec<Id> = guardians.iter().map(|g| g.user_id).collect();
    s.require(
        Action::ViewStudent,
        Target::Student {
            school: &school.as_ref(),
            user_id: student.user_id,
            guardians: &ids,
        },
    )?;
    Ok((school, student, guardians))
}

async fn detail(
    State(state): State<AppState>,
    s: Session,
    Path((id, student_id)): Path<(Id, Id)>,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    let (school, student, guardians) = student_for(&state, &s, id, student_id).await?;
    let can_manage = s
        .actor
        .can(Action::ManageSchool, Target::School(&school.as_ref()));
    let classes = match state.db.current_year(id).await? {
        Some(y) if can_manage => state.db.classes(id, y.id).await?,
        _ => vec![],
    };
    let is_parent = guardians.iter().any(|g| g.user_id == s.user.id);
    let class_staff = match student.class_id {
        Some(c) => state.db.class_staff(id, c).await?,
        None => vec![],
    };
    let message_parents = class_staff.iter().any(|(u, _, _)| *u == s.user.id);
    let announcements = match (is_parent, student.class_id) {
        (true, Some(c)) => state.db.announcements_for(s.user.id, id, c).await?,
        _ => vec![],
    };
    let can_comment = can_manage || message_parents;
    let own = student.user_id == Some(s.user.id);
    let tasks = if is_parent || own {
        state.db.student_tasks(student_id, 20).await?
    } else {
        vec![]
    };
    let term = match state.db.current_year(id).await? {
        Some(y) => y
            .dates
            .term_of(time::OffsetDateTime::now_utc().date())
            .unwrap_or(1),
        None => 1,
    };
    let grades = if is_parent || own {
        super::gradebook::student_grades(&state, student_id, i64::from(term)).await?
    } else {
        vec![]
    };
    let live = if is_parent || own {
        super::live::child_live(&state, student_id, false).await?
    } else {
        super::live::ChildLive::default()
    };
    let school_attendance = if is_parent || own {
        super::attendance::child_attendance(&state, id, student_id).await?
    } else {
        super::attendance::ChildAttendance::default()
    };
    let exams = if is_parent || own {
        super::family::child_exams(&state, &student).await?
    } else {
        vec![]
    };
    render(&DetailPage {
        exams,
        school_attendance,
        live,
        grades,
        term,
        tasks,
        comments: state.db.comments(id, student_id).await?,
        can_comment,
        teachers: if is_parent { class_staff } else { vec![] },
        message_parents,
        announcements,
        ctx: {
            let ctx = Ctx::new(&s, student.full_name.clone())
                .with_notice(saved_notice(q.ok.as_deref(), s.lang));
            // Parents get the guide to their child's page.
            if is_parent {
                ctx.with_help("phu-huynh")
            } else {
                ctx
            }
        },
        can_manage,
        classes,
        school,
        student,
        guardians,
        statuses: StudentStatus::ALL,
    })
}

/// Form to change a status.
#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
}

async fn set_status(
    State(state): State<AppState>,
    s: Session,
    Path((id, student_id)): Path<(Id, Id)>,
    Form(f): Form<StatusForm>,
) -> WebResult<Redirect> {
    school_for(&state, &s, id, Action::ManageSchool).await?;
    let status = StudentStatus::from_code(&f.status)
        .ok_or_else(|| WebError::BadRequest("Trạng thái không hợp lệ".into()))?;
    state
        .db
        .set_student_status(id, student_id, status, Some(s.user.id))
        .await?;
    Ok(Redirect::to(&format!(
        "/schools/{id}/students/{student_id}?ok=1"
    )))
}

/// Whose password to reset: the student's or one parent's.
#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    user: String,
}

async fn reset_password(
    State(state): State<AppState>,
    s: Session,
    Path((id, student_id)): Path<(Id, Id)>,
    Form(f): Form<ResetForm>,
) -> WebResult<Response> {
    school_for(&state, &s, id, Action::ManageAccounts).await?;
    let student = state.db.student(id, student_id, None).await?;
    let guardians = state.db.guardians(id, student_id).await?;
    // Only the student's own account or one of their parents' may be reset from here.
    let target = Id::parse_str(&f.user).ok();
    let (label, uid) = match target {
        Some(t) if guardians.iter().any(|g| g.user_id == t) => {
            let g = guardians
                .iter()
                .find(|g| g.user_id == t)
                .expect("checked above");
            (format!("{} ({})", g.full_name, g.relation), t)
        }
        None | Some(_)
            if student.user_id.is_some() && (target.is_none() || target == student.user_id) =>
        {
            (
                student.full_name.clone(),
                student.user_id.expect("checked above"),
            )
        }
        _ => {
            return Err(WebError::BadRequest(
                "Tài khoản không thuộc học sinh này".into(),
            ));
        }
    };
    let (user, password) = super::reset_password(&state, &s, Some(id), uid).await?;
    issued(
        &s,
        format!("/schools/{id}/students/{student_id}"),
        vec![(label, user.username, password)],
    )
}

/// The form to correct a student's details and class.
#[derive(Deserialize)]
pub struct EditForm {
    full_name: String,
    #[serde(default)]
    personal_id: String,
    birth_date: String,
    gender: String,
    #[serde(default)]
    ethnicity: String,
    #[serde(default)]
    class: String,
}

/// Validates the details typed in a form, naming the field at fault.
pub fn parse_details(
    full_name: &str,
    personal_id: &str,
    birth_date: &str,
    gender: &str,
    ethnicity: &str,
) -> WebResult<db::roster::StudentDetails> {
    let field =
        |label: &str, e: domain::people::Invalid| WebError::BadRequest(format!("{label}: {}", e.0));
    Ok(db::roster::StudentDetails {
        full_name: domain::people::parse_full_name(full_name).map_err(|e| field("Họ và tên", e))?,
        personal_id: if personal_id.trim().is_empty() {
            None
        } else {
            Some(
                domain::people::PersonalId::parse(personal_id)
                    .map_err(|e| field("Số định danh cá nhân", e))?
                    .as_str()
                    .to_owned(),
            )
        },
        birth_date: domain::people::parse_vn_date(birth_date).map_err(|e| field("Ngày sinh", e))?,
        gender: domain::people::Gender::parse(gender).map_err(|e| field("Giới tính", e))?,
        ethnicity: match domain::text::normalize_spaces(ethnicity) {
            e if e.is_empty() => "Kinh".into(),
            e => e,
        },
    })
}

async fn edit(
    State(state): State<AppState>,
    s: Session,
    Path((id, student_id)): Path<(Id, Id)>,
    Form(f): Form<EditForm>,
) -> WebResult<Redirect> {
    school_for(&state, &s, id, Action::ManageSchool).await?;
    let details = parse_details(
        &f.full_name,
        &f.personal_id,
        &f.birth_date,
        &f.gender,
        &f.ethnicity,
    )?;
    let year = state.db.current_year(id).await?.map(|y| y.id);
    let before = state.db.student(id, student_id, year).await?;
    let class = if f.class.is_empty() {
        None
    } else {
        Some(super::parse_uuid(&f.class, "Lớp")?)
    };
    state
        .db
        .update_student(id, student_id, &details, Some(s.user.id))
        .await?;
    if let Some(c) = class
        && Some(c) != before.class_id
    {
        state
            .db
            .move_student(id, student_id, c, Some(s.user.id))
            .await?;
    }
    Ok(Redirect::to(&format!(
        "/schools/{id}/students/{student_id}?ok=1"
    )))
}

/// A teacher's comment.
#[derive(Deserialize)]
pub struct CommentForm {
    body: String,
}

/// Teachers of the student's class (and the school's managers) comment on a student; the
/// student and their parents read it.
async fn comment(
    State(state): State<AppState>,
    s: Session,
    Path((id, student_id)): Path<(Id, Id)>,
    Form(f): Form<CommentForm>,
) -> WebResult<Redirect> {
    let (school, student, _) = student_for(&state, &s, id, student_id).await?;
    let class_staff: Vec<Id> = match student.class_id {
        Some(c) => state
            .db
            .class_staff(id, c)
            .await?
            .into_iter()
            .map(|(u, _, _)| u)
            .collect(),
        None => vec![],
    };
    let manager = s
        .actor
        .can(Action::ManageSchool, Target::School(&school.as_ref()));
    if !manager && !class_staff.contains(&s.user.id) {
        return Err(WebError::Forbidden);
    }
    let body = f.body.trim();
    if body.is_empty() || body.chars().count() > 2000 {
        return Err(WebError::BadRequest(
            "Nhận xét phải có từ 1 đến 2000 ký tự".into(),
        ));
    }
    state
        .db
        .add_comment(id, student_id, s.user.id, body)
        .await?;
    Ok(Redirect::to(&format!(
        "/schools/{id}/students/{student_id}?ok=1"
    )))
}
