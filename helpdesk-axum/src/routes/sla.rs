//! `/sla`: the service-level policy.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use helpdesk_core::store::StoredPolicy;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;
use crate::auth::Auth;
use crate::dto::SlaPolicyDoc;
use crate::extract::{IfMatch, Json, etag};
use crate::problem::ApiResult;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_sla_policy, replace_sla_policy))
}

/// The policy with its version as `ETag`.
fn with_etag(policy: StoredPolicy) -> impl IntoResponse {
    (
        [(header::ETAG, etag(policy.version))],
        axum::Json(SlaPolicyDoc::from(policy)),
    )
}

/// The service-level policy in force (agents and admins).
///
/// Per priority an update target (staff must act within it; it restarts on every staff
/// action) and an optional resolution target (counted from creation, paused while the ticket
/// waits on the customer or is resolved), each counted always or in business hours.
#[utoipa::path(get, path = "/sla", tag = "sla", security(("bearer" = [])),
    responses(
        (status = 200, description = "The policy.", body = SlaPolicyDoc, headers(("ETag" = String, description = "The policy's version"))),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
    ))]
async fn get_sla_policy(
    State(s): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<impl IntoResponse> {
    Ok(with_etag(s.helpdesk.sla_policy(&who.actor).await?))
}

/// Replaces the service-level policy (admins).
///
/// Every field is checked (`422` names each bad one). The policy is stored for every instance
/// on the database, and the deadlines of every ticket in play are recomputed from their clock
/// starts and pauses before the answer; a ticket now past a deadline escalates at the next
/// sweep. With `If-Match`, only if the policy is still at that version.
#[utoipa::path(put, path = "/sla", tag = "sla", security(("bearer" = [])), request_body = SlaPolicyDoc,
    params(("If-Match" = Option<String>, Header, description = "ETags from earlier responses, e.g. \"3\", or `*`; well-formed tags that name no version of the policy get 412, a malformed value 400")),
    responses(
        (status = 200, description = "The policy now in force.", body = SlaPolicyDoc, headers(("ETag" = String, description = "The policy's version"))),
        (status = 400, response = crate::problem::BadRequest),
        (status = 401, response = crate::problem::Unauthorized),
        (status = 403, response = crate::problem::Forbidden),
        (status = 412, response = crate::problem::PreconditionFailed),
        (status = 413, response = crate::problem::PayloadTooLarge),
        (status = 422, response = crate::problem::Unprocessable),
    ))]
async fn replace_sla_policy(
    State(s): State<AppState>,
    Auth(who): Auth,
    if_match: Option<IfMatch>,
    Json(body): Json<SlaPolicyDoc>,
) -> ApiResult<impl IntoResponse> {
    let version = if_match.and_then(|m| m.0);
    Ok(with_etag(
        s.helpdesk
            .replace_sla_policy(&who.actor, body.into(), version)
            .await?,
    ))
}
