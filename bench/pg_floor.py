#!/usr/bin/env python3
"""The PostgreSQL floor under a refresh rotation: PostgreSQL's CPU per transaction for a
`SELECT 1` and for one durable one-row insert of a 1.4 KB row (what a rotation writes at the
least), with pgbench (32 clients, prepared statements, 12 s) against --pg, in a database made
and dropped for it. CPU is read from /proc for every `postgres` process while pgbench runs,
so run it on a machine where nothing else uses that PostgreSQL. See BENCHMARKS.md.

    python3 bench/pg_floor.py [--pg postgres://postgres@127.0.0.1:5432]
"""
import argparse, os, subprocess, tempfile, time, re
CLK = os.sysconf("SC_CLK_TCK")
def pg_cpu():
    tot = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit(): continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "postgres": continue
            with open(f"/proc/{pid}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            tot += int(parts[11]) + int(parts[12])
        except OSError: pass
    return tot / CLK
p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
base = p.parse_args().pg
tmp = tempfile.mkdtemp(prefix="portico-pgfloor-")
db = f"pgfloor_{os.getpid()}"
subprocess.run(["psql", "-X", "-q", f"{base}/postgres", "-c", f"CREATE DATABASE {db}"], check=True)
url = f"{base}/{db}"
subprocess.run(["psql", "-X", "-q", url, "-c", "CREATE TABLE t (digest bytea PRIMARY KEY, grant_id text NOT NULL, expires_at bigint NOT NULL, reply bytea)"], check=True)
scripts = {
 "select1": "SELECT 1;\n",
 "insert": "\\set id random(1, 1000000000000)\nINSERT INTO t VALUES (sha256(:id::text::bytea), 'grant', 1, decode(repeat('ab', 1400), 'hex')) ON CONFLICT DO NOTHING;\n",
}
for name, body in scripts.items():
    path = os.path.join(tmp, f"{name}.sql")
    open(path, "w").write(body)
    p = subprocess.Popen(["pgbench", "-n", "-M", "prepared", "-c", "32", "-j", "2", "-T", "12", "-P", "1", "-f", path, url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(3); c0, t0 = pg_cpu(), time.monotonic()
    time.sleep(7); c1, t1 = pg_cpu(), time.monotonic()
    out = p.communicate()[0]
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    print(f"{name}: {tps:,.0f} tps, postgres CPU {(c1-c0)/(t1-t0):.2f} cores, {(c1-c0)/(t1-t0)/tps*1e6:.1f} µs per transaction")
subprocess.run(["psql", "-X", "-q", f"{base}/postgres", "-c", f"DROP DATABASE {db}"], check=True)
