//! Reports, escalations, notifications and health.

use axum::extract::State;
use axum::http::StatusCode;
use helpdesk_core::{NotificationId, NotificationState, SlaReport};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::auth::Auth;
use crate::dto::{EscalationOut, HealthOut, NotificationOut, Paginated, ReportOut};
use crate::extract::{Id, Query, empty_as_none};
use crate::pagination::{PageLinks, page_request, paginate};
use crate::problem::{ApiError, ApiResult};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(last_7_days))
        .routes(routes!(sla_report))
        .routes(routes!(run_escalations))
        .routes(routes!(list_notifications))
        .routes(routes!(retry_notification))
        .routes(routes!(health))
}

/// Counts of the last 7 days.
///
/// Tickets opened, moved to resolved and escalated in the last 7 days, over the tickets the
/// caller may see.
#[utoipa::path(get, path = "/reports/last7days", tag = "reports", security(("bearer" = [])),
    responses(
        (status = 200, description = "The counts.", body = ReportOut),
        (status = 401, response = crate::problem::Unauthorized),
    ))]
async fn last_7_days(
    State(s): State<AppState>,
    Auth(id): Auth,
) -> ApiResult<axum::Json<ReportOut>> {
    Ok(axum::Json(
        s.helpdesk.report_last_7_days(&id.actor).await?.into(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SlaReportParams {
    /// The window: the last this many days, 1 to 366 (default 30).
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(minimum = 1, maximum = 366)]
    days: Option<u32>,
}

/// Service levels of the last days.
///
/// Per priority, over the tickets the caller may see: tickets raised in the window, moves to
/// resolved (and of those, without a resolution breach before), update and resolution
/// breaches, and the median counted time to the first staff comment or status change of the
/// tickets raised in the window.
#[utoipa::path(get, path = "/reports/sla", tag = "reports", security(("bearer" = [])), params(SlaReportParams),
    responses(
        (status = 200, description = "The report.", body = SlaReport),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 422, response = crate::problem::Unprocessable),
    ))]
async fn sla_report(
    State(s): State<AppState>,
    Auth(id): Auth,
    Query(p): Query<SlaReportParams>,
) -> ApiResult<axum::Json<SlaReport>> {
    let days = p.days.unwrap_or(30);
    Ok(axum::Json(s.helpdesk.sla_report(&id.actor, days).await?))
}

/// Runs one escalation sweep now (admins).
#[utoipa::path(post, path = "/escalations/run", tag = "escalations", security(("bearer" = [])),
    responses(
        (status = 200, description = "What the sweep did.", body = EscalationOut),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
    ))]
async fn run_escalations(
    State(s): State<AppState>,
    Auth(id): Auth,
) -> ApiResult<axum::Json<EscalationOut>> {
    let report = s.helpdesk.run_escalation(&id.actor).await?;
    Ok(axum::Json(EscalationOut {
        escalated: report.escalated.into_iter().map(i64::from).collect(),
        warned: report.warned.into_iter().map(i64::from).collect(),
        reminded: report.reminded.into_iter().map(i64::from).collect(),
        notifications_queued: report.notifications_queued,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct NotificationParams {
    /// `pending`, `sent` or `failed` (default `failed`).
    #[serde(default, deserialize_with = "empty_as_none")]
    state: Option<NotificationState>,
    /// 1-based page number.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(minimum = 1)]
    page: Option<u32>,
    /// Results per page, 1 to 100 (default 20).
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(minimum = 1, maximum = 100)]
    page_size: Option<u32>,
}

/// Escalation emails by delivery state, newest first (admins).
#[utoipa::path(get, path = "/notifications", tag = "escalations", security(("bearer" = [])), params(NotificationParams),
    responses(
        (status = 200, description = "A page of notifications.", body = Paginated<NotificationOut>, example = json!({
            "count": 1, "next": null, "previous": null,
            "results": [{"id": 5, "recipient": "boss@example.com", "ticket_id": 42, "state": "failed", "attempts": 10,
                "last_error": "Connection refused (os error 111)", "next_attempt_at": "2026-11-26T11:00:00Z", "sent_at": null}]})),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn list_notifications(
    State(s): State<AppState>,
    Auth(id): Auth,
    Query(p): Query<NotificationParams>,
    links: PageLinks,
) -> ApiResult<axum::Json<Paginated<NotificationOut>>> {
    let page = page_request(p.page, p.page_size)?;
    let state = p.state.unwrap_or(NotificationState::Failed);
    let notifications = s.helpdesk.notifications(&id.actor, state, page).await?;
    Ok(axum::Json(paginate(notifications, &links)?))
}

/// Queues a failed notification for delivery again (admins).
#[utoipa::path(post, path = "/notifications/{id}/retry", tag = "escalations", security(("bearer" = [])), params(("id" = i64, Path, description = "Notification id")),
    responses(
        (status = 204, description = "Queued again."),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn retry_notification(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    s.helpdesk
        .retry_notification(&who.actor, NotificationId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether the service and its store answer.
#[utoipa::path(get, path = "/health", tag = "system",
    responses(
        (status = 200, description = "Healthy.", body = HealthOut),
        (status = 503, response = crate::problem::Unavailable),
    ))]
async fn health(State(s): State<AppState>) -> ApiResult<axum::Json<HealthOut>> {
    match s.helpdesk.health().await {
        Ok(()) => Ok(axum::Json(HealthOut {
            status: "ok".into(),
        })),
        Err(error) => {
            tracing::error!(%error, "health check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the store does not answer",
            ))
        }
    }
}
