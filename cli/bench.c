/*
 * bench.c: `rhizoflow bench WORKLOAD [options]`. The workloads live in the
 * benchmarks' rf_workloads library (benchmarks/workloads/), so
 * `rhizoflow bench bfs` and the `bench_bfs` program run the same code and
 * print the same JSON lines; benchmarks/WORKLOADS.md defines the
 * workloads, their input files and checksums.
 */
#include <stdio.h>
#include <string.h>

#include "bench_runner.h"
#include "cli.h"

static void bench_usage(FILE *f) {
  fprintf(f, "usage: rhizoflow bench <workload> [options]\n\nworkloads:\n");
  for (size_t i = 0; rfw_workloads[i]; i++)
    fprintf(f, "  %-8s %s\n", rfw_workloads[i]->name, rfw_workloads[i]->summary);
  fprintf(f,
          "\n"
          "`rhizoflow bench <workload> --help` lists a workload's options. Every\n"
          "workload takes --workers W (worker threads, 1 to %d, default 1), --seed S,\n"
          "--rounds R, --batch B, --times-per-round T, --write-inputs DIR (write the\n"
          "inputs for other systems and exit), --edges FILE / --updates FILE (read\n"
          "inputs instead of generating them) and --progress.\n"
          "\n"
          "Output on stdout: one JSON line per round (round 0 is the initial\n"
          "computation) with round, latency_ms and the workload's checksums, then a\n"
          "summary line (\"summary\":true) with load_s, initial_s, round_median_ms,\n"
          "round_p99_ms, updates_per_s, peak_rss_bytes, allocated_bytes,\n"
          "retained_updates, workers and the last checksums. Progress and errors go\n"
          "to stderr. benchmarks/WORKLOADS.md defines workloads, files and checksums.\n"
          "\n"
          "exit status: 0 ok, 1 run failed, 2 bad usage, 3 bfs --check-ref mismatch\n",
          RFW_MAX_WORKERS);
}

int rf_cli_bench(int argc, char **argv) {
  if (argc < 1) {
    fprintf(stderr, "rhizoflow bench: missing workload name (try rhizoflow bench --help)\n");
    return RFW_EXIT_USAGE;
  }
  if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
    bench_usage(stdout);
    return RFW_EXIT_OK;
  }
  const rfw_workload *wl = rfw_workload_find(argv[0]);
  if (!wl) {
    fprintf(stderr, "rhizoflow bench: unknown workload '%s' (known:", argv[0]);
    for (size_t i = 0; rfw_workloads[i]; i++) fprintf(stderr, " %s", rfw_workloads[i]->name);
    fprintf(stderr, ")\n");
    return RFW_EXIT_USAGE;
  }
  char prog[64];
  snprintf(prog, sizeof prog, "rhizoflow bench %s", wl->name);
  return rfw_bench_main(wl, argc - 1, argv + 1, prog);
}
