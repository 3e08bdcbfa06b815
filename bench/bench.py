#!/usr/bin/env python3
"""Portico's token-endpoint benchmark (see BENCHMARKS.md; run through bench/run.sh).

For each database configuration it starts the release binary, provisions a partner app
developer's apps, a resource server and tokens through the admin API, drives every scenario
with wrk (keep-alive, loopback, 32 connections), and reads the server's CPU time and peak
resident memory from /proc. Each scenario runs --runs times after a warm-up; the table shows
the median and the range. Only 127.0.0.1 is ever contacted, and every wrk run is bounded by
--duration.

Standard library only, but for the DPoP and private_key_jwt scenarios, whose single-use JWTs
bench/jwtgen.py signs with the `cryptography` package; needs wrk, and psql (PostgreSQL) /
sqlite3 (large SQLite) to seed.
"""

import argparse
import base64
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
CLK_TCK = os.sysconf("SC_CLK_TCK")

SCENARIOS = ["client_credentials", "client_credentials_dpop", "client_credentials_pkjwt",
             "introspection", "refresh_token", "request_token", "http_floor"]
LABELS = {
    "client_credentials": "client_credentials",
    "client_credentials_dpop": "client_credentials + DPoP",
    "client_credentials_pkjwt": "client_credentials, private_key_jwt",
    "introspection": "introspection (JWT)",
    "refresh_token": "refresh_token grant",
    "request_token": "request-token exchange",
    "http_floor": "HTTP floor (GET /healthz)",
}
# How many apps the scenarios cycle through (client_credentials, request-token exchange), and
# how many distinct access tokens are introspected.
APPS = 4
JWTS = 256
# The scenarios whose every request carries a single-use JWT (a DPoP proof, a client
# assertion): signed in advance by bench/jwtgen.py, sent once each by lua/oneshot.lua.
ONESHOT = {"client_credentials_dpop": "dpop", "client_credentials_pkjwt": "pkjwt"}
# How many of those lines a run gets: its expected requests (the fastest rate seen so far for
# the scenario in this configuration, or the secret-based client_credentials rate, which
# neither can beat) times this margin, plus a few per connection.
ONESHOT_MARGIN = 1.6


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --- HTTP (provisioning only; the load comes from wrk) -------------------------------------


def http(method, url, body=None, headers=None, form=False, body_bytes=None):
    data = body_bytes
    headers = dict(headers or {})
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text


def expect(status, body, want, what):
    if status != want:
        raise SystemExit(f"{what}: HTTP {status}: {body}")
    return body


def basic(client_id, secret):
    enc = lambda s: urllib.parse.quote_plus(s)  # noqa: E731 (RFC 6749 §2.3.1 form-encoding)
    return "Basic " + base64.b64encode(f"{enc(client_id)}:{enc(secret)}".encode()).decode()


# --- The server ------------------------------------------------------------------------------


class Server:
    """One `portico serve` process on a database; stdout parsed for the banner and the URL."""

    def __init__(self, binary, db_url, master_key, workdir, log_filter, max_connections,
                 extra_env=None):
        self.binary, self.db_url, self.master_key = binary, db_url, master_key
        self.workdir, self.log_filter = workdir, log_filter
        self.max_connections = max_connections
        self.extra_env = dict(extra_env or {})
        self.proc = None

    def start(self):
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PORTICO_DATABASE_URL": self.db_url,
            "PORTICO_SERVER_BIND": "127.0.0.1:0",
            "PORTICO_MASTER_KEY": self.master_key,
            "PORTICO_CATALOG_PATH": os.path.join(REPO, "config", "apis.toml"),
            "PORTICO_LOG_FILTER": self.log_filter,
        }
        if self.max_connections:
            env["PORTICO_DATABASE_MAX_CONNECTIONS"] = str(self.max_connections)
        env.update(self.extra_env)
        errlog = open(os.path.join(self.workdir, "server.log"), "a")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [self.binary, "serve"], cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=errlog, text=True)
        banner = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit(f"portico exited before listening: {banner} "
                                 f"(see {self.workdir}/server.log)")
            if line.startswith("Portico listening on "):
                self.ready_s = time.monotonic() - t0
                self.base = line.split("Portico listening on ", 1)[1].strip()
                break
            banner.append(line.rstrip("\n"))
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        self.banner = banner
        return self

    def cpu_s(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime, all threads

    def peak_rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def reset_peak_rss(self):
        """Restarts VmHWM from the current RSS (Linux: clear_refs 5)."""
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")

    def url(self, path):
        return self.base + path

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def sandbox_account(banner, label):
    at = next(i for i, l in enumerate(banner) if l.strip().startswith(label))
    company = banner[at].rsplit("id ", 1)[1].strip()
    value = lambda p: next(  # noqa: E731
        l.strip()[len(p):].strip() for l in banner[at:] if l.strip().startswith(p))
    return value("admin login id:"), value("password (shown once):"), company


# --- Provisioning through the admin API ------------------------------------------------------


class World:
    """What the scenarios need: apps with their secrets, a resource server, request tokens."""

    def __init__(self, id_token_alg, scenarios=()):
        self.id_token_alg = id_token_alg
        self.scenarios = list(scenarios)
        self.rates = {}  # scenario -> the fastest req/s seen (sizes the single-use lines)

    def provision(self, srv):
        staff_login, staff_pw, _ = sandbox_account(srv.banner, "operator (staff):")
        dev_login, dev_pw, dev_company = sandbox_account(srv.banner, "development partner:")
        sign_in = lambda l, p: expect(*http(  # noqa: E731
            "POST", srv.url("/admin/v1/session"), {"login_id": l, "password": p}), 200,
            "sign in")["token"]
        staff, dev = sign_in(staff_login, staff_pw), sign_in(dev_login, dev_pw)
        self.company = dev_company
        self.apps = []
        # Company tokens (and their refreshes) carry an ID token: RS256 (the server's default,
        # the field left out so that older binaries take the request), ES256 or EdDSA.
        extra = {} if self.id_token_alg == "RS256" else {
            "id_token_signed_response_alg": self.id_token_alg}
        for i in range(APPS + 1):
            reg = expect(*http("POST", srv.url("/admin/v1/apps"), {**extra,
                "name": f"Bench App {i}",
                "description": "benchmark client",
                "apis": [{"api": "expense.report.read"},
                         {"api": "travel.profile.read",
                          "sensitive_data_groups": ["travel.profile.passport"]}],
                "redirect_uris": ["https://app.example/callback"],
                "grant_types": ["authorization_code", "refresh_token", "client_credentials",
                                "company_request_token"],
            }, {"Authorization": f"Bearer {dev}"}), 201, "register app")
            self.apps.append({"id": reg["client_id"], "secret": reg["client_secret"],
                              "basic": basic(reg["client_id"], reg["client_secret"])})
        # The last app is the resource server that introspects everyone's tokens.
        self.resource = self.apps.pop()
        # DPoP (client_credentials_dpop): each secret-based app proves possession of its own
        # key. private_key_jwt (client_credentials_pkjwt): as many apps again that have no
        # secret, only a registered Ed25519 key. Only when those scenarios are run (the keys
        # need the `cryptography` package).
        self.keyed = []
        if any(s in ONESHOT for s in self.scenarios):
            import jwtgen
            for a in self.apps:
                key = jwtgen.Key()
                a["dpop"] = {"private": key.private, "x": key.x, "basic": a["basic"]}
            for i in range(APPS):
                key = jwtgen.Key(kid=f"bench-{i}")
                reg = expect(*http("POST", srv.url("/admin/v1/apps"), {
                    "name": f"Bench Keyed App {i}",
                    "description": "benchmark client (private_key_jwt)",
                    "apis": [{"api": "expense.report.read"}],
                    "redirect_uris": ["https://app.example/callback"],
                    "grant_types": ["client_credentials"],
                    "token_endpoint_auth_methods": ["private_key_jwt"],
                    "jwks": {"keys": [key.jwk()]},
                }, {"Authorization": f"Bearer {dev}"}), 201, "register keyed app")
                if reg.get("client_secret") is not None:
                    raise SystemExit("a private_key_jwt app was given a secret")
                self.keyed.append({"private": key.private, "x": key.x, "kid": key.kid,
                                   "client_id": reg["client_id"]})
        expect(*http("PUT", srv.url(f"/admin/v1/apps/{self.resource['id']}/resource-server"),
                     {"resource_server": True}, {"Authorization": f"Bearer {staff}"}),
               200, "resource server")
        for a in self.apps:
            a["request_token"] = expect(*http(
                "POST", srv.url(f"/admin/v1/companies/{dev_company}/request-tokens"),
                {"app_id": a["id"]}, {"Authorization": f"Bearer {dev}"}), 201,
                "request token")["request_token"]
        return self

    def prime(self, srv):
        """One request per app, so each app's secret is verified (argon2, once per app and
        process) before the measured runs."""
        tokens = self.access_tokens(srv, 2 * len(self.apps))
        expect(*http("POST", srv.url("/oauth2/v0/introspect"), {"token": tokens[0]},
                     {"Authorization": self.resource["basic"]}, form=True), 200, "introspect")
        # The single-use scenarios: one request per app (its keys parsed and cached), which also
        # checks that the server takes the JWTs as jwtgen makes them.
        for name, kind in ONESHOT.items():
            if name not in self.scenarios:
                continue
            import jwtgen
            clients = self.oneshot_clients(kind)
            url = srv.url("/oauth2/v0/token")
            for auth, dpop, body in jwtgen.requests(kind, len(clients), clients, url, aud=url):
                headers = {"Content-Type": "application/x-www-form-urlencoded"}
                if auth:
                    headers["Authorization"] = auth
                if dpop:
                    headers["DPoP"] = dpop
                answer = expect(*http("POST", url, headers=headers, body_bytes=body.encode()),
                                200, name)
                want = "DPoP" if kind == "dpop" else "Bearer"
                if answer.get("token_type") != want:
                    raise SystemExit(f"{name}: token_type {answer.get('token_type')}")

    def oneshot_clients(self, kind):
        return [a["dpop"] for a in self.apps] if kind == "dpop" else self.keyed

    def company_token(self, srv, app):
        return expect(*http("POST", srv.url("/oauth2/v0/token"), {
            "grant_type": "password", "credtype": "authtoken",
            "username": self.company, "password": app["request_token"],
        }, {"Authorization": app["basic"]}, form=True), 200, "request-token exchange")

    def refresh_tokens(self, srv, n):
        app = self.apps[0]
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            return [t["refresh_token"] for t in
                    ex.map(lambda _: self.company_token(srv, app), range(n))]

    def access_tokens(self, srv, n):
        def one(i):
            app = self.apps[i % len(self.apps)]
            if i % 2:  # half app tokens, half company tokens (with a grant to check)
                return self.company_token(srv, app)["access_token"]
            return expect(*http("POST", srv.url("/oauth2/v0/token"),
                                {"grant_type": "client_credentials"},
                                {"Authorization": app["basic"]}, form=True),
                          200, "client_credentials")["access_token"]
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            return list(ex.map(one, range(n)))


# --- Load ------------------------------------------------------------------------------------


def machine_busy_s():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / CLK_TCK  # all but idle and iowait


def proc_cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (FileNotFoundError, ProcessLookupError):
        return 0.0


def db_backends(srv, args):
    """The PostgreSQL backend processes serving the server's database (its pool)."""
    if not srv.db_url.startswith("postgres"):
        return []
    db = srv.db_url.rsplit("/", 1)[1]
    out = psql(args, "postgres", "-At", "-c",
               f"SELECT pid FROM pg_stat_activity WHERE datname = '{db}'").stdout
    return [int(p) for p in out.split()]


def wrk(srv, script, env, args):
    """One bounded wrk run; returns its BENCH summary plus server/wrk/database/other CPU
    seconds (database: the PostgreSQL backends of the server's pool)."""
    cmd = ["wrk", "-t", str(args.threads), "-c", str(args.connections),
           "-d", f"{env.pop('_duration')}s", "--timeout", "5s",
           "-s", os.path.join(BENCH, "lua", script), srv.base]
    full = dict(os.environ, BENCH_LUA=os.path.join(BENCH, "lua"),
                BENCH_THREADS=str(args.threads), **env)
    backends = db_backends(srv, args)
    db0 = sum(proc_cpu_s(p) for p in backends)
    cpu0, busy0 = srv.cpu_s(), machine_busy_s()
    ru0 = os.times()
    out = subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=600)
    ru1 = os.times()
    cpu1, busy1 = srv.cpu_s(), machine_busy_s()
    db1 = sum(proc_cpu_s(p) for p in backends)
    line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk failed: {out.stdout}\n{out.stderr}")
    r = json.loads(line[6:])
    r["server_cpu_s"] = cpu1 - cpu0
    r["wrk_cpu_s"] = (ru1.children_user + ru1.children_system
                      - ru0.children_user - ru0.children_system)
    r["db_cpu_s"] = db1 - db0
    r["other_cpu_s"] = max(0.0, (busy1 - busy0) - r["server_cpu_s"] - r["wrk_cpu_s"]
                           - r["db_cpu_s"])
    return r


def scenario(name, srv, world, args, tmp, duration):
    """Runs one scenario for `duration` seconds; returns the wrk summary."""
    path = os.path.join(tmp, f"{name}.txt")
    if name == "client_credentials":
        lines = [f"{a['basic']}\tgrant_type=client_credentials" for a in world.apps]
        env = {"BENCH_PATH": "/oauth2/v0/token", "BENCH_BODIES": path}
        script = "static.lua"
    elif name == "introspection":
        if not getattr(world, "_jwts", None):
            world._jwts = world.access_tokens(srv, JWTS)
        lines = [f"{world.resource['basic']}\ttoken={t}" for t in world._jwts]
        env = {"BENCH_PATH": "/oauth2/v0/introspect", "BENCH_BODIES": path}
        script = "static.lua"
    elif name == "request_token":
        lines = [f"{a['basic']}\tgrant_type=password&credtype=authtoken"
                 f"&username={world.company}&password={a['request_token']}"
                 for a in world.apps]
        env = {"BENCH_PATH": "/oauth2/v0/token", "BENCH_BODIES": path}
        script = "static.lua"
    elif name in ONESHOT:
        # Single-use lines, signed now (a DPoP proof is accepted for 60 s after its iat).
        import jwtgen
        kind = ONESHOT[name]
        expected = world.rates.get(name) or world.rates.get("client_credentials") or 40000
        count = int(expected * duration * ONESHOT_MARGIN) + 8 * args.connections
        took = jwtgen.write(kind, path, args.threads, count, world.oneshot_clients(kind),
                            srv.base, "/oauth2/v0/token", aud=srv.url("/oauth2/v0/token"))
        log(f"    {count:,} single-use requests for {name} ({duration} s) signed in {took:.1f} s")
        env = {"_duration": duration, "BENCH_REQUESTS": path}
        r = wrk(srv, "oneshot.lua", env, args)
        r["signed_lines"], r["signing_s"] = count, took
        for t in range(args.threads):
            os.remove(f"{path}.{t}")
        return r
    elif name == "http_floor":
        env, script, lines = {}, "floor.lua", []
    elif name == "refresh_token":
        # Four tokens per connection: a fresh pool for every run (the last run's are spent).
        lines = world.refresh_tokens(srv, 4 * args.connections)
        env = {"BENCH_PATH": "/oauth2/v0/token", "BENCH_TOKENS": path,
               "BENCH_BASIC": world.apps[0]["basic"]}
        script = "refresh.lua"
    else:
        raise SystemExit(f"unknown scenario {name}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    env["_duration"] = duration
    return wrk(srv, script, env, args)


# --- Databases -------------------------------------------------------------------------------


def psql(args, db, *cmd, **kw):
    return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", f"{args.pg}/{db}", *cmd],
                          check=True, capture_output=True, text=True, **kw)


def make_database(kind, args, tmp):
    if kind == "sqlite":
        return f"sqlite://{tmp}/portico.db"
    name = f"portico_bench_{uuid.uuid4().hex[:12]}"
    psql(args, "postgres", "-c", f"CREATE DATABASE {name}")
    return f"{args.pg}/{name}"


def drop_database(url, args):
    if url.startswith("postgres"):
        name = url.rsplit("/", 1)[1]
        psql(args, "postgres", "-c", f"DROP DATABASE IF EXISTS {name}")


def seed_large(kind, url, world, args):
    """100,000 apps, 10,000 companies, 1,000,000 live refresh tokens (bench/seed_large_*.sql)."""
    t0 = time.monotonic()
    template = world.apps[0]["id"]
    if kind == "postgres":
        psql(args, url.rsplit("/", 1)[1], "-v", f"template_app={template}",
             "-f", os.path.join(BENCH, "seed_large_pg.sql"))
    else:
        path = url.split("sqlite://", 1)[1].split("?")[0]
        with open(os.path.join(BENCH, "seed_large_sqlite.sql")) as f:
            sql = f.read().replace(":template_app", f"'{template}'")
        subprocess.run(["sqlite3", "-bail", path], input=sql, check=True, capture_output=True,
                       text=True)
    count = "SELECT (SELECT count(*) FROM partner_apps), (SELECT count(*) FROM companies), " \
            "(SELECT count(*) FROM refresh_tokens)"
    if kind == "postgres":
        counts = psql(args, url.rsplit("/", 1)[1], "-At", "-c", count).stdout.strip()
    else:
        counts = subprocess.run(["sqlite3", path, count], check=True, capture_output=True,
                                text=True).stdout.strip()
    log(f"  seeded the large database in {time.monotonic() - t0:.0f} s "
        f"(apps|companies|refresh tokens: {counts})")


# --- One configuration -----------------------------------------------------------------------


def run_config(kind, large, args, results):
    config = f"{kind}-{'large' if large else 'small'}"
    log(f"== {config}")
    tmp = tempfile.mkdtemp(prefix=f"portico-bench-{config}-")
    url = make_database(kind, args, tmp)
    master = base64.b64encode(os.urandom(32)).decode()
    extra = dict(kv.split("=", 1) for kv in args.env)
    srv = Server(args.bin, url, master, tmp, args.log_filter, args.max_connections, extra)
    res = results.setdefault(config, {})
    try:
        srv.start()
        world = World(args.id_token_alg, args.scenarios).provision(srv)
        if large:
            res["peak_rss_setup_kib"] = srv.peak_rss_kib()
            srv.stop()
            seed_large(kind, url, world, args)
            srv.start()
        # Peak memory: up to here the server hashed and verified secrets (argon2, 19 MiB each);
        # after priming every app's secret is remembered, and the runs start from a fresh peak.
        world.prime(srv)
        res["peak_rss_setup_kib"] = max(res.get("peak_rss_setup_kib", 0), srv.peak_rss_kib())
        srv.reset_peak_rss()
        for run in range(args.runs):
            for name in args.scenarios:
                w = scenario(name, srv, world, args, tmp, args.warmup)  # warm-up, discarded
                world.rates[name] = max(world.rates.get(name, 0), rate(w))
                r = scenario(name, srv, world, args, tmp, args.duration)
                world.rates[name] = max(world.rates[name], rate(r))
                res.setdefault(name, []).append(r)
                log(f"  run {run + 1} {name:20} {r['requests'] / r['duration_us'] * 1e6:9.0f} req/s"
                    f"  p99 {r['p99_us'] / 1000:6.2f} ms"
                    f"  server {r['server_cpu_s'] / max(r['requests'], 1) * 1e6:6.1f} µs/req"
                    f"  db {r['db_cpu_s'] / max(r['requests'], 1) * 1e6:6.1f} µs/req"
                    f"  errors {errors(r)}{ran_out(r)}  other load {r['other_cpu_s'] / r['duration_us'] * 1e6:.2f} cores")
        res["peak_rss_kib"] = srv.peak_rss_kib()
        srv.stop()
        # Start to ready on the existing database, several times.
        res["ready_ms"] = []
        for _ in range(args.starts):
            srv.start()
            res["ready_ms"].append(srv.ready_s * 1000)
            srv.stop()
        log(f"  start to ready: {res['ready_ms']} ms; peak RSS {res['peak_rss_kib'] / 1024:.1f} MiB")
    finally:
        srv.stop()
        if not args.keep:
            drop_database(url, args)
            subprocess.run(["rm", "-rf", tmp])
        else:
            log(f"  kept: {url} ({tmp})")


def errors(r):
    return r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]


def rate(r):
    return r["requests"] / r["duration_us"] * 1e6


def ran_out(r):
    """For single-use lines: how many requests found none left (each also an error)."""
    return f" (ran out of lines: {r['ran_out']})" if r.get("ran_out") else ""


def ed25519_us():
    """The time of one Ed25519 signature and of one verification by `openssl speed -seconds 3
    ed25519` on this machine, now: the units the token path's cost is given in (a token needs
    one signature, a DPoP proof or a client assertion one verification more; nothing else in
    them is irreducible). None if openssl is missing."""
    try:
        out = subprocess.run(["openssl", "speed", "-seconds", "3", "ed25519"],
                             capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if "Ed25519" in line and "bits" in line:
            sign_s, verify_s = (float(v) for v in line.split()[-2:])  # sign/s, verify/s
            log(f"  openssl speed ed25519: {sign_s:,.0f} sign/s, {verify_s:,.0f} verify/s")
            return 1e6 / sign_s, 1e6 / verify_s
    return None


# --- The table -------------------------------------------------------------------------------


def med(values, fmt):
    m = statistics.median(values)
    if len(values) == 1:
        return fmt(m)
    return f"{fmt(m)} ({fmt(min(values))}–{fmt(max(values))})"


def table(results, args):
    out = []
    configs = list(results)
    out.append("| figure | " + " | ".join(configs) + " |")
    out.append("|---|" + "---|" * len(configs))

    def row(label, f):
        cells = []
        for c in configs:
            try:
                cells.append(f(results[c]))
            except (KeyError, ValueError, statistics.StatisticsError):
                cells.append("–")
        out.append(f"| {label} | " + " | ".join(cells) + " |")

    for name in args.scenarios:
        rs = lambda res, n=name: res[n]  # noqa: E731
        row(f"{LABELS[name]}: req/s",
            lambda res, n=name: med([r["requests"] / r["duration_us"] * 1e6 for r in rs(res, n)],
                                    lambda v: f"{v:,.0f}"))
        row(f"{LABELS[name]}: p99 ms",
            lambda res, n=name: med([r["p99_us"] / 1000 for r in rs(res, n)],
                                    lambda v: f"{v:.2f}"))
        row(f"{LABELS[name]}: server CPU µs/req",
            lambda res, n=name: med([r["server_cpu_s"] / r["requests"] * 1e6 for r in rs(res, n)],
                                    lambda v: f"{v:.1f}"))
        if any(r["db_cpu_s"] for res in results.values() for r in res.get(name, [])):
            row(f"{LABELS[name]}: PostgreSQL CPU µs/req",
                lambda res, n=name: med([r["db_cpu_s"] / r["requests"] * 1e6
                                         for r in rs(res, n)], lambda v: f"{v:.1f}")
                if res[n][0]["db_cpu_s"] else "–")
        row(f"{LABELS[name]}: errors (all runs)",
            lambda res, n=name: str(sum(errors(r) for r in rs(res, n))))
        if name in ONESHOT:
            row(f"{LABELS[name]}: requests that found no single-use line left (all runs)",
                lambda res, n=name: str(sum(r.get("ran_out", 0) for r in rs(res, n))))
    row("peak RSS during the runs, MiB", lambda res: f"{res['peak_rss_kib'] / 1024:.1f}")
    row("peak RSS while provisioning (argon2), MiB",
        lambda res: f"{res['peak_rss_setup_kib'] / 1024:.1f}")
    row("start to ready ms", lambda res: med(res["ready_ms"], lambda v: f"{v:.0f}"))
    # The token path's cost in the units of issue 11: per Ed25519 signature (measured before,
    # between and after the configurations, median), and a refresh against a client_credentials
    # token.
    sig = statistics.median(args.signature_us) if args.signature_us else None
    per_req = lambda res, n: statistics.median(  # noqa: E731
        [r["server_cpu_s"] / r["requests"] * 1e6 for r in res[n]])
    with_db = lambda res, n: statistics.median(  # noqa: E731
        [(r["server_cpu_s"] + r["db_cpu_s"]) / r["requests"] * 1e6 for r in res[n]])
    if sig:
        for name in ("client_credentials", "introspection", "http_floor"):
            if name in args.scenarios:
                row(f"{LABELS[name]}: server CPU in Ed25519 signatures ({sig:.1f} µs each)",
                    lambda res, n=name: f"{per_req(res, n) / sig:.2f}")
        # What Portico adds to a request that does nothing (the HTTP stack and the kernel's
        # loopback, which no change to Portico's code can remove).
        if "http_floor" in args.scenarios:
            for name in ("client_credentials", "introspection"):
                if name in args.scenarios:
                    row(f"{LABELS[name]}: server CPU over the HTTP floor, in signatures",
                        lambda res, n=name:
                        f"{(per_req(res, n) - per_req(res, 'http_floor')) / sig:.2f}")
    # DPoP and private_key_jwt: what each costs beyond the secret-based client_credentials
    # token, in Ed25519 verifications (the one verification each needs, and the rest: the JWT's
    # parsing, the jti's insert into the shared replay store).
    ver = statistics.median(args.verification_us) if args.verification_us else None
    for name in ONESHOT:
        if not {name, "client_credentials"} <= set(args.scenarios):
            continue
        row(f"{LABELS[name]}: server CPU over client_credentials, µs/req",
            lambda res, n=name: f"{per_req(res, n) - per_req(res, 'client_credentials'):+.1f}")
        if ver:
            row(f"{LABELS[name]}: server CPU over client_credentials, in Ed25519 "
                f"verifications ({ver:.1f} µs each)",
                lambda res, n=name: f"{(per_req(res, n) - per_req(res, 'client_credentials')) / ver:+.2f}")
            if any(r["db_cpu_s"] for res in results.values() for r in res.get(name, [])):
                row(f"{LABELS[name]}: server + PostgreSQL CPU over client_credentials, in "
                    f"Ed25519 verifications",
                    lambda res, n=name: f"{(with_db(res, n) - with_db(res, 'client_credentials')) / ver:+.2f}"
                    if res[n][0]["db_cpu_s"] else "–")
    if {"refresh_token", "client_credentials"} <= set(args.scenarios):
        row("refresh_token grant (server + PostgreSQL CPU) in client_credentials tokens",
            lambda res: f"{with_db(res, 'refresh_token') / per_req(res, 'client_credentials'):.1f}")
    row("other load during runs (cores, median)", lambda res: "{:.2f}".format(statistics.median(
        [r["other_cpu_s"] / r["duration_us"] * 1e6 for n in args.scenarios for r in res[n]])))
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--bin", default=os.path.join(REPO, "target", "release", "portico"))
    p.add_argument("--configs", default="sqlite-small,postgres-small,postgres-large",
                   help="comma-separated: {sqlite,postgres}-{small,large}")
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--duration", type=int, default=15, help="seconds per measured run")
    p.add_argument("--warmup", type=int, default=3, help="seconds of warm-up before each run")
    p.add_argument("--starts", type=int, default=5, help="restarts timed per configuration")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432",
                   help="PostgreSQL server (a database is created and dropped per config)")
    p.add_argument("--log-filter", default="info", help="the server's log filter")
    p.add_argument("--max-connections", type=int, default=0,
                   help="the server's database pool size (0: its default)")
    p.add_argument("--id-token-alg", default="RS256", choices=["RS256", "ES256", "EdDSA"],
                   help="how the apps' ID tokens are signed (company tokens carry one)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for the server (repeatable), e.g. "
                        "PORTICO_METRICS_ENABLED=false")
    p.add_argument("--json", help="also write the raw results here")
    p.add_argument("--keep", action="store_true", help="keep the databases")
    args = p.parse_args()
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    for host in (urllib.parse.urlparse(args.pg).hostname,):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("the benchmark only talks to this machine")
    results = {}
    speeds = [v for v in [ed25519_us()] if v]
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[:3]
    started = time.time()
    for i, config in enumerate(args.configs.split(",")):
        if i:  # and between configurations
            speeds += [v for v in [ed25519_us()] if v]
        kind, size = config.split("-")
        run_config(kind, size == "large", args, results)
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[:3]
    speeds += [v for v in [ed25519_us()] if v]
    args.signature_us = [s for s, _ in speeds]
    args.verification_us = [v for _, v in speeds]
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results,
                       "loadavg_before": load_before, "loadavg_after": load_after}, f, indent=1)
    print(f"\n{args.runs} runs of {args.duration} s per figure (median, range), wrk -t{args.threads} "
          f"-c{args.connections}, log filter '{args.log_filter}'; load average before "
          f"{' '.join(load_before)}, after {' '.join(load_after)}; "
          f"took {(time.time() - started) / 60:.0f} min\n")
    print(table(results, args))


if __name__ == "__main__":
    main()
