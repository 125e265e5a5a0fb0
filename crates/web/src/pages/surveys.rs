//! Surveys with deadlines and school documents, for the Sở, communes and schools.
//!
//! - An officer (Sở or commune) issues a survey from a built-in template to the schools of its
//!   subtree (the Sở may pick levels: since 1/7/2025 primary and lower-secondary schools report
//!   to the commune, upper-secondary schools and GDTX centres to the Sở), sees who submitted,
//!   who is late and who is missing, reminds the missing ones, reads the totals per commune and
//!   per school and downloads them as Excel. An officer below the issuer (a commune looking at a
//!   Sở survey) sees its own schools only.
//! - A school's principal or school admin fills the form, pre-filled from lophoc's own figures
//!   where it can, saves drafts and submits; after submission the answer is read-only.
//! - Each school uploads its online-teaching plan and regulation per school year (PDF or Word,
//!   checked by their bytes); the principal approves each version; the managing unit sees the
//!   status of every school.
//!
//! The template's field list ([`domain::survey`]) drives the form, the validation, the totals
//! and the Excel columns.

use super::{OkQuery, school_for};
use crate::AppState;
use crate::auth::Session;
use crate::error::{Form, WebError, WebResult};
use crate::view::{Ctx, format_ms, render, saved_notice};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use db::Db;
use db::org::{School, Unit};
use db::surveys::{
    DocKind, DocStatus, NewDocument, NewSurvey, ResultLine, SchoolDocument, Survey, SurveyEdit,
};
use domain::Id;
use domain::auth::{Action, Role, Target};
use domain::survey::{
    Answers, Field, LatePolicy, Mode, Prefill, Status, TEMPLATES, Template, Totals,
};
use domain::tree::SchoolLevel;
use std::collections::BTreeMap;

/// The largest plan or regulation file accepted.
pub const MAX_DOCUMENT_BYTES: usize = 20 * 1024 * 1024;

/// The user guide of these pages.
const HELP: &str = "khao-sat-bao-cao";

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/units/{id}/surveys", get(unit_surveys).post(create))
        .route("/units/{id}/documents", get(unit_documents))
        .route("/surveys/{id}", get(results))
        .route("/surveys/{id}/results.xlsx", get(export))
        .route("/surveys/{id}/remind", post(remind))
        .route("/surveys/{id}/edit", post(edit))
        .route("/surveys/{id}/close", post(close))
        .route("/surveys/{id}/reopen", post(reopen))
        .route("/schools/{id}/surveys", get(school_surveys))
        .route(
            "/schools/{id}/surveys/{survey}",
            get(answer_page).post(save),
        )
        .route(
            "/schools/{id}/documents",
            get(documents_page)
                .post(upload)
                .layer(DefaultBodyLimit::max(MAX_DOCUMENT_BYTES + 1024 * 1024)),
        )
        .route("/schools/{id}/documents/{doc}/approve", post(approve))
        .route("/schools/{id}/documents/{doc}/file", get(download))
}

// ----- access -----

/// Loads a unit the actor may see; an unknown id answers 403 like a foreign one.
async fn unit_for(state: &AppState, s: &Session, id: Id, action: Action) -> WebResult<Unit> {
    let unit = match state.db.unit(id).await {
        Ok(u) => u,
        Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    s.require(action, Target::Unit(&unit.path))?;
    Ok(unit)
}

/// The node of the tree from which an officer sees a survey: the issuer's own path when the
/// officer covers it (the Sở, or the commune that issued it), else the officer's own unit
/// inside the issuer's subtree (a commune looking at a Sở survey). None: not an officer of it.
fn view_root(s: &Session, survey: &Survey) -> Option<String> {
    if s.actor
        .can(Action::ViewUnit, Target::Unit(&survey.unit_path))
    {
        return Some(survey.unit_path.clone());
    }
    s.actor
        .unit_paths()
        .into_iter()
        .find(|p| domain::tree::path_within(p, &survey.unit_path))
        .map(str::to_owned)
}

/// A survey and the lines an officer may see of it; refused when they see none.
async fn survey_view(
    state: &AppState,
    s: &Session,
    id: Id,
) -> WebResult<(Survey, String, Vec<ResultLine>)> {
    let survey = match state.db.survey(id).await {
        Ok(v) => v,
        Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    let root = view_root(s, &survey).ok_or(WebError::Forbidden)?;
    let lines = state.db.survey_lines(survey.id, &root).await?;
    if lines.is_empty() && root != survey.unit_path {
        return Err(WebError::Forbidden);
    }
    Ok((survey, root, lines))
}

/// Whether the actor is the school's principal (who approves its documents).
fn is_principal(s: &Session, school: Id) -> bool {
    s.actor.can(Action::ManageSystem, Target::System)
        || s.actor
            .grants
            .iter()
            .any(|g| g.role == Role::Principal && g.school_id == Some(school))
}

/// How the actor stands towards a school's surveys and documents: its managers fill them in,
/// officers above it read them, nobody else (teachers, other schools) sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SchoolAccess {
    /// Principal, school admin (or system admin).
    Manage,
    /// An officer whose unit contains the school.
    Oversee,
}

async fn school_access(state: &AppState, s: &Session, id: Id) -> WebResult<(School, SchoolAccess)> {
    let school = school_for(state, s, id, Action::ViewSchool).await?;
    if s.actor
        .can(Action::ManageSchool, Target::School(&school.as_ref()))
    {
        Ok((school, SchoolAccess::Manage))
    } else if s
        .actor
        .can(Action::ViewUnit, Target::Unit(&school.unit_path))
    {
        Ok((school, SchoolAccess::Oversee))
    } else {
        Err(WebError::Forbidden)
    }
}

// ----- issuing -----

/// A template as the create form offers it.
struct TemplateChoice {
    code: &'static str,
    name: &'static str,
    summary: &'static str,
}

#[derive(askama::Template)]
#[template(path = "survey_list.html")]
struct UnitSurveysPage {
    ctx: Ctx,
    unit: Unit,
    can_issue: bool,
    surveys: Vec<SurveyRow>,
    templates: Vec<TemplateChoice>,
    levels: Vec<(&'static str, &'static str)>,
    default_deadline: String,
}

/// A survey in the officer's list.
struct SurveyRow {
    id: Id,
    title: String,
    issuer: String,
    template: &'static str,
    deadline: String,
    past: bool,
    schools: i64,
    submitted: i64,
    late: i64,
    missing: i64,
}

fn local_input(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).expect("valid offset"));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

fn parse_local_time(raw: &str, field: &str) -> WebResult<i64> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(WebError::BadRequest(format!("Chưa nhập {field}.")));
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let dt = time::PrimitiveDateTime::parse(raw, &fmt).map_err(|_| {
        WebError::BadRequest(format!("{field}: \"{raw}\" không phải ngày giờ hợp lệ."))
    })?;
    let t = dt.assume_offset(time::UtcOffset::from_hms(7, 0, 0).expect("offset"));
    Ok(t.unix_timestamp() * 1000)
}

async fn unit_surveys(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    let unit = unit_for(&state, &s, id, Action::ViewUnit).await?;
    let can_issue = s.actor.can(Action::ManageUnit, Target::Unit(&unit.path));
    let now = db::now_ms();
    let surveys = state
        .db
        .surveys_within(&unit.path)
        .await?
        .into_iter()
        .map(|x| SurveyRow {
            id: x.survey.id,
            missing: x.missing(),
            title: x.survey.title.clone(),
            issuer: x.survey.unit_name.clone(),
            template: x.survey.template.name,
            deadline: format_ms(x.survey.deadline_at),
            past: x.survey.is_past(now),
            schools: x.schools,
            submitted: x.submitted,
            late: x.late,
        })
        .collect();
    render(&UnitSurveysPage {
        ctx: Ctx::new(&s, format!("{} – {}", s.lang.t("surveys-title"), unit.name))
            .with_notice(saved_notice(q.ok.as_deref(), s.lang))
            .with_help(HELP),
        can_issue,
        surveys,
        templates: TEMPLATES
            .iter()
            .map(|t| TemplateChoice {
                code: t.code,
                name: t.name,
                summary: t.summary,
            })
            .collect(),
        levels: SchoolLevel::ALL
            .iter()
            .map(|l| (l.code(), l.label()))
            .collect(),
        default_deadline: local_input(now + 14 * 86_400_000),
        unit,
    })
}

/// Issues a survey. Form fields: `template`, `title`, `instructions`, `deadline`
/// (datetime-local, Vietnam time), `late` (`accept`/`refuse`), `levels` (repeated, none = all).
async fn create(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Redirect> {
    let unit = unit_for(&state, &s, id, Action::ManageUnit).await?;
    let get = |k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let code = get("template");
    let template = domain::survey::template(&code).ok_or_else(|| {
        WebError::BadRequest(format!(
            "Mẫu khảo sát \"{code}\" không có; hãy chọn trong danh sách."
        ))
    })?;
    let mut title = get("title");
    if title.is_empty() {
        title = template.name.to_owned();
    }
    if title.chars().count() > 200 {
        return Err(WebError::BadRequest(
            "Tên đợt khảo sát dài quá 200 ký tự.".into(),
        ));
    }
    let instructions = get("instructions");
    if instructions.chars().count() > 4000 {
        return Err(WebError::BadRequest("Hướng dẫn dài quá 4000 ký tự.".into()));
    }
    let deadline_at = parse_local_time(&get("deadline"), "Hạn nộp")?;
    if deadline_at <= db::now_ms() {
        return Err(WebError::BadRequest(format!(
            "Hạn nộp {} đã qua; hãy chọn một thời điểm trong tương lai.",
            format_ms(deadline_at)
        )));
    }
    let late_policy = match get("late").as_str() {
        "" => LatePolicy::Accept,
        p => LatePolicy::from_code(p).ok_or_else(|| {
            WebError::BadRequest(format!("Cách xử lý bài nộp muộn \"{p}\" không hợp lệ."))
        })?,
    };
    let mut levels = Vec::new();
    for (k, v) in &f {
        if k == "levels" {
            let l = SchoolLevel::from_code(v.trim()).ok_or_else(|| {
                WebError::BadRequest(format!("Cấp học \"{}\" không hợp lệ.", v.trim()))
            })?;
            if !levels.contains(&l) {
                levels.push(l);
            }
        }
    }
    let (sid, _) = state
        .db
        .create_survey(
            &unit,
            &NewSurvey {
                template,
                title,
                instructions,
                deadline_at,
                late_policy,
                levels,
            },
            s.user.id,
        )
        .await?;
    Ok(Redirect::to(&format!("/surveys/{sid}?ok=created")))
}

// ----- results -----

/// A group of schools (a commune, or the schools directly under the viewer's unit).
struct GroupRow {
    name: String,
    totals: Totals,
}

/// One school on the results page.
struct SchoolRow {
    school: School,
    status: Status,
    when: String,
    by: String,
    values: Vec<String>,
    texts: Vec<(&'static str, String)>,
}

#[derive(askama::Template)]
#[template(path = "survey_results.html")]
struct ResultsPage {
    ctx: Ctx,
    survey: Survey,
    template: &'static Template,
    fields: Vec<&'static Field>,
    root_name: String,
    deadline: String,
    past: bool,
    reminded: Option<String>,
    total: Totals,
    groups: Vec<GroupRow>,
    schools: Vec<SchoolRow>,
    back: String,
    /// The issuer may edit, close and reopen it.
    can_manage: bool,
    /// The deadline as the edit form's `datetime-local` value.
    deadline_input: String,
    /// When it was closed, if it is.
    closed: Option<String>,
}

/// The names of units by path (for group headings).
async fn unit_names(db: &Db) -> WebResult<BTreeMap<String, String>> {
    Ok(db
        .units()
        .await?
        .into_iter()
        .map(|u| (u.path, u.name))
        .collect())
}

fn rollup_of(survey: &Survey, root: &str, lines: &[ResultLine]) -> domain::survey::Rollup {
    let sl: Vec<domain::survey::SchoolLine<'_>> = lines
        .iter()
        .map(|l| domain::survey::SchoolLine {
            unit_path: &l.school.unit_path,
            status: l.response.status,
            answers: &l.response.answers,
        })
        .collect();
    domain::survey::rollup(survey.template, root, &sl)
}

fn group_name(names: &BTreeMap<String, String>, root: &str, path: &str) -> String {
    let name = names.get(path).cloned().unwrap_or_default();
    if path == root {
        format!("Trực thuộc {name}")
    } else {
        name
    }
}

async fn results(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    let (survey, root, lines) = survey_view(&state, &s, id).await?;
    let names = unit_names(&state.db).await?;
    let r = rollup_of(&survey, &root, &lines);
    let fields: Vec<&'static Field> = survey.template.integer_fields().collect();
    let groups = r
        .groups
        .into_iter()
        .map(|(path, totals)| GroupRow {
            name: group_name(&names, &root, &path),
            totals,
        })
        .collect();
    let schools = lines
        .into_iter()
        .map(|l| {
            let a = &l.response.answers;
            SchoolRow {
                when: l.response.submitted_at.map(format_ms).unwrap_or_default(),
                by: l.response.submitted_by.clone().unwrap_or_default(),
                values: if l.response.status.is_in() {
                    fields.iter().map(|f| a.shown(f)).collect()
                } else {
                    vec![]
                },
                texts: if l.response.status.is_in() {
                    survey
                        .template
                        .fields
                        .iter()
                        .filter(|f| !f.is_integer() && !a.text(f.key).is_empty())
                        .map(|f| (f.label, a.text(f.key).to_owned()))
                        .collect()
                } else {
                    vec![]
                },
                status: l.response.status,
                school: l.school,
            }
        })
        .collect();
    let root_id = root
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    render(&ResultsPage {
        ctx: Ctx::new(&s, survey.title.clone())
            .with_notice(q.ok.map(|k| {
                s.lang.t(match k.as_str() {
                    "reminded" => "surveys-reminded-ok",
                    "edited" => "surveys-edited-ok",
                    "closed" => "surveys-closed-ok",
                    "reopened" => "surveys-reopened-ok",
                    _ => "surveys-created",
                })
            }))
            .with_help(HELP),
        can_manage: s
            .actor
            .can(Action::ManageUnit, Target::Unit(&survey.unit_path)),
        deadline_input: local_input(survey.deadline_at),
        closed: survey.closed_at.map(format_ms),
        template: survey.template,
        root_name: names.get(&root).cloned().unwrap_or_default(),
        deadline: format_ms(survey.deadline_at),
        past: survey.is_past(db::now_ms()),
        reminded: survey.reminded_at.map(format_ms),
        total: r.total,
        groups,
        schools,
        fields,
        back: format!("/units/{root_id}/surveys"),
        survey,
    })
}

async fn export(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    use office::table::Cell;
    let (survey, root, lines) = survey_view(&state, &s, id).await?;
    let names = unit_names(&state.db).await?;
    let t = survey.template;
    let mut headers: Vec<&str> = vec![
        "Mã trường",
        "Tên trường",
        "Đơn vị quản lý",
        "Cấp học",
        "Trạng thái",
        "Nộp lúc",
        "Người nộp",
    ];
    headers.extend(t.fields.iter().map(|f| f.label));
    let mut rows: Vec<Vec<Cell>> = lines
        .iter()
        .map(|l| {
            let group = domain::survey::child_under(&root, &l.school.unit_path).unwrap_or_default();
            let a = &l.response.answers;
            let mut row: Vec<Cell> = vec![
                l.school.code.clone().into(),
                l.school.name.clone().into(),
                group_name(&names, &root, &group).into(),
                l.school.level.label().into(),
                l.response.status.label().into(),
                l.response
                    .submitted_at
                    .map(format_ms)
                    .unwrap_or_default()
                    .into(),
                l.response.submitted_by.clone().unwrap_or_default().into(),
            ];
            for f in t.fields {
                // Only what was handed in is reported; a draft is the school's own.
                row.push(
                    match (l.response.status.is_in(), f.is_integer(), a.int(f.key)) {
                        (false, _, _) => Cell::Text(String::new()),
                        (true, true, Some(n)) => n.into(),
                        (true, true, None) => Cell::Text(String::new()),
                        (true, false, _) => a.text(f.key).into(),
                    },
                );
            }
            row
        })
        .collect();
    let r = rollup_of(&survey, &root, &lines);
    let mut total: Vec<Cell> = vec![
        "".into(),
        "TỔNG CỘNG".into(),
        "".into(),
        "".into(),
        format!(
            "Đã nộp {}/{} (muộn {})",
            r.total.answered(),
            r.total.schools,
            r.total.late
        )
        .into(),
        "".into(),
        "".into(),
    ];
    for f in t.fields {
        total.push(if f.is_integer() {
            r.total.sum(f.key).into()
        } else {
            "".into()
        });
    }
    rows.push(total);
    let title = vec![
        format!("{} – {}", survey.title.to_uppercase(), survey.unit_name),
        format!(
            "Mẫu: {} · Hạn nộp {} · Số liệu của {} lúc {}",
            t.name,
            format_ms(survey.deadline_at),
            names.get(&root).cloned().unwrap_or_default(),
            format_ms(db::now_ms())
        ),
    ];
    let bytes = office::table::export("Kết quả", &title, &headers, &rows)
        .map_err(|e| WebError::Internal(e.into()))?;
    Ok(crate::files::xlsx_download(
        bytes,
        &format!("khao-sat-{}.xlsx", survey.template.code),
    ))
}

async fn remind(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Redirect> {
    let (survey, _, lines) = survey_view(&state, &s, id).await?;
    let missing: Vec<Id> = lines
        .iter()
        .filter(|l| !l.response.status.is_in())
        .map(|l| l.school.id)
        .collect();
    if missing.is_empty() {
        return Err(WebError::Conflict(
            "Mọi trường đã nộp; không có trường nào cần nhắc.".into(),
        ));
    }
    state.db.remind_survey(&survey, &missing, s.user.id).await?;
    Ok(Redirect::to(&format!("/surveys/{id}?ok=reminded")))
}

// ----- editing, closing and reopening -----

/// The survey, for its issuer only (an officer of the unit that issued it, or above).
async fn issued_survey(state: &AppState, s: &Session, id: Id) -> WebResult<Survey> {
    let survey = match state.db.survey(id).await {
        Ok(v) => v,
        Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    s.require(Action::ManageUnit, Target::Unit(&survey.unit_path))?;
    Ok(survey)
}

#[derive(serde::Deserialize)]
struct EditForm {
    deadline: String,
    late: String,
    #[serde(default)]
    instructions: String,
}

/// Changes the deadline, late policy or instructions of an issued survey. A new deadline must
/// lie in the future (keeping the old one, even past, is fine); schools that have not submitted
/// are told of it.
async fn edit(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<EditForm>,
) -> WebResult<Redirect> {
    let survey = issued_survey(&state, &s, id).await?;
    let deadline_at = parse_local_time(&f.deadline, "Hạn nộp mới")?;
    // The form shows minutes: an unchanged field keeps the stored deadline to the millisecond.
    let deadline_at = if deadline_at == survey.deadline_at / 60_000 * 60_000 {
        survey.deadline_at
    } else {
        deadline_at
    };
    if deadline_at != survey.deadline_at && deadline_at <= db::now_ms() {
        return Err(WebError::BadRequest(format!(
            "Hạn nộp mới {} đã qua; hãy chọn một thời điểm trong tương lai.",
            format_ms(deadline_at)
        )));
    }
    let late_policy = LatePolicy::from_code(f.late.trim()).ok_or_else(|| {
        WebError::BadRequest(format!(
            "Cách xử lý bài nộp muộn \"{}\" không hợp lệ.",
            f.late.trim()
        ))
    })?;
    let instructions = f.instructions.trim().to_owned();
    if instructions.chars().count() > 4000 {
        return Err(WebError::BadRequest("Hướng dẫn dài quá 4000 ký tự.".into()));
    }
    let e = SurveyEdit {
        deadline_at,
        late_policy,
        instructions,
    };
    if e.deadline_at == survey.deadline_at
        && e.late_policy == survey.late_policy
        && e.instructions == survey.instructions
    {
        return Err(WebError::BadRequest(
            "Không có gì thay đổi: hạn nộp, cách xử lý bài nộp muộn và hướng dẫn vẫn như cũ."
                .into(),
        ));
    }
    state.db.update_survey(&survey, &e, s.user.id).await?;
    Ok(Redirect::to(&format!("/surveys/{id}?ok=edited")))
}

/// Closes a survey early: schools can no longer save or submit.
async fn close(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Redirect> {
    let survey = issued_survey(&state, &s, id).await?;
    state.db.set_survey_closed(&survey, true, s.user.id).await?;
    Ok(Redirect::to(&format!("/surveys/{id}?ok=closed")))
}

/// Reopens a closed survey (the deadline and late policy apply again).
async fn reopen(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Redirect> {
    let survey = issued_survey(&state, &s, id).await?;
    state
        .db
        .set_survey_closed(&survey, false, s.user.id)
        .await?;
    Ok(Redirect::to(&format!("/surveys/{id}?ok=reopened")))
}

// ----- answering -----

/// A survey in a school's list.
pub struct SchoolSurveyRow {
    /// The survey.
    pub id: Id,
    /// The school asked.
    pub school_id: Id,
    /// Its title.
    pub title: String,
    /// Who issued it.
    pub issuer: String,
    /// Its deadline, formatted.
    pub deadline: String,
    /// Whether the deadline has passed.
    pub past: bool,
    /// Where the school is with it.
    pub status: Status,
    /// When the school submitted it, formatted (empty if not yet).
    pub submitted: String,
}

#[derive(askama::Template)]
#[template(path = "survey_school_list.html")]
struct SchoolSurveysPage {
    ctx: Ctx,
    school: School,
    surveys: Vec<SchoolSurveyRow>,
}

/// The surveys a school has to answer or has answered, for its page and its principal's
/// dashboard.
pub async fn school_survey_rows(db: &Db, school_id: Id) -> WebResult<Vec<SchoolSurveyRow>> {
    let now = db::now_ms();
    Ok(db
        .surveys_of_school(school_id)
        .await?
        .into_iter()
        .map(|(v, r)| SchoolSurveyRow {
            id: v.id,
            school_id: r.school_id,
            title: v.title.clone(),
            issuer: v.unit_name.clone(),
            deadline: format_ms(v.deadline_at),
            past: v.is_past(now),
            status: r.status,
            submitted: r.submitted_at.map(format_ms).unwrap_or_default(),
        })
        .collect())
}

/// The surveys a school still has to submit (for its principal's dashboard).
pub async fn open_surveys(db: &Db, school_id: Id) -> WebResult<Vec<SchoolSurveyRow>> {
    Ok(school_survey_rows(db, school_id)
        .await?
        .into_iter()
        .filter(|r| !r.status.is_in())
        .collect())
}

async fn school_surveys(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Html<String>> {
    let (school, _) = school_access(&state, &s, id).await?;
    render(&SchoolSurveysPage {
        ctx: Ctx::new(
            &s,
            format!("{} – {}", s.lang.t("surveys-school-title"), school.name),
        )
        .with_help(HELP),
        surveys: school_survey_rows(&state.db, school.id).await?,
        school,
    })
}

/// One field as the form shows it.
struct FormField {
    field: &'static Field,
    value: String,
    max: String,
    prefilled: bool,
}

#[derive(askama::Template)]
#[template(path = "survey_form.html")]
struct AnswerPage {
    ctx: Ctx,
    school: School,
    survey: Survey,
    fields: Vec<FormField>,
    status: Status,
    editable: bool,
    closed: bool,
    /// Why it is closed, when the issuer closed it.
    closed_early: Option<String>,
    deadline: String,
    submitted: String,
    submitted_by: String,
    saved: String,
    errors: Vec<String>,
    prefilled: bool,
}

/// The school's figures on lophoc for pre-filling: (students, staff, classes).
async fn platform_figures(db: &Db, school_id: Id) -> WebResult<(i64, i64, i64)> {
    let year = db.current_year(school_id).await?;
    let (classes, students, staff) = db
        .school_counts(school_id, year.as_ref().map(|y| y.id))
        .await?;
    Ok((students, staff, classes))
}

async fn answer_state(
    state: &AppState,
    s: &Session,
    id: Id,
    survey_id: Id,
) -> WebResult<(School, SchoolAccess, Survey, db::surveys::Response)> {
    let (school, access) = school_access(state, s, id).await?;
    let survey = state.db.survey(survey_id).await?;
    let response = state
        .db
        .survey_response(survey.id, school.id)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok((school, access, survey, response))
}

#[expect(
    clippy::too_many_arguments,
    reason = "one page built from the pieces its two handlers hold"
)]
async fn answer_view(
    state: &AppState,
    s: &Session,
    school: School,
    access: SchoolAccess,
    survey: Survey,
    response: db::surveys::Response,
    typed: Option<&BTreeMap<String, String>>,
    errors: Vec<String>,
    notice: Option<String>,
) -> WebResult<AnswerPage> {
    let now = db::now_ms();
    let closed_early = survey
        .closed_at
        .map(|at| db::surveys::closed_message(&survey.unit_name, at));
    let closed =
        closed_early.is_some() || (survey.is_past(now) && survey.late_policy == LatePolicy::Refuse);
    let editable = access == SchoolAccess::Manage && !response.status.is_in() && !closed;
    // Pre-fill only a form nobody has saved yet; a saved draft is the school's own figures.
    let fresh = response.status == Status::Missing && typed.is_none();
    let mut prefilled = false;
    let (figures, previous) = if fresh && editable {
        (
            Some(platform_figures(&state.db, school.id).await?),
            state
                .db
                .previous_answers(school.id, survey.template.code, survey.id)
                .await?,
        )
    } else {
        (None, None)
    };
    let fields = survey
        .template
        .fields
        .iter()
        .map(|f| {
            let mut value = match typed {
                Some(t) => t.get(f.key).cloned().unwrap_or_default(),
                // A draft is the school's own until it is handed in.
                None if access == SchoolAccess::Oversee && !response.status.is_in() => {
                    String::new()
                }
                None => response.answers.shown(f),
            };
            let mut from_platform = false;
            if let Some((students, staff, classes)) = figures
                && value.is_empty()
            {
                let guess = match f.prefill {
                    Prefill::Students => Some(students),
                    Prefill::Staff => Some(staff),
                    Prefill::Classes => Some(classes),
                    Prefill::Previous => previous.as_ref().and_then(|p: &Answers| p.int(f.key)),
                    Prefill::None => None,
                };
                if let Some(g) = guess {
                    value = g.to_string();
                    from_platform = true;
                    prefilled = true;
                }
            }
            FormField {
                field: f,
                value,
                max: match f.max {
                    domain::survey::Max::Fixed(m) => m.to_string(),
                    domain::survey::Max::Field(_) => String::new(),
                },
                prefilled: from_platform,
            }
        })
        .collect();
    let mut ctx = Ctx::new(s, survey.title.clone())
        .with_notice(notice)
        .with_help(HELP);
    if !errors.is_empty() {
        ctx.error = Some(s.lang.t("surveys-fix-errors"));
    }
    Ok(AnswerPage {
        ctx,
        fields,
        status: response.status,
        editable,
        closed,
        closed_early,
        deadline: format_ms(survey.deadline_at),
        submitted: response.submitted_at.map(format_ms).unwrap_or_default(),
        submitted_by: response.submitted_by.clone().unwrap_or_default(),
        saved: response.saved_at.map(format_ms).unwrap_or_default(),
        errors,
        prefilled,
        school,
        survey,
    })
}

async fn answer_page(
    State(state): State<AppState>,
    s: Session,
    Path((id, survey_id)): Path<(Id, Id)>,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    let (school, access, survey, response) = answer_state(&state, &s, id, survey_id).await?;
    let notice = saved_notice(q.ok.as_deref(), s.lang);
    render(
        &answer_view(
            &state,
            &s,
            school,
            access,
            survey,
            response,
            None,
            vec![],
            notice,
        )
        .await?,
    )
}

/// Saves a draft (`action=draft`) or submits (`action=submit`). Field values come as
/// `v_<key>`. A bad value re-shows the form with what was typed and every problem named by its
/// field; nothing is saved.
async fn save(
    State(state): State<AppState>,
    s: Session,
    Path((id, survey_id)): Path<(Id, Id)>,
    Form(f): Form<BTreeMap<String, String>>,
) -> WebResult<Response> {
    let (school, access, survey, response) = answer_state(&state, &s, id, survey_id).await?;
    if access != SchoolAccess::Manage {
        return Err(WebError::Forbidden);
    }
    if response.status.is_in() {
        return Err(WebError::Conflict(format!(
            "Nhà trường đã nộp khảo sát \"{}\" lúc {}; bản đã nộp không sửa được.",
            survey.title,
            response.submitted_at.map(format_ms).unwrap_or_default()
        )));
    }
    if let Some(at) = survey.closed_at {
        return Err(WebError::Conflict(db::surveys::closed_message(
            &survey.unit_name,
            at,
        )));
    }
    let now = db::now_ms();
    let past = survey.is_past(now);
    if past && survey.late_policy == LatePolicy::Refuse {
        return Err(WebError::Conflict(format!(
            "Đã quá hạn nộp ({}): {} không nhận bài nộp sau hạn. Hãy liên hệ đơn vị phát hành.",
            format_ms(survey.deadline_at),
            survey.unit_name
        )));
    }
    let mode = match f.get("action").map(String::as_str) {
        Some("submit") => Mode::Submit,
        Some("draft") | None => Mode::Draft,
        Some(other) => {
            return Err(WebError::BadRequest(format!(
                "Thao tác \"{other}\" không hợp lệ."
            )));
        }
    };
    let typed: BTreeMap<String, String> = f
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("v_").map(|k| (k.to_owned(), v.clone())))
        .collect();
    match domain::survey::validate(survey.template, &typed, mode) {
        Ok(answers) => {
            state
                .db
                .save_response(
                    &survey,
                    school.id,
                    &answers,
                    mode == Mode::Submit,
                    past,
                    s.user.id,
                )
                .await?;
            Ok(Redirect::to(&format!(
                "/schools/{}/surveys/{}?ok=1",
                school.id, survey.id
            ))
            .into_response())
        }
        Err(errors) => {
            let page = answer_view(
                &state,
                &s,
                school,
                access,
                survey,
                response,
                Some(&typed),
                errors,
                None,
            )
            .await?;
            Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response())
        }
    }
}

// ----- documents -----

/// One kind of document on the school's page.
struct DocBlock {
    kind: DocKind,
    status: DocStatus,
    versions: Vec<SchoolDocument>,
}

#[derive(askama::Template)]
#[template(path = "school_documents.html")]
struct DocumentsPage {
    ctx: Ctx,
    school: School,
    year: Option<String>,
    blocks: Vec<DocBlock>,
    can_upload: bool,
    can_approve: bool,
    kinds: Vec<(&'static str, &'static str)>,
    max_mb: usize,
}

async fn documents_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    let (school, access) = school_access(&state, &s, id).await?;
    let year = state.db.current_year(school.id).await?;
    let docs = match &year {
        Some(y) => state.db.school_documents(school.id, y.id).await?,
        None => vec![],
    };
    let blocks = DocKind::ALL
        .into_iter()
        .map(|k| {
            let versions: Vec<SchoolDocument> =
                docs.iter().filter(|d| d.kind == k).cloned().collect();
            let v: Vec<(i64, bool)> = versions
                .iter()
                .map(|d| (d.version, d.approved_at.is_some()))
                .collect();
            DocBlock {
                kind: k,
                status: db::surveys::doc_status(&v),
                versions,
            }
        })
        .collect();
    render(&DocumentsPage {
        ctx: Ctx::new(&s, format!("{} – {}", s.lang.t("docs-title"), school.name))
            .with_notice(saved_notice(q.ok.as_deref(), s.lang))
            .with_help(HELP),
        can_upload: access == SchoolAccess::Manage && year.is_some(),
        can_approve: is_principal(&s, school.id),
        year: year.map(|y| y.name),
        blocks,
        kinds: DocKind::ALL.iter().map(|k| (k.code(), k.label())).collect(),
        max_mb: MAX_DOCUMENT_BYTES / 1024 / 1024,
        school,
    })
}

/// Uploads a new version of the plan or the regulation of the current year (multipart:
/// `kind`, `note`, `file`). Only PDF and Word (.docx), recognised by their bytes.
async fn upload(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    req: axum::extract::Request,
) -> WebResult<Redirect> {
    let school = school_for(&state, &s, id, Action::ManageSchool).await?;
    let year = state.db.current_year(school.id).await?.ok_or_else(|| {
        WebError::Conflict(
            "Trường chưa thiết lập năm học: hãy tạo năm học trước khi tải văn bản.".into(),
        )
    })?;
    let up = super::learning::read_upload(req, &state, 1, MAX_DOCUMENT_BYTES).await?;
    let kind_code = up.get("kind");
    let kind = DocKind::from_code(kind_code.trim()).ok_or_else(|| {
        WebError::BadRequest(format!(
            "Loại văn bản \"{}\" không hợp lệ: chọn kế hoạch dạy học trực tuyến hoặc quy chế.",
            kind_code.trim()
        ))
    })?;
    let note = up.get("note").trim().to_owned();
    if note.chars().count() > 500 {
        return Err(WebError::BadRequest("Ghi chú dài quá 500 ký tự.".into()));
    }
    let Some((_, name, bytes)) = up.files.into_iter().next() else {
        return Err(WebError::BadRequest(format!(
            "Chưa chọn tệp {} (PDF hoặc Word .docx).",
            kind.label().to_lowercase()
        )));
    };
    let sniffed = media::sniff::check_extension(&name, &bytes)
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    if !matches!(sniffed, media::sniff::Kind::Pdf | media::sniff::Kind::Docx) {
        return Err(WebError::BadRequest(format!(
            "Tệp \"{name}\" ({}): {} chỉ nhận PDF hoặc Word (.docx).",
            sniffed.label(),
            kind.label()
        )));
    }
    let key = format!("documents/{}/{}", school.id, uuid::Uuid::now_v7());
    let size = bytes.len() as i64;
    state
        .storage
        .put(&key, bytes)
        .await
        .map_err(|e| WebError::Internal(e.into()))?;
    let added = state
        .db
        .add_school_document(
            school.id,
            year.id,
            &NewDocument {
                kind,
                storage_key: key.clone(),
                file_name: name,
                content_type: sniffed.mime().to_owned(),
                size,
                note,
            },
            s.user.id,
        )
        .await;
    if let Err(e) = added {
        // Nothing refers to the file: do not keep it.
        let _ = state.storage.delete(&key).await;
        return Err(e.into());
    }
    Ok(Redirect::to(&format!(
        "/schools/{}/documents?ok=1",
        school.id
    )))
}

async fn approve(
    State(state): State<AppState>,
    s: Session,
    Path((id, doc)): Path<(Id, Id)>,
) -> WebResult<Redirect> {
    let school = school_for(&state, &s, id, Action::ViewSchool).await?;
    if !is_principal(&s, school.id) {
        return Err(WebError::Forbidden);
    }
    state
        .db
        .approve_school_document(school.id, doc, s.user.id)
        .await?;
    Ok(Redirect::to(&format!(
        "/schools/{}/documents?ok=1",
        school.id
    )))
}

async fn download(
    State(state): State<AppState>,
    s: Session,
    Path((id, doc)): Path<(Id, Id)>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let (school, _) = school_access(&state, &s, id).await?;
    let d = state.db.school_document(school.id, doc).await?;
    crate::files::serve(
        &state,
        &d.storage_key,
        &d.content_type,
        &d.file_name,
        &headers,
    )
    .await
}

impl DocumentsPage {
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }

    fn kb(&self, size: &i64) -> i64 {
        (*size + 1023) / 1024
    }
}

/// One school on the unit's documents page.
struct DocLine {
    school: School,
    plan: DocStatus,
    regulation: DocStatus,
}

#[derive(askama::Template)]
#[template(path = "school_documents_unit.html")]
struct UnitDocumentsPage {
    ctx: Ctx,
    unit: Unit,
    lines: Vec<DocLine>,
    approved: usize,
}

async fn unit_documents(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Html<String>> {
    let unit = unit_for(&state, &s, id, Action::ViewUnit).await?;
    let statuses = state.db.document_statuses_within(&unit.path).await?;
    let mut lines: Vec<DocLine> = state
        .db
        .schools_within(&unit.path)
        .await?
        .into_iter()
        .map(|school| {
            let st = statuses.get(&school.id);
            DocLine {
                plan: st.map_or(DocStatus::Missing, |x| x.plan),
                regulation: st.map_or(DocStatus::Missing, |x| x.regulation),
                school,
            }
        })
        .collect();
    // Schools that need attention first.
    lines.sort_by(|a, b| {
        a.plan
            .min(a.regulation)
            .cmp(&b.plan.min(b.regulation))
            .then_with(|| a.school.name.cmp(&b.school.name))
    });
    let approved = lines
        .iter()
        .filter(|l| l.plan == DocStatus::Approved && l.regulation == DocStatus::Approved)
        .count();
    render(&UnitDocumentsPage {
        ctx: Ctx::new(
            &s,
            format!("{} – {}", s.lang.t("docs-unit-title"), unit.name),
        )
        .with_help(HELP),
        unit,
        lines,
        approved,
    })
}

// ----- demo -----

/// The demo's survey: an open device survey issued by the Sở to every school, which THCS Gia
/// Viễn has answered, so the results page has something to show.
pub async fn seed_demo(db: &Db) -> anyhow::Result<()> {
    let province = db
        .units()
        .await?
        .into_iter()
        .find(|u| u.kind == domain::tree::UnitKind::Province)
        .ok_or_else(|| anyhow::anyhow!("demo province missing"))?;
    let officer = db.user_by_username("so.chuyenvien").await?;
    let principal = db.user_by_username("ht.thcs").await?;
    let (id, _) = db
        .create_survey(
            &province,
            &NewSurvey {
                template: &domain::survey::DEVICES,
                title: "Rà soát học sinh chưa có thiết bị học trực tuyến".into(),
                instructions: "Đề nghị các trường rà soát, báo cáo số học sinh chưa có thiết bị học trực tuyến theo từng đối tượng và đề xuất hỗ trợ.".into(),
                deadline_at: db::now_ms() + 10 * 86_400_000,
                late_policy: LatePolicy::Accept,
                levels: vec![],
            },
            officer.id,
        )
        .await?;
    let survey = db.survey(id).await?;
    let school = db.school_by_code("37THCSGV").await?;
    let (_, students, _) = db.school_counts(school.id, None).await?;
    let raw: BTreeMap<String, String> = [
        ("students", students.to_string()),
        ("poor", "3".into()),
        ("near_poor", "2".into()),
        ("policy", "1".into()),
        ("other", "1".into()),
        ("need_computer", "1".into()),
        ("need_tablet", "2".into()),
        ("need_phone", "4".into()),
        ("need_internet", "3".into()),
        (
            "proposal",
            "Đề nghị hỗ trợ 2 máy tính bảng và 3 gói Internet cho học sinh hộ nghèo.".into(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let answers = domain::survey::validate(survey.template, &raw, Mode::Submit)
        .map_err(|e| anyhow::anyhow!(e.join(" ")))?;
    db.save_response(&survey, school.id, &answers, true, false, principal.id)
        .await?;
    Ok(())
}
