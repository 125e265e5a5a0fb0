//! Subjects of the 2018 general-education curriculum (Thông tư 32/2018/TT-BGDĐT) with their
//! periods per year (35 school weeks), per grade. Schools may add their own subjects on top.

/// One subject as taught in one grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurriculumSubject {
    /// Stable code, shared across grades ("TOAN").
    pub code: &'static str,
    /// Vietnamese name.
    pub name: &'static str,
    /// Grade (khối) 1–12.
    pub grade: u8,
    /// Periods per school year.
    pub periods: u16,
    /// Elective in upper secondary (môn lựa chọn).
    pub elective: bool,
}

/// (code, name, [(first grade, last grade, periods)], elective)
type Row = (&'static str, &'static str, &'static [(u8, u8, u16)], bool);

const ROWS: &[Row] = &[
    // Primary (Tiểu học)
    (
        "TV",
        "Tiếng Việt",
        &[(1, 1, 420), (2, 2, 350), (3, 5, 245)],
        false,
    ),
    (
        "TOAN",
        "Toán",
        &[(1, 1, 105), (2, 5, 175), (6, 9, 140), (10, 12, 105)],
        false,
    ),
    (
        "NN1",
        "Ngoại ngữ 1 (Tiếng Anh)",
        &[(3, 5, 140), (6, 12, 105)],
        false,
    ),
    ("DD", "Đạo đức", &[(1, 5, 35)], false),
    ("TNXH", "Tự nhiên và Xã hội", &[(1, 3, 70)], false),
    (
        "LSDL",
        "Lịch sử và Địa lí",
        &[(4, 5, 70), (6, 9, 105)],
        false,
    ),
    ("KH", "Khoa học", &[(4, 5, 70)], false),
    ("TIN", "Tin học", &[(3, 5, 35), (6, 9, 35)], false),
    (
        "CN",
        "Công nghệ",
        &[(3, 5, 35), (6, 8, 35), (9, 9, 52)],
        false,
    ),
    ("GDTC", "Giáo dục thể chất", &[(1, 12, 70)], false),
    ("AN", "Âm nhạc", &[(1, 9, 35)], false),
    ("MT", "Mĩ thuật", &[(1, 9, 35)], false),
    (
        "HDTN",
        "Hoạt động trải nghiệm, hướng nghiệp",
        &[(1, 12, 105)],
        false,
    ),
    // Lower secondary (THCS)
    ("NV", "Ngữ văn", &[(6, 9, 140), (10, 12, 105)], false),
    ("GDCD", "Giáo dục công dân", &[(6, 9, 35)], false),
    ("KHTN", "Khoa học tự nhiên", &[(6, 9, 140)], false),
    (
        "GDDP",
        "Nội dung giáo dục của địa phương",
        &[(1, 12, 35)],
        false,
    ),
    // Upper secondary (THPT)
    ("LS", "Lịch sử", &[(10, 12, 52)], false),
    (
        "GDQPAN",
        "Giáo dục quốc phòng và an ninh",
        &[(10, 12, 35)],
        false,
    ),
    ("DL", "Địa lí", &[(10, 12, 70)], true),
    (
        "GDKTPL",
        "Giáo dục kinh tế và pháp luật",
        &[(10, 12, 70)],
        true,
    ),
    ("VL", "Vật lí", &[(10, 12, 70)], true),
    ("HH", "Hoá học", &[(10, 12, 70)], true),
    ("SH", "Sinh học", &[(10, 12, 70)], true),
    ("CN_THPT", "Công nghệ (THPT)", &[(10, 12, 70)], true),
    ("TIN_THPT", "Tin học (THPT)", &[(10, 12, 70)], true),
    ("AN_THPT", "Âm nhạc (THPT)", &[(10, 12, 70)], true),
    ("MT_THPT", "Mĩ thuật (THPT)", &[(10, 12, 70)], true),
];

/// Every subject of every grade.
pub fn catalogue() -> Vec<CurriculumSubject> {
    let mut out = Vec::new();
    for &(code, name, ranges, elective) in ROWS {
        for &(from, to, periods) in ranges {
            for grade in from..=to {
                out.push(CurriculumSubject {
                    code,
                    name,
                    grade,
                    periods,
                    elective,
                });
            }
        }
    }
    out.sort_by_key(|s| (s.grade, s.code));
    out
}

/// The subjects of one grade.
pub fn for_grade(grade: u8) -> Vec<CurriculumSubject> {
    catalogue()
        .into_iter()
        .filter(|s| s.grade == grade)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grade_has_its_core_subjects() {
        for g in 1..=12 {
            let subjects = for_grade(g);
            assert!(
                subjects.iter().any(|s| s.code == "TOAN"),
                "grade {g} lacks Toán"
            );
            assert!(
                subjects.iter().any(|s| s.code == "GDTC"),
                "grade {g} lacks GDTC"
            );
        }
        assert!(
            for_grade(1)
                .iter()
                .any(|s| s.code == "TV" && s.periods == 420)
        );
        assert!(
            for_grade(8)
                .iter()
                .any(|s| s.code == "KHTN" && s.periods == 140)
        );
        assert!(for_grade(11).iter().any(|s| s.code == "VL" && s.elective));
        assert!(!for_grade(2).iter().any(|s| s.code == "NN1"));
    }

    #[test]
    fn codes_are_unique_within_a_grade() {
        for g in 1..=12 {
            let mut codes: Vec<_> = for_grade(g).iter().map(|s| s.code).collect();
            let n = codes.len();
            codes.dedup();
            assert_eq!(codes.len(), n);
        }
    }
}
