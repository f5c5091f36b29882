//! The OpenAPI document: valid 3.1 JSON, complete against docs/api.md and the router, with an
//! example and every error status on every operation.
#![allow(clippy::unwrap_used)]

mod common;

use common::api;
use helpdesk_core::Role;
use serde_json::Value;

/// Every endpoint of the table in docs/api.md (paths relative to the mount point).
const CONTRACT: &[(&str, &str)] = &[
    ("post", "/auth/register"),
    ("post", "/auth/login"),
    ("post", "/auth/logout"),
    ("get", "/auth/me"),
    ("patch", "/auth/me"),
    ("delete", "/auth/me"),
    ("post", "/auth/password"),
    ("get", "/users"),
    ("post", "/users"),
    ("get", "/users/{id}"),
    ("patch", "/users/{id}"),
    ("delete", "/users/{id}"),
    ("get", "/tickets"),
    ("post", "/tickets"),
    ("get", "/tickets/{id}"),
    ("patch", "/tickets/{id}"),
    ("delete", "/tickets/{id}"),
    ("post", "/tickets/{id}/assign"),
    ("get", "/tickets/{id}/comments"),
    ("post", "/tickets/{id}/comments"),
    ("get", "/tickets/{id}/history"),
    ("get", "/reports/last7days"),
    ("post", "/escalations/run"),
    ("get", "/health"),
    ("get", "/schema"),
    ("get", "/schema/swagger/"),
    ("get", "/docs/"),
    ("get", "/schema/redoc/"),
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
            vec!["open", "in_progress", "resolved", "closed", "escalated"],
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
    for (method, path) in CONTRACT {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} is not documented"
        );
    }
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let name = format!("{method} {path}");
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{name}: no tag"
            );
            assert!(
                op.get("summary").or(op.get("description")).is_some(),
                "{name}: not described"
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
