//! The question model: what a question bank stores, serialisable to JSON for the database.
//!
//! Content is plain text with inline LaTeX between `$…$` (rendered by KaTeX in the browser) and
//! image references `{{img:ID}}` that point into an [`Asset`] list; keeping it as text (not HTML)
//! means importers, exporters and search all work on one simple form.

use std::collections::BTreeSet;
use std::fmt;

use domain::text::fold;
use serde::{Deserialize, Serialize};

/// Text with inline `$LaTeX$` and `{{img:ID}}` image references.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Content(pub String);

/// One piece of [`Content`], for renderers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Plain text.
    Text(&'a str),
    /// LaTeX source without the dollar signs.
    Math(&'a str),
    /// The id of an [`Asset`].
    Image(&'a str),
}

impl Content {
    /// Wraps a text.
    pub fn new(s: impl Into<String>) -> Self {
        Content(s.into())
    }

    /// The raw text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether there is nothing but whitespace.
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// The reference written into content for an image.
    pub fn image_ref(id: &str) -> String {
        format!("{{{{img:{id}}}}}")
    }

    /// Splits into text, math and image segments. An unclosed `$` is kept as text, because
    /// teachers write prices like "5$" and a stray dollar must not swallow the rest of a question.
    pub fn segments(&self) -> Vec<Segment<'_>> {
        let mut out = Vec::new();
        let s = self.0.as_str();
        let mut rest = s;
        while !rest.is_empty() {
            let next_math = rest.find('$');
            let next_img = rest.find("{{img:");
            let (pos, is_math) = match (next_math, next_img) {
                (Some(m), Some(i)) if i < m => (i, false),
                (Some(m), _) => (m, true),
                (None, Some(i)) => (i, false),
                (None, None) => {
                    out.push(Segment::Text(rest));
                    break;
                }
            };
            let (close, skip) = if is_math {
                (rest[pos + 1..].find('$').map(|c| pos + 1 + c), 1)
            } else {
                (rest[pos..].find("}}").map(|c| pos + c), 6)
            };
            match close {
                Some(end) => {
                    if pos > 0 {
                        out.push(Segment::Text(&rest[..pos]));
                    }
                    let inner = &rest[pos + skip..end];
                    out.push(if is_math {
                        Segment::Math(inner)
                    } else {
                        Segment::Image(inner)
                    });
                    rest = &rest[end + if is_math { 1 } else { 2 }..];
                }
                None => {
                    out.push(Segment::Text(rest));
                    break;
                }
            }
        }
        out
    }

    /// The ids of the images this content shows.
    pub fn image_ids(&self) -> Vec<&str> {
        self.segments()
            .into_iter()
            .filter_map(|s| match s {
                Segment::Image(id) => Some(id),
                _ => None,
            })
            .collect()
    }
}

impl From<&str> for Content {
    fn from(s: &str) -> Self {
        Content(s.to_owned())
    }
}

impl fmt::Display for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An image (or other binary) a question shows, carried with the questions it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// The id used in `{{img:ID}}`; importers use the file name inside the package.
    pub id: String,
    /// The media type, such as `image/png`.
    pub mime: String,
    /// The bytes; the database layer is expected to move them to object storage.
    pub bytes: Vec<u8>,
}

impl Asset {
    /// Guesses a media type from a file name, because Office packages do not always say.
    pub fn mime_from_name(name: &str) -> &'static str {
        let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
        match ext.as_str() {
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "gif" => "image/gif",
            "bmp" => "image/bmp",
            "svg" => "image/svg+xml",
            "tif" | "tiff" => "image/tiff",
            "emf" => "image/emf",
            "wmf" => "image/wmf",
            "webp" => "image/webp",
            _ => "application/octet-stream",
        }
    }
}

/// The four levels of Vietnamese test matrices (ma trận đề).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CognitiveLevel {
    /// Nhận biết: recall.
    NhanBiet,
    /// Thông hiểu: understanding.
    ThongHieu,
    /// Vận dụng: application.
    VanDung,
    /// Vận dụng cao: advanced application.
    VanDungCao,
}

impl CognitiveLevel {
    /// All levels, lowest first.
    pub const ALL: [CognitiveLevel; 4] = [
        CognitiveLevel::NhanBiet,
        CognitiveLevel::ThongHieu,
        CognitiveLevel::VanDung,
        CognitiveLevel::VanDungCao,
    ];

    /// The Vietnamese label as printed on a matrix.
    pub fn label(self) -> &'static str {
        match self {
            CognitiveLevel::NhanBiet => "Nhận biết",
            CognitiveLevel::ThongHieu => "Thông hiểu",
            CognitiveLevel::VanDung => "Vận dụng",
            CognitiveLevel::VanDungCao => "Vận dụng cao",
        }
    }

    /// Parses a label as teachers type it: with or without accents, any case, or the usual
    /// abbreviations (NB, TH, VD, VDC) and the numbers 1–4.
    pub fn from_label(s: &str) -> Option<Self> {
        match fold(s).as_str() {
            "nhan biet" | "nb" | "1" | "biet" => Some(CognitiveLevel::NhanBiet),
            "thong hieu" | "th" | "2" | "hieu" => Some(CognitiveLevel::ThongHieu),
            "van dung" | "vd" | "3" => Some(CognitiveLevel::VanDung),
            "van dung cao" | "vdc" | "4" => Some(CognitiveLevel::VanDungCao),
            _ => None,
        }
    }
}

impl fmt::Display for CognitiveLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Where a question comes from and how it fits a matrix.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metadata {
    /// Subject, such as "Toán".
    pub subject: Option<String>,
    /// Grade 1–12.
    pub grade: Option<u8>,
    /// Topic or chapter, matched accent-insensitively by matrix draws.
    pub topic: Option<String>,
    /// Cognitive level.
    pub level: Option<CognitiveLevel>,
    /// Free tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Who wrote it.
    pub author: Option<String>,
    /// Where it was taken from (a textbook, an earlier exam).
    pub source: Option<String>,
}

/// One statement of a true/false cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// The statement.
    pub text: Content,
    /// Whether it is true; `None` while an imported question still lacks its key.
    pub truth: Option<bool>,
}

/// The key of a short-answer question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ShortKey {
    /// A number; answers within `tolerance` (absolute) are right.
    Numeric {
        /// The expected value.
        value: f64,
        /// The accepted absolute difference (0 for exact).
        tolerance: f64,
    },
    /// Accepted texts, compared ignoring case, spacing and accents.
    Text {
        /// Every accepted variant.
        accepted: Vec<String>,
    },
}

/// One criterion of an essay rubric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    /// What the marker looks for.
    pub description: String,
    /// The most points this criterion gives.
    pub max_points: f64,
}

/// The kind of a question with its options and key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    /// Options A, B, C, D…, exactly one right.
    SingleChoice {
        /// The options in original order.
        options: Vec<Content>,
        /// The index of the right option; `None` while an import lacks it.
        key: Option<usize>,
    },
    /// Options of which a set is right.
    MultipleResponse {
        /// The options in original order.
        options: Vec<Content>,
        /// The indices of the right options.
        keys: BTreeSet<usize>,
    },
    /// Part II of the 2025 upper-secondary exam: four statements a–d, each true or false.
    TrueFalseCluster {
        /// Exactly four statements.
        statements: Vec<Statement>,
    },
    /// A number or a short text typed by the student.
    ShortAnswer {
        /// The key; `None` while an import lacks it.
        key: Option<ShortKey>,
    },
    /// A free answer marked by a teacher along a rubric.
    Essay {
        /// The rubric criteria.
        rubric: Vec<Criterion>,
    },
}

/// The kinds without their data, for counts and filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KindTag {
    /// [`QuestionKind::SingleChoice`].
    SingleChoice,
    /// [`QuestionKind::MultipleResponse`].
    MultipleResponse,
    /// [`QuestionKind::TrueFalseCluster`].
    TrueFalseCluster,
    /// [`QuestionKind::ShortAnswer`].
    ShortAnswer,
    /// [`QuestionKind::Essay`].
    Essay,
}

impl QuestionKind {
    /// The kind without its data.
    pub fn tag(&self) -> KindTag {
        match self {
            QuestionKind::SingleChoice { .. } => KindTag::SingleChoice,
            QuestionKind::MultipleResponse { .. } => KindTag::MultipleResponse,
            QuestionKind::TrueFalseCluster { .. } => KindTag::TrueFalseCluster,
            QuestionKind::ShortAnswer { .. } => KindTag::ShortAnswer,
            QuestionKind::Essay { .. } => KindTag::Essay,
        }
    }

    /// The options, for the two choice kinds.
    pub fn options(&self) -> Option<&[Content]> {
        match self {
            QuestionKind::SingleChoice { options, .. }
            | QuestionKind::MultipleResponse { options, .. } => Some(options),
            _ => None,
        }
    }
}

/// A question as a bank stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    /// The stem.
    pub stem: Content,
    /// The id of a shared [`Passage`] (a reading text, a figure) this question refers to.
    #[serde(default)]
    pub passage: Option<String>,
    /// Kind, options and key.
    pub kind: QuestionKind,
    /// The points the question is worth.
    pub points: f64,
    /// Worked solution shown after the test.
    #[serde(default)]
    pub explanation: Option<Content>,
    /// Subject, grade, topic, level…
    #[serde(default)]
    pub meta: Metadata,
}

impl Question {
    /// A question of the given kind worth one point, with empty metadata.
    pub fn new(stem: impl Into<String>, kind: QuestionKind) -> Self {
        Question {
            stem: Content(stem.into()),
            passage: None,
            kind,
            points: 1.0,
            explanation: None,
            meta: Metadata::default(),
        }
    }

    /// Checks the question is usable in a test; `number` is the question's number in its file
    /// or paper, so messages read "Câu 3: …".
    pub fn validate(&self, number: usize) -> Result<(), Vec<ValidationError>> {
        let mut problems = Vec::new();
        if self.stem.is_blank() && self.passage.is_none() {
            problems.push(Problem::EmptyStem);
        }
        if !(self.points.is_finite() && self.points >= 0.0) {
            problems.push(Problem::BadPoints);
        }
        match &self.kind {
            QuestionKind::SingleChoice { options, key } => {
                check_options(options, &mut problems);
                match key {
                    None => problems.push(Problem::NoKey),
                    Some(k) if *k >= options.len() => problems.push(Problem::KeyOutOfRange),
                    Some(_) => {}
                }
            }
            QuestionKind::MultipleResponse { options, keys } => {
                check_options(options, &mut problems);
                if keys.is_empty() {
                    problems.push(Problem::NoKey);
                } else if keys.iter().any(|k| *k >= options.len()) {
                    problems.push(Problem::KeyOutOfRange);
                }
            }
            QuestionKind::TrueFalseCluster { statements } => {
                if statements.len() != 4 {
                    problems.push(Problem::ClusterSize(statements.len()));
                }
                for (i, s) in statements.iter().enumerate() {
                    let letter = (b'a' + (i as u8 % 26)) as char;
                    if s.text.is_blank() {
                        problems.push(Problem::EmptyStatement(letter));
                    }
                    if s.truth.is_none() {
                        problems.push(Problem::StatementNoKey(letter));
                    }
                }
            }
            QuestionKind::ShortAnswer { key } => match key {
                None => problems.push(Problem::NoKey),
                Some(ShortKey::Numeric { value, tolerance }) => {
                    if !value.is_finite() || !tolerance.is_finite() || *tolerance < 0.0 {
                        problems.push(Problem::BadNumber);
                    }
                }
                Some(ShortKey::Text { accepted }) => {
                    if accepted.iter().all(|a| fold(a).is_empty()) {
                        problems.push(Problem::NoKey);
                    }
                }
            },
            QuestionKind::Essay { rubric } => {
                if rubric
                    .iter()
                    .any(|c| !(c.max_points.is_finite() && c.max_points >= 0.0))
                {
                    problems.push(Problem::BadPoints);
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems
                .into_iter()
                .map(|problem| ValidationError { number, problem })
                .collect())
        }
    }
}

fn check_options(options: &[Content], problems: &mut Vec<Problem>) {
    if options.len() < 2 {
        problems.push(Problem::TooFewOptions(options.len()));
    }
    for (i, o) in options.iter().enumerate() {
        if o.is_blank() {
            problems.push(Problem::EmptyOption(option_letter(i)));
        }
    }
    // Teachers copy an option and forget to edit it; "Hà Nội" and "Ha  noi" count as the same.
    for i in 0..options.len() {
        for j in i + 1..options.len() {
            let a = fold(options[i].as_str());
            if !a.is_empty() && a == fold(options[j].as_str()) {
                problems.push(Problem::DuplicateOptions(
                    option_letter(i),
                    option_letter(j),
                ));
            }
        }
    }
}

/// The letter printed for an option index: 0 → A.
pub fn option_letter(i: usize) -> char {
    (b'A' + (i % 26) as u8) as char
}

/// The index of an option letter: A → 0.
pub fn option_index(c: char) -> Option<usize> {
    let c = c.to_ascii_uppercase();
    c.is_ascii_uppercase().then(|| (c as u8 - b'A') as usize)
}

/// What is wrong with a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Problem {
    /// The stem is empty and no passage is referenced.
    EmptyStem,
    /// No key at all.
    NoKey,
    /// A key points past the options.
    KeyOutOfRange,
    /// Fewer than two options.
    TooFewOptions(usize),
    /// An empty option.
    EmptyOption(char),
    /// Two options read the same.
    DuplicateOptions(char, char),
    /// A true/false cluster without exactly four statements.
    ClusterSize(usize),
    /// A statement without text.
    EmptyStatement(char),
    /// A statement without a true/false key.
    StatementNoKey(char),
    /// A numeric key that is not a finite number.
    BadNumber,
    /// Negative or non-finite points.
    BadPoints,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::EmptyStem => write!(f, "đề bài trống"),
            Problem::NoKey => write!(f, "không có đáp án đúng"),
            Problem::KeyOutOfRange => write!(f, "đáp án không thuộc các phương án"),
            Problem::TooFewOptions(n) => write!(f, "cần ít nhất 2 phương án, chỉ có {n}"),
            Problem::EmptyOption(c) => write!(f, "phương án {c} trống"),
            Problem::DuplicateOptions(a, b) => write!(f, "phương án {a} và {b} trùng nhau"),
            Problem::ClusterSize(n) => {
                write!(
                    f,
                    "câu đúng/sai phải có đúng 4 ý a), b), c), d), hiện có {n}"
                )
            }
            Problem::EmptyStatement(c) => write!(f, "ý {c}) trống"),
            Problem::StatementNoKey(c) => write!(f, "ý {c}) chưa có đáp án Đúng/Sai"),
            Problem::BadNumber => write!(f, "đáp án số không hợp lệ"),
            Problem::BadPoints => write!(f, "điểm không hợp lệ"),
        }
    }
}

/// A problem found in question `number`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("Câu {number}: {problem}")]
pub struct ValidationError {
    /// The question number as the teacher sees it.
    pub number: usize,
    /// What is wrong.
    pub problem: Problem,
}

/// A text or figure several questions share (a reading passage, a data table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passage {
    /// The id questions refer to.
    pub id: String,
    /// The text.
    pub content: Content,
}

/// A part of a paper ("PHẦN I"), inside which questions may be shuffled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// The heading, such as "PHẦN I. Câu trắc nghiệm nhiều phương án lựa chọn".
    pub title: String,
    /// The questions in original order.
    pub questions: Vec<Question>,
}

/// A paper before shuffling: sections, shared passages and assets.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Exam {
    /// The title.
    pub title: String,
    /// The sections in order.
    pub sections: Vec<Section>,
    /// Shared passages.
    #[serde(default)]
    pub passages: Vec<Passage>,
    /// Images used by the questions.
    #[serde(default)]
    pub assets: Vec<Asset>,
}

impl Exam {
    /// All questions in paper order.
    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.sections.iter().flat_map(|s| s.questions.iter())
    }

    /// Validates every question, numbering them as printed (numbering restarts in each section,
    /// as in the 2025 exam layout).
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        let mut errors = Vec::new();
        for section in &self.sections {
            for (i, q) in section.questions.iter().enumerate() {
                if let Err(e) = q.validate(i + 1) {
                    errors.extend(e);
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Parses a number as Vietnamese students and teachers write it: "2,5", "-0,75", "2.5", "3".
/// A comma is the decimal separator; when both appear ("1.234,5") dots are thousands separators.
pub fn parse_number(s: &str) -> Option<f64> {
    let t: String = s.trim().chars().filter(|c| !c.is_whitespace()).collect();
    let t = t.replace('−', "-");
    if t.is_empty() {
        return None;
    }
    let normalised = if t.contains(',') && t.contains('.') {
        t.replace('.', "").replace(',', ".")
    } else {
        t.replace(',', ".")
    };
    if !normalised
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+')
    {
        return None;
    }
    normalised.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Writes a number the Vietnamese way, with a decimal comma and no trailing zeros: 2.5 → "2,5".
pub fn format_number(v: f64) -> String {
    let s = format!("{:.6}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    let s = if s == "-0" { "0" } else { s };
    s.replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(options: &[&str], key: Option<usize>) -> Question {
        Question::new(
            "Thủ đô của Việt Nam là",
            QuestionKind::SingleChoice {
                options: options.iter().map(|o| Content::from(*o)).collect(),
                key,
            },
        )
    }

    #[test]
    fn a_good_single_choice_validates() {
        assert!(
            single(&["Hà Nội", "Huế", "Đà Nẵng", "TP. Hồ Chí Minh"], Some(0))
                .validate(1)
                .is_ok()
        );
    }

    #[test]
    fn missing_key_names_the_question_in_vietnamese() {
        let errs = single(&["Hà Nội", "Huế"], None).validate(3).unwrap_err();
        assert_eq!(errs[0].to_string(), "Câu 3: không có đáp án đúng");
    }

    #[test]
    fn duplicate_options_ignore_accents_and_spaces() {
        let errs = single(&["Hà Nội", "Huế", "ha  noi"], Some(1))
            .validate(2)
            .unwrap_err();
        assert_eq!(
            errs,
            vec![ValidationError {
                number: 2,
                problem: Problem::DuplicateOptions('A', 'C')
            }]
        );
        assert_eq!(errs[0].to_string(), "Câu 2: phương án A và C trùng nhau");
    }

    #[test]
    fn one_option_is_not_a_question() {
        let errs = single(&["Hà Nội"], Some(0)).validate(7).unwrap_err();
        assert!(errs.iter().any(|e| e.problem == Problem::TooFewOptions(1)));
        let errs = single(&["Hà Nội", "Huế"], Some(4)).validate(7).unwrap_err();
        assert_eq!(errs[0].problem, Problem::KeyOutOfRange);
    }

    #[test]
    fn true_false_cluster_needs_four_keyed_statements() {
        let st = |t: &str, v| Statement {
            text: t.into(),
            truth: v,
        };
        let q = Question::new(
            "Cho hàm số $y=x^2$.",
            QuestionKind::TrueFalseCluster {
                statements: vec![
                    st("Hàm số chẵn", Some(true)),
                    st("Đồng biến trên R", Some(false)),
                    st("Có cực tiểu", None),
                ],
            },
        );
        let errs = q.validate(1).unwrap_err();
        let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(msgs.contains(
            &"Câu 1: câu đúng/sai phải có đúng 4 ý a), b), c), d), hiện có 3".to_owned()
        ));
        assert!(msgs.contains(&"Câu 1: ý c) chưa có đáp án Đúng/Sai".to_owned()));
    }

    #[test]
    fn short_answer_and_essay_validation() {
        let q = Question::new(
            "Tính $\\frac{5}{2}$",
            QuestionKind::ShortAnswer {
                key: Some(ShortKey::Numeric {
                    value: 2.5,
                    tolerance: 0.0,
                }),
            },
        );
        assert!(q.validate(1).is_ok());
        let q = Question::new(
            "Thủ đô?",
            QuestionKind::ShortAnswer {
                key: Some(ShortKey::Text {
                    accepted: vec!["  ".into()],
                }),
            },
        );
        assert_eq!(q.validate(2).unwrap_err()[0].problem, Problem::NoKey);
        let q = Question::new(
            "Nghị luận",
            QuestionKind::Essay {
                rubric: vec![Criterion {
                    description: "Mở bài".into(),
                    max_points: 0.5,
                }],
            },
        );
        assert!(q.validate(3).is_ok());
    }

    #[test]
    fn levels_parse_from_labels_and_abbreviations() {
        for l in CognitiveLevel::ALL {
            assert_eq!(CognitiveLevel::from_label(l.label()), Some(l));
        }
        assert_eq!(
            CognitiveLevel::from_label("VAN DUNG CAO"),
            Some(CognitiveLevel::VanDungCao)
        );
        assert_eq!(
            CognitiveLevel::from_label(" thông  hiểu "),
            Some(CognitiveLevel::ThongHieu)
        );
        assert_eq!(
            CognitiveLevel::from_label("VDC"),
            Some(CognitiveLevel::VanDungCao)
        );
        assert_eq!(CognitiveLevel::from_label("khó"), None);
    }

    #[test]
    fn numbers_with_a_decimal_comma() {
        assert_eq!(parse_number("2,5"), Some(2.5));
        assert_eq!(parse_number("-0,75"), Some(-0.75));
        assert_eq!(parse_number("2.5"), Some(2.5));
        assert_eq!(parse_number("1.234,5"), Some(1234.5));
        assert_eq!(parse_number(" 3 "), Some(3.0));
        assert_eq!(parse_number("abc"), None);
        assert_eq!(parse_number("1e400"), None);
        assert_eq!(format_number(2.5), "2,5");
        assert_eq!(format_number(-3.0), "-3");
    }

    #[test]
    fn content_segments_split_math_and_images() {
        let c = Content::from("Tính $\\sqrt{2}$ theo hình {{img:image1.png}} giá 5$");
        assert_eq!(
            c.segments(),
            vec![
                Segment::Text("Tính "),
                Segment::Math("\\sqrt{2}"),
                Segment::Text(" theo hình "),
                Segment::Image("image1.png"),
                Segment::Text(" giá 5$"),
            ]
        );
        assert_eq!(c.image_ids(), vec!["image1.png"]);
    }

    #[test]
    fn questions_round_trip_through_json() {
        let mut q = single(&["Hà Nội", "Huế"], Some(0));
        q.meta.level = Some(CognitiveLevel::VanDung);
        q.meta.topic = Some("Địa lí".into());
        let json = serde_json::to_string(&q).unwrap();
        assert!(json.contains("\"type\":\"single_choice\""));
        assert_eq!(serde_json::from_str::<Question>(&json).unwrap(), q);
    }
}
