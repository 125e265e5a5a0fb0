//! Data exchange with the sector database (CSDL ngành): a school's principal or school admin, or
//! an officer for the schools of its unit's subtree, downloads schools, classes, students and
//! results keyed by mã trường and mã định danh, as one Excel workbook or one CSV per table, in
//! the layout of [`office::exchange`] (documented in docs/trao-doi-du-lieu.md).
//!
//! The page lists, before any download, every row that cannot be uploaded and why ("Học sinh
//! Nguyễn Văn A (6A1) chưa có mã định danh"), with a link to the student's record where the
//! school adds it. Those rows are left out of the upload tables and written to the `CanBoSung`
//! sheet, so nothing disappears without a trace. Every download is audited (it carries personal
//! data).

use crate::AppState;
use crate::auth::Session;
use crate::error::{WebError, WebResult};
use crate::view::{Ctx, render};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use db::exchange::{Problem, SchoolExport};
use db::org::{School, Unit};
use domain::Id;
use domain::auth::{Action, Target};
use office::exchange::{CLASSES, PROBLEMS, RESULTS, SCHOOLS, STUDENTS, Table};
use office::table::Cell;
use std::collections::HashMap;

/// The user guide of these pages.
const HELP: &str = "trao-doi-du-lieu";

/// Problems shown on the page before "and N more" (the file has them all).
const SHOWN_PROBLEMS: usize = 200;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schools/{id}/exchange", get(school_page))
        .route("/schools/{id}/exchange.xlsx", get(school_xlsx))
        .route("/schools/{id}/exchange/{file}", get(school_csv))
        .route("/units/{id}/exchange", get(unit_page))
        .route("/units/{id}/exchange.xlsx", get(unit_xlsx))
        .route("/units/{id}/exchange/{file}", get(unit_csv))
}

/// What is exported: one school, or the schools of a unit's subtree.
enum Scope {
    School(School),
    Unit(Unit),
}

impl Scope {
    fn base(&self) -> String {
        match self {
            Scope::School(s) => format!("/schools/{}/exchange", s.id),
            Scope::Unit(u) => format!("/units/{}/exchange", u.id),
        }
    }
    fn name(&self) -> &str {
        match self {
            Scope::School(s) => &s.name,
            Scope::Unit(u) => &u.name,
        }
    }
    fn file_stem(&self) -> String {
        match self {
            Scope::School(s) => format!("csdl-{}", s.code),
            Scope::Unit(u) => format!("csdl-{}", u.code),
        }
    }
    fn school_id(&self) -> Option<Id> {
        match self {
            Scope::School(s) => Some(s.id),
            Scope::Unit(_) => None,
        }
    }
}

async fn school_scope(state: &AppState, s: &Session, id: Id) -> WebResult<Scope> {
    Ok(Scope::School(
        super::school_for(state, s, id, Action::ManageSchool).await?,
    ))
}

async fn unit_scope(state: &AppState, s: &Session, id: Id) -> WebResult<Scope> {
    let unit = match state.db.unit(id).await {
        Ok(u) => u,
        Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    s.require(Action::ManageUnit, Target::Unit(&unit.path))?;
    Ok(Scope::Unit(unit))
}

/// The rows of every table, built school by school.
#[derive(Default)]
struct Rows {
    schools: Vec<Vec<Cell>>,
    classes: Vec<Vec<Cell>>,
    students: Vec<Vec<Cell>>,
    results: Vec<Vec<Cell>>,
    problems: Vec<Problem>,
    /// Students in the current years' classes, with or without an identifier.
    all_students: usize,
}

impl Rows {
    fn add(&mut self, x: SchoolExport) {
        let code = x.school.code.clone();
        let year = x.year.clone().unwrap_or_default();
        self.schools.push(vec![
            x.unit_code.clone().into(),
            x.unit_name.clone().into(),
            code.clone().into(),
            x.school.name.clone().into(),
            x.school.level.label().into(),
            x.school.address.clone().into(),
            year.clone().into(),
            (x.classes.len() as i64).into(),
            (x.students.len() as i64).into(),
        ]);
        for c in &x.classes {
            self.classes.push(vec![
                code.clone().into(),
                year.clone().into(),
                c.name.clone().into(),
                c.grade.into(),
                c.homeroom.clone().into(),
                c.size.into(),
            ]);
        }
        self.all_students += x.students.len();
        let mut ids: HashMap<Id, (&str, &str, &str)> = HashMap::new();
        for st in &x.students {
            let Some(pid) = st.personal_id.as_deref() else {
                continue;
            };
            ids.insert(st.id, (pid, &st.code, &st.class_name));
            self.students.push(vec![
                code.clone().into(),
                pid.into(),
                st.code.clone().into(),
                st.full_name.clone().into(),
                st.birth_date.clone().into(),
                st.gender.label().into(),
                st.ethnicity.clone().into(),
                st.class_name.clone().into(),
                st.grade.into(),
                st.status.label().into(),
            ]);
        }
        for r in &x.results {
            let Some((pid, scode, class)) = ids.get(&r.student_id) else {
                continue;
            };
            self.results.push(vec![
                code.clone().into(),
                (*pid).into(),
                (*scode).into(),
                (*class).into(),
                r.subject_code.clone().into(),
                r.subject_name.clone().into(),
                r.scheme.label().into(),
                r.term_i.clone().into(),
                r.term_ii.clone().into(),
                r.year.clone().into(),
            ]);
        }
        self.problems.extend(x.problems);
    }

    fn problem_rows(&self) -> Vec<Vec<Cell>> {
        self.problems
            .iter()
            .map(|p| {
                vec![
                    p.school_code.clone().into(),
                    p.school_name.clone().into(),
                    p.subject.clone().into(),
                    p.class_name.clone().into(),
                    p.what.clone().into(),
                ]
            })
            .collect()
    }

    fn table(&self, t: Table) -> std::borrow::Cow<'_, [Vec<Cell>]> {
        match t.file {
            "truong" => (&self.schools[..]).into(),
            "lop" => (&self.classes[..]).into(),
            "hoc-sinh" => (&self.students[..]).into(),
            "ket-qua" => (&self.results[..]).into(),
            _ => self.problem_rows().into(),
        }
    }
}

async fn collect(state: &AppState, scope: &Scope) -> WebResult<Rows> {
    let mut rows = Rows::default();
    let units = state.db.units_by_id().await?;
    let schools = match scope {
        Scope::School(s) => vec![s.clone()],
        Scope::Unit(u) => {
            let mut v = state.db.schools_within(&u.path).await?;
            v.sort_by(|a, b| a.code.cmp(&b.code));
            v
        }
    };
    let batches = schools
        .chunks(db::exchange::EXPORT_BATCH)
        .map(|batch| {
            batch
                .iter()
                .map(|school| {
                    units
                        .get(&school.unit_id)
                        .map(|u| (school, u))
                        .ok_or_else(|| {
                            WebError::Internal(anyhow::anyhow!("unit of {}", school.code))
                        })
                })
                .collect::<WebResult<Vec<_>>>()
        })
        .collect::<WebResult<Vec<_>>>()?;
    // Two batches at once, each on its own connection (one per core), taken in order.
    for pair in batches.chunks(2) {
        let (a, b) = tokio::join!(state.db.schools_export(&pair[0]), async {
            match pair.get(1) {
                Some(b) => state.db.schools_export(b).await,
                None => Ok(Vec::new()),
            }
        });
        for x in a?.into_iter().chain(b?) {
            rows.add(x);
        }
    }
    Ok(rows)
}

/// One problem on the page, with the link that fixes it.
struct ProblemView {
    text: String,
    link: Option<String>,
    school: String,
}

#[derive(askama::Template)]
#[template(path = "exchange.html")]
struct Page {
    ctx: Ctx,
    name: String,
    base: String,
    back: String,
    schools: usize,
    classes: usize,
    students: usize,
    ready: usize,
    results: usize,
    problems: Vec<ProblemView>,
    more: usize,
    tables: Vec<(&'static str, &'static str)>,
}

async fn page(state: &AppState, s: &Session, scope: Scope) -> WebResult<Html<String>> {
    let rows = collect(state, &scope).await?;
    let total = rows.problems.len();
    let problems = rows
        .problems
        .iter()
        .take(SHOWN_PROBLEMS)
        .map(|p| ProblemView {
            text: p.sentence(),
            school: format!("{} ({})", p.school_name, p.school_code),
            link: p.student_id.and_then(|st| {
                scope
                    .school_id()
                    .map(|sid| format!("/schools/{sid}/students/{st}"))
            }),
        })
        .collect();
    let back = match &scope {
        Scope::School(sc) => format!("/schools/{}", sc.id),
        Scope::Unit(u) => format!("/units/{}", u.id),
    };
    render(&Page {
        ctx: Ctx::new(
            s,
            format!("{} – {}", s.lang.t("exchange-title"), scope.name()),
        )
        .with_help(HELP),
        name: scope.name().to_owned(),
        base: scope.base(),
        back,
        schools: rows.schools.len(),
        classes: rows.classes.len(),
        students: rows.all_students,
        ready: rows.students.len(),
        results: rows.results.len(),
        more: total.saturating_sub(SHOWN_PROBLEMS),
        problems,
        tables: office::exchange::TABLES
            .iter()
            .map(|t| (t.file, t.sheet))
            .collect(),
    })
}

async fn audit(state: &AppState, s: &Session, scope: &Scope, what: &str, rows: &Rows) {
    let detail = serde_json::json!({
        "scope": scope.base(),
        "file": what,
        "schools": rows.schools.len(),
        "students": rows.students.len(),
        "left_out": rows.problems.len(),
    })
    .to_string();
    // A failed audit write must not hide the file from its owner; it is logged instead.
    if let Err(e) = state
        .db
        .audit(&db::audit::AuditEntry {
            school_id: scope.school_id(),
            actor_id: Some(s.user.id),
            action: "exchange.export",
            entity: "exchange",
            entity_id: None,
            detail,
        })
        .await
    {
        tracing::warn!(error = %e, "audit of an exchange export failed");
    }
}

async fn xlsx(state: &AppState, s: &Session, scope: Scope) -> WebResult<Response> {
    let rows = collect(state, &scope).await?;
    let problems = rows.problem_rows();
    let bytes = office::exchange::xlsx(&[
        (SCHOOLS, &rows.schools),
        (CLASSES, &rows.classes),
        (STUDENTS, &rows.students),
        (RESULTS, &rows.results),
        (PROBLEMS, &problems),
    ])
    .map_err(|e| WebError::Internal(e.into()))?;
    audit(state, s, &scope, "xlsx", &rows).await;
    Ok(crate::files::xlsx_download(
        bytes,
        &format!("{}.xlsx", scope.file_stem()),
    ))
}

async fn csv(state: &AppState, s: &Session, scope: Scope, file: &str) -> WebResult<Response> {
    let table = file
        .strip_suffix(".csv")
        .and_then(office::exchange::table)
        .ok_or_else(|| WebError::NotFound)?;
    let rows = collect(state, &scope).await?;
    let bytes = office::exchange::csv(table, &rows.table(table));
    audit(state, s, &scope, table.file, &rows).await;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}-{}.csv\"",
                    scope.file_stem(),
                    table.file
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn school_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Html<String>> {
    let scope = school_scope(&state, &s, id).await?;
    page(&state, &s, scope).await
}

async fn school_xlsx(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    let scope = school_scope(&state, &s, id).await?;
    xlsx(&state, &s, scope).await
}

async fn school_csv(
    State(state): State<AppState>,
    s: Session,
    Path((id, file)): Path<(Id, String)>,
) -> WebResult<Response> {
    let scope = school_scope(&state, &s, id).await?;
    csv(&state, &s, scope, &file).await
}

async fn unit_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Html<String>> {
    let scope = unit_scope(&state, &s, id).await?;
    page(&state, &s, scope).await
}

async fn unit_xlsx(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    let scope = unit_scope(&state, &s, id).await?;
    xlsx(&state, &s, scope).await
}

async fn unit_csv(
    State(state): State<AppState>,
    s: Session,
    Path((id, file)): Path<(Id, String)>,
) -> WebResult<Response> {
    let scope = unit_scope(&state, &s, id).await?;
    csv(&state, &s, scope, &file).await
}
