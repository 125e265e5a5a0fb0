//! The management tree: ministry → province (Sở) → commune or district unit → school.
//!
//! Since 1/7/2025 there is no district level: primary and lower-secondary schools hang under the
//! commune People's Committee, upper-secondary schools and GDTX centres directly under the Sở.
//! Older data still uses districts, so the kinds are configurable data, not a fixed depth.

use crate::Id;
use serde::{Deserialize, Serialize};

/// The kind of a management unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// Bộ GD&ĐT
    Ministry,
    /// Sở GD&ĐT (province)
    Province,
    /// UBND xã/phường (commune, since 1/7/2025)
    Commune,
    /// Phòng GD&ĐT (district, before 1/7/2025)
    District,
}

impl UnitKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [
        Self::Ministry,
        Self::Province,
        Self::Commune,
        Self::District,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Ministry => "ministry",
            Self::Province => "province",
            Self::Commune => "commune",
            Self::District => "district",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ministry => "Bộ GD&ĐT",
            Self::Province => "Sở GD&ĐT",
            Self::Commune => "Xã/phường",
            Self::District => "Phòng GD&ĐT (cấp huyện cũ)",
        }
    }

    /// Which kinds may sit directly under this one.
    pub fn allowed_children(self) -> &'static [UnitKind] {
        match self {
            Self::Ministry => &[Self::Province],
            Self::Province => &[Self::Commune, Self::District],
            Self::District => &[Self::Commune],
            Self::Commune => &[],
        }
    }
}

/// The level of a school.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchoolLevel {
    /// Tiểu học (grades 1–5)
    Primary,
    /// THCS (grades 6–9)
    LowerSecondary,
    /// THPT (grades 10–12)
    UpperSecondary,
    /// Liên cấp: primary + lower secondary (1–9) or lower + upper secondary (6–12)
    MultiLevel,
    /// Trung tâm GDNN-GDTX (continuing education, grades 6–12)
    Continuing,
}

impl SchoolLevel {
    /// Every level.
    pub const ALL: [Self; 5] = [
        Self::Primary,
        Self::LowerSecondary,
        Self::UpperSecondary,
        Self::MultiLevel,
        Self::Continuing,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::LowerSecondary => "lower_secondary",
            Self::UpperSecondary => "upper_secondary",
            Self::MultiLevel => "multi_level",
            Self::Continuing => "continuing",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Primary => "Tiểu học",
            Self::LowerSecondary => "THCS",
            Self::UpperSecondary => "THPT",
            Self::MultiLevel => "Liên cấp",
            Self::Continuing => "TT GDNN-GDTX",
        }
    }

    /// The grades (khối) the level teaches.
    pub fn grades(self) -> std::ops::RangeInclusive<u8> {
        match self {
            Self::Primary => 1..=5,
            Self::LowerSecondary => 6..=9,
            Self::UpperSecondary => 10..=12,
            Self::MultiLevel => 1..=12,
            Self::Continuing => 6..=12,
        }
    }

    /// Who manages a school of this level since 1/7/2025: the commune for primary and lower
    /// secondary, the Sở for the rest.
    pub fn managed_by(self) -> UnitKind {
        match self {
            Self::Primary | Self::LowerSecondary => UnitKind::Commune,
            _ => UnitKind::Province,
        }
    }
}

/// The materialized path of a unit: the ids of its ancestors and itself, `/a/b/c/`.
/// A school's path is its unit's path; "X is inside unit U" is a prefix test.
pub fn child_path(parent_path: &str, id: Id) -> String {
    format!("{parent_path}{id}/")
}

/// Whether `path` lies within (or is) the subtree rooted at `root_path`.
pub fn path_within(path: &str, root_path: &str) -> bool {
    path.starts_with(root_path)
}

/// A school's code (mã trường) in the sector database: 2–20 ASCII letters or digits.
pub fn parse_school_code(raw: &str) -> Result<String, crate::people::Invalid> {
    let s = raw.trim().to_uppercase();
    if (2..=20).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(s)
    } else {
        Err(crate::people::Invalid(format!(
            "Mã trường \"{raw}\" phải gồm 2–20 chữ cái không dấu hoặc chữ số"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_nest() {
        let a = crate::new_id();
        let b = crate::new_id();
        let pa = child_path("/", a);
        let pb = child_path(&pa, b);
        assert!(path_within(&pb, &pa));
        assert!(!path_within(&pa, &pb));
    }

    #[test]
    fn levels_know_their_grades_and_managers() {
        assert_eq!(SchoolLevel::Primary.grades(), 1..=5);
        assert_eq!(SchoolLevel::UpperSecondary.managed_by(), UnitKind::Province);
        assert_eq!(SchoolLevel::LowerSecondary.managed_by(), UnitKind::Commune);
        assert_eq!(
            SchoolLevel::from_code("continuing"),
            Some(SchoolLevel::Continuing)
        );
    }

    #[test]
    fn school_codes() {
        assert_eq!(parse_school_code(" th01 ").unwrap(), "TH01");
        assert!(parse_school_code("Trường 1").is_err());
    }
}
