//! The shared store conformance suite, on an in-memory database and on a real file.

mod in_memory {
    helpdesk_core::store_conformance_tests!(
        helpdesk_sqlite::SqliteStore::in_memory()
            .await
            .expect("in-memory store")
    );
}

mod on_file {
    helpdesk_core::store_conformance_tests!({
        let dir = std::env::temp_dir().join(format!(
            "helpdesk-conformance-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock after 1970")
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}", dir.join("helpdesk.db").display());
        helpdesk_sqlite::SqliteStore::connect(&url)
            .await
            .expect("file store")
    });
}
