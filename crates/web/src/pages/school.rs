//! A school's organisation: overview, years and calendar, subjects, classes, staff and teaching
//! assignments. Reading needs `ViewSchool`; every change needs `ManageSchool`.

use super::{OkQuery, issued, parse_uuid, school_for};
use crate::AppState;
use crate::auth::{Session, hash_password, random_password};
use crate::error::Form;
use crate::error::{WebError, WebResult};
use crate::view::{Ctx, render, saved_notice};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect, Response};
use axum::routing::{get, post};
use db::accounts::NewUser;
use db::org::School;
use db::roster::{Student, StudentFilter};
use db::school::{Assignment, CalendarEntry, Class, StaffMember, Subject, Year};
use domain::Id;
use domain::auth::{Action, Role};
use domain::calendar::{YearDates, default_year, school_year_of};
use domain::people::{format_vn_date, parse_vn_date};
use serde::Deserialize;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schools/{id}", get(overview))
        .route("/schools/{id}/years", get(years_page).post(create_year))
        .route("/schools/{id}/years/{year}/current", post(make_current))
        .route("/schools/{id}/years/{year}/calendar", post(add_calendar))
        .route(
            "/schools/{id}/subjects",
            get(subjects_page).post(add_subject),
        )
        .route(
            "/schools/{id}/classes",
            get(classes_page).post(create_class),
        )
        .route("/schools/{id}/classes/{class}", get(class_page))
        .route("/schools/{id}/classes/{class}/homeroom", post(set_homeroom))
        .route(
            "/schools/{id}/classes/{class}/passwords",
            post(issue_class_passwords),
        )
        .route("/schools/{id}/staff", get(staff_page).post(create_staff))
        .route(
            "/schools/{id}/settings",
            get(settings_page).post(save_settings),
        )
        .route("/schools/{id}/staff/{staff}/status", post(set_staff_status))
        .route("/schools/{id}/classes/{class}/students", post(add_student))
        .route(
            "/schools/{id}/staff/{staff}/password",
            post(reset_staff_password),
        )
        .route(
            "/schools/{id}/assignments",
            get(assignments_page).post(assign),
        )
        .route("/schools/{id}/assignments/{a}/delete", post(unassign))
}

fn ctx(s: &Session, title: &str, ok: &OkQuery) -> Ctx {
    Ctx::new(s, s.lang.t(title)).with_notice(saved_notice(ok.ok.as_deref(), s.lang))
}

async fn current_year_or_none(state: &AppState, school: &School) -> WebResult<Option<Year>> {
    Ok(state.db.current_year(school.id).await?)
}

async fn require_year(state: &AppState, school: &School) -> WebResult<Year> {
    current_year_or_none(state, school).await?.ok_or_else(|| {
        WebError::Conflict("Trường chưa có năm học. Hãy tạo năm học trước (mục Năm học).".into())
    })
}

#[derive(Template)]
#[template(path = "school.html")]
struct OverviewPage {
    ctx: Ctx,
    school: School,
    year: Option<Year>,
    classes: Vec<Class>,
    students: i64,
    staff: i64,
    can_manage: bool,
    audit: Vec<(String, String, String)>,
}

async fn overview(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::ViewSchool).await?;
    let year = current_year_or_none(&state, &school).await?;
    let classes = match &year {
        Some(y) => state.db.classes(id, y.id).await?,
        None => vec![],
    };
    let (_, students, staff) = state
        .db
        .school_counts(id, year.as_ref().map(|y| y.id))
        .await?;
    let can_manage = s.actor.can(
        Action::ManageSchool,
        domain::auth::Target::School(&school.as_ref()),
    );
    let audit = if can_manage {
        state
            .db
            .audit_of_school(id, 10)
            .await?
            .into_iter()
            .map(|a| {
                (
                    crate::view::format_ms(a.at),
                    a.actor_name.unwrap_or_default(),
                    change_line(&a.action, &a.detail),
                )
            })
            .collect()
    } else {
        vec![]
    };
    render(&OverviewPage {
        ctx: Ctx::new(&s, school.name.clone()),
        school,
        year,
        classes,
        students,
        staff,
        can_manage,
        audit,
    })
}

#[derive(Template)]
#[template(path = "years.html")]
struct YearsPage {
    ctx: Ctx,
    school: School,
    years: Vec<Year>,
    calendar: Vec<CalendarEntry>,
    suggested: YearDates,
}

impl YearsPage {
    fn d(&self, d: &time::Date) -> String {
        format_vn_date(*d)
    }
}

async fn years_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::ManageSchool).await?;
    let years = state.db.years(id).await?;
    let calendar = match years.iter().find(|y| y.is_current).or(years.first()) {
        Some(y) => state.db.calendar(id, y.id).await?,
        None => vec![],
    };
    let today = time::OffsetDateTime::now_utc().date();
    let next = years
        .first()
        .map(|y| y.dates.start.year() + 1)
        .unwrap_or_else(|| school_year_of(today));
    render(&YearsPage {
        ctx: ctx(&s, "nav-years", &q).with_help("nam-hoc-lop-phan-cong"),
        school,
        years,
        calendar,
        suggested: default_year(next),
    })
}

/// Form to create a year.
#[derive(Deserialize)]
pub struct YearForm {
    start: String,
    term1_end: String,
    term2_start: String,
    end: String,
}

/// Validates the four dates of a school year, naming the field at fault.
pub(crate) fn parse_year(
    start: &str,
    term1_end: &str,
    term2_start: &str,
    end: &str,
) -> WebResult<YearDates> {
    YearDates {
        start: date_field(start, "Ngày bắt đầu năm học")?,
        term1_end: date_field(term1_end, "Ngày kết thúc học kỳ I")?,
        term2_start: date_field(term2_start, "Ngày bắt đầu học kỳ II")?,
        end: date_field(end, "Ngày kết thúc năm học")?,
    }
    .validate()
    .map_err(|e| WebError::BadRequest(e.0))
}

fn date_field(raw: &str, label: &str) -> WebResult<time::Date> {
    parse_vn_date(raw).map_err(|e| WebError::BadRequest(format!("{label}: {}", e.0)))
}

async fn create_year(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<YearForm>,
) -> WebResult<Redirect> {
    school_for(&state, &s, id, Action::ManageSchool).await?;
    let dates = parse_year(&f.start, &f.term1_end, &f.term2_start, &f.end)?;
    state.db.create_year(id, dates, Some(s.user.id)).await?;
    Ok(Redirect::to(&format!("/schools/{id}/years?ok=1")))
}

async fn make_current(
    State(state): State<AppState>,
    s: Session,
    Path((id, year)): Path<(Id, Id)>,
) -> WebResult<Redirect> {
    school_for(&state, &s, id, Action::ManageSchool).await?;
    state.db.set_current_year(id, year).await?;
    Ok(Redirect::to(&format!("/schools/{id}/years?ok=1")))
}

/// Form to add a calendar entry.
#[derive(Deserialize)]
pub struct CalendarForm {
    start: String,
    #[serde(default)]
    end: String,
    title: String,
    #[serde(default)]
    day_off: Option<String>,
}

async fn add_calendar(
    State(state): State<AppState>,
    s: Session,
    Path((id, year)): Path<(Id, Id)>,
    Form(f): Form<CalendarForm>,
) -> WebResult<Redirect> {
    school_for(&state, &s, id, Action::ManageSchool).await?;
    let start = date_field(&f.start, "Từ ngày")?;
    let end = if f.end.trim().is_empty() {
        start
    } else {
        date_field(&f.end, "Đến ngày")?
    };
    let title = domain::text::normalize_spaces(&f.title);
    if title.is_empty() {
        return Err(WebError::BadRequest("Thiếu nội dung".into()));
    }
    state
        .db
        .add_calendar_entry(id, year, start, end, &title, f.day_off.is_some())
        .await?;
    Ok(Redirect::to(&format!("/schools/{id}/years?ok=1")))
}

#[derive(Template)]
#[template(path = "subjects.html")]
struct SubjectsPage {
    ctx: Ctx,
    school: School,
    subjects: Vec<Subject>,
}

async fn subjects_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::ManageSchool).await?;
    render(&SubjectsPage {
        ctx: ctx(&s, "nav-subjects", &q).with_help("nam-hoc-lop-phan-cong"),
        subjects: state.db.subjects(id).await?,
        school,
    })
}

/// Form to add a school subject.
#[derive(Deserialize)]
pub struct SubjectForm {
    code: String,
    name: String,
    grade: String,
    periods: String,
}

async fn add_subject(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<SubjectForm>,
) -> WebResult<Redirect> {
    let school = school_for(&state, &s, id, Action::ManageSchool).await?;
    let grade: u8 = f
        .grade
        .trim()
        .parse()
        .ok()
        .filter(|g| school.level.grades().contains(g))
        .ok_or_else(|| {
            WebError::BadRequest(format!("Khối \"{}\" không có ở trường này", f.grade))
        })?;
    let periods: i64 = f
        .periods
        .trim()
        .parse()
        .ok()
        .filter(|p| (1..=1000).contains(p))
        .ok_or_else(|| WebError::BadRequest("Số tiết/năm phải là số từ 1 đến 1000".into()))?;
    let code = f.code.trim().to_uppercase();
    if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(WebError::BadRequest(
            "Mã môn chỉ gồm chữ không dấu và chữ số".into(),
        ));
    }
    let name = domain::text::normalize_spaces(&f.name);
    if name.is_empty() {
        return Err(WebError::BadRequest("Thiếu tên môn".into()));
    }
    state
        .db
        .upsert_subject(id, &code, &name, i64::from(grade), periods)
        .await?;
    Ok(Redirect::to(&format!("/schools/{id}/subjects?ok=1")))
}

#[derive(Template)]
#[template(path = "classes.html")]
struct ClassesPage {
    ctx: Ctx,
    school: School,
    year: Option<Year>,
    classes: Vec<Class>,
    staff: Vec<StaffMember>,
    grades: Vec<u8>,
    can_manage: bool,
}

async fn classes_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::ViewSchool).await?;
    let year = current_year_or_none(&state, &school).await?;
    let classes = match &year {
        Some(y) => state.db.classes(id, y.id).await?,
        None => vec![],
    };
    let can_manage = s.actor.can(
        Action::ManageSchool,
        domain::auth::Target::School(&school.as_ref()),
    );
    render(&ClassesPage {
        ctx: ctx(&s, "nav-classes", &q).with_help("nam-hoc-lop-phan-cong"),
        staff: if can_manage {
            active_staff(&state, id).await?
        } else {
            vec![]
        },
        grades: school.level.grades().collect(),
        school,
        year,
        classes,
        can_manage,
    })
}

/// Form to create a class.
#[derive(Deserialize)]
pub struct ClassForm {
    name: String,
    grade: String,
    #[serde(default)]
    homeroom: String,
}

/// Normalizes a class name as rosters write it ("6 a1" → "6A1").
pub fn normalize_class_name(raw: &str) -> WebResult<String> {
    let name: String = raw.split_whitespace().collect::<String>().to_uppercase();
    if name.is_empty() || name.chars().count() > 20 {
        return Err(WebError::BadRequest(
            "Tên lớp phải có từ 1 đến 20 ký tự".into(),
        ));
    }
    Ok(name)
}

async fn create_class(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<ClassForm>,
) -> WebResult<Redirect> {
    let school = school_for(&state, &s, id, Action::ManageSchool).await?;
    let homeroom = if f.homeroom.is_empty() {
        None
    } else {
        Some(parse_uuid(&f.homeroom, "Giáo viên chủ nhiệm")?)
    };
    new_class(&state, &school, &f.name, &f.grade, homeroom).await?;
    Ok(Redirect::to(&format!("/schools/{id}/classes?ok=1")))
}

/// Creates a class in the school's current year from what a user typed (form or API).
pub(crate) async fn new_class(
    state: &AppState,
    school: &School,
    name: &str,
    grade: &str,
    homeroom: Option<Id>,
) -> WebResult<Class> {
    let year = require_year(state, school).await?;
    let name = normalize_class_name(name)?;
    let grade: u8 = grade
        .trim()
        .parse()
        .ok()
        .filter(|g| school.level.grades().contains(g))
        .ok_or_else(|| WebError::BadRequest(format!("Khối \"{grade}\" không có ở trường này")))?;
    Ok(state
        .db
        .create_class(school.id, year.id, &name, i64::from(grade), homeroom)
        .await?)
}

#[derive(Template)]
#[template(path = "class.html")]
struct ClassPage {
    ctx: Ctx,
    school: School,
    class: Class,
    students: Vec<Student>,
    assignments: Vec<Assignment>,
    staff: Vec<StaffMember>,
    can_manage: bool,
    can_manage_class: bool,
    can_teach: bool,
    announcements: Vec<db::family::Announcement>,
    parents: (usize, usize),
    parent_list: Vec<db::family::ClassParent>,
}

impl ClassPage {
    fn when(&self, ms: &i64) -> String {
        crate::view::format_ms(*ms)
    }
}

async fn class_page(
    State(state): State<AppState>,
    s: Session,
    Path((id, class_id)): Path<(Id, Id)>,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::ViewSchool).await?;
    let class = state.db.class(id, class_id).await?;
    let filter = StudentFilter {
        class_id: Some(class_id),
        ..StudentFilter::default()
    };
    let students = state.db.students(id, Some(class.year_id), &filter).await?;
    let assignments = state
        .db
        .assignments(id, class.year_id, None)
        .await?
        .into_iter()
        .filter(|a| a.class_id == class_id)
        .collect();
    let can_manage = s.actor.can(
        Action::ManageSchool,
        domain::auth::Target::School(&school.as_ref()),
    );
    let people = super::family::class_people(&state, &s, id, class_id).await?;
    let sref = school.as_ref();
    let can_manage_class = s.actor.can(Action::ManageClass, people.target(&sref));
    let can_teach = s.actor.can(Action::TeachClass, people.target(&sref));
    let (announcements, parents, parent_list) = if can_teach || can_manage_class {
        let list = state.db.class_parents(id, class_id).await?;
        let mut ids: Vec<_> = list.iter().map(|p| (p.user_id, p.activated)).collect();
        ids.sort();
        ids.dedup();
        (
            state.db.class_announcements(id, class_id).await?,
            (ids.iter().filter(|(_, a)| *a).count(), ids.len()),
            list,
        )
    } else {
        (vec![], (0, 0), vec![])
    };
    render(&ClassPage {
        can_manage_class,
        can_teach,
        announcements,
        parents,
        parent_list,
        ctx: Ctx::new(&s, format!("{} {}", s.lang.t("class"), class.name))
            .with_notice(saved_notice(q.ok.as_deref(), s.lang)),
        staff: if can_manage {
            active_staff(&state, id).await?
        } else {
            vec![]
        },
        school,
        class,
        students,
        assignments,
        can_manage,
    })
}

/// Form to choose a homeroom teacher.
#[derive(Deserialize)]
pub struct HomeroomForm {
    #[serde(default)]
    staff: String,
}

async fn set_homeroom(
    State(state): State<AppState>,
    s: Session,
    Path((id, class_id)): Path<(Id, Id)>,
    Form(f): Form<HomeroomForm>,
) -> WebResult<Redirect> {
    school_for(&state, &s, id, Action::ManageSchool).await?;
    let staff = if f.staff.is_empty() {
        None
    } else {
        Some(parse_uuid(&f.staff, "Giáo viên chủ nhiệm")?)
    };
    state.db.set_homeroom(id, class_id, staff).await?;
    Ok(Redirect::to(&format!(
        "/schools/{id}/classes/{class_id}?ok=1"
    )))
}

/// Issues new one-time passwords to every studying student of a class (and their parents when
/// asked), and shows a printable list. Used at the start of the year, after an import.
async fn issue_class_passwords(
    State(state): State<AppState>,
    s: Session,
    Path((id, class_id)): Path<(Id, Id)>,
    Form(f): Form<IssueForm>,
) -> WebResult<Response> {
    school_for(&state, &s, id, Action::ManageAccounts).await?;
    let class = state.db.class(id, class_id).await?;
    let filter = StudentFilter {
        class_id: Some(class_id),
        status: Some(domain::people::StudentStatus::Studying),
        ..StudentFilter::default()
    };
    let students = state.db.students(id, Some(class.year_id), &filter).await?;
    let mut accounts = Vec::new();
    for st in students {
        let mut targets = Vec::new();
        if f.who != "parents"
            && let Some(uid) = st.user_id
        {
            targets.push((st.full_name.clone(), uid));
        }
        if f.who != "students" {
            for g in state.db.guardians(id, st.id).await? {
                targets.push((
                    format!("{} ({} của {})", g.full_name, g.relation, st.full_name),
                    g.user_id,
                ));
            }
        }
        for (label, uid) in targets {
            let user = state.db.user(uid).await?;
            let password = random_password();
            state
                .db
                .set_password(uid, &hash_password(password.clone()).await?, true)
                .await?;
            accounts.push((label, user.username, password));
        }
    }
    state
        .db
        .audit(&db::audit::AuditEntry {
            school_id: Some(id),
            actor_id: Some(s.user.id),
            action: "user.issue_passwords",
            entity: "class",
            entity_id: Some(class_id),
            detail: format!("{}: {} tài khoản", class.name, accounts.len()),
        })
        .await?;
    issued(&s, format!("/schools/{id}/classes/{class_id}"), accounts)
}

/// Whose passwords to issue.
#[derive(Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    who: String,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    ctx: Ctx,
    school: School,
    staff: Vec<StaffMember>,
    roles: Vec<Role>,
}

async fn staff_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::ManageSchool).await?;
    render(&StaffPage {
        ctx: ctx(&s, "nav-staff", &q).with_help("nam-hoc-lop-phan-cong"),
        staff: state.db.staff(id).await?,
        school,
        roles: vec![
            Role::Teacher,
            Role::GroupHead,
            Role::SchoolAdmin,
            Role::Principal,
        ],
    })
}

/// Form to add a member of staff.
#[derive(Deserialize)]
pub struct StaffForm {
    full_name: String,
    username: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    role: String,
    #[serde(default)]
    subject_group: String,
}

async fn create_staff(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<StaffForm>,
) -> WebResult<Response> {
    school_for(&state, &s, id, Action::ManageAccounts).await?;
    let bad = |e: domain::people::Invalid| WebError::BadRequest(e.0);
    let full_name = domain::people::parse_full_name(&f.full_name).map_err(bad)?;
    let username = domain::people::Username::parse(&f.username).map_err(bad)?;
    let phone = if f.phone.trim().is_empty() {
        None
    } else {
        Some(
            domain::people::VnPhone::parse(&f.phone)
                .map_err(bad)?
                .as_str()
                .to_owned(),
        )
    };
    let email = f.email.trim().to_lowercase();
    if !email.is_empty() && !email.contains('@') {
        return Err(WebError::BadRequest(format!(
            "Email \"{email}\" không hợp lệ"
        )));
    }
    let role = Role::from_code(&f.role)
        .filter(|r| {
            matches!(
                r,
                Role::Teacher | Role::GroupHead | Role::SchoolAdmin | Role::Principal
            )
        })
        .ok_or_else(|| WebError::BadRequest("Vai trò không hợp lệ".into()))?;
    let password = random_password();
    let member = state
        .db
        .create_staff(
            id,
            &NewUser {
                username: username.as_str().to_owned(),
                full_name: full_name.clone(),
                email: Some(email).filter(|e| !e.is_empty()),
                phone,
                password_hash: Some(hash_password(password.clone()).await?),
                must_change_password: true,
            },
            role.label(),
            f.subject_group.trim(),
            role,
            Some(s.user.id),
        )
        .await?;
    issued(
        &s,
        format!("/schools/{id}/staff"),
        vec![(full_name, member.username, password)],
    )
}

async fn reset_staff_password(
    State(state): State<AppState>,
    s: Session,
    Path((id, staff_id)): Path<(Id, Id)>,
) -> WebResult<Response> {
    school_for(&state, &s, id, Action::ManageAccounts).await?;
    let member = state.db.staff_member(id, staff_id).await?;
    let (user, password) = super::reset_password(&state, &s, Some(id), member.user_id).await?;
    issued(
        &s,
        format!("/schools/{id}/staff"),
        vec![(member.full_name, user.username, password)],
    )
}

#[derive(Template)]
#[template(path = "assignments.html")]
struct AssignmentsPage {
    ctx: Ctx,
    school: School,
    year: Option<Year>,
    assignments: Vec<Assignment>,
    classes: Vec<Class>,
    subjects: Vec<Subject>,
    staff: Vec<StaffMember>,
}

async fn assignments_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::ManageSchool).await?;
    let year = current_year_or_none(&state, &school).await?;
    let (assignments, classes) = match &year {
        Some(y) => (
            state.db.assignments(id, y.id, None).await?,
            state.db.classes(id, y.id).await?,
        ),
        None => (vec![], vec![]),
    };
    render(&AssignmentsPage {
        ctx: ctx(&s, "nav-assignments", &q).with_help("nam-hoc-lop-phan-cong"),
        subjects: state.db.subjects(id).await?,
        staff: active_staff(&state, id).await?,
        school,
        year,
        assignments,
        classes,
    })
}

/// Form to assign a teacher.
#[derive(Deserialize)]
pub struct AssignForm {
    class: String,
    subject: String,
    staff: String,
}

async fn assign(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<AssignForm>,
) -> WebResult<Redirect> {
    school_for(&state, &s, id, Action::ManageSchool).await?;
    state
        .db
        .assign(
            id,
            parse_uuid(&f.class, "Lớp")?,
            parse_uuid(&f.subject, "Môn")?,
            parse_uuid(&f.staff, "Giáo viên")?,
            Some(s.user.id),
        )
        .await?;
    Ok(Redirect::to(&format!("/schools/{id}/assignments?ok=1")))
}

async fn unassign(
    State(state): State<AppState>,
    s: Session,
    Path((id, a)): Path<(Id, Id)>,
) -> WebResult<Redirect> {
    school_for(&state, &s, id, Action::ManageSchool).await?;
    state.db.unassign(id, a).await?;
    Ok(Redirect::to(&format!("/schools/{id}/assignments?ok=1")))
}

/// The form to add one student to a class.
#[derive(Deserialize)]
pub struct AddStudentForm {
    code: String,
    full_name: String,
    birth_date: String,
    gender: String,
    #[serde(default)]
    parent_name: String,
    #[serde(default)]
    parent_phone: String,
}

async fn add_student(
    State(state): State<AppState>,
    s: Session,
    Path((id, class_id)): Path<(Id, Id)>,
    Form(f): Form<AddStudentForm>,
) -> WebResult<Redirect> {
    school_for(&state, &s, id, Action::ManageSchool).await?;
    let class = state.db.class(id, class_id).await?;
    let code = domain::people::StudentCode::parse(&f.code)
        .map_err(|e| WebError::BadRequest(format!("Mã học sinh: {}", e.0)))?;
    if let Some(existing) = state.db.student_by_code(id, code.as_str()).await? {
        return Err(WebError::Conflict(format!(
            "Mã học sinh {} đã có: {} (lớp {}). Muốn chuyển lớp, hãy mở trang của học sinh đó.",
            code,
            existing.full_name,
            existing.class_name.unwrap_or_else(|| "—".into())
        )));
    }
    let d = super::students::parse_details(&f.full_name, "", &f.birth_date, &f.gender, "")?;
    let mut guardians = Vec::new();
    if !f.parent_phone.trim().is_empty() {
        let phone = domain::people::VnPhone::parse(&f.parent_phone)
            .map_err(|e| WebError::BadRequest(format!("Số điện thoại phụ huynh: {}", e.0)))?;
        let name = domain::text::normalize_spaces(&f.parent_name);
        guardians.push((
            Some(name).filter(|n| !n.is_empty()),
            phone.as_str().to_owned(),
            "Phụ huynh".to_owned(),
        ));
    }
    let row = db::roster::ImportStudent {
        code: code.as_str().to_owned(),
        personal_id: None,
        full_name: d.full_name,
        birth_date: d.birth_date,
        gender: d.gender,
        ethnicity: d.ethnicity,
        status: domain::people::StudentStatus::Studying,
        class_name: class.name.clone(),
        grade: class.grade,
        guardians,
    };
    state
        .db
        .apply_roster(id, class.year_id, &[row], Some(s.user.id), None)
        .await?;
    Ok(Redirect::to(&format!(
        "/schools/{id}/classes/{class_id}?ok=1"
    )))
}

/// Whether the member of staff is at work.
#[derive(Deserialize)]
pub struct StaffStatusForm {
    active: String,
}

async fn set_staff_status(
    State(state): State<AppState>,
    s: Session,
    Path((id, staff_id)): Path<(Id, Id)>,
    Form(f): Form<StaffStatusForm>,
) -> WebResult<Redirect> {
    school_for(&state, &s, id, Action::ManageAccounts).await?;
    let member = state.db.staff_member(id, staff_id).await?;
    if member.user_id == s.user.id {
        return Err(WebError::Conflict(
            "Không thể tự đánh dấu chính mình đã nghỉ".into(),
        ));
    }
    state
        .db
        .set_staff_active(id, staff_id, f.active == "1", Some(s.user.id))
        .await?;
    Ok(Redirect::to(&format!("/schools/{id}/staff?ok=1")))
}

/// Staff who can be given classes: those still at work.
async fn active_staff(state: &AppState, school_id: Id) -> WebResult<Vec<StaffMember>> {
    Ok(state
        .db
        .staff(school_id)
        .await?
        .into_iter()
        .filter(|s| s.status == "active")
        .collect())
}

#[derive(Template)]
#[template(path = "school_settings.html")]
struct SettingsPage {
    ctx: Ctx,
    school: School,
    zalo_template: Option<String>,
}

async fn settings_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::ManageSchool).await?;
    render(&SettingsPage {
        ctx: ctx(&s, "settings-title", &q).with_help("phu-huynh"),
        zalo_template: state.db.school_zalo(id).await?.map(|(_, t)| t),
        school,
    })
}

/// The school's Zalo Official Account.
#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    zalo_token: String,
    #[serde(default)]
    zalo_template: String,
    action: String,
}

async fn save_settings(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<SettingsForm>,
) -> WebResult<Redirect> {
    school_for(&state, &s, id, Action::ManageSchool).await?;
    match f.action.as_str() {
        "clear" => state.db.set_school_zalo(id, None, s.user.id).await?,
        "save" => {
            let token = f.zalo_token.trim();
            let template = f.zalo_template.trim();
            if token.is_empty() || token.len() > 1000 || token.contains(char::is_whitespace) {
                return Err(WebError::BadRequest(
                    "Access token Zalo OA không hợp lệ".into(),
                ));
            }
            if template.is_empty() || !template.chars().all(|c| c.is_ascii_digit()) {
                return Err(WebError::BadRequest(
                    "Mã mẫu ZNS phải là một dãy chữ số".into(),
                ));
            }
            state
                .db
                .set_school_zalo(id, Some((token, template)), s.user.id)
                .await?;
        }
        _ => return Err(WebError::BadRequest("Thao tác không hợp lệ".into())),
    }
    Ok(Redirect::to(&format!("/schools/{id}/settings?ok=1")))
}

/// What a change was about, for the school's list of recent changes.
fn change_area(action: &str) -> &'static str {
    match action.split('.').next().unwrap_or_default() {
        "year" => "Năm học",
        "user" => "Tài khoản",
        "unit" => "Đơn vị quản lý",
        "survey" => "Khảo sát",
        "submission" => "Bài nộp",
        "student" => "Học sinh",
        "staff" => "Cán bộ",
        "roster" => "Danh sách",
        "parent" => "Phụ huynh",
        "message" => "Tin nhắn",
        "material" => "Học liệu",
        "live" => "Lớp trực tuyến",
        "exchange" => "Trao đổi dữ liệu",
        "exam" => "Bài kiểm tra",
        "document" => "Kế hoạch, quy chế",
        "bank" => "Ngân hàng câu hỏi",
        "assignment" => "Phân công",
        "d4725" => "Tự đánh giá (QĐ 4725)",
        "attendance" => "Điểm danh",
        "gradebook" => "Sổ điểm",
        _ => "Thay đổi",
    }
}

/// One readable line per change: its area, then the detail — a JSON detail as "key: value"
/// pairs — cut to a phone's few lines.
fn change_line(action: &str, detail: &str) -> String {
    const MAX: usize = 160;
    fn flat(v: &serde_json::Value, out: &mut Vec<String>, key: &str) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    flat(v, out, k);
                }
            }
            serde_json::Value::Null => {}
            serde_json::Value::String(s) if s.is_empty() => {}
            serde_json::Value::String(s) => out.push(format!("{key}: {s}")),
            other => out.push(format!("{key}: {other}")),
        }
    }
    let text = match serde_json::from_str::<serde_json::Value>(detail) {
        Ok(v @ serde_json::Value::Object(_)) => {
            let mut parts = Vec::new();
            flat(&v, &mut parts, "");
            parts.join(", ")
        }
        _ => detail.to_owned(),
    };
    let mut line = format!("{}: {text}", change_area(action));
    if line.chars().count() > MAX {
        line = line.chars().take(MAX - 1).collect::<String>() + "…";
    }
    line
}

#[cfg(test)]
mod change_tests {
    use super::change_line;

    #[test]
    fn json_details_read_as_pairs_and_long_ones_are_cut() {
        assert_eq!(
            change_line(
                "d4725.item",
                r#"{"after":{"entered":1,"note":"","url":null},"criterion":"2.3a"}"#
            ),
            "Tự đánh giá (QĐ 4725): entered: 1, criterion: 2.3a"
        );
        assert_eq!(
            change_line("year.create", "2026-2027"),
            "Năm học: 2026-2027"
        );
        let long = change_line("survey.update", &"x".repeat(500));
        assert_eq!(long.chars().count(), 160);
        assert!(long.ends_with('…'));
    }
}
