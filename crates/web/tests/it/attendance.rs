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
    /// The (moved) first day of the year.
    year_start: time::Date,
}

/// Vietnam's today.
fn vn_today() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap())
        .date()
}

async fn class_6a1(app: &TestApp) -> Class6A1 {
    let s = app.db.school_by_code("37THCSGV").await.unwrap();
    let year = app.db.current_year(s.id).await.unwrap().unwrap();
    // The demo year follows the calendar, so from August until term starts it has no school day
    // yet. The tests need weeks of school days up to today, whatever today is: term 1 runs from
    // six weeks ago to a month from now.
    let today = vn_today();
    let dates = domain::calendar::YearDates {
        start: today - time::Duration::weeks(6),
        term1_end: today + time::Duration::weeks(4),
        term2_start: today + time::Duration::weeks(5),
        end: today + time::Duration::weeks(30),
    };
    app.db
        .update_year_dates(s.id, year.id, dates, None)
        .await
        .unwrap();
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
        year_start: dates.start,
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
    // The demo's past weeks of attendance already count on the child's page.
    let before = app
        .db
        .student_attendance(c.school, c.child, c.year_start, 10)
        .await
        .unwrap()
        .tally;

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
        assert!(
            block.contains(&format!("{} ngày đã điểm danh", before.total() + 1)),
            "{login}: {block}"
        );
        assert!(
            block.contains(&format!("{} vắng có phép", before.excused + 1))
                && block.contains(&day)
                && block.contains("ốm"),
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
    let today = vn_today();
    // The demo's past days, which nothing below may change.
    let taken = app
        .db
        .attendance_days_taken(c.school, c.class, 100)
        .await
        .unwrap();
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
    assert_eq!(
        app.db
            .attendance_days_taken(c.school, c.class, 100)
            .await
            .unwrap(),
        taken,
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
    assert_eq!(
        app.db
            .attendance_days_taken(c.school, c.class, 100)
            .await
            .unwrap(),
        taken
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

/// The sheet's rows of an Excel file, as text.
fn xlsx_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut wb =
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let name = wb.sheet_names()[0].clone();
    wb.worksheet_range(&name)
        .unwrap()
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// `mm/yyyy` of a `dd/mm/yyyy` day.
fn month_of(day: &str) -> String {
    day[3..].to_owned()
}

#[tokio::test]
async fn the_demo_has_weeks_of_attendance_for_6a1_before_the_latest_school_day() {
    let app = TestApp::spawn().await;
    // As the demo loaded it, before the tests move the year.
    let s = app.db.school_by_code("37THCSGV").await.unwrap();
    let year = app.db.current_year(s.id).await.unwrap().unwrap();
    let calendar = app.db.calendar(s.id, year.id).await.unwrap();
    let today = vn_today();
    let latest = web::pages::attendance::latest_school_day(today, &year, &calendar);
    let c = class_6a1(&app).await;
    let days = app
        .db
        .attendance_days_taken(c.school, c.class, 100)
        .await
        .unwrap();
    let record = app
        .db
        .student_attendance(c.school, c.child, year.dates.start, 10)
        .await
        .unwrap();
    match latest {
        // The summer before the year opens, or its first day: nothing to show yet.
        None => assert!(days.is_empty()),
        Some(latest) => {
            assert!(days.len() <= 24, "{days:?}");
            assert!(
                days.iter().all(|(d, _)| *d < latest),
                "the latest school day is left to take"
            );
            if latest > year.dates.start + time::Duration::weeks(2) {
                assert!(days.len() >= 9, "{days:?}");
                // The demo child was absent with permission once and late once.
                assert_eq!(record.tally.excused, 1, "{record:?}");
                assert_eq!(record.tally.late, 1, "{record:?}");
                assert_eq!(record.tally.total(), days.len() as i64);
                let shown = app
                    .db
                    .student_attendance(c.school, c.child, c.year_start, 10)
                    .await
                    .unwrap()
                    .tally
                    .total();
                let parent = app.login("0912000001").await;
                let page = app
                    .get(
                        &parent,
                        &format!("/schools/{}/students/{}", c.school, c.child),
                    )
                    .await
                    .text()
                    .await
                    .unwrap();
                assert!(
                    page.contains(&format!("{shown} ngày đã điểm danh"))
                        && page.contains("Sốt, mẹ đã xin phép"),
                    "the parent sees the child's weeks"
                );
            }
        }
    }
    // Loaded by the homeroom teacher, audited once, with no message to families.
    let parent = app.db.user_by_login("0912000001").await.unwrap().unwrap();
    assert!(inbox_kinds(&app, parent.id, "attendance").await.is_empty());
    let audit = app.db.audit_of_school(c.school, 500).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "demo.attendance")
            .count(),
        usize::from(!days.is_empty())
    );
}

#[tokio::test]
async fn the_month_sheet_shows_each_day_and_the_totals_and_exports_to_excel() {
    let app = TestApp::spawn().await;
    let c = class_6a1(&app).await;
    let teacher = app.login(&c.homeroom_login).await;
    let page = app.get(&teacher, &c.url).await.text().await.unwrap();
    let day = sheet_day(&page);
    let month = month_of(&day);
    let month_url = format!("{}/month?month={month}", c.url);
    // The daily sheet links to its month.
    assert!(
        page.contains(&format!("/attendance/month?month={month}")),
        "the daily sheet links to the month sheet"
    );
    let r = post(
        &app,
        &teacher,
        &c.url,
        &[
            ("date".to_owned(), day.clone()),
            (format!("s-{}", c.child), "excused".to_owned()),
            (format!("n-{}", c.child), "ốm".to_owned()),
            (format!("s-{}", c.classmate), "unexcused".to_owned()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let d = domain::people::parse_vn_date(&day).unwrap();
    let first = d.replace_day(1).unwrap();
    let last = d.replace_day(d.month().length(d.year())).unwrap();
    let period = app
        .db
        .attendance_period(c.school, c.class, first, last)
        .await
        .unwrap();
    assert!(period.taken.contains(&d));
    let count = |student: Id, mark: db::attendance::Mark| {
        period
            .marks
            .iter()
            .filter(|((s, _), (m, _))| *s == student && *m == mark)
            .count()
    };
    let child_p = count(c.child, db::attendance::Mark::Excused);
    let mate_k = count(c.classmate, db::attendance::Mark::Unexcused);
    assert!(child_p >= 1 && mate_k >= 1);

    // The page: a column per school day, P/K/M in the cells, totals per student.
    let html = app.get(&teacher, &month_url).await.text().await.unwrap();
    assert!(
        html.contains(&format!("data-att-month=\"{month}\"")),
        "{html}"
    );
    assert!(html.contains(&format!("data-day=\"{day}\"")));
    let row = |name: &str| {
        html.split(&format!("data-student=\"{name}\""))
            .nth(1)
            .and_then(|s| s.split("</tr>").next())
            .unwrap_or_else(|| panic!("{name} has a line"))
            .to_owned()
    };
    let child_row = row(&c.child_name);
    assert!(
        child_row.contains(">P</td>")
            && child_row.contains(&format!("data-total=\"P\">{child_p}<"))
            && child_row.contains("title=\"ốm\""),
        "{child_row}"
    );
    let mate_row = row(&c.classmate_name);
    assert!(
        mate_row.contains(">K</td>") && mate_row.contains(&format!("data-total=\"K\">{mate_k}<")),
        "{mate_row}"
    );
    assert!(html.contains("data-day-total=\"absent\""));
    let notes = html
        .split("data-att-month-notes")
        .nth(1)
        .and_then(|s| s.split("</ul>").next())
        .unwrap();
    assert!(
        notes.contains(&format!("<b>{}</b>: ", c.child_name))
            && notes.contains(&format!("{}: ốm", &day[..5])),
        "{notes}"
    );
    // The month picker offers the year's months only.
    let year = app.db.current_year(c.school).await.unwrap().unwrap();
    let months = web::pages::attendance::year_months(&year);
    assert_eq!(
        html.matches("<option value=").count(),
        months.len(),
        "{months:?}"
    );
    assert!(html.contains(&format!("<option value=\"{month}\" selected>")));
    // With no month, the month of the latest school day.
    let plain = app
        .get(&teacher, &format!("{}/month", c.url))
        .await
        .text()
        .await
        .unwrap();
    assert!(plain.contains(&format!("data-att-month=\"{month}\"")));

    // Excel: the header of an attendance book, a column per day, the totals.
    let r = app.get(&teacher, &format!("{month_url}&format=xlsx")).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let rows = xlsx_rows(&r.bytes().await.unwrap());
    let school = app.db.school(c.school).await.unwrap();
    assert_eq!(rows[0][0], school.name.to_uppercase());
    assert_eq!(rows[1][0], "SỔ THEO DÕI CHUYÊN CẦN");
    assert!(
        rows[2][0].contains("Lớp: 6A1") && rows[2][0].contains(&format!("Tháng {month}")),
        "{:?}",
        rows[2]
    );
    let homeroom = app.db.user_by_username(&c.homeroom_login).await.unwrap();
    assert_eq!(
        rows[3][0],
        format!("Giáo viên chủ nhiệm: {}", homeroom.full_name)
    );
    let head = rows
        .iter()
        .position(|r| r.first().map(String::as_str) == Some("STT"))
        .expect("a header row");
    let header = &rows[head];
    assert_eq!(&header[..3], ["STT", "Mã học sinh", "Họ và tên"]);
    let day_col = header
        .iter()
        .position(|h| h.ends_with(&format!(" {}", &day[..2])))
        .expect("a column for the day");
    let p_col = header.iter().position(|h| h == "Vắng có phép (P)").unwrap();
    let k_col = header
        .iter()
        .position(|h| h == "Vắng không phép (K)")
        .unwrap();
    let line = |name: &str| {
        rows.iter()
            .find(|r| r.get(2).map(String::as_str) == Some(name))
            .unwrap_or_else(|| panic!("{name} in the file"))
    };
    let child = line(&c.child_name);
    assert_eq!(child[day_col], "P");
    assert_eq!(child[p_col], child_p.to_string());
    assert!(child.last().unwrap().contains("ốm"), "{child:?}");
    let mate = line(&c.classmate_name);
    assert_eq!(mate[day_col], "K");
    assert_eq!(mate[k_col], mate_k.to_string());
    let students = rows[head + 1..]
        .iter()
        .filter(|r| r[0].parse::<i64>().is_ok())
        .count();
    assert_eq!(students, period.students.len());
    let absent_p = line("Cộng vắng có phép (P)");
    assert!(absent_p[day_col].parse::<i64>().unwrap() >= 1);
    let present = line("Có mặt / sĩ số");
    let size = period.students.len();
    assert_eq!(present[day_col], format!("{}/{size}", size - 2));
}

#[tokio::test]
async fn the_month_sheet_is_for_the_class_teachers_and_refuses_bad_months() {
    let app = TestApp::spawn().await;
    let c = class_6a1(&app).await;
    let month_url = format!("{}/month", c.url);
    let staff = app.db.class_staff(c.school, c.class).await.unwrap();
    let homeroom = app.db.user_by_username(&c.homeroom_login).await.unwrap();
    let (subject_teacher, _, _) = staff
        .iter()
        .find(|(u, _, _)| *u != homeroom.id)
        .unwrap()
        .clone();
    let subject_login = app.db.user(subject_teacher).await.unwrap().username;
    // Homeroom and subject teachers of the class, the principal and the school admin read it.
    for login in [
        c.homeroom_login.as_str(),
        subject_login.as_str(),
        "ht.thcs",
        "qt.thcs",
    ] {
        let who = app.login(login).await;
        let r = app.get(&who, &month_url).await;
        assert_eq!(r.status(), 200, "{login}");
        assert!(
            r.text().await.unwrap().contains("data-att-month-sheet"),
            "{login}"
        );
        let r = app.get(&who, &format!("{month_url}?format=xlsx")).await;
        assert_eq!(r.status(), 200, "{login}");
    }
    // A parent, a student and a teacher of another school do not, nor its Excel file.
    for login in ["0912000001", "hs.demo", "gv2.37thgv01"] {
        let who = app.login(login).await;
        assert_eq!(app.get(&who, &month_url).await.status(), 403, "{login}");
        let r = app.get(&who, &format!("{month_url}?format=xlsx")).await;
        assert_eq!(r.status(), 403, "{login}");
        assert!(!r.text().await.unwrap().contains("SỔ THEO DÕI"));
    }

    // Bad months are refused with the reason, in Vietnamese.
    let teacher = app.login(&c.homeroom_login).await;
    let year = app.db.current_year(c.school).await.unwrap().unwrap();
    let before = year.dates.start - time::Duration::days(40);
    let outside = format!("{:02}/{}", u8::from(before.month()), before.year());
    for (month, why) in [
        ("13/2026", "chỉ từ 1 đến 12"),
        ("tháng mười", "mm/yyyy"),
        ("11/26", "mm/yyyy"),
        (outside.as_str(), "không thuộc năm học"),
    ] {
        let r = app
            .get(
                &teacher,
                &format!("{month_url}?month={}", month.replace(' ', "%20")),
            )
            .await;
        assert_eq!(r.status(), 400, "{month}");
        let body = r.text().await.unwrap();
        assert!(body.contains(why), "{month}: {body}");
        let r = app
            .get(
                &teacher,
                &format!(
                    "{month_url}?month={}&format=xlsx",
                    month.replace(' ', "%20")
                ),
            )
            .await;
        assert_eq!(r.status(), 400, "{month}");
    }
    // A month picker's yyyy-mm reads too; an unknown format is refused.
    let start = year.dates.start;
    let picker = format!("{}-{:02}", start.year(), u8::from(start.month()));
    let r = app
        .get(&teacher, &format!("{month_url}?month={picker}"))
        .await;
    assert_eq!(r.status(), 200);
    let r = app.get(&teacher, &format!("{month_url}?format=pdf")).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("định dạng"));
}
