//! Families: activation codes, conversations, announcements, inbox, moderation.

use crate::harness::{TestApp, location};

/// Issues activation codes for a class as its homeroom teacher and returns (phone, code) pairs.
async fn codes_for_class(
    app: &TestApp,
    teacher: &reqwest::Client,
    school: &str,
    class: &str,
) -> Vec<(String, String)> {
    let page = teacher
        .post(app.url(&format!("/schools/{school}/classes/{class}/parent-codes")))
        .form(&[("x", "")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    page.split("class=\"slip\"")
        .skip(1)
        .map(|slip| {
            let codes: Vec<&str> = slip
                .split("<code")
                .skip(1)
                .map(|c| c.split('>').nth(1).unwrap().split('<').next().unwrap())
                .collect();
            (codes[1].to_owned(), codes[2].to_owned())
        })
        .collect()
}

struct Class6A1 {
    school: String,
    class: String,
    homeroom_login: String,
}

async fn class_6a1(app: &TestApp) -> Class6A1 {
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
    let homeroom = app
        .db
        .staff_member(s.id, class.homeroom_staff_id.unwrap())
        .await
        .unwrap();
    Class6A1 {
        school: s.id.to_string(),
        class: class.id.to_string(),
        homeroom_login: homeroom.username,
    }
}

#[tokio::test]
async fn a_parent_activates_with_a_one_time_code_and_consents() {
    let app = TestApp::spawn().await;
    let c = class_6a1(&app).await;
    let teacher = app.login(&c.homeroom_login).await;
    // A subject teacher of another class may not print codes for this one.
    let other = app.login("tt.toan").await;
    if c.homeroom_login != "tt.toan" {
        let r = other
            .post(app.url(&format!(
                "/schools/{}/classes/{}/parent-codes",
                c.school, c.class
            )))
            .form(&[("x", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    let codes = codes_for_class(&app, &teacher, &c.school, &c.class).await;
    assert!(
        codes.len() >= 10,
        "one code per parent without a password: {}",
        codes.len()
    );
    let (phone, code) = codes[0].clone();
    let anon = app.client();
    let activate = |code: &str, consent: bool| {
        let mut form = vec![
            ("phone", phone.clone()),
            ("code", code.to_owned()),
            ("new", "Con-hoc-gioi-2026".to_owned()),
            ("confirm", "Con-hoc-gioi-2026".to_owned()),
        ];
        if consent {
            form.push(("consent", "1".into()));
        }
        anon.post(app.url("/activate")).form(&form).send()
    };
    // A wrong code, then no consent: refused, nothing changes.
    let r = activate("ZZZZ-ZZZZ", true).await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("không đúng"));
    let r = activate(&code, false).await.unwrap();
    assert_eq!(r.status(), 400);
    // The code typed in lower case without the dash works.
    let typed = code.replace('-', "").to_lowercase();
    let r = activate(&typed, true).await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/?ok=activated");
    let home = app.get(&anon, "/").await.text().await.unwrap();
    assert!(home.contains("dashboard-parent"));
    let user = app.db.user_by_login(&phone).await.unwrap().unwrap();
    let consents = app.db.consents(user.id).await.unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].0, "child_data_processing");
    // The code cannot be used twice; the password works.
    let r = activate(&code, true).await.unwrap();
    assert_eq!(r.status(), 409);
    app.login_as(&phone, "Con-hoc-gioi-2026").await;
    let (_, r) = app.login_as(&phone, "Con-hoc-gioi-2026").await;
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn codes_lock_after_five_wrong_tries_and_expire() {
    let app = TestApp::spawn().await;
    let c = class_6a1(&app).await;
    let teacher = app.login(&c.homeroom_login).await;
    let (phone, code) = codes_for_class(&app, &teacher, &c.school, &c.class)
        .await
        .remove(0);
    let anon = app.client();
    for _ in 0..5 {
        let r = anon
            .post(app.url("/activate"))
            .form(&[
                ("phone", phone.as_str()),
                ("code", "AAAA-AAAA"),
                ("new", "Mat-khau-moi-1"),
                ("confirm", "Mat-khau-moi-1"),
                ("consent", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = anon
        .post(app.url("/activate"))
        .form(&[
            ("phone", phone.as_str()),
            ("code", code.as_str()),
            ("new", "Mat-khau-moi-1"),
            ("confirm", "Mat-khau-moi-1"),
            ("consent", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        429,
        "the right code no longer works after five wrong tries"
    );
    assert!(r.text().await.unwrap().contains("mã mới"));
    // A new code replaces the locked one.
    let fresh: Vec<_> = codes_for_class(&app, &teacher, &c.school, &c.class).await;
    let (_, new_code) = fresh.into_iter().find(|(p, _)| *p == phone).unwrap();
    let r = anon
        .post(app.url("/activate"))
        .form(&[
            ("phone", phone.as_str()),
            ("code", new_code.as_str()),
            ("new", "Mat-khau-moi-1"),
            ("confirm", "Mat-khau-moi-1"),
            ("consent", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn parents_and_teachers_talk_about_one_child_only() {
    let app = TestApp::spawn().await;
    let thcs = app.db.school_by_code("37THCSGV").await.unwrap();
    let hs = app.db.user_by_username("hs.demo").await.unwrap();
    let child = app.db.student_by_user(hs.id).await.unwrap().unwrap();
    let parent = app.login("0912000001").await;
    let page = app
        .get(
            &parent,
            &format!("/schools/{}/students/{}", thcs.id, child.id),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-nav=\"message-teacher\""));
    let staff = app
        .db
        .class_staff(thcs.id, child.class_id.unwrap())
        .await
        .unwrap();
    let (teacher_id, teacher_name, _) = staff[0].clone();
    let teacher_login = app.db.user(teacher_id).await.unwrap().username;

    // The parent writes; a retried send (same key) is stored once.
    let compose = app.url("/messages/new");
    let form = [
        ("school", thcs.id.to_string()),
        ("student", child.id.to_string()),
        ("with", teacher_id.to_string()),
        (
            "body",
            "Thưa cô, cháu bị ốm, xin phép nghỉ học hôm nay.".to_owned(),
        ),
        ("key", "k-1".to_owned()),
    ];
    let r = parent.post(&compose).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let thread_url = location(&r);
    parent.post(&compose).form(&form).send().await.unwrap();
    let thread_id: uuid::Uuid = thread_url.trim_start_matches("/messages/").parse().unwrap();
    assert_eq!(app.db.messages(thread_id).await.unwrap().len(), 1);

    // The teacher sees it in the inbox and the conversation list, reads and answers.
    let teacher = app.login(&teacher_login).await;
    let inbox = app.get(&teacher, "/inbox").await.text().await.unwrap();
    assert!(inbox.contains("Tin nhắn mới"));
    let list = app.get(&teacher, "/messages").await.text().await.unwrap();
    assert!(list.contains(&child.full_name) && list.contains("tin mới"));
    let page = app.get(&teacher, &thread_url).await.text().await.unwrap();
    assert!(page.contains("xin phép nghỉ học"));
    let r = teacher
        .post(app.url(&thread_url))
        .form(&[
            ("body", "Cô đã nhận tin, chúc cháu mau khỏe."),
            ("key", "k-2"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = app.get(&parent, &thread_url).await.text().await.unwrap();
    assert!(
        page.contains("mau khỏe") && page.contains("Đã xem"),
        "the teacher read the parent's message"
    );
    assert!(page.contains(&teacher_name));

    // Nobody else can read or write in it, or open a channel to another family's child.
    let other_parent = app.login("ht.thcs").await; // a manager may read (moderation) but not write
    let r = other_parent
        .post(app.url(&thread_url))
        .form(&[("body", "chen ngang"), ("key", "k-3")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let stranger = app.login("gv2.37thgv01").await;
    assert_eq!(app.get(&stranger, &thread_url).await.status(), 403);
    let year = app.db.current_year(thcs.id).await.unwrap().map(|y| y.id);
    let classmates = app
        .db
        .students(thcs.id, year, &Default::default())
        .await
        .unwrap();
    let other_child = classmates
        .iter()
        .find(|s| s.class_id == child.class_id && s.id != child.id)
        .unwrap();
    let r = parent
        .post(&compose)
        .form(&[
            ("school", thcs.id.to_string()),
            ("student", other_child.id.to_string()),
            ("with", teacher_id.to_string()),
            ("body", "hi".to_owned()),
            ("key", "k-4".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let outsider = app.db.user_by_username("gv2.37thgv01").await.unwrap();
    let r = parent
        .post(&compose)
        .form(&[
            ("school", thcs.id.to_string()),
            ("student", child.id.to_string()),
            ("with", outsider.id.to_string()),
            ("body", "hi".to_owned()),
            ("key", "k-5".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "only teachers of the child's class");

    // Report, moderation and blocking.
    let msgs = app.db.messages(thread_id).await.unwrap();
    let teacher_msg = msgs.iter().find(|m| m.sender_id == teacher_id).unwrap();
    let r = parent
        .post(app.url(&format!("{thread_url}/report/{}", teacher_msg.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let principal = app.login("ht.thcs").await;
    let queue = app
        .get(&principal, &format!("/schools/{}/moderation", thcs.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(queue.contains("mau khỏe"));
    assert_eq!(
        app.get(&teacher, &format!("/schools/{}/moderation", thcs.id))
            .await
            .status(),
        403
    );
    let r = principal
        .post(app.url(&format!(
            "/schools/{}/moderation/threads/{thread_id}",
            thcs.id
        )))
        .form(&[("action", "block")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = parent
        .post(app.url(&thread_url))
        .form(&[("body", "Con cảm ơn cô"), ("key", "k-6")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("tạm khoá"));
}

#[tokio::test]
async fn message_flooding_is_refused() {
    let app = TestApp::spawn().await;
    let thcs = app.db.school_by_code("37THCSGV").await.unwrap();
    let hs = app.db.user_by_username("hs.demo").await.unwrap();
    let child = app.db.student_by_user(hs.id).await.unwrap().unwrap();
    let (teacher_id, _, _) = app
        .db
        .class_staff(thcs.id, child.class_id.unwrap())
        .await
        .unwrap()
        .remove(0);
    let parent = app.login("0912000001").await;
    let mut statuses = Vec::new();
    for i in 0..12 {
        let r = parent
            .post(app.url("/messages/new"))
            .form(&[
                ("school", thcs.id.to_string()),
                ("student", child.id.to_string()),
                ("with", teacher_id.to_string()),
                ("body", format!("tin {i}")),
                ("key", format!("flood-{i}")),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 303).count(), 10);
    assert_eq!(statuses[11], 429);
    // Empty and oversized messages are refused with a message.
    let r = parent
        .post(app.url("/messages/new"))
        .form(&[
            ("school", thcs.id.to_string()),
            ("student", child.id.to_string()),
            ("with", teacher_id.to_string()),
            ("body", "x".repeat(2001)),
            ("key", "big".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn announcements_reach_the_class_parents_with_read_receipts() {
    let app = TestApp::spawn().await;
    let c = class_6a1(&app).await;
    let teacher = app.login(&c.homeroom_login).await;
    let r = teacher
        .post(app.url(&format!(
            "/schools/{}/classes/{}/announcements",
            c.school, c.class
        )))
        .form(&[
            ("title", "Họp phụ huynh cuối học kỳ I"),
            (
                "body",
                "Kính mời quý phụ huynh dự họp lúc 7h30 Chủ nhật 10/01 tại phòng 6A1.",
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let class_page = app
        .get(
            &teacher,
            &format!("/schools/{}/classes/{}", c.school, c.class),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(class_page.contains("Họp phụ huynh cuối học kỳ I"));
    let school: uuid::Uuid = c.school.parse().unwrap();
    let class: uuid::Uuid = c.class.parse().unwrap();
    let a = app
        .db
        .class_announcements(school, class)
        .await
        .unwrap()
        .remove(0);
    assert!(a.recipients >= 18);
    assert_eq!(a.read, 0);

    // The demo parent has a child in 6A1: it is in the inbox; opening it counts as read.
    let parent = app.login("0912000001").await;
    let inbox = app.get(&parent, "/inbox").await.text().await.unwrap();
    assert!(inbox.contains("Họp phụ huynh cuối học kỳ I"));
    let page = app
        .get(&parent, &format!("/announcements/{}", a.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("7h30"));
    assert!(
        !page.contains("data-readers"),
        "parents do not see who else read"
    );
    let a = app.db.announcement(a.id).await.unwrap();
    assert_eq!(a.read, 1);
    let readers = app
        .get(&teacher, &format!("/announcements/{}", a.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(readers.contains("data-readers") && readers.contains("đã đọc lúc"));

    // Parents of other classes and staff of other classes cannot open it; students cannot post.
    let outsider = app.login("gv2.37thgv01").await;
    assert_eq!(
        app.get(&outsider, &format!("/announcements/{}", a.id))
            .await
            .status(),
        403
    );
    let student = app.login("hs.demo").await;
    let r = student
        .post(app.url(&format!(
            "/schools/{}/classes/{}/announcements",
            c.school, c.class
        )))
        .form(&[("title", "x"), ("body", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn parents_see_a_teachers_office_hours_before_writing() {
    let app = TestApp::spawn().await;
    let thcs = app.db.school_by_code("37THCSGV").await.unwrap();
    let hs = app.db.user_by_username("hs.demo").await.unwrap();
    let child = app.db.student_by_user(hs.id).await.unwrap().unwrap();
    let (teacher_id, _, _) = app
        .db
        .class_staff(thcs.id, child.class_id.unwrap())
        .await
        .unwrap()
        .remove(0);
    let teacher_login = app.db.user(teacher_id).await.unwrap().username;
    let teacher = app.login(&teacher_login).await;
    let r = teacher
        .post(app.url("/account/notifications"))
        .form(&[
            ("quiet_start", "21"),
            ("quiet_end", "6"),
            ("office_hours", "7:00–17:00 từ thứ Hai đến thứ Sáu"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let parent = app.login("0912000001").await;
    let page = app
        .get(
            &parent,
            &format!(
                "/messages/new?school={}&student={}&with={teacher_id}",
                thcs.id, child.id
            ),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("7:00–17:00 từ thứ Hai đến thứ Sáu"), "{page}");
    // Parents have no office hours to set.
    parent
        .post(app.url("/account/notifications"))
        .form(&[
            ("quiet_start", "21"),
            ("quiet_end", "6"),
            ("office_hours", "bất cứ lúc nào"),
        ])
        .send()
        .await
        .unwrap();
    let me = app.db.user_by_login("0912000001").await.unwrap().unwrap();
    assert_eq!(app.db.office_hours(me.id).await.unwrap(), "");
}

#[tokio::test]
async fn photos_travel_with_messages_and_stay_in_the_conversation() {
    let app = TestApp::spawn().await;
    let thcs = app.db.school_by_code("37THCSGV").await.unwrap();
    let hs = app.db.user_by_username("hs.demo").await.unwrap();
    let child = app.db.student_by_user(hs.id).await.unwrap().unwrap();
    let (teacher_id, _, _) = app
        .db
        .class_staff(thcs.id, child.class_id.unwrap())
        .await
        .unwrap()
        .remove(0);
    let parent = app.login("0912000001").await;
    let png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    let form = |photos: Vec<(&str, Vec<u8>)>, key: &str| {
        let mut f = reqwest::multipart::Form::new()
            .text("school", thcs.id.to_string())
            .text("student", child.id.to_string())
            .text("with", teacher_id.to_string())
            .text("body", "")
            .text("key", key.to_owned());
        for (name, bytes) in photos {
            f = f.part(
                "photos",
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
            );
        }
        f
    };
    // A photo of the homework, no text.
    let r = parent
        .post(app.url("/messages/new"))
        .multipart(form(vec![("bai-tap.png", png.clone())], "p-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let thread_url = crate::harness::location(&r);
    let page = app.get(&parent, &thread_url).await.text().await.unwrap();
    let src = page
        .split("class=\"photo\" src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the photo is shown")
        .to_owned();
    let r = app.get(&parent, &src).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), png.as_slice());
    // The teacher sees it; a stranger does not; the inbox says a photo came.
    let teacher = app
        .login(&app.db.user(teacher_id).await.unwrap().username)
        .await;
    assert_eq!(app.get(&teacher, &src).await.status(), 200);
    let stranger = app.login("gv2.37thgv01").await;
    assert_eq!(app.get(&stranger, &src).await.status(), 403);
    let inbox = app.get(&teacher, "/inbox").await.text().await.unwrap();
    assert!(inbox.contains("[1 ảnh]"));

    // Not an image, too many, nothing at all: refused with a message, nothing stored.
    let r = parent
        .post(app.url(&thread_url))
        .multipart(form(
            vec![("x.png", b"<svg onload=alert(1)>".to_vec())],
            "p-2",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("không phải ảnh"));
    let five = (0..5)
        .map(|i| (if i == 0 { "a.png" } else { "b.png" }, png.clone()))
        .collect();
    let r = parent
        .post(app.url(&thread_url))
        .multipart(form(five, "p-3"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = parent
        .post(app.url(&thread_url))
        .multipart(form(vec![], "p-4"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let thread_id: uuid::Uuid = thread_url.trim_start_matches("/messages/").parse().unwrap();
    assert_eq!(app.db.thread_attachments(thread_id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn teachers_comment_and_the_family_reads_it() {
    let app = TestApp::spawn().await;
    let thcs = app.db.school_by_code("37THCSGV").await.unwrap();
    let hs = app.db.user_by_username("hs.demo").await.unwrap();
    let child = app.db.student_by_user(hs.id).await.unwrap().unwrap();
    let page_url = format!("/schools/{}/students/{}", thcs.id, child.id);
    let (teacher_id, _, _) = app
        .db
        .class_staff(thcs.id, child.class_id.unwrap())
        .await
        .unwrap()
        .remove(0);
    let teacher = app
        .login(&app.db.user(teacher_id).await.unwrap().username)
        .await;
    let r = teacher
        .post(app.url(&format!("{page_url}/comments")))
        .form(&[(
            "body",
            "Em tiến bộ rõ ở môn Toán, cần luyện thêm phần hình học.",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = teacher
        .post(app.url(&format!("{page_url}/comments")))
        .form(&[("body", "   ")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    for login in ["0912000001", "hs.demo"] {
        let c = app.login(login).await;
        let page = app.get(&c, &page_url).await.text().await.unwrap();
        assert!(page.contains("tiến bộ rõ ở môn Toán"), "{login}");
        assert!(
            !page.contains("data-action=\"comment\""),
            "{login} cannot write comments"
        );
    }
    let parent = app.login("0912000001").await;
    assert!(
        app.get(&parent, "/inbox")
            .await
            .text()
            .await
            .unwrap()
            .contains("Nhận xét mới")
    );
    // Teachers of other classes, students and parents cannot comment.
    let classes = app
        .db
        .classes(
            thcs.id,
            app.db.current_year(thcs.id).await.unwrap().unwrap().id,
        )
        .await
        .unwrap();
    let class_staff = app
        .db
        .class_staff(thcs.id, child.class_id.unwrap())
        .await
        .unwrap();
    let mut outsider = None;
    for c in &classes {
        for (u, _, _) in app.db.class_staff(thcs.id, c.id).await.unwrap() {
            if !class_staff.iter().any(|(x, _, _)| *x == u) {
                outsider = Some(u);
            }
        }
    }
    if let Some(u) = outsider {
        let c = app.login(&app.db.user(u).await.unwrap().username).await;
        let r = c
            .post(app.url(&format!("{page_url}/comments")))
            .form(&[("body", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    for login in ["0912000001", "hs.demo"] {
        let c = app.login(login).await;
        let r = c
            .post(app.url(&format!("{page_url}/comments")))
            .form(&[("body", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{login}");
    }
}

/// The part of a page between `marker` and the end of its element's block (`</ul>` or
/// `</section>`), to check what one block shows.
fn block<'a>(html: &'a str, marker: &str, end: &str) -> &'a str {
    html.split(marker)
        .nth(1)
        .and_then(|s| s.split(end).next())
        .unwrap_or_else(|| panic!("no {marker} on the page"))
}

#[tokio::test]
async fn the_child_home_shows_homework_grades_attendance_and_live_classes() {
    let app = TestApp::spawn().await;
    let thcs = app.db.school_by_code("37THCSGV").await.unwrap();
    let year = app.db.current_year(thcs.id).await.unwrap().unwrap();
    let hs = app.db.user_by_username("hs.demo").await.unwrap();
    let child = app.db.student_by_user(hs.id).await.unwrap().unwrap();
    let page_url = format!("/schools/{}/students/{}", thcs.id, child.id);
    let parent = app.login("0912000001").await;
    let page = |c: &reqwest::Client| {
        let c = c.clone();
        let url = app.url(&page_url);
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };

    // Homework due, with its status: not handed in yet, then handed in.
    let html = page(&parent).await;
    let homework = block(&html, "data-homework", "</ul>");
    assert!(
        homework.contains("Viết các số sau bằng số La Mã") && homework.contains("Hạn nộp"),
        "{homework}"
    );
    assert!(homework.contains("Chưa nộp"), "{homework}");
    // No grade entered yet: no grades block at all.
    assert!(!html.contains("data-grades"));
    let tasks = app.db.student_tasks(child.id, 5).await.unwrap();
    let task = &tasks[0];
    let student = app.login("hs.demo").await;
    let r = student
        .post(app.url(&format!(
            "/courses/{}/tasks/{}/submit",
            task.course_id, task.task.id
        )))
        .multipart(
            reqwest::multipart::Form::new()
                .text("key", "nop-1")
                .text("body", "IX, XIV, XXVI"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let html = page(&parent).await;
    assert!(block(&html, "data-homework", "</ul>").contains("Đã nộp"));

    // Grades as the teacher enters them; the term average only once it can be worked out.
    app.db.ensure_courses(thcs.id, year.id).await.unwrap();
    let gv = app.db.user_by_username("gv.toan").await.unwrap();
    let course = app
        .db
        .courses_taught(gv.id)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.class_name == "6A1" && c.subject_code == "TOAN")
        .unwrap();
    let term = year
        .dates
        .term_of(
            time::OffsetDateTime::now_utc()
                .to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap())
                .date(),
        )
        .unwrap_or(1)
        .to_string();
    let teacher = app.login("gv.toan").await;
    let cell = |kind: &str, slot: u8| format!("c-{}-{kind}-{slot}", child.id);
    let grade = |cells: Vec<(String, &str)>| {
        let mut form = vec![("term".to_owned(), term.clone())];
        form.extend(cells.into_iter().map(|(k, v)| (k, v.to_owned())));
        teacher
            .post(app.url(&format!("/courses/{}/gradebook", course.id)))
            .form(&form)
            .send()
    };
    let r = grade(vec![
        (cell("TX", 1), "8"),
        (cell("TX", 2), "7"),
        (cell("TX", 3), "9"),
        (cell("GK", 1), "6"),
        (cell("CK", 1), "7"),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let html = page(&parent).await;
    let grades = block(&html, "data-grades", "</ul>");
    assert!(
        grades.contains("Toán") && grades.contains("ĐĐGtx: 8,0; 7,0; 9,0"),
        "{grades}"
    );
    assert!(
        grades.contains("cần 4 điểm đánh giá thường xuyên, mới có 3") && !grades.contains("6,9"),
        "no average before the fourth regular score: {grades}"
    );
    let r = grade(vec![(cell("TX", 4), "5")]).await.unwrap();
    assert_eq!(r.status(), 303);
    let html = page(&parent).await;
    assert!(
        block(&html, "data-grades", "</ul>").contains("6,9"),
        "(8 + 7 + 9 + 5 + 2·6 + 3·7) / 9 = 6,9"
    );
    let inbox = app.get(&parent, "/inbox").await.text().await.unwrap();
    assert!(inbox.contains("Cập nhật điểm môn Toán"));

    // School-day attendance: the homeroom teacher marks the child late.
    let att_url = format!(
        "/schools/{}/classes/{}/attendance",
        thcs.id,
        child.class_id.unwrap()
    );
    // The demo already has past weeks of 6A1's attendance (none before the year opens).
    let before = app
        .db
        .student_attendance(thcs.id, child.id, year.dates.start, 10)
        .await
        .unwrap()
        .tally;
    let html = page(&parent).await;
    assert!(
        before.total() > 0
            || block(&html, "data-school-attendance", "</section>")
                .contains("Chưa có ngày điểm danh")
    );
    let sheet = app.get(&teacher, &att_url).await.text().await.unwrap();
    let iso = block(&sheet, "data-att-day=\"", "\"").to_owned();
    let p: Vec<&str> = iso.split('-').collect();
    let day = format!("{}/{}/{}", p[2], p[1], p[0]);
    let r = teacher
        .post(app.url(&att_url))
        .form(&[
            ("date".to_owned(), day.clone()),
            (format!("s-{}", child.id), "late".to_owned()),
            (format!("n-{}", child.id), "xe hỏng".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let html = page(&parent).await;
    let att = block(&html, "data-school-attendance", "</section>");
    assert!(
        att.contains(&format!("{} ngày đã điểm danh", before.total() + 1))
            && att.contains(&format!("{} đi muộn", before.late + 1))
            && att.contains(&day)
            && att.contains("xe hỏng"),
        "{att}"
    );

    // Live classes: the upcoming ones, and attendance of one held an hour ago.
    assert!(block(&html, "data-live-child", "</section>").contains("Ôn tập: cách ghi số tự nhiên"));
    let now = db::now_ms();
    let held = app
        .db
        .create_live_sessions(
            &course,
            None,
            "Luyện tập số La Mã",
            &[(now - 2 * 3_600_000, now - 3_600_000 - 15 * 60_000)],
            gv.id,
        )
        .await
        .unwrap();
    app.db
        .live_joined(held[0], hs.id, now - 2 * 3_600_000 + 60_000)
        .await
        .unwrap();
    let html = page(&parent).await;
    let live = block(&html, "data-live-tally", "</p>");
    assert!(
        live.contains("1 đã tham gia") && live.contains("/ 1"),
        "{live}"
    );
}

#[tokio::test]
async fn a_parent_sees_each_of_their_children_and_no_other() {
    let app = TestApp::spawn().await;
    let parent = app.login("0912000001").await;
    let me = app.db.user_by_login("0912000001").await.unwrap().unwrap();
    let children = app.db.children_of(me.id).await.unwrap();
    assert_eq!(children.len(), 2);
    assert_ne!(children[0].school_id, children[1].school_id, "two schools");
    // The home lists both children with their schools; each child's page opens.
    let home = app.get(&parent, "/").await.text().await.unwrap();
    for c in &children {
        let school = app.db.school(c.school_id).await.unwrap();
        let url = format!("/schools/{}/students/{}", c.school_id, c.id);
        assert!(
            home.contains(&url) && home.contains(&school.name),
            "{}",
            school.name
        );
        let r = app.get(&parent, &url).await;
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(html.contains(&c.full_name) && html.contains("data-school-attendance"));
    }
    // A classmate of either child, a student of a school they have no child in, and an id
    // that does not exist: the same 403, and nothing about the student on it.
    let mut others = Vec::new();
    for c in &children {
        let year = app
            .db
            .current_year(c.school_id)
            .await
            .unwrap()
            .map(|y| y.id);
        let mate = app
            .db
            .students(c.school_id, year, &Default::default())
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.class_id == c.class_id && !children.iter().any(|k| k.id == s.id))
            .unwrap();
        others.push((c.school_id, mate.id, mate.full_name.clone()));
    }
    let far = app.db.school_by_code("37THPTLVT").await.unwrap();
    let far_year = app.db.current_year(far.id).await.unwrap().map(|y| y.id);
    let stranger = app
        .db
        .students(far.id, far_year, &Default::default())
        .await
        .unwrap()
        .remove(0);
    others.push((far.id, stranger.id, stranger.full_name.clone()));
    others.push((far.id, domain::new_id(), String::new()));
    // A real child of this parent, asked for under the wrong school.
    others.push((far.id, children[0].id, children[0].full_name.clone()));
    for (school, student, name) in others {
        let r = app
            .get(&parent, &format!("/schools/{school}/students/{student}"))
            .await;
        assert_eq!(r.status(), 403, "{name}");
        let body = r.text().await.unwrap();
        if !name.is_empty() {
            assert!(!body.contains(&name), "{name} leaks on the refusal");
        }
    }
    // Nor does the parent reach a class's attendance, gradebook or live attendance.
    let c = &children[1];
    for path in [
        format!(
            "/schools/{}/classes/{}/attendance",
            c.school_id,
            c.class_id.unwrap()
        ),
        format!("/schools/{}/attendance", c.school_id),
    ] {
        assert_eq!(app.get(&parent, &path).await.status(), 403, "{path}");
    }
}

#[tokio::test]
async fn the_child_home_lists_the_childs_tests_with_their_status() {
    let app = TestApp::spawn().await;
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
    let qs = exam::docx::import(&exam::docx::template_docx())
        .unwrap()
        .into_questions();
    let rows: Vec<_> = qs.iter().map(web::pages::exams::bank_row).collect();
    let bank = app
        .db
        .exam_sample_bank(s.id, gv.id, "Ngân hàng kiểm thử", &rows)
        .await
        .unwrap();
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
    let now = db::now_ms();
    let mut form: Vec<(String, String)> = vec![
        ("title".into(), "Kiểm tra 15 phút chương 1".into()),
        ("bank".into(), bank.to_string()),
        ("opens".into(), local(now - 3_600_000)),
        ("closes".into(), local(now + 3_600_000)),
        ("duration".into(), "15".into()),
        ("attempts".into(), "1".into()),
    ];
    for q in app.db.exam_bank_questions(s.id, bank).await.unwrap() {
        form.push(("q".into(), q.id.to_string()));
    }
    let teacher = app.login("gv.toan").await;
    let r = teacher
        .post(app.url(&format!("/courses/{}/exams", course.id)))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let exam = location(&r);
    let hs = app.db.user_by_username("hs.demo").await.unwrap();
    let child = app.db.student_by_user(hs.id).await.unwrap().unwrap();
    let page_url = format!("/schools/{}/students/{}", s.id, child.id);
    let parent = app.login("0912000001").await;
    // A draft is not shown; once published it is, open and not taken yet.
    let html = app.get(&parent, &page_url).await.text().await.unwrap();
    assert!(!html.contains("data-child-exams"));
    let r = teacher
        .post(app.url(&format!("{exam}/publish")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let html = app.get(&parent, &page_url).await.text().await.unwrap();
    let tests = block(&html, "data-child-exams", "</section>");
    assert!(
        tests.contains("Toán: Kiểm tra 15 phút chương 1") && tests.contains("Đang mở, chưa làm"),
        "{tests}"
    );
    // The child starts it: the parent sees it under way.
    let student = app.login("hs.demo").await;
    let r = student
        .post(app.url(&format!("{exam}/start")))
        .form(&[("code", "")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let html = app.get(&parent, &page_url).await.text().await.unwrap();
    assert!(block(&html, "data-child-exams", "</section>").contains("Đang làm"));
}
