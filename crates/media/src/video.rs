//! Lesson videos → HLS for students on 3G, with ffmpeg behind the [`Transcoder`] trait.
//!
//! A background job does, for an uploaded file:
//!
//! ```no_run
//! # async fn job() -> Result<(), media::video::VideoError> {
//! use media::video::{FfmpegTranscoder, TranscodeQueue, Transcoder, process};
//! use std::{path::Path, sync::Arc};
//! let transcoder = FfmpegTranscoder::from_path();
//! if !transcoder.available() {
//!     // Show media::video::NO_FFMPEG and play the original file progressively.
//!     return Ok(());
//! }
//! let queue = TranscodeQueue::default(); // one transcode at a time
//! let progress = Arc::new(|percent: u8| println!("{percent}%")); // store it for polling
//! let out = queue
//!     .run(process(&transcoder, Path::new("data/uploads/x.bin"), Path::new("data/hls/x"), progress))
//!     .await?;
//! // out.dir holds master.m3u8, 240p/index.m3u8, 240p/seg_000.ts…, poster.jpg:
//! // push it with Storage::put_dir("videos/<id>", &out.dir) and serve master.m3u8 to hls.js.
//! # Ok(()) }
//! ```
//!
//! One ffmpeg process makes all renditions: the source is decoded once and `split` (decoding a
//! phone's 1080p H.264/HEVC is a large share of the work on a 2-core box), and every rendition
//! gets keyframes at the same instants (`expr:gte(t,n_forced*2)`, scene cuts off) so hls.js can
//! switch between them at any segment boundary. Output goes to `<out_dir>.partial` and is renamed
//! into place only when everything succeeded: a failure (or a cancelled job) leaves nothing.

use serde_json::Value;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::AsyncBufReadExt;

/// What to tell a teacher when the server cannot transcode.
pub const NO_FFMPEG: &str = "Máy chủ chưa có ffmpeg: video phát ở dạng gốc";

/// What can go wrong with a video. Messages are for the teacher, in Vietnamese.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// ffmpeg or ffprobe is not installed: play the original file.
    #[error("{}", NO_FFMPEG)]
    Unavailable,
    /// ffprobe could not read the file.
    #[error("Tệp không phải video hoặc đã hỏng ({0})")]
    Unreadable(String),
    /// The file has no picture (audio only, or an empty container).
    #[error("Tệp không có hình video (chỉ có tiếng hoặc trống)")]
    NoVideoStream,
    /// The file claims no duration (a recording cut off before it was finalised).
    #[error("Video dài 0 giây: tệp hỏng hoặc chưa quay xong")]
    ZeroDuration,
    /// No rendition to make (a programming error: [`ladder_for`] always gives one).
    #[error("Không có mức chất lượng nào để chuyển mã")]
    EmptyLadder,
    /// ffmpeg failed; the detail is the end of its error output.
    #[error("Chuyển mã video thất bại: {0}")]
    Failed(String),
    /// The disk failed.
    #[error("Lỗi ghi tệp video: {0}")]
    Io(#[from] std::io::Error),
}

/// What ffprobe says about a source.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    /// Length in seconds (> 0).
    pub duration_s: f64,
    /// Width as displayed (after the phone's rotation flag).
    pub width: u32,
    /// Height as displayed (after the phone's rotation flag).
    pub height: u32,
    /// Whether there is an audio stream.
    pub has_audio: bool,
    /// The video codec (`h264`, `hevc`, `vp9`…).
    pub codec: String,
    /// Frames per second (0 when unknown). Above 30 the renditions are brought down to 30.
    pub fps: f64,
}

impl VideoInfo {
    /// The shorter side: what "720p" means for a portrait phone video too (720×1280).
    pub fn short_side(&self) -> u32 {
        self.width.min(self.height)
    }

    /// The output size for a rendition whose short side is `short`: the aspect ratio kept, both
    /// sides even (yuv420p needs it).
    pub fn scaled(&self, short: u32) -> (u32, u32) {
        let long_src = self.width.max(self.height);
        let short_src = self.short_side().max(1);
        let long =
            even((f64::from(long_src) * f64::from(short) / f64::from(short_src)).round() as u32);
        let short = even(short);
        if self.width >= self.height {
            (long, short)
        } else {
            (short, long)
        }
    }
}

fn even(n: u32) -> u32 {
    (n & !1).max(2)
}

/// One rung of the quality ladder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendition {
    /// Its name, also its folder in the output (`240p`).
    pub name: String,
    /// The short side in pixels (the height of a landscape video).
    pub height: u32,
    /// Average video bitrate in kbit/s (the peak is capped 10 % above).
    pub video_kbps: u32,
    /// Audio bitrate in kbit/s.
    pub audio_kbps: u32,
}

/// The renditions for a source whose short side is `height`: 240p (400 kbit/s), 360p (800) and
/// 720p (2500), only those not above the source (never upscale); a source of 240 or less gets
/// one 240p-class rendition at its own size. Always at least one.
pub fn ladder_for(height: u32) -> Vec<Rendition> {
    const RUNGS: [(u32, u32, u32); 3] = [(240, 400, 64), (360, 800, 96), (720, 2500, 128)];
    let mut ladder: Vec<Rendition> = RUNGS
        .iter()
        .filter(|(h, _, _)| *h <= height)
        .map(|&(h, v, a)| Rendition {
            name: format!("{h}p"),
            height: h,
            video_kbps: v,
            audio_kbps: a,
        })
        .collect();
    if ladder.is_empty() {
        ladder.push(Rendition {
            name: "240p".to_owned(),
            height: even(height),
            video_kbps: 400,
            audio_kbps: 64,
        });
    }
    ladder
}

/// One variant in the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variant {
    /// Its name and folder (`360p`).
    pub name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Peak bits per second, as in the master playlist.
    pub bandwidth: u32,
    /// Its playlist, relative to the output folder (`360p/index.m3u8`).
    pub playlist: String,
}

/// A finished HLS output.
#[derive(Clone, Debug, PartialEq)]
pub struct HlsOutput {
    /// The output folder.
    pub dir: PathBuf,
    /// `dir/master.m3u8`: what hls.js loads.
    pub master: PathBuf,
    /// `dir/poster.jpg` (`None` if no frame could be taken).
    pub poster: Option<PathBuf>,
    /// The variants, lowest first (the first is where players start: right for 3G).
    pub variants: Vec<Variant>,
    /// The source's length in seconds.
    pub duration_s: f64,
}

/// A percentage callback (0–100, rising, each value at most once). Store it where the progress
/// endpoint can read it.
pub type Progress = Arc<dyn Fn(u8) + Send + Sync>;

/// A boxed future, so [`Transcoder`] is object-safe (`Arc<dyn Transcoder>` in the app state).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Whatever turns a video file into HLS: [`FfmpegTranscoder`], or [`FakeTranscoder`] in tests.
pub trait Transcoder: Send + Sync {
    /// Whether it can work at all (ffmpeg installed).
    fn available(&self) -> bool;

    /// Reads a source's length, size and streams; a broken file is an error.
    fn probe<'a>(&'a self, input: &'a Path) -> BoxFuture<'a, Result<VideoInfo, VideoError>>;

    /// Makes `out_dir` (replaced if present) with `master.m3u8`, one folder per rendition and
    /// `poster.jpg`. On failure `out_dir` is left as it was and nothing partial remains.
    fn transcode<'a>(
        &'a self,
        input: &'a Path,
        out_dir: &'a Path,
        ladder: &'a [Rendition],
        progress: Progress,
    ) -> BoxFuture<'a, Result<HlsOutput, VideoError>>;
}

/// The whole job: probe, choose the ladder from the source, transcode.
pub async fn process(
    transcoder: &dyn Transcoder,
    input: &Path,
    out_dir: &Path,
    progress: Progress,
) -> Result<HlsOutput, VideoError> {
    if !transcoder.available() {
        return Err(VideoError::Unavailable);
    }
    let info = transcoder.probe(input).await?;
    let ladder = ladder_for(info.short_side());
    transcoder
        .transcode(input, out_dir, &ladder, progress)
        .await
}

/// The master playlist for variants (lowest first).
pub fn master_playlist(variants: &[Variant]) -> String {
    let mut m = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for v in variants {
        m.push_str(&format!(
            "#EXT-X-STREAM-INF:BANDWIDTH={},RESOLUTION={}x{},NAME=\"{}\"\n{}\n",
            v.bandwidth, v.width, v.height, v.name, v.playlist
        ));
    }
    m
}

/// The variants a ladder makes from a source.
pub fn variants_for(info: &VideoInfo, ladder: &[Rendition]) -> Vec<Variant> {
    ladder
        .iter()
        .map(|r| {
            let (width, height) = info.scaled(r.height);
            let audio = if info.has_audio { r.audio_kbps } else { 0 };
            Variant {
                name: r.name.clone(),
                width,
                height,
                // Peak video (maxrate, +10 %) and audio, plus ~10 % for MPEG-TS overhead.
                bandwidth: (r.video_kbps * 11 / 10 + audio) * 1100,
                playlist: format!("{}/index.m3u8", r.name),
            }
        })
        .collect()
}

/// Reads ffprobe's `-print_format json -show_format -show_streams` output.
pub fn parse_probe(json: &[u8]) -> Result<VideoInfo, VideoError> {
    let v: Value =
        serde_json::from_slice(json).map_err(|e| VideoError::Unreadable(e.to_string()))?;
    let streams = v["streams"].as_array().cloned().unwrap_or_default();
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video" && s["disposition"]["attached_pic"] != 1)
        .ok_or(VideoError::NoVideoStream)?;
    let (w, h) = (
        video["width"].as_u64().unwrap_or(0) as u32,
        video["height"].as_u64().unwrap_or(0) as u32,
    );
    if w == 0 || h == 0 {
        return Err(VideoError::NoVideoStream);
    }
    let num = |x: &Value| {
        x.as_f64()
            .or_else(|| x.as_str().and_then(|s| s.trim().parse().ok()))
    };
    let rotation = video["side_data_list"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|d| num(&d["rotation"]))
        .or_else(|| num(&video["tags"]["rotate"]))
        .unwrap_or(0.0);
    let quarter = (rotation.abs().round() as i64 / 90) % 2 == 1;
    let (width, height) = if quarter { (h, w) } else { (w, h) };
    let duration_s = num(&v["format"]["duration"])
        .or_else(|| num(&video["duration"]))
        .unwrap_or(0.0);
    if !duration_s.is_finite() || duration_s <= 0.0 {
        return Err(VideoError::ZeroDuration);
    }
    Ok(VideoInfo {
        duration_s,
        width,
        height,
        has_audio: streams.iter().any(|s| s["codec_type"] == "audio"),
        codec: video["codec_name"].as_str().unwrap_or("?").to_owned(),
        fps: frame_rate(&video["avg_frame_rate"])
            .or_else(|| frame_rate(&video["r_frame_rate"]))
            .unwrap_or(0.0),
    })
}

/// `"30000/1001"` → 29.97; `"0/0"` → `None`.
fn frame_rate(v: &Value) -> Option<f64> {
    let (n, d) = v.as_str()?.split_once('/')?;
    let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
    (d > 0.0 && n > 0.0).then(|| n / d)
}

/// The percentage in one line of ffmpeg's `-progress` output, if it carries one. ffmpeg's
/// `out_time_ms` is in microseconds despite its name (as is `out_time_us`). Capped at 99 until
/// `progress=end`.
pub fn progress_percent(line: &str, duration_s: f64) -> Option<u8> {
    let (key, value) = line.trim().split_once('=')?;
    match key {
        "out_time_ms" | "out_time_us" => {
            let us: f64 = value.trim().parse().ok()?;
            let pct = us / 1e6 / duration_s.max(0.001) * 100.0;
            Some(pct.clamp(0.0, 99.0) as u8)
        }
        "progress" if value.trim() == "end" => Some(100),
        _ => None,
    }
}

/// The ffmpeg arguments (after the program name) making every rendition into `dir`.
pub fn ffmpeg_args(
    input: &Path,
    dir: &Path,
    info: &VideoInfo,
    ladder: &[Rendition],
) -> Vec<String> {
    let mut args: Vec<String> = ["-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
        .map(String::from)
        .to_vec();
    args.extend(["-progress".into(), "pipe:1".into(), "-nostats".into()]);
    args.extend(["-i".into(), input.display().to_string()]);
    let n = ladder.len();
    // A 60 fps phone video gains nothing at 240p on 3G but costs twice the bits and CPU.
    let fps = if info.fps > 30.5 { "fps=30," } else { "" };
    let mut filter = format!("[0:v]{fps}split={n}");
    for i in 0..n {
        filter.push_str(&format!("[s{i}]"));
    }
    for (i, r) in ladder.iter().enumerate() {
        let (w, h) = info.scaled(r.height);
        filter.push_str(&format!(
            ";[s{i}]scale={w}:{h},setsar=1,format=yuv420p[v{i}]"
        ));
    }
    args.extend(["-filter_complex".into(), filter]);
    for i in 0..n {
        args.extend(["-map".into(), format!("[v{i}]")]);
        if info.has_audio {
            args.extend(["-map".into(), "0:a:0".into()]);
        }
    }
    args.extend(
        [
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-profile:v",
            "main",
            "-sc_threshold",
            "0",
            "-force_key_frames",
            "expr:gte(t,n_forced*2)",
        ]
        .map(String::from),
    );
    for (i, r) in ladder.iter().enumerate() {
        args.extend([format!("-b:v:{i}"), format!("{}k", r.video_kbps)]);
        args.extend([
            format!("-maxrate:v:{i}"),
            format!("{}k", r.video_kbps * 11 / 10),
        ]);
        args.extend([format!("-bufsize:v:{i}"), format!("{}k", r.video_kbps * 2)]);
        if info.has_audio {
            args.extend([format!("-b:a:{i}"), format!("{}k", r.audio_kbps)]);
        }
    }
    if info.has_audio {
        args.extend(["-c:a", "aac", "-ac", "2", "-ar", "44100"].map(String::from));
    }
    let map: Vec<String> = ladder
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if info.has_audio {
                format!("v:{i},a:{i},name:{}", r.name)
            } else {
                format!("v:{i},name:{}", r.name)
            }
        })
        .collect();
    args.extend(
        [
            "-f",
            "hls",
            "-hls_time",
            "4",
            "-hls_playlist_type",
            "vod",
            "-hls_flags",
            "independent_segments",
            "-hls_segment_type",
            "mpegts",
        ]
        .map(String::from),
    );
    args.extend([
        "-hls_segment_filename".into(),
        dir.join("%v").join("seg_%03d.ts").display().to_string(),
        "-var_stream_map".into(),
        map.join(" "),
        dir.join("%v").join("index.m3u8").display().to_string(),
    ]);
    args
}

/// Removes a `.partial` folder unless the work succeeded (also when the job is dropped).
struct PartialDir {
    path: PathBuf,
    keep: bool,
}

impl PartialDir {
    async fn create(out_dir: &Path) -> Result<Self, VideoError> {
        let mut name = out_dir.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        let path = out_dir.with_file_name(name);
        if tokio::fs::metadata(&path).await.is_ok() {
            tokio::fs::remove_dir_all(&path).await?;
        }
        tokio::fs::create_dir_all(&path).await?;
        Ok(Self { path, keep: false })
    }

    /// Renames the finished folder into place, replacing an older output.
    async fn commit(mut self, out_dir: &Path) -> Result<(), VideoError> {
        if tokio::fs::metadata(out_dir).await.is_ok() {
            tokio::fs::remove_dir_all(out_dir).await?;
        }
        tokio::fs::rename(&self.path, out_dir).await?;
        self.keep = true;
        Ok(())
    }
}

impl Drop for PartialDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Calls the progress callback only when the value rises.
struct Reporter {
    progress: Progress,
    last: Option<u8>,
}

impl Reporter {
    fn report(&mut self, pct: u8) {
        if self.last.is_none_or(|l| pct > l) {
            self.last = Some(pct);
            (self.progress)(pct);
        }
    }
}

/// The real transcoder: ffmpeg and ffprobe from `PATH`, run under `nice` when it exists so web
/// requests stay fast while a video is encoded.
#[derive(Clone, Debug)]
pub struct FfmpegTranscoder {
    ffmpeg: Option<PathBuf>,
    ffprobe: Option<PathBuf>,
    nice: Option<PathBuf>,
    timeout_base_s: f64,
    timeout_factor: f64,
}

impl FfmpegTranscoder {
    /// Looks ffmpeg, ffprobe and nice up on `PATH` (missing ones make [`Self::available`] false).
    pub fn from_path() -> Self {
        Self {
            ffmpeg: find_on_path("ffmpeg"),
            ffprobe: find_on_path("ffprobe"),
            nice: find_on_path("nice"),
            timeout_base_s: 1800.0,
            timeout_factor: 20.0,
        }
    }

    /// Uses given programs (a configured path), without `nice`.
    pub fn with_programs(ffmpeg: PathBuf, ffprobe: PathBuf) -> Self {
        Self {
            ffmpeg: Some(ffmpeg),
            ffprobe: Some(ffprobe),
            nice: None,
            timeout_base_s: 1800.0,
            timeout_factor: 20.0,
        }
    }

    /// Changes the deadline of one transcode: `base_s` seconds plus `per_video_second` times the
    /// video's length (default 30 minutes + 20×).
    pub fn with_timeout(mut self, base_s: f64, per_video_second: f64) -> Self {
        self.timeout_base_s = base_s;
        self.timeout_factor = per_video_second;
        self
    }

    fn command(&self, program: &Path) -> tokio::process::Command {
        let mut cmd = match &self.nice {
            Some(nice) => {
                let mut c = tokio::process::Command::new(nice);
                c.arg("-n").arg("10").arg(program);
                c
            }
            None => tokio::process::Command::new(program),
        };
        cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
        cmd
    }

    async fn probe_file(&self, input: &Path) -> Result<VideoInfo, VideoError> {
        let ffprobe = self.ffprobe.as_ref().ok_or(VideoError::Unavailable)?;
        let out = tokio::process::Command::new(ffprobe)
            .args([
                "-v",
                "error",
                "-print_format",
                "json",
                "-show_format",
                "-show_streams",
            ])
            .arg(input)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output()
            .await?;
        if !out.status.success() {
            return Err(VideoError::Unreadable(scrub(&tail(&out.stderr), input)));
        }
        parse_probe(&out.stdout)
    }

    /// Transcodes under a deadline: a hung ffmpeg must not hold the queue forever. Dropping the
    /// work kills ffmpeg (`kill_on_drop`) and removes the partial folder.
    async fn run(
        &self,
        input: &Path,
        out_dir: &Path,
        ladder: &[Rendition],
        progress: Progress,
    ) -> Result<HlsOutput, VideoError> {
        let info = self.probe_file(input).await?;
        let limit = std::time::Duration::from_secs_f64(
            self.timeout_base_s + info.duration_s * self.timeout_factor,
        );
        match tokio::time::timeout(
            limit,
            self.run_untimed(input, out_dir, ladder, progress, info),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(VideoError::Failed(format!(
                "quá thời gian cho phép ({} phút)",
                limit.as_secs().div_ceil(60)
            ))),
        }
    }

    async fn run_untimed(
        &self,
        input: &Path,
        out_dir: &Path,
        ladder: &[Rendition],
        progress: Progress,
        info: VideoInfo,
    ) -> Result<HlsOutput, VideoError> {
        let ffmpeg = self.ffmpeg.as_ref().ok_or(VideoError::Unavailable)?;
        if ladder.is_empty() {
            return Err(VideoError::EmptyLadder);
        }
        let partial = PartialDir::create(out_dir).await?;
        for r in ladder {
            tokio::fs::create_dir_all(partial.path.join(&r.name)).await?;
        }
        let mut reporter = Reporter {
            progress,
            last: None,
        };
        reporter.report(0);

        let mut child = self
            .command(ffmpeg)
            .args(ffmpeg_args(input, &partial.path, &info, ladder))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().expect("piped stderr");
        let errors = tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(
                &mut tokio::io::BufReader::new(stderr),
                &mut buf,
            )
            .await;
            buf
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Some(line) = lines.next_line().await? {
            // The poster still has to be made: 100 only at the very end.
            if let Some(pct) = progress_percent(&line, info.duration_s) {
                reporter.report(pct.min(99));
            }
        }
        let status = child.wait().await?;
        let stderr = errors.await.unwrap_or_default();
        if !status.success() {
            return Err(VideoError::Failed(scrub(&tail(&stderr), input)));
        }

        let variants = variants_for(&info, ladder);
        for v in &variants {
            if tokio::fs::metadata(partial.path.join(&v.playlist))
                .await
                .is_err()
            {
                return Err(VideoError::Failed(format!("thiếu {}", v.playlist)));
            }
        }
        tokio::fs::write(partial.path.join("master.m3u8"), master_playlist(&variants)).await?;
        let top = variants.last().expect("non-empty ladder");
        let poster = self
            .poster(ffmpeg, input, &partial.path, &info, (top.width, top.height))
            .await;
        partial.commit(out_dir).await?;
        reporter.report(100);
        Ok(HlsOutput {
            dir: out_dir.to_path_buf(),
            master: out_dir.join("master.m3u8"),
            poster: poster.then(|| out_dir.join("poster.jpg")),
            variants,
            duration_s: info.duration_s,
        })
    }

    /// A frame from ~10 % in (past a black title fade), or the first frame if that fails.
    async fn poster(
        &self,
        ffmpeg: &Path,
        input: &Path,
        dir: &Path,
        info: &VideoInfo,
        (w, h): (u32, u32),
    ) -> bool {
        let target = dir.join("poster.jpg");
        for at in [info.duration_s * 0.1, 0.0] {
            let ok = self
                .command(ffmpeg)
                .args([
                    "-hide_banner",
                    "-nostdin",
                    "-y",
                    "-loglevel",
                    "error",
                    "-ss",
                ])
                .arg(format!("{at:.3}"))
                .arg("-i")
                .arg(input)
                .args(["-frames:v", "1", "-q:v", "4", "-vf"])
                .arg(format!("scale={w}:{h},setsar=1"))
                .arg(&target)
                .output()
                .await
                .is_ok_and(|o| o.status.success());
            if ok
                && tokio::fs::metadata(&target)
                    .await
                    .is_ok_and(|m| m.len() > 0)
            {
                return true;
            }
        }
        false
    }
}

impl Transcoder for FfmpegTranscoder {
    fn available(&self) -> bool {
        self.ffmpeg.is_some() && self.ffprobe.is_some()
    }

    fn probe<'a>(&'a self, input: &'a Path) -> BoxFuture<'a, Result<VideoInfo, VideoError>> {
        Box::pin(self.probe_file(input))
    }

    fn transcode<'a>(
        &'a self,
        input: &'a Path,
        out_dir: &'a Path,
        ladder: &'a [Rendition],
        progress: Progress,
    ) -> BoxFuture<'a, Result<HlsOutput, VideoError>> {
        Box::pin(self.run(input, out_dir, ladder, progress))
    }
}

/// Server paths are not for the teacher's eyes.
fn scrub(message: &str, input: &Path) -> String {
    message.replace(&input.display().to_string(), "tệp")
}

/// The last ~600 bytes of a program's error output, for the error message.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let start = text.char_indices().rev().nth(600).map_or(0, |(i, _)| i);
    let t = text[start..].trim();
    if t.is_empty() {
        "không rõ lỗi".to_owned()
    } else {
        t.to_owned()
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// A transcoder for tests: `probe` returns the info it was given (or fails for
/// [`FakeTranscoder::broken`]), `transcode` writes a small valid-looking output and reports
/// 0, 50, 100.
#[derive(Clone, Debug)]
pub struct FakeTranscoder {
    info: Option<VideoInfo>,
}

impl FakeTranscoder {
    /// A fake whose sources all look like `info`.
    pub fn new(info: VideoInfo) -> Self {
        Self { info: Some(info) }
    }

    /// A fake for which every file is broken.
    pub fn broken() -> Self {
        Self { info: None }
    }

    async fn run(
        &self,
        input: &Path,
        out_dir: &Path,
        ladder: &[Rendition],
        progress: Progress,
    ) -> Result<HlsOutput, VideoError> {
        let info = self.probe_file(input).await?;
        if ladder.is_empty() {
            return Err(VideoError::EmptyLadder);
        }
        let mut reporter = Reporter {
            progress,
            last: None,
        };
        reporter.report(0);
        let partial = PartialDir::create(out_dir).await?;
        let variants = variants_for(&info, ladder);
        let segments = (info.duration_s / 4.0).ceil().max(1.0) as usize;
        for v in &variants {
            let dir = partial.path.join(&v.name);
            tokio::fs::create_dir_all(&dir).await?;
            let mut playlist = String::from(
                "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n",
            );
            for i in 0..segments {
                let left = info.duration_s - 4.0 * i as f64;
                playlist.push_str(&format!("#EXTINF:{:.6},\nseg_{i:03}.ts\n", left.min(4.0)));
                // MPEG-TS packets: 188 bytes starting with the 0x47 sync byte.
                let mut packet = vec![0xFFu8; 188];
                packet[0] = 0x47;
                tokio::fs::write(dir.join(format!("seg_{i:03}.ts")), packet).await?;
            }
            playlist.push_str("#EXT-X-ENDLIST\n");
            tokio::fs::write(partial.path.join(&v.playlist), playlist).await?;
        }
        reporter.report(50);
        tokio::fs::write(partial.path.join("master.m3u8"), master_playlist(&variants)).await?;
        tokio::fs::write(partial.path.join("poster.jpg"), [0xFF, 0xD8, 0xFF, 0xD9]).await?;
        partial.commit(out_dir).await?;
        reporter.report(100);
        Ok(HlsOutput {
            dir: out_dir.to_path_buf(),
            master: out_dir.join("master.m3u8"),
            poster: Some(out_dir.join("poster.jpg")),
            variants,
            duration_s: info.duration_s,
        })
    }

    async fn probe_file(&self, input: &Path) -> Result<VideoInfo, VideoError> {
        tokio::fs::metadata(input)
            .await
            .map_err(|e| VideoError::Unreadable(e.to_string()))?;
        self.info
            .clone()
            .ok_or_else(|| VideoError::Unreadable("moov atom not found".to_owned()))
    }
}

impl Transcoder for FakeTranscoder {
    fn available(&self) -> bool {
        true
    }

    fn probe<'a>(&'a self, input: &'a Path) -> BoxFuture<'a, Result<VideoInfo, VideoError>> {
        Box::pin(self.probe_file(input))
    }

    fn transcode<'a>(
        &'a self,
        input: &'a Path,
        out_dir: &'a Path,
        ladder: &'a [Rendition],
        progress: Progress,
    ) -> BoxFuture<'a, Result<HlsOutput, VideoError>> {
        Box::pin(self.run(input, out_dir, ladder, progress))
    }
}

/// Limits how many transcodes run at once (default 1: a 2-core school server must keep answering
/// web requests). Jobs beyond the limit wait their turn.
#[derive(Clone, Debug)]
pub struct TranscodeQueue {
    permits: Arc<tokio::sync::Semaphore>,
    waiting: Arc<AtomicUsize>,
}

impl Default for TranscodeQueue {
    fn default() -> Self {
        Self::new(1)
    }
}

impl TranscodeQueue {
    /// A queue running at most `max_concurrent` jobs (at least 1).
    pub fn new(max_concurrent: usize) -> Self {
        Self {
            permits: Arc::new(tokio::sync::Semaphore::new(max_concurrent.max(1))),
            waiting: Arc::default(),
        }
    }

    /// Runs `job` when a slot is free.
    pub async fn run<F: Future>(&self, job: F) -> F::Output {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let permit = self.permits.acquire().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let _permit = permit.expect("the semaphore is never closed");
        job.await
    }

    /// How many jobs wait for a slot (to show "đang chờ chuyển mã").
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }
}

/// Where a video's transcode stands, for the progress endpoint.
#[derive(Clone, Debug, PartialEq)]
pub enum JobState {
    /// Waiting for a slot in the [`TranscodeQueue`].
    Queued,
    /// ffmpeg is working.
    Running {
        /// 0–99.
        percent: u8,
    },
    /// Finished.
    Done(HlsOutput),
    /// Failed, with the Vietnamese message for the teacher (the original still plays).
    Failed(String),
}

/// In-memory states of transcode jobs by id (a video id): the web layer polls
/// [`JobBoard::get`]; the durable state (done, failed) belongs in the database, written by
/// the caller from the result of the spawned task.
#[derive(Clone, Debug, Default)]
pub struct JobBoard {
    jobs: Arc<std::sync::Mutex<std::collections::HashMap<String, JobState>>>,
}

impl JobBoard {
    /// The state of a job, if this process knows it.
    pub fn get(&self, id: &str) -> Option<JobState> {
        self.jobs.lock().expect("job board").get(id).cloned()
    }

    /// Forgets a job (after its result was stored).
    pub fn forget(&self, id: &str) {
        self.jobs.lock().expect("job board").remove(id);
    }

    fn set(&self, id: &str, state: JobState) {
        self.jobs
            .lock()
            .expect("job board")
            .insert(id.to_owned(), state);
    }

    /// Queues the transcode of `input` into `out_dir` in the background and tracks it under
    /// `id`. Await the handle (or not) for the result.
    pub fn spawn(
        &self,
        queue: &TranscodeQueue,
        transcoder: Arc<dyn Transcoder>,
        id: &str,
        input: PathBuf,
        out_dir: PathBuf,
    ) -> tokio::task::JoinHandle<Result<HlsOutput, VideoError>> {
        let (board, queue, id) = (self.clone(), queue.clone(), id.to_owned());
        board.set(&id, JobState::Queued);
        tokio::spawn(async move {
            let progress: Progress = {
                let (board, id) = (board.clone(), id.clone());
                Arc::new(move |percent| {
                    if percent < 100 {
                        board.set(&id, JobState::Running { percent });
                    }
                })
            };
            let result = queue
                .run(process(transcoder.as_ref(), &input, &out_dir, progress))
                .await;
            board.set(
                &id,
                match &result {
                    Ok(out) => JobState::Done(out.clone()),
                    Err(e) => JobState::Failed(e.to_string()),
                },
            );
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn info(width: u32, height: u32, has_audio: bool) -> VideoInfo {
        VideoInfo {
            duration_s: 10.0,
            width,
            height,
            has_audio,
            codec: "h264".into(),
            fps: 25.0,
        }
    }

    fn names(l: &[Rendition]) -> Vec<&str> {
        l.iter().map(|r| r.name.as_str()).collect()
    }

    fn recorder() -> (Progress, Arc<Mutex<Vec<u8>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        (Arc::new(move |p| s.lock().unwrap().push(p)), seen)
    }

    #[test]
    fn the_ladder_never_upscales_and_is_never_empty() {
        assert_eq!(names(&ladder_for(1080)), ["240p", "360p", "720p"]);
        assert_eq!(names(&ladder_for(720)), ["240p", "360p", "720p"]);
        assert_eq!(names(&ladder_for(480)), ["240p", "360p"]);
        assert_eq!(names(&ladder_for(360)), ["240p", "360p"]);
        assert_eq!(names(&ladder_for(240)), ["240p"]);
        let tiny = ladder_for(145);
        assert_eq!(names(&tiny), ["240p"]);
        assert_eq!(tiny[0].height, 144);
        assert_eq!(ladder_for(720)[2].video_kbps, 2500);
        assert_eq!(ladder_for(360)[1].video_kbps, 800);
        assert_eq!(ladder_for(360)[0].video_kbps, 400);
    }

    #[test]
    fn sizes_keep_the_aspect_ratio_with_even_sides() {
        assert_eq!(info(1920, 1080, true).scaled(360), (640, 360));
        assert_eq!(info(1920, 1080, true).scaled(240), (426, 240));
        // A portrait phone video: 720p is 720 wide.
        assert_eq!(info(1080, 1920, true).scaled(720), (720, 1280));
        assert_eq!(info(1440, 1080, true).scaled(240), (320, 240));
        assert_eq!(info(175, 145, true).scaled(144), (174, 144));
    }

    #[test]
    fn ffprobe_output_is_read_and_broken_files_refused() {
        let json = br#"{"streams":[
            {"codec_type":"video","codec_name":"h264","width":1920,"height":1080,
             "side_data_list":[{"rotation":-90}]},
            {"codec_type":"audio","codec_name":"aac"}],
            "format":{"duration":"12.5"}}"#;
        let i = parse_probe(json).unwrap();
        assert_eq!((i.width, i.height, i.has_audio), (1080, 1920, true));
        assert_eq!(i.duration_s, 12.5);
        assert_eq!(i.codec, "h264");
        assert_eq!(i.fps, 0.0);
        let ntsc = br#"{"streams":[{"codec_type":"video","width":64,"height":64,
            "avg_frame_rate":"30000/1001"}],"format":{"duration":"1"}}"#;
        assert!((parse_probe(ntsc).unwrap().fps - 29.97).abs() < 0.01);
        let audio_only = br#"{"streams":[{"codec_type":"audio"},
            {"codec_type":"video","width":500,"height":500,"disposition":{"attached_pic":1}}],
            "format":{"duration":"3"}}"#;
        assert!(matches!(
            parse_probe(audio_only),
            Err(VideoError::NoVideoStream)
        ));
        let zero = br#"{"streams":[{"codec_type":"video","width":640,"height":360}],
            "format":{"duration":"0.000"}}"#;
        let err = parse_probe(zero).unwrap_err();
        assert!(matches!(err, VideoError::ZeroDuration));
        assert!(err.to_string().starts_with("Video dài 0 giây"));
        assert!(matches!(parse_probe(b"{}"), Err(VideoError::NoVideoStream)));
        assert!(matches!(
            parse_probe(b"garbage"),
            Err(VideoError::Unreadable(_))
        ));
    }

    #[test]
    fn progress_lines_become_percentages() {
        assert_eq!(progress_percent("out_time_ms=5000000", 10.0), Some(50));
        assert_eq!(progress_percent("out_time_us=2500000", 10.0), Some(25));
        assert_eq!(progress_percent("out_time_ms=99000000", 10.0), Some(99));
        assert_eq!(progress_percent("out_time_ms=-5", 10.0), Some(0));
        assert_eq!(progress_percent("progress=continue", 10.0), None);
        assert_eq!(progress_percent("progress=end", 10.0), Some(100));
        assert_eq!(progress_percent("frame=12", 10.0), None);
        assert_eq!(progress_percent("out_time_ms=N/A", 10.0), None);
    }

    #[test]
    fn one_ffmpeg_makes_aligned_renditions_and_the_master_lists_them() {
        let i = info(640, 360, true);
        let ladder = ladder_for(360);
        let args = ffmpeg_args(Path::new("in.mp4"), Path::new("/o"), &i, &ladder);
        let joined = args.join(" ");
        assert!(joined.contains("split=2[s0][s1];[s0]scale=426:240,setsar=1,format=yuv420p[v0]"));
        assert!(joined.contains("-force_key_frames expr:gte(t,n_forced*2)"));
        assert!(
            joined.contains("-hls_time 4 -hls_playlist_type vod -hls_flags independent_segments")
        );
        assert!(joined.contains("v:0,a:0,name:240p v:1,a:1,name:360p"));
        assert!(joined.contains("-b:v:1 800k"));
        let fast = VideoInfo {
            fps: 59.94,
            ..i.clone()
        };
        let fast = ffmpeg_args(Path::new("in.mp4"), Path::new("/o"), &fast, &ladder).join(" ");
        assert!(fast.contains("[0:v]fps=30,split=2"));
        assert!(!joined.contains("fps=30"));
        let silent = ffmpeg_args(
            Path::new("in.mp4"),
            Path::new("/o"),
            &info(640, 360, false),
            &ladder,
        );
        assert!(!silent.iter().any(|a| a == "aac" || a == "0:a:0"));
        let master = master_playlist(&variants_for(&i, &ladder));
        assert!(master.starts_with("#EXTM3U\n"));
        assert!(master.contains("RESOLUTION=426x240,NAME=\"240p\"\n240p/index.m3u8\n"));
        assert!(master.contains("RESOLUTION=640x360"));
        assert!(master.contains("BANDWIDTH="));
    }

    #[tokio::test]
    async fn the_fake_transcoder_writes_an_output_and_reports_progress() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.mp4");
        std::fs::write(&input, b"x").unwrap();
        let out = dir.path().join("hls");
        let fake = FakeTranscoder::new(info(1280, 720, true));
        let (progress, seen) = recorder();
        let hls = process(&fake, &input, &out, progress).await.unwrap();
        assert_eq!(*seen.lock().unwrap(), [0, 50, 100]);
        assert_eq!(hls.variants.len(), 3);
        assert!(hls.master.is_file());
        assert!(out.join("720p/seg_002.ts").is_file());
        assert!(hls.poster.unwrap().is_file());

        let (progress, _) = recorder();
        let err = process(
            &FakeTranscoder::broken(),
            &input,
            &dir.path().join("b"),
            progress,
        )
        .await
        .unwrap_err();
        assert!(err.to_string().starts_with("Tệp không phải video"));
        assert!(!dir.path().join("b").exists());
        assert!(!dir.path().join("b.partial").exists());
    }

    #[tokio::test]
    async fn the_board_tracks_background_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.mp4");
        std::fs::write(&input, b"x").unwrap();
        let (board, queue) = (JobBoard::default(), TranscodeQueue::default());
        let fake: Arc<dyn Transcoder> = Arc::new(FakeTranscoder::new(info(640, 360, false)));
        let ok = board.spawn(&queue, fake, "v1", input.clone(), dir.path().join("v1"));
        let broken: Arc<dyn Transcoder> = Arc::new(FakeTranscoder::broken());
        let bad = board.spawn(&queue, broken, "v2", input, dir.path().join("v2"));
        assert!(ok.await.unwrap().is_ok());
        assert!(bad.await.unwrap().is_err());
        assert!(matches!(board.get("v1"), Some(JobState::Done(out)) if out.variants.len() == 2));
        assert!(matches!(board.get("v2"), Some(JobState::Failed(m)) if m.starts_with("Tệp")));
        board.forget("v1");
        assert_eq!(board.get("v1"), None);
    }

    #[tokio::test]
    async fn the_queue_runs_one_job_at_a_time_by_default() {
        let queue = TranscodeQueue::default();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs = (0..3).map(|_| {
            let (queue, running, most) = (queue.clone(), running.clone(), most.clone());
            tokio::spawn(async move {
                queue
                    .run(async {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
            })
        });
        for j in jobs.collect::<Vec<_>>() {
            j.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert_eq!(queue.waiting(), 0);
    }

    /// The real ffmpeg, when installed (skipped otherwise).
    #[tokio::test]
    async fn ffmpeg_makes_240p_and_360p_from_a_360p_clip() {
        let ff = FfmpegTranscoder::from_path();
        if !ff.available() {
            eprintln!("ffmpeg absent: test skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("clip.mp4");
        let made = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"])
            .arg("testsrc=size=640x360:rate=25")
            .args(["-f", "lavfi", "-i", "sine=frequency=440", "-t", "3"])
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"])
            .arg(&input)
            .status()
            .unwrap();
        assert!(made.success());
        let probed = ff.probe(&input).await.unwrap();
        assert_eq!(
            (probed.width, probed.height, probed.has_audio),
            (640, 360, true)
        );
        assert!((probed.duration_s - 3.0).abs() < 0.2);

        let out = dir.path().join("hls");
        let (progress, seen) = recorder();
        let hls = process(&ff, &input, &out, progress).await.unwrap();
        let master = std::fs::read_to_string(&hls.master).unwrap();
        assert!(master.contains("240p/index.m3u8"), "{master}");
        assert!(master.contains("360p/index.m3u8"));
        assert!(!master.contains("720p"));
        for v in ["240p", "360p"] {
            let playlist = std::fs::read_to_string(out.join(v).join("index.m3u8")).unwrap();
            assert!(playlist.contains("#EXT-X-PLAYLIST-TYPE:VOD"), "{playlist}");
            assert!(out.join(v).join("seg_000.ts").is_file());
        }
        let poster = std::fs::read(hls.poster.unwrap()).unwrap();
        assert!(poster.starts_with(&[0xFF, 0xD8]));
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.first(), Some(&0));
        assert_eq!(seen.last(), Some(&100));
        assert!(seen.windows(2).all(|w| w[0] < w[1]));
        assert!(!dir.path().join("hls.partial").exists());

        // A tiny silent clip: one rendition at its own size, no audio.
        let tiny = dir.path().join("tiny.mkv");
        let made = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"])
            .arg("testsrc=size=176x144:rate=50")
            .args(["-t", "2", "-c:v", "libx264", "-preset", "ultrafast"])
            .arg(&tiny)
            .status()
            .unwrap();
        assert!(made.success());
        let (progress, _) = recorder();
        let hls = process(&ff, &tiny, &dir.path().join("tiny"), progress)
            .await
            .unwrap();
        assert_eq!(hls.variants.len(), 1);
        assert_eq!((hls.variants[0].width, hls.variants[0].height), (176, 144));
        assert!(dir.path().join("tiny/240p/seg_000.ts").is_file());

        // A broken file: a clear error, nothing left behind.
        let broken = dir.path().join("broken.mp4");
        std::fs::write(&broken, b"\0\0\0\x20ftypisom not really a video").unwrap();
        let (progress, _) = recorder();
        let err = process(&ff, &broken, &dir.path().join("b"), progress)
            .await
            .unwrap_err();
        assert!(matches!(err, VideoError::Unreadable(_)), "{err}");
        assert!(
            !err.to_string().contains(dir.path().to_str().unwrap()),
            "{err}"
        );
        assert!(!dir.path().join("b").exists());
        assert!(!dir.path().join("b.partial").exists());
    }
}
