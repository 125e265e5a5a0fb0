//! PDF downloads: paper versions, the Decision 4725 reports and the coverage dashboard answer
//! `application/pdf` to the people who may see their HTML or Word twins and 403 to the others;
//! their text (read back with poppler's `pdftotext`, which `scripts/test.sh` installs) carries
//! the Vietnamese headings.

use crate::harness::{PASSWORD, TestApp, location};

/// Text of a PDF through `pdftotext`, or `None` when poppler is not installed.
fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join("t.pdf");
    std::fs::write(&path, pdf).ok()?;
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Fetches a PDF that must be there; returns its text when poppler can read it.
async fn pdf_ok(app: &TestApp, c: &reqwest::Client, path: &str) -> Option<String> {
    let r = app.get(c, path).await;
    assert_eq!(r.status(), 200, "{path}");
    assert_eq!(
        r.headers()[reqwest::header::CONTENT_TYPE],
        "application/pdf",
        "{path}"
    );
    assert!(
        r.headers()[reqwest::header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .ends_with(".pdf\""),
        "{path}"
    );
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "{path}");
    // LOPHOC_PDF_OUT_DIR=/tmp/x keeps the files for a look.
    if let Ok(dir) = std::env::var("LOPHOC_PDF_OUT_DIR") {
        let name: String = path
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        std::fs::write(format!("{dir}/{name}.pdf"), &bytes).unwrap();
    }
    let text = pdftotext(&bytes);
    if text.is_none() {
        eprintln!("pdftotext not installed: text of {path} not checked");
    }
    text
}

async fn status(app: &TestApp, c: &reqwest::Client, path: &str) -> u16 {
    app.get(c, path).await.status().as_u16()
}

/// Creates an exam of the Word template's questions in gv.toan's Toán 6A1; returns its path.
async fn exam(app: &TestApp, gv: &reqwest::Client) -> String {
    let s = app.db.school_by_code("37THCSGV").await.unwrap();
    let year = app.db.current_year(s.id).await.unwrap().unwrap();
    app.db.ensure_courses(s.id, year.id).await.unwrap();
    let teacher = app.db.user_by_username("gv.toan").await.unwrap();
    let course = app
        .db
        .courses_taught(teacher.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.class_name == "6A1" && c.subject_code == "TOAN")
        .unwrap();
    let qs = exam::docx::import(&exam::docx::template_docx())
        .unwrap()
        .into_questions();
    let rows: Vec<_> = qs.iter().map(web::pages::exams::bank_row).collect();
    let bank = app
        .db
        .exam_sample_bank(s.id, teacher.id, "Ngân hàng PDF", &rows)
        .await
        .unwrap();
    let now = db::now_ms();
    let local = |ms: i64| {
        let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000)
            .unwrap()
            .to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap());
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        )
    };
    let mut f: Vec<(String, String)> = vec![
        ("title".into(), "Kiểm tra giữa kì".into()),
        ("bank".into(), bank.to_string()),
        ("opens".into(), local(now - 3_600_000)),
        ("closes".into(), local(now + 3_600_000)),
        ("duration".into(), "45".into()),
        ("attempts".into(), "1".into()),
        ("shuffle_questions".into(), "1".into()),
        ("shuffle_options".into(), "1".into()),
    ];
    for q in app.db.exam_bank_questions(s.id, bank).await.unwrap() {
        f.push(("q".into(), q.id.to_string()));
    }
    let r = gv
        .post(app.url(&format!("/courses/{}/exams", course.id)))
        .form(&f)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    location(&r)
}

#[tokio::test]
async fn paper_versions_as_pdf_for_the_teacher_only() {
    let app = TestApp::spawn().await;
    let gv = app.login("gv.toan").await;
    let e = exam(&app, &gv).await;
    let r = gv
        .post(app.url(&format!("{e}/publish")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = app.get(&gv, &e).await.text().await.unwrap();
    assert!(
        page.contains(&format!("{e}/paper.pdf?versions=4")),
        "a link on the exam page"
    );
    if let Some(t) = pdf_ok(&app, &gv, &format!("{e}/paper.pdf?versions=3")).await {
        for want in [
            "KIỂM TRA GIỮA KÌ",
            "Mã đề 101",
            "Mã đề 102",
            "Mã đề 103",
            "PHIẾU TRẢ LỜI",
            "ĐÁP ÁN",
            "Câu 1.",
            "Thời gian làm bài: 45 phút",
        ] {
            assert!(t.contains(want), "{want} in\n{t}");
        }
        assert!(!t.contains("Mã đề 104"));
        assert_eq!(
            t.matches("PHIẾU TRẢ LỜI").count(),
            3,
            "one sheet per version"
        );
    }
    assert_eq!(
        status(&app, &gv, &format!("{e}/paper.pdf?versions=25")).await,
        400
    );
    for login in ["hs.demo", "0912000001", "xa.canbo"] {
        let c = app.login(login).await;
        assert_eq!(
            status(&app, &c, &format!("{e}/paper.pdf")).await,
            403,
            "{login}"
        );
    }
    // Unknown exams answer 403 too: ids leak nothing.
    assert_eq!(
        status(&app, &gv, &format!("/exams/{}/paper.pdf", domain::new_id())).await,
        403
    );
}

#[tokio::test]
async fn decision_4725_reports_as_pdf_per_school_and_per_unit() {
    let app = TestApp::spawn().await;
    let year = web::pages::self_assessment::current_cycle();
    let school = app.school_id("37THCSGV").await;
    let base = format!("/schools/{school}/self-assessment/{year}");
    let ht = app.login("ht.thcs").await;
    let page = app.get(&ht, &base).await.text().await.unwrap();
    assert!(
        page.contains(&format!("{base}/export.pdf")),
        "a link on the page"
    );
    if let Some(t) = pdf_ok(&app, &ht, &format!("{base}/export.pdf")).await {
        for want in [
            "TỰ ĐÁNH GIÁ MỨC ĐỘ CHUYỂN ĐỔI SỐ",
            "Nhóm 1 – Chuyển đổi số trong dạy, học",
            "Nhóm 2 – Chuyển đổi số trong quản trị cơ sở giáo dục",
            "Mức chung",
            "HIỆU TRƯỞNG",
            "1.3b",
        ] {
            assert!(t.contains(want), "{want} in\n{t}");
        }
    }
    // The commune that reviews it reads it; another commune does not.
    let xa = app.login("xa.canbo").await;
    pdf_ok(&app, &xa, &format!("{base}/export.pdf")).await;
    let hash = web::auth::hash_password(PASSWORD.into()).await.unwrap();
    let user = app
        .db
        .create_user(&db::accounts::NewUser {
            username: "xa.khac.pdf".into(),
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
        .unwrap();
    app.db
        .grant_role(
            user.id,
            domain::auth::Role::CommuneOfficer,
            Some(other.id),
            None,
        )
        .await
        .unwrap();
    let foreign = app.login("xa.khac.pdf").await;
    assert_eq!(
        status(&app, &foreign, &format!("{base}/export.pdf")).await,
        403
    );
    let parent = app.login("0912000001").await;
    assert_eq!(
        status(&app, &parent, &format!("{base}/export.pdf")).await,
        403
    );

    // Aggregated per unit: the Sở for the province, not the commune.
    let province = units.iter().find(|u| u.code == "37").unwrap();
    let overview = format!("/units/{}/self-assessments", province.id);
    let so = app.login("so.chuyenvien").await;
    let page = app.get(&so, &overview).await.text().await.unwrap();
    assert!(page.contains(&format!("{overview}/export.pdf")), "a link");
    if let Some(t) = pdf_ok(&app, &so, &format!("{overview}/export.pdf?year={year}")).await {
        assert!(t.contains("MỨC ĐỘ CHUYỂN ĐỔI SỐ CÁC CƠ SỞ GIÁO DỤC"), "{t}");
        assert!(t.contains("37THCSGV"), "{t}");
    }
    assert_eq!(
        status(&app, &xa, &format!("{overview}/export.pdf")).await,
        403
    );
    assert_eq!(
        status(&app, &ht, &format!("{overview}/export.pdf")).await,
        403
    );
}

#[tokio::test]
async fn the_coverage_dashboard_as_pdf_with_its_chart() {
    let app = TestApp::spawn().await;
    let units = app.db.units().await.unwrap();
    let province = units.iter().find(|u| u.code == "37").unwrap();
    let commune = units.iter().find(|u| u.code == "GV").unwrap();
    app.login("gv.toan").await;
    let so = app.login("so.chuyenvien").await;
    let dash = format!("/units/{}/coverage", province.id);
    let page = app.get(&so, &dash).await.text().await.unwrap();
    assert!(
        page.contains(&format!("{dash}.pdf")),
        "a link on the dashboard"
    );
    if let Some(t) = pdf_ok(&app, &so, &format!("{dash}.pdf")).await {
        assert!(t.contains("ĐỘ PHỦ NỀN TẢNG DẠY HỌC TRỰC TUYẾN"), "{t}");
        assert!(t.contains("Giáo viên hoạt động trong 30 ngày"), "{t}");
        assert!(t.contains("37THCSGV"), "{t}");
    }
    let xa = app.login("xa.canbo").await;
    pdf_ok(&app, &xa, &format!("/units/{}/coverage.pdf", commune.id)).await;
    assert_eq!(status(&app, &xa, &format!("{dash}.pdf")).await, 403);
    for login in ["ht.thcs", "gv.toan", "0912000001"] {
        let c = app.login(login).await;
        assert_eq!(
            status(&app, &c, &format!("/units/{}/coverage.pdf", commune.id)).await,
            403,
            "{login}"
        );
    }
}
