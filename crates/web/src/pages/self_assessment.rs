//! Decision 4725 (digital-transformation self-assessment) and the Circular 09 checklist.
//!
//! A school's assessment of a year is filled in with the platform's own figures where it can
//! (live while the school edits, frozen when the principal submits) and with values, files,
//! links and notes elsewhere; totals and levels follow the catalogue version the assessment was
//! made with. The managing unit — the commune for primary and lower-secondary schools, the Sở
//! for the others, or any unit above it — returns it with a comment per criterion or approves
//! it, then publishes the level. The catalogue itself is edited by a system admin, each edit a
//! new version. The Circular 09 checklist shows, per requirement, what the platform counts
//! (with links to the records) and the manual evidence where it cannot.

use crate::AppState;
use crate::auth::Session;
use crate::error::{Form, WebError, WebResult};
use crate::pages::learning::read_upload;
use crate::pages::{OkQuery, school_for};
use crate::view::{Ctx, format_ms, render, saved_notice};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, Redirect, Response};
use axum::routing::{get, post};
use db::org::{School, Unit};
use db::self_assessment::{
    Assessment, CatalogueVersion, Comment, EvidenceFile, Figures, Item, ItemUpdate, Record, Totals,
    Tt09Evidence,
};
use domain::Id;
use domain::auth::{Action, Role, Target};
use domain::d4725::{self, Catalogue, Criterion, Scored, Scoring, Status, Value, fmt_tenths};
use domain::tree::{UnitKind, path_within};
use std::collections::{BTreeMap, HashMap};

/// Largest evidence file.
pub const MAX_EVIDENCE_BYTES: usize = 10 * 1024 * 1024;
const MAX_NOTE_CHARS: usize = 2000;
const HELP: &str = "danh-gia-chuyen-doi-so";
const HELP_TT09: &str = "kiem-tra-thong-tu-09";

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schools/{id}/self-assessment", get(current))
        .route("/schools/{id}/self-assessment/{year}", get(page))
        .route(
            "/schools/{id}/self-assessment/{year}/print",
            get(print_page),
        )
        .route(
            "/schools/{id}/self-assessment/{year}/export.xlsx",
            get(export_school),
        )
        .route(
            "/schools/{id}/self-assessment/{year}/items/{code}",
            post(save_item),
        )
        .route("/schools/{id}/self-assessment/{year}/submit", post(submit))
        .route("/schools/{id}/self-assessment/{year}/review", post(review))
        .route(
            "/schools/{id}/self-assessment/{year}/publish",
            post(publish_one),
        )
        .route("/schools/{id}/evidence/{file}", get(evidence_file))
        .route("/schools/{id}/checklist", get(checklist))
        .route("/schools/{id}/checklist/print", get(checklist_print))
        .route("/schools/{id}/checklist/{item}", post(checklist_evidence))
        .route("/units/{id}/self-assessments", get(overview))
        .route("/units/{id}/self-assessments/export.xlsx", get(export_unit))
        .route(
            "/units/{id}/self-assessments/deadlines",
            post(set_deadlines),
        )
        .route("/units/{id}/self-assessments/publish", post(publish_all))
        .route("/admin/d4725", get(admin_page))
        .route("/admin/d4725/criteria", post(admin_criterion))
        .route("/admin/d4725/bands", post(admin_bands))
}

// ----- who, where, when -----

fn vn_today() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).expect("offset"))
        .date()
}

/// The cycle open today: the school year that started last August.
pub fn current_cycle() -> i32 {
    domain::calendar::school_year_of(vn_today())
}

pub(crate) fn fmt_date(d: time::Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

/// `MM-DD` in a year.
fn md_date(year: i32, md: &str) -> Option<time::Date> {
    let (m, d) = md.split_once('-')?;
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(year, month, d.parse().ok()?).ok()
}

/// Reads `dd/mm` (or `dd/mm/yyyy`, the year ignored) into `MM-DD`.
fn parse_day_month(raw: &str, field: &str) -> WebResult<String> {
    let bad = || {
        WebError::BadRequest(format!(
            "{field} \"{}\" không hợp lệ: nhập ngày/tháng, ví dụ 31/05.",
            raw.trim()
        ))
    };
    let mut parts = raw.trim().split(['/', '-', '.']);
    let d: u8 = parts
        .next()
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(bad)?;
    let m: u8 = parts
        .next()
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(bad)?;
    let md = format!("{m:02}-{d:02}");
    // 2028 is a leap year: 29/02 is accepted, 31/02 is not.
    md_date(2028, &md).ok_or_else(bad)?;
    Ok(md)
}

/// A school's place in the tree: the unit that reviews its assessment, the province that sets
/// the deadlines.
pub(crate) struct Place {
    pub(crate) managing: Unit,
    province: Option<Unit>,
}

/// The managing unit of a school: for primary and lower-secondary schools the nearest commune
/// (or old district) above it, otherwise — or when there is none — the province.
fn managing_unit(school: &School, trail: &[Unit]) -> Option<Unit> {
    let province = trail.iter().rev().find(|u| u.kind == UnitKind::Province);
    let local = trail
        .iter()
        .rev()
        .find(|u| matches!(u.kind, UnitKind::Commune | UnitKind::District));
    match school.level.managed_by() {
        UnitKind::Commune => local.or(province),
        _ => province,
    }
    .or_else(|| trail.last())
    .cloned()
}

async fn place(state: &AppState, school: &School) -> WebResult<Place> {
    let trail = state.db.units_on_path(&school.unit_path).await?;
    let managing = managing_unit(school, &trail)
        .ok_or_else(|| WebError::Internal(anyhow::anyhow!("school without a unit")))?;
    let province = trail
        .iter()
        .rev()
        .find(|u| u.kind == UnitKind::Province)
        .cloned();
    Ok(Place { managing, province })
}

/// Whether the actor reviews for `managing`: a system admin, or an officer of that unit or of
/// a unit above it.
fn is_reviewer(s: &Session, managing: &Unit) -> bool {
    s.actor.has_role(Role::SystemAdmin)
        || s.actor.grants.iter().any(|g| {
            matches!(g.role, Role::ProvinceOfficer | Role::CommuneOfficer)
                && g.unit_path
                    .as_deref()
                    .is_some_and(|p| path_within(&managing.path, p))
        })
}

/// Whether the actor is the school's principal (who approves and submits).
fn is_principal(s: &Session, school: Id) -> bool {
    s.actor.has_role(Role::SystemAdmin)
        || s.actor
            .grants
            .iter()
            .any(|g| g.role == Role::Principal && g.school_id == Some(school))
}

/// The deadlines of a cycle for the schools of a province.
pub(crate) struct Deadlines {
    pub(crate) submit: time::Date,
    pub(crate) publish: time::Date,
    submit_md: String,
    publish_md: String,
}

async fn deadlines(state: &AppState, province: Option<&Unit>, year: i32) -> WebResult<Deadlines> {
    let (submit_md, publish_md) = match province {
        Some(p) => state.db.sa_deadlines(p.id).await?,
        None => ("05-31".to_owned(), "06-20".to_owned()),
    };
    let fallback = |md: &str| {
        md_date(year + 1, md)
            .or_else(|| md_date(year + 1, "05-31"))
            .expect("valid default date")
    };
    Ok(Deadlines {
        submit: fallback(&submit_md),
        publish: fallback(&publish_md),
        submit_md,
        publish_md,
    })
}

// ----- the assessment view -----

/// One criterion on the page.
pub struct Row {
    /// The criterion.
    pub c: Criterion,
    /// Its stored value and evidence.
    pub item: Item,
    /// Its result.
    pub scored: Scored,
    /// "auto", "manual" or "unavailable" (a platform figure this installation lacks).
    pub source: &'static str,
    /// The value as shown.
    pub value_text: String,
    /// The value as typed in the form.
    pub input: String,
    /// "4,5/7".
    pub points_text: String,
    /// What the figure measures.
    pub measure_label: String,
    /// Records behind the figure.
    pub samples: Vec<Record>,
    /// The reviewer's comments of the latest return.
    pub comments: Vec<Comment>,
    /// Changed since the latest return.
    pub fixed: bool,
    /// Last year's points on the same criterion.
    pub prev_points: Option<String>,
}

impl Row {
    /// Scoring kind code, for the form.
    pub fn kind(&self) -> &'static str {
        if self.c.mandatory {
            "mandatory"
        } else {
            self.c.scoring.code()
        }
    }
    /// Whether the school types the value (not a platform figure, not a mandatory condition).
    pub fn typed(&self) -> bool {
        !self.c.mandatory && self.source != "auto"
    }
    /// A stable id for anchors and test hooks.
    pub fn anchor(&self) -> String {
        format!("c-{}", self.c.code.replace('.', "-"))
    }
    /// The evidence file's download name.
    pub fn file_href(&self, school: &Id) -> String {
        self.item
            .file
            .as_ref()
            .map(|f| evidence_href(school, f))
            .unwrap_or_default()
    }
}

fn evidence_href(school: &Id, f: &EvidenceFile) -> String {
    format!(
        "/schools/{school}/evidence/{}",
        f.key.rsplit('/').next().unwrap_or("")
    )
}

/// One group's totals on the page.
pub struct GroupView {
    /// 1 or 2.
    pub group: u8,
    /// Its title.
    pub title: &'static str,
    /// "62,5".
    pub total: String,
    /// "100".
    pub max: String,
    /// Level label.
    pub level: String,
    /// Level number.
    pub level_no: u8,
    /// The mandatory conditions missing, named.
    pub missing: String,
    /// The catalogue's maxima do not add up to 100 (its appendix is uncertain).
    pub max_warning: bool,
    /// Last year's total and level.
    pub prev: Option<(String, String)>,
}

fn group_title(g: u8) -> &'static str {
    if g == 1 {
        "Nhóm 1 – Chuyển đổi số trong dạy, học"
    } else {
        "Nhóm 2 – Chuyển đổi số trong quản trị cơ sở giáo dục"
    }
}

fn values_of(
    cat: &Catalogue,
    items: &BTreeMap<String, Item>,
    measures: Option<&BTreeMap<String, i64>>,
) -> BTreeMap<String, Value> {
    cat.criteria
        .iter()
        .map(|c| {
            let item = items.get(&c.code);
            let measured = match (&c.measure, measures) {
                (Some(m), Some(live)) => live.get(m).copied(),
                (Some(_), None) => item.and_then(|i| i.measured),
                (None, _) => None,
            };
            (
                c.code.clone(),
                Value {
                    measured,
                    entered: item.and_then(|i| i.entered),
                    has_evidence: item.is_some_and(Item::has_evidence),
                },
            )
        })
        .collect()
}

fn value_text(c: &Criterion, v: &Value, automatic: bool) -> String {
    let n = if automatic { v.measured } else { v.entered };
    if c.mandatory {
        return if v.has_evidence || (automatic && v.measured.unwrap_or(0) > 0) {
            "Có minh chứng".into()
        } else {
            "Chưa có minh chứng".into()
        };
    }
    match (n, &c.scoring) {
        (None, _) => "—".into(),
        (Some(n), Scoring::Yes { .. }) if automatic => n.to_string(),
        (Some(1), Scoring::Yes { .. }) => "Có".into(),
        (Some(_), Scoring::Yes { .. }) => "Không".into(),
        (Some(n), Scoring::Percent) => format!("{n}%"),
        (Some(n), Scoring::Steps { .. }) => n.to_string(),
        (Some(n), Scoring::Manual) => format!("{} điểm", fmt_tenths(n)),
    }
}

fn input_text(c: &Criterion, entered: Option<i64>) -> String {
    match (entered, &c.scoring) {
        (None, _) => String::new(),
        (Some(n), Scoring::Yes { .. }) => if n >= 1 { "1" } else { "0" }.into(),
        (Some(n), Scoring::Manual) => fmt_tenths(n),
        (Some(n), _) => n.to_string(),
    }
}

/// Everything the assessment pages and exports show.
pub(crate) struct View {
    pub(crate) school: School,
    pub(crate) place: Place,
    pub(crate) a: Assessment,
    pub(crate) cat: CatalogueVersion,
    pub(crate) rows: Vec<Row>,
    pub(crate) groups: Vec<GroupView>,
    pub(crate) overall: String,
    pub(crate) overall_no: u8,
    pub(crate) problems: Vec<String>,
    pub(crate) deadlines: Deadlines,
    pub(crate) figures_live: bool,
    pub(crate) prev_year: Option<(String, String)>,
    pub(crate) general_note: String,
}

pub(crate) async fn build(state: &AppState, school: School, a: Assessment) -> WebResult<View> {
    let place = place(state, &school).await?;
    let cat = state.db.sa_catalogue(a.catalogue_id).await?;
    let items = state.db.sa_items(&a).await?;
    let live = a.status.editable();
    let figures = if live {
        Some(state.db.sa_figures(school.id, a.start_year).await?)
    } else {
        None
    };
    let values = values_of(
        &cat.catalogue,
        &items,
        figures.as_ref().map(|f| &f.measures),
    );
    let comments = state.db.sa_comments(&a).await?;
    let last_return = comments.iter().map(|c| c.round).max().unwrap_or(0);
    let returned_at = a.reviewed_at.unwrap_or(0);
    // Last year's assessment, scored with its own catalogue.
    let prev = state.db.sa_get(school.id, a.start_year - 1).await?;
    let mut prev_points = BTreeMap::new();
    let mut prev_groups = None;
    let mut prev_year = None;
    if let Some(p) = prev.as_ref().filter(|p| !p.status.editable()) {
        let pcat = state.db.sa_catalogue(p.catalogue_id).await?;
        let pitems = state.db.sa_items(p).await?;
        let pvalues = values_of(&pcat.catalogue, &pitems, None);
        for c in &pcat.catalogue.criteria {
            if let Some(v) = pvalues.get(&c.code) {
                prev_points.insert(c.code.clone(), d4725::score(c, v).points);
            }
        }
        let g = d4725::group_results(&pcat.catalogue, &pvalues);
        prev_year = Some((
            d4725::cycle_label(p.start_year),
            d4725::level_label(&pcat.catalogue, d4725::overall_level(&g)),
        ));
        prev_groups = Some((pcat, g));
    }
    let empty = Value::default();
    let mut rows = Vec::new();
    for c in &cat.catalogue.criteria {
        let v = values.get(&c.code).unwrap_or(&empty);
        let scored = d4725::score(c, v);
        let item = items.get(&c.code).cloned().unwrap_or_default();
        let source = match &c.measure {
            Some(_) if v.measured.is_some() => "auto",
            Some(_) => "unavailable",
            None => "manual",
        };
        let samples = match (&c.measure, &figures) {
            (Some(m), Some(f)) => f.samples.get(m).cloned().unwrap_or_default(),
            _ => Vec::new(),
        };
        let cs: Vec<Comment> = comments
            .iter()
            .filter(|x| x.code == c.code && x.round == last_return)
            .cloned()
            .collect();
        let fixed = !cs.is_empty() && item.updated_at > returned_at;
        rows.push(Row {
            value_text: value_text(c, v, scored.automatic),
            input: input_text(c, item.entered),
            points_text: if c.mandatory {
                "không tính điểm".into()
            } else {
                format!("{}/{}", fmt_tenths(scored.points), c.max_points)
            },
            measure_label: c
                .measure
                .as_deref()
                .and_then(d4725::measure_label)
                .unwrap_or("")
                .to_owned(),
            prev_points: prev_points
                .get(&c.code)
                .filter(|_| !c.mandatory)
                .map(|p| fmt_tenths(*p)),
            c: c.clone(),
            item,
            scored,
            source,
            samples,
            comments: cs,
            fixed,
        });
    }
    let results = d4725::group_results(&cat.catalogue, &values);
    let groups = results
        .iter()
        .map(|g| GroupView {
            group: g.group,
            title: group_title(g.group),
            total: fmt_tenths(g.total),
            max: fmt_tenths(g.max),
            level: d4725::level_label(&cat.catalogue, g.level),
            level_no: g.level,
            missing: g.missing_mandatory.join(", "),
            max_warning: g.max != 1000,
            prev: prev_groups.as_ref().and_then(|(pcat, pg)| {
                pg.iter().find(|x| x.group == g.group).map(|x| {
                    (
                        fmt_tenths(x.total),
                        d4725::level_label(&pcat.catalogue, x.level),
                    )
                })
            }),
        })
        .collect();
    let overall_no = d4725::overall_level(&results);
    let overall = d4725::level_label(&cat.catalogue, overall_no);
    let problems = if live {
        d4725::submission_problems(&cat.catalogue, &values)
    } else {
        Vec::new()
    };
    let deadlines = deadlines(state, place.province.as_ref(), a.start_year).await?;
    Ok(View {
        general_note: a.review_note.clone(),
        overall_no,
        school,
        place,
        cat,
        rows,
        groups,
        overall,
        problems,
        deadlines,
        figures_live: live,
        prev_year,
        a,
    })
}

#[derive(Template)]
#[template(path = "sa_page.html")]
struct SaPage {
    ctx: Ctx,
    v: View,
    print: bool,
    can_edit: bool,
    can_submit: bool,
    can_review: bool,
    can_publish: bool,
    late: bool,
}

impl SaPage {
    fn when(&self, ms: &Option<i64>) -> String {
        ms.map(format_ms).unwrap_or_default()
    }
    fn year_label(&self) -> String {
        d4725::cycle_label(self.v.a.start_year)
    }
    fn status_code(&self) -> &'static str {
        self.v.a.status.code()
    }
    fn status_label(&self) -> &'static str {
        self.v.a.status.label()
    }
    fn submit_by(&self) -> String {
        fmt_date(self.v.deadlines.submit)
    }
    fn publish_by(&self) -> String {
        fmt_date(self.v.deadlines.publish)
    }
    fn group_rows(&self, g: &u8) -> Vec<&Row> {
        self.v.rows.iter().filter(|r| r.c.group == *g).collect()
    }
    fn base(&self) -> String {
        format!(
            "/schools/{}/self-assessment/{}",
            self.v.school.id, self.v.a.start_year
        )
    }
    fn size_kb(&self, f: &EvidenceFile) -> i64 {
        (f.size + 1023) / 1024
    }
}

pub(crate) async fn load_school_year(
    state: &AppState,
    s: &Session,
    id: Id,
    year: i32,
    action: Action,
) -> WebResult<(School, Assessment)> {
    let school = school_for(state, s, id, action).await?;
    let a = if year == current_cycle()
        && s.actor
            .can(Action::ManageSchool, Target::School(&school.as_ref()))
    {
        state
            .db
            .sa_get_or_create(school.id, year, Some(s.user.id))
            .await?
    } else {
        state.db.sa_get(school.id, year).await?.ok_or_else(|| {
            WebError::BadRequest(format!(
                "{} chưa có hồ sơ tự đánh giá chuyển đổi số năm học {}.",
                school.name,
                d4725::cycle_label(year)
            ))
        })?
    };
    Ok((school, a))
}

async fn current(State(_state): State<AppState>, Path(id): Path<Id>) -> Redirect {
    Redirect::to(&format!(
        "/schools/{id}/self-assessment/{}",
        current_cycle()
    ))
}

async fn show(
    state: AppState,
    s: Session,
    id: Id,
    year: i32,
    ok: Option<String>,
    print: bool,
) -> WebResult<Html<String>> {
    let (school, a) = load_school_year(&state, &s, id, year, Action::ViewSchool).await?;
    let manage = s
        .actor
        .can(Action::ManageSchool, Target::School(&school.as_ref()));
    let v = build(&state, school, a).await?;
    let today = vn_today();
    let late = if v.a.round == 0 {
        today > v.deadlines.submit
    } else {
        today > v.deadlines.publish
    };
    let reviewer = is_reviewer(&s, &v.place.managing);
    let title = format!(
        "{} – {}",
        s.lang.t("sa-title"),
        d4725::cycle_label(v.a.start_year)
    );
    render(&SaPage {
        ctx: Ctx::new(&s, title)
            .with_help(HELP)
            .with_notice(saved_notice(ok.as_deref(), s.lang)),
        can_edit: !print && manage && v.a.status.editable(),
        can_submit: !print && is_principal(&s, v.school.id) && v.a.status.editable(),
        can_review: !print && reviewer && v.a.status == Status::Submitted,
        can_publish: !print && reviewer && v.a.status == Status::Approved,
        late,
        print,
        v,
    })
}

async fn page(
    State(state): State<AppState>,
    s: Session,
    Path((id, year)): Path<(Id, i32)>,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    show(state, s, id, year, q.ok, false).await
}

async fn print_page(
    State(state): State<AppState>,
    s: Session,
    Path((id, year)): Path<(Id, i32)>,
) -> WebResult<Html<String>> {
    show(state, s, id, year, None, true).await
}

// ----- the school edits -----

fn check_note(raw: &str) -> WebResult<String> {
    let note = raw.trim().to_owned();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(WebError::BadRequest(format!(
            "Ghi chú dài quá {MAX_NOTE_CHARS} ký tự."
        )));
    }
    Ok(note)
}

fn check_url(raw: &str) -> WebResult<Option<String>> {
    let u = raw.trim();
    if u.is_empty() {
        return Ok(None);
    }
    let ok = (u.starts_with("https://") || u.starts_with("http://"))
        && u.len() <= 500
        && u.len() > "https://".len()
        && !u
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>');
    if ok {
        Ok(Some(u.to_owned()))
    } else {
        Err(WebError::BadRequest(format!(
            "Đường liên kết minh chứng \"{u}\" không hợp lệ: phải bắt đầu bằng https:// hoặc http:// và không có khoảng trắng."
        )))
    }
}

/// Checks an uploaded evidence file by its bytes and stores it; nothing is stored when it is
/// refused.
async fn store_evidence(
    state: &AppState,
    school: Id,
    files: Vec<(String, String, Vec<u8>)>,
) -> WebResult<Option<EvidenceFile>> {
    let Some((_, name, bytes)) = files.into_iter().next() else {
        return Ok(None);
    };
    let ctype = crate::files::check_kind(&name, &bytes).map_err(|e| match e {
        WebError::BadRequest(m) => WebError::BadRequest(format!("Minh chứng không hợp lệ. {m}")),
        other => other,
    })?;
    let key = format!("evidence/{school}/{}", domain::new_id());
    let size = bytes.len() as i64;
    state
        .storage
        .put(&key, bytes)
        .await
        .map_err(|e| WebError::Internal(e.into()))?;
    Ok(Some(EvidenceFile {
        key,
        name,
        content_type: ctype.to_owned(),
        size,
    }))
}

async fn save_item(
    State(state): State<AppState>,
    s: Session,
    Path((id, year, code)): Path<(Id, i32, String)>,
    req: axum::extract::Request,
) -> WebResult<Redirect> {
    let school = school_for(&state, &s, id, Action::ManageSchool).await?;
    let a = state
        .db
        .sa_get(school.id, year)
        .await?
        .ok_or(WebError::NotFound)?;
    let cat = state.db.sa_catalogue(a.catalogue_id).await?;
    let c = cat
        .catalogue
        .criteria
        .iter()
        .find(|c| c.code == code)
        .ok_or_else(|| WebError::BadRequest(format!("Không có tiêu chí {code}.")))?;
    if !a.status.editable() {
        return Err(WebError::Conflict(format!(
            "Hồ sơ đang ở trạng thái «{}»: không sửa được tiêu chí {code}.",
            a.status.label()
        )));
    }
    let up = read_upload(req, &state, 1, MAX_EVIDENCE_BYTES)
        .await
        .map_err(|e| match e {
            WebError::BadRequest(m) => {
                WebError::BadRequest(format!("Tiêu chí {code}: {m} Minh chứng tối đa 10 MB."))
            }
            other => other,
        })?;
    let items = state.db.sa_items(&a).await?;
    let old = items.get(&code).cloned().unwrap_or_default();
    let entered = if c.mandatory {
        None
    } else if up.fields.contains_key("value") {
        d4725::parse_entry(c, &up.get("value")).map_err(WebError::BadRequest)?
    } else {
        old.entered
    };
    let note = check_note(&up.get("note"))
        .map_err(|e| WebError::BadRequest(format!("Tiêu chí {code}: {e}")))?;
    let url = check_url(&up.get("url"))
        .map_err(|e| WebError::BadRequest(format!("Tiêu chí {code}: {e}")))?;
    let remove_file = up.get("remove_file") == "1";
    let file = store_evidence(&state, school.id, up.files)
        .await
        .map_err(|e| match e {
            WebError::BadRequest(m) => WebError::BadRequest(format!("Tiêu chí {code}: {m}")),
            other => other,
        })?;
    let update = ItemUpdate {
        entered,
        note,
        url,
        remove_file,
        file: file.clone(),
    };
    match state.db.sa_set_item(&a, &code, &update, s.user.id).await {
        Ok(Some(replaced)) => {
            // The row no longer points at it; a failed delete only leaves an orphan file.
            let _ = state.storage.delete(&replaced.key).await;
        }
        Ok(None) => {}
        Err(e) => {
            if let Some(f) = file {
                let _ = state.storage.delete(&f.key).await;
            }
            return Err(e.into());
        }
    }
    Ok(Redirect::to(&format!(
        "/schools/{id}/self-assessment/{year}?ok=1#c-{}",
        code.replace('.', "-")
    )))
}

async fn submit(
    State(state): State<AppState>,
    s: Session,
    Path((id, year)): Path<(Id, i32)>,
) -> WebResult<Redirect> {
    let school = school_for(&state, &s, id, Action::ViewSchool).await?;
    if !is_principal(&s, school.id) {
        return Err(WebError::Forbidden);
    }
    let a = state
        .db
        .sa_get(school.id, year)
        .await?
        .ok_or(WebError::NotFound)?;
    if !a.status.editable() {
        return Err(WebError::Conflict(format!(
            "Hồ sơ đang ở trạng thái «{}»: không nộp lại được.",
            a.status.label()
        )));
    }
    let v = build(&state, school, a).await?;
    let today = vn_today();
    if v.a.round == 0 && today > v.deadlines.submit {
        return Err(WebError::BadRequest(format!(
            "Đã quá hạn nộp hồ sơ tự đánh giá năm học {} ({}). Liên hệ {} để được hướng dẫn.",
            d4725::cycle_label(v.a.start_year),
            fmt_date(v.deadlines.submit),
            v.place.managing.name
        )));
    }
    if v.a.round > 0 && today > v.deadlines.publish {
        return Err(WebError::BadRequest(format!(
            "Đã quá hạn công bố kết quả năm học {} ({}): không nộp bổ sung được nữa.",
            d4725::cycle_label(v.a.start_year),
            fmt_date(v.deadlines.publish)
        )));
    }
    if !v.problems.is_empty() {
        return Err(WebError::BadRequest(format!(
            "Chưa nộp được hồ sơ, cần bổ sung: {}",
            v.problems.join(" ")
        )));
    }
    let figures = state.db.sa_figures(v.school.id, v.a.start_year).await?;
    let measured: BTreeMap<String, i64> = v
        .cat
        .catalogue
        .criteria
        .iter()
        .filter_map(|c| {
            let m = c.measure.as_ref()?;
            figures.measures.get(m).map(|n| (c.code.clone(), *n))
        })
        .collect();
    let items = state.db.sa_items(&v.a).await?;
    let frozen: BTreeMap<String, Item> = v
        .cat
        .catalogue
        .criteria
        .iter()
        .map(|c| {
            let mut i = items.get(&c.code).cloned().unwrap_or_default();
            i.measured = measured.get(&c.code).copied();
            (c.code.clone(), i)
        })
        .collect();
    let values = values_of(&v.cat.catalogue, &frozen, None);
    let g = d4725::group_results(&v.cat.catalogue, &values);
    let level = |n: u8| g.iter().find(|x| x.group == n);
    let totals = Totals {
        total1: level(1).map_or(0, |x| x.total),
        total2: level(2).map_or(0, |x| x.total),
        level1: level(1).map_or(1, |x| x.level),
        level2: level(2).map_or(1, |x| x.level),
        level: d4725::overall_level(&g),
    };
    state
        .db
        .sa_submit(&v.a, &measured, totals, s.user.id)
        .await?;
    Ok(Redirect::to(&format!(
        "/schools/{id}/self-assessment/{year}?ok=1"
    )))
}

// ----- the managing unit -----

async fn review(
    State(state): State<AppState>,
    s: Session,
    Path((id, year)): Path<(Id, i32)>,
    Form(f): Form<HashMap<String, String>>,
) -> WebResult<Redirect> {
    let school = school_for(&state, &s, id, Action::ViewSchool).await?;
    let place = place(&state, &school).await?;
    if !is_reviewer(&s, &place.managing) {
        return Err(WebError::BadRequest(format!(
            "Hồ sơ tự đánh giá của {} do {} xét duyệt; đơn vị của bạn không xét duyệt được.",
            school.name, place.managing.name
        )));
    }
    let a = state
        .db
        .sa_get(school.id, year)
        .await?
        .ok_or(WebError::NotFound)?;
    let cat = state.db.sa_catalogue(a.catalogue_id).await?;
    let note = check_note(f.get("note").map_or("", String::as_str))?;
    match f.get("decision").map(String::as_str) {
        Some("return") => {
            let mut comments = Vec::new();
            for c in &cat.catalogue.criteria {
                if let Some(body) = f.get(&format!("c_{}", c.code)) {
                    let body = check_note(body)
                        .map_err(|e| WebError::BadRequest(format!("Tiêu chí {}: {e}", c.code)))?;
                    if !body.is_empty() {
                        comments.push((c.code.clone(), body));
                    }
                }
            }
            if comments.is_empty() {
                return Err(WebError::BadRequest(
                    "Trả lại hồ sơ cần nhận xét ở ít nhất một tiêu chí cần bổ sung.".into(),
                ));
            }
            state.db.sa_return(&a, &comments, &note, s.user.id).await?;
        }
        Some("approve") => state.db.sa_approve(&a, &note, s.user.id).await?,
        _ => {
            return Err(WebError::BadRequest(
                "Chọn \"Trả lại\" hoặc \"Phê duyệt\".".into(),
            ));
        }
    }
    Ok(Redirect::to(&format!(
        "/schools/{id}/self-assessment/{year}?ok=1"
    )))
}

async fn publish_one(
    State(state): State<AppState>,
    s: Session,
    Path((id, year)): Path<(Id, i32)>,
) -> WebResult<Redirect> {
    let school = school_for(&state, &s, id, Action::ViewSchool).await?;
    let place = place(&state, &school).await?;
    if !is_reviewer(&s, &place.managing) {
        return Err(WebError::BadRequest(format!(
            "Mức chuyển đổi số của {} do {} công bố.",
            school.name, place.managing.name
        )));
    }
    let a = state
        .db
        .sa_get(school.id, year)
        .await?
        .ok_or(WebError::NotFound)?;
    state.db.sa_publish(&a, s.user.id).await?;
    Ok(Redirect::to(&format!(
        "/schools/{id}/self-assessment/{year}?ok=1"
    )))
}

async fn evidence_file(
    State(state): State<AppState>,
    s: Session,
    Path((id, file)): Path<(Id, String)>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let school = school_for(&state, &s, id, Action::ViewSchool).await?;
    let file = Id::parse_str(&file).map_err(|_| WebError::NotFound)?;
    let key = format!("evidence/{}/{file}", school.id);
    let f = state.db.sa_evidence_file(school.id, &key).await?;
    crate::files::serve(&state, &f.key, &f.content_type, &f.name, &headers).await
}

// ----- overview of a unit -----

#[derive(serde::Deserialize)]
struct YearQuery {
    year: Option<i32>,
    ok: Option<String>,
}

/// One school on the unit's overview.
pub struct OverviewLine {
    /// The school.
    pub school: School,
    /// This year's assessment.
    pub a: Option<Assessment>,
    /// Last year's.
    pub prev: Option<Assessment>,
    /// The unit that reviews it.
    pub managing: String,
    /// Whether the viewer reviews it.
    pub reviewer: bool,
}

fn pts(t: Option<i64>) -> String {
    t.map(fmt_tenths).unwrap_or_else(|| "—".into())
}

fn lvl(l: Option<i64>) -> String {
    l.map(|l| format!("Mức {l}")).unwrap_or_else(|| "—".into())
}

impl OverviewLine {
    /// Status label.
    pub fn status(&self) -> &'static str {
        self.a.as_ref().map_or("Chưa bắt đầu", |a| a.status.label())
    }
    /// Status code.
    pub fn status_code(&self) -> &'static str {
        self.a.as_ref().map_or("none", |a| a.status.code())
    }
    /// "g1 · g2 · level" of this year.
    pub fn now(&self) -> (String, String, String, String, String) {
        Self::figures(self.a.as_ref())
    }
    /// The same of last year.
    pub fn before(&self) -> (String, String, String, String, String) {
        Self::figures(self.prev.as_ref())
    }
    fn figures(a: Option<&Assessment>) -> (String, String, String, String, String) {
        match a.filter(|a| !a.status.editable()) {
            Some(a) => (
                pts(a.total1),
                lvl(a.level1),
                pts(a.total2),
                lvl(a.level2),
                lvl(a.level),
            ),
            None => ("—".into(), "—".into(), "—".into(), "—".into(), "—".into()),
        }
    }
    /// Published this year.
    pub fn published(&self) -> bool {
        self.a
            .as_ref()
            .is_some_and(|a| a.status == Status::Published)
    }
    /// Approved, waiting for publication.
    pub fn approved(&self) -> bool {
        self.a
            .as_ref()
            .is_some_and(|a| a.status == Status::Approved)
    }
}

pub(crate) async fn overview_lines(
    state: &AppState,
    s: &Session,
    id: Id,
    year: i32,
) -> WebResult<(Unit, Vec<OverviewLine>)> {
    let unit = match state.db.unit(id).await {
        Ok(u) => u,
        Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    s.require(Action::ViewUnit, Target::Unit(&unit.path))?;
    let units: HashMap<String, Unit> = state
        .db
        .units()
        .await?
        .into_iter()
        .map(|u| (u.id.to_string(), u))
        .collect();
    let mut now = state.db.sa_within(&unit.path, year).await?;
    let mut prev = state.db.sa_within(&unit.path, year - 1).await?;
    let mut out = Vec::new();
    for school in state.db.schools_within(&unit.path).await? {
        let trail: Vec<Unit> = school
            .unit_path
            .split('/')
            .filter_map(|p| units.get(p).cloned())
            .collect();
        let managing = managing_unit(&school, &trail);
        out.push(OverviewLine {
            a: now.remove(&school.id),
            prev: prev.remove(&school.id),
            reviewer: managing.as_ref().is_some_and(|m| is_reviewer(s, m)),
            managing: managing.map(|m| m.name).unwrap_or_default(),
            school,
        });
    }
    Ok((unit, out))
}

#[derive(Template)]
#[template(path = "sa_overview.html")]
struct OverviewPage {
    ctx: Ctx,
    unit: Unit,
    year: i32,
    year_label: String,
    lines: Vec<OverviewLine>,
    counts: Vec<(&'static str, usize)>,
    levels: Vec<(String, usize)>,
    deadlines: Option<(String, String)>,
    submit_by: String,
    publish_by: String,
    any_approved: bool,
}

async fn overview(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<YearQuery>,
) -> WebResult<Html<String>> {
    let year = q.year.unwrap_or_else(current_cycle);
    let (unit, lines) = overview_lines(&state, &s, id, year).await?;
    let counts = Status::ALL
        .iter()
        .map(|st| {
            (
                st.label(),
                lines
                    .iter()
                    .filter(|l| l.a.as_ref().is_some_and(|a| a.status == *st))
                    .count(),
            )
        })
        .chain(std::iter::once((
            "Chưa bắt đầu",
            lines.iter().filter(|l| l.a.is_none()).count(),
        )))
        .collect();
    let levels = (1..=3)
        .map(|n| {
            (
                format!("Mức {n}"),
                lines
                    .iter()
                    .filter(|l| l.published() && l.a.as_ref().and_then(|a| a.level) == Some(n))
                    .count(),
            )
        })
        .collect();
    let province = if unit.kind == UnitKind::Province {
        Some(unit.clone())
    } else {
        state
            .db
            .units_on_path(&unit.path)
            .await?
            .into_iter()
            .rev()
            .find(|u| u.kind == UnitKind::Province)
    };
    let d = deadlines(&state, province.as_ref(), year).await?;
    let can_set = unit.kind == UnitKind::Province
        && s.actor.can(Action::ManageUnit, Target::Unit(&unit.path));
    let title = format!("{} – {}", s.lang.t("sa-overview-title"), unit.name);
    render(&OverviewPage {
        ctx: Ctx::new(&s, title)
            .with_help(HELP)
            .with_notice(saved_notice(q.ok.as_deref(), s.lang)),
        year_label: d4725::cycle_label(year),
        year,
        counts,
        levels,
        deadlines: can_set.then(|| {
            let show = |md: &str| {
                md.split_once('-')
                    .map(|(m, d)| format!("{d}/{m}"))
                    .unwrap_or_default()
            };
            (show(&d.submit_md), show(&d.publish_md))
        }),
        submit_by: fmt_date(d.submit),
        publish_by: fmt_date(d.publish),
        any_approved: lines.iter().any(|l| l.reviewer && l.approved()),
        unit,
        lines,
    })
}

#[derive(serde::Deserialize)]
struct DeadlineForm {
    submit_by: String,
    publish_by: String,
}

async fn set_deadlines(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<DeadlineForm>,
) -> WebResult<Redirect> {
    let unit = match state.db.unit(id).await {
        Ok(u) => u,
        Err(db::DbError::NotFound) => return Err(WebError::Forbidden),
        Err(e) => return Err(e.into()),
    };
    s.require(Action::ManageUnit, Target::Unit(&unit.path))?;
    if unit.kind != UnitKind::Province {
        return Err(WebError::BadRequest(
            "Hạn nộp và hạn công bố do Sở GD&ĐT đặt.".into(),
        ));
    }
    let submit = parse_day_month(&f.submit_by, "Hạn nộp")?;
    let publish = parse_day_month(&f.publish_by, "Hạn công bố")?;
    if publish <= submit {
        return Err(WebError::BadRequest(
            "Hạn công bố phải sau hạn nộp hồ sơ.".into(),
        ));
    }
    state
        .db
        .sa_set_deadlines(unit.id, &submit, &publish, s.user.id)
        .await?;
    Ok(Redirect::to(&format!("/units/{id}/self-assessments?ok=1")))
}

#[derive(serde::Deserialize)]
struct PublishForm {
    year: i32,
}

async fn publish_all(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<PublishForm>,
) -> WebResult<Redirect> {
    let (_, lines) = overview_lines(&state, &s, id, f.year).await?;
    for l in lines.iter().filter(|l| l.reviewer && l.approved()) {
        if let Some(a) = &l.a {
            state.db.sa_publish(a, s.user.id).await?;
        }
    }
    Ok(Redirect::to(&format!(
        "/units/{id}/self-assessments?year={}&ok=1",
        f.year
    )))
}

// ----- exports -----

async fn export_school(
    State(state): State<AppState>,
    s: Session,
    Path((id, year)): Path<(Id, i32)>,
) -> WebResult<Response> {
    use office::table::Cell;
    let (school, a) = load_school_year(&state, &s, id, year, Action::ViewSchool).await?;
    let v = build(&state, school, a).await?;
    let headers = [
        "Nhóm",
        "Tiêu chí",
        "Nội dung",
        "Bắt buộc",
        "Điểm tối đa",
        "Nguồn số liệu",
        "Giá trị",
        "Điểm",
        "Điểm năm trước",
        "Minh chứng (tệp)",
        "Minh chứng (liên kết)",
        "Ghi chú của trường",
        "Nhận xét của đơn vị quản lý",
        "Độ tin cậy của tiêu chí",
    ];
    let rows: Vec<Vec<Cell>> = v
        .rows
        .iter()
        .map(|r| {
            vec![
                i64::from(r.c.group).into(),
                r.c.code.clone().into(),
                r.c.title.clone().into(),
                if r.c.mandatory { "Có" } else { "" }.into(),
                r.c.max_points.into(),
                match r.source {
                    "auto" => format!("Tự động: {}", r.measure_label),
                    "unavailable" => "Nhập tay (nền tảng chưa có số liệu)".into(),
                    _ => "Trường nhập".into(),
                }
                .into(),
                r.value_text.clone().into(),
                Cell::Number(r.scored.points as f64 / 10.0),
                r.prev_points.clone().unwrap_or_default().into(),
                r.item
                    .file
                    .as_ref()
                    .map(|f| f.name.clone())
                    .unwrap_or_default()
                    .into(),
                r.item.url.clone().unwrap_or_default().into(),
                r.item.note.clone().into(),
                r.comments
                    .iter()
                    .map(|c| c.body.clone())
                    .collect::<Vec<_>>()
                    .join(" | ")
                    .into(),
                r.c.confidence.clone().into(),
            ]
        })
        .collect();
    let mut title = vec![
        format!(
            "TỰ ĐÁNH GIÁ MỨC ĐỘ CHUYỂN ĐỔI SỐ (QĐ 4725/QĐ-BGDĐT) – {} – NĂM HỌC {}",
            v.school.name.to_uppercase(),
            d4725::cycle_label(v.a.start_year)
        ),
        format!(
            "Mã trường {} · Trạng thái: {} · Bộ tiêu chí phiên bản {}",
            v.school.code,
            v.a.status.label(),
            v.cat.version
        ),
    ];
    for g in &v.groups {
        title.push(format!(
            "{}: {}/{} điểm – {}{}",
            g.title,
            g.total,
            g.max,
            g.level,
            g.prev
                .as_ref()
                .map(|(t, l)| format!(" (năm trước: {t} điểm – {l})"))
                .unwrap_or_default()
        ));
    }
    title.push(format!("Mức chung: {}", v.overall));
    let bytes = office::table::export("Tự đánh giá", &title, &headers, &rows)
        .map_err(|e| WebError::Internal(e.into()))?;
    Ok(crate::files::xlsx_download(
        bytes,
        &format!(
            "tu-danh-gia-cds-{}-{}.xlsx",
            v.school.code,
            d4725::cycle_label(v.a.start_year)
        ),
    ))
}

async fn export_unit(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<YearQuery>,
) -> WebResult<Response> {
    use office::table::Cell;
    let year = q.year.unwrap_or_else(current_cycle);
    let (unit, lines) = overview_lines(&state, &s, id, year).await?;
    let headers = [
        "Mã trường",
        "Tên trường",
        "Cấp học",
        "Đơn vị xét duyệt",
        "Trạng thái",
        "Điểm nhóm 1",
        "Mức nhóm 1",
        "Điểm nhóm 2",
        "Mức nhóm 2",
        "Mức chung",
        "Năm trước: điểm nhóm 1",
        "Năm trước: điểm nhóm 2",
        "Năm trước: mức chung",
    ];
    let rows: Vec<Vec<Cell>> = lines
        .iter()
        .map(|l| {
            let (t1, l1, t2, l2, lv) = l.now();
            let (p1, _, p2, _, plv) = l.before();
            vec![
                l.school.code.clone().into(),
                l.school.name.clone().into(),
                l.school.level.label().into(),
                l.managing.clone().into(),
                l.status().into(),
                t1.into(),
                l1.into(),
                t2.into(),
                l2.into(),
                lv.into(),
                p1.into(),
                p2.into(),
                plv.into(),
            ]
        })
        .collect();
    let title = vec![
        format!(
            "MỨC ĐỘ CHUYỂN ĐỔI SỐ CÁC TRƯỜNG – {} – NĂM HỌC {}",
            unit.name.to_uppercase(),
            d4725::cycle_label(year)
        ),
        format!("Số liệu lúc {}", format_ms(db::now_ms())),
    ];
    let bytes = office::table::export("Chuyển đổi số", &title, &headers, &rows)
        .map_err(|e| WebError::Internal(e.into()))?;
    Ok(crate::files::xlsx_download(
        bytes,
        &format!(
            "chuyen-doi-so-{}-{}.xlsx",
            unit.code,
            d4725::cycle_label(year)
        ),
    ))
}

// ----- the catalogue (system admin) -----

#[derive(Template)]
#[template(path = "sa_admin.html")]
struct AdminPage {
    ctx: Ctx,
    cv: CatalogueVersion,
    versions: Vec<(Id, i64, String, String, String)>,
    measures: &'static [(&'static str, &'static str)],
    sums: (i64, i64),
}

impl AdminPage {
    fn min(&self, level: u8) -> String {
        self.cv
            .catalogue
            .bands
            .iter()
            .find(|b| b.level == level)
            .map(|b| fmt_tenths(b.min_tenths()))
            .unwrap_or_default()
    }
    fn label(&self, level: u8) -> String {
        self.cv
            .catalogue
            .bands
            .iter()
            .find(|b| b.level == level)
            .map(|b| b.label.clone())
            .unwrap_or_default()
    }
    fn anchor(&self, c: &Criterion) -> String {
        format!("k-{}", c.code.replace('.', "-"))
    }
    fn groups(&self) -> [u8; 2] {
        [1, 2]
    }
    fn measure_is(&self, c: &Criterion, k: &str) -> bool {
        c.measure.as_deref() == Some(k)
    }
    fn scorings(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("yes", "Đạt / chưa đạt"),
            ("percent", "Theo tỉ lệ %"),
            ("steps", "Theo số lượng (bậc)"),
            ("manual", "Trường tự chấm điểm"),
        ]
    }
}

async fn admin_page(
    State(state): State<AppState>,
    s: Session,
    Query(q): Query<OkQuery>,
) -> WebResult<Html<String>> {
    s.require(Action::ManageSystem, Target::System)?;
    let cv = state.db.sa_current_catalogue().await?;
    let versions = state
        .db
        .sa_catalogue_versions()
        .await?
        .into_iter()
        .map(|(id, v, note, at, who)| (id, v, note, format_ms(at), who.unwrap_or_default()))
        .collect();
    render(&AdminPage {
        ctx: Ctx::new(&s, s.lang.t("sa-admin-title"))
            .with_help(HELP)
            .with_notice(saved_notice(q.ok.as_deref(), s.lang)),
        sums: (
            d4725::group_max_points(&cv.catalogue, 1),
            d4725::group_max_points(&cv.catalogue, 2),
        ),
        cv,
        versions,
        measures: d4725::MEASURES,
    })
}

#[derive(serde::Deserialize)]
struct CriterionForm {
    based_on: i64,
    code: String,
    group: String,
    title: String,
    #[serde(default)]
    hint: String,
    #[serde(default)]
    max_points: String,
    #[serde(default)]
    mandatory: Option<String>,
    #[serde(default)]
    measure: String,
    scoring: String,
    #[serde(default)]
    threshold: String,
    #[serde(default)]
    steps: String,
    #[serde(default)]
    confidence: String,
    #[serde(default)]
    remove: Option<String>,
    #[serde(default)]
    change_note: String,
}

async fn admin_criterion(
    State(state): State<AppState>,
    s: Session,
    Form(f): Form<CriterionForm>,
) -> WebResult<Redirect> {
    s.require(Action::ManageSystem, Target::System)?;
    let cv = state.db.sa_current_catalogue().await?;
    let mut cat = cv.catalogue.clone();
    let code = f.code.trim().to_owned();
    let name = format!("Tiêu chí {code}");
    let existing = cat.criteria.iter().position(|c| c.code == code);
    let note;
    if f.remove.is_some() {
        let i = existing.ok_or_else(|| WebError::BadRequest(format!("Không có {name}.")))?;
        cat.criteria.remove(i);
        note = format!("Bỏ tiêu chí {code}");
    } else {
        let group = match f.group.trim() {
            "1" => 1,
            "2" => 2,
            _ => {
                return Err(WebError::BadRequest(format!(
                    "{name}: nhóm phải là 1 hoặc 2."
                )));
            }
        };
        let mandatory = f.mandatory.is_some();
        let max_points = if mandatory {
            0
        } else {
            f.max_points.trim().parse::<i64>().map_err(|_| {
                WebError::BadRequest(format!(
                    "{name}: điểm tối đa \"{}\" phải là số nguyên.",
                    f.max_points.trim()
                ))
            })?
        };
        let scoring = match f.scoring.as_str() {
            "yes" => Scoring::Yes {
                threshold: match f.threshold.trim() {
                    "" => 1,
                    t => t.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        WebError::BadRequest(format!(
                            "{name}: ngưỡng \"{t}\" phải là số nguyên từ 1."
                        ))
                    })?,
                },
            },
            "percent" => Scoring::Percent,
            "steps" => Scoring::Steps {
                steps: d4725::parse_steps(&f.steps)
                    .map_err(|e| WebError::BadRequest(format!("{name}: {e}")))?,
            },
            "manual" => Scoring::Manual,
            other => {
                return Err(WebError::BadRequest(format!(
                    "{name}: cách tính điểm \"{other}\" không có."
                )));
            }
        };
        let measure = match f.measure.trim() {
            "" => None,
            m => Some(m.to_owned()),
        };
        let c = Criterion {
            code: code.clone(),
            group,
            title: f.title.trim().to_owned(),
            hint: f.hint.trim().to_owned(),
            max_points,
            mandatory,
            measure,
            scoring,
            confidence: f.confidence.trim().chars().take(2).collect(),
        };
        match existing {
            Some(i) => {
                note = format!("Sửa tiêu chí {code}");
                cat.criteria[i] = c;
            }
            None => {
                note = format!("Thêm tiêu chí {code}");
                let at = cat
                    .criteria
                    .iter()
                    .rposition(|x| x.group == group)
                    .map_or(cat.criteria.len(), |i| i + 1);
                cat.criteria.insert(at, c);
            }
        }
    }
    d4725::validate(&cat).map_err(WebError::BadRequest)?;
    let change = match f.change_note.trim() {
        "" => note,
        n => format!("{note}: {}", n.chars().take(300).collect::<String>()),
    };
    state
        .db
        .sa_save_catalogue(&cat, f.based_on, &change, s.user.id)
        .await?;
    Ok(Redirect::to("/admin/d4725?ok=1"))
}

#[derive(serde::Deserialize)]
struct BandsForm {
    based_on: i64,
    label1: String,
    label2: String,
    label3: String,
    min2: String,
    min3: String,
    cap: String,
    #[serde(default)]
    change_note: String,
}

async fn admin_bands(
    State(state): State<AppState>,
    s: Session,
    Form(f): Form<BandsForm>,
) -> WebResult<Redirect> {
    s.require(Action::ManageSystem, Target::System)?;
    let cv = state.db.sa_current_catalogue().await?;
    let mut cat = cv.catalogue.clone();
    let num = |raw: &str, field: &str| {
        d4725::parse_tenths(raw)
            .map(|t| t as f64 / 10.0)
            .ok_or_else(|| {
                WebError::BadRequest(format!(
                    "{field} \"{}\" phải là số điểm, ví dụ 50 hoặc 75,1.",
                    raw.trim()
                ))
            })
    };
    cat.bands = vec![
        d4725::Band {
            level: 1,
            label: f.label1.trim().to_owned(),
            min: 0.0,
        },
        d4725::Band {
            level: 2,
            label: f.label2.trim().to_owned(),
            min: num(&f.min2, "Điểm thấp nhất của mức 2")?,
        },
        d4725::Band {
            level: 3,
            label: f.label3.trim().to_owned(),
            min: num(&f.min3, "Điểm thấp nhất của mức 3")?,
        },
    ];
    if cat.bands.iter().any(|b| b.label.is_empty()) {
        return Err(WebError::BadRequest("Mỗi mức cần có tên.".into()));
    }
    cat.mandatory_cap = f.cap.trim().parse().map_err(|_| {
        WebError::BadRequest("Mức tối đa khi thiếu điều kiện bắt buộc phải là 1, 2 hoặc 3.".into())
    })?;
    d4725::validate(&cat).map_err(WebError::BadRequest)?;
    let change = match f.change_note.trim() {
        "" => "Sửa các mức".to_owned(),
        n => format!("Sửa các mức: {}", n.chars().take(300).collect::<String>()),
    };
    state
        .db
        .sa_save_catalogue(&cat, f.based_on, &change, s.user.id)
        .await?;
    Ok(Redirect::to("/admin/d4725?ok=1"))
}

// ----- the Circular 09 checklist -----

/// How a checklist requirement is evidenced.
#[derive(Clone, Copy)]
enum Check {
    /// A school document (plan, regulation): the documents area, else the 4725 evidence of a
    /// criterion, else manual evidence.
    Document(&'static str, &'static str),
    /// A platform count: met when at least one.
    Count(&'static str),
    /// Periodic tests online only under force majeure.
    Periodic,
    /// Materials reviewed and approved.
    Materials,
    /// Parents connected.
    Parents,
    /// Only manual evidence.
    Manual,
}

/// The requirements of Circular 09/2021/TT-BGDĐT the checklist follows.
const CHECKS: &[(&str, &str, &str, Check)] = &[
    (
        "plan",
        "Kế hoạch dạy học trực tuyến được ban hành, phê duyệt",
        "TT 09/2021 (quản lý dạy học trực tuyến); QĐ 4725 tiêu chí 1.1",
        Check::Document("plan_doc", "1.1"),
    ),
    (
        "regulation",
        "Quy chế tổ chức dạy học trực tuyến được ban hành",
        "TT 09/2021; QĐ 4725 tiêu chí 1.2",
        Check::Document("regulation_doc", "1.2"),
    ),
    (
        "live",
        "Tổ chức giờ học trực tuyến trực tiếp (giáo viên giảng bài, hướng dẫn)",
        "TT 09/2021 Điều 5 khoản 3a; Điều 9 (phần mềm dạy học trực tuyến trực tiếp)",
        Check::Count("live_sessions"),
    ),
    (
        "tasks",
        "LMS: giáo viên giao nhiệm vụ học tập, bài tập",
        "TT 09/2021 Điều 5 khoản 3b; Điều 9 (LMS)",
        Check::Count("tasks"),
    ),
    (
        "questions",
        "LMS: giáo viên giải đáp câu hỏi của học sinh",
        "TT 09/2021 Điều 5 khoản 2d, 3d",
        Check::Count("questions_answered"),
    ),
    (
        "regular_tests",
        "LMS: kiểm tra, đánh giá thường xuyên trực tuyến",
        "TT 09/2021 Điều 6 khoản 1",
        Check::Count("regular_tests"),
    ),
    (
        "periodic",
        "Kiểm tra định kỳ trực tuyến chỉ khi bất khả kháng (có lý do được ghi lại) hoặc tại phòng máy của trường",
        "TT 09/2021 Điều 6 khoản 2, 3",
        Check::Periodic,
    ),
    (
        "materials",
        "Học liệu được tổ chuyên môn thẩm định, hiệu trưởng phê duyệt trước khi sử dụng",
        "TT 09/2021 Điều 10",
        Check::Materials,
    ),
    (
        "parents",
        "Cha mẹ học sinh được kết nối để theo dõi việc học của con",
        "TT 09/2021 Điều 9 (LMS: cha mẹ học sinh theo dõi)",
        Check::Parents,
    ),
    (
        "infrastructure",
        "Hạ tầng kỹ thuật, an toàn thông tin và bảo vệ dữ liệu cá nhân",
        "TT 09/2021 Điều 4, Điều 9",
        Check::Manual,
    ),
    (
        "devices",
        "Thiết bị đầu cuối và đường truyền của giáo viên, học sinh",
        "TT 09/2021 Điều 9 khoản 4",
        Check::Manual,
    ),
];

/// One checklist line.
pub struct CheckLine {
    /// Item key.
    pub key: &'static str,
    /// The requirement.
    pub title: &'static str,
    /// Where it comes from.
    pub basis: &'static str,
    /// "ok", "missing", "manual_ok", "manual_missing".
    pub status: &'static str,
    /// What the platform found (empty when it cannot tell).
    pub figure: String,
    /// Records behind the figure.
    pub samples: Vec<Record>,
    /// Where else the evidence lives (the 4725 assessment, the library…).
    pub link: Option<(String, String)>,
    /// Manual evidence.
    pub evidence: Option<Tt09Evidence>,
    /// Whether manual evidence is asked for.
    pub manual: bool,
}

impl CheckLine {
    /// Status label.
    pub fn status_label(&self) -> &'static str {
        match self.status {
            "ok" => "Đạt (số liệu nền tảng)",
            "manual_ok" => "Có minh chứng",
            "manual_missing" => "Cần minh chứng",
            _ => "Chưa đạt",
        }
    }
    /// Passed (by figures or evidence).
    pub fn passed(&self) -> bool {
        matches!(self.status, "ok" | "manual_ok")
    }
}

fn check_lines(
    school: &School,
    year: i32,
    f: &Figures,
    ev: &BTreeMap<String, Tt09Evidence>,
    sa_items: &BTreeMap<String, Item>,
) -> Vec<CheckLine> {
    let has = |e: &Option<Tt09Evidence>| {
        e.as_ref()
            .is_some_and(|e| e.file.is_some() || e.url.as_deref().is_some_and(|u| !u.is_empty()))
    };
    CHECKS
        .iter()
        .map(|(key, title, basis, check)| {
            let evidence = ev.get(*key).cloned();
            let manual_status = if has(&evidence) {
                "manual_ok"
            } else {
                "manual_missing"
            };
            let mut line = CheckLine {
                key,
                title,
                basis,
                status: manual_status,
                figure: String::new(),
                samples: Vec::new(),
                link: None,
                evidence,
                manual: true,
            };
            let sa = format!("/schools/{}/self-assessment/{year}", school.id);
            match check {
                Check::Document(measure, code) => {
                    if let Some(n) = f.measures.get(*measure) {
                        line.figure = if *n > 0 {
                            "Văn bản hiện hành đã được hiệu trưởng phê duyệt".into()
                        } else {
                            "Chưa có văn bản được phê duyệt trong hồ sơ văn bản của trường".into()
                        };
                        line.samples = f.samples.get(*measure).cloned().unwrap_or_default();
                        if *n > 0 {
                            line.status = "ok";
                            line.manual = false;
                        }
                    }
                    if let Some(i) = sa_items.get(*code).filter(|i| i.has_evidence()) {
                        line.status = "manual_ok";
                        line.manual = false;
                        line.link = Some((
                            format!("{sa}#c-{}", code.replace('.', "-")),
                            format!(
                                "Minh chứng tiêu chí {code} của hồ sơ tự đánh giá chuyển đổi số: {}",
                                i.file
                                    .as_ref()
                                    .map(|f| f.name.clone())
                                    .or_else(|| i.url.clone())
                                    .unwrap_or_default()
                            ),
                        ));
                    }
                }
                Check::Count(measure) => match f.measures.get(*measure) {
                    Some(n) => {
                        line.manual = false;
                        line.figure = format!(
                            "{n} — {}",
                            d4725::measure_label(measure).unwrap_or("")
                        );
                        line.samples = f.samples.get(*measure).cloned().unwrap_or_default();
                        line.status = if *n > 0 { "ok" } else { "missing" };
                    }
                    None => {
                        line.figure =
                            "Nền tảng chưa có số liệu này: cần minh chứng thủ công.".into();
                    }
                },
                Check::Periodic => {
                    line.manual = false;
                    line.figure = format!(
                        "{} bài kiểm tra định kỳ trực tuyến; {} bài chưa ghi lý do bất khả kháng và không tổ chức tại phòng máy",
                        f.periodic_tests, f.periodic_unjustified
                    );
                    line.status = if f.periodic_unjustified == 0 {
                        "ok"
                    } else {
                        "missing"
                    };
                }
                Check::Materials => {
                    line.manual = false;
                    let ok = f.measures.get("materials_approved").copied().unwrap_or(0);
                    line.figure = format!(
                        "{ok}/{} học liệu đã được phê duyệt (học sinh chỉ thấy học liệu đã phê duyệt)",
                        f.materials_total
                    );
                    line.link = Some((
                        format!("/schools/{}/library", school.id),
                        "Thư viện học liệu của trường".into(),
                    ));
                    line.status = if ok > 0 { "ok" } else { "missing" };
                }
                Check::Parents => {
                    line.manual = false;
                    let on = f.measures.get("parents_connected").copied().unwrap_or(0);
                    line.figure = format!(
                        "{on}/{} phụ huynh đã kích hoạt tài khoản ({}%)",
                        f.parents_total,
                        domain::oversight::percent(on, f.parents_total)
                    );
                    line.status = if on > 0 { "ok" } else { "missing" };
                }
                Check::Manual => {}
            }
            line
        })
        .collect()
}

#[derive(Template)]
#[template(path = "checklist.html")]
struct ChecklistPage {
    ctx: Ctx,
    school: School,
    year: i32,
    year_label: String,
    lines: Vec<CheckLine>,
    passed: usize,
    can_edit: bool,
    print: bool,
    generated: String,
    online_share: String,
}

impl ChecklistPage {
    fn href(&self, f: &EvidenceFile) -> String {
        evidence_href(&self.school.id, f)
    }
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
}

async fn checklist_show(
    state: AppState,
    s: Session,
    id: Id,
    year: Option<i32>,
    ok: Option<String>,
    print: bool,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::ViewSchool).await?;
    let year = year.unwrap_or_else(current_cycle);
    let f = state.db.sa_figures(school.id, year).await?;
    let ev = state.db.tt09_evidence(school.id, year).await?;
    let sa_items = match state.db.sa_get(school.id, year).await? {
        Some(a) => state.db.sa_items(&a).await?,
        None => BTreeMap::new(),
    };
    let lines = check_lines(&school, year, &f, &ev, &sa_items);
    let cov = state.db.coverage(school.id).await?;
    let can_edit = !print
        && s.actor
            .can(Action::ManageSchool, Target::School(&school.as_ref()));
    render(&ChecklistPage {
        ctx: Ctx::new(&s, format!("{} – {}", s.lang.t("cl-title"), school.name))
            .with_help(HELP_TT09)
            .with_notice(saved_notice(ok.as_deref(), s.lang)),
        passed: lines.iter().filter(|l| l.passed()).count(),
        year_label: d4725::cycle_label(year),
        year,
        lines,
        can_edit,
        print,
        generated: format_ms(db::now_ms()),
        online_share: format!(
            "{}/{} ({}%)",
            cov.periods_online,
            cov.periods_planned,
            domain::oversight::percent(cov.periods_online, cov.periods_planned)
        ),
        school,
    })
}

async fn checklist(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<YearQuery>,
) -> WebResult<Html<String>> {
    checklist_show(state, s, id, q.year, q.ok, false).await
}

async fn checklist_print(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<YearQuery>,
) -> WebResult<Html<String>> {
    checklist_show(state, s, id, q.year, None, true).await
}

async fn checklist_evidence(
    State(state): State<AppState>,
    s: Session,
    Path((id, item)): Path<(Id, String)>,
    req: axum::extract::Request,
) -> WebResult<Redirect> {
    let school = school_for(&state, &s, id, Action::ManageSchool).await?;
    let (_, title, _, _) = CHECKS
        .iter()
        .find(|(k, ..)| *k == item)
        .ok_or_else(|| WebError::BadRequest(format!("Không có yêu cầu \"{item}\".")))?;
    let up = read_upload(req, &state, 1, MAX_EVIDENCE_BYTES)
        .await
        .map_err(|e| match e {
            WebError::BadRequest(m) => {
                WebError::BadRequest(format!("«{title}»: {m} Minh chứng tối đa 10 MB."))
            }
            other => other,
        })?;
    let year = match up.get("year").trim() {
        "" => current_cycle(),
        y => y
            .parse()
            .map_err(|_| WebError::BadRequest(format!("Năm học \"{y}\" không hợp lệ.")))?,
    };
    let named = |e: WebError| match e {
        WebError::BadRequest(m) => WebError::BadRequest(format!("«{title}»: {m}")),
        other => other,
    };
    let note = check_note(&up.get("note")).map_err(named)?;
    let url = check_url(&up.get("url")).map_err(named)?;
    let file = store_evidence(&state, school.id, up.files)
        .await
        .map_err(named)?;
    let e = Tt09Evidence {
        item: item.clone(),
        note,
        url,
        file,
        updated_at: 0,
    };
    if let Some(old) = state
        .db
        .tt09_set_evidence(school.id, year, &e, s.user.id)
        .await?
    {
        let _ = state.storage.delete(&old.key).await;
    }
    Ok(Redirect::to(&format!(
        "/schools/{id}/checklist?year={year}&ok=1#i-{item}"
    )))
}

// ----- demo -----

/// The demo THCS: last year's assessment published (for the year-over-year comparison) and a
/// draft for this year with its online-teaching plan given as a link and a few criteria
/// entered; the regulation and the group 2 conditions are left for the visitor to evidence.
pub async fn seed_demo(db: &db::Db, school: &School) -> anyhow::Result<()> {
    let year = current_cycle();
    let principal = db.user_by_username("ht.thcs").await?;
    let officer = db.user_by_username("xa.canbo").await?;
    let link = |s: &str| Some(format!("https://thcsgiavien.edu.vn/van-ban/{s}"));
    let set = |code: &'static str, entered: Option<i64>, url: Option<String>, note: &str| {
        (
            code,
            ItemUpdate {
                entered,
                note: note.to_owned(),
                url,
                file: None,
                remove_file: false,
            },
        )
    };
    // Last year, on paper, now recorded: every condition evidenced, fewer functions in use.
    let prev = db
        .sa_get_or_create(school.id, year - 1, Some(principal.id))
        .await?;
    let last_year = [
        set(
            "1.1",
            None,
            link("ke-hoach-day-hoc-truc-tuyen-nam-truoc.pdf"),
            "",
        ),
        set("1.2", None, link("quy-che-day-hoc-truc-tuyen.pdf"), ""),
        set(
            "1.3a",
            Some(1),
            link("zoom-hop-dong.pdf"),
            "Dùng phần mềm thuê ngoài",
        ),
        set("1.3b", Some(1), link("lms-bao-cao.pdf"), ""),
        set("1.7a", Some(40), link("danh-muc-thiet-bi.xlsx"), ""),
        set("1.7b", Some(40), link("bien-ban-phong-may.pdf"), ""),
        set("2.1", None, link("qd-ban-chi-dao-cds.pdf"), ""),
        set("2.2", None, link("ke-hoach-cntt.pdf"), ""),
        set("2.3b", Some(1), link("smas.png"), ""),
        set("2.3c", Some(1), link("so-diem-dien-tu.png"), ""),
        set("2.3d", Some(1), link("smas-can-bo.png"), ""),
        set("2.4a", Some(1), link("so-lien-lac.png"), ""),
        set("2.4c", Some(1), link("thu-phi.pdf"), ""),
    ];
    for (code, u) in &last_year {
        db.sa_set_item(&prev, code, u, principal.id).await?;
    }
    let cat = db.sa_catalogue(prev.catalogue_id).await?;
    let items = db.sa_items(&prev).await?;
    let values = values_of(&cat.catalogue, &items, Some(&BTreeMap::new()));
    let g = d4725::group_results(&cat.catalogue, &values);
    let totals = Totals {
        total1: g[0].total,
        total2: g[1].total,
        level1: g[0].level,
        level2: g[1].level,
        level: d4725::overall_level(&g),
    };
    db.sa_submit(&prev, &BTreeMap::new(), totals, principal.id)
        .await?;
    let prev = db.sa_by_id(prev.id).await?;
    db.sa_approve(&prev, "Đạt yêu cầu", officer.id).await?;
    let prev = db.sa_by_id(prev.id).await?;
    db.sa_publish(&prev, officer.id).await?;

    // This year's draft.
    let draft = db
        .sa_get_or_create(school.id, year, Some(principal.id))
        .await?;
    for (code, u) in [
        set(
            "1.1",
            None,
            link("ke-hoach-day-hoc-truc-tuyen.pdf"),
            "Kế hoạch lồng trong kế hoạch giáo dục nhà trường",
        ),
        set(
            "1.7a",
            Some(60),
            link("danh-muc-thiet-bi.xlsx"),
            "12/20 phòng học",
        ),
        set(
            "1.7b",
            Some(50),
            link("bien-ban-phong-may.pdf"),
            "Hai phòng máy, 45 máy",
        ),
        set("2.3a", Some(1), link("quy-che-su-dung-phan-mem.pdf"), ""),
        set(
            "2.4b",
            Some(0),
            None,
            "Chưa triển khai tuyển sinh trực tuyến",
        ),
    ] {
        db.sa_set_item(&draft, code, &u, principal.id).await?;
    }
    Ok(())
}
