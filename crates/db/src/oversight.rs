//! Figures for the oversight dashboards of the Sở and communes, computed from use.

use crate::{Db, DbResult, get_i64, now_ms};
use domain::Id;

/// A school's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// The school year is set up.
    pub deployed: bool,
    /// Active teachers and other staff.
    pub staff: i64,
    /// Of whom active in the last 7 days.
    pub staff_active_7: i64,
    /// Of whom active in the last 30 days.
    pub staff_active_30: i64,
    /// Students studying.
    pub students: i64,
    /// Of whom active in the last 7 days.
    pub students_active_7: i64,
    /// Of whom active in the last 30 days.
    pub students_active_30: i64,
    /// Parent accounts.
    pub parents: i64,
    /// Of which have activated their account.
    pub parents_connected: i64,
    /// Class announcements in the last 30 days.
    pub announcements_30: i64,
    /// Parent–teacher messages in the last 30 days.
    pub messages_30: i64,
    /// Learning materials in the school library (digitised).
    pub materials: i64,
    /// Of which approved by the principal (Circular 09 Art. 10).
    pub materials_approved: i64,
    /// Homework and self-study tasks given.
    pub tasks: i64,
    /// Periods planned in lessons this school year.
    pub periods_planned: i64,
    /// Of which taught online, replacing face-to-face teaching.
    pub periods_online: i64,
}

impl Db {
    /// Marks an account active now.
    pub async fn touch_user(&self, user_id: Id) -> DbResult<()> {
        sqlx::query("UPDATE users SET last_active_at = $2 WHERE id = $1")
            .bind(user_id.to_string())
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The figures of one school.
    pub async fn coverage(&self, school_id: Id) -> DbResult<Coverage> {
        let now = now_ms();
        let d7 = now - 7 * 86_400_000;
        let d30 = now - 30 * 86_400_000;
        let row = sqlx::query(
            "SELECT \
             (SELECT COUNT(*) FROM school_years WHERE school_id = $1) AS years, \
             (SELECT COUNT(*) FROM staff s WHERE s.school_id = $1 AND s.status = 'active') AS staff, \
             (SELECT COUNT(*) FROM staff s JOIN users u ON u.id = s.user_id WHERE s.school_id = $1 AND s.status = 'active' AND u.last_active_at > $2) AS staff7, \
             (SELECT COUNT(*) FROM staff s JOIN users u ON u.id = s.user_id WHERE s.school_id = $1 AND s.status = 'active' AND u.last_active_at > $3) AS staff30, \
             (SELECT COUNT(*) FROM students st WHERE st.school_id = $1 AND st.status = 'studying') AS students, \
             (SELECT COUNT(*) FROM students st JOIN users u ON u.id = st.user_id WHERE st.school_id = $1 AND st.status = 'studying' AND u.last_active_at > $2) AS students7, \
             (SELECT COUNT(*) FROM students st JOIN users u ON u.id = st.user_id WHERE st.school_id = $1 AND st.status = 'studying' AND u.last_active_at > $3) AS students30, \
             (SELECT COUNT(DISTINCT g.user_id) FROM guardianships g WHERE g.school_id = $1) AS parents, \
             (SELECT COUNT(DISTINCT g.user_id) FROM guardianships g JOIN users u ON u.id = g.user_id WHERE g.school_id = $1 AND u.password_hash IS NOT NULL) AS parents_connected, \
             (SELECT COUNT(*) FROM announcements a WHERE a.school_id = $1 AND a.created_at > $3) AS announcements, \
             (SELECT COUNT(*) FROM messages m WHERE m.school_id = $1 AND m.created_at > $3) AS messages, \
             (SELECT COUNT(*) FROM materials mt WHERE mt.school_id = $1) AS materials, \
             (SELECT COUNT(*) FROM materials mt WHERE mt.school_id = $1 AND mt.approved_version IS NOT NULL) AS materials_approved, \
             (SELECT COUNT(*) FROM tasks t WHERE t.school_id = $1) AS tasks, \
             (SELECT CAST(COALESCE(SUM(l.periods), 0) AS BIGINT) FROM lessons l JOIN courses co ON co.id = l.course_id \
                JOIN school_years y ON y.id = co.year_id AND y.is_current = 1 WHERE l.school_id = $1) AS periods_planned, \
             (SELECT CAST(COALESCE(SUM(l.periods), 0) AS BIGINT) FROM lessons l JOIN courses co ON co.id = l.course_id \
                JOIN school_years y ON y.id = co.year_id AND y.is_current = 1 WHERE l.school_id = $1 AND l.form = 'online_replace') AS periods_online",
        )
        .bind(school_id.to_string())
        .bind(d7)
        .bind(d30)
        .fetch_one(self.pool())
        .await?;
        Ok(Coverage {
            deployed: get_i64(&row, "years")? > 0,
            staff: get_i64(&row, "staff")?,
            staff_active_7: get_i64(&row, "staff7")?,
            staff_active_30: get_i64(&row, "staff30")?,
            students: get_i64(&row, "students")?,
            students_active_7: get_i64(&row, "students7")?,
            students_active_30: get_i64(&row, "students30")?,
            parents: get_i64(&row, "parents")?,
            parents_connected: get_i64(&row, "parents_connected")?,
            announcements_30: get_i64(&row, "announcements")?,
            messages_30: get_i64(&row, "messages")?,
            materials: get_i64(&row, "materials")?,
            materials_approved: get_i64(&row, "materials_approved")?,
            tasks: get_i64(&row, "tasks")?,
            periods_planned: get_i64(&row, "periods_planned")?,
            periods_online: get_i64(&row, "periods_online")?,
        })
    }
}
