//! Presenting a PDF in the room: the teacher uploads it (checked by its bytes, size-limited),
//! its pages are rendered here to PNG images — 1280 px wide, and 480 px for audio-only mode and
//! slow networks — by poppler's `pdftoppm` (an optional tool like ffmpeg; without it the
//! upload says so), kept in the file store under the session, and served to the people of the
//! room. Which page is shown is room state in the media server (`ClientMsg::Slides`,
//! `ClientMsg::SlidePage`), so every participant, late joiners too, sees the teacher's page.

use super::{Loaded, json_error, load, room_role};
use crate::AppState;
use crate::auth::Session;
use crate::error::{WebError, WebResult};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::Id;
use serde::Deserialize;
use std::path::{Path as FsPath, PathBuf};
use std::time::Duration;

/// Largest PDF accepted for presenting.
pub const MAX_SLIDES_BYTES: usize = 30 * 1024 * 1024;
/// Width of a page image.
pub const SLIDE_WIDTH: u32 = 1280;
/// Width of the light version of a page image (audio-only mode, slow networks).
pub const SLIDE_WIDTH_SMALL: u32 = 480;
/// Most pages rendered (the rest of a longer PDF is left out).
pub const MAX_PAGES: u32 = live::room::MAX_SLIDE_PAGES;
/// Longest a rendering may take.
const RENDER_TIMEOUT: Duration = Duration::from_secs(120);

/// Where page `page` of deck `deck` of a session is stored.
pub fn slide_key(school: Id, session: Id, deck: Id, page: u32, small: bool) -> String {
    let suffix = if small { "-s" } else { "" };
    format!("live/{school}/{session}/slides/{deck}/{page}{suffix}.png")
}

/// `pdftoppm` on `PATH`, if installed.
pub fn pdftoppm() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("pdftoppm"))
            .find(|p| p.is_file())
    })
}

/// Why a PDF could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// pdftoppm failed (a damaged or password-protected PDF); its last words.
    #[error("{0}")]
    Failed(String),
    /// It took too long.
    #[error("quá thời gian")]
    Timeout,
    /// It could not be run.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Renders the pages of `pdf` (at most [`MAX_PAGES`]) into `out` as `p-N.png` (`width` px
/// wide) and returns the page images in page order.
pub async fn render_pages(
    tool: &FsPath,
    pdf: &FsPath,
    out: &FsPath,
    prefix: &str,
    width: u32,
) -> Result<Vec<PathBuf>, RenderError> {
    let run = tokio::process::Command::new(tool)
        .args(["-png", "-l", &MAX_PAGES.to_string()])
        .args(["-scale-to-x", &width.to_string(), "-scale-to-y", "-1"])
        .arg(pdf)
        .arg(out.join(prefix))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(RENDER_TIMEOUT, run)
        .await
        .map_err(|_| RenderError::Timeout)??;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        let tail: String = err.lines().rev().take(2).collect::<Vec<_>>().join(" ");
        return Err(RenderError::Failed(tail.trim().to_owned()));
    }
    // pdftoppm names pages `prefix-1.png` or `prefix-01.png` (padded to the page count).
    let mut pages: Vec<(u32, PathBuf)> = Vec::new();
    let mut dir = tokio::fs::read_dir(out).await?;
    while let Some(e) = dir.next_entry().await? {
        let name = e.file_name().to_string_lossy().into_owned();
        let n = name
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('-'))
            .and_then(|r| r.strip_suffix(".png"))
            .and_then(|r| r.parse::<u32>().ok());
        if let Some(n) = n {
            pages.push((n, e.path()));
        }
    }
    pages.sort();
    Ok(pages.into_iter().map(|(_, p)| p).collect())
}

/// `POST /live/{id}/slides` with the PDF as the body: renders and stores its pages, answers
/// `{deck, pages}` (the room is then told by the teacher's page). Teacher of the room only.
pub async fn upload(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    body: Body,
) -> WebResult<Response> {
    let l = load(&state, &s, id).await?;
    if room_role(&state, &s, &l).await? != Some(live::Role::Teacher) {
        return Err(WebError::Forbidden);
    }
    let too_big = || {
        json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "Tệp trình chiếu lớn quá {} MB: hãy nén hoặc tách tệp PDF.",
                MAX_SLIDES_BYTES / 1024 / 1024
            ),
        )
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_SLIDES_BYTES + 1).await else {
        return Ok(too_big());
    };
    if bytes.len() > MAX_SLIDES_BYTES {
        return Ok(too_big());
    }
    if !matches!(
        media::sniff::sniff(&bytes),
        Ok(Some(media::sniff::Kind::Pdf))
    ) {
        return Ok(json_error(
            StatusCode::BAD_REQUEST,
            "Trình chiếu: tệp gửi lên không phải PDF (hãy lưu bài giảng thành PDF rồi gửi lại)."
                .into(),
        ));
    }
    let Some(tool) = pdftoppm() else {
        return Ok(json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Máy chủ chưa cài pdftoppm (gói poppler-utils) nên chưa trình chiếu được PDF.".into(),
        ));
    };
    let work = std::env::temp_dir().join(format!("lophoc-slides-{}", domain::new_id().simple()));
    let result = store(&state, &l, &s, &tool, &work, &bytes[..]).await;
    let _ = tokio::fs::remove_dir_all(&work).await;
    result
}

async fn store(
    state: &AppState,
    l: &Loaded,
    s: &Session,
    tool: &FsPath,
    work: &FsPath,
    bytes: &[u8],
) -> WebResult<Response> {
    let id = l.session.id;
    let io = |e: std::io::Error| WebError::Internal(e.into());
    tokio::fs::create_dir_all(work).await.map_err(io)?;
    let pdf = work.join("deck.pdf");
    tokio::fs::write(&pdf, bytes).await.map_err(io)?;
    let big = render_pages(tool, &pdf, work, "p", SLIDE_WIDTH).await;
    let small = match &big {
        Ok(_) => render_pages(tool, &pdf, work, "s", SLIDE_WIDTH_SMALL).await,
        Err(_) => Ok(Vec::new()),
    };
    let (big, small) = match (big, small) {
        (Ok(b), Ok(s)) if !b.is_empty() && b.len() == s.len() => (b, s),
        (Err(RenderError::Io(e)), _) | (_, Err(RenderError::Io(e))) => {
            return Err(WebError::Internal(e.into()));
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::info!(error = %e, "live: a PDF could not be rendered");
            return Ok(json_error(
                StatusCode::BAD_REQUEST,
                "Trình chiếu: không đọc được các trang của tệp PDF (tệp hỏng hoặc có mật khẩu)."
                    .into(),
            ));
        }
        _ => {
            return Ok(json_error(
                StatusCode::BAD_REQUEST,
                "Trình chiếu: tệp PDF không có trang nào.".into(),
            ));
        }
    };
    let deck = domain::new_id();
    let school = l.school.id;
    for (i, (b, sm)) in big.iter().zip(&small).enumerate() {
        let page = i as u32 + 1;
        for (path, is_small) in [(b, false), (sm, true)] {
            let data = tokio::fs::read(path).await.map_err(io)?;
            state
                .storage
                .put(&slide_key(school, id, deck, page, is_small), data)
                .await
                .map_err(|e| WebError::Internal(e.into()))?;
        }
    }
    let pages = big.len() as u32;
    state
        .db
        .audit(&db::audit::AuditEntry {
            school_id: Some(school),
            actor_id: Some(s.user.id),
            action: "live.slides",
            entity: "live_session",
            entity_id: Some(id),
            detail: format!("{pages} trang, {} byte", bytes.len()),
        })
        .await?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "deck": deck, "pages": pages })),
    )
        .into_response())
}

/// `?s=1` asks for the light version.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// Light version.
    #[serde(default)]
    pub s: Option<String>,
}

/// `GET /live/{id}/slides/{deck}/{page}`: a page image, for the people who may enter the room.
pub async fn page(
    State(state): State<AppState>,
    s: Session,
    Path((id, deck, page)): Path<(Id, String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let l: Loaded = load(&state, &s, id).await?;
    if room_role(&state, &s, &l).await?.is_none() {
        return Err(WebError::Forbidden);
    }
    let deck = Id::parse_str(deck.trim()).map_err(|_| WebError::NotFound)?;
    let page: u32 = page.parse().map_err(|_| WebError::NotFound)?;
    if page == 0 || page > MAX_PAGES {
        return Err(WebError::NotFound);
    }
    let small = q.s.as_deref().is_some_and(|v| v == "1");
    let key = slide_key(l.school.id, id, deck, page, small);
    // A deck's pages never change (a new upload is a new deck): the default caching holds.
    crate::files::serve(
        &state,
        &key,
        "image/png",
        &format!("trang-{page}.png"),
        &headers,
    )
    .await
}
