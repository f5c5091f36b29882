//! Accounts, sessions and login throttling.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::store::{SessionStore, TokenHash, UserDraft, UserStore, like_contains};
use helpdesk_core::{Error, Page, PageRequest, Result, User, UserId, UserQuery};
use sqlx::{QueryBuilder, Sqlite};

use helpdesk_sql::convert;

use crate::rows::{UserRow, ms, time, user_columns};
use crate::{SqliteStore, db};

fn user_filters(qb: &mut QueryBuilder<Sqlite>, query: &UserQuery) {
    qb.push(" WHERE deleted_at IS NULL");
    if let Some(search) = &query.search {
        qb.push(" AND id IN (SELECT rowid FROM users_search WHERE name_email LIKE ")
            .push_bind(like_contains(search))
            .push(" ESCAPE '\\')");
    }
    if let Some(role) = query.role {
        qb.push(" AND role = ").push_bind(role.as_str());
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(&self, d: &UserDraft) -> Result<User> {
        let row: UserRow = sqlx::query_as(concat!(
            "INSERT INTO users (email, password_hash, first_name, last_name, role, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ",
            user_columns!()
        ))
        .bind(&d.email)
        .bind(&d.password_hash)
        .bind(&d.first_name)
        .bind(&d.last_name)
        .bind(d.role.as_str())
        .bind(ms(d.created_at))
        .bind(ms(d.created_at))
        .fetch_one(&self.writer)
        .await
        .map_err(db)?;
        row.try_into()
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = ?"
        ))
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        row.map(User::try_from).transpose()
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>> {
        #[derive(sqlx::FromRow)]
        struct WithHash {
            #[sqlx(flatten)]
            user: UserRow,
            password_hash: String,
        }
        let row: Option<WithHash> = sqlx::query_as(concat!(
            "SELECT password_hash, ",
            user_columns!(),
            " FROM users WHERE email = ? AND deleted_at IS NULL"
        ))
        .bind(email)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        row.map(|r| Ok((User::try_from(r.user)?, r.password_hash)))
            .transpose()
    }

    async fn password_hash(&self, id: UserId) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ? AND deleted_at IS NULL")
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)
    }

    async fn update_user(&self, u: &User) -> Result<User> {
        let mut tx = self.write().await?;
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "UPDATE users SET email = ?, first_name = ?, last_name = ?, role = ?, is_active = ?, \
             updated_at = ? WHERE id = ? AND deleted_at IS NULL RETURNING ",
            user_columns!()
        ))
        .bind(&u.email)
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(u.role.as_str())
        .bind(u.is_active)
        .bind(ms(u.updated_at))
        .bind(u.id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let user = User::try_from(row.ok_or(Error::NotFound)?)?;
        if !user.is_active {
            sqlx::query("DELETE FROM sessions WHERE user_id = ?")
                .bind(u.id.0)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(user)
    }

    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        keep: Option<TokenHash>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        let updated = sqlx::query(
            "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
        )
        .bind(password_hash)
        .bind(ms(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if updated.rows_affected() == 0 {
            return Err(Error::NotFound);
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = ? AND token_hash IS NOT ?")
            .bind(id.0)
            .bind(keep.map(|k| k.0.to_vec()))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn erase_user(&self, id: UserId, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.write().await?;
        let email: Option<String> =
            sqlx::query_scalar("SELECT email FROM users WHERE id = ? AND deleted_at IS NULL")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        let Some(email) = email else {
            return Err(Error::NotFound);
        };
        let anonymous = format!("deleted-user-{id}@deleted.invalid");
        sqlx::query(
            "UPDATE users SET email = ?, first_name = '', last_name = '', password_hash = '', \
             is_active = 0, deleted_at = ?, updated_at = ? WHERE id = ?",
        )
        .bind(&anonymous)
        .bind(ms(now))
        .bind(ms(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        // Unsent mail to the account is dropped; the record of sent mail loses the address.
        sqlx::query("DELETE FROM outbox WHERE user_id = ? AND state = 'pending'")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("UPDATE outbox SET recipient = ? WHERE user_id = ?")
            .bind(&anonymous)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("DELETE FROM login_failures WHERE email = ?")
            .bind(&email)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn list_users(&self, query: &UserQuery, page: PageRequest) -> Result<Page<User>> {
        let mut qb = QueryBuilder::new("SELECT count(*) FROM users");
        user_filters(&mut qb, query);
        let count: i64 = qb
            .build_query_scalar()
            .fetch_one(&self.reader)
            .await
            .map_err(db)?;
        let mut qb = QueryBuilder::new(concat!("SELECT ", user_columns!(), " FROM users"));
        user_filters(&mut qb, query);
        qb.push(" ORDER BY id LIMIT ")
            .push_bind(i64::from(page.size()))
            .push(" OFFSET ")
            .push_bind(i64::try_from(page.offset()).unwrap_or(i64::MAX));
        let rows: Vec<UserRow> = qb
            .build_query_as()
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        Ok(Page {
            items: convert(rows)?,
            count: count as u64,
            request: page,
        })
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(
        &self,
        token: TokenHash,
        user: UserId,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?")
            .bind(user.0)
            .bind(ms(created_at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(token.0.to_vec())
        .bind(user.0)
        .bind(ms(created_at))
        .bind(ms(expires_at))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn session_user(&self, token: TokenHash, now: DateTime<Utc>) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE is_active = 1 AND deleted_at IS NULL AND id = \
             (SELECT user_id FROM sessions WHERE token_hash = ? AND expires_at > ?)"
        ))
        .bind(token.0.to_vec())
        .bind(ms(now))
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        row.map(User::try_from).transpose()
    }

    async fn delete_session(&self, token: TokenHash) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token.0.to_vec())
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn record_login_failure(
        &self,
        email: &str,
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM login_failures WHERE email = ? AND at < ?")
            .bind(email)
            .bind(ms(forget_before))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("INSERT INTO login_failures (email, at) VALUES (?, ?)")
            .bind(email)
            .bind(ms(at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn login_failures(
        &self,
        email: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>> {
        let times: Vec<i64> = sqlx::query_scalar(
            "SELECT at FROM login_failures WHERE email = ? AND at > ? ORDER BY at",
        )
        .bind(email)
        .bind(ms(since))
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        times.into_iter().map(time).collect()
    }

    async fn clear_login_failures(&self, email: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE email = ?")
            .bind(email)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(())
    }
}
