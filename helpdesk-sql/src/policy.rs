//! The service-level policy: one row, its JSON and its version.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::sla::SlaPolicySpec;
use helpdesk_core::store::{PolicyStore, StoreError, StoreResult, StoredPolicy};
use sqlx::{ColumnIndex, Database, Encode, Executor, FromRow, IntoArguments, Type};

use crate::error::store_error as db;
use crate::{Dialect, SqlStore, Value};

#[derive(FromRow)]
struct PolicyRow<T> {
    spec: String,
    version: i64,
    updated_at: T,
}

impl<T> PolicyRow<T> {
    fn into_policy<D: Dialect<Time = T>>(self) -> StoreResult<StoredPolicy> {
        Ok(StoredPolicy {
            spec: serde_json::from_str(&self.spec).map_err(StoreError::backend)?,
            version: self.version,
            updated_at: D::decode_time(self.updated_at)?,
        })
    }
}

fn to_json(spec: &SlaPolicySpec) -> StoreResult<String> {
    serde_json::to_string(spec).map_err(StoreError::backend)
}

#[async_trait]
impl<D> PolicyStore for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'r> &'r str: ColumnIndex<<D::Db as Database>::Row>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'a> &'a str: Encode<'a, D::Db> + Type<D::Db>,
    i64: Value<D::Db>,
    String: Value<D::Db>,
    Option<i64>: Value<D::Db>,
{
    async fn sla_policy(&self) -> StoreResult<Option<StoredPolicy>> {
        let row: Option<PolicyRow<D::Time>> =
            sqlx::query_as("SELECT spec, version, updated_at FROM sla_policy WHERE id = 1")
                .fetch_optional(&self.reader)
                .await
                .map_err(db::<D>)?;
        row.map(PolicyRow::into_policy::<D>).transpose()
    }

    async fn seed_sla_policy(
        &self,
        spec: &SlaPolicySpec,
        at: DateTime<Utc>,
    ) -> StoreResult<StoredPolicy> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO sla_policy (id, spec, version, updated_at) VALUES (1, $1, 1, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(to_json(spec)?)
        .bind(D::encode_time(at))
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        let row: PolicyRow<D::Time> =
            sqlx::query_as("SELECT spec, version, updated_at FROM sla_policy WHERE id = 1")
                .fetch_one(&mut *tx)
                .await
                .map_err(db::<D>)?;
        tx.commit().await.map_err(db::<D>)?;
        row.into_policy::<D>()
    }

    async fn replace_sla_policy(
        &self,
        spec: &SlaPolicySpec,
        expected: Option<i64>,
        at: DateTime<Utc>,
    ) -> StoreResult<Result<StoredPolicy, StoredPolicy>> {
        let mut tx = self.write().await?;
        let replaced: Option<PolicyRow<D::Time>> = sqlx::query_as(
            "UPDATE sla_policy SET spec = $1, version = version + 1, updated_at = $2 \
             WHERE id = 1 AND ($3 IS NULL OR version = $3) RETURNING spec, version, updated_at",
        )
        .bind(to_json(spec)?)
        .bind(D::encode_time(at))
        .bind(expected)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db::<D>)?;
        if let Some(row) = replaced {
            tx.commit().await.map_err(db::<D>)?;
            return Ok(Ok(row.into_policy::<D>()?));
        }
        let current: Option<PolicyRow<D::Time>> =
            sqlx::query_as("SELECT spec, version, updated_at FROM sla_policy WHERE id = 1")
                .fetch_optional(&mut *tx)
                .await
                .map_err(db::<D>)?;
        tx.commit().await.map_err(db::<D>)?;
        match current {
            Some(row) => Ok(Err(row.into_policy::<D>()?)),
            None => Err(StoreError::backend(
                "no service-level policy stored to replace",
            )),
        }
    }
}
