/*
 * delta.c: validation and canonical encoding of RhizomeDB deltas (with
 * jansson as the JSON parser), their XXH3-128 content addresses, the
 * address index over a record log, and batch ingestion of JSON Lines
 * (delta.h).
 *
 * Design
 *   Ingestion reads N lines at a time (a batch): each batch is validated in
 *   full before anything of it is appended (its canonical encodings kept in
 *   one buffer, reused from batch to batch), so a batch with any bad line
 *   appends nothing, and a good one is appended as one batch of the log.
 *   The index is an open-addressing hash set of 128-bit addresses (linear
 *   probing, at most half full); it lives in memory and is rebuilt from the
 *   log on open. The open batch has a second, small set of the addresses it
 *   appended: they count as duplicates within the batch and join the index
 *   at its commit (room reserved first, so that joining cannot fail), or are
 *   forgotten at its abort.
 */
#include "store/delta.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "common/alloc.h"
#include "common/error.h"

/* ---- byte buffers ------------------------------------------------------- */

int rf__bytes_put(rf__bytes *b, const void *p, size_t n) {
  if (rf__grow((void **)&b->data, &b->cap, b->len + n, 1) < 0) return RF_ENOMEM;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

static int put(rf__bytes *b, const void *p, size_t n) { return rf__bytes_put(b, p, n); }
static int puts_(rf__bytes *b, const char *s) { return put(b, s, strlen(s)); }

/* ---- canonical encoding ------------------------------------------------- */

static void alloc_init(void) { json_set_alloc_funcs(rf__malloc, rf__free); }
static pthread_once_t alloc_once = PTHREAD_ONCE_INIT;

int rf__json_put_string(rf__bytes *b, const char *s, size_t n) {
  int rc = put(b, "\"", 1);
  size_t run = 0; /* start of the pending run of unescaped bytes */
  for (size_t i = 0; i < n && rc == 0; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    rc = put(b, s + run, i - run);
    char esc[8];
    switch (c) {
    case '"': strcpy(esc, "\\\""); break;
    case '\\': strcpy(esc, "\\\\"); break;
    case '\b': strcpy(esc, "\\b"); break;
    case '\f': strcpy(esc, "\\f"); break;
    case '\n': strcpy(esc, "\\n"); break;
    case '\r': strcpy(esc, "\\r"); break;
    case '\t': strcpy(esc, "\\t"); break;
    default: snprintf(esc, sizeof esc, "\\u%04x", c); break;
    }
    if (rc == 0) rc = puts_(b, esc);
    run = i + 1;
  }
  if (rc == 0) rc = put(b, s + run, n - run);
  if (rc == 0) rc = put(b, "\"", 1);
  return rc;
}

void rf__json_shortest_real(double d, char *buf, size_t cap) {
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, d);
    if (strtod(buf, NULL) == d) return;
  }
}

static int put_number(rf__bytes *b, const json_t *v) {
  char num[40];
  if (json_is_integer(v)) {
    snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  } else {
    double d = json_real_value(v);
    if (d == floor(d) && fabs(d) < 9007199254740992.0)
      snprintf(num, sizeof num, "%.0f", d == 0 ? 0.0 : d); /* -0 is 0 */
    else
      rf__json_shortest_real(d, num, sizeof num);
  }
  return puts_(b, num);
}

static const char *type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a real number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  case JSON_NULL: return "null";
  }
  return "?";
}

typedef struct vctx {
  char *err;
  size_t err_cap;
} vctx;

static int bad(vctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(vctx *c, const char *fmt, ...) {
  char buf[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (c->err && c->err_cap) snprintf(c->err, c->err_cap, "%s", buf);
  return RF_EINVAL;
}

/* Only the listed keys may appear in obj. */
static int only_keys(vctx *c, const json_t *obj, const char *where, const char *const *keys,
                     const char *expect) {
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)obj, k, v) {
    int known = 0;
    for (size_t i = 0; keys[i]; i++) known |= strcmp(k, keys[i]) == 0;
    if (!known) return bad(c, "field '%s%s': unknown field (expected %s)", where, k, expect);
  }
  return 0;
}

/* A required (or, if optional, possibly absent: returns 1) non-empty
 * string field. */
static int get_str(vctx *c, const json_t *obj, const char *key, const char *where, int optional,
                   const json_t **out) {
  const json_t *v = json_object_get(obj, key);
  if (!v) {
    if (optional) return 1;
    return bad(c, "field '%s%s': missing", where, key);
  }
  if (!json_is_string(v) || json_string_length(v) == 0)
    return bad(c, "field '%s%s': must be a non-empty string, got %s", where, key,
               json_is_string(v) ? "an empty string" : type_name(v));
  *out = v;
  return 0;
}

static int put_str_field(rf__bytes *b, const char *key_json, const json_t *v) {
  int rc = puts_(b, key_json);
  if (rc == 0) rc = rf__json_put_string(b, json_string_value(v), json_string_length(v));
  return rc;
}

static int encode_target(vctx *c, rf__bytes *b, const json_t *t, const char *where) {
  char w[80];
  snprintf(w, sizeof w, "%s.", where);
  switch (json_typeof(t)) {
  case JSON_STRING: return rf__json_put_string(b, json_string_value(t), json_string_length(t));
  case JSON_INTEGER:
  case JSON_REAL: return put_number(b, t);
  case JSON_TRUE: return puts_(b, "true");
  case JSON_FALSE: return puts_(b, "false");
  case JSON_OBJECT: {
    static const char *const keys[] = {"id", "context", NULL};
    RF_FORWARD_IF_ERROR(only_keys(c, t, w, keys, "a reference {id, context?}"));
    const json_t *id, *ctx = NULL;
    RF_FORWARD_IF_ERROR(get_str(c, t, "id", w, 0, &id));
    int r = get_str(c, t, "context", w, 1, &ctx);
    if (r < 0) return r;
    int rc = put_str_field(b, "{\"id\":", id);
    if (rc == 0 && ctx) rc = put_str_field(b, ",\"context\":", ctx);
    if (rc == 0) rc = puts_(b, "}");
    return rc;
  }
  case JSON_ARRAY:
  case JSON_NULL:
  default:
    return bad(c, "field '%s': must be a reference {id, context?} or a string, number or boolean, got %s",
               where, type_name(t));
  }
}

static int encode_delta(vctx *c, rf__bytes *b, const json_t *d) {
  if (!json_is_object(d)) return bad(c, "a delta must be a JSON object, got %s", type_name(d));
  static const char *const keys[] = {"id", "timestamp", "author", "system", "pointers", NULL};
  RF_FORWARD_IF_ERROR(only_keys(c, d, "", keys, "id, timestamp, author, system, pointers"));
  const json_t *id, *author, *system;
  RF_FORWARD_IF_ERROR(get_str(c, d, "id", "", 0, &id));
  const json_t *ts = json_object_get(d, "timestamp");
  if (!ts) return bad(c, "field 'timestamp': missing");
  if (!json_is_integer(ts) || json_integer_value(ts) <= 0)
    return bad(c, "field 'timestamp': must be a positive integer, got %s",
               json_is_integer(ts) ? "a number <= 0" : type_name(ts));
  RF_FORWARD_IF_ERROR(get_str(c, d, "author", "", 0, &author));
  RF_FORWARD_IF_ERROR(get_str(c, d, "system", "", 0, &system));
  const json_t *ptrs = json_object_get(d, "pointers");
  if (!ptrs) return bad(c, "field 'pointers': missing");
  if (!json_is_array(ptrs) || json_array_size(ptrs) == 0)
    return bad(c, "field 'pointers': must be a non-empty array, got %s",
               json_is_array(ptrs) ? "an empty array" : type_name(ptrs));
  int rc = put_str_field(b, "{\"id\":", id);
  if (rc == 0) rc = puts_(b, ",\"timestamp\":");
  if (rc == 0) rc = put_number(b, ts);
  if (rc == 0) rc = put_str_field(b, ",\"author\":", author);
  if (rc == 0) rc = put_str_field(b, ",\"system\":", system);
  if (rc == 0) rc = puts_(b, ",\"pointers\":[");
  for (size_t i = 0; rc == 0 && i < json_array_size(ptrs); i++) {
    const json_t *p = json_array_get(ptrs, i);
    char where[48], target_where[64];
    snprintf(where, sizeof where, "pointers[%zu].", i);
    snprintf(target_where, sizeof target_where, "pointers[%zu].target", i);
    if (!json_is_object(p))
      return bad(c, "field 'pointers[%zu]': must be an object {role, target}, got %s", i,
                 type_name(p));
    static const char *const pkeys[] = {"role", "target", NULL};
    RF_FORWARD_IF_ERROR(only_keys(c, p, where, pkeys, "role, target"));
    const json_t *role;
    RF_FORWARD_IF_ERROR(get_str(c, p, "role", where, 0, &role));
    const json_t *t = json_object_get(p, "target");
    if (!t) return bad(c, "field '%s': missing", target_where);
    if (i > 0) rc = puts_(b, ",");
    if (rc == 0) rc = put_str_field(b, "{\"role\":", role);
    if (rc == 0) rc = puts_(b, ",\"target\":");
    if (rc == 0) rc = encode_target(c, b, t, target_where);
    if (rc == 0) rc = puts_(b, "}");
  }
  if (rc == 0) rc = puts_(b, "]}");
  return rc;
}

int rf__delta_canonicalize(const char *json, size_t len, rf__bytes *out, char *err, size_t err_cap) {
  return rf__delta_canonicalize_tree(json, len, out, err, err_cap, NULL);
}

int rf__delta_canonicalize_tree(const char *json, size_t len, rf__bytes *out, char *err,
                                size_t err_cap, json_t **tree) {
  pthread_once(&alloc_once, alloc_init);
  vctx c = {err, err_cap};
  if (err && err_cap) err[0] = 0;
  json_error_t je;
  json_t *d = json_loadb(json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
  if (!d) {
    if (json_error_code(&je) == json_error_invalid_utf8)
      return bad(&c, "invalid JSON: invalid UTF-8 at column %d (%s)", je.column, je.text);
    if (je.column < 0) return bad(&c, "invalid JSON: %s", je.text);
    return bad(&c, "invalid JSON at column %d: %s", je.column, je.text);
  }
  size_t start = out->len;
  int rc = encode_delta(&c, out, d);
  if (rc == 0 && tree) *tree = d;
  else json_decref(d);
  if (rc == RF_ENOMEM) bad(&c, "out of memory");
  if (rc < 0) out->len = start;
  return rc;
}

rf__delta_addr rf__delta_address(const void *canon, size_t len) {
  XXH128_hash_t h = XXH3_128bits(canon, len);
  rf__delta_addr a = {h.low64, h.high64};
  return a;
}

int rf__delta_timestamp(const void *canon, size_t len, int64_t *ts) {
  const char *p = canon, *end = p + len;
  static const char head[] = "{\"id\":\"", mid[] = ",\"timestamp\":";
  if (len < sizeof head - 1 || memcmp(p, head, sizeof head - 1) != 0) goto bad;
  p += sizeof head - 1;
  while (p < end && *p != '"') p += *p == '\\' && end - p > 1 ? 2 : 1;
  if (p >= end) goto bad;
  p++;
  if ((size_t)(end - p) < sizeof mid - 1 || memcmp(p, mid, sizeof mid - 1) != 0)
    goto bad;
  p += sizeof mid - 1;
  int64_t v = 0;
  const char *digits = p;
  while (p < end && *p >= '0' && *p <= '9' && v <= (INT64_MAX - 9) / 10) v = v * 10 + (*p++ - '0');
  if (p == digits || p >= end || (*p != ',')) goto bad;
  *ts = v;
  return 0;
bad:
  return rf__error(RF_ECORRUPT, "delta: a stored delta is not in canonical form (no timestamp)");
}

/* ---- address sets -------------------------------------------------------- */

typedef struct addr_set {
  rf__delta_addr *slots; /* {0,0} = empty */
  size_t cap;            /* power of two (or 0) */
  uint64_t n;
  int has_zero; /* the address {0,0} itself is in the set */
} addr_set;

static size_t slot_of(const addr_set *s, rf__delta_addr a) {
  return (size_t)(a.lo ^ (a.hi * 0x9e3779b97f4a7c15ull)) & (s->cap - 1);
}

static int is_zero(rf__delta_addr a) { return a.lo == 0 && a.hi == 0; }
static int addr_eq(rf__delta_addr a, rf__delta_addr b) { return a.lo == b.lo && a.hi == b.hi; }

static int set_contains(const addr_set *s, rf__delta_addr a) {
  if (is_zero(a)) return s->has_zero;
  if (!s->cap) return 0;
  for (size_t i = slot_of(s, a);; i = (i + 1) & (s->cap - 1)) {
    rf__delta_addr v = s->slots[i];
    if (is_zero(v)) return 0;
    if (addr_eq(v, a)) return 1;
  }
}

static void insert_slot(addr_set *s, rf__delta_addr a) {
  size_t i = slot_of(s, a);
  while (!is_zero(s->slots[i])) i = (i + 1) & (s->cap - 1);
  s->slots[i] = a;
}

/* Makes room for `more` more addresses, so that set_insert cannot fail.
 * 0 or RF_ENOMEM (nothing changed). */
static int set_reserve(addr_set *s, uint64_t more) {
  if ((s->n + more) * 2 <= s->cap) return 0;
  size_t ncap = s->cap ? s->cap : 1024;
  while ((s->n + more) * 2 > ncap) ncap *= 2;
  rf__delta_addr *ns = rf__calloc(ncap, sizeof *ns);
  RF_CHECK_ALLOC(ns);
  rf__delta_addr *old = s->slots;
  size_t ocap = s->cap;
  s->slots = ns;
  s->cap = ncap;
  for (size_t i = 0; i < ocap; i++)
    if (!is_zero(old[i])) insert_slot(s, old[i]);
  rf__free(old);
  return 0;
}

/* Adds a (not present; room reserved). */
static void set_insert(addr_set *s, rf__delta_addr a) {
  if (is_zero(a))
    s->has_zero = 1;
  else
    insert_slot(s, a);
  s->n++;
}

/* Empties the set, whose members are exactly list[0..n): each is found and
 * its slot cleared (clearing all of them leaves no probe chain behind). */
static void set_clear(addr_set *s, const rf__delta_addr *list, size_t n) {
  for (size_t k = 0; k < n; k++) {
    if (is_zero(list[k])) continue;
    size_t i = slot_of(s, list[k]);
    while (!addr_eq(s->slots[i], list[k])) i = (i + 1) & (s->cap - 1);
    s->slots[i] = (rf__delta_addr){0, 0};
  }
  s->n = 0;
  s->has_zero = 0;
}

/* ---- the address index ---------------------------------------------------- */

struct rf__deltas {
  rf__store *st;
  addr_set index;          /* every committed delta */
  addr_set batch;          /* the deltas appended in the open batch */
  rf__delta_addr *pending; /* the same, in order */
  size_t n_pending, pending_cap;
};

int rf__deltas_contains(const rf__deltas *ds, rf__delta_addr a) {
  return set_contains(&ds->index, a);
}

int rf__deltas_open(const char *dir, const rf__store_policy *policy, rf__deltas **out) {
  rf__deltas *ds = rf__calloc(1, sizeof *ds);
  RF_CHECK_ALLOC(ds);
  int rc = rf__store_open(dir, policy, &ds->st);
  if (rc < 0) {
    rf__free(ds);
    return rc;
  }
  rf__store_reader *r;
  rf__store_pos start = {0, 0};
  if ((rc = rf__store_reader_open(ds->st, start, &r)) < 0) goto fail;
  rf__store_record rec;
  while ((rc = rf__store_reader_next(r, &rec)) == 1) {
    if (rec.type != RF_STORE_REC_DELTA) continue;
    rf__delta_addr a = rf__delta_address(rec.data, rec.len);
    if (set_contains(&ds->index, a)) continue;
    if ((rc = set_reserve(&ds->index, 1)) < 0) break;
    set_insert(&ds->index, a);
  }
  rf__store_reader_close(r);
  if (rc < 0) goto fail;
  *out = ds;
  return 0;
fail:
  rf__deltas_close(ds);
  return rc;
}

int rf__deltas_close(rf__deltas *ds) {
  if (!ds) return 0;
  int rc = rf__store_close(ds->st); /* drops an open batch */
  rf__free(ds->index.slots);
  rf__free(ds->batch.slots);
  rf__free(ds->pending);
  rf__free(ds);
  return rc;
}

rf__store *rf__deltas_store(rf__deltas *ds) { return ds->st; }

uint64_t rf__deltas_count(const rf__deltas *ds) { return ds->index.n; }

/* Appends one canonical delta unless stored (or appended earlier in the
 * open batch). Room in the sets is made before the append, so that once
 * the record is in the log, remembering it cannot fail. */
static int add_canonical(rf__deltas *ds, const uint8_t *canon, size_t len, rf__delta_addr *addr,
                         rf__store_pos *pos) {
  rf__delta_addr a = rf__delta_address(canon, len);
  if (addr) *addr = a;
  int in_batch = rf__store_in_batch(ds->st);
  if (set_contains(&ds->index, a) || (in_batch && set_contains(&ds->batch, a)))
    return RF_DELTA_DUPLICATE;
  if (in_batch) {
    if (set_reserve(&ds->batch, 1) < 0 ||
        rf__grow((void **)&ds->pending, &ds->pending_cap, ds->n_pending + 1, sizeof *ds->pending) < 0)
      return rf__error(RF_ENOMEM, "delta: out of memory");
  } else if (set_reserve(&ds->index, 1) < 0) {
    return rf__error(RF_ENOMEM, "delta: out of memory");
  }
  int rc = rf__store_append(ds->st, RF_STORE_REC_DELTA, canon, len, pos);
  if (rc < 0) return rc;
  if (in_batch) {
    set_insert(&ds->batch, a);
    ds->pending[ds->n_pending++] = a;
  } else {
    set_insert(&ds->index, a);
  }
  return rc;
}

int rf__deltas_add_json_at(rf__deltas *ds, const char *json, size_t len, rf__delta_addr *addr,
                           rf__store_pos *pos) {
  rf__bytes b = {NULL, 0, 0};
  char err[400];
  int rc = rf__delta_canonicalize(json, len, &b, err, sizeof err);
  if (rc < 0) {
    rf__free(b.data);
    return rf__error(rc, "delta: %s", err);
  }
  rc = add_canonical(ds, b.data, b.len, addr, pos);
  rf__free(b.data);
  return rc;
}

int rf__deltas_add_json(rf__deltas *ds, const char *json, size_t len, rf__delta_addr *addr) {
  return rf__deltas_add_json_at(ds, json, len, addr, NULL);
}

static void forget_batch(rf__deltas *ds) {
  set_clear(&ds->batch, ds->pending, ds->n_pending);
  ds->n_pending = 0;
}

int rf__deltas_batch_begin(rf__deltas *ds) {
  RF_FORWARD_IF_ERROR(rf__store_batch_begin(ds->st));
  forget_batch(ds);
  return 0;
}

int rf__deltas_batch_commit(rf__deltas *ds, rf__store_pos *pos) {
  /* Room first: after the commit the batch's deltas must join the index. */
  if (set_reserve(&ds->index, ds->n_pending) < 0)
    return rf__error(RF_ENOMEM, "delta: out of memory committing a batch of %zu deltas",
                     ds->n_pending);
  int rc = rf__store_batch_commit(ds->st, pos);
  if (rc < 0) return rc;
  for (size_t i = 0; i < ds->n_pending; i++) set_insert(&ds->index, ds->pending[i]);
  forget_batch(ds);
  return rc;
}

int rf__deltas_batch_abort(rf__deltas *ds) {
  forget_batch(ds);
  return rf__store_batch_abort(ds->st);
}

/* ---- batch ingestion ------------------------------------------------------ */

void rf__ingest_report_free(rf__ingest_report *rep) {
  if (!rep) return;
  for (size_t i = 0; i < rep->n_messages; i++) rf__free(rep->messages[i]);
  rf__free(rep->messages);
  rep->messages = NULL;
  rep->n_messages = 0;
}

static int report_msg(rf__ingest_report *rep, size_t *cap, size_t max, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int report_msg(rf__ingest_report *rep, size_t *cap, size_t max, const char *fmt, ...) {
  if (rep->n_messages >= max) return 0;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (rf__grow((void **)&rep->messages, cap, rep->n_messages + 1, sizeof *rep->messages) < 0)
    return RF_ENOMEM;
  char *m = rf__strdup(buf);
  if (!m) return RF_ENOMEM;
  rep->messages[rep->n_messages++] = m;
  return 0;
}

/* Reads one line (without its '\n') into line; *too_long if it ran past
 * max (the rest is read and dropped). 1 = a line, 0 = end of input. The
 * caller holds the stream's lock (flockfile). */
static int read_line(FILE *in, rf__bytes *line, size_t max, int *too_long) {
  line->len = 0;
  *too_long = 0;
  int c, any = 0;
  while ((c = getc_unlocked(in)) != EOF) {
    any = 1;
    if (c == '\n') return 1;
    if (line->len >= max) {
      *too_long = 1;
      continue;
    }
    if (line->len == line->cap &&
        rf__grow((void **)&line->data, &line->cap, line->len + 1, 1) < 0)
      return RF_ENOMEM;
    line->data[line->len++] = (uint8_t)c;
  }
  if (ferror(in)) return rf__error(RF_EIO, "ingest: reading input: %s", strerror(errno));
  return any;
}

static int blank(const rf__bytes *l) {
  for (size_t i = 0; i < l->len; i++)
    if (l->data[i] != ' ' && l->data[i] != '\t' && l->data[i] != '\r') return 0;
  return 1;
}

/* Appends one validated batch (n canonical deltas, delta i ending at
 * ends[i] in canon) as one batch of the log. On an error the batch is
 * aborted: nothing of it stays. */
static int append_batch(rf__deltas *ds, const rf__bytes *canon, const size_t *ends, size_t n,
                        rf__ingest_report *rep) {
  if (n == 0) return 0;
  RF_FORWARD_IF_ERROR(rf__deltas_batch_begin(ds));
  uint64_t accepted = 0, dups = 0;
  size_t start = 0;
  int rc = 0;
  for (size_t i = 0; i < n && rc >= 0; i++) {
    rc = add_canonical(ds, canon->data + start, ends[i] - start, NULL, NULL);
    start = ends[i];
    if (rc == RF_DELTA_DUPLICATE)
      dups++;
    else if (rc >= 0)
      accepted++;
  }
  if (rc >= 0) rc = rf__deltas_batch_commit(ds, NULL);
  if (rc < 0) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", rf_last_error());
    rf__deltas_batch_abort(ds);
    return rf__error(rc, "%s", msg);
  }
  rep->accepted += accepted;
  rep->duplicates += dups;
  return 0;
}

int rf__deltas_ingest(rf__deltas *ds, FILE *in, const rf__ingest_opts *opts,
                      rf__ingest_report *rep) {
  rf__ingest_opts o = {0};
  if (opts) o = *opts;
  if (!o.batch_lines) o.batch_lines = RF_INGEST_BATCH_DEFAULT;
  if (!o.max_line) o.max_line = 1u << 20;
  if (!o.max_messages) o.max_messages = 20;
  memset(rep, 0, sizeof *rep);
  RF_RETURN_ERROR_IF(rf__store_in_batch(ds->st), RF_ESTATE,
                     "ingest: a batch is open on the store already");
  size_t msg_cap = 0;
  rf__bytes line = {NULL, 0, 0}, canon = {NULL, 0, 0};
  size_t *ends = NULL; /* ends[i]: end of the batch's delta i in canon */
  size_t n_ends = 0, ends_cap = 0;
  char err[400];
  int rc = 0, eof = 0;
  flockfile(in);
  while (!eof) {
    uint64_t first = rep->lines + 1, bad = 0;
    size_t k = 0;
    canon.len = 0;
    n_ends = 0;
    /* Read and validate one batch. */
    for (; k < o.batch_lines; k++) {
      int too_long;
      int r = read_line(in, &line, o.max_line, &too_long);
      if (r < 0) {
        rc = r == RF_ENOMEM ? rf__error(RF_ENOMEM, "ingest: out of memory at line %" PRIu64,
                                        rep->lines + 1)
                            : r;
        goto out;
      }
      if (r == 0) {
        eof = 1;
        break;
      }
      uint64_t ln = ++rep->lines;
      const char *why = NULL;
      if (too_long) {
        snprintf(err, sizeof err, "longer than the %zu-byte limit", o.max_line);
        why = err;
      } else if (!blank(&line)) {
        int v = rf__delta_canonicalize((const char *)line.data, line.len, &canon, err, sizeof err);
        if (v == RF_EINVAL) {
          why = err;
        } else if (v < 0) {
          rc = rf__error(RF_ENOMEM, "ingest: out of memory at line %" PRIu64, ln);
          goto out;
        } else if (bad) {
          canon.len = 0; /* the batch is lost already: keep no more of it */
        } else if (rf__grow((void **)&ends, &ends_cap, n_ends + 1, sizeof *ends) < 0) {
          rc = rf__error(RF_ENOMEM, "ingest: out of memory at line %" PRIu64, ln);
          goto out;
        } else {
          ends[n_ends++] = canon.len;
        }
      }
      if (why) {
        bad++;
        rep->rejected++;
        canon.len = 0;
        n_ends = 0;
        if (report_msg(rep, &msg_cap, o.max_messages, "line %" PRIu64 ": %s", ln, why) < 0) {
          rc = rf__error(RF_ENOMEM, "ingest: out of memory at line %" PRIu64, ln);
          goto out;
        }
        if (o.on_reject) o.on_reject(o.arg, ln, why);
      }
      if (o.progress && o.progress_every && ln % o.progress_every == 0) o.progress(o.arg, rep);
    }
    if (k == 0) break; /* no lines left */
    if (bad) {
      rep->rejected_batches++;
      if (o.on_batch_rejected) o.on_batch_rejected(o.arg, first, rep->lines, bad);
      continue;
    }
    /* Append it, all or nothing. */
    if ((rc = append_batch(ds, &canon, ends, n_ends, rep)) < 0) goto out;
    rep->batches++;
  }
  if ((rc = rf__store_sync(ds->st)) < 0) goto out;
  if (rep->rejected)
    rc = rf__error(RF_EINVAL,
                   "ingest: %" PRIu64 " bad line%s in %" PRIu64 " batch%s of up to %zu lines: "
                   "%s not appended (%" PRIu64 " other%s)%s%s",
                   rep->rejected, rep->rejected == 1 ? "" : "s", rep->rejected_batches,
                   rep->rejected_batches == 1 ? "" : "es", o.batch_lines,
                   rep->rejected_batches == 1 ? "that batch was" : "those batches were",
                   rep->batches, rep->batches == 1 ? " was" : "s were",
                   rep->n_messages ? "; first: " : "", rep->n_messages ? rep->messages[0] : "");
out:
  funlockfile(in);
  rf__free(line.data);
  rf__free(canon.data);
  rf__free(ends);
  return rc;
}
