//! Decision 4725 self-assessments and the Circular 09 checklist: the versioned criteria
//! catalogue, each school's yearly assessment (values, evidence, the reviewer's comments), the
//! province's deadlines, and the platform figures both are filled from.
//!
//! The catalogue is seeded on first use from `data/d4725_catalogue.json` (embedded); every
//! edit writes a whole new version, and an assessment keeps the version it was made with.
//! Status changes are conditional updates (`… WHERE status = 'submitted'`), so two reviewers
//! clicking at once cannot both succeed; every change leaves an audit row in its transaction.

use crate::audit::{AuditEntry, write as audit};
use crate::{Db, DbError, DbResult, get_i64, get_id, get_opt_str, get_str, now_ms};
use domain::d4725::{Catalogue, Criterion, Scoring, Status};
use domain::{Id, new_id};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;

/// The catalogue the installation starts with.
pub const SEED_JSON: &str = include_str!("../data/d4725_catalogue.json");

/// The seed catalogue, parsed.
pub fn seed_catalogue() -> DbResult<Catalogue> {
    serde_json::from_str(SEED_JSON).map_err(|e| DbError::Corrupt(format!("d4725 seed: {e}")))
}

/// One stored version of the catalogue.
#[derive(Debug, Clone)]
pub struct CatalogueVersion {
    /// Id.
    pub id: Id,
    /// 1, 2, …
    pub version: i64,
    /// The criteria and bands.
    pub catalogue: Catalogue,
    /// What the edit changed.
    pub change_note: String,
    /// Who made it (none for the seed).
    pub created_by_name: Option<String>,
    /// When, unix ms.
    pub created_at: i64,
}

/// A file attached as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceFile {
    /// Storage key.
    pub key: String,
    /// Clean file name.
    pub name: String,
    /// Content type recognised from the bytes.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
}

/// A school's self-assessment of one year.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// Id.
    pub id: Id,
    /// The school.
    pub school_id: Id,
    /// The school year starting in this year.
    pub start_year: i32,
    /// The catalogue version it was made with.
    pub catalogue_id: Id,
    /// Where it is in the cycle.
    pub status: Status,
    /// Returns so far.
    pub round: i64,
    /// Frozen totals (tenths) and levels, set at submission.
    pub total1: Option<i64>,
    /// Group 2 total.
    pub total2: Option<i64>,
    /// Group 1 level.
    pub level1: Option<i64>,
    /// Group 2 level.
    pub level2: Option<i64>,
    /// Overall level.
    pub level: Option<i64>,
    /// Submitted at (last submission).
    pub submitted_at: Option<i64>,
    /// Reviewed at (last return or approval).
    pub reviewed_at: Option<i64>,
    /// The reviewer's general note.
    pub review_note: String,
    /// Published at.
    pub published_at: Option<i64>,
    /// Last change.
    pub updated_at: i64,
}

/// One criterion's stored value and evidence.
#[derive(Debug, Clone, Default)]
pub struct Item {
    /// Criterion code.
    pub code: String,
    /// What the school typed.
    pub entered: Option<i64>,
    /// The frozen platform figure.
    pub measured: Option<i64>,
    /// The school's note.
    pub note: String,
    /// A link given as evidence.
    pub url: Option<String>,
    /// A file given as evidence.
    pub file: Option<EvidenceFile>,
    /// Last change.
    pub updated_at: i64,
}

impl Item {
    /// Whether a file or a link is attached.
    pub fn has_evidence(&self) -> bool {
        self.file.is_some() || self.url.as_deref().is_some_and(|u| !u.is_empty())
    }
}

/// A change of one criterion by the school.
#[derive(Debug, Clone, Default)]
pub struct ItemUpdate {
    /// New typed value.
    pub entered: Option<i64>,
    /// New note.
    pub note: String,
    /// New link (empty removes it).
    pub url: Option<String>,
    /// A new file replaces the old one; none keeps it.
    pub file: Option<EvidenceFile>,
    /// Removes the attached file.
    pub remove_file: bool,
}

/// A reviewer's comment on one criterion.
#[derive(Debug, Clone)]
pub struct Comment {
    /// Criterion code.
    pub code: String,
    /// Which return it belongs to (1 = the first).
    pub round: i64,
    /// The text.
    pub body: String,
    /// Who wrote it.
    pub author_name: Option<String>,
    /// When.
    pub created_at: i64,
}

/// Frozen results written at submission.
#[derive(Debug, Clone, Copy)]
pub struct Totals {
    /// Group 1 total, tenths.
    pub total1: i64,
    /// Group 2 total, tenths.
    pub total2: i64,
    /// Group 1 level.
    pub level1: u8,
    /// Group 2 level.
    pub level2: u8,
    /// Overall level.
    pub level: u8,
}

/// Manual evidence of one Circular 09 checklist item.
#[derive(Debug, Clone, Default)]
pub struct Tt09Evidence {
    /// The item key.
    pub item: String,
    /// Note.
    pub note: String,
    /// Link.
    pub url: Option<String>,
    /// File.
    pub file: Option<EvidenceFile>,
    /// Last change.
    pub updated_at: i64,
}

/// A record behind a checklist count, to link to.
#[derive(Debug, Clone)]
pub struct Record {
    /// Where it is (`/courses/…/tasks/…`).
    pub href: String,
    /// What it is.
    pub title: String,
    /// When, unix ms (0 when the link is to a page rather than a dated record).
    pub at: i64,
}

/// The platform figures of a school and year, with samples of the records behind them.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Every measure key that could be computed, with its value; a key missing means the
    /// figure is not available on this installation (for example no live classes yet).
    pub measures: BTreeMap<String, i64>,
    /// Latest records per measure key.
    pub samples: BTreeMap<String, Vec<Record>>,
    /// Periodic tests published online in the year.
    pub periodic_tests: i64,
    /// Of which neither in the computer room nor justified by force majeure.
    pub periodic_unjustified: i64,
    /// Materials in the library (approved or not).
    pub materials_total: i64,
    /// Parent accounts.
    pub parents_total: i64,
    /// Active staff.
    pub staff_total: i64,
}

const SA_COLS: &str = "id, school_id, start_year, catalogue_id, status, round, total1, total2, \
     level1, level2, level, submitted_at, reviewed_at, review_note, published_at, updated_at";

fn opt_i64(row: &AnyRow, col: &str) -> DbResult<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}

fn assessment_from(row: &AnyRow) -> DbResult<Assessment> {
    let status = get_str(row, "status")?;
    Ok(Assessment {
        id: get_id(row, "id")?,
        school_id: get_id(row, "school_id")?,
        start_year: get_i64(row, "start_year")? as i32,
        catalogue_id: get_id(row, "catalogue_id")?,
        status: Status::from_code(&status)
            .ok_or_else(|| DbError::Corrupt(format!("status: {status}")))?,
        round: get_i64(row, "round")?,
        total1: opt_i64(row, "total1")?,
        total2: opt_i64(row, "total2")?,
        level1: opt_i64(row, "level1")?,
        level2: opt_i64(row, "level2")?,
        level: opt_i64(row, "level")?,
        submitted_at: opt_i64(row, "submitted_at")?,
        reviewed_at: opt_i64(row, "reviewed_at")?,
        review_note: get_str(row, "review_note")?,
        published_at: opt_i64(row, "published_at")?,
        updated_at: get_i64(row, "updated_at")?,
    })
}

fn file_from(row: &AnyRow) -> DbResult<Option<EvidenceFile>> {
    Ok(match get_opt_str(row, "file_key")? {
        Some(key) => Some(EvidenceFile {
            key,
            name: get_opt_str(row, "file_name")?.unwrap_or_default(),
            content_type: get_opt_str(row, "content_type")?.unwrap_or_default(),
            size: opt_i64(row, "file_size")?.unwrap_or(0),
        }),
        None => None,
    })
}

fn item_from(row: &AnyRow) -> DbResult<Item> {
    Ok(Item {
        code: get_str(row, "code")?,
        entered: opt_i64(row, "entered")?,
        measured: opt_i64(row, "measured")?,
        note: get_str(row, "note")?,
        url: get_opt_str(row, "evidence_url")?,
        file: file_from(row)?,
        updated_at: get_i64(row, "updated_at")?,
    })
}

/// The first and last unix ms of a school year's cycle: 1 August to 1 August, Vietnam time.
pub fn cycle_window(start_year: i32) -> (i64, i64) {
    let at = |y: i32| {
        time::Date::from_calendar_date(y, time::Month::August, 1)
            .map(|d| (d.midnight().assume_utc().unix_timestamp() - 7 * 3600) * 1000)
            .unwrap_or(0)
    };
    (at(start_year), at(start_year + 1))
}

fn item_json(i: &Item) -> serde_json::Value {
    serde_json::json!({
        "entered": i.entered,
        "note": i.note,
        "url": i.url,
        "file": i.file.as_ref().map(|f| &f.name),
    })
}

impl Db {
    // ----- catalogue -----

    /// The current (latest) catalogue, seeding version 1 from the data file on first use.
    pub async fn sa_current_catalogue(&self) -> DbResult<CatalogueVersion> {
        let row = sqlx::query("SELECT id FROM sa_catalogues ORDER BY version DESC LIMIT 1")
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(r) => self.sa_catalogue(get_id(&r, "id")?).await,
            None => {
                let seed = seed_catalogue()?;
                match self.sa_insert_catalogue(&seed, 1, "", None).await {
                    Ok(v) => Ok(v),
                    // Another request seeded it at the same moment.
                    Err(DbError::Conflict(_)) => Box::pin(self.sa_current_catalogue()).await,
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// One version of the catalogue.
    pub async fn sa_catalogue(&self, id: Id) -> DbResult<CatalogueVersion> {
        let head = sqlx::query(
            "SELECT c.id, c.version, c.name, c.note, c.bands, c.mandatory_cap, c.change_note, \
             c.created_at, u.full_name AS author FROM sa_catalogues c \
             LEFT JOIN users u ON u.id = c.created_by WHERE c.id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        let rows = sqlx::query(
            "SELECT code, group_no, title, hint, max_points, mandatory, measure, scoring, \
             confidence FROM sa_criteria WHERE catalogue_id = $1 ORDER BY position",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut criteria = Vec::with_capacity(rows.len());
        for r in &rows {
            let scoring: Scoring = serde_json::from_str(&get_str(r, "scoring")?)
                .map_err(|e| DbError::Corrupt(format!("scoring: {e}")))?;
            criteria.push(Criterion {
                code: get_str(r, "code")?,
                group: get_i64(r, "group_no")? as u8,
                title: get_str(r, "title")?,
                hint: get_str(r, "hint")?,
                max_points: get_i64(r, "max_points")?,
                mandatory: crate::get_bool(r, "mandatory")?,
                measure: get_opt_str(r, "measure")?,
                scoring,
                confidence: get_str(r, "confidence")?,
            });
        }
        let bands = serde_json::from_str(&get_str(&head, "bands")?)
            .map_err(|e| DbError::Corrupt(format!("bands: {e}")))?;
        Ok(CatalogueVersion {
            id,
            version: get_i64(&head, "version")?,
            catalogue: Catalogue {
                name: get_str(&head, "name")?,
                note: get_str(&head, "note")?,
                criteria,
                bands,
                mandatory_cap: get_i64(&head, "mandatory_cap")? as u8,
            },
            change_note: get_str(&head, "change_note")?,
            created_by_name: get_opt_str(&head, "author")?,
            created_at: get_i64(&head, "created_at")?,
        })
    }

    /// Every version, newest first: (id, version, change note, when, by whom).
    pub async fn sa_catalogue_versions(
        &self,
    ) -> DbResult<Vec<(Id, i64, String, i64, Option<String>)>> {
        let rows = sqlx::query(
            "SELECT c.id, c.version, c.change_note, c.created_at, u.full_name AS author \
             FROM sa_catalogues c LEFT JOIN users u ON u.id = c.created_by \
             ORDER BY c.version DESC",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    get_id(r, "id")?,
                    get_i64(r, "version")?,
                    get_str(r, "change_note")?,
                    get_i64(r, "created_at")?,
                    get_opt_str(r, "author")?,
                ))
            })
            .collect()
    }

    /// Saves an edited catalogue as the next version (the caller validated it) and audits it.
    /// `based_on` is the version the admin edited: if someone saved in between, the edit is
    /// refused rather than silently overwriting theirs.
    pub async fn sa_save_catalogue(
        &self,
        cat: &Catalogue,
        based_on: i64,
        change_note: &str,
        actor: Id,
    ) -> DbResult<CatalogueVersion> {
        let current = self.sa_current_catalogue().await?;
        if current.version != based_on {
            return Err(DbError::Conflict(format!(
                "Bộ tiêu chí vừa được sửa thành phiên bản {} trong lúc bạn chỉnh; hãy tải lại trang và sửa lại.",
                current.version
            )));
        }
        self.sa_insert_catalogue(cat, based_on + 1, change_note, Some(actor))
            .await
    }

    async fn sa_insert_catalogue(
        &self,
        cat: &Catalogue,
        version: i64,
        change_note: &str,
        actor: Option<Id>,
    ) -> DbResult<CatalogueVersion> {
        let id = new_id();
        let now = now_ms();
        let bands = serde_json::to_string(&cat.bands)
            .map_err(|e| DbError::Corrupt(format!("bands: {e}")))?;
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO sa_catalogues (id, version, name, note, bands, mandatory_cap, change_note, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.to_string())
        .bind(version)
        .bind(&cat.name)
        .bind(&cat.note)
        .bind(bands)
        .bind(i64::from(cat.mandatory_cap))
        .bind(change_note)
        .bind(actor.map(|a| a.to_string()))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            crate::conflict_on_unique(e, "Phiên bản bộ tiêu chí này vừa được tạo; hãy tải lại trang.")
        })?;
        for (pos, c) in cat.criteria.iter().enumerate() {
            let scoring = serde_json::to_string(&c.scoring)
                .map_err(|e| DbError::Corrupt(format!("scoring: {e}")))?;
            sqlx::query(
                "INSERT INTO sa_criteria (id, catalogue_id, position, code, group_no, title, hint, max_points, mandatory, measure, scoring, confidence) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(new_id().to_string())
            .bind(id.to_string())
            .bind(pos as i64)
            .bind(&c.code)
            .bind(i64::from(c.group))
            .bind(&c.title)
            .bind(&c.hint)
            .bind(c.max_points)
            .bind(i64::from(c.mandatory))
            .bind(c.measure.clone())
            .bind(scoring)
            .bind(&c.confidence)
            .execute(&mut *tx)
            .await?;
        }
        if actor.is_some() {
            audit(
                &mut *tx,
                &AuditEntry {
                    school_id: None,
                    actor_id: actor,
                    action: "d4725.catalogue",
                    entity: "sa_catalogue",
                    entity_id: Some(id),
                    detail: format!("phiên bản {version}: {change_note}"),
                },
            )
            .await?;
        }
        tx.commit().await?;
        self.sa_catalogue(id).await
    }

    // ----- deadlines -----

    /// The deadlines a province set (`MM-DD` to submit, `MM-DD` to publish); 31 May and
    /// 20 June by default.
    pub async fn sa_deadlines(&self, unit_id: Id) -> DbResult<(String, String)> {
        let row = sqlx::query("SELECT submit_by, publish_by FROM sa_deadlines WHERE unit_id = $1")
            .bind(unit_id.to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(r) => (get_str(&r, "submit_by")?, get_str(&r, "publish_by")?),
            None => ("05-31".into(), "06-20".into()),
        })
    }

    /// Sets a province's deadlines (validated by the caller) and audits the change.
    pub async fn sa_set_deadlines(
        &self,
        unit_id: Id,
        submit_by: &str,
        publish_by: &str,
        actor: Id,
    ) -> DbResult<()> {
        let before = self.sa_deadlines(unit_id).await?;
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO sa_deadlines (unit_id, submit_by, publish_by, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (unit_id) DO UPDATE SET \
             submit_by = excluded.submit_by, publish_by = excluded.publish_by, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(unit_id.to_string())
        .bind(submit_by)
        .bind(publish_by)
        .bind(actor.to_string())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: None,
                actor_id: Some(actor),
                action: "d4725.deadlines",
                entity: "org_unit",
                entity_id: Some(unit_id),
                detail: format!(
                    "hạn nộp {} → {}, hạn công bố {} → {}",
                    before.0, submit_by, before.1, publish_by
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- assessments -----

    /// A school's assessment of a year, if it was started.
    pub async fn sa_get(&self, school_id: Id, start_year: i32) -> DbResult<Option<Assessment>> {
        let row = sqlx::query(&format!(
            "SELECT {SA_COLS} FROM self_assessments WHERE school_id = $1 AND start_year = $2"
        ))
        .bind(school_id.to_string())
        .bind(i64::from(start_year))
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(assessment_from).transpose()
    }

    /// A school's assessment of a year, started as a draft on the current catalogue if there
    /// is none yet.
    pub async fn sa_get_or_create(
        &self,
        school_id: Id,
        start_year: i32,
        actor: Option<Id>,
    ) -> DbResult<Assessment> {
        if let Some(a) = self.sa_get(school_id, start_year).await? {
            return Ok(a);
        }
        let cat = self.sa_current_catalogue().await?;
        let id = new_id();
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO self_assessments (id, school_id, start_year, catalogue_id, status, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'draft', $5, $6, $6) ON CONFLICT (school_id, start_year) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(school_id.to_string())
        .bind(i64::from(start_year))
        .bind(cat.id.to_string())
        .bind(actor.map(|a| a.to_string()))
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            audit(
                &mut *tx,
                &AuditEntry {
                    school_id: Some(school_id),
                    actor_id: actor,
                    action: "d4725.start",
                    entity: "self_assessment",
                    entity_id: Some(id),
                    detail: format!(
                        "năm học {}, bộ tiêu chí phiên bản {}",
                        domain::d4725::cycle_label(start_year),
                        cat.version
                    ),
                },
            )
            .await?;
        }
        tx.commit().await?;
        self.sa_get(school_id, start_year)
            .await?
            .ok_or(DbError::NotFound)
    }

    /// An assessment by id.
    pub async fn sa_by_id(&self, id: Id) -> DbResult<Assessment> {
        let row = sqlx::query(&format!(
            "SELECT {SA_COLS} FROM self_assessments WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        assessment_from(&row)
    }

    /// The stored values and evidence, by criterion code.
    pub async fn sa_items(&self, a: &Assessment) -> DbResult<BTreeMap<String, Item>> {
        let rows = sqlx::query(
            "SELECT code, entered, measured, note, evidence_url, file_key, file_name, content_type, \
             file_size, updated_at FROM sa_items WHERE school_id = $1 AND assessment_id = $2",
        )
        .bind(a.school_id.to_string())
        .bind(a.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| item_from(r).map(|i| (i.code.clone(), i)))
            .collect()
    }

    /// Changes one criterion while the school may still edit, and audits before and after.
    /// Returns the file the change replaced (for the caller to delete from storage).
    pub async fn sa_set_item(
        &self,
        a: &Assessment,
        code: &str,
        u: &ItemUpdate,
        actor: Id,
    ) -> DbResult<Option<EvidenceFile>> {
        let mut tx = self.pool().begin().await?;
        // Lock the assessment row's state: the update only goes through while editable.
        let touched = sqlx::query(
            "UPDATE self_assessments SET updated_at = $3 WHERE id = $1 AND school_id = $2 \
             AND status IN ('draft', 'returned')",
        )
        .bind(a.id.to_string())
        .bind(a.school_id.to_string())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if touched == 0 {
            return Err(DbError::Conflict(
                "Hồ sơ tự đánh giá đã nộp: không sửa được nữa (chỉ sửa khi đang soạn hoặc bị trả lại).".into(),
            ));
        }
        let before = sqlx::query(
            "SELECT code, entered, measured, note, evidence_url, file_key, file_name, content_type, \
             file_size, updated_at FROM sa_items WHERE school_id = $1 AND assessment_id = $2 AND code = $3",
        )
        .bind(a.school_id.to_string())
        .bind(a.id.to_string())
        .bind(code)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(item_from)
        .transpose()?;
        let old_file = before.as_ref().and_then(|b| b.file.clone());
        let file = match (&u.file, u.remove_file) {
            (Some(f), _) => Some(f.clone()),
            (None, true) => None,
            (None, false) => old_file.clone(),
        };
        let replaced = match (&old_file, &file) {
            (Some(o), Some(n)) if o.key != n.key => Some(o.clone()),
            (Some(o), None) => Some(o.clone()),
            _ => None,
        };
        let after = Item {
            code: code.to_owned(),
            entered: u.entered,
            measured: None,
            note: u.note.clone(),
            url: u.url.clone().filter(|s| !s.is_empty()),
            file,
            updated_at: now_ms(),
        };
        sqlx::query(
            "INSERT INTO sa_items (id, school_id, assessment_id, code, entered, note, evidence_url, file_key, file_name, content_type, file_size, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (school_id, assessment_id, code) DO UPDATE SET entered = excluded.entered, \
             note = excluded.note, evidence_url = excluded.evidence_url, file_key = excluded.file_key, \
             file_name = excluded.file_name, content_type = excluded.content_type, \
             file_size = excluded.file_size, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(new_id().to_string())
        .bind(a.school_id.to_string())
        .bind(a.id.to_string())
        .bind(code)
        .bind(after.entered)
        .bind(&after.note)
        .bind(after.url.clone())
        .bind(after.file.as_ref().map(|f| f.key.clone()))
        .bind(after.file.as_ref().map(|f| f.name.clone()))
        .bind(after.file.as_ref().map(|f| f.content_type.clone()))
        .bind(after.file.as_ref().map(|f| f.size))
        .bind(actor.to_string())
        .bind(after.updated_at)
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(a.school_id),
                actor_id: Some(actor),
                action: "d4725.item",
                entity: "self_assessment",
                entity_id: Some(a.id),
                detail: serde_json::json!({
                    "criterion": code,
                    "before": before.as_ref().map(item_json),
                    "after": item_json(&after),
                })
                .to_string(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(replaced)
    }

    /// The principal submits: the platform figures and totals are frozen. Only a draft or a
    /// returned assessment can be submitted.
    pub async fn sa_submit(
        &self,
        a: &Assessment,
        measured: &BTreeMap<String, i64>,
        totals: Totals,
        actor: Id,
    ) -> DbResult<()> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let n = sqlx::query(
            "UPDATE self_assessments SET status = 'submitted', total1 = $3, total2 = $4, level1 = $5, \
             level2 = $6, level = $7, submitted_at = $8, submitted_by = $9, updated_at = $8 \
             WHERE id = $1 AND school_id = $2 AND status IN ('draft', 'returned')",
        )
        .bind(a.id.to_string())
        .bind(a.school_id.to_string())
        .bind(totals.total1)
        .bind(totals.total2)
        .bind(i64::from(totals.level1))
        .bind(i64::from(totals.level2))
        .bind(i64::from(totals.level))
        .bind(now)
        .bind(actor.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(DbError::Conflict(
                "Hồ sơ đã được nộp hoặc đã được xét duyệt; không nộp lại được.".into(),
            ));
        }
        sqlx::query(
            "UPDATE sa_items SET measured = NULL WHERE school_id = $1 AND assessment_id = $2",
        )
        .bind(a.school_id.to_string())
        .bind(a.id.to_string())
        .execute(&mut *tx)
        .await?;
        for (code, value) in measured {
            sqlx::query(
                "INSERT INTO sa_items (id, school_id, assessment_id, code, measured, updated_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (school_id, assessment_id, code) \
                 DO UPDATE SET measured = excluded.measured",
            )
            .bind(new_id().to_string())
            .bind(a.school_id.to_string())
            .bind(a.id.to_string())
            .bind(code)
            .bind(*value)
            .bind(actor.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(a.school_id),
                actor_id: Some(actor),
                action: "d4725.submit",
                entity: "self_assessment",
                entity_id: Some(a.id),
                detail: format!(
                    "nộp lần {}: nhóm 1 {} điểm (mức {}), nhóm 2 {} điểm (mức {})",
                    a.round + 1,
                    domain::d4725::fmt_tenths(totals.total1),
                    totals.level1,
                    domain::d4725::fmt_tenths(totals.total2),
                    totals.level2
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The managing unit returns a submitted assessment with one comment per criterion at
    /// fault (at least one).
    pub async fn sa_return(
        &self,
        a: &Assessment,
        comments: &[(String, String)],
        note: &str,
        actor: Id,
    ) -> DbResult<()> {
        if comments.is_empty() {
            return Err(DbError::Conflict(
                "Trả lại hồ sơ cần ít nhất một nhận xét cho tiêu chí cần bổ sung.".into(),
            ));
        }
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let n = sqlx::query(
            "UPDATE self_assessments SET status = 'returned', round = round + 1, reviewed_at = $3, \
             reviewed_by = $4, review_note = $5, updated_at = $3 \
             WHERE id = $1 AND school_id = $2 AND status = 'submitted'",
        )
        .bind(a.id.to_string())
        .bind(a.school_id.to_string())
        .bind(now)
        .bind(actor.to_string())
        .bind(note)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(DbError::Conflict(
                "Chỉ trả lại được hồ sơ đang chờ xét duyệt.".into(),
            ));
        }
        for (code, body) in comments {
            sqlx::query(
                "INSERT INTO sa_comments (id, school_id, assessment_id, code, round, body, author_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(new_id().to_string())
            .bind(a.school_id.to_string())
            .bind(a.id.to_string())
            .bind(code)
            .bind(a.round + 1)
            .bind(body)
            .bind(actor.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(a.school_id),
                actor_id: Some(actor),
                action: "d4725.return",
                entity: "self_assessment",
                entity_id: Some(a.id),
                detail:
                    serde_json::json!({ "round": a.round + 1, "comments": comments, "note": note })
                        .to_string(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The managing unit approves a submitted assessment.
    pub async fn sa_approve(&self, a: &Assessment, note: &str, actor: Id) -> DbResult<()> {
        self.sa_transition(a, "submitted", "approved", "d4725.approve", note, actor)
            .await
    }

    /// The managing unit publishes the level of an approved assessment.
    pub async fn sa_publish(&self, a: &Assessment, actor: Id) -> DbResult<()> {
        self.sa_transition(a, "approved", "published", "d4725.publish", "", actor)
            .await
    }

    async fn sa_transition(
        &self,
        a: &Assessment,
        from: &str,
        to: &str,
        action: &str,
        note: &str,
        actor: Id,
    ) -> DbResult<()> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let sql = if to == "published" {
            "UPDATE self_assessments SET status = $4, published_at = $5, published_by = $6, updated_at = $5 \
             WHERE id = $1 AND school_id = $2 AND status = $3"
        } else {
            "UPDATE self_assessments SET status = $4, reviewed_at = $5, reviewed_by = $6, review_note = $7, \
             updated_at = $5 WHERE id = $1 AND school_id = $2 AND status = $3"
        };
        let mut q = sqlx::query(sql)
            .bind(a.id.to_string())
            .bind(a.school_id.to_string())
            .bind(from)
            .bind(to)
            .bind(now)
            .bind(actor.to_string());
        if to != "published" {
            q = q.bind(note);
        }
        let n = q.execute(&mut *tx).await?.rows_affected();
        if n == 0 {
            let from_label = Status::from_code(from).map_or(from, |s| s.label());
            return Err(DbError::Conflict(format!(
                "Không thực hiện được: hồ sơ không còn ở trạng thái «{from_label}»."
            )));
        }
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(a.school_id),
                actor_id: Some(actor),
                action,
                entity: "self_assessment",
                entity_id: Some(a.id),
                detail: format!(
                    "{} → {}{}",
                    from,
                    to,
                    if note.is_empty() {
                        String::new()
                    } else {
                        format!(": {note}")
                    }
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every comment of the managing unit, oldest first.
    pub async fn sa_comments(&self, a: &Assessment) -> DbResult<Vec<Comment>> {
        let rows = sqlx::query(
            "SELECT c.code, c.round, c.body, c.created_at, u.full_name AS author FROM sa_comments c \
             LEFT JOIN users u ON u.id = c.author_id WHERE c.school_id = $1 AND c.assessment_id = $2 \
             ORDER BY c.created_at, c.code",
        )
        .bind(a.school_id.to_string())
        .bind(a.id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Comment {
                    code: get_str(r, "code")?,
                    round: get_i64(r, "round")?,
                    body: get_str(r, "body")?,
                    author_name: get_opt_str(r, "author")?,
                    created_at: get_i64(r, "created_at")?,
                })
            })
            .collect()
    }

    /// The assessments of a year of every school within a subtree, by school id.
    pub async fn sa_within(
        &self,
        path: &str,
        start_year: i32,
    ) -> DbResult<BTreeMap<Id, Assessment>> {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM self_assessments a JOIN schools s ON s.id = a.school_id \
             WHERE s.unit_path LIKE $1 AND a.start_year = $2",
            SA_COLS
                .split(", ")
                .map(|c| format!("a.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .bind(format!("{path}%"))
        .bind(i64::from(start_year))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| assessment_from(r).map(|a| (a.school_id, a)))
            .collect()
    }

    // ----- platform figures -----

    /// Whether a table exists (tables of areas still being built are read only once there).
    async fn table_exists(&self, table: &str) -> bool {
        sqlx::query(&format!("SELECT 1 FROM {table} WHERE 1 = 0"))
            .fetch_optional(self.pool())
            .await
            .is_ok()
    }

    /// The platform figures of a school for a cycle (see `domain::d4725::MEASURES`).
    pub async fn sa_figures(&self, school_id: Id, start_year: i32) -> DbResult<Figures> {
        let (from, to) = cycle_window(start_year);
        let now = now_ms();
        let sid = school_id.to_string();
        let has_live = self.table_exists("live_sessions").await;
        let live_using = if has_live {
            " OR EXISTS (SELECT 1 FROM live_sessions l WHERE l.school_id = $1 AND l.created_by = s.user_id \
               AND l.starts_at >= $2 AND l.starts_at < $3)"
        } else {
            ""
        };
        let row = sqlx::query(&format!(
            "SELECT \
             (SELECT COUNT(*) FROM tasks t WHERE t.school_id = $1 AND t.created_at >= $2 AND t.created_at < $3) AS tasks, \
             (SELECT COUNT(*) FROM course_questions q WHERE q.school_id = $1 AND q.answered = 1 AND q.created_at >= $2 AND q.created_at < $3) AS answered, \
             (SELECT COUNT(*) FROM exams e WHERE e.school_id = $1 AND e.kind = 'regular' AND e.status = 'published' AND e.created_at >= $2 AND e.created_at < $3) AS regular, \
             (SELECT COUNT(*) FROM exams e WHERE e.school_id = $1 AND e.status = 'published' AND e.ip_ranges <> '' AND e.created_at >= $2 AND e.created_at < $3) AS computer, \
             (SELECT COUNT(*) FROM exams e WHERE e.school_id = $1 AND e.status = 'published' AND e.kind = 'periodic' AND e.created_at >= $2 AND e.created_at < $3) AS periodic, \
             (SELECT COUNT(*) FROM exams e WHERE e.school_id = $1 AND e.status = 'published' AND e.kind = 'periodic' AND e.ip_ranges = '' AND e.force_majeure = '' AND e.created_at >= $2 AND e.created_at < $3) AS periodic_bad, \
             (SELECT COUNT(*) FROM grade_entries g WHERE g.school_id = $1 AND g.source LIKE 'exam:%' AND g.updated_at >= $2 AND g.updated_at < $3) AS exam_grades, \
             (SELECT COUNT(*) FROM grade_entries g WHERE g.school_id = $1 AND g.updated_at >= $2 AND g.updated_at < $3) AS grades, \
             (SELECT COUNT(*) FROM materials m WHERE m.school_id = $1 AND m.approved_version IS NOT NULL AND m.created_at < $3) AS materials_ok, \
             (SELECT COUNT(*) FROM materials m WHERE m.school_id = $1 AND m.created_at < $3) AS materials, \
             (SELECT COUNT(DISTINCT g.user_id) FROM guardianships g WHERE g.school_id = $1) AS parents, \
             (SELECT COUNT(DISTINCT g.user_id) FROM guardianships g JOIN users u ON u.id = g.user_id WHERE g.school_id = $1 AND u.password_hash IS NOT NULL) AS parents_on, \
             (SELECT COUNT(*) FROM audit_log al WHERE al.school_id = $1 AND al.action = 'exchange.export' AND al.at >= $2 AND al.at < $3) AS exchanges, \
             (SELECT COUNT(*) FROM students st WHERE st.school_id = $1 AND st.status = 'studying') AS students, \
             (SELECT COUNT(*) FROM staff s WHERE s.school_id = $1 AND s.status = 'active') AS staff, \
             (SELECT COUNT(*) FROM staff s WHERE s.school_id = $1 AND s.status = 'active' AND ( \
                EXISTS (SELECT 1 FROM tasks t WHERE t.school_id = $1 AND t.created_by = s.user_id AND t.created_at >= $2 AND t.created_at < $3) \
                OR EXISTS (SELECT 1 FROM exams e WHERE e.school_id = $1 AND e.created_by = s.user_id AND e.created_at >= $2 AND e.created_at < $3){live_using})) AS staff_using, \
             (SELECT COUNT(*) FROM staff s WHERE s.school_id = $1 AND s.status = 'active' AND \
                EXISTS (SELECT 1 FROM materials m WHERE m.school_id = $1 AND m.owner_id = s.user_id AND m.created_at < $3)) AS staff_authoring"
        ))
        .bind(&sid)
        .bind(from)
        .bind(to)
        .fetch_one(self.pool())
        .await?;
        let g = |c: &str| get_i64(&row, c);
        let staff = g("staff")?;
        let pct = domain::oversight::percent;
        let mut f = Figures {
            periodic_tests: g("periodic")?,
            periodic_unjustified: g("periodic_bad")?,
            materials_total: g("materials")?,
            parents_total: g("parents")?,
            staff_total: staff,
            ..Figures::default()
        };
        for (k, v) in [
            ("tasks", g("tasks")?),
            ("questions_answered", g("answered")?),
            ("regular_tests", g("regular")?),
            ("parents_following", g("parents_on")?),
            ("materials_approved", g("materials_ok")?),
            ("computer_tests", g("computer")?),
            ("exam_gradebook", g("exam_grades")?),
            ("teachers_using_pct", pct(g("staff_using")?, staff)),
            ("teachers_authoring_pct", pct(g("staff_authoring")?, staff)),
            ("students_managed", g("students")?),
            ("staff_managed", staff),
            ("gradebook_entries", g("grades")?),
            ("parents_connected", g("parents_on")?),
            ("sector_exchanges", g("exchanges")?),
        ] {
            f.measures.insert(k.to_owned(), v);
        }
        if has_live {
            let r = sqlx::query(
                "SELECT COUNT(*) AS n FROM live_sessions WHERE school_id = $1 AND starts_at >= $2 \
                 AND starts_at < $3 AND (status = 'ended' OR starts_at <= $4)",
            )
            .bind(&sid)
            .bind(from)
            .bind(to)
            .bind(now)
            .fetch_one(self.pool())
            .await?;
            f.measures.insert("live_sessions".into(), get_i64(&r, "n")?);
            let rows = sqlx::query(
                "SELECT id, course_id, title, starts_at FROM live_sessions WHERE school_id = $1 \
                 AND starts_at >= $2 AND starts_at < $3 AND (status = 'ended' OR starts_at <= $4) \
                 ORDER BY starts_at DESC LIMIT 5",
            )
            .bind(&sid)
            .bind(from)
            .bind(to)
            .bind(now)
            .fetch_all(self.pool())
            .await?;
            f.samples.insert(
                "live_sessions".into(),
                rows.iter()
                    .map(|r| {
                        Ok(Record {
                            href: format!("/courses/{}", get_str(r, "course_id")?),
                            title: get_str(r, "title")?,
                            at: get_i64(r, "starts_at")?,
                        })
                    })
                    .collect::<DbResult<_>>()?,
            );
        }
        for (key, sql) in [
            (
                "tasks",
                "SELECT course_id, id, title, created_at AS at FROM tasks WHERE school_id = $1 \
                 AND created_at >= $2 AND created_at < $3 ORDER BY created_at DESC LIMIT 5",
            ),
            (
                "questions_answered",
                "SELECT course_id, id, body AS title, created_at AS at FROM course_questions WHERE school_id = $1 \
                 AND answered = 1 AND created_at >= $2 AND created_at < $3 ORDER BY created_at DESC LIMIT 5",
            ),
            (
                "regular_tests",
                "SELECT course_id, id, title, created_at AS at FROM exams WHERE school_id = $1 AND kind = 'regular' \
                 AND status = 'published' AND created_at >= $2 AND created_at < $3 ORDER BY created_at DESC LIMIT 5",
            ),
            (
                "computer_tests",
                "SELECT course_id, id, title, created_at AS at FROM exams WHERE school_id = $1 AND ip_ranges <> '' \
                 AND status = 'published' AND created_at >= $2 AND created_at < $3 ORDER BY created_at DESC LIMIT 5",
            ),
        ] {
            let rows = sqlx::query(sql)
                .bind(&sid)
                .bind(from)
                .bind(to)
                .fetch_all(self.pool())
                .await?;
            let recs = rows
                .iter()
                .map(|r| {
                    let course = get_str(r, "course_id")?;
                    let id = get_str(r, "id")?;
                    let href = match key {
                        "tasks" => format!("/courses/{course}/tasks/{id}"),
                        "questions_answered" => format!("/courses/{course}/questions"),
                        _ => format!("/exams/{id}"),
                    };
                    let title: String = get_str(r, "title")?.chars().take(80).collect();
                    Ok(Record {
                        href,
                        title,
                        at: get_i64(r, "at")?,
                    })
                })
                .collect::<DbResult<Vec<_>>>()?;
            f.samples.insert(key.to_owned(), recs);
        }
        f.samples.insert(
            "sector_exchanges".into(),
            vec![Record {
                href: format!("/schools/{school_id}/exchange"),
                title: "Xuất dữ liệu cho CSDL ngành".into(),
                at: 0,
            }],
        );
        // The school's documents (online-teaching plan and regulation) once that area exists.
        for (key, kind) in [
            ("plan_doc", "online_plan"),
            ("regulation_doc", "regulation"),
        ] {
            if let Some(n) = self.approved_documents(school_id, start_year, kind).await {
                f.measures.insert(key.to_owned(), n);
                f.samples.insert(
                    key.to_owned(),
                    vec![Record {
                        href: format!("/schools/{school_id}/documents"),
                        title: "Hồ sơ văn bản của trường (kế hoạch, quy chế)".into(),
                        // A link to a page, not a dated record.
                        at: 0,
                    }],
                );
            }
        }
        Ok(f)
    }

    /// Whether the school's current document of a kind (its latest upload) for the school year
    /// is approved, 1 or 0, read from the documents of the surveys area
    /// (`school_documents`, migration 0017) when that table exists; none otherwise, and the
    /// condition is then evidenced by hand.
    async fn approved_documents(&self, school_id: Id, start_year: i32, kind: &str) -> Option<i64> {
        if !self.table_exists("school_documents").await {
            return None;
        }
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM school_documents d JOIN school_years y ON y.id = d.year_id \
             WHERE d.school_id = $1 AND d.kind = $2 AND y.name = $3 AND d.approved_at IS NOT NULL \
             AND d.version = (SELECT MAX(d2.version) FROM school_documents d2 \
               WHERE d2.school_id = d.school_id AND d2.year_id = d.year_id AND d2.kind = d.kind)",
        )
        .bind(school_id.to_string())
        .bind(kind)
        .bind(domain::d4725::cycle_label(start_year))
        .fetch_one(self.pool())
        .await
        .ok()?;
        get_i64(&row, "n").ok()
    }

    // ----- Circular 09 manual evidence -----

    /// The manual evidence of a school's checklist for a cycle, by item.
    pub async fn tt09_evidence(
        &self,
        school_id: Id,
        start_year: i32,
    ) -> DbResult<BTreeMap<String, Tt09Evidence>> {
        let rows = sqlx::query(
            "SELECT item, note, evidence_url, file_key, file_name, content_type, file_size, updated_at \
             FROM tt09_evidence WHERE school_id = $1 AND start_year = $2",
        )
        .bind(school_id.to_string())
        .bind(i64::from(start_year))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let e = Tt09Evidence {
                    item: get_str(r, "item")?,
                    note: get_str(r, "note")?,
                    url: get_opt_str(r, "evidence_url")?,
                    file: file_from(r)?,
                    updated_at: get_i64(r, "updated_at")?,
                };
                Ok((e.item.clone(), e))
            })
            .collect()
    }

    /// Records manual evidence of one checklist item (a new file replaces the old one) and
    /// audits it; returns the replaced file.
    pub async fn tt09_set_evidence(
        &self,
        school_id: Id,
        start_year: i32,
        e: &Tt09Evidence,
        actor: Id,
    ) -> DbResult<Option<EvidenceFile>> {
        let before = self
            .tt09_evidence(school_id, start_year)
            .await?
            .remove(&e.item);
        let file = e
            .file
            .clone()
            .or_else(|| before.as_ref().and_then(|b| b.file.clone()));
        let replaced = match (before.as_ref().and_then(|b| b.file.clone()), &e.file) {
            (Some(o), Some(n)) if o.key != n.key => Some(o),
            _ => None,
        };
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO tt09_evidence (id, school_id, start_year, item, note, evidence_url, file_key, file_name, content_type, file_size, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (school_id, start_year, item) DO UPDATE SET note = excluded.note, \
             evidence_url = excluded.evidence_url, file_key = excluded.file_key, file_name = excluded.file_name, \
             content_type = excluded.content_type, file_size = excluded.file_size, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(new_id().to_string())
        .bind(school_id.to_string())
        .bind(i64::from(start_year))
        .bind(&e.item)
        .bind(&e.note)
        .bind(e.url.clone().filter(|u| !u.is_empty()))
        .bind(file.as_ref().map(|f| f.key.clone()))
        .bind(file.as_ref().map(|f| f.name.clone()))
        .bind(file.as_ref().map(|f| f.content_type.clone()))
        .bind(file.as_ref().map(|f| f.size))
        .bind(actor.to_string())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit(
            &mut *tx,
            &AuditEntry {
                school_id: Some(school_id),
                actor_id: Some(actor),
                action: "tt09.evidence",
                entity: "tt09_evidence",
                entity_id: None,
                detail: serde_json::json!({
                    "item": e.item,
                    "before": before.as_ref().map(|b| serde_json::json!({"note": b.note, "url": b.url, "file": b.file.as_ref().map(|f| &f.name)})),
                    "after": {"note": e.note, "url": e.url, "file": file.as_ref().map(|f| &f.name)},
                })
                .to_string(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(replaced)
    }

    /// A stored evidence file of a school (assessment item or checklist item), by key, so a
    /// download can check it belongs to the school it is asked through.
    pub async fn sa_evidence_file(&self, school_id: Id, key: &str) -> DbResult<EvidenceFile> {
        for table in ["sa_items", "tt09_evidence"] {
            let row = sqlx::query(&format!(
                "SELECT file_key, file_name, content_type, file_size FROM {table} \
                 WHERE school_id = $1 AND file_key = $2"
            ))
            .bind(school_id.to_string())
            .bind(key)
            .fetch_optional(self.pool())
            .await?;
            if let Some(r) = row
                && let Some(f) = file_from(&r)?
            {
                return Ok(f);
            }
        }
        Err(DbError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_catalogue_is_valid_and_says_what_it_is() {
        let cat = seed_catalogue().unwrap();
        assert_eq!(domain::d4725::validate(&cat), Ok(()));
        assert_eq!(domain::d4725::group_max_points(&cat, 1), 100);
        // The appendix of group 2 could not be read in full: 10 points are missing.
        assert_eq!(domain::d4725::group_max_points(&cat, 2), 90);
        let mandatory: Vec<_> = cat
            .criteria
            .iter()
            .filter(|c| c.mandatory)
            .map(|c| c.code.as_str())
            .collect();
        assert_eq!(mandatory, ["1.1", "1.2", "2.1", "2.2"]);
    }

    #[test]
    fn a_cycle_runs_from_august_to_august_vietnam_time() {
        let (a, b) = cycle_window(2026);
        // 1/8/2026 00:00 in Vietnam is 31/7/2026 17:00 UTC.
        assert_eq!(a, 1_785_517_200_000);
        assert_eq!(b - a, 365 * 86_400_000);
    }
}
