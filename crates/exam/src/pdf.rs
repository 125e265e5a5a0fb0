//! Paper versions (mã đề) as PDF, through typst ([`pdf`] crate): the same header and content as
//! [`crate::docx::paper_docx`], laid out as a printed 2025-format paper.
//!
//! One document holds every version: the paper (header with school, exam, subject, duration and
//! mã đề; PHẦN I/II/III with their instructions; questions with options laid out in one, two or
//! four columns by length; images; formulas), then its answer sheet (phiếu trả lời) with bubbles,
//! and at the end the answer-key table of every version. Pages are numbered per version.
//!
//! A formula the converter does not understand prints as its LaTeX source, an image typst cannot
//! read prints as its name, and if typst still refuses the document (a corrupt image), it is
//! rendered again without images, then without formulas, so a teacher always gets a paper.

use std::collections::HashMap;
use std::fmt::Write as _;

use domain::text::fold;

use crate::docx::PaperHeader;
use crate::model::{Asset, Content, Exam, Question, QuestionKind, Section, Segment, option_letter};
use crate::shuffle::Variant;

pub use ::pdf::PdfError;

const ROMAN: [&str; 6] = ["I", "II", "III", "IV", "V", "VI"];

fn roman(i: usize) -> &'static str {
    ROMAN.get(i).copied().unwrap_or("VII")
}

/// "PHẦN I. ….": the section's own title when it already says PHẦN, ending with a full stop.
fn section_title(i: usize, s: &Section) -> String {
    let title = s.title.trim();
    let mut t = if fold(title).starts_with("phan ") {
        title.to_owned()
    } else if title.is_empty() {
        format!("PHẦN {}", roman(i))
    } else {
        format!("PHẦN {}. {title}", roman(i))
    };
    if !t.ends_with(['.', ':', '?', '!']) {
        t.push('.');
    }
    t
}

/// The instruction of the 2025 format for a part whose questions are all of one kind.
fn instruction(items: &[&Question]) -> Option<String> {
    let n = items.len();
    let range = if n == 1 {
        "câu 1".to_owned()
    } else {
        format!("từ câu 1 đến câu {n}")
    };
    let all = |f: fn(&QuestionKind) -> bool| n > 0 && items.iter().all(|q| f(&q.kind));
    if all(|k| matches!(k, QuestionKind::SingleChoice { .. })) {
        Some(format!(
            "Thí sinh trả lời {range}. Mỗi câu hỏi thí sinh chỉ chọn một phương án."
        ))
    } else if all(|k| matches!(k, QuestionKind::TrueFalseCluster { .. })) {
        Some(format!(
            "Thí sinh trả lời {range}. Trong mỗi ý a), b), c), d) ở mỗi câu, thí sinh chọn đúng hoặc sai."
        ))
    } else if all(|k| matches!(k, QuestionKind::ShortAnswer { .. })) {
        Some(format!("Thí sinh trả lời {range}."))
    } else {
        None
    }
}

/// How much of a paper is rendered; each step down is a fallback after typst refused.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Mode {
    images: bool,
    formulas: bool,
}

/// Writes typst for one exam's content, collecting the image files it needs.
struct Writer<'a> {
    assets: &'a [Asset],
    mode: Mode,
    /// Asset id → file name inside the document, and the files.
    names: HashMap<String, String>,
    files: Vec<(String, Vec<u8>)>,
}

/// Pixel size of a PNG, from its header.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() >= 24 && bytes.starts_with(b"\x89PNG") {
        let w = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        let h = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
        if w > 0 && h > 0 {
            return Some((w, h));
        }
    }
    None
}

/// The file extension typst reads for these bytes, by their signature (not the stored mime).
fn image_kind(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("gif")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("webp")
    } else {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]);
        let head = head.trim_start_matches('\u{feff}').trim_start();
        (head.starts_with('<') && head.contains("<svg")).then_some("svg")
    }
}

impl<'a> Writer<'a> {
    fn new(assets: &'a [Asset], mode: Mode) -> Self {
        Writer {
            assets,
            mode,
            names: HashMap::new(),
            files: Vec::new(),
        }
    }

    fn image(&mut self, id: &str) -> String {
        let missing = || ::pdf::escape(&format!("[hình {id}]"));
        if !self.mode.images {
            return missing();
        }
        let Some(a) = self.assets.iter().find(|a| a.id == id) else {
            return missing();
        };
        let Some(ext) = image_kind(&a.bytes) else {
            // EMF/WMF/BMP/TIFF from old Word files: typst cannot draw them.
            return missing();
        };
        let name = match self.names.get(id) {
            Some(n) => n.clone(),
            None => {
                let n = format!("img/{}.{ext}", self.names.len() + 1);
                self.names.insert(id.to_owned(), n.clone());
                self.files.push((n.clone(), a.bytes.clone()));
                n
            }
        };
        // PNG pixels at 96 dpi as in Word, at most the text width; other images at their own
        // resolution, which typst already shrinks to the space there is.
        let width = match png_size(&a.bytes) {
            Some((w, _)) => format!(", width: {:.2}cm", (f64::from(w) * 2.54 / 96.0).min(17.0)),
            None => String::new(),
        };
        format!(
            "#box(baseline: 15%, image({}{width}))",
            ::pdf::string_literal(&name)
        )
    }

    /// Markup for content: text escaped, formulas converted, images embedded.
    fn content(&mut self, c: &Content) -> String {
        let mut out = String::new();
        for seg in c.segments() {
            match seg {
                Segment::Text(t) => out.push_str(&::pdf::escape(t)),
                Segment::Math(m) if self.mode.formulas => out.push_str(&::pdf::math(m)),
                Segment::Math(m) => out.push_str(&::pdf::escape(&format!("${m}$"))),
                Segment::Image(id) => out.push_str(&self.image(id)),
            }
        }
        out
    }

    /// Options in four, two or one columns, as Vietnamese papers set them.
    fn options(&mut self, options: &[Content]) -> String {
        let longest = options
            .iter()
            .map(|o| {
                let t = o.as_str();
                // Images and formulas take more room than their source length.
                let images = o.image_ids().len() * 40;
                t.chars().count() / if t.contains('$') { 2 } else { 1 } + images
            })
            .max()
            .unwrap_or(0);
        let cols = if longest <= 22 {
            4
        } else if longest <= 48 {
            2
        } else {
            1
        };
        let mut cells = Vec::new();
        for (i, o) in options.iter().enumerate() {
            cells.push(format!(
                "[*{}.* {}]",
                option_letter(i),
                self.content(o).replace('\n', " ")
            ));
        }
        format!(
            "#grid(columns: (1fr,) * {cols}, column-gutter: 8pt, row-gutter: 6pt, inset: (left: 1.2em), {})\n",
            cells.join(", ")
        )
    }

    fn question(&mut self, number: usize, q: &Question, usual_points: f64) -> String {
        let mut out = String::new();
        let pts = if (q.points - usual_points).abs() > 1e-9
            || matches!(q.kind, QuestionKind::Essay { .. })
        {
            format!(" ({} điểm)", crate::model::format_number(q.points))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "#block(breakable: true, above: 0.9em)[*Câu {number}{}.* {}",
            ::pdf::escape(&pts),
            self.content(&q.stem)
        );
        match &q.kind {
            QuestionKind::SingleChoice { options, .. }
            | QuestionKind::MultipleResponse { options, .. } => {
                out.push_str(&self.options(options));
            }
            QuestionKind::TrueFalseCluster { statements } => {
                for (i, s) in statements.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "#pad(left: 1.2em, top: 2pt)[{}) {}]",
                        (b'a' + i as u8) as char,
                        self.content(&s.text)
                    );
                }
            }
            QuestionKind::ShortAnswer { .. } | QuestionKind::Essay { .. } => {}
        }
        out.push_str("]\n");
        out
    }
}

/// The points most questions of a part carry; others get "(x điểm)" printed.
fn usual_points(items: &[&Question]) -> f64 {
    let mut counts: Vec<(f64, usize)> = Vec::new();
    for q in items {
        match counts
            .iter_mut()
            .find(|(p, _)| (*p - q.points).abs() < 1e-9)
        {
            Some(c) => c.1 += 1,
            None => counts.push((q.points, 1)),
        }
    }
    counts
        .into_iter()
        .max_by_key(|c| c.1)
        .map(|c| c.0)
        .unwrap_or(0.0)
}

const PREAMBLE: &str = r#"#set document(title: TITLE)
#set text(font: "Libertinus Serif", size: 12pt, lang: "vi")
#set par(justify: true, leading: 0.55em, spacing: 0.7em)
#let made = state("ma-de", "")
#set page(paper: "a4", margin: (x: 1.8cm, top: 1.5cm, bottom: 1.8cm),
  footer: context {
    set text(size: 9pt)
    let code = made.get()
    align(center)[#if code != "" [Mã đề #code – ]Trang #counter(page).display()]
  })
#show heading: set text(size: 12pt)
#let part(title, note) = block(above: 1.1em, below: 0.5em)[#text(weight: "bold", title)#if note != none [ #note]]
#let bubble(letter) = box(baseline: 20%, circle(radius: 6pt, stroke: 0.6pt, align(center + horizon, text(size: 7pt, letter))))
#let digitbox = box(width: 14pt, height: 16pt, stroke: 0.6pt)
"#;

/// The header of version number `vi` (0-based) with code `code`.
fn paper_header(h: &PaperHeader, vi: usize, code: u32, w: &mut String) {
    let _ = writeln!(
        w,
        "#made.update({})\n#counter(page).update(1)",
        ::pdf::string_literal(&code.to_string())
    );
    let _ = writeln!(
        w,
        "#grid(columns: (2fr, 3fr), align: center + top, column-gutter: 8pt,\n  [#text(weight: \"bold\")[{}]\n\n#line(length: 30%, stroke: 0.5pt)\n\n#text(style: \"italic\", size: 10pt)[(Đề thi có #context counter(page).at(<het-{vi}>).first() trang)]],\n  [#text(weight: \"bold\")[{}]\n\n#text(weight: \"bold\")[{}]\n\n#text(style: \"italic\")[Thời gian làm bài: {} phút, không kể thời gian phát đề]])",
        ::pdf::escape(&h.school),
        ::pdf::escape(&h.title),
        ::pdf::escape(&h.subject),
        h.minutes,
    );
    let _ = writeln!(
        w,
        "#v(6pt)\n#grid(columns: (1fr, auto), align: (left + horizon, right + horizon),\n  [Họ và tên thí sinh: #box(width: 1fr, repeat[.])\\\nSố báo danh: #box(width: 5cm, repeat[.])],\n  box(stroke: 1pt, inset: 6pt)[*Mã đề {code}*])\n#v(4pt)"
    );
}

fn answer_sheet(h: &PaperHeader, v: &Variant, exam: &Exam, w: &mut String) {
    let _ = writeln!(
        w,
        "#pagebreak()\n#align(center)[#text(weight: \"bold\", size: 14pt)[PHIẾU TRẢ LỜI]\\\n{} – {}]\n#grid(columns: (1fr, auto), [Họ và tên thí sinh: #box(width: 1fr, repeat[.])\\\nSố báo danh: #box(width: 5cm, repeat[.])], box(stroke: 1pt, inset: 6pt)[*Mã đề {}*])\n#v(6pt)",
        ::pdf::escape(&h.title),
        ::pdf::escape(&h.subject),
        v.code
    );
    for (si, items) in v.sections.iter().enumerate() {
        if exam.sections.get(si).is_none() {
            continue;
        }
        let mut cells = Vec::new();
        let mut cols = 4;
        for (i, item) in items.iter().enumerate() {
            let n = i + 1;
            let cell = match &item.question.kind {
                QuestionKind::SingleChoice { options, .. }
                | QuestionKind::MultipleResponse { options, .. } => {
                    let b: Vec<String> = (0..options.len())
                        .map(|o| format!("#bubble[{}]", option_letter(o)))
                        .collect();
                    format!("[*{n}.* {}]", b.join(" "))
                }
                QuestionKind::TrueFalseCluster { statements } => {
                    cols = 2;
                    let b: Vec<String> = (0..statements.len())
                        .map(|s| format!("{}) #bubble[Đ] #bubble[S]", (b'a' + s as u8) as char))
                        .collect();
                    format!("[*Câu {n}.* {}]", b.join(" #h(4pt) "))
                }
                QuestionKind::ShortAnswer { .. } => {
                    cols = 3;
                    format!("[*Câu {n}.* #digitbox#digitbox#digitbox#digitbox]")
                }
                QuestionKind::Essay { .. } => continue,
            };
            cells.push(cell);
        }
        if cells.is_empty() {
            continue;
        }
        let _ = writeln!(
            w,
            "#part([PHẦN {}], none)\n#table(columns: (1fr,) * {cols}, inset: 5pt, stroke: 0.5pt, {})",
            roman(si),
            cells.join(", ")
        );
    }
    let _ = writeln!(
        w,
        "#v(8pt)\n#text(size: 10pt, style: \"italic\")[Tô kín một ô cho mỗi câu ở phần trắc nghiệm; ở phần trả lời ngắn, viết mỗi kí tự (chữ số, dấu \"\\-\", dấu \"\\,\") vào một ô.]"
    );
}

fn key_tables(versions: &[Variant], w: &mut String) {
    let _ = writeln!(
        w,
        "#pagebreak()\n#made.update(\"\")\n#counter(page).update(1)\n#align(center)[#text(weight: \"bold\", size: 14pt)[ĐÁP ÁN]]"
    );
    for v in versions {
        // One version's keys stay on one page.
        let _ = writeln!(w, "#block(breakable: false, above: 1.2em)[");
        let _ = writeln!(w, "#block(below: 0.4em)[*Mã đề {}*]", v.code);
        for (si, keys) in v.answer_key().iter().enumerate() {
            let k: Vec<(usize, &String)> = keys
                .iter()
                .enumerate()
                .filter(|(_, k)| !k.is_empty())
                .map(|(i, k)| (i + 1, k))
                .collect();
            if k.is_empty() {
                continue;
            }
            let _ = writeln!(w, "Phần {}", roman(si));
            for chunk in k.chunks(10) {
                let mut cells = vec!["[*Câu*]".to_owned()];
                cells.extend(chunk.iter().map(|(n, _)| format!("[{n}]")));
                cells.push("[*Đáp án*]".to_owned());
                cells.extend(chunk.iter().map(|(_, k)| format!("[{}]", ::pdf::escape(k))));
                let _ = writeln!(
                    w,
                    "#table(columns: (auto,) + (1fr,) * {}, align: center, inset: 4pt, stroke: 0.5pt, {})",
                    chunk.len(),
                    cells.join(", ")
                );
            }
        }
        w.push_str("]\n");
    }
}

/// The typst source of a paper document, with the image files it reads.
fn source(
    header: &PaperHeader,
    exam: &Exam,
    versions: &[Variant],
    mode: Mode,
) -> (String, Vec<(String, Vec<u8>)>) {
    let mut w = String::from(PREAMBLE).replace(
        "TITLE",
        &::pdf::string_literal(&format!("{} – {}", header.title, header.subject)),
    );
    let mut writer = Writer::new(&exam.assets, mode);
    for (vi, v) in versions.iter().enumerate() {
        if vi > 0 {
            w.push_str("#pagebreak()\n");
        }
        paper_header(header, vi, v.code, &mut w);
        for (si, items) in v.sections.iter().enumerate() {
            let Some(section) = exam.sections.get(si) else {
                continue;
            };
            let qs: Vec<&Question> = items.iter().map(|i| &i.question).collect();
            let note = instruction(&qs)
                .map(|n| format!("[{}]", ::pdf::escape(&n)))
                .unwrap_or_else(|| "none".into());
            let _ = writeln!(
                w,
                "#part([{}], {note})",
                ::pdf::escape(&section_title(si, section))
            );
            let usual = usual_points(&qs);
            for (i, q) in qs.iter().enumerate() {
                passage(&mut writer, exam, &qs, i, &mut w);
                w.push_str(&writer.question(i + 1, q, usual));
            }
        }
        w.push_str("#align(center)[#v(8pt)*\\-\\-\\-\\-\\-\\- HẾT \\-\\-\\-\\-\\-\\-*]\n");
        w.push_str("#align(center, text(size: 10pt, style: \"italic\")[Thí sinh không được sử dụng tài liệu. Cán bộ coi thi không giải thích gì thêm.])\n");
        // The last page of this version's paper, for "Đề thi có N trang".
        let _ = writeln!(w, "#metadata(none) <het-{vi}>");
        answer_sheet(header, v, exam, &mut w);
    }
    key_tables(versions, &mut w);
    (w, writer.files)
}

/// Before the first question of a run sharing a passage: which questions it serves, then the
/// passage.
fn passage(writer: &mut Writer, exam: &Exam, qs: &[&Question], i: usize, w: &mut String) {
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
    let _ = writeln!(
        w,
        "#block(above: 0.9em)[#emph[{}]\n\n{}]",
        ::pdf::escape(&format!("Đọc thông tin sau và trả lời {which}.")),
        writer.content(&p.content)
    );
}

/// The typst source of the paper document (for inspection and tests).
pub fn paper_source(header: &PaperHeader, exam: &Exam, versions: &[Variant]) -> String {
    source(
        header,
        exam,
        versions,
        Mode {
            images: true,
            formulas: true,
        },
    )
    .0
}

/// One PDF with every version: paper, answer sheet, then the answer keys of all versions.
pub fn paper_pdf(
    header: &PaperHeader,
    exam: &Exam,
    versions: &[Variant],
) -> Result<Vec<u8>, PdfError> {
    let mut last = None;
    for mode in [
        Mode {
            images: true,
            formulas: true,
        },
        Mode {
            images: false,
            formulas: true,
        },
        Mode {
            images: false,
            formulas: false,
        },
    ] {
        let (src, files) = source(header, exam, versions, mode);
        match ::pdf::render(&src, &files) {
            Ok(bytes) => return Ok(bytes),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| PdfError::Compile("không rõ lỗi".into())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Passage, ShortKey, Statement};
    use crate::shuffle::{ShuffleOptions, make_versions};

    fn q(stem: &str, kind: QuestionKind, points: f64) -> Question {
        let mut q = Question::new(stem, kind);
        q.points = points;
        q
    }

    /// A 2025-format paper: 12 choice, 4 true/false, 6 short-answer questions, formulas, an
    /// image, a passage and hostile text.
    pub(crate) fn sample(n_choice: usize) -> Exam {
        let png: Vec<u8> = vec![
            0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48,
            0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
            0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78,
            0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99,
            0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
        ];
        let mut choice = Vec::new();
        for i in 0..n_choice {
            let stem = match i % 4 {
                0 => format!("Nghiệm của phương trình $x^2 - {i}x = 0$ là"),
                1 => "Cho hàm số $f(x)=\\frac{2x+1}{x-1}$. Tiệm cận đứng của đồ thị là".into(),
                2 => "Hình bên {{img:hinh1.png}} là đồ thị của hàm số nào? #sys $ *".into(),
                _ => "Giá trị của $\\lim_{x \\to 0} \\frac{\\sin x}{x}$ bằng".into(),
            };
            choice.push(q(
                &stem,
                QuestionKind::SingleChoice {
                    options: vec![
                        "$x = 0$".into(),
                        format!("$x = {i}$").as_str().into(),
                        if i % 3 == 0 {
                            "Một câu trả lời rất dài để thử cách bố trí phương án thành một cột riêng biệt trên giấy".into()
                        } else {
                            "$x = -1$".into()
                        },
                        "Tất cả đều đúng".into(),
                    ],
                    key: Some(i % 4),
                },
                0.25,
            ));
        }
        if let Some(first) = choice.get_mut(0) {
            first.passage = Some("p1".into());
        }
        let tf: Vec<Question> = (0..4)
            .map(|i| {
                q(
                    &format!(
                        "Cho hàm số $y = x^3 - 3x + {i}$. Xét tính đúng sai của các mệnh đề sau."
                    ),
                    QuestionKind::TrueFalseCluster {
                        statements: [
                            "Hàm số đồng biến trên $\\mathbb{R}$",
                            "$y'(1) = 0$",
                            "Đồ thị đi qua gốc tọa độ",
                            "Giá trị cực đại bằng $2$",
                        ]
                        .iter()
                        .enumerate()
                        .map(|(j, s)| Statement {
                            text: (*s).into(),
                            truth: Some((i + j) % 2 == 0),
                        })
                        .collect(),
                    },
                    1.0,
                )
            })
            .collect();
        let short: Vec<Question> = (0..6)
            .map(|i| {
                q(
                    &format!("Tính $\\int_0^{i} 2x \\, dx$ (làm tròn đến hàng phần mười)."),
                    QuestionKind::ShortAnswer {
                        key: Some(ShortKey::Numeric {
                            value: f64::from(i * i) + 0.5,
                            tolerance: 0.0,
                        }),
                    },
                    if i == 5 { 0.5 } else { 0.25 },
                )
            })
            .collect();
        Exam {
            title: "Kiểm tra".into(),
            sections: vec![
                Section {
                    title: "Câu trắc nghiệm nhiều phương án lựa chọn".into(),
                    questions: choice,
                },
                Section {
                    title: "PHẦN II. Câu trắc nghiệm đúng sai".into(),
                    questions: tf,
                },
                Section {
                    title: "Câu trắc nghiệm trả lời ngắn".into(),
                    questions: short,
                },
            ],
            passages: vec![Passage {
                id: "p1".into(),
                content: "Một vật chuyển động với vận tốc $v(t) = 3t^2$ (m/s).".into(),
            }],
            assets: vec![Asset {
                id: "hinh1.png".into(),
                mime: "image/png".into(),
                bytes: png,
            }],
        }
    }

    fn header() -> PaperHeader {
        PaperHeader {
            school: "TRƯỜNG THPT NGUYỄN DU".into(),
            title: "KIỂM TRA GIỮA KÌ I".into(),
            subject: "Môn: Toán – lớp 12A1".into(),
            minutes: 90,
        }
    }

    #[test]
    fn every_version_has_its_code_sheet_and_key() {
        let exam = sample(12);
        let versions = make_versions(&exam, 7, &[101, 102, 103, 104], ShuffleOptions::default());
        let src = paper_source(&header(), &exam, &versions);
        for v in &versions {
            assert!(src.contains(&format!("*Mã đề {}*", v.code)));
        }
        assert_eq!(src.matches("PHIẾU TRẢ LỜI").count(), 4);
        assert_eq!(src.matches("ĐÁP ÁN").count(), 1);
        assert!(src.contains("PHẦN I\\. Câu trắc nghiệm nhiều phương án lựa chọn"));
        assert!(src.contains("PHẦN III\\. Câu trắc nghiệm trả lời ngắn"));
        assert!(src.contains("Thí sinh trả lời từ câu 1 đến câu 12\\."));
        // The hostile text is escaped, the image is a file, the odd-points question says so.
        assert!(src.contains("\\#sys \\$ \\*"));
        assert!(src.contains("image(\"img/1.png\""));
        assert!(src.contains("\\(0\\,5 điểm\\)"));
        // Each version's key table follows its own shuffled order.
        for v in &versions {
            let first = &v.answer_key()[0][0];
            assert!(src.contains(&format!("[*Đáp án*], [{first}]")));
        }
        // The full paper renders as written, images and formulas included (no fallback).
        let (src, files) = source(
            &header(),
            &exam,
            &versions,
            Mode {
                images: true,
                formulas: true,
            },
        );
        assert_eq!(files.len(), 1);
        let bytes = ::pdf::render(&src, &files).unwrap_or_else(|e| panic!("{e}"));
        assert!(bytes.starts_with(b"%PDF-"));
        let doc = ::pdf::compile(&src, &files).unwrap();
        assert!(
            doc.pages().len() > 4 * 2,
            "paper and sheet per version, then keys"
        );
    }

    /// Benchmark, not a check: `cargo test -p exam --lib bench_paper_pdf -- --ignored --nocapture`
    /// renders a 4-version paper of 40 questions five times and prints the times; with
    /// `LOPHOC_PDF_OUT=file.pdf` it also writes the paper for a look.
    #[test]
    #[ignore]
    fn bench_paper_pdf() {
        let exam = sample(30);
        let n: usize = exam.sections.iter().map(|s| s.questions.len()).sum();
        let versions = make_versions(&exam, 7, &[101, 102, 103, 104], ShuffleOptions::default());
        let t = std::time::Instant::now();
        let mut bytes = paper_pdf(&header(), &exam, &versions).unwrap();
        let first = t.elapsed().as_secs_f64() * 1000.0;
        let mut times = Vec::new();
        for seed in 1..=5 {
            // Other seeds, so each run lays out a new paper rather than typst's cached one.
            let versions = make_versions(
                &exam,
                1000 + seed,
                &[101, 102, 103, 104],
                ShuffleOptions::default(),
            );
            let t = std::time::Instant::now();
            bytes = paper_pdf(&header(), &exam, &versions).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "paper-pdf: versions=4 questions={n} bytes={} first_ms={first:.0} runs_ms={:?} median_ms={:.0}",
            bytes.len(),
            times.iter().map(|t| t.round()).collect::<Vec<_>>(),
            sorted[2]
        );
        if let Ok(path) = std::env::var("LOPHOC_PDF_OUT") {
            std::fs::write(path, &bytes).unwrap();
        }
    }

    #[test]
    fn a_corrupt_image_still_gives_a_paper() {
        let mut exam = sample(4);
        exam.assets[0].bytes = b"\x89PNG\r\n\x1a\nbroken".to_vec();
        let versions = make_versions(&exam, 1, &[101], ShuffleOptions::default());
        let bytes = paper_pdf(&header(), &exam, &versions).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        // An EMF picture prints as its name.
        exam.assets[0].bytes = vec![1, 0, 0, 0, 0x6c, 0, 0, 0];
        let src = paper_source(&header(), &exam, &versions);
        assert!(src.contains("\\[hình hinh1\\.png\\]"));
    }
}
