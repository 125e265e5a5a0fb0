//! The background job queue: durable, in the database, safe with several workers (a job is
//! claimed by one conditional update and leased for a while; a crashed worker's lease runs out
//! and another worker takes the job again).

use crate::{Db, DbResult, get_i64, get_id, get_str, now_ms};
use domain::{Id, new_id};

/// A claimed job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Id.
    pub id: Id,
    /// What to do ("deliver", …).
    pub kind: String,
    /// Its argument (an id or JSON).
    pub payload: String,
    /// Tries so far, this one included.
    pub attempts: i64,
}

/// Counts of jobs by state, for operators.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Waiting.
    pub queued: i64,
    /// Being worked on.
    pub running: i64,
    /// Done.
    pub done: i64,
    /// Given up after retries.
    pub failed: i64,
}

pub(crate) fn job_row(kind: &str, payload: &str, run_at: i64) -> Vec<crate::Val> {
    let now = now_ms();
    vec![
        new_id().to_string().into(),
        kind.into(),
        payload.into(),
        run_at.into(),
        now.into(),
        now.into(),
    ]
}

/// The column list matching [`job_row`].
pub(crate) const JOB_INSERT: &str =
    "INSERT INTO jobs (id, kind, payload, run_at, created_at, updated_at)";

impl Db {
    /// Queues a job to run at `run_at` (unix ms).
    pub async fn enqueue(&self, kind: &str, payload: &str, run_at: i64) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        crate::insert_many(&mut tx, JOB_INSERT, &[job_row(kind, payload, run_at)]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Claims up to `limit` due jobs for `lease_ms`.
    pub async fn claim_jobs(&self, limit: i64, lease_ms: i64) -> DbResult<Vec<Job>> {
        let now = now_ms();
        let candidates = sqlx::query(
            "SELECT id FROM jobs WHERE (status = 'queued' AND run_at <= $1) \
             OR (status = 'running' AND locked_until < $1) ORDER BY run_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        for c in candidates {
            let id = get_str(&c, "id")?;
            let row = sqlx::query(
                "UPDATE jobs SET status = 'running', locked_until = $2, attempts = attempts + 1, updated_at = $3 \
                 WHERE id = $1 AND ((status = 'queued' AND run_at <= $3) OR (status = 'running' AND locked_until < $3)) \
                 RETURNING id, kind, payload, attempts",
            )
            .bind(&id)
            .bind(now + lease_ms)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
            if let Some(r) = row {
                out.push(Job {
                    id: get_id(&r, "id")?,
                    kind: get_str(&r, "kind")?,
                    payload: get_str(&r, "payload")?,
                    attempts: get_i64(&r, "attempts")?,
                });
            }
        }
        Ok(out)
    }

    /// Marks a job done.
    pub async fn finish_job(&self, id: Id) -> DbResult<()> {
        self.set_job(id, "done", None, "", false).await
    }

    /// Puts a job back in the queue to try again at `run_at`.
    pub async fn retry_job(&self, id: Id, run_at: i64, error: &str) -> DbResult<()> {
        self.set_job(id, "queued", Some(run_at), error, false).await
    }

    /// Moves a job later without counting the try (quiet hours).
    pub async fn defer_job(&self, id: Id, run_at: i64) -> DbResult<()> {
        self.set_job(id, "queued", Some(run_at), "", true).await
    }

    /// Gives up on a job.
    pub async fn fail_job(&self, id: Id, error: &str) -> DbResult<()> {
        self.set_job(id, "failed", None, error, false).await
    }

    async fn set_job(
        &self,
        id: Id,
        status: &str,
        run_at: Option<i64>,
        error: &str,
        uncount: bool,
    ) -> DbResult<()> {
        sqlx::query(
            "UPDATE jobs SET status = $2, run_at = COALESCE($3, run_at), last_error = $4, locked_until = 0, \
             attempts = attempts - $5, updated_at = $6 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(status)
        .bind(run_at)
        .bind(error.chars().take(500).collect::<String>())
        .bind(i64::from(uncount))
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// How many jobs are in each state.
    pub async fn job_counts(&self) -> DbResult<JobCounts> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
            .fetch_all(self.pool())
            .await?;
        let mut c = JobCounts::default();
        for r in rows {
            let n = get_i64(&r, "n")?;
            match get_str(&r, "status")?.as_str() {
                "queued" => c.queued = n,
                "running" => c.running = n,
                "done" => c.done = n,
                _ => c.failed += n,
            }
        }
        Ok(c)
    }
}
