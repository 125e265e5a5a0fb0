//! Question banks (ngân hàng câu hỏi): personal, subject-group and school banks, their
//! questions with every saved version, and the images the questions show.
//!
//! A question's content is the exam engine's JSON, kept opaque here: this crate stores it with
//! the columns lists, filters and near-duplicate checks need beside it. Every query is filtered
//! by `school_id`; who may see or change a bank is decided by the web layer.

use crate::audit::{AuditEntry, write as audit};
use crate::{
    Db, DbError, DbResult, Val, conflict_on_unique, get_i64, get_id, get_str, insert_many, now_ms,
};
use domain::{Id, new_id};
use sqlx::Row;
use sqlx::any::AnyRow;

/// Who sees a bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BankScope {
    /// Its owner only.
    Personal,
    /// The staff of one subject group (tổ chuyên môn); new questions wait for the group head.
    Group,
    /// Every staff member of the school.
    School,
}

impl BankScope {
    /// Every scope, narrowest first.
    pub const ALL: [BankScope; 3] = [BankScope::Personal, BankScope::Group, BankScope::School];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            BankScope::Personal => "personal",
            BankScope::Group => "group",
            BankScope::School => "school",
        }
    }

    /// Parses a stored code.
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.code() == s)
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            BankScope::Personal => "Cá nhân",
            BankScope::Group => "Tổ chuyên môn",
            BankScope::School => "Toàn trường",
        }
    }
}

/// A question bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bank {
    /// Id.
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// Who created it.
    pub owner_id: Id,
    /// The owner's name.
    pub owner_name: String,
    /// Who sees it.
    pub scope: BankScope,
    /// The subject group of a group bank ("" otherwise).
    pub subject_group: String,
    /// Name.
    pub name: String,
    /// Questions not retired.
    pub question_count: i64,
    /// Created, unix ms.
    pub created_at: i64,
}

const BANK_SELECT: &str = "SELECT b.id, b.school_id, b.owner_id, COALESCE(u.full_name, '') AS owner_name, \
     b.scope, b.subject_group, b.name, b.created_at, \
     (SELECT COUNT(*) FROM bank_questions q WHERE q.school_id = b.school_id AND q.bank_id = b.id \
      AND q.status <> 'retired') AS question_count \
     FROM question_banks b LEFT JOIN users u ON u.id = b.owner_id";

fn bank_row(row: &AnyRow) -> DbResult<Bank> {
    let scope = get_str(row, "scope")?;
    Ok(Bank {
        id: get_id(row, "id")?,
        school_id: get_id(row, "school_id")?,
        owner_id: get_id(row, "owner_id")?,
        owner_name: get_str(row, "owner_name")?,
        scope: BankScope::from_code(&scope)
            .ok_or_else(|| DbError::Corrupt(format!("scope: {scope}")))?,
        subject_group: get_str(row, "subject_group")?,
        name: get_str(row, "name")?,
        question_count: get_i64(row, "question_count")?,
        created_at: get_i64(row, "created_at")?,
    })
}

/// A question of a bank as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankQuestion {
    /// Id.
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// Bank.
    pub bank_id: Id,
    /// single_choice, multiple_response, true_false, short_answer, essay.
    pub kind: String,
    /// The question as the exam engine's JSON.
    pub body: String,
    /// Accent-folded text of stem and options.
    pub text_folded: String,
    /// Subject.
    pub subject: String,
    /// Grade 1–12.
    pub grade: Option<i64>,
    /// Topic.
    pub topic: String,
    /// nhan_biet, thong_hieu, van_dung, van_dung_cao or "".
    pub level: String,
    /// Tags, comma separated.
    pub tags: String,
    /// active, in_review, retired.
    pub status: String,
    /// Current version number.
    pub version: i64,
    /// Author.
    pub created_by: Id,
    /// Created, unix ms.
    pub created_at: i64,
    /// Last saved, unix ms.
    pub updated_at: i64,
}

fn question_row(row: &AnyRow) -> DbResult<BankQuestion> {
    Ok(BankQuestion {
        id: get_id(row, "id")?,
        school_id: get_id(row, "school_id")?,
        bank_id: get_id(row, "bank_id")?,
        kind: get_str(row, "kind")?,
        body: get_str(row, "body")?,
        text_folded: get_str(row, "text_folded")?,
        subject: get_str(row, "subject")?,
        grade: row.try_get::<Option<i64>, _>("grade")?,
        topic: get_str(row, "topic")?,
        level: get_str(row, "level")?,
        tags: get_str(row, "tags")?,
        status: get_str(row, "status")?,
        version: get_i64(row, "version")?,
        created_by: get_id(row, "created_by")?,
        created_at: get_i64(row, "created_at")?,
        updated_at: get_i64(row, "updated_at")?,
    })
}

/// A question to add, or the new content of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQuestion {
    /// Kind code.
    pub kind: String,
    /// The engine's JSON.
    pub body: String,
    /// Accent-folded text for search and duplicates.
    pub text_folded: String,
    /// Subject.
    pub subject: String,
    /// Grade.
    pub grade: Option<i64>,
    /// Topic.
    pub topic: String,
    /// Level code or "".
    pub level: String,
    /// Tags, comma separated.
    pub tags: String,
    /// active or in_review.
    pub status: String,
}

/// An image already put in the file store, to record for a bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAsset {
    /// The id questions use in `{{img:ID}}`.
    pub asset_id: String,
    /// The file store key.
    pub storage_key: String,
    /// Media type.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
}

/// An image of a bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAsset {
    /// The id questions use.
    pub asset_id: String,
    /// The file store key.
    pub storage_key: String,
    /// Media type.
    pub content_type: String,
}

/// One saved version of a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionVersion {
    /// Version number.
    pub version: i64,
    /// The engine's JSON of that version.
    pub body: String,
    /// Who saved it.
    pub created_by_name: String,
    /// When, unix ms.
    pub created_at: i64,
}

/// Filters of a bank's question list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuestionFilter {
    /// Words to find in the text, accent-insensitively.
    pub query: String,
    /// Kind code.
    pub kind: Option<String>,
    /// Exact topic.
    pub topic: Option<String>,
    /// Level code.
    pub level: Option<String>,
    /// Grade.
    pub grade: Option<i64>,
    /// Status code; `None` lists all but retired questions.
    pub status: Option<String>,
    /// Rows to skip.
    pub offset: i64,
    /// Rows to return.
    pub limit: i64,
}

/// One page of a question list and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionPage {
    /// The questions of the page.
    pub questions: Vec<BankQuestion>,
    /// Matching questions in all.
    pub total: i64,
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_vals<'q>(mut q: AnyQuery<'q>, binds: &[Val]) -> AnyQuery<'q> {
    for b in binds {
        q = match b {
            Val::T(t) => q.bind(t.clone()),
            Val::I(i) => q.bind(*i),
            Val::OptI(i) => q.bind(*i),
        };
    }
    q
}

impl Db {
    /// Creates a bank; a name already used by the same owner at the school is refused.
    pub async fn create_bank(
        &self,
        school_id: Id,
        owner: Id,
        scope: BankScope,
        subject_group: &str,
        name: &str,
    ) -> DbResult<Id> {
        let id = new_id();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO question_banks (id, school_id, owner_id, scope, subject_group, name, name_folded, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(school_id.to_string())
        .bind(owner.to_string())
        .bind(scope.code())
        .bind(subject_group)
        .bind(name)
        .bind(domain::text::fold(name))
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_on_unique(e, &format!("Bạn đã có ngân hàng tên \"{name}\".")))?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: Some(owner),
                action: "bank.create",
                entity: "question_bank",
                entity_id: Some(id),
                detail: format!("{} ({})", name, scope.code()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// One bank of a school.
    pub async fn bank(&self, school_id: Id, id: Id) -> DbResult<Bank> {
        let row = sqlx::query(&format!(
            "{BANK_SELECT} WHERE b.id = $1 AND b.school_id = $2"
        ))
        .bind(id.to_string())
        .bind(school_id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        bank_row(&row)
    }

    /// Every bank of a school, by name; the caller keeps those the reader may see.
    pub async fn banks(&self, school_id: Id) -> DbResult<Vec<Bank>> {
        let rows = sqlx::query(&format!(
            "{BANK_SELECT} WHERE b.school_id = $1 ORDER BY b.name_folded, b.created_at"
        ))
        .bind(school_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(bank_row).collect()
    }

    /// The oldest bank of a school with this name (compared without accents and case).
    pub async fn bank_by_name(&self, school_id: Id, name: &str) -> DbResult<Option<Bank>> {
        let row = sqlx::query(&format!(
            "{BANK_SELECT} WHERE b.school_id = $1 AND b.name_folded = $2 ORDER BY b.created_at LIMIT 1"
        ))
        .bind(school_id.to_string())
        .bind(domain::text::fold(name))
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(bank_row).transpose()
    }

    /// A page of a bank's questions, oldest first (the order they were written in).
    pub async fn bank_questions(&self, bank: &Bank, f: &QuestionFilter) -> DbResult<QuestionPage> {
        let mut wh = String::from(" WHERE school_id = $1 AND bank_id = $2");
        let mut binds: Vec<Val> = vec![
            bank.school_id.to_string().into(),
            bank.id.to_string().into(),
        ];
        let mut push = |wh: &mut String, col: &str, op: &str, v: Val| {
            binds.push(v);
            wh.push_str(&format!(" AND {col} {op} ${}", binds.len()));
        };
        match &f.status {
            Some(s) => push(&mut wh, "status", "=", s.clone().into()),
            None => wh.push_str(" AND status <> 'retired'"),
        }
        if let Some(k) = &f.kind {
            push(&mut wh, "kind", "=", k.clone().into());
        }
        if let Some(t) = &f.topic {
            push(&mut wh, "topic", "=", t.clone().into());
        }
        if let Some(l) = &f.level {
            push(&mut wh, "level", "=", l.clone().into());
        }
        if let Some(g) = f.grade {
            push(&mut wh, "grade", "=", g.into());
        }
        for word in domain::text::fold(&f.query).split_whitespace() {
            let w = word.replace(['%', '_'], "");
            if !w.is_empty() {
                push(&mut wh, "text_folded", "LIKE", format!("%{w}%").into());
            }
        }
        let count_sql = format!("SELECT COUNT(*) AS n FROM bank_questions{wh}");
        let total = bind_vals(sqlx::query(&count_sql), &binds)
            .fetch_one(self.pool())
            .await?;
        let total = get_i64(&total, "n")?;
        let mut page_binds = binds.clone();
        page_binds.push(f.limit.max(1).into());
        page_binds.push(f.offset.max(0).into());
        let page_sql = format!(
            "SELECT * FROM bank_questions{wh} ORDER BY created_at, id LIMIT ${} OFFSET ${}",
            page_binds.len() - 1,
            page_binds.len()
        );
        let rows = bind_vals(sqlx::query(&page_sql), &page_binds)
            .fetch_all(self.pool())
            .await?;
        Ok(QuestionPage {
            questions: rows.iter().map(question_row).collect::<DbResult<_>>()?,
            total,
        })
    }

    /// Every question of a bank that is not retired, oldest first (export, duplicates).
    pub async fn bank_all_questions(&self, bank: &Bank) -> DbResult<Vec<BankQuestion>> {
        let rows = sqlx::query(
            "SELECT * FROM bank_questions WHERE school_id = $1 AND bank_id = $2 \
             AND status <> 'retired' ORDER BY created_at, id",
        )
        .bind(bank.school_id.to_string())
        .bind(bank.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(question_row).collect()
    }

    /// The folded text of every question of a bank that is not retired (duplicate checks).
    pub async fn bank_texts(&self, bank: &Bank) -> DbResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT text_folded FROM bank_questions WHERE school_id = $1 AND bank_id = $2 \
             AND status <> 'retired'",
        )
        .bind(bank.school_id.to_string())
        .bind(bank.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| get_str(r, "text_folded")).collect()
    }

    /// The account of a school's principal (the first one, when there are several).
    pub async fn school_principal(&self, school_id: Id) -> DbResult<Option<Id>> {
        let row = sqlx::query(
            "SELECT g.user_id FROM role_grants g JOIN users u ON u.id = g.user_id \
             WHERE g.school_id = $1 AND g.role = $2 ORDER BY u.username LIMIT 1",
        )
        .bind(school_id.to_string())
        .bind(domain::auth::Role::Principal.code())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(|r| get_id(r, "user_id")).transpose()
    }

    /// The topics used in a bank, for the filter.
    pub async fn bank_topics(&self, bank: &Bank) -> DbResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT topic FROM bank_questions WHERE school_id = $1 AND bank_id = $2 \
             AND topic <> '' ORDER BY topic",
        )
        .bind(bank.school_id.to_string())
        .bind(bank.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| get_str(r, "topic")).collect()
    }

    /// Adds questions and their images to a bank in one transaction: all or nothing. Each
    /// question gets its version 1.
    pub async fn add_questions(
        &self,
        bank: &Bank,
        questions: &[NewQuestion],
        assets: &[NewAsset],
        actor: Id,
    ) -> DbResult<Vec<Id>> {
        let now = now_ms();
        let school = bank.school_id.to_string();
        let bank_id = bank.id.to_string();
        let by = actor.to_string();
        let ids: Vec<Id> = questions.iter().map(|_| new_id()).collect();
        let mut q_rows = Vec::with_capacity(questions.len());
        let mut v_rows = Vec::with_capacity(questions.len());
        for (i, (q, id)) in questions.iter().zip(&ids).enumerate() {
            // Distinct creation times keep the file's order in lists sorted by created_at.
            let at = now + i as i64;
            q_rows.push(vec![
                Val::from(id.to_string()),
                school.clone().into(),
                bank_id.clone().into(),
                q.kind.clone().into(),
                q.body.clone().into(),
                q.text_folded.clone().into(),
                q.subject.clone().into(),
                Val::OptI(q.grade),
                q.topic.clone().into(),
                q.level.clone().into(),
                q.tags.clone().into(),
                q.status.clone().into(),
                Val::I(1),
                by.clone().into(),
                Val::I(at),
                Val::I(at),
            ]);
            v_rows.push(vec![
                Val::from(new_id().to_string()),
                school.clone().into(),
                id.to_string().into(),
                Val::I(1),
                q.body.clone().into(),
                by.clone().into(),
                Val::I(at),
            ]);
        }
        let a_rows: Vec<Vec<Val>> = assets
            .iter()
            .map(|a| {
                vec![
                    Val::from(new_id().to_string()),
                    school.clone().into(),
                    bank_id.clone().into(),
                    a.asset_id.clone().into(),
                    a.storage_key.clone().into(),
                    a.content_type.clone().into(),
                    Val::I(a.size),
                    Val::I(now),
                ]
            })
            .collect();
        let mut tx = self.pool().begin().await?;
        insert_many(
            &mut tx,
            "INSERT INTO bank_questions (id, school_id, bank_id, kind, body, text_folded, subject, grade, \
             topic, level, tags, status, version, created_by, created_at, updated_at)",
            &q_rows,
        )
        .await?;
        insert_many(
            &mut tx,
            "INSERT INTO question_versions (id, school_id, question_id, version, body, created_by, created_at)",
            &v_rows,
        )
        .await?;
        insert_many(
            &mut tx,
            "INSERT INTO question_assets (id, school_id, bank_id, asset_id, storage_key, content_type, size, created_at)",
            &a_rows,
        )
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(bank.school_id),
                actor_id: Some(actor),
                action: "bank.import",
                entity: "question_bank",
                entity_id: Some(bank.id),
                detail: format!("{} câu, {} hình", questions.len(), assets.len()),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// One question of a bank.
    pub async fn bank_question(&self, bank: &Bank, id: Id) -> DbResult<BankQuestion> {
        let row = sqlx::query(
            "SELECT * FROM bank_questions WHERE id = $1 AND school_id = $2 AND bank_id = $3",
        )
        .bind(id.to_string())
        .bind(bank.school_id.to_string())
        .bind(bank.id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        question_row(&row)
    }

    /// Saves new content for a question as its next version.
    pub async fn update_question(
        &self,
        q: &BankQuestion,
        new: &NewQuestion,
        actor: Id,
    ) -> DbResult<i64> {
        let version = q.version + 1;
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE bank_questions SET kind = $4, body = $5, text_folded = $6, subject = $7, grade = $8, \
             topic = $9, level = $10, tags = $11, status = $12, version = $13, updated_at = $14 \
             WHERE id = $1 AND school_id = $2 AND version = $3",
        )
        .bind(q.id.to_string())
        .bind(q.school_id.to_string())
        .bind(q.version)
        .bind(&new.kind)
        .bind(&new.body)
        .bind(&new.text_folded)
        .bind(&new.subject)
        .bind(new.grade)
        .bind(&new.topic)
        .bind(&new.level)
        .bind(&new.tags)
        .bind(&new.status)
        .bind(version)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::Conflict(
                "Câu hỏi vừa được người khác sửa; hãy tải lại trang rồi sửa lại.".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO question_versions (id, school_id, question_id, version, body, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new_id().to_string())
        .bind(q.school_id.to_string())
        .bind(q.id.to_string())
        .bind(version)
        .bind(&new.body)
        .bind(actor.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(q.school_id),
                actor_id: Some(actor),
                action: "bank.question.update",
                entity: "bank_question",
                entity_id: Some(q.id),
                detail: format!("v{} → v{version}", q.version),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Changes a question's status (approve: `active`, retire: `retired`), audited.
    pub async fn set_question_status(
        &self,
        q: &BankQuestion,
        status: &str,
        actor: Id,
    ) -> DbResult<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE bank_questions SET status = $3, updated_at = $4 WHERE id = $1 AND school_id = $2",
        )
        .bind(q.id.to_string())
        .bind(q.school_id.to_string())
        .bind(status)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(q.school_id),
                actor_id: Some(actor),
                action: "bank.question.status",
                entity: "bank_question",
                entity_id: Some(q.id),
                detail: format!("{} → {status}", q.status),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every version of a question, newest first.
    pub async fn question_versions(&self, q: &BankQuestion) -> DbResult<Vec<QuestionVersion>> {
        let rows = sqlx::query(
            "SELECT v.version, v.body, COALESCE(u.full_name, '') AS created_by_name, v.created_at \
             FROM question_versions v LEFT JOIN users u ON u.id = v.created_by \
             WHERE v.school_id = $1 AND v.question_id = $2 ORDER BY v.version DESC",
        )
        .bind(q.school_id.to_string())
        .bind(q.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(QuestionVersion {
                    version: get_i64(r, "version")?,
                    body: get_str(r, "body")?,
                    created_by_name: get_str(r, "created_by_name")?,
                    created_at: get_i64(r, "created_at")?,
                })
            })
            .collect()
    }

    /// The images of a bank.
    pub async fn bank_assets(&self, bank: &Bank) -> DbResult<Vec<BankAsset>> {
        let rows = sqlx::query(
            "SELECT asset_id, storage_key, content_type FROM question_assets \
             WHERE school_id = $1 AND bank_id = $2 ORDER BY created_at, asset_id",
        )
        .bind(bank.school_id.to_string())
        .bind(bank.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BankAsset {
                    asset_id: get_str(r, "asset_id")?,
                    storage_key: get_str(r, "storage_key")?,
                    content_type: get_str(r, "content_type")?,
                })
            })
            .collect()
    }
}
