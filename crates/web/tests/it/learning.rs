//! Learning: courses, the lesson plan and online share, the library's review, homework with
//! photos and grading, questions and answers, progress.

use crate::harness::{PASSWORD, TestApp, location};

const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0,
];

struct Setup {
    school: String,
    course: String,
}

/// The Toán course of 6A1 (taught by gv.toan; hs.demo studies there).
async fn toan_6a1(app: &TestApp) -> Setup {
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
        .find(|c| c.class_name == "6A1" && c.subject_code == "TOAN")
        .expect("gv.toan teaches Toán 6A1");
    Setup {
        school: s.id.to_string(),
        course: course.id.to_string(),
    }
}

/// Gives a classmate of hs.demo in 6A1 (and a student of another class) a password.
async fn other_students(app: &TestApp) -> (String, String) {
    let s = app.db.school_by_code("37THCSGV").await.unwrap();
    let year = app.db.current_year(s.id).await.unwrap().unwrap();
    let all = app
        .db
        .students(s.id, Some(year.id), &db::roster::StudentFilter::default())
        .await
        .unwrap();
    let hash = web::auth::hash_password(PASSWORD.into()).await.unwrap();
    let pick =
        |pred: &dyn Fn(&db::roster::Student) -> bool| all.iter().find(|x| pred(x)).unwrap().clone();
    let demo = app.db.user_by_username("hs.demo").await.unwrap();
    let mate = pick(&|x| x.class_name.as_deref() == Some("6A1") && x.user_id != Some(demo.id));
    let other = pick(&|x| x.class_name.as_deref() != Some("6A1"));
    let mut out = Vec::new();
    for st in [mate, other] {
        let uid = st.user_id.unwrap();
        app.db.set_password(uid, &hash, false).await.unwrap();
        out.push(app.db.user(uid).await.unwrap().username);
    }
    (out[0].clone(), out[1].clone())
}

async fn form(
    c: &reqwest::Client,
    app: &TestApp,
    path: &str,
    f: &[(&str, &str)],
) -> reqwest::Response {
    c.post(app.url(path)).form(f).send().await.unwrap()
}

#[tokio::test]
async fn lesson_plan_counts_online_periods_against_the_target() {
    let app = TestApp::spawn().await;
    let st = toan_6a1(&app).await;
    let gv = app.login("gv.toan").await;
    let page = app.get(&gv, "/courses").await.text().await.unwrap();
    assert!(
        page.contains(&format!("/courses/{}", st.course)),
        "course listed"
    );
    let r = form(
        &gv,
        &app,
        &format!("/courses/{}/topics", st.course),
        &[("title", "Chương 1. Số tự nhiên")],
    )
    .await;
    assert_eq!(r.status(), 303);
    for (title, f, p) in [
        ("Bài 1. Tập hợp", "face_to_face", "2"),
        ("Bài 2. Luyện tập trực tuyến", "online_replace", "7"),
        ("Bài 3. Luyện tập trực tuyến (tiếp)", "online_replace", "7"),
        ("Bài 4. Ôn tập", "online_support", "1"),
    ] {
        let r = form(
            &gv,
            &app,
            &format!("/courses/{}/lessons", st.course),
            &[
                ("title", title),
                ("form", f),
                ("periods", p),
                ("date", "2026-10-05"),
                ("body", ""),
            ],
        )
        .await;
        assert_eq!(r.status(), 303, "{title}");
    }
    // Bad input: a form that does not exist, and 11 periods.
    let r = form(
        &gv,
        &app,
        &format!("/courses/{}/lessons", st.course),
        &[("title", "X"), ("form", "hybrid")],
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = form(
        &gv,
        &app,
        &format!("/courses/{}/lessons", st.course),
        &[("title", "X"), ("form", "face_to_face"), ("periods", "11")],
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Số tiết"));
    // Toán 6 has 140 periods a year: the demo's 1 online period and these 14 make 10,7 %.
    let page = app
        .get(&gv, &format!("/courses/{}", st.course))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-share>10,7 %"), "{page}");
    let ht = app.login("ht.thcs").await;
    let share = app
        .get(&ht, &format!("/schools/{}/online-share", st.school))
        .await;
    assert_eq!(share.status(), 200);
    assert!(share.text().await.unwrap().contains("10,7 %"));
    let x = app
        .get(
            &ht,
            &format!("/schools/{}/online-share?format=xlsx", st.school),
        )
        .await;
    assert!(x.bytes().await.unwrap().starts_with(b"PK"));
}

#[tokio::test]
async fn materials_reach_students_only_after_review_and_approval() {
    let app = TestApp::spawn().await;
    let st = toan_6a1(&app).await;
    let gv = app.login("gv.toan").await;
    let r = form(
        &gv,
        &app,
        &format!("/courses/{}/lessons", st.course),
        &[
            ("title", "Phân số"),
            ("form", "online_replace"),
            ("periods", "1"),
        ],
    )
    .await;
    let lesson = location(&r);
    // A text material with a script and math.
    let part = reqwest::multipart::Form::new()
        .text("kind", "text")
        .text("title", "Phân số bằng nhau")
        .text("subject", "Toán")
        .text("grade", "6")
        .text(
            "body",
            "Ta có $\\frac{1}{2} = \\frac{2}{4}$ <script>alert(1)</script>",
        )
        .text("licence", "CC BY 4.0");
    let r = gv
        .post(app.url(&format!("/schools/{}/library", st.school)))
        .multipart(part)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let material_url = location(&r);
    let material = material_url.rsplit('/').next().unwrap().to_owned();
    let r = form(
        &gv,
        &app,
        &format!("{lesson}/materials"),
        &[("material", &material)],
    )
    .await;
    assert_eq!(r.status(), 303);

    let hs = app.login("hs.demo").await;
    let page = app.get(&hs, &lesson).await.text().await.unwrap();
    assert!(
        !page.contains("Phân số bằng nhau"),
        "a draft is not shown to students"
    );
    let direct = app
        .get(&hs, &format!("/courses/{}/materials/{material}", st.course))
        .await;
    assert_eq!(direct.status(), 404);

    // Out of turn: the principal cannot approve a draft.
    let ht = app.login("ht.thcs").await;
    let review = format!("{material_url}/review");
    let r = form(&ht, &app, &review, &[("step", "approve")]).await;
    assert_eq!(r.status(), 409);
    // The author submits; the group head returns it without a comment (refused), then with one.
    assert_eq!(
        form(&gv, &app, &review, &[("step", "submit")])
            .await
            .status(),
        303
    );
    let tt = app.login("tt.toan").await;
    assert_eq!(
        form(&tt, &app, &review, &[("step", "return")])
            .await
            .status(),
        400
    );
    assert_eq!(
        form(
            &tt,
            &app,
            &review,
            &[("step", "return"), ("comment", "Thêm ví dụ")]
        )
        .await
        .status(),
        303
    );
    let page = app.get(&gv, &material_url).await.text().await.unwrap();
    assert!(page.contains("Thêm ví dụ") && page.contains("data-status=\"returned\""));
    assert_eq!(
        form(&gv, &app, &review, &[("step", "submit")])
            .await
            .status(),
        303
    );
    assert_eq!(
        form(&tt, &app, &review, &[("step", "endorse")])
            .await
            .status(),
        303
    );
    // A teacher cannot approve; the principal does.
    assert_eq!(
        form(&gv, &app, &review, &[("step", "approve")])
            .await
            .status(),
        409
    );
    assert_eq!(
        form(&ht, &app, &review, &[("step", "approve")])
            .await
            .status(),
        303
    );

    let page = app.get(&hs, &lesson).await.text().await.unwrap();
    assert!(
        page.contains("Phân số bằng nhau"),
        "approved: students see it"
    );
    let view = app
        .get(&hs, &format!("/courses/{}/materials/{material}", st.course))
        .await
        .text()
        .await
        .unwrap();
    assert!(!view.contains("<script>alert"), "script removed");
    // Math arrives as MathML rendered by the server: no script to download, only a small
    // style sheet on pages with formulas.
    assert!(
        view.contains("<math><mfrac><mn>1</mn><mn>2</mn></mfrac><mo>=</mo>"),
        "{view}"
    );
    assert!(view.contains("/static/math.css"), "{view}");
    assert!(
        !view.contains("math.js") && !view.contains("katex"),
        "{view}"
    );
    let css = app.get(&hs, "/static/math.css").await;
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    for gone in ["/static/math.js", "/static/vendor/katex.min.js"] {
        assert_eq!(app.get(&hs, gone).await.status(), 404, "{gone}");
    }

    // Editing an approved material makes version 2 in draft; students keep version 1.
    let part = reqwest::multipart::Form::new()
        .text("title", "Phân số bằng nhau (sửa)")
        .text("body", "Nội dung mới");
    let r = gv
        .post(app.url(&material_url))
        .multipart(part)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let view = app
        .get(&hs, &format!("/courses/{}/materials/{material}", st.course))
        .await
        .text()
        .await
        .unwrap();
    assert!(view.contains("Ta có") && !view.contains("Nội dung mới"));
}

#[tokio::test]
async fn homework_with_photos_is_handed_in_once_and_graded() {
    let app = TestApp::spawn().await;
    let st = toan_6a1(&app).await;
    let gv = app.login("gv.toan").await;
    let part = reqwest::multipart::Form::new()
        .text("title", "Bài tập về nhà 1")
        .text("instructions", "Làm bài 1, 2 trang 10")
        .text("late", "accept_late");
    let r = gv
        .post(app.url(&format!("/courses/{}/tasks", st.course)))
        .multipart(part)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let task = location(&r);

    let hs = app.login("hs.demo").await;
    let inbox = app.get(&hs, "/inbox").await.text().await.unwrap();
    assert!(inbox.contains("Bài tập về nhà 1"), "students are told");
    // A script renamed .pdf is refused and nothing is stored.
    let bad = reqwest::multipart::Form::new().text("key", "k-bad").part(
        "files",
        reqwest::multipart::Part::bytes(b"<script>alert(1)</script>".to_vec()).file_name("bai.pdf"),
    );
    let r = hs
        .post(app.url(&format!("{task}/submit")))
        .multipart(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("bai.pdf"));
    let empty = reqwest::multipart::Form::new()
        .text("key", "k-empty")
        .text("body", " ");
    let r = hs
        .post(app.url(&format!("{task}/submit")))
        .multipart(empty)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let submit = || {
        reqwest::multipart::Form::new()
            .text("key", "k-1")
            .text("body", "Bài làm của em")
            .part(
                "photos",
                reqwest::multipart::Part::bytes(JPEG.to_vec()).file_name("trang1.jpg"),
            )
            .part(
                "photos",
                reqwest::multipart::Part::bytes(JPEG.to_vec()).file_name("trang2.jpg"),
            )
    };
    for _ in 0..2 {
        // The second is a retry after a dropped connection: stored once.
        let r = hs
            .post(app.url(&format!("{task}/submit")))
            .multipart(submit())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
    }
    let page = app.get(&hs, &task).await.text().await.unwrap();
    assert_eq!(
        page.matches("class=\"photo\"").count(),
        2,
        "two photos, once"
    );
    assert!(!page.contains("task-times"));

    let page = app.get(&gv, &task).await.text().await.unwrap();
    let sub = page
        .split("/grade/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a grade form")
        .to_owned();
    let r = form(
        &gv,
        &app,
        &format!("{task}/grade/{sub}"),
        &[("score", "11")],
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = form(
        &gv,
        &app,
        &format!("{task}/grade/{sub}"),
        &[("score", "8,5"), ("feedback", "Tốt")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let page = app.get(&hs, &task).await.text().await.unwrap();
    assert!(page.contains("<strong>8,5</strong>"), "{page}");
    // Graded work is closed to resubmission.
    let again = reqwest::multipart::Form::new()
        .text("key", "k-2")
        .text("body", "sửa");
    let r = hs
        .post(app.url(&format!("{task}/submit")))
        .multipart(again)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    // Progress: the teacher sees one graded submission and can export it.
    let p = app
        .get(&gv, &format!("/courses/{}/progress", st.course))
        .await
        .text()
        .await
        .unwrap();
    assert!(p.contains("8,5"));
    let x = app
        .get(&gv, &format!("/courses/{}/progress?format=xlsx", st.course))
        .await;
    assert_eq!(x.status(), 200);
    assert!(x.bytes().await.unwrap().starts_with(b"PK"));
}

#[tokio::test]
async fn questions_can_be_private_and_are_answered_by_the_teacher() {
    let app = TestApp::spawn().await;
    let st = toan_6a1(&app).await;
    let (mate, outsider) = other_students(&app).await;
    let hs = app.login("hs.demo").await;
    let r = form(
        &hs,
        &app,
        &format!("/courses/{}/questions", st.course),
        &[
            ("body", "Em chưa hiểu bài 2 ạ"),
            ("private", "1"),
            ("key", "q-1"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let q = location(&r);
    // Retried: one question.
    form(
        &hs,
        &app,
        &format!("/courses/{}/questions", st.course),
        &[
            ("body", "Em chưa hiểu bài 2 ạ"),
            ("private", "1"),
            ("key", "q-1"),
        ],
    )
    .await;

    let classmate = app.login(&mate).await;
    let list = app
        .get(&classmate, &format!("/courses/{}/questions", st.course))
        .await
        .text()
        .await
        .unwrap();
    assert!(!list.contains("Em chưa hiểu"), "private from classmates");
    assert_eq!(app.get(&classmate, &q).await.status(), 404);

    let gv = app.login("gv.toan").await;
    let home = app.get(&gv, "/courses").await.text().await.unwrap();
    assert!(home.contains("data-unanswered") && home.contains("Em chưa hiểu"));
    assert_eq!(home.matches("Em chưa hiểu").count(), 1);
    let r = form(
        &gv,
        &app,
        &q,
        &[("body", "Em xem lại ví dụ 3 nhé"), ("key", "a-1")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let page = app.get(&hs, &q).await.text().await.unwrap();
    assert!(page.contains("Em xem lại ví dụ 3") && page.contains("data-answered"));
    let home = app.get(&gv, "/courses").await.text().await.unwrap();
    assert!(
        !home.contains("data-unanswered"),
        "answered questions leave the queue"
    );

    // A student of another class cannot open the course at all.
    let other = app.login(&outsider).await;
    assert_eq!(
        app.get(&other, &format!("/courses/{}", st.course))
            .await
            .status(),
        403
    );
    assert_eq!(
        form(
            &other,
            &app,
            &format!("/courses/{}/questions", st.course),
            &[("body", "x"), ("key", "z")]
        )
        .await
        .status(),
        403
    );
}

#[tokio::test]
async fn parents_see_their_childs_homework_and_grades() {
    let app = TestApp::spawn().await;
    let st = toan_6a1(&app).await;
    let hs = app.db.user_by_username("hs.demo").await.unwrap();
    let child = app.db.student_by_user(hs.id).await.unwrap().unwrap();
    let gv = app.login("gv.toan").await;
    let cell = |k: &str, n: u8| format!("c-{}-{k}-{n}", child.id);
    let r = form(
        &gv,
        &app,
        &format!("/courses/{}/gradebook", st.course),
        &[
            ("term", "1"),
            (&cell("TX", 1), "8"),
            (&cell("TX", 2), "7,5"),
            (&cell("GK", 1), "6"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let parent = app.login("0912000001").await;
    let page = app
        .get(
            &parent,
            &format!("/schools/{}/students/{}", st.school, child.id),
        )
        .await
        .text()
        .await
        .unwrap();
    // The demo's open homework, and the grades so far with what is still missing.
    assert!(
        page.contains("data-homework") && page.contains("số La Mã"),
        "{page}"
    );
    assert!(
        page.contains("data-grades") && page.contains("8,0; 7,5"),
        "{page}"
    );
    assert!(
        page.contains("thiếu") || page.contains("cần"),
        "the average waits for missing scores"
    );
    let inbox = app.get(&parent, "/inbox").await.text().await.unwrap();
    assert!(
        inbox.contains("Cập nhật điểm môn Toán"),
        "parents are told of new grades"
    );
}

#[tokio::test]
async fn the_province_sets_the_online_target() {
    let app = TestApp::spawn().await;
    let st = toan_6a1(&app).await;
    let school = app.db.school_by_code("37THCSGV").await.unwrap();
    let province = school
        .unit_path
        .trim_matches('/')
        .split('/')
        .nth(1)
        .unwrap()
        .to_owned();
    let so = app.login("so.chuyenvien").await;
    let page = app
        .get(&so, &format!("/units/{province}/coverage"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-online-target"));
    let r = form(
        &so,
        &app,
        &format!("/units/{province}/online-target"),
        &[("percent", "150")],
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = form(
        &so,
        &app,
        &format!("/units/{province}/online-target"),
        &[("percent", "12,5")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let xa = app.login("xa.canbo").await;
    let r = form(
        &xa,
        &app,
        &format!("/units/{province}/online-target"),
        &[("percent", "1")],
    )
    .await;
    assert_eq!(
        r.status(),
        403,
        "a commune does not set the province's target"
    );
    let gv = app.login("gv.toan").await;
    let page = app
        .get(&gv, &format!("/courses/{}", st.course))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("12,5 %"), "the course shows the new target");
}

#[tokio::test]
async fn links_to_known_players_are_embedded_with_a_matching_policy() {
    let app = TestApp::spawn().await;
    let st = toan_6a1(&app).await;
    let gv = app.login("gv.toan").await;
    let make = |url: &'static str| {
        reqwest::multipart::Form::new()
            .text("kind", "link")
            .text("title", "Bài giảng trên YouTube")
            .text("url", url)
    };
    let r = gv
        .post(app.url(&format!("/schools/{}/library", st.school)))
        .multipart(make("https://www.youtube.com/watch?v=dQw4w9WgXcQ"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = app.get(&gv, &location(&r)).await;
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-src https://www.youtube-nocookie.com"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("src=\"https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ\""));
    // Not a web address: refused with the field named.
    let r = gv
        .post(app.url(&format!("/schools/{}/library", st.school)))
        .multipart(make("javascript:alert(1)"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Liên kết"));
    // Other pages keep the strict policy without frames.
    let plain = app.get(&gv, &format!("/courses/{}", st.course)).await;
    let csp = plain.headers()["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("frame-src"), "{csp}");
}
