//! The media server's core: rooms, connections and their peers, and the routing of media
//! between them. Still sans-I/O: the socket loop (`net.rs`) feeds it commands, datagrams and
//! the time, and sends the [`Transmit`]s it leaves in [`Core::transmits`]. Messages to
//! browsers go out through each connection's channel without ever waiting.

use crate::proto::{ClientMsg, Quality, ServerMsg};
use crate::record::Recorder;
use crate::room::{ConnId, Now, Out, Room};
use crate::sfu::{self, Bucket, Forward, OutState, Peer, Setup, Source, Written};
use crate::{JoinError, LiveConfig, LiveEvent, Participant, Role, RoomSpec};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use str0m::bwe::BweKind;
use str0m::format::Codec;
use str0m::net::{Protocol, Receive, Transmit};
use str0m::rtp::{RtpPacket, Vp8Descriptor};
use str0m::{Event, Input};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Signalling messages per second a connection may send (a generous steady rate).
const SIGNAL_PER_SEC: f64 = 20.0;
/// Burst of signalling messages.
const SIGNAL_BURST: f64 = 60.0;
/// Datagrams per second from addresses no peer knows yet (STUN of new peers) before we drop.
const UNKNOWN_PER_SEC: f64 = 2000.0;

/// Counters shared with the [`Live`](crate::Live) handles.
#[derive(Debug, Default)]
pub struct Stats {
    /// People connected now, all rooms.
    pub participants: AtomicUsize,
    /// Rooms open.
    pub rooms: AtomicUsize,
    /// Media packets written to subscribers since the start.
    pub forwarded: AtomicU64,
    /// Tracks being sent to subscribers now.
    pub down_tracks: AtomicUsize,
    /// Datagrams dropped by the per-peer rate limit.
    pub dropped: AtomicU64,
    /// Datagrams handed to the network (media, RTCP, ICE, DTLS) since the start.
    pub sent: AtomicU64,
}

/// Requests from [`Live`](crate::Live) handles and connection pumps.
pub enum Cmd {
    /// A new connection.
    Connect {
        /// Room.
        spec: RoomSpec,
        /// Who.
        who: Participant,
        /// Where its messages go.
        tx: mpsc::Sender<ServerMsg>,
        /// The connection's id, or why it was refused.
        reply: oneshot::Sender<Result<ConnId, JoinError>>,
    },
    /// A message from a browser.
    Msg(ConnId, ClientMsg),
    /// The connection's sender was dropped (the socket broke).
    Dropped(ConnId),
    /// End a room.
    CloseRoom(Uuid, oneshot::Sender<()>),
    /// Whether a room is open on this node.
    HasRoom(Uuid, oneshot::Sender<bool>),
}

struct RoomCtx {
    room: Room,
    /// Current connection of each connected member.
    conns: HashMap<Uuid, ConnId>,
    recorder: Option<Recorder>,
}

struct Conn {
    room: Uuid,
    user: Uuid,
    tx: mpsc::Sender<ServerMsg>,
    peer: Option<Peer>,
    quality: Quality,
    signal: Bucket,
    /// In [`Core::dirty`].
    dirty: bool,
    /// Told to send VP8 ([`ServerMsg::UseVp8`]), once.
    told_vp8: bool,
}

/// All rooms of this node.
pub struct Core {
    cfg: LiveConfig,
    setup: Setup,
    rooms: HashMap<Uuid, RoomCtx>,
    /// Removed accounts of rooms that emptied (a room is dropped when nobody is left).
    removed: HashMap<Uuid, HashSet<Uuid>>,
    conns: HashMap<ConnId, Conn>,
    next_conn: ConnId,
    events: mpsc::UnboundedSender<LiveEvent>,
    routes: HashMap<(Protocol, SocketAddr), ConnId>,
    unknown: Bucket,
    dirty: Vec<ConnId>,
    /// Subscribers to offer new tracks to once the packet being routed is done.
    renegotiate: Vec<ConnId>,
    /// Reused for the events of one poll.
    events_buf: Vec<Event>,
    /// Datagrams to send.
    pub transmits: Vec<Transmit>,
    stats: Arc<Stats>,
}

fn err(code: &str, message: impl Into<String>) -> ServerMsg {
    ServerMsg::Error {
        code: code.into(),
        message: message.into(),
    }
}

impl Core {
    /// A core announcing `setup`'s candidates.
    pub fn new(
        cfg: LiveConfig,
        setup: Setup,
        events: mpsc::UnboundedSender<LiveEvent>,
        stats: Arc<Stats>,
    ) -> Self {
        Self {
            cfg,
            setup,
            rooms: HashMap::new(),
            removed: HashMap::new(),
            conns: HashMap::new(),
            next_conn: 1,
            events,
            routes: HashMap::new(),
            unknown: Bucket::new(UNKNOWN_PER_SEC, UNKNOWN_PER_SEC, Instant::now()),
            dirty: Vec::new(),
            renegotiate: Vec::new(),
            events_buf: Vec::new(),
            transmits: Vec::new(),
            stats,
        }
    }

    /// Counts datagrams handed to the network.
    pub fn sent(&self, datagrams: usize) {
        self.stats
            .sent
            .fetch_add(datagrams as u64, Ordering::Relaxed);
    }

    fn update_stats(&self) {
        let participants = self.rooms.values().map(|r| r.room.online()).sum();
        self.stats
            .participants
            .store(participants, Ordering::Relaxed);
        self.stats.rooms.store(self.rooms.len(), Ordering::Relaxed);
        let down = self
            .conns
            .values()
            .filter_map(|c| c.peer.as_ref())
            .map(|p| {
                p.outs
                    .iter()
                    .filter(|o| matches!(o.state, OutState::Open(_)))
                    .count()
            })
            .sum();
        self.stats.down_tracks.store(down, Ordering::Relaxed);
    }

    /// Handles a request.
    pub fn command(&mut self, now: Now, cmd: Cmd) {
        match cmd {
            Cmd::Connect {
                spec,
                who,
                tx,
                reply,
            } => {
                let result = self.connect(spec, who, tx, now);
                let _ = reply.send(result);
            }
            Cmd::Msg(conn, msg) => self.message(conn, msg, now),
            Cmd::Dropped(conn) => {
                if let Some(c) = self.conns.get(&conn) {
                    let (room, user) = (c.room, c.user);
                    let outs = self
                        .rooms
                        .get_mut(&room)
                        .map(|r| r.room.disconnected(user, conn, now))
                        .unwrap_or_default();
                    self.close_conn(conn);
                    self.apply(room, outs, now);
                }
            }
            Cmd::CloseRoom(room, done) => {
                if let Some(ctx) = self.rooms.get_mut(&room) {
                    let outs = ctx.room.close(now);
                    self.apply(room, outs, now);
                }
                let _ = done.send(());
            }
            Cmd::HasRoom(room, reply) => {
                let _ = reply.send(self.rooms.contains_key(&room));
            }
        }
        self.flush(now.at);
        self.update_stats();
    }

    fn connect(
        &mut self,
        spec: RoomSpec,
        who: Participant,
        tx: mpsc::Sender<ServerMsg>,
        now: Now,
    ) -> Result<ConnId, JoinError> {
        let room_id = spec.room_id;
        if self
            .removed
            .get(&room_id)
            .is_some_and(|r| r.contains(&who.user_id))
        {
            return Err(JoinError::Removed);
        }
        let conn = self.next_conn;
        let grace = self.cfg.reconnect_grace;
        let ctx = self.rooms.entry(room_id).or_insert_with(|| RoomCtx {
            room: Room::new(spec, grace),
            conns: HashMap::new(),
            recorder: None,
        });
        let outs = match ctx.room.join(&who, conn, now) {
            Ok(outs) => outs,
            Err(e) => {
                if ctx.room.is_empty() {
                    self.rooms.remove(&room_id);
                }
                return Err(e);
            }
        };
        self.next_conn += 1;
        ctx.conns.insert(who.user_id, conn);
        self.conns.insert(
            conn,
            Conn {
                room: room_id,
                user: who.user_id,
                tx,
                peer: None,
                quality: Quality::Auto,
                signal: Bucket::new(SIGNAL_PER_SEC, SIGNAL_BURST, now.at),
                dirty: false,
                told_vp8: false,
            },
        );
        self.apply(room_id, outs, now);
        Ok(conn)
    }

    /// Sends without waiting; a browser that does not keep up is disconnected.
    fn send(&mut self, conn: ConnId, msg: ServerMsg) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if let Err(mpsc::error::TrySendError::Full(_)) = c.tx.try_send(msg) {
            tracing::warn!(
                "live: connection {conn} does not keep up with its messages; dropping it"
            );
            let (room, user) = (c.room, c.user);
            let now = Now::system();
            let outs = self
                .rooms
                .get_mut(&room)
                .map(|r| r.room.disconnected(user, conn, now))
                .unwrap_or_default();
            self.close_conn(conn);
            self.apply(room, outs, now);
        }
    }

    fn send_user(&mut self, room: Uuid, user: Uuid, msg: ServerMsg) {
        if let Some(conn) = self
            .rooms
            .get(&room)
            .and_then(|r| r.conns.get(&user))
            .copied()
        {
            self.send(conn, msg);
        }
    }

    fn broadcast(&mut self, room: Uuid, except: Option<Uuid>, msg: ServerMsg) {
        let Some(ctx) = self.rooms.get(&room) else {
            return;
        };
        let targets: Vec<ConnId> = ctx
            .conns
            .iter()
            .filter(|(u, _)| Some(**u) != except)
            .map(|(_, c)| *c)
            .collect();
        for conn in targets {
            self.send(conn, msg.clone());
        }
    }

    /// Carries out a room's outputs, and drops the room when nobody is left.
    fn apply(&mut self, room: Uuid, outs: Vec<Out>, now: Now) {
        for out in outs {
            match out {
                Out::To(user, msg) => self.send_user(room, user, msg),
                Out::All(msg) => self.broadcast(room, None, msg),
                Out::Others(user, msg) => self.broadcast(room, Some(user), msg),
                Out::Event(e) => {
                    let _ = self.events.send(e.into_live(room));
                }
                Out::Perms { user, video, .. } => {
                    if video {
                        self.want_keyframe(room, user, Source::Camera, now.at);
                    }
                }
                Out::Close { conn, user } => {
                    // The member's current connection is another one: they opened the room in
                    // a second window, so this one is told why it ends (not "class over").
                    let current = self.rooms.get(&room).and_then(|r| r.conns.get(&user));
                    if current.is_some_and(|c| *c != conn) {
                        self.send(
                            conn,
                            ServerMsg::Error {
                                code: "replaced".into(),
                                message: "Bạn đã vào lớp từ một cửa sổ khác.".into(),
                            },
                        );
                    }
                    self.close_conn(conn)
                }
                Out::Record { on, by } => self.record(room, on, by, now),
            }
        }
        if self.rooms.get(&room).is_some_and(|r| r.room.is_empty()) {
            let mut ctx = self.rooms.remove(&room).expect("checked");
            if let Some(rec) = ctx.recorder.take() {
                let _ = self.events.send(rec.finish(room, now));
            }
            let removed: HashSet<Uuid> = ctx.room.removed().collect();
            if !removed.is_empty() {
                self.removed.entry(room).or_default().extend(removed);
            }
        }
    }

    fn record(&mut self, room: Uuid, on: bool, by: Uuid, now: Now) {
        let Some(ctx) = self.rooms.get_mut(&room) else {
            return;
        };
        if on {
            match Recorder::start(&self.cfg.recordings_dir, room, by, now) {
                Ok(rec) => ctx.recorder = Some(rec),
                Err(e) => {
                    tracing::error!(
                        "live: cannot start recording in {}: {e}",
                        self.cfg.recordings_dir.display()
                    );
                    let outs = ctx.room.handle(by, ClientMsg::Record { on: false }, now);
                    self.send_user(
                        room,
                        by,
                        err(
                            "record_failed",
                            "Máy chủ không ghi được buổi học (lỗi ghi tệp).",
                        ),
                    );
                    self.apply(room, outs, now);
                    return;
                }
            }
            for source in [Source::Camera, Source::Screen] {
                self.want_keyframe(room, by, source, now.at);
            }
        } else if let Some(rec) = ctx.recorder.take() {
            let _ = self.events.send(rec.finish(room, now));
        }
    }

    fn want_keyframe(&mut self, room: Uuid, user: Uuid, source: Source, now: Instant) {
        let Some(conn) = self
            .rooms
            .get(&room)
            .and_then(|r| r.conns.get(&user))
            .copied()
        else {
            return;
        };
        if let Some(peer) = self.conns.get_mut(&conn).and_then(|c| c.peer.as_mut()) {
            for rid in [None, Some("f".into()), Some("h".into()), Some("q".into())] {
                peer.request_keyframe(source, rid, now);
            }
            self.mark(conn);
        }
    }

    /// Ends a connection: its peer's tracks leave the others, its channel closes.
    fn close_conn(&mut self, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        if let Some(ctx) = self.rooms.get_mut(&c.room)
            && ctx.conns.get(&c.user) == Some(&conn)
        {
            ctx.conns.remove(&c.user);
        }
        if c.peer.is_some() {
            self.unpublish(c.room, conn);
        }
        self.routes.retain(|_, v| *v != conn);
    }

    /// Removes the tracks of `conn`'s (old) peer from everyone else in the room.
    fn unpublish(&mut self, room: Uuid, conn: ConnId) {
        let others: Vec<ConnId> = self
            .rooms
            .get(&room)
            .map(|r| r.conns.values().copied().collect())
            .unwrap_or_default();
        for other in others.into_iter().filter(|o| *o != conn) {
            if let Some(p) = self.conns.get_mut(&other).and_then(|c| c.peer.as_mut()) {
                p.remove_from(conn);
            }
            self.negotiate(other);
        }
    }

    fn mark(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(&conn)
            && !c.dirty
        {
            c.dirty = true;
            self.dirty.push(conn);
        }
    }

    fn message(&mut self, conn: ConnId, msg: ClientMsg, now: Now) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if !c.signal.take(now.at) {
            // A flooding browser: drop silently (answering would flood its own channel).
            return;
        }
        let (room, user) = (c.room, c.user);
        match msg {
            ClientMsg::Offer { sdp } => self.offer(conn, &sdp, now),
            ClientMsg::Answer { sdp } => {
                let result = match c.peer.as_mut() {
                    Some(p) => p.accept_answer(&sdp),
                    None => Err("no peer connection yet".into()),
                };
                match result {
                    Ok(()) => {
                        let tracks = c.peer.as_ref().map(Peer::tracks).unwrap_or_default();
                        self.send(conn, ServerMsg::Tracks { tracks });
                        self.mark(conn);
                        self.request_out_keyframes(conn, now.at);
                    }
                    Err(e) => {
                        tracing::debug!("live: bad answer from {conn}: {e}");
                        self.send(
                            conn,
                            err("bad_sdp", "Trình duyệt gửi câu trả lời SDP không hợp lệ."),
                        );
                    }
                }
                self.negotiate(conn);
            }
            ClientMsg::Quality { quality } => {
                c.quality = quality;
                if let Some(p) = c.peer.as_mut() {
                    p.set_quality(quality);
                    self.mark(conn);
                }
            }
            ClientMsg::Leave => {
                let outs = self
                    .rooms
                    .get_mut(&room)
                    .map(|r| r.room.leave(user, conn, now))
                    .unwrap_or_default();
                self.close_conn(conn);
                self.apply(room, outs, now);
            }
            other => {
                let outs = self
                    .rooms
                    .get_mut(&room)
                    .map(|r| r.room.handle(user, other, now))
                    .unwrap_or_default();
                self.apply(room, outs, now);
            }
        }
    }

    fn offer(&mut self, conn: ConnId, sdp: &str, now: Now) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let room = c.room;
        // Only the teacher's camera is simulcast (`live.js`): everyone else chooses layers by
        // bandwidth; the teacher's session goes without estimation and its pacer.
        let bwe = self
            .rooms
            .get(&room)
            .and_then(|r| r.room.peer(c.user))
            .is_none_or(|info| info.role != Role::Teacher);
        let accepted = Peer::accept(&self.setup, sdp, c.quality, bwe, now.at);
        let (peer, answer) = match accepted {
            Ok(ok) => ok,
            Err(e) => {
                tracing::debug!("live: bad offer from {conn}: {e}");
                self.send(
                    conn,
                    err("bad_sdp", "Mô tả phiên (SDP) của trình duyệt không hợp lệ."),
                );
                return;
            }
        };
        // A new peer connection replaces the old one (the browser started over).
        if c.peer.replace(peer).is_some() {
            self.routes.retain(|_, v| *v != conn);
            self.unpublish(room, conn);
        }
        self.send(conn, ServerMsg::Answer { sdp: answer });
        self.mark(conn);
        // Everything already flowing in the room.
        let publishers: Vec<(ConnId, Uuid, Vec<Source>)> = self
            .rooms
            .get(&room)
            .map(|ctx| {
                ctx.conns
                    .iter()
                    .filter(|(_, pc)| **pc != conn)
                    .filter_map(|(u, pc)| {
                        let p = self.conns.get(pc)?.peer.as_ref()?;
                        let info = ctx.room.peer(*u)?;
                        let sources = p
                            .ins
                            .iter()
                            .filter(|t| t.started)
                            .filter_map(|t| t.source)
                            .filter(|s| permitted(info.role, info.audio, info.video, *s))
                            .collect();
                        Some((*pc, *u, sources))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Some(p) = self.conns.get_mut(&conn).and_then(|c| c.peer.as_mut()) {
            for (pc, user, sources) in publishers {
                for s in sources {
                    p.add_out(pc, user, s);
                }
            }
        }
        self.negotiate(conn);
    }

    /// Offers pending track changes to the browser of `conn`.
    fn negotiate(&mut self, conn: ConnId) {
        let Some(p) = self.conns.get_mut(&conn).and_then(|c| c.peer.as_mut()) else {
            return;
        };
        let Some(offer) = p.negotiate() else { return };
        let tracks = p.tracks();
        self.send(conn, ServerMsg::Tracks { tracks });
        self.send(conn, ServerMsg::Offer { sdp: offer });
        self.mark(conn);
    }

    /// A subscriber's new tracks start with a keyframe.
    fn request_out_keyframes(&mut self, conn: ConnId, now: Instant) {
        let wants: Vec<(ConnId, Source)> = self
            .conns
            .get(&conn)
            .and_then(|c| c.peer.as_ref())
            .map(|p| {
                p.outs
                    .iter()
                    .filter(|o| o.source != Source::Mic && o.current.is_none())
                    .map(|o| (o.from, o.source))
                    .collect()
            })
            .unwrap_or_default();
        for (from, source) in wants {
            if let Some(p) = self.conns.get_mut(&from).and_then(|c| c.peer.as_mut()) {
                for rid in [None, Some("q".into()), Some("h".into()), Some("f".into())] {
                    p.request_keyframe(source, rid, now);
                }
                self.mark(from);
            }
        }
    }

    /// A datagram from the network (`destination` is our address it came to). The receiving
    /// peer is polled at once (str0m hands over one RTP packet per input); the subscribers it
    /// wrote to are polled by the next [`flush`](Self::flush), so that a batch of datagrams
    /// costs one poll per subscriber rather than one per packet.
    pub fn receive(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        buf: &[u8],
    ) {
        let Ok(r) = Receive::new(proto, source, destination, buf) else {
            return;
        };
        let input = Input::Receive(now, r);
        let known = self.routes.get(&(proto, source)).copied().filter(|c| {
            self.conns
                .get(c)
                .and_then(|c| c.peer.as_ref())
                .is_some_and(|p| p.rtc.accepts(&input))
        });
        let conn = match known {
            Some(c) => c,
            None => {
                if !self.unknown.take(now) {
                    return;
                }
                let found = self
                    .conns
                    .iter()
                    .find(|(_, c)| c.peer.as_ref().is_some_and(|p| p.rtc.accepts(&input)))
                    .map(|(id, _)| *id);
                let Some(c) = found else { return };
                self.routes.insert((proto, source), c);
                c
            }
        };
        let Some(peer) = self.conns.get_mut(&conn).and_then(|c| c.peer.as_mut()) else {
            return;
        };
        match peer.input(now, input) {
            Ok(true) => self.poll_peer(conn, now),
            Ok(false) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::debug!("live: peer {conn} failed on input: {e}");
                self.drop_peer(conn);
            }
        }
    }

    /// Polls one peer, routing what it emits (the peers it touches are left marked).
    fn poll_peer(&mut self, conn: ConnId, now: Instant) {
        let mut events = std::mem::take(&mut self.events_buf);
        let polled = match self.conns.get_mut(&conn).and_then(|c| c.peer.as_mut()) {
            Some(p) => p.poll(now, &mut self.transmits, &mut events),
            None => Ok(()),
        };
        if let Err(e) = polled {
            tracing::debug!("live: peer {conn} failed: {e}");
            self.drop_peer(conn);
        }
        for e in events.drain(..) {
            self.event(conn, e, now);
        }
        self.events_buf = events;
    }

    /// The media session of a connection failed: its tracks leave the room; the connection
    /// (signalling) stays, and the browser may offer again.
    fn drop_peer(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.peer.take().is_some() {
            let room = c.room;
            self.routes.retain(|_, v| *v != conn);
            self.unpublish(room, conn);
        }
    }

    /// When [`timeout`](Self::timeout) should run next.
    pub fn next_timeout(&self, now: Instant) -> Instant {
        let cap = now + Duration::from_secs(1);
        let peers = self
            .conns
            .values()
            .filter_map(|c| c.peer.as_ref())
            .map(|p| p.next_timeout);
        let rooms = self.rooms.values().filter_map(|r| r.room.next_deadline());
        peers.chain(rooms).fold(cap, Instant::min)
    }

    /// Drives time: str0m timers, grace periods.
    pub fn timeout(&mut self, now: Now) {
        let due: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.peer.as_ref().is_some_and(|p| p.next_timeout <= now.at))
            .map(|(id, _)| *id)
            .collect();
        for conn in due {
            let Some(p) = self.conns.get_mut(&conn).and_then(|c| c.peer.as_mut()) else {
                continue;
            };
            match p.timeout(now.at) {
                Ok(()) if p.rtc.is_alive() => self.mark(conn),
                Ok(()) => self.drop_peer(conn),
                Err(e) => {
                    tracing::debug!("live: peer {conn} failed on timeout: {e}");
                    self.drop_peer(conn);
                }
            }
        }
        let rooms: Vec<Uuid> = self
            .rooms
            .iter()
            .filter(|(_, r)| r.room.next_deadline().is_some_and(|d| d <= now.at))
            .map(|(id, _)| *id)
            .collect();
        for room in rooms {
            let outs = self
                .rooms
                .get_mut(&room)
                .map(|r| r.room.tick(now))
                .unwrap_or_default();
            self.apply(room, outs, now);
        }
        self.flush(now.at);
        self.update_stats();
    }

    /// Polls every peer touched since the last flush, routing what they emit.
    pub fn flush(&mut self, now: Instant) {
        let mut events = Vec::new();
        while let Some(conn) = self.dirty.pop() {
            let Some(c) = self.conns.get_mut(&conn) else {
                continue;
            };
            c.dirty = false;
            let Some(p) = c.peer.as_mut() else {
                continue;
            };
            if let Err(e) = p.poll(now, &mut self.transmits, &mut events) {
                tracing::debug!("live: peer {conn} failed: {e}");
                self.drop_peer(conn);
                continue;
            }
            for e in events.drain(..) {
                self.event(conn, e, now);
            }
        }
    }

    fn event(&mut self, conn: ConnId, e: Event, now: Instant) {
        match e {
            Event::RtpPacket(pkt) => self.media(conn, pkt, now),
            Event::KeyframeRequest(req) => {
                let Some(p) = self.conns.get(&conn).and_then(|c| c.peer.as_ref()) else {
                    return;
                };
                let Some(out) = p.out_by_mid(req.mid) else {
                    return;
                };
                let (from, source, rid) = (out.from, out.source, out.current.flatten());
                if let Some(pp) = self.conns.get_mut(&from).and_then(|c| c.peer.as_mut()) {
                    pp.request_keyframe(source, rid, now);
                    self.mark(from);
                }
            }
            Event::EgressBitrateEstimate(
                BweKind::Twcc { estimate, .. } | BweKind::Remb { estimate, .. },
            ) => {
                if let Some(p) = self.conns.get_mut(&conn).and_then(|c| c.peer.as_mut()) {
                    p.bwe = estimate;
                }
            }
            Event::IceConnectionStateChange(state) => {
                tracing::debug!("live: peer {conn} ICE {state:?}")
            }
            Event::Connected => tracing::debug!("live: peer {conn} connected"),
            _ => {}
        }
    }

    /// Routes a publisher's RTP packet to the room (and the recorder).
    fn media(&mut self, conn: ConnId, pkt: RtpPacket, now: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let (room_id, user) = (c.room, c.user);
        let Some(peer) = c.peer.as_mut() else { return };
        let Some((track, rid, format)) = peer.in_track(&pkt, now) else {
            return;
        };
        let Some(source) = track.source else { return };
        let live: Vec<_> = track.live_layers(now).collect();
        let Some(ctx) = self.rooms.get_mut(&room_id) else {
            return;
        };
        let Some(info) = ctx.room.peer(user) else {
            return;
        };
        if !permitted(info.role, info.audio, info.video, source) {
            return;
        }
        let vp8 = match (source, format.codec) {
            (Source::Mic, Codec::Opus) | (Source::Camera | Source::Screen, Codec::H264) => None,
            (Source::Camera | Source::Screen, Codec::Vp8) => {
                match Vp8Descriptor::parse(&pkt.payload) {
                    Ok(d) => Some(d),
                    // Damaged: nothing a subscriber could decode.
                    Err(_) => return,
                }
            }
            // A codec we did not offer for this kind of track.
            _ => return,
        };
        let keyframe = sfu::starts_keyframe(format.codec, &pkt.payload, vp8.as_ref());
        let mut keyframes = Vec::new();
        if let Some(rec) = ctx.recorder.as_mut().filter(|r| r.by() == user) {
            if source == Source::Mic {
                rec.audio(&pkt);
            } else if let Some(want) = rec.video(source, rid, format.codec, &pkt) {
                keyframes.push(want);
            }
        }
        let mut forwarded = 0;
        let mut undecodable = false;
        for &s in ctx.conns.values() {
            if s == conn {
                continue;
            }
            let Some(sc) = self.conns.get_mut(&s) else {
                continue;
            };
            let Some(sp) = sc.peer.as_mut() else {
                continue;
            };
            let Some(i) = sp.add_out(conn, user, source) else {
                self.renegotiate.push(s);
                continue;
            };
            if !matches!(sp.outs[i].state, OutState::Open(_)) {
                continue;
            }
            let decision = if source == Source::Mic {
                Forward::Write
            } else {
                let target = sfu::choose_layer(sp.quality, sp.bwe, &live);
                if target.is_none() {
                    sp.outs[i].pause();
                }
                sfu::forward_video(&sp.outs[i], rid, keyframe, target)
            };
            match decision {
                Forward::Write => {
                    match sp.write(i, &pkt, rid, format, vp8.as_ref()) {
                        Ok(Written::Sent) => forwarded += 1,
                        Ok(Written::Skipped) => {}
                        Ok(Written::Undecodable) => undecodable = true,
                        Err(e) => tracing::debug!("live: write to {s} failed: {e}"),
                    }
                    if !sc.dirty {
                        sc.dirty = true;
                        self.dirty.push(s);
                    }
                }
                Forward::NeedKeyframe(rid) => keyframes.push((source, rid)),
                Forward::Skip => {}
            }
        }
        for s in std::mem::take(&mut self.renegotiate) {
            self.negotiate(s);
        }
        self.stats.forwarded.fetch_add(forwarded, Ordering::Relaxed);
        // Every browser decodes VP8: a publisher of H.264 someone cannot decode switches to it.
        if undecodable
            && format.codec == Codec::H264
            && let Some(c) = self.conns.get_mut(&conn)
            && !std::mem::replace(&mut c.told_vp8, true)
        {
            tracing::debug!(
                "live: {conn} sends H.264 that a subscriber cannot decode: asking for VP8"
            );
            self.send(conn, ServerMsg::UseVp8);
        }
        if !keyframes.is_empty() {
            if let Some(p) = self.conns.get_mut(&conn).and_then(|c| c.peer.as_mut()) {
                for (source, rid) in keyframes {
                    p.request_keyframe(source, rid, now);
                }
            }
            self.mark(conn);
        }
    }
}

/// Whether a member may publish a source: the teacher everything, students what the teacher
/// allowed (never a screen), observers nothing.
fn permitted(role: Role, audio: bool, video: bool, source: Source) -> bool {
    match (role, source) {
        (Role::Teacher, _) => true,
        (Role::Student, Source::Mic) => audio,
        (Role::Student, Source::Camera) => video,
        (Role::Student, Source::Screen) | (Role::Observer, _) => false,
    }
}
