//! Regression tests of attacks visible over HTTP: forged headers, address-based throttling
//! behind a proxy, slow requests, and deleted accounts.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use common::{PASSWORD, api};
use helpdesk_core::{Helpdesk, Role};
use helpdesk_sqlite::SqliteStore;
use serde_json::json;
use tower::ServiceExt;

fn login_request() -> axum::http::request::Builder {
    Request::builder()
        .method("POST")
        .uri("/api/auth/login")
        .header(header::HOST, "helpdesk.test")
        .header(header::CONTENT_TYPE, "application/json")
}

fn login_body(email: &str, password: &str) -> Body {
    Body::from(json!({"email": email, "password": password}).to_string())
}

#[tokio::test]
async fn forged_forwarded_proto_and_host_never_reach_page_links() {
    let api = api().await;
    let (user, token) = api.account("ada@example.com", Role::User).await;
    for i in 0..3 {
        api.ticket(&user, &format!("ticket {i}")).await;
    }
    for (host, proto) in [
        ("helpdesk.test", "javascript:alert(1)//"),
        ("helpdesk.test", "https"),
        ("evil.test/\"><script>", "http"),
    ] {
        let request = Request::builder()
            .uri("/api/tickets?page_size=1")
            .header(header::HOST, host)
            .header("x-forwarded-proto", proto)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let response = api.send(request).await;
        let next = response.expect(200)["next"].as_str().unwrap().to_owned();
        assert!(
            next.starts_with("http://helpdesk.test/api/tickets?")
                || next.starts_with("/api/tickets?"),
            "{next}"
        );
        assert!(
            !next.contains("javascript") && !next.contains("script"),
            "{next}"
        );
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_links_follow_it_and_a_public_url_wins() {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    let helpdesk = Helpdesk::new(store);
    let user = helpdesk
        .register(helpdesk_core::Registration::new("ada@example.com", PASSWORD, "", "").unwrap())
        .await
        .unwrap();
    for i in 0..2 {
        let new = helpdesk_core::NewTicket::new(&format!("t{i}"), "", helpdesk_core::Priority::Low)
            .unwrap();
        helpdesk.create_ticket(&user.actor(), new).await.unwrap();
    }
    let token = helpdesk
        .login("ada@example.com", PASSWORD)
        .await
        .unwrap()
        .token;
    let next = |router: Router| {
        let token = token.as_str().to_owned();
        async move {
            let request = Request::builder()
                .uri("/api/tickets?page_size=1")
                .header(header::HOST, "internal:8000")
                .header("x-forwarded-proto", "https")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            let response = router.oneshot(request).await.unwrap();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            body["next"].as_str().unwrap().to_owned()
        }
    };
    let proxied = helpdesk_axum::HelpdeskApi::new(helpdesk.clone()).trust_proxy(true);
    let router = Router::new().nest("/api", proxied.into_router());
    assert!(
        next(router)
            .await
            .starts_with("https://internal:8000/api/tickets?")
    );
    let public = helpdesk_axum::HelpdeskApi::new(helpdesk.clone())
        .public_url("https://help.example.com/")
        .unwrap();
    let router = Router::new().nest("/api", public.into_router());
    assert!(
        next(router)
            .await
            .starts_with("https://help.example.com/api/tickets?")
    );
    assert!(
        helpdesk_axum::HelpdeskApi::new(helpdesk)
            .public_url("javascript:alert(1)")
            .is_err()
    );
}

#[tokio::test]
async fn request_ids_are_short_plain_ids_or_replaced() {
    let api = api().await;
    for (sent, kept) in [
        ("abc-123_X.9", true),
        ("a b=\"forged\" level=error", false),
        (&*"x".repeat(65), false),
    ] {
        let request = Request::builder()
            .uri("/api/health")
            .header("x-request-id", sent)
            .body(Body::empty())
            .unwrap();
        let response = api.send(request).await;
        let echoed = response.header("x-request-id").unwrap();
        assert_eq!(echoed == sent, kept, "{sent} -> {echoed}");
        assert!(echoed.len() <= 64, "{echoed}");
    }
}

#[tokio::test]
async fn the_throttle_counts_the_client_address_from_the_connection() {
    let api = api().await;
    api.account("ada@example.com", Role::Admin).await;
    let from = |ip: [u8; 4], password: &str| {
        let mut request = login_request()
            .body(login_body("ada@example.com", password))
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
        request
    };
    for _ in 0..5 {
        api.send(from([198, 51, 100, 9], "wrong password"))
            .await
            .expect(401);
    }
    let locked = api.send(from([198, 51, 100, 9], PASSWORD)).await;
    locked.expect(429);
    assert!(locked.header("retry-after").is_some());
    // The owner, elsewhere, still gets in.
    api.send(from([192, 0, 2, 1], PASSWORD)).await.expect(200);
    // X-Forwarded-For is not believed without a trusted proxy.
    let mut spoofed = from([198, 51, 100, 9], PASSWORD);
    spoofed
        .headers_mut()
        .insert("x-forwarded-for", "192.0.2.77".parse().unwrap());
    api.send(spoofed).await.expect(429);
}

#[tokio::test]
async fn a_huge_login_email_is_a_validation_error() {
    let api = api().await;
    let email = format!("{}@example.com", "a".repeat(1 << 19));
    let request = login_request().body(login_body(&email, "x")).unwrap();
    let response = api.send(request).await;
    let body = response.expect(422);
    assert!(body["errors"]["email"].is_array(), "{body}");
}

#[tokio::test]
async fn a_request_over_its_time_limit_is_503_with_retry_after() {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    let api = helpdesk_axum::HelpdeskApi::new(Helpdesk::new(store))
        .request_timeout(Duration::from_millis(1));
    let router = Router::new().nest("/api", api.into_router());
    // A login hashes a password: far longer than a millisecond.
    let request = login_request()
        .body(login_body("ada@example.com", PASSWORD))
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn a_deleted_account_is_gone_for_admins_too() {
    let api = api().await;
    let (_, boss) = api.account("boss@example.com", Role::Admin).await;
    let (ada, ada_token) = api.account("ada@example.com", Role::User).await;
    api.call("DELETE", "/api/auth/me", Some(&ada_token), None)
        .await
        .expect(204);
    api.get(&format!("/api/users/{}", ada.id), &boss)
        .await
        .expect(404);
}
