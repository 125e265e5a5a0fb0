//! Surveys (đợt khảo sát, báo cáo) that a Sở or a commune issues to the schools below it, with a
//! deadline. Each built-in template is data: one description of its fields drives the form, its
//! validation, the totals up the management tree and the Excel columns.

use crate::tree::{SchoolLevel, path_within};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A whole number, summed up the tree.
    Integer,
    /// Free text (a proposal, a description of difficulties), listed, never summed.
    Text,
}

/// The upper bound of an integer field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Max {
    /// A fixed number.
    Fixed(i64),
    /// The value entered in another field of the same answer (e.g. working computers ≤ computers).
    Field(&'static str),
}

/// Where a field's first value comes from when the school opens the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefill {
    /// Nothing: the school enters it.
    None,
    /// The school's studying students on lophoc.
    Students,
    /// The school's active staff on lophoc.
    Staff,
    /// The classes of the school's current year.
    Classes,
    /// The same field of the school's latest submitted answer to a survey of this template.
    Previous,
}

/// One field of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Stable key (stored in answers; never renamed).
    pub key: &'static str,
    /// Vietnamese label, as the form, errors and the Excel header show it.
    pub label: &'static str,
    /// Integer or text.
    pub kind: FieldKind,
    /// Smallest integer allowed.
    pub min: i64,
    /// Largest integer allowed (for text: the length limit is [`Field::max_chars`]).
    pub max: Max,
    /// Where the first value comes from.
    pub prefill: Prefill,
    /// Whether a submission needs it (drafts never do).
    pub required: bool,
}

impl Field {
    const fn int(key: &'static str, label: &'static str, max: Max, prefill: Prefill) -> Self {
        Self {
            key,
            label,
            kind: FieldKind::Integer,
            min: 0,
            max,
            prefill,
            required: true,
        }
    }

    const fn text(key: &'static str, label: &'static str, required: bool) -> Self {
        Self {
            key,
            label,
            kind: FieldKind::Text,
            min: 0,
            max: Max::Fixed(0),
            prefill: Prefill::None,
            required,
        }
    }

    /// The longest text a text field takes.
    pub const fn max_chars(&self) -> usize {
        2000
    }

    /// Whether the field is a number.
    pub fn is_integer(&self) -> bool {
        self.kind == FieldKind::Integer
    }
}

/// A rule over several integer fields: their sum may not exceed another field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SumRule {
    /// The fields added up.
    pub fields: &'static [&'static str],
    /// What the sum is called in the error.
    pub label: &'static str,
    /// The field it may not exceed.
    pub at_most: &'static str,
}

/// A built-in survey template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// Stable code, stored with the survey.
    pub code: &'static str,
    /// Vietnamese name.
    pub name: &'static str,
    /// What it asks, in one sentence.
    pub summary: &'static str,
    /// The fields, in form order.
    pub fields: &'static [Field],
    /// Cross-field rules.
    pub sums: &'static [SumRule],
}

impl Template {
    /// A field by key.
    pub fn field(&self, key: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// The integer fields (the summed columns).
    pub fn integer_fields(&self) -> impl Iterator<Item = &'static Field> + '_ {
        self.fields.iter().filter(|f| f.is_integer())
    }
}

/// Students without a device for online learning, by category and device needed.
pub const DEVICES: Template = Template {
    code: "devices",
    name: "Học sinh chưa có thiết bị học trực tuyến",
    summary: "Số học sinh chưa có thiết bị học trực tuyến theo đối tượng, thiết bị cần hỗ trợ và đề xuất của nhà trường.",
    fields: &[
        Field::int(
            "students",
            "Tổng số học sinh của trường",
            Max::Fixed(100_000),
            Prefill::Students,
        ),
        Field::int(
            "poor",
            "HS chưa có thiết bị – hộ nghèo",
            Max::Field("students"),
            Prefill::None,
        ),
        Field::int(
            "near_poor",
            "HS chưa có thiết bị – hộ cận nghèo",
            Max::Field("students"),
            Prefill::None,
        ),
        Field::int(
            "policy",
            "HS chưa có thiết bị – gia đình chính sách",
            Max::Field("students"),
            Prefill::None,
        ),
        Field::int(
            "other",
            "HS chưa có thiết bị – khó khăn khác",
            Max::Field("students"),
            Prefill::None,
        ),
        Field::int(
            "need_computer",
            "Cần hỗ trợ máy tính",
            Max::Field("students"),
            Prefill::None,
        ),
        Field::int(
            "need_tablet",
            "Cần hỗ trợ máy tính bảng",
            Max::Field("students"),
            Prefill::None,
        ),
        Field::int(
            "need_phone",
            "Cần hỗ trợ điện thoại thông minh",
            Max::Field("students"),
            Prefill::None,
        ),
        Field::int(
            "need_internet",
            "Cần hỗ trợ kết nối Internet",
            Max::Field("students"),
            Prefill::None,
        ),
        Field::text("proposal", "Đề xuất của nhà trường", false),
    ],
    sums: &[SumRule {
        fields: &["poor", "near_poor", "policy", "other"],
        label: "Tổng số học sinh chưa có thiết bị",
        at_most: "students",
    }],
};

/// Internet and infrastructure difficulties.
pub const INFRASTRUCTURE: Template = Template {
    code: "infrastructure",
    name: "Hạ tầng mạng và thiết bị",
    summary: "Máy tính, phòng máy, băng thông, wifi và những khó khăn về đường truyền của trường.",
    fields: &[
        Field::int(
            "computers",
            "Số máy tính dùng cho dạy học",
            Max::Fixed(10_000),
            Prefill::Previous,
        ),
        Field::int(
            "computers_working",
            "Số máy tính đang hoạt động tốt",
            Max::Field("computers"),
            Prefill::Previous,
        ),
        Field::int(
            "computer_rooms",
            "Số phòng máy tính",
            Max::Fixed(200),
            Prefill::Previous,
        ),
        Field::int(
            "bandwidth_mbps",
            "Băng thông Internet của trường (Mbps)",
            Max::Fixed(100_000),
            Prefill::Previous,
        ),
        Field::int(
            "classrooms",
            "Số phòng học",
            Max::Fixed(1_000),
            Prefill::Classes,
        ),
        Field::int(
            "wifi_classrooms",
            "Số phòng học có wifi",
            Max::Field("classrooms"),
            Prefill::Previous,
        ),
        Field::text("difficulties", "Khó khăn về đường truyền, thiết bị", false),
        Field::text("proposal", "Đề xuất của nhà trường", false),
    ],
    sums: &[],
};

/// Teacher training plan and completion.
pub const TRAINING: Template = Template {
    code: "training",
    name: "Bồi dưỡng giáo viên dạy học trực tuyến",
    summary: "Kế hoạch bồi dưỡng giáo viên về dạy học trực tuyến và kết quả hoàn thành.",
    fields: &[
        Field::int(
            "teachers",
            "Tổng số cán bộ, giáo viên",
            Max::Fixed(10_000),
            Prefill::Staff,
        ),
        Field::int(
            "planned",
            "Số GV cần bồi dưỡng theo kế hoạch",
            Max::Field("teachers"),
            Prefill::None,
        ),
        Field::int(
            "completed",
            "Số GV đã hoàn thành bồi dưỡng",
            Max::Field("planned"),
            Prefill::None,
        ),
        Field::int(
            "sessions",
            "Số buổi/lớp bồi dưỡng đã tổ chức",
            Max::Fixed(1_000),
            Prefill::None,
        ),
        Field::text("plan", "Nội dung, thời gian kế hoạch bồi dưỡng", false),
        Field::text("proposal", "Đề xuất của nhà trường", false),
    ],
    sums: &[],
};

/// Every built-in template.
pub const TEMPLATES: [Template; 3] = [DEVICES, INFRASTRUCTURE, TRAINING];

/// A template by code.
pub fn template(code: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.code == code)
}

/// What happens to a submission after the deadline, as the issuer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LatePolicy {
    /// Accepted and flagged late.
    Accept,
    /// Refused.
    Refuse,
}

impl LatePolicy {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Refuse => "refuse",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Accept, Self::Refuse]
            .into_iter()
            .find(|p| p.code() == code)
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Accept => "Nhận bài nộp muộn (đánh dấu nộp muộn)",
            Self::Refuse => "Không nhận bài sau hạn",
        }
    }
}

/// Where a school is with a survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Not opened or not saved.
    Missing,
    /// A draft is saved, not submitted.
    Draft,
    /// Submitted after the deadline (accepted late).
    Late,
    /// Submitted on time.
    Submitted,
}

impl Status {
    /// Code for CSS and tests (`data-status`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Draft => "draft",
            Self::Late => "late",
            Self::Submitted => "submitted",
        }
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Missing => "Chưa nộp",
            Self::Draft => "Đang soạn (chưa nộp)",
            Self::Late => "Đã nộp muộn",
            Self::Submitted => "Đã nộp đúng hạn",
        }
    }

    /// Whether the answer is in (counts in the totals).
    pub fn is_in(self) -> bool {
        matches!(self, Self::Late | Self::Submitted)
    }
}

/// The levels a survey targets: empty means every school of the issuer's subtree.
pub fn targets_level(levels: &[SchoolLevel], level: SchoolLevel) -> bool {
    levels.is_empty() || levels.contains(&level)
}

/// A school's answer: numbers and texts by field key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    /// Integer fields.
    #[serde(default)]
    pub ints: BTreeMap<String, i64>,
    /// Text fields.
    #[serde(default)]
    pub texts: BTreeMap<String, String>,
}

impl Answers {
    /// A number, if entered.
    pub fn int(&self, key: &str) -> Option<i64> {
        self.ints.get(key).copied()
    }

    /// A text, empty if not entered.
    pub fn text(&self, key: &str) -> &str {
        self.texts.get(key).map_or("", String::as_str)
    }

    /// The value of a field as the form shows it.
    pub fn shown(&self, f: &Field) -> String {
        match f.kind {
            FieldKind::Integer => self.int(f.key).map(|n| n.to_string()).unwrap_or_default(),
            FieldKind::Text => self.text(f.key).to_owned(),
        }
    }
}

/// Saving a draft or submitting (only a submission needs every required field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Keep what is entered.
    Draft,
    /// Hand it in.
    Submit,
}

/// Checks what a school typed into a template's form. Every problem is named by its field
/// label; nothing partial comes back (the caller saves nothing on error).
pub fn validate(
    t: &Template,
    raw: &BTreeMap<String, String>,
    mode: Mode,
) -> Result<Answers, Vec<String>> {
    let mut errors = Vec::new();
    let mut out = Answers::default();
    for f in t.fields {
        let v = raw.get(f.key).map_or("", |s| s.trim());
        match f.kind {
            FieldKind::Integer => {
                if v.is_empty() {
                    if mode == Mode::Submit && f.required {
                        errors.push(format!("Chưa nhập \"{}\".", f.label));
                    }
                    continue;
                }
                // People type "1.200" or "1 200" for thousands.
                let digits: String = v.chars().filter(|c| !matches!(c, '.' | ' ')).collect();
                match digits.parse::<i64>() {
                    Ok(n) if n < f.min => errors.push(format!(
                        "\"{}\": {n} không hợp lệ, phải từ {} trở lên.",
                        f.label, f.min
                    )),
                    Ok(n) => {
                        out.ints.insert(f.key.to_owned(), n);
                    }
                    Err(_) => errors.push(format!(
                        "\"{}\": \"{v}\" không phải số nguyên (chỉ nhập chữ số, ví dụ 12).",
                        f.label
                    )),
                }
            }
            FieldKind::Text => {
                if v.is_empty() {
                    if mode == Mode::Submit && f.required {
                        errors.push(format!("Chưa nhập \"{}\".", f.label));
                    }
                    continue;
                }
                if v.chars().count() > f.max_chars() {
                    errors.push(format!("\"{}\" dài quá {} ký tự.", f.label, f.max_chars()));
                    continue;
                }
                out.texts.insert(f.key.to_owned(), v.to_owned());
            }
        }
    }
    // Upper bounds once every number is known, so a bound on another field can be checked.
    for f in t.integer_fields() {
        let Some(n) = out.int(f.key) else { continue };
        match f.max {
            Max::Fixed(m) if n > m => {
                errors.push(format!("\"{}\": {n} vượt quá giới hạn {m}.", f.label))
            }
            Max::Field(other) => {
                if let (Some(limit), Some(of)) = (out.int(other), t.field(other))
                    && n > limit
                {
                    errors.push(format!(
                        "\"{}\": {n} lớn hơn \"{}\" ({limit}).",
                        f.label, of.label
                    ));
                }
            }
            Max::Fixed(_) => {}
        }
    }
    for r in t.sums {
        let sum: i64 = r.fields.iter().filter_map(|k| out.int(k)).sum();
        if let (Some(limit), Some(of)) = (out.int(r.at_most), t.field(r.at_most))
            && sum > limit
        {
            errors.push(format!(
                "{} ({sum}) lớn hơn \"{}\" ({limit}).",
                r.label, of.label
            ));
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// One school's line as the aggregation needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolLine<'a> {
    /// The path of the unit the school hangs under.
    pub unit_path: &'a str,
    /// Where it is with the survey.
    pub status: Status,
    /// Its answer (only counted when submitted).
    pub answers: &'a Answers,
}

/// Counts and sums of a group of schools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Schools asked.
    pub schools: i64,
    /// Submitted on time.
    pub submitted: i64,
    /// Submitted late.
    pub late: i64,
    /// Not submitted (drafts included).
    pub missing: i64,
    /// Sum of each integer field over the submitted answers, in template order.
    pub sums: Vec<(&'static str, i64)>,
}

impl Totals {
    fn new(t: &Template) -> Self {
        Self {
            sums: t.integer_fields().map(|f| (f.key, 0)).collect(),
            ..Self::default()
        }
    }

    fn add(&mut self, line: &SchoolLine<'_>) {
        self.schools += 1;
        match line.status {
            Status::Submitted => self.submitted += 1,
            Status::Late => self.late += 1,
            Status::Missing | Status::Draft => self.missing += 1,
        }
        if line.status.is_in() {
            for (k, s) in &mut self.sums {
                *s += line.answers.int(k).unwrap_or(0);
            }
        }
    }

    /// The sum of one field.
    pub fn sum(&self, key: &str) -> i64 {
        self.sums
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(0, |(_, s)| *s)
    }

    /// Schools that answered (on time or late).
    pub fn answered(&self) -> i64 {
        self.submitted + self.late
    }
}

/// The totals of a survey seen from a node of the tree: the whole, and one group per unit
/// directly below the node (a commune under the Sở); schools hanging directly under the node
/// (THPT, GDTX centres under the Sở) form the group keyed by the node itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollup {
    /// Everything below the node.
    pub total: Totals,
    /// (path of the unit directly below the node, or the node's own path; totals), by path.
    pub groups: Vec<(String, Totals)>,
}

/// The path of the unit directly below `root` on the way to `path`, or `root` itself when
/// `path` is `root`. None when `path` is outside `root`.
pub fn child_under(root: &str, path: &str) -> Option<String> {
    if !path_within(path, root) {
        return None;
    }
    let rest = &path[root.len()..];
    match rest.split('/').find(|s| !s.is_empty()) {
        Some(id) => Some(format!("{root}{id}/")),
        None => Some(root.to_owned()),
    }
}

/// Adds up the schools below `root` (schools outside it are not counted: a commune looking at
/// a Sở survey sees only its own schools).
pub fn rollup(t: &Template, root: &str, lines: &[SchoolLine<'_>]) -> Rollup {
    let mut total = Totals::new(t);
    let mut groups: BTreeMap<String, Totals> = BTreeMap::new();
    for l in lines {
        let Some(group) = child_under(root, l.unit_path) else {
            continue;
        };
        total.add(l);
        groups.entry(group).or_insert_with(|| Totals::new(t)).add(l);
    }
    Rollup {
        total,
        groups: groups.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn templates_are_consistent() {
        for t in TEMPLATES {
            assert_eq!(template(t.code), Some(&t));
            let mut keys: Vec<&str> = t.fields.iter().map(|f| f.key).collect();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), t.fields.len(), "{}: duplicate keys", t.code);
            for f in t.integer_fields() {
                if let Max::Field(other) = f.max {
                    assert!(
                        t.field(other).is_some_and(Field::is_integer),
                        "{}.{}",
                        t.code,
                        f.key
                    );
                }
            }
            for r in t.sums {
                assert!(r.fields.iter().all(|k| t.field(k).is_some()));
                assert!(t.field(r.at_most).is_some());
            }
        }
        assert!(template("nope").is_none());
    }

    #[test]
    fn a_good_answer_passes_and_keeps_its_values() {
        let a = validate(
            &DEVICES,
            &raw(&[
                ("students", "1.200"),
                ("poor", "12"),
                ("near_poor", "8"),
                ("policy", "0"),
                ("other", "3"),
                ("need_computer", "5"),
                ("need_tablet", "4"),
                ("need_phone", "14"),
                ("need_internet", "9"),
                ("proposal", "  Xin hỗ trợ 10 máy tính bảng. "),
            ]),
            Mode::Submit,
        )
        .unwrap();
        assert_eq!(a.int("students"), Some(1200));
        assert_eq!(a.int("poor"), Some(12));
        assert_eq!(a.text("proposal"), "Xin hỗ trợ 10 máy tính bảng.");
    }

    #[test]
    fn out_of_range_numbers_are_named() {
        let e = validate(
            &DEVICES,
            &raw(&[("students", "72"), ("poor", "-3")]),
            Mode::Draft,
        )
        .unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("hộ nghèo") && e[0].contains("-3"), "{e:?}");

        let e = validate(
            &DEVICES,
            &raw(&[("students", "72"), ("poor", "100")]),
            Mode::Draft,
        )
        .unwrap_err();
        assert!(
            e.iter()
                .any(|m| m.contains("hộ nghèo") && m.contains("Tổng số học sinh của trường")),
            "{e:?}"
        );

        // Each category fits, but together they are more than the school has.
        let e = validate(
            &DEVICES,
            &raw(&[("students", "72"), ("poor", "40"), ("near_poor", "40")]),
            Mode::Draft,
        )
        .unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("chưa có thiết bị (80)"), "{e:?}");

        let e = validate(&DEVICES, &raw(&[("poor", "mười")]), Mode::Draft).unwrap_err();
        assert!(e[0].contains("không phải số nguyên"), "{e:?}");

        let e = validate(
            &INFRASTRUCTURE,
            &raw(&[("computers", "20"), ("computers_working", "25")]),
            Mode::Draft,
        )
        .unwrap_err();
        assert!(e[0].contains("đang hoạt động tốt"), "{e:?}");

        let e = validate(&TRAINING, &raw(&[("teachers", "20000")]), Mode::Draft).unwrap_err();
        assert!(e[0].contains("vượt quá giới hạn 10000"), "{e:?}");
    }

    #[test]
    fn drafts_may_be_incomplete_submissions_may_not() {
        let partial = raw(&[("students", "72"), ("poor", "2")]);
        assert!(validate(&DEVICES, &partial, Mode::Draft).is_ok());
        let e = validate(&DEVICES, &partial, Mode::Submit).unwrap_err();
        assert!(e.iter().any(|m| m.contains("cận nghèo")), "{e:?}");
        assert!(
            !e.iter().any(|m| m.contains("Đề xuất")),
            "the proposal is optional"
        );
        let long = "a".repeat(2001);
        let e = validate(&DEVICES, &raw(&[("proposal", &long)]), Mode::Draft).unwrap_err();
        assert!(e[0].contains("dài quá 2000"), "{e:?}");
    }

    #[test]
    fn totals_roll_up_the_tree() {
        let province = "/m/p/";
        let commune_a = "/m/p/a/";
        let commune_b = "/m/p/b/";
        let ans = |n: i64| Answers {
            ints: [("students".to_owned(), 100), ("poor".to_owned(), n)].into(),
            texts: BTreeMap::new(),
        };
        let (a1, a2, b1, thpt, outside) = (ans(5), ans(7), ans(11), ans(13), ans(1000));
        let empty = Answers::default();
        let lines = [
            SchoolLine {
                unit_path: commune_a,
                status: Status::Submitted,
                answers: &a1,
            },
            SchoolLine {
                unit_path: commune_a,
                status: Status::Late,
                answers: &a2,
            },
            // A draft is not counted, even with numbers in it.
            SchoolLine {
                unit_path: commune_a,
                status: Status::Draft,
                answers: &a1,
            },
            SchoolLine {
                unit_path: commune_b,
                status: Status::Submitted,
                answers: &b1,
            },
            SchoolLine {
                unit_path: commune_b,
                status: Status::Missing,
                answers: &empty,
            },
            SchoolLine {
                unit_path: province,
                status: Status::Submitted,
                answers: &thpt,
            },
            SchoolLine {
                unit_path: "/m/q/x/",
                status: Status::Submitted,
                answers: &outside,
            },
        ];
        let r = rollup(&DEVICES, province, &lines);
        assert_eq!(r.total.schools, 6);
        assert_eq!(
            (r.total.submitted, r.total.late, r.total.missing),
            (3, 1, 2)
        );
        assert_eq!(r.total.sum("poor"), 5 + 7 + 11 + 13);
        assert_eq!(r.total.sum("students"), 400);
        assert_eq!(r.groups.len(), 3);
        let g = |p: &str| &r.groups.iter().find(|(k, _)| k == p).unwrap().1;
        assert_eq!(g(commune_a).sum("poor"), 12);
        assert_eq!(g(commune_a).missing, 1);
        assert_eq!(g(commune_b).sum("poor"), 11);
        assert_eq!(g(province).sum("poor"), 13, "schools directly under the Sở");

        // The commune sees its own schools only, as one group.
        let r = rollup(&DEVICES, commune_a, &lines);
        assert_eq!(r.total.schools, 3);
        assert_eq!(r.total.sum("poor"), 12);
        assert_eq!(r.groups.len(), 1);
        assert_eq!(r.groups[0].0, commune_a);
    }

    #[test]
    fn groups_are_the_units_directly_below() {
        assert_eq!(child_under("/p/", "/p/a/b/"), Some("/p/a/".into()));
        assert_eq!(child_under("/p/", "/p/"), Some("/p/".into()));
        assert_eq!(child_under("/p/a/", "/p/b/"), None);
    }

    #[test]
    fn levels_and_policies() {
        assert!(targets_level(&[], SchoolLevel::Primary));
        assert!(targets_level(
            &[SchoolLevel::UpperSecondary, SchoolLevel::Continuing],
            SchoolLevel::Continuing
        ));
        assert!(!targets_level(
            &[SchoolLevel::UpperSecondary],
            SchoolLevel::Primary
        ));
        assert_eq!(LatePolicy::from_code("refuse"), Some(LatePolicy::Refuse));
        assert!(Status::Late.is_in() && !Status::Draft.is_in());
    }
}
