//! Delivery of notifications outside the app: email to the outbox, Zalo to a local stand-in
//! that follows the ZNS contract, retries, permanent refusals, quiet hours.

use crate::harness::TestApp;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// A stand-in for the Zalo ZNS endpoint: checks the token, records requests, fails the first
/// request for `flaky` with HTTP 500, and refuses `invalid` with ZNS error -108.
#[derive(Clone, Default)]
struct Zalo {
    seen: Arc<Mutex<Vec<Value>>>,
    flaky_failed: Arc<Mutex<bool>>,
}

async fn zalo_stand_in(flaky: &'static str, invalid: &'static str) -> (String, Zalo) {
    let z = Zalo::default();
    let state = z.clone();
    let app = Router::new().route(
        "/message/template",
        post(move |headers: axum::http::HeaderMap, Json(body): Json<Value>| {
            let z = state.clone();
            async move {
                if headers.get("access_token").and_then(|v| v.to_str().ok()) != Some("test-token") {
                    return (axum::http::StatusCode::OK, Json(json!({"error": -124, "message": "Access token invalid"})));
                }
                let phone = body["phone"].as_str().unwrap_or("").to_owned();
                if phone == flaky {
                    let mut failed = z.flaky_failed.lock().unwrap();
                    if !*failed {
                        *failed = true;
                        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, Json(json!({})));
                    }
                }
                z.seen.lock().unwrap().push(body.clone());
                if phone == invalid {
                    return (axum::http::StatusCode::OK, Json(json!({"error": -108, "message": "Phone number is invalid"})));
                }
                (
                    axum::http::StatusCode::OK,
                    Json(json!({"error": 0, "message": "Success", "data": {"msg_id": format!("m-{phone}"), "sent_time": "1700000000000"}})),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/message/template"), z)
}

async fn announce(app: &TestApp) -> uuid::Uuid {
    let s = app.db.school_by_code("37THCSGV").await.unwrap();
    let year = app.db.current_year(s.id).await.unwrap().unwrap();
    let class = app
        .db
        .classes(s.id, year.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "6A1")
        .unwrap();
    let teacher = app.login("gv.toan").await;
    let r = teacher
        .post(app.url(&format!(
            "/schools/{}/classes/{}/announcements",
            s.id, class.id
        )))
        .form(&[
            ("title", "Nghỉ học ngày 20/11"),
            ("body", "Học sinh được nghỉ học ngày Nhà giáo Việt Nam."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    app.db
        .class_announcements(s.id, class.id)
        .await
        .unwrap()
        .remove(0)
        .id
}

async fn notification_of(app: &TestApp, login: &str, link: &str) -> uuid::Uuid {
    let user = app.db.user_by_login(login).await.unwrap().unwrap();
    app.db
        .notifications(user.id, 50)
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.link == link)
        .unwrap()
        .id
}

#[tokio::test]
async fn notifications_go_out_by_email_and_zalo_with_retries() {
    let (endpoint, zalo) = zalo_stand_in("84912000001", "84912000060").await;
    let app = TestApp::spawn_with(|c| {
        c.zalo = Some(web::notify::ZaloConfig {
            endpoint,
            access_token: "test-token".into(),
            template_id: "275123".into(),
        });
        c.retry_base_ms = 0;
    })
    .await;
    // Parents set their channels; quiet hours off so the test does not depend on the clock.
    for (login, email) in [("0912000001", "phu.huynh@example.vn"), ("0912000060", "")] {
        let user = app.db.user_by_login(login).await.unwrap().unwrap();
        app.db
            .set_password(
                user.id,
                &app.db
                    .user_by_login("0912000001")
                    .await
                    .unwrap()
                    .unwrap()
                    .password_hash
                    .unwrap(),
                false,
            )
            .await
            .unwrap();
        let c = app.login(login).await;
        let r = c
            .post(app.url("/account/notifications"))
            .form(&[
                ("email", email),
                ("by_email", "1"),
                ("by_zalo", "1"),
                ("quiet_start", "0"),
                ("quiet_end", "0"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
    }
    let id = announce(&app).await;
    let link = format!("/announcements/{id}");
    let mine = notification_of(&app, "0912000001", &link).await;

    // First pass: email goes to the outbox; Zalo fails once for this parent (HTTP 500).
    let n = app.worker.run_once().await.unwrap();
    assert!(n >= 18, "{n} jobs");
    let d = app.db.deliveries(mine).await.unwrap();
    assert!(
        d.iter().any(|(c, s, _, _)| c == "email" && s == "sent"),
        "{d:?}"
    );
    assert!(
        d.iter().any(|(c, s, _, _)| c == "zalo" && s == "failed"),
        "{d:?}"
    );
    // Second pass: only Zalo is tried again, and it goes through.
    app.worker.run_once().await.unwrap();
    let d = app.db.deliveries(mine).await.unwrap();
    assert_eq!(
        d.iter().filter(|(c, _, _, _)| c == "email").count(),
        1,
        "email is not sent twice: {d:?}"
    );
    assert!(
        d.iter()
            .any(|(c, s, detail, _)| c == "zalo" && s == "sent" && detail == "m-84912000001"),
        "{d:?}"
    );
    let emails: Vec<_> = std::fs::read_dir(&app.outbox).unwrap().collect();
    assert_eq!(
        emails.len(),
        1,
        "only the parent with an email address gets one"
    );

    // The stand-in saw the ZNS contract: international phone, template, link back to lophoc.
    let seen = zalo.seen.lock().unwrap().clone();
    let req = seen.iter().find(|v| v["phone"] == "84912000001").unwrap();
    assert_eq!(req["template_id"], "275123");
    assert!(
        req["template_data"]["link"]
            .as_str()
            .unwrap()
            .contains("/inbox/")
    );
    assert_eq!(req["tracking_id"], mine.to_string());

    // A refused number is recorded and not retried.
    let refused = notification_of(&app, "0912000060", &link).await;
    let d = app.db.deliveries(refused).await.unwrap();
    assert!(
        d.iter()
            .any(|(c, s, detail, _)| c == "zalo" && s == "refused" && detail.contains("-108")),
        "{d:?}"
    );
    app.worker.run_once().await.unwrap();
    assert_eq!(
        app.db.deliveries(refused).await.unwrap().len(),
        1,
        "not retried"
    );
    assert_eq!(app.db.job_counts().await.unwrap().failed, 0);
    // The teacher sees how many went out.
    let teacher = app.login("gv.toan").await;
    let page = app.get(&teacher, &link).await.text().await.unwrap();
    assert!(page.contains("zalo:"), "{page}");
}

#[tokio::test]
async fn quiet_hours_hold_deliveries_and_reading_first_skips_them() {
    let app = TestApp::spawn().await;
    let parent = app.login("0912000001").await;
    // A three-hour quiet window around the current hour in Vietnam.
    let hour = ((db::now_ms() / 1000 + 7 * 3600).rem_euclid(86_400) / 3600) as u8;
    let (start, end) = ((hour + 23) % 24, (hour + 2) % 24);
    parent
        .post(app.url("/account/notifications"))
        .form(&[
            ("email", "phu.huynh@example.vn".to_owned()),
            ("by_email", "1".into()),
            ("quiet_start", start.to_string()),
            ("quiet_end", end.to_string()),
        ])
        .send()
        .await
        .unwrap();
    let id = announce(&app).await;
    let mine = notification_of(&app, "0912000001", &format!("/announcements/{id}")).await;
    app.worker.run_once().await.unwrap();
    assert!(
        app.db.deliveries(mine).await.unwrap().is_empty(),
        "held back during quiet hours"
    );
    assert!(app.db.job_counts().await.unwrap().queued >= 1);
    assert_eq!(
        std::fs::read_dir(&app.outbox)
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );

    // Without quiet hours, a notification already read in the app is not sent again.
    parent
        .post(app.url("/account/notifications"))
        .form(&[
            ("email", "phu.huynh@example.vn"),
            ("by_email", "1"),
            ("quiet_start", "0"),
            ("quiet_end", "0"),
        ])
        .send()
        .await
        .unwrap();
    let id = announce(&app).await;
    let second = notification_of(&app, "0912000001", &format!("/announcements/{id}")).await;
    assert_eq!(
        app.get(&parent, &format!("/inbox/{second}")).await.status(),
        303
    );
    app.worker.run_once().await.unwrap();
    let d = app.db.deliveries(second).await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].0.as_str(), d[0].1.as_str()), ("app", "read"));
    // A bad email address is refused with a message, and nothing changes.
    let r = parent
        .post(app.url("/account/notifications"))
        .form(&[
            ("email", "khong phai email"),
            ("quiet_start", "0"),
            ("quiet_end", "0"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn web_push_reaches_subscribed_devices_encrypted_and_signed() {
    use base64::Engine;
    use rand::RngCore;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    // A push service stand-in: keeps what it receives; "/gone" answers 410 like a dead device.
    /// (Authorization, Content-Encoding, body) of each push received.
    type Received = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;
    let got: Received = Arc::default();
    let keep = got.clone();
    let service = Router::new()
        .route(
            "/push/{device}",
            post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let keep = keep.clone();
                    async move {
                        let auth = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned();
                        let enc = headers
                            .get("content-encoding")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned();
                        keep.lock().unwrap().push((auth, enc, body.to_vec()));
                        axum::http::StatusCode::CREATED
                    }
                },
            ),
        )
        .route("/gone", post(|| async { axum::http::StatusCode::GONE }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });

    let app = TestApp::spawn_with(|c| c.push_allow_insecure = true).await;
    let parent = app.login("0912000001").await;
    parent
        .post(app.url("/account/notifications"))
        .form(&[("quiet_start", "0"), ("quiet_end", "0")])
        .send()
        .await
        .unwrap();
    let key: Value = app.get(&parent, "/push/key").await.json().await.unwrap();
    let server_key = b64.decode(key["key"].as_str().unwrap()).unwrap();
    assert_eq!(
        (server_key.len(), server_key[0]),
        (65, 4),
        "an uncompressed P-256 point"
    );

    // The browser's side of a subscription.
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let ua_secret = web_push_native::p256::SecretKey::from_slice(&secret).unwrap();
    let ua_public = {
        use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;
        ua_secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    };
    let mut auth = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut auth);
    for endpoint in [
        format!("http://{addr}/push/phone-1"),
        format!("http://{addr}/gone"),
    ] {
        let r = parent
            .post(app.url("/push/subscribe"))
            .json(&json!({"endpoint": endpoint, "keys": {"p256dh": b64.encode(&ua_public), "auth": b64.encode(auth)}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let r = parent
        .post(app.url("/push/subscribe"))
        .json(&json!({"endpoint": "ftp://x", "keys": {"p256dh": "a", "auth": "b"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let id = announce(&app).await;
    let mine = notification_of(&app, "0912000001", &format!("/announcements/{id}")).await;
    app.worker.run_once().await.unwrap();

    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one device received it");
    let (authorization, encoding, body) = &got[0];
    assert!(authorization.starts_with("vapid t="), "{authorization}");
    assert_eq!(encoding, "aes128gcm");
    let plain = web_push_native::decrypt(
        body.clone(),
        &ua_secret,
        web_push_native::Auth::from_slice(&auth),
    )
    .unwrap();
    let payload: Value = serde_json::from_slice(&plain).unwrap();
    assert!(
        payload["title"].as_str().unwrap().contains("Nghỉ học"),
        "{payload}"
    );
    assert!(
        payload["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/inbox/{mine}"))
    );

    // The dead device was forgotten; its delivery is recorded as refused.
    let d = app.db.deliveries(mine).await.unwrap();
    assert!(
        d.iter().any(|(c, s, _, _)| c == "push" && s == "sent"),
        "{d:?}"
    );
    assert!(
        d.iter()
            .any(|(c, s, detail, _)| c == "push" && s == "refused" && detail.contains("410")),
        "{d:?}"
    );
    let user = app.db.user_by_login("0912000001").await.unwrap().unwrap();
    assert_eq!(app.db.push_subscriptions(user.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_weekly_digest_sums_up_each_childs_week() {
    let app = TestApp::spawn().await;
    let since = db::now_ms() - 1000;
    announce(&app).await;
    let parent = app.db.user_by_login("0912000001").await.unwrap().unwrap();
    let sent = app.worker.send_digest(since).await.unwrap();
    assert!(sent >= 18, "every parent of 6A1 gets one: {sent}");
    let digest = app
        .db
        .notifications(parent.id, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.kind == "digest")
        .unwrap();
    let hs = app.db.user_by_username("hs.demo").await.unwrap();
    let child = app.db.student_by_user(hs.id).await.unwrap().unwrap();
    assert!(
        digest.body.contains(&child.full_name) && digest.body.contains("1 thông báo mới"),
        "{}",
        digest.body
    );
    // A parent who turns it off gets none; a quiet week sends nothing.
    let c = app.login("0912000001").await;
    c.post(app.url("/account/notifications"))
        .form(&[("quiet_start", "21"), ("quiet_end", "6")])
        .send()
        .await
        .unwrap();
    assert!(!app.db.wants_digest(parent.id).await.unwrap());
    app.worker.send_digest(since).await.unwrap();
    let digests = app
        .db
        .notifications(parent.id, 20)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.kind == "digest")
        .count();
    assert_eq!(digests, 1);
    assert_eq!(app.worker.send_digest(db::now_ms()).await.unwrap(), 0);
    // Scheduling twice queues one job.
    let before = app.db.job_counts().await.unwrap().queued;
    app.worker.schedule_digest(db::now_ms()).await.unwrap();
    app.worker.schedule_digest(db::now_ms()).await.unwrap();
    assert_eq!(app.db.job_counts().await.unwrap().queued, before + 1);
}

#[tokio::test]
async fn a_school_sends_zalo_from_its_own_official_account() {
    let (endpoint, zalo) = zalo_stand_in("none", "none").await;
    let app = TestApp::spawn_with(|c| {
        c.zalo = Some(web::notify::ZaloConfig {
            endpoint,
            access_token: String::new(),
            template_id: String::new(),
        });
    })
    .await;
    let thcs = app.db.school_by_code("37THCSGV").await.unwrap();
    let principal = app.login("ht.thcs").await;
    let settings = app.url(&format!("/schools/{}/settings", thcs.id));
    let r = principal
        .post(&settings)
        .form(&[
            ("action", "save"),
            ("zalo_token", "test-token"),
            ("zalo_template", "abc"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "the template id is a number");
    let r = principal
        .post(&settings)
        .form(&[
            ("action", "save"),
            ("zalo_token", "test-token"),
            ("zalo_template", "275123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = app
        .get(&principal, &format!("/schools/{}/settings", thcs.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-zalo-on") && !page.contains("test-token"),
        "the token is never shown again"
    );
    let teacher = app.login("gv.toan").await;
    assert_eq!(
        app.get(&teacher, &format!("/schools/{}/settings", thcs.id))
            .await
            .status(),
        403
    );

    let parent = app.login("0912000001").await;
    parent
        .post(app.url("/account/notifications"))
        .form(&[("by_zalo", "1"), ("quiet_start", "0"), ("quiet_end", "0")])
        .send()
        .await
        .unwrap();
    // The THCS has its own account; the primary school of the parent's other child has none.
    let id = announce(&app).await;
    let from_thcs = notification_of(&app, "0912000001", &format!("/announcements/{id}")).await;
    let primary = app.db.school_by_code("37THGV01").await.unwrap();
    let year = app.db.current_year(primary.id).await.unwrap().unwrap();
    let class_1a = app
        .db
        .classes(primary.id, year.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "1A")
        .unwrap();
    let homeroom = app
        .db
        .staff_member(primary.id, class_1a.homeroom_staff_id.unwrap())
        .await
        .unwrap();
    let t = app.login(&homeroom.username).await;
    t.post(app.url(&format!(
        "/schools/{}/classes/{}/announcements",
        primary.id, class_1a.id
    )))
    .form(&[
        ("title", "Lịch tiêm chủng"),
        ("body", "Thứ Năm tiêm chủng tại trường."),
    ])
    .send()
    .await
    .unwrap();
    let a = app
        .db
        .class_announcements(primary.id, class_1a.id)
        .await
        .unwrap()
        .remove(0);
    let from_primary =
        notification_of(&app, "0912000001", &format!("/announcements/{}", a.id)).await;
    app.worker.run_once().await.unwrap();
    assert!(
        app.db
            .deliveries(from_thcs)
            .await
            .unwrap()
            .iter()
            .any(|(c, s, _, _)| c == "zalo" && s == "sent")
    );
    assert!(
        app.db
            .deliveries(from_primary)
            .await
            .unwrap()
            .iter()
            .all(|(c, _, _, _)| c != "zalo")
    );
    assert!(
        zalo.seen
            .lock()
            .unwrap()
            .iter()
            .all(|v| v["template_id"] == "275123")
    );
}
