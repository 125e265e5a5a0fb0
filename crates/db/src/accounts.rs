//! Accounts, role grants and login sessions.

use crate::{
    Db, DbError, DbResult, conflict_on_unique, get_bool, get_code, get_i64, get_id, get_opt_str,
    get_str, now_ms,
};
use domain::auth::{Actor, Grant, Role};
use domain::{Id, new_id};
use sqlx::any::AnyRow;

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: Id,
    /// Login name.
    pub username: String,
    /// Email, if any (a login too).
    pub email: Option<String>,
    /// Mobile phone, normalized (parents log in with it).
    pub phone: Option<String>,
    /// Full name.
    pub full_name: String,
    /// PHC string (argon2id); none while the account has no password yet.
    pub password_hash: Option<String>,
    /// The user must choose a new password before anything else.
    pub must_change_password: bool,
    /// "active" or "disabled".
    pub status: String,
    /// Failed logins since the last success.
    pub failed_logins: i64,
    /// Unix ms until which logins are refused.
    pub locked_until: i64,
}

/// What is needed to create an account.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Login name (already validated).
    pub username: String,
    /// Full name.
    pub full_name: String,
    /// Email.
    pub email: Option<String>,
    /// Normalized mobile phone.
    pub phone: Option<String>,
    /// Password hash, if a password is set now.
    pub password_hash: Option<String>,
    /// Force a password change at first login.
    pub must_change_password: bool,
}

const USER_COLS: &str = "id, username, email, phone, full_name, password_hash, \
    must_change_password, status, failed_logins, locked_until";

fn user_from(row: &AnyRow) -> DbResult<User> {
    Ok(User {
        id: get_id(row, "id")?,
        username: get_str(row, "username")?,
        email: get_opt_str(row, "email")?,
        phone: get_opt_str(row, "phone")?,
        full_name: get_str(row, "full_name")?,
        password_hash: get_opt_str(row, "password_hash")?,
        must_change_password: get_bool(row, "must_change_password")?,
        status: get_str(row, "status")?,
        failed_logins: get_i64(row, "failed_logins")?,
        locked_until: get_i64(row, "locked_until")?,
    })
}

pub(crate) async fn insert_user<'e, E>(exec: E, u: &NewUser) -> DbResult<Id>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let id = new_id();
    sqlx::query(
        "INSERT INTO users (id, username, email, phone, full_name, password_hash, \
         must_change_password, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.to_string())
    .bind(&u.username)
    .bind(&u.email)
    .bind(&u.phone)
    .bind(&u.full_name)
    .bind(&u.password_hash)
    .bind(i64::from(u.must_change_password))
    .bind(now_ms())
    .execute(exec)
    .await
    .map_err(|e| {
        conflict_on_unique(
            e,
            &format!(
                "Tên đăng nhập, email hoặc số điện thoại của \"{}\" đã được dùng cho tài khoản khác",
                u.username
            ),
        )
    })?;
    Ok(id)
}

pub(crate) async fn insert_grant<'e, E>(
    exec: E,
    user_id: Id,
    role: Role,
    unit_id: Option<Id>,
    school_id: Option<Id>,
) -> DbResult<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO role_grants (id, user_id, role, unit_id, school_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id().to_string())
    .bind(user_id.to_string())
    .bind(role.code())
    .bind(unit_id.map(|i| i.to_string()))
    .bind(school_id.map(|i| i.to_string()))
    .bind(now_ms())
    .execute(exec)
    .await?;
    Ok(())
}

/// A login session as stored (the cookie holds a random token; only its hash is stored).
#[derive(Debug, Clone, Copy)]
pub struct SessionRow {
    /// The user.
    pub user_id: Id,
    /// Unix ms of the last request seen.
    pub last_seen: i64,
    /// Unix ms when it expires.
    pub expires_at: i64,
    /// Unread notifications of the user (shown in the menu).
    pub unread: i64,
}

impl Db {
    /// Creates an account.
    pub async fn create_user(&self, u: &NewUser) -> DbResult<User> {
        let id = insert_user(self.pool(), u).await?;
        self.user(id).await
    }

    /// Grants a role on a unit or a school (idempotent).
    pub async fn grant_role(
        &self,
        user_id: Id,
        role: Role,
        unit_id: Option<Id>,
        school_id: Option<Id>,
    ) -> DbResult<()> {
        let existing = self.grants(user_id).await?;
        let unit_path = match unit_id {
            Some(u) => Some(self.unit(u).await?.path),
            None => None,
        };
        if existing
            .iter()
            .any(|g| g.role == role && g.school_id == school_id && g.unit_path == unit_path)
        {
            return Ok(());
        }
        insert_grant(self.pool(), user_id, role, unit_id, school_id).await
    }

    /// One user by id.
    pub async fn user(&self, id: Id) -> DbResult<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(DbError::NotFound)?;
        user_from(&row)
    }

    /// Finds the account for a login typed by a user: a username, an email or a phone number.
    pub async fn user_by_login(&self, login: &str) -> DbResult<Option<User>> {
        let login = login.trim();
        let lower = login.to_lowercase();
        let phone = domain::people::VnPhone::parse(login)
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users WHERE username = $1 OR email = $1 OR phone = $2 \
             ORDER BY CASE WHEN username = $1 THEN 0 ELSE 1 END LIMIT 1"
        ))
        .bind(&lower)
        .bind(&phone)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user_from).transpose()
    }

    /// One user by username.
    pub async fn user_by_username(&self, username: &str) -> DbResult<User> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users WHERE username = $1"
        ))
        .bind(username.trim().to_lowercase())
        .fetch_optional(self.pool())
        .await?
        .ok_or(DbError::NotFound)?;
        user_from(&row)
    }

    /// The roles of a user, with the path of each unit role.
    pub async fn grants(&self, user_id: Id) -> DbResult<Vec<Grant>> {
        let rows = sqlx::query(
            "SELECT g.role, o.path AS unit_path, g.school_id FROM role_grants g \
             LEFT JOIN org_units o ON o.id = g.unit_id WHERE g.user_id = $1",
        )
        .bind(user_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Grant {
                    role: get_code(r, "role")?,
                    unit_path: get_opt_str(r, "unit_path")?,
                    school_id: crate::get_opt_id(r, "school_id")?,
                })
            })
            .collect()
    }

    /// The actor behind a user id.
    pub async fn actor(&self, user: &User) -> DbResult<Actor> {
        Ok(Actor {
            user_id: user.id,
            username: user.username.clone(),
            full_name: user.full_name.clone(),
            grants: self.grants(user.id).await?,
        })
    }

    /// Counts a failed login; `lock_until` (unix ms) refuses logins until then.
    pub async fn record_failed_login(&self, user_id: Id, lock_until: i64) -> DbResult<()> {
        sqlx::query(
            "UPDATE users SET failed_logins = failed_logins + 1, locked_until = $2 WHERE id = $1",
        )
        .bind(user_id.to_string())
        .bind(lock_until)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Clears the failure counter after a successful login.
    pub async fn clear_failed_logins(&self, user_id: Id) -> DbResult<()> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = $1")
            .bind(user_id.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Sets a password hash and whether it must be changed at next login; unlocks the account.
    pub async fn set_password(&self, user_id: Id, hash: &str, must_change: bool) -> DbResult<()> {
        let n = sqlx::query(
            "UPDATE users SET password_hash = $2, must_change_password = $3, failed_logins = 0, \
             locked_until = 0 WHERE id = $1",
        )
        .bind(user_id.to_string())
        .bind(hash)
        .bind(i64::from(must_change))
        .execute(self.pool())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(DbError::NotFound);
        }
        Ok(())
    }

    /// Stores a new session.
    pub async fn create_session(
        &self,
        id_hash: &str,
        user_id: Id,
        expires_at: i64,
        user_agent: &str,
    ) -> DbResult<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, last_seen, user_agent) \
             VALUES ($1, $2, $3, $4, $3, $5)",
        )
        .bind(id_hash)
        .bind(user_id.to_string())
        .bind(now)
        .bind(expires_at)
        .bind(user_agent.chars().take(200).collect::<String>())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The live session with this hash, if any.
    pub async fn session(&self, id_hash: &str) -> DbResult<Option<SessionRow>> {
        let row = sqlx::query(
            "SELECT user_id, last_seen, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(SessionRow {
                user_id: get_id(&r, "user_id")?,
                last_seen: get_i64(&r, "last_seen")?,
                expires_at: get_i64(&r, "expires_at")?,
                unread: 0,
            })
        })
        .transpose()
    }

    /// Slides a session's expiry forward.
    pub async fn touch_session(&self, id_hash: &str, expires_at: i64) -> DbResult<()> {
        sqlx::query("UPDATE sessions SET last_seen = $2, expires_at = $3 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(now_ms())
            .bind(expires_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends one session.
    pub async fn delete_session(&self, id_hash: &str) -> DbResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends every session of a user except `keep` ("log out everywhere", password change).
    pub async fn delete_user_sessions(&self, user_id: Id, keep: Option<&str>) -> DbResult<u64> {
        let n = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
            .bind(user_id.to_string())
            .bind(keep.unwrap_or(""))
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(n)
    }

    /// Removes expired sessions.
    pub async fn purge_expired_sessions(&self) -> DbResult<u64> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_ms())
            .execute(self.pool())
            .await?
            .rows_affected())
    }

    /// Accounts with a role at a school or unit, for admin listings.
    pub async fn users_with_role(&self, role: Role) -> DbResult<Vec<User>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users WHERE id IN \
             (SELECT user_id FROM role_grants WHERE role = $1) ORDER BY username"
        ))
        .bind(role.code())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(user_from).collect()
    }

    /// Disables or re-enables an account.
    pub async fn set_user_status(&self, user_id: Id, status: &str) -> DbResult<()> {
        sqlx::query("UPDATE users SET status = $2 WHERE id = $1")
            .bind(user_id.to_string())
            .bind(status)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

impl Db {
    /// Renames an account (the demo gives its sample student a memorable login).
    pub async fn rename_user(&self, user_id: Id, username: &str) -> DbResult<()> {
        sqlx::query("UPDATE users SET username = $2 WHERE id = $1")
            .bind(user_id.to_string())
            .bind(username)
            .execute(self.pool())
            .await
            .map_err(|e| {
                conflict_on_unique(e, &format!("Tên đăng nhập {username} đã được dùng"))
            })?;
        Ok(())
    }
}

impl Db {
    /// The live session with this hash and its account, in one round trip (every request
    /// starts here).
    pub async fn session_user(&self, id_hash: &str) -> DbResult<Option<(SessionRow, User)>> {
        let cols = USER_COLS
            .split(", ")
            .map(|c| format!("u.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let row = sqlx::query(&format!(
            "SELECT s.last_seen, s.expires_at, {cols}, \
             (SELECT COUNT(*) FROM notifications n WHERE n.user_id = u.id AND n.read_at IS NULL) AS unread \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2"
        ))
        .bind(id_hash)
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            let user = user_from(&r)?;
            Ok((
                SessionRow {
                    user_id: user.id,
                    last_seen: get_i64(&r, "last_seen")?,
                    expires_at: get_i64(&r, "expires_at")?,
                    unread: get_i64(&r, "unread")?,
                },
                user,
            ))
        })
        .transpose()
    }
}
