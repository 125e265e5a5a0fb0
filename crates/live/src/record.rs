//! Recording the teacher: video frames to IVF (VP8, or H.264 access units in Annex B, which
//! ffmpeg reads from IVF as well), Opus packets to Ogg, both timed from the start of the
//! recording so that ffmpeg can mux them without offsets.
//!
//! The SFU forwards RTP packets as they are, so the recorder puts the frames together
//! itself ([`FrameAssembler`]: packets ordered by sequence number, a frame complete from its
//! first packet to the one with the marker bit; a frame lost for good means waiting for the
//! next keyframe). VP8 payload descriptors are removed; H.264 payloads (single NAL units,
//! STAP-A, FU-A) are turned into NAL units after start codes by str0m's depacketizer. One
//! recording has one video codec, that of its first frame. Each Opus packet is one RTP
//! payload.
//!
//! IVF is a 32-byte file header and a 12-byte header per frame. Ogg pages are written by
//! hand (RFC 3533, with its CRC) following the Ogg Opus mapping (RFC 7845): an `OpusHead`
//! page, an `OpusTags` page, then audio pages whose granule position counts 48 kHz samples.
//! Silences where the browser sent nothing (DTX, a muted microphone) are filled with empty
//! Opus frames, which decoders render as silence, so the audio time line never jumps.

use crate::LiveEvent;
use crate::room::Now;
use crate::sfu::Source;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use str0m::format::{Codec, CodecExtra};
use str0m::media::Rid;
use str0m::rtp::RtpPacket;
use str0m::unversioned::{Depacketizer, H264Depacketizer};
use uuid::Uuid;

/// Writes video frames into an IVF file: VP8 frames (fourcc `VP80`) or H.264 access units in
/// Annex B (fourcc `H264`), whichever codec the first frame has.
pub struct IvfWriter<W: Write + Seek> {
    out: W,
    frames: u32,
    size: Option<(u16, u16)>,
    codec: Option<Codec>,
}

/// IVF time base: frame times are in milliseconds.
pub const IVF_TIMEBASE_HZ: u32 = 1000;

/// The IVF fourcc of a video codec the recorder writes.
fn ivf_fourcc(codec: Codec) -> Option<[u8; 4]> {
    match codec {
        Codec::Vp8 => Some(*b"VP80"),
        Codec::H264 => Some(*b"H264"),
        _ => None,
    }
}

impl<W: Write + Seek> IvfWriter<W> {
    /// Writes the file header (codec, frame size and count are filled in by
    /// [`finish`](Self::finish)).
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&Self::header(*b"VP80", 0, 0, 0))?;
        Ok(Self {
            out,
            frames: 0,
            size: None,
            codec: None,
        })
    }

    fn header(fourcc: [u8; 4], width: u16, height: u16, frames: u32) -> [u8; 32] {
        let mut h = [0u8; 32];
        h[0..4].copy_from_slice(b"DKIF");
        h[4..6].copy_from_slice(&0u16.to_le_bytes());
        h[6..8].copy_from_slice(&32u16.to_le_bytes());
        h[8..12].copy_from_slice(&fourcc);
        h[12..14].copy_from_slice(&width.to_le_bytes());
        h[14..16].copy_from_slice(&height.to_le_bytes());
        h[16..20].copy_from_slice(&IVF_TIMEBASE_HZ.to_le_bytes());
        h[20..24].copy_from_slice(&1u32.to_le_bytes());
        h[24..28].copy_from_slice(&frames.to_le_bytes());
        h
    }

    /// Frames written.
    pub fn frames(&self) -> u32 {
        self.frames
    }

    /// The codec of the file (that of its first frame), `None` while it has no frame.
    pub fn codec(&self) -> Option<Codec> {
        self.codec
    }

    /// Appends a `codec` frame at `pts_ms`. The first frame sets the file's codec; a frame of
    /// another codec, or of one IVF cannot carry here, is refused (`InvalidInput`). The frame
    /// size is taken from the first VP8 keyframe (an H.264 file leaves it 0: decoders read
    /// the SPS).
    pub fn write(&mut self, codec: Codec, frame: &[u8], pts_ms: u64) -> io::Result<()> {
        if ivf_fourcc(codec).is_none() || self.codec.is_some_and(|c| c != codec) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a {codec} frame in a {:?} IVF file", self.codec),
            ));
        }
        if self.size.is_none() && codec == Codec::Vp8 {
            self.size = vp8_keyframe_size(frame);
        }
        self.out.write_all(&(frame.len() as u32).to_le_bytes())?;
        self.out.write_all(&pts_ms.to_le_bytes())?;
        self.out.write_all(frame)?;
        self.codec = Some(codec);
        self.frames += 1;
        Ok(())
    }

    /// Completes the header and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        let (w, h) = self.size.unwrap_or((0, 0));
        let fourcc = self.codec.and_then(ivf_fourcc).unwrap_or(*b"VP80");
        self.out.seek(SeekFrom::Start(0))?;
        self.out
            .write_all(&Self::header(fourcc, w, h, self.frames))?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Length of the VP8 payload descriptor at the start of an RTP payload (RFC 7741 §4.2), and
/// whether the packet starts a frame (S set, partition 0); `None` for a malformed one.
pub fn vp8_descriptor(payload: &[u8]) -> Option<(usize, bool)> {
    let b0 = *payload.first()?;
    let start = b0 & 0x10 != 0 && b0 & 0x07 == 0;
    let mut at = 1;
    if b0 & 0x80 != 0 {
        let ext = *payload.get(at)?;
        at += 1;
        if ext & 0x80 != 0 {
            at += if *payload.get(at)? & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            at += 1;
        }
        if ext & 0x30 != 0 {
            at += 1;
        }
    }
    (at < payload.len()).then_some((at, start))
}

/// Of an H.264 RTP payload (RFC 6184): whether it can be the first of an access unit
/// (anything but the continuation of a fragmented NAL unit), and whether it must be (its first
/// NAL unit is an access unit delimiter or a sequence parameter set, which come before the
/// slices: browsers send SPS and PPS in front of each IDR); `None` for a malformed one.
fn h264_head(payload: &[u8]) -> Option<(bool, bool)> {
    const SPS: u8 = 7;
    const AUD: u8 = 9;
    const STAP_A: u8 = 24;
    const FU_A: u8 = 28;
    const FU_B: u8 = 29;
    let nal_type = *payload.first()? & 0x1f;
    match nal_type {
        FU_A | FU_B => Some((*payload.get(1)? & 0x80 != 0, false)),
        // The first aggregated unit, after its 16-bit size.
        STAP_A => Some((
            true,
            payload
                .get(3)
                .is_some_and(|b| matches!(b & 0x1f, SPS | AUD)),
        )),
        _ => Some((true, matches!(nal_type, SPS | AUD))),
    }
}

/// A whole video frame put together from RTP packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The frame: VP8 without its payload descriptors, or an H.264 access unit in Annex B
    /// (each NAL unit after a start code).
    pub data: Vec<u8>,
    /// Extended RTP time (90 kHz).
    pub time: u64,
    /// When its first packet arrived.
    pub arrival: Instant,
    /// A keyframe (VP8: a key frame; H.264: the access unit has an IDR slice).
    pub keyframe: bool,
}

/// How long a frame with a missing packet is waited for (a retransmission) before it is
/// given up.
const ASSEMBLY_WAIT: Duration = Duration::from_millis(400);
/// Packets kept waiting at most.
const ASSEMBLY_MAX: usize = 600;

struct Part {
    time: u64,
    marker: bool,
    /// The payload can begin a frame (VP8: S set in partition 0, which is a frame start;
    /// H.264: not a fragment's continuation, a start if the packet before has another time).
    head: bool,
    /// H.264: certainly a start, even when the packet before is unknown.
    opens: bool,
    /// Bytes of the payload before the codec data (the VP8 descriptor).
    offset: usize,
    payload: Arc<[u8]>,
    arrival: Instant,
}

/// Puts the frames of one video stream together from its RTP packets, in any arrival order.
///
/// The packets of a frame share the RTP time, follow each other in sequence numbers and the
/// last one has the marker bit. VP8 marks the first packet of a frame (S bit); an H.264 frame
/// begins at the first packet of a new RTP time. A frame lost for good (or damaged) means
/// dropping the frames after it until the next keyframe, which does not refer to older ones.
pub struct FrameAssembler {
    codec: Codec,
    parts: BTreeMap<u64, Part>,
    /// Sequence number the next frame starts at (everything before was emitted or dropped).
    next: Option<u64>,
    /// The last packet emitted or dropped: sequence number, RTP time, marker bit.
    prev: Option<(u64, u64, bool)>,
    /// A frame was lost: frames until the next keyframe are dropped (they refer to it).
    broken: bool,
}

impl FrameAssembler {
    /// An assembler of `codec` frames: `None` for a codec other than VP8 and H.264.
    pub fn new(codec: Codec) -> Option<Self> {
        matches!(codec, Codec::Vp8 | Codec::H264).then(|| Self {
            codec,
            parts: BTreeMap::new(),
            next: None,
            prev: None,
            broken: false,
        })
    }

    /// The codec it puts together.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Adds a packet (`seq` extended, `time` extended RTP time) and returns the frames it
    /// completed, in order.
    pub fn push(
        &mut self,
        seq: u64,
        time: u64,
        marker: bool,
        payload: Arc<[u8]>,
        arrival: Instant,
    ) -> Vec<Frame> {
        let inspected = match self.codec {
            Codec::H264 => h264_head(&payload).map(|(head, opens)| (0, head, opens)),
            _ => vp8_descriptor(&payload).map(|(offset, head)| (offset, head, false)),
        };
        let Some((offset, head, opens)) = inspected else {
            return Vec::new();
        };
        if self.next.is_some_and(|n| seq < n) || self.prev.is_some_and(|(s, ..)| seq <= s) {
            return Vec::new();
        }
        self.parts.insert(
            seq,
            Part {
                time,
                marker,
                head,
                opens,
                offset,
                payload,
                arrival,
            },
        );
        let mut frames = Vec::new();
        loop {
            match self.complete_front() {
                Some(end) => {
                    let parts = self.take_until(end + 1);
                    self.next = Some(end + 1);
                    let Some(frame) = self.depacketize(&parts) else {
                        // Damaged: what follows may refer to it.
                        self.broken = true;
                        continue;
                    };
                    if frame.keyframe {
                        self.broken = false;
                    }
                    if !self.broken {
                        frames.push(frame);
                    }
                }
                None => {
                    if !self.give_up(arrival) {
                        break;
                    }
                }
            }
        }
        frames
    }

    /// Whether frames are being dropped until a keyframe comes.
    pub fn needs_keyframe(&self) -> bool {
        self.broken
    }

    /// Whether the packet `seq` begins a frame (H.264: the packet before it, if known, ended a
    /// frame or has another time).
    fn starts(&self, seq: u64, part: &Part) -> bool {
        if self.codec != Codec::H264 {
            return part.head;
        }
        let before = seq
            .checked_sub(1)
            .and_then(|s| self.parts.get(&s).map(|p| (p.time, p.marker)))
            .or_else(|| {
                self.prev
                    .filter(|(s, ..)| s + 1 == seq)
                    .map(|(_, time, marker)| (time, marker))
            });
        part.head && before.map_or(part.opens, |(time, marker)| marker || time != part.time)
    }

    /// Removes the packets before `seq` and returns them.
    fn take_until(&mut self, seq: u64) -> BTreeMap<u64, Part> {
        let rest = self.parts.split_off(&seq);
        let taken = std::mem::replace(&mut self.parts, rest);
        if let Some((&s, p)) = taken.iter().next_back()
            && self.prev.is_none_or(|(before, ..)| before < s)
        {
            self.prev = Some((s, p.time, p.marker));
        }
        taken
    }

    /// The frame of these packets; `None` when they do not make one.
    fn depacketize(&self, parts: &BTreeMap<u64, Part>) -> Option<Frame> {
        let first = parts.values().next()?;
        let size = parts.values().map(|p| p.payload.len()).sum::<usize>();
        let (data, keyframe) = match self.codec {
            Codec::H264 => {
                let mut d = H264Depacketizer::default();
                let mut data = Vec::with_capacity(d.out_size_hint(size).unwrap_or(size));
                let mut extra = CodecExtra::None;
                for p in parts.values() {
                    d.depacketize(&p.payload, &mut data, &mut extra).ok()?;
                }
                if d != H264Depacketizer::default() {
                    // A fragmented NAL unit without its end.
                    return None;
                }
                let keyframe = matches!(extra, CodecExtra::H264(e) if e.is_keyframe);
                (data, keyframe)
            }
            _ => {
                let mut data = Vec::with_capacity(size);
                for p in parts.values() {
                    data.extend_from_slice(&p.payload[p.offset..]);
                }
                let keyframe = data.first().is_some_and(|b| b & 1 == 0);
                (data, keyframe)
            }
        };
        (!data.is_empty()).then_some(Frame {
            data,
            time: first.time,
            arrival: first.arrival,
            keyframe,
        })
    }

    /// The last sequence number of the first frame, if all of its packets are here.
    fn complete_front(&self) -> Option<u64> {
        let (&first, p) = self.parts.iter().next()?;
        // A frame starts where the previous one ended (anywhere for the very first).
        if !self.starts(first, p) || self.next.is_some_and(|n| n != first) {
            return None;
        }
        for (expect, (&seq, part)) in (first..).zip(&self.parts) {
            if seq != expect || part.time != p.time || (seq != first && self.starts(seq, part)) {
                return None;
            }
            if part.marker {
                return Some(seq);
            }
        }
        None
    }

    /// Unblocks the front: packets before the first frame start are dropped at once; a gap
    /// or an incomplete frame once it waited too long (or too much waits). True when
    /// something changed.
    fn give_up(&mut self, now: Instant) -> bool {
        let Some((&first, front)) = self.parts.iter().next() else {
            return false;
        };
        let front_starts = self.starts(first, front);
        let joining = self.next.is_none() && !front_starts;
        let stale = now.saturating_duration_since(front.arrival) > ASSEMBLY_WAIT;
        if !joining && !stale && self.parts.len() <= ASSEMBLY_MAX {
            return false;
        }
        if front_starts && self.next != Some(first) && !joining {
            // The end of the previous frame is lost; this frame is whole or will be.
            self.next = Some(first);
            self.broken = true;
            return true;
        }
        let front_time = front.time;
        let next_start = self
            .parts
            .iter()
            .skip(1)
            .find(|(s, p)| p.time != front_time && self.starts(**s, p))
            .map(|(s, _)| *s);
        match next_start {
            Some(s) => {
                self.take_until(s);
                self.next = Some(s);
            }
            None => {
                let last = self.parts.keys().next_back().copied().unwrap_or_default();
                self.take_until(last + 1);
                self.next = (!joining).then_some(last + 1);
            }
        }
        self.broken |= !joining;
        true
    }
}

/// Width and height of a VP8 keyframe (RFC 6386 §9.1), `None` for other frames.
pub fn vp8_keyframe_size(frame: &[u8]) -> Option<(u16, u16)> {
    if frame.len() < 10 || frame[0] & 1 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let h = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((w, h))
}

/// Samples (at 48 kHz) in an Opus packet, from its TOC byte (RFC 6716 §3.1).
pub fn opus_samples(packet: &[u8]) -> u64 {
    let Some(&toc) = packet.first() else { return 0 };
    let config = toc >> 3;
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => packet.get(1).map_or(0, |b| u64::from(b & 0x3f)),
    };
    frame * frames
}

/// CRC-32 of Ogg pages: polynomial 0x04c11db7, not reflected, initial value 0.
pub fn ogg_crc(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut r = (i as u32) << 24;
            let mut j = 0;
            while j < 8 {
                r = if r & 0x8000_0000 != 0 {
                    (r << 1) ^ 0x04c1_1db7
                } else {
                    r << 1
                };
                j += 1;
            }
            t[i] = r;
            i += 1;
        }
        t
    };
    data.iter().fold(0u32, |crc, b| {
        (crc << 8) ^ TABLE[(((crc >> 24) as u8) ^ b) as usize]
    })
}

/// Opus pre-skip we declare (libopus' usual encoder delay).
pub const OPUS_PRE_SKIP: u16 = 312;

/// Writes Opus packets into an Ogg file.
pub struct OggOpusWriter<W: Write> {
    out: W,
    serial: u32,
    seq: u32,
    /// Samples written so far (the granule position, without pre-skip).
    samples: u64,
    /// Packets waiting for their page (the last page gets the end-of-stream flag).
    page: Vec<Vec<u8>>,
    packets: u64,
}

impl<W: Write> OggOpusWriter<W> {
    /// Writes the `OpusHead` and `OpusTags` pages.
    pub fn new(out: W, serial: u32) -> io::Result<Self> {
        let mut w = Self {
            out,
            serial,
            seq: 0,
            samples: 0,
            page: Vec::new(),
            packets: 0,
        };
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1); // version
        head.push(1); // channels: class voice
        head.extend_from_slice(&OPUS_PRE_SKIP.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes());
        head.push(0); // mapping family
        w.write_page(&[head], 0, 0x02)?;
        let mut tags = Vec::new();
        tags.extend_from_slice(b"OpusTags");
        let vendor = b"lophoc";
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes());
        w.write_page(&[tags], 0, 0)?;
        Ok(w)
    }

    /// Samples written (the stream's duration at 48 kHz).
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Audio packets written (fillers included).
    pub fn packets(&self) -> u64 {
        self.packets
    }

    fn write_page(&mut self, packets: &[Vec<u8>], granule: u64, flags: u8) -> io::Result<()> {
        let mut lacing = Vec::new();
        for p in packets {
            lacing.extend(std::iter::repeat_n(255u8, p.len() / 255));
            lacing.push((p.len() % 255) as u8);
        }
        let mut page =
            Vec::with_capacity(27 + lacing.len() + packets.iter().map(Vec::len).sum::<usize>());
        page.extend_from_slice(b"OggS");
        page.push(0);
        page.push(flags);
        page.extend_from_slice(&granule.to_le_bytes());
        page.extend_from_slice(&self.serial.to_le_bytes());
        page.extend_from_slice(&self.seq.to_le_bytes());
        page.extend_from_slice(&[0; 4]);
        page.push(lacing.len() as u8);
        page.extend_from_slice(&lacing);
        for p in packets {
            page.extend_from_slice(p);
        }
        let crc = ogg_crc(&page);
        page[22..26].copy_from_slice(&crc.to_le_bytes());
        self.seq += 1;
        self.out.write_all(&page)
    }

    fn flush_page(&mut self, flags: u8) -> io::Result<()> {
        let packets = std::mem::take(&mut self.page);
        self.write_page(&packets, self.samples + u64::from(OPUS_PRE_SKIP), flags)
    }

    fn push(&mut self, packet: Vec<u8>) -> io::Result<()> {
        let segments: usize = self.page.iter().map(|p| p.len() / 255 + 1).sum();
        if segments + packet.len() / 255 + 1 > 255 {
            self.flush_page(0)?;
        }
        self.samples += opus_samples(&packet);
        self.packets += 1;
        self.page.push(packet);
        Ok(())
    }

    /// Appends a packet that starts at `at` samples from the start of the recording; a gap
    /// before it is filled with empty frames (silence), a packet that overlaps what was already
    /// written is dropped.
    pub fn write(&mut self, packet: &[u8], at: u64) -> io::Result<()> {
        let step = opus_samples(packet);
        if step == 0 {
            return Ok(());
        }
        if at + step / 2 < self.samples {
            return Ok(());
        }
        // An empty frame with the same TOC (code 0: one frame) lasts one frame.
        let filler = vec![packet[0] & !3];
        let filler_len = opus_samples(&filler);
        while self.samples + filler_len <= at {
            self.push(filler.clone())?;
        }
        self.push(packet.to_vec())?;
        // One page per packet keeps the time line exact without waiting; fillers are batched.
        self.flush_page(0)
    }

    /// Writes the last page and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush_page(0x04)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The time line of one stream in a recording: the first frame of a segment (a new layer or
/// source) is placed by its arrival, the following ones by their RTP time.
#[derive(Debug, Default)]
struct Timeline {
    /// (RTP time of the segment's first frame, its position).
    base: Option<(u64, u64)>,
    last: u64,
}

impl Timeline {
    fn place(&mut self, rtp: u64, hz: u64, arrival: u64, unit_hz: u64, new_segment: bool) -> u64 {
        let pos = match self.base {
            Some((b, p)) if !new_segment => {
                p + rtp.wrapping_sub(b).min(u64::MAX / 2) * unit_hz / hz
            }
            _ => {
                let p = arrival.max(self.last);
                self.base = Some((rtp, p));
                p
            }
        };
        self.last = self.last.max(pos);
        pos
    }
}

/// A running recording of a room's teacher.
pub struct Recorder {
    by: Uuid,
    start: Instant,
    started_at: SystemTime,
    video_path: PathBuf,
    audio_path: PathBuf,
    video: IvfWriter<BufWriter<File>>,
    audio: OggOpusWriter<BufWriter<File>>,
    /// Layers of the teacher's video seen, with their last frame.
    seen: Vec<((Source, Option<Rid>), Instant)>,
    current: Option<(Source, Option<Rid>)>,
    /// Frame assembly of the layers being recorded or waited for, with the RTP stream (SSRC)
    /// each is assembling.
    assemblers: Vec<((Source, Option<Rid>), u32, FrameAssembler)>,
    video_time: Timeline,
    audio_time: Timeline,
    failed: bool,
    /// A packet of a codec this recording does not take was logged.
    other_codec_logged: bool,
}

/// What the recorder uses of a video RTP packet.
#[derive(Debug, Clone)]
pub struct VideoPacket {
    /// Extended sequence number.
    pub seq: u64,
    /// Extended RTP time (90 kHz).
    pub time: u64,
    /// The marker bit: the last packet of a frame.
    pub marker: bool,
    /// The RTP payload.
    pub payload: Arc<[u8]>,
    /// When it arrived.
    pub arrival: Instant,
    /// The RTP stream (SSRC): a new one (the teacher's browser started its session again)
    /// numbers its packets afresh.
    pub stream: u32,
}

impl From<&RtpPacket> for VideoPacket {
    fn from(pkt: &RtpPacket) -> Self {
        Self {
            seq: *pkt.seq_no,
            time: pkt.time.numer(),
            marker: pkt.header.marker,
            payload: pkt.payload.clone(),
            arrival: pkt.timestamp,
            stream: *pkt.header.ssrc,
        }
    }
}

fn rank(rid: Option<Rid>) -> u8 {
    match rid.as_deref() {
        Some("f") => 3,
        Some("h") => 2,
        Some("q") => 1,
        _ => 0,
    }
}

impl Recorder {
    /// Opens the two files `<room>-<time>.ivf` and `.ogg` in `dir`.
    pub fn start(dir: &Path, room: Uuid, by: Uuid, now: Now) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let stamp = now
            .wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let video_path = dir.join(format!("{room}-{stamp}.ivf"));
        let audio_path = dir.join(format!("{room}-{stamp}.ogg"));
        let video = IvfWriter::new(BufWriter::new(File::create(&video_path)?))?;
        let audio = OggOpusWriter::new(BufWriter::new(File::create(&audio_path)?), stamp as u32)?;
        Ok(Self {
            by,
            start: now.at,
            started_at: now.wall,
            video_path,
            audio_path,
            video,
            audio,
            seen: Vec::new(),
            current: None,
            assemblers: Vec::new(),
            video_time: Timeline::default(),
            audio_time: Timeline::default(),
            failed: false,
            other_codec_logged: false,
        })
    }

    /// The teacher being recorded.
    pub fn by(&self) -> Uuid {
        self.by
    }

    fn since_start(&self, at: Instant, hz: u64) -> u64 {
        at.saturating_duration_since(self.start).as_micros() as u64 * hz / 1_000_000
    }

    /// Which video to record: the screen while it is shared, else the camera; the best layer.
    fn preferred(&self, now: Instant) -> Option<(Source, Option<Rid>)> {
        let live = |s: Source| {
            self.seen
                .iter()
                .filter(move |((src, _), t)| {
                    *src == s && now.saturating_duration_since(*t) < Duration::from_millis(1500)
                })
                .map(|((_, r), _)| *r)
                .max_by_key(|r| rank(*r))
        };
        live(Source::Screen)
            .map(|r| (Source::Screen, r))
            .or_else(|| live(Source::Camera).map(|r| (Source::Camera, r)))
    }

    /// A video packet of the teacher's (`codec`: that of its payload type); returns the layer
    /// of which a keyframe is wanted (to start the file, switch to a better source, or recover
    /// from a lost frame).
    pub fn video(
        &mut self,
        source: Source,
        rid: Option<Rid>,
        codec: Codec,
        pkt: &RtpPacket,
    ) -> Option<(Source, Option<Rid>)> {
        self.video_packet(source, rid, codec, VideoPacket::from(pkt))
    }

    /// [`video`](Self::video) with the parts of the packet the recorder uses.
    ///
    /// One recording has one codec, that of its first frame: packets of another one (the
    /// teacher came back from another browser) are dropped, and no keyframe is asked for.
    pub fn video_packet(
        &mut self,
        source: Source,
        rid: Option<Rid>,
        codec: Codec,
        pkt: VideoPacket,
    ) -> Option<(Source, Option<Rid>)> {
        let recordable = ivf_fourcc(codec).is_some();
        if !recordable || self.video.codec().is_some_and(|c| c != codec) {
            if !self.other_codec_logged {
                self.other_codec_logged = true;
                tracing::debug!(
                    "recording: {codec} video dropped (the recording is {:?})",
                    self.video.codec()
                );
            }
            return None;
        }
        let layer = (source, rid);
        let now = pkt.arrival;
        match self.seen.iter_mut().find(|(l, _)| *l == layer) {
            Some((_, t)) => *t = now,
            None => self.seen.push((layer, now)),
        }
        let want = self.preferred(now)?;
        if layer != want && Some(layer) != self.current {
            return (self.current != Some(want)).then_some(want);
        }
        // A new stream of the layer being recorded (the teacher's browser started its media
        // session again) is a new segment: it starts at its next keyframe, placed by arrival.
        let restarted = self
            .assemblers
            .iter()
            .any(|(l, stream, _)| *l == layer && *stream != pkt.stream);
        if restarted && self.current == Some(layer) {
            self.current = None;
        }
        // Only the layers that matter are put together.
        let (current, assemblers) = (self.current, &mut self.assemblers);
        assemblers.retain(|(l, stream, a)| {
            (*l == want || Some(*l) == current || *l == layer)
                && (*l != layer || (a.codec() == codec && *stream == pkt.stream))
        });
        let i = match assemblers.iter().position(|(l, _, _)| *l == layer) {
            Some(i) => i,
            None => {
                let asm = FrameAssembler::new(codec)?;
                assemblers.push((layer, pkt.stream, asm));
                assemblers.len() - 1
            }
        };
        let asm = &mut assemblers[i].2;
        let frames = asm.push(pkt.seq, pkt.time, pkt.marker, pkt.payload, now);
        let broken = asm.needs_keyframe();
        let mut ask = None;
        for f in frames {
            ask = self.frame(layer, want, codec, &f);
        }
        if broken && Some(layer) == self.current {
            return Some(layer);
        }
        ask.or_else(|| (self.current != Some(want)).then_some(want))
    }

    /// A whole `codec` frame of `layer` while `want` is the layer to record.
    fn frame(
        &mut self,
        layer: (Source, Option<Rid>),
        want: (Source, Option<Rid>),
        codec: Codec,
        f: &Frame,
    ) -> Option<(Source, Option<Rid>)> {
        let switching = if layer == want && self.current != Some(want) {
            if !f.keyframe {
                return Some(want);
            }
            self.current = Some(want);
            true
        } else if Some(layer) == self.current {
            false
        } else {
            return (self.current != Some(want)).then_some(want);
        };
        let arrival = self.since_start(f.arrival, 1000);
        let pts = self
            .video_time
            .place(f.time, 90_000, arrival, 1000, switching);
        if let Err(e) = self.video.write(codec, &f.data, pts) {
            self.fail(&e);
        }
        (self.current != Some(want)).then_some(want)
    }

    /// An audio packet of the teacher's microphone (one Opus packet).
    pub fn audio(&mut self, pkt: &RtpPacket) {
        if pkt.payload.is_empty() {
            return;
        }
        let arrival = self.since_start(pkt.timestamp, 48_000);
        let at = self.audio_time.place(
            pkt.time.numer(),
            u64::from(pkt.time.denom()),
            arrival,
            48_000,
            false,
        );
        if let Err(e) = self.audio.write(&pkt.payload, at) {
            self.fail(&e);
        }
    }

    fn fail(&mut self, e: &io::Error) {
        if !self.failed {
            tracing::error!("recording write failed: {e}");
            self.failed = true;
        }
    }

    /// Closes the files; a file without any frame is deleted and reported as absent.
    pub fn finish(self, room: Uuid, now: Now) -> LiveEvent {
        let video_frames = self.video.frames();
        let audio_packets = self.audio.packets();
        let video = self
            .video
            .finish()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()));
        let audio = self
            .audio
            .finish()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()));
        let keep = |ok: bool, result: io::Result<File>, path: PathBuf| match result {
            Ok(_) if ok => Some(path),
            Ok(_) => {
                let _ = std::fs::remove_file(&path);
                None
            }
            Err(e) => {
                tracing::error!("recording {} could not be completed: {e}", path.display());
                None
            }
        };
        LiveEvent::RecordingFinished {
            room,
            by: self.by,
            video: keep(video_frames > 0, video, self.video_path),
            audio: keep(audio_packets > 0, audio, self.audio_path),
            started_at: self.started_at,
            ended_at: now.wall,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn keyframe(w: u16, h: u16) -> Vec<u8> {
        let mut f = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a];
        f.extend_from_slice(&w.to_le_bytes());
        f.extend_from_slice(&h.to_le_bytes());
        f.extend_from_slice(&[7; 20]);
        f
    }

    #[test]
    fn ivf_header_and_frames_parse_back() {
        let mut w = IvfWriter::new(Cursor::new(Vec::new())).unwrap();
        w.write(Codec::Vp8, &[0x31, 1, 2], 0).unwrap(); // a delta frame: no size yet
        w.write(Codec::Vp8, &keyframe(1280, 720), 33).unwrap();
        w.write(Codec::Vp8, &[0x31, 9], 66).unwrap();
        assert!(w.write(Codec::H264, &[0, 0, 0, 1, 0x65], 99).is_err());
        let bytes = w.finish().unwrap().into_inner();
        assert_eq!(&bytes[0..4], b"DKIF");
        assert_eq!(u16::from_le_bytes([bytes[6], bytes[7]]), 32);
        assert_eq!(&bytes[8..12], b"VP80");
        assert_eq!(u16::from_le_bytes([bytes[12], bytes[13]]), 1280);
        assert_eq!(u16::from_le_bytes([bytes[14], bytes[15]]), 720);
        assert_eq!(u32::from_le_bytes(bytes[16..20].try_into().unwrap()), 1000);
        assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 3);
        // Walk the frames.
        let mut at = 32;
        let mut found = Vec::new();
        while at < bytes.len() {
            let size = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let pts = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap());
            found.push((size, pts));
            at += 12 + size;
        }
        assert_eq!(at, bytes.len());
        assert_eq!(found, vec![(3, 0), (30, 33), (2, 66)]);
    }

    #[test]
    fn opus_durations_from_toc() {
        assert_eq!(opus_samples(&[0xf8, 1, 2]), 960); // CELT FB 20 ms, one frame
        assert_eq!(opus_samples(&[0x78]), 960); // SILK WB 20 ms
        assert_eq!(opus_samples(&[0xf9]), 1920); // two frames
        assert_eq!(opus_samples(&[0xfb, 0x03]), 2880); // code 3, three frames
        assert_eq!(opus_samples(&[0x08]), 960); // SILK NB 20 ms
        assert_eq!(opus_samples(&[]), 0);
    }

    #[test]
    fn ogg_crc_matches_the_reference_value() {
        // Ogg's CRC is CRC-32/CKSUM (check value 0x765e7680) without its final inversion.
        assert_eq!(ogg_crc(b"123456789"), !0x765e_7680);
    }

    struct Page {
        flags: u8,
        granule: u64,
        seq: u32,
        packets: Vec<Vec<u8>>,
    }

    fn pages(bytes: &[u8]) -> Vec<Page> {
        let mut at = 0;
        let mut out = Vec::new();
        while at < bytes.len() {
            assert_eq!(&bytes[at..at + 4], b"OggS");
            let n = bytes[at + 26] as usize;
            let lacing = &bytes[at + 27..at + 27 + n];
            let body: usize = lacing.iter().map(|l| *l as usize).sum();
            let len = 27 + n + body;
            let mut page = bytes[at..at + len].to_vec();
            let crc = u32::from_le_bytes(page[22..26].try_into().unwrap());
            page[22..26].copy_from_slice(&[0; 4]);
            assert_eq!(ogg_crc(&page), crc, "page CRC");
            let mut packets = Vec::new();
            let mut cur = Vec::new();
            let mut p = at + 27 + n;
            for l in lacing {
                cur.extend_from_slice(&bytes[p..p + *l as usize]);
                p += *l as usize;
                if *l < 255 {
                    packets.push(std::mem::take(&mut cur));
                }
            }
            out.push(Page {
                flags: bytes[at + 5],
                granule: u64::from_le_bytes(bytes[at + 6..at + 14].try_into().unwrap()),
                seq: u32::from_le_bytes(bytes[at + 18..at + 22].try_into().unwrap()),
                packets,
            });
            at += len;
        }
        out
    }

    #[test]
    fn ogg_opus_pages_parse_back_with_gaps_filled() {
        let mut w = OggOpusWriter::new(Cursor::new(Vec::new()), 7).unwrap();
        let pkt = |n: u8| {
            let mut p = vec![0xf8];
            p.extend(std::iter::repeat_n(n, 300));
            p
        };
        w.write(&pkt(1), 960).unwrap(); // starts 20 ms late: one filler first
        w.write(&pkt(2), 1920).unwrap();
        w.write(&pkt(3), 960).unwrap(); // a late duplicate: dropped
        w.write(&pkt(4), 1920 + 960 * 3).unwrap(); // DTX gap of two frames
        assert_eq!(w.samples(), 960 * 6);
        let bytes = w.finish().unwrap().into_inner();
        let pages = pages(&bytes);
        assert_eq!(pages[0].flags, 0x02);
        assert_eq!(&pages[0].packets[0][..8], b"OpusHead");
        assert_eq!(pages[0].packets[0].len(), 19);
        assert_eq!(&pages[1].packets[0][..8], b"OpusTags");
        assert!(pages.iter().enumerate().all(|(i, p)| p.seq == i as u32));
        let audio: Vec<&Page> = pages[2..]
            .iter()
            .filter(|p| !p.packets.is_empty())
            .collect();
        let all: Vec<&Vec<u8>> = audio.iter().flat_map(|p| &p.packets).collect();
        assert_eq!(all.len(), 6);
        assert_eq!(all[0], &vec![0xf8]);
        assert_eq!(all[1].len(), 301);
        assert_eq!(all[1][1], 1);
        assert_eq!(all[2][1], 2);
        assert_eq!((all[3], all[4]), (&vec![0xf8], &vec![0xf8]));
        assert_eq!(all[5][1], 4);
        assert_eq!(audio[0].granule, 960 * 2 + u64::from(OPUS_PRE_SKIP));
        let last = pages.last().unwrap();
        assert_eq!(last.flags, 0x04);
        assert_eq!(last.granule, 960 * 6 + u64::from(OPUS_PRE_SKIP));
    }

    /// A VP8 RTP payload: descriptor with a 15-bit picture id, then `body`.
    fn vp8_packet(start: bool, body: &[u8]) -> Arc<[u8]> {
        let mut p = vec![if start { 0x90 } else { 0x80 }, 0x80, 0x81, 0x23];
        p.extend_from_slice(body);
        p.into()
    }

    #[test]
    fn vp8_frames_are_put_together_in_any_order_and_losses_wait_for_a_keyframe() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        assert_eq!(vp8_descriptor(&vp8_packet(true, &[0x10])), Some((4, true)));
        assert_eq!(vp8_descriptor(&[0x10, 0x10]), Some((1, true)));
        assert_eq!(vp8_descriptor(&[0x90]), None);
        let mut a = FrameAssembler::new(Codec::Vp8).unwrap();
        // Joining mid-frame: the tail of that frame is dropped.
        assert!(
            a.push(9, 0, true, vp8_packet(false, &[1]), ms(0))
                .is_empty()
        );
        // A keyframe in three packets, the middle one late.
        assert!(
            a.push(10, 3000, false, vp8_packet(true, &[0x10, 2]), ms(1))
                .is_empty()
        );
        assert!(
            a.push(12, 3000, true, vp8_packet(false, &[4]), ms(2))
                .is_empty()
        );
        let f = a.push(11, 3000, false, vp8_packet(false, &[3]), ms(3));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].data, vec![0x10, 2, 3, 4]);
        assert!(f[0].keyframe);
        assert_eq!((f[0].time, f[0].arrival), (3000, ms(1)));
        // A delta frame in one packet.
        let f = a.push(13, 6000, true, vp8_packet(true, &[0x11, 5]), ms(33));
        assert_eq!(f.len(), 1);
        assert!(!f[0].keyframe);
        // Packet 14 is lost for good: after the wait, delta frames are dropped until a keyframe.
        assert!(
            a.push(15, 9000, true, vp8_packet(false, &[6]), ms(66))
                .is_empty()
        );
        assert!(
            a.push(16, 12000, true, vp8_packet(true, &[0x11, 7]), ms(99))
                .is_empty()
        );
        assert!(
            a.push(17, 15000, true, vp8_packet(true, &[0x11, 8]), ms(600))
                .is_empty()
        );
        assert!(a.needs_keyframe());
        let f = a.push(18, 18000, true, vp8_packet(true, &[0x10, 9]), ms(633));
        assert_eq!(f.len(), 1);
        assert!(f[0].keyframe);
        assert!(!a.needs_keyframe());
        // Old packets after that are ignored.
        assert!(
            a.push(14, 9000, false, vp8_packet(true, &[0x11]), ms(640))
                .is_empty()
        );
    }

    #[test]
    fn timeline_places_segments_by_arrival_then_rtp() {
        let mut t = Timeline::default();
        assert_eq!(t.place(90_000, 90_000, 500, 1000, false), 500);
        assert_eq!(t.place(90_000 + 3000, 90_000, 999, 1000, false), 533);
        // A new layer with another RTP base continues at its arrival.
        assert_eq!(t.place(7, 90_000, 600, 1000, true), 600);
        assert_eq!(t.place(7 + 9000, 90_000, 0, 1000, false), 700);
        // Never before what was written.
        assert_eq!(t.place(1, 90_000, 10, 1000, true), 700);
    }

    const SPS: [u8; 4] = [0x67, 0x42, 0xc0, 0x1e];
    const PPS: [u8; 3] = [0x68, 0xce, 0x3c];

    /// A STAP-A payload aggregating `nals`.
    fn stap_a(nals: &[&[u8]]) -> Arc<[u8]> {
        let mut p = vec![0x78];
        for n in nals {
            p.extend_from_slice(&(n.len() as u16).to_be_bytes());
            p.extend_from_slice(n);
        }
        p.into()
    }

    /// An FU-A payload: a fragment of a NAL unit with header `nal` (start/end flags).
    fn fu_a(nal: u8, start: bool, end: bool, body: &[u8]) -> Arc<[u8]> {
        let flags = if start { 0x80 } else { 0 } | if end { 0x40 } else { 0 };
        let mut p = vec![(nal & 0xe0) | 28, flags | (nal & 0x1f)];
        p.extend_from_slice(body);
        p.into()
    }

    /// NAL units after 4-byte start codes.
    fn annex_b(nals: &[&[u8]]) -> Vec<u8> {
        nals.iter()
            .flat_map(|n| [&[0, 0, 0, 1][..], n].concat())
            .collect()
    }

    #[test]
    fn h264_access_units_are_put_together_in_any_order_and_losses_wait_for_an_idr() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut a = FrameAssembler::new(Codec::H264).unwrap();
        assert!(FrameAssembler::new(Codec::Opus).is_none());
        let push = |a: &mut FrameAssembler, seq, time, marker, p: &Arc<[u8]>, at| {
            a.push(seq, time, marker, p.clone(), at)
        };
        let idr: Vec<u8> = [0x65].into_iter().chain(1..=9).collect();
        let p_nal = [0x41, 0x9a, 0x10];
        let stap = stap_a(&[&SPS, &PPS]);
        let idr1 = fu_a(0x65, true, false, &idr[1..4]);
        let idr2 = fu_a(0x65, false, false, &idr[4..7]);
        let idr3 = fu_a(0x65, false, true, &idr[7..]);
        let p_single: Arc<[u8]> = p_nal.to_vec().into();
        // Joining in a frame of two slices: whether the first one seen is its first is not
        // known, the frame is dropped.
        assert!(push(&mut a, 97, 0, false, &p_single, ms(0)).is_empty());
        let tail = fu_a(0x41, false, true, &[1, 2]);
        assert!(push(&mut a, 98, 0, true, &tail, ms(0)).is_empty());
        // SPS + PPS, an IDR in three fragments, then a P frame; shuffled.
        assert!(push(&mut a, 100, 3000, false, &stap, ms(1)).is_empty());
        assert!(push(&mut a, 103, 3000, true, &idr3, ms(2)).is_empty());
        assert!(push(&mut a, 104, 6000, true, &p_single, ms(3)).is_empty());
        assert!(push(&mut a, 102, 3000, false, &idr2, ms(4)).is_empty());
        let f = push(&mut a, 101, 3000, false, &idr1, ms(5));
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].data, annex_b(&[&SPS, &PPS, &idr]));
        assert!(f[0].keyframe);
        assert_eq!((f[0].time, f[0].arrival), (3000, ms(1)));
        assert_eq!(f[1].data, annex_b(&[&p_nal]));
        assert!(!f[1].keyframe);
        assert_eq!(f[1].time, 6000);
        assert!(!a.needs_keyframe());
        // A P frame in two fragments, the first lost for good: the P frames after it are
        // dropped until an IDR comes.
        let p_tail = fu_a(0x41, false, true, &[3, 4]);
        assert!(push(&mut a, 106, 9000, true, &p_tail, ms(70)).is_empty());
        assert!(push(&mut a, 107, 12000, true, &p_single, ms(100)).is_empty());
        assert!(push(&mut a, 108, 15000, true, &p_single, ms(600)).is_empty());
        assert!(a.needs_keyframe());
        assert!(push(&mut a, 109, 18000, false, &stap, ms(633)).is_empty());
        let idr_single: Arc<[u8]> = idr.clone().into();
        let f = push(&mut a, 110, 18000, true, &idr_single, ms(634));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].data, annex_b(&[&SPS, &PPS, &idr]));
        assert!(f[0].keyframe);
        assert!(!a.needs_keyframe());
        // Old packets are ignored; a frame that does not depacketize counts as lost.
        assert!(push(&mut a, 105, 9000, false, &idr1, ms(640)).is_empty());
        let p_head = fu_a(0x41, true, false, &[5]);
        assert!(push(&mut a, 111, 21000, false, &p_head, ms(666)).is_empty());
        assert!(push(&mut a, 112, 21000, true, &p_single, ms(667)).is_empty());
        assert!(a.needs_keyframe());
        assert!(push(&mut a, 113, 24000, false, &stap, ms(700)).is_empty());
        assert_eq!(
            push(&mut a, 114, 24000, true, &idr_single, ms(701)).len(),
            1
        );
        assert!(!a.needs_keyframe());
        let reserved: Arc<[u8]> = vec![0x7e, 1].into();
        assert!(push(&mut a, 115, 27000, true, &reserved, ms(733)).is_empty());
        assert!(a.needs_keyframe());
    }

    fn now_at(at: Instant) -> Now {
        Now {
            at,
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        }
    }

    fn video_packet(
        seq: u64,
        time: u64,
        marker: bool,
        payload: Arc<[u8]>,
        arrival: Instant,
    ) -> VideoPacket {
        VideoPacket {
            seq,
            time,
            marker,
            payload,
            arrival,
            stream: 1,
        }
    }

    /// The video file of a finished recording.
    fn finished_video(rec: Recorder, at: Instant) -> PathBuf {
        match rec.finish(Uuid::nil(), now_at(at)) {
            LiveEvent::RecordingFinished { video, .. } => video.expect("a video file"),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn a_recording_keeps_the_codec_of_its_first_frame() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut rec = Recorder::start(dir.path(), Uuid::nil(), Uuid::nil(), now_at(t0)).unwrap();
        let cam = Source::Camera;
        let idr: Arc<[u8]> = vec![0x65, 1, 2, 3].into();
        let p: Arc<[u8]> = vec![0x41, 4, 5].into();
        let h264 = |rec: &mut Recorder, seq, time, marker, payload: &Arc<[u8]>, at| {
            rec.video_packet(
                cam,
                None,
                Codec::H264,
                video_packet(seq, time, marker, payload.clone(), at),
            )
        };
        // Until a keyframe starts the file, one is asked for; a P frame cannot start it.
        assert_eq!(h264(&mut rec, 9, 0, true, &p, ms(0)), Some((cam, None)));
        assert_eq!(h264(&mut rec, 10, 1500, true, &p, ms(1)), Some((cam, None)));
        assert_eq!(
            h264(&mut rec, 11, 3000, false, &stap_a(&[&SPS, &PPS]), ms(33)),
            Some((cam, None))
        );
        assert_eq!(h264(&mut rec, 12, 3000, true, &idr, ms(34)), None);
        assert_eq!(h264(&mut rec, 13, 6000, true, &p, ms(66)), None);
        // The teacher comes back with VP8: dropped, no keyframe asked for.
        for (i, seq) in (500..510).enumerate() {
            let body = if i == 0 {
                keyframe(640, 480)
            } else {
                vec![0x11, 7]
            };
            let pkt = video_packet(
                seq,
                90_000 + 3000 * i as u64,
                true,
                vp8_packet(true, &body),
                ms(100 + 33 * i as u64),
            );
            assert_eq!(rec.video_packet(cam, None, Codec::Vp8, pkt), None);
        }
        // The H.264 stream goes on undisturbed.
        assert_eq!(h264(&mut rec, 14, 9000, true, &p, ms(420)), None);
        assert_eq!(h264(&mut rec, 15, 12000, true, &p, ms(450)), None);
        assert!(!rec.failed);
        let path = finished_video(rec, ms(500));
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[8..12], b"H264");
        assert_eq!(&bytes[12..16], &[0; 4]); // no size: decoders read the SPS
        assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 4);
        let first = u32::from_le_bytes(bytes[32..36].try_into().unwrap()) as usize;
        assert_eq!(
            &bytes[44..44 + first],
            annex_b(&[&SPS, &PPS, &idr]).as_slice()
        );
    }

    #[test]
    fn a_teacher_back_on_a_new_stream_is_recorded_from_its_next_keyframe() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut rec = Recorder::start(dir.path(), Uuid::nil(), Uuid::nil(), now_at(t0)).unwrap();
        let cam = Source::Camera;
        let idr: Arc<[u8]> = vec![0x65, 1, 2, 3].into();
        let p: Arc<[u8]> = vec![0x41, 4, 5].into();
        let sets = stap_a(&[&SPS, &PPS]);
        let mut h264 = |stream, seq, time, marker, payload: &Arc<[u8]>, at| {
            let pkt = VideoPacket {
                stream,
                ..video_packet(seq, time, marker, payload.clone(), at)
            };
            rec.video_packet(cam, None, Codec::H264, pkt)
        };
        // The first stream: a keyframe and a P frame, numbered high.
        assert_eq!(h264(1, 40_000, 0, false, &sets, ms(0)), Some((cam, None)));
        assert_eq!(h264(1, 40_001, 0, true, &idr, ms(1)), None);
        assert_eq!(h264(1, 40_002, 3000, true, &p, ms(33)), None);
        // The browser starts over: new SSRC, low sequence numbers, another RTP time. A P frame
        // cannot start the new segment; the keyframe does.
        assert_eq!(h264(2, 7, 900_000, true, &p, ms(2000)), Some((cam, None)));
        assert_eq!(
            h264(2, 8, 903_000, false, &sets, ms(2033)),
            Some((cam, None))
        );
        assert_eq!(h264(2, 9, 903_000, true, &idr, ms(2034)), None);
        assert_eq!(h264(2, 10, 906_000, true, &p, ms(2066)), None);
        let path = finished_video(rec, ms(2100));
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 4);
        // Frame times (ms): the new segment is placed by its arrival, then by RTP time.
        let mut at = 32;
        let mut pts = Vec::new();
        while at < bytes.len() {
            let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            pts.push(u64::from_le_bytes(
                bytes[at + 4..at + 12].try_into().unwrap(),
            ));
            at += 12 + len;
        }
        assert_eq!(pts, [0, 33, 2033, 2066]);
    }

    fn program(name: &str) -> Option<PathBuf> {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
    }

    /// Splits an Annex B stream (one slice per picture) into access units.
    fn access_units(stream: &[u8]) -> Vec<Vec<u8>> {
        let mut starts = Vec::new();
        let mut i = 0;
        while i + 3 <= stream.len() {
            if stream[i..i + 3] == [0, 0, 1] {
                starts.push(i + 3);
                i += 3;
            } else {
                i += 1;
            }
        }
        let nals: Vec<&[u8]> = starts
            .iter()
            .enumerate()
            .map(|(k, &s)| {
                let end = starts.get(k + 1).map_or(stream.len(), |&n| n - 3);
                // A 4-byte start code leaves a zero at the end of the previous unit.
                let mut n = &stream[s..end];
                while n.last() == Some(&0) {
                    n = &n[..n.len() - 1];
                }
                n
            })
            .collect();
        let mut units: Vec<Vec<&[u8]>> = Vec::new();
        let mut unit: Vec<&[u8]> = Vec::new();
        let mut has_slice = false;
        for n in nals {
            let vcl = matches!(n[0] & 0x1f, 1 | 5);
            // A new picture: a non-VCL unit after a slice, or a slice whose first macroblock
            // (ue(v) first_mb_in_slice) is 0.
            if has_slice && (!vcl || n.get(1).is_some_and(|b| b & 0x80 != 0)) {
                units.push(std::mem::take(&mut unit));
                has_slice = false;
            }
            has_slice |= vcl;
            unit.push(n);
        }
        units.push(unit);
        units.iter().map(|u| annex_b(u)).collect()
    }

    /// Runs a program to its end; its output, once it succeeded.
    fn run(cmd: &mut std::process::Command) -> std::process::Output {
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Real H.264 (made by ffmpeg with libx264, baseline like browsers send) packetized by
    /// str0m, recorded, then read back by ffprobe: an H.264 video with all its pictures.
    #[test]
    fn a_recording_of_real_h264_reads_back_with_all_its_frames() {
        use str0m::unversioned::{H264Packetizer, Packetizer};
        let (Some(ffmpeg), Some(ffprobe)) = (program("ffmpeg"), program("ffprobe")) else {
            eprintln!(
                "skipped: ffmpeg or ffprobe is not installed (scripts/test.sh installs ffmpeg)"
            );
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src.h264");
        run(std::process::Command::new(&ffmpeg)
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args([
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=320x240:rate=15",
                "-t",
                "2",
            ])
            .args([
                "-pix_fmt",
                "yuv420p",
                "-c:v",
                "libx264",
                "-profile:v",
                "baseline",
            ])
            .args(["-f", "h264"])
            .arg(&src));
        let units = access_units(&std::fs::read(&src).unwrap());
        assert_eq!(units.len(), 30);
        let t0 = Instant::now();
        let mut rec = Recorder::start(
            &dir.path().join("rec"),
            Uuid::nil(),
            Uuid::nil(),
            now_at(t0),
        )
        .unwrap();
        let mut packetizer = H264Packetizer::default();
        let mut seq = 40_000;
        let mut packets = 0;
        for (i, unit) in units.iter().enumerate() {
            let payloads = packetizer.packetize(1100, unit).unwrap();
            let n = payloads.len();
            let time = 900_000 + 6000 * i as u64;
            let arrival = t0 + Duration::from_micros(66_667 * i as u64);
            let mut pkts: Vec<VideoPacket> = payloads
                .into_iter()
                .enumerate()
                .map(|(k, p)| video_packet(seq + k as u64, time, k + 1 == n, p.into(), arrival))
                .collect();
            seq += n as u64;
            packets += n;
            // Out of order inside a frame (the first packet stays first: the recording
            // starts with this frame).
            if n >= 3 {
                pkts.swap(1, 2);
            }
            for p in pkts {
                rec.video_packet(Source::Camera, None, Codec::H264, p);
            }
        }
        assert!(packets > units.len(), "some frames are fragmented");
        let video = finished_video(rec, t0 + Duration::from_secs(2));
        let probe = run(std::process::Command::new(&ffprobe)
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
            .args([
                "-show_entries",
                "stream=codec_name,width,height,nb_read_frames",
            ])
            .args(["-of", "csv=p=0"])
            .arg(&video));
        let found = String::from_utf8_lossy(&probe.stdout);
        assert_eq!(found.trim(), "h264,320,240,30", "ffprobe: {found}");
        // And it remuxes into MP4 as the lesson pipeline does, about 2 s long.
        let mp4 = dir.path().join("out.mp4");
        run(std::process::Command::new(&ffmpeg)
            .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
            .arg(&video)
            .args(["-c:v", "copy"])
            .arg(&mp4));
        let probe = run(std::process::Command::new(&ffprobe)
            .args([
                "-v",
                "error",
                "-show_entries",
                "format=duration",
                "-of",
                "csv=p=0",
            ])
            .arg(&mp4));
        let duration: f64 = String::from_utf8_lossy(&probe.stdout)
            .trim()
            .parse()
            .unwrap();
        assert!((1.8..2.2).contains(&duration), "duration {duration}");
    }
}
