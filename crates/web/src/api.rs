//! The JSON API under `/api/v1`, with the same sessions and the same authorization as the
//! pages, described by an OpenAPI document generated from this code at `/api/openapi.json`.

use crate::AppState;
use crate::auth::{Session, load_session};
use crate::error::{ApiError, WebError};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::Id;
use domain::auth::{Action, Role, Target};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/me", get(me))
        .route("/api/v1/schools", get(schools))
        .route("/api/v1/schools/{id}", get(school))
        .route(
            "/api/v1/schools/{id}/classes",
            get(classes).post(create_class),
        )
        .route("/api/v1/schools/{id}/years", get(years).post(create_year))
        .route("/api/v1/schools/{id}/students", get(students))
        .route(
            "/api/v1/schools/{id}/students/{student}/status",
            post(set_status),
        )
        .route("/api/v1/schools/{id}/roster", post(import_roster))
        .route("/api/v1/schools/{id}/staff", get(staff))
}

/// The OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "lophoc API",
        description = "JSON API of lophoc. Authenticate with the session cookie of /login."
    ),
    paths(
        me,
        schools,
        school,
        classes,
        create_class,
        years,
        create_year,
        students,
        set_status,
        staff,
        import_roster
    ),
    components(schemas(
        MeDto,
        GrantDto,
        SchoolDto,
        ClassDto,
        NewClassDto,
        YearDto,
        NewYearDto,
        StudentDto,
        StatusDto,
        StaffDto,
        ErrorDto,
        RowErrorDto,
        ImportResultDto
    ))
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// A session for the API: the same cookie, answered with JSON errors. Accounts that must still
/// change their password are refused.
pub struct ApiSession(pub Session);

impl FromRequestParts<AppState> for ApiSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let s = load_session(parts, state).await?;
        if s.user.must_change_password {
            return Err(ApiError(WebError::Forbidden));
        }
        Ok(Self(s))
    }
}

/// An error answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorDto {
    /// Machine code: not_found, forbidden, unauthorized, bad_request, conflict, internal.
    pub error: String,
    /// Message for people, in Vietnamese.
    pub message: String,
    /// Id to quote to support.
    pub request_id: String,
}

/// A role grant.
#[derive(Serialize, ToSchema)]
pub struct GrantDto {
    /// Role code.
    pub role: String,
    /// School, for school roles.
    pub school_id: Option<uuid::Uuid>,
    /// Unit path, for unit roles.
    pub unit_path: Option<String>,
}

/// The current user.
#[derive(Serialize, ToSchema)]
pub struct MeDto {
    /// User id.
    pub id: uuid::Uuid,
    /// Login name.
    pub username: String,
    /// Full name.
    pub full_name: String,
    /// Roles.
    pub grants: Vec<GrantDto>,
}

/// A school.
#[derive(Serialize, ToSchema)]
pub struct SchoolDto {
    /// Id.
    pub id: uuid::Uuid,
    /// Mã trường.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level code.
    pub level: String,
    /// Managing unit.
    pub unit_id: uuid::Uuid,
}

/// A class of the current year.
#[derive(Serialize, ToSchema)]
pub struct ClassDto {
    /// Id.
    pub id: uuid::Uuid,
    /// Name.
    pub name: String,
    /// Grade.
    pub grade: i64,
    /// Homeroom teacher.
    pub homeroom: Option<String>,
    /// Students studying.
    pub students: i64,
}

/// A student.
#[derive(Serialize, ToSchema)]
pub struct StudentDto {
    /// Id.
    pub id: uuid::Uuid,
    /// Mã học sinh.
    pub code: String,
    /// Full name.
    pub full_name: String,
    /// Date of birth, ISO.
    pub birth_date: String,
    /// Gender code.
    pub gender: String,
    /// Status code.
    pub status: String,
    /// Class this year.
    pub class_name: Option<String>,
}

/// A member of staff.
#[derive(Serialize, ToSchema)]
pub struct StaffDto {
    /// Staff id.
    pub id: uuid::Uuid,
    /// Login name.
    pub username: String,
    /// Full name.
    pub full_name: String,
    /// Position.
    pub position: String,
}

fn school_dto(s: db::org::School) -> SchoolDto {
    SchoolDto {
        id: s.id,
        code: s.code,
        name: s.name,
        level: s.level.code().to_owned(),
        unit_id: s.unit_id,
    }
}

#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = MeDto), (status = 401, body = ErrorDto)))]
async fn me(ApiSession(s): ApiSession) -> Json<MeDto> {
    Json(MeDto {
        id: s.user.id,
        username: s.user.username,
        full_name: s.user.full_name,
        grants: s
            .actor
            .grants
            .into_iter()
            .map(|g| GrantDto {
                role: g.role.code().to_owned(),
                school_id: g.school_id,
                unit_path: g.unit_path,
            })
            .collect(),
    })
}

/// Schools the caller may see.
#[utoipa::path(get, path = "/api/v1/schools", responses((status = 200, body = [SchoolDto]), (status = 401, body = ErrorDto)))]
async fn schools(
    State(state): State<AppState>,
    ApiSession(s): ApiSession,
) -> Result<Json<Vec<SchoolDto>>, ApiError> {
    let all = if s.actor.has_role(Role::SystemAdmin) {
        state.db.schools_within("/").await?
    } else {
        let mut v = Vec::new();
        for p in s.actor.unit_paths() {
            v.extend(state.db.schools_within(p).await?);
        }
        for id in s.actor.school_ids() {
            v.push(state.db.school(id).await?);
        }
        v
    };
    let mut out: Vec<SchoolDto> = all
        .into_iter()
        .filter(|sc| {
            s.actor
                .can(Action::ViewSchool, Target::School(&sc.as_ref()))
        })
        .map(school_dto)
        .collect();
    out.sort_by(|a, b| a.code.cmp(&b.code));
    out.dedup_by(|a, b| a.id == b.id);
    Ok(Json(out))
}

async fn api_school(
    state: &AppState,
    s: &Session,
    id: Id,
    action: Action,
) -> Result<db::org::School, ApiError> {
    Ok(crate::pages::school_for(state, s, id, action).await?)
}

/// One school.
#[utoipa::path(get, path = "/api/v1/schools/{id}", params(("id" = String, Path, description = "School id")), responses((status = 200, body = SchoolDto), (status = 403, body = ErrorDto)))]
async fn school(
    State(state): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<Id>,
) -> Result<Json<SchoolDto>, ApiError> {
    Ok(Json(school_dto(
        api_school(&state, &s, id, Action::ViewSchool).await?,
    )))
}

/// Classes of the school's current year.
#[utoipa::path(get, path = "/api/v1/schools/{id}/classes", params(("id" = String, Path, description = "School id")), responses((status = 200, body = [ClassDto]), (status = 403, body = ErrorDto)))]
async fn classes(
    State(state): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<Id>,
) -> Result<Json<Vec<ClassDto>>, ApiError> {
    api_school(&state, &s, id, Action::ViewSchool).await?;
    let Some(year) = state.db.current_year(id).await? else {
        return Ok(Json(vec![]));
    };
    Ok(Json(
        state
            .db
            .classes(id, year.id)
            .await?
            .into_iter()
            .map(|c| ClassDto {
                id: c.id,
                name: c.name,
                grade: c.grade,
                homeroom: c.homeroom_name,
                students: c.student_count,
            })
            .collect(),
    ))
}

/// Students of the school with their class this year.
#[utoipa::path(get, path = "/api/v1/schools/{id}/students", params(("id" = String, Path, description = "School id")), responses((status = 200, body = [StudentDto]), (status = 403, body = ErrorDto)))]
async fn students(
    State(state): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<Id>,
) -> Result<Json<Vec<StudentDto>>, ApiError> {
    api_school(&state, &s, id, Action::ViewSchool).await?;
    let year = state.db.current_year(id).await?.map(|y| y.id);
    Ok(Json(
        state
            .db
            .students(id, year, &db::roster::StudentFilter::default())
            .await?
            .into_iter()
            .map(|st| StudentDto {
                id: st.id,
                code: st.code,
                full_name: st.full_name,
                birth_date: st.birth_date.to_string(),
                gender: st.gender.code().to_owned(),
                status: st.status.code().to_owned(),
                class_name: st.class_name,
            })
            .collect(),
    ))
}

/// Staff of the school (managers only).
#[utoipa::path(get, path = "/api/v1/schools/{id}/staff", params(("id" = String, Path, description = "School id")), responses((status = 200, body = [StaffDto]), (status = 403, body = ErrorDto)))]
async fn staff(
    State(state): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<Id>,
) -> Result<Json<Vec<StaffDto>>, ApiError> {
    api_school(&state, &s, id, Action::ManageSchool).await?;
    Ok(Json(
        state
            .db
            .staff(id)
            .await?
            .into_iter()
            .map(|m| StaffDto {
                id: m.id,
                username: m.username,
                full_name: m.full_name,
                position: m.position,
            })
            .collect(),
    ))
}

/// A class to create in the current year.
#[derive(serde::Deserialize, ToSchema)]
pub struct NewClassDto {
    /// Name, e.g. "6A1".
    pub name: String,
    /// Grade (khối), one the school teaches.
    pub grade: u8,
    /// Homeroom teacher (staff id).
    pub homeroom_staff_id: Option<uuid::Uuid>,
}

/// Creates a class in the school's current year.
#[utoipa::path(post, path = "/api/v1/schools/{id}/classes", params(("id" = String, Path, description = "School id")), request_body = NewClassDto,
    responses((status = 201, body = ClassDto), (status = 400, body = ErrorDto), (status = 403, body = ErrorDto), (status = 409, body = ErrorDto)))]
async fn create_class(
    State(state): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<Id>,
    crate::error::Json(body): crate::error::Json<NewClassDto>,
) -> Result<(axum::http::StatusCode, Json<ClassDto>), ApiError> {
    let school = api_school(&state, &s, id, Action::ManageSchool).await?;
    let c = crate::pages::school::new_class(
        &state,
        &school,
        &body.name,
        &body.grade.to_string(),
        body.homeroom_staff_id,
    )
    .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(ClassDto {
            id: c.id,
            name: c.name,
            grade: c.grade,
            homeroom: c.homeroom_name,
            students: c.student_count,
        }),
    ))
}

/// A school year.
#[derive(Serialize, ToSchema)]
pub struct YearDto {
    /// Id.
    pub id: uuid::Uuid,
    /// "2026-2027".
    pub name: String,
    /// First day, ISO.
    pub start: String,
    /// Last day of term 1.
    pub term1_end: String,
    /// First day of term 2.
    pub term2_start: String,
    /// Last day.
    pub end: String,
    /// The current year.
    pub current: bool,
}

fn year_dto(y: db::school::Year) -> YearDto {
    YearDto {
        id: y.id,
        name: y.name,
        start: y.dates.start.to_string(),
        term1_end: y.dates.term1_end.to_string(),
        term2_start: y.dates.term2_start.to_string(),
        end: y.dates.end.to_string(),
        current: y.is_current,
    }
}

/// The dates of a new year, `dd/mm/yyyy` or ISO `yyyy-mm-dd`.
#[derive(serde::Deserialize, ToSchema)]
pub struct NewYearDto {
    /// First day of term 1.
    pub start: String,
    /// Last day of term 1.
    pub term1_end: String,
    /// First day of term 2.
    pub term2_start: String,
    /// Last day of the year.
    pub end: String,
}

/// The school's years, newest first.
#[utoipa::path(get, path = "/api/v1/schools/{id}/years", params(("id" = String, Path, description = "School id")), responses((status = 200, body = [YearDto]), (status = 403, body = ErrorDto)))]
async fn years(
    State(state): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<Id>,
) -> Result<Json<Vec<YearDto>>, ApiError> {
    api_school(&state, &s, id, Action::ViewSchool).await?;
    Ok(Json(
        state
            .db
            .years(id)
            .await?
            .into_iter()
            .map(year_dto)
            .collect(),
    ))
}

/// Creates a school year (the first one becomes current).
#[utoipa::path(post, path = "/api/v1/schools/{id}/years", params(("id" = String, Path, description = "School id")), request_body = NewYearDto,
    responses((status = 201, body = YearDto), (status = 400, body = ErrorDto), (status = 403, body = ErrorDto), (status = 409, body = ErrorDto)))]
async fn create_year(
    State(state): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<Id>,
    crate::error::Json(body): crate::error::Json<NewYearDto>,
) -> Result<(axum::http::StatusCode, Json<YearDto>), ApiError> {
    api_school(&state, &s, id, Action::ManageSchool).await?;
    let dates = crate::pages::school::parse_year(
        &body.start,
        &body.term1_end,
        &body.term2_start,
        &body.end,
    )?;
    let y = state.db.create_year(id, dates, Some(s.user.id)).await?;
    Ok((axum::http::StatusCode::CREATED, Json(year_dto(y))))
}

/// A new status for a student.
#[derive(serde::Deserialize, ToSchema)]
pub struct StatusDto {
    /// studying, transferred_out, dropped_out, suspended or graduated.
    pub status: String,
}

/// Changes a student's status (students are never deleted).
#[utoipa::path(post, path = "/api/v1/schools/{id}/students/{student}/status",
    params(("id" = String, Path, description = "School id"), ("student" = String, Path, description = "Student id")), request_body = StatusDto,
    responses((status = 204), (status = 400, body = ErrorDto), (status = 403, body = ErrorDto), (status = 404, body = ErrorDto)))]
async fn set_status(
    State(state): State<AppState>,
    ApiSession(s): ApiSession,
    Path((id, student)): Path<(Id, Id)>,
    crate::error::Json(body): crate::error::Json<StatusDto>,
) -> Result<axum::http::StatusCode, ApiError> {
    api_school(&state, &s, id, Action::ManageSchool).await?;
    let status = domain::people::StudentStatus::from_code(&body.status).ok_or_else(|| {
        WebError::BadRequest(format!("Trạng thái \"{}\" không hợp lệ", body.status))
    })?;
    state
        .db
        .set_student_status(id, student, status, Some(s.user.id))
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// One bad cell of an imported file.
#[derive(Serialize, ToSchema)]
pub struct RowErrorDto {
    /// Excel row number.
    pub row: usize,
    /// Column.
    pub column: String,
    /// What is wrong, in Vietnamese.
    pub message: String,
}

/// What an import did, or would do with `?dry_run=true`.
#[derive(Serialize, ToSchema)]
pub struct ImportResultDto {
    /// Valid rows in the file.
    pub rows: usize,
    /// Whether anything was written.
    pub written: bool,
    /// Students created.
    pub created: usize,
    /// Students updated.
    pub updated: usize,
    /// Classes created.
    pub classes_created: usize,
    /// Parent accounts created.
    pub parents_created: usize,
}

/// `?dry_run=true` checks without writing.
#[derive(serde::Deserialize)]
pub struct DryRun {
    #[serde(default)]
    dry_run: bool,
}

/// Imports a roster (the Excel file as the request body) into the current year, all or nothing.
/// Bad rows answer 422 with every error; nothing is written.
#[utoipa::path(post, path = "/api/v1/schools/{id}/roster", params(("id" = String, Path, description = "School id"), ("dry_run" = Option<bool>, Query, description = "Check only")),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 200, body = ImportResultDto), (status = 422, body = [RowErrorDto]), (status = 400, body = ErrorDto), (status = 403, body = ErrorDto)))]
async fn import_roster(
    State(state): State<AppState>,
    ApiSession(s): ApiSession,
    Path(id): Path<Id>,
    axum::extract::Query(q): axum::extract::Query<DryRun>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let school = api_school(&state, &s, id, Action::ManageSchool).await?;
    let year = state
        .db
        .current_year(id)
        .await?
        .ok_or_else(|| WebError::Conflict("Trường chưa có năm học".into()))?;
    let bytes = body
        .map_err(|_| {
            WebError::BadRequest(format!(
                "Không nhận được tệp: tệp quá lớn (tối đa {} MB) hoặc bị gián đoạn",
                state.config.max_upload_bytes / (1024 * 1024)
            ))
        })?
        .to_vec();
    let parsed = tokio::task::spawn_blocking(move || office::roster::parse_roster(&bytes))
        .await
        .map_err(|e| WebError::Internal(e.into()))?
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    let (rows, errors) = crate::imports::prepare(&school, &parsed);
    if !errors.is_empty() {
        let errors: Vec<RowErrorDto> = errors
            .into_iter()
            .map(|e| RowErrorDto {
                row: e.row,
                column: e.column,
                message: e.message,
            })
            .collect();
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Json(errors)).into_response());
    }
    let mut result = ImportResultDto {
        rows: rows.len(),
        written: false,
        created: 0,
        updated: 0,
        classes_created: 0,
        parents_created: 0,
    };
    if !q.dry_run {
        let summary = state
            .db
            .apply_roster(id, year.id, &rows, Some(s.user.id), None)
            .await?;
        result.written = true;
        result.created = summary.created;
        result.updated = summary.updated;
        result.classes_created = summary.classes_created;
        result.parents_created = summary.parents_created;
    }
    Ok(Json(result).into_response())
}
