//! Tickets, comments, history, the escalation sweep and the report.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::store::{
    ClockRestart, CommentDraft, CommentStore, HistoryStore, TicketChange, TicketDraft, TicketStore,
};
use helpdesk_core::store::{StoreError, StoreResult};
use helpdesk_core::{
    Comment, EscalationReport, HistoryEvent, HistoryKind, NewEvent, Page, PageRequest, Report,
    Ticket, TicketId, TicketQuery, TicketScope,
};
use sqlx::{
    ColumnIndex, Database, Encode, Executor, FromRow, IntoArguments, Pool, QueryBuilder,
    Transaction, Type,
};
use tokio::sync::{mpsc, oneshot};

use crate::error::store_error as db;
use crate::filters::{push_page, push_scope_ids, ticket_count, ticket_page};
use crate::rows::{
    CommentRow, Counted, EventRow, TicketRow, comment_columns, convert, event_columns,
    ticket_columns,
};
use crate::{Dialect, SqlStore, Value, batch, sql};

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
    async fn insert_events(
        tx: &mut Transaction<'static, D::Db>,
        ticket: TicketId,
        events: &[NewEvent],
    ) -> StoreResult<()> {
        for e in events {
            sqlx::query(
                "INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(ticket.0)
            .bind(e.actor_id.map(|a| a.0))
            .bind(e.kind.as_str())
            .bind(e.from.clone())
            .bind(e.to.clone())
            .bind(D::encode_time(e.at))
            .execute(&mut **tx)
            .await
            .map_err(db::<D>)?;
        }
        Ok(())
    }

    /// Restarts the escalation clock of a ticket; `false` if there is no such ticket.
    async fn restart_clock(
        tx: &mut Transaction<'static, D::Db>,
        ticket: TicketId,
        r: &ClockRestart,
    ) -> StoreResult<bool> {
        let [low, medium, high] = r.due_by_rank.map(D::encode_time);
        let updated = sqlx::query(
            "UPDATE tickets SET clock_started_at = $1, updated_at = $1, version = version + 1, \
             due_at = CASE WHEN status IN ('open', 'in_progress') \
                           THEN CASE priority WHEN 0 THEN $2 WHEN 1 THEN $3 ELSE $4 END END \
             WHERE id = $5",
        )
        .bind(D::encode_time(r.at))
        .bind(low)
        .bind(medium)
        .bind(high)
        .bind(ticket.0)
        .execute(&mut **tx)
        .await
        .map_err(db::<D>)?;
        Ok(D::rows_affected(&updated) > 0)
    }

    async fn count(&self, qb: &mut QueryBuilder<D::Db>) -> StoreResult<u64> {
        let n: i64 = qb
            .build_query_scalar()
            .fetch_one(&self.reader)
            .await
            .map_err(db::<D>)?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// The task behind [`insert_ticket`](TicketStore::insert_ticket): writes the tickets
    /// waiting at each moment in one transaction, until every store clone is gone.
    async fn write_batches(writer: Pool<D::Db>, mut jobs: mpsc::Receiver<batch::Job>) {
        while let Some(first) = jobs.recv().await {
            let batch = batch::gather(first, &mut jobs);
            let drafts: Vec<&TicketDraft> = batch.iter().map(|job| &job.draft).collect();
            match Self::insert_batch(&writer, &drafts).await {
                Ok(tickets) => {
                    for (job, ticket) in batch.into_iter().zip(tickets) {
                        let _ = job.reply.send(Ok(ticket));
                    }
                }
                // A ticket alone fails with its own error.
                Err(error) if batch.len() == 1 => {
                    if let Some(job) = batch.into_iter().next() {
                        let _ = job.reply.send(Err(error));
                    }
                }
                // Nothing was written: each ticket again on its own, so that one bad draft
                // fails alone.
                Err(_) => {
                    for job in batch {
                        let answer = Self::insert_batch(&writer, &[&job.draft]).await;
                        let _ = job.reply.send(answer.and_then(|mut t| {
                            t.pop()
                                .ok_or_else(|| StoreError::backend("no ticket returned"))
                        }));
                    }
                }
            }
        }
    }

    /// Writes `drafts` and their `created` events in one transaction; the tickets in the
    /// order of the drafts.
    async fn insert_batch(
        writer: &Pool<D::Db>,
        drafts: &[&TicketDraft],
    ) -> StoreResult<Vec<Ticket>> {
        let mut tx = writer.begin_with(D::BEGIN_WRITE).await.map_err(db::<D>)?;
        let mut tickets = Vec::with_capacity(drafts.len());
        let mut rest = drafts;
        for size in batch::chunk_sizes(drafts.len()) {
            let (chunk, after) = rest.split_at(size);
            rest = after;
            let mut qb = QueryBuilder::new(
                "INSERT INTO tickets (title, description, priority, status, created_by, \
                 created_at, updated_at, due_at, clock_started_at) ",
            );
            qb.push_values(chunk, |mut row, d| {
                let created = D::encode_time(d.created_at);
                row.push_bind(d.title.clone())
                    .push_bind(d.description.clone())
                    .push_bind(d.priority.rank())
                    .push_bind("open")
                    .push_bind(d.created_by.0)
                    .push_bind(created)
                    .push_bind(created)
                    .push_bind(D::encode_time(d.due_at))
                    .push_bind(created);
            });
            qb.push(concat!(" RETURNING ", ticket_columns!()));
            let rows: Vec<TicketRow<D::Time>> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(db::<D>)?;
            // Ids are handed out in the order of the rows; the returned rows may come in any.
            let mut stored = convert(rows, TicketRow::into_ticket::<D>)?;
            stored.sort_by_key(|t| t.id);
            // Times compare to the millisecond, the finest every store keeps.
            let same = |t: &Ticket, d: &&TicketDraft| {
                t.title == d.title
                    && t.created_by == d.created_by
                    && (t.created_at - d.created_at).num_milliseconds() == 0
            };
            if stored.len() != chunk.len() || !stored.iter().zip(chunk).all(|(t, d)| same(t, d)) {
                return Err(StoreError::backend(
                    "inserted tickets came back out of order",
                ));
            }
            let mut qb = QueryBuilder::new(
                "INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, at) ",
            );
            qb.push_values(&stored, |mut row, t| {
                row.push_bind(t.id.0)
                    .push_bind(t.created_by.0)
                    .push_bind(HistoryKind::Created.as_str())
                    .push_bind(None::<String>)
                    .push_bind(t.status.to_string())
                    .push_bind(D::encode_time(t.created_at));
            });
            qb.build().execute(&mut *tx).await.map_err(db::<D>)?;
            tickets.extend(stored);
        }
        tx.commit().await.map_err(db::<D>)?;
        Ok(tickets)
    }

    /// A page of a ticket's rows from `table` (comments or history), oldest first, with the count.
    async fn page_of_ticket<R, T>(
        &self,
        select: &'static str,
        table: &'static str,
        ticket: TicketId,
        page: PageRequest,
        convert_row: fn(R) -> StoreResult<T>,
    ) -> StoreResult<Page<T>>
    where
        R: for<'r> FromRow<'r, <D::Db as Database>::Row> + Send + Unpin,
    {
        let mut qb = QueryBuilder::new(format!("SELECT count(*) FROM {table} WHERE ticket_id = "));
        qb.push_bind(ticket.0);
        let count = self.count(&mut qb).await?;
        let mut qb = QueryBuilder::new(select);
        qb.push(" WHERE ticket_id = ")
            .push_bind(ticket.0)
            .push(" ORDER BY id");
        push_page(&mut qb, page);
        let rows: Vec<R> = qb
            .build_query_as()
            .fetch_all(&self.reader)
            .await
            .map_err(db::<D>)?;
        Ok(Page {
            items: convert(rows, convert_row)?,
            count,
            request: page,
        })
    }
}

#[async_trait]
impl<D> TicketStore for SqlStore<D>
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
    async fn insert_ticket(&self, d: &TicketDraft) -> StoreResult<Ticket> {
        let (reply, answer) = oneshot::channel();
        let queue = self.inserts.queue(|jobs| {
            tokio::spawn(Self::write_batches(self.writer.clone(), jobs));
        });
        let job = batch::Job {
            draft: d.clone(),
            reply,
        };
        queue.send(job).await.map_err(|_| batch::gone())?;
        answer.await.map_err(|_| batch::gone())?
    }

    async fn ticket(&self, id: TicketId) -> StoreResult<Option<Ticket>> {
        let row: Option<TicketRow<D::Time>> = sqlx::query_as(concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db::<D>)?;
        row.map(TicketRow::into_ticket::<D>).transpose()
    }

    async fn update_ticket(&self, change: &TicketChange) -> StoreResult<bool> {
        let t = &change.ticket;
        let mut tx = self.write().await?;
        let updated = sqlx::query(
            "UPDATE tickets SET title = $1, description = $2, priority = $3, status = $4, \
             assigned_to = $5, updated_at = $6, resolved_at = $7, escalated_at = $8, due_at = $9, \
             clock_started_at = $10, version = version + 1 WHERE id = $11 AND version = $12",
        )
        .bind(&t.title)
        .bind(&t.description)
        .bind(t.priority.rank())
        .bind(t.status.as_str())
        .bind(t.assigned_to.map(|a| a.0))
        .bind(D::encode_time(t.updated_at))
        .bind(t.resolved_at.map(D::encode_time))
        .bind(t.escalated_at.map(D::encode_time))
        .bind(t.due_at.map(D::encode_time))
        .bind(D::encode_time(t.clock_started_at))
        .bind(t.id.0)
        .bind(change.expected_version)
        .execute(&mut *tx)
        .await
        .map_err(db::<D>)?;
        if D::rows_affected(&updated) == 0 {
            return Ok(false);
        }
        Self::insert_events(&mut tx, t.id, &change.events).await?;
        tx.commit().await.map_err(db::<D>)?;
        Ok(true)
    }

    async fn delete_ticket(&self, id: TicketId) -> StoreResult<bool> {
        let deleted = sqlx::query("DELETE FROM tickets WHERE id = $1")
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(db::<D>)?;
        Ok(D::rows_affected(&deleted) > 0)
    }

    async fn list_tickets(
        &self,
        scope: TicketScope,
        query: &TicketQuery,
        page: PageRequest,
    ) -> StoreResult<Page<Ticket>> {
        let rows: Vec<Counted<TicketRow<D::Time>>> =
            ticket_page::<D>(ticket_columns!(), scope, query, page)
                .build_query_as()
                .fetch_all(&self.reader)
                .await
                .map_err(db::<D>)?;
        let count = match rows.first() {
            Some(first) => u64::try_from(first.total).unwrap_or_default(),
            None if page.offset() == 0 => 0,
            None => self.count(&mut ticket_count::<D>(scope, query)).await?,
        };
        Ok(Page {
            items: convert(rows, |r| r.row.into_ticket::<D>())?,
            count,
            request: page,
        })
    }

    async fn escalate_overdue(&self, now: DateTime<Utc>) -> StoreResult<EscalationReport> {
        let now = D::encode_time(now);
        let mut tx = self.write().await?;
        // 1. Claim the overdue tickets by recording their events (see the crate docs). They
        // are read from the `due_at` index; `IS NOT NULL` keeps SQLite from choosing the
        // status index, which walks every active ticket (0.9 ms instead of 114 ms at 1M).
        let claim = format!(
            "INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, at) \
             SELECT id, NULL, 'escalated', status, 'escalated', $1 FROM tickets \
             WHERE due_at IS NOT NULL AND due_at <= $1 AND status IN ('open', 'in_progress'){} \
             RETURNING ticket_id",
            D::CLAIM
        );
        let claimed: Vec<i64> = sqlx::query_scalar(sql(claim))
            .bind(now)
            .fetch_all(&mut *tx)
            .await
            .map_err(db::<D>)?;
        if claimed.is_empty() {
            tx.commit().await.map_err(db::<D>)?;
            return Ok(EscalationReport::default());
        }
        // The claimed tickets are found by id from here on: a join with the events just
        // written let PostgreSQL, which has no statistics on them yet, compare every ticket
        // with every event (24 s for 20,000 tickets).
        let claimed_ids = D::encode_ids(claimed);
        let in_claimed = D::IN_IDS_2;
        // 2. One email per recipient: the active creator, and every other active admin.
        let mail = format!(
            "INSERT INTO outbox (ticket_id, user_id, recipient, due_at, escalated_at, next_attempt_at) \
             SELECT t.id, u.id, u.email, t.due_at, $1, $1 FROM tickets t \
               JOIN users u ON u.id = t.created_by WHERE {in_claimed} AND u.is_active = {yes} \
             UNION ALL \
             SELECT t.id, a.id, a.email, t.due_at, $1, $1 FROM tickets t \
               CROSS JOIN (SELECT id, email FROM users WHERE role = 'admin' AND is_active = {yes}) a \
              WHERE {in_claimed} AND a.id <> t.created_by",
            yes = D::TRUE
        );
        let queued = sqlx::query(sql(mail))
            .bind(now)
            .bind(&claimed_ids)
            .execute(&mut *tx)
            .await
            .map_err(db::<D>)?;
        // 3. Escalate them.
        let escalate = format!(
            "UPDATE tickets AS t SET status = 'escalated', escalated_at = $1, updated_at = $1, \
             due_at = NULL, version = version + 1 WHERE {in_claimed} RETURNING id"
        );
        let mut escalated: Vec<i64> = sqlx::query_scalar(sql(escalate))
            .bind(now)
            .bind(&claimed_ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(db::<D>)?;
        tx.commit().await.map_err(db::<D>)?;
        escalated.sort_unstable();
        Ok(EscalationReport {
            escalated: escalated.into_iter().map(TicketId).collect(),
            notifications_queued: D::rows_affected(&queued),
        })
    }

    async fn report(&self, scope: TicketScope, since: DateTime<Utc>) -> StoreResult<Report> {
        let mut qb = QueryBuilder::new(
            "SELECT count(*) FILTER (WHERE h.kind = 'created'), \
             count(*) FILTER (WHERE h.kind = 'status_changed' AND h.to_value = 'resolved'), \
             count(*) FILTER (WHERE h.kind = 'escalated') FROM history h",
        );
        // From indexes alone: for admins the events of the window from `history (at, kind,
        // to_value)`; otherwise the scope's ticket ids from its indexes, and their events from
        // `history (ticket_id, at, kind, to_value)`.
        qb.push(" WHERE h.at >= ").push_bind(D::encode_time(since));
        push_scope_ids(&mut qb, "h.ticket_id", scope);
        let (opened, resolved, escalated): (i64, i64, i64) = qb
            .build_query_as()
            .fetch_one(&self.reader)
            .await
            .map_err(db::<D>)?;
        let n = |v: i64| u64::try_from(v).unwrap_or_default();
        Ok(Report {
            opened: n(opened),
            resolved: n(resolved),
            escalated: n(escalated),
        })
    }
}

#[async_trait]
impl<D> CommentStore for SqlStore<D>
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
    async fn insert_comment(
        &self,
        d: &CommentDraft,
        restart: Option<&ClockRestart>,
    ) -> StoreResult<Option<Comment>> {
        let mut tx = self.write().await?;
        let exists = match restart {
            Some(r) => Self::restart_clock(&mut tx, d.ticket_id, r).await?,
            None => {
                let keep = format!("SELECT 1 FROM tickets WHERE id = $1{}", D::KEEP);
                sqlx::query(sql(keep))
                    .bind(d.ticket_id.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db::<D>)?
                    .is_some()
            }
        };
        if !exists {
            return Ok(None);
        }
        let row: CommentRow<D::Time> = sqlx::query_as(concat!(
            "INSERT INTO comments (ticket_id, author_id, body, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING ",
            comment_columns!()
        ))
        .bind(d.ticket_id.0)
        .bind(d.author_id.0)
        .bind(&d.body)
        .bind(D::encode_time(d.created_at))
        .fetch_one(&mut *tx)
        .await
        .map_err(db::<D>)?;
        let comment = row.into_comment::<D>()?;
        let event = NewEvent {
            actor_id: Some(d.author_id),
            kind: HistoryKind::Commented,
            from: None,
            to: Some(comment.id.to_string()),
            at: d.created_at,
        };
        Self::insert_events(&mut tx, d.ticket_id, &[event]).await?;
        tx.commit().await.map_err(db::<D>)?;
        Ok(Some(comment))
    }

    async fn list_comments(
        &self,
        ticket: TicketId,
        page: PageRequest,
    ) -> StoreResult<Page<Comment>> {
        let select = concat!("SELECT ", comment_columns!(), " FROM comments");
        self.page_of_ticket(
            select,
            "comments",
            ticket,
            page,
            CommentRow::<D::Time>::into_comment::<D>,
        )
        .await
    }
}

#[async_trait]
impl<D> HistoryStore for SqlStore<D>
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
    async fn list_history(
        &self,
        ticket: TicketId,
        page: PageRequest,
    ) -> StoreResult<Page<HistoryEvent>> {
        let select = concat!("SELECT ", event_columns!(), " FROM history");
        self.page_of_ticket(
            select,
            "history",
            ticket,
            page,
            EventRow::<D::Time>::into_event::<D>,
        )
        .await
    }
}
