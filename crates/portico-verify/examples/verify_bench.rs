//! Verification throughput on one core, per algorithm.
//!
//! ```text
//! cargo run --release -p portico-verify --example verify_bench
//! ```
//!
//! For each of EdDSA, ES256 and RS256 it starts the test fixture issuer, builds a `Verifier`
//! (keys cached after discovery, as in production), then calls `Verifier::verify` on one
//! thread in a tight loop: a warm-up, then `ROUNDS` timed rounds. Each call does the whole
//! job: header parsing, allow-list and key lookup, signature check, claim validation and
//! typed claims. It prints each round and the median, in verifications per second per core,
//! next to the bare aws-lc-rs signature check of the same token as a baseline.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Issuer, TestKey};
use jsonwebtoken::Algorithm;

const ROUNDS: usize = 5;
const ROUND: Duration = Duration::from_secs(2);
const WARM_UP: Duration = Duration::from_millis(500);

// One thread: the figure is per core.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "verify_bench: {ROUNDS} rounds of {} s per algorithm, 1 thread ({cores} cores visible)",
        ROUND.as_secs()
    );
    for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256] {
        let key = TestKey::generate(alg);
        let issuer = Issuer::start(&[&key]).await;
        let verifier = issuer.verifier().build().await.expect("verifier");
        let claims = issuer.user_claims(
            "expense.report.read quickexpense.writeonly travel.profile.read travel.profile.passport",
        );
        let token = key.token(&claims);
        verifier
            .verify(&token)
            .await
            .expect("the bench token verifies");

        let (verifier, token) = (&verifier, token.as_str());
        let (full, rounds) = measure(|| async move {
            black_box(
                verifier
                    .verify(black_box(token))
                    .await
                    .expect("valid token"),
            );
        })
        .await;

        // Baseline: only the signature check, straight on aws-lc-rs.
        let (message, signature) = token.rsplit_once('.').expect("compact JWS");
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .expect("base64url signature");
        let algorithm: &'static dyn VerificationAlgorithm = match alg {
            Algorithm::EdDSA => &sig::ED25519,
            Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
            _ => &sig::RSA_PKCS1_2048_8192_SHA256,
        };
        let public_key = &UnparsedPublicKey::new(algorithm, key.public_key_bytes());
        let signature = signature.as_slice();
        let (bare, _) = measure(|| async move {
            public_key
                .verify(black_box(message.as_bytes()), black_box(signature))
                .expect("valid signature");
        })
        .await;

        println!(
            "{:<6} median {full:>7.0} verifications/s/core ({:.1} µs each; rounds: {rounds}); \
             signature check alone {bare:.0}/s; token {} bytes",
            format!("{alg:?}"),
            1e6 / full,
            token.len(),
        );
    }
}

/// Runs `op` for a warm-up, then `ROUNDS` timed rounds; returns the median rate per second and
/// the list of round rates.
async fn measure<F, Fut>(mut op: F) -> (f64, String)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    run(&mut op, WARM_UP).await;
    let mut rates = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        rates.push(run(&mut op, ROUND).await);
    }
    let listed = rates
        .iter()
        .map(|r| format!("{r:.0}"))
        .collect::<Vec<_>>()
        .join(", ");
    rates.sort_by(f64::total_cmp);
    (rates[ROUNDS / 2], listed)
}

/// Calls `op` repeatedly for `duration`; returns calls per second.
async fn run<F, Fut>(op: &mut F, duration: Duration) -> f64
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let start = Instant::now();
    let mut count: u64 = 0;
    while start.elapsed() < duration {
        // Check the clock every 64 calls so timing costs little.
        for _ in 0..64 {
            op().await;
        }
        count += 64;
    }
    count as f64 / start.elapsed().as_secs_f64()
}
