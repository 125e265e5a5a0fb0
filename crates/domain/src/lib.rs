//! Pure types and rules of lophoc: no I/O lives here.
//!
//! Everything a request handler or a repository needs to *decide* (who may do what, whether a
//! phone number or a student code is valid, how Vietnamese names sort) is a plain function here,
//! unit-tested in the same file.
#![forbid(unsafe_code)]

pub mod auth;
pub mod calendar;
pub mod curriculum;
pub mod d4725;
pub mod grades;
pub mod learning;
pub mod oversight;
pub mod people;
pub mod survey;
pub mod text;
pub mod tree;

/// Every key in lophoc is a UUIDv7 made by the application (time-ordered, index friendly).
pub type Id = uuid::Uuid;

/// A new time-ordered id.
pub fn new_id() -> Id {
    uuid::Uuid::now_v7()
}

/// Implements `TryFrom<String>` through `from_code` for enums stored as codes, so stored rows
/// decode straight into domain types.
macro_rules! code_enum_try_from {
    ($($t:ty),*) => {$(
        impl TryFrom<String> for $t {
            type Error = people::Invalid;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::from_code(&s).ok_or_else(|| people::Invalid(format!("mã không hợp lệ: {s}")))
            }
        }
    )*};
}
code_enum_try_from!(
    tree::UnitKind,
    tree::SchoolLevel,
    auth::Role,
    people::Gender,
    people::StudentStatus,
    learning::LessonForm,
    learning::MaterialKind,
    learning::MaterialStatus,
    learning::ReviewStep,
    learning::LatePolicy
);
