//! Data exchange with the sector database: a school's and a unit's files keyed by mã trường and
//! mã định danh, results computed from the gradebook, missing identifiers listed by row before
//! the download, and who may export what.

use crate::harness::TestApp;
use calamine::Reader;
use db::gradebook::CellWrite;

fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<String>> {
    let mut wb =
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    wb.worksheet_range(name)
        .unwrap()
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// Gives the first student of 6A1 at THCS Gia Viễn a personal id and a complete term I of Toán.
async fn one_ready_student(app: &TestApp) -> (String, String, String) {
    let school = app.db.school_by_code("37THCSGV").await.unwrap();
    let year = app.db.current_year(school.id).await.unwrap().unwrap();
    app.db.ensure_courses(school.id, year.id).await.unwrap();
    let gv = app.db.user_by_username("gv.toan").await.unwrap();
    let course = app
        .db
        .courses_taught(gv.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.class_name == "6A1" && c.subject_code == "TOAN")
        .unwrap();
    let student = app.db.course_students(&course).await.unwrap().remove(0);
    let full = app
        .db
        .student(school.id, student.student_id, None)
        .await
        .unwrap();
    app.db
        .update_student(
            school.id,
            full.id,
            &db::roster::StudentDetails {
                full_name: full.full_name.clone(),
                personal_id: Some("037212000123".into()),
                birth_date: full.birth_date,
                gender: full.gender,
                ethnicity: full.ethnicity.clone(),
            },
            None,
        )
        .await
        .unwrap();
    // Toán 6 has 140 periods a year: four regular scores.
    let cells: Vec<CellWrite> = [
        ("TX", 1, "8"),
        ("TX", 2, "7"),
        ("TX", 3, "9"),
        ("TX", 4, "8"),
        ("GK", 1, "6"),
        ("CK", 1, "7"),
    ]
    .into_iter()
    .map(|(kind, slot, v)| CellWrite {
        student_id: full.id,
        kind: kind.into(),
        slot,
        value: Some(v.into()),
    })
    .collect();
    app.db
        .set_grades(&course, 1, &cells, "manual", gv.id)
        .await
        .unwrap();
    (school.id.to_string(), full.code, full.full_name)
}

#[tokio::test]
async fn a_school_exports_its_students_by_identifier_and_names_the_missing_ones() {
    let app = TestApp::spawn().await;
    let (school, code, name) = one_ready_student(&app).await;
    let ht = app.login("ht.thcs").await;

    let page = app
        .get(&ht, &format!("/schools/{school}/exchange"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-count=\"ready\">1/72<"), "{page}");
    assert!(
        page.contains("(6A1) chưa có mã định danh"),
        "missing identifiers are named by row: {page}"
    );
    assert!(
        !page.contains(&format!("{name} (6A1) chưa có")),
        "{name} has one now"
    );
    assert!(
        page.contains("/guides/trao-doi-du-lieu"),
        "the layout guide"
    );

    let r = app
        .get(&ht, &format!("/schools/{school}/exchange.xlsx"))
        .await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    let schools = sheet(&bytes, "Truong");
    assert_eq!(schools[0][2], "Mã trường");
    assert_eq!(schools.len(), 2);
    assert_eq!(schools[1][2], "37THCSGV");
    assert_eq!(schools[1][8], "72", "every student is counted");
    let students = sheet(&bytes, "HocSinh");
    assert_eq!(students.len(), 2, "only the student with a mã định danh");
    assert_eq!(students[1][1], "037212000123");
    assert_eq!(students[1][2], code);
    assert_eq!(students[1][7], "6A1");
    let results = sheet(&bytes, "KetQua");
    let toan: Vec<&Vec<String>> = results.iter().filter(|r| r[4] == "TOAN").collect();
    assert_eq!(toan.len(), 1);
    // (8 + 7 + 9 + 8 + 2·6 + 3·7) / 9 = 65/9 = 7,2; term II and the year not yet computable.
    assert_eq!(toan[0][7], "7,2");
    assert_eq!(toan[0][8], "");
    assert_eq!(toan[0][1], "037212000123");
    let missing = sheet(&bytes, "CanBoSung");
    assert_eq!(missing.len(), 72, "header and the 71 students left out");
    assert!(
        missing
            .iter()
            .all(|r| r[0] == "37THCSGV" || r[0] == "Mã trường")
    );
    assert!(missing[1][4].contains("chưa có mã định danh"));
    let classes = sheet(&bytes, "Lop");
    assert!(classes.iter().any(|r| r[2] == "6A1"));

    let r = app
        .get(&ht, &format!("/schools/{school}/exchange/hoc-sinh.csv"))
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("\u{feff}Mã trường,Mã định danh,Mã học sinh"));
    assert!(lines[1].starts_with(&format!("37THCSGV,037212000123,{code},")));
    assert_eq!(
        app.get(&ht, &format!("/schools/{school}/exchange/khac.csv"))
            .await
            .status(),
        404
    );
    let audit = app
        .db
        .audit_of_school(school.parse().unwrap(), 50)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .filter(|a| a.action == "exchange.export")
            .count()
            >= 2,
        "every download is audited"
    );

    // Teachers and parents do not export the school's data.
    for who in ["gv.toan", "0912000001"] {
        let c = app.login(who).await;
        for path in ["/exchange", "/exchange.xlsx", "/exchange/hoc-sinh.csv"] {
            assert_eq!(
                app.get(&c, &format!("/schools/{school}{path}"))
                    .await
                    .status(),
                403,
                "{who} {path}"
            );
        }
    }
}

#[tokio::test]
async fn a_commune_exports_its_own_schools_only() {
    let app = TestApp::spawn().await;
    one_ready_student(&app).await;
    let units = app.db.units().await.unwrap();
    let province = units.iter().find(|u| u.code == "37").unwrap().id;
    let gv = units.iter().find(|u| u.code == "GV").unwrap().id;
    let hl = units.iter().find(|u| u.code == "HL").unwrap().id;

    let xa = app.login("xa.canbo").await;
    let r = app.get(&xa, &format!("/units/{gv}/exchange.xlsx")).await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    let codes: Vec<String> = sheet(&bytes, "Truong")
        .into_iter()
        .skip(1)
        .map(|r| r[2].clone())
        .collect();
    let mine: Vec<String> = app
        .db
        .schools_within(&units.iter().find(|u| u.id == gv).unwrap().path)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.code)
        .collect();
    assert_eq!(codes.len(), mine.len());
    assert!(codes.iter().all(|c| mine.contains(c)), "{codes:?}");
    assert!(!codes.contains(&"37THPTLVT".to_string()), "a Sở school");
    assert_eq!(sheet(&bytes, "HocSinh").len(), 2);
    let page = app
        .get(&xa, &format!("/units/{gv}/exchange"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("chưa có mã định danh"), "{page}");

    // Another commune, the province above it and a school of another commune are refused.
    for path in [
        format!("/units/{hl}/exchange"),
        format!("/units/{hl}/exchange.xlsx"),
        format!("/units/{province}/exchange.xlsx"),
        format!("/units/{province}/exchange/truong.csv"),
        format!("/schools/{}/exchange", app.school_id("37THPTLVT").await),
    ] {
        assert_eq!(app.get(&xa, &path).await.status(), 403, "{path}");
    }
    let hl_officer = crate::surveys::hoa_lu_officer(&app).await;
    for path in [
        format!("/units/{gv}/exchange"),
        format!("/units/{gv}/exchange.xlsx"),
        format!("/units/{gv}/exchange/hoc-sinh.csv"),
    ] {
        assert_eq!(app.get(&hl_officer, &path).await.status(), 403, "{path}");
    }

    // The Sở exports every school of the province.
    let so = app.login("so.chuyenvien").await;
    let r = app
        .get(&so, &format!("/units/{province}/exchange/truong.csv"))
        .await;
    assert_eq!(r.status(), 200);
    let all = app.db.schools_within("/").await.unwrap().len();
    assert_eq!(r.text().await.unwrap().lines().count(), 1 + all);
}
