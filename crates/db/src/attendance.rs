//! School-day attendance (điểm danh hằng ngày): the homeroom teacher marks, per class and day,
//! who came late or was absent with or without permission; everyone else is present. A save
//! is idempotent (the same marks twice change nothing), every change after the first save is
//! audited with before and after, and parents hear at once when their child is marked absent.

use crate::audit::{AuditEntry, write as audit};
use crate::family::notify_all;
use crate::{Db, DbError, DbResult, get_id, get_str, iso, now_ms};
use domain::{Id, new_id};
use sqlx::Row;
use std::collections::HashMap;
use time::Date;

/// One student's mark for a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mark {
    /// Có mặt.
    #[default]
    Present,
    /// Đi muộn.
    Late,
    /// Vắng có phép.
    Excused,
    /// Vắng không phép.
    Unexcused,
}

impl Mark {
    /// Every mark, in the order the form offers them.
    pub const ALL: [Mark; 4] = [Mark::Present, Mark::Late, Mark::Excused, Mark::Unexcused];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Mark::Present => "present",
            Mark::Late => "late",
            Mark::Excused => "excused",
            Mark::Unexcused => "unexcused",
        }
    }

    /// From the stored code.
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.code() == s)
    }

    /// The Vietnamese name, as the audit trail and notifications write it.
    pub fn label(self) -> &'static str {
        match self {
            Mark::Present => "có mặt",
            Mark::Late => "đi muộn",
            Mark::Excused => "vắng có phép",
            Mark::Unexcused => "vắng không phép",
        }
    }

    /// Absent, with or without permission.
    pub fn is_absent(self) -> bool {
        matches!(self, Mark::Excused | Mark::Unexcused)
    }
}

/// One line of a class's attendance sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetLine {
    /// The student.
    pub student_id: Id,
    /// Name.
    pub full_name: String,
    /// Student code.
    pub code: String,
    /// The mark (present when the day was not taken yet).
    pub mark: Mark,
    /// Reason or remark.
    pub note: String,
}

/// Who took a day's attendance and when it last changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// Name of the person who took it first.
    pub taken_by: String,
    /// When it was first taken (unix ms).
    pub taken_at: i64,
    /// Name of the person who last changed it.
    pub updated_by: String,
    /// When it last changed (unix ms).
    pub updated_at: i64,
}

/// A class's attendance sheet for one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// Set once the day was taken.
    pub taken: Option<Taken>,
    /// Every studying student of the class, by name.
    pub lines: Vec<SheetLine>,
}

/// Counts of marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Present.
    pub present: i64,
    /// Late.
    pub late: i64,
    /// Absent with permission.
    pub excused: i64,
    /// Absent without permission.
    pub unexcused: i64,
}

impl Tally {
    /// Adds one mark.
    pub fn add(&mut self, m: Mark) {
        match m {
            Mark::Present => self.present += 1,
            Mark::Late => self.late += 1,
            Mark::Excused => self.excused += 1,
            Mark::Unexcused => self.unexcused += 1,
        }
    }

    /// Every mark counted.
    pub fn total(&self) -> i64 {
        self.present + self.late + self.excused + self.unexcused
    }
}

impl Sheet {
    /// The counts of the sheet.
    pub fn tally(&self) -> Tally {
        let mut t = Tally::default();
        for l in &self.lines {
            t.add(l.mark);
        }
        t
    }
}

/// A mark to save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkInput {
    /// The student.
    pub student_id: Id,
    /// The mark.
    pub mark: Mark,
    /// Reason or remark (at most 200 characters, checked by the caller).
    pub note: String,
}

/// What a save did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Saved {
    /// The day had not been taken before.
    pub first: bool,
    /// Marks that changed (all of them on the first save).
    pub changed: usize,
    /// Parents told (absences and corrections).
    pub notified: usize,
}

/// One class of a school's day summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassDay {
    /// The class.
    pub class_id: Id,
    /// Its name.
    pub class_name: String,
    /// Studying students.
    pub students: i64,
    /// Whether the day was taken.
    pub taken: bool,
    /// The marks.
    pub tally: Tally,
}

/// A day a student was not simply present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentDay {
    /// The day.
    pub day: Date,
    /// The mark.
    pub mark: Mark,
    /// Reason or remark.
    pub note: String,
}

/// A student's school-day attendance over a period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StudentRecord {
    /// Days taken, by mark.
    pub tally: Tally,
    /// The latest days late or absent, newest first.
    pub recent: Vec<StudentDay>,
}

/// A class's marks over a period, for the month sheet (sổ theo dõi chuyên cần).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Period {
    /// The days taken in the period, in order.
    pub taken: Vec<Date>,
    /// Every studying student of the class: (id, name, code), by name.
    pub students: Vec<(Id, String, String)>,
    /// The marks other than present: (student, day) → (mark, note).
    pub marks: HashMap<(Id, Date), (Mark, String)>,
}

/// A past day of attendance to load as taken (demo data): the marks other than present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastDay {
    /// The day.
    pub day: Date,
    /// When it was taken (unix ms).
    pub taken_at: i64,
    /// Students late or absent; everyone else of the class is present.
    pub marks: Vec<MarkInput>,
}

fn parse_day(s: &str) -> DbResult<Date> {
    Date::parse(s, &time::format_description::well_known::Iso8601::DATE)
        .map_err(|_| DbError::Corrupt(format!("day: {s}")))
}

fn mark_of(s: &str) -> DbResult<Mark> {
    Mark::from_code(s).ok_or_else(|| DbError::Corrupt(format!("attendance status: {s}")))
}

/// `dd/mm/yyyy`.
fn vn(d: Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

impl Db {
    /// The studying students of a class: (id, name, code), by name.
    async fn class_roster(
        &self,
        school_id: Id,
        class_id: Id,
    ) -> DbResult<Vec<(Id, String, String)>> {
        let rows = sqlx::query(
            "SELECT st.id, st.full_name, st.code FROM enrollments e JOIN students st ON st.id = e.student_id \
             JOIN classes c ON c.id = e.class_id AND c.year_id = e.year_id \
             WHERE e.school_id = $1 AND e.class_id = $2 AND st.status = 'studying'",
        )
        .bind(school_id.to_string())
        .bind(class_id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok((
                    get_id(r, "id")?,
                    get_str(r, "full_name")?,
                    get_str(r, "code")?,
                ))
            })
            .collect::<DbResult<Vec<_>>>()?;
        out.sort_by_cached_key(|(_, n, _)| domain::text::name_sort_key(n));
        Ok(out)
    }

    /// A class's sheet for a day: every studying student with their mark (present when the
    /// day was not taken or the student joined the class since).
    pub async fn attendance_sheet(
        &self,
        school_id: Id,
        class_id: Id,
        day: Date,
    ) -> DbResult<Sheet> {
        let head = sqlx::query(
            "SELECT d.id, d.taken_at, d.updated_at, t.full_name AS taken_name, u.full_name AS updated_name \
             FROM attendance_days d JOIN users t ON t.id = d.taken_by JOIN users u ON u.id = d.updated_by \
             WHERE d.school_id = $1 AND d.class_id = $2 AND d.day = $3",
        )
        .bind(school_id.to_string())
        .bind(class_id.to_string())
        .bind(iso(day))
        .fetch_optional(self.pool())
        .await?;
        let mut marks: HashMap<Id, (Mark, String)> = HashMap::new();
        let taken = match head {
            Some(h) => {
                let rows = sqlx::query(
                    "SELECT student_id, status, note FROM attendance_marks WHERE school_id = $1 AND day_id = $2",
                )
                .bind(school_id.to_string())
                .bind(get_str(&h, "id")?)
                .fetch_all(self.pool())
                .await?;
                for r in &rows {
                    marks.insert(
                        get_id(r, "student_id")?,
                        (mark_of(&get_str(r, "status")?)?, get_str(r, "note")?),
                    );
                }
                Some(Taken {
                    taken_by: get_str(&h, "taken_name")?,
                    taken_at: crate::get_i64(&h, "taken_at")?,
                    updated_by: get_str(&h, "updated_name")?,
                    updated_at: crate::get_i64(&h, "updated_at")?,
                })
            }
            None => None,
        };
        let lines = self
            .class_roster(school_id, class_id)
            .await?
            .into_iter()
            .map(|(id, full_name, code)| {
                let (mark, note) = marks.remove(&id).unwrap_or_default();
                SheetLine {
                    student_id: id,
                    full_name,
                    code,
                    mark,
                    note,
                }
            })
            .collect();
        Ok(Sheet { taken, lines })
    }

    /// Saves a class's attendance for a day in one transaction. Students left out of `marks`
    /// are present. Marks that did not change are not written again; on a later save, each
    /// change is audited (before → after). Parents of a student newly marked absent get an
    /// inbox item and its delivery (push, email, Zalo); parents of a student no longer
    /// absent are told of the correction. A student who is not studying in the class is
    /// refused and nothing is saved.
    pub async fn save_attendance(
        &self,
        school_id: Id,
        class_id: Id,
        day: Date,
        marks: &[MarkInput],
        actor: Id,
    ) -> DbResult<Saved> {
        let class = self.class(school_id, class_id).await?;
        let roster = self.class_roster(school_id, class_id).await?;
        let mut wanted: HashMap<Id, (Mark, String)> = roster
            .iter()
            .map(|(id, _, _)| (*id, (Mark::Present, String::new())))
            .collect();
        for m in marks {
            match wanted.get_mut(&m.student_id) {
                Some(w) => *w = (m.mark, m.note.trim().to_owned()),
                None => {
                    return Err(DbError::Conflict(format!(
                        "Có học sinh không học lớp {} nên không điểm danh được. Hãy tải lại trang.",
                        class.name
                    )));
                }
            }
        }
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let existing = sqlx::query(
            "SELECT id FROM attendance_days WHERE school_id = $1 AND class_id = $2 AND day = $3",
        )
        .bind(school_id.to_string())
        .bind(class_id.to_string())
        .bind(iso(day))
        .fetch_optional(&mut *tx)
        .await?;
        let (day_id, first) = match existing {
            Some(r) => (get_id(&r, "id")?, false),
            None => {
                let id = new_id();
                // Two saves racing for the same new day: the unique index lets one win; the
                // other is told to reload rather than overwrite blindly.
                sqlx::query(
                    "INSERT INTO attendance_days (id, school_id, class_id, day, taken_by, taken_at, updated_by, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $5, $6)",
                )
                .bind(id.to_string())
                .bind(school_id.to_string())
                .bind(class_id.to_string())
                .bind(iso(day))
                .bind(actor.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    crate::conflict_on_unique(
                        e,
                        "Điểm danh ngày này vừa được lưu ở nơi khác. Hãy tải lại trang rồi lưu lại.",
                    )
                })?;
                (id, true)
            }
        };
        let rows = sqlx::query(
            "SELECT student_id, status, note FROM attendance_marks WHERE school_id = $1 AND day_id = $2",
        )
        .bind(school_id.to_string())
        .bind(day_id.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut stored: HashMap<Id, (Mark, String)> = HashMap::new();
        for r in &rows {
            stored.insert(
                get_id(r, "student_id")?,
                (mark_of(&get_str(r, "status")?)?, get_str(r, "note")?),
            );
        }
        let mut saved = Saved {
            first,
            ..Saved::default()
        };
        let mut changes = Vec::new();
        let mut tally = Tally::default();
        for (student, name, _) in &roster {
            let (mark, note) = wanted.remove(student).unwrap_or_default();
            tally.add(mark);
            let before = stored.get(student).cloned();
            if before.as_ref() == Some(&(mark, note.clone())) {
                continue;
            }
            sqlx::query(
                "INSERT INTO attendance_marks (id, school_id, day_id, student_id, day, status, note, updated_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (school_id, day_id, student_id) DO UPDATE SET status = excluded.status, \
                 note = excluded.note, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            )
            .bind(new_id().to_string())
            .bind(school_id.to_string())
            .bind(day_id.to_string())
            .bind(student.to_string())
            .bind(iso(day))
            .bind(mark.code())
            .bind(&note)
            .bind(actor.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            saved.changed += 1;
            let was = before.as_ref().map(|(m, _)| *m);
            if before.is_some() {
                changes.push(format!(
                    "{name}: {} → {}{}",
                    was.unwrap_or_default().label(),
                    mark.label(),
                    if note.is_empty() {
                        String::new()
                    } else {
                        format!(" ({note})")
                    }
                ));
            }
            // Tell the family: a new absence, or an absence taken back.
            let was_absent = was.is_some_and(Mark::is_absent);
            let message = if mark.is_absent() && !was_absent {
                Some((
                    format!("Điểm danh: {name} {} ngày {}", mark.label(), vn(day)),
                    format!(
                        "Lớp {}.{} Nếu có gì chưa đúng, xin nhắn cho giáo viên chủ nhiệm.",
                        class.name,
                        if note.is_empty() {
                            String::new()
                        } else {
                            format!(" Ghi chú: {note}.")
                        }
                    ),
                ))
            } else if was_absent && !mark.is_absent() {
                Some((
                    format!("Sửa điểm danh: {name} {} ngày {}", mark.label(), vn(day)),
                    format!(
                        "Lớp {}. Giáo viên đã sửa điểm danh, con không bị tính vắng.",
                        class.name
                    ),
                ))
            } else {
                None
            };
            if let Some((title, body)) = message {
                let parents = crate::learning::guardian_users(&mut tx, school_id, *student).await?;
                saved.notified += parents.len();
                notify_all(
                    &mut tx,
                    &parents,
                    Some(school_id),
                    "attendance",
                    &title,
                    &body,
                    &format!("/schools/{school_id}/students/{student}#attendance"),
                )
                .await?;
            }
        }
        if saved.changed == 0 && !first {
            // Nothing new: leave the day, its audit trail and the families alone.
            tx.rollback().await?;
            return Ok(saved);
        }
        sqlx::query("UPDATE attendance_days SET updated_by = $2, updated_at = $3 WHERE id = $1")
            .bind(day_id.to_string())
            .bind(actor.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let summary = format!(
            "lớp {} ngày {}: {} có mặt, {} đi muộn, {} vắng có phép, {} vắng không phép",
            class.name,
            vn(day),
            tally.present,
            tally.late,
            tally.excused,
            tally.unexcused
        );
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: Some(actor),
                action: if first {
                    "attendance.take"
                } else {
                    "attendance.change"
                },
                entity: "attendance_day",
                entity_id: Some(day_id),
                detail: if first {
                    summary
                } else {
                    format!("{summary}. Sửa: {}", changes.join("; "))
                },
            },
        )
        .await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// A school's classes of a year with their attendance for a day, by class name.
    pub async fn attendance_day_summary(
        &self,
        school_id: Id,
        year_id: Id,
        day: Date,
    ) -> DbResult<Vec<ClassDay>> {
        let classes = self.classes(school_id, year_id).await?;
        let rows = sqlx::query(
            "SELECT d.class_id, m.status, COUNT(*) AS n FROM attendance_days d \
             JOIN attendance_marks m ON m.school_id = d.school_id AND m.day_id = d.id \
             JOIN students st ON st.id = m.student_id AND st.status = 'studying' \
             WHERE d.school_id = $1 AND d.day = $2 GROUP BY d.class_id, m.status",
        )
        .bind(school_id.to_string())
        .bind(iso(day))
        .fetch_all(self.pool())
        .await?;
        let taken_rows =
            sqlx::query("SELECT class_id FROM attendance_days WHERE school_id = $1 AND day = $2")
                .bind(school_id.to_string())
                .bind(iso(day))
                .fetch_all(self.pool())
                .await?;
        let taken: Vec<Id> = taken_rows
            .iter()
            .map(|r| get_id(r, "class_id"))
            .collect::<DbResult<_>>()?;
        let mut tallies: HashMap<Id, Tally> = HashMap::new();
        for r in &rows {
            let t = tallies.entry(get_id(r, "class_id")?).or_default();
            let n = crate::get_i64(r, "n")?;
            match mark_of(&get_str(r, "status")?)? {
                Mark::Present => t.present += n,
                Mark::Late => t.late += n,
                Mark::Excused => t.excused += n,
                Mark::Unexcused => t.unexcused += n,
            }
        }
        Ok(classes
            .into_iter()
            .map(|c| ClassDay {
                taken: taken.contains(&c.id),
                tally: tallies.remove(&c.id).unwrap_or_default(),
                class_id: c.id,
                class_name: c.name,
                students: c.student_count,
            })
            .collect())
    }

    /// The days a class's attendance was taken, newest first (at most `limit`), with the
    /// number absent each day.
    pub async fn attendance_days_taken(
        &self,
        school_id: Id,
        class_id: Id,
        limit: i64,
    ) -> DbResult<Vec<(Date, i64)>> {
        let rows = sqlx::query(
            "SELECT d.day, CAST(SUM(CASE WHEN m.status IN ('excused', 'unexcused') THEN 1 ELSE 0 END) AS BIGINT) AS absent \
             FROM attendance_days d LEFT JOIN attendance_marks m ON m.school_id = d.school_id AND m.day_id = d.id \
             WHERE d.school_id = $1 AND d.class_id = $2 GROUP BY d.day ORDER BY d.day DESC LIMIT $3",
        )
        .bind(school_id.to_string())
        .bind(class_id.to_string())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    parse_day(&get_str(r, "day")?)?,
                    r.try_get::<Option<i64>, _>("absent")
                        .map_err(DbError::from)?
                        .unwrap_or(0),
                ))
            })
            .collect()
    }

    /// A class's marks from `from` to `to` (both included): the days taken, the studying
    /// students and who was late or absent when.
    pub async fn attendance_period(
        &self,
        school_id: Id,
        class_id: Id,
        from: Date,
        to: Date,
    ) -> DbResult<Period> {
        let days = sqlx::query(
            "SELECT day FROM attendance_days WHERE school_id = $1 AND class_id = $2 \
             AND day >= $3 AND day <= $4 ORDER BY day",
        )
        .bind(school_id.to_string())
        .bind(class_id.to_string())
        .bind(iso(from))
        .bind(iso(to))
        .fetch_all(self.pool())
        .await?;
        let taken = days
            .iter()
            .map(|r| parse_day(&get_str(r, "day")?))
            .collect::<DbResult<Vec<_>>>()?;
        let rows = sqlx::query(
            "SELECT m.student_id, m.day, m.status, m.note FROM attendance_days d \
             JOIN attendance_marks m ON m.school_id = d.school_id AND m.day_id = d.id \
             WHERE d.school_id = $1 AND d.class_id = $2 AND d.day >= $3 AND d.day <= $4 \
             AND m.status <> 'present'",
        )
        .bind(school_id.to_string())
        .bind(class_id.to_string())
        .bind(iso(from))
        .bind(iso(to))
        .fetch_all(self.pool())
        .await?;
        let mut marks = HashMap::new();
        for r in &rows {
            marks.insert(
                (get_id(r, "student_id")?, parse_day(&get_str(r, "day")?)?),
                (mark_of(&get_str(r, "status")?)?, get_str(r, "note")?),
            );
        }
        Ok(Period {
            taken,
            students: self.class_roster(school_id, class_id).await?,
            marks,
        })
    }

    /// Loads past days of a class's attendance as taken by `actor` (the demo's weeks of
    /// attendance), in one transaction: days already taken are left alone, every studying
    /// student gets a mark, families are not notified (the days are over). One audit entry
    /// says what was loaded. Returns the days loaded.
    pub async fn seed_attendance(
        &self,
        school_id: Id,
        class_id: Id,
        days: &[PastDay],
        actor: Id,
    ) -> DbResult<usize> {
        let class = self.class(school_id, class_id).await?;
        let roster = self.class_roster(school_id, class_id).await?;
        let mut tx = self.pool().begin().await?;
        let mut loaded = 0;
        for d in days {
            let exists = sqlx::query(
                "SELECT id FROM attendance_days WHERE school_id = $1 AND class_id = $2 AND day = $3",
            )
            .bind(school_id.to_string())
            .bind(class_id.to_string())
            .bind(iso(d.day))
            .fetch_optional(&mut *tx)
            .await?;
            if exists.is_some() {
                continue;
            }
            let day_id = new_id();
            sqlx::query(
                "INSERT INTO attendance_days (id, school_id, class_id, day, taken_by, taken_at, updated_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $5, $6)",
            )
            .bind(day_id.to_string())
            .bind(school_id.to_string())
            .bind(class_id.to_string())
            .bind(iso(d.day))
            .bind(actor.to_string())
            .bind(d.taken_at)
            .execute(&mut *tx)
            .await?;
            for (student, _, _) in &roster {
                let (mark, note) = d
                    .marks
                    .iter()
                    .find(|m| m.student_id == *student)
                    .map(|m| (m.mark, m.note.trim().to_owned()))
                    .unwrap_or_default();
                sqlx::query(
                    "INSERT INTO attendance_marks (id, school_id, day_id, student_id, day, status, note, updated_by, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(new_id().to_string())
                .bind(school_id.to_string())
                .bind(day_id.to_string())
                .bind(student.to_string())
                .bind(iso(d.day))
                .bind(mark.code())
                .bind(&note)
                .bind(actor.to_string())
                .bind(d.taken_at)
                .execute(&mut *tx)
                .await?;
            }
            loaded += 1;
        }
        if loaded > 0 {
            audit(
                &mut *tx,
                &AuditEntry {
                    school_id: Some(school_id),
                    actor_id: Some(actor),
                    action: "demo.attendance",
                    entity: "class",
                    entity_id: Some(class_id),
                    detail: format!(
                        "Dữ liệu mẫu: điểm danh lớp {} {loaded} ngày học đã qua",
                        class.name
                    ),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(loaded)
    }

    /// A student's school-day attendance from `since` on (the school year): counts by mark
    /// and the latest `recent` days late or absent.
    pub async fn student_attendance(
        &self,
        school_id: Id,
        student_id: Id,
        since: Date,
        recent: i64,
    ) -> DbResult<StudentRecord> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM attendance_marks \
             WHERE school_id = $1 AND student_id = $2 AND day >= $3 GROUP BY status",
        )
        .bind(school_id.to_string())
        .bind(student_id.to_string())
        .bind(iso(since))
        .fetch_all(self.pool())
        .await?;
        let mut out = StudentRecord::default();
        for r in &rows {
            let n = crate::get_i64(r, "n")?;
            match mark_of(&get_str(r, "status")?)? {
                Mark::Present => out.tally.present += n,
                Mark::Late => out.tally.late += n,
                Mark::Excused => out.tally.excused += n,
                Mark::Unexcused => out.tally.unexcused += n,
            }
        }
        let rows = sqlx::query(
            "SELECT day, status, note FROM attendance_marks \
             WHERE school_id = $1 AND student_id = $2 AND day >= $3 AND status <> 'present' \
             ORDER BY day DESC LIMIT $4",
        )
        .bind(school_id.to_string())
        .bind(student_id.to_string())
        .bind(iso(since))
        .bind(recent)
        .fetch_all(self.pool())
        .await?;
        out.recent = rows
            .iter()
            .map(|r| {
                Ok(StudentDay {
                    day: parse_day(&get_str(r, "day")?)?,
                    mark: mark_of(&get_str(r, "status")?)?,
                    note: get_str(r, "note")?,
                })
            })
            .collect::<DbResult<_>>()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_round_trip_and_only_two_are_absences() {
        for m in Mark::ALL {
            assert_eq!(Mark::from_code(m.code()), Some(m));
        }
        assert_eq!(Mark::from_code("absent"), None);
        assert!(Mark::Excused.is_absent() && Mark::Unexcused.is_absent());
        assert!(!Mark::Late.is_absent() && !Mark::Present.is_absent());
        assert_eq!(Mark::default(), Mark::Present);
    }

    #[test]
    fn a_tally_counts_each_mark() {
        let mut t = Tally::default();
        for m in [Mark::Present, Mark::Present, Mark::Late, Mark::Unexcused] {
            t.add(m);
        }
        assert_eq!((t.present, t.late, t.excused, t.unexcused), (2, 1, 0, 1));
        assert_eq!(t.total(), 4);
    }
}
