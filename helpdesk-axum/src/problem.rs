//! The one mapping from errors to `application/problem+json` responses (RFC 9457).

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use helpdesk_core::{Error, FieldErrors};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::response::{Response as OpenApiResponse, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, RefOr};

/// A problem details document (RFC 9457).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "about:blank", "title": "Validation failed", "status": 422,
    "detail": "title: must not be empty",
    "errors": {"title": ["must not be empty"]}
}))]
pub struct Problem {
    /// Always `about:blank`: the status code says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// Validation messages by field (422 and 400 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::BTreeMap<String, Vec<String>>>)]
    pub errors: Option<FieldErrors>,
}

/// An error on its way to becoming a problem response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
    errors: Option<FieldErrors>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// A problem with this status and detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            errors: None,
            headers: Vec::new(),
        }
    }

    /// A 400 for bad query parameters, headers or a malformed body.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// A 400 with field errors (bad query values).
    pub fn bad_query(errors: FieldErrors) -> Self {
        Self {
            errors: Some(errors.clone()),
            ..Self::bad_request(errors.to_string())
        }
    }

    /// A 401 with `challenge` as `WWW-Authenticate`, if any.
    pub fn unauthenticated(challenge: Option<&str>) -> Self {
        let detail = match challenge {
            Some("Bearer") => "authentication required: send a valid bearer token",
            _ => "authentication required",
        };
        let error = Self::new(StatusCode::UNAUTHORIZED, detail);
        match challenge {
            Some(challenge) => error.header(header::WWW_AUTHENTICATE, challenge),
            None => error,
        }
    }

    /// A 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    pub(crate) fn header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }
}

fn title(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNPROCESSABLE_ENTITY => "Validation failed",
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
        StatusCode::PRECONDITION_FAILED => "Precondition failed",
        s => s.canonical_reason().unwrap_or("Error"),
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound => Self::not_found("not found"),
            Error::Forbidden(detail) => Self::new(StatusCode::FORBIDDEN, detail),
            Error::Unauthenticated => Self::unauthenticated(Some("Bearer")),
            Error::Validation(errors) => Self {
                errors: Some(errors.clone()),
                ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, errors.to_string())
            },
            Error::Conflict(detail) => Self::new(StatusCode::CONFLICT, detail),
            Error::PreconditionFailed { current } => {
                Self::new(StatusCode::PRECONDITION_FAILED, error.to_string())
                    .header(header::ETAG, &crate::extract::etag(current))
            }
            Error::RateLimited { retry_after } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, error.to_string()).header(
                    header::RETRY_AFTER,
                    &retry_after.as_secs().max(1).to_string(),
                )
            }
            Error::Overloaded { retry_after } => {
                tracing::warn!(%error, "overloaded");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the service is busy; try again shortly",
                )
                .header(
                    header::RETRY_AFTER,
                    &retry_after.as_secs().max(1).to_string(),
                )
            }
            Error::Unavailable(_) => {
                tracing::warn!(%error, "store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the service is busy or its store is unreachable; try again shortly",
                )
                .header(header::RETRY_AFTER, "1")
            }
            other => {
                tracing::error!(error = %other, "request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; the server log has the details",
                )
            }
        }
    }
}

impl From<FieldErrors> for ApiError {
    /// Body validation failures: `422`.
    fn from(errors: FieldErrors) -> Self {
        Error::Validation(errors).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            kind: "about:blank",
            title: title(self.status).to_owned(),
            status: self.status.as_u16(),
            detail: self.detail,
            errors: self.errors,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        response.headers_mut().extend(self.headers);
        response
    }
}

/// The result of a handler.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Reusable OpenAPI responses for the error statuses, referenced from every operation.
macro_rules! error_responses {
    ($($name:ident => $status:literal, $description:literal, $detail:literal;)+) => {
        $(
            #[doc = $description]
            pub(crate) struct $name;

            impl<'r> utoipa::ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<OpenApiResponse>) {
                    let example = serde_json::json!({
                        "type": "about:blank",
                        "title": title(StatusCode::from_u16($status).unwrap_or(StatusCode::BAD_REQUEST)),
                        "status": $status,
                        "detail": $detail,
                    });
                    let content = ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Problem"))))
                        .example(Some(example))
                        .build();
                    let response = ResponseBuilder::new()
                        .description($description)
                        .content("application/problem+json", content)
                        .build();
                    (stringify!($name), response.into())
                }
            }
        )+

        /// Every reusable error response, for the components section.
        pub(crate) fn all_error_responses() -> Vec<(&'static str, RefOr<OpenApiResponse>)> {
            vec![$(<$name as utoipa::ToResponse>::response()),+]
        }
    };
}

error_responses! {
    BadRequest => 400, "Malformed JSON, a body that is not `application/json`, or bad query values.", "expected a JSON body (Content-Type: application/json)";
    Unauthorized => 401, "No valid bearer token; the response carries `WWW-Authenticate: Bearer`.", "authentication required: send a valid bearer token";
    Forbidden => 403, "Signed in, but the role lacks this action.", "only admins may assign tickets";
    NotFound => 404, "Not found, or not visible to the caller.", "not found";
    Conflict => 409, "Conflicts with the current state (email taken, illegal status transition).", "a ticket cannot move from closed to resolved";
    PreconditionFailed => 412, "`If-Match` named a version the ticket is no longer at; the response's `ETag` is the current one.", "the ticket changed: it is now at version 4";
    PayloadTooLarge => 413, "The body is larger than 1 MiB.", "the request body is larger than 1048576 bytes";
    Unprocessable => 422, "Validation failed; `errors` lists the messages by field.", "title: must not be empty";
    TooManyRequests => 429, "Too many attempts (sign-ins, sign-ups, new tickets or comments) within the window; `Retry-After` says when to try again.", "too many attempts; retry in 660 s";
    Unavailable => 503, "The service is busy or its store is unreachable; `Retry-After` says when to try again.", "the service is busy or its store is unreachable; try again shortly";
}
