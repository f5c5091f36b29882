//! Delivery through a real SMTP server (the in-process `SmtpSink`) from a real SQLite outbox.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use helpdesk_core::{
    Actor, Email, Helpdesk, ManualClock, NewTicket, NewUser, NotificationState, Notifier,
    PageRequest, Priority, Registration, RetryPolicy, Role,
};
use helpdesk_mail::{SmtpNotifier, SmtpSink};
use helpdesk_sqlite::SqliteStore;

const WAIT: StdDuration = StdDuration::from_secs(10);

fn start() -> DateTime<Utc> {
    "2026-11-26T09:00:00Z".parse().unwrap()
}

struct Env {
    helpdesk: Helpdesk,
    admin: Actor,
    ada: Actor,
}

async fn env() -> Env {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    let helpdesk = Helpdesk::builder(store)
        .clock(ManualClock::new(start()))
        .build();
    let account = |email: &str, role| {
        let helpdesk = helpdesk.clone();
        let registration = Registration::new(email, "correct horse", "Test", email).unwrap();
        async move {
            helpdesk
                .create_user_unchecked(NewUser { registration, role })
                .await
                .unwrap()
                .actor()
        }
    };
    let admin = account("boss@example.com", Role::Admin).await;
    let ada = account("ada@example.com", Role::User).await;
    Env {
        helpdesk,
        admin,
        ada,
    }
}

impl Env {
    /// Creates `n` high tickets and escalates them; returns the number of queued emails.
    async fn escalate(&self, n: usize) -> u64 {
        for i in 0..n {
            let new =
                NewTicket::new(&format!("Printer {i} on fire"), "Smoke", Priority::High).unwrap();
            self.helpdesk.create_ticket(&self.ada, new).await.unwrap();
        }
        let report = self
            .helpdesk
            .escalation_engine()
            .run_once(start() + Duration::minutes(61))
            .await
            .unwrap();
        assert_eq!(report.escalated.len(), n);
        report.notifications_queued
    }
}

fn notifier(sink_url: &str) -> SmtpNotifier {
    SmtpNotifier::from_url(sink_url, "Helpdesk <helpdesk@example.com>").unwrap()
}

#[tokio::test]
async fn smtp_notifier_sends_a_proper_message() {
    let sink = SmtpSink::start().await.unwrap();
    let email = Email {
        to: "ada@example.com".into(),
        subject: "[Helpdesk] Ticket #7 escalated (high): Printer on fire".into(),
        body: "Ticket #7 has been escalated.\n.a line starting with a dot\n".into(),
    };
    notifier(&sink.url()).send(&email).await.unwrap();
    let mail = sink.wait_for(1, WAIT).await;
    assert_eq!(mail.len(), 1);
    let m = &mail[0];
    assert_eq!(
        (m.from.as_str(), m.to.as_slice()),
        ("helpdesk@example.com", &["ada@example.com".to_owned()][..])
    );
    assert_eq!(m.header("Subject").as_deref(), Some(email.subject.as_str()));
    assert_eq!(
        m.header("From").as_deref(),
        Some("Helpdesk <helpdesk@example.com>")
    );
    assert_eq!(m.header("To").as_deref(), Some("ada@example.com"));
    assert!(
        m.header("Message-ID")
            .is_some_and(|id| id.starts_with('<') && id.contains('@'))
    );
    assert!(
        m.header("Content-Type")
            .is_some_and(|t| t.starts_with("text/plain"))
    );
    assert!(
        m.body().contains(".a line starting with a dot"),
        "{}",
        m.body()
    );
}

#[tokio::test]
async fn escalation_emails_reach_the_admin_and_the_creator_once() {
    let env = env().await;
    let sink = SmtpSink::start().await.unwrap();
    assert_eq!(env.escalate(1).await, 2);
    let dispatcher = env.helpdesk.outbox_dispatcher(notifier(&sink.url()));
    let report = dispatcher
        .run_once(start() + Duration::minutes(62))
        .await
        .unwrap();
    assert_eq!((report.sent, report.retried, report.failed), (2, 0, 0));
    let mail = sink.wait_for(2, WAIT).await;
    let mut recipients: Vec<_> = mail.iter().flat_map(|m| m.to.clone()).collect();
    recipients.sort();
    assert_eq!(recipients, ["ada@example.com", "boss@example.com"]);
    for m in &mail {
        let subject = m.header("Subject").unwrap();
        assert!(
            subject.contains(
                "[Helpdesk] Escalated: ticket #1 (high, update target): Printer 0 on fire"
            ),
            "{subject}"
        );
        assert!(
            m.body()
                .contains("Raised by:   Test ada@example.com - ada@example.com"),
            "{}",
            m.body()
        );
        assert!(m.body().contains("(1 min late)"), "{}", m.body());
    }
    let again = dispatcher
        .run_once(start() + Duration::hours(5))
        .await
        .unwrap();
    assert_eq!(again.sent, 0);
    let sent = env
        .helpdesk
        .notifications(&env.admin, NotificationState::Sent, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(sent.count, 2);
    assert_eq!(sink.received().len(), 2);
}

#[tokio::test]
async fn a_server_that_is_down_delays_mail_and_never_loses_it() {
    let env = env().await;
    let sink = SmtpSink::start().await.unwrap();
    let (addr, url) = (sink.addr(), sink.url());
    sink.stop().await;
    assert_eq!(env.escalate(1).await, 2);
    let retry = RetryPolicy {
        first_delay: StdDuration::from_secs(5),
        max_delay: StdDuration::from_secs(600),
        max_attempts: 3,
    };
    let dispatcher = env
        .helpdesk
        .outbox_dispatcher(notifier(&url))
        .with_retry(retry);
    let t = start() + Duration::minutes(62);

    let report = dispatcher.run_once(t).await.unwrap();
    assert_eq!((report.sent, report.retried), (0, 2));
    let pending = env
        .helpdesk
        .notifications(
            &env.admin,
            NotificationState::Pending,
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(pending.count, 2);
    assert!(pending.items.iter().all(|n| n.attempts == 1
        && n.last_error.is_some()
        && n.next_attempt_at == t + Duration::seconds(5)));
    assert_eq!(
        dispatcher.run_once(t + Duration::seconds(4)).await.unwrap(),
        Default::default(),
        "backing off"
    );

    let sink = SmtpSink::start_on(addr).await.unwrap();
    let report = dispatcher.run_once(t + Duration::seconds(5)).await.unwrap();
    assert_eq!(report.sent, 2);
    assert_eq!(sink.wait_for(2, WAIT).await.len(), 2);
    sink.stop().await;
}

#[tokio::test]
async fn after_the_last_attempt_a_notification_fails_visibly_and_can_be_retried() {
    let env = env().await;
    let sink = SmtpSink::start().await.unwrap();
    let (addr, url) = (sink.addr(), sink.url());
    sink.stop().await;
    env.escalate(1).await;
    let retry = RetryPolicy {
        first_delay: StdDuration::from_secs(5),
        max_delay: StdDuration::from_secs(600),
        max_attempts: 3,
    };
    let dispatcher = env
        .helpdesk
        .outbox_dispatcher(notifier(&url))
        .with_retry(retry);
    let mut t = start() + Duration::minutes(62);
    let mut totals = (0, 0);
    for delay in [0, 5, 10] {
        t += Duration::seconds(delay);
        let r = dispatcher.run_once(t).await.unwrap();
        totals = (totals.0 + r.retried, totals.1 + r.failed);
    }
    assert_eq!(
        totals,
        (4, 2),
        "two attempts retried, the third failed, for both recipients"
    );
    let failed = env
        .helpdesk
        .notifications(
            &env.admin,
            NotificationState::Failed,
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(failed.count, 2);
    assert!(
        failed
            .items
            .iter()
            .all(|n| n.attempts == 3 && n.last_error.as_deref().is_some_and(|e| !e.is_empty()))
    );
    assert_eq!(
        dispatcher.run_once(t + Duration::days(1)).await.unwrap(),
        Default::default()
    );

    let sink = SmtpSink::start_on(addr).await.unwrap();
    assert!(matches!(
        env.helpdesk
            .retry_notification(&env.ada, failed.items[0].id)
            .await,
        Err(helpdesk_core::Error::Forbidden(_))
    ));
    env.helpdesk
        .retry_notification(&env.admin, failed.items[0].id)
        .await
        .unwrap();
    let report = dispatcher
        .run_once(start() + Duration::days(2))
        .await
        .unwrap();
    assert_eq!(report.sent, 1, "only the retried one");
    assert_eq!(
        sink.wait_for(1, WAIT).await[0].to,
        [failed.items[0].recipient.clone()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dispatchers_at_once_send_each_email_once() {
    let env = env().await;
    let sink = SmtpSink::start().await.unwrap();
    assert_eq!(env.escalate(60).await, 120);
    let t = start() + Duration::minutes(62);
    let a = env.helpdesk.outbox_dispatcher(notifier(&sink.url()));
    let b = env.helpdesk.outbox_dispatcher(notifier(&sink.url()));
    let (ra, rb) = tokio::join!(a.run_once(t), b.run_once(t));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.sent + rb.sent, 120);
    let mail = sink.wait_for(120, WAIT).await;
    let mut per_message: BTreeMap<(String, String), usize> = BTreeMap::new();
    for m in &mail {
        *per_message
            .entry((m.to.join(","), m.header("Subject").unwrap()))
            .or_default() += 1;
    }
    assert_eq!(mail.len(), 120);
    assert_eq!(per_message.len(), 120, "no (recipient, ticket) twice");
}

#[tokio::test]
async fn a_refused_recipient_fails_at_once_and_blocks_nobody() {
    let env = env().await;
    let sink = SmtpSink::start_refusing(([127, 0, 0, 1], 0).into(), &["ada@example.com"])
        .await
        .unwrap();
    assert_eq!(env.escalate(3).await, 6);
    let dispatcher = env.helpdesk.outbox_dispatcher(notifier(&sink.url()));
    let report = dispatcher
        .run_once(start() + Duration::minutes(62))
        .await
        .unwrap();
    assert_eq!(
        (report.sent, report.retried, report.failed),
        (3, 0, 3),
        "refused for good: no retries"
    );
    let mail = sink.wait_for(3, WAIT).await;
    assert!(mail.iter().all(|m| m.to == ["boss@example.com"]));
    let failed = env
        .helpdesk
        .notifications(
            &env.admin,
            NotificationState::Failed,
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(failed.count, 3);
    assert!(
        failed
            .items
            .iter()
            .all(|n| n.recipient == "ada@example.com" && n.attempts == 1)
    );
    assert!(
        failed.items[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("550")),
        "{:?}",
        failed.items[0].last_error
    );
}
