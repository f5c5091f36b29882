//! `cargo bench -p helpdesk-webhooks`: what webhooks cost a write, and how fast the dispatcher
//! empties its queue into a receiver on loopback. SQLite in a file, as the server runs it.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use helpdesk_core::webhooks::{Event, NewWebhook, TargetPolicy};
use helpdesk_core::{
    Actor, Clock, Helpdesk, ManualClock, NewTicket, NewUser, Priority, RateLimits, Registration,
    Role, Store, TicketId, TicketPatch,
};
use helpdesk_sqlite::SqliteStore;
use helpdesk_webhooks::HttpTransport;
use tokio::runtime::Runtime;

struct Setup {
    store: std::sync::Arc<dyn Store>,
    helpdesk: Helpdesk,
    admin: Actor,
    ticket: TicketId,
}

/// A helpdesk on a fresh file with one admin and one ticket.
async fn setup(name: &str) -> Setup {
    let dir = std::env::temp_dir().join(format!("helpdesk-bench-webhooks-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store: std::sync::Arc<dyn Store> =
        std::sync::Arc::new(SqliteStore::connect(&url).await.unwrap());
    let helpdesk = Helpdesk::builder_shared(store.clone())
        .webhook_targets(TargetPolicy::allow_private())
        .build();
    let admin = helpdesk
        .create_user_unchecked(NewUser {
            registration: Registration::new("admin@example.com", "correct horse battery", "A", "B")
                .unwrap(),
            role: Role::Admin,
        })
        .await
        .unwrap()
        .actor();
    let ticket = helpdesk
        .create_ticket(
            &admin,
            NewTicket::new("Printer on fire", "Smoke", Priority::Low).unwrap(),
        )
        .await
        .unwrap()
        .id;
    Setup {
        store,
        helpdesk,
        admin,
        ticket,
    }
}

/// A receiver on loopback answering 204 to everything.
async fn receiver() -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(|| async { axum::http::StatusCode::NO_CONTENT }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn bench_queueing(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let url = rt.block_on(receiver());
    let mut group = c.benchmark_group("a ticket edit");
    for (name, events) in [
        ("no subscription", None),
        ("subscribed to comments only", Some("comment.created")),
        ("subscribed to every event", Some("*")),
    ] {
        let s = rt.block_on(setup(&name.replace(' ', "-")));
        if let Some(events) = events {
            let new = NewWebhook::new(&url, &[events], "bench").unwrap();
            rt.block_on(s.helpdesk.create_webhook(&s.admin, new))
                .unwrap();
        }
        let mut high = false;
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                high = !high;
                let priority = if high { Priority::High } else { Priority::Low };
                let patch = TicketPatch::new(None, None, Some(priority), None).unwrap();
                let (helpdesk, admin, ticket) = (&s.helpdesk, &s.admin, s.ticket);
                async move {
                    helpdesk
                        .update_ticket(admin, ticket, patch, None)
                        .await
                        .unwrap()
                }
            })
        });
    }
    group.finish();
}

fn bench_delivery(c: &mut Criterion) {
    const EVENTS: u32 = 1_000;
    let rt = Runtime::new().unwrap();
    let url = rt.block_on(receiver());
    let s = rt.block_on(setup("delivery"));
    let new = NewWebhook::new(&url, &["*"], "bench").unwrap();
    let (hook, _) = rt
        .block_on(s.helpdesk.create_webhook(&s.admin, new))
        .unwrap();
    let dispatcher = s
        .helpdesk
        .webhook_dispatcher()
        .with_transport(HttpTransport::new().unwrap());
    let mut group = c.benchmark_group("webhook delivery");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("1,000 events to a receiver on loopback", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // Queue the events (untimed), then deliver them all.
                rt.block_on(async {
                    for _ in 0..EVENTS {
                        let event = Event::ping(s.admin.id, chrono::Utc::now());
                        s.store.queue_for_webhook(hook.id, &event).await.unwrap();
                    }
                });
                let start = Instant::now();
                let report = rt
                    .block_on(dispatcher.run_once(chrono::Utc::now()))
                    .unwrap();
                total += start.elapsed();
                assert_eq!(report.delivered, EVENTS);
            }
            total
        })
    });
    group.finish();
}

fn bench_sweep(c: &mut Criterion) {
    const OVERDUE: usize = 2_000;
    let rt = Runtime::new().unwrap();
    let url = rt.block_on(receiver());
    let mut group = c.benchmark_group("sweep escalating 2,000 tickets");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for (name, events) in [
        ("no subscription", None),
        ("subscribed to ticket.escalated", Some("ticket.escalated")),
    ] {
        let s = rt.block_on(setup(&format!("sweep-{}", name.replace(' ', "-"))));
        if let Some(events) = events {
            let new = NewWebhook::new(&url, &[events], "bench").unwrap();
            rt.block_on(s.helpdesk.create_webhook(&s.admin, new))
                .unwrap();
        }
        let clock = ManualClock::new(chrono::Utc::now());
        let helpdesk = Helpdesk::builder_shared(s.store.clone())
            .clock(clock.clone())
            .rate_limits(RateLimits {
                tickets_per_hour: u32::MAX,
                comments_per_hour: u32::MAX,
            })
            .build();
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // Raise the tickets (untimed, concurrently so they are written in
                    // batches), let them go overdue, then sweep.
                    rt.block_on(async {
                        let mut raising = tokio::task::JoinSet::new();
                        for n in 0..OVERDUE {
                            let (helpdesk, admin) = (helpdesk.clone(), s.admin);
                            let new = NewTicket::new(&format!("Ticket {n}"), "", Priority::High);
                            raising.spawn(async move {
                                helpdesk.create_ticket(&admin, new.unwrap()).await
                            });
                        }
                        while let Some(raised) = raising.join_next().await {
                            raised.unwrap().unwrap();
                        }
                    });
                    clock.advance(chrono::Duration::hours(2));
                    let start = Instant::now();
                    let report = rt
                        .block_on(helpdesk.escalation_engine().run_once(clock.now()))
                        .unwrap();
                    total += start.elapsed();
                    assert!(report.escalated.len() >= OVERDUE);
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_queueing, bench_delivery, bench_sweep);
criterion_main!(benches);
