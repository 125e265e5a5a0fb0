//! School-day attendance (điểm danh hằng ngày): the homeroom teacher takes a class's
//! attendance for a day on a phone (everyone present unless marked late or absent with or
//! without permission); the class's teachers and the school's managers read it; the principal
//! sees the whole school for a day; parents see their child's days on the child's page.

use super::school_for;
use crate::AppState;
use crate::auth::Session;
use crate::error::{Form, WebError, WebResult};
use crate::view::{Ctx, format_ms, render, saved_notice};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect};
use axum::routing::get;
use db::attendance::{ClassDay, Mark, MarkInput, Sheet, StudentRecord};
use db::school::{CalendarEntry, Year};
use domain::Id;
use domain::auth::Action;
use domain::people::format_vn_date;
use serde::Deserialize;
use time::{Date, Duration, Weekday};

/// Longest note on one student's mark.
const MAX_NOTE_CHARS: usize = 200;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/schools/{id}/classes/{class}/attendance",
            get(class_page).post(save),
        )
        .route("/schools/{id}/attendance", get(school_page))
}

/// Today in Vietnam (UTC+7).
pub fn vn_today() -> Date {
    time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).expect("valid offset"))
        .date()
}

/// Reads a day typed as `dd/mm/yyyy` (or the `yyyy-mm-dd` of a date picker).
pub fn parse_day(raw: &str) -> Result<Date, String> {
    let s = raw.trim();
    if let Ok(d) = Date::parse(s, &time::format_description::well_known::Iso8601::DATE) {
        return Ok(d);
    }
    domain::people::parse_vn_date(s).map_err(|e| e.0)
}

/// Why a day cannot have attendance: it must be a school day of the year (in a term, not a
/// Sunday, not a day off of the school's calendar) and not after today.
pub fn school_day_problem(
    day: Date,
    today: Date,
    year: &Year,
    calendar: &[CalendarEntry],
) -> Option<String> {
    let d = format_vn_date(day);
    if day > today {
        return Some(format!(
            "Ngày {d} chưa tới: chỉ điểm danh được đến hôm nay ({}).",
            format_vn_date(today)
        ));
    }
    if year.dates.term_of(day).is_none() {
        return Some(format!(
            "Ngày {d} không thuộc học kỳ nào của năm học {} (học kỳ I: {} – {}, học kỳ II: {} – {}).",
            year.name,
            format_vn_date(year.dates.start),
            format_vn_date(year.dates.term1_end),
            format_vn_date(year.dates.term2_start),
            format_vn_date(year.dates.end)
        ));
    }
    if day.weekday() == Weekday::Sunday {
        return Some(format!("Ngày {d} là Chủ nhật, không phải ngày học."));
    }
    if let Some(off) = calendar
        .iter()
        .find(|c| c.day_off && c.start <= day && day <= c.end)
    {
        return Some(format!(
            "Ngày {d} là ngày nghỉ trong lịch năm học ({}).",
            off.title
        ));
    }
    None
}

/// The latest school day on or before `today`, if the year has one.
pub fn latest_school_day(today: Date, year: &Year, calendar: &[CalendarEntry]) -> Option<Date> {
    let mut d = today.min(year.dates.end);
    while d >= year.dates.start {
        if school_day_problem(d, today, year, calendar).is_none() {
            return Some(d);
        }
        d = d.previous_day()?;
    }
    None
}

/// The school day before or after `day` within the year (up to a month away).
fn step_school_day(
    day: Date,
    forward: bool,
    today: Date,
    year: &Year,
    calendar: &[CalendarEntry],
) -> Option<Date> {
    let mut d = day;
    for _ in 0..31 {
        d = if forward {
            d.checked_add(Duration::days(1))?
        } else {
            d.checked_sub(Duration::days(1))?
        };
        if school_day_problem(d, today, year, calendar).is_none() {
            return Some(d);
        }
    }
    None
}

/// The year and calendar a class's days are checked against.
async fn year_of(
    state: &AppState,
    school_id: Id,
    year_id: Id,
) -> WebResult<(Year, Vec<CalendarEntry>)> {
    let year = state.db.year(school_id, year_id).await?;
    let calendar = state.db.calendar(school_id, year_id).await?;
    Ok((year, calendar))
}

/// The day asked for (`?date=`), or the latest school day; bad or non-school days are refused
/// with the reason.
fn chosen_day(raw: Option<&str>, year: &Year, calendar: &[CalendarEntry]) -> WebResult<Date> {
    let today = vn_today();
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => {
            let day =
                parse_day(raw).map_err(|e| WebError::BadRequest(format!("Ngày điểm danh: {e}")))?;
            match school_day_problem(day, today, year, calendar) {
                Some(why) => Err(WebError::BadRequest(why)),
                None => Ok(day),
            }
        }
        None => latest_school_day(today, year, calendar).ok_or_else(|| {
            WebError::BadRequest(format!(
                "Năm học {} chưa có ngày học nào tính đến hôm nay ({}).",
                year.name,
                format_vn_date(today)
            ))
        }),
    }
}

/// `?date=dd/mm/yyyy`.
#[derive(Deserialize)]
pub struct DayQuery {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    ok: Option<String>,
}

#[derive(Template)]
#[template(path = "attendance.html")]
struct ClassAttendancePage {
    ctx: Ctx,
    school_id: Id,
    class_id: Id,
    class_name: String,
    day: String,
    day_iso: String,
    weekday: &'static str,
    prev: Option<String>,
    next: Option<String>,
    sheet: Sheet,
    tally: db::attendance::Tally,
    can_edit: bool,
    marks: [Mark; 4],
    days: Vec<(String, i64)>,
}

impl ClassAttendancePage {
    fn when(&self, ms: &i64) -> String {
        format_ms(*ms)
    }

    fn mark_key(&self, m: &Mark) -> String {
        format!("att-mark-{}", m.code())
    }
}

/// The weekday as Vietnamese calendars write it.
pub fn weekday_vi(d: Date) -> &'static str {
    match d.weekday() {
        Weekday::Monday => "Thứ Hai",
        Weekday::Tuesday => "Thứ Ba",
        Weekday::Wednesday => "Thứ Tư",
        Weekday::Thursday => "Thứ Năm",
        Weekday::Friday => "Thứ Sáu",
        Weekday::Saturday => "Thứ Bảy",
        Weekday::Sunday => "Chủ nhật",
    }
}

async fn class_page(
    State(state): State<AppState>,
    s: Session,
    Path((id, class_id)): Path<(Id, Id)>,
    Query(q): Query<DayQuery>,
) -> WebResult<Html<String>> {
    let cp = super::family::class_people(&state, &s, id, class_id).await?;
    let sref = cp.school.as_ref();
    s.require(Action::TeachClass, cp.target(&sref))?;
    let can_edit = s.actor.can(Action::ManageClass, cp.target(&sref));
    let (year, calendar) = year_of(&state, id, cp.class.year_id).await?;
    let day = chosen_day(q.date.as_deref(), &year, &calendar)?;
    let today = vn_today();
    let sheet = state.db.attendance_sheet(id, class_id, day).await?;
    let days = state
        .db
        .attendance_days_taken(id, class_id, 10)
        .await?
        .into_iter()
        .map(|(d, n)| (format_vn_date(d), n))
        .collect();
    render(&ClassAttendancePage {
        ctx: Ctx::new(&s, format!("{} {}", s.lang.t("att-title"), cp.class.name))
            .with_notice(saved_notice(q.ok.as_deref(), s.lang))
            .with_help("diem-danh"),
        school_id: id,
        class_id,
        class_name: cp.class.name.clone(),
        day: format_vn_date(day),
        day_iso: db_iso(day),
        weekday: weekday_vi(day),
        prev: step_school_day(day, false, today, &year, &calendar).map(format_vn_date),
        next: step_school_day(day, true, today, &year, &calendar).map(format_vn_date),
        tally: sheet.tally(),
        sheet,
        can_edit,
        marks: Mark::ALL,
        days,
    })
}

fn db_iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Reads the posted sheet: `date`, then `s-<student>` = mark and `n-<student>` = note.
pub fn parse_sheet(
    fields: &[(String, String)],
    names: &std::collections::HashMap<Id, String>,
) -> WebResult<Vec<MarkInput>> {
    let mut out: Vec<MarkInput> = Vec::new();
    let bad = || WebError::BadRequest("Phiếu điểm danh không hợp lệ. Hãy tải lại trang.".into());
    for (k, v) in fields {
        let (is_mark, rest) = if let Some(r) = k.strip_prefix("s-") {
            (true, r)
        } else if let Some(r) = k.strip_prefix("n-") {
            (false, r)
        } else {
            continue;
        };
        let student = Id::parse_str(rest).map_err(|_| bad())?;
        let Some(name) = names.get(&student) else {
            return Err(WebError::BadRequest(
                "Có học sinh không học lớp này trong phiếu điểm danh. Hãy tải lại trang.".into(),
            ));
        };
        let i = match out.iter().position(|m| m.student_id == student) {
            Some(i) => i,
            None => {
                out.push(MarkInput {
                    student_id: student,
                    mark: Mark::Present,
                    note: String::new(),
                });
                out.len() - 1
            }
        };
        if is_mark {
            out[i].mark = Mark::from_code(v.trim()).ok_or_else(|| {
                WebError::BadRequest(format!(
                    "Điểm danh của {name}: \"{v}\" không phải có mặt, đi muộn, vắng có phép hay vắng không phép."
                ))
            })?;
        } else {
            let note = domain::text::normalize_spaces(v);
            if note.chars().count() > MAX_NOTE_CHARS {
                return Err(WebError::BadRequest(format!(
                    "Ghi chú điểm danh của {name} dài quá {MAX_NOTE_CHARS} ký tự."
                )));
            }
            out[i].note = note;
        }
    }
    Ok(out)
}

async fn save(
    State(state): State<AppState>,
    s: Session,
    Path((id, class_id)): Path<(Id, Id)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> WebResult<Redirect> {
    let cp = super::family::class_people(&state, &s, id, class_id).await?;
    let sref = cp.school.as_ref();
    s.require(Action::ManageClass, cp.target(&sref))?;
    let (year, calendar) = year_of(&state, id, cp.class.year_id).await?;
    let raw = fields
        .iter()
        .find(|(k, _)| k == "date")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if raw.trim().is_empty() {
        return Err(WebError::BadRequest(
            "Phiếu điểm danh thiếu ngày. Hãy tải lại trang.".into(),
        ));
    }
    let day = chosen_day(Some(raw), &year, &calendar)?;
    let names = state
        .db
        .attendance_sheet(id, class_id, day)
        .await?
        .lines
        .into_iter()
        .map(|l| (l.student_id, l.full_name))
        .collect();
    let marks = parse_sheet(&fields, &names)?;
    state
        .db
        .save_attendance(id, class_id, day, &marks, s.user.id)
        .await?;
    Ok(Redirect::to(&format!(
        "/schools/{id}/classes/{class_id}/attendance?date={}&ok=1",
        format_vn_date(day)
    )))
}

#[derive(Template)]
#[template(path = "attendance_school.html")]
struct SchoolAttendancePage {
    ctx: Ctx,
    school_id: Id,
    day: String,
    weekday: &'static str,
    prev: Option<String>,
    next: Option<String>,
    classes: Vec<ClassDay>,
    taken: usize,
    total: db::attendance::Tally,
}

async fn school_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Query(q): Query<DayQuery>,
) -> WebResult<Html<String>> {
    let school = school_for(&state, &s, id, Action::ManageSchool).await?;
    let Some(current) = state.db.current_year(id).await? else {
        return Err(WebError::BadRequest(
            "Trường chưa có năm học hiện tại: hãy tạo năm học trước.".into(),
        ));
    };
    let (year, calendar) = year_of(&state, id, current.id).await?;
    let day = chosen_day(q.date.as_deref(), &year, &calendar)?;
    let today = vn_today();
    let classes = state.db.attendance_day_summary(id, year.id, day).await?;
    let mut total = db::attendance::Tally::default();
    for c in &classes {
        total.present += c.tally.present;
        total.late += c.tally.late;
        total.excused += c.tally.excused;
        total.unexcused += c.tally.unexcused;
    }
    render(&SchoolAttendancePage {
        ctx: Ctx::new(
            &s,
            format!("{} · {}", s.lang.t("att-school-title"), school.name),
        )
        .with_help("diem-danh"),
        school_id: id,
        day: format_vn_date(day),
        weekday: weekday_vi(day),
        prev: step_school_day(day, false, today, &year, &calendar).map(format_vn_date),
        next: step_school_day(day, true, today, &year, &calendar).map(format_vn_date),
        taken: classes.iter().filter(|c| c.taken).count(),
        classes,
        total,
    })
}

/// A child's school-day attendance as their page shows it (the caller checked the reader
/// may see the student).
#[derive(Default)]
pub struct ChildAttendance {
    /// Whether the student's school has a current year.
    pub shown: bool,
    /// Counts and recent days.
    pub record: StudentRecord,
    /// The recent days, formatted: (date, weekday, mark key, note).
    pub recent: Vec<(String, &'static str, String, String)>,
}

/// Loads a child's school-day attendance of the current year.
pub async fn child_attendance(
    state: &AppState,
    school_id: Id,
    student_id: Id,
) -> WebResult<ChildAttendance> {
    let Some(year) = state.db.current_year(school_id).await? else {
        return Ok(ChildAttendance {
            shown: false,
            record: StudentRecord::default(),
            recent: vec![],
        });
    };
    let record = state
        .db
        .student_attendance(school_id, student_id, year.dates.start, 10)
        .await?;
    let recent = record
        .recent
        .iter()
        .map(|d| {
            (
                format_vn_date(d.day),
                weekday_vi(d.day),
                format!("att-mark-{}", d.mark.code()),
                d.note.clone(),
            )
        })
        .collect();
    Ok(ChildAttendance {
        shown: true,
        record,
        recent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn year() -> Year {
        Year {
            id: domain::new_id(),
            school_id: domain::new_id(),
            name: "2026-2027".into(),
            dates: domain::calendar::default_year(2026),
            is_current: true,
        }
    }

    fn tet() -> Vec<CalendarEntry> {
        vec![CalendarEntry {
            id: domain::new_id(),
            start: date!(2027 - 01 - 01),
            end: date!(2027 - 01 - 01),
            title: "Tết Dương lịch".into(),
            day_off: true,
        }]
    }

    #[test]
    fn only_past_school_days_take_attendance() {
        let y = year();
        let cal = tet();
        let today = date!(2027 - 01 - 06); // a Wednesday
        assert_eq!(
            school_day_problem(date!(2027 - 01 - 05), today, &y, &cal),
            None
        );
        // Saturday is a school day in many schools.
        assert_eq!(
            school_day_problem(date!(2027 - 01 - 02), today, &y, &cal),
            None
        );
        let sunday = school_day_problem(date!(2027 - 01 - 03), today, &y, &cal).unwrap();
        assert!(
            sunday.contains("Chủ nhật") && sunday.contains("03/01/2027"),
            "{sunday}"
        );
        let future = school_day_problem(date!(2027 - 01 - 07), today, &y, &cal).unwrap();
        assert!(future.contains("chưa tới"), "{future}");
        let off = school_day_problem(date!(2027 - 01 - 01), today, &y, &cal).unwrap();
        assert!(off.contains("Tết Dương lịch"), "{off}");
        let summer = school_day_problem(date!(2026 - 08 - 20), today, &y, &cal).unwrap();
        assert!(summer.contains("không thuộc học kỳ"), "{summer}");
    }

    #[test]
    fn the_default_day_is_the_latest_school_day() {
        let y = year();
        let cal = tet();
        // On a Sunday, the Saturday before; on the day after a holiday Friday… the holiday is skipped.
        assert_eq!(
            latest_school_day(date!(2027 - 01 - 03), &y, &cal),
            Some(date!(2027 - 01 - 02))
        );
        assert_eq!(
            latest_school_day(date!(2027 - 01 - 01), &y, &cal),
            Some(date!(2026 - 12 - 31))
        );
        // In the summer, the last day of the year; before the year opens, none.
        assert_eq!(
            latest_school_day(date!(2027 - 07 - 10), &y, &cal),
            Some(date!(2027 - 05 - 25))
        );
        assert_eq!(latest_school_day(date!(2026 - 08 - 20), &y, &cal), None);
        assert_eq!(
            step_school_day(
                date!(2027 - 01 - 02),
                false,
                date!(2027 - 01 - 06),
                &y,
                &cal
            ),
            Some(date!(2026 - 12 - 31))
        );
        assert_eq!(
            step_school_day(date!(2027 - 01 - 05), true, date!(2027 - 01 - 05), &y, &cal),
            None,
            "no next day after today"
        );
    }

    #[test]
    fn days_are_typed_the_vietnamese_way_or_by_a_date_picker() {
        assert_eq!(parse_day("05/01/2027"), Ok(date!(2027 - 01 - 05)));
        assert_eq!(parse_day("2027-01-05"), Ok(date!(2027 - 01 - 05)));
        assert!(parse_day("31/02/2027").is_err());
        assert!(parse_day("hôm qua").is_err());
    }

    #[test]
    fn a_posted_sheet_names_the_student_at_fault() {
        let a = domain::new_id();
        let names = [(a, "Nguyễn Văn An".to_owned())].into_iter().collect();
        let ok = parse_sheet(
            &[
                ("date".into(), "05/01/2027".into()),
                (format!("s-{a}"), "excused".into()),
                (format!("n-{a}"), "  ốm   sốt ".into()),
            ],
            &names,
        )
        .unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].mark, Mark::Excused);
        assert_eq!(ok[0].note, "ốm sốt");
        let Err(WebError::BadRequest(e)) =
            parse_sheet(&[(format!("s-{a}"), "absent".into())], &names)
        else {
            panic!("an unknown mark is refused");
        };
        assert!(e.contains("Nguyễn Văn An"), "{e}");
        let stranger = domain::new_id();
        assert!(parse_sheet(&[(format!("s-{stranger}"), "late".into())], &names).is_err());
        let long = "x".repeat(MAX_NOTE_CHARS + 1);
        assert!(parse_sheet(&[(format!("n-{a}"), long)], &names).is_err());
    }
}
