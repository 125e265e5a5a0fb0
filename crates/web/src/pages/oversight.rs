//! The coverage dashboard of a management unit: every school below it, deployed or not, how
//! many teachers, students and parents use lophoc, with a traffic light, a chart and an Excel
//! export. Figures are computed from use, never typed in.

use crate::AppState;
use crate::auth::Session;
use crate::error::{WebError, WebResult};
use crate::view::{Ctx, render};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use db::org::{School, Unit};
use db::oversight::Coverage;
use domain::Id;
use domain::auth::{Action, Target};
use domain::oversight::{Rag, percent, rag};
use std::collections::HashMap;
use std::time::Duration;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/units/{id}/coverage", get(page))
        .route("/units/{id}/coverage.xlsx", get(export))
        .route("/units/{id}/online-target", axum::routing::post(set_target))
}

#[derive(serde::Deserialize)]
struct TargetForm {
    percent: String,
}

/// A province sets the share of periods its schools teach online (Circular 09: a target the
/// province decides, e.g. 10 %).
async fn set_target(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    crate::error::Form(f): crate::error::Form<TargetForm>,
) -> WebResult<axum::response::Redirect> {
    let unit = match state.db.unit(id).await {
        Ok(u) => u,
        Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    s.require(Action::ManageUnit, Target::Unit(&unit.path))?;
    if unit.kind != domain::tree::UnitKind::Province {
        return Err(WebError::BadRequest(
            "Chỉ tiêu tỉ lệ dạy học trực tuyến do Sở GD&ĐT đặt.".into(),
        ));
    }
    let raw = f.percent.trim().replace(',', ".");
    let permille = raw
        .parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && (0.0..=100.0).contains(p))
        .map(|p| (p * 10.0).round() as i64)
        .ok_or_else(|| {
            WebError::BadRequest(format!(
                "Chỉ tiêu \"{}\" không hợp lệ: nhập phần trăm từ 0 đến 100 (ví dụ 10 hoặc 12,5).",
                f.percent.trim()
            ))
        })?;
    state
        .db
        .set_online_target(unit.id, permille, s.user.id)
        .await?;
    Ok(axum::response::Redirect::to(&format!(
        "/units/{id}/coverage"
    )))
}

/// Subtrees with more schools than this show the figures stored in `coverage_snapshot`
/// instead of counting them on the request: a province of 1,000 schools and 300,000 students
/// takes about a second of queries (every student and parent joined to their account's
/// activity), which no dashboard view should wait for. Smaller subtrees (a commune, a
/// district) and a school's own page are counted on every view.
pub const STORED_ABOVE_SCHOOLS: usize = 50;

/// How often the stored figures are counted again, in the background.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5 * 60);

/// Stored figures older than this are never shown: the view counts them itself first (after a
/// restart, or if the background count fell behind). The page says when its figures were
/// computed, so what it shows is at most this old.
pub const FRESH_FOR: Duration = Duration::from_secs(10 * 60);

/// One count at a time: views that find the stored figures stale wait for the count in hand
/// instead of starting another.
static COUNTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Started once per process, by the server or by the first large dashboard.
static REFRESHER: std::sync::OnceLock<()> = std::sync::OnceLock::new();

fn age_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Starts, once per process, the background task that counts the figures of every school
/// every [`REFRESH_EVERY`] while there are more than [`STORED_ABOVE_SCHOOLS`] schools (a
/// small installation counts live and stores nothing). Another server that counted recently
/// is not repeated.
pub fn start_refresher(db: db::Db) {
    if REFRESHER.set(()).is_err() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REFRESH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match refresh_if_due(&db, REFRESH_EVERY - Duration::from_secs(30)).await {
                Ok(Some((n, ms))) => tracing::info!(schools = n, ms, "coverage figures counted"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "counting the coverage figures failed"),
            }
        }
    });
}

/// Counts and stores the figures of every school unless those stored are younger than
/// `younger_than`; the number of schools and the milliseconds it took, if it counted.
pub async fn refresh_if_due(
    db: &db::Db,
    younger_than: Duration,
) -> db::DbResult<Option<(usize, u128)>> {
    if db.school_count().await? <= STORED_ABOVE_SCHOOLS as i64 {
        return Ok(None);
    }
    let _one = COUNTING.lock().await;
    let stored = db.coverage_snapshot_within("/").await?;
    if stored
        .computed_at
        .is_some_and(|at| db::now_ms() - at < age_ms(younger_than))
    {
        return Ok(None);
    }
    let t = std::time::Instant::now();
    let n = db.refresh_coverage_snapshot("/").await?;
    Ok(Some((n, t.elapsed().as_millis())))
}

type Figures = HashMap<Id, Coverage>;

/// The figures of every school of a subtree, when they were computed (unix ms), and whether
/// they are the stored ones.
async fn figures(
    state: &AppState,
    path: &str,
    schools: &[School],
) -> WebResult<(Figures, i64, bool)> {
    if schools.len() <= STORED_ABOVE_SCHOOLS {
        let now = db::now_ms();
        return Ok((state.db.coverage_within(path).await?, now, false));
    }
    start_refresher(state.db.clone());
    let fresh = |s: &db::oversight::Snapshot| {
        s.computed_at
            .is_some_and(|at| db::now_ms() - at < age_ms(FRESH_FOR))
            && schools.len()
                - schools
                    .iter()
                    .filter(|x| s.figures.contains_key(&x.id))
                    .count()
                <= STORED_ABOVE_SCHOOLS
    };
    let mut stored = state.db.coverage_snapshot_within(path).await?;
    if !fresh(&stored) {
        let _one = COUNTING.lock().await;
        stored = state.db.coverage_snapshot_within(path).await?;
        if !fresh(&stored) {
            state.db.refresh_coverage_snapshot(path).await?;
            stored = state.db.coverage_snapshot_within(path).await?;
        }
    }
    let mut at = stored.computed_at.unwrap_or_else(db::now_ms);
    let mut figures = stored.figures;
    // Schools opened since the last count are counted now, one by one.
    for s in schools {
        if let std::collections::hash_map::Entry::Vacant(e) = figures.entry(s.id) {
            e.insert(state.db.coverage(s.id).await?);
            at = at.min(db::now_ms());
        }
    }
    Ok((figures, at, true))
}

/// One line of the dashboard.
pub struct Line {
    /// The school.
    pub school: School,
    /// Its figures.
    pub c: Coverage,
    /// Its light.
    pub rag: Rag,
}

impl Line {
    /// Staff active in 30 days, percent.
    pub fn staff_pct(&self) -> i64 {
        percent(self.c.staff_active_30, self.c.staff)
    }
    /// Students active in 30 days, percent.
    pub fn students_pct(&self) -> i64 {
        percent(self.c.students_active_30, self.c.students)
    }
    /// Parents connected, percent.
    pub fn parents_pct(&self) -> i64 {
        percent(self.c.parents_connected, self.c.parents)
    }
}

/// Every school of the unit with its figures and light, schools needing attention first.
pub(crate) async fn lines(state: &AppState, s: &Session, id: Id) -> WebResult<(Unit, Vec<Line>)> {
    let (unit, lines, _, _) = lines_at(state, s, id).await?;
    Ok((unit, lines))
}

/// [`lines`], with when the figures were computed (unix ms) and whether they are the stored
/// ones (see [`STORED_ABOVE_SCHOOLS`]).
async fn lines_at(
    state: &AppState,
    s: &Session,
    id: Id,
) -> WebResult<(Unit, Vec<Line>, i64, bool)> {
    let unit = match state.db.unit(id).await {
        Ok(u) => u,
        Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    s.require(Action::ViewUnit, Target::Unit(&unit.path))?;
    let schools = state.db.schools_within(&unit.path).await?;
    let (mut figures, computed, stored) = figures(state, &unit.path, &schools).await?;
    let mut out = Vec::with_capacity(schools.len());
    for school in schools {
        let c = figures.remove(&school.id).unwrap_or_default();
        let light = rag(
            c.deployed,
            c.staff,
            c.staff_active_30,
            c.students,
            c.students_active_30,
        );
        out.push(Line {
            school,
            c,
            rag: light,
        });
    }
    // Schools that need attention first.
    out.sort_by(|a, b| {
        a.rag
            .cmp(&b.rag)
            .then_with(|| a.school.name.cmp(&b.school.name))
    });
    Ok((unit, out, computed, stored))
}

#[derive(Template)]
#[template(path = "coverage.html")]
struct Page {
    ctx: Ctx,
    unit: Unit,
    lines: Vec<Line>,
    deployed: usize,
    red: usize,
    amber: usize,
    green: usize,
    /// The province's online-share target, for a province officer to change.
    target: Option<String>,
    /// When the figures were computed.
    computed: String,
    /// They are the stored figures, counted again every few minutes.
    stored: bool,
}

async fn page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Html<String>> {
    let (unit, lines, computed, stored) = lines_at(&state, &s, id).await?;
    let count = |r: Rag| lines.iter().filter(|l| l.rag == r).count();
    let target = if unit.kind == domain::tree::UnitKind::Province
        && s.actor.can(Action::ManageUnit, Target::Unit(&unit.path))
    {
        let p = state.db.online_target(&unit.path).await?;
        Some(format!("{},{}", p / 10, p % 10))
    } else {
        None
    };
    render(&Page {
        target,
        computed: crate::view::format_ms(computed),
        stored,
        ctx: Ctx::new(&s, s.lang.t("coverage-title")).with_help("do-phu-nen-tang"),
        deployed: lines.iter().filter(|l| l.c.deployed).count(),
        red: count(Rag::Red),
        amber: count(Rag::Amber),
        green: count(Rag::Green),
        unit,
        lines,
    })
}

async fn export(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    use office::table::Cell;
    let (unit, lines, computed, stored) = lines_at(&state, &s, id).await?;
    let headers = [
        "Mã trường",
        "Tên trường",
        "Cấp học",
        "Đã triển khai",
        "Đánh giá",
        "Cán bộ, GV",
        "GV hoạt động 7 ngày",
        "GV hoạt động 30 ngày",
        "Học sinh",
        "HS hoạt động 7 ngày",
        "HS hoạt động 30 ngày",
        "Phụ huynh",
        "Phụ huynh đã kết nối",
        "Thông báo 30 ngày",
        "Tin nhắn 30 ngày",
        "Học liệu",
        "Học liệu đã phê duyệt",
        "Bài tập đã giao",
        "Tiết trong kế hoạch",
        "Tiết trực tuyến thay thế",
    ];
    let rows: Vec<Vec<Cell>> = lines
        .iter()
        .map(|l| {
            vec![
                l.school.code.clone().into(),
                l.school.name.clone().into(),
                l.school.level.label().into(),
                if l.c.deployed { "Có" } else { "Chưa" }.into(),
                l.rag.label().into(),
                l.c.staff.into(),
                l.c.staff_active_7.into(),
                l.c.staff_active_30.into(),
                l.c.students.into(),
                l.c.students_active_7.into(),
                l.c.students_active_30.into(),
                l.c.parents.into(),
                l.c.parents_connected.into(),
                l.c.announcements_30.into(),
                l.c.messages_30.into(),
                l.c.materials.into(),
                l.c.materials_approved.into(),
                l.c.tasks.into(),
                l.c.periods_planned.into(),
                l.c.periods_online.into(),
            ]
        })
        .collect();
    let title = vec![
        format!(
            "ĐỘ PHỦ NỀN TẢNG DẠY HỌC TRỰC TUYẾN – {}",
            unit.name.to_uppercase()
        ),
        format!(
            "Số liệu lúc {}{}",
            crate::view::format_ms(computed),
            if stored {
                " (tính lại 5 phút một lần, không cũ quá 10 phút)"
            } else {
                ""
            }
        ),
    ];
    let bytes = office::table::export("Độ phủ", &title, &headers, &rows)
        .map_err(|e| WebError::Internal(e.into()))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"do-phu-{}.xlsx\"", unit.code),
            ),
        ],
        bytes,
    )
        .into_response())
}
