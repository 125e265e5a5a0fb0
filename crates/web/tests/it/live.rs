//! Live classes through HTTP and the WebSocket: scheduling, who may enter, tokens, signalling
//! between two students, attendance from joins and leaves, corrections, Excel, the whiteboard
//! and recordings turned into lesson videos.

use crate::harness::{PASSWORD, TestApp, location};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use web::pages::live::Persisted;

const MIN: i64 = 60_000;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Setup {
    school: db::org::School,
    course: db::learning::Course,
    lessons: Vec<db::learning::Lesson>,
    gv: domain::Id,
}

async fn toan_6a1(db: &db::Db) -> Setup {
    let school = db.school_by_code("37THCSGV").await.unwrap();
    let gv = db.user_by_username("gv.toan").await.unwrap();
    let course = db
        .courses_taught(gv.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.class_name == "6A1" && c.subject_code == "TOAN")
        .expect("gv.toan teaches Toán 6A1");
    let lessons = db.lessons(&course).await.unwrap();
    Setup {
        school,
        course,
        lessons,
        gv: gv.id,
    }
}

/// A session of the course starting `from_now` ms from now, 45 minutes long.
async fn session_in(db: &db::Db, st: &Setup, from_now: i64, lesson: bool) -> domain::Id {
    let start = db::now_ms() + from_now;
    db.create_live_sessions(
        &st.course,
        lesson.then(|| st.lessons[1].id),
        "Luyện tập",
        &[(start, start + 45 * MIN)],
        st.gv,
    )
    .await
    .unwrap()[0]
}

/// A student of another class than 6A1, with the demo password.
async fn outsider(app: &TestApp) -> String {
    let s = app.db.school_by_code("37THCSGV").await.unwrap();
    let year = app.db.current_year(s.id).await.unwrap().unwrap();
    let all = app
        .db
        .students(s.id, Some(year.id), &db::roster::StudentFilter::default())
        .await
        .unwrap();
    let other = all
        .iter()
        .find(|x| x.class_name.as_deref() != Some("6A1") && x.user_id.is_some())
        .unwrap();
    let hash = web::auth::hash_password(PASSWORD.into()).await.unwrap();
    let uid = other.user_id.unwrap();
    app.db.set_password(uid, &hash, false).await.unwrap();
    app.db.user(uid).await.unwrap().username
}

/// A commune officer of a commune that does not manage THCS Gia Viễn.
async fn foreign_officer(app: &TestApp) -> String {
    let school = app.db.school_by_code("37THCSGV").await.unwrap();
    let unit = app
        .db
        .units()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.kind == domain::tree::UnitKind::Commune && u.path != school.unit_path)
        .expect("a second commune");
    let hash = web::auth::hash_password(PASSWORD.into()).await.unwrap();
    let u = app
        .db
        .create_user(&db::accounts::NewUser {
            username: "xa.khac".into(),
            full_name: "Cán bộ xã khác".into(),
            email: None,
            phone: None,
            password_hash: Some(hash),
            must_change_password: false,
        })
        .await
        .unwrap();
    app.db
        .grant_role(
            u.id,
            domain::auth::Role::CommuneOfficer,
            Some(unit.id),
            None,
        )
        .await
        .unwrap();
    "xa.khac".into()
}

/// A second app over the same database whose state the test holds (its persisted-event feed,
/// its event handler), served on its own port.
async fn own_app(
    app: &TestApp,
    adjust: impl FnOnce(&mut web::WebConfig),
) -> (String, web::AppState) {
    let mut config = web::WebConfig {
        run_worker: false,
        ..Default::default()
    };
    adjust(&mut config);
    let built = web::App::build(app.db.clone(), config).unwrap();
    let state = built.state.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(built.serve(listener, std::future::pending()));
    (format!("http://{addr}"), state)
}

async fn login_at(base: &str, login: &str) -> reqwest::Client {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = c
        .post(format!("{base}/login"))
        .form(&[("login", login), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "login of {login}");
    c
}

/// The raw session cookie of a login (`lophoc_sid=…`).
async fn session_cookie(app: &TestApp, login: &str) -> String {
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = c
        .post(app.url("/login"))
        .form(&[("login", login), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("lophoc_sid="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned()
}

fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine;
    let body = token.split('.').next().unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

async fn token_of(base: &str, c: &reqwest::Client, session: domain::Id) -> (String, String) {
    let r = c
        .get(format!("{base}/live/{session}/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    let token = v["token"].as_str().unwrap().to_owned();
    let ws = v["ws"].as_str().unwrap().to_owned();
    assert_eq!(ws, format!("/live/ws?token={token}"));
    (token, ws)
}

async fn connect(base: &str, path: &str, cookie: Option<&str>) -> Ws {
    let url = format!("{}{path}", base.replacen("http://", "ws://", 1));
    let mut req = url.into_client_request().unwrap();
    if let Some(c) = cookie {
        req.headers_mut().insert("cookie", c.parse().unwrap());
    }
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(req),
    )
    .await
    .expect("WebSocket connect timed out")
    .expect("WebSocket connect");
    ws
}

/// The next JSON message (pings and pongs skipped); panics on close.
async fn next_json(ws: &mut Ws) -> serde_json::Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("no message within 10 s")
            .expect("socket ended")
            .expect("socket error");
        match m {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Close(f) => panic!("closed: {f:?}"),
            _ => {}
        }
    }
}

/// Reads until a message of kind `t` arrives.
async fn until_kind(ws: &mut Ws, t: &str) -> serde_json::Value {
    loop {
        let v = next_json(ws).await;
        if v["t"] == t {
            return v;
        }
    }
}

/// The close frame the server sends (code, reason).
async fn close_of(ws: &mut Ws) -> (u16, String) {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("no close within 10 s");
        match m {
            Some(Ok(Message::Close(Some(f)))) => return (f.code.into(), f.reason.to_string()),
            Some(Ok(Message::Close(None))) | None => panic!("closed without a reason"),
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("socket error before a close frame: {e}"),
        }
    }
}

/// Waits for the persisted-event feed to report `want`.
async fn persisted(feed: &mut tokio::sync::broadcast::Receiver<Persisted>, want: &Persisted) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match feed.recv().await {
                Ok(p) if &p == want => return,
                Ok(_) => {}
                Err(e) => panic!("event feed: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{want:?} was not persisted within 10 s"));
}

fn vn_date(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .unwrap()
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap());
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

#[tokio::test]
async fn sessions_are_scheduled_once_or_weekly_and_bad_input_saves_nothing() {
    let app = TestApp::spawn().await;
    let st = toan_6a1(&app.db).await;
    let cid = st.course.id;
    let before = app.db.course_live_sessions(&st.course).await.unwrap().len();
    let gv = app.login("gv.toan").await;
    let page = app.get(&gv, &format!("/courses/{cid}/live")).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("data-live-form"));

    let day = vn_date(db::now_ms() + 24 * 60 * MIN);
    let lesson = st.lessons[0].id.to_string();
    let once = gv
        .post(app.url(&format!("/courses/{cid}/live")))
        .form(&[
            ("title", "Chữa bài tập"),
            ("lesson", lesson.as_str()),
            ("date", day.as_str()),
            ("start", "19:30"),
            ("minutes", "45"),
            ("repeat", "once"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(once.status(), 303);
    let to = location(&once);
    assert!(to.starts_with("/live/"), "{to}");
    let sid: domain::Id = to
        .trim_start_matches("/live/")
        .trim_end_matches("?ok=1")
        .parse()
        .unwrap();
    let s = app.db.live_session(sid).await.unwrap();
    assert_eq!(s.lesson_id, Some(st.lessons[0].id));
    assert_eq!(s.ends_at - s.starts_at, 45 * MIN);
    assert_eq!(web::view::format_ms(s.starts_at)[11..], *"19:30");

    let until = vn_date(db::now_ms() + 22 * 24 * 60 * MIN);
    let weekly = gv
        .post(app.url(&format!("/courses/{cid}/live")))
        .form(&[
            ("title", "Toán hằng tuần"),
            ("date", day.as_str()),
            ("start", "07:00"),
            ("minutes", "40"),
            ("repeat", "weekly"),
            ("until", until.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(weekly.status(), 303);
    let all = app.db.course_live_sessions(&st.course).await.unwrap();
    let series: Vec<_> = all.iter().filter(|x| x.title == "Toán hằng tuần").collect();
    assert_eq!(series.len(), 4);
    assert!(series[0].series_id.is_some());
    assert!(series.iter().all(|x| x.series_id == series[0].series_id));
    assert_eq!(series[1].starts_at - series[0].starts_at, 7 * 24 * 60 * MIN);
    let count = all.len();
    assert_eq!(count, before + 5);

    let far = vn_date(db::now_ms() + 400 * 24 * 60 * MIN);
    for (fields, needle) in [
        (
            vec![
                ("title", "X"),
                ("date", day.as_str()),
                ("start", "25:00"),
                ("minutes", "45"),
            ],
            "Giờ bắt đầu",
        ),
        (
            vec![
                ("title", "X"),
                ("date", "31/02/2025"),
                ("start", "07:00"),
                ("minutes", "45"),
            ],
            "Ngày học",
        ),
        (
            vec![
                ("title", "X"),
                ("date", day.as_str()),
                ("start", "07:00"),
                ("minutes", "500"),
            ],
            "Thời lượng",
        ),
        (
            vec![
                ("title", "X"),
                ("date", day.as_str()),
                ("start", "07:00"),
                ("minutes", "45"),
                ("repeat", "weekly"),
                ("until", far.as_str()),
            ],
            "tối đa 40 buổi",
        ),
        (
            vec![
                ("title", " "),
                ("date", day.as_str()),
                ("start", "07:00"),
                ("minutes", "45"),
            ],
            "tên buổi học",
        ),
    ] {
        let r = gv
            .post(app.url(&format!("/courses/{cid}/live")))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let body = r.text().await.unwrap();
        assert!(body.contains(needle), "{needle} not in {body}");
    }
    assert_eq!(
        app.db.course_live_sessions(&st.course).await.unwrap().len(),
        count
    );

    // Students cannot schedule; they and parents see what is coming.
    let hs = app.login("hs.demo").await;
    let r = hs
        .post(app.url(&format!("/courses/{cid}/live")))
        .form(&[
            ("title", "X"),
            ("date", day.as_str()),
            ("start", "07:00"),
            ("minutes", "45"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    for c in [hs, app.login("0912000001").await] {
        let body = app
            .get(&c, &format!("/courses/{cid}/live"))
            .await
            .text()
            .await
            .unwrap();
        assert!(body.contains("Chữa bài tập") && body.contains("Toán hằng tuần"));
        assert!(!body.contains("data-live-form"));
    }
    assert_eq!(
        app.db.course_live_sessions(&st.course).await.unwrap().len(),
        count
    );
}

#[tokio::test]
async fn the_class_its_teacher_and_invited_staff_enter_everyone_else_is_refused() {
    let app = TestApp::spawn().await;
    let st = toan_6a1(&app.db).await;
    let open = session_in(&app.db, &st, 5 * MIN, false).await;
    let stranger = outsider(&app).await;
    let foreign = foreign_officer(&app).await;
    for (login, role) in [
        ("gv.toan", Some("teacher")),
        ("hs.demo", Some("student")),
        ("hs.demo2", Some("student")),
        ("ht.thcs", Some("observer")),
        ("tt.toan", Some("observer")),
        ("xa.canbo", Some("observer")),
        ("so.chuyenvien", Some("observer")),
        ("0912000001", None),
        (stranger.as_str(), None),
        (foreign.as_str(), None),
    ] {
        let c = app.login(login).await;
        let room = app.get(&c, &format!("/live/{open}/room")).await;
        let token = app.get(&c, &format!("/live/{open}/token")).await;
        match role {
            Some(role) => {
                assert_eq!(room.status(), 200, "{login} enters");
                assert!(room.text().await.unwrap().contains("Toán — 6A1"));
                assert_eq!(token.status(), 200, "{login} gets a token");
                let v: serde_json::Value = token.json().await.unwrap();
                let claims = claims_of(v["token"].as_str().unwrap());
                assert_eq!(claims["r"], role, "{login}");
            }
            None => {
                assert_eq!(room.status(), 403, "{login} is refused");
                assert_eq!(token.status(), 403, "{login} gets no token");
            }
        }
    }
    // The parent reads the session page (their child's line only), never the room.
    let parent = app.login("0912000001").await;
    let page = app.get(&parent, &format!("/live/{open}")).await;
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert_eq!(body.matches("data-student=").count(), 1);
    assert!(!body.contains("data-enter"));
    assert_eq!(
        app.get(&app.login(&stranger).await, &format!("/live/{open}"))
            .await
            .status(),
        403
    );

    // Next week's room is not open yet: the page says when it opens; no token is given.
    let later = session_in(&app.db, &st, 7 * 24 * 60 * MIN, false).await;
    let hs = app.login("hs.demo").await;
    let r = app.get(&hs, &format!("/live/{later}/room")).await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("data-live-wait") && body.contains("Phòng học mở lúc"));
    assert_eq!(
        app.get(&hs, &format!("/live/{later}/token")).await.status(),
        409
    );
    // Ended by the teacher: closed for everyone.
    let gv = app.login("gv.toan").await;
    assert_eq!(
        app.get(&hs, &format!("/live/{open}/token")).await.status(),
        200
    );
    let r = gv
        .post(app.url(&format!("/live/{open}/end")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(app.db.live_session(open).await.unwrap().status, "ended");
    assert_eq!(
        app.get(&hs, &format!("/live/{open}/token")).await.status(),
        409
    );
    assert!(
        app.get(&hs, &format!("/live/{open}/room"))
            .await
            .text()
            .await
            .unwrap()
            .contains("đã kết thúc")
    );
    // Only the teacher (or a manager) ends a session.
    let r = hs
        .post(app.url(&format!("/live/{later}/end")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn the_websocket_refuses_missing_forged_expired_and_borrowed_tokens() {
    let app = TestApp::spawn().await;
    let st = toan_6a1(&app.db).await;
    let open = session_in(&app.db, &st, 0, false).await;
    let hs = app.login("hs.demo").await;
    let (token, ws) = token_of(&app.base, &hs, open).await;

    let mut s = connect(&app.base, "/live/ws", None).await;
    let (code, reason) = close_of(&mut s).await;
    assert_eq!(code, 4401);
    assert!(reason.contains("Thiếu mã vào lớp"), "{reason}");

    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let mut s = connect(&app.base, &format!("/live/ws?token={forged}"), None).await;
    let (code, reason) = close_of(&mut s).await;
    assert_eq!(code, 4401);
    assert!(reason.contains("không hợp lệ"), "{reason}");

    // A token signed with the real key but already expired.
    let key = app
        .db
        .setting_or_init("live_token_key", String::new)
        .await
        .unwrap();
    let mut claims: web::pages::live::Claims = serde_json::from_value(claims_of(&token)).unwrap();
    claims.e = db::now_ms() - 1;
    let expired = web::pages::live::sign(&hex::decode(key).unwrap(), &claims);
    let mut s = connect(&app.base, &format!("/live/ws?token={expired}"), None).await;
    let (code, reason) = close_of(&mut s).await;
    assert_eq!(code, 4401);
    assert!(reason.contains("hết hạn"), "{reason}");

    // hs.demo's token in hs.demo2's browser.
    let other = session_cookie(&app, "hs.demo2").await;
    let mut s = connect(&app.base, &ws, Some(&other)).await;
    let (code, reason) = close_of(&mut s).await;
    assert_eq!(code, 4401);
    assert!(reason.contains("tài khoản khác"), "{reason}");

    // The token works for its owner; no token for another class's session.
    let own = session_cookie(&app, "hs.demo").await;
    let mut s = connect(&app.base, &ws, Some(&own)).await;
    assert_eq!(next_json(&mut s).await["t"], "welcome");
    let year = app.db.current_year(st.school.id).await.unwrap().unwrap();
    let other_course = app
        .db
        .school_courses(st.school.id, year.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.class_name != "6A1" && c.teacher_user_id.is_some())
        .unwrap();
    let start = db::now_ms();
    let foreign = app
        .db
        .create_live_sessions(
            &other_course,
            None,
            "Lớp khác",
            &[(start, start + 45 * MIN)],
            other_course.teacher_user_id.unwrap(),
        )
        .await
        .unwrap()[0];
    assert_eq!(
        app.get(&hs, &format!("/live/{foreign}/token"))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.get(&hs, &format!("/live/{foreign}/room"))
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn signalling_runs_end_to_end_and_visits_become_attendance() {
    let app = TestApp::spawn().await;
    let (base, state) = own_app(&app, |_| {}).await;
    let st = toan_6a1(&app.db).await;
    let open = session_in(&app.db, &st, 0, false).await;
    let a = login_at(&base, "hs.demo").await;
    let b = login_at(&base, "hs.demo2").await;
    let me_a = app.db.user_by_username("hs.demo").await.unwrap().id;
    let mut feed = state.live.persisted.subscribe();

    let (_, ws_a) = token_of(&base, &a, open).await;
    let (_, ws_b) = token_of(&base, &b, open).await;
    let mut sa = connect(&base, &ws_a, None).await;
    let welcome = next_json(&mut sa).await;
    assert_eq!(welcome["t"], "welcome");
    assert_eq!(welcome["me"]["id"], me_a.to_string());
    assert_eq!(welcome["me"]["role"], "student");
    persisted(
        &mut feed,
        &Persisted::Joined {
            room: open,
            user: me_a,
        },
    )
    .await;
    let mut sb = connect(&base, &ws_b, None).await;
    assert_eq!(next_json(&mut sb).await["t"], "welcome");

    // Chat goes from one student to the other.
    sa.send(Message::text(
        r#"{"t":"chat","text":"Chào bạn, bài 2 làm thế nào?"}"#,
    ))
    .await
    .unwrap();
    let chat = until_kind(&mut sb, "chat").await;
    assert_eq!(chat["msg"]["text"], "Chào bạn, bài 2 làm thế nào?");
    assert_eq!(chat["msg"]["from"], me_a.to_string());
    // A malformed frame gets an error and the connection stays usable.
    sa.send(Message::text("{not json")).await.unwrap();
    let err = until_kind(&mut sa, "error").await;
    assert_eq!(err["code"], "bad_request");
    sa.send(Message::text(r#"{"t":"ping"}"#)).await.unwrap();
    until_kind(&mut sa, "pong").await;

    // A clean close is a leave: the visit gets its end.
    sa.close(None).await.unwrap();
    persisted(
        &mut feed,
        &Persisted::Left {
            room: open,
            user: me_a,
        },
    )
    .await;
    let s = app.db.live_session(open).await.unwrap();
    let visits: Vec<_> = app
        .db
        .live_visits(&s)
        .await
        .unwrap()
        .into_iter()
        .filter(|v| v.user_id == me_a)
        .collect();
    assert_eq!(visits.len(), 1);
    let left = visits[0].left_at.expect("the visit is closed");
    assert!(left >= visits[0].joined_at);

    // Coming back makes a second visit.
    let (_, ws_a) = token_of(&base, &a, open).await;
    let mut sa = connect(&base, &ws_a, None).await;
    assert_eq!(next_json(&mut sa).await["t"], "welcome");
    persisted(
        &mut feed,
        &Persisted::Joined {
            room: open,
            user: me_a,
        },
    )
    .await;
    sa.close(None).await.unwrap();
    persisted(
        &mut feed,
        &Persisted::Left {
            room: open,
            user: me_a,
        },
    )
    .await;
    let rows = app.db.live_attendance(&st.course, &s).await.unwrap();
    let row_a = rows
        .iter()
        .find(|r| r.student.user_id == Some(me_a))
        .unwrap();
    assert_eq!(row_a.visits.visits, 2);
    assert_eq!(row_a.status, db::live::AttendanceStatus::Present);
    let code_a = row_a.student.code.clone();
    let student_a = row_a.student.student_id;

    // The teacher sees it and corrects another student; the correction is audited.
    let gv = login_at(&base, "gv.toan").await;
    let page = gv
        .get(format!("{base}/live/{open}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("data-student=\"{code_a}\"")));
    let absent = rows
        .iter()
        .find(|r| r.visits.visits == 0 && r.student.user_id.is_some())
        .unwrap();
    let absent_id = absent.student.student_id.to_string();
    let r = gv
        .post(format!("{base}/live/{open}/attendance"))
        .form(&[
            ("student", absent_id.as_str()),
            ("status", "excused"),
            ("reason", "Ốm, có giấy của phụ huynh"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = gv
        .post(format!("{base}/live/{open}/attendance"))
        .form(&[
            ("student", absent_id.as_str()),
            ("status", "excused"),
            ("reason", " "),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Lý do"));
    let audit = app.db.audit_of_school(st.school.id, 50).await.unwrap();
    let entry = audit
        .iter()
        .find(|e| e.action == "live.attendance")
        .expect("audited");
    assert!(entry.detail.contains("\"before\":\"absent\"") && entry.detail.contains("excused"));
    // A student may not correct.
    let r = a
        .post(format!("{base}/live/{open}/attendance"))
        .form(&[
            ("student", student_a.to_string().as_str()),
            ("status", "absent"),
            ("reason", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Excel: one row per student with visits, minutes and status.
    let x = gv
        .get(format!("{base}/live/{open}/attendance.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(x.status(), 200);
    let bytes = x.bytes().await.unwrap();
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = wb.worksheet_range("Điểm danh").unwrap();
    let rows_x: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    let line_a = rows_x
        .iter()
        .find(|r| r[0] == code_a)
        .expect("row of hs.demo");
    assert_eq!(line_a[2], "2");
    assert_eq!(line_a[5], "Có mặt");
    let line_x = rows_x.iter().find(|r| r[0] == absent.student.code).unwrap();
    assert_eq!(line_x[5], "Vắng có phép");
    assert_eq!(line_x[6], "Ốm, có giấy của phụ huynh");
    assert_eq!(
        rows_x
            .iter()
            .filter(|r| r.len() > 1 && !r[0].is_empty())
            .count(),
        rows.len() + 3,
        "two title lines, the header and one row per student"
    );
    assert_eq!(
        a.get(format!("{base}/live/{open}/attendance.xlsx"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    // The teacher locks the room: a classmate arriving now is refused with the reason.
    let (_, ws_t) = token_of(&base, &gv, open).await;
    let mut teacher = connect(&base, &ws_t, None).await;
    assert_eq!(next_json(&mut teacher).await["me"]["role"], "teacher");
    teacher
        .send(Message::text(r#"{"t":"lock","locked":true}"#))
        .await
        .unwrap();
    until_kind(&mut teacher, "locked").await;
    let third = rows
        .iter()
        .find(|r| r.student.user_id.is_some_and(|u| u != me_a) && r.visits.visits == 0)
        .and_then(|r| r.student.user_id)
        .unwrap();
    let hash = web::auth::hash_password(PASSWORD.into()).await.unwrap();
    app.db.set_password(third, &hash, false).await.unwrap();
    let login = app.db.user(third).await.unwrap().username;
    let c = login_at(&base, &login).await;
    let (_, ws_c) = token_of(&base, &c, open).await;
    let mut late = connect(&base, &ws_c, None).await;
    let (code, reason) = close_of(&mut late).await;
    assert_eq!(code, 4403);
    assert!(reason.contains("khoá"), "{reason}");

    // A frame over 64 KB is refused: the server drops the connection.
    let big = format!(r#"{{"t":"chat","text":"{}"}}"#, "a".repeat(70 * 1024));
    let _ = sb.send(Message::text(big)).await;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match sb.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the oversized frame did not end the connection"
    );
}

fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend_from_slice(&[0, 0, 0, 13]);
    b.extend_from_slice(b"IHDR");
    b.extend_from_slice(&[0; 17]);
    b
}

#[tokio::test]
async fn the_whiteboard_is_a_png_from_the_teacher() {
    let app = TestApp::spawn().await;
    let st = toan_6a1(&app.db).await;
    let open = session_in(&app.db, &st, 0, false).await;
    let gv = app.login("gv.toan").await;
    let url = app.url(&format!("/live/{open}/whiteboard"));
    let post = |c: &reqwest::Client, body: Vec<u8>| {
        c.post(&url)
            .header("content-type", "image/png")
            .body(body)
            .send()
    };
    let r = post(&gv, b"GIF89a not a png".to_vec()).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("PNG"));
    let mut big = png();
    big.resize(5 * 1024 * 1024 + 10, 0);
    assert_eq!(post(&gv, big).await.unwrap().status(), 413);
    let hs = app.login("hs.demo").await;
    assert_eq!(post(&hs, png()).await.unwrap().status(), 403);
    assert!(
        app.db
            .live_session(open)
            .await
            .unwrap()
            .whiteboard_key
            .is_none()
    );

    assert_eq!(post(&gv, png()).await.unwrap().status(), 204);
    let page = app
        .get(&hs, &format!("/live/{open}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-whiteboard"));
    let img = app.get(&hs, &format!("/live/{open}/whiteboard.png")).await;
    assert_eq!(img.status(), 200);
    assert_eq!(img.headers()["content-type"], "image/png");
    assert_eq!(img.bytes().await.unwrap().to_vec(), png());
}

#[tokio::test]
async fn a_finished_recording_becomes_a_lesson_video_of_the_course() {
    let app = TestApp::spawn().await;
    let (base, state) = own_app(&app, |c| {
        c.live_muxer = Some(web::pages::live::SharedMuxer(std::sync::Arc::new(
            web::pages::live::FakeMuxer,
        )));
        c.transcoder = Some(web::pages::video::SharedTranscoder(std::sync::Arc::new(
            media::video::FakeTranscoder::new(media::video::VideoInfo {
                duration_s: 60.0,
                width: 1280,
                height: 720,
                fps: 30.0,
                has_audio: true,
                codec: "h264".into(),
            }),
        )));
    })
    .await;
    let st = toan_6a1(&app.db).await;
    let open = session_in(&app.db, &st, 0, true).await;
    let dir = tempfile::tempdir().unwrap();
    let (video, audio) = (dir.path().join("cam.ivf"), dir.path().join("mic.ogg"));
    std::fs::write(&video, b"DKIF").unwrap();
    std::fs::write(&audio, b"OggS").unwrap();
    let now = std::time::SystemTime::now();
    let done = web::pages::live::handle_event(
        &state,
        live::LiveEvent::RecordingFinished {
            room: open,
            by: st.gv,
            video: Some(video.clone()),
            audio: Some(audio.clone()),
            started_at: now - Duration::from_secs(60),
            ended_at: now,
        },
    )
    .await
    .unwrap();
    assert_eq!(done, Some(Persisted::Recording { room: open }));
    let s = app.db.live_session(open).await.unwrap();
    let recs = app.db.live_recordings(&s).await.unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].status, "ready", "{:?}", recs[0].error);
    let mid = recs[0].material_id.unwrap();
    let m = app.db.material(st.school.id, mid).await.unwrap();
    assert_eq!(m.kind, domain::learning::MaterialKind::Video);
    assert_eq!(
        m.title,
        format!(
            "Bản ghi buổi học Luyện tập {}",
            web::pages::live::format_day(s.starts_at)
        )
    );
    assert!(app.db.material_in_course(&st.course, mid).await.unwrap());
    assert!(!video.exists() && !audio.exists(), "sources are removed");

    // The teacher downloads the MP4; students may not.
    let gv = login_at(&base, "gv.toan").await;
    let page = gv
        .get(format!("{base}/live/{open}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-download") && page.contains("data-watch"));
    let url = format!("{base}/live/{open}/recordings/{}/download", recs[0].id);
    let mp4 = gv.get(&url).send().await.unwrap();
    assert_eq!(mp4.status(), 200);
    assert_eq!(&mp4.bytes().await.unwrap()[4..8], b"ftyp");
    let hs = login_at(&base, "hs.demo").await;
    assert_eq!(hs.get(&url).send().await.unwrap().status(), 403);

    // Nothing recorded: a failed recording says why, no material.
    let empty = web::pages::live::handle_event(
        &state,
        live::LiveEvent::RecordingFinished {
            room: open,
            by: st.gv,
            video: None,
            audio: None,
            started_at: now,
            ended_at: now,
        },
    )
    .await
    .unwrap();
    assert_eq!(empty, Some(Persisted::Recording { room: open }));
    let recs = app.db.live_recordings(&s).await.unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].status, "failed");
    assert!(recs[1].material_id.is_none());
    assert!(recs[1].error.as_deref().unwrap().contains("trống"));

    // A closed poll is kept and shown with its results.
    let poll = web::pages::live::handle_event(
        &state,
        live::LiveEvent::PollClosed {
            room: open,
            question: "Em hiểu bài chưa?".into(),
            results: vec![("Rồi".into(), 12), ("Chưa".into(), 3)],
        },
    )
    .await
    .unwrap();
    assert_eq!(poll, Some(Persisted::Poll { room: open }));
    let page = hs
        .get(format!("{base}/live/{open}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Em hiểu bài chưa?") && page.contains("<strong>12</strong>"));
}

#[tokio::test]
async fn students_and_parents_see_what_comes_and_what_was_attended() {
    let app = TestApp::spawn().await;
    let st = toan_6a1(&app.db).await;
    let hs_user = app.db.user_by_username("hs.demo").await.unwrap().id;
    let child = app.db.student_by_user(hs_user).await.unwrap().unwrap();
    // A past session hs.demo attended, and one they missed.
    let start = db::now_ms() - 3 * 60 * MIN;
    let past = app
        .db
        .create_live_sessions(
            &st.course,
            None,
            "Buổi đã học",
            &[
                (start, start + 45 * MIN),
                (start + 10, start + 10 + 45 * MIN),
            ],
            st.gv,
        )
        .await
        .unwrap();
    app.db
        .live_joined(past[0], hs_user, start + 60_000)
        .await
        .unwrap();
    app.db
        .live_left(past[0], hs_user, start + 40 * MIN)
        .await
        .unwrap();

    // The demo's session in ten minutes is open already: the home page offers to enter.
    let hs = app.login("hs.demo").await;
    let home = app.get(&hs, "/").await.text().await.unwrap();
    assert!(home.contains("data-live-child"), "{home}");
    assert!(home.contains("Ôn tập: cách ghi số tự nhiên") && home.contains("data-enter"));
    let course = app
        .get(&hs, &format!("/courses/{}", st.course.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(course.contains(&format!("/courses/{}/live", st.course.id)));

    let parent = app.login("0912000001").await;
    let page = app
        .get(
            &parent,
            &format!("/schools/{}/students/{}", child.school_id, child.id),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-live-tally"));
    assert!(page.contains("1 đã tham gia · 1 vắng / 2"), "{page}");

    // The course progress shows the share of sessions attended.
    let gv = app.login("gv.toan").await;
    let progress = app
        .get(&gv, &format!("/courses/{}/progress", st.course.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(progress.contains("1/2 (50 %)"), "{progress}");
}

#[tokio::test]
async fn rooms_go_to_the_least_loaded_media_node_and_never_span_nodes() {
    // No node of this test reports by itself: the test writes the loads.
    let app = TestApp::spawn_with(|c| c.live_heartbeat = None).await;
    // A web node and a media node on loopback over one database; the test reports their
    // loads itself (no heartbeat task), so placement does not depend on timing.
    let (web_base, web) = own_app(&app, |c| {
        c.role = web::NodeRole::Web;
        c.live_heartbeat = None;
        c.live_node_id = "web-1".into();
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let media_addr = listener.local_addr().unwrap();
    let media_ws = format!("ws://{media_addr}");
    let built = web::App::build(
        app.db.clone(),
        web::WebConfig {
            run_worker: false,
            role: web::NodeRole::Media,
            live_heartbeat: None,
            live_node_id: "media-1".into(),
            live_ws_base: media_ws.clone(),
            ..Default::default()
        },
    )
    .unwrap();
    let media = built.state.clone();
    tokio::spawn(built.serve(listener, std::future::pending()));
    // The media node serves no pages.
    let media_http = format!("http://{media_addr}");
    let r = reqwest::get(format!("{media_http}/login")).await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        reqwest::get(format!("{media_http}/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );

    app.db
        .live_node_heartbeat("media-1", &media_ws, 3)
        .await
        .unwrap();
    app.db
        .live_node_heartbeat("media-2", "ws://127.0.0.1:9", 7)
        .await
        .unwrap();
    let st = toan_6a1(&app.db).await;
    let open = session_in(&app.db, &st, 0, false).await;
    let hs = login_at(&web_base, "hs.demo").await;
    let r = hs
        .get(format!("{web_base}/live/{open}/token"))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    let ws = v["ws"].as_str().unwrap().to_owned();
    assert!(
        ws.starts_with(&format!("{media_ws}/live/ws?token=")),
        "{ws}"
    );
    assert_eq!(
        app.db.live_session(open).await.unwrap().node_id.as_deref(),
        Some("media-1")
    );

    // The media node accepts the web node's token (the key is shared through the database).
    let (mut s, _) = tokio_tungstenite::connect_async(ws.as_str()).await.unwrap();
    assert_eq!(next_json(&mut s).await["t"], "welcome");
    assert_eq!(media.live.live.rooms(), 1);
    assert_eq!(web.live.live.rooms(), 0);

    // media-1 is now the busiest, yet the open room stays on it; a new room goes elsewhere.
    app.db
        .live_node_heartbeat("media-1", &media_ws, 50)
        .await
        .unwrap();
    let b = login_at(&web_base, "hs.demo2").await;
    let v: serde_json::Value = b
        .get(format!("{web_base}/live/{open}/token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["ws"].as_str().unwrap().starts_with(&media_ws));
    let other = session_in(&app.db, &st, 0, false).await;
    let v: serde_json::Value = hs
        .get(format!("{web_base}/live/{other}/token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        v["ws"]
            .as_str()
            .unwrap()
            .starts_with("ws://127.0.0.1:9/live/ws?token="),
        "{v}"
    );
    assert_eq!(
        app.db.live_session(other).await.unwrap().node_id.as_deref(),
        Some("media-2")
    );

    // The teacher ends the session through the web node: the media node, which holds the room,
    // learns it from the database and disconnects the people inside.
    let ended = app.db.live_session(open).await.unwrap();
    app.db.end_live_session(&ended, st.gv).await.unwrap();
    let (code, reason) = close_of(&mut s).await;
    assert_eq!(code, 1000, "{reason}");
    assert!(reason.contains("kết thúc"), "{reason}");
    let gone = async {
        while media.live.live.rooms() != 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), gone)
        .await
        .expect("the room closes on the media node");
}

fn program(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// A class recorded through the media server with real VP8 and Opus (made by ffmpeg), muxed
/// by the same ffmpeg pipeline that turns recordings into lesson videos, then checked with
/// ffprobe: one H.264 video stream, one AAC audio stream, about as long as the recording.
#[tokio::test]
async fn a_recording_of_real_media_muxes_into_a_video_with_picture_and_sound() {
    use web::live::proto::{ClientMsg, ServerMsg};
    use web::live::testclient::{SynthClient, SynthEvent, SynthMedia, SynthOptions};
    use web::pages::live::Muxer;
    let (Some(ffmpeg), Some(ffprobe)) = (program("ffmpeg"), program("ffprobe")) else {
        eprintln!("skipped: ffmpeg or ffprobe is not installed (scripts/test.sh installs ffmpeg)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (ivf, ogg) = (dir.path().join("src.ivf"), dir.path().join("src.ogg"));
    let make = |args: &[&str]| {
        let out = std::process::Command::new(&ffmpeg)
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ivf_s = ivf.to_str().unwrap();
    let ogg_s = ogg.to_str().unwrap();
    make(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=30",
        "-t",
        "3",
        "-c:v",
        "libvpx",
        "-b:v",
        "300k",
        "-g",
        "15",
        "-auto-alt-ref",
        "0",
        ivf_s,
    ]);
    make(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        "3",
        "-c:a",
        "libopus",
        "-b:a",
        "32k",
        "-frame_duration",
        "20",
        ogg_s,
    ]);
    let media = std::sync::Arc::new(SynthMedia::from_files(&ivf, &ogg).unwrap());
    let cfg = web::live::LiveConfig {
        recordings_dir: dir.path().join("rec"),
        ..Default::default()
    };
    let (live, mut events) = web::live::Live::start(cfg).unwrap();
    let room = web::live::RoomSpec {
        room_id: uuid::Uuid::now_v7(),
        school_id: uuid::Uuid::now_v7(),
        title: "Ghi hình".into(),
    };
    let teacher = web::live::Participant {
        user_id: uuid::Uuid::now_v7(),
        name: "Cô Mai".into(),
        role: web::live::Role::Teacher,
    };
    let guard = Duration::from_secs(20);
    let mut t = SynthClient::join_with_media(
        &live,
        room,
        teacher.clone(),
        SynthOptions::teacher(),
        Some(media),
    )
    .await
    .unwrap();
    let connected = t.until(|e| matches!(e, SynthEvent::Connected).then_some(()));
    tokio::time::timeout(guard, connected)
        .await
        .unwrap()
        .unwrap();
    t.send(ClientMsg::Record { on: true }).await;
    let on = t.until(|e| {
        matches!(e, SynthEvent::Server(m) if matches!(**m, ServerMsg::Recording { on: true }))
            .then_some(())
    });
    tokio::time::timeout(guard, on).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    t.send(ClientMsg::Record { on: false }).await;
    let (video, audio) = loop {
        let e = tokio::time::timeout(guard, events.recv())
            .await
            .unwrap()
            .unwrap();
        if let web::live::LiveEvent::RecordingFinished { video, audio, .. } = e {
            break (video.expect("a video file"), audio.expect("an audio file"));
        }
    };
    let out = dir.path().join("lesson.mp4");
    web::pages::live::FfmpegMuxer::from_path()
        .mux(Some(&video), Some(&audio), &out)
        .await
        .unwrap();
    let probe = std::process::Command::new(&ffprobe)
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,codec_name:format=duration",
        ])
        .args(["-of", "json"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    let streams: Vec<(String, String)> = j["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap_or("").to_owned(),
                s["codec_name"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(streams.contains(&("video".into(), "h264".into())), "{j}");
    assert!(streams.contains(&("audio".into(), "aac".into())), "{j}");
    let duration: f64 = j["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!(
        (2.0..=5.0).contains(&duration),
        "duration {duration} s: {j}"
    );
}

/// A small PDF of `pages` pages (A4 landscape, one big number on each), with a correct xref.
fn slides_pdf(pages: usize) -> Vec<u8> {
    let mut objs: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            (0..pages)
                .map(|i| format!("{} 0 R", 4 + 2 * i))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(),
    ];
    for i in 0..pages {
        objs.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 842 595] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + 2 * i
        ));
        let text = format!("BT /F1 120 Tf 300 250 Td (Trang {}) Tj ET", i + 1);
        objs.push(format!(
            "<< /Length {} >>\nstream\n{text}\nendstream",
            text.len()
        ));
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Width of a PNG from its IHDR.
fn png_width(b: &[u8]) -> u32 {
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
    u32::from_be_bytes(b[16..20].try_into().unwrap())
}

#[tokio::test]
async fn slides_are_a_pdf_of_the_teacher_rendered_to_pages_for_the_room() {
    if web::pages::live::slides::pdftoppm().is_none() {
        eprintln!("skipped: pdftoppm is not installed (scripts/test.sh installs poppler-utils)");
        return;
    }
    let app = TestApp::spawn().await;
    let st = toan_6a1(&app.db).await;
    let open = session_in(&app.db, &st, 0, false).await;
    let gv = app.login("gv.toan").await;
    let hs = app.login("hs.demo").await;
    let url = app.url(&format!("/live/{open}/slides"));
    let post = |c: &reqwest::Client, body: Vec<u8>| {
        c.post(&url)
            .header("content-type", "application/pdf")
            .body(body)
            .send()
    };
    // Not a PDF, too big, not the teacher: refused, nothing stored.
    let r = post(&gv, png()).await.unwrap();
    assert_eq!(r.status(), 400);
    let j: serde_json::Value = r.json().await.unwrap();
    assert!(j["message"].as_str().unwrap().contains("PDF"), "{j}");
    let mut big = slides_pdf(1);
    big.resize(web::pages::live::slides::MAX_SLIDES_BYTES + 10, b' ');
    assert_eq!(post(&gv, big).await.unwrap().status(), 413);
    assert_eq!(post(&hs, slides_pdf(2)).await.unwrap().status(), 403);
    let broken = b"%PDF-1.4\nnothing here\n%%EOF\n".to_vec();
    let r = post(&gv, broken).await.unwrap();
    assert_eq!(r.status(), 400);
    let j: serde_json::Value = r.json().await.unwrap();
    assert!(j["message"].as_str().unwrap().contains("trang"), "{j}");

    let r = post(&gv, slides_pdf(3)).await.unwrap();
    assert_eq!(r.status(), 200);
    let j: serde_json::Value = r.json().await.unwrap();
    assert_eq!(j["pages"], 3, "{j}");
    let deck = j["deck"].as_str().unwrap().to_owned();
    // The room page knows where slides live.
    let page = app
        .get(&gv, &format!("/live/{open}/room"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("data-slides-url=\"/live/{open}/slides\"")));
    // A student of the class sees the pages, in two sizes.
    let img = app.get(&hs, &format!("/live/{open}/slides/{deck}/2")).await;
    assert_eq!(img.status(), 200);
    assert_eq!(img.headers()["content-type"], "image/png");
    let full = img.bytes().await.unwrap();
    assert_eq!(png_width(&full), web::pages::live::slides::SLIDE_WIDTH);
    let small = app
        .get(&hs, &format!("/live/{open}/slides/{deck}/2?s=1"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        png_width(&small),
        web::pages::live::slides::SLIDE_WIDTH_SMALL
    );
    assert!(small.len() < full.len());
    for missing in ["4", "0", "x"] {
        let r = app
            .get(&hs, &format!("/live/{open}/slides/{deck}/{missing}"))
            .await;
        assert_eq!(r.status(), 404, "page {missing}");
    }
    let other = domain::new_id();
    assert_eq!(
        app.get(&hs, &format!("/live/{open}/slides/{other}/1"))
            .await
            .status(),
        404
    );
    // Someone outside the class does not.
    let out = app.login(&outsider(&app).await).await;
    assert_eq!(
        app.get(&out, &format!("/live/{open}/slides/{deck}/1"))
            .await
            .status(),
        403
    );
    // The upload is in the audit trail.
    let audit = app.db.audit_of_school(st.school.id, 20).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "live.slides" && a.detail.starts_with("3 trang"))
    );
}
