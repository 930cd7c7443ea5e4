#!/usr/bin/env python3
"""driver.py: the PostgreSQL peer's client (benchmarks/peers/README.md).
Started by ./run, which starts the server; on its own:

  driver.py WORKLOAD DIR --port P [--host H] [--system postgres-recompute|
            postgres-triggers] [--rounds N] [--postmaster-pid PID]

Runs WORKLOAD on the input folder DIR round by round over psycopg2 and
prints the JSON lines of benchmarks/WORKLOADS.md. The SQL is in sql/*.sql.

Timed per round (latency_ms), in one transaction: COPY of the round's change
lines into a staging table, applying them to the base tables (inserts, then
one-copy deletes; the triggers fire in these statements), the checksum query
(the whole recompute, or reading the trigger-maintained summary table), and
COMMIT, until the client has the result. Not timed: reading and parsing the
round's lines from the file.

Exit status: 0 ok, 1 an input error, 2 bad usage, 4 a PostgreSQL error.

Memory (peak_rss_bytes): a thread samples the server's processes every
50 ms (the postmaster and its children, parallel workers included): the
sum of their private memory (RssAnon) plus the largest shared and file-backed
resident set (RssShmem + RssFile) among them, counted once since they share
it; the peak over the samples, or the backend's own VmHWM if that is larger.
"""

import argparse
import io
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import peerlib  # noqa: E402

PROG = "postgres peer"

try:
    import psycopg2
except ImportError:
    peerlib.die(PROG, "python3-psycopg2 is missing (apt-get install python3-psycopg2)")


def proc_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("PPid", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                    out[k] = int(v.split()[0])
    except (OSError, ValueError):
        return None
    return out


class MemorySampler(threading.Thread):
    def __init__(self, postmaster, interval=0.05):
        super().__init__(daemon=True)
        self.postmaster, self.interval = postmaster, interval
        self.peak, self.stop_flag = 0, threading.Event()

    def sample(self):
        procs = [self.postmaster]
        for name in os.listdir("/proc"):
            if name.isdigit():
                st = proc_status(name)
                if st and st.get("PPid") == self.postmaster:
                    procs.append(int(name))
        anon, shared = 0, 0
        for pid in procs:
            st = proc_status(pid)
            if st:
                anon += st.get("RssAnon", 0)
                shared = max(shared, st.get("RssShmem", 0) + st.get("RssFile", 0))
        self.peak = max(self.peak, (anon + shared) * 1024)

    def run(self):
        while not self.stop_flag.is_set():
            self.sample()
            self.stop_flag.wait(self.interval)

    def finish(self):
        self.stop_flag.set()
        self.join()
        self.sample()
        return self.peak


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("workload", choices=peerlib.WORKLOADS)
    ap.add_argument("dir")
    ap.add_argument("--system", default="postgres-recompute",
                    choices=["postgres-recompute", "postgres-triggers"])
    ap.add_argument("--rounds", type=int, default=None, help="stop after this round")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", default="postgres")
    ap.add_argument("--dbname", default="postgres")
    ap.add_argument("--postmaster-pid", type=int, default=None,
                    help="the server's postmaster, to measure its memory")
    a = ap.parse_args()
    w, system = a.workload, a.system
    variant = system.split("-", 1)[1]
    if variant == "triggers" and w not in ("groupby", "join"):
        peerlib.die(PROG, f"{system} applies to groupby and join only, not {w}", 2)

    graph = w in peerlib.GRAPH_WORKLOADS
    sql = peerlib.load_sql(os.path.join(HERE, "sql", f"{w}.sql"))
    gsql = peerlib.load_sql(os.path.join(HERE, "sql", "graph.sql")) if graph else {}
    csql = peerlib.load_sql(os.path.join(HERE, "sql", "common.sql"))

    try:
        meta = peerlib.read_meta(a.dir)
        files = peerlib.update_files(w, a.dir)
        last = peerlib.plan_rounds(meta, files, a.rounds)
        readers = [peerlib.UpdateFile(p) for _, p in files]
    except peerlib.InputError as e:
        peerlib.die(PROG, str(e))

    # (table, column a, column b, staging table) per update file
    if graph:
        targets = [("edges", "src", "dst", "chg")]
    elif w == "groupby":
        targets = [("gb_rows", "key", "value", "chg")]
    else:
        targets = [("jn_left", "key", "value", "chg_left"),
                   ("jn_right", "key", "value", "chg_right")]
    stmts = [{k: csql[k].format(table=t, a=ca, b=cb, chg=c)
              for k in ("staging", "copy", "insert", "delete_one")}
             for t, ca, cb, c in targets]

    try:
        conn = psycopg2.connect(host=a.host, port=a.port, user=a.user, dbname=a.dbname)
    except psycopg2.Error as e:
        peerlib.die(PROG, f"cannot connect to the server at {a.host}:{a.port}: {e}", 4)
    cur = conn.cursor()
    cur.execute("SELECT pg_backend_pid(), version()")
    backend, version = cur.fetchone()
    conn.commit()
    sampler = MemorySampler(a.postmaster_pid) if a.postmaster_pid else None
    if sampler:
        sampler.start()

    def to_text(changes):
        return io.StringIO("".join(f"{d} {x} {y}\n" for d, x, y in changes))

    def apply(texts, counts, where):
        n = 0
        for st, text, (n_add, n_del), rd in zip(stmts, texts, counts, readers):
            if n_add + n_del == 0:
                continue
            cur.copy_expert(st["copy"], text)
            if n_add:
                cur.execute(st["insert"])
            if n_del:
                cur.execute(st["delete_one"])
                if cur.rowcount != n_del:
                    raise peerlib.InputError(
                        f"{rd.path} ({where}): {n_del - cur.rowcount} removals of rows "
                        "that are not present")
            n += n_add + n_del
        return n

    def prepare(r):
        """The round's changes as COPY text and (insertions, removals)."""
        texts, counts = [], []
        for rd in readers:
            ch = rd.take(r)
            n_del = sum(1 for d, _, _ in ch if d < 0)
            texts.append(to_text(ch))
            counts.append((len(ch) - n_del, n_del))
        return texts, counts

    answer_sql = sql["answer"] if graph else sql[f"answer_{variant}"]
    fields = peerlib.CHECKSUMS[w]
    # bfs: the walk's depth cap. Round 0 starts at 10; a later round at one
    # more than the last round's largest distance (exact unless that grows).
    # A result with a node at the cap is run again with a larger cap.
    cap = [10]
    caps_used = []

    def answer():
        if w == "bfs":
            while True:
                cur.execute(answer_sql, {"cap": cap[0]})
                reach, dsum, dmax = cur.fetchone()
                if dmax < cap[0]:
                    break
                cap[0] += max(2, cap[0] // 2)  # a node at the cap: maybe not exact
            caps_used.append(cap[0])
            cap[0] = dmax + 1
            return {"reachable": reach, "distance_sum": dsum}
        cur.execute(answer_sql)
        return dict(zip(fields, (int(v) for v in cur.fetchone())))

    try:
        t_start = time.perf_counter()
        # round 0: schema, the initial input, indexes
        for st in stmts:
            cur.execute(st["staging"])
        if graph:
            cur.execute(gsql["schema"])
            if "schema" in sql:
                cur.execute(sql["schema"])
            edges = peerlib.EdgeText(os.path.join(a.dir, "edges.txt"))
            cur.copy_expert(gsql["load"], edges)
            edges.close()
            texts, counts = prepare(0)
            apply(texts, counts, "round 0")
            cur.execute(gsql["index"])
            if "index" in sql:
                cur.execute(sql["index"])
        else:
            cur.execute(sql["schema"])
            if variant == "triggers":
                cur.execute(sql["triggers"])
            texts, counts = prepare(0)
            apply(texts, counts, "round 0")
            cur.execute(sql["index"])
        conn.commit()
        # as after any bulk load: statistics, and the visibility map that
        # lets index-only scans skip the table
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE")
        conn.autocommit = False
        load_s = time.perf_counter() - t_start

        t0 = time.perf_counter()
        vals = answer()
        conn.commit()
        ms0 = (time.perf_counter() - t0) * 1e3
        initial_s = load_s + ms0 / 1e3
        peerlib.emit(peerlib.round_line(w, 0, ms0, vals))

        lat, applied = [], 0
        for r in range(1, last + 1):
            texts, counts = prepare(r)
            t0 = time.perf_counter()
            applied += apply(texts, counts, f"round {r}")
            vals = answer()
            conn.commit()
            ms = (time.perf_counter() - t0) * 1e3
            lat.append(ms)
            peerlib.emit(peerlib.round_line(w, r, ms, vals))
    except peerlib.InputError as e:
        peerlib.die(PROG, str(e))
    except psycopg2.Error as e:
        peerlib.die(PROG, f"PostgreSQL error: {str(e).strip()}", 4)

    peak = None
    if sampler:
        peak = sampler.finish()
        st = proc_status(backend)
        if st and "VmHWM" in st:
            peak = max(peak, st["VmHWM"] * 1024)
    conn.close()
    extra = {"server_version": version.split(" on ")[0], "memory": "server processes"}
    if w == "bfs":
        extra["bfs_depth_cap_max"] = max(caps_used)
    peerlib.emit(peerlib.summary_line(system, w, load_s, initial_s, lat, applied, peak,
                                      workers=None, **extra))


if __name__ == "__main__":
    main()
