//! Pure helpers for serving stored files over HTTP: `Range`, ETags and `If-None-Match`, content
//! types. No I/O and no HTTP crate, so the web layer maps them onto axum as it likes:
//!
//! ```
//! use media::serve::{parse_range, ByteRange};
//! match parse_range(Some("bytes=0-99"), 1000) {
//!     ByteRange::Full => { /* 200, whole body */ }
//!     ByteRange::Partial { start, end } => {
//!         assert_eq!((start, end), (0, 99)); // 206, Content-Range: bytes 0-99/1000
//!     }
//!     ByteRange::Unsatisfiable => { /* 416, Content-Range: bytes */ }
//! }
//! ```

use sha2::Digest;
use std::time::{SystemTime, UNIX_EPOCH};

/// What a `Range` header asks of a body of known length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// No range, an unparsable one, or several (served whole, as RFC 9110 allows): 200.
    Full,
    /// One satisfiable range, both ends inclusive: 206.
    Partial {
        /// First byte.
        start: u64,
        /// Last byte (inclusive).
        end: u64,
    },
    /// A range wholly past the end: 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

impl ByteRange {
    /// The `Content-Range` header value for a body of `len` bytes (`None` for [`ByteRange::Full`]).
    pub fn content_range(self, len: u64) -> Option<String> {
        match self {
            ByteRange::Full => None,
            ByteRange::Partial { start, end } => Some(format!("bytes {start}-{end}/{len}")),
            ByteRange::Unsatisfiable => Some(format!("bytes */{len}")),
        }
    }

    /// The range as `start..end` (end exclusive) for [`crate::Storage::get_range`]; `0..len` when
    /// full, `None` when unsatisfiable.
    pub fn to_range(self, len: u64) -> Option<std::ops::Range<u64>> {
        match self {
            ByteRange::Full => Some(0..len),
            ByteRange::Partial { start, end } => Some(start..end + 1),
            ByteRange::Unsatisfiable => None,
        }
    }

    /// How many bytes the response carries.
    pub fn body_len(self, len: u64) -> u64 {
        self.to_range(len).map_or(0, |r| r.end - r.start)
    }
}

/// Parses a `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`) against a body of `len` bytes.
pub fn parse_range(header: Option<&str>, len: u64) -> ByteRange {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return ByteRange::Full;
    };
    if spec.contains(',') {
        return ByteRange::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return ByteRange::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    match (a.is_empty(), b.is_empty()) {
        // bytes=-n: the last n bytes.
        (true, false) => match num(b) {
            None => ByteRange::Full,
            Some(0) => ByteRange::Unsatisfiable,
            Some(_) if len == 0 => ByteRange::Unsatisfiable,
            Some(n) => ByteRange::Partial {
                start: len.saturating_sub(n),
                end: len - 1,
            },
        },
        // bytes=a-
        (false, true) => match num(a) {
            None => ByteRange::Full,
            Some(start) if start >= len => ByteRange::Unsatisfiable,
            Some(start) => ByteRange::Partial {
                start,
                end: len - 1,
            },
        },
        // bytes=a-b
        (false, false) => match (num(a), num(b)) {
            (Some(start), Some(end)) if start <= end => {
                if start >= len {
                    ByteRange::Unsatisfiable
                } else {
                    ByteRange::Partial {
                        start,
                        end: end.min(len - 1),
                    }
                }
            }
            _ => ByteRange::Full,
        },
        (true, true) => ByteRange::Full,
    }
}

/// A strong ETag from a file's size and modification time (cheap: no read).
pub fn etag_for_meta(size: u64, modified: SystemTime) -> String {
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("\"{size:x}-{nanos:x}\"")
}

/// A strong ETag from the content itself (SHA-256, first 16 bytes): for files written once, like
/// HLS segments, whose ETag should not change when they are copied.
pub fn etag_for_bytes(bytes: &[u8]) -> String {
    let digest = sha2::Sha256::digest(bytes);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether an `If-None-Match` header matches `etag`, so the answer is 304 Not Modified. Uses the
/// weak comparison RFC 9110 prescribes for it (`W/` prefixes ignored), handles lists and `*`.
pub fn not_modified(if_none_match: Option<&str>, etag: &str) -> bool {
    let Some(header) = if_none_match else {
        return false;
    };
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let etag = bare(etag);
    header
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == etag)
}

/// Whether a `Range` may be honoured given the request's `If-Range` (RFC 9110 §13.1.5): yes
/// without the header or when it is exactly this strong ETag; otherwise (another ETag, a weak
/// one, a date) the whole, current body is sent.
pub fn if_range_allows(if_range: Option<&str>, etag: &str) -> bool {
    match if_range.map(str::trim) {
        None => true,
        Some(tag) => !tag.starts_with("W/") && tag == etag,
    }
}

/// Whether a path inside an HLS output (from a URL) is one lophoc writes: `master.m3u8`,
/// `poster.jpg`, `<rendition>/index.m3u8`, `<rendition>/seg_<digits>.ts`. Everything else,
/// `..` included, is a 404.
pub fn is_hls_file(rel: &str) -> bool {
    match rel.split('/').collect::<Vec<_>>().as_slice() {
        ["master.m3u8" | "poster.jpg"] => true,
        [rendition, file] => {
            let rendition_ok = rendition.len() <= 8
                && rendition
                    .strip_suffix('p')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            let file_ok = *file == "index.m3u8"
                || file
                    .strip_prefix("seg_")
                    .and_then(|f| f.strip_suffix(".ts"))
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            rendition_ok && file_ok
        }
        _ => false,
    }
}

/// The content type for a file name, by extension (the files served are lophoc's own output or
/// files already checked by [`crate::sniff`]).
pub fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "m3u8" => "application/vnd.apple.mpegurl",
        "ts" => "video/mp2t",
        "m4s" => "video/iso.segment",
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "vtt" => "text/vtt; charset=utf-8",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "zip" => "application/zip",
        "txt" | "md" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A `Cache-Control` value for a file name: HLS segments and posters never change once written
/// (cache a year), playlists and everything else are revalidated.
pub fn cache_control(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".ts") || lower.ends_with(".m4s") || lower.ends_with(".jpg") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn single_ranges_are_parsed_against_the_length() {
        let p = |h| parse_range(Some(h), 1000);
        assert_eq!(p("bytes=0-99"), ByteRange::Partial { start: 0, end: 99 });
        assert_eq!(
            p("bytes=900-"),
            ByteRange::Partial {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            p("bytes=-100"),
            ByteRange::Partial {
                start: 900,
                end: 999
            }
        );
        assert_eq!(p("bytes=-5000"), ByteRange::Partial { start: 0, end: 999 });
        assert_eq!(
            p("bytes=990-5000"),
            ByteRange::Partial {
                start: 990,
                end: 999
            }
        );
        assert_eq!(p("bytes=1000-"), ByteRange::Unsatisfiable);
        assert_eq!(p("bytes=1000-1001"), ByteRange::Unsatisfiable);
        assert_eq!(p("bytes=-0"), ByteRange::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), ByteRange::Unsatisfiable);
        assert_eq!(p("bytes=0-1,5-6"), ByteRange::Full);
        assert_eq!(p("bytes=5-1"), ByteRange::Full);
        assert_eq!(p("items=0-1"), ByteRange::Full);
        assert_eq!(p("bytes=a-b"), ByteRange::Full);
        assert_eq!(p("bytes=+1-2"), ByteRange::Full);
        assert_eq!(parse_range(None, 1000), ByteRange::Full);
        let r = p("bytes=10-19");
        assert_eq!(r.content_range(1000).unwrap(), "bytes 10-19/1000");
        assert_eq!(r.to_range(1000), Some(10..20));
        assert_eq!(r.body_len(1000), 10);
        assert_eq!(
            ByteRange::Unsatisfiable.content_range(1000).unwrap(),
            "bytes */1000"
        );
        assert_eq!(ByteRange::Full.to_range(7), Some(0..7));
    }

    #[test]
    fn etags_and_if_none_match() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let a = etag_for_meta(1234, t);
        assert!(a.starts_with('"') && a.ends_with('"'));
        assert_ne!(a, etag_for_meta(1235, t));
        assert_ne!(a, etag_for_meta(1234, t + Duration::from_millis(1)));
        assert_eq!(etag_for_bytes(b"x"), etag_for_bytes(b"x"));
        assert_ne!(etag_for_bytes(b"x"), etag_for_bytes(b"y"));
        assert!(not_modified(Some(&a), &a));
        assert!(not_modified(Some(&format!("\"zz\", W/{a}")), &a));
        assert!(not_modified(Some("*"), &a));
        assert!(!not_modified(Some("\"zz\""), &a));
        assert!(!not_modified(None, &a));
        assert!(if_range_allows(None, &a));
        assert!(if_range_allows(Some(&a), &a));
        assert!(!if_range_allows(Some(&format!("W/{a}")), &a));
        assert!(!if_range_allows(Some("Wed, 21 Oct 2015 07:28:00 GMT"), &a));
    }

    #[test]
    fn only_hls_files_lophoc_writes_are_served() {
        for ok in [
            "master.m3u8",
            "poster.jpg",
            "240p/index.m3u8",
            "720p/seg_012.ts",
        ] {
            assert!(is_hls_file(ok), "{ok}");
        }
        for bad in [
            "../x",
            "240p/../../etc/passwd",
            "240p/seg_.ts",
            "x/index.m3u8",
            "",
            "/master.m3u8",
            "240p/seg_1.ts/x",
        ] {
            assert!(!is_hls_file(bad), "{bad}");
        }
    }

    #[test]
    fn content_types_for_hls_and_documents() {
        assert_eq!(content_type("master.m3u8"), "application/vnd.apple.mpegurl");
        assert_eq!(content_type("240p/seg_001.ts"), "video/mp2t");
        assert_eq!(content_type("a.M4S"), "video/iso.segment");
        assert_eq!(content_type("goc.mp4"), "video/mp4");
        assert_eq!(content_type("poster.jpg"), "image/jpeg");
        assert_eq!(content_type("de.pdf"), "application/pdf");
        assert_eq!(content_type("noext"), "application/octet-stream");
        assert_eq!(
            cache_control("seg_001.ts"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_control("index.m3u8"), "no-cache");
    }
}
