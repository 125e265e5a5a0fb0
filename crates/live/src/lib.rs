//! The live-class media server: rooms of one class session, a selective forwarding unit (SFU)
//! over str0m, signalling messages and recording of the teacher's tracks.
//!
//! The web layer authorizes people (signed tokens) and then hands each WebSocket to
//! [`Live::connect`] as two channels of [`proto`] messages. Everything the school must keep
//! (joins and leaves for attendance, finished recordings, closed polls) comes back as
//! [`LiveEvent`]s for the web layer to persist.

pub mod proto;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use uuid::Uuid;

/// Settings of the media server.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// UDP address for all peers (`0.0.0.0:3478` in production, `127.0.0.1:0` in tests).
    pub udp: SocketAddr,
    /// TCP address for ICE-TCP (RFC 4571 framing), for networks that block UDP; none turns it off.
    pub tcp: Option<SocketAddr>,
    /// Addresses announced as host candidates; empty announces the bound address (or, when bound
    /// to an unspecified address, the machine's outward address and loopback).
    pub announce: Vec<IpAddr>,
    /// Folder where recordings are written while a class runs.
    pub recordings_dir: PathBuf,
    /// How long a participant whose connection broke without a goodbye keeps their place
    /// before they count as having left.
    pub reconnect_grace: Duration,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            udp: SocketAddr::from(([127, 0, 0, 1], 0)),
            tcp: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            announce: Vec::new(),
            recordings_dir: std::env::temp_dir().join("lophoc-recordings"),
            reconnect_grace: Duration::from_secs(20),
        }
    }
}

/// What someone may do in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The class's teacher: publishes, moderates, records.
    Teacher,
    /// A student of the class: listens; speaks or shows video when the teacher allows.
    Student,
    /// Invited staff (principal, inspectors): watch and chat, never publish.
    Observer,
}

/// Someone the web layer has authorized for a room.
#[derive(Debug, Clone)]
pub struct Participant {
    /// The account; one live connection per account and room (a new one replaces the old).
    pub user_id: Uuid,
    /// Name shown to others.
    pub name: String,
    /// Role in this room.
    pub role: Role,
}

/// The room a connection is for (a scheduled live session).
#[derive(Debug, Clone)]
pub struct RoomSpec {
    /// The live session's id.
    pub room_id: Uuid,
    /// The school that owns it.
    pub school_id: Uuid,
    /// Title shown in the room.
    pub title: String,
}

/// Things the web layer persists.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    /// Someone entered the room (a reconnection within the grace period is not a new visit).
    Joined {
        /// Room.
        room: Uuid,
        /// Account.
        user: Uuid,
        /// When.
        at: SystemTime,
    },
    /// Someone left: said goodbye, was removed, or stayed away longer than the grace period.
    Left {
        /// Room.
        room: Uuid,
        /// Account.
        user: Uuid,
        /// When (the moment the connection was lost, not when the grace period ran out).
        at: SystemTime,
    },
    /// A recording stopped and its files are complete.
    RecordingFinished {
        /// Room.
        room: Uuid,
        /// Who recorded.
        by: Uuid,
        /// The teacher's video as VP8 in IVF, if any video was sent.
        video: Option<PathBuf>,
        /// The teacher's audio as Opus in Ogg, if any audio was sent.
        audio: Option<PathBuf>,
        /// Start of the recording.
        started_at: SystemTime,
        /// End of the recording.
        ended_at: SystemTime,
    },
    /// The teacher closed a poll.
    PollClosed {
        /// Room.
        room: Uuid,
        /// The question.
        question: String,
        /// The options and their votes.
        results: Vec<(String, u32)>,
    },
}

/// Why a connection was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoinError {
    /// The teacher locked the room.
    #[error("Lớp đang khoá, chưa thể vào.")]
    Locked,
    /// The teacher removed this person from this session.
    #[error("Bạn đã được mời ra khỏi buổi học này.")]
    Removed,
    /// The server is shutting down.
    #[error("Máy chủ lớp học trực tuyến đang dừng.")]
    Closed,
}

/// One accepted connection: the web layer forwards WebSocket text frames both ways.
/// Dropping `tx` (or sending [`proto::ClientMsg::Leave`]) ends it.
pub struct Connection {
    /// Messages from the browser.
    pub tx: tokio::sync::mpsc::Sender<proto::ClientMsg>,
    /// Messages to the browser.
    pub rx: tokio::sync::mpsc::Receiver<proto::ServerMsg>,
}
