//! The management tree: a unit's page (child units and schools with their figures), and the
//! system administrator's page to build the tree and create officer accounts.

use super::dashboard::{SchoolCard, school_card};
use super::{OkQuery, issued, parse_uuid};
use crate::AppState;
use crate::auth::{Session, hash_password};
use crate::error::Form;
use crate::error::{WebError, WebResult};
use crate::view::{Ctx, render, saved_notice};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect, Response};
use axum::routing::{get, post};
use db::accounts::NewUser;
use db::org::Unit;
use domain::Id;
use domain::auth::{Action, Role, Target};
use domain::tree::{SchoolLevel, UnitKind, parse_school_code};
use serde::Deserialize;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/units/{id}", get(unit_page))
        .route("/units/{id}/units", post(create_unit))
        .route("/units/{id}/schools", post(create_school))
        .route("/admin", get(admin_page))
        .route("/admin/units", post(create_root_unit))
        .route("/admin/users", post(create_officer))
}

#[derive(Template)]
#[template(path = "unit.html")]
struct UnitPage {
    ctx: Ctx,
    unit: Unit,
    trail: Vec<Unit>,
    children: Vec<Unit>,
    schools: Vec<SchoolCard>,
    can_manage: bool,
    child_kinds: Vec<UnitKind>,
    levels: [SchoolLevel; 5],
}

async fn unit_for(state: &AppState, s: &Session, id: Id, action: Action) -> WebResult<Unit> {
    match state.db.unit(id).await {
        Ok(u) => {
            s.require(action, Target::Unit(&u.path))?;
            Ok(u)
        }
        Err(db::DbError::NotFound) => Err(WebError::Forbidden),
        Err(e) => Err(e.into()),
    }
}

async fn unit_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    let unit = unit_for(&state, &s, id, Action::ViewUnit).await?;
    let trail = state
        .db
        .units_on_path(&unit.path)
        .await?
        .into_iter()
        .filter(|u| s.actor.can(Action::ViewUnit, Target::Unit(&u.path)))
        .collect();
    let mut schools = Vec::new();
    for school in state.db.schools_of_unit(id).await? {
        schools.push(school_card(&state, school).await?);
    }
    render(&UnitPage {
        ctx: Ctx::new(&s, unit.name.clone()).with_notice(saved_notice(q.ok.as_deref(), s.lang)),
        can_manage: s.actor.can(Action::ManageUnit, Target::Unit(&unit.path)),
        child_kinds: unit.kind.allowed_children().to_vec(),
        children: state.db.child_units(id).await?,
        trail,
        schools,
        unit,
        levels: SchoolLevel::ALL,
    })
}

/// Form to create a unit.
#[derive(Deserialize)]
pub struct UnitForm {
    kind: String,
    code: String,
    name: String,
}

fn parse_unit_form(f: &UnitForm) -> WebResult<(UnitKind, String, String)> {
    let kind = UnitKind::from_code(&f.kind)
        .ok_or_else(|| WebError::BadRequest("Loại đơn vị không hợp lệ".into()))?;
    let name = domain::text::normalize_spaces(&f.name);
    if name.is_empty() {
        return Err(WebError::BadRequest("Thiếu tên đơn vị".into()));
    }
    Ok((kind, f.code.trim().to_owned(), name))
}

async fn create_unit(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<UnitForm>,
) -> WebResult<Redirect> {
    let parent = unit_for(&state, &s, id, Action::ManageUnit).await?;
    let (kind, code, name) = parse_unit_form(&f)?;
    state
        .db
        .create_unit(Some(&parent), kind, &code, &name)
        .await?;
    Ok(Redirect::to(&format!("/units/{id}?ok=1")))
}

/// Form to create a school.
#[derive(Deserialize)]
pub struct SchoolForm {
    code: String,
    name: String,
    level: String,
    #[serde(default)]
    address: String,
}

async fn create_school(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<SchoolForm>,
) -> WebResult<Redirect> {
    let unit = unit_for(&state, &s, id, Action::ManageUnit).await?;
    let code = parse_school_code(&f.code).map_err(|e| WebError::BadRequest(e.0))?;
    let level = SchoolLevel::from_code(&f.level)
        .ok_or_else(|| WebError::BadRequest("Cấp học không hợp lệ".into()))?;
    let name = domain::text::normalize_spaces(&f.name);
    if name.is_empty() {
        return Err(WebError::BadRequest("Thiếu tên trường".into()));
    }
    let school = state
        .db
        .create_school(&unit, &code, &name, level, f.address.trim())
        .await?;
    state.db.seed_subjects(school.id, level.grades()).await?;
    Ok(Redirect::to(&format!("/units/{id}?ok=1")))
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    ctx: Ctx,
    units: Vec<(usize, Unit)>,
    schools: usize,
    officers: Vec<(String, String, String)>,
}

async fn admin_page(
    State(state): State<AppState>,
    s: Session,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    s.require(Action::ManageSystem, Target::System)?;
    let units = state
        .db
        .units()
        .await?
        .into_iter()
        .map(|u| (u.path.matches('/').count().saturating_sub(2), u))
        .collect();
    let mut officers = Vec::new();
    for role in [
        Role::SystemAdmin,
        Role::ProvinceOfficer,
        Role::CommuneOfficer,
    ] {
        for u in state.db.users_with_role(role).await? {
            officers.push((u.username, u.full_name, role.label().to_owned()));
        }
    }
    render(&AdminPage {
        ctx: Ctx::new(&s, s.lang.t("nav-admin")).with_notice(saved_notice(q.ok.as_deref(), s.lang)),
        schools: state.db.schools_within("/").await?.len(),
        units,
        officers,
    })
}

async fn create_root_unit(
    State(state): State<AppState>,
    s: Session,
    Form(f): Form<UnitForm>,
) -> WebResult<Redirect> {
    s.require(Action::ManageSystem, Target::System)?;
    let (kind, code, name) = parse_unit_form(&f)?;
    state.db.create_unit(None, kind, &code, &name).await?;
    Ok(Redirect::to("/admin?ok=1"))
}

/// Form to create an officer account.
#[derive(Deserialize)]
pub struct OfficerForm {
    username: String,
    full_name: String,
    role: String,
    unit_id: String,
    #[serde(default)]
    email: String,
}

async fn create_officer(
    State(state): State<AppState>,
    s: Session,
    Form(f): Form<OfficerForm>,
) -> WebResult<Response> {
    s.require(Action::ManageSystem, Target::System)?;
    let username =
        domain::people::Username::parse(&f.username).map_err(|e| WebError::BadRequest(e.0))?;
    let full_name =
        domain::people::parse_full_name(&f.full_name).map_err(|e| WebError::BadRequest(e.0))?;
    let role = Role::from_code(&f.role)
        .filter(|r| r.is_unit_role())
        .ok_or_else(|| WebError::BadRequest("Vai trò không hợp lệ".into()))?;
    let unit = state.db.unit(parse_uuid(&f.unit_id, "Đơn vị")?).await?;
    let password = crate::auth::random_password();
    let user = state
        .db
        .create_user(&NewUser {
            username: username.as_str().to_owned(),
            full_name: full_name.clone(),
            email: Some(f.email.trim().to_lowercase()).filter(|e| !e.is_empty()),
            password_hash: Some(hash_password(password.clone()).await?),
            must_change_password: true,
            ..NewUser::default()
        })
        .await?;
    state
        .db
        .grant_role(user.id, role, Some(unit.id), None)
        .await?;
    issued(
        &s,
        "/admin".into(),
        vec![(full_name, user.username, password)],
    )
}
