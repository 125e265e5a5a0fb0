//! Excel in and out for lophoc.
//!
//! Schools keep their student lists in spreadsheets exported from the sector database
//! (CSDL ngành) or from school management software (SMAS, VnEdu). This crate reads those files
//! into validated rows, reporting every bad cell with its row, column and a Vietnamese reason,
//! and writes rosters and a blank template that read back through the same importer.
//!
//! The crate does no I/O of its own: it takes and returns bytes, so the web and CLI crates decide
//! where files come from and go to.
#![forbid(unsafe_code)]

pub mod exchange;
pub mod gradebook;
pub mod roster;
pub mod table;
