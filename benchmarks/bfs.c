/*
 * bfs.c: the `bench_bfs` program, the same as `rhizoflow bench bfs`: BFS
 * from node 0 under edge churn, run exactly as differential-dataflow's bfs
 * example runs it, so that figures and outputs compare with
 * ../shared/ANCHORS.md. The workload lives in workloads/bfs_bench.c, run
 * by the shared runner of workloads/bench_runner.c.
 *
 *   bench_bfs --nodes 100k --edges 1M --batch 1000 --rounds 100 \
 *             --check-ref ../shared/anchors/dd-bfs/ref_bfs_100k_1M_b1000_r100_inspect.txt
 */
#include "bench_runner.h"

int main(int argc, char **argv) {
  return rfw_bench_main(&rfw_workload_bfs, argc - 1, argv + 1, "bench_bfs");
}
