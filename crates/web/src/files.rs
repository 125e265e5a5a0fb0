//! Stored files going in and out: names cleaned of paths and markup, kinds checked by their
//! bytes (never by the extension alone), and downloads with ranges, ETags and cache headers.

use crate::AppState;
use crate::error::{WebError, WebResult};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A file name safe to store and show: no folders, no control characters, no markup, at most
/// 120 characters; Vietnamese letters are kept.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '<' | '>' | '"' | '\'' | '`' | ':' | '*' | '?' | '|')
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.');
    let mut out: String = trimmed.chars().take(120).collect();
    if out.is_empty() {
        out = "tep".into();
    }
    out
}

/// The content type of an uploaded file, recognised by its bytes and agreeing with its
/// extension; a mismatch (a script renamed `.pdf`) is refused with a message naming the file.
pub fn check_kind(name: &str, bytes: &[u8]) -> WebResult<&'static str> {
    use media::sniff::Kind;
    let kind = media::sniff::check_extension(name, bytes)
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    match kind {
        Kind::Pdf | Kind::Docx | Kind::Pptx | Kind::Xlsx | Kind::Jpeg | Kind::Png | Kind::Webp => {
            Ok(kind.mime())
        }
        _ => Err(WebError::BadRequest(format!(
            "Tệp \"{name}\" ({}): ở đây chỉ nhận PDF, Word (.docx), PowerPoint (.pptx), Excel (.xlsx) và ảnh JPEG, PNG, WebP.",
            kind.label()
        ))),
    }
}

fn etag_for(key: &str) -> String {
    use sha2::Digest;
    // Keys are never reused for other content (each upload gets a new id), so the key names
    // the bytes: a strong validator without reading the file.
    format!(
        "\"{}\"",
        hex::encode(&sha2::Sha256::digest(key.as_bytes())[..12])
    )
}

fn disposition(ctype: &str, name: &str) -> String {
    let inline = ctype.starts_with("image/")
        || ctype.starts_with("video/")
        || ctype.starts_with("audio/")
        || ctype == "application/pdf";
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}",
        if inline { "inline" } else { "attachment" }
    )
}

/// Answers a stored file to a reader the caller has checked: `Range` requests get 206 with
/// the part asked for, `If-None-Match` with the same ETag gets 304, and the browser may keep
/// the file privately for a day (the key never changes content).
pub async fn serve(
    state: &AppState,
    key: &str,
    ctype: &str,
    name: &str,
    headers: &HeaderMap,
) -> WebResult<Response> {
    let etag = etag_for(key);
    let common = |mut r: Response| {
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            h.insert(header::ETAG, v);
        }
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=86400"),
        );
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        // Our own pages show a stored PDF in an <object>; nobody else may frame it. (Stored
        // files are only the kinds checked by their bytes, served with nosniff.)
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'self'"),
        );
        h.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
        r
    };
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| media::serve::not_modified(Some(v), &etag))
    {
        return Ok(common(StatusCode::NOT_MODIFIED.into_response()));
    }
    let size = match state.storage.size(key).await {
        Ok(n) => n,
        Err(_) => return Err(WebError::NotFound),
    };
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| media::serve::parse_range(Some(v), size));
    let disp = disposition(ctype, name);
    match range {
        Some(media::serve::ByteRange::Unsatisfiable) => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            Ok(common(r))
        }
        Some(media::serve::ByteRange::Partial { start, end }) => {
            let bytes = state
                .storage
                .get_range(key, start..end + 1)
                .await
                .map_err(|e| WebError::Internal(e.into()))?;
            let r = (
                StatusCode::PARTIAL_CONTENT,
                [
                    (header::CONTENT_TYPE, ctype.to_owned()),
                    (header::CONTENT_DISPOSITION, disp),
                    (header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}")),
                ],
                bytes,
            )
                .into_response();
            Ok(common(r))
        }
        Some(media::serve::ByteRange::Full) | None => {
            let bytes = state
                .storage
                .get(key)
                .await
                .map_err(|e| WebError::Internal(e.into()))?;
            let r = (
                [
                    (header::CONTENT_TYPE, ctype.to_owned()),
                    (header::CONTENT_DISPOSITION, disp),
                ],
                bytes,
            )
                .into_response();
            Ok(common(r))
        }
    }
}

/// An Excel file to download.
pub fn xlsx_download(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                disposition("application/xlsx", name),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_paths_and_markup() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\bài tập\\Bài 1.pdf"), "Bài 1.pdf");
        assert_eq!(clean_name("<script>a.pdf"), "scripta.pdf");
        assert_eq!(clean_name("..."), "tep");
        assert_eq!(clean_name("ảnh\u{0}chụp.jpg"), "ảnhchụp.jpg");
    }

    #[test]
    fn kinds_are_checked_by_bytes() {
        assert_eq!(
            check_kind("a.pdf", b"%PDF-1.7 ...").unwrap(),
            "application/pdf"
        );
        assert!(check_kind("a.pdf", b"<script>").is_err());
        assert!(check_kind("a.exe", b"MZ....").is_err());
        assert!(check_kind("anh.png", &[0xFF, 0xD8, 0xFF, 0xE0]).is_err());
        assert_eq!(
            check_kind("anh.JPG", &[0xFF, 0xD8, 0xFF, 0xE0]).unwrap(),
            "image/jpeg"
        );
    }

    #[test]
    fn downloads_name_files_in_both_forms() {
        let d = disposition("application/pdf", "Bài 1.pdf");
        assert!(d.starts_with("inline;"), "{d}");
        assert!(d.contains("filename*=UTF-8''B%C3%A0i%201.pdf"), "{d}");
        assert!(disposition("application/zip", "x.docx").starts_with("attachment;"));
    }
}
