//! Recording the teacher: VP8 frames to IVF, Opus packets to Ogg, both timed from the start
//! of the recording so that ffmpeg can mux them without offsets.
//!
//! The SFU forwards RTP packets as they are, so the recorder puts the frames together
//! itself ([`Vp8Assembler`]: packets ordered by sequence number, a frame complete from its
//! first packet to the one with the marker bit; a frame lost for good means waiting for the
//! next keyframe). Each Opus packet is one RTP payload.
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
use str0m::format::Codec;
use str0m::media::Rid;
use str0m::rtp::RtpPacket;
use uuid::Uuid;

/// Writes VP8 frames into an IVF file.
pub struct IvfWriter<W: Write + Seek> {
    out: W,
    frames: u32,
    size: Option<(u16, u16)>,
}

/// IVF time base: frame times are in milliseconds.
pub const IVF_TIMEBASE_HZ: u32 = 1000;

impl<W: Write + Seek> IvfWriter<W> {
    /// Writes the file header (frame size and count are filled in by [`finish`](Self::finish)).
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&Self::header(0, 0, 0))?;
        Ok(Self {
            out,
            frames: 0,
            size: None,
        })
    }

    fn header(width: u16, height: u16, frames: u32) -> [u8; 32] {
        let mut h = [0u8; 32];
        h[0..4].copy_from_slice(b"DKIF");
        h[4..6].copy_from_slice(&0u16.to_le_bytes());
        h[6..8].copy_from_slice(&32u16.to_le_bytes());
        h[8..12].copy_from_slice(b"VP80");
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

    /// Appends a frame at `pts_ms`; the frame size is taken from the first keyframe.
    pub fn write(&mut self, frame: &[u8], pts_ms: u64) -> io::Result<()> {
        if self.size.is_none() {
            self.size = vp8_keyframe_size(frame);
        }
        self.out.write_all(&(frame.len() as u32).to_le_bytes())?;
        self.out.write_all(&pts_ms.to_le_bytes())?;
        self.out.write_all(frame)?;
        self.frames += 1;
        Ok(())
    }

    /// Completes the header and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        let (w, h) = self.size.unwrap_or((0, 0));
        self.out.seek(SeekFrom::Start(0))?;
        self.out.write_all(&Self::header(w, h, self.frames))?;
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

/// A whole VP8 frame put together from RTP packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The frame (payload descriptors removed).
    pub data: Vec<u8>,
    /// Extended RTP time (90 kHz).
    pub time: u64,
    /// When its first packet arrived.
    pub arrival: Instant,
    /// A keyframe.
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
    start: bool,
    offset: usize,
    payload: Arc<[u8]>,
    arrival: Instant,
}

/// Puts VP8 frames together from the RTP packets of one stream, in any arrival order.
#[derive(Default)]
pub struct Vp8Assembler {
    parts: BTreeMap<u64, Part>,
    /// Sequence number the next frame starts at (everything before was emitted or dropped).
    next: Option<u64>,
    /// A frame was lost: frames until the next keyframe are dropped (they refer to it).
    broken: bool,
}

impl Vp8Assembler {
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
        let Some((offset, start)) = vp8_descriptor(&payload) else {
            return Vec::new();
        };
        if self.next.is_some_and(|n| seq < n) {
            return Vec::new();
        }
        self.parts.insert(
            seq,
            Part {
                time,
                marker,
                start,
                offset,
                payload,
                arrival,
            },
        );
        let mut frames = Vec::new();
        loop {
            match self.complete_front() {
                Some(end) => {
                    let mut data = Vec::new();
                    let mut first = None;
                    for (_, p) in self.parts.range(..=end) {
                        data.extend_from_slice(&p.payload[p.offset..]);
                        first.get_or_insert((p.time, p.arrival));
                    }
                    let (time, arrival) = first.expect("a frame has packets");
                    self.parts = self.parts.split_off(&(end + 1));
                    self.next = Some(end + 1);
                    let keyframe = data.first().is_some_and(|b| b & 1 == 0);
                    if keyframe {
                        self.broken = false;
                    }
                    if !self.broken {
                        frames.push(Frame {
                            data,
                            time,
                            arrival,
                            keyframe,
                        });
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

    /// The last sequence number of the first frame, if all of its packets are here.
    fn complete_front(&self) -> Option<u64> {
        let (&first, p) = self.parts.iter().next()?;
        // A frame starts where the previous one ended (anywhere for the very first).
        if !p.start || self.next.is_some_and(|n| n != first) {
            return None;
        }
        for (expect, (&seq, part)) in (first..).zip(&self.parts) {
            if seq != expect || part.time != p.time || (seq != first && part.start) {
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
        let joining = self.next.is_none() && !front.start;
        let stale = now.saturating_duration_since(front.arrival) > ASSEMBLY_WAIT;
        if !joining && !stale && self.parts.len() <= ASSEMBLY_MAX {
            return false;
        }
        if front.start && self.next != Some(first) && !joining {
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
            .find(|(_, p)| p.start && p.time != front_time)
            .map(|(s, _)| *s);
        match next_start {
            Some(s) => {
                self.parts = self.parts.split_off(&s);
                self.next = Some(s);
            }
            None => {
                let last = self.parts.keys().next_back().copied().unwrap_or_default();
                self.parts.clear();
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
    /// Frame assembly of the layers being recorded or waited for.
    assemblers: Vec<((Source, Option<Rid>), Vp8Assembler)>,
    video_time: Timeline,
    audio_time: Timeline,
    failed: bool,
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

    /// A video packet of the teacher's; returns the layer of which a keyframe is wanted (to
    /// start the file, switch to a better source, or recover from a lost frame).
    pub fn video(
        &mut self,
        source: Source,
        rid: Option<Rid>,
        _codec: Codec,
        pkt: &RtpPacket,
    ) -> Option<(Source, Option<Rid>)> {
        let layer = (source, rid);
        let now = pkt.timestamp;
        match self.seen.iter_mut().find(|(l, _)| *l == layer) {
            Some((_, t)) => *t = now,
            None => self.seen.push((layer, now)),
        }
        let want = self.preferred(now)?;
        if layer != want && Some(layer) != self.current {
            return (self.current != Some(want)).then_some(want);
        }
        // Only the layers that matter are put together.
        let (current, assemblers) = (self.current, &mut self.assemblers);
        assemblers.retain(|(l, _)| *l == want || Some(*l) == current || *l == layer);
        let i = match assemblers.iter().position(|(l, _)| *l == layer) {
            Some(i) => i,
            None => {
                assemblers.push((layer, Vp8Assembler::default()));
                assemblers.len() - 1
            }
        };
        let asm = &mut assemblers[i].1;
        let frames = asm.push(
            *pkt.seq_no,
            pkt.time.numer(),
            pkt.header.marker,
            pkt.payload.clone(),
            now,
        );
        let broken = asm.needs_keyframe();
        let mut ask = None;
        for f in frames {
            ask = self.frame(layer, want, &f);
        }
        if broken && Some(layer) == self.current {
            return Some(layer);
        }
        ask.or_else(|| (self.current != Some(want)).then_some(want))
    }

    /// A whole frame of `layer` while `want` is the layer to record.
    fn frame(
        &mut self,
        layer: (Source, Option<Rid>),
        want: (Source, Option<Rid>),
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
        if let Err(e) = self.video.write(&f.data, pts) {
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
        w.write(&[0x31, 1, 2], 0).unwrap(); // a delta frame: no size yet
        w.write(&keyframe(1280, 720), 33).unwrap();
        w.write(&[0x31, 9], 66).unwrap();
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
        let mut a = Vp8Assembler::default();
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
}
