//! The outbox of notifications.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use helpdesk_core::store::OutboxStore;
use helpdesk_core::store::StoreResult;
use helpdesk_core::{
    Notification, NotificationBacklog, NotificationId, NotificationState, Page, PageRequest,
};
use sqlx::{ColumnIndex, Database, Encode, Executor, IntoArguments, QueryBuilder, Type};

use crate::error::store_error as db;
use crate::filters::{push_list, push_page};
use crate::rows::{NotificationRow, as_count, convert, notification_select};
use crate::{Dialect, SqlStore, Value, sql};

#[async_trait]
impl<D> OutboxStore for SqlStore<D>
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
    async fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<Notification>> {
        let mut tx = self.write().await?;
        let claim = format!(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1 \
             WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $2 \
                          ORDER BY next_attempt_at, id LIMIT $3{}) \
             RETURNING id",
            D::CLAIM
        );
        let ids: Vec<i64> = sqlx::query_scalar(sql(claim))
            .bind(D::encode_time(now + lease))
            .bind(D::encode_time(now))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(db::<D>)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::new(concat!(notification_select!(), " WHERE o.id IN "));
        push_list(&mut qb, ids);
        qb.push(" ORDER BY o.id");
        let rows: Vec<NotificationRow<D::Time>> = qb
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(db::<D>)?;
        tx.commit().await.map_err(db::<D>)?;
        convert(rows, NotificationRow::into_notification::<D>)
    }

    async fn mark_sent(&self, id: NotificationId, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET state = 'sent', sent_at = $1, last_error = NULL WHERE id = $2",
        )
        .bind(D::encode_time(at))
        .bind(id.0)
        .execute(&self.writer)
        .await
        .map_err(db::<D>)?;
        Ok(())
    }

    async fn mark_retry(
        &self,
        id: NotificationId,
        retry_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1, last_error = $2 \
             WHERE id = $3 AND state = 'pending'",
        )
        .bind(D::encode_time(retry_at))
        .bind(error)
        .bind(id.0)
        .execute(&self.writer)
        .await
        .map_err(db::<D>)?;
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: NotificationId,
        at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE outbox SET state = 'failed', next_attempt_at = $1, last_error = $2 \
             WHERE id = $3 AND state = 'pending'",
        )
        .bind(D::encode_time(at))
        .bind(error)
        .bind(id.0)
        .execute(&self.writer)
        .await
        .map_err(db::<D>)?;
        Ok(())
    }

    async fn list_notifications(
        &self,
        state: NotificationState,
        page: PageRequest,
    ) -> StoreResult<Page<Notification>> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE state = $1")
            .bind(state.as_str())
            .fetch_one(&self.reader)
            .await
            .map_err(db::<D>)?;
        let mut qb = QueryBuilder::new(concat!(notification_select!(), " WHERE o.state = "));
        qb.push_bind(state.as_str()).push(" ORDER BY o.id DESC");
        push_page(&mut qb, page);
        let rows: Vec<NotificationRow<D::Time>> = qb
            .build_query_as()
            .fetch_all(&self.reader)
            .await
            .map_err(db::<D>)?;
        Ok(Page {
            items: convert(rows, NotificationRow::into_notification::<D>)?,
            count: as_count(count),
            request: page,
        })
    }

    async fn prune_notifications(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let pruned = sqlx::query(
            "DELETE FROM outbox WHERE (state = 'sent' AND sent_at < $1) \
             OR (state = 'failed' AND next_attempt_at < $1)",
        )
        .bind(D::encode_time(before))
        .execute(&self.writer)
        .await
        .map_err(db::<D>)?;
        Ok(D::rows_affected(&pruned))
    }

    async fn retry_notification(
        &self,
        id: NotificationId,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let updated = sqlx::query(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $1 \
             WHERE id = $2 AND state = 'failed'",
        )
        .bind(D::encode_time(now))
        .bind(id.0)
        .execute(&self.writer)
        .await
        .map_err(db::<D>)?;
        Ok(D::rows_affected(&updated) > 0)
    }

    async fn notification_backlog(&self) -> StoreResult<NotificationBacklog> {
        let (pending, sent, failed, oldest): (i64, i64, i64, Option<D::Time>) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM outbox WHERE state = 'pending'), \
                    (SELECT count(*) FROM outbox WHERE state = 'sent'), \
                    (SELECT count(*) FROM outbox WHERE state = 'failed'), \
                    (SELECT min(escalated_at) FROM outbox WHERE state = 'pending')",
        )
        .fetch_one(&self.reader)
        .await
        .map_err(db::<D>)?;
        Ok(NotificationBacklog {
            pending: as_count(pending),
            sent: as_count(sent),
            failed: as_count(failed),
            oldest_pending: oldest.map(D::decode_time).transpose()?,
        })
    }
}
