//! Files of lophoc (photos in messages now; materials and videos later) behind one interface.
//!
//! [`Storage`] wraps an `object_store` store: a local folder in the data directory by default,
//! memory in tests, an S3-compatible bucket when a province outgrows one disk. Keys are made by
//! lophoc (`messages/<school>/<id>.jpg`), never by users.
#![forbid(unsafe_code)]

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::sync::Arc;

/// What can go wrong with stored files.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The store failed.
    #[error("lỗi lưu trữ tệp: {0}")]
    Store(#[from] object_store::Error),
    /// The key is not one lophoc makes.
    #[error("khoá tệp không hợp lệ: {0}")]
    BadKey(String),
}

/// The file store.
#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
}

impl Storage {
    /// Files in a local folder (created if missing).
    pub fn local(root: &std::path::Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(root)
            .map_err(|e| StorageError::BadKey(format!("{}: {e}", root.display())))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(root)?;
        Ok(Self {
            store: Arc::new(fs),
        })
    }

    /// Files in memory (tests).
    pub fn memory() -> Self {
        Self {
            store: Arc::new(object_store::memory::InMemory::new()),
        }
    }

    fn path(key: &str) -> Result<Path, StorageError> {
        if key.is_empty() || key.contains("..") || key.starts_with('/') {
            return Err(StorageError::BadKey(key.to_owned()));
        }
        Path::parse(key).map_err(|_| StorageError::BadKey(key.to_owned()))
    }

    /// Stores bytes under a key (replacing what was there).
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        self.store
            .put(&Self::path(key)?, PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// Reads a stored file.
    pub async fn get(&self, key: &str) -> Result<bytes::Bytes, StorageError> {
        Ok(self.store.get(&Self::path(key)?).await?.bytes().await?)
    }

    /// Deletes a stored file (missing files are fine).
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&Self::path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The kind of an image, recognised by its first bytes (never by the name or the browser's
/// word): JPEG, PNG or WebP.
pub fn sniff_image(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_round_trip_locally_and_in_memory() {
        let dir = std::env::temp_dir().join(format!("lophoc-media-{}", std::process::id()));
        for s in [Storage::local(&dir).unwrap(), Storage::memory()] {
            s.put("messages/a/b.jpg", vec![1, 2, 3]).await.unwrap();
            assert_eq!(
                s.get("messages/a/b.jpg").await.unwrap().as_ref(),
                &[1, 2, 3]
            );
            s.delete("messages/a/b.jpg").await.unwrap();
            assert!(s.get("messages/a/b.jpg").await.is_err());
            s.delete("messages/a/b.jpg").await.unwrap();
            assert!(s.put("../etc/passwd", vec![]).await.is_err());
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn images_are_known_by_their_bytes() {
        assert_eq!(
            sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap().0,
            "image/jpeg"
        );
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n....").unwrap().1, "png");
        assert_eq!(
            sniff_image(b"RIFF\0\0\0\0WEBPVP8 ").unwrap().0,
            "image/webp"
        );
        assert!(sniff_image(b"<svg onload=alert(1)>").is_none());
        assert!(sniff_image(b"GIF89a").is_none());
    }
}
