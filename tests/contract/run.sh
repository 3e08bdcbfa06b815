#!/usr/bin/env bash
# The admin API against its own OpenAPI contract: schemathesis (from PyPI) runs every operation
# of /admin/v1/openapi.json against the real `portico` binary, on a fresh SQLite database, signed
# in as the first run's staff account, with schemathesis' default checks (no server error, status
# codes, content types, headers and bodies as documented, invalid data refused, valid data
# accepted, authentication enforced, 405 for undocumented methods). Any failure fails the run.
#
#   bash tests/contract/run.sh            # builds the debug binary if needed
#   PORTICO_BIN=target/release/portico bash tests/contract/run.sh
#   CONTRACT_ARGS="--seed 7 --max-examples 300" bash tests/contract/run.sh   # explore further
#
# Settings (tests/contract/schemathesis.toml) and why: see the comments there. Bounded: a fixed
# number of examples per operation and an overall timeout (CONTRACT_TIMEOUT, seconds).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

step() { printf '\n== contract: %s (%s)\n' "$*" "$(date +%T)"; }

SCHEMATHESIS_VERSION=4.32.5
timeout_s="${CONTRACT_TIMEOUT:-600}"

# A Python of 3.12 or later when there is one: on 3.11, hypothesis describing its strategies can
# trip CPython's "AST constructor recursion depth mismatch" (fixed in 3.12) on the deeper schemas.
pick_python() {
  local c
  for c in python3.13 python3.12 \
    $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) \
    python3; do
    if "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$c"
      return
    fi
  done
  echo python3
}
python=$(pick_python)
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
venv="$root/target/contract/venv-$pyver"

# schemathesis in a virtualenv of its own, pinned (a fresh machine gets it from PyPI).
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  step "installing schemathesis $SCHEMATHESIS_VERSION (Python $pyver)"
  if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends python3-venv
  fi
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

bin="${PORTICO_BIN:-}"
if [ -n "$bin" ]; then bin=$(realpath "$bin"); fi
if [ -z "$bin" ]; then
  step "cargo build (the portico binary)"
  cargo build --locked --bin portico
  bin="$root/target/debug/portico"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/portico-contract.XXXXXX")
server_pid=""
cleanup() {
  local rc=$?
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ "$rc" -ne 0 ] && [ -s "$work/stderr" ]; then
    mkdir -p "$root/target/contract"
    cp "$work/stderr" "$root/target/contract/server.log"
    echo "the server's log: target/contract/server.log" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step "starting portico on a fresh SQLite database"
master_key=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
(
  cd "$work"
  exec env -i PATH="$PATH" HOME="$work" \
    PORTICO_DATABASE_URL="sqlite://$work/portico.db" \
    PORTICO_SERVER_BIND=127.0.0.1:0 \
    PORTICO_CATALOG_PATH="$root/config/apis.toml" \
    PORTICO_MASTER_KEY="$master_key" \
    PORTICO_SIGNUP_MODE=open \
    PORTICO_SIGNUP_PER_SOURCE_BURST=100000 \
    PORTICO_LOG_FILTER=warn \
    "$bin" serve >"$work/stdout" 2>"$work/stderr"
) &
server_pid=$!
base=""
for _ in $(seq 1 600); do
  base=$(sed -n 's/^Portico listening on \(http[^ ]*\).*/\1/p' "$work/stdout" | head -n 1)
  if [ -n "$base" ]; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "portico exited before listening:" >&2
    cat "$work/stdout" "$work/stderr" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$base" ]; then echo "portico did not listen within a minute" >&2; exit 1; fi

# The first run prints the staff account's one-time password under "operator (staff):".
read -r login password < <(python3 - "$work/stdout" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
at = next(i for i, l in enumerate(lines) if l.strip().startswith("operator (staff):"))
def value(prefix):
    return next(l.strip()[len(prefix):].strip() for l in lines[at:] if l.strip().startswith(prefix))
print(value("admin login id:"), value("password (shown once):"))
EOF
)

# A bearer token for the staff account: staff reach every operation (some only they may call).
sign_in() {
  curl -sf "$base/admin/v1/session" -H 'content-type: application/json' \
    -d "{\"login_id\":\"$login\",\"password\":\"$password\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

run() {
  local token=$1; shift
  (
    # In the temporary directory: schemathesis and hypothesis leave their state where they run.
    cd "$work"
    PYTHONPATH="$root/tests/contract" timeout --kill-after=10 "$timeout_s" "$venv/bin/schemathesis" \
      --config-file "$work/schemathesis.toml" \
      run "$base/admin/v1/openapi.json" \
      -H "Authorization: Bearer $token" \
      ${CONTRACT_ARGS:-} "$@"
  )
}

api() { # METHOD PATH TOKEN [JSON]: the answer's body; fails on an error status
  curl -sf -X "$1" "$base/admin/v1$2" -H "authorization: Bearer $3" \
    ${4:+-H 'content-type: application/json' -d "$4"}
}
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }

started=$(date +%s)
token=$(sign_in)
# The writes that could end the run's own session (a user's password, enabled flag or
# permissions; a company's enabled flag) are pinned to a company and a user made for the run,
# so that what the fuzzer learns from GET /me (the staff account's ids) never reaches them.
CONTRACT_COMPANY_ID=$(api POST /companies "$token" \
  '{"name": "Contract Test Co", "domain": "contract.portico.test", "edition": "standard"}' | json '["id"]')
CONTRACT_USER_ID=$(api POST "/companies/$CONTRACT_COMPANY_ID/users" "$token" \
  '{"login_id": "someone@contract.portico.test", "display_name": "Some One"}' | json '["user"]["id"]')
export CONTRACT_COMPANY_ID CONTRACT_USER_ID

# Things for the operations to find, besides the ids they make up: a developer's sandbox with
# its sample app, submitted for review (so staff can review, then certify it), and a sign-up
# request waiting for staff. schemathesis draws half of each id parameter from these
# (tests/contract/schemathesis.toml, [parameters]).
signed_up=$(curl -sf "$base/admin/v1/sign-up" -H 'content-type: application/json' -d '{
  "name": "Contract Developer", "login_id": "developer@contract.example",
  "password": "correct horse battery staple", "company_name": "Contract Sandbox"}')
sandbox=$(echo "$signed_up" | json '["company"]["id"]')
sample_app=$(echo "$signed_up" | json '["sample_app"]["app"]["id"]')
developer=$(echo "$signed_up" | json '["session"]["token"]')
api POST "/apps/$sample_app/submit" "$developer" >/dev/null
request=$(curl -sf "$base/admin/v1/sign-up" -H 'content-type: application/json' -d '{
  "name": "Waiting Developer", "login_id": "waiting@contract.example",
  "password": "correct horse battery staple", "company_name": "Waiting Sandbox",
  "edition": "professional"}' | json '["request"]["id"]')
# The settings are read from a copy beside these, in the run's own directory.
cp "$root/tests/contract/schemathesis.toml" "$work/schemathesis.toml"
printf '"%s"\n' "$sample_app" >"$work/apps.dict"
printf '"%s"\n' "$sandbox" "$CONTRACT_COMPANY_ID" >"$work/companies.dict"
printf '"%s"\n' "$request" >"$work/requests.dict"

# Every operation except the two sign-outs, whose success ends the very session the run is
# signed in with (every later call would only see 401). They get a run of their own, last.
step "schemathesis: every operation but the sign-outs"
run "$token" --exclude-operation-id sign_out --exclude-operation-id sign_out_everywhere
if ! api GET /me "$token" >/dev/null; then
  echo "the run's session ended during the run: its operations were tested signed out" >&2
  exit 1
fi

step "schemathesis: the sign-outs, with a session of their own"
token=$(sign_in)
run "$token" --include-operation-id sign_out --include-operation-id sign_out_everywhere

if grep -q "panicked" "$work/stderr"; then
  echo "the server panicked during the run:" >&2
  cat "$work/stderr" >&2
  exit 1
fi
step "passed in $(( $(date +%s) - started )) s"
