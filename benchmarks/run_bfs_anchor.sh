#!/bin/sh
# run_bfs_anchor.sh: the BFS anchor comparison. Builds rhizoflow in Release,
# runs `bench_bfs` on the Rust differential-dataflow bfs example's exact
# inputs (100k nodes / 1M edges and 1M / 10M, batch 1000, 100 rounds,
# --generator dd), checks the distance histograms against the example's
# output (--check-ref) and prints the figures beside ANCHORS.md's.
#
#   benchmarks/run_bfs_anchor.sh                 # 1 worker, both sizes
#   WORKERS="1 2" SIZES=100k benchmarks/run_bfs_anchor.sh
#
# Environment: BUILD_DIR (default build-release), WORKERS (default "1"),
# SIZES ("100k 1M" by default), ROUNDS (default 100), ANCHORS (the dd-bfs
# anchor folder, default ../shared/anchors/dd-bfs beside the project).
# Exit status: 0 if every histogram matched, 3 if one differed, 1 on failure.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-build-release}
case $build in /*) ;; *) build=$root/$build ;; esac
anchors=${ANCHORS:-$root/../shared/anchors/dd-bfs}
workers=${WORKERS:-1}
sizes=${SIZES:-"100k 1M"}
rounds=${ROUNDS:-100}

# A new build folder is configured without tests (no Criterion needed); an
# existing one keeps its settings, switched to Release.
if [ -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
else
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRF_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target bench_bfs -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

# field NAME LINE: the value of a number or string field of a JSON line.
field() {
  printf '%s\n' "$2" | sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"
}

status=0
printf '%-10s %-7s %-9s %-10s %-16s %-12s %-10s %s\n' size workers initial_s \
  median_ms "p90/p99 ms" changes/s peak_rss histogram
for size in $sizes; do
  case $size in
    100k) nodes=100000; edges=1000000; ref=$anchors/ref_bfs_100k_1M_b1000_r100_inspect.txt ;;
    1M)   nodes=1000000; edges=10000000; ref=$anchors/ref_bfs_1M_10M_b1000_r100_inspect.txt ;;
    *) echo "run_bfs_anchor.sh: unknown size '$size' (100k or 1M)" >&2; exit 2 ;;
  esac
  for w in $workers; do
    log=$build/bfs_${size}_w$w.jsonl
    rc=0
    "$build/benchmarks/bench_bfs" --nodes "$nodes" --edges "$edges" --batch 1000 \
      --rounds "$rounds" --workers "$w" --generator dd --check-ref "$ref" \
      >"$log" 2>"$log.err" || rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
      echo "bench_bfs failed for $size, $w workers (status $rc):" >&2
      cat "$log.err" >&2
      exit 1
    fi
    [ "$rc" -eq 3 ] && status=3
    s=$(grep '"summary":true' "$log")
    rss=$(field peak_rss_bytes "$s")
    printf '%-10s %-7s %-9s %-10s %-16s %-12s %-10s %s\n' "$size" "$w" \
      "$(field initial_s "$s")" "$(field round_median_ms "$s")" \
      "$(field round_p90_ms "$s")/$(field round_p99_ms "$s")" \
      "$(field changes_per_s "$s")" "$((rss / 1000000)) MB" "$(field check_ref "$s")"
  done
done
echo "(per-round JSON lines: $build/bfs_<size>_w<workers>.jsonl)"
echo "differential-dataflow, 1 worker (ANCHORS.md): 100k/1M initial 0.67 s, median 21.9 ms,"
echo "  77.4k changes/s, 70 MB; 1M/10M initial 8.27 s, median 46.4 ms, 36.8k changes/s, 452 MB"
exit $status
