//! A synthetic browser built on str0m, for tests and the benchmark (`lophoc bench live`).
//!
//! [`SynthClient::join`] connects through [`Live::connect`] like the web layer does, then
//! behaves like `live.js`: one offer with send-only microphone and camera transceivers (the
//! teacher's camera with simulcast layers `q`, `h`, `f`), answers to the server's offers, and
//! real UDP on loopback. It sends synthetic Opus packets every 20 ms and synthetic VP8 frames
//! at 30 fps (a keyframe on request), and reports what it receives as [`SynthEvent`]s.
//!
//! ```no_run
//! # async fn demo(live: live::Live, room: live::RoomSpec, who: live::Participant) {
//! use live::testclient::{SynthClient, SynthOptions, SynthEvent};
//! let mut c = SynthClient::join(&live, room, who, SynthOptions::teacher()).await.unwrap();
//! while let Some(ev) = c.next().await {
//!     if let SynthEvent::Media { .. } = ev { break }
//! }
//! # }
//! ```

use crate::proto::{ClientMsg, ServerMsg};
use crate::{JoinError, Live, Participant, RoomSpec};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// What the synthetic client sends.
#[derive(Debug, Clone, Copy)]
pub struct SynthOptions {
    /// Send microphone audio (Opus, 20 ms packets).
    pub audio: bool,
    /// Send camera video (VP8, 30 fps).
    pub video: bool,
    /// Send the camera as three simulcast layers `q`, `h`, `f` (the teacher's).
    pub simulcast: bool,
    /// Bytes of a delta frame of the best layer (keyframes are 4× bigger, lower layers smaller).
    pub frame_bytes: usize,
    /// The video codec sent: VP8, or H.264 (then also put first in the offer, as Safari does).
    pub codec: Codec,
    /// H.264 is offered and accepted at all (Firefox without its H.264 plug-in: only VP8).
    pub h264: bool,
}

impl SynthOptions {
    /// A teacher: audio and 720p-like simulcast video (~2 Mbit/s for the best layer).
    pub fn teacher() -> Self {
        Self {
            audio: true,
            video: true,
            simulcast: true,
            frame_bytes: 8000,
            codec: Codec::Vp8,
            h264: true,
        }
    }

    /// A student with microphone and camera transceivers (sending only once allowed).
    pub fn student() -> Self {
        Self {
            audio: true,
            video: true,
            simulcast: false,
            frame_bytes: 2000,
            codec: Codec::Vp8,
            h264: true,
        }
    }

    /// The same, sending H.264 video instead of VP8.
    pub fn h264(self) -> Self {
        Self {
            codec: Codec::H264,
            ..self
        }
    }

    /// The same, on a browser that knows no H.264 (only VP8).
    pub fn without_h264(self) -> Self {
        Self {
            codec: Codec::Vp8,
            h264: false,
            ..self
        }
    }

    /// Nothing sent (the transceivers are still offered, as the browser does).
    pub fn silent() -> Self {
        Self {
            audio: false,
            video: false,
            simulcast: false,
            frame_bytes: 0,
            codec: Codec::Vp8,
            h264: true,
        }
    }
}

/// Something the synthetic client saw.
#[derive(Debug, Clone, PartialEq)]
pub enum SynthEvent {
    /// A message from the server (all of them, in order; offers and answers are also handled).
    Server(Box<ServerMsg>),
    /// ICE and DTLS are up.
    Connected,
    /// A media frame arrived.
    Media {
        /// The mid it came on.
        mid: String,
        /// Audio (`false`) or video (`true`).
        video: bool,
        /// Payload size.
        bytes: usize,
        /// A keyframe.
        keyframe: bool,
        /// Its codec.
        codec: Codec,
    },
}

/// A synthetic participant; dropping it is like a broken socket (the server starts the grace
/// period), [`leave`](Self::leave) is a clean goodbye.
pub struct SynthClient {
    tx: mpsc::Sender<ClientMsg>,
    events: mpsc::UnboundedReceiver<SynthEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl SynthClient {
    /// Connects `who` to `room` and starts the media session.
    pub async fn join(
        live: &Live,
        room: RoomSpec,
        who: Participant,
        opts: SynthOptions,
    ) -> Result<Self, JoinError> {
        Self::join_with_media(live, room, who, opts, None).await
    }

    /// Like [`join`](Self::join), sending real encoded media (in a loop) instead of filler.
    pub async fn join_with_media(
        live: &Live,
        room: RoomSpec,
        who: Participant,
        opts: SynthOptions,
        media: Option<std::sync::Arc<SynthMedia>>,
    ) -> Result<Self, JoinError> {
        let conn = live.connect(room, who).await?;
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|_| JoinError::Closed)?;
        let (events_tx, events) = mpsc::unbounded_channel();
        let (tx, to_server) = (conn.tx.clone(), conn.tx);
        let task = tokio::spawn(run(socket, to_server, conn.rx, events_tx, opts, media));
        Ok(Self { tx, events, task })
    }

    /// A handle to send messages while [`until`](Self::until) waits.
    pub fn sender(&self) -> mpsc::Sender<ClientMsg> {
        self.tx.clone()
    }

    /// Sends a message to the server as the browser would.
    pub async fn send(&self, msg: ClientMsg) {
        let _ = self.tx.send(msg).await;
    }

    /// The next event; `None` once the server closed the connection.
    pub async fn next(&mut self) -> Option<SynthEvent> {
        self.events.recv().await
    }

    /// The next server message matching `f` (others are skipped), `None` if the connection ends.
    pub async fn until<T>(&mut self, mut f: impl FnMut(&SynthEvent) -> Option<T>) -> Option<T> {
        while let Some(e) = self.next().await {
            if let Some(t) = f(&e) {
                return Some(t);
            }
        }
        None
    }

    /// Says goodbye (a clean leave) and stops.
    pub async fn leave(self) {
        let _ = self.tx.send(ClientMsg::Leave).await;
        self.task.abort();
    }
}

impl Drop for SynthClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Real encoded media for a synthetic client: VP8 frames (from an IVF file) and Opus packets
/// of 20 ms (from an Ogg Opus file), e.g. made by ffmpeg for a recording test.
#[derive(Debug, Clone, Default)]
pub struct SynthMedia {
    /// VP8 frames at 30 fps, in order.
    pub vp8: Vec<Vec<u8>>,
    /// Opus packets, in order.
    pub opus: Vec<Vec<u8>>,
}

impl SynthMedia {
    /// Reads the frames of an IVF file and the packets of an Ogg Opus file (its header
    /// packets skipped).
    pub fn from_files(ivf: &std::path::Path, ogg: &std::path::Path) -> std::io::Result<Self> {
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
        let v = std::fs::read(ivf)?;
        if v.len() < 32 || &v[0..4] != b"DKIF" {
            return Err(bad("not an IVF file"));
        }
        let mut vp8 = Vec::new();
        let mut at = usize::from(u16::from_le_bytes([v[6], v[7]]));
        while at + 12 <= v.len() {
            let n = u32::from_le_bytes(v[at..at + 4].try_into().expect("4 bytes")) as usize;
            let frame = v
                .get(at + 12..at + 12 + n)
                .ok_or_else(|| bad("truncated IVF frame"))?;
            vp8.push(frame.to_vec());
            at += 12 + n;
        }
        let o = std::fs::read(ogg)?;
        let mut opus = Vec::new();
        let mut cur = Vec::new();
        let mut at = 0;
        while at + 27 <= o.len() {
            if &o[at..at + 4] != b"OggS" {
                return Err(bad("not an Ogg page"));
            }
            let segs = usize::from(o[at + 26]);
            let lacing = o
                .get(at + 27..at + 27 + segs)
                .ok_or_else(|| bad("truncated Ogg page"))?;
            let mut p = at + 27 + segs;
            for l in lacing {
                let l = usize::from(*l);
                cur.extend_from_slice(o.get(p..p + l).ok_or_else(|| bad("truncated Ogg page"))?);
                p += l;
                if l < 255 {
                    opus.push(std::mem::take(&mut cur));
                }
            }
            at = p;
        }
        opus.retain(|p| !p.starts_with(b"OpusHead") && !p.starts_with(b"OpusTags"));
        if vp8.is_empty() || opus.is_empty() {
            return Err(bad("no frames"));
        }
        Ok(Self { vp8, opus })
    }
}

struct Sender {
    mid: Mid,
    video: bool,
    simulcast: bool,
}

fn vp8_frame(keyframe: bool, bytes: usize, n: u64) -> Vec<u8> {
    let bytes = bytes.max(16);
    let mut f = vec![(n % 251) as u8; bytes];
    // Frame tag: bit 0 is 0 for a keyframe; show_frame set.
    f[0] = if keyframe { 0x10 } else { 0x11 };
    f[1] = 0x02;
    f[2] = 0x00;
    if keyframe {
        f[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        f[6..8].copy_from_slice(&1280u16.to_le_bytes());
        f[8..10].copy_from_slice(&720u16.to_le_bytes());
    }
    f
}

/// A filler H.264 access unit in Annex B: a keyframe is a sequence and a picture parameter set
/// and an IDR slice, as browsers send them; otherwise one non-IDR slice.
fn h264_frame(keyframe: bool, bytes: usize, n: u64) -> Vec<u8> {
    const START: [u8; 4] = [0, 0, 0, 1];
    let mut f = Vec::with_capacity(bytes + 32);
    if keyframe {
        // Constrained baseline, level 3.1, then a PPS.
        f.extend_from_slice(&START);
        f.extend_from_slice(&[0x67, 0x42, 0xe0, 0x1f, 0x8c, 0x8d, 0x40, 0x50]);
        f.extend_from_slice(&START);
        f.extend_from_slice(&[0x68, 0xce, 0x3c, 0x80]);
    }
    f.extend_from_slice(&START);
    f.push(if keyframe { 0x65 } else { 0x41 });
    // Filler without zero bytes, which could read as a start code.
    f.extend(std::iter::repeat_n((n % 250) as u8 + 1, bytes.max(16)));
    f
}

async fn run(
    socket: UdpSocket,
    to_server: mpsc::Sender<ClientMsg>,
    mut from_server: mpsc::Receiver<ServerMsg>,
    events: mpsc::UnboundedSender<SynthEvent>,
    opts: SynthOptions,
    media: Option<std::sync::Arc<SynthMedia>>,
) {
    let local = socket.local_addr().expect("bound");
    let start = Instant::now();
    let builder = Rtc::builder().clear_codecs().enable_opus(true, false);
    let mut rtc = if opts.codec == Codec::H264 {
        builder.enable_h264(true).enable_vp8(true)
    } else {
        builder.enable_vp8(true).enable_h264(opts.h264)
    }
    .build(start);
    rtc.add_local_candidate(Candidate::host(local, "udp").expect("loopback candidate"));
    let mut api = rtc.sdp_api();
    let mic = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let simulcast = opts.simulcast.then(|| {
        let mut s = Simulcast::new();
        for rid in ["q", "h", "f"] {
            s.add_send_layer(SimulcastLayer::new(rid));
        }
        s
    });
    let camera = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, simulcast);
    let (offer, pending) = api.apply().expect("an offer");
    let _ = to_server
        .send(ClientMsg::Offer {
            sdp: offer.to_sdp_string(),
        })
        .await;
    let mut pending: Option<SdpPendingOffer> = Some(pending);
    let mut senders = Vec::new();
    if opts.audio {
        senders.push(Sender {
            mid: mic,
            video: false,
            simulcast: false,
        });
    }
    if opts.video {
        senders.push(Sender {
            mid: camera,
            video: true,
            simulcast: opts.simulcast,
        });
    }
    let mut connected = false;
    let mut keyframe = true;
    let mut audio_n: u64 = 0;
    let mut video_n: u64 = 0;
    let mut next_audio = start;
    let mut next_video = start;
    let mut buf = vec![0u8; 2048];
    loop {
        // Drain str0m.
        let timeout = loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(t)) => break t,
                Ok(Output::Transmit(t)) => {
                    let _ = socket.send_to(&t.contents, t.destination).await;
                }
                Ok(Output::Event(e)) => match e {
                    Event::Connected => {
                        connected = true;
                        let _ = events.send(SynthEvent::Connected);
                    }
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) => return,
                    Event::MediaData(d) => {
                        let video = rtc
                            .media(d.mid)
                            .is_some_and(|m| m.kind() == MediaKind::Video);
                        let codec = rtc
                            .codec_config()
                            .params()
                            .iter()
                            .find(|p| p.pt() == d.pt)
                            .map_or(Codec::Null, |p| p.spec().codec);
                        let _ = events.send(SynthEvent::Media {
                            mid: d.mid.to_string(),
                            video,
                            bytes: d.data.len(),
                            keyframe: d.is_keyframe(),
                            codec,
                        });
                    }
                    Event::KeyframeRequest(_) => keyframe = true,
                    _ => {}
                },
                Err(_) => return,
            }
        };
        let media_due = if connected && !senders.is_empty() {
            next_audio.min(next_video)
        } else {
            timeout + Duration::from_secs(1)
        };
        let wake = timeout.min(media_due);
        tokio::select! {
            msg = from_server.recv() => {
                let Some(msg) = msg else { return };
                match &msg {
                    ServerMsg::Answer { sdp } => {
                        if let (Some(p), Ok(a)) = (pending.take(), SdpAnswer::from_sdp_string(sdp)) {
                            let _ = rtc.sdp_api().accept_answer(p, a);
                        }
                    }
                    ServerMsg::Offer { sdp } => {
                        if let Ok(o) = SdpOffer::from_sdp_string(sdp)
                            && let Ok(answer) = rtc.sdp_api().accept_offer(o)
                        {
                            let _ = to_server.send(ClientMsg::Answer { sdp: answer.to_sdp_string() }).await;
                        }
                    }
                    _ => {}
                }
                if events.send(SynthEvent::Server(Box::new(msg))).is_err() {
                    return;
                }
            }
            r = socket.recv_from(&mut buf) => {
                if let Ok((n, source)) = r
                    && let Ok(recv) = Receive::new(Protocol::Udp, source, local, &buf[..n])
                    && rtc.handle_input(Input::Receive(Instant::now(), recv)).is_err()
                {
                    return;
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {
                let now = Instant::now();
                if connected && now >= next_audio {
                    for s in senders.iter().filter(|s| !s.video) {
                        let packet = match &media {
                            Some(m) => m.opus[audio_n as usize % m.opus.len()].clone(),
                            None => opus_packet(audio_n),
                        };
                        write(&mut rtc, s, Codec::Opus, None, now, MediaTime::new(audio_n * 960, str0m::media::Frequency::FORTY_EIGHT_KHZ), packet);
                    }
                    audio_n += 1;
                    next_audio += Duration::from_millis(20);
                }
                if connected && now >= next_video {
                    let time = MediaTime::new(video_n * 3000, str0m::media::Frequency::NINETY_KHZ);
                    let real = media.as_ref().map(|m| m.vp8[video_n as usize % m.vp8.len()].clone());
                    for s in senders.iter().filter(|s| s.video) {
                        if let Some(frame) = &real {
                            // The same stream on every layer: each is decodable on its own.
                            let rids: &[Option<&str>] = if s.simulcast { &[Some("q"), Some("h"), Some("f")] } else { &[None] };
                            for rid in rids {
                                write(&mut rtc, s, Codec::Vp8, *rid, now, time, frame.clone());
                            }
                        } else {
                            let frame = |bytes: usize| match opts.codec {
                                Codec::H264 => h264_frame(keyframe, bytes, video_n),
                                _ => vp8_frame(keyframe, bytes, video_n),
                            };
                            let layers: &[(Option<&str>, usize)] = if s.simulcast { &[(Some("q"), 16), (Some("h"), 4), (Some("f"), 1)] } else { &[(None, 1)] };
                            for (rid, div) in layers {
                                let bytes = opts.frame_bytes / div * if keyframe { 4 } else { 1 };
                                write(&mut rtc, s, opts.codec, *rid, now, time, frame(bytes));
                            }
                        }
                    }
                    keyframe = false;
                    video_n += 1;
                    next_video += Duration::from_micros(33_333);
                }
                if rtc.handle_input(Input::Timeout(now)).is_err() {
                    return;
                }
            }
        }
    }
}

fn opus_packet(n: u64) -> Vec<u8> {
    // TOC 0xf8: CELT fullband 20 ms, one frame; then filler bytes.
    let mut p = vec![(n % 251) as u8; 80];
    p[0] = 0xf8;
    p
}

fn write(
    rtc: &mut Rtc,
    s: &Sender,
    codec: Codec,
    rid: Option<&str>,
    now: Instant,
    time: MediaTime,
    data: Vec<u8>,
) {
    let Some(writer) = rtc.writer(s.mid) else {
        return;
    };
    let Some(pt) = writer
        .payload_params()
        .find(|p| p.spec().codec == codec)
        .map(|p| p.pt())
    else {
        return;
    };
    let writer = match rid {
        Some(r) => writer.rid(r.into()),
        None => writer,
    };
    let _ = writer.write(pt, now, time, data);
}

/// Settings of [`bench`].
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Students in the class (each receives the teacher's audio and video).
    pub students: usize,
    /// How many of them the teacher lets speak and show video (they send both).
    pub students_with_video: usize,
    /// How long to measure once everyone is in.
    pub duration: Duration,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            students: 40,
            students_with_video: 2,
            duration: Duration::from_secs(10),
        }
    }
}

/// What [`bench`] measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Students in the class.
    pub students: usize,
    /// Measured time.
    pub duration: Duration,
    /// CPU time of the media server's thread during the measurement.
    pub server_cpu: Duration,
    /// The same as a percentage of one core.
    pub server_cpu_percent: f64,
    /// CPU time of the whole process (the synthetic clients included) during the measurement.
    pub process_cpu: Duration,
    /// RTP packets written to subscribers per second (the SFU forwards packets, not frames).
    pub forwarded_frames_per_sec: f64,
    /// Datagrams the server sent per second (forwarded media, RTCP, padding, ICE).
    pub sent_datagrams_per_sec: f64,
    /// Tracks being sent to subscribers at the end.
    pub down_tracks: usize,
    /// Down-tracks one core could carry at this cost (down-tracks ÷ fraction of a core used).
    pub down_tracks_per_core: f64,
    /// Join-to-first-video-frame of the students, median.
    pub first_frame_median: Duration,
    /// Join-to-first-video-frame of the students, worst.
    pub first_frame_max: Duration,
    /// Students that saw no video frame at all.
    pub students_without_video: usize,
    /// Resident memory of the process once the media server ran, before anyone joined (KiB).
    pub rss_before_kib: u64,
    /// Resident memory with everyone in the class and media flowing (KiB).
    pub rss_after_kib: u64,
    /// Growth of resident memory per participant (KiB): the server's connection, peer and
    /// buffers together with the synthetic client's own (an upper bound of the server's cost).
    pub rss_per_participant_kib: f64,
}

/// Resident memory of this process (`VmRSS` of `/proc/self/status`), in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system) from a `/proc/…/stat` file: fields 14 and 15, in clock ticks
/// (100 per second on Linux).
fn proc_cpu(path: &str) -> Duration {
    let Ok(stat) = std::fs::read_to_string(path) else {
        return Duration::ZERO;
    };
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return Duration::ZERO;
    };
    // After the command name: state is field 3, utime field 14, stime field 15.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Runs one class on loopback: a teacher sending 720p-like simulcast video and audio, and
/// `students` synthetic students, for `duration`; reports the media server's cost.
///
/// The server runs on a thread of its own (a current-thread runtime), so that its CPU time
/// can be told apart from the synthetic clients', which run on the caller's runtime.
pub async fn bench(opts: BenchOptions) -> std::io::Result<BenchReport> {
    let dir = std::env::temp_dir().join(format!("lophoc-bench-{}", uuid::Uuid::now_v7()));
    let cfg = crate::LiveConfig {
        recordings_dir: dir,
        ..crate::LiveConfig::default()
    };
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (cpu_tx, mut cpu_rx) = mpsc::channel::<tokio::sync::oneshot::Sender<Duration>>(4);
    std::thread::Builder::new()
        .name("live-bench-server".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                let (live, mut events) = match Live::start(cfg) {
                    Ok(ok) => ok,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                tokio::spawn(async move { while events.recv().await.is_some() {} });
                let _ = ready_tx.send(Ok(live));
                while let Some(reply) = cpu_rx.recv().await {
                    let _ = reply.send(proc_cpu("/proc/thread-self/stat"));
                }
            });
        })?;
    let live = ready_rx
        .await
        .map_err(|_| std::io::Error::other("the bench server did not start"))??;
    let server_cpu = || async {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = cpu_tx.send(tx).await;
        rx.await.unwrap_or_default()
    };
    let closed = |_| std::io::Error::other("the media server refused a synthetic client");
    let rss_before = rss_kib();
    let room = RoomSpec {
        room_id: uuid::Uuid::now_v7(),
        school_id: uuid::Uuid::now_v7(),
        title: "Bench".into(),
    };
    let person = |name: String, role| Participant {
        user_id: uuid::Uuid::now_v7(),
        name,
        role,
    };
    let teacher = SynthClient::join(
        &live,
        room.clone(),
        person("Giáo viên".into(), crate::Role::Teacher),
        SynthOptions::teacher(),
    )
    .await
    .map_err(closed)?;
    let (firsts_tx, mut firsts_rx) = mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for i in 0..opts.students {
        let who = person(format!("Học sinh {i}"), crate::Role::Student);
        let with_video = i < opts.students_with_video;
        let o = if with_video {
            SynthOptions::student()
        } else {
            SynthOptions::silent()
        };
        let joined_at = Instant::now();
        let mut c = SynthClient::join(&live, room.clone(), who.clone(), o)
            .await
            .map_err(closed)?;
        if with_video {
            teacher
                .send(ClientMsg::Allow {
                    target: who.user_id,
                    audio: true,
                    video: true,
                })
                .await;
        }
        let firsts = firsts_tx.clone();
        tasks.push(tokio::spawn(async move {
            if c.until(|e| matches!(e, SynthEvent::Media { video: true, .. }).then_some(()))
                .await
                .is_some()
            {
                let _ = firsts.send(joined_at.elapsed());
            }
            // Keep receiving until the end, as a real subscriber does.
            while c.next().await.is_some() {}
        }));
    }
    // Measure once every student sees the teacher (or 30 s passed), and their bandwidth
    // estimates had a second to pick a layer.
    drop(firsts_tx);
    let mut firsts = Vec::new();
    let guard = Instant::now() + Duration::from_secs(30);
    while firsts.len() < opts.students {
        match tokio::time::timeout_at(guard.into(), firsts_rx.recv()).await {
            Ok(Some(d)) => firsts.push(d),
            _ => break,
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stats0 = live.stats();
    let (cpu0, proc0, t0) = (
        server_cpu().await,
        proc_cpu("/proc/self/stat"),
        Instant::now(),
    );
    tokio::time::sleep(opts.duration).await;
    let (cpu1, proc1, stats, elapsed) = (
        server_cpu().await,
        proc_cpu("/proc/self/stat"),
        live.stats(),
        t0.elapsed(),
    );
    let rss_after = rss_kib();
    for t in &tasks {
        t.abort();
    }
    let missing = opts.students - firsts.len();
    drop(teacher);
    firsts.sort();
    let server = cpu1.saturating_sub(cpu0);
    let fraction = server.as_secs_f64() / elapsed.as_secs_f64();
    Ok(BenchReport {
        students: opts.students,
        duration: elapsed,
        server_cpu: server,
        server_cpu_percent: fraction * 100.0,
        process_cpu: proc1.saturating_sub(proc0),
        forwarded_frames_per_sec: (stats.forwarded_frames - stats0.forwarded_frames) as f64
            / elapsed.as_secs_f64(),
        sent_datagrams_per_sec: (stats.sent_datagrams - stats0.sent_datagrams) as f64
            / elapsed.as_secs_f64(),
        down_tracks: stats.down_tracks,
        down_tracks_per_core: if fraction > 0.0 {
            stats.down_tracks as f64 / fraction
        } else {
            f64::INFINITY
        },
        first_frame_median: firsts.get(firsts.len() / 2).copied().unwrap_or_default(),
        first_frame_max: firsts.last().copied().unwrap_or_default(),
        students_without_video: missing,
        rss_before_kib: rss_before,
        rss_after_kib: rss_after,
        rss_per_participant_kib: rss_after.saturating_sub(rss_before) as f64
            / (opts.students + 1) as f64,
    })
}
