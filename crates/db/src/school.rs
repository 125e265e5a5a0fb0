//! A school's organisation for a year: the year and its calendar, subjects, classes, staff and
//! teaching assignments. Every query is filtered by `school_id`, so an id from another school in
//! a URL finds nothing.

use crate::accounts::{NewUser, insert_grant, insert_user};
use crate::audit::{AuditEntry, write as audit};
use crate::{
    Db, DbError, DbResult, conflict_on_unique, get_bool, get_date, get_i64, get_id, get_opt_id,
    get_opt_str, get_str, iso, now_ms,
};
use domain::auth::Role;
use domain::calendar::{YearDates, fixed_calendar};
use domain::{Id, new_id};
use sqlx::any::AnyRow;
use time::Date;

/// A school year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Year {
    /// Id.
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// "2025-2026".
    pub name: String,
    /// Term dates.
    pub dates: YearDates,
    /// The year shown by default.
    pub is_current: bool,
}

/// A day off or an event in a school's calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEntry {
    /// Id.
    pub id: Id,
    /// First day.
    pub start: Date,
    /// Last day.
    pub end: Date,
    /// Title.
    pub title: String,
    /// No lessons that day.
    pub day_off: bool,
}

/// A subject as taught in one grade of a school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Id.
    pub id: Id,
    /// Code ("TOAN").
    pub code: String,
    /// Name.
    pub name: String,
    /// Grade.
    pub grade: i64,
    /// Periods per year.
    pub periods_per_year: i64,
    /// Elective.
    pub elective: bool,
}

/// A class (lớp) of a year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    /// Id.
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// Year.
    pub year_id: Id,
    /// Name ("6A1").
    pub name: String,
    /// Grade (khối).
    pub grade: i64,
    /// Homeroom teacher (staff id).
    pub homeroom_staff_id: Option<Id>,
    /// Homeroom teacher's name.
    pub homeroom_name: Option<String>,
    /// Students enrolled.
    pub student_count: i64,
}

/// A member of staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    /// Staff id.
    pub id: Id,
    /// Account.
    pub user_id: Id,
    /// Login name.
    pub username: String,
    /// Full name.
    pub full_name: String,
    /// Position label ("Giáo viên", "Hiệu trưởng", …).
    pub position: String,
    /// Subject group (tổ chuyên môn).
    pub subject_group: String,
    /// Phone.
    pub phone: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// "active" or "left".
    pub status: String,
}

/// Who teaches which subject in which class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Id.
    pub id: Id,
    /// Class.
    pub class_id: Id,
    /// Class name.
    pub class_name: String,
    /// Subject.
    pub subject_id: Id,
    /// Subject name.
    pub subject_name: String,
    /// Periods per year of the subject.
    pub periods_per_year: i64,
    /// Teacher (staff id).
    pub staff_id: Id,
    /// Teacher's name.
    pub teacher_name: String,
}

fn year_from(r: &AnyRow) -> DbResult<Year> {
    Ok(Year {
        id: get_id(r, "id")?,
        school_id: get_id(r, "school_id")?,
        name: get_str(r, "name")?,
        dates: YearDates {
            start: get_date(r, "start_date")?,
            term1_end: get_date(r, "term1_end")?,
            term2_start: get_date(r, "term2_start")?,
            end: get_date(r, "end_date")?,
        },
        is_current: get_bool(r, "is_current")?,
    })
}

fn class_from(r: &AnyRow) -> DbResult<Class> {
    Ok(Class {
        id: get_id(r, "id")?,
        school_id: get_id(r, "school_id")?,
        year_id: get_id(r, "year_id")?,
        name: get_str(r, "name")?,
        grade: get_i64(r, "grade")?,
        homeroom_staff_id: get_opt_id(r, "homeroom_staff_id")?,
        homeroom_name: get_opt_str(r, "homeroom_name")?,
        student_count: get_i64(r, "student_count")?,
    })
}

fn staff_from(r: &AnyRow) -> DbResult<StaffMember> {
    Ok(StaffMember {
        id: get_id(r, "id")?,
        user_id: get_id(r, "user_id")?,
        username: get_str(r, "username")?,
        full_name: get_str(r, "full_name")?,
        position: get_str(r, "position")?,
        subject_group: get_str(r, "subject_group")?,
        phone: get_opt_str(r, "phone")?,
        email: get_opt_str(r, "email")?,
        status: get_str(r, "status")?,
    })
}

fn subject_from(r: &AnyRow) -> DbResult<Subject> {
    Ok(Subject {
        id: get_id(r, "id")?,
        code: get_str(r, "code")?,
        name: get_str(r, "name")?,
        grade: get_i64(r, "grade")?,
        periods_per_year: get_i64(r, "periods_per_year")?,
        elective: get_bool(r, "elective")?,
    })
}

const YEAR_COLS: &str =
    "id, school_id, name, start_date, term1_end, term2_start, end_date, is_current";
const CLASS_SELECT: &str = "SELECT c.id, c.school_id, c.year_id, c.name, c.grade, c.homeroom_staff_id, \
    s.full_name AS homeroom_name, \
    (SELECT COUNT(*) FROM enrollments e JOIN students st ON st.id = e.student_id \
     WHERE e.class_id = c.id AND st.status = 'studying') AS student_count \
    FROM classes c LEFT JOIN staff s ON s.id = c.homeroom_staff_id";
const STAFF_SELECT: &str = "SELECT s.id, s.user_id, u.username, s.full_name, s.position, s.subject_group, \
    u.phone, u.email, s.status FROM staff s JOIN users u ON u.id = s.user_id";

impl Db {
    /// Creates a school year with its fixed-date calendar; the first year becomes current.
    pub async fn create_year(
        &self,
        school_id: Id,
        dates: YearDates,
        actor: Option<Id>,
    ) -> DbResult<Year> {
        let id = new_id();
        let mut tx = self.pool().begin().await?;
        let has_current = sqlx::query(
            "SELECT COUNT(*) AS n FROM school_years WHERE school_id = $1 AND is_current = 1",
        )
        .bind(school_id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let first = get_i64(&has_current, "n")? == 0;
        sqlx::query(
            "INSERT INTO school_years (id, school_id, name, start_date, term1_end, term2_start, \
             end_date, is_current, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.to_string())
        .bind(school_id.to_string())
        .bind(dates.name())
        .bind(iso(dates.start))
        .bind(iso(dates.term1_end))
        .bind(iso(dates.term2_start))
        .bind(iso(dates.end))
        .bind(i64::from(first))
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_on_unique(e, &format!("Năm học {} đã có", dates.name())))?;
        for (day, title, day_off) in fixed_calendar(dates.start.year()) {
            sqlx::query(
                "INSERT INTO calendar_entries (id, school_id, year_id, start_date, end_date, title, \
                 day_off, created_at) VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
            )
            .bind(new_id().to_string())
            .bind(school_id.to_string())
            .bind(id.to_string())
            .bind(iso(day))
            .bind(title)
            .bind(i64::from(day_off))
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: actor,
                action: "year.create",
                entity: "school_year",
                entity_id: Some(id),
                detail: dates.name(),
            },
        )
        .await?;
        tx.commit().await?;
        self.year(school_id, id).await
    }

    /// Makes a year the school's current one.
    pub async fn set_current_year(&self, school_id: Id, year_id: Id) -> DbResult<()> {
        self.year(school_id, year_id).await?;
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE school_years SET is_current = CASE WHEN id = $2 THEN 1 ELSE 0 END WHERE school_id = $1")
            .bind(school_id.to_string())
            .bind(year_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Corrects the term dates of a year (its name stays), audited before → after.
    pub async fn update_year_dates(
        &self,
        school_id: Id,
        year_id: Id,
        dates: YearDates,
        actor: Option<Id>,
    ) -> DbResult<Year> {
        let before = self.year(school_id, year_id).await?;
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE school_years SET start_date = $3, term1_end = $4, term2_start = $5, \
             end_date = $6 WHERE school_id = $1 AND id = $2",
        )
        .bind(school_id.to_string())
        .bind(year_id.to_string())
        .bind(iso(dates.start))
        .bind(iso(dates.term1_end))
        .bind(iso(dates.term2_start))
        .bind(iso(dates.end))
        .execute(&mut *tx)
        .await?;
        let span = |d: &YearDates| format!("{}…{}", iso(d.start), iso(d.end));
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: actor,
                action: "year.dates",
                entity: "school_year",
                entity_id: Some(year_id),
                detail: format!("{} → {}", span(&before.dates), span(&dates)),
            },
        )
        .await?;
        tx.commit().await?;
        self.year(school_id, year_id).await
    }

    /// One year of a school.
    pub async fn year(&self, school_id: Id, id: Id) -> DbResult<Year> {
        let row = sqlx::query(&format!(
            "SELECT {YEAR_COLS} FROM school_years WHERE school_id = $1 AND id = $2"
        ))
        .bind(school_id.to_string())
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        year_from(&row)
    }

    /// The years of a school, newest first.
    pub async fn years(&self, school_id: Id) -> DbResult<Vec<Year>> {
        let rows = sqlx::query(&format!(
            "SELECT {YEAR_COLS} FROM school_years WHERE school_id = $1 ORDER BY start_date DESC"
        ))
        .bind(school_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(year_from).collect()
    }

    /// The current year of a school, if it has been set up.
    pub async fn current_year(&self, school_id: Id) -> DbResult<Option<Year>> {
        let row = sqlx::query(&format!(
            "SELECT {YEAR_COLS} FROM school_years WHERE school_id = $1 ORDER BY is_current DESC, start_date DESC LIMIT 1"
        ))
        .bind(school_id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(year_from).transpose()
    }

    /// The calendar of a year.
    pub async fn calendar(&self, school_id: Id, year_id: Id) -> DbResult<Vec<CalendarEntry>> {
        let rows = sqlx::query(
            "SELECT id, start_date, end_date, title, day_off FROM calendar_entries \
             WHERE school_id = $1 AND year_id = $2 ORDER BY start_date",
        )
        .bind(school_id.to_string())
        .bind(year_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CalendarEntry {
                    id: get_id(r, "id")?,
                    start: get_date(r, "start_date")?,
                    end: get_date(r, "end_date")?,
                    title: get_str(r, "title")?,
                    day_off: get_bool(r, "day_off")?,
                })
            })
            .collect()
    }

    /// Adds a day off or an event to a year's calendar.
    pub async fn add_calendar_entry(
        &self,
        school_id: Id,
        year_id: Id,
        start: Date,
        end: Date,
        title: &str,
        day_off: bool,
    ) -> DbResult<()> {
        let year = self.year(school_id, year_id).await?;
        if start > end || start < year.dates.start || end > year.dates.end {
            return Err(DbError::Conflict(
                "Ngày phải nằm trong năm học và ngày bắt đầu không sau ngày kết thúc".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO calendar_entries (id, school_id, year_id, start_date, end_date, title, \
             day_off, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(new_id().to_string())
        .bind(school_id.to_string())
        .bind(year_id.to_string())
        .bind(iso(start))
        .bind(iso(end))
        .bind(title)
        .bind(i64::from(day_off))
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Adds the 2018 curriculum subjects of the school's grades (idempotent).
    pub async fn seed_subjects(
        &self,
        school_id: Id,
        grades: std::ops::RangeInclusive<u8>,
    ) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        for s in domain::curriculum::catalogue()
            .into_iter()
            .filter(|s| grades.contains(&s.grade))
        {
            sqlx::query(
                "INSERT INTO subjects (id, school_id, code, name, grade, periods_per_year, elective, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (school_id, grade, code) DO NOTHING",
            )
            .bind(new_id().to_string())
            .bind(school_id.to_string())
            .bind(s.code)
            .bind(s.name)
            .bind(i64::from(s.grade))
            .bind(i64::from(s.periods))
            .bind(i64::from(s.elective))
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds or updates a school's own subject for a grade.
    pub async fn upsert_subject(
        &self,
        school_id: Id,
        code: &str,
        name: &str,
        grade: i64,
        periods: i64,
    ) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO subjects (id, school_id, code, name, grade, periods_per_year, elective, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7) ON CONFLICT (school_id, grade, code) \
             DO UPDATE SET name = excluded.name, periods_per_year = excluded.periods_per_year",
        )
        .bind(new_id().to_string())
        .bind(school_id.to_string())
        .bind(code)
        .bind(name)
        .bind(grade)
        .bind(periods)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The subjects of a school, by grade then name.
    pub async fn subjects(&self, school_id: Id) -> DbResult<Vec<Subject>> {
        let rows = sqlx::query(
            "SELECT id, code, name, grade, periods_per_year, elective FROM subjects \
             WHERE school_id = $1 ORDER BY grade, name",
        )
        .bind(school_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(subject_from).collect()
    }

    /// One subject of a school.
    pub async fn subject(&self, school_id: Id, id: Id) -> DbResult<Subject> {
        let row = sqlx::query(
            "SELECT id, code, name, grade, periods_per_year, elective FROM subjects WHERE school_id = $1 AND id = $2",
        )
        .bind(school_id.to_string())
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        subject_from(&row)
    }

    /// Creates a class in a year.
    pub async fn create_class(
        &self,
        school_id: Id,
        year_id: Id,
        name: &str,
        grade: i64,
        homeroom: Option<Id>,
    ) -> DbResult<Class> {
        self.year(school_id, year_id).await?;
        if let Some(h) = homeroom {
            self.staff_member(school_id, h).await?;
        }
        let id = new_id();
        sqlx::query(
            "INSERT INTO classes (id, school_id, year_id, name, grade, homeroom_staff_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(school_id.to_string())
        .bind(year_id.to_string())
        .bind(name)
        .bind(grade)
        .bind(homeroom.map(|h| h.to_string()))
        .bind(now_ms())
        .execute(self.pool())
        .await
        .map_err(|e| conflict_on_unique(e, &format!("Lớp {name} đã có trong năm học này")))?;
        self.class(school_id, id).await
    }

    /// Sets or clears a class's homeroom teacher.
    pub async fn set_homeroom(
        &self,
        school_id: Id,
        class_id: Id,
        staff_id: Option<Id>,
    ) -> DbResult<()> {
        if let Some(h) = staff_id {
            self.staff_member(school_id, h).await?;
        }
        let n = sqlx::query(
            "UPDATE classes SET homeroom_staff_id = $3 WHERE school_id = $1 AND id = $2",
        )
        .bind(school_id.to_string())
        .bind(class_id.to_string())
        .bind(staff_id.map(|h| h.to_string()))
        .execute(self.pool())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(DbError::NotFound);
        }
        Ok(())
    }

    /// One class of a school.
    pub async fn class(&self, school_id: Id, id: Id) -> DbResult<Class> {
        let row = sqlx::query(&format!(
            "{CLASS_SELECT} WHERE c.school_id = $1 AND c.id = $2"
        ))
        .bind(school_id.to_string())
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        class_from(&row)
    }

    /// The classes of a year, by grade and name.
    pub async fn classes(&self, school_id: Id, year_id: Id) -> DbResult<Vec<Class>> {
        let rows = sqlx::query(&format!(
            "{CLASS_SELECT} WHERE c.school_id = $1 AND c.year_id = $2 ORDER BY c.grade, c.name"
        ))
        .bind(school_id.to_string())
        .bind(year_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(class_from).collect()
    }

    /// Creates an account with a staff role at a school, in one transaction.
    pub async fn create_staff(
        &self,
        school_id: Id,
        user: &NewUser,
        position: &str,
        subject_group: &str,
        role: Role,
        actor: Option<Id>,
    ) -> DbResult<StaffMember> {
        if !role.is_school_role() || role == Role::Student {
            return Err(DbError::Conflict(
                "Vai trò không phải vai trò cán bộ của trường".into(),
            ));
        }
        let mut tx = self.pool().begin().await?;
        let user_id = insert_user(&mut *tx, user).await?;
        insert_grant(&mut *tx, user_id, role, None, Some(school_id)).await?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO staff (id, school_id, user_id, full_name, position, subject_group, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(school_id.to_string())
        .bind(user_id.to_string())
        .bind(&user.full_name)
        .bind(position)
        .bind(subject_group)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: actor,
                action: "staff.create",
                entity: "staff",
                entity_id: Some(id),
                detail: format!("{} ({})", user.full_name, role.label()),
            },
        )
        .await?;
        tx.commit().await?;
        self.staff_member(school_id, id).await
    }

    /// Adds a role at the school to an existing staff member (a teacher who is also a group head).
    pub async fn add_staff_role(&self, school_id: Id, staff_id: Id, role: Role) -> DbResult<()> {
        let s = self.staff_member(school_id, staff_id).await?;
        self.grant_role(s.user_id, role, None, Some(school_id))
            .await
    }

    /// The staff of a school, by name.
    pub async fn staff(&self, school_id: Id) -> DbResult<Vec<StaffMember>> {
        let rows = sqlx::query(&format!("{STAFF_SELECT} WHERE s.school_id = $1"))
            .bind(school_id.to_string())
            .fetch_all(self.pool())
            .await?;
        let mut out: Vec<StaffMember> = rows.iter().map(staff_from).collect::<DbResult<_>>()?;
        out.sort_by_cached_key(|s| domain::text::name_sort_key(&s.full_name));
        Ok(out)
    }

    /// One staff member of a school.
    pub async fn staff_member(&self, school_id: Id, id: Id) -> DbResult<StaffMember> {
        let row = sqlx::query(&format!(
            "{STAFF_SELECT} WHERE s.school_id = $1 AND s.id = $2"
        ))
        .bind(school_id.to_string())
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        staff_from(&row)
    }

    /// The staff record of a user at a school.
    pub async fn staff_by_user(&self, school_id: Id, user_id: Id) -> DbResult<Option<StaffMember>> {
        let row = sqlx::query(&format!(
            "{STAFF_SELECT} WHERE s.school_id = $1 AND s.user_id = $2"
        ))
        .bind(school_id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(staff_from).transpose()
    }

    /// Assigns (or reassigns) the teacher of a subject in a class.
    pub async fn assign(
        &self,
        school_id: Id,
        class_id: Id,
        subject_id: Id,
        staff_id: Id,
        actor: Option<Id>,
    ) -> DbResult<()> {
        let class = self.class(school_id, class_id).await?;
        let subject = self.subject(school_id, subject_id).await?;
        let teacher = self.staff_member(school_id, staff_id).await?;
        if subject.grade != class.grade {
            return Err(DbError::Conflict(format!(
                "Môn {} thuộc khối {}, không dạy ở lớp {} (khối {})",
                subject.name, subject.grade, class.name, class.grade
            )));
        }
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO teaching_assignments (id, school_id, class_id, subject_id, staff_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (school_id, class_id, subject_id) \
             DO UPDATE SET staff_id = excluded.staff_id",
        )
        .bind(new_id().to_string())
        .bind(school_id.to_string())
        .bind(class_id.to_string())
        .bind(subject_id.to_string())
        .bind(staff_id.to_string())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: actor,
                action: "assignment.set",
                entity: "class",
                entity_id: Some(class_id),
                detail: format!("{} – {}: {}", class.name, subject.name, teacher.full_name),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a teaching assignment.
    pub async fn unassign(&self, school_id: Id, assignment_id: Id) -> DbResult<()> {
        let n = sqlx::query("DELETE FROM teaching_assignments WHERE school_id = $1 AND id = $2")
            .bind(school_id.to_string())
            .bind(assignment_id.to_string())
            .execute(self.pool())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(DbError::NotFound);
        }
        Ok(())
    }

    /// The teaching assignments of a year (optionally of one teacher).
    pub async fn assignments(
        &self,
        school_id: Id,
        year_id: Id,
        staff_id: Option<Id>,
    ) -> DbResult<Vec<Assignment>> {
        let rows = sqlx::query(
            "SELECT a.id, a.class_id, c.name AS class_name, a.subject_id, sj.name AS subject_name, \
             sj.periods_per_year, a.staff_id, st.full_name AS teacher_name \
             FROM teaching_assignments a JOIN classes c ON c.id = a.class_id \
             JOIN subjects sj ON sj.id = a.subject_id JOIN staff st ON st.id = a.staff_id \
             WHERE a.school_id = $1 AND c.year_id = $2 AND ($3 = '' OR a.staff_id = $3) \
             ORDER BY c.grade, c.name, sj.name",
        )
        .bind(school_id.to_string())
        .bind(year_id.to_string())
        .bind(staff_id.map(|s| s.to_string()).unwrap_or_default())
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<Assignment> = rows
            .iter()
            .map(|r| {
                Ok(Assignment {
                    id: get_id(r, "id")?,
                    class_id: get_id(r, "class_id")?,
                    class_name: get_str(r, "class_name")?,
                    subject_id: get_id(r, "subject_id")?,
                    subject_name: get_str(r, "subject_name")?,
                    periods_per_year: get_i64(r, "periods_per_year")?,
                    staff_id: get_id(r, "staff_id")?,
                    teacher_name: get_str(r, "teacher_name")?,
                })
            })
            .collect::<DbResult<_>>()?;
        // SQL orders bytes ("Âm nhạc" after "Văn"); class lists follow Vietnamese order.
        let mut class_rank: std::collections::HashMap<Id, usize> = std::collections::HashMap::new();
        for a in &out {
            let next = class_rank.len();
            class_rank.entry(a.class_id).or_insert(next);
        }
        out.sort_by_cached_key(|a| {
            (
                class_rank[&a.class_id],
                domain::text::collation_key(&a.subject_name),
            )
        });
        Ok(out)
    }

    /// Counts for a school's dashboard: (classes, students studying, staff) in a year.
    pub async fn school_counts(
        &self,
        school_id: Id,
        year_id: Option<Id>,
    ) -> DbResult<(i64, i64, i64)> {
        let y = year_id.map(|y| y.to_string()).unwrap_or_default();
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM classes WHERE school_id = $1 AND year_id = $2) AS classes, \
             (SELECT COUNT(*) FROM students WHERE school_id = $1 AND status = 'studying') AS students, \
             (SELECT COUNT(*) FROM staff WHERE school_id = $1 AND status = 'active') AS staff",
        )
        .bind(school_id.to_string())
        .bind(y)
        .fetch_one(self.pool())
        .await?;
        Ok((
            get_i64(&row, "classes")?,
            get_i64(&row, "students")?,
            get_i64(&row, "staff")?,
        ))
    }
}

impl Db {
    /// How many teaching assignments a year has (the set-up checklist).
    pub async fn assignment_count(&self, school_id: Id, year_id: Id) -> DbResult<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM teaching_assignments a JOIN classes c ON c.id = a.class_id \
             WHERE a.school_id = $1 AND c.year_id = $2",
        )
        .bind(school_id.to_string())
        .bind(year_id.to_string())
        .fetch_one(self.pool())
        .await?;
        get_i64(&row, "n")
    }
}

impl Db {
    /// Marks a member of staff as having left (their account is disabled, never deleted) or
    /// back at work, audited.
    pub async fn set_staff_active(
        &self,
        school_id: Id,
        staff_id: Id,
        active: bool,
        actor: Option<Id>,
    ) -> DbResult<StaffMember> {
        let member = self.staff_member(school_id, staff_id).await?;
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE staff SET status = $3 WHERE school_id = $1 AND id = $2")
            .bind(school_id.to_string())
            .bind(staff_id.to_string())
            .bind(if active { "active" } else { "left" })
            .execute(&mut *tx)
            .await?;
        // A person may also work at another school; only disable the account when this was
        // their last active post.
        let others = sqlx::query(
            "SELECT COUNT(*) AS n FROM staff WHERE user_id = $1 AND status = 'active' AND id <> $2",
        )
        .bind(member.user_id.to_string())
        .bind(staff_id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        if active || get_i64(&others, "n")? == 0 {
            sqlx::query("UPDATE users SET status = $2 WHERE id = $1")
                .bind(member.user_id.to_string())
                .bind(if active { "active" } else { "disabled" })
                .execute(&mut *tx)
                .await?;
        }
        if !active {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(member.user_id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: actor,
                action: if active {
                    "staff.reactivate"
                } else {
                    "staff.leave"
                },
                entity: "staff",
                entity_id: Some(staff_id),
                detail: member.full_name.clone(),
            },
        )
        .await?;
        tx.commit().await?;
        self.staff_member(school_id, staff_id).await
    }
}

impl Db {
    /// The school a class belongs to.
    pub async fn class_school(&self, class_id: Id) -> DbResult<Id> {
        let row = sqlx::query("SELECT school_id FROM classes WHERE id = $1")
            .bind(class_id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(DbError::NotFound)?;
        get_id(&row, "school_id")
    }
}
