//! Black-box tests: the real server on port 0, driven over HTTP, on SQLite and PostgreSQL.

pub mod helpers;

mod registry;
