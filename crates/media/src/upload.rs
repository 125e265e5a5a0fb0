//! Resumable uploads on local disk, with the semantics of the tus protocol.
//!
//! A teacher on a weak network sends a 2 GB lesson video in chunks; when the connection drops, the
//! browser asks for the current offset and goes on from there. Each upload is two files in the
//! folder given to [`Uploads::new`]:
//!
//! - `<id>.bin`, the bytes received so far;
//! - `<id>.json`, a small sidecar: owner, sanitized file name, declared length and the
//!   *committed* offset (the data file's length after its last `fsync`).
//!
//! A chunk is acknowledged only after the data is synced and the sidecar atomically replaced, so
//! an acknowledged chunk survives a crash; bytes written past the committed offset (a torn write,
//! a crash mid-chunk) are truncated back when the upload is next touched. State lives on disk
//! only, so a restarted process (a new [`Uploads`] on the same folder) resumes every upload.
//!
//! Chunks to the same upload are serialized by a per-upload mutex (in this process; one process
//! owns the folder).
//!
//! Flow for the web layer: [`Uploads::create`] (POST) → [`Uploads::append`] /
//! [`Uploads::append_reader`] (PATCH with `Upload-Offset`) → [`Uploads::offset`] (HEAD) →
//! [`Uploads::finish`] when the offset reaches the length → move the file into [`crate::Storage`]
//! → [`Uploads::remove`]. A background job calls [`Uploads::sweep_idle`] now and then.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// The default largest upload: 2 GB.
pub const DEFAULT_MAX_LEN: u64 = 2 * 1024 * 1024 * 1024;

/// What can go wrong with an upload. Messages are for the uploader, in Vietnamese.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The declared length is over the limit (HTTP 413).
    #[error("Tệp quá lớn: tối đa {}", human_size(*max))]
    TooLarge {
        /// The limit, in bytes.
        max: u64,
    },
    /// No such upload, or it belongs to someone else (HTTP 404).
    #[error("Không tìm thấy tệp đang tải lên")]
    NotFound,
    /// The chunk does not start where the upload stands (HTTP 409; send `Upload-Offset: current`).
    #[error("Sai vị trí ghi: tệp đang ở byte {current}, không phải {given}")]
    Conflict {
        /// Where the upload really stands.
        current: u64,
        /// The offset the client sent.
        given: u64,
    },
    /// The chunk goes past the declared length (HTTP 413 in tus; nothing of it is kept).
    #[error("Phần gửi lên vượt quá độ dài đã khai báo ({declared} byte)")]
    PastEnd {
        /// The declared total length.
        declared: u64,
    },
    /// `finish` before all bytes arrived (HTTP 409).
    #[error("Tệp chưa tải lên xong: mới có {have}/{declared} byte")]
    Incomplete {
        /// Bytes received.
        have: u64,
        /// Declared total length.
        declared: u64,
    },
    /// The disk failed, or the request body broke off (bytes received before are kept).
    #[error("Lỗi ghi tệp tải lên: {0}")]
    Io(#[from] std::io::Error),
    /// The sidecar is unreadable.
    #[error("Dữ liệu tệp tải lên bị hỏng: {0}")]
    Corrupt(String),
}

/// What is known about one upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadInfo {
    /// The upload's id (a UUIDv7 string): put it in the upload URL.
    pub id: String,
    /// Who may continue it (a user id as a string).
    pub owner: String,
    /// The file name given by the browser, sanitized by [`sanitize_file_name`].
    pub file_name: String,
    /// The declared total length in bytes.
    pub total_len: u64,
    /// Bytes received and synced: the tus `Upload-Offset`.
    pub offset: u64,
    /// When it was created (seconds since the Unix epoch).
    pub created_at: u64,
    /// When a chunk last arrived (seconds since the Unix epoch).
    pub updated_at: u64,
}

impl UploadInfo {
    /// Whether all declared bytes are there.
    pub fn is_complete(&self) -> bool {
        self.offset == self.total_len
    }
}

/// The time, behind a trait so tests can move it.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Resumable uploads in one folder.
#[derive(Debug, Clone)]
pub struct Uploads {
    root: PathBuf,
    max_len: u64,
    clock: Arc<dyn Clock>,
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Uploads {
    /// Uploads kept in `root` (created if missing), each at most `max_len` bytes
    /// (use [`DEFAULT_MAX_LEN`] for 2 GB).
    pub async fn new(root: impl Into<PathBuf>, max_len: u64) -> Result<Self, UploadError> {
        Self::with_clock(root, max_len, Arc::new(SystemClock)).await
    }

    /// Like [`Uploads::new`] with another clock (tests).
    pub async fn with_clock(
        root: impl Into<PathBuf>,
        max_len: u64,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, UploadError> {
        let root = root.into();
        tokio::fs::create_dir_all(&root).await?;
        Ok(Self {
            root,
            max_len,
            clock,
            locks: Arc::default(),
        })
    }

    /// The largest upload accepted (the tus `Tus-Max-Size`).
    pub fn max_len(&self) -> u64 {
        self.max_len
    }

    /// Starts an upload of `total_len` bytes for `owner`; the file name is sanitized.
    pub async fn create(
        &self,
        owner: &str,
        file_name: &str,
        total_len: u64,
    ) -> Result<UploadInfo, UploadError> {
        if total_len > self.max_len {
            return Err(UploadError::TooLarge { max: self.max_len });
        }
        let now = self.now_secs();
        let info = UploadInfo {
            id: uuid::Uuid::now_v7().to_string(),
            owner: owner.to_owned(),
            file_name: sanitize_file_name(file_name),
            total_len,
            offset: 0,
            created_at: now,
            updated_at: now,
        };
        let data = tokio::fs::File::create(self.data_path(&info.id)?).await?;
        data.sync_all().await?;
        self.write_sidecar(&info).await?;
        Ok(info)
    }

    /// The upload as it stands (the tus HEAD); torn writes are truncated back first.
    pub async fn info(&self, id: &str, owner: &str) -> Result<UploadInfo, UploadError> {
        let lock = self.lock_for(id)?;
        let _guard = lock.lock().await;
        self.load(id, owner).await
    }

    /// The current offset: where the next chunk must start.
    pub async fn offset(&self, id: &str, owner: &str) -> Result<u64, UploadError> {
        Ok(self.info(id, owner).await?.offset)
    }

    /// Appends a chunk that must start at `offset` (the current length). Returns the new offset.
    pub async fn append(
        &self,
        id: &str,
        owner: &str,
        offset: u64,
        chunk: &[u8],
    ) -> Result<u64, UploadError> {
        self.append_reader(id, owner, offset, chunk).await
    }

    /// Appends a streamed chunk (a request body) that must start at `offset`. Returns the new
    /// offset. If the body goes past the declared length nothing of it is kept; if the body breaks
    /// off, what arrived is kept (synced), as tus expects, and the error returned.
    pub async fn append_reader<R: AsyncRead + Unpin>(
        &self,
        id: &str,
        owner: &str,
        offset: u64,
        mut body: R,
    ) -> Result<u64, UploadError> {
        let lock = self.lock_for(id)?;
        let _guard = lock.lock().await;
        let mut info = self.load(id, owner).await?;
        if offset != info.offset {
            return Err(UploadError::Conflict {
                current: info.offset,
                given: offset,
            });
        }
        let path = self.data_path(id)?;
        let mut file = tokio::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .await?;
        let room = info.total_len - info.offset;
        let mut written = 0u64;
        let mut buf = vec![0u8; 256 * 1024];
        let outcome: Result<(), UploadError> = loop {
            let n = match body.read(&mut buf).await {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) => break Err(e.into()),
            };
            if written + n as u64 > room {
                break Err(UploadError::PastEnd {
                    declared: info.total_len,
                });
            }
            if let Err(e) = file.write_all(&buf[..n]).await {
                break Err(e.into());
            }
            written += n as u64;
        };
        let keep = match &outcome {
            Ok(()) | Err(UploadError::Io(_)) => written,
            Err(_) => 0,
        };
        file.flush().await?;
        // Whatever is past what we keep (a refused chunk, a half-written buffer) goes.
        file.set_len(info.offset + keep).await?;
        file.sync_all().await?;
        drop(file);
        if keep > 0 {
            info.offset += keep;
            info.updated_at = self.now_secs();
            self.write_sidecar(&info).await?;
        }
        outcome.map(|()| info.offset)
    }

    /// Checks that all bytes are there and returns the path of the complete file (still in the
    /// uploads folder: move or copy it, e.g. with [`crate::Storage::put_file`], then call
    /// [`Uploads::remove`]).
    pub async fn finish(
        &self,
        id: &str,
        owner: &str,
    ) -> Result<(UploadInfo, PathBuf), UploadError> {
        let info = self.info(id, owner).await?;
        if !info.is_complete() {
            return Err(UploadError::Incomplete {
                have: info.offset,
                declared: info.total_len,
            });
        }
        Ok((info, self.data_path(id)?))
    }

    /// Deletes an upload (an abort, the tus DELETE, or the cleanup after `finish`). Missing is fine.
    pub async fn remove(&self, id: &str, owner: &str) -> Result<(), UploadError> {
        let lock = self.lock_for(id)?;
        let _guard = lock.lock().await;
        match self.load(id, owner).await {
            Ok(_) => {}
            Err(UploadError::NotFound) => return Ok(()),
            Err(e) => return Err(e),
        }
        self.delete_files(id).await?;
        self.locks.lock().expect("upload locks").remove(id);
        Ok(())
    }

    /// Deletes uploads (complete or not) that got no chunk for more than `max_idle`. Returns
    /// the ids removed.
    pub async fn sweep_idle(&self, max_idle: Duration) -> Result<Vec<String>, UploadError> {
        let now = self.now_secs();
        let mut removed = Vec::new();
        let mut dir = tokio::fs::read_dir(&self.root).await?;
        while let Some(entry) = dir.next_entry().await? {
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if !valid_id(id) {
                continue;
            }
            let lock = self.lock_for(id)?;
            let _guard = lock.lock().await;
            let idle = match self.read_sidecar(id).await {
                Ok(info) => now.saturating_sub(info.updated_at) > max_idle.as_secs(),
                // An unreadable sidecar: judge by the file's own time.
                Err(_) => entry
                    .metadata()
                    .await?
                    .modified()
                    .ok()
                    .and_then(|m| self.clock.now().duration_since(m).ok())
                    .is_some_and(|d| d > max_idle),
            };
            if idle {
                self.delete_files(id).await?;
                removed.push(id.to_owned());
            }
        }
        let mut locks = self.locks.lock().expect("upload locks");
        for id in &removed {
            locks.remove(id);
        }
        Ok(removed)
    }

    async fn delete_files(&self, id: &str) -> Result<(), UploadError> {
        for path in [self.data_path(id)?, self.sidecar_path(id)?] {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Reads the sidecar, checks the owner and reconciles it with the data file.
    async fn load(&self, id: &str, owner: &str) -> Result<UploadInfo, UploadError> {
        let mut info = self.read_sidecar(id).await?;
        if info.owner != owner {
            return Err(UploadError::NotFound);
        }
        let path = self.data_path(id)?;
        let len = match tokio::fs::metadata(&path).await {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e.into()),
        };
        if len > info.offset {
            // Bytes past the last acknowledged chunk: a torn write. Truncate them back.
            let file = tokio::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .await?;
            file.set_len(info.offset).await?;
            file.sync_all().await?;
        } else if len < info.offset {
            // Should not happen after fsync; trust the disk and let the client resend.
            if len == 0 {
                tokio::fs::File::create(&path).await?.sync_all().await?;
            }
            info.offset = len;
            self.write_sidecar(&info).await?;
        }
        Ok(info)
    }

    async fn read_sidecar(&self, id: &str) -> Result<UploadInfo, UploadError> {
        let bytes = match tokio::fs::read(self.sidecar_path(id)?).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(UploadError::NotFound);
            }
            Err(e) => return Err(e.into()),
        };
        serde_json::from_slice(&bytes).map_err(|e| UploadError::Corrupt(e.to_string()))
    }

    /// Replaces the sidecar atomically: write a temporary file, sync, rename.
    async fn write_sidecar(&self, info: &UploadInfo) -> Result<(), UploadError> {
        let path = self.sidecar_path(&info.id)?;
        let tmp = path.with_extension("json.tmp");
        let json = serde_json::to_vec(info).map_err(|e| UploadError::Corrupt(e.to_string()))?;
        let mut file = tokio::fs::File::create(&tmp).await?;
        file.write_all(&json).await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&tmp, &path).await?;
        // The rename itself is durable once the folder is synced (best effort off Unix).
        if let Ok(dir) = tokio::fs::File::open(&self.root).await {
            let _ = dir.sync_all().await;
        }
        Ok(())
    }

    fn lock_for(&self, id: &str) -> Result<Arc<tokio::sync::Mutex<()>>, UploadError> {
        if !valid_id(id) {
            return Err(UploadError::NotFound);
        }
        let mut locks = self.locks.lock().expect("upload locks");
        Ok(locks.entry(id.to_owned()).or_default().clone())
    }

    fn data_path(&self, id: &str) -> Result<PathBuf, UploadError> {
        self.file_path(id, "bin")
    }

    fn sidecar_path(&self, id: &str) -> Result<PathBuf, UploadError> {
        self.file_path(id, "json")
    }

    fn file_path(&self, id: &str, ext: &str) -> Result<PathBuf, UploadError> {
        if !valid_id(id) {
            return Err(UploadError::NotFound);
        }
        Ok(self.root.join(format!("{id}.{ext}")))
    }

    fn now_secs(&self) -> u64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// The folder holding the uploads.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Ids come from URLs: only what a UUID is made of, so no id can reach outside the folder.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// `2147483648` → `2 GB`, `524288000` → `500 MB`.
pub fn human_size(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    const GB: u64 = 1024 * MB;
    if bytes >= GB && bytes.is_multiple_of(GB) {
        format!("{} GB", bytes / GB)
    } else if bytes >= GB {
        format!("{:.1} GB", bytes as f64 / GB as f64).replace('.', ",")
    } else if bytes >= MB {
        format!("{} MB", bytes.div_ceil(MB))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// A file name safe to store and show: the last path component only, without control
/// characters or `<>:"/\|?*';` and backquotes, spaces collapsed, at most 150 characters, never
/// empty or dot-only. Vietnamese letters (and any other letter) stay, in NFC (macOS sends
/// `a` + combining grave where Windows sends `à`; both become `à`).
pub fn sanitize_file_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let name: String = name.nfc().collect();
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut out = String::with_capacity(last.len());
    let mut space = false;
    for c in last.chars() {
        if c.is_control() || "<>:\"|?*'`;".contains(c) || is_invisible(c) {
            continue;
        }
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    let trimmed = out.trim_matches(|c: char| c == '.' || c == ' ');
    let mut result: String = trimmed.chars().take(150).collect();
    // Keep the extension when a long name is cut.
    if trimmed.chars().count() > 150
        && let Some((_, ext)) = trimmed.rsplit_once('.')
        && ext.chars().count() <= 10
    {
        result = trimmed.chars().take(149 - ext.chars().count()).collect();
        result.push('.');
        result.push_str(ext);
    }
    if result.is_empty() {
        "tep".to_owned()
    } else {
        result
    }
}

/// Bidirectional overrides and zero-width characters hide a real extension (`gpj.exe`).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct FixedClock(Mutex<SystemTime>);
    impl Clock for FixedClock {
        fn now(&self) -> SystemTime {
            *self.0.lock().unwrap()
        }
    }

    #[tokio::test]
    async fn an_upload_resumes_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let up = Uploads::new(dir.path(), DEFAULT_MAX_LEN).await.unwrap();
        let info = up.create("u1", "Bài 1.mp4", 10).await.unwrap();
        assert_eq!(up.append(&info.id, "u1", 0, b"hello").await.unwrap(), 5);
        drop(up);

        let up = Uploads::new(dir.path(), DEFAULT_MAX_LEN).await.unwrap();
        assert_eq!(up.offset(&info.id, "u1").await.unwrap(), 5);
        assert!(matches!(
            up.finish(&info.id, "u1").await,
            Err(UploadError::Incomplete {
                have: 5,
                declared: 10
            })
        ));
        assert_eq!(up.append(&info.id, "u1", 5, b"world").await.unwrap(), 10);
        let (done, path) = up.finish(&info.id, "u1").await.unwrap();
        assert_eq!(done.file_name, "Bài 1.mp4");
        assert_eq!(std::fs::read(&path).unwrap(), b"helloworld");
        up.remove(&info.id, "u1").await.unwrap();
        assert!(!path.exists());
        assert!(matches!(
            up.offset(&info.id, "u1").await,
            Err(UploadError::NotFound)
        ));
    }

    #[tokio::test]
    async fn a_torn_write_is_truncated_back() {
        let dir = tempfile::tempdir().unwrap();
        let up = Uploads::new(dir.path(), DEFAULT_MAX_LEN).await.unwrap();
        let info = up.create("u1", "a.mp4", 10).await.unwrap();
        up.append(&info.id, "u1", 0, b"abc").await.unwrap();
        // A crash after writing bytes but before acknowledging them.
        let data = dir.path().join(format!("{}.bin", info.id));
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&data)
            .unwrap();
        std::io::Write::write_all(&mut f, b"zz").unwrap();
        drop(f);
        let up = Uploads::new(dir.path(), DEFAULT_MAX_LEN).await.unwrap();
        assert_eq!(up.offset(&info.id, "u1").await.unwrap(), 3);
        assert_eq!(std::fs::read(&data).unwrap(), b"abc");
    }

    #[tokio::test]
    async fn a_wrong_offset_is_a_conflict_telling_the_current_one() {
        let dir = tempfile::tempdir().unwrap();
        let up = Uploads::new(dir.path(), DEFAULT_MAX_LEN).await.unwrap();
        let info = up.create("u1", "a.mp4", 10).await.unwrap();
        up.append(&info.id, "u1", 0, b"abcd").await.unwrap();
        let err = up.append(&info.id, "u1", 2, b"cd").await.unwrap_err();
        assert!(matches!(
            err,
            UploadError::Conflict {
                current: 4,
                given: 2
            }
        ));
        assert!(err.to_string().contains("byte 4"));
        // Past the declared length: refused, nothing kept.
        let err = up
            .append(&info.id, "u1", 4, b"0123456789")
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::PastEnd { declared: 10 }));
        assert_eq!(up.offset(&info.id, "u1").await.unwrap(), 4);
        // Someone else's upload does not exist for them.
        assert!(matches!(
            up.append(&info.id, "u2", 4, b"x").await,
            Err(UploadError::NotFound)
        ));
        assert!(matches!(
            up.offset("../../etc/passwd", "u1").await,
            Err(UploadError::NotFound)
        ));
    }

    #[tokio::test]
    async fn too_large_is_refused_in_vietnamese() {
        let dir = tempfile::tempdir().unwrap();
        let up = Uploads::new(dir.path(), DEFAULT_MAX_LEN).await.unwrap();
        let err = up
            .create("u1", "a.mp4", DEFAULT_MAX_LEN + 1)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "Tệp quá lớn: tối đa 2 GB");
        assert!(up.create("u1", "a.mp4", DEFAULT_MAX_LEN).await.is_ok());
    }

    #[tokio::test]
    async fn concurrent_chunks_to_one_upload_are_serialized() {
        let dir = tempfile::tempdir().unwrap();
        let up = Uploads::new(dir.path(), DEFAULT_MAX_LEN).await.unwrap();
        let info = up.create("u1", "a.mp4", 8).await.unwrap();
        // Two clients race with the same offset: exactly one wins, the other gets a conflict.
        let (a, b) = tokio::join!(
            up.append(&info.id, "u1", 0, b"aaaa"),
            up.append(&info.id, "u1", 0, b"bbbb")
        );
        assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
        let loser = if a.is_ok() { b } else { a };
        assert!(matches!(
            loser,
            Err(UploadError::Conflict { current: 4, .. })
        ));
        let tasks: Vec<_> = (0..4u8)
            .map(|i| {
                let up = up.clone();
                let id = info.id.clone();
                tokio::spawn(async move { up.append(&id, "u1", 4 + u64::from(i), &[i]).await })
            })
            .collect();
        for t in tasks {
            let _ = t.await.unwrap();
        }
        let len = up.offset(&info.id, "u1").await.unwrap();
        assert!((5..=8).contains(&len));
        assert_eq!(
            std::fs::metadata(dir.path().join(format!("{}.bin", info.id)))
                .unwrap()
                .len(),
            len
        );
    }

    #[tokio::test]
    async fn idle_uploads_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock(Mutex::new(SystemTime::now())));
        let up = Uploads::with_clock(dir.path(), DEFAULT_MAX_LEN, clock.clone())
            .await
            .unwrap();
        let old = up.create("u1", "old.mp4", 4).await.unwrap();
        *clock.0.lock().unwrap() += Duration::from_secs(5 * 3600);
        let fresh = up.create("u1", "new.mp4", 4).await.unwrap();
        *clock.0.lock().unwrap() += Duration::from_secs(3600);
        let removed = up.sweep_idle(Duration::from_secs(4 * 3600)).await.unwrap();
        assert_eq!(removed, vec![old.id.clone()]);
        assert!(up.offset(&fresh.id, "u1").await.is_ok());
        assert!(up.offset(&old.id, "u1").await.is_err());
    }

    #[test]
    fn file_names_are_sanitized() {
        assert_eq!(
            sanitize_file_name("Bài giảng Toán 7.mp4"),
            "Bài giảng Toán 7.mp4"
        );
        assert_eq!(
            sanitize_file_name("C:\\Users\\cô Hà\\Đề kiểm tra.pdf"),
            "Đề kiểm tra.pdf"
        );
        assert_eq!(sanitize_file_name("../../etc/passwd"), "passwd");
        assert_eq!(
            sanitize_file_name("<script>alert('x')</script>.png"),
            "script.png"
        );
        assert_eq!(sanitize_file_name("a\u{0}b\nc\u{202E}d.txt"), "abcd.txt");
        assert_eq!(
            sanitize_file_name("  hai   khoảng  .mp4 "),
            "hai khoảng .mp4"
        );
        assert_eq!(sanitize_file_name(".."), "tep");
        assert_eq!(
            sanitize_file_name("Ba\u{300}i ho\u{323}c.pdf"),
            "Bài học.pdf"
        );
        assert_eq!(sanitize_file_name("Toán & Lý.docx"), "Toán & Lý.docx");
        assert_eq!(sanitize_file_name(""), "tep");
        let long = format!("{}.mp4", "ư".repeat(300));
        let cut = sanitize_file_name(&long);
        assert_eq!(cut.chars().count(), 150);
        assert!(cut.ends_with(".mp4"));
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(DEFAULT_MAX_LEN), "2 GB");
        assert_eq!(human_size(500 * 1024 * 1024), "500 MB");
    }
}
