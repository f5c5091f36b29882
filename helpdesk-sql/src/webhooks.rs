//! Webhook subscriptions, their queue of events, and the claims of deliveries.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use helpdesk_core::store::{StoreResult, WebhookBacklog, WebhookDraft, WebhookStore};
use helpdesk_core::webhooks::{
    AttemptOutcome, Delivery, DeliveryState, Event, EventFilter, EventType, IN_PROCESS,
    OutgoingDelivery, Secret, Webhook, WebhookPatch,
};
use helpdesk_core::{DeliveryId, Page, PageRequest, WebhookId};
use sqlx::{
    ColumnIndex, Database, Encode, Executor, FromRow, IntoArguments, QueryBuilder, Transaction,
    Type,
};

use crate::error::{corrupt, parse_stored, store_error as db};
use crate::filters::{push_list, push_page};
use crate::rows::{as_count, convert};
use crate::{Dialect, SqlStore, Value, sql};

/// Rows per multi-row insert: well under every database's limit of bound values.
const ROWS_PER_INSERT: usize = 1000;

const WEBHOOK_COLUMNS: &str =
    "id, url, description, events, active, disabled_reason, created_at, updated_at";

#[derive(FromRow)]
struct WebhookRow<T> {
    id: i64,
    url: String,
    description: String,
    events: String,
    active: bool,
    disabled_reason: Option<String>,
    created_at: T,
    updated_at: T,
}

impl<T> WebhookRow<T> {
    fn into_webhook<D: Dialect<Time = T>>(self) -> StoreResult<Webhook> {
        Ok(Webhook {
            id: WebhookId(self.id),
            url: self.url,
            description: self.description,
            events: events(&self.events)?,
            active: self.active,
            disabled_reason: self.disabled_reason,
            created_at: D::decode_time(self.created_at)?,
            updated_at: D::decode_time(self.updated_at)?,
        })
    }
}

fn events(stored: &str) -> StoreResult<EventFilter> {
    let names: Vec<String> =
        serde_json::from_str(stored).map_err(|e| corrupt(format!("webhook events: {e}")))?;
    EventFilter::parse(&names).map_err(corrupt)
}

fn stored_events(filter: &EventFilter) -> String {
    serde_json::to_string(&filter.names()).unwrap_or_else(|_| "[\"*\"]".into())
}

/// The `webhook-id` of an event: stable across attempts and redeliveries.
fn message_id(event: i64) -> String {
    format!("msg_{event}")
}

const DELIVERY_SELECT: &str = "SELECT d.id, d.webhook_id, d.event_id, e.type AS event_type, \
     d.state, d.attempts, d.last_status, d.last_error, d.next_attempt_at, d.created_at, \
     d.finished_at FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id";

#[derive(FromRow)]
struct DeliveryRow<T> {
    id: i64,
    webhook_id: i64,
    event_id: i64,
    event_type: String,
    state: String,
    attempts: i32,
    last_status: Option<i32>,
    last_error: Option<String>,
    next_attempt_at: Option<T>,
    created_at: T,
    finished_at: Option<T>,
}

impl<T> DeliveryRow<T> {
    fn into_delivery<D: Dialect<Time = T>>(self) -> StoreResult<Delivery> {
        let state: DeliveryState = parse_stored(&self.state)?;
        let finished_at = self.finished_at.map(D::decode_time).transpose()?;
        Ok(Delivery {
            id: DeliveryId(self.id),
            webhook_id: WebhookId(self.webhook_id),
            event_id: message_id(self.event_id),
            event_type: parse_stored(&self.event_type)?,
            state,
            attempts: u32::try_from(self.attempts).unwrap_or_default(),
            last_status: self.last_status.and_then(|s| u16::try_from(s).ok()),
            last_error: self.last_error,
            next_attempt_at: match state {
                DeliveryState::Pending => self.next_attempt_at.map(D::decode_time).transpose()?,
                _ => None,
            },
            created_at: D::decode_time(self.created_at)?,
            delivered_at: finished_at.filter(|_| state == DeliveryState::Sent),
        })
    }
}

#[derive(FromRow)]
struct OutgoingRow<T> {
    id: i64,
    webhook_id: i64,
    url: String,
    secret: String,
    previous_secret: Option<String>,
    previous_until: Option<T>,
    event_id: i64,
    event_type: String,
    payload: String,
    attempts: i32,
    created_at: T,
}

/// The active subscriptions, as a write transaction reads them to queue its events.
pub(crate) struct Subscribers(Vec<(i64, EventFilter)>);

impl Subscribers {
    /// Whether any subscription wants events of type `t`.
    pub(crate) fn want(&self, t: EventType) -> bool {
        self.0.iter().any(|(_, filter)| filter.wants(t))
    }
}

impl<D> SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'r> &'r str: ColumnIndex<<D::Db as Database>::Row>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'a> &'a str: Encode<'a, D::Db> + Type<D::Db>,
    i64: Value<D::Db>,
    i32: Value<D::Db>,
    bool: Value<D::Db>,
    String: Value<D::Db>,
    Option<i64>: Value<D::Db>,
    Option<bool>: Value<D::Db>,
    Option<String>: Value<D::Db>,
    Option<D::Time>: Value<D::Db>,
{
    /// The active subscriptions, read in `tx` (one small read per write; a subscription
    /// created after it was read gets the events of changes committed after it was created).
    pub(crate) async fn subscribers(
        tx: &mut Transaction<'static, D::Db>,
    ) -> StoreResult<Subscribers> {
        let query = format!("SELECT id, events FROM webhooks WHERE active = {}", D::TRUE);
        let rows: Vec<(i64, String)> = sqlx::query_as(sql(query))
            .fetch_all(&mut **tx)
            .await
            .map_err(db::<D>)?;
        let mut subscribers = Vec::with_capacity(rows.len());
        for (id, stored) in rows {
            subscribers.push((id, events(&stored)?));
        }
        Ok(Subscribers(subscribers))
    }

    /// Queues `events` in `tx`: each stored once, with a delivery for every subscription
    /// that wants it, due now.
    pub(crate) async fn queue_events(
        tx: &mut Transaction<'static, D::Db>,
        subscribers: &Subscribers,
        events: &[Event],
    ) -> StoreResult<Vec<i64>> {
        let wanted: Vec<&Event> = events
            .iter()
            .filter(|e| subscribers.want(e.event_type))
            .collect();
        let mut delivery_ids = Vec::new();
        for chunk in wanted.chunks(ROWS_PER_INSERT) {
            let mut qb =
                QueryBuilder::new("INSERT INTO webhook_events (type, payload, created_at) ");
            qb.push_values(chunk, |mut row, e| {
                row.push_bind(e.event_type.as_str())
                    .push_bind(e.payload.clone())
                    .push_bind(D::encode_time(e.at));
            });
            qb.push(" RETURNING id");
            let mut ids: Vec<i64> = qb
                .build_query_scalar()
                .fetch_all(&mut **tx)
                .await
                .map_err(db::<D>)?;
            // Ids are handed out in the order of the rows; the returned rows may come in any.
            ids.sort_unstable();
            if ids.len() != chunk.len() {
                return Err(corrupt("queued webhook events came back short"));
            }
            let pairs: Vec<(i64, i64, DateTime<Utc>)> = chunk
                .iter()
                .zip(ids)
                .flat_map(|(e, event_id)| {
                    subscribers
                        .0
                        .iter()
                        .filter(|(_, filter)| filter.wants(e.event_type))
                        .map(move |(webhook, _)| (*webhook, event_id, e.at))
                })
                .collect();
            for pairs in pairs.chunks(ROWS_PER_INSERT) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO webhook_deliveries (webhook_id, event_id, next_attempt_at, \
                     created_at) ",
                );
                qb.push_values(pairs, |mut row, (webhook, event, at)| {
                    row.push_bind(*webhook)
                        .push_bind(*event)
                        .push_bind(D::encode_time(*at))
                        .push_bind(D::encode_time(*at));
                });
                qb.push(" RETURNING id");
                let ids: Vec<i64> = qb
                    .build_query_scalar()
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(db::<D>)?;
                delivery_ids.extend(ids);
            }
        }
        Ok(delivery_ids)
    }

    /// Reads back deliveries by id, in `tx` or the reader.
    async fn deliveries<'e, E>(executor: E, ids: &[i64]) -> StoreResult<Vec<Delivery>>
    where
        E: Executor<'e, Database = D::Db>,
    {
        let mut qb = QueryBuilder::new(DELIVERY_SELECT);
        qb.push(" WHERE d.id IN ");
        push_list(&mut qb, ids.iter().copied());
        qb.push(" ORDER BY d.id");
        let rows: Vec<DeliveryRow<D::Time>> = qb
            .build_query_as()
            .fetch_all(executor)
            .await
            .map_err(db::<D>)?;
        convert(rows, DeliveryRow::into_delivery::<D>)
    }
}

#[async_trait]
impl<D> WebhookStore for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'r> &'r str: ColumnIndex<<D::Db as Database>::Row>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
    for<'a> &'a str: Encode<'a, D::Db> + Type<D::Db>,
    i64: Value<D::Db>,
    i32: Value<D::Db>,
    bool: Value<D::Db>,
    String: Value<D::Db>,
    Option<i64>: Value<D::Db>,
    Option<bool>: Value<D::Db>,
    Option<String>: Value<D::Db>,
    Option<D::Time>: Value<D::Db>,
{
    async fn insert_webhook(&self, d: &WebhookDraft) -> StoreResult<Webhook> {
        let insert = format!(
            "INSERT INTO webhooks (url, description, events, secret, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING {WEBHOOK_COLUMNS}"
        );
        let row: WebhookRow<D::Time> = sqlx::query_as(sql(insert))
            .bind(&d.url)
            .bind(&d.description)
            .bind(stored_events(&d.events))
            .bind(d.secret.as_str())
            .bind(D::encode_time(d.created_at))
            .fetch_one(&self.writer)
            .await
            .map_err(db::<D>)?;
        row.into_webhook::<D>()
    }

    async fn webhook(&self, id: WebhookId) -> StoreResult<Option<Webhook>> {
        let select = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        let row: Option<WebhookRow<D::Time>> = sqlx::query_as(sql(select))
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db::<D>)?;
        row.map(WebhookRow::into_webhook::<D>).transpose()
    }

    async fn list_webhooks(&self, page: PageRequest) -> StoreResult<Page<Webhook>> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM webhooks")
            .fetch_one(&self.reader)
            .await
            .map_err(db::<D>)?;
        let mut qb = QueryBuilder::new(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id"
        ));
        push_page(&mut qb, page);
        let rows: Vec<WebhookRow<D::Time>> = qb
            .build_query_as()
            .fetch_all(&self.reader)
            .await
            .map_err(db::<D>)?;
        Ok(Page {
            items: convert(rows, WebhookRow::into_webhook::<D>)?,
            count: as_count(count),
            request: page,
        })
    }

    async fn update_webhook(
        &self,
        id: WebhookId,
        patch: &WebhookPatch,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Webhook>> {
        let update = format!(
            "UPDATE webhooks SET url = coalesce($1, url), events = coalesce($2, events), \
             description = coalesce($3, description), active = coalesce($4, active), \
             disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END, updated_at = $6 \
             WHERE id = $7 RETURNING {WEBHOOK_COLUMNS}"
        );
        let mut tx = self.write().await?;
        let row: Option<WebhookRow<D::Time>> = sqlx::query_as(sql(update))
            .bind(patch.url.as_ref().map(|u| u.to_string()))
            .bind(patch.events.as_ref().map(stored_events))
            .bind(patch.description.clone())
            .bind(patch.active)
            .bind(patch.active == Some(true))
            .bind(D::encode_time(at))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db::<D>)?;
        // Switched off, its pending deliveries are parked (no next attempt, out of the claim's
        // index range); switched on, the parked ones are due at once.
        let park = match patch.active {
            Some(false) => Some(
                sqlx::query(
                    "UPDATE webhook_deliveries SET next_attempt_at = NULL \
                     WHERE webhook_id = $1 AND state = 'pending'",
                )
                .bind(id.0),
            ),
            Some(true) => Some(
                sqlx::query(
                    "UPDATE webhook_deliveries SET next_attempt_at = $2 \
                     WHERE webhook_id = $1 AND state = 'pending' AND next_attempt_at IS NULL",
                )
                .bind(id.0)
                .bind(D::encode_time(at)),
            ),
            None => None,
        };
        if let (Some(park), Some(_)) = (park, &row) {
            park.execute(&mut *tx).await.map_err(db::<D>)?;
        }
        tx.commit().await.map_err(db::<D>)?;
        row.map(WebhookRow::into_webhook::<D>).transpose()
    }

    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        // Its events no other subscription still needs go with it (their deliveries cascade).
        sqlx::query(
            "DELETE FROM webhook_events WHERE id IN \
             (SELECT event_id FROM webhook_deliveries WHERE webhook_id = $1) \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o \
                             WHERE o.event_id = webhook_events.id AND o.webhook_id <> $1)",
        )
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        tx.commit().await.map_err(db::<D>)?;
        Ok(D::rows_affected(&deleted) > 0)
    }

    async fn rotate_webhook_secret(
        &self,
        id: WebhookId,
        secret: &Secret,
        previous_until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let rotated = sqlx::query(
            "UPDATE webhooks SET previous_secret = secret, previous_until = $1, secret = $2, \
             updated_at = $3 WHERE id = $4",
        )
        .bind(D::encode_time(previous_until))
        .bind(secret.as_str())
        .bind(D::encode_time(at))
        .bind(id.0)
        .execute(&self.writer)
        .await
        .map_err(db::<D>)?;
        Ok(D::rows_affected(&rotated) > 0)
    }

    async fn disable_webhook(
        &self,
        id: WebhookId,
        reason: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE webhooks SET active = $1, disabled_reason = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(false)
        .bind(reason)
        .bind(D::encode_time(at))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        sqlx::query(
            "UPDATE webhook_deliveries SET state = 'failed', finished_at = $1, \
             last_error = coalesce(last_error, $2) WHERE webhook_id = $3 AND state = 'pending'",
        )
        .bind(D::encode_time(at))
        .bind(format!(
            "not sent: the subscription was disabled ({reason})"
        ))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        tx.commit().await.map_err(db::<D>)?;
        Ok(())
    }

    async fn ensure_in_process_webhook(
        &self,
        name: &str,
        filter: &EventFilter,
        at: DateTime<Utc>,
    ) -> StoreResult<Webhook> {
        let url = format!("{IN_PROCESS}{name}");
        let stored = stored_events(filter);
        let mut tx = self.write().await?;
        let select = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE url = $1{}",
            D::LOCK
        );
        let existing: Option<WebhookRow<D::Time>> = sqlx::query_as(sql(select))
            .bind(&url)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db::<D>)?;
        let row: WebhookRow<D::Time> = match existing {
            Some(row) if row.events == stored => row,
            Some(row) => {
                let update = format!(
                    "UPDATE webhooks SET events = $1, updated_at = $2 WHERE id = $3 \
                     RETURNING {WEBHOOK_COLUMNS}"
                );
                sqlx::query_as(sql(update))
                    .bind(&stored)
                    .bind(D::encode_time(at))
                    .bind(row.id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db::<D>)?
            }
            None => {
                let secret = Secret::generate().map_err(|e| corrupt(e.to_string()))?;
                let insert = format!(
                    "INSERT INTO webhooks (url, description, events, secret, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING {WEBHOOK_COLUMNS}"
                );
                sqlx::query_as(sql(insert))
                    .bind(&url)
                    .bind(format!("in-process handler {name:?}"))
                    .bind(&stored)
                    .bind(secret.as_str())
                    .bind(D::encode_time(at))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db::<D>)?
            }
        };
        tx.commit().await.map_err(db::<D>)?;
        row.into_webhook::<D>()
    }

    async fn queue_for_webhook(
        &self,
        id: WebhookId,
        event: &Event,
    ) -> StoreResult<Option<Delivery>> {
        let mut tx = self.write().await?;
        let keep = format!("SELECT events FROM webhooks WHERE id = $1{}", D::KEEP);
        let Some(stored): Option<String> = sqlx::query_scalar(sql(keep))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db::<D>)?
        else {
            return Ok(None);
        };
        let only = Subscribers(vec![(id.0, events(&stored)?)]);
        let ids = Self::queue_events(&mut tx, &only, std::slice::from_ref(event)).await?;
        let delivery = Self::deliveries(&mut *tx, &ids).await?.pop();
        tx.commit().await.map_err(db::<D>)?;
        Ok(delivery)
    }

    async fn list_deliveries(
        &self,
        webhook: WebhookId,
        state: Option<DeliveryState>,
        page: PageRequest,
    ) -> StoreResult<Page<Delivery>> {
        let mut qb =
            QueryBuilder::new("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = ");
        qb.push_bind(webhook.0);
        if let Some(state) = state {
            qb.push(" AND state = ").push_bind(state.as_str());
        }
        let count: i64 = qb
            .build_query_scalar()
            .fetch_one(&self.reader)
            .await
            .map_err(db::<D>)?;
        let mut qb = QueryBuilder::new(DELIVERY_SELECT);
        qb.push(" WHERE d.webhook_id = ").push_bind(webhook.0);
        if let Some(state) = state {
            qb.push(" AND d.state = ").push_bind(state.as_str());
        }
        qb.push(" ORDER BY d.id DESC");
        push_page(&mut qb, page);
        let rows: Vec<DeliveryRow<D::Time>> = qb
            .build_query_as()
            .fetch_all(&self.reader)
            .await
            .map_err(db::<D>)?;
        Ok(Page {
            items: convert(rows, DeliveryRow::into_delivery::<D>)?,
            count: as_count(count),
            request: page,
        })
    }

    async fn redeliver(&self, id: DeliveryId, now: DateTime<Utc>) -> StoreResult<Option<Delivery>> {
        let mut tx = self.write().await?;
        let updated = sqlx::query(
            "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, \
             created_at = $1, finished_at = NULL WHERE id = $2",
        )
        .bind(D::encode_time(now))
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        if D::rows_affected(&updated) == 0 {
            return Ok(None);
        }
        let delivery = Self::deliveries(&mut *tx, &[id.0]).await?.pop();
        tx.commit().await.map_err(db::<D>)?;
        Ok(delivery)
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> StoreResult<Vec<OutgoingDelivery>> {
        let mut tx = self.write().await?;
        // Deliveries of switched-off subscriptions wait; the subscriptions are not locked, so
        // claimers of one subscription's deliveries never wait on each other.
        let claim = format!(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = $1 \
             WHERE id IN (SELECT d.id FROM webhook_deliveries d \
                          WHERE d.state = 'pending' AND d.next_attempt_at <= $2 \
                          AND d.webhook_id IN (SELECT id FROM webhooks WHERE active = {}) \
                          ORDER BY d.next_attempt_at, d.id LIMIT $3{}) \
             RETURNING id",
            D::TRUE,
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
        let mut qb = QueryBuilder::new(
            "SELECT d.id, d.webhook_id, w.url, w.secret, w.previous_secret, w.previous_until, \
             d.event_id, e.type AS event_type, e.payload, d.attempts, d.created_at \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             JOIN webhook_events e ON e.id = d.event_id WHERE d.id IN ",
        );
        push_list(&mut qb, ids);
        qb.push(" ORDER BY d.id");
        let rows: Vec<OutgoingRow<D::Time>> = qb
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(db::<D>)?;
        tx.commit().await.map_err(db::<D>)?;
        convert(rows, |r| {
            let mut secrets = vec![r.secret];
            if let (Some(previous), Some(until)) = (r.previous_secret, r.previous_until)
                && D::decode_time(until)? > now
            {
                secrets.push(previous);
            }
            Ok(OutgoingDelivery {
                id: DeliveryId(r.id),
                webhook_id: WebhookId(r.webhook_id),
                url: r.url,
                secrets,
                event_id: message_id(r.event_id),
                event_type: parse_stored(&r.event_type)?,
                payload: r.payload,
                attempts: u32::try_from(r.attempts).unwrap_or_default(),
                created_at: D::decode_time(r.created_at)?,
            })
        })
    }

    async fn finish_delivery(&self, id: DeliveryId, o: &AttemptOutcome) -> StoreResult<()> {
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, next_attempt_at = $2, last_status = $3, \
             last_error = $4, finished_at = $5 WHERE id = $6 AND state = 'pending'",
        )
        .bind(o.state.as_str())
        .bind(o.retry_at.map(D::encode_time))
        .bind(o.status.map(i64::from))
        .bind(o.error.clone())
        .bind((o.state != DeliveryState::Pending).then(|| D::encode_time(o.at)))
        .bind(id.0)
        .execute(&self.writer)
        .await
        .map_err(db::<D>)?;
        Ok(())
    }

    async fn webhook_backlog(&self) -> StoreResult<WebhookBacklog> {
        let (pending, failed, oldest): (i64, i64, Option<D::Time>) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'), \
                    (SELECT count(*) FROM webhook_deliveries WHERE state = 'failed'), \
                    (SELECT min(created_at) FROM webhook_deliveries WHERE state = 'pending')",
        )
        .fetch_one(&self.reader)
        .await
        .map_err(db::<D>)?;
        Ok(WebhookBacklog {
            pending: as_count(pending),
            failed: as_count(failed),
            oldest_pending: oldest.map(D::decode_time).transpose()?,
        })
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.write().await?;
        let old: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, event_id FROM webhook_deliveries \
             WHERE state <> 'pending' AND finished_at < $1 LIMIT 5000",
        )
        .bind(D::encode_time(before))
        .fetch_all(&mut *tx)
        .await
        .map_err(db::<D>)?;
        for chunk in old.chunks(ROWS_PER_INSERT) {
            let mut qb = QueryBuilder::new("DELETE FROM webhook_deliveries WHERE id IN ");
            push_list(&mut qb, chunk.iter().map(|(id, _)| *id));
            qb.build().execute(&mut *tx).await.map_err(db::<D>)?;
            let mut qb = QueryBuilder::new("DELETE FROM webhook_events WHERE id IN ");
            push_list(&mut qb, chunk.iter().map(|(_, event)| *event));
            qb.push(
                " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
                 WHERE d.event_id = webhook_events.id)",
            );
            qb.build().execute(&mut *tx).await.map_err(db::<D>)?;
        }
        tx.commit().await.map_err(db::<D>)?;
        Ok(old.len() as u64)
    }
}
