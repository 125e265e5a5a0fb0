//! Any list as an Excel sheet: a title block, a bold header row frozen at the top, text and
//! number cells, sensible column widths. Every list of lophoc can be exported with it.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// A cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Self::Number(n as f64)
    }
}

/// Writes one sheet: `title` lines above the header, then the rows.
pub fn export(
    sheet: &str,
    title: &[String],
    headers: &[&str],
    rows: &[Vec<Cell>],
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet.chars().take(31).collect::<String>())?;
    let bold = Format::new().set_bold();
    for (i, line) in title.iter().enumerate() {
        ws.write_string_with_format(i as u32, 0, line, &bold)?;
    }
    let header_row = title.len() as u32 + usize::from(!title.is_empty()) as u32;
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(header_row, c as u16, *h, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let rr = header_row + 1 + r as u32;
        for (c, cell) in row.iter().enumerate() {
            match cell {
                Cell::Text(t) => {
                    ws.write_string(rr, c as u16, t)?;
                    if let Some(w) = widths.get_mut(c) {
                        *w = (*w).max(t.chars().count());
                    }
                }
                Cell::Number(n) => {
                    ws.write_number(rr, c as u16, *n)?;
                }
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, (*w).clamp(6, 50) as f64 + 2.0)?;
    }
    ws.set_freeze_panes(header_row + 1, 0)?;
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader};

    #[test]
    fn a_table_reads_back() {
        let bytes = export(
            "Độ phủ",
            &["Sở GD&ĐT tỉnh Ninh Bình".into()],
            &["Trường", "Giáo viên hoạt động"],
            &[vec!["THCS Gia Viễn".into(), 7i64.into()]],
        )
        .unwrap();
        let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let range = wb.worksheet_range("Độ phủ").unwrap();
        assert_eq!(
            range.get_value((2, 0)),
            Some(&Data::String("Trường".into()))
        );
        assert_eq!(
            range.get_value((3, 0)),
            Some(&Data::String("THCS Gia Viễn".into()))
        );
        assert_eq!(range.get_value((3, 1)), Some(&Data::Float(7.0)));
    }
}
