//! Webhook subscriptions and their deliveries (admins).

use axum::extract::State;
use axum::http::StatusCode;
use helpdesk_core::webhooks::{DeliveryState, NewWebhook, WebhookPatch};
use helpdesk_core::{DeliveryId, WebhookId};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::auth::Auth;
use crate::dto::{
    DeliveryOut, Paginated, SecretOut, WebhookCreatedOut, WebhookIn, WebhookOut, WebhookPatchIn,
};
use crate::extract::{Id, Json, Query, empty_as_none};
use crate::pagination::{PageLinks, PageParams, page_request, paginate};
use crate::problem::ApiResult;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(ping))
        .routes(routes!(list_deliveries))
        .routes(routes!(redeliver))
}

/// Subscribes a URL to events (admins).
///
/// The answer holds the signing secret, shown only here and on rotation. The URL must be
/// `https` and resolve to public addresses only, unless the operator allows private targets.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", security(("bearer" = [])), request_body = WebhookIn,
    responses(
        (status = 201, description = "Subscribed.", body = WebhookCreatedOut),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 409, response = crate::problem::Conflict),
        (status = 413, response = crate::problem::PayloadTooLarge),
        (status = 422, response = crate::problem::Unprocessable),
    ))]
async fn create_webhook(
    State(s): State<AppState>,
    Auth(who): Auth,
    Json(body): Json<WebhookIn>,
) -> ApiResult<(StatusCode, axum::Json<WebhookCreatedOut>)> {
    let new = NewWebhook::new(
        &body.url,
        &body.events,
        body.description.as_deref().unwrap_or_default(),
    )?;
    let (webhook, secret) = s.helpdesk.create_webhook(&who.actor, new).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(WebhookCreatedOut {
            webhook: webhook.into(),
            secret: secret.as_str().to_owned(),
        }),
    ))
}

/// Every subscription, oldest first (admins).
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", security(("bearer" = [])), params(PageParams),
    responses(
        (status = 200, description = "A page of subscriptions.", body = Paginated<WebhookOut>, example = json!({
            "count": 1, "next": null, "previous": null,
            "results": [{"id": 3, "url": "https://hooks.example.com/helpdesk", "description": "CRM sync",
                "events": ["*"], "active": true, "disabled_reason": null,
                "created_at": "2026-11-27T09:00:00Z", "updated_at": "2026-11-27T09:00:00Z"}]})),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn list_webhooks(
    State(s): State<AppState>,
    Auth(who): Auth,
    Query(p): Query<PageParams>,
    links: PageLinks,
) -> ApiResult<axum::Json<Paginated<WebhookOut>>> {
    let page = page_request(p.page, p.page_size)?;
    let webhooks = s.helpdesk.webhooks(&who.actor, page).await?;
    Ok(axum::Json(paginate(webhooks, &links)?))
}

/// One subscription (admins).
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "The subscription.", body = WebhookOut),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn get_webhook(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> ApiResult<axum::Json<WebhookOut>> {
    let webhook = s.helpdesk.webhook(&who.actor, WebhookId(id)).await?;
    Ok(axum::Json(webhook.into()))
}

/// Changes a subscription (admins).
///
/// `"active": true` switches a subscription disabled by a `410 Gone` back on.
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path, description = "Webhook id")), request_body = WebhookPatchIn,
    responses(
        (status = 200, description = "The changed subscription.", body = WebhookOut),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
        (status = 413, response = crate::problem::PayloadTooLarge),
        (status = 422, response = crate::problem::Unprocessable),
    ))]
async fn update_webhook(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    Json(body): Json<WebhookPatchIn>,
) -> ApiResult<axum::Json<WebhookOut>> {
    let patch = WebhookPatch::new(
        body.url.as_deref(),
        body.events.as_deref(),
        body.description.as_deref(),
        body.active,
    )?;
    let webhook = s
        .helpdesk
        .update_webhook(&who.actor, WebhookId(id), patch)
        .await?;
    Ok(axum::Json(webhook.into()))
}

/// Deletes a subscription and its deliveries (admins).
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path, description = "Webhook id")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn delete_webhook(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    s.helpdesk.delete_webhook(&who.actor, WebhookId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives a subscription a new signing secret (admins).
///
/// The previous secret keeps signing beside the new one for 24 hours (`webhook-signature`
/// then holds two signatures), so a receiver can switch without rejecting events.
#[utoipa::path(post, path = "/webhooks/{id}/rotate-secret", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "The new secret.", body = SecretOut),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn rotate_secret(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> ApiResult<axum::Json<SecretOut>> {
    let secret = s
        .helpdesk
        .rotate_webhook_secret(&who.actor, WebhookId(id))
        .await?;
    Ok(axum::Json(SecretOut {
        secret: secret.as_str().to_owned(),
    }))
}

/// Queues a `webhook.ping` event for the subscription (admins).
#[utoipa::path(post, path = "/webhooks/{id}/ping", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path, description = "Webhook id")),
    responses(
        (status = 202, description = "Queued; its delivery.", body = DeliveryOut),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn ping(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> ApiResult<(StatusCode, axum::Json<DeliveryOut>)> {
    let delivery = s.helpdesk.ping_webhook(&who.actor, WebhookId(id)).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(delivery.into())))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DeliveryParams {
    /// `pending`, `sent` or `failed` (default: all).
    #[serde(default, deserialize_with = "empty_as_none")]
    state: Option<DeliveryState>,
    /// 1-based page number.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(minimum = 1)]
    page: Option<u32>,
    /// Results per page, 1 to 100 (default 20).
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(minimum = 1, maximum = 100)]
    page_size: Option<u32>,
}

/// A subscription's deliveries, newest first (admins).
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path, description = "Webhook id"), DeliveryParams),
    responses(
        (status = 200, description = "A page of deliveries.", body = Paginated<DeliveryOut>, example = json!({
            "count": 1, "next": null, "previous": null,
            "results": [{"id": 17, "webhook_id": 3, "event_id": "msg_412", "event_type": "ticket.created",
                "state": "failed", "attempts": 31, "last_status": 500, "last_error": "the receiver answered 500",
                "next_attempt_at": null, "created_at": "2026-11-26T09:00:00Z", "delivered_at": null}]})),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn list_deliveries(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
    Query(p): Query<DeliveryParams>,
    links: PageLinks,
) -> ApiResult<axum::Json<Paginated<DeliveryOut>>> {
    let page = page_request(p.page, p.page_size)?;
    let deliveries = s
        .helpdesk
        .webhook_deliveries(&who.actor, WebhookId(id), p.state, page)
        .await?;
    Ok(axum::Json(paginate(deliveries, &links)?))
}

/// Sends a delivery again, with a fresh day of retries (admins).
#[utoipa::path(post, path = "/webhooks/deliveries/{id}/redeliver", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path, description = "Delivery id")),
    responses(
        (status = 202, description = "Queued again; the delivery.", body = DeliveryOut),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 404, response = crate::problem::NotFound),
    ))]
async fn redeliver(
    State(s): State<AppState>,
    Auth(who): Auth,
    Id(id): Id,
) -> ApiResult<(StatusCode, axum::Json<DeliveryOut>)> {
    let delivery = s.helpdesk.redeliver(&who.actor, DeliveryId(id)).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(delivery.into())))
}
