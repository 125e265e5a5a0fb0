//! Lesson videos: the resumable upload (a tus-like protocol under `/schools/{id}/uploads`), the
//! background transcode into HLS renditions, the progress endpoint, and the serving of the
//! renditions within a course or the library; also what the page says while they are being
//! prepared, and the player and upload scripts.
//!
//! Transcodes are durable through the `materials` table: a video is `queued` until its
//! renditions are stored, and [`resume_transcodes`] (run when the app starts) picks up every
//! video a restart left `queued` or `processing`.

use super::school_for;
use crate::AppState;
use crate::auth::Session;
use crate::error::{Form, WebError, WebResult};
use crate::i18n::Lang;
use crate::view::{Ctx, render};
use askama::Template;
use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, head, post};
use db::learning::{Course, Material, MaterialInput};
use domain::Id;
use domain::auth::Action;
use domain::learning::MaterialKind;
use media::upload::{UploadError, Uploads};
use media::video::Transcoder;
use serde::Deserialize;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The chunk size upload.js sends.
pub const CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// The largest chunk a PATCH may carry (a client may choose bigger chunks than ours).
pub const MAX_CHUNK_BYTES: usize = 64 * 1024 * 1024;

/// The transcoder in [`crate::WebConfig`]: ffmpeg by default, a fake in tests.
#[derive(Clone)]
pub struct SharedTranscoder(pub Arc<dyn Transcoder>);

impl std::fmt::Debug for SharedTranscoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedTranscoder")
            .field("available", &self.0.available())
            .finish()
    }
}

/// The resumable uploads of the app, opened on first use (opening touches the disk, which
/// [`crate::App::build`] cannot await).
#[derive(Debug)]
pub struct VideoUploads {
    dir: PathBuf,
    max_len: u64,
    cell: tokio::sync::OnceCell<Uploads>,
}

impl VideoUploads {
    /// Uploads in `dir`, each at most `max_len` bytes.
    pub fn new(dir: PathBuf, max_len: u64) -> Self {
        Self {
            dir,
            max_len,
            cell: tokio::sync::OnceCell::new(),
        }
    }

    /// The folder and limit the settings give.
    pub fn from_config(c: &crate::WebConfig) -> Self {
        let dir = match (&c.uploads_dir, &c.files_dir) {
            (Some(d), _) => d.clone(),
            (None, Some(files)) => files.join("_uploads"),
            (None, None) => std::env::temp_dir()
                .join(format!("lophoc-uploads-{}", uuid::Uuid::now_v7().simple())),
        };
        Self::new(dir, c.max_video_bytes)
    }

    /// The largest upload accepted.
    pub fn max_len(&self) -> u64 {
        self.max_len
    }

    /// The uploads, opening the folder the first time.
    pub async fn get(&self) -> Result<&Uploads, UploadError> {
        self.cell
            .get_or_try_init(|| Uploads::new(self.dir.clone(), self.max_len))
            .await
    }
}

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schools/{id}/videos/new", get(new_page))
        .route("/schools/{id}/uploads", post(create_upload))
        .route(
            "/schools/{id}/uploads/{upload}",
            head(upload_offset)
                .patch(append)
                .delete(abort)
                .layer(DefaultBodyLimit::max(MAX_CHUNK_BYTES)),
        )
        .route("/schools/{id}/videos/{upload}/finish", post(finish))
        .route("/schools/{id}/videos/{m}/status", get(status))
        .route("/courses/{id}/materials/{m}/hls/{*path}", get(course_hls))
        .route("/schools/{id}/library/{m}/hls/{*path}", get(library_hls))
        .route("/static/player.js", get(player_js))
        .route("/static/upload.js", get(upload_js))
        .route("/static/vendor/hls.light.min.mjs", get(hls_js))
}

/// The master playlist of a ready video, within its course.
pub fn hls_url(course: &Course, m: &Material) -> String {
    format!("/courses/{}/materials/{}/hls/master.m3u8", course.id, m.id)
}

/// The master playlist of a ready video, for staff previewing it in the library.
pub fn library_hls_url(m: &Material) -> String {
    format!("/schools/{}/library/{}/hls/master.m3u8", m.school_id, m.id)
}

/// What to tell the reader about a video that is not (yet) streamed in renditions.
pub fn status_note(m: &Material, _lang: Lang) -> Option<String> {
    if m.kind != MaterialKind::Video {
        return None;
    }
    match m.video_status.as_deref() {
        Some("ready") => None,
        Some("queued") => {
            Some("Video đang chờ xử lý; trong lúc chờ, video gốc vẫn xem được.".into())
        }
        Some("processing") => Some(format!(
            "Video đang được chuyển sang nhiều mức chất lượng ({} %); trong lúc chờ, video gốc vẫn xem được.",
            m.video_progress
        )),
        Some("original") => Some(
            m.video_error
                .clone()
                .unwrap_or_else(|| "Video phát ở dạng gốc.".into()),
        ),
        Some("failed") => Some(format!(
            "Không xử lý được video: {}",
            m.video_error.clone().unwrap_or_default()
        )),
        _ => None,
    }
}

// ----- the upload page -----

#[derive(Template)]
#[template(path = "video_new.html")]
struct NewVideoPage {
    ctx: Ctx,
    school: db::org::School,
    max_bytes: u64,
    max_label: String,
    chunk_bytes: usize,
}

async fn new_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::AuthorMaterials).await?;
    let max = state.uploads.max_len();
    render(&NewVideoPage {
        ctx: Ctx::new(&s, s.lang.t("video-new-title")),
        school,
        max_bytes: max,
        max_label: media::upload::human_size(max),
        chunk_bytes: CHUNK_BYTES,
    })
}

// ----- the resumable upload -----

fn plain(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        msg.into(),
    )
        .into_response()
}

fn tus(mut r: Response, offset: Option<u64>) -> Response {
    let h = r.headers_mut();
    h.insert("tus-resumable", HeaderValue::from_static("1.0.0"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(o) = offset {
        h.insert("upload-offset", HeaderValue::from(o));
    }
    r
}

/// The answer to a failed upload step: a status code and the Vietnamese message.
fn upload_error(e: UploadError) -> Response {
    let msg = e.to_string();
    match e {
        UploadError::TooLarge { .. } | UploadError::PastEnd { .. } => {
            tus(plain(StatusCode::PAYLOAD_TOO_LARGE, msg), None)
        }
        UploadError::NotFound => tus(plain(StatusCode::NOT_FOUND, msg), None),
        UploadError::Conflict { current, .. } => {
            tus(plain(StatusCode::CONFLICT, msg), Some(current))
        }
        UploadError::Incomplete { have, .. } => tus(plain(StatusCode::CONFLICT, msg), Some(have)),
        UploadError::Io(_) | UploadError::Corrupt(_) => {
            tracing::warn!(error = %msg, "video upload failed");
            tus(plain(StatusCode::INTERNAL_SERVER_ERROR, msg), None)
        }
    }
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The file name in a tus `Upload-Metadata` header (`filename <base64>,filetype <base64>`).
pub fn metadata_file_name(header: &str) -> Option<String> {
    use base64::Engine;
    header.split(',').find_map(|pair| {
        let (key, value) = pair.trim().split_once(' ')?;
        if key != "filename" {
            return None;
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()?;
        String::from_utf8(bytes).ok()
    })
}

async fn create_upload(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    headers: HeaderMap,
) -> WebResult<Response> {
    school_for(&state, &s, id, Action::AuthorMaterials).await?;
    let Some(len) = header_u64(&headers, "upload-length") else {
        return Ok(plain(
            StatusCode::BAD_REQUEST,
            "Thiếu độ dài tệp (Upload-Length).",
        ));
    };
    if len == 0 {
        return Ok(plain(StatusCode::BAD_REQUEST, "Tệp rỗng."));
    }
    let name = headers
        .get("upload-metadata")
        .and_then(|v| v.to_str().ok())
        .and_then(metadata_file_name)
        .unwrap_or_default();
    if name.trim().is_empty() {
        return Ok(plain(StatusCode::BAD_REQUEST, "Thiếu tên tệp."));
    }
    let uploads = match state.uploads.get().await {
        Ok(u) => u,
        Err(e) => return Ok(upload_error(e)),
    };
    let info = match uploads.create(&s.user.id.to_string(), &name, len).await {
        Ok(i) => i,
        Err(e) => return Ok(upload_error(e)),
    };
    let location = format!("/schools/{id}/uploads/{}", info.id);
    let mut r = (
        StatusCode::CREATED,
        axum::Json(serde_json::json!({ "id": info.id, "offset": 0, "url": location })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(tus(r, Some(0)))
}

async fn upload_offset(
    State(state): State<AppState>,
    s: Session,
    Path((id, upload)): Path<(Id, String)>,
) -> WebResult<Response> {
    school_for(&state, &s, id, Action::AuthorMaterials).await?;
    let uploads = match state.uploads.get().await {
        Ok(u) => u,
        Err(e) => return Ok(upload_error(e)),
    };
    Ok(match uploads.info(&upload, &s.user.id.to_string()).await {
        Ok(info) => {
            let mut r = tus(StatusCode::OK.into_response(), Some(info.offset));
            r.headers_mut()
                .insert("upload-length", HeaderValue::from(info.total_len));
            r
        }
        Err(e) => upload_error(e),
    })
}

/// A request body read as a byte stream, at most `limit` bytes.
struct BodyReader {
    body: Body,
    buf: Bytes,
    read: u64,
    limit: u64,
}

impl tokio::io::AsyncRead for BodyReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            if !self.buf.is_empty() {
                let n = self.buf.len().min(out.remaining());
                let part = self.buf.split_to(n);
                out.put_slice(&part);
                return Poll::Ready(Ok(()));
            }
            match std::task::ready!(Pin::new(&mut self.body).poll_frame(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Err(e)) => return Poll::Ready(Err(std::io::Error::other(e))),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.read += data.len() as u64;
                        if self.read > self.limit {
                            return Poll::Ready(Err(std::io::Error::new(
                                std::io::ErrorKind::InvalidData,
                                "phần gửi lên quá lớn",
                            )));
                        }
                        self.buf = data;
                    }
                }
            }
        }
    }
}

async fn append(
    State(state): State<AppState>,
    s: Session,
    Path((id, upload)): Path<(Id, String)>,
    headers: HeaderMap,
    body: Body,
) -> WebResult<Response> {
    school_for(&state, &s, id, Action::AuthorMaterials).await?;
    let Some(offset) = header_u64(&headers, "upload-offset") else {
        return Ok(plain(
            StatusCode::BAD_REQUEST,
            "Thiếu vị trí ghi (Upload-Offset).",
        ));
    };
    let uploads = match state.uploads.get().await {
        Ok(u) => u,
        Err(e) => return Ok(upload_error(e)),
    };
    let reader = BodyReader {
        body,
        buf: Bytes::new(),
        read: 0,
        limit: MAX_CHUNK_BYTES as u64,
    };
    Ok(
        match uploads
            .append_reader(&upload, &s.user.id.to_string(), offset, reader)
            .await
        {
            Ok(new) => tus(StatusCode::NO_CONTENT.into_response(), Some(new)),
            Err(e) => upload_error(e),
        },
    )
}

async fn abort(
    State(state): State<AppState>,
    s: Session,
    Path((id, upload)): Path<(Id, String)>,
) -> WebResult<Response> {
    school_for(&state, &s, id, Action::AuthorMaterials).await?;
    let uploads = match state.uploads.get().await {
        Ok(u) => u,
        Err(e) => return Ok(upload_error(e)),
    };
    Ok(
        match uploads.remove(&upload, &s.user.id.to_string()).await {
            Ok(()) => tus(StatusCode::NO_CONTENT.into_response(), None),
            Err(e) => upload_error(e),
        },
    )
}

/// The fields of a new video.
#[derive(Deserialize)]
pub struct VideoForm {
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Subject.
    #[serde(default)]
    pub subject: String,
    /// Grade (1–12), may be empty.
    #[serde(default)]
    pub grade: String,
    /// Licence.
    #[serde(default)]
    pub licence: String,
    /// Attribution.
    #[serde(default)]
    pub attribution: String,
}

impl VideoForm {
    /// The material's content, checked.
    pub fn input(&self) -> WebResult<MaterialInput> {
        let title = self.title.trim();
        if title.is_empty() {
            return Err(WebError::BadRequest("Vui lòng nhập tiêu đề video.".into()));
        }
        if title.chars().count() > 200 {
            return Err(WebError::BadRequest("Tiêu đề dài quá 200 ký tự.".into()));
        }
        let grade = match self.grade.trim() {
            "" => None,
            g => match g.parse::<i64>() {
                Ok(n) if (1..=12).contains(&n) => Some(n),
                _ => {
                    return Err(WebError::BadRequest("Khối lớp phải từ 1 đến 12.".into()));
                }
            },
        };
        let cut = |s: &str, n: usize| s.trim().chars().take(n).collect::<String>();
        Ok(MaterialInput {
            subject_name: cut(&self.subject, 100),
            grade,
            title: title.to_owned(),
            licence: cut(&self.licence, 200),
            attribution: cut(&self.attribution, 500),
            ..MaterialInput::default()
        })
    }
}

async fn finish(
    State(state): State<AppState>,
    s: Session,
    Path((id, upload)): Path<(Id, String)>,
    Form(form): Form<VideoForm>,
) -> WebResult<Response> {
    let school = school_for(&state, &s, id, Action::AuthorMaterials).await?;
    let input = form.input()?;
    let owner = s.user.id.to_string();
    let uploads = match state.uploads.get().await {
        Ok(u) => u,
        Err(e) => return Ok(upload_error(e)),
    };
    let (info, path) = match uploads.finish(&upload, &owner).await {
        Ok(done) => done,
        Err(e) => return Ok(upload_error(e)),
    };
    let (name, local) = (info.file_name.clone(), path.clone());
    let kind =
        tokio::task::spawn_blocking(move || media::sniff::check_file_extension(&name, &local))
            .await
            .map_err(|e| WebError::Internal(e.into()))?;
    let kind = match kind {
        Ok(k)
            if matches!(
                k,
                media::sniff::Kind::Mp4 | media::sniff::Kind::Mov | media::sniff::Kind::Webm
            ) =>
        {
            k
        }
        Ok(k) => {
            let _ = uploads.remove(&upload, &owner).await;
            return Err(WebError::BadRequest(format!(
                "Tệp \"{}\" ({}): chỉ nhận video MP4, MOV hoặc WebM.",
                info.file_name,
                k.label()
            )));
        }
        Err(e) => {
            let _ = uploads.remove(&upload, &owner).await;
            return Err(WebError::BadRequest(e.to_string()));
        }
    };
    let mid = state
        .db
        .create_material(school.id, s.user.id, MaterialKind::Video, &input)
        .await?;
    let key = format!("videos/{}/{mid}/original.{}", school.id, kind.extension());
    let size = state
        .storage
        .put_file(&key, &path)
        .await
        .map_err(|e| WebError::Internal(e.into()))?;
    state
        .db
        .set_video_file(
            school.id,
            mid,
            (&key, &info.file_name, kind.mime(), size as i64),
        )
        .await?;
    if let Err(e) = uploads.remove(&upload, &owner).await {
        tracing::warn!(error = %e, "could not remove a finished upload");
    }
    spawn_transcode(state.clone(), school.id, mid);
    Ok(Redirect::to(&format!("/schools/{id}/library/{mid}")).into_response())
}

// ----- transcoding -----

/// Transcodes a video in the background, when the [`media::video::TranscodeQueue`] has room.
pub fn spawn_transcode(state: AppState, school_id: Id, material_id: Id) {
    tokio::spawn(async move {
        if let Err(e) = transcode(&state, school_id, material_id).await {
            tracing::error!(material = %material_id, error = ?e, "video transcode failed");
        }
    });
}

/// Queues again every video a restart left waiting (called when the app starts).
pub async fn resume_transcodes(state: AppState) {
    match state.db.pending_videos().await {
        Ok(videos) => {
            for v in videos {
                tracing::info!(material = %v.material_id, "resuming a video transcode");
                spawn_transcode(state.clone(), v.school_id, v.material_id);
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not list videos waiting for a transcode"),
    }
}

/// Copies a stored file to a local path in parts (a 2 GB video never sits in memory).
async fn fetch_local(state: &AppState, key: &str, dest: &std::path::Path) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let size = state.storage.size(key).await?;
    let mut file = tokio::fs::File::create(dest).await?;
    let step = 8 * 1024 * 1024u64;
    let mut at = 0;
    while at < size {
        let end = (at + step).min(size);
        let part = state.storage.get_range(key, at..end).await?;
        file.write_all(&part).await?;
        at = end;
    }
    file.flush().await?;
    Ok(())
}

/// The whole job for one video: wait for a slot, copy the original out of storage, make the
/// renditions, store them under `videos/<school>/<material>/hls/`, record the outcome.
async fn transcode(state: &AppState, school_id: Id, material_id: Id) -> anyhow::Result<()> {
    let db = &state.db;
    let m = db.material(school_id, material_id).await?;
    if !state.transcoder.available() {
        db.set_video_state(
            school_id,
            material_id,
            "original",
            0,
            Some(media::video::NO_FFMPEG),
            None,
        )
        .await?;
        return Ok(());
    }
    let Some(key) = m.file_key.clone() else {
        db.set_video_state(
            school_id,
            material_id,
            "failed",
            0,
            Some("không tìm thấy tệp video gốc"),
            None,
        )
        .await?;
        return Ok(());
    };
    let uploads = state.uploads.get().await?;
    let work = uploads.root().join("_work").join(material_id.to_string());
    let job = async {
        db.set_video_state(school_id, material_id, "processing", 0, None, None)
            .await?;
        let _ = tokio::fs::remove_dir_all(&work).await;
        tokio::fs::create_dir_all(&work).await?;
        let ext = key.rsplit_once('.').map_or("mp4", |(_, e)| e);
        let input = work.join(format!("original.{ext}"));
        fetch_local(state, &key, &input).await?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u8>();
        let writer = {
            let db = db.clone();
            tokio::spawn(async move {
                let mut last = 0u8;
                while let Some(p) = rx.recv().await {
                    // Every ~5 %: a long video must not write the database every second.
                    if p >= last.saturating_add(5) && p < 100 {
                        last = p;
                        let _ = db
                            .set_video_state(
                                school_id,
                                material_id,
                                "processing",
                                i64::from(p),
                                None,
                                None,
                            )
                            .await;
                    }
                }
            })
        };
        let progress: media::video::Progress = Arc::new(move |p| {
            let _ = tx.send(p);
        });
        let out = work.join("hls");
        let result = media::video::process(state.transcoder.as_ref(), &input, &out, progress).await;
        let _ = writer.await;
        let result = match result {
            Ok(hls) => {
                let prefix = format!("videos/{school_id}/{material_id}/hls");
                state.storage.put_dir(&prefix, &hls.dir).await?;
                Ok(hls.duration_s)
            }
            Err(e) => Err(e),
        };
        anyhow::Ok(result)
    };
    let outcome = state.transcodes.run(job).await;
    let _ = tokio::fs::remove_dir_all(&work).await;
    match outcome {
        Ok(Ok(duration)) => {
            db.set_video_state(
                school_id,
                material_id,
                "ready",
                100,
                None,
                Some(duration.round() as i64),
            )
            .await?;
        }
        Ok(Err(media::video::VideoError::Unavailable)) => {
            db.set_video_state(
                school_id,
                material_id,
                "original",
                0,
                Some(media::video::NO_FFMPEG),
                None,
            )
            .await?;
        }
        Ok(Err(e)) => {
            db.set_video_state(
                school_id,
                material_id,
                "failed",
                0,
                Some(&e.to_string()),
                None,
            )
            .await?;
        }
        Err(e) => {
            db.set_video_state(
                school_id,
                material_id,
                "failed",
                0,
                Some("lỗi máy chủ khi lưu các bản chất lượng"),
                None,
            )
            .await?;
            return Err(e);
        }
    }
    Ok(())
}

async fn status(
    State(state): State<AppState>,
    s: Session,
    Path((id, mid)): Path<(Id, Id)>,
) -> WebResult<Response> {
    let school = school_for(&state, &s, id, Action::AuthorMaterials).await?;
    let m = super::library::material_for(&state, &s, &school, mid).await?;
    if m.kind != MaterialKind::Video {
        return Err(WebError::NotFound);
    }
    let body = serde_json::json!({
        "status": m.video_status,
        "progress": m.video_progress,
        "error": m.video_error,
        "note": status_note(&m, s.lang),
    });
    Ok(([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response())
}

// ----- HLS serving -----

async fn course_hls(
    State(state): State<AppState>,
    s: Session,
    Path((id, mid, path)): Path<(Id, Id, String)>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let (course, _, access) = super::learning::course_for(&state, &s, id).await?;
    if !media::serve::is_hls_file(&path) {
        return Err(WebError::NotFound);
    }
    if !state.db.material_in_course(&course, mid).await? {
        return Err(WebError::NotFound);
    }
    let m = state.db.material(course.school_id, mid).await?;
    if m.kind != MaterialKind::Video || (access.learner_view() && m.approved_version.is_none()) {
        return Err(WebError::NotFound);
    }
    serve_hls(&state, &m, &path, &headers).await
}

async fn library_hls(
    State(state): State<AppState>,
    s: Session,
    Path((id, mid, path)): Path<(Id, Id, String)>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let school = school_for(&state, &s, id, Action::AuthorMaterials).await?;
    if !media::serve::is_hls_file(&path) {
        return Err(WebError::NotFound);
    }
    let m = super::library::material_for(&state, &s, &school, mid).await?;
    if m.kind != MaterialKind::Video {
        return Err(WebError::NotFound);
    }
    serve_hls(&state, &m, &path, &headers).await
}

/// Serves one file of a video's HLS output with its content type, caching, ETag and `Range`.
async fn serve_hls(
    state: &AppState,
    m: &Material,
    rel: &str,
    headers: &HeaderMap,
) -> WebResult<Response> {
    use media::serve::{ByteRange, cache_control, content_type, not_modified, parse_range};
    let key = format!("videos/{}/{}/hls/{rel}", m.school_id, m.id);
    let Ok(size) = state.storage.size(&key).await else {
        return Err(WebError::NotFound);
    };
    let playlist = rel.ends_with(".m3u8");
    // Playlists are small and change if a video is transcoded again: tag their content.
    // Segments and posters are written once per transcode: their key and size are enough.
    let whole = if playlist {
        Some(
            state
                .storage
                .get(&key)
                .await
                .map_err(|e| WebError::Internal(e.into()))?,
        )
    } else {
        None
    };
    let etag = match &whole {
        Some(b) => media::serve::etag_for_bytes(b),
        None => {
            use sha2::Digest;
            let h = sha2::Sha256::digest(format!("{key}:{size}:{}", m.updated_at).as_bytes());
            format!("\"{}\"", hex::encode(&h[..12]))
        }
    };
    // Lessons are for the school's readers only: never in a shared cache.
    let cache = match cache_control(rel) {
        "public, max-age=31536000, immutable" => "private, max-age=31536000, immutable",
        other => other,
    };
    let common = |mut r: Response| {
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            h.insert(header::ETAG, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(rel)),
        );
        r
    };
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if not_modified(inm, &etag) {
        return Ok(common(StatusCode::NOT_MODIFIED.into_response()));
    }
    let if_range = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok());
    let range = if media::serve::if_range_allows(if_range, &etag) {
        parse_range(
            headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
            size,
        )
    } else {
        ByteRange::Full
    };
    let storage_err = |e: media::StorageError| WebError::Internal(e.into());
    Ok(match range {
        ByteRange::Unsatisfiable => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            common(r)
        }
        ByteRange::Partial { start, end } => {
            let bytes = match &whole {
                Some(b) => b.slice(start as usize..end as usize + 1),
                None => state
                    .storage
                    .get_range(&key, start..end + 1)
                    .await
                    .map_err(storage_err)?,
            };
            common(
                (
                    StatusCode::PARTIAL_CONTENT,
                    [(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"))],
                    bytes,
                )
                    .into_response(),
            )
        }
        ByteRange::Full => {
            let bytes = match whole {
                Some(b) => b,
                None => state.storage.get(&key).await.map_err(storage_err)?,
            };
            common(bytes.into_response())
        }
    })
}

// ----- scripts -----

pub(crate) const PLAYER_JS: &str = include_str!("../../static/player.js");
pub(crate) const UPLOAD_JS: &str = include_str!("../../static/upload.js");
const HLS_JS: &str = include_str!("../../static/vendor/hls.light.min.mjs");

/// A script, revalidated by its ETag (pages link it with the app's asset version, which does
/// not cover these files).
fn script(
    body: &'static str,
    tag: &'static std::sync::OnceLock<String>,
    headers: &HeaderMap,
) -> Response {
    let etag = tag.get_or_init(|| media::serve::etag_for_bytes(body.as_bytes()));
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let status = if media::serve::not_modified(inm, etag) {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut r = if status == StatusCode::OK {
        body.into_response()
    } else {
        status.into_response()
    };
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    r
}

async fn player_js(headers: HeaderMap) -> Response {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    script(PLAYER_JS, &TAG, &headers)
}

async fn upload_js(headers: HeaderMap) -> Response {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    script(UPLOAD_JS, &TAG, &headers)
}

async fn hls_js(headers: HeaderMap) -> Response {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    script(HLS_JS, &TAG, &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tus_metadata_gives_the_file_name() {
        // "bài 1.mp4" in base64.
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode("bài 1.mp4");
        let h = format!("filetype dmlkZW8vbXA0,filename {b64}");
        assert_eq!(metadata_file_name(&h).as_deref(), Some("bài 1.mp4"));
        assert_eq!(metadata_file_name("filetype dmlkZW8vbXA0"), None);
        assert_eq!(metadata_file_name("filename !!!"), None);
    }

    #[test]
    fn video_forms_are_checked() {
        let form = |title: &str, grade: &str| VideoForm {
            title: title.into(),
            subject: "Toán".into(),
            grade: grade.into(),
            licence: "CC BY 4.0".into(),
            attribution: String::new(),
        };
        assert_eq!(form("Bài 1", "7").input().unwrap().grade, Some(7));
        assert!(form("  ", "").input().is_err());
        assert!(form("Bài 1", "13").input().is_err());
        assert_eq!(form("Bài 1", "").input().unwrap().grade, None);
    }
}
