//! Logging in and out, throttling, first-login password change, resets.

use crate::harness::{PASSWORD, TestApp, location};

#[tokio::test]
async fn every_demo_role_reaches_its_dashboard() {
    let app = TestApp::spawn().await;
    for (login, role) in [
        ("admin", "system_admin"),
        ("so.chuyenvien", "province_officer"),
        ("xa.canbo", "commune_officer"),
        ("ht.thcs", "principal"),
        ("qt.thcs", "school_admin"),
        ("tt.toan", "group_head"),
        ("gv.toan", "teacher"),
        ("hs.demo", "student"),
        ("0912000001", "parent"),
        ("+84 912 000 001", "parent"),
    ] {
        let c = app.login(login).await;
        let page = app.get(&c, "/").await.text().await.unwrap();
        assert!(
            page.contains(&format!("data-page=\"dashboard-{role}\"")),
            "{login} did not reach the {role} dashboard"
        );
    }
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_the_account_locks() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        let (_, r) = app.login_as("gv.toan", "sai-mat-khau").await;
        assert_eq!(r.status(), 401);
        assert!(r.text().await.unwrap().contains("không đúng"));
    }
    let (_, r) = app.login_as("gv.toan", PASSWORD).await;
    assert_eq!(
        r.status(),
        429,
        "the right password is refused while locked"
    );
    assert!(r.text().await.unwrap().contains("tạm khoá"));
    // Other accounts behind the same address are unaffected (a class shares one NAT address).
    app.login("tt.toan").await;
    // Unknown logins get the same answer as wrong passwords.
    let (_, r) = app.login_as("khong.ton.tai", PASSWORD).await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn anonymous_and_expired_sessions_go_to_login() {
    let app = TestApp::spawn().await;
    let anon = app.client();
    let r = app.get(&anon, "/").await;
    assert_eq!(location(&r), "/login");
    let id = app.school_id("37THCSGV").await;
    let r = app.get(&anon, &format!("/schools/{id}")).await;
    assert_eq!(location(&r), "/login");
    let forged = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = forged
        .get(app.url("/"))
        .header("Cookie", "lophoc_sid=forged-token")
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/login");
}

#[tokio::test]
async fn new_staff_must_change_the_temporary_password_first() {
    let app = TestApp::spawn().await;
    let principal = app.login("ht.thcs").await;
    let id = app.school_id("37THCSGV").await;
    let page = principal
        .post(app.url(&format!("/schools/{id}/staff")))
        .form(&[
            ("full_name", "Hoàng Thị Lụa"),
            ("username", "gv.lua"),
            ("role", "teacher"),
            ("phone", "0987654321"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let temp = page
        .split("Mật khẩu tạm thời: <code>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("temporary password shown")
        .to_owned();

    let (c, r) = app.login_as("gv.lua", &temp).await;
    assert_eq!(location(&r), "/account/password");
    assert_eq!(location(&app.get(&c, "/").await), "/account/password");
    assert_eq!(
        location(&app.get(&c, &format!("/schools/{id}")).await),
        "/account/password"
    );
    let r = c
        .post(app.url("/account/password"))
        .form(&[
            ("current", temp.as_str()),
            ("new", "12345678"),
            ("confirm", "12345678"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "an all-digit password is refused");
    let r = c
        .post(app.url("/account/password"))
        .form(&[
            ("current", temp.as_str()),
            ("new", "Hoc-that-tot-2026"),
            ("confirm", "Hoc-that-tot-2026"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let home = app.get(&c, "/").await.text().await.unwrap();
    assert!(home.contains("dashboard-teacher"));
    // The old temporary password no longer works.
    let (_, r) = app.login_as("gv.lua", &temp).await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn log_out_everywhere_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let phone = app.login("gv.toan").await;
    let laptop = app.login("gv.toan").await;
    let r = laptop.post(app.url("/logout-all")).send().await.unwrap();
    assert_eq!(location(&r), "/login");
    assert_eq!(location(&app.get(&phone, "/").await), "/login");
    assert_eq!(location(&app.get(&laptop, "/").await), "/login");
}

#[tokio::test]
async fn a_principal_resets_a_teachers_password_and_it_is_audited() {
    let app = TestApp::spawn().await;
    let teacher = app.login("gv.toan").await;
    let principal = app.login("ht.thcs").await;
    let school = app.db.school_by_code("37THCSGV").await.unwrap();
    let gv = app.db.user_by_username("gv.toan").await.unwrap();
    let staff = app
        .db
        .staff_by_user(school.id, gv.id)
        .await
        .unwrap()
        .unwrap();
    let page = principal
        .post(app.url(&format!(
            "/schools/{}/staff/{}/password",
            school.id, staff.id
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("gv.toan"));
    // The teacher's sessions ended; the old password is gone.
    assert_eq!(location(&app.get(&teacher, "/").await), "/login");
    let (_, r) = app.login_as("gv.toan", PASSWORD).await;
    assert_eq!(r.status(), 401);
    let audit = app.db.audit_of_school(school.id, 5).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "user.reset_password"));
    // A teacher cannot reset anyone's password.
    let other = app.login("tt.toan").await;
    let r = other
        .post(app.url(&format!(
            "/schools/{}/staff/{}/password",
            school.id, staff.id
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
