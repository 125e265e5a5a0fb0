//! Marking a response against a question.
//!
//! Rules:
//! - single choice: all or nothing;
//! - multiple response: all or nothing — the chosen set must equal the key set exactly, because
//!   partial credit invites ticking every box and Vietnamese exams do not use it;
//! - true/false cluster (Part II of the 2025 upper-secondary exam): 1, 2, 3, 4 statements right
//!   give 0.1, 0.25, 0.5, 1.0 of the question's points (1.0 in the official paper);
//! - short answer: a number within the tolerance, or an accepted text ignoring case/spaces/accents;
//! - essay: `None`, a teacher marks it.

use std::collections::BTreeSet;

use domain::text::fold;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::model::{Question, QuestionKind, ShortKey, parse_number};

/// What a student answered; the variant must match the question kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Response {
    /// The index of the chosen option (original order).
    SingleChoice(usize),
    /// The chosen option indices.
    MultipleResponse(BTreeSet<usize>),
    /// One answer per statement a–d; `None` for a statement left blank.
    TrueFalse(Vec<Option<bool>>),
    /// The typed answer.
    ShortAnswer(String),
    /// The essay text.
    Essay(String),
}

/// The fraction of the points a true/false cluster gives for 0–4 statements right.
pub const TRUE_FALSE_FRACTIONS: [f64; 5] = [0.0, 0.1, 0.25, 0.5, 1.0];

/// Marks `response` (`None` = unanswered, which scores 0) against `question`.
///
/// Returns the points earned, or `Ok(None)` when a teacher must mark it (essays). A response of
/// the wrong shape is refused with [`Error::TamperedResponse`]: the client is not trusted.
pub fn score(question: &Question, response: Option<&Response>) -> Result<Option<f64>, Error> {
    let points = question.points;
    if let QuestionKind::Essay { .. } = question.kind {
        return match response {
            None | Some(Response::Essay(_)) => Ok(None),
            Some(_) => Err(tampered("câu tự luận nhận một bài viết")),
        };
    }
    let Some(response) = response else {
        return Ok(Some(0.0));
    };
    let fraction = match (&question.kind, response) {
        (QuestionKind::SingleChoice { options, key }, Response::SingleChoice(chosen)) => {
            if *chosen >= options.len() {
                return Err(tampered("phương án không tồn tại"));
            }
            let key = key.ok_or(Error::NoKey)?;
            if *chosen == key { 1.0 } else { 0.0 }
        }
        (QuestionKind::MultipleResponse { options, keys }, Response::MultipleResponse(chosen)) => {
            if chosen.iter().any(|c| *c >= options.len()) {
                return Err(tampered("phương án không tồn tại"));
            }
            if keys.is_empty() {
                return Err(Error::NoKey);
            }
            if chosen == keys { 1.0 } else { 0.0 }
        }
        (QuestionKind::TrueFalseCluster { statements }, Response::TrueFalse(answers)) => {
            if answers.len() != statements.len() {
                return Err(tampered("số ý đúng/sai không khớp"));
            }
            let mut right = 0;
            for (s, a) in statements.iter().zip(answers) {
                let truth = s.truth.ok_or(Error::NoKey)?;
                if *a == Some(truth) {
                    right += 1;
                }
            }
            // Only four-statement clusters have an official rule; others scale linearly so a
            // bank imported with a 3-statement question still marks sensibly.
            if statements.len() == 4 {
                TRUE_FALSE_FRACTIONS[right]
            } else {
                right as f64 / statements.len().max(1) as f64
            }
        }
        (QuestionKind::ShortAnswer { key }, Response::ShortAnswer(typed)) => {
            match key.as_ref().ok_or(Error::NoKey)? {
                ShortKey::Numeric { value, tolerance } => match parse_number(typed) {
                    // A hair of slack so "0,1 ± 0,05" accepts 0,15 despite binary floats.
                    Some(v) if (v - value).abs() <= tolerance + 1e-9 => 1.0,
                    _ => 0.0,
                },
                ShortKey::Text { accepted } => {
                    let t = fold(typed);
                    if !t.is_empty() && accepted.iter().any(|a| fold(a) == t) {
                        1.0
                    } else {
                        0.0
                    }
                }
            }
        }
        _ => return Err(tampered("kiểu trả lời không khớp với kiểu câu hỏi")),
    };
    Ok(Some(round(fraction * points)))
}

/// The marks of a whole attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptScore {
    /// Points per question; `None` for those a teacher must mark.
    pub per_question: Vec<Option<f64>>,
    /// Points earned on automatically marked questions.
    pub earned: f64,
    /// Points available on the whole paper, manual questions included.
    pub max: f64,
    /// How many questions still wait for a teacher.
    pub manual_pending: usize,
}

/// Marks every question of an attempt; `responses[i]` answers `questions[i]` (original order:
/// map a shuffled paper back with [`crate::shuffle::VariantItem::to_original`] first).
pub fn score_attempt(
    questions: &[Question],
    responses: &[Option<Response>],
) -> Result<AttemptScore, Error> {
    if questions.len() != responses.len() {
        return Err(tampered("số câu trả lời không khớp với đề"));
    }
    let mut per_question = Vec::with_capacity(questions.len());
    let (mut earned, mut max, mut manual_pending) = (0.0, 0.0, 0);
    for (i, (q, r)) in questions.iter().zip(responses).enumerate() {
        let s = score(q, r.as_ref()).map_err(|e| match e {
            Error::TamperedResponse(why) => {
                Error::TamperedResponse(format!("câu {}: {why}", i + 1))
            }
            other => other,
        })?;
        match s {
            Some(v) => earned += v,
            None => manual_pending += 1,
        }
        max += q.points;
        per_question.push(s);
    }
    Ok(AttemptScore {
        per_question,
        earned: round(earned),
        max: round(max),
        manual_pending,
    })
}

/// Rounds to 1/10 000 of a point so sums print as teachers expect (0.1 + 0.25, not 0.35000000001).
pub fn round(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

fn tampered(why: &str) -> Error {
    Error::TamperedResponse(why.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Content, Criterion, Statement};

    fn single() -> Question {
        Question::new(
            "$2+2=$",
            QuestionKind::SingleChoice {
                options: ["3", "4", "5", "22"].map(Content::from).to_vec(),
                key: Some(1),
            },
        )
    }

    fn cluster() -> Question {
        let truths = [true, false, true, false];
        let mut q = Question::new(
            "Cho hàm số $f(x)=x^3-3x$.",
            QuestionKind::TrueFalseCluster {
                statements: truths
                    .iter()
                    .map(|t| Statement {
                        text: "ý".into(),
                        truth: Some(*t),
                    })
                    .collect(),
            },
        );
        q.points = 1.0;
        q
    }

    #[test]
    fn single_choice_is_all_or_nothing() {
        let q = single();
        assert_eq!(score(&q, Some(&Response::SingleChoice(1))), Ok(Some(1.0)));
        assert_eq!(score(&q, Some(&Response::SingleChoice(0))), Ok(Some(0.0)));
        assert_eq!(score(&q, None), Ok(Some(0.0)));
    }

    #[test]
    fn tampered_responses_are_refused() {
        let q = single();
        assert!(matches!(
            score(&q, Some(&Response::SingleChoice(9))),
            Err(Error::TamperedResponse(_))
        ));
        assert!(matches!(
            score(&q, Some(&Response::ShortAnswer("4".into()))),
            Err(Error::TamperedResponse(_))
        ));
        assert!(matches!(
            score(&cluster(), Some(&Response::TrueFalse(vec![Some(true); 5]))),
            Err(Error::TamperedResponse(_))
        ));
    }

    #[test]
    fn multiple_response_needs_the_exact_set() {
        let q = Question::new(
            "Số nguyên tố",
            QuestionKind::MultipleResponse {
                options: ["2", "3", "4", "9"].map(Content::from).to_vec(),
                keys: BTreeSet::from([0, 1]),
            },
        );
        assert_eq!(
            score(
                &q,
                Some(&Response::MultipleResponse(BTreeSet::from([0, 1])))
            ),
            Ok(Some(1.0))
        );
        assert_eq!(
            score(&q, Some(&Response::MultipleResponse(BTreeSet::from([0])))),
            Ok(Some(0.0))
        );
        assert_eq!(
            score(
                &q,
                Some(&Response::MultipleResponse(BTreeSet::from([0, 1, 2])))
            ),
            Ok(Some(0.0))
        );
        assert!(score(&q, Some(&Response::MultipleResponse(BTreeSet::from([7])))).is_err());
    }

    #[test]
    fn true_false_cluster_follows_the_2025_scale() {
        let q = cluster();
        // Key Đ S Đ S.
        let cases = [
            (vec![Some(false), Some(true), Some(false), Some(true)], 0.0),
            (vec![Some(true), Some(true), Some(false), Some(true)], 0.1),
            (vec![Some(true), Some(false), Some(false), None], 0.25),
            (vec![Some(true), Some(false), Some(true), Some(true)], 0.5),
            (vec![Some(true), Some(false), Some(true), Some(false)], 1.0),
        ];
        for (answers, expected) in cases {
            assert_eq!(
                score(&q, Some(&Response::TrueFalse(answers))),
                Ok(Some(expected))
            );
        }
        let mut double = cluster();
        double.points = 2.0;
        let three_right = Response::TrueFalse(vec![Some(true), Some(false), Some(true), None]);
        assert_eq!(score(&double, Some(&three_right)), Ok(Some(1.0)));
    }

    #[test]
    fn short_answers_accept_decimal_commas_and_folded_text() {
        let mut q = Question::new(
            "Tính",
            QuestionKind::ShortAnswer {
                key: Some(ShortKey::Numeric {
                    value: 2.5,
                    tolerance: 0.0,
                }),
            },
        );
        q.points = 0.25;
        assert_eq!(
            score(&q, Some(&Response::ShortAnswer("2,5".into()))),
            Ok(Some(0.25))
        );
        assert_eq!(
            score(&q, Some(&Response::ShortAnswer("2.5".into()))),
            Ok(Some(0.25))
        );
        assert_eq!(
            score(&q, Some(&Response::ShortAnswer("2,6".into()))),
            Ok(Some(0.0))
        );
        assert_eq!(
            score(&q, Some(&Response::ShortAnswer("hai".into()))),
            Ok(Some(0.0))
        );
        let tol = Question::new(
            "Đo",
            QuestionKind::ShortAnswer {
                key: Some(ShortKey::Numeric {
                    value: 0.1,
                    tolerance: 0.05,
                }),
            },
        );
        assert_eq!(
            score(&tol, Some(&Response::ShortAnswer("0,15".into()))),
            Ok(Some(1.0))
        );
        let text = Question::new(
            "Thủ đô",
            QuestionKind::ShortAnswer {
                key: Some(ShortKey::Text {
                    accepted: vec!["Hà Nội".into(), "Thăng Long".into()],
                }),
            },
        );
        assert_eq!(
            score(&text, Some(&Response::ShortAnswer("  ha   NOI ".into()))),
            Ok(Some(1.0))
        );
        assert_eq!(
            score(&text, Some(&Response::ShortAnswer("thang long".into()))),
            Ok(Some(1.0))
        );
        assert_eq!(
            score(&text, Some(&Response::ShortAnswer("".into()))),
            Ok(Some(0.0))
        );
    }

    #[test]
    fn essays_wait_for_a_teacher_and_keyless_questions_are_errors() {
        let q = Question::new(
            "Viết",
            QuestionKind::Essay {
                rubric: vec![Criterion {
                    description: "Ý".into(),
                    max_points: 2.0,
                }],
            },
        );
        assert_eq!(score(&q, Some(&Response::Essay("bài".into()))), Ok(None));
        let nokey = Question::new(
            "?",
            QuestionKind::SingleChoice {
                options: ["a", "b"].map(Content::from).to_vec(),
                key: None,
            },
        );
        assert_eq!(
            score(&nokey, Some(&Response::SingleChoice(0))),
            Err(Error::NoKey)
        );
    }

    #[test]
    fn a_whole_attempt_adds_up() {
        let essay = Question::new("Viết", QuestionKind::Essay { rubric: vec![] });
        let qs = vec![single(), cluster(), essay];
        let rs = vec![
            Some(Response::SingleChoice(1)),
            Some(Response::TrueFalse(vec![
                Some(true),
                Some(false),
                None,
                None,
            ])),
            None,
        ];
        let a = score_attempt(&qs, &rs).unwrap();
        assert_eq!(a.per_question, vec![Some(1.0), Some(0.25), None]);
        assert_eq!((a.earned, a.max, a.manual_pending), (1.25, 3.0, 1));
        let err = score_attempt(&qs, &[Some(Response::SingleChoice(7)), None, None]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Bài làm không hợp lệ: câu 1: phương án không tồn tại"
        );
        assert!(score_attempt(&qs, &[]).is_err());
    }

    #[test]
    fn responses_serialise_for_the_answer_queue() {
        let r = Response::TrueFalse(vec![Some(true), None, Some(false), Some(true)]);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"type":"true_false","value":[true,null,false,true]}"#
        );
        assert_eq!(serde_json::from_str::<Response>(&json).unwrap(), r);
    }
}
