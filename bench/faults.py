#!/usr/bin/env python3
"""Portico under faults (see docs/reliability.md): PostgreSQL restarted under load, a node
killed with SIGKILL mid-refresh, one refresh token presented by many connections across two
nodes at once, the LISTEN connection cut while changes happen, and a soak.

The script runs its own PostgreSQL (initdb in a temporary directory, a port of its own, started
and stopped with pg_ctl as the `postgres` user), never the machine's shared server, and two
`portico serve` nodes of the release binary on it. Only 127.0.0.1 is contacted; every phase is
bounded in time. Standard library only (plus the PostgreSQL server binaries).

    python3 bench/faults.py --bin target/release/portico [--soak-minutes 10] [--only NAME]
"""

import argparse
import collections
import glob
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (Server, World, provisioning helpers)

log = bench.log
PUBLIC_URL = "http://portico.test"  # both nodes: one issuer, as behind a load balancer


# --- A PostgreSQL of our own -----------------------------------------------------------------


def pg_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if not path:
        raise SystemExit(f"{name} not found (install the PostgreSQL server package)")
    return path


class Postgres:
    """initdb'd into `tmp`, on `port`, trust authentication, run as the postgres user."""

    def __init__(self, tmp, port):
        self.dir = os.path.join(tmp, "pgdata")
        self.sock = os.path.join(tmp, "pgsock")
        self.port = port
        self.logfile = os.path.join(tmp, "postgres.log")
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        for d in (self.dir, self.sock):
            os.makedirs(d, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(tmp, "postgres")
            for d in (self.dir, self.sock):
                shutil.chown(d, "postgres")
        subprocess.run(self.as_pg + [pg_bin("initdb"), "-D", self.dir, "-U", "postgres",
                                     "-A", "trust", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL)
        self.url = f"postgres://postgres@127.0.0.1:{port}/postgres"

    def ctl(self, *args):
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c max_connections=100")
        cmd = self.as_pg + [pg_bin("pg_ctl"), "-D", self.dir, "-l", self.logfile, "-o", opts,
                            "-w", "-t", "30", *args]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    def start(self):
        self.ctl("start")

    def stop(self, mode="fast"):
        self.ctl("stop", "-m", mode)

    def sql(self, query):
        out = subprocess.run(["psql", self.url, "-At", "-c", query], check=True,
                             capture_output=True, text=True)
        return out.stdout.strip()


# --- Nodes and the world ---------------------------------------------------------------------


def start_node(args, pg, master_key, tmp, name, extra=None, binary=None):
    workdir = os.path.join(tmp, name)
    os.makedirs(workdir, exist_ok=True)
    env = {"PORTICO_SERVER_PUBLIC_URL": PUBLIC_URL, **(extra or {})}
    # Named connections: a phase finds a node's LISTEN backend in pg_stat_activity.
    url = f"{pg.url}?application_name=portico-{name}"
    return bench.Server(binary or args.bin, url, master_key, workdir, "warn", 0,
                        env).start()


def rss_kib(node):
    with open(f"/proc/{node.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sign_in(node, banner, label):
    login, password, company = bench.sandbox_account(banner, label)
    token = bench.expect(*bench.http("POST", node.url("/admin/v1/session"),
                                     {"login_id": login, "password": password}),
                         200, "sign in")["token"]
    return token, company


class Fixture:
    """PostgreSQL, nodes A and B, the benchmark's apps, the developer admin's token."""

    def __init__(self, args, tmp, extra=None, bin_a=None):
        self.args, self.tmp, self.extra, self.bin_a = args, tmp, extra, bin_a
        self.pg = Postgres(tmp, args.pg_port)
        self.pg.start()
        self.a = self.b = None
        try:
            self.setup(args, tmp, extra)
        except BaseException:
            self.close()
            raise

    def setup(self, args, tmp, extra):
        self.master_key = base64_key()
        self.a = start_node(args, self.pg, self.master_key, tmp, "a", extra, self.bin_a)
        # Upgrade: B (the new version) starts later, on the schema A migrated.
        self.b = None if self.bin_a else start_node(args, self.pg, self.master_key, tmp, "b",
                                                     extra)
        self.world = bench.World("EdDSA").provision(self.a)
        self.world.prime(self.a)
        if self.b:
            self.world.prime(self.b)
        self.dev, self.company = sign_in(self.a, self.a.banner, "development partner:")
        # Apps only the admin writes touch (one per worker: concurrent writes to one app
        # would be refused as stale, 409, by design), and one the fault phases disable.
        self.writables = [self.register(f"Writable App {i}") for i in range(args.workers)]
        self.victim = self.register("Victim App")
        self.jwts = self.world.access_tokens(self.a, 64)

    def register(self, name):
        reg = bench.expect(*bench.http("POST", self.a.url("/admin/v1/apps"), {
            "name": name, "description": "faults", "apis": [{"api": "expense.report.read"}],
            "redirect_uris": ["https://app.example/callback"],
            "grant_types": ["client_credentials", "refresh_token", "company_request_token"],
        }, {"Authorization": f"Bearer {self.dev}"}), 201, "register")
        return {"id": reg["client_id"], "secret": reg["client_secret"],
                "basic": bench.basic(reg["client_id"], reg["client_secret"])}

    def nodes(self):
        return [n for n in (self.a, self.b) if n]

    def restart_node(self, which):
        node = start_node(self.args, self.pg, self.master_key, self.tmp, which, self.extra)
        setattr(self, which, node)
        return node

    def close(self):
        for n in (self.a, self.b):
            if n:
                n.stop()
        try:
            self.pg.stop("immediate")
        except subprocess.CalledProcessError:
            pass


def base64_key():
    import base64
    return base64.b64encode(os.urandom(32)).decode()


# --- Load ------------------------------------------------------------------------------------


class Conns:
    """One keep-alive connection per node, per worker."""

    def __init__(self, timeout):
        self.timeout, self.pool = timeout, {}

    def call(self, base, method, path, body=None, headers=None):
        u = urllib.parse.urlsplit(base)
        key = (u.hostname, u.port)
        conn = self.pool.get(key)
        if conn is None:
            conn = self.pool[key] = http.client.HTTPConnection(u.hostname, u.port,
                                                               timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return r.status, data
        except (OSError, http.client.HTTPException):
            conn.close()
            self.pool.pop(key, None)
            return 0, b""  # the connection failed (refused, reset, timed out)


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def form(d):
    return urllib.parse.urlencode(d)


class Load:
    """Workers sending a mix of requests to the nodes, recording every outcome:
    (start, end, op, node index, status). `weights`: op -> weight. `rate`: requests per second
    per worker (None: as fast as they go)."""

    OPS = ("client_credentials", "introspection", "refresh", "admin_write")

    def __init__(self, fx, weights, workers, rate=None, timeout=10.0, nodes=None):
        self.fx, self.weights, self.workers, self.rate = fx, weights, workers, rate
        self.timeout = timeout
        self.node_list = nodes  # callable returning the bases to use, or None: both nodes
        self.records = []
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.families_lost = 0
        self.threads = []

    def bases(self):
        return self.node_list() if self.node_list else [n.base for n in self.fx.nodes()]

    def new_family(self, conns, bases, app):
        for _ in range(50):
            for base in bases:
                s, data = conns.call(base, "POST", "/oauth2/v0/token", form({
                    "grant_type": "password", "credtype": "authtoken",
                    "username": self.fx.company, "password": app["request_token"]}),
                    {**FORM, "Authorization": app["basic"]})
                if s == 200:
                    return json.loads(data)["refresh_token"]
            time.sleep(0.2)
        return None

    def worker(self, i):
        rnd = random.Random(i)
        conns = Conns(self.timeout)
        ops = [op for op in self.OPS for _ in range(self.weights.get(op, 0))]
        app = self.fx.world.apps[i % len(self.fx.world.apps)]
        family = None
        n = 0
        t_begin = time.monotonic()
        while not self.stop_flag.is_set():
            bases = self.bases()
            node = i % len(bases)
            base = bases[node]
            op = rnd.choice(ops)
            t0 = time.monotonic()
            if op == "client_credentials":
                s, _ = conns.call(base, "POST", "/oauth2/v0/token",
                                  form({"grant_type": "client_credentials"}),
                                  {**FORM, "Authorization": app["basic"]})
            elif op == "introspection":
                s, data = conns.call(base, "POST", "/oauth2/v0/introspect",
                                     form({"token": rnd.choice(self.fx.jwts)}),
                                     {**FORM, "Authorization": self.fx.world.resource["basic"]})
                if s == 200 and b'"active":true' not in data:
                    s = 299  # answered, but a live token read as inactive: counted apart
            elif op == "refresh":
                if family is None:
                    family = self.new_family(conns, bases, app)
                    if family is None:
                        continue
                s, data = conns.call(base, "POST", "/oauth2/v0/token",
                                     form({"grant_type": "refresh_token",
                                           "refresh_token": family}),
                                     {**FORM, "Authorization": app["basic"]})
                if s == 200:
                    family = json.loads(data)["refresh_token"]
                elif s == 400:
                    with self.lock:
                        self.families_lost += 1
                    family = None
                # 0 or 503: the same token again next time (a lost answer is replayed).
            else:
                writable = self.fx.writables[i % len(self.fx.writables)]
                s, _ = conns.call(base, "PATCH", f"/admin/v1/apps/{writable['id']}",
                                  json.dumps({"description": f"write {i}-{n}"}),
                                  {"Content-Type": "application/json",
                                   "Authorization": f"Bearer {self.fx.dev}"})
            t1 = time.monotonic()
            with self.lock:
                self.records.append((t0, t1, op, node, s))
            n += 1
            if self.rate:
                ahead = t_begin + n / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)

    def start(self):
        self.threads = [threading.Thread(target=self.worker, args=(i,), daemon=True)
                        for i in range(self.workers)]
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=self.timeout + 5)

    def window(self, t_from, t_to):
        with self.lock:
            return [r for r in self.records if t_from <= r[0] < t_to]


def summarize(records):
    by = collections.defaultdict(collections.Counter)
    worst = collections.defaultdict(float)
    for t0, t1, op, _node, s in records:
        by[op][s] += 1
        worst[op] = max(worst[op], t1 - t0)
    return {op: {"statuses": dict(c), "max_latency_s": round(worst[op], 3)}
            for op, c in by.items()}


# --- Phases ----------------------------------------------------------------------------------

MIX = {"client_credentials": 4, "introspection": 3, "refresh": 2, "admin_write": 1}


def poll_ready(fx, stop, out):
    conns = Conns(2.0)
    while not stop.is_set():
        for i, node in enumerate(fx.nodes()):
            s, _ = conns.call(node.base, "GET", "/readyz")
            out.append((time.monotonic(), i, s))
        time.sleep(0.1)


def cc_status(base, app):
    s, _ = Conns(5.0).call(base, "POST", "/oauth2/v0/token",
                           form({"grant_type": "client_credentials"}),
                           {**FORM, "Authorization": app["basic"]})
    return s


def set_active(fx, node, app, active):
    return bench.http("PATCH", node.url(f"/admin/v1/apps/{app['id']}"), {"active": active},
                      {"Authorization": f"Bearer {fx.dev}"})[0]


def phase_pg_restart(fx, args):
    """PostgreSQL stopped for `outage` seconds under the mixed load, then started again."""
    log("phase: PostgreSQL restart under load")
    # Both nodes verified the victim's secret: their caches hold it.
    for n in fx.nodes():
        assert cc_status(n.base, fx.victim) == 200
    ready = []
    stop_poll = threading.Event()
    poller = threading.Thread(target=poll_ready, args=(fx, stop_poll, ready), daemon=True)
    poller.start()
    load = Load(fx, MIX, args.workers).start()
    time.sleep(3)
    # A change made just before the outage, on node A: node B must not miss it.
    t_change = time.monotonic()
    assert set_active(fx, fx.a, fx.victim, False) == 200
    time.sleep(0.05)
    t_stop = time.monotonic()
    fx.pg.stop("fast")
    t_down = time.monotonic()
    time.sleep(args.outage)
    t_start = time.monotonic()
    fx.pg.start()
    t_up = time.monotonic()
    # Recovery: the first refresh (needs the database) answered 200 by each node after that.
    recovered = {}
    deadline = t_up + 60
    while len(recovered) < 2 and time.monotonic() < deadline:
        for t0, _t1, op, node, s in load.window(t_up, time.monotonic()):
            if op == "refresh" and s == 200 and node not in recovered:
                recovered[node] = t0 - t_up
        time.sleep(0.05)
    time.sleep(3)
    load.stop()
    stop_poll.set()
    poller.join()
    # Every request in flight at any time during the outage.
    with load.lock:
        during = [r for r in load.records if r[0] < t_up and r[1] > t_down]
    before = load.window(0, t_change)
    not_ready = {i: [t for t, n, s in ready if n == i and s != 200] for i in (0, 1)}
    victim_on_b = cc_status(fx.b.base, fx.victim)
    set_active(fx, fx.a, fx.victim, True)
    return {
        "outage_s": round(t_up - t_down, 2),
        "pg_stop_took_s": round(t_down - t_stop, 2),
        "before": summarize(before),
        "during_outage": summarize(during),
        "server_errors_500_total": sum(1 for r in load.records if r[4] >= 500 and r[4] != 503),
        "readyz_not_ready_first_after_stop_s": {
            "AB"[i]: round(min(t for t in ts if t >= t_stop) - t_stop, 2) if any(
                t >= t_stop for t in ts) else None for i, ts in not_ready.items()},
        "recovered_after_pg_up_s": {"AB"[k]: round(v, 2) for k, v in recovered.items()},
        "refresh_families_lost": load.families_lost,
        "change_before_outage_held_on_B": victim_on_b != 200,
    }


def phase_sigkill(fx, args):
    """A refresh load on node A; A killed with SIGKILL; clients go on against B."""
    log("phase: SIGKILL mid-refresh")
    alive = {"bases": [fx.a.base, fx.b.base]}

    def bases():
        return alive["bases"]

    load = Load(fx, {"refresh": 1}, args.workers, nodes=bases)
    load.node_list = lambda: alive["bases"]
    load.start()
    time.sleep(3)
    before = len(load.records)
    os.kill(fx.a.proc.pid, signal.SIGKILL)
    t_kill = time.monotonic()
    alive["bases"] = [fx.b.base]  # what a load balancer does once its health check fails
    time.sleep(3)
    load.stop()
    fx.a.proc.wait()
    after = load.window(t_kill, time.monotonic())
    bad = fx.pg.sql(
        "SELECT count(*) FROM grants g WHERE g.revoked_at IS NULL AND "
        "(SELECT count(*) FROM refresh_tokens r WHERE r.grant_id = g.id AND r.rotated_at IS NULL "
        "AND r.expires_at > extract(epoch from now())) <> 1")
    families = fx.pg.sql("SELECT count(*) FROM grants WHERE revoked_at IS NULL")
    fx.restart_node("a")
    with load.lock:
        lost = sum(1 for r in load.records if r[4] == 0)
    return {
        "answers_lost_at_kill": lost,
        "refreshes_before_kill": before,
        "after_kill": summarize(after),
        "live_families": int(families),
        "families_without_exactly_one_usable_token": int(bad),
        "families_lost_by_clients": load.families_lost,
    }


def phase_concurrent_refresh(fx, args, label):
    """One refresh token presented at once by many connections, half on each node."""
    log(f"phase: concurrent refresh of one token ({label})")
    app = fx.world.apps[0]
    rounds = []
    for _ in range(args.rounds):
        token = fx.world.company_token(fx.a, app)["refresh_token"]
        barrier = threading.Barrier(args.workers)
        out = []

        def one(i):
            conns = Conns(10.0)
            base = fx.nodes()[i % 2].base
            conns.call(base, "GET", "/healthz")  # connected before the barrier
            barrier.wait()
            s, data = conns.call(base, "POST", "/oauth2/v0/token",
                                 form({"grant_type": "refresh_token", "refresh_token": token}),
                                 {**FORM, "Authorization": app["basic"]})
            body = json.loads(data) if data else {}
            out.append((s, body.get("refresh_token"), body.get("error_description")))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(args.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = [r for r in out if r[0] == 200]
        rounds.append({
            "successes": len(ok),
            "distinct_new_tokens": len({r[1] for r in ok}),
            "refusals": collections.Counter(r[2] for r in out if r[0] != 200),
        })
    return {
        "rounds": len(rounds),
        "connections_per_round": args.workers,
        "max_distinct_new_tokens": max(r["distinct_new_tokens"] for r in rounds),
        "successes_per_round": sorted({r["successes"] for r in rounds}),
        "refusals": dict(sum((r["refusals"] for r in rounds), collections.Counter())),
    }


def disable_until_refused_on_b(fx):
    """Deactivates the victim app on A; seconds until B refuses it (5 at most: not seen)."""
    t0 = time.monotonic()
    assert set_active(fx, fx.a, fx.victim, False) == 200
    while cc_status(fx.b.base, fx.victim) == 200 and time.monotonic() - t0 < 5:
        time.sleep(0.01)
    return time.monotonic() - t0


def enable_until_served_on_b(fx):
    """Activates the victim app again and waits (5 s at most) until B serves it."""
    t0 = time.monotonic()
    assert set_active(fx, fx.a, fx.victim, True) == 200
    while cc_status(fx.b.base, fx.victim) != 200 and time.monotonic() - t0 < 5:
        time.sleep(0.01)


def phase_lost_notices(fx, args):
    """Every LISTEN backend terminated from PostgreSQL, then a change on A; B must still
    refuse within a second."""
    log("phase: lost change notices")
    delays = []
    for offset in (0.0, 0.1, 0.3, 0.6):
        assert cc_status(fx.b.base, fx.victim) == 200
        killed = fx.pg.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE query ILIKE 'LISTEN%'")
        time.sleep(offset)
        seen = disable_until_refused_on_b(fx)
        delays.append({"listen_backends_killed": int(killed), "change_after_s": offset,
                       "seen_on_B_after_s": round(seen, 3)})
        enable_until_served_on_b(fx)
    return {"rounds": delays,
            "worst_s": max(d["seen_on_B_after_s"] for d in delays)}


def phase_silent_listener(fx, args):
    """B's LISTEN backend stopped (SIGSTOP: its socket stays open and nothing arrives, as in a
    partition that sends no reset), then a change on A: B must refuse within a second anyway,
    from storage once its caches' lease has lapsed, and serve what storage allows meanwhile."""
    log("phase: silent LISTEN connection")
    rounds = []
    for offset in (0.0, 0.3, 2.0):
        assert cc_status(fx.b.base, fx.victim) == 200
        pid = int(fx.pg.sql("SELECT pid FROM pg_stat_activity WHERE application_name = "
                            "'portico-b' AND query ILIKE 'LISTEN%' LIMIT 1"))
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(offset)
            seen = disable_until_refused_on_b(fx)
            # Storage answers: the other apps still get tokens on B.
            others = collections.Counter(cc_status(fx.b.base, app) for app in fx.writables[:4])
        finally:
            os.kill(pid, signal.SIGCONT)
        rounds.append({"stopped_before_change_s": offset, "seen_on_B_after_s": round(seen, 3),
                       "other_apps_on_B": dict(others)})
        enable_until_served_on_b(fx)
    return {"rounds": rounds, "worst_s": max(r["seen_on_B_after_s"] for r in rounds)}


def db_size(fx):
    return int(fx.pg.sql("SELECT pg_database_size(current_database())"))


def row_counts(fx):
    tables = ["grants", "refresh_tokens", "authorization_codes", "revoked_access_tokens",
              "audit_log", "change_log", "consents", "failure_budgets", "admin_sessions"]
    out = {}
    for t in tables:
        try:
            out[t] = int(fx.pg.sql(f"SELECT count(*) FROM {t}"))
        except subprocess.CalledProcessError:
            pass
    return out


def phase_soak(fx, args):
    log(f"phase: soak, {args.soak_minutes} minutes")
    probe = Load(fx, MIX, args.workers).start()
    time.sleep(10)
    probe.stop()
    window = probe.window(probe.records[0][0] + 2, probe.records[-1][0])
    max_rps = len(window) / (window[-1][0] - window[0][0])
    rate = max_rps / 2 / args.workers
    log(f"soak: maximum of this mix {max_rps:.0f} req/s; running at half")
    size0, rows0 = db_size(fx), row_counts(fx)
    load = Load(fx, MIX, args.workers, rate=rate).start()
    t0 = time.monotonic()
    minutes = []
    for m in range(1, args.soak_minutes + 1):
        time.sleep(max(0, t0 + 60 * m - time.monotonic()))
        recs = load.window(t0 + 60 * (m - 1), t0 + 60 * m)
        minutes.append({"minute": m, "requests": len(recs),
                        "errors": sum(1 for r in recs if r[4] != 200),
                        "rss_kib": {"A": rss_kib(fx.a), "B": rss_kib(fx.b)},
                        "db_bytes": db_size(fx)})
        log(f"soak minute {m}: {minutes[-1]}")
    load.stop()
    elapsed = time.monotonic() - t0
    size1, rows1 = db_size(fx), row_counts(fx)
    return {
        "max_rps_of_mix": round(max_rps),
        "target_rps": round(max_rps / 2),
        "achieved_rps": round(len(load.records) / elapsed),
        "errors": sum(1 for r in load.records if r[4] != 200),
        "statuses": summarize(load.records),
        "minutes": minutes,
        "db_growth_bytes_per_hour": round((size1 - size0) / elapsed * 3600),
        "rows_before": rows0, "rows_after": rows1,
        "families_lost": load.families_lost,
    }


def phase_upgrade(args, tmp):
    """A database migrated by the previous version, serving under load; a node of this version
    starts on it (and migrates it) while the old node goes on; both serve; the old one stops."""
    log("phase: rolling upgrade")
    fx = Fixture(args, tmp, bin_a=os.path.abspath(args.previous_bin))
    try:
        load = Load(fx, MIX, args.workers).start()
        time.sleep(3)
        t_new = time.monotonic()
        fx.b = start_node(args, fx.pg, fx.master_key, tmp, "b")
        started = time.monotonic() - t_new
        time.sleep(10)
        t_mixed_end = time.monotonic()
        # The operator drains the old node at the load balancer, then stops it (SIGTERM: the
        # requests in flight finish).
        alive = [fx.b.base]
        load.node_list = lambda: alive
        time.sleep(1)
        fx.a.stop()
        t_old_gone = time.monotonic()
        time.sleep(3)
        load.stop()
        by_node = collections.defaultdict(collections.Counter)
        with load.lock:
            for t0, _t1, op, node, s in load.records:
                phase = ("old only" if t0 < t_new else "old and new" if t0 < t_mixed_end
                         else "old drained and stopped" if t0 < t_old_gone else "new only")
                by_node[phase][f"{op} {s}"] += 1
        migrations = fx.pg.sql("SELECT string_agg(version, ' ' ORDER BY version) "
                               "FROM seaql_migrations")
        return {
            "new_node_ready_s": round(started, 2),
            "migrations_after": migrations,
            "outcomes": {k: dict(v) for k, v in by_node.items()},
            "server_errors_500": sum(1 for r in load.records if r[4] >= 500 and r[4] != 503),
            "families_lost": load.families_lost,
        }
    finally:
        fx.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", default=os.path.join(bench.REPO, "target", "release", "portico"))
    p.add_argument("--pg-port", type=int, default=55432)
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--outage", type=float, default=5.0, help="seconds PostgreSQL is down")
    p.add_argument("--rounds", type=int, default=20, help="concurrent-refresh rounds")
    p.add_argument("--soak-minutes", type=int, default=0, help="0: no soak")
    p.add_argument("--only", action="append", help="run only these phases")
    p.add_argument("--previous-bin", help="the previous release's portico (upgrade phase)")
    args = p.parse_args()
    args.bin = os.path.abspath(args.bin)
    if not os.path.exists(args.bin):
        raise SystemExit(f"{args.bin}: build it with cargo build --release")
    results = {}
    want = lambda name: not args.only or name in args.only  # noqa: E731
    tmp = tempfile.mkdtemp(prefix="portico-faults-")
    shared = ("pg_restart", "sigkill", "concurrent_refresh", "lost_notices", "silent_listener",
              "soak")
    try:
        fx = Fixture(args, tmp) if any(want(n) for n in shared) else None
        try:
            if fx and want("pg_restart"):
                results["pg_restart"] = phase_pg_restart(fx, args)
            if fx and want("sigkill"):
                results["sigkill"] = phase_sigkill(fx, args)
            if fx and want("concurrent_refresh"):
                results["concurrent_refresh_grace"] = phase_concurrent_refresh(
                    fx, args, "grace window on")
            if fx and want("lost_notices"):
                results["lost_notices"] = phase_lost_notices(fx, args)
            if fx and want("silent_listener"):
                results["silent_listener"] = phase_silent_listener(fx, args)
            if fx and args.soak_minutes and want("soak"):
                results["soak"] = phase_soak(fx, args)
        finally:
            if fx:
                fx.close()
        if args.previous_bin and want("upgrade"):
            shutil.rmtree(tmp, ignore_errors=True)
            os.makedirs(tmp)
            results["upgrade"] = phase_upgrade(args, tmp)
        if want("concurrent_refresh"):
            # Again with the grace window off: exactly one winner.
            shutil.rmtree(tmp, ignore_errors=True)
            os.makedirs(tmp)
            fx = Fixture(args, tmp, {"PORTICO_TOKENS_REFRESH_GRACE_SECONDS": "0"})
            try:
                results["concurrent_refresh_no_grace"] = phase_concurrent_refresh(
                    fx, args, "grace window off")
            finally:
                fx.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
