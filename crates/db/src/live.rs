//! Live classes: sessions on a course's timetable, the visits the media server reports (joins
//! and leaves), the attendance they give with the teacher's audited corrections, finished
//! recordings, the whiteboard picture, closed polls, and the registry of media nodes.
//! Every school-owned query is filtered by `school_id`.

use crate::audit::{AuditEntry, write as audit};
use crate::learning::{Course, CourseStudent};
use crate::{Db, DbError, DbResult, get_i64, get_id, get_opt_id, get_opt_str, get_str, now_ms};
use domain::{Id, new_id};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;

/// The room opens this long before the start.
pub const OPENS_BEFORE_MS: i64 = 15 * 60 * 1000;
/// Unless the teacher ends it, the room stays open this long after the scheduled end.
pub const CLOSES_AFTER_MS: i64 = 60 * 60 * 1000;
/// Joining later than this after the start counts as late.
pub const LATE_AFTER_MS: i64 = 5 * 60 * 1000;
/// A weekly schedule makes at most this many sessions.
pub const MAX_SERIES: usize = 40;
/// A node whose heartbeat is older than this is not given new rooms.
pub const NODE_STALE_MS: i64 = 30_000;

fn opt_i64(row: &AnyRow, col: &str) -> DbResult<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}

/// A scheduled live session of a course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// Id (also the room id on the media server).
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// Course.
    pub course_id: Id,
    /// Lesson of the plan, if any.
    pub lesson_id: Option<Id>,
    /// Weekly series it belongs to.
    pub series_id: Option<Id>,
    /// Title.
    pub title: String,
    /// Start, unix ms.
    pub starts_at: i64,
    /// Scheduled end, unix ms.
    pub ends_at: i64,
    /// `scheduled` or `ended`.
    pub status: String,
    /// When the teacher ended it.
    pub ended_at: Option<i64>,
    /// The media node hosting its room.
    pub node_id: Option<String>,
    /// Storage key of the whiteboard picture.
    pub whiteboard_key: Option<String>,
    /// When the whiteboard was saved.
    pub whiteboard_at: Option<i64>,
    /// Who scheduled it.
    pub created_by: Id,
}

impl LiveSession {
    /// When the room opens.
    pub fn opens_at(&self) -> i64 {
        self.starts_at - OPENS_BEFORE_MS
    }

    /// When the room closes: at the teacher's end, else an hour after the scheduled end.
    pub fn closes_at(&self) -> i64 {
        match self.ended_at {
            Some(t) if self.status == "ended" => t,
            _ => self.ends_at + CLOSES_AFTER_MS,
        }
    }

    /// Whether the room may be entered at `now`.
    pub fn is_open(&self, now: i64) -> bool {
        self.status != "ended" && now >= self.opens_at() && now < self.closes_at()
    }

    /// Whether it is over (ended, or past the time its room closes).
    pub fn is_over(&self, now: i64) -> bool {
        self.status == "ended" || now >= self.closes_at()
    }
}

const SESSION_SELECT: &str = "SELECT id, school_id, course_id, lesson_id, series_id, title, starts_at, ends_at, \
     status, ended_at, node_id, whiteboard_key, whiteboard_at, created_by FROM live_sessions";

fn session_row(r: &AnyRow) -> DbResult<LiveSession> {
    Ok(LiveSession {
        id: get_id(r, "id")?,
        school_id: get_id(r, "school_id")?,
        course_id: get_id(r, "course_id")?,
        lesson_id: get_opt_id(r, "lesson_id")?,
        series_id: get_opt_id(r, "series_id")?,
        title: get_str(r, "title")?,
        starts_at: get_i64(r, "starts_at")?,
        ends_at: get_i64(r, "ends_at")?,
        status: get_str(r, "status")?,
        ended_at: opt_i64(r, "ended_at")?,
        node_id: get_opt_str(r, "node_id")?,
        whiteboard_key: get_opt_str(r, "whiteboard_key")?,
        whiteboard_at: opt_i64(r, "whiteboard_at")?,
        created_by: get_id(r, "created_by")?,
    })
}

/// A session in a list of upcoming ones, with its course.
#[derive(Debug, Clone)]
pub struct UpcomingSession {
    /// The session.
    pub session: LiveSession,
    /// Subject name.
    pub subject_name: String,
    /// Class name.
    pub class_name: String,
}

/// Attendance of one student in one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttendanceStatus {
    /// Came on time.
    Present,
    /// Came more than five minutes after the start.
    Late,
    /// Did not come.
    Absent,
    /// Did not come, with a reason the teacher accepted.
    Excused,
}

impl AttendanceStatus {
    /// Every status, in the order the correction form lists them.
    pub const ALL: [Self; 4] = [Self::Present, Self::Late, Self::Absent, Self::Excused];

    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Present => "present",
            Self::Late => "late",
            Self::Absent => "absent",
            Self::Excused => "excused",
        }
    }

    /// From the stored code.
    pub fn from_code(c: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == c)
    }

    /// Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Present => "Có mặt",
            Self::Late => "Vào muộn",
            Self::Absent => "Vắng",
            Self::Excused => "Vắng có phép",
        }
    }

    /// Whether the student took part.
    pub fn attended(self) -> bool {
        matches!(self, Self::Present | Self::Late)
    }
}

/// One stay in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    /// Account.
    pub user_id: Id,
    /// Entered, unix ms.
    pub joined_at: i64,
    /// Left (none while still inside).
    pub left_at: Option<i64>,
}

/// What the visits of one person say: number, first join, time spent, automatic status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitSummary {
    /// Number of visits.
    pub visits: usize,
    /// First join.
    pub first_join: Option<i64>,
    /// Total time inside, ms (open visits count until `until`).
    pub total_ms: i64,
    /// Present, late or absent, from the first join.
    pub status: AttendanceStatus,
}

/// Sums visits of one person to a session starting at `start`; open visits count until `until`.
pub fn summarize(start: i64, until: i64, visits: &[&Visit]) -> VisitSummary {
    let first_join = visits.iter().map(|v| v.joined_at).min();
    let total_ms = visits
        .iter()
        .map(|v| (v.left_at.unwrap_or(until.max(v.joined_at)) - v.joined_at).max(0))
        .sum();
    let status = match first_join {
        None => AttendanceStatus::Absent,
        Some(t) if t > start + LATE_AFTER_MS => AttendanceStatus::Late,
        Some(_) => AttendanceStatus::Present,
    };
    VisitSummary {
        visits: visits.len(),
        first_join,
        total_ms,
        status,
    }
}

/// A teacher's correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// Student record.
    pub student_id: Id,
    /// Status set.
    pub status: AttendanceStatus,
    /// Why.
    pub reason: String,
    /// Who corrected, by name.
    pub by_name: String,
    /// When.
    pub at: i64,
}

/// One student's line of a session's attendance.
#[derive(Debug, Clone)]
pub struct AttendanceRow {
    /// The student.
    pub student: CourseStudent,
    /// What the visits say.
    pub visits: VisitSummary,
    /// The status that counts (the correction if any, else the automatic one).
    pub status: AttendanceStatus,
    /// The teacher's correction, if any.
    pub correction: Option<Correction>,
}

/// A finished recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// Id.
    pub id: Id,
    /// Session.
    pub session_id: Id,
    /// Start, unix ms.
    pub started_at: i64,
    /// End.
    pub ended_at: i64,
    /// `ready` or `failed`.
    pub status: String,
    /// Why it failed.
    pub error: Option<String>,
    /// The MP4 in storage.
    pub file_key: Option<String>,
    /// Its size.
    pub size: Option<i64>,
    /// The lesson video made from it.
    pub material_id: Option<Id>,
}

/// A recording to store.
#[derive(Debug, Clone)]
pub struct NewRecording {
    /// Who recorded.
    pub by: Option<Id>,
    /// Start.
    pub started_at: i64,
    /// End.
    pub ended_at: i64,
    /// `ready` or `failed`.
    pub status: &'static str,
    /// Why it failed.
    pub error: Option<String>,
    /// The MP4 in storage.
    pub file_key: Option<String>,
    /// Its size.
    pub size: Option<i64>,
    /// The lesson video made from it.
    pub material_id: Option<Id>,
}

/// A poll closed in the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollResult {
    /// Question.
    pub question: String,
    /// Options and votes.
    pub results: Vec<(String, u32)>,
    /// When it closed.
    pub closed_at: i64,
}

/// A media node in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveNode {
    /// Node id.
    pub id: String,
    /// Public WebSocket base URL (`wss://media1.example/`), empty for the web node itself.
    pub ws_base: String,
    /// People connected.
    pub load: i64,
    /// Last heartbeat.
    pub heartbeat_at: i64,
}

/// Live attendance of one student across the sessions of a course that are over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveTally {
    /// Sessions over.
    pub held: i64,
    /// Attended (present or late).
    pub attended: i64,
    /// Missed without excuse.
    pub missed: i64,
    /// Excused.
    pub excused: i64,
}

impl LiveTally {
    /// Attended sessions in percent of those held (none when nothing was held).
    pub fn percent(&self) -> Option<i64> {
        (self.held > 0).then(|| (self.attended * 100 + self.held / 2) / self.held)
    }
}

impl Db {
    /// Schedules sessions (one, or a weekly series) of a course in one transaction.
    pub async fn create_live_sessions(
        &self,
        course: &Course,
        lesson_id: Option<Id>,
        title: &str,
        slots: &[(i64, i64)],
        actor: Id,
    ) -> DbResult<Vec<Id>> {
        if let Some(l) = lesson_id {
            let lesson = self.lesson(course.school_id, l).await?;
            if lesson.course_id != course.id {
                return Err(DbError::Conflict(
                    "Bài học đã chọn không thuộc khoá học này.".into(),
                ));
            }
        }
        let series = (slots.len() > 1).then(new_id);
        let now = now_ms();
        let mut ids = Vec::with_capacity(slots.len());
        let mut tx = self.pool().begin().await?;
        for (start, end) in slots {
            let id = new_id();
            sqlx::query(
                "INSERT INTO live_sessions (id, school_id, course_id, lesson_id, series_id, title, starts_at, ends_at, \
                 status, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'scheduled', $9, $10, $10)",
            )
            .bind(id.to_string())
            .bind(course.school_id.to_string())
            .bind(course.id.to_string())
            .bind(lesson_id.map(|l| l.to_string()))
            .bind(series.map(|s| s.to_string()))
            .bind(title)
            .bind(*start)
            .bind(*end)
            .bind(actor.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            ids.push(id);
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(course.school_id),
                actor_id: Some(actor),
                action: "live.schedule",
                entity: "course",
                entity_id: Some(course.id),
                detail: format!("{title} ({} buổi)", slots.len()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// One session, by id (the caller checks access through its course).
    pub async fn live_session(&self, id: Id) -> DbResult<LiveSession> {
        let row = sqlx::query(&format!("{SESSION_SELECT} WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(DbError::NotFound)?;
        session_row(&row)
    }

    /// The sessions of a course, by start.
    pub async fn course_live_sessions(&self, course: &Course) -> DbResult<Vec<LiveSession>> {
        let rows = sqlx::query(&format!(
            "{SESSION_SELECT} WHERE school_id = $1 AND course_id = $2 ORDER BY starts_at"
        ))
        .bind(course.school_id.to_string())
        .bind(course.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(session_row).collect()
    }

    /// Sessions not over yet of the courses a student follows this year, soonest first.
    pub async fn upcoming_live_for_student(
        &self,
        student_id: Id,
        limit: i64,
    ) -> DbResult<Vec<UpcomingSession>> {
        let now = now_ms();
        let rows = sqlx::query(
            "SELECT ls.id, ls.school_id, ls.course_id, ls.lesson_id, ls.series_id, ls.title, ls.starts_at, ls.ends_at, \
             ls.status, ls.ended_at, ls.node_id, ls.whiteboard_key, ls.whiteboard_at, ls.created_by, \
             su.name AS subject_name, cl.name AS class_name \
             FROM live_sessions ls JOIN courses co ON co.id = ls.course_id AND co.school_id = ls.school_id \
             JOIN enrollments e ON e.class_id = co.class_id AND e.year_id = co.year_id AND e.school_id = co.school_id \
             JOIN subjects su ON su.id = co.subject_id JOIN classes cl ON cl.id = co.class_id \
             WHERE e.student_id = $1 AND ls.status = 'scheduled' AND ls.ends_at + $2 > $3 \
             ORDER BY ls.starts_at LIMIT $4",
        )
        .bind(student_id.to_string())
        .bind(CLOSES_AFTER_MS)
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UpcomingSession {
                    session: session_row(r)?,
                    subject_name: get_str(r, "subject_name")?,
                    class_name: get_str(r, "class_name")?,
                })
            })
            .collect()
    }

    /// Ends a session (the teacher's button); idempotent.
    pub async fn end_live_session(&self, s: &LiveSession, actor: Id) -> DbResult<()> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE live_sessions SET status = 'ended', ended_at = $3, ended_by = $4, updated_at = $3 \
             WHERE id = $1 AND school_id = $2 AND status <> 'ended'",
        )
        .bind(s.id.to_string())
        .bind(s.school_id.to_string())
        .bind(now)
        .bind(actor.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            audit(
                &mut *tx,
                &AuditEntry {
                    school_id: Some(s.school_id),
                    actor_id: Some(actor),
                    action: "live.end",
                    entity: "live_session",
                    entity_id: Some(s.id),
                    detail: s.title.clone(),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records that `user` entered the room of session `room` (a room this database does not
    /// know is ignored). A visit still open (a missed leave) is kept as it is.
    pub async fn live_joined(&self, room: Id, user: Id, at: i64) -> DbResult<()> {
        let Ok(s) = self.live_session(room).await else {
            return Ok(());
        };
        let open = sqlx::query(
            "SELECT id FROM live_visits WHERE school_id = $1 AND session_id = $2 AND user_id = $3 AND left_at IS NULL",
        )
        .bind(s.school_id.to_string())
        .bind(room.to_string())
        .bind(user.to_string())
        .fetch_optional(self.pool())
        .await?;
        if open.is_some() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO live_visits (id, school_id, session_id, user_id, joined_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(new_id().to_string())
        .bind(s.school_id.to_string())
        .bind(room.to_string())
        .bind(user.to_string())
        .bind(at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records that `user` left the room: closes their open visit.
    pub async fn live_left(&self, room: Id, user: Id, at: i64) -> DbResult<()> {
        let Ok(s) = self.live_session(room).await else {
            return Ok(());
        };
        sqlx::query(
            "UPDATE live_visits SET left_at = CASE WHEN joined_at > $4 THEN joined_at ELSE $4 END \
             WHERE school_id = $1 AND session_id = $2 AND user_id = $3 AND left_at IS NULL",
        )
        .bind(s.school_id.to_string())
        .bind(room.to_string())
        .bind(user.to_string())
        .bind(at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every visit of a session, by join time.
    pub async fn live_visits(&self, s: &LiveSession) -> DbResult<Vec<Visit>> {
        let rows = sqlx::query(
            "SELECT user_id, joined_at, left_at FROM live_visits WHERE school_id = $1 AND session_id = $2 ORDER BY joined_at",
        )
        .bind(s.school_id.to_string())
        .bind(s.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Visit {
                    user_id: get_id(r, "user_id")?,
                    joined_at: get_i64(r, "joined_at")?,
                    left_at: opt_i64(r, "left_at")?,
                })
            })
            .collect()
    }

    /// The teacher's corrections of a session.
    pub async fn live_corrections(&self, s: &LiveSession) -> DbResult<Vec<Correction>> {
        let rows = sqlx::query(
            "SELECT a.student_id, a.status, a.reason, a.corrected_at, u.full_name FROM live_attendance a \
             JOIN users u ON u.id = a.corrected_by WHERE a.school_id = $1 AND a.session_id = $2",
        )
        .bind(s.school_id.to_string())
        .bind(s.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let code = get_str(r, "status")?;
                Ok(Correction {
                    student_id: get_id(r, "student_id")?,
                    status: AttendanceStatus::from_code(&code)
                        .ok_or_else(|| DbError::Corrupt(format!("status: {code}")))?,
                    reason: get_str(r, "reason")?,
                    by_name: get_str(r, "full_name")?,
                    at: get_i64(r, "corrected_at")?,
                })
            })
            .collect()
    }

    /// Sets a student's attendance (the caller checked the student is in the class), with an
    /// audit row saying before and after.
    pub async fn correct_live_attendance(
        &self,
        s: &LiveSession,
        student_id: Id,
        before: AttendanceStatus,
        status: AttendanceStatus,
        reason: &str,
        actor: Id,
    ) -> DbResult<()> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO live_attendance (id, school_id, session_id, student_id, status, reason, corrected_by, corrected_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (school_id, session_id, student_id) DO UPDATE SET \
             status = excluded.status, reason = excluded.reason, corrected_by = excluded.corrected_by, corrected_at = excluded.corrected_at",
        )
        .bind(new_id().to_string())
        .bind(s.school_id.to_string())
        .bind(s.id.to_string())
        .bind(student_id.to_string())
        .bind(status.code())
        .bind(reason)
        .bind(actor.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(s.school_id),
                actor_id: Some(actor),
                action: "live.attendance",
                entity: "live_session",
                entity_id: Some(s.id),
                detail: serde_json::json!({
                    "student": student_id,
                    "before": before.code(),
                    "after": status.code(),
                    "reason": reason,
                })
                .to_string(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The attendance of a session: every student of the class with their visits, the
    /// automatic status and the correction.
    pub async fn live_attendance(
        &self,
        course: &Course,
        s: &LiveSession,
    ) -> DbResult<Vec<AttendanceRow>> {
        let students = self.course_students(course).await?;
        let visits = self.live_visits(s).await?;
        let corrections = self.live_corrections(s).await?;
        let until = now_ms().min(s.closes_at());
        Ok(attendance_rows(
            students,
            &visits,
            corrections,
            s.starts_at,
            until,
        ))
    }

    /// Live attendance per student over the sessions of a course that are over.
    pub async fn course_live_tally(&self, course: &Course) -> DbResult<HashMap<Id, LiveTally>> {
        let students = self.course_students(course).await?;
        let now = now_ms();
        let mut out: HashMap<Id, LiveTally> = students
            .iter()
            .map(|st| (st.student_id, LiveTally::default()))
            .collect();
        for s in self.course_live_sessions(course).await? {
            if !s.is_over(now) {
                continue;
            }
            let visits = self.live_visits(&s).await?;
            let corrections = self.live_corrections(&s).await?;
            for row in attendance_rows(
                students.clone(),
                &visits,
                corrections,
                s.starts_at,
                s.closes_at(),
            ) {
                let t = out.entry(row.student.student_id).or_default();
                t.held += 1;
                match row.status {
                    AttendanceStatus::Present | AttendanceStatus::Late => t.attended += 1,
                    AttendanceStatus::Absent => t.missed += 1,
                    AttendanceStatus::Excused => t.excused += 1,
                }
            }
        }
        Ok(out)
    }

    /// One student's live attendance over all the courses they follow this year.
    pub async fn student_live_tally(&self, student_id: Id) -> DbResult<LiveTally> {
        let mut total = LiveTally::default();
        for c in self.student_courses(student_id).await? {
            if let Some(t) = self.course_live_tally(&c).await?.get(&student_id) {
                total.held += t.held;
                total.attended += t.attended;
                total.missed += t.missed;
                total.excused += t.excused;
            }
        }
        Ok(total)
    }

    /// Stores a finished recording of a session.
    pub async fn add_live_recording(&self, s: &LiveSession, r: &NewRecording) -> DbResult<Id> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO live_recordings (id, school_id, session_id, recorded_by, started_at, ended_at, status, error, \
             file_key, size, material_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(id.to_string())
        .bind(s.school_id.to_string())
        .bind(s.id.to_string())
        .bind(r.by.map(|b| b.to_string()))
        .bind(r.started_at)
        .bind(r.ended_at)
        .bind(r.status)
        .bind(r.error.clone())
        .bind(r.file_key.clone())
        .bind(r.size)
        .bind(r.material_id.map(|m| m.to_string()))
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    /// The recordings of a session, oldest first.
    pub async fn live_recordings(&self, s: &LiveSession) -> DbResult<Vec<Recording>> {
        let rows = sqlx::query(
            "SELECT id, session_id, started_at, ended_at, status, error, file_key, size, material_id FROM live_recordings \
             WHERE school_id = $1 AND session_id = $2 ORDER BY started_at",
        )
        .bind(s.school_id.to_string())
        .bind(s.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Recording {
                    id: get_id(r, "id")?,
                    session_id: get_id(r, "session_id")?,
                    started_at: get_i64(r, "started_at")?,
                    ended_at: get_i64(r, "ended_at")?,
                    status: get_str(r, "status")?,
                    error: get_opt_str(r, "error")?,
                    file_key: get_opt_str(r, "file_key")?,
                    size: opt_i64(r, "size")?,
                    material_id: get_opt_id(r, "material_id")?,
                })
            })
            .collect()
    }

    /// Saves the whiteboard picture's storage key.
    pub async fn set_live_whiteboard(&self, s: &LiveSession, key: &str, actor: Id) -> DbResult<()> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE live_sessions SET whiteboard_key = $3, whiteboard_at = $4, updated_at = $4 WHERE id = $1 AND school_id = $2",
        )
        .bind(s.id.to_string())
        .bind(s.school_id.to_string())
        .bind(key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(s.school_id),
                actor_id: Some(actor),
                action: "live.whiteboard",
                entity: "live_session",
                entity_id: Some(s.id),
                detail: key.to_owned(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a poll the teacher closed.
    pub async fn add_live_poll(
        &self,
        room: Id,
        question: &str,
        results: &[(String, u32)],
    ) -> DbResult<()> {
        let Ok(s) = self.live_session(room).await else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO live_polls (id, school_id, session_id, question, results, closed_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id().to_string())
        .bind(s.school_id.to_string())
        .bind(room.to_string())
        .bind(question)
        .bind(serde_json::to_string(results).map_err(|e| DbError::Corrupt(e.to_string()))?)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The polls of a session, in closing order.
    pub async fn live_polls(&self, s: &LiveSession) -> DbResult<Vec<PollResult>> {
        let rows = sqlx::query(
            "SELECT question, results, closed_at FROM live_polls WHERE school_id = $1 AND session_id = $2 ORDER BY closed_at",
        )
        .bind(s.school_id.to_string())
        .bind(s.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let raw = get_str(r, "results")?;
                Ok(PollResult {
                    question: get_str(r, "question")?,
                    results: serde_json::from_str(&raw)
                        .map_err(|e| DbError::Corrupt(format!("results: {e}")))?,
                    closed_at: get_i64(r, "closed_at")?,
                })
            })
            .collect()
    }

    // ----- the node registry -----

    /// Registers a media node or refreshes its load and heartbeat.
    pub async fn live_node_heartbeat(&self, id: &str, ws_base: &str, load: i64) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO live_nodes (id, ws_base, load, heartbeat_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET ws_base = excluded.ws_base, load = excluded.load, heartbeat_at = excluded.heartbeat_at",
        )
        .bind(id)
        .bind(ws_base)
        .bind(load)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The nodes with a recent heartbeat, least loaded first.
    pub async fn live_nodes(&self) -> DbResult<Vec<LiveNode>> {
        let rows = sqlx::query(
            "SELECT id, ws_base, load, heartbeat_at FROM live_nodes WHERE heartbeat_at > $1 ORDER BY load, id",
        )
        .bind(now_ms() - NODE_STALE_MS)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LiveNode {
                    id: get_str(r, "id")?,
                    ws_base: get_str(r, "ws_base")?,
                    load: get_i64(r, "load")?,
                    heartbeat_at: get_i64(r, "heartbeat_at")?,
                })
            })
            .collect()
    }

    /// One node of the registry, fresh or not.
    pub async fn live_node(&self, id: &str) -> DbResult<Option<LiveNode>> {
        let row =
            sqlx::query("SELECT id, ws_base, load, heartbeat_at FROM live_nodes WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        row.map(|r| {
            Ok(LiveNode {
                id: get_str(&r, "id")?,
                ws_base: get_str(&r, "ws_base")?,
                load: get_i64(&r, "load")?,
                heartbeat_at: get_i64(&r, "heartbeat_at")?,
            })
        })
        .transpose()
    }

    /// Places a session's room on `node` if it is still where the caller saw it (`from`: none,
    /// or a node that stopped reporting): the first placement wins, so a room never spans
    /// nodes. Returns the node that hosts it.
    pub async fn place_live_session(
        &self,
        s: &LiveSession,
        from: Option<&str>,
        node: &str,
    ) -> DbResult<String> {
        let q = match from {
            None => sqlx::query(
                "UPDATE live_sessions SET node_id = $3 WHERE id = $1 AND school_id = $2 AND node_id IS NULL",
            ),
            Some(_) => sqlx::query(
                "UPDATE live_sessions SET node_id = $3 WHERE id = $1 AND school_id = $2 AND node_id = $4",
            ),
        };
        let q = q
            .bind(s.id.to_string())
            .bind(s.school_id.to_string())
            .bind(node);
        let q = match from {
            Some(f) => q.bind(f.to_owned()),
            None => q,
        };
        q.execute(self.pool()).await?;
        Ok(self
            .live_session(s.id)
            .await?
            .node_id
            .unwrap_or_else(|| node.to_owned()))
    }
}

/// Joins students, visits and corrections into attendance lines.
fn attendance_rows(
    students: Vec<CourseStudent>,
    visits: &[Visit],
    corrections: Vec<Correction>,
    start: i64,
    until: i64,
) -> Vec<AttendanceRow> {
    let mut fixes: HashMap<Id, Correction> =
        corrections.into_iter().map(|c| (c.student_id, c)).collect();
    students
        .into_iter()
        .map(|st| {
            let mine: Vec<&Visit> = visits
                .iter()
                .filter(|v| Some(v.user_id) == st.user_id)
                .collect();
            let summary = summarize(start, until, &mine);
            let correction = fixes.remove(&st.student_id);
            AttendanceRow {
                status: correction.as_ref().map_or(summary.status, |c| c.status),
                student: st,
                visits: summary,
                correction,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(j: i64, l: Option<i64>) -> Visit {
        Visit {
            user_id: Id::nil(),
            joined_at: j,
            left_at: l,
        }
    }

    #[test]
    fn visits_add_up_and_lateness_counts_from_the_first_join() {
        let start = 1_000_000;
        let a = visit(start - 60_000, Some(start + 600_000));
        let b = visit(start + 900_000, None);
        let s = summarize(start, start + 1_200_000, &[&a, &b]);
        assert_eq!(s.visits, 2);
        assert_eq!(s.first_join, Some(start - 60_000));
        assert_eq!(s.total_ms, 660_000 + 300_000);
        assert_eq!(s.status, AttendanceStatus::Present);

        let late = visit(start + LATE_AFTER_MS + 1, Some(start + LATE_AFTER_MS + 61));
        assert_eq!(
            summarize(start, start, &[&late]).status,
            AttendanceStatus::Late
        );
        let on_the_dot = visit(start + LATE_AFTER_MS, Some(start + LATE_AFTER_MS));
        assert_eq!(
            summarize(start, start, &[&on_the_dot]).status,
            AttendanceStatus::Present
        );
        let none = summarize(start, start, &[]);
        assert_eq!((none.visits, none.total_ms), (0, 0));
        assert_eq!(none.status, AttendanceStatus::Absent);
    }

    #[test]
    fn the_room_opens_early_and_closes_late_or_when_ended() {
        let mut s = LiveSession {
            id: Id::nil(),
            school_id: Id::nil(),
            course_id: Id::nil(),
            lesson_id: None,
            series_id: None,
            title: "t".into(),
            starts_at: 10_000_000,
            ends_at: 12_700_000,
            status: "scheduled".into(),
            ended_at: None,
            node_id: None,
            whiteboard_key: None,
            whiteboard_at: None,
            created_by: Id::nil(),
        };
        assert!(!s.is_open(s.starts_at - OPENS_BEFORE_MS - 1));
        assert!(s.is_open(s.starts_at - OPENS_BEFORE_MS));
        assert!(s.is_open(s.ends_at + CLOSES_AFTER_MS - 1));
        assert!(!s.is_open(s.ends_at + CLOSES_AFTER_MS));
        s.status = "ended".into();
        s.ended_at = Some(s.starts_at + 1000);
        assert!(!s.is_open(s.starts_at + 500));
        assert!(s.is_over(s.starts_at + 500));
        assert_eq!(s.closes_at(), s.starts_at + 1000);
    }

    #[test]
    fn statuses_round_trip_and_tallies_round() {
        for st in AttendanceStatus::ALL {
            assert_eq!(AttendanceStatus::from_code(st.code()), Some(st));
        }
        assert_eq!(AttendanceStatus::from_code("here"), None);
        let t = LiveTally {
            held: 3,
            attended: 2,
            missed: 1,
            excused: 0,
        };
        assert_eq!(t.percent(), Some(67));
        assert_eq!(LiveTally::default().percent(), None);
    }
}
