//! argon2id hashing and verification for the registry, on the process's bounded pool (see
//! `portico_guard::argon`): a full pool answers `Unavailable` rather than queueing without end.

use portico_domain::DomainResult;
use portico_guard::{Lane, argon};

pub async fn hash(secret: String) -> DomainResult<String> {
    Ok(argon::pool().hash(secret).await?)
}

pub async fn verify(lane: Lane, secret: String, phc: String) -> DomainResult<bool> {
    Ok(argon::pool().verify(lane, secret, phc).await?)
}
