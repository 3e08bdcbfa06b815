use super::b64;
use crate::nonce::{NonceKey, SLOT_SECONDS};

const NOW: i64 = 1_750_000_020;
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

#[test]
fn accepted_in_its_slot_and_the_next() {
    let key = NonceKey::new(SECRET);
    let nonce = key.issue(NOW);
    assert_eq!(nonce.len(), 32);
    assert!(key.accepts(&nonce, NOW));
    let slot_start = NOW - NOW.rem_euclid(SLOT_SECONDS);
    assert_eq!(key.issue(slot_start), nonce);
    assert!(key.accepts(&nonce, slot_start + SLOT_SECONDS - 1));
    assert!(key.accepts(&nonce, slot_start + 2 * SLOT_SECONDS - 1));
    // Too old a slot.
    assert!(!key.accepts(&nonce, slot_start + 2 * SLOT_SECONDS));
    assert!(!key.accepts(&nonce, NOW + 3600));
    // Not yet issued (a future slot).
    assert!(!key.accepts(&nonce, slot_start - 1));
    assert_ne!(key.issue(NOW + SLOT_SECONDS), nonce);
}

#[test]
fn shared_by_nodes_with_the_same_secret_only() {
    let node_a = NonceKey::new(SECRET);
    let node_b = NonceKey::new(SECRET);
    assert!(node_b.accepts(&node_a.issue(NOW), NOW));
    let other = NonceKey::new(b"another secret, another deployment");
    assert!(!other.accepts(&node_a.issue(NOW), NOW));
}

#[test]
fn forged_and_garbage_nonces_are_refused() {
    let key = NonceKey::new(SECRET);
    let nonce = key.issue(NOW);
    let mut raw = super::b64_decode(&nonce);
    // Tampered tag.
    raw[20] ^= 1;
    assert!(!key.accepts(&b64(&raw), NOW));
    // The slot moved forward with the old tag.
    let mut raw = super::b64_decode(&nonce);
    raw[7] = raw[7].wrapping_add(1);
    assert!(!key.accepts(&b64(&raw), NOW + SLOT_SECONDS));
    for g in [
        "",
        "x",
        &"A".repeat(32),
        &"!".repeat(32),
        &format!("{nonce}A"),
        &nonce[1..],
    ] {
        assert!(!key.accepts(g, NOW), "{g:?}");
    }
    assert!(!format!("{key:?}").contains("0123"));
}

#[test]
fn extreme_times_do_not_panic() {
    let key = NonceKey::new(SECRET);
    for now in [i64::MIN, -1, 0, i64::MAX] {
        let n = key.issue(now);
        assert!(key.accepts(&n, now));
    }
    assert!(!key.accepts(&key.issue(i64::MAX), i64::MIN));
}
