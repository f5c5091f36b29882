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
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::{
    AUTHORIZATION, CONTENT_TYPE, ETAG, IF_MATCH, RETRY_AFTER, WWW_AUTHENTICATE,
};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower::util::option_layer;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowMethods, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use helpdesk_core::Helpdesk;

mod auth;
mod docs;
pub mod dto;
mod extract;
pub mod metrics;
mod pagination;
mod problem;
mod routes;

pub use auth::{Auth, Authenticator, BearerAuthenticator, Identity, bearer_token};
#[cfg(feature = "prometheus")]
pub use metrics::Metrics;
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
    network: Arc<Network>,
}

/// What the router may believe of the network in front of it.
#[derive(Debug, Clone)]
struct Network {
    /// Whether a reverse proxy of ours sets `X-Forwarded-For` and `X-Forwarded-Proto`.
    trust_proxy: bool,
    /// `scheme://host[:port]` of absolute links, if configured.
    public_url: Option<String>,
    /// How long a request may take, body and answer included.
    request_timeout: Duration,
}

impl Default for Network {
    fn default() -> Self {
        Self {
            trust_proxy: false,
            public_url: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// How long a request may take by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A setting of [`HelpdeskApi`] that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The public URL is not `http://` or `https://` followed by a host.
    #[error("the public URL must be http:// or https:// and a host, with no query: {0}")]
    PublicUrl(String),
    /// A CORS origin is not `http://` or `https://` followed by a host and maybe a port.
    #[error("a CORS origin must be http:// or https:// and a host, with no path: {0}")]
    CorsOrigin(String),
    /// The metrics recorder could not be installed (another one is, for example).
    #[error("cannot install the metrics recorder: {0}")]
    Metrics(String),
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
    cors_origins: Vec<HeaderValue>,
}

impl HelpdeskApi {
    /// The API over `helpdesk`, authenticating with [`BearerAuthenticator`].
    pub fn new(helpdesk: Helpdesk) -> Self {
        Self {
            state: AppState {
                helpdesk,
                authenticator: Arc::new(BearerAuthenticator),
                network: Arc::new(Network::default()),
            },
            cors_origins: Vec::new(),
        }
    }

    /// Authenticates requests with `authenticator` instead.
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.state.authenticator = Arc::new(authenticator);
        self
    }

    /// Trusts a reverse proxy in front of the router: the client address is the last entry of
    /// `X-Forwarded-For` (for throttling), and `X-Forwarded-Proto: https` makes page links
    /// `https`. Off by default: then both headers are ignored, since any client can send them.
    pub fn trust_proxy(mut self, trust: bool) -> Self {
        Arc::make_mut(&mut self.state.network).trust_proxy = trust;
        self
    }

    /// The public URL of the router's mount point's host (`https://help.example.com`), used
    /// for absolute `next`/`previous` page links instead of the request's `Host` header.
    pub fn public_url(mut self, url: &str) -> Result<Self, ConfigError> {
        let trimmed = url.trim_end_matches('/');
        let uri: axum::http::Uri = trimmed
            .parse()
            .map_err(|_| ConfigError::PublicUrl(url.to_owned()))?;
        let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
        let plain =
            uri.query().is_none() && uri.authority().is_some_and(|a| !a.as_str().contains('@'));
        if !scheme_ok || !plain {
            return Err(ConfigError::PublicUrl(url.to_owned()));
        }
        Arc::make_mut(&mut self.state.network).public_url = Some(trimmed.to_owned());
        Ok(self)
    }

    /// How long a request may take, reading its body and computing the answer included
    /// (default [`DEFAULT_REQUEST_TIMEOUT`]); a slower one is answered `503` with
    /// `Retry-After`, and its work is dropped.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.state.network).request_timeout = timeout;
        self
    }

    /// Lets pages from these origins (`https://app.example.com`) call the API from a browser
    /// (CORS): any method, the `Authorization`, `Content-Type`, `If-Match` and `X-Request-Id`
    /// request headers, and `ETag`, `Retry-After`, `WWW-Authenticate` and `X-Request-Id`
    /// readable in the answer. No origin by default. Tokens travel in `Authorization`, never
    /// in cookies, so no credentials mode is needed.
    ///
    /// ```
    /// # fn demo(helpdesk: helpdesk_core::Helpdesk) -> Result<(), helpdesk_axum::ConfigError> {
    /// let api = helpdesk_axum::HelpdeskApi::new(helpdesk)
    ///     .cors_origins(["https://app.example.com", "http://localhost:5173"])?;
    /// # Ok(()) }
    /// ```
    pub fn cors_origins<I>(mut self, origins: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.cors_origins = origins
            .into_iter()
            .map(|origin| {
                let origin = origin.as_ref();
                cors_origin(origin).ok_or_else(|| ConfigError::CorsOrigin(origin.to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(self)
    }

    /// The router, with its docs, tracing, request ids and body limit.
    pub fn into_router(self) -> Router {
        let timeout = self.state.network.request_timeout;
        let cors = (!self.cors_origins.is_empty()).then(|| {
            CorsLayer::new()
                .allow_origin(self.cors_origins)
                .allow_methods(AllowMethods::mirror_request())
                .allow_headers([AUTHORIZATION, CONTENT_TYPE, IF_MATCH, REQUEST_ID])
                .expose_headers([ETAG, RETRY_AFTER, WWW_AUTHENTICATE, REQUEST_ID])
                .max_age(Duration::from_secs(3600))
        });
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
            .fallback(|| async { ApiError::not_found("no such endpoint") })
            .layer(axum::middleware::from_fn(metrics::record));
        let lenient = strict
            .clone()
            .fallback(move |request: Request| without_trailing_slash(strict.clone(), request));
        lenient
            .layer(axum::middleware::from_fn(move |request: Request, next: Next| {
                within(timeout, request, next)
            }))
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .layer(CatchPanicLayer::custom(|_| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error; the server log has the details").into_response()
            }))
            .layer(option_layer(cors))
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
            .layer(axum::middleware::map_request(drop_unsafe_request_id))
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
    docs::document_if_match(&mut openapi);
    docs::document_empty_query_values(&mut openapi);
    docs::document_page_items(&mut openapi);
    (router, openapi)
}

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .merge(routes::auth::routes())
        .merge(routes::users::routes())
        .merge(routes::tickets::routes())
        .merge(routes::system::routes())
        .merge(routes::sla::routes())
        .merge(routes::webhooks::routes())
        .merge(docs::documented_routes())
}

/// An origin as browsers send it: `http` or `https`, a host, maybe a port, nothing else.
fn cors_origin(origin: &str) -> Option<HeaderValue> {
    let uri: axum::http::Uri = origin.parse().ok()?;
    let authority = uri.authority()?;
    let plain = matches!(uri.scheme_str(), Some("http" | "https"))
        && !authority.as_str().contains('@')
        && uri
            .path_and_query()
            .is_none_or(|p| p.as_str().is_empty() || p.as_str() == "/")
        && !origin.ends_with('/');
    plain.then(|| HeaderValue::from_str(origin).ok()).flatten()
}

/// Runs the rest of the stack for at most `timeout`.
async fn within(timeout: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(?timeout, "request timed out");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the request took too long; try again shortly",
            )
            .header(axum::http::header::RETRY_AFTER, "1")
            .into_response()
        }
    }
}

/// Removes an `X-Request-Id` that is not a short, plain id, so a client cannot forge log
/// fields through it; the next layer generates one instead.
async fn drop_unsafe_request_id(mut request: Request) -> Request {
    let unsafe_id = request
        .headers()
        .get_all(REQUEST_ID)
        .iter()
        .any(|id| !extract::is_safe_request_id(id.as_bytes()));
    if unsafe_id || request.headers().get_all(REQUEST_ID).iter().count() > 1 {
        request.headers_mut().remove(REQUEST_ID);
    }
    request
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
