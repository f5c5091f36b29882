//! The permission matrix as data: every role against every endpoint, on a ticket raised by
//! `owner` and assigned to `assignee`.
#![allow(clippy::unwrap_used)]

mod common;

use common::api;
use helpdesk_core::Role;
use serde_json::{Value, json};

/// The callers, in the order of the expectation columns. Mostly, whoever succeeds at a mutation
/// comes after those who fail, so one helpdesk per row serves every column.
const WHO: [&str; 6] = [
    "anonymous",
    "owner",
    "other user",
    "assignee",
    "other agent",
    "admin",
];

struct Row {
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    expected: [u16; 6],
    fresh: bool,
}

fn rows() -> Vec<Row> {
    let row = |method, path, body: Option<Value>, expected| Row {
        method,
        path,
        body,
        expected,
        fresh: false,
    };
    vec![
        row(
            "GET",
            "/api/tickets/{ticket}",
            None,
            [401, 200, 404, 200, 404, 200],
        ),
        row(
            "PATCH",
            "/api/tickets/{ticket}",
            Some(json!({"title": "renamed"})),
            [401, 200, 404, 403, 404, 200],
        ),
        row(
            "PATCH",
            "/api/tickets/{ticket}",
            Some(json!({"status": "in_progress"})),
            [401, 403, 404, 200, 404, 200],
        ),
        Row {
            fresh: true,
            ..row(
                "PATCH",
                "/api/tickets/{ticket}",
                Some(json!({"status": "closed"})),
                [401, 200, 404, 403, 404, 200],
            )
        },
        row(
            "DELETE",
            "/api/tickets/{ticket}",
            None,
            [401, 403, 404, 403, 404, 204],
        ),
        row(
            "POST",
            "/api/tickets/{ticket}/assign",
            Some(json!({"agent_id": null})),
            [401, 403, 404, 403, 404, 200],
        ),
        row(
            "GET",
            "/api/tickets/{ticket}/comments",
            None,
            [401, 200, 404, 200, 404, 200],
        ),
        row(
            "POST",
            "/api/tickets/{ticket}/comments",
            Some(json!({"body": "hello"})),
            [401, 201, 404, 201, 404, 201],
        ),
        row(
            "GET",
            "/api/tickets/{ticket}/history",
            None,
            [401, 200, 404, 200, 404, 200],
        ),
        row("GET", "/api/tickets", None, [401, 200, 200, 200, 200, 200]),
        row(
            "POST",
            "/api/tickets",
            Some(json!({"title": "mine"})),
            [401, 201, 201, 201, 201, 201],
        ),
        row("GET", "/api/users", None, [401, 403, 403, 200, 200, 200]),
        row(
            "POST",
            "/api/users",
            Some(json!({"email": "new@example.com", "password": "long enough", "role": "agent"})),
            [401, 403, 403, 403, 403, 201],
        ),
        row(
            "GET",
            "/api/users/{owner}",
            None,
            [401, 403, 403, 200, 200, 200],
        ),
        row(
            "PATCH",
            "/api/users/{owner}",
            Some(json!({"last_name": "Renamed"})),
            [401, 403, 403, 403, 403, 200],
        ),
        row(
            "DELETE",
            "/api/users/{owner}",
            None,
            [401, 403, 403, 403, 403, 204],
        ),
        row("GET", "/api/auth/me", None, [401, 200, 200, 200, 200, 200]),
        row(
            "PATCH",
            "/api/auth/me",
            Some(json!({"first_name": "Me"})),
            [401, 200, 200, 200, 200, 200],
        ),
        row(
            "POST",
            "/api/auth/logout",
            None,
            [401, 204, 204, 204, 204, 204],
        ),
        row(
            "GET",
            "/api/reports/last7days",
            None,
            [401, 200, 200, 200, 200, 200],
        ),
        row(
            "POST",
            "/api/escalations/run",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        row(
            "GET",
            "/api/notifications",
            None,
            [401, 403, 403, 403, 403, 200],
        ),
        row("GET", "/api/health", None, [200, 200, 200, 200, 200, 200]),
    ]
}

/// A fresh helpdesk with the five accounts and the ticket; returns it, the tokens in column
/// order, and the path of the row with its placeholders filled in.
async fn setup(row: &Row) -> (common::Api, [Option<String>; 6], String) {
    let api = api().await;
    let (owner, owner_token) = api.account("owner@example.com", Role::User).await;
    let (_, other_token) = api.account("other@example.com", Role::User).await;
    let (assignee, assignee_token) = api.account("assignee@example.com", Role::Agent).await;
    let (_, other_agent_token) = api.account("agent2@example.com", Role::Agent).await;
    let (admin, admin_token) = api.account("admin@example.com", Role::Admin).await;
    let ticket = api.ticket(&owner, "printer").await;
    api.helpdesk
        .assign_ticket(&admin.actor(), ticket.id, Some(assignee.id), None)
        .await
        .unwrap();
    let path = row
        .path
        .replace("{ticket}", &ticket.id.to_string())
        .replace("{owner}", &owner.id.to_string());
    let tokens = [
        None,
        Some(owner_token),
        Some(other_token),
        Some(assignee_token),
        Some(other_agent_token),
        Some(admin_token),
    ];
    (api, tokens, path)
}

#[tokio::test]
async fn every_role_against_every_endpoint() {
    for row in rows() {
        let mut shared = None;
        for (column, (who, expected)) in WHO.iter().zip(row.expected).enumerate() {
            // A row whose successes change what the next caller sees gets a fresh helpdesk per cell.
            if row.fresh || shared.is_none() {
                shared = Some(setup(&row).await);
            }
            let Some((api, tokens, path)) = &shared else {
                unreachable!()
            };
            let response = api
                .call(
                    row.method,
                    path,
                    tokens[column].as_deref(),
                    row.body.clone(),
                )
                .await;
            assert_eq!(
                response.status.as_u16(),
                expected,
                "{who}: {} {} -> {}",
                row.method,
                row.path,
                response.body
            );
            response.expect(expected);
        }
    }
}

#[tokio::test]
async fn lists_and_reports_show_only_what_each_role_may_see() {
    let api = api().await;
    let (owner, owner_token) = api.account("owner@example.com", Role::User).await;
    let (other, other_token) = api.account("other@example.com", Role::User).await;
    let (assignee, assignee_token) = api.account("assignee@example.com", Role::Agent).await;
    let (_, other_agent_token) = api.account("agent2@example.com", Role::Agent).await;
    let (admin, admin_token) = api.account("admin@example.com", Role::Admin).await;
    let assigned = api.ticket(&owner, "assigned").await;
    api.ticket(&owner, "unassigned").await;
    api.ticket(&other, "someone else's").await;
    api.helpdesk
        .assign_ticket(&admin.actor(), assigned.id, Some(assignee.id), None)
        .await
        .unwrap();
    for (token, tickets) in [
        (&owner_token, 2),
        (&other_token, 1),
        (&assignee_token, 1),
        (&other_agent_token, 0),
        (&admin_token, 3),
    ] {
        let list = api.get("/api/tickets", token).await;
        assert_eq!(list.expect(200)["count"], tickets);
        let report = api.get("/api/reports/last7days", token).await;
        assert_eq!(report.expect(200)["opened"], tickets);
    }
    let agents_list = api.get("/api/tickets", &assignee_token).await;
    assert_eq!(agents_list.body["results"][0]["id"], assigned.id.0);
}
