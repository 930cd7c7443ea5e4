/*
 * updates.c: UPDATES records (updates.h): checking, encoding and decoding
 * a batch of collection updates, and appending it, split over several
 * records in one log batch when it does not fit in one record. Bytes only:
 * nothing here knows the engine.
 */
#include "store/updates.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "store/le.h"


void rf__updates_scratch_free(rf__updates_scratch *sc) {
  rf__free(sc->name);
  rf__free(sc->rows);
  rf__free(sc->diffs);
  memset(sc, 0, sizeof *sc);
}

int rf__updates_check(const char *name, size_t name_len, uint32_t arity, const uint64_t *rows,
                      const int64_t *diffs, size_t n) {
  RF_RETURN_ERROR_IF(!name || name_len == 0, RF_EINVAL, "updates: no collection name given");
  RF_RETURN_ERROR_IF(name_len > RF_UPDATES_MAX_NAME, RF_EINVAL,
                     "updates: collection name of %zu bytes is over the %d-byte limit", name_len,
                     RF_UPDATES_MAX_NAME);
  RF_RETURN_ERROR_IF(memchr(name, 0, name_len) != NULL, RF_EINVAL,
                     "updates: collection name holds a NUL byte");
  RF_RETURN_ERROR_IF(arity == 0 || arity > RF_UPDATES_MAX_ARITY, RF_EINVAL,
                     "updates: collection '%.*s': arity %" PRIu32 " (must be 1 to %d)",
                     (int)(name_len > 64 ? 64 : name_len), name, arity, RF_UPDATES_MAX_ARITY);
  RF_RETURN_ERROR_IF(n > 0 && (!rows || !diffs), RF_EINVAL,
                     "updates: collection '%.*s': %zu rows but rows or diffs is NULL",
                     (int)(name_len > 64 ? 64 : name_len), name, n);
  return 0;
}

size_t rf__updates_max_rows(size_t name_len, uint32_t arity) {
  size_t row = ((size_t)arity + 1) * 8;
  size_t room = RF_STORE_MAX_RECORD - RF_UPDATES_HEADER - name_len;
  size_t n = room / row;
  return n > UINT32_MAX ? UINT32_MAX : n;
}

int rf__updates_encode(const char *name, size_t name_len, uint64_t time, uint32_t arity,
                       const uint64_t *rows, const int64_t *diffs, size_t n, rf__bytes *out) {
  size_t row = ((size_t)arity + 1) * 8;
  size_t need = RF_UPDATES_HEADER + name_len + n * row;
  if (rf__grow((void **)&out->data, &out->cap, out->len + need, 1) < 0)
    return rf__error(RF_ENOMEM, "updates: out of memory encoding %zu rows", n);
  uint8_t *p = out->data + out->len;
  put_u64(p, time);
  put_u32(p + 8, arity);
  put_u32(p + 12, (uint32_t)n);
  put_u32(p + 16, (uint32_t)name_len);
  memcpy(p + RF_UPDATES_HEADER, name, name_len);
  p += RF_UPDATES_HEADER + name_len;
  for (size_t i = 0; i < n; i++) {
    for (uint32_t c = 0; c < arity; c++, p += 8) put_u64(p, rows[i * arity + c]);
    put_u64(p, (uint64_t)diffs[i]);
    p += 8;
  }
  out->len += need;
  return 0;
}

static int corrupt(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int corrupt(char *err, size_t cap, const char *fmt, ...) {
  if (err && cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
  }
  return RF_ECORRUPT;
}

int rf__updates_decode(const uint8_t *data, size_t len, rf__updates_scratch *sc, rf__updates *out,
                       char *err, size_t err_cap) {
  if (len < RF_UPDATES_HEADER)
    return corrupt(err, err_cap, "updates record of %zu bytes, shorter than its %u-byte header", len,
                   RF_UPDATES_HEADER);
  uint64_t time = get_u64(data);
  uint32_t arity = get_u32(data + 8), n = get_u32(data + 12), name_len = get_u32(data + 16);
  if (name_len == 0 || name_len > RF_UPDATES_MAX_NAME)
    return corrupt(err, err_cap, "updates record: collection name length %" PRIu32 " (must be 1 to %d)",
                   name_len, RF_UPDATES_MAX_NAME);
  if (arity == 0 || arity > RF_UPDATES_MAX_ARITY)
    return corrupt(err, err_cap, "updates record: arity %" PRIu32 " (must be 1 to %d)", arity,
                   RF_UPDATES_MAX_ARITY);
  uint64_t row = ((uint64_t)arity + 1) * 8;
  uint64_t want = (uint64_t)RF_UPDATES_HEADER + name_len + (uint64_t)n * row;
  if (want != len)
    return corrupt(err, err_cap,
                   "updates record is %zu bytes; %u + %" PRIu32 " (name) + %" PRIu32
                   " rows of %" PRIu64 " = %" PRIu64 " expected",
                   len, RF_UPDATES_HEADER, name_len, n, row, want);
  const uint8_t *nm = data + RF_UPDATES_HEADER;
  if (memchr(nm, 0, name_len) != NULL)
    return corrupt(err, err_cap, "updates record: collection name holds a NUL byte");
  if (rf__grow((void **)&sc->name, &sc->name_cap, (size_t)name_len + 1, 1) < 0 ||
      rf__grow((void **)&sc->rows, &sc->rows_cap, (size_t)n * arity + 1, sizeof *sc->rows) < 0 ||
      rf__grow((void **)&sc->diffs, &sc->diffs_cap, (size_t)n + 1, sizeof *sc->diffs) < 0)
    return RF_ENOMEM;
  memcpy(sc->name, nm, name_len);
  sc->name[name_len] = 0;
  const uint8_t *p = nm + name_len;
  for (uint32_t i = 0; i < n; i++) {
    for (uint32_t c = 0; c < arity; c++, p += 8) sc->rows[(size_t)i * arity + c] = get_u64(p);
    sc->diffs[i] = (int64_t)get_u64(p);
    p += 8;
  }
  out->name = sc->name;
  out->name_len = name_len;
  out->time = time;
  out->arity = arity;
  out->n = n;
  out->rows = sc->rows;
  out->diffs = sc->diffs;
  return 0;
}

int rf__updates_append(rf__store *st, const char *name, uint64_t time, uint32_t arity,
                       const uint64_t *rows, const int64_t *diffs, size_t n, rf__bytes *scratch,
                       rf__store_pos *pos) {
  size_t name_len = name ? strlen(name) : 0;
  RF_FORWARD_IF_ERROR(rf__updates_check(name, name_len, arity, rows, diffs, n));
  if (n == 0) return 0;
  size_t per = rf__updates_max_rows(name_len, arity);
  if (n <= per) {
    scratch->len = 0;
    RF_FORWARD_IF_ERROR(rf__updates_encode(name, name_len, time, arity, rows, diffs, n, scratch));
    return rf__store_append(st, RF_STORE_REC_UPDATES, scratch->data, scratch->len, pos);
  }
  /* Too many rows for one record: several, in one batch. */
  int own = !rf__store_in_batch(st);
  if (own) RF_FORWARD_IF_ERROR(rf__store_batch_begin(st));
  int rc = 0;
  for (size_t i = 0; i < n && rc >= 0; i += per) {
    size_t k = n - i < per ? n - i : per;
    scratch->len = 0;
    rc = rf__updates_encode(name, name_len, time, arity, rows + i * arity, diffs + i, k, scratch);
    if (rc == 0) rc = rf__store_append(st, RF_STORE_REC_UPDATES, scratch->data, scratch->len, pos);
  }
  if (!own) return rc;
  if (rc >= 0) rc = rf__store_batch_commit(st, pos);
  if (rc < 0) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", rf_last_error());
    rf__store_batch_abort(st);
    return rf__error(rc, "%s", msg);
  }
  return rc;
}
