//! What a ticket scope, a list filter, an ordering and a page mean in SQL. Every value is a
//! bound parameter; the statements expect the tickets table aliased `t`.

use helpdesk_core::store::like_contains;
use helpdesk_core::{AssigneeFilter, PageRequest, TicketOrdering, TicketQuery, TicketScope};
use sqlx::{Database, Encode, QueryBuilder, Type};

/// `AND <the scope>`: which tickets the caller may see.
pub(crate) fn push_scope<DB>(qb: &mut QueryBuilder<DB>, scope: TicketScope)
where
    DB: Database,
    i64: Encode<'static, DB> + Type<DB>,
{
    match scope {
        TicketScope::All => {}
        TicketScope::CreatedBy(id) => {
            qb.push(" AND t.created_by = ").push_bind(id.0);
        }
        TicketScope::AssignedTo(id) => {
            qb.push(" AND t.assigned_to = ").push_bind(id.0);
        }
        TicketScope::Involving(id) => {
            qb.push(" AND (t.created_by = ")
                .push_bind(id.0)
                .push(" OR t.assigned_to = ")
                .push_bind(id.0)
                .push(")");
        }
    }
}

/// ` WHERE <scope and filters>`. `like` is the case-insensitive pattern operator of the
/// dialect (`LIKE` in SQLite, `ILIKE` in PostgreSQL); patterns escape with `\`.
pub(crate) fn push_ticket_filters<DB>(
    qb: &mut QueryBuilder<DB>,
    scope: TicketScope,
    q: &TicketQuery,
    like: &str,
) where
    DB: Database,
    i64: Encode<'static, DB> + Type<DB>,
    String: Encode<'static, DB> + Type<DB>,
{
    qb.push(" WHERE 1 = 1");
    push_scope(qb, scope);
    if let Some(search) = &q.search {
        let pattern = like_contains(search);
        qb.push(format_args!(" AND (t.title {like} "))
            .push_bind(pattern.clone())
            .push(format_args!(" ESCAPE '\\' OR t.description {like} "))
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
    if let Some(title) = &q.title {
        qb.push(format_args!(" AND t.title {like} "))
            .push_bind(like_contains(title))
            .push(" ESCAPE '\\'");
    }
    if let Some(status) = q.status {
        qb.push(" AND t.status = ")
            .push_bind(status.as_str().to_owned());
    }
    if let Some(priority) = q.priority {
        qb.push(" AND t.priority = ").push_bind(priority.rank());
    }
    match q.assigned_to {
        None => {}
        Some(AssigneeFilter::Nobody) => {
            qb.push(" AND t.assigned_to IS NULL");
        }
        Some(AssigneeFilter::User(id)) => {
            qb.push(" AND t.assigned_to = ").push_bind(id.0);
        }
    }
    if let Some(id) = q.created_by {
        qb.push(" AND t.created_by = ").push_bind(id.0);
    }
}

/// ` ORDER BY ...`, ties broken by id in the same direction; tickets without a due time last.
pub(crate) fn order_by(ordering: TicketOrdering) -> &'static str {
    match ordering {
        TicketOrdering::CreatedAt => " ORDER BY t.created_at, t.id",
        TicketOrdering::CreatedAtDesc => " ORDER BY t.created_at DESC, t.id DESC",
        TicketOrdering::UpdatedAt => " ORDER BY t.updated_at, t.id",
        TicketOrdering::UpdatedAtDesc => " ORDER BY t.updated_at DESC, t.id DESC",
        TicketOrdering::Priority => " ORDER BY t.priority, t.id",
        TicketOrdering::PriorityDesc => " ORDER BY t.priority DESC, t.id DESC",
        TicketOrdering::DueAt => " ORDER BY t.due_at IS NULL, t.due_at, t.id",
        TicketOrdering::DueAtDesc => " ORDER BY t.due_at IS NULL, t.due_at DESC, t.id DESC",
    }
}

/// ` LIMIT ... OFFSET ...` of a page.
pub(crate) fn push_page<DB>(qb: &mut QueryBuilder<DB>, page: PageRequest)
where
    DB: Database,
    i64: Encode<'static, DB> + Type<DB>,
{
    qb.push(" LIMIT ")
        .push_bind(i64::from(page.size()))
        .push(" OFFSET ")
        .push_bind(i64::try_from(page.offset()).unwrap_or(i64::MAX));
}
