//! Word (.docx) import and export in the layout Vietnamese teachers use.
//!
//! Reading is defensive: uploads come from anyone with a teacher account, so archive size,
//! entry count, compression ratio and image size are capped, macro-enabled files are refused,
//! and malformed XML is an error, never a panic.

mod latex;
mod omml;
mod read;
mod write;

pub use read::{Limits, import, import_with};
pub(crate) use read::{all_content, rubric_line};
pub use write::{PaperHeader, export_docx, paper_docx, template_docx};

#[cfg(test)]
pub(crate) mod tests;
