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
use sqlx::{PgConnection, Postgres, QueryBuilder};

use helpdesk_sql::{order_by, push_page, push_scope, push_ticket_filters};

use helpdesk_sql::convert;

use crate::rows::{
    CommentRow, EventRow, TicketRow, comment_columns, event_columns, ticket_columns,
};
use crate::{PgStore, db};

async fn insert_events(
    conn: &mut PgConnection,
    ticket: TicketId,
    events: &[NewEvent],
) -> Result<()> {
    for e in events {
        sqlx::query("INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(ticket.0)
            .bind(e.actor_id.map(|a| a.0))
            .bind(e.kind.as_str())
            .bind(e.from.as_deref())
            .bind(e.to.as_deref())
            .bind(e.at)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    Ok(())
}

/// Writes a change if the version still matches; `false` (and nothing written) otherwise.
async fn apply_change(conn: &mut PgConnection, change: &TicketChange) -> Result<bool> {
    let t = &change.ticket;
    let updated = sqlx::query(
        "UPDATE tickets SET title = $1, description = $2, priority = $3, status = $4, assigned_to = $5, \
         updated_at = $6, resolved_at = $7, escalated_at = $8, due_at = $9, clock_started_at = $10, \
         version = version + 1 WHERE id = $11 AND version = $12",
    )
    .bind(&t.title)
    .bind(&t.description)
    .bind(t.priority.rank() as i16)
    .bind(t.status.as_str())
    .bind(t.assigned_to.map(|a| a.0))
    .bind(t.updated_at)
    .bind(t.resolved_at)
    .bind(t.escalated_at)
    .bind(t.due_at)
    .bind(t.clock_started_at)
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
    conn: &mut PgConnection,
    ticket: TicketId,
    r: &ClockRestart,
) -> Result<bool> {
    let [low, medium, high] = r.due_by_rank;
    let updated = sqlx::query(
        "UPDATE tickets SET clock_started_at = $1, updated_at = $1, version = version + 1, \
         due_at = CASE WHEN status IN ('open', 'in_progress') \
                       THEN CASE priority WHEN 0 THEN $2 WHEN 1 THEN $3 ELSE $4 END END \
         WHERE id = $5",
    )
    .bind(r.at)
    .bind(low)
    .bind(medium)
    .bind(high)
    .bind(ticket.0)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(updated.rows_affected() > 0)
}

async fn count(qb: &mut QueryBuilder<Postgres>, store: &PgStore) -> Result<u64> {
    let n: i64 = qb
        .build_query_scalar()
        .fetch_one(&store.pool)
        .await
        .map_err(db)?;
    Ok(u64::try_from(n).unwrap_or_default())
}

/// A page of a ticket's rows from `table` (comments or history), oldest first, with the count.
async fn page_of_ticket<R, T>(
    store: &PgStore,
    select: &'static str,
    table: &'static str,
    ticket: TicketId,
    page: PageRequest,
) -> Result<Page<T>>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
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
        .fetch_all(&store.pool)
        .await
        .map_err(db)?;
    Ok(Page {
        items: convert(rows)?,
        count,
        request: page,
    })
}

#[async_trait]
impl TicketStore for PgStore {
    async fn insert_ticket(&self, d: &TicketDraft) -> Result<Ticket> {
        let mut tx = self.begin().await?;
        let row: TicketRow = sqlx::query_as(concat!(
            "INSERT INTO tickets (title, description, priority, status, created_by, created_at, \
             updated_at, due_at, clock_started_at) VALUES ($1, $2, $3, 'open', $4, $5, $5, $6, $5) RETURNING ",
            ticket_columns!()
        ))
        .bind(&d.title)
        .bind(&d.description)
        .bind(d.priority.rank() as i16)
        .bind(d.created_by.0)
        .bind(d.created_at)
        .bind(d.due_at)
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
            " FROM tickets WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(Ticket::try_from).transpose()
    }

    async fn update_ticket(&self, change: &TicketChange) -> Result<bool> {
        let mut tx = self.begin().await?;
        if !apply_change(&mut tx, change).await? {
            return Ok(false);
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn delete_ticket(&self, id: TicketId) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM tickets WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
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
        push_ticket_filters(&mut qb, scope, query, "ILIKE");
        let count = count(&mut qb, self).await?;
        let mut qb = QueryBuilder::new(concat!("SELECT ", ticket_columns!(), " FROM tickets t"));
        push_ticket_filters(&mut qb, scope, query, "ILIKE");
        qb.push(order_by(query.ordering));
        push_page(&mut qb, page);
        let rows: Vec<TicketRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        Ok(Page {
            items: convert(rows)?,
            count,
            request: page,
        })
    }

    async fn escalate_overdue(&self, now: DateTime<Utc>) -> Result<EscalationReport> {
        // One statement: lock the overdue tickets (skipping rows another sweeper holds), then
        // escalate them, record the events and queue the emails from the same locked set. A
        // sweeper that reaches a row after this one committed re-checks it and finds it escalated.
        let (escalated, queued): (Option<Vec<i64>>, i64) = sqlx::query_as(
            "WITH due AS ( \
                 SELECT id, status, due_at, created_by FROM tickets \
                  WHERE status IN ('open', 'in_progress') AND due_at <= $1 \
                  ORDER BY id FOR UPDATE SKIP LOCKED \
             ), escalated AS ( \
                 UPDATE tickets t SET status = 'escalated', escalated_at = $1, updated_at = $1, \
                        due_at = NULL, version = t.version + 1 \
                   FROM due WHERE t.id = due.id RETURNING t.id \
             ), events AS ( \
                 INSERT INTO history (ticket_id, actor_id, kind, from_value, to_value, at) \
                 SELECT id, NULL, 'escalated', status, 'escalated', $1 FROM due \
             ), mail AS ( \
                 INSERT INTO outbox (ticket_id, user_id, recipient, due_at, escalated_at, next_attempt_at) \
                 SELECT d.id, u.id, u.email, d.due_at, $1, $1 FROM due d JOIN users u ON u.id = d.created_by \
                  WHERE u.is_active \
                 UNION ALL \
                 SELECT d.id, a.id, a.email, d.due_at, $1, $1 FROM due d \
                  CROSS JOIN (SELECT id, email FROM users WHERE role = 'admin' AND is_active) a \
                  WHERE a.id <> d.created_by \
                 RETURNING 1 \
             ) \
             SELECT (SELECT array_agg(id ORDER BY id) FROM escalated), (SELECT count(*) FROM mail)",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(EscalationReport {
            escalated: escalated
                .unwrap_or_default()
                .into_iter()
                .map(TicketId)
                .collect(),
            notifications_queued: u64::try_from(queued).unwrap_or_default(),
        })
    }

    async fn report(&self, scope: TicketScope, since: DateTime<Utc>) -> Result<Report> {
        let mut qb = QueryBuilder::new(
            "SELECT count(*) FILTER (WHERE h.kind = 'created'), \
             count(*) FILTER (WHERE h.kind = 'status_changed' AND h.to_value = 'resolved'), \
             count(*) FILTER (WHERE h.kind = 'escalated') \
             FROM history h JOIN tickets t ON t.id = h.ticket_id WHERE h.at >= ",
        );
        qb.push_bind(since);
        push_scope(&mut qb, scope);
        let (opened, resolved, escalated): (i64, i64, i64) = qb
            .build_query_as()
            .fetch_one(&self.pool)
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
impl CommentStore for PgStore {
    async fn insert_comment(
        &self,
        d: &CommentDraft,
        restart: Option<&ClockRestart>,
    ) -> Result<Option<Comment>> {
        let mut tx = self.begin().await?;
        let exists = match restart {
            Some(r) => restart_clock(&mut tx, d.ticket_id, r).await?,
            None => sqlx::query("SELECT 1 FROM tickets WHERE id = $1 FOR SHARE")
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
            "INSERT INTO comments (ticket_id, author_id, body, created_at) VALUES ($1, $2, $3, $4) RETURNING ",
            comment_columns!()
        ))
        .bind(d.ticket_id.0)
        .bind(d.author_id.0)
        .bind(&d.body)
        .bind(d.created_at)
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
impl HistoryStore for PgStore {
    async fn list_history(
        &self,
        ticket: TicketId,
        page: PageRequest,
    ) -> Result<Page<HistoryEvent>> {
        let columns = concat!("SELECT ", event_columns!(), " FROM history");
        page_of_ticket::<EventRow, _>(self, columns, "history", ticket, page).await
    }
}
