//! `/webhooks` through the router: who may call it, what it answers, what it refuses.
#![allow(clippy::unwrap_used)]

mod common;

use common::{api, api_with};
use helpdesk_core::Role;
use helpdesk_core::webhooks::TargetPolicy;
use serde_json::json;

#[tokio::test]
async fn admins_manage_subscriptions_and_their_deliveries() {
    let api = api_with(|b| b.webhook_targets(TargetPolicy::allow_private())).await;
    let (_, admin) = api.account("boss@example.com", Role::Admin).await;
    let (ada, user) = api.account("ada@example.com", Role::User).await;
    let new = json!({"url": "http://127.0.0.1:9/hook", "events": ["ticket.created"], "description": "CRM"});

    // Only admins, and nobody signed out.
    api.call("POST", "/api/webhooks", Some(&user), Some(new.clone()))
        .await
        .expect(403);
    api.call("POST", "/api/webhooks", None, Some(new.clone()))
        .await
        .expect(401);
    api.call("GET", "/api/webhooks", Some(&user), None)
        .await
        .expect(403);

    let created = api
        .call("POST", "/api/webhooks", Some(&admin), Some(new))
        .await;
    let body = created.expect(201).clone();
    let id = body["webhook"]["id"].as_i64().unwrap();
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(body["webhook"]["events"], json!(["ticket.created"]));
    assert_eq!(body["webhook"]["active"], true);

    // The secret is never listed.
    let list = api.get("/api/webhooks", &admin).await;
    assert_eq!(list.expect(200)["count"], 1);
    assert!(!String::from_utf8_lossy(&list.raw).contains(&secret));
    let one = api.get(&format!("/api/webhooks/{id}"), &admin).await;
    assert!(!String::from_utf8_lossy(&one.raw).contains(&secret));

    // A ticket queues one delivery; a ping another.
    api.ticket(&ada, "Printer on fire").await;
    let ping = api
        .call(
            "POST",
            &format!("/api/webhooks/{id}/ping"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(ping.expect(202)["event_type"], "webhook.ping");
    let deliveries = api
        .get(
            &format!("/api/webhooks/{id}/deliveries?state=pending"),
            &admin,
        )
        .await;
    let deliveries = deliveries.expect(200);
    assert_eq!(deliveries["count"], 2);
    assert_eq!(deliveries["results"][1]["event_type"], "ticket.created");
    assert!(
        deliveries["results"][1]["event_id"]
            .as_str()
            .unwrap()
            .starts_with("msg_")
    );
    let delivery = deliveries["results"][0]["id"].as_i64().unwrap();
    let again = api
        .call(
            "POST",
            &format!("/api/webhooks/deliveries/{delivery}/redeliver"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(again.expect(202)["state"], "pending");

    // Rotation gives a new secret; edits and deletion.
    let rotated = api
        .call(
            "POST",
            &format!("/api/webhooks/{id}/rotate-secret"),
            Some(&admin),
            None,
        )
        .await;
    assert_ne!(rotated.expect(200)["secret"], secret.as_str());
    let patched = api
        .call(
            "PATCH",
            &format!("/api/webhooks/{id}"),
            Some(&admin),
            Some(json!({"events": ["*"], "active": false})),
        )
        .await;
    let patched = patched.expect(200);
    assert_eq!(
        (patched["events"].clone(), patched["active"].clone()),
        (json!(["*"]), json!(false))
    );
    api.call("DELETE", &format!("/api/webhooks/{id}"), Some(&admin), None)
        .await
        .expect(204);
    api.get(&format!("/api/webhooks/{id}"), &admin)
        .await
        .expect(404);
    api.call(
        "POST",
        &format!("/api/webhooks/deliveries/{delivery}/redeliver"),
        Some(&admin),
        None,
    )
    .await
    .expect(404);
}

#[tokio::test]
async fn bad_subscriptions_are_refused_with_problems_and_change_nothing() {
    let api = api().await;
    let (_, admin) = api.account("boss@example.com", Role::Admin).await;
    for (body, field) in [
        (
            json!({"url": "http://127.0.0.1:8000/api/users", "events": ["*"]}),
            "url",
        ),
        (
            json!({"url": "https://169.254.169.254/latest/meta-data", "events": ["*"]}),
            "url",
        ),
        (
            json!({"url": "https://localhost/hook", "events": ["*"]}),
            "url",
        ),
        (
            json!({"url": "gopher://example.com", "events": ["*"]}),
            "url",
        ),
        (
            json!({"url": "https://example.com", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://example.com", "events": ["ticket.eaten"]}),
            "events",
        ),
    ] {
        let refused = api
            .call("POST", "/api/webhooks", Some(&admin), Some(body.clone()))
            .await;
        let problem = refused.expect(422);
        assert!(problem["errors"].get(field).is_some(), "{body}: {problem}");
        assert_eq!(
            refused.header("content-type"),
            Some("application/problem+json")
        );
    }
    api.call(
        "POST",
        "/api/webhooks",
        Some(&admin),
        Some(json!({"url": 5})),
    )
    .await
    .expect(422);
    assert_eq!(
        api.get("/api/webhooks", &admin).await.expect(200)["count"],
        0
    );
    api.get("/api/webhooks/77/deliveries", &admin)
        .await
        .expect(404);
    api.get("/api/webhooks/77/deliveries?state=lost", &admin)
        .await
        .expect(400);
    api.call("POST", "/api/webhooks/77/ping", Some(&admin), None)
        .await
        .expect(404);
    api.call(
        "PATCH",
        "/api/webhooks/77",
        Some(&admin),
        Some(json!({"active": true})),
    )
    .await
    .expect(404);
}
