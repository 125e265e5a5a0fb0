//! Moodle XML import and export (multichoice, truefalse, shortanswer, numerical, essay).
//!
//! Mapping to our model:
//! - a category sets the topic of the questions after it (its last path segment);
//! - `truefalse` questions named "… a)" to "… d)" in a row are one 2025-style cluster (that is
//!   how [`export`] writes clusters, since Moodle has no such type); other `truefalse` questions
//!   become single choice "Đúng" / "Sai";
//! - HTML becomes text (`<br>`, paragraphs → new lines), `\( \)` → `$ $`, and
//!   `@@PLUGINFILE@@` images with their base64 `<file>` become assets;
//! - tags carry our tags, and a tag "Mức: …" the cognitive level;
//! - shared passages are not carried (Moodle has no such thing): export them into the stems
//!   first if they matter.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::docx::rubric_line;
use crate::gift::tex_to_dollars;
use crate::import::ImportReport;
use crate::model::{
    Asset, CognitiveLevel, Content, Criterion, Exam, Question, QuestionKind, Segment, ShortKey,
    Statement, format_number, parse_number,
};
use crate::xml::{self, Element, esc};

/// Largest Moodle XML accepted (base64 images included).
pub const MAX_BYTES: usize = 50 * 1024 * 1024;

fn decode_entity(name: &str) -> Option<String> {
    let s = match name {
        "nbsp" => "\u{a0}",
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => {
            let code = name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .map(|h| u32::from_str_radix(h, 16));
            let code = match code {
                Some(c) => c.ok()?,
                None => name.strip_prefix('#')?.parse().ok()?,
            };
            return char::from_u32(code).map(String::from);
        }
    };
    Some(s.to_owned())
}

/// HTML to our text: tags dropped, block ends become new lines, images become references.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('<') {
            let Some(end) = rest.find('>') else {
                out.push_str(rest);
                rest = "";
                break;
            };
            let tag = &rest[1..end];
            let lower = tag.to_ascii_lowercase();
            let name: String = lower
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            match name.as_str() {
                "br" => out.push('\n'),
                "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" if lower.starts_with('/') => {
                    out.push('\n')
                }
                "img" => {
                    if let Some(src) = attr_in_tag(tag, "src") {
                        let id = src.trim_start_matches("@@PLUGINFILE@@/");
                        let id = id.rsplit('/').next().unwrap_or(id);
                        out.push_str(&Content::image_ref(&percent_decode(id)));
                    }
                }
                _ => {}
            }
            rest = &rest[end + 1..];
        } else {
            let end = rest.find(';').filter(|e| *e <= 10);
            match end.and_then(|e| decode_entity(&rest[1..e]).map(|d| (e, d))) {
                Some((e, d)) => {
                    out.push_str(&d);
                    rest = &rest[e + 1..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
    }
    out.push_str(rest);
    let lines: Vec<String> = out
        .replace('\u{a0}', " ")
        .lines()
        .map(|l| l.trim().to_owned())
        .collect();
    let text = lines.join("\n");
    tex_to_dollars(text.trim_matches('\n').trim())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(v) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn attr_in_tag(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))?;
    let rest = &tag[at + name.len() + 1..];
    let quote = rest.chars().next()?;
    if quote == '"' || quote == '\'' {
        let end = rest[1..].find(quote)?;
        Some(rest[1..1 + end].to_owned())
    } else {
        Some(rest.split([' ', '>', '/']).next().unwrap_or("").to_owned())
    }
}

fn text_of(e: Option<&Element>) -> String {
    e.and_then(|e| e.child("text"))
        .map(|t| html_to_text(&t.text()))
        .unwrap_or_default()
}

fn files_of(q: &Element, assets: &mut Vec<Asset>, warnings: &mut Vec<String>, number: usize) {
    let mut stack = vec![q];
    while let Some(e) = stack.pop() {
        for c in e.elements() {
            if c.name == "file" {
                let name = c.attr("name").unwrap_or("").to_owned();
                if name.is_empty() || assets.iter().any(|a| a.id == name) {
                    continue;
                }
                let data: String = c.text().chars().filter(|ch| !ch.is_whitespace()).collect();
                match STANDARD.decode(data.as_bytes()) {
                    Ok(bytes) if bytes.len() <= 5 * 1024 * 1024 => assets.push(Asset {
                        mime: Asset::mime_from_name(&name).to_owned(),
                        id: name,
                        bytes,
                    }),
                    Ok(_) => {
                        warnings.push(format!("Câu {number}: ảnh {name} lớn hơn 5 MB, đã bỏ qua"))
                    }
                    Err(_) => warnings.push(format!("Câu {number}: ảnh {name} hỏng")),
                }
            } else {
                stack.push(c);
            }
        }
    }
}

fn fraction(a: &Element) -> f64 {
    a.attr("fraction")
        .and_then(|f| f.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Reads a Moodle XML file. A file that is not XML at all gives one file-level error.
pub fn import(text: &str) -> ImportReport {
    let mut report = ImportReport::default();
    if text.len() > MAX_BYTES {
        report.error(None, "Tệp quá lớn (tối đa 50 MB)");
        return report.finish();
    }
    let root = match xml::parse(text.trim_start_matches('\u{feff}')) {
        Ok(r) => r,
        Err(e) => {
            report.error(None, e.to_string());
            return report.finish();
        }
    };
    if root.name != "quiz" {
        report.error(None, "Tệp không phải Moodle XML (thiếu thẻ <quiz>)");
        return report.finish();
    }
    let mut topic: Option<String> = None;
    let mut number = 0;
    // A cluster being assembled from consecutive "… a)" … "… d)" truefalse questions.
    let mut cluster: Option<(String, Question, Vec<String>)> = None;
    let flush = |cluster: &mut Option<(String, Question, Vec<String>)>,
                 report: &mut ImportReport,
                 number: &mut usize| {
        if let Some((_, q, w)) = cluster.take() {
            *number += 1;
            report.push(*number, None, q, w);
        }
    };
    for q in root.children_named("question") {
        let ty = q.attr("type").unwrap_or("");
        if ty == "category" {
            flush(&mut cluster, &mut report, &mut number);
            let path = q
                .child("category")
                .map(|c| text_of(Some(c)))
                .unwrap_or_default();
            topic = path
                .rsplit('/')
                .next()
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != "top" && !s.starts_with('$'))
                .map(str::to_owned);
            continue;
        }
        if ty == "description" {
            continue;
        }
        let name = text_of(q.child("name"));
        let stem = text_of(q.child("questiontext"));
        let points = q
            .child("defaultgrade")
            .and_then(|g| g.text().trim().parse::<f64>().ok())
            .unwrap_or(1.0);
        let mut warnings = Vec::new();
        files_of(q, &mut report.assets, &mut warnings, number + 1);
        let answers: Vec<&Element> = q.children_named("answer").collect();
        let explanation = Some(text_of(q.child("generalfeedback")))
            .filter(|s| !s.is_empty())
            .map(Content);
        let meta_from = |question: &mut Question| {
            question.meta.topic = topic.clone();
            for t in q
                .child("tags")
                .into_iter()
                .flat_map(|t| t.children_named("tag"))
            {
                let t = text_of(Some(t));
                match t
                    .strip_prefix("Mức:")
                    .and_then(|l| CognitiveLevel::from_label(l.trim()))
                {
                    Some(level) => question.meta.level = Some(level),
                    None => question.meta.tags.push(t),
                }
            }
        };
        if ty == "truefalse" {
            let truth = answers
                .iter()
                .find(|a| fraction(a) > 0.0)
                .map(|a| text_of(Some(a)).eq_ignore_ascii_case("true"));
            let letter = name
                .trim_end()
                .strip_suffix(')')
                .and_then(|n| n.chars().last())
                .filter(|c| ('a'..='d').contains(c));
            if let Some(letter) = letter {
                let prefix = name.trim_end()[..name.trim_end().len() - 2]
                    .trim()
                    .to_owned();
                // The statement is the last line "x) …" of the question text; the stem is before it.
                let (stem_part, statement) = match stem.rsplit_once('\n') {
                    Some((s, st)) => (s.to_owned(), st.to_owned()),
                    None => (String::new(), stem.clone()),
                };
                let statement = statement
                    .trim()
                    .strip_prefix(&format!("{letter})"))
                    .unwrap_or(&statement)
                    .trim()
                    .to_owned();
                let continues = cluster.as_ref().is_some_and(|(p, cq, _)| {
                    *p == prefix && matches!(&cq.kind, QuestionKind::TrueFalseCluster { statements } if statements.len() == (letter as u8 - b'a') as usize)
                });
                if !continues {
                    flush(&mut cluster, &mut report, &mut number);
                    let mut cq = Question::new(
                        stem_part,
                        QuestionKind::TrueFalseCluster {
                            statements: Vec::new(),
                        },
                    );
                    cq.points = 0.0;
                    cq.explanation = explanation.clone();
                    meta_from(&mut cq);
                    cluster = Some((prefix, cq, Vec::new()));
                }
                if let Some((_, cq, w)) = cluster.as_mut() {
                    if let QuestionKind::TrueFalseCluster { statements } = &mut cq.kind {
                        statements.push(Statement {
                            text: Content(statement),
                            truth,
                        });
                    }
                    cq.points += points;
                    w.extend(warnings);
                }
                continue;
            }
            flush(&mut cluster, &mut report, &mut number);
            number += 1;
            let mut question = Question::new(
                stem,
                QuestionKind::SingleChoice {
                    options: vec!["Đúng".into(), "Sai".into()],
                    key: truth.map(|t| if t { 0 } else { 1 }),
                },
            );
            question.points = points;
            question.explanation = explanation;
            meta_from(&mut question);
            report.push(number, None, question, warnings);
            continue;
        }
        flush(&mut cluster, &mut report, &mut number);
        number += 1;
        let kind = match ty {
            "multichoice" => {
                let single = q
                    .child("single")
                    .is_none_or(|s| !matches!(s.text().trim(), "false" | "0"));
                let options: Vec<Content> =
                    answers.iter().map(|a| Content(text_of(Some(a)))).collect();
                if single {
                    let best = answers
                        .iter()
                        .enumerate()
                        .filter(|(_, a)| fraction(a) > 0.0)
                        .max_by(|a, b| fraction(a.1).total_cmp(&fraction(b.1)))
                        .map(|(i, _)| i);
                    QuestionKind::SingleChoice { options, key: best }
                } else {
                    let keys: BTreeSet<usize> = answers
                        .iter()
                        .enumerate()
                        .filter(|(_, a)| fraction(a) > 0.0)
                        .map(|(i, _)| i)
                        .collect();
                    QuestionKind::MultipleResponse { options, keys }
                }
            }
            "shortanswer" => {
                let accepted: Vec<String> = answers
                    .iter()
                    .filter(|a| fraction(a) >= 100.0)
                    .map(|a| text_of(Some(a)))
                    .collect();
                QuestionKind::ShortAnswer {
                    key: (!accepted.is_empty()).then_some(ShortKey::Text { accepted }),
                }
            }
            "numerical" => {
                let best = answers.iter().find(|a| fraction(a) >= 100.0);
                let key = best.and_then(|a| {
                    let value = parse_number(&text_of(Some(a)))?;
                    let tolerance = a
                        .child("tolerance")
                        .and_then(|t| parse_number(&t.text()))
                        .unwrap_or(0.0);
                    Some(ShortKey::Numeric { value, tolerance })
                });
                QuestionKind::ShortAnswer { key }
            }
            "essay" => {
                let info = text_of(q.child("graderinfo"));
                QuestionKind::Essay {
                    rubric: info
                        .lines()
                        .filter_map(rubric_line)
                        .collect::<Vec<Criterion>>(),
                }
            }
            other => {
                report.error(
                    Some(number),
                    format!("Câu {number}: dạng câu hỏi \"{other}\" chưa được hỗ trợ"),
                );
                continue;
            }
        };
        let mut question = Question::new(stem, kind);
        question.points = points;
        question.explanation = explanation;
        meta_from(&mut question);
        report.push(number, None, question, warnings);
    }
    flush(&mut cluster, &mut report, &mut number);
    // Keep only the images some question shows.
    let used: BTreeSet<String> = report
        .questions
        .iter()
        .flat_map(|q| {
            crate::docx::all_content(&q.question)
                .into_iter()
                .flat_map(|c| {
                    c.image_ids()
                        .into_iter()
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
        })
        .collect();
    report.assets.retain(|a| used.contains(&a.id));
    report.finish()
}

/// Our text to HTML for Moodle: escaped, `$…$` as `\(…\)`, images as `@@PLUGINFILE@@` links.
fn to_html(c: &Content) -> String {
    let mut out = String::new();
    for seg in c.segments() {
        match seg {
            Segment::Text(t) => out.push_str(&esc(t).replace('\n', "<br>")),
            Segment::Math(m) => out.push_str(&format!("\\({}\\)", esc(m))),
            Segment::Image(id) => out.push_str(&format!(
                "<img src=\"@@PLUGINFILE@@/{}\" alt=\"\">",
                esc(id)
            )),
        }
    }
    out
}

fn text_el(tag: &str, html: &str, files: &str) -> String {
    format!(
        "<{tag} format=\"html\"><text><![CDATA[{}]]></text>{files}</{tag}>",
        html.replace("]]>", "]]]]><![CDATA[>")
    )
}

fn files_for(contents: &[&Content], assets: &[Asset]) -> String {
    let mut out = String::new();
    let mut seen = BTreeSet::new();
    for c in contents {
        for id in c.image_ids() {
            if let Some(a) = assets
                .iter()
                .find(|a| a.id == id)
                .filter(|_| seen.insert(id.to_owned()))
            {
                out.push_str(&format!(
                    "<file name=\"{}\" path=\"/\" encoding=\"base64\">{}</file>",
                    esc(&a.id),
                    STANDARD.encode(&a.bytes)
                ));
            }
        }
    }
    out
}

fn meta_xml(q: &Question) -> String {
    let mut tags: Vec<String> = q.meta.tags.clone();
    if let Some(l) = q.meta.level {
        tags.push(format!("Mức: {}", l.label()));
    }
    if tags.is_empty() {
        return String::new();
    }
    let inner: String = tags
        .iter()
        .map(|t| format!("<tag><text>{}</text></tag>", esc(t)))
        .collect();
    format!("<tags>{inner}</tags>")
}

fn common(name: &str, q: &Question, stem_html: &str, points: f64, assets: &[Asset]) -> String {
    let files = files_for(&crate::docx::all_content(q), assets);
    let feedback = q
        .explanation
        .as_ref()
        .map(|e| text_el("generalfeedback", &to_html(e), ""))
        .unwrap_or_default();
    format!(
        "<name><text>{}</text></name>{}{feedback}<defaultgrade>{}</defaultgrade><penalty>0</penalty><hidden>0</hidden>{}",
        esc(name),
        text_el("questiontext", stem_html, &files),
        points,
        meta_xml(q)
    )
}

/// Options for [`export`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExportOptions {
    /// Let Moodle shuffle options.
    pub shuffle_answers: bool,
}

/// Writes questions as Moodle XML, a category per topic change.
pub fn export(questions: &[Question], assets: &[Asset], opts: ExportOptions) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<quiz>\n");
    let mut topic: Option<&str> = None;
    for (i, q) in questions.iter().enumerate() {
        let number = i + 1;
        if q.meta.topic.as_deref() != topic {
            topic = q.meta.topic.as_deref();
            out.push_str(&format!(
                "<question type=\"category\"><category><text>$course$/top/{}</text></category></question>\n",
                esc(topic.unwrap_or("Mặc định"))
            ));
        }
        let name = format!("Câu {number}");
        let stem = to_html(&q.stem);
        let answer = |fraction: f64, c: &Content| {
            format!(
                "<answer fraction=\"{fraction}\" format=\"html\"><text><![CDATA[{}]]></text><feedback format=\"html\"><text></text></feedback></answer>",
                to_html(c)
            )
        };
        let body = match &q.kind {
            QuestionKind::SingleChoice { options, key } => {
                let answers: String = options
                    .iter()
                    .enumerate()
                    .map(|(i, o)| answer(if Some(i) == *key { 100.0 } else { 0.0 }, o))
                    .collect();
                format!(
                    "<question type=\"multichoice\">{}<single>true</single><shuffleanswers>{}</shuffleanswers><answernumbering>ABCD</answernumbering>{answers}</question>",
                    common(&name, q, &stem, q.points, assets),
                    u8::from(opts.shuffle_answers)
                )
            }
            QuestionKind::MultipleResponse { options, keys } => {
                let right = 100.0 / keys.len().max(1) as f64;
                let answers: String = options
                    .iter()
                    .enumerate()
                    .map(|(i, o)| {
                        answer(
                            if keys.contains(&i) {
                                (right * 1e5).round() / 1e5
                            } else {
                                -100.0
                            },
                            o,
                        )
                    })
                    .collect();
                format!(
                    "<question type=\"multichoice\">{}<single>false</single><shuffleanswers>{}</shuffleanswers><answernumbering>ABCD</answernumbering>{answers}</question>",
                    common(&name, q, &stem, q.points, assets),
                    u8::from(opts.shuffle_answers)
                )
            }
            QuestionKind::TrueFalseCluster { statements } => {
                let per = q.points / statements.len().max(1) as f64;
                statements
                    .iter()
                    .enumerate()
                    .map(|(j, s)| {
                        let letter = (b'a' + j as u8) as char;
                        let html = format!("{stem}<br>{letter}) {}", to_html(&s.text));
                        let t = s.truth.unwrap_or(true);
                        let ans = |v: bool| format!("<answer fraction=\"{}\"><text>{v}</text><feedback><text></text></feedback></answer>", if v == t && s.truth.is_some() { 100 } else { 0 });
                        format!("<question type=\"truefalse\">{}{}{}</question>\n", common(&format!("{name} {letter})"), q, &html, per, assets), ans(true), ans(false))
                    })
                    .collect()
            }
            QuestionKind::ShortAnswer { key } => match key {
                Some(ShortKey::Numeric { value, tolerance }) => format!(
                    "<question type=\"numerical\">{}<answer fraction=\"100\"><text>{value}</text><tolerance>{tolerance}</tolerance><feedback><text></text></feedback></answer></question>",
                    common(&name, q, &stem, q.points, assets)
                ),
                Some(ShortKey::Text { accepted }) => format!(
                    "<question type=\"shortanswer\">{}<usecase>0</usecase>{}</question>",
                    common(&name, q, &stem, q.points, assets),
                    accepted
                        .iter()
                        .map(|a| answer(100.0, &Content(a.clone())))
                        .collect::<String>()
                ),
                None => format!(
                    "<question type=\"shortanswer\">{}<usecase>0</usecase></question>",
                    common(&name, q, &stem, q.points, assets)
                ),
            },
            QuestionKind::Essay { rubric } => {
                let info: Vec<String> = rubric
                    .iter()
                    .map(|c| {
                        format!(
                            "- {} ({} điểm)",
                            esc(&c.description),
                            format_number(c.max_points)
                        )
                    })
                    .collect();
                format!(
                    "<question type=\"essay\">{}<responseformat>editor</responseformat><responsefieldlines>15</responsefieldlines>{}</question>",
                    common(&name, q, &stem, q.points, assets),
                    text_el("graderinfo", &info.join("<br>"), "")
                )
            }
        };
        out.push_str(&body);
        out.push('\n');
    }
    out.push_str("</quiz>\n");
    out
}

/// Writes every question of an exam.
pub fn export_exam(exam: &Exam, opts: ExportOptions) -> String {
    let qs: Vec<Question> = exam.questions().cloned().collect();
    export(&qs, &exam.assets, opts)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::docx::tests::sample_exam;

    pub(crate) const FILE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="category"><category><text>$course$/top/Hình học</text></category></question>
  <question type="multichoice">
    <name><text>Tam giác</text></name>
    <questiontext format="html"><text><![CDATA[<p dir="ltr">Tổng ba góc của tam giác là&nbsp;<strong>bao nhiêu</strong>?</p><p><img src="@@PLUGINFILE@@/tam%20giac.png" alt="" width="100"></p>]]></text>
      <file name="tam giac.png" path="/" encoding="base64">iVBORw0KGgo=</file></questiontext>
    <generalfeedback format="html"><text>Định lí tổng ba góc.</text></generalfeedback>
    <defaultgrade>0.2500000</defaultgrade><penalty>0.3333333</penalty><hidden>0</hidden>
    <single>true</single><shuffleanswers>true</shuffleanswers>
    <answer fraction="0" format="html"><text>90°</text><feedback format="html"><text></text></feedback></answer>
    <answer fraction="100" format="html"><text>180°</text><feedback format="html"><text>Đúng</text></feedback></answer>
    <answer fraction="0" format="html"><text>360°</text></answer>
    <tags><tag><text>Mức: Nhận biết</text></tag><tag><text>lop7</text></tag></tags>
  </question>
  <question type="truefalse"><name><text>TF</text></name><questiontext format="moodle_auto_format"><text>Số 0 là số tự nhiên.</text></questiontext>
    <answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false</text></answer></question>
  <question type="numerical"><name><text>Số</text></name><questiontext format="html"><text>Tính \(\sqrt{6,25}\)</text></questiontext>
    <answer fraction="100"><text>2.5</text><tolerance>0.01</tolerance></answer></question>
  <question type="matching"><name><text>Ghép</text></name><questiontext format="html"><text>x</text></questiontext></question>
  <question type="multichoice"><name><text>Thiếu</text></name><questiontext format="html"><text>Một phương án</text></questiontext><answer fraction="100"><text>A</text></answer></question>
</quiz>"#;

    #[test]
    fn reads_moodle_questions() {
        let rep = import(FILE);
        let q = &rep.questions[0].question;
        assert_eq!(
            q.stem.as_str(),
            "Tổng ba góc của tam giác là bao nhiêu?\n{{img:tam giac.png}}"
        );
        assert_eq!(q.meta.topic.as_deref(), Some("Hình học"));
        assert_eq!(q.meta.level, Some(CognitiveLevel::NhanBiet));
        assert_eq!(q.meta.tags, vec!["lop7".to_owned()]);
        assert_eq!(q.points, 0.25);
        assert_eq!(
            q.explanation.as_ref().map(Content::as_str),
            Some("Định lí tổng ba góc.")
        );
        assert!(matches!(
            q.kind,
            QuestionKind::SingleChoice { key: Some(1), .. }
        ));
        assert_eq!(rep.assets.len(), 1);
        assert_eq!(rep.assets[0].bytes, b"\x89PNG\r\n\x1a\n");
        assert!(matches!(
            rep.questions[1].question.kind,
            QuestionKind::SingleChoice { key: Some(0), .. }
        ));
        assert_eq!(
            rep.questions[2].question.stem.as_str(),
            "Tính $\\sqrt{6,25}$"
        );
        assert_eq!(
            rep.questions[2].question.kind,
            QuestionKind::ShortAnswer {
                key: Some(ShortKey::Numeric {
                    value: 2.5,
                    tolerance: 0.01
                })
            }
        );
        let errs: Vec<&str> = rep.errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            errs,
            vec![
                "Câu 4: dạng câu hỏi \"matching\" chưa được hỗ trợ",
                "Câu 5: cần ít nhất 2 phương án, chỉ có 1"
            ]
        );
    }

    #[test]
    fn malformed_files_are_one_error() {
        assert_eq!(import("<quiz><question>").errors.len(), 1);
        assert_eq!(import("xin chào").errors.len(), 1);
        assert_eq!(
            import("<html/>").errors[0].message,
            "Tệp không phải Moodle XML (thiếu thẻ <quiz>)"
        );
    }

    #[test]
    fn export_then_import_gives_the_same_questions() {
        let mut exam = sample_exam();
        // Moodle XML has no shared passages (see the module notes).
        exam.passages.clear();
        for q in exam
            .sections
            .iter_mut()
            .flat_map(|s| s.questions.iter_mut())
        {
            q.passage = None;
        }
        for (i, q) in exam
            .sections
            .iter_mut()
            .flat_map(|s| s.questions.iter_mut())
            .enumerate()
        {
            q.meta.topic = Some(if i < 3 {
                "Số học".into()
            } else {
                "Giải tích & hàm số".into()
            });
        }
        exam.sections[0].questions[0].meta.level = Some(CognitiveLevel::VanDungCao);
        exam.sections[0].questions[0].meta.tags = vec!["đề thi thử".into()];
        let xml = export_exam(&exam, ExportOptions::default());
        let rep = import(&xml);
        assert_eq!(rep.errors, vec![]);
        let got: Vec<Question> = rep.questions.iter().map(|q| q.question.clone()).collect();
        let want: Vec<Question> = exam.questions().cloned().collect();
        assert_eq!(got, want);
        assert_eq!(rep.assets, exam.assets);
    }
}
