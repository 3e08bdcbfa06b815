#!/usr/bin/env python3
"""Attributes `perf script` samples (recorded with --call-graph dwarf) to the parts of a
request: reads perf script output on stdin, prints the share of samples per part.

    perf record -e cpu-clock -F 1000 --call-graph dwarf,16384 -p PID -- sleep 5
    perf script | bench/attribute.py

Each sample goes to the first (outermost-first list order) part whose pattern appears in its
call chain; the order below puts specific parts before the general ones that contain them.
"""
import re
import sys
from collections import Counter

PARTS = [
    ("argon2 (secret verification)", r"argon2"),
    ("JWT signing (Ed25519)", r"KeyRing::sign|ED25519_sign|Ed25519KeyPair.*sign"),
    ("JWT verification (jsonwebtoken)", r"jsonwebtoken::"),
    ("Ed25519 verification (client assertion, DPoP proof)", r"ed25519_verify|ED25519_verify"),
    ("client assertion / DPoP proof: parsing, claims", r"portico_jose::|unverified_subject"),
    ("database: jti insert (replay store)", r"first_use|portico_store::replay"),
    ("database: find refresh token", r"find_refresh_token"),
    ("database: rotate refresh token", r"rotate_refresh_token"),
    ("database: insert grant", r"insert_grant"),
    ("database: request token", r"find_request_token"),
    ("database: other", r"sea_orm::|sqlx_core::|sqlx_postgres::|sqlx_sqlite::"),
    ("claims + response JSON (serde_json)", r"serde_json::"),
    ("oxide-auth flow", r"oxide_auth"),
    ("client authentication (cache)", r"Directory>::authenticate|directory::Directory"),
    ("form parsing", r"Params::parse|serde_urlencoded"),
    ("portico token/introspect logic", r"portico_oauth::"),
    ("request span (tracing)", r"tracing_subscriber|tracing_core|tracing::span"),
    ("HTTP (hyper/axum/tower)", r"hyper::|axum::|tower::|tower_http::|http::"),
    ("tokio scheduler + I/O driver", r"tokio::"),
    ("allocator", r"malloc|_int_free|cfree|realloc"),
]
COMPILED = [(name, re.compile(pat)) for name, pat in PARTS]


def samples(lines):
    chain = []
    for line in lines:
        if not line.strip():
            if chain:
                yield chain
            chain = []
        elif line.startswith(("\t", " ")):
            chain.append(line.strip())
        else:
            chain = []
    if chain:
        yield chain


def main():
    counts, kernel = Counter(), Counter()
    total = 0
    for chain in samples(sys.stdin):
        total += 1
        text = "\n".join(chain)
        part = next((name for name, rx in COMPILED if rx.search(text)), "other")
        counts[part] += 1
        if "[kernel.kallsyms]" in chain[0]:
            kernel[part] += 1
    for part, n in counts.most_common():
        print(f"{100 * n / total:5.1f}%  {part}  (kernel {100 * kernel[part] / max(n, 1):.0f}%)")
    print(f"{total} samples")


if __name__ == "__main__":
    main()
