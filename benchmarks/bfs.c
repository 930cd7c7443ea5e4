/*
 * bfs.c: the `bench_bfs` program. BFS from node 0 under edge churn, run
 * exactly as differential-dataflow's bfs example runs it, so that figures
 * and outputs compare with ../shared/ANCHORS.md. The runner lives in
 * workloads/bfs_bench.c and is shared with `rhizoflow bench bfs`.
 *
 *   bench_bfs --nodes 100k --edges 1M --batch 1000 --rounds 100 \
 *             --check-ref ../shared/anchors/dd-bfs/ref_bfs_100k_1M_b1000_r100_inspect.txt
 */
#include <stdio.h>

#include "bfs_bench.h"

int main(int argc, char **argv) {
  rfw_bfs_params p;
  rfw_bfs_params_default(&p);
  int rc = rfw_bfs_params_parse(argc - 1, argv + 1, &p, "bench_bfs", stdout, stderr);
  if (rc == RFW_EXIT_HELP) return RFW_EXIT_OK;
  if (rc) return rc;
  return rfw_bfs_bench(&p, stdout, stderr, NULL, NULL);
}
