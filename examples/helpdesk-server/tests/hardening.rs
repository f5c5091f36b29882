//! The real binary under the attacks a public server meets: secrets on the command line,
//! connections that never finish their headers, and shutdown while they hang.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{BIN, Running, free_port, start_on, temp_dir};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn help_and_errors_never_print_secrets() {
    let help = Command::new(BIN)
        .arg("--help")
        .env(
            "HELPDESK_DATABASE_URL",
            "postgres://app:db-secret@db.internal/helpdesk",
        )
        .env(
            "HELPDESK_SMTP_URL",
            "smtps://mailer:smtp-secret@mail.internal:465",
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("HELPDESK_SMTP_URL"), "{text}");
    assert!(!text.contains("secret"), "{text}");

    let dir = temp_dir("smtp");
    let failed = Command::new(BIN)
        .env(
            "HELPDESK_DATABASE_URL",
            format!("sqlite://{}", dir.join("h.db").display()),
        )
        .env("HELPDESK_BIND", format!("127.0.0.1:{}", free_port()))
        .env(
            "HELPDESK_SMTP_URL",
            "imap://mailer:smtp-secret@mail.internal:993",
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(2), "{text}");
    assert!(
        text.contains("***") && !text.contains("smtp-secret"),
        "{text}"
    );
}

/// Starts the server on a fresh database with `settings`; returns it and its port once it
/// accepts connections.
fn start(name: &str, settings: &[(&str, &str)]) -> (Running, u16) {
    let port = free_port();
    (start_on(&temp_dir(name).join("h.db"), port, settings), port)
}

#[test]
fn half_sent_headers_time_out_and_do_not_hold_up_shutdown() {
    let (mut server, port) = start(
        "slowloris",
        &[
            ("HELPDESK_HEADER_TIMEOUT", "1s"),
            ("HELPDESK_SHUTDOWN_GRACE", "2s"),
        ],
    );
    // Clients that send half a request head and then nothing.
    let mut stalled: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            stream
                .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            stream
        })
        .collect();
    let sent = Instant::now();
    for stream in &mut stalled {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buffer = Vec::new();
        // The server closes the connection (with or without a 408) instead of waiting.
        let _ = stream.read_to_end(&mut buffer);
    }
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "stalled connections were held for {:?}",
        sent.elapsed()
    );

    // One more stalled client, then SIGTERM: the server must not wait for it.
    let mut hanging = TcpStream::connect(("127.0.0.1", port)).unwrap();
    hanging.write_all(b"GET /api/health HTTP/1.1\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let term = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &server.0.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            term.elapsed() < Duration::from_secs(8),
            "shutdown waited for a stalled client"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(hanging);
}

#[test]
fn connections_beyond_the_cap_wait_for_a_free_one() {
    let (server, port) = start(
        "cap",
        &[
            ("HELPDESK_MAX_CONNECTIONS", "2"),
            ("HELPDESK_HEADER_TIMEOUT", "8s"),
        ],
    );
    // Give the probe connections of `start` time to be closed and their slots freed.
    std::thread::sleep(Duration::from_millis(300));
    let idle: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut third = TcpStream::connect(("127.0.0.1", port)).unwrap();
    third
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut first = [0u8; 1];
    assert!(
        third.read(&mut first).is_err(),
        "a third connection was served while two held every slot"
    );
    drop(idle);
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = Vec::new();
    third.read_to_end(&mut answer).unwrap();
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    drop(server);
}
