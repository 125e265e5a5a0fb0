//! Validated values about people: phone numbers, student codes, personal ids, dates, genders,
//! statuses. Each is built by `parse`, which returns a Vietnamese message on bad input.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::Date;

/// A rejected value, with a message in Vietnamese that says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid(msg: impl Into<String>) -> Invalid {
    Invalid(msg.into())
}

/// A Vietnamese mobile number, stored as 10 digits starting with 0 (`0912345678`).
/// Accepts `+84…`, `84…`, spaces, dots and dashes; Excel often drops the leading 0, so a
/// 9-digit number is given it back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VnPhone(String);

impl VnPhone {
    /// Parses and normalizes a mobile number.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let digits: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
            .collect();
        let digits = if let Some(rest) = digits.strip_prefix("+84") {
            format!("0{rest}")
        } else if digits.len() == 11 && digits.starts_with("84") {
            format!("0{}", &digits[2..])
        } else if digits.len() == 9 && !digits.starts_with('0') {
            format!("0{digits}")
        } else {
            digits
        };
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid(format!(
                "Số điện thoại \"{raw}\" chứa ký tự không phải chữ số"
            )));
        }
        if digits.len() != 10 {
            return Err(invalid(format!(
                "Số điện thoại \"{raw}\" phải có 10 chữ số (ví dụ 0912345678)"
            )));
        }
        let prefix = &digits[..2];
        if !matches!(prefix, "03" | "05" | "07" | "08" | "09") {
            return Err(invalid(format!(
                "Số điện thoại \"{raw}\" không phải số di động Việt Nam (đầu số 03, 05, 07, 08, 09)"
            )));
        }
        Ok(Self(digits))
    }

    /// The normalized 10-digit form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VnPhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A student's code in the sector database (mã học sinh / mã định danh CSDL ngành):
/// 4 to 20 letters or digits, kept as given (uppercased), immutable once created.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StudentCode(String);

impl StudentCode {
    /// Parses a code: trims it and accepts ASCII letters, digits, `-` and `_`.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim().to_uppercase();
        if s.is_empty() {
            return Err(invalid("Thiếu mã học sinh"));
        }
        if !(4..=20).contains(&s.len()) {
            return Err(invalid(format!(
                "Mã học sinh \"{raw}\" phải dài từ 4 đến 20 ký tự"
            )));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(format!(
                "Mã học sinh \"{raw}\" chỉ được gồm chữ không dấu, chữ số, '-' và '_'"
            )));
        }
        Ok(Self(s))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StudentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The 12-digit personal identification number (số định danh cá nhân / CCCD).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PersonalId(String);

impl PersonalId {
    /// Parses a 12-digit personal id; the first three digits are a province code (001–096).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if s.len() != 12 || !s.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid(format!(
                "Số định danh cá nhân \"{raw}\" phải gồm đúng 12 chữ số"
            )));
        }
        let province: u32 = s[..3].parse().unwrap_or(0);
        if !(1..=96).contains(&province) {
            return Err(invalid(format!(
                "Số định danh cá nhân \"{raw}\" có mã tỉnh \"{}\" không hợp lệ",
                &s[..3]
            )));
        }
        Ok(Self(s))
    }

    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Gender as recorded in the sector database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    /// Nam
    Male,
    /// Nữ
    Female,
}

impl Gender {
    /// Parses "Nam"/"Nữ" (and the common variants "nu", "M", "F", "1", "0").
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match crate::text::fold(raw).as_str() {
            "nam" | "m" | "male" | "1" | "trai" => Ok(Self::Male),
            "nu" | "f" | "female" | "0" | "gai" => Ok(Self::Female),
            _ => Err(invalid(format!(
                "Giới tính \"{raw}\" không hợp lệ (ghi \"Nam\" hoặc \"Nữ\")"
            ))),
        }
    }

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "male" => Some(Self::Male),
            "female" => Some(Self::Female),
            _ => None,
        }
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Male => "Nam",
            Self::Female => "Nữ",
        }
    }
}

/// A student's status. Students are never deleted; they change status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StudentStatus {
    /// Đang học
    Studying,
    /// Chuyển trường
    TransferredOut,
    /// Thôi học
    DroppedOut,
    /// Bảo lưu
    Suspended,
    /// Đã tốt nghiệp / hoàn thành chương trình
    Graduated,
}

impl StudentStatus {
    /// Every status, in display order.
    pub const ALL: [Self; 5] = [
        Self::Studying,
        Self::TransferredOut,
        Self::DroppedOut,
        Self::Suspended,
        Self::Graduated,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Studying => "studying",
            Self::TransferredOut => "transferred_out",
            Self::DroppedOut => "dropped_out",
            Self::Suspended => "suspended",
            Self::Graduated => "graduated",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Studying => "Đang học",
            Self::TransferredOut => "Chuyển trường",
            Self::DroppedOut => "Thôi học",
            Self::Suspended => "Bảo lưu",
            Self::Graduated => "Hoàn thành chương trình",
        }
    }

    /// Parses a Vietnamese label or a code; an empty cell means "Đang học".
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let f = crate::text::fold(raw);
        if f.is_empty() {
            return Ok(Self::Studying);
        }
        Self::ALL
            .into_iter()
            .find(|s| crate::text::fold(s.label()) == f || s.code() == f)
            .or(match f.as_str() {
                "dang hoc" | "hoc" => Some(Self::Studying),
                "chuyen di" | "chuyen truong" => Some(Self::TransferredOut),
                "nghi hoc" | "bo hoc" => Some(Self::DroppedOut),
                "tot nghiep" => Some(Self::Graduated),
                _ => None,
            })
            .ok_or_else(|| invalid(format!("Trạng thái \"{raw}\" không hợp lệ")))
    }
}

/// Parses a date of birth written `dd/mm/yyyy` (also `d/m/yyyy`, `dd-mm-yyyy`, `dd.mm.yyyy`
/// and ISO `yyyy-mm-dd`), refusing impossible dates such as 31/02.
pub fn parse_vn_date(raw: &str) -> Result<Date, Invalid> {
    let s = raw.trim();
    let parts: Vec<&str> = s.split(['/', '-', '.']).collect();
    let bad = || {
        invalid(format!(
            "Ngày \"{raw}\" không đúng dạng ngày/tháng/năm (dd/mm/yyyy)"
        ))
    };
    if parts.len() != 3 {
        return Err(bad());
    }
    let nums: Vec<i32> = parts
        .iter()
        .map(|p| p.trim().parse::<i32>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let (d, m, y) = if parts[0].len() == 4 {
        (nums[2], nums[1], nums[0])
    } else {
        (nums[0], nums[1], nums[2])
    };
    if !(1900..=2100).contains(&y) {
        return Err(invalid(format!("Năm trong ngày \"{raw}\" không hợp lệ")));
    }
    let month = u8::try_from(m)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or_else(|| invalid(format!("Tháng trong ngày \"{raw}\" không hợp lệ")))?;
    let day = u8::try_from(d).map_err(|_| bad())?;
    Date::from_calendar_date(y, month, day)
        .map_err(|_| invalid(format!("Ngày \"{raw}\" không tồn tại")))
}

/// Formats a date the Vietnamese way, `dd/mm/yyyy`.
pub fn format_vn_date(d: Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

/// A login name: 3–64 characters of lowercase ASCII letters, digits, `.`, `_`, `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Username(String);

impl Username {
    /// Parses and lowercases a username.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim().to_lowercase();
        if !(3..=64).contains(&s.len()) {
            return Err(invalid("Tên đăng nhập phải dài từ 3 đến 64 ký tự"));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(invalid(
                "Tên đăng nhập chỉ gồm chữ không dấu, chữ số và các dấu . _ -",
            ));
        }
        Ok(Self(s))
    }

    /// The username as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a new password: at least 8 characters, not all digits, not the username.
pub fn check_new_password(password: &str, username: &str) -> Result<(), Invalid> {
    if password.chars().count() < 8 {
        return Err(invalid("Mật khẩu mới phải có ít nhất 8 ký tự"));
    }
    if password.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid("Mật khẩu mới không được chỉ gồm chữ số"));
    }
    if password.eq_ignore_ascii_case(username) {
        return Err(invalid("Mật khẩu mới không được trùng tên đăng nhập"));
    }
    Ok(())
}

/// A person's full name: 2–100 characters after collapsing spaces, letters (any script),
/// spaces, apostrophes and hyphens only.
pub fn parse_full_name(raw: &str) -> Result<String, Invalid> {
    let s = crate::text::normalize_spaces(raw);
    if s.is_empty() {
        return Err(invalid("Thiếu họ và tên"));
    }
    if s.chars().count() > 100 {
        return Err(invalid("Họ và tên dài quá 100 ký tự"));
    }
    if !s.chars().all(|c| {
        c.is_alphabetic()
            || c == ' '
            || c == '\''
            || c == '-'
            || ('\u{0300}'..='\u{036F}').contains(&c)
    }) {
        return Err(invalid(format!(
            "Họ và tên \"{s}\" chứa ký tự không hợp lệ"
        )));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn phone_normalizes_common_forms() {
        for raw in [
            "0912345678",
            "+84 912 345 678",
            "84912345678",
            "912345678",
            "0912.345.678",
        ] {
            assert_eq!(VnPhone::parse(raw).unwrap().as_str(), "0912345678", "{raw}");
        }
    }

    #[test]
    fn phone_rejects_landlines_and_garbage() {
        assert!(VnPhone::parse("0241234567").is_err());
        assert!(VnPhone::parse("09123").is_err());
        assert!(VnPhone::parse("09123abcde").is_err());
    }

    #[test]
    fn student_code_is_uppercased_and_checked() {
        assert_eq!(StudentCode::parse(" hs0001 ").unwrap().as_str(), "HS0001");
        assert!(StudentCode::parse("").is_err());
        assert!(StudentCode::parse("mã số").is_err());
    }

    #[test]
    fn personal_id_needs_twelve_digits_and_a_province() {
        assert!(PersonalId::parse("001203004567").is_ok());
        assert!(PersonalId::parse("12345").is_err());
        assert!(PersonalId::parse("999203004567").is_err());
    }

    #[test]
    fn dates_parse_vietnamese_order_and_refuse_impossible_days() {
        assert_eq!(parse_vn_date("05/09/2012").unwrap(), date!(2012 - 09 - 05));
        assert_eq!(parse_vn_date("5-9-2012").unwrap(), date!(2012 - 09 - 05));
        assert_eq!(parse_vn_date("2012-09-05").unwrap(), date!(2012 - 09 - 05));
        assert!(parse_vn_date("31/02/2012").is_err());
        assert!(parse_vn_date("12/13/2012").is_err());
        assert!(parse_vn_date("hôm qua").is_err());
        assert_eq!(format_vn_date(date!(2012 - 09 - 05)), "05/09/2012");
    }

    #[test]
    fn gender_and_status_parse_labels() {
        assert_eq!(Gender::parse("Nữ").unwrap(), Gender::Female);
        assert_eq!(Gender::parse("nam").unwrap(), Gender::Male);
        assert!(Gender::parse("x").is_err());
        assert_eq!(StudentStatus::parse("").unwrap(), StudentStatus::Studying);
        assert_eq!(
            StudentStatus::parse("Chuyển trường").unwrap(),
            StudentStatus::TransferredOut
        );
    }

    #[test]
    fn names_and_passwords() {
        assert_eq!(
            parse_full_name("  Nguyễn   Văn  An ").unwrap(),
            "Nguyễn Văn An"
        );
        assert!(parse_full_name("Nguyễn 3").is_err());
        assert!(check_new_password("12345678", "an").is_err());
        assert!(check_new_password("short", "an").is_err());
        assert!(check_new_password("Hoc-tot-2025", "an").is_ok());
    }
}
