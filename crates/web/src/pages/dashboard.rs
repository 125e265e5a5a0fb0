//! The home page: one dashboard per role, showing what exists and linking to it.

use crate::AppState;
use crate::auth::Session;
use crate::error::WebResult;
use crate::view::{Ctx, render, saved_notice};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use db::org::{School, Unit};
use db::roster::Student;
use db::school::{Assignment, Class, Year};
use domain::auth::Role;
use serde::Deserialize;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

/// A school with its headline figures.
pub struct SchoolCard {
    /// The school.
    pub school: School,
    /// Its current year, if set up.
    pub year: Option<Year>,
    /// Classes in that year.
    pub classes: i64,
    /// Students studying.
    pub students: i64,
    /// Active staff.
    pub staff: i64,
}

/// A step of the school set-up checklist.
pub struct SetupStep {
    /// What to do.
    pub label: String,
    /// Done yet.
    pub done: bool,
    /// Where to do it.
    pub href: String,
}

/// A child as a parent sees it.
pub struct ChildCard {
    /// The student.
    pub student: Student,
    /// School name.
    pub school_name: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    ctx: Ctx,
    role: &'static str,
    units: Vec<Unit>,
    schools: Vec<SchoolCard>,
    setup: Vec<SetupStep>,
    teaching: Vec<Assignment>,
    homeroom: Vec<Class>,
    me: Option<Student>,
    my_subjects: Vec<Assignment>,
    children: Vec<ChildCard>,
    tasks: Vec<db::learning::StudentTask>,
    pending: Vec<db::learning::PendingQuestion>,
    live: super::live::ChildLive,
    surveys: Vec<super::surveys::SchoolSurveyRow>,
}

/// Query of the home page.
#[derive(Deserialize)]
pub struct HomeQuery {
    ok: Option<String>,
}

pub(crate) async fn school_card(state: &AppState, school: School) -> WebResult<SchoolCard> {
    let year = state.db.current_year(school.id).await?;
    let (classes, students, staff) = state
        .db
        .school_counts(school.id, year.as_ref().map(|y| y.id))
        .await?;
    Ok(SchoolCard {
        school,
        year,
        classes,
        students,
        staff,
    })
}

async fn home(
    State(state): State<AppState>,
    session: Option<Session>,
    pending: Option<crate::auth::PendingSession>,
    Query(q): Query<HomeQuery>,
) -> WebResult<Response> {
    let Some(s) = session else {
        // Logged in with a temporary password: finish that first.
        if pending.is_some() {
            return Ok(Redirect::to("/account/password").into_response());
        }
        return Ok(Redirect::to("/login").into_response());
    };
    let role = s.actor.main_role().unwrap_or(Role::Parent);
    let mut page = DashboardPage {
        ctx: Ctx::new(&s, s.lang.t("nav-home")).with_notice(saved_notice(q.ok.as_deref(), s.lang)),
        role: role.code(),
        units: vec![],
        schools: vec![],
        setup: vec![],
        teaching: vec![],
        homeroom: vec![],
        me: None,
        my_subjects: vec![],
        children: vec![],
        tasks: vec![],
        pending: vec![],
        live: super::live::ChildLive::default(),
        surveys: vec![],
    };
    let lang = s.lang;
    match role {
        Role::SystemAdmin | Role::ProvinceOfficer | Role::CommuneOfficer => {
            let paths: Vec<String> = if role == Role::SystemAdmin {
                state
                    .db
                    .units()
                    .await?
                    .into_iter()
                    .filter(|u| u.parent_id.is_none())
                    .map(|u| u.path)
                    .collect()
            } else {
                s.actor
                    .unit_paths()
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            };
            for p in &paths {
                let id = p
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or_default();
                if let Ok(id) = domain::Id::parse_str(id) {
                    page.units.push(state.db.unit(id).await?);
                }
                for school in state.db.schools_within(p).await? {
                    page.schools.push(school_card(&state, school).await?);
                }
            }
        }
        Role::Principal | Role::SchoolAdmin => {
            for sid in s.actor.school_ids() {
                let card = school_card(&state, state.db.school(sid).await?).await?;
                page.surveys
                    .extend(super::surveys::open_surveys(&state.db, sid).await?);
                let assignments = match &card.year {
                    Some(y) => state.db.assignment_count(sid, y.id).await?,
                    None => 0,
                };
                let base = format!("/schools/{sid}");
                page.setup = vec![
                    SetupStep {
                        label: lang.t("setup-year"),
                        done: card.year.is_some(),
                        href: format!("{base}/years"),
                    },
                    SetupStep {
                        label: lang.t("setup-staff"),
                        done: card.staff > 1,
                        href: format!("{base}/staff"),
                    },
                    SetupStep {
                        label: lang.t("setup-roster"),
                        done: card.students > 0,
                        href: format!("{base}/import"),
                    },
                    SetupStep {
                        label: lang.t("setup-assignments"),
                        done: assignments > 0,
                        href: format!("{base}/assignments"),
                    },
                ];
                page.schools.push(card);
            }
        }
        Role::GroupHead | Role::Teacher => {
            page.pending = state.db.unanswered_for(s.user.id).await?;
            for sid in s.actor.school_ids() {
                let school = state.db.school(sid).await?;
                let Some(year) = state.db.current_year(sid).await? else {
                    continue;
                };
                if let Some(me) = state.db.staff_by_user(sid, s.user.id).await? {
                    page.teaching
                        .extend(state.db.assignments(sid, year.id, Some(me.id)).await?);
                    page.homeroom.extend(
                        state
                            .db
                            .classes(sid, year.id)
                            .await?
                            .into_iter()
                            .filter(|c| c.homeroom_staff_id == Some(me.id)),
                    );
                }
                page.schools.push(school_card(&state, school).await?);
            }
        }
        Role::Student => {
            if let Some(me) = state.db.student_by_user(s.user.id).await? {
                if let (Some(class_id), Some(year)) =
                    (me.class_id, state.db.current_year(me.school_id).await?)
                {
                    page.my_subjects = state
                        .db
                        .assignments(me.school_id, year.id, None)
                        .await?
                        .into_iter()
                        .filter(|a| a.class_id == class_id)
                        .collect();
                }
                page.schools
                    .push(school_card(&state, state.db.school(me.school_id).await?).await?);
                page.tasks = state.db.student_tasks(me.id, 10).await?;
                page.live = super::live::child_live(&state, me.id, true).await?;
                page.me = Some(me);
            }
        }
        Role::Parent => {
            for student in state.db.children_of(s.user.id).await? {
                let school_name = state.db.school(student.school_id).await?.name;
                page.children.push(ChildCard {
                    student,
                    school_name,
                });
            }
        }
    }
    Ok(render(&page)?.into_response())
}

impl DashboardPage {
    fn when(&self, ms: &i64) -> String {
        crate::view::format_ms(*ms)
    }

    fn score(&self, t: &Option<i64>) -> String {
        t.map(domain::learning::format_tenths).unwrap_or_default()
    }

    fn total_students(&self) -> i64 {
        self.schools.iter().map(|c| c.students).sum()
    }

    fn deployed(&self) -> usize {
        self.schools.iter().filter(|c| c.year.is_some()).count()
    }
}
