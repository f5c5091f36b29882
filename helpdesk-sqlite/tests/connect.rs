//! What `SqliteStore::connect` opens.

use helpdesk_core::{Helpdesk, NewTicket, Priority, Registration};
use helpdesk_sqlite::SqliteStore;

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn an_in_memory_url_is_one_private_database() {
    for url in ["sqlite::memory:", "sqlite://demo?mode=memory"] {
        let hd = Helpdesk::new(SqliteStore::connect(url).await.unwrap());
        let user = hd
            .register(Registration::new("ada@example.com", PASSWORD, "", "").unwrap())
            .await
            .unwrap();
        let ticket = hd
            .create_ticket(
                &user.actor(),
                NewTicket::new("t", "", Priority::Low).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(
            hd.get_ticket(&user.actor(), ticket.id).await.unwrap().id,
            ticket.id,
            "{url}"
        );
    }
}
