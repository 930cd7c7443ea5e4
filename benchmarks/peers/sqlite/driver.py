#!/usr/bin/env python3
"""driver.py: the SQLite peer (benchmarks/peers/README.md).

  driver.py WORKLOAD DIR [--system sqlite-recompute|sqlite-triggers]
            [--rounds N] [--db PATH]

Runs WORKLOAD on the input folder DIR round by round in SQLite (Python's
sqlite3 module, Debian's libsqlite3) and prints the JSON lines of
benchmarks/WORKLOADS.md. The SQL is in sql/*.sql.

Timed per round (latency_ms): BEGIN, applying the round's changes (inserts,
then one-copy deletes, triggers included), the checksum query (the whole
recompute, or reading the trigger-maintained summary), COMMIT. Not timed:
reading and parsing the round's lines from the file.
"""

import argparse
import ctypes
import ctypes.util
import os
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import peerlib  # noqa: E402

PROG = "sqlite peer"


def statements(text):
    """Split a section into statements (triggers' BEGIN ... END included)."""
    out, cur = [], ""
    for line in text.splitlines(keepends=True):
        cur += line
        if sqlite3.complete_statement(cur):
            if cur.strip():
                out.append(cur.strip())
            cur = ""
    if cur.strip() and not all(l.strip().startswith("--") or not l.strip()
                               for l in cur.splitlines()):
        raise ValueError(f"incomplete SQL statement: {cur.strip()[:80]}")
    return out


def run_script(db, text, params=None):
    for st in statements(text):
        db.execute(st, params or {})


def sqlite_heap_highwater():
    """sqlite3_memory_highwater() of the library the sqlite3 module uses, or
    None (it is the same shared library when the module links it
    dynamically, as Debian's does)."""
    try:
        import _sqlite3
        name = None
        with open("/proc/self/maps") as f:
            for line in f:
                if "libsqlite3" in line:
                    name = line.split()[-1]
                    break
        if name is None:
            return None
        lib = ctypes.CDLL(name)
        lib.sqlite3_memory_highwater.restype = ctypes.c_int64
        lib.sqlite3_memory_highwater.argtypes = [ctypes.c_int]
        del _sqlite3
        return int(lib.sqlite3_memory_highwater(0))
    except Exception:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("workload", choices=peerlib.WORKLOADS)
    ap.add_argument("dir")
    ap.add_argument("--system", default="sqlite-recompute",
                    choices=["sqlite-recompute", "sqlite-triggers"])
    ap.add_argument("--rounds", type=int, default=None, help="stop after this round")
    ap.add_argument("--db", default=":memory:", help="database file (default: in memory)")
    a = ap.parse_args()
    w, system = a.workload, a.system
    variant = system.split("-", 1)[1]
    if variant == "triggers" and w not in ("groupby", "join"):
        peerlib.die(PROG, f"{system} applies to groupby and join only, not {w}", 2)

    graph = w in peerlib.GRAPH_WORKLOADS
    sql = peerlib.load_sql(os.path.join(HERE, "sql", f"{w}.sql"))
    gsql = peerlib.load_sql(os.path.join(HERE, "sql", "graph.sql")) if graph else {}

    try:
        meta = peerlib.read_meta(a.dir)
        files = peerlib.update_files(w, a.dir)
        last = peerlib.plan_rounds(meta, files, a.rounds)
        readers = [peerlib.UpdateFile(p) for _, p in files]
    except peerlib.InputError as e:
        peerlib.die(PROG, str(e))

    if a.db != ":memory:" and os.path.exists(a.db):
        os.remove(a.db)
    db = sqlite3.connect(a.db, isolation_level=None)
    db.execute("PRAGMA temp_store = MEMORY")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA journal_mode = MEMORY")
    db.execute("PRAGMA cache_size = -2000000")  # 2 GB page cache for a file database

    # The statements that apply one file's changes: (insert, delete one copy).
    if graph:
        apply_sql = [(gsql["insert"], gsql["delete_one"])]
    elif w == "groupby":
        apply_sql = [(sql["insert"], sql["delete_one"])]
    else:
        apply_sql = [(sql["insert_left"], sql["delete_one_left"]),
                     (sql["insert_right"], sql["delete_one_right"])]

    def apply(per_file, where):
        n = 0
        for (ins, dele), changes, rd in zip(apply_sql, per_file, readers):
            # inserts first: a round's removals may take rows it inserted
            adds = [(x, y) for d, x, y in changes if d > 0]
            subs = [(x, y) for d, x, y in changes if d < 0]
            if adds:
                db.executemany(ins, adds)
            if subs:
                cur = db.executemany(dele, subs)
                if cur.rowcount != len(subs):
                    raise peerlib.InputError(
                        f"{rd.path} ({where}): {len(subs) - cur.rowcount} removals of rows "
                        "that are not present")
            n += len(changes)
        return n

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
                row = db.execute(answer_sql, {"cap": cap[0]}).fetchone()
                reach, dsum, dmax = row
                if dmax < cap[0]:
                    break
                cap[0] += max(2, cap[0] // 2)  # a node at the cap: maybe not exact
            caps_used.append(cap[0])
            cap[0] = dmax + 1
            return {"reachable": reach, "distance_sum": dsum}
        if w == "cc":
            run_script(db, sql["prepare"])
            after = -1
            while True:
                row = db.execute(sql["next_seed"], {"after": after}).fetchone()
                if row is None:
                    break
                db.execute(sql["component"], {"seed": row[0]})
                after = row[0]
        row = db.execute(answer_sql).fetchone()
        return dict(zip(fields, row))

    try:
        t_start = time.perf_counter()
        # round 0: schema, the initial input, indexes
        db.execute("BEGIN")
        if graph:
            run_script(db, gsql["schema"])
            if "schema" in sql:
                run_script(db, sql["schema"])
            db.executemany(gsql["insert"],
                           peerlib.iter_edges(os.path.join(a.dir, "edges.txt")))
            run_script(db, gsql["index"])
            if "index" in sql:
                run_script(db, sql["index"])
            # round 0 lines in updates.txt, if any, belong to the initial input
            apply([readers[0].take(0)], "round 0")
        else:
            run_script(db, sql["schema"])
            if variant == "triggers":
                run_script(db, sql["triggers"])
            apply([rd.take(0) for rd in readers], "round 0")
            run_script(db, sql["index"])
        db.execute("COMMIT")
        load_s = time.perf_counter() - t_start

        t0 = time.perf_counter()
        db.execute("BEGIN")
        vals = answer()
        db.execute("COMMIT")
        ms0 = (time.perf_counter() - t0) * 1e3
        initial_s = load_s + ms0 / 1e3
        peerlib.emit(peerlib.round_line(w, 0, ms0, vals))

        lat, applied = [], 0
        for r in range(1, last + 1):
            per_file = [rd.take(r) for rd in readers]
            t0 = time.perf_counter()
            db.execute("BEGIN")
            applied += apply(per_file, f"round {r}")
            vals = answer()
            db.execute("COMMIT")
            ms = (time.perf_counter() - t0) * 1e3
            lat.append(ms)
            peerlib.emit(peerlib.round_line(w, r, ms, vals))
    except peerlib.InputError as e:
        peerlib.die(PROG, str(e))
    except sqlite3.Error as e:
        peerlib.die(PROG, f"SQLite error: {e}")

    extra = {"sqlite_version": sqlite3.sqlite_version,
             "sqlite_heap_highwater_bytes": sqlite_heap_highwater(),
             "database": "memory" if a.db == ":memory:" else "file"}
    if w == "bfs":
        extra["bfs_depth_cap_max"] = max(caps_used)
    peerlib.emit(peerlib.summary_line(system, w, load_s, initial_s, lat, applied,
                                      peerlib.self_peak_rss_bytes(), workers=1, **extra))


if __name__ == "__main__":
    main()
