//! Tickets, comments, history, the escalation sweep and the report.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use helpdesk_core::store::{
    ClockRestart, CommentDraft, CommentStore, HistoryStore, TicketChange, TicketDraft, TicketStore,
};
use helpdesk_core::{
    Comment, EscalationReport, HistoryEvent, HistoryKind, NewEvent, Page, PageRequest, Report,
    Result, Ticket, TicketId, TicketQuery, TicketScope,
};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use helpdesk_sql::{order_by, push_page, push_scope, push_ticket_filters};

use helpdesk_sql::convert;

use crate::rows::{
    CommentRow, EventRow, TicketRow, comment_columns, event_columns, ms, ticket_columns,
};
use crate::{SqliteStore, db};

async fn insert_events(
    conn: &mut SqliteConnection,
    ticket: TicketId,
    events: &[NewEvent],
) -> Result<()> {
    for e in events {
        sqlx::query(
            "INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(ticket.0)
        .bind(e.actor_id.map(|a| a.0))
        .bind(e.kind.as_str())
        .bind(e.from.as_deref())
        .bind(e.to.as_deref())
        .bind(ms(e.at))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// Writes a change if the version still matches; `false` (and nothing written) otherwise.
async fn apply_change(conn: &mut SqliteConnection, change: &TicketChange) -> Result<bool> {
    let t = &change.ticket;
    let updated = sqlx::query(
        "UPDATE tickets SET title = ?, description = ?, priority = ?, status = ?, assigned_to = ?, \
         updated_at = ?, resolved_at = ?, escalated_at = ?, due_at = ?, clock_started_at = ?, \
         version = version + 1 WHERE id = ? AND version = ?",
    )
    .bind(&t.title)
    .bind(&t.description)
    .bind(t.priority.rank())
    .bind(t.status.as_str())
    .bind(t.assigned_to.map(|a| a.0))
    .bind(ms(t.updated_at))
    .bind(t.resolved_at.map(ms))
    .bind(t.escalated_at.map(ms))
    .bind(t.due_at.map(ms))
    .bind(ms(t.clock_started_at))
    .bind(t.id.0)
    .bind(change.expected_version)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    insert_events(conn, t.id, &change.events).await?;
    Ok(true)
}

/// Restarts the escalation clock of a ticket; `false` if there is no such ticket.
async fn restart_clock(
    conn: &mut SqliteConnection,
    ticket: TicketId,
    r: &ClockRestart,
) -> Result<bool> {
    let [low, medium, high] = r.due_by_rank.map(ms);
    let updated = sqlx::query(
        "UPDATE tickets SET clock_started_at = ?1, updated_at = ?1, version = version + 1, \
         due_at = CASE WHEN status IN ('open', 'in_progress') \
                       THEN CASE priority WHEN 0 THEN ?2 WHEN 1 THEN ?3 ELSE ?4 END END \
         WHERE id = ?5",
    )
    .bind(ms(r.at))
    .bind(low)
    .bind(medium)
    .bind(high)
    .bind(ticket.0)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(updated.rows_affected() > 0)
}

async fn count(qb: &mut QueryBuilder<Sqlite>, store: &SqliteStore) -> Result<u64> {
    let n: i64 = qb
        .build_query_scalar()
        .fetch_one(&store.reader)
        .await
        .map_err(db)?;
    Ok(u64::try_from(n).unwrap_or_default())
}

/// A page of a ticket's rows from `table` (comments or history), oldest first, with the count.
async fn page_of_ticket<R, T>(
    store: &SqliteStore,
    select: &'static str,
    table: &'static str,
    ticket: TicketId,
    page: PageRequest,
) -> Result<Page<T>>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
    T: TryFrom<R, Error = helpdesk_core::Error>,
{
    let mut qb = QueryBuilder::new(format!("SELECT count(*) FROM {table} WHERE ticket_id = "));
    qb.push_bind(ticket.0);
    let count = count(&mut qb, store).await?;
    let mut qb = QueryBuilder::new(select);
    qb.push(" WHERE ticket_id = ")
        .push_bind(ticket.0)
        .push(" ORDER BY id");
    push_page(&mut qb, page);
    let rows: Vec<R> = qb
        .build_query_as()
        .fetch_all(&store.reader)
        .await
        .map_err(db)?;
    Ok(Page {
        items: convert(rows)?,
        count,
        request: page,
    })
}

#[async_trait]
impl TicketStore for SqliteStore {
    async fn insert_ticket(&self, d: &TicketDraft) -> Result<Ticket> {
        let mut tx = self.write().await?;
        let row: TicketRow = sqlx::query_as(concat!(
            "INSERT INTO tickets (title, description, priority, status, created_by, created_at, \
             updated_at, due_at, clock_started_at) VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?) RETURNING ",
            ticket_columns!()
        ))
        .bind(&d.title)
        .bind(&d.description)
        .bind(d.priority.rank())
        .bind(d.created_by.0)
        .bind(ms(d.created_at))
        .bind(ms(d.created_at))
        .bind(ms(d.due_at))
        .bind(ms(d.created_at))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let ticket = Ticket::try_from(row)?;
        let created = NewEvent {
            actor_id: Some(d.created_by),
            kind: HistoryKind::Created,
            from: None,
            to: Some(ticket.status.to_string()),
            at: d.created_at,
        };
        insert_events(&mut tx, ticket.id, &[created]).await?;
        tx.commit().await.map_err(db)?;
        Ok(ticket)
    }

    async fn ticket(&self, id: TicketId) -> Result<Option<Ticket>> {
        let row: Option<TicketRow> = sqlx::query_as(concat!(
            "SELECT ",
            ticket_columns!(),
            " FROM tickets WHERE id = ?"
        ))
        .bind(id.0)
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        row.map(Ticket::try_from).transpose()
    }

    async fn update_ticket(&self, change: &TicketChange) -> Result<bool> {
        let mut tx = self.write().await?;
        if !apply_change(&mut tx, change).await? {
            return Ok(false);
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn delete_ticket(&self, id: TicketId) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM tickets WHERE id = ?")
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(db)?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn list_tickets(
        &self,
        scope: TicketScope,
        query: &TicketQuery,
        page: PageRequest,
    ) -> Result<Page<Ticket>> {
        let mut qb = QueryBuilder::new("SELECT count(*) FROM tickets t");
        push_ticket_filters(&mut qb, scope, query, "LIKE");
        let count = count(&mut qb, self).await?;
        let mut qb = QueryBuilder::new(concat!("SELECT ", ticket_columns!(), " FROM tickets t"));
        push_ticket_filters(&mut qb, scope, query, "LIKE");
        qb.push(order_by(query.ordering));
        push_page(&mut qb, page);
        let rows: Vec<TicketRow> = qb
            .build_query_as()
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        Ok(Page {
            items: convert(rows)?,
            count,
            request: page,
        })
    }

    async fn escalate_overdue(&self, now: DateTime<Utc>) -> Result<EscalationReport> {
        let now = ms(now);
        let mut tx = self.write().await?;
        // The write lock is held from BEGIN IMMEDIATE, so the overdue set cannot change between
        // these statements, and no other sweep can see it until this one has escalated it.
        let mark: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM history")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(
            "INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, at) \
             SELECT id, NULL, 'escalated', status, 'escalated', ?1 FROM tickets \
             WHERE status IN ('open', 'in_progress') AND due_at <= ?1 ORDER BY id",
        )
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        // One email per recipient: the active creator, and every other active admin.
        let queued = sqlx::query(
            "INSERT INTO outbox (ticket_id, user_id, recipient, due_at, escalated_at, next_attempt_at) \
             SELECT t.id, u.id, u.email, t.due_at, ?2, ?2 \
               FROM history h JOIN tickets t ON t.id = h.ticket_id JOIN users u ON u.id = t.created_by \
              WHERE h.id > ?1 AND u.is_active = 1 \
             UNION ALL \
             SELECT t.id, a.id, a.email, t.due_at, ?2, ?2 \
               FROM history h JOIN tickets t ON t.id = h.ticket_id \
               CROSS JOIN (SELECT id, email FROM users WHERE role = 'admin' AND is_active = 1) a \
              WHERE h.id > ?1 AND a.id <> t.created_by",
        )
        .bind(mark)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        let mut escalated: Vec<i64> = sqlx::query_scalar(
            "UPDATE tickets SET status = 'escalated', escalated_at = ?1, updated_at = ?1, \
             due_at = NULL, version = version + 1 \
             WHERE status IN ('open', 'in_progress') AND due_at <= ?1 RETURNING id",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        escalated.sort_unstable();
        Ok(EscalationReport {
            escalated: escalated.into_iter().map(TicketId).collect(),
            notifications_queued: queued,
        })
    }

    async fn report(&self, scope: TicketScope, since: DateTime<Utc>) -> Result<Report> {
        let mut qb = QueryBuilder::new(
            "SELECT coalesce(sum(h.kind = 'created'), 0), \
             coalesce(sum(h.kind = 'status_changed' AND h.to_value = 'resolved'), 0), \
             coalesce(sum(h.kind = 'escalated'), 0) \
             FROM history h JOIN tickets t ON t.id = h.ticket_id WHERE h.at >= ",
        );
        qb.push_bind(ms(since));
        push_scope(&mut qb, scope);
        let (opened, resolved, escalated): (i64, i64, i64) = qb
            .build_query_as()
            .fetch_one(&self.reader)
            .await
            .map_err(db)?;
        let n = |v: i64| u64::try_from(v).unwrap_or_default();
        Ok(Report {
            opened: n(opened),
            resolved: n(resolved),
            escalated: n(escalated),
        })
    }
}

#[async_trait]
impl CommentStore for SqliteStore {
    async fn insert_comment(
        &self,
        d: &CommentDraft,
        restart: Option<&ClockRestart>,
    ) -> Result<Option<Comment>> {
        let mut tx = self.write().await?;
        let exists = match restart {
            Some(r) => restart_clock(&mut tx, d.ticket_id, r).await?,
            None => sqlx::query("SELECT 1 FROM tickets WHERE id = ?")
                .bind(d.ticket_id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                .is_some(),
        };
        if !exists {
            return Ok(None);
        }
        let row: CommentRow = sqlx::query_as(concat!(
            "INSERT INTO comments (ticket_id, author_id, body, created_at) VALUES (?, ?, ?, ?) RETURNING ",
            comment_columns!()
        ))
        .bind(d.ticket_id.0)
        .bind(d.author_id.0)
        .bind(&d.body)
        .bind(ms(d.created_at))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let comment = Comment::try_from(row)?;
        let event = NewEvent {
            actor_id: Some(d.author_id),
            kind: HistoryKind::Commented,
            from: None,
            to: Some(comment.id.to_string()),
            at: d.created_at,
        };
        insert_events(&mut tx, d.ticket_id, &[event]).await?;
        tx.commit().await.map_err(db)?;
        Ok(Some(comment))
    }

    async fn list_comments(&self, ticket: TicketId, page: PageRequest) -> Result<Page<Comment>> {
        let columns = concat!("SELECT ", comment_columns!(), " FROM comments");
        page_of_ticket::<CommentRow, _>(self, columns, "comments", ticket, page).await
    }
}

#[async_trait]
impl HistoryStore for SqliteStore {
    async fn list_history(
        &self,
        ticket: TicketId,
        page: PageRequest,
    ) -> Result<Page<HistoryEvent>> {
        let columns = concat!("SELECT ", event_columns!(), " FROM history");
        page_of_ticket::<EventRow, _>(self, columns, "history", ticket, page).await
    }
}
