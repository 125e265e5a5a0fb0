//! Writing Word files: question banks in the layout the importer reads, printable papers with
//! answer sheets, and the downloadable template.
//!
//! Equations are written as Word equations (OMML) when the LaTeX uses the common school
//! constructs, and as `$LaTeX$` text otherwise; the importer reads both back.

use std::collections::HashSet;
use std::io::{Cursor, Write};

use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use crate::model::{
    Asset, Content, Exam, Question, QuestionKind, Section, Segment, format_number, option_letter,
};
use crate::shuffle::{Variant, key_text};
use crate::xml::esc;

const NS: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture""#;

/// Formatting of a run.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Fmt {
    pub bold: bool,
    pub underline: bool,
    pub red: bool,
}

impl Fmt {
    pub(crate) const BOLD: Fmt = Fmt {
        bold: true,
        underline: false,
        red: false,
    };
    pub(crate) const PLAIN: Fmt = Fmt {
        bold: false,
        underline: false,
        red: false,
    };
}

/// Builds a minimal, valid .docx in memory.
#[derive(Default)]
pub(crate) struct DocWriter {
    body: String,
    media: Vec<(String, Vec<u8>)>,
    rels: Vec<(String, String)>,
    images_written: HashSet<String>,
    drawing_id: usize,
}

/// A run of text; tabs and line breaks become `w:tab` and `w:br`.
pub(crate) fn run(text: &str, f: Fmt) -> String {
    let mut rpr = String::new();
    if f.bold {
        rpr.push_str("<w:b/>");
    }
    if f.red {
        rpr.push_str(r#"<w:color w:val="FF0000"/>"#);
    }
    if f.underline {
        rpr.push_str(r#"<w:u w:val="single"/>"#);
    }
    let rpr = if rpr.is_empty() {
        String::new()
    } else {
        format!("<w:rPr>{rpr}</w:rPr>")
    };
    let mut out = format!("<w:r>{rpr}");
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str("<w:br/>");
        }
        for (j, piece) in line.split('\t').enumerate() {
            if j > 0 {
                out.push_str("<w:tab/>");
            }
            if !piece.is_empty() {
                out.push_str(&format!(
                    r#"<w:t xml:space="preserve">{}</w:t>"#,
                    esc(piece)
                ));
            }
        }
    }
    out.push_str("</w:r>");
    out
}

fn png_size(bytes: &[u8]) -> Option<(u64, u64)> {
    if bytes.len() >= 24 && bytes.starts_with(b"\x89PNG") {
        let w = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]) as u64;
        let h = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]) as u64;
        if w > 0 && h > 0 {
            return Some((w, h));
        }
    }
    None
}

/// A file name safe inside the package.
fn media_name(a: &Asset) -> String {
    let mut name: String =
        a.id.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
    // The extension decides the content type inside the package, so it must be a known one.
    let known = [
        "png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "emf", "wmf", "svg", "webp", "bin",
    ];
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    if !ext.as_deref().is_some_and(|e| known.contains(&e)) {
        let ext = match a.mime.as_str() {
            "image/png" => "png",
            "image/jpeg" => "jpg",
            "image/gif" => "gif",
            "image/bmp" => "bmp",
            "image/tiff" => "tif",
            "image/emf" | "image/x-emf" => "emf",
            "image/wmf" | "image/x-wmf" => "wmf",
            "image/svg+xml" => "svg",
            "image/webp" => "webp",
            _ => "bin",
        };
        name = format!("{name}.{ext}");
    }
    name
}

impl DocWriter {
    /// Appends a paragraph of runs.
    pub(crate) fn para(&mut self, runs: &str) {
        self.body.push_str(&format!("<w:p>{runs}</w:p>"));
    }

    /// Appends a centred bold paragraph.
    pub(crate) fn heading(&mut self, text: &str) {
        self.body.push_str(&format!(
            r#"<w:p><w:pPr><w:jc w:val="center"/></w:pPr>{}</w:p>"#,
            run(text, Fmt::BOLD)
        ));
    }

    pub(crate) fn page_break(&mut self) {
        self.body
            .push_str(r#"<w:p><w:r><w:br w:type="page"/></w:r></w:p>"#);
    }

    /// Appends a table whose cells are already paragraph XML.
    pub(crate) fn table(&mut self, rows: &[Vec<String>]) {
        let mut x = String::from(
            r#"<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="0" w:type="auto"/><w:tblBorders><w:top w:val="single" w:sz="4"/><w:left w:val="single" w:sz="4"/><w:bottom w:val="single" w:sz="4"/><w:right w:val="single" w:sz="4"/><w:insideH w:val="single" w:sz="4"/><w:insideV w:val="single" w:sz="4"/></w:tblBorders></w:tblPr>"#,
        );
        // Word expects a grid; columns share a 16 cm text width.
        let cols = rows.iter().map(Vec::len).max().unwrap_or(1).max(1);
        x.push_str("<w:tblGrid>");
        for _ in 0..cols {
            x.push_str(&format!("<w:gridCol w:w=\"{}\"/>", 9000 / cols));
        }
        x.push_str("</w:tblGrid>");
        for r in rows {
            x.push_str("<w:tr>");
            for c in r {
                x.push_str(&format!("<w:tc>{c}</w:tc>"));
            }
            x.push_str("</w:tr>");
        }
        x.push_str("</w:tbl><w:p/>");
        self.body.push_str(&x);
    }

    /// Runs for a content: text, `$math$` kept as text, images as inline drawings.
    pub(crate) fn content(&mut self, c: &Content, f: Fmt, assets: &[Asset]) -> String {
        let mut out = String::new();
        for seg in c.segments() {
            match seg {
                Segment::Text(t) => out.push_str(&run(t, f)),
                Segment::Math(m) => match super::latex::to_omml(m) {
                    Some(xml) => out.push_str(&format!("<m:oMath>{xml}</m:oMath>")),
                    None => out.push_str(&run(&format!("${m}$"), f)),
                },
                Segment::Image(id) => match assets.iter().find(|a| a.id == id) {
                    Some(a) => out.push_str(&self.image(a)),
                    None => out.push_str(&run(&Content::image_ref(id), f)),
                },
            }
        }
        out
    }

    /// Writes content as paragraphs, one per line, the first prefixed with `prefix` runs.
    pub(crate) fn content_paras(&mut self, prefix: &str, c: &Content, assets: &[Asset]) {
        for (i, line) in c.as_str().split('\n').enumerate() {
            let runs = self.content(&Content(line.to_owned()), Fmt::PLAIN, assets);
            if i == 0 {
                self.para(&format!("{prefix}{runs}"));
            } else {
                self.para(&runs);
            }
        }
    }

    fn image(&mut self, a: &Asset) -> String {
        let name = media_name(a);
        let rid = format!("rIdImg{}", self.rels.len() + 1);
        let rid = match self
            .rels
            .iter()
            .find(|(_, t)| *t == format!("media/{name}"))
        {
            Some((r, _)) => r.clone(),
            None => {
                self.rels.push((rid.clone(), format!("media/{name}")));
                rid
            }
        };
        if self.images_written.insert(name.clone()) {
            self.media.push((name.clone(), a.bytes.clone()));
        }
        self.drawing_id += 1;
        // 96 dpi pixels to EMU, capped at 15 cm wide.
        let (w, h) = png_size(&a.bytes).unwrap_or((240, 180));
        let (mut cx, mut cy) = (w * 9525, h * 9525);
        if cx > 5_400_000 {
            cy = cy * 5_400_000 / cx;
            cx = 5_400_000;
        }
        let id = self.drawing_id;
        format!(
            r#"<w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="{id}" name="Picture {id}"/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic><pic:nvPicPr><pic:cNvPr id="{id}" name="{n}"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed="{rid}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>"#,
            n = esc(&name)
        )
    }

    /// Packs the document.
    pub(crate) fn finish(self) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default();
        let doc = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {NS}><w:body>{}<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1134" w:right="1134" w:bottom="1134" w:left="1134" w:header="709" w:footer="709" w:gutter="0"/></w:sectPr></w:body></w:document>"#,
            self.body
        );
        let mut rels = String::from(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
        );
        for (id, target) in &self.rels {
            rels.push_str(&format!(r#"<Relationship Id="{id}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="{}"/>"#, esc(target)));
        }
        rels.push_str("</Relationships>");
        let files: [(&str, String); 3] = [
            (
                "[Content_Types].xml",
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="png" ContentType="image/png"/><Default Extension="jpg" ContentType="image/jpeg"/><Default Extension="jpeg" ContentType="image/jpeg"/><Default Extension="gif" ContentType="image/gif"/><Default Extension="bmp" ContentType="image/bmp"/><Default Extension="tif" ContentType="image/tiff"/><Default Extension="tiff" ContentType="image/tiff"/><Default Extension="emf" ContentType="image/x-emf"/><Default Extension="wmf" ContentType="image/x-wmf"/><Default Extension="svg" ContentType="image/svg+xml"/><Default Extension="webp" ContentType="image/webp"/><Default Extension="bin" ContentType="application/octet-stream"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#.to_owned(),
            ),
            (
                "_rels/.rels",
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#.to_owned(),
            ),
            ("word/_rels/document.xml.rels", rels),
        ];
        // Writing to a Vec cannot fail short of memory exhaustion; errors are ignored rather than
        // surfaced because the output is built entirely from our own data.
        for (name, text) in files.iter() {
            let _ = zip.start_file(*name, opts);
            let _ = zip.write_all(text.as_bytes());
        }
        let _ = zip.start_file("word/document.xml", opts);
        let _ = zip.write_all(doc.as_bytes());
        for (name, bytes) in &self.media {
            let _ = zip.start_file(format!("word/media/{name}"), opts);
            let _ = zip.write_all(bytes);
        }
        zip.finish().map(Cursor::into_inner).unwrap_or_default()
    }
}

const ROMAN: [&str; 6] = ["I", "II", "III", "IV", "V", "VI"];

fn section_title(i: usize, s: &Section) -> String {
    if domain::text::fold(&s.title).starts_with("phan ") {
        s.title.clone()
    } else {
        format!(
            "PHẦN {}. {}",
            ROMAN.get(i).copied().unwrap_or("VII"),
            s.title
        )
    }
}

fn default_points(q: &Question, title: &str) -> f64 {
    let f = domain::text::fold(title);
    let is_part = |r: &str| {
        f.starts_with(&format!("phan {r}."))
            || f == format!("phan {r}")
            || f.starts_with(&format!("phan {r} "))
    };
    match &q.kind {
        QuestionKind::SingleChoice { .. }
            if is_part("i")
                || f.contains("lua chon")
                || f.contains("trac nghiem") && !f.contains("dung sai") =>
        {
            0.25
        }
        QuestionKind::ShortAnswer { .. } if is_part("iii") || f.contains("tra loi ngan") => 0.25,
        _ => 1.0,
    }
}

/// Writes one question in the layout the importer reads.
fn write_question(w: &mut DocWriter, number: usize, q: &Question, title: &str, assets: &[Asset]) {
    let pts = if (q.points - default_points(q, title)).abs() > 1e-9 {
        format!(" ({} điểm)", format_number(q.points))
    } else {
        String::new()
    };
    let label = run(&format!("Câu {number}{pts}. "), Fmt::BOLD);
    w.content_paras(&label, &q.stem, assets);
    match &q.kind {
        QuestionKind::SingleChoice { options, .. }
        | QuestionKind::MultipleResponse { options, .. } => {
            for (i, o) in options.iter().enumerate() {
                w.content_paras(
                    &run(&format!("{}. ", option_letter(i)), Fmt::BOLD),
                    o,
                    assets,
                );
            }
        }
        QuestionKind::TrueFalseCluster { statements } => {
            for (i, s) in statements.iter().enumerate() {
                w.content_paras(
                    &run(&format!("{}) ", (b'a' + i as u8) as char), Fmt::PLAIN),
                    &s.text,
                    assets,
                );
            }
        }
        QuestionKind::ShortAnswer { .. } => {}
        QuestionKind::Essay { rubric } => {
            if !rubric.is_empty() {
                w.para(&run("Hướng dẫn chấm:", Fmt::BOLD));
                for c in rubric {
                    w.para(&run(
                        &format!("- {} ({} điểm)", c.description, format_number(c.max_points)),
                        Fmt::PLAIN,
                    ));
                }
            }
        }
    }
    if let Some(e) = &q.explanation {
        w.content_paras(&run("Lời giải: ", Fmt::BOLD), e, assets);
    }
}

/// Before the first question of a run sharing a passage: an instruction naming the questions
/// (which the importer uses to re-link them) and the passage itself.
fn write_passage(w: &mut DocWriter, qs: &[&Question], i: usize, exam: &Exam) {
    let Some(id) = qs[i].passage.as_ref() else {
        return;
    };
    if i > 0 && qs[i - 1].passage.as_ref() == Some(id) {
        return;
    }
    let Some(p) = exam.passages.iter().find(|p| &p.id == id) else {
        return;
    };
    let last = (i..qs.len())
        .take_while(|j| qs[*j].passage.as_ref() == Some(id))
        .last()
        .unwrap_or(i);
    let which = if last > i {
        format!("câu {} đến câu {}", i + 1, last + 1)
    } else {
        format!("câu {}", i + 1)
    };
    w.para(&run(
        &format!("Đọc thông tin sau và trả lời {which}."),
        Fmt {
            bold: false,
            underline: false,
            red: false,
        },
    ));
    w.content_paras("", &p.content, &exam.assets);
}

fn key_table(w: &mut DocWriter, keys: &[(usize, String)]) {
    for chunk in keys.chunks(10) {
        let mut top = vec![cell("Câu")];
        let mut bottom = vec![cell("Đáp án")];
        for (n, k) in chunk {
            top.push(cell(&n.to_string()));
            bottom.push(cell(k));
        }
        w.table(&[top, bottom]);
    }
}

fn cell(text: &str) -> String {
    format!("<w:p>{}</w:p>", run(text, Fmt::PLAIN))
}

/// Writes an exam in the Vietnamese layout with a final BẢNG ĐÁP ÁN, readable by [`super::import`].
/// Metadata (topic, level, tags) is not written: Word has no place for it a teacher would keep.
pub fn export_docx(exam: &Exam) -> Vec<u8> {
    let mut w = DocWriter::default();
    if !exam.title.is_empty() {
        w.heading(&exam.title);
    }
    let mut keys: Vec<(String, Vec<(usize, String)>)> = Vec::new();
    for (si, s) in exam.sections.iter().enumerate() {
        let title = section_title(si, s);
        w.para(&run(&title, Fmt::BOLD));
        let mut section_keys = Vec::new();
        let qs: Vec<&Question> = s.questions.iter().collect();
        for (i, q) in s.questions.iter().enumerate() {
            write_passage(&mut w, &qs, i, exam);
            write_question(&mut w, i + 1, q, &title, &exam.assets);
            let k = key_text(q);
            if !k.is_empty() {
                section_keys.push((i + 1, k));
            }
        }
        keys.push((
            ROMAN.get(si).copied().unwrap_or("VII").to_owned(),
            section_keys,
        ));
    }
    w.heading("BẢNG ĐÁP ÁN");
    for (roman, k) in keys {
        if !k.is_empty() {
            w.para(&run(&format!("Đáp án phần {roman}"), Fmt::BOLD));
            key_table(&mut w, &k);
        }
    }
    w.finish()
}

/// The header printed on every version of a paper.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaperHeader {
    /// School or department, top left ("SỞ GD&ĐT …", "TRƯỜNG THPT …").
    pub school: String,
    /// The exam's name ("KIỂM TRA GIỮA KÌ I").
    pub title: String,
    /// Subject and grade ("Môn: Toán 12").
    pub subject: String,
    /// Duration in minutes.
    pub minutes: u32,
}

/// One document with every version: the paper, a bubble answer sheet, then the answer keys.
pub fn paper_docx(header: &PaperHeader, exam: &Exam, versions: &[Variant]) -> Vec<u8> {
    let mut w = DocWriter::default();
    for v in versions {
        w.para(&run(&header.school, Fmt::BOLD));
        w.heading(&header.title);
        w.heading(&format!(
            "{} — Thời gian làm bài: {} phút",
            header.subject, header.minutes
        ));
        w.para(&run(
            "Họ và tên: ……………………………… Số báo danh: …………",
            Fmt::PLAIN,
        ));
        w.para(&format!(
            "{}{}",
            run("Mã đề: ", Fmt::PLAIN),
            run(&v.code.to_string(), Fmt::BOLD)
        ));
        for (si, items) in v.sections.iter().enumerate() {
            let Some(section) = exam.sections.get(si) else {
                continue;
            };
            let title = section_title(si, section);
            w.para(&run(&title, Fmt::BOLD));
            let qs: Vec<&Question> = items.iter().map(|i| &i.question).collect();
            for (i, q) in qs.iter().enumerate() {
                write_passage(&mut w, &qs, i, exam);
                write_question(&mut w, i + 1, q, &title, &exam.assets);
            }
        }
        w.heading("----- HẾT -----");
        w.page_break();
        answer_sheet(&mut w, v);
        w.page_break();
    }
    w.heading("ĐÁP ÁN");
    for v in versions {
        w.para(&run(&format!("Mã đề {}", v.code), Fmt::BOLD));
        for (si, keys) in v.answer_key().iter().enumerate() {
            let k: Vec<(usize, String)> = keys
                .iter()
                .enumerate()
                .filter(|(_, k)| !k.is_empty())
                .map(|(i, k)| (i + 1, k.clone()))
                .collect();
            if !k.is_empty() {
                w.para(&run(
                    &format!("Phần {}", ROMAN.get(si).copied().unwrap_or("VII")),
                    Fmt::PLAIN,
                ));
                key_table(&mut w, &k);
            }
        }
    }
    w.finish()
}

fn answer_sheet(w: &mut DocWriter, v: &Variant) {
    w.heading(&format!("PHIẾU TRẢ LỜI — Mã đề {}", v.code));
    for (si, items) in v.sections.iter().enumerate() {
        let mut rows = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let bubbles = match &item.question.kind {
                QuestionKind::SingleChoice { options, .. }
                | QuestionKind::MultipleResponse { options, .. } => (0..options.len())
                    .map(|o| format!("○ {}", option_letter(o)))
                    .collect::<Vec<_>>()
                    .join("   "),
                QuestionKind::TrueFalseCluster { statements } => (0..statements.len())
                    .map(|s| format!("{}) Đ ○  S ○", (b'a' + s as u8) as char))
                    .collect::<Vec<_>>()
                    .join("   "),
                QuestionKind::ShortAnswer { .. } => "☐ ☐ ☐ ☐".to_owned(),
                QuestionKind::Essay { .. } => continue,
            };
            rows.push(vec![cell(&format!("{}", i + 1)), cell(&bubbles)]);
        }
        if !rows.is_empty() {
            w.para(&run(
                &format!("Phần {}", ROMAN.get(si).copied().unwrap_or("VII")),
                Fmt::BOLD,
            ));
            w.table(&rows);
        }
    }
}

/// A fraction in OMML, for the template.
fn omml_frac(num: &str, den: &str) -> String {
    format!(
        "<m:f><m:num><m:r><m:t>{num}</m:t></m:r></m:num><m:den><m:r><m:t>{den}</m:t></m:r></m:den></m:f>"
    )
}

/// A sample Word file in the layout the importer expects, for teachers to download and fill in.
pub fn template_docx() -> Vec<u8> {
    let mut w = DocWriter::default();
    let p = |w: &mut DocWriter, parts: &[(&str, Fmt)]| {
        let runs: String = parts.iter().map(|(t, f)| run(t, *f)).collect();
        w.para(&runs);
    };
    let u = Fmt {
        underline: true,
        ..Fmt::PLAIN
    };
    let red = Fmt {
        red: true,
        ..Fmt::PLAIN
    };
    let b = Fmt::BOLD;
    let n = Fmt::PLAIN;
    w.heading("MẪU NGÂN HÀNG CÂU HỎI");
    p(
        &mut w,
        &[(
            "Hướng dẫn: mỗi câu bắt đầu bằng \"Câu 1.\"; đáp án đúng được gạch chân hoặc tô đỏ, ghi \"Đáp án: …\", hoặc ghi trong BẢNG ĐÁP ÁN cuối tệp.",
            n,
        )],
    );
    p(
        &mut w,
        &[("PHẦN I. Câu trắc nghiệm nhiều phương án lựa chọn", b)],
    );
    // Câu 1: an OMML equation in the stem, key underlined.
    let sqrt = "<m:rad><m:radPr><m:degHide m:val=\"1\"/></m:radPr><m:deg/><m:e><m:r><m:t>x</m:t></m:r></m:e></m:rad>";
    w.para(&format!(
        "{}<m:oMath><m:r><m:t>y=</m:t></m:r>{}<m:r><m:t>+</m:t></m:r>{sqrt}</m:oMath>{}",
        run("Câu 1. ", b),
        omml_frac("1", "x"),
        run(" có tập xác định là", n)
    ));
    p(&mut w, &[("A. ", b), ("D = [0; +∞)", n)]);
    p(&mut w, &[("B. ", b), ("D = (0; +∞)", u)]);
    p(&mut w, &[("C. ", b), ("D = ℝ", n)]);
    p(&mut w, &[("D. ", b), ("D = ℝ \\ {0}", n)]);
    // Câu 2: options on one line with tabs, key in red.
    p(&mut w, &[("Câu 2. ", b), ("Thủ đô của Việt Nam là", n)]);
    p(
        &mut w,
        &[
            ("A. Huế\t", n),
            ("B. Hà Nội", red),
            ("\tC. Đà Nẵng\tD. Tất cả đều sai", n),
        ],
    );
    // Câu 3: key given in the table at the end.
    p(
        &mut w,
        &[
            ("Câu 3: ", b),
            ("Số nghiệm của phương trình x² − 1 = 0 là", n),
        ],
    );
    p(&mut w, &[("A. 0\t\tB. 1", n)]);
    p(&mut w, &[("C. 2\t\tD. 3", n)]);
    p(&mut w, &[("PHẦN II. Câu trắc nghiệm đúng sai", b)]);
    p(&mut w, &[("Câu 1. ", b), ("Cho hàm số f(x) = x³ − 3x.", n)]);
    p(&mut w, &[("a) f(0) = 0.", n)]);
    p(&mut w, &[("b) Hàm số đồng biến trên ℝ.", n)]);
    p(&mut w, &[("c) f'(x) = 3x² − 3.", n)]);
    p(&mut w, &[("d) Hàm số có hai điểm cực trị.", n)]);
    p(&mut w, &[("Đáp án: Đ S Đ Đ", n)]);
    p(&mut w, &[("Câu 2. ", b), ("Về lịch sử Việt Nam:", n)]);
    p(&mut w, &[("a) Chiến thắng Điện Biên Phủ năm 1954.", red)]);
    p(&mut w, &[("b) Bác Hồ đọc Tuyên ngôn Độc lập năm 1946.", n)]);
    p(&mut w, &[("c) Thành nhà Hồ được xây năm 1397.", red)]);
    p(&mut w, &[("d) Hà Nội là kinh đô thời Nguyễn.", n)]);
    p(&mut w, &[("PHẦN III. Câu trắc nghiệm trả lời ngắn", b)]);
    w.para(&format!(
        "{}{}<m:oMath>{}</m:oMath>{}",
        run("Câu 1. ", b),
        run("Tính giá trị của ", n),
        omml_frac("5", "2"),
        run(" (viết dưới dạng số thập phân).", n)
    ));
    p(&mut w, &[("Đáp án: 2,5", n)]);
    p(&mut w, &[("PHẦN IV. Tự luận", b)]);
    p(
        &mut w,
        &[
            ("Câu 1 (2 điểm). ", b),
            ("Giải phương trình x² − 5x + 6 = 0.", n),
        ],
    );
    p(&mut w, &[("Hướng dẫn chấm:", b)]);
    p(&mut w, &[("- Tính đúng biệt thức (1 điểm)", n)]);
    p(
        &mut w,
        &[("- Kết luận hai nghiệm x = 2, x = 3 (1 điểm)", n)],
    );
    w.heading("BẢNG ĐÁP ÁN");
    w.table(&[
        vec![cell("Câu"), cell("1"), cell("2"), cell("3")],
        vec![cell("Đáp án"), cell("B"), cell("B"), cell("C")],
    ]);
    w.finish()
}
