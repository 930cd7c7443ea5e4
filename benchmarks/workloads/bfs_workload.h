/*
 * bfs_workload.h: the edge stream of differential-dataflow's `bfs` example,
 * so that rhizoflow and other systems can be fed identical inputs.
 *
 * Two generators start from the same seed: the insert generator draws the
 * EDGES edges loaded at time 0 and then one new edge per element of each
 * round; the delete generator replays the same stream from its start, so
 * each element also removes the oldest edge still present. With one time
 * per element (as the example runs it), round r (from 0), element e happens
 * at time 1 + r*BATCH + e. Each edge draws its source, then its
 * destination, uniformly in [0, NODES).
 *
 * Generator kinds: RFW_GEN_DD is ISAAC-64 seeded [1, 2, 3, 4] exactly as the
 * Rust example (rand 0.4 StdRng; the seed argument is ignored);
 * RFW_GEN_FAST is a splitmix64 stream of the same shape whose state starts
 * at the seed, cheaper to draw.
 *
 * bfs, degrees and cc all run on this stream (benchmarks/WORKLOADS.md,
 * "the edge stream"); bench_inputs.c writes it out for other systems.
 */
#ifndef RFW_BFS_WORKLOAD_H
#define RFW_BFS_WORKLOAD_H

#include <stdint.h>
#include <stdio.h>

#include "isaac64.h"

typedef enum rfw_gen_kind { RFW_GEN_DD = 0, RFW_GEN_FAST = 1 } rfw_gen_kind;

typedef struct rfw_edge {
  uint32_t src, dst;
} rfw_edge;

/* One random edge source. */
typedef struct rfw_edge_gen {
  rfw_gen_kind kind;
  uint32_t nodes;
  rfw_isaac64 isaac; /* RFW_GEN_DD */
  uint64_t sm;       /* RFW_GEN_FAST: splitmix64 state */
} rfw_edge_gen;

void rfw_edge_gen_init(rfw_edge_gen *g, rfw_gen_kind kind, uint32_t nodes,
                       uint64_t seed);
rfw_edge rfw_edge_gen_next(rfw_edge_gen *g);

/* The whole stream: load, then rounds of (insert new, remove oldest). */
typedef struct rfw_bfs_stream {
  rfw_edge_gen ins; /* draws loaded and inserted edges */
  rfw_edge_gen del; /* replays ins: the edges to remove, oldest first */
  uint32_t batch;
} rfw_bfs_stream;

void rfw_bfs_stream_init(rfw_bfs_stream *s, rfw_gen_kind kind, uint32_t nodes,
                         uint32_t batch, uint64_t seed);
/* The next edge to load at time 0 (call EDGES times before any round). */
static inline rfw_edge rfw_bfs_stream_next_load(rfw_bfs_stream *s) {
  return rfw_edge_gen_next(&s->ins);
}
/* The next round's BATCH insertions and removals, element by element. */
void rfw_bfs_stream_next_round(rfw_bfs_stream *s, rfw_edge *ins, rfw_edge *del);
/* The time of round r (from 0), element e, with one time per element. */
static inline uint64_t rfw_bfs_time(uint32_t batch, uint32_t round, uint32_t element) {
  return 1 + (uint64_t)round * batch + element;
}

/* Parses "dd" / "fast". Returns 0, or -1 for an unknown name. */
int rfw_gen_kind_parse(const char *name, rfw_gen_kind *out);
const char *rfw_gen_kind_name(rfw_gen_kind kind);

/* Writes the dd stream in the anchors' format: "L src dst" per loaded
 * edge, then "R round + src dst" and "R round - src dst" per element
 * (rounds from 0). Returns 0 or -1 on a write error. (The files of
 * --write-inputs are written by bench_inputs.c.) */
int rfw_bfs_stream_write_anchor(FILE *f, uint32_t nodes, uint64_t edges, uint32_t batch,
                                uint32_t rounds);

#endif
