//! `/tickets/...`: tickets, their comments and history.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use helpdesk_core::query::search_text;
use helpdesk_core::{
    AssigneeFilter, FieldErrors, NewComment, NewTicket, Priority, Status, Ticket, TicketId,
    TicketOrdering, TicketPatch, TicketQuery, UserId,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::auth::Auth;
use crate::dto::{
    AssignIn, CommentIn, CommentOut, EventOut, Paginated, TicketCreateIn, TicketOut, TicketPatchIn,
};
use crate::extract::{Id, IfMatch, Json, Query, empty_as_none, etag};
use crate::pagination::{PageLinks, PageParams, page_request, paginate};
use crate::problem::{ApiError, ApiResult};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tickets, create_ticket))
        .routes(routes!(get_ticket, update_ticket, delete_ticket))
        .routes(routes!(assign_ticket))
        .routes(routes!(list_comments, add_comment))
        .routes(routes!(history))
}

/// A ticket with its version as `ETag`.
fn with_etag(ticket: Ticket) -> impl IntoResponse {
    (
        [(header::ETAG, etag(ticket.version))],
        axum::Json(TicketOut::from(ticket)),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct TicketListParams {
    /// Matches anywhere in title or description, case-insensitive.
    #[param(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    search: Option<String>,
    /// Matches anywhere in the title, case-insensitive.
    #[param(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    title: Option<String>,
    /// Only this status.
    #[serde(default, deserialize_with = "empty_as_none")]
    status: Option<Status>,
    /// Only this priority.
    #[serde(default, deserialize_with = "empty_as_none")]
    priority: Option<Priority>,
    /// A user id, or `none` for unassigned tickets.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(value_type = Option<String>, pattern = r"^(none|null|[0-9]{1,18})?$")]
    assigned_to: Option<AssigneeFilter>,
    /// Only tickets raised by this user id.
    #[serde(default, deserialize_with = "empty_as_none")]
    created_by: Option<i64>,
    /// `true`: only tickets with a breached service-level target (the update target since its
    /// clock last restarted, or the resolution target); `false`: only tickets without.
    #[serde(default, deserialize_with = "empty_as_none")]
    breached: Option<bool>,
    /// `created_at`, `-created_at` (default), `updated_at`, `-updated_at`, `priority`,
    /// `-priority`, `due_at` or `-due_at`.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(value_type = Option<String>, pattern = r"^(-?(created_at|updated_at|priority|due_at))?$")]
    ordering: Option<TicketOrdering>,
    /// 1-based page number.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(minimum = 1)]
    page: Option<u32>,
    /// Results per page, 1 to 100 (default 20).
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(minimum = 1, maximum = 100)]
    page_size: Option<u32>,
}

impl TicketListParams {
    fn query(self) -> Result<TicketQuery, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut text = |field: &str, value: Option<String>| {
            search_text(field, value.as_deref().unwrap_or("")).unwrap_or_else(|e| {
                errors.merge(e);
                None
            })
        };
        let (search, title) = (text("search", self.search), text("title", self.title));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TicketQuery {
            search,
            title,
            status: self.status,
            priority: self.priority,
            assigned_to: self.assigned_to,
            created_by: self.created_by.map(UserId),
            breached: self.breached,
            ordering: self.ordering.unwrap_or_default(),
        })
    }
}

/// Lists the tickets the caller may see.
///
/// User: their own; agent: assigned to them or raised by them; admin: all. Filtered, ordered
/// and paginated.
#[utoipa::path(get, path = "/tickets", tag = "tickets", security(("bearer" = [])), params(TicketListParams),
    responses(
        (status = 200, description = "A page of tickets.", body = Paginated<TicketOut>, example = json!({
            "count": 1, "next": null, "previous": null,
            "results": [{"id": 42, "title": "Printer on fire", "description": "Smoke is coming out of the 3rd floor printer.",
                "priority": "high", "status": "open", "created_by": 7, "assigned_to": null,
                "created_at": "2026-11-26T09:00:00Z", "updated_at": "2026-11-26T09:00:00Z",
                "resolved_at": null, "escalated_at": null, "due_at": "2026-11-26T10:00:00Z", "version": 1}]})),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn list_tickets(
    State(s): State<AppState>,
    Auth(id): Auth,
    Query(p): Query<TicketListParams>,
    links: PageLinks,
) -> ApiResult<axum::Json<Paginated<TicketOut>>> {
    let page = page_request(p.page, p.page_size)?;
    let query = p.query().map_err(ApiError::bad_query)?;
    let tickets = s.helpdesk.list_tickets(&id.actor, &query, page).await?;
    Ok(axum::Json(paginate(tickets, &links)?))
}

/// Raises a ticket; it starts `open` with its escalation clock running.
#[utoipa::path(post, path = "/tickets", tag = "tickets", security(("bearer" = [])), request_body = TicketCreateIn,
    responses(
        (status = 201, description = "The new ticket.", body = TicketOut, headers(("ETag" = String, description = "The ticket's version"))),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 413, response = crate::problem::PayloadTooLarge),
        (status = 422, response = crate::problem::Unprocessable),
        (status = 429, response = crate::problem::TooManyRequests),
    ))]
async fn create_ticket(
    State(s): State<AppState>,
    Auth(id): Auth,
    Json(body): Json<TicketCreateIn>,
) -> ApiResult<impl IntoResponse> {
    let new = NewTicket::new(
        &body.title,
        &body.description,
        body.priority.unwrap_or_default(),
    )?;
    let ticket = s.helpdesk.create_ticket(&id.actor, new).await?;
    Ok((StatusCode::CREATED, with_etag(ticket)))
}

/// One ticket the caller may see.
#[utoipa::path(get, path = "/tickets/{id}", tag = "tickets", security(("bearer" = [])), params(("id" = i64, Path, description = "Ticket id")),
    responses(
        (status = 200, description = "The ticket.", body = TicketOut, headers(("ETag" = String, description = "The ticket's version"))),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn get_ticket(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> ApiResult<impl IntoResponse> {
    Ok(with_etag(
        s.helpdesk.get_ticket(&who.actor, TicketId(id)).await?,
    ))
}

/// Edits a ticket or moves its status.
///
/// Edits: the creator while it is open, or an admin; status moves follow the transition
/// rules. With `If-Match`, only if the ticket is still at that version.
#[utoipa::path(patch, path = "/tickets/{id}", tag = "tickets", security(("bearer" = [])), request_body = TicketPatchIn,
    params(("id" = i64, Path, description = "Ticket id"), ("If-Match" = Option<String>, Header, description = "ETags from earlier responses, e.g. \"3\", or `*`; well-formed tags that name no version of the ticket get 412, a malformed value 400")),
    responses(
        (status = 200, description = "The updated ticket.", body = TicketOut, headers(("ETag" = String, description = "The ticket's version"))),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
        (status = 409, response = crate::problem::Conflict),
        (status = 412, response = crate::problem::PreconditionFailed),
        (status = 413, response = crate::problem::PayloadTooLarge),
        (status = 422, response = crate::problem::Unprocessable),
    ))]
async fn update_ticket(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    if_match: Option<IfMatch>,
    Json(body): Json<TicketPatchIn>,
) -> ApiResult<impl IntoResponse> {
    let patch = TicketPatch::new(
        body.title.as_deref(),
        body.description.as_deref(),
        body.priority,
        body.status,
    )?;
    let version = if_match.and_then(|m| m.0);
    Ok(with_etag(
        s.helpdesk
            .update_ticket(&who.actor, TicketId(id), patch, version)
            .await?,
    ))
}

/// Deletes a ticket with its comments and history (admins).
#[utoipa::path(delete, path = "/tickets/{id}", tag = "tickets", security(("bearer" = [])), params(("id" = i64, Path, description = "Ticket id")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn delete_ticket(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    s.helpdesk.delete_ticket(&who.actor, TicketId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Assigns or unassigns a ticket (admins).
///
/// To an active agent or admin, or to nobody with `null`.
#[utoipa::path(post, path = "/tickets/{id}/assign", tag = "tickets", security(("bearer" = [])), request_body = AssignIn,
    params(("id" = i64, Path, description = "Ticket id"), ("If-Match" = Option<String>, Header, description = "ETags from earlier responses, e.g. \"3\", or `*`; well-formed tags that name no version of the ticket get 412, a malformed value 400")),
    responses(
        (status = 200, description = "The assigned ticket.", body = TicketOut, headers(("ETag" = String, description = "The ticket's version"))),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
        (status = 412, response = crate::problem::PreconditionFailed),
        (status = 413, response = crate::problem::PayloadTooLarge),
        (status = 422, response = crate::problem::Unprocessable),
    ))]
async fn assign_ticket(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    if_match: Option<IfMatch>,
    Json(body): Json<AssignIn>,
) -> ApiResult<impl IntoResponse> {
    let agent = body
        .agent_id
        .ok_or_else(|| helpdesk_core::Error::invalid("agent_id", "is required (null unassigns)"))?;
    let version = if_match.and_then(|m| m.0);
    Ok(with_etag(
        s.helpdesk
            .assign_ticket(&who.actor, TicketId(id), agent.map(UserId), version)
            .await?,
    ))
}

/// A ticket's comments, oldest first.
#[utoipa::path(get, path = "/tickets/{id}/comments", tag = "tickets", security(("bearer" = [])), params(("id" = i64, Path, description = "Ticket id"), PageParams),
    responses(
        (status = 200, description = "A page of comments.", body = Paginated<CommentOut>, example = json!({
            "count": 1, "next": null, "previous": null,
            "results": [{"id": 3, "ticket_id": 42, "author_id": 9, "body": "Unplugged it; a new fuser is on order.", "created_at": "2026-11-26T09:20:00Z"}]})),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn list_comments(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    Query(p): Query<PageParams>,
    links: PageLinks,
) -> ApiResult<axum::Json<Paginated<CommentOut>>> {
    let page = page_request(p.page, p.page_size)?;
    let comments = s
        .helpdesk
        .list_comments(&who.actor, TicketId(id), page)
        .await?;
    Ok(axum::Json(paginate(comments, &links)?))
}

/// Comments on a ticket.
///
/// Its creator, the assigned agent or an admin may; a staff comment restarts the escalation
/// clock.
#[utoipa::path(post, path = "/tickets/{id}/comments", tag = "tickets", security(("bearer" = [])), params(("id" = i64, Path, description = "Ticket id")), request_body = CommentIn,
    responses(
        (status = 201, description = "The new comment.", body = CommentOut),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
        (status = 409, response = crate::problem::Conflict),
        (status = 413, response = crate::problem::PayloadTooLarge),
        (status = 422, response = crate::problem::Unprocessable),
        (status = 429, response = crate::problem::TooManyRequests),
    ))]
async fn add_comment(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    Json(body): Json<CommentIn>,
) -> ApiResult<(StatusCode, axum::Json<CommentOut>)> {
    let comment = s
        .helpdesk
        .add_comment(&who.actor, TicketId(id), NewComment::new(&body.body)?)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(comment.into())))
}

/// A ticket's history, oldest first.
#[utoipa::path(get, path = "/tickets/{id}/history", tag = "tickets", security(("bearer" = [])), params(("id" = i64, Path, description = "Ticket id"), PageParams),
    responses(
        (status = 200, description = "A page of history events.", body = Paginated<EventOut>, example = json!({
            "count": 2, "next": null, "previous": null,
            "results": [
                {"id": 10, "ticket_id": 42, "actor_id": 7, "kind": "created", "from": null, "to": "open", "at": "2026-11-26T09:00:00Z"},
                {"id": 11, "ticket_id": 42, "actor_id": null, "kind": "escalated", "from": "open", "to": "escalated", "at": "2026-11-26T10:00:30Z"}]})),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn history(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    Query(p): Query<PageParams>,
    links: PageLinks,
) -> ApiResult<axum::Json<Paginated<EventOut>>> {
    let page = page_request(p.page, p.page_size)?;
    let events = s.helpdesk.history(&who.actor, TicketId(id), page).await?;
    Ok(axum::Json(paginate(events, &links)?))
}
