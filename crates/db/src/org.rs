//! The management tree and its schools.

use crate::{
    Db, DbError, DbResult, conflict_on_unique, get_code, get_id, get_opt_id, get_str, now_ms,
};
use domain::auth::SchoolRef;
use domain::tree::{SchoolLevel, UnitKind, child_path};
use domain::{Id, new_id};
use sqlx::any::AnyRow;

/// A management unit (Bộ, Sở, xã/phường, or an old district unit).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unit {
    /// Id.
    pub id: Id,
    /// Parent unit (none for the root).
    pub parent_id: Option<Id>,
    /// Kind.
    pub kind: UnitKind,
    /// Short code (for example the province code "01").
    pub code: String,
    /// Display name.
    pub name: String,
    /// Materialized path of ids, `/root/…/self/`.
    pub path: String,
}

/// A school.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct School {
    /// Id.
    pub id: Id,
    /// The unit that manages it.
    pub unit_id: Id,
    /// That unit's path.
    pub unit_path: String,
    /// Mã trường (sector database code), immutable.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: SchoolLevel,
    /// Address.
    pub address: String,
}

impl School {
    /// Where the school sits, for authorization.
    pub fn as_ref(&self) -> SchoolRef {
        SchoolRef {
            id: self.id,
            unit_path: self.unit_path.clone(),
        }
    }
}

fn unit_from(row: &AnyRow) -> DbResult<Unit> {
    Ok(Unit {
        id: get_id(row, "id")?,
        parent_id: get_opt_id(row, "parent_id")?,
        kind: get_code(row, "kind")?,
        code: get_str(row, "code")?,
        name: get_str(row, "name")?,
        path: get_str(row, "path")?,
    })
}

fn school_from(row: &AnyRow) -> DbResult<School> {
    Ok(School {
        id: get_id(row, "id")?,
        unit_id: get_id(row, "unit_id")?,
        unit_path: get_str(row, "unit_path")?,
        code: get_str(row, "code")?,
        name: get_str(row, "name")?,
        level: get_code(row, "level")?,
        address: get_str(row, "address")?,
    })
}

const UNIT_COLS: &str = "id, parent_id, kind, code, name, path";
const SCHOOL_COLS: &str = "id, unit_id, unit_path, code, name, level, address";

impl Db {
    /// Creates a unit under `parent` (or the root when `parent` is none), checking that the
    /// kind may sit there.
    pub async fn create_unit(
        &self,
        parent: Option<&Unit>,
        kind: UnitKind,
        code: &str,
        name: &str,
    ) -> DbResult<Unit> {
        if let Some(p) = parent
            && !p.kind.allowed_children().contains(&kind)
        {
            return Err(DbError::Conflict(format!(
                "Không thể đặt {} dưới {}",
                kind.label(),
                p.kind.label()
            )));
        }
        let id = new_id();
        let path = child_path(parent.map_or("/", |p| p.path.as_str()), id);
        sqlx::query(
            "INSERT INTO org_units (id, parent_id, kind, code, name, path, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(parent.map(|p| p.id.to_string()))
        .bind(kind.code())
        .bind(code)
        .bind(name)
        .bind(&path)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(Unit {
            id,
            parent_id: parent.map(|p| p.id),
            kind,
            code: code.into(),
            name: name.into(),
            path,
        })
    }

    /// One unit.
    pub async fn unit(&self, id: Id) -> DbResult<Unit> {
        let row = sqlx::query(&format!("SELECT {UNIT_COLS} FROM org_units WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(DbError::NotFound)?;
        unit_from(&row)
    }

    /// All units, ordered by path (parents before children).
    pub async fn units(&self) -> DbResult<Vec<Unit>> {
        let rows = sqlx::query(&format!("SELECT {UNIT_COLS} FROM org_units ORDER BY path"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(unit_from).collect()
    }

    /// The direct children of a unit.
    pub async fn child_units(&self, id: Id) -> DbResult<Vec<Unit>> {
        let rows = sqlx::query(&format!(
            "SELECT {UNIT_COLS} FROM org_units WHERE parent_id = $1 ORDER BY name"
        ))
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(unit_from).collect()
    }

    /// The ancestors of a path, root first (for breadcrumbs).
    pub async fn units_on_path(&self, path: &str) -> DbResult<Vec<Unit>> {
        let mut out = Vec::new();
        for id in path.split('/').filter(|s| !s.is_empty()) {
            out.push(self.unit(crate::parse_id(id)?).await?);
        }
        Ok(out)
    }

    /// Creates a school under a unit. The mã trường is unique in the installation.
    pub async fn create_school(
        &self,
        unit: &Unit,
        code: &str,
        name: &str,
        level: SchoolLevel,
        address: &str,
    ) -> DbResult<School> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO schools (id, unit_id, unit_path, code, name, level, address, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(unit.id.to_string())
        .bind(&unit.path)
        .bind(code)
        .bind(name)
        .bind(level.code())
        .bind(address)
        .bind(now_ms())
        .execute(self.pool())
        .await
        .map_err(|e| conflict_on_unique(e, &format!("Mã trường {code} đã tồn tại")))?;
        Ok(School {
            id,
            unit_id: unit.id,
            unit_path: unit.path.clone(),
            code: code.into(),
            name: name.into(),
            level,
            address: address.into(),
        })
    }

    /// One school by id.
    pub async fn school(&self, id: Id) -> DbResult<School> {
        let row = sqlx::query(&format!("SELECT {SCHOOL_COLS} FROM schools WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(DbError::NotFound)?;
        school_from(&row)
    }

    /// One school by mã trường.
    pub async fn school_by_code(&self, code: &str) -> DbResult<School> {
        let row = sqlx::query(&format!(
            "SELECT {SCHOOL_COLS} FROM schools WHERE code = $1"
        ))
        .bind(code.trim().to_uppercase())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        school_from(&row)
    }

    /// Every school within the subtree at `path` (all schools for `/`), ordered by name.
    pub async fn schools_within(&self, path: &str) -> DbResult<Vec<School>> {
        let rows = sqlx::query(&format!(
            "SELECT {SCHOOL_COLS} FROM schools WHERE unit_path LIKE $1 ORDER BY name"
        ))
        .bind(format!("{path}%"))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(school_from).collect()
    }

    /// The schools directly under one unit.
    pub async fn schools_of_unit(&self, unit_id: Id) -> DbResult<Vec<School>> {
        let rows = sqlx::query(&format!(
            "SELECT {SCHOOL_COLS} FROM schools WHERE unit_id = $1 ORDER BY name"
        ))
        .bind(unit_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(school_from).collect()
    }

    /// Whether the installation has no units yet (a fresh database).
    pub async fn is_empty(&self) -> DbResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM org_units")
            .fetch_one(self.pool())
            .await?;
        Ok(crate::get_i64(&row, "n")? == 0)
    }
}
