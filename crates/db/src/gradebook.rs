//! The subject gradebook (sổ điểm): one cell per student, term, assessment kind and slot, every
//! change recorded in `grade_changes` (old → new, who, when, from where), and the principal's
//! term locks. Every write checks the lock inside its own transaction, so a save that races a
//! lock either lands before it or is refused.
//!
//! Kinds: `TX` (ĐĐGtx, slot 1…n), `GK`, `CK` (ĐĐGgk, ĐĐGck, slot 1) for Circular 22;
//! `MGK`, `MCK` (level T/H/C at mid and end of term) and `KTGK`, `KTCK` (periodic test scores)
//! for Circular 27. Values are stored as shown: `7,5`, `Đ`, `T`, `8`.
//!
//! Writes read the stored cells and then write, in one transaction that begins as a writer
//! ([`Db::begin_write`]), so two teachers saving the same gradebook at once wait for each other
//! instead of failing, and each change records the value the previous save left.

use crate::audit::{AuditEntry, write as audit};
use crate::family::notify_all;
use crate::learning::Course;
use crate::{
    Backend, Db, DbError, DbResult, Val, get_i64, get_id, get_opt_str, get_str, now_ms, parse_id,
};
use domain::{Id, new_id};
use std::collections::{BTreeMap, HashMap};

/// Kind code of a regular assessment (ĐĐGtx).
pub const KIND_TX: &str = "TX";
/// Kind code of the mid-term assessment (ĐĐGgk).
pub const KIND_GK: &str = "GK";
/// Kind code of the end-term assessment (ĐĐGck).
pub const KIND_CK: &str = "CK";
/// Kind code of a primary level at mid-term (Circular 27).
pub const KIND_MGK: &str = "MGK";
/// Kind code of a primary level at end of term (Circular 27).
pub const KIND_MCK: &str = "MCK";
/// Kind code of a primary mid-term test score (Circular 27).
pub const KIND_KTGK: &str = "KTGK";
/// Kind code of a primary end-term test score (Circular 27).
pub const KIND_KTCK: &str = "KTCK";

/// Every kind code the gradebook stores.
pub const KINDS: [&str; 7] = [
    KIND_TX, KIND_GK, KIND_CK, KIND_MGK, KIND_MCK, KIND_KTGK, KIND_KTCK,
];

/// The Vietnamese name of a cell column: `ĐĐGtx2`, `ĐĐGgk`, `Mức cuối kỳ`.
pub fn cell_label(kind: &str, slot: i64) -> String {
    match kind {
        KIND_TX => format!("ĐĐGtx{slot}"),
        KIND_GK => "ĐĐGgk".into(),
        KIND_CK => "ĐĐGck".into(),
        KIND_MGK => "Mức giữa kỳ".into(),
        KIND_MCK => "Mức cuối kỳ".into(),
        KIND_KTGK => "Điểm KT giữa kỳ".into(),
        KIND_KTCK => "Điểm KT cuối kỳ".into(),
        other => format!("{other}{slot}"),
    }
}

fn term_label(term: i64) -> &'static str {
    if term == 2 {
        "Học kỳ II"
    } else {
        "Học kỳ I"
    }
}

/// One stored cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradeEntry {
    /// Student record.
    pub student_id: Id,
    /// Kind code (`TX`, `GK`, …).
    pub kind: String,
    /// Slot within the kind, from 1.
    pub slot: i64,
    /// The value as shown (`7,5`, `Đ`).
    pub value: String,
    /// Where it came from: `manual`, `task:<id>`, `import`.
    pub source: String,
    /// Last change, unix ms.
    pub updated_at: i64,
}

/// A cell to write; `value: None` clears it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellWrite {
    /// Student record (must study in the course's class; the caller checks).
    pub student_id: Id,
    /// Kind code, one of [`KINDS`].
    pub kind: String,
    /// Slot, from 1.
    pub slot: i64,
    /// The new value as shown, or `None` to clear.
    pub value: Option<String>,
}

/// One recorded change of a cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradeChange {
    /// Student record.
    pub student_id: Id,
    /// Student's name.
    pub student_name: String,
    /// Term (1 or 2).
    pub term: i64,
    /// Kind code.
    pub kind: String,
    /// Slot.
    pub slot: i64,
    /// Before (none: empty).
    pub old_value: Option<String>,
    /// After (none: cleared).
    pub new_value: Option<String>,
    /// `manual`, `task:<id>` or `import`.
    pub source: String,
    /// Who changed it, by name.
    pub actor_name: String,
    /// When, unix ms.
    pub at: i64,
}

/// A locked term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermLock {
    /// Who locked it.
    pub locked_by: Id,
    /// Their name.
    pub locked_by_name: String,
    /// When, unix ms.
    pub locked_at: i64,
}

impl Db {
    /// Begins a transaction that reads and then writes, as a writer from its first statement.
    ///
    /// SQLite: a plain `BEGIN` is deferred. The transaction's first `SELECT` takes a read
    /// snapshot, and its first `INSERT` must then upgrade that snapshot to the write lock. If
    /// another connection committed in between, the snapshot is stale and SQLite refuses the
    /// upgrade at once with `SQLITE_BUSY` ("database is locked"): `busy_timeout` cannot help,
    /// since waiting would not make the snapshot current. `BEGIN IMMEDIATE` takes the write lock
    /// first (waiting for it up to `busy_timeout`), so what the transaction reads is what it
    /// writes over. Readers are not blocked (WAL).
    ///
    /// PostgreSQL: `key` (a course id) is locked for the transaction with an advisory lock, so
    /// writers of the same gradebook run one after the other and each sees the values the
    /// previous one committed (READ COMMITTED alone would let two saves read the same old value
    /// and record the same "before" in the history).
    pub(crate) async fn begin_write(
        &self,
        key: Id,
    ) -> DbResult<sqlx::Transaction<'static, sqlx::Any>> {
        match self.backend() {
            Backend::Sqlite => Ok(self.pool().begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => {
                let mut tx = self.pool().begin().await?;
                // The function returns `void`, which the Any driver cannot decode: select a
                // constant beside it.
                sqlx::query(
                    "SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) l",
                )
                .bind(key.to_string())
                .execute(&mut *tx)
                .await?;
                Ok(tx)
            }
        }
    }

    /// Every stored cell of a course in a term.
    pub async fn grade_entries(&self, course: &Course, term: i64) -> DbResult<Vec<GradeEntry>> {
        let rows = sqlx::query(
            "SELECT student_id, kind, slot, value, source, updated_at FROM grade_entries \
             WHERE school_id = $1 AND course_id = $2 AND term = $3 ORDER BY student_id, kind, slot",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .bind(term)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(GradeEntry {
                    student_id: get_id(r, "student_id")?,
                    kind: get_str(r, "kind")?,
                    slot: get_i64(r, "slot")?,
                    value: get_str(r, "value")?,
                    source: get_str(r, "source")?,
                    updated_at: get_i64(r, "updated_at")?,
                })
            })
            .collect()
    }

    /// The lock of a term of a school year, if it is locked.
    pub async fn term_lock(
        &self,
        school_id: Id,
        year_id: Id,
        term: i64,
    ) -> DbResult<Option<TermLock>> {
        let row = sqlx::query(
            "SELECT l.locked_by, COALESCE(u.full_name, '') AS name, l.locked_at FROM term_locks l \
             LEFT JOIN users u ON u.id = l.locked_by \
             WHERE l.school_id = $1 AND l.year_id = $2 AND l.term = $3",
        )
        .bind(school_id.to_string())
        .bind(year_id.to_string())
        .bind(term)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(TermLock {
                locked_by: get_id(&r, "locked_by")?,
                locked_by_name: get_str(&r, "name")?,
                locked_at: get_i64(&r, "locked_at")?,
            })
        })
        .transpose()
    }

    /// Locks (`lock = true`) or unlocks a term of a school year, audited. Idempotent.
    pub async fn set_term_lock(
        &self,
        school_id: Id,
        year_id: Id,
        term: i64,
        lock: bool,
        actor: Id,
    ) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        let changed = if lock {
            sqlx::query(
                "INSERT INTO term_locks (school_id, year_id, term, locked_by, locked_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (school_id, year_id, term) DO NOTHING",
            )
            .bind(school_id.to_string())
            .bind(year_id.to_string())
            .bind(term)
            .bind(actor.to_string())
            .bind(now_ms())
            .execute(&mut *tx)
            .await?
            .rows_affected()
        } else {
            sqlx::query(
                "DELETE FROM term_locks WHERE school_id = $1 AND year_id = $2 AND term = $3",
            )
            .bind(school_id.to_string())
            .bind(year_id.to_string())
            .bind(term)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        };
        if changed > 0 {
            audit(
                &mut *tx,
                &AuditEntry {
                    school_id: Some(school_id),
                    actor_id: Some(actor),
                    action: if lock { "term.lock" } else { "term.unlock" },
                    entity: "school_year",
                    entity_id: Some(year_id),
                    detail: term_label(term).to_owned(),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Writes many cells of a course in one term in one transaction: each cell that differs
    /// from the stored one is upserted (or deleted when cleared) with a `grade_changes` row;
    /// each student whose cells changed gets one notification. Refused with a Vietnamese
    /// [`DbError::Conflict`] when the term is locked for the course's year (checked inside the
    /// transaction). Returns the number of cells changed.
    pub async fn set_grades(
        &self,
        course: &Course,
        term: i64,
        cells: &[CellWrite],
        source: &str,
        actor: Id,
    ) -> DbResult<usize> {
        let now = now_ms();
        let mut tx = self.begin_write(course.id).await?;
        let locked: Option<i64> = sqlx::query_scalar(
            "SELECT term FROM term_locks WHERE school_id = $1 AND year_id = $2 AND term = $3",
        )
        .bind(course.school_id.to_string())
        .bind(course.year_id.to_string())
        .bind(term)
        .fetch_optional(&mut *tx)
        .await?;
        if locked.is_some() {
            return Err(DbError::Conflict(format!(
                "{} của năm học đã được khoá sổ điểm; không thể sửa điểm. Hãy liên hệ hiệu trưởng nếu cần mở khoá.",
                term_label(term)
            )));
        }
        let rows = sqlx::query(
            "SELECT student_id, kind, slot, value FROM grade_entries \
             WHERE school_id = $1 AND course_id = $2 AND term = $3",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .bind(term)
        .fetch_all(&mut *tx)
        .await?;
        let mut stored: HashMap<(Id, String, i64), String> = HashMap::new();
        for r in &rows {
            stored.insert(
                (
                    get_id(r, "student_id")?,
                    get_str(r, "kind")?,
                    get_i64(r, "slot")?,
                ),
                get_str(r, "value")?,
            );
        }
        let mut changes: Vec<Vec<Val>> = Vec::new();
        let mut per_student: BTreeMap<Id, Vec<String>> = BTreeMap::new();
        for c in cells {
            if !KINDS.contains(&c.kind.as_str()) || c.slot < 1 {
                return Err(DbError::Conflict(format!(
                    "Cột điểm {} không hợp lệ.",
                    cell_label(&c.kind, c.slot)
                )));
            }
            let key = (c.student_id, c.kind.clone(), c.slot);
            let old = stored.get(&key).cloned();
            let new = c.value.clone().filter(|v| !v.trim().is_empty());
            if old == new {
                continue;
            }
            match &new {
                Some(v) => {
                    sqlx::query(
                        "INSERT INTO grade_entries (school_id, course_id, student_id, term, kind, slot, value, source, updated_by, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                         ON CONFLICT (school_id, course_id, student_id, term, kind, slot) DO UPDATE SET \
                         value = excluded.value, source = excluded.source, updated_by = excluded.updated_by, \
                         updated_at = excluded.updated_at",
                    )
                    .bind(course.school_id.to_string())
                    .bind(course.id.to_string())
                    .bind(c.student_id.to_string())
                    .bind(term)
                    .bind(&c.kind)
                    .bind(c.slot)
                    .bind(v)
                    .bind(source)
                    .bind(actor.to_string())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query(
                        "DELETE FROM grade_entries WHERE school_id = $1 AND course_id = $2 \
                         AND student_id = $3 AND term = $4 AND kind = $5 AND slot = $6",
                    )
                    .bind(course.school_id.to_string())
                    .bind(course.id.to_string())
                    .bind(c.student_id.to_string())
                    .bind(term)
                    .bind(&c.kind)
                    .bind(c.slot)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            per_student.entry(c.student_id).or_default().push(format!(
                "{}: {} → {}",
                cell_label(&c.kind, c.slot),
                old.as_deref().unwrap_or("—"),
                new.as_deref().unwrap_or("—")
            ));
            changes.push(vec![
                new_id().to_string().into(),
                course.school_id.to_string().into(),
                course.id.to_string().into(),
                c.student_id.to_string().into(),
                term.into(),
                c.kind.clone().into(),
                c.slot.into(),
                old.clone().into(),
                new.clone().into(),
                source.into(),
                actor.to_string().into(),
                now.into(),
            ]);
            stored.insert(key, new.unwrap_or_default());
        }
        crate::insert_many(
            &mut tx,
            "INSERT INTO grade_changes (id, school_id, course_id, student_id, term, kind, slot, old_value, new_value, source, actor_id, at)",
            &changes,
        )
        .await?;
        let title = format!(
            "Cập nhật điểm môn {} – {}",
            course.subject_name,
            term_label(term)
        );
        let link = format!("/courses/{}/gradebook?term={term}", course.id);
        for (student, lines) in &per_student {
            let row: Option<(Option<String>, String)> = sqlx::query_as(
                "SELECT user_id, full_name FROM students WHERE id = $1 AND school_id = $2",
            )
            .bind(student.to_string())
            .bind(course.school_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            let (user, child_name) = row.unwrap_or_default();
            if let Some(u) = user {
                notify_all(
                    &mut tx,
                    &[parse_id(&u)?],
                    Some(course.school_id),
                    "grade",
                    &title,
                    &lines.join("; "),
                    &link,
                )
                .await?;
            }
            // Parents follow their child's grades (Decision 4725 1.3e); they read them on the
            // child's page.
            let parents =
                crate::learning::guardian_users(&mut tx, course.school_id, *student).await?;
            notify_all(
                &mut tx,
                &parents,
                Some(course.school_id),
                "grade",
                // A parent may follow several children: the notice says whose grades changed.
                &format!("{title} ({child_name})"),
                &lines.join("; "),
                &format!("/schools/{}/students/{student}", course.school_id),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(changes.len())
    }

    /// The recorded changes of a course's gradebook, newest first (at most `limit`).
    pub async fn grade_changes(&self, course: &Course, limit: i64) -> DbResult<Vec<GradeChange>> {
        let rows = sqlx::query(
            "SELECT g.student_id, st.full_name AS student_name, g.term, g.kind, g.slot, g.old_value, \
             g.new_value, g.source, COALESCE(u.full_name, '') AS actor_name, g.at \
             FROM grade_changes g JOIN students st ON st.id = g.student_id \
             LEFT JOIN users u ON u.id = g.actor_id \
             WHERE g.school_id = $1 AND g.course_id = $2 ORDER BY g.at DESC, g.id DESC LIMIT $3",
        )
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(GradeChange {
                    student_id: get_id(r, "student_id")?,
                    student_name: get_str(r, "student_name")?,
                    term: get_i64(r, "term")?,
                    kind: get_str(r, "kind")?,
                    slot: get_i64(r, "slot")?,
                    old_value: get_opt_str(r, "old_value")?,
                    new_value: get_opt_str(r, "new_value")?,
                    source: get_str(r, "source")?,
                    actor_name: get_str(r, "actor_name")?,
                    at: get_i64(r, "at")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(cell_label(KIND_TX, 2), "ĐĐGtx2");
        assert_eq!(cell_label(KIND_GK, 1), "ĐĐGgk");
        assert_eq!(cell_label(KIND_MCK, 1), "Mức cuối kỳ");
    }
}
