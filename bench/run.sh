#!/usr/bin/env bash
# Portico's benchmark: builds the release binary, then bench.py starts it on SQLite and on
# PostgreSQL (small and large databases), provisions apps and tokens through the admin API,
# drives every scenario with wrk and prints one table. See BENCHMARKS.md.
#
#   bench/run.sh                          # the full run (3 runs of every figure, ~30 min)
#   bench/run.sh --runs 1 --duration 5    # a quick look
#   bench/run.sh --configs sqlite-small --scenarios client_credentials
#   bench/run.sh --configs sqlite-small,postgres-small \
#     --scenarios client_credentials,client_credentials_dpop,client_credentials_pkjwt
#
# Scenarios: client_credentials (client_secret_basic), client_credentials_dpop (the same plus a
# DPoP proof per request), client_credentials_pkjwt (private_key_jwt: a client assertion per
# request, no secret), introspection, refresh_token, request_token. The DPoP and
# private_key_jwt requests are single-use: bench/jwtgen.py signs them right before each run.
#
# Needs: wrk, python3 (with the `cryptography` package for the DPoP and private_key_jwt
# scenarios), psql (and a PostgreSQL at --pg, default postgres://postgres@127.0.0.1:5432
# with trust auth), sqlite3 for --configs sqlite-large. On Debian:
#   apt-get install -y wrk postgresql-client sqlite3
# Only 127.0.0.1 is contacted. Set CARGO_TARGET_DIR to build elsewhere; BENCH_SKIP_BUILD=1 uses
# the binary already built.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk python3 psql; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is required (see bench/run.sh)" >&2; exit 1; }
done
target="${CARGO_TARGET_DIR:-target}"
if [[ -z "${BENCH_SKIP_BUILD:-}" ]]; then
  cargo build --release --locked --bin portico >&2
fi
exec python3 bench/bench.py --bin "$target/release/portico" "$@"
