//! The subject gradebook (sổ điểm) of one class, one subject and one term, in Excel: export
//! ([`export_gradebook`]) and import ([`import_gradebook`]).
//!
//! The layout is the one Vietnamese schools print under Thông tư 22/2021: title rows, then
//! `STT | Mã học sinh | Họ và tên | ĐĐGtx1 … ĐĐGtxN | ĐĐGgk | ĐĐGck | ĐTBmhk`. Comment-graded
//! subjects carry `Đ` / `CĐ` in the same columns and a term result instead of the average.
//!
//! Primary subjects (Thông tư 27/2020) have one line per pupil with the term's periodic
//! assessments: `STT | Mã học sinh | Họ và tên | Mức GK | Điểm KT GK | Mức CK | Điểm KT CK`,
//! levels written `T` / `H` / `C` (Hoàn thành tốt, Hoàn thành, Chưa hoàn thành) and test scores
//! as whole numbers 0–10. A subject without a periodic test has no score column, and only
//! Tiếng Việt and Toán of grades 4–5 have the mid-term one ([`SheetScheme::Primary`]).
//!
//! Import reads files from lophoc and from other software (headers such as `TX1`, `TX 1`,
//! `Giữa kỳ`, `Cuối kì`, matched without accents), checks every cell against the grade rules
//! of [`domain::grades`] and every row against the class list, and collects every error with its
//! row, column and a Vietnamese reason. It never stops at the first error, and rows with an error
//! are left out of [`GradebookImport::rows`]; lophoc writes nothing while
//! [`GradebookImport::errors`] is non-empty. The average column is ignored: lophoc recomputes it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::Cursor;

use calamine::{
    Data, Dimensions, Range, Reader, SheetType, SheetVisible, open_workbook_auto_from_rs,
};
use domain::grades::{AssessmentKind, PrimaryLevel, PrimaryScore, Rating, Score, Term};
use domain::text::{fold, normalize_spaces};
use rust_xlsxwriter::{
    Color, DataValidation, DataValidationRule, Format, FormatAlign, FormatBorder, Workbook,
    Worksheet, XlsxError,
};
use serde::{Deserialize, Serialize};

pub use crate::roster::{FileError, MAX_FILE_BYTES, RowError};

/// How many rows from the top of a sheet may hold titles before the header row.
const HEADER_SEARCH_ROWS: u32 = 20;

/// Rows above the header in an exported file: school, title, class/subject/term/year, blank.
const TITLE_ROWS: u32 = 4;

/// Column names shared by export, import and error messages.
const COL_STT: &str = "STT";
const COL_CODE: &str = "Mã học sinh";
const COL_NAME: &str = "Họ và tên";
const COL_AVERAGE: &str = "ĐTBmhk";
const COL_RESULT: &str = "Kết quả HK";
/// The legend of a primary gradebook, above its header.
const PRIMARY_LEGEND: &str = "Mức: T – Hoàn thành tốt, H – Hoàn thành, C – Chưa hoàn thành. \
                              Điểm KT: bài kiểm tra định kỳ, số nguyên từ 0 đến 10.";

/// A grade column of the gradebook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum GradeColumn {
    /// The n-th regular assessment (ĐĐGtx n), 1-based.
    Regular(u8),
    /// The mid-term assessment (ĐĐGgk).
    MidTerm,
    /// The end-term assessment (ĐĐGck).
    EndTerm,
    /// Circular 27: the level reached at mid-term (Mức GK: T, H or C).
    LevelMid,
    /// Circular 27: the mid-term periodic test score (Điểm KT GK).
    TestMid,
    /// Circular 27: the level reached at the end of term (Mức CK).
    LevelEnd,
    /// Circular 27: the end-of-term periodic test score (Điểm KT CK).
    TestEnd,
}

/// How the cells of a gradebook are graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SheetScheme {
    /// Circular 22, a subject graded by scores.
    Scored,
    /// Circular 22, a subject graded Đ / CĐ (see [`domain::grades::is_comment_graded`]).
    Comment,
    /// Circular 27 (primary): a level at mid-term and at the end of term, and the periodic test
    /// scores the subject has ([`domain::grades::primary_has_midterm_test`],
    /// [`domain::grades::primary_has_test`]).
    Primary {
        /// Whether the subject has a mid-term test (Tiếng Việt and Toán in grades 4–5).
        mid_test: bool,
        /// Whether the subject has an end-of-term test.
        end_test: bool,
    },
}

impl SheetScheme {
    /// Whether this is a Circular 27 (primary) gradebook.
    pub fn is_primary(self) -> bool {
        matches!(self, Self::Primary { .. })
    }
}

impl GradeColumn {
    /// The usual columns of a subject: `ĐĐGtx1 … ĐĐGtx{regular}`, `ĐĐGgk`, `ĐĐGck`.
    pub fn standard(regular: usize) -> Vec<Self> {
        (1..=regular.min(u8::MAX as usize) as u8)
            .map(Self::Regular)
            .chain([Self::MidTerm, Self::EndTerm])
            .collect()
    }

    /// The columns of a primary subject in a term: `Mức GK`, `Điểm KT GK` (when the subject
    /// has a mid-term test), `Mức CK`, `Điểm KT CK` (when it has an end-of-term test).
    pub fn primary(mid_test: bool, end_test: bool) -> Vec<Self> {
        [
            Some(Self::LevelMid),
            mid_test.then_some(Self::TestMid),
            Some(Self::LevelEnd),
            end_test.then_some(Self::TestEnd),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The canonical header: `ĐĐGtx1`, `ĐĐGgk`, `ĐĐGck`, `Mức GK`, `Điểm KT CK`.
    pub fn header(self) -> String {
        match self {
            Self::Regular(n) => format!("ĐĐGtx{n}"),
            Self::MidTerm => "ĐĐGgk".into(),
            Self::EndTerm => "ĐĐGck".into(),
            Self::LevelMid => "Mức GK".into(),
            Self::TestMid => "Điểm KT GK".into(),
            Self::LevelEnd => "Mức CK".into(),
            Self::TestEnd => "Điểm KT CK".into(),
        }
    }

    /// The Circular 22 assessment kind of the column; `None` for a primary column.
    pub fn kind(self) -> Option<AssessmentKind> {
        match self {
            Self::Regular(_) => Some(AssessmentKind::Regular),
            Self::MidTerm => Some(AssessmentKind::MidTerm),
            Self::EndTerm => Some(AssessmentKind::EndTerm),
            Self::LevelMid | Self::TestMid | Self::LevelEnd | Self::TestEnd => None,
        }
    }

    /// Whether the column holds a primary test score (a whole number 0–10).
    fn is_primary_test(self) -> bool {
        matches!(self, Self::TestMid | Self::TestEnd)
    }

    /// Whether the column holds a primary level (T, H or C).
    fn is_primary_level(self) -> bool {
        matches!(self, Self::LevelMid | Self::LevelEnd)
    }
}

/// The title block of a gradebook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradebookHeader {
    /// School name ("Trường THCS Lê Quý Đôn").
    pub school: String,
    /// Class name ("6A1").
    pub class_name: String,
    /// Subject name ("Toán").
    pub subject: String,
    /// Term.
    pub term: Term,
    /// School year ("2024-2025").
    pub school_year: String,
}

/// One student's line of an exported gradebook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradebookRow {
    /// Student code (mã học sinh).
    pub code: String,
    /// Full name.
    pub full_name: String,
    /// One cell per column of [`GradebookSheet::columns`]: a score as text (`7,5` or `7.5`),
    /// a rating (`Đ`, `CĐ`), a primary level (`T`, `H`, `C`) or test score (`9`), or `None`
    /// when not entered yet.
    pub cells: Vec<Option<String>>,
    /// The computed term average (or, for a comment-graded subject, the term result), when it
    /// can be computed. Not written for a primary subject, whose end-of-term level is the result.
    pub average: Option<String>,
}

/// Everything an exported gradebook shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradebookSheet {
    /// Title block.
    pub header: GradebookHeader,
    /// How the subject is graded.
    pub scheme: SheetScheme,
    /// Grade columns in order: [`GradeColumn::standard`] or [`GradeColumn::primary`].
    pub columns: Vec<GradeColumn>,
    /// Students in class-list order.
    pub rows: Vec<GradebookRow>,
}

/// A student of the class, as the importer matches rows against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassStudent {
    /// Student code (mã học sinh).
    pub code: String,
    /// Full name.
    pub full_name: String,
}

/// What an imported file is checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSpec {
    /// How the subject is graded: scores, Đ / CĐ ratings, or primary levels and test scores.
    /// For a primary subject, a value in a test column the subject does not have is an error.
    pub scheme: SheetScheme,
    /// The class list; a row naming anyone else is an error.
    pub students: Vec<ClassStudent>,
}

/// A value read from a grade cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GradeValue {
    /// A score of a scored subject.
    Score(Score),
    /// A rating of a comment-graded subject.
    Rating(Rating),
    /// A level of a primary subject (T, H, C).
    Level(PrimaryLevel),
    /// A periodic test score of a primary subject.
    Test(PrimaryScore),
}

impl std::fmt::Display for GradeValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Score(s) => write!(f, "{s}"),
            Self::Rating(r) => write!(f, "{r}"),
            Self::Level(l) => write!(f, "{l}"),
            Self::Test(t) => write!(f, "{t}"),
        }
    }
}

/// One valid student line of an imported gradebook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedRow {
    /// 1-based Excel row number.
    pub row: usize,
    /// Code of the class student the row was matched to (from [`ImportSpec::students`]).
    pub code: String,
    /// One value per column of [`GradebookImport::columns`]; `None` for an empty cell. Whether
    /// an empty cell clears a stored score or leaves it is the caller's decision.
    pub cells: Vec<Option<GradeValue>>,
}

/// The result of reading a gradebook file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradebookImport {
    /// Name of the sheet that was read.
    pub sheet: String,
    /// 1-based row number of the header row.
    pub header_row: usize,
    /// Grade columns found, in file order, with the header as written in the file.
    pub columns: Vec<(GradeColumn, String)>,
    /// Rows without any error, in file order.
    pub rows: Vec<ImportedRow>,
    /// Every error found, in file order. Rows with an error are not in `rows`.
    pub errors: Vec<RowError>,
}

impl GradebookImport {
    /// Every error as one Vietnamese line: "Dòng 7, cột ĐĐGtx2: điểm 11 ngoài thang 0–10".
    pub fn error_lines(&self) -> Vec<String> {
        self.errors.iter().map(error_line).collect()
    }
}

/// One error as a line of text.
pub fn error_line(e: &RowError) -> String {
    let mut chars = e.message.chars();
    let message = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    if e.column.is_empty() {
        format!("Dòng {}: {message}", e.row)
    } else {
        format!("Dòng {}, cột {}: {message}", e.row, e.column)
    }
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

/// Writes a gradebook as an xlsx file that [`import_gradebook`] reads back to the same values.
///
/// Scores are written as numbers (so teachers can sort and compute in Excel), ratings, levels
/// and any cell that is not a score as text. A primary gradebook also gets a legend of the
/// levels and drop-down checks in Excel (T/H/C in level columns, whole numbers 0–10 in test
/// columns), so a mistyped cell is caught while typing.
///
/// # Errors
///
/// Whatever the xlsx writer reports (in practice only values beyond Excel's limits).
pub fn export_gradebook(sheet: &GradebookSheet) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let ws = workbook.add_worksheet();
    let h = &sheet.header;
    let name: String = format!("{} {}", h.class_name, h.subject)
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
        .take(31)
        .collect();
    ws.set_name(if name.trim().is_empty() {
        "Sổ điểm"
    } else {
        name.trim()
    })?;

    let primary = sheet.scheme.is_primary();
    let comment_graded = sheet.scheme == SheetScheme::Comment;
    let mut headers: Vec<String> = vec![COL_STT.into(), COL_CODE.into(), COL_NAME.into()];
    headers.extend(sheet.columns.iter().map(|c| c.header()));
    if !primary {
        headers.push(
            if comment_graded {
                COL_RESULT
            } else {
                COL_AVERAGE
            }
            .into(),
        );
    }
    let last_col = (headers.len() - 1) as u16;

    let title = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_align(FormatAlign::Center);
    let bold = Format::new().set_bold();
    let subtitle = Format::new().set_italic().set_align(FormatAlign::Center);
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin)
        .set_background_color(Color::RGB(0xDDEBF7));
    let text = Format::new()
        .set_num_format("@")
        .set_border(FormatBorder::Thin);
    let grade = Format::new()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center);
    let average = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center);

    ws.write_string_with_format(0, 0, &h.school, &bold)?;
    let heading = if primary {
        format!("KẾT QUẢ ĐÁNH GIÁ MÔN {}", h.subject.to_uppercase())
    } else {
        format!("SỔ ĐIỂM MÔN {}", h.subject.to_uppercase())
    };
    ws.merge_range(1, 0, 1, last_col, &heading, &title)?;
    let year = if fold(&h.school_year).starts_with("nam hoc") {
        h.school_year.clone()
    } else {
        format!("Năm học {}", h.school_year)
    };
    let line = format!(
        "Lớp: {} – Môn: {} – {} – {year}",
        h.class_name,
        h.subject,
        h.term.label()
    );
    ws.merge_range(2, 0, 2, last_col, &line, &subtitle)?;
    if primary {
        ws.merge_range(3, 0, 3, last_col, PRIMARY_LEGEND, &subtitle)?;
        ws.set_row_height(3, 30)?;
    }

    let header_row = TITLE_ROWS;
    for (c, name) in headers.iter().enumerate() {
        ws.write_string_with_format(header_row, c as u16, name, &header)?;
    }
    ws.set_row_height(header_row, 30)?;
    ws.set_column_width(0, 5)?;
    ws.set_column_width(1, 14)?;
    let longest = sheet
        .rows
        .iter()
        .map(|r| r.full_name.chars().count())
        .max()
        .unwrap_or(0);
    ws.set_column_width(2, (longest.max(12) + 2) as f64)?;
    for c in 3..=last_col {
        ws.set_column_width(c, 9)?;
    }

    for (i, student) in sheet.rows.iter().enumerate() {
        let r = header_row + 1 + i as u32;
        ws.write_number_with_format(r, 0, (i + 1) as f64, &grade)?;
        ws.write_string_with_format(r, 1, &student.code, &text)?;
        ws.write_string_with_format(r, 2, &student.full_name, &text)?;
        for (j, _) in sheet.columns.iter().enumerate() {
            let value = student.cells.get(j).and_then(Option::as_deref);
            write_value(ws, r, 3 + j as u16, value, comment_graded, &grade)?;
        }
        if !primary {
            write_value(
                ws,
                r,
                last_col,
                student.average.as_deref(),
                comment_graded,
                &average,
            )?;
        }
    }
    if primary && !sheet.rows.is_empty() {
        let (first, last) = (header_row + 1, header_row + sheet.rows.len() as u32);
        let levels = DataValidation::new()
            .allow_list_strings(&["T", "H", "C"])?
            .set_error_title("Mức đánh giá")?
            .set_error_message(
                "Ghi T (Hoàn thành tốt), H (Hoàn thành) hoặc C (Chưa hoàn thành).",
            )?;
        let tests = DataValidation::new()
            .allow_whole_number(DataValidationRule::Between(0, 10))
            .set_error_title("Điểm kiểm tra định kỳ")?
            .set_error_message("Điểm là số nguyên từ 0 đến 10, không có điểm thập phân.")?;
        for (j, c) in sheet.columns.iter().enumerate() {
            let col = 3 + j as u16;
            if c.is_primary_level() {
                ws.add_data_validation(first, col, last, col, &levels)?;
            } else if c.is_primary_test() {
                ws.add_data_validation(first, col, last, col, &tests)?;
            }
        }
    }
    ws.set_freeze_panes(header_row + 1, 3)?;
    workbook.save_to_buffer()
}

/// Writes a grade or average cell: a score as a number, anything else as text.
fn write_value(
    ws: &mut Worksheet,
    r: u32,
    c: u16,
    value: Option<&str>,
    comment_graded: bool,
    format: &Format,
) -> Result<(), XlsxError> {
    match value.map(str::trim) {
        None | Some("") => ws.write_blank(r, c, format)?,
        Some(v) => match Score::parse(v) {
            Ok(score) if !comment_graded => {
                ws.write_number_with_format(r, c, score.to_f64(), format)?
            }
            _ => ws.write_string_with_format(r, c, v, format)?,
        },
    };
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Import: headers
// ---------------------------------------------------------------------------------------------

/// What a header cell names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Col {
    Stt,
    Code,
    Name,
    Grade(GradeColumn),
    Average,
}

/// Compact keys (folded, no spaces or punctuation) of the headers each column accepts.
const CODE_KEYS: &[&str] = &[
    "mahocsinh",
    "mahs",
    "masohocsinh",
    "madinhdanhhocsinh",
    "madinhdanh",
    "madinhdanhbogd",
    "madinhdanhbogddt",
    "macsdl",
];
const NAME_KEYS: &[&str] = &[
    "hovaten",
    "hoten",
    "hovatenhocsinh",
    "hotenhocsinh",
    "tenhocsinh",
];
const STT_KEYS: &[&str] = &["stt", "sothutu", "tt"];
/// A regular-assessment header is one of these followed by its number ("ĐĐGtx1", "TX 1").
const REGULAR_PREFIXES: &[&str] = &[
    "ddgtx",
    "dgtx",
    "diemtx",
    "ddtx",
    "kttx",
    "tx",
    "diemdanhgiathuongxuyen",
    "danhgiathuongxuyen",
    "diemthuongxuyen",
    "kiemtrathuongxuyen",
    "thuongxuyen",
];
/// Mid-term / end-term headers without their "giữa" / "cuối" part, which [`grade_column`] adds.
const PERIODIC_KEYS: &[(&str, &str)] = &[
    ("ddggk", "ddgck"),
    ("dggk", "dgck"),
    ("ddgk", "ddck"),
    ("gk", "ck"),
    ("ktgk", "ktck"),
    ("diemgk", "diemck"),
];
const PERIODIC_WORDS: &[&str] = &[
    "",
    "diem",
    "ddg",
    "danhgia",
    "diemdanhgia",
    "kiemtra",
    "diemkiemtra",
    "baikiemtra",
];
const AVERAGE_KEYS: &[&str] = &[
    "dtbmhk",
    "dtbhk",
    "dtbm",
    "dtb",
    "tbm",
    "tbmhk",
    "tbhk",
    "diemtrungbinh",
    "diemtb",
    "trungbinh",
    "trungbinhmon",
    "dtbmcn",
    "ketqua",
    "ketquahk",
    "ketquahocky",
    "ketquahocki",
    "kqhk",
    "mucdanhgia",
    "xeploai",
];

/// A header reduced for comparison: folded, text in parentheses dropped, then only letters
/// and digits kept ("ĐĐGtx 1 (hệ số 1)" → "ddgtx1", "Giữa kỳ:" → "giuaky").
fn header_key(raw: &str) -> String {
    let mut without_parens = String::with_capacity(raw.len());
    let mut depth = 0usize;
    for c in raw.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => without_parens.push(c),
            _ => {}
        }
    }
    fold(&without_parens)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// The grade column a compact header key names.
fn grade_column(key: &str) -> Option<GradeColumn> {
    for prefix in REGULAR_PREFIXES {
        if let Some(n) = key.strip_prefix(prefix)
            && !n.is_empty()
            && n.len() <= 2
            && n.chars().all(|c| c.is_ascii_digit())
            && let Ok(n @ 1..=20) = n.parse::<u8>()
        {
            return Some(GradeColumn::Regular(n));
        }
    }
    for (gk, ck) in PERIODIC_KEYS {
        if key == *gk {
            return Some(GradeColumn::MidTerm);
        }
        if key == *ck {
            return Some(GradeColumn::EndTerm);
        }
    }
    for word in PERIODIC_WORDS {
        let Some(rest) = key.strip_prefix(word) else {
            continue;
        };
        for term in ["ky", "ki", "hocky", "hocki", "hk"] {
            if rest == format!("giua{term}") {
                return Some(GradeColumn::MidTerm);
            }
            if rest == format!("cuoi{term}") {
                return Some(GradeColumn::EndTerm);
            }
        }
    }
    None
}

/// Primary level headers without their period ("Mức GK" → "muc" + "gk", "MĐĐ CK").
const PRIMARY_LEVEL_WORDS: &[&str] = &["muc", "m", "mucdat", "mucdatduoc", "mdd", "mucdanhgia"];
/// Primary test score headers without their period ("Điểm KT CK", "KTĐK cuối năm").
const PRIMARY_TEST_WORDS: &[&str] = &[
    "diemkt",
    "kt",
    "ktdk",
    "diemktdk",
    "diemkiemtra",
    "kiemtra",
    "kiemtradinhky",
    "diemkiemtradinhky",
    "baikiemtra",
    "diembaikiemtra",
    "diem",
];
/// Mid-term and end-of-term period names ("GK", "giữa học kỳ", "GHK"; "CK", "cuối năm").
const PRIMARY_MID: &[&str] = &["gk", "giuaky", "giuaki", "giuahocky", "giuahocki", "ghk"];
const PRIMARY_END: &[&str] = &[
    "ck",
    "cuoiky",
    "cuoiki",
    "cuoihocky",
    "cuoihocki",
    "chk",
    "cuoinam",
];

/// The primary column a compact header key names: a level or test word, a period and
/// optionally the term ("Mức GK", "Điểm KT cuối học kỳ I", "KTĐK CHK2").
fn primary_column(key: &str) -> Option<GradeColumn> {
    let period_of = |rest: &str| {
        let at = |periods: &[&str]| {
            periods.iter().any(|p| {
                rest.strip_prefix(p)
                    .is_some_and(|term| ["", "i", "ii", "1", "2"].contains(&term))
            })
        };
        if at(PRIMARY_MID) {
            Some(true)
        } else if at(PRIMARY_END) {
            Some(false)
        } else {
            None
        }
    };
    let find = |words: &[&str]| {
        words
            .iter()
            .filter_map(|w| key.strip_prefix(w))
            .find_map(period_of)
    };
    if let Some(mid) = find(PRIMARY_LEVEL_WORDS) {
        return Some(if mid {
            GradeColumn::LevelMid
        } else {
            GradeColumn::LevelEnd
        });
    }
    find(PRIMARY_TEST_WORDS).map(|mid| {
        if mid {
            GradeColumn::TestMid
        } else {
            GradeColumn::TestEnd
        }
    })
}

/// What a header cell names; `parent` is the header above it, for two-row headers where
/// "ĐĐGtx" is merged over "1 | 2 | 3", or (primary) "Giữa học kỳ I" over "Mức | Điểm KT".
fn column_of(own: &str, parent: &str, primary: bool) -> Option<Col> {
    let key = header_key(own);
    if key.is_empty() {
        return None;
    }
    if CODE_KEYS.contains(&key.as_str()) {
        return Some(Col::Code);
    }
    if NAME_KEYS.contains(&key.as_str()) {
        return Some(Col::Name);
    }
    if STT_KEYS.contains(&key.as_str()) {
        return Some(Col::Stt);
    }
    if primary {
        return primary_column(&key)
            .or_else(|| primary_column(&format!("{key}{}", header_key(parent))))
            .map(Col::Grade)
            .or_else(|| AVERAGE_KEYS.contains(&key.as_str()).then_some(Col::Average));
    }
    if AVERAGE_KEYS.contains(&key.as_str()) {
        return Some(Col::Average);
    }
    if let Some(g) = grade_column(&key) {
        return Some(Col::Grade(g));
    }
    // Only a bare group header ("ĐĐGtx", "Điểm đánh giá thường xuyên") numbers the cells
    // under it; a digit under a full header ("ĐĐGtx1") is a score, not a header.
    let parent = header_key(parent);
    if key.chars().all(|c| c.is_ascii_digit()) && REGULAR_PREFIXES.contains(&parent.as_str()) {
        return grade_column(&format!("{parent}{key}")).map(Col::Grade);
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Import: sheet access
// ---------------------------------------------------------------------------------------------

/// A sheet with its merged regions (xlsx and xls expose them; other formats give none).
struct Grid<'a> {
    range: &'a Range<Data>,
    merges: &'a [Dimensions],
}

impl Grid<'_> {
    fn cell(&self, row: u32, col: u32) -> &Data {
        self.range.get_value((row, col)).unwrap_or(&Data::Empty)
    }

    /// The value shown at (row, col): a cell inside a merged region shows its top-left value.
    fn shown(&self, row: u32, col: u32) -> &Data {
        match self
            .merges
            .iter()
            .find(|d| d.start.0 <= row && row <= d.end.0 && d.start.1 <= col && col <= d.end.1)
        {
            Some(d) => self.cell(d.start.0, d.start.1),
            None => self.cell(row, col),
        }
    }
}

/// A number as Excel shows it in a General cell: whole numbers without ".0".
fn number_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The text of a cell, trimmed; a formula error is an error.
fn cell_text(d: &Data) -> Result<String, String> {
    Ok(match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_string(),
        Data::Float(f) => number_text(*f),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) => number_text(dt.as_f64()),
        Data::Error(e) => return Err(format!("Ô có lỗi công thức ({e})")),
    })
}

/// Where each recognized column sits in one candidate header row.
struct Layout {
    /// Absolute (0-based) row of the header.
    row: u32,
    code: Option<u32>,
    name: Option<u32>,
    /// Grade columns in file order: (column, absolute index, header as written).
    grades: Vec<(GradeColumn, u32, String)>,
    /// Grade columns named twice: (header as written).
    repeated: Vec<String>,
    /// Whether the headers were read as a primary (Circular 27) gradebook.
    primary: bool,
}

impl Layout {
    fn score(&self) -> usize {
        self.grades.len() + usize::from(self.code.is_some()) + usize::from(self.name.is_some())
    }

    fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if self.code.is_none() && self.name.is_none() {
            missing.push(format!("{COL_CODE} (hoặc {COL_NAME})"));
        }
        if self.grades.is_empty() {
            missing.push(if self.primary {
                "Mức GK, Mức CK (và Điểm KT GK, Điểm KT CK nếu môn có bài kiểm tra)".to_string()
            } else {
                "ĐĐGtx1…, ĐĐGgk, ĐĐGck".to_string()
            });
        }
        missing
    }
}

fn layout_of(grid: &Grid<'_>, row: u32, first_col: u32, last_col: u32, primary: bool) -> Layout {
    let mut layout = Layout {
        row,
        code: None,
        name: None,
        grades: Vec::new(),
        repeated: Vec::new(),
        primary,
    };
    for c in first_col..=last_col {
        let own = cell_text(grid.cell(row, c)).unwrap_or_default();
        let parent = if row > 0 {
            cell_text(grid.shown(row - 1, c)).unwrap_or_default()
        } else {
            String::new()
        };
        let own_key = header_key(&own);
        let shown_header = if own_key.chars().all(|ch| ch.is_ascii_digit()) {
            format!("{} {}", normalize_spaces(&parent), normalize_spaces(&own))
        } else if primary && primary_column(&own_key).is_none() {
            // Named with the group above it ("Giữa học kỳ I" over "Mức").
            format!("{} {}", normalize_spaces(&own), normalize_spaces(&parent))
        } else {
            normalize_spaces(&own)
        };
        match column_of(&own, &parent, primary) {
            Some(Col::Code) => {
                layout.code.get_or_insert(c);
            }
            Some(Col::Name) => {
                layout.name.get_or_insert(c);
            }
            Some(Col::Grade(g)) => {
                if layout.grades.iter().any(|(x, ..)| *x == g) {
                    layout.repeated.push(shown_header);
                } else {
                    layout.grades.push((g, c, shown_header));
                }
            }
            Some(Col::Stt | Col::Average) | None => {}
        }
    }
    layout
}

fn find_header(grid: &Grid<'_>, primary: bool) -> Option<Layout> {
    let (start, end) = (grid.range.start()?, grid.range.end()?);
    let last_row = end.0.min(start.0.saturating_add(HEADER_SEARCH_ROWS - 1));
    let mut best: Option<Layout> = None;
    for row in start.0..=last_row {
        let layout = layout_of(grid, row, start.1, end.1, primary);
        if layout.score() > best.as_ref().map_or(0, Layout::score) {
            best = Some(layout);
        }
    }
    best
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

/// Reads a gradebook file and checks it against the class and the grade rules.
///
/// Sheets are tried visible first; the header is the row among the first 20 that names the most
/// known columns, and it must name a student column (`Mã học sinh` or `Họ và tên`) and at
/// least one grade column. Rows are matched to [`ImportSpec::students`] by code, or by name
/// when the row has no code (an ambiguous name is an error). Rows without a student and without
/// any grade (signature lines) are skipped.
///
/// # Errors
///
/// A [`FileError`] when the file as a whole cannot be used: too large, not a spreadsheet, no
/// gradebook header, or no student rows. Bad rows are not errors of this function; they are
/// in [`GradebookImport::errors`].
pub fn import_gradebook(bytes: &[u8], expected: &ImportSpec) -> Result<GradebookImport, FileError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(FileError::TooLarge {
            size: bytes.len(),
            max: MAX_FILE_BYTES,
        });
    }
    if bytes.is_empty() {
        return Err(FileError::Empty);
    }
    let mut workbook = open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| FileError::NotExcel(e.to_string()))?;
    let mut sheets: Vec<(String, bool)> = workbook
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| (s.name.clone(), s.visible == SheetVisible::Visible))
        .collect();
    sheets.sort_by_key(|(_, visible)| !visible);

    let mut any_content = false;
    let mut unreadable = None;
    let mut best: Option<(usize, Vec<String>)> = None;
    for (name, _) in sheets {
        let range = match workbook.worksheet_range(&name) {
            Ok(r) => r,
            Err(e) => {
                unreadable.get_or_insert(FileError::Unreadable {
                    sheet: name.clone(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if range.is_empty() {
            continue;
        }
        any_content = true;
        let merges = match &mut workbook {
            calamine::Sheets::Xlsx(x) => x.merge_cells_by_sheet_name(&name).unwrap_or_default(),
            calamine::Sheets::Xls(x) => x.merge_cells_by_sheet_name(&name).unwrap_or_default(),
            calamine::Sheets::Xlsb(_) | calamine::Sheets::Ods(_) => Vec::new(),
        };
        let grid = Grid {
            range: &range,
            merges: &merges,
        };
        let Some(layout) = find_header(&grid, expected.scheme.is_primary()) else {
            continue;
        };
        let missing = layout.missing();
        if missing.is_empty() {
            return read_rows(name, &grid, &layout, expected);
        }
        if best
            .as_ref()
            .is_none_or(|(score, _)| layout.score() > *score)
        {
            best = Some((layout.score(), missing));
        }
    }
    if let Some((_, missing)) = best {
        return Err(FileError::NoHeader { missing });
    }
    if let Some(e) = unreadable {
        return Err(e);
    }
    if !any_content {
        return Err(FileError::Empty);
    }
    Err(FileError::NoHeader {
        missing: Layout {
            row: 0,
            code: None,
            name: None,
            grades: Vec::new(),
            repeated: Vec::new(),
            primary: expected.scheme.is_primary(),
        }
        .missing(),
    })
}

/// The class list, indexed for matching.
struct Class<'a> {
    by_code: HashMap<String, &'a ClassStudent>,
    by_name: HashMap<String, Vec<&'a ClassStudent>>,
}

impl<'a> Class<'a> {
    fn new(students: &'a [ClassStudent]) -> Self {
        let mut by_code = HashMap::new();
        let mut by_name: HashMap<String, Vec<&ClassStudent>> = HashMap::new();
        for s in students {
            by_code.insert(code_key(&s.code), s);
            by_name.entry(fold(&s.full_name)).or_default().push(s);
        }
        Self { by_code, by_name }
    }
}

fn code_key(code: &str) -> String {
    code.trim().to_uppercase()
}

fn read_rows(
    sheet: String,
    grid: &Grid<'_>,
    layout: &Layout,
    expected: &ImportSpec,
) -> Result<GradebookImport, FileError> {
    let class = Class::new(&expected.students);
    let header_row = layout.row as usize + 1;
    let mut errors: Vec<RowError> = layout
        .repeated
        .iter()
        .map(|h| RowError {
            row: header_row,
            column: h.clone(),
            message: "Cột điểm này lặp lại trong dòng tiêu đề".into(),
        })
        .collect();
    let mut rows = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let end_row = grid.range.end().map_or(layout.row, |e| e.0);
    let mut any_row = false;
    for r in layout.row + 1..=end_row {
        let excel_row = r as usize + 1;
        let mut row_errors = Vec::new();
        let mut error = |column: &str, message: String| {
            row_errors.push(RowError {
                row: excel_row,
                column: column.to_string(),
                message,
            });
        };
        let text_at = |col: Option<u32>, name: &str, error: &mut dyn FnMut(&str, String)| {
            col.map_or(String::new(), |c| {
                cell_text(grid.cell(r, c)).unwrap_or_else(|e| {
                    error(name, e);
                    String::new()
                })
            })
        };
        let code = text_at(layout.code, COL_CODE, &mut error);
        let name = normalize_spaces(&text_at(layout.name, COL_NAME, &mut error));

        let mut cells = Vec::with_capacity(layout.grades.len());
        let mut any_grade = false;
        for (column, c, header) in &layout.grades {
            let value = read_grade(grid.cell(r, *c), expected.scheme, *column);
            match value {
                Ok(v) => {
                    any_grade |= v.is_some();
                    cells.push(v);
                }
                Err(message) => {
                    any_grade = true;
                    error(header, message);
                    cells.push(None);
                }
            }
        }
        if code.is_empty() && name.is_empty() && !any_grade {
            continue;
        }
        // A line under the table ("Giáo viên bộ môn", "Tổng số") has no code and no grade.
        if code.is_empty() && !any_grade && !class.by_name.contains_key(&fold(&name)) {
            continue;
        }
        any_row = true;

        let student = if !code.is_empty() {
            match class.by_code.get(&code_key(&code)) {
                Some(s) => {
                    if !name.is_empty() && fold(&name) != fold(&s.full_name) {
                        error(
                            COL_NAME,
                            format!(
                                "Mã học sinh {} là của {}, không phải {name}",
                                s.code, s.full_name
                            ),
                        );
                    }
                    Some(*s)
                }
                None => {
                    error(COL_CODE, format!("Mã học sinh {code} không thuộc lớp"));
                    None
                }
            }
        } else if name.is_empty() {
            error(COL_CODE, "Thiếu mã học sinh và họ tên".into());
            None
        } else {
            match class.by_name.get(&fold(&name)).map(Vec::as_slice) {
                Some([one]) => Some(*one),
                Some(many) => {
                    error(
                        COL_NAME,
                        format!(
                            "Lớp có {} học sinh tên {name}; hãy ghi mã học sinh",
                            many.len()
                        ),
                    );
                    None
                }
                None => {
                    error(COL_NAME, format!("Học sinh {name} không thuộc lớp"));
                    None
                }
            }
        };
        if let Some(s) = student {
            match seen.entry(code_key(&s.code)) {
                Entry::Occupied(first) => error(
                    if layout.code.is_some() {
                        COL_CODE
                    } else {
                        COL_NAME
                    },
                    format!(
                        "Học sinh {} ({}) đã có ở dòng {}",
                        s.full_name,
                        s.code,
                        first.get()
                    ),
                ),
                Entry::Vacant(slot) => {
                    slot.insert(excel_row);
                }
            }
        }
        match student {
            Some(s) if row_errors.is_empty() => rows.push(ImportedRow {
                row: excel_row,
                code: s.code.clone(),
                cells,
            }),
            _ => errors.append(&mut row_errors),
        }
    }
    if !any_row {
        return Err(FileError::Empty);
    }
    Ok(GradebookImport {
        sheet,
        header_row,
        columns: layout
            .grades
            .iter()
            .map(|(g, _, h)| (*g, h.clone()))
            .collect(),
        rows,
        errors,
    })
}

/// Reads one grade cell: a score (number or text with a decimal comma), a rating, or a
/// primary level or test score.
fn read_grade(
    d: &Data,
    scheme: SheetScheme,
    column: GradeColumn,
) -> Result<Option<GradeValue>, String> {
    let text = cell_text(d)?;
    if text.is_empty() {
        return Ok(None);
    }
    match scheme {
        SheetScheme::Comment => {
            return Rating::parse(&text)
                .map(|r| Some(GradeValue::Rating(r)))
                .map_err(|e| e.0);
        }
        SheetScheme::Primary { mid_test, end_test } => {
            if column.is_primary_level() {
                return PrimaryLevel::parse(&text)
                    .map(|l| Some(GradeValue::Level(l)))
                    .map_err(|e| e.0);
            }
            let has_test = match column {
                GradeColumn::TestMid => mid_test,
                _ => end_test,
            };
            if !has_test {
                return Err(if column == GradeColumn::TestMid {
                    "Môn học này không có bài kiểm tra định kỳ giữa kỳ ở lớp này; hãy để trống cột này"
                } else {
                    "Môn học này không có bài kiểm tra định kỳ; hãy để trống cột này"
                }
                .into());
            }
            let score = match d {
                Data::Float(f) => PrimaryScore::from_f64(*f),
                _ => PrimaryScore::parse(&text),
            };
            return score.map(|s| Some(GradeValue::Test(s))).map_err(|e| e.0);
        }
        SheetScheme::Scored => {}
    }
    let score = match d {
        Data::Float(f) => Score::from_f64(*f),
        _ => Score::parse(&text),
    };
    score.map(|s| Some(GradeValue::Score(s))).map_err(|e| e.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn students() -> Vec<ClassStudent> {
        [
            ("HS001", "Nguyễn Văn An"),
            ("HS002", "Lê Thị Bình"),
            ("HS003", "Trần Đức Anh"),
        ]
        .into_iter()
        .map(|(code, name)| ClassStudent {
            code: code.into(),
            full_name: name.into(),
        })
        .collect()
    }

    fn spec(scheme: SheetScheme) -> ImportSpec {
        ImportSpec {
            scheme,
            students: students(),
        }
    }

    fn header() -> GradebookHeader {
        GradebookHeader {
            school: "Trường THCS Lê Quý Đôn".into(),
            class_name: "6A1".into(),
            subject: "Toán".into(),
            term: Term::I,
            school_year: "2024-2025".into(),
        }
    }

    fn cells(values: &[&str]) -> Vec<Option<String>> {
        values
            .iter()
            .map(|v| (!v.is_empty()).then(|| v.to_string()))
            .collect()
    }

    fn toan_sheet() -> GradebookSheet {
        let students = students();
        let values = [
            ["8", "7,5", "9", "6", "7.5", "8"],
            ["10", "9,5", "", "8", "9", "9,5"],
            ["5", "6", "4,5", "5", "", ""],
        ];
        GradebookSheet {
            header: header(),
            scheme: SheetScheme::Scored,
            columns: GradeColumn::standard(4),
            rows: students
                .iter()
                .zip(values)
                .map(|(s, v)| GradebookRow {
                    code: s.code.clone(),
                    full_name: s.full_name.clone(),
                    cells: cells(&v),
                    average: Some("7,7".into()),
                })
                .collect(),
        }
    }

    /// A workbook with the given rows, every value as text (empty strings are left blank).
    fn workbook(rows: &[Vec<&str>]) -> Vec<u8> {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string(r as u32, c as u16, *v).unwrap();
                }
            }
        }
        wb.save_to_buffer().unwrap()
    }

    fn value(s: &str) -> Option<GradeValue> {
        (!s.is_empty()).then(|| GradeValue::Score(Score::parse(s).unwrap()))
    }

    #[test]
    fn standard_columns() {
        let headers: Vec<String> = GradeColumn::standard(3)
            .iter()
            .map(|c| c.header())
            .collect();
        assert_eq!(headers, ["ĐĐGtx1", "ĐĐGtx2", "ĐĐGtx3", "ĐĐGgk", "ĐĐGck"]);
        assert_eq!(GradeColumn::MidTerm.kind(), Some(AssessmentKind::MidTerm));
        assert_eq!(GradeColumn::TestEnd.kind(), None);
    }

    #[test]
    fn export_has_the_usual_layout() {
        let bytes = export_gradebook(&toan_sheet()).unwrap();
        let mut wb = open_workbook_auto_from_rs(Cursor::new(bytes)).unwrap();
        let range = wb.worksheet_range("6A1 Toán").unwrap();
        let text =
            |r: u32, c: u32| cell_text(range.get_value((r, c)).unwrap_or(&Data::Empty)).unwrap();
        assert_eq!(text(0, 0), "Trường THCS Lê Quý Đôn");
        assert_eq!(text(1, 0), "SỔ ĐIỂM MÔN TOÁN");
        assert_eq!(
            text(2, 0),
            "Lớp: 6A1 – Môn: Toán – Học kỳ I – Năm học 2024-2025"
        );
        let header: Vec<String> = (0..10).map(|c| text(4, c)).collect();
        assert_eq!(
            header,
            [
                "STT",
                "Mã học sinh",
                "Họ và tên",
                "ĐĐGtx1",
                "ĐĐGtx2",
                "ĐĐGtx3",
                "ĐĐGtx4",
                "ĐĐGgk",
                "ĐĐGck",
                "ĐTBmhk"
            ]
        );
        assert_eq!(range.get_value((5, 4)), Some(&Data::Float(7.5)));
        assert_eq!(text(5, 1), "HS001");
        assert_eq!(text(5, 9), "7.7");
    }

    #[test]
    fn export_then_import_gives_the_same_scores() {
        let sheet = toan_sheet();
        let bytes = export_gradebook(&sheet).unwrap();
        let imported = import_gradebook(&bytes, &spec(SheetScheme::Scored)).unwrap();
        assert_eq!(imported.errors, vec![]);
        assert_eq!(imported.header_row, 5);
        assert_eq!(
            imported.columns.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
            sheet.columns
        );
        assert_eq!(imported.rows.len(), 3);
        for (row, exported) in imported.rows.iter().zip(&sheet.rows) {
            assert_eq!(row.code, exported.code);
            let expected: Vec<Option<GradeValue>> = exported
                .cells
                .iter()
                .map(|c| value(c.as_deref().unwrap_or("")))
                .collect();
            assert_eq!(row.cells, expected);
        }
        assert_eq!(imported.rows[0].row, 6);
    }

    #[test]
    fn comment_graded_round_trip() {
        let students = students();
        let sheet = GradebookSheet {
            header: GradebookHeader {
                subject: "Giáo dục thể chất".into(),
                ..header()
            },
            scheme: SheetScheme::Comment,
            columns: GradeColumn::standard(2),
            rows: students
                .iter()
                .map(|s| GradebookRow {
                    code: s.code.clone(),
                    full_name: s.full_name.clone(),
                    cells: cells(&["Đ", "CĐ", "Đ", ""]),
                    average: None,
                })
                .collect(),
        };
        let bytes = export_gradebook(&sheet).unwrap();
        let imported = import_gradebook(&bytes, &spec(SheetScheme::Comment)).unwrap();
        assert_eq!(imported.errors, vec![]);
        assert_eq!(
            imported.rows[2].cells,
            vec![
                Some(GradeValue::Rating(Rating::Pass)),
                Some(GradeValue::Rating(Rating::Fail)),
                Some(GradeValue::Rating(Rating::Pass)),
                None
            ]
        );
        // A score in a comment-graded subject is an error.
        let bytes = workbook(&[
            vec!["Mã HS", "Họ tên", "TX1", "TX2", "GK", "CK"],
            vec!["HS001", "Nguyễn Văn An", "Đạt", "8", "Đ", "Đ"],
        ]);
        let imported = import_gradebook(&bytes, &spec(SheetScheme::Comment)).unwrap();
        assert_eq!(
            imported.error_lines(),
            ["Dòng 2, cột TX2: \"8\" không phải mức đánh giá (ghi Đ hoặc CĐ)"]
        );
    }

    #[test]
    fn headers_from_other_software() {
        let bytes = workbook(&[
            vec!["SỞ GD&ĐT NINH BÌNH"],
            vec!["BẢNG ĐIỂM MÔN NGỮ VĂN"],
            vec![],
            vec![
                "TT",
                "Mã học sinh",
                "Họ và tên",
                "TX 1",
                "tx2",
                "Đ ĐGtx3",
                "Giữa kỳ",
                "Điểm cuối kì",
                "TBM",
            ],
            vec![
                "1",
                "hs002",
                "Lê Thị  Bình",
                "7",
                "8,5",
                "9.0",
                "6,5",
                "7",
                "9,9",
            ],
        ]);
        let imported = import_gradebook(&bytes, &spec(SheetScheme::Scored)).unwrap();
        assert_eq!(imported.errors, vec![]);
        assert_eq!(imported.header_row, 4);
        assert_eq!(
            imported.columns.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
            [
                GradeColumn::Regular(1),
                GradeColumn::Regular(2),
                GradeColumn::Regular(3),
                GradeColumn::MidTerm,
                GradeColumn::EndTerm
            ]
        );
        assert_eq!(imported.columns[0].1, "TX 1");
        assert_eq!(imported.rows[0].code, "HS002");
        assert_eq!(
            imported.rows[0].cells,
            ["7", "8,5", "9", "6,5", "7"].map(value).to_vec()
        );
    }

    #[test]
    fn two_row_header_with_merged_group() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.merge_range(0, 2, 0, 3, "ĐĐGtx", &Format::new()).unwrap();
        for (c, h) in ["Mã học sinh", "Họ và tên", "1", "2", "ĐĐGgk", "ĐĐGck"]
            .iter()
            .enumerate()
        {
            ws.write_string(1, c as u16, *h).unwrap();
        }
        for (c, v) in ["HS003", "Trần Đức Anh", "6", "7", "8", "9"]
            .iter()
            .enumerate()
        {
            ws.write_string(2, c as u16, *v).unwrap();
        }
        let bytes = wb.save_to_buffer().unwrap();
        let imported = import_gradebook(&bytes, &spec(SheetScheme::Scored)).unwrap();
        assert_eq!(imported.errors, vec![]);
        assert_eq!(
            imported.columns[1],
            (GradeColumn::Regular(2), "ĐĐGtx 2".into())
        );
        assert_eq!(
            imported.rows[0].cells,
            ["6", "7", "8", "9"].map(value).to_vec()
        );
    }

    #[test]
    fn every_bad_cell_and_row_is_reported() {
        let bytes = workbook(&[
            vec!["Trường THCS Lê Quý Đôn"],
            vec![],
            vec![
                "STT",
                "Mã học sinh",
                "Họ và tên",
                "ĐĐGtx1",
                "ĐĐGtx2",
                "ĐĐGgk",
                "ĐĐGck",
            ],
            vec!["1", "HS001", "Nguyễn Văn An", "8", "7", "9", "8"],
            vec!["2", "HS002", "Lê Thị Bình", "8", "11", "7,55", "abc"],
            vec!["3", "HS999", "Phạm Văn Mới", "8", "7", "9", "8"],
            vec!["4", "HS001", "Nguyễn Văn An", "5", "5", "5", "5"],
            vec!["5", "", "Trần Đức Anh", "6", "-1", "6", "6"],
            vec!["6", "", "Hoàng Văn Lạ", "6", "6", "6", "6"],
            vec!["7", "HS002", "Nguyễn Thị Cúc", "6", "6", "6", "6"],
            vec![],
            vec!["", "", "Giáo viên bộ môn"],
        ]);
        let imported = import_gradebook(&bytes, &spec(SheetScheme::Scored)).unwrap();
        assert_eq!(
            imported.error_lines(),
            [
                "Dòng 5, cột ĐĐGtx2: điểm 11 ngoài thang 0–10",
                "Dòng 5, cột ĐĐGgk: điểm 7,55 có quá một chữ số thập phân (chỉ ghi như 7 hoặc 7,5)",
                "Dòng 5, cột ĐĐGck: điểm \"abc\" không phải là số",
                "Dòng 6, cột Mã học sinh: mã học sinh HS999 không thuộc lớp",
                "Dòng 7, cột Mã học sinh: học sinh Nguyễn Văn An (HS001) đã có ở dòng 4",
                "Dòng 8, cột ĐĐGtx2: điểm -1 ngoài thang 0–10",
                "Dòng 9, cột Họ và tên: học sinh Hoàng Văn Lạ không thuộc lớp",
                "Dòng 10, cột Họ và tên: mã học sinh HS002 là của Lê Thị Bình, không phải Nguyễn Thị Cúc",
                "Dòng 10, cột Mã học sinh: học sinh Lê Thị Bình (HS002) đã có ở dòng 5",
            ]
        );
        // Only the clean row is kept; the caller writes nothing while errors remain.
        assert_eq!(imported.rows.len(), 1);
        assert_eq!(imported.rows[0].code, "HS001");
    }

    #[test]
    fn number_cells_are_checked_too() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["Mã học sinh", "TX1", "TX2", "GK", "CK"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        // A code typed as a number, scores typed as numbers.
        ws.write_number(1, 0, 2024001.0).unwrap();
        for (c, v) in [8.5, 11.0, 7.25, 0.1 + 0.2].iter().enumerate() {
            ws.write_number(1, 1 + c as u16, *v).unwrap();
        }
        let bytes = wb.save_to_buffer().unwrap();
        let class = ImportSpec {
            scheme: SheetScheme::Scored,
            students: vec![ClassStudent {
                code: "2024001".into(),
                full_name: "Nguyễn Văn An".into(),
            }],
        };
        let imported = import_gradebook(&bytes, &class).unwrap();
        assert_eq!(
            imported.error_lines(),
            [
                "Dòng 2, cột TX2: điểm 11 ngoài thang 0–10",
                "Dòng 2, cột GK: điểm 7,25 có quá một chữ số thập phân (chỉ ghi như 7 hoặc 7,5)",
            ]
        );
    }

    #[test]
    fn float_noise_in_a_number_cell_reads_as_its_tenth() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["Mã học sinh", "CK"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "HS001").unwrap();
        ws.write_number(1, 1, 0.1 + 0.2).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let imported = import_gradebook(&bytes, &spec(SheetScheme::Scored)).unwrap();
        assert_eq!(imported.rows[0].cells, vec![value("0,3")]);
    }

    #[test]
    fn matching_by_name_needs_a_unique_name() {
        let mut class = spec(SheetScheme::Scored);
        class.students.push(ClassStudent {
            code: "HS004".into(),
            full_name: "Nguyễn Văn An".into(),
        });
        let bytes = workbook(&[
            vec!["Họ và tên", "GK", "CK"],
            vec!["nguyen van an", "7", "8"],
            vec!["Trần Đức Anh", "7", "8"],
        ]);
        let imported = import_gradebook(&bytes, &class).unwrap();
        assert_eq!(
            imported.error_lines(),
            ["Dòng 2, cột Họ và tên: lớp có 2 học sinh tên nguyen van an; hãy ghi mã học sinh"]
        );
        assert_eq!(imported.rows[0].code, "HS003");
    }

    #[test]
    fn repeated_grade_column_is_reported() {
        let bytes = workbook(&[
            vec!["Mã học sinh", "TX1", "TX1", "GK"],
            vec!["HS001", "7", "8", "9"],
        ]);
        let imported = import_gradebook(&bytes, &spec(SheetScheme::Scored)).unwrap();
        assert_eq!(
            imported.error_lines(),
            ["Dòng 1, cột TX1: cột điểm này lặp lại trong dòng tiêu đề"]
        );
    }

    fn primary_sheet() -> GradebookSheet {
        let values = [["T", "9", "H", "8"], ["H", "", "C", "4"], ["", "", "", ""]];
        GradebookSheet {
            header: GradebookHeader {
                school: "Trường Tiểu học Gia Viễn A".into(),
                class_name: "5A".into(),
                ..header()
            },
            scheme: SheetScheme::Primary {
                mid_test: true,
                end_test: true,
            },
            columns: GradeColumn::primary(true, true),
            rows: students()
                .iter()
                .zip(values)
                .map(|(s, v)| GradebookRow {
                    code: s.code.clone(),
                    full_name: s.full_name.clone(),
                    cells: cells(&v),
                    average: Some("bỏ qua".into()),
                })
                .collect(),
        }
    }

    fn primary(mid_test: bool, end_test: bool) -> ImportSpec {
        spec(SheetScheme::Primary { mid_test, end_test })
    }

    #[test]
    fn primary_columns_follow_the_tests_of_the_subject() {
        let headers = |m, e| {
            GradeColumn::primary(m, e)
                .iter()
                .map(|c| c.header())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            headers(true, true),
            ["Mức GK", "Điểm KT GK", "Mức CK", "Điểm KT CK"]
        );
        assert_eq!(headers(false, true), ["Mức GK", "Mức CK", "Điểm KT CK"]);
        assert_eq!(headers(false, false), ["Mức GK", "Mức CK"]);
    }

    #[test]
    fn primary_export_has_the_usual_layout_and_reads_back() {
        let sheet = primary_sheet();
        let bytes = export_gradebook(&sheet).unwrap();
        let mut wb = open_workbook_auto_from_rs(Cursor::new(bytes.clone())).unwrap();
        let range = wb.worksheet_range("5A Toán").unwrap();
        let text =
            |r: u32, c: u32| cell_text(range.get_value((r, c)).unwrap_or(&Data::Empty)).unwrap();
        assert_eq!(text(1, 0), "KẾT QUẢ ĐÁNH GIÁ MÔN TOÁN");
        assert!(
            text(3, 0).starts_with("Mức: T – Hoàn thành tốt"),
            "{}",
            text(3, 0)
        );
        let header: Vec<String> = (0..8).map(|c| text(4, c)).collect();
        assert_eq!(
            header,
            [
                "STT",
                "Mã học sinh",
                "Họ và tên",
                "Mức GK",
                "Điểm KT GK",
                "Mức CK",
                "Điểm KT CK",
                ""
            ],
            "no average column: the end-of-term level is the result"
        );
        assert_eq!(range.get_value((5, 3)), Some(&Data::String("T".into())));
        assert_eq!(range.get_value((5, 4)), Some(&Data::Float(9.0)));
        let imported = import_gradebook(&bytes, &primary(true, true)).unwrap();
        assert_eq!(imported.errors, vec![]);
        assert_eq!(
            imported.columns.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
            sheet.columns
        );
        assert_eq!(
            imported.rows[0].cells,
            vec![
                Some(GradeValue::Level(PrimaryLevel::Excellent)),
                Some(GradeValue::Test(PrimaryScore::new(9).unwrap())),
                Some(GradeValue::Level(PrimaryLevel::Complete)),
                Some(GradeValue::Test(PrimaryScore::new(8).unwrap())),
            ]
        );
        assert_eq!(
            imported.rows[1].cells[2],
            Some(GradeValue::Level(PrimaryLevel::Incomplete))
        );
        assert_eq!(imported.rows[1].cells[1], None);
        // The third pupil has no cell yet: a line with the pupil and nothing else is kept.
        assert_eq!(imported.rows.len(), 3);
    }

    #[test]
    fn primary_errors_name_the_row_and_the_column() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["Mã học sinh", "Họ và tên", "Mức GK", "Mức CK", "Điểm KT CK"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        let rows: [(&str, &str, &str, &str); 3] = [
            ("HS001", "Nguyễn Văn An", "T", "Giỏi"),
            ("HS002", "Lê Thị Bình", "htt", "Hoàn thành"),
            ("HS003", "Trần Đức Anh", "c", "H"),
        ];
        for (r, (code, name, gk, ck)) in rows.iter().enumerate() {
            let r = 1 + r as u32;
            for (c, v) in [code, name, gk, ck].iter().enumerate() {
                ws.write_string(r, c as u16, **v).unwrap();
            }
        }
        ws.write_string(1, 4, "8").unwrap();
        ws.write_string(2, 4, "7,5").unwrap();
        ws.write_number(3, 4, 11.0).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let imported = import_gradebook(&bytes, &primary(false, true)).unwrap();
        assert_eq!(
            imported.error_lines(),
            [
                "Dòng 2, cột Mức CK: \"Giỏi\" không phải mức đánh giá (ghi T, H hoặc C)",
                "Dòng 3, cột Điểm KT CK: điểm 7,5 không hợp lệ: bài kiểm tra định kỳ tiểu học cho điểm số nguyên 0–10, không cho điểm thập phân",
                "Dòng 4, cột Điểm KT CK: điểm 11 ngoài thang 0–10",
            ]
        );
        assert!(imported.rows.is_empty(), "every row has an error");
        // A subject without a periodic test (Đạo đức) has no score to import.
        let imported = import_gradebook(&bytes, &primary(false, false)).unwrap();
        assert!(
            imported.error_lines()[1]
                .starts_with("Dòng 2, cột Điểm KT CK: môn học này không có bài kiểm tra định kỳ"),
            "{:?}",
            imported.error_lines()
        );
        // A number cell with decimals is refused too.
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["Mã học sinh", "Điểm KT CK"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "HS001").unwrap();
        ws.write_number(1, 1, 8.5).unwrap();
        let imported = import_gradebook(&wb.save_to_buffer().unwrap(), &primary(true, true));
        assert!(imported.unwrap().error_lines()[0].contains("không cho điểm thập phân"),);
    }

    #[test]
    fn primary_headers_from_other_software() {
        // "Giữa học kỳ I" and "Cuối học kỳ I" merged over "Mức đạt được | Điểm KTĐK".
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "BẢNG TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ GIÁO DỤC")
            .unwrap();
        ws.merge_range(1, 2, 1, 3, "Giữa học kỳ I", &Format::new())
            .unwrap();
        ws.merge_range(1, 4, 1, 5, "Cuối học kỳ I", &Format::new())
            .unwrap();
        for (c, h) in [
            "Mã học sinh",
            "Họ và tên",
            "Mức đạt được",
            "Điểm KTĐK",
            "Mức đạt được",
            "Điểm KTĐK",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string(2, c as u16, *h).unwrap();
        }
        for (c, v) in ["HS002", "Lê Thị Bình", "Hoàn thành tốt", "10", "HT", "9"]
            .iter()
            .enumerate()
        {
            ws.write_string(3, c as u16, *v).unwrap();
        }
        let imported =
            import_gradebook(&wb.save_to_buffer().unwrap(), &primary(true, true)).unwrap();
        assert_eq!(imported.errors, vec![]);
        assert_eq!(
            imported.columns,
            vec![
                (GradeColumn::LevelMid, "Mức đạt được Giữa học kỳ I".into()),
                (GradeColumn::TestMid, "Điểm KTĐK Giữa học kỳ I".into()),
                (GradeColumn::LevelEnd, "Mức đạt được Cuối học kỳ I".into()),
                (GradeColumn::TestEnd, "Điểm KTĐK Cuối học kỳ I".into()),
            ]
        );
        assert_eq!(
            imported.rows[0].cells[3],
            Some(GradeValue::Test(PrimaryScore::new(9).unwrap()))
        );
        // Short headers: MGK, KTCK, "Mức cuối năm", "Điểm KT cuối kỳ".
        for (h, col) in [
            ("MGK", GradeColumn::LevelMid),
            ("KTGK", GradeColumn::TestMid),
            ("Mức cuối năm", GradeColumn::LevelEnd),
            ("Điểm KT cuối kỳ", GradeColumn::TestEnd),
            ("KTĐK CHK II", GradeColumn::TestEnd),
        ] {
            assert_eq!(primary_column(&header_key(h)), Some(col), "{h}");
        }
        assert_eq!(primary_column(&header_key("Mức")), None);
        assert_eq!(primary_column(&header_key("ĐĐGgk")), None);
    }

    #[test]
    fn a_secondary_gradebook_is_not_a_primary_one() {
        let bytes = export_gradebook(&toan_sheet()).unwrap();
        assert_eq!(
            import_gradebook(&bytes, &primary(true, true)),
            Err(FileError::NoHeader {
                missing: vec![
                    "Mức GK, Mức CK (và Điểm KT GK, Điểm KT CK nếu môn có bài kiểm tra)".into()
                ]
            })
        );
        let bytes = export_gradebook(&primary_sheet()).unwrap();
        assert!(matches!(
            import_gradebook(&bytes, &spec(SheetScheme::Scored)),
            Err(FileError::NoHeader { .. })
        ));
    }

    #[test]
    fn files_that_are_not_gradebooks() {
        assert!(matches!(
            import_gradebook(b"STT;Ma hoc sinh\n1;HS001", &spec(SheetScheme::Scored)),
            Err(FileError::NotExcel(_))
        ));
        assert_eq!(
            import_gradebook(b"", &spec(SheetScheme::Scored)),
            Err(FileError::Empty)
        );
        assert!(matches!(
            import_gradebook(&vec![0u8; MAX_FILE_BYTES + 1], &spec(SheetScheme::Scored)),
            Err(FileError::TooLarge { .. })
        ));
        // A roster has students but no grade column.
        let roster = workbook(&[
            vec!["Mã học sinh", "Họ và tên", "Ngày sinh"],
            vec!["HS001", "Nguyễn Văn An", "05/09/2012"],
        ]);
        assert_eq!(
            import_gradebook(&roster, &spec(SheetScheme::Scored)),
            Err(FileError::NoHeader {
                missing: vec!["ĐĐGtx1…, ĐĐGgk, ĐĐGck".into()]
            })
        );
        let nothing = workbook(&[vec!["Xin chào"], vec!["Tạm biệt"]]);
        assert!(matches!(
            import_gradebook(&nothing, &spec(SheetScheme::Scored)),
            Err(FileError::NoHeader { .. })
        ));
        // A header and no student.
        let blank = workbook(&[vec!["Mã học sinh", "Họ và tên", "TX1", "GK", "CK"]]);
        assert_eq!(
            import_gradebook(&blank, &spec(SheetScheme::Scored)),
            Err(FileError::Empty)
        );
    }
}
