//! GIFT, Moodle's text format: `::title:: stem {=right ~wrong}`, `{T}`, `{=a =b}`, `{#2.5:0.1}`, `{}`.
//!
//! True/false questions of GIFT have one statement, unlike the four-statement cluster of the
//! 2025 exam, so they become single-choice questions with options "Đúng" / "Sai".
//! `$CATEGORY:` lines set the topic of the questions that follow.

use std::collections::BTreeSet;

use crate::import::ImportReport;
use crate::model::{Content, Question, QuestionKind, ShortKey, parse_number};

/// Largest file accepted.
pub const MAX_BYTES: usize = 50 * 1024 * 1024;

/// A character and whether it was escaped with a backslash.
type Ch = (char, bool);

fn unescape(s: &str) -> Vec<Ch> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.peek().copied() {
                Some(n @ ('~' | '=' | '#' | '{' | '}' | ':' | '\\' | '%')) => {
                    it.next();
                    out.push((n, true));
                }
                Some('n') => {
                    it.next();
                    out.push(('\n', true));
                }
                _ => out.push(('\\', false)),
            }
        } else {
            out.push((c, false));
        }
    }
    out
}

fn plain(v: &[Ch]) -> String {
    v.iter().map(|(c, _)| *c).collect()
}

/// Moodle TeX delimiters to ours.
pub(crate) fn tex_to_dollars(s: &str) -> String {
    s.replace("\\(", "$")
        .replace("\\)", "$")
        .replace("\\[", "$")
        .replace("\\]", "$")
        .replace("$$", "$")
}

fn clean(v: &[Ch]) -> String {
    let s = plain(v);
    let s = s.trim();
    // Drop a format marker such as [html] or [markdown].
    let s = ["[html]", "[moodle]", "[plain]", "[markdown]"]
        .iter()
        .find_map(|m| s.strip_prefix(m))
        .unwrap_or(s);
    tex_to_dollars(s.trim())
}

/// Splits an answer block at unescaped `=` and `~`, keeping the marker.
fn answers(block: &[Ch]) -> Vec<(char, Vec<Ch>)> {
    let mut out: Vec<(char, Vec<Ch>)> = Vec::new();
    for &(c, esc) in block {
        if !esc && (c == '=' || c == '~') {
            out.push((c, Vec::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.push((c, esc));
        }
    }
    out
}

/// Text before an unescaped `#` (feedback), and a leading `%weight%`.
fn answer_text(v: &[Ch]) -> (Option<f64>, String) {
    let end = v
        .iter()
        .position(|(c, e)| *c == '#' && !e)
        .unwrap_or(v.len());
    let v = &v[..end];
    let s = plain(v);
    let t = s.trim();
    if let Some(rest) = t.strip_prefix('%')
        && let Some((w, text)) = rest.split_once('%')
    {
        return (w.trim().parse().ok(), tex_to_dollars(text.trim()));
    }
    (None, tex_to_dollars(t))
}

fn numeric(s: &str) -> Option<ShortKey> {
    let s = s.split('#').next().unwrap_or("").trim();
    if let Some((lo, hi)) = s.split_once("..") {
        let (lo, hi) = (parse_number(lo)?, parse_number(hi)?);
        return Some(ShortKey::Numeric {
            value: (lo + hi) / 2.0,
            tolerance: ((hi - lo) / 2.0).abs(),
        });
    }
    let (v, tol) = match s.split_once(':') {
        Some((v, t)) => (v, parse_number(t)?),
        None => (s, 0.0),
    };
    Some(ShortKey::Numeric {
        value: parse_number(v)?,
        tolerance: tol,
    })
}

fn parse_one(chunk: &[Ch], number: usize) -> Result<(Question, Vec<String>), String> {
    let mut v = chunk;
    let mut name = None;
    let trimmed_start = v
        .iter()
        .position(|(c, _)| !c.is_whitespace())
        .unwrap_or(v.len());
    v = &v[trimmed_start..];
    if v.len() >= 2 && v[0] == (':', false) && v[1] == (':', false) {
        let rest = &v[2..];
        let close = rest
            .windows(2)
            .position(|w| w[0] == (':', false) && w[1] == (':', false))
            .ok_or("thiếu dấu :: đóng tiêu đề")?;
        name = Some(plain(&rest[..close]));
        v = &rest[close + 2..];
    }
    let open = v.iter().position(|c| *c == ('{', false));
    let Some(open) = open else {
        return Err("không có khối đáp án {…}".into());
    };
    let close = v[open..]
        .iter()
        .position(|c| *c == ('}', false))
        .map(|c| c + open)
        .ok_or("thiếu dấu } đóng khối đáp án")?;
    let before = clean(&v[..open]);
    let after = clean(&v[close + 1..]);
    let stem = if after.is_empty() {
        before
    } else {
        format!("{before} _____ {after}")
    };
    let stem = if stem.trim().is_empty() {
        name.unwrap_or_default()
    } else {
        stem
    };
    let block = &v[open + 1..close];
    let block_text = plain(block);
    let bt = block_text.trim();
    let mut warnings = Vec::new();
    let kind = if bt.is_empty() {
        QuestionKind::Essay { rubric: Vec::new() }
    } else if let Some(truth) = {
        let head = bt
            .split('#')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_uppercase();
        match head.as_str() {
            "T" | "TRUE" => Some(true),
            "F" | "FALSE" => Some(false),
            _ => None,
        }
    } {
        QuestionKind::SingleChoice {
            options: vec![Content::from("Đúng"), Content::from("Sai")],
            key: Some(if truth { 0 } else { 1 }),
        }
    } else if let Some(num) = bt.strip_prefix('#') {
        // "#=2.5:0.1 =%50%2.4:0.2": the first answer (full marks) is the key.
        let first = if num.trim_start().starts_with('=') {
            num.split('=')
                .map(str::trim)
                .find(|s| !s.is_empty())
                .unwrap_or("")
        } else {
            num
        };
        let first = match first.strip_prefix('%').and_then(|r| r.split_once('%')) {
            Some((_, rest)) => rest,
            None => first,
        };
        QuestionKind::ShortAnswer {
            key: Some(numeric(first).ok_or_else(|| format!("đáp án số không hợp lệ: {first}"))?),
        }
    } else {
        let list = answers(block);
        if list.iter().any(|(_, t)| plain(t).contains("->")) {
            return Err("dạng câu ghép cặp (matching) chưa được hỗ trợ".into());
        }
        if list.is_empty() {
            return Err("khối đáp án không có phương án".into());
        }
        if list.iter().all(|(m, _)| *m == '=') {
            let accepted: Vec<String> = list
                .iter()
                .map(|(_, t)| answer_text(t).1)
                .filter(|s| !s.is_empty())
                .collect();
            QuestionKind::ShortAnswer {
                key: Some(ShortKey::Text { accepted }),
            }
        } else {
            let mut options = Vec::new();
            let mut keys = BTreeSet::new();
            let mut weighted = false;
            for (i, (m, t)) in list.iter().enumerate() {
                let (w, text) = answer_text(t);
                weighted |= w.is_some();
                if *m == '=' || w.is_some_and(|w| w > 0.0) {
                    keys.insert(i);
                }
                options.push(Content(text));
            }
            if weighted || keys.len() > 1 {
                if keys.len() == 1 && !weighted {
                    QuestionKind::SingleChoice {
                        options,
                        key: keys.into_iter().next(),
                    }
                } else {
                    warnings.push(format!("Câu {number}: chấm theo kiểu tất cả hoặc không (bỏ điểm từng phần của GIFT)"));
                    QuestionKind::MultipleResponse { options, keys }
                }
            } else {
                QuestionKind::SingleChoice {
                    options,
                    key: keys.into_iter().next(),
                }
            }
        }
    };
    Ok((Question::new(stem, kind), warnings))
}

/// Reads a GIFT file.
pub fn import(text: &str) -> ImportReport {
    let mut report = ImportReport::default();
    let mut topic: Option<String> = None;
    let mut chunk = String::new();
    let mut number = 0;
    let mut flush = |chunk: &mut String, topic: &Option<String>, report: &mut ImportReport| {
        if chunk.trim().is_empty() {
            chunk.clear();
            return;
        }
        number += 1;
        match parse_one(&unescape(chunk), number) {
            Ok((mut q, w)) => {
                q.meta.topic = topic.clone();
                report.push(number, None, q, w);
            }
            Err(e) => report.error(Some(number), format!("Câu {number}: {e}")),
        }
        chunk.clear();
    };
    if text.len() > MAX_BYTES {
        report.error(None, "Tệp quá lớn (tối đa 50 MB)");
        return report.finish();
    }
    let mut balance: i64 = 0;
    for raw in text.lines() {
        let line = raw.trim_start_matches('\u{feff}');
        let t = line.trim();
        if t.starts_with("//") {
            continue;
        }
        if let Some(cat) = t.strip_prefix("$CATEGORY:") {
            flush(&mut chunk, &topic, &mut report);
            balance = 0;
            let cat = cat.trim();
            topic = cat
                .rsplit('/')
                .next()
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != "top")
                .map(str::to_owned);
            continue;
        }
        if balance > 0 && t.starts_with("::") {
            // A new titled question: the previous one never closed its block.
            flush(&mut chunk, &topic, &mut report);
            balance = 0;
        }
        if t.is_empty() {
            // A blank line ends a question, unless we are inside an unclosed answer block.
            if balance <= 0 {
                flush(&mut chunk, &topic, &mut report);
                balance = 0;
            }
            continue;
        }
        if !chunk.is_empty() {
            chunk.push('\n');
        }
        chunk.push_str(line);
        // Counted per line, not over the whole chunk, so an unclosed brace in a huge file
        // cannot make the import quadratic.
        let count = |pat: &str| line.matches(pat).count() as i64;
        balance += (count("{") - count("\\{")) - (count("}") - count("\\}"));
    }
    flush(&mut chunk, &topic, &mut report);
    report.finish()
}

/// Escapes GIFT's special characters; new lines become `\n`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '~' | '=' | '#' | '{' | '}' | ':' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

/// Writes questions as GIFT. GIFT cannot hold everything: points, rubrics, explanations and
/// passages are dropped, and a true/false cluster becomes four one-statement questions
/// ("Câu 3 a)" …) that read back as single choice "Đúng" / "Sai".
pub fn export(questions: &[Question]) -> String {
    let mut out = String::new();
    let mut topic: Option<&str> = None;
    for (i, q) in questions.iter().enumerate() {
        let n = i + 1;
        if q.meta.topic.as_deref() != topic {
            topic = q.meta.topic.as_deref();
            out.push_str(&format!(
                "$CATEGORY: $course$/top/{}\n\n",
                topic.unwrap_or("Mặc định")
            ));
        }
        let stem = escape(q.stem.as_str());
        let block = match &q.kind {
            QuestionKind::SingleChoice { options, key } => {
                let parts: Vec<String> = options
                    .iter()
                    .enumerate()
                    .map(|(j, o)| {
                        format!(
                            "{}{}",
                            if Some(j) == *key { '=' } else { '~' },
                            escape(o.as_str())
                        )
                    })
                    .collect();
                format!("{{\n  {}\n}}", parts.join("\n  "))
            }
            QuestionKind::MultipleResponse { options, keys } => {
                let right = crate::scoring::round(100.0 / keys.len().max(1) as f64);
                let parts: Vec<String> = options
                    .iter()
                    .enumerate()
                    .map(|(j, o)| {
                        format!(
                            "~%{}%{}",
                            if keys.contains(&j) { right } else { -100.0 },
                            escape(o.as_str())
                        )
                    })
                    .collect();
                format!("{{\n  {}\n}}", parts.join("\n  "))
            }
            QuestionKind::TrueFalseCluster { statements } => {
                for (j, st) in statements.iter().enumerate() {
                    let letter = (b'a' + j as u8) as char;
                    let tf = if st.truth.unwrap_or(false) { "T" } else { "F" };
                    out.push_str(&format!(
                        "::Câu {n} {letter}):: {stem}\\n{letter}) {} {{{tf}}}\n\n",
                        escape(st.text.as_str())
                    ));
                }
                continue;
            }
            QuestionKind::ShortAnswer {
                key: Some(ShortKey::Numeric { value, tolerance }),
            } => format!("{{#{value}:{tolerance}}}"),
            QuestionKind::ShortAnswer {
                key: Some(ShortKey::Text { accepted }),
            } => {
                format!(
                    "{{{}}}",
                    accepted
                        .iter()
                        .map(|a| format!("={}", escape(a)))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            }
            QuestionKind::ShortAnswer { key: None } => "{=}".to_owned(),
            QuestionKind::Essay { .. } => "{}".to_owned(),
        };
        out.push_str(&format!("::Câu {n}:: {stem} {block}\n\n"));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const FILE: &str = r#"// Ngân hàng câu hỏi Toán 10
$CATEGORY: $course$/top/Mệnh đề

::Câu 1:: Tập nghiệm của $x^2=1$ là {
  =\{-1; 1\} # Đúng
  ~\{1\} # Thiếu nghiệm
  ~\{-1\}
  ~\{0\}
}

::TF:: Số 2 là số nguyên tố. {T}

Số nguyên tố nào sau đây là số chẵn? {~%50%2 ~%50%Hai ~%-100%4 ~%-100%9}

::Số:: Tính \(\frac\{5\}\{2\}\). {#2,5:0.01}

::Khoảng:: Số pi nằm trong khoảng {#3.14..3.15}

Thủ đô của Việt Nam là {=Hà Nội =Ha Noi}

Trình bày định lí Pi-ta-go. {}

::Lỗi:: Ghép cặp {=Hà Nội -> Việt Nam =Tokyo -> Nhật Bản}

::Thiếu:: Câu không đóng {=a ~b
"#;

    #[test]
    fn export_then_import_keeps_what_gift_can_hold() {
        let mut qs: Vec<Question> = crate::docx::tests::sample_exam()
            .questions()
            .cloned()
            .collect();
        qs[0].meta.topic = Some("Số học: cơ bản".into());
        let text = export(&qs);
        let rep = import(&text);
        assert_eq!(rep.errors, vec![]);
        let got = &rep.questions;
        // Sample: choice, multiple response, choice with image, cluster (→ 4), numeric, text, essay.
        assert_eq!(got.len(), 10);
        for (g, w) in [(0, 0), (1, 1), (2, 2), (7, 4), (8, 5)] {
            assert_eq!(got[g].question.stem, qs[w].stem, "{g}");
            assert_eq!(got[g].question.kind, qs[w].kind, "{g}");
        }
        assert_eq!(
            got[0].question.meta.topic.as_deref(),
            Some("Số học: cơ bản")
        );
        assert_eq!(
            got[3].question.stem.as_str(),
            "Cho $f(x)=x^{2}$.\na) $f(1)=1$"
        );
        assert!(matches!(
            got[4].question.kind,
            QuestionKind::SingleChoice { key: Some(1), .. }
        ));
        assert!(matches!(got[9].question.kind, QuestionKind::Essay { .. }));
    }

    #[test]
    fn reads_every_supported_kind() {
        let rep = import(FILE);
        let q = |i: usize| &rep.questions[i].question;
        assert_eq!(q(0).stem.as_str(), "Tập nghiệm của $x^2=1$ là");
        assert_eq!(q(0).meta.topic.as_deref(), Some("Mệnh đề"));
        assert!(
            matches!(&q(0).kind, QuestionKind::SingleChoice { options, key: Some(0) } if options[0].as_str() == "{-1; 1}" && options.len() == 4)
        );
        assert!(
            matches!(&q(1).kind, QuestionKind::SingleChoice { options, key: Some(0) } if options[0].as_str() == "Đúng")
        );
        assert!(
            matches!(&q(2).kind, QuestionKind::MultipleResponse { keys, .. } if *keys == BTreeSet::from([0, 1]))
        );
        assert!(!rep.questions[2].warnings.is_empty());
        assert_eq!(q(3).stem.as_str(), "Tính $\\frac{5}{2}$.");
        assert_eq!(
            q(3).kind,
            QuestionKind::ShortAnswer {
                key: Some(ShortKey::Numeric {
                    value: 2.5,
                    tolerance: 0.01
                })
            }
        );
        let QuestionKind::ShortAnswer {
            key: Some(ShortKey::Numeric { value, tolerance }),
        } = q(4).kind
        else {
            panic!()
        };
        assert!((value - 3.145).abs() < 1e-9 && (tolerance - 0.005).abs() < 1e-9);
        assert_eq!(
            q(5).kind,
            QuestionKind::ShortAnswer {
                key: Some(ShortKey::Text {
                    accepted: vec!["Hà Nội".into(), "Ha Noi".into()]
                })
            }
        );
        assert!(matches!(q(6).kind, QuestionKind::Essay { .. }));
        assert_eq!(rep.questions.len(), 7);
        let errs: Vec<&str> = rep.errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            errs,
            vec![
                "Câu 8: dạng câu ghép cặp (matching) chưa được hỗ trợ",
                "Câu 9: thiếu dấu } đóng khối đáp án"
            ]
        );
    }
}
