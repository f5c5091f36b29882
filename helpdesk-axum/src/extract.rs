//! Extractors that answer bad input with a problem instead of axum's plain-text rejections.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{
    ConnectInfo, FromRequest, FromRequestParts, OptionalFromRequestParts, Request,
};
use axum::http::{StatusCode, header, request::Parts};
use helpdesk_core::FieldErrors;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::problem::ApiError;

/// A JSON body: `400` when it is not JSON or not `application/json`, `413` over the body
/// limit, `422` (with the failing field) when it does not fit the expected shape.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Json<T>(pub T);

fn is_json(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(content_type) {
            return Err(ApiError::bad_request(
                "expected a JSON body (Content-Type: application/json)",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    status,
                    format!(
                        "the request body is larger than {} bytes",
                        crate::BODY_LIMIT
                    ),
                )
            } else {
                ApiError::bad_request(rejection.body_text())
            }
        })?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_data() {
                let field = if field == "." { "body" } else { field.as_str() };
                helpdesk_core::Error::Validation(FieldErrors::single(field, inner.to_string()))
                    .into()
            } else {
                ApiError::bad_request(format!("malformed JSON: {inner}"))
            }
        })?;
        deserializer
            .end()
            .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
        Ok(Json(value))
    }
}

/// Query parameters: `400`, naming the parameter, when one does not parse.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Query)
            .map_err(|e| {
                let field = e.path().to_string();
                let field = if field == "." {
                    "query"
                } else {
                    field.as_str()
                };
                ApiError::bad_query(FieldErrors::single(field, e.into_inner().to_string()))
            })
    }
}

/// For optional query parameters: an empty value (`?status=`) means the parameter was not
/// given, as in Django REST framework's filters; anything else must parse.
pub(crate) fn empty_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let value: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// A numeric id from the path; anything else is `404`, as no such resource can exist.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            <axum::extract::Path<String> as FromRequestParts<S>>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::not_found("not found"))?;
        match raw.parse::<i64>() {
            Ok(id) if id > 0 => Ok(Id(id)),
            _ => Err(ApiError::not_found(format!(
                "no resource has the id {raw:?}"
            ))),
        }
    }
}

/// The path the router is mounted under (`/api`): the request's original path minus the path
/// the router saw (`own`), trailing slashes aside; empty at the root.
pub(crate) fn mount_point<'a>(original: &'a str, own: &str) -> &'a str {
    original
        .trim_end_matches('/')
        .strip_suffix(own.trim_end_matches('/'))
        .unwrap_or("")
}

/// The strong `ETag` of a ticket version.
pub(crate) fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// The version named by an `If-Match` header, if one was sent (`*` matches any version). A
/// well-formed value that names none of our tags matches no version, so the request gets
/// `412`; a malformed one (empty, `null`, a tag without quotes) is `400`, as the document's
/// [`IF_MATCH_PATTERN`] says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IfMatch(pub Option<i64>);

/// What an `If-Match` that names none of our tags is compared as: no ticket has version 0.
const NO_VERSION: i64 = 0;

/// `If-Match` as RFC 9110 writes it: `*`, or a list of entity tags, strong or weak, whose
/// opaque part holds visible ASCII other than `"`. Ours are `"<version>"`.
pub(crate) const IF_MATCH_PATTERN: &str = r#"^(\*|(W/)?"[!#-~]*"([ \t]*,[ \t]*(W/)?"[!#-~]*")*)$"#;

impl IfMatch {
    /// The header's value, or `None` when it is not `*` or a list of entity tags.
    fn parse(value: &str) -> Option<Self> {
        if value == "*" {
            return Some(IfMatch(None));
        }
        let mut version = None;
        let mut rest = value;
        loop {
            let tag = rest.strip_prefix("W/").unwrap_or(rest).strip_prefix('"')?;
            let (opaque, after) = tag.split_once('"')?;
            if !opaque
                .bytes()
                .all(|b| b == b'!' || (b'#'..=b'~').contains(&b))
            {
                return None;
            }
            // A list matches if any tag does; ours are strong, but weak ones compare too. Ours
            // are digits only: `"+5"` is someone else's tag, not version 5.
            let ours = !opaque.is_empty() && opaque.bytes().all(|b| b.is_ascii_digit());
            version = version.or_else(|| opaque.parse::<i64>().ok().filter(|_| ours));
            let after = after.trim_start_matches([' ', '\t']);
            if after.is_empty() {
                return Some(IfMatch(Some(version.unwrap_or(NO_VERSION))));
            }
            rest = after.strip_prefix(',')?.trim_start_matches([' ', '\t']);
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(None);
        };
        let parsed = value.to_str().ok().and_then(IfMatch::parse);
        parsed.map(Some).ok_or_else(|| {
            ApiError::bad_request(
                "If-Match must be * or entity tags from earlier responses, such as \"3\"",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{IF_MATCH_PATTERN, IfMatch, is_json};

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }

    #[test]
    fn if_match_values() {
        let version = |v: &str| IfMatch::parse(v).map(|m| m.0);
        assert_eq!(version("*"), Some(None));
        assert_eq!(version("\"3\""), Some(Some(3)));
        assert_eq!(version("W/\"3\""), Some(Some(3)));
        assert_eq!(version("\"x\", \"4\""), Some(Some(4)));
        assert_eq!(
            version("\"abc\""),
            Some(Some(0)),
            "well-formed, names no version"
        );
        assert_eq!(version("\"\""), Some(Some(0)));
        assert_eq!(version("\"+5\""), Some(Some(0)), "not one of ours");
        assert_eq!(
            version("\"a,b\", \"5\""),
            Some(Some(5)),
            "commas within a tag"
        );
        let malformed = [
            "",
            "null",
            "0",
            "3",
            "\"3",
            "\"a b\"",
            "\"3\",",
            "**",
            "\"é\"",
            "W/3",
            "\"1\" \"2\"",
        ];
        for value in malformed {
            assert_eq!(version(value), None, "{value:?}");
        }
        // The pattern the document declares is the grammar the parser reads.
        let pattern = regex::Regex::new(IF_MATCH_PATTERN).unwrap();
        let well_formed = [
            "*",
            "\"3\"",
            "W/\"3\"",
            "\"x\", \"4\"",
            "\"abc\"",
            "\"\"",
            "\"a\",W/\"b\"",
            "\"a,b\"",
        ];
        for value in well_formed.iter().chain(&malformed) {
            assert_eq!(
                pattern.is_match(value),
                version(value).is_some(),
                "{value:?}"
            );
        }
    }
}

/// The client's address, for throttling: the connection's peer (present when the host serves
/// with `into_make_service_with_connect_info::<SocketAddr>()`, as the standalone server does),
/// or behind a trusted proxy ([`HelpdeskApi::trust_proxy`](crate::HelpdeskApi::trust_proxy))
/// the last address of `X-Forwarded-For`, the one our proxy added. `None` when unknown.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub(crate) Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        if !state.network.trust_proxy {
            return Ok(Self(peer));
        }
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|entry| entry.trim().parse::<IpAddr>().ok());
        Ok(Self(forwarded.or(peer)))
    }
}

/// Whether a client's `X-Request-Id` is safe to log and echo: 1 to 64 characters of letters,
/// digits, `-`, `_` and `.`. Anything else is replaced by a generated id.
pub(crate) fn is_safe_request_id(id: &[u8]) -> bool {
    (1..=64).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}
