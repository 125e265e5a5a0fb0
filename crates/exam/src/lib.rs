//! The assessment engine of lophoc, pure: it takes bytes and values and gives values back.
//!
//! No database, no web, no clock: the `db` crate stores [`model::Question`] as JSON, the `web`
//! crate renders them, and everything here can be tested in microseconds.
//!
//! - [`model`]: questions, passages, assets, metadata and their validation.
//! - [`scoring`]: a response against a question, including the 2025 true/false cluster rule.
//! - [`shuffle`]: reproducible paper versions (mã đề) and matrix draws from a seed.
//! - [`docx`], [`gift`], [`aiken`], [`moodle_xml`]: importers (and docx/Moodle XML exporters)
//!   that all return an [`import::ImportReport`].
//! - [`analysis`]: item analysis after a test (facility, discrimination, reliability).
//!
//! The whole path, from a teacher's Word file to marks:
//!
//! ```
//! use exam::{docx, scoring, shuffle};
//!
//! let report = docx::import(&docx::template_docx()).unwrap();
//! assert!(report.errors.is_empty());
//! let paper = report.into_exam("Kiểm tra giữa kì");
//! let versions = shuffle::make_versions(&paper, 2025, &[101, 102], shuffle::ShuffleOptions::default());
//! // A student of version 102 answers the first item of part I with the printed key…
//! let item = &versions[1].sections[0][0];
//! let printed = match &item.question.kind {
//!     exam::model::QuestionKind::SingleChoice { key: Some(k), .. } => *k,
//!     _ => unreachable!(),
//! };
//! // …which maps back to the original question and scores full marks.
//! let response = item.to_original(&scoring::Response::SingleChoice(printed)).unwrap();
//! let original = &paper.sections[0].questions[item.original];
//! assert_eq!(scoring::score(original, Some(&response)).unwrap(), Some(original.points));
//! ```
#![forbid(unsafe_code)]

pub mod aiken;
pub mod analysis;
pub mod docx;
pub mod gift;
pub mod import;
pub mod model;
pub mod moodle_xml;
pub mod pdf;
pub mod scoring;
pub mod shuffle;
mod xml;

#[cfg(test)]
mod fuzz_tests;

/// Everything that can go wrong in the engine, with messages a Vietnamese teacher can read.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    /// A response does not fit its question: an option index out of range or the wrong shape.
    /// Browsers can be tampered with, so this is refused instead of being scored as wrong.
    #[error("Bài làm không hợp lệ: {0}")]
    TamperedResponse(String),
    /// The question has no answer key, so it cannot be marked automatically.
    #[error("Câu hỏi chưa có đáp án")]
    NoKey,
    /// The bank does not hold enough questions for one row of the matrix.
    #[error("Ma trận: chủ đề {topic}, mức {level} cần {needed} câu, ngân hàng chỉ có {available}")]
    MatrixShort {
        /// The topic of the row.
        topic: String,
        /// The Vietnamese label of the cognitive level.
        level: String,
        /// Questions the row asks for.
        needed: usize,
        /// Questions the bank holds for this topic and level.
        available: usize,
    },
    /// The uploaded file could not be read as the expected format.
    #[error("Tệp không đọc được: {0}")]
    BadFile(String),
    /// The file is larger than allowed once unpacked (a zip bomb or a huge file).
    #[error("Tệp quá lớn: {0}")]
    TooLarge(String),
    /// A Word file with macros: refused, macros can carry malware and a question bank never needs them.
    #[error(
        "Tệp có chứa macro (.docm/VBA), hệ thống không nhận; hãy lưu lại dưới dạng .docx thường"
    )]
    MacroEnabled,
    /// Item analysis got data it cannot use.
    #[error("Dữ liệu phân tích không hợp lệ: {0}")]
    Analysis(String),
}
