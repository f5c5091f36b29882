//! The real binary, a real SMTP server, real HTTP: a high ticket escalates after 2 seconds and
//! the admin and the creator each get one email.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Running, call, free_port, temp_dir};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use helpdesk_mail::SmtpSink;
use serde_json::json;

/// The server on `dir`'s database.
fn server(dir: &Path) -> Command {
    common::server(&dir.join("helpdesk.db"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_high_ticket_escalates_and_mails_the_admin_and_the_creator_once() {
    let sink = SmtpSink::start().await.unwrap();
    let dir = temp_dir("e2e");
    let admin = server(&dir)
        .args([
            "create-admin",
            "--email",
            "boss@example.com",
            "--first-name",
            "Boss",
        ])
        .env("HELPDESK_ADMIN_PASSWORD", "boss password")
        .output()
        .unwrap();
    assert!(
        admin.status.success(),
        "{}",
        String::from_utf8_lossy(&admin.stderr)
    );
    assert!(String::from_utf8_lossy(&admin.stdout).contains("Created admin boss@example.com"));

    let port = free_port();
    let child = server(&dir)
        .env("HELPDESK_BIND", format!("127.0.0.1:{port}"))
        .env("HELPDESK_SMTP_URL", sink.url())
        .env("HELPDESK_MAIL_FROM", "Helpdesk <helpdesk@example.com>")
        .env("HELPDESK_ESCALATE_HIGH", "2s")
        .env("HELPDESK_SWEEP_INTERVAL", "300ms")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let base = format!("http://127.0.0.1:{port}/api");

    let ticket = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let started = Instant::now();
        while agent.get(format!("{base}/health")).call().is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "the server did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        let (status, _) = call(&agent, "POST", &format!("{base}/auth/register/"), None, Some(json!({
            "email": "ada@example.com", "password": "correct horse", "first_name": "Ada", "last_name": "Lovelace"
        })));
        assert_eq!(status, 201);
        let (_, login) = call(&agent, "POST", &format!("{base}/auth/login/"), None, Some(json!({"email": "ada@example.com", "password": "correct horse"})));
        let token = login["token"].as_str().unwrap().to_owned();
        let (status, ticket) = call(&agent, "POST", &format!("{base}/tickets/"), Some(&token), Some(json!({"title": "Printer on fire", "priority": "high"})));
        assert_eq!(status, 201);
        let id = ticket["id"].as_i64().unwrap();
        let started = Instant::now();
        loop {
            let (_, now) = call(&agent, "GET", &format!("{base}/tickets/{id}/"), Some(&token), None);
            if now["status"] == "escalated" {
                return now;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "not escalated: {now}");
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .unwrap();

    let mail = sink.wait_for(2, Duration::from_secs(30)).await;
    // Give a duplicate the time of several more sweeps to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(mail.len() >= 2, "only {} emails arrived", mail.len());
    let mail = sink.received();
    let mut recipients: Vec<String> = mail.iter().flat_map(|m| m.to.clone()).collect();
    recipients.sort();
    assert_eq!(
        recipients,
        ["ada@example.com", "boss@example.com"],
        "each once"
    );
    for m in &mail {
        let subject = m.header("Subject").unwrap();
        assert_eq!(
            subject,
            format!(
                "[Helpdesk] Escalated: ticket #{} (high, update target): Printer on fire",
                ticket["id"]
            )
        );
        assert!(
            m.body()
                .contains("Raised by:   Ada Lovelace - ada@example.com"),
            "{}",
            m.body()
        );
    }

    let status = Command::new("kill")
        .args(["-TERM", &running.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = running.0.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_bad_setting_is_one_line_and_exit_code_2() {
    let dir = temp_dir("e2e");
    for (key, value) in [
        ("HELPDESK_ESCALATE_HIGH", "soon"),
        ("HELPDESK_SWEEP_INTERVAL", "0s"),
        ("HELPDESK_DATABASE_URL", "sqlite:///no/such/dir/helpdesk.db"),
        ("HELPDESK_BIND", "not-an-address"),
    ] {
        let output = server(&dir).env(key, value).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{key}={value}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("error:"), "{key}={value}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
