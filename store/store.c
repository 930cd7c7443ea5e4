/*
 * store.c: the segmented record log (store.h): opening and recovering a
 * store directory, appending framed records under a durability policy,
 * rolling segments, and reading records back in order.
 *
 * Design
 *   A store is a directory of segments 00000000.seg, 00000001.seg, ...; only
 *   the last one is appended to. A segment is a 32-byte header followed by
 *   records framed as [u32 len][u8 type][payload][u64 XXH3-64 of len, type
 *   and payload] (docs/store-format.md). Records are written with pwrite at
 *   the known end of the last segment; durability is fdatasync on the
 *   segment (and fsync of the directory when a segment is created).
 *   Recovery reads every segment once, verifying every checksum, and decides
 *   for the first bad record whether it is a torn tail (last segment, no
 *   whole record after it: truncate) or corruption (anything else: error).
 *
 * Invariants
 *   - Segments 0 .. n_segs-1 all exist; seg_end[i] is the byte length of the
 *     verified, whole-record prefix of segment i (for the last segment, the
 *     end of the last appended record). Readers never read past seg_end.
 *   - seg_end and n_segs change only under st->mu, and only after the bytes
 *     they cover are written: a reader that sees an end sees the records.
 *   - durable <= end: every record before `durable` met the policy.
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

#define SEG_MAGIC "RFSTORE\x1a"
#define SEG_VERSION 1u
#define SEG_HEADER 32u
#define FRAME_HEAD 5u  /* u32 len + u8 type */
#define FRAME_TAIL 8u  /* u64 checksum */
#define NAME_CAP 32
#define BUF_MIN (1u << 20)

/* ---- little-endian helpers ------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

void rf__store_segment_name(uint64_t n, char *buf, size_t cap) {
  snprintf(buf, cap, "%08" PRIu64 ".seg", n);
}

rf__store_policy rf__store_policy_default(void) {
  rf__store_policy p = {RF_DURABILITY_FSYNC, 64, 10, 64u << 20, 0};
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
  pthread_mutex_t mu; /* guards n_segs, seg_end (readers on other threads) */
  uint64_t n_segs;
  uint64_t *seg_end;
  size_t seg_end_cap;
  int fd;          /* the last segment, open for writing (-1 read-only) */
  int failed;      /* a write or fsync failed: appends refused */
  uint8_t *frame;  /* scratch for one frame */
  size_t frame_cap;
  uint32_t group_pending; /* appends in the open group */
  uint64_t group_start_ms;
  rf__store_pos durable; /* records before this are acknowledged */
  rf__store_stats stats;
  char *note; /* recovery note or NULL */
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

/* Creates segment `number` with its header; it becomes the write fd. */
static int create_segment(rf__store *st, uint64_t number, int exclusive) {
  char name[NAME_CAP];
  rf__store_segment_name(number, name, sizeof name);
  int fd = openat(st->dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : 0), 0644);
  if (fd < 0) return io_error("creating", name);
  uint8_t h[SEG_HEADER];
  make_header(h, number);
  int bad = ftruncate(fd, 0) != 0 || write_all(fd, h, SEG_HEADER, 0) != 0;
  if (!bad && st->policy.durability != RF_DURABILITY_NONE)
    bad = fdatasync(fd) != 0 || fsync(st->dirfd) != 0;
  if (bad) {
    int rc = io_error("writing the header of", name);
    close(fd);
    return rc;
  }
  if (st->fd >= 0) close(st->fd);
  st->fd = fd;
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
 * torn tail truncated. */
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
    if (wr) {
      st->stats.bytes -= size;
      st->stats.bytes += SEG_HEADER;
      close(fd);
      fd = -1;
      rc = create_segment(st, i, 0);
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
  uint64_t off = SEG_HEADER;
  while (off < size) {
    frame f;
    int r = parse_frame(sb, off, size, &f, name);
    if (r < 0) {
      rc = r;
      goto out;
    }
    if (r == FRAME_OK) {
      st->stats.n_records++;
      st->stats.payload_bytes += f.len;
      st->stats.n_by_type[f.type]++;
      off = f.next;
      continue;
    }
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
    uint64_t dropped = size - off;
    st->stats.dropped_bytes += dropped;
    if (wr) {
      if (ftruncate(fd, (off_t)off) != 0 || fdatasync(fd) != 0) {
        rc = io_error("truncating", name);
        goto out;
      }
      st->stats.bytes -= dropped;
    }
    rc = set_note(st, "%s: %s tail at offset %" PRIu64 " (%s): %s %" PRIu64 " bytes", name,
                  f.why[0] == 'i' ? "torn" : "corrupt", off, f.why,
                  wr ? "truncated, dropped" : "a writer would drop", dropped);
    if (rc < 0) goto out;
    break;
  }
  st->seg_end[i] = off;
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
  rf__free(st->dir);
  rf__free(st->seg_end);
  rf__free(st->frame);
  rf__free(st->note);
  rf__free(st);
}

int rf__store_open(const char *dir, const rf__store_policy *policy, rf__store **out) {
  RF_RETURN_ERROR_IF(!dir || !*dir || !out, RF_EINVAL, "rf__store_open: no directory given");
  rf__store_policy pol = policy ? *policy : rf__store_policy_default();
  RF_RETURN_ERROR_IF(pol.durability > RF_DURABILITY_NONE, RF_EINVAL,
                     "rf__store_open: unknown durability policy %d", (int)pol.durability);
  if (pol.group_n == 0) pol.group_n = 1;
  if (pol.segment_size < SEG_HEADER + 1) pol.segment_size = SEG_HEADER + 1;
  rf__store *st = rf__calloc(1, sizeof *st);
  RF_CHECK_ALLOC(st);
  st->fd = -1;
  st->dirfd = -1;
  st->policy = pol;
  pthread_mutex_init(&st->mu, NULL);
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
    if ((rc = create_segment(st, 0, 1)) < 0) goto fail;
    st->seg_end[0] = SEG_HEADER;
    st->n_segs = 1;
    st->stats.bytes = SEG_HEADER;
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

static int do_sync(rf__store *st) {
  if (st->policy.durability != RF_DURABILITY_NONE && fdatasync(st->fd) != 0) {
    st->failed = 1;
    char name[NAME_CAP];
    rf__store_segment_name(st->n_segs - 1, name, sizeof name);
    return io_error("syncing", name);
  }
  st->group_pending = 0;
  st->durable = end_pos(st);
  return 0;
}

static int roll_segment(rf__store *st) {
  if (st->policy.durability != RF_DURABILITY_NONE) RF_FORWARD_IF_ERROR(do_sync(st));
  pthread_mutex_lock(&st->mu); /* readers index seg_end: it may move */
  int grown = rf__grow((void **)&st->seg_end, &st->seg_end_cap, st->n_segs + 1,
                       sizeof *st->seg_end);
  pthread_mutex_unlock(&st->mu);
  RF_RETURN_ERROR_IF(grown < 0, RF_ENOMEM, "rf__store_append: out of memory");
  int rc = create_segment(st, st->n_segs, 1);
  if (rc < 0) {
    st->failed = 1;
    return rc;
  }
  pthread_mutex_lock(&st->mu);
  st->seg_end[st->n_segs] = SEG_HEADER;
  st->n_segs++;
  pthread_mutex_unlock(&st->mu);
  st->stats.n_segments = st->n_segs;
  st->stats.bytes += SEG_HEADER;
  return 0;
}

int rf__store_append(rf__store *st, uint8_t type, const void *bytes, size_t len,
                     rf__store_pos *pos) {
  RF_RETURN_ERROR_IF(st->policy.read_only, RF_ESTATE, "rf__store_append: %s is open read-only",
                     st->dir);
  RF_RETURN_ERROR_IF(st->failed, RF_EIO,
                     "rf__store_append: an earlier write to %s failed; reopen the store", st->dir);
  RF_RETURN_ERROR_IF(type == 0, RF_EINVAL, "rf__store_append: record type 0 is reserved");
  RF_RETURN_ERROR_IF(len > RF_STORE_MAX_RECORD, RF_EINVAL,
                     "rf__store_append: record of %zu bytes is over the %u-byte limit", len,
                     RF_STORE_MAX_RECORD);
  size_t total = FRAME_HEAD + len + FRAME_TAIL;
  uint64_t end = st->seg_end[st->n_segs - 1];
  if (end > SEG_HEADER && end + total > st->policy.segment_size) RF_FORWARD_IF_ERROR(roll_segment(st));
  if (rf__grow((void **)&st->frame, &st->frame_cap, total, 1) < 0)
    return rf__error(RF_ENOMEM, "rf__store_append: out of memory");
  uint8_t *f = st->frame;
  put_u32(f, (uint32_t)len);
  f[4] = type;
  if (len) memcpy(f + FRAME_HEAD, bytes, len);
  put_u64(f + FRAME_HEAD + len, XXH3_64bits(f, FRAME_HEAD + len));
  end = st->seg_end[st->n_segs - 1];
  if (write_all(st->fd, f, total, end) != 0) {
    st->failed = 1;
    char name[NAME_CAP];
    rf__store_segment_name(st->n_segs - 1, name, sizeof name);
    return io_error("appending to", name);
  }
  rf__store_pos p = {st->n_segs - 1, end};
  /* Publish the new end only now that the bytes are written. */
  pthread_mutex_lock(&st->mu);
  st->seg_end[st->n_segs - 1] = end + total;
  pthread_mutex_unlock(&st->mu);
  st->stats.n_records++;
  st->stats.bytes += total;
  st->stats.payload_bytes += len;
  st->stats.n_by_type[type]++;
  if (pos) *pos = p;
  switch (st->policy.durability) {
  case RF_DURABILITY_FSYNC:
    return do_sync(st);
  case RF_DURABILITY_GROUP: {
    uint64_t t = now_ms();
    if (st->group_pending++ == 0) st->group_start_ms = t;
    if (st->group_pending >= st->policy.group_n || t - st->group_start_ms >= st->policy.group_ms)
      return do_sync(st);
    return 1;
  }
  case RF_DURABILITY_NONE:
  default:
    st->durable = end_pos(st);
    return 0;
  }
}

int rf__store_sync(rf__store *st) {
  if (st->policy.read_only) return 0;
  RF_RETURN_ERROR_IF(st->failed, RF_EIO, "rf__store_sync: an earlier write to %s failed", st->dir);
  return do_sync(st);
}

int rf__store_durable(const rf__store *st, rf__store_pos pos) {
  return rf__store_pos_cmp(pos, st->durable) < 0;
}

int rf__store_close(rf__store *st) {
  if (!st) return 0;
  int rc = 0;
  if (!st->policy.read_only && !st->failed && st->policy.durability != RF_DURABILITY_NONE)
    rc = do_sync(st);
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

int rf__store_reader_next(rf__store_reader *r, rf__store_record *rec) {
  for (;;) {
    rf__store_pos here = {r->seg, r->off};
    if (rf__store_pos_cmp(here, r->until) >= 0) return 0;
    pthread_mutex_lock(&r->st->mu);
    uint64_t n_segs = r->st->n_segs;
    uint64_t limit = r->seg < n_segs ? r->st->seg_end[r->seg] : 0;
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
    rec->type = f.type;
    rec->data = f.data;
    rec->len = f.len;
    rec->pos.segment = r->seg;
    rec->pos.offset = r->off;
    r->off = f.next;
    return 1;
  }
}

void rf__store_reader_set_until(rf__store_reader *r, rf__store_pos until) { r->until = until; }

void rf__store_reader_close(rf__store_reader *r) {
  if (!r) return;
  if (r->sb.fd >= 0) close(r->sb.fd);
  rf__free(r->sb.buf);
  rf__free(r);
}
