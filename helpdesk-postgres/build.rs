//! Turns the PostgreSQL tests on when `HELPDESK_TEST_POSTGRES_URL` is set; without it they are
//! compiled but reported as ignored, never passed silently. Builds the crate again when a
//! migration is added or changed (`sqlx::migrate!` embeds the directory, which cargo does not
//! watch by itself).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(helpdesk_postgres_tests)");
    println!("cargo::rerun-if-env-changed=HELPDESK_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-changed=migrations");
    if std::env::var_os("HELPDESK_TEST_POSTGRES_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=helpdesk_postgres_tests");
    }
}
