//! Black-box tests: the real `portico` binary on port 0, driven over HTTP, on SQLite and
//! PostgreSQL.

/// `both_backends!(name)`: `name::sqlite` and `name::postgres` tests (from the kit).
pub use portico_testkit::both_backends;

pub mod attacker;
pub mod helpers;
pub mod oauth_helpers;

mod attacks;
mod audit;
mod cli;
mod codes;
mod concurrency;
mod connections;
mod developer_program;
mod independent_client;
mod independent_js;
mod keyless;
mod metrics;
mod nodes;
mod oauth;
mod oidc;
mod openapi;
mod par;
mod registry;
mod resource_server;
