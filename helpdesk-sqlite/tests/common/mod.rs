//! What the tests that write a database both through the store and from a second connection
//! share.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use helpdesk_sqlite::SqliteStore;
use sqlx::{Connection, Executor, SqliteConnection};

/// A new database file in a directory of its own (named for `name` and this process): the
/// store, a second connection to it, and the directory to remove at the end.
pub(crate) async fn database(name: &str) -> (SqliteStore, SqliteConnection, PathBuf) {
    let dir = std::env::temp_dir().join(format!("helpdesk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("helpdesk.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    let conn = SqliteConnection::connect(&url).await.unwrap();
    (store, conn, dir)
}

/// Users 1 to 4: an admin, a user and two agents.
#[allow(dead_code)] // not every test that shares this module writes users
pub(crate) async fn users(conn: &mut SqliteConnection) {
    conn.execute(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, role, created_at, \
         updated_at) VALUES (1, 'admin@example.com', 'x', 'A', 'A', 'admin', 0, 0), \
         (2, 'user@example.com', 'x', 'U', 'U', 'user', 0, 0), \
         (3, 'agent@example.com', 'x', 'G', 'G', 'agent', 0, 0), \
         (4, 'other@example.com', 'x', 'O', 'O', 'agent', 0, 0)",
    )
    .await
    .unwrap();
}
