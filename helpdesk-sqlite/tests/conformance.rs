//! The shared store conformance suite, on an in-memory database and on a real file.

mod in_memory {
    helpdesk_core::store_conformance_tests!(
        helpdesk_sqlite::SqliteStore::connect("sqlite::memory:")
            .await
            .expect("in-memory store")
    );
}

mod on_file {
    /// A new directory for one test's database; directories of earlier runs (over an hour
    /// old) are removed on the way, so runs do not pile up files.
    fn fresh_dir() -> std::path::PathBuf {
        let now = std::time::SystemTime::now();
        let root = std::env::temp_dir().join("helpdesk-conformance");
        if let Ok(entries) = std::fs::read_dir(&root) {
            for entry in entries.flatten() {
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age.as_secs() > 3600);
                if old {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let nanos = now
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos();
        let dir = root.join(format!("{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    helpdesk_core::store_conformance_tests!({
        let dir = fresh_dir();
        let url = format!("sqlite://{}", dir.join("helpdesk.db").display());
        helpdesk_sqlite::SqliteStore::connect(&url)
            .await
            .expect("file store")
    });
}
