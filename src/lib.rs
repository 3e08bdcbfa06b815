//! The `portico` binary's library half: configuration, logging, startup and the CLI, so the
//! black-box tests in `tests/` can start the real server in-process on port 0.

pub mod cli;
pub mod config;
pub mod startup;
pub mod telemetry;
