//! What a school sends to the sector database (CSDL ngành): its current year's classes, its
//! students with their identifiers, and each student's term and year results per subject,
//! computed from the gradebook by the rules of Circulars 22 and 27 ([`domain::grades`]).
//!
//! Keys: the school by its mã trường (`schools.code`), the student by the mã định danh the sector
//! database uses for learners, the 12-digit số định danh cá nhân (`students.personal_id`, linked
//! to the national population database), with the mã học sinh (`students.code`) beside it. The
//! roster import leaves the personal id empty when the file has none, so a missing one is
//! normal data, reported row by row ([`Problem`]) rather than dropped in silence.
//!
//! Schools are read in batches ([`Db::schools_export`]): five queries for up to
//! [`EXPORT_BATCH`] schools, so a province of 1,000 schools is about a hundred queries rather
//! than five thousand, and the memory held is one batch's rows plus what has been written.

use crate::org::{School, Unit};
use crate::{Db, DbResult, get_i64, get_id, get_str};
use domain::Id;
use domain::grades::{
    GradeScheme, PrimaryLevel, Rating, Score, TermRatings, TermScores, comment_term_result,
    comment_year_result, is_comment_graded, required_regular, term_average, year_average,
};
use domain::people::{Gender, StudentStatus};
use std::collections::HashMap;

/// A class of the current year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExClass {
    /// Name ("6A1").
    pub name: String,
    /// Grade.
    pub grade: i64,
    /// Homeroom teacher's name, or empty.
    pub homeroom: String,
    /// Students enrolled.
    pub size: i64,
}

/// A student of a current year's class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExStudent {
    /// Record id.
    pub id: Id,
    /// Mã học sinh.
    pub code: String,
    /// Mã định danh (số định danh cá nhân), if known.
    pub personal_id: Option<String>,
    /// Full name.
    pub full_name: String,
    /// Date of birth, `dd/mm/yyyy`.
    pub birth_date: String,
    /// Gender.
    pub gender: Gender,
    /// Ethnicity.
    pub ethnicity: String,
    /// Status.
    pub status: StudentStatus,
    /// Class name.
    pub class_name: String,
    /// Grade.
    pub grade: i64,
}

/// How a subject is assessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Circular 22, scored (ĐTBmhk, ĐTBmcn).
    Scored,
    /// Circular 22, comment-graded (Đạt / Chưa đạt).
    Comment,
    /// Circular 27 (primary: Hoàn thành tốt / Hoàn thành / Chưa hoàn thành).
    Primary,
}

impl Scheme {
    /// The scheme of a subject in a grade (the gradebook's rule).
    pub fn of(grade: i64, subject_code: &str, subject_name: &str) -> Self {
        let g = u8::try_from(grade).unwrap_or(0);
        match GradeScheme::for_grade(g) {
            Some(GradeScheme::Circular27) => Self::Primary,
            _ if is_comment_graded(subject_code) || is_comment_graded(subject_name) => {
                Self::Comment
            }
            _ => Self::Scored,
        }
    }

    /// Vietnamese label, for the file.
    pub fn label(self) -> &'static str {
        match self {
            Self::Scored => "Điểm số (TT22)",
            Self::Comment => "Nhận xét (TT22)",
            Self::Primary => "Mức đạt được (TT27)",
        }
    }
}

/// One student's results in one subject; empty where the gradebook cannot compute them yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExResult {
    /// Student record.
    pub student_id: Id,
    /// Subject code.
    pub subject_code: String,
    /// Subject name.
    pub subject_name: String,
    /// How it is assessed.
    pub scheme: Scheme,
    /// Term I result (`7,5`, `Đạt`, `Hoàn thành tốt`), or empty.
    pub term_i: String,
    /// Term II result, or empty.
    pub term_ii: String,
    /// Year result, or empty.
    pub year: String,
}

/// Something to fix before the upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The school.
    pub school_code: String,
    /// Its name.
    pub school_name: String,
    /// What (a student's name, or the school).
    pub subject: String,
    /// The class, if any.
    pub class_name: String,
    /// What is missing, in Vietnamese.
    pub what: String,
    /// The student's record, to link to its edit page.
    pub student_id: Option<Id>,
}

impl Problem {
    /// The sentence shown on the page: `Học sinh Nguyễn Văn A (6A1) chưa có mã định danh`.
    pub fn sentence(&self) -> String {
        if self.class_name.is_empty() {
            format!("{}: {}", self.subject, self.what)
        } else {
            format!("{} ({}) {}", self.subject, self.class_name, self.what)
        }
    }
}

/// What one school sends.
#[derive(Debug, Clone)]
pub struct SchoolExport {
    /// The school.
    pub school: School,
    /// Its managing unit's code.
    pub unit_code: String,
    /// Its managing unit's name.
    pub unit_name: String,
    /// The current school year's name, if set up.
    pub year: Option<String>,
    /// Classes of that year.
    pub classes: Vec<ExClass>,
    /// Students of those classes, with or without a mã định danh.
    pub students: Vec<ExStudent>,
    /// Results of the students, per subject with at least one grade.
    pub results: Vec<ExResult>,
    /// What is missing.
    pub problems: Vec<Problem>,
}

/// The text of a missing identifier, as the page and the file say it.
pub const MISSING_ID: &str = "chưa có mã định danh";

fn stored(
    cells: &HashMap<(i64, String), Vec<(i64, String)>>,
    term: i64,
    kind: &str,
) -> Vec<String> {
    // A student's course has a handful of (term, kind) keys: a scan beats building a key.
    let Some(found) = cells
        .iter()
        .find(|((t, k), _)| *t == term && k == kind)
        .map(|(_, v)| v)
    else {
        return Vec::new();
    };
    let mut v: Vec<&(i64, String)> = found.iter().collect();
    v.sort();
    v.into_iter().map(|(_, x)| x.clone()).collect()
}

/// The term result of one student in one subject from its cells (`(term, kind) → [(slot,
/// value)]`), or none while it cannot be computed: the gradebook's rule.
fn term_result(
    scheme: Scheme,
    periods: i64,
    cells: &HashMap<(i64, String), Vec<(i64, String)>>,
    term: i64,
) -> Option<String> {
    let one = |kind: &str| stored(cells, term, kind).into_iter().next();
    match scheme {
        Scheme::Scored => {
            let s = |v: Option<String>| v.and_then(|v| Score::parse(&v).ok());
            let scores = TermScores {
                regular: stored(cells, term, crate::gradebook::KIND_TX)
                    .iter()
                    .filter_map(|v| Score::parse(v).ok())
                    .collect(),
                mid_term: s(one(crate::gradebook::KIND_GK)),
                end_term: s(one(crate::gradebook::KIND_CK)),
            };
            term_average(
                &scores,
                required_regular(u16::try_from(periods).unwrap_or(0)),
            )
            .ok()
            .map(|a| a.to_string())
        }
        Scheme::Comment => {
            let r = |v: Option<String>| v.and_then(|v| Rating::parse(&v).ok());
            let ratings = TermRatings {
                regular: stored(cells, term, crate::gradebook::KIND_TX)
                    .iter()
                    .filter_map(|v| Rating::parse(v).ok())
                    .collect(),
                mid_term: r(one(crate::gradebook::KIND_GK)),
                end_term: r(one(crate::gradebook::KIND_CK)),
            };
            comment_term_result(&ratings)
                .ok()
                .map(|r| r.label().to_owned())
        }
        Scheme::Primary => one(crate::gradebook::KIND_MCK)
            .and_then(|v| PrimaryLevel::parse(&v).ok())
            .map(|l| l.label().to_owned()),
    }
}

/// Term I, term II and year results of one student in one subject.
pub fn subject_results(
    scheme: Scheme,
    periods: i64,
    cells: &HashMap<(i64, String), Vec<(i64, String)>>,
) -> (String, String, String) {
    let t1 = term_result(scheme, periods, cells, 1);
    let t2 = term_result(scheme, periods, cells, 2);
    let year = match scheme {
        Scheme::Scored => {
            let s = |r: &Option<String>| r.as_deref().and_then(|v| Score::parse(v).ok());
            year_average(s(&t1), s(&t2)).ok().map(|a| a.to_string())
        }
        Scheme::Comment => {
            let rating = t2.as_deref().map(|v| {
                if v == Rating::Pass.label() {
                    Rating::Pass
                } else {
                    Rating::Fail
                }
            });
            comment_year_result(rating)
                .ok()
                .map(|r| r.label().to_owned())
        }
        Scheme::Primary => t2.clone(),
    };
    (
        t1.unwrap_or_default(),
        t2.unwrap_or_default(),
        year.unwrap_or_default(),
    )
}

fn vn_date(iso: &str) -> String {
    match iso.split('-').collect::<Vec<_>>().as_slice() {
        [y, m, d] => format!("{d}/{m}/{y}"),
        _ => iso.to_owned(),
    }
}

/// Binds the ids of `schools` to a query whose `IN` list is [`in_list`].
fn bind_ids<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ids: &'q [String],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for id in ids {
        q = q.bind(id);
    }
    q
}

/// `$1, $2, …, $n`.
fn in_list(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Schools read per batch by [`Db::schools_export`] callers: five queries for this many
/// schools, and at most this many schools' rows held at once.
pub const EXPORT_BATCH: usize = 50;

/// Courses of the current year: subject and periods, to choose the rule.
struct CourseMeta {
    code: String,
    name: String,
    periods: i64,
    scheme: Scheme,
}

/// One student of a class as packed by the export query (see [`Db::schools_export`]).
fn unpack_student(one: &str, class_name: &str, grade: i64) -> DbResult<ExStudent> {
    let corrupt = || crate::DbError::Corrupt(format!("học sinh \"{one}\""));
    let f: Vec<&str> = one.split('\u{1f}').collect();
    let [
        id,
        code,
        personal_id,
        full_name,
        birth_date,
        gender,
        ethnicity,
        status,
    ] = f[..]
    else {
        return Err(corrupt());
    };
    Ok(ExStudent {
        id: crate::parse_id(id)?,
        code: code.to_owned(),
        personal_id: Some(personal_id)
            .filter(|p| !p.trim().is_empty())
            .map(str::to_owned),
        full_name: full_name.to_owned(),
        birth_date: vn_date(birth_date),
        gender: gender.to_owned().try_into().map_err(|_| corrupt())?,
        ethnicity: ethnicity.to_owned(),
        status: status.to_owned().try_into().map_err(|_| corrupt())?,
        class_name: class_name.to_owned(),
        grade,
    })
}

/// (term, kind) → [(slot, value)] of one student in one course.
type Cells = HashMap<(i64, String), Vec<(i64, String)>>;

impl Db {
    /// Everything one school sends for its current year.
    pub async fn school_export(&self, school: &School, unit: &Unit) -> DbResult<SchoolExport> {
        self.schools_export(&[(school, unit)])
            .await?
            .pop()
            .ok_or(crate::DbError::NotFound)
    }

    /// Everything each of `schools` (with its managing unit) sends for its current year, in the
    /// order given: five queries for all of them, whatever their number (callers pass at most
    /// [`EXPORT_BATCH`] at a time to bound the memory held).
    pub async fn schools_export(
        &self,
        schools: &[(&School, &Unit)],
    ) -> DbResult<Vec<SchoolExport>> {
        if schools.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = schools.iter().map(|(s, _)| s.id.to_string()).collect();
        let list = in_list(ids.len());
        let by_id: HashMap<Id, usize> = schools
            .iter()
            .enumerate()
            .map(|(i, (s, _))| (s.id, i))
            .collect();
        let mut out: Vec<SchoolExport> = schools
            .iter()
            .map(|(school, unit)| SchoolExport {
                school: (*school).clone(),
                unit_code: unit.code.clone(),
                unit_name: unit.name.clone(),
                year: None,
                classes: Vec::new(),
                students: Vec::new(),
                results: Vec::new(),
                problems: Vec::new(),
            })
            .collect();
        let problem =
            |school: &School, subject: String, class_name: String, what: &str, student| Problem {
                school_code: school.code.clone(),
                school_name: school.name.clone(),
                subject,
                class_name,
                what: what.to_owned(),
                student_id: student,
            };

        // The current year of each school (the first, should there be two).
        let mut year_of: Vec<Option<String>> = vec![None; schools.len()];
        for r in bind_ids(
            sqlx::query(&format!(
                "SELECT school_id, id, name FROM school_years \
                 WHERE is_current = 1 AND school_id IN ({list}) ORDER BY school_id, name"
            )),
            &ids,
        )
        .fetch_all(self.pool())
        .await?
        {
            let i = by_id[&get_id(&r, "school_id")?];
            if year_of[i].is_none() {
                year_of[i] = Some(get_str(&r, "id")?);
                out[i].year = Some(get_str(&r, "name")?);
            }
        }
        // Index of the school whose current year `year` is.
        let current = |r: &sqlx::any::AnyRow| -> DbResult<Option<usize>> {
            let i = by_id
                .get(&get_id(r, "school_id")?)
                .copied()
                .ok_or_else(|| crate::DbError::Corrupt("school_id".into()))?;
            let y = get_str(r, "year_id")?;
            Ok((year_of[i].as_deref() == Some(y.as_str())).then_some(i))
        };

        for r in bind_ids(
            sqlx::query(&format!(
                "SELECT c.school_id, c.year_id, c.name, c.grade, COALESCE(st.full_name, '') AS homeroom, \
                 (SELECT COUNT(*) FROM enrollments e WHERE e.class_id = c.id) AS size \
                 FROM classes c JOIN school_years y ON y.id = c.year_id AND y.is_current = 1 \
                 LEFT JOIN staff st ON st.id = c.homeroom_staff_id \
                 WHERE c.school_id IN ({list}) ORDER BY c.school_id, c.grade, c.name"
            )),
            &ids,
        )
        .fetch_all(self.pool())
        .await?
        {
            let Some(i) = current(&r)? else { continue };
            out[i].classes.push(ExClass {
                name: get_str(&r, "name")?,
                grade: get_i64(&r, "grade")?,
                homeroom: get_str(&r, "homeroom")?,
                size: get_i64(&r, "size")?,
            });
        }

        // Students come packed one row per class, as the cells below (a province has 300,000
        // students: one row each costs seconds in the driver). Fields apart by `\x1f`, students
        // by `\x1e`; those two characters, should a name hold one, print as a space.
        let f = |col: &str| format!("REPLACE(REPLACE({col}, '\u{1f}', ' '), '\u{1e}', ' ')");
        let packed = [
            "s.id".to_owned(),
            f("s.code"),
            f("COALESCE(s.personal_id, '')"),
            f("s.full_name"),
            f("s.birth_date"),
            "s.gender".to_owned(),
            f("s.ethnicity"),
            "s.status".to_owned(),
        ]
        .join(" || '\u{1f}' || ");
        for r in bind_ids(
            sqlx::query(&format!(
                "SELECT e.school_id, e.year_id, c.name AS class_name, c.grade, \
                 string_agg({packed}, '\u{1e}' ORDER BY s.name_folded, s.code) AS students \
                 FROM enrollments e \
                 JOIN school_years y ON y.id = e.year_id AND y.is_current = 1 \
                 JOIN students s ON s.id = e.student_id JOIN classes c ON c.id = e.class_id \
                 WHERE e.school_id IN ({list}) \
                 GROUP BY e.school_id, e.year_id, c.id, c.name, c.grade \
                 ORDER BY e.school_id, c.grade, c.name"
            )),
            &ids,
        )
        .fetch_all(self.pool())
        .await?
        {
            let Some(i) = current(&r)? else { continue };
            let class_name = get_str(&r, "class_name")?;
            let grade = get_i64(&r, "grade")?;
            let packed = get_str(&r, "students")?;
            for one in packed.split('\u{1e}') {
                let st = unpack_student(one, &class_name, grade)?;
                if st.personal_id.is_none() {
                    let p = problem(
                        &out[i].school,
                        format!("Học sinh {}", st.full_name),
                        st.class_name.clone(),
                        MISSING_ID,
                        Some(st.id),
                    );
                    out[i].problems.push(p);
                }
                out[i].students.push(st);
            }
        }

        let mut courses: HashMap<Id, (usize, CourseMeta)> = HashMap::new();
        for r in bind_ids(
            sqlx::query(&format!(
                "SELECT co.school_id, co.year_id, co.id, su.code, su.name, su.periods_per_year, cl.grade \
                 FROM courses co JOIN school_years y ON y.id = co.year_id AND y.is_current = 1 \
                 JOIN subjects su ON su.id = co.subject_id JOIN classes cl ON cl.id = co.class_id \
                 WHERE co.school_id IN ({list})"
            )),
            &ids,
        )
        .fetch_all(self.pool())
        .await?
        {
            let Some(i) = current(&r)? else { continue };
            let code = get_str(&r, "code")?;
            let name = get_str(&r, "name")?;
            let scheme = Scheme::of(get_i64(&r, "grade")?, &code, &name);
            courses.insert(
                get_id(&r, "id")?,
                (
                    i,
                    CourseMeta {
                        code,
                        name,
                        periods: get_i64(&r, "periods_per_year")?,
                        scheme,
                    },
                ),
            );
        }

        // (student, course) → cells, for the courses of the current years only (those in
        // `courses`). The cells come one row per course, packed by the database
        // (`student \x1f term \x1f kind \x1f slot \x1f value`, cells apart by `\x1e`): a
        // province has a million cells, and a million result rows cost seconds in the driver
        // alone where fifteen thousand cost milliseconds. Gradebook values never hold these
        // control characters (they are scores, ratings and levels); a cell that would not
        // unpack is refused as corrupt rather than skipped.
        let mut cells: HashMap<(Id, Id), Cells> = HashMap::new();
        for r in bind_ids(
            sqlx::query(&format!(
                "SELECT course_id, string_agg(student_id || '\u{1f}' || CAST(term AS TEXT) || '\u{1f}' \
                 || kind || '\u{1f}' || CAST(slot AS TEXT) || '\u{1f}' || value, '\u{1e}') AS cells \
                 FROM grade_entries WHERE school_id IN ({list}) GROUP BY course_id"
            )),
            &ids,
        )
        .fetch_all(self.pool())
        .await?
        {
            let course = get_id(&r, "course_id")?;
            if !courses.contains_key(&course) {
                continue;
            }
            let packed = get_str(&r, "cells")?;
            for cell in packed.split('\u{1e}') {
                let corrupt = || crate::DbError::Corrupt(format!("ô điểm \"{cell}\""));
                let mut f = cell.splitn(5, '\u{1f}');
                let (Some(student), Some(term), Some(kind), Some(slot), Some(value)) =
                    (f.next(), f.next(), f.next(), f.next(), f.next())
                else {
                    return Err(corrupt());
                };
                let term: i64 = term.parse().map_err(|_| corrupt())?;
                let slot: i64 = slot.parse().map_err(|_| corrupt())?;
                cells
                    .entry((crate::parse_id(student)?, course))
                    .or_default()
                    .entry((term, kind.to_owned()))
                    .or_default()
                    .push((slot, value.to_owned()));
            }
        }
        // Each school's students in page order.
        let order: Vec<HashMap<Id, usize>> = out
            .iter()
            .map(|x| {
                x.students
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.id, i))
                    .collect()
            })
            .collect();
        for ((student, course), c) in &cells {
            let Some((i, meta)) = courses.get(course) else {
                continue;
            };
            if !order[*i].contains_key(student) {
                continue;
            }
            let (term_i, term_ii, year) = subject_results(meta.scheme, meta.periods, c);
            out[*i].results.push(ExResult {
                student_id: *student,
                subject_code: meta.code.clone(),
                subject_name: meta.name.clone(),
                scheme: meta.scheme,
                term_i,
                term_ii,
                year,
            });
        }
        for (i, x) in out.iter_mut().enumerate() {
            let o = &order[i];
            x.results.sort_by(|a, b| {
                o[&a.student_id]
                    .cmp(&o[&b.student_id])
                    .then_with(|| a.subject_code.cmp(&b.subject_code))
            });
            if year_of[i].is_none() {
                let p = problem(
                    &x.school,
                    format!("Trường {}", x.school.name),
                    String::new(),
                    "chưa thiết lập năm học hiện tại: chưa có lớp, học sinh và kết quả để gửi",
                    None,
                );
                x.problems.push(p);
            }
        }
        Ok(out)
    }

    /// The unit that manages each school of a subtree, by unit id.
    pub async fn units_by_id(&self) -> DbResult<HashMap<Id, Unit>> {
        Ok(self.units().await?.into_iter().map(|u| (u.id, u)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(v: &[(i64, &str, i64, &str)]) -> HashMap<(i64, String), Vec<(i64, String)>> {
        let mut m: HashMap<(i64, String), Vec<(i64, String)>> = HashMap::new();
        for (term, kind, slot, value) in v {
            m.entry((*term, (*kind).to_owned()))
                .or_default()
                .push((*slot, (*value).to_owned()));
        }
        m
    }

    #[test]
    fn scored_subject_term_and_year_averages() {
        // 70 periods a year: 3 regular scores required.
        let c = cells(&[
            (1, "TX", 1, "8"),
            (1, "TX", 2, "7"),
            (1, "TX", 3, "9"),
            (1, "GK", 1, "6"),
            (1, "CK", 1, "7"),
            (2, "TX", 1, "8"),
            (2, "TX", 2, "8"),
            (2, "TX", 3, "8"),
            (2, "GK", 1, "8"),
            (2, "CK", 1, "8"),
        ]);
        // (8+7+9 + 2·6 + 3·7) / 8 = 57/8 = 7.125 → 7,1; term II 8,0; year (7,1 + 16) / 3 = 7,7.
        assert_eq!(
            subject_results(Scheme::Scored, 70, &c),
            ("7,1".into(), "8,0".into(), "7,7".into())
        );
    }

    #[test]
    fn incomplete_terms_leave_the_cells_empty() {
        let c = cells(&[(1, "TX", 1, "8"), (1, "GK", 1, "6")]);
        assert_eq!(
            subject_results(Scheme::Scored, 70, &c),
            (String::new(), String::new(), String::new())
        );
    }

    #[test]
    fn comment_and_primary_subjects() {
        let c = cells(&[
            (2, "TX", 1, "Đ"),
            (2, "TX", 2, "Đ"),
            (2, "GK", 1, "Đ"),
            (2, "CK", 1, "Đ"),
        ]);
        let (t1, t2, y) = subject_results(Scheme::Comment, 35, &c);
        assert_eq!((t1.as_str(), t2.as_str(), y.as_str()), ("", "Đạt", "Đạt"));
        let p = cells(&[(1, "MCK", 1, "T")]);
        assert_eq!(subject_results(Scheme::Primary, 0, &p).0, "Hoàn thành tốt");
        assert_eq!(Scheme::of(3, "TOAN", "Toán"), Scheme::Primary);
        assert_eq!(Scheme::of(7, "GDTC", "Giáo dục thể chất"), Scheme::Comment);
        assert_eq!(Scheme::of(7, "TOAN", "Toán"), Scheme::Scored);
    }

    #[test]
    fn a_problem_reads_as_a_sentence() {
        let p = Problem {
            school_code: "X".into(),
            school_name: "Y".into(),
            subject: "Học sinh Nguyễn Văn A".into(),
            class_name: "6A1".into(),
            what: MISSING_ID.into(),
            student_id: None,
        };
        assert_eq!(
            p.sentence(),
            "Học sinh Nguyễn Văn A (6A1) chưa có mã định danh"
        );
    }

    #[test]
    fn a_packed_student_unpacks_or_is_refused_as_corrupt() {
        let id = domain::new_id();
        let one = format!(
            "{id}\u{1f}HS01\u{1f}\u{1f}Lê Thị Bé\u{1f}2013-09-05\u{1f}female\u{1f}Kinh\u{1f}studying"
        );
        let st = unpack_student(&one, "6A1", 6).unwrap();
        assert_eq!(st.id, id);
        assert_eq!(st.personal_id, None, "an empty identifier is missing");
        assert_eq!(st.birth_date, "05/09/2013");
        assert_eq!((st.class_name.as_str(), st.grade), ("6A1", 6));
        let with_id = one.replace("HS01\u{1f}\u{1f}", "HS01\u{1f}037213000001\u{1f}");
        assert_eq!(
            unpack_student(&with_id, "6A1", 6)
                .unwrap()
                .personal_id
                .as_deref(),
            Some("037213000001")
        );
        for bad in [
            one.replacen('\u{1f}', "", 1),
            format!("{one}\u{1f}extra"),
            one.replace("studying", "nope"),
        ] {
            assert!(unpack_student(&bad, "6A1", 6).is_err(), "{bad:?}");
        }
    }
}
