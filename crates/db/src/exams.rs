//! Online exams: an exam of a course made from one question bank, its pre-generated attempts
//! (one per student, with the student's paper as JSON), answers saved one statement each with
//! an idempotency key and a per-item sequence number, marks, and the integrity log.
//!
//! This crate does not know the exam engine: papers, variants and responses are JSON strings
//! the `web` crate makes and reads with the `exam` crate.

use crate::audit::{AuditEntry, write as audit};
use crate::{
    Db, DbError, DbResult, Val, get_i64, get_id, get_opt_id, get_opt_str, get_str, now_ms,
};
use domain::{Id, new_id};
use sqlx::Row;
use sqlx::any::AnyRow;

fn opt_i64(row: &AnyRow, col: &str) -> DbResult<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}

/// A question bank as exam forms list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankSummary {
    /// Id.
    pub id: Id,
    /// Name.
    pub name: String,
    /// `personal`, `group` or `school`.
    pub scope: String,
    /// Active questions.
    pub questions: i64,
}

/// One active question of a bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankQuestion {
    /// Id.
    pub id: Id,
    /// Kind code (`single_choice`, …).
    pub kind: String,
    /// `exam::model::Question` JSON.
    pub body: String,
    /// Topic.
    pub topic: String,
    /// Level code or empty.
    pub level: String,
}

/// A question to put into a bank (sample banks, tests, the benchmark).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBankQuestion {
    /// Kind code.
    pub kind: String,
    /// `exam::model::Question` JSON.
    pub body: String,
    /// Accent-folded text for search.
    pub text_folded: String,
    /// Topic.
    pub topic: String,
    /// Level code or empty.
    pub level: String,
}

/// The settings of an exam, as the teacher's form gives them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExamSettings {
    /// Title.
    pub title: String,
    /// `fixed` or `matrix`.
    pub mode: String,
    /// JSON of the chosen question ids or of the matrix rows.
    pub spec: String,
    /// Opens, unix ms.
    pub opens_at: i64,
    /// Closes, unix ms.
    pub closes_at: i64,
    /// Minutes per attempt.
    pub duration_min: i64,
    /// Attempts allowed per student.
    pub attempts_allowed: i64,
    /// Access code, empty for none.
    pub access_code: String,
    /// CIDR list, empty for anywhere.
    pub ip_ranges: String,
    /// Shuffle questions.
    pub shuffle_questions: bool,
    /// Shuffle options.
    pub shuffle_options: bool,
    /// One question per screen.
    pub one_per_page: bool,
    /// `immediately` or `after_close`.
    pub score_release: String,
    /// `never` or `after_close`.
    pub answer_release: String,
    /// `regular` or `periodic`.
    pub kind: String,
}

/// A stored exam.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExamRow {
    /// Id.
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// Course.
    pub course_id: Id,
    /// Bank the questions came from.
    pub bank_id: Id,
    /// Settings.
    pub settings: ExamSettings,
    /// `exam::model::Exam` JSON (one section).
    pub paper: String,
    /// Force-majeure reason recorded by the principal (periodic exams), empty if none.
    pub force_majeure: String,
    /// Who recorded it, by name.
    pub force_majeure_by: Option<String>,
    /// When.
    pub force_majeure_at: Option<i64>,
    /// `draft` or `published`.
    pub status: String,
    /// Seed of the shuffles.
    pub seed: i64,
    /// Author.
    pub created_by: Id,
    /// Published, unix ms.
    pub published_at: Option<i64>,
}

const EXAM_SELECT: &str = "SELECT e.*, u.full_name AS fm_name FROM exams e \
     LEFT JOIN users u ON u.id = e.force_majeure_by";

fn exam_row(r: &AnyRow) -> DbResult<ExamRow> {
    Ok(ExamRow {
        id: get_id(r, "id")?,
        school_id: get_id(r, "school_id")?,
        course_id: get_id(r, "course_id")?,
        bank_id: get_id(r, "bank_id")?,
        settings: ExamSettings {
            title: get_str(r, "title")?,
            mode: get_str(r, "mode")?,
            spec: get_str(r, "spec")?,
            opens_at: get_i64(r, "opens_at")?,
            closes_at: get_i64(r, "closes_at")?,
            duration_min: get_i64(r, "duration_min")?,
            attempts_allowed: get_i64(r, "attempts_allowed")?,
            access_code: get_str(r, "access_code")?,
            ip_ranges: get_str(r, "ip_ranges")?,
            shuffle_questions: get_i64(r, "shuffle_questions")? != 0,
            shuffle_options: get_i64(r, "shuffle_options")? != 0,
            one_per_page: get_i64(r, "one_per_page")? != 0,
            score_release: get_str(r, "score_release")?,
            answer_release: get_str(r, "answer_release")?,
            kind: get_str(r, "kind")?,
        },
        paper: get_str(r, "paper")?,
        force_majeure: get_str(r, "force_majeure")?,
        force_majeure_by: get_opt_str(r, "fm_name")?,
        force_majeure_at: opt_i64(r, "force_majeure_at")?,
        status: get_str(r, "status")?,
        seed: get_i64(r, "seed")?,
        created_by: get_id(r, "created_by")?,
        published_at: opt_i64(r, "published_at")?,
    })
}

/// An attempt to pre-generate at publication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttempt {
    /// Student record.
    pub student_id: Id,
    /// Their account, if any.
    pub user_id: Option<Id>,
    /// Attempt number, from 1.
    pub attempt_no: i64,
    /// The student's paper as JSON.
    pub variant: String,
}

/// A stored attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Id.
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// Exam.
    pub exam_id: Id,
    /// Student record.
    pub student_id: Id,
    /// Student account.
    pub user_id: Option<Id>,
    /// Student's name.
    pub student_name: String,
    /// Student code.
    pub student_code: String,
    /// Attempt number.
    pub attempt_no: i64,
    /// The paper JSON.
    pub variant: String,
    /// `ready`, `started` or `submitted` as stored (see [`Attempt::effective_status`]).
    pub status: String,
    /// Duration, ms.
    pub duration_ms: i64,
    /// Closing time of the exam, unix ms.
    pub closes_at: i64,
    /// Extra time of this student, ms.
    pub extra_ms: i64,
    /// Started, unix ms.
    pub started_at: Option<i64>,
    /// Deadline, unix ms.
    pub deadline_at: Option<i64>,
    /// Submitted, unix ms.
    pub submitted_at: Option<i64>,
    /// Session that started it.
    pub session_hash: String,
    /// Address that started it.
    pub ip: String,
    /// Earned, 1/10 000 point.
    pub score_e4: Option<i64>,
    /// Maximum, 1/10 000 point.
    pub max_e4: Option<i64>,
    /// Per displayed item points JSON.
    pub per_item: String,
    /// Essay marks JSON.
    pub manual: String,
    /// Essays still to mark.
    pub manual_pending: i64,
    /// Last graded, unix ms.
    pub graded_at: Option<i64>,
}

impl Attempt {
    /// The status as users must see it at `now`: a started attempt past its deadline (plus
    /// `grace_ms` for saves in flight) is submitted, whether or not the sweep has run.
    pub fn effective_status(&self, now: i64, grace_ms: i64) -> &str {
        match (self.status.as_str(), self.deadline_at) {
            ("started", Some(d)) if now > d + grace_ms => "submitted",
            (s, _) => s,
        }
    }
}

const ATTEMPT_SELECT: &str = "SELECT a.*, st.full_name AS student_name, st.code AS student_code \
     FROM exam_attempts a JOIN students st ON st.id = a.student_id";

fn attempt_row(r: &AnyRow) -> DbResult<Attempt> {
    Ok(Attempt {
        id: get_id(r, "id")?,
        school_id: get_id(r, "school_id")?,
        exam_id: get_id(r, "exam_id")?,
        student_id: get_id(r, "student_id")?,
        user_id: get_opt_id(r, "user_id")?,
        student_name: get_str(r, "student_name")?,
        student_code: get_str(r, "student_code")?,
        attempt_no: get_i64(r, "attempt_no")?,
        variant: get_str(r, "variant")?,
        status: get_str(r, "status")?,
        duration_ms: get_i64(r, "duration_ms")?,
        closes_at: get_i64(r, "closes_at")?,
        extra_ms: get_i64(r, "extra_ms")?,
        started_at: opt_i64(r, "started_at")?,
        deadline_at: opt_i64(r, "deadline_at")?,
        submitted_at: opt_i64(r, "submitted_at")?,
        session_hash: get_str(r, "session_hash")?,
        ip: get_str(r, "ip")?,
        score_e4: opt_i64(r, "score_e4")?,
        max_e4: opt_i64(r, "max_e4")?,
        per_item: get_str(r, "per_item")?,
        manual: get_str(r, "manual")?,
        manual_pending: get_i64(r, "manual_pending")?,
        graded_at: opt_i64(r, "graded_at")?,
    })
}

/// The small part of an attempt a save needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptHead {
    /// Exam.
    pub exam_id: Id,
    /// School.
    pub school_id: Id,
    /// Account of the student.
    pub user_id: Option<Id>,
    /// The paper JSON.
    pub variant: String,
}

/// What became of a save.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOutcome {
    /// Stored with this seq.
    Saved(i64),
    /// Not newer than what is stored (a replay or an older save): the stored seq.
    Unchanged(i64),
    /// The attempt is not open for this session (not started, submitted or past the deadline).
    Closed,
    /// No valid session behind the save (logged out, expired).
    NoSession,
    /// The session's user is not the attempt's student.
    NotYours,
}

/// One answer save: the attempt, the session making it (checked in the same statement) and
/// the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerSave {
    /// Attempt.
    pub attempt_id: Id,
    /// Hash of the session token of the request.
    pub session_hash: String,
    /// Displayed item index.
    pub item: i64,
    /// Response JSON.
    pub response: String,
    /// Sequence number of this change of the item.
    pub seq: i64,
    /// Idempotency key.
    pub key: String,
    /// Arrival, unix ms.
    pub now: i64,
    /// How long after the deadline a save still counts (in flight at the deadline).
    pub grace_ms: i64,
}

type SaveJob = (
    AnswerSave,
    tokio::sync::oneshot::Sender<DbResult<SaveOutcome>>,
);

/// The answer writer of a [`Db`]: saves arriving while earlier ones are being written are
/// taken together into the next statement ("group commit"), so a storm of saves costs a few
/// commits per fsync instead of one commit each. Nothing waits on a timer: a lone save is
/// written at once, and batches grow only when the database is the bottleneck. Every save is
/// acknowledged after the commit that holds it (`synchronous_commit` stays on).
pub struct SaveQueue {
    tx: tokio::sync::mpsc::UnboundedSender<SaveJob>,
}

impl std::fmt::Debug for SaveQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaveQueue").finish_non_exhaustive()
    }
}

/// Saves in one statement at most (8 parameters each: far below both engines' limits).
const MAX_BATCH: usize = 128;

impl SaveQueue {
    /// Starts the writer on the current runtime; `None` outside one.
    fn start(pool: sqlx::AnyPool, backend: crate::Backend) -> Option<Self> {
        let rt = tokio::runtime::Handle::try_current().ok()?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        // SQLite has one writer, but the commit that fills the WAL also checkpoints it (two
        // fsyncs) on its own connection after the write lock is released: a second batch
        // in flight writes meanwhile instead of every save waiting for the disk. PostgreSQL
        // commits several statements per WAL flush: a few batches in flight keep the disk busy.
        let parallel = match backend {
            crate::Backend::Sqlite => 2,
            crate::Backend::Postgres => 4,
        };
        rt.spawn(run_saves(pool, backend, rx, parallel));
        Some(Self { tx })
    }
}

async fn run_saves(
    pool: sqlx::AnyPool,
    backend: crate::Backend,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<SaveJob>,
    parallel: usize,
) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = rx.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            let (saves, replies): (Vec<AnswerSave>, Vec<_>) = batch.into_iter().unzip();
            match write_saves(&pool, backend, &saves).await {
                Ok(outcomes) => {
                    for (reply, o) in replies.into_iter().zip(outcomes) {
                        let _ = reply.send(Ok(o));
                    }
                }
                Err(_) => {
                    // One save must not fail its neighbours: each alone, with its own result
                    // (all errors when the database is down; none acknowledged then).
                    for (save, reply) in saves.iter().zip(replies) {
                        let r = write_saves(&pool, backend, std::slice::from_ref(save))
                            .await
                            .map(|mut o| o.pop().unwrap_or(SaveOutcome::Closed));
                        let _ = reply.send(r);
                    }
                }
            }
            drop(slot);
        });
    }
}

/// Writes saves and returns their outcomes in order. Saves of the same item go into separate
/// statements (one statement cannot update a row twice), in arrival order.
///
/// A save and the submission of its attempt never cross: an acknowledged answer is one the
/// marking sees. SQLite has one writer, so a save commits wholly before or after the
/// submission's update. On PostgreSQL the statement takes a share lock on the attempt rows it
/// writes for (`FOR SHARE OF a`): a submission waits for the save's commit, and a save that
/// meets a submission in progress re-reads the attempt after it and finds it closed — without
/// the lock, a save whose snapshot still saw "started" could commit after the marking had read
/// the answers, acknowledged yet not marked.
async fn write_saves(
    pool: &sqlx::AnyPool,
    backend: crate::Backend,
    saves: &[AnswerSave],
) -> DbResult<Vec<SaveOutcome>> {
    let lock = match backend {
        crate::Backend::Postgres => " FOR SHARE OF a",
        crate::Backend::Sqlite => "",
    };
    let mut out: Vec<Option<SaveOutcome>> = vec![None; saves.len()];
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    let mut seen: std::collections::HashMap<(Id, i64), usize> = Default::default();
    for (i, s) in saves.iter().enumerate() {
        let n = seen.entry((s.attempt_id, s.item)).or_insert(0);
        if rounds.len() <= *n {
            rounds.push(Vec::new());
        }
        rounds[*n].push(i);
        *n += 1;
    }
    for round in rounds {
        let mut sql = String::from(
            "WITH v (attempt_id, item, response, seq, idem_key, saved_at, sid, grace) AS (VALUES ",
        );
        for k in 0..round.len() {
            if k > 0 {
                sql.push(',');
            }
            let b = k * 8;
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8
            ));
        }
        sql.push_str(
            ") INSERT INTO exam_answers (attempt_id, item, school_id, response, seq, idem_key, saved_at) \
             SELECT a.id, v.item, a.school_id, v.response, v.seq, v.idem_key, v.saved_at \
             FROM v JOIN exam_attempts a ON a.id = v.attempt_id JOIN sessions s ON s.id_hash = v.sid \
             WHERE s.user_id = a.user_id AND s.expires_at > v.saved_at AND a.status = 'started' \
             AND a.deadline_at + v.grace >= v.saved_at",
        );
        sql.push_str(lock);
        sql.push_str(
            " ON CONFLICT (attempt_id, item) DO UPDATE SET response = excluded.response, seq = excluded.seq, \
             idem_key = excluded.idem_key, saved_at = excluded.saved_at WHERE excluded.seq > exam_answers.seq \
             RETURNING attempt_id, item",
        );
        let mut q = sqlx::query(&sql);
        for &i in &round {
            let s = &saves[i];
            q = q
                .bind(s.attempt_id.to_string())
                .bind(s.item)
                .bind(s.response.clone())
                .bind(s.seq)
                .bind(s.key.clone())
                .bind(s.now)
                .bind(s.session_hash.clone())
                .bind(s.grace_ms);
        }
        let written: std::collections::HashSet<(String, i64)> = q
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok((get_str(r, "attempt_id")?, get_i64(r, "item")?)))
            .collect::<DbResult<_>>()?;
        for &i in &round {
            let s = &saves[i];
            if written.contains(&(s.attempt_id.to_string(), s.item)) {
                out[i] = Some(SaveOutcome::Saved(s.seq));
            }
        }
    }
    // Nothing written for these: a replay or an older save (the answer stays), a closed
    // attempt, or not this session's attempt. Rare, so one query each.
    for (i, s) in saves.iter().enumerate() {
        if out[i].is_none() {
            out[i] = Some(why_not_saved(pool, s).await?);
        }
    }
    Ok(out
        .into_iter()
        .map(|o| o.unwrap_or(SaveOutcome::Closed))
        .collect())
}

async fn why_not_saved(pool: &sqlx::AnyPool, s: &AnswerSave) -> DbResult<SaveOutcome> {
    let row = sqlx::query(
        "SELECT a.status, a.deadline_at, a.user_id, w.seq, ss.user_id AS session_user, ss.expires_at \
         FROM exam_attempts a LEFT JOIN exam_answers w ON w.attempt_id = a.id AND w.item = $1 \
         LEFT JOIN sessions ss ON ss.id_hash = $2 WHERE a.id = $3",
    )
    .bind(s.item)
    .bind(s.session_hash.clone())
    .bind(s.attempt_id.to_string())
    .fetch_optional(pool)
    .await?
    .ok_or(DbError::NotFound)?;
    match (
        get_opt_str(&row, "session_user")?,
        opt_i64(&row, "expires_at")?,
    ) {
        (Some(_), Some(exp)) if exp > s.now => {}
        _ => return Ok(SaveOutcome::NoSession),
    }
    if get_opt_str(&row, "session_user")? != get_opt_str(&row, "user_id")? {
        return Ok(SaveOutcome::NotYours);
    }
    let open = get_str(&row, "status")? == "started"
        && opt_i64(&row, "deadline_at")?.is_some_and(|d| d + s.grace_ms >= s.now);
    match opt_i64(&row, "seq")? {
        Some(stored) if open || stored >= s.seq => Ok(SaveOutcome::Unchanged(stored)),
        _ => Ok(SaveOutcome::Closed),
    }
}

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Displayed item index.
    pub item: i64,
    /// Response JSON (displayed order).
    pub response: String,
    /// Its seq.
    pub seq: i64,
}

/// One integrity event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExamEvent {
    /// Attempt.
    pub attempt_id: Id,
    /// Kind code.
    pub kind: String,
    /// Detail.
    pub detail: String,
    /// Address.
    pub ip: String,
    /// When.
    pub at: i64,
}

/// Marks of an attempt to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marks {
    /// Earned, 1/10 000 point.
    pub score_e4: i64,
    /// Maximum, 1/10 000 point.
    pub max_e4: i64,
    /// Per displayed item JSON.
    pub per_item: String,
    /// Essays still to mark.
    pub manual_pending: i64,
}

impl Db {
    /// The banks of a school a teacher may build exams from: their own and the shared ones.
    pub async fn exam_banks(&self, school_id: Id, user_id: Id) -> DbResult<Vec<BankSummary>> {
        let rows = sqlx::query(
            "SELECT b.id, b.name, b.scope, (SELECT COUNT(*) FROM bank_questions q \
             WHERE q.bank_id = b.id AND q.status = 'active') AS n FROM question_banks b \
             WHERE b.school_id = $1 AND (b.owner_id = $2 OR b.scope <> 'personal') ORDER BY b.name",
        )
        .bind(school_id.to_string())
        .bind(user_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BankSummary {
                    id: get_id(r, "id")?,
                    name: get_str(r, "name")?,
                    scope: get_str(r, "scope")?,
                    questions: get_i64(r, "n")?,
                })
            })
            .collect()
    }

    /// The active questions of a bank of a school, oldest first.
    pub async fn exam_bank_questions(
        &self,
        school_id: Id,
        bank_id: Id,
    ) -> DbResult<Vec<BankQuestion>> {
        let rows = sqlx::query(
            "SELECT id, kind, body, topic, level FROM bank_questions \
             WHERE school_id = $1 AND bank_id = $2 AND status = 'active' ORDER BY created_at, id",
        )
        .bind(school_id.to_string())
        .bind(bank_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BankQuestion {
                    id: get_id(r, "id")?,
                    kind: get_str(r, "kind")?,
                    body: get_str(r, "body")?,
                    topic: get_str(r, "topic")?,
                    level: get_str(r, "level")?,
                })
            })
            .collect()
    }

    /// Creates a personal bank with questions in one transaction (the sample bank of the exam
    /// page, tests and the benchmark; the bank pages have their own import).
    pub async fn exam_sample_bank(
        &self,
        school_id: Id,
        owner: Id,
        name: &str,
        questions: &[NewBankQuestion],
    ) -> DbResult<Id> {
        let id = new_id();
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO question_banks (id, school_id, owner_id, scope, subject_group, name, name_folded, created_at) \
             VALUES ($1, $2, $3, 'personal', '', $4, $5, $6)",
        )
        .bind(id.to_string())
        .bind(school_id.to_string())
        .bind(owner.to_string())
        .bind(name)
        .bind(format!("{} {}", domain::text::fold(name), id.simple()))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let rows: Vec<Vec<Val>> = questions
            .iter()
            .enumerate()
            .map(|(i, q)| {
                vec![
                    new_id().to_string().into(),
                    school_id.to_string().into(),
                    id.to_string().into(),
                    q.kind.clone().into(),
                    q.body.clone().into(),
                    q.text_folded.clone().into(),
                    q.topic.clone().into(),
                    q.level.clone().into(),
                    owner.to_string().into(),
                    (now + i as i64).into(),
                    now.into(),
                ]
            })
            .collect();
        crate::insert_many(
            &mut tx,
            "INSERT INTO bank_questions (id, school_id, bank_id, kind, body, text_folded, topic, level, created_by, created_at, updated_at)",
            &rows,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Creates a draft exam, audited.
    #[expect(
        clippy::too_many_arguments,
        reason = "the exam's owners and its content"
    )]
    pub async fn create_exam(
        &self,
        school_id: Id,
        course_id: Id,
        bank_id: Id,
        s: &ExamSettings,
        paper: &str,
        seed: i64,
        actor: Id,
    ) -> DbResult<Id> {
        let id = new_id();
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO exams (id, school_id, course_id, bank_id, title, mode, spec, paper, opens_at, closes_at, \
             duration_min, attempts_allowed, access_code, ip_ranges, shuffle_questions, shuffle_options, one_per_page, \
             score_release, answer_release, kind, status, seed, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, 'draft', $21, $22, $23, $23)",
        )
        .bind(id.to_string())
        .bind(school_id.to_string())
        .bind(course_id.to_string())
        .bind(bank_id.to_string())
        .bind(&s.title)
        .bind(&s.mode)
        .bind(&s.spec)
        .bind(paper)
        .bind(s.opens_at)
        .bind(s.closes_at)
        .bind(s.duration_min)
        .bind(s.attempts_allowed)
        .bind(&s.access_code)
        .bind(&s.ip_ranges)
        .bind(s.shuffle_questions as i64)
        .bind(s.shuffle_options as i64)
        .bind(s.one_per_page as i64)
        .bind(&s.score_release)
        .bind(&s.answer_release)
        .bind(&s.kind)
        .bind(seed)
        .bind(actor.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: Some(actor),
                action: "exam.create",
                entity: "exam",
                entity_id: Some(id),
                detail: format!(
                    "{} · {} · {}–{} · {} phút",
                    s.title, s.mode, s.opens_at, s.closes_at, s.duration_min
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// One exam.
    pub async fn exam(&self, id: Id) -> DbResult<ExamRow> {
        let row = sqlx::query(&format!("{EXAM_SELECT} WHERE e.id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(DbError::NotFound)?;
        exam_row(&row)
    }

    /// The exams of a course, newest first.
    pub async fn course_exams(&self, school_id: Id, course_id: Id) -> DbResult<Vec<ExamRow>> {
        let rows = sqlx::query(&format!(
            "{EXAM_SELECT} WHERE e.school_id = $1 AND e.course_id = $2 ORDER BY e.created_at DESC"
        ))
        .bind(school_id.to_string())
        .bind(course_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(exam_row).collect()
    }

    /// Changes an exam's settings, audited with what was and what is. The caller keeps the
    /// shuffles and the kind of a published exam (its papers were generated with them). The
    /// window and the duration also move the attempts not yet submitted: ready ones will start
    /// with the new values, running ones get start + duration + extra time, capped by the new
    /// closing time — so "five more minutes for everyone" is one change.
    pub async fn update_exam_settings(
        &self,
        exam: &ExamRow,
        s: &ExamSettings,
        actor: Id,
    ) -> DbResult<()> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE exams SET title = $1, opens_at = $2, closes_at = $3, duration_min = $4, attempts_allowed = $5, \
             access_code = $6, ip_ranges = $7, shuffle_questions = $8, shuffle_options = $9, one_per_page = $10, \
             score_release = $11, answer_release = $12, kind = $13, updated_at = $14 WHERE id = $15 AND school_id = $16",
        )
        .bind(&s.title)
        .bind(s.opens_at)
        .bind(s.closes_at)
        .bind(s.duration_min)
        .bind(s.attempts_allowed)
        .bind(&s.access_code)
        .bind(&s.ip_ranges)
        .bind(s.shuffle_questions as i64)
        .bind(s.shuffle_options as i64)
        .bind(s.one_per_page as i64)
        .bind(&s.score_release)
        .bind(&s.answer_release)
        .bind(&s.kind)
        .bind(now)
        .bind(exam.id.to_string())
        .bind(exam.school_id.to_string())
        .execute(&mut *tx)
        .await?;
        let duration_ms = s.duration_min * 60_000;
        sqlx::query(
            "UPDATE exam_attempts SET duration_ms = $1, closes_at = $2, \
             deadline_at = CASE WHEN status = 'started' THEN \
               (CASE WHEN started_at + $1 + extra_ms < $2 THEN started_at + $1 + extra_ms ELSE $2 END) \
               ELSE deadline_at END \
             WHERE exam_id = $3 AND school_id = $4 AND status IN ('ready', 'started')",
        )
        .bind(duration_ms)
        .bind(s.closes_at)
        .bind(exam.id.to_string())
        .bind(exam.school_id.to_string())
        .execute(&mut *tx)
        .await?;
        let o = &exam.settings;
        let mut changes = Vec::new();
        let mut diff = |label: &str, before: String, after: String| {
            if before != after {
                changes.push(format!("{label}: {before} → {after}"));
            }
        };
        diff("tên", o.title.clone(), s.title.clone());
        diff("mở", o.opens_at.to_string(), s.opens_at.to_string());
        diff("đóng", o.closes_at.to_string(), s.closes_at.to_string());
        diff(
            "phút",
            o.duration_min.to_string(),
            s.duration_min.to_string(),
        );
        diff(
            "số lần",
            o.attempts_allowed.to_string(),
            s.attempts_allowed.to_string(),
        );
        diff("mã vào", o.access_code.clone(), s.access_code.clone());
        diff("dải IP", o.ip_ranges.clone(), s.ip_ranges.clone());
        diff(
            "trộn câu",
            o.shuffle_questions.to_string(),
            s.shuffle_questions.to_string(),
        );
        diff(
            "trộn phương án",
            o.shuffle_options.to_string(),
            s.shuffle_options.to_string(),
        );
        diff(
            "mỗi trang một câu",
            o.one_per_page.to_string(),
            s.one_per_page.to_string(),
        );
        diff(
            "công bố điểm",
            o.score_release.clone(),
            s.score_release.clone(),
        );
        diff(
            "công bố đáp án",
            o.answer_release.clone(),
            s.answer_release.clone(),
        );
        diff("loại", o.kind.clone(), s.kind.clone());
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(exam.school_id),
                actor_id: Some(actor),
                action: "exam.settings",
                entity: "exam",
                entity_id: Some(exam.id),
                detail: if changes.is_empty() {
                    "không đổi".into()
                } else {
                    changes.join("; ")
                },
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the principal's force-majeure reason for running a periodic exam online
    /// (Circular 09 Art. 6.3), audited.
    pub async fn set_exam_force_majeure(
        &self,
        exam: &ExamRow,
        reason: &str,
        actor: Id,
    ) -> DbResult<()> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE exams SET force_majeure = $1, force_majeure_by = $2, force_majeure_at = $3, updated_at = $3 \
             WHERE id = $4 AND school_id = $5",
        )
        .bind(reason)
        .bind(actor.to_string())
        .bind(now)
        .bind(exam.id.to_string())
        .bind(exam.school_id.to_string())
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(exam.school_id),
                actor_id: Some(actor),
                action: "exam.force_majeure",
                entity: "exam",
                entity_id: Some(exam.id),
                detail: format!("{} → {reason}", exam.force_majeure),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Publishes a draft and inserts every pre-generated attempt in one transaction, so that
    /// starting is a single update. Refused when already published.
    pub async fn publish_exam(
        &self,
        exam: &ExamRow,
        attempts: &[NewAttempt],
        actor: Id,
    ) -> DbResult<()> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let n = sqlx::query(
            "UPDATE exams SET status = 'published', published_at = $1, updated_at = $1 \
             WHERE id = $2 AND school_id = $3 AND status = 'draft'",
        )
        .bind(now)
        .bind(exam.id.to_string())
        .bind(exam.school_id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(DbError::Conflict("Bài kiểm tra đã được giao rồi.".into()));
        }
        let duration_ms = exam.settings.duration_min * 60_000;
        let rows: Vec<Vec<Val>> = attempts
            .iter()
            .map(|a| {
                vec![
                    new_id().to_string().into(),
                    exam.school_id.to_string().into(),
                    exam.id.to_string().into(),
                    a.student_id.to_string().into(),
                    a.user_id.map(|u| u.to_string()).into(),
                    a.attempt_no.into(),
                    a.variant.clone().into(),
                    duration_ms.into(),
                    exam.settings.closes_at.into(),
                ]
            })
            .collect();
        crate::insert_many(
            &mut tx,
            "INSERT INTO exam_attempts (id, school_id, exam_id, student_id, user_id, attempt_no, variant, duration_ms, closes_at)",
            &rows,
        )
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(exam.school_id),
                actor_id: Some(actor),
                action: "exam.publish",
                entity: "exam",
                entity_id: Some(exam.id),
                detail: format!("{} bài làm được tạo sẵn", attempts.len()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds one more attempt for a student (when several are allowed); idempotent per number.
    pub async fn add_attempt(&self, exam: &ExamRow, a: &NewAttempt) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO exam_attempts (id, school_id, exam_id, student_id, user_id, attempt_no, variant, duration_ms, closes_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (school_id, exam_id, student_id, attempt_no) DO NOTHING",
        )
        .bind(new_id().to_string())
        .bind(exam.school_id.to_string())
        .bind(exam.id.to_string())
        .bind(a.student_id.to_string())
        .bind(a.user_id.map(|u| u.to_string()))
        .bind(a.attempt_no)
        .bind(&a.variant)
        .bind(exam.settings.duration_min * 60_000)
        .bind(exam.settings.closes_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// One attempt.
    pub async fn attempt(&self, id: Id) -> DbResult<Attempt> {
        let row = sqlx::query(&format!("{ATTEMPT_SELECT} WHERE a.id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(DbError::NotFound)?;
        attempt_row(&row)
    }

    /// What a save needs of an attempt (for the in-memory cache of the web layer).
    pub async fn attempt_head(&self, id: Id) -> DbResult<AttemptHead> {
        let row = sqlx::query(
            "SELECT exam_id, school_id, user_id, variant FROM exam_attempts WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        Ok(AttemptHead {
            exam_id: get_id(&row, "exam_id")?,
            school_id: get_id(&row, "school_id")?,
            user_id: get_opt_id(&row, "user_id")?,
            variant: get_str(&row, "variant")?,
        })
    }

    /// The attempts of a user in an exam, by number.
    pub async fn user_attempts(&self, exam: &ExamRow, user_id: Id) -> DbResult<Vec<Attempt>> {
        let rows = sqlx::query(&format!(
            "{ATTEMPT_SELECT} WHERE a.school_id = $1 AND a.exam_id = $2 AND a.user_id = $3 ORDER BY a.attempt_no"
        ))
        .bind(exam.school_id.to_string())
        .bind(exam.id.to_string())
        .bind(user_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(attempt_row).collect()
    }

    /// Every attempt of an exam, by student name then number.
    pub async fn exam_attempts(&self, exam: &ExamRow) -> DbResult<Vec<Attempt>> {
        let rows = sqlx::query(&format!(
            "{ATTEMPT_SELECT} WHERE a.school_id = $1 AND a.exam_id = $2 ORDER BY st.name_folded, a.attempt_no"
        ))
        .bind(exam.school_id.to_string())
        .bind(exam.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(attempt_row).collect()
    }

    /// The account behind a session token hash, as the exam's hot paths need it: the user
    /// and whether they must change their password first. `None` when the session is unknown
    /// or expired or the account not active. One indexed read (no roles, no counters).
    pub async fn exam_session(&self, hash: &str, now: i64) -> DbResult<Option<(Id, bool)>> {
        let row = sqlx::query(
            "SELECT s.user_id, u.must_change_password FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.status = 'active'",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok((
                get_id(&r, "user_id")?,
                get_i64(&r, "must_change_password")? != 0,
            ))
        })
        .transpose()
    }

    /// The synchronised start in ONE statement: starts this user's latest attempt of the exam
    /// if it is ready (pre-generated, never started), with the deadline as in
    /// [`Db::start_attempt`]. Returns its id, or `None` when there is nothing ready to start
    /// (already started or submitted, or no attempt): the caller then looks closer. The
    /// attempt's paper comes back with it, for the save path's cache.
    pub async fn start_ready_attempt(
        &self,
        exam: &ExamRow,
        user_id: Id,
        now: i64,
        session_hash: &str,
        ip: &str,
    ) -> DbResult<Option<(Id, AttemptHead)>> {
        let row = sqlx::query(
            "UPDATE exam_attempts SET status = 'started', started_at = $1, \
             deadline_at = CASE WHEN $1 + duration_ms + extra_ms < closes_at THEN $1 + duration_ms + extra_ms ELSE closes_at END, \
             session_hash = $2, ip = $3 \
             WHERE school_id = $4 AND exam_id = $5 AND user_id = $6 AND status = 'ready' \
             AND attempt_no = (SELECT MAX(b.attempt_no) FROM exam_attempts b \
               WHERE b.school_id = $4 AND b.exam_id = $5 AND b.user_id = $6) \
             RETURNING id, variant",
        )
        .bind(now)
        .bind(session_hash)
        .bind(ip)
        .bind(exam.school_id.to_string())
        .bind(exam.id.to_string())
        .bind(user_id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok((
                get_id(&r, "id")?,
                AttemptHead {
                    exam_id: exam.id,
                    school_id: exam.school_id,
                    user_id: Some(user_id),
                    variant: get_str(&r, "variant")?,
                },
            ))
        })
        .transpose()
    }

    /// Starts a ready attempt in ONE conditional update: the deadline is now + duration + extra
    /// time, capped by the exam's closing time. Starting again is a no-op (the same attempt).
    /// Returns whether this call started it.
    pub async fn start_attempt(
        &self,
        id: Id,
        user_id: Id,
        now: i64,
        session_hash: &str,
        ip: &str,
    ) -> DbResult<bool> {
        let n = sqlx::query(
            "UPDATE exam_attempts SET status = 'started', started_at = $1, \
             deadline_at = CASE WHEN $1 + duration_ms + extra_ms < closes_at THEN $1 + duration_ms + extra_ms ELSE closes_at END, \
             session_hash = $2, ip = $3 WHERE id = $4 AND user_id = $5 AND status = 'ready'",
        )
        .bind(now)
        .bind(session_hash)
        .bind(ip)
        .bind(id.to_string())
        .bind(user_id.to_string())
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Saves one answer. Saves are written in batches (see [`SaveQueue`]): concurrent saves
    /// share one statement and one commit, and each is acknowledged only once that commit is
    /// done. A row goes in only into a started attempt of the session's user before its
    /// deadline (+ `grace_ms`), and only when its `seq` is newer than the stored one, so a
    /// replayed or late-arriving older save changes nothing.
    pub async fn save_answer(&self, save: AnswerSave) -> DbResult<SaveOutcome> {
        let queue = self
            .saves
            .get_or_init(|| SaveQueue::start(self.pool().clone(), self.backend()));
        let (tx, rx) = tokio::sync::oneshot::channel();
        if let Some(q) = queue
            && q.tx.send((save.clone(), tx)).is_ok()
            && let Ok(r) = rx.await
        {
            return r;
        }
        // No writer (no runtime to run it, or it stopped): the same statement, alone. Saves
        // are idempotent, so a save the writer may also have made is harmless.
        let mut out = write_saves(self.pool(), self.backend(), std::slice::from_ref(&save)).await?;
        Ok(out.pop().unwrap_or(SaveOutcome::Closed))
    }

    /// The saved answers of an attempt.
    pub async fn answers(&self, attempt_id: Id) -> DbResult<Vec<Answer>> {
        let rows = sqlx::query(
            "SELECT item, response, seq FROM exam_answers WHERE attempt_id = $1 ORDER BY item",
        )
        .bind(attempt_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Answer {
                    item: get_i64(r, "item")?,
                    response: get_str(r, "response")?,
                    seq: get_i64(r, "seq")?,
                })
            })
            .collect()
    }

    /// Submits a started attempt (idempotent): returns whether this call submitted it. An
    /// attempt past its deadline is submitted as of its deadline.
    pub async fn submit_attempt(&self, id: Id, now: i64) -> DbResult<bool> {
        let n = sqlx::query(
            "UPDATE exam_attempts SET status = 'submitted', \
             submitted_at = CASE WHEN deadline_at < $1 THEN deadline_at ELSE $1 END \
             WHERE id = $2 AND status = 'started'",
        )
        .bind(now)
        .bind(id.to_string())
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// The started attempts whose deadline (+ grace) has passed: the sweep submits them.
    pub async fn overdue_attempts(&self, now: i64, grace_ms: i64) -> DbResult<Vec<Id>> {
        let rows = sqlx::query(
            "SELECT id FROM exam_attempts WHERE status = 'started' AND deadline_at + $1 < $2 LIMIT 500",
        )
        .bind(grace_ms)
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| get_id(r, "id")).collect()
    }

    /// Submitted attempts that were never marked (a crash between submission and marking).
    pub async fn ungraded_attempts(&self) -> DbResult<Vec<Id>> {
        let rows = sqlx::query(
            "SELECT id FROM exam_attempts WHERE status = 'submitted' AND graded_at IS NULL LIMIT 500",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| get_id(r, "id")).collect()
    }

    /// Stores the marks of an attempt.
    pub async fn set_attempt_marks(&self, id: Id, m: &Marks) -> DbResult<()> {
        sqlx::query(
            "UPDATE exam_attempts SET score_e4 = $1, max_e4 = $2, per_item = $3, manual_pending = $4, graded_at = $5 \
             WHERE id = $6",
        )
        .bind(m.score_e4)
        .bind(m.max_e4)
        .bind(&m.per_item)
        .bind(m.manual_pending)
        .bind(now_ms())
        .bind(id.to_string())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Stores a teacher's essay marks (JSON) of an attempt, audited.
    pub async fn set_manual_marks(&self, a: &Attempt, manual: &str, actor: Id) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE exam_attempts SET manual = $1 WHERE id = $2")
            .bind(manual)
            .bind(a.id.to_string())
            .execute(&mut *tx)
            .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(a.school_id),
                actor_id: Some(actor),
                action: "exam.mark_essay",
                entity: "exam_attempt",
                entity_id: Some(a.id),
                detail: format!("{} → {manual}", a.manual),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the paper of an exam after a key fix, audited with the change; the caller then
    /// marks every attempt again.
    pub async fn set_exam_paper(
        &self,
        exam: &ExamRow,
        paper: &str,
        detail: &str,
        actor: Id,
    ) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE exams SET paper = $1, updated_at = $2 WHERE id = $3 AND school_id = $4",
        )
        .bind(paper)
        .bind(now_ms())
        .bind(exam.id.to_string())
        .bind(exam.school_id.to_string())
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(exam.school_id),
                actor_id: Some(actor),
                action: "exam.regrade",
                entity: "exam",
                entity_id: Some(exam.id),
                detail: detail.to_owned(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives a student extra time (ms) on an attempt, moving a running deadline too, audited.
    pub async fn set_extra_time(&self, a: &Attempt, extra_ms: i64, actor: Id) -> DbResult<()> {
        let deadline = a
            .started_at
            .map(|s| (s + a.duration_ms + extra_ms).min(a.closes_at));
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE exam_attempts SET extra_ms = $1, deadline_at = COALESCE($2, deadline_at) WHERE id = $3",
        )
        .bind(extra_ms)
        .bind(deadline)
        .bind(a.id.to_string())
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(a.school_id),
                actor_id: Some(actor),
                action: "exam.extra_time",
                entity: "exam_attempt",
                entity_id: Some(a.id),
                detail: format!("{} → {} phút", a.extra_ms / 60_000, extra_ms / 60_000),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records an integrity event of an attempt.
    pub async fn log_exam_event(
        &self,
        school_id: Id,
        exam_id: Id,
        attempt_id: Id,
        kind: &str,
        detail: &str,
        ip: &str,
    ) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO exam_events (id, school_id, exam_id, attempt_id, kind, detail, ip, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(new_id().to_string())
        .bind(school_id.to_string())
        .bind(exam_id.to_string())
        .bind(attempt_id.to_string())
        .bind(kind)
        .bind(detail.chars().take(300).collect::<String>())
        .bind(ip)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The integrity log of an exam, oldest first.
    pub async fn exam_events(&self, exam: &ExamRow) -> DbResult<Vec<ExamEvent>> {
        let rows = sqlx::query(
            "SELECT attempt_id, kind, detail, ip, at FROM exam_events \
             WHERE school_id = $1 AND exam_id = $2 ORDER BY at, id",
        )
        .bind(exam.school_id.to_string())
        .bind(exam.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ExamEvent {
                    attempt_id: get_id(r, "attempt_id")?,
                    kind: get_str(r, "kind")?,
                    detail: get_str(r, "detail")?,
                    ip: get_str(r, "ip")?,
                    at: get_i64(r, "at")?,
                })
            })
            .collect()
    }

    /// Benchmark and test support only: stores ready-made sessions (token hash, user) in bulk,
    /// so a load test of thousands of students does not spend minutes in argon2 logins. Real
    /// users always log in through `/login`. It also clears the first-login password change of
    /// those accounts (generated students).
    pub async fn bench_sessions(&self, sessions: &[(String, Id)], expires_at: i64) -> DbResult<()> {
        let now = now_ms();
        let rows: Vec<Vec<Val>> = sessions
            .iter()
            .map(|(h, u)| {
                vec![
                    h.clone().into(),
                    u.to_string().into(),
                    now.into(),
                    expires_at.into(),
                    now.into(),
                    "bench".into(),
                ]
            })
            .collect();
        let mut tx = self.pool().begin().await?;
        crate::insert_many(
            &mut tx,
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, last_seen, user_agent)",
            &rows,
        )
        .await?;
        // Generated students would otherwise be sent to the first-login password page.
        for (_, u) in sessions {
            sqlx::query("UPDATE users SET must_change_password = 0 WHERE id = $1")
                .bind(u.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Test support: moves an attempt's deadline (to simulate the clock passing it).
    pub async fn test_set_deadline(&self, attempt_id: Id, deadline_at: i64) -> DbResult<()> {
        sqlx::query("UPDATE exam_attempts SET deadline_at = $1 WHERE id = $2")
            .bind(deadline_at)
            .bind(attempt_id.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
