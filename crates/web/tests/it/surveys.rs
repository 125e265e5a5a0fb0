//! Surveys with deadlines from the Sở and communes, and the schools' online-teaching plan and
//! regulation: issuing, drafts and submission, late flags and refusals, bad figures that change
//! nothing, totals up the tree, reminders, Excel, documents with approval, and who may see what.

use crate::harness::{PASSWORD, TestApp, location};
use db::surveys::{NewSurvey, Survey};
use domain::survey::{LatePolicy, Status};

const DEVICE_ANSWER: &[(&str, &str)] = &[
    ("v_students", "72"),
    ("v_poor", "3"),
    ("v_near_poor", "2"),
    ("v_policy", "1"),
    ("v_other", "1"),
    ("v_need_computer", "1"),
    ("v_need_tablet", "2"),
    ("v_need_phone", "4"),
    ("v_need_internet", "3"),
    ("v_proposal", "Xin hỗ trợ 2 máy tính bảng"),
];

async fn unit_id(app: &TestApp, code: &str) -> String {
    app.db
        .units()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.code == code)
        .unwrap()
        .id
        .to_string()
}

fn deadline_in_days(days: i64) -> String {
    let t = time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap())
        + time::Duration::days(days);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// Issues a survey through the form and returns its id.
async fn issue(
    app: &TestApp,
    c: &reqwest::Client,
    unit: &str,
    template: &str,
    title: &str,
    levels: &[&str],
) -> String {
    let deadline = deadline_in_days(7);
    let mut form = vec![
        ("template", template),
        ("title", title),
        ("deadline", deadline.as_str()),
        ("late", "accept"),
    ];
    for l in levels {
        form.push(("levels", l));
    }
    let r = c
        .post(app.url(&format!("/units/{unit}/surveys")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let loc = location(&r);
    assert!(loc.ends_with("?ok=created"), "{loc}");
    loc.trim_start_matches("/surveys/")
        .trim_end_matches("?ok=created")
        .to_owned()
}

async fn post_answer(
    app: &TestApp,
    c: &reqwest::Client,
    school: &str,
    survey: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("action", action));
    let r = c
        .post(app.url(&format!("/schools/{school}/surveys/{survey}")))
        .form(&form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn text(app: &TestApp, c: &reqwest::Client, path: &str) -> (u16, String) {
    let r = app.get(c, path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

fn total_of(html: &str, key: &str) -> i64 {
    let marker = format!("data-total=\"{key}\">");
    let start = html.find(&marker).expect("a total") + marker.len();
    html[start..start + html[start..].find('<').unwrap()]
        .parse()
        .unwrap()
}

async fn status_of(app: &TestApp, survey: &str, school_code: &str) -> Status {
    let school = app.db.school_by_code(school_code).await.unwrap();
    app.db
        .survey_response(survey.parse().unwrap(), school.id)
        .await
        .unwrap()
        .expect("the survey asks the school")
        .status
}

async fn notices(app: &TestApp, username: &str) -> Vec<String> {
    let user = app.db.user_by_username(username).await.unwrap();
    app.db
        .notifications(user.id, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.title)
        .collect()
}

fn rows_of(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut wb =
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = wb.worksheet_range("Kết quả").unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// A commune officer of the other commune (Hoa Lư), which the demo does not have.
pub(crate) async fn hoa_lu_officer(app: &TestApp) -> reqwest::Client {
    let hash = web::auth::hash_password(PASSWORD.into()).await.unwrap();
    let user = app
        .db
        .create_user(&db::accounts::NewUser {
            username: "xa.hoalu".into(),
            full_name: "Cán bộ phường Hoa Lư".into(),
            password_hash: Some(hash),
            must_change_password: false,
            ..db::accounts::NewUser::default()
        })
        .await
        .unwrap();
    let hl = unit_id(app, "HL").await;
    app.db
        .grant_role(
            user.id,
            domain::auth::Role::CommuneOfficer,
            Some(hl.parse().unwrap()),
            None,
        )
        .await
        .unwrap();
    app.login("xa.hoalu").await
}

#[tokio::test]
async fn a_province_survey_is_drafted_submitted_and_totalled_up_the_tree() {
    let app = TestApp::spawn().await;
    let province = unit_id(&app, "37").await;
    let so = app.login("so.chuyenvien").await;
    let id = issue(&app, &so, &province, "devices", "Thiết bị học tập HK1", &[]).await;
    assert_eq!(
        app.db
            .survey_lines(id.parse().unwrap(), "/")
            .await
            .unwrap()
            .len(),
        6,
        "every school of the province is asked"
    );
    assert!(
        notices(&app, "ht.thcs")
            .await
            .iter()
            .any(|t| t == "Khảo sát mới: Thiết bị học tập HK1")
    );

    let thcs = app.school_id("37THCSGV").await;
    let ht = app.login("ht.thcs").await;
    let (code, list) = text(&app, &ht, &format!("/schools/{thcs}/surveys")).await;
    assert_eq!(code, 200);
    assert!(list.contains("Thiết bị học tập HK1"), "{list}");
    // The form is pre-filled with the school's 72 studying students.
    let (code, form) = text(&app, &ht, &format!("/schools/{thcs}/surveys/{id}")).await;
    assert_eq!(code, 200);
    assert!(form.contains("name=\"v_students\" value=\"72\""), "{form}");
    assert!(form.contains("data-prefilled"));

    // A draft is kept but not counted.
    let (code, body) = post_answer(
        &app,
        &ht,
        &thcs,
        &id,
        "draft",
        &[("v_students", "72"), ("v_poor", "3")],
    )
    .await;
    assert_eq!(code, 303, "{body}");
    assert_eq!(status_of(&app, &id, "37THCSGV").await, Status::Draft);
    let (_, page) = text(&app, &so, &format!("/surveys/{id}")).await;
    assert_eq!(total_of(&page, "poor"), 0, "a draft is not in the totals");
    assert!(page.contains("data-status=\"draft\" data-school=\"37THCSGV\""));

    // Out of range: named, nothing saved.
    for (bad, field) in [
        (&[("v_students", "72"), ("v_poor", "-1")][..], "hộ nghèo"),
        (&[("v_students", "72"), ("v_poor", "100")][..], "hộ nghèo"),
        (
            &[("v_students", "72"), ("v_poor", "40"), ("v_other", "40")][..],
            "Tổng số học sinh chưa có thiết bị (80)",
        ),
        (
            &[("v_students", "bảy mươi")][..],
            "Tổng số học sinh của trường",
        ),
    ] {
        let (code, body) = post_answer(&app, &ht, &thcs, &id, "submit", bad).await;
        assert_eq!(code, 400, "{bad:?}");
        assert!(body.contains(field), "{field}: {body}");
        assert!(body.contains("Chưa lưu"), "{body}");
    }
    let saved = app
        .db
        .survey_response(id.parse().unwrap(), thcs.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.status, Status::Draft);
    assert_eq!(saved.answers.int("poor"), Some(3));
    assert_eq!(saved.answers.int("other"), None);

    // A submission needs every number.
    let (code, body) = post_answer(&app, &ht, &thcs, &id, "submit", &[("v_students", "72")]).await;
    assert_eq!(code, 400);
    assert!(
        body.contains("Chưa nhập") && body.contains("HS chưa có thiết bị – hộ cận nghèo"),
        "{body}"
    );

    let (code, body) = post_answer(&app, &ht, &thcs, &id, "submit", DEVICE_ANSWER).await;
    assert_eq!(code, 303, "{body}");
    let (_, done) = text(&app, &ht, &format!("/schools/{thcs}/surveys/{id}")).await;
    assert!(done.contains("data-submitted") && done.contains("Đã nộp lúc"));
    assert!(!done.contains("nộp muộn</strong>"));
    assert!(
        !done.contains("data-survey-form"),
        "read-only after submission"
    );
    // Submitted is final.
    let (code, _) = post_answer(&app, &ht, &thcs, &id, "submit", DEVICE_ANSWER).await;
    assert_eq!(code, 409);

    // The primary school of the same commune answers too.
    let th = app.school_id("37THGV01").await;
    let ht_th = app.login("ht.37thgv01").await;
    let mut other = DEVICE_ANSWER.to_vec();
    other[1] = ("v_poor", "5");
    let (code, body) = post_answer(&app, &ht_th, &th, &id, "submit", &other).await;
    assert_eq!(code, 303, "{body}");

    // The Sở: all six schools, per commune.
    let (_, page) = text(&app, &so, &format!("/surveys/{id}")).await;
    assert_eq!(total_of(&page, "poor"), 8);
    assert_eq!(total_of(&page, "students"), 144);
    assert_eq!(page.matches("data-school=").count(), 6);
    assert_eq!(
        page.matches("<tr data-group>").count(),
        3,
        "two communes and the Sở's own schools"
    );
    assert!(page.contains("UBND xã Gia Viễn") && page.contains("Trực thuộc Sở GD"));
    assert!(page.contains("data-count=\"missing\">4<"));

    // The commune: its two schools only.
    let xa = app.login("xa.canbo").await;
    let (code, page) = text(&app, &xa, &format!("/surveys/{id}")).await;
    assert_eq!(code, 200);
    assert_eq!(page.matches("data-school=").count(), 2);
    assert_eq!(total_of(&page, "poor"), 8);
    let gv = unit_id(&app, "GV").await;
    let (_, list) = text(&app, &xa, &format!("/units/{gv}/surveys")).await;
    assert!(
        list.contains("Thiết bị học tập HK1"),
        "the Sở's survey is listed for the commune"
    );

    // Excel: one row per school and the total, the same numbers.
    let bytes = app
        .get(&so, &format!("/surveys/{id}/results.xlsx"))
        .await
        .bytes()
        .await
        .unwrap();
    let rows = rows_of(&bytes);
    assert_eq!(
        rows.len(),
        2 + 1 + 1 + 6 + 1,
        "title, blank, header, six schools, total"
    );
    let header = &rows[3];
    let poor = header
        .iter()
        .position(|h| h == "HS chưa có thiết bị – hộ nghèo")
        .unwrap();
    let total = rows.last().unwrap();
    assert_eq!(total[1], "TỔNG CỘNG");
    assert_eq!(total[poor], "8");
    let thcs_row = rows.iter().find(|r| r[0] == "37THCSGV").unwrap();
    assert_eq!(thcs_row[poor], "3");
    assert_eq!(thcs_row[2], "UBND xã Gia Viễn");
    assert!(
        rows.iter()
            .find(|r| r[0] == "37THPTLVT")
            .is_some_and(|r| r[4] == "Chưa nộp" && r[poor].is_empty())
    );
    let bytes = app
        .get(&xa, &format!("/surveys/{id}/results.xlsx"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(rows_of(&bytes).len(), 2 + 1 + 1 + 2 + 1);

    // The submission is audited.
    let audit = app
        .db
        .audit_of_school(thcs.parse().unwrap(), 20)
        .await
        .unwrap();
    assert!(audit.iter().any(|a| a.action == "survey.submit"));
}

async fn survey_with_deadline(app: &TestApp, policy: LatePolicy, deadline: i64) -> Survey {
    let province = app
        .db
        .unit(unit_id(app, "37").await.parse().unwrap())
        .await
        .unwrap();
    let so = app.db.user_by_username("so.chuyenvien").await.unwrap();
    let (id, _) = app
        .db
        .create_survey(
            &province,
            &NewSurvey {
                template: &domain::survey::INFRASTRUCTURE,
                title: format!("Hạ tầng ({})", policy.code()),
                instructions: String::new(),
                deadline_at: deadline,
                late_policy: policy,
                levels: vec![],
            },
            so.id,
        )
        .await
        .unwrap();
    app.db.survey(id).await.unwrap()
}

const INFRA_ANSWER: &[(&str, &str)] = &[
    ("v_computers", "20"),
    ("v_computers_working", "18"),
    ("v_computer_rooms", "1"),
    ("v_bandwidth_mbps", "100"),
    ("v_classrooms", "4"),
    ("v_wifi_classrooms", "2"),
];

#[tokio::test]
async fn late_submissions_are_flagged_or_refused_as_the_issuer_chose() {
    let app = TestApp::spawn().await;
    let thcs = app.school_id("37THCSGV").await;
    let ht = app.login("ht.thcs").await;
    let past = db::now_ms() - 3_600_000;

    let accept = survey_with_deadline(&app, LatePolicy::Accept, past).await;
    let id = accept.id.to_string();
    let (code, body) = post_answer(&app, &ht, &thcs, &id, "submit", INFRA_ANSWER).await;
    assert_eq!(code, 303, "{body}");
    assert_eq!(status_of(&app, &id, "37THCSGV").await, Status::Late);
    let (_, page) = text(&app, &ht, &format!("/schools/{thcs}/surveys/{id}")).await;
    assert!(page.contains("<strong>nộp muộn</strong>"), "{page}");
    let so = app.login("so.chuyenvien").await;
    let (_, results) = text(&app, &so, &format!("/surveys/{id}")).await;
    assert!(results.contains("data-status=\"late\" data-school=\"37THCSGV\""));
    assert!(results.contains("data-count=\"late\">1<"));
    assert_eq!(
        total_of(&results, "computers"),
        20,
        "late answers are counted"
    );
    let audit = app
        .db
        .audit_of_school(thcs.parse().unwrap(), 20)
        .await
        .unwrap();
    assert!(audit.iter().any(|a| a.action == "survey.submit_late"));

    // The next infrastructure survey starts from these figures.
    let next = survey_with_deadline(&app, LatePolicy::Accept, db::now_ms() + 86_400_000).await;
    let (_, form) = text(&app, &ht, &format!("/schools/{thcs}/surveys/{}", next.id)).await;
    assert!(form.contains("name=\"v_computers\" value=\"20\""), "{form}");
    assert!(
        form.contains("name=\"v_classrooms\" value=\"4\""),
        "classes of the school year"
    );

    let refuse = survey_with_deadline(&app, LatePolicy::Refuse, past).await;
    let id = refuse.id.to_string();
    let (_, form) = text(&app, &ht, &format!("/schools/{thcs}/surveys/{id}")).await;
    assert!(form.contains("data-closed") && !form.contains("data-survey-form"));
    for action in ["submit", "draft"] {
        let (code, body) = post_answer(&app, &ht, &thcs, &id, action, INFRA_ANSWER).await;
        assert_eq!(code, 409, "{action}");
        assert!(body.contains("Đã quá hạn nộp"), "{body}");
    }
    assert_eq!(status_of(&app, &id, "37THCSGV").await, Status::Missing);
}

#[tokio::test]
async fn who_may_see_and_answer_what() {
    let app = TestApp::spawn().await;
    let province = unit_id(&app, "37").await;
    let gv_unit = unit_id(&app, "GV").await;
    let thcs = app.school_id("37THCSGV").await;
    let th = app.school_id("37THGV01").await;
    let xa = app.login("xa.canbo").await;

    // A commune asks its own schools only, and cannot issue for the province.
    let commune_survey = issue(&app, &xa, &gv_unit, "training", "Bồi dưỡng GV", &[]).await;
    assert_eq!(
        app.db
            .survey_lines(commune_survey.parse().unwrap(), "/")
            .await
            .unwrap()
            .len(),
        2
    );
    let r = xa
        .post(app.url(&format!("/units/{province}/surveys")))
        .form(&[("template", "devices"), ("deadline", &deadline_in_days(3))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = xa
        .post(app.url(&format!("/units/{gv_unit}/surveys")))
        .form(&[
            ("template", "devices"),
            ("deadline", deadline_in_days(3).as_str()),
            ("levels", "upper_secondary"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "a commune has no upper-secondary school");
    let r = xa
        .post(app.url(&format!("/units/{gv_unit}/surveys")))
        .form(&[("template", "devices"), ("deadline", "2020-01-01T08:00")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a deadline in the past");

    // The Sở may ask upper-secondary schools and GDTX centres only.
    let so = app.login("so.chuyenvien").await;
    let upper = issue(
        &app,
        &so,
        &province,
        "infrastructure",
        "Hạ tầng THPT",
        &["upper_secondary", "continuing"],
    )
    .await;
    let lines = app
        .db
        .survey_lines(upper.parse().unwrap(), "/")
        .await
        .unwrap();
    let mut codes: Vec<&str> = lines.iter().map(|l| l.school.code.as_str()).collect();
    codes.sort_unstable();
    assert_eq!(codes, ["37GDTXNB", "37THPTLVT"]);
    let ht = app.login("ht.thcs").await;
    assert_eq!(
        app.get(&ht, &format!("/schools/{thcs}/surveys/{upper}"))
            .await
            .status(),
        404,
        "the survey does not ask this school"
    );

    // A school never reads another school's answer; a teacher sees no survey.
    let province_survey = issue(&app, &so, &province, "devices", "Thiết bị", &[]).await;
    for path in [
        format!("/schools/{th}/surveys/{province_survey}"),
        format!("/schools/{th}/surveys"),
        format!("/surveys/{province_survey}"),
        format!("/surveys/{province_survey}/results.xlsx"),
        format!("/units/{gv_unit}/surveys"),
    ] {
        assert_eq!(app.get(&ht, &path).await.status(), 403, "ht.thcs {path}");
    }
    let (code, _) = post_answer(&app, &ht, &th, &province_survey, "draft", &[]).await;
    assert_eq!(code, 403);
    let gv = app.login("gv.toan").await;
    for path in [
        format!("/schools/{thcs}/surveys/{province_survey}"),
        format!("/schools/{thcs}/surveys"),
        format!("/surveys/{province_survey}"),
    ] {
        assert_eq!(app.get(&gv, &path).await.status(), 403, "gv.toan {path}");
    }
    let (code, _) = post_answer(&app, &gv, &thcs, &province_survey, "draft", &[]).await;
    assert_eq!(code, 403);

    // Officers read answers within their unit, and never write them.
    assert_eq!(
        app.get(&xa, &format!("/schools/{thcs}/surveys/{province_survey}"))
            .await
            .status(),
        200
    );
    let (code, _) = post_answer(&app, &xa, &thcs, &province_survey, "draft", &[]).await;
    assert_eq!(code, 403);

    // Another commune: not the Gia Viễn survey, not its schools; the Sở's survey for its own.
    let hl = hoa_lu_officer(&app).await;
    for path in [
        format!("/surveys/{commune_survey}"),
        format!("/surveys/{commune_survey}/results.xlsx"),
        format!("/schools/{thcs}/surveys/{province_survey}"),
        format!("/schools/{thcs}/surveys"),
        format!("/units/{gv_unit}/surveys"),
    ] {
        assert_eq!(app.get(&hl, &path).await.status(), 403, "xa.hoalu {path}");
    }
    let r = hl
        .post(app.url(&format!("/surveys/{commune_survey}/remind")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (code, page) = text(&app, &hl, &format!("/surveys/{province_survey}")).await;
    assert_eq!(code, 200);
    assert_eq!(page.matches("data-school=").count(), 2);
    assert!(page.contains("37THDTH") && !page.contains("37THCSGV"));
    // The commune does not see the Sở's survey of upper-secondary schools at all.
    assert_eq!(
        app.get(&xa, &format!("/surveys/{upper}")).await.status(),
        403
    );
}

#[tokio::test]
async fn reminders_reach_the_principals_and_school_admins_of_missing_schools() {
    let app = TestApp::spawn().await;
    let province = unit_id(&app, "37").await;
    let so = app.login("so.chuyenvien").await;
    let id = issue(&app, &so, &province, "devices", "Thiết bị (nhắc)", &[]).await;
    let thcs = app.school_id("37THCSGV").await;
    let ht = app.login("ht.thcs").await;
    let (code, _) = post_answer(&app, &ht, &thcs, &id, "submit", DEVICE_ANSWER).await;
    assert_eq!(code, 303);
    // The other commune school has only a draft: still missing, so reminded.
    let th = app.school_id("37THGV01").await;
    let ht_th = app.login("ht.37thgv01").await;
    let (code, _) = post_answer(&app, &ht_th, &th, &id, "draft", &[("v_poor", "1")]).await;
    assert_eq!(code, 303);

    let r = so
        .post(app.url(&format!("/surveys/{id}/remind")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/surveys/{id}?ok=reminded"));
    let reminder = "Nhắc nộp khảo sát: Thiết bị (nhắc)";
    for missing in ["ht.37thgv01", "ht.37thptlvt", "ht.37gdtxnb"] {
        assert!(
            notices(&app, missing).await.iter().any(|t| t == reminder),
            "{missing}"
        );
    }
    for done in ["ht.thcs", "qt.thcs", "gv.toan", "so.chuyenvien"] {
        assert!(
            !notices(&app, done).await.iter().any(|t| t == reminder),
            "{done} is not reminded"
        );
    }
    let (_, inbox) = text(&app, &ht_th, "/inbox").await;
    assert!(inbox.contains(reminder), "{inbox}");
    // The notice leads to the school's form.
    let user = app.db.user_by_username("ht.37thgv01").await.unwrap();
    let note = app
        .db
        .notifications(user.id, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.title == reminder)
        .unwrap();
    assert_eq!(note.link, format!("/schools/{th}/surveys/{id}"));
    let (_, page) = text(&app, &so, &format!("/surveys/{id}")).await;
    assert!(page.contains("Lần nhắc gần nhất"));

    // Reminding a commune's schools of the Sở's survey reaches only that commune.
    let xa = app.login("xa.canbo").await;
    let before = notices(&app, "ht.37thptlvt").await.len();
    let r = xa
        .post(app.url(&format!("/surveys/{id}/remind")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(notices(&app, "ht.37thptlvt").await.len(), before);
    assert_eq!(
        notices(&app, "ht.37thgv01")
            .await
            .iter()
            .filter(|t| *t == reminder)
            .count(),
        2
    );
}

async fn upload_doc(
    app: &TestApp,
    c: &reqwest::Client,
    school: &str,
    kind: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (u16, String) {
    let form = reqwest::multipart::Form::new()
        .text("kind", kind.to_owned())
        .text("note", "Số 12/KH-THCS".to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
    let r = c
        .post(app.url(&format!("/schools/{school}/documents")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n".to_vec()
}

#[tokio::test]
async fn documents_are_uploaded_approved_per_version_and_checked_by_their_bytes() {
    let app = TestApp::spawn().await;
    let thcs = app.school_id("37THCSGV").await;
    let sid: domain::Id = thcs.parse().unwrap();
    let year = app.db.current_year(sid).await.unwrap().unwrap();
    let versions = || async { app.db.school_documents(sid, year.id).await.unwrap() };
    let qt = app.login("qt.thcs").await;
    let ht = app.login("ht.thcs").await;

    let (code, body) =
        upload_doc(&app, &qt, &thcs, "online_plan", "Kế hoạch DHTT.pdf", pdf()).await;
    assert_eq!(code, 303, "{body}");
    let (_, page) = text(&app, &qt, &format!("/schools/{thcs}/documents")).await;
    assert!(page.contains("data-doc-kind=\"online_plan\" data-doc-status=\"waiting\""));
    assert!(page.contains("data-doc-kind=\"regulation\" data-doc-status=\"missing\""));
    let v1 = versions().await[0].id;

    // Only the principal approves.
    let approve = |c: &reqwest::Client, doc: domain::Id| {
        c.post(app.url(&format!("/schools/{thcs}/documents/{doc}/approve")))
            .send()
    };
    assert_eq!(approve(&qt, v1).await.unwrap().status(), 403);
    assert_eq!(approve(&ht, v1).await.unwrap().status(), 303);
    let (_, page) = text(&app, &ht, &format!("/schools/{thcs}/documents")).await;
    assert!(page.contains("data-doc-kind=\"online_plan\" data-doc-status=\"approved\""));
    assert_eq!(
        approve(&ht, v1).await.unwrap().status(),
        409,
        "already approved"
    );

    // A new version waits for approval again; the old one cannot be approved instead.
    let (code, _) = upload_doc(
        &app,
        &qt,
        &thcs,
        "online_plan",
        "Kế hoạch (sửa đổi).pdf",
        pdf(),
    )
    .await;
    assert_eq!(code, 303);
    let docs = versions().await;
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].version, 2);
    let (_, page) = text(&app, &qt, &format!("/schools/{thcs}/documents")).await;
    assert!(page.contains("data-doc-kind=\"online_plan\" data-doc-status=\"waiting\""));
    assert_eq!(approve(&ht, v1).await.unwrap().status(), 409);

    // Wrong kinds are refused by their bytes and nothing is kept.
    let png = vec![
        0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', 0, 0, 0, 0,
    ];
    for (name, bytes, says) in [
        ("quy-che.pdf", png.clone(), "quy-che.pdf"),
        ("quy-che.png", png, "chỉ nhận PDF hoặc Word"),
        ("quy-che.exe", b"MZ\x90\x00".to_vec(), "quy-che.exe"),
        ("quy-che.docx", pdf(), "quy-che.docx"),
    ] {
        let (code, body) = upload_doc(&app, &qt, &thcs, "regulation", name, bytes).await;
        assert_eq!(code, 400, "{name}");
        assert!(body.contains(says), "{name}: {body}");
    }
    let (code, body) = upload_doc(&app, &qt, &thcs, "menu", "a.pdf", pdf()).await;
    assert_eq!(code, 400);
    assert!(body.contains("Loại văn bản"), "{body}");
    assert_eq!(versions().await.len(), 2, "nothing added");

    // A Word regulation.
    let (code, body) = upload_doc(
        &app,
        &qt,
        &thcs,
        "regulation",
        "Quy chế.docx",
        exam::docx::template_docx(),
    )
    .await;
    assert_eq!(code, 303, "{body}");
    let reg = versions()
        .await
        .into_iter()
        .find(|d| d.kind == db::surveys::DocKind::Regulation)
        .unwrap();
    assert_eq!(
        reg.content_type,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    let v2 = versions().await[0].id;
    assert_eq!(approve(&ht, v2).await.unwrap().status(), 303);

    // The commune sees every school's status; the file opens for it.
    let xa = app.login("xa.canbo").await;
    let gv_unit = unit_id(&app, "GV").await;
    let (code, page) = text(&app, &xa, &format!("/units/{gv_unit}/documents")).await;
    assert_eq!(code, 200);
    let card = &page[page.find("data-school=\"37THCSGV\"").unwrap()..];
    assert!(
        card.contains("data-plan=\"approved\"") && card.contains("data-regulation=\"waiting\"")
    );
    let other = &page[page.find("data-school=\"37THGV01\"").unwrap()..];
    assert!(other.contains("data-plan=\"missing\""));
    let r = app
        .get(&xa, &format!("/schools/{thcs}/documents/{}/file", reg.id))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        exam::docx::template_docx()
    );
    assert_eq!(approve(&xa, reg.id).await.unwrap().status(), 403);

    // Nobody else.
    let hl = hoa_lu_officer(&app).await;
    let gv = app.login("gv.toan").await;
    let ht_other = app.login("ht.37thdth").await;
    for (who, c) in [
        ("xa.hoalu", &hl),
        ("gv.toan", &gv),
        ("ht.37thdth", &ht_other),
    ] {
        for path in [
            format!("/schools/{thcs}/documents"),
            format!("/schools/{thcs}/documents/{}/file", reg.id),
        ] {
            assert_eq!(app.get(c, &path).await.status(), 403, "{who} {path}");
        }
        let (code, _) = upload_doc(&app, c, &thcs, "regulation", "x.pdf", pdf()).await;
        assert_eq!(code, 403, "{who}");
    }
    assert_eq!(
        app.get(&hl, &format!("/units/{gv_unit}/documents"))
            .await
            .status(),
        403
    );

    // Audited: who, what, before and after.
    let audit = app.db.audit_of_school(sid, 50).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "document.upload")
            .count(),
        3
    );
    assert!(
        audit
            .iter()
            .any(|a| a.action == "document.approve" && a.detail.contains("\"after\":\"approved\""))
    );
}

#[tokio::test]
async fn the_demo_has_an_open_device_survey_with_one_answer() {
    let app = TestApp::spawn().await;
    let province = unit_id(&app, "37").await;
    let so = app.login("so.chuyenvien").await;
    let (code, list) = text(&app, &so, &format!("/units/{province}/surveys")).await;
    assert_eq!(code, 200);
    let start = list.find("href=\"/surveys/").expect("a survey") + 15;
    let id = &list[start..start + 36];
    let (_, page) = text(&app, &so, &format!("/surveys/{id}")).await;
    assert!(page.contains("data-count=\"submitted\">1<"));
    assert_eq!(total_of(&page, "poor"), 3);
}

#[tokio::test]
async fn the_issuer_moves_the_deadline_closes_early_and_reopens() {
    let app = TestApp::spawn().await;
    let province = unit_id(&app, "37").await;
    let thcs = app.school_id("37THCSGV").await;
    let so = app.login("so.chuyenvien").await;
    let id = issue(
        &app,
        &so,
        &province,
        "infrastructure",
        "Hạ tầng quý III",
        &[],
    )
    .await;
    let ht = app.login("ht.thcs").await;
    let (code, _) = post_answer(&app, &ht, &thcs, &id, "draft", INFRA_ANSWER).await;
    assert_eq!(code, 303);
    let before = app.db.survey(id.parse().unwrap()).await.unwrap();

    // A new deadline, a stricter late policy and new instructions; the school is told.
    let later = deadline_in_days(10);
    let r = so
        .post(app.url(&format!("/surveys/{id}/edit")))
        .form(&[
            ("deadline", later.as_str()),
            ("late", "refuse"),
            ("instructions", "Báo cáo cả phòng máy của điểm trường lẻ."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let after = app.db.survey(id.parse().unwrap()).await.unwrap();
    assert!(after.deadline_at > before.deadline_at + 2 * 86_400_000);
    assert_eq!(after.late_policy, LatePolicy::Refuse);
    assert_eq!(
        after.instructions,
        "Báo cáo cả phòng máy của điểm trường lẻ."
    );
    assert!(
        notices(&app, "ht.thcs")
            .await
            .iter()
            .any(|t| t == "Hạn nộp mới: Hạ tầng quý III"),
        "the principal is told the new deadline"
    );
    let (_, results) = text(&app, &so, &format!("/surveys/{id}")).await;
    assert!(results.contains("data-survey-edit") && results.contains("data-action=\"close\""));

    // A deadline in the past, or an unknown policy, changes nothing.
    for (deadline, late, said) in [
        (deadline_in_days(-1), "accept", "đã qua"),
        (later.clone(), "sometimes", "không hợp lệ"),
    ] {
        let r = so
            .post(app.url(&format!("/surveys/{id}/edit")))
            .form(&[("deadline", deadline.as_str()), ("late", late)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains(said));
    }
    let unchanged = app.db.survey(id.parse().unwrap()).await.unwrap();
    assert_eq!(unchanged.deadline_at, after.deadline_at);
    assert_eq!(unchanged.late_policy, LatePolicy::Refuse);

    // Only the issuer: not a commune below it, not the school.
    let xa = app.login("xa.canbo").await;
    for c in [&xa, &ht] {
        for action in ["edit", "close", "reopen"] {
            let r = c
                .post(app.url(&format!("/surveys/{id}/{action}")))
                .form(&[("deadline", later.as_str()), ("late", "accept")])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{action}");
        }
    }

    // Closed early: nothing more is saved or submitted, with a clear message.
    let r = so
        .post(app.url(&format!("/surveys/{id}/close")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, form) = text(&app, &ht, &format!("/schools/{thcs}/surveys/{id}")).await;
    assert!(form.contains("data-closed=\"early\"") && !form.contains("data-survey-form"));
    for action in ["submit", "draft"] {
        let (code, body) = post_answer(&app, &ht, &thcs, &id, action, INFRA_ANSWER).await;
        assert_eq!(code, 409, "{action}");
        assert!(body.contains("đã đóng khảo sát này"), "{body}");
    }
    assert_eq!(status_of(&app, &id, "37THCSGV").await, Status::Draft);
    let r = so
        .post(app.url(&format!("/surveys/{id}/close")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "already closed");
    let (_, results) = text(&app, &so, &format!("/surveys/{id}")).await;
    assert!(results.contains("data-survey-closed") && results.contains("data-action=\"reopen\""));

    // Reopened: the school submits.
    let r = so
        .post(app.url(&format!("/surveys/{id}/reopen")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (code, body) = post_answer(&app, &ht, &thcs, &id, "submit", INFRA_ANSWER).await;
    assert_eq!(code, 303, "{body}");
    assert_eq!(status_of(&app, &id, "37THCSGV").await, Status::Submitted);
}
