//! Grade rules of Vietnamese general education: scores, averages and result levels.
//!
//! Two circulars apply, picked by [`GradeScheme`]:
//!
//! - **Thông tư 22/2021/TT-BGDĐT** (THCS, THPT and GDTX, grades 6–12). Scored subjects have
//!   regular scores (ĐĐGtx), one mid-term (ĐĐGgk) and one end-term (ĐĐGck) score per term on a
//!   10-point scale with one decimal; comment-graded subjects are rated Đạt / Chưa đạt.
//!   Sources: Art. 5 (which subjects are comment-graded, score format), Art. 6.2 (number of
//!   regular assessments), Art. 7.2 (one mid-term and one end-term per term), Art. 9 (averages,
//!   term and year results); see `requirements/regulations.md` §3 (rules TT22-5.1 … TT22-9.3).
//! - **Thông tư 27/2020/TT-BGDĐT** (primary, grades 1–5). Subjects get Hoàn thành tốt /
//!   Hoàn thành / Chưa hoàn thành; periodic tests are marked on a 10-point scale without
//!   decimals (Art. 7.2); `regulations.md` §3b.
//!
//! Everything is computed on integer tenths, never on floats: 6.65 must round to 6.7, and
//! `6.65_f64` is 6.6499… in binary.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::people::Invalid;
use crate::text::fold;
use crate::tree::SchoolLevel;

fn invalid(msg: impl Into<String>) -> Invalid {
    Invalid(msg.into())
}

// ---------------------------------------------------------------------------------------------
// Scheme
// ---------------------------------------------------------------------------------------------

/// Which circular grades a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GradeScheme {
    /// Thông tư 22/2021: THCS, THPT and GDTX (grades 6–12).
    Circular22,
    /// Thông tư 27/2020: primary (grades 1–5).
    Circular27,
}

impl GradeScheme {
    /// Every scheme.
    pub const ALL: [Self; 2] = [Self::Circular22, Self::Circular27];

    /// The scheme of a school level. `None` for a multi-level school (liên cấp), where the
    /// grade decides: use [`GradeScheme::for_grade`] or [`GradeScheme::for_class`].
    pub fn for_level(level: SchoolLevel) -> Option<Self> {
        match level {
            SchoolLevel::Primary => Some(Self::Circular27),
            SchoolLevel::LowerSecondary | SchoolLevel::UpperSecondary | SchoolLevel::Continuing => {
                Some(Self::Circular22)
            }
            SchoolLevel::MultiLevel => None,
        }
    }

    /// The scheme of a grade (khối): 1–5 → Circular 27, 6–12 → Circular 22.
    pub fn for_grade(grade: u8) -> Option<Self> {
        match grade {
            1..=5 => Some(Self::Circular27),
            6..=12 => Some(Self::Circular22),
            _ => None,
        }
    }

    /// The scheme of a class: its grade decides when it is known (a multi-level school has
    /// both), otherwise the school level.
    pub fn for_class(level: SchoolLevel, grade: Option<u8>) -> Option<Self> {
        grade
            .and_then(Self::for_grade)
            .or_else(|| Self::for_level(level))
    }

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Circular22 => "tt22_2021",
            Self::Circular27 => "tt27_2020",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Circular22 => "Thông tư 22/2021/TT-BGDĐT",
            Self::Circular27 => "Thông tư 27/2020/TT-BGDĐT",
        }
    }
}

/// A school term (học kỳ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Term {
    /// Học kỳ I.
    I,
    /// Học kỳ II.
    II,
}

impl Term {
    /// Both terms, in order.
    pub const ALL: [Self; 2] = [Self::I, Self::II];

    /// The stored number: 1 or 2.
    pub fn number(self) -> u8 {
        match self {
            Self::I => 1,
            Self::II => 2,
        }
    }

    /// From the stored number.
    pub fn from_number(n: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.number() == n)
    }

    /// The Vietnamese label ("Học kỳ I").
    pub fn label(self) -> &'static str {
        match self {
            Self::I => "Học kỳ I",
            Self::II => "Học kỳ II",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Circular 22: scores
// ---------------------------------------------------------------------------------------------

/// A score of Circular 22 on the 10-point scale with at most one decimal (TT22 Art. 5.2),
/// kept as whole tenths so arithmetic is exact. Subject averages are scores too.
///
/// Displays with a decimal comma and one decimal, as Vietnamese gradebooks print: `7,5`, `8,0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Score(u8);

impl Score {
    /// The highest score, 10.0.
    pub const MAX: Self = Self(100);

    /// Parses a score as teachers type it: `7`, `7.5`, `7,5` (decimal comma), `10`, `7.50`.
    /// Rejects text that is not a number, values outside 0–10 and a second significant decimal.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(invalid("Thiếu điểm"));
        }
        let (int_part, frac_part) = match s.split_once([',', '.']) {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        let digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
        let negative = int_part.starts_with('-');
        let int_digits = int_part.strip_prefix('-').unwrap_or(int_part);
        if int_digits.is_empty()
            || !digits(int_digits)
            || !digits(frac_part)
            || (s.contains([',', '.']) && frac_part.is_empty())
        {
            return Err(invalid(format!("Điểm \"{s}\" không phải là số")));
        }
        let shown = s.replace('.', ",");
        if negative {
            return Err(invalid(format!("Điểm {shown} ngoài thang 0–10")));
        }
        let extra = frac_part.get(1..).unwrap_or("");
        if !extra.chars().all(|c| c == '0') {
            return Err(invalid(format!(
                "Điểm {shown} có quá một chữ số thập phân (chỉ ghi như 7 hoặc 7,5)"
            )));
        }
        let whole: u32 = if int_digits.len() > 3 {
            u32::MAX
        } else {
            int_digits.parse().unwrap_or(u32::MAX)
        };
        let tenth = frac_part
            .chars()
            .next()
            .and_then(|c| c.to_digit(10))
            .unwrap_or(0);
        let tenths = whole.saturating_mul(10).saturating_add(tenth);
        if tenths > 100 {
            return Err(invalid(format!("Điểm {shown} ngoài thang 0–10")));
        }
        Ok(Self(tenths as u8))
    }

    /// A score from a number cell. Excel stores 7.5 as a binary float; anything within 1e-6 of
    /// a tenth is that tenth, anything else has a second decimal and is rejected.
    pub fn from_f64(v: f64) -> Result<Self, Invalid> {
        let shown = format!("{v}").replace('.', ",");
        if !v.is_finite() || !(0.0..=10.0).contains(&v) {
            return Err(invalid(format!("Điểm {shown} ngoài thang 0–10")));
        }
        let tenths = (v * 10.0).round();
        if (v * 10.0 - tenths).abs() > 1e-6 {
            return Err(invalid(format!(
                "Điểm {shown} có quá một chữ số thập phân (chỉ ghi như 7 hoặc 7,5)"
            )));
        }
        Ok(Self(tenths as u8))
    }

    /// A score from whole tenths (75 → 7.5); `None` above 100.
    pub fn from_tenths(tenths: u8) -> Option<Self> {
        (tenths <= 100).then_some(Self(tenths))
    }

    /// The score in whole tenths (7.5 → 75).
    pub fn tenths(self) -> u8 {
        self.0
    }

    /// The score as a float, for writing a number cell or a chart. Never compute with it.
    pub fn to_f64(self) -> f64 {
        f64::from(self.0) / 10.0
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.0 / 10, self.0 % 10)
    }
}

impl TryFrom<u8> for Score {
    type Error = Invalid;
    fn try_from(tenths: u8) -> Result<Self, Self::Error> {
        Self::from_tenths(tenths).ok_or_else(|| invalid(format!("Điểm {tenths}/10 ngoài thang")))
    }
}

impl From<Score> for u8 {
    fn from(s: Score) -> Self {
        s.0
    }
}

/// The kind of a Circular 22 assessment (TT22 Art. 6, 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AssessmentKind {
    /// Đánh giá thường xuyên (ĐĐGtx), several per term.
    Regular,
    /// Đánh giá giữa kỳ (ĐĐGgk), one per term, weight 2.
    MidTerm,
    /// Đánh giá cuối kỳ (ĐĐGck), one per term, weight 3.
    EndTerm,
}

impl AssessmentKind {
    /// Every kind, in gradebook column order.
    pub const ALL: [Self; 3] = [Self::Regular, Self::MidTerm, Self::EndTerm];

    /// The stored code: `TX`, `GK`, `CK`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Regular => "TX",
            Self::MidTerm => "GK",
            Self::EndTerm => "CK",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Regular => "Đánh giá thường xuyên",
            Self::MidTerm => "Đánh giá giữa kỳ",
            Self::EndTerm => "Đánh giá cuối kỳ",
        }
    }

    /// Weight in the term average (TT22 Art. 9.2): 1, 2, 3.
    pub fn weight(self) -> u32 {
        match self {
            Self::Regular => 1,
            Self::MidTerm => 2,
            Self::EndTerm => 3,
        }
    }
}

/// Number of regular scores (ĐĐGtx) a scored subject needs per term, from its periods per
/// school year (TT22 Art. 6.2.b, rule TT22-6.2.b of `regulations.md`): 35 periods or fewer → 2,
/// more than 35 up to 70 → 3, more than 70 → 4. The circular names "35 tiết" exactly; subjects
/// with fewer periods (a school's own subject) are given the smallest count.
pub fn required_regular(periods_per_year: u16) -> usize {
    match periods_per_year {
        0..=35 => 2,
        36..=70 => 3,
        _ => 4,
    }
}

/// Number of regular assessments a comment-graded subject has per term (TT22 Art. 6.2.a):
/// two, whatever its periods.
pub const COMMENT_REGULAR_PER_TERM: usize = 2;

/// What a result still lacks before it can be computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Missing {
    /// Fewer regular assessments than the subject needs.
    Regular {
        /// How many the subject needs.
        required: usize,
        /// How many were entered.
        have: usize,
    },
    /// No mid-term assessment.
    MidTerm,
    /// No end-term assessment.
    EndTerm,
    /// No result for this term (for a year result).
    Term(Term),
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Regular { required, have } => write!(
                f,
                "cần {required} điểm đánh giá thường xuyên, mới có {have}"
            ),
            Self::MidTerm => f.write_str("thiếu điểm giữa kỳ"),
            Self::EndTerm => f.write_str("thiếu điểm cuối kỳ"),
            Self::Term(t) => write!(f, "thiếu kết quả học kỳ {}", roman(*t)),
        }
    }
}

fn roman(t: Term) -> &'static str {
    match t {
        Term::I => "I",
        Term::II => "II",
    }
}

/// A result that cannot be computed yet, with every reason ("thiếu điểm cuối kỳ").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incomplete(pub Vec<Missing>);

impl std::error::Error for Incomplete {}

impl fmt::Display for Incomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Chưa tính được: ")?;
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

/// One student's assessments of one scored subject in one term.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermScores {
    /// Regular scores (ĐĐGtx), in entry order.
    pub regular: Vec<Score>,
    /// Mid-term score (ĐĐGgk).
    pub mid_term: Option<Score>,
    /// End-term score (ĐĐGck).
    pub end_term: Option<Score>,
}

/// `num / den` rounded to the nearest whole number, halves up (làm tròn số).
fn div_round_half_up(num: u32, den: u32) -> u32 {
    (2 * num + den) / (2 * den)
}

/// The term average ĐTBmhk = (ΣĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (number of ĐĐGtx + 5), rounded
/// to one decimal, halves up (TT22 Art. 9.2 and 9.3, rule TT22-9.2).
///
/// `required_regular` is the subject's count from [`required_regular`]. More regular scores
/// than required are all counted (the formula divides by the number actually recorded); fewer,
/// or a missing mid-term or end-term score, make the average not computable.
pub fn term_average(scores: &TermScores, required_regular: usize) -> Result<Score, Incomplete> {
    let mut missing = Vec::new();
    if scores.regular.len() < required_regular {
        missing.push(Missing::Regular {
            required: required_regular,
            have: scores.regular.len(),
        });
    }
    if scores.mid_term.is_none() {
        missing.push(Missing::MidTerm);
    }
    if scores.end_term.is_none() {
        missing.push(Missing::EndTerm);
    }
    let (Some(gk), Some(ck), true) = (scores.mid_term, scores.end_term, missing.is_empty()) else {
        return Err(Incomplete(missing));
    };
    let regular: u32 = scores.regular.iter().map(|s| u32::from(s.0)).sum();
    let sum = regular
        + AssessmentKind::MidTerm.weight() * u32::from(gk.0)
        + AssessmentKind::EndTerm.weight() * u32::from(ck.0);
    let den = scores.regular.len() as u32
        + AssessmentKind::MidTerm.weight()
        + AssessmentKind::EndTerm.weight();
    Ok(Score(div_round_half_up(sum, den) as u8))
}

/// The year average ĐTBmcn = (ĐTBmhkI + 2·ĐTBmhkII) / 3, rounded to one decimal, halves up,
/// from the already rounded term averages (TT22 Art. 9.2, rule TT22-9.2).
pub fn year_average(term_i: Option<Score>, term_ii: Option<Score>) -> Result<Score, Incomplete> {
    match (term_i, term_ii) {
        (Some(a), Some(b)) => Ok(Score(
            div_round_half_up(u32::from(a.0) + 2 * u32::from(b.0), 3) as u8,
        )),
        (a, b) => Err(Incomplete(
            [(a, Term::I), (b, Term::II)]
                .into_iter()
                .filter(|(s, _)| s.is_none())
                .map(|(_, t)| Missing::Term(t))
                .collect(),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Circular 22: comment-graded subjects
// ---------------------------------------------------------------------------------------------

/// Subject codes of `curriculum.rs` graded by comments only (TT22 Art. 5.1).
const COMMENT_CODES: &[&str] = &[
    "GDTC", "AN", "MT", "AN_THPT", "MT_THPT", "HDTN", "GDDP", "NT", "HDTNHN",
];

/// Folded name beginnings of comment-graded subjects (TT22 Art. 5.1: Giáo dục thể chất, Nghệ
/// thuật, Âm nhạc, Mĩ thuật, Nội dung giáo dục của địa phương, Hoạt động trải nghiệm, hướng
/// nghiệp), with the spellings schools use ("Mỹ thuật", "Thể dục", "Giáo dục địa phương").
const COMMENT_NAMES: &[&str] = &[
    "giao duc the chat",
    "the duc",
    "nghe thuat",
    "am nhac",
    "mi thuat",
    "my thuat",
    "noi dung giao duc cua dia phuong",
    "noi dung giao duc dia phuong",
    "giao duc dia phuong",
    "giao duc cua dia phuong",
    "hoat dong trai nghiem",
];

/// Whether a Circular 22 subject is graded by comments only (Đạt / Chưa đạt) rather than by
/// scores, from its code in `curriculum.rs` (`GDTC`, `AN`, `MT`, `AN_THPT`, `MT_THPT`, `HDTN`,
/// `GDDP`) or its name, ignoring case, accents and any text in parentheses
/// ("Mĩ thuật (THPT)", "Hoạt động trải nghiệm, hướng nghiệp").
pub fn is_comment_graded(subject_code_or_name: &str) -> bool {
    let raw = subject_code_or_name.trim();
    if COMMENT_CODES.iter().any(|c| c.eq_ignore_ascii_case(raw)) {
        return true;
    }
    let without_parens: String = {
        let mut depth = 0usize;
        raw.chars()
            .filter(|c| match c {
                '(' => {
                    depth += 1;
                    false
                }
                ')' => {
                    depth = depth.saturating_sub(1);
                    false
                }
                _ => depth == 0,
            })
            .collect()
    };
    let key = fold(&without_parens);
    COMMENT_NAMES.iter().any(|n| {
        key == *n
            || key
                .strip_prefix(n)
                .is_some_and(|rest| rest.starts_with([' ', ',', '-']))
    })
}

/// A comment rating of Circular 22: Đạt or Chưa đạt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Rating {
    /// Đạt (Đ).
    Pass,
    /// Chưa đạt (CĐ).
    Fail,
}

impl Rating {
    /// The stored code and gradebook mark: `Đ`, `CĐ`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Pass => "Đ",
            Self::Fail => "CĐ",
        }
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "Đạt",
            Self::Fail => "Chưa đạt",
        }
    }

    /// Parses `Đ`, `CĐ`, `Đạt`, `Chưa đạt`, also without accents (`D`, `CD`, `dat`).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match fold(raw).as_str() {
            "" => Err(invalid("Thiếu mức đánh giá")),
            "d" | "dat" => Ok(Self::Pass),
            "cd" | "chua dat" | "c d" => Ok(Self::Fail),
            _ => Err(invalid(format!(
                "\"{}\" không phải mức đánh giá (ghi Đ hoặc CĐ)",
                raw.trim()
            ))),
        }
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One student's assessments of one comment-graded subject in one term.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermRatings {
    /// Regular assessments.
    pub regular: Vec<Rating>,
    /// Mid-term assessment.
    pub mid_term: Option<Rating>,
    /// End-term assessment.
    pub end_term: Option<Rating>,
}

/// The term result of a comment-graded subject (TT22 Art. 9.1.a, rule TT22-9.1): **Đạt** when
/// every required assessment was done (2 regular, the mid-term, the end-term) and *all of them*
/// are Đạt; otherwise Chưa đạt.
///
/// The "end-term Đạt and at least 2/3 Đạt" rule some schools still apply comes from the
/// repealed Thông tư 58/2011 (as amended by Thông tư 26/2020) and is not used here.
///
/// While assessments are missing the result is [`Incomplete`] rather than Chưa đạt, so a term
/// in progress is not shown as failed; when the term closes, a student who did not take the
/// make-up assessment is rated Chưa đạt by the caller (TT22 Art. 7, rule TT22-7.4).
pub fn comment_term_result(ratings: &TermRatings) -> Result<Rating, Incomplete> {
    let mut missing = Vec::new();
    if ratings.regular.len() < COMMENT_REGULAR_PER_TERM {
        missing.push(Missing::Regular {
            required: COMMENT_REGULAR_PER_TERM,
            have: ratings.regular.len(),
        });
    }
    if ratings.mid_term.is_none() {
        missing.push(Missing::MidTerm);
    }
    if ratings.end_term.is_none() {
        missing.push(Missing::EndTerm);
    }
    if !missing.is_empty() {
        return Err(Incomplete(missing));
    }
    let all_pass = ratings
        .regular
        .iter()
        .chain(&ratings.mid_term)
        .chain(&ratings.end_term)
        .all(|r| *r == Rating::Pass);
    Ok(if all_pass { Rating::Pass } else { Rating::Fail })
}

/// The year result of a comment-graded subject: the result of term II (TT22 Art. 9.1.b).
pub fn comment_year_result(term_ii: Option<Rating>) -> Result<Rating, Incomplete> {
    term_ii.ok_or_else(|| Incomplete(vec![Missing::Term(Term::II)]))
}

// ---------------------------------------------------------------------------------------------
// Circular 22: learning result of a student
// ---------------------------------------------------------------------------------------------

/// One subject's term or year result, as it enters the learning-result level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubjectResult {
    /// A scored subject with its average (ĐTBmhk or ĐTBmcn).
    Scored(Score),
    /// A comment-graded subject with its rating.
    Comment(Rating),
}

/// A student's learning result for a term or the year (kết quả học tập, TT22 Art. 9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LearningLevel {
    /// Tốt.
    Good,
    /// Khá.
    FairlyGood,
    /// Đạt.
    Pass,
    /// Chưa đạt.
    Fail,
}

impl LearningLevel {
    /// Every level, best first.
    pub const ALL: [Self; 4] = [Self::Good, Self::FairlyGood, Self::Pass, Self::Fail];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Good => "tot",
            Self::FairlyGood => "kha",
            Self::Pass => "dat",
            Self::Fail => "chua_dat",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Good => "Tốt",
            Self::FairlyGood => "Khá",
            Self::Pass => "Đạt",
            Self::Fail => "Chưa đạt",
        }
    }
}

/// How many scored subjects the Tốt, Khá and Đạt levels need at or above their mark.
const LEVEL_SUBJECTS: usize = 6;

/// The learning result of one student for a term (from ĐTBmhk) or the year (from ĐTBmcn),
/// TT22 Art. 9.2 (rule TT22-9.3):
///
/// - **Tốt**: every comment subject Đạt; every scored subject ≥ 6,5, at least 6 of them ≥ 8,0.
/// - **Khá**: every comment subject Đạt; every scored subject ≥ 5,0, at least 6 of them ≥ 6,5.
/// - **Đạt**: at most one comment subject Chưa đạt; at least 6 scored subjects ≥ 5,0; none
///   below 3,5.
/// - **Chưa đạt**: every other case.
///
/// Pass the subjects the student is assessed in (leave out a subject the student is exempt
/// from). The "at least 6" counts are the circular's literal text, so a student with fewer than
/// six scored subjects cannot reach Đạt.
pub fn learning_level(subjects: &[SubjectResult]) -> LearningLevel {
    let mut averages = Vec::new();
    let mut failed_comments = 0usize;
    for s in subjects {
        match s {
            SubjectResult::Scored(avg) => averages.push(avg.tenths()),
            SubjectResult::Comment(Rating::Fail) => failed_comments += 1,
            SubjectResult::Comment(Rating::Pass) => {}
        }
    }
    let all_at_least = |t: u8| averages.iter().all(|a| *a >= t);
    let count_at_least = |t: u8| averages.iter().filter(|a| **a >= t).count();
    if failed_comments == 0 && all_at_least(65) && count_at_least(80) >= LEVEL_SUBJECTS {
        LearningLevel::Good
    } else if failed_comments == 0 && all_at_least(50) && count_at_least(65) >= LEVEL_SUBJECTS {
        LearningLevel::FairlyGood
    } else if failed_comments <= 1 && count_at_least(50) >= LEVEL_SUBJECTS && all_at_least(35) {
        LearningLevel::Pass
    } else {
        LearningLevel::Fail
    }
}

// ---------------------------------------------------------------------------------------------
// Circular 27: primary
// ---------------------------------------------------------------------------------------------

/// A primary periodic test score (TT27 Art. 7.2): a whole number on the 10-point scale,
/// "không cho điểm thập phân". Unlike the older Thông tư 22/2016, Thông tư 27/2020 no longer
/// forbids a 0, so 0–10 are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct PrimaryScore(u8);

impl PrimaryScore {
    /// Parses `7` (also `7,0` or `7.0`); rejects decimals (`7,5`), values above 10 and text.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(invalid("Thiếu điểm"));
        }
        let score = Score::parse(s).map_err(|e| {
            if s.contains([',', '.']) && !e.0.contains("không phải là số") {
                decimal_error(s)
            } else {
                e
            }
        })?;
        if score.tenths() % 10 != 0 {
            return Err(decimal_error(s));
        }
        Ok(Self(score.tenths() / 10))
    }

    /// A score from a number cell. Excel keeps 9 as the float 9.0; anything within 1e-6 of a
    /// whole number is that number, anything else has decimals and is rejected.
    pub fn from_f64(v: f64) -> Result<Self, Invalid> {
        let shown = format!("{v}").replace('.', ",");
        if !v.is_finite() || !(0.0..=10.0).contains(&v) {
            return Err(invalid(format!("Điểm {shown} ngoài thang 0–10")));
        }
        let points = v.round();
        if (v - points).abs() > 1e-6 {
            return Err(decimal_error(&shown));
        }
        Ok(Self(points as u8))
    }

    /// A score from a whole number; `None` above 10.
    pub fn new(points: u8) -> Option<Self> {
        (points <= 10).then_some(Self(points))
    }

    /// The score.
    pub fn points(self) -> u8 {
        self.0
    }
}

fn decimal_error(s: &str) -> Invalid {
    invalid(format!(
        "Điểm {} không hợp lệ: bài kiểm tra định kỳ tiểu học cho điểm số nguyên 0–10, không cho điểm thập phân",
        s.replace('.', ",")
    ))
}

impl fmt::Display for PrimaryScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<u8> for PrimaryScore {
    type Error = Invalid;
    fn try_from(points: u8) -> Result<Self, Self::Error> {
        Self::new(points).ok_or_else(|| invalid(format!("Điểm {points} ngoài thang 0–10")))
    }
}

impl From<PrimaryScore> for u8 {
    fn from(s: PrimaryScore) -> Self {
        s.0
    }
}

/// The level of a primary subject or activity at a periodic assessment (TT27 Art. 6.1.a).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PrimaryLevel {
    /// Hoàn thành tốt (T).
    Excellent,
    /// Hoàn thành (H).
    Complete,
    /// Chưa hoàn thành (C).
    Incomplete,
}

impl PrimaryLevel {
    /// Every level, best first.
    pub const ALL: [Self; 3] = [Self::Excellent, Self::Complete, Self::Incomplete];

    /// The stored code and gradebook mark: `T`, `H`, `C`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Excellent => "T",
            Self::Complete => "H",
            Self::Incomplete => "C",
        }
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Excellent => "Hoàn thành tốt",
            Self::Complete => "Hoàn thành",
            Self::Incomplete => "Chưa hoàn thành",
        }
    }

    /// Parses `T`/`H`/`C`, the abbreviations `HTT`/`HT`/`CHT` and the full labels, ignoring
    /// case and accents.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match fold(raw).as_str() {
            "" => Err(invalid("Thiếu mức đánh giá")),
            "t" | "htt" | "hoan thanh tot" => Ok(Self::Excellent),
            "h" | "ht" | "hoan thanh" => Ok(Self::Complete),
            "c" | "cht" | "chua hoan thanh" => Ok(Self::Incomplete),
            _ => Err(invalid(format!(
                "\"{}\" không phải mức đánh giá (ghi T, H hoặc C)",
                raw.trim()
            ))),
        }
    }
}

impl fmt::Display for PrimaryLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Subject codes of `curriculum.rs` with periodic tests at the end of term I and of the year
/// in primary (TT27 Art. 7.2): Tiếng Việt, Toán, Ngoại ngữ 1, Lịch sử và Địa lí, Khoa học,
/// Tin học và Công nghệ.
const PRIMARY_TESTED: &[&str] = &["TV", "TOAN", "NN1", "LSDL", "KH", "TIN", "CN"];

/// Whether a primary subject has a periodic test score at the end of term I and of the year
/// (TT27 Art. 7.2). Grades 4 and 5 also test Tiếng Việt and Toán at mid-term; see
/// [`primary_has_midterm_test`].
pub fn primary_has_test(subject_code: &str) -> bool {
    PRIMARY_TESTED
        .iter()
        .any(|c| c.eq_ignore_ascii_case(subject_code.trim()))
}

/// Whether a primary subject has a mid-term test score: Tiếng Việt and Toán in grades 4–5
/// (TT27 Art. 7.2).
pub fn primary_has_midterm_test(subject_code: &str, grade: u8) -> bool {
    matches!(grade, 4 | 5)
        && ["TV", "TOAN"]
            .iter()
            .any(|c| c.eq_ignore_ascii_case(subject_code.trim()))
}

/// One primary subject's periodic result: the level and, for tested subjects, the test score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimaryResult {
    /// Hoàn thành tốt / Hoàn thành / Chưa hoàn thành.
    pub level: PrimaryLevel,
    /// The periodic test score, when the subject has a test this period.
    pub score: Option<PrimaryScore>,
}

impl PrimaryResult {
    /// Parses a level and an optional score cell (empty score → `None`).
    pub fn parse(level: &str, score: &str) -> Result<Self, Invalid> {
        let level = PrimaryLevel::parse(level)?;
        let score = if score.trim().is_empty() {
            None
        } else {
            Some(PrimaryScore::parse(score)?)
        };
        Ok(Self { level, score })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(raw: &str) -> Score {
        Score::parse(raw).unwrap()
    }

    fn scores(tx: &[&str], gk: Option<&str>, ck: Option<&str>) -> TermScores {
        TermScores {
            regular: tx.iter().map(|t| s(t)).collect(),
            mid_term: gk.map(s),
            end_term: ck.map(s),
        }
    }

    #[test]
    fn scheme_by_level_and_grade() {
        assert_eq!(
            GradeScheme::for_level(SchoolLevel::Primary),
            Some(GradeScheme::Circular27)
        );
        for level in [
            SchoolLevel::LowerSecondary,
            SchoolLevel::UpperSecondary,
            SchoolLevel::Continuing,
        ] {
            assert_eq!(GradeScheme::for_level(level), Some(GradeScheme::Circular22));
        }
        assert_eq!(GradeScheme::for_level(SchoolLevel::MultiLevel), None);
        assert_eq!(
            GradeScheme::for_class(SchoolLevel::MultiLevel, Some(5)),
            Some(GradeScheme::Circular27)
        );
        assert_eq!(
            GradeScheme::for_class(SchoolLevel::MultiLevel, Some(6)),
            Some(GradeScheme::Circular22)
        );
        assert_eq!(GradeScheme::for_class(SchoolLevel::MultiLevel, None), None);
        assert_eq!(GradeScheme::for_grade(13), None);
        for scheme in GradeScheme::ALL {
            assert_eq!(GradeScheme::from_code(scheme.code()), Some(scheme));
        }
    }

    #[test]
    fn scores_parse_with_comma_or_point() {
        assert_eq!(s("7,5").tenths(), 75);
        assert_eq!(s("7.5").tenths(), 75);
        assert_eq!(s(" 10 ").tenths(), 100);
        assert_eq!(s("0").tenths(), 0);
        assert_eq!(s("7.50").tenths(), 75);
        assert_eq!(s("8").to_string(), "8,0");
        assert_eq!(s("7.5").to_string(), "7,5");
    }

    #[test]
    fn bad_scores_are_rejected_in_vietnamese() {
        assert_eq!(
            Score::parse("11").unwrap_err().0,
            "Điểm 11 ngoài thang 0–10"
        );
        assert_eq!(
            Score::parse("10,5").unwrap_err().0,
            "Điểm 10,5 ngoài thang 0–10"
        );
        assert_eq!(
            Score::parse("-1").unwrap_err().0,
            "Điểm -1 ngoài thang 0–10"
        );
        assert!(
            Score::parse("7.55")
                .unwrap_err()
                .0
                .contains("quá một chữ số thập phân")
        );
        assert_eq!(
            Score::parse("abc").unwrap_err().0,
            "Điểm \"abc\" không phải là số"
        );
        for bad in ["7,", ",5", "7,5,1", "1e1", "99999999999", "7 5"] {
            assert!(Score::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Score::parse("").unwrap_err().0, "Thiếu điểm");
    }

    #[test]
    fn scores_from_excel_numbers() {
        assert_eq!(Score::from_f64(7.5).unwrap().tenths(), 75);
        // 0.1 + 0.2 is 0.30000000000000004 in binary; it is still 0.3.
        assert_eq!(Score::from_f64(0.1 + 0.2).unwrap().tenths(), 3);
        assert!(Score::from_f64(7.55).is_err());
        assert!(Score::from_f64(10.1).is_err());
        assert!(Score::from_f64(f64::NAN).is_err());
        assert_eq!(Score::from_tenths(101), None);
    }

    #[test]
    fn scores_are_stored_as_tenths() {
        assert_eq!(u8::from(s("7,5")), 75);
        assert_eq!(Score::try_from(75u8).unwrap(), s("7.5"));
        assert!(Score::try_from(101u8).is_err());
    }

    #[test]
    fn regular_score_counts_by_periods() {
        // TT22 Art. 6.2.b
        assert_eq!(required_regular(35), 2);
        assert_eq!(required_regular(36), 3);
        assert_eq!(required_regular(52), 3);
        assert_eq!(required_regular(70), 3);
        assert_eq!(required_regular(71), 4);
        assert_eq!(required_regular(105), 4);
        assert_eq!(required_regular(140), 4);
    }

    #[test]
    fn term_average_worked_examples() {
        // Toán 6 (140 periods → 4 TX): (8 + 7 + 9 + 6 + 2·7,5 + 3·8) / 9 = 69 / 9 = 7,666… → 7,7
        let toan = scores(&["8", "7", "9", "6"], Some("7,5"), Some("8"));
        assert_eq!(
            term_average(&toan, required_regular(140)).unwrap(),
            s("7,7")
        );
        // (6 + 6 + 6 + 2·6,5 + 3·7,4) / 8 = 53,2 / 8 = 6,65 exactly → 6,7 (floats give 6,6499…)
        let half = scores(&["6", "6", "6"], Some("6,5"), Some("7,4"));
        assert_eq!(term_average(&half, 3).unwrap(), s("6,7"));
        // GDCD (35 periods → 2 TX): (5 + 6 + 2·4 + 3·5) / 7 = 34 / 7 = 4,857… → 4,9
        let gdcd = scores(&["5", "6"], Some("4"), Some("5"));
        assert_eq!(term_average(&gdcd, required_regular(35)).unwrap(), s("4,9"));
        // All tens stay ten.
        let top = scores(&["10", "10"], Some("10"), Some("10"));
        assert_eq!(term_average(&top, 2).unwrap(), Score::MAX);
        // An extra regular score counts: (8 + 8 + 8 + 2·8 + 3·8) / 8 = 8
        let extra = scores(&["8", "8", "8"], Some("8"), Some("8"));
        assert_eq!(term_average(&extra, 2).unwrap(), s("8"));
    }

    #[test]
    fn term_average_lists_what_is_missing() {
        let e = term_average(&scores(&["8", "7"], Some("7"), None), 3).unwrap_err();
        assert_eq!(
            e.0,
            vec![
                Missing::Regular {
                    required: 3,
                    have: 2
                },
                Missing::EndTerm
            ]
        );
        assert_eq!(
            e.to_string(),
            "Chưa tính được: cần 3 điểm đánh giá thường xuyên, mới có 2; thiếu điểm cuối kỳ"
        );
        let e = term_average(&scores(&["8", "7"], None, Some("7")), 2).unwrap_err();
        assert_eq!(e.to_string(), "Chưa tính được: thiếu điểm giữa kỳ");
    }

    #[test]
    fn year_average_worked_examples() {
        // (6,0 + 2·7,0) / 3 = 6,666… → 6,7
        assert_eq!(year_average(Some(s("6")), Some(s("7"))).unwrap(), s("6,7"));
        // (5,5 + 2·6,5) / 3 = 6,1666… → 6,2
        assert_eq!(
            year_average(Some(s("5,5")), Some(s("6,5"))).unwrap(),
            s("6,2")
        );
        // (8,2 + 2·7,3) / 3 = 22,8 / 3 = 7,6
        assert_eq!(
            year_average(Some(s("8,2")), Some(s("7,3"))).unwrap(),
            s("7,6")
        );
        assert_eq!(
            year_average(Some(s("8")), None).unwrap_err().to_string(),
            "Chưa tính được: thiếu kết quả học kỳ II"
        );
        assert_eq!(
            year_average(None, None).unwrap_err().0,
            vec![Missing::Term(Term::I), Missing::Term(Term::II)]
        );
    }

    #[test]
    fn comment_graded_subjects_by_code_and_name() {
        for yes in [
            "GDTC",
            "gdtc",
            "AN",
            "MT_THPT",
            "HDTN",
            "GDDP",
            "Giáo dục thể chất",
            "Nghệ thuật",
            "Âm nhạc",
            "Mĩ thuật",
            "Mỹ thuật (THPT)",
            "Hoạt động trải nghiệm, hướng nghiệp",
            "Hoạt động trải nghiệm",
            "Nội dung giáo dục của địa phương",
            "Giáo dục địa phương",
        ] {
            assert!(is_comment_graded(yes), "{yes}");
        }
        for no in [
            "TOAN",
            "Toán",
            "NV",
            "Ngữ văn",
            "KHTN",
            "GDCD",
            "Giáo dục công dân",
            "GDQPAN",
            "Giáo dục quốc phòng và an ninh",
            "Tin học",
            "Âm",
            "Anh",
            "",
        ] {
            assert!(!is_comment_graded(no), "{no}");
        }
        // Every comment subject of the curriculum is recognised by code and by name.
        for subject in crate::curriculum::catalogue() {
            assert_eq!(
                is_comment_graded(subject.code),
                is_comment_graded(subject.name),
                "{}",
                subject.code
            );
        }
    }

    #[test]
    fn ratings_parse() {
        assert_eq!(Rating::parse("Đ").unwrap(), Rating::Pass);
        assert_eq!(Rating::parse("đạt").unwrap(), Rating::Pass);
        assert_eq!(Rating::parse("CĐ").unwrap(), Rating::Fail);
        assert_eq!(Rating::parse("Chưa đạt").unwrap(), Rating::Fail);
        assert_eq!(Rating::parse("cd").unwrap(), Rating::Fail);
        assert!(Rating::parse("7").unwrap_err().0.contains("Đ hoặc CĐ"));
    }

    fn ratings(tx: &[Rating], gk: Option<Rating>, ck: Option<Rating>) -> TermRatings {
        TermRatings {
            regular: tx.to_vec(),
            mid_term: gk,
            end_term: ck,
        }
    }

    #[test]
    fn comment_term_result_needs_every_assessment_passed() {
        use Rating::{Fail, Pass};
        let all = ratings(&[Pass, Pass], Some(Pass), Some(Pass));
        assert_eq!(comment_term_result(&all).unwrap(), Pass);
        // One failed regular assessment is enough for Chưa đạt (TT22 Art. 9.1.a), even with
        // 3/4 passed and the end-term passed.
        let one_fail = ratings(&[Pass, Fail], Some(Pass), Some(Pass));
        assert_eq!(comment_term_result(&one_fail).unwrap(), Fail);
        let end_fail = ratings(&[Pass, Pass], Some(Pass), Some(Fail));
        assert_eq!(comment_term_result(&end_fail).unwrap(), Fail);
        let missing = ratings(&[Pass], Some(Pass), None);
        assert_eq!(
            comment_term_result(&missing).unwrap_err().to_string(),
            "Chưa tính được: cần 2 điểm đánh giá thường xuyên, mới có 1; thiếu điểm cuối kỳ"
        );
    }

    #[test]
    fn comment_year_result_is_term_two() {
        assert_eq!(
            comment_year_result(Some(Rating::Pass)).unwrap(),
            Rating::Pass
        );
        assert_eq!(
            comment_year_result(Some(Rating::Fail)).unwrap(),
            Rating::Fail
        );
        assert!(comment_year_result(None).is_err());
    }

    fn results(avgs: &[&str], comments: &[Rating]) -> Vec<SubjectResult> {
        avgs.iter()
            .map(|a| SubjectResult::Scored(s(a)))
            .chain(comments.iter().map(|r| SubjectResult::Comment(*r)))
            .collect()
    }

    #[test]
    fn learning_levels_of_circular_22() {
        use Rating::{Fail, Pass};
        let comments = [Pass, Pass, Pass, Pass];
        // Tốt: all ≥ 6,5 and six ≥ 8,0.
        let good = results(&["8", "8", "8,5", "9", "8", "8", "6,5", "7"], &comments);
        assert_eq!(learning_level(&good), LearningLevel::Good);
        // Only five ≥ 8,0 → Khá.
        let five = results(&["8", "8", "8,5", "9", "8", "7,9", "6,5", "7"], &comments);
        assert_eq!(learning_level(&five), LearningLevel::FairlyGood);
        // One 6,4 stops Tốt.
        let low = results(&["8", "8", "8,5", "9", "8", "8", "6,4", "7"], &comments);
        assert_eq!(learning_level(&low), LearningLevel::FairlyGood);
        // A comment subject Chưa đạt stops Tốt and Khá.
        let good_but_fail = results(
            &["8", "8", "8,5", "9", "8", "8", "6,5", "7"],
            &[Pass, Fail, Pass, Pass],
        );
        assert_eq!(learning_level(&good_but_fail), LearningLevel::Pass);
        // Khá needs all ≥ 5,0: one 4,9 → Đạt.
        let kha_low = results(&["7", "7", "7", "7", "7", "7", "4,9", "6"], &comments);
        assert_eq!(learning_level(&kha_low), LearningLevel::Pass);
        // Đạt: six ≥ 5,0, two below 5 but none below 3,5.
        let dat = results(&["5", "5", "5", "5", "5", "5", "4", "3,5"], &comments);
        assert_eq!(learning_level(&dat), LearningLevel::Pass);
        // One average below 3,5 → Chưa đạt.
        let below = results(&["9", "9", "9", "9", "9", "9", "9", "3,4"], &comments);
        assert_eq!(learning_level(&below), LearningLevel::Fail);
        // Two comment subjects Chưa đạt → Chưa đạt.
        let two_fail = results(&["9"; 8], &[Fail, Fail, Pass, Pass]);
        assert_eq!(learning_level(&two_fail), LearningLevel::Fail);
        // Only five ≥ 5,0 → Chưa đạt.
        let five_pass = results(&["5", "5", "5", "5", "5", "4,9", "4,9", "4"], &comments);
        assert_eq!(learning_level(&five_pass), LearningLevel::Fail);
        for level in LearningLevel::ALL {
            assert_eq!(LearningLevel::from_code(level.code()), Some(level));
        }
    }

    #[test]
    fn primary_scores_are_whole_numbers() {
        assert_eq!(PrimaryScore::parse("7").unwrap().points(), 7);
        assert_eq!(PrimaryScore::parse("10").unwrap().points(), 10);
        assert_eq!(PrimaryScore::parse("9,0").unwrap().points(), 9);
        // TT27/2020 dropped the old ban on a 0.
        assert_eq!(PrimaryScore::parse("0").unwrap().points(), 0);
        assert!(
            PrimaryScore::parse("7.5")
                .unwrap_err()
                .0
                .contains("không cho điểm thập phân")
        );
        assert!(
            PrimaryScore::parse("7,55")
                .unwrap_err()
                .0
                .contains("không cho điểm thập phân")
        );
        assert_eq!(
            PrimaryScore::parse("11").unwrap_err().0,
            "Điểm 11 ngoài thang 0–10"
        );
        assert!(PrimaryScore::parse("-1").is_err());
        assert!(PrimaryScore::parse("tám").is_err());
        assert_eq!(PrimaryScore::new(11), None);
        // Number cells of Excel.
        assert_eq!(PrimaryScore::from_f64(9.0).unwrap().points(), 9);
        assert_eq!(PrimaryScore::from_f64(0.0).unwrap().points(), 0);
        assert_eq!(
            PrimaryScore::from_f64(0.1 * 3.0 * 10.0).unwrap().points(),
            3
        );
        assert_eq!(
            PrimaryScore::from_f64(11.0).unwrap_err().0,
            "Điểm 11 ngoài thang 0–10"
        );
        assert!(
            PrimaryScore::from_f64(7.5)
                .unwrap_err()
                .0
                .starts_with("Điểm 7,5 không hợp lệ")
        );
        assert!(PrimaryScore::from_f64(-1.0).is_err());
        assert!(PrimaryScore::from_f64(f64::NAN).is_err());
    }

    #[test]
    fn primary_levels_parse() {
        for (raw, level) in [
            ("T", PrimaryLevel::Excellent),
            ("htt", PrimaryLevel::Excellent),
            ("Hoàn thành tốt", PrimaryLevel::Excellent),
            ("H", PrimaryLevel::Complete),
            ("Hoàn thành", PrimaryLevel::Complete),
            ("HT", PrimaryLevel::Complete),
            ("c", PrimaryLevel::Incomplete),
            ("CHT", PrimaryLevel::Incomplete),
            ("Chưa hoàn thành", PrimaryLevel::Incomplete),
        ] {
            assert_eq!(PrimaryLevel::parse(raw).unwrap(), level, "{raw}");
        }
        assert!(PrimaryLevel::parse("Giỏi").is_err());
        let r = PrimaryResult::parse("T", "9").unwrap();
        assert_eq!(r.level, PrimaryLevel::Excellent);
        assert_eq!(r.score.map(PrimaryScore::points), Some(9));
        assert_eq!(PrimaryResult::parse("H", " ").unwrap().score, None);
        assert!(PrimaryResult::parse("H", "7,5").is_err());
    }

    #[test]
    fn primary_tested_subjects() {
        assert!(primary_has_test("TOAN"));
        assert!(primary_has_test("TV"));
        assert!(!primary_has_test("DD"));
        assert!(!primary_has_test("GDTC"));
        assert!(primary_has_midterm_test("TV", 4));
        assert!(!primary_has_midterm_test("TV", 3));
        assert!(!primary_has_midterm_test("KH", 5));
    }
}
