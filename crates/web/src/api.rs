//! The JSON API under `/api/v1`, with the same sessions and the same authorization as the
//! pages, described by an OpenAPI document generated from this code at `/api/openapi.json`.

use crate::AppState;
use crate::auth::{Session, load_session};
use crate::error::{ApiError, WebError};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::routing::get;
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
        .route("/api/v1/schools/{id}/classes", get(classes))
        .route("/api/v1/schools/{id}/students", get(students))
        .route("/api/v1/schools/{id}/staff", get(staff))
}

/// The OpenAPI description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "lophoc API",
        description = "JSON API of lophoc. Authenticate with the session cookie of /login."
    ),
    paths(me, schools, school, classes, students, staff),
    components(schemas(MeDto, GrantDto, SchoolDto, ClassDto, StudentDto, StaffDto, ErrorDto))
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
