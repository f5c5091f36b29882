//! Page-number pagination with `next` and `previous` links, as DRF renders them.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::uri::Authority;
use axum::http::{HeaderName, header, request::Parts};
use helpdesk_core::{Page, PageRequest, query::PAGE_SIZE_DEFAULT};

use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::dto::Paginated;
use crate::extract::empty_as_none;
use crate::problem::{ApiError, ApiResult};

/// `?page=&page_size=` of a list that takes nothing else.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageParams {
    /// 1-based page number.
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(minimum = 1)]
    pub(crate) page: Option<u32>,
    /// Results per page, 1 to 100 (default 20).
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(minimum = 1, maximum = 100)]
    pub(crate) page_size: Option<u32>,
}

/// The requested page, `400` for a zero page or a size outside 1..=100.
pub(crate) fn page_request(page: Option<u32>, page_size: Option<u32>) -> ApiResult<PageRequest> {
    PageRequest::new(page.unwrap_or(1), page_size.unwrap_or(PAGE_SIZE_DEFAULT))
        .map_err(ApiError::bad_query)
}

/// The start of absolute page links (`https://help.example.com`), from what the client sent
/// as safely as it can be: the configured public URL if there is one; otherwise the `Host`
/// header if it is a valid host, with `X-Forwarded-Proto` only behind a trusted proxy and only
/// `http` or `https`. Without a usable host, links are relative (path and query).
#[derive(Debug, Clone)]
pub(crate) struct PageLinks {
    origin: String,
    path: String,
    query: String,
}

impl FromRequestParts<AppState> for PageLinks {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(&parts.uri, |original| &original.0);
        let header = |name: HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let origin = match (&state.network.public_url, header(header::HOST)) {
            (Some(public), _) => public.clone(),
            (None, Some(host))
                if host
                    .parse::<Authority>()
                    .is_ok_and(|a| a.as_str() == host && !host.contains('@')) =>
            {
                let forwarded = header(HeaderName::from_static("x-forwarded-proto"))
                    .filter(|_| state.network.trust_proxy);
                let scheme = match forwarded {
                    Some("https") => "https",
                    _ => "http",
                };
                format!("{scheme}://{host}")
            }
            (None, _) => String::new(),
        };
        Ok(Self {
            origin,
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or("").to_owned(),
        })
    }
}

impl PageLinks {
    /// The link to another page of the same request: same path and query, another `page`.
    fn to(&self, page: u32) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in form_urlencoded::parse(self.query.as_bytes()) {
            if key != "page" {
                query.append_pair(&key, &value);
            }
        }
        query.append_pair("page", &page.to_string());
        format!("{}{}?{}", self.origin, self.path, query.finish())
    }
}

/// Renders a page; `404` past the last page, as DRF does.
pub(crate) fn paginate<T, U: From<T>>(page: Page<T>, links: &PageLinks) -> ApiResult<Paginated<U>> {
    if page.is_out_of_range() {
        return Err(ApiError::not_found("invalid page: past the last page"));
    }
    let current = page.request.page();
    Ok(Paginated {
        count: page.count,
        next: page.has_next().then(|| links.to(current + 1)),
        previous: page.has_previous().then(|| links.to(current - 1)),
        results: page.items.into_iter().map(U::from).collect(),
    })
}
