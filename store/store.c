/*
 * store.c: the segmented record log (store.h): opening and recovering a
 * store directory, appending framed records under a durability policy,
 * batches committed all or nothing, the group-commit flusher thread,
 * rolling segments, and reading records back in order.
 *
 * Design
 *   A store is a directory of segments 00000000.seg, 00000001.seg, ...; only
 *   the last one is appended to. A segment is a 32-byte header followed by
 *   records framed as [u32 len][u8 type][payload][u64 XXH3-64 of len, type
 *   and payload] (docs/store-format.md). A record outside a batch is written
 *   with one pwrite at the end of the last segment and published at once. A
 *   batch is BEGIN, its records, COMMIT: its frames collect in a write
 *   buffer (written out every policy.write_buffer bytes, 1 MiB by default,
 *   and at the commit), and the
 *   segment's end is published to readers only after the COMMIT record is
 *   written, so no reader ever sees part of a batch. Durability is
 *   fdatasync on the segment (and fsync of the directory when a segment or
 *   the directory is created). Recovery reads every segment once, verifying
 *   every checksum, and decides for the first bad record whether it is a
 *   torn tail (last segment, no whole record after it: truncate) or
 *   corruption (anything else: error); then an unfinished batch at the end
 *   of the last segment (a BEGIN with no COMMIT) is cut off where it began.
 *
 * Threads and the one lock (st->mu)
 *   Three kinds of thread touch a store: the writer (the thread that opened
 *   it: append, batches, sync, roll, close), readers (rf__store_reader_next
 *   on any thread) and, under the group policy only, the flusher (one
 *   thread owned by the store, started by open and joined by close). Also
 *   any thread may call rf__store_durable / rf__store_wait_durable. They
 *   share exactly the fields listed under "shared" in struct rf__store,
 *   always under st->mu, which is held only for a few loads and stores and
 *   never across a system call that may block (pwrite, fdatasync):
 *     - readers take it to read n_segs and seg_end[] (the published end);
 *     - the writer takes it to publish a new end, to count appends for the
 *       group, to swap the segment fd on a roll and to record a sync;
 *     - the flusher takes it to find a group due for syncing and to record
 *       the sync it made (it calls fdatasync with the lock released, after
 *       setting `flushing`, which keeps the writer from closing that fd);
 *     - waiters take it to compare a position with `durable`.
 *   Two condition variables go with it: flush_cv (the flusher sleeps on it
 *   until a group opens, its T ms run out, or close asks it to stop) and
 *   durable_cv (broadcast whenever `durable`, `failed` or `flushing`
 *   changes: rf__store_wait_durable and a roll waiting for the flusher's
 *   fdatasync to end sleep on it).
 *
 * Invariants
 *   - Segments 0 .. n_segs-1 all exist; seg_end[i] is the byte length of the
 *     verified, committed prefix of segment i (for the last segment, the
 *     end of the last committed record). Readers never read past seg_end.
 *   - seg_end and n_segs change only under st->mu, and only after the bytes
 *     they cover are written: a reader that sees an end sees the records.
 *   - The writer's own end (wend) is seg_end of the last segment plus the
 *     open batch's bytes; file_end + wbuf_len == wend.
 *   - durable <= the published end: every record before `durable` met the
 *     policy. synced <= appended count the appends behind them.
 */
#define _DEFAULT_SOURCE /* flock */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/alloc.h"
#include "common/error.h"
#include "store/le.h"

#define SEG_MAGIC "RFSTORE\x1a"
#define SEG_VERSION 2u /* 2: batches (BEGIN/COMMIT records); 1 still reads */
#define SEG_HEADER 32u
#define FRAME_HEAD 5u  /* u32 len + u8 type */
#define FRAME_TAIL 8u  /* u64 checksum */
#define NAME_CAP 32
#define BUF_MIN (1u << 20)
#define WBUF_MAX (1u << 20) /* default: a batch's frames are written out in pieces of this size */
#define NO_BATCH UINT64_MAX

void rf__store_segment_name(uint64_t n, char *buf, size_t cap) {
  snprintf(buf, cap, "%08" PRIu64 ".seg", n);
}

rf__store_policy rf__store_policy_default(void) {
  rf__store_policy p = {RF_DURABILITY_FSYNC, 64, 10, 64u << 20, 0, WBUF_MAX};
  return p;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- buffered positional reads of one segment file --------------------- */

/* A window [base, base+len) of a segment file, read with pread. The window
 * never extends past the limit given when it was filled, so bytes a writer
 * is still writing beyond the published end are never cached. */
typedef struct segbuf {
  int fd;
  uint8_t *buf;
  size_t cap;
  uint64_t base;
  size_t len;
} segbuf;

static void segbuf_reset(segbuf *sb, int fd) {
  sb->fd = fd;
  sb->base = 0;
  sb->len = 0;
}

/* Points *out at n bytes at offset off (off + n <= limit). 0 or RF_EIO /
 * RF_ENOMEM; a short file (shrunk behind our back) is RF_EIO. */
static int segbuf_get(segbuf *sb, uint64_t off, size_t n, uint64_t limit, const uint8_t **out,
                      const char *name) {
  if (off >= sb->base && off + n <= sb->base + sb->len) {
    *out = sb->buf + (off - sb->base);
    return 0;
  }
  size_t want = n > BUF_MIN ? n : BUF_MIN;
  if (want > limit - off) want = (size_t)(limit - off);
  if (want > sb->cap) {
    uint8_t *nb = rf__realloc(sb->buf, want);
    RF_CHECK_ALLOC(nb);
    sb->buf = nb;
    sb->cap = want;
  }
  size_t got = 0;
  while (got < want) {
    ssize_t r = pread(sb->fd, sb->buf + got, want - got, (off_t)(off + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return rf__error(RF_EIO, "store: reading %s at offset %" PRIu64 ": %s", name, off + got,
                                strerror(errno));
    if (r == 0) break;
    got += (size_t)r;
  }
  sb->base = off;
  sb->len = got;
  if (got < n)
    return rf__error(RF_EIO, "store: %s is shorter than expected (offset %" PRIu64 ")", name,
                     off + got);
  *out = sb->buf;
  return 0;
}

/* ---- frames -------------------------------------------------------------- */

enum { FRAME_OK = 0, FRAME_BAD = 1 };

typedef struct frame {
  uint8_t type;
  const uint8_t *data;
  uint32_t len;
  uint64_t next; /* offset after the frame */
  const char *why; /* FRAME_BAD: what was wrong */
} frame;

/* Parses the frame at off, reading no further than limit. FRAME_OK,
 * FRAME_BAD (f->why says why) or <0 (an I/O error). */
static int parse_frame(segbuf *sb, uint64_t off, uint64_t limit, frame *f, const char *name) {
  const uint8_t *p;
  if (limit - off < FRAME_HEAD + FRAME_TAIL) {
    f->why = "incomplete record header";
    return FRAME_BAD;
  }
  RF_FORWARD_IF_ERROR(segbuf_get(sb, off, FRAME_HEAD, limit, &p, name));
  uint32_t len = get_u32(p);
  uint8_t type = p[4];
  if (len > RF_STORE_MAX_RECORD) {
    f->why = "record length over the limit";
    return FRAME_BAD;
  }
  uint64_t total = (uint64_t)FRAME_HEAD + len + FRAME_TAIL;
  if (limit - off < total) {
    f->why = "incomplete record";
    return FRAME_BAD;
  }
  RF_FORWARD_IF_ERROR(segbuf_get(sb, off, (size_t)total, limit, &p, name));
  uint64_t want = get_u64(p + FRAME_HEAD + len);
  if (XXH3_64bits(p, FRAME_HEAD + (size_t)len) != want) {
    f->why = "checksum mismatch";
    return FRAME_BAD;
  }
  if (type == 0) {
    f->why = "record type 0";
    return FRAME_BAD;
  }
  f->type = type;
  f->data = p + FRAME_HEAD;
  f->len = len;
  f->next = off + total;
  return FRAME_OK;
}

/* ---- the store ------------------------------------------------------------ */

struct rf__store {
  char *dir;
  int dirfd;
  rf__store_policy policy;

  /* The writer's own state: only the writer thread reads or writes these
   * (fd is also read by the flusher, under mu; see roll_segment). */
  int fd;                /* the last segment, open for writing (-1 read-only) */
  uint32_t last_version; /* format version of the last segment's header */
  uint64_t wend;         /* end of the last segment, the open batch included */
  uint64_t file_end;     /* bytes of the last segment written to the file */
  uint8_t *frame;        /* scratch for one frame */
  size_t frame_cap;
  int in_batch;          /* a batch is open */
  int batch_broken;      /* an append to the open batch failed: only abort */
  uint64_t batch_start;  /* offset of the open batch's BEGIN record */
  uint32_t batch_n;      /* records in the open batch (framing excluded) */
  uint64_t batch_payload;
  uint32_t batch_by_type[256];
  uint8_t *wbuf; /* frames of the open batch not yet written; they go at file_end */
  size_t wbuf_len, wbuf_cap;
  rf__store_stats stats;
  char *note; /* recovery note or NULL */

  /* Shared, under mu (see "Threads and the one lock" above). */
  pthread_mutex_t mu;
  pthread_cond_t flush_cv;   /* the flusher waits: for a group, its deadline, or stop */
  pthread_cond_t durable_cv; /* durable, failed or flushing changed */
  uint64_t n_segs;           /* published: segments readers may open */
  uint64_t *seg_end;         /* published: committed end of each segment */
  size_t seg_end_cap;
  rf__store_pos durable;     /* records before this are acknowledged */
  uint64_t appended;         /* records published so far (this session) */
  uint64_t synced;           /* ... of which `durable` covers this many */
  uint64_t group_start_ms;   /* when the oldest unsynced append was published */
  int failed;                /* a write or fsync failed: appends refused */
  int fail_errno;
  uint64_t fail_segment;
  const char *fail_what;     /* "appending to", "syncing", ... */
  int flushing;              /* the flusher is in fdatasync(fd) right now */
  int stop;                  /* close asks the flusher to end */
  int has_flusher;
  pthread_t flusher;
};

static rf__store_pos end_pos(const rf__store *st) {
  rf__store_pos p = {st->n_segs - 1, st->seg_end[st->n_segs - 1]};
  return p;
}

static int io_error(const char *what, const char *name) {
  return rf__error(RF_EIO, "store: %s %s: %s", what, name, strerror(errno));
}

static int write_all(int fd, const uint8_t *p, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, (off_t)off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    p += w;
    n -= (size_t)w;
    off += (uint64_t)w;
  }
  return 0;
}

static void make_header(uint8_t h[SEG_HEADER], uint64_t number) {
  memset(h, 0, SEG_HEADER);
  memcpy(h, SEG_MAGIC, 8);
  put_u32(h + 8, SEG_VERSION);
  put_u32(h + 12, SEG_HEADER);
  put_u64(h + 16, number);
  put_u64(h + 24, XXH3_64bits(h, 24));
}

/* Writes one frame at dst: [len][type][payload][checksum]. Returns its size. */
static size_t put_frame(uint8_t *dst, uint8_t type, const void *bytes, size_t len) {
  put_u32(dst, (uint32_t)len);
  dst[4] = type;
  if (len) memcpy(dst + FRAME_HEAD, bytes, len);
  put_u64(dst + FRAME_HEAD + len, XXH3_64bits(dst, FRAME_HEAD + len));
  return FRAME_HEAD + len + FRAME_TAIL;
}

/* Creates segment `number` with its header (synced, and the directory
 * synced, unless policy none) and returns its fd in *fd_out. */
static int create_segment(rf__store *st, uint64_t number, int exclusive, int *fd_out) {
  char name[NAME_CAP];
  rf__store_segment_name(number, name, sizeof name);
  int fd = openat(st->dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : 0), 0644);
  if (fd < 0) return io_error("creating", name);
  uint8_t h[SEG_HEADER];
  make_header(h, number);
  const char *what = NULL;
  if (ftruncate(fd, 0) != 0 || write_all(fd, h, SEG_HEADER, 0) != 0)
    what = "writing the header of";
  else if (st->policy.durability != RF_DURABILITY_NONE && fdatasync(fd) != 0)
    what = "syncing the header of";
  else if (st->policy.durability != RF_DURABILITY_NONE && fsync(st->dirfd) != 0)
    what = "syncing the directory entry of";
  if (what) {
    int rc = rf__error(RF_EIO, "store: %s %s/%s: %s", what, st->dir, name, strerror(errno));
    close(fd);
    return rc;
  }
  *fd_out = fd;
  return 0;
}

/* fsyncs the directory that holds `dir`, so that a newly made store
 * directory survives a power loss. */
static int sync_parent(const char *dir) {
  char parent[4096];
  size_t n = strlen(dir);
  if (n >= sizeof parent)
    return rf__error(RF_EINVAL, "store: directory name too long (%zu bytes)", n);
  memcpy(parent, dir, n + 1);
  while (n > 1 && parent[n - 1] == '/') parent[--n] = 0;
  char *slash = strrchr(parent, '/');
  if (!slash)
    strcpy(parent, ".");
  else if (slash == parent)
    parent[1] = 0;
  else
    *slash = 0;
  int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return rf__error(RF_EIO, "store: opening %s to sync it: %s", parent, strerror(errno));
  int bad = fsync(fd) != 0;
  int e = errno;
  close(fd);
  if (bad)
    return rf__error(RF_EIO, "store: syncing directory %s (which holds %s): %s", parent, dir,
                     strerror(e));
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The segment numbers present in the directory, sorted. */
static int list_segments(rf__store *st, uint64_t **out, size_t *n_out) {
  int fd = dup(st->dirfd);
  if (fd < 0) return io_error("listing", st->dir);
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return io_error("listing", st->dir);
  }
  rewinddir(d);
  uint64_t *nums = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d)) != NULL) {
    const char *s = e->d_name;
    size_t l = strlen(s);
    if (l != 12 || strcmp(s + 8, ".seg") != 0) continue;
    uint64_t v = 0;
    int ok = 1;
    for (int i = 0; i < 8; i++) {
      if (s[i] < '0' || s[i] > '9') ok = 0;
      v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (!ok) continue;
    if (rf__grow((void **)&nums, &cap, n + 1, sizeof *nums) != 0) {
      rc = rf__error(RF_ENOMEM, "store: out of memory listing %s", st->dir);
      break;
    }
    nums[n++] = v;
  }
  closedir(d);
  if (rc < 0) {
    rf__free(nums);
    return rc;
  }
  if (n > 1) qsort(nums, n, sizeof *nums, cmp_u64);
  *out = nums;
  *n_out = n;
  return 0;
}

static int set_note(rf__store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_note(rf__store *st, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  rf__free(st->note);
  st->note = rf__strdup(buf);
  RF_CHECK_ALLOC(st->note);
  return 0;
}

/* Looks for a whole, valid frame starting anywhere in (off, limit). */
static int valid_frame_after(segbuf *sb, uint64_t off, uint64_t limit, const char *name,
                             uint64_t *found) {
  for (uint64_t p = off + 1; p + FRAME_HEAD + FRAME_TAIL <= limit; p++) {
    frame f;
    int rc = parse_frame(sb, p, limit, &f, name);
    if (rc < 0) return rc;
    if (rc == FRAME_OK) {
      *found = p;
      return 1;
    }
  }
  return 0;
}

/* Verifies segment i (of n) and sets seg_end[i]; the last one may have its
 * torn tail or unfinished batch truncated. */
static int recover_segment(rf__store *st, uint64_t i, uint64_t n, segbuf *sb) {
  char name[NAME_CAP];
  rf__store_segment_name(i, name, sizeof name);
  int last = i + 1 == n;
  int wr = last && !st->policy.read_only;
  int fd = openat(st->dirfd, name, (wr ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return io_error("opening", name);
  int rc = 0;
  struct stat sbuf;
  if (fstat(fd, &sbuf) != 0) {
    rc = io_error("examining", name);
    goto out;
  }
  uint64_t size = (uint64_t)sbuf.st_size;
  st->stats.bytes += size;
  segbuf_reset(sb, fd);
  if (size < SEG_HEADER) {
    if (!last) {
      rc = rf__error(RF_ECORRUPT,
                     "store: %s/%s is truncated: %" PRIu64 " bytes, shorter than its %u-byte header",
                     st->dir, name, size, SEG_HEADER);
      goto out;
    }
    /* A crash while the segment was being created: a torn tail. */
    st->stats.dropped_bytes += size;
    rc = set_note(st, "%s: torn segment header (%" PRIu64 " bytes)%s", name, size,
                  wr ? ": rewritten" : "");
    if (rc < 0) goto out;
    st->seg_end[i] = wr ? SEG_HEADER : size;
    st->last_version = SEG_VERSION;
    if (wr) {
      st->stats.bytes -= size;
      st->stats.bytes += SEG_HEADER;
      close(fd);
      fd = -1;
      rc = create_segment(st, i, 0, &st->fd);
    }
    goto out;
  }
  const uint8_t *h;
  if ((rc = segbuf_get(sb, 0, SEG_HEADER, size, &h, name)) < 0) goto out;
  if (memcmp(h, SEG_MAGIC, 8) != 0) {
    rc = rf__error(RF_ECORRUPT, "store: %s/%s at offset 0: bad magic number (not a rhizoflow segment)",
                   st->dir, name);
    goto out;
  }
  if (get_u64(h + 24) != XXH3_64bits(h, 24)) {
    rc = rf__error(RF_ECORRUPT, "store: %s/%s at offset 0: segment header checksum mismatch", st->dir,
                   name);
    goto out;
  }
  uint32_t version = get_u32(h + 8);
  if (version > SEG_VERSION) {
    rc = rf__error(RF_EVERSION,
                   "store: %s/%s has format version %u, newer than this build reads (%u): "
                   "open it with a newer rhizoflow",
                   st->dir, name, version, SEG_VERSION);
    goto out;
  }
  if (version == 0 || get_u32(h + 12) != SEG_HEADER || get_u64(h + 16) != i) {
    rc = rf__error(RF_ECORRUPT,
                   "store: %s/%s at offset 8: bad header (version %u, header length %u, "
                   "segment number %" PRIu64 ")",
                   st->dir, name, version, get_u32(h + 12), get_u64(h + 16));
    goto out;
  }
  if (last) st->last_version = version;
  uint64_t off = SEG_HEADER;
  uint64_t batch_at = NO_BATCH; /* offset of an open batch's BEGIN */
  uint32_t batch_n = 0;
  uint64_t batch_payload = 0;
  uint64_t batch_by_type[256];
  const char *why = NULL; /* the bad record that ends the segment, if any */
  while (off < size) {
    frame f;
    int r = parse_frame(sb, off, size, &f, name);
    if (r < 0) {
      rc = r;
      goto out;
    }
    if (r == FRAME_BAD) {
      if (!last) {
        rc = rf__error(RF_ECORRUPT, "store: %s/%s at offset %" PRIu64 ": %s (segment is %" PRIu64
                       " bytes; it is not the last segment)",
                       st->dir, name, off, f.why, size);
        goto out;
      }
      uint64_t later;
      r = valid_frame_after(sb, off, size, name, &later);
      if (r < 0) {
        rc = r;
        goto out;
      }
      if (r == 1) {
        rc = rf__error(RF_ECORRUPT,
                       "store: %s/%s at offset %" PRIu64 ": %s, followed by a valid record at "
                       "offset %" PRIu64,
                       st->dir, name, off, f.why, later);
        goto out;
      }
      why = f.why;
      break;
    }
    if (f.type == RF_STORE_REC_BEGIN) {
      if (batch_at != NO_BATCH || f.len != 0) {
        rc = rf__error(RF_ECORRUPT, "store: %s/%s at offset %" PRIu64 ": batch BEGIN record %s%" PRIu64 ")",
                       st->dir, name, off,
                       f.len != 0 ? "with a payload (of length " : "inside a batch (begun at offset ",
                       f.len != 0 ? (uint64_t)f.len : batch_at);
        goto out;
      }
      batch_at = off;
      batch_n = 0;
      batch_payload = 0;
      memset(batch_by_type, 0, sizeof batch_by_type);
    } else if (f.type == RF_STORE_REC_COMMIT) {
      if (batch_at == NO_BATCH) {
        rc = rf__error(RF_ECORRUPT, "store: %s/%s at offset %" PRIu64 ": batch COMMIT record with no batch open",
                       st->dir, name, off);
        goto out;
      }
      if (f.len != 4 || get_u32(f.data) != batch_n) {
        rc = rf__error(RF_ECORRUPT,
                       "store: %s/%s at offset %" PRIu64 ": batch COMMIT record counts %" PRIu32
                       " records, but the batch begun at offset %" PRIu64 " has %" PRIu32,
                       st->dir, name, off, f.len == 4 ? get_u32(f.data) : UINT32_MAX, batch_at,
                       batch_n);
        goto out;
      }
      st->stats.n_records += batch_n;
      st->stats.payload_bytes += batch_payload;
      for (int t = 0; t < 256; t++) st->stats.n_by_type[t] += batch_by_type[t];
      st->stats.n_by_type[RF_STORE_REC_BEGIN]++;
      st->stats.n_by_type[RF_STORE_REC_COMMIT]++;
      st->stats.n_batches++;
      batch_at = NO_BATCH;
    } else if (batch_at != NO_BATCH) {
      batch_n++;
      batch_payload += f.len;
      batch_by_type[f.type]++;
    } else {
      st->stats.n_records++;
      st->stats.payload_bytes += f.len;
      st->stats.n_by_type[f.type]++;
    }
    off = f.next;
  }
  uint64_t keep = off; /* the end of the whole, committed records */
  if (batch_at != NO_BATCH) {
    if (!last) {
      rc = rf__error(RF_ECORRUPT,
                     "store: %s/%s at offset %" PRIu64 ": unfinished batch (BEGIN with no COMMIT) "
                     "in a segment that is not the last",
                     st->dir, name, batch_at);
      goto out;
    }
    keep = batch_at;
  }
  if (keep < size) {
    uint64_t dropped = size - keep;
    st->stats.dropped_bytes += dropped;
    if (wr) {
      if (ftruncate(fd, (off_t)keep) != 0 || fdatasync(fd) != 0) {
        rc = io_error("truncating", name);
        goto out;
      }
      st->stats.bytes -= dropped;
    }
    char tail[160] = "", batch[160] = "";
    if (why)
      snprintf(tail, sizeof tail, "%s tail at offset %" PRIu64 " (%s)",
               why[0] == 'i' ? "torn" : "corrupt", off, why);
    if (batch_at != NO_BATCH)
      snprintf(batch, sizeof batch, "unfinished batch at offset %" PRIu64 " (%" PRIu32
               " whole record%s, no COMMIT record)",
               batch_at, batch_n, batch_n == 1 ? "" : "s");
    rc = set_note(st, "%s: %s%s%s: %s %" PRIu64 " bytes", name, tail,
                  why && batch[0] ? " inside an " : "", batch,
                  wr ? "truncated, dropped" : "a writer would drop", dropped);
    if (rc < 0) goto out;
  }
  st->seg_end[i] = keep;
  if (wr) {
    st->fd = fd;
    fd = -1;
  }
out:
  if (fd >= 0) close(fd);
  return rc;
}

static void store_free(rf__store *st) {
  if (st->fd >= 0) close(st->fd);
  if (st->dirfd >= 0) close(st->dirfd);
  pthread_mutex_destroy(&st->mu);
  pthread_cond_destroy(&st->flush_cv);
  pthread_cond_destroy(&st->durable_cv);
  rf__free(st->dir);
  rf__free(st->seg_end);
  rf__free(st->frame);
  rf__free(st->wbuf);
  rf__free(st->note);
  rf__free(st);
}

/* ---- failures and durability --------------------------------------------- */

/* Records that a write or sync failed (mu held): appends are refused from
 * now on and waiters wake. */
static void mark_failed_locked(rf__store *st, const char *what, int err) {
  if (!st->failed) {
    st->failed = 1;
    st->fail_errno = err;
    st->fail_what = what;
    st->fail_segment = st->n_segs - 1;
  }
  pthread_cond_broadcast(&st->durable_cv);
}

/* The writer's side of a failed system call: marks the store failed and
 * returns RF_EIO naming the segment. */
static int fail(rf__store *st, const char *what) {
  int e = errno;
  pthread_mutex_lock(&st->mu);
  mark_failed_locked(st, what, e);
  pthread_mutex_unlock(&st->mu);
  char name[NAME_CAP];
  rf__store_segment_name(st->n_segs - 1, name, sizeof name);
  return rf__error(RF_EIO, "store: %s %s/%s: %s", what, st->dir, name, strerror(e));
}

/* RF_EIO naming the earlier failure (mu held, st->failed set). */
static int failed_error_locked(const rf__store *st, const char *fn) {
  char name[NAME_CAP];
  rf__store_segment_name(st->fail_segment, name, sizeof name);
  return rf__error(RF_EIO, "%s: an earlier failure (%s %s/%s: %s) stopped the store; reopen it", fn,
                   st->fail_what, st->dir, name, strerror(st->fail_errno));
}

static int check_failed(rf__store *st, const char *fn) {
  pthread_mutex_lock(&st->mu);
  int rc = st->failed ? failed_error_locked(st, fn) : 0;
  pthread_mutex_unlock(&st->mu);
  return rc;
}

/* Records (mu held) that everything up to `target`, the first `n` appends,
 * is on disk, and wakes the waiters. Two syncs may finish out of order
 * (the writer's and the flusher's): only ever move forward. */
static void advance_durable_locked(rf__store *st, rf__store_pos target, uint64_t n) {
  if (rf__store_pos_cmp(target, st->durable) > 0) st->durable = target;
  if (n > st->synced) st->synced = n;
  /* appends published while the sync ran start the next group now */
  if (st->appended > st->synced) st->group_start_ms = now_ms();
  pthread_cond_broadcast(&st->durable_cv);
}

/* The writer syncs every published record now. 0 or RF_EIO. */
static int sync_now(rf__store *st) {
  pthread_mutex_lock(&st->mu);
  if (st->failed) {
    int rc = failed_error_locked(st, "rf__store_sync");
    pthread_mutex_unlock(&st->mu);
    return rc;
  }
  rf__store_pos target = end_pos(st);
  uint64_t n = st->appended;
  pthread_mutex_unlock(&st->mu);
  /* The writer owns fd: no roll can close it while this runs. */
  if (st->policy.durability != RF_DURABILITY_NONE && fdatasync(st->fd) != 0)
    return fail(st, "syncing");
  pthread_mutex_lock(&st->mu);
  advance_durable_locked(st, target, n);
  pthread_mutex_unlock(&st->mu);
  return 0;
}

/* Publishes a new end of the last segment (n more records readers may
 * see) and applies the policy: 0 acknowledged, 1 pending (group), <0. */
static int publish(rf__store *st, uint64_t end, uint64_t n) {
  int group = st->policy.durability == RF_DURABILITY_GROUP;
  uint64_t t = group ? now_ms() : 0;
  int sync = 0;
  pthread_mutex_lock(&st->mu);
  st->seg_end[st->n_segs - 1] = end;
  switch (st->policy.durability) {
  case RF_DURABILITY_NONE:
    st->appended += n;
    st->synced = st->appended;
    st->durable = end_pos(st);
    break;
  case RF_DURABILITY_FSYNC:
    st->appended += n;
    sync = 1;
    break;
  case RF_DURABILITY_GROUP:
  default:
    if (st->appended == st->synced) {
      st->group_start_ms = t; /* a new group: the flusher's clock starts */
      pthread_cond_signal(&st->flush_cv);
    }
    st->appended += n;
    /* (t was read before the lock: the flusher may have moved the group's
     * start past it since) */
    sync = st->appended - st->synced >= st->policy.group_n ||
           (t >= st->group_start_ms && t - st->group_start_ms >= st->policy.group_ms);
    break;
  }
  pthread_mutex_unlock(&st->mu);
  if (sync) return sync_now(st);
  return group ? 1 : 0;
}

/* The flusher thread (group policy): syncs a group T ms after its first
 * append, whether or not more appends come. It holds mu except while it
 * waits on flush_cv and while in fdatasync; `flushing` tells the writer not
 * to close that fd meanwhile. */
static void *flusher_main(void *arg) {
  rf__store *st = arg;
  pthread_mutex_lock(&st->mu);
  while (!st->stop) {
    if (st->appended == st->synced || st->failed) {
      pthread_cond_wait(&st->flush_cv, &st->mu);
      continue;
    }
    uint64_t due = st->group_start_ms + st->policy.group_ms, now = now_ms();
    if (now < due) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      uint64_t ns = (uint64_t)ts.tv_nsec + (due - now) * 1000000u;
      ts.tv_sec += (time_t)(ns / 1000000000u);
      ts.tv_nsec = (long)(ns % 1000000000u);
      pthread_cond_timedwait(&st->flush_cv, &st->mu, &ts);
      continue;
    }
    rf__store_pos target = end_pos(st);
    uint64_t n = st->appended;
    int fd = st->fd;
    st->flushing = 1;
    pthread_mutex_unlock(&st->mu);
    int bad = fdatasync(fd) != 0;
    int e = errno;
    pthread_mutex_lock(&st->mu);
    st->flushing = 0;
    if (bad)
      mark_failed_locked(st, "syncing (group commit flusher)", e);
    else
      advance_durable_locked(st, target, n); /* broadcasts durable_cv */
    pthread_cond_broadcast(&st->durable_cv);
  }
  pthread_mutex_unlock(&st->mu);
  return NULL;
}

static void stop_flusher(rf__store *st) {
  if (!st->has_flusher) return;
  pthread_mutex_lock(&st->mu);
  st->stop = 1;
  pthread_cond_signal(&st->flush_cv);
  pthread_mutex_unlock(&st->mu);
  pthread_join(st->flusher, NULL);
  st->has_flusher = 0;
}

/* ---- open ------------------------------------------------------------------ */

static int init_sync(rf__store *st) {
  pthread_condattr_t ca;
  if (pthread_mutex_init(&st->mu, NULL) != 0) return -1;
  if (pthread_condattr_init(&ca) != 0) return -1;
  int bad = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
            pthread_cond_init(&st->flush_cv, &ca) != 0 ||
            pthread_cond_init(&st->durable_cv, NULL) != 0;
  pthread_condattr_destroy(&ca);
  return bad ? -1 : 0;
}

int rf__store_open(const char *dir, const rf__store_policy *policy, rf__store **out) {
  RF_RETURN_ERROR_IF(!dir || !*dir || !out, RF_EINVAL, "rf__store_open: no directory given");
  rf__store_policy pol = policy ? *policy : rf__store_policy_default();
  RF_RETURN_ERROR_IF(pol.durability > RF_DURABILITY_NONE, RF_EINVAL,
                     "rf__store_open: unknown durability policy %d", (int)pol.durability);
  if (pol.group_n == 0) pol.group_n = 1;
  if (pol.segment_size < SEG_HEADER + 1) pol.segment_size = SEG_HEADER + 1;
  if (pol.write_buffer == 0) pol.write_buffer = WBUF_MAX;
  rf__store *st = rf__calloc(1, sizeof *st);
  RF_CHECK_ALLOC(st);
  st->fd = -1;
  st->dirfd = -1;
  st->policy = pol;
  if (init_sync(st) != 0) {
    rf__free(st);
    return rf__error(RF_ENOMEM, "rf__store_open: cannot initialise a mutex or condition variable");
  }
  int rc = 0;
  segbuf sb = {-1, NULL, 0, 0, 0};
  uint64_t *nums = NULL;
  size_t n = 0;
  st->dir = rf__strdup(dir);
  if (!st->dir) {
    rc = rf__error(RF_ENOMEM, "rf__store_open: out of memory");
    goto fail;
  }
  if (!pol.read_only && mkdir(dir, 0755) != 0 && errno != EEXIST) {
    rc = io_error("creating directory", dir);
    goto fail;
  }
  st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (st->dirfd < 0) {
    rc = errno == ENOENT ? rf__error(RF_ENOTFOUND, "store: no store at %s", dir)
                         : io_error("opening directory", dir);
    goto fail;
  }
  if (!pol.read_only && flock(st->dirfd, LOCK_EX | LOCK_NB) != 0) {
    rc = errno == EWOULDBLOCK
             ? rf__error(RF_EIO, "store: %s is open for writing by another writer (process or handle)", dir)
             : io_error("locking", dir);
    goto fail;
  }
  if ((rc = list_segments(st, &nums, &n)) < 0) goto fail;
  for (size_t i = 0; i < n; i++) {
    if (nums[i] != i) {
      char want[NAME_CAP], have[NAME_CAP];
      rf__store_segment_name(i, want, sizeof want);
      rf__store_segment_name(nums[i], have, sizeof have);
      rc = rf__error(RF_ECORRUPT, "store: %s/%s is missing (the sequence jumps to %s)", dir, want,
                     have);
      goto fail;
    }
  }
  if (n == 0) {
    if (pol.read_only) {
      rc = rf__error(RF_ENOTFOUND, "store: %s holds no segments", dir);
      goto fail;
    }
    if ((rc = rf__grow((void **)&st->seg_end, &st->seg_end_cap, 1, sizeof *st->seg_end)) < 0) {
      rc = rf__error(RF_ENOMEM, "rf__store_open: out of memory");
      goto fail;
    }
    /* A new store: the directory's own entry must be durable too (also
     * when the directory was there, empty: made by a run that died before
     * its first segment). */
    if (pol.durability != RF_DURABILITY_NONE && (rc = sync_parent(dir)) < 0) goto fail;
    if ((rc = create_segment(st, 0, 1, &st->fd)) < 0) goto fail;
    st->seg_end[0] = SEG_HEADER;
    st->n_segs = 1;
    st->stats.bytes = SEG_HEADER;
    st->last_version = SEG_VERSION;
  } else {
    if (rf__grow((void **)&st->seg_end, &st->seg_end_cap, n, sizeof *st->seg_end) < 0) {
      rc = rf__error(RF_ENOMEM, "rf__store_open: out of memory");
      goto fail;
    }
    for (size_t i = 0; i < n; i++)
      if ((rc = recover_segment(st, i, n, &sb)) < 0) goto fail;
    st->n_segs = n;
  }
  st->stats.n_segments = st->n_segs;
  st->durable = end_pos(st);
  st->wend = st->file_end = st->seg_end[st->n_segs - 1];
  if (pol.durability == RF_DURABILITY_GROUP && !pol.read_only) {
    int e = pthread_create(&st->flusher, NULL, flusher_main, st);
    if (e != 0) {
      rc = rf__error(e == EAGAIN ? RF_ENOMEM : RF_EIO,
                     "rf__store_open: cannot start the group commit flusher thread: %s", strerror(e));
      goto fail;
    }
    st->has_flusher = 1;
  }
  rf__free(nums);
  rf__free(sb.buf);
  *out = st;
  return 0;
fail:
  rf__free(nums);
  rf__free(sb.buf);
  store_free(st);
  return rc;
}

/* ---- appends, batches ------------------------------------------------------- */

/* Starts the next segment: syncs the current one (unless policy none),
 * creates the next and swaps the write fd once the flusher is out of
 * fdatasync on the old one. */
static int roll_segment(rf__store *st) {
  if (st->policy.durability != RF_DURABILITY_NONE) RF_FORWARD_IF_ERROR(sync_now(st));
  pthread_mutex_lock(&st->mu); /* readers index seg_end: it may move */
  int grown = rf__grow((void **)&st->seg_end, &st->seg_end_cap, st->n_segs + 1,
                       sizeof *st->seg_end);
  pthread_mutex_unlock(&st->mu);
  RF_RETURN_ERROR_IF(grown < 0, RF_ENOMEM, "rf__store_append: out of memory");
  int fd;
  int rc = create_segment(st, st->n_segs, 1, &fd);
  if (rc < 0) {
    pthread_mutex_lock(&st->mu);
    mark_failed_locked(st, "creating the next segment after", errno);
    pthread_mutex_unlock(&st->mu);
    return rc;
  }
  pthread_mutex_lock(&st->mu);
  while (st->flushing) pthread_cond_wait(&st->durable_cv, &st->mu);
  int old = st->fd;
  st->fd = fd;
  st->seg_end[st->n_segs] = SEG_HEADER;
  st->n_segs++;
  pthread_mutex_unlock(&st->mu);
  if (old >= 0) close(old);
  st->wend = st->file_end = SEG_HEADER;
  st->last_version = SEG_VERSION;
  st->stats.n_segments = st->n_segs;
  st->stats.bytes += SEG_HEADER;
  return 0;
}

/* Rolls before writing `total` more bytes if the segment is full, or if it
 * is of an older format version (none of whose segments may hold batch
 * records: a new segment of the current version takes every append). */
static int maybe_roll(rf__store *st, uint64_t total) {
  if (st->last_version < SEG_VERSION ||
      (st->wend > SEG_HEADER && st->wend + total > st->policy.segment_size))
    return roll_segment(st);
  return 0;
}

static int check_append(rf__store *st, const char *fn, uint8_t type, size_t len) {
  RF_RETURN_ERROR_IF(st->policy.read_only, RF_ESTATE, "%s: %s is open read-only", fn, st->dir);
  RF_RETURN_ERROR_IF(type == 0, RF_EINVAL, "%s: record type 0 is reserved", fn);
  RF_RETURN_ERROR_IF(rf__store_type_is_framing(type), RF_EINVAL,
                     "%s: record type %u is batch framing, written by the batch functions only", fn,
                     type);
  RF_RETURN_ERROR_IF(len > RF_STORE_MAX_RECORD, RF_EINVAL,
                     "%s: record of %zu bytes is over the %u-byte limit", fn, len,
                     RF_STORE_MAX_RECORD);
  return check_failed(st, fn);
}

/* Writes the open batch's buffered frames at file_end. */
static int batch_flush(rf__store *st) {
  if (!st->wbuf_len) return 0;
  if (write_all(st->fd, st->wbuf, st->wbuf_len, st->file_end) != 0) return fail(st, "appending to");
  st->file_end += st->wbuf_len;
  st->wbuf_len = 0;
  return 0;
}

/* Adds one frame to the open batch (buffered; a frame bigger than the
 * buffer is written directly). */
static int batch_put(rf__store *st, uint8_t type, const void *bytes, size_t len) {
  size_t total = FRAME_HEAD + len + FRAME_TAIL;
  size_t max = st->policy.write_buffer;
  if (st->wbuf_len && st->wbuf_len + total > max) RF_FORWARD_IF_ERROR(batch_flush(st));
  if (total > max) {
    if (rf__grow((void **)&st->frame, &st->frame_cap, total, 1) < 0)
      return rf__error(RF_ENOMEM, "rf__store_append: out of memory");
    put_frame(st->frame, type, bytes, len);
    if (write_all(st->fd, st->frame, total, st->file_end) != 0) return fail(st, "appending to");
    st->file_end += total;
  } else {
    if (rf__grow((void **)&st->wbuf, &st->wbuf_cap, st->wbuf_len + total, 1) < 0)
      return rf__error(RF_ENOMEM, "rf__store_append: out of memory");
    st->wbuf_len += put_frame(st->wbuf + st->wbuf_len, type, bytes, len);
  }
  st->wend += total;
  return 0;
}

static int batch_add(rf__store *st, uint8_t type, const void *bytes, size_t len,
                     rf__store_pos *pos) {
  size_t total = FRAME_HEAD + len + FRAME_TAIL;
  int rc = 0;
  if (st->batch_n == 0) {
    /* The batch's first record: the BEGIN goes with it, after a roll if
     * the segment is full (a batch never spans segments). */
    rc = maybe_roll(st, FRAME_HEAD + FRAME_TAIL + total);
    if (rc == 0) {
      st->batch_start = st->wend;
      rc = batch_put(st, RF_STORE_REC_BEGIN, NULL, 0);
    }
  }
  uint64_t at = st->wend;
  if (rc == 0) rc = batch_put(st, type, bytes, len);
  if (rc < 0) {
    st->batch_broken = 1;
    return rc;
  }
  st->batch_n++;
  st->batch_payload += len;
  st->batch_by_type[type]++;
  if (pos) {
    pos->segment = st->n_segs - 1;
    pos->offset = at;
  }
  return 1;
}

int rf__store_append(rf__store *st, uint8_t type, const void *bytes, size_t len,
                     rf__store_pos *pos) {
  RF_FORWARD_IF_ERROR(check_append(st, "rf__store_append", type, len));
  if (st->in_batch) return batch_add(st, type, bytes, len, pos);
  size_t total = FRAME_HEAD + len + FRAME_TAIL;
  RF_FORWARD_IF_ERROR(maybe_roll(st, total));
  if (rf__grow((void **)&st->frame, &st->frame_cap, total, 1) < 0)
    return rf__error(RF_ENOMEM, "rf__store_append: out of memory");
  put_frame(st->frame, type, bytes, len);
  uint64_t end = st->wend;
  if (write_all(st->fd, st->frame, total, end) != 0) return fail(st, "appending to");
  st->wend = st->file_end = end + total;
  st->stats.n_records++;
  st->stats.bytes += total;
  st->stats.payload_bytes += len;
  st->stats.n_by_type[type]++;
  if (pos) {
    pos->segment = st->n_segs - 1;
    pos->offset = end;
  }
  /* Publish the new end only now that the bytes are written. */
  return publish(st, st->wend, 1);
}

int rf__store_batch_begin(rf__store *st) {
  RF_RETURN_ERROR_IF(st->policy.read_only, RF_ESTATE, "rf__store_batch_begin: %s is open read-only",
                     st->dir);
  RF_RETURN_ERROR_IF(st->in_batch, RF_ESTATE, "rf__store_batch_begin: a batch is open already");
  RF_FORWARD_IF_ERROR(check_failed(st, "rf__store_batch_begin"));
  st->in_batch = 1;
  st->batch_broken = 0;
  st->batch_n = 0;
  st->batch_payload = 0;
  memset(st->batch_by_type, 0, sizeof st->batch_by_type);
  st->wbuf_len = 0;
  return 0;
}

int rf__store_in_batch(const rf__store *st) { return st->in_batch; }

int rf__store_batch_commit(rf__store *st, rf__store_pos *pos) {
  RF_RETURN_ERROR_IF(!st->in_batch, RF_ESTATE, "rf__store_batch_commit: no batch is open");
  RF_RETURN_ERROR_IF(st->batch_broken, RF_ESTATE,
                     "rf__store_batch_commit: an append to this batch failed; abort it");
  RF_FORWARD_IF_ERROR(check_failed(st, "rf__store_batch_commit"));
  if (st->batch_n == 0) {
    st->in_batch = 0;
    if (pos) {
      pos->segment = st->n_segs - 1;
      pos->offset = st->wend;
    }
    return 0;
  }
  uint8_t count[4];
  put_u32(count, st->batch_n);
  uint64_t at = st->wend;
  int rc = batch_put(st, RF_STORE_REC_COMMIT, count, sizeof count);
  if (rc == 0) rc = batch_flush(st);
  if (rc < 0) {
    st->batch_broken = 1;
    return rc;
  }
  st->in_batch = 0;
  st->stats.n_records += st->batch_n;
  st->stats.n_batches++;
  st->stats.bytes += st->wend - st->batch_start;
  st->stats.payload_bytes += st->batch_payload;
  for (int t = 0; t < 256; t++) st->stats.n_by_type[t] += st->batch_by_type[t];
  st->stats.n_by_type[RF_STORE_REC_BEGIN]++;
  st->stats.n_by_type[RF_STORE_REC_COMMIT]++;
  if (pos) {
    pos->segment = st->n_segs - 1;
    pos->offset = at;
  }
  /* The COMMIT record is written: now readers may see the whole batch. */
  return publish(st, st->wend, st->batch_n);
}

int rf__store_batch_abort(rf__store *st) {
  if (!st->in_batch) return 0;
  st->in_batch = 0;
  st->batch_broken = 0;
  st->wbuf_len = 0;
  if (st->batch_n == 0) return 0;
  uint64_t keep = st->batch_start;
  st->wend = keep;
  if (st->file_end > keep) {
    /* Cut the written part off, so that no stale frame lies past the end
     * (recovery would take a whole frame there for damage before the tail). */
    if (ftruncate(st->fd, (off_t)keep) != 0) return fail(st, "truncating an aborted batch off");
    st->file_end = keep;
  }
  return 0;
}

int rf__store_sync(rf__store *st) {
  if (st->policy.read_only) return 0;
  return sync_now(st);
}

int rf__store_durable(const rf__store *st, rf__store_pos pos) {
  /* The mutex is not part of the store's value: locking it through a const
   * handle is fine. */
  pthread_mutex_t *mu = (pthread_mutex_t *)&st->mu;
  pthread_mutex_lock(mu);
  int d = rf__store_pos_cmp(pos, st->durable) < 0;
  pthread_mutex_unlock(mu);
  return d;
}

int rf__store_wait_durable(rf__store *st, rf__store_pos pos) {
  int rc = 0;
  pthread_mutex_lock(&st->mu);
  if (rf__store_pos_cmp(pos, end_pos(st)) >= 0) {
    char name[NAME_CAP];
    rf__store_segment_name(pos.segment, name, sizeof name);
    rc = rf__error(RF_EINVAL,
                   "rf__store_wait_durable: no committed record at %s offset %" PRIu64
                   " (not appended yet, or in a batch not committed)",
                   name, pos.offset);
  } else {
    while (rf__store_pos_cmp(pos, st->durable) >= 0 && !st->failed)
      pthread_cond_wait(&st->durable_cv, &st->mu);
    if (rf__store_pos_cmp(pos, st->durable) >= 0) rc = failed_error_locked(st, "rf__store_wait_durable");
  }
  pthread_mutex_unlock(&st->mu);
  return rc;
}

int rf__store_close(rf__store *st) {
  if (!st) return 0;
  stop_flusher(st);
  int rc = 0;
  if (!st->policy.read_only) {
    rc = check_failed(st, "rf__store_close");
    if (rc == 0) rc = rf__store_batch_abort(st);
    if (rc == 0 && st->policy.durability != RF_DURABILITY_NONE) rc = sync_now(st);
  }
  store_free(st);
  return rc;
}

const char *rf__store_recovery_note(const rf__store *st) { return st->note; }

void rf__store_get_stats(const rf__store *st, rf__store_stats *out) { *out = st->stats; }

/* ---- readers ------------------------------------------------------------ */

struct rf__store_reader {
  rf__store *st;
  uint64_t seg; /* current segment */
  uint64_t off; /* next frame offset in it */
  rf__store_pos until; /* stop before this position */
  segbuf sb;    /* fd -1 until the segment is opened */
  char name[NAME_CAP];
};

int rf__store_reader_open(rf__store *st, rf__store_pos from, rf__store_reader **out) {
  rf__store_reader *r = rf__calloc(1, sizeof *r);
  RF_CHECK_ALLOC(r);
  r->st = st;
  r->seg = from.segment;
  r->off = from.offset < SEG_HEADER ? SEG_HEADER : from.offset;
  r->sb.fd = -1;
  r->until.segment = UINT64_MAX;
  *out = r;
  return 0;
}

/* Read-only handles only, under mu: takes in what another process (the
 * writer) appended since the last look, so that readers can tail a store
 * that this process only reads. Whole records up to the last COMMIT (or
 * whole record outside a batch) count; a record still being written, or
 * a batch not yet committed, is left for a later look. A segment is final
 * once its successor exists (the writer rolls only after a whole batch),
 * so that is checked before the segment is scanned. */
static int refresh_read_only(rf__store *st) {
  for (;;) {
    uint64_t i = st->n_segs - 1;
    char name[NAME_CAP], next[NAME_CAP];
    rf__store_segment_name(i, name, sizeof name);
    rf__store_segment_name(i + 1, next, sizeof next);
    struct stat ns;
    int rolled = fstatat(st->dirfd, next, &ns, 0) == 0 && (uint64_t)ns.st_size >= SEG_HEADER;
    int fd = openat(st->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error("opening", name);
    struct stat sbuf;
    if (fstat(fd, &sbuf) != 0) {
      close(fd);
      return io_error("examining", name);
    }
    uint64_t size = (uint64_t)sbuf.st_size, off = st->seg_end[i], keep = off;
    uint64_t batch_at = NO_BATCH;
    segbuf sb = {0};
    segbuf_reset(&sb, fd);
    int rc = 0;
    while (off < size) {
      frame f;
      rc = parse_frame(&sb, off, size, &f, name);
      if (rc < 0 || rc == FRAME_BAD) break;
      if (f.type == RF_STORE_REC_BEGIN) {
        batch_at = off;
      } else if (f.type == RF_STORE_REC_COMMIT) {
        batch_at = NO_BATCH;
        keep = f.next;
      } else if (batch_at == NO_BATCH) {
        keep = f.next;
      }
      off = f.next;
    }
    close(fd);
    rf__free(sb.buf);
    if (rc < 0) return rc;
    st->seg_end[i] = keep;
    if (!rolled) return 0;
    size_t cap = st->seg_end_cap;
    RF_FORWARD_IF_ERROR(rf__grow((void **)&st->seg_end, &cap, i + 2, sizeof *st->seg_end));
    st->seg_end_cap = cap;
    st->seg_end[i + 1] = SEG_HEADER;
    st->n_segs = i + 2;
  }
}

int rf__store_reader_next(rf__store_reader *r, rf__store_record *rec) {
  for (;;) {
    rf__store_pos here = {r->seg, r->off};
    if (rf__store_pos_cmp(here, r->until) >= 0) return 0;
    pthread_mutex_lock(&r->st->mu);
    uint64_t n_segs = r->st->n_segs;
    uint64_t limit = r->seg < n_segs ? r->st->seg_end[r->seg] : 0;
    /* At the end of what this handle knows: a read-only handle looks again
     * for what another process has appended meanwhile. */
    if (r->st->policy.read_only && r->seg + 1 >= n_segs && r->off >= limit) {
      int rc = refresh_read_only(r->st);
      if (rc < 0) {
        pthread_mutex_unlock(&r->st->mu);
        return rc;
      }
      n_segs = r->st->n_segs;
      limit = r->seg < n_segs ? r->st->seg_end[r->seg] : 0;
    }
    pthread_mutex_unlock(&r->st->mu);
    if (r->seg >= n_segs) return 0;
    if (r->off >= limit) {
      if (r->seg + 1 >= n_segs) return 0;
      if (r->sb.fd >= 0) close(r->sb.fd);
      r->sb.fd = -1;
      r->seg++;
      r->off = SEG_HEADER;
      continue;
    }
    if (r->sb.fd < 0) {
      rf__store_segment_name(r->seg, r->name, sizeof r->name);
      int fd = openat(r->st->dirfd, r->name, O_RDONLY | O_CLOEXEC);
      if (fd < 0) return io_error("opening", r->name);
      segbuf_reset(&r->sb, fd);
    }
    frame f;
    int rc = parse_frame(&r->sb, r->off, limit, &f, r->name);
    if (rc < 0) return rc;
    if (rc == FRAME_BAD)
      return rf__error(RF_ECORRUPT, "store: %s/%s at offset %" PRIu64 ": %s", r->st->dir, r->name,
                       r->off, f.why);
    uint64_t at = r->off;
    r->off = f.next;
    if (rf__store_type_is_framing(f.type)) continue; /* BEGIN, COMMIT: not data */
    rec->type = f.type;
    rec->data = f.data;
    rec->len = f.len;
    rec->pos.segment = r->seg;
    rec->pos.offset = at;
    return 1;
  }
}

void rf__store_reader_set_until(rf__store_reader *r, rf__store_pos until) { r->until = until; }

rf__store_pos rf__store_reader_position(const rf__store_reader *r) {
  rf__store_pos p = {r->seg, r->off};
  return p;
}

void rf__store_reader_close(rf__store_reader *r) {
  if (!r) return;
  if (r->sb.fd >= 0) close(r->sb.fd);
  rf__free(r->sb.buf);
  rf__free(r);
}
