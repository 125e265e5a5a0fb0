//! The data-exchange files for the sector database (CSDL ngành): schools, classes, students and
//! results, keyed by mã trường and mã định danh, as one Excel workbook (a sheet per table) or one
//! CSV file per table. The column lists below are the documented layout
//! (docs/trao-doi-du-lieu.md): their order and headers do not change between versions.
//!
//! Excel sheets are written in constant-memory mode (rows go straight to a temporary file), so a
//! province of 300,000 students does not hold the whole workbook in memory twice. A sheet holds
//! at most [`MAX_SHEET_ROWS`] data rows; longer tables continue on sheets named `KetQua_2`, ….

use crate::table::Cell;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// One table of the exchange layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// Sheet name in the workbook (ASCII, as the sector database's import expects).
    pub sheet: &'static str,
    /// File name of the CSV (without extension), also the URL segment.
    pub file: &'static str,
    /// Column headers, in order.
    pub headers: &'static [&'static str],
}

/// Schools: one row per school.
pub const SCHOOLS: Table = Table {
    sheet: "Truong",
    file: "truong",
    headers: &[
        "Mã đơn vị quản lý",
        "Tên đơn vị quản lý",
        "Mã trường",
        "Tên trường",
        "Cấp học",
        "Địa chỉ",
        "Năm học",
        "Số lớp",
        "Số học sinh",
    ],
};

/// Classes of the current school year: one row per class.
pub const CLASSES: Table = Table {
    sheet: "Lop",
    file: "lop",
    headers: &[
        "Mã trường",
        "Năm học",
        "Tên lớp",
        "Khối",
        "Giáo viên chủ nhiệm",
        "Sĩ số",
    ],
};

/// Students of the current year's classes: one row per student with a mã định danh.
pub const STUDENTS: Table = Table {
    sheet: "HocSinh",
    file: "hoc-sinh",
    headers: &[
        "Mã trường",
        "Mã định danh",
        "Mã học sinh",
        "Họ và tên",
        "Ngày sinh",
        "Giới tính",
        "Dân tộc",
        "Lớp",
        "Khối",
        "Trạng thái",
    ],
};

/// Results: one row per student and subject that has grades this year.
pub const RESULTS: Table = Table {
    sheet: "KetQua",
    file: "ket-qua",
    headers: &[
        "Mã trường",
        "Mã định danh",
        "Mã học sinh",
        "Lớp",
        "Mã môn",
        "Tên môn",
        "Hình thức đánh giá",
        "Kết quả học kỳ I",
        "Kết quả học kỳ II",
        "Kết quả cả năm",
    ],
};

/// Rows left out of the upload tables, with the reason: to be fixed before uploading.
pub const PROBLEMS: Table = Table {
    sheet: "CanBoSung",
    file: "can-bo-sung",
    headers: &["Mã trường", "Tên trường", "Đối tượng", "Lớp", "Cần bổ sung"],
};

/// Every table, in workbook order.
pub const TABLES: [Table; 5] = [SCHOOLS, CLASSES, STUDENTS, RESULTS, PROBLEMS];

/// The table whose CSV file is named `file`.
pub fn table(file: &str) -> Option<Table> {
    TABLES.into_iter().find(|t| t.file == file)
}

/// Data rows per sheet (Excel's limit is 1,048,576 rows, header included).
pub const MAX_SHEET_ROWS: usize = 1_000_000;

/// Writes the workbook: for each table its rows, the header bold and frozen, text cells as text
/// (codes such as `0012` keep their zeros).
pub fn xlsx(tables: &[(Table, &[Vec<Cell>])]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    for (table, rows) in tables {
        let chunks: Vec<&[Vec<Cell>]> = if rows.is_empty() {
            vec![&rows[..]]
        } else {
            rows.chunks(MAX_SHEET_ROWS).collect()
        };
        for (i, chunk) in chunks.into_iter().enumerate() {
            let ws = wb.add_worksheet_with_constant_memory()?;
            if i == 0 {
                ws.set_name(table.sheet)?;
            } else {
                ws.set_name(format!("{}_{}", table.sheet, i + 1))?;
            }
            // Constant memory: widths before any row.
            for (c, h) in table.headers.iter().enumerate() {
                let w = match *h {
                    "Họ và tên"
                    | "Tên trường"
                    | "Tên đơn vị quản lý"
                    | "Địa chỉ"
                    | "Cần bổ sung" => 32.0,
                    "Giáo viên chủ nhiệm" | "Tên môn" | "Đối tượng" => 24.0,
                    _ => (h.chars().count() as f64 + 2.0).max(10.0),
                };
                ws.set_column_width(c as u16, w)?;
            }
            ws.set_freeze_panes(1, 0)?;
            for (c, h) in table.headers.iter().enumerate() {
                ws.write_string_with_format(0, c as u16, *h, &bold)?;
            }
            for (r, row) in chunk.iter().enumerate() {
                let rr = 1 + r as u32;
                for (c, cell) in row.iter().enumerate() {
                    match cell {
                        Cell::Text(t) if t.is_empty() => {}
                        Cell::Text(t) => {
                            ws.write_string(rr, c as u16, t)?;
                        }
                        Cell::Number(n) => {
                            ws.write_number(rr, c as u16, *n)?;
                        }
                    }
                }
            }
        }
    }
    wb.save_to_buffer()
}

/// Appends one CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// Appends rows to a CSV text (without the header); numbers are written without a decimal part
/// when they are whole.
pub fn csv_rows(out: &mut String, rows: &[Vec<Cell>]) {
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match cell {
                Cell::Text(t) => field(out, t),
                Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => {
                    out.push_str(&format!("{}", *n as i64));
                }
                Cell::Number(n) => out.push_str(&n.to_string()),
            }
        }
        out.push_str("\r\n");
    }
}

/// The start of a CSV file of `table`: a UTF-8 byte-order mark (so Excel opens Vietnamese text
/// correctly) and the header line.
pub fn csv_header(table: Table) -> String {
    let mut out = String::from("\u{feff}");
    for (i, h) in table.headers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(&mut out, h);
    }
    out.push_str("\r\n");
    out
}

/// A whole CSV file of `table`.
pub fn csv(table: Table, rows: &[Vec<Cell>]) -> Vec<u8> {
    let mut out = csv_header(table);
    csv_rows(&mut out, rows);
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader};

    #[test]
    fn csv_quotes_what_needs_quoting_and_starts_with_a_bom() {
        let rows = vec![vec![
            Cell::from("37THCS01"),
            Cell::from("Nguyễn Văn \"Bin\", con"),
            Cell::from(9i64),
        ]];
        let text = String::from_utf8(csv(SCHOOLS, &rows)).unwrap();
        assert!(text.starts_with("\u{feff}Mã đơn vị quản lý,Tên đơn vị quản lý,Mã trường"));
        assert!(text.ends_with("37THCS01,\"Nguyễn Văn \"\"Bin\"\", con\",9\r\n"));
    }

    #[test]
    fn the_workbook_has_a_sheet_per_table_and_keeps_codes_as_text() {
        let students = vec![vec![
            Cell::from("37THCS01"),
            Cell::from("037212000123"),
            Cell::from("0012"),
            Cell::from("Lê Thị Đào"),
        ]];
        let bytes = xlsx(&[(SCHOOLS, &[]), (STUDENTS, &students)]).unwrap();
        let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(wb.sheet_names(), vec!["Truong", "HocSinh"]);
        let r = wb.worksheet_range("HocSinh").unwrap();
        assert_eq!(
            r.get_value((0, 1)),
            Some(&Data::String("Mã định danh".into()))
        );
        assert_eq!(r.get_value((1, 2)), Some(&Data::String("0012".into())));
        assert_eq!(
            r.get_value((1, 3)),
            Some(&Data::String("Lê Thị Đào".into()))
        );
    }

    #[test]
    fn tables_are_found_by_file_name() {
        assert_eq!(table("hoc-sinh"), Some(STUDENTS));
        assert_eq!(table("../etc"), None);
    }
}
