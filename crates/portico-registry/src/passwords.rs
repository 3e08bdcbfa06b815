//! argon2id hashing and verification off the async executor: each takes tens of milliseconds
//! of CPU, which would stall every other request on the worker thread.

use portico_domain::secret;

pub async fn hash(secret: String) -> String {
    tokio::task::spawn_blocking(move || secret::hash_secret(&secret))
        .await
        .expect("argon2 hashing does not panic")
}

pub async fn verify(secret: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || secret::verify_secret(&secret, &phc))
        .await
        .unwrap_or(false)
}
