/*
 * bfs_workload.c: the dd bfs edge stream (see bfs_workload.h) and its
 * writers in the anchor and update-stream text formats.
 */
#include "bfs_workload.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The seed of differential-dataflow's bfs example. */
static const uint64_t dd_seed[4] = {1, 2, 3, 4};

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

void rfw_edge_gen_init(rfw_edge_gen *g, rfw_gen_kind kind, uint32_t nodes) {
  memset(g, 0, sizeof *g);
  g->kind = kind;
  g->nodes = nodes;
  if (kind == RFW_GEN_DD)
    rfw_isaac64_seed(&g->isaac, dd_seed, 4);
  else
    g->sm = UINT64_C(0x0001000200030004);
}

static uint32_t gen_node(rfw_edge_gen *g) {
  if (g->kind == RFW_GEN_DD) return rfw_isaac64_gen_range(&g->isaac, g->nodes);
  /* Multiply-shift of the high 32 bits: a bias below 2^-32 per draw. */
  return (uint32_t)(((splitmix64(&g->sm) >> 32) * g->nodes) >> 32);
}

rfw_edge rfw_edge_gen_next(rfw_edge_gen *g) {
  rfw_edge e;
  e.src = gen_node(g); /* source first, then destination, as dd draws them */
  e.dst = gen_node(g);
  return e;
}

void rfw_bfs_stream_init(rfw_bfs_stream *s, rfw_gen_kind kind, uint32_t nodes,
                         uint32_t batch) {
  rfw_edge_gen_init(&s->ins, kind, nodes);
  rfw_edge_gen_init(&s->del, kind, nodes);
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

/* Writes the whole stream; anchor selects the format. */
static int write_stream(FILE *f, bool anchor, rfw_gen_kind kind, uint32_t nodes,
                        uint64_t edges, uint32_t batch, uint32_t rounds) {
  rfw_bfs_stream s;
  rfw_bfs_stream_init(&s, kind, nodes, batch);
  for (uint64_t i = 0; i < edges; i++) {
    rfw_edge e = rfw_bfs_stream_next_load(&s);
    if (anchor) fprintf(f, "L %" PRIu32 " %" PRIu32 "\n", e.src, e.dst);
    else fprintf(f, "0 1 %" PRIu32 " %" PRIu32 "\n", e.src, e.dst);
  }
  for (uint32_t r = 0; r < rounds; r++) {
    for (uint32_t el = 0; el < batch; el++) {
      rfw_edge in = rfw_edge_gen_next(&s.ins), out = rfw_edge_gen_next(&s.del);
      if (anchor) {
        fprintf(f, "R %" PRIu32 " + %" PRIu32 " %" PRIu32 "\n", r, in.src, in.dst);
        fprintf(f, "R %" PRIu32 " - %" PRIu32 " %" PRIu32 "\n", r, out.src, out.dst);
      } else {
        uint64_t t = rfw_bfs_time(batch, r, el);
        fprintf(f, "%" PRIu64 " 1 %" PRIu32 " %" PRIu32 "\n", t, in.src, in.dst);
        fprintf(f, "%" PRIu64 " -1 %" PRIu32 " %" PRIu32 "\n", t, out.src, out.dst);
      }
    }
  }
  return ferror(f) ? -1 : 0;
}

int rfw_bfs_stream_write_anchor(FILE *f, rfw_gen_kind kind, uint32_t nodes,
                                uint64_t edges, uint32_t batch, uint32_t rounds) {
  return write_stream(f, true, kind, nodes, edges, batch, rounds);
}

int rfw_bfs_stream_write_updates(FILE *f, rfw_gen_kind kind, uint32_t nodes,
                                 uint64_t edges, uint32_t batch, uint32_t rounds) {
  if (fputs("# time diff src dst: the dd bfs edge stream\n", f) == EOF) return -1;
  return write_stream(f, false, kind, nodes, edges, batch, rounds);
}
