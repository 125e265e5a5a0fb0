//! The live-class media server: rooms of one class session, a selective forwarding unit (SFU)
//! over str0m, signalling messages and recording of the teacher's tracks.
//!
//! The web layer authorizes people (signed tokens) and then hands each WebSocket to
//! [`Live::connect`] as two channels of [`proto`] messages. Everything the school must keep
//! (joins and leaves for attendance, finished recordings, closed polls) comes back as
//! [`LiveEvent`]s for the web layer to persist.

#![forbid(unsafe_code)]

mod net;
pub mod proto;
pub mod record;
pub mod room;
mod server;
pub mod sfu;
pub mod testclient;

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
        /// The teacher's video in IVF (VP8, or H.264 from a browser that prefers it), if any video was sent.
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

/// Messages queued for one browser before it counts as not keeping up.
const SERVER_QUEUE: usize = 1024;
/// Messages queued from one browser.
const CLIENT_QUEUE: usize = 64;
/// Commands queued for the media loop.
const COMMAND_QUEUE: usize = 4096;

struct Inner {
    cmds: tokio::sync::mpsc::Sender<server::Cmd>,
    udp: SocketAddr,
    tcp: Option<SocketAddr>,
    stats: std::sync::Arc<server::Stats>,
}

/// The media server: a cheap clonable handle to the media loop.
#[derive(Clone)]
pub struct Live {
    inner: std::sync::Arc<Inner>,
}

/// Counters of the media server (for load reports and the benchmark).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveStats {
    /// People connected now, all rooms.
    pub participants: usize,
    /// Rooms open.
    pub rooms: usize,
    /// Media (RTP) packets written to subscribers since the start.
    pub forwarded_frames: u64,
    /// Tracks being sent to subscribers now.
    pub down_tracks: usize,
    /// Datagrams dropped by the per-peer rate limit since the start.
    pub dropped_packets: u64,
    /// Datagrams handed to the network (media, RTCP, ICE, DTLS) since the start.
    pub sent_datagrams: u64,
}

impl Live {
    /// Binds the UDP socket (and TCP listener) and spawns the media loop on the current tokio runtime.
    /// Must be called inside a tokio runtime; it is NOT async (the web App::build is sync).
    pub fn start(
        cfg: LiveConfig,
    ) -> std::io::Result<(Live, tokio::sync::mpsc::UnboundedReceiver<LiveEvent>)> {
        let udp = std::net::UdpSocket::bind(cfg.udp)?;
        udp.set_nonblocking(true)?;
        let udp = tokio::net::UdpSocket::from_std(udp)?;
        let udp_addr = udp.local_addr()?;
        let tcp = match cfg.tcp {
            Some(addr) => {
                let l = std::net::TcpListener::bind(addr)?;
                l.set_nonblocking(true)?;
                Some(tokio::net::TcpListener::from_std(l)?)
            }
            None => None,
        };
        let tcp_addr = tcp.as_ref().map(|l| l.local_addr()).transpose()?;
        let announced = net::announce(&cfg.announce, udp_addr);
        let mut setup = sfu::Setup::new();
        for ip in &announced {
            let c = str0m::Candidate::host(SocketAddr::new(*ip, udp_addr.port()), "udp");
            setup.candidates.extend(c.ok());
            if let Some(t) = tcp_addr {
                let c = str0m::Candidate::builder()
                    .tcp()
                    .host(SocketAddr::new(*ip, t.port()))
                    .tcptype(str0m::net::TcpType::Passive)
                    .build();
                setup.candidates.extend(c.ok());
            }
        }
        tracing::info!(
            "live: media server on udp {udp_addr}, tcp {tcp_addr:?}, announcing {announced:?}"
        );
        let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
        let (cmds, cmds_rx) = tokio::sync::mpsc::channel(COMMAND_QUEUE);
        let stats = std::sync::Arc::new(server::Stats::default());
        let core = server::Core::new(cfg, setup, events_tx, stats.clone());
        tokio::spawn(net::run(core, udp, tcp, announced, cmds_rx));
        let inner = Inner {
            cmds,
            udp: udp_addr,
            tcp: tcp_addr,
            stats,
        };
        Ok((
            Live {
                inner: std::sync::Arc::new(inner),
            },
            events_rx,
        ))
    }

    /// The bound UDP address.
    pub fn udp_addr(&self) -> SocketAddr {
        self.inner.udp
    }

    /// The bound ICE-TCP address, if ICE-TCP is on.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.inner.tcp
    }

    /// Joins `who` to the room (created on first join). A second connection of the same user replaces the first
    /// (that is how a reconnection after a blip resumes: same place in the hand queue, same permissions, no new visit).
    /// The first message on `rx` is ServerMsg::Welcome.
    pub async fn connect(&self, room: RoomSpec, who: Participant) -> Result<Connection, JoinError> {
        let (tx, rx) = tokio::sync::mpsc::channel(SERVER_QUEUE);
        let (reply, answer) = tokio::sync::oneshot::channel();
        let cmd = server::Cmd::Connect {
            spec: room,
            who,
            tx,
            reply,
        };
        self.inner
            .cmds
            .send(cmd)
            .await
            .map_err(|_| JoinError::Closed)?;
        let conn = answer.await.map_err(|_| JoinError::Closed)??;
        let (client_tx, mut client_rx) = tokio::sync::mpsc::channel(CLIENT_QUEUE);
        let cmds = self.inner.cmds.clone();
        tokio::spawn(async move {
            while let Some(msg) = client_rx.recv().await {
                if cmds.send(server::Cmd::Msg(conn, msg)).await.is_err() {
                    return;
                }
            }
            let _ = cmds.send(server::Cmd::Dropped(conn)).await;
        });
        Ok(Connection { tx: client_tx, rx })
    }

    /// People connected across all rooms (the node's load, for placing new rooms).
    pub fn participants(&self) -> usize {
        self.inner
            .stats
            .participants
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Rooms currently open.
    pub fn rooms(&self) -> usize {
        self.inner
            .stats
            .rooms
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counters of the media server.
    pub fn stats(&self) -> LiveStats {
        use std::sync::atomic::Ordering::Relaxed;
        let s = &self.inner.stats;
        LiveStats {
            participants: s.participants.load(Relaxed),
            rooms: s.rooms.load(Relaxed),
            forwarded_frames: s.forwarded.load(Relaxed),
            down_tracks: s.down_tracks.load(Relaxed),
            dropped_packets: s.dropped.load(Relaxed),
            sent_datagrams: s.sent.load(Relaxed),
        }
    }

    /// Whether `room` is open on this node (someone is in it or within the grace period).
    pub async fn has_room(&self, room: uuid::Uuid) -> bool {
        let (reply, answer) = tokio::sync::oneshot::channel();
        if self
            .inner
            .cmds
            .send(server::Cmd::HasRoom(room, reply))
            .await
            .is_err()
        {
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// Ends a room: everyone gets disconnected, Left events are emitted, a running recording is finished.
    pub async fn close_room(&self, room: uuid::Uuid) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self
            .inner
            .cmds
            .send(server::Cmd::CloseRoom(room, done))
            .await
            .is_ok()
        {
            let _ = wait.await;
        }
    }
}
