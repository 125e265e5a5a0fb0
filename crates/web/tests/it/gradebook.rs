//! The gradebook: entry with averages, all-or-nothing saves, the term lock, history, who sees
//! which rows, Excel export and import with a preview (Circular 22 and, for primary schools,
//! Circular 27), homework scores posted into a regular column, saves racing each other.

use crate::harness::{PASSWORD, TestApp, location};
use db::learning::{Course, CourseStudent};

struct Setup {
    school: String,
    course: Course,
    students: Vec<CourseStudent>,
}

/// The Toán course of a class taught by gv.toan (6A1: hs.demo studies there; 7A1: not).
async fn toan(app: &TestApp, class: &str) -> Setup {
    let s = app.db.school_by_code("37THCSGV").await.unwrap();
    let year = app.db.current_year(s.id).await.unwrap().unwrap();
    app.db.ensure_courses(s.id, year.id).await.unwrap();
    let gv = app.db.user_by_username("gv.toan").await.unwrap();
    let course = app
        .db
        .courses_taught(gv.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.class_name == class && c.subject_code == "TOAN")
        .expect("gv.toan teaches Toán there");
    let students = app.db.course_students(&course).await.unwrap();
    Setup {
        school: s.id.to_string(),
        course,
        students,
    }
}

fn cell(st: &CourseStudent, kind: &str, slot: u8) -> String {
    format!("c-{}-{kind}-{slot}", st.student_id)
}

async fn save(
    app: &TestApp,
    c: &reqwest::Client,
    course: &Course,
    cells: &[(String, &str)],
) -> reqwest::Response {
    let mut form: Vec<(String, String)> = vec![("term".into(), "1".into())];
    form.extend(cells.iter().map(|(k, v)| (k.clone(), (*v).to_owned())));
    c.post(app.url(&format!("/courses/{}/gradebook", course.id)))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn page(app: &TestApp, c: &reqwest::Client, course: &Course) -> (u16, String) {
    let r = app
        .get(c, &format!("/courses/{}/gradebook?term=1", course.id))
        .await;
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn stored(app: &TestApp, course: &Course) -> Vec<(String, String, i64, String)> {
    let mut v: Vec<_> = app
        .db
        .grade_entries(course, 1)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.student_id.to_string(), e.kind, e.slot, e.value))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn teacher_saves_scores_and_the_average_shows() {
    let app = TestApp::spawn().await;
    let t = toan(&app, "6A1").await;
    let gv = app.login("gv.toan").await;
    let a = &t.students[0];
    let r = save(
        &app,
        &gv,
        &t.course,
        &[
            (cell(a, "TX", 1), "8"),
            (cell(a, "TX", 2), "7"),
            (cell(a, "TX", 3), "9"),
            (cell(a, "GK", 1), "6"),
            (cell(a, "CK", 1), "7"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).contains("/gradebook?term=1"));
    let (status, html) = page(&app, &gv, &t.course).await;
    assert_eq!(status, 200);
    // Toán has 140 periods a year: four regular scores are required (TT22 Art. 6.2.b).
    assert!(html.contains("cần 4 điểm đánh giá thường xuyên, mới có 3"));
    assert!(html.contains("ĐĐGtx4"));
    // (8 + 7 + 9 + 5 + 2·6 + 3·7) / 9 = 62 / 9 = 6,888… → 6,9
    let r = save(&app, &gv, &t.course, &[(cell(a, "TX", 4), "5")]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = page(&app, &gv, &t.course).await;
    assert!(html.contains("<strong>6,9</strong>"), "{html}");

    // The worked example on a subject with 35 periods (two required, three counted):
    // (8 + 7 + 9 + 2·6 + 3·7) / (3 + 5) = 57 / 8 = 7,125 → 7,1. The principal may enter it.
    let s = app.db.school_by_code("37THCSGV").await.unwrap();
    let gdcd = app
        .db
        .school_courses(s.id, t.course.year_id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.class_name == "6A1" && c.subject_code == "GDCD")
        .expect("GDCD 6A1");
    let ht = app.login("ht.thcs").await;
    let r = save(
        &app,
        &ht,
        &gdcd,
        &[
            (cell(a, "TX", 1), "8"),
            (cell(a, "TX", 2), "7"),
            (cell(a, "TX", 3), "9"),
            (cell(a, "GK", 1), "6"),
            (cell(a, "CK", 1), "7,0"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = page(&app, &ht, &gdcd).await;
    assert!(html.contains("<strong>7,1</strong>"), "{html}");

    // The student was told, once per save of their cells (two saves in Toán, one in GDCD).
    let uid = a.user_id.expect("student account");
    let notes: Vec<_> = app
        .db
        .notifications(uid, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.kind == "grade")
        .collect();
    assert_eq!(notes.len(), 3);
    assert!(
        notes
            .iter()
            .any(|n| n.link == format!("/courses/{}/gradebook?term=1", t.course.id))
    );
}

#[tokio::test]
async fn an_invalid_cell_saves_nothing() {
    let app = TestApp::spawn().await;
    let t = toan(&app, "6A1").await;
    let gv = app.login("gv.toan").await;
    let (a, b) = (&t.students[0], &t.students[1]);
    let r = save(
        &app,
        &gv,
        &t.course,
        &[
            (cell(a, "TX", 1), "8"),
            (cell(b, "TX", 2), "11"),
            (cell(b, "GK", 1), "7,55"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "{}, ĐĐGtx2: Điểm 11 ngoài thang 0–10",
            b.full_name
        )),
        "{html}"
    );
    assert!(html.contains(&format!("{}, ĐĐGgk:", b.full_name)));
    // The typed values stay in the form, and nothing was stored.
    assert!(html.contains("value=\"11\""));
    assert!(stored(&app, &t.course).await.is_empty());
}

#[tokio::test]
async fn a_locked_term_refuses_saves_and_changes_are_in_the_history() {
    let app = TestApp::spawn().await;
    let t = toan(&app, "6A1").await;
    let gv = app.login("gv.toan").await;
    let a = &t.students[0];
    assert_eq!(
        save(&app, &gv, &t.course, &[(cell(a, "TX", 1), "8")])
            .await
            .status(),
        303
    );
    assert_eq!(
        save(&app, &gv, &t.course, &[(cell(a, "TX", 1), "9,5")])
            .await
            .status(),
        303
    );

    // A teacher may not lock.
    let lock = |c: reqwest::Client, value: &'static str| {
        let url = app.url(&format!("/schools/{}/terms/lock", t.school));
        let year = t.course.year_id.to_string();
        async move {
            c.post(url)
                .form(&[
                    ("year", year.as_str()),
                    ("term", "1"),
                    ("lock", value),
                    ("back", "/courses"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(lock(gv.clone(), "1").await.status(), 403);
    let ht = app.login("ht.thcs").await;
    let r = lock(ht.clone(), "1").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/courses");
    let (_, html) = page(&app, &ht, &t.course).await;
    assert!(html.contains("data-locked"));
    assert!(html.contains("name=\"lock\" value=\"0\""));

    let r = save(&app, &gv, &t.course, &[(cell(a, "TX", 1), "3")]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("đã được khoá sổ điểm"));
    let (_, html) = page(&app, &gv, &t.course).await;
    assert!(
        !html.contains("data-gradebook>"),
        "no entry form while locked"
    );
    assert_eq!(
        stored(&app, &t.course).await[0].3,
        "9,5",
        "the locked term kept its score"
    );

    // Unlocking lets the teacher save again; both are audited.
    assert_eq!(lock(ht.clone(), "0").await.status(), 303);
    assert_eq!(
        save(&app, &gv, &t.course, &[(cell(a, "TX", 1), "")])
            .await
            .status(),
        303
    );
    let s = app.db.school_by_code("37THCSGV").await.unwrap();
    let audit = app.db.audit_of_school(s.id, 50).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "term.lock"));
    assert!(audit.iter().any(|e| e.action == "term.unlock"));

    let r = app
        .get(&gv, &format!("/courses/{}/gradebook/history", t.course.id))
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let changes: Vec<&str> = html.split("<tr data-change>").skip(1).collect();
    assert_eq!(changes.len(), 3, "{html}");
    // Newest first: cleared, then 8,0 → 9,5, then — → 8,0.
    assert!(changes[0].contains("<span data-old>9,5</span> → <span data-new>—</span>"));
    assert!(changes[1].contains("<span data-old>8,0</span> → <span data-new>9,5</span>"));
    assert!(changes[2].contains("<span data-old>—</span> → <span data-new>8,0</span>"));
    assert!(changes[2].contains("ĐĐGtx1") && changes[2].contains(&a.full_name));
    assert!(changes[2].contains("Trần Thị Mai"));
}

#[tokio::test]
async fn students_see_only_their_own_row() {
    let app = TestApp::spawn().await;
    let t = toan(&app, "6A1").await;
    let gv = app.login("gv.toan").await;
    let demo_user = app.db.user_by_username("hs.demo").await.unwrap();
    let me = t
        .students
        .iter()
        .find(|s| s.user_id == Some(demo_user.id))
        .expect("hs.demo in 6A1");
    let other = t
        .students
        .iter()
        .find(|s| s.student_id != me.student_id)
        .unwrap();
    let r = save(
        &app,
        &gv,
        &t.course,
        &[(cell(me, "TX", 1), "8,5"), (cell(other, "TX", 1), "4")],
    )
    .await;
    assert_eq!(r.status(), 303);

    let hs = app.login("hs.demo").await;
    let (status, html) = page(&app, &hs, &t.course).await;
    assert_eq!(status, 200);
    assert!(html.contains(&me.full_name));
    assert!(html.contains("8,5"));
    assert!(
        !html.contains(&other.full_name),
        "another student's row is hidden"
    );
    assert!(!html.contains("<input name=\"c-"), "read-only");
    // Writes, history and files are the teacher's.
    assert_eq!(
        save(&app, &hs, &t.course, &[(cell(me, "TX", 1), "10")])
            .await
            .status(),
        403
    );
    for path in [
        "gradebook/history",
        "gradebook.xlsx?term=1",
        "gradebook/import",
    ] {
        let r = app
            .get(&hs, &format!("/courses/{}/{path}", t.course.id))
            .await;
        assert_eq!(r.status(), 403, "{path}");
    }
    let form = [
        ("term".to_owned(), "1".to_owned()),
        ("token".to_owned(), uuid::Uuid::now_v7().to_string()),
        ("digest".to_owned(), "x".to_owned()),
    ];
    assert_eq!(confirm(&app, &hs, &t.course, &form).await.status(), 403);
    // A class hs.demo does not study in.
    let seven = toan(&app, "7A1").await;
    let (status, _) = page(&app, &hs, &seven.course).await;
    assert_eq!(status, 403);
    // The parent of hs.demo sees the child's row only.
    let (parent, r) = app.login_as("0912000001", PASSWORD).await;
    assert_eq!(r.status(), 303);
    let (status, html) = page(&app, &parent, &t.course).await;
    assert_eq!(status, 200);
    assert!(html.contains(&me.full_name) && !html.contains(&other.full_name));
}

async fn upload(
    app: &TestApp,
    c: &reqwest::Client,
    course: &Course,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("so-diem.xlsx");
    let form = reqwest::multipart::Form::new()
        .text("term", "1")
        .part("file", part);
    c.post(app.url(&format!("/courses/{}/gradebook/import", course.id)))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// The hidden fields of a preview's confirmation form.
fn confirmation(html: &str) -> Vec<(String, String)> {
    ["term", "token", "digest"]
        .iter()
        .map(|name| {
            let marker = format!("name=\"{name}\" value=\"");
            let start = html
                .find(&marker)
                .unwrap_or_else(|| panic!("{name}: {html}"))
                + marker.len();
            let end = start + html[start..].find('"').unwrap();
            ((*name).to_owned(), html[start..end].to_owned())
        })
        .collect()
}

async fn confirm(
    app: &TestApp,
    c: &reqwest::Client,
    course: &Course,
    form: &[(String, String)],
) -> reqwest::Response {
    c.post(app.url(&format!("/courses/{}/gradebook/import/confirm", course.id)))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Uploads a file, checks it is previewed (status 200) and returns the preview page.
async fn preview(app: &TestApp, c: &reqwest::Client, course: &Course, bytes: Vec<u8>) -> String {
    let r = upload(app, c, course, bytes).await;
    let status = r.status().as_u16();
    let html = r.text().await.unwrap();
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("data-import-preview"), "{html}");
    html
}

#[tokio::test]
async fn excel_export_then_import_round_trips() {
    let app = TestApp::spawn().await;
    let t = toan(&app, "6A1").await;
    let gv = app.login("gv.toan").await;
    let (a, b) = (&t.students[0], &t.students[1]);
    let cells = [
        (cell(a, "TX", 1), "8"),
        (cell(a, "TX", 2), "7,5"),
        (cell(a, "GK", 1), "6"),
        (cell(a, "CK", 1), "9"),
        (cell(b, "TX", 1), "10"),
        (cell(b, "CK", 1), "4,5"),
    ];
    assert_eq!(save(&app, &gv, &t.course, &cells).await.status(), 303);
    let before = stored(&app, &t.course).await;
    let r = app
        .get(
            &gv,
            &format!("/courses/{}/gradebook.xlsx?term=1", t.course.id),
        )
        .await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap().to_vec();
    assert!(bytes.starts_with(b"PK"), "an xlsx file");

    // Change two scores in lophoc, then import the exported file: they come back.
    let changed = [(cell(a, "TX", 1), "1"), (cell(b, "CK", 1), "2")];
    assert_eq!(save(&app, &gv, &t.course, &changed).await.status(), 303);
    assert_ne!(stored(&app, &t.course).await, before);
    let changed_state = stored(&app, &t.course).await;
    let html = preview(&app, &gv, &t.course, bytes).await;
    // The preview lists exactly the two cells the file changes back, and saves nothing.
    assert_eq!(
        html.matches("<tr data-preview-change>").count(),
        2,
        "{html}"
    );
    assert!(html.contains("<span data-old>1,0</span> → <span data-new>8,0</span>"));
    assert!(html.contains("<span data-old>2,0</span> → <span data-new>4,5</span>"));
    assert_eq!(stored(&app, &t.course).await, changed_state);
    let r = confirm(&app, &gv, &t.course, &confirmation(&html)).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert_eq!(stored(&app, &t.course).await, before);
    let changes = app.db.grade_changes(&t.course, 10).await.unwrap();
    assert_eq!(changes[0].source, "import");
    assert_eq!(changes.iter().filter(|c| c.source == "import").count(), 2);
    // The upload was used once: confirming again finds nothing.
    let r = confirm(&app, &gv, &t.course, &confirmation(&html)).await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn an_import_writes_only_what_was_previewed() {
    let app = TestApp::spawn().await;
    let t = toan(&app, "6A1").await;
    let gv = app.login("gv.toan").await;
    let a = &t.students[0];
    assert_eq!(
        save(&app, &gv, &t.course, &[(cell(a, "TX", 1), "8")])
            .await
            .status(),
        303
    );
    let bytes = app
        .get(
            &gv,
            &format!("/courses/{}/gradebook.xlsx?term=1", t.course.id),
        )
        .await
        .bytes()
        .await
        .unwrap()
        .to_vec();
    assert_eq!(
        save(&app, &gv, &t.course, &[(cell(a, "TX", 1), "5")])
            .await
            .status(),
        303
    );
    let html = preview(&app, &gv, &t.course, bytes.clone()).await;
    assert!(html.contains("<span data-old>5,0</span> → <span data-new>8,0</span>"));
    // Someone saves the same cell between the preview and the confirmation: the import stops.
    let ht = app.login("ht.thcs").await;
    assert_eq!(
        save(&app, &ht, &t.course, &[(cell(a, "TX", 1), "6")])
            .await
            .status(),
        303
    );
    let r = confirm(&app, &gv, &t.course, &confirmation(&html)).await;
    assert_eq!(r.status(), 409);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("đã thay đổi sau khi bạn xem trước")
    );
    assert_eq!(stored(&app, &t.course).await[0].3, "6,0");
    // A token of another teacher's upload (or a made-up one) is refused.
    let html = preview(&app, &gv, &t.course, bytes.clone()).await;
    let form = confirmation(&html);
    let r = confirm(&app, &ht, &t.course, &form).await;
    assert_eq!(r.status(), 400, "the upload is kept under its uploader");
    let mut forged = form.clone();
    forged[1].1 = "../../etc/passwd".into();
    assert_eq!(confirm(&app, &gv, &t.course, &forged).await.status(), 400);
    // The principal locks the term after the preview: the confirmation is refused.
    let r = ht
        .post(app.url(&format!("/schools/{}/terms/lock", t.school)))
        .form(&[
            ("year", t.course.year_id.to_string().as_str()),
            ("term", "1"),
            ("lock", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = confirm(&app, &gv, &t.course, &form).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("đã được khoá sổ điểm"));
    // And a new upload into the locked term is refused before any preview.
    let r = upload(&app, &gv, &t.course, bytes).await;
    assert_eq!(r.status(), 409);
    assert_eq!(stored(&app, &t.course).await[0].3, "6,0");
}

#[tokio::test]
async fn an_import_with_a_score_of_11_changes_nothing() {
    let app = TestApp::spawn().await;
    let t = toan(&app, "6A1").await;
    let gv = app.login("gv.toan").await;
    let (a, b) = (&t.students[0], &t.students[1]);
    assert_eq!(
        save(&app, &gv, &t.course, &[(cell(a, "TX", 1), "8")])
            .await
            .status(),
        303
    );
    let before = stored(&app, &t.course).await;
    let sheet = office::gradebook::GradebookSheet {
        header: office::gradebook::GradebookHeader {
            school: "THCS".into(),
            class_name: "6A1".into(),
            subject: "Toán".into(),
            term: domain::grades::Term::I,
            school_year: "2025-2026".into(),
        },
        scheme: office::gradebook::SheetScheme::Scored,
        columns: office::gradebook::GradeColumn::standard(4),
        rows: [(a, "5"), (b, "11")]
            .iter()
            .map(|(s, v)| office::gradebook::GradebookRow {
                code: s.code.clone(),
                full_name: s.full_name.clone(),
                cells: vec![Some((*v).to_owned()), None, None, None, None, None],
                average: None,
            })
            .collect(),
    };
    let bytes = office::gradebook::export_gradebook(&sheet).unwrap();
    let r = upload(&app, &gv, &t.course, bytes).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("<tr data-row-error><td>7</td><td>ĐĐGtx1</td>"),
        "{html}"
    );
    assert!(html.contains("11 ngoài thang 0–10"));
    assert_eq!(stored(&app, &t.course).await, before, "nothing changed");
}

#[tokio::test]
async fn homework_scores_are_posted_into_a_regular_column() {
    let app = TestApp::spawn().await;
    let t = toan(&app, "6A1").await;
    let gv_user = app.db.user_by_username("gv.toan").await.unwrap();
    let demo_user = app.db.user_by_username("hs.demo").await.unwrap();
    let me = t
        .students
        .iter()
        .find(|s| s.user_id == Some(demo_user.id))
        .unwrap();
    let task_id = app
        .db
        .create_task(
            &t.course,
            &db::learning::TaskInput {
                lesson_id: None,
                title: "Bài tập phân số".into(),
                instructions: String::new(),
                opens_at: 0,
                due_at: None,
                late_policy: domain::learning::LatePolicy::ALL[0],
            },
            gv_user.id,
        )
        .await
        .unwrap();
    let task = app.db.task(&t.course, task_id).await.unwrap();
    let (sub, _) = app
        .db
        .submit(
            &task,
            me.student_id,
            demo_user.id,
            "Bài làm",
            &[],
            false,
            "k1",
        )
        .await
        .unwrap();
    app.db
        .grade(&t.course, &task, &sub, 85, "Tốt", gv_user.id)
        .await
        .unwrap();

    let gv = app.login("gv.toan").await;
    let (_, html) = page(&app, &gv, &t.course).await;
    assert!(html.contains("data-post-task") && html.contains("Bài tập phân số"));
    let r = gv
        .post(app.url(&format!("/courses/{}/gradebook/post-task", t.course.id)))
        .form(&[
            ("term", "1"),
            ("task", task_id.to_string().as_str()),
            ("slot", "2"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let entries = app.db.grade_entries(&t.course, 1).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (
            entries[0].kind.as_str(),
            entries[0].slot,
            entries[0].value.as_str()
        ),
        ("TX", 2, "8,5")
    );
    assert_eq!(entries[0].source, format!("task:{task_id}"));
    // Same lock rule.
    let ht = app.login("ht.thcs").await;
    let r = ht
        .post(app.url(&format!("/schools/{}/terms/lock", t.school)))
        .form(&[
            ("year", t.course.year_id.to_string().as_str()),
            ("term", "1"),
            ("lock", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = gv
        .post(app.url(&format!("/courses/{}/gradebook/post-task", t.course.id)))
        .form(&[
            ("term", "1"),
            ("task", task_id.to_string().as_str()),
            ("slot", "3"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
}

async fn course_of(app: &TestApp, school: &str, class: &str, subject: &str) -> Setup {
    let s = app.db.school_by_code(school).await.unwrap();
    let year = app.db.current_year(s.id).await.unwrap().unwrap();
    app.db.ensure_courses(s.id, year.id).await.unwrap();
    let course = app
        .db
        .school_courses(s.id, year.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.class_name == class && c.subject_code == subject)
        .expect("course");
    let students = app.db.course_students(&course).await.unwrap();
    Setup {
        school: s.id.to_string(),
        course,
        students,
    }
}

#[tokio::test]
async fn comment_graded_and_primary_subjects() {
    let app = TestApp::spawn().await;
    // Giáo dục thể chất is rated Đ / CĐ (TT22 Art. 5.1); one CĐ makes the term Chưa đạt.
    let t = course_of(&app, "37THCSGV", "6A1", "GDTC").await;
    let ht = app.login("ht.thcs").await;
    let a = &t.students[0];
    let r = save(
        &app,
        &ht,
        &t.course,
        &[
            (cell(a, "TX", 1), "Đ"),
            (cell(a, "TX", 2), "d"),
            (cell(a, "GK", 1), "Đạt"),
            (cell(a, "CK", 1), "CĐ"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = page(&app, &ht, &t.course).await;
    assert!(html.contains("<strong>Chưa đạt</strong>"), "{html}");
    let r = save(&app, &ht, &t.course, &[(cell(a, "TX", 1), "8")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Đ hoặc CĐ"));
    // Term II shows the year result column, not computable yet.
    let r = app
        .get(&ht, &format!("/courses/{}/gradebook?term=2", t.course.id))
        .await;
    let html = r.text().await.unwrap();
    assert!(html.contains("Kết quả cả năm") && html.contains("thiếu kết quả học kỳ II"));

    // Primary (TT27): levels T/H/C and whole-number test scores.
    let p = course_of(&app, "37THGV01", "5A", "TOAN").await;
    let admin = app.login("admin").await;
    let b = &p.students[0];
    let (status, html) = page(&app, &admin, &p.course).await;
    assert_eq!(status, 200);
    for h in [
        "Mức giữa kỳ",
        "Điểm KT giữa kỳ",
        "Mức cuối kỳ",
        "Điểm KT cuối kỳ",
    ] {
        assert!(html.contains(h), "{h}");
    }
    let r = save(&app, &admin, &p.course, &[(cell(b, "KTCK", 1), "7,5")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("không cho điểm thập phân"));
    let r = save(
        &app,
        &admin,
        &p.course,
        &[(cell(b, "MCK", 1), "htt"), (cell(b, "KTCK", 1), "9")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = page(&app, &admin, &p.course).await;
    assert!(html.contains("<strong>Hoàn thành tốt</strong>"));
    let values: Vec<String> = stored(&app, &p.course)
        .await
        .into_iter()
        .map(|e| e.3)
        .collect();
    assert_eq!(values.len(), 2);
    assert!(values.contains(&"T".to_owned()) && values.contains(&"9".to_owned()));
}

/// Saves racing each other — two tabs of one teacher and the principal, all at once — are all
/// stored. On SQLite a save used to read the gradebook in a deferred transaction and then fail
/// with "database is locked" when another save had written in between; now every save is
/// acknowledged, every acknowledged value is there, and the history of the one cell that every
/// save wrote is a single unbroken chain (each change starts from the value the previous one left).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_saves_are_all_stored() {
    const SAVES: usize = 12;
    let app = TestApp::spawn().await;
    let t = toan(&app, "6A1").await;
    assert!(
        t.students.len() > SAVES,
        "one student per save plus a shared one"
    );
    let tabs = [
        app.login("gv.toan").await,
        app.login("gv.toan").await,
        app.login("ht.thcs").await,
    ];
    let shared = t.students[0].clone();
    let url = app.url(&format!("/courses/{}/gradebook", t.course.id));
    let mut saves = tokio::task::JoinSet::new();
    for i in 0..SAVES {
        let client = tabs[i % tabs.len()].clone();
        let own = t.students[1 + i].clone();
        // Distinct scores 1,0 1,5 2,0 … so every save changes the shared cell.
        let value = format!("{},{}", 1 + i / 2, if i % 2 == 0 { 0 } else { 5 });
        let form = vec![
            ("term".to_owned(), "1".to_owned()),
            (cell(&own, "TX", 1), value.clone()),
            (cell(&shared, "TX", 1), value.clone()),
        ];
        let url = url.clone();
        saves.spawn(async move {
            let r = client.post(url).form(&form).send().await.unwrap();
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            (status, body, own.student_id.to_string(), value)
        });
    }
    let mut acknowledged = Vec::new();
    while let Some(done) = saves.join_next().await {
        let (status, body, student, value) = done.unwrap();
        assert_eq!(status, 303, "a concurrent save failed: {body}");
        acknowledged.push((student, value));
    }
    let stored = stored(&app, &t.course).await;
    for (student, value) in &acknowledged {
        assert!(
            stored
                .iter()
                .any(|(s, k, slot, v)| s == student && k == "TX" && *slot == 1 && v == value),
            "{student} should have {value}: {stored:?}"
        );
    }
    let shared_id = shared.student_id.to_string();
    let last = stored
        .iter()
        .find(|(s, ..)| *s == shared_id)
        .map(|e| e.3.clone())
        .expect("the shared cell");
    let changes: Vec<_> = app
        .db
        .grade_changes(&t.course, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.student_id == shared.student_id)
        .collect();
    assert_eq!(
        changes.len(),
        SAVES,
        "one change per save of the shared cell"
    );
    let mut at: Option<String> = None;
    for _ in 0..SAVES {
        let next = changes
            .iter()
            .filter(|c| c.old_value == at)
            .collect::<Vec<_>>();
        assert_eq!(next.len(), 1, "history forks or breaks after {at:?}");
        at = next[0].new_value.clone();
    }
    assert_eq!(at, Some(last), "the chain ends at the stored value");
}

/// Toán of class 5A at the demo primary school (grade 5: mid-term and end-of-term tests), with
/// its teacher logged in.
async fn primary_toan(app: &TestApp) -> (Setup, reqwest::Client) {
    let p = course_of(app, "37THGV01", "5A", "TOAN").await;
    let teacher = app
        .db
        .user(p.course.teacher_user_id.expect("5A Toán has a teacher"))
        .await
        .unwrap();
    let c = app.login(&teacher.username).await;
    (p, c)
}

/// Every cell of the first sheet of a workbook, as text (numbers without ".0").
fn read_sheet(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::{Data, Reader};
    let mut wb =
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|d| match d {
                    Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

/// Writes rows back as a workbook, numbers as numbers — what a teacher's spreadsheet saves.
fn write_sheet(rows: &[Vec<String>]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            match v.parse::<f64>() {
                Ok(n) if c > 2 => ws.write_number(r as u32, c as u16, n).map(|_| ()),
                _ => ws.write_string(r as u32, c as u16, v).map(|_| ()),
            }
            .unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

#[tokio::test]
async fn a_primary_gradebook_goes_to_excel_and_back_with_a_preview() {
    let app = TestApp::spawn().await;
    let (p, gv) = primary_toan(&app).await;
    let (a, b, c) = (&p.students[0], &p.students[1], &p.students[2]);
    let r = save(
        &app,
        &gv,
        &p.course,
        &[
            (cell(a, "MGK", 1), "T"),
            (cell(a, "KTGK", 1), "9"),
            (cell(a, "MCK", 1), "H"),
            (cell(a, "KTCK", 1), "8"),
            (cell(b, "MCK", 1), "C"),
            (cell(b, "KTCK", 1), "4"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = page(&app, &gv, &p.course).await;
    assert!(
        html.contains("data-export") && html.contains("data-import"),
        "{html}"
    );

    let r = app
        .get(
            &gv,
            &format!("/courses/{}/gradebook.xlsx?term=1", p.course.id),
        )
        .await;
    assert_eq!(r.status(), 200);
    let mut rows = read_sheet(&r.bytes().await.unwrap());
    assert_eq!(rows[1][0], "KẾT QUẢ ĐÁNH GIÁ MÔN TOÁN");
    assert!(rows[2][0].contains("Lớp: 5A") && rows[2][0].contains("Học kỳ I"));
    assert_eq!(
        rows[4][..7],
        [
            "STT",
            "Mã học sinh",
            "Họ và tên",
            "Mức GK",
            "Điểm KT GK",
            "Mức CK",
            "Điểm KT CK"
        ]
    );
    assert_eq!(
        rows[5][1..7],
        [a.code.as_str(), a.full_name.as_str(), "T", "9", "H", "8"]
    );
    assert_eq!(rows[6][5..7], ["C", "4"]);
    assert_eq!(rows.len(), 5 + p.students.len(), "one line per pupil");

    // The teacher edits the file: a better end-of-term test, a level raised, a new pupil rated.
    rows[5][6] = "10".into();
    rows[6][5] = "H".into();
    rows[7][5] = "T".into();
    let html = preview(&app, &gv, &p.course, write_sheet(&rows)).await;
    assert_eq!(
        html.matches("<tr data-preview-change>").count(),
        3,
        "{html}"
    );
    for (row, st, column, old, new) in [
        (6, a, "Điểm KT cuối kỳ", "8", "10"),
        (7, b, "Mức cuối kỳ", "C", "H"),
        (8, c, "Mức cuối kỳ", "—", "T"),
    ] {
        let line = format!(
            "<td>{row}</td><td>{} ({})</td><td>{column}</td><td><span data-old>{old}</span> → <span data-new>{new}</span></td>",
            st.full_name, st.code
        );
        assert!(html.contains(&line), "{line}: {html}");
    }
    assert_eq!(
        app.db.grade_changes(&p.course, 50).await.unwrap().len(),
        6,
        "nothing written by the preview"
    );
    let r = confirm(&app, &gv, &p.course, &confirmation(&html)).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let got = stored(&app, &p.course).await;
    let value = |st: &db::learning::CourseStudent, kind: &str| {
        got.iter()
            .find(|(s, k, ..)| *s == st.student_id.to_string() && k == kind)
            .map(|e| e.3.clone())
    };
    assert_eq!(value(a, "KTCK").as_deref(), Some("10"));
    assert_eq!(
        value(a, "MGK").as_deref(),
        Some("T"),
        "unchanged cells stay"
    );
    assert_eq!(value(b, "MCK").as_deref(), Some("H"));
    assert_eq!(value(c, "MCK").as_deref(), Some("T"));
    assert_eq!(got.len(), 7);
    // Audited like any import: three changes from Excel, with the old values.
    let changes = app.db.grade_changes(&p.course, 50).await.unwrap();
    let imported: Vec<_> = changes.iter().filter(|c| c.source == "import").collect();
    assert_eq!(imported.len(), 3);
    assert!(imported.iter().any(|c| c.kind == "KTCK"
        && c.old_value.as_deref() == Some("8")
        && c.new_value.as_deref() == Some("10")));
    let r = app
        .get(&gv, &format!("/courses/{}/gradebook/history", p.course.id))
        .await;
    assert!(r.text().await.unwrap().contains("Nhập từ Excel"));
    // The book shows the imported end-of-term levels as the term results.
    let (_, html) = page(&app, &gv, &p.course).await;
    assert!(html.contains("<strong>Hoàn thành</strong>"), "{html}");
}

#[tokio::test]
async fn a_primary_import_with_an_error_saves_nothing() {
    let app = TestApp::spawn().await;
    let (p, gv) = primary_toan(&app).await;
    let (a, b) = (&p.students[0], &p.students[1]);
    assert_eq!(
        save(&app, &gv, &p.course, &[(cell(a, "MCK", 1), "H")])
            .await
            .status(),
        303
    );
    let before = stored(&app, &p.course).await;
    let sheet = |cells: [[&str; 4]; 2]| {
        office::gradebook::export_gradebook(&office::gradebook::GradebookSheet {
            header: office::gradebook::GradebookHeader {
                school: "Tiểu học Gia Viễn A".into(),
                class_name: "5A".into(),
                subject: "Toán".into(),
                term: domain::grades::Term::I,
                school_year: "2025-2026".into(),
            },
            scheme: office::gradebook::SheetScheme::Primary {
                mid_test: true,
                end_test: true,
            },
            columns: office::gradebook::GradeColumn::primary(true, true),
            rows: [a, b]
                .iter()
                .zip(cells)
                .map(|(s, v)| office::gradebook::GradebookRow {
                    code: s.code.clone(),
                    full_name: s.full_name.clone(),
                    cells: v
                        .iter()
                        .map(|x| (!x.is_empty()).then(|| (*x).to_owned()))
                        .collect(),
                    average: None,
                })
                .collect(),
        })
        .unwrap()
    };
    // Row 6 is clean, row 7 has a test score of 11, a decimal and an unknown level.
    let bytes = sheet([["T", "9", "T", "10"], ["Giỏi", "7,5", "H", "11"]]);
    let r = upload(&app, &gv, &p.course, bytes).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    for (column, reason) in [
        (
            "Mức GK",
            "&#34;Giỏi&#34; không phải mức đánh giá (ghi T, H hoặc C)",
        ),
        ("Điểm KT GK", "không cho điểm thập phân"),
        ("Điểm KT CK", "Điểm 11 ngoài thang 0–10"),
    ] {
        assert!(
            html.contains(&format!(
                "<tr data-row-error><td>7</td><td>{column}</td><td>"
            )) && html.contains(reason),
            "{column}: {html}"
        );
    }
    assert!(
        !html.contains("data-import-preview"),
        "no preview of a bad file"
    );
    assert_eq!(stored(&app, &p.course).await, before, "nothing changed");

    // A pupil of another class, and a file of a secondary gradebook.
    let mut rows = read_sheet(&sheet([["T", "", "", ""], ["", "", "", ""]]));
    rows[6][1] = "HS-KHONG-CO".into();
    let r = upload(&app, &gv, &p.course, write_sheet(&rows)).await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Mã học sinh HS-KHONG-CO không thuộc lớp")
    );
    let t = toan(&app, "6A1").await;
    let secondary = app
        .get(
            &app.login("gv.toan").await,
            &format!("/courses/{}/gradebook.xlsx?term=1", t.course.id),
        )
        .await
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let r = upload(&app, &gv, &p.course, secondary).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Mức GK, Mức CK"));

    // Đạo đức has no periodic test: a score in its file is an error, its book has no score column.
    let dd = course_of(&app, "37THGV01", "5A", "DD").await;
    let admin = app.login("admin").await;
    let r = app
        .get(
            &admin,
            &format!("/courses/{}/gradebook.xlsx?term=1", dd.course.id),
        )
        .await;
    let rows = read_sheet(&r.bytes().await.unwrap());
    assert_eq!(rows[4][3..], ["Mức GK", "Mức CK"]);
    let r = upload(
        &app,
        &admin,
        &dd.course,
        sheet([["T", "", "T", "9"], ["", "", "", ""]]),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("không có bài kiểm tra định kỳ")
    );
    assert!(stored(&app, &dd.course).await.is_empty());

    // A locked term refuses the file before any preview.
    let school = app.db.school_by_code("37THGV01").await.unwrap();
    let ht = app.login("ht.37thgv01").await;
    let r = ht
        .post(app.url(&format!("/schools/{}/terms/lock", school.id)))
        .form(&[
            ("year", p.course.year_id.to_string().as_str()),
            ("term", "1"),
            ("lock", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = upload(
        &app,
        &gv,
        &p.course,
        sheet([["T", "9", "T", "10"], ["", "", "", ""]]),
    )
    .await;
    assert_eq!(r.status(), 409);
    assert_eq!(stored(&app, &p.course).await, before);
}
