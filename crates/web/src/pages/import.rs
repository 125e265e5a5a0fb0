//! Roster import from Excel (upload → preview with row errors → confirm → progress → result)
//! and export back to Excel.

use super::school_for;
use crate::AppState;
use crate::auth::Session;
use crate::error::{WebError, WebResult};
use crate::imports::{JobState, PendingImport, prepare};
use crate::view::{Ctx, render};
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use db::org::School;
use db::roster::ImportStudent;
use domain::Id;
use domain::auth::Action;
use office::roster::RowError;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schools/{id}/import", get(import_page).post(preview))
        .route("/schools/{id}/import/{token}", get(status_page))
        .route("/schools/{id}/import/{token}/confirm", post(confirm))
        .route("/schools/{id}/import/{token}/status", get(status_json))
        .route("/schools/{id}/export.xlsx", get(export))
        .route("/templates/roster.xlsx", get(template))
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    ctx: Ctx,
    school: School,
    year_name: Option<String>,
    headers: Vec<(&'static str, Vec<&'static str>, bool)>,
}

async fn import_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::ManageSchool).await?;
    render(&ImportPage {
        ctx: Ctx::new(&s, s.lang.t("nav-import")).with_help("nhap-danh-sach-hoc-sinh"),
        year_name: state.db.current_year(id).await?.map(|y| y.name),
        school,
        headers: office::roster::accepted_headers(),
    })
}

#[derive(Template)]
#[template(path = "import_preview.html")]
struct PreviewPage {
    ctx: Ctx,
    school: School,
    file_name: String,
    errors: Vec<RowError>,
    total_rows: usize,
    classes: Vec<(String, usize)>,
    new_students: usize,
    updated_students: usize,
    sample: Vec<ImportStudent>,
    token: String,
}

impl PreviewPage {
    fn d(&self, d: &time::Date) -> String {
        domain::people::format_vn_date(*d)
    }
}

async fn preview(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    mut multipart: Multipart,
) -> WebResult<Response> {
    let school = school_for(&state, &s, id, Action::ManageSchool).await?;
    let year = state.db.current_year(id).await?.ok_or_else(|| {
        WebError::Conflict(
            "Trường chưa có năm học. Hãy tạo năm học trước khi nhập danh sách.".into(),
        )
    })?;
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| WebError::BadRequest(too_large_or_broken(state.config.max_upload_bytes)))?
    {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("danh-sach.xlsx").to_owned();
            let bytes = field.bytes().await.map_err(|_| {
                WebError::BadRequest(too_large_or_broken(state.config.max_upload_bytes))
            })?;
            file = Some((name, bytes.to_vec()));
        }
    }
    let Some((file_name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return Err(WebError::BadRequest("Chưa chọn tệp Excel để nhập".into()));
    };
    let parsed = tokio::task::spawn_blocking(move || office::roster::parse_roster(&bytes))
        .await
        .map_err(|e| WebError::Internal(e.into()))?
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    let (rows, errors) = prepare(&school, &parsed);
    let total_rows = rows.len()
        + errors
            .iter()
            .map(|e| e.row)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
    let existing: std::collections::HashSet<String> = state
        .db
        .students(id, None, &db::roster::StudentFilter::default())
        .await?
        .into_iter()
        .map(|s| s.code)
        .collect();
    let updated_students = rows.iter().filter(|r| existing.contains(&r.code)).count();
    let mut classes: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        *classes.entry(r.class_name.clone()).or_default() += 1;
    }
    let token = if errors.is_empty() && !rows.is_empty() {
        state
            .imports
            .insert(id, s.user.id, year.id, file_name.clone(), rows.clone())
    } else {
        String::new()
    };
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = PreviewPage {
        ctx: Ctx::new(&s, s.lang.t("import-preview-title")).with_help("nhap-danh-sach-hoc-sinh"),
        school,
        file_name,
        errors,
        total_rows,
        classes: classes.into_iter().collect(),
        new_students: rows.len() - updated_students,
        updated_students,
        sample: rows.into_iter().take(20).collect(),
        token,
    };
    Ok((status, render(&page)?).into_response())
}

fn too_large_or_broken(max: usize) -> String {
    format!(
        "Không nhận được tệp: tệp quá lớn (tối đa {} MB) hoặc bị gián đoạn khi tải lên",
        max / (1024 * 1024)
    )
}

fn job(state: &AppState, s: &Session, id: Id, token: &str) -> WebResult<PendingImport> {
    state.imports.get(token, id, s.user.id).ok_or_else(|| {
        WebError::Conflict(
            "Phiên nhập danh sách đã hết hạn hoặc không tồn tại. Hãy tải tệp lên lại.".into(),
        )
    })
}

async fn confirm(
    State(state): State<AppState>,
    s: Session,
    Path((id, token)): Path<(Id, String)>,
) -> WebResult<Redirect> {
    school_for(&state, &s, id, Action::ManageSchool).await?;
    let job = job(&state, &s, id, &token)?;
    {
        let mut st = job.state.lock().expect("job lock");
        if *st != JobState::Previewed {
            // Confirming twice (a double tap on a slow phone) just shows the same job.
            return Ok(Redirect::to(&format!("/schools/{id}/import/{token}")));
        }
        *st = JobState::Running;
    }
    let db = state.db.clone();
    let actor = s.user.id;
    tokio::spawn(async move {
        let result = db
            .apply_roster(
                job.school_id,
                job.year_id,
                &job.rows,
                Some(actor),
                Some(&job.progress),
            )
            .await;
        let mut st = job.state.lock().expect("job lock");
        *st = match result {
            Ok(summary) => JobState::Done(summary),
            Err(db::DbError::Conflict(m)) => JobState::Failed(m),
            Err(e) => {
                tracing::error!(error = %e, "roster import failed");
                JobState::Failed(
                    "Lỗi hệ thống khi ghi danh sách; không có dữ liệu nào được ghi. Hãy thử lại."
                        .into(),
                )
            }
        };
    });
    Ok(Redirect::to(&format!("/schools/{id}/import/{token}")))
}

#[derive(Template)]
#[template(path = "import_status.html")]
struct StatusPage {
    ctx: Ctx,
    school: School,
    file_name: String,
    done: usize,
    total: usize,
    state: JobState,
    status_url: String,
}

impl StatusPage {
    fn percent(&self) -> usize {
        (self.done * 100).checked_div(self.total).unwrap_or(100)
    }
}

async fn status_page(
    State(state): State<AppState>,
    s: Session,
    Path((id, token)): Path<(Id, String)>,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::ManageSchool).await?;
    let job = job(&state, &s, id, &token)?;
    let st = job.state.lock().expect("job lock").clone();
    render(&StatusPage {
        ctx: Ctx::new(&s, s.lang.t("import-status-title")).with_help("nhap-danh-sach-hoc-sinh"),
        school,
        file_name: job.file_name.clone(),
        done: job.progress.load(Ordering::Relaxed),
        total: job.rows.len(),
        state: st,
        status_url: format!("/schools/{id}/import/{token}/status"),
    })
}

async fn status_json(
    State(state): State<AppState>,
    s: Session,
    Path((id, token)): Path<(Id, String)>,
) -> WebResult<Json<serde_json::Value>> {
    school_for(&state, &s, id, Action::ManageSchool).await?;
    let job = job(&state, &s, id, &token)?;
    let st = job.state.lock().expect("job lock").clone();
    Ok(Json(serde_json::json!({
        "done": job.progress.load(Ordering::Relaxed),
        "total": job.rows.len(),
        "finished": matches!(st, JobState::Done(_) | JobState::Failed(_)),
    })))
}

async fn export(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    let school = school_for(&state, &s, id, Action::ManageSchool).await?;
    let year = state
        .db
        .current_year(id)
        .await?
        .ok_or_else(|| WebError::Conflict("Trường chưa có năm học".into()))?;
    let rows = crate::imports::export_rows(&state.db, id, year.id).await?;
    let bytes = office::roster::export_roster(&school.name, &year.name, &rows)
        .map_err(|e| WebError::Internal(e.into()))?;
    Ok(xlsx_response(
        bytes,
        &format!("danh-sach-hoc-sinh-{}-{}.xlsx", school.code, year.name),
    ))
}

async fn template(_s: Session) -> Response {
    xlsx_response(office::roster::template(), "mau-danh-sach-hoc-sinh.xlsx")
}

fn xlsx_response(bytes: Vec<u8>, file_name: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
