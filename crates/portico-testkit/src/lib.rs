//! Portico's test kit, shared by the black-box tests (`tests/api`, `tests/browser`) and the
//! crates' own tests:
//!
//! - [`skip_or_fail`]: the one way a test that cannot run here (no PostgreSQL, no Chromium)
//!   returns early: it says so on stderr, and fails instead under `CI=true`;
//! - [`Backend`], [`both_backends!`] and [`test_database`]: a fresh database per test, on SQLite
//!   and on PostgreSQL (`PORTICO_TEST_DATABASE_URL`);
//! - [`Node`], [`spawn_app`] and [`TestApp`]: the real `portico` binary on port 0, its
//!   first-run sandbox accounts, and the admin API driven over HTTP.
//!
//! A library cannot name the binary (`env!("CARGO_BIN_EXE_portico")` exists only in the
//! package's own integration tests), so the test binaries pass its path in.

mod app;
mod db;
mod node;

pub use app::{Credentials, Session, TestApp, expense_app, spawn_app};
pub use db::{Backend, TestDatabase, postgres_url, require_postgres, test_database};
pub use node::{Node, catalog_path, random_master_key};

/// Whether this run is CI's (`CI=true`), where no test may skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// For a test that cannot run here (`reason` says why, e.g. "PORTICO_TEST_DATABASE_URL is not
/// set"): under `CI=true` it panics, so CI never passes a test it did not run; otherwise it
/// prints `skipped: <test>: <reason>` to stderr and the caller returns.
#[track_caller]
pub fn skip_or_fail(reason: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    if in_ci() {
        panic!("{test} cannot run: {reason}; CI=true, where a skip is a failure");
    }
    eprintln!("skipped: {test}: {reason}");
}

/// Runs an async test body once per backend: `both_backends!(name);` expects `async fn
/// name(backend: Backend)` in scope and makes `name::sqlite` and `name::postgres` tests. The
/// PostgreSQL one needs `PORTICO_TEST_DATABASE_URL` (see [`skip_or_fail`]). The calling crate
/// needs `tokio` (macros, rt-multi-thread).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::require_postgres().is_none() {
                    return;
                }
                super::$name($crate::Backend::Postgres).await
            }
        }
    )*};
}
