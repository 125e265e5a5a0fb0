//! Student rosters in Excel: import ([`parse_roster`]), export ([`export_roster`]) and the blank
//! file schools fill in ([`template`]).
//!
//! Import never stops at the first bad cell: it collects every row error so that a school admin
//! fixes the whole file in one pass. Whether anything is written is the caller's decision (lophoc
//! writes nothing while [`ParsedRoster::errors`] is non-empty).
//!
//! Export and the template use exactly the canonical headers that import accepts, so a file
//! downloaded from lophoc can be edited and uploaded again.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::Cursor;
use std::sync::OnceLock;

use calamine::{
    Data, Dimensions, ExcelDateTime, ExcelDateTimeType, Range, Reader, SheetType, SheetVisible,
    Sheets, open_workbook_auto_from_rs,
};
use domain::people::{
    Gender, PersonalId, StudentCode, StudentStatus, VnPhone, format_vn_date, parse_full_name,
    parse_vn_date,
};
use domain::text::{fold, normalize_spaces};
use rust_xlsxwriter::{
    Color, Format, FormatAlign, FormatBorder, IgnoreError, Workbook, Worksheet, XlsxError,
};
use serde::{Deserialize, Serialize};
use time::{Date, Month};

/// Files larger than this are refused before they are opened: a real roster of a few thousand
/// students is well under 1 MB, and the reader holds the whole sheet in memory.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// How many rows from the top of a sheet may hold titles before the header row.
const HEADER_SEARCH_ROWS: u32 = 20;

/// lophoc links at most two guardian phones to a student (one parent account each).
const MAX_GUARDIANS: usize = 2;

/// Name of the roster sheet written by export and the template.
const ROSTER_SHEET: &str = "Danh sách học sinh";

/// Name of the instructions sheet in the template.
const GUIDE_SHEET: &str = "Hướng dẫn";

/// Relation written for a contact that is neither the father nor the mother column.
const DEFAULT_RELATION: &str = "Phụ huynh";

/// One valid student line of an imported file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterRow {
    /// 1-based Excel row number, as the user sees it at the left of the sheet.
    pub row: usize,
    /// Class name, normalized: trimmed, uppercased, inner spaces removed ("6a 1" → "6A1").
    pub class_name: String,
    /// Grade from a "Khối" column when the file has one; otherwise the caller infers it from
    /// the class name.
    pub grade: Option<u8>,
    /// Student code from the sector database.
    pub code: StudentCode,
    /// 12-digit personal id, when the file has one.
    pub personal_id: Option<PersonalId>,
    /// Full name with spaces collapsed.
    pub full_name: String,
    /// Date of birth.
    pub birth_date: Date,
    /// Gender.
    pub gender: Gender,
    /// Ethnicity; "Kinh" when the cell is empty or the column is absent.
    pub ethnicity: String,
    /// Status; "Đang học" when the cell is empty or the column is absent.
    pub status: StudentStatus,
    /// Zero to two guardian contacts, in the order father, mother, other.
    pub guardians: Vec<GuardianCell>,
}

/// A guardian contact read from a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardianCell {
    /// The guardian's name, when the file gives one.
    pub name: Option<String>,
    /// The guardian's mobile number (the key of a parent account).
    pub phone: VnPhone,
    /// "Cha", "Mẹ", "Người giám hộ", "Phụ huynh" or whatever the "Quan hệ" column says.
    pub relation: String,
}

/// A problem with one cell (or one row) of an imported file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based Excel row number.
    pub row: usize,
    /// The column header as it is written in the file, or the canonical Vietnamese column name.
    pub column: String,
    /// What is wrong, in Vietnamese.
    pub message: String,
}

/// The result of reading a roster file: the valid rows and every error found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedRoster {
    /// Name of the sheet that was read.
    pub sheet: String,
    /// 1-based row number of the header row.
    pub header_row: usize,
    /// Rows without any error, in file order.
    pub rows: Vec<RosterRow>,
    /// Every error found, in file order. Rows with an error are not in `rows`.
    pub errors: Vec<RowError>,
    /// Recognized columns in file order: (canonical Vietnamese column name, header as found).
    pub columns: Vec<(String, String)>,
}

/// Why a file could not be read at all (as opposed to a bad row, which is a [`RowError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("Tệp quá lớn ({} MB); chỉ nhận tệp tối đa {} MB", megabytes(*size), megabytes(*max))]
    TooLarge {
        /// Size of the uploaded file in bytes.
        size: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The bytes are not a workbook the reader understands. The field is the reader's reason,
    /// for logs; users only need to know it is not a spreadsheet.
    #[error("Tệp không phải bảng tính Excel (.xlsx/.xls/.ods)")]
    NotExcel(String),
    /// A sheet exists but could not be decoded (damaged file).
    #[error(
        "Không đọc được trang tính \"{sheet}\"; tệp có thể bị hỏng, hãy mở bằng Excel và lưu lại"
    )]
    Unreadable {
        /// The sheet name.
        sheet: String,
        /// The reader's reason, for logs.
        reason: String,
    },
    /// No sheet has a header row with all required columns.
    #[error(
        "Không tìm thấy dòng tiêu đề có đủ các cột bắt buộc; còn thiếu cột: {}",
        missing.join(", ")
    )]
    NoHeader {
        /// Canonical Vietnamese names of the required columns that are missing.
        missing: Vec<String>,
    },
    /// The file has no student rows.
    #[error("Tệp không có dòng học sinh nào")]
    Empty,
}

/// Bytes as megabytes with a Vietnamese decimal comma ("10,5").
fn megabytes(bytes: usize) -> String {
    let tenths = (bytes as u64 * 10).div_ceil(1024 * 1024);
    if tenths.is_multiple_of(10) {
        format!("{}", tenths / 10)
    } else {
        format!("{},{}", tenths / 10, tenths % 10)
    }
}

// ---------------------------------------------------------------------------------------------
// Columns
// ---------------------------------------------------------------------------------------------

/// A column lophoc understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Col {
    Stt,
    Class,
    Grade,
    Code,
    PersonalId,
    FullName,
    MiddleName,
    GivenName,
    BirthDate,
    Gender,
    /// A "Nữ" column with an "x" for girls, as many Vietnamese class lists are laid out.
    FemaleMark,
    Ethnicity,
    Status,
    FatherName,
    FatherPhone,
    MotherName,
    MotherPhone,
    GuardianName,
    GuardianPhone,
    Relation,
}

/// A canonical column: its Vietnamese name, the other headers accepted for it, and whether a
/// file without it is refused.
struct Spec {
    col: Col,
    name: &'static str,
    variants: &'static [&'static str],
    required: bool,
}

/// The header written for the female-mark layout in the accepted-headers list; it folds to the
/// key "nu", which maps to [`Col::FemaleMark`] rather than to the gender column.
const FEMALE_MARK_HEADER: &str = "Nữ (đánh dấu x)";

/// Every accepted header. Matching folds accents and case, so each variant is listed once with
/// its proper diacritics.
const SPECS: &[Spec] = &[
    Spec {
        col: Col::Stt,
        name: "STT",
        variants: &["Số thứ tự", "TT"],
        required: false,
    },
    Spec {
        col: Col::Class,
        name: "Lớp",
        variants: &["Tên lớp", "Lớp học"],
        required: true,
    },
    Spec {
        col: Col::Grade,
        name: "Khối",
        variants: &["Khối lớp"],
        required: false,
    },
    Spec {
        col: Col::Code,
        name: "Mã học sinh",
        variants: &[
            "Mã HS",
            "Mã số học sinh",
            "Mã định danh học sinh",
            "Mã định danh Bộ GD",
            "Mã định danh Bộ GD&ĐT",
            "Mã định danh Bộ GDĐT",
            "Mã CSDL",
        ],
        required: true,
    },
    Spec {
        col: Col::PersonalId,
        name: "Số định danh cá nhân",
        variants: &[
            "Mã định danh cá nhân",
            "Số định danh",
            "Định danh",
            "Số CCCD",
            "CCCD",
            "Căn cước công dân",
            "Số căn cước",
        ],
        required: false,
    },
    Spec {
        col: Col::FullName,
        name: "Họ và tên",
        variants: &[
            "Họ tên",
            "Họ và tên học sinh",
            "Họ tên học sinh",
            "Tên học sinh",
        ],
        required: true,
    },
    Spec {
        col: Col::MiddleName,
        name: "Họ đệm",
        variants: &["Họ và tên đệm", "Họ và đệm", "Họ lót", "Họ"],
        required: false,
    },
    Spec {
        col: Col::GivenName,
        name: "Tên",
        variants: &[],
        required: false,
    },
    Spec {
        col: Col::BirthDate,
        name: "Ngày sinh",
        variants: &[
            "Ngày tháng năm sinh",
            "Ngày/tháng/năm sinh",
            "Ngày sinh học sinh",
            "NS",
        ],
        required: true,
    },
    Spec {
        col: Col::Gender,
        name: "Giới tính",
        variants: &["GT", "Phái", FEMALE_MARK_HEADER],
        required: true,
    },
    Spec {
        col: Col::Ethnicity,
        name: "Dân tộc",
        variants: &[],
        required: false,
    },
    Spec {
        col: Col::Status,
        name: "Trạng thái",
        variants: &["Tình trạng", "Trạng thái học sinh", "Tình trạng học tập"],
        required: false,
    },
    Spec {
        col: Col::FatherName,
        name: "Họ tên cha",
        variants: &[
            "Họ và tên cha",
            "Tên cha",
            "Họ tên bố",
            "Họ và tên bố",
            "Tên bố",
        ],
        required: false,
    },
    Spec {
        col: Col::FatherPhone,
        name: "SĐT cha",
        variants: &[
            "Số điện thoại cha",
            "Điện thoại cha",
            "ĐT cha",
            "SĐT bố",
            "Số điện thoại bố",
            "Điện thoại bố",
            "ĐT bố",
        ],
        required: false,
    },
    Spec {
        col: Col::MotherName,
        name: "Họ tên mẹ",
        variants: &["Họ và tên mẹ", "Tên mẹ"],
        required: false,
    },
    Spec {
        col: Col::MotherPhone,
        name: "SĐT mẹ",
        variants: &["Số điện thoại mẹ", "Điện thoại mẹ", "ĐT mẹ"],
        required: false,
    },
    Spec {
        col: Col::GuardianName,
        name: "Họ tên phụ huynh",
        variants: &[
            "Họ và tên phụ huynh",
            "Tên phụ huynh",
            "Phụ huynh",
            "Họ tên PH",
            "Họ tên người giám hộ",
            "Người giám hộ",
        ],
        required: false,
    },
    Spec {
        col: Col::GuardianPhone,
        name: "SĐT phụ huynh",
        variants: &[
            "Số điện thoại phụ huynh",
            "Điện thoại phụ huynh",
            "ĐT phụ huynh",
            "SĐT PH",
            "Số điện thoại người giám hộ",
            "SĐT người giám hộ",
            "Số điện thoại liên hệ",
            "Điện thoại liên hệ",
            "SĐT liên hệ",
            "Số điện thoại",
            "Điện thoại",
            "SĐT",
        ],
        required: false,
    },
    Spec {
        col: Col::Relation,
        name: "Quan hệ",
        variants: &["Quan hệ với học sinh", "Quan hệ với HS", "Mối quan hệ"],
        required: false,
    },
];

/// Every accepted header: (canonical Vietnamese column, other accepted headers, required).
///
/// The canonical name itself is always accepted and is not repeated among the variants.
/// Matching ignores case, accents, repeated spaces, a trailing ":" or "*" and any text in
/// parentheses. "Họ và tên" may be replaced by the pair "Họ đệm" + "Tên"; "Giới tính" may be
/// replaced by a "Nữ" column marked "x" for girls. A header may also sit under a merged group
/// header ("Họ tên" under "Thông tin cha" reads as "Họ tên cha").
pub fn accepted_headers() -> Vec<(&'static str, Vec<&'static str>, bool)> {
    SPECS
        .iter()
        .map(|s| (s.name, s.variants.to_vec(), s.required))
        .collect()
}

/// Reduces a header cell to the form headers are compared in: folded, without text in
/// parentheses, without trailing ":" "*" "." (files mark required columns with "*").
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
    let folded = fold(&without_parens);
    folded
        .trim_matches(|c: char| matches!(c, ':' | '*' | '.' | ' '))
        .to_string()
}

/// Folded header → column, built once.
fn header_lookup() -> &'static HashMap<String, Col> {
    static LOOKUP: OnceLock<HashMap<String, Col>> = OnceLock::new();
    LOOKUP.get_or_init(|| {
        let mut map = HashMap::new();
        for spec in SPECS {
            for name in std::iter::once(&spec.name).chain(spec.variants) {
                map.insert(header_key(name), spec.col);
            }
        }
        // The "Nữ" header means "x marks a girl", which reads differently from a gender column.
        map.insert(header_key(FEMALE_MARK_HEADER), Col::FemaleMark);
        map
    })
}

/// The canonical Vietnamese name of a column.
fn canonical_name(col: Col) -> &'static str {
    if col == Col::FemaleMark {
        return "Giới tính";
    }
    SPECS.iter().find(|s| s.col == col).map_or("", |s| s.name)
}

// ---------------------------------------------------------------------------------------------
// Sheet access
// ---------------------------------------------------------------------------------------------

/// The merged regions of a sheet, indexed by column for quick lookup of a cell's region.
struct Merges {
    by_col: HashMap<u32, Vec<Dimensions>>,
}

impl Merges {
    fn new(regions: Vec<Dimensions>) -> Self {
        let mut by_col: HashMap<u32, Vec<Dimensions>> = HashMap::new();
        for d in regions {
            // A title merged across a whole row would otherwise add thousands of entries; no
            // roster has more than a few dozen columns.
            let last_col = d.end.1.min(d.start.1.saturating_add(255));
            for c in d.start.1..=last_col {
                by_col.entry(c).or_default().push(d);
            }
        }
        for v in by_col.values_mut() {
            v.sort_by_key(|d| d.start.0);
        }
        Self { by_col }
    }

    /// The merged region containing (row, col), if any. Excel forbids overlapping merges, so
    /// within one column the regions are disjoint and sorted by their first row.
    fn region(&self, row: u32, col: u32) -> Option<&Dimensions> {
        let regions = self.by_col.get(&col)?;
        let i = regions.partition_point(|d| d.start.0 <= row);
        let d = regions.get(i.checked_sub(1)?)?;
        (d.end.0 >= row).then_some(d)
    }
}

/// Reads the merged regions of a sheet where the format exposes them (xlsx, xls). For ods and
/// xlsb the reader gives none, so merged class cells there are simply empty cells.
fn merged_regions(workbook: &mut Sheets<Cursor<&[u8]>>, sheet: &str) -> Vec<Dimensions> {
    match workbook {
        Sheets::Xlsx(x) => x.merge_cells_by_sheet_name(sheet).unwrap_or_default(),
        Sheets::Xls(x) => x.merge_cells_by_sheet_name(sheet).unwrap_or_default(),
        Sheets::Xlsb(_) | Sheets::Ods(_) => Vec::new(),
    }
}

/// A sheet with its merged regions.
struct Grid<'a> {
    range: &'a Range<Data>,
    merges: &'a Merges,
}

impl Grid<'_> {
    fn cell(&self, row: u32, col: u32) -> &Data {
        self.range.get_value((row, col)).unwrap_or(&Data::Empty)
    }

    /// The value shown at (row, col): a cell inside a merged region shows the region's
    /// top-left value.
    fn shown(&self, row: u32, col: u32) -> &Data {
        match self.merges.region(row, col) {
            Some(d) => self.cell(d.start.0, d.start.1),
            None => self.cell(row, col),
        }
    }

    /// The value of a data cell: an empty cell inside a vertical merge (the "Lớp" column merged
    /// over a block of students) takes the value at the top of the merge. Only merges that start
    /// below the header count, so a header cell never leaks into data.
    fn data_value(&self, row: u32, col: u32, header_row: u32) -> &Data {
        let own = self.cell(row, col);
        if !is_blank(own) {
            return own;
        }
        match self.merges.region(row, col) {
            Some(d) if d.start.0 > header_row && d.start.0 < row && d.start.1 == col => {
                self.cell(d.start.0, d.start.1)
            }
            _ => own,
        }
    }
}

fn is_blank(d: &Data) -> bool {
    match d {
        Data::Empty => true,
        Data::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// A number as Excel would show it in a General cell: whole numbers without ".0", so a student
/// code or phone typed as a number reads back as its digits.
fn number_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The text of a cell, trimmed. A formula error (#REF!, #VALUE!…) is an error, since the
/// cached value is meaningless.
fn cell_text(d: &Data) -> Result<String, String> {
    Ok(match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_string(),
        Data::Float(f) => number_text(*f),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) => match excel_date(dt) {
            Ok(date) => format_vn_date(date),
            Err(_) => number_text(dt.as_f64()),
        },
        Data::Error(e) => return Err(format!("Ô có lỗi công thức ({e})")),
    })
}

/// Converts an Excel serial date to a calendar date.
fn excel_date(dt: &ExcelDateTime) -> Result<Date, String> {
    let bad = || format!("Ngày \"{}\" không hợp lệ", number_text(dt.as_f64()));
    if dt.is_duration() || !(1.0..2_958_466.0).contains(&dt.as_f64()) {
        return Err(bad());
    }
    let (y, m, d, ..) = dt.to_ymd_hms_milli();
    if !(1900..=2100).contains(&y) {
        return Err(format!(
            "Năm trong ngày \"{}\" không hợp lệ",
            number_text(dt.as_f64())
        ));
    }
    let month = Month::try_from(m).map_err(|_| bad())?;
    // Excel's fictitious 29/02/1900 fails here, as it should.
    Date::from_calendar_date(i32::from(y), month, d).map_err(|_| bad())
}

/// Reads a date of birth from any cell shape: an Excel date, a serial number in a cell without
/// date formatting, or text (dd/mm/yyyy, ISO, possibly followed by a time).
fn cell_date(d: &Data) -> Result<Option<Date>, String> {
    match d {
        Data::Empty => Ok(None),
        Data::String(s) | Data::DateTimeIso(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            // "05/09/2012 00:00:00" and "2012-09-05T00:00:00" come from exports of datetime
            // columns; the time part carries nothing for a birth date.
            let date_part = match s.split_once(|c: char| c.is_whitespace() || c == 'T') {
                Some((date, rest)) if rest.contains(':') => date,
                _ => s,
            };
            parse_vn_date(date_part).map(Some).map_err(|e| e.0)
        }
        Data::DateTime(dt) => excel_date(dt).map(Some),
        Data::Float(f) => serial_date(*f).map(Some),
        Data::Int(i) => serial_date(*i as f64).map(Some),
        Data::Error(e) => Err(format!("Ô có lỗi công thức ({e})")),
        Data::Bool(_) | Data::DurationIso(_) => Err(format!(
            "\"{}\" không phải ngày (ghi dạng dd/mm/yyyy)",
            cell_text(d).unwrap_or_default()
        )),
    }
}

/// A date typed as a number, or left as a serial number after a paste-values.
fn serial_date(v: f64) -> Result<Date, String> {
    // A bare year would otherwise be read as a serial date in 1905.
    if v.fract() == 0.0 && (1900.0..=2100.0).contains(&v) {
        return Err(format!(
            "Ngày sinh chỉ có năm {}; hãy ghi đủ ngày/tháng/năm (dd/mm/yyyy)",
            number_text(v)
        ));
    }
    excel_date(&ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false))
}

// ---------------------------------------------------------------------------------------------
// Header detection
// ---------------------------------------------------------------------------------------------

/// Where each recognized column sits, for one candidate header row.
struct Layout {
    /// Absolute (0-based) row index of the header.
    row: u32,
    /// Column → (absolute column index, header text as found). The first occurrence wins.
    cols: HashMap<Col, (u32, String)>,
    /// Recognized columns in file order, for [`ParsedRoster::columns`].
    order: Vec<(Col, String)>,
}

impl Layout {
    /// How many distinct meaningful columns the row names; the header is the row naming most.
    fn score(&self) -> usize {
        self.cols.keys().filter(|c| **c != Col::Stt).count()
    }

    fn has(&self, col: Col) -> bool {
        self.cols.contains_key(&col)
    }

    /// Canonical names of the required columns this layout lacks.
    fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if !self.has(Col::Class) {
            missing.push(canonical_name(Col::Class));
        }
        if !self.has(Col::Code) {
            missing.push(canonical_name(Col::Code));
        }
        if !self.has(Col::FullName) {
            match (self.has(Col::MiddleName), self.has(Col::GivenName)) {
                (true, true) => {}
                (true, false) => missing.push(canonical_name(Col::GivenName)),
                (false, true) => missing.push(canonical_name(Col::MiddleName)),
                (false, false) => missing.push(canonical_name(Col::FullName)),
            }
        }
        if !self.has(Col::BirthDate) {
            missing.push(canonical_name(Col::BirthDate));
        }
        if !self.has(Col::Gender) && !self.has(Col::FemaleMark) {
            missing.push(canonical_name(Col::Gender));
        }
        missing.into_iter().map(String::from).collect()
    }

    fn header(&self, col: Col) -> String {
        self.cols
            .get(&col)
            .map_or_else(|| canonical_name(col).to_string(), |(_, h)| h.clone())
    }
}

/// Folded group headers that name a guardian, under which "Họ tên" and "SĐT" belong to that
/// guardian rather than to the student.
const GUARDIAN_GROUPS: &[&str] = &["cha", "bo", "me", "phu huynh", "nguoi giam ho"];

/// Drops the "thông tin" that group headers start with ("Thông tin cha" → "cha").
fn group_key(parent: &str) -> &str {
    let key = parent.strip_prefix("thong tin ").unwrap_or(parent);
    key.strip_prefix("ve ").unwrap_or(key)
}

/// Reads one row as a header row.
fn layout_of(grid: &Grid<'_>, row: u32, first_col: u32, last_col: u32) -> Layout {
    let lookup = header_lookup();
    let mut layout = Layout {
        row,
        cols: HashMap::new(),
        order: Vec::new(),
    };
    for c in first_col..=last_col {
        let own = cell_text(grid.cell(row, c)).unwrap_or_default();
        let found = if own.is_empty() {
            // A two-row header merges single headers ("Họ và tên") down over both rows; the
            // lower row, which also names the grouped columns, is then the header row.
            match grid.merges.region(row, c) {
                Some(d) if d.start.0 < row => {
                    let text = cell_text(grid.cell(d.start.0, d.start.1)).unwrap_or_default();
                    lookup
                        .get(&header_key(&text))
                        .map(|col| (*col, normalize_spaces(&text)))
                }
                _ => None,
            }
        } else {
            // Under a merged group header the column may take its meaning from the group:
            // "Họ tên" under "Thông tin cha" is "Họ tên cha". A guardian group decides first;
            // under any other group ("Học sinh" over "Họ đệm" | "Tên") the cell decides first.
            let parent = if row > 0 {
                cell_text(grid.shown(row - 1, c)).unwrap_or_default()
            } else {
                String::new()
            };
            let own_key = header_key(&own);
            let parent_key = header_key(&parent);
            let group = group_key(&parent_key);
            let alone = lookup
                .get(&own_key)
                .map(|col| (*col, normalize_spaces(&own)));
            let grouped = (!group.is_empty())
                .then(|| lookup.get(&format!("{own_key} {group}")))
                .flatten()
                .map(|col| {
                    let header =
                        format!("{} / {}", normalize_spaces(&parent), normalize_spaces(&own));
                    (*col, header)
                });
            if GUARDIAN_GROUPS.contains(&group) {
                grouped.or(alone)
            } else {
                alone.or(grouped)
            }
        };
        if let Some((col, header)) = found
            && let Entry::Vacant(slot) = layout.cols.entry(col)
        {
            slot.insert((c, header.clone()));
            layout.order.push((col, header));
        }
    }
    layout
}

/// The row among the first [`HEADER_SEARCH_ROWS`] that names the most known columns.
fn find_header(grid: &Grid<'_>) -> Option<Layout> {
    let (start, end) = (grid.range.start()?, grid.range.end()?);
    let last_row = end.0.min(start.0.saturating_add(HEADER_SEARCH_ROWS - 1));
    let mut best: Option<Layout> = None;
    for row in start.0..=last_row {
        let layout = layout_of(grid, row, start.1, end.1);
        if layout.score() > best.as_ref().map_or(0, Layout::score) {
            best = Some(layout);
        }
    }
    best
}

// ---------------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------------

/// Reads a roster file (xlsx, xls, ods) into validated rows and row errors.
///
/// The first sheet with a header row naming every required column is read; the header may sit
/// below up to 19 title rows. Fully empty rows and rows without any of code, name, birth date
/// and gender (signature and total lines under the table) are skipped. Every other row is
/// validated completely; see [`accepted_headers`] for the columns.
///
/// # Errors
///
/// A [`FileError`] when the file as a whole cannot be used: too large, not a spreadsheet, no
/// header with the required columns, or no student rows.
pub fn parse_roster(bytes: &[u8]) -> Result<ParsedRoster, FileError> {
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

    // Visible sheets first: SMAS templates carry hidden lookup sheets that are not the roster.
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
        let merges = Merges::new(merged_regions(&mut workbook, &name));
        let grid = Grid {
            range: &range,
            merges: &merges,
        };
        let Some(layout) = find_header(&grid) else {
            continue;
        };
        let missing = layout.missing();
        if missing.is_empty() {
            return read_rows(name, &grid, &layout);
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
        missing: SPECS
            .iter()
            .filter(|s| s.required)
            .map(|s| s.name.to_string())
            .collect(),
    })
}

/// Reads every row under the header.
fn read_rows(sheet: String, grid: &Grid<'_>, layout: &Layout) -> Result<ParsedRoster, FileError> {
    let end_row = grid.range.end().map_or(layout.row, |e| e.0);
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen_codes: HashMap<StudentCode, usize> = HashMap::new();
    let mut seen_ids: HashMap<PersonalId, usize> = HashMap::new();
    for r in layout.row + 1..=end_row {
        let mut line = Line {
            grid,
            layout,
            row: r,
            errors: Vec::new(),
            code: None,
            personal_id: None,
        };
        if line.is_skippable() {
            continue;
        }
        let parsed = line.parse();
        // Duplicates are checked on every readable code, also in rows with other errors, so
        // the user sees the clash before fixing the rest.
        if let Some(code) = line.code.take() {
            match seen_codes.entry(code) {
                Entry::Occupied(first) => {
                    let message =
                        format!("Mã học sinh {} trùng với dòng {}", first.key(), first.get());
                    line.error(Col::Code, message);
                }
                Entry::Vacant(slot) => {
                    slot.insert(line.excel_row());
                }
            }
        }
        if let Some(id) = line.personal_id.take() {
            match seen_ids.entry(id) {
                Entry::Occupied(first) => {
                    let message = format!(
                        "Số định danh cá nhân {} trùng với dòng {}",
                        first.key().as_str(),
                        first.get()
                    );
                    line.error(Col::PersonalId, message);
                }
                Entry::Vacant(slot) => {
                    slot.insert(line.excel_row());
                }
            }
        }
        match parsed {
            Some(student) if line.errors.is_empty() => rows.push(student),
            _ => errors.append(&mut line.errors),
        }
    }
    if rows.is_empty() && errors.is_empty() {
        return Err(FileError::Empty);
    }
    Ok(ParsedRoster {
        sheet,
        header_row: layout.row as usize + 1,
        rows,
        errors,
        columns: layout
            .order
            .iter()
            .map(|(col, header)| (canonical_name(*col).to_string(), header.clone()))
            .collect(),
    })
}

/// One data row being read, with the errors found so far.
struct Line<'a> {
    grid: &'a Grid<'a>,
    layout: &'a Layout,
    row: u32,
    errors: Vec<RowError>,
    /// The row's code once read, for the duplicate check.
    code: Option<StudentCode>,
    /// The row's personal id once read, for the duplicate check.
    personal_id: Option<PersonalId>,
}

impl Line<'_> {
    fn excel_row(&self) -> usize {
        self.row as usize + 1
    }

    fn error(&mut self, col: Col, message: String) {
        self.errors.push(RowError {
            row: self.excel_row(),
            column: self.layout.header(col),
            message,
        });
    }

    /// The cell of a column, with vertical merges filled down; `None` when the column is absent.
    fn value(&self, col: Col) -> Option<&Data> {
        let (c, _) = self.layout.cols.get(&col)?;
        Some(self.grid.data_value(self.row, *c, self.layout.row))
    }

    /// The text of a column; an empty string when the column is absent or the cell has a
    /// formula error (which is recorded).
    fn text(&mut self, col: Col) -> String {
        match self.value(col).map(cell_text) {
            None => String::new(),
            Some(Ok(s)) => s,
            Some(Err(message)) => {
                self.error(col, message);
                String::new()
            }
        }
    }

    /// Whether a cell has a formula error, so that "missing" is not reported on top of it.
    fn has_formula_error(&self, col: Col) -> bool {
        matches!(self.value(col), Some(Data::Error(_)))
    }

    /// A row is skipped when every recognized cell is empty, or when nothing identifies a
    /// student (no code, name, birth date or gender): those are the signature and total lines
    /// schools put under the table ("Người lập biểu", "Tổng số: 45").
    fn is_skippable(&self) -> bool {
        let raw_blank = |col: &Col| {
            let (c, _) = self.layout.cols[col];
            is_blank(self.grid.cell(self.row, c))
        };
        let all_blank = self
            .layout
            .cols
            .keys()
            .filter(|c| **c != Col::Stt)
            .all(raw_blank);
        let identity = [
            Col::Code,
            Col::FullName,
            Col::MiddleName,
            Col::GivenName,
            Col::BirthDate,
            Col::Gender,
        ];
        let anonymous = identity
            .iter()
            .filter(|c| self.layout.has(**c))
            .all(raw_blank);
        all_blank || anonymous
    }

    /// Validates every cell of the row. Returns the student when every required value could be
    /// read; errors on optional cells are recorded and make the caller drop the row.
    fn parse(&mut self) -> Option<RosterRow> {
        let class_name = self.class_name();
        let grade = self.grade();
        let code = self.code();
        let personal_id = self.personal_id();
        let full_name = self.full_name();
        let birth_date = self.birth_date();
        let gender = self.gender();
        let ethnicity = self.ethnicity();
        let status = self.status();
        let guardians = self.guardians();
        Some(RosterRow {
            row: self.excel_row(),
            class_name: class_name?,
            grade,
            code: code?,
            personal_id,
            full_name: full_name?,
            birth_date: birth_date?,
            gender: gender?,
            ethnicity,
            status: status?,
            guardians,
        })
    }

    fn class_name(&mut self) -> Option<String> {
        if let Some(Data::DateTime(_)) = self.value(Col::Class) {
            // Excel turns a class typed "6/1" into the date 06/01 unless the column is text.
            self.error(
                Col::Class,
                "Excel đã tự đổi tên lớp thành ngày tháng; hãy định dạng cột Lớp là Văn bản (Text) rồi gõ lại tên lớp".into(),
            );
            return None;
        }
        let raw = self.text(Col::Class);
        if raw.is_empty() {
            if !self.has_formula_error(Col::Class) {
                self.error(Col::Class, "Thiếu lớp".into());
            }
            return None;
        }
        let name = normalize_class(&raw);
        if name.chars().count() > 30 {
            self.error(Col::Class, format!("Tên lớp \"{raw}\" dài quá 30 ký tự"));
            return None;
        }
        Some(name)
    }

    fn grade(&mut self) -> Option<u8> {
        let raw = self.text(Col::Grade);
        if raw.is_empty() {
            return None;
        }
        let folded = fold(&raw);
        let digits = folded.strip_prefix("khoi").unwrap_or(&folded).trim();
        match digits.parse::<u8>() {
            Ok(g) if (1..=12).contains(&g) => Some(g),
            _ => {
                self.error(
                    Col::Grade,
                    format!("Khối \"{raw}\" không hợp lệ (ghi số từ 1 đến 12)"),
                );
                None
            }
        }
    }

    fn code(&mut self) -> Option<StudentCode> {
        let raw = self.text(Col::Code);
        if raw.is_empty() && self.has_formula_error(Col::Code) {
            return None;
        }
        let code = StudentCode::parse(&raw)
            .map_err(|e| self.error(Col::Code, e.0))
            .ok();
        self.code.clone_from(&code);
        code
    }

    fn personal_id(&mut self) -> Option<PersonalId> {
        let mut raw = self.text(Col::PersonalId);
        if raw.is_empty() {
            return None;
        }
        // Every personal id starts with a 0 (province codes are 001–096), which Excel drops
        // when the id was typed into a number cell.
        if matches!(
            self.value(Col::PersonalId),
            Some(Data::Float(_) | Data::Int(_))
        ) && (10..12).contains(&raw.len())
        {
            raw = format!("{raw:0>12}");
        }
        let id = PersonalId::parse(&raw)
            .map_err(|e| self.error(Col::PersonalId, e.0))
            .ok();
        self.personal_id.clone_from(&id);
        id
    }

    fn full_name(&mut self) -> Option<String> {
        if self.layout.has(Col::FullName) {
            let raw = self.text(Col::FullName);
            if raw.is_empty() && self.has_formula_error(Col::FullName) {
                return None;
            }
            return parse_full_name(&raw)
                .map_err(|e| self.error(Col::FullName, e.0))
                .ok();
        }
        // Split layout: "Họ đệm" + "Tên". Each part is checked on its own so the error points at
        // the right column.
        let middle = self.text(Col::MiddleName);
        let given = self.text(Col::GivenName);
        let mut ok = true;
        if given.is_empty() {
            if !self.has_formula_error(Col::GivenName) {
                self.error(Col::GivenName, "Thiếu tên".into());
            }
            ok = false;
        } else if let Err(e) = parse_full_name(&given) {
            self.error(Col::GivenName, e.0);
            ok = false;
        }
        if !middle.is_empty()
            && let Err(e) = parse_full_name(&middle)
        {
            self.error(Col::MiddleName, e.0);
            ok = false;
        }
        if !ok {
            return None;
        }
        parse_full_name(&format!("{middle} {given}"))
            .map_err(|e| self.error(Col::GivenName, e.0))
            .ok()
    }

    fn birth_date(&mut self) -> Option<Date> {
        match self.value(Col::BirthDate).map(cell_date) {
            Some(Ok(Some(date))) => Some(date),
            Some(Ok(None)) | None => {
                self.error(Col::BirthDate, "Thiếu ngày sinh".into());
                None
            }
            Some(Err(message)) => {
                self.error(Col::BirthDate, message);
                None
            }
        }
    }

    fn gender(&mut self) -> Option<Gender> {
        if self.layout.has(Col::Gender) {
            let raw = self.text(Col::Gender);
            if raw.is_empty() {
                if !self.has_formula_error(Col::Gender) {
                    self.error(Col::Gender, "Thiếu giới tính".into());
                }
                return None;
            }
            return Gender::parse(&raw)
                .map_err(|e| self.error(Col::Gender, e.0))
                .ok();
        }
        // "Nữ" column: a mark for girls, empty for boys.
        let raw = self.text(Col::FemaleMark);
        if self.has_formula_error(Col::FemaleMark) {
            return None;
        }
        match fold(&raw).as_str() {
            "" | "0" | "false" | "khong" => Some(Gender::Male),
            "x" | "1" | "v" | "nu" | "co" | "true" | "✓" | "√" => Some(Gender::Female),
            _ => {
                self.error(
                    Col::FemaleMark,
                    format!("Cột Nữ ghi \"{raw}\"; hãy đánh \"x\" cho học sinh nữ và để trống cho học sinh nam"),
                );
                None
            }
        }
    }

    fn ethnicity(&mut self) -> String {
        let raw = normalize_spaces(&self.text(Col::Ethnicity));
        if raw.is_empty() || fold(&raw) == "kinh" {
            "Kinh".to_string()
        } else {
            capitalize(&raw)
        }
    }

    fn status(&mut self) -> Option<StudentStatus> {
        let raw = self.text(Col::Status);
        StudentStatus::parse(&raw)
            .map_err(|e| self.error(Col::Status, e.0))
            .ok()
    }

    /// Father, mother, then the generic contact columns; at most [`MAX_GUARDIANS`] distinct
    /// phones are kept, in that order. A name without a phone is dropped silently (it cannot
    /// become an account); a phone that is present but invalid is an error.
    fn guardians(&mut self) -> Vec<GuardianCell> {
        let slots = [
            (Col::FatherName, Col::FatherPhone, Some("Cha")),
            (Col::MotherName, Col::MotherPhone, Some("Mẹ")),
            (Col::GuardianName, Col::GuardianPhone, None),
        ];
        let relations_text = self.text(Col::Relation);
        let relations = split_contacts(&relations_text);
        let mut guardians: Vec<GuardianCell> = Vec::new();
        for (name_col, phone_col, fixed_relation) in slots {
            let phones_text = self.text(phone_col);
            if phones_text.is_empty() {
                continue;
            }
            let names_text = self.text(name_col);
            let names = split_contacts(&names_text);
            // One cell may hold several contacts ("0912345678 / 0987654321"); the names and
            // relations cells are then split the same way and paired by position.
            for (i, raw_phone) in split_contacts(&phones_text).into_iter().enumerate() {
                if raw_phone.is_empty() {
                    continue;
                }
                let phone = match VnPhone::parse(raw_phone) {
                    Ok(p) => p,
                    Err(e) => {
                        self.error(phone_col, e.0);
                        continue;
                    }
                };
                let name = match names.get(i).copied().filter(|n| !n.is_empty()) {
                    None => None,
                    Some(n) => match parse_full_name(n) {
                        Ok(n) => Some(n),
                        Err(e) => {
                            self.error(name_col, e.0);
                            continue;
                        }
                    },
                };
                let relation = match fixed_relation {
                    Some(r) => r.to_string(),
                    None => {
                        let raw = relations
                            .get(i)
                            .or(relations.first())
                            .copied()
                            .unwrap_or_default();
                        normalize_relation(raw)
                    }
                };
                if !guardians.iter().any(|g| g.phone == phone) {
                    guardians.push(GuardianCell {
                        name,
                        phone,
                        relation,
                    });
                }
            }
        }
        guardians.truncate(MAX_GUARDIANS);
        guardians
    }
}

/// Splits a cell holding several contacts. Only separators that never occur inside a phone
/// number or a name are used ("-" and "." do occur in phones).
fn split_contacts(s: &str) -> Vec<&str> {
    if s.trim().is_empty() {
        return Vec::new();
    }
    s.split([',', ';', '/', '\n', '|']).map(str::trim).collect()
}

/// "lớp 6a 1" → "6A1": class names are compared as typed in the sector database.
fn normalize_class(raw: &str) -> String {
    let mut words: Vec<&str> = raw.split_whitespace().collect();
    if words.len() > 1 && fold(words[0]) == "lop" {
        words.remove(0);
    }
    words.concat().to_uppercase()
}

/// Canonical spelling for the usual relations, the typed text (capitalized) otherwise.
fn normalize_relation(raw: &str) -> String {
    let s = normalize_spaces(raw);
    match s.to_lowercase().as_str() {
        "" => DEFAULT_RELATION.to_string(),
        // Not folded: "ba" (father, southern usage) and "bà" (grandmother) differ only by accent.
        "cha" | "bố" | "ba" => "Cha".to_string(),
        "mẹ" | "má" => "Mẹ".to_string(),
        "người giám hộ" | "giám hộ" => "Người giám hộ".to_string(),
        "phụ huynh" => DEFAULT_RELATION.to_string(),
        _ => capitalize(&s),
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Export and template
// ---------------------------------------------------------------------------------------------

/// One student to write with [`export_roster`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRow {
    /// Class name.
    pub class_name: String,
    /// Student code.
    pub code: String,
    /// 12-digit personal id, if known.
    pub personal_id: Option<String>,
    /// Full name.
    pub full_name: String,
    /// Date of birth, written as dd/mm/yyyy text.
    pub birth_date: Date,
    /// Gender, written as "Nam"/"Nữ".
    pub gender: Gender,
    /// Ethnicity.
    pub ethnicity: String,
    /// Status, written as its Vietnamese label.
    pub status: StudentStatus,
    /// Guardians as (name, phone, relation). The first "Cha" goes to the father columns, the
    /// first "Mẹ" to the mother columns, the rest to the "phụ huynh" columns (several contacts
    /// are joined with " / ", which import splits again).
    pub guardians: Vec<(Option<String>, String, String)>,
}

/// A guardian as export takes it: (name, phone, relation).
type GuardianTuple = (Option<String>, String, String);

/// Columns written by export and the template: canonical header and width in characters.
const EXPORT_COLUMNS: [(&str, f64); 16] = [
    ("STT", 6.0),
    ("Lớp", 8.0),
    ("Mã học sinh", 16.0),
    ("Số định danh cá nhân", 20.0),
    ("Họ và tên", 28.0),
    ("Ngày sinh", 12.0),
    ("Giới tính", 10.0),
    ("Dân tộc", 10.0),
    ("Trạng thái", 16.0),
    ("Họ tên cha", 24.0),
    ("SĐT cha", 13.0),
    ("Họ tên mẹ", 24.0),
    ("SĐT mẹ", 13.0),
    ("Họ tên phụ huynh", 24.0),
    ("SĐT phụ huynh", 14.0),
    ("Quan hệ", 14.0),
];

/// Rows above the header: school name, list title, school year.
const TITLE_ROWS: u32 = 3;

/// Writes a roster as an xlsx file that [`parse_roster`] reads back to the same students.
///
/// Every value is written as text (dates as dd/mm/yyyy) so Excel keeps leading zeros and does not
/// reinterpret dates by the computer's locale.
///
/// # Errors
///
/// Whatever the xlsx writer reports (in practice only values beyond Excel's limits, such as
/// more than a million rows).
pub fn export_roster(
    school_name: &str,
    year_name: &str,
    rows: &[ExportRow],
) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    write_roster_sheet(sheet, school_name, year_name, rows)?;
    workbook.save_to_buffer()
}

/// A blank roster to fill in: the export layout with two example rows, and a "Hướng dẫn" sheet
/// listing every accepted header.
pub fn template() -> Vec<u8> {
    build_template().expect("the template is fixed content within Excel's limits")
}

fn build_template() -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    write_roster_sheet(sheet, "TRƯỜNG ……………………", "……………", &example_rows())?;
    write_guide_sheet(workbook.add_worksheet())?;
    workbook.save_to_buffer()
}

fn example_rows() -> Vec<ExportRow> {
    vec![
        ExportRow {
            class_name: "6A1".into(),
            code: "7912345678".into(),
            personal_id: Some("079214001234".into()),
            full_name: "Nguyễn Thị Ánh Dương".into(),
            birth_date: Date::from_calendar_date(2014, Month::September, 5)
                .expect("valid example date"),
            gender: Gender::Female,
            ethnicity: "Kinh".into(),
            status: StudentStatus::Studying,
            guardians: vec![
                (
                    Some("Nguyễn Văn Hùng".into()),
                    "0912345678".into(),
                    "Cha".into(),
                ),
                (Some("Lê Thị Hoa".into()), "0987654321".into(), "Mẹ".into()),
            ],
        },
        ExportRow {
            class_name: "6A1".into(),
            code: "7912345679".into(),
            personal_id: None,
            full_name: "Hoàng Đức Mạnh".into(),
            birth_date: Date::from_calendar_date(2014, Month::December, 21)
                .expect("valid example date"),
            gender: Gender::Male,
            ethnicity: "Tày".into(),
            status: StudentStatus::Studying,
            guardians: vec![(
                Some("Hoàng Thị Lụa".into()),
                "0358123456".into(),
                "Bà nội".into(),
            )],
        },
    ]
}

fn write_roster_sheet(
    sheet: &mut Worksheet,
    school_name: &str,
    year_name: &str,
    rows: &[ExportRow],
) -> Result<(), XlsxError> {
    sheet.set_name(ROSTER_SHEET)?;
    let last_col = (EXPORT_COLUMNS.len() - 1) as u16;
    let title = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_align(FormatAlign::Center);
    let subtitle = Format::new().set_italic().set_align(FormatAlign::Center);
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin)
        .set_background_color(Color::RGB(0xDDEBF7));
    // "@" is Excel's text format: new rows typed into the file keep leading zeros and
    // dd/mm/yyyy dates stay text instead of being converted by the computer's locale.
    let text = Format::new().set_num_format("@");
    let cell = Format::new()
        .set_num_format("@")
        .set_border(FormatBorder::Thin);
    let number = Format::new().set_border(FormatBorder::Thin);

    let year_line = if fold(year_name).starts_with("nam hoc") {
        year_name.to_string()
    } else {
        format!("Năm học {year_name}")
    };
    sheet.merge_range(0, 0, 0, last_col, school_name, &title)?;
    sheet.merge_range(1, 0, 1, last_col, "DANH SÁCH HỌC SINH", &title)?;
    sheet.merge_range(2, 0, 2, last_col, &year_line, &subtitle)?;

    let header_row = TITLE_ROWS;
    for (c, (name, width)) in EXPORT_COLUMNS.iter().enumerate() {
        let c = c as u16;
        sheet.set_column_width(c, *width)?;
        if c > 0 {
            sheet.set_column_format(c, &text)?;
        }
        sheet.write_string_with_format(header_row, c, *name, &header)?;
    }
    sheet.set_row_height(header_row, 30)?;

    for (i, student) in rows.iter().enumerate() {
        let r = header_row + 1 + i as u32;
        let (father, mother, others) = guardian_slots(&student.guardians);
        let join = |f: &dyn Fn(&GuardianTuple) -> String| {
            others.iter().map(|g| f(g)).collect::<Vec<_>>().join(" / ")
        };
        let name_of = |g: Option<&GuardianTuple>| g.and_then(|g| g.0.clone()).unwrap_or_default();
        let phone_of = |g: Option<&GuardianTuple>| g.map(|g| g.1.clone()).unwrap_or_default();
        let values: [String; 15] = [
            student.class_name.clone(),
            student.code.clone(),
            student.personal_id.clone().unwrap_or_default(),
            student.full_name.clone(),
            format_vn_date(student.birth_date),
            student.gender.label().to_string(),
            student.ethnicity.clone(),
            student.status.label().to_string(),
            name_of(father),
            phone_of(father),
            name_of(mother),
            phone_of(mother),
            join(&|g| g.0.clone().unwrap_or_default()),
            join(&|g| g.1.clone()),
            join(&|g| g.2.clone()),
        ];
        sheet.write_number_with_format(r, 0, (i + 1) as f64, &number)?;
        for (c, value) in values.iter().enumerate() {
            let c = (c + 1) as u16;
            if value.is_empty() {
                sheet.write_blank(r, c, &cell)?;
            } else {
                sheet.write_string_with_format(r, c, value, &cell)?;
            }
        }
    }

    sheet.set_freeze_panes(header_row + 1, 0)?;
    let last_row = header_row + rows.len().max(1) as u32;
    sheet.autofilter(header_row, 0, last_row, last_col)?;
    // Codes, ids and phones are text on purpose; Excel's green "number stored as text" marks
    // would only worry users.
    sheet.ignore_error_range(
        header_row + 1,
        1,
        1_048_575,
        last_col,
        IgnoreError::NumberStoredAsText,
    )?;
    Ok(())
}

/// Places guardians into the father, mother and generic column groups.
fn guardian_slots(
    guardians: &[GuardianTuple],
) -> (
    Option<&GuardianTuple>,
    Option<&GuardianTuple>,
    Vec<&GuardianTuple>,
) {
    let mut father = None;
    let mut mother = None;
    let mut others = Vec::new();
    for g in guardians {
        match g.2.as_str() {
            "Cha" if father.is_none() => father = Some(g),
            "Mẹ" if mother.is_none() => mother = Some(g),
            _ => others.push(g),
        }
    }
    (father, mother, others)
}

fn write_guide_sheet(sheet: &mut Worksheet) -> Result<(), XlsxError> {
    sheet.set_name(GUIDE_SHEET)?;
    let title = Format::new().set_bold().set_font_size(14);
    let bold = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_background_color(Color::RGB(0xDDEBF7));
    let cell = Format::new()
        .set_text_wrap()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Top);
    sheet.set_column_width(0, 24)?;
    sheet.set_column_width(1, 12)?;
    sheet.set_column_width(2, 80)?;

    sheet.write_string_with_format(0, 0, "HƯỚNG DẪN ĐIỀN DANH SÁCH HỌC SINH", &title)?;
    let notes = [
        "1. Điền học sinh vào trang \"Danh sách học sinh\", mỗi học sinh một dòng, bắt đầu ngay dưới dòng tiêu đề. Xóa 2 dòng ví dụ trước khi tải lên.",
        "2. Có thể giữ các dòng tiêu đề phía trên (tên trường, năm học); thứ tự các cột không quan trọng; cột STT và các cột khác không có trong bảng dưới đây được bỏ qua.",
        "3. Ô Lớp có thể gộp (merge) cho cả nhóm học sinh cùng lớp.",
        "4. Ngày sinh ghi dạng ngày/tháng/năm, ví dụ 05/09/2014. Số điện thoại di động 10 chữ số, ví dụ 0912345678.",
        "5. Mã học sinh là mã trên CSDL ngành; tải lên lại tệp sẽ cập nhật học sinh theo Mã học sinh, không tạo trùng.",
        "6. Không xóa học sinh khỏi danh sách khi chuyển trường hay thôi học: ghi vào cột Trạng thái.",
    ];
    for (i, note) in notes.iter().enumerate() {
        sheet.write_string(2 + i as u32, 0, *note)?;
    }

    let table_row = 3 + notes.len() as u32;
    for (c, head) in ["Cột", "Bắt buộc", "Tên cột khác được chấp nhận"]
        .iter()
        .enumerate()
    {
        sheet.write_string_with_format(table_row, c as u16, *head, &bold)?;
    }
    for (i, (name, variants, required)) in accepted_headers().into_iter().enumerate() {
        let r = table_row + 1 + i as u32;
        let required = match (name, required) {
            ("Họ và tên", _) => "Có (hoặc Họ đệm + Tên)",
            (_, true) => "Có",
            _ => "Không",
        };
        sheet.write_string_with_format(r, 0, name, &cell)?;
        sheet.write_string_with_format(r, 1, required, &cell)?;
        sheet.write_string_with_format(r, 2, variants.join("; "), &cell)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_xlsxwriter::{ExcelDateTime as XlsxDate, Formula};
    use time::macros::date;

    /// Builds an xlsx in memory.
    fn xlsx(build: impl FnOnce(&mut Worksheet)) -> Vec<u8> {
        let mut wb = Workbook::new();
        build(wb.add_worksheet());
        wb.save_to_buffer().unwrap()
    }

    /// Writes text rows from `first_row` down, one line per row, cells separated by `|`
    /// (kept on one line each so the test tables stay readable). Empty cells stay blank.
    fn write_table(ws: &mut Worksheet, first_row: u32, lines: &[&str]) {
        for (i, line) in lines.iter().enumerate() {
            for (c, value) in line.split('|').map(str::trim).enumerate() {
                if !value.is_empty() {
                    ws.write_string(first_row + i as u32, c as u16, value)
                        .unwrap();
                }
            }
        }
    }

    const BASIC_HEADER: &str = "STT | Lớp | Mã học sinh | Họ và tên | Ngày sinh | Giới tính";

    fn parse_ok(bytes: &[u8]) -> ParsedRoster {
        let parsed = parse_roster(bytes).unwrap();
        assert!(parsed.errors.is_empty(), "{:#?}", parsed.errors);
        parsed
    }

    fn err(row: usize, column: &str, message: &str) -> RowError {
        RowError {
            row,
            column: column.into(),
            message: message.into(),
        }
    }

    #[test]
    fn reads_a_file_with_title_rows_and_shuffled_columns() {
        let bytes = xlsx(|ws| {
            write_table(
                ws,
                0,
                &[
                    "TRƯỜNG THCS LÊ QUÝ ĐÔN",
                    "DANH SÁCH HỌC SINH LỚP 6A1",
                    "Năm học 2025-2026",
                    "",
                    "Giới tính | Ngày sinh | Họ và tên | STT | Mã học sinh | Lớp | Khối | Dân tộc | Trạng thái | SĐT mẹ | Họ tên mẹ | Ghi chú | Họ tên cha | SĐT cha",
                    "Nữ | 05/09/2014 | Nguyễn  Thị Ánh Dương | 1 | hs0001 | 6a 1 | 6 | | | 0987 654 321 | Lê Thị Hoa | lớp trưởng | Nguyễn Văn Hùng |",
                    "",
                    "Nam | 21/12/2014 | Hoàng Đức Mạnh | 2 | HS0002 | 6A1 | 6 | Tày | Chuyển trường | | | | Hoàng Văn Tú | +84 358 123 456",
                ],
            );
        });
        let parsed = parse_ok(&bytes);
        assert_eq!(parsed.sheet, "Sheet1");
        assert_eq!(parsed.header_row, 5);
        assert_eq!(parsed.rows.len(), 2);
        let a = &parsed.rows[0];
        assert_eq!(a.row, 6);
        assert_eq!(a.class_name, "6A1");
        assert_eq!(a.grade, Some(6));
        assert_eq!(a.code.as_str(), "HS0001");
        assert_eq!(a.full_name, "Nguyễn Thị Ánh Dương");
        assert_eq!(a.birth_date, date!(2014 - 09 - 05));
        assert_eq!(a.gender, Gender::Female);
        assert_eq!(a.ethnicity, "Kinh");
        assert_eq!(a.status, StudentStatus::Studying);
        // The father has no phone, so only the mother is a contact.
        assert_eq!(
            a.guardians,
            vec![GuardianCell {
                name: Some("Lê Thị Hoa".into()),
                phone: VnPhone::parse("0987654321").unwrap(),
                relation: "Mẹ".into(),
            }]
        );
        let b = &parsed.rows[1];
        assert_eq!(b.row, 8);
        assert_eq!(b.ethnicity, "Tày");
        assert_eq!(b.status, StudentStatus::TransferredOut);
        assert_eq!(b.guardians[0].phone.as_str(), "0358123456");
        assert_eq!(b.guardians[0].relation, "Cha");
        let code_column = ("Mã học sinh".to_string(), "Mã học sinh".to_string());
        assert!(parsed.columns.contains(&code_column));
        assert!(!parsed.columns.iter().any(|(_, h)| h == "Ghi chú"));
    }

    #[test]
    fn accepts_header_variants() {
        let bytes = xlsx(|ws| {
            write_table(
                ws,
                0,
                &[
                    "Tên lớp: | MÃ HS * | Họ tên học sinh | Ngày sinh (dd/mm/yyyy) | GIOI TINH | Số CCCD | Điện thoại phụ huynh | Họ tên người giám hộ | Quan hệ với học sinh | Tình trạng",
                    "7B | HS0001 | Trần Văn Bình | 1/2/2013 | nam | 001213004567 | 0912.345.678 | Trần Thị Lan | bà nội | đang học",
                ],
            );
        });
        let parsed = parse_ok(&bytes);
        let row = &parsed.rows[0];
        assert_eq!(row.class_name, "7B");
        assert_eq!(row.grade, None);
        assert_eq!(row.personal_id.as_ref().unwrap().as_str(), "001213004567");
        assert_eq!(row.birth_date, date!(2013 - 02 - 01));
        assert_eq!(row.guardians.len(), 1);
        assert_eq!(row.guardians[0].name.as_deref(), Some("Trần Thị Lan"));
        assert_eq!(row.guardians[0].relation, "Bà nội");
        assert_eq!(parsed.columns[1], ("Mã học sinh".into(), "MÃ HS *".into()));
    }

    #[test]
    fn joins_split_name_columns() {
        let bytes = xlsx(|ws| {
            write_table(
                ws,
                0,
                &[
                    "Lớp | Mã HS | Họ đệm | Tên | Ngày sinh | Giới tính",
                    "6A2 | HS0001 | Phạm Minh | Khôi | 03/03/2014 | Nam",
                    "6A2 | HS0002 | | | 04/03/2014 | Nữ",
                ],
            );
        });
        let parsed = parse_roster(&bytes).unwrap();
        assert_eq!(parsed.rows[0].full_name, "Phạm Minh Khôi");
        assert_eq!(parsed.errors, vec![err(3, "Tên", "Thiếu tên")]);
    }

    #[test]
    fn numbers_keep_their_digits_and_regain_the_leading_zero() {
        let bytes = xlsx(|ws| {
            write_table(
                ws,
                0,
                &[
                    "Lớp | Mã học sinh | Họ và tên | Ngày sinh | Giới tính | SĐT phụ huynh | Số định danh cá nhân",
                    "6A1 | | Lý Thu Trang | 02/02/2014 | Nữ",
                ],
            );
            ws.write_number(1, 1, 79123456.0).unwrap();
            ws.write_number(1, 5, 912345678.0).unwrap();
            ws.write_number(1, 6, 79214001234.0).unwrap();
        });
        let parsed = parse_ok(&bytes);
        let row = &parsed.rows[0];
        assert_eq!(row.code.as_str(), "79123456");
        assert_eq!(row.guardians[0].phone.as_str(), "0912345678");
        assert_eq!(row.guardians[0].relation, "Phụ huynh");
        assert_eq!(row.personal_id.as_ref().unwrap().as_str(), "079214001234");
    }

    #[test]
    fn reads_excel_dates_serials_and_text_dates() {
        let bytes = xlsx(|ws| {
            write_table(
                ws,
                0,
                &[
                    BASIC_HEADER,
                    "1 | 6A1 | HS0001 | Đỗ Văn An | | Nam",
                    "2 | 6A1 | HS0002 | Đỗ Văn Bảo | | Nam",
                    "3 | 6A1 | HS0003 | Đỗ Văn Cường | 15/08/2014 | Nam",
                    "4 | 6A1 | HS0004 | Đỗ Văn Dũng | 2014-08-16 | Nam",
                    "5 | 6A1 | HS0005 | Đỗ Văn Em | | Nam",
                ],
            );
            let fmt = Format::new().set_num_format("dd/mm/yyyy");
            let d = XlsxDate::from_ymd(2014, 8, 13).unwrap();
            ws.write_datetime_with_format(1, 4, &d, &fmt).unwrap();
            // A serial number in a cell without date formatting (as after a paste-values).
            ws.write_number(2, 4, d.to_excel() + 1.0).unwrap();
            // Only a year: refused rather than read as a serial date in 1905.
            ws.write_number(5, 4, 2014.0).unwrap();
        });
        let parsed = parse_roster(&bytes).unwrap();
        let dates: Vec<Date> = parsed.rows.iter().map(|r| r.birth_date).collect();
        assert_eq!(
            dates,
            vec![
                date!(2014 - 08 - 13),
                date!(2014 - 08 - 14),
                date!(2014 - 08 - 15),
                date!(2014 - 08 - 16)
            ]
        );
        assert_eq!(
            parsed.errors,
            vec![err(
                6,
                "Ngày sinh",
                "Ngày sinh chỉ có năm 2014; hãy ghi đủ ngày/tháng/năm (dd/mm/yyyy)"
            )]
        );
    }

    #[test]
    fn impossible_date_bad_phone_and_bad_gender_are_row_errors() {
        let bytes = xlsx(|ws| {
            write_table(
                ws,
                0,
                &[
                    "Lớp | Mã học sinh | Họ và tên | Ngày sinh (ngày/tháng/năm) | Giới tính | SĐT cha",
                    "6A1 | HS0001 | Vũ Thị Mai | 31/02/2012 | Nữ | 0912345678",
                    "6A1 | HS0002 | Vũ Văn Nam | 01/02/2012 | Nam | 0241234567",
                    "6A1 | HS0003 | Vũ Văn Phong | 01/03/2012 | x | 091234",
                    "6A1 | HS0004 | Vũ Văn Quang | 01/04/2012 | Nam |",
                ],
            );
        });
        let parsed = parse_roster(&bytes).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].row, 5);
        let summary: Vec<(usize, &str)> = parsed
            .errors
            .iter()
            .map(|e| (e.row, e.column.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (2, "Ngày sinh (ngày/tháng/năm)"),
                (3, "SĐT cha"),
                (4, "Giới tính"),
                (4, "SĐT cha"),
            ]
        );
        assert_eq!(
            parsed.errors[0].message,
            "Ngày \"31/02/2012\" không tồn tại"
        );
        assert!(parsed.errors[1].message.contains("không phải số di động"));
    }

    #[test]
    fn missing_required_columns_are_named() {
        let bytes = xlsx(|ws| {
            write_table(
                ws,
                0,
                &[
                    "DANH SÁCH HỌC SINH",
                    "STT | Lớp | Họ và tên | Ngày sinh | Dân tộc",
                    "1 | 6A1 | Ngô Văn Tài | 01/01/2014 | Kinh",
                ],
            );
        });
        let err = parse_roster(&bytes).unwrap_err();
        assert_eq!(
            err,
            FileError::NoHeader {
                missing: vec!["Mã học sinh".into(), "Giới tính".into()]
            }
        );
        assert_eq!(
            err.to_string(),
            "Không tìm thấy dòng tiêu đề có đủ các cột bắt buộc; còn thiếu cột: Mã học sinh, Giới tính"
        );
    }

    #[test]
    fn duplicate_codes_name_the_first_row() {
        let bytes = xlsx(|ws| {
            write_table(
                ws,
                0,
                &[
                    "Tiêu đề",
                    "",
                    "",
                    "",
                    "",
                    BASIC_HEADER,
                    "1 | 6A1 | HS001 | Đặng Văn Hải | 01/01/2014 | Nam",
                    "2 | 6A1 | HS002 | Đặng Thị Hà | 02/01/2014 | Nữ",
                    "3 | 6A2 | hs001 | Đặng Văn Hiếu | 03/01/2014 | Nam",
                    // Also caught when the later row has other errors.
                    "4 | 6A2 | HS002 | Đặng Văn Hòa | 31/02/2014 | Nam",
                ],
            );
        });
        let parsed = parse_roster(&bytes).unwrap();
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(
            parsed.errors,
            vec![
                err(9, "Mã học sinh", "Mã học sinh HS001 trùng với dòng 7"),
                err(10, "Ngày sinh", "Ngày \"31/02/2014\" không tồn tại"),
                err(10, "Mã học sinh", "Mã học sinh HS002 trùng với dòng 8"),
            ]
        );
    }

    #[test]
    fn merged_class_cells_fill_down_but_plain_blanks_do_not() {
        let bytes = xlsx(|ws| {
            write_table(
                ws,
                0,
                &[
                    BASIC_HEADER,
                    "1 | | HS0001 | Bùi Văn An | 01/01/2014 | Nam",
                    "2 | | HS0002 | Bùi Thị Bích | 02/01/2014 | Nữ",
                    "3 | | HS0003 | Bùi Văn Chiến | 03/01/2014 | Nam",
                    "4 | | HS0004 | Bùi Văn Danh | 04/01/2014 | Nam",
                ],
            );
            ws.merge_range(1, 1, 3, 1, "6A3", &Format::new()).unwrap();
        });
        let parsed = parse_roster(&bytes).unwrap();
        let classes: Vec<&str> = parsed.rows.iter().map(|r| r.class_name.as_str()).collect();
        assert_eq!(classes, vec!["6A3", "6A3", "6A3"]);
        assert_eq!(parsed.errors, vec![err(5, "Lớp", "Thiếu lớp")]);
    }

    #[test]
    fn formula_cells_use_their_cached_value_and_errors_are_reported() {
        let bytes = xlsx(|ws| {
            write_table(
                ws,
                0,
                &[
                    BASIC_HEADER,
                    "1 | 6A1 | | Mai Văn Lộc | 01/01/2014 | Nam",
                    "2 | 6A1 | HS0002 | | 02/01/2014 | Nam",
                ],
            );
            let code = Formula::new("=\"HS\"&\"0001\"").set_result("HS0001");
            ws.write_formula(1, 2, code).unwrap();
            ws.write_formula(2, 3, "=#REF!").unwrap();
            ws.set_formula_result(2, 3, "#REF!");
        });
        let parsed = parse_roster(&bytes).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].code.as_str(), "HS0001");
        assert_eq!(
            parsed.errors,
            vec![err(3, "Họ và tên", "Ô có lỗi công thức (#REF!)")]
        );
    }

    #[test]
    fn class_names_turned_into_dates_by_excel_are_explained() {
        let bytes = xlsx(|ws| {
            write_table(
                ws,
                0,
                &[
                    BASIC_HEADER,
                    "1 | | HS0001 | Cao Văn Kiên | 01/01/2014 | Nam",
                ],
            );
            let fmt = Format::new().set_num_format("d/m");
            let jan_6 = XlsxDate::from_ymd(2026, 1, 6).unwrap();
            ws.write_datetime_with_format(1, 1, &jan_6, &fmt).unwrap();
        });
        let parsed = parse_roster(&bytes).unwrap();
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].column, "Lớp");
        assert!(parsed.errors[0].message.contains("Văn bản (Text)"));
    }

    #[test]
    fn non_spreadsheets_and_oversized_files_are_refused() {
        assert!(matches!(
            parse_roster(b"STT,Lop,Ma hoc sinh\n1,6A1,HS0001\n"),
            Err(FileError::NotExcel(_))
        ));
        let err = parse_roster(&[0x50, 0x4B, 0x03, 0x04, 0, 0, 0]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Tệp không phải bảng tính Excel (.xlsx/.xls/.ods)"
        );
        let too_large = parse_roster(&vec![0u8; MAX_FILE_BYTES + 1]).unwrap_err();
        assert!(matches!(too_large, FileError::TooLarge { .. }));
        assert_eq!(
            too_large.to_string(),
            "Tệp quá lớn (10,1 MB); chỉ nhận tệp tối đa 10 MB"
        );
        assert_eq!(parse_roster(&[]), Err(FileError::Empty));
    }

    #[test]
    fn header_without_students_is_empty_and_footer_lines_are_skipped() {
        let header_only = xlsx(|ws| write_table(ws, 0, &[BASIC_HEADER, "1", "2"]));
        assert_eq!(parse_roster(&header_only), Err(FileError::Empty));

        let with_footer = xlsx(|ws| {
            write_table(
                ws,
                0,
                &[
                    BASIC_HEADER,
                    "1 | 6A1 | HS0001 | Tô Văn Sơn | 01/01/2014 | Nam",
                    "",
                    " | Tổng số: 1 học sinh",
                    " | | | | | | Hiệu trưởng",
                ],
            );
        });
        assert_eq!(parse_ok(&with_footer).rows.len(), 1);
    }

    #[test]
    fn reads_two_row_headers_and_a_female_mark_column() {
        let bytes = xlsx(|ws| {
            let f = Format::new();
            for (c, name) in ["Lớp", "Mã học sinh", "Họ và tên", "Ngày sinh", "Nữ"]
                .iter()
                .enumerate()
            {
                ws.merge_range(0, c as u16, 1, c as u16, name, &f).unwrap();
            }
            ws.merge_range(0, 5, 0, 6, "Thông tin cha", &f).unwrap();
            ws.merge_range(0, 7, 0, 8, "Thông tin mẹ", &f).unwrap();
            write_table(
                ws,
                1,
                &[
                    " | | | | | Họ tên | SĐT | Họ tên | SĐT",
                    "9A | HS0001 | Lâm Văn Đạt | 01/01/2011 | | Lâm Văn Hải | 0912345678 | Phan Thị Nga | 0987654321",
                    "9A | HS0002 | Lâm Thị Duyên | 02/02/2011 | x | | | Lâm Thị Hằng | 0987654322",
                ],
            );
        });
        let parsed = parse_ok(&bytes);
        assert_eq!(parsed.header_row, 2);
        let [a, b] = &parsed.rows[..] else {
            panic!("two rows expected")
        };
        assert_eq!(a.gender, Gender::Male);
        assert_eq!(b.gender, Gender::Female);
        let relations: Vec<&str> = a.guardians.iter().map(|g| g.relation.as_str()).collect();
        assert_eq!(relations, vec!["Cha", "Mẹ"]);
        assert_eq!(a.guardians[0].name.as_deref(), Some("Lâm Văn Hải"));
        assert_eq!(b.guardians[0].relation, "Mẹ");
        let father_phone = ("SĐT cha".to_string(), "Thông tin cha / SĐT".to_string());
        assert!(parsed.columns.contains(&father_phone));
    }

    #[test]
    fn a_student_group_header_does_not_swallow_split_name_columns() {
        let bytes = xlsx(|ws| {
            let f = Format::new();
            for (c, name) in ["Lớp", "Mã HS"].iter().enumerate() {
                ws.merge_range(0, c as u16, 1, c as u16, name, &f).unwrap();
            }
            ws.merge_range(0, 2, 0, 5, "Học sinh", &f).unwrap();
            write_table(
                ws,
                1,
                &[
                    " | | Họ đệm | Tên | Ngày sinh | Giới tính",
                    "5A | HS0001 | Mạc Thị | Yến | 01/01/2015 | Nữ",
                ],
            );
        });
        let parsed = parse_ok(&bytes);
        assert_eq!(parsed.rows[0].full_name, "Mạc Thị Yến");
    }

    #[test]
    fn guardians_are_deduplicated_and_capped_at_two() {
        let bytes = xlsx(|ws| {
            write_table(
                ws,
                0,
                &[
                    "Lớp | Mã học sinh | Họ và tên | Ngày sinh | Giới tính | Họ tên cha | SĐT cha | Họ tên mẹ | SĐT mẹ | Số điện thoại liên hệ",
                    "8C | HS0001 | Kiều Văn Minh | 01/01/2012 | Nam | Kiều Văn Nam | 0912345678 | | | 0912345678",
                    "8C | HS0002 | Kiều Thị Nhung | 01/01/2012 | Nữ | | 0912345670 | | 0912345671 | 0912345672",
                    "8C | HS0003 | Kiều Văn Phú | 01/01/2012 | Nam | Kiều Văn Quý | | | | 0388888888 / 0399999999",
                ],
            );
        });
        let parsed = parse_ok(&bytes);
        let phones = |i: usize| -> Vec<&str> {
            parsed.rows[i]
                .guardians
                .iter()
                .map(|g| g.phone.as_str())
                .collect()
        };
        assert_eq!(phones(0), vec!["0912345678"]);
        assert_eq!(phones(1), vec!["0912345670", "0912345671"]);
        assert_eq!(phones(2), vec!["0388888888", "0399999999"]);
        assert_eq!(parsed.rows[2].guardians[1].relation, "Phụ huynh");
    }

    fn sample_export_rows() -> Vec<ExportRow> {
        let guardian = |name: Option<&str>, phone: &str, relation: &str| {
            (
                name.map(String::from),
                phone.to_string(),
                relation.to_string(),
            )
        };
        vec![
            ExportRow {
                class_name: "10A1".into(),
                code: "0123456789".into(),
                personal_id: Some("001210009999".into()),
                full_name: "Trịnh Thị Thu Hương".into(),
                birth_date: date!(2010 - 01 - 09),
                gender: Gender::Female,
                ethnicity: "Mường".into(),
                status: StudentStatus::Studying,
                guardians: vec![
                    guardian(Some("Trịnh Văn Long"), "0912345678", "Cha"),
                    guardian(None, "0387654321", "Mẹ"),
                ],
            },
            ExportRow {
                class_name: "10A2".into(),
                code: "HS-2025_07".into(),
                personal_id: None,
                full_name: "Đinh Công Tráng".into(),
                birth_date: date!(2010 - 12 - 31),
                gender: Gender::Male,
                ethnicity: "Kinh".into(),
                status: StudentStatus::Suspended,
                guardians: vec![
                    guardian(Some("Đinh Thị Lành"), "0561234567", "Bà ngoại"),
                    guardian(Some("Đinh Văn Cừ"), "0771234567", "Ông ngoại"),
                ],
            },
            ExportRow {
                class_name: "10A2".into(),
                code: "HS0003".into(),
                personal_id: None,
                full_name: "Lò Văn Páo".into(),
                birth_date: date!(2010 - 06 - 01),
                gender: Gender::Male,
                ethnicity: "Thái".into(),
                status: StudentStatus::TransferredOut,
                guardians: vec![],
            },
        ]
    }

    fn to_export(row: &RosterRow) -> ExportRow {
        ExportRow {
            class_name: row.class_name.clone(),
            code: row.code.as_str().to_string(),
            personal_id: row.personal_id.as_ref().map(|p| p.as_str().to_string()),
            full_name: row.full_name.clone(),
            birth_date: row.birth_date,
            gender: row.gender,
            ethnicity: row.ethnicity.clone(),
            status: row.status,
            guardians: row
                .guardians
                .iter()
                .map(|g| {
                    let phone = g.phone.as_str().to_string();
                    (g.name.clone(), phone, g.relation.clone())
                })
                .collect(),
        }
    }

    #[test]
    fn export_then_import_round_trips() {
        let original = sample_export_rows();
        let bytes = export_roster("Trường THPT Chu Văn An", "2025-2026", &original).unwrap();
        let parsed = parse_ok(&bytes);
        assert_eq!(parsed.sheet, ROSTER_SHEET);
        assert_eq!(parsed.header_row, TITLE_ROWS as usize + 1);
        let back: Vec<ExportRow> = parsed.rows.iter().map(to_export).collect();
        assert_eq!(back, original);
        // Every exported header is read as its own canonical column.
        let expected: Vec<(String, String)> = EXPORT_COLUMNS
            .iter()
            .map(|(h, _)| (h.to_string(), h.to_string()))
            .collect();
        assert_eq!(parsed.columns, expected);
    }

    #[test]
    fn template_parses_with_two_example_rows_and_has_a_guide() {
        let bytes = template();
        let parsed = parse_ok(&bytes);
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(parsed.rows[1].guardians[0].relation, "Bà nội");
        let workbook = open_workbook_auto_from_rs(Cursor::new(&bytes[..])).unwrap();
        assert_eq!(workbook.sheet_names(), vec![ROSTER_SHEET, GUIDE_SHEET]);
    }

    #[test]
    fn accepted_headers_cover_required_columns_without_collisions() {
        let required: Vec<&str> = accepted_headers()
            .into_iter()
            .filter(|(_, _, r)| *r)
            .map(|(n, _, _)| n)
            .collect();
        assert_eq!(
            required,
            vec!["Lớp", "Mã học sinh", "Họ và tên", "Ngày sinh", "Giới tính"]
        );
        let mut seen = HashMap::new();
        for spec in SPECS {
            for v in std::iter::once(&spec.name).chain(spec.variants) {
                if let Some(other) = seen.insert(header_key(v), spec.name) {
                    panic!("{v} is accepted for both {other} and {}", spec.name);
                }
            }
        }
    }

    #[test]
    fn five_thousand_rows_parse() {
        let bytes = xlsx(|ws| {
            write_table(ws, 0, &["DANH SÁCH HỌC SINH", BASIC_HEADER]);
            for i in 0..5000u32 {
                let r = i + 2;
                let birth = format!("{:02}/0{}/2013", 1 + i % 28, 1 + i % 9);
                ws.write_number(r, 0, f64::from(i + 1)).unwrap();
                ws.write_string(r, 1, format!("{}A{}", 6 + i % 4, i % 10))
                    .unwrap();
                ws.write_string(r, 2, format!("HS{i:06}")).unwrap();
                ws.write_string(r, 3, "Nguyễn Văn Học").unwrap();
                ws.write_string(r, 4, birth).unwrap();
                ws.write_string(r, 5, if i % 2 == 0 { "Nam" } else { "Nữ" })
                    .unwrap();
            }
        });
        let parsed = parse_ok(&bytes);
        assert_eq!(parsed.rows.len(), 5000);
        assert_eq!(parsed.rows[4999].row, 5002);
        assert_eq!(parsed.rows[4999].code.as_str(), "HS004999");
    }
}
