//! The operator's subcommands of the real binary: `backup` while the server runs, `check`
//! against a real SMTP server and a dead one, `send-test-email` to a real SMTP server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{BIN, free_port, server, start_on, temp_dir};

use std::process::{Command, Output};
use std::time::Duration;

use helpdesk_mail::SmtpSink;

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn backup_copies_the_database_of_a_running_server() {
    let dir = temp_dir("ops-backup");
    let db = dir.join("helpdesk.db");
    let admin = server(&db)
        .args(["create-admin", "--email", "boss@example.com"])
        .env("HELPDESK_ADMIN_PASSWORD", "boss password")
        .output()
        .unwrap();
    assert!(admin.status.success(), "{}", text(&admin));
    let _running = start_on(&db, free_port(), &[]);

    let copy = dir.join("copy.db");
    let backup = server(&db)
        .args(["backup", "--to"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(backup.status.success(), "{}", text(&backup));
    // The copy is a database with the admin in it: create-admin on it finds the account.
    let again = server(&copy)
        .args(["create-admin", "--email", "boss@example.com"])
        .env("HELPDESK_ADMIN_PASSWORD", "anything")
        .output()
        .unwrap();
    assert!(
        text(&again).contains("already an admin"),
        "{}",
        text(&again)
    );
    // A second backup to the same file is refused, and the copy stays.
    let twice = server(&db)
        .args(["backup", "--to"])
        .arg(&copy)
        .output()
        .unwrap();
    assert_eq!(twice.status.code(), Some(1), "{}", text(&twice));
    assert!(text(&twice).contains("backup failed"), "{}", text(&twice));
    // PostgreSQL has its own tools.
    let pg = Command::new(BIN)
        .args(["backup", "--to", "x.db"])
        .env(
            "HELPDESK_DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none",
        )
        .output()
        .unwrap();
    assert_eq!(pg.status.code(), Some(2));
    assert!(text(&pg).contains("pg_dump"), "{}", text(&pg));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_send_test_email_talk_to_the_real_smtp_server() {
    let sink = SmtpSink::start().await.unwrap();
    let dir = temp_dir("ops-check");
    let db = dir.join("helpdesk.db");
    // Blocking calls: the SMTP server answers from the runtime's other worker.
    let run = |args: &[&str], smtp: &str| {
        server(&db)
            .args(args)
            .env("HELPDESK_SMTP_URL", smtp)
            .env("HELPDESK_MAIL_FROM", "Helpdesk <helpdesk@example.com>")
            .output()
            .unwrap()
    };
    let good = sink.url();
    let check = run(&["check"], &good);
    assert!(check.status.success(), "{}", text(&check));
    for line in ["ok: settings", "ok: database", "ok: SMTP server"] {
        assert!(text(&check).contains(line), "{}", text(&check));
    }

    let dead = format!("smtp://127.0.0.1:{}", free_port());
    let failed = run(&["check"], &dead);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    let reason = String::from_utf8_lossy(&failed.stderr).into_owned();
    assert_eq!(reason.lines().count(), 1, "{reason}");
    assert!(reason.contains("SMTP server"), "{reason}");

    let bad_setting = run(&["check"], "gopher://mail");
    assert_eq!(bad_setting.status.code(), Some(2), "{}", text(&bad_setting));

    let sent = run(&["send-test-email", "--to", "Ops@Example.com"], &good);
    assert!(sent.status.success(), "{}", text(&sent));
    let mail = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].header("To").as_deref(), Some("ops@example.com"));
    assert_eq!(
        mail[0].header("Subject").as_deref(),
        Some("Helpdesk test email")
    );

    let refused = run(&["send-test-email", "--to", "not an address"], &good);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    sink.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

fn get(url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.get(url).call().unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

#[test]
fn metrics_are_served_beside_the_api_or_on_an_address_of_their_own() {
    let dir = temp_dir("ops-metrics");
    let db = dir.join("helpdesk.db");

    let port = free_port();
    let running = start_on(&db, port, &[]);
    assert_eq!(get(&format!("http://127.0.0.1:{port}/api/health")).0, 200);
    let (status, text) = get(&format!("http://127.0.0.1:{port}/metrics"));
    assert_eq!(status, 200);
    assert!(
        text.contains(
            r#"helpdesk_http_request_duration_seconds_count{method="GET",route="/health",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains("helpdesk_notifications{state=\"pending\"} 0"),
        "{text}"
    );
    drop(running);

    let (port, own) = (free_port(), free_port());
    let own_bind = format!("127.0.0.1:{own}");
    let running = start_on(&db, port, &[("HELPDESK_METRICS_BIND", own_bind.as_str())]);
    assert_eq!(get(&format!("http://127.0.0.1:{port}/metrics")).0, 404);
    let (status, text) = get(&format!("http://127.0.0.1:{own}/metrics"));
    assert_eq!(status, 200);
    assert!(text.contains("helpdesk_store_connections"), "{text}");
    drop(running);

    let port = free_port();
    let running = start_on(&db, port, &[("HELPDESK_METRICS", "false")]);
    assert_eq!(get(&format!("http://127.0.0.1:{port}/metrics")).0, 404);
    drop(running);
    std::fs::remove_dir_all(&dir).unwrap();
}
