/*
 * bench_options.c: defaults, command-line parsing and usage of the
 * benchmark workloads (see bench_options.h).
 */
#include "bench_options.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bench_runner.h"

void rfw_params_default(rfw_params *p, const rfw_workload *wl) {
  memset(p, 0, sizeof *p);
  p->wl = wl;
  p->workers = 1;
  p->seed = RFW_DEFAULT_SEED;
  switch (wl->kind) {
  case RFW_KIND_GRAPH:
    p->nodes = 100000;
    p->edges = 1000000;
    p->batch = 1000;
    p->rounds = 100;
    p->times_per_round = 0; /* one time per element, as dd's bfs example */
    p->gen = RFW_GEN_DD;
    break;
  case RFW_KIND_GROUPBY:
    p->keys = 100000;
    p->updates = 1000000;
    p->batch = 10000;
    p->times_per_round = 1;
    break;
  case RFW_KIND_JOIN:
    p->keys = 100000;
    p->window = 1000000;
    p->batch = 1000;
    p->rounds = 100;
    p->times_per_round = 1;
    break;
  }
}

void rfw_params_free(rfw_params *p) {
  free(p->updates_arg);
  p->updates_arg = NULL;
}

uint32_t rfw_groupby_rounds(const rfw_params *p) {
  uint64_t r = (p->updates + p->batch - 1) / p->batch;
  if (p->rounds_set && r > p->rounds) r = p->rounds;
  return r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}

uint64_t rfw_groupby_changes(const rfw_params *p) {
  uint64_t max = (uint64_t)rfw_groupby_rounds(p) * p->batch;
  return p->updates < max ? p->updates : max;
}

void rfw_usage(FILE *f, const rfw_workload *wl, const char *prog) {
  fprintf(f, "usage: %s [options]\n\n%s\n\n", prog, wl->help);
  fprintf(f, "output: one JSON line per round (round 0 is the initial computation) with\n"
             "round, latency_ms and the checksums");
  for (uint32_t k = 0; k < wl->n_sums; k++)
    fprintf(f, "%s%s", k == 0 ? " " : k + 1 == wl->n_sums ? " and " : ", ", wl->sum_names[k]);
  fprintf(f, ",\nthen a summary line (\"summary\":true; benchmarks/README.md lists its fields).\n"
             "\noptions (counts take k/M/G suffixes: 100k, 1M):\n");
  switch (wl->kind) {
  case RFW_KIND_GRAPH:
    fprintf(f,
            "  --nodes N             nodes (default 100k; at most 2^32-1)\n"
            "  --edges M             edges loaded in round 0 (default 1M)\n"
            "  --batch B             elements per round, each inserting a new edge and\n"
            "                        removing the oldest (default 1000)\n"
            "  --rounds R            rounds after round 0 (default 100)\n"
            "  --generator dd|fast   dd: differential-dataflow's bfs example's exact\n"
            "                        stream, --seed ignored (default); fast: splitmix64\n"
            "  --times-per-round T   dataflow times per round (default: one per element)\n"
            "  --edges FILE          read the initial edges (\"src dst\" lines) instead\n"
            "  --updates FILE        read the rounds (\"round diff src dst\" lines) instead;\n"
            "                        without --edges the graph starts empty\n");
    break;
  case RFW_KIND_GROUPBY:
    fprintf(f,
            "  --keys K              keys (default 100k)\n"
            "  --initial I           rows inserted in round 0 (default: K)\n"
            "  --updates U           changes after round 0 (default 1M)\n"
            "  --batch B             changes per round (default 10k); ceil(U/B) rounds\n"
            "  --rounds R            run at most R rounds (default: all)\n"
            "  --times-per-round T   dataflow times per round (default 1)\n"
            "  --updates FILE        read all rows (\"round diff key value\" lines,\n"
            "                        round 0 = the initial rows) instead\n");
    break;
  case RFW_KIND_JOIN:
    fprintf(f,
            "  --keys K              keys (default 100k)\n"
            "  --window W            rows per side (default 1M)\n"
            "  --batch B             elements per round, each inserting a new row and\n"
            "                        removing the oldest on each side (default 1k)\n"
            "  --rounds R            rounds after round 0 (default 100)\n"
            "  --times-per-round T   dataflow times per round (default 1)\n"
            "  --updates LEFT,RIGHT  read both sides (\"round diff key value\" lines,\n"
            "                        round 0 = the initial window) instead\n");
    break;
  }
  if (wl == &rfw_workload_bfs)
    fprintf(f,
            "  --inspect FILE        write the distance histogram's changes as\n"
            "                        \"(distance, time, diff)\" lines, sorted by time\n"
            "  --check-ref FILE      compare those changes with a reference file (at the\n"
            "                        times this run covers); exit 3 if they differ\n");
  fprintf(f,
          "  --send round|advance  with several workers, when a round's changes go\n"
          "                        to the workers: round: together, when the round is\n"
          "                        waited on (buffered inputs, as dd's example flushes\n"
          "                        once a round; default); advance: at every time\n"
          "  --compact             after round 0, merge every arrangement into one\n"
          "                        batch a worker (rf_graph_compact) before the rounds;\n"
          "                        the summary's compact_s says how long it took\n"
          "  --seed S              random seed (default %d)\n"
          "  --workers W           worker threads that run the dataflow, 1 to %d\n"
          "                        (default 1)\n"
          "  --write-inputs DIR    write the inputs and DIR/meta.json (WORKLOADS.md\n"
          "                        \"Files\") and exit without running\n"
          "  --progress            progress lines on stderr even when it is not a\n"
          "                        terminal (on a terminal they are always shown)\n"
          "  -h, --help            this message\n",
          RFW_DEFAULT_SEED, RFW_MAX_WORKERS);
  if (wl->kind != RFW_KIND_JOIN)
    fprintf(f,
            "\nA value of %s that reads as a count (digits, an optional k/M/G) is a\n"
            "count; anything else is a file name (write ./100k for a file so named).\n",
            wl->kind == RFW_KIND_GRAPH ? "--edges" : "--updates");
  fprintf(f, "Input files are those --write-inputs writes (benchmarks/WORKLOADS.md).\n"
             "\nexit status: 0 ok, 1 run failed (or a bad input file), 2 bad usage%s\n",
          wl == &rfw_workload_bfs ? ", 3 histogram\nmismatch" : "");
}

/* Digits and an optional k/M/G suffix: a count rather than a file name. */
static bool looks_like_count(const char *s) {
  size_t n = strspn(s, "0123456789");
  if (n == 0) return false;
  if (s[n] && strchr("kKmMgG", s[n])) n++;
  return s[n] == '\0';
}

static int need_value(int argc, char **argv, int i, const char *what, const char *prog,
                      FILE *err) {
  if (i + 1 >= argc || argv[i + 1][0] == '\0') {
    fprintf(err, "%s: option %s needs %s\n", prog, argv[i], what);
    return RFW_EXIT_USAGE;
  }
  return 0;
}

/* A count option's value, or (file_ok and not count-like) a file name. */
static int count_or_file(int argc, char **argv, int *i, uint64_t lo, uint64_t hi,
                         uint64_t *count, const char **file, const char *prog, FILE *err) {
  int rc = need_value(argc, argv, *i, file ? "a count or a file name" : "a value", prog, err);
  if (rc) return rc;
  if (file && !looks_like_count(argv[*i + 1])) {
    *file = argv[++*i];
    return 0;
  }
  return rfw_opt_count(argc, argv, i, lo, hi, count, prog, err);
}

static int unknown(const char *a, const char *prog, FILE *err) {
  fprintf(err, "%s: unknown argument '%s' (try --help)\n", prog, a);
  return RFW_EXIT_USAGE;
}

int rfw_params_parse(int argc, char **argv, rfw_params *p, const char *prog, FILE *out,
                     FILE *err) {
  const rfw_kind kind = p->wl->kind;
  const bool is_bfs = p->wl == &rfw_workload_bfs;
  const uint64_t max_count = UINT64_C(1) << 40;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    uint64_t v = 0;
    int rc = 0;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      rfw_usage(out, p->wl, prog);
      return RFW_EXIT_HELP;
    } else if (strcmp(a, "--workers") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 1, RFW_MAX_WORKERS, &v, prog, err)))
        p->workers = (uint32_t)v;
    } else if (strcmp(a, "--seed") == 0) {
      rc = rfw_opt_count(argc, argv, &i, 0, UINT64_MAX, &p->seed, prog, err);
    } else if (strcmp(a, "--rounds") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 0, UINT32_MAX / 2, &v, prog, err))) {
        p->rounds = (uint32_t)v;
        p->rounds_set = true;
      }
    } else if (strcmp(a, "--batch") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 1, UINT32_MAX / 2, &v, prog, err)))
        p->batch = (uint32_t)v;
    } else if (strcmp(a, "--times-per-round") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 1, UINT32_MAX, &v, prog, err)))
        p->times_per_round = (uint32_t)v;
    } else if (strcmp(a, "--send") == 0) {
      if (i + 1 >= argc) {
        fprintf(err, "%s: option --send needs a value (round or advance)\n", prog);
        return RFW_EXIT_USAGE;
      }
      const char *val = argv[++i];
      if (strcmp(val, "round") == 0 || strcmp(val, "advance") == 0) {
        p->send_each_advance = strcmp(val, "advance") == 0;
      } else {
        fprintf(err, "%s: bad value '%s' for --send: expected round or advance\n", prog, val);
        return RFW_EXIT_USAGE;
      }
    } else if (strcmp(a, "--write-inputs") == 0) {
      if (!(rc = need_value(argc, argv, i, "a directory", prog, err))) p->write_inputs = argv[++i];
    } else if (strcmp(a, "--progress") == 0) {
      p->progress = true;
    } else if (strcmp(a, "--compact") == 0) {
      p->compact = true;
    } else if (strcmp(a, "--updates") == 0) {
      if (kind == RFW_KIND_GROUPBY) {
        rc = count_or_file(argc, argv, &i, 0, max_count, &p->updates, &p->updates_file, prog,
                           err);
      } else if (!(rc = need_value(argc, argv, i, "a file name", prog, err))) {
        p->updates_file = argv[++i];
      }
    } else if (kind == RFW_KIND_GRAPH && strcmp(a, "--nodes") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 1, UINT32_MAX, &v, prog, err)))
        p->nodes = (uint32_t)v;
    } else if (kind == RFW_KIND_GRAPH && strcmp(a, "--edges") == 0) {
      rc = count_or_file(argc, argv, &i, 0, max_count, &p->edges, &p->edges_file, prog, err);
    } else if (kind == RFW_KIND_GRAPH && strcmp(a, "--generator") == 0) {
      if (i + 1 >= argc) {
        fprintf(err, "%s: option --generator needs a value (dd or fast)\n", prog);
        return RFW_EXIT_USAGE;
      }
      if (rfw_gen_kind_parse(argv[++i], &p->gen) != 0) {
        fprintf(err, "%s: bad value '%s' for --generator: expected dd or fast\n", prog,
                argv[i]);
        return RFW_EXIT_USAGE;
      }
    } else if (kind != RFW_KIND_GRAPH && strcmp(a, "--keys") == 0) {
      rc = rfw_opt_count(argc, argv, &i, 1, (UINT64_C(1) << 62) - 1, &p->keys, prog, err);
    } else if (kind == RFW_KIND_GROUPBY && strcmp(a, "--initial") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 0, max_count, &p->initial, prog, err)))
        p->initial_set = true;
    } else if (kind == RFW_KIND_JOIN && strcmp(a, "--window") == 0) {
      rc = rfw_opt_count(argc, argv, &i, 0, max_count, &p->window, prog, err);
    } else if (is_bfs && strcmp(a, "--inspect") == 0) {
      if (!(rc = need_value(argc, argv, i, "a file name", prog, err))) p->inspect_path = argv[++i];
    } else if (is_bfs && strcmp(a, "--check-ref") == 0) {
      if (!(rc = need_value(argc, argv, i, "a file name", prog, err)))
        p->check_ref_path = argv[++i];
    } else {
      return unknown(a, prog, err);
    }
    if (rc) return rc;
  }

  if (kind == RFW_KIND_GROUPBY && !p->initial_set) p->initial = p->keys;
  if (p->write_inputs && rfw_params_from_files(p)) {
    fprintf(err, "%s: --write-inputs writes generated inputs; it takes no input file "
                 "(--edges/--updates FILE)\n", prog);
    return RFW_EXIT_USAGE;
  }
  if (kind == RFW_KIND_JOIN && p->updates_file) {
    const char *comma = strchr(p->updates_file, ',');
    if (!comma || comma == p->updates_file || comma[1] == '\0' || strchr(comma + 1, ',')) {
      fprintf(err, "%s: --updates takes LEFT,RIGHT for join (two files, one comma), got '%s'\n",
              prog, p->updates_file);
      return RFW_EXIT_USAGE;
    }
    free(p->updates_arg);
    if (!(p->updates_arg = strdup(p->updates_file))) {
      fprintf(err, "%s: out of memory\n", prog);
      return RFW_EXIT_FAILURE;
    }
    size_t cut = (size_t)(comma - p->updates_file);
    p->updates_arg[cut] = '\0';
    p->updates_file = p->updates_arg;
    p->right_file = p->updates_arg + cut + 1;
  }
  if (p->check_ref_path && p->times_per_round != 0 && p->times_per_round != p->batch) {
    fprintf(err, "%s: --check-ref compares times of one time per element: leave out "
                 "--times-per-round (or give --times-per-round %" PRIu32 ")\n",
            prog, p->batch);
    return RFW_EXIT_USAGE;
  }
  return 0;
}
