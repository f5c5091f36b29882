//! The server answers what its OpenAPI document declares: the cases an OpenAPI-driven fuzzer
//! (schemathesis) found where the two disagreed.

mod common;

use common::api;
use helpdesk_core::Role;
use serde_json::json;

#[tokio::test]
async fn a_deleted_account_is_gone_for_every_operation() {
    let api = api().await;
    let (_, admin) = api.account("admin@example.com", Role::Admin).await;
    let (ada, _) = api.account("ada@example.com", Role::Agent).await;
    let path = format!("/api/users/{}", ada.id);
    api.get(&path, &admin).await.expect(200);
    api.call("DELETE", &path, Some(&admin), None)
        .await
        .expect(204);
    api.get(&path, &admin).await.expect(404);
    api.call(
        "PATCH",
        &path,
        Some(&admin),
        Some(json!({"is_active": true})),
    )
    .await
    .expect(404);
    api.call("DELETE", &path, Some(&admin), None)
        .await
        .expect(404);
    let list = api.get("/api/users/?search=deleted", &admin).await;
    assert_eq!(list.expect(200)["count"], 0, "{:?}", list.body);
}

#[tokio::test]
async fn a_malformed_if_match_is_400_and_a_foreign_tag_412() {
    let api = api().await;
    let (ada, token) = api.account("ada@example.com", Role::User).await;
    let ticket = api.ticket(&ada, "Printer on fire").await;
    let path = format!("/api/tickets/{}", ticket.id);
    let patch = |if_match: &'static str| {
        let request = axum::http::Request::builder()
            .method("PATCH")
            .uri(&path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("if-match", if_match)
            .body(axum::body::Body::from(r#"{"title": "Changed"}"#))
            .unwrap();
        api.send(request)
    };
    for malformed in ["", "null", "1", "\"1\" \"2\""] {
        let r = patch(malformed).await;
        assert_eq!(r.status, 400, "{malformed:?}: {:?}", r.body);
        assert!(r.body["detail"].as_str().unwrap().contains("If-Match"));
    }
    let foreign = patch("\"abc\", W/\"a,b\"").await;
    assert_eq!(foreign.status, 412, "{:?}", foreign.body);
    let unchanged = api.get(&path, &token).await;
    assert_eq!(unchanged.expect(200)["title"], "Printer on fire");
    patch("W/\"x\", \"1\"").await.expect(200);
}
