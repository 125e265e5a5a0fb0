//! Roster import through the web UI: preview with row errors, all-or-nothing, re-import
//! without duplicates, export round trip; and the school set-up forms.

use crate::harness::TestApp;
use rust_xlsxwriter::Workbook;

/// An xlsx with a title row above the header, like files from the sector database.
fn roster_file(rows: &[[&str; 7]]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write(0, 0, "DANH SÁCH HỌC SINH NĂM HỌC 2026-2027")
        .unwrap();
    let header = [
        "STT",
        "Lớp",
        "Mã học sinh",
        "Họ và tên",
        "Ngày sinh",
        "Giới tính",
        "SĐT phụ huynh",
        "Họ tên phụ huynh",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write(2, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        ws.write(3 + r as u32, 0, (r + 1) as f64).unwrap();
        for (c, v) in row.iter().enumerate() {
            ws.write(3 + r as u32, 1 + c as u16, *v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

fn good_rows(n: usize) -> Vec<[String; 7]> {
    (0..n)
        .map(|i| {
            [
                if i % 2 == 0 {
                    "8A3".into()
                } else {
                    "8A4".into()
                },
                format!("TEST{i:05}"),
                format!("Nguyễn Thị Thu {}", ["Hà", "Lan", "Mai", "Đào"][i % 4]),
                format!("{:02}/0{}/2012", 1 + i % 28, 1 + i % 9),
                if i % 3 == 0 {
                    "Nam".into()
                } else {
                    "Nữ".into()
                },
                format!("0971{:06}", i),
                "Trần Văn Bố".into(),
            ]
        })
        .collect()
}

fn as_refs(rows: &[[String; 7]]) -> Vec<[&str; 7]> {
    rows.iter()
        .map(|r| std::array::from_fn(|i| r[i].as_str()))
        .collect()
}

async fn upload(
    app: &TestApp,
    c: &reqwest::Client,
    school: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("danh-sach.xlsx");
    let form = reqwest::multipart::Form::new().part("file", part);
    c.post(app.url(&format!("/schools/{school}/import")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn student_count(app: &TestApp, code: &str) -> usize {
    let s = app.db.school_by_code(code).await.unwrap();
    app.db
        .students(s.id, None, &Default::default())
        .await
        .unwrap()
        .len()
}

async fn confirm_and_wait(
    app: &TestApp,
    c: &reqwest::Client,
    school: &str,
    preview: &str,
) -> String {
    let token = preview
        .split("/import/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .expect("confirm form");
    let r = c
        .post(app.url(&format!("/schools/{school}/import/{token}/confirm")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    for _ in 0..200 {
        let page = app
            .get(c, &format!("/schools/{school}/import/{token}"))
            .await
            .text()
            .await
            .unwrap();
        if page.contains("data-import-result") || page.contains("data-import-failed") {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("import did not finish");
}

#[tokio::test]
async fn bad_rows_are_listed_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let c = app.login("ht.thcs").await;
    let school = app.school_id("37THCSGV").await;
    let before = student_count(&app, "37THCSGV").await;
    let mut rows = good_rows(3);
    rows[1][3] = "31/02/2012".into(); // Excel row 5
    rows[2][5] = "0241234".into(); // Excel row 6
    let r = upload(&app, &c, &school, roster_file(&as_refs(&rows))).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("import-errors"));
    assert!(
        page.contains("Dòng 5") && page.contains("31/02/2012"),
        "{page}"
    );
    assert!(page.contains("Dòng 6"));
    assert!(!page.contains("data-action=\"confirm\""));
    assert_eq!(student_count(&app, "37THCSGV").await, before);

    // A file of another kind, and a grade the school does not teach.
    let r = upload(&app, &c, &school, b"not a spreadsheet at all".to_vec()).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("không phải bảng tính"));
    let mut rows = good_rows(1);
    rows[0][0] = "11A1".into();
    let page = upload(&app, &c, &school, roster_file(&as_refs(&rows)))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("khối 11"), "{page}");
}

#[tokio::test]
async fn a_good_roster_imports_and_reimports_without_duplicates() {
    let app = TestApp::spawn().await;
    let c = app.login("qt.thcs").await;
    let school = app.school_id("37THCSGV").await;
    let before = student_count(&app, "37THCSGV").await;
    let rows = good_rows(40);
    let file = roster_file(&as_refs(&rows));
    let preview = upload(&app, &c, &school, file.clone())
        .await
        .text()
        .await
        .unwrap();
    assert!(preview.contains("40 học sinh mới"), "{preview}");
    let result = confirm_and_wait(&app, &c, &school, &preview).await;
    assert!(result.contains("data-created>40<"), "{result}");
    assert_eq!(student_count(&app, "37THCSGV").await, before + 40);

    // Same file again: everyone is updated, nobody duplicated.
    let preview = upload(&app, &c, &school, file).await.text().await.unwrap();
    assert!(
        preview.contains("0 học sinh mới, 40 học sinh đã có"),
        "{preview}"
    );
    let result = confirm_and_wait(&app, &c, &school, &preview).await;
    assert!(result.contains("data-created>0<"));
    assert_eq!(student_count(&app, "37THCSGV").await, before + 40);

    // Classes were created with their grade; parents can log in by phone once given a password.
    let classes = app
        .get(&c, &format!("/schools/{school}/classes"))
        .await
        .text()
        .await
        .unwrap();
    assert!(classes.contains("8A3") && classes.contains("8A4"));
    let parent = app
        .db
        .user_by_login("0971000001")
        .await
        .unwrap()
        .expect("parent account");
    assert!(parent.password_hash.is_none());

    // Export reads back through the importer to the same students.
    let bytes = app
        .get(&c, &format!("/schools/{school}/export.xlsx"))
        .await
        .bytes()
        .await
        .unwrap();
    let parsed = office::roster::parse_roster(&bytes).expect("export parses");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(parsed.rows.len(), before + 40);

    // The same students moving to another school of the server are created there too, with
    // their own accounts (the login gets the school code appended).
    let other_school = app.school_id("37THCSTHS").await;
    let other_principal = app.login("ht.37thcsths").await;
    let rows = good_rows(40);
    let preview = upload(
        &app,
        &other_principal,
        &other_school,
        roster_file(&as_refs(&rows)),
    )
    .await
    .text()
    .await
    .unwrap();
    let result = confirm_and_wait(&app, &other_principal, &other_school, &preview).await;
    assert!(result.contains("data-created>40<"), "{result}");
    app.db
        .user_by_username("test00001.37thcsths")
        .await
        .expect("second account");

    // Another principal cannot confirm this school's import, even with a valid token.
    let other = app.login("ht.37thptlvt").await;
    let r = other
        .post(app.url(&format!("/schools/{school}/import/whatever/confirm")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn the_school_year_is_set_up_through_the_forms() {
    let app = TestApp::spawn().await;
    let c = app.login("ht.thcs").await;
    let school = app.school_id("37THCSGV").await;
    // Impossible dates are refused with the field named.
    let r = c
        .post(app.url(&format!("/schools/{school}/years")))
        .form(&[
            ("start", "05/09/2027"),
            ("term1_end", "31/02/2028"),
            ("term2_start", "19/01/2028"),
            ("end", "25/05/2028"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Ngày kết thúc học kỳ I"));
    let r = c
        .post(app.url(&format!("/schools/{school}/years")))
        .form(&[
            ("start", "05/09/2027"),
            ("term1_end", "15/01/2028"),
            ("term2_start", "17/01/2028"),
            ("end", "25/05/2028"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let years = app
        .get(&c, &format!("/schools/{school}/years"))
        .await
        .text()
        .await
        .unwrap();
    assert!(years.contains("2027-2028"));
    // A class of a grade the school does not teach is refused; a duplicate name too.
    let r = c
        .post(app.url(&format!("/schools/{school}/classes")))
        .form(&[("name", "10A"), ("grade", "10")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .post(app.url(&format!("/schools/{school}/classes")))
        .form(&[("name", "6A1"), ("grade", "6")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    // Assigning a subject of another grade is refused with a clear message.
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
    let subject = app
        .db
        .subjects(s.id)
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.grade == 9)
        .unwrap();
    let teacher = app.db.staff(s.id).await.unwrap().remove(0);
    let r = c
        .post(app.url(&format!("/schools/{school}/assignments")))
        .form(&[
            ("class", class.id.to_string()),
            ("subject", subject.id.to_string()),
            ("staff", teacher.id.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("khối 9"));
}

#[tokio::test]
async fn a_file_over_the_limit_is_refused_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let c = app.login("ht.thcs").await;
    let school = app.school_id("37THCSGV").await;
    let before = student_count(&app, "37THCSGV").await;
    let r = upload(&app, &c, &school, vec![b'x'; 11 * 1024 * 1024]).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("quá lớn"));
    // An empty upload, too.
    let r = upload(&app, &c, &school, Vec::new()).await;
    assert_eq!(r.status(), 400);
    assert_eq!(student_count(&app, "37THCSGV").await, before);
}

#[tokio::test]
async fn people_are_corrected_moved_added_and_marked_as_left_never_deleted() {
    let app = TestApp::spawn().await;
    let c = app.login("ht.thcs").await;
    let s = app.db.school_by_code("37THCSGV").await.unwrap();
    let year = app.db.current_year(s.id).await.unwrap().unwrap();
    let classes = app.db.classes(s.id, year.id).await.unwrap();
    let (c6a1, c6a2) = (
        classes.iter().find(|c| c.name == "6A1").unwrap(),
        classes.iter().find(|c| c.name == "6A2").unwrap(),
    );
    let student = app
        .db
        .students(s.id, Some(year.id), &Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.class_id == Some(c6a1.id))
        .unwrap();
    let edit = format!("/schools/{}/students/{}/edit", s.id, student.id);

    // A bad date is refused, naming the field; nothing changes.
    let form = |dob: &str, class: &str| {
        vec![
            ("full_name", "Nguyễn Thị Ánh Dương".to_owned()),
            ("birth_date", dob.to_owned()),
            ("gender", "Nữ".into()),
            ("ethnicity", "Tày".into()),
            ("personal_id", "".into()),
            ("class", class.to_owned()),
        ]
    };
    let r = c
        .post(app.url(&edit))
        .form(&form("31/04/2014", &c6a1.id.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Ngày sinh"));
    assert_eq!(
        app.db
            .student(s.id, student.id, None)
            .await
            .unwrap()
            .full_name,
        student.full_name
    );

    // A correction and a class change, both audited.
    let r = c
        .post(app.url(&edit))
        .form(&form("30/04/2014", &c6a2.id.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let after = app
        .db
        .student(s.id, student.id, Some(year.id))
        .await
        .unwrap();
    assert_eq!(after.full_name, "Nguyễn Thị Ánh Dương");
    assert_eq!(after.ethnicity, "Tày");
    assert_eq!(after.class_name.as_deref(), Some("6A2"));
    let audit = app.db.audit_of_school(s.id, 5).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "student.update" && a.detail.contains(&student.full_name))
    );
    assert!(
        audit
            .iter()
            .any(|a| a.action == "student.move" && a.detail.contains("6A1 → 6A2"))
    );

    // One student added by hand; the same code twice is refused.
    let add = format!("/schools/{}/classes/{}/students", s.id, c6a1.id);
    let new = [
        ("code", "HS2026NEW"),
        ("full_name", "Lò Văn Páo"),
        ("birth_date", "02/02/2014"),
        ("gender", "Nam"),
        ("parent_phone", "0977111222"),
        ("parent_name", "Lò Văn Pá"),
    ];
    let r = c.post(app.url(&add)).form(&new).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = c.post(app.url(&add)).form(&new).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("HS2026NEW"));
    assert!(app.db.user_by_login("0977111222").await.unwrap().is_some());

    // A teacher who left cannot log in; their record stays; back at work, they can.
    let gv = app.db.user_by_username("gv.toan").await.unwrap();
    let member = app.db.staff_by_user(s.id, gv.id).await.unwrap().unwrap();
    let teacher = app.login("gv.toan").await;
    let status = format!("/schools/{}/staff/{}/status", s.id, member.id);
    assert_eq!(
        c.post(app.url(&status))
            .form(&[("active", "0")])
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    assert_eq!(
        crate::harness::location(&app.get(&teacher, "/").await),
        "/login"
    );
    let (_, r) = app.login_as("gv.toan", crate::harness::PASSWORD).await;
    assert_eq!(r.status(), 403);
    assert!(
        app.db
            .staff(s.id)
            .await
            .unwrap()
            .iter()
            .any(|m| m.id == member.id && m.status == "left")
    );
    assert_eq!(
        c.post(app.url(&status))
            .form(&[("active", "1")])
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let teacher = app.login("gv.toan").await;
    // A teacher cannot change anyone's details.
    let r = teacher
        .post(app.url(&edit))
        .form(&form("30/04/2014", &c6a1.id.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
