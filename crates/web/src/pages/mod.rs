//! HTML pages, one module per area; each declares its routes next to its handlers.

pub mod account;
pub mod attendance;
pub mod banks;
pub mod dashboard;
pub mod exams;
pub mod exchange;
pub mod family;
pub mod gradebook;
pub mod guides;
pub mod import;
pub mod learning;
pub mod library;
pub mod live;
pub mod ops;
pub mod org;
pub mod oversight;
pub mod papers;
pub mod school;
pub mod self_assessment;
pub mod students;
pub mod surveys;
pub mod video;

use crate::AppState;
use crate::auth::Session;
use crate::error::WebError;
use axum::Router;
use db::org::School;
use domain::Id;
use domain::auth::{Action, Target};

/// Every HTML route.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(account::router())
        .merge(dashboard::router())
        .merge(family::router())
        .merge(attendance::router())
        .merge(org::router())
        .merge(school::router())
        .merge(students::router())
        .merge(import::router())
        .merge(guides::router())
        .merge(ops::router())
        .merge(oversight::router())
        .merge(papers::router())
        .merge(learning::router())
        .merge(library::router())
        .merge(banks::router())
        .merge(gradebook::router())
        .merge(video::router())
        .merge(exams::router())
        .merge(surveys::router())
        .merge(exchange::router())
        .merge(self_assessment::router())
        .merge(live::router())
}

/// Loads a school and checks the actor may do `action` there. An id of a school the actor
/// cannot see answers 403 whether it exists or not, so ids leak nothing.
pub async fn school_for(
    state: &AppState,
    s: &Session,
    id: Id,
    action: Action,
) -> Result<School, WebError> {
    match state.db.school(id).await {
        Ok(school) => {
            s.require(action, Target::School(&school.as_ref()))?;
            Ok(school)
        }
        Err(db::DbError::NotFound) => {
            if s.actor.can(Action::ManageSystem, Target::System) {
                Err(WebError::NotFound)
            } else {
                Err(WebError::Forbidden)
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Parses a form field that must be a UUID.
pub fn parse_uuid(raw: &str, field: &str) -> Result<Id, WebError> {
    Id::parse_str(raw.trim())
        .map_err(|_| WebError::BadRequest(format!("Trường \"{field}\" không hợp lệ")))
}

/// `?ok=1` after a save: shows the "saved" notice.
#[derive(serde::Deserialize)]
pub struct OkQuery {
    /// Present after a successful save.
    pub ok: Option<String>,
}

/// The printable list of temporary passwords just issued (shown once).
#[derive(askama::Template)]
#[template(path = "issued.html")]
pub struct IssuedPage {
    /// Page context.
    pub ctx: crate::view::Ctx,
    /// Where "back" leads.
    pub back: String,
    /// (who, login, temporary password).
    pub accounts: Vec<(String, String, String)>,
}

/// Renders the issued-passwords page.
pub fn issued(
    s: &Session,
    back: String,
    accounts: Vec<(String, String, String)>,
) -> Result<axum::response::Response, WebError> {
    use axum::response::IntoResponse;
    Ok(crate::view::render(&IssuedPage {
        ctx: crate::view::Ctx::new(s, s.lang.t("issued-title")),
        back,
        accounts,
    })?
    .into_response())
}

/// Gives an account a new temporary password that must be changed at next login, ends its
/// sessions and audits it; returns the password to show once.
pub async fn reset_password(
    state: &AppState,
    s: &Session,
    school_id: Option<Id>,
    user_id: Id,
) -> Result<(db::accounts::User, String), WebError> {
    let user = state.db.user(user_id).await?;
    let password = crate::auth::random_password();
    let hash = crate::auth::hash_password(password.clone()).await?;
    state.db.set_password(user_id, &hash, true).await?;
    state.db.delete_user_sessions(user_id, None).await?;
    state
        .db
        .audit(&db::audit::AuditEntry {
            school_id,
            actor_id: Some(s.user.id),
            action: "user.reset_password",
            entity: "user",
            entity_id: Some(user_id),
            detail: user.username.clone(),
        })
        .await?;
    Ok((user, password))
}
