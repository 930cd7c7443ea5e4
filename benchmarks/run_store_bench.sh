#!/bin/sh
# run_store_bench.sh: the delta store ingest benchmark of issue 5, rhizoflow
# against SQLite on identical input. Installs libsqlite3-dev if pkg-config
# cannot find sqlite3 (apt-get, as root or through sudo), builds bench_store
# and bench_store_sqlite (Release), writes DELTAS generated deltas to one
# JSON Lines file, then RUNS times, for each durability policy (none,
# group, fsync; fsync on the first FSYNC_DELTAS deltas only), runs both
# programs on that file, one after the other. Prints every JSON line
# (also kept in $DATA/results.jsonl) and a table of ratios: sqlite time /
# rhizoflow time (above 1: rhizoflow is faster). BATCH=N (default 0: off)
# makes both append in batches of N deltas (rhizoflow: one log batch,
# committed whole, per N; SQLite: one transaction per N) under every
# policy, as `rhizoflow ingest` does; fsync then covers all DELTAS.
#
#   benchmarks/run_store_bench.sh
#   BUILD_DIR=build-sbench DELTAS=100000 RUNS=1 benchmarks/run_store_bench.sh
#   BATCH=10000 POLICIES="none fsync" benchmarks/run_store_bench.sh
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-store-bench}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
DELTAS=${DELTAS:-1000000}
FSYNC_DELTAS=${FSYNC_DELTAS:-20000}
SEED=${SEED:-1}
RUNS=${RUNS:-2}
POLICIES=${POLICIES:-"none group fsync"}
BATCH=${BATCH:-0}
DATA=${DATA:-$BUILD_DIR/bench-store-data}

if ! pkg-config --exists sqlite3 2>/dev/null; then
  echo "run_store_bench: installing libsqlite3-dev" >&2
  SUDO=
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "run_store_bench: need root or sudo to install libsqlite3-dev" >&2; exit 1; }
    SUDO=sudo
  fi
  $SUDO apt-get install -y libsqlite3-dev || { $SUDO apt-get update && $SUDO apt-get install -y libsqlite3-dev; }
fi

cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
if ! cmake --build "$BUILD_DIR" -j2 --target bench_store bench_store_sqlite > "$BUILD_DIR/store-bench-build.log" 2>&1; then
  tail -30 "$BUILD_DIR/store-bench-build.log" >&2
  echo "run_store_bench: the build failed (is libsqlite3-dev installed? see $BUILD_DIR/store-bench-build.log)" >&2
  exit 1
fi
B=$BUILD_DIR/benchmarks
mkdir -p "$DATA"
INPUT=$DATA/deltas-$DELTAS-$SEED.jsonl
OUT=$DATA/results.jsonl
"$B/bench_store" --deltas "$DELTAS" --seed "$SEED" --write "$INPUT" --write-only
: > "$OUT"
if [ "$BATCH" -gt 0 ]; then FSYNC_NOTE="batches of $BATCH, fsync: all"; else FSYNC_NOTE="fsync: $FSYNC_DELTAS"; fi
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $DELTAS deltas ($FSYNC_NOTE), seed $SEED"
run=1
while [ "$run" -le "$RUNS" ]; do
  for pol in $POLICIES; do
    "$B/bench_store" --input "$INPUT" --durability "$pol" --fsync-deltas "$FSYNC_DELTAS" \
      --batch "$BATCH" --dir "$DATA" | sed "s/^{/{\"run\":$run,/" | tee -a "$OUT"
    "$B/bench_store_sqlite" --input "$INPUT" --durability "$pol" --fsync-deltas "$FSYNC_DELTAS" \
      --batch "$BATCH" --dir "$DATA" | sed "s/^{/{\"run\":$run,/" | tee -a "$OUT"
  done
  run=$((run + 1))
done

# The table: one row per run and policy.
awk '
function field(line, name,   s) {
  s = line; sub(".*\"" name "\":", "", s); sub("[,}].*", "", s); gsub("\"", "", s); return s
}
{
  k = field($0, "run") " " field($0, "durability"); sys = field($0, "system")
  if (!(k in seen)) { seen[k] = 1; order[++n] = k }
  ing[k, sys] = field($0, "ingest_s"); rate[k, sys] = field($0, "deltas_per_s")
  bpd[k, sys] = field($0, "bytes_per_delta"); rep[k, sys] = field($0, "replay_s")
  rrate[k, sys] = field($0, "replay_deltas_per_s"); rss[k, sys] = field($0, "peak_rss_bytes")
  nd[k] = field($0, "deltas")
}
END {
  printf "\n%-3s %-6s %8s | %12s %12s %6s | %9s %9s | %11s %11s %6s | %7s %7s\n", "run", "policy", "deltas",
    "rf delta/s", "sql delta/s", "ratio", "rf B/dlt", "sql B/dlt", "rf replay/s", "sql replay/s", "ratio",
    "rf MB", "sql MB"
  for (i = 1; i <= n; i++) {
    k = order[i]; split(k, p, " ")
    printf "%-3s %-6s %8d | %12.0f %12.0f %6.2f | %9.1f %9.1f | %11.0f %11.0f %6.2f | %7.0f %7.0f\n",
      p[1], p[2], nd[k], rate[k, "rhizoflow"], rate[k, "sqlite"], ing[k, "sqlite"] / ing[k, "rhizoflow"],
      bpd[k, "rhizoflow"], bpd[k, "sqlite"], rrate[k, "rhizoflow"], rrate[k, "sqlite"],
      rep[k, "sqlite"] / rep[k, "rhizoflow"], rss[k, "rhizoflow"] / 1e6, rss[k, "sqlite"] / 1e6
  }
  print "ratio = sqlite time / rhizoflow time (ingest; replay including the open)"
}' "$OUT"
