pdf-paper = In đề giấy (4 mã đề, PDF)
pdf-sa = Tải PDF
pdf-sa-unit = Tải PDF tổng hợp
pdf-coverage = Bản in PDF
