//! Files of lophoc (photos in messages now; materials and videos later) behind one interface.
//!
//! [`Storage`] wraps an `object_store` store: a local folder in the data directory by default,
//! memory in tests, an S3-compatible bucket when a province outgrows one disk. Keys are made by
//! lophoc (`messages/<school>/<id>.jpg`), never by users.
//!
//! Lesson videos: [`upload`] receives them resumably, [`sniff`] tells what a file really is,
//! [`video`] turns them into HLS renditions with ffmpeg (behind a trait), and [`serve`] holds the
//! pure HTTP helpers (ranges, ETags, content types) the web layer needs to play them.
#![forbid(unsafe_code)]

pub mod serve;
pub mod sniff;
pub mod upload;
pub mod video;

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
    /// A local file could not be read.
    #[error("không đọc được tệp {0}: {1}")]
    Io(String, #[source] std::io::Error),
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

    /// Streams a local file into the store under a key (replacing what was there), in parts, so
    /// a 2 GB video never sits in memory.
    pub async fn put_file(&self, key: &str, local: &std::path::Path) -> Result<u64, StorageError> {
        use tokio::io::AsyncReadExt;
        let path = Self::path(key)?;
        let mut file = tokio::fs::File::open(local)
            .await
            .map_err(|e| StorageError::Io(local.display().to_string(), e))?;
        let mut write = object_store::WriteMultipart::new(self.store.put_multipart(&path).await?);
        let mut buf = vec![0u8; 1024 * 1024];
        let mut total = 0u64;
        loop {
            let n = match file.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let _ = write.abort().await;
                    return Err(StorageError::Io(local.display().to_string(), e));
                }
            };
            write.wait_for_capacity(4).await?;
            write.write(&buf[..n]);
            total += n as u64;
        }
        write.finish().await?;
        Ok(total)
    }

    /// Streams every file under a local folder into the store under `prefix/` (an HLS output:
    /// `prefix/master.m3u8`, `prefix/240p/seg_000.ts`…). Returns the keys written.
    pub async fn put_dir(
        &self,
        prefix: &str,
        local: &std::path::Path,
    ) -> Result<Vec<String>, StorageError> {
        let mut keys = Vec::new();
        let mut pending = vec![(local.to_path_buf(), String::new())];
        while let Some((dir, rel)) = pending.pop() {
            let io = |e| StorageError::Io(dir.display().to_string(), e);
            let mut entries = tokio::fs::read_dir(&dir).await.map_err(io)?;
            while let Some(entry) = entries.next_entry().await.map_err(io)? {
                let name = entry.file_name().to_string_lossy().into_owned();
                let rel = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                if entry.file_type().await.map_err(io)?.is_dir() {
                    pending.push((entry.path(), rel));
                } else {
                    let key = format!("{prefix}/{rel}");
                    self.put_file(&key, &entry.path()).await?;
                    keys.push(key);
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    /// The size in bytes of a stored file.
    pub async fn size(&self, key: &str) -> Result<u64, StorageError> {
        Ok(self.store.head(&Self::path(key)?).await?.size)
    }

    /// Reads bytes `range` (end exclusive) of a stored file: a `Range` request on a video.
    pub async fn get_range(
        &self,
        key: &str,
        range: std::ops::Range<u64>,
    ) -> Result<bytes::Bytes, StorageError> {
        Ok(self.store.get_range(&Self::path(key)?, range).await?)
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

    #[tokio::test]
    async fn local_files_and_folders_stream_into_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let hls = dir.path().join("hls");
        std::fs::create_dir_all(hls.join("240p")).unwrap();
        std::fs::write(hls.join("master.m3u8"), b"#EXTM3U\n").unwrap();
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(hls.join("240p/seg_000.ts"), &big).unwrap();
        for s in [
            Storage::local(&dir.path().join("store")).unwrap(),
            Storage::memory(),
        ] {
            let keys = s.put_dir("videos/v1", &hls).await.unwrap();
            assert_eq!(keys, ["videos/v1/240p/seg_000.ts", "videos/v1/master.m3u8"]);
            assert_eq!(
                s.size("videos/v1/240p/seg_000.ts").await.unwrap(),
                3_000_000
            );
            let part = s
                .get_range("videos/v1/240p/seg_000.ts", 1000..1010)
                .await
                .unwrap();
            assert_eq!(part.as_ref(), &big[1000..1010]);
            assert_eq!(
                s.get("videos/v1/240p/seg_000.ts").await.unwrap().as_ref(),
                &big[..]
            );
        }
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
