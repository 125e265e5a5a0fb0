pdf-paper = Paper versions (4 codes, PDF)
pdf-sa = Download PDF
pdf-sa-unit = Download summary PDF
pdf-coverage = Printable PDF
