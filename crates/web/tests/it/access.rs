//! The authorization matrix: every school route × every role × own school / a foreign school.

use crate::harness::TestApp;

/// Routes that read a school's organisation (ViewSchool).
const VIEW: &[&str] = &[
    "/schools/{id}",
    "/schools/{id}/classes",
    "/schools/{id}/students",
    "/api/v1/schools/{id}",
    "/api/v1/schools/{id}/classes",
    "/api/v1/schools/{id}/students",
];
/// Routes that manage it (ManageSchool).
const MANAGE: &[&str] = &[
    "/schools/{id}/staff",
    "/schools/{id}/assignments",
    "/schools/{id}/years",
    "/schools/{id}/subjects",
    "/schools/{id}/import",
    "/schools/{id}/export.xlsx",
    "/api/v1/schools/{id}/staff",
];

#[derive(Clone, Copy)]
enum Access {
    None,
    View,
    Manage,
}

#[tokio::test]
async fn every_route_every_role_own_and_foreign_school() {
    let app = TestApp::spawn().await;
    // THCS Gia Viễn is the demo staff's school (under the commune of xa.canbo);
    // THPT Lương Văn Tụy hangs directly under the Sở: foreign to everyone but Sở and admin.
    let own = app.school_id("37THCSGV").await;
    let foreign = app.school_id("37THPTLVT").await;
    let cases: &[(&str, Access, Access)] = &[
        ("admin", Access::Manage, Access::Manage),
        ("so.chuyenvien", Access::View, Access::View),
        ("xa.canbo", Access::View, Access::None),
        ("ht.thcs", Access::Manage, Access::None),
        ("qt.thcs", Access::Manage, Access::None),
        ("tt.toan", Access::View, Access::None),
        ("gv.toan", Access::View, Access::None),
        ("hs.demo", Access::None, Access::None),
        ("0912000001", Access::None, Access::None),
    ];
    let mut failures = Vec::new();
    for (login, at_own, at_foreign) in cases {
        let c = app.login(login).await;
        for (school, access) in [(&own, at_own), (&foreign, at_foreign)] {
            for (routes, needed) in [(VIEW, 1), (MANAGE, 2)] {
                for route in routes {
                    let path = route.replace("{id}", school);
                    let status = app.get(&c, &path).await.status().as_u16();
                    let level = match access {
                        Access::None => 0,
                        Access::View => 1,
                        Access::Manage => 2,
                    };
                    let expected = if level >= needed { 200 } else { 403 };
                    if status != expected {
                        failures.push(format!("{login} {path}: {status}, expected {expected}"));
                    }
                }
            }
        }
    }
    // An id that exists nowhere is refused the same way (no probing of ids).
    let c = app.login("ht.thcs").await;
    let unknown = uuid::Uuid::now_v7();
    assert_eq!(
        app.get(&c, &format!("/schools/{unknown}")).await.status(),
        403
    );
    assert!(
        failures.is_empty(),
        "authorization mismatches:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn students_are_seen_only_by_their_school_themselves_and_their_parents() {
    let app = TestApp::spawn().await;
    let thcs = app.db.school_by_code("37THCSGV").await.unwrap();
    let year = app.db.current_year(thcs.id).await.unwrap().unwrap();
    let students = app
        .db
        .students(thcs.id, Some(year.id), &Default::default())
        .await
        .unwrap();
    let hs = app.db.user_by_username("hs.demo").await.unwrap();
    let me = students.iter().find(|s| s.user_id == Some(hs.id)).unwrap();
    let other = students.iter().find(|s| s.user_id != Some(hs.id)).unwrap();
    let path = |s: &db::roster::Student| format!("/schools/{}/students/{}", thcs.id, s.id);

    let student = app.login("hs.demo").await;
    assert_eq!(app.get(&student, &path(me)).await.status(), 200);
    assert_eq!(app.get(&student, &path(other)).await.status(), 403);

    let parent = app.login("0912000001").await;
    assert_eq!(app.get(&parent, &path(me)).await.status(), 200);
    assert_eq!(app.get(&parent, &path(other)).await.status(), 403);
    let home = app.get(&parent, "/").await.text().await.unwrap();
    assert!(
        home.contains(&me.full_name),
        "the parent's home lists the child"
    );

    // A student id of this school put under another school's URL finds nothing.
    let thpt = app.school_id("37THPTLVT").await;
    let admin = app.login("admin").await;
    assert_eq!(
        app.get(&admin, &format!("/schools/{thpt}/students/{}", me.id))
            .await
            .status(),
        403
    );

    // Staff of another school cannot reach the student either.
    let foreign_principal = app.login("ht.37thptlvt").await;
    assert_eq!(app.get(&foreign_principal, &path(me)).await.status(), 403);
}

#[tokio::test]
async fn forged_cross_site_posts_are_refused() {
    let app = TestApp::spawn().await;
    let c = app.login("ht.thcs").await;
    let id = app.school_id("37THCSGV").await;
    let r = c
        .post(app.url(&format!("/schools/{id}/classes")))
        .header("Origin", "http://evil.example")
        .form(&[("name", "9Z"), ("grade", "9")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(app.url("/logout-all"))
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Nothing changed: the class was not created and the session still works.
    let page = app
        .get(&c, &format!("/schools/{id}/classes"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains(">9Z<"));
    // The same form from the same origin works.
    let r = c
        .post(app.url(&format!("/schools/{id}/classes")))
        .header("Origin", app.base.clone())
        .form(&[("name", "9Z"), ("grade", "9")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn api_answers_json_and_describes_itself() {
    let app = TestApp::spawn().await;
    let anon = app.client();
    let r = app.get(&anon, "/api/v1/me").await;
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    let doc: serde_json::Value = app
        .get(&anon, "/api/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/schools/{id}/students"].is_object());
    let officer = app.login("xa.canbo").await;
    let schools: Vec<serde_json::Value> = app
        .get(&officer, "/api/v1/schools")
        .await
        .json()
        .await
        .unwrap();
    // The commune officer sees exactly the two schools of the commune.
    assert_eq!(schools.len(), 2, "{schools:?}");
    assert_eq!(app.get(&anon, "/healthz").await.status(), 200);
    // Installable as an app: a manifest, a service worker at the root, an offline page.
    let manifest: serde_json::Value = app
        .get(&anon, "/manifest.webmanifest")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(manifest["start_url"], "/");
    assert_eq!(app.get(&anon, "/sw.js").await.status(), 200);
    assert_eq!(app.get(&anon, "/offline").await.status(), 200);
    // Metrics: allowed from the machine itself.
    assert_eq!(app.get(&anon, "/metrics").await.status(), 200);
}

#[tokio::test]
async fn units_and_administration_by_role() {
    let app = TestApp::spawn().await;
    let units = app.db.units().await.unwrap();
    let province = units.iter().find(|u| u.code == "37").unwrap();
    let gia_vien = units.iter().find(|u| u.code == "GV").unwrap();
    let hoa_lu = units.iter().find(|u| u.code == "HL").unwrap();
    // (login, province page, own commune page, other commune page, /admin)
    let cases = [
        ("admin", 200, 200, 200, 200),
        ("so.chuyenvien", 200, 200, 200, 403),
        ("xa.canbo", 403, 200, 403, 403),
        ("ht.thcs", 403, 403, 403, 403),
        ("gv.toan", 403, 403, 403, 403),
        ("hs.demo", 403, 403, 403, 403),
        ("0912000001", 403, 403, 403, 403),
    ];
    for (login, p, own, other, admin) in cases {
        let c = app.login(login).await;
        for (path, expected) in [
            (format!("/units/{}", province.id), p),
            (format!("/units/{}", gia_vien.id), own),
            (format!("/units/{}", hoa_lu.id), other),
            ("/admin".to_owned(), admin),
        ] {
            assert_eq!(
                app.get(&c, &path).await.status().as_u16(),
                expected,
                "{login} {path}"
            );
        }
    }
    // A commune officer cannot add a school to another commune; the Sở officer can.
    let c = app.login("xa.canbo").await;
    let form = [
        ("code", "37NEW1"),
        ("name", "Trường Tiểu học Mới"),
        ("level", "primary"),
    ];
    let r = c
        .post(app.url(&format!("/units/{}/schools", hoa_lu.id)))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let c = app.login("so.chuyenvien").await;
    let r = c
        .post(app.url(&format!("/units/{}/schools", hoa_lu.id)))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let school = app.db.school_by_code("37NEW1").await.unwrap();
    assert!(
        !app.db.subjects(school.id).await.unwrap().is_empty(),
        "curriculum seeded"
    );
    // The same mã trường twice is refused with a message.
    let r = c
        .post(app.url(&format!("/units/{}/schools", hoa_lu.id)))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
}

/// Every link a user can see leads somewhere they may go: crawl from each dashboard.
#[tokio::test]
async fn no_dead_links_for_any_role() {
    let app = TestApp::spawn().await;
    for login in [
        "admin",
        "so.chuyenvien",
        "xa.canbo",
        "ht.thcs",
        "qt.thcs",
        "tt.toan",
        "gv.toan",
        "hs.demo",
        "0912000001",
    ] {
        let c = app.login(login).await;
        let mut seen = std::collections::HashSet::new();
        let mut queue = vec!["/".to_owned()];
        while let Some(path) = queue.pop() {
            if !seen.insert(path.clone()) || seen.len() > 80 {
                continue;
            }
            let r = app.get(&c, &path).await;
            // Opening an inbox item marks it read and redirects to what it is about.
            if path.starts_with("/inbox/") && r.status() == 303 {
                queue.push(crate::harness::location(&r));
                continue;
            }
            assert_eq!(r.status(), 200, "{login}: {path} is a dead link");
            let html = if r
                .headers()
                .get("content-type")
                .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/html"))
            {
                r.text().await.unwrap()
            } else {
                continue;
            };
            for part in html.split("href=\"").skip(1) {
                let href = part.split('"').next().unwrap_or("").replace("&amp;", "&");
                // Same-site pages only; the language switch just sets a cookie and redirects.
                if href.starts_with('/')
                    && !href.starts_with("/lang/")
                    && !href.starts_with("/static/")
                {
                    queue.push(href);
                }
            }
        }
    }
}

/// The state-changing school routes × every role × own and foreign school. Bodies are valid,
/// so an allowed request succeeds (a redirect or a page) and a refused one gets 403.
#[tokio::test]
async fn every_change_every_role_own_and_foreign_school() {
    let app = TestApp::spawn().await;
    let mut failures = Vec::new();
    let cases: &[(&str, bool, bool)] = &[
        ("admin", true, true),
        ("so.chuyenvien", false, false),
        ("xa.canbo", false, false),
        ("ht.thcs", true, false),
        ("qt.thcs", true, false),
        ("tt.toan", false, false),
        ("gv.toan", false, false),
        ("hs.demo", false, false),
        ("0912000001", false, false),
    ];
    let mut n = 0;
    for (login, own_ok, foreign_ok) in cases {
        let c = app.login(login).await;
        for (code, allowed) in [("37THCSGV", own_ok), ("37THPTLVT", foreign_ok)] {
            let school = app.db.school_by_code(code).await.unwrap();
            let year = app.db.current_year(school.id).await.unwrap().unwrap();
            let student = app
                .db
                .students(school.id, Some(year.id), &Default::default())
                .await
                .unwrap()
                .remove(0);
            let class = app.db.classes(school.id, year.id).await.unwrap().remove(0);
            let grade = class.grade.to_string();
            n += 1;
            let id = school.id;
            let posts: Vec<(String, Vec<(&str, String)>)> = vec![
                (
                    format!("/schools/{id}/classes"),
                    vec![("name", format!("{grade}Z{n}")), ("grade", grade.clone())],
                ),
                (
                    format!("/schools/{id}/subjects"),
                    vec![
                        ("code", format!("GDDP{n}")),
                        ("name", "Giáo dục địa phương".into()),
                        ("grade", grade.clone()),
                        ("periods", "35".into()),
                    ],
                ),
                (
                    format!("/schools/{id}/years"),
                    vec![
                        ("start", format!("05/09/{}", 2030 + n)),
                        ("term1_end", format!("15/01/{}", 2031 + n)),
                        ("term2_start", format!("17/01/{}", 2031 + n)),
                        ("end", format!("25/05/{}", 2031 + n)),
                    ],
                ),
                (
                    format!("/schools/{id}/staff"),
                    vec![
                        ("full_name", "Mai Văn Thử".into()),
                        ("username", format!("gv.thu{n}")),
                        ("role", "teacher".into()),
                    ],
                ),
                (
                    format!("/schools/{id}/students/{}/status", student.id),
                    vec![("status", "studying".into())],
                ),
                (
                    format!("/schools/{id}/classes/{}/homeroom", class.id),
                    vec![("staff", String::new())],
                ),
            ];
            for (path, form) in posts {
                let status = c
                    .post(app.url(&path))
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16();
                let ok = if *allowed {
                    status == 303 || status == 200
                } else {
                    status == 403
                };
                if !ok {
                    failures.push(format!("{login} POST {path}: {status}, allowed={allowed}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization mismatches:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_tampered_form_gets_a_vietnamese_error() {
    let app = TestApp::spawn().await;
    let c = app.login("ht.thcs").await;
    let id = app.school_id("37THCSGV").await;
    let r = c
        .post(app.url(&format!("/schools/{id}/classes")))
        .form(&[("nonsense", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Biểu mẫu gửi lên thiếu hoặc sai trường")
    );
}
