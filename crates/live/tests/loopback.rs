//! The media server on loopback: synthetic str0m clients connect through `Live::connect`,
//! exchange real UDP media, chat, leave; bad input is refused without harm.

use live::proto::{ClientMsg, ServerMsg};
use live::testclient::{SynthClient, SynthEvent, SynthOptions};
use live::{JoinError, Live, LiveConfig, LiveEvent, Participant, Role, RoomSpec};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::timeout;
use uuid::Uuid;

/// Failure guard only: every wait below ends on an event.
const GUARD: Duration = Duration::from_secs(20);

struct Setup {
    live: Live,
    events: UnboundedReceiver<LiveEvent>,
    room: RoomSpec,
    _dir: tempfile::TempDir,
}

fn start(grace: Duration) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LiveConfig {
        recordings_dir: dir.path().to_path_buf(),
        reconnect_grace: grace,
        ..LiveConfig::default()
    };
    let (live, events) = Live::start(cfg).unwrap();
    let room = RoomSpec {
        room_id: Uuid::now_v7(),
        school_id: Uuid::now_v7(),
        title: "Toán 6A1".into(),
    };
    Setup {
        live,
        events,
        room,
        _dir: dir,
    }
}

fn person(name: &str, role: Role) -> Participant {
    Participant {
        user_id: Uuid::now_v7(),
        name: name.into(),
        role,
    }
}

async fn event(events: &mut UnboundedReceiver<LiveEvent>) -> LiveEvent {
    timeout(GUARD, events.recv())
        .await
        .expect("an event in time")
        .expect("events open")
}

/// Joins `who` with `opts` and waits for the welcome.
async fn joined(s: &Setup, who: Participant, opts: SynthOptions) -> SynthClient {
    let mut c = SynthClient::join(&s.live, s.room.clone(), who, opts)
        .await
        .unwrap();
    server_msg(&mut c, |m| {
        matches!(m, ServerMsg::Welcome { .. }).then_some(())
    })
    .await;
    c
}

async fn server_msg<T>(c: &mut SynthClient, mut f: impl FnMut(&ServerMsg) -> Option<T>) -> T {
    let wait = c.until(|e| match e {
        SynthEvent::Server(m) => f(m),
        _ => None,
    });
    timeout(GUARD, wait)
        .await
        .expect("a message in time")
        .expect("connection open")
}

async fn media(c: &mut SynthClient, want_video: bool) -> usize {
    let wait = c.until(|e| match e {
        SynthEvent::Media { video, bytes, .. } if *video == want_video => Some(*bytes),
        _ => None,
    });
    timeout(GUARD, wait)
        .await
        .expect("media in time")
        .expect("connection open")
}

#[tokio::test]
async fn teacher_media_reaches_a_student_chat_arrives_and_leave_is_recorded() {
    let mut s = start(Duration::from_secs(20));
    let teacher = person("Cô Lan", Role::Teacher);
    let student = person("Nguyễn Văn An", Role::Student);
    let mut t = joined(&s, teacher.clone(), SynthOptions::teacher()).await;
    let mut st = SynthClient::join(
        &s.live,
        s.room.clone(),
        student.clone(),
        SynthOptions::student(),
    )
    .await
    .unwrap();
    let me = server_msg(&mut st, |m| match m {
        ServerMsg::Welcome { me, room } => Some((me.clone(), room.peers.len())),
        _ => None,
    })
    .await;
    assert_eq!(
        me,
        (
            live::proto::PeerInfo {
                id: student.user_id,
                name: student.name.clone(),
                role: Role::Student,
                audio: false,
                video: false,
                hand: false,
                online: true
            },
            2
        )
    );
    assert_eq!(s.live.rooms(), 1);
    assert_eq!(s.live.participants(), 2);

    // The student gets an offer of the teacher's tracks, labelled, then the media itself.
    let tracks = server_msg(&mut st, |m| match m {
        ServerMsg::Tracks { tracks } if tracks.len() == 2 => Some(tracks.clone()),
        _ => None,
    })
    .await;
    assert!(tracks.iter().all(|t| t.peer == teacher.user_id));
    assert!(
        tracks
            .iter()
            .any(|t| t.kind == "audio" && t.source == "mic")
    );
    assert!(
        tracks
            .iter()
            .any(|t| t.kind == "video" && t.source == "camera")
    );
    assert!(media(&mut st, false).await > 0);
    assert!(media(&mut st, true).await > 0);

    // Chat goes to everyone, trimmed.
    st.send(ClientMsg::Chat {
        text: "  Em chào cô ạ  ".into(),
    })
    .await;
    let chat = server_msg(&mut t, |m| match m {
        ServerMsg::Chat { msg } => Some(msg.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        (chat.from, chat.text.as_str()),
        (student.user_id, "Em chào cô ạ")
    );

    // A student may not moderate.
    st.send(ClientMsg::Mute { target: None }).await;
    let code = server_msg(&mut st, |m| match m {
        ServerMsg::Error { code, .. } => Some(code.clone()),
        _ => None,
    })
    .await;
    assert_eq!(code, "forbidden");

    // Attendance: both joins, then the student's clean leave.
    let joined: Vec<Uuid> = [event(&mut s.events).await, event(&mut s.events).await]
        .into_iter()
        .map(|e| match e {
            LiveEvent::Joined { user, room, .. } if room == s.room.room_id => user,
            other => panic!("expected a join, got {other:?}"),
        })
        .collect();
    assert_eq!(joined, vec![teacher.user_id, student.user_id]);
    st.leave().await;
    match event(&mut s.events).await {
        LiveEvent::Left { user, .. } => assert_eq!(user, student.user_id),
        other => panic!("expected a leave, got {other:?}"),
    }
    let left = server_msg(&mut t, |m| match m {
        ServerMsg::Left { id } => Some(*id),
        _ => None,
    })
    .await;
    assert_eq!(left, student.user_id);
}

#[tokio::test]
async fn a_students_camera_is_forwarded_only_once_allowed() {
    let s = start(Duration::from_secs(20));
    let teacher = person("Thầy Minh", Role::Teacher);
    let student = person("Trần Thị Bình", Role::Student);
    let mut t = SynthClient::join(
        &s.live,
        s.room.clone(),
        teacher.clone(),
        SynthOptions::silent(),
    )
    .await
    .unwrap();
    let mut st = joined(&s, student.clone(), SynthOptions::student()).await;
    t.send(ClientMsg::Allow {
        target: student.user_id,
        audio: false,
        video: true,
    })
    .await;
    let allowed = server_msg(&mut st, |m| match m {
        ServerMsg::Allowed { audio, video } => Some((*audio, *video)),
        _ => None,
    })
    .await;
    assert_eq!(allowed, (false, true));
    // Only the camera reaches the teacher: the tracks offered are the camera's alone.
    let tracks = server_msg(&mut t, |m| match m {
        ServerMsg::Tracks { tracks } if !tracks.is_empty() => Some(tracks.clone()),
        _ => None,
    })
    .await;
    assert_eq!(tracks.len(), 1);
    assert_eq!(
        (tracks[0].peer, tracks[0].source.as_str()),
        (student.user_id, "camera")
    );
    assert!(media(&mut t, true).await > 0);
}

#[tokio::test]
async fn web_layer_connection_welcome_grace_and_refusals() {
    let mut s = start(Duration::from_millis(200));
    let teacher = person("Cô Hoa", Role::Teacher);
    let student = person("Lê Văn Cường", Role::Student);
    let mut tc = s
        .live
        .connect(s.room.clone(), teacher.clone())
        .await
        .unwrap();
    assert!(matches!(
        tc.rx.recv().await,
        Some(ServerMsg::Welcome { .. })
    ));
    let mut sc = s
        .live
        .connect(s.room.clone(), student.clone())
        .await
        .unwrap();
    let Some(ServerMsg::Welcome { me, room }) = sc.rx.recv().await else {
        panic!("welcome first")
    };
    assert_eq!(me.id, student.user_id);
    assert_eq!(room.title, "Toán 6A1");

    // Malformed SDP: an error, and the connection stays usable.
    sc.tx
        .send(ClientMsg::Offer {
            sdp: "v=0 nonsense".into(),
        })
        .await
        .unwrap();
    let Some(ServerMsg::Error { code, .. }) = sc.rx.recv().await else {
        panic!("an error")
    };
    assert_eq!(code, "bad_sdp");
    sc.tx.send(ClientMsg::Ping).await.unwrap();
    assert_eq!(sc.rx.recv().await, Some(ServerMsg::Pong));

    // The socket breaks: offline for the others, then Left at the moment it broke.
    let _ = event(&mut s.events).await;
    let _ = event(&mut s.events).await;
    let broke = std::time::SystemTime::now();
    drop(sc.tx);
    loop {
        match timeout(GUARD, tc.rx.recv()).await.unwrap() {
            Some(ServerMsg::Peer { peer }) if peer.id == student.user_id && !peer.online => break,
            Some(_) => {}
            None => panic!("teacher connection closed"),
        }
    }
    match event(&mut s.events).await {
        LiveEvent::Left { user, at, .. } => {
            assert_eq!(user, student.user_id);
            let delta = at.duration_since(broke).unwrap_or_default();
            assert!(
                delta < Duration::from_millis(150),
                "left at the break, not after the grace: {delta:?}"
            );
        }
        other => panic!("expected a leave, got {other:?}"),
    }

    // Lock: newcomers refused, the teacher still gets in.
    tc.tx.send(ClientMsg::Lock { locked: true }).await.unwrap();
    loop {
        if let Some(ServerMsg::Locked { locked: true }) = tc.rx.recv().await {
            break;
        }
    }
    let late = person("Phạm Dũng", Role::Student);
    assert_eq!(
        s.live.connect(s.room.clone(), late).await.err(),
        Some(JoinError::Locked)
    );
    let mut tc2 = s
        .live
        .connect(s.room.clone(), teacher.clone())
        .await
        .unwrap();
    assert!(matches!(
        tc2.rx.recv().await,
        Some(ServerMsg::Welcome { .. })
    ));
    // The first connection was replaced: told why, then closed.
    let mut replaced = false;
    while let Some(m) = tc.rx.recv().await {
        replaced |= matches!(&m, ServerMsg::Error { code, .. } if code == "replaced");
    }
    assert!(replaced, "the old window learns it was replaced");
    tc2.tx
        .send(ClientMsg::Lock { locked: false })
        .await
        .unwrap();
    loop {
        if let Some(ServerMsg::Locked { locked: false }) = tc2.rx.recv().await {
            break;
        }
    }

    // Removal: told, closed, cannot return.
    let mut sc = s
        .live
        .connect(s.room.clone(), student.clone())
        .await
        .unwrap();
    assert!(matches!(
        sc.rx.recv().await,
        Some(ServerMsg::Welcome { .. })
    ));
    tc2.tx
        .send(ClientMsg::Remove {
            target: student.user_id,
        })
        .await
        .unwrap();
    let mut last = None;
    while let Some(m) = timeout(GUARD, sc.rx.recv()).await.unwrap() {
        last = Some(m);
    }
    assert_eq!(last, Some(ServerMsg::Removed));
    assert_eq!(
        s.live.connect(s.room.clone(), student.clone()).await.err(),
        Some(JoinError::Removed)
    );

    // Closing the room disconnects everyone.
    s.live.close_room(s.room.room_id).await;
    while timeout(GUARD, tc2.rx.recv()).await.unwrap().is_some() {}
    assert_eq!(s.live.rooms(), 0);
    assert_eq!(s.live.participants(), 0);
}

/// Records a teacher sending with `opts` while an observer watches; the IVF file written,
/// once the Ogg file and the event were checked.
async fn recording_of(opts: SynthOptions) -> Vec<u8> {
    let mut s = start(Duration::from_secs(20));
    let teacher = person("Cô Mai", Role::Teacher);
    let mut t = SynthClient::join(&s.live, s.room.clone(), teacher.clone(), opts)
        .await
        .unwrap();
    server_msg(&mut t, |m| {
        matches!(m, ServerMsg::Welcome { .. }).then_some(())
    })
    .await;
    // A viewer, so that we know media flows before recording stops.
    let mut v = SynthClient::join(
        &s.live,
        s.room.clone(),
        person("Hà", Role::Observer),
        SynthOptions::silent(),
    )
    .await
    .unwrap();
    t.send(ClientMsg::Record { on: true }).await;
    server_msg(&mut t, |m| {
        matches!(m, ServerMsg::Recording { on: true }).then_some(())
    })
    .await;
    let mut keyframes = 0;
    while keyframes < 2 {
        let wait = v.until(|e| match e {
            SynthEvent::Media {
                video: true,
                keyframe,
                ..
            } => Some(*keyframe),
            _ => None,
        });
        if timeout(GUARD, wait).await.unwrap().unwrap() {
            keyframes += 1;
        }
        t.send(ClientMsg::Ping).await;
    }
    media(&mut v, false).await;
    t.send(ClientMsg::Record { on: false }).await;
    let finished = loop {
        if let e @ LiveEvent::RecordingFinished { .. } = event(&mut s.events).await {
            break e;
        }
    };
    let LiveEvent::RecordingFinished {
        by,
        video,
        audio,
        started_at,
        ended_at,
        ..
    } = finished
    else {
        unreachable!()
    };
    assert_eq!(by, teacher.user_id);
    assert!(ended_at >= started_at);
    let ogg = std::fs::read(audio.expect("an audio file")).unwrap();
    assert_eq!(&ogg[0..4], b"OggS");
    assert_eq!(&ogg[28..36], b"OpusHead");
    let ivf = std::fs::read(video.expect("a video file")).unwrap();
    assert_eq!(&ivf[0..4], b"DKIF");
    assert!(
        u32::from_le_bytes(ivf[24..28].try_into().unwrap()) > 0,
        "frames"
    );
    ivf
}

#[tokio::test]
async fn recording_writes_the_teachers_tracks() {
    let ivf = recording_of(SynthOptions::teacher()).await;
    assert_eq!(&ivf[8..12], b"VP80");
    assert_eq!(
        u16::from_le_bytes([ivf[12], ivf[13]]),
        1280,
        "size from the first keyframe"
    );
}

#[tokio::test]
async fn a_teacher_sending_h264_is_recorded_in_h264() {
    let ivf = recording_of(SynthOptions::teacher().h264()).await;
    assert_eq!(&ivf[8..12], b"H264");
    // The first frame is the keyframe: SPS, PPS and IDR in Annex B.
    let first = &ivf[32 + 12..];
    assert_eq!(&first[..5], &[0, 0, 0, 1, 0x67]);
    assert!(
        first.windows(5).any(|w| w == [0, 0, 0, 1, 0x65]),
        "an IDR slice"
    );
}

#[tokio::test]
async fn junk_datagrams_and_a_reconnection_leave_the_class_unharmed() {
    let mut s = start(Duration::from_secs(20));
    let teacher = person("Cô Lan", Role::Teacher);
    let student = person("Võ Thị Em", Role::Student);
    let _t = SynthClient::join(
        &s.live,
        s.room.clone(),
        teacher.clone(),
        SynthOptions::teacher(),
    )
    .await
    .unwrap();
    let mut st = SynthClient::join(
        &s.live,
        s.room.clone(),
        student.clone(),
        SynthOptions::silent(),
    )
    .await
    .unwrap();
    media(&mut st, true).await;

    // Someone floods the media port with junk: RTP-looking, STUN-looking and random bytes.
    let junk = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for i in 0..20_000u32 {
        let mut d = vec![0x80, 0x60, (i >> 8) as u8, i as u8, 0, 0, 0, 1, 1, 2, 3, 4];
        d.extend_from_slice(&[i as u8; 100]);
        if i % 3 == 1 {
            d[0] = 0x00;
            d[1] = 0x01;
        }
        let _ = junk.send_to(&d, s.live.udp_addr()).await;
    }
    // The class goes on.
    for _ in 0..10 {
        media(&mut st, true).await;
    }

    // A network blip: the student's socket breaks and they come back with a new one,
    // keeping their raised hand; that is not a new visit.
    st.send(ClientMsg::Hand { up: true }).await;
    server_msg(&mut st, |m| {
        matches!(m, ServerMsg::Hands { queue } if queue == &vec![student.user_id]).then_some(())
    })
    .await;
    drop(st);
    let mut st = SynthClient::join(
        &s.live,
        s.room.clone(),
        student.clone(),
        SynthOptions::silent(),
    )
    .await
    .unwrap();
    let (me, hands) = server_msg(&mut st, |m| match m {
        ServerMsg::Welcome { me, room } => Some((me.clone(), room.hands.clone())),
        _ => None,
    })
    .await;
    assert!(me.online && me.hand);
    assert_eq!(hands, vec![student.user_id]);
    media(&mut st, true).await;
    st.leave().await;
    let kinds: Vec<&'static str> = [
        event(&mut s.events).await,
        event(&mut s.events).await,
        event(&mut s.events).await,
    ]
    .iter()
    .map(|e| match e {
        LiveEvent::Joined { .. } => "joined",
        LiveEvent::Left { .. } => "left",
        _ => "other",
    })
    .collect();
    assert_eq!(kinds, vec!["joined", "joined", "left"]);
}

#[tokio::test]
async fn a_small_bench_runs_and_measures() {
    let opts = live::testclient::BenchOptions {
        students: 3,
        students_with_video: 1,
        duration: Duration::from_secs(1),
    };
    let r = live::testclient::bench(opts).await.unwrap();
    assert_eq!(r.students_without_video, 0, "{r:?}");
    // Teacher's mic and camera to 3 students, the allowed student's two tracks to 3 others.
    assert_eq!(r.down_tracks, 3 * 2 + 3 * 2, "{r:?}");
    assert!(r.forwarded_frames_per_sec > 0.0, "{r:?}");
    assert!(r.server_cpu <= r.process_cpu, "{r:?}");
    assert!(
        r.rss_before_kib > 0 && r.rss_after_kib >= r.rss_before_kib,
        "{r:?}"
    );
}

/// The first video frame a client decodes: its codec and whether it is a keyframe.
async fn video_frame(c: &mut SynthClient) -> (str0m::format::Codec, bool) {
    let wait = c.until(|e| match e {
        SynthEvent::Media {
            video: true,
            codec,
            keyframe,
            ..
        } => Some((*codec, *keyframe)),
        _ => None,
    });
    timeout(GUARD, wait)
        .await
        .expect("video in time")
        .expect("connection open")
}

#[tokio::test]
async fn h264_from_a_browser_that_prefers_it_reaches_browsers_that_prefer_vp8() {
    use str0m::format::Codec;
    let s = start(Duration::from_secs(20));
    let teacher = person("Cô Lan", Role::Teacher);
    let student = person("Nguyễn Văn An", Role::Student);
    // The teacher on an iPhone: H.264 first in the offer, simulcast.
    let mut t = joined(&s, teacher.clone(), SynthOptions::teacher().h264()).await;
    // A student on Chrome (VP8 first), allowed to show video.
    let mut st = joined(&s, student.clone(), SynthOptions::student()).await;
    // The first frame starts the stream, so it is a keyframe: SPS, PPS and IDR together.
    assert_eq!(video_frame(&mut st).await, (Codec::H264, true));
    t.send(ClientMsg::Allow {
        target: student.user_id,
        audio: true,
        video: true,
    })
    .await;
    // Each direction keeps its publisher's codec.
    assert_eq!(video_frame(&mut t).await, (Codec::Vp8, true));
    for _ in 0..30 {
        assert_eq!(video_frame(&mut st).await.0, Codec::H264);
    }
}

#[tokio::test]
async fn a_browser_without_h264_makes_the_h264_publisher_switch_to_vp8() {
    use str0m::format::Codec;
    let s = start(Duration::from_secs(20));
    let teacher = person("Cô Lan", Role::Teacher);
    let mut t = joined(&s, teacher.clone(), SynthOptions::teacher().h264()).await;
    // A student who decodes H.264 gets it; nobody is asked to change.
    let mut a = SynthClient::join(
        &s.live,
        s.room.clone(),
        person("Nguyễn Văn An", Role::Student),
        SynthOptions::silent(),
    )
    .await
    .unwrap();
    assert_eq!(video_frame(&mut a).await.0, Codec::H264);
    // A student whose browser has no H.264: the teacher is asked for VP8, once.
    let _b = SynthClient::join(
        &s.live,
        s.room.clone(),
        person("Trần Thị Bình", Role::Student),
        SynthOptions::silent().without_h264(),
    )
    .await
    .unwrap();
    server_msg(&mut t, |m| matches!(m, ServerMsg::UseVp8).then_some(())).await;
    // Once: a ping a second later (H.264 keeps coming, the synthetic teacher does not switch)
    // ends the count of further requests with its pong.
    let pinger = {
        let tx = t.sender();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = tx.send(ClientMsg::Ping).await;
        })
    };
    let mut again = 0;
    let wait = t.until(|e| match e {
        SynthEvent::Server(m) if matches!(**m, ServerMsg::UseVp8) => {
            again += 1;
            None::<()>
        }
        SynthEvent::Server(m) if matches!(**m, ServerMsg::Pong) => Some(()),
        _ => None,
    });
    timeout(GUARD, wait).await.unwrap().unwrap();
    pinger.await.unwrap();
    assert_eq!(again, 0, "asked for VP8 once only");
}
