//! What a file really is, known by its bytes, never by its name or the browser's word.
//!
//! [`sniff`] looks at bytes in memory (the first few KB are enough except for zip-based Office
//! files, whose central directory is at the end: pass the whole file, or use [`sniff_file`]).
//! [`check_extension`] compares the name's extension with the content and says, in Vietnamese,
//! what is wrong. Zip files are judged from their central directory only (nothing is
//! decompressed) and refused when they look like a zip bomb.

use std::io::{Read, Seek};
use std::path::Path;

/// The kinds lophoc accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// MPEG-4 video (`ftyp` box with an ISO brand): PowerPoint exports, Android phones.
    Mp4,
    /// QuickTime video (`ftyp` brand `qt  `): iPhones.
    Mov,
    /// WebM video (EBML, doc type `webm`).
    Webm,
    /// Matroska video (EBML, another doc type).
    Mkv,
    /// PDF document.
    Pdf,
    /// Word document (zip with `word/`).
    Docx,
    /// PowerPoint presentation (zip with `ppt/`).
    Pptx,
    /// Excel workbook (zip with `xl/`).
    Xlsx,
    /// Any other zip archive.
    Zip,
    /// JPEG image.
    Jpeg,
    /// PNG image.
    Png,
    /// WebP image.
    Webp,
    /// Plain UTF-8 text (a `.txt`, `.csv`, `.md`).
    Text,
}

impl Kind {
    /// The MIME type to serve it with.
    pub fn mime(self) -> &'static str {
        match self {
            Kind::Mp4 => "video/mp4",
            Kind::Mov => "video/quicktime",
            Kind::Webm => "video/webm",
            Kind::Mkv => "video/x-matroska",
            Kind::Pdf => "application/pdf",
            Kind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Kind::Pptx => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            Kind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Kind::Zip => "application/zip",
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Webp => "image/webp",
            Kind::Text => "text/plain; charset=utf-8",
        }
    }

    /// The usual extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Kind::Mp4 => "mp4",
            Kind::Mov => "mov",
            Kind::Webm => "webm",
            Kind::Mkv => "mkv",
            Kind::Pdf => "pdf",
            Kind::Docx => "docx",
            Kind::Pptx => "pptx",
            Kind::Xlsx => "xlsx",
            Kind::Zip => "zip",
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
            Kind::Webp => "webp",
            Kind::Text => "txt",
        }
    }

    /// What to call it in a Vietnamese sentence ("nội dung là ảnh PNG").
    pub fn label(self) -> &'static str {
        match self {
            Kind::Mp4 => "video MP4",
            Kind::Mov => "video MOV",
            Kind::Webm => "video WebM",
            Kind::Mkv => "video MKV",
            Kind::Pdf => "PDF",
            Kind::Docx => "tài liệu Word",
            Kind::Pptx => "bài trình chiếu PowerPoint",
            Kind::Xlsx => "bảng tính Excel",
            Kind::Zip => "tệp nén ZIP",
            Kind::Jpeg => "ảnh JPEG",
            Kind::Png => "ảnh PNG",
            Kind::Webp => "ảnh WebP",
            Kind::Text => "văn bản",
        }
    }

    /// Whether it is a video for the transcoding pipeline.
    pub fn is_video(self) -> bool {
        matches!(self, Kind::Mp4 | Kind::Mov | Kind::Webm | Kind::Mkv)
    }

    /// The kind an extension (without the dot, any case) promises.
    pub fn from_extension(ext: &str) -> Option<Kind> {
        Some(match ext.to_ascii_lowercase().as_str() {
            "mp4" | "m4v" => Kind::Mp4,
            "mov" => Kind::Mov,
            "webm" => Kind::Webm,
            "mkv" => Kind::Mkv,
            "pdf" => Kind::Pdf,
            "docx" => Kind::Docx,
            "pptx" => Kind::Pptx,
            "xlsx" => Kind::Xlsx,
            "zip" => Kind::Zip,
            "jpg" | "jpeg" => Kind::Jpeg,
            "png" => Kind::Png,
            "webp" => Kind::Webp,
            "txt" | "csv" | "md" => Kind::Text,
            _ => return None,
        })
    }

    /// Whether content of kind `self` may carry a name promising `promised`: MP4 and MOV are
    /// the same container family (phones mix them up), so are WebM and MKV.
    fn fits(self, promised: Kind) -> bool {
        self == promised
            || matches!(
                (self, promised),
                (Kind::Mp4 | Kind::Mov, Kind::Mp4 | Kind::Mov)
                    | (Kind::Webm | Kind::Mkv, Kind::Webm | Kind::Mkv)
            )
    }
}

/// How much a zip may claim before it is taken for a bomb.
#[derive(Clone, Copy, Debug)]
pub struct ZipLimits {
    /// Most entries.
    pub max_entries: usize,
    /// Most total uncompressed bytes, as declared by the central directory.
    pub max_total_uncompressed: u64,
    /// Highest uncompressed ÷ compressed ratio, per entry and overall (entries under 1 MB
    /// uncompressed are not judged alone: small XML files compress very well).
    pub max_ratio: u64,
}

impl Default for ZipLimits {
    /// 10 000 entries, 1 GB uncompressed, ratio 100.
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_total_uncompressed: 1024 * 1024 * 1024,
            max_ratio: 100,
        }
    }
}

/// What is wrong with a file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SniffError {
    /// A zip that claims too much: refused without unpacking.
    #[error("Tệp nén đáng ngờ (có thể là “bom zip”): {0}")]
    ZipBomb(String),
    /// A zip whose central directory cannot be read.
    #[error("Tệp nén bị hỏng: {0}")]
    BadZip(String),
    /// The file could not be read.
    #[error("Không đọc được tệp: {0}")]
    Io(String),
}

/// The name and the content disagree, or the content is not something lophoc takes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MismatchError {
    /// The extension promises one kind, the bytes are another.
    #[error("Tệp {name} không phải {promised} (nội dung là {actual})", promised = .promised.label(), actual = .actual.label())]
    Mismatch {
        /// The file name.
        name: String,
        /// What the extension promises.
        promised: Kind,
        /// What the bytes are.
        actual: Kind,
    },
    /// The extension promises a kind, the bytes are nothing known.
    #[error("Tệp {name} không phải {promised} (không nhận ra nội dung)", promised = .promised.label())]
    Unrecognised {
        /// The file name.
        name: String,
        /// What the extension promises.
        promised: Kind,
    },
    /// The extension is missing or not one lophoc takes.
    #[error(
        "Không nhận loại tệp {name}: chỉ nhận video MP4/MOV/WebM, PDF, Word, PowerPoint, Excel, ảnh và văn bản"
    )]
    UnknownExtension {
        /// The file name.
        name: String,
    },
    /// The zip is dangerous or broken.
    #[error("Tệp {name}: {source}")]
    Zip {
        /// The file name.
        name: String,
        /// What is wrong with it.
        source: SniffError,
    },
}

/// Recognises bytes with the default [`ZipLimits`]. `Ok(None)`: nothing lophoc knows.
pub fn sniff(bytes: &[u8]) -> Result<Option<Kind>, SniffError> {
    sniff_with(bytes, &ZipLimits::default())
}

/// Recognises bytes with given zip limits.
pub fn sniff_with(bytes: &[u8], limits: &ZipLimits) -> Result<Option<Kind>, SniffError> {
    if is_zip(bytes) {
        return zip_kind(std::io::Cursor::new(bytes), limits).map(Some);
    }
    Ok(sniff_head(bytes))
}

/// Recognises a file on disk: reads its first 4 KB, and for a zip its central directory only.
/// Blocking: call it from `tokio::task::spawn_blocking` in async code.
pub fn sniff_file(path: &Path, limits: &ZipLimits) -> Result<Option<Kind>, SniffError> {
    let io = |e: std::io::Error| SniffError::Io(e.to_string());
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = Vec::with_capacity(4096);
    (&mut file).take(4096).read_to_end(&mut head).map_err(io)?;
    if is_zip(&head) {
        file.rewind().map_err(io)?;
        return zip_kind(std::io::BufReader::new(file), limits).map(Some);
    }
    Ok(sniff_head(&head))
}

/// Checks that the content is what the name's extension promises. `bytes` is the whole file (or,
/// for anything but zip-based Office files, its first few KB).
pub fn check_extension(name: &str, bytes: &[u8]) -> Result<Kind, MismatchError> {
    let promised = promised_kind(name)?;
    let actual = sniff(bytes).map_err(|source| MismatchError::Zip {
        name: name.to_owned(),
        source,
    })?;
    judge(name, promised, actual)
}

/// [`check_extension`] for a file on disk (blocking, see [`sniff_file`]).
pub fn check_file_extension(name: &str, path: &Path) -> Result<Kind, MismatchError> {
    let promised = promised_kind(name)?;
    let actual = sniff_file(path, &ZipLimits::default()).map_err(|source| MismatchError::Zip {
        name: name.to_owned(),
        source,
    })?;
    judge(name, promised, actual)
}

fn promised_kind(name: &str) -> Result<Kind, MismatchError> {
    name.rsplit_once('.')
        .and_then(|(_, ext)| Kind::from_extension(ext))
        .ok_or_else(|| MismatchError::UnknownExtension {
            name: name.to_owned(),
        })
}

fn judge(name: &str, promised: Kind, actual: Option<Kind>) -> Result<Kind, MismatchError> {
    match actual {
        Some(actual) if actual.fits(promised) => Ok(actual),
        Some(actual) => Err(MismatchError::Mismatch {
            name: name.to_owned(),
            promised,
            actual,
        }),
        None => Err(MismatchError::Unrecognised {
            name: name.to_owned(),
            promised,
        }),
    }
}

fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// Everything but zip, from the first bytes.
fn sniff_head(bytes: &[u8]) -> Option<Kind> {
    if let Some((mime, _)) = crate::sniff_image(bytes) {
        return Some(match mime {
            "image/jpeg" => Kind::Jpeg,
            "image/png" => Kind::Png,
            _ => Kind::Webp,
        });
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return match &bytes[8..12] {
            b"qt  " => Some(Kind::Mov),
            // The same box starts iPhone photos (HEIC), AVIF images and M4A audio: not videos.
            b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"mif1" | b"msf1" | b"avif"
            | b"avis" | b"M4A " | b"M4B " | b"M4P " => None,
            _ => Some(Kind::Mp4),
        };
    }
    // Old QuickTime files start with other atoms.
    if bytes.len() >= 8 && matches!(&bytes[4..8], b"moov" | b"mdat" | b"wide" | b"free") {
        return Some(Kind::Mov);
    }
    if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        // The EBML header names its doc type within the first few dozen bytes.
        let head = &bytes[..bytes.len().min(64)];
        return Some(if head.windows(4).any(|w| w == b"webm") {
            Kind::Webm
        } else {
            Kind::Mkv
        });
    }
    if bytes.starts_with(b"%PDF-") {
        return Some(Kind::Pdf);
    }
    if is_text(bytes) {
        return Some(Kind::Text);
    }
    None
}

/// UTF-8 (a sequence cut at the end of the sample is fine) without NUL or other binary controls.
fn is_text(bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return false;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
}

/// Judges a zip from its central directory only.
fn zip_kind<R: Read + Seek>(reader: R, limits: &ZipLimits) -> Result<Kind, SniffError> {
    let archive = zip::ZipArchive::new(reader).map_err(|e| SniffError::BadZip(e.to_string()))?;
    if archive.len() > limits.max_entries {
        return Err(SniffError::ZipBomb(format!(
            "{} mục, tối đa {}",
            archive.len(),
            limits.max_entries
        )));
    }
    let (mut total, mut total_compressed) = (0u64, 0u64);
    let (mut content_types, mut word, mut ppt, mut xl) = (false, false, false, false);
    for i in 0..archive.len() {
        let entry = archive
            .by_index_data(i)
            .map_err(|e| SniffError::BadZip(e.to_string()))?;
        let (size, compressed) = (entry.size(), entry.compressed_size());
        total = total.saturating_add(size);
        total_compressed = total_compressed.saturating_add(compressed);
        if size > 1024 * 1024 && size / compressed.max(1) > limits.max_ratio {
            return Err(SniffError::ZipBomb(format!(
                "một mục nén {} lần",
                size / compressed.max(1)
            )));
        }
        let name = entry.name_raw();
        content_types |= name == b"[Content_Types].xml";
        word |= name.starts_with(b"word/");
        ppt |= name.starts_with(b"ppt/");
        xl |= name.starts_with(b"xl/");
    }
    if total > limits.max_total_uncompressed {
        return Err(SniffError::ZipBomb(format!(
            "giải nén ra {}, tối đa {}",
            crate::upload::human_size(total),
            crate::upload::human_size(limits.max_total_uncompressed)
        )));
    }
    if total > 1024 * 1024 && total / total_compressed.max(1) > limits.max_ratio {
        return Err(SniffError::ZipBomb(format!(
            "cả tệp nén {} lần",
            total / total_compressed.max(1)
        )));
    }
    Ok(match (content_types, word, ppt, xl) {
        (true, true, false, false) => Kind::Docx,
        (true, false, true, false) => Kind::Pptx,
        (true, false, false, true) => Kind::Xlsx,
        _ => Kind::Zip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    const CT: &str = "[Content_Types].xml";

    #[test]
    fn videos_documents_and_images_are_known_by_their_bytes() {
        assert_eq!(
            sniff(b"\0\0\0\x20ftypisom\0\0\x02\0").unwrap(),
            Some(Kind::Mp4)
        );
        assert_eq!(
            sniff(b"\0\0\0\x14ftypqt  \0\0\0\0").unwrap(),
            Some(Kind::Mov)
        );
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1").unwrap(), None);
        assert_eq!(sniff(b"\0\0\0\x18ftypM4A \0\0\0\0").unwrap(), None);
        let webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm\x42\x87";
        assert_eq!(sniff(webm).unwrap(), Some(Kind::Webm));
        let mkv = b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska";
        assert_eq!(sniff(mkv).unwrap(), Some(Kind::Mkv));
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3").unwrap(), Some(Kind::Pdf));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n....").unwrap(), Some(Kind::Png));
        assert_eq!(
            sniff("Họ tên,Điểm\nAn,9\n".as_bytes()).unwrap(),
            Some(Kind::Text)
        );
        // A Vietnamese letter cut in two at the end of a sample is still text.
        let cut = &"điểm".as_bytes()[..2];
        assert_eq!(sniff(cut).unwrap(), Some(Kind::Text));
        assert_eq!(sniff(b"MZ\x90\0\x03\0\0\0").unwrap(), None);
        assert_eq!(sniff(b"").unwrap(), None);
    }

    #[test]
    fn office_files_are_told_apart_by_their_entries() {
        let docx = zip_of(&[(CT, b"<Types/>"), ("word/document.xml", b"<w/>")]);
        let pptx = zip_of(&[(CT, b"<Types/>"), ("ppt/presentation.xml", b"<p/>")]);
        let xlsx = zip_of(&[(CT, b"<Types/>"), ("xl/workbook.xml", b"<x/>")]);
        let plain = zip_of(&[("word/document.xml", b"<w/>")]);
        assert_eq!(sniff(&docx).unwrap(), Some(Kind::Docx));
        assert_eq!(sniff(&pptx).unwrap(), Some(Kind::Pptx));
        assert_eq!(sniff(&xlsx).unwrap(), Some(Kind::Xlsx));
        assert_eq!(sniff(&plain).unwrap(), Some(Kind::Zip));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.pptx");
        std::fs::write(&path, &pptx).unwrap();
        assert_eq!(
            sniff_file(&path, &ZipLimits::default()).unwrap(),
            Some(Kind::Pptx)
        );
        assert_eq!(check_file_extension("Bài 3.pptx", &path), Ok(Kind::Pptx));
        assert!(sniff(b"PK\x03\x04garbage").is_err());
    }

    #[test]
    fn zip_bombs_are_refused_from_the_central_directory() {
        let zeros = vec![0u8; 4 * 1024 * 1024];
        let bomb = zip_of(&[(CT, b"<Types/>"), ("word/document.xml", &zeros)]);
        assert!(matches!(sniff(&bomb), Err(SniffError::ZipBomb(_))));
        let many: Vec<(String, &[u8])> = (0..50).map(|i| (format!("f{i}"), &b"x"[..])).collect();
        let many: Vec<(&str, &[u8])> = many.iter().map(|(n, d)| (n.as_str(), *d)).collect();
        let limits = ZipLimits {
            max_entries: 20,
            ..ZipLimits::default()
        };
        assert!(matches!(
            sniff_with(&zip_of(&many), &limits),
            Err(SniffError::ZipBomb(_))
        ));
        let big = ZipLimits {
            max_total_uncompressed: 1000,
            ..ZipLimits::default()
        };
        let noise: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        assert!(matches!(
            sniff_with(&zip_of(&[("a", &noise)]), &big),
            Err(SniffError::ZipBomb(_))
        ));
        let err = check_extension("de.docx", &bomb).unwrap_err();
        assert!(
            err.to_string().starts_with("Tệp de.docx: Tệp nén đáng ngờ"),
            "{err}"
        );
    }

    #[test]
    fn a_name_that_lies_is_told_in_vietnamese() {
        let err = check_extension("bai.pdf", b"\x89PNG\r\n\x1a\n....").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Tệp bai.pdf không phải PDF (nội dung là ảnh PNG)"
        );
        assert_eq!(check_extension("bai.PDF", b"%PDF-1.4"), Ok(Kind::Pdf));
        // iPhones' .mov inside an .mp4 name plays all the same.
        assert_eq!(
            check_extension("quay.mp4", b"\0\0\0\x14ftypqt  \0\0\0\0"),
            Ok(Kind::Mov)
        );
        assert!(matches!(
            check_extension("virus.exe", b"MZ"),
            Err(MismatchError::UnknownExtension { .. })
        ));
        assert!(matches!(
            check_extension("bai.mp4", b"MZ\x90\0"),
            Err(MismatchError::Unrecognised { .. })
        ));
        let xlsx = zip_of(&[(CT, b"<Types/>"), ("xl/workbook.xml", b"<x/>")]);
        assert_eq!(
            check_extension("diem.docx", &xlsx).unwrap_err().to_string(),
            "Tệp diem.docx không phải tài liệu Word (nội dung là bảng tính Excel)"
        );
    }
}
