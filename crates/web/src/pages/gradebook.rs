//! The subject gradebook (sổ điểm) of a course: entry by the teacher (Circular 22 for grades
//! 6–12 with ĐĐGtx/ĐĐGgk/ĐĐGck, averages and comment ratings; Circular 27 for grades 1–5 with
//! levels and periodic test scores), read-only views for students and parents, homework scores
//! posted into a regular column, Excel export and import (Circular 22 and 27 alike), the change
//! history and the principal's term lock.
//!
//! An import is checked, then previewed, then confirmed: the upload is checked against the
//! class and the grade rules (every bad cell is listed by row and column, and nothing is kept);
//! a clean file is kept in the file store under a key built on the server (school, course, user
//! and a random token) and the teacher sees every cell it changes, old → new; the confirmation
//! reads the file again and writes only if the changes are still the ones shown (a digest of
//! them travels with the form), so a save by someone else in between is never overwritten
//! unseen. The write itself is one audited, lock-checked transaction.

use super::learning::{Access, course_for, read_upload};
use super::{parse_uuid, school_for};
use crate::AppState;
use crate::auth::Session;
use crate::error::{Form, WebError, WebResult};
use crate::view::{Ctx, format_ms, render, saved_notice};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use db::gradebook::{
    CellWrite, GradeEntry, KIND_CK, KIND_GK, KIND_KTCK, KIND_KTGK, KIND_MCK, KIND_MGK, KIND_TX,
    cell_label,
};
use db::learning::{Course, CourseStudent};
use db::org::School;
use domain::Id;
use domain::auth::{Action, Target};
use domain::grades::{
    COMMENT_REGULAR_PER_TERM, GradeScheme, PrimaryLevel, PrimaryScore, Rating, Score, Term,
    TermRatings, TermScores, comment_term_result, comment_year_result, is_comment_graded,
    primary_has_midterm_test, primary_has_test, required_regular, term_average, year_average,
};
use office::gradebook::{
    ClassStudent, GradeColumn, GradeValue, GradebookHeader, GradebookRow, GradebookSheet,
    ImportSpec, RowError, SheetScheme,
};
use serde::Deserialize;
use std::collections::HashMap;

/// Most regular assessments a term may hold.
const MAX_REGULAR: i64 = 20;
/// Most history lines shown.
const HISTORY_LIMIT: i64 = 500;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/courses/{id}/gradebook", get(book_page).post(save))
        .route("/courses/{id}/gradebook.xlsx", get(export))
        .route("/courses/{id}/gradebook/post-task", post(post_task))
        .route(
            "/courses/{id}/gradebook/import",
            get(import_page).post(import_preview),
        )
        .route(
            "/courses/{id}/gradebook/import/confirm",
            post(import_confirm),
        )
        .route("/courses/{id}/gradebook/history", get(history_page))
        .route("/schools/{sid}/terms/lock", post(lock_term))
}

// ----- the scheme of a course -----

/// How a course is graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// Circular 22, scored subject.
    Scored,
    /// Circular 22, comment-graded subject (Đ / CĐ).
    Comment,
    /// Circular 27 (primary).
    Primary,
}

fn scheme_of(course: &Course) -> Scheme {
    let grade = u8::try_from(course.grade).unwrap_or(0);
    match GradeScheme::for_grade(grade) {
        Some(GradeScheme::Circular27) => Scheme::Primary,
        _ if is_comment_graded(&course.subject_code) || is_comment_graded(&course.subject_name) => {
            Scheme::Comment
        }
        _ => Scheme::Scored,
    }
}

fn scheme_label(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Primary => GradeScheme::Circular27.label(),
        _ => GradeScheme::Circular22.label(),
    }
}

fn required(course: &Course, scheme: Scheme) -> usize {
    match scheme {
        Scheme::Scored => required_regular(u16::try_from(course.periods_per_year).unwrap_or(0)),
        Scheme::Comment => COMMENT_REGULAR_PER_TERM,
        Scheme::Primary => 0,
    }
}

fn parse_term(raw: Option<&str>) -> WebResult<i64> {
    match raw.map(str::trim) {
        None | Some("") | Some("1") => Ok(1),
        Some("2") => Ok(2),
        Some(other) => Err(WebError::BadRequest(format!(
            "Học kỳ \"{other}\" không hợp lệ: chọn 1 hoặc 2."
        ))),
    }
}

fn term_of(term: i64) -> Term {
    if term == 2 { Term::II } else { Term::I }
}

/// A column of the gradebook table.
#[derive(Debug, Clone)]
struct Column {
    kind: &'static str,
    slot: i64,
    header: String,
}

fn column(kind: &'static str, slot: i64) -> Column {
    Column {
        kind,
        slot,
        header: cell_label(kind, slot),
    }
}

/// The columns of a term: TX1…TXn (n = max(required, filled)), GK, CK; or the primary levels
/// and test scores.
fn columns(course: &Course, scheme: Scheme, entries: &[GradeEntry]) -> Vec<Column> {
    match scheme {
        Scheme::Primary => {
            let grade = u8::try_from(course.grade).unwrap_or(0);
            let mut cols = vec![column(KIND_MGK, 1)];
            if primary_has_midterm_test(&course.subject_code, grade) {
                cols.push(column(KIND_KTGK, 1));
            }
            cols.push(column(KIND_MCK, 1));
            if primary_has_test(&course.subject_code) {
                cols.push(column(KIND_KTCK, 1));
            }
            cols
        }
        _ => {
            let filled = entries
                .iter()
                .filter(|e| e.kind == KIND_TX)
                .map(|e| e.slot)
                .max()
                .unwrap_or(0);
            let n = (required(course, scheme) as i64).max(filled);
            (1..=n)
                .map(|s| column(KIND_TX, s))
                .chain([column(KIND_GK, 1), column(KIND_CK, 1)])
                .collect()
        }
    }
}

/// Parses a typed cell into the stored value, or the Vietnamese reason.
fn parse_cell(scheme: Scheme, kind: &str, raw: &str) -> Result<String, String> {
    match (scheme, kind) {
        (Scheme::Scored, KIND_TX | KIND_GK | KIND_CK) => {
            Score::parse(raw).map(|s| s.to_string()).map_err(|e| e.0)
        }
        (Scheme::Comment, KIND_TX | KIND_GK | KIND_CK) => Rating::parse(raw)
            .map(|r| r.code().to_owned())
            .map_err(|e| e.0),
        (Scheme::Primary, KIND_MGK | KIND_MCK) => PrimaryLevel::parse(raw)
            .map(|l| l.code().to_owned())
            .map_err(|e| e.0),
        (Scheme::Primary, KIND_KTGK | KIND_KTCK) => PrimaryScore::parse(raw)
            .map(|s| s.to_string())
            .map_err(|e| e.0),
        _ => Err("cột điểm này không dùng cho môn học".into()),
    }
}

fn cell_name(student: Id, kind: &str, slot: i64) -> String {
    format!("c-{student}-{kind}-{slot}")
}

/// Splits `c-<student_id>-<kind>-<slot>`.
fn split_cell_name(name: &str) -> Option<(Id, String, i64)> {
    let rest = name.strip_prefix("c-")?;
    let mut parts = rest.rsplitn(3, '-');
    let slot = parts.next()?.parse::<i64>().ok()?;
    let kind = parts.next()?.to_owned();
    let student = Id::parse_str(parts.next()?).ok()?;
    Some((student, kind, slot))
}

type Cells = HashMap<(Id, String, i64), String>;

fn cell_map(entries: &[GradeEntry]) -> Cells {
    entries
        .iter()
        .map(|e| ((e.student_id, e.kind.clone(), e.slot), e.value.clone()))
        .collect()
}

fn cell<'a>(cells: &'a Cells, student: Id, kind: &str, slot: i64) -> Option<&'a str> {
    cells
        .get(&(student, kind.to_owned(), slot))
        .map(String::as_str)
}

fn regular_values(cells: &Cells, student: Id) -> Vec<String> {
    let mut tx: Vec<(i64, &String)> = cells
        .iter()
        .filter(|((s, k, _), _)| *s == student && k == KIND_TX)
        .map(|((_, _, slot), v)| (*slot, v))
        .collect();
    tx.sort();
    tx.into_iter().map(|(_, v)| v.clone()).collect()
}

/// The term average (or rating) of a student, or why it cannot be computed.
fn term_result(
    course: &Course,
    scheme: Scheme,
    cells: &Cells,
    student: Id,
) -> Result<String, String> {
    match scheme {
        Scheme::Scored => {
            let s = |v: Option<&str>| v.and_then(|v| Score::parse(v).ok());
            let scores = TermScores {
                regular: regular_values(cells, student)
                    .iter()
                    .filter_map(|v| Score::parse(v).ok())
                    .collect(),
                mid_term: s(cell(cells, student, KIND_GK, 1)),
                end_term: s(cell(cells, student, KIND_CK, 1)),
            };
            term_average(&scores, required(course, scheme))
                .map(|a| a.to_string())
                .map_err(|e| e.to_string())
        }
        Scheme::Comment => {
            let r = |v: Option<&str>| v.and_then(|v| Rating::parse(v).ok());
            let ratings = TermRatings {
                regular: regular_values(cells, student)
                    .iter()
                    .filter_map(|v| Rating::parse(v).ok())
                    .collect(),
                mid_term: r(cell(cells, student, KIND_GK, 1)),
                end_term: r(cell(cells, student, KIND_CK, 1)),
            };
            comment_term_result(&ratings)
                .map(|r| r.label().to_owned())
                .map_err(|e| e.to_string())
        }
        Scheme::Primary => cell(cells, student, KIND_MCK, 1)
            .and_then(|v| PrimaryLevel::parse(v).ok())
            .map(|l| l.label().to_owned())
            .ok_or_else(|| "Chưa đánh giá cuối kỳ".to_owned()),
    }
}

/// One subject of a student's report: the cells of a term as text and the term result.
pub struct SubjectGrades {
    /// The course.
    pub course_id: Id,
    /// Subject.
    pub subject: String,
    /// The cells, e.g. `ĐĐGtx: 8; 7 · ĐĐGgk: 6 · ĐĐGck: 7`.
    pub cells: String,
    /// The term average or rating, or why it is not there yet.
    pub result: Result<String, String>,
}

/// A student's grades of a term in every course of their class (for the student's and the
/// parents' pages). Courses without any cell are left out.
pub async fn student_grades(
    state: &AppState,
    student_id: Id,
    term: i64,
) -> WebResult<Vec<SubjectGrades>> {
    let mut out = Vec::new();
    for course in state.db.student_courses(student_id).await? {
        let entries: Vec<GradeEntry> = state
            .db
            .grade_entries(&course, term)
            .await?
            .into_iter()
            .filter(|e| e.student_id == student_id)
            .collect();
        if entries.is_empty() {
            continue;
        }
        let scheme = scheme_of(&course);
        let cells = cell_map(&entries);
        let mut kinds: Vec<(String, Vec<(i64, String)>)> = Vec::new();
        for e in &entries {
            match kinds.iter_mut().find(|(k, _)| *k == e.kind) {
                Some((_, v)) => v.push((e.slot, e.value.clone())),
                None => kinds.push((e.kind.clone(), vec![(e.slot, e.value.clone())])),
            }
        }
        let order = |k: &str| match k {
            KIND_TX => 0,
            KIND_GK | KIND_MGK | KIND_KTGK => 1,
            _ => 2,
        };
        kinds.sort_by_key(|(k, _)| order(k));
        let text = kinds
            .into_iter()
            .map(|(k, mut v)| {
                v.sort();
                let label = db::gradebook::cell_label(&k, 0);
                let values: Vec<String> = v.into_iter().map(|(_, x)| x).collect();
                format!("{}: {}", label.trim_end_matches('0'), values.join("; "))
            })
            .collect::<Vec<_>>()
            .join(" · ");
        out.push(SubjectGrades {
            course_id: course.id,
            subject: course.subject_name.clone(),
            cells: text,
            result: term_result(&course, scheme, &cells, student_id),
        });
    }
    Ok(out)
}

/// The year result in term II (ĐTBmcn, or the term II rating of a comment subject).
fn year_result(
    scheme: Scheme,
    term_i: &Result<String, String>,
    term_ii: &Result<String, String>,
) -> Result<String, String> {
    match scheme {
        Scheme::Scored => {
            let s = |r: &Result<String, String>| r.as_ref().ok().and_then(|v| Score::parse(v).ok());
            year_average(s(term_i), s(term_ii))
                .map(|a| a.to_string())
                .map_err(|e| e.to_string())
        }
        Scheme::Comment => {
            let rating = term_ii.as_ref().ok().map(|v| {
                if v == Rating::Pass.label() {
                    Rating::Pass
                } else {
                    Rating::Fail
                }
            });
            comment_year_result(rating)
                .map(|r| r.label().to_owned())
                .map_err(|e| e.to_string())
        }
        Scheme::Primary => term_ii.clone(),
    }
}

// ----- the gradebook page -----

/// A cell as the table shows it.
pub struct CellView {
    /// Input name `c-<student>-<kind>-<slot>`.
    pub name: String,
    /// Column header, for the input's label.
    pub label: String,
    /// Stored (or just typed) value.
    pub value: String,
    /// Why the typed value was refused.
    pub error: String,
}

/// A student's line.
pub struct RowView {
    /// Student record.
    pub student_id: Id,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Cells, in column order.
    pub cells: Vec<CellView>,
    /// The term result, when computable.
    pub result: String,
    /// Why it is not.
    pub result_note: String,
    /// The year result (term II only), when computable.
    pub year: String,
    /// Why it is not.
    pub year_note: String,
}

/// A recorded change as the history shows it.
pub struct HistoryRow {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// Which student.
    pub student: String,
    /// Term label.
    pub term: &'static str,
    /// Column.
    pub cell: String,
    /// Before.
    pub old: String,
    /// After.
    pub new: String,
    /// Where it came from.
    pub source: String,
}

#[derive(Template)]
#[template(path = "gradebook.html")]
struct BookPage {
    ctx: Ctx,
    course: Course,
    scheme_label: &'static str,
    scored: bool,
    comment: bool,
    primary: bool,
    term: i64,
    headers: Vec<String>,
    rows: Vec<RowView>,
    show_year: bool,
    can_edit: bool,
    can_files: bool,
    can_lock: bool,
    locked: Option<String>,
    errors: Vec<String>,
    tasks: Vec<(Id, String)>,
    tx_slots: Vec<i64>,
    show_history: bool,
    history: Vec<HistoryRow>,
}

fn course_title(c: &Course) -> String {
    format!("{} – {}", c.subject_name, c.class_name)
}

fn visible(access: &Access, students: Vec<CourseStudent>) -> Vec<CourseStudent> {
    match access {
        Access::Teach | Access::Observe => students,
        Access::Student(id) => students
            .into_iter()
            .filter(|s| s.student_id == *id)
            .collect(),
        Access::Parent(children) => students
            .into_iter()
            .filter(|s| children.contains(&s.student_id))
            .collect(),
    }
}

fn can_manage(s: &Session, school: &School) -> bool {
    s.actor
        .can(Action::ManageSchool, Target::School(&school.as_ref()))
}

/// What a re-rendered form keeps: the typed values and their errors.
#[derive(Default)]
struct Typed {
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
    list: Vec<String>,
}

#[expect(clippy::too_many_arguments, reason = "the page needs each part")]
async fn book(
    state: &AppState,
    s: &Session,
    course: Course,
    school: &School,
    access: &Access,
    term: i64,
    typed: Typed,
    notice: Option<String>,
) -> WebResult<BookPage> {
    let scheme = scheme_of(&course);
    let entries = state.db.grade_entries(&course, term).await?;
    let cols = columns(&course, scheme, &entries);
    let cells = cell_map(&entries);
    let other = if term == 2 {
        Some(cell_map(&state.db.grade_entries(&course, 1).await?))
    } else {
        None
    };
    let students = visible(access, state.db.course_students(&course).await?);
    let lock = state
        .db
        .term_lock(course.school_id, course.year_id, term)
        .await?;
    let rows = students
        .into_iter()
        .map(|st| {
            let cells_view = cols
                .iter()
                .map(|c| {
                    let name = cell_name(st.student_id, c.kind, c.slot);
                    let value = typed.values.get(&name).cloned().unwrap_or_else(|| {
                        cell(&cells, st.student_id, c.kind, c.slot)
                            .unwrap_or("")
                            .to_owned()
                    });
                    CellView {
                        error: typed.errors.get(&name).cloned().unwrap_or_default(),
                        name,
                        label: c.header.clone(),
                        value,
                    }
                })
                .collect();
            let result = term_result(&course, scheme, &cells, st.student_id);
            let (year, year_note) = match &other {
                Some(first) => {
                    let r1 = term_result(&course, scheme, first, st.student_id);
                    split(year_result(scheme, &r1, &result))
                }
                None => (String::new(), String::new()),
            };
            let (result, result_note) = split(result);
            RowView {
                student_id: st.student_id,
                code: st.code,
                name: st.full_name,
                cells: cells_view,
                result,
                result_note,
                year,
                year_note,
            }
        })
        .collect();
    let teaches = access.teaches();
    let tasks = if teaches && scheme == Scheme::Scored {
        state
            .db
            .tasks(&course, None)
            .await?
            .into_iter()
            .filter(|t| t.graded > 0)
            .map(|t| (t.task.id, t.task.title))
            .collect()
    } else {
        Vec::new()
    };
    let tx_slots: Vec<i64> = cols
        .iter()
        .filter(|c| c.kind == KIND_TX)
        .map(|c| c.slot)
        .chain(std::iter::once(
            cols.iter().filter(|c| c.kind == KIND_TX).count() as i64 + 1,
        ))
        .filter(|n| *n <= MAX_REGULAR)
        .collect();
    let title = format!(
        "{} · {} · {}",
        s.lang.t("gb-title"),
        course_title(&course),
        term_of(term).label()
    );
    Ok(BookPage {
        ctx: Ctx::new(s, title).with_notice(notice).with_help("so-diem"),
        scheme_label: scheme_label(scheme),
        scored: scheme == Scheme::Scored,
        comment: scheme == Scheme::Comment,
        primary: scheme == Scheme::Primary,
        term,
        headers: cols.iter().map(|c| c.header.clone()).collect(),
        rows,
        show_year: term == 2 && scheme != Scheme::Primary,
        can_edit: teaches && lock.is_none(),
        can_files: matches!(access, Access::Teach | Access::Observe),
        can_lock: can_manage(s, school),
        locked: lock.map(|l| format!("{}, {}", l.locked_by_name, format_ms(l.locked_at))),
        errors: typed.list,
        tasks,
        tx_slots,
        show_history: false,
        history: Vec::new(),
        course,
    })
}

fn split(r: Result<String, String>) -> (String, String) {
    match r {
        Ok(v) => (v, String::new()),
        Err(e) => (String::new(), e),
    }
}

#[derive(Deserialize)]
struct TermQuery {
    term: Option<String>,
    ok: Option<String>,
}

async fn book_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<TermQuery>,
) -> WebResult<Response> {
    let (course, school, access) = course_for(&state, &s, id).await?;
    let term = parse_term(q.term.as_deref())?;
    let notice = saved_notice(q.ok.as_deref(), s.lang);
    let page = book(
        &state,
        &s,
        course,
        &school,
        &access,
        term,
        Typed::default(),
        notice,
    )
    .await?;
    Ok(render(&page)?.into_response())
}

fn require_teach(access: &Access) -> WebResult<()> {
    if access.teaches() {
        Ok(())
    } else {
        Err(WebError::Forbidden)
    }
}

fn book_url(course: &Course, term: i64) -> String {
    format!("/courses/{}/gradebook?term={term}&ok=1", course.id)
}

/// Saves every cell of the form at once; any invalid cell saves nothing.
async fn save(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(fields): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let (course, school, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    let term = parse_term(
        fields
            .iter()
            .find(|(k, _)| k == "term")
            .map(|(_, v)| v.as_str()),
    )?;
    let scheme = scheme_of(&course);
    let students: HashMap<Id, String> = state
        .db
        .course_students(&course)
        .await?
        .into_iter()
        .map(|st| (st.student_id, st.full_name))
        .collect();
    let mut typed = Typed::default();
    let mut writes = Vec::new();
    for (name, raw) in &fields {
        if !name.starts_with("c-") {
            continue;
        }
        let Some((student, kind, slot)) = split_cell_name(name) else {
            return Err(WebError::BadRequest(format!(
                "Ô điểm \"{name}\" không hợp lệ. Hãy tải lại trang."
            )));
        };
        let Some(student_name) = students.get(&student) else {
            return Err(WebError::BadRequest(
                "Học sinh không thuộc lớp của khoá học này.".into(),
            ));
        };
        if !(1..=MAX_REGULAR).contains(&slot) || (kind != KIND_TX && slot != 1) {
            return Err(WebError::BadRequest(format!(
                "Ô điểm \"{name}\" không hợp lệ. Hãy tải lại trang."
            )));
        }
        typed.values.insert(name.clone(), raw.clone());
        let value = if raw.trim().is_empty() {
            None
        } else {
            match parse_cell(scheme, &kind, raw) {
                Ok(v) => Some(v),
                Err(reason) => {
                    typed.list.push(format!(
                        "{student_name}, {}: {reason}",
                        cell_label(&kind, slot)
                    ));
                    typed.errors.insert(name.clone(), reason);
                    continue;
                }
            }
        };
        writes.push(CellWrite {
            student_id: student,
            kind,
            slot,
            value,
        });
    }
    if !typed.list.is_empty() {
        let mut page = book(&state, &s, course, &school, &access, term, typed, None).await?;
        page.ctx.error = Some(s.lang.t("gb-errors"));
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
    }
    state
        .db
        .set_grades(&course, term, &writes, "manual", s.user.id)
        .await?;
    Ok(Redirect::to(&book_url(&course, term)).into_response())
}

#[derive(Deserialize)]
struct PostTaskForm {
    #[serde(default)]
    term: String,
    task: String,
    slot: String,
}

/// Copies the graded scores of a homework task into one regular column.
async fn post_task(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<PostTaskForm>,
) -> WebResult<Redirect> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    if scheme_of(&course) != Scheme::Scored {
        return Err(WebError::BadRequest(
            "Chỉ chuyển điểm bài tập vào sổ điểm của môn đánh giá bằng điểm số.".into(),
        ));
    }
    let term = parse_term(Some(&f.term))?;
    let task_id = parse_uuid(&f.task, "bài tập")?;
    let slot = f
        .slot
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (1..=MAX_REGULAR).contains(n))
        .ok_or_else(|| {
            WebError::BadRequest(format!(
                "Cột ĐĐGtx \"{}\" không hợp lệ: chọn từ 1 đến {MAX_REGULAR}.",
                f.slot.trim()
            ))
        })?;
    let task = state.db.task(&course, task_id).await?;
    let students: Vec<Id> = state
        .db
        .course_students(&course)
        .await?
        .into_iter()
        .map(|st| st.student_id)
        .collect();
    let writes: Vec<CellWrite> = state
        .db
        .submissions(course.school_id, task.id)
        .await?
        .into_iter()
        .filter(|sub| students.contains(&sub.student_id))
        .filter_map(|sub| {
            let score = Score::from_tenths(u8::try_from(sub.score?).ok()?)?;
            Some(CellWrite {
                student_id: sub.student_id,
                kind: KIND_TX.into(),
                slot,
                value: Some(score.to_string()),
            })
        })
        .collect();
    if writes.is_empty() {
        return Err(WebError::Conflict(
            "Bài tập này chưa có bài nào được chấm điểm.".into(),
        ));
    }
    state
        .db
        .set_grades(
            &course,
            term,
            &writes,
            &format!("task:{}", task.id),
            s.user.id,
        )
        .await?;
    Ok(Redirect::to(&book_url(&course, term)))
}

// ----- term lock -----

#[derive(Deserialize)]
struct LockForm {
    year: String,
    term: String,
    lock: String,
    #[serde(default)]
    back: String,
}

/// Locks or unlocks a term of a school year (principal or school administrator).
async fn lock_term(
    State(state): State<AppState>,
    s: Session,
    Path(sid): Path<Id>,
    Form(f): Form<LockForm>,
) -> WebResult<Redirect> {
    let school = school_for(&state, &s, sid, Action::ManageSchool).await?;
    let year_id = parse_uuid(&f.year, "năm học")?;
    let year = state.db.year(school.id, year_id).await?;
    let term = parse_term(Some(&f.term))?;
    let lock = match f.lock.trim() {
        "1" => true,
        "0" => false,
        other => {
            return Err(WebError::BadRequest(format!(
                "Giá trị khoá \"{other}\" không hợp lệ."
            )));
        }
    };
    state
        .db
        .set_term_lock(school.id, year.id, term, lock, s.user.id)
        .await?;
    let back = f.back.trim();
    if back.starts_with('/') && !back.starts_with("//") && !back.contains('\\') {
        Ok(Redirect::to(back))
    } else {
        Ok(Redirect::to(&format!("/schools/{sid}")))
    }
}

// ----- Excel -----

/// How the Excel file of a course is graded.
fn sheet_scheme(course: &Course, scheme: Scheme) -> SheetScheme {
    match scheme {
        Scheme::Scored => SheetScheme::Scored,
        Scheme::Comment => SheetScheme::Comment,
        Scheme::Primary => SheetScheme::Primary {
            mid_test: primary_has_midterm_test(
                &course.subject_code,
                u8::try_from(course.grade).unwrap_or(0),
            ),
            end_test: primary_has_test(&course.subject_code),
        },
    }
}

/// The Excel column of a gradebook column.
fn excel_column(c: &Column) -> Option<GradeColumn> {
    Some(match c.kind {
        KIND_TX => GradeColumn::Regular(u8::try_from(c.slot).ok()?),
        KIND_GK => GradeColumn::MidTerm,
        KIND_CK => GradeColumn::EndTerm,
        KIND_MGK => GradeColumn::LevelMid,
        KIND_KTGK => GradeColumn::TestMid,
        KIND_MCK => GradeColumn::LevelEnd,
        KIND_KTCK => GradeColumn::TestEnd,
        _ => return None,
    })
}

/// The stored kind and slot of an Excel column.
fn stored_cell(col: GradeColumn) -> (&'static str, i64) {
    match col {
        GradeColumn::Regular(n) => (KIND_TX, i64::from(n)),
        GradeColumn::MidTerm => (KIND_GK, 1),
        GradeColumn::EndTerm => (KIND_CK, 1),
        GradeColumn::LevelMid => (KIND_MGK, 1),
        GradeColumn::TestMid => (KIND_KTGK, 1),
        GradeColumn::LevelEnd => (KIND_MCK, 1),
        GradeColumn::TestEnd => (KIND_KTCK, 1),
    }
}

async fn sheet(
    state: &AppState,
    course: &Course,
    school: &School,
    term: i64,
) -> WebResult<GradebookSheet> {
    let scheme = scheme_of(course);
    let entries = state.db.grade_entries(course, term).await?;
    let cols = columns(course, scheme, &entries);
    let cells = cell_map(&entries);
    let students = state.db.course_students(course).await?;
    let year = state.db.year(course.school_id, course.year_id).await?;
    let rows = students
        .iter()
        .map(|st| GradebookRow {
            code: st.code.clone(),
            full_name: st.full_name.clone(),
            cells: cols
                .iter()
                .map(|c| cell(&cells, st.student_id, c.kind, c.slot).map(str::to_owned))
                .collect(),
            average: if scheme == Scheme::Primary {
                None
            } else {
                term_result(course, scheme, &cells, st.student_id).ok().map(
                    |v| match Rating::parse(&v) {
                        Ok(r) if scheme == Scheme::Comment => r.code().to_owned(),
                        _ => v,
                    },
                )
            },
        })
        .collect();
    Ok(GradebookSheet {
        header: GradebookHeader {
            school: school.name.clone(),
            class_name: course.class_name.clone(),
            subject: course.subject_name.clone(),
            term: term_of(term),
            school_year: year.name,
        },
        scheme: sheet_scheme(course, scheme),
        columns: cols.iter().filter_map(excel_column).collect(),
        rows,
    })
}

fn require_reader(access: &Access) -> WebResult<()> {
    if matches!(access, Access::Teach | Access::Observe) {
        Ok(())
    } else {
        Err(WebError::Forbidden)
    }
}

async fn export(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<TermQuery>,
) -> WebResult<Response> {
    let (course, school, access) = course_for(&state, &s, id).await?;
    require_reader(&access)?;
    let term = parse_term(q.term.as_deref())?;
    let sheet = sheet(&state, &course, &school, term).await?;
    let bytes = tokio::task::spawn_blocking(move || office::gradebook::export_gradebook(&sheet))
        .await
        .map_err(|e| WebError::Internal(e.into()))?
        .map_err(|e| WebError::Internal(e.into()))?;
    Ok(crate::files::xlsx_download(
        bytes,
        &format!(
            "so-diem-{}-{}-hk{term}.xlsx",
            course.class_name, course.subject_code
        ),
    ))
}

/// A cell an import changes, as the preview shows it.
pub struct PreviewChange {
    /// Excel row of the student.
    pub row: usize,
    /// Student's name and code.
    pub student: String,
    /// Column (`ĐĐGtx2`, `Mức cuối kỳ`).
    pub column: String,
    /// Stored value, or "—".
    pub old: String,
    /// Value in the file.
    pub new: String,
}

#[derive(Template)]
#[template(path = "gradebook_import.html")]
struct ImportPage {
    ctx: Ctx,
    course: Course,
    term: i64,
    primary: bool,
    errors: Vec<RowError>,
    /// Whether a clean file was read (the preview is shown).
    previewed: bool,
    changes: Vec<PreviewChange>,
    token: String,
    digest: String,
}

impl ImportPage {
    fn new(s: &Session, course: Course, term: i64) -> Self {
        Self {
            ctx: Ctx::new(
                s,
                format!("{} · {}", s.lang.t("gb-import"), course_title(&course)),
            )
            .with_help("so-diem"),
            primary: scheme_of(&course) == Scheme::Primary,
            course,
            term,
            errors: Vec::new(),
            previewed: false,
            changes: Vec::new(),
            token: String::new(),
            digest: String::new(),
        }
    }
}

async fn import_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<TermQuery>,
) -> WebResult<Response> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    let term = parse_term(q.term.as_deref())?;
    Ok(render(&ImportPage::new(&s, course, term))?.into_response())
}

/// What a checked file would write.
struct Plan {
    writes: Vec<CellWrite>,
    changes: Vec<PreviewChange>,
    /// A digest of the changes (cell, old, new), so the confirmation writes only what was shown.
    digest: String,
}

/// Why a file cannot be imported: its row errors, or one message for the whole file.
struct Refusal {
    errors: Vec<RowError>,
    message: Option<String>,
}

/// Reads a gradebook file against the class and the grade rules, and compares it with the
/// stored cells. Empty cells leave the stored value as it is.
async fn plan_import(
    state: &AppState,
    course: &Course,
    term: i64,
    bytes: Vec<u8>,
) -> WebResult<Result<Plan, Refusal>> {
    let scheme = scheme_of(course);
    let students = state.db.course_students(course).await?;
    let spec = ImportSpec {
        scheme: sheet_scheme(course, scheme),
        students: students
            .iter()
            .map(|st| ClassStudent {
                code: st.code.clone(),
                full_name: st.full_name.clone(),
            })
            .collect(),
    };
    let parsed =
        tokio::task::spawn_blocking(move || office::gradebook::import_gradebook(&bytes, &spec))
            .await
            .map_err(|e| WebError::Internal(e.into()))?;
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => {
            return Ok(Err(Refusal {
                errors: Vec::new(),
                message: Some(e.to_string()),
            }));
        }
    };
    if !parsed.errors.is_empty() {
        return Ok(Err(Refusal {
            errors: parsed.errors,
            message: None,
        }));
    }
    let by_code: HashMap<&str, &CourseStudent> =
        students.iter().map(|st| (st.code.as_str(), st)).collect();
    let stored = cell_map(&state.db.grade_entries(course, term).await?);
    let mut plan = Plan {
        writes: Vec::new(),
        changes: Vec::new(),
        digest: String::new(),
    };
    let mut lines = Vec::new();
    for row in &parsed.rows {
        let Some(student) = by_code.get(row.code.as_str()) else {
            continue;
        };
        for ((col, _), value) in parsed.columns.iter().zip(&row.cells) {
            let Some(value) = value else { continue };
            let (kind, slot) = stored_cell(*col);
            if slot > MAX_REGULAR {
                return Ok(Err(Refusal {
                    errors: vec![RowError {
                        row: parsed.header_row,
                        column: col.header(),
                        message: format!("Sổ điểm có tối đa {MAX_REGULAR} cột ĐĐGtx"),
                    }],
                    message: None,
                }));
            }
            let new = match value {
                GradeValue::Score(sc) => sc.to_string(),
                GradeValue::Rating(r) => r.code().to_owned(),
                GradeValue::Level(l) => l.code().to_owned(),
                GradeValue::Test(t) => t.to_string(),
            };
            let old = cell(&stored, student.student_id, kind, slot);
            if old == Some(new.as_str()) {
                continue;
            }
            lines.push(format!(
                "{}|{kind}|{slot}|{}|{new}\n",
                student.student_id,
                old.unwrap_or("")
            ));
            plan.changes.push(PreviewChange {
                row: row.row,
                student: format!("{} ({})", student.full_name, student.code),
                column: cell_label(kind, slot),
                old: old.unwrap_or("—").to_owned(),
                new: new.clone(),
            });
            plan.writes.push(CellWrite {
                student_id: student.student_id,
                kind: kind.into(),
                slot,
                value: Some(new),
            });
        }
    }
    lines.sort();
    plan.digest = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for l in &lines {
            h.update(l.as_bytes());
        }
        hex::encode(&h.finalize()[..16])
    };
    Ok(Ok(plan))
}

/// Where a previewed upload waits for its confirmation: built on the server, so a token from
/// the form can only name the user's own upload for this course.
fn import_key(course: &Course, user: Id, token: &str) -> String {
    format!(
        "gradebook-imports/{}/{}/{user}/{token}.xlsx",
        course.school_id, course.id
    )
}

/// The refusal message of a locked term, as the write itself words it.
async fn refuse_locked(state: &AppState, course: &Course, term: i64) -> WebResult<()> {
    if state
        .db
        .term_lock(course.school_id, course.year_id, term)
        .await?
        .is_some()
    {
        return Err(WebError::Conflict(format!(
            "{} của năm học đã được khoá sổ điểm; không thể nhập điểm. Hãy liên hệ hiệu trưởng nếu cần mở khoá.",
            term_of(term).label()
        )));
    }
    Ok(())
}

fn refused(s: &Session, course: &Course, term: i64, r: Refusal) -> WebResult<Response> {
    let mut page = ImportPage::new(s, course.clone(), term);
    page.ctx.error = Some(r.message.unwrap_or_else(|| s.lang.t("gb-import-errors")));
    page.errors = r.errors;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
}

/// Checks an uploaded gradebook and shows what it would change; saves nothing.
async fn import_preview(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    req: Request,
) -> WebResult<Response> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    let upload = read_upload(req, &state, 1, office::gradebook::MAX_FILE_BYTES).await?;
    let term = parse_term(Some(&upload.get("term")))?;
    let Some((_, _, bytes)) = upload.files.into_iter().next() else {
        return Err(WebError::BadRequest("Chưa chọn tệp Excel sổ điểm.".into()));
    };
    refuse_locked(&state, &course, term).await?;
    let plan = match plan_import(&state, &course, term, bytes.to_vec()).await? {
        Ok(p) => p,
        Err(r) => return refused(&s, &course, term, r),
    };
    let mut page = ImportPage::new(&s, course.clone(), term);
    page.previewed = true;
    if !plan.changes.is_empty() {
        let token = uuid::Uuid::now_v7().simple().to_string();
        state
            .storage
            .put(&import_key(&course, s.user.id, &token), bytes.to_vec())
            .await
            .map_err(|e| WebError::Internal(e.into()))?;
        page.token = token;
        page.digest = plan.digest;
    }
    page.changes = plan.changes;
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    term: String,
    token: String,
    digest: String,
}

/// Writes a previewed import, if it still makes exactly the changes that were shown.
async fn import_confirm(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<ConfirmForm>,
) -> WebResult<Response> {
    let (course, _, access) = course_for(&state, &s, id).await?;
    require_teach(&access)?;
    let term = parse_term(Some(&f.term))?;
    let gone = || {
        WebError::BadRequest(
            "Tệp tải lên đã được nhập hoặc không còn nữa; hãy tải tệp lên lại.".into(),
        )
    };
    let token = uuid::Uuid::parse_str(f.token.trim())
        .map_err(|_| gone())?
        .simple()
        .to_string();
    let key = import_key(&course, s.user.id, &token);
    let bytes = state.storage.get(&key).await.map_err(|_| gone())?;
    let plan = match plan_import(&state, &course, term, bytes.to_vec()).await? {
        Ok(p) => p,
        Err(r) => {
            let _ = state.storage.delete(&key).await;
            return refused(&s, &course, term, r);
        }
    };
    if plan.digest != f.digest.trim() {
        let _ = state.storage.delete(&key).await;
        return Err(WebError::Conflict(
            "Sổ điểm đã thay đổi sau khi bạn xem trước (có người vừa lưu điểm, hoặc danh sách lớp đã đổi). Không điểm nào được nhập; hãy tải tệp lên lại để xem các thay đổi mới."
                .into(),
        ));
    }
    let written = state
        .db
        .set_grades(&course, term, &plan.writes, "import", s.user.id)
        .await;
    let _ = state.storage.delete(&key).await;
    written?;
    Ok(Redirect::to(&book_url(&course, term)).into_response())
}

// ----- history -----

fn source_label(source: &str) -> String {
    match source {
        "manual" => "Nhập tay".into(),
        "import" => "Nhập từ Excel".into(),
        other => match other.strip_prefix("task:") {
            Some(_) => "Điểm bài tập".into(),
            None => other.to_owned(),
        },
    }
}

async fn history_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    let (course, school, access) = course_for(&state, &s, id).await?;
    require_reader(&access)?;
    let history = state
        .db
        .grade_changes(&course, HISTORY_LIMIT)
        .await?
        .into_iter()
        .map(|c| HistoryRow {
            at: format_ms(c.at),
            actor: c.actor_name,
            student: c.student_name,
            term: term_of(c.term).label(),
            cell: cell_label(&c.kind, c.slot),
            old: c.old_value.unwrap_or_else(|| "—".into()),
            new: c.new_value.unwrap_or_else(|| "—".into()),
            source: source_label(&c.source),
        })
        .collect();
    let mut page = book(
        &state,
        &s,
        course,
        &school,
        &access,
        1,
        Typed::default(),
        None,
    )
    .await?;
    page.ctx.title = format!(
        "{} · {}",
        s.lang.t("gb-history"),
        course_title(&page.course)
    );
    page.show_history = true;
    page.history = history;
    Ok(render(&page)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_names_round_trip() {
        let id = domain::new_id();
        let name = cell_name(id, KIND_TX, 3);
        assert_eq!(split_cell_name(&name), Some((id, "TX".into(), 3)));
        assert_eq!(split_cell_name("c-nope-TX-1"), None);
        assert_eq!(split_cell_name("term"), None);
    }

    #[test]
    fn cells_parse_by_scheme() {
        assert_eq!(parse_cell(Scheme::Scored, KIND_TX, "7.5").unwrap(), "7,5");
        assert!(parse_cell(Scheme::Scored, KIND_TX, "11").is_err());
        assert_eq!(parse_cell(Scheme::Comment, KIND_GK, "d").unwrap(), "Đ");
        assert_eq!(parse_cell(Scheme::Primary, KIND_MCK, "htt").unwrap(), "T");
        assert!(parse_cell(Scheme::Primary, KIND_KTCK, "7,5").is_err());
        assert!(parse_cell(Scheme::Primary, KIND_TX, "7").is_err());
    }
}
