//! Lesson videos: where the original is stored, and which videos still wait for their
//! renditions (so a restarted server picks their transcodes up again).

use crate::{Db, DbResult, get_id, now_ms};
use domain::Id;

/// A video whose transcode has not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingVideo {
    /// School.
    pub school_id: Id,
    /// The video material.
    pub material_id: Id,
}

impl Db {
    /// Records the stored original of a video material (in the material and its current
    /// version): the storage key, the file name, the content type and the size in bytes.
    pub async fn set_video_file(
        &self,
        school_id: Id,
        material_id: Id,
        file: (&str, &str, &str, i64),
    ) -> DbResult<()> {
        let (key, name, ctype, size) = file;
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE materials SET file_key = $3, file_name = $4, content_type = $5, size = $6, updated_at = $7 \
             WHERE id = $1 AND school_id = $2 AND kind = 'video'",
        )
        .bind(material_id.to_string())
        .bind(school_id.to_string())
        .bind(key)
        .bind(name)
        .bind(ctype)
        .bind(size)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(crate::DbError::NotFound);
        }
        sqlx::query(
            "UPDATE material_versions SET file_key = $3, file_name = $4, content_type = $5, size = $6 \
             WHERE material_id = $1 AND school_id = $2 \
             AND version = (SELECT version FROM materials WHERE id = $1 AND school_id = $2)",
        )
        .bind(material_id.to_string())
        .bind(school_id.to_string())
        .bind(key)
        .bind(name)
        .bind(ctype)
        .bind(size)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Videos left `queued` or `processing` (by a crash or a restart), oldest first.
    pub async fn pending_videos(&self) -> DbResult<Vec<PendingVideo>> {
        let rows = sqlx::query(
            "SELECT school_id, id FROM materials WHERE kind = 'video' \
             AND video_status IN ('queued', 'processing') ORDER BY created_at",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingVideo {
                    school_id: get_id(r, "school_id")?,
                    material_id: get_id(r, "id")?,
                })
            })
            .collect()
    }
}
