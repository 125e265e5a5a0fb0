//! One str0m [`Rtc`] per connection and the per-subscriber forwarding decisions of the SFU.
//!
//! Sans-I/O like str0m itself: everything takes the time as an argument, network output is
//! collected as [`Transmit`]s for the socket loop, events are returned to the caller (the
//! room core in `server.rs`), which routes media between the peers of a room.
//!
//! We use str0m's RTP mode: packets are forwarded as they come (`Event::RtpPacket` in,
//! `StreamTx::write_rtp` out), the payload shared between all subscribers, without
//! depacketizing or repacketizing. Each subscriber's track is one continuous stream: on a
//! simulcast layer switch (only at a keyframe of the new layer) the sequence numbers, RTP
//! times and VP8 picture ids are rebased ([`Rewrite`]). str0m still answers NACKs from its
//! RTX cache downstream, NACKs lost packets upstream, and turns PLI/FIR into keyframe
//! requests to the publisher. The recorder reassembles frames itself (`record.rs`).

use crate::proto::{Quality, TrackInfo};
use crate::room::ConnId;
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::bwe::Bitrate;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::config::{CryptoProvider, DtlsCert};
use str0m::format::{Codec, FormatParams, PayloadParams};
use str0m::media::{Direction, Frequency, KeyframeRequestKind, MediaKind, Mid, Pt, Rid};
use str0m::net::Transmit;
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, SeqNo, Ssrc, Vp8Descriptor};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcError};
use uuid::Uuid;

/// Packets per second a peer may send us before we drop the excess.
pub const INGRESS_PACKETS_PER_SEC: f64 = 2000.0;
/// Burst of packets allowed above the steady rate (a screen-share keyframe).
pub const INGRESS_BURST: f64 = 4000.0;
/// The bandwidth estimate a subscriber starts from (enough for the lowest layer).
pub const INITIAL_BWE: Bitrate = Bitrate::kbps(500);
/// Minimum time between two keyframe requests for the same layer.
const KEYFRAME_INTERVAL: Duration = Duration::from_millis(500);
/// Timeouts str0m wants within this much of now are run by [`Peer::poll`] at once.
const INLINE_TIMEOUT: Duration = Duration::from_micros(100);
/// At most this many of them per poll (a burst of packets; the rest wait for the loop).
const INLINE_ROUNDS: u32 = 128;
/// How long the pacer's timeout after the last packet of a burst may wait (for the next
/// media written, which runs it anyway): str0m's other timers are tens of milliseconds apart.
const AFTER_BURST: Duration = Duration::from_millis(10);
/// A simulcast layer silent for longer than this is considered gone.
const LAYER_TIMEOUT: Duration = Duration::from_millis(1500);

/// What a published track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The microphone.
    Mic,
    /// The camera.
    Camera,
    /// A shared screen (teacher).
    Screen,
}

impl Source {
    /// The protocol name (`mic`, `camera`, `screen`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mic => "mic",
            Self::Camera => "camera",
            Self::Screen => "screen",
        }
    }

    /// Audio or video.
    pub fn kind(self) -> MediaKind {
        if self == Self::Mic {
            MediaKind::Audio
        } else {
            MediaKind::Video
        }
    }
}

/// The format of a published stream: its codec and, for H.264, what a subscriber's payload
/// type must match to carry its packets unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// The codec.
    pub codec: Codec,
    /// H.264: 1 allows fragmented (FU-A) and aggregated (STAP-A) packets, 0 single NAL units.
    packetization_mode: u8,
    /// H.264 profile and level (`42e01f`: constrained baseline, level 3.1).
    profile_level_id: Option<u32>,
}

impl Format {
    /// The format of a payload type.
    pub fn of(params: &PayloadParams) -> Self {
        let spec = params.spec();
        Self {
            codec: spec.codec,
            packetization_mode: spec.format.packetization_mode.unwrap_or(0),
            profile_level_id: spec.format.profile_level_id,
        }
    }

    /// How well a subscriber's payload type carries packets of this format: higher is better,
    /// `None` when it cannot (another codec; H.264 fragments to a single-NAL receiver; another
    /// H.264 profile).
    pub fn fit(&self, params: &PayloadParams) -> Option<u8> {
        let other = Self::of(params);
        if other.codec != self.codec {
            return None;
        }
        if self.codec != Codec::H264 {
            return Some(0);
        }
        if self.packetization_mode == 1 && other.packetization_mode != 1 {
            return None;
        }
        let mode = u8::from(self.packetization_mode == other.packetization_mode);
        // profile_idc is the first byte, the constraint flags the second, the level the third.
        match (self.profile_level_id, other.profile_level_id) {
            (Some(a), Some(b)) if a == b => Some(4 + mode),
            (Some(a), Some(b)) if a >> 8 == b >> 8 => Some(2 + mode),
            (Some(a), Some(b)) if a >> 16 == b >> 16 => Some(mode),
            (None, None) => Some(4 + mode),
            _ => None,
        }
    }
}

/// Whether a video packet can start a subscriber's stream (a layer switch): the first packet of
/// a VP8 keyframe; for H.264 the packet with the sequence parameter set that comes before every
/// keyframe (IDR) browsers send, without which a decoder cannot start.
pub fn starts_keyframe(codec: Codec, payload: &[u8], vp8: Option<&Vp8Descriptor>) -> bool {
    match codec {
        Codec::Vp8 => vp8.is_some_and(|d| d.starts_keyframe(payload)),
        Codec::H264 => str0m::format::detect_h264_nalu(payload, H264_SPS),
        _ => false,
    }
}

/// The codec name (`VP8`, `H264`) of the first payload type of an SDP's first video m-line: the
/// one its author prefers.
pub fn first_video_codec(sdp: &str) -> Option<&str> {
    let video = sdp.split("m=video").nth(1)?;
    let pt = video.split_whitespace().nth(2)?;
    video.lines().find_map(|l| {
        let (p, codec) = l.strip_prefix("a=rtpmap:")?.split_once(' ')?;
        (p == pt).then(|| codec.split('/').next().unwrap_or(codec))
    })
}

/// NAL unit type of an H.264 sequence parameter set.
const H264_SPS: u8 = 7;

/// Shared settings for new peers: one DTLS certificate for the whole server (generating a key
/// per connection would cost milliseconds each) and the host candidates we announce.
pub struct Setup {
    /// Crypto provider (aws-lc-rs).
    pub crypto: Arc<CryptoProvider>,
    /// The server's DTLS certificate.
    pub cert: DtlsCert,
    /// Host candidates (UDP, and passive TCP).
    pub candidates: Vec<Candidate>,
}

impl Setup {
    /// A provider and a fresh certificate; candidates are added by the caller.
    pub fn new() -> Self {
        let crypto = Arc::new(str0m::crypto::from_feature_flags());
        let cert = crypto
            .dtls_provider
            .generate_certificate()
            .expect("aws-lc-rs generates DTLS certificates");
        Self {
            crypto,
            cert,
            candidates: Vec::new(),
        }
    }

    /// A new ICE-lite Rtc for Opus, VP8 and H.264, knowing our candidates, with bandwidth estimation
    /// when `bwe` (its pacer sends one packet per timeout; without it str0m sends what was
    /// written at once). Video codecs are answered in the browser's order of preference
    /// (`h264_first`: iOS Safari, which encodes H.264 in hardware; others put VP8 first).
    pub fn rtc(&self, now: Instant, bwe: bool, h264_first: bool) -> Rtc {
        let config = Rtc::builder()
            .set_rtp_mode(true)
            .set_ice_lite(true)
            .set_crypto_provider(self.crypto.clone())
            .set_dtls_cert(self.cert.clone())
            .clear_codecs();
        let mut config = if h264_first {
            config.enable_h264(true).enable_vp8(true)
        } else {
            config.enable_vp8(true).enable_h264(true)
        }
        .enable_bwe(bwe.then_some(INITIAL_BWE));
        // Opus with in-band FEC (lost packets concealed from the next one) and DTX (no packets
        // in silences: most of a class is one person talking).
        config.codec_config().add_config(
            111.into(),
            None,
            Codec::Opus,
            Frequency::FORTY_EIGHT_KHZ,
            Some(2),
            FormatParams {
                min_p_time: Some(10),
                use_inband_fec: Some(true),
                use_dtx: Some(true),
                ..Default::default()
            },
        );
        let mut rtc = config.build(now);
        for c in &self.candidates {
            rtc.add_local_candidate(c.clone());
        }
        rtc
    }
}

impl Default for Setup {
    fn default() -> Self {
        Self::new()
    }
}

/// A token bucket: a steady rate with a burst allowance.
#[derive(Debug)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
    rate: f64,
    burst: f64,
}

impl Bucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        Self {
            tokens: burst,
            at: now,
            rate,
            burst,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now.max(self.at);
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A track the browser sends us.
#[derive(Debug)]
pub struct InTrack {
    /// Its mid in the publisher's session.
    pub mid: Mid,
    /// Audio or video.
    pub kind: MediaKind,
    /// What it carries (by its order in the offer); `None` for extra m-lines we ignore.
    pub source: Option<Source>,
    /// Simulcast layers seen, with when their last frame came.
    layers: Vec<(Option<Rid>, Instant)>,
    last_keyframe_request: Vec<(Option<Rid>, Instant)>,
    /// Media has flowed at least once (subscribers then get an m-line for it).
    pub started: bool,
}

impl InTrack {
    fn saw(&mut self, rid: Option<Rid>, now: Instant) {
        match self.layers.iter_mut().find(|(r, _)| *r == rid) {
            Some((_, t)) => *t = now,
            None => self.layers.push((rid, now)),
        }
    }

    /// Whether a keyframe request for this layer is due (and notes it as sent).
    pub fn keyframe_due(&mut self, rid: Option<Rid>, now: Instant) -> bool {
        match self
            .last_keyframe_request
            .iter_mut()
            .find(|(r, _)| *r == rid)
        {
            Some((_, t)) if now.saturating_duration_since(*t) < KEYFRAME_INTERVAL => false,
            Some((_, t)) => {
                *t = now;
                true
            }
            None => {
                self.last_keyframe_request.push((rid, now));
                true
            }
        }
    }

    /// Layers that delivered a frame recently.
    pub fn live_layers(&self, now: Instant) -> impl Iterator<Item = Option<Rid>> + '_ {
        self.layers
            .iter()
            .filter(move |(_, t)| now.saturating_duration_since(*t) < LAYER_TIMEOUT)
            .map(|(r, _)| *r)
    }
}

/// Negotiation state of a track we send to a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutState {
    /// Waiting to be offered.
    ToOpen,
    /// Offered, waiting for the answer.
    Negotiating(Mid),
    /// Negotiated: media flows.
    Open(Mid),
    /// The publisher is gone: to be removed in the next offer.
    ToStop(Mid),
    /// Removal offered.
    NegotiatingStop(Mid),
}

impl OutState {
    fn mid(self) -> Option<Mid> {
        match self {
            Self::ToOpen => None,
            Self::Negotiating(m) | Self::Open(m) | Self::ToStop(m) | Self::NegotiatingStop(m) => {
                Some(m)
            }
        }
    }
}

/// A track we send to a subscriber: someone else's [`InTrack`].
#[derive(Debug)]
pub struct OutTrack {
    /// The publisher's connection.
    pub from: ConnId,
    /// The publisher's account.
    pub publisher: Uuid,
    /// What it carries.
    pub source: Source,
    /// Negotiation state.
    pub state: OutState,
    /// The layer forwarded now (`None` inside: a stream without simulcast); nothing yet when
    /// the outer option is `None` (video waits for a keyframe).
    pub current: Option<Option<Rid>>,
    /// How the publisher's packets are renumbered for this subscriber.
    rewrite: Rewrite,
    /// Our sending stream, payload type and the format it carries, once negotiated.
    tx: Option<(Ssrc, Pt, Format)>,
    /// The publisher stopped before the removal could be offered.
    stop_after: bool,
}

impl OutTrack {
    /// Nothing is forwarded for a while (the subscriber chose audio only): the track resumes at
    /// a keyframe, numbered on from where it stopped (a gap in the numbers would read as
    /// thousands of lost packets).
    pub fn pause(&mut self) {
        self.current = None;
        self.rewrite.ssrc = None;
    }
}

/// The numbering of one forwarded track: the publisher's sequence numbers, RTP times and VP8
/// picture ids plus offsets, rebased whenever the source stream changes (a simulcast layer
/// switch, a new SSRC) so that the subscriber sees one continuous stream.
#[derive(Debug, Default, Clone)]
pub struct Rewrite {
    /// The publisher's stream being forwarded.
    ssrc: Option<Ssrc>,
    /// Its first sequence number since the last rebase: older packets (late ones of the
    /// previous stream's numbering) are dropped.
    floor: u64,
    seq_offset: u64,
    ts_offset: u32,
    pid_offset: u16,
    tl0_offset: u8,
    /// The highest sequence number written, with its RTP time and arrival.
    last_seq: u64,
    last_ts: u32,
    last_at: Option<Instant>,
    last_pid: Option<u16>,
    last_tl0: Option<u8>,
}

/// A packet renumbered for one subscriber.
#[derive(Debug, PartialEq, Eq)]
pub struct Rewritten {
    /// Sequence number (extended, starting below 65536).
    pub seq: u64,
    /// RTP time.
    pub ts: u32,
    /// VP8 picture id and TL0PICIDX, when the packet has them.
    pub vp8: Option<(Option<u16>, Option<u8>)>,
}

impl Rewrite {
    /// Renumbers a packet of stream `ssrc` (`seq` extended, `ts` its RTP time at `hz`,
    /// arrived `at`); `None` for a packet older than the last rebase.
    pub fn map(
        &mut self,
        ssrc: Ssrc,
        seq: u64,
        ts: u32,
        hz: u32,
        at: Instant,
        vp8: Option<(Option<u16>, Option<u8>)>,
    ) -> Option<Rewritten> {
        if self.ssrc != Some(ssrc) {
            self.rebase(ssrc, seq, ts, hz, at, vp8);
        } else if seq < self.floor {
            return None;
        }
        let out_seq = seq.wrapping_add(self.seq_offset);
        let out_ts = ts.wrapping_add(self.ts_offset);
        let out_vp8 = vp8.map(|(pid, tl0)| {
            (
                pid.map(|p| p.wrapping_add(self.pid_offset) & 0x7fff),
                tl0.map(|t| t.wrapping_add(self.tl0_offset)),
            )
        });
        if out_seq > self.last_seq || self.last_at.is_none() {
            self.last_seq = out_seq;
            self.last_ts = out_ts;
            self.last_at = Some(at);
            if let Some((pid, tl0)) = out_vp8 {
                self.last_pid = pid.or(self.last_pid);
                self.last_tl0 = tl0.or(self.last_tl0);
            }
        }
        Some(Rewritten {
            seq: out_seq,
            ts: out_ts,
            vp8: out_vp8,
        })
    }

    fn rebase(
        &mut self,
        ssrc: Ssrc,
        seq: u64,
        ts: u32,
        hz: u32,
        at: Instant,
        vp8: Option<(Option<u16>, Option<u8>)>,
    ) {
        self.ssrc = Some(ssrc);
        self.floor = seq;
        match self.last_at {
            None => {
                // Start low: a receiver learns the rollover counter from the first packets.
                self.seq_offset = 1u64.wrapping_sub(seq);
                self.ts_offset = 0;
            }
            Some(last_at) => {
                self.seq_offset = (self.last_seq + 1).wrapping_sub(seq);
                let elapsed = at.saturating_duration_since(last_at).as_micros() as u64
                    * u64::from(hz)
                    / 1_000_000;
                let next = self
                    .last_ts
                    .wrapping_add(elapsed.clamp(1, u64::from(u32::MAX)) as u32);
                self.ts_offset = next.wrapping_sub(ts);
            }
        }
        let (pid, tl0) = vp8.unwrap_or_default();
        self.pid_offset = match (self.last_pid, pid) {
            (Some(last), Some(p)) => last.wrapping_add(1).wrapping_sub(p),
            _ => 0,
        };
        self.tl0_offset = match (self.last_tl0, tl0) {
            (Some(last), Some(t)) => last.wrapping_add(1).wrapping_sub(t),
            _ => 0,
        };
    }
}

/// What a frame means for one subscriber's track.
#[derive(Debug, PartialEq, Eq)]
pub enum Forward {
    /// Write it.
    Write,
    /// Drop it.
    Skip,
    /// Drop it and ask the publisher for a keyframe of this layer (to start or switch).
    NeedKeyframe(Option<Rid>),
}

/// The simulcast layers of `live.js` (`Rid::from` builds a `String` each time: this is run
/// per subscriber for every video packet).
const Q: Rid = Rid::from_array(*b"q       ");
const H: Rid = Rid::from_array(*b"h       ");
const F: Rid = Rid::from_array(*b"f       ");

/// The simulcast layer a subscriber should get.
pub fn choose_layer(quality: Quality, bwe: Bitrate, live: &[Option<Rid>]) -> Option<Option<Rid>> {
    if live.iter().all(Option::is_none) {
        return live.first().copied();
    }
    let order = match quality {
        Quality::AudioOnly => return None,
        Quality::Low => [Q, H, F],
        Quality::Medium => [H, Q, F],
        Quality::Auto if bwe.as_u64() >= 1_500_000 => [F, H, Q],
        Quality::Auto if bwe.as_u64() >= 600_000 => [H, Q, F],
        Quality::Auto => [Q, H, F],
    };
    order.into_iter().map(Some).find(|r| live.contains(r))
}

/// Decides what to do with a video frame of layer `rid` for a track whose target is `target`.
pub fn forward_video(
    out: &OutTrack,
    rid: Option<Rid>,
    keyframe: bool,
    target: Option<Option<Rid>>,
) -> Forward {
    let Some(target) = target else {
        return Forward::Skip;
    };
    if rid == target {
        if out.current == Some(target) || keyframe {
            Forward::Write
        } else {
            Forward::NeedKeyframe(target)
        }
    } else if out.current == Some(rid) {
        // Keep the old layer going until the target's keyframe arrives.
        Forward::Write
    } else {
        Forward::Skip
    }
}

/// An incoming RTP stream: the track (mid) and simulcast layer it belongs to, and the format of
/// its payload type.
#[derive(Debug, Clone, Copy)]
struct InStream {
    ssrc: Ssrc,
    mid: Mid,
    rid: Option<Rid>,
    format: Option<(Pt, Format)>,
}

/// What became of a packet given to [`Peer::write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Queued for sending.
    Sent,
    /// Not sent: the track is not open yet, or the packet is older than a layer switch.
    Skipped,
    /// Not sent: the subscriber's browser accepted no payload type for the packet's format (it
    /// cannot decode it).
    Undecodable,
}

/// One browser's peer connection.
pub struct Peer {
    /// The str0m session.
    pub rtc: Rtc,
    /// Tracks the browser sends.
    pub ins: Vec<InTrack>,
    /// Tracks we send the browser.
    pub outs: Vec<OutTrack>,
    pending: Option<SdpPendingOffer>,
    /// When str0m next wants a timeout.
    pub next_timeout: Instant,
    budget: Bucket,
    /// The latest egress bandwidth estimate (stays [`INITIAL_BWE`] without estimation).
    pub bwe: Bitrate,
    /// Bandwidth estimation (and so str0m's pacer) is on.
    paced: bool,
    /// The subscriber's preference.
    pub quality: Quality,
    /// Incoming streams seen.
    ssrcs: Vec<InStream>,
    /// Media was written since the last poll (str0m then wants a timeout before sending it).
    written: bool,
    /// Media packets written that str0m has not sent yet.
    queued: usize,
    /// The latest time given to str0m (which ignores timeouts before it).
    clock: Instant,
}

impl Peer {
    /// Accepts the browser's offer: a new session and its SDP answer. `bwe`: estimate the
    /// bandwidth towards the browser, which only a subscriber of simulcast video needs (to
    /// choose its layer); it costs a pacer round per packet sent.
    pub fn accept(
        setup: &Setup,
        sdp: &str,
        quality: Quality,
        bwe: bool,
        now: Instant,
    ) -> Result<(Self, String), String> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| e.to_string())?;
        let h264_first = first_video_codec(sdp).is_some_and(|c| c.eq_ignore_ascii_case("H264"));
        let mut rtc = setup.rtc(now, bwe, h264_first);
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| e.to_string())?;
        let mut peer = Self {
            rtc,
            ins: Vec::new(),
            outs: Vec::new(),
            pending: None,
            next_timeout: now,
            budget: Bucket::new(INGRESS_PACKETS_PER_SEC, INGRESS_BURST, now),
            bwe: INITIAL_BWE,
            paced: bwe,
            quality,
            ssrcs: Vec::new(),
            written: false,
            queued: 0,
            clock: now,
        };
        peer.set_quality(quality);
        Ok((peer, answer.to_sdp_string()))
    }

    /// Changes the subscriber's preference and what the bandwidth estimator aims for.
    pub fn set_quality(&mut self, quality: Quality) {
        self.quality = quality;
        let desired = match quality {
            Quality::AudioOnly => Bitrate::kbps(200),
            Quality::Low => Bitrate::kbps(600),
            Quality::Medium => Bitrate::kbps(1200),
            Quality::Auto => Bitrate::kbps(2500),
        };
        self.rtc.bwe().set_bitrate(Bitrate::kbps(0), desired);
    }

    /// Feeds a datagram (one this peer [accepts](Rtc::accepts)); false when it was dropped by
    /// the rate limit.
    pub fn input(&mut self, now: Instant, input: Input<'_>) -> Result<bool, RtcError> {
        if !self.budget.take(now) {
            return Ok(false);
        }
        self.rtc.handle_input(input)?;
        self.clock = self.clock.max(now);
        self.next_timeout = now;
        Ok(true)
    }

    /// Drives time forward.
    pub fn timeout(&mut self, now: Instant) -> Result<(), RtcError> {
        self.rtc.handle_input(Input::Timeout(now))?;
        self.clock = self.clock.max(now);
        self.next_timeout = now;
        Ok(())
    }

    /// Polls str0m until its next timeout; transmits go to `tx`, events are returned.
    ///
    /// With bandwidth estimation on, str0m's pacer lets one packet out per timeout: it wants
    /// a timeout after new media is written and again after each packet it releases. Those
    /// timeouts are run here at once (without first polling for them, which costs as much as
    /// the timeout itself), so that a frame leaves in one burst, which the socket loop sends
    /// with one system call, instead of one packet per wake-up of the loop.
    pub fn poll(
        &mut self,
        now: Instant,
        tx: &mut Vec<Transmit>,
        events: &mut Vec<Event>,
    ) -> Result<(), RtcError> {
        let mut rounds = 0;
        if std::mem::take(&mut self.written) {
            self.tick(now)?;
        }
        if !self.paced {
            // Without a pacer str0m sends everything written after one timeout.
            self.queued = 0;
        }
        loop {
            match self.rtc.poll_output()? {
                Output::Timeout(t) if t <= now + INLINE_TIMEOUT && rounds < INLINE_ROUNDS => {
                    rounds += 1;
                    self.tick(t)?;
                }
                Output::Timeout(t) => {
                    self.next_timeout = t;
                    return Ok(());
                }
                Output::Transmit(t) if !self.paced => tx.push(t),
                Output::Transmit(t) => {
                    let media = self.queued > 0 && self.is_media(&t.contents);
                    tx.push(t);
                    if media {
                        self.queued -= 1;
                        if self.queued == 0 {
                            // Everything written has left. Nothing else was waiting (str0m
                            // hands out events and RTCP before media), so the timeout the pacer
                            // now wants can wait for the next media or a short while.
                            self.next_timeout = now + AFTER_BURST;
                            return Ok(());
                        }
                    }
                    if rounds < INLINE_ROUNDS {
                        // The pacer's next packet (1 µs later, as str0m would ask).
                        rounds += 1;
                        self.tick(now.max(self.clock + Duration::from_micros(1)))?;
                    }
                }
                Output::Event(Event::MediaAdded(added)) => self.add_in(added.mid, added.kind),
                Output::Event(e) => events.push(e),
            }
        }
    }

    /// A timeout at `at`, or at str0m's clock if that is later (an earlier one does nothing).
    fn tick(&mut self, at: Instant) -> Result<(), RtcError> {
        self.clock = self.clock.max(at);
        self.rtc.handle_input(Input::Timeout(self.clock))
    }

    /// Whether a datagram is RTP on one of our sending streams (not RTCP, not a resend or
    /// padding on an RTX stream): the SSRC of SRTP is in the clear.
    fn is_media(&self, datagram: &[u8]) -> bool {
        let Some(b) = datagram.get(..12) else {
            return false;
        };
        // Version 2, and a payload type outside the RTCP range (RFC 5761).
        if b[0] >> 6 != 2 || (64..96).contains(&(b[1] & 0x7f)) {
            return false;
        }
        let ssrc = Ssrc::from(u32::from_be_bytes([b[8], b[9], b[10], b[11]]));
        self.outs
            .iter()
            .any(|o| o.tx.is_some_and(|(s, _, _)| s == ssrc))
    }

    /// The browser's m-lines come in a fixed order: mic audio, camera video, screen video.
    fn add_in(&mut self, mid: Mid, kind: MediaKind) {
        if self.ins.iter().any(|t| t.mid == mid)
            || self.outs.iter().any(|o| o.state.mid() == Some(mid))
        {
            return;
        }
        let same_kind = self.ins.iter().filter(|t| t.kind == kind).count();
        let source = match (kind, same_kind) {
            (MediaKind::Audio, 0) => Some(Source::Mic),
            (MediaKind::Video, 0) => Some(Source::Camera),
            (MediaKind::Video, 1) => Some(Source::Screen),
            _ => None,
        };
        self.ins.push(InTrack {
            mid,
            kind,
            source,
            layers: Vec::new(),
            last_keyframe_request: Vec::new(),
            started: false,
        });
    }

    /// The incoming track, simulcast layer and format of a packet, noting the layer as alive;
    /// `None` for a packet of no track or of a payload type not negotiated.
    pub fn in_track(
        &mut self,
        pkt: &RtpPacket,
        now: Instant,
    ) -> Option<(&mut InTrack, Option<Rid>, Format)> {
        let (ssrc, pt) = (pkt.header.ssrc, pkt.header.payload_type);
        let i = match self.ssrcs.iter().position(|s| s.ssrc == ssrc) {
            Some(i) => i,
            None => {
                let mut api = self.rtc.direct_api();
                let rx = api.stream_rx(&ssrc)?;
                let (mid, rid) = (rx.mid(), rx.rid());
                self.ssrcs.push(InStream {
                    ssrc,
                    mid,
                    rid,
                    format: None,
                });
                self.ssrcs.len() - 1
            }
        };
        // The format is looked up once per payload type (a stream keeps its codec).
        let format = match self.ssrcs[i].format {
            Some((p, f)) if p == pt => f,
            _ => {
                let params = self
                    .rtc
                    .codec_config()
                    .params()
                    .iter()
                    .find(|p| p.pt() == pt);
                let f = Format::of(params?);
                self.ssrcs[i].format = Some((pt, f));
                f
            }
        };
        let InStream { mid, rid, .. } = self.ssrcs[i];
        let t = self.ins.iter_mut().find(|t| t.mid == mid)?;
        t.saw(rid, now);
        t.started = true;
        Some((t, rid, format))
    }

    /// Asks the browser for a keyframe of one of its tracks.
    pub fn request_keyframe(&mut self, source: Source, rid: Option<Rid>, now: Instant) {
        let Some(t) = self.ins.iter_mut().find(|t| t.source == Some(source)) else {
            return;
        };
        if !t.keyframe_due(rid, now) {
            return;
        }
        let mid = t.mid;
        match self.rtc.direct_api().stream_rx_by_mid(mid, rid) {
            Some(rx) => rx.request_keyframe(KeyframeRequestKind::Pli),
            None => tracing::debug!("keyframe request for an unknown stream {mid} {rid:?}"),
        }
    }

    /// Makes sure this subscriber gets (will be offered) someone's track.
    pub fn add_out(&mut self, from: ConnId, publisher: Uuid, source: Source) -> Option<usize> {
        if let Some(i) = self
            .outs
            .iter()
            .position(|o| o.from == from && o.source == source)
        {
            return Some(i);
        }
        self.outs.push(OutTrack {
            from,
            publisher,
            source,
            state: OutState::ToOpen,
            current: None,
            rewrite: Rewrite::default(),
            tx: None,
            stop_after: false,
        });
        None
    }

    /// The publisher `from` is gone: its tracks are removed at the next negotiation.
    pub fn remove_from(&mut self, from: ConnId) {
        self.outs.retain_mut(|o| {
            if o.from != from {
                return true;
            }
            match o.state {
                OutState::ToOpen => return false,
                OutState::Negotiating(_) => o.stop_after = true,
                OutState::Open(m) => o.state = OutState::ToStop(m),
                OutState::ToStop(_) | OutState::NegotiatingStop(_) => {}
            }
            true
        });
    }

    /// Offers pending track changes, if any and no offer is outstanding.
    pub fn negotiate(&mut self) -> Option<String> {
        if self.pending.is_some()
            || !self
                .outs
                .iter()
                .any(|o| matches!(o.state, OutState::ToOpen | OutState::ToStop(_)))
        {
            return None;
        }
        let mut change = self.rtc.sdp_api();
        for o in &mut self.outs {
            match o.state {
                OutState::ToOpen => {
                    let mid = change.add_media(
                        o.source.kind(),
                        Direction::SendOnly,
                        Some(o.publisher.simple().to_string()),
                        Some(format!("{}-{}", o.source.as_str(), o.from)),
                        None,
                    );
                    o.state = OutState::Negotiating(mid);
                }
                OutState::ToStop(mid) => {
                    change.stop_media(mid);
                    o.state = OutState::NegotiatingStop(mid);
                }
                _ => {}
            }
        }
        let (offer, pending) = change.apply()?;
        self.pending = Some(pending);
        Some(offer.to_sdp_string())
    }

    /// Accepts the browser's answer to our last offer.
    pub fn accept_answer(&mut self, sdp: &str) -> Result<(), String> {
        let Some(pending) = self.pending.take() else {
            return Err("no offer is waiting for an answer".into());
        };
        let result = SdpAnswer::from_sdp_string(sdp)
            .map_err(|e| e.to_string())
            .and_then(|a| {
                self.rtc
                    .sdp_api()
                    .accept_answer(pending, a)
                    .map_err(|e| e.to_string())
            });
        match result {
            Ok(()) => {
                self.outs
                    .retain(|o| !matches!(o.state, OutState::NegotiatingStop(_)));
                for o in &mut self.outs {
                    if let OutState::Negotiating(m) = o.state {
                        o.state = if o.stop_after {
                            OutState::ToStop(m)
                        } else {
                            OutState::Open(m)
                        };
                    }
                }
                Ok(())
            }
            Err(e) => {
                // The offer is void: offer the same changes again.
                self.outs
                    .retain(|o| !(o.stop_after && matches!(o.state, OutState::Negotiating(_))));
                for o in &mut self.outs {
                    o.state = match o.state {
                        OutState::Negotiating(_) => OutState::ToOpen,
                        OutState::NegotiatingStop(m) => OutState::ToStop(m),
                        s => s,
                    };
                }
                Err(e)
            }
        }
    }

    /// Mid → publisher/kind/source of what we send (offered or open).
    pub fn tracks(&self) -> Vec<TrackInfo> {
        self.outs
            .iter()
            .filter_map(|o| match o.state {
                OutState::Negotiating(m) | OutState::Open(m) => Some(TrackInfo {
                    mid: m.to_string(),
                    peer: o.publisher,
                    kind: if o.source == Source::Mic {
                        "audio"
                    } else {
                        "video"
                    }
                    .into(),
                    source: o.source.as_str().into(),
                }),
                _ => None,
            })
            .collect()
    }

    /// The out track sending on `mid`.
    pub fn out_by_mid(&self, mid: Mid) -> Option<&OutTrack> {
        self.outs.iter().find(|o| o.state.mid() == Some(mid))
    }

    /// Forwards a packet of `format` to out track `i` (which must be open), renumbered for
    /// this subscriber; `vp8` is the parsed descriptor of a VP8 packet (its picture ids are
    /// renumbered too).
    pub fn write(
        &mut self,
        i: usize,
        pkt: &RtpPacket,
        layer: Option<Rid>,
        format: Format,
        vp8: Option<&Vp8Descriptor>,
    ) -> Result<Written, RtcError> {
        let out = &mut self.outs[i];
        let OutState::Open(mid) = out.state else {
            return Ok(Written::Skipped);
        };
        let audio = out.source == Source::Mic;
        if out.tx.is_none_or(|(_, _, f)| f != format) {
            let remote = self.rtc.media(mid).map(|m| m.remote_pts().to_vec());
            let pt = self
                .rtc
                .codec_config()
                .params()
                .iter()
                .filter(|p| {
                    remote
                        .as_ref()
                        .is_none_or(|r| r.is_empty() || r.contains(&p.pt()))
                })
                .filter_map(|p| Some((format.fit(p)?, p.pt())))
                .max_by_key(|(fit, _)| *fit)
                .map(|(_, pt)| pt);
            let ssrc = self
                .rtc
                .direct_api()
                .stream_tx_by_mid(mid, None)
                .map(|s| s.ssrc());
            let Some(pt) = pt else {
                return Ok(Written::Undecodable);
            };
            let Some(ssrc) = ssrc else {
                return Ok(Written::Skipped);
            };
            out.tx = Some((ssrc, pt, format));
        }
        let Some((ssrc, pt, _)) = out.tx else {
            return Ok(Written::Skipped);
        };
        let hz = if audio { 48_000 } else { 90_000 };
        let fields = vp8.map(|d| (d.picture_id(), d.tl0_pic_idx()));
        let Some(r) = out.rewrite.map(
            pkt.header.ssrc,
            *pkt.seq_no,
            pkt.header.timestamp,
            hz,
            pkt.timestamp,
            fields,
        ) else {
            return Ok(Written::Skipped);
        };
        out.current = Some(layer);
        let ext = ExtensionValues {
            audio_level: pkt.header.ext_vals.audio_level,
            voice_activity: pkt.header.ext_vals.voice_activity,
            video_orientation: pkt.header.ext_vals.video_orientation,
            ..Default::default()
        };
        let mut write = RtpWrite::new(
            pt,
            SeqNo::from(r.seq),
            r.ts,
            pkt.timestamp,
            pkt.payload.clone(),
        )
        .marker(pkt.header.marker)
        .ext_vals(ext)
        .nackable(!audio);
        if let (Some(d), Some((pid, tl0))) = (vp8, r.vp8) {
            let mut patch = d.patch();
            if let Some(p) = pid {
                patch = patch.picture_id(p);
            }
            if let Some(t) = tl0 {
                patch = patch.tl0_pic_idx(t);
            }
            // A 7-bit picture id that overflowed is left as it was.
            if let Ok(p) = patch.build() {
                write = write.vp8_patch(p);
            }
        }
        let mut api = self.rtc.direct_api();
        let Some(stream) = api.stream_tx(&ssrc) else {
            out.tx = None;
            return Ok(Written::Skipped);
        };
        stream.write_rtp(write);
        self.written = true;
        self.queued += 1;
        self.next_timeout = pkt.timestamp;
        Ok(Written::Sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rids(v: &[&str]) -> Vec<Option<Rid>> {
        v.iter().map(|r| Some(Rid::from(*r))).collect()
    }

    #[test]
    fn layer_constants_are_the_rids_of_the_offer() {
        assert_eq!([Q, H, F], [Rid::from("q"), Rid::from("h"), Rid::from("f")]);
    }

    #[test]
    fn layers_follow_quality_and_bandwidth() {
        let all = rids(&["q", "h", "f"]);
        let r = |s: &str| Some(Some(Rid::from(s)));
        assert_eq!(
            choose_layer(Quality::AudioOnly, Bitrate::mbps(5), &all),
            None
        );
        assert_eq!(choose_layer(Quality::Low, Bitrate::mbps(5), &all), r("q"));
        assert_eq!(
            choose_layer(Quality::Medium, Bitrate::mbps(5), &all),
            r("h")
        );
        assert_eq!(choose_layer(Quality::Auto, Bitrate::mbps(2), &all), r("f"));
        assert_eq!(
            choose_layer(Quality::Auto, Bitrate::kbps(800), &all),
            r("h")
        );
        assert_eq!(
            choose_layer(Quality::Auto, Bitrate::kbps(300), &all),
            r("q")
        );
        // A layer the publisher stopped sending is not chosen.
        assert_eq!(
            choose_layer(Quality::Auto, Bitrate::mbps(2), &rids(&["q", "h"])),
            r("h")
        );
        assert_eq!(
            choose_layer(Quality::Low, Bitrate::mbps(2), &rids(&["f"])),
            r("f")
        );
        // Without simulcast there is one stream.
        assert_eq!(
            choose_layer(Quality::Low, Bitrate::kbps(100), &[None]),
            Some(None)
        );
    }

    fn out(current: Option<Option<Rid>>) -> OutTrack {
        OutTrack {
            from: 1,
            publisher: Uuid::nil(),
            source: Source::Camera,
            state: OutState::Open(Mid::from("1")),
            current,
            rewrite: Rewrite::default(),
            tx: None,
            stop_after: false,
        }
    }

    #[test]
    fn switching_layers_waits_for_a_keyframe_of_the_target() {
        let q = Some(Rid::from("q"));
        let h = Some(Rid::from("h"));
        // Start: nothing until the target's keyframe.
        assert_eq!(
            forward_video(&out(None), h, false, Some(h)),
            Forward::NeedKeyframe(h)
        );
        assert_eq!(forward_video(&out(None), q, true, Some(h)), Forward::Skip);
        assert_eq!(forward_video(&out(None), h, true, Some(h)), Forward::Write);
        // Switching up: the old layer keeps flowing until the new one's keyframe.
        assert_eq!(
            forward_video(&out(Some(q)), q, false, Some(h)),
            Forward::Write
        );
        assert_eq!(
            forward_video(&out(Some(q)), h, false, Some(h)),
            Forward::NeedKeyframe(h)
        );
        assert_eq!(
            forward_video(&out(Some(q)), h, true, Some(h)),
            Forward::Write
        );
        // Audio-only subscribers get no video; back from it, the track waits for a keyframe.
        assert_eq!(forward_video(&out(Some(q)), q, true, None), Forward::Skip);
        let mut paused = out(Some(q));
        paused.pause();
        assert_eq!(
            forward_video(&paused, q, false, Some(q)),
            Forward::NeedKeyframe(q)
        );
        assert_eq!(forward_video(&paused, q, true, Some(q)), Forward::Write);
    }

    #[test]
    fn a_paused_track_resumes_numbered_on() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let ssrc = Ssrc::from(111);
        let mut o = out(None);
        let first = o
            .rewrite
            .map(ssrc, 5000, 90_000, 90_000, ms(0), None)
            .unwrap();
        o.pause();
        // Two seconds (6000 packets) later, the same publisher stream goes on.
        let next = o
            .rewrite
            .map(ssrc, 11_000, 270_000, 90_000, ms(2000), None)
            .unwrap();
        assert_eq!(next.seq, first.seq + 1);
        assert_eq!(next.ts, first.ts + 180_000);
    }

    #[test]
    fn rewrite_makes_one_continuous_stream_across_layer_switches() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let (q, h) = (Ssrc::from(111), Ssrc::from(222));
        let mut r = Rewrite::default();
        let map = |r: &mut Rewrite, ssrc, seq, ts, at, pid| {
            r.map(ssrc, seq, ts, 90_000, at, Some((Some(pid), Some(7))))
        };
        // The first packet starts low; RTP time and picture ids are kept.
        let a = map(&mut r, q, 70_000, 1_000, ms(0), 300).unwrap();
        assert_eq!((a.seq, a.ts, a.vp8), (1, 1_000, Some((Some(300), Some(7)))));
        let b = map(&mut r, q, 70_001, 4_000, ms(33), 301).unwrap();
        assert_eq!((b.seq, b.ts), (2, 4_000));
        // A retransmission of a lost packet keeps its place.
        let late = map(&mut r, q, 70_000, 1_000, ms(40), 300).unwrap();
        assert_eq!(late.seq, 1);
        // Switching to another layer (another SSRC, other numbering) 33 ms later continues
        // after the last packet: next sequence number, time advanced by 33 ms, next picture id.
        let c = map(&mut r, h, 5, 900_000, ms(66), 9_000).unwrap();
        assert_eq!((c.seq, c.ts), (3, 4_000 + 2_970));
        assert_eq!(c.vp8, Some((Some(302), Some(8))));
        let d = map(&mut r, h, 6, 903_000, ms(99), 9_001).unwrap();
        assert_eq!(
            (d.seq, d.ts, d.vp8),
            (4, 4_000 + 2_970 + 3_000, Some((Some(303), Some(8))))
        );
        // Packets of the new layer from before the switch are dropped.
        assert_eq!(map(&mut r, h, 4, 897_000, ms(100), 8_999), None);
        // Picture ids wrap at 15 bits.
        let mut w = Rewrite::default();
        map(&mut w, q, 1, 0, ms(0), 0x7fff).unwrap();
        let e = map(&mut w, h, 1, 0, ms(33), 10).unwrap();
        assert_eq!(e.vp8, Some((Some(0), Some(8))));
    }

    #[test]
    fn answers_ask_for_opus_fec_and_dtx() {
        let now = Instant::now();
        let mut browser = Rtc::builder().build(now);
        let addr = "127.0.0.1:5000".parse().unwrap();
        browser.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut api = browser.sdp_api();
        api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let (offer, _) = api.apply().unwrap();
        let (peer, answer) = Peer::accept(
            &Setup::new(),
            &offer.to_sdp_string(),
            Quality::Auto,
            true,
            now,
        )
        .unwrap();
        assert!(answer.contains("useinbandfec=1"), "{answer}");
        assert!(answer.contains("usedtx=1"), "{answer}");
        assert!(answer.contains("VP8"), "{answer}");
        assert!(answer.contains("a=ice-lite"), "{answer}");
        assert!(peer.outs.is_empty());
        assert!(Peer::accept(&Setup::new(), "v=0\r\nnonsense", Quality::Auto, true, now).is_err());
        // Without our own estimation (the teacher's session) the browser still gets transport
        // feedback for its upload, and keeps its own estimate for the layers it sends.
        for bwe in [true, false] {
            let (peer, answer) = Peer::accept(
                &Setup::new(),
                &offer.to_sdp_string(),
                Quality::Auto,
                bwe,
                now,
            )
            .unwrap();
            assert_eq!(peer.paced, bwe);
            assert!(answer.contains("transport-cc"), "{answer}");
            assert!(answer.contains("transport-wide-cc"), "{answer}");
        }
    }

    #[test]
    fn the_answer_keeps_the_browsers_codec_preference() {
        let now = Instant::now();
        for (h264_first, want) in [(false, "VP8"), (true, "H264")] {
            let builder = Rtc::builder().clear_codecs().enable_opus(true, false);
            let builder = if h264_first {
                builder.enable_h264(true).enable_vp8(true)
            } else {
                builder.enable_vp8(true).enable_h264(true)
            };
            let mut browser = builder.build(now);
            let addr = "127.0.0.1:5000".parse().unwrap();
            browser.add_local_candidate(Candidate::host(addr, "udp").unwrap());
            let mut api = browser.sdp_api();
            api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
            let (offer, _) = api.apply().unwrap();
            let sdp = offer.to_sdp_string();
            let (_, answer) = Peer::accept(&Setup::new(), &sdp, Quality::Auto, true, now).unwrap();
            assert_eq!(first_video_codec(&answer), Some(want), "{answer}");
            assert!(
                answer.contains("VP8") && answer.contains("H264"),
                "{answer}"
            );
        }
    }

    fn h264(pt: u8, mode: u8, profile: u32) -> PayloadParams {
        let mut config = Rtc::builder().clear_codecs();
        config
            .codec_config()
            .add_h264(pt.into(), None, mode == 1, profile);
        config.codec_config().params()[0]
    }

    #[test]
    fn h264_goes_to_the_payload_type_that_matches_its_profile_and_mode() {
        let cb = Format::of(&h264(108, 1, 0x42e01f));
        // The same profile and mode is best; another level of it next; baseline can decode
        // constrained baseline; single-NAL receivers cannot take fragments.
        assert_eq!(cb.fit(&h264(96, 1, 0x42e01f)), Some(5));
        assert_eq!(cb.fit(&h264(96, 1, 0x42e034)), Some(3));
        assert_eq!(cb.fit(&h264(96, 1, 0x42001f)), Some(1));
        assert_eq!(cb.fit(&h264(96, 0, 0x42e01f)), None);
        assert_eq!(cb.fit(&h264(96, 1, 0x64001f)), None);
        let single = Format::of(&h264(125, 0, 0x42e01f));
        assert_eq!(single.fit(&h264(96, 1, 0x42e01f)), Some(4));
        let mut config = Rtc::builder().clear_codecs().enable_vp8(true);
        let vp8 = config.codec_config().params()[0];
        assert_eq!(Format::of(&vp8).fit(&vp8), Some(0));
        assert_eq!(cb.fit(&vp8), None);
        assert_eq!(Format::of(&vp8).fit(&h264(96, 1, 0x42e01f)), None);
    }

    #[test]
    fn an_h264_stream_can_start_at_its_parameter_sets() {
        // STAP-A with SPS and PPS; a single IDR slice; the first fragment of a non-IDR slice.
        let stap = [
            0x78, 0x00, 0x04, 0x67, 0x42, 0xe0, 0x1f, 0x00, 0x02, 0x68, 0xce,
        ];
        let idr = [0x65, 0x88, 0x80];
        let fu_p = [0x7c, 0x81, 0x9a];
        assert!(starts_keyframe(Codec::H264, &stap, None));
        assert!(starts_keyframe(
            Codec::H264,
            &[0x67, 0x42, 0xe0, 0x1f],
            None
        ));
        assert!(!starts_keyframe(Codec::H264, &idr, None));
        assert!(!starts_keyframe(Codec::H264, &fu_p, None));
        assert!(!starts_keyframe(Codec::Vp8, &stap, None));
    }

    #[test]
    fn bucket_allows_burst_then_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(10.0, 5.0, t0);
        assert_eq!((0..8).filter(|_| b.take(t0)).count(), 5);
        assert!(b.take(t0 + Duration::from_millis(100)));
        assert!(!b.take(t0 + Duration::from_millis(100)));
    }
}
