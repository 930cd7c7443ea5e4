/*
 * store_cli.c: `rhizoflow ingest` (append deltas from JSON Lines to a
 * store) and `rhizoflow store check|dump` (verify a store and print its
 * statistics; print its deltas back as JSON Lines). They drive store/ (the
 * record log and deltas) directly: the store is not yet in the public header.
 * Exit status: 0 ok, 1 failure (bad input, damaged store, I/O), 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/delta.h"
#include "store/store.h"
#include "store/symbols.h"
#include "common/alloc.h"
#include "common/error.h"
#include "store_cli.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define PROGRESS_EVERY 100000

static void ingest_usage(FILE *f) {
  fprintf(f,
          "usage: rhizoflow ingest [--store DIR] [--durability fsync|group|none] [FILE.jsonl|-]\n"
          "\n"
          "Appends the deltas in FILE (JSON Lines, one delta per line; `-` or no FILE\n"
          "reads standard input) to the store. Every line is validated first: if any\n"
          "line is bad, nothing is appended and the bad lines are listed (line and\n"
          "field). A delta already in the store is not stored again.\n"
          "\n"
          "options:\n"
          "  --store DIR          the store directory (default %s)\n"
          "  --durability P       fsync: every append on disk before the next (default);\n"
          "                       group: one fsync per 64 appends or 10 ms;\n"
          "                       none: no fsync (safe from a process crash, not a power loss)\n"
          "  -h, --help           this message\n"
          "\n"
          "prints: a progress line on long input (stderr), then a summary\n"
          "(accepted, duplicates, rejected).\n"
          "exit status: 0 ok, 1 failure (bad lines: nothing appended), 2 usage error\n",
          RF_STORE_DEFAULT_DIR);
}

static void store_usage(FILE *f) {
  fprintf(f,
          "usage: rhizoflow store check [--store DIR]\n"
          "       rhizoflow store dump [--store DIR] [--until-time T]\n"
          "\n"
          "check  verifies every segment header and record checksum, that every\n"
          "       delta is stored once in canonical form and that the symbol table\n"
          "       is consistent, without changing anything;\n"
          "       prints statistics. A torn tail (which the next ingest would\n"
          "       truncate) counts as a problem.\n"
          "dump   prints every stored delta as JSON Lines, in log order; with\n"
          "       --until-time T, only those with timestamp <= T (the past at T).\n"
          "\n"
          "options:\n"
          "  --store DIR          the store directory (default %s)\n"
          "  -h, --help           this message\n"
          "\n"
          "exit status: 0 ok, 1 a problem found or a failure, 2 usage error\n",
          RF_STORE_DEFAULT_DIR);
}

typedef struct prog {
  int tty;
} prog;

static void on_progress(void *arg, int phase, uint64_t done) {
  prog *p = arg;
  const char *what = phase == 1 ? "validated" : "appended";
  if (p->tty)
    fprintf(stderr, "\ringest: %s %" PRIu64 " lines...", what, done);
  else
    fprintf(stderr, "ingest: %s %" PRIu64 " lines\n", what, done);
}

int rf_cli_ingest(int argc, char **argv) {
  const char *dir = RF_STORE_DEFAULT_DIR, *file = NULL;
  rf__store_policy pol = rf__store_policy_default();
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      ingest_usage(stdout);
      return EXIT_OK;
    } else if (strcmp(a, "--store") == 0 || strcmp(a, "--durability") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "rhizoflow ingest: %s needs a value (try rhizoflow ingest --help)\n", a);
        return EXIT_USAGE;
      }
      const char *v = argv[++i];
      if (a[2] == 's') {
        dir = v;
      } else if (strcmp(v, "fsync") == 0) {
        pol.durability = RF_DURABILITY_FSYNC;
      } else if (strcmp(v, "group") == 0) {
        pol.durability = RF_DURABILITY_GROUP;
      } else if (strcmp(v, "none") == 0) {
        pol.durability = RF_DURABILITY_NONE;
      } else {
        fprintf(stderr, "rhizoflow ingest: bad value '%s' for --durability: expected fsync, group or none\n", v);
        return EXIT_USAGE;
      }
    } else if (a[0] == '-' && a[1] != 0) {
      fprintf(stderr, "rhizoflow ingest: unknown argument '%s' (try rhizoflow ingest --help)\n", a);
      return EXIT_USAGE;
    } else if (file) {
      fprintf(stderr, "rhizoflow ingest: one input file only ('%s' and '%s')\n", file, a);
      return EXIT_USAGE;
    } else {
      file = a;
    }
  }
  FILE *in = stdin;
  if (file && strcmp(file, "-") != 0) {
    in = fopen(file, "rb");
    if (!in) {
      fprintf(stderr, "rhizoflow ingest: cannot open %s: %s\n", file, strerror(errno));
      return EXIT_FAIL;
    }
  }
  rf__deltas *ds;
  int rc = rf__deltas_open(dir, &pol, &ds);
  if (rc < 0) {
    fprintf(stderr, "rhizoflow ingest: cannot open the store: %s\n", rf_last_error());
    if (in != stdin) fclose(in);
    return EXIT_FAIL;
  }
  const char *note = rf__store_recovery_note(rf__deltas_store(ds));
  if (note) fprintf(stderr, "rhizoflow ingest: recovered the store: %s\n", note);
  prog p = {isatty(STDERR_FILENO)};
  rf__ingest_opts o = {0};
  o.progress_every = PROGRESS_EVERY;
  o.progress = on_progress;
  o.progress_arg = &p;
  rf__ingest_report rep;
  rc = rf__deltas_ingest(ds, in, &o, &rep);
  if (p.tty && rep.lines >= PROGRESS_EVERY) fputc('\n', stderr);
  if (in != stdin) fclose(in);
  int status = EXIT_OK;
  if (rep.rejected) {
    for (size_t i = 0; i < rep.n_messages; i++)
      fprintf(stderr, "rhizoflow ingest: %s: %s\n", file ? file : "stdin", rep.messages[i]);
    if (rep.rejected > rep.n_messages)
      fprintf(stderr, "rhizoflow ingest: ... and %" PRIu64 " more bad lines\n",
              rep.rejected - rep.n_messages);
    fprintf(stderr, "rhizoflow ingest: nothing appended: the input has %" PRIu64 " bad line%s\n",
            rep.rejected, rep.rejected == 1 ? "" : "s");
    status = EXIT_FAIL;
  } else if (rc < 0) {
    fprintf(stderr, "rhizoflow ingest: %s\n", rf_last_error());
    status = EXIT_FAIL;
  }
  printf("ingest: %" PRIu64 " lines: accepted %" PRIu64 ", duplicates %" PRIu64
         ", rejected %" PRIu64 "; the store holds %" PRIu64 " deltas\n",
         rep.lines, rep.accepted, rep.duplicates, rep.rejected, rf__deltas_count(ds));
  rf__ingest_report_free(&rep);
  if (rf__deltas_close(ds) < 0) {
    fprintf(stderr, "rhizoflow ingest: closing the store: %s\n", rf_last_error());
    status = EXIT_FAIL;
  }
  return status;
}

static int store_check(rf__deltas *ds, const char *dir) {
  rf__store *st = rf__deltas_store(ds);
  int problems = 0;
  const char *note = rf__store_recovery_note(st);
  if (note) {
    printf("problem: %s\n", note);
    problems++;
  }
  rf__store_reader *r;
  int rc = rf__store_reader_open(st, (rf__store_pos){0, 0}, &r);
  if (rc < 0) {
    fprintf(stderr, "rhizoflow store check: %s\n", rf_last_error());
    return EXIT_FAIL;
  }
  rf__store_record rec;
  rf__bytes b = {NULL, 0, 0};
  char err[400];
  uint64_t noncanon = 0, unknown = 0;
  while ((rc = rf__store_reader_next(r, &rec)) == 1) {
    if (rec.type == RF_STORE_REC_RAW || rec.type == RF_STORE_REC_SYMBOL) continue;
    if (rec.type != RF_STORE_REC_DELTA) {
      if (unknown++ < 5)
        printf("problem: segment %" PRIu64 " offset %" PRIu64 ": unknown record type %u\n",
               rec.pos.segment, rec.pos.offset, rec.type);
      continue;
    }
    b.len = 0;
    int v = rf__delta_canonicalize((const char *)rec.data, rec.len, &b, err, sizeof err);
    if (v < 0 || b.len != rec.len || memcmp(b.data, rec.data, rec.len) != 0) {
      if (noncanon++ < 5)
        printf("problem: segment %" PRIu64 " offset %" PRIu64 ": delta not in canonical form%s%s\n",
               rec.pos.segment, rec.pos.offset, v < 0 ? ": " : "", v < 0 ? err : "");
    }
  }
  rf__free(b.data);
  rf__store_reader_close(r);
  if (rc < 0) {
    printf("problem: %s\n", rf_last_error());
    problems++;
  }
  rf__store_stats s;
  rf__store_get_stats(st, &s);
  uint64_t n_delta = s.n_by_type[RF_STORE_REC_DELTA];
  if (n_delta != rf__deltas_count(ds)) {
    printf("problem: %" PRIu64 " delta records but %" PRIu64 " distinct deltas\n", n_delta,
           rf__deltas_count(ds));
    problems++;
  }
  rf__symtab *syms = NULL;
  if (rf__symtab_open(st, &syms) < 0) {
    printf("problem: %s\n", rf_last_error());
    problems++;
  }
  problems += noncanon > 0;
  problems += unknown > 0;
  printf("store %s\n", dir);
  printf("  segments:        %" PRIu64 "\n", s.n_segments);
  printf("  records:         %" PRIu64 " (%" PRIu64 " deltas, %" PRIu64 " symbols, %" PRIu64
         " raw)\n",
         s.n_records, n_delta, s.n_by_type[RF_STORE_REC_SYMBOL], s.n_by_type[RF_STORE_REC_RAW]);
  printf("  bytes on disk:   %" PRIu64 " (payload %" PRIu64 ")\n", s.bytes, s.payload_bytes);
  if (n_delta)
    printf("  bytes per delta: %.1f\n", (double)s.bytes / (double)n_delta);
  rf__symtab_close(syms);
  printf("%s\n", problems ? "check: PROBLEMS FOUND" : "check: ok");
  return problems ? EXIT_FAIL : EXIT_OK;
}

static int store_dump(rf__store *st, int64_t until_time) {
  const char *note = rf__store_recovery_note(st);
  if (note) fprintf(stderr, "rhizoflow store dump: warning: %s\n", note);
  rf__store_reader *r;
  int rc = rf__store_reader_open(st, (rf__store_pos){0, 0}, &r);
  rf__store_record rec;
  while (rc == 0 && (rc = rf__store_reader_next(r, &rec)) == 1) {
    rc = 0;
    if (rec.type != RF_STORE_REC_DELTA) continue;
    if (until_time > 0) {
      int64_t ts;
      if ((rc = rf__delta_timestamp(rec.data, rec.len, &ts)) < 0) break;
      if (ts > until_time) continue;
    }
    fwrite(rec.data, 1, rec.len, stdout);
    fputc('\n', stdout);
  }
  rf__store_reader_close(r);
  if (rc < 0) {
    fprintf(stderr, "rhizoflow store dump: %s\n", rf_last_error());
    return EXIT_FAIL;
  }
  if (fflush(stdout) != 0) {
    fprintf(stderr, "rhizoflow store dump: writing: %s\n", strerror(errno));
    return EXIT_FAIL;
  }
  return EXIT_OK;
}

int rf_cli_store(int argc, char **argv) {
  const char *dir = RF_STORE_DEFAULT_DIR, *cmd = NULL;
  int64_t until_time = 0;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      store_usage(stdout);
      return EXIT_OK;
    } else if (strcmp(a, "--until-time") == 0) {
      char *e = NULL;
      long long v = i + 1 < argc ? strtoll(argv[i + 1], &e, 10) : 0;
      if (i + 1 >= argc || *argv[i + 1] == 0 || *e != 0 || v <= 0) {
        fprintf(stderr, "rhizoflow store: --until-time needs a positive integer timestamp\n");
        return EXIT_USAGE;
      }
      until_time = (int64_t)v;
      i++;
    } else if (strcmp(a, "--store") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "rhizoflow store: --store needs a value (try rhizoflow store --help)\n");
        return EXIT_USAGE;
      }
      dir = argv[++i];
    } else if (!cmd && (strcmp(a, "check") == 0 || strcmp(a, "dump") == 0)) {
      cmd = a;
    } else {
      fprintf(stderr, "rhizoflow store: unknown argument '%s' (try rhizoflow store --help)\n", a);
      return EXIT_USAGE;
    }
  }
  if (!cmd) {
    fprintf(stderr, "rhizoflow store: say check or dump (try rhizoflow store --help)\n");
    return EXIT_USAGE;
  }
  rf__store_policy pol = rf__store_policy_default();
  pol.read_only = 1;
  rf__deltas *ds;
  int rc = rf__deltas_open(dir, &pol, &ds);
  if (rc < 0) {
    if (cmd[0] == 'c') printf("check: PROBLEMS FOUND\n");
    fprintf(stderr, "rhizoflow store %s: %s\n", cmd, rf_last_error());
    return EXIT_FAIL;
  }
  if (until_time && cmd[0] == 'c') {
    fprintf(stderr, "rhizoflow store check: --until-time applies to dump only\n");
    rf__deltas_close(ds);
    return EXIT_USAGE;
  }
  int status = cmd[0] == 'c' ? store_check(ds, dir) : store_dump(rf__deltas_store(ds), until_time);
  rf__deltas_close(ds);
  return status;
}
