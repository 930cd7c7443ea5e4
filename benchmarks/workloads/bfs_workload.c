/*
 * bfs_workload.c: the graph workloads' edge stream (see bfs_workload.h)
 * and its writer in the anchors' text format.
 */
#include "bfs_workload.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "splitmix64.h"

/* The seed of differential-dataflow's bfs example. */
static const uint64_t dd_seed[4] = {1, 2, 3, 4};

void rfw_edge_gen_init(rfw_edge_gen *g, rfw_gen_kind kind, uint32_t nodes,
                       uint64_t seed) {
  memset(g, 0, sizeof *g);
  g->kind = kind;
  g->nodes = nodes;
  if (kind == RFW_GEN_DD)
    rfw_isaac64_seed(&g->isaac, dd_seed, 4);
  else
    g->sm = seed;
}

static uint32_t gen_node(rfw_edge_gen *g) {
  if (g->kind == RFW_GEN_DD) return rfw_isaac64_gen_range(&g->isaac, g->nodes);
  /* Multiply-shift of the high 32 bits: a bias below 2^-32 per draw. */
  return (uint32_t)(((rfw_splitmix64(&g->sm) >> 32) * g->nodes) >> 32);
}

rfw_edge rfw_edge_gen_next(rfw_edge_gen *g) {
  rfw_edge e;
  e.src = gen_node(g); /* source first, then destination, as dd draws them */
  e.dst = gen_node(g);
  return e;
}

void rfw_bfs_stream_init(rfw_bfs_stream *s, rfw_gen_kind kind, uint32_t nodes,
                         uint32_t batch, uint64_t seed) {
  rfw_edge_gen_init(&s->ins, kind, nodes, seed);
  rfw_edge_gen_init(&s->del, kind, nodes, seed);
  s->batch = batch;
}

void rfw_bfs_stream_next_round(rfw_bfs_stream *s, rfw_edge *ins, rfw_edge *del) {
  for (uint32_t e = 0; e < s->batch; e++) {
    ins[e] = rfw_edge_gen_next(&s->ins);
    del[e] = rfw_edge_gen_next(&s->del);
  }
}

int rfw_gen_kind_parse(const char *name, rfw_gen_kind *out) {
  if (strcmp(name, "dd") == 0) *out = RFW_GEN_DD;
  else if (strcmp(name, "fast") == 0) *out = RFW_GEN_FAST;
  else return -1;
  return 0;
}

const char *rfw_gen_kind_name(rfw_gen_kind kind) {
  return kind == RFW_GEN_DD ? "dd" : "fast";
}

int rfw_bfs_stream_write_anchor(FILE *f, uint32_t nodes, uint64_t edges, uint32_t batch,
                                uint32_t rounds) {
  rfw_bfs_stream s;
  rfw_bfs_stream_init(&s, RFW_GEN_DD, nodes, batch, 0);
  for (uint64_t i = 0; i < edges; i++) {
    rfw_edge e = rfw_bfs_stream_next_load(&s);
    fprintf(f, "L %" PRIu32 " %" PRIu32 "\n", e.src, e.dst);
  }
  for (uint32_t r = 0; r < rounds; r++) {
    for (uint32_t el = 0; el < batch; el++) {
      rfw_edge in = rfw_edge_gen_next(&s.ins), out = rfw_edge_gen_next(&s.del);
      fprintf(f, "R %" PRIu32 " + %" PRIu32 " %" PRIu32 "\n", r, in.src, in.dst);
      fprintf(f, "R %" PRIu32 " - %" PRIu32 " %" PRIu32 "\n", r, out.src, out.dst);
    }
  }
  return ferror(f) ? -1 : 0;
}
