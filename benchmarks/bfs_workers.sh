#!/bin/bash
# bfs_workers.sh: BFS throughput with 2 workers against 1 (issue 3), in
# interleaved pairs, since these machines are shared and noisy: each pair
# runs `rhizoflow bench bfs` with 1 worker, then with 2, on the same input.
# Prints, per worker count, the medians over the pairs of the round median,
# mean, p99, rounds/s, initial time, CPU time (user + sys, whole run) and
# CPU per round (every thread, over the rounds only),
# the checksums (they must be equal), and the throughput ratio (median
# rounds/s, 2 workers over 1) with the ratio of every pair.
#
# usage: benchmarks/bfs_workers.sh [--bin PATH] [--pairs N] [--per-round] NODES EDGES ROUNDS
#                                  [more `bench bfs` options]
#   e.g. benchmarks/bfs_workers.sh --pairs 10 1M 10M 100   (issue 3's figure,
#        at the Rust anchor's 100 rounds: ../shared/ANCHORS.md)
#        benchmarks/bfs_workers.sh 1M 10M 40 --times-per-round 1
# --bin defaults to build/cli/rhizoflow (build it Release first), --pairs to 5.
# --per-round also prints, for ten equal ranges of rounds, the mean round of
# each worker count (median over the pairs) and every pair's 2w/1w ratio:
# which rounds a second worker speeds up and which it does not.
set -euo pipefail

BIN=build/cli/rhizoflow
PAIRS=5
PER_ROUND=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --pairs) PAIRS=$2; shift 2 ;;
    --per-round) PER_ROUND=1; shift ;;
    *) break ;;
  esac
done
if [ $# -lt 3 ]; then
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
NODES=$1 EDGES=$2 ROUNDS=$3
shift 3
[ -x "$BIN" ] || { echo "bfs_workers.sh: $BIN is not an executable (build it, or pass --bin)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "bfs_workers.sh: needs /usr/bin/time (Debian package time)" >&2; exit 2; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$BIN bench bfs --nodes $NODES --edges $EDGES --rounds $ROUNDS $* --workers W, $PAIRS interleaved pairs"
for i in $(seq "$PAIRS"); do
  for w in 1 2; do
    /usr/bin/time -f "%U %S" -o "$TMP/time" \
      "$BIN" bench bfs --nodes "$NODES" --edges "$EDGES" --rounds "$ROUNDS" "$@" --workers "$w" \
      > "$TMP/out" 2> "$TMP/err" || { cat "$TMP/err" >&2; exit 1; }
    python3 - "$w" "$TMP/out" "$TMP/time" "$TMP/lat.$w" <<'PY'
import json, sys
w, out, tm, lat = sys.argv[1:5]
rows = [json.loads(l) for l in open(out) if l.startswith('{')]
d = next(r for r in rows if r.get('summary'))
with open(lat, 'a') as f:  # one line a run: the latencies of rounds 1..ROUNDS
    print(' '.join(str(r['latency_ms']) for r in rows if r.get('round', 0) > 0), file=f)
u, s = open(tm).read().split()[:2]
print(w, d['round_median_ms'], d['round_mean_ms'], d['round_p99_ms'], d['initial_s'],
      d['rounds_per_s'], float(u) + float(s), d['reachable'], d['distance_sum'],
      d['round_cpu_ms'])
PY
  done
done > "$TMP/rows"
python3 - "$TMP/rows" "$PER_ROUND" "$TMP/lat" <<'PY'
import statistics as st, sys
runs = {1: [], 2: []}
for line in open(sys.argv[1]):
    f = line.split()
    runs[int(f[0])].append([float(x) for x in f[1:]])
for w in (1, 2):
    r = runs[w]
    m = lambda i: st.median(x[i] for x in r)
    sums = sorted(set((int(x[6]), int(x[7])) for x in r))
    print(f"{w} worker(s): round median {m(0):.1f} ms, mean {m(1):.1f} ms, p99 {m(2):.0f} ms, "
          f"{m(4):.1f} rounds/s, initial {m(3):.2f} s, CPU {m(5):.1f} s "
          f"({m(8):.1f} ms a round); "
          f"checksums (reachable, distance sum) {sums}")
ratio = st.median(x[4] for x in runs[2]) / st.median(x[4] for x in runs[1])
pairs = [round(b[4] / a[4], 2) for a, b in zip(runs[1], runs[2])]
print(f"throughput, 2 workers / 1: {ratio:.2f} (pairs: {pairs})")
cpu = st.median(x[8] for x in runs[2]) / st.median(x[8] for x in runs[1])
print(f"CPU a round, 2 workers / 1: {cpu:.2f}")
if sys.argv[2] == "1":
    lat = {w: [[float(x) for x in l.split()] for l in open(f"{sys.argv[3]}.{w}")] for w in (1, 2)}
    n = min(len(r) for r in lat[1] + lat[2])
    print("per round (mean round of each range, median over the pairs; 2w/1w by pair):")
    for k in range(10):
        a, z = k * n // 10, (k + 1) * n // 10
        if a == z:
            continue
        mean = {w: [sum(r[a:z]) / (z - a) for r in lat[w]] for w in (1, 2)}
        pairs = ", ".join(f"{x / y:.2f}" for x, y in zip(mean[1], mean[2]))
        print(f"  rounds {a + 1}-{z}: 1w {st.median(mean[1]):.1f} ms, "
              f"2w {st.median(mean[2]):.1f} ms ({pairs})")
if len(set((int(x[6]), int(x[7])) for x in runs[1] + runs[2])) != 1:
    print("bfs_workers.sh: the checksums differ between runs", file=sys.stderr)
    sys.exit(1)
PY
