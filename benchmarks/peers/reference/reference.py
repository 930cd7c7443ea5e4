#!/usr/bin/env python3
"""reference.py: the independent plain computation of every workload's
checksums, round by round, from an input folder (benchmarks/WORKLOADS.md).

  reference.py WORKLOAD DIR [--rounds N]

It keeps the input multisets as they are after each round (a removal takes
away one copy and is an error if there is none), then computes the answer
from scratch, with nothing shared with rhizoflow or the SQL peers:

  bfs      textbook breadth-first search from node 0 over the distinct
           directed edges (a queue, a distance map);
  degrees  out-degree per source (copies counted), then the histogram;
  cc       union-find (by size, path halving) over the present edges read
           undirected; a component's label is its smallest node;
  groupby  per key: count, sum, min, max over the present rows (a hash map);
  join     per key: |left rows| x |right rows|.

Prints the JSON lines of WORKLOADS.md with system "reference"; latency_ms is
the time of that plain computation (not a benchmark figure).
"""

import argparse
import collections
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import peerlib  # noqa: E402


class Multiset:
    """Counts of hashable items; remove() of an absent copy is an error."""

    def __init__(self):
        self.c = collections.Counter()

    def add(self, x):
        self.c[x] += 1

    def remove(self, x, where):
        n = self.c.get(x, 0)
        if n <= 0:
            raise peerlib.InputError(f"{where}: removal of {x}, which is not present")
        if n == 1:
            del self.c[x]
        else:
            self.c[x] = n - 1


# ---- graph workloads --------------------------------------------------------

class Graph:
    """The edge multiset and, kept in step, the out-neighbour multisets."""

    def __init__(self):
        self.edges = Multiset()
        self.out = collections.defaultdict(collections.Counter)

    def add(self, s, d):
        self.edges.add((s, d))
        self.out[s][d] += 1

    def remove(self, s, d, where):
        self.edges.remove((s, d), where)
        nb = self.out[s]
        nb[d] -= 1
        if nb[d] == 0:
            del nb[d]
            if not nb:
                del self.out[s]


def bfs(g):
    dist = {0: 0}
    queue = collections.deque([0])
    while queue:
        u = queue.popleft()
        du = dist[u] + 1
        for v in g.out.get(u, ()):
            if v not in dist:
                dist[v] = du
                queue.append(v)
    return {"reachable": len(dist), "distance_sum": sum(dist.values())}


def degrees(g):
    hist = collections.Counter()
    for nb in g.out.values():
        hist[sum(nb.values())] += 1
    return {
        "nodes": sum(hist.values()),
        "distinct_degrees": len(hist),
        "max_degree": max(hist) if hist else 0,
        "degree_sq_sum": sum(deg * deg * n for deg, n in hist.items()),
    }


def cc(g):
    parent, size = {}, {}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (s, d) in g.edges.c:
        for x in (s, d):
            if x not in parent:
                parent[x], size[x] = x, 1
        a, b = find(s), find(d)
        if a != b:
            if size[a] < size[b]:
                a, b = b, a
            parent[b] = a
            size[a] += size[b]
    smallest = {}
    for x in parent:
        r = find(x)
        if r not in smallest or x < smallest[r]:
            smallest[r] = x
    return {
        "nodes": len(parent),
        "components": len(smallest),
        "label_sum": sum(smallest[find(x)] for x in parent),
    }


# ---- groupby and join ---------------------------------------------------------

def groupby(rows):
    per_key = collections.defaultdict(list)
    for (k, v), n in rows.c.items():
        per_key[k].append((v, n))
    out = {"keys": len(per_key), "count": 0, "sum": 0, "min_sum": 0, "max_sum": 0}
    for vals in per_key.values():
        out["count"] += sum(n for _, n in vals)
        out["sum"] += sum(v * n for v, n in vals)
        out["min_sum"] += min(v for v, _ in vals)
        out["max_sum"] += max(v for v, _ in vals)
    return out


def join(left, right):
    lk, rk = collections.Counter(), collections.Counter()
    for (k, _), n in left.c.items():
        lk[k] += n
    for (k, _), n in right.c.items():
        rk[k] += n
    out = {"keys": 0, "pairs": 0, "pairs_sq_sum": 0}
    for k, nl in lk.items():
        p = nl * rk.get(k, 0)
        if p:
            out["keys"] += 1
            out["pairs"] += p
            out["pairs_sq_sum"] += p * p
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("workload", choices=peerlib.WORKLOADS)
    ap.add_argument("dir")
    ap.add_argument("--rounds", type=int, default=None, help="stop after this round")
    a = ap.parse_args()
    w = a.workload
    try:
        meta = peerlib.read_meta(a.dir)
        files = peerlib.update_files(w, a.dir)
        last = peerlib.plan_rounds(meta, files, a.rounds)
        readers = [peerlib.UpdateFile(p) for _, p in files]
        lat = []
        t_start = time.perf_counter()
        if w in peerlib.GRAPH_WORKLOADS:
            state = Graph()
            for s, d in peerlib.iter_edges(os.path.join(a.dir, "edges.txt")):
                state.add(s, d)
            compute = {"bfs": bfs, "degrees": degrees, "cc": cc}[w]
            answer = lambda: compute(state)  # noqa: E731
        elif w == "groupby":
            state = Multiset()
            answer = lambda: groupby(state)  # noqa: E731
        else:
            state = (Multiset(), Multiset())
            answer = lambda: join(*state)  # noqa: E731
        applied = 0
        load_s = initial_s = 0.0
        for r in range(0, last + 1):
            per_file = [rd.take(r) for rd in readers]
            t0 = time.perf_counter()
            for i, changes in enumerate(per_file):
                where = f"{readers[i].path} (round {r})"
                target = state[i] if w == "join" else state
                # inserts first: a round's removals may take rows it inserted
                for d, x, y in changes:
                    if d > 0:
                        target.add(x, y) if w in peerlib.GRAPH_WORKLOADS else target.add((x, y))
                for d, x, y in changes:
                    if d < 0:
                        target.remove(x, y, where) if w in peerlib.GRAPH_WORKLOADS \
                            else target.remove((x, y), where)
                if r > 0:
                    applied += len(changes)
            if r == 0:
                load_s = time.perf_counter() - t_start
                t0 = time.perf_counter()
            vals = answer()
            ms = (time.perf_counter() - t0) * 1e3
            if r == 0:
                initial_s = load_s + ms / 1e3
            else:
                lat.append(ms)
            peerlib.emit(peerlib.round_line(w, r, ms, vals))
        peerlib.emit(peerlib.summary_line("reference", w, load_s, initial_s, lat, applied,
                                          peerlib.self_peak_rss_bytes(), workers=1))
    except peerlib.InputError as e:
        peerlib.die("reference", str(e))


if __name__ == "__main__":
    main()
