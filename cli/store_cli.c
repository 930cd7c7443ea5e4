/*
 * store_cli.c: `rhizoflow ingest` (append deltas from JSON Lines to a
 * store, in batches) and `rhizoflow store check|dump` (verify a store and
 * print its statistics; print its deltas back as JSON Lines). They use the
 * store through the public header only (rhizoflow.h, "Durable delta
 * store"), like any program would.
 * Exit status: 0 ok, 1 failure (bad input, damaged store, I/O), 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rhizoflow.h"
#include "store_cli.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define PROGRESS_EVERY 100000
#define BATCH_DEFAULT 10000
#define MAX_SHOWN 20 /* bad lines (and rejected batches) printed one by one */

static void ingest_usage(FILE *f) {
  fprintf(f,
          "usage: rhizoflow ingest [--store DIR] [--durability fsync|group|none] [--batch N]\n"
          "                        [FILE.jsonl|-]\n"
          "\n"
          "Appends the deltas in FILE (JSON Lines, one delta per line; `-` or no FILE\n"
          "reads standard input) to the store, in batches of N lines. Each batch is\n"
          "validated in full, then appended as a whole: a crash leaves a batch wholly\n"
          "stored or not at all. A bad line (named with its line number and field)\n"
          "rejects its own batch only; the other batches are appended. A delta\n"
          "already in the store is not stored again.\n"
          "\n"
          "options:\n"
          "  --store DIR          the store directory (default %s)\n"
          "  --durability P       fsync: every batch on disk before the next (default);\n"
          "                       group: one fsync per 64 appends or 10 ms;\n"
          "                       none: no fsync (safe from a process crash, not a power loss)\n"
          "  --batch N            lines per batch, at least 1 (default %d); memory use\n"
          "                       grows with N, not with the input\n"
          "  -h, --help           this message\n"
          "\n"
          "prints: a progress line on long input (stderr), then a summary\n"
          "(accepted, duplicates, rejected lines and batches).\n"
          "exit status: 0 ok, 1 failure (some lines rejected: their batches were not\n"
          "appended; or the store could not be opened or written), 2 usage error\n",
          RF_STORE_DEFAULT_DIR, BATCH_DEFAULT);
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

typedef struct ingest_ui {
  int tty;
  const char *file;
  uint64_t shown_lines, shown_batches;
} ingest_ui;

static void on_progress(void *arg, const rf_store_ingest_report *r) {
  ingest_ui *u = arg;
  fprintf(stderr,
          "%singest: %" PRIu64 " lines read: accepted %" PRIu64 ", duplicates %" PRIu64
          ", rejected %" PRIu64 "%s",
          u->tty ? "\r" : "", r->lines, r->accepted, r->duplicates, r->rejected_lines,
          u->tty ? "..." : "\n");
}

static void on_reject(void *arg, uint64_t line, const char *message) {
  ingest_ui *u = arg;
  if (u->shown_lines++ >= MAX_SHOWN) return;
  fprintf(stderr, "%srhizoflow ingest: %s: line %" PRIu64 ": %s\n", u->tty ? "\r" : "", u->file,
          line, message);
}

static void on_batch_rejected(void *arg, uint64_t first, uint64_t last, uint64_t bad) {
  ingest_ui *u = arg;
  if (u->shown_batches++ >= MAX_SHOWN) return;
  fprintf(stderr,
          "%srhizoflow ingest: %s: lines %" PRIu64 "-%" PRIu64 ": batch not appended (%" PRIu64
          " bad line%s)\n",
          u->tty ? "\r" : "", u->file, first, last, bad, bad == 1 ? "" : "s");
}

int rf_cli_ingest(int argc, char **argv) {
  const char *file = NULL;
  rf_store_options so = rf_store_options_default();
  size_t batch = BATCH_DEFAULT;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      ingest_usage(stdout);
      return EXIT_OK;
    } else if (strcmp(a, "--store") == 0 || strcmp(a, "--durability") == 0 ||
               strcmp(a, "--batch") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "rhizoflow ingest: %s needs a value (try rhizoflow ingest --help)\n", a);
        return EXIT_USAGE;
      }
      const char *v = argv[++i];
      if (strcmp(a, "--store") == 0) {
        so.dir = v;
      } else if (strcmp(a, "--batch") == 0) {
        char *e = NULL;
        errno = 0;
        unsigned long long n = strtoull(v, &e, 10);
        if (!*v || *e || v[0] == '-' || n == 0 || errno == ERANGE || n > SIZE_MAX / 2) {
          fprintf(stderr, "rhizoflow ingest: bad value '%s' for --batch: expected a number of lines, at least 1\n", v);
          return EXIT_USAGE;
        }
        batch = (size_t)n;
      } else if (strcmp(v, "fsync") == 0) {
        so.durability = RF_STORE_FSYNC;
      } else if (strcmp(v, "group") == 0) {
        so.durability = RF_STORE_GROUP;
      } else if (strcmp(v, "none") == 0) {
        so.durability = RF_STORE_NONE;
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
  rf_store *st;
  int rc = rf_store_open(&so, &st);
  if (rc < 0) {
    fprintf(stderr, "rhizoflow ingest: cannot open the store: %s\n", rf_last_error());
    if (in != stdin) fclose(in);
    return EXIT_FAIL;
  }
  const char *note = rf_store_recovery_note(st);
  if (note) fprintf(stderr, "rhizoflow ingest: recovered the store: %s\n", note);
  ingest_ui u = {isatty(STDERR_FILENO), file && strcmp(file, "-") != 0 ? file : "stdin", 0, 0};
  rf_store_ingest_options o;
  memset(&o, 0, sizeof o);
  o.batch_lines = batch;
  o.progress_every = PROGRESS_EVERY;
  o.progress = on_progress;
  o.on_reject = on_reject;
  o.on_batch_rejected = on_batch_rejected;
  o.ctx = &u;
  rf_store_ingest_report rep;
  rc = rf_store_ingest_jsonl(st, in, &o, &rep);
  if (u.tty && rep.lines >= PROGRESS_EVERY) fputc('\n', stderr);
  if (in != stdin) fclose(in);
  int status = EXIT_OK;
  if (rep.rejected_lines) {
    if (u.shown_lines > MAX_SHOWN)
      fprintf(stderr, "rhizoflow ingest: ... and %" PRIu64 " more bad lines\n",
              u.shown_lines - MAX_SHOWN);
    if (u.shown_batches > MAX_SHOWN)
      fprintf(stderr, "rhizoflow ingest: ... and %" PRIu64 " more rejected batches\n",
              u.shown_batches - MAX_SHOWN);
    fprintf(stderr,
            "rhizoflow ingest: %" PRIu64 " bad line%s: %" PRIu64 " batch%s of up to %zu lines "
            "not appended (%s)\n",
            rep.rejected_lines, rep.rejected_lines == 1 ? "" : "s", rep.rejected_batches,
            rep.rejected_batches == 1 ? "" : "es", batch,
            rep.batches ? "the other batches were appended" : "nothing appended");
    status = EXIT_FAIL;
  }
  if (rc < 0 && rc != RF_EINVAL) {
    fprintf(stderr, "rhizoflow ingest: %s\n", rf_last_error());
    status = EXIT_FAIL;
  }
  rf_store_stats s;
  rf_store_get_stats(st, &s);
  printf("ingest: %" PRIu64 " lines: accepted %" PRIu64 ", duplicates %" PRIu64
         ", rejected %" PRIu64 " lines (%" PRIu64 " of %" PRIu64 " batches of up to %zu lines);"
         " the store holds %" PRIu64 " deltas\n",
         rep.lines, rep.accepted, rep.duplicates, rep.rejected_lines, rep.rejected_batches,
         rep.batches + rep.rejected_batches, batch, s.deltas);
  if (rf_store_close(st) < 0) {
    fprintf(stderr, "rhizoflow ingest: closing the store: %s\n", rf_last_error());
    status = EXIT_FAIL;
  }
  return status;
}

typedef struct check_ui {
  uint64_t shown;
} check_ui;

static void on_problem(void *arg, const char *message) {
  check_ui *c = arg;
  if (c->shown++ < MAX_SHOWN) printf("problem: %s\n", message);
}

static int store_check(rf_store *st, const char *dir) {
  check_ui c = {0};
  uint64_t problems = 0;
  int rc = rf_store_check(st, on_problem, &c, &problems);
  if (rc < 0 && rc != RF_ECORRUPT) {
    printf("check: PROBLEMS FOUND\n");
    fprintf(stderr, "rhizoflow store check: %s\n", rf_last_error());
    return EXIT_FAIL;
  }
  if (c.shown > MAX_SHOWN) printf("problem: ... and %" PRIu64 " more\n", c.shown - MAX_SHOWN);
  rf_store_stats s;
  rf_store_get_stats(st, &s);
  uint64_t other = s.records - s.update_records;
  other = other > s.deltas ? other - s.deltas : 0;
  printf("store %s\n", dir);
  printf("  segments:        %" PRIu64 "\n", s.segments);
  printf("  records:         %" PRIu64 " (%" PRIu64 " deltas, %" PRIu64 " collection updates, %" PRIu64
         " other)\n",
         s.records, s.deltas, s.update_records, other);
  printf("  batches:         %" PRIu64 "\n", s.batches);
  printf("  bytes on disk:   %" PRIu64 " (payload %" PRIu64 ")\n", s.bytes, s.payload_bytes);
  if (s.deltas) printf("  bytes per delta: %.1f\n", (double)s.bytes / (double)s.deltas);
  printf("%s\n", problems ? "check: PROBLEMS FOUND" : "check: ok");
  return problems ? EXIT_FAIL : EXIT_OK;
}

static int store_dump(rf_store *st, int64_t until_time) {
  const char *note = rf_store_recovery_note(st);
  if (note) fprintf(stderr, "rhizoflow store dump: warning: %s\n", note);
  rf_store_read_options o;
  memset(&o, 0, sizeof o);
  o.until_timestamp = until_time;
  rf_store_reader *r;
  int rc = rf_store_reader_open(st, &o, &r);
  rf_store_delta d;
  while (rc == 0 && (rc = rf_store_reader_next(r, &d)) == 1) {
    rc = 0;
    fwrite(d.json, 1, d.len, stdout);
    fputc('\n', stdout);
  }
  rf_store_reader_close(r);
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
  if (until_time && cmd[0] == 'c') {
    fprintf(stderr, "rhizoflow store check: --until-time applies to dump only\n");
    return EXIT_USAGE;
  }
  rf_store_options so = rf_store_options_default();
  so.dir = dir;
  so.read_only = true;
  rf_store *st;
  int rc = rf_store_open(&so, &st);
  if (rc < 0) {
    if (cmd[0] == 'c') printf("check: PROBLEMS FOUND\n");
    fprintf(stderr, "rhizoflow store %s: %s\n", cmd, rf_last_error());
    return EXIT_FAIL;
  }
  int status = cmd[0] == 'c' ? store_check(st, dir) : store_dump(st, until_time);
  rf_store_close(st);
  return status;
}
