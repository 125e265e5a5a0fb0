//! Families: activation codes and consent, parent–teacher conversations, class announcements
//! with read receipts, and the in-app inbox.

use crate::audit::{AuditEntry, write as audit};
use crate::{Db, DbError, DbResult, get_bool, get_i64, get_id, get_opt_str, get_str, now_ms};
use domain::{Id, new_id};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A one-time activation code as stored (only its hash).
#[derive(Debug, Clone)]
pub struct ActivationCode {
    /// Id.
    pub id: Id,
    /// The school that issued it.
    pub school_id: Id,
    /// Hash of the code.
    pub code_hash: String,
    /// Unix ms after which it no longer works.
    pub expires_at: i64,
    /// When it was used, if it was.
    pub used_at: Option<i64>,
    /// Wrong tries so far.
    pub failed_attempts: i64,
}

/// A parent of a student of a class, for printing activation slips.
#[derive(Debug, Clone)]
pub struct ClassParent {
    /// The parent's account.
    pub user_id: Id,
    /// Name.
    pub full_name: String,
    /// Phone (their login).
    pub phone: String,
    /// Relation.
    pub relation: String,
    /// The child's name.
    pub student_name: String,
    /// Whether the parent already has a password.
    pub activated: bool,
}

/// A conversation between one parent and one teacher about one child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// Id.
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// The child it is about.
    pub student_id: Id,
    /// The parent.
    pub parent_id: Id,
    /// The teacher.
    pub staff_user_id: Id,
    /// The school closed it (moderation).
    pub blocked: bool,
}

/// A conversation as a list shows it.
#[derive(Debug, Clone)]
pub struct ThreadSummary {
    /// The conversation.
    pub thread: Thread,
    /// The other person's name.
    pub other_name: String,
    /// The child's name.
    pub student_name: String,
    /// The latest message, shortened.
    pub last_body: String,
    /// When the latest message came.
    pub last_message_at: i64,
    /// Messages from the other person not read yet.
    pub unread: i64,
}

/// A message as shown.
#[derive(Debug, Clone)]
pub struct MessageView {
    /// Id.
    pub id: Id,
    /// Sender.
    pub sender_id: Id,
    /// Sender's name.
    pub sender_name: String,
    /// Text.
    pub body: String,
    /// When.
    pub created_at: i64,
    /// Reported to the school.
    pub reported: bool,
    /// Hidden by the school.
    pub hidden: bool,
}

/// A reported message, for the moderation queue.
#[derive(Debug, Clone)]
pub struct ReportedMessage {
    /// The message.
    pub message: MessageView,
    /// Its conversation.
    pub thread_id: Id,
    /// Whether that conversation is blocked.
    pub blocked: bool,
}

/// A class announcement with its read count.
#[derive(Debug, Clone)]
pub struct Announcement {
    /// Id.
    pub id: Id,
    /// Class.
    pub class_id: Id,
    /// Author's name.
    pub author_name: String,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// When.
    pub created_at: i64,
    /// Parents it went to.
    pub recipients: i64,
    /// Parents who opened it.
    pub read: i64,
}

/// An in-app notification.
#[derive(Debug, Clone)]
pub struct Notification {
    /// Id.
    pub id: Id,
    /// Kind ("message", "announcement", …).
    pub kind: String,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// Where it leads.
    pub link: String,
    /// When.
    pub created_at: i64,
    /// Whether it was opened.
    pub read: bool,
}

fn notification_from(r: &AnyRow) -> DbResult<Notification> {
    Ok(Notification {
        id: get_id(r, "id")?,
        kind: get_str(r, "kind")?,
        title: get_str(r, "title")?,
        body: get_str(r, "body")?,
        link: get_str(r, "link")?,
        created_at: get_i64(r, "created_at")?,
        read: get_bool(r, "is_read")?,
    })
}

fn thread_from(r: &AnyRow) -> DbResult<Thread> {
    Ok(Thread {
        id: get_id(r, "id")?,
        school_id: get_id(r, "school_id")?,
        student_id: get_id(r, "student_id")?,
        parent_id: get_id(r, "parent_id")?,
        staff_user_id: get_id(r, "staff_user_id")?,
        blocked: get_bool(r, "blocked")?,
    })
}

fn message_from(r: &AnyRow) -> DbResult<MessageView> {
    Ok(MessageView {
        id: get_id(r, "id")?,
        sender_id: get_id(r, "sender_id")?,
        sender_name: get_str(r, "sender_name")?,
        body: get_str(r, "body")?,
        created_at: get_i64(r, "created_at")?,
        reported: get_bool(r, "reported")?,
        hidden: get_bool(r, "hidden")?,
    })
}

const THREAD_COLS: &str =
    "t.id, t.school_id, t.student_id, t.parent_id, t.staff_user_id, t.blocked";
const MESSAGE_SELECT: &str = "SELECT m.id, m.sender_id, u.full_name AS sender_name, m.body, m.created_at, \
    m.reported, m.hidden FROM messages m JOIN users u ON u.id = m.sender_id";

pub(crate) async fn notify_all<'c>(
    tx: &mut sqlx::Transaction<'c, sqlx::Any>,
    users: &[Id],
    school_id: Option<Id>,
    kind: &str,
    title: &str,
    body: &str,
    link: &str,
) -> DbResult<()> {
    // The inbox item and its delivery job are written together: once the change that caused
    // them commits, the worker will deliver them, even across a crash.
    let now = now_ms();
    let mut notes: Vec<Vec<crate::Val>> = Vec::with_capacity(users.len());
    let mut jobs = Vec::with_capacity(users.len());
    for u in users {
        let id = new_id().to_string();
        notes.push(vec![
            id.clone().into(),
            u.to_string().into(),
            school_id.map(|s| s.to_string()).into(),
            kind.into(),
            title.into(),
            body.into(),
            link.into(),
            now.into(),
        ]);
        jobs.push(crate::jobs::job_row("deliver", &id, now_ms()));
    }
    crate::insert_many(
        tx,
        "INSERT INTO notifications (id, user_id, school_id, kind, title, body, link, created_at)",
        &notes,
    )
    .await?;
    crate::insert_many(tx, crate::jobs::JOB_INSERT, &jobs).await
}

impl Db {
    // ----- activation codes and consent -----

    /// The parents of the studying students of a class, by child then relation.
    pub async fn class_parents(&self, school_id: Id, class_id: Id) -> DbResult<Vec<ClassParent>> {
        let rows = sqlx::query(
            "SELECT u.id, u.full_name, u.phone, g.relation, st.full_name AS student_name, \
             CASE WHEN u.password_hash IS NULL THEN 0 ELSE 1 END AS activated \
             FROM enrollments e JOIN students st ON st.id = e.student_id \
             JOIN guardianships g ON g.student_id = st.id AND g.school_id = e.school_id \
             JOIN users u ON u.id = g.user_id \
             WHERE e.school_id = $1 AND e.class_id = $2 AND st.status = 'studying'",
        )
        .bind(school_id.to_string())
        .bind(class_id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<ClassParent> = rows
            .iter()
            .map(|r| {
                Ok(ClassParent {
                    user_id: get_id(r, "id")?,
                    full_name: get_str(r, "full_name")?,
                    phone: get_opt_str(r, "phone")?.unwrap_or_default(),
                    relation: get_str(r, "relation")?,
                    student_name: get_str(r, "student_name")?,
                    activated: get_bool(r, "activated")?,
                })
            })
            .collect::<DbResult<_>>()?;
        out.sort_by_cached_key(|p| {
            (
                domain::text::name_sort_key(&p.student_name),
                p.relation.clone(),
            )
        });
        Ok(out)
    }

    /// Stores new one-time codes (hashes) for accounts; older unused codes of those accounts
    /// stop working.
    pub async fn issue_activation_codes(
        &self,
        school_id: Id,
        codes: &[(Id, String)],
        expires_at: i64,
        actor: Option<Id>,
    ) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        let now = now_ms();
        for (user_id, hash) in codes {
            sqlx::query("UPDATE activation_codes SET expires_at = $2 WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2")
                .bind(user_id.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO activation_codes (id, school_id, user_id, code_hash, expires_at, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(new_id().to_string())
            .bind(school_id.to_string())
            .bind(user_id.to_string())
            .bind(hash)
            .bind(expires_at)
            .bind(actor.map(|a| a.to_string()))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: actor,
                action: "parent.issue_codes",
                entity: "school",
                entity_id: Some(school_id),
                detail: format!("{} mã kích hoạt", codes.len()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest activation code of an account.
    pub async fn latest_activation_code(&self, user_id: Id) -> DbResult<Option<ActivationCode>> {
        let row = sqlx::query(
            "SELECT id, school_id, code_hash, expires_at, used_at, failed_attempts FROM activation_codes \
             WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(user_id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(ActivationCode {
                id: get_id(&r, "id")?,
                school_id: get_id(&r, "school_id")?,
                code_hash: get_str(&r, "code_hash")?,
                expires_at: get_i64(&r, "expires_at")?,
                used_at: r
                    .try_get::<Option<i64>, _>("used_at")
                    .map_err(DbError::from)?,
                failed_attempts: get_i64(&r, "failed_attempts")?,
            })
        })
        .transpose()
    }

    /// Counts a wrong try of a code.
    pub async fn activation_failed(&self, code_id: Id) -> DbResult<()> {
        sqlx::query(
            "UPDATE activation_codes SET failed_attempts = failed_attempts + 1 WHERE id = $1",
        )
        .bind(code_id.to_string())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Uses a code: in one transaction, marks it used (refusing a code used meanwhile), sets
    /// the chosen password and records consent.
    pub async fn activate_account(
        &self,
        code: &ActivationCode,
        user_id: Id,
        password_hash: &str,
        consent_version: &str,
    ) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        let now = now_ms();
        let n = sqlx::query(
            "UPDATE activation_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
        )
        .bind(code.id.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(DbError::Conflict("Mã kích hoạt này đã được dùng".into()));
        }
        sqlx::query(
            "UPDATE users SET password_hash = $2, must_change_password = 0, failed_logins = 0, locked_until = 0 \
             WHERE id = $1",
        )
        .bind(user_id.to_string())
        .bind(password_hash)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO consents (id, user_id, kind, version, accepted_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(new_id().to_string())
            .bind(user_id.to_string())
            .bind("child_data_processing")
            .bind(consent_version)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(code.school_id),
                actor_id: Some(user_id),
                action: "parent.activate",
                entity: "user",
                entity_id: Some(user_id),
                detail: format!("kích hoạt tài khoản, đồng ý xử lý dữ liệu của con (phiên bản {consent_version})"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The consents an account has given: (kind, version, unix ms).
    pub async fn consents(&self, user_id: Id) -> DbResult<Vec<(String, String, i64)>> {
        let rows = sqlx::query("SELECT kind, version, accepted_at FROM consents WHERE user_id = $1 ORDER BY accepted_at")
            .bind(user_id.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    get_str(r, "kind")?,
                    get_str(r, "version")?,
                    get_i64(r, "accepted_at")?,
                ))
            })
            .collect()
    }

    // ----- conversations -----

    /// The accounts of a class's homeroom and subject teachers, with what they teach:
    /// (user id, name, role in the class).
    pub async fn class_staff(
        &self,
        school_id: Id,
        class_id: Id,
    ) -> DbResult<Vec<(Id, String, String)>> {
        let rows = sqlx::query(
            "SELECT s.user_id, s.full_name, 'Giáo viên chủ nhiệm' AS what, 0 AS k FROM classes c \
             JOIN staff s ON s.id = c.homeroom_staff_id WHERE c.school_id = $1 AND c.id = $2 AND s.status = 'active' \
             UNION ALL \
             SELECT s.user_id, s.full_name, sj.name AS what, 1 AS k FROM teaching_assignments a \
             JOIN staff s ON s.id = a.staff_id JOIN subjects sj ON sj.id = a.subject_id \
             WHERE a.school_id = $1 AND a.class_id = $2 AND s.status = 'active'",
        )
        .bind(school_id.to_string())
        .bind(class_id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<(Id, String, String, i64)> = rows
            .iter()
            .map(|r| {
                Ok((
                    get_id(r, "user_id")?,
                    get_str(r, "full_name")?,
                    get_str(r, "what")?,
                    get_i64(r, "k")?,
                ))
            })
            .collect::<DbResult<_>>()?;
        out.sort_by_cached_key(|(_, _, what, k)| (*k, domain::text::collation_key(what)));
        // One line per teacher: "Toán, Tin học".
        let mut merged: Vec<(Id, String, String)> = Vec::new();
        for (id, name, what, _) in out {
            match merged.iter_mut().find(|(i, _, _)| *i == id) {
                Some(m) => {
                    m.2.push_str(", ");
                    m.2.push_str(&what);
                }
                None => merged.push((id, name, what)),
            }
        }
        Ok(merged)
    }

    /// Finds or starts the conversation of a parent and a teacher about a child.
    pub async fn open_thread(
        &self,
        school_id: Id,
        student_id: Id,
        parent_id: Id,
        staff_user_id: Id,
    ) -> DbResult<Thread> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO threads (id, school_id, student_id, parent_id, staff_user_id, created_at, last_message_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (school_id, student_id, parent_id, staff_user_id) DO NOTHING",
        )
        .bind(new_id().to_string())
        .bind(school_id.to_string())
        .bind(student_id.to_string())
        .bind(parent_id.to_string())
        .bind(staff_user_id.to_string())
        .bind(now)
        .execute(self.pool())
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {THREAD_COLS} FROM threads t WHERE t.school_id = $1 AND t.student_id = $2 AND t.parent_id = $3 AND t.staff_user_id = $4"
        ))
        .bind(school_id.to_string())
        .bind(student_id.to_string())
        .bind(parent_id.to_string())
        .bind(staff_user_id.to_string())
        .fetch_one(self.pool())
        .await?;
        thread_from(&row)
    }

    /// One conversation.
    pub async fn thread(&self, id: Id) -> DbResult<Thread> {
        let row = sqlx::query(&format!(
            "SELECT {THREAD_COLS} FROM threads t WHERE t.id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        thread_from(&row)
    }

    /// The conversations a user takes part in, newest first.
    pub async fn threads_of(&self, user_id: Id) -> DbResult<Vec<ThreadSummary>> {
        let rows = sqlx::query(&format!(
            "SELECT {THREAD_COLS}, t.last_message_at, st.full_name AS student_name, \
             CASE WHEN t.parent_id = $1 THEN su.full_name ELSE pu.full_name END AS other_name, \
             COALESCE((SELECT m.body FROM messages m WHERE m.thread_id = t.id AND m.hidden = 0 ORDER BY m.created_at DESC LIMIT 1), '') AS last_body, \
             (SELECT COUNT(*) FROM messages m WHERE m.thread_id = t.id AND m.sender_id <> $1 AND m.created_at > \
               COALESCE((SELECT r.read_at FROM thread_reads r WHERE r.thread_id = t.id AND r.user_id = $1), 0)) AS unread \
             FROM threads t JOIN students st ON st.id = t.student_id JOIN users su ON su.id = t.staff_user_id \
             JOIN users pu ON pu.id = t.parent_id \
             WHERE (t.parent_id = $1 OR t.staff_user_id = $1) AND EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id) \
             ORDER BY t.last_message_at DESC"
        ))
        .bind(user_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let body = get_str(r, "last_body")?;
                Ok(ThreadSummary {
                    thread: thread_from(r)?,
                    other_name: get_str(r, "other_name")?,
                    student_name: get_str(r, "student_name")?,
                    last_body: body.chars().take(80).collect(),
                    last_message_at: get_i64(r, "last_message_at")?,
                    unread: get_i64(r, "unread")?,
                })
            })
            .collect()
    }

    /// Adds a message, once per idempotency key (a retried send returns the first message).
    /// Returns the message id and whether it is new.
    pub async fn post_message(
        &self,
        thread: &Thread,
        sender_id: Id,
        body: &str,
        idempotency_key: &str,
        attachments: &[NewAttachment],
    ) -> DbResult<(Id, bool)> {
        let existing = sqlx::query("SELECT id FROM messages WHERE school_id = $1 AND sender_id = $2 AND idempotency_key = $3")
            .bind(thread.school_id.to_string())
            .bind(sender_id.to_string())
            .bind(idempotency_key)
            .fetch_optional(self.pool())
            .await?;
        if let Some(r) = existing {
            return Ok((get_id(&r, "id")?, false));
        }
        let id = new_id();
        let now = now_ms();
        let recipient = if sender_id == thread.parent_id {
            thread.staff_user_id
        } else {
            thread.parent_id
        };
        let sender_name = self.user(sender_id).await?.full_name;
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO messages (id, school_id, thread_id, sender_id, body, idempotency_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (school_id, sender_id, idempotency_key) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(thread.school_id.to_string())
        .bind(thread.id.to_string())
        .bind(sender_id.to_string())
        .bind(body)
        .bind(idempotency_key)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            // The same send arrived twice at the same moment: the other one won.
            tx.rollback().await?;
            let r = sqlx::query("SELECT id FROM messages WHERE school_id = $1 AND sender_id = $2 AND idempotency_key = $3")
                .bind(thread.school_id.to_string())
                .bind(sender_id.to_string())
                .bind(idempotency_key)
                .fetch_one(self.pool())
                .await?;
            return Ok((get_id(&r, "id")?, false));
        }
        for a in attachments {
            sqlx::query(
                "INSERT INTO message_attachments (id, school_id, message_id, storage_key, content_type, size, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(new_id().to_string())
            .bind(thread.school_id.to_string())
            .bind(id.to_string())
            .bind(&a.storage_key)
            .bind(&a.content_type)
            .bind(a.size)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE threads SET last_message_at = $2 WHERE id = $1")
            .bind(thread.id.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let preview: String = if body.is_empty() && !attachments.is_empty() {
            format!("[{} ảnh]", attachments.len())
        } else {
            body.chars().take(120).collect()
        };
        notify_all(
            &mut tx,
            &[recipient],
            Some(thread.school_id),
            "message",
            &format!("Tin nhắn mới từ {sender_name}"),
            &preview,
            &format!("/messages/{}", thread.id),
        )
        .await?;
        tx.commit().await?;
        Ok((id, true))
    }

    /// The messages of a conversation, oldest first.
    pub async fn messages(&self, thread_id: Id) -> DbResult<Vec<MessageView>> {
        let rows = sqlx::query(&format!(
            "{MESSAGE_SELECT} WHERE m.thread_id = $1 ORDER BY m.created_at, m.id"
        ))
        .bind(thread_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(message_from).collect()
    }

    /// How many messages a user sent since a moment (flood control).
    pub async fn messages_sent_since(&self, sender_id: Id, since: i64) -> DbResult<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM messages WHERE sender_id = $1 AND created_at > $2",
        )
        .bind(sender_id.to_string())
        .bind(since)
        .fetch_one(self.pool())
        .await?;
        get_i64(&row, "n")
    }

    /// Records that a user has read a conversation up to now.
    pub async fn mark_thread_read(&self, thread: &Thread, user_id: Id) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO thread_reads (school_id, thread_id, user_id, read_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (thread_id, user_id) DO UPDATE SET read_at = excluded.read_at",
        )
        .bind(thread.school_id.to_string())
        .bind(thread.id.to_string())
        .bind(user_id.to_string())
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// When the other person last read the conversation (for "đã xem").
    pub async fn thread_read_at(&self, thread_id: Id, user_id: Id) -> DbResult<Option<i64>> {
        let row =
            sqlx::query("SELECT read_at FROM thread_reads WHERE thread_id = $1 AND user_id = $2")
                .bind(thread_id.to_string())
                .bind(user_id.to_string())
                .fetch_optional(self.pool())
                .await?;
        row.map(|r| get_i64(&r, "read_at")).transpose()
    }

    /// Reports a message of a conversation to the school.
    pub async fn report_message(
        &self,
        thread: &Thread,
        message_id: Id,
        reporter: Id,
    ) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        let n = sqlx::query("UPDATE messages SET reported = 1 WHERE id = $1 AND thread_id = $2")
            .bind(message_id.to_string())
            .bind(thread.id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(DbError::NotFound);
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(thread.school_id),
                actor_id: Some(reporter),
                action: "message.report",
                entity: "message",
                entity_id: Some(message_id),
                detail: String::new(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The reported messages of a school, newest first.
    pub async fn reported_messages(&self, school_id: Id) -> DbResult<Vec<ReportedMessage>> {
        let rows = sqlx::query(&format!(
            "{MESSAGE_SELECT} JOIN threads t ON t.id = m.thread_id WHERE m.school_id = $1 AND m.reported = 1 \
             ORDER BY m.created_at DESC"
        ).replace("m.hidden FROM", "m.hidden, m.thread_id, t.blocked FROM"))
        .bind(school_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ReportedMessage {
                    message: message_from(r)?,
                    thread_id: get_id(r, "thread_id")?,
                    blocked: get_bool(r, "blocked")?,
                })
            })
            .collect()
    }

    /// Hides or shows a message (moderation), audited.
    pub async fn set_message_hidden(
        &self,
        school_id: Id,
        message_id: Id,
        hidden: bool,
        actor: Id,
    ) -> DbResult<()> {
        let action = if hidden {
            "message.hide"
        } else {
            "message.show"
        };
        self.moderate(
            "messages", "hidden", school_id, message_id, hidden, actor, action, "message",
        )
        .await
    }

    /// Blocks or reopens a conversation (moderation), audited.
    pub async fn set_thread_blocked(
        &self,
        school_id: Id,
        thread_id: Id,
        blocked: bool,
        actor: Id,
    ) -> DbResult<()> {
        let action = if blocked {
            "thread.block"
        } else {
            "thread.unblock"
        };
        self.moderate(
            "threads", "blocked", school_id, thread_id, blocked, actor, action, "thread",
        )
        .await
    }

    /// Sets a moderation flag of a school's row and audits it, in one transaction. `table` and
    /// `column` are this module's constants, never user input.
    #[expect(
        clippy::too_many_arguments,
        reason = "a private helper of the two moderation actions"
    )]
    async fn moderate(
        &self,
        table: &str,
        column: &str,
        school_id: Id,
        id: Id,
        on: bool,
        actor: Id,
        action: &str,
        entity: &str,
    ) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        let n = sqlx::query(&format!(
            "UPDATE {table} SET {column} = $3 WHERE school_id = $1 AND id = $2"
        ))
        .bind(school_id.to_string())
        .bind(id.to_string())
        .bind(i64::from(on))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(DbError::NotFound);
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: Some(actor),
                action,
                entity,
                entity_id: Some(id),
                detail: String::new(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- announcements -----

    /// Posts an announcement to the parents of a class's studying students and puts it in
    /// their inboxes, in one transaction. Returns its id and how many parents it went to.
    pub async fn post_announcement(
        &self,
        school_id: Id,
        class_id: Id,
        author: Id,
        title: &str,
        body: &str,
    ) -> DbResult<(Id, usize)> {
        let class = self.class(school_id, class_id).await?;
        let id = new_id();
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let recipients: Vec<Id> = sqlx::query(
            "SELECT DISTINCT g.user_id FROM enrollments e JOIN students st ON st.id = e.student_id \
             JOIN guardianships g ON g.student_id = st.id AND g.school_id = e.school_id \
             WHERE e.school_id = $1 AND e.class_id = $2 AND st.status = 'studying'",
        )
        .bind(school_id.to_string())
        .bind(class_id.to_string())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| get_id(r, "user_id"))
        .collect::<DbResult<_>>()?;
        sqlx::query(
            "INSERT INTO announcements (id, school_id, class_id, author_id, title, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(school_id.to_string())
        .bind(class_id.to_string())
        .bind(author.to_string())
        .bind(title)
        .bind(body)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let rows: Vec<Vec<crate::Val>> = recipients
            .iter()
            .map(|u| {
                vec![
                    school_id.to_string().into(),
                    id.to_string().into(),
                    u.to_string().into(),
                ]
            })
            .collect();
        crate::insert_many(
            &mut tx,
            "INSERT INTO announcement_recipients (school_id, announcement_id, user_id)",
            &rows,
        )
        .await?;
        notify_all(
            &mut tx,
            &recipients,
            Some(school_id),
            "announcement",
            &format!("Thông báo lớp {}: {title}", class.name),
            &body.chars().take(120).collect::<String>(),
            &format!("/announcements/{id}"),
        )
        .await?;
        tx.commit().await?;
        Ok((id, recipients.len()))
    }

    /// The announcements of a class, newest first, with read counts.
    pub async fn class_announcements(
        &self,
        school_id: Id,
        class_id: Id,
    ) -> DbResult<Vec<Announcement>> {
        self.announcements_where(
            "a.school_id = $1 AND a.class_id = $2",
            &[school_id.to_string(), class_id.to_string()],
        )
        .await
    }

    /// One announcement.
    pub async fn announcement(&self, id: Id) -> DbResult<Announcement> {
        self.announcements_where("a.id = $1", &[id.to_string()])
            .await?
            .pop()
            .ok_or(DbError::NotFound)
    }

    async fn announcements_where(
        &self,
        cond: &str,
        binds: &[String],
    ) -> DbResult<Vec<Announcement>> {
        let sql = format!(
            "SELECT a.id, a.class_id, u.full_name AS author_name, a.title, a.body, a.created_at, \
             (SELECT COUNT(*) FROM announcement_recipients r WHERE r.announcement_id = a.id) AS recipients, \
             (SELECT COUNT(*) FROM announcement_recipients r WHERE r.announcement_id = a.id AND r.read_at IS NOT NULL) AS read_count \
             FROM announcements a JOIN users u ON u.id = a.author_id WHERE {cond} ORDER BY a.created_at DESC LIMIT 50"
        );
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(Announcement {
                    id: get_id(r, "id")?,
                    class_id: get_id(r, "class_id")?,
                    author_name: get_str(r, "author_name")?,
                    title: get_str(r, "title")?,
                    body: get_str(r, "body")?,
                    created_at: get_i64(r, "created_at")?,
                    recipients: get_i64(r, "recipients")?,
                    read: get_i64(r, "read_count")?,
                })
            })
            .collect()
    }

    /// Whether a user is among an announcement's recipients, and if so whether they read it.
    pub async fn announcement_recipient(&self, id: Id, user_id: Id) -> DbResult<Option<bool>> {
        let row = sqlx::query("SELECT read_at FROM announcement_recipients WHERE announcement_id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user_id.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(r.try_get::<Option<i64>, _>("read_at")
                .map_err(DbError::from)?
                .is_some())
        })
        .transpose()
    }

    /// Records that a recipient opened an announcement (the first time counts).
    pub async fn mark_announcement_read(&self, id: Id, user_id: Id) -> DbResult<()> {
        sqlx::query("UPDATE announcement_recipients SET read_at = $3 WHERE announcement_id = $1 AND user_id = $2 AND read_at IS NULL")
            .bind(id.to_string())
            .bind(user_id.to_string())
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Who an announcement went to and whether they read it: (name, phone, read at).
    pub async fn announcement_readers(
        &self,
        id: Id,
    ) -> DbResult<Vec<(String, String, Option<i64>)>> {
        let rows = sqlx::query(
            "SELECT u.full_name, u.phone, r.read_at FROM announcement_recipients r JOIN users u ON u.id = r.user_id \
             WHERE r.announcement_id = $1",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<(String, String, Option<i64>)> = rows
            .iter()
            .map(|r| {
                Ok((
                    get_str(r, "full_name")?,
                    get_opt_str(r, "phone")?.unwrap_or_default(),
                    r.try_get::<Option<i64>, _>("read_at")
                        .map_err(DbError::from)?,
                ))
            })
            .collect::<DbResult<_>>()?;
        out.sort_by_cached_key(|(n, _, read)| (read.is_some(), domain::text::name_sort_key(n)));
        Ok(out)
    }

    /// The announcements a parent received for a class, newest first, with whether they read them.
    pub async fn announcements_for(
        &self,
        user_id: Id,
        school_id: Id,
        class_id: Id,
    ) -> DbResult<Vec<(Announcement, bool)>> {
        let all = self.class_announcements(school_id, class_id).await?;
        let mut out = Vec::new();
        for a in all {
            if let Some(read) = self.announcement_recipient(a.id, user_id).await? {
                out.push((a, read));
            }
        }
        Ok(out)
    }

    // ----- inbox -----

    /// A user's notifications, newest first.
    pub async fn notifications(&self, user_id: Id, limit: i64) -> DbResult<Vec<Notification>> {
        let rows = sqlx::query(
            "SELECT id, kind, title, body, link, created_at, CASE WHEN read_at IS NULL THEN 0 ELSE 1 END AS is_read \
             FROM notifications WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2",
        )
        .bind(user_id.to_string())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(notification_from).collect()
    }

    /// Marks one of a user's notifications read and returns where it leads.
    pub async fn open_notification(&self, user_id: Id, id: Id) -> DbResult<String> {
        let row = sqlx::query("SELECT link FROM notifications WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user_id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(DbError::NotFound)?;
        sqlx::query("UPDATE notifications SET read_at = $3 WHERE id = $1 AND user_id = $2 AND read_at IS NULL")
            .bind(id.to_string())
            .bind(user_id.to_string())
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        get_str(&row, "link")
    }

    /// Marks every notification of a user read.
    pub async fn read_all_notifications(&self, user_id: Id) -> DbResult<()> {
        sqlx::query("UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL")
            .bind(user_id.to_string())
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Marks read the notifications of a user that lead to `link` (opening a conversation
    /// directly clears its notices).
    pub async fn read_notifications_for(&self, user_id: Id, link: &str) -> DbResult<()> {
        sqlx::query("UPDATE notifications SET read_at = $3 WHERE user_id = $1 AND link = $2 AND read_at IS NULL")
            .bind(user_id.to_string())
            .bind(link)
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// How a user wants to be told, and when not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefs {
    /// Send email (when the account has an address).
    pub email: bool,
    /// Send Zalo messages (to the account's phone).
    pub zalo: bool,
    /// Quiet hours start (hour 0–23, Vietnam time): nothing is sent until `quiet_end`.
    pub quiet_start: u8,
    /// Quiet hours end.
    pub quiet_end: u8,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            email: true,
            zalo: true,
            quiet_start: 21,
            quiet_end: 6,
        }
    }
}

/// What the worker needs to deliver one notification.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The notification.
    pub notification: Notification,
    /// Its school, if any.
    pub school_id: Option<Id>,
    /// Recipient's account.
    pub user_id: Id,
    /// Recipient's name.
    pub full_name: String,
    /// Recipient's email.
    pub email: Option<String>,
    /// Recipient's phone.
    pub phone: Option<String>,
    /// Recipient's preferences.
    pub prefs: Prefs,
    /// Recipient's devices for Web Push.
    pub push: Vec<PushSubscription>,
    /// The school's own Zalo Official Account: (access token, template id).
    pub school_zalo: Option<(String, String)>,
}

impl Db {
    /// A user's notification preferences (defaults when never set).
    pub async fn prefs(&self, user_id: Id) -> DbResult<Prefs> {
        let row = sqlx::query(
            "SELECT email, zalo, quiet_start, quiet_end FROM notification_prefs WHERE user_id = $1",
        )
        .bind(user_id.to_string())
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(r) => Prefs {
                email: get_bool(&r, "email")?,
                zalo: get_bool(&r, "zalo")?,
                quiet_start: get_i64(&r, "quiet_start")?.clamp(0, 23) as u8,
                quiet_end: get_i64(&r, "quiet_end")?.clamp(0, 23) as u8,
            },
            None => Prefs::default(),
        })
    }

    /// Saves a user's notification preferences.
    pub async fn set_prefs(&self, user_id: Id, p: Prefs) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO notification_prefs (user_id, email, zalo, quiet_start, quiet_end, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, \
             zalo = excluded.zalo, quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end, \
             updated_at = excluded.updated_at",
        )
        .bind(user_id.to_string())
        .bind(i64::from(p.email))
        .bind(i64::from(p.zalo))
        .bind(i64::from(p.quiet_start))
        .bind(i64::from(p.quiet_end))
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Everything needed to deliver a notification.
    pub async fn outgoing(&self, notification_id: Id) -> DbResult<Outgoing> {
        let r = sqlx::query(
            "SELECT n.id, n.kind, n.title, n.body, n.link, n.created_at, n.school_id, n.user_id, \
             CASE WHEN n.read_at IS NULL THEN 0 ELSE 1 END AS is_read, u.full_name, u.email, u.phone \
             FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.id = $1",
        )
        .bind(notification_id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        let user_id = get_id(&r, "user_id")?;
        let school_id = crate::get_opt_id(&r, "school_id")?;
        Ok(Outgoing {
            notification: notification_from(&r)?,
            school_id,
            user_id,
            full_name: get_str(&r, "full_name")?,
            email: get_opt_str(&r, "email")?,
            phone: get_opt_str(&r, "phone")?,
            prefs: self.prefs(user_id).await?,
            push: self.push_subscriptions(user_id).await?,
            school_zalo: match school_id {
                Some(s) => self.school_zalo(s).await?,
                None => None,
            },
        })
    }

    /// Records the outcome of one delivery attempt on one channel.
    pub async fn record_delivery(
        &self,
        notification_id: Id,
        channel: &str,
        status: &str,
        detail: &str,
    ) -> DbResult<()> {
        sqlx::query("INSERT INTO deliveries (id, notification_id, channel, status, detail, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(new_id().to_string())
            .bind(notification_id.to_string())
            .bind(channel)
            .bind(status)
            .bind(detail.chars().take(500).collect::<String>())
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The delivery record of a notification: (channel, status, detail, unix ms), oldest first.
    pub async fn deliveries(
        &self,
        notification_id: Id,
    ) -> DbResult<Vec<(String, String, String, i64)>> {
        let rows = sqlx::query("SELECT channel, status, detail, at FROM deliveries WHERE notification_id = $1 ORDER BY at, id")
            .bind(notification_id.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    get_str(r, "channel")?,
                    get_str(r, "status")?,
                    get_str(r, "detail")?,
                    get_i64(r, "at")?,
                ))
            })
            .collect()
    }
}

impl Db {
    /// Sets (or clears) the email address of an account, refusing one used by another account.
    pub async fn set_email(&self, user_id: Id, email: Option<&str>) -> DbResult<()> {
        sqlx::query("UPDATE users SET email = $2 WHERE id = $1")
            .bind(user_id.to_string())
            .bind(email)
            .execute(self.pool())
            .await
            .map_err(|e| {
                crate::conflict_on_unique(e, "Email này đã được dùng cho một tài khoản khác")
            })?;
        Ok(())
    }

    /// How many deliveries of an announcement went out on each channel: (channel, sent).
    pub async fn announcement_deliveries(&self, id: Id) -> DbResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT d.channel, COUNT(*) AS n FROM deliveries d JOIN notifications n ON n.id = d.notification_id \
             WHERE n.link = $1 AND d.status = 'sent' GROUP BY d.channel ORDER BY d.channel",
        )
        .bind(format!("/announcements/{id}"))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((get_str(r, "channel")?, get_i64(r, "n")?)))
            .collect()
    }
}

/// A device that accepts Web Push for a user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PushSubscription {
    /// The push service URL of the device.
    pub endpoint: String,
    /// The device's public key (base64url).
    pub p256dh: String,
    /// The device's auth secret (base64url).
    pub auth: String,
}

impl Db {
    /// A stored setting, created with `make()` the first time (the same value for every node).
    pub async fn setting_or_init(
        &self,
        key: &str,
        make: impl FnOnce() -> String,
    ) -> DbResult<String> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(make())
        .execute(self.pool())
        .await?;
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_one(self.pool())
            .await?;
        get_str(&row, "value")
    }

    /// Registers (or moves to this user) a device's push subscription.
    pub async fn add_push_subscription(&self, user_id: Id, s: &PushSubscription) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, p256dh = excluded.p256dh, auth = excluded.auth",
        )
        .bind(new_id().to_string())
        .bind(user_id.to_string())
        .bind(&s.endpoint)
        .bind(&s.p256dh)
        .bind(&s.auth)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes a device's subscription (of this user, or of anyone when `user_id` is none,
    /// for subscriptions the push service says are gone).
    pub async fn remove_push_subscription(
        &self,
        user_id: Option<Id>,
        endpoint: &str,
    ) -> DbResult<()> {
        sqlx::query(
            "DELETE FROM push_subscriptions WHERE endpoint = $1 AND ($2 = '' OR user_id = $2)",
        )
        .bind(endpoint)
        .bind(user_id.map(|u| u.to_string()).unwrap_or_default())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A user's push subscriptions.
    pub async fn push_subscriptions(&self, user_id: Id) -> DbResult<Vec<PushSubscription>> {
        let rows = sqlx::query("SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at")
            .bind(user_id.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PushSubscription {
                    endpoint: get_str(r, "endpoint")?,
                    p256dh: get_str(r, "p256dh")?,
                    auth: get_str(r, "auth")?,
                })
            })
            .collect()
    }
}

impl Db {
    /// When a teacher answers messages, as they wrote it ("7:00–17:00 các ngày trong tuần").
    pub async fn office_hours(&self, user_id: Id) -> DbResult<String> {
        let row = sqlx::query("SELECT office_hours FROM notification_prefs WHERE user_id = $1")
            .bind(user_id.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| get_str(&r, "office_hours"))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Saves a teacher's office hours (the preferences row is created if missing).
    pub async fn set_office_hours(&self, user_id: Id, text: &str) -> DbResult<()> {
        let p = self.prefs(user_id).await?;
        self.set_prefs(user_id, p).await?;
        sqlx::query("UPDATE notification_prefs SET office_hours = $2 WHERE user_id = $1")
            .bind(user_id.to_string())
            .bind(text)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// One child's week, for the parent's weekly digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildWeek {
    /// The child.
    pub student_name: String,
    /// Their class this year.
    pub class_name: String,
    /// Class announcements the parent received in the week.
    pub announcements: i64,
    /// Messages to the parent about this child not read yet.
    pub unread_messages: i64,
}

impl Db {
    /// Whether the user wants the weekly digest.
    pub async fn wants_digest(&self, user_id: Id) -> DbResult<bool> {
        let row = sqlx::query("SELECT digest FROM notification_prefs WHERE user_id = $1")
            .bind(user_id.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| get_bool(&r, "digest"))
            .transpose()
            .map(|d| d.unwrap_or(true))
    }

    /// Turns the weekly digest on or off.
    pub async fn set_digest(&self, user_id: Id, on: bool) -> DbResult<()> {
        let p = self.prefs(user_id).await?;
        self.set_prefs(user_id, p).await?;
        sqlx::query("UPDATE notification_prefs SET digest = $2 WHERE user_id = $1")
            .bind(user_id.to_string())
            .bind(i64::from(on))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Every parent account with at least one child.
    pub async fn parents(&self) -> DbResult<Vec<Id>> {
        let rows = sqlx::query("SELECT DISTINCT user_id FROM guardianships")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| get_id(r, "user_id")).collect()
    }

    /// A parent's children and what happened for each since `since` (unix ms).
    pub async fn children_week(&self, parent: Id, since: i64) -> DbResult<Vec<ChildWeek>> {
        let mut out = Vec::new();
        for child in self.children_of(parent).await? {
            let Some(class_id) = child.class_id else {
                continue;
            };
            if child.status != domain::people::StudentStatus::Studying {
                continue;
            }
            let row = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM announcement_recipients r JOIN announcements a ON a.id = r.announcement_id \
                   WHERE r.user_id = $1 AND a.class_id = $2 AND a.created_at > $3) AS announcements, \
                 (SELECT COUNT(*) FROM messages m JOIN threads t ON t.id = m.thread_id \
                   WHERE t.parent_id = $1 AND t.student_id = $4 AND m.sender_id <> $1 AND m.hidden = 0 AND m.created_at > \
                   COALESCE((SELECT r.read_at FROM thread_reads r WHERE r.thread_id = t.id AND r.user_id = $1), 0)) AS unread",
            )
            .bind(parent.to_string())
            .bind(class_id.to_string())
            .bind(since)
            .bind(child.id.to_string())
            .fetch_one(self.pool())
            .await?;
            out.push(ChildWeek {
                student_name: child.full_name.clone(),
                class_name: child.class_name.clone().unwrap_or_default(),
                announcements: get_i64(&row, "announcements")?,
                unread_messages: get_i64(&row, "unread")?,
            });
        }
        Ok(out)
    }

    /// Puts one notification in a user's inbox (and queues its delivery).
    pub async fn notify_one(
        &self,
        user_id: Id,
        kind: &str,
        title: &str,
        body: &str,
        link: &str,
    ) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        notify_all(&mut tx, &[user_id], None, kind, title, body, link).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues a job under a fixed id, once: a second call with the same id does nothing (so
    /// several workers scheduling the same weekly job agree).
    pub async fn enqueue_once(
        &self,
        id: Id,
        kind: &str,
        payload: &str,
        run_at: i64,
    ) -> DbResult<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO jobs (id, kind, payload, run_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(kind)
        .bind(payload)
        .bind(run_at)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

/// A stored file to attach to a new message.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// Where it is stored.
    pub storage_key: String,
    /// Its type (checked from its bytes).
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
}

/// An attachment of a message.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// Id.
    pub id: Id,
    /// The message.
    pub message_id: Id,
    /// The conversation.
    pub thread_id: Id,
    /// Where it is stored.
    pub storage_key: String,
    /// Its type.
    pub content_type: String,
}

impl Db {
    /// The attachments of a conversation's messages.
    pub async fn thread_attachments(&self, thread_id: Id) -> DbResult<Vec<Attachment>> {
        self.attachments_where("m.thread_id = $1", thread_id).await
    }

    /// One attachment.
    pub async fn attachment(&self, id: Id) -> DbResult<Attachment> {
        self.attachments_where("a.id = $1", id)
            .await?
            .pop()
            .ok_or(DbError::NotFound)
    }

    async fn attachments_where(&self, cond: &str, id: Id) -> DbResult<Vec<Attachment>> {
        let rows = sqlx::query(&format!(
            "SELECT a.id, a.message_id, m.thread_id, a.storage_key, a.content_type FROM message_attachments a \
             JOIN messages m ON m.id = a.message_id WHERE {cond} ORDER BY a.created_at, a.id"
        ))
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Attachment {
                    id: get_id(r, "id")?,
                    message_id: get_id(r, "message_id")?,
                    thread_id: get_id(r, "thread_id")?,
                    storage_key: get_str(r, "storage_key")?,
                    content_type: get_str(r, "content_type")?,
                })
            })
            .collect()
    }
}

impl Db {
    /// A school's own Zalo Official Account: (access token, template id).
    pub async fn school_zalo(&self, school_id: Id) -> DbResult<Option<(String, String)>> {
        let row =
            sqlx::query("SELECT access_token, template_id FROM school_zalo WHERE school_id = $1")
                .bind(school_id.to_string())
                .fetch_optional(self.pool())
                .await?;
        row.map(|r| Ok((get_str(&r, "access_token")?, get_str(&r, "template_id")?)))
            .transpose()
    }

    /// Sets or clears a school's Zalo Official Account, audited (the token itself is not).
    pub async fn set_school_zalo(
        &self,
        school_id: Id,
        account: Option<(&str, &str)>,
        actor: Id,
    ) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        match account {
            Some((token, template)) => {
                sqlx::query(
                    "INSERT INTO school_zalo (school_id, access_token, template_id, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (school_id) DO UPDATE SET access_token = excluded.access_token, \
                     template_id = excluded.template_id, updated_at = excluded.updated_at",
                )
                .bind(school_id.to_string())
                .bind(token)
                .bind(template)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM school_zalo WHERE school_id = $1")
                    .bind(school_id.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: Some(actor),
                action: if account.is_some() {
                    "school.zalo_set"
                } else {
                    "school.zalo_clear"
                },
                entity: "school",
                entity_id: Some(school_id),
                detail: account
                    .map(|(_, t)| format!("mẫu ZNS {t}"))
                    .unwrap_or_default(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A teacher's comment on a student.
#[derive(Debug, Clone)]
pub struct Comment {
    /// Author's name.
    pub author_name: String,
    /// Text.
    pub body: String,
    /// When.
    pub created_at: i64,
}

impl Db {
    /// Adds a teacher's comment on a student and tells the student's parents, in one transaction.
    pub async fn add_comment(
        &self,
        school_id: Id,
        student_id: Id,
        author: Id,
        body: &str,
    ) -> DbResult<()> {
        let student = self.student(school_id, student_id, None).await?;
        let parents: Vec<Id> = self
            .guardians(school_id, student_id)
            .await?
            .into_iter()
            .map(|g| g.user_id)
            .collect();
        let author_name = self.user(author).await?.full_name;
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO student_comments (id, school_id, student_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id().to_string())
        .bind(school_id.to_string())
        .bind(student_id.to_string())
        .bind(author.to_string())
        .bind(body)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        notify_all(
            &mut tx,
            &parents,
            Some(school_id),
            "comment",
            &format!("Nhận xét mới về {} của {author_name}", student.full_name),
            &body.chars().take(120).collect::<String>(),
            &format!("/schools/{school_id}/students/{student_id}"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The comments on a student, newest first.
    pub async fn comments(&self, school_id: Id, student_id: Id) -> DbResult<Vec<Comment>> {
        let rows = sqlx::query(
            "SELECT u.full_name AS author_name, c.body, c.created_at FROM student_comments c JOIN users u ON u.id = c.author_id \
             WHERE c.school_id = $1 AND c.student_id = $2 ORDER BY c.created_at DESC LIMIT 100",
        )
        .bind(school_id.to_string())
        .bind(student_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Comment {
                    author_name: get_str(r, "author_name")?,
                    body: get_str(r, "body")?,
                    created_at: get_i64(r, "created_at")?,
                })
            })
            .collect()
    }
}
