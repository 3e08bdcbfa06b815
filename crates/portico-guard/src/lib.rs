//! What keeps a stranger from wearing Portico down: argon2 runs on a small bounded pool with a
//! short queue ([`argon`]), and failed attempts are counted per key in storage every node
//! shares ([`limits`]). Both fail closed: a full pool answers "busy", a full local memory of
//! refusals asks the database, and nothing here ever turns a refusal into an acceptance.

pub mod argon;
pub mod limits;
pub mod sign_in;

pub use argon::{ArgonPool, Lane, Saturated};
pub use limits::{Limiter, Standing};
pub use sign_in::PasswordCheck;
