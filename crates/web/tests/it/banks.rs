//! Question banks: import with preview and confirmation, duplicates, bad files, search without
//! accents, editing with versions, export, the group head's approval, and who may see what.

use crate::harness::{TestApp, location};
use exam::model::{Content, Exam, Question, QuestionKind, Section};

pub(crate) async fn create_bank(
    app: &TestApp,
    c: &reqwest::Client,
    school: &str,
    name: &str,
    scope: &str,
) -> String {
    let r = c
        .post(app.url(&format!("/schools/{school}/banks")))
        .form(&[("name", name), ("scope", scope)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    location(&r).rsplit('/').next().unwrap().to_owned()
}

pub(crate) async fn upload(
    app: &TestApp,
    c: &reqwest::Client,
    school: &str,
    bank: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (u16, String) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    let r = c
        .post(app.url(&format!("/schools/{school}/banks/{bank}/import")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn token(html: &str) -> String {
    let start = html
        .find("name=\"token\" value=\"")
        .expect("a confirm form")
        + 20;
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

pub(crate) async fn confirm(
    app: &TestApp,
    c: &reqwest::Client,
    school: &str,
    bank: &str,
    html: &str,
    name: &str,
    force: bool,
) -> reqwest::Response {
    let t = token(html);
    let mut fields = vec![("token", t.as_str()), ("name", name)];
    if force {
        fields.push(("force", "1"));
    }
    c.post(app.url(&format!("/schools/{school}/banks/{bank}/import/confirm")))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

async fn stored(app: &TestApp, school: &str, bank: &str) -> usize {
    let b = app
        .db
        .bank(school.parse().unwrap(), bank.parse().unwrap())
        .await
        .unwrap();
    app.db.bank_texts(&b).await.unwrap().len()
}

async fn page(app: &TestApp, c: &reqwest::Client, path: &str) -> (u16, String) {
    let r = app.get(c, path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A zip whose only entry claims to unpack 200 MB from 1 byte.
fn zip_bomb() -> Vec<u8> {
    let name = b"word/document.xml";
    let size: u32 = 200 * 1024 * 1024;
    let mut z = Vec::new();
    let le16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let le32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    le32(&mut z, 0x0403_4b50);
    for x in [20u16, 0, 8, 0, 0] {
        le16(&mut z, x);
    }
    le32(&mut z, 0);
    le32(&mut z, 1);
    le32(&mut z, size);
    le16(&mut z, name.len() as u16);
    le16(&mut z, 0);
    z.extend_from_slice(name);
    z.push(0x03);
    let cd = z.len() as u32;
    le32(&mut z, 0x0201_4b50);
    for x in [20u16, 20, 0, 8, 0, 0] {
        le16(&mut z, x);
    }
    le32(&mut z, 0);
    le32(&mut z, 1);
    le32(&mut z, size);
    le16(&mut z, name.len() as u16);
    for x in [0u16, 0, 0, 0] {
        le16(&mut z, x);
    }
    le32(&mut z, 0);
    le32(&mut z, 0);
    z.extend_from_slice(name);
    let cd_size = z.len() as u32 - cd;
    le32(&mut z, 0x0605_4b50);
    for x in [0u16, 0, 1, 1] {
        le16(&mut z, x);
    }
    le32(&mut z, cd_size);
    le32(&mut z, cd);
    le16(&mut z, 0);
    z
}

fn single(stem: &str, key: Option<usize>) -> Question {
    Question::new(
        stem,
        QuestionKind::SingleChoice {
            options: ["3", "4", "5", "6"]
                .iter()
                .map(|o| Content::from(*o))
                .collect(),
            key,
        },
    )
}

#[tokio::test]
async fn the_template_is_previewed_then_saved_and_a_second_import_skips_duplicates() {
    let app = TestApp::spawn().await;
    let school = app.school_id("37THCSGV").await;
    let gv = app.login("gv.toan").await;
    let r = app
        .get(&gv, &format!("/schools/{school}/bank-template.docx"))
        .await;
    assert_eq!(r.status(), 200);
    let template = r.bytes().await.unwrap().to_vec();
    assert_eq!(template, exam::docx::template_docx());
    let bank = create_bank(&app, &gv, &school, "Toán 9 – Đề mẫu", "personal").await;

    // Preview: counts per kind, every question listed, nothing saved.
    let (status, html) = upload(&app, &gv, &school, &bank, "mau.docx", template.clone()).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("7 câu: 3 trắc nghiệm một lựa chọn, 2 đúng/sai, 1 trả lời ngắn, 1 tự luận"),
        "{html}"
    );
    assert!(html.contains("Thủ đô của Việt Nam là") && html.contains("Đ S Đ Đ"));
    assert!(html.contains("data-to-save=\"7\""), "{html}");
    assert_eq!(stored(&app, &school, &bank).await, 0);

    // Confirm saves all seven at once.
    let r = confirm(&app, &gv, &school, &bank, &html, "mau.docx", false).await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).contains("saved=7"), "{}", location(&r));
    assert_eq!(stored(&app, &school, &bank).await, 7);
    // The upload is gone: confirming twice does not save twice.
    let r = confirm(&app, &gv, &school, &bank, &html, "mau.docx", false).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("tải tệp lên lại"));
    let (_, list) = page(&app, &gv, &format!("/schools/{school}/banks/{bank}")).await;
    assert!(list.contains("data-total=\"7\""), "{list}");

    // The same file again: every question is flagged and skipped…
    let (_, html) = upload(&app, &gv, &school, &bank, "mau.docx", template.clone()).await;
    assert_eq!(
        html.matches("data-duplicate=\"exact\"").count(),
        7,
        "{html}"
    );
    assert!(html.contains("data-to-save=\"0\""));
    let r = confirm(&app, &gv, &school, &bank, &html, "mau.docx", false).await;
    assert_eq!(r.status(), 303);
    assert!(
        location(&r).contains("saved=0&skipped=7"),
        "{}",
        location(&r)
    );
    assert_eq!(stored(&app, &school, &bank).await, 7);
    // …unless the teacher asks to import them anyway.
    let (_, html) = upload(&app, &gv, &school, &bank, "mau.docx", template).await;
    let r = confirm(&app, &gv, &school, &bank, &html, "mau.docx", true).await;
    assert!(location(&r).contains("saved=7"));
    assert_eq!(stored(&app, &school, &bank).await, 14);

    // Export: Word reads back, Moodle XML is a quiz.
    let r = app
        .get(&gv, &format!("/schools/{school}/banks/{bank}/export.docx"))
        .await;
    assert_eq!(r.status(), 200);
    let back = exam::docx::import(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(back.questions.len(), 14, "{:?}", back.errors);
    let (status, xml) = page(
        &app,
        &gv,
        &format!("/schools/{school}/banks/{bank}/export.xml"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(xml.contains("<quiz>") && xml.contains("Thủ đô của Việt Nam"));
}

#[tokio::test]
async fn a_question_without_a_key_is_reported_and_only_valid_ones_are_saved() {
    let app = TestApp::spawn().await;
    let school = app.school_id("37THCSGV").await;
    let gv = app.login("gv.toan").await;
    let bank = create_bank(&app, &gv, &school, "Kiểm tra nhanh", "personal").await;
    let paper = Exam {
        title: "Kiểm tra".into(),
        sections: vec![Section {
            title: "PHẦN I. Câu trắc nghiệm nhiều phương án lựa chọn".into(),
            questions: vec![
                single("Số cạnh của tam giác là", Some(0)),
                single("Số cạnh của hình vuông là", None),
                single("Số cạnh của ngũ giác là", Some(2)),
            ],
        }],
        ..Exam::default()
    };
    let (status, html) = upload(
        &app,
        &gv,
        &school,
        &bank,
        "thieu-dap-an.docx",
        exam::docx::export_docx(&paper),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Câu 2: không có đáp án đúng"), "{html}");
    assert!(html.contains("data-to-save=\"2\""), "{html}");
    let r = confirm(&app, &gv, &school, &bank, &html, "thieu-dap-an.docx", false).await;
    assert!(
        location(&r).contains("saved=2&skipped=1"),
        "{}",
        location(&r)
    );
    assert_eq!(stored(&app, &school, &bank).await, 2);
}

#[tokio::test]
async fn files_that_are_not_question_files_get_a_clear_vietnamese_error() {
    let app = TestApp::spawn().await;
    let school = app.school_id("37THCSGV").await;
    let gv = app.login("gv.toan").await;
    let bank = create_bank(&app, &gv, &school, "Thử tệp xấu", "personal").await;
    let (status, html) = upload(
        &app,
        &gv,
        &school,
        &bank,
        "de.docx",
        b"day khong phai docx".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        html.contains("không phải tệp Word (.docx) hợp lệ"),
        "{html}"
    );
    let (status, html) = upload(&app, &gv, &school, &bank, "bom.docx", zip_bomb()).await;
    assert_eq!(status, 400);
    assert!(
        html.contains("Tệp quá lớn") && html.contains("zip bomb"),
        "{html}"
    );
    let (status, html) = upload(&app, &gv, &school, &bank, "de.pdf", b"%PDF-1.4".to_vec()).await;
    assert_eq!(status, 400);
    assert!(
        html.contains(".docx") && html.contains("Moodle XML"),
        "{html}"
    );
    let (status, html) = upload(&app, &gv, &school, &bank, "de.txt", vec![0xff, 0xfe, 0x00]).await;
    assert_eq!(status, 400);
    assert!(html.contains("UTF-8"), "{html}");
    assert_eq!(stored(&app, &school, &bank).await, 0);
}

#[tokio::test]
async fn search_ignores_accents_and_edits_make_versions() {
    let app = TestApp::spawn().await;
    let school = app.school_id("37THCSGV").await;
    let gv = app.login("gv.toan").await;
    let bank = create_bank(&app, &gv, &school, "Số học 6", "personal").await;
    let aiken = "Phân số nào lớn nhất?\nA. 1/2\nB. 2/3\nC. 3/4\nD. 1/4\nANSWER: C\n\n\
                 Số nguyên tố nhỏ nhất là\nA. 0\nB. 1\nC. 2\nD. 3\nANSWER: C\n";
    let (status, html) = upload(
        &app,
        &gv,
        &school,
        &bank,
        "aiken.txt",
        aiken.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("2 câu: 2 trắc nghiệm một lựa chọn"), "{html}");
    confirm(&app, &gv, &school, &bank, &html, "aiken.txt", false).await;

    let (_, list) = page(
        &app,
        &gv,
        &format!("/schools/{school}/banks/{bank}?q=phan+so"),
    )
    .await;
    assert!(
        list.contains("data-total=\"1\"") && list.contains("Phân số nào lớn nhất?"),
        "{list}"
    );
    let (_, list) = page(
        &app,
        &gv,
        &format!("/schools/{school}/banks/{bank}?q=NGUYEN+TO"),
    )
    .await;
    assert!(
        list.contains("data-total=\"1\"") && list.contains("Số nguyên tố"),
        "{list}"
    );
    let (_, list) = page(
        &app,
        &gv,
        &format!("/schools/{school}/banks/{bank}?kind=essay"),
    )
    .await;
    assert!(list.contains("data-total=\"0\""));

    // Edit the first question: a new version, listed in the history.
    let b = app
        .db
        .bank(school.parse().unwrap(), bank.parse().unwrap())
        .await
        .unwrap();
    let q = app
        .db
        .bank_questions(
            &b,
            &db::banks::QuestionFilter {
                query: "phan so".into(),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .questions
        .remove(0);
    let url = format!("/schools/{school}/banks/{bank}/questions/{}", q.id);
    let (status, edit) = page(&app, &gv, &url).await;
    assert_eq!(status, 200);
    assert!(edit.contains("Phân số nào lớn nhất?"));
    let r = gv
        .post(app.url(&url))
        .form(&[
            ("version", "1"),
            ("stem", "Phân số nào lớn nhất trong các phân số sau?"),
            ("options", "1/2\n2/3\n3/4\n1/4"),
            ("key", "C"),
            ("topic", "Phân số"),
            ("level", "thong_hieu"),
            ("grade", "6"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let (_, edit) = page(&app, &gv, &url).await;
    assert!(edit.contains("v2") && edit.contains("v1"), "{edit}");
    assert!(edit.contains("trong các phân số sau"));
    // A stale form (version 1 again) is refused, a key outside the options too.
    let r = gv
        .post(app.url(&url))
        .form(&[
            ("version", "1"),
            ("stem", "x"),
            ("options", "a\nb"),
            ("key", "A"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = gv
        .post(app.url(&url))
        .form(&[
            ("version", "2"),
            ("stem", "x"),
            ("options", "a\nb"),
            ("key", "D"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (_, list) = page(
        &app,
        &gv,
        &format!("/schools/{school}/banks/{bank}?level=thong_hieu&grade=6"),
    )
    .await;
    assert!(
        list.contains("data-total=\"1\"") && list.contains("Thông hiểu"),
        "{list}"
    );

    // Retire: it leaves the list.
    let r = gv
        .post(app.url(&format!("{url}/status")))
        .form(&[("action", "retire")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, list) = page(&app, &gv, &format!("/schools/{school}/banks/{bank}")).await;
    assert!(list.contains("data-total=\"1\""), "{list}");
}

#[tokio::test]
async fn students_other_schools_and_other_teachers_do_not_see_a_bank() {
    let app = TestApp::spawn().await;
    let school = app.school_id("37THCSGV").await;
    let gv = app.login("gv.toan").await;
    let bank = create_bank(&app, &gv, &school, "Của riêng tôi", "personal").await;

    let hs = app.login("hs.demo").await;
    assert_eq!(
        app.get(&hs, &format!("/schools/{school}/banks"))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.get(&hs, &format!("/schools/{school}/banks/{bank}"))
            .await
            .status(),
        403
    );

    // Another teacher of the school: a personal bank is not theirs to see.
    let tt = app.login("tt.toan").await;
    assert_eq!(
        app.get(&tt, &format!("/schools/{school}/banks/{bank}"))
            .await
            .status(),
        404
    );
    let (_, list) = page(&app, &tt, &format!("/schools/{school}/banks")).await;
    assert!(!list.contains("Của riêng tôi"));

    // A principal of another school: 403 at this school, 404 through their own.
    let other = app
        .db
        .schools_within("/")
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.code != "37THCSGV")
        .unwrap();
    let ht = app
        .login(&format!("ht.{}", other.code.to_lowercase()))
        .await;
    assert_eq!(
        app.get(&ht, &format!("/schools/{school}/banks/{bank}"))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.get(&ht, &format!("/schools/{}/banks/{bank}", other.id))
            .await
            .status(),
        404
    );
    let r = ht
        .post(app.url(&format!("/schools/{school}/banks")))
        .form(&[("name", "Lạ"), ("scope", "personal")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A teacher cannot create a school-wide bank.
    let r = gv
        .post(app.url(&format!("/schools/{school}/banks")))
        .form(&[("name", "Toàn trường"), ("scope", "school")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn a_group_bank_question_waits_for_the_group_head() {
    let app = TestApp::spawn().await;
    let school = app.school_id("37THCSGV").await;
    let gv = app.login("gv.toan").await;
    let bank = create_bank(&app, &gv, &school, "Tổ Toán – Tin", "group").await;
    let aiken = "Căn bậc hai của 9 là\nA. 2\nB. 3\nC. 4\nD. 5\nANSWER: B\n";
    let (_, html) = upload(
        &app,
        &gv,
        &school,
        &bank,
        "to.txt",
        aiken.as_bytes().to_vec(),
    )
    .await;
    assert!(html.contains("chờ tổ trưởng duyệt"), "{html}");
    confirm(&app, &gv, &school, &bank, &html, "to.txt", false).await;
    let b = app
        .db
        .bank(school.parse().unwrap(), bank.parse().unwrap())
        .await
        .unwrap();
    let q = app.db.bank_all_questions(&b).await.unwrap().remove(0);
    assert_eq!(q.status, "in_review");
    let status_url = format!("/schools/{school}/banks/{bank}/questions/{}/status", q.id);

    // The author cannot approve; the principal (no subject group) does not see the group bank.
    let r = gv
        .post(app.url(&status_url))
        .form(&[("action", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let ht = app.login("ht.thcs").await;
    assert_eq!(
        app.get(&ht, &format!("/schools/{school}/banks/{bank}"))
            .await
            .status(),
        404
    );

    // The head of the group sees it waiting and approves it.
    let tt = app.login("tt.toan").await;
    let (status, list) = page(
        &app,
        &tt,
        &format!("/schools/{school}/banks/{bank}?status=in_review"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        list.contains("data-action=\"approve\"") && list.contains("Căn bậc hai"),
        "{list}"
    );
    let r = tt
        .post(app.url(&status_url))
        .form(&[("action", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.db.bank_all_questions(&b).await.unwrap()[0].status,
        "active"
    );

    // The head's own questions need no approval; the teacher's edits go back to review.
    let (_, html) = upload(
        &app,
        &tt,
        &school,
        &bank,
        "tt.txt",
        "Lập phương của 2 là\nA. 4\nB. 6\nC. 8\nD. 9\nANSWER: C\n"
            .as_bytes()
            .to_vec(),
    )
    .await;
    confirm(&app, &tt, &school, &bank, &html, "tt.txt", false).await;
    let all = app.db.bank_all_questions(&b).await.unwrap();
    assert_eq!(all[1].status, "active");
}
