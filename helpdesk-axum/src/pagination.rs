//! Page-number pagination with absolute `next` and `previous` links, as DRF renders them.

use axum::extract::OriginalUri;
use axum::http::{HeaderMap, HeaderName, header};
use helpdesk_core::{Page, PageRequest, query::PAGE_SIZE_DEFAULT};

use crate::dto::Paginated;
use crate::problem::{ApiError, ApiResult};

/// The requested page, `400` for a zero page or a size outside 1..=100.
pub(crate) fn page_request(page: Option<u32>, page_size: Option<u32>) -> ApiResult<PageRequest> {
    PageRequest::new(page.unwrap_or(1), page_size.unwrap_or(PAGE_SIZE_DEFAULT))
        .map_err(ApiError::bad_query)
}

/// The link to another page of the same request: same scheme, host, path and query, another `page`.
fn link(uri: &OriginalUri, headers: &HeaderMap, page: u32) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        if key != "page" {
            query.append_pair(&key, &value);
        }
    }
    query.append_pair("page", &page.to_string());
    let path_and_query = format!("{}?{}", uri.path(), query.finish());
    let header = |name: HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    match header(header::HOST) {
        Some(host) => {
            let scheme = header(HeaderName::from_static("x-forwarded-proto")).unwrap_or("http");
            format!("{scheme}://{host}{path_and_query}")
        }
        None => path_and_query,
    }
}

/// Renders a page; `404` past the last page, as DRF does.
pub(crate) fn paginate<T, U: From<T>>(
    page: Page<T>,
    uri: &OriginalUri,
    headers: &HeaderMap,
) -> ApiResult<Paginated<U>> {
    if page.is_out_of_range() {
        return Err(ApiError::not_found("invalid page: past the last page"));
    }
    let current = page.request.page();
    Ok(Paginated {
        count: page.count,
        next: page.has_next().then(|| link(uri, headers, current + 1)),
        previous: page.has_previous().then(|| link(uri, headers, current - 1)),
        results: page.items.into_iter().map(U::from).collect(),
    })
}
