//! The school year (năm học): two terms and a calendar of days off and events.

use crate::people::Invalid;
use time::{Date, Month};

/// The dates that shape a school year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearDates {
    /// First day of term 1 (usually 5 September, khai giảng).
    pub start: Date,
    /// Last day of term 1.
    pub term1_end: Date,
    /// First day of term 2.
    pub term2_start: Date,
    /// Last day of the year (before 31 May for general education).
    pub end: Date,
}

impl YearDates {
    /// Checks the order of the dates and that the year spans at most 13 months.
    pub fn validate(self) -> Result<Self, Invalid> {
        if self.start >= self.term1_end {
            return Err(Invalid(
                "Ngày kết thúc học kỳ I phải sau ngày bắt đầu năm học".into(),
            ));
        }
        if self.term1_end >= self.term2_start {
            return Err(Invalid(
                "Học kỳ II phải bắt đầu sau khi học kỳ I kết thúc".into(),
            ));
        }
        if self.term2_start >= self.end {
            return Err(Invalid(
                "Ngày kết thúc năm học phải sau ngày bắt đầu học kỳ II".into(),
            ));
        }
        if (self.end - self.start).whole_days() > 400 {
            return Err(Invalid("Một năm học không được dài quá 13 tháng".into()));
        }
        Ok(self)
    }

    /// The name of the year, "2025-2026".
    pub fn name(self) -> String {
        format!("{}-{}", self.start.year(), self.end.year())
    }

    /// The term (1 or 2) a date falls in, if any.
    pub fn term_of(self, d: Date) -> Option<u8> {
        if d >= self.start && d <= self.term1_end {
            Some(1)
        } else if d >= self.term2_start && d <= self.end {
            Some(2)
        } else {
            None
        }
    }
}

/// The ministry's usual frame for the year starting in `start_year`: opening 5/9, term 1 to
/// mid-January, term 2 from the following Monday, end 25/5.
pub fn default_year(start_year: i32) -> YearDates {
    let d = |y, m, day| Date::from_calendar_date(y, m, day).expect("valid fixed date");
    YearDates {
        start: d(start_year, Month::September, 5),
        term1_end: d(start_year + 1, Month::January, 17),
        term2_start: d(start_year + 1, Month::January, 19),
        end: d(start_year + 1, Month::May, 25),
    }
}

/// The start year of the school year a date belongs to (August onwards opens the next one).
pub fn school_year_of(d: Date) -> i32 {
    if u8::from(d.month()) >= 8 {
        d.year()
    } else {
        d.year() - 1
    }
}

/// Fixed-date days off and commemorations of a school year (solar calendar; Tết Nguyên đán
/// moves with the lunar calendar and is entered by the school).
pub fn fixed_calendar(start_year: i32) -> Vec<(Date, &'static str, bool)> {
    let d = |y, m, day| Date::from_calendar_date(y, m, day).expect("valid fixed date");
    vec![
        (
            d(start_year, Month::November, 20),
            "Ngày Nhà giáo Việt Nam",
            false,
        ),
        (d(start_year + 1, Month::January, 1), "Tết Dương lịch", true),
        (
            d(start_year + 1, Month::April, 30),
            "Ngày Giải phóng miền Nam",
            true,
        ),
        (
            d(start_year + 1, Month::May, 1),
            "Ngày Quốc tế Lao động",
            true,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn default_year_is_valid_and_named() {
        let y = default_year(2025).validate().unwrap();
        assert_eq!(y.name(), "2025-2026");
        assert_eq!(y.term_of(date!(2025 - 11 - 20)), Some(1));
        assert_eq!(y.term_of(date!(2026 - 03 - 02)), Some(2));
        assert_eq!(y.term_of(date!(2026 - 07 - 01)), None);
    }

    #[test]
    fn misordered_terms_are_refused() {
        let mut y = default_year(2025);
        y.term2_start = y.term1_end;
        assert!(y.validate().is_err());
    }

    #[test]
    fn year_of_date() {
        assert_eq!(school_year_of(date!(2026 - 11 - 23)), 2026);
        assert_eq!(school_year_of(date!(2026 - 03 - 01)), 2025);
    }
}
