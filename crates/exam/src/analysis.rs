//! Item analysis after a test: how hard each item was, whether it separates strong from weak
//! students, which distractors work, and how reliable the whole test is.
//!
//! Conventions (so numbers match the textbook a teacher may check them against):
//! - every item score is a fraction 0..=1 of the item's points, totals are sums of fractions;
//! - variances are population variances (divide by N), as in the KR-20 formula;
//! - upper/lower groups are the top and bottom 27% by total (at least one student each), ties
//!   broken by input order so the result is reproducible;
//! - the point-biserial is the *corrected* item–total correlation: the item against the total of
//!   the other items, so an item does not correlate with itself (matters on short tests).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::model::{Question, QuestionKind};
use crate::scoring::Response;

/// One student's result on one item.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// The fraction of the item's points earned, 0..=1.
    pub score: f64,
    /// The option chosen, for choice items (original order); `None` if blank or not a choice item.
    pub choice: Option<usize>,
}

impl Cell {
    /// The cell for one student's answer: `earned` points of the question (from
    /// [`crate::scoring::score`], or a teacher's mark for essays) and the chosen option.
    pub fn from_answer(question: &Question, response: Option<&Response>, earned: f64) -> Cell {
        let score = if question.points > 0.0 {
            (earned / question.points).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let choice = match response {
            Some(Response::SingleChoice(c)) => Some(*c),
            _ => None,
        };
        Cell { score, choice }
    }
}

impl ItemInfo {
    /// What analysis needs to know of a question: single choice gets distractor counts.
    pub fn of(question: &Question) -> ItemInfo {
        match &question.kind {
            QuestionKind::SingleChoice { options, key } => ItemInfo {
                options: options.len(),
                key: *key,
            },
            _ => ItemInfo {
                options: 0,
                key: None,
            },
        }
    }
}

/// What is known about an item besides the scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemInfo {
    /// Number of options (0 for items without options: no distractor analysis).
    pub options: usize,
    /// The right option, for choice items.
    pub key: Option<usize>,
}

/// How often one option was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionStats {
    /// Option index.
    pub option: usize,
    /// Students who chose it.
    pub total: usize,
    /// Of them, in the upper group.
    pub upper: usize,
    /// Of them, in the lower group.
    pub lower: usize,
}

/// Something a teacher should look at in an item.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Flag {
    /// Facility below 0.2.
    TooHard(f64),
    /// Facility above 0.9.
    TooEasy(f64),
    /// Discrimination below 0.2.
    LowDiscrimination(f64),
    /// Negative point-biserial: strong students tend to get it wrong (a wrong key?).
    NegativePointBiserial(f64),
    /// A distractor nobody chose.
    UnusedDistractor(usize),
    /// A distractor the upper group chose more than the lower group.
    DistractorAttractsUpper(usize),
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = |i: &usize| crate::model::option_letter(*i);
        // Vietnamese decimals take a comma.
        let num = |v: &f64| format!("{v:.2}").replace('.', ",");
        match self {
            Flag::TooHard(p) => write!(f, "Câu quá khó (độ khó p = {} < 0,20)", num(p)),
            Flag::TooEasy(p) => write!(f, "Câu quá dễ (độ khó p = {} > 0,90)", num(p)),
            Flag::LowDiscrimination(d) => write!(f, "Độ phân biệt thấp (D = {} < 0,20)", num(d)),
            Flag::NegativePointBiserial(r) => {
                write!(
                    f,
                    "Tương quan điểm âm (r = {}): học sinh giỏi lại làm sai, cần kiểm tra đáp án",
                    num(r)
                )
            }
            Flag::UnusedDistractor(o) => write!(f, "Phương án nhiễu {} không ai chọn", letter(o)),
            Flag::DistractorAttractsUpper(o) => {
                write!(
                    f,
                    "Phương án nhiễu {} được nhóm giỏi chọn nhiều hơn nhóm yếu",
                    letter(o)
                )
            }
        }
    }
}

/// Statistics of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemStats {
    /// Facility p: the mean score, 0..=1.
    pub facility: f64,
    /// Discrimination D: mean score of the upper group minus that of the lower group.
    pub discrimination: f64,
    /// Corrected point-biserial; `None` when the item or the rest has no variance.
    pub point_biserial: Option<f64>,
    /// Every option's counts (empty for items without options).
    pub options: Vec<OptionStats>,
    /// What to look at.
    pub flags: Vec<Flag>,
}

/// The analysis of a whole test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Number of students.
    pub students: usize,
    /// Size of each of the upper and lower groups.
    pub group_size: usize,
    /// Per item, in input order.
    pub items: Vec<ItemStats>,
    /// Each student's total (sum of item fractions).
    pub totals: Vec<f64>,
    /// Mean total.
    pub mean: f64,
    /// Standard deviation of totals (population).
    pub sd: f64,
    /// KR-20, only when every score is 0 or 1.
    pub kr20: Option<f64>,
    /// Cronbach's alpha; `None` with fewer than two items or no variance.
    pub alpha: Option<f64>,
    /// Standard error of measurement, SD·√(1−α).
    pub sem: Option<f64>,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn variance(v: &[f64]) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64
}

fn correlation(a: &[f64], b: &[f64]) -> Option<f64> {
    let (ma, mb) = (mean(a), mean(b));
    let cov = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - ma) * (y - mb))
        .sum::<f64>()
        / a.len() as f64;
    let (va, vb) = (variance(a), variance(b));
    (va > 1e-12 && vb > 1e-12).then(|| cov / (va.sqrt() * vb.sqrt()))
}

/// Analyses `rows` (one per student, one [`Cell`] per item, in the order of `items`).
pub fn analyse(rows: &[Vec<Cell>], items: &[ItemInfo]) -> Result<Analysis, Error> {
    let k = items.len();
    for (s, row) in rows.iter().enumerate() {
        if row.len() != k {
            return Err(Error::Analysis(format!(
                "học sinh thứ {} có {} câu, cần {k}",
                s + 1,
                row.len()
            )));
        }
    }
    let sparse: Vec<Vec<Option<Cell>>> = rows
        .iter()
        .map(|r| r.iter().copied().map(Some).collect())
        .collect();
    analyse_sparse(&sparse, items)
}

/// Analyses a test whose students did not all get the same items — a matrix exam draws each
/// student's questions — with `rows[s][i]` `None` when student `s` did not get item `i`. Item
/// statistics use the students who got the item (groups: the upper and lower 27% of all
/// students by their own total, as far as they got it); the reliability (KR-20, α, SEM) uses
/// the items every student got, and is `None` with fewer than two such items. On a complete
/// matrix this is exactly [`analyse`].
pub fn analyse_sparse(rows: &[Vec<Option<Cell>>], items: &[ItemInfo]) -> Result<Analysis, Error> {
    let n = rows.len();
    let k = items.len();
    if n < 2 || k == 0 {
        return Err(Error::Analysis("cần ít nhất 2 học sinh và 1 câu".into()));
    }
    for (s, row) in rows.iter().enumerate() {
        if row.len() != k {
            return Err(Error::Analysis(format!(
                "học sinh thứ {} có {} câu, cần {k}",
                s + 1,
                row.len()
            )));
        }
        for (i, c) in row.iter().enumerate() {
            let Some(c) = c else { continue };
            if !(c.score.is_finite() && (0.0..=1.0).contains(&c.score)) {
                return Err(Error::Analysis(format!(
                    "điểm câu {} của học sinh thứ {} không nằm trong 0..1",
                    i + 1,
                    s + 1
                )));
            }
            if c.choice.is_some_and(|o| o >= items[i].options) && items[i].options > 0 {
                return Err(Error::Analysis(format!(
                    "phương án của câu {} không tồn tại",
                    i + 1
                )));
            }
        }
    }
    let totals: Vec<f64> = rows
        .iter()
        .map(|r| r.iter().flatten().map(|c| c.score).sum())
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| totals[*b].total_cmp(&totals[*a]).then(a.cmp(b)));
    let g = ((n as f64 * 0.27).round() as usize).clamp(1, n / 2);
    let (upper, lower) = (&order[..g], &order[n - g..]);
    let mut stats = Vec::with_capacity(k);
    // Reliability over the items everyone got.
    let mut complete = Vec::new();
    let mut item_var_sum = 0.0;
    let mut pq_sum = 0.0;
    let mut dichotomous = true;
    for (i, info) in items.iter().enumerate() {
        let got: Vec<usize> = (0..n).filter(|s| rows[*s][i].is_some()).collect();
        if got.is_empty() {
            return Err(Error::Analysis(format!(
                "câu {} không có học sinh nào làm",
                i + 1
            )));
        }
        let cell = |s: usize| {
            rows[s][i].unwrap_or(Cell {
                score: 0.0,
                choice: None,
            })
        };
        let x: Vec<f64> = got.iter().map(|s| cell(*s).score).collect();
        let p = mean(&x);
        if got.len() == n {
            complete.push(i);
            dichotomous &= x.iter().all(|v| *v == 0.0 || *v == 1.0);
            item_var_sum += variance(&x);
            pq_sum += p * (1.0 - p);
        }
        let group_mean = |g: &[usize]| {
            let v: Vec<f64> = g
                .iter()
                .filter(|s| rows[**s][i].is_some())
                .map(|s| cell(*s).score)
                .collect();
            (!v.is_empty()).then(|| mean(&v))
        };
        // Undefined (0) when nobody of one group got the item.
        let d = match (group_mean(upper), group_mean(lower)) {
            (Some(u), Some(l)) => Some(u - l),
            _ => None,
        };
        let rest: Vec<f64> = got.iter().zip(&x).map(|(s, v)| totals[*s] - v).collect();
        let r = correlation(&x, &rest);
        let options: Vec<OptionStats> = (0..info.options)
            .map(|o| {
                let chose = |g: &[usize]| {
                    g.iter()
                        .filter(|s| rows[**s][i].is_some_and(|c| c.choice == Some(o)))
                        .count()
                };
                OptionStats {
                    option: o,
                    total: chose(&got),
                    upper: chose(upper),
                    lower: chose(lower),
                }
            })
            .collect();
        let mut flags = Vec::new();
        if p < 0.2 {
            flags.push(Flag::TooHard(p));
        }
        if p > 0.9 {
            flags.push(Flag::TooEasy(p));
        }
        if let Some(d) = d.filter(|d| *d < 0.2) {
            flags.push(Flag::LowDiscrimination(d));
        }
        if let Some(r) = r.filter(|r| *r < 0.0) {
            flags.push(Flag::NegativePointBiserial(r));
        }
        for o in options.iter().filter(|o| Some(o.option) != info.key) {
            if o.total == 0 {
                flags.push(Flag::UnusedDistractor(o.option));
            } else if o.upper > o.lower {
                flags.push(Flag::DistractorAttractsUpper(o.option));
            }
        }
        stats.push(ItemStats {
            facility: p,
            discrimination: d.unwrap_or(0.0),
            point_biserial: r,
            options,
            flags,
        });
    }
    let kc = complete.len();
    let complete_totals: Vec<f64> = rows
        .iter()
        .map(|r| complete.iter().filter_map(|i| r[*i]).map(|c| c.score).sum())
        .collect();
    let total_var = variance(&complete_totals);
    let kf = kc as f64;
    let reliability = |sum: f64| {
        (kc >= 2 && total_var > 1e-12).then(|| kf / (kf - 1.0) * (1.0 - sum / total_var))
    };
    let alpha = reliability(item_var_sum);
    let kr20 = if dichotomous {
        reliability(pq_sum)
    } else {
        None
    };
    let sem = alpha.map(|a| total_var.sqrt() * (1.0 - a).max(0.0).sqrt());
    Ok(Analysis {
        students: n,
        group_size: g,
        items: stats,
        mean: mean(&totals),
        sd: variance(&totals).sqrt(),
        totals,
        kr20,
        alpha,
        sem,
    })
}

/// A histogram of totals as a self-contained SVG (server-rendered, no script), with an
/// accessible title and a `<title>` on each bar for screen readers and hover.
pub fn histogram_svg(totals: &[f64], max_score: f64, bins: usize) -> String {
    let bins = bins.max(1);
    let max_score = if max_score > 0.0 { max_score } else { 1.0 };
    let mut counts = vec![0usize; bins];
    for t in totals {
        let b = ((t / max_score) * bins as f64).floor();
        let b = if b.is_finite() {
            (b.max(0.0) as usize).min(bins - 1)
        } else {
            0
        };
        counts[b] += 1;
    }
    let (w, h, pad) = (40 * bins + 40, 200usize, 20usize);
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{}" viewBox="0 0 {w} {}" role="img" aria-labelledby="pho-diem-title"><title id="pho-diem-title">Phổ điểm của {} học sinh</title>"#,
        h + 2 * pad,
        h + 2 * pad,
        totals.len()
    );
    let fmt = crate::model::format_number;
    for (i, c) in counts.iter().enumerate() {
        let lo = max_score * i as f64 / bins as f64;
        let hi = max_score * (i + 1) as f64 / bins as f64;
        let bh = c * h / top;
        let x = pad + i * 40;
        let y = pad + h - bh;
        let range = format!(
            "{}–{}",
            fmt((lo * 100.0).round() / 100.0),
            fmt((hi * 100.0).round() / 100.0)
        );
        svg.push_str(&format!(
            r##"<rect x="{x}" y="{y}" width="36" height="{bh}" fill="#2b6cb0"><title>{range} điểm: {c} học sinh</title></rect><text x="{}" y="{}" font-size="10" text-anchor="middle">{c}</text>"##,
            x + 18,
            y.saturating_sub(2).max(10)
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-5
    }

    /// Six students, five dichotomous items (rows are students S1..S6):
    ///
    /// ```text
    ///        i1 i2 i3 i4 i5  total
    ///   S1    1  1  1  1  0    4
    ///   S2    1  1  1  1  1    5
    ///   S3    1  1  0  1  0    3
    ///   S4    1  0  1  1  0    3
    ///   S5    0  1  0  1  0    2
    ///   S6    0  0  0  1  1    2
    /// ```
    fn dataset() -> (Vec<Vec<Cell>>, Vec<ItemInfo>) {
        let scores = [
            [1, 1, 1, 1, 0],
            [1, 1, 1, 1, 1],
            [1, 1, 0, 1, 0],
            [1, 0, 1, 1, 0],
            [0, 1, 0, 1, 0],
            [0, 0, 0, 1, 1],
        ];
        // Choices for i1 and i5 (key A = 0); the others are not choice items.
        let c1 = [0, 0, 0, 0, 1, 1];
        let c5 = [2, 0, 1, 1, 3, 0];
        let rows = scores
            .iter()
            .enumerate()
            .map(|(s, r)| {
                r.iter()
                    .enumerate()
                    .map(|(i, v)| Cell {
                        score: *v as f64,
                        choice: match i {
                            0 => Some(c1[s]),
                            4 => Some(c5[s]),
                            _ => None,
                        },
                    })
                    .collect()
            })
            .collect();
        let choice = ItemInfo {
            options: 4,
            key: Some(0),
        };
        let plain = ItemInfo {
            options: 0,
            key: None,
        };
        (rows, vec![choice, plain, plain, plain, choice])
    }

    #[test]
    fn reliability_matches_hand_computation() {
        let (rows, items) = dataset();
        let a = analyse(&rows, &items).unwrap();
        // Totals 4,5,3,3,2,2: mean 19/6; squared deviations sum to 41/6, so variance 41/36.
        assert!(close(a.mean, 19.0 / 6.0));
        assert!(close(a.sd, (41.0f64 / 36.0).sqrt()));
        // p = 4/6, 4/6, 3/6, 1, 2/6 → Σpq = (8 + 8 + 9 + 0 + 8)/36 = 33/36.
        // KR-20 = 5/4 · (1 − (33/36)/(41/36)) = 5/4 · 8/41 = 10/41 ≈ 0.2439.
        assert!(close(a.kr20.unwrap(), 10.0 / 41.0));
        // Dichotomous items: α equals KR-20.
        assert!(close(a.alpha.unwrap(), 10.0 / 41.0));
        // SEM = √(41/36) · √(1 − 10/41) = √(31/36) ≈ 0.9280.
        assert!(close(a.sem.unwrap(), (31.0f64 / 36.0).sqrt()));
    }

    #[test]
    fn items_match_hand_computation() {
        let (rows, items) = dataset();
        let a = analyse(&rows, &items).unwrap();
        // 27% of 6 = 1.62 → groups of 2. Sorted: S2(5), S1(4), S3, S4, S5, S6 → upper {S2, S1}, lower {S5, S6}.
        assert_eq!(a.group_size, 2);
        let d: Vec<f64> = a.items.iter().map(|i| i.discrimination).collect();
        // i1: 1 − 0; i2: 1 − 0.5; i3: 1 − 0; i4: 1 − 1; i5: 0.5 − 0.5.
        assert_eq!(d, vec![1.0, 0.5, 1.0, 0.0, 0.0]);
        assert!(close(a.items[0].facility, 4.0 / 6.0));
        // i1 against the rest (3,4,2,2,2,2): cov = 1/6, sd_x = √(2/9), sd_rest = √(3.5/6) → r ≈ 0.46291.
        assert!(close(a.items[0].point_biserial.unwrap(), 0.462910));
        // i5 against the rest (4,4,3,3,2,1): cov = −1/9, sd_x = √(2/9), sd_rest = √(41/36) → r ≈ −0.22086.
        assert!(close(a.items[4].point_biserial.unwrap(), -0.220863));
        // i4 has no variance.
        assert_eq!(a.items[3].point_biserial, None);
        assert_eq!(
            a.items[3].flags,
            vec![Flag::TooEasy(1.0), Flag::LowDiscrimination(0.0)]
        );
        // i1 distractors: B chosen by S5, S6 (lower); C and D by nobody.
        assert_eq!(
            a.items[0].options[1],
            OptionStats {
                option: 1,
                total: 2,
                upper: 0,
                lower: 2
            }
        );
        assert_eq!(
            a.items[0].flags,
            vec![Flag::UnusedDistractor(2), Flag::UnusedDistractor(3)]
        );
        // i5: C chosen by S1 (upper) only → attracts the upper group.
        let f5 = &a.items[4].flags;
        assert!(f5.contains(&Flag::DistractorAttractsUpper(2)), "{f5:?}");
        assert!(
            f5.iter()
                .any(|f| matches!(f, Flag::NegativePointBiserial(_)))
        );
        assert_eq!(
            Flag::DistractorAttractsUpper(2).to_string(),
            "Phương án nhiễu C được nhóm giỏi chọn nhiều hơn nhóm yếu"
        );
        assert_eq!(
            Flag::TooEasy(1.0).to_string(),
            "Câu quá dễ (độ khó p = 1,00 > 0,90)"
        );
    }

    #[test]
    fn alpha_with_partial_credit() {
        // Items a = (1, .5, 0), b = (1, .5, .5); totals (2, 1, .5), variance 0.38889.
        // var a = 1/6, var b = 1/18 → α = 2 · (1 − (2/9)/(7/18)) = 2 · 3/7 = 6/7.
        let cell = |s| Cell {
            score: s,
            choice: None,
        };
        let rows = vec![
            vec![cell(1.0), cell(1.0)],
            vec![cell(0.5), cell(0.5)],
            vec![cell(0.0), cell(0.5)],
        ];
        let plain = ItemInfo {
            options: 0,
            key: None,
        };
        let a = analyse(&rows, &[plain, plain]).unwrap();
        assert!(close(a.alpha.unwrap(), 6.0 / 7.0));
        assert_eq!(a.kr20, None);
    }

    #[test]
    fn matrix_exams_analyse_each_item_over_the_students_who_got_it() {
        let plain = ItemInfo {
            options: 0,
            key: None,
        };
        let c = |s: f64| {
            Some(Cell {
                score: s,
                choice: None,
            })
        };
        // Items 0 and 1 everyone got; item 2 only the first two students (a matrix draw).
        let rows = vec![
            vec![c(1.0), c(1.0), c(1.0)],
            vec![c(1.0), c(0.0), c(0.0)],
            vec![c(0.0), c(1.0), None],
            vec![c(0.0), c(0.0), None],
        ];
        let a = analyse_sparse(&rows, &[plain; 3]).unwrap();
        assert_eq!(a.totals, vec![3.0, 1.0, 1.0, 0.0]);
        assert!(close(a.mean, 1.25));
        // Upper group {0}, lower {3}: item 2 is defined for the upper group only.
        assert!(close(a.items[2].facility, 0.5));
        assert!(close(a.items[2].discrimination, 0.0));
        assert!(
            !a.items[2]
                .flags
                .iter()
                .any(|f| matches!(f, Flag::LowDiscrimination(_)))
        );
        // Corrected item–rest over the two who got it: x = (1, 0), rest = (2, 1).
        assert!(close(a.items[2].point_biserial.unwrap(), 1.0));
        assert!(close(a.items[0].discrimination, 1.0));
        // Reliability over items 0 and 1: totals (2, 1, 1, 0), variance 0.5, item variances
        // 0.25 + 0.25 → α = 2 · (1 − 0.5 / 0.5) = 0.
        assert!(close(a.alpha.unwrap(), 0.0));
        assert!(close(a.kr20.unwrap(), 0.0));
        // An item nobody got is an error, not a NaN.
        let none = vec![vec![c(1.0), None], vec![c(0.0), None]];
        assert!(analyse_sparse(&none, &[plain; 2]).is_err());
    }

    #[test]
    fn bad_input_is_refused() {
        let plain = ItemInfo {
            options: 0,
            key: None,
        };
        let cell = |s| Cell {
            score: s,
            choice: None,
        };
        assert!(analyse(&[vec![cell(1.0)]], &[plain]).is_err());
        assert!(analyse(&[vec![cell(1.0)], vec![cell(2.0)]], &[plain]).is_err());
        assert!(analyse(&[vec![cell(1.0)], vec![]], &[plain]).is_err());
        let choice = ItemInfo {
            options: 2,
            key: Some(0),
        };
        assert!(
            analyse(
                &[
                    vec![Cell {
                        score: 1.0,
                        choice: Some(5)
                    }],
                    vec![cell(0.0)]
                ],
                &[choice]
            )
            .is_err()
        );
    }

    #[test]
    fn cells_come_from_marked_answers() {
        use crate::model::Content;
        let mut q = Question::new(
            "?",
            QuestionKind::SingleChoice {
                options: ["a", "b", "c"].map(Content::from).to_vec(),
                key: Some(2),
            },
        );
        q.points = 0.25;
        let r = Response::SingleChoice(2);
        assert_eq!(
            Cell::from_answer(&q, Some(&r), 0.25),
            Cell {
                score: 1.0,
                choice: Some(2)
            }
        );
        assert_eq!(
            Cell::from_answer(&q, None, 0.0),
            Cell {
                score: 0.0,
                choice: None
            }
        );
        assert_eq!(
            ItemInfo::of(&q),
            ItemInfo {
                options: 3,
                key: Some(2)
            }
        );
    }

    #[test]
    fn histogram_is_accessible_svg() {
        let svg = histogram_svg(&[0.0, 2.5, 5.0, 7.5, 10.0, 10.0], 10.0, 4);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains("<title id=\"pho-diem-title\">Phổ điểm của 6 học sinh</title>"));
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.contains("<title>7,5–10 điểm: 3 học sinh</title>"));
        assert!(svg.contains("<title>0–2,5 điểm: 1 học sinh</title>"));
    }
}
