//! The outbox of notifications.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use helpdesk_core::store::OutboxStore;
use helpdesk_core::{Notification, NotificationId, NotificationState, Page, PageRequest, Result};

use helpdesk_sql::convert;

use crate::rows::{NotificationRow, notification_select};
use crate::{PgStore, db};

#[async_trait]
impl OutboxStore for PgStore {
    async fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Notification>> {
        let mut tx = self.begin().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE outbox o SET attempts = o.attempts + 1, next_attempt_at = $1 \
               FROM (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $2 \
                      ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) claimed \
              WHERE o.id = claimed.id RETURNING o.id",
        )
        .bind(now + lease)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<NotificationRow> = sqlx::query_as(concat!(
            notification_select!(),
            " WHERE o.id = ANY($1) ORDER BY o.id"
        ))
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        convert(rows)
    }

    async fn mark_sent(&self, id: NotificationId, at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET state = 'sent', sent_at = $1, last_error = NULL WHERE id = $2",
        )
        .bind(at)
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn mark_retry(
        &self,
        id: NotificationId,
        retry_at: DateTime<Utc>,
        error: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE outbox SET next_attempt_at = $1, last_error = $2 WHERE id = $3 AND state = 'pending'")
            .bind(retry_at)
            .bind(error)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn mark_failed(&self, id: NotificationId, at: DateTime<Utc>, error: &str) -> Result<()> {
        sqlx::query("UPDATE outbox SET state = 'failed', next_attempt_at = $1, last_error = $2 WHERE id = $3 AND state = 'pending'")
            .bind(at)
            .bind(error)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn list_notifications(
        &self,
        state: NotificationState,
        page: PageRequest,
    ) -> Result<Page<Notification>> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE state = $1")
            .bind(state.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        let rows: Vec<NotificationRow> = sqlx::query_as(concat!(
            notification_select!(),
            " WHERE o.state = $1 ORDER BY o.id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(state.as_str())
        .bind(i64::from(page.size()))
        .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(Page {
            items: convert(rows)?,
            count: u64::try_from(count).unwrap_or_default(),
            request: page,
        })
    }

    async fn retry_notification(&self, id: NotificationId, now: DateTime<Utc>) -> Result<bool> {
        let updated = sqlx::query("UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $1 WHERE id = $2 AND state = 'failed'")
            .bind(now)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(updated.rows_affected() > 0)
    }
}
