//! Lesson videos: the resumable upload, the background transcode (fake and, when ffmpeg is on
//! the machine, real) and HLS serving with its access rules.

use crate::harness::{PASSWORD, TestApp, location};
use media::video::{FakeTranscoder, Transcoder, VideoInfo};
use std::sync::Arc;
use web::pages::video::SharedTranscoder;

/// The start of an MP4 file (`ftyp` box, ISO brand) followed by `len` filler bytes.
fn mp4_bytes(len: usize) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x18];
    v.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
    v.extend((0..len).map(|i| (i % 251) as u8));
    v
}

fn fake() -> SharedTranscoder {
    SharedTranscoder(Arc::new(FakeTranscoder::new(VideoInfo {
        duration_s: 10.0,
        width: 1280,
        height: 720,
        has_audio: true,
        codec: "h264".into(),
        fps: 30.0,
    })))
}

struct Env {
    app: TestApp,
    school: String,
    _uploads: tempfile::TempDir,
}

async fn spawn_with(adjust: impl FnOnce(&mut web::WebConfig)) -> Env {
    let uploads = tempfile::tempdir().unwrap();
    let dir = uploads.path().to_path_buf();
    let app = TestApp::spawn_with(move |c| {
        c.uploads_dir = Some(dir);
        c.transcoder = Some(fake());
        adjust(c);
    })
    .await;
    let school = app.school_id("37THCSGV").await;
    Env {
        app,
        school,
        _uploads: uploads,
    }
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

async fn create(env: &Env, c: &reqwest::Client, name: &str, len: usize) -> reqwest::Response {
    c.post(env.app.url(&format!("/schools/{}/uploads", env.school)))
        .header("Upload-Length", len.to_string())
        .header("Upload-Metadata", format!("filename {}", b64(name)))
        .send()
        .await
        .unwrap()
}

async fn patch(
    env: &Env,
    c: &reqwest::Client,
    url: &str,
    offset: usize,
    chunk: &[u8],
) -> reqwest::Response {
    c.patch(env.app.url(url))
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(chunk.to_vec())
        .send()
        .await
        .unwrap()
}

fn offset_of(r: &reqwest::Response) -> usize {
    r.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Uploads `bytes` in one go; returns the upload URL.
async fn upload(env: &Env, c: &reqwest::Client, name: &str, bytes: &[u8]) -> String {
    let r = create(env, c, name, bytes.len()).await;
    assert_eq!(r.status(), 201);
    let url = location(&r);
    let r = patch(env, c, &url, 0, bytes).await;
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
    url
}

async fn finish(env: &Env, c: &reqwest::Client, url: &str, title: &str) -> reqwest::Response {
    let id = url.rsplit('/').next().unwrap();
    c.post(
        env.app
            .url(&format!("/schools/{}/videos/{id}/finish", env.school)),
    )
    .form(&[
        ("title", title),
        ("subject", "Toán"),
        ("grade", "6"),
        ("licence", "CC BY 4.0"),
    ])
    .send()
    .await
    .unwrap()
}

/// Waits until the video's status is no longer queued or processing; returns the JSON.
async fn settled(env: &Env, c: &reqwest::Client, mid: &str) -> serde_json::Value {
    for _ in 0..200 {
        let s: serde_json::Value = env
            .app
            .get(c, &format!("/schools/{}/videos/{mid}/status", env.school))
            .await
            .json()
            .await
            .unwrap();
        if !matches!(s["status"].as_str(), Some("queued" | "processing")) {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("transcode of {mid} did not finish");
}

#[tokio::test]
async fn a_video_uploads_in_chunks_resumes_and_is_served_as_hls() {
    let env = spawn_with(|_| {}).await;
    let app = &env.app;
    let gv = app.login("gv.toan").await;
    let page = app
        .get(&gv, &format!("/schools/{}/videos/new", env.school))
        .await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("data-video-form"));

    let bytes = mp4_bytes(300_000);
    let third = bytes.len() / 3;
    let r = create(&env, &gv, "Bài 1 – Phân số.mp4", bytes.len()).await;
    assert_eq!(r.status(), 201);
    assert_eq!(offset_of(&r), 0);
    let url = location(&r);
    assert!(
        url.starts_with(&format!("/schools/{}/uploads/", env.school)),
        "{url}"
    );

    // Chunk 1, then a retry of the same chunk (its answer "lost"): 409 with the real offset.
    let r = patch(&env, &gv, &url, 0, &bytes[..third]).await;
    assert_eq!(r.status(), 204);
    assert_eq!(offset_of(&r), third);
    let r = patch(&env, &gv, &url, 0, &bytes[..third]).await;
    assert_eq!(r.status(), 409);
    assert_eq!(offset_of(&r), third);
    let r = patch(&env, &gv, &url, third, &bytes[third..2 * third]).await;
    assert_eq!(r.status(), 204);

    // Another teacher of the school cannot see or continue my upload.
    let hash = web::auth::hash_password(PASSWORD.into()).await.unwrap();
    let other = app.db.user_by_username("tt.toan").await.unwrap();
    app.db.set_password(other.id, &hash, false).await.unwrap();
    let tt = app.login("tt.toan").await;
    let r = patch(&env, &tt, &url, 2 * third, &bytes[2 * third..]).await;
    assert_eq!(r.status(), 404);
    let r = tt.head(app.url(&url)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        finish(&env, &tt, &url, "Của người khác").await.status(),
        404
    );

    // "After a reload": a new session asks where the upload stands, and goes on from there.
    let gv = app.login("gv.toan").await;
    let r = gv.head(app.url(&url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(offset_of(&r), 2 * third);
    assert_eq!(
        r.headers()["upload-length"],
        bytes.len().to_string().as_str()
    );
    let r = patch(&env, &gv, &url, 2 * third, &bytes[2 * third..]).await;
    assert_eq!(r.status(), 204);
    assert_eq!(offset_of(&r), bytes.len());

    let r = finish(&env, &gv, &url, "Bài 1 – Phân số").await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let material_page = location(&r);
    let mid = material_page.rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        material_page,
        format!("/schools/{}/library/{mid}", env.school)
    );
    // The upload is gone once finished.
    assert_eq!(gv.head(app.url(&url)).send().await.unwrap().status(), 404);

    let s = settled(&env, &gv, &mid).await;
    assert_eq!(s["status"], "ready", "{s}");
    assert_eq!(s["progress"], 100);
    let school_id = id(&env.school);
    let m = app.db.material(school_id, id(&mid)).await.unwrap();
    assert_eq!(m.duration_s, Some(10));
    assert_eq!(m.status.code(), "draft");
    assert_eq!(m.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(
        m.file_key.as_deref(),
        Some(format!("videos/{}/{mid}/original.mp4", env.school).as_str())
    );
    assert_eq!(m.size, Some(bytes.len() as i64));

    // Staff preview in the library.
    let base = format!("/schools/{}/library/{mid}/hls", env.school);
    let r = app.get(&gv, &format!("{base}/master.m3u8")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/vnd.apple.mpegurl");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let master = r.text().await.unwrap();
    assert!(master.contains("240p/index.m3u8"), "{master}");
    let r = app.get(&gv, &format!("{base}/240p/index.m3u8")).await;
    assert!(r.text().await.unwrap().contains("seg_000.ts"));
    let r = gv
        .get(app.url(&format!("{base}/240p/seg_000.ts")))
        .header("Range", "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-type"], "video/mp2t");
    assert_eq!(r.headers()["content-range"], "bytes 0-9/188");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(r.bytes().await.unwrap()[0], 0x47);
    let r = gv
        .get(app.url(&format!("{base}/240p/seg_000.ts")))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = app.get(&gv, &format!("{base}/poster.jpg")).await;
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    for bad in [
        "../original.mp4",
        "240p/../../original.mp4",
        "x.html",
        "240p/seg_1.mp4",
    ] {
        let r = app.get(&gv, &format!("{base}/{bad}")).await;
        assert_eq!(r.status(), 404, "{bad}");
    }

    // In a course: the teacher places the video in a lesson.
    let year = app.db.current_year(school_id).await.unwrap().unwrap();
    app.db.ensure_courses(school_id, year.id).await.unwrap();
    let user = app.db.user_by_username("gv.toan").await.unwrap();
    let course = app
        .db
        .courses_taught(user.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.class_name == "6A1" && c.subject_code == "TOAN")
        .expect("gv.toan teaches Toán 6A1");
    let r = gv
        .post(app.url(&format!("/courses/{}/lessons", course.id)))
        .form(&[
            ("title", "Phân số"),
            ("form", "online_replace"),
            ("periods", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let lesson_id = location(&r)
        .split('/')
        .find_map(|p| domain::Id::parse_str(p).ok().filter(|id| *id != course.id))
        .expect("lesson id in the redirect");
    let lesson = app.db.lesson(school_id, lesson_id).await.unwrap();
    app.db.attach_material(&lesson, id(&mid)).await.unwrap();
    let hls = format!("/courses/{}/materials/{mid}/hls", course.id);
    let r = app.get(&gv, &format!("{hls}/master.m3u8")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/vnd.apple.mpegurl");
    let r = app.get(&gv, &format!("{hls}/360p/seg_001.ts")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "video/mp2t");

    // A student of another class is refused; one of the class waits for the approval.
    let all = app
        .db
        .students(
            school_id,
            Some(year.id),
            &db::roster::StudentFilter::default(),
        )
        .await
        .unwrap();
    let outsider = all
        .iter()
        .find(|x| x.class_name.as_deref() != Some("6A1"))
        .unwrap();
    let uid = outsider.user_id.unwrap();
    app.db.set_password(uid, &hash, false).await.unwrap();
    let login = app.db.user(uid).await.unwrap().username;
    let out = app.login(&login).await;
    assert_eq!(
        app.get(&out, &format!("{hls}/master.m3u8")).await.status(),
        403
    );
    assert_eq!(
        app.get(&out, &format!("{base}/master.m3u8")).await.status(),
        403
    );
    let hs = app.login("hs.demo").await;
    assert_eq!(
        app.get(&hs, &format!("{hls}/master.m3u8")).await.status(),
        404
    );

    // The scripts are served.
    for js in [
        "/static/player.js",
        "/static/upload.js",
        "/static/vendor/hls.light.min.mjs",
    ] {
        let r = app.get(&gv, js).await;
        assert_eq!(r.status(), 200, "{js}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains("javascript")
        );
    }
}

#[tokio::test]
async fn oversized_and_fake_videos_are_refused() {
    let env = spawn_with(|c| c.max_video_bytes = 100_000).await;
    let gv = env.app.login("gv.toan").await;
    let r = create(&env, &gv, "dai.mp4", 100_001).await;
    assert_eq!(r.status(), 413);
    let msg = r.text().await.unwrap();
    assert!(msg.contains("Tệp quá lớn"), "{msg}");

    // A declared length is also a ceiling for the bytes sent.
    let r = create(&env, &gv, "ngan.mp4", 10).await;
    let url = location(&r);
    let r = patch(&env, &gv, &url, 0, &mp4_bytes(100)).await;
    assert_eq!(r.status(), 413);

    // A text file renamed .mp4 is refused at the end, and its upload dropped.
    let url = upload(
        &env,
        &gv,
        "bai-giang.mp4",
        "không phải video\n".repeat(100).as_bytes(),
    )
    .await;
    let r = finish(&env, &gv, &url, "Giả video").await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("không phải video MP4"), "{page}");
    assert_eq!(
        gv.head(env.app.url(&url)).send().await.unwrap().status(),
        404
    );

    // Finishing before every byte arrived: 409 with the offset.
    let r = create(&env, &gv, "do-dang.mp4", 1000).await;
    let url = location(&r);
    patch(&env, &gv, &url, 0, &mp4_bytes(100)).await;
    let r = finish(&env, &gv, &url, "Dở dang").await;
    assert_eq!(r.status(), 409);

    // A student may not upload.
    let hs = env.app.login("hs.demo").await;
    assert_eq!(create(&env, &hs, "a.mp4", 10).await.status(), 403);
    assert_eq!(
        env.app
            .get(&hs, &format!("/schools/{}/videos/new", env.school))
            .await
            .status(),
        403
    );
}

/// No ffmpeg on the server.
struct Missing;

impl Transcoder for Missing {
    fn available(&self) -> bool {
        false
    }
    fn probe<'a>(
        &'a self,
        _: &'a std::path::Path,
    ) -> media::video::BoxFuture<'a, Result<VideoInfo, media::video::VideoError>> {
        Box::pin(async { Err(media::video::VideoError::Unavailable) })
    }
    fn transcode<'a>(
        &'a self,
        _: &'a std::path::Path,
        _: &'a std::path::Path,
        _: &'a [media::video::Rendition],
        _: media::video::Progress,
    ) -> media::video::BoxFuture<'a, Result<media::video::HlsOutput, media::video::VideoError>>
    {
        Box::pin(async { Err(media::video::VideoError::Unavailable) })
    }
}

#[tokio::test]
async fn without_ffmpeg_the_original_plays_and_broken_videos_fail() {
    let env = spawn_with(|c| c.transcoder = Some(SharedTranscoder(Arc::new(Missing)))).await;
    let gv = env.app.login("gv.toan").await;
    let url = upload(&env, &gv, "goc.mp4", &mp4_bytes(5000)).await;
    let r = finish(&env, &gv, &url, "Video gốc").await;
    assert_eq!(r.status(), 303);
    let mid = location(&r).rsplit('/').next().unwrap().to_owned();
    let s = settled(&env, &gv, &mid).await;
    assert_eq!(s["status"], "original");
    assert_eq!(s["error"], media::video::NO_FFMPEG);

    let env =
        spawn_with(|c| c.transcoder = Some(SharedTranscoder(Arc::new(FakeTranscoder::broken()))))
            .await;
    let gv = env.app.login("gv.toan").await;
    let url = upload(&env, &gv, "hong.mov", &mp4_bytes(5000)).await;
    let r = finish(&env, &gv, &url, "Video hỏng").await;
    assert_eq!(r.status(), 303);
    let mid = location(&r).rsplit('/').next().unwrap().to_owned();
    let s = settled(&env, &gv, &mid).await;
    assert_eq!(s["status"], "failed");
    assert!(
        s["note"]
            .as_str()
            .unwrap()
            .starts_with("Không xử lý được video"),
        "{s}"
    );
}

#[tokio::test]
async fn a_real_clip_goes_through_ffmpeg() {
    let Ok(out) = std::process::Command::new("which").arg("ffmpeg").output() else {
        return;
    };
    if !out.status.success() {
        eprintln!("ffmpeg absent: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("testsrc=duration=2:size=640x360:rate=25")
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=2"])
        .args([
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(made.success());
    let bytes = std::fs::read(&clip).unwrap();
    let env = spawn_with(|c| {
        c.transcoder = Some(SharedTranscoder(Arc::new(
            media::video::FfmpegTranscoder::from_path(),
        )))
    })
    .await;
    let gv = env.app.login("gv.toan").await;
    let r = create(&env, &gv, "clip.mp4", bytes.len()).await;
    let url = location(&r);
    let half = bytes.len() / 2;
    assert_eq!(
        patch(&env, &gv, &url, 0, &bytes[..half]).await.status(),
        204
    );
    assert_eq!(
        patch(&env, &gv, &url, half, &bytes[half..]).await.status(),
        204
    );
    let r = finish(&env, &gv, &url, "Clip thật").await;
    assert_eq!(r.status(), 303);
    let mid = location(&r).rsplit('/').next().unwrap().to_owned();
    let s = settled(&env, &gv, &mid).await;
    assert_eq!(s["status"], "ready", "{s}");
    let base = format!("/schools/{}/library/{mid}/hls", env.school);
    let master = env
        .app
        .get(&gv, &format!("{base}/master.m3u8"))
        .await
        .text()
        .await
        .unwrap();
    assert!(master.contains("#EXT-X-STREAM-INF"), "{master}");
    let variant = master
        .lines()
        .find(|l| l.ends_with("index.m3u8"))
        .unwrap()
        .to_owned();
    let playlist = env
        .app
        .get(&gv, &format!("{base}/{variant}"))
        .await
        .text()
        .await
        .unwrap();
    let seg = playlist.lines().find(|l| l.ends_with(".ts")).unwrap();
    let folder = variant.rsplit_once('/').unwrap().0;
    let r = env.app.get(&gv, &format!("{base}/{folder}/{seg}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "video/mp2t");
    assert_eq!(r.bytes().await.unwrap()[0], 0x47);
    let r = env.app.get(&gv, &format!("{base}/poster.jpg")).await;
    assert_eq!(r.status(), 200);
    let m = env
        .app
        .db
        .material(id(&env.school), id(&mid))
        .await
        .unwrap();
    assert_eq!(m.duration_s, Some(2));
}

fn id(s: &str) -> domain::Id {
    domain::Id::parse_str(s).unwrap()
}
