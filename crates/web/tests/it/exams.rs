//! Online exams: publication pre-generates attempts; start, save and submit are idempotent;
//! the deadline is the server's; marking (the 2025 true/false rule), access rules, force
//! majeure, results, analysis, regrading, the gradebook, and durability across a crash.

use crate::harness::{PASSWORD, TestApp, location};
use exam::model::{CognitiveLevel, Question, QuestionKind};
use exam::shuffle::VariantItem;
use serde_json::json;

struct Setup {
    course: String,
    bank: String,
}

/// The Toán course of 6A1 and a bank with the Word template's questions, topics and levels
/// set so matrix exams can draw from it.
async fn setup(app: &TestApp) -> Setup {
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
        .unwrap();
    let mut qs = exam::docx::import(&exam::docx::template_docx())
        .unwrap()
        .into_questions();
    for q in &mut qs {
        q.meta.topic = Some("Hàm số".into());
        q.meta.level = Some(CognitiveLevel::NhanBiet);
    }
    let rows: Vec<_> = qs.iter().map(web::pages::exams::bank_row).collect();
    let bank = app
        .db
        .exam_sample_bank(s.id, gv.id, "Ngân hàng kiểm thử", &rows)
        .await
        .unwrap();
    Setup {
        course: course.id.to_string(),
        bank: bank.to_string(),
    }
}

/// Gives a classmate of hs.demo in 6A1 and a student of another class a password.
async fn other_students(app: &TestApp) -> (String, String) {
    let s = app.db.school_by_code("37THCSGV").await.unwrap();
    let year = app.db.current_year(s.id).await.unwrap().unwrap();
    let all = app
        .db
        .students(s.id, Some(year.id), &db::roster::StudentFilter::default())
        .await
        .unwrap();
    let hash = web::auth::hash_password(PASSWORD.into()).await.unwrap();
    let demo = app.db.user_by_username("hs.demo").await.unwrap();
    let mate = all
        .iter()
        .find(|x| x.class_name.as_deref() == Some("6A1") && x.user_id != Some(demo.id))
        .unwrap();
    let other = all
        .iter()
        .find(|x| x.class_name.as_deref() != Some("6A1"))
        .unwrap();
    let mut out = Vec::new();
    for st in [mate, other] {
        let uid = st.user_id.unwrap();
        app.db.set_password(uid, &hash, false).await.unwrap();
        out.push(app.db.user(uid).await.unwrap().username);
    }
    (out[0].clone(), out[1].clone())
}

fn local(ms: i64) -> String {
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
}

/// Creates an exam with every bank question and `extra` settings; returns its id.
async fn create_exam(
    app: &TestApp,
    gv: &reqwest::Client,
    st: &Setup,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let bank_qs = app
        .db
        .exam_bank_questions(
            app.db.school_by_code("37THCSGV").await.unwrap().id,
            st.bank.parse().unwrap(),
        )
        .await
        .unwrap();
    let now = db::now_ms();
    let opens = local(now - 3_600_000);
    let closes = local(now + 3_600_000);
    let mut f: Vec<(String, String)> = vec![
        ("title".into(), "Kiểm tra 15 phút".into()),
        ("bank".into(), st.bank.clone()),
        ("opens".into(), opens),
        ("closes".into(), closes),
        ("duration".into(), "15".into()),
        ("attempts".into(), "1".into()),
        ("shuffle_questions".into(), "1".into()),
        ("shuffle_options".into(), "1".into()),
    ];
    let mode_matrix = extra.iter().any(|(k, v)| *k == "mode" && *v == "matrix");
    if !mode_matrix {
        for q in &bank_qs {
            f.push(("q".into(), q.id.to_string()));
        }
    }
    for (k, v) in extra {
        f.retain(|(n, _)| n != k || *k == "q");
        f.push(((*k).into(), (*v).into()));
    }
    gv.post(app.url(&format!("/courses/{}/exams", st.course)))
        .form(&f)
        .send()
        .await
        .unwrap()
}

async fn published(
    app: &TestApp,
    gv: &reqwest::Client,
    st: &Setup,
    extra: &[(&str, &str)],
) -> String {
    let r = create_exam(app, gv, st, extra).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let exam = location(&r);
    let r = gv
        .post(app.url(&format!("{exam}/publish")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    exam
}

async fn start(app: &TestApp, c: &reqwest::Client, exam: &str, code: &str) -> reqwest::Response {
    c.post(app.url(&format!("{exam}/start")))
        .form(&[("code", code)])
        .send()
        .await
        .unwrap()
}

async fn items(app: &TestApp, attempt: &str) -> Vec<VariantItem> {
    let id = attempt.trim_start_matches("/attempts/").parse().unwrap();
    serde_json::from_str(&app.db.attempt(id).await.unwrap().variant).unwrap()
}

async fn save(
    app: &TestApp,
    c: &reqwest::Client,
    attempt: &str,
    item: usize,
    response: serde_json::Value,
    seq: i64,
    key: &str,
) -> reqwest::Response {
    c.post(app.url(&format!("{attempt}/answers")))
        .json(&json!({"item": item, "response": response, "seq": seq, "key": key}))
        .send()
        .await
        .unwrap()
}

fn find(items: &[VariantItem], pred: impl Fn(&Question) -> bool) -> usize {
    items.iter().position(|i| pred(&i.question)).unwrap()
}

#[tokio::test]
async fn start_is_idempotent_saves_keep_the_newest_and_marking_follows_the_2025_rule() {
    let app = TestApp::spawn().await;
    let st = setup(&app).await;
    let gv = app.login("gv.toan").await;
    let exam = published(&app, &gv, &st, &[]).await;
    let hs = app.login("hs.demo").await;

    // Pre-generated: every student of 6A1 has an attempt before anyone starts.
    let e = app
        .db
        .exam(exam.trim_start_matches("/exams/").parse().unwrap())
        .await
        .unwrap();
    let all = app.db.exam_attempts(&e).await.unwrap();
    assert!(all.len() > 1 && all.iter().all(|a| a.status == "ready"));

    let r1 = start(&app, &hs, &exam, "").await;
    assert_eq!(r1.status(), 303);
    let attempt = location(&r1);
    let r2 = start(&app, &hs, &exam, "").await;
    assert_eq!(
        location(&r2),
        attempt,
        "a second start returns the same attempt"
    );
    let page = app.get(&hs, &attempt).await.text().await.unwrap();
    assert!(page.contains("exam-paper") && page.contains("/static/exam.js"));
    assert!(!page.contains("\"key\""), "no key in the student's page");

    let its = items(&app, &attempt).await;
    let single = find(&its, |q| {
        matches!(q.kind, QuestionKind::SingleChoice { .. })
    });
    let right = match &its[single].question.kind {
        QuestionKind::SingleChoice { key, .. } => key.unwrap(),
        _ => unreachable!(),
    };
    let wrong = (right + 1) % 4;
    // seq 2 first, then the older seq 1 arrives late: the answer stays.
    let r = save(
        &app,
        &hs,
        &attempt,
        single,
        json!({"type":"single_choice","value":right}),
        2,
        "k2",
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = save(
        &app,
        &hs,
        &attempt,
        single,
        json!({"type":"single_choice","value":wrong}),
        1,
        "k1",
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["seq"], 2);
    // The same save replayed with its key: nothing changes.
    let r = save(
        &app,
        &hs,
        &attempt,
        single,
        json!({"type":"single_choice","value":wrong}),
        2,
        "k2",
    )
    .await;
    assert_eq!(r.status(), 200);
    let aid = attempt.trim_start_matches("/attempts/").parse().unwrap();
    let stored = app.db.answers(aid).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].seq, 2);
    assert!(stored[0].response.contains(&format!("\"value\":{right}")));

    // Tampered: an option that does not exist.
    let r = save(
        &app,
        &hs,
        &attempt,
        single,
        json!({"type":"single_choice","value":9}),
        3,
        "k3",
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = save(
        &app,
        &hs,
        &attempt,
        single,
        json!({"type":"essay","value":"x"}),
        3,
        "k3b",
    )
    .await;
    assert_eq!(r.status(), 400);

    // True/false cluster: three of four statements right → 0.5 of its point.
    let tf = find(&its, |q| {
        matches!(q.kind, QuestionKind::TrueFalseCluster { .. })
    });
    let truths: Vec<bool> = match &its[tf].question.kind {
        QuestionKind::TrueFalseCluster { statements } => {
            statements.iter().map(|s| s.truth.unwrap()).collect()
        }
        _ => unreachable!(),
    };
    let answer: Vec<Option<bool>> = truths
        .iter()
        .enumerate()
        .map(|(i, t)| Some(if i == 3 { !t } else { *t }))
        .collect();
    let r = save(
        &app,
        &hs,
        &attempt,
        tf,
        json!({"type":"true_false","value":answer}),
        1,
        "tf1",
    )
    .await;
    assert_eq!(r.status(), 200);

    let r = hs
        .post(app.url(&format!("{attempt}/submit")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = hs
        .post(app.url(&format!("{attempt}/submit")))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "submitting again is fine");
    let a = app.db.attempt(aid).await.unwrap();
    assert_eq!(a.status, "submitted");
    let per: Vec<Option<f64>> = serde_json::from_str(&a.per_item).unwrap();
    assert_eq!(per[single], Some(its[single].question.points));
    assert_eq!(per[tf], Some(0.5 * its[tf].question.points));
    // The essay is left blank: 0, nothing to mark.
    assert_eq!(a.manual_pending, 0);
    // After submission saves are refused.
    let r = save(
        &app,
        &hs,
        &attempt,
        single,
        json!({"type":"single_choice","value":wrong}),
        9,
        "k9",
    )
    .await;
    assert_eq!(r.status(), 409);
    let page = app.get(&hs, &attempt).await.text().await.unwrap();
    assert!(page.contains("data-score"), "score released at once");
    // The marked test counts in the student's progress in the course.
    let progress = app
        .get(&hs, &format!("/courses/{}/progress", st.course))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        progress.contains("(1)</td>"),
        "one test in the progress: {progress}"
    );
}

#[tokio::test]
async fn the_deadline_is_the_servers_and_expired_attempts_submit_themselves() {
    let app = TestApp::spawn().await;
    let st = setup(&app).await;
    let gv = app.login("gv.toan").await;
    let exam = published(&app, &gv, &st, &[]).await;
    let hs = app.login("hs.demo").await;
    let attempt = location(&start(&app, &hs, &exam, "").await);
    let aid = attempt.trim_start_matches("/attempts/").parse().unwrap();
    let its = items(&app, &attempt).await;
    let short = find(&its, |q| matches!(q.kind, QuestionKind::ShortAnswer { .. }));
    let r = save(
        &app,
        &hs,
        &attempt,
        short,
        json!({"type":"short_answer","value":"2,5"}),
        1,
        "a",
    )
    .await;
    assert_eq!(r.status(), 200);
    // The deadline passed a minute ago (beyond the grace for saves in flight).
    app.db
        .test_set_deadline(aid, db::now_ms() - 60_000)
        .await
        .unwrap();
    let r = save(
        &app,
        &hs,
        &attempt,
        short,
        json!({"type":"short_answer","value":"3"}),
        2,
        "b",
    )
    .await;
    assert_eq!(r.status(), 409);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("hết giờ"));
    // Reading it submits and marks it.
    let page = app.get(&hs, &attempt).await.text().await.unwrap();
    assert!(page.contains("data-attempt-status=\"submitted\""));
    let a = app.db.attempt(aid).await.unwrap();
    assert_eq!(a.status, "submitted");
    let per: Vec<Option<f64>> = serde_json::from_str(&a.per_item).unwrap();
    assert_eq!(per[short], Some(its[short].question.points), "2,5 is right");

    // A saved-but-expired attempt of a classmate is finished by the sweep too.
    let (mate, _) = other_students(&app).await;
    let m = app.login(&mate).await;
    let attempt2 = location(&start(&app, &m, &exam, "").await);
    let aid2 = attempt2.trim_start_matches("/attempts/").parse().unwrap();
    app.db
        .test_set_deadline(aid2, db::now_ms() - 60_000)
        .await
        .unwrap();
    let state = web::App::build(
        app.db.clone(),
        web::WebConfig {
            run_worker: false,
            ..Default::default()
        },
    )
    .unwrap()
    .state;
    web::pages::exams::sweep(&state).await;
    let a2 = app.db.attempt(aid2).await.unwrap();
    assert_eq!(a2.status, "submitted");
    assert!(a2.graded_at.is_some());
}

#[tokio::test]
async fn other_classes_wrong_codes_and_foreign_rooms_are_refused() {
    let app = TestApp::spawn_with(|c| c.trust_proxy = true).await;
    let st = setup(&app).await;
    let gv = app.login("gv.toan").await;
    let (mate, outsider) = other_students(&app).await;
    let exam = published(
        &app,
        &gv,
        &st,
        &[("access_code", "ABC123"), ("ip_ranges", "10.0.0.0/8")],
    )
    .await;
    let o = app.login(&outsider).await;
    assert_eq!(start(&app, &o, &exam, "ABC123").await.status(), 403);
    assert_eq!(app.get(&o, &exam).await.status(), 403);

    let hs = app.login("hs.demo").await;
    let from = |ip: &'static str, code: &'static str| {
        hs.post(app.url(&format!("{exam}/start")))
            .header("x-forwarded-for", ip)
            .form(&[("code", code)])
            .send()
    };
    assert_eq!(from("10.1.2.3", "sai").await.unwrap().status(), 403);
    let r = from("192.168.1.5", "ABC123").await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("phòng máy"));
    let r = from("10.1.2.3", "ABC123").await.unwrap();
    assert_eq!(r.status(), 303);
    let attempt = location(&r);
    // The attempt is hs.demo's: a classmate cannot save into it.
    let m = app.login(&mate).await;
    let r = save(
        &app,
        &m,
        &attempt,
        0,
        json!({"type":"essay","value":"x"}),
        1,
        "x",
    )
    .await;
    assert_eq!(r.status(), 403);
    // Saving from outside the room is refused, and a change of address is logged.
    let r = hs
        .post(app.url(&format!("{attempt}/answers")))
        .header("x-forwarded-for", "192.168.1.5")
        .json(&json!({"item":0,"response":{"type":"essay","value":"x"},"seq":1,"key":"x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn a_periodic_exam_needs_the_principals_force_majeure_reason() {
    let app = TestApp::spawn().await;
    let st = setup(&app).await;
    let gv = app.login("gv.toan").await;
    let r = create_exam(&app, &gv, &st, &[("kind", "periodic")]).await;
    assert_eq!(r.status(), 303);
    let exam = location(&r);
    let r = gv
        .post(app.url(&format!("{exam}/publish")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("bất khả kháng"));
    let r = gv
        .post(app.url(&format!("{exam}/force-majeure")))
        .form(&[("reason", "Tôi tự ghi")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "only the principal records it");
    let ht = app.login("ht.thcs").await;
    let r = ht
        .post(app.url(&format!("{exam}/force-majeure")))
        .form(&[("reason", "Bão số 3, học sinh không thể đến trường")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = gv
        .post(app.url(&format!("{exam}/publish")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = app.get(&gv, &exam).await.text().await.unwrap();
    assert!(page.contains("Bão số 3"));
}

#[tokio::test]
async fn a_matrix_the_bank_cannot_fill_is_refused_in_vietnamese() {
    let app = TestApp::spawn().await;
    let st = setup(&app).await;
    let gv = app.login("gv.toan").await;
    let r = create_exam(
        &app,
        &gv,
        &st,
        &[("mode", "matrix"), ("matrix", "Hàm số | Vận dụng cao | 3")],
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("ngân hàng chỉ có 0"));
    let exam = published(
        &app,
        &gv,
        &st,
        &[("mode", "matrix"), ("matrix", "ham so | NB | 4")],
    )
    .await;
    let hs = app.login("hs.demo").await;
    let attempt = location(&start(&app, &hs, &exam, "").await);
    assert_eq!(items(&app, &attempt).await.len(), 4);
    // On paper too, each mã đề is its own draw of the matrix, not the whole pool.
    let pool = app
        .db
        .exam_bank_questions(
            app.db.school_by_code("37THCSGV").await.unwrap().id,
            st.bank.parse().unwrap(),
        )
        .await
        .unwrap();
    assert!(pool.len() > 4, "the bank holds more than the matrix draws");
    let r = app.get(&gv, &format!("{exam}/paper.docx?versions=2")).await;
    assert_eq!(r.status(), 200);
    let back = exam::docx::import(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(back.questions.len(), 8, "two versions of four questions");
}

#[tokio::test]
async fn results_analysis_regrading_and_the_gradebook() {
    let app = TestApp::spawn().await;
    let st = setup(&app).await;
    let gv = app.login("gv.toan").await;
    let exam = published(&app, &gv, &st, &[("shuffle_options", "")]).await;
    // Paper versions: one Word file with every mã đề, readable back as questions.
    let r = app.get(&gv, &format!("{exam}/paper.docx?versions=3")).await;
    assert_eq!(r.status(), 200);
    let docx = r.bytes().await.unwrap();
    let back = exam::docx::import(&docx).unwrap();
    assert!(!back.questions.is_empty(), "the paper reads back");
    assert_eq!(
        app.get(&gv, &format!("{exam}/paper.docx?versions=99"))
            .await
            .status(),
        400
    );
    let hs_c = app.login("hs.demo").await;
    assert_eq!(
        app.get(&hs_c, &format!("{exam}/paper.docx")).await.status(),
        403
    );
    let (mate, _) = other_students(&app).await;
    let mut aids = Vec::new();
    for (n, login) in ["hs.demo", mate.as_str()].into_iter().enumerate() {
        let c = app.login(login).await;
        let attempt = location(&start(&app, &c, &exam, "").await);
        let its = items(&app, &attempt).await;
        for (i, it) in its.iter().enumerate() {
            let resp = match &it.question.kind {
                QuestionKind::SingleChoice { key, .. } => {
                    json!({"type":"single_choice","value": if n == 0 { key.unwrap() } else { (key.unwrap() + 1) % 4 }})
                }
                QuestionKind::ShortAnswer { .. } => json!({"type":"short_answer","value":"2,5"}),
                QuestionKind::Essay { .. } => json!({"type":"essay","value":"Bài viết của em"}),
                _ => continue,
            };
            assert_eq!(
                save(&app, &c, &attempt, i, resp, 1, &format!("s{i}"))
                    .await
                    .status(),
                200
            );
        }
        c.post(app.url(&format!("{attempt}/submit")))
            .send()
            .await
            .unwrap();
        aids.push(attempt);
    }
    let page = app
        .get(&gv, &format!("{exam}/results"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-results-table"));
    let r = app.get(&gv, &format!("{exam}/results?format=xlsx")).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheet")
    );
    // The essays wait for the teacher: the gradebook refuses until they are marked.
    let page = app
        .get(&gv, &format!("{exam}/grading"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&aids[0]));
    let r = gv
        .post(app.url(&format!("{exam}/gradebook")))
        .form(&[("kind", "TX"), ("slot", "2"), ("term", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    for attempt in &aids {
        let its = items(&app, attempt).await;
        let essay = find(&its, |q| matches!(q.kind, QuestionKind::Essay { .. }));
        let page = app.get(&gv, attempt).await.text().await.unwrap();
        assert!(page.contains("data-mark-form"));
        let fields: Vec<(String, String)> = page
            .match_indices("name=\"c")
            .map(|(i, _)| {
                let n: String = page[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                (format!("c{n}"), "0".to_owned())
            })
            .chain([("item".to_owned(), essay.to_string())])
            .collect();
        let r = gv
            .post(app.url(&format!("{attempt}/marks")))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    }
    let page = app
        .get(&gv, &format!("{exam}/analysis"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("KR-20") && page.contains("<svg"), "{page}");
    let r = app.get(&gv, &format!("{exam}/analysis?format=xlsx")).await;
    assert_eq!(r.status(), 200);

    // Key fix: question 1 (single choice) now has key of the second student's answer.
    let e = app
        .db
        .exam(exam.trim_start_matches("/exams/").parse().unwrap())
        .await
        .unwrap();
    let paper: exam::model::Exam = serde_json::from_str(&e.paper).unwrap();
    let q1 = &paper.sections[0].questions[0];
    let k = match &q1.kind {
        QuestionKind::SingleChoice { key, .. } => key.unwrap(),
        _ => panic!("question 1 of the template is single choice"),
    };
    let first = app
        .db
        .attempt(aids[0].trim_start_matches("/attempts/").parse().unwrap())
        .await
        .unwrap();
    let before = first.score_e4.unwrap();
    let new_key = exam::model::option_letter((k + 1) % 4).to_string();
    let r = gv
        .post(app.url(&format!("{exam}/key")))
        .form(&[("question", "1"), ("key", new_key.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let first = app.db.attempt(first.id).await.unwrap();
    assert!(first.score_e4.unwrap() < before, "regraded");
    let s = app.db.school_by_code("37THCSGV").await.unwrap();
    let audit = app.db.audit_of_school(s.id, 20).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "exam.regrade"));

    let r = gv
        .post(app.url(&format!("{exam}/gradebook")))
        .form(&[("kind", "TX"), ("slot", "2"), ("term", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let course = app.db.course(st.course.parse().unwrap()).await.unwrap();
    let cells = app.db.grade_entries(&course, 1).await.unwrap();
    let posted: Vec<_> = cells
        .iter()
        .filter(|c| c.kind == "TX" && c.slot == 2)
        .collect();
    assert_eq!(posted.len(), 2);
    assert!(posted.iter().all(|c| c.source.starts_with("exam:")));
}

#[tokio::test]
async fn every_acknowledged_answer_survives_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("crash.db").display()
    );
    sqlx::any::install_default_drivers();
    let boot = |url: String| async move {
        let db = db::Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        let app = web::App::build(
            db.clone(),
            web::WebConfig {
                run_worker: false,
                ..Default::default()
            },
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(app.serve(listener, std::future::pending()));
        (db, format!("http://{addr}"), task)
    };
    let (db1, base, task) = boot(url.clone()).await;
    web::demo::load(&db1).await.unwrap();
    let client = || {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    };
    let login = |who: &'static str| {
        let base = base.clone();
        let c = client();
        async move {
            let r = c
                .post(format!("{base}/login"))
                .form(&[("login", who), ("password", PASSWORD)])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 303);
            c
        }
    };
    // Exam set up through the same pages.
    let s = db1.school_by_code("37THCSGV").await.unwrap();
    let year = db1.current_year(s.id).await.unwrap().unwrap();
    db1.ensure_courses(s.id, year.id).await.unwrap();
    let gvu = db1.user_by_username("gv.toan").await.unwrap();
    let course = db1
        .courses_taught(gvu.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.class_name == "6A1" && c.subject_code == "TOAN")
        .unwrap();
    let qs = exam::docx::import(&exam::docx::template_docx())
        .unwrap()
        .into_questions();
    let rows: Vec<_> = qs.iter().map(web::pages::exams::bank_row).collect();
    let bank = db1
        .exam_sample_bank(s.id, gvu.id, "B", &rows)
        .await
        .unwrap();
    let gv = login("gv.toan").await;
    let mut f: Vec<(String, String)> = vec![
        ("title".into(), "Bền vững".into()),
        ("bank".into(), bank.to_string()),
        ("opens".into(), local(db::now_ms() - 3_600_000)),
        ("closes".into(), local(db::now_ms() + 3_600_000)),
        ("duration".into(), "30".into()),
        ("attempts".into(), "1".into()),
    ];
    for q in db1.exam_bank_questions(s.id, bank).await.unwrap() {
        f.push(("q".into(), q.id.to_string()));
    }
    let r = gv
        .post(format!("{base}/courses/{}/exams", course.id))
        .form(&f)
        .send()
        .await
        .unwrap();
    let exam = location(&r);
    gv.post(format!("{base}{exam}/publish"))
        .send()
        .await
        .unwrap();
    let hs = login("hs.demo").await;
    let r = hs
        .post(format!("{base}{exam}/start"))
        .form(&[("code", "")])
        .send()
        .await
        .unwrap();
    let attempt = location(&r);
    let aid: domain::Id = attempt.trim_start_matches("/attempts/").parse().unwrap();
    let its: Vec<VariantItem> =
        serde_json::from_str(&db1.attempt(aid).await.unwrap().variant).unwrap();
    let essay = find(&its, |q| matches!(q.kind, QuestionKind::Essay { .. }));
    let mut acked = 0;
    for seq in 1..=40 {
        let r = hs
            .post(format!("{base}{attempt}/answers"))
            .json(&json!({"item": essay, "response": {"type":"essay","value": format!("bản {seq}")}, "seq": seq, "key": format!("k{seq}")}))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            acked = seq;
        }
    }
    // Crash: the server stops mid-flight, nothing is closed cleanly.
    task.abort();
    drop(db1);
    let (db2, _, task2) = boot(url).await;
    let answers = db2.answers(aid).await.unwrap();
    assert_eq!(acked, 40);
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].seq, acked);
    assert!(answers[0].response.contains(&format!("bản {acked}")));
    task2.abort();
}

#[tokio::test]
async fn settings_change_is_audited_moves_running_deadlines_and_keeps_published_shuffles() {
    let app = TestApp::spawn().await;
    let st = setup(&app).await;
    let gv = app.login("gv.toan").await;
    let exam = published(&app, &gv, &st, &[]).await;
    let eid: domain::Id = exam.trim_start_matches("/exams/").parse().unwrap();
    let hs = app.login("hs.demo").await;
    let attempt = location(&start(&app, &hs, &exam, "").await);
    let aid = attempt.trim_start_matches("/attempts/").parse().unwrap();
    let before = app.db.attempt(aid).await.unwrap();
    let started = before.started_at.unwrap();

    let now = db::now_ms();
    let form = |title: &str, closes: i64, duration: &str| {
        vec![
            ("title".to_owned(), title.to_owned()),
            ("opens".into(), local(now - 3_600_000)),
            ("closes".into(), local(closes)),
            ("duration".into(), duration.to_owned()),
            ("attempts".into(), "2".into()),
            ("access_code".into(), "".into()),
            // Asking to stop shuffling a published exam changes nothing: papers exist.
            ("layout".into(), "one".into()),
        ]
    };
    // Bad input: named in Vietnamese, nothing changed.
    let r = gv
        .post(app.url(&format!("{exam}/settings")))
        .form(&form("Kiểm tra 15 phút", now + 3_600_000, "0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Thời gian làm bài"));
    let r = gv
        .post(app.url(&format!("{exam}/settings")))
        .form(&form("Kiểm tra 15 phút", now - 7_200_000, "15"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Thời gian đóng"));
    assert_eq!(app.db.exam(eid).await.unwrap().settings.duration_min, 15);

    // A student may not change it.
    let r = hs
        .post(app.url(&format!("{exam}/settings")))
        .form(&form("Đổi tên", now + 3_600_000, "60"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Twenty minutes instead of fifteen, for everyone — the running attempt included.
    let r = gv
        .post(app.url(&format!("{exam}/settings")))
        .form(&form("Kiểm tra 20 phút", now + 3_600_000, "20"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let e = app.db.exam(eid).await.unwrap();
    assert_eq!(e.settings.title, "Kiểm tra 20 phút");
    assert_eq!(e.settings.duration_min, 20);
    assert_eq!(e.settings.attempts_allowed, 2);
    assert!(e.settings.one_per_page);
    assert!(e.settings.shuffle_questions && e.settings.shuffle_options);
    let after = app.db.attempt(aid).await.unwrap();
    assert_eq!(after.deadline_at, Some(started + 20 * 60_000));
    // Closing earlier caps the running attempt's deadline.
    let close = now + 5 * 60_000;
    let r = gv
        .post(app.url(&format!("{exam}/settings")))
        .form(&form("Kiểm tra 20 phút", close, "20"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let capped = app.db.attempt(aid).await.unwrap().deadline_at.unwrap();
    // datetime-local keeps minutes: the cap is the minute of `close`.
    assert!(
        capped <= close && capped > close - 60_000,
        "{capped} vs {close}"
    );

    let school = app.db.school_by_code("37THCSGV").await.unwrap();
    let log = app.db.audit_of_school(school.id, 50).await.unwrap();
    let entry = log
        .iter()
        .find(|a| a.action == "exam.settings" && a.detail.contains("phút: 15 → 20"))
        .expect("audited");
    assert!(
        entry
            .detail
            .contains("tên: Kiểm tra 15 phút → Kiểm tra 20 phút")
    );
    assert!(!entry.detail.contains("trộn câu"), "{}", entry.detail);
    let page = app.get(&gv, &exam).await.text().await.unwrap();
    assert!(page.contains("data-save-settings"));
}

#[tokio::test]
async fn images_and_formulas_of_imported_questions_reach_the_students_paper() {
    let app = TestApp::spawn().await;
    let st = setup(&app).await;
    let school = app
        .db
        .school_by_code("37THCSGV")
        .await
        .unwrap()
        .id
        .to_string();
    let gv = app.login("gv.toan").await;
    // A Word file with a picture and a formula in the stem, as the docx writer makes it.
    let png = {
        let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
        v.extend_from_slice(&[0, 0, 0, 13]);
        v.extend_from_slice(b"IHDR");
        v.extend_from_slice(&[
            0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde,
        ]);
        v.extend_from_slice(&[0, 0, 0, 0]);
        v.extend_from_slice(b"IEND");
        v.extend_from_slice(&[0xae, 0x42, 0x60, 0x82]);
        v
    };
    let q = Question::new(
        "Quan sát hình {{img:tamgiac.png}} và tính $\\frac{1}{2} + \\frac{1}{3}$.",
        QuestionKind::SingleChoice {
            options: ["$\\frac{5}{6}$", "$\\frac{2}{5}$", "1", "0"]
                .iter()
                .map(|o| exam::model::Content::new(*o))
                .collect(),
            key: Some(0),
        },
    );
    let paper = exam::model::Exam {
        sections: vec![exam::model::Section {
            title: String::new(),
            questions: vec![q],
        }],
        assets: vec![exam::model::Asset {
            id: "tamgiac.png".into(),
            mime: "image/png".into(),
            bytes: png.clone(),
        }],
        ..exam::model::Exam::default()
    };
    let bank = crate::banks::create_bank(&app, &gv, &school, "Hình học", "personal").await;
    let (status, html) = crate::banks::upload(
        &app,
        &gv,
        &school,
        &bank,
        "hinh.docx",
        exam::docx::export_docx(&paper),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    let r = crate::banks::confirm(&app, &gv, &school, &bank, &html, "hinh.docx", false).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let st2 = Setup {
        course: st.course.clone(),
        bank,
    };
    let exam = published(&app, &gv, &st2, &[]).await;
    let hs = app.login("hs.demo").await;
    let attempt = location(&start(&app, &hs, &exam, "").await);
    let page = app.get(&hs, &attempt).await.text().await.unwrap();
    assert!(page.contains("<mfrac>"), "formulas are MathML");
    assert!(page.contains("/static/math.css"));
    let src_at = page
        .find(&format!("src=\"{exam}/assets/"))
        .expect("the picture");
    let src = &page[src_at + 5..];
    let src = &src[..src.find('"').unwrap()];
    let r = app.get(&hs, src).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    // A student of another class sees neither the exam nor its pictures.
    let (_, other) = other_students(&app).await;
    let o = app.login(&other).await;
    assert_eq!(app.get(&o, src).await.status(), 403);
    assert_eq!(
        app.get(&hs, &format!("{exam}/assets/nothing.png"))
            .await
            .status(),
        404
    );
}

/// Saves racing the submission: each is either refused (409) or counted in the marks; none is
/// stored yet left out of them. (On PostgreSQL a save whose snapshot still saw the attempt
/// "started" could commit just after the marking had read the answers.)
#[tokio::test]
async fn saves_racing_the_submission_are_refused_or_marked() {
    let app = TestApp::spawn().await;
    let st = setup(&app).await;
    let gv = app.login("gv.toan").await;
    let exam = published(&app, &gv, &st, &[]).await;
    // Several students of 6A1 with a password: one race each.
    let s = app.db.school_by_code("37THCSGV").await.unwrap();
    let year = app.db.current_year(s.id).await.unwrap().unwrap();
    let hash = web::auth::hash_password(PASSWORD.into()).await.unwrap();
    let mut users = Vec::new();
    for x in app
        .db
        .students(s.id, Some(year.id), &db::roster::StudentFilter::default())
        .await
        .unwrap()
        .iter()
        .filter(|x| x.class_name.as_deref() == Some("6A1"))
        .take(8)
    {
        let uid = x.user_id.unwrap();
        app.db.set_password(uid, &hash, false).await.unwrap();
        users.push(app.db.user(uid).await.unwrap().username);
    }
    assert!(users.len() >= 4, "6A1 has students to race with");
    for user in &users {
        let c = app.login(user).await;
        let attempt = location(&start(&app, &c, &exam, "").await);
        let aid: domain::Id = attempt.trim_start_matches("/attempts/").parse().unwrap();
        let its = items(&app, &attempt).await;
        // Every single-choice item answered right, again and again (seq 1, 2, …), until the
        // attempt is closed.
        let mut savers = Vec::new();
        for (item, it) in its.iter().enumerate() {
            let QuestionKind::SingleChoice { key: Some(key), .. } = it.question.kind else {
                continue;
            };
            let (c, url) = (c.clone(), app.url(&format!("{attempt}/answers")));
            savers.push(tokio::spawn(async move {
                for seq in 1.. {
                    let r = c
                        .post(&url)
                        .json(&json!({"item": item, "response": {"type": "single_choice", "value": key}, "seq": seq, "key": format!("{item}-{seq}")}))
                        .send()
                        .await
                        .unwrap();
                    match r.status().as_u16() {
                        200 => {}
                        409 => return,
                        other => panic!("save of item {item}: HTTP {other}"),
                    }
                }
            }));
        }
        assert!(savers.len() >= 2, "the paper has single-choice items");
        // Submit while the saves are coming in.
        while app.db.answers(aid).await.unwrap().len() < savers.len() {
            tokio::task::yield_now().await;
        }
        let r = c
            .post(app.url(&format!("{attempt}/submit")))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        for s in savers {
            s.await.unwrap();
        }
        let a = app.db.attempt(aid).await.unwrap();
        assert_eq!(a.status, "submitted");
        let per: Vec<Option<f64>> = serde_json::from_str(&a.per_item).unwrap();
        for w in app.db.answers(aid).await.unwrap() {
            let i = usize::try_from(w.item).unwrap();
            assert_eq!(
                per[i],
                Some(its[i].question.points),
                "{user}: the right answer to item {i} (seq {}) is stored but not marked",
                w.seq
            );
        }
    }
}
