//! HTML pages, one module per area; each declares its routes next to its handlers.

pub mod account;
pub mod dashboard;
pub mod guides;
pub mod import;
pub mod ops;
pub mod org;
pub mod school;
pub mod students;

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
        .merge(org::router())
        .merge(school::router())
        .merge(students::router())
        .merge(import::router())
        .merge(guides::router())
        .merge(ops::router())
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
