//! Aiken: the simplest bank format, single-choice only.
//!
//! ```text
//! Thủ đô của Việt Nam là
//! A. Huế
//! B. Hà Nội
//! ANSWER: B
//! ```

use crate::import::ImportReport;
use crate::model::{Content, Question, QuestionKind, option_index};

/// "A." or "A)" followed by a space or the end, with the option letter expected next.
fn option_line(line: &str, expected: char) -> Option<&str> {
    let mut chars = line.chars();
    let (l, p) = (chars.next()?, chars.next()?);
    if l != expected || !matches!(p, '.' | ')') {
        return None;
    }
    let rest = chars.as_str();
    (rest.is_empty() || rest.starts_with([' ', '\t'])).then(|| rest.trim())
}

/// Reads an Aiken file. Numbers in messages are the question's position in the file.
pub fn import(text: &str) -> ImportReport {
    let mut report = ImportReport::default();
    if text.len() > crate::gift::MAX_BYTES {
        report.error(None, "Tệp quá lớn (tối đa 50 MB)");
        return report.finish();
    }
    let mut stem: Vec<String> = Vec::new();
    let mut options: Vec<Content> = Vec::new();
    let mut number = 0;
    for raw in text.lines() {
        let line = raw.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        let expected = (b'A' + options.len().min(25) as u8) as char;
        if let Some(opt) = (!stem.is_empty())
            .then(|| option_line(line, expected))
            .flatten()
        {
            options.push(Content::from(opt));
            continue;
        }
        let upper = line.to_uppercase();
        if let Some(ans) = upper
            .strip_prefix("ANSWER:")
            .or_else(|| upper.strip_prefix("ĐÁP ÁN:"))
        {
            number += 1;
            let ans = ans.trim();
            let mut warnings = Vec::new();
            let key = match ans.chars().next().and_then(option_index) {
                Some(k) if ans.chars().count() == 1 => Some(k),
                _ => {
                    warnings.push(format!("Câu {number}: không hiểu đáp án \"{ans}\""));
                    None
                }
            };
            let q = Question::new(
                stem.join("\n"),
                QuestionKind::SingleChoice {
                    options: std::mem::take(&mut options),
                    key,
                },
            );
            stem.clear();
            report.push(number, None, q, warnings);
            continue;
        }
        if !options.is_empty() {
            // A new stem without an ANSWER line for the previous question.
            number += 1;
            let q = Question::new(
                stem.join("\n"),
                QuestionKind::SingleChoice {
                    options: std::mem::take(&mut options),
                    key: None,
                },
            );
            report.push(number, None, q, Vec::new());
            stem.clear();
        }
        stem.push(line.to_owned());
    }
    if !stem.is_empty() || !options.is_empty() {
        number += 1;
        let q = Question::new(
            stem.join("\n"),
            QuestionKind::SingleChoice { options, key: None },
        );
        report.push(number, None, q, Vec::new());
    }
    report.finish()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const FILE: &str = "\u{feff}Thủ đô của Việt Nam là\nA. Huế\nB. Hà Nội\nC. Đà Nẵng\nD. Cần Thơ\nANSWER: B\n\nSông dài nhất Việt Nam?\nA) Sông Hồng\nB) Sông Đồng Nai\nANSWER: A\n\nCâu thiếu đáp án\nA. Có\nB. Không\n\nCâu lỗi\nA. X\nB. x\nANSWER: A\n";

    #[test]
    fn reads_questions_keys_and_problems() {
        let rep = import(FILE);
        assert_eq!(rep.questions.len(), 3);
        assert_eq!(
            rep.questions[0].question.stem.as_str(),
            "Thủ đô của Việt Nam là"
        );
        assert!(
            matches!(&rep.questions[0].question.kind, QuestionKind::SingleChoice { options, key: Some(1) } if options.len() == 4)
        );
        assert!(matches!(
            rep.questions[1].question.kind,
            QuestionKind::SingleChoice { key: Some(0), .. }
        ));
        assert_eq!(
            rep.questions[2].warnings,
            vec!["Câu 3: không tìm thấy đáp án".to_owned()]
        );
        assert_eq!(rep.errors.len(), 1);
        assert_eq!(rep.errors[0].message, "Câu 4: phương án A và B trùng nhau");
        assert_eq!(rep.counts.single_choice, 3);
    }
}
