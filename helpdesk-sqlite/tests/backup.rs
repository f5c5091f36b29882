//! `helpdesk_sqlite::backup`: a consistent copy of a database that is being written.

use helpdesk_core::{
    Helpdesk, NewTicket, Page, PageRequest, Priority, RateLimits, Registration, TicketQuery,
};
use helpdesk_sqlite::{SqliteStore, backup};

const PASSWORD: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_tickets_are_raised_is_a_consistent_database() {
    let dir = std::env::temp_dir().join(format!("helpdesk-backup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("live.db").display());
    let limits = RateLimits {
        tickets_per_hour: 1000,
        ..RateLimits::default()
    };
    let hd = Helpdesk::builder(SqliteStore::connect(&url).await.unwrap())
        .rate_limits(limits)
        .build();
    let ada = hd
        .register(Registration::new("ada@example.com", PASSWORD, "Ada", "L").unwrap())
        .await
        .unwrap();
    let raise = |n: usize| {
        let (hd, actor) = (hd.clone(), ada.actor());
        async move {
            for i in 0..n {
                let new = NewTicket::new(&format!("ticket {i}"), "", Priority::High).unwrap();
                hd.create_ticket(&actor, new).await.unwrap();
            }
        }
    };
    raise(50).await;
    // Tickets keep being raised while the copy is taken.
    let writer = tokio::spawn(raise(200));
    let copy = dir.join("copy.db");
    let store = SqliteStore::connect(&url).await.unwrap();
    backup(&store, &copy).await.unwrap();
    writer.await.unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let restored = Helpdesk::new(
        SqliteStore::connect(&format!("sqlite://{}", copy.display()))
            .await
            .unwrap(),
    );
    let signed_in = restored.login("ada@example.com", PASSWORD).await.unwrap();
    let actor = restored
        .authenticate(signed_in.token.as_str())
        .await
        .unwrap()
        .actor();
    let page: Page<_> = restored
        .list_tickets(
            &actor,
            &TicketQuery::default(),
            PageRequest::new(1, 100).unwrap(),
        )
        .await
        .unwrap();
    // Every ticket raised before the copy started, and each ticket in it whole, with its
    // history: a snapshot, whatever the writer did meanwhile.
    assert!((50..=250).contains(&page.count), "{}", page.count);
    for ticket in &page.items {
        let history = restored
            .history(&actor, ticket.id, PageRequest::new(1, 10).unwrap())
            .await
            .unwrap();
        assert_eq!(
            history.items.len(),
            1,
            "ticket {} has its created event",
            ticket.id
        );
    }

    // An existing file is refused and left alone.
    std::fs::write(dir.join("taken.db"), b"keep me").unwrap();
    assert!(backup(&store, &dir.join("taken.db")).await.is_err());
    assert_eq!(std::fs::read(dir.join("taken.db")).unwrap(), b"keep me");
    std::fs::remove_dir_all(&dir).unwrap();
}
