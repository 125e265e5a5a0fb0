//! The audit trail: who changed what, when. Written in the same transaction as the change where
//! the caller holds one.

use crate::{Db, DbResult, now_ms};
use domain::{Id, new_id};

/// One audit entry to record.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// The school concerned, if any.
    pub school_id: Option<Id>,
    /// Who acted (none for the system itself).
    pub actor_id: Option<Id>,
    /// What happened ("roster.import", "user.reset_password", …).
    pub action: &'a str,
    /// The kind of record.
    pub entity: &'a str,
    /// The record.
    pub entity_id: Option<Id>,
    /// Before/after or a summary, as JSON or text. Never secrets.
    pub detail: String,
}

/// A recorded audit entry, for display.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditRecord {
    /// Who acted, by name.
    pub actor_name: Option<String>,
    /// What happened.
    pub action: String,
    /// Summary.
    pub detail: String,
    /// When, unix ms.
    pub at: i64,
}

pub(crate) async fn write<'e, E>(exec: E, e: &AuditEntry<'_>) -> DbResult<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO audit_log (id, school_id, actor_id, action, entity, entity_id, detail, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id().to_string())
    .bind(e.school_id.map(|i| i.to_string()))
    .bind(e.actor_id.map(|i| i.to_string()))
    .bind(e.action)
    .bind(e.entity)
    .bind(e.entity_id.map(|i| i.to_string()))
    .bind(&e.detail)
    .bind(now_ms())
    .execute(exec)
    .await?;
    Ok(())
}

impl Db {
    /// Records an audit entry on its own.
    pub async fn audit(&self, e: &AuditEntry<'_>) -> DbResult<()> {
        write(self.pool(), e).await
    }

    /// The latest audit entries of a school, newest first.
    pub async fn audit_of_school(&self, school_id: Id, limit: i64) -> DbResult<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT u.full_name AS actor_name, a.action, a.detail, a.at FROM audit_log a \
             LEFT JOIN users u ON u.id = a.actor_id WHERE a.school_id = $1 \
             ORDER BY a.at DESC LIMIT $2",
        )
        .bind(school_id.to_string())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditRecord {
                    actor_name: crate::get_opt_str(r, "actor_name")?,
                    action: crate::get_str(r, "action")?,
                    detail: crate::get_str(r, "detail")?,
                    at: crate::get_i64(r, "at")?,
                })
            })
            .collect()
    }
}
