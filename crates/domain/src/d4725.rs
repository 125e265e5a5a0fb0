//! Decision 4725/QĐ-BGDĐT (30/12/2022): the digital-transformation index of general and
//! continuing-education schools, as pure rules.
//!
//! The criteria, their maximum points, the mandatory conditions and the level bands are *data*
//! (a [`Catalogue`], seeded from a file and edited by a system admin, each edit a new version),
//! because parts of the published appendix could not be verified. What is fixed here is how a
//! catalogue is applied: points per criterion, never above its maximum; totals per group; the
//! level of a group from its bands, capped when a mandatory condition is missing; and what must
//! be present before a principal may submit.
//!
//! Points are kept in tenths (`45` is 4,5 points) so that a percentage of 7 points adds up
//! exactly on both databases.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a criterion turns its value into points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scoring {
    /// All the points when met: a measured value at least `threshold`, or a school's "yes".
    Yes {
        /// The measured value that counts as met (1 = "at least one").
        #[serde(default = "one")]
        threshold: i64,
    },
    /// The value is a percentage: points = maximum × percent / 100.
    Percent,
    /// The value is a count: the points of the highest step reached.
    Steps {
        /// Ascending steps.
        steps: Vec<Step>,
    },
    /// The school enters the points itself, from 0 to the maximum.
    Manual,
}

fn one() -> i64 {
    1
}

impl Scoring {
    /// The stored code of the kind.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Yes { .. } => "yes",
            Self::Percent => "percent",
            Self::Steps { .. } => "steps",
            Self::Manual => "manual",
        }
    }

    /// The Vietnamese label of the kind.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Yes { .. } => "Đạt / chưa đạt",
            Self::Percent => "Theo tỉ lệ %",
            Self::Steps { .. } => "Theo số lượng (bậc)",
            Self::Manual => "Trường tự chấm điểm",
        }
    }

    /// The steps as text (`1:2; 20:4`), for the catalogue editor.
    pub fn steps_text(&self) -> String {
        match self {
            Self::Steps { steps } => steps
                .iter()
                .map(|s| format!("{}:{}", s.at_least, s.points))
                .collect::<Vec<_>>()
                .join("; "),
            _ => String::new(),
        }
    }

    /// The threshold of a yes/no criterion (1 otherwise).
    pub fn threshold(&self) -> i64 {
        match self {
            Self::Yes { threshold } => *threshold,
            _ => 1,
        }
    }
}

/// One step of a count criterion: from `at_least` on, `points` points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The count that reaches the step.
    pub at_least: i64,
    /// Whole points of the step.
    pub points: i64,
}

/// One criterion of the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    /// Its number in the decision (`1.3b`).
    pub code: String,
    /// 1: digital transformation in teaching and learning; 2: in school administration.
    pub group: u8,
    /// What is assessed, in Vietnamese.
    pub title: String,
    /// The evidence expected.
    #[serde(default)]
    pub hint: String,
    /// Maximum whole points (0 for a mandatory condition).
    #[serde(default)]
    pub max_points: i64,
    /// A mandatory condition: no points, but a group without it cannot reach a higher level.
    #[serde(default)]
    pub mandatory: bool,
    /// The platform figure that fills the value in (see [`MEASURES`]); none means entered.
    #[serde(default)]
    pub measure: Option<String>,
    /// How the value becomes points.
    pub scoring: Scoring,
    /// How sure the catalogue is of this row: V verified, P partial, R recalled.
    #[serde(default)]
    pub confidence: String,
}

impl Criterion {
    /// The maximum in tenths.
    pub fn max_tenths(&self) -> i64 {
        self.max_points * 10
    }
}

/// A level band: a group total of at least `min` points reaches `level`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// 1, 2 or 3.
    pub level: u8,
    /// The label (`Mức 2 – Đáp ứng cơ bản`).
    pub label: String,
    /// The lowest total of the band, in points (75.1 for "above 75").
    pub min: f64,
}

impl Band {
    /// The lowest total in tenths.
    pub fn min_tenths(&self) -> i64 {
        (self.min * 10.0).round() as i64
    }
}

/// The whole index: criteria of both groups, level bands, the mandatory-condition rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalogue {
    /// The name shown on reports.
    pub name: String,
    /// Where the figures come from and what is uncertain.
    #[serde(default)]
    pub note: String,
    /// Every criterion, in order.
    pub criteria: Vec<Criterion>,
    /// The bands, lowest first, used by both groups.
    pub bands: Vec<Band>,
    /// The highest level a group reaches while one of its mandatory conditions is missing.
    #[serde(default = "one_u8")]
    pub mandatory_cap: u8,
}

fn one_u8() -> u8 {
    1
}

/// The platform figures a criterion may be filled from: key and meaning.
pub const MEASURES: &[(&str, &str)] = &[
    (
        "plan_doc",
        "Kế hoạch dạy học trực tuyến đã được phê duyệt (hồ sơ văn bản của trường)",
    ),
    (
        "regulation_doc",
        "Quy chế tổ chức dạy học trực tuyến đã được phê duyệt (hồ sơ văn bản của trường)",
    ),
    (
        "live_sessions",
        "Số buổi học trực tuyến trực tiếp đã tổ chức",
    ),
    ("tasks", "Số bài tập, nhiệm vụ tự học đã giao"),
    (
        "questions_answered",
        "Số câu hỏi của học sinh đã được giải đáp",
    ),
    (
        "regular_tests",
        "Số bài kiểm tra thường xuyên trực tuyến đã phát hành",
    ),
    (
        "parents_following",
        "Số phụ huynh đã kích hoạt tài khoản theo dõi việc học",
    ),
    (
        "materials_approved",
        "Số học liệu số đã được phê duyệt trong thư viện trường",
    ),
    (
        "computer_tests",
        "Số bài kiểm tra tổ chức tại phòng máy (giới hạn địa chỉ mạng)",
    ),
    (
        "exam_gradebook",
        "Số điểm chuyển từ bài kiểm tra trực tuyến vào sổ điểm",
    ),
    (
        "teachers_using_pct",
        "Tỉ lệ % giáo viên dạy học trên nền tảng (giao bài, kiểm tra, dạy trực tuyến)",
    ),
    (
        "teachers_authoring_pct",
        "Tỉ lệ % giáo viên xây dựng học liệu số",
    ),
    ("students_managed", "Số học sinh được quản lý trên hệ thống"),
    (
        "staff_managed",
        "Số cán bộ, giáo viên được quản lý trên hệ thống",
    ),
    ("gradebook_entries", "Số điểm trong sổ điểm điện tử"),
    (
        "parents_connected",
        "Số phụ huynh kết nối với nhà trường qua ứng dụng",
    ),
    (
        "sector_exchanges",
        "Số lần trường xuất dữ liệu cho CSDL ngành trong năm học",
    ),
];

/// The meaning of a measure key.
pub fn measure_label(key: &str) -> Option<&'static str> {
    MEASURES.iter().find(|(k, _)| *k == key).map(|(_, l)| *l)
}

/// The value of one criterion in one self-assessment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Value {
    /// From platform data (none when the criterion is entered, or the figure is unavailable).
    pub measured: Option<i64>,
    /// Entered by the school: 0/1 for yes/no, a percentage, a count, or points in tenths.
    pub entered: Option<i64>,
    /// A file or a link is attached.
    pub has_evidence: bool,
}

/// A criterion's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scored {
    /// Points in tenths, never above the maximum.
    pub points: i64,
    /// Whether the criterion (or mandatory condition) is met.
    pub met: bool,
    /// The value came from platform data.
    pub automatic: bool,
}

/// Applies a criterion to a value.
pub fn score(c: &Criterion, v: &Value) -> Scored {
    let automatic = c.measure.is_some() && v.measured.is_some();
    let value = if automatic { v.measured } else { v.entered };
    if c.mandatory {
        let met = match (automatic, value) {
            (true, Some(n)) => n >= c.scoring.threshold() || v.has_evidence,
            _ => v.has_evidence,
        };
        return Scored {
            points: 0,
            met,
            automatic,
        };
    }
    let max = c.max_tenths();
    let points = match (&c.scoring, value) {
        (_, None) => 0,
        (Scoring::Yes { threshold }, Some(n)) => {
            let limit = if automatic { *threshold } else { 1 };
            if n >= limit { max } else { 0 }
        }
        (Scoring::Percent, Some(p)) => (max * p.clamp(0, 100) + 50) / 100,
        (Scoring::Steps { steps }, Some(n)) => steps
            .iter()
            .filter(|s| n >= s.at_least)
            .map(|s| s.points * 10)
            .max()
            .unwrap_or(0),
        (Scoring::Manual, Some(p)) => p,
    }
    .clamp(0, max);
    Scored {
        points,
        met: points > 0,
        automatic,
    }
}

/// Reads what a school typed for a criterion: "có"/"1" for yes/no, 0–100 for a percentage, a
/// count, or points such as `4,5` (never above the maximum). Empty means "not answered".
pub fn parse_entry(c: &Criterion, raw: &str) -> Result<Option<i64>, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let name = format!("Tiêu chí {}", c.code);
    match &c.scoring {
        _ if c.mandatory => Ok(Some(i64::from(truthy(s).ok_or_else(|| {
            format!("{name}: chọn \"có\" hoặc \"không\" (nhận \"{s}\").")
        })?))),
        Scoring::Yes { .. } => {
            Ok(Some(i64::from(truthy(s).ok_or_else(|| {
                format!("{name}: chọn \"có\" hoặc \"không\" (nhận \"{s}\").")
            })?)))
        }
        Scoring::Percent => {
            let p = parse_tenths(s)
                .filter(|t| (0..=1000).contains(t) && t % 10 == 0)
                .ok_or_else(|| {
                    format!("{name}: tỉ lệ phải là số nguyên từ 0 đến 100 (nhận \"{s}\").")
                })?;
            Ok(Some(p / 10))
        }
        Scoring::Steps { .. } => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| format!("{name}: số lượng phải là số nguyên không âm (nhận \"{s}\").")),
        Scoring::Manual => {
            let t = parse_tenths(s).ok_or_else(|| {
                format!("{name}: điểm phải là số, ví dụ 4 hoặc 4,5 (nhận \"{s}\").")
            })?;
            if t < 0 || t > c.max_tenths() {
                return Err(format!(
                    "{name}: điểm {} vượt quá điểm tối đa {} của tiêu chí.",
                    fmt_tenths(t),
                    c.max_points
                ));
            }
            Ok(Some(t))
        }
    }
}

fn truthy(s: &str) -> Option<bool> {
    match s.to_lowercase().as_str() {
        "1" | "có" | "co" | "yes" | "on" | "true" => Some(true),
        "0" | "không" | "khong" | "no" | "off" | "false" => Some(false),
        _ => None,
    }
}

/// Parses `4`, `4,5` or `4.5` into tenths (one decimal at most).
pub fn parse_tenths(s: &str) -> Option<i64> {
    let s = s.trim().replace(',', ".");
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s.as_str(), ""),
    };
    if whole.is_empty() || frac.len() > 1 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let w: i64 = whole.parse().ok()?;
    let f: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    w.checked_mul(10)?.checked_add(f)
}

/// Formats tenths the Vietnamese way: `45` → `4,5`, `60` → `6`.
pub fn fmt_tenths(t: i64) -> String {
    if t % 10 == 0 {
        format!("{}", t / 10)
    } else {
        format!(
            "{}{},{}",
            if t < 0 { "-" } else { "" },
            (t / 10).abs(),
            (t % 10).abs()
        )
    }
}

/// The result of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupResult {
    /// 1 or 2.
    pub group: u8,
    /// Points in tenths.
    pub total: i64,
    /// The sum of the maxima, in tenths (100 points in the decision).
    pub max: i64,
    /// The level reached (1–3), after the mandatory-condition cap.
    pub level: u8,
    /// The level the points alone would reach.
    pub band_level: u8,
    /// Codes of the mandatory conditions not met.
    pub missing_mandatory: Vec<String>,
}

/// The level of a total from the bands (the highest band whose minimum it reaches).
pub fn level_for(bands: &[Band], total_tenths: i64) -> u8 {
    bands
        .iter()
        .filter(|b| total_tenths >= b.min_tenths())
        .map(|b| b.level)
        .max()
        .unwrap_or(1)
}

/// The label of a level in a catalogue.
pub fn level_label(cat: &Catalogue, level: u8) -> String {
    cat.bands
        .iter()
        .find(|b| b.level == level)
        .map(|b| b.label.clone())
        .unwrap_or_else(|| format!("Mức {level}"))
}

/// Scores both groups. Criteria without a value score nothing.
pub fn group_results(cat: &Catalogue, values: &BTreeMap<String, Value>) -> Vec<GroupResult> {
    let empty = Value::default();
    [1u8, 2]
        .into_iter()
        .map(|g| {
            let mut total = 0;
            let mut max = 0;
            let mut missing = Vec::new();
            for c in cat.criteria.iter().filter(|c| c.group == g) {
                let s = score(c, values.get(&c.code).unwrap_or(&empty));
                total += s.points;
                max += c.max_tenths();
                if c.mandatory && !s.met {
                    missing.push(c.code.clone());
                }
            }
            let band_level = level_for(&cat.bands, total);
            let level = if missing.is_empty() {
                band_level
            } else {
                band_level.min(cat.mandatory_cap)
            };
            GroupResult {
                group: g,
                total,
                max,
                level,
                band_level,
                missing_mandatory: missing,
            }
        })
        .collect()
}

/// The school's overall level: the lower of its two groups (a school is as far as its weaker
/// side; the decision levels each group, provinces report one figure).
pub fn overall_level(groups: &[GroupResult]) -> u8 {
    groups.iter().map(|g| g.level).min().unwrap_or(1)
}

/// Why a self-assessment may not be submitted yet, one message per criterion, naming it:
/// a mandatory condition without evidence, or points claimed on an entered criterion without
/// a file or a link.
pub fn submission_problems(cat: &Catalogue, values: &BTreeMap<String, Value>) -> Vec<String> {
    let empty = Value::default();
    let mut out = Vec::new();
    for c in &cat.criteria {
        let v = values.get(&c.code).unwrap_or(&empty);
        let s = score(c, v);
        if c.mandatory && !s.met {
            out.push(format!(
                "Tiêu chí {} «{}» là điều kiện bắt buộc: chưa có minh chứng (tệp hoặc đường liên kết).",
                c.code, c.title
            ));
        } else if !c.mandatory && !s.automatic && s.points > 0 && !v.has_evidence {
            out.push(format!(
                "Tiêu chí {} «{}»: đã tự chấm {} điểm nhưng chưa có minh chứng (tệp hoặc đường liên kết).",
                c.code,
                c.title,
                fmt_tenths(s.points)
            ));
        }
    }
    out
}

/// Checks an edited catalogue; the message names the criterion at fault.
pub fn validate(cat: &Catalogue) -> Result<(), String> {
    if cat.name.trim().is_empty() {
        return Err("Bộ tiêu chí phải có tên.".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for c in &cat.criteria {
        let name = format!("Tiêu chí {}", c.code);
        if c.code.trim().is_empty() || c.code.chars().count() > 12 {
            return Err("Mã tiêu chí phải có từ 1 đến 12 ký tự.".into());
        }
        if !seen.insert(c.code.clone()) {
            return Err(format!("{name} bị trùng mã."));
        }
        if !matches!(c.group, 1 | 2) {
            return Err(format!("{name}: nhóm phải là 1 hoặc 2."));
        }
        if c.title.trim().is_empty() {
            return Err(format!("{name}: chưa có nội dung."));
        }
        if c.mandatory && c.max_points != 0 {
            return Err(format!(
                "{name}: điều kiện bắt buộc không có điểm (điểm tối đa phải là 0)."
            ));
        }
        if !(0..=100).contains(&c.max_points) {
            return Err(format!("{name}: điểm tối đa phải từ 0 đến 100."));
        }
        if let Some(m) = &c.measure
            && measure_label(m).is_none()
        {
            return Err(format!(
                "{name}: nguồn số liệu \"{m}\" không có trong nền tảng."
            ));
        }
        if let Scoring::Steps { steps } = &c.scoring {
            if steps.is_empty() {
                return Err(format!("{name}: cần ít nhất một bậc điểm."));
            }
            for w in steps.windows(2) {
                if w[1].at_least <= w[0].at_least || w[1].points < w[0].points {
                    return Err(format!("{name}: các bậc phải tăng dần."));
                }
            }
            if steps
                .iter()
                .any(|s| s.points > c.max_points || s.points < 0)
            {
                return Err(format!("{name}: điểm của bậc vượt quá điểm tối đa."));
            }
        }
    }
    for g in [1u8, 2] {
        let sum: i64 = cat
            .criteria
            .iter()
            .filter(|c| c.group == g)
            .map(|c| c.max_points)
            .sum();
        if sum > 100 {
            return Err(format!(
                "Tổng điểm tối đa của nhóm {g} là {sum}, vượt quá 100."
            ));
        }
    }
    if cat.bands.is_empty() {
        return Err("Cần ít nhất một mức.".into());
    }
    for w in cat.bands.windows(2) {
        if w[1].level <= w[0].level || w[1].min_tenths() <= w[0].min_tenths() {
            return Err("Các mức phải tăng dần theo điểm.".into());
        }
    }
    if !(1..=3).contains(&cat.mandatory_cap) {
        return Err("Mức tối đa khi thiếu điều kiện bắt buộc phải từ 1 đến 3.".into());
    }
    Ok(())
}

/// The sum of the maximum points of a group (the decision says 100; the catalogue may say
/// otherwise while its appendix is being checked).
pub fn group_max_points(cat: &Catalogue, group: u8) -> i64 {
    cat.criteria
        .iter()
        .filter(|c| c.group == group)
        .map(|c| c.max_points)
        .sum()
}

/// Parses steps typed as `1:2; 20:4; 50:6` (count:points).
pub fn parse_steps(raw: &str) -> Result<Vec<Step>, String> {
    raw.split([';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (a, p) = s
                .split_once(':')
                .ok_or_else(|| format!("Bậc \"{s}\" phải có dạng số lượng:điểm, ví dụ 20:4."))?;
            Ok(Step {
                at_least: a
                    .trim()
                    .parse()
                    .map_err(|_| format!("Bậc \"{s}\": số lượng không hợp lệ."))?,
                points: p
                    .trim()
                    .parse()
                    .map_err(|_| format!("Bậc \"{s}\": điểm không hợp lệ."))?,
            })
        })
        .collect()
}

/// The state of a self-assessment in its yearly cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being filled in by the school.
    Draft,
    /// Approved by the principal and sent to the managing unit.
    Submitted,
    /// Sent back by the managing unit with comments.
    Returned,
    /// Approved by the managing unit.
    Approved,
    /// Level recognised and published.
    Published,
}

impl Status {
    /// Every status.
    pub const ALL: [Self; 5] = [
        Self::Draft,
        Self::Submitted,
        Self::Returned,
        Self::Approved,
        Self::Published,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Returned => "returned",
            Self::Approved => "approved",
            Self::Published => "published",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "Đang tự đánh giá",
            Self::Submitted => "Đã nộp, chờ xét duyệt",
            Self::Returned => "Bị trả lại để bổ sung",
            Self::Approved => "Đã được phê duyệt",
            Self::Published => "Đã công bố mức",
        }
    }

    /// Whether the school may still change values and evidence.
    pub fn editable(self) -> bool {
        matches!(self, Self::Draft | Self::Returned)
    }
}

/// The label of a cycle: the school year starting in `start_year` (`2026-2027`).
pub fn cycle_label(start_year: i32) -> String {
    format!("{}-{}", start_year, start_year + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str, group: u8, max: i64, scoring: Scoring) -> Criterion {
        Criterion {
            code: code.into(),
            group,
            title: format!("Tiêu chí {code}"),
            hint: String::new(),
            max_points: max,
            mandatory: false,
            measure: None,
            scoring,
            confidence: "P".into(),
        }
    }

    fn mandatory(code: &str, group: u8) -> Criterion {
        Criterion {
            mandatory: true,
            ..c(code, group, 0, Scoring::Yes { threshold: 1 })
        }
    }

    fn bands() -> Vec<Band> {
        vec![
            Band {
                level: 1,
                label: "Mức 1".into(),
                min: 0.0,
            },
            Band {
                level: 2,
                label: "Mức 2".into(),
                min: 50.0,
            },
            Band {
                level: 3,
                label: "Mức 3".into(),
                min: 75.1,
            },
        ]
    }

    /// A small group 1 shaped like the decision's: two mandatory conditions, the 1.3
    /// functions, a count, a percentage and an entered criterion.
    fn catalogue() -> Catalogue {
        let mut live = c("1.3a", 1, 6, Scoring::Yes { threshold: 1 });
        live.measure = Some("live_sessions".into());
        let mut tasks = c("1.3b", 1, 6, Scoring::Yes { threshold: 3 });
        tasks.measure = Some("tasks".into());
        let mut mats = c(
            "1.4",
            1,
            10,
            Scoring::Steps {
                steps: vec![
                    Step {
                        at_least: 1,
                        points: 2,
                    },
                    Step {
                        at_least: 20,
                        points: 6,
                    },
                    Step {
                        at_least: 100,
                        points: 10,
                    },
                ],
            },
        );
        mats.measure = Some("materials_approved".into());
        let mut share = c("1.6b", 1, 7, Scoring::Percent);
        share.measure = Some("teachers_using_pct".into());
        Catalogue {
            name: "QĐ 4725".into(),
            note: String::new(),
            criteria: vec![
                mandatory("1.1", 1),
                mandatory("1.2", 1),
                live,
                tasks,
                mats,
                share,
                c("1.5a", 1, 15, Scoring::Yes { threshold: 1 }),
                c("1.7b", 1, 56, Scoring::Manual),
                mandatory("2.1", 2),
                c("2.4b", 2, 12, Scoring::Yes { threshold: 1 }),
            ],
            bands: bands(),
            mandatory_cap: 1,
        }
    }

    fn measured(n: i64) -> Value {
        Value {
            measured: Some(n),
            ..Value::default()
        }
    }

    fn entered(n: i64, evidence: bool) -> Value {
        Value {
            measured: None,
            entered: Some(n),
            has_evidence: evidence,
        }
    }

    #[test]
    fn each_kind_of_criterion_scores_and_never_exceeds_its_maximum() {
        let cat = catalogue();
        let by = |code: &str| cat.criteria.iter().find(|c| c.code == code).unwrap();
        // Yes with a threshold of 3 tasks: 2 is not enough, 3 is.
        assert_eq!(score(by("1.3b"), &measured(2)).points, 0);
        assert_eq!(score(by("1.3b"), &measured(3)).points, 60);
        // Steps: 19 materials stay on the first step, 20 reach the second, 500 the top.
        assert_eq!(score(by("1.4"), &measured(0)).points, 0);
        assert_eq!(score(by("1.4"), &measured(19)).points, 20);
        assert_eq!(score(by("1.4"), &measured(20)).points, 60);
        assert_eq!(score(by("1.4"), &measured(500)).points, 100);
        // Percent: 7 points × 63 % = 4,41 → 4,4; 100 % is the maximum, 130 % is clamped.
        assert_eq!(score(by("1.6b"), &measured(63)).points, 44);
        assert_eq!(score(by("1.6b"), &measured(100)).points, 70);
        assert_eq!(score(by("1.6b"), &measured(130)).points, 70);
        // A measured figure wins over a typed one; without a figure, the typed one counts.
        let both = Value {
            measured: Some(0),
            entered: Some(1),
            has_evidence: true,
        };
        assert_eq!(score(by("1.3a"), &both).points, 0);
        assert!(score(by("1.3a"), &both).automatic);
        assert_eq!(score(by("1.3a"), &entered(1, true)).points, 60);
        assert!(!score(by("1.3a"), &entered(1, true)).automatic);
        // Entered points above the maximum are cut to it.
        assert_eq!(score(by("1.7b"), &entered(999, true)).points, 560);
    }

    #[test]
    fn worked_example_group_totals_and_levels() {
        let cat = catalogue();
        let mut v = BTreeMap::new();
        v.insert("1.1".to_owned(), entered(1, true));
        v.insert("1.2".to_owned(), entered(1, true));
        v.insert("1.3a".to_owned(), measured(4)); // 6
        v.insert("1.3b".to_owned(), measured(12)); // 6
        v.insert("1.4".to_owned(), measured(25)); // 6
        v.insert("1.6b".to_owned(), measured(50)); // 3,5
        v.insert("1.5a".to_owned(), entered(1, true)); // 15
        v.insert("1.7b".to_owned(), entered(135, true)); // 13,5
        let g = group_results(&cat, &v);
        // 6 + 6 + 6 + 3,5 + 15 + 13,5 = 50 → exactly the lower edge of Mức 2.
        assert_eq!(g[0].total, 500);
        assert_eq!(g[0].max, 1000);
        assert_eq!(g[0].level, 2);
        // Group 2: its mandatory condition is missing, 12 points stay in Mức 1 anyway.
        v.insert("2.4b".to_owned(), entered(1, true));
        let g = group_results(&cat, &v);
        assert_eq!(g[1].total, 120);
        assert_eq!(g[1].missing_mandatory, vec!["2.1".to_owned()]);
        assert_eq!(g[1].level, 1);
        assert_eq!(overall_level(&g), 1);
        // 75 points is still Mức 2; 75,1 is "above 75", Mức 3.
        v.insert("1.7b".to_owned(), entered(385, true)); // 38,5 → total 75
        assert_eq!(group_results(&cat, &v)[0].total, 750);
        assert_eq!(group_results(&cat, &v)[0].level, 2);
        v.insert("1.7b".to_owned(), entered(386, true));
        assert_eq!(group_results(&cat, &v)[0].level, 3);
        // A missing mandatory condition caps the group at Mức 1 whatever its points.
        v.insert("1.1".to_owned(), entered(1, false));
        let g = group_results(&cat, &v);
        assert_eq!(g[0].band_level, 3);
        assert_eq!(g[0].level, 1);
        assert_eq!(g[0].missing_mandatory, vec!["1.1".to_owned()]);
    }

    #[test]
    fn bands_at_their_edges() {
        let b = bands();
        assert_eq!(level_for(&b, 0), 1);
        assert_eq!(level_for(&b, 499), 1);
        assert_eq!(level_for(&b, 500), 2);
        assert_eq!(level_for(&b, 750), 2);
        assert_eq!(level_for(&b, 751), 3);
        assert_eq!(level_for(&b, 1000), 3);
    }

    #[test]
    fn submission_needs_mandatory_evidence_and_evidence_for_claimed_points() {
        let cat = catalogue();
        let mut v = BTreeMap::new();
        v.insert("1.1".to_owned(), entered(1, true));
        v.insert("1.5a".to_owned(), entered(1, false));
        v.insert("1.3a".to_owned(), measured(3));
        let p = submission_problems(&cat, &v);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].starts_with("Tiêu chí 1.2 "), "{p:?}");
        assert!(p[1].starts_with("Tiêu chí 1.5a ") && p[1].contains("15 điểm"));
        assert!(p[2].starts_with("Tiêu chí 2.1 "));
        // Automatic figures need no attached evidence: the platform is the evidence.
        assert!(!p.iter().any(|m| m.contains("1.3a")));
        v.insert("1.2".to_owned(), entered(0, true));
        v.insert("1.5a".to_owned(), entered(1, true));
        v.insert("2.1".to_owned(), entered(1, true));
        assert!(submission_problems(&cat, &v).is_empty());
    }

    #[test]
    fn entries_are_read_per_kind_and_named_when_wrong() {
        let cat = catalogue();
        let by = |code: &str| cat.criteria.iter().find(|c| c.code == code).unwrap();
        assert_eq!(parse_entry(by("1.5a"), "có"), Ok(Some(1)));
        assert_eq!(parse_entry(by("1.5a"), "0"), Ok(Some(0)));
        assert_eq!(parse_entry(by("1.5a"), ""), Ok(None));
        assert!(
            parse_entry(by("1.5a"), "maybe")
                .unwrap_err()
                .contains("1.5a")
        );
        assert_eq!(parse_entry(by("1.6b"), "80"), Ok(Some(80)));
        assert!(parse_entry(by("1.6b"), "120").is_err());
        assert_eq!(parse_entry(by("1.4"), "42"), Ok(Some(42)));
        assert!(parse_entry(by("1.4"), "-1").is_err());
        assert_eq!(parse_entry(by("1.7b"), "4,5"), Ok(Some(45)));
        let e = parse_entry(by("1.7b"), "60").unwrap_err();
        assert!(
            e.contains("1.7b") && e.contains("60") && e.contains("56"),
            "{e}"
        );
        assert_eq!(fmt_tenths(45), "4,5");
        assert_eq!(fmt_tenths(60), "6");
        assert_eq!(parse_tenths("4.55"), None);
        assert_eq!(parse_tenths("x"), None);
    }

    #[test]
    fn catalogues_are_validated_with_the_criterion_named() {
        let mut cat = catalogue();
        assert_eq!(validate(&cat), Ok(()));
        cat.criteria[2].max_points = 101;
        assert!(validate(&cat).unwrap_err().contains("1.3a"));
        let mut cat = catalogue();
        cat.criteria[0].max_points = 5;
        assert!(validate(&cat).unwrap_err().contains("1.1"));
        let mut cat = catalogue();
        cat.criteria[7].max_points = 80; // group 1 would sum above 100
        assert!(validate(&cat).unwrap_err().contains("nhóm 1"));
        let mut cat = catalogue();
        cat.criteria[3].measure = Some("nothing".into());
        assert!(validate(&cat).unwrap_err().contains("1.3b"));
        let mut cat = catalogue();
        cat.bands[2].min = 40.0;
        assert!(validate(&cat).is_err());
        assert_eq!(
            parse_steps("1:2; 20:6"),
            Ok(vec![
                Step {
                    at_least: 1,
                    points: 2
                },
                Step {
                    at_least: 20,
                    points: 6
                }
            ])
        );
        assert!(parse_steps("20").is_err());
    }

    #[test]
    fn statuses_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code()), Some(s));
        }
        assert!(Status::Returned.editable());
        assert!(!Status::Submitted.editable());
        assert_eq!(cycle_label(2026), "2026-2027");
    }
}
