//! The OpenAPI document: valid 3.1 JSON, complete against docs/api.md and the router, with an
//! example and every error status on every operation.
#![allow(clippy::unwrap_used)]

mod common;

use common::api;
use helpdesk_core::Role;
use serde_json::Value;

/// Every endpoint of the table in docs/api.md (paths relative to the mount point), with its
/// `operationId`. Client generators name their methods after these: they must not change.
const CONTRACT: &[(&str, &str, &str)] = &[
    ("post", "/auth/register", "register"),
    ("post", "/auth/login", "login"),
    ("post", "/auth/logout", "logout"),
    ("get", "/auth/me", "me"),
    ("patch", "/auth/me", "update_me"),
    ("delete", "/auth/me", "delete_me"),
    ("post", "/auth/password", "change_password"),
    ("get", "/users", "list_users"),
    ("post", "/users", "create_user"),
    ("get", "/users/{id}", "get_user"),
    ("patch", "/users/{id}", "update_user"),
    ("delete", "/users/{id}", "delete_user"),
    ("get", "/tickets", "list_tickets"),
    ("post", "/tickets", "create_ticket"),
    ("get", "/tickets/{id}", "get_ticket"),
    ("patch", "/tickets/{id}", "update_ticket"),
    ("delete", "/tickets/{id}", "delete_ticket"),
    ("post", "/tickets/{id}/assign", "assign_ticket"),
    ("get", "/tickets/{id}/comments", "list_comments"),
    ("post", "/tickets/{id}/comments", "add_comment"),
    ("get", "/tickets/{id}/history", "history"),
    ("get", "/reports/last7days", "last_7_days"),
    ("post", "/escalations/run", "run_escalations"),
    ("get", "/notifications", "list_notifications"),
    ("post", "/notifications/{id}/retry", "retry_notification"),
    ("post", "/webhooks", "create_webhook"),
    ("get", "/webhooks", "list_webhooks"),
    ("get", "/webhooks/{id}", "get_webhook"),
    ("patch", "/webhooks/{id}", "update_webhook"),
    ("delete", "/webhooks/{id}", "delete_webhook"),
    ("post", "/webhooks/{id}/rotate-secret", "rotate_secret"),
    ("post", "/webhooks/{id}/ping", "ping"),
    ("get", "/webhooks/{id}/deliveries", "list_deliveries"),
    ("post", "/webhooks/deliveries/{id}/redeliver", "redeliver"),
    ("get", "/sla", "get_sla_policy"),
    ("put", "/sla", "replace_sla_policy"),
    ("get", "/health", "health"),
    ("get", "/schema", "schema"),
    ("get", "/schema/swagger/", "swagger_index"),
    ("get", "/docs/", "docs_index"),
    ("get", "/schema/redoc/", "redoc"),
];

fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(
                doc,
                doc.pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling {reference}")),
            )
        }
        None => value,
    }
}

/// Whether a content map (media type -> media object) carries an example, inline or on its schema.
fn has_example(doc: &Value, content: &Value) -> bool {
    content.as_object().unwrap().values().all(|media| {
        media.get("example").is_some()
            || media.get("examples").is_some()
            || media
                .get("schema")
                .is_some_and(|s| resolve(doc, s).get("example").is_some())
    })
}

async fn document() -> Value {
    let api = api().await;
    let response = api.call("GET", "/api/schema", None, None).await;
    response.expect(200).clone()
}

#[tokio::test]
async fn the_document_covers_the_contract_with_examples_and_errors() {
    let doc = document().await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let enums = [
        ("Role", vec!["user", "agent", "admin"]),
        ("Priority", vec!["low", "medium", "high"]),
        (
            "Status",
            vec![
                "open",
                "in_progress",
                "resolved",
                "closed",
                "escalated",
                "waiting",
            ],
        ),
    ];
    for (name, values) in enums {
        assert_eq!(
            doc["components"]["schemas"][name]["enum"],
            serde_json::json!(values),
            "{name}"
        );
    }
    let register = &doc["components"]["schemas"]["RegisterIn"];
    assert_eq!(
        register["required"],
        serde_json::json!(["email", "password"])
    );
    assert_eq!(register["properties"]["password"]["minLength"], 8);
    let paths = doc["paths"].as_object().unwrap();
    for (method, path, id) in CONTRACT {
        let op = paths.get(*path).and_then(|p| p.get(*method));
        let op = op.unwrap_or_else(|| panic!("{method} {path} is not documented"));
        assert_eq!(op["operationId"], *id, "{method} {path}");
    }
    // Lists refer to their item's schema, so generated clients get one type per resource.
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        if let Some(item) = name.strip_prefix("Paginated_") {
            let reference = &schema["properties"]["results"]["items"]["$ref"];
            assert_eq!(*reference, format!("#/components/schemas/{item}"), "{name}");
        }
    }
    let mut operations = 0;
    let mut ids = std::collections::HashSet::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let name = format!("{method} {path}");
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(
                !id.is_empty() && ids.insert(id.to_owned()),
                "{name}: operationId {id:?}"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{name}: no tag"
            );
            let summary = op["summary"].as_str().unwrap_or_default();
            assert!(
                !summary.is_empty() && summary.len() <= 80 && !summary.contains('\n'),
                "{name}: the summary must be one short line: {summary:?}"
            );
            if let Some(body) = op.get("requestBody") {
                assert!(
                    has_example(&doc, &body["content"]),
                    "{name}: request without example"
                );
            }
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{name}: no success response"
            );
            for (status, response) in responses {
                let response = resolve(&doc, response);
                if let Some(content) = response.get("content") {
                    assert!(
                        has_example(&doc, content),
                        "{name}: {status} without example"
                    );
                }
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]
                            .get("application/problem+json")
                            .is_some(),
                        "{name}: {status} is not a problem"
                    );
                }
            }
            if !path.starts_with("/schema") && !path.starts_with("/docs") {
                assert!(
                    responses.contains_key("503"),
                    "{name}: reaches the store but lists no 503"
                );
            }
            if op.get("security").is_some() {
                assert!(
                    responses.contains_key("401"),
                    "{name}: needs a token but lists no 401"
                );
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "422"] {
                    assert!(
                        responses.contains_key(status),
                        "{name}: takes a body but lists no {status}"
                    );
                }
            }
        }
    }
    assert!(operations >= CONTRACT.len());
}

#[tokio::test]
async fn every_documented_operation_is_served_with_and_without_a_trailing_slash() {
    let api = api().await;
    let (_, admin) = api.account("admin@example.com", Role::Admin).await;
    let doc = api.call("GET", "/api/schema", None, None).await.body;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{id}", "1");
            let trimmed = concrete.trim_end_matches('/');
            for variant in [trimmed.to_owned(), format!("{trimmed}/")] {
                let r = api
                    .call(
                        &method.to_uppercase(),
                        &format!("/api{variant}"),
                        Some(&admin),
                        None,
                    )
                    .await;
                let routed = !(r.status == 405
                    || (r.status == 404 && r.body["detail"] == "no such endpoint"));
                // The Swagger UI pages redirect from the slash-less form, as browsers expect.
                let redirect = r.status.is_redirection() && variant == trimmed;
                assert!(
                    routed || redirect,
                    "{method} /api{variant}: {} {}",
                    r.status,
                    r.body
                );
            }
        }
    }
}
