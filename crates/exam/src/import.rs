//! The report every importer returns: questions for a preview, with warnings and errors per
//! question so a teacher can fix the file and try again.

use serde::{Deserialize, Serialize};

use crate::model::{Asset, Exam, KindTag, Passage, Problem, Question, Section};

/// A question read from a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedQuestion {
    /// The number written in the file ("Câu 5"), or the position when the format has none.
    pub number: usize,
    /// The section heading it was found under, if any ("PHẦN II").
    pub section: Option<String>,
    /// The question; its key may be missing, which a warning then says.
    pub question: Question,
    /// Things to check in the preview ("Câu 5: không tìm thấy đáp án").
    pub warnings: Vec<String>,
}

/// A question that could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportError {
    /// The question number, when known.
    pub number: Option<usize>,
    /// The Vietnamese message.
    pub message: String,
}

/// How many questions of each kind were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KindCounts {
    /// Single choice.
    pub single_choice: usize,
    /// Multiple response.
    pub multiple_response: usize,
    /// True/false clusters.
    pub true_false: usize,
    /// Short answer.
    pub short_answer: usize,
    /// Essay.
    pub essay: usize,
}

/// The outcome of an import.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ImportReport {
    /// Questions read, in file order.
    pub questions: Vec<ImportedQuestion>,
    /// Questions that could not be read, and file-level problems (`number: None`).
    pub errors: Vec<ImportError>,
    /// Counts by kind of `questions`.
    pub counts: KindCounts,
    /// Images the questions refer to.
    pub assets: Vec<Asset>,
    /// Shared passages the questions refer to by id.
    pub passages: Vec<Passage>,
}

impl ImportReport {
    /// Adds a parsed question: structural problems make it an error, a missing key only a
    /// warning (the teacher can add keys in the preview, or an answer table may still come).
    pub(crate) fn push(
        &mut self,
        number: usize,
        section: Option<String>,
        question: Question,
        mut warnings: Vec<String>,
    ) {
        if let Err(problems) = question.validate(number) {
            let (soft, hard): (Vec<_>, Vec<_>) = problems
                .into_iter()
                .partition(|p| matches!(p.problem, Problem::NoKey | Problem::StatementNoKey(_)));
            if !hard.is_empty() {
                for p in hard {
                    self.errors.push(ImportError {
                        number: Some(number),
                        message: p.to_string(),
                    });
                }
                return;
            }
            if !soft.is_empty() {
                warnings.push(format!("Câu {number}: không tìm thấy đáp án"));
            }
        }
        self.questions.push(ImportedQuestion {
            number,
            section,
            question,
            warnings,
        });
    }

    /// A file-level or question-level error.
    pub(crate) fn error(&mut self, number: Option<usize>, message: impl Into<String>) {
        self.errors.push(ImportError {
            number,
            message: message.into(),
        });
    }

    /// Recounts kinds; importers call it once at the end.
    pub(crate) fn finish(mut self) -> Self {
        let mut c = KindCounts::default();
        for q in &self.questions {
            match q.question.kind.tag() {
                KindTag::SingleChoice => c.single_choice += 1,
                KindTag::MultipleResponse => c.multiple_response += 1,
                KindTag::TrueFalseCluster => c.true_false += 1,
                KindTag::ShortAnswer => c.short_answer += 1,
                KindTag::Essay => c.essay += 1,
            }
        }
        self.counts = c;
        self
    }

    /// An exam with one section per heading met in the file (questions before any heading go to
    /// a section without title), keeping passages and images.
    pub fn into_exam(self, title: impl Into<String>) -> Exam {
        let mut sections: Vec<Section> = Vec::new();
        let mut current: Option<Option<String>> = None;
        for q in self.questions {
            if current.as_ref() != Some(&q.section) {
                current = Some(q.section.clone());
                sections.push(Section {
                    title: q.section.unwrap_or_default(),
                    questions: Vec::new(),
                });
            }
            if let Some(s) = sections.last_mut() {
                s.questions.push(q.question);
            }
        }
        Exam {
            title: title.into(),
            sections,
            passages: self.passages,
            assets: self.assets,
        }
    }

    /// The questions alone, for saving to a bank.
    pub fn into_questions(self) -> Vec<Question> {
        self.questions.into_iter().map(|q| q.question).collect()
    }
}
