//! The school library (LCMS): teachers write and reuse materials across classes and years,
//! with versions and licence; the subject-group head reviews and the principal approves
//! (Circular 09 Art. 10); the online-share report of the school.

use super::learning::{read_upload, store_files};
use super::{OkQuery, school_for};
use crate::AppState;
use crate::auth::Session;
use crate::error::{Form, WebError, WebResult};
use crate::view::{Ctx, format_ms, render};
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use db::learning::{LibraryFilter, Material, MaterialInput, MaterialVersion, ReviewEntry};
use db::org::School;
use domain::Id;
use domain::auth::{Action, Role, Target};
use domain::learning::{MaterialKind, MaterialStatus, ReviewStep, Reviewer, review_transition};
use serde::Deserialize;

/// Largest document or image placed in the library.
pub const MAX_MATERIAL_BYTES: usize = 50 * 1024 * 1024;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/schools/{id}/library",
            get(library_page)
                .post(create)
                .layer(DefaultBodyLimit::max(MAX_MATERIAL_BYTES + 1024 * 1024)),
        )
        .route(
            "/schools/{id}/library/{m}",
            get(material_page)
                .post(update)
                .layer(DefaultBodyLimit::max(MAX_MATERIAL_BYTES + 1024 * 1024)),
        )
        .route("/schools/{id}/library/{m}/review", post(review))
        .route("/schools/{id}/library/{m}/file", get(file))
        .route("/schools/{id}/online-share", get(online_share))
}

fn reviewer(
    s: &Session,
    school: &School,
    m: &Material,
    group: &str,
    owner_group: &str,
) -> Reviewer {
    let role = |r: Role| {
        s.actor
            .grants
            .iter()
            .any(|g| g.school_id == Some(school.id) && g.role == r)
    };
    Reviewer {
        is_author: m.owner_id == s.user.id,
        // A head reviews their own group's materials (or any, when either has no group).
        is_group_head: role(Role::GroupHead)
            && (group.is_empty() || owner_group.is_empty() || group == owner_group),
        is_principal: role(Role::Principal),
    }
}

/// Whether the reader may see every material of the school (reviewers), or only their own
/// and the approved ones.
fn sees_all(s: &Session, school: &School) -> bool {
    s.actor
        .can(Action::ReviewMaterials, Target::School(&school.as_ref()))
}

#[derive(Template)]
#[template(path = "library.html")]
struct LibraryPage {
    ctx: Ctx,
    school: School,
    materials: Vec<Material>,
    q: String,
    status: String,
    mine: bool,
    statuses: Vec<(&'static str, &'static str)>,
    kinds: Vec<(&'static str, &'static str)>,
    queue: usize,
}

impl LibraryPage {
    fn status_label(&self, m: &Material) -> &'static str {
        m.status.label()
    }
    fn status_code(&self, m: &Material) -> &'static str {
        m.status.code()
    }
    fn kind_label(&self, m: &Material) -> &'static str {
        m.kind.label()
    }
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
}

#[derive(Deserialize)]
struct LibraryQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    mine: String,
}

async fn library_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<LibraryQuery>,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::AuthorMaterials).await?;
    let mine = q.mine == "1";
    let filter = LibraryFilter {
        owner: mine.then_some(s.user.id),
        status: MaterialStatus::from_code(q.status.trim()),
        query: Some(q.q.clone()),
    };
    let all = sees_all(&s, &school);
    let materials: Vec<Material> = state
        .db
        .library(school.id, &filter)
        .await?
        .into_iter()
        .filter(|m| all || m.owner_id == s.user.id || m.approved_version.is_some())
        .collect();
    let queue = if all {
        state.db.review_queue(school.id).await?.len()
    } else {
        0
    };
    render(&LibraryPage {
        ctx: Ctx::new(&s, s.lang.t("library-title")).with_help("thu-vien-hoc-lieu"),
        school,
        materials,
        q: q.q,
        status: q.status,
        mine,
        statuses: MaterialStatus::ALL
            .iter()
            .map(|x| (x.code(), x.label()))
            .collect(),
        kinds: MaterialKind::ALL
            .iter()
            .map(|k| (k.code(), k.label()))
            .collect(),
        queue,
    })
}

fn text(up: &super::learning::Upload, k: &str, field: &str, max: usize) -> WebResult<String> {
    let t = up.get(k).trim().to_owned();
    if t.chars().count() > max {
        return Err(WebError::BadRequest(format!(
            "{field} dài quá {max} ký tự."
        )));
    }
    Ok(t)
}

/// Reads the material form; a new file is checked by its bytes and stored.
async fn material_input(
    state: &AppState,
    school: &School,
    kind: MaterialKind,
    up: super::learning::Upload,
    creating: bool,
) -> WebResult<MaterialInput> {
    let title = text(&up, "title", "Tên học liệu", 200)?;
    if title.is_empty() {
        return Err(WebError::BadRequest("Chưa nhập tên học liệu.".into()));
    }
    let grade = match up.get("grade").trim() {
        "" => None,
        g => Some(
            g.parse::<i64>()
                .ok()
                .filter(|n| (1..=12).contains(n))
                .ok_or_else(|| {
                    WebError::BadRequest(format!("Khối lớp \"{g}\" không hợp lệ (1–12)."))
                })?,
        ),
    };
    let url = match up.get("url").trim() {
        "" => None,
        u => {
            if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 2000 {
                return Err(WebError::BadRequest(format!(
                    "Liên kết \"{u}\" không hợp lệ: phải bắt đầu bằng https:// hoặc http://."
                )));
            }
            Some(u.to_owned())
        }
    };
    if kind == MaterialKind::Link && url.is_none() {
        return Err(WebError::BadRequest(
            "Học liệu dạng liên kết cần một địa chỉ.".into(),
        ));
    }
    let body = text(&up, "body", "Nội dung", 100_000)?;
    if kind == MaterialKind::Text && body.is_empty() {
        return Err(WebError::BadRequest("Bài viết chưa có nội dung.".into()));
    }
    let subject_name = text(&up, "subject", "Môn học", 100)?;
    let licence = text(&up, "licence", "Giấy phép", 200)?;
    let attribution = text(&up, "attribution", "Nguồn, tác giả", 500)?;
    let mut files = up.files;
    let file = match files.len() {
        0 => None,
        1 => {
            let f = files.remove(0);
            let stored = store_files(state, &format!("materials/{}", school.id), vec![f]).await?;
            stored
                .into_iter()
                .next()
                .map(|f| (f.storage_key, f.file_name, f.content_type, f.size))
        }
        _ => return Err(WebError::BadRequest("Mỗi học liệu chỉ có một tệp.".into())),
    };
    if creating && kind == MaterialKind::File && file.is_none() {
        return Err(WebError::BadRequest("Chưa chọn tệp cho học liệu.".into()));
    }
    Ok(MaterialInput {
        subject_name,
        grade,
        title,
        body,
        url,
        file,
        licence,
        attribution,
    })
}

async fn create(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    req: axum::extract::Request,
) -> WebResult<Redirect> {
    let school = school_for(&state, &s, id, Action::AuthorMaterials).await?;
    let up = read_upload(req, &state, 1, MAX_MATERIAL_BYTES).await?;
    let kind = MaterialKind::from_code(up.get("kind").trim())
        .filter(|k| *k != MaterialKind::Video)
        .ok_or_else(|| WebError::BadRequest("Loại học liệu không hợp lệ.".into()))?;
    let input = material_input(&state, &school, kind, up, true).await?;
    let mid = state
        .db
        .create_material(school.id, s.user.id, kind, &input)
        .await?;
    Ok(Redirect::to(&format!("/schools/{id}/library/{mid}")))
}

/// Loads a material the reader may see.
pub async fn material_for(
    state: &AppState,
    s: &Session,
    school: &School,
    id: Id,
) -> WebResult<Material> {
    let m = state.db.material(school.id, id).await?;
    if m.owner_id != s.user.id && m.approved_version.is_none() && !sees_all(s, school) {
        return Err(WebError::NotFound);
    }
    Ok(m)
}

#[derive(Template)]
#[template(path = "material.html")]
struct MaterialPage {
    ctx: Ctx,
    school: School,
    material: Material,
    shown: MaterialVersion,
    html: String,
    math: bool,
    versions: Vec<MaterialVersion>,
    reviews: Vec<ReviewEntry>,
    steps: Vec<(&'static str, &'static str)>,
    can_edit: bool,
    video_note: Option<String>,
    hls_preview: String,
    embed: Option<String>,
}

impl MaterialPage {
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }
    fn step_label(&self, r: &ReviewEntry) -> &'static str {
        r.step.label()
    }
    fn status_label(&self) -> &'static str {
        self.material.status.label()
    }
    fn status_code(&self) -> &'static str {
        self.material.status.code()
    }
    fn kind_code(&self) -> &'static str {
        self.material.kind.code()
    }
}

async fn owner_group(state: &AppState, school: Id, user: Id) -> WebResult<String> {
    Ok(state
        .db
        .staff_by_user(school, user)
        .await?
        .map(|m| m.subject_group)
        .unwrap_or_default())
}

async fn material_page(
    State(state): State<AppState>,
    s: Session,
    Path((id, mid)): Path<(Id, Id)>,
    Query(ok): Query<OkQuery>,
) -> WebResult<Response> {
    let school = school_for(&state, &s, id, Action::AuthorMaterials).await?;
    let m = material_for(&state, &s, &school, mid).await?;
    let staff_view = m.owner_id == s.user.id || sees_all(&s, &school);
    let shown_version = if staff_view {
        m.version
    } else {
        m.approved_version.unwrap_or(m.version)
    };
    let shown = state
        .db
        .material_version(school.id, m.id, shown_version)
        .await?;
    let html = crate::rich::render(&shown.body);
    let who = reviewer(
        &s,
        &school,
        &m,
        &owner_group(&state, school.id, s.user.id).await?,
        &owner_group(&state, school.id, m.owner_id).await?,
    );
    let steps = ReviewStep::ALL
        .iter()
        .filter(|st| review_transition(m.status, **st, who).is_ok())
        .map(|st| (st.code(), st.label()))
        .collect();
    let versions = if staff_view {
        state.db.material_versions(school.id, m.id).await?
    } else {
        vec![]
    };
    let video_note = super::video::status_note(&m, s.lang);
    let embed = shown.url.as_deref().and_then(crate::rich::embed_url);
    let with_embed = embed.is_some();
    let page = render(&MaterialPage {
        embed,
        hls_preview: super::video::library_hls_url(&m),
        ctx: Ctx::new(&s, shown.title.clone())
            .with_help("thu-vien-hoc-lieu")
            .with_notice(crate::view::saved_notice(ok.ok.as_deref(), s.lang)),
        math: crate::rich::has_math(&html),
        can_edit: m.owner_id == s.user.id
            && !matches!(
                m.status,
                MaterialStatus::InReview | MaterialStatus::Endorsed
            ),
        reviews: state.db.material_reviews(school.id, m.id).await?,
        school,
        material: m,
        shown,
        html,
        versions,
        steps,
        video_note,
    })?;
    Ok(super::learning::with_embed_policy(page, with_embed))
}

async fn update(
    State(state): State<AppState>,
    s: Session,
    Path((id, mid)): Path<(Id, Id)>,
    req: axum::extract::Request,
) -> WebResult<Redirect> {
    let school = school_for(&state, &s, id, Action::AuthorMaterials).await?;
    let m = material_for(&state, &s, &school, mid).await?;
    if m.owner_id != s.user.id {
        return Err(WebError::Forbidden);
    }
    let up = read_upload(req, &state, 1, MAX_MATERIAL_BYTES).await?;
    if m.kind == MaterialKind::Video && !up.files.is_empty() {
        return Err(WebError::BadRequest(
            "Muốn thay video, hãy tải video mới lên thành một học liệu mới.".into(),
        ));
    }
    let input = material_input(&state, &school, m.kind, up, false).await?;
    state.db.update_material(&m, &input, s.user.id).await?;
    Ok(Redirect::to(&format!("/schools/{id}/library/{mid}?ok=1")))
}

#[derive(Deserialize)]
struct ReviewForm {
    step: String,
    #[serde(default)]
    comment: String,
}

async fn review(
    State(state): State<AppState>,
    s: Session,
    Path((id, mid)): Path<(Id, Id)>,
    Form(f): Form<ReviewForm>,
) -> WebResult<Redirect> {
    let school = school_for(&state, &s, id, Action::AuthorMaterials).await?;
    let m = material_for(&state, &s, &school, mid).await?;
    let step = ReviewStep::from_code(f.step.trim())
        .ok_or_else(|| WebError::BadRequest("Thao tác thẩm định không hợp lệ.".into()))?;
    let comment = f.comment.trim();
    if comment.chars().count() > 2000 {
        return Err(WebError::BadRequest("Nhận xét dài quá 2000 ký tự.".into()));
    }
    if step == ReviewStep::Return && comment.is_empty() {
        return Err(WebError::BadRequest(
            "Khi trả lại học liệu, hãy ghi nhận xét để tác giả biết cần sửa gì.".into(),
        ));
    }
    let who = reviewer(
        &s,
        &school,
        &m,
        &owner_group(&state, school.id, s.user.id).await?,
        &owner_group(&state, school.id, m.owner_id).await?,
    );
    let to = review_transition(m.status, step, who).map_err(|e| WebError::Conflict(e.0))?;
    state
        .db
        .review_material(&m, step, to, comment, s.user.id)
        .await?;
    if to == MaterialStatus::Approved {
        // Students of the courses that already use it learn that it is there now.
        for (course_id, lesson_id) in state.db.material_courses(school.id, m.id).await? {
            let course = state.db.course(course_id).await?;
            super::learning::notify_students(
                &state,
                &course,
                "material",
                &format!("Học liệu mới – {}: {}", course.subject_name, m.title),
                &format!("/courses/{course_id}/lessons/{lesson_id}"),
            )
            .await?;
        }
    }
    Ok(Redirect::to(&format!("/schools/{id}/library/{mid}?ok=1")))
}

#[derive(Deserialize)]
struct FileQuery {
    v: Option<i64>,
}

async fn file(
    State(state): State<AppState>,
    s: Session,
    Path((id, mid)): Path<(Id, Id)>,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let school = school_for(&state, &s, id, Action::AuthorMaterials).await?;
    let m = material_for(&state, &s, &school, mid).await?;
    let staff_view = m.owner_id == s.user.id || sees_all(&s, &school);
    let version = match q.v {
        Some(v) if staff_view => v,
        _ if staff_view => m.version,
        _ => m.approved_version.ok_or(WebError::NotFound)?,
    };
    let v = state.db.material_version(school.id, m.id, version).await?;
    let key = v.file_key.ok_or(WebError::NotFound)?;
    crate::files::serve(
        &state,
        &key,
        v.content_type
            .as_deref()
            .unwrap_or("application/octet-stream"),
        v.file_name.as_deref().unwrap_or("tep"),
        &headers,
    )
    .await
}

// ----- online share -----

/// A row of the online-share report.
pub struct ShareRow {
    /// The course's periods.
    pub share: db::learning::CourseShare,
    /// Share, formatted.
    pub percent: String,
    /// At or above the target.
    pub meets: bool,
}

#[derive(Template)]
#[template(path = "online_share.html")]
struct SharePage {
    ctx: Ctx,
    school: School,
    rows: Vec<ShareRow>,
    total: String,
    target: String,
    meets: bool,
}

#[derive(Deserialize)]
struct ShareQuery {
    #[serde(default)]
    format: String,
}

async fn online_share(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<ShareQuery>,
) -> WebResult<Response> {
    use domain::learning::{format_permille, online_share_permille};
    let school = school_for(&state, &s, id, Action::ViewSchool).await?;
    let year = state
        .db
        .current_year(school.id)
        .await?
        .ok_or_else(|| WebError::Conflict("Trường chưa có năm học hiện tại.".into()))?;
    state.db.ensure_courses(school.id, year.id).await?;
    let target = state.db.online_target(&school.unit_path).await?;
    let shares = state.db.online_shares(school.id, year.id).await?;
    // The denominator is the year's periods of the subject, or the planned periods when a
    // plan goes beyond them: a half-written plan does not inflate the share.
    let denom = |c: &db::learning::CourseShare| c.periods_per_year.max(c.counts.planned);
    let (on, all) = shares
        .iter()
        .fold((0, 0), |(o, a), c| (o + c.counts.online, a + denom(c)));
    let total_p = online_share_permille(on, all);
    let rows: Vec<ShareRow> = shares
        .into_iter()
        .map(|c| {
            let p = online_share_permille(c.counts.online, denom(&c));
            ShareRow {
                percent: p.map(format_permille).unwrap_or_else(|| "—".into()),
                meets: p.is_some_and(|p| p >= target),
                share: c,
            }
        })
        .collect();
    if q.format == "xlsx" {
        use office::table::Cell;
        let headers = [
            "Lớp",
            "Môn học",
            "Số tiết/năm",
            "Tiết trong kế hoạch",
            "Tiết trực tuyến thay thế",
            "Tiết trực tuyến hỗ trợ",
            "Tỉ lệ trực tuyến",
            "Đạt chỉ tiêu",
        ];
        let data: Vec<Vec<Cell>> = rows
            .iter()
            .map(|r| {
                vec![
                    Cell::from(r.share.class_name.clone()),
                    Cell::from(r.share.subject_name.clone()),
                    Cell::from(r.share.periods_per_year),
                    Cell::from(r.share.counts.planned),
                    Cell::from(r.share.counts.online),
                    Cell::from(r.share.counts.support),
                    Cell::from(r.percent.clone()),
                    Cell::from(if r.meets { "Đạt" } else { "Chưa đạt" }),
                ]
            })
            .collect();
        let title = vec![
            format!("TỈ LỆ DẠY HỌC TRỰC TUYẾN – {}", school.name.to_uppercase()),
            format!(
                "Năm học {} · toàn trường {} · chỉ tiêu {}",
                year.name,
                total_p.map(format_permille).unwrap_or_else(|| "—".into()),
                format_permille(target)
            ),
        ];
        let bytes = office::table::export("Tỉ lệ trực tuyến", &title, &headers, &data)
            .map_err(|e| WebError::Internal(e.into()))?;
        return Ok(crate::files::xlsx_download(
            bytes,
            &format!("ti-le-truc-tuyen-{}.xlsx", school.code),
        ));
    }
    Ok(render(&SharePage {
        ctx: Ctx::new(&s, s.lang.t("share-title")).with_help("hoc-tap"),
        school,
        rows,
        total: total_p.map(format_permille).unwrap_or_else(|| "—".into()),
        target: format_permille(target),
        meets: total_p.is_some_and(|p| p >= target),
    })?
    .into_response())
}
