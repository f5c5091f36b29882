//! The OpenAPI document, Swagger UI (bundled into the binary) and ReDoc.

use std::sync::Arc;

use axum::extract::{OriginalUri, Path};
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ArrayItems, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr, Required, Server};
use utoipa_axum::{router::OpenApiRouter, routes};
use utoipa_swagger_ui::Config;

use crate::AppState;
use crate::extract::{IF_MATCH_PATTERN, mount_point};
use crate::problem::{ApiError, Problem};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Helpdesk API",
        description = "Support tickets with roles, comments, history, escalation with email alerts and reports.\n\n\
            Sign in with `POST /auth/login` and send the token as `Authorization: Bearer <token>`. \
            Errors are `application/problem+json` (RFC 9457). Every path also answers with a trailing slash. \
            A query parameter sent empty (`?status=`) is the same as one left out.",
        license(name = "MIT OR Apache-2.0"),
    ),
    modifiers(&Components),
    tags(
        (name = "auth", description = "Sign-up, sessions and one's own account"),
        (name = "users", description = "Accounts (agents read, admins write)"),
        (name = "tickets", description = "Tickets, comments and history"),
        (name = "reports", description = "Counts over the last 7 days"),
        (name = "escalations", description = "Escalation sweeps and their email notifications"),
        (name = "webhooks", description = "Signed event deliveries to other systems (admins)"),
        (name = "system", description = "Health"),
        (name = "documentation", description = "This document and its viewers"),
    ),
)]
pub(crate) struct ApiDoc;

/// Bearer security, the problem schema and the reusable error responses.
struct Components;

impl Modify for Components {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A token from POST /auth/login"))
                    .build(),
            ),
        );
        let (name, schema) = (
            <Problem as utoipa::ToSchema>::name(),
            <Problem as utoipa::PartialSchema>::schema(),
        );
        components.schemas.insert(name.into_owned(), schema);
        for (name, response) in crate::problem::all_error_responses() {
            components.responses.insert(name.to_owned(), response);
        }
    }
}

/// Every operation of the document, with its path.
fn operations(openapi: &mut OpenApi) -> impl Iterator<Item = (&str, &mut Operation)> {
    openapi.paths.paths.iter_mut().flat_map(|(path, item)| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        .map(move |operation| (path.as_str(), operation))
    })
}

/// Adds `503` to every operation that reaches the store (all but the documentation itself):
/// any of them answers it while the store is overloaded or unreachable.
pub(crate) fn document_unavailable(openapi: &mut OpenApi) {
    let unavailable = utoipa::openapi::Ref::new("#/components/responses/Unavailable");
    for (path, operation) in operations(openapi) {
        if path.starts_with("/schema") || path.starts_with("/docs") {
            continue;
        }
        operation
            .responses
            .responses
            .entry("503".into())
            .or_insert_with(|| unavailable.clone().into());
    }
}

/// Makes each page schema (`Paginated_TicketOut`, ...) refer to its item's schema
/// (`TicketOut`) instead of repeating it, so client generators make one type per resource.
pub(crate) fn document_page_items(openapi: &mut OpenApi) {
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    let names: Vec<String> = components.schemas.keys().cloned().collect();
    for name in names {
        let Some(item) = name.strip_prefix("Paginated_") else {
            continue;
        };
        if !components.schemas.contains_key(item) {
            continue;
        }
        let reference = RefOr::Ref(utoipa::openapi::Ref::from_schema_name(item));
        if let Some(RefOr::T(Schema::Object(page))) = components.schemas.get_mut(&name)
            && let Some(RefOr::T(Schema::Array(results))) = page.properties.get_mut("results")
        {
            results.items = ArrayItems::RefOrSchema(Box::new(reference));
        }
    }
}

/// Gives every `If-Match` parameter the grammar the server reads ([`IF_MATCH_PATTERN`]).
pub(crate) fn document_if_match(openapi: &mut OpenApi) {
    for (_, operation) in operations(openapi) {
        let parameters = operation.parameters.iter_mut().flatten();
        for parameter in parameters.filter_map(|p| match p {
            RefOr::T(parameter) if parameter.name == "If-Match" => Some(parameter),
            _ => None,
        }) {
            let schema = ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(IF_MATCH_PATTERN));
            parameter.schema = Some(schema.into());
        }
    }
}

/// Marks every optional query parameter `allowEmptyValue`: the server reads `?status=` as no
/// filter, like a parameter left out, and the document says so without widening each schema
/// (which would give generated clients a string-or-enum type). utoipa has no field for the
/// keyword any more, so it goes in as an extension key.
pub(crate) fn document_empty_query_values(openapi: &mut OpenApi) {
    for (_, operation) in operations(openapi) {
        for parameter in operation.parameters.iter_mut().flatten() {
            if let RefOr::T(parameter) = parameter
                && parameter.parameter_in == ParameterIn::Query
                && parameter.required == Required::False
            {
                let extensions = parameter.extensions.get_or_insert_with(Default::default);
                extensions.insert("allowEmptyValue".into(), true.into());
            }
        }
    }
}

/// The operations that serve the documentation themselves.
pub(crate) fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(schema))
        .routes(routes!(swagger_index))
        .routes(routes!(docs_index))
        .routes(routes!(redoc))
}

/// Swagger UI's files and the redirects to the pages' canonical (trailing-slash) paths.
pub(crate) fn asset_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/schema/swagger",
            get(|| async { Redirect::permanent("swagger/") }),
        )
        .route("/schema/swagger/{*file}", get(swagger_file))
        .route("/docs", get(|| async { Redirect::permanent("docs/") }))
        .route("/docs/{*file}", get(swagger_file))
        .route(
            "/schema/redoc",
            get(|| async { Redirect::permanent("redoc/") }),
        )
        .route("/schema/redoc/{file}", get(redoc_file))
}

/// The prefix the router is mounted under ([`mount_point`]).
fn prefix(original: &OriginalUri, uri: &Uri) -> String {
    mount_point(original.path(), uri.path()).to_owned()
}

/// The document as served under `prefix`.
fn document(openapi: &OpenApi, prefix: &str) -> OpenApi {
    let mut openapi = openapi.clone();
    if !prefix.is_empty() {
        openapi.servers = Some(vec![Server::new(prefix)]);
    }
    openapi
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/schema", tag = "documentation",
    responses((status = 200, description = "The OpenAPI 3.1 document (JSON).", content_type = "application/json",
        example = json!({"openapi": "3.1.0", "info": {"title": "Helpdesk API", "version": "0.1.0"}, "paths": {}}))))]
async fn schema(
    Extension(openapi): Extension<Arc<OpenApi>>,
    original: OriginalUri,
    uri: Uri,
) -> Response {
    let doc = document(&openapi, &prefix(&original, &uri));
    match doc.to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(error) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
        }
    }
}

fn swagger(file: &str, original: &OriginalUri, uri: &Uri) -> Response {
    // No validator: Swagger UI would send the document to swagger.io's.
    let config = Config::new([format!("{}/schema", prefix(original, uri))]).validator_url("none");
    let config = Arc::new(config);
    match utoipa_swagger_ui::serve(file, config) {
        Ok(Some(found)) => {
            let page = found.content_type.starts_with("text/html");
            let mut response = (
                [(header::CONTENT_TYPE, found.content_type)],
                found.bytes.into_owned(),
            )
                .into_response();
            if page {
                response.headers_mut().insert(
                    header::CONTENT_SECURITY_POLICY,
                    header::HeaderValue::from_static(DOCS_CSP),
                );
            }
            if found.gzpipped {
                response.headers_mut().insert(
                    header::CONTENT_ENCODING,
                    header::HeaderValue::from_static("gzip"),
                );
            }
            response
        }
        Ok(None) => ApiError::not_found("no such file").into_response(),
        Err(error) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
        }
    }
}

async fn swagger_file(Path(file): Path<String>, original: OriginalUri, uri: Uri) -> Response {
    swagger(&file, &original, &uri)
}

/// Swagger UI, served from the binary (works offline).
#[utoipa::path(get, path = "/schema/swagger/", tag = "documentation",
    responses((status = 200, description = "Swagger UI (HTML).", content_type = "text/html", example = json!("<!DOCTYPE html>..."))))]
async fn swagger_index(original: OriginalUri, uri: Uri) -> Response {
    swagger("", &original, &uri)
}

/// Swagger UI again, at the address the original project used.
#[utoipa::path(get, path = "/docs/", tag = "documentation",
    responses((status = 200, description = "Swagger UI (HTML).", content_type = "text/html", example = json!("<!DOCTYPE html>..."))))]
async fn docs_index(original: OriginalUri, uri: Uri) -> Response {
    swagger("", &original, &uri)
}

/// What the documentation pages may load: everything from this server, nothing from another
/// origin, so they work offline and a page never calls out (ReDoc's menu shows a logo from
/// its makers' CDN, which this blocks). Inline styles and `blob:` workers are the viewers'.
const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
     worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'self'";

/// ReDoc, served from the binary (works offline).
#[utoipa::path(get, path = "/schema/redoc/", tag = "documentation",
    responses((status = 200, description = "ReDoc (HTML).", content_type = "text/html", example = json!("<!DOCTYPE html>..."))))]
async fn redoc(original: OriginalUri, uri: Uri) -> Response {
    let schema = format!("{}/schema", prefix(&original, &uri));
    let page = REDOC_PAGE.replace("$schema", &schema);
    ([(header::CONTENT_SECURITY_POLICY, DOCS_CSP)], Html(page)).into_response()
}

/// ReDoc's page: the bundle and its start from beside it, the document from `$schema` (a path
/// on this server, written by [`redoc`]).
const REDOC_PAGE: &str = r#"<!DOCTYPE html>
<html>
  <head>
    <title>Helpdesk API - ReDoc</title>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <div id="redoc" data-schema="$schema"></div>
    <script src="redoc.standalone.js"></script>
    <script src="redoc-init.js"></script>
  </body>
</html>
"#;

/// Starts ReDoc on the document the page names (a file, as the page's policy runs no inline
/// script).
const REDOC_INIT: &str = "const element = document.getElementById('redoc');\n\
     Redoc.init(element.dataset.schema, {}, element);\n";

/// The ReDoc bundle (the npm package `redoc` 2.5.4, vendored with its licence and checksum in
/// `assets/redoc`), and the script that starts it.
async fn redoc_file(Path(file): Path<String>) -> Response {
    let body: &'static [u8] = match file.as_str() {
        "redoc.standalone.js" => include_bytes!("../assets/redoc/redoc.standalone.js"),
        "redoc-init.js" => REDOC_INIT.as_bytes(),
        _ => return ApiError::not_found("no such file").into_response(),
    };
    let headers = [
        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (header::CACHE_CONTROL, "public, max-age=86400"),
    ];
    (headers, body).into_response()
}
