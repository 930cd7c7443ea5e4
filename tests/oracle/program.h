/*
 * program.h: the shared vocabulary of the oracle tests. A test case is a
 * program (a small AST of dataflow operators, including iterate scopes) and
 * an update stream (updates to its inputs, grouped in epochs). The generator
 * (gen.c) makes them, the evaluator (evaluator.c) computes their meaning from
 * scratch, and the builder (builder.c) turns them into an rf_graph.
 *
 * This header also holds the pure functions behind every callback a program
 * uses (map, filter, flat_map, join_map, reduce, threshold): each is a
 * deterministic function of a small flavor/parameter pair stored in the node,
 * so the engine (through thin adapters in builder.c) and the evaluator apply
 * exactly the same function. Finally it has a tiny multiset type (or_coll)
 * and a string builder used for readable dumps.
 */
#ifndef RF_ORACLE_PROGRAM_H
#define RF_ORACLE_PROGRAM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rhizoflow.h"

#define OR_MAX_NODES 192
#define OR_MAX_SCOPES 12 /* scope 0 is the top scope */
#define OR_MAX_INPUTS 3
#define OR_MAX_OUTPUTS 8
#define OR_MAX_ARITY 6   /* widest record a program ever makes */
#define OR_MAX_IN 4      /* most operands of a node (concat_n) */
#define OR_MAX_VARS 2    /* loop variables per scope */
#define OR_MAX_STEPS 32
#define OR_MAX_UPDATES 1024
#define OR_IN_ARITY_MAX 3 /* widest input */

/* ------------------------------------------------------------------ */
/* Program                                                             */
/* ------------------------------------------------------------------ */

typedef enum or_op {
  OR_INPUT,      /* input collection `input` */
  OR_MAP,        /* in[0] -> arity columns through or_map_apply */
  OR_FILTER,     /* in[0] kept where or_filter_apply */
  OR_FLAT_MAP,   /* in[0] -> 0..n records through or_flat_map_apply */
  OR_PROJECT,    /* in[0] columns cols[0..arity) */
  OR_CONCAT,     /* in[0..n_in) */
  OR_NEGATE,     /* -in[0] */
  OR_CONSOLIDATE,/* in[0] */
  OR_INSPECT,    /* in[0], observed (checks the time dimension) */
  OR_ARRANGE,    /* arrangement of in[0] by key_arity columns */
  OR_ARR_COLL,   /* arrangement in[0] as a collection */
  OR_JOIN,       /* arrangements in[0], in[1]: key ++ va ++ vb */
  OR_JOIN_MAP,   /* same through or_join_map_apply */
  OR_SEMIJOIN,   /* in[0] whose key (arity of in[1]) has positive count in in[1] */
  OR_ANTIJOIN,   /* in[0] whose key has no positive count in in[1] */
  OR_REDUCE,     /* general reducer over arrangement in[0] */
  OR_COUNT,      /* built-ins over arrangement in[0] */
  OR_SUM,
  OR_MIN,
  OR_MAX,
  OR_DISTINCT,   /* distinct of collection in[0]: arrangement keyed by all columns */
  OR_THRESHOLD,  /* arrangement in[0], counts through or_threshold_apply */
  OR_ENTER,      /* collection in[0] of the parent scope, entered */
  OR_ARR_ENTER,  /* arrangement in[0] of the parent scope, entered */
  OR_VAR,        /* variable `sub` of this node's scope */
  OR_LEAVE,      /* in[0] (a node of child scope `sub`) left into this scope */
  OR_ITERATE,    /* rf_iterate: scope `sub` (iterate style) left into this scope */
  OR_N_OPS
} or_op;

/* Callback flavors; see program.c for each one's definition. */
enum { OR_MAP_ROTATE, OR_MAP_SHIFT, OR_MAP_MIX, OR_MAP_TO_I64, OR_MAP_RELABEL,
       OR_N_MAP_FLAVORS };
enum { OR_FILTER_LE, OR_FILTER_NEQ, OR_FILTER_HASH, OR_FILTER_KEY,
       OR_N_FILTER_FLAVORS };
enum { OR_FLAT_FAN, OR_FLAT_SELF, OR_N_FLAT_FLAVORS };
enum { OR_JM_PICK, OR_JM_SUM, OR_N_JM_FLAVORS };
enum { OR_RED_TOP, OR_RED_NDISTINCT, OR_RED_POSVALS, OR_RED_WEIGHT, OR_RED_TWO,
       OR_RED_ODD, OR_N_RED_FLAVORS };
enum { OR_TH_POS, OR_TH_GE2, OR_TH_DOUBLE, OR_TH_CLAMP, OR_TH_ODD,
       OR_N_TH_FLAVORS };

/* The parameters of one callback. The builder passes a pointer to it as the
 * callback's context; the evaluator calls the same *_apply function. */
typedef struct or_fn {
  uint32_t flavor, param;
  uint32_t in_arity;  /* map/filter/flat_map: input arity */
  uint32_t out_arity; /* map/flat_map/join_map: output arity; reduce: out value arity */
  uint32_t key_arity, va, vb; /* join_map, reduce: key and value arities */
  uint32_t domain;    /* values made by arithmetic stay below it */
} or_fn;

typedef struct or_node {
  or_op op;
  int scope;        /* index into or_program.scopes */
  bool is_arr;      /* an arrangement (else a collection) */
  bool positive;    /* generator's knowledge: every count is positive */
  bool dead;        /* removed by the shrinker: not built, not dumped */
  uint32_t arity;   /* record arity (arrangements: key + value) */
  uint32_t key_arity; /* arrangements only */
  int n_in;
  int in[OR_MAX_IN];
  uint32_t cols[OR_MAX_ARITY]; /* OR_PROJECT */
  or_fn fn;
  int input; /* OR_INPUT */
  int sub;   /* OR_VAR: variable index; OR_LEAVE / OR_ITERATE: the child scope */
} or_node;

typedef struct or_scope {
  int parent;          /* -1 for the top scope */
  int depth;           /* 0 for the top scope */
  bool iterate_style;  /* built with rf_iterate (one variable) */
  int n_vars;
  /* iterate style: var_init[0] is the outer node (parent scope) given to
   * rf_iterate. Explicit style: var_init[j] is a node of this scope. */
  int var_init[OR_MAX_VARS];
  int var_next[OR_MAX_VARS]; /* nodes of this scope */
} or_scope;

typedef struct or_program {
  uint64_t seed;
  uint32_t domain;
  int n_inputs;
  uint32_t input_arity[OR_MAX_INPUTS];
  bool input_positive[OR_MAX_INPUTS]; /* the stream never drives counts below 0 */
  int n_nodes;
  or_node nodes[OR_MAX_NODES];
  int n_scopes;
  or_scope scopes[OR_MAX_SCOPES];
  int n_outputs;
  int outputs[OR_MAX_OUTPUTS];
} or_program;

/* ------------------------------------------------------------------ */
/* Update stream                                                       */
/* ------------------------------------------------------------------ */

typedef struct or_update {
  int input;
  rf_value rec[OR_IN_ARITY_MAX];
  rf_diff diff;
} or_update;

/* One epoch of input: the updates are given at `time`, then every input is
 * advanced to `advance_to` (> time); steps[k+1].time == steps[k].advance_to.
 * With `wait`, the driver then waits for every output probe to pass
 * advance_to - 1 and checks every newly closed time. With `mid_flush`, it
 * flushes the inputs half way through the step's updates and steps the graph
 * a couple of times before going on. */
typedef struct or_step {
  rf_time time, advance_to;
  bool wait, mid_flush;
  int first, count; /* updates[first .. first + count) */
} or_step;

typedef struct or_stream {
  int n_steps;
  or_step steps[OR_MAX_STEPS];
  int n_updates;
  or_update updates[OR_MAX_UPDATES];
  bool buffered; /* inputs buffered (rf_input_set_buffered): sent at waits and flushes */
} or_stream;

/* The last time the stream closes (steps[n-1].advance_to - 1). */
rf_time or_stream_last_time(const or_stream *s);

/* ------------------------------------------------------------------ */
/* Callback semantics (shared by engine adapters and evaluator)        */
/* ------------------------------------------------------------------ */

typedef int (*or_emit_fn)(void *ctx, const rf_value *rec);
typedef int (*or_push_fn)(void *ctx, const rf_value *val, rf_diff count);

void or_map_apply(const or_fn *f, const rf_value *in, rf_value *out);
int or_filter_apply(const or_fn *f, const rf_value *rec); /* 1 keep, 0 drop */
/* Returns 0 or the first non-zero result of emit. */
int or_flat_map_apply(const or_fn *f, const rf_value *in, or_emit_fn emit, void *ctx);
/* Writes out_arity columns; returns 1 to emit, 0 to skip. */
int or_join_map_apply(const or_fn *f, const rf_value *key, const rf_value *va,
                      const rf_value *vb, rf_value *out);
/* vals: n values of f->va columns each, sorted; counts non-zero. Returns 0
 * or the first non-zero result of push. */
int or_reduce_apply(const or_fn *f, const rf_value *key, const rf_value *vals,
                    const rf_diff *counts, size_t n, or_push_fn push, void *ctx);
/* f(0) == 0 for every flavor. */
rf_diff or_threshold_apply(const or_fn *f, rf_diff count);
/* Whether a reduce/threshold flavor only ever makes positive counts (given
 * positive input counts when input_positive). */
bool or_reduce_positive(const or_fn *f, bool input_positive);
bool or_threshold_positive(const or_fn *f, bool input_positive);

/* ------------------------------------------------------------------ */
/* Multisets                                                           */
/* ------------------------------------------------------------------ */

/* Records of `arity` columns with counts. After or_coll_normalize it is
 * sorted by record (lexicographic over the encoded words), each record once,
 * no zero counts: the canonical form of an accumulated collection. */
typedef struct or_coll {
  uint32_t arity;
  size_t n, cap;
  rf_value *recs; /* n * arity */
  rf_diff *cnt;
} or_coll;

void or_coll_init(or_coll *c, uint32_t arity);
void or_coll_free(or_coll *c);
void or_coll_clear(or_coll *c);
void or_coll_push(or_coll *c, const rf_value *rec, rf_diff d);
void or_coll_normalize(or_coll *c);
void or_coll_copy(or_coll *dst, const or_coll *src);
bool or_coll_equal(const or_coll *a, const or_coll *b);
uint64_t or_coll_hash(const or_coll *c);
static inline const rf_value *or_coll_rec(const or_coll *c, size_t i) {
  return c->recs + i * c->arity;
}
int or_rec_cmp(const rf_value *a, const rf_value *b, uint32_t n);

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */

typedef struct or_buf {
  char *s;
  size_t n, cap;
} or_buf;

void or_buf_init(or_buf *b);
void or_buf_free(or_buf *b);
void or_buf_printf(or_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void or_buf_append(or_buf *b, const void *data, size_t n);
/* Detaches the string (caller frees); the buffer is left empty. */
char *or_buf_take(or_buf *b);

const char *or_op_name(or_op op);
void or_dump_value(or_buf *b, rf_value v);
void or_dump_record(or_buf *b, const rf_value *rec, uint32_t arity);
/* A readable listing of the live nodes, scopes and outputs. */
void or_dump_program(or_buf *b, const or_program *p);
void or_dump_stream(or_buf *b, const or_program *p, const or_stream *s);
/* Records of a normalized collection, at most `max` of them. */
void or_dump_coll(or_buf *b, const or_coll *c, size_t max);

/* ------------------------------------------------------------------ */
/* Program surgery (the shrinker)                                      */
/* ------------------------------------------------------------------ */

/* Recomputes `dead`: live nodes are the inputs and the nodes the outputs
 * reach, through operands and through the variables (initial and next) of
 * every scope that a live OR_LEAVE / OR_ITERATE / OR_VAR names. */
void or_program_mark_live(or_program *p);
/* Replaces every use of node `from` by node `to` (operands, outputs, scope
 * variables), then recomputes liveness. */
void or_program_redirect(or_program *p, int from, int to);

/* Checks the program's structure: operands come before their users and
 * live in the user's scope (enter: the parent scope; leave: a child scope),
 * arities agree, and nothing a scope enters depends on what leaves it.
 * Returns 0, or -1 with a message. */
int or_program_check(const or_program *p, char *msg, size_t msg_len);

/* splitmix64: the oracle's only random number generator. */
static inline uint64_t or_mix64(uint64_t x) {
  x += UINT64_C(0x9e3779b97f4a7c15);
  x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
  return x ^ (x >> 31);
}

#endif /* RF_ORACLE_PROGRAM_H */
