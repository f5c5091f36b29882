//! What a ticket scope, a list filter, an ordering and a page mean in SQL. Every value is a
//! bound parameter; the statements expect the tickets table aliased `t`.

use helpdesk_core::store::like_contains;
use helpdesk_core::{AssigneeFilter, Priority, TicketOrdering, TicketQuery, TicketScope, UserId};
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::Dialect;
use crate::rows::ticket_columns;
use crate::window::Window;

/// ` AND <the scope>`: which tickets the caller may see.
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
        // Lists and counts read an agent's two sides on their own (`sides`); anywhere else,
        // the ids of both sides from their indexes, never an `OR` of the two columns.
        TicketScope::Involving(_) => push_scope_ids(qb, "t.id", scope),
    }
}

/// `(a, b, ...)`, every value bound: the list of an `IN`.
pub(crate) fn push_list<DB>(qb: &mut QueryBuilder<DB>, values: impl IntoIterator<Item = i64>)
where
    DB: Database,
    i64: Encode<'static, DB> + Type<DB>,
{
    qb.push("(");
    let mut list = qb.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    qb.push(")");
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
    push_text_like(qb, field, like, &|qb| {
        qb.push_bind(pattern.clone());
    });
}

/// ` AND <the ticket's text matches a pattern>` with `like`, where `pattern` pushes the
/// pattern (a bind, or an expression of the statement's own) at each column that `field`
/// names: [`push_like_text`] with a [`like_contains`] pattern bound.
pub fn push_text_like<DB: Database>(
    qb: &mut QueryBuilder<DB>,
    field: TicketText,
    like: &str,
    pattern: &dyn Fn(&mut QueryBuilder<DB>),
) {
    match field {
        TicketText::Anywhere => {
            qb.push(format_args!(" AND (t.title {like} "));
            pattern(qb);
            qb.push(format_args!(" ESCAPE '\\' OR t.description {like} "));
            pattern(qb);
            qb.push(" ESCAPE '\\')");
        }
        TicketText::Title => {
            qb.push(format_args!(" AND t.title {like} "));
            pattern(qb);
            qb.push(" ESCAPE '\\'");
        }
    }
}

/// ` WHERE <scope and filters>`; text searches through [`Dialect::push_ticket_text`], which
/// probes the matches from the scope's index when there is a scope.
fn push_ticket_filters<D: Dialect>(
    qb: &mut QueryBuilder<D::Db>,
    scope: TicketScope,
    q: &TicketQuery,
) where
    i64: Encode<'static, D::Db> + Type<D::Db>,
    String: Encode<'static, D::Db> + Type<D::Db>,
{
    push_ticket_filters_probing::<D>(qb, scope, q, scope != TicketScope::All);
}

fn push_ticket_filters_probing<D: Dialect>(
    qb: &mut QueryBuilder<D::Db>,
    scope: TicketScope,
    q: &TicketQuery,
    probe: bool,
) where
    i64: Encode<'static, D::Db> + Type<D::Db>,
    String: Encode<'static, D::Db> + Type<D::Db>,
{
    qb.push(" WHERE 1 = 1");
    push_scope(qb, scope);
    if let Some(search) = &q.search {
        D::push_ticket_text(qb, TicketText::Anywhere, search, probe);
    }
    if let Some(title) = &q.title {
        D::push_ticket_text(qb, TicketText::Title, title, probe);
    }
    // A creator or an assignee (the scope's side or a filter) is read from its index, whose
    // entries hold the status and priority: those are kept off their own indexes where the
    // dialect can, since a planner that cannot see the values (SQLite plans once, without
    // them) walked the open tickets in creation order from the status index, reading each to
    // test its assignee: all 20,000 of them for `?status=open&assigned_to=5` (18 ms).
    let by_side = matches!(
        scope,
        TicketScope::CreatedBy(_) | TicketScope::AssignedTo(_)
    ) || q.assigned_to.is_some()
        || q.created_by.is_some();
    let column = if by_side {
        format!("{}t.", D::UNINDEXED)
    } else {
        "t.".to_owned()
    };
    match q.priority.filter(|_| triage(scope, q)) {
        Some(priority) => push_unassigned_priority(qb, priority),
        None => push_status_priority(qb, q, &column),
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
    match q.breached {
        None => {}
        Some(true) => {
            qb.push(" AND (t.update_breached_at IS NOT NULL OR t.resolve_breached_at IS NOT NULL)");
        }
        Some(false) => {
            qb.push(" AND t.update_breached_at IS NULL AND t.resolve_breached_at IS NULL");
        }
    }
}

/// ` AND ...`: the tickets of `priority`, for a read of unassigned tickets from
/// `tickets_unassigned (priority, created_at, id)` in its order. A range of one priority, not
/// an equality: PostgreSQL drops a column an equality fixes from the order and then walked the
/// creation index past every ticket to find the few unassigned ones of a priority (all
/// 100,000 for one that none has: 14 to 104 ms) instead of reading the index in its order.
fn push_unassigned_priority<DB>(qb: &mut QueryBuilder<DB>, priority: Priority)
where
    DB: Database,
    i64: Encode<'static, DB> + Type<DB>,
{
    qb.push(" AND t.priority >= ")
        .push_bind(priority.rank())
        .push(" AND t.priority <= ")
        .push_bind(priority.rank());
}

/// ` AND <column>status = ... AND <column>priority = ...` for the query's status and priority,
/// each where it has one; `column` is what names the columns (`t.`, `+t.` to keep their
/// indexes out of the plan, nothing in the tallies).
fn push_status_priority<DB>(qb: &mut QueryBuilder<DB>, q: &TicketQuery, column: &str)
where
    DB: Database,
    i64: Encode<'static, DB> + Type<DB>,
    String: Encode<'static, DB> + Type<DB>,
{
    if let Some(status) = q.status {
        qb.push(format_args!(" AND {column}status = "))
            .push_bind(status.as_str().to_owned());
    }
    if let Some(priority) = q.priority {
        qb.push(format_args!(" AND {column}priority = "))
            .push_bind(priority.rank());
    }
}

/// ` ORDER BY ...`, ties broken by id in the same direction (priorities by creation time, then
/// id); tickets without a due time last.
pub(crate) fn order_by(ordering: TicketOrdering) -> &'static str {
    match ordering {
        TicketOrdering::CreatedAt => " ORDER BY t.created_at, t.id",
        TicketOrdering::CreatedAtDesc => " ORDER BY t.created_at DESC, t.id DESC",
        TicketOrdering::UpdatedAt => " ORDER BY t.updated_at, t.id",
        TicketOrdering::UpdatedAtDesc => " ORDER BY t.updated_at DESC, t.id DESC",
        TicketOrdering::Priority => " ORDER BY t.priority, t.created_at, t.id",
        TicketOrdering::PriorityDesc => " ORDER BY t.priority DESC, t.created_at DESC, t.id DESC",
        TicketOrdering::DueAt => " ORDER BY t.due_at ASC NULLS LAST, t.id",
        TicketOrdering::DueAtDesc => " ORDER BY t.due_at DESC NULLS LAST, t.id DESC",
    }
}

/// ` ORDER BY ...` of everyone's tickets of one status (and perhaps one priority) in due-time
/// order where the schema keeps each status's in that order ([`Dialect::STATUS_DUE_INDEXES`]):
/// the same order as [`order_by`]'s, tickets without a due time last, written as the indexes'
/// expression so that only they serve it (`?status=closed&ordering=-due_at` through the API:
/// 18.8 ms walking the due-time index, 0.8 ms from them).
fn status_due_order<D: Dialect>(scope: TicketScope, q: &TicketQuery) -> Option<&'static str> {
    if !D::STATUS_DUE_INDEXES
        || scope != TicketScope::All
        || q.status.is_none()
        || !by_status_or_priority_alone(q)
    {
        return None;
    }
    match q.ordering {
        TicketOrdering::DueAt => Some(" ORDER BY coalesce(t.due_at, 'infinity'), t.id"),
        TicketOrdering::DueAtDesc => {
            Some(" ORDER BY coalesce(t.due_at, '-infinity') DESC, t.id DESC")
        }
        _ => None,
    }
}

/// ` ORDER BY ...` of everyone's unassigned tickets of one priority in creation order
/// ([`triage`]): the same order as [`order_by`]'s, led by the priority the filter holds to one
/// value, so that `tickets_unassigned (priority, created_at, id)` serves it and the creation
/// index does not. PostgreSQL, which cannot know that no unassigned ticket has a priority,
/// walked the creation index, past every ticket (`?assigned_to=none&priority=high`
/// through the API: 14 ms on 100,000 tickets, 0.6 ms from the index). The filter must let
/// the index serve the priority ([`push_ticket_filters`]): kept off it, SQLite read and sorted
/// the 33,333 unassigned tickets of `?assigned_to=none&priority=low` (34 ms).
fn unassigned_order(scope: TicketScope, q: &TicketQuery) -> Option<&'static str> {
    if !triage(scope, q) {
        return None;
    }
    match q.ordering {
        TicketOrdering::CreatedAt => Some(order_by(TicketOrdering::Priority)),
        TicketOrdering::CreatedAtDesc => Some(order_by(TicketOrdering::PriorityDesc)),
        _ => None,
    }
}

/// Whether the query filters everyone's tickets by nobody assigned and a priority alone (the
/// triage queue), which `tickets_unassigned` holds in creation order.
fn triage(scope: TicketScope, q: &TicketQuery) -> bool {
    let triage = TicketQuery {
        priority: q.priority,
        ..NOBODY
    };
    scope == TicketScope::All && q.priority.is_some() && filters_only(q, triage)
}

/// Whether `ordering` is by creation time, which the scopes' indexes hold.
pub(crate) fn by_creation(ordering: TicketOrdering) -> bool {
    matches!(
        ordering,
        TicketOrdering::CreatedAt | TicketOrdering::CreatedAtDesc
    )
}

/// What a side of an [`Involving`](TicketScope::Involving) page selects: the id and the
/// columns the ordering sorts by, all in the index that serves the ordering.
pub(crate) fn sort_keys(ordering: TicketOrdering) -> &'static str {
    match ordering {
        TicketOrdering::CreatedAt | TicketOrdering::CreatedAtDesc => {
            "SELECT t.id, t.created_at FROM tickets t"
        }
        TicketOrdering::UpdatedAt | TicketOrdering::UpdatedAtDesc => {
            "SELECT t.id, t.updated_at FROM tickets t"
        }
        TicketOrdering::Priority | TicketOrdering::PriorityDesc => {
            "SELECT t.id, t.priority, t.created_at FROM tickets t"
        }
        TicketOrdering::DueAt | TicketOrdering::DueAtDesc => "SELECT t.id, t.due_at FROM tickets t",
    }
}

/// The two sides of an agent's scope: the tickets they raised and the ones assigned to them.
/// Each side is read from its own index (`created_by`, `assigned_to`); an `OR` of the two
/// would make the databases fetch and sort every ticket of both.
fn sides(id: UserId) -> [TicketScope; 2] {
    [TicketScope::CreatedBy(id), TicketScope::AssignedTo(id)]
}

/// The one text filter of a list (`search` or `title`, not both), whatever else it filters
/// by, which [`SqlStore::list_matching`](crate::SqlStore) answers from remembered matches.
pub(crate) fn one_text(q: &TicketQuery) -> Option<(TicketText, &str)> {
    match (&q.search, &q.title) {
        (Some(search), None) => Some((TicketText::Anywhere, search)),
        (None, Some(title)) => Some((TicketText::Title, title)),
        _ => None,
    }
}

/// The query without its text filters: what the tickets a search looks among must pass.
pub(crate) fn without_text(q: &TicketQuery) -> TicketQuery {
    TicketQuery {
        search: None,
        title: None,
        ..q.clone()
    }
}

/// Whether everyone's tickets that pass the query's filters other than text are a range of
/// an index (a status, a priority, a creator, an assignee or nobody, a breach): every filter
/// but `breached=false` alone, which passes nearly every ticket ([`unbreached_alone`]).
pub(crate) fn filters_by_index(q: &TicketQuery) -> bool {
    q.status.is_some()
        || q.priority.is_some()
        || q.assigned_to.is_some()
        || q.created_by.is_some()
        || q.breached == Some(true)
}

/// Whether the query filters by `breached=false` alone besides its text: everyone's tickets
/// that pass it are nearly all of them, and the remembered matches less the breached ones
/// (a partial index) answer it.
pub(crate) fn unbreached_alone(q: &TicketQuery) -> bool {
    filters_only(&without_text(q), UNBREACHED)
}

/// Nobody assigned, and no target breached: filters that pass most tickets, counted as all
/// of them less the others.
const NOBODY: TicketQuery = TicketQuery {
    assigned_to: Some(AssigneeFilter::Nobody),
    ..NO_FILTER
};
const UNBREACHED: TicketQuery = TicketQuery {
    breached: Some(false),
    ..NO_FILTER
};
const NO_FILTER: TicketQuery = TicketQuery {
    search: None,
    title: None,
    status: None,
    priority: None,
    assigned_to: None,
    created_by: None,
    breached: None,
    ordering: TicketOrdering::CreatedAtDesc,
};

/// Whether the query filters by exactly what `filter` does, in whatever order.
fn filters_only(q: &TicketQuery, filter: TicketQuery) -> bool {
    *q == TicketQuery {
        ordering: q.ordering,
        ..filter
    }
}

/// Whether the query filters by nothing.
fn unfiltered(q: &TicketQuery) -> bool {
    only_text(q) && q.search.is_none() && q.title.is_none()
}

/// `SELECT <the number of tickets in scope that match q>` from the tallies, for dialects that
/// keep them ([`Dialect::TALLIES`]): a user's or an agent's unfiltered tickets from the user's
/// tallies (raised, assigned, or raised + assigned - both), and everyone's tickets filtered by
/// their creator or their assignee alone from that user's; everyone's tickets filtered by
/// status, priority, both or neither from the tallies of each status and priority, and by
/// nobody assigned alone, or no breach alone or with a status or priority, as all of them
/// less the others. `false` (and nothing pushed) for any other filter.
fn push_tally<D: Dialect>(qb: &mut QueryBuilder<D::Db>, scope: TicketScope, q: &TicketQuery) -> bool
where
    i64: Encode<'static, D::Db> + Type<D::Db>,
    String: Encode<'static, D::Db> + Type<D::Db>,
{
    // Sums cast back to integers: PostgreSQL sums `bigint` as `numeric`.
    if scope == TicketScope::All && by_status_or_priority_alone(q) {
        qb.push(
            "SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM ticket_status_tallies WHERE 1 = 1",
        );
        push_status_priority(qb, q, "");
        return true;
    }
    // Everyone's tickets with nobody assigned alone, or no target breached (of a status or
    // priority, if any): nearly all of them, counted as all of them less the others (the
    // assigned ones from the users' tallies, the breached ones from their partial index, the
    // status and priority tested on those few). PostgreSQL counted 33,333 unassigned tickets
    // of 100,000 in 7 ms; SQLite 100,000 unbreached in 15 to 20 ms, and the 20,000 of
    // `?breached=false&status=open` in 17.
    let unbreached = scope == TicketScope::All
        && q.breached == Some(false)
        && by_status_or_priority_alone(&TicketQuery {
            breached: None,
            ..q.clone()
        });
    if unbreached {
        qb.push("SELECT CAST((SELECT coalesce(sum(n), 0) FROM ticket_status_tallies WHERE 1 = 1");
        push_status_priority(qb, q, "");
        qb.push(
            ") - (SELECT count(*) FROM tickets t \
             WHERE (t.update_breached_at IS NOT NULL OR t.resolve_breached_at IS NOT NULL)",
        );
        push_status_priority(qb, q, &format!("{}t.", D::UNINDEXED));
        qb.push(") AS BIGINT)");
        return true;
    }
    if scope == TicketScope::All && filters_only(q, NOBODY) {
        qb.push(
            "SELECT CAST((SELECT coalesce(sum(n), 0) FROM ticket_status_tallies) - \
             (SELECT coalesce(sum(n), 0) FROM ticket_tallies WHERE side = 'assigned') AS BIGINT)",
        );
        return true;
    }
    if q.search.is_some() || q.title.is_some() || q.breached.is_some() {
        return false;
    }
    let side = match (scope, q.status, q.priority, q.assigned_to, q.created_by) {
        (TicketScope::All, None, None, Some(AssigneeFilter::User(id)), None) => {
            TicketScope::AssignedTo(id)
        }
        (TicketScope::All, None, None, None, Some(id)) => TicketScope::CreatedBy(id),
        (scope, None, None, None, None) => scope,
        _ => return false,
    };
    let (id, sides) = match side {
        TicketScope::All => return false,
        TicketScope::CreatedBy(id) => (id, "CASE side WHEN 'raised' THEN n END"),
        TicketScope::AssignedTo(id) => (id, "CASE side WHEN 'assigned' THEN n END"),
        TicketScope::Involving(id) => (id, "CASE side WHEN 'both' THEN -n ELSE n END"),
    };
    qb.push(format_args!(
        "SELECT CAST(coalesce(sum({sides}), 0) AS BIGINT) FROM ticket_tallies WHERE user_id = "
    ))
    .push_bind(id.0);
    true
}

/// Whether the query filters by status, priority or both alone, if at all: what the tallies of
/// each status and priority count.
fn by_status_or_priority_alone(q: &TicketQuery) -> bool {
    q.search.is_none()
        && q.title.is_none()
        && q.assigned_to.is_none()
        && q.created_by.is_none()
        && q.breached.is_none()
}

/// Whether the query filters by text alone, if at all.
pub(crate) fn only_text(q: &TicketQuery) -> bool {
    q.status.is_none()
        && q.priority.is_none()
        && q.assigned_to.is_none()
        && q.created_by.is_none()
        && q.breached.is_none()
}

/// `SELECT count(*)` of the tickets in scope that match the filters.
pub(crate) fn ticket_count<D: Dialect>(scope: TicketScope, q: &TicketQuery) -> QueryBuilder<D::Db>
where
    i64: Encode<'static, D::Db> + Type<D::Db>,
    String: Encode<'static, D::Db> + Type<D::Db>,
{
    let mut qb = QueryBuilder::new("");
    D::push_ticket_text_with(&mut qb, q);
    push_ticket_count::<D>(&mut qb, scope, q);
    qb
}

fn push_ticket_count<D: Dialect>(qb: &mut QueryBuilder<D::Db>, scope: TicketScope, q: &TicketQuery)
where
    i64: Encode<'static, D::Db> + Type<D::Db>,
    String: Encode<'static, D::Db> + Type<D::Db>,
{
    if let (TicketScope::All, true, Some(hits)) = (scope, only_text(q), D::text_hits(q)) {
        qb.push(format_args!("SELECT count(*) FROM {hits}"));
        return;
    }
    if D::TALLIES && push_tally::<D>(qb, scope, q) {
        return;
    }
    let TicketScope::Involving(id) = scope else {
        qb.push("SELECT count(*) FROM tickets t");
        push_ticket_filters::<D>(qb, scope, q);
        return;
    };
    // Raised + assigned - both: three counts from indexes, where a set union would first
    // collect and deduplicate every id.
    qb.push("SELECT (SELECT count(*) FROM tickets t");
    push_ticket_filters::<D>(qb, TicketScope::CreatedBy(id), q);
    qb.push(") + (SELECT count(*) FROM tickets t");
    push_ticket_filters::<D>(qb, TicketScope::AssignedTo(id), q);
    qb.push(") - (SELECT count(*) FROM tickets t");
    push_ticket_filters::<D>(qb, TicketScope::CreatedBy(id), q);
    qb.push(" AND t.assigned_to = ").push_bind(id.0).push(")");
}

/// One page of the tickets in scope that match the filters, in the query's order: the ticket
/// columns of `tickets t` after a first column `total` with the count of all of them, so that
/// a list is one statement; `true` if the dialect reads the page as one row instead, the count
/// (`NULL` for no ticket) and the tickets as one JSON value ([`Dialect::rows_as_json`]). A
/// page past the end has no ticket to carry the count: [`ticket_count`] then. Where the
/// caller counted already, `counted` is `false` and `total` is 0.
pub(crate) fn ticket_page<D: Dialect>(
    scope: TicketScope,
    q: &TicketQuery,
    page: Window,
    counted: bool,
) -> (QueryBuilder<D::Db>, bool)
where
    i64: Encode<'static, D::Db> + Type<D::Db>,
    String: Encode<'static, D::Db> + Type<D::Db>,
{
    let Some(aggregate) = D::rows_as_json(ticket_columns!(), order_by(q.ordering)) else {
        let mut qb = QueryBuilder::new("");
        push_ticket_rows::<D>(&mut qb, scope, q, page, counted);
        return (qb, false);
    };
    let mut qb = QueryBuilder::new(format!("SELECT max(total), {aggregate} FROM ("));
    push_ticket_rows::<D>(&mut qb, scope, q, page, counted);
    qb.push(") AS t");
    (qb, true)
}

/// The rows of [`ticket_page`].
fn push_ticket_rows<D: Dialect>(
    qb: &mut QueryBuilder<D::Db>,
    scope: TicketScope,
    q: &TicketQuery,
    page: Window,
    counted: bool,
) where
    i64: Encode<'static, D::Db> + Type<D::Db>,
    String: Encode<'static, D::Db> + Type<D::Db>,
{
    let order = order_by(q.ordering);
    D::push_ticket_text_with(qb, q);
    if counted {
        qb.push("SELECT (");
        push_ticket_count::<D>(qb, scope, q);
        qb.push(") AS total, ");
    } else {
        qb.push("SELECT CAST(0 AS BIGINT) AS total, ");
    }
    qb.push(ticket_columns!()).push(" FROM tickets t");
    let TicketScope::Involving(id) = scope else {
        match D::text_hits(q).filter(|_| scope == TicketScope::All) {
            Some(hits) => push_text_page::<D>(qb, hits, q, page),
            None if D::PLANS_BY_TALLIES && scope == TicketScope::All && walks_in_order(q) => {
                push_walk_or_sort::<D>(qb, q, page);
            }
            None if by_each_priority(q) && !unfiltered(q) && !by_status_alone(q) => {
                qb.push(" WHERE t.id IN (");
                push_first::<D>(qb, &[scope], q, page);
                qb.push(order);
                push_page(qb, page);
                qb.push(")").push(order);
            }
            None => {
                let by_index = status_due_order::<D>(scope, q)
                    .or_else(|| unassigned_order(scope, q))
                    .unwrap_or(order);
                if page.offset() == 0 {
                    push_ticket_filters::<D>(qb, scope, q);
                    qb.push(by_index);
                    push_page(qb, page);
                } else {
                    // Past the first page, the ids first: the tickets before the page are
                    // then stepped through in an index, without reading each (nobody's
                    // tickets from the 32,000th on SQLite: 25 ms, 6 ms by id).
                    qb.push(" WHERE t.id IN (SELECT t.id FROM tickets t");
                    push_ticket_filters::<D>(qb, scope, q);
                    qb.push(by_index);
                    push_page(qb, page);
                    qb.push(")").push(order);
                }
            }
        }
        return;
    };
    let by_creation = by_creation(q.ordering);
    let read_sides = |qb: &mut QueryBuilder<D::Db>| push_first::<D>(qb, &sides(id), q, page);
    if !D::PLANS_BY_TALLIES || by_creation || !unfiltered(q) {
        qb.push(" WHERE t.id IN (");
        read_sides(qb);
        qb.push(order);
        push_page(qb, page);
        qb.push(")").push(order);
        return;
    }
    // Any other order is in no index of a side, so each side reads and sorts every ticket
    // of its own (an agent's 3,334 of 100,000: 6 to 10 ms, most of it reading rows). Walking
    // the ordering's index instead and looking each ticket up among the agent's ids stops at
    // the page (1 to 3 ms) but may pass every ticket (7 ms at 100,000) where theirs lie at
    // the far end. The walk is taken from a fortieth of the tickets on, where its worst case
    // costs about what reading theirs does.
    push_two_plans(
        qb,
        order,
        page,
        |qb| {
            qb.push("40 * (");
            push_tally::<D>(qb, scope, q);
            qb.push(") >= (SELECT coalesce(max(id), 0) FROM tickets)");
        },
        [
            &|qb: &mut QueryBuilder<D::Db>| {
                qb.push(format_args!(
                    "SELECT t.id FROM tickets t WHERE {}t.id IN (",
                    D::UNINDEXED
                ));
                push_scope_select(qb, scope);
                qb.push(")");
            },
            &read_sides,
        ],
    );
}

/// `SELECT t.id FROM (...) AS t`: for each of `sides`, the first tickets that pass the query's
/// filters in its order, as many as the page needs (its offset and size), each side read from
/// its own index and joined by `UNION`; [`push_ticket_rows`] orders and pages them.
///
/// In creation order the side's index holds the order. In order of priority (the query not
/// filtering by one), each priority's first tickets in creation order are read apart and
/// joined, walking the index of the side or filter, whose entries hold the priority (written
/// `t.priority + 0` to keep the priority's own index out of the plan: SQLite walked it instead
/// and read every row to test the filter). Reading all of them and sorting read every row
/// (`?assigned_to=none&ordering=-priority` of 100,000 tickets on SQLite: 78 ms, now 7). In
/// any other order the side's tickets are read from the side's index and sorted, behind a
/// fence ([`Dialect::FENCE`]) that keeps the planner from walking the ordering's index and
/// reading each ticket to test its side: quick only where the side's tickets are spread
/// evenly through the order. PostgreSQL walked 33,707 tickets (35 ms) for an agent whose
/// tickets all had a high priority.
fn push_first<D: Dialect>(
    qb: &mut QueryBuilder<D::Db>,
    sides: &[TicketScope],
    q: &TicketQuery,
    page: Window,
) where
    i64: Encode<'static, D::Db> + Type<D::Db>,
    String: Encode<'static, D::Db> + Type<D::Db>,
{
    let enough = page.offset() + u64::from(page.size());
    let (order, keys) = (order_by(q.ordering), sort_keys(q.ordering));
    qb.push("SELECT t.id FROM (");
    for (k, &side) in sides.iter().enumerate() {
        qb.push(if k == 0 { "" } else { " UNION " });
        if by_each_priority(q) {
            let direction = match q.ordering {
                TicketOrdering::PriorityDesc => " DESC",
                _ => "",
            };
            // Everyone's unassigned tickets, alone or of a status: each priority's are a range
            // of `tickets_unassigned (priority, created_at, id)`, read in its order. Led by the
            // assignee instead, PostgreSQL walked every unassigned ticket for a priority none
            // of them had (`?status=open&assigned_to=none&ordering=-priority`: 10.7 ms).
            let unassigned = side == TicketScope::All
                && filters_only(
                    q,
                    TicketQuery {
                        status: q.status,
                        ..NOBODY
                    },
                );
            // Led by the creator or assignee the side or a filter fixes, which changes nothing
            // but the plan: PostgreSQL then walks that user's (or nobody's) index, whose
            // entries hold the priority, instead of the creation index, which it walked to
            // the end reading every ticket (a priority none of them has: 27 ms).
            let lead = match (side, q.assigned_to, q.created_by) {
                _ if unassigned => format!("t.priority{direction}, "),
                (TicketScope::AssignedTo(_), ..) | (TicketScope::All, Some(_), _) => {
                    format!("t.assigned_to{direction}, ")
                }
                (TicketScope::CreatedBy(_), ..) | (TicketScope::All, None, Some(_)) => {
                    format!("t.created_by{direction}, ")
                }
                _ => String::new(),
            };
            // Each priority's tickets in creation order, as `order_by` breaks its ties.
            let in_creation_order =
                format!(" ORDER BY {lead}t.created_at{direction}, t.id{direction}");
            // In a subquery of the side's own: the sides' `UNION` must see every branch.
            qb.push("SELECT * FROM (");
            for (p, priority) in Priority::ALL.iter().enumerate() {
                qb.push(if p == 0 { "" } else { " UNION ALL " })
                    .push("SELECT * FROM (")
                    .push(keys);
                push_ticket_filters::<D>(qb, side, q);
                if unassigned {
                    push_unassigned_priority(qb, *priority);
                } else {
                    qb.push(" AND t.priority + 0 = ").push_bind(priority.rank());
                }
                qb.push(&in_creation_order)
                    .push(format_args!(" LIMIT {enough}) AS side{k}_{p}"));
            }
            qb.push(format_args!(") AS side{k}"));
            continue;
        }
        qb.push("SELECT * FROM (");
        let fenced = !by_creation(q.ordering);
        if fenced {
            qb.push("SELECT * FROM (");
        }
        qb.push(keys);
        push_ticket_filters::<D>(qb, side, q);
        if fenced {
            qb.push(D::FENCE).push(") AS t");
        }
        qb.push(order)
            .push(format_args!(" LIMIT {enough}) AS side{k}"));
    }
    qb.push(") AS t");
}

/// Whether the query filters by a status alone, which an index holds with the priority and
/// the creation time.
fn by_status_alone(q: &TicketQuery) -> bool {
    q.status.is_some() && q.priority.is_none() && by_status_or_priority_alone(q)
}

/// Whether the query is in order of priority without filtering by one: [`push_first`] reads
/// each priority's tickets apart.
fn by_each_priority(q: &TicketQuery) -> bool {
    matches!(
        q.ordering,
        TicketOrdering::Priority | TicketOrdering::PriorityDesc
    ) && q.priority.is_none()
}

/// Pushes one plan of [`push_two_plans`]: `SELECT t.id FROM ...`.
type Plan<'a, DB> = &'a dyn Fn(&mut QueryBuilder<DB>);

/// ` WHERE t.id IN (...)` and `order`: a page of the ids the first of `plans` selects if the
/// SQL condition `walk` holds, of the second otherwise. Each plan is `SELECT t.id FROM ...`
/// whose rows `order` sorts; the one not chosen gets `LIMIT 0`, which SQLite answers without
/// running it (a constant `WHERE` term did not stop it: both plans ran).
fn push_two_plans<DB: Database>(
    qb: &mut QueryBuilder<DB>,
    order: &str,
    page: Window,
    walk: impl Fn(&mut QueryBuilder<DB>),
    plans: [Plan<'_, DB>; 2],
) {
    qb.push(" WHERE t.id IN (");
    let size = page.size();
    for (k, plan) in plans.into_iter().enumerate() {
        let [then, otherwise] = if k == 0 { [size, 0] } else { [0, size] };
        qb.push(if k == 0 { "" } else { " UNION ALL " })
            .push("SELECT id FROM (");
        plan(qb);
        qb.push(order).push(" LIMIT CASE WHEN ");
        walk(qb);
        qb.push(format_args!(
            " THEN {then} ELSE {otherwise} END OFFSET {}) AS plan{k}",
            page.offset()
        ));
    }
    qb.push(")").push(order);
}

/// Whether the query filters everyone's tickets by status, priority or both alone, whose
/// entries the indexes of `updated_at` and `due_at` hold, or by nobody assigned alone (a third
/// of the tickets in the load benchmark; SQLite, which plans without values, took the
/// assignee's index for it and read and sorted all 33,333: 30 ms) or with a priority (the
/// [`triage`] queue: 36 ms, reading all 33,333 of `priority=low` from `tickets_unassigned`),
/// and orders them by `updated_at` or `due_at` (see [`push_walk_or_sort`]).
fn walks_in_order(q: &TicketQuery) -> bool {
    ((q.status.is_some() || q.priority.is_some()) && by_status_or_priority_alone(q)
        || filters_only(q, NOBODY)
        || triage(TicketScope::All, q))
        && matches!(
            q.ordering,
            TicketOrdering::UpdatedAt
                | TicketOrdering::UpdatedAtDesc
                | TicketOrdering::DueAt
                | TicketOrdering::DueAtDesc
        )
}

/// ` WHERE ...` of a page of everyone's tickets filtered by status or priority in the order of
/// `updated_at` or `due_at` ([`walks_in_order`]), in one of two plans chosen in the statement
/// by the tallies ([`Dialect::PLANS_BY_TALLIES`]). Reading the matches from the status or priority
/// index and sorting them costs 1 to 2 µs a match (30,000 escalated tickets by `-updated_at`:
/// 21 to 36 ms; 6,666 open low-priority ones: 10 to 13 ms); walking the ordering's index,
/// whose entries hold the status and priority, tests each entry without reading its ticket
/// and stops at the page, but may pass every ticket where the matches lie at the far end
/// (about 0.1 µs an entry: 7 to 14 ms for 100,000 to 134,000). The walk is taken from a
/// twentieth of the tickets on, where its worst case costs about what sorting theirs does.
/// The tallies count every query [`walks_in_order`] admits ([`push_tally`]) but the triage
/// queue, which is counted from its own index.
fn push_walk_or_sort<D: Dialect>(qb: &mut QueryBuilder<D::Db>, q: &TicketQuery, page: Window)
where
    i64: Encode<'static, D::Db> + Type<D::Db>,
    String: Encode<'static, D::Db> + Type<D::Db>,
{
    let walk = |qb: &mut QueryBuilder<D::Db>| {
        qb.push("SELECT t.id FROM tickets t WHERE 1 = 1");
        push_status_priority(qb, q, &format!("{}t.", D::UNINDEXED));
        if q.assigned_to.is_some() {
            // Nobody ([`walks_in_order`]): read from each ticket, about 1 µs a ticket walked.
            qb.push(format_args!(" AND {}t.assigned_to IS NULL", D::UNINDEXED));
        }
    };
    let sort = |qb: &mut QueryBuilder<D::Db>| {
        qb.push("SELECT t.id FROM (").push(sort_keys(q.ordering));
        push_ticket_filters::<D>(qb, TicketScope::All, q);
        qb.push(D::FENCE).push(") AS t");
    };
    push_two_plans(
        qb,
        order_by(q.ordering),
        page,
        |qb| {
            qb.push("20 * (");
            if !push_tally::<D>(qb, TicketScope::All, q) {
                push_ticket_count::<D>(qb, TicketScope::All, q);
            }
            qb.push(") >= (SELECT coalesce(sum(n), 0) FROM ticket_status_tallies)");
        },
        [&walk, &sort],
    );
}

/// ` WHERE ...` of a page of everyone's tickets whose text matches are in the table `hits`
/// ([`Dialect::text_hits`]), in one of two plans chosen in the statement by the number of
/// matches `n`. Reading each match and sorting them costs about 1.5 µs a match on SQLite;
/// walking the ordering's index and looking each ticket up among the matches costs about
/// 0.07 µs a ticket and stops at the page, but where the matches lie in the ordering is
/// unknown (a term of last year's tickets is found only after walking this year's), so the
/// walk may pass every ticket. The plan with the better worst case wins: the walk from
/// `20 * n >= tickets` on (at 100,000 tickets, 12,500 matches: 6 ms walking against 19 ms
/// reading; 1,111 matches among the oldest tickets: 1.6 ms reading against 4.6 ms walking).
fn push_text_page<D: Dialect>(
    qb: &mut QueryBuilder<D::Db>,
    hits: &str,
    q: &TicketQuery,
    page: Window,
) where
    i64: Encode<'static, D::Db> + Type<D::Db>,
    String: Encode<'static, D::Db> + Type<D::Db>,
{
    let plan = |walk: bool| {
        move |qb: &mut QueryBuilder<D::Db>| {
            qb.push("SELECT t.id FROM tickets t");
            push_ticket_filters_probing::<D>(qb, TicketScope::All, q, walk);
        }
    };
    push_two_plans(
        qb,
        order_by(q.ordering),
        page,
        |qb| {
            qb.push(format_args!(
                "20 * (SELECT count(*) FROM {hits}) >= (SELECT coalesce(max(id), 0) FROM tickets)"
            ));
        },
        [&plan(true), &plan(false)],
    );
}

/// ` AND <column> IN (<the ids of the tickets in scope>)`, read from the scope's indexes.
pub(crate) fn push_scope_ids<DB>(qb: &mut QueryBuilder<DB>, column: &str, scope: TicketScope)
where
    DB: Database,
    i64: Encode<'static, DB> + Type<DB>,
{
    if scope != TicketScope::All {
        qb.push(format_args!(" AND {column} IN ("));
        push_scope_select(qb, scope);
        qb.push(")");
    }
}

/// `SELECT id FROM tickets WHERE ...`: the ids of the tickets in a scope other than
/// [`TicketScope::All`], from its indexes (both sides of an agent's, each from its own).
pub(crate) fn push_scope_select<DB>(qb: &mut QueryBuilder<DB>, scope: TicketScope)
where
    DB: Database,
    i64: Encode<'static, DB> + Type<DB>,
{
    push_scope_rows(qb, scope, "SELECT id FROM tickets");
}

/// `select WHERE ...` (`select` being `SELECT ... FROM tickets`, as [`sort_keys`]) for the
/// tickets in a scope, each side of an agent's from its own index.
pub(crate) fn push_scope_rows<DB>(qb: &mut QueryBuilder<DB>, scope: TicketScope, select: &str)
where
    DB: Database,
    i64: Encode<'static, DB> + Type<DB>,
{
    let side = |qb: &mut QueryBuilder<DB>, column: &str, id: UserId| {
        qb.push(format_args!("{select} WHERE {column} = "))
            .push_bind(id.0);
    };
    match scope {
        TicketScope::All => {
            qb.push(select);
        }
        TicketScope::CreatedBy(id) => side(qb, "created_by", id),
        TicketScope::AssignedTo(id) => side(qb, "assigned_to", id),
        TicketScope::Involving(id) => {
            side(qb, "created_by", id);
            qb.push(" UNION ");
            side(qb, "assigned_to", id);
        }
    }
}

/// `select WHERE <scope and filters>` (`select` being `SELECT ... FROM tickets t`, as
/// [`sort_keys`]) for the tickets in a scope that pass the query's filters, which must not
/// filter by text: each side of an agent's from its own index, joined by `UNION`.
pub(crate) fn push_filtered_rows<D: Dialect>(
    qb: &mut QueryBuilder<D::Db>,
    scope: TicketScope,
    q: &TicketQuery,
    select: &str,
) where
    i64: Encode<'static, D::Db> + Type<D::Db>,
    String: Encode<'static, D::Db> + Type<D::Db>,
{
    let sides = match scope {
        TicketScope::Involving(id) => sides(id).to_vec(),
        scope => vec![scope],
    };
    for (k, side) in sides.into_iter().enumerate() {
        qb.push(if k == 0 { "" } else { " UNION " }).push(select);
        push_ticket_filters::<D>(qb, side, q);
    }
}

/// `(select WHERE <side> = id AND <condition>) AS t` (everyone's: `select WHERE <condition>`):
/// the tickets of each side from an index of that side (`select` being
/// `SELECT ... FROM tickets`), an agent's two sides joined by `UNION ALL`, the raised side
/// without the tickets the agent also holds, so that nothing is counted twice and nothing is
/// de-duplicated (that side's index must hold the assignee). For the service-level report's
/// parts, read from partial indexes of each side.
pub(crate) fn push_scope_sides<DB>(
    qb: &mut QueryBuilder<DB>,
    scope: TicketScope,
    select: &str,
    condition: impl Fn(&mut QueryBuilder<DB>),
) where
    DB: Database,
    i64: Encode<'static, DB> + Type<DB>,
{
    let side = |qb: &mut QueryBuilder<DB>, column: &str, id: UserId| {
        qb.push(format_args!("{select} WHERE {column} = "))
            .push_bind(id.0)
            .push(" AND ");
        condition(qb);
    };
    qb.push("(");
    match scope {
        TicketScope::All => {
            qb.push(format_args!("{select} WHERE "));
            condition(qb);
        }
        TicketScope::CreatedBy(id) => side(qb, "created_by", id),
        TicketScope::AssignedTo(id) => side(qb, "assigned_to", id),
        TicketScope::Involving(id) => {
            side(qb, "assigned_to", id);
            qb.push(" UNION ALL ");
            side(qb, "created_by", id);
            qb.push(" AND (assigned_to IS NULL OR assigned_to <> ")
                .push_bind(id.0)
                .push(")");
        }
    }
    qb.push(") AS t");
}

/// ` LIMIT ... OFFSET ...` of a page, as numbers in the statement rather than parameters, as
/// the lists write every page bound (the page read by id among remembered matches binds its
/// own, its ids being `$2`): PostgreSQL plans a statement with a parameter for its `LIMIT` as
/// if it might return a tenth of its rows, so its generic plan never looked cheap enough and
/// every execution was planned anew (an agent's list: 0.4 to 0.5 ms of planning for 0.5 ms of
/// running). A statement is kept per page size and offset; pages past the first are rarer.
/// The numbers stay far inside `i64`: an offset is at most `u32::MAX` pages of 100.
pub(crate) fn push_page<DB: Database>(qb: &mut QueryBuilder<DB>, page: impl Into<Window>) {
    let page = page.into();
    qb.push(format_args!(
        " LIMIT {} OFFSET {}",
        page.size(),
        page.offset()
    ));
}
