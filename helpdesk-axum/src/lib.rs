//! # helpdesk-axum
//!
//! The helpdesk's REST API as an axum [`Router`] that a host nests under any prefix, with its
//! OpenAPI 3.1 document generated from the same handlers (utoipa), Swagger UI bundled into the
//! binary, and ReDoc.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use helpdesk_core::Helpdesk;
//! use helpdesk_sqlite::SqliteStore;
//!
//! let helpdesk = Helpdesk::new(SqliteStore::connect("sqlite://helpdesk.db").await?);
//! let app = axum::Router::new().nest("/support", helpdesk_axum::router(helpdesk));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! Every path is served with and without a trailing slash. Errors are
//! `application/problem+json`. See `docs/api.md` in the repository, or the served `/schema`, for the contract.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use helpdesk_core::Helpdesk;

mod auth;
mod docs;
pub mod dto;
mod extract;
mod pagination;
mod problem;
mod routes;

pub use auth::{Auth, Authenticator, BearerAuthenticator, Identity, bearer_token};
pub use problem::{ApiError, Problem};

/// The largest request body accepted (1 MiB).
pub const BODY_LIMIT: usize = 1 << 20;

/// The header that carries the request id (set when the client sends none, echoed back).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    helpdesk: Helpdesk,
    authenticator: Arc<dyn Authenticator>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("helpdesk", &self.helpdesk)
            .finish_non_exhaustive()
    }
}

/// The API over `helpdesk` with bearer-token authentication.
pub fn router(helpdesk: Helpdesk) -> Router {
    HelpdeskApi::new(helpdesk).into_router()
}

/// Builds the API router; use it to plug in a custom [`Authenticator`].
#[derive(Debug)]
pub struct HelpdeskApi {
    state: AppState,
}

impl HelpdeskApi {
    /// The API over `helpdesk`, authenticating with [`BearerAuthenticator`].
    pub fn new(helpdesk: Helpdesk) -> Self {
        Self {
            state: AppState {
                helpdesk,
                authenticator: Arc::new(BearerAuthenticator),
            },
        }
    }

    /// Authenticates requests with `authenticator` instead.
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.state.authenticator = Arc::new(authenticator);
        self
    }

    /// The router, with its docs, tracing, request ids and body limit.
    pub fn into_router(self) -> Router {
        let (api, openapi) = split(api_routes());
        let strict = api
            .merge(docs::asset_routes())
            .layer(axum::Extension(Arc::new(openapi)))
            .with_state(self.state)
            .method_not_allowed_fallback(|| async {
                ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "this method is not allowed on this path",
                )
            })
            .fallback(|| async { ApiError::not_found("no such endpoint") });
        let lenient = strict
            .clone()
            .fallback(move |request: Request| without_trailing_slash(strict.clone(), request));
        lenient
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .layer(CatchPanicLayer::custom(|_| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error; the server log has the details").into_response()
            }))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|request: &Request| {
                        let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                        tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
                    })
                    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO).latency_unit(LatencyUnit::Micros)),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
    }
}

/// The OpenAPI document of the API (without a `servers` entry: `/schema` adds the prefix the
/// router is mounted under).
pub fn openapi() -> utoipa::openapi::OpenApi {
    split(api_routes()).1
}

/// The router and its finished OpenAPI document.
fn split(routes: OpenApiRouter<AppState>) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = routes.split_for_parts();
    docs::document_unavailable(&mut openapi);
    (router, openapi)
}

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .merge(routes::auth::routes())
        .merge(routes::users::routes())
        .merge(routes::tickets::routes())
        .merge(routes::system::routes())
        .merge(docs::documented_routes())
}

/// Serves `/path/` as `/path` when only the latter exists (Django clients use trailing slashes).
async fn without_trailing_slash(strict: Router, mut request: Request) -> Response {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let path_and_query = match request.uri().query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_owned(),
        };
        if let Ok(uri) = path_and_query.parse() {
            *request.uri_mut() = uri;
        }
    }
    match strict.oneshot(request).await {
        Ok(response) => response,
        Err(infallible) => match infallible {},
    }
}
