//! Cross-origin calls from browser pages (CORS), as `HelpdeskApi::cors_origins` allows them.

mod common;

use common::api;
use helpdesk_core::Role;

/// CORS: browser pages from configured origins may call the API and read its headers; other
/// origins get no permission.
#[tokio::test]
async fn configured_origins_may_call_from_a_browser() {
    use axum::body::Body;
    use axum::http::Request;

    let base = api().await;
    // Without configured origins, no answer carries a CORS permission.
    let plain = Request::builder()
        .uri("/api/health")
        .header("origin", "https://app.example.com")
        .body(Body::empty())
        .unwrap();
    let plain = base.send(plain).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("access-control-allow-origin"), None);
    assert!(matches!(
        helpdesk_axum::HelpdeskApi::new(base.helpdesk.clone())
            .cors_origins(["https://app.example.com/"]),
        Err(helpdesk_axum::ConfigError::CorsOrigin(_))
    ));
    let router = axum::Router::new().nest(
        "/api",
        helpdesk_axum::HelpdeskApi::new(base.helpdesk.clone())
            .cors_origins(["https://app.example.com"])
            .unwrap()
            .into_router(),
    );
    let api = common::Api { router, ..base };
    let (_, token) = api.account("ada@example.com", Role::User).await;
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/api/tickets/1")
            .header("origin", origin)
            .header("access-control-request-method", "PATCH")
            .header(
                "access-control-request-headers",
                "authorization, if-match, content-type",
            )
            .body(Body::empty())
            .unwrap()
    };
    let allowed = api.send(preflight("https://app.example.com")).await;
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let methods = allowed
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(methods.contains("PATCH"), "{methods}");
    let headers = allowed
        .header("access-control-allow-headers")
        .unwrap_or_default();
    assert!(
        headers.contains("if-match") && headers.contains("authorization"),
        "{headers}"
    );
    let other = api.send(preflight("https://evil.example.com")).await;
    assert_eq!(other.header("access-control-allow-origin"), None);

    let request = Request::builder()
        .uri("/api/auth/me")
        .header("origin", "https://app.example.com")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let me = api.send(request).await;
    assert_eq!(me.status, 200);
    assert_eq!(
        me.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let exposed = me
        .header("access-control-expose-headers")
        .unwrap_or_default();
    for name in ["etag", "retry-after", "www-authenticate"] {
        assert!(exposed.contains(name), "{exposed}");
    }
}
