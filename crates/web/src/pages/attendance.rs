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
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use db::attendance::{ClassDay, Mark, MarkInput, PastDay, Period, Sheet, StudentRecord};
use db::school::{CalendarEntry, Year};
use domain::Id;
use domain::auth::Action;
use domain::people::format_vn_date;
use serde::Deserialize;
use time::{Date, Duration, Month, Weekday};

/// Longest note on one student's mark.
const MAX_NOTE_CHARS: usize = 200;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/schools/{id}/classes/{class}/attendance",
            get(class_page).post(save),
        )
        .route(
            "/schools/{id}/classes/{class}/attendance/month",
            get(month_page),
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
    month: String,
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
        month: format_month((day.year(), day.month())),
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

/// A month of a year: (year, month).
pub type YearMonth = (i32, Month);

/// `mm/yyyy`.
pub fn format_month((y, m): YearMonth) -> String {
    format!("{:02}/{y}", u8::from(m))
}

/// Reads a month typed as `mm/yyyy` (or the `yyyy-mm` of a month picker).
pub fn parse_month(raw: &str) -> Result<YearMonth, String> {
    let s = raw.trim();
    let bad = || format!("Tháng \"{s}\" không đọc được: hãy ghi dạng mm/yyyy, ví dụ 11/2026.");
    let (m, y) = match (s.split_once('/'), s.split_once('-')) {
        (Some((m, y)), _) => (m, y),
        (None, Some((y, m))) => (m, y),
        _ => return Err(bad()),
    };
    let (m, y) = (m.trim(), y.trim());
    if m.is_empty() || m.len() > 2 || y.len() != 4 {
        return Err(bad());
    }
    let m: u8 = m.parse().map_err(|_| bad())?;
    let y: i32 = y.parse().map_err(|_| bad())?;
    let month = Month::try_from(m)
        .map_err(|_| format!("Tháng \"{s}\" không có: tháng chỉ từ 1 đến 12."))?;
    Ok((y, month))
}

/// The months a year spans, in order (September to May for general education).
pub fn year_months(year: &Year) -> Vec<YearMonth> {
    let mut out = Vec::new();
    let (mut y, mut m) = (year.dates.start.year(), year.dates.start.month());
    let last = (year.dates.end.year(), u8::from(year.dates.end.month()));
    while (y, u8::from(m)) <= last {
        out.push((y, m));
        if m == Month::December {
            y += 1;
        }
        m = m.next();
    }
    out
}

/// The first and last day of a month.
fn month_span((y, m): YearMonth) -> Option<(Date, Date)> {
    let first = Date::from_calendar_date(y, m, 1).ok()?;
    let last = Date::from_calendar_date(y, m, m.length(y)).ok()?;
    Some((first, last))
}

/// The month asked for (`?month=`), or the month of the latest school day; a month that does
/// not read or is not in the year is refused with the reason.
fn chosen_month(
    raw: Option<&str>,
    today: Date,
    year: &Year,
    calendar: &[CalendarEntry],
) -> WebResult<YearMonth> {
    let months = year_months(year);
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => {
            let m = parse_month(raw)
                .map_err(|e| WebError::BadRequest(format!("Sổ theo dõi chuyên cần: {e}")))?;
            if months.contains(&m) {
                Ok(m)
            } else {
                Err(WebError::BadRequest(format!(
                    "Tháng {} không thuộc năm học {} (từ tháng {} đến tháng {}).",
                    format_month(m),
                    year.name,
                    months.first().map(|m| format_month(*m)).unwrap_or_default(),
                    months.last().map(|m| format_month(*m)).unwrap_or_default()
                )))
            }
        }
        None => {
            let d = latest_school_day(today, year, calendar).unwrap_or(year.dates.start);
            Ok((d.year(), d.month()))
        }
    }
}

/// The days of a month the sheet has columns for: the school days up to today, and any day
/// taken (even if the calendar changed since).
pub fn month_days(
    month: YearMonth,
    today: Date,
    year: &Year,
    calendar: &[CalendarEntry],
    taken: &[Date],
) -> Vec<Date> {
    let Some((first, last)) = month_span(month) else {
        return vec![];
    };
    let mut out: Vec<Date> = taken
        .iter()
        .copied()
        .filter(|d| first <= *d && *d <= last)
        .collect();
    let mut d = first;
    while d <= last {
        if school_day_problem(d, today, year, calendar).is_none() && !out.contains(&d) {
            out.push(d);
        }
        match d.next_day() {
            Some(n) => d = n,
            None => break,
        }
    }
    out.sort();
    out
}

/// The weekday as the columns of an attendance book head it.
pub fn weekday_short(d: Date) -> &'static str {
    match d.weekday() {
        Weekday::Monday => "T2",
        Weekday::Tuesday => "T3",
        Weekday::Wednesday => "T4",
        Weekday::Thursday => "T5",
        Weekday::Friday => "T6",
        Weekday::Saturday => "T7",
        Weekday::Sunday => "CN",
    }
}

/// The letter of a mark in the book: P (vắng có phép), K (vắng không phép), M (muộn), blank
/// when present.
pub fn mark_letter(m: Mark) -> &'static str {
    match m {
        Mark::Present => "",
        Mark::Late => "M",
        Mark::Excused => "P",
        Mark::Unexcused => "K",
    }
}

/// A column of the month sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridDay {
    /// The day.
    pub day: Date,
    /// `dd`.
    pub dd: String,
    /// `T2` … `T7`, `CN`.
    pub weekday: &'static str,
    /// `dd/mm/yyyy`.
    pub label: String,
    /// Whether the day was taken.
    pub taken: bool,
    /// The day's counts (when taken).
    pub tally: db::attendance::Tally,
}

/// A student's line of the month sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridRow {
    /// Name.
    pub full_name: String,
    /// Student code.
    pub code: String,
    /// One cell per column: (letter, note).
    pub cells: Vec<(&'static str, String)>,
    /// The student's counts over the month.
    pub tally: db::attendance::Tally,
}

impl GridRow {
    /// The notes of the month, as `dd/mm: note`.
    pub fn notes(&self, days: &[GridDay]) -> String {
        days.iter()
            .zip(&self.cells)
            .filter(|(_, (_, n))| !n.is_empty())
            .map(|(d, (_, n))| format!("{}/{:02}: {n}", d.dd, u8::from(d.day.month())))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The month sheet: students × days.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MonthGrid {
    /// The columns.
    pub days: Vec<GridDay>,
    /// The students, by name.
    pub rows: Vec<GridRow>,
    /// The month's counts.
    pub total: db::attendance::Tally,
}

/// Lays out the month sheet from the days and the class's marks.
pub fn month_grid(days: &[Date], period: &Period) -> MonthGrid {
    let mut grid = MonthGrid {
        days: days
            .iter()
            .map(|d| GridDay {
                day: *d,
                dd: format!("{:02}", d.day()),
                weekday: weekday_short(*d),
                label: format_vn_date(*d),
                taken: period.taken.contains(d),
                tally: db::attendance::Tally::default(),
            })
            .collect(),
        ..MonthGrid::default()
    };
    for (id, name, code) in &period.students {
        let mut row = GridRow {
            full_name: name.clone(),
            code: code.clone(),
            cells: Vec::with_capacity(days.len()),
            tally: db::attendance::Tally::default(),
        };
        for col in grid.days.iter_mut() {
            let (mark, note) = period
                .marks
                .get(&(*id, col.day))
                .cloned()
                .unwrap_or_default();
            if col.taken {
                row.tally.add(mark);
                col.tally.add(mark);
                grid.total.add(mark);
            }
            row.cells.push((mark_letter(mark), note));
        }
        grid.rows.push(row);
    }
    grid
}

/// `?month=mm/yyyy&format=xlsx`.
#[derive(Deserialize)]
pub struct MonthQuery {
    #[serde(default)]
    month: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

#[derive(Template)]
#[template(path = "attendance_month.html")]
struct MonthPage {
    ctx: Ctx,
    school_id: Id,
    class_id: Id,
    class_name: String,
    homeroom: String,
    year_name: String,
    month: String,
    /// (mm/yyyy, selected).
    months: Vec<(String, bool)>,
    /// A school day of the month to open the daily sheet on.
    sheet_day: Option<String>,
    grid: MonthGrid,
    taken: usize,
    has_notes: bool,
}

async fn month_page(
    State(state): State<AppState>,
    s: Session,
    Path((id, class_id)): Path<(Id, Id)>,
    Query(q): Query<MonthQuery>,
) -> WebResult<Response> {
    let cp = super::family::class_people(&state, &s, id, class_id).await?;
    let sref = cp.school.as_ref();
    s.require(Action::TeachClass, cp.target(&sref))?;
    let (year, calendar) = year_of(&state, id, cp.class.year_id).await?;
    let today = vn_today();
    let month = chosen_month(q.month.as_deref(), today, &year, &calendar)?;
    let (first, last) =
        month_span(month).ok_or_else(|| WebError::BadRequest("Tháng không hợp lệ.".into()))?;
    let period = state
        .db
        .attendance_period(id, class_id, first, last)
        .await?;
    let days = month_days(month, today, &year, &calendar, &period.taken);
    let grid = month_grid(&days, &period);
    let homeroom = cp.class.homeroom_name.clone().unwrap_or_default();
    let xlsx = match q.format.as_deref() {
        None | Some("") | Some("html") => false,
        Some("xlsx") => true,
        Some(other) => {
            return Err(WebError::BadRequest(format!(
                "Không có định dạng \"{other}\": chỉ xem trên trang hoặc tải Excel (format=xlsx)."
            )));
        }
    };
    if xlsx {
        let bytes = month_xlsx(
            &cp.school.name,
            &cp.class.name,
            &year.name,
            month,
            &homeroom,
            &grid,
        )
        .map_err(WebError::Internal)?;
        let name = format!(
            "so-chuyen-can-{}-{:02}-{}.xlsx",
            cp.class
                .name
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>(),
            u8::from(month.1),
            month.0
        );
        return Ok(crate::files::xlsx_download(bytes, &name));
    }
    let sheet_day = grid
        .days
        .iter()
        .rev()
        .find(|d| school_day_problem(d.day, today, &year, &calendar).is_none())
        .map(|d| d.label.clone());
    Ok(render(&MonthPage {
        ctx: Ctx::new(
            &s,
            format!(
                "{} {} · {} {}",
                s.lang.t("att-month-title"),
                cp.class.name,
                s.lang.t("att-month"),
                format_month(month)
            ),
        )
        .with_help("diem-danh"),
        school_id: id,
        class_id,
        class_name: cp.class.name.clone(),
        homeroom,
        year_name: year.name.clone(),
        month: format_month(month),
        months: year_months(&year)
            .into_iter()
            .map(|m| (format_month(m), m == month))
            .collect(),
        sheet_day,
        taken: grid.days.iter().filter(|d| d.taken).count(),
        has_notes: grid
            .rows
            .iter()
            .any(|r| r.cells.iter().any(|(_, n)| !n.is_empty())),
        grid,
    })?
    .into_response())
}

/// The month sheet as an Excel file, laid out like a paper attendance book: the school, the
/// class, the month and the homeroom teacher on top, a column per school day, totals per
/// student on the right and per day at the bottom.
pub fn month_xlsx(
    school: &str,
    class: &str,
    year: &str,
    month: YearMonth,
    homeroom: &str,
    grid: &MonthGrid,
) -> anyhow::Result<Vec<u8>> {
    use office::table::Cell;
    let title = vec![
        school.to_uppercase(),
        "SỔ THEO DÕI CHUYÊN CẦN".to_owned(),
        format!(
            "Lớp: {class} · Tháng {} · Năm học {year}",
            format_month(month)
        ),
        format!(
            "Giáo viên chủ nhiệm: {}",
            if homeroom.is_empty() {
                "(chưa phân công)"
            } else {
                homeroom
            }
        ),
        "Ký hiệu: P – vắng có phép; K – vắng không phép; M – đi muộn; để trống – có mặt."
            .to_owned(),
    ];
    let day_heads: Vec<String> = grid
        .days
        .iter()
        .map(|d| format!("{} {}", d.weekday, d.dd))
        .collect();
    let mut headers: Vec<&str> = vec!["STT", "Mã học sinh", "Họ và tên"];
    headers.extend(day_heads.iter().map(String::as_str));
    headers.extend([
        "Vắng có phép (P)",
        "Vắng không phép (K)",
        "Đi muộn (M)",
        "Ghi chú",
    ]);
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for (i, r) in grid.rows.iter().enumerate() {
        let mut row = vec![
            Cell::from(i as i64 + 1),
            Cell::from(r.code.clone()),
            Cell::from(r.full_name.clone()),
        ];
        row.extend(r.cells.iter().map(|(l, _)| Cell::from(*l)));
        row.extend([
            Cell::from(r.tally.excused),
            Cell::from(r.tally.unexcused),
            Cell::from(r.tally.late),
            Cell::from(r.notes(&grid.days)),
        ]);
        rows.push(row);
    }
    let per_day = |label: &str, pick: fn(&db::attendance::Tally) -> i64, total: i64| {
        let mut row = vec![Cell::from(""), Cell::from(""), Cell::from(label)];
        row.extend(grid.days.iter().map(|d| {
            if d.taken {
                Cell::from(pick(&d.tally))
            } else {
                Cell::from("")
            }
        }));
        row.push(Cell::from(total));
        row
    };
    rows.push(per_day(
        "Cộng vắng có phép (P)",
        |t| t.excused,
        grid.total.excused,
    ));
    rows.push(per_day(
        "Cộng vắng không phép (K)",
        |t| t.unexcused,
        grid.total.unexcused,
    ));
    rows.push(per_day("Cộng đi muộn (M)", |t| t.late, grid.total.late));
    let mut present = per_day(
        "Có mặt / sĩ số",
        |t| t.present + t.late,
        grid.total.present + grid.total.late,
    );
    for (c, d) in present.iter_mut().skip(3).zip(&grid.days) {
        if d.taken {
            *c = Cell::from(format!(
                "{}/{}",
                d.tally.present + d.tally.late,
                d.tally.total()
            ));
        }
    }
    rows.push(present);
    let sheet = format!("Tháng {:02}-{}", u8::from(month.1), month.0);
    Ok(office::table::export(&sheet, &title, &headers, &rows)?)
}

/// The demo's weeks of attendance for 6A1, taken by its homeroom teacher: the school days
/// before the latest one (up to 24), so the day's sheet is still to take. A few students late
/// or absent in a fixed pattern, the demo student (hs.demo) once absent with permission and
/// once late. Nothing when the year has no such day yet (the summer before it opens).
pub async fn seed_demo(db: &db::Db, school: &db::org::School) -> anyhow::Result<()> {
    let Some(year) = db.current_year(school.id).await? else {
        return Ok(());
    };
    let calendar = db.calendar(school.id, year.id).await?;
    let Some(class) = db
        .classes(school.id, year.id)
        .await?
        .into_iter()
        .find(|c| c.name == "6A1")
    else {
        return Ok(());
    };
    let Some(homeroom) = class.homeroom_staff_id else {
        return Ok(());
    };
    let actor = db.staff_member(school.id, homeroom).await?.user_id;
    let today = vn_today();
    let Some(latest) = latest_school_day(today, &year, &calendar) else {
        return Ok(());
    };
    let mut days = Vec::new();
    let mut d = latest;
    while days.len() < 24 {
        match step_school_day(d, false, today, &year, &calendar) {
            Some(p) => {
                days.push(p);
                d = p;
            }
            None => break,
        }
    }
    if days.is_empty() {
        return Ok(());
    }
    days.reverse();
    let roster: Vec<Id> = db
        .attendance_sheet(school.id, class.id, latest)
        .await?
        .lines
        .into_iter()
        .map(|l| l.student_id)
        .collect();
    let child = match db.user_by_username("hs.demo").await {
        Ok(u) => db.student_by_user(u.id).await?.map(|s| s.id),
        Err(_) => None,
    };
    let n = days.len();
    let past = days
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let mut marks = Vec::new();
            for (j, student) in roster.iter().enumerate() {
                let (mark, note) = if Some(*student) == child {
                    if i + 4 == n {
                        (Mark::Excused, "Sốt, mẹ đã xin phép")
                    } else if i + 9 == n {
                        (Mark::Late, "Xe đạp hỏng")
                    } else {
                        continue;
                    }
                } else {
                    match (i * 31 + j * 17 + 7) % 53 {
                        0 => (Mark::Excused, "Ốm, gia đình đã xin phép"),
                        1 | 2 => (Mark::Late, ""),
                        3 if j % 2 == 0 => (Mark::Unexcused, ""),
                        _ => continue,
                    }
                };
                marks.push(MarkInput {
                    student_id: *student,
                    mark,
                    note: note.to_owned(),
                });
            }
            // Taken at 7:15 in the morning, Vietnam time.
            let taken_at = day
                .with_hms(0, 15, 0)
                .map(|t| t.assume_utc().unix_timestamp() * 1000)
                .unwrap_or_default();
            PastDay {
                day: *day,
                taken_at,
                marks,
            }
        })
        .collect::<Vec<_>>();
    db.seed_attendance(school.id, class.id, &past, actor)
        .await?;
    Ok(())
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
    fn months_are_typed_the_vietnamese_way_or_by_a_month_picker() {
        assert_eq!(parse_month("11/2026"), Ok((2026, Month::November)));
        assert_eq!(parse_month(" 1/2027 "), Ok((2027, Month::January)));
        assert_eq!(parse_month("2027-03"), Ok((2027, Month::March)));
        assert!(parse_month("13/2026").unwrap_err().contains("từ 1 đến 12"));
        assert!(parse_month("00/2026").is_err());
        for bad in ["11/26", "tháng 11", "", "11-2026x", "2026/11"] {
            assert!(parse_month(bad).unwrap_err().contains("mm/yyyy"), "{bad}");
        }
        assert_eq!(format_month((2027, Month::January)), "01/2027");
    }

    #[test]
    fn the_month_sheet_has_the_years_months_and_its_school_days() {
        let y = year();
        let months = year_months(&y);
        assert_eq!(months.first(), Some(&(2026, Month::September)));
        assert_eq!(months.last(), Some(&(2027, Month::May)));
        assert_eq!(months.len(), 9);
        // January 2027 up to Wednesday 6th: Tết (1st) and Sunday 3rd are no columns.
        let days = month_days(
            (2027, Month::January),
            date!(2027 - 01 - 06),
            &y,
            &tet(),
            &[],
        );
        assert_eq!(
            days,
            vec![
                date!(2027 - 01 - 02),
                date!(2027 - 01 - 04),
                date!(2027 - 01 - 05),
                date!(2027 - 01 - 06)
            ]
        );
        // A day taken stays a column even if the calendar made it a day off since.
        let days = month_days(
            (2027, Month::January),
            date!(2027 - 01 - 06),
            &y,
            &tet(),
            &[date!(2027 - 01 - 01)],
        );
        assert_eq!(days.first(), Some(&date!(2027 - 01 - 01)));
    }

    #[test]
    fn the_month_grid_counts_per_student_and_per_day() {
        let (a, b) = (domain::new_id(), domain::new_id());
        let (d1, d2, d3) = (
            date!(2027 - 01 - 04),
            date!(2027 - 01 - 05),
            date!(2027 - 01 - 06),
        );
        let period = Period {
            taken: vec![d1, d2],
            students: vec![
                (a, "Nguyễn Văn An".into(), "HS1".into()),
                (b, "Trần Thị Bình".into(), "HS2".into()),
            ],
            marks: [
                ((a, d1), (Mark::Excused, "ốm".to_owned())),
                ((a, d2), (Mark::Late, String::new())),
                ((b, d2), (Mark::Unexcused, String::new())),
            ]
            .into_iter()
            .collect(),
        };
        let g = month_grid(&[d1, d2, d3], &period);
        assert_eq!(g.days.len(), 3);
        assert!(g.days[0].taken && !g.days[2].taken);
        assert_eq!(g.days[0].weekday, "T2");
        let cells: Vec<&str> = g.rows[0].cells.iter().map(|(l, _)| *l).collect();
        assert_eq!(cells, ["P", "M", ""]);
        assert_eq!(
            (g.rows[0].tally.excused, g.rows[0].tally.late),
            (1, 1),
            "per student"
        );
        assert_eq!(g.rows[0].notes(&g.days), "04/01: ốm");
        assert_eq!((g.days[1].tally.unexcused, g.days[1].tally.late), (1, 1));
        assert_eq!(g.days[1].tally.total(), 2, "per day");
        assert_eq!(g.days[2].tally.total(), 0, "a day not taken counts nothing");
        assert_eq!(
            (
                g.total.excused,
                g.total.unexcused,
                g.total.late,
                g.total.present
            ),
            (1, 1, 1, 1)
        );
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
