/*
 * bench.c: `rhizoflow bench WORKLOAD [options]`. The workloads live in the
 * benchmarks' rf_workloads library, so `rhizoflow bench bfs` and the
 * `bench_bfs` program run the same code and print the same JSON lines.
 */
#include <stdio.h>
#include <string.h>

#include "bfs_bench.h"
#include "cli.h"

static void bench_usage(FILE *f) {
  fprintf(f,
          "usage: rhizoflow bench <workload> [options]\n"
          "\n"
          "workloads:\n"
          "  bfs   BFS from node 0 under edge churn, as differential-dataflow's\n"
          "        bfs example (see `rhizoflow bench bfs --help`)\n"
          "\n"
          "every workload takes --workers W: the worker threads that run the\n"
          "dataflow, 1 to 64 (default 1). Output: JSON lines, one per round, then a\n"
          "summary with the worker count, round latency (median, p90, p99) and\n"
          "throughput (rounds_per_s, changes_per_s).\n");
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
  if (strcmp(argv[0], "bfs") == 0) {
    rfw_bfs_params p;
    rfw_bfs_params_default(&p);
    int rc = rfw_bfs_params_parse(argc - 1, argv + 1, &p, "rhizoflow bench bfs",
                                  stdout, stderr);
    if (rc == RFW_EXIT_HELP) return RFW_EXIT_OK;
    if (rc) return rc;
    return rfw_bfs_bench(&p, stdout, stderr, NULL, NULL);
  }
  fprintf(stderr, "rhizoflow bench: unknown workload '%s' (known: bfs)\n", argv[0]);
  return RFW_EXIT_USAGE;
}
