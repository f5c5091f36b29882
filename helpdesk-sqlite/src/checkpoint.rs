//! Checkpoints of the write-ahead log, off the writer's path.
//!
//! In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies them back into
//! the database file. SQLite's default runs it inside the commit that takes the log past
//! 1,000 pages, on the connection that commits: here the one writer, so every write queued
//! behind it waited too (the sweep of 10,000 tickets spent about 140 ms of 550 in its commit's
//! checkpoint, and tickets raised under load waited behind such commits). The store runs
//! `PRAGMA wal_checkpoint(PASSIVE)` every [`INTERVAL`] on a connection of its own instead: a
//! passive checkpoint takes no lock a writer or a reader waits for, and copies what no reader
//! still needs. The writer checkpoints itself only past [`WRITER_PAGES`], should this one
//! fall behind or stop.

use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqlitePool};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::oneshot;
use tokio::time::MissedTickBehavior;

/// How often the checkpointer copies the log back.
pub(crate) const INTERVAL: Duration = Duration::from_millis(200);

/// The writer's own `wal_autocheckpoint`: pages of log (4 KiB each, 64 MiB in all) after
/// which its commit checkpoints, as SQLite's default does at 1,000.
pub(crate) const WRITER_PAGES: u32 = 16_384;

/// Starts the checkpointer on a connection of its own to the database `options` opens. It
/// stops when the returned sender is dropped or `writer` is closed.
pub(crate) async fn start(
    options: SqliteConnectOptions,
    writer: &SqlitePool,
) -> sqlx::Result<oneshot::Sender<()>> {
    let mut connection: SqliteConnection = options.connect().await?;
    let (stop, mut stopped) = oneshot::channel::<()>();
    let mut closed = writer.close_event();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                () = &mut closed => break,
                _ = ticks.tick() => {}
            }
            // A failure (another process checkpointing the same file, say) leaves the pages
            // for the next tick, or for the writer past its limit.
            let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&mut connection)
                .await;
        }
        let _ = connection.close().await;
    });
    Ok(stop)
}
