//! Students, their classes and their parents: the roster, imported from Excel and exported back.

use crate::accounts::{NewUser, insert_grant, insert_user};
use crate::audit::{AuditEntry, write as audit};
use crate::{
    Db, DbError, DbResult, get_code, get_date, get_id, get_opt_id, get_opt_str, get_str, iso,
    now_ms,
};
use domain::auth::Role;
use domain::people::{Gender, StudentStatus};
use domain::{Id, new_id};
use sqlx::any::AnyRow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use time::Date;

/// A student with the class of the requested year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Student {
    /// Id.
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// Account, if any.
    pub user_id: Option<Id>,
    /// Mã học sinh (immutable).
    pub code: String,
    /// Số định danh cá nhân.
    pub personal_id: Option<String>,
    /// Full name.
    pub full_name: String,
    /// Date of birth.
    pub birth_date: Date,
    /// Gender.
    pub gender: Gender,
    /// Ethnicity.
    pub ethnicity: String,
    /// Status (students are never deleted).
    pub status: StudentStatus,
    /// Class in the year asked for.
    pub class_id: Option<Id>,
    /// That class's name.
    pub class_name: Option<String>,
}

/// A parent or guardian linked to a student.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardian {
    /// Account.
    pub user_id: Id,
    /// Name.
    pub full_name: String,
    /// Phone.
    pub phone: Option<String>,
    /// "Cha", "Mẹ", …
    pub relation: String,
    /// Whether the account has a password yet (has logged in or been given one).
    pub activated: bool,
}

/// One student line to import (already validated).
#[derive(Debug, Clone)]
pub struct ImportStudent {
    /// Mã học sinh.
    pub code: String,
    /// Số định danh cá nhân.
    pub personal_id: Option<String>,
    /// Full name.
    pub full_name: String,
    /// Date of birth.
    pub birth_date: Date,
    /// Gender.
    pub gender: Gender,
    /// Ethnicity.
    pub ethnicity: String,
    /// Status.
    pub status: StudentStatus,
    /// Class name.
    pub class_name: String,
    /// Grade of that class.
    pub grade: i64,
    /// Parents: (name, normalized phone, relation).
    pub guardians: Vec<(Option<String>, String, String)>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Students created.
    pub created: usize,
    /// Students updated.
    pub updated: usize,
    /// Classes created.
    pub classes_created: usize,
    /// Parent accounts created.
    pub parents_created: usize,
    /// Parent–student links made.
    pub links_created: usize,
}

/// Filters for the student list.
#[derive(Debug, Clone, Default)]
pub struct StudentFilter {
    /// Only this class.
    pub class_id: Option<Id>,
    /// Only this status.
    pub status: Option<StudentStatus>,
    /// Accent-insensitive search in name and code.
    pub query: Option<String>,
}

const STUDENT_SELECT: &str = "SELECT st.id, st.school_id, st.user_id, st.code, st.personal_id, st.full_name, \
    st.birth_date, st.gender, st.ethnicity, st.status, e.class_id, c.name AS class_name \
    FROM students st LEFT JOIN enrollments e ON e.student_id = st.id AND e.year_id = $2 \
    LEFT JOIN classes c ON c.id = e.class_id";

fn student_from(r: &AnyRow) -> DbResult<Student> {
    Ok(Student {
        id: get_id(r, "id")?,
        school_id: get_id(r, "school_id")?,
        user_id: get_opt_id(r, "user_id")?,
        code: get_str(r, "code")?,
        personal_id: get_opt_str(r, "personal_id")?,
        full_name: get_str(r, "full_name")?,
        birth_date: get_date(r, "birth_date")?,
        gender: get_code(r, "gender")?,
        ethnicity: get_str(r, "ethnicity")?,
        status: get_code(r, "status")?,
        class_id: get_opt_id(r, "class_id")?,
        class_name: get_opt_str(r, "class_name")?,
    })
}

impl Db {
    /// Writes a validated roster in one transaction: students are matched by mã học sinh
    /// (created or updated, never duplicated), missing classes are created, each student is
    /// enrolled in the year, and parents are matched by phone (one account per phone, across
    /// schools). `progress` counts rows written, for the web UI's progress bar.
    pub async fn apply_roster(
        &self,
        school_id: Id,
        year_id: Id,
        rows: &[ImportStudent],
        actor: Option<Id>,
        progress: Option<&AtomicUsize>,
    ) -> DbResult<ImportSummary> {
        self.year(school_id, year_id).await?;
        let school_code = self.school(school_id).await?.code.to_lowercase();
        let sid = school_id.to_string();
        let yid = year_id.to_string();
        let mut summary = ImportSummary::default();
        let mut tx = self.pool().begin().await?;

        // Load what exists once, so each row costs only its own writes.
        let mut classes: HashMap<String, (String, i64)> = HashMap::new();
        for r in
            sqlx::query("SELECT id, name, grade FROM classes WHERE school_id = $1 AND year_id = $2")
                .bind(&sid)
                .bind(&yid)
                .fetch_all(&mut *tx)
                .await?
        {
            classes.insert(
                get_str(&r, "name")?,
                (get_str(&r, "id")?, crate::get_i64(&r, "grade")?),
            );
        }
        let mut existing: HashMap<String, (String, Option<String>)> = HashMap::new();
        for r in sqlx::query("SELECT id, code, user_id FROM students WHERE school_id = $1")
            .bind(&sid)
            .fetch_all(&mut *tx)
            .await?
        {
            existing.insert(
                get_str(&r, "code")?,
                (get_str(&r, "id")?, get_opt_str(&r, "user_id")?),
            );
        }
        let mut phones: HashMap<String, String> = HashMap::new();
        let mut parent_granted: std::collections::HashSet<String> =
            std::collections::HashSet::new();
        // Only the phones of this file: a province has hundreds of thousands of parents.
        let mut wanted: Vec<&str> = rows
            .iter()
            .flat_map(|r| r.guardians.iter().map(|(_, phone, _)| phone.as_str()))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        for chunk in wanted.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT u.id, u.phone, (SELECT COUNT(*) FROM role_grants g WHERE g.user_id = u.id AND g.role = 'parent') AS p \
                 FROM users u WHERE u.phone IN ({})",
                marks.join(",")
            );
            let mut q = sqlx::query(&sql);
            for phone in chunk {
                q = q.bind(*phone);
            }
            for r in q.fetch_all(&mut *tx).await? {
                let id = get_str(&r, "id")?;
                if crate::get_i64(&r, "p")? > 0 {
                    parent_granted.insert(id.clone());
                }
                phones.insert(get_str(&r, "phone")?, id);
            }
        }

        let now = now_ms();
        for (i, row) in rows.iter().enumerate() {
            let class_id = match classes.get(&row.class_name) {
                Some((id, grade)) => {
                    if *grade != row.grade {
                        return Err(DbError::Conflict(format!(
                            "Lớp {} đã có ở khối {}, không thể nhận học sinh {} vào khối {}",
                            row.class_name, grade, row.code, row.grade
                        )));
                    }
                    id.clone()
                }
                None => {
                    let id = new_id().to_string();
                    sqlx::query(
                        "INSERT INTO classes (id, school_id, year_id, name, grade, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&id)
                    .bind(&sid)
                    .bind(&yid)
                    .bind(&row.class_name)
                    .bind(row.grade)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    classes.insert(row.class_name.clone(), (id.clone(), row.grade));
                    summary.classes_created += 1;
                    id
                }
            };

            let folded = domain::text::fold(&row.full_name);
            let student_id = if let Some((id, user_id)) = existing.get(&row.code).cloned() {
                sqlx::query(
                    "UPDATE students SET personal_id = $3, full_name = $4, name_folded = $5, \
                     birth_date = $6, gender = $7, ethnicity = $8, status = $9, updated_at = $10 \
                     WHERE school_id = $1 AND id = $2",
                )
                .bind(&sid)
                .bind(&id)
                .bind(&row.personal_id)
                .bind(&row.full_name)
                .bind(&folded)
                .bind(iso(row.birth_date))
                .bind(row.gender.code())
                .bind(&row.ethnicity)
                .bind(row.status.code())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if let Some(uid) = user_id {
                    sqlx::query("UPDATE users SET full_name = $2 WHERE id = $1")
                        .bind(uid)
                        .bind(&row.full_name)
                        .execute(&mut *tx)
                        .await?;
                }
                summary.updated += 1;
                id
            } else {
                // The student's own account: username = mã học sinh, no password until the
                // school issues one (hashing thousands of passwords here would take minutes).
                // A student who moved here from another school on this server keeps their old
                // account there; the new one gets the school code appended.
                let mut username = row.code.to_lowercase();
                let taken = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE username = $1")
                    .bind(&username)
                    .fetch_one(&mut *tx)
                    .await?;
                if crate::get_i64(&taken, "n")? > 0 {
                    username = format!("{username}.{school_code}");
                }
                let user_id = insert_user(
                    &mut *tx,
                    &NewUser {
                        username,
                        full_name: row.full_name.clone(),
                        must_change_password: true,
                        ..NewUser::default()
                    },
                )
                .await?;
                insert_grant(&mut *tx, user_id, Role::Student, None, Some(school_id)).await?;
                let id = new_id().to_string();
                sqlx::query(
                    "INSERT INTO students (id, school_id, user_id, code, personal_id, full_name, name_folded, \
                     birth_date, gender, ethnicity, status, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
                )
                .bind(&id)
                .bind(&sid)
                .bind(user_id.to_string())
                .bind(&row.code)
                .bind(&row.personal_id)
                .bind(&row.full_name)
                .bind(&folded)
                .bind(iso(row.birth_date))
                .bind(row.gender.code())
                .bind(&row.ethnicity)
                .bind(row.status.code())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                existing.insert(row.code.clone(), (id.clone(), Some(user_id.to_string())));
                summary.created += 1;
                id
            };

            sqlx::query(
                "INSERT INTO enrollments (id, school_id, student_id, year_id, class_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (school_id, student_id, year_id) \
                 DO UPDATE SET class_id = excluded.class_id",
            )
            .bind(new_id().to_string())
            .bind(&sid)
            .bind(&student_id)
            .bind(&yid)
            .bind(&class_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;

            for (name, phone, relation) in &row.guardians {
                let user_id = match phones.get(phone) {
                    Some(id) => id.clone(),
                    None => {
                        let id = insert_user(
                            &mut *tx,
                            &NewUser {
                                username: phone.clone(),
                                full_name: name
                                    .clone()
                                    .unwrap_or_else(|| format!("Phụ huynh {}", row.full_name)),
                                phone: Some(phone.clone()),
                                must_change_password: true,
                                ..NewUser::default()
                            },
                        )
                        .await?
                        .to_string();
                        phones.insert(phone.clone(), id.clone());
                        summary.parents_created += 1;
                        id
                    }
                };
                if parent_granted.insert(user_id.clone()) {
                    insert_grant(
                        &mut *tx,
                        crate::parse_id(&user_id)?,
                        Role::Parent,
                        None,
                        None,
                    )
                    .await?;
                }
                let linked = sqlx::query(
                    "INSERT INTO guardianships (id, school_id, student_id, user_id, relation, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (school_id, student_id, user_id) \
                     DO UPDATE SET relation = excluded.relation",
                )
                .bind(new_id().to_string())
                .bind(&sid)
                .bind(&student_id)
                .bind(&user_id)
                .bind(relation)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                summary.links_created += linked as usize;
            }
            if let Some(p) = progress {
                p.store(i + 1, Ordering::Relaxed);
            }
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: actor,
                action: "roster.import",
                entity: "school",
                entity_id: Some(school_id),
                detail: format!(
                    "{} học sinh mới, {} cập nhật, {} lớp mới, {} tài khoản phụ huynh mới",
                    summary.created,
                    summary.updated,
                    summary.classes_created,
                    summary.parents_created
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// Students of a school with their class in `year_id`, in class-list order
    /// (class, then given name in Vietnamese collation).
    pub async fn students(
        &self,
        school_id: Id,
        year_id: Option<Id>,
        filter: &StudentFilter,
    ) -> DbResult<Vec<Student>> {
        let rows = sqlx::query(&format!(
            "{STUDENT_SELECT} WHERE st.school_id = $1 AND ($3 = '' OR e.class_id = $3) \
             AND ($4 = '' OR st.status = $4) AND ($5 = '' OR st.name_folded LIKE $5 OR LOWER(st.code) LIKE $5)"
        ))
        .bind(school_id.to_string())
        .bind(year_id.map(|y| y.to_string()).unwrap_or_default())
        .bind(filter.class_id.map(|c| c.to_string()).unwrap_or_default())
        .bind(filter.status.map(|s| s.code()).unwrap_or_default())
        .bind(
            filter
                .query
                .as_deref()
                .map(domain::text::fold)
                .filter(|q| !q.is_empty())
                .map(|q| format!("%{q}%"))
                .unwrap_or_default(),
        )
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<Student> = rows.iter().map(student_from).collect::<DbResult<_>>()?;
        out.sort_by_cached_key(|s| {
            (
                s.class_name.clone().unwrap_or_default(),
                domain::text::name_sort_key(&s.full_name),
            )
        });
        Ok(out)
    }

    /// One student of a school, with the class of `year_id`.
    pub async fn student(&self, school_id: Id, id: Id, year_id: Option<Id>) -> DbResult<Student> {
        let row = sqlx::query(&format!(
            "{STUDENT_SELECT} WHERE st.school_id = $1 AND st.id = $3"
        ))
        .bind(school_id.to_string())
        .bind(year_id.map(|y| y.to_string()).unwrap_or_default())
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        student_from(&row)
    }

    /// The student record behind a student account.
    pub async fn student_by_user(&self, user_id: Id) -> DbResult<Option<Student>> {
        let row = sqlx::query("SELECT school_id FROM students WHERE user_id = $1")
            .bind(user_id.to_string())
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let school_id = get_id(&row, "school_id")?;
        let year = self.current_year(school_id).await?.map(|y| y.id);
        let row = sqlx::query(&format!("{STUDENT_SELECT} WHERE st.user_id = $1"))
            .bind(user_id.to_string())
            .bind(year.map(|y| y.to_string()).unwrap_or_default())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(student_from).transpose()
    }

    /// The parents of a student.
    pub async fn guardians(&self, school_id: Id, student_id: Id) -> DbResult<Vec<Guardian>> {
        let rows = sqlx::query(
            "SELECT u.id, u.full_name, u.phone, g.relation, \
             CASE WHEN u.password_hash IS NULL THEN 0 ELSE 1 END AS activated \
             FROM guardianships g JOIN users u ON u.id = g.user_id \
             WHERE g.school_id = $1 AND g.student_id = $2 ORDER BY g.relation",
        )
        .bind(school_id.to_string())
        .bind(student_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Guardian {
                    user_id: get_id(r, "id")?,
                    full_name: get_str(r, "full_name")?,
                    phone: get_opt_str(r, "phone")?,
                    relation: get_str(r, "relation")?,
                    activated: crate::get_bool(r, "activated")?,
                })
            })
            .collect()
    }

    /// The children of a parent account, in every school, with their current classes.
    pub async fn children_of(&self, user_id: Id) -> DbResult<Vec<Student>> {
        let rows =
            sqlx::query("SELECT school_id, student_id FROM guardianships WHERE user_id = $1")
                .bind(user_id.to_string())
                .fetch_all(self.pool())
                .await?;
        let mut out = Vec::new();
        for r in rows {
            let school_id = get_id(&r, "school_id")?;
            let year = self.current_year(school_id).await?.map(|y| y.id);
            out.push(
                self.student(school_id, get_id(&r, "student_id")?, year)
                    .await?,
            );
        }
        Ok(out)
    }

    /// Changes a student's status (students are never deleted), audited.
    pub async fn set_student_status(
        &self,
        school_id: Id,
        id: Id,
        status: StudentStatus,
        actor: Option<Id>,
    ) -> DbResult<()> {
        let before = self.student(school_id, id, None).await?;
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE students SET status = $3, updated_at = $4 WHERE school_id = $1 AND id = $2",
        )
        .bind(school_id.to_string())
        .bind(id.to_string())
        .bind(status.code())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: actor,
                action: "student.status",
                entity: "student",
                entity_id: Some(id),
                detail: format!(
                    "{}: {} → {}",
                    before.code,
                    before.status.label(),
                    status.label()
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A student's editable details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentDetails {
    /// Full name.
    pub full_name: String,
    /// Số định danh cá nhân.
    pub personal_id: Option<String>,
    /// Date of birth.
    pub birth_date: Date,
    /// Gender.
    pub gender: Gender,
    /// Ethnicity.
    pub ethnicity: String,
}

impl Db {
    /// Corrects a student's details (the mã học sinh never changes), audited with before and
    /// after.
    pub async fn update_student(
        &self,
        school_id: Id,
        id: Id,
        d: &StudentDetails,
        actor: Option<Id>,
    ) -> DbResult<()> {
        let before = self.student(school_id, id, None).await?;
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE students SET full_name = $3, name_folded = $4, personal_id = $5, birth_date = $6, \
             gender = $7, ethnicity = $8, updated_at = $9 WHERE school_id = $1 AND id = $2",
        )
        .bind(school_id.to_string())
        .bind(id.to_string())
        .bind(&d.full_name)
        .bind(domain::text::fold(&d.full_name))
        .bind(&d.personal_id)
        .bind(iso(d.birth_date))
        .bind(d.gender.code())
        .bind(&d.ethnicity)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        if let Some(uid) = before.user_id {
            sqlx::query("UPDATE users SET full_name = $2 WHERE id = $1")
                .bind(uid.to_string())
                .bind(&d.full_name)
                .execute(&mut *tx)
                .await?;
        }
        let show = |name: &str, pid: &Option<String>, dob: Date, g: Gender, eth: &str| {
            format!(
                "{name}, {}, {}, {eth}, định danh {}",
                domain::people::format_vn_date(dob),
                g.label(),
                pid.as_deref().unwrap_or("—")
            )
        };
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: actor,
                action: "student.update",
                entity: "student",
                entity_id: Some(id),
                detail: format!(
                    "{}: {} → {}",
                    before.code,
                    show(
                        &before.full_name,
                        &before.personal_id,
                        before.birth_date,
                        before.gender,
                        &before.ethnicity
                    ),
                    show(
                        &d.full_name,
                        &d.personal_id,
                        d.birth_date,
                        d.gender,
                        &d.ethnicity
                    )
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves a student to another class of the same year, audited.
    pub async fn move_student(
        &self,
        school_id: Id,
        id: Id,
        class_id: Id,
        actor: Option<Id>,
    ) -> DbResult<()> {
        let class = self.class(school_id, class_id).await?;
        let before = self.student(school_id, id, Some(class.year_id)).await?;
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO enrollments (id, school_id, student_id, year_id, class_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (school_id, student_id, year_id) \
             DO UPDATE SET class_id = excluded.class_id",
        )
        .bind(new_id().to_string())
        .bind(school_id.to_string())
        .bind(id.to_string())
        .bind(class.year_id.to_string())
        .bind(class_id.to_string())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: actor,
                action: "student.move",
                entity: "student",
                entity_id: Some(id),
                detail: format!(
                    "{}: lớp {} → {}",
                    before.code,
                    before.class_name.as_deref().unwrap_or("—"),
                    class.name
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Db {
    /// The student of a school with this mã học sinh, if any.
    pub async fn student_by_code(&self, school_id: Id, code: &str) -> DbResult<Option<Student>> {
        let year = self.current_year(school_id).await?.map(|y| y.id);
        let row = sqlx::query(&format!(
            "{STUDENT_SELECT} WHERE st.school_id = $1 AND st.code = $3"
        ))
        .bind(school_id.to_string())
        .bind(year.map(|y| y.to_string()).unwrap_or_default())
        .bind(code)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(student_from).transpose()
    }
}
