//! Reproducible shuffling: paper versions (mã đề) and per-student matrix draws from a `u64` seed.
//!
//! Everything is derived from ChaCha8 seeded with the exam's seed, and the Fisher–Yates shuffle is
//! written here rather than taken from `rand`, so a paper printed today can be regenerated
//! identically after a dependency upgrade (a complaint about a mark needs the exact paper).

use rand::RngCore;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use domain::text::fold;

use crate::Error;
use crate::model::{
    CognitiveLevel, Content, Exam, Question, QuestionKind, ShortKey, format_number, option_letter,
};
use crate::scoring::Response;

/// Options whose text refers to other options ("Cả A và B", "Tất cả đều đúng") must stay last,
/// or the paper stops making sense after shuffling.
pub fn is_anchored(option: &str) -> bool {
    let t = fold(option);
    let t = t.trim_end_matches(['.', '!', ' ']);
    const PREFIXES: [&str; 17] = [
        "tat ca",
        "ca a",
        "ca b",
        "ca c",
        "ca hai",
        "ca ba",
        "ca 2 ",
        "ca 3 ",
        "ca 4 ",
        "ca bon",
        "cac dap an tren",
        "cac phuong an tren",
        "khong co dap an",
        "khong co phuong an",
        "both of",
        "all of",
        "none of",
    ];
    const EXACT: [&str; 6] = [
        "none of the above",
        "none of these",
        "ca 3",
        "ca 4",
        "khong co",
        "khong phuong an nao",
    ];
    PREFIXES.iter().any(|p| t.starts_with(p))
        || EXACT.contains(&t)
        || (t.starts_with("ca ") && t.contains("deu"))
        || t.starts_with("cac phuong an tren")
        || t.ends_with("deu dung") && t.contains(" va ")
}

/// A uniform index below `n` (n > 0) from the stream: multiply-shift, bias below 2⁻³² for any
/// paper-sized `n`.
fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    ((rng.next_u32() as u64 * n as u64) >> 32) as usize
}

fn shuffle_in_place<T>(rng: &mut ChaCha8Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i + 1);
        items.swap(i, j);
    }
}

/// A stable 64-bit mix (SplitMix64), to derive independent seeds per version and per student.
pub fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed for one student, from the exam seed and a stable student id (FNV-1a of the id, so the
/// same student gets the same paper if they reload).
pub fn student_seed(exam_seed: u64, student_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in student_id.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(exam_seed, h)
}

/// What to shuffle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShuffleOptions {
    /// Shuffle questions inside each section (questions sharing a passage move together).
    pub questions: bool,
    /// Shuffle options of choice questions, anchored options kept last.
    pub options: bool,
}

impl Default for ShuffleOptions {
    fn default() -> Self {
        ShuffleOptions {
            questions: true,
            options: true,
        }
    }
}

/// One question as printed in a variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantItem {
    /// The section index in the exam.
    pub section: usize,
    /// The question's index inside its section in the original exam.
    pub original: usize,
    /// The question with options in displayed order and the key remapped.
    pub question: Question,
    /// For each displayed option, the original option index (empty for non-choice kinds).
    pub option_order: Vec<usize>,
}

impl VariantItem {
    /// Maps a response given on this printed paper back to the original question's indices, so
    /// one marking and one item analysis serve every version.
    pub fn to_original(&self, response: &Response) -> Result<Response, Error> {
        let map = |d: usize| {
            self.option_order
                .get(d)
                .copied()
                .ok_or_else(|| Error::TamperedResponse("phương án không tồn tại".into()))
        };
        Ok(match response {
            Response::SingleChoice(d) if !self.option_order.is_empty() => {
                Response::SingleChoice(map(*d)?)
            }
            Response::MultipleResponse(ds) if !self.option_order.is_empty() => {
                Response::MultipleResponse(ds.iter().map(|d| map(*d)).collect::<Result<_, _>>()?)
            }
            other => other.clone(),
        })
    }
}

/// One printed version of an exam.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// The version code printed on the paper (mã đề), such as 101.
    pub code: u32,
    /// Items per section, in displayed order.
    pub sections: Vec<Vec<VariantItem>>,
}

impl Variant {
    /// The answer key as printed: per section, per displayed number, e.g. "B", "ĐSĐS", "2,5".
    pub fn answer_key(&self) -> Vec<Vec<String>> {
        self.sections
            .iter()
            .map(|items| items.iter().map(|i| key_text(&i.question)).collect())
            .collect()
    }
}

/// The key of a question as printed in an answer table ("" for essays and missing keys); text
/// answers list every accepted variant separated by "; ", as the importers read them.
pub fn key_text(q: &Question) -> String {
    match &q.kind {
        QuestionKind::SingleChoice { key, .. } => key
            .map(|k| option_letter(k).to_string())
            .unwrap_or_default(),
        QuestionKind::MultipleResponse { keys, .. } => {
            keys.iter().map(|k| option_letter(*k)).collect()
        }
        QuestionKind::TrueFalseCluster { statements } => statements
            .iter()
            .map(|s| match s.truth {
                Some(true) => 'Đ',
                Some(false) => 'S',
                None => '?',
            })
            .collect(),
        QuestionKind::ShortAnswer { key } => match key {
            Some(ShortKey::Numeric { value, .. }) => format_number(*value),
            Some(ShortKey::Text { accepted }) => accepted.join("; "),
            None => String::new(),
        },
        QuestionKind::Essay { .. } => String::new(),
    }
}

/// Shuffles a question's options (anchored ones stay last, in their order) and remaps its key.
/// Returns the new question and the displayed → original order.
pub fn shuffle_options(q: &Question, rng: &mut ChaCha8Rng) -> (Question, Vec<usize>) {
    let Some(options) = q.kind.options() else {
        return (q.clone(), Vec::new());
    };
    let (mut free, anchored): (Vec<usize>, Vec<usize>) =
        (0..options.len()).partition(|i| !is_anchored(options[*i].as_str()));
    shuffle_in_place(rng, &mut free);
    let order: Vec<usize> = free.into_iter().chain(anchored).collect();
    let displayed: Vec<Content> = order.iter().map(|o| options[*o].clone()).collect();
    let new_index = |orig: usize| order.iter().position(|o| *o == orig);
    let kind = match &q.kind {
        QuestionKind::SingleChoice { key, .. } => QuestionKind::SingleChoice {
            options: displayed,
            key: key.and_then(new_index),
        },
        QuestionKind::MultipleResponse { keys, .. } => QuestionKind::MultipleResponse {
            options: displayed,
            keys: keys.iter().filter_map(|k| new_index(*k)).collect(),
        },
        other => other.clone(),
    };
    (Question { kind, ..q.clone() }, order)
}

/// Builds one version. Statements of true/false clusters are not shuffled: they often build on
/// each other ("a) … b) Từ đó suy ra …").
pub fn make_variant(exam: &Exam, seed: u64, code: u32, opts: ShuffleOptions) -> Variant {
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, code as u64));
    let mut sections = Vec::new();
    for (si, section) in exam.sections.iter().enumerate() {
        // Blocks: runs of consecutive questions on the same passage stay together and in order.
        let mut blocks: Vec<Vec<usize>> = Vec::new();
        for (i, q) in section.questions.iter().enumerate() {
            match blocks.last_mut() {
                Some(b) if q.passage.is_some() && section.questions[b[0]].passage == q.passage => {
                    b.push(i)
                }
                _ => blocks.push(vec![i]),
            }
        }
        if opts.questions {
            shuffle_in_place(&mut rng, &mut blocks);
        }
        let items = blocks
            .into_iter()
            .flatten()
            .map(|i| {
                let q = &section.questions[i];
                let (question, option_order) = if opts.options {
                    shuffle_options(q, &mut rng)
                } else {
                    let n = q.kind.options().map_or(0, <[Content]>::len);
                    (q.clone(), (0..n).collect())
                };
                VariantItem {
                    section: si,
                    original: i,
                    question,
                    option_order,
                }
            })
            .collect();
        sections.push(items);
    }
    Variant { code, sections }
}

/// Builds the versions `codes` (e.g. 101..=104) from one seed.
pub fn make_versions(exam: &Exam, seed: u64, codes: &[u32], opts: ShuffleOptions) -> Vec<Variant> {
    codes
        .iter()
        .map(|c| make_variant(exam, seed, *c, opts))
        .collect()
}

/// One row of a test matrix: how many questions of a topic at a level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixRow {
    /// The topic, compared accent-insensitively with [`crate::model::Metadata::topic`].
    pub topic: String,
    /// The level.
    pub level: CognitiveLevel,
    /// How many questions to draw.
    pub count: usize,
}

/// Draws questions from `pool` for every row of `matrix`, returning pool indices in matrix order
/// (rows first, random inside a row). No question is drawn twice even if rows overlap.
pub fn draw(pool: &[Question], matrix: &[MatrixRow], seed: u64) -> Result<Vec<usize>, Error> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut taken = vec![false; pool.len()];
    let mut out = Vec::new();
    for row in matrix {
        let topic = fold(&row.topic);
        let mut candidates: Vec<usize> = (0..pool.len())
            .filter(|i| {
                let m = &pool[*i].meta;
                !taken[*i]
                    && m.level == Some(row.level)
                    && m.topic.as_deref().map(fold).as_deref() == Some(topic.as_str())
            })
            .collect();
        if candidates.len() < row.count {
            return Err(Error::MatrixShort {
                topic: row.topic.clone(),
                level: row.level.label().to_owned(),
                needed: row.count,
                available: candidates.len(),
            });
        }
        shuffle_in_place(&mut rng, &mut candidates);
        for i in candidates.into_iter().take(row.count) {
            taken[i] = true;
            out.push(i);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Section, Statement};
    use crate::scoring::score;

    fn choice(stem: &str, opts: &[&str], key: usize) -> Question {
        Question::new(
            stem,
            QuestionKind::SingleChoice {
                options: opts.iter().map(|o| Content::from(*o)).collect(),
                key: Some(key),
            },
        )
    }

    fn exam() -> Exam {
        let mut part1: Vec<Question> = (0..8)
            .map(|i| choice(&format!("Câu gốc {i}"), &["một", "hai", "ba", "bốn"], i % 4))
            .collect();
        part1[2].passage = Some("p1".into());
        part1[3].passage = Some("p1".into());
        part1.push(choice(
            "Chọn đúng",
            &["Mèo là thú", "Cá là thú", "Chim có lông", "Tất cả đều đúng"],
            3,
        ));
        let tf = Question::new(
            "Cho $f(x)=x^2$",
            QuestionKind::TrueFalseCluster {
                statements: [true, false, true, true]
                    .iter()
                    .map(|t| Statement {
                        text: "ý".into(),
                        truth: Some(*t),
                    })
                    .collect(),
            },
        );
        Exam {
            title: "Kiểm tra".into(),
            sections: vec![
                Section {
                    title: "PHẦN I".into(),
                    questions: part1,
                },
                Section {
                    title: "PHẦN II".into(),
                    questions: vec![tf.clone(), tf],
                },
            ],
            ..Exam::default()
        }
    }

    #[test]
    fn anchored_options_are_recognised_without_accents() {
        for t in [
            "Tất cả đều đúng",
            "tat ca deu sai.",
            "Cả A và B",
            "Cả A, B, C đều đúng",
            "Không có đáp án nào đúng",
            "All of the above",
            "Both of the above",
            "Cả hai đáp án trên",
            "Cả 3 đáp án trên",
            "Các đáp án trên đều đúng",
            "None of the above",
        ] {
            assert!(is_anchored(t), "{t}");
        }
        for t in ["Cá", "Tất nhiên", "$x=2$", "Hà Nội"] {
            assert!(!is_anchored(t), "{t}");
        }
        assert!(!is_anchored("Cá là thú"));
    }

    #[test]
    fn variants_are_reproducible_and_differ_by_code() {
        let e = exam();
        let a = make_variant(&e, 42, 101, ShuffleOptions::default());
        assert_eq!(a, make_variant(&e, 42, 101, ShuffleOptions::default()));
        let b = make_variant(&e, 42, 102, ShuffleOptions::default());
        assert_ne!(a.answer_key(), b.answer_key());
    }

    #[test]
    fn keys_follow_their_options_and_anchors_stay_last() {
        let e = exam();
        for v in make_versions(&e, 7, &[101, 102, 103, 104], ShuffleOptions::default()) {
            for item in &v.sections[0] {
                let orig = &e.sections[0].questions[item.original];
                let (
                    QuestionKind::SingleChoice {
                        options: o1,
                        key: Some(k1),
                    },
                    QuestionKind::SingleChoice {
                        options: o2,
                        key: Some(k2),
                    },
                ) = (&orig.kind, &item.question.kind)
                else {
                    panic!("kind changed")
                };
                assert_eq!(o1[*k1], o2[*k2]);
                for (d, o) in item.option_order.iter().enumerate() {
                    assert_eq!(o2[d], o1[*o]);
                }
                if orig.stem.as_str() == "Chọn đúng" {
                    assert_eq!(o2[3].as_str(), "Tất cả đều đúng");
                }
                // The right answer on the printed paper scores on the original question.
                let back = item.to_original(&Response::SingleChoice(*k2)).unwrap();
                assert_eq!(score(orig, Some(&back)), Ok(Some(1.0)));
            }
            // Questions on a shared passage remain adjacent and ordered.
            let pos: Vec<usize> = v.sections[0].iter().map(|i| i.original).collect();
            let p2 = pos.iter().position(|o| *o == 2).unwrap();
            assert_eq!(pos[p2 + 1], 3);
            // Sections keep their own questions.
            assert!(v.sections[1].iter().all(|i| i.section == 1));
            assert_eq!(v.answer_key()[1], vec!["ĐSĐĐ", "ĐSĐĐ"]);
        }
    }

    #[test]
    fn tampered_displayed_indices_are_refused() {
        let v = make_variant(&exam(), 1, 101, ShuffleOptions::default());
        assert!(
            v.sections[0][0]
                .to_original(&Response::SingleChoice(9))
                .is_err()
        );
    }

    fn pool() -> Vec<Question> {
        let mut p = Vec::new();
        for (topic, level, n) in [
            ("Hàm số", CognitiveLevel::NhanBiet, 5),
            ("Hàm số", CognitiveLevel::VanDung, 2),
            ("Hình học", CognitiveLevel::ThongHieu, 4),
        ] {
            for i in 0..n {
                let mut q = choice(&format!("{topic} {i}"), &["1", "2"], 0);
                q.meta.topic = Some(topic.into());
                q.meta.level = Some(level);
                p.push(q);
            }
        }
        p
    }

    #[test]
    fn matrix_draws_are_deterministic_per_student() {
        let p = pool();
        let m = vec![
            MatrixRow {
                topic: "ham so".into(),
                level: CognitiveLevel::NhanBiet,
                count: 3,
            },
            MatrixRow {
                topic: "Hình học".into(),
                level: CognitiveLevel::ThongHieu,
                count: 2,
            },
        ];
        let a = draw(&p, &m, student_seed(9, "HS001")).unwrap();
        assert_eq!(a, draw(&p, &m, student_seed(9, "HS001")).unwrap());
        assert_eq!(a.len(), 5);
        assert!(
            a[..3]
                .iter()
                .all(|i| p[*i].meta.level == Some(CognitiveLevel::NhanBiet))
        );
        assert!(
            a[3..]
                .iter()
                .all(|i| p[*i].meta.topic.as_deref() == Some("Hình học"))
        );
        let others: Vec<Vec<usize>> = (0..10)
            .map(|s| draw(&p, &m, student_seed(9, &format!("HS{s:03}"))).unwrap())
            .collect();
        assert!(
            others.iter().any(|o| *o != a),
            "students should not all get the same set"
        );
    }

    #[test]
    fn a_short_pool_is_reported_in_vietnamese() {
        let m = vec![MatrixRow {
            topic: "Hàm số".into(),
            level: CognitiveLevel::VanDung,
            count: 3,
        }];
        let err = draw(&pool(), &m, 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Ma trận: chủ đề Hàm số, mức Vận dụng cần 3 câu, ngân hàng chỉ có 2"
        );
    }
}
