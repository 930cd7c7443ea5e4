#!/usr/bin/env python3
"""gen_inputs.py: write a workload's input folder as WORKLOADS.md describes,
from Python's own random generator (not rhizoflow's streams: the numbers
differ from `rhizoflow bench W --write-inputs`, the shape is the same).
For testing the peers and the reference without rhizoflow.

  gen_inputs.py WORKLOAD DIR [--nodes N --edges M --batch B --rounds R
                              --keys K --initial I --updates U --window W
                              --seed S]
  gen_inputs.py dd-anchor DIR   # the 1k/10k b10 r10 stream of
                                # ../shared/anchors/dd-bfs, as bfs inputs
"""

import argparse
import collections
import json
import os
import random
import sys


def graph(a, out):
    rng = random.Random(a.seed)
    window = collections.deque()
    with open(os.path.join(out, "edges.txt"), "w") as f:
        for _ in range(a.edges):
            e = (rng.randrange(a.nodes), rng.randrange(a.nodes))
            window.append(e)
            f.write(f"{e[0]} {e[1]}\n")
    with open(os.path.join(out, "updates.txt"), "w") as f:
        for r in range(1, a.rounds + 1):
            for _ in range(a.batch):
                e = (rng.randrange(a.nodes), rng.randrange(a.nodes))
                window.append(e)
                old = window.popleft()
                f.write(f"{r} 1 {e[0]} {e[1]}\n{r} -1 {old[0]} {old[1]}\n")
    return {"nodes": a.nodes, "edges": a.edges, "batch": a.batch, "rounds": a.rounds,
            "times_per_round": a.batch, "seed": a.seed, "generator": "python"}


def groupby(a, out):
    rng = random.Random(a.seed)
    rows = []
    initial = a.keys if a.initial is None else a.initial
    with open(os.path.join(out, "updates.txt"), "w") as f:
        for _ in range(initial):
            row = (rng.randrange(a.keys), rng.randrange(1000000))
            rows.append(row)
            f.write(f"0 1 {row[0]} {row[1]}\n")
        for i in range(a.updates):
            r = 1 + i // a.batch
            if not rows or rng.random() < 0.5:
                row = (rng.randrange(a.keys), rng.randrange(1000000))
                rows.append(row)
                f.write(f"{r} 1 {row[0]} {row[1]}\n")
            else:
                j = rng.randrange(len(rows))
                row = rows[j]
                rows[j] = rows[-1]
                rows.pop()
                f.write(f"{r} -1 {row[0]} {row[1]}\n")
    return {"keys": a.keys, "initial": initial, "updates": a.updates, "batch": a.batch,
            "seed": a.seed, "generator": "python"}


def join(a, out):
    rng = random.Random(a.seed)
    for side in ("left", "right"):
        window = collections.deque()
        with open(os.path.join(out, side + ".txt"), "w") as f:
            for _ in range(a.window):
                row = (rng.randrange(a.keys), rng.randrange(1000000))
                window.append(row)
                f.write(f"0 1 {row[0]} {row[1]}\n")
            for r in range(1, a.rounds + 1):
                for _ in range(a.batch):
                    row = (rng.randrange(a.keys), rng.randrange(1000000))
                    window.append(row)
                    old = window.popleft()
                    f.write(f"{r} 1 {row[0]} {row[1]}\n{r} -1 {old[0]} {old[1]}\n")
    return {"keys": a.keys, "window": a.window, "batch": a.batch, "rounds": a.rounds,
            "seed": a.seed, "generator": "python"}


def dd_anchor(out):
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "../../../../shared/anchors/dd-bfs/bfs_edges_1k_10k_b10_r10.txt")
    with open(src) as f, open(os.path.join(out, "edges.txt"), "w") as fe, \
            open(os.path.join(out, "updates.txt"), "w") as fu:
        for line in f:
            p = line.split()
            if p[0] == "L":
                fe.write(f"{p[1]} {p[2]}\n")
            elif p[0] == "R":
                fu.write(f"{int(p[1]) + 1} {1 if p[2] == '+' else -1} {p[3]} {p[4]}\n")
    return {"workload": "bfs", "nodes": 1000, "edges": 10000, "batch": 10, "rounds": 10,
            "times_per_round": 10, "seed": 0, "generator": "dd"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("workload", choices=["bfs", "degrees", "cc", "groupby", "join", "dd-anchor"])
    ap.add_argument("dir")
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--edges", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--initial", type=int, default=None)
    ap.add_argument("--updates", type=int, default=10000)
    ap.add_argument("--window", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    if a.workload == "dd-anchor":
        meta = dd_anchor(a.dir)
    else:
        if a.batch is None:
            a.batch = {"groupby": 1000, "join": 100}.get(a.workload, 10)
        fn = {"bfs": graph, "degrees": graph, "cc": graph, "groupby": groupby, "join": join}
        meta = dict(workload=a.workload)
        meta.update(fn[a.workload](a, a.dir))
    with open(os.path.join(a.dir, "meta.json"), "w") as f:
        json.dump(meta, f)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
