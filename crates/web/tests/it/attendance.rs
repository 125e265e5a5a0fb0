//! School-day attendance: the homeroom teacher's sheet (present by default, idempotent saves,
//! audited changes), parents told of absences and corrections, bad days refused, who may read
//! and who may write, the principal's day of the whole school.

use crate::harness::{TestApp, location};
use domain::Id;

struct Class6A1 {
    school: Id,
    class: Id,
    homeroom_login: String,
    /// hs.demo, whose guardian is the demo parent 0912000001.
    child: Id,
    child_name: String,
    classmate: Id,
    classmate_name: String,
    url: String,
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
    let hs = app.db.user_by_username("hs.demo").await.unwrap();
    let child = app.db.student_by_user(hs.id).await.unwrap().unwrap();
    let mates = app
        .db
        .students(
            s.id,
            Some(year.id),
            &db::roster::StudentFilter {
                class_id: Some(class.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mate = mates.iter().find(|m| m.id != child.id).unwrap();
    Class6A1 {
        url: format!("/schools/{}/classes/{}/attendance", s.id, class.id),
        school: s.id,
        class: class.id,
        homeroom_login: homeroom.username,
        child: child.id,
        child_name: child.full_name,
        classmate: mate.id,
        classmate_name: mate.full_name.clone(),
    }
}

/// The day the sheet opens on (`data-att-day="yyyy-mm-dd"`), as `dd/mm/yyyy`.
fn sheet_day(html: &str) -> String {
    let iso = html
        .split("data-att-day=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the sheet names its day");
    let p: Vec<&str> = iso.split('-').collect();
    format!("{}/{}/{}", p[2], p[1], p[0])
}

async fn post(
    app: &TestApp,
    c: &reqwest::Client,
    url: &str,
    form: &[(String, String)],
) -> reqwest::Response {
    c.post(app.url(url)).form(form).send().await.unwrap()
}

async fn inbox_kinds(app: &TestApp, parent: Id, kind: &str) -> Vec<db::family::Notification> {
    app.db
        .notifications(parent, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.kind == kind)
        .collect()
}

async fn audit_actions(app: &TestApp, school: Id) -> Vec<(String, String)> {
    app.db
        .audit_of_school(school, 200)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action.starts_with("attendance."))
        .map(|a| (a.action, a.detail))
        .collect()
}

#[tokio::test]
async fn the_homeroom_teacher_takes_attendance_and_parents_hear_of_absences() {
    let app = TestApp::spawn().await;
    let c = class_6a1(&app).await;
    let teacher = app.login(&c.homeroom_login).await;
    let parent = app.db.user_by_login("0912000001").await.unwrap().unwrap();

    // The class page leads to the sheet; nobody is marked yet and everyone counts as present.
    let class_page = app
        .get(
            &teacher,
            &format!("/schools/{}/classes/{}", c.school, c.class),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        class_page.contains(&c.url),
        "the class page links to the sheet"
    );
    let page = app.get(&teacher, &c.url).await.text().await.unwrap();
    assert!(page.contains("data-att-not-taken"));
    assert!(page.contains("data-action=\"save-attendance\""));
    let day = sheet_day(&page);
    let size = app.db.class(c.school, c.class).await.unwrap().student_count;

    // The child is absent without permission, a classmate late; the rest are present.
    let form = |child: &str, note: &str| {
        vec![
            ("date".to_owned(), day.clone()),
            (format!("s-{}", c.child), child.to_owned()),
            (format!("n-{}", c.child), note.to_owned()),
            (format!("s-{}", c.classmate), "late".to_owned()),
        ]
    };
    let r = post(&app, &teacher, &c.url, &form("unexcused", "")).await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).contains("ok=1"));
    let sheet = app
        .db
        .attendance_sheet(
            c.school,
            c.class,
            domain::people::parse_vn_date(&day).unwrap(),
        )
        .await
        .unwrap();
    let tally = sheet.tally();
    assert_eq!(
        (tally.present, tally.late, tally.excused, tally.unexcused),
        (size - 2, 1, 0, 1)
    );
    let page = app
        .get(&teacher, &format!("{}?date={day}", c.url))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-att-taken") && !page.contains("data-att-not-taken"));

    // The parent is told at once, with the delivery queued for push, email and Zalo.
    let notes = inbox_kinds(&app, parent.id, "attendance").await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].title.contains(&c.child_name)
            && notes[0].title.contains("vắng không phép")
            && notes[0].title.contains(&day),
        "{}",
        notes[0].title
    );
    assert!(
        notes[0]
            .link
            .ends_with(&format!("/students/{}#attendance", c.child))
    );
    let client = app.login("0912000001").await;
    let inbox = app.get(&client, "/inbox").await.text().await.unwrap();
    assert!(inbox.contains("vắng không phép"));

    // The same sheet again (a retried save): nothing changes, nobody is told twice, no audit.
    let r = post(&app, &teacher, &c.url, &form("unexcused", "")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(inbox_kinds(&app, parent.id, "attendance").await.len(), 1);
    let audit = audit_actions(&app, c.school).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].0, "attendance.take");

    // Later the mother's note arrives: absent with permission. The change is audited with
    // before and after; the family was already told of the absence.
    let r = post(
        &app,
        &teacher,
        &c.url,
        &form("excused", "ốm, mẹ đã xin phép"),
    )
    .await;
    assert_eq!(r.status(), 303);
    let audit = audit_actions(&app, c.school).await;
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].0, "attendance.change");
    assert!(
        audit[0].1.contains(&format!(
            "{}: vắng không phép → vắng có phép (ốm, mẹ đã xin phép)",
            c.child_name
        )),
        "{}",
        audit[0].1
    );
    assert_eq!(inbox_kinds(&app, parent.id, "attendance").await.len(), 1);

    // A mistake: the child was there after all. The family gets the correction.
    let r = post(&app, &teacher, &c.url, &form("present", "")).await;
    assert_eq!(r.status(), 303);
    let notes = inbox_kinds(&app, parent.id, "attendance").await;
    assert_eq!(notes.len(), 2);
    assert!(
        notes.iter().any(|n| n.title.starts_with("Sửa điểm danh")),
        "{notes:?}"
    );

    // The days taken are listed; the child's page shows the day to the parent and the child.
    let page = app.get(&teacher, &c.url).await.text().await.unwrap();
    assert!(page.contains("data-att-days") && page.contains(&format!("?date={day}")));
    let r = post(&app, &teacher, &c.url, &form("excused", "ốm")).await;
    assert_eq!(r.status(), 303);
    for login in ["0912000001", "hs.demo"] {
        let who = app.login(login).await;
        let page = app
            .get(&who, &format!("/schools/{}/students/{}", c.school, c.child))
            .await
            .text()
            .await
            .unwrap();
        let block = page
            .split("data-school-attendance")
            .nth(1)
            .expect("the child's page has the school attendance")
            .split("</section>")
            .next()
            .unwrap();
        assert!(block.contains("1 ngày đã điểm danh"), "{login}: {block}");
        assert!(
            block.contains("1 vắng có phép") && block.contains(&day) && block.contains("ốm"),
            "{block}"
        );
    }
}

#[tokio::test]
async fn bad_days_and_strangers_are_refused_and_nothing_is_saved() {
    let app = TestApp::spawn().await;
    let c = class_6a1(&app).await;
    let teacher = app.login(&c.homeroom_login).await;
    let page = app.get(&teacher, &c.url).await.text().await.unwrap();
    let day = sheet_day(&page);
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap())
        .date();
    let fmt = |d: time::Date| format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year());
    let tomorrow = fmt(today.next_day().unwrap());
    let mut sunday = today;
    while sunday.weekday() != time::Weekday::Sunday {
        sunday = sunday.previous_day().unwrap();
    }
    let absent = |date: &str| {
        vec![
            ("date".to_owned(), date.to_owned()),
            (format!("s-{}", c.child), "unexcused".to_owned()),
        ]
    };
    for (date, why) in [
        (tomorrow.as_str(), "chưa tới"),
        ("31/02/2026", "không tồn tại"),
        ("hôm qua", "dd/mm/yyyy"),
    ] {
        let r = post(&app, &teacher, &c.url, &absent(date)).await;
        assert_eq!(r.status(), 400, "{date}");
        let body = r.text().await.unwrap();
        assert!(body.contains(why), "{date}: {body}");
        assert_eq!(
            app.get(&teacher, &format!("{}?date={date}", c.url))
                .await
                .status(),
            400
        );
    }
    let r = post(&app, &teacher, &c.url, &absent(&fmt(sunday))).await;
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Chủ nhật") || body.contains("không thuộc học kỳ"),
        "{body}"
    );
    // No day, an unknown mark, a note too long, a student of another class: refused by name.
    let r = post(&app, &teacher, &c.url, &absent("")[1..]).await;
    assert_eq!(r.status(), 400);
    let r = post(
        &app,
        &teacher,
        &c.url,
        &[
            ("date".to_owned(), day.clone()),
            (format!("s-{}", c.classmate), "absent".to_owned()),
        ],
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains(&c.classmate_name));
    let r = post(
        &app,
        &teacher,
        &c.url,
        &[
            ("date".to_owned(), day.clone()),
            (format!("n-{}", c.classmate), "x".repeat(201)),
        ],
    )
    .await;
    assert_eq!(r.status(), 400);
    let year = app.db.current_year(c.school).await.unwrap().unwrap();
    let other_class = app
        .db
        .classes(c.school, year.id)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.name != "6A1" && k.student_count > 0)
        .unwrap();
    let outsider = app
        .db
        .students(
            c.school,
            Some(year.id),
            &db::roster::StudentFilter {
                class_id: Some(other_class.id),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .remove(0);
    let r = post(
        &app,
        &teacher,
        &c.url,
        &[
            ("date".to_owned(), day.clone()),
            (format!("s-{}", outsider.id), "late".to_owned()),
        ],
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(
        app.db
            .attendance_days_taken(c.school, c.class, 10)
            .await
            .unwrap()
            .is_empty(),
        "nothing was saved"
    );

    // A subject teacher of the class reads the sheet but cannot save it.
    let staff = app.db.class_staff(c.school, c.class).await.unwrap();
    let homeroom = app.db.user_by_username(&c.homeroom_login).await.unwrap();
    let (subject_teacher, _, _) = staff
        .iter()
        .find(|(u, _, _)| *u != homeroom.id)
        .expect("a subject teacher who is not the homeroom teacher")
        .clone();
    let subject = app
        .login(&app.db.user(subject_teacher).await.unwrap().username)
        .await;
    let r = app.get(&subject, &c.url).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-att-readonly") && !html.contains("save-attendance"));
    let r = post(&app, &subject, &c.url, &absent(&day)).await;
    assert_eq!(r.status(), 403);
    // Parents, students and staff of another school see nothing.
    for login in ["0912000001", "hs.demo", "gv2.37thgv01"] {
        let who = app.login(login).await;
        assert_eq!(app.get(&who, &c.url).await.status(), 403, "{login}");
        assert_eq!(
            post(&app, &who, &c.url, &absent(&day)).await.status(),
            403,
            "{login}"
        );
        assert_eq!(
            app.get(&who, &format!("/schools/{}/attendance", c.school))
                .await
                .status(),
            403,
            "{login}"
        );
    }
    assert!(
        app.db
            .attendance_days_taken(c.school, c.class, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_principal_sees_the_whole_school_for_a_day() {
    let app = TestApp::spawn().await;
    let c = class_6a1(&app).await;
    let teacher = app.login(&c.homeroom_login).await;
    let page = app.get(&teacher, &c.url).await.text().await.unwrap();
    let day = sheet_day(&page);
    let r = post(
        &app,
        &teacher,
        &c.url,
        &[
            ("date".to_owned(), day.clone()),
            (format!("s-{}", c.child), "excused".to_owned()),
            (format!("s-{}", c.classmate), "unexcused".to_owned()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    // The homeroom teacher cannot open the school's page; the principal can, and may correct.
    assert_eq!(
        app.get(&teacher, &format!("/schools/{}/attendance", c.school))
            .await
            .status(),
        403
    );
    let principal = app.login("ht.thcs").await;
    let html = app
        .get(
            &principal,
            &format!("/schools/{}/attendance?date={day}", c.school),
        )
        .await
        .text()
        .await
        .unwrap();
    let row = html
        .split("data-class=\"6A1\"")
        .nth(1)
        .and_then(|s| s.split("</tr>").next())
        .expect("6A1 is listed");
    assert!(
        row.contains("<td>2 <small>(1 không phép)</small></td>"),
        "{row}"
    );
    assert!(html.contains("Lớp đã điểm danh: 1/"), "{html}");
    let other = html
        .split("data-class=\"6A2\"")
        .nth(1)
        .and_then(|s| s.split("</tr>").next())
        .unwrap_or("Chưa điểm danh");
    assert!(other.contains("Chưa điểm danh"), "{other}");
    let r = post(
        &app,
        &principal,
        &c.url,
        &[
            ("date".to_owned(), day.clone()),
            (format!("s-{}", c.child), "excused".to_owned()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let audit = app.db.audit_of_school(c.school, 10).await.unwrap();
    let change = audit
        .iter()
        .find(|a| a.action == "attendance.change")
        .expect("the principal's correction is audited");
    assert!(
        change
            .detail
            .contains(&format!("{}: vắng không phép → có mặt", c.classmate_name))
    );
}
