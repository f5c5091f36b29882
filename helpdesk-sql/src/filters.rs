//! What a ticket scope, a list filter, an ordering and a page mean in SQL. Every value is a
//! bound parameter; the statements expect the tickets table aliased `t`.

use helpdesk_core::store::like_contains;
use helpdesk_core::{AssigneeFilter, PageRequest, TicketOrdering, TicketQuery, TicketScope};
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::Dialect;

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

/// Which text of a ticket a search looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketText {
    /// The title or the description (`?search=`).
    Anywhere,
    /// The title (`?title=`).
    Title,
}

/// ` AND <the ticket's text contains text>` with the case-insensitive pattern operator `like`
/// (`LIKE`, `ILIKE`): what every database can do, scanning unless an index serves it. For
/// [`Dialect::push_ticket_text`] implementations.
pub fn push_like_text<DB>(qb: &mut QueryBuilder<DB>, field: TicketText, text: &str, like: &str)
where
    DB: Database,
    String: for<'q> Encode<'q, DB> + Type<DB>,
{
    let pattern = like_contains(text);
    match field {
        TicketText::Anywhere => {
            qb.push(format_args!(" AND (t.title {like} "))
                .push_bind(pattern.clone())
                .push(format_args!(" ESCAPE '\\' OR t.description {like} "))
                .push_bind(pattern)
                .push(" ESCAPE '\\')");
        }
        TicketText::Title => {
            qb.push(format_args!(" AND t.title {like} "))
                .push_bind(pattern)
                .push(" ESCAPE '\\'");
        }
    }
}

/// ` WHERE <scope and filters>`; text searches through [`Dialect::push_ticket_text`].
pub(crate) fn push_ticket_filters<D: Dialect>(
    qb: &mut QueryBuilder<D::Db>,
    scope: TicketScope,
    q: &TicketQuery,
) where
    i64: Encode<'static, D::Db> + Type<D::Db>,
    String: Encode<'static, D::Db> + Type<D::Db>,
{
    qb.push(" WHERE 1 = 1");
    push_scope(qb, scope);
    if let Some(search) = &q.search {
        D::push_ticket_text(qb, TicketText::Anywhere, search);
    }
    if let Some(title) = &q.title {
        D::push_ticket_text(qb, TicketText::Title, title);
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
