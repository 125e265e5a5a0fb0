//! PDF output of lophoc: [typst](https://typst.app) embedded as a library.
//!
//! The callers write a typst document (the `exam` crate writes paper versions, the web crate
//! the Decision 4725 reports and the coverage dashboard) and [`render`] turns it into PDF bytes.
//! Nothing is read from the disk or the network at run time:
//!
//! - the fonts (Libertinus Serif for text, New Computer Modern Math for formulas, DejaVu Sans
//!   Mono) are compiled into the binary; Libertinus covers every Vietnamese letter with its
//!   diacritics (ạ ầ ẩ ẫ ậ ắ … ự ỹ đ);
//! - the document can only read the in-memory files it is given (images), so `read("/etc/passwd")`
//!   or `image("/…")` fail to compile instead of reaching the filesystem, and packages
//!   (`@preview/…`) are refused;
//! - user text goes through [`escape`] (markup) or [`string_literal`] (code), so a question
//!   containing `#sys`, `$`, `*`, `@label` or backslashes prints as typed;
//! - LaTeX formulas go through [`math`], which converts the school subset to typst math and
//!   prints the LaTeX source when it cannot ([`latex`]).

pub mod latex;

use std::collections::HashMap;
use std::sync::LazyLock;

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

pub use latex::{latex_to_typst, math};

/// Why a document could not be rendered.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PdfError {
    /// The typst source did not compile; the messages come from typst, with the line.
    #[error("Không tạo được tệp PDF: {0}")]
    Compile(String),
    /// A file name given to [`render`] is not a valid path.
    #[error("Tên tệp không hợp lệ trong tài liệu PDF: {0}")]
    BadFileName(String),
}

/// The fonts compiled into the binary, parsed once.
struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

static FONTS: LazyLock<Fonts> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    Fonts {
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
    }
});

static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| LazyHash::new(Library::default()));

/// The text font of every document (bundled, covers Vietnamese).
pub const TEXT_FONT: &str = "Libertinus Serif";

/// A world with one main source and a few in-memory files, nothing else.
struct MemWorld {
    main: Source,
    files: HashMap<FileId, Bytes>,
    today: Option<Datetime>,
}

fn project_file(path: &str) -> Result<FileId, PdfError> {
    let vpath = VirtualPath::new(path).map_err(|_| PdfError::BadFileName(path.to_owned()))?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

impl World for MemWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else if self.files.contains_key(&id) {
            // Images are not typst sources: `include` and `import` of them fail.
            Err(FileError::NotSource)
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.main.id() {
            return Ok(Bytes::from_string(self.main.clone()));
        }
        self.files.get(&id).cloned().ok_or(FileError::AccessDenied)
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        self.today
    }
}

/// Each compilation leaves memoized results behind; they are evicted after this many
/// compilations without use, so a long-running server does not grow.
const CACHE_MAX_AGE: usize = 10;

/// Compiles a typst document to pages (used by [`render`], and by tests that look at glyphs).
pub fn compile(main: &str, files: &[(String, Vec<u8>)]) -> Result<PagedDocument, PdfError> {
    let main_id = project_file("/main.typ")?;
    let mut map = HashMap::new();
    for (name, bytes) in files {
        let path = if name.starts_with('/') {
            name.clone()
        } else {
            format!("/{name}")
        };
        let id = project_file(&path)?;
        if id == main_id {
            return Err(PdfError::BadFileName(name.clone()));
        }
        map.insert(id, Bytes::new(bytes.clone()));
    }
    let world = MemWorld {
        main: Source::new(main_id, main.to_owned()),
        files: map,
        today: None,
    };
    let result = typst::compile::<PagedDocument>(&world).output;
    typst::comemo::evict(CACHE_MAX_AGE);
    result.map_err(|errors| PdfError::Compile(describe(&world, &errors[..])))
}

/// Typst's errors with the line they point at, for logs and tests.
fn describe(world: &MemWorld, errors: &[SourceDiagnostic]) -> String {
    errors
        .iter()
        .take(3)
        .map(|e| {
            let line = typst::WorldExt::range(world, e.span)
                .and_then(|r| world.main.lines().byte_to_line(r.start))
                .map(|l| format!(" (dòng {})", l + 1))
                .unwrap_or_default();
            format!("{}{line}", e.message)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Renders a typst document to PDF. `files` are the only files the document can read, by
/// name (`image("q1.png")`).
pub fn render(main: &str, files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, PdfError> {
    let doc = compile(main, files)?;
    let options = typst_pdf::PdfOptions::default();
    typst_pdf::pdf(&doc, &options).map_err(|errors| {
        PdfError::Compile(
            errors
                .iter()
                .take(3)
                .map(|e| e.message.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}

/// Escapes text for typst markup: every ASCII punctuation character gets a backslash, so
/// nothing the user typed can start code (`#`), math (`$`), emphasis, labels, references,
/// comments, headings, lists or links. Line breaks stay line breaks; other whitespace is kept.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        for c in line.chars() {
            match c {
                '\r' => {}
                // Tabs and other control characters print as a space.
                c if c.is_control() => out.push(' '),
                c if c.is_ascii_punctuation() => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
        if lines.peek().is_some() {
            // A forced line break: backslash then a newline.
            out.push_str("\\\n");
        }
    }
    out
}

/// A typst string literal (with its quotes) holding `text` exactly, for code positions such as
/// `image("…")` or `text(…)[…]` arguments.
pub fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
