//! Accounts, sessions and login throttling.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::store::{
    Hits, Quota, SessionStore, ThrottleKey, TokenHash, UserDraft, UserStore, UserUpdate,
    like_contains,
};
use helpdesk_core::store::{StoreError, StoreResult};
use helpdesk_core::{Page, PageRequest, User, UserId, UserQuery};
use sqlx::{
    ColumnIndex, Database, Encode, Executor, IntoArguments, Pool, QueryBuilder, Transaction, Type,
};

use crate::batch;
use crate::error::store_error as db;
use crate::filters::push_page;
use crate::rows::{UserRow, as_count, convert, user_columns};
use crate::{Dialect, SqlStore, Value, sql};

fn user_filters<D: Dialect>(qb: &mut QueryBuilder<D::Db>, query: &UserQuery)
where
    for<'a> &'a str: Encode<'a, D::Db> + Type<D::Db>,
{
    qb.push(" WHERE deleted_at IS NULL");
    if let Some(search) = &query.search {
        D::push_user_search(qb, like_contains(search));
    }
    if let Some(role) = query.role {
        qb.push(" AND role = ").push_bind(role.as_str());
    }
}

#[async_trait]
impl<D> UserStore for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'r> &'r str: ColumnIndex<<D::Db as Database>::Row>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'a> &'a str: Encode<'a, D::Db> + Type<D::Db>,
    i64: Value<D::Db>,
    i32: Value<D::Db>,
    i16: Value<D::Db>,
    bool: Value<D::Db>,
    String: Value<D::Db>,
    Vec<u8>: Value<D::Db>,
    Option<i64>: Value<D::Db>,
    Option<bool>: Value<D::Db>,
    Option<String>: Value<D::Db>,
    Option<Vec<u8>>: Value<D::Db>,
    Option<D::Time>: Value<D::Db>,
{
    async fn insert_user(&self, d: &UserDraft) -> StoreResult<User> {
        let row: UserRow<D::Time> = sqlx::query_as(concat!(
            "INSERT INTO users (email, password_hash, first_name, last_name, role, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
            user_columns!()
        ))
        .bind(&d.email)
        .bind(&d.password_hash)
        .bind(&d.first_name)
        .bind(&d.last_name)
        .bind(d.role.as_str())
        .bind(D::encode_time(d.created_at))
        .bind(D::encode_time(d.created_at))
        .fetch_one(&self.writer)
        .await
        .map_err(db::<D>)?;
        row.into_user::<D>()
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        let row: Option<UserRow<D::Time>> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db::<D>)?;
        row.map(UserRow::into_user::<D>).transpose()
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, String)>> {
        #[derive(sqlx::FromRow)]
        struct WithHash<T> {
            #[sqlx(flatten)]
            user: UserRow<T>,
            password_hash: String,
        }
        let row: Option<WithHash<D::Time>> = sqlx::query_as(concat!(
            "SELECT password_hash, ",
            user_columns!(),
            " FROM users WHERE email = $1 AND deleted_at IS NULL"
        ))
        .bind(email)
        .fetch_optional(&self.reader)
        .await
        .map_err(db::<D>)?;
        row.map(|r| Ok((r.user.into_user::<D>()?, r.password_hash)))
            .transpose()
    }

    async fn password_hash(&self, id: UserId) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1 AND deleted_at IS NULL")
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db::<D>)
    }

    async fn update_user(&self, id: UserId, u: &UserUpdate) -> StoreResult<Option<User>> {
        let mut tx = self.write().await?;
        let row: Option<UserRow<D::Time>> = sqlx::query_as(concat!(
            "UPDATE users SET email = coalesce($1, email), first_name = coalesce($2, first_name), \
             last_name = coalesce($3, last_name), role = coalesce($4, role), \
             is_active = coalesce($5, is_active), updated_at = $6 \
             WHERE id = $7 AND deleted_at IS NULL RETURNING ",
            user_columns!()
        ))
        .bind(u.email.clone())
        .bind(u.first_name.clone())
        .bind(u.last_name.clone())
        .bind(u.role.map(|r| r.as_str().to_owned()))
        .bind(u.is_active)
        .bind(D::encode_time(u.updated_at))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db::<D>)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user = row.into_user::<D>()?;
        if !user.is_active {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(db::<D>)?;
        }
        tx.commit().await.map_err(db::<D>)?;
        Ok(Some(user))
    }

    async fn set_password(
        &self,
        id: UserId,
        password_hash: &str,
        keep: Option<TokenHash>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let updated = sqlx::query(
            "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3 AND deleted_at IS NULL",
        )
        .bind(password_hash)
        .bind(D::encode_time(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        if D::rows_affected(&updated) == 0 {
            return Ok(false);
        }
        let revoke = format!(
            "DELETE FROM sessions WHERE user_id = $1 AND token_hash {} $2",
            D::IS_DISTINCT_FROM
        );
        sqlx::query(sql(revoke))
            .bind(id.0)
            .bind(keep.map(|k| k.0.to_vec()))
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        tx.commit().await.map_err(db::<D>)?;
        Ok(true)
    }

    async fn erase_user(&self, id: UserId, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let lookup = format!(
            "SELECT id FROM users WHERE id = $1 AND deleted_at IS NULL{}",
            D::LOCK
        );
        let found: Option<i64> = sqlx::query_scalar(sql(lookup))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db::<D>)?;
        if found.is_none() {
            return Ok(false);
        }
        // Not an email address, so nobody can register it first and block the erasure.
        let anonymous = format!("deleted:{id}");
        sqlx::query(
            "UPDATE users SET email = $1, first_name = '', last_name = '', password_hash = '', \
             is_active = $2, deleted_at = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(&anonymous)
        .bind(false)
        .bind(D::encode_time(now))
        .bind(D::encode_time(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        // Unsent mail to the account is dropped; the record of sent mail loses the address.
        sqlx::query("DELETE FROM outbox WHERE user_id = $1 AND state = 'pending'")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        sqlx::query("UPDATE outbox SET recipient = $1 WHERE user_id = $2")
            .bind(&anonymous)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        tx.commit().await.map_err(db::<D>)?;
        Ok(true)
    }

    async fn list_users(&self, query: &UserQuery, page: PageRequest) -> StoreResult<Page<User>> {
        let mut qb = QueryBuilder::new("SELECT count(*) FROM users");
        user_filters::<D>(&mut qb, query);
        let count: i64 = qb
            .build_query_scalar()
            .fetch_one(&self.reader)
            .await
            .map_err(db::<D>)?;
        let mut qb = QueryBuilder::new(concat!("SELECT ", user_columns!(), " FROM users"));
        user_filters::<D>(&mut qb, query);
        qb.push(" ORDER BY id");
        push_page(&mut qb, page);
        let rows: Vec<UserRow<D::Time>> = qb
            .build_query_as()
            .fetch_all(&self.reader)
            .await
            .map_err(db::<D>)?;
        Ok(Page {
            items: convert(rows, UserRow::into_user::<D>)?,
            count: as_count(count),
            request: page,
        })
    }
}

#[async_trait]
impl<D> SessionStore for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'r> &'r str: ColumnIndex<<D::Db as Database>::Row>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'a> &'a str: Encode<'a, D::Db> + Type<D::Db>,
    i64: Value<D::Db>,
    i32: Value<D::Db>,
    i16: Value<D::Db>,
    bool: Value<D::Db>,
    String: Value<D::Db>,
    Vec<u8>: Value<D::Db>,
    Option<i64>: Value<D::Db>,
    Option<bool>: Value<D::Db>,
    Option<String>: Value<D::Db>,
    Option<Vec<u8>>: Value<D::Db>,
    Option<D::Time>: Value<D::Db>,
{
    async fn insert_session(
        &self,
        token: TokenHash,
        user: UserId,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND expires_at <= $2")
            .bind(user.0)
            .bind(D::encode_time(created_at))
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token.0.to_vec())
        .bind(user.0)
        .bind(D::encode_time(created_at))
        .bind(D::encode_time(expires_at))
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        tx.commit().await.map_err(db::<D>)
    }

    async fn session_user(
        &self,
        token: TokenHash,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        let select = format!(
            "SELECT {} FROM users WHERE is_active = {} AND deleted_at IS NULL AND id = \
             (SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2)",
            user_columns!(),
            D::TRUE
        );
        let row: Option<UserRow<D::Time>> = sqlx::query_as(sql(select))
            .bind(token.0.to_vec())
            .bind(D::encode_time(now))
            .fetch_optional(&self.auth)
            .await
            .map_err(db::<D>)?;
        row.map(UserRow::into_user::<D>).transpose()
    }

    async fn delete_session(&self, token: TokenHash) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token.0.to_vec())
            .execute(&self.writer)
            .await
            .map_err(db::<D>)?;
        Ok(())
    }

    async fn hit(
        &self,
        key: ThrottleKey,
        at: DateTime<Utc>,
        new_window_ends: DateTime<Utc>,
    ) -> StoreResult<Hits> {
        let count = |writer: &Pool<D::Db>, hits: &[&batch::Hit]| -> batch::Written<'_, Hits> {
            let hits: Vec<_> = hits
                .iter()
                .map(|hit| (hit.key, hit.at, hit.new_window_ends))
                .collect();
            let writer = writer.clone();
            Box::pin(async move {
                let mut tx = writer.begin_with(D::BEGIN_WRITE).await.map_err(db::<D>)?;
                let counts = count_in::<D>(&mut tx, &hits).await?;
                tx.commit().await.map_err(db::<D>)?;
                Ok(counts)
            })
        };
        self.hits
            .write(&self.writer, count, |reply| batch::Hit {
                key,
                at,
                new_window_ends,
                reply,
            })
            .await
    }

    async fn forget_hits(&self, key: ThrottleKey) -> StoreResult<()> {
        sqlx::query("DELETE FROM throttle WHERE key = $1")
            .bind(key.0.to_vec())
            .execute(&self.writer)
            .await
            .map_err(db::<D>)?;
        Ok(())
    }
}

/// Counts the hits of `quotas` (each job's, if it has one) in `tx` (see [`count_in`]): for
/// each job, the hits of its quota's window if its hit is past the quota's limit.
pub(crate) async fn refusals<D: Dialect>(
    tx: &mut Transaction<'static, D::Db>,
    quotas: &[Option<Quota>],
) -> StoreResult<Vec<Option<Hits>>>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    i32: Value<D::Db>,
    Vec<u8>: Value<D::Db>,
{
    let hits: Vec<_> = quotas
        .iter()
        .flatten()
        .map(|q| (q.key, q.at, q.new_window_ends))
        .collect();
    let mut counts = count_in::<D>(tx, &hits).await?.into_iter();
    Ok(quotas
        .iter()
        .map(|quota| {
            let limit = quota.as_ref()?.limit;
            counts.next().filter(|hits| hits.count > limit)
        })
        .collect())
}

/// Counts `hits` (each a key, its time and when a window it starts ends) in `tx`, one
/// statement for each key's hits together (many of them are one account's or one address's):
/// each hit's count, in their order, as if counted one after the other. A key's hits are
/// counted at the latest of their times, so hits that straddle the end of a window all count
/// in the next one.
async fn count_in<D: Dialect>(
    tx: &mut Transaction<'static, D::Db>,
    hits: &[(ThrottleKey, DateTime<Utc>, DateTime<Utc>)],
) -> StoreResult<Vec<Hits>>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    i32: Value<D::Db>,
    Vec<u8>: Value<D::Db>,
{
    // Each key with its latest hit and the positions of all its hits, in key order, so that
    // groups counting the same keys at once (on other instances) lock their rows in the same
    // order instead of deadlocking.
    let mut keys: BTreeMap<[u8; 32], (usize, Vec<usize>)> = BTreeMap::new();
    for (i, (key, at, _)) in hits.iter().enumerate() {
        let (latest, of_key) = keys.entry(key.0).or_insert((i, Vec::new()));
        if *at > hits[*latest].1 {
            *latest = i;
        }
        of_key.push(i);
    }
    let mut counts = vec![None; hits.len()];
    let mut window_started = false;
    for (latest, of_key) in keys.values() {
        let (key, at, new_window_ends) = &hits[*latest];
        let n = i32::try_from(of_key.len()).unwrap_or(i32::MAX);
        // One statement decides, so concurrent writers each see their own count.
        let (total, until): (i32, D::Time) = sqlx::query_as(
            "INSERT INTO throttle (key, ends_at, hits) VALUES ($1, $2, $4) \
             ON CONFLICT (key) DO UPDATE SET \
               hits = CASE WHEN throttle.ends_at <= $3 THEN excluded.hits \
                      ELSE throttle.hits + excluded.hits END, \
               ends_at = CASE WHEN throttle.ends_at <= $3 THEN $2 ELSE throttle.ends_at END \
             RETURNING hits, ends_at",
        )
        .bind(key.0.to_vec())
        .bind(D::encode_time(*new_window_ends))
        .bind(D::encode_time(*at))
        .bind(n)
        .fetch_one(&mut **tx)
        .await
        .map_err(db::<D>)?;
        window_started |= total == n;
        let until = D::decode_time(until)?;
        for (k, &i) in of_key.iter().enumerate() {
            let before = i32::try_from(of_key.len() - k).unwrap_or(i32::MAX);
            counts[i] = Some(Hits {
                count: u32::try_from(total - before + 1).unwrap_or_default(),
                until,
            });
        }
    }
    // Ended windows are deleted whenever a window starts: as often as keys come and go,
    // not on every hit.
    if window_started {
        let at = hits.iter().map(|hit| hit.1).min().unwrap_or_default();
        sqlx::query("DELETE FROM throttle WHERE ends_at <= $1")
            .bind(D::encode_time(at))
            .execute(&mut **tx)
            .await
            .map_err(db::<D>)?;
    }
    counts
        .into_iter()
        .map(|count| count.ok_or_else(|| StoreError::backend("a hit was not counted")))
        .collect()
}
