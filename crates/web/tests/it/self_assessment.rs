//! Decision 4725 self-assessment cycle and the Circular 09 checklist.

use crate::harness::{PASSWORD, TestApp, location};
use reqwest::multipart::{Form, Part};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

fn year() -> i32 {
    web::pages::self_assessment::current_cycle()
}

async fn thcs(app: &TestApp) -> String {
    app.school_id("37THCSGV").await
}

fn base(school: &str) -> String {
    format!("/schools/{school}/self-assessment/{}", year())
}

/// Posts one criterion's form: a value (if any), a link, a note and a file.
async fn save(
    app: &TestApp,
    c: &reqwest::Client,
    school: &str,
    code: &str,
    value: Option<&str>,
    url: &str,
    file: Option<(&str, &[u8])>,
) -> reqwest::Response {
    let mut form = Form::new().text("url", url.to_owned()).text("note", "");
    if let Some(v) = value {
        form = form.text("value", v.to_owned());
    }
    if let Some((name, bytes)) = file {
        form = form.part(
            "file",
            Part::bytes(bytes.to_vec()).file_name(name.to_owned()),
        );
    }
    c.post(app.url(&format!("{}/items/{code}", base(school))))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn page(app: &TestApp, c: &reqwest::Client, path: &str) -> (u16, String) {
    let r = app.get(c, path).await;
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// The card of one criterion on the page.
fn card<'a>(page: &'a str, code: &str) -> &'a str {
    let start = page
        .find(&format!("data-criterion=\"{code}\""))
        .unwrap_or_else(|| panic!("criterion {code} on the page"));
    let rest = &page[start..];
    &rest[..rest.find("</li>\n").unwrap_or(rest.len())]
}

async fn status_of(app: &TestApp, school: &str) -> domain::d4725::Status {
    app.db
        .sa_get(school.parse().unwrap(), year())
        .await
        .unwrap()
        .unwrap()
        .status
}

/// A commune officer of the other commune (Hoa Lư), which the demo does not have.
async fn foreign_commune_officer(app: &TestApp) -> reqwest::Client {
    let hash = web::auth::hash_password(PASSWORD.into()).await.unwrap();
    let user = app
        .db
        .create_user(&db::accounts::NewUser {
            username: "xa.khac".into(),
            full_name: "Cán bộ xã khác".into(),
            password_hash: Some(hash),
            must_change_password: false,
            ..db::accounts::NewUser::default()
        })
        .await
        .unwrap();
    let units = app.db.units().await.unwrap();
    let other = units
        .iter()
        .find(|u| u.kind == domain::tree::UnitKind::Commune && u.code != "GV")
        .expect("a second commune");
    app.db
        .grant_role(
            user.id,
            domain::auth::Role::CommuneOfficer,
            Some(other.id),
            None,
        )
        .await
        .unwrap();
    app.login("xa.khac").await
}

#[tokio::test]
async fn a_school_self_assesses_submits_is_returned_resubmits_and_is_published() {
    let app = TestApp::spawn().await;
    let school = thcs(&app).await;
    let ht = app.login("ht.thcs").await;

    // The current year opens from the school's page.
    let r = app
        .get(&ht, &format!("/schools/{school}/self-assessment"))
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), base(&school));
    let (st, html) = page(&app, &ht, &base(&school)).await;
    assert_eq!(st, 200);
    assert!(html.contains("data-status=\"draft\""));
    // Platform figures fill 1.3b (one homework task in the demo) and 2.3b (students).
    let c = card(&html, "1.3b");
    assert!(c.contains("data-source=\"auto\""), "{c}");
    assert!(c.contains("<b data-points>6/6</b>"), "{c}");
    assert!(card(&html, "1.5a").contains("<b data-points>0/15</b>"));
    // Last year's published assessment is shown next to this one.
    assert!(html.contains("data-compare"));

    // Auto-filled values follow platform data: a new task is counted at once.
    let before = app
        .db
        .sa_figures(school.parse().unwrap(), year())
        .await
        .unwrap()
        .measures["tasks"];
    let gv = app.login("gv.toan").await;
    let s = app.db.school_by_code("37THCSGV").await.unwrap();
    let gvu = app.db.user_by_username("gv.toan").await.unwrap();
    let y = app.db.current_year(s.id).await.unwrap().unwrap();
    app.db.ensure_courses(s.id, y.id).await.unwrap();
    let course = app
        .db
        .courses_taught(gvu.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.class_name == "6A1")
        .unwrap();
    let r = gv
        .post(app.url(&format!("/courses/{}/tasks", course.id)))
        .multipart(
            Form::new()
                .text("title", "Ôn tập chương 1")
                .text("late", "accept_late"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, html) = page(&app, &ht, &base(&school)).await;
    assert!(
        card(&html, "1.3b").contains(&format!("<span data-value>{}</span>", before + 1)),
        "{}",
        card(&html, "1.3b")
    );

    // Evidence of the wrong type is refused, naming the criterion; nothing is stored.
    let r = save(
        &app,
        &ht,
        &school,
        "1.2",
        None,
        "",
        Some(("quy-che.pdf", b"<script>alert(1)</script>")),
    )
    .await;
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Tiêu chí 1.2") && body.contains("quy-che.pdf"),
        "{body}"
    );
    // Too big: one byte over 10 MB.
    let mut big = PDF.to_vec();
    big.resize(10 * 1024 * 1024 + 1, b' ');
    let r = save(&app, &ht, &school, "1.2", None, "", Some(("to.pdf", &big))).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("10 MB"));
    // A bad link and points above the maximum are refused too.
    let r = save(&app, &ht, &school, "2.1", None, "javascript:alert(1)", None).await;
    assert_eq!(r.status(), 400);
    let r = save(
        &app,
        &ht,
        &school,
        "1.7b",
        Some("9"),
        "https://x.vn/a",
        None,
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("1.7b"));
    let a = app
        .db
        .sa_get(school.parse().unwrap(), year())
        .await
        .unwrap()
        .unwrap();
    let items = app.db.sa_items(&a).await.unwrap();
    assert!(!items.contains_key("1.2") && !items.contains_key("2.1"));
    assert_eq!(items["1.7b"].entered, Some(50), "the demo's 5 points stay");

    // Submission is refused while a mandatory condition has no evidence, named.
    let r = ht
        .post(app.url(&format!("{}/submit", base(&school))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Tiêu chí 1.2") && body.contains("Tiêu chí 2.1"),
        "{body}"
    );
    assert!(!body.contains("Tiêu chí 1.1 "), "1.1 has its link: {body}");
    assert_eq!(status_of(&app, &school).await, domain::d4725::Status::Draft);

    // The school adds the regulation as a PDF and the group 2 conditions as links.
    let r = save(
        &app,
        &ht,
        &school,
        "1.2",
        None,
        "",
        Some(("quy-che.pdf", PDF)),
    )
    .await;
    assert_eq!(r.status(), 303);
    for code in ["2.1", "2.2"] {
        let r = save(
            &app,
            &ht,
            &school,
            code,
            None,
            "https://thcs.edu.vn/qd.pdf",
            None,
        )
        .await;
        assert_eq!(r.status(), 303, "{code}");
    }
    let (_, html) = page(&app, &ht, &base(&school)).await;
    let href = card(&html, "1.2")
        .split("href=\"")
        .find(|p| p.contains("/evidence/"))
        .and_then(|p| p.split('"').next())
        .expect("evidence link")
        .to_owned();
    let file = app.get(&ht, &href).await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().as_ref(), PDF);

    // A school admin prepares but only the principal submits.
    let qt = app.login("qt.thcs").await;
    let r = qt
        .post(app.url(&format!("{}/submit", base(&school))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = ht
        .post(app.url(&format!("{}/submit", base(&school))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        status_of(&app, &school).await,
        domain::d4725::Status::Submitted
    );
    // Submitted means frozen: the school can no longer change it.
    let r = save(&app, &ht, &school, "1.7a", Some("90"), "https://x.vn", None).await;
    assert_eq!(r.status(), 409);

    // Another school's principal cannot read it; a commune outside the subtree cannot review.
    let other = app.login("ht.37thcsths").await;
    assert_eq!(page(&app, &other, &base(&school)).await.0, 403);
    let foreign = foreign_commune_officer(&app).await;
    let r = foreign
        .post(app.url(&format!("{}/review", base(&school))))
        .form(&[("decision", "approve"), ("note", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        status_of(&app, &school).await,
        domain::d4725::Status::Submitted
    );

    // The commune returns one criterion with a comment.
    let xa = app.login("xa.canbo").await;
    let (_, html) = page(&app, &xa, &base(&school)).await;
    assert!(html.contains("data-return") && html.contains("name=\"c_1.2\""));
    let r = xa
        .post(app.url(&format!("{}/review", base(&school))))
        .form(&[("decision", "return"), ("note", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "returning needs a comment");
    let r = xa
        .post(app.url(&format!("{}/review", base(&school))))
        .form(&[
            ("decision", "return"),
            ("note", "Bổ sung minh chứng"),
            ("c_1.2", "Quy chế chưa có chữ ký của hiệu trưởng"),
            ("c_1.3a", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        status_of(&app, &school).await,
        domain::d4725::Status::Returned
    );
    let (_, html) = page(&app, &ht, &base(&school)).await;
    assert!(card(&html, "1.2").contains("Quy chế chưa có chữ ký"));
    assert_eq!(html.matches("data-comment").count(), 1);

    // The school fixes it and resubmits.
    let r = save(
        &app,
        &ht,
        &school,
        "1.2",
        None,
        "",
        Some(("quy-che-da-ky.pdf", PDF)),
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = page(&app, &ht, &base(&school)).await;
    assert!(
        card(&html, "1.2").contains("data-fixed")
            && card(&html, "1.2").contains("quy-che-da-ky.pdf")
    );
    let r = ht
        .post(app.url(&format!("{}/submit", base(&school))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    // Approval and publication; the unit's overview shows the level.
    let r = xa
        .post(app.url(&format!("{}/review", base(&school))))
        .form(&[("decision", "approve"), ("note", "Đạt")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = xa
        .post(app.url(&format!("{}/publish", base(&school))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let a = app
        .db
        .sa_get(school.parse().unwrap(), year())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.status, domain::d4725::Status::Published);
    let level = a.level.expect("frozen level");
    let commune = app
        .db
        .units()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.code == "GV")
        .unwrap();
    let (st, html) = page(
        &app,
        &xa,
        &format!("/units/{}/self-assessments", commune.id),
    )
    .await;
    assert_eq!(st, 200);
    let line = &html[html.find("data-school=\"37THCSGV\"").unwrap()..];
    assert!(line.contains("data-sa-status=\"published\""));
    assert!(
        line.contains(&format!("<b data-level>Mức {level}</b>")),
        "{line}"
    );

    // Everything is audited.
    let audit = app.db.audit_of_school(a.school_id, 100).await.unwrap();
    for action in [
        "d4725.item",
        "d4725.submit",
        "d4725.return",
        "d4725.approve",
        "d4725.publish",
    ] {
        assert!(audit.iter().any(|e| e.action == action), "{action} audited");
    }

    // A THPT is reviewed by the Sở, not by the commune: the commune cannot even open it.
    let thpt = app.school_id("37THPTLVT").await;
    let r = xa
        .post(app.url(&format!(
            "/schools/{thpt}/self-assessment/{}/review",
            year()
        )))
        .form(&[("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Exports: the school's report and the unit's aggregate open in a spreadsheet reader.
    use calamine::Reader;
    let bytes = app
        .get(&ht, &format!("{}/export.xlsx", base(&school)))
        .await
        .bytes()
        .await
        .unwrap();
    let mut wb =
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = wb.worksheet_range("Tự đánh giá").unwrap();
    let cat = app.db.sa_catalogue(a.catalogue_id).await.unwrap();
    // Two title lines, two group lines, the overall level, a blank, the header, the criteria.
    assert_eq!(range.height(), 5 + 1 + 1 + cat.catalogue.criteria.len());
    let so = app.login("so.chuyenvien").await;
    let province = app
        .db
        .units()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.code == "37")
        .unwrap();
    let bytes = app
        .get(
            &so,
            &format!("/units/{}/self-assessments/export.xlsx", province.id),
        )
        .await
        .bytes()
        .await
        .unwrap();
    let mut wb =
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = wb.worksheet_range("Chuyển đổi số").unwrap();
    assert_eq!(range.height(), 2 + 1 + 1 + 6, "six schools");
    let printed = page(&app, &so, &format!("{}/print", base(&school))).await;
    assert_eq!(printed.0, 200);
    assert!(
        !printed.1.contains("data-item-form"),
        "no forms on the printed page"
    );
}

#[tokio::test]
async fn the_admin_edits_the_catalogue_as_a_new_version_and_assessments_keep_theirs() {
    let app = TestApp::spawn().await;
    let school = thcs(&app).await;
    let v1 = app.db.sa_current_catalogue().await.unwrap();
    assert_eq!(v1.version, 1);
    let draft = app
        .db
        .sa_get(school.parse().unwrap(), year())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(draft.catalogue_id, v1.id);

    let edit = |based_on: &str, max: &str| {
        vec![
            ("based_on", based_on.to_owned()),
            ("code", "2.4b".to_owned()),
            ("group", "2".to_owned()),
            ("title", "Tuyển sinh đầu cấp trực tuyến".to_owned()),
            ("max_points", max.to_owned()),
            ("measure", String::new()),
            ("scoring", "yes".to_owned()),
            ("threshold", "1".to_owned()),
            ("confidence", "V".to_owned()),
            ("change_note", "Đối chiếu phụ lục".to_owned()),
        ]
    };
    // Only a system admin edits it.
    let so = app.login("so.chuyenvien").await;
    let r = so
        .post(app.url("/admin/d4725/criteria"))
        .form(&edit("1", "22"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let admin = app.login("admin").await;
    // Group 2 would sum to 178: refused, named, nothing saved.
    let r = admin
        .post(app.url("/admin/d4725/criteria"))
        .form(&edit("1", "100"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("nhóm 2"));
    assert_eq!(app.db.sa_current_catalogue().await.unwrap().version, 1);
    let r = admin
        .post(app.url("/admin/d4725/criteria"))
        .form(&edit("1", "22"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let v2 = app.db.sa_current_catalogue().await.unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(domain::d4725::group_max_points(&v2.catalogue, 2), 100);
    // An edit based on the old version is refused rather than lost.
    let r = admin
        .post(app.url("/admin/d4725/criteria"))
        .form(&edit("1", "12"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let (_, html) = page(&app, &admin, "/admin/d4725").await;
    assert!(html.contains("data-version=\"2\"") && html.contains("Đối chiếu phụ lục"));

    // The THCS draft keeps version 1 (12 points); a new assessment takes version 2.
    let ht = app.login("ht.thcs").await;
    let (_, html) = page(&app, &ht, &base(&school)).await;
    assert!(
        card(&html, "2.4b").contains("/12</b>"),
        "{}",
        card(&html, "2.4b")
    );
    let other = app.school_id("37THCSTHS").await;
    let ht2 = app.login("ht.37thcsths").await;
    let (st, html) = page(&app, &ht2, &base(&other)).await;
    assert_eq!(st, 200);
    assert!(card(&html, "2.4b").contains("/22</b>"));
    let a = app
        .db
        .sa_get(other.parse().unwrap(), year())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.catalogue_id, v2.id);
}

#[tokio::test]
async fn deadlines_are_the_provinces_and_a_late_first_submission_is_refused() {
    let app = TestApp::spawn().await;
    let units = app.db.units().await.unwrap();
    let province = units.iter().find(|u| u.code == "37").unwrap();
    let commune = units.iter().find(|u| u.code == "GV").unwrap();
    let so = app.login("so.chuyenvien").await;
    let url = format!("/units/{}/self-assessments/deadlines", province.id);
    let r = so
        .post(app.url(&url))
        .form(&[("submit_by", "31/02"), ("publish_by", "20/06")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("31/02"));
    let r = so
        .post(app.url(&url))
        .form(&[("submit_by", "15/05"), ("publish_by", "10/06")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.db.sa_deadlines(province.id).await.unwrap(),
        ("05-15".to_owned(), "06-10".to_owned())
    );
    let xa = app.login("xa.canbo").await;
    let r = xa
        .post(app.url(&format!("/units/{}/self-assessments/deadlines", commune.id)))
        .form(&[("submit_by", "15/05"), ("publish_by", "10/06")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a commune does not set deadlines");
    let ht = app.login("ht.thcs").await;
    let (_, html) = page(&app, &ht, &base(&app.school_id("37THCSGV").await)).await;
    assert!(html.contains(&format!("<b>15/05/{}</b>", year() + 1)));

    // An assessment of two years ago, still a draft, can no longer be submitted.
    let school = app.db.school_by_code("37THCSGV").await.unwrap();
    app.db
        .sa_get_or_create(school.id, year() - 2, None)
        .await
        .unwrap();
    let r = ht
        .post(app.url(&format!(
            "/schools/{}/self-assessment/{}/submit",
            school.id,
            year() - 2
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("quá hạn"));
}

#[tokio::test]
async fn the_circular_09_checklist_counts_what_it_can_and_takes_evidence_for_the_rest() {
    let app = TestApp::spawn().await;
    let school = thcs(&app).await;
    let ht = app.login("ht.thcs").await;
    let path = format!("/schools/{school}/checklist");
    let (st, html) = page(&app, &ht, &path).await;
    assert_eq!(st, 200);
    let item = |html: &str, key: &str| -> String {
        let s = html.find(&format!("data-item=\"{key}\"")).unwrap();
        let tag = &html[s..];
        tag[..tag.find('>').unwrap()].to_owned()
    };
    assert!(item(&html, "tasks").contains("data-check=\"ok\""));
    assert!(item(&html, "regular_tests").contains("data-check=\"missing\""));
    assert!(item(&html, "infrastructure").contains("data-check=\"manual_missing\""));
    // The plan is evidenced by the 4725 draft's link (criterion 1.1).
    assert!(item(&html, "plan").contains("data-check=\"manual_ok\""));
    assert!(html.contains("/courses/"), "counts link to their records");

    let form = |file: Option<(&str, &[u8])>| {
        let mut f = Form::new()
            .text("year", year().to_string())
            .text("url", "https://thcs.edu.vn/ha-tang.pdf")
            .text("note", "Tường lửa, sao lưu hằng tuần");
        if let Some((n, b)) = file {
            f = f.part("file", Part::bytes(b.to_vec()).file_name(n.to_owned()));
        }
        f
    };
    let r = ht
        .post(app.url(&format!("{path}/infrastructure")))
        .multipart(form(Some(("ha-tang.docx", b"MZ\x90\x00"))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        app.db
            .tt09_evidence(school.parse().unwrap(), year())
            .await
            .unwrap()
            .is_empty()
    );
    let r = ht
        .post(app.url(&format!("{path}/infrastructure")))
        .multipart(form(Some(("ha-tang.pdf", PDF))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, html) = page(&app, &ht, &path).await;
    assert!(item(&html, "infrastructure").contains("data-check=\"manual_ok\""));
    assert!(html.contains("Tường lửa, sao lưu hằng tuần"));

    // The inspector (the commune) reads and prints it; another school's principal cannot.
    let xa = app.login("xa.canbo").await;
    let (st, html) = page(&app, &xa, &format!("{path}/print")).await;
    assert_eq!(st, 200);
    assert!(!html.contains("data-evidence-form"));
    assert!(html.contains("Tường lửa"));
    let other = app.login("ht.37thcsths").await;
    assert_eq!(page(&app, &other, &path).await.0, 403);
    let r = other
        .post(app.url(&format!("{path}/devices")))
        .multipart(form(None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn an_approved_plan_in_the_school_documents_meets_condition_1_1_by_itself() {
    let app = TestApp::spawn().await;
    let school = app.school_id("37THCSTHS").await;
    let ht = app.login("ht.37thcsths").await;
    let (_, html) = page(&app, &ht, &base(&school)).await;
    let c = card(&html, "1.1");
    assert!(
        c.contains("data-source=\"auto\"") && c.contains("Chưa có minh chứng"),
        "{c}"
    );
    let r = ht
        .post(app.url(&format!("/schools/{school}/documents")))
        .multipart(
            Form::new()
                .text("kind", "online_plan")
                .text("note", "")
                .part("file", Part::bytes(PDF.to_vec()).file_name("ke-hoach.pdf")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // Uploaded but not yet approved: the condition is still missing.
    let (_, html) = page(&app, &ht, &base(&school)).await;
    assert!(card(&html, "1.1").contains("Chưa có minh chứng"));
    let s = app.db.school_by_code("37THCSTHS").await.unwrap();
    let y = app.db.current_year(s.id).await.unwrap().unwrap();
    let doc = app.db.school_documents(s.id, y.id).await.unwrap()[0].id;
    let r = ht
        .post(app.url(&format!("/schools/{school}/documents/{doc}/approve")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, html) = page(&app, &ht, &base(&school)).await;
    let c = card(&html, "1.1");
    assert!(
        c.contains("Có minh chứng") && c.contains("/documents"),
        "{c}"
    );
    assert!(
        !html.contains("Tiêu chí 1.1 «"),
        "1.1 is no longer listed as missing"
    );
}

#[tokio::test]
async fn an_export_for_the_sector_database_counts_for_2_3h() {
    let app = TestApp::spawn().await;
    let school = app.school_id("37THCSTHS").await;
    let ht = app.login("ht.37thcsths").await;
    let id = school.parse().unwrap();
    let before = app.db.sa_figures(id, year()).await.unwrap();
    assert_eq!(before.measures.get("sector_exchanges"), Some(&0));
    let (_, html) = page(&app, &ht, &base(&school)).await;
    assert!(card(&html, "2.3h").contains("data-source=\"auto\""));

    let r = app
        .get(&ht, &format!("/schools/{school}/exchange.xlsx"))
        .await;
    assert_eq!(r.status(), 200);
    let after = app.db.sa_figures(id, year()).await.unwrap();
    assert_eq!(after.measures.get("sector_exchanges"), Some(&1));
    let (_, html) = page(&app, &ht, &base(&school)).await;
    let c = card(&html, "2.3h");
    assert!(
        c.contains("/exchange"),
        "the card links to the export page: {c}"
    );
    // Another school's export does not count here.
    let other = app.db.school_by_code("37THCSGV").await.unwrap();
    assert_eq!(
        app.db
            .sa_figures(other.id, year())
            .await
            .unwrap()
            .measures
            .get("sector_exchanges"),
        Some(&0)
    );
}
