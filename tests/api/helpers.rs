//! The shared test kit (`crates/portico-testkit`), pointed at this package's `portico` binary:
//! `spawn_app` starts it on port 0 over a fresh database (a SQLite file in a temporary
//! directory, or a new PostgreSQL database when `PORTICO_TEST_DATABASE_URL` is set), reads the
//! sandbox accounts and the address it prints, and `TestApp` drives it over HTTP.
//! `Node::start(PORTICO, ...)` starts more processes on the same database.

pub use portico_testkit::{
    Backend, Credentials, Node, Session, TestApp, expense_app, random_master_key, require_postgres,
};

/// The binary under test.
pub const PORTICO: &str = env!("CARGO_BIN_EXE_portico");

pub async fn spawn_app(backend: Backend) -> TestApp {
    portico_testkit::spawn_app(PORTICO, backend, &[]).await
}

pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    portico_testkit::spawn_app(PORTICO, backend, overrides).await
}
