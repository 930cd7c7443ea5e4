/*
 * store_ingest.c: `bench_store`, the ingest benchmark of rhizoflow's durable
 * delta store (issue 5, DESIGN §8). It generates N RhizomeDB deltas (DESIGN
 * §9) deterministically as JSON Lines (store_bench_util.c gives the shape),
 * or reads them from a file, optionally writes them out (--write, so that
 * bench_store_sqlite and other systems read identical input), then for each
 * durability policy ingests them into a fresh store directory one
 * rf__deltas_add_json call per delta (parse, validate, canonicalise,
 * XXH3-128 address, index lookup, append under the policy) and reads them
 * back. One JSON line per policy on stdout:
 *   ingest: deltas/s up to the last acknowledgement (a final
 *     rf__store_sync is inside the timing), bytes on disk per stored delta;
 *   open_s: rf__store_open read-only (it verifies every checksum);
 *   replay: open_s plus reading every record back in log order;
 *   reindex_s: rf__deltas_open, which also rebuilds the address index;
 *   memory: resident set after ingest, and peak (ru_maxrss, which includes
 *     the input held in memory).
 * fsync per append is measured on the first --fsync-deltas lines only
 * (default 20,000): on this disk a 1M run would take most of an hour.
 * With --batch N the deltas go in batches of N (rf__deltas_batch_begin /
 * _commit: each batch all or nothing, as `rhizoflow ingest` appends them),
 * and the policy applies per commit (fsync: one fdatasync per batch), so
 * every delta is measured under fsync too (--fsync-deltas is ignored).
 * This is a benchmark client: plain malloc, every return checked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "store/delta.h"
#include "store/store.h"
#include "store_bench_util.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench_store [--deltas N] [--seed S] [--input FILE] [--write FILE]\n"
          "                   [--durability fsync|group|none|all] [--fsync-deltas N]\n"
          "                   [--group-n N] [--group-ms T] [--batch N] [--dir DIR] [--keep]\n"
          "\n"
          "  --deltas N        deltas to generate (default 1000000)\n"
          "  --seed S          generator seed (default 1)\n"
          "  --input FILE      read the deltas from FILE (JSON Lines) instead\n"
          "  --write FILE      write the deltas to FILE first\n"
          "  --write-only      write (with --write) and exit\n"
          "  --durability P    policy to measure (default all: none, group, fsync)\n"
          "  --fsync-deltas N  ingest only the first N deltas under fsync (default 20000)\n"
          "  --group-n N, --group-ms T  group commit (default 1000 appends or 10 ms)\n"
          "  --batch N         append in batches of N deltas, each committed whole\n"
          "                    (default 0: every delta on its own)\n"
          "  --dir DIR         where the store directories go (default ./bench-store-data)\n"
          "  --keep            keep the stores afterwards\n");
}

static int parse_u64(const char *s, uint64_t *out) {
  char *e = NULL;
  unsigned long long v = strtoull(s, &e, 10);
  if (!*s || *e || s[0] == '-') return -1;
  *out = (uint64_t)v;
  return 0;
}

static const char *policy_name(rf__durability d) {
  return d == RF_DURABILITY_FSYNC ? "fsync" : d == RF_DURABILITY_GROUP ? "group" : "none";
}

static int run_policy(const sb_lines *in, uint64_t n, rf__durability dur, uint32_t gn,
                      uint32_t gms, uint64_t batch, const char *base, int keep) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/rhizoflow-%s", base, policy_name(dur));
  if (sb_rmdir(dir) < 0) return -1;
  rf__store_policy pol = rf__store_policy_default();
  pol.durability = dur;
  pol.group_n = gn;
  pol.group_ms = gms;
  rf__deltas *ds;
  if (rf__deltas_open(dir, &pol, &ds) < 0) {
    fprintf(stderr, "bench_store: open %s: %s\n", dir, rf_last_error());
    return -1;
  }
  uint64_t accepted = 0, dups = 0, in_bytes = 0;
  double t0 = sb_now();
  for (uint64_t i = 0; i < n; i++) {
    if (batch && i % batch == 0 && rf__deltas_batch_begin(ds) < 0) {
      fprintf(stderr, "bench_store: batch: %s\n", rf_last_error());
      rf__deltas_close(ds);
      return -1;
    }
    int rc = rf__deltas_add_json(ds, in->data + in->off[i], in->len[i], NULL);
    if (rc >= 0 && batch && ((i + 1) % batch == 0 || i + 1 == n)) {
      int c = rf__deltas_batch_commit(ds, NULL);
      if (c < 0) rc = c;
    }
    if (rc == 0 || rc == 1) {
      accepted++;
    } else if (rc == RF_DELTA_DUPLICATE) {
      dups++;
    } else {
      fprintf(stderr, "bench_store: delta %" PRIu64 ": %s\n", i + 1, rf_last_error());
      rf__deltas_close(ds);
      return -1;
    }
    in_bytes += in->len[i] + 1;
  }
  if (rf__store_sync(rf__deltas_store(ds)) < 0) {
    fprintf(stderr, "bench_store: sync: %s\n", rf_last_error());
    rf__deltas_close(ds);
    return -1;
  }
  double ingest_s = sb_now() - t0;
  uint64_t rss_ingest = sb_cur_rss();
  if (rf__deltas_close(ds) < 0) {
    fprintf(stderr, "bench_store: close: %s\n", rf_last_error());
    return -1;
  }
  uint64_t disk = sb_dir_bytes(dir);

  /* replay: read-only open (checksums verified) and every record read back */
  rf__store_policy ro = rf__store_policy_default();
  ro.read_only = 1;
  t0 = sb_now();
  rf__store *st;
  if (rf__store_open(dir, &ro, &st) < 0) {
    fprintf(stderr, "bench_store: reopen %s: %s\n", dir, rf_last_error());
    return -1;
  }
  double open_s = sb_now() - t0;
  rf__store_reader *r;
  if (rf__store_reader_open(st, (rf__store_pos){0, 0}, &r) < 0) {
    fprintf(stderr, "bench_store: reader: %s\n", rf_last_error());
    rf__store_close(st);
    return -1;
  }
  rf__store_record rec;
  uint64_t replayed = 0, replay_bytes = 0;
  int rc;
  while ((rc = rf__store_reader_next(r, &rec)) == 1) {
    if (rec.type != RF_STORE_REC_DELTA) continue;
    replayed++;
    replay_bytes += rec.len + rec.data[rec.len - 1];  /* touch the payload */
  }
  double replay_s = sb_now() - t0;
  rf__store_reader_close(r);
  rf__store_close(st);
  if (rc < 0) {
    fprintf(stderr, "bench_store: replay: %s\n", rf_last_error());
    return -1;
  }
  if (replayed != accepted) {
    fprintf(stderr, "bench_store: replayed %" PRIu64 " deltas, accepted %" PRIu64 "\n", replayed,
            accepted);
    return -1;
  }
  /* reindex: what a restart costs (open, verify, rebuild the address index) */
  t0 = sb_now();
  if (rf__deltas_open(dir, &ro, &ds) < 0) {
    fprintf(stderr, "bench_store: reindex %s: %s\n", dir, rf_last_error());
    return -1;
  }
  double reindex_s = sb_now() - t0;
  uint64_t count = rf__deltas_count(ds);
  rf__deltas_close(ds);
  if (count != accepted) {
    fprintf(stderr, "bench_store: reindexed %" PRIu64 " deltas, accepted %" PRIu64 "\n", count,
            accepted);
    return -1;
  }
  printf("{\"system\":\"rhizoflow\",\"durability\":\"%s\",\"batch\":%" PRIu64 ",\"deltas\":%" PRIu64
         ",\"accepted\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"input_bytes\":%" PRIu64
         ",\"ingest_s\":%.4f,\"deltas_per_s\":%.0f,\"bytes_on_disk\":%" PRIu64
         ",\"bytes_per_delta\":%.1f,\"open_s\":%.4f,\"replay_s\":%.4f,"
         "\"replay_deltas_per_s\":%.0f,\"reindex_s\":%.4f,\"rss_after_ingest_bytes\":%" PRIu64
         ",\"peak_rss_bytes\":%" PRIu64 ",\"checksum\":%" PRIu64 "}\n",
         policy_name(dur), batch, n, accepted, dups, in_bytes, ingest_s, (double)n / ingest_s, disk,
         accepted ? (double)disk / (double)accepted : 0.0, open_s, replay_s,
         (double)replayed / replay_s, reindex_s, rss_ingest, sb_peak_rss(), replay_bytes);
  fflush(stdout);
  if (!keep && sb_rmdir(dir) < 0) return -1;
  return 0;
}

int main(int argc, char **argv) {
  uint64_t n = 1000000, seed = 1, fsync_n = 20000, gn = 1000, gms = 10, batch = 0;
  const char *input = NULL, *write = NULL, *base = "./bench-store-data", *durs = "all";
  int keep = 0, write_only = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--keep") == 0) {
      keep = 1;
      continue;
    } else if (strcmp(a, "--write-only") == 0) {
      write_only = 1;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "bench_store: %s needs a value (try --help)\n", a);
      return 2;
    }
    const char *v = argv[++i];
    int bad = 0;
    if (strcmp(a, "--deltas") == 0) bad = parse_u64(v, &n);
    else if (strcmp(a, "--seed") == 0) bad = parse_u64(v, &seed);
    else if (strcmp(a, "--fsync-deltas") == 0) bad = parse_u64(v, &fsync_n);
    else if (strcmp(a, "--batch") == 0) bad = parse_u64(v, &batch);
    else if (strcmp(a, "--group-n") == 0) bad = parse_u64(v, &gn) || gn == 0 || gn > UINT32_MAX;
    else if (strcmp(a, "--group-ms") == 0) bad = parse_u64(v, &gms) || gms > UINT32_MAX;
    else if (strcmp(a, "--input") == 0) input = v;
    else if (strcmp(a, "--write") == 0) write = v;
    else if (strcmp(a, "--dir") == 0) base = v;
    else if (strcmp(a, "--durability") == 0) {
      durs = v;
      bad = strcmp(v, "all") && strcmp(v, "fsync") && strcmp(v, "group") && strcmp(v, "none");
    } else {
      fprintf(stderr, "bench_store: unknown argument '%s' (try --help)\n", a);
      return 2;
    }
    if (bad) {
      fprintf(stderr, "bench_store: bad value '%s' for %s\n", v, a);
      return 2;
    }
  }
  if (write_only && !write) {
    fprintf(stderr, "bench_store: --write-only needs --write FILE\n");
    return 2;
  }
  sb_lines in;
  double t0 = sb_now();
  if (input ? sb_load(input, &in) < 0 : sb_generate(n, seed, &in) < 0) return 1;
  double gen_s = sb_now() - t0;
  if (write && sb_write(&in, write) < 0) {
    sb_lines_free(&in);
    return 1;
  }
  fprintf(stderr, "bench_store: %zu deltas (%zu bytes) %s in %.2f s\n", in.n, in.size,
          input ? "read" : "generated", gen_s);
  if (write_only) {
    sb_lines_free(&in);
    return 0;
  }
  if (mkdir(base, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "bench_store: cannot create %s: %s\n", base, strerror(errno));
    sb_lines_free(&in);
    return 1;
  }
  static const rf__durability order[3] = {RF_DURABILITY_NONE, RF_DURABILITY_GROUP,
                                          RF_DURABILITY_FSYNC};
  int status = 0;
  for (int k = 0; k < 3 && !status; k++) {
    if (strcmp(durs, "all") != 0 && strcmp(durs, policy_name(order[k])) != 0) continue;
    uint64_t m = in.n;
    if (order[k] == RF_DURABILITY_FSYNC && !batch && fsync_n < m) m = fsync_n;
    if (run_policy(&in, m, order[k], (uint32_t)gn, (uint32_t)gms, batch, base, keep) < 0)
      status = 1;
  }
  sb_lines_free(&in);
  return status;
}
