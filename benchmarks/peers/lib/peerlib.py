"""peerlib: what the peer drivers share (benchmarks/WORKLOADS.md).

- reading a workload's input folder (meta.json, edges.txt, the update files),
  streaming, one round at a time, with the DESIGN §11 rules (whitespace
  separated decimal numbers, `#` comment lines) and an error naming the file,
  the line and the fault for a malformed line;
- the checksum fields of each workload;
- the JSON lines every system prints (one per round, one summary line) and
  the round statistics (median, nearest-rank percentiles, as rhizoflow's
  bench does).

Standard library only (Debian's python3).
"""

import json
import math
import os
import re
import sys

# The checksum fields per workload, in output order (WORKLOADS.md).
CHECKSUMS = {
    "bfs": ("reachable", "distance_sum"),
    "degrees": ("nodes", "distinct_degrees", "max_degree", "degree_sq_sum"),
    "cc": ("nodes", "components", "label_sum"),
    "groupby": ("keys", "count", "sum", "min_sum", "max_sum"),
    "join": ("keys", "pairs", "pairs_sq_sum"),
}

GRAPH_WORKLOADS = ("bfs", "degrees", "cc")
WORKLOADS = tuple(CHECKSUMS)

LIMIT = 1 << 62  # nodes, keys and values are below 2^62


class InputError(Exception):
    """A malformed or inconsistent input file."""


def die(prog, msg, status=1):
    print(f"{prog}: {msg}", file=sys.stderr)
    sys.exit(status)


# ---- input files -------------------------------------------------------------

def read_meta(folder):
    path = os.path.join(folder, "meta.json")
    try:
        with open(path) as f:
            meta = json.load(f)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}")
    except ValueError as e:
        raise InputError(f"{path}: not a JSON object: {e}")
    if not isinstance(meta, dict):
        raise InputError(f"{path}: not a JSON object")
    return meta


def update_files(workload, folder):
    """The update files of a workload, as (name, path) pairs."""
    if workload == "join":
        return [("left", os.path.join(folder, "left.txt")),
                ("right", os.path.join(folder, "right.txt"))]
    return [("updates", os.path.join(folder, "updates.txt"))]


def meta_rounds(meta):
    """R, the number of rounds after round 0, from meta.json (None if it
    does not say)."""
    if isinstance(meta.get("rounds"), int):
        return meta["rounds"]
    upd, batch = meta.get("updates"), meta.get("batch")
    if isinstance(upd, int) and isinstance(batch, int) and batch > 0:
        return (upd + batch - 1) // batch
    return None


def _number(tok, path, lineno, what):
    try:
        v = int(tok, 10)
    except ValueError:
        raise InputError(f"{path}:{lineno}: {what} '{tok}' is not a decimal integer")
    return v


def iter_edges(path):
    """(src, dst) per edge line of an edge list."""
    try:
        f = open(path)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}")
    with f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            if len(parts) != 2:
                raise InputError(f"{path}:{lineno}: expected 'src dst', got {len(parts)} fields")
            s = _number(parts[0], path, lineno, "src")
            d = _number(parts[1], path, lineno, "dst")
            if not (0 <= s < LIMIT and 0 <= d < LIMIT):
                raise InputError(f"{path}:{lineno}: node out of range [0, 2^62)")
            yield s, d


class EdgeText:
    """A file-like object over an edge list that reads back as 'src dst\\n'
    lines (comments dropped, whitespace normalised), for PostgreSQL's COPY.
    Chunks that are already in that form pass through untouched."""

    def __init__(self, path, chunk=1 << 22):
        try:
            self.f = open(path)
        except OSError as e:
            raise InputError(f"{path}: cannot read: {e.strerror}")
        self.path, self.chunk, self.lineno, self.rows = path, chunk, 0, 0

    def read(self, size=-1):
        text = self.f.read(self.chunk)
        if not text:
            return ""
        if not text.endswith("\n"):
            text += self.f.readline()
        n = text.count("\n") + (0 if text.endswith("\n") else 1)
        if "#" in text or "\t" in text or "  " in text or "\r" in text \
                or text.startswith(" ") or "\n " in text or " \n" in text or "-" in text:
            out = []
            for i, line in enumerate(text.splitlines(), self.lineno + 1):
                parts = line.split()
                if not parts or parts[0].startswith("#"):
                    continue
                if len(parts) != 2:
                    raise InputError(f"{self.path}:{i}: expected 'src dst', "
                                     f"got {len(parts)} fields")
                s = _number(parts[0], self.path, i, "src")
                d = _number(parts[1], self.path, i, "dst")
                if not (0 <= s < LIMIT and 0 <= d < LIMIT):
                    raise InputError(f"{self.path}:{i}: node out of range [0, 2^62)")
                out.append(f"{s} {d}\n")
            self.rows += len(out)
            text = "".join(out)
        else:
            self.rows += n
            if not text.endswith("\n"):
                text += "\n"
        self.lineno += n
        return text

    readline = read

    def close(self):
        self.f.close()


class UpdateFile:
    """An update file (`round diff a b` per line), read one round at a time.

    rounds() yields (r, changes) for r = first..last in order, changes being
    the list of (diff, a, b) of round r in file order (an empty list for a
    round with no line). Rounds must be non-decreasing; diffs are +1 or -1."""

    def __init__(self, path):
        self.path = path
        try:
            self.f = open(path)
        except OSError as e:
            raise InputError(f"{path}: cannot read: {e.strerror}")
        self.lineno = 0
        self.pending = None  # (round, change) read ahead

    def _next(self):
        for line in self.f:
            self.lineno += 1
            parts = line.split()
            if not parts or parts[0].startswith("#"):
                continue
            if len(parts) != 4:
                raise InputError(f"{self.path}:{self.lineno}: expected 'round diff a b', "
                                 f"got {len(parts)} fields")
            p, n = self.path, self.lineno
            r = _number(parts[0], p, n, "round")
            d = _number(parts[1], p, n, "diff")
            a = _number(parts[2], p, n, "column 1")
            b = _number(parts[3], p, n, "column 2")
            if d not in (1, -1):
                raise InputError(f"{p}:{n}: diff {d} is not +1 or -1")
            if r < 0:
                raise InputError(f"{p}:{n}: negative round {r}")
            if not (0 <= a < LIMIT and 0 <= b < LIMIT):
                raise InputError(f"{p}:{n}: value out of range [0, 2^62)")
            return r, (d, a, b)
        return None

    def take(self, r):
        """The changes of round r (rounds before r must have been taken)."""
        out = []
        if self.pending is None:
            self.pending = self._next()
        while self.pending is not None and self.pending[0] <= r:
            pr, ch = self.pending
            if pr < r:
                raise InputError(f"{self.path}:{self.lineno}: round {pr} after round {r} "
                                 "(rounds must not decrease)")
            out.append(ch)
            self.pending = self._next()
        return out

    def last_round_seen(self):
        return None if self.pending is None else self.pending[0]

    def close(self):
        self.f.close()


def plan_rounds(meta, files, cap=None):
    """The last round to run: meta's R (or the files' last round, read
    lazily), capped by `cap`."""
    r = meta_rounds(meta)
    if r is None:
        r = 0
        for _, path in files:
            last = 0
            with open(path) as f:
                for line in f:
                    parts = line.split()
                    if parts and not parts[0].startswith("#"):
                        last = max(last, int(parts[0]))
            r = max(r, last)
    if cap is not None:
        r = min(r, cap)
    return r


# ---- SQL files ----------------------------------------------------------------

def load_sql(path):
    """The sections of a .sql file: each starts at a line `-- name: NAME` and
    runs to the next one. Returns {NAME: text}."""
    sections, name, lines = {}, None, []
    with open(path) as f:
        for line in f:
            m = re.match(r"--\s*name:\s*(\w+)\s*$", line)
            if m:
                if name:
                    sections[name] = "".join(lines).strip() + "\n"
                name, lines = m.group(1), []
            elif name:
                lines.append(line)
    if name:
        sections[name] = "".join(lines).strip() + "\n"
    return sections


# ---- statistics and output --------------------------------------------------

def percentile(sorted_v, q):
    """Nearest rank, as rhizoflow's rfw_percentile."""
    if not sorted_v:
        return 0.0
    k = max(1, math.ceil(q * len(sorted_v)))
    return sorted_v[k - 1]


def median(sorted_v):
    n = len(sorted_v)
    if n == 0:
        return 0.0
    return sorted_v[n // 2] if n % 2 else (sorted_v[n // 2 - 1] + sorted_v[n // 2]) / 2


def emit(obj, out=sys.stdout):
    out.write(json.dumps(obj, separators=(",", ":")) + "\n")
    out.flush()


def round_line(workload, r, latency_ms, values):
    line = {"round": r, "latency_ms": round(latency_ms, 3)}
    for name in CHECKSUMS[workload]:
        line[name] = int(values[name])
    return line


def summary_line(system, workload, load_s, initial_s, latencies_ms, updates_applied,
                 peak_rss_bytes, workers=None, **extra):
    lat = sorted(latencies_ms)
    total_s = sum(lat) / 1e3
    s = {
        "summary": True,
        "system": system,
        "workload": workload,
        "workers": workers,
        "load_s": round(load_s, 4),
        "initial_s": round(initial_s, 4),
        "rounds": len(lat),
        "round_median_ms": round(median(lat), 3),
        "round_p90_ms": round(percentile(lat, 0.90), 3),
        "round_p99_ms": round(percentile(lat, 0.99), 3),
        "round_mean_ms": round(total_s * 1e3 / len(lat), 3) if lat else 0.0,
        "updates_per_s": round(updates_applied / total_s, 1) if total_s > 0 else None,
        "peak_rss_bytes": peak_rss_bytes,
    }
    s.update(extra)
    return s


def self_peak_rss_bytes():
    """This process's peak RSS (VmHWM), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except Exception:
        return None
