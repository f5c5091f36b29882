//! A minimal SMTP server that accepts every message and keeps it in memory.
//!
//! It speaks the real protocol (greeting, `EHLO`/`HELO`, `MAIL FROM`, `RCPT TO`, `DATA` with
//! dot-unstuffing, `RSET`, `NOOP`, `QUIT`) over TCP, so a client under test goes through its
//! whole SMTP stack. It is for tests and local demos: no TLS, no authentication, no relaying.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// One message as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as transmitted: headers, blank line, body.
    pub data: String,
}

impl ReceivedMail {
    /// The value of the first header with this name (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            match &mut value {
                Some(v) if line.starts_with([' ', '\t']) => {
                    v.push_str(line.trim_start_matches(['\t']))
                }
                Some(_) => break,
                None => {
                    if let Some((key, rest)) = line.split_once(':')
                        && key.eq_ignore_ascii_case(name)
                    {
                        value = Some(rest.trim().to_owned());
                    }
                }
            }
        }
        value
    }

    /// The body (everything after the first blank line).
    pub fn body(&self) -> &str {
        self.data
            .split_once("\r\n\r\n")
            .map_or("", |(_, body)| body)
    }
}

#[derive(Default)]
struct Inbox {
    mail: Mutex<Vec<ReceivedMail>>,
    arrived: Notify,
    /// Recipients refused with `550` at `RCPT TO`, like mailboxes that do not exist.
    refused: Vec<String>,
}

/// A running in-process SMTP server. Dropping it (or [`stop`](Self::stop)) closes the port.
pub struct SmtpSink {
    addr: SocketAddr,
    inbox: Arc<Inbox>,
    tasks: JoinSet<()>,
}

impl std::fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSink")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl SmtpSink {
    /// Starts a sink on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a sink on `addr` (for example the address of a sink stopped earlier).
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<Self> {
        Self::start_refusing(addr, &[]).await
    }

    /// Starts a sink on `addr` that refuses the given recipients for good (`550` at `RCPT TO`).
    pub async fn start_refusing(addr: SocketAddr, refused: &[&str]) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let refused = refused.iter().map(|r| r.to_ascii_lowercase()).collect();
        let inbox = Arc::new(Inbox {
            refused,
            ..Inbox::default()
        });
        let mut tasks = JoinSet::new();
        let shared = inbox.clone();
        tasks.spawn(async move {
            let mut sessions = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                sessions.spawn(session(stream, shared.clone()));
            }
        });
        Ok(Self { addr, inbox, tasks })
    }

    /// Where the sink listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// An `smtp://` URL for this sink.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Everything received so far, in order of arrival.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.inbox
            .mail
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until at least `count` messages have arrived or `timeout` passes; returns them.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.inbox.arrived.notified();
            let mail = self.received();
            if mail.len() >= count {
                return mail;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.received();
            }
        }
    }

    /// Stops listening and drops every open connection.
    pub async fn stop(mut self) {
        self.tasks.shutdown().await;
    }
}

/// One SMTP conversation.
async fn session(stream: TcpStream, inbox: Arc<Inbox>) {
    let _ = converse(stream, &inbox).await;
}

async fn converse(stream: TcpStream, inbox: &Inbox) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut line = String::new();
    write
        .write_all(b"220 helpdesk-sink ESMTP ready\r\n")
        .await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-helpdesk-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" => b"250 helpdesk-sink\r\n",
            "MAIL" => {
                from = angle_address(&command);
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                let recipient = angle_address(&command);
                if inbox.refused.contains(&recipient.to_ascii_lowercase()) {
                    b"550 5.1.1 mailbox unavailable\r\n"
                } else {
                    to.push(recipient);
                    b"250 OK\r\n"
                }
            }
            "DATA" if to.is_empty() => b"503 need RCPT first\r\n",
            "DATA" => {
                write
                    .write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let mail = ReceivedMail {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                };
                inbox
                    .mail
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(mail);
                inbox.arrived.notify_waiters();
                b"250 OK queued\r\n"
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// The address inside `<...>` of a `MAIL FROM:` or `RCPT TO:` command.
fn angle_address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map_or_else(String::new, |(address, _)| address.to_owned())
}
