//! Lesson videos: where their HLS renditions are served and what the page says while they are
//! being prepared.

use crate::i18n::Lang;
use db::learning::{Course, Material};

/// The master playlist of a ready video, within its course.
pub fn hls_url(course: &Course, m: &Material) -> String {
    format!("/courses/{}/materials/{}/hls/master.m3u8", course.id, m.id)
}

/// What to tell the reader about a video that is not (yet) streamed in renditions.
pub fn status_note(m: &Material, _lang: Lang) -> Option<String> {
    if m.kind != domain::learning::MaterialKind::Video {
        return None;
    }
    match m.video_status.as_deref() {
        Some("ready") => None,
        Some("queued") => Some("Video đang chờ xử lý; trong lúc chờ, video gốc vẫn xem được.".into()),
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
