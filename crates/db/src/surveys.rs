//! Surveys with deadlines issued by a Sở or a commune to the schools below it, and each school's
//! online-teaching plan and regulation per school year with the principal's approval.
//!
//! Issuing a survey writes one response row per school asked (so "missing" is a row, and a
//! school's list of surveys is one index lookup) and puts it in the inboxes of each school's
//! principal and school admins, in one transaction. Answers are JSON
//! ([`domain::survey::Answers`]); totals are added up in Rust by [`domain::survey::rollup`] from
//! one query, so the same rule serves the page, the Excel file and the tests.

use crate::audit::{AuditEntry, write as audit};
use crate::org::{School, Unit};
use crate::{
    Db, DbError, DbResult, Val, get_bool, get_code, get_i64, get_id, get_opt_str, get_str, now_ms,
};
use domain::survey::{Answers, LatePolicy, Status, Template};
use domain::tree::SchoolLevel;
use domain::{Id, new_id};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A survey as issued.
#[derive(Debug, Clone)]
pub struct Survey {
    /// Id.
    pub id: Id,
    /// The issuing unit.
    pub unit_id: Id,
    /// Its path.
    pub unit_path: String,
    /// Its name.
    pub unit_name: String,
    /// The template it uses.
    pub template: &'static Template,
    /// Title.
    pub title: String,
    /// Instructions for schools.
    pub instructions: String,
    /// Deadline, unix ms.
    pub deadline_at: i64,
    /// What happens after the deadline.
    pub late_policy: LatePolicy,
    /// Levels asked (empty: all).
    pub levels: Vec<SchoolLevel>,
    /// Who issued it.
    pub created_by: Id,
    /// When.
    pub created_at: i64,
    /// Last reminder, if any.
    pub reminded_at: Option<i64>,
    /// When the issuer closed it (no more answers until reopened), if it is closed.
    pub closed_at: Option<i64>,
}

impl Survey {
    /// Whether the issuer has closed it.
    pub fn is_closed(&self) -> bool {
        self.closed_at.is_some()
    }

    /// Whether the deadline has passed at `now`.
    pub fn is_past(&self, now: i64) -> bool {
        now > self.deadline_at
    }

    /// The levels asked, as text.
    pub fn levels_label(&self) -> String {
        if self.levels.is_empty() {
            "Tất cả các trường".into()
        } else {
            self.levels
                .iter()
                .map(|l| l.label())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// What an officer fills in to issue a survey.
#[derive(Debug, Clone)]
pub struct NewSurvey {
    /// Template.
    pub template: &'static Template,
    /// Title.
    pub title: String,
    /// Instructions.
    pub instructions: String,
    /// Deadline, unix ms.
    pub deadline_at: i64,
    /// Late policy.
    pub late_policy: LatePolicy,
    /// Levels asked (empty: all).
    pub levels: Vec<SchoolLevel>,
}

/// What the issuer may change once a survey is issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyEdit {
    /// Deadline, unix ms.
    pub deadline_at: i64,
    /// Late policy.
    pub late_policy: LatePolicy,
    /// Instructions for schools.
    pub instructions: String,
}

/// A survey in a list, with the counts of the schools the viewer sees.
#[derive(Debug, Clone)]
pub struct SurveySummary {
    /// The survey.
    pub survey: Survey,
    /// Schools asked.
    pub schools: i64,
    /// Submitted on time.
    pub submitted: i64,
    /// Submitted late.
    pub late: i64,
}

impl SurveySummary {
    /// Not submitted yet.
    pub fn missing(&self) -> i64 {
        self.schools - self.submitted - self.late
    }
}

/// A school's response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Id.
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// Survey.
    pub survey_id: Id,
    /// Where it is.
    pub status: Status,
    /// The answer (a draft or the submitted one).
    pub answers: Answers,
    /// Last saved, unix ms.
    pub saved_at: Option<i64>,
    /// Submitted, unix ms.
    pub submitted_at: Option<i64>,
    /// Who submitted it.
    pub submitted_by: Option<String>,
    /// Last reminded, unix ms.
    pub reminded_at: Option<i64>,
}

/// One school's line of a survey's results.
#[derive(Debug, Clone)]
pub struct ResultLine {
    /// The school.
    pub school: School,
    /// Its response.
    pub response: Response,
}

/// A school's document kind (the two mandatory conditions of Decision 4725).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// Kế hoạch dạy học trực tuyến.
    OnlinePlan,
    /// Quy chế tổ chức dạy học trực tuyến.
    Regulation,
}

impl DocKind {
    /// Both kinds.
    pub const ALL: [Self; 2] = [Self::OnlinePlan, Self::Regulation];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::OnlinePlan => "online_plan",
            Self::Regulation => "regulation",
        }
    }

    /// From the stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::OnlinePlan => "Kế hoạch dạy học trực tuyến",
            Self::Regulation => "Quy chế tổ chức dạy học trực tuyến",
        }
    }
}

impl TryFrom<String> for DocKind {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::from_code(&s).ok_or(s)
    }
}

/// Where a school's document of a year stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DocStatus {
    /// Nothing uploaded.
    Missing,
    /// The latest version waits for the principal.
    Waiting,
    /// The latest version is approved.
    Approved,
}

impl DocStatus {
    /// Code for CSS and tests.
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Waiting => "waiting",
            Self::Approved => "approved",
        }
    }

    /// The Vietnamese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Missing => "Chưa có",
            Self::Waiting => "Chờ hiệu trưởng phê duyệt",
            Self::Approved => "Đã phê duyệt",
        }
    }
}

/// One uploaded version of a school document.
#[derive(Debug, Clone)]
pub struct SchoolDocument {
    /// Id.
    pub id: Id,
    /// School.
    pub school_id: Id,
    /// School year.
    pub year_id: Id,
    /// Kind.
    pub kind: DocKind,
    /// Version, from 1.
    pub version: i64,
    /// Where the bytes are.
    pub storage_key: String,
    /// File name as uploaded (cleaned).
    pub file_name: String,
    /// Content type recognised from the bytes.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// The uploader's note.
    pub note: String,
    /// Who uploaded it.
    pub uploaded_by_name: String,
    /// When.
    pub uploaded_at: i64,
    /// Who approved it.
    pub approved_by_name: Option<String>,
    /// When.
    pub approved_at: Option<i64>,
}

/// A file to add as a new document version (already checked and stored).
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// Kind.
    pub kind: DocKind,
    /// Storage key.
    pub storage_key: String,
    /// File name.
    pub file_name: String,
    /// Content type.
    pub content_type: String,
    /// Size.
    pub size: i64,
    /// Note.
    pub note: String,
}

/// The status of both documents of a school's current year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocStatuses {
    /// The school.
    pub school_id: Id,
    /// Online-teaching plan.
    pub plan: DocStatus,
    /// Regulation.
    pub regulation: DocStatus,
}

impl DocStatuses {
    /// The status of one kind.
    pub fn of(&self, kind: DocKind) -> DocStatus {
        match kind {
            DocKind::OnlinePlan => self.plan,
            DocKind::Regulation => self.regulation,
        }
    }
}

/// The status of a kind from its versions: the highest version decides.
pub fn doc_status(versions: &[(i64, bool)]) -> DocStatus {
    match versions.iter().max_by_key(|(v, _)| *v) {
        None => DocStatus::Missing,
        Some((_, true)) => DocStatus::Approved,
        Some((_, false)) => DocStatus::Waiting,
    }
}

const SURVEY_COLS: &str = "s.id, s.unit_id, s.unit_path, u.name AS unit_name, s.template, s.title, \
    s.instructions, s.deadline_at, s.late_policy, s.levels, s.created_by, s.created_at, s.reminded_at, s.closed_at";
const RESPONSE_COLS: &str = "r.id AS r_id, r.school_id AS r_school_id, r.survey_id AS r_survey_id, \
    r.status AS r_status, r.late AS r_late, r.answers AS r_answers, r.saved_at AS r_saved_at, \
    r.submitted_at AS r_submitted_at, r.reminded_at AS r_reminded_at, sb.full_name AS r_submitted_by";
const DOC_COLS: &str = "d.id, d.school_id, d.year_id, d.kind, d.version, d.storage_key, d.file_name, \
    d.content_type, d.size, d.note, up.full_name AS uploaded_by_name, d.uploaded_at, \
    ap.full_name AS approved_by_name, d.approved_at";

fn opt_i64(row: &AnyRow, col: &str) -> DbResult<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}

fn survey_from(row: &AnyRow) -> DbResult<Survey> {
    let code = get_str(row, "template")?;
    let template = domain::survey::template(&code)
        .ok_or_else(|| DbError::Corrupt(format!("template: {code}")))?;
    let policy = get_str(row, "late_policy")?;
    let levels = get_str(row, "levels")?
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| SchoolLevel::from_code(s).ok_or_else(|| DbError::Corrupt(format!("level: {s}"))))
        .collect::<DbResult<Vec<_>>>()?;
    Ok(Survey {
        id: get_id(row, "id")?,
        unit_id: get_id(row, "unit_id")?,
        unit_path: get_str(row, "unit_path")?,
        unit_name: get_str(row, "unit_name")?,
        template,
        title: get_str(row, "title")?,
        instructions: get_str(row, "instructions")?,
        deadline_at: get_i64(row, "deadline_at")?,
        late_policy: LatePolicy::from_code(&policy)
            .ok_or_else(|| DbError::Corrupt(format!("late_policy: {policy}")))?,
        levels,
        created_by: get_id(row, "created_by")?,
        created_at: get_i64(row, "created_at")?,
        reminded_at: opt_i64(row, "reminded_at")?,
        closed_at: opt_i64(row, "closed_at")?,
    })
}

fn response_from(row: &AnyRow) -> DbResult<Response> {
    let status = match get_str(row, "r_status")?.as_str() {
        "missing" => Status::Missing,
        "draft" => Status::Draft,
        "submitted" if get_bool(row, "r_late")? => Status::Late,
        "submitted" => Status::Submitted,
        other => return Err(DbError::Corrupt(format!("survey status: {other}"))),
    };
    let raw = get_str(row, "r_answers")?;
    let answers: Answers =
        serde_json::from_str(&raw).map_err(|e| DbError::Corrupt(format!("survey answers: {e}")))?;
    Ok(Response {
        id: get_id(row, "r_id")?,
        school_id: get_id(row, "r_school_id")?,
        survey_id: get_id(row, "r_survey_id")?,
        status,
        answers,
        saved_at: opt_i64(row, "r_saved_at")?,
        submitted_at: opt_i64(row, "r_submitted_at")?,
        submitted_by: get_opt_str(row, "r_submitted_by")?,
        reminded_at: opt_i64(row, "r_reminded_at")?,
    })
}

fn school_from(row: &AnyRow) -> DbResult<School> {
    Ok(School {
        id: get_id(row, "sc_id")?,
        unit_id: get_id(row, "sc_unit_id")?,
        unit_path: get_str(row, "sc_unit_path")?,
        code: get_str(row, "sc_code")?,
        name: get_str(row, "sc_name")?,
        level: get_code(row, "sc_level")?,
        address: get_str(row, "sc_address")?,
    })
}

const SCHOOL_COLS: &str = "sc.id AS sc_id, sc.unit_id AS sc_unit_id, sc.unit_path AS sc_unit_path, \
    sc.code AS sc_code, sc.name AS sc_name, sc.level AS sc_level, sc.address AS sc_address";

fn doc_from(row: &AnyRow) -> DbResult<SchoolDocument> {
    Ok(SchoolDocument {
        id: get_id(row, "id")?,
        school_id: get_id(row, "school_id")?,
        year_id: get_id(row, "year_id")?,
        kind: get_code(row, "kind")?,
        version: get_i64(row, "version")?,
        storage_key: get_str(row, "storage_key")?,
        file_name: get_str(row, "file_name")?,
        content_type: get_str(row, "content_type")?,
        size: get_i64(row, "size")?,
        note: get_str(row, "note")?,
        uploaded_by_name: get_str(row, "uploaded_by_name")?,
        uploaded_at: get_i64(row, "uploaded_at")?,
        approved_by_name: get_opt_str(row, "approved_by_name")?,
        approved_at: opt_i64(row, "approved_at")?,
    })
}

/// The active principal and school-admin accounts of the given schools: who is told about a
/// survey and reminded of it.
async fn managers_of<'e, E>(exec: E, school_ids: &[Id]) -> DbResult<Vec<Id>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    if school_ids.is_empty() {
        return Ok(vec![]);
    }
    // Ids are ours (UUIDs), so an IN list of placeholders is safe and portable.
    let marks: Vec<String> = (1..=school_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT DISTINCT g.user_id FROM role_grants g JOIN users u ON u.id = g.user_id \
         WHERE g.role IN ('principal', 'school_admin') AND u.status = 'active' \
         AND g.school_id IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for id in school_ids {
        q = q.bind(id.to_string());
    }
    let rows = q.fetch_all(exec).await?;
    rows.iter().map(|r| get_id(r, "user_id")).collect()
}

impl Db {
    // ----- surveys -----

    /// Issues a survey from `unit` to every school of its subtree of the levels asked: one
    /// response row per school, a notice in each school's managers' inboxes and an audit row, in
    /// one transaction. Returns the survey and how many schools it asks.
    pub async fn create_survey(
        &self,
        unit: &Unit,
        new: &NewSurvey,
        actor: Id,
    ) -> DbResult<(Id, usize)> {
        let schools: Vec<School> = self
            .schools_within(&unit.path)
            .await?
            .into_iter()
            .filter(|s| domain::survey::targets_level(&new.levels, s.level))
            .collect();
        if schools.is_empty() {
            return Err(DbError::Conflict(
                "Không có trường nào thuộc đơn vị và cấp học đã chọn: chưa phát hành khảo sát."
                    .into(),
            ));
        }
        let id = new_id();
        let now = now_ms();
        let levels = new
            .levels
            .iter()
            .map(|l| l.code())
            .collect::<Vec<_>>()
            .join(",");
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO surveys (id, unit_id, unit_path, template, title, instructions, deadline_at, \
             late_policy, levels, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id.to_string())
        .bind(unit.id.to_string())
        .bind(&unit.path)
        .bind(new.template.code)
        .bind(&new.title)
        .bind(&new.instructions)
        .bind(new.deadline_at)
        .bind(new.late_policy.code())
        .bind(&levels)
        .bind(actor.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let rows: Vec<Vec<Val>> = schools
            .iter()
            .map(|s| {
                vec![
                    new_id().to_string().into(),
                    s.id.to_string().into(),
                    id.to_string().into(),
                ]
            })
            .collect();
        crate::insert_many(
            &mut tx,
            "INSERT INTO survey_responses (id, school_id, survey_id)",
            &rows,
        )
        .await?;
        let title = format!("Khảo sát mới: {}", new.title);
        let body = format!(
            "{} đề nghị nhà trường nộp trước {}.",
            unit.name,
            format_ms(new.deadline_at)
        );
        for s in &schools {
            // Each school's notice leads to its own form.
            let users = managers_of(&mut *tx, &[s.id]).await?;
            crate::family::notify_all(
                &mut tx,
                &users,
                Some(s.id),
                "survey",
                &title,
                &body,
                &format!("/schools/{}/surveys/{id}", s.id),
            )
            .await?;
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: None,
                actor_id: Some(actor),
                action: "survey.create",
                entity: "survey",
                entity_id: Some(id),
                detail: serde_json::json!({
                    "unit": unit.id.to_string(),
                    "template": new.template.code,
                    "title": new.title,
                    "deadline_at": new.deadline_at,
                    "late_policy": new.late_policy.code(),
                    "levels": levels,
                    "schools": schools.len(),
                })
                .to_string(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok((id, schools.len()))
    }

    /// One survey.
    pub async fn survey(&self, id: Id) -> DbResult<Survey> {
        let row = sqlx::query(&format!(
            "SELECT {SURVEY_COLS} FROM surveys s JOIN org_units u ON u.id = s.unit_id WHERE s.id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        survey_from(&row)
    }

    /// The surveys that ask at least one school within `path` (issued there, below or above),
    /// newest first, with the counts of those schools only.
    pub async fn surveys_within(&self, path: &str) -> DbResult<Vec<SurveySummary>> {
        let rows = sqlx::query(&format!(
            "SELECT {SURVEY_COLS}, COUNT(r.id) AS n_schools, \
             CAST(SUM(CASE WHEN r.status = 'submitted' AND r.late = 0 THEN 1 ELSE 0 END) AS BIGINT) AS n_submitted, \
             CAST(SUM(CASE WHEN r.status = 'submitted' AND r.late = 1 THEN 1 ELSE 0 END) AS BIGINT) AS n_late \
             FROM surveys s JOIN org_units u ON u.id = s.unit_id \
             JOIN survey_responses r ON r.survey_id = s.id \
             JOIN schools sc ON sc.id = r.school_id \
             WHERE sc.unit_path LIKE $1 \
             GROUP BY s.id, s.unit_id, s.unit_path, u.name, s.template, s.title, s.instructions, \
             s.deadline_at, s.late_policy, s.levels, s.created_by, s.created_at, s.reminded_at \
             ORDER BY s.created_at DESC"
        ))
        .bind(format!("{path}%"))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SurveySummary {
                    survey: survey_from(r)?,
                    schools: get_i64(r, "n_schools")?,
                    submitted: get_i64(r, "n_submitted")?,
                    late: get_i64(r, "n_late")?,
                })
            })
            .collect()
    }

    /// The responses of a survey from the schools within `path`, by school name.
    pub async fn survey_lines(&self, survey_id: Id, path: &str) -> DbResult<Vec<ResultLine>> {
        let rows = sqlx::query(&format!(
            "SELECT {SCHOOL_COLS}, {RESPONSE_COLS} FROM survey_responses r \
             JOIN schools sc ON sc.id = r.school_id \
             LEFT JOIN users sb ON sb.id = r.submitted_by \
             WHERE r.survey_id = $1 AND sc.unit_path LIKE $2 ORDER BY sc.name"
        ))
        .bind(survey_id.to_string())
        .bind(format!("{path}%"))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ResultLine {
                    school: school_from(r)?,
                    response: response_from(r)?,
                })
            })
            .collect()
    }

    /// A school's response to a survey (none when the survey does not ask the school).
    pub async fn survey_response(
        &self,
        survey_id: Id,
        school_id: Id,
    ) -> DbResult<Option<Response>> {
        let row = sqlx::query(&format!(
            "SELECT {RESPONSE_COLS} FROM survey_responses r LEFT JOIN users sb ON sb.id = r.submitted_by \
             WHERE r.school_id = $1 AND r.survey_id = $2"
        ))
        .bind(school_id.to_string())
        .bind(survey_id.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(response_from).transpose()
    }

    /// The surveys that ask a school, open ones (by deadline) first.
    pub async fn surveys_of_school(&self, school_id: Id) -> DbResult<Vec<(Survey, Response)>> {
        let rows = sqlx::query(&format!(
            "SELECT {SURVEY_COLS}, {RESPONSE_COLS} FROM survey_responses r \
             JOIN surveys s ON s.id = r.survey_id JOIN org_units u ON u.id = s.unit_id \
             LEFT JOIN users sb ON sb.id = r.submitted_by \
             WHERE r.school_id = $1 ORDER BY s.deadline_at DESC"
        ))
        .bind(school_id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut out = rows
            .iter()
            .map(|r| Ok((survey_from(r)?, response_from(r)?)))
            .collect::<DbResult<Vec<_>>>()?;
        // What is still to do first, soonest deadline first; then what is handed in.
        out.sort_by_key(|(s, r)| {
            (
                r.status.is_in(),
                if r.status.is_in() {
                    -s.deadline_at
                } else {
                    s.deadline_at
                },
            )
        });
        Ok(out)
    }

    /// The answer the school last submitted to a survey of the same template (for pre-filling
    /// figures that change slowly, like computers), other than `except`.
    pub async fn previous_answers(
        &self,
        school_id: Id,
        template: &str,
        except: Id,
    ) -> DbResult<Option<Answers>> {
        let row = sqlx::query(
            "SELECT r.answers FROM survey_responses r JOIN surveys s ON s.id = r.survey_id \
             WHERE r.school_id = $1 AND s.template = $2 AND r.status = 'submitted' AND r.survey_id <> $3 \
             ORDER BY r.submitted_at DESC LIMIT 1",
        )
        .bind(school_id.to_string())
        .bind(template)
        .bind(except.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            serde_json::from_str(&get_str(&r, "answers")?)
                .map_err(|e| DbError::Corrupt(format!("survey answers: {e}")))
        })
        .transpose()
    }

    /// Saves a school's draft, or submits it (`late` as the caller judged against the deadline
    /// and the policy). A submitted answer is final: saving again is refused and changes
    /// nothing. Submissions are audited.
    pub async fn save_response(
        &self,
        survey: &Survey,
        school_id: Id,
        answers: &Answers,
        submit: bool,
        late: bool,
        actor: Id,
    ) -> DbResult<()> {
        let now = now_ms();
        let json = serde_json::to_string(answers)
            .map_err(|e| DbError::Corrupt(format!("survey answers: {e}")))?;
        let mut tx = self.pool().begin().await?;
        let n = if submit {
            sqlx::query(
                "UPDATE survey_responses SET status = 'submitted', answers = $3, late = $4, \
                 saved_by = $5, saved_at = $6, submitted_by = $5, submitted_at = $6 \
                 WHERE school_id = $1 AND survey_id = $2 AND status <> 'submitted' \
                 AND NOT EXISTS (SELECT 1 FROM surveys WHERE id = $2 AND closed_at IS NOT NULL)",
            )
            .bind(school_id.to_string())
            .bind(survey.id.to_string())
            .bind(&json)
            .bind(i64::from(late))
            .bind(actor.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        } else {
            sqlx::query(
                "UPDATE survey_responses SET status = 'draft', answers = $3, saved_by = $4, saved_at = $5 \
                 WHERE school_id = $1 AND survey_id = $2 AND status <> 'submitted' \
                 AND NOT EXISTS (SELECT 1 FROM surveys WHERE id = $2 AND closed_at IS NOT NULL)",
            )
            .bind(school_id.to_string())
            .bind(survey.id.to_string())
            .bind(&json)
            .bind(actor.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        };
        if n == 0 {
            drop(tx);
            if let Some(at) = self.survey(survey.id).await?.closed_at {
                return Err(DbError::Conflict(closed_message(&survey.unit_name, at)));
            }
            return match self.survey_response(survey.id, school_id).await? {
                None => Err(DbError::NotFound),
                Some(_) => Err(DbError::Conflict(
                    "Nhà trường đã nộp khảo sát này; bản đã nộp không sửa được.".into(),
                )),
            };
        }
        if submit {
            audit(
                &mut *tx,
                &AuditEntry {
                    school_id: Some(school_id),
                    actor_id: Some(actor),
                    action: if late {
                        "survey.submit_late"
                    } else {
                        "survey.submit"
                    },
                    entity: "survey",
                    entity_id: Some(survey.id),
                    detail: json,
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Changes the deadline, the late policy or the instructions of an issued survey, audited
    /// with the values before and after. When the deadline moves, the principal and school
    /// admins of every school that has not submitted yet are told the new one. Returns how many
    /// accounts were told.
    pub async fn update_survey(
        &self,
        survey: &Survey,
        edit: &SurveyEdit,
        actor: Id,
    ) -> DbResult<usize> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE surveys SET deadline_at = $2, late_policy = $3, instructions = $4 WHERE id = $1",
        )
        .bind(survey.id.to_string())
        .bind(edit.deadline_at)
        .bind(edit.late_policy.code())
        .bind(&edit.instructions)
        .execute(&mut *tx)
        .await?;
        let mut told = 0;
        if edit.deadline_at != survey.deadline_at {
            let pending: Vec<Id> = sqlx::query(
                "SELECT school_id FROM survey_responses WHERE survey_id = $1 AND status <> 'submitted'",
            )
            .bind(survey.id.to_string())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| get_id(r, "school_id"))
            .collect::<DbResult<_>>()?;
            let title = format!("Hạn nộp mới: {}", survey.title);
            let body = format!(
                "{} đổi hạn nộp khảo sát từ {} thành {}.",
                survey.unit_name,
                format_ms(survey.deadline_at),
                format_ms(edit.deadline_at)
            );
            for id in &pending {
                let users = managers_of(&mut *tx, &[*id]).await?;
                told += users.len();
                crate::family::notify_all(
                    &mut tx,
                    &users,
                    Some(*id),
                    "survey_deadline",
                    &title,
                    &body,
                    &format!("/schools/{id}/surveys/{}", survey.id),
                )
                .await?;
            }
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: None,
                actor_id: Some(actor),
                action: "survey.update",
                entity: "survey",
                entity_id: Some(survey.id),
                detail: serde_json::json!({
                    "before": {
                        "deadline_at": survey.deadline_at,
                        "late_policy": survey.late_policy.code(),
                        "instructions": survey.instructions,
                    },
                    "after": {
                        "deadline_at": edit.deadline_at,
                        "late_policy": edit.late_policy.code(),
                        "instructions": edit.instructions,
                    },
                    "notified": told,
                })
                .to_string(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(told)
    }

    /// Closes a survey (`close`) so that no school can save or submit any more, or reopens it;
    /// audited. Closing a closed survey, or reopening an open one, is refused.
    pub async fn set_survey_closed(&self, survey: &Survey, close: bool, actor: Id) -> DbResult<()> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let n = if close {
            sqlx::query(
                "UPDATE surveys SET closed_at = $2, closed_by = $3 WHERE id = $1 AND closed_at IS NULL",
            )
            .bind(survey.id.to_string())
            .bind(now)
            .bind(actor.to_string())
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query(
                "UPDATE surveys SET closed_at = NULL, closed_by = NULL WHERE id = $1 AND closed_at IS NOT NULL",
            )
            .bind(survey.id.to_string())
            .execute(&mut *tx)
            .await?
        }
        .rows_affected();
        if n == 0 {
            return Err(DbError::Conflict(if close {
                format!("Khảo sát \"{}\" đã đóng từ trước.", survey.title)
            } else {
                format!("Khảo sát \"{}\" đang mở; không cần mở lại.", survey.title)
            }));
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: None,
                actor_id: Some(actor),
                action: if close {
                    "survey.close"
                } else {
                    "survey.reopen"
                },
                entity: "survey",
                entity_id: Some(survey.id),
                detail: serde_json::json!({ "at": now }).to_string(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reminds the given schools of a survey: a notice to each one's principal and school
    /// admins, their reminder time and the survey's set, audited. Schools that already
    /// submitted are skipped. Returns how many accounts were reminded.
    pub async fn remind_survey(
        &self,
        survey: &Survey,
        school_ids: &[Id],
        actor: Id,
    ) -> DbResult<usize> {
        let now = now_ms();
        let mut pending = Vec::new();
        for id in school_ids {
            if let Some(r) = self.survey_response(survey.id, *id).await?
                && !r.status.is_in()
            {
                pending.push(*id);
            }
        }
        let mut tx = self.pool().begin().await?;
        let title = format!("Nhắc nộp khảo sát: {}", survey.title);
        let body = format!(
            "{} nhắc nhà trường nộp khảo sát, hạn {}.",
            survey.unit_name,
            format_ms(survey.deadline_at)
        );
        let mut reminded = 0;
        for id in &pending {
            sqlx::query(
                "UPDATE survey_responses SET reminded_at = $3 WHERE school_id = $1 AND survey_id = $2",
            )
            .bind(id.to_string())
            .bind(survey.id.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let users = managers_of(&mut *tx, &[*id]).await?;
            reminded += users.len();
            crate::family::notify_all(
                &mut tx,
                &users,
                Some(*id),
                "survey_reminder",
                &title,
                &body,
                &format!("/schools/{id}/surveys/{}", survey.id),
            )
            .await?;
        }
        sqlx::query("UPDATE surveys SET reminded_at = $2 WHERE id = $1")
            .bind(survey.id.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: None,
                actor_id: Some(actor),
                action: "survey.remind",
                entity: "survey",
                entity_id: Some(survey.id),
                detail: serde_json::json!({ "schools": pending.len(), "accounts": reminded })
                    .to_string(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(reminded)
    }

    // ----- school documents -----

    /// Adds a new version of a school document (the file already stored) and audits it. A new
    /// version after an approved one waits for approval again.
    pub async fn add_school_document(
        &self,
        school_id: Id,
        year_id: Id,
        doc: &NewDocument,
        actor: Id,
    ) -> DbResult<Id> {
        let id = new_id();
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) AS v FROM school_documents \
             WHERE school_id = $1 AND year_id = $2 AND kind = $3",
        )
        .bind(school_id.to_string())
        .bind(year_id.to_string())
        .bind(doc.kind.code())
        .fetch_one(&mut *tx)
        .await?;
        let version = get_i64(&row, "v")? + 1;
        sqlx::query(
            "INSERT INTO school_documents (id, school_id, year_id, kind, version, storage_key, file_name, \
             content_type, size, note, uploaded_by, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(id.to_string())
        .bind(school_id.to_string())
        .bind(year_id.to_string())
        .bind(doc.kind.code())
        .bind(version)
        .bind(&doc.storage_key)
        .bind(&doc.file_name)
        .bind(&doc.content_type)
        .bind(doc.size)
        .bind(&doc.note)
        .bind(actor.to_string())
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            crate::conflict_on_unique(
                e,
                "Một phiên bản khác vừa được tải lên cùng lúc; hãy tải lại trang và thử lại.",
            )
        })?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: Some(actor),
                action: "document.upload",
                entity: "school_document",
                entity_id: Some(id),
                detail: serde_json::json!({
                    "kind": doc.kind.code(),
                    "version": version,
                    "file": doc.file_name,
                    "size": doc.size,
                })
                .to_string(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every version of a school's documents for a year, newest first.
    pub async fn school_documents(
        &self,
        school_id: Id,
        year_id: Id,
    ) -> DbResult<Vec<SchoolDocument>> {
        let rows = sqlx::query(&format!(
            "SELECT {DOC_COLS} FROM school_documents d JOIN users up ON up.id = d.uploaded_by \
             LEFT JOIN users ap ON ap.id = d.approved_by \
             WHERE d.school_id = $1 AND d.year_id = $2 ORDER BY d.kind, d.version DESC"
        ))
        .bind(school_id.to_string())
        .bind(year_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(doc_from).collect()
    }

    /// One document version of a school.
    pub async fn school_document(&self, school_id: Id, id: Id) -> DbResult<SchoolDocument> {
        let row = sqlx::query(&format!(
            "SELECT {DOC_COLS} FROM school_documents d JOIN users up ON up.id = d.uploaded_by \
             LEFT JOIN users ap ON ap.id = d.approved_by WHERE d.school_id = $1 AND d.id = $2"
        ))
        .bind(school_id.to_string())
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        doc_from(&row)
    }

    /// Approves the latest version of a document (the principal), audited. An older version,
    /// or one already approved, is refused and nothing changes.
    pub async fn approve_school_document(&self, school_id: Id, id: Id, actor: Id) -> DbResult<()> {
        let doc = self.school_document(school_id, id).await?;
        if doc.approved_at.is_some() {
            return Err(DbError::Conflict(format!(
                "{} phiên bản {} đã được phê duyệt.",
                doc.kind.label(),
                doc.version
            )));
        }
        let mut tx = self.pool().begin().await?;
        // Only the highest version may be approved: the condition is inside the UPDATE, so a
        // newer upload arriving meanwhile wins.
        let n = sqlx::query(
            "UPDATE school_documents SET approved_by = $3, approved_at = $4 \
             WHERE school_id = $1 AND id = $2 AND approved_at IS NULL AND version = ( \
               SELECT MAX(d2.version) FROM school_documents d2 WHERE d2.school_id = $1 \
               AND d2.year_id = $5 AND d2.kind = $6)",
        )
        .bind(school_id.to_string())
        .bind(id.to_string())
        .bind(actor.to_string())
        .bind(now_ms())
        .bind(doc.year_id.to_string())
        .bind(doc.kind.code())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(DbError::Conflict(format!(
                "{} phiên bản {} không còn là bản mới nhất; hãy phê duyệt bản mới nhất.",
                doc.kind.label(),
                doc.version
            )));
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: Some(actor),
                action: "document.approve",
                entity: "school_document",
                entity_id: Some(id),
                detail: serde_json::json!({
                    "kind": doc.kind.code(),
                    "version": doc.version,
                    "before": "waiting",
                    "after": "approved",
                })
                .to_string(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The status of both documents of one school year (for the Circular 09 checklist and the
    /// Decision 4725 mandatory conditions).
    pub async fn document_status(&self, school_id: Id, year_id: Id) -> DbResult<DocStatuses> {
        let docs = self.school_documents(school_id, year_id).await?;
        let of = |k: DocKind| {
            let v: Vec<(i64, bool)> = docs
                .iter()
                .filter(|d| d.kind == k)
                .map(|d| (d.version, d.approved_at.is_some()))
                .collect();
            doc_status(&v)
        };
        Ok(DocStatuses {
            school_id,
            plan: of(DocKind::OnlinePlan),
            regulation: of(DocKind::Regulation),
        })
    }

    /// The status of both documents of each school's current year within `path`, in one
    /// query; schools with nothing uploaded are missing from the map.
    pub async fn document_statuses_within(
        &self,
        path: &str,
    ) -> DbResult<std::collections::HashMap<Id, DocStatuses>> {
        let rows = sqlx::query(
            "SELECT d.school_id, d.kind, d.version, d.approved_at FROM school_documents d \
             JOIN schools sc ON sc.id = d.school_id WHERE sc.unit_path LIKE $1 \
             AND d.year_id = (SELECT y.id FROM school_years y WHERE y.school_id = d.school_id \
               ORDER BY y.is_current DESC, y.start_date DESC LIMIT 1)",
        )
        .bind(format!("{path}%"))
        .fetch_all(self.pool())
        .await?;
        let mut versions: std::collections::HashMap<(Id, DocKind), Vec<(i64, bool)>> =
            std::collections::HashMap::new();
        for r in &rows {
            let kind: DocKind = get_code(r, "kind")?;
            versions
                .entry((get_id(r, "school_id")?, kind))
                .or_default()
                .push((get_i64(r, "version")?, opt_i64(r, "approved_at")?.is_some()));
        }
        let mut out = std::collections::HashMap::new();
        for ((school_id, _), _) in versions.iter() {
            out.entry(*school_id).or_insert_with(|| {
                let of = |k: DocKind| doc_status(versions.get(&(*school_id, k)).map_or(&[], |v| v));
                DocStatuses {
                    school_id: *school_id,
                    plan: of(DocKind::OnlinePlan),
                    regulation: of(DocKind::Regulation),
                }
            });
        }
        Ok(out)
    }
}

/// What a school is told when it tries to answer a survey its issuer has closed.
pub fn closed_message(unit_name: &str, closed_at: i64) -> String {
    format!(
        "{unit_name} đã đóng khảo sát này lúc {}; không nhận thêm bài nộp hay bản nháp. Hãy liên hệ đơn vị phát hành nếu cần mở lại.",
        format_ms(closed_at)
    )
}

/// `dd/mm/yyyy hh:mm` in Vietnam time, for notification texts.
pub fn format_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).expect("valid offset"));
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_version_decides_the_status() {
        assert_eq!(doc_status(&[]), DocStatus::Missing);
        assert_eq!(doc_status(&[(1, false)]), DocStatus::Waiting);
        assert_eq!(doc_status(&[(1, true)]), DocStatus::Approved);
        // A new upload after approval waits for approval again.
        assert_eq!(doc_status(&[(1, true), (2, false)]), DocStatus::Waiting);
        assert_eq!(doc_status(&[(2, true), (1, false)]), DocStatus::Approved);
        assert_eq!(DocKind::from_code("regulation"), Some(DocKind::Regulation));
    }

    #[test]
    fn notice_times_are_vietnam_time() {
        // 2025-09-05 10:00 UTC is 17:00 in Hà Nội.
        assert_eq!(format_ms(1_757_066_400_000), "05/09/2025 17:00");
    }
}
