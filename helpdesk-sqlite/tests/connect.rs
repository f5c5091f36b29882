//! What `SqliteStore::connect` opens.

use std::path::PathBuf;

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
    let (dir, file, store, _) = registered("mode").await;
    for path in [file.clone(), dir.join("helpdesk.db-wal")] {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn sessions_are_looked_up_while_every_read_connection_is_busy() {
    let dir = std::env::temp_dir().join(format!("helpdesk-auth-pool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("helpdesk.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    helpdesk_sql::testing::sessions_do_not_wait_for_reads(store.clone()).await;
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The query planner needs statistics to read an agent's tickets from the right index (6 ms
/// instead of 0.5 ms at 100,000 tickets without them): the store gathers them when it closes
/// its writer, and a database that has none (every database the store created before) gets
/// them when the store opens it.
#[tokio::test]
async fn opening_a_database_gathers_the_query_planners_statistics() {
    let dir = std::env::temp_dir().join(format!("helpdesk-stats-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("helpdesk.db");
    let url = format!("sqlite://{}", file.display());
    let store = SqliteStore::connect(&url).await.unwrap();
    let hd = Helpdesk::new(store.clone());
    let user = hd
        .register(Registration::new("ada@example.com", PASSWORD, "", "").unwrap())
        .await
        .unwrap();
    for k in 0..20 {
        hd.create_ticket(
            &user.actor(),
            NewTicket::new(&format!("ticket {k}"), "", Priority::Low).unwrap(),
        )
        .await
        .unwrap();
    }
    store.close().await;
    let stats = "SELECT count(*) FROM sqlite_stat1 WHERE idx = 'tickets_assigned_to'";
    assert_eq!(
        query(&url, stats).await.unwrap(),
        1,
        "gathered when the store was closed"
    );
    query(&url, "DELETE FROM sqlite_stat1 RETURNING 0")
        .await
        .unwrap();
    assert_eq!(query(&url, stats).await.unwrap(), 0);

    let store = SqliteStore::connect(&url).await.unwrap();
    assert_eq!(
        query(&url, stats).await.unwrap(),
        1,
        "gathered when the store opened"
    );
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A store on a new database file in a directory of its own (named for `name` and this
/// process), with one user: the directory, the file, the store and the user.
#[allow(clippy::unwrap_used)] // a test's setup, as in the tests themselves
async fn registered(name: &str) -> (PathBuf, PathBuf, SqliteStore, helpdesk_core::User) {
    let dir = std::env::temp_dir().join(format!("helpdesk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("helpdesk.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let user = Helpdesk::new(store.clone())
        .register(Registration::new("ada@example.com", PASSWORD, "", "").unwrap())
        .await
        .unwrap();
    (dir, file, store, user)
}

/// The first value `sql` answers, on a connection of its own.
async fn query(url: &str, sql: &'static str) -> sqlx::Result<i64> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(url).await?;
    let value = sqlx::query_scalar(sql).fetch_optional(&mut conn).await?;
    Ok(value.unwrap_or_default())
}

/// The workspace builds SQLite as `.cargo/config.toml` says: without the global mutexes
/// (`SQLITE_ENABLE_MEMORY_MANAGEMENT` off, memory statistics off) and with the query planner's
/// stability guarantee, so no statement is planned again each time its parameters are bound.
/// Losing the line would fail no other test, it would only make the server slower under load.
#[tokio::test]
async fn sqlite_is_built_with_the_workspaces_options() {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .unwrap();
    let options: Vec<String> =
        sqlx::query_scalar("SELECT compile_options FROM pragma_compile_options")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let has = |option: &str| options.iter().any(|o| o == option);
    assert!(
        has("ENABLE_QPSG"),
        "planned once, whatever is bound: {options:?}"
    );
    assert!(
        !has("ENABLE_MEMORY_MANAGEMENT"),
        "no shared page cache group: {options:?}"
    );
    assert!(
        has("DEFAULT_MEMSTATUS=0"),
        "no memory statistics: {options:?}"
    );
}

/// Commits leave the write-ahead log to a checkpointer of the store's own, which copies it
/// back into the database file within moments, with no further write: the writer's commits
/// would do it themselves only past 16,384 pages, and SQLite's would past 1,000. When the
/// store closes, the checkpointer closes its connection too.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_log_is_copied_back_in_the_background_until_the_store_closes() {
    use std::time::{Duration, Instant};
    let (dir, file, store, user) = registered("checkpoint").await;
    let hd = Helpdesk::new(store.clone());
    // Let the checkpointer catch up with the migrations, then write a few hundred pages
    // (50 tickets of 19 KB, their search index and history: under SQLite's own 1,000).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = std::fs::metadata(&file).unwrap().len();
    let description = "lorem ipsum dolor sit amet ".repeat(700);
    for k in 0..50 {
        hd.create_ticket(
            &user.actor(),
            NewTicket::new(&format!("ticket {k}"), &description, Priority::Low).unwrap(),
        )
        .await
        .unwrap();
    }
    let copied = Instant::now();
    while std::fs::metadata(&file).unwrap().len() < before + 500_000 {
        assert!(
            copied.elapsed() < Duration::from_secs(10),
            "the database file still holds {before} bytes: nothing copied the log back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    store.close().await;
    drop((hd, store));
    let closed = Instant::now();
    while open_files(&file).unwrap() > 0 {
        assert!(
            closed.elapsed() < Duration::from_secs(5),
            "a connection to {} outlived the store",
            file.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// How many of this process's file descriptors are open on `file`.
#[cfg(target_os = "linux")]
fn open_files(file: &std::path::Path) -> std::io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/fd")?
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter(|target| target == file)
        .count())
}
