// Roster workbooks for the import tests, written in memory with exceljs the way schools' files
// look: Vietnamese headers, dates typed as text "dd/mm/yyyy" or as real Excel dates, phone
// numbers as text.

import ExcelJS from 'exceljs';

export const XLSX_MIME = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

const HEADER = ['STT', 'Lớp', 'Mã học sinh', 'Họ và tên', 'Ngày sinh', 'Giới tính', 'Dân tộc', 'Họ tên cha', 'SĐT cha', 'Họ tên mẹ', 'SĐT mẹ'];

async function workbook(rows, { title } = {}) {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'lophoc e2e';
  const ws = wb.addWorksheet('Danh sách học sinh');
  if (title) ws.addRow([title]);
  ws.addRow(HEADER);
  for (const r of rows) ws.addRow(r);
  // Phone and code columns are text in real exports (Excel would drop a leading 0 otherwise).
  for (const col of [3, 9, 11]) ws.getColumn(col).numFmt = '@';
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/**
 * A roster with two bad rows, at Excel rows 3 and 5 (row 1 is the header):
 * row 3 has a 6-digit father's phone, row 5 the impossible birth date 31/02/2012.
 */
export const BAD = {
  dateRow: 5,
  badDate: '31/02/2012',
  phoneRow: 3,
  badPhone: '091234',
};

export async function badRoster() {
  return workbook([
    [1, '6A1', 'E2EBAD01', 'Nguyễn Văn An', '05/09/2012', 'Nam', 'Kinh', 'Nguyễn Văn Bình', '0912345001', '', ''],
    [2, '6A1', 'E2EBAD02', 'Trần Thị Bích', '12/10/2012', 'Nữ', 'Kinh', 'Trần Văn Cường', BAD.badPhone, '', ''],
    [3, '6A1', 'E2EBAD03', 'Lê Văn Dũng', '01/01/2012', 'Nam', 'Tày', '', '', 'Hoàng Thị Hoa', '0987654002'],
    [4, '6A1', 'E2EBAD04', 'Phạm Thị Giang', BAD.badDate, 'Nữ', 'Kinh', '', '', 'Phạm Thị Hương', '0387654003'],
    [5, '6A1', 'E2EBAD05', 'Võ Minh Khoa', '30/06/2012', 'Nam', 'Kinh', 'Võ Văn Lâm', '0912345004', '', ''],
  ]);
}

/** Students of the good roster: all new codes, so the import creates exactly this many. */
export const GOOD_COUNT = 3;

export async function goodRoster() {
  return workbook(
    [
      [1, '6A9', 'E2EOK001', 'Đặng Thu Hà', '14/03/2013', 'Nữ', 'Kinh', 'Đặng Văn Hùng', '0912345101', 'Ngô Thị Lan', '0987654101'],
      [2, '6A9', 'E2EOK002', 'Bùi Quang Huy', new Date(Date.UTC(2013, 6, 2)), 'Nam', 'Mường', '', '', 'Bùi Thị Mai', '0387654102'],
      [3, '6A9', 'E2EOK003', 'Hoàng Gia Bảo', '2/11/2013', 'Nam', 'Kinh', 'Hoàng Văn Nam', '0561234103', '', ''],
    ],
    { title: 'DANH SÁCH HỌC SINH LỚP 6A9 NĂM HỌC 2025-2026' },
  );
}
