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

#[cfg(unix)]
#[tokio::test]
async fn a_new_database_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("helpdesk-mode-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("helpdesk.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    Helpdesk::new(store.clone())
        .register(Registration::new("ada@example.com", PASSWORD, "", "").unwrap())
        .await
        .unwrap();
    for path in [file.clone(), dir.join("helpdesk.db-wal")] {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn sessions_are_looked_up_while_every_read_connection_is_busy() {
    use helpdesk_core::store::{SessionStore, TokenHash, UserDraft, UserStore};
    let dir = std::env::temp_dir().join(format!("helpdesk-auth-pool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("helpdesk.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    let now = chrono::Utc::now();
    let ada = store
        .insert_user(&UserDraft {
            email: "ada@example.com".into(),
            password_hash: "x".into(),
            first_name: String::new(),
            last_name: String::new(),
            role: helpdesk_core::Role::User,
            created_at: now,
        })
        .await
        .unwrap();
    let token = TokenHash([7; 32]);
    store
        .insert_session(token, ada.id, now, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    // Long searches hold every read connection.
    let mut held = Vec::new();
    for _ in 0..store.reader().options().get_max_connections() {
        held.push(store.reader().acquire().await.unwrap());
    }
    assert!(
        store.reader().try_acquire().is_none(),
        "the read pool is exhausted"
    );
    let user = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        store.session_user(token, now),
    )
    .await
    .expect("authentication must not wait for the read pool")
    .unwrap();
    assert_eq!(user.map(|u| u.id), Some(ada.id));
    drop(held);
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
