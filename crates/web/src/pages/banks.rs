//! Question banks (ngân hàng câu hỏi): personal, subject-group and school banks; import from
//! Word, GIFT, Aiken and Moodle XML with a preview before anything is saved; near-duplicate
//! detection; editing with a version history; retiring; the group head's approval; export to
//! Word and Moodle XML. The same import path serves `lophoc import questions`.
//!
//! Import keeps the uploaded file in the file store between the preview and the confirmation
//! (under a key built on the server from the school, bank, user and a random token), parses it
//! again on confirm and deletes it afterwards, so nothing but the token crosses the browser.

use super::school_for;
use crate::AppState;
use crate::auth::Session;
use crate::error::{Form, WebError, WebResult};
use crate::view::{Ctx, format_ms, render};
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use db::Db;
use db::banks::{Bank, BankQuestion, BankScope, NewAsset, NewQuestion, QuestionFilter};
use db::org::School;
use domain::Id;
use domain::auth::{Action, Role};
use domain::text::fold;
use exam::import::{ImportReport, KindCounts};
use exam::model::{
    Asset, CognitiveLevel, Content, KindTag, Question, QuestionKind, Segment, ShortKey, Statement,
    option_index, option_letter,
};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Largest question file accepted (Word files with images included).
pub const MAX_IMPORT_BYTES: usize = 30 * 1024 * 1024;
/// Questions on one page of a bank.
pub const PAGE_SIZE: i64 = 50;
/// Word 3-gram Jaccard similarity from which two questions count as near duplicates.
pub const NEAR_DUPLICATE: f64 = 0.9;

/// Routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schools/{id}/banks", get(banks_page).post(create_bank))
        .route("/schools/{id}/bank-template.docx", get(template))
        .route("/schools/{id}/banks/{b}", get(bank_page))
        .route(
            "/schools/{id}/banks/{b}/import",
            post(import_preview).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES + 1024 * 1024)),
        )
        .route(
            "/schools/{id}/banks/{b}/import/confirm",
            post(import_confirm),
        )
        .route("/schools/{id}/banks/{b}/export.docx", get(export_docx))
        .route("/schools/{id}/banks/{b}/export.xml", get(export_xml))
        .route(
            "/schools/{id}/banks/{b}/questions/{q}",
            get(question_page).post(save_question),
        )
        .route(
            "/schools/{id}/banks/{b}/questions/{q}/status",
            post(question_status),
        )
}

// ----- codes and labels -----

/// The stored code of a kind.
pub fn kind_code(k: KindTag) -> &'static str {
    match k {
        KindTag::SingleChoice => "single_choice",
        KindTag::MultipleResponse => "multiple_response",
        KindTag::TrueFalseCluster => "true_false",
        KindTag::ShortAnswer => "short_answer",
        KindTag::Essay => "essay",
    }
}

/// The Vietnamese name of a kind, as counts print it.
pub fn kind_label(code: &str) -> &'static str {
    match code {
        "single_choice" => "trắc nghiệm một lựa chọn",
        "multiple_response" => "trắc nghiệm nhiều đáp án",
        "true_false" => "đúng/sai",
        "short_answer" => "trả lời ngắn",
        "essay" => "tự luận",
        _ => "khác",
    }
}

const KINDS: [&str; 5] = [
    "single_choice",
    "multiple_response",
    "true_false",
    "short_answer",
    "essay",
];

/// The stored code of a cognitive level.
pub fn level_code(l: CognitiveLevel) -> &'static str {
    match l {
        CognitiveLevel::NhanBiet => "nhan_biet",
        CognitiveLevel::ThongHieu => "thong_hieu",
        CognitiveLevel::VanDung => "van_dung",
        CognitiveLevel::VanDungCao => "van_dung_cao",
    }
}

fn level_from_code(s: &str) -> Option<CognitiveLevel> {
    CognitiveLevel::ALL
        .into_iter()
        .find(|l| level_code(*l) == s)
}

fn status_label(s: &str) -> &'static str {
    match s {
        "active" => "Đang dùng",
        "in_review" => "Chờ tổ trưởng duyệt",
        "retired" => "Đã ngừng dùng",
        _ => "Khác",
    }
}

const STATUSES: [&str; 3] = ["active", "in_review", "retired"];

/// "12 câu: 8 trắc nghiệm một lựa chọn, 2 đúng/sai, 2 trả lời ngắn" (kinds with none left out).
pub fn counts_text(c: &KindCounts) -> String {
    let parts: Vec<String> = [
        (c.single_choice, "single_choice"),
        (c.multiple_response, "multiple_response"),
        (c.true_false, "true_false"),
        (c.short_answer, "short_answer"),
        (c.essay, "essay"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, k)| format!("{n} {}", kind_label(k)))
    .collect();
    let total = c.single_choice + c.multiple_response + c.true_false + c.short_answer + c.essay;
    if parts.is_empty() {
        format!("{total} câu")
    } else {
        format!("{total} câu: {}", parts.join(", "))
    }
}

fn count(c: &mut KindCounts, k: KindTag) {
    match k {
        KindTag::SingleChoice => c.single_choice += 1,
        KindTag::MultipleResponse => c.multiple_response += 1,
        KindTag::TrueFalseCluster => c.true_false += 1,
        KindTag::ShortAnswer => c.short_answer += 1,
        KindTag::Essay => c.essay += 1,
    }
}

// ----- text helpers -----

/// Content as plain text for lists: images become "[hình]", maths stays as `$…$`.
fn plain(c: &Content) -> String {
    c.segments()
        .into_iter()
        .map(|s| match s {
            Segment::Text(t) => t.to_owned(),
            Segment::Math(m) => format!("${m}$"),
            Segment::Image(_) => "[hình]".to_owned(),
        })
        .collect()
}

/// Content without its images, for search and duplicate checks (image ids change on import).
fn without_images(c: &Content) -> String {
    c.segments()
        .into_iter()
        .map(|s| match s {
            Segment::Text(t) => t.to_owned(),
            Segment::Math(m) => format!("${m}$"),
            Segment::Image(_) => " ".to_owned(),
        })
        .collect()
}

/// A stem for the import preview, as HTML: equations rendered as students will see them (the
/// teacher checks that Word's equations came through), images as "[hình]" (not stored yet),
/// plain text shortened. Also says whether there was math.
fn preview_stem(c: &Content) -> (String, bool) {
    let segments = c.segments();
    if !segments.iter().any(|s| matches!(s, Segment::Math(_))) {
        return (
            super::exams::content_html(&Content(shorten(&plain(c), 160)), ""),
            false,
        );
    }
    let text: String = segments
        .into_iter()
        .map(|s| match s {
            Segment::Text(t) => t.to_owned(),
            Segment::Math(m) => format!("${m}$"),
            Segment::Image(_) => "[hình]".to_owned(),
        })
        .collect();
    (super::exams::content_html(&Content(text), ""), true)
}

fn shorten(s: &str, max: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= max {
        s
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// The accent-folded text of a question (stem, options, statements) stored for search and
/// near-duplicate detection.
pub fn question_text(q: &Question) -> String {
    let mut parts = vec![without_images(&q.stem)];
    match &q.kind {
        QuestionKind::SingleChoice { options, .. }
        | QuestionKind::MultipleResponse { options, .. } => {
            parts.extend(options.iter().map(without_images));
        }
        QuestionKind::TrueFalseCluster { statements } => {
            parts.extend(statements.iter().map(|s| without_images(&s.text)));
        }
        _ => {}
    }
    fold(&parts.join(" "))
}

/// The key as a teacher reads it: "B", "A, C", "Đ S Đ Đ", "2,5".
pub fn key_text(q: &Question) -> String {
    match &q.kind {
        QuestionKind::SingleChoice { key, .. } => key.map(|k| option_letter(k).to_string()),
        QuestionKind::MultipleResponse { keys, .. } => (!keys.is_empty()).then(|| {
            keys.iter()
                .map(|k| option_letter(*k).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }),
        QuestionKind::TrueFalseCluster { statements } => Some(
            statements
                .iter()
                .map(|s| match s.truth {
                    Some(true) => "Đ",
                    Some(false) => "S",
                    None => "?",
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        QuestionKind::ShortAnswer { key } => key.as_ref().map(|k| match k {
            ShortKey::Numeric { value, tolerance } if *tolerance > 0.0 => format!(
                "{} ± {}",
                exam::model::format_number(*value),
                exam::model::format_number(*tolerance)
            ),
            ShortKey::Numeric { value, .. } => exam::model::format_number(*value),
            ShortKey::Text { accepted } => accepted.join("; "),
        }),
        QuestionKind::Essay { rubric } => Some(format!("{} tiêu chí chấm", rubric.len())),
    }
    .unwrap_or_else(|| "—".into())
}

fn shingles(text: &str) -> HashSet<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() < 3 {
        return std::iter::once(words.join(" ")).collect();
    }
    words.windows(3).map(|w| w.join(" ")).collect()
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let inter = a.intersection(b).count();
    let union = a.len() + b.len() - inter;
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

// ----- reading files -----

/// Reads an uploaded question file: Word (.docx), GIFT or Aiken (.txt, told apart by their
/// content) or Moodle XML (.xml). A file that cannot be read at all is an `Err` with a
/// Vietnamese message; problems of single questions are in the report.
pub fn read_file(name: &str, bytes: &[u8]) -> Result<ImportReport, String> {
    let lower = name.to_lowercase();
    let ext = lower.rsplit('.').next().unwrap_or("");
    let fail = |e: &dyn std::fmt::Display| format!("Không nhập được tệp \"{name}\": {e}");
    match ext {
        "docx" | "docm" => exam::docx::import(bytes).map_err(|e| fail(&e)),
        "txt" | "gift" | "xml" => {
            let text = std::str::from_utf8(bytes).map_err(|_| {
                fail(&"tệp không phải văn bản UTF-8 (hãy lưu lại với mã hoá UTF-8)")
            })?;
            let text = text.trim_start_matches('\u{feff}');
            if ext == "xml" || text.trim_start().starts_with('<') {
                return Ok(exam::moodle_xml::import(text));
            }
            if is_aiken(text) {
                Ok(exam::aiken::import(text))
            } else {
                Ok(exam::gift::import(text))
            }
        }
        _ => Err(format!(
            "Tệp \"{name}\" không đúng loại: hãy chọn tệp Word (.docx), văn bản GIFT/Aiken (.txt) hoặc Moodle XML (.xml)."
        )),
    }
}

/// Aiken has "ANSWER: X" lines and none of GIFT's braces.
fn is_aiken(text: &str) -> bool {
    let answers = text.lines().any(|l| {
        let u = l.trim().to_uppercase();
        u.starts_with("ANSWER:") || u.starts_with("ĐÁP ÁN:")
    });
    answers && !(text.contains('{') && text.contains('}'))
}

// ----- the import plan -----

/// Whether a question repeats one already in the bank (or earlier in the same file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicate {
    /// New.
    No,
    /// Very similar (word 3-grams Jaccard ≥ [`NEAR_DUPLICATE`]): saved, but flagged.
    Near,
    /// The same text: skipped unless the teacher asks to import anyway.
    Exact,
}

/// One question of a file, checked.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The number in the file.
    pub number: usize,
    /// The part it was found under ("PHẦN II"), shortened.
    pub section: String,
    /// The question, with a shared passage written into its stem.
    pub question: Question,
    /// Things to check.
    pub warnings: Vec<String>,
    /// Why it cannot be saved ("Câu 3: không có đáp án đúng"); empty when valid.
    pub errors: Vec<String>,
    /// Duplicate status.
    pub duplicate: Duplicate,
    /// Folded text.
    pub text_folded: String,
}

/// A file read and checked against a bank, before saving.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Every question read.
    pub questions: Vec<Planned>,
    /// Every problem, question by question ("Câu 3: …") and for the file.
    pub errors: Vec<String>,
    /// Counts by kind of the questions read.
    pub counts: KindCounts,
    /// Images.
    pub assets: Vec<Asset>,
}

fn short_section(s: &Option<String>) -> String {
    let s = s.as_deref().unwrap_or("").trim();
    s.split(['.', ':']).next().unwrap_or("").trim().to_owned()
}

fn with_section(msg: String, section: &str) -> String {
    if section.is_empty() {
        msg
    } else {
        format!("{msg} ({section})")
    }
}

/// Checks an import report against the folded texts already in a bank.
pub fn plan(report: ImportReport, existing: &[String]) -> Plan {
    let mut out = Plan {
        counts: report.counts,
        assets: report.assets,
        ..Plan::default()
    };
    for e in &report.errors {
        out.errors.push(match e.number {
            Some(n) if !e.message.starts_with("Câu") => format!("Câu {n}: {}", e.message),
            _ => e.message.clone(),
        });
    }
    let passages: HashMap<String, Content> = report
        .passages
        .into_iter()
        .map(|p| (p.id, p.content))
        .collect();
    let old: Vec<HashSet<String>> = existing.iter().map(|t| shingles(t)).collect();
    let exact_old: HashSet<&str> = existing.iter().map(String::as_str).collect();
    let mut seen: Vec<(String, HashSet<String>)> = Vec::new();
    for iq in report.questions {
        let mut q = iq.question;
        // The schema has no passages: the shared text goes into each question's stem.
        if let Some(pid) = q.passage.take()
            && let Some(p) = passages.get(&pid)
        {
            q.stem = Content(format!("{}\n\n{}", p.as_str(), q.stem.as_str()));
        }
        let section = short_section(&iq.section);
        let errors: Vec<String> = match q.validate(iq.number) {
            Ok(()) => vec![],
            Err(es) => es
                .into_iter()
                .map(|e| with_section(e.to_string(), &section))
                .collect(),
        };
        out.errors.extend(errors.iter().cloned());
        let text = question_text(&q);
        let sh = shingles(&text);
        let duplicate = if exact_old.contains(text.as_str()) || seen.iter().any(|(t, _)| *t == text)
        {
            Duplicate::Exact
        } else if old.iter().any(|o| jaccard(o, &sh) >= NEAR_DUPLICATE)
            || seen.iter().any(|(_, o)| jaccard(o, &sh) >= NEAR_DUPLICATE)
        {
            Duplicate::Near
        } else {
            Duplicate::No
        };
        // Warnings about a missing key repeat what the errors say.
        let warnings = if errors.is_empty() {
            iq.warnings
        } else {
            iq.warnings
                .into_iter()
                .filter(|w| !w.contains("không tìm thấy đáp án"))
                .collect()
        };
        seen.push((text.clone(), sh));
        out.questions.push(Planned {
            number: iq.number,
            section,
            question: q,
            warnings,
            errors,
            duplicate,
            text_folded: text,
        });
    }
    out
}

impl Plan {
    /// The questions a save takes: valid ones, without exact duplicates unless `force`.
    pub fn to_save(&self, force: bool) -> impl Iterator<Item = &Planned> {
        self.questions
            .iter()
            .filter(move |p| p.errors.is_empty() && (force || p.duplicate != Duplicate::Exact))
    }

    /// Exact duplicates.
    pub fn exact_duplicates(&self) -> usize {
        self.questions
            .iter()
            .filter(|p| p.errors.is_empty() && p.duplicate == Duplicate::Exact)
            .count()
    }

    /// Questions that cannot be saved.
    pub fn invalid(&self) -> usize {
        self.questions
            .iter()
            .filter(|p| !p.errors.is_empty())
            .count()
    }
}

/// What a save did.
#[derive(Debug, Clone, Default)]
pub struct Saved {
    /// Questions saved, by kind.
    pub counts: KindCounts,
    /// Exact duplicates skipped.
    pub duplicates: usize,
    /// Invalid questions skipped.
    pub invalid: usize,
}

fn ext_of(id: &str) -> String {
    let e = id.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    if id.contains('.')
        && !e.is_empty()
        && e.len() <= 5
        && e.chars().all(|c| c.is_ascii_alphanumeric())
    {
        format!(".{e}")
    } else {
        String::new()
    }
}

/// Saves the questions of a plan to a bank in one transaction. Images get fresh ids (two Word
/// files both have an `image1.png`), go to the file store first and are removed again if the
/// transaction fails.
pub async fn save_plan(
    db: &Db,
    storage: &media::Storage,
    bank: &Bank,
    plan: &Plan,
    force: bool,
    status: &str,
    actor: Id,
) -> Result<Saved, WebError> {
    let chosen: Vec<&Planned> = plan.to_save(force).collect();
    let by_id: HashMap<&str, &Asset> = plan.assets.iter().map(|a| (a.id.as_str(), a)).collect();
    let mut renamed: HashMap<String, String> = HashMap::new();
    let mut rows = Vec::with_capacity(chosen.len());
    let mut counts = KindCounts::default();
    for p in &chosen {
        let mut body =
            serde_json::to_string(&p.question).map_err(|e| WebError::Internal(e.into()))?;
        let mut ids: Vec<String> = Vec::new();
        for c in exam_contents(&p.question) {
            for id in c.image_ids() {
                ids.push(id.to_owned());
            }
        }
        for id in ids {
            if !by_id.contains_key(id.as_str()) {
                continue;
            }
            let new = renamed
                .entry(id.clone())
                .or_insert_with(|| format!("{}{}", uuid::Uuid::now_v7().simple(), ext_of(&id)))
                .clone();
            let from = serde_json::to_string(&Content::image_ref(&id)).unwrap_or_default();
            let to = serde_json::to_string(&Content::image_ref(&new)).unwrap_or_default();
            // Both are JSON strings: replace the reference inside every string of the body.
            body = body.replace(from.trim_matches('"'), to.trim_matches('"'));
        }
        count(&mut counts, p.question.kind.tag());
        let m = &p.question.meta;
        rows.push(NewQuestion {
            kind: kind_code(p.question.kind.tag()).to_owned(),
            body,
            text_folded: p.text_folded.clone(),
            subject: m.subject.clone().unwrap_or_default(),
            grade: m.grade.map(i64::from),
            topic: m.topic.clone().unwrap_or_default(),
            level: m.level.map(level_code).unwrap_or("").to_owned(),
            tags: m.tags.join(", "),
            status: status.to_owned(),
        });
    }
    let mut assets = Vec::new();
    for (old, new) in &renamed {
        let a = by_id[old.as_str()];
        let key = format!("banks/{}/{}/{new}", bank.school_id, bank.id);
        if let Err(e) = storage.put(&key, a.bytes.clone()).await {
            remove_all(storage, &assets).await;
            return Err(WebError::Internal(e.into()));
        }
        assets.push(NewAsset {
            asset_id: new.clone(),
            storage_key: key,
            content_type: a.mime.clone(),
            size: a.bytes.len() as i64,
        });
    }
    if !rows.is_empty()
        && let Err(e) = db.add_questions(bank, &rows, &assets, actor).await
    {
        remove_all(storage, &assets).await;
        return Err(e.into());
    }
    Ok(Saved {
        counts,
        duplicates: if force { 0 } else { plan.exact_duplicates() },
        invalid: plan.invalid(),
    })
}

async fn remove_all(storage: &media::Storage, assets: &[NewAsset]) {
    for a in assets {
        let _ = storage.delete(&a.storage_key).await;
    }
}

/// Every piece of content of a question.
fn exam_contents(q: &Question) -> Vec<&Content> {
    let mut v = vec![&q.stem];
    if let Some(e) = &q.explanation {
        v.push(e);
    }
    match &q.kind {
        QuestionKind::SingleChoice { options, .. }
        | QuestionKind::MultipleResponse { options, .. } => v.extend(options.iter()),
        QuestionKind::TrueFalseCluster { statements } => {
            v.extend(statements.iter().map(|s| &s.text))
        }
        _ => {}
    }
    v
}

// ----- access -----

/// The reader at a school: their subject group and roles that matter for banks.
struct Access {
    school: School,
    user: Id,
    group: String,
    manager: bool,
    head: bool,
}

async fn access(state: &AppState, s: &Session, id: Id) -> WebResult<Access> {
    let school = school_for(state, s, id, Action::AuthorMaterials).await?;
    let group = state
        .db
        .staff_by_user(school.id, s.user.id)
        .await?
        .map(|m| m.subject_group)
        .unwrap_or_default();
    let role = |r: Role| {
        s.actor
            .grants
            .iter()
            .any(|g| g.school_id == Some(school.id) && g.role == r)
    };
    Ok(Access {
        manager: s.actor.can(
            Action::ManageSchool,
            domain::auth::Target::School(&school.as_ref()),
        ),
        head: role(Role::GroupHead),
        group,
        user: s.user.id,
        school,
    })
}

impl Access {
    fn sees(&self, b: &Bank) -> bool {
        match b.scope {
            BankScope::Personal => b.owner_id == self.user,
            BankScope::Group => {
                b.owner_id == self.user || (!self.group.is_empty() && self.group == b.subject_group)
            }
            BankScope::School => true,
        }
    }

    fn edits(&self, b: &Bank) -> bool {
        match b.scope {
            BankScope::Personal => b.owner_id == self.user,
            BankScope::Group => self.sees(b),
            BankScope::School => self.manager || self.head,
        }
    }

    /// The head of a group bank's subject group.
    fn heads(&self, b: &Bank) -> bool {
        b.scope == BankScope::Group && self.head && self.group == b.subject_group
    }

    /// The status of a question this reader adds or changes.
    fn new_status(&self, b: &Bank) -> &'static str {
        if b.scope == BankScope::Group && !self.heads(b) {
            "in_review"
        } else {
            "active"
        }
    }
}

async fn bank_for(state: &AppState, a: &Access, id: Id) -> WebResult<Bank> {
    let b = state.db.bank(a.school.id, id).await?;
    if !a.sees(&b) {
        return Err(WebError::NotFound);
    }
    Ok(b)
}

// ----- banks -----

struct BankRow {
    bank: Bank,
    scope: &'static str,
}

#[derive(Template)]
#[template(path = "banks.html")]
struct BanksPage {
    ctx: Ctx,
    school: School,
    banks: Vec<BankRow>,
    scopes: Vec<(&'static str, &'static str)>,
}

async fn banks_page(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Html<String>> {
    let a = access(&state, &s, id).await?;
    let banks = state
        .db
        .banks(a.school.id)
        .await?
        .into_iter()
        .filter(|b| a.sees(b))
        .map(|bank| BankRow {
            scope: bank.scope.label(),
            bank,
        })
        .collect();
    let scopes = BankScope::ALL
        .into_iter()
        .filter(|sc| match sc {
            BankScope::Personal => true,
            BankScope::Group => !a.group.is_empty(),
            BankScope::School => a.manager || a.head,
        })
        .map(|sc| (sc.code(), sc.label()))
        .collect();
    render(&BanksPage {
        ctx: Ctx::new(&s, s.lang.t("banks-title")).with_help("ngan-hang-cau-hoi"),
        school: a.school,
        banks,
        scopes,
    })
}

#[derive(Deserialize)]
struct NewBankForm {
    name: String,
    scope: String,
}

async fn create_bank(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
    Form(f): Form<NewBankForm>,
) -> WebResult<Redirect> {
    let a = access(&state, &s, id).await?;
    let name = domain::text::normalize_spaces(f.name.trim());
    if name.is_empty() || name.chars().count() > 150 {
        return Err(WebError::BadRequest(
            "Tên ngân hàng phải có từ 1 đến 150 ký tự.".into(),
        ));
    }
    let scope = BankScope::from_code(f.scope.trim())
        .ok_or_else(|| WebError::BadRequest("Phạm vi ngân hàng không hợp lệ.".into()))?;
    let group = match scope {
        BankScope::Personal => String::new(),
        BankScope::Group => {
            if a.group.is_empty() {
                return Err(WebError::BadRequest(
                    "Bạn chưa thuộc tổ chuyên môn nào nên chưa tạo được ngân hàng của tổ.".into(),
                ));
            }
            a.group.clone()
        }
        BankScope::School => {
            if !(a.manager || a.head) {
                return Err(WebError::Forbidden);
            }
            String::new()
        }
    };
    let bid = state
        .db
        .create_bank(a.school.id, s.user.id, scope, &group, &name)
        .await?;
    Ok(Redirect::to(&format!("/schools/{id}/banks/{bid}")))
}

async fn template(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<Id>,
) -> WebResult<Response> {
    access(&state, &s, id).await?;
    Ok(download(
        exam::docx::template_docx(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "mau-ngan-hang-cau-hoi.docx",
    ))
}

fn download(bytes: Vec<u8>, ctype: &str, file_name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, ctype.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

// ----- one bank -----

struct QuestionRow {
    id: Id,
    kind: &'static str,
    stem: String,
    key: String,
    meta: String,
    status: String,
    status_label: &'static str,
    version: i64,
}

fn meta_text(topic: &str, level: &str, grade: Option<i64>) -> String {
    let mut parts = Vec::new();
    if !topic.is_empty() {
        parts.push(topic.to_owned());
    }
    if let Some(l) = level_from_code(level) {
        parts.push(l.label().to_owned());
    }
    if let Some(g) = grade {
        parts.push(format!("Khối {g}"));
    }
    parts.join(" · ")
}

fn row_of(q: &BankQuestion) -> QuestionRow {
    let parsed: Option<Question> = serde_json::from_str(&q.body).ok();
    QuestionRow {
        id: q.id,
        kind: kind_label(&q.kind),
        stem: parsed
            .as_ref()
            .map(|p| shorten(&plain(&p.stem), 160))
            .unwrap_or_default(),
        key: parsed.as_ref().map(key_text).unwrap_or_default(),
        meta: meta_text(&q.topic, &q.level, q.grade),
        status: q.status.clone(),
        status_label: status_label(&q.status),
        version: q.version,
    }
}

#[derive(Template)]
#[template(path = "bank.html")]
struct BankPage {
    ctx: Ctx,
    school: School,
    bank: Bank,
    scope: &'static str,
    rows: Vec<QuestionRow>,
    total: i64,
    page: i64,
    pages: i64,
    prev: Option<String>,
    next: Option<String>,
    q: BankQuery,
    kinds: Vec<(&'static str, &'static str)>,
    levels: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    topics: Vec<String>,
    can_edit: bool,
    can_approve: bool,
}

#[derive(Deserialize, Default, Clone)]
struct BankQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    grade: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    saved: String,
    #[serde(default)]
    skipped: String,
}

impl BankQuery {
    fn link(&self, page: i64) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("q", &self.q),
            ("kind", &self.kind),
            ("topic", &self.topic),
            ("level", &self.level),
            ("grade", &self.grade),
            ("status", &self.status),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", urlencode(v)));
            }
        }
        parts.push(format!("page={page}"));
        format!("?{}", parts.join("&"))
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

async fn bank_page(
    State(state): State<AppState>,
    s: Session,
    Path((id, bid)): Path<(Id, Id)>,
    Query(q): Query<BankQuery>,
) -> WebResult<Html<String>> {
    let a = access(&state, &s, id).await?;
    let bank = bank_for(&state, &a, bid).await?;
    let page = q.page.trim().parse::<i64>().unwrap_or(1).max(1);
    let filter = QuestionFilter {
        query: q.q.clone(),
        kind: opt(&q.kind).filter(|k| KINDS.contains(&k.as_str())),
        topic: opt(&q.topic),
        level: opt(&q.level).filter(|l| level_from_code(l).is_some()),
        grade: q.grade.trim().parse().ok(),
        status: opt(&q.status).filter(|st| STATUSES.contains(&st.as_str())),
        offset: (page - 1) * PAGE_SIZE,
        limit: PAGE_SIZE,
    };
    let found = state.db.bank_questions(&bank, &filter).await?;
    let pages = ((found.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let notice = match (q.saved.parse::<usize>(), q.skipped.parse::<usize>()) {
        (Ok(n), Ok(k)) if k > 0 => Some(format!(
            "Đã lưu {n} câu hỏi; bỏ qua {k} câu trùng hoặc chưa hợp lệ."
        )),
        (Ok(n), _) => Some(format!("Đã lưu {n} câu hỏi.")),
        _ => crate::view::saved_notice(opt(&q.saved).as_deref(), s.lang),
    };
    render(&BankPage {
        ctx: Ctx::new(&s, bank.name.clone())
            .with_help("ngan-hang-cau-hoi")
            .with_notice(notice),
        rows: found.questions.iter().map(row_of).collect(),
        total: found.total,
        prev: (page > 1).then(|| q.link(page - 1)),
        next: (page < pages).then(|| q.link(page + 1)),
        page,
        pages,
        kinds: KINDS.iter().map(|k| (*k, kind_label(k))).collect(),
        levels: CognitiveLevel::ALL
            .iter()
            .map(|l| (level_code(*l), l.label()))
            .collect(),
        statuses: STATUSES.iter().map(|st| (*st, status_label(st))).collect(),
        topics: state.db.bank_topics(&bank).await?,
        can_edit: a.edits(&bank),
        can_approve: a.heads(&bank),
        scope: bank.scope.label(),
        school: a.school,
        bank,
        q,
    })
}

// ----- import -----

struct PreviewRow {
    label: String,
    kind: &'static str,
    stem: String,
    key: String,
    meta: String,
    warnings: Vec<String>,
    errors: Vec<String>,
    duplicate: &'static str,
}

#[derive(Template)]
#[template(path = "bank_preview.html")]
struct PreviewPage {
    ctx: Ctx,
    school: School,
    bank: Bank,
    file_name: String,
    token: String,
    rows: Vec<PreviewRow>,
    errors: Vec<String>,
    counts: String,
    to_save: usize,
    duplicates: usize,
    invalid: usize,
    in_review: bool,
    /// Some stem has an equation: the page loads the math style sheet.
    math: bool,
}

fn temp_key(bank: &Bank, user: Id, token: &str) -> String {
    format!("bank-imports/{}/{}/{user}/{token}", bank.school_id, bank.id)
}

/// Checks a token from the form: a UUID and one of the accepted extensions, nothing else.
fn parse_token(t: &str) -> WebResult<(String, &'static str)> {
    let bad = || WebError::BadRequest("Phiên nhập không hợp lệ; hãy tải tệp lên lại.".into());
    let (id, ext) = t.trim().split_once('.').ok_or_else(bad)?;
    let id = uuid::Uuid::parse_str(id).map_err(|_| bad())?;
    let ext = ["docx", "txt", "xml"]
        .into_iter()
        .find(|e| *e == ext)
        .ok_or_else(bad)?;
    Ok((format!("{}.{ext}", id.simple()), ext))
}

async fn import_preview(
    State(state): State<AppState>,
    s: Session,
    Path((id, bid)): Path<(Id, Id)>,
    req: axum::extract::Request,
) -> WebResult<Html<String>> {
    let a = access(&state, &s, id).await?;
    let bank = bank_for(&state, &a, bid).await?;
    if !a.edits(&bank) {
        return Err(WebError::Forbidden);
    }
    let up = super::learning::read_upload(req, &state, 1, MAX_IMPORT_BYTES).await?;
    let Some((_, name, bytes)) = up.files.into_iter().next() else {
        return Err(WebError::BadRequest("Chưa chọn tệp câu hỏi.".into()));
    };
    let report = read_file(&name, &bytes).map_err(WebError::BadRequest)?;
    let ext = match name.to_lowercase().rsplit('.').next() {
        Some("docx") | Some("docm") => "docx",
        Some("xml") => "xml",
        _ => "txt",
    };
    let token = format!("{}.{ext}", uuid::Uuid::now_v7().simple());
    let existing = state.db.bank_texts(&bank).await?;
    let p = plan(report, &existing);
    let to_save = p.to_save(false).count();
    if to_save > 0 || p.exact_duplicates() > 0 {
        state
            .storage
            .put(&temp_key(&bank, s.user.id, &token), bytes)
            .await
            .map_err(|e| WebError::Internal(e.into()))?;
    }
    let rows = p
        .questions
        .iter()
        .map(|q| PreviewRow {
            label: if q.section.is_empty() {
                format!("Câu {}", q.number)
            } else {
                format!("{} · Câu {}", q.section, q.number)
            },
            kind: kind_label(kind_code(q.question.kind.tag())),
            stem: preview_stem(&q.question.stem).0,
            key: key_text(&q.question),
            meta: meta_text(
                q.question.meta.topic.as_deref().unwrap_or(""),
                q.question.meta.level.map(level_code).unwrap_or(""),
                q.question.meta.grade.map(i64::from),
            ),
            warnings: q.warnings.clone(),
            errors: q.errors.clone(),
            duplicate: match q.duplicate {
                Duplicate::No => "",
                Duplicate::Near => "near",
                Duplicate::Exact => "exact",
            },
        })
        .collect();
    render(&PreviewPage {
        ctx: Ctx::new(&s, s.lang.t("bank-preview-title")).with_help("ngan-hang-cau-hoi"),
        file_name: name,
        token,
        rows,
        errors: p.errors.clone(),
        counts: counts_text(&p.counts),
        to_save,
        duplicates: p.exact_duplicates(),
        invalid: p.invalid(),
        in_review: a.new_status(&bank) == "in_review",
        math: p.questions.iter().any(|q| preview_stem(&q.question.stem).1),
        school: a.school,
        bank,
    })
}

#[derive(Deserialize)]
struct ConfirmForm {
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    force: String,
}

async fn import_confirm(
    State(state): State<AppState>,
    s: Session,
    Path((id, bid)): Path<(Id, Id)>,
    Form(f): Form<ConfirmForm>,
) -> WebResult<Redirect> {
    let a = access(&state, &s, id).await?;
    let bank = bank_for(&state, &a, bid).await?;
    if !a.edits(&bank) {
        return Err(WebError::Forbidden);
    }
    let (token, ext) = parse_token(&f.token)?;
    let key = temp_key(&bank, s.user.id, &token);
    let bytes = state.storage.get(&key).await.map_err(|_| {
        WebError::BadRequest(
            "Tệp tải lên đã được lưu hoặc không còn nữa; hãy tải tệp lên lại.".into(),
        )
    })?;
    let name = if f.name.trim().is_empty() {
        format!("tep.{ext}")
    } else {
        // The extension decides the format; keep the one checked in the token.
        format!(
            "{}.{ext}",
            f.name
                .trim()
                .rsplit_once('.')
                .map_or(f.name.trim(), |(b, _)| b)
        )
    };
    let report = read_file(&name, &bytes).map_err(WebError::BadRequest)?;
    let existing = state.db.bank_texts(&bank).await?;
    let p = plan(report, &existing);
    let force = f.force == "1";
    if p.to_save(force).next().is_none() && p.exact_duplicates() > 0 {
        // Everything is already in the bank: nothing to do, and the upload is not needed.
        let _ = state.storage.delete(&key).await;
        return Ok(Redirect::to(&format!(
            "/schools/{id}/banks/{bid}?saved=0&skipped={}",
            p.exact_duplicates() + p.invalid()
        )));
    }
    if p.to_save(force).next().is_none() {
        return Err(WebError::BadRequest(
            "Không có câu hỏi hợp lệ nào để lưu (các câu đều lỗi hoặc đã có trong ngân hàng)."
                .into(),
        ));
    }
    let saved = save_plan(
        &state.db,
        &state.storage,
        &bank,
        &p,
        force,
        a.new_status(&bank),
        s.user.id,
    )
    .await?;
    let _ = state.storage.delete(&key).await;
    let c = saved.counts;
    let n = c.single_choice + c.multiple_response + c.true_false + c.short_answer + c.essay;
    Ok(Redirect::to(&format!(
        "/schools/{id}/banks/{bid}?saved={n}&skipped={}",
        saved.duplicates + saved.invalid
    )))
}

// ----- export -----

async fn bank_exam(state: &AppState, bank: &Bank) -> WebResult<(Vec<Question>, Vec<Asset>)> {
    let questions: Vec<Question> = state
        .db
        .bank_all_questions(bank)
        .await?
        .iter()
        .filter_map(|q| serde_json::from_str(&q.body).ok())
        .collect();
    let mut used: BTreeSet<String> = BTreeSet::new();
    for q in &questions {
        for c in exam_contents(q) {
            used.extend(c.image_ids().into_iter().map(str::to_owned));
        }
    }
    let mut assets = Vec::new();
    for a in state.db.bank_assets(bank).await? {
        if !used.contains(&a.asset_id) {
            continue;
        }
        if let Ok(bytes) = state.storage.get(&a.storage_key).await {
            assets.push(Asset {
                id: a.asset_id,
                mime: a.content_type,
                bytes: bytes.to_vec(),
            });
        }
    }
    Ok((questions, assets))
}

fn file_stem(name: &str) -> String {
    let f = fold(name);
    let s: String = f
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let s = s
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() { "ngan-hang".into() } else { s }
}

async fn export_docx(
    State(state): State<AppState>,
    s: Session,
    Path((id, bid)): Path<(Id, Id)>,
) -> WebResult<Response> {
    let a = access(&state, &s, id).await?;
    let bank = bank_for(&state, &a, bid).await?;
    let (questions, assets) = bank_exam(&state, &bank).await?;
    let titles = [
        (
            KindTag::SingleChoice,
            "Câu trắc nghiệm nhiều phương án lựa chọn",
        ),
        (
            KindTag::MultipleResponse,
            "Câu trắc nghiệm nhiều đáp án đúng",
        ),
        (KindTag::TrueFalseCluster, "Câu trắc nghiệm đúng sai"),
        (KindTag::ShortAnswer, "Câu trắc nghiệm trả lời ngắn"),
        (KindTag::Essay, "Tự luận"),
    ];
    let sections = titles
        .iter()
        .map(|(k, t)| exam::model::Section {
            title: (*t).to_owned(),
            questions: questions
                .iter()
                .filter(|q| q.kind.tag() == *k)
                .cloned()
                .collect(),
        })
        .filter(|s| !s.questions.is_empty())
        .collect();
    let paper = exam::model::Exam {
        title: bank.name.clone(),
        sections,
        passages: vec![],
        assets,
    };
    Ok(download(
        exam::docx::export_docx(&paper),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &format!("{}.docx", file_stem(&bank.name)),
    ))
}

async fn export_xml(
    State(state): State<AppState>,
    s: Session,
    Path((id, bid)): Path<(Id, Id)>,
) -> WebResult<Response> {
    let a = access(&state, &s, id).await?;
    let bank = bank_for(&state, &a, bid).await?;
    let (questions, assets) = bank_exam(&state, &bank).await?;
    let xml = exam::moodle_xml::export(
        &questions,
        &assets,
        exam::moodle_xml::ExportOptions::default(),
    );
    Ok(download(
        xml.into_bytes(),
        "application/xml; charset=utf-8",
        &format!("{}.xml", file_stem(&bank.name)),
    ))
}

// ----- one question -----

struct VersionRow {
    version: i64,
    who: String,
    when: String,
    stem: String,
}

#[derive(Template)]
#[template(path = "question_edit.html")]
struct QuestionPage {
    ctx: Ctx,
    school: School,
    bank: Bank,
    q: BankQuestion,
    kind: String,
    kind_label: &'static str,
    stem: String,
    options: String,
    key: String,
    statements: String,
    truths: String,
    explanation: String,
    topic: String,
    level: String,
    grade: String,
    subject: String,
    tags: String,
    levels: Vec<(&'static str, &'static str)>,
    versions: Vec<VersionRow>,
    status_label: &'static str,
    can_edit: bool,
    can_approve: bool,
}

async fn question_for(
    state: &AppState,
    s: &Session,
    id: Id,
    bid: Id,
    qid: Id,
) -> WebResult<(Access, Bank, BankQuestion)> {
    let a = access(state, s, id).await?;
    let bank = bank_for(state, &a, bid).await?;
    let q = state.db.bank_question(&bank, qid).await?;
    Ok((a, bank, q))
}

async fn question_page(
    State(state): State<AppState>,
    s: Session,
    Path((id, bid, qid)): Path<(Id, Id, Id)>,
    Query(ok): Query<super::OkQuery>,
) -> WebResult<Html<String>> {
    let (a, bank, q) = question_for(&state, &s, id, bid, qid).await?;
    let parsed: Question = serde_json::from_str(&q.body)
        .map_err(|e| WebError::Internal(anyhow::anyhow!("câu hỏi {}: {e}", q.id)))?;
    let (options, key, statements, truths) = match &parsed.kind {
        QuestionKind::SingleChoice { options, key } => (
            options
                .iter()
                .map(|o| o.0.clone())
                .collect::<Vec<_>>()
                .join("\n"),
            key.map(|k| option_letter(k).to_string())
                .unwrap_or_default(),
            String::new(),
            String::new(),
        ),
        QuestionKind::MultipleResponse { options, keys } => (
            options
                .iter()
                .map(|o| o.0.clone())
                .collect::<Vec<_>>()
                .join("\n"),
            keys.iter()
                .map(|k| option_letter(*k).to_string())
                .collect::<Vec<_>>()
                .join(", "),
            String::new(),
            String::new(),
        ),
        QuestionKind::TrueFalseCluster { statements } => (
            String::new(),
            String::new(),
            statements
                .iter()
                .map(|s| s.text.0.clone())
                .collect::<Vec<_>>()
                .join("\n"),
            key_text(&parsed),
        ),
        QuestionKind::ShortAnswer { .. } => (
            String::new(),
            if key_text(&parsed) == "—" {
                String::new()
            } else {
                key_text(&parsed)
            },
            String::new(),
            String::new(),
        ),
        QuestionKind::Essay { .. } => (String::new(), String::new(), String::new(), String::new()),
    };
    let versions = state
        .db
        .question_versions(&q)
        .await?
        .into_iter()
        .map(|v| VersionRow {
            version: v.version,
            who: v.created_by_name,
            when: format_ms(v.created_at),
            stem: serde_json::from_str::<Question>(&v.body)
                .map(|p| shorten(&plain(&p.stem), 120))
                .unwrap_or_default(),
        })
        .collect();
    render(&QuestionPage {
        ctx: Ctx::new(&s, s.lang.t("bankq-edit-title"))
            .with_help("ngan-hang-cau-hoi")
            .with_notice(crate::view::saved_notice(ok.ok.as_deref(), s.lang)),
        kind: q.kind.clone(),
        kind_label: kind_label(&q.kind),
        stem: parsed.stem.0.clone(),
        options,
        key,
        statements,
        truths,
        explanation: parsed
            .explanation
            .as_ref()
            .map(|e| e.0.clone())
            .unwrap_or_default(),
        topic: q.topic.clone(),
        level: q.level.clone(),
        grade: q.grade.map(|g| g.to_string()).unwrap_or_default(),
        subject: q.subject.clone(),
        tags: q.tags.clone(),
        levels: CognitiveLevel::ALL
            .iter()
            .map(|l| (level_code(*l), l.label()))
            .collect(),
        versions,
        status_label: status_label(&q.status),
        can_edit: a.edits(&bank) && q.status != "retired",
        can_approve: a.heads(&bank) && q.status == "in_review",
        school: a.school,
        bank,
        q,
    })
}

#[derive(Deserialize)]
struct EditForm {
    version: i64,
    #[serde(default)]
    stem: String,
    #[serde(default)]
    options: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    statements: String,
    #[serde(default)]
    truths: String,
    #[serde(default)]
    explanation: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    grade: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    tags: String,
}

fn lines(s: &str) -> Vec<Content> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(Content::from)
        .collect()
}

fn letters(s: &str) -> Result<BTreeSet<usize>, WebError> {
    s.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| {
            let mut cs = t.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => option_index(c),
                _ => None,
            }
            .ok_or_else(|| {
                WebError::BadRequest(format!(
                    "Đáp án \"{t}\" không hợp lệ: hãy ghi chữ cái A, B, C…"
                ))
            })
        })
        .collect()
}

fn truths(s: &str) -> Result<Vec<Option<bool>>, WebError> {
    fold(s)
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        // "a) Đúng b) Sai": the labels are skipped, "a)đúng" loses its label.
        .map(|t| match t.split_once(')') {
            Some((_, rest)) => rest,
            None => t,
        })
        .filter(|t| !t.is_empty())
        .map(|t| match t {
            "d" | "dung" | "t" | "true" | "1" => Ok(Some(true)),
            "s" | "sai" | "f" | "false" | "0" => Ok(Some(false)),
            "?" => Ok(None),
            other => Err(WebError::BadRequest(format!(
                "Đáp án đúng/sai \"{other}\" không hợp lệ: ghi Đ hoặc S cho từng ý, ví dụ \"Đ S Đ S\"."
            ))),
        })
        .collect()
}

fn edited_question(old: &Question, f: &EditForm) -> WebResult<Question> {
    let mut q = old.clone();
    q.stem = Content(f.stem.trim().to_owned());
    let expl = f.explanation.trim();
    q.explanation = (!expl.is_empty()).then(|| Content::from(expl));
    q.kind = match &old.kind {
        QuestionKind::SingleChoice { .. } => {
            let ks = letters(&f.key)?;
            if ks.len() > 1 {
                return Err(WebError::BadRequest(
                    "Câu một lựa chọn chỉ có một đáp án đúng.".into(),
                ));
            }
            QuestionKind::SingleChoice {
                options: lines(&f.options),
                key: ks.into_iter().next(),
            }
        }
        QuestionKind::MultipleResponse { .. } => QuestionKind::MultipleResponse {
            options: lines(&f.options),
            keys: letters(&f.key)?,
        },
        QuestionKind::TrueFalseCluster { .. } => {
            let texts = lines(&f.statements);
            let ts = truths(&f.truths)?;
            QuestionKind::TrueFalseCluster {
                statements: texts
                    .into_iter()
                    .enumerate()
                    .map(|(i, text)| Statement {
                        text,
                        truth: ts.get(i).copied().flatten(),
                    })
                    .collect(),
            }
        }
        QuestionKind::ShortAnswer { key } => {
            let k = f.key.trim();
            let tolerance = match key {
                Some(ShortKey::Numeric { tolerance, .. }) => *tolerance,
                _ => 0.0,
            };
            QuestionKind::ShortAnswer {
                key: if k.is_empty() {
                    None
                } else if let Some(v) = exam::model::parse_number(k) {
                    Some(ShortKey::Numeric {
                        value: v,
                        tolerance,
                    })
                } else {
                    Some(ShortKey::Text {
                        accepted: k
                            .split(';')
                            .map(|a| a.trim().to_owned())
                            .filter(|a| !a.is_empty())
                            .collect(),
                    })
                },
            }
        }
        QuestionKind::Essay { rubric } => QuestionKind::Essay {
            rubric: rubric.clone(),
        },
    };
    let topic = f.topic.trim();
    q.meta.topic = (!topic.is_empty()).then(|| topic.to_owned());
    let subject = f.subject.trim();
    q.meta.subject = (!subject.is_empty()).then(|| subject.to_owned());
    q.meta.level = level_from_code(f.level.trim());
    q.meta.grade = match f.grade.trim() {
        "" => None,
        g => Some(
            g.parse::<u8>()
                .ok()
                .filter(|n| (1..=12).contains(n))
                .ok_or_else(|| {
                    WebError::BadRequest(format!("Khối lớp \"{g}\" không hợp lệ (1–12)."))
                })?,
        ),
    };
    q.meta.tags = f
        .tags
        .split(',')
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    if f.stem.chars().count() > 20_000 || f.options.chars().count() > 20_000 {
        return Err(WebError::BadRequest("Nội dung câu hỏi quá dài.".into()));
    }
    if let Err(es) = q.validate(1) {
        let msgs: Vec<String> = es.iter().map(|e| e.problem.to_string()).collect();
        return Err(WebError::BadRequest(format!(
            "Câu hỏi chưa lưu được: {}.",
            msgs.join("; ")
        )));
    }
    Ok(q)
}

async fn save_question(
    State(state): State<AppState>,
    s: Session,
    Path((id, bid, qid)): Path<(Id, Id, Id)>,
    Form(f): Form<EditForm>,
) -> WebResult<Redirect> {
    let (a, bank, q) = question_for(&state, &s, id, bid, qid).await?;
    if !a.edits(&bank) || q.status == "retired" {
        return Err(WebError::Forbidden);
    }
    if f.version != q.version {
        return Err(WebError::Conflict(
            "Câu hỏi vừa được người khác sửa; hãy tải lại trang rồi sửa lại.".into(),
        ));
    }
    let old: Question = serde_json::from_str(&q.body)
        .map_err(|e| WebError::Internal(anyhow::anyhow!("câu hỏi {}: {e}", q.id)))?;
    let new = edited_question(&old, &f)?;
    let m = &new.meta;
    let row = NewQuestion {
        kind: kind_code(new.kind.tag()).to_owned(),
        body: serde_json::to_string(&new).map_err(|e| WebError::Internal(e.into()))?,
        text_folded: question_text(&new),
        subject: m.subject.clone().unwrap_or_default(),
        grade: m.grade.map(i64::from),
        topic: m.topic.clone().unwrap_or_default(),
        level: m.level.map(level_code).unwrap_or("").to_owned(),
        tags: m.tags.join(", "),
        status: a.new_status(&bank).to_owned(),
    };
    state.db.update_question(&q, &row, s.user.id).await?;
    Ok(Redirect::to(&format!(
        "/schools/{id}/banks/{bid}/questions/{qid}?ok=1"
    )))
}

#[derive(Deserialize)]
struct StatusForm {
    action: String,
}

async fn question_status(
    State(state): State<AppState>,
    s: Session,
    Path((id, bid, qid)): Path<(Id, Id, Id)>,
    Form(f): Form<StatusForm>,
) -> WebResult<Redirect> {
    let (a, bank, q) = question_for(&state, &s, id, bid, qid).await?;
    let to = match f.action.as_str() {
        "approve" => {
            if !a.heads(&bank) {
                return Err(WebError::Forbidden);
            }
            if q.status != "in_review" {
                return Err(WebError::Conflict("Câu hỏi này không chờ duyệt.".into()));
            }
            "active"
        }
        "retire" => {
            if !(a.edits(&bank)
                && (bank.scope != BankScope::Group || a.heads(&bank) || q.created_by == s.user.id))
            {
                return Err(WebError::Forbidden);
            }
            "retired"
        }
        _ => return Err(WebError::BadRequest("Thao tác không hợp lệ.".into())),
    };
    state.db.set_question_status(&q, to, s.user.id).await?;
    Ok(Redirect::to(&format!("/schools/{id}/banks/{bid}?saved=ok")))
}

// ----- command line -----

/// Why `lophoc import questions` refused a file.
#[derive(Debug, thiserror::Error)]
pub enum CliImportError {
    /// Questions with problems: nothing was saved; one message per problem ("Câu 3: …").
    #[error("tệp có {} lỗi; không có câu hỏi nào được lưu", .0.len())]
    Invalid(Vec<String>),
    /// Anything else (unknown school or user, unreadable file, database).
    #[error("{0}")]
    Other(String),
}

/// `lophoc import questions`: reads `file` into the bank `bank_name` of the school `code` (the
/// only school when `None`; created with school scope when missing, owned by `owner` or else the principal). Any
/// problem in the file refuses the whole file; exact duplicates are skipped. Returns the
/// summary line to print ("Đã nhập 12 câu: 8 trắc nghiệm một lựa chọn, …").
pub async fn import_from_cli(
    db: &Db,
    files_dir: Option<&std::path::Path>,
    code: Option<&str>,
    bank_name: &str,
    owner: Option<&str>,
    file: &std::path::Path,
) -> Result<String, CliImportError> {
    let other = |e: &dyn std::fmt::Display| CliImportError::Other(e.to_string());
    let school = match code {
        Some(code) => db
            .school_by_code(code)
            .await
            .map_err(|_| CliImportError::Other(format!("không có trường mã {code}")))?,
        None => {
            let mut all = db.schools_within("/").await.map_err(|e| other(&e))?;
            if all.len() != 1 {
                return Err(CliImportError::Other(
                    "có nhiều trường trong cơ sở dữ liệu; hãy chỉ định --school MÃ_TRƯỜNG".into(),
                ));
            }
            all.remove(0)
        }
    };
    let code = school.code.clone();
    let owner_id = match owner {
        Some(u) => {
            db.user_by_username(u)
                .await
                .map_err(|_| CliImportError::Other(format!("không có tài khoản {u}")))?
                .id
        }
        None => db
            .school_principal(school.id)
            .await
            .map_err(|e| other(&e))?
            .ok_or_else(|| {
                CliImportError::Other(format!(
                    "trường {code} chưa có hiệu trưởng; hãy chỉ định --owner"
                ))
            })?,
    };
    let bytes = std::fs::read(file)
        .map_err(|e| CliImportError::Other(format!("không đọc được {}: {e}", file.display())))?;
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(CliImportError::Other(format!(
            "tệp lớn quá {} MB",
            MAX_IMPORT_BYTES / 1024 / 1024
        )));
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let report = read_file(&name, &bytes).map_err(CliImportError::Other)?;
    let bank = db
        .bank_by_name(school.id, bank_name)
        .await
        .map_err(|e| other(&e))?;
    let existing = match &bank {
        Some(b) => db.bank_texts(b).await.map_err(|e| other(&e))?,
        None => vec![],
    };
    let p = plan(report, &existing);
    if !p.errors.is_empty() {
        return Err(CliImportError::Invalid(p.errors));
    }
    if p.questions.is_empty() {
        return Err(CliImportError::Other("tệp không có câu hỏi nào".into()));
    }
    let bank = match bank {
        Some(b) => b,
        None => {
            let name = domain::text::normalize_spaces(bank_name.trim());
            let id = db
                .create_bank(school.id, owner_id, BankScope::School, "", &name)
                .await
                .map_err(|e| other(&e))?;
            db.bank(school.id, id).await.map_err(|e| other(&e))?
        }
    };
    let storage = match files_dir {
        Some(d) => media::Storage::local(d).map_err(|e| other(&e))?,
        None => media::Storage::memory(),
    };
    let saved = save_plan(db, &storage, &bank, &p, false, "active", owner_id)
        .await
        .map_err(|e| match e {
            WebError::Internal(e) => CliImportError::Other(format!("{e:#}")),
            e => other(&e),
        })?;
    let mut line = format!(
        "Đã nhập {} (ngân hàng \"{}\")",
        counts_text(&saved.counts),
        bank.name
    );
    if saved.duplicates > 0 {
        line.push_str(&format!(
            "; bỏ qua {} câu đã có trong ngân hàng",
            saved.duplicates
        ));
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_plans_without_errors_and_counts_kinds() {
        let r = exam::docx::import(&exam::docx::template_docx()).unwrap();
        let p = plan(r, &[]);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.to_save(false).count(), p.questions.len());
        assert!(counts_text(&p.counts).contains("trắc nghiệm một lựa chọn"));
    }

    #[test]
    fn duplicates_are_exact_or_near() {
        let r = exam::docx::import(&exam::docx::template_docx()).unwrap();
        let texts: Vec<String> = plan(r.clone(), &[])
            .questions
            .iter()
            .map(|q| q.text_folded.clone())
            .collect();
        let again = plan(r, &texts);
        assert!(
            again
                .questions
                .iter()
                .all(|q| q.duplicate == Duplicate::Exact)
        );
        assert_eq!(again.to_save(false).count(), 0);
        assert_eq!(again.to_save(true).count(), texts.len());
        let a = shingles(
            "mot hai ba bon nam sau bay tam chin muoi muoi mot muoi hai muoi ba muoi bon muoi lam muoi sau muoi bay muoi tam",
        );
        let b = shingles(
            "mot hai ba bon nam sau bay tam chin muoi muoi mot muoi hai muoi ba muoi bon muoi lam muoi sau muoi bay muoi chin",
        );
        assert!(jaccard(&a, &b) >= NEAR_DUPLICATE);
    }

    #[test]
    fn gift_and_aiken_are_told_apart() {
        assert!(is_aiken("Thủ đô?\nA. Huế\nB. Hà Nội\nANSWER: B\n"));
        assert!(!is_aiken("Thủ đô? {=Hà Nội ~Huế}"));
        let r = read_file(
            "cau-hoi.txt",
            "Thủ đô?\nA. Huế\nB. Hà Nội\nANSWER: B\n".as_bytes(),
        )
        .unwrap();
        assert_eq!(r.questions.len(), 1);
        assert!(read_file("x.pdf", b"%PDF").unwrap_err().contains(".docx"));
        assert!(read_file("x.docx", b"hello").unwrap_err().contains("Word"));
    }

    #[test]
    fn truths_and_letters_parse() {
        assert_eq!(
            truths("Đ S đúng sai").unwrap(),
            vec![Some(true), Some(false), Some(true), Some(false)]
        );
        assert_eq!(letters("A, c").unwrap(), BTreeSet::from([0, 2]));
        assert!(letters("AB").is_err());
    }
}
