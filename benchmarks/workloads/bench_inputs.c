/*
 * bench_inputs.c: the workloads' input sources, the readers of the input
 * files and the --write-inputs writer (see bench_inputs.h).
 */
#include "bench_inputs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_runner.h"

/* ---- rounds ---------------------------------------------------------- */

void rfw_round_clear(rfw_round *r) {
  r->n = 0;
  r->n_elem = 0;
}

void rfw_round_free(rfw_round *r) {
  free(r->u);
  free(r->elem);
  memset(r, 0, sizeof *r);
}

int rfw_round_begin(rfw_round *r) {
  if (r->n_elem == r->elem_cap) {
    size_t cap = r->elem_cap ? r->elem_cap * 2 : 256;
    size_t *p = realloc(r->elem, cap * sizeof *p);
    if (!p) return -1;
    r->elem = p;
    r->elem_cap = cap;
  }
  r->elem[r->n_elem++] = r->n;
  return 0;
}

int rfw_round_add(rfw_round *r, uint32_t input, int diff, uint64_t a, uint64_t b) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 1024;
    rfw_update *p = realloc(r->u, cap * sizeof *p);
    if (!p) return -1;
    r->u = p;
    r->cap = cap;
  }
  r->u[r->n++] = (rfw_update){.a = a, .b = b, .diff = diff, .input = input};
  return 0;
}

/* ---- reading files ----------------------------------------------------- */

static int fail(rfw_source *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(rfw_source *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->err, sizeof s->err, fmt, ap);
  va_end(ap);
  return RFW_SOURCE_ERROR;
}

static int reader_open(rfw_source *s, rfw_reader *r, const char *path, bool updates) {
  memset(r, 0, sizeof *r);
  r->path = path;
  r->updates = updates;
  if (!(r->f = fopen(path, "r")))
    return fail(s, "cannot open %s: %s", path, strerror(errno));
  return 0;
}

static void reader_close(rfw_reader *r) {
  if (r->f) fclose(r->f);
  free(r->buf);
  memset(r, 0, sizeof *r);
}

/* A column of a data line: digits only, at most max. */
static int parse_column(rfw_source *s, rfw_reader *r, const char *tok, const char *name,
                        uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  const char *c = tok;
  if (!*c) return fail(s, "%s:%" PRIu64 ": missing %s", r->path, r->line, name);
  for (; *c; c++) {
    if (*c < '0' || *c > '9')
      return fail(s, "%s:%" PRIu64 ": %s '%s' is not a non-negative decimal number", r->path,
                  r->line, name, tok);
    unsigned d = (unsigned)(*c - '0');
    if (v > (max - d) / 10)
      return fail(s, "%s:%" PRIu64 ": %s %s is out of range (at most %" PRIu64 ")", r->path,
                  r->line, name, tok, max);
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* Reads the next data line (skipping blank and '#' lines) into r's
 * round/diff/a/b. 1: a line; 0: the end; RFW_SOURCE_ERROR. */
static int reader_next(rfw_source *s, rfw_reader *r) {
  static const char *const names_graph[2] = {"src", "dst"};
  static const char *const names_rows[2] = {"key", "value"};
  const char *const *names = s->kind == RFW_KIND_GRAPH ? names_graph : names_rows;
  const int want = r->updates ? 4 : 2;
  for (;;) {
    errno = 0;
    ssize_t len = getline(&r->buf, &r->cap, r->f);
    if (len < 0) {
      if (ferror(r->f)) return fail(s, "%s: read error: %s", r->path, strerror(errno));
      r->eof = true;
      return 0;
    }
    r->line++;
    char *tok[5];
    int n = 0;
    for (char *c = r->buf; *c;) {
      while (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n') *c++ = '\0';
      if (!*c) break;
      if (n == 0 && *c == '#') break; /* a comment line */
      if (n < 5) tok[n] = c;
      n++;
      while (*c && *c != ' ' && *c != '\t' && *c != '\r' && *c != '\n') c++;
    }
    if (n == 0) continue; /* blank or comment */
    if (n != want)
      return fail(s, "%s:%" PRIu64 ": expected %d fields (%s%s %s), found %d", r->path,
                  r->line, want, r->updates ? "round diff " : "", names[0], names[1], n);
    int col = 0;
    if (r->updates) {
      uint64_t round;
      if (parse_column(s, r, tok[0], "round", UINT32_MAX / 2, &round)) return RFW_SOURCE_ERROR;
      if (strcmp(tok[1], "1") == 0 || strcmp(tok[1], "+1") == 0) r->diff = 1;
      else if (strcmp(tok[1], "-1") == 0) r->diff = -1;
      else
        return fail(s, "%s:%" PRIu64 ": diff '%s' is not +1 or -1", r->path, r->line, tok[1]);
      if (round < r->round)
        return fail(s, "%s:%" PRIu64 ": round %" PRIu64 " after round %" PRIu64
                       ": rounds must not decrease", r->path, r->line, round, r->round);
      r->round = round;
      col = 2;
    } else {
      r->diff = 1;
    }
    if (parse_column(s, r, tok[col], names[0], RFW_MAX_FILE_VALUE, &r->a) ||
        parse_column(s, r, tok[col + 1], names[1], RFW_MAX_FILE_VALUE, &r->b))
      return RFW_SOURCE_ERROR;
    return 1;
  }
}

/* Makes sure a line is read ahead, unless at the end. 1, 0 or error. */
static int reader_peek(rfw_source *s, rfw_reader *r) {
  if (r->have) return 1;
  if (r->eof) return 0;
  int rc = reader_next(s, r);
  if (rc == 1) r->have = true;
  return rc;
}

/* Emits the lines of round 0 of an update file. */
static int emit_round0(rfw_source *s, rfw_reader *r, uint32_t input, rfw_emit_fn emit,
                       void *ctx) {
  int rc;
  while ((rc = reader_peek(s, r)) == 1 && r->round == 0) {
    r->have = false;
    if ((rc = emit(ctx, input, r->diff, r->a, r->b)) != 0) return rc;
  }
  return rc == RFW_SOURCE_ERROR ? rc : 0;
}

/* Reads the lines of round `round` into out (input `input`); with pairs,
 * an insertion followed by a removal is one element. */
static int read_round(rfw_source *s, rfw_reader *r, uint32_t round, uint32_t input,
                      bool pairs, rfw_round *out) {
  int rc;
  bool open_pair = false; /* the current element is one insertion so far */
  while ((rc = reader_peek(s, r)) == 1 && r->round == round) {
    r->have = false;
    bool join_it = pairs && open_pair && r->diff < 0;
    if (!join_it && rfw_round_begin(out) != 0) return fail(s, "out of memory");
    if (rfw_round_add(out, input, r->diff, r->a, r->b) != 0) return fail(s, "out of memory");
    open_pair = !join_it && r->diff > 0;
  }
  return rc == RFW_SOURCE_ERROR ? rc : 0;
}

/* ---- the source -------------------------------------------------------- */

int rfw_source_open(rfw_source *s, const rfw_params *p) {
  memset(s, 0, sizeof *s);
  s->p = p;
  s->kind = p->wl->kind;
  s->files = rfw_params_from_files(p);
  if (s->files) {
    s->max_rounds = p->rounds_set ? p->rounds : UINT32_MAX;
    if (p->edges_file && reader_open(s, &s->edge_file, p->edges_file, false))
      return RFW_SOURCE_ERROR;
    if (p->updates_file && reader_open(s, &s->upd[s->n_upd++], p->updates_file, true))
      return RFW_SOURCE_ERROR;
    if (p->right_file && reader_open(s, &s->upd[s->n_upd++], p->right_file, true))
      return RFW_SOURCE_ERROR;
    return 0;
  }
  switch (s->kind) {
  case RFW_KIND_GRAPH:
    rfw_bfs_stream_init(&s->edges, p->gen, p->nodes, p->batch, p->seed);
    s->max_rounds = p->rounds;
    s->initial_n = p->edges;
    break;
  case RFW_KIND_GROUPBY:
    rfw_groupby_gen_init(&s->groupby, p->keys, p->seed);
    s->max_rounds = rfw_groupby_rounds(p);
    s->groupby_left = rfw_groupby_changes(p);
    s->initial_n = p->initial;
    break;
  case RFW_KIND_JOIN:
    for (int side = 0; side < 2; side++) rfw_window_gen_init(&s->window[side], p->keys, p->seed, side);
    s->max_rounds = p->rounds;
    s->initial_n = 2 * p->window;
    break;
  }
  return 0;
}

void rfw_source_close(rfw_source *s) {
  reader_close(&s->edge_file);
  for (int i = 0; i < 2; i++) {
    reader_close(&s->upd[i]);
    rfw_round_free(&s->side[i]);
  }
  rfw_groupby_gen_free(&s->groupby);
}

int rfw_source_initial(rfw_source *s, rfw_emit_fn emit, void *ctx) {
  const rfw_params *p = s->p;
  int rc = 0;
  s->round = 0;
  if (s->files) {
    if (s->edge_file.f) {
      while ((rc = reader_next(s, &s->edge_file)) == 1)
        if ((rc = emit(ctx, 0, 1, s->edge_file.a, s->edge_file.b)) != 0) return rc;
      if (rc) return rc;
    }
    for (uint32_t i = 0; i < s->n_upd; i++)
      if ((rc = emit_round0(s, &s->upd[i], i, emit, ctx)) != 0) return rc;
    return 0;
  }
  switch (s->kind) {
  case RFW_KIND_GRAPH:
    for (uint64_t i = 0; i < p->edges && rc == 0; i++) {
      rfw_edge e = rfw_bfs_stream_next_load(&s->edges);
      rc = emit(ctx, 0, 1, e.src, e.dst);
    }
    break;
  case RFW_KIND_GROUPBY:
    for (uint64_t i = 0; i < p->initial && rc == 0; i++) {
      rfw_row r;
      if (rfw_groupby_gen_initial(&s->groupby, &r) != 0) return fail(s, "out of memory");
      rc = emit(ctx, 0, 1, r.key, r.value);
    }
    break;
  case RFW_KIND_JOIN:
    for (uint32_t side = 0; side < 2; side++)
      for (uint64_t i = 0; i < p->window && rc == 0; i++) {
        rfw_row r = rfw_window_gen_next_load(&s->window[side]);
        rc = emit(ctx, side, 1, r.key, r.value);
      }
    break;
  }
  return rc;
}

/* The next round from the files. */
static int next_round_files(rfw_source *s, rfw_round *r) {
  bool more = false;
  for (uint32_t i = 0; i < s->n_upd; i++) {
    int rc = reader_peek(s, &s->upd[i]);
    if (rc == RFW_SOURCE_ERROR) return rc;
    more |= rc == 1;
  }
  if (!more) return 0;
  const uint32_t round = ++s->round;
  r->number = round;
  if (s->kind != RFW_KIND_JOIN)
    return read_round(s, &s->upd[0], round, 0, s->kind == RFW_KIND_GRAPH, r) ? RFW_SOURCE_ERROR
                                                                                : 1;
  /* join: read each side, then pair their elements. */
  size_t n = 0;
  for (uint32_t i = 0; i < 2; i++) {
    rfw_round_clear(&s->side[i]);
    if (read_round(s, &s->upd[i], round, i, true, &s->side[i])) return RFW_SOURCE_ERROR;
    if (s->side[i].n_elem > n) n = s->side[i].n_elem;
  }
  for (size_t e = 0; e < n; e++) {
    if (rfw_round_begin(r) != 0) return fail(s, "out of memory");
    for (uint32_t i = 0; i < 2; i++) {
      const rfw_round *sd = &s->side[i];
      if (e >= sd->n_elem) continue;
      for (size_t k = sd->elem[e]; k < rfw_round_elem_end(sd, e); k++)
        if (rfw_round_add(r, i, sd->u[k].diff, sd->u[k].a, sd->u[k].b) != 0)
          return fail(s, "out of memory");
    }
  }
  return 1;
}

int rfw_source_next_round(rfw_source *s, rfw_round *r) {
  rfw_round_clear(r);
  if (s->round >= s->max_rounds) return 0;
  if (s->files) return next_round_files(s, r);
  const rfw_params *p = s->p;
  r->number = ++s->round;
  bool oom = false;
  switch (s->kind) {
  case RFW_KIND_GRAPH:
    for (uint32_t e = 0; e < p->batch && !oom; e++) {
      rfw_edge in = rfw_edge_gen_next(&s->edges.ins), out = rfw_edge_gen_next(&s->edges.del);
      oom = rfw_round_begin(r) || rfw_round_add(r, 0, 1, in.src, in.dst) ||
            rfw_round_add(r, 0, -1, out.src, out.dst);
    }
    break;
  case RFW_KIND_GROUPBY:
    for (uint32_t e = 0; e < p->batch && s->groupby_left > 0 && !oom; e++, s->groupby_left--) {
      rfw_row row;
      int diff;
      oom = rfw_groupby_gen_change(&s->groupby, &row, &diff) || rfw_round_begin(r) ||
            rfw_round_add(r, 0, diff, row.key, row.value);
    }
    break;
  case RFW_KIND_JOIN:
    for (uint32_t e = 0; e < p->batch && !oom; e++) {
      oom = rfw_round_begin(r) != 0;
      for (uint32_t side = 0; side < 2 && !oom; side++) {
        rfw_row in, out;
        rfw_window_gen_next(&s->window[side], &in, &out);
        oom = rfw_round_add(r, side, 1, in.key, in.value) ||
              rfw_round_add(r, side, -1, out.key, out.value);
      }
    }
    break;
  }
  return oom ? fail(s, "out of memory") : 1;
}

/* ---- --write-inputs ------------------------------------------------------ */

typedef struct writer {
  FILE *f[2];      /* update files: graph/groupby [0]; join left, right */
  FILE *edges;     /* graph: edges.txt */
  bool graph;
  uint64_t lines;
  rfw_progress prog;
} writer;

static void count_line(writer *w) {
  if ((++w->lines & 0xffff) == 0 && rfw_progress_due(&w->prog))
    rfw_progress_print(&w->prog, "writing inputs: %" PRIu64 " lines", w->lines);
}

static int write_initial(void *ctx, uint32_t input, int diff, uint64_t a, uint64_t b) {
  writer *w = ctx;
  if (w->graph) fprintf(w->edges, "%" PRIu64 " %" PRIu64 "\n", a, b);
  else fprintf(w->f[input], "0 %s %" PRIu64 " %" PRIu64 "\n", diff > 0 ? "+1" : "-1", a, b);
  count_line(w);
  return 0;
}

static FILE *open_out(const char *dir, const char *name, char *path, size_t len, FILE *err) {
  snprintf(path, len, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) fprintf(err, "cannot write %s: %s\n", path, strerror(errno));
  else setvbuf(f, NULL, _IOFBF, 1 << 20);
  return f;
}

static int close_out(FILE *f, const char *dir, const char *name, FILE *err) {
  if (!f) return 0;
  int bad = ferror(f);
  if (fclose(f) != 0) bad = 1;
  if (bad) fprintf(err, "error writing %s/%s: %s\n", dir, name, strerror(errno));
  return bad;
}

static void write_meta(FILE *f, const rfw_params *p) {
  fprintf(f, "{\"workload\":\"%s\"", p->wl->name);
  uint32_t rounds = p->rounds;
  switch (p->wl->kind) {
  case RFW_KIND_GRAPH:
    fprintf(f, ",\"nodes\":%" PRIu32 ",\"edges\":%" PRIu64, p->nodes, p->edges);
    break;
  case RFW_KIND_GROUPBY:
    rounds = rfw_groupby_rounds(p);
    fprintf(f, ",\"keys\":%" PRIu64 ",\"initial\":%" PRIu64 ",\"updates\":%" PRIu64, p->keys,
            p->initial, rfw_groupby_changes(p));
    break;
  case RFW_KIND_JOIN:
    fprintf(f, ",\"keys\":%" PRIu64 ",\"window\":%" PRIu64, p->keys, p->window);
    break;
  }
  fprintf(f, ",\"batch\":%" PRIu32 ",\"rounds\":%" PRIu32 ",\"times_per_round\":%" PRIu32
             ",\"seed\":%" PRIu64,
          p->batch, rounds, p->times_per_round ? p->times_per_round : p->batch, p->seed);
  if (p->wl->kind == RFW_KIND_GRAPH)
    fprintf(f, ",\"generator\":\"%s\"", rfw_gen_kind_name(p->gen));
  fprintf(f, "}\n");
}

/* mkdir -p. 0 or -1 (errno set). */
static int make_dirs(const char *dir) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *c = path + 1; *c; c++) {
    if (*c != '/') continue;
    *c = '\0';
    if (mkdir(path, 0777) != 0 && errno != EEXIST) return -1;
    *c = '/';
  }
  return mkdir(path, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

int rfw_write_inputs(const rfw_params *p, FILE *err) {
  const char *dir = p->write_inputs, *wl = p->wl->name;
  if (make_dirs(dir) != 0) {
    fprintf(err, "%s: cannot create %s: %s\n", wl, dir, strerror(errno));
    return RFW_EXIT_FAILURE;
  }
  static const char *const names_graph[2] = {"updates.txt", NULL};
  static const char *const names_join[2] = {"left.txt", "right.txt"};
  const char *const *names = p->wl->kind == RFW_KIND_JOIN ? names_join : names_graph;
  char path[4096];
  writer w;
  memset(&w, 0, sizeof w);
  w.graph = p->wl->kind == RFW_KIND_GRAPH;
  rfw_progress_init(&w.prog, p->progress);
  int bad = 0;
  FILE *meta = open_out(dir, "meta.json", path, sizeof path, err);
  if (!meta) return RFW_EXIT_FAILURE;
  write_meta(meta, p);
  bad |= close_out(meta, dir, "meta.json", err);
  if (w.graph && !(w.edges = open_out(dir, "edges.txt", path, sizeof path, err))) bad = 1;
  for (int i = 0; i < 2 && names[i] && !bad; i++)
    if (!(w.f[i] = open_out(dir, names[i], path, sizeof path, err))) bad = 1;

  rfw_source s;
  rfw_round r;
  memset(&r, 0, sizeof r);
  if (!bad) {
    int rc = rfw_source_open(&s, p);
    if (rc == 0) rc = rfw_source_initial(&s, write_initial, &w);
    while (rc == 0 && (rc = rfw_source_next_round(&s, &r)) == 1) {
      rc = 0;
      for (size_t k = 0; k < r.n; k++) {
        const rfw_update *u = &r.u[k];
        fprintf(w.f[u->input], "%" PRIu32 " %s %" PRIu64 " %" PRIu64 "\n", r.number,
                u->diff > 0 ? "+1" : "-1", u->a, u->b);
        count_line(&w);
      }
    }
    if (rc) {
      fprintf(err, "%s: %s\n", wl, s.err);
      bad = 1;
    }
    rfw_source_close(&s);
  }
  rfw_round_free(&r);
  rfw_progress_end(&w.prog);
  bad |= close_out(w.edges, dir, "edges.txt", err);
  for (int i = 0; i < 2; i++) bad |= close_out(w.f[i], dir, names[i], err);
  return bad ? RFW_EXIT_FAILURE : RFW_EXIT_OK;
}
