#!/usr/bin/env python3
"""compare.py: the implementation of benchmarks/compare (see
benchmarks/peers/README.md and `benchmarks/compare --help`).

Writes every workload's inputs once (`rhizoflow bench W --write-inputs`),
runs rhizoflow (each worker count) and every peer on them, checks that every
round's checksums agree, settles disagreements with the independent
reference, prints a table per workload, and with --write-results appends
them to benchmarks/RESULTS.md. Standard library only.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.dirname(HERE)
BENCH = os.path.dirname(PEERS)
ROOT = os.path.dirname(BENCH)
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import peerlib  # noqa: E402

# d2ts: the package as published; d2ts-fixed: with the four bug fixes of
# peers/d2ts/patch-d2ts.mjs (its README), so that its timings can be
# compared where the published package answers wrongly or crashes.
PEER_SYSTEMS = ["d2ts", "d2ts-fixed", "postgres-recompute", "postgres-triggers",
                "sqlite-recompute", "sqlite-triggers"]
ALL_SYSTEMS = ["rhizoflow"] + PEER_SYSTEMS
GROUPS = {"postgres": ["postgres-recompute", "postgres-triggers"],
          "sqlite": ["sqlite-recompute", "sqlite-triggers"],
          "all": ALL_SYSTEMS, "peers": PEER_SYSTEMS}
TRIGGER_WORKLOADS = ("groupby", "join")
SEED = 1


# ---- what runs at each size --------------------------------------------------

class Case:
    """One workload at one size: the --write-inputs options, per-peer round
    caps (a peer that would take far too long runs fewer rounds) and skips
    (with the reason, printed)."""

    def __init__(self, cid, workload, args, caps=None, skips=None, note="", anchor=None):
        self.id, self.workload, self.args = cid, workload, args
        self.caps, self.skips, self.note, self.anchor = caps or {}, skips or {}, note, anchor

    def arg(self, name):
        if name in self.args:
            return self.args[self.args.index(name) + 1]
        return None


def g(nodes, edges, batch, rounds, gen="fast"):
    return ["--nodes", str(nodes), "--edges", str(edges), "--batch", str(batch),
            "--rounds", str(rounds), "--generator", gen]


D2TS_10M_SKIP = ("d2ts took 2.2-3.3 GB for 1M edges (../shared/ANCHORS.md; 2.2 GB for bfs "
                 "100k/1M in this suite, fixed): 10M edges would need about 20 GB and 10-20 "
                 "minutes for round 0")
D2TS_CC_SKIP = ("d2ts cc at 10k nodes / 100k edges took 38.5 s initially and 1.15 s per round "
                "with 0.97 GB (fixed; the published package crashes on cc): ten times the graph "
                "would take hours")

SIZES = {
    # correctness only: a couple of minutes on 2 cores, every system, every round
    "small": [
        Case("bfs", "bfs", g(1000, 10000, 10, 10, "dd"),
             note="the dd example's 1k/10k stream, checked against its output too"),
        Case("degrees", "degrees", g(1000, 10000, 10, 10)),
        Case("cc", "cc", g(2000, 1500, 10, 10), note="sparse: many components"),
        Case("groupby", "groupby", ["--keys", "100", "--initial", "1000", "--updates", "10000",
                                    "--batch", "1000"]),
        Case("join", "join", ["--keys", "100", "--window", "1000", "--batch", "100",
                              "--rounds", "10"]),
    ],
    "medium": [
        Case("bfs-100k", "bfs", g(100000, 1000000, 1000, 20, "dd"),
             caps={"postgres-recompute": 3, "sqlite-recompute": 3, "d2ts": 5},
             anchor="100k/1M"),
        Case("degrees", "degrees", g(100000, 1000000, 1000, 20)),
        Case("cc", "cc", g(100000, 1000000, 1000, 10),
             caps={"postgres-recompute": 3, "sqlite-recompute": 3},
             skips={"d2ts": D2TS_CC_SKIP}),
        Case("groupby", "groupby", ["--keys", "100000", "--updates", "1000000",
                                    "--batch", "10000"]),
        Case("join", "join", ["--keys", "10000", "--window", "100000", "--batch", "1000",
                              "--rounds", "20"]),
    ],
    # issue 4's sizes (cc and join are not among them: their defaults)
    "issue": [
        Case("bfs-100k", "bfs", g(100000, 1000000, 1000, 100, "dd"),
             caps={"postgres-recompute": 10, "sqlite-recompute": 5, "d2ts": 10},
             anchor="100k/1M"),
        Case("bfs-1M", "bfs", g(1000000, 10000000, 1000, 20, "dd"),
             caps={"postgres-recompute": 2, "sqlite-recompute": 1},
             skips={"d2ts": D2TS_10M_SKIP}, anchor="1M/10M"),
        Case("degrees-b1", "degrees", g(1000000, 10000000, 1, 1000),
             caps={"postgres-recompute": 3, "sqlite-recompute": 3},
             skips={"d2ts": D2TS_10M_SKIP}),
        Case("degrees-b1000", "degrees", g(1000000, 10000000, 1000, 100),
             caps={"postgres-recompute": 3, "sqlite-recompute": 3},
             skips={"d2ts": D2TS_10M_SKIP}),
        Case("groupby", "groupby", ["--keys", "100000", "--updates", "1000000",
                                    "--batch", "10000"]),
        Case("cc", "cc", g(100000, 1000000, 1000, 20),
             caps={"postgres-recompute": 3, "sqlite-recompute": 3},
             skips={"d2ts": D2TS_CC_SKIP}, note="not one of issue 4's sizes"),
        Case("join", "join", ["--keys", "100000", "--window", "1000000", "--batch", "1000",
                              "--rounds", "100"],
             caps={"postgres-recompute": 10, "sqlite-recompute": 10, "d2ts": 10},
             note="not one of issue 4's sizes: the workload's defaults"),
    ],
}
TIMEOUTS = {"small": 600, "medium": 1800, "issue": 3600}
REFERENCE_DEFAULT = {"small": "always", "medium": "on-disagreement", "issue": "on-disagreement"}


# ---- helpers ------------------------------------------------------------------

def say(msg=""):
    print(msg, flush=True)


def q(cmd):
    return " ".join(shlex.quote(str(c)) for c in cmd)


def rel(path):
    """A path relative to the repository root when it is inside it."""
    p = os.path.abspath(path)
    return os.path.relpath(p, ROOT) if p.startswith(ROOT + os.sep) else p


def fmt_num(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:.2f}"
    return f"{v:,}"


def fmt_ratio(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}x"
    if v >= 10:
        return f"{v:.1f}x"
    return f"{v:.2f}x"


def fmt_mb(b):
    return "-" if b is None else f"{b / 1e6:,.0f}" if b >= 1e7 else f"{b / 1e6:.1f}"


class Run:
    """One system's run on one case."""

    def __init__(self, system, label, workers=None, cmd=None):
        self.system, self.label, self.workers, self.cmd = system, label, workers, cmd
        self.status = "ok"  # ok, failed, timeout, n/a, skipped
        self.reason = ""
        self.rounds = {}     # round -> {field: value}
        self.latency = {}    # round -> ms
        self.summary = {}
        self.planned = None  # last round it was asked to run
        self.wall_s = None
        self.wrong = []      # (round, got, expected)
        self.undecided = []  # rounds where it disagreed and nothing settled who is right
        self.timed = True

    @property
    def ran(self):
        return self.status in ("ok", "failed", "timeout")

    def stats(self):
        lat = sorted(ms for r, ms in self.latency.items() if r > 0)
        return {
            "rounds": len(lat),
            "median": peerlib.median(lat) if lat else None,
            "p99": peerlib.percentile(lat, 0.99) if lat else None,
            "load_s": self.summary.get("load_s"),
            "initial_s": self.summary.get("initial_s"),
            "peak": self.summary.get("peak_rss_bytes"),
        }


def run_process(cmd, out_path, err_path, timeout, env=None):
    """Runs cmd with stdout and stderr to files; returns (rc, wall_s,
    timed_out). On timeout: SIGTERM to the command (the peers' scripts stop
    their servers on it), then SIGKILL to its process group."""
    t0 = time.monotonic()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        p = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=err, cwd=ROOT,
                             start_new_session=True, env=env)
        try:
            rc = p.wait(timeout=timeout)
            return rc, time.monotonic() - t0, False
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
            return None, time.monotonic() - t0, True


def parse_output(run, out_path, fields):
    with open(out_path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if obj.get("summary"):
                run.summary = obj
            elif isinstance(obj.get("round"), int):
                r = obj["round"]
                missing = [k for k in fields if not isinstance(obj.get(k), int)]
                if missing:
                    run.status = "failed"
                    run.reason = f"round {r} has no integer {', '.join(missing)}"
                    continue
                run.rounds[r] = {k: obj[k] for k in fields}
                if isinstance(obj.get("latency_ms"), (int, float)):
                    run.latency[r] = float(obj["latency_ms"])


def tail(path, n=8):
    try:
        with open(path, errors="replace") as f:
            lines = [l.rstrip() for l in f if l.strip()]
        return lines[-n:]
    except OSError:
        return []


# ---- the comparison -------------------------------------------------------------

class Compare:
    def __init__(self, a):
        self.a = a
        self.size = a.size
        self.cases = [c for c in SIZES[a.size] if c.workload in a.workloads]
        self.timeout = a.timeout or TIMEOUTS[a.size]
        self.reference_mode = a.reference or REFERENCE_DEFAULT[a.size]
        self.commands = []       # every command run, for RESULTS.md
        self.results = []        # (case, runs, anchor_rows, problems, meta)
        self.failed_rf = False
        self.failed_peer = False
        self.rf = None
        self.work = None         # the folder of inputs and logs

    def log_cmd(self, cmd, note=""):
        line = q([rel(c) if isinstance(c, str) and c.startswith(ROOT) else c for c in cmd])
        if self.work:
            line = line.replace(self.work + "/", "$WORK/")
        self.commands.append(line + (f"   # {note}" if note else ""))
        say(f"  $ {line}")

    # -- rhizoflow --
    def build(self):
        if self.a.rhizoflow:
            self.rf = os.path.abspath(self.a.rhizoflow)
            if not os.access(self.rf, os.X_OK):
                peerlib.die("compare", f"{self.a.rhizoflow} is not an executable", 2)
            return
        build = os.environ.get("RF_COMPARE_BUILD", os.path.join(ROOT, "build-release"))
        say(f"building rhizoflow (Release) in {rel(build)}")
        cfg = ["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release"]
        if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
            cfg.append("-DRF_BUILD_TESTS=OFF")
        jobs = str(os.cpu_count() or 2)
        for cmd in (cfg, ["cmake", "--build", build, "--target", "rhizoflow_cli", "-j", jobs]):
            self.log_cmd(cmd)
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                sys.stdout.write(r.stdout[-4000:])
                peerlib.die("compare", "building rhizoflow failed")
        self.rf = os.path.join(build, "cli", "rhizoflow")

    def write_inputs(self, case, folder):
        cmd = [self.rf, "bench", case.workload, "--write-inputs", folder,
               "--seed", str(SEED)] + case.args
        stamp = os.path.join(folder, ".command")
        if os.path.exists(stamp) and open(stamp).read() == q(cmd) \
                and os.path.exists(os.path.join(folder, "meta.json")):
            say(f"  inputs already in {folder} (same command)")
            self.commands.append(q([rel(self.rf)] + cmd[1:]).replace(self.work + "/", "$WORK/")
                                 + "   # inputs (reused)")
            return True
        os.makedirs(folder, exist_ok=True)
        self.log_cmd([rel(self.rf)] + cmd[1:])
        t0 = time.monotonic()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            say(f"  writing the inputs failed (status {r.returncode}):")
            for line in r.stderr.strip().splitlines()[-8:]:
                say(f"    {line}")
            return False
        with open(stamp, "w") as f:
            f.write(q(cmd))
        say(f"  inputs written in {time.monotonic() - t0:.1f} s")
        return True

    def rf_file_args(self, case, folder, meta):
        w = case.workload
        if w in peerlib.GRAPH_WORKLOADS:
            args = ["--edges", os.path.join(folder, "edges.txt"),
                    "--updates", os.path.join(folder, "updates.txt")]
        elif w == "groupby":
            args = ["--updates", os.path.join(folder, "updates.txt")]
        else:
            args = ["--updates", os.path.join(folder, "left.txt") + "," +
                    os.path.join(folder, "right.txt")]
        if isinstance(meta.get("times_per_round"), int) and meta["times_per_round"] > 0:
            args += ["--times-per-round", str(meta["times_per_round"])]
        return args

    # -- one system --
    def run_system(self, case, folder, meta, system, workers=None, rounds_cap=None,
                   label=None, logs=None):
        w = case.workload
        fields = peerlib.CHECKSUMS[w]
        label = label or (f"rhizoflow w{workers}" if system == "rhizoflow" else system)
        run = Run(system, label, workers)
        R = peerlib.meta_rounds(meta) or 0
        cap = rounds_cap
        if system == "rhizoflow":
            cmd = [self.rf, "bench", w, "--workers", str(workers)] + \
                self.rf_file_args(case, folder, meta)
        elif system in ("d2ts", "d2ts-fixed"):
            runner = os.path.join(PEERS, "d2ts", "run")
            if not os.access(runner, os.X_OK):
                run.status, run.reason = "n/a", "not available (no benchmarks/peers/d2ts/run)"
                return run
            cmd = [runner, w, folder] + (["--stock"] if system == "d2ts" else [])
        elif system.startswith("postgres-"):
            cmd = [os.path.join(PEERS, "postgres", "run"), w, folder, "--system", system]
        elif system.startswith("sqlite-"):
            cmd = [os.path.join(PEERS, "sqlite", "run"), w, folder, "--system", system]
        elif system == "reference":
            cmd = [os.path.join(PEERS, "reference", "run"), w, folder]
        else:
            raise ValueError(system)
        if cap is not None and cap < R:
            cmd += ["--rounds", str(cap)]
            run.planned = cap
        else:
            run.planned = R
        run.cmd = cmd
        logs = logs or os.path.join(folder, "logs")
        os.makedirs(logs, exist_ok=True)
        base = os.path.join(logs, label.replace(" ", "_"))
        note = f"{run.planned} of {R} rounds" if run.planned < R else ""
        self.log_cmd([rel(c) if isinstance(c, str) else c for c in cmd], note)
        rc, wall, timed_out = run_process(cmd, base + ".out", base + ".err", self.timeout)
        run.wall_s = wall
        parse_output(run, base + ".out", fields)
        if timed_out:
            run.status, run.reason = "timeout", f"stopped after {self.timeout} s"
        elif rc != 0:
            if system.startswith("d2ts") and rc == 4:
                run.status = "n/a"
                run.reason = "; ".join(tail(base + ".err", 2)) or "cannot be expressed in d2ts"
            else:
                run.status = "failed"
                run.reason = f"exit status {rc}: " + " | ".join(tail(base + ".err", 3))
        elif not run.summary:
            run.status, run.reason = "failed", "no summary line"
        elif run.status == "ok" and max(run.rounds, default=-1) < run.planned:
            run.status = "failed"
            run.reason = f"printed rounds up to {max(run.rounds, default=-1)} of {run.planned}"
        state = run.status + (f" ({run.reason})" if run.reason else "")
        say(f"    {label}: {state}, {wall:.1f} s")
        if run.status in ("failed", "timeout"):
            for line in tail(base + ".err", 6):
                say(f"      | {line}")
        return run

    # -- the dd example's own output, as expected checksums --
    def dd_expected(self, case, meta):
        """For bfs on the dd stream with the anchors' sizes, the checksums
        the Rust example's histogram gives (../shared/anchors/dd-bfs)."""
        if case.workload != "bfs" or meta.get("generator") != "dd":
            return None
        n, m, b = meta.get("nodes"), meta.get("edges"), meta.get("batch")
        names = {(1000, 10000, 10): "ref_bfs_1k_10k_b10_r10_inspect.txt",
                 (100000, 1000000, 1000): "ref_bfs_100k_1M_b1000_r100_inspect.txt",
                 (1000000, 10000000, 1000): "ref_bfs_1M_10M_b1000_r100_inspect.txt"}
        name = names.get((n, m, b))
        path = os.path.join(SHARED, "anchors", "dd-bfs", name or "")
        if not name or not os.path.exists(path):
            return None
        changes = []
        with open(path) as f:
            for line in f:
                nums = re.findall(r"-?\d+", line)
                if len(nums) == 3:
                    changes.append(tuple(int(x) for x in nums))
        run = Run("dd-anchor", "differential-dataflow output (anchors/dd-bfs)")
        run.timed = False
        covered = int(re.search(r"_r(\d+)_", name).group(1))  # rounds the file holds
        last = min(peerlib.meta_rounds(meta) or 0, covered)
        changes.sort(key=lambda c: c[1])
        reach = dsum = i = 0
        for r in range(0, last + 1):
            limit = r * b  # round r covers the example's times (r-1)*b+1 .. r*b
            while i < len(changes) and changes[i][1] <= limit:
                d, _, diff = changes[i]
                reach += diff
                dsum += d * diff
                i += 1
            run.rounds[r] = {"reachable": reach, "distance_sum": dsum}
        run.cmd = [rel(path)]
        return run

    # -- agreement --
    def check(self, case, folder, meta, runs):
        fields = peerlib.CHECKSUMS[case.workload]
        rounds = sorted({r for run in runs for r in run.rounds})
        disagree = []
        for r in rounds:
            vals = {tuple(run.rounds[r][f] for f in fields) for run in runs if r in run.rounds}
            if len(vals) > 1:
                disagree.append(r)
        truth = None
        ref = next((run for run in runs if run.system == "reference"), None)
        if ref is None and (disagree and self.reference_mode != "never"):
            say(f"  checksums differ in {len(disagree)} round(s) (first: {disagree[0]}): "
                "running the reference")
            last = max(disagree)
            ref = self.run_system(case, folder, meta, "reference", rounds_cap=last)
            ref.timed = False
            runs.append(ref)
        if ref is not None and ref.rounds:
            truth = ref
        else:
            truth = next((run for run in runs if run.system == "dd-anchor"), None)
        problems = []
        if truth is not None:
            for run in runs:
                if run is truth:
                    continue
                for r in sorted(run.rounds):
                    if r in truth.rounds and run.rounds[r] != truth.rounds[r]:
                        run.wrong.append((r, run.rounds[r], truth.rounds[r]))
                if run.wrong:
                    r, got, exp = run.wrong[0]
                    diffs = ", ".join(f"{k} {got[k]} (expected {exp[k]})"
                                      for k in fields if got[k] != exp[k])
                    problems.append(f"{run.label}: wrong in {len(run.wrong)} of "
                                    f"{len(run.rounds)} rounds (checked against the "
                                    f"{truth.label}); first round {r}: {diffs}")
            unchecked = [r for r in disagree if r not in truth.rounds]
            if unchecked:
                problems.append(f"rounds {unchecked[:5]} disagree and the {truth.label} "
                                "did not reach them: undecided")
                for run in runs:
                    run.undecided = [r for r in unchecked if r in run.rounds]
        elif disagree:
            r = disagree[0]
            sides = {}
            for run in runs:
                if r in run.rounds:
                    sides.setdefault(tuple(run.rounds[r][f] for f in fields), []).append(run.label)
            problems.append(f"round {r} disagrees and no reference settled it: " +
                            "; ".join(f"{', '.join(v)} say {dict(zip(fields, k))}"
                                      for k, v in sides.items()))
            for run in runs:
                run.undecided = [r for r in disagree if r in run.rounds]
        return truth, problems

    # -- the anchor rows --
    def anchor_rows(self, case, folder, meta):
        """rhizoflow on the generated dd stream (as the Rust example runs),
        next to ANCHORS.md's figures for that size."""
        anchors = read_anchors()
        if not anchors:
            return None, "../shared/ANCHORS.md not found: no anchor rows"
        rows = []
        for workers in self.a.workers:
            fig = anchors.get((case.anchor, workers))
            cmd_args = ["--workers", str(workers)] + case.args
            ref = self.dd_ref_file(case)
            if ref:
                cmd_args += ["--check-ref", ref]
            label = f"rhizoflow --generator dd w{workers}"
            run = Run("rhizoflow", label, workers)
            cmd = [self.rf, "bench", "bfs"] + cmd_args
            run.cmd = cmd
            logs = os.path.join(folder, "logs")
            os.makedirs(logs, exist_ok=True)
            base = os.path.join(logs, f"anchor_w{workers}")
            self.log_cmd([rel(self.rf), "bench", "bfs"] +
                         [rel(c) if c.startswith(ROOT) or c.startswith(SHARED) else c
                          for c in cmd_args], "generated dd stream, as ANCHORS.md")
            rc, wall, timed_out = run_process(cmd, base + ".out", base + ".err", self.timeout)
            parse_output(run, base + ".out", peerlib.CHECKSUMS["bfs"])
            if timed_out or rc not in (0,) or not run.summary:
                run.status = "timeout" if timed_out else "failed"
                run.reason = f"status {rc}: " + " | ".join(tail(base + ".err", 3))
                if rc == 3:
                    run.reason = "histogram differs from the dd example's (--check-ref)"
                    self.failed_rf = True
                say(f"    {label}: {run.status} ({run.reason})")
            else:
                say(f"    {label}: ok, {wall:.1f} s"
                    + (f", histogram {run.summary.get('check_ref')}" if ref else ""))
            rows.append((workers, fig, run))
        return rows, None

    def dd_ref_file(self, case):
        n, m = case.arg("--nodes"), case.arg("--edges")
        name = {("100000", "1000000"): "ref_bfs_100k_1M_b1000_r100_inspect.txt",
                ("1000000", "10000000"): "ref_bfs_1M_10M_b1000_r100_inspect.txt"}.get((n, m))
        path = os.path.join(SHARED, "anchors", "dd-bfs", name or "")
        return path if name and os.path.exists(path) and case.arg("--batch") == "1000" else None

    # -- one case --
    def run_case(self, case, work):
        folder = os.path.join(work, case.id)
        say("")
        say(f"== {case.id}: {case.workload} {' '.join(case.args)}"
            + (f" ({case.note})" if case.note else ""))
        if not self.write_inputs(case, folder):
            self.failed_rf = True
            self.results.append((case, [], None, ["writing the inputs failed"], {}, None))
            return
        try:
            meta = peerlib.read_meta(folder)
        except peerlib.InputError as e:
            self.failed_rf = True
            self.results.append((case, [], None, [str(e)], {}, None))
            return
        runs = []
        for system in self.a.systems:
            if system in ("postgres-triggers", "sqlite-triggers") \
                    and case.workload not in TRIGGER_WORKLOADS:
                continue
            if system == "rhizoflow":
                for workers in self.a.workers:
                    runs.append(self.run_system(case, folder, meta, "rhizoflow", workers))
                continue
            key = "d2ts" if system.startswith("d2ts") else system  # caps, skips: both d2ts
            if key in case.skips and not self.a.no_skip:
                run = Run(system, system)
                run.status, run.reason = "skipped", case.skips[key]
                say(f"    {system}: skipped: {run.reason}")
                runs.append(run)
                continue
            cap = None if self.a.all_rounds else case.caps.get(key)
            runs.append(self.run_system(case, folder, meta, system, rounds_cap=cap))
        if self.reference_mode == "always":
            ref = self.run_system(case, folder, meta, "reference")
            ref.timed = False
            runs.append(ref)
        dd = self.dd_expected(case, meta)
        if dd:
            runs.append(dd)
        truth, problems = self.check(case, folder, meta, runs)
        for run in runs:
            if run.system == "rhizoflow" and (run.wrong or run.undecided or run.status != "ok"):
                self.failed_rf = True
            if run.system in PEER_SYSTEMS and run.status in ("failed", "timeout"):
                self.failed_peer = True
        anchors = None
        if case.anchor and "rhizoflow" in self.a.systems and not self.a.no_anchors:
            anchors = self.anchor_rows(case, folder, meta)
        self.results.append((case, runs, anchors, problems, meta, truth))
        self.print_case(self.results[-1])

    # -- tables --
    def case_table(self, result):
        case, runs, anchors, problems, meta, truth = result
        rfs = [r for r in runs if r.system == "rhizoflow" and r.status == "ok"]
        base = {r.workers: r.stats() for r in rfs}
        R = peerlib.meta_rounds(meta) or 0
        head = ["system", "rounds", "load s", "initial s", "median ms", "p99 ms", "peak MB"]
        for w in sorted(base):
            head.append(f"median / rf w{w}")
        if base:
            w0 = min(base)
            head += [f"initial / rf w{w0}", f"memory / rf w{w0}"]
        head.append("answers")
        rows = []
        for run in runs:
            if not run.timed:
                continue
            st = run.stats()
            answers = self.answer_state(run, truth)
            if not run.ran:
                rows.append([run.label, "-", "-", "-", "-", "-", "-"] +
                            ["-"] * (len(head) - 8) + [f"{run.status}: {run.reason}"])
                continue
            rounds = f"{st['rounds']}" if st["rounds"] == R else f"{st['rounds']} of {R}"
            row = [run.label, rounds, fmt_num(st["load_s"]), fmt_num(st["initial_s"]),
                   fmt_num(st["median"]), fmt_num(st["p99"]), fmt_mb(st["peak"])]
            for w in sorted(base):
                b = base[w]["median"]
                row.append(fmt_ratio(st["median"] / b) if st["median"] and b else "-")
            if base:
                b = base[min(base)]
                row.append(fmt_ratio(st["initial_s"] / b["initial_s"])
                           if st["initial_s"] and b["initial_s"] else "-")
                row.append(fmt_ratio(st["peak"] / b["peak"]) if st["peak"] and b["peak"] else "-")
            row.append(answers)
            rows.append(row)
        return head, rows

    def answer_state(self, run, truth):
        if run.status in ("failed", "timeout"):
            s = f"{run.status}: {run.reason}"
            if run.wrong:
                s = f"WRONG in {len(run.wrong)} rounds; " + s
            return s
        if run.wrong:
            return f"WRONG in {len(run.wrong)} of {len(run.rounds)} rounds"
        if run.undecided:
            return f"disagrees in {len(run.undecided)} rounds (undecided)"
        checked = truth is not None and truth is not run
        return "agree" + (f" (= {truth.system})" if checked else "")

    def anchor_table(self, result):
        case, runs, anchors, problems, meta, truth = result
        if not anchors:
            return None
        rows_, err = anchors
        if err:
            return ["note"], [[err]]
        head = ["row", "rounds", "initial s", "median ms", "p99 ms", "peak MB",
                "speed-up vs dd (initial)", "speed-up vs dd (median)", "memory / dd", "histogram"]
        rows = []
        for workers, fig, run in rows_:
            if fig:
                rows.append([f"Rust differential-dataflow w{workers} (ANCHORS.md figures, "
                             "not measured here)", str(fig["rounds"]), fmt_num(fig["initial_s"]),
                             fmt_num(fig["median_ms"]), "-", fmt_mb(fig["peak_bytes"]),
                             "", "", "", ""])
            if run.status != "ok":
                rows.append([run.label, "-", "-", "-", "-", "-", "-", "-", "-",
                             f"{run.status}: {run.reason}"])
                continue
            s = run.summary
            st = run.stats()
            ini = s.get("initial_s")
            rows.append([run.label, str(st["rounds"]), fmt_num(ini), fmt_num(st["median"]),
                         fmt_num(st["p99"]), fmt_mb(s.get("peak_rss_bytes")),
                         fmt_ratio(fig["initial_s"] / ini) if fig and ini else "-",
                         fmt_ratio(fig["median_ms"] / st["median"])
                         if fig and st["median"] else "-",
                         fmt_ratio(s["peak_rss_bytes"] / fig["peak_bytes"])
                         if fig and s.get("peak_rss_bytes") else "-",
                         s.get("check_ref", "-")])
        return head, rows

    def case_title(self, case, meta):
        keys = ["nodes", "edges", "keys", "initial", "updates", "window", "batch", "rounds",
                "times_per_round", "generator", "seed"]
        desc = ", ".join(f"{k} {meta[k]:,}" if isinstance(meta.get(k), int) else f"{k} {meta[k]}"
                         for k in keys if k in meta)
        return f"{case.id} ({case.workload}: {desc})" + (f"; {case.note}" if case.note else "")

    def print_case(self, result):
        case, runs, anchors, problems, meta, truth = result
        say("")
        say(self.case_title(case, meta))
        head, rows = self.case_table(result)
        say(text_table(head, rows))
        at = self.anchor_table(result)
        if at:
            say("")
            say(f"{case.id} next to the Rust differential-dataflow anchors "
                "(rhizoflow on the generated dd stream):")
            say(text_table(*at))
        for p in problems:
            say(f"  ! {p}")

    # -- RESULTS.md --
    def write_results(self, argv, started):
        cpu = cpu_model()
        lines = []
        lines.append(f"## Comparison with peer systems, `{self.size}` size "
                     f"({started.strftime('%Y-%m-%d %H:%M UTC')})")
        lines.append("")
        lines.append(f"Written by `benchmarks/compare --write-results`. Machine: {cpu}, "
                     f"`nproc` {os.cpu_count()}, {mem_total()}; {platform.platform()}. "
                     f"Commit {git_rev()}. Load average at the start: {load_avg()}.")
        lines.append("")
        lines.append("Ratios are peer / rhizoflow (above 1: rhizoflow is faster or smaller); "
                     "round times are medians and nearest-rank p99 over rounds 1..R. A peer "
                     "that would take far too long runs fewer rounds (the `rounds` column); "
                     "its median is over those rounds. Memory is each system's peak RSS "
                     "(PostgreSQL: its server processes). \"agree (= reference)\" means every "
                     "round's checksums equal the independent reference's.")
        lines.append("")
        lines.append("Commands (`$WORK` is the folder of inputs and logs" +
                     (f", kept in {self.work}" if self.a.keep else ", a temporary one") + "):")
        lines.append("")
        lines.append("```")
        lines.append("benchmarks/compare " + " ".join(shlex.quote(x) for x in argv))
        lines.extend(self.commands)
        lines.append("```")
        wrong = []
        for result in self.results:
            case, runs, anchors, problems, meta = result[:5]
            lines.append("")
            if not runs:
                lines.append(f"### {case.id}: not run ({'; '.join(problems)})")
                continue
            lines.append(f"### {self.case_title(case, meta)}")
            lines.append("")
            head, rows = self.case_table(result)
            lines.append(md_table(head, rows))
            at = self.anchor_table(result)
            if at:
                lines.append("")
                lines.append("Next to the Rust differential-dataflow anchors (fixed figures from "
                             "../shared/ANCHORS.md, 100 rounds, not measured in this run; "
                             "rhizoflow on the generated dd stream, measured here):")
                lines.append("")
                lines.append(md_table(*at))
            for p in problems:
                wrong.append(f"- {case.id}: {p}")
        lines.append("")
        lines.append("Wrong answers and disagreements:" if wrong else
                     "Wrong answers and disagreements: none; every system that ran agreed "
                     "on every round it ran.")
        if wrong:
            lines.append("")
            lines.extend(wrong)
        path = self.a.results_file
        with open(path, "a") as f:
            f.write("\n" + "\n".join(lines) + "\n")
        say(f"\nappended to {rel(path)}")


def text_table(head, rows):
    cols = len(head)
    rows = [r + [""] * (cols - len(r)) for r in rows]
    width = [max(len(str(x)) for x in [head[i]] + [r[i] for r in rows]) for i in range(cols)]
    out = ["  ".join(str(h).ljust(width[i]) for i, h in enumerate(head)).rstrip()]
    out.append("  ".join("-" * width[i] for i in range(cols)))
    for r in rows:
        out.append("  ".join(str(x).ljust(width[i]) for i, x in enumerate(r)).rstrip())
    return "\n".join(out)


def md_table(head, rows):
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(esc(h) for h in head) + " |",
           "|" + "---|" * len(head)]
    for r in rows:
        r = r + [""] * (len(head) - len(r))
        out.append("| " + " | ".join(esc(x) for x in r) + " |")
    return "\n".join(out)


def read_anchors():
    """ANCHORS.md's bfs table: {(size, workers): figures}."""
    path = os.path.join(SHARED, "ANCHORS.md")
    try:
        text = open(path).read()
    except OSError:
        return None
    out = {}
    pat = re.compile(r"^\|\s*(100k/1M|1M/10M),\s*(\d+)\s*workers?\s*\|\s*([\d.]+)\s*(ms|s)\s*\|"
                     r"\s*([\d.]+)\s*ms[^|]*\|[^|]*\|\s*([\d.]+)\s*(MB|GB)\s*\|", re.M)
    for m in pat.finditer(text):
        ini = float(m.group(3)) / (1000 if m.group(4) == "ms" else 1)
        peak = float(m.group(6)) * (1e9 if m.group(7) == "GB" else 1e6)
        out[(m.group(1), int(m.group(2)))] = {"initial_s": ini, "median_ms": float(m.group(5)),
                                              "peak_bytes": peak, "rounds": 100}
    return out


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def mem_total():
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    return "memory unknown"


def load_avg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "unknown"


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return f"`{rev}`" + (" with uncommitted changes" if dirty else "")
    except OSError:
        return "unknown"


def parse_list(text, allowed, what, groups=None):
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        items = (groups or {}).get(item, [item])
        for it in items:
            if it not in allowed:
                raise SystemExit(f"compare: unknown {what} '{it}' (known: {', '.join(allowed)})")
            if it not in out:
                out.append(it)
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(
        prog="benchmarks/compare",
        description="Run rhizoflow and the peer systems on identical inputs, check that every "
                    "round's checksums agree, and print the ratios (benchmarks/WORKLOADS.md, "
                    "benchmarks/peers/README.md).",
        epilog="Exit status: 0 when rhizoflow ran and agreed everywhere (peers' wrong answers "
               "are reported, not fatal); 1 on any disagreement involving rhizoflow or a "
               "rhizoflow failure (with --strict also a peer that failed to run); 2 bad usage.")
    ap.add_argument("--size", choices=list(SIZES), default="small",
                    help="small: correctness, a couple of minutes on 2 cores (default); "
                         "medium: 100k-node graphs; issue: issue 4's sizes")
    ap.add_argument("--workloads", default=",".join(peerlib.WORKLOADS),
                    help="comma-separated workloads (default all: bfs,degrees,cc,groupby,join)")
    ap.add_argument("--systems", default="all",
                    help="comma-separated systems: rhizoflow, d2ts, d2ts-fixed, postgres-recompute, "
                         "postgres-triggers, sqlite-recompute, sqlite-triggers; the groups "
                         "postgres, sqlite, peers, all (default all)")
    ap.add_argument("--workers", default="1,2", help="rhizoflow worker counts (default 1,2)")
    ap.add_argument("--rhizoflow", metavar="PATH",
                    help="the rhizoflow binary (default: build it in Release in build-release/, "
                         "or $RF_COMPARE_BUILD)")
    ap.add_argument("--write-results", action="store_true",
                    help="append a dated section to benchmarks/RESULTS.md")
    ap.add_argument("--results-file", metavar="FILE", default=os.path.join(BENCH, "RESULTS.md"),
                    help="where --write-results appends (default benchmarks/RESULTS.md)")
    ap.add_argument("--keep", metavar="DIR",
                    help="write inputs and logs in DIR and keep them (inputs written by the same "
                         "command are reused); default: a temporary folder, removed")
    ap.add_argument("--reference", choices=["always", "on-disagreement", "never"],
                    help="when to run the independent reference (default: always at small, "
                         "on disagreement otherwise)")
    ap.add_argument("--timeout", type=int, help="seconds per system run (default by size: "
                    + ", ".join(f"{k} {v}" for k, v in TIMEOUTS.items()) + ")")
    ap.add_argument("--all-rounds", action="store_true",
                    help="no round caps: every peer runs every round")
    ap.add_argument("--no-skip", action="store_true", help="run the peers a size skips too")
    ap.add_argument("--no-anchors", action="store_true",
                    help="no rhizoflow --generator dd runs next to the Rust dd anchors")
    ap.add_argument("--strict", action="store_true",
                    help="also exit 1 when a peer fails to run (not when it is unavailable)")
    a = ap.parse_args(argv)
    try:
        a.workloads = parse_list(a.workloads, list(peerlib.WORKLOADS), "workload")
        a.systems = parse_list(a.systems, ALL_SYSTEMS, "system", GROUPS)
        a.workers = [int(x) for x in a.workers.split(",") if x.strip()]
        if not a.workers or any(w < 1 for w in a.workers):
            raise ValueError
    except ValueError:
        print("compare: --workers takes worker counts such as 1,2", file=sys.stderr)
        return 2
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2

    started = datetime.datetime.now(datetime.timezone.utc)
    c = Compare(a)
    say(f"benchmarks/compare --size {a.size}: workloads {','.join(a.workloads)}; systems "
        f"{','.join(a.systems)}; rhizoflow workers {','.join(map(str, a.workers))}; "
        f"{os.cpu_count()} CPUs ({cpu_model()}), load {load_avg()}")
    if "rhizoflow" not in a.systems:
        say("note: rhizoflow is not among the systems: no ratios")
    c.build()
    if a.keep:
        work = os.path.abspath(a.keep)
        os.makedirs(work, exist_ok=True)
        cleanup = False
    else:
        work = tempfile.mkdtemp(prefix="rf-compare.")
        cleanup = True
    c.work = work
    say(f"inputs and logs in {work} ($WORK below)" + (" (removed at the end)" if cleanup else ""))
    try:
        for case in c.cases:
            c.run_case(case, work)
    except KeyboardInterrupt:
        say("\ninterrupted")
        return 130
    finally:
        if cleanup:
            shutil.rmtree(work, ignore_errors=True)

    say("")
    say("== summary")
    bad = False
    for result in c.results:
        case, runs, anchors, problems = result[:4]
        for p in problems:
            say(f"  {case.id}: {p}")
        for run in runs:
            if run.status in ("failed", "timeout", "n/a"):
                say(f"  {case.id}: {run.label} {run.status}: {run.reason}")
    if a.write_results:
        c.write_results(argv, started)
    if c.failed_rf:
        say("FAILED: rhizoflow failed or disagreed (see above)")
        bad = True
    elif c.failed_peer and a.strict:
        say("FAILED (--strict): a peer failed to run")
        bad = True
    else:
        what = ("rhizoflow agreed with every check" if "rhizoflow" in a.systems
                else "no disagreement left unsettled")
        say(f"OK: {what}" + ("" if not c.failed_peer else "; some peers failed to run (see above)"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
