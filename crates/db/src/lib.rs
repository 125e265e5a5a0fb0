//! The only crate that knows SQL.
//!
//! One [`Db`] handle works on SQLite (the embedded default) and PostgreSQL, chosen at run time
//! from the URL. Queries are written once in the portable subset of SQL both accept (`$n`
//! placeholders, `ON CONFLICT`, `RETURNING`), ids are UUIDv7 text, times unix milliseconds.
//! Repositories take and return `domain` types; handlers never write SQL.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod attendance;
pub mod audit;
pub mod banks;
pub mod exams;
pub mod exchange;
pub mod family;
pub mod gradebook;
pub mod jobs;
pub mod learning;
pub mod live;
pub mod org;
pub mod oversight;
pub mod roster;
pub mod school;
pub mod self_assessment;
pub mod surveys;
pub mod video;

use domain::Id;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::str::FromStr;
use time::Date;

/// Everything that can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The driver failed (connection, constraint, syntax).
    #[error("lỗi cơ sở dữ liệu: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("không áp dụng được migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The row does not exist (or is not visible to the caller).
    #[error("không tìm thấy")]
    NotFound,
    /// A uniqueness or state rule refused the change; the message is for the user.
    #[error("{0}")]
    Conflict(String),
    /// A stored value could not be decoded (corrupt data).
    #[error("dữ liệu lưu trữ không hợp lệ: {0}")]
    Corrupt(String),
}

/// Shorthand for repository results.
pub type DbResult<T> = Result<T, DbError>;

/// Which engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file (WAL).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// The database handle: a connection pool and its backend.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// The answer writer, started with the first save (see [`exams::SaveQueue`]).
    saves: std::sync::Arc<std::sync::OnceLock<Option<exams::SaveQueue>>>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Db {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`).
    pub async fn connect(url: &str) -> DbResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres") {
            Backend::Postgres
        } else if url.starts_with("sqlite") {
            Backend::Sqlite
        } else {
            return Err(DbError::Corrupt(format!(
                "địa chỉ cơ sở dữ liệu phải bắt đầu bằng sqlite:// hoặc postgres:// (nhận \"{url}\")"
            )));
        };
        let opts = sqlx::any::AnyConnectOptions::from_str(url)?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL lets readers run beside the one writer; NORMAL is durable
                            // across application crashes (only an OS crash may lose the last
                            // transactions), the usual trade-off for WAL.
                            use sqlx::Executor;
                            conn.execute(
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                                 PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .connect_with(opts)
                    .await?
            }
        };
        Ok(Self {
            pool,
            backend,
            saves: Default::default(),
        })
    }

    /// Applies pending migrations (idempotent).
    pub async fn migrate(&self) -> DbResult<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for repositories in this crate.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A cheap liveness probe.
    pub async fn ping(&self) -> DbResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Writes a consistent copy of a live SQLite database to `path` (`VACUUM INTO`, safe while
    /// the server runs). PostgreSQL is backed up with `pg_dump`, outside lophoc.
    pub async fn backup_sqlite(&self, path: &str) -> DbResult<()> {
        if self.backend != Backend::Sqlite {
            return Err(DbError::Conflict(
                "Sao lưu PostgreSQL bằng pg_dump (xem README), không qua lophoc backup".into(),
            ));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes the pool (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The current time in unix milliseconds.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

// Row decoding helpers: the Any driver knows only text, integers, floats and blobs, so ids,
// dates and booleans are decoded here, in one place.

pub(crate) fn get_str(row: &AnyRow, col: &str) -> DbResult<String> {
    Ok(row.try_get::<String, _>(col)?)
}

pub(crate) fn get_opt_str(row: &AnyRow, col: &str) -> DbResult<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}

pub(crate) fn get_i64(row: &AnyRow, col: &str) -> DbResult<i64> {
    Ok(row.try_get::<i64, _>(col)?)
}

pub(crate) fn get_bool(row: &AnyRow, col: &str) -> DbResult<bool> {
    Ok(get_i64(row, col)? != 0)
}

pub(crate) fn get_id(row: &AnyRow, col: &str) -> DbResult<Id> {
    parse_id(&get_str(row, col)?)
}

pub(crate) fn get_opt_id(row: &AnyRow, col: &str) -> DbResult<Option<Id>> {
    get_opt_str(row, col)?.map(|s| parse_id(&s)).transpose()
}

pub(crate) fn get_date(row: &AnyRow, col: &str) -> DbResult<Date> {
    let s = get_str(row, col)?;
    Date::parse(&s, &time::format_description::well_known::Iso8601::DATE)
        .map_err(|_| DbError::Corrupt(format!("{col}: {s}")))
}

pub(crate) fn get_code<T: TryFrom<String>>(row: &AnyRow, col: &str) -> DbResult<T> {
    let s = get_str(row, col)?;
    T::try_from(s.clone()).map_err(|_| DbError::Corrupt(format!("{col}: {s}")))
}

pub(crate) fn parse_id(s: &str) -> DbResult<Id> {
    Id::parse_str(s).map_err(|_| DbError::Corrupt(format!("id: {s}")))
}

/// Formats a date as stored (ISO `yyyy-mm-dd`).
pub(crate) fn iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Turns a unique-constraint violation into a user-facing conflict message.
pub(crate) fn conflict_on_unique(e: sqlx::Error, msg: &str) -> DbError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => DbError::Conflict(msg.to_owned()),
        _ => DbError::Sqlx(e),
    }
}

/// Inserts many rows with multi-row `INSERT … VALUES (…), (…)` statements of at most 100 rows,
/// so a fan-out to thousands of parents is a few round trips, not thousands.
/// A value of a multi-row insert: text (or NULL) or an integer. PostgreSQL needs the real type
/// (SQLite would take integers as text, PostgreSQL refuses them).
#[derive(Debug, Clone)]
pub(crate) enum Val {
    /// Text or NULL.
    T(Option<String>),
    /// An integer.
    I(i64),
    /// An integer or NULL (a NULL bound as text would not go into a BIGINT column on
    /// PostgreSQL).
    OptI(Option<i64>),
}

impl From<String> for Val {
    fn from(s: String) -> Self {
        Val::T(Some(s))
    }
}

impl From<&str> for Val {
    fn from(s: &str) -> Self {
        Val::T(Some(s.to_owned()))
    }
}

impl From<Option<String>> for Val {
    fn from(s: Option<String>) -> Self {
        Val::T(s)
    }
}

impl From<i64> for Val {
    fn from(i: i64) -> Self {
        Val::I(i)
    }
}

pub(crate) async fn insert_many<'c>(
    tx: &mut sqlx::Transaction<'c, sqlx::Any>,
    head: &str,
    rows: &[Vec<Val>],
) -> DbResult<()> {
    for chunk in rows.chunks(100) {
        let width = chunk.first().map_or(0, Vec::len);
        let mut sql = String::from(head);
        sql.push_str(" VALUES ");
        let mut n = 0;
        for (i, _) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for j in 0..width {
                if j > 0 {
                    sql.push(',');
                }
                n += 1;
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                q = match v {
                    Val::T(t) => q.bind(t.clone()),
                    Val::I(i) => q.bind(*i),
                    Val::OptI(i) => q.bind(*i),
                };
            }
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
