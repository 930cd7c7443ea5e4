/*
 * store_sqlite.c: `bench_store_sqlite`, the SQLite side of the delta store
 * ingest benchmark (issue 5). It reads the JSON Lines file that bench_store
 * --write produced and ingests the same deltas into SQLite (Debian
 * libsqlite3, WAL mode) under the same three durability settings, printing
 * the same JSON fields as bench_store so the figures sit side by side:
 *   fsync: synchronous=FULL, one transaction per delta (autocommit);
 *   group: synchronous=FULL, one transaction per 1000 deltas or 10 ms (the
 *          window checked at each insert, as rhizoflow's group commit does);
 *   none:  synchronous=OFF, one transaction per delta.
 * With --batch N (as bench_store --batch N) every policy runs one
 * transaction per N deltas instead, and fsync ingests every delta.
 * The table is deltas(id TEXT PRIMARY KEY, body BLOB); each insert is an
 * INSERT OR IGNORE keyed by the delta's content address. With --key canon
 * (the default) every line goes through rhizoflow's own validation and
 * canonical encoding (rf__delta_canonicalize) and is keyed by the same
 * XXH3-128 address (32 hex digits) with the canonical bytes as the body:
 * the same work as rhizoflow's ingest, SQLite's storage. With --key raw the
 * line is stored as it came, keyed by the XXH3-128 of its bytes (no parse):
 * SQLite's storage cost alone. Replay opens the database again and SELECTs
 * every row in insertion (rowid) order; open_s is the open and the
 * statement preparation. A benchmark client: plain malloc, every return
 * checked. Built only where pkg-config finds sqlite3.
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "store/delta.h"
#include "store_bench_util.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench_store_sqlite --input FILE [--durability fsync|group|none|all]\n"
          "                          [--fsync-deltas N] [--group-n N] [--group-ms T]\n"
          "                          [--key canon|raw] [--batch N] [--dir DIR] [--keep]\n"
          "\n"
          "  --input FILE      the deltas (JSON Lines, as bench_store --write wrote them)\n"
          "  --durability P    policy to measure (default all: none, group, fsync)\n"
          "  --fsync-deltas N  ingest only the first N deltas under fsync (default 20000)\n"
          "  --group-n N, --group-ms T  group commit (default 1000 deltas or 10 ms)\n"
          "  --batch N         one transaction per N deltas, every policy (default 0: as above)\n"
          "  --key canon|raw   canonicalise and key by content address (default), or\n"
          "                    store raw lines keyed by the hash of their bytes\n"
          "  --dir DIR         where the databases go (default ./bench-store-data)\n"
          "  --keep            keep the databases afterwards\n");
}

static int parse_u64(const char *s, uint64_t *out) {
  char *e = NULL;
  unsigned long long v = strtoull(s, &e, 10);
  if (!*s || *e || s[0] == '-') return -1;
  *out = (uint64_t)v;
  return 0;
}

static int exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "bench_store_sqlite: %s: %s\n", sql, err ? err : sqlite3_errmsg(db));
    sqlite3_free(err);
    return -1;
  }
  return 0;
}

static void hex128(rf__delta_addr a, char out[33]) {
  snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, a.hi, a.lo);
}

static int run_policy(const sb_lines *in, uint64_t n, const char *pol, uint64_t gn, uint64_t gms,
                      uint64_t batch, int raw, const char *base, int keep) {
  char dir[4096], path[4200];
  snprintf(dir, sizeof dir, "%s/sqlite-%s", base, pol);
  snprintf(path, sizeof path, "%s/deltas.db", dir);
  if (sb_rmdir(dir) < 0) return -1;
  if (mkdir(dir, 0777) != 0) {
    fprintf(stderr, "bench_store_sqlite: cannot create %s: %s\n", dir, strerror(errno));
    return -1;
  }
  int fsync_pol = strcmp(pol, "fsync") == 0, group = strcmp(pol, "group") == 0 && !batch;
  sqlite3 *db = NULL;
  sqlite3_stmt *ins = NULL;
  rf__bytes b = {NULL, 0, 0};
  int status = -1;
  if (sqlite3_open(path, &db) != SQLITE_OK) {
    fprintf(stderr, "bench_store_sqlite: open %s: %s\n", path, db ? sqlite3_errmsg(db) : "?");
    goto out;
  }
  if (exec(db, "PRAGMA journal_mode=WAL") < 0 ||
      exec(db, fsync_pol || strcmp(pol, "group") == 0 ? "PRAGMA synchronous=FULL"
                                                      : "PRAGMA synchronous=OFF") < 0 ||
      exec(db, "CREATE TABLE deltas(id TEXT PRIMARY KEY, body BLOB)") < 0)
    goto out;
  if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO deltas(id, body) VALUES(?, ?)", -1, &ins,
                         NULL) != SQLITE_OK) {
    fprintf(stderr, "bench_store_sqlite: prepare: %s\n", sqlite3_errmsg(db));
    goto out;
  }
  uint64_t accepted = 0, dups = 0, in_bytes = 0, in_group = 0;
  double group_start = 0;
  char key[33], err[400];
  double t0 = sb_now();
  for (uint64_t i = 0; i < n; i++) {
    const char *line = in->data + in->off[i];
    size_t len = in->len[i];
    const void *body = line;
    size_t blen = len;
    if (raw) {
      hex128(rf__delta_address(line, len), key);
    } else {
      b.len = 0;
      if (rf__delta_canonicalize(line, len, &b, err, sizeof err) < 0) {
        fprintf(stderr, "bench_store_sqlite: delta %" PRIu64 ": %s\n", i + 1, err);
        goto out;
      }
      hex128(rf__delta_address(b.data, b.len), key);
      body = b.data;
      blen = b.len;
    }
    if (group && in_group == 0) {
      if (exec(db, "BEGIN") < 0) goto out;
      group_start = sb_now();
    }
    if (batch && i % batch == 0 && exec(db, "BEGIN") < 0) goto out;
    if (sqlite3_bind_text(ins, 1, key, 32, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(ins, 2, body, (int)blen, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(ins) != SQLITE_DONE) {
      fprintf(stderr, "bench_store_sqlite: insert %" PRIu64 ": %s\n", i + 1, sqlite3_errmsg(db));
      goto out;
    }
    if (sqlite3_changes(db) == 1) accepted++;
    else dups++;
    sqlite3_reset(ins);
    in_bytes += len + 1;
    if (group && (++in_group >= gn || (sb_now() - group_start) * 1000.0 >= (double)gms)) {
      if (exec(db, "COMMIT") < 0) goto out;
      in_group = 0;
    }
    if (batch && ((i + 1) % batch == 0 || i + 1 == n) && exec(db, "COMMIT") < 0) goto out;
  }
  if (group && in_group && exec(db, "COMMIT") < 0) goto out;
  double ingest_s = sb_now() - t0;
  uint64_t rss_ingest = sb_cur_rss();
  sqlite3_finalize(ins);
  ins = NULL;
  if (sqlite3_close(db) != SQLITE_OK) {
    fprintf(stderr, "bench_store_sqlite: close: %s\n", sqlite3_errmsg(db));
    goto out;
  }
  db = NULL;
  uint64_t disk = sb_dir_bytes(dir);

  /* replay: a fresh connection reads every row in insertion order */
  t0 = sb_now();
  sqlite3_stmt *sel = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "SELECT id, body FROM deltas ORDER BY rowid", -1, &sel, NULL) !=
          SQLITE_OK) {
    fprintf(stderr, "bench_store_sqlite: reopen %s: %s\n", path, db ? sqlite3_errmsg(db) : "?");
    goto out;
  }
  double open_s = sb_now() - t0;
  uint64_t replayed = 0, replay_bytes = 0;
  int rc;
  while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
    const unsigned char *data = sqlite3_column_blob(sel, 1);
    int blen = sqlite3_column_bytes(sel, 1);
    int klen = sqlite3_column_bytes(sel, 0);
    replayed++;
    replay_bytes += (uint64_t)blen + (blen > 0 ? data[blen - 1] : 0) + (uint64_t)klen;
  }
  double replay_s = sb_now() - t0;
  sqlite3_finalize(sel);
  if (rc != SQLITE_DONE) {
    fprintf(stderr, "bench_store_sqlite: replay: %s\n", sqlite3_errmsg(db));
    goto out;
  }
  if (replayed != accepted) {
    fprintf(stderr, "bench_store_sqlite: replayed %" PRIu64 " rows, accepted %" PRIu64 "\n",
            replayed, accepted);
    goto out;
  }
  printf("{\"system\":\"sqlite\",\"key\":\"%s\",\"durability\":\"%s\",\"batch\":%" PRIu64
         ",\"deltas\":%" PRIu64
         ",\"accepted\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"input_bytes\":%" PRIu64
         ",\"ingest_s\":%.4f,\"deltas_per_s\":%.0f,\"bytes_on_disk\":%" PRIu64
         ",\"bytes_per_delta\":%.1f,\"open_s\":%.4f,\"replay_s\":%.4f,"
         "\"replay_deltas_per_s\":%.0f,\"reindex_s\":null,\"rss_after_ingest_bytes\":%" PRIu64
         ",\"peak_rss_bytes\":%" PRIu64 ",\"checksum\":%" PRIu64 "}\n",
         raw ? "raw" : "canon", pol, batch, n, accepted, dups, in_bytes, ingest_s, (double)n / ingest_s,
         disk, accepted ? (double)disk / (double)accepted : 0.0, open_s, replay_s,
         (double)replayed / replay_s, rss_ingest, sb_peak_rss(), replay_bytes);
  fflush(stdout);
  status = 0;
out:
  rf__free(b.data);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  if (status == 0 && !keep && sb_rmdir(dir) < 0) status = -1;
  return status;
}

int main(int argc, char **argv) {
  uint64_t fsync_n = 20000, gn = 1000, gms = 10, batch = 0;
  const char *input = NULL, *base = "./bench-store-data", *durs = "all";
  int keep = 0, raw = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--keep") == 0) {
      keep = 1;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "bench_store_sqlite: %s needs a value (try --help)\n", a);
      return 2;
    }
    const char *v = argv[++i];
    int bad = 0;
    if (strcmp(a, "--fsync-deltas") == 0) bad = parse_u64(v, &fsync_n);
    else if (strcmp(a, "--batch") == 0) bad = parse_u64(v, &batch);
    else if (strcmp(a, "--group-n") == 0) bad = parse_u64(v, &gn) || gn == 0;
    else if (strcmp(a, "--group-ms") == 0) bad = parse_u64(v, &gms);
    else if (strcmp(a, "--input") == 0) input = v;
    else if (strcmp(a, "--dir") == 0) base = v;
    else if (strcmp(a, "--key") == 0) {
      raw = strcmp(v, "raw") == 0;
      bad = !raw && strcmp(v, "canon") != 0;
    } else if (strcmp(a, "--durability") == 0) {
      durs = v;
      bad = strcmp(v, "all") && strcmp(v, "fsync") && strcmp(v, "group") && strcmp(v, "none");
    } else {
      fprintf(stderr, "bench_store_sqlite: unknown argument '%s' (try --help)\n", a);
      return 2;
    }
    if (bad) {
      fprintf(stderr, "bench_store_sqlite: bad value '%s' for %s\n", v, a);
      return 2;
    }
  }
  if (!input) {
    fprintf(stderr, "bench_store_sqlite: --input FILE is required (bench_store --write FILE)\n");
    return 2;
  }
  sb_lines in;
  if (sb_load(input, &in) < 0) return 1;
  if (mkdir(base, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "bench_store_sqlite: cannot create %s: %s\n", base, strerror(errno));
    sb_lines_free(&in);
    return 1;
  }
  static const char *const order[3] = {"none", "group", "fsync"};
  int status = 0;
  for (int k = 0; k < 3 && !status; k++) {
    if (strcmp(durs, "all") != 0 && strcmp(durs, order[k]) != 0) continue;
    uint64_t m = in.n;
    if (k == 2 && !batch && fsync_n < m) m = fsync_n;
    if (run_policy(&in, m, order[k], gn, gms, batch, raw, base, keep) < 0) status = 1;
  }
  sb_lines_free(&in);
  return status;
}
