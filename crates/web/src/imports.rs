//! Roster imports between upload and write: the parsed file waits here for the user to confirm
//! the preview, then a background task writes it while the page shows progress.

use db::org::School;
use db::roster::{ImportStudent, ImportSummary};
use domain::Id;
use office::roster::{ParsedRoster, RowError};
use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a confirmed import stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Previewed, waiting for confirmation.
    Previewed,
    /// Being written.
    Running,
    /// Written.
    Done(ImportSummary),
    /// Refused by the database (nothing was written: one transaction).
    Failed(String),
}

/// One import in flight.
#[derive(Debug, Clone)]
pub struct PendingImport {
    /// School.
    pub school_id: Id,
    /// Who uploaded it (only they may confirm it).
    pub user_id: Id,
    /// The year it fills.
    pub year_id: Id,
    /// File name, for display.
    pub file_name: String,
    /// Validated rows.
    pub rows: Arc<Vec<ImportStudent>>,
    /// Rows written so far.
    pub progress: Arc<AtomicUsize>,
    /// State.
    pub state: Arc<Mutex<JobState>>,
    created: Instant,
}

/// Imports by token. Tokens are random, and each is bound to its uploader and school.
#[derive(Debug, Default)]
pub struct ImportStore {
    jobs: Mutex<HashMap<String, PendingImport>>,
}

impl ImportStore {
    const TTL: Duration = Duration::from_secs(3600);

    /// Keeps a previewed import; returns its token.
    pub fn insert(
        &self,
        school_id: Id,
        user_id: Id,
        year_id: Id,
        file_name: String,
        rows: Vec<ImportStudent>,
    ) -> String {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let mut jobs = self.jobs.lock().expect("import store lock");
        jobs.retain(|_, j| j.created.elapsed() < Self::TTL);
        jobs.insert(
            token.clone(),
            PendingImport {
                school_id,
                user_id,
                year_id,
                file_name,
                rows: Arc::new(rows),
                progress: Arc::new(AtomicUsize::new(0)),
                state: Arc::new(Mutex::new(JobState::Previewed)),
                created: Instant::now(),
            },
        );
        token
    }

    /// The import with this token, if it belongs to this user and school.
    pub fn get(&self, token: &str, school_id: Id, user_id: Id) -> Option<PendingImport> {
        let jobs = self.jobs.lock().expect("import store lock");
        jobs.get(token)
            .filter(|j| j.school_id == school_id && j.user_id == user_id)
            .cloned()
    }
}

/// Grade of a class from its name: the leading number ("10A1" → 10).
pub fn grade_from_class(name: &str) -> Option<u8> {
    let digits: String = name.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// Turns a parsed file into rows for the database, adding the errors only the school can
/// detect: a grade the school does not teach, a class given two grades.
pub fn prepare(school: &School, parsed: &ParsedRoster) -> (Vec<ImportStudent>, Vec<RowError>) {
    let mut errors = parsed.errors.clone();
    let mut out = Vec::with_capacity(parsed.rows.len());
    let mut class_grades: HashMap<&str, (u8, usize)> = HashMap::new();
    for r in &parsed.rows {
        let Some(grade) = r.grade.or_else(|| grade_from_class(&r.class_name)) else {
            errors.push(RowError {
                row: r.row,
                column: "Lớp".into(),
                message: format!(
                    "Không xác định được khối của lớp \"{}\"; hãy thêm cột \"Khối\"",
                    r.class_name
                ),
            });
            continue;
        };
        if !school.level.grades().contains(&grade) {
            errors.push(RowError {
                row: r.row,
                column: "Lớp".into(),
                message: format!(
                    "Lớp {} thuộc khối {grade}, trường {} không có khối này",
                    r.class_name,
                    school.level.label()
                ),
            });
            continue;
        }
        match class_grades.get(r.class_name.as_str()) {
            Some((g, first)) if *g != grade => {
                errors.push(RowError {
                    row: r.row,
                    column: "Khối".into(),
                    message: format!(
                        "Lớp {} ở dòng {first} là khối {g}, ở dòng này là khối {grade}",
                        r.class_name
                    ),
                });
                continue;
            }
            Some(_) => {}
            None => {
                class_grades.insert(&r.class_name, (grade, r.row));
            }
        }
        out.push(ImportStudent {
            code: r.code.as_str().to_owned(),
            personal_id: r.personal_id.as_ref().map(|p| p.as_str().to_owned()),
            full_name: r.full_name.clone(),
            birth_date: r.birth_date,
            gender: r.gender,
            ethnicity: r.ethnicity.clone(),
            status: r.status,
            class_name: r.class_name.clone(),
            grade: i64::from(grade),
            guardians: r
                .guardians
                .iter()
                .map(|g| {
                    (
                        g.name.clone(),
                        g.phone.as_str().to_owned(),
                        g.relation.clone(),
                    )
                })
                .collect(),
        });
    }
    errors.sort_by_key(|e| e.row);
    (out, errors)
}

/// The roster of a year as export rows.
pub async fn export_rows(
    db: &db::Db,
    school_id: Id,
    year_id: Id,
) -> Result<Vec<office::roster::ExportRow>, db::DbError> {
    let students = db
        .students(
            school_id,
            Some(year_id),
            &db::roster::StudentFilter::default(),
        )
        .await?;
    let mut out = Vec::with_capacity(students.len());
    for s in students {
        let guardians = db
            .guardians(school_id, s.id)
            .await?
            .into_iter()
            .map(|g| (Some(g.full_name), g.phone.unwrap_or_default(), g.relation))
            .collect();
        out.push(office::roster::ExportRow {
            class_name: s.class_name.unwrap_or_default(),
            code: s.code,
            personal_id: s.personal_id,
            full_name: s.full_name,
            birth_date: s.birth_date,
            gender: s.gender,
            ethnicity: s.ethnicity,
            status: s.status,
            guardians,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_come_from_class_names() {
        assert_eq!(grade_from_class("10A1"), Some(10));
        assert_eq!(grade_from_class("6A"), Some(6));
        assert_eq!(grade_from_class("A1"), None);
    }
}
