/*
 * sort.c: row sorting (see sort.h).
 *
 * Design: LSD radix sort over only the bits that vary. One pass ORs each
 * key word's XOR with the first row, so the sort knows which bit range of
 * each word differs between rows (node ids and epochs use few of their 64
 * bits). Those ranges are cut into digits of 8 bits (11 bits for large
 * inputs, fewer passes over memory), one histogram pass counts every digit
 * at once, and each digit whose values are not all equal costs one stable
 * scatter pass, from the least significant digit of the last key word up.
 * The scatter copies whole rows, specialised for the common widths so that
 * the copy is a few moves. Small inputs use insertion sort.
 *
 * LSD passes scatter into a second buffer as large as the input. Large
 * inputs (over MSD_BYTES) first take one in-place pass of American flag
 * sort on their most significant varying bits (up to MSD_BITS of them),
 * which cuts them into up to 2^MSD_BITS parts already in order; each part
 * is then LSD-sorted on its own, through a buffer the size of the largest
 * part. Sealing a load of a million rows then needs well under a MiB of
 * scratch instead of another 32 MiB (ten million: 320 MiB). The partition
 * costs two more passes over the rows (a few percent of a large seal);
 * smaller inputs skip it, their full-size buffer being small and brief.
 * Every allocation is made before any row moves, so a failure leaves the
 * rows as they were.
 */
#include "common/sort.h"

#include <string.h>

#include "common/alloc.h"
#include "rhizoflow.h"

/* Key words whose varying bits are computed exactly; any further ones are
 * treated as varying in every bit. */
#define EXACT_WORDS 64
#define SMALL_DIGIT 8
#define LARGE_DIGIT 11
#define LARGE_N (1u << 16)

typedef struct digit {
  uint32_t word;  /* key word it is taken from */
  uint32_t shift; /* its lowest bit */
  uint64_t mask;  /* its width, as a mask after shifting */
} digit;

/* Rows are a few words: a plain loop beats a memcpy call. */
static inline void copy_row(uint64_t *dst, const uint64_t *src, uint32_t width) {
  for (uint32_t i = 0; i < width; i++) dst[i] = src[i];
}

static void insertion_sort(uint64_t *rows, size_t n, uint32_t width, uint32_t key_words,
                           uint64_t *tmp) {
  for (size_t i = 1; i < n; i++) {
    uint64_t *r = rows + i * width;
    if (rf__words_cmp(r - width, r, key_words) <= 0) continue;
    copy_row(tmp, r, width);
    size_t j = i;
    while (j > 0 && rf__words_cmp(rows + (j - 1) * width, tmp, key_words) > 0) {
      copy_row(rows + j * width, rows + (j - 1) * width, width);
      j--;
    }
    copy_row(rows + j * width, tmp, width);
  }
}

/* diff[w] = the bits of key word w that differ between some two rows. */
static void varying_bits(const uint64_t *rows, size_t n, uint32_t width, uint32_t key_words,
                         uint64_t *diff) {
  uint32_t exact = key_words < EXACT_WORDS ? key_words : EXACT_WORDS;
  for (uint32_t w = 0; w < key_words; w++) diff[w] = w < exact ? 0 : UINT64_MAX;
  for (size_t i = 1; i < n; i++) {
    const uint64_t *r = rows + i * width;
    for (uint32_t w = 0; w < exact; w++) diff[w] |= r[w] ^ rows[w];
  }
}

/* Lists the digits covering the varying bits, least significant first.
 * Returns how many. */
static size_t plan_digits(const uint64_t *diff, uint32_t key_words, uint32_t bits, digit *out) {
  size_t n = 0;
  for (uint32_t w = key_words; w-- > 0;) {
    if (diff[w] == 0) continue;
    uint32_t lo = (uint32_t)__builtin_ctzll(diff[w]), hi = 64 - (uint32_t)__builtin_clzll(diff[w]);
    for (uint32_t s = lo; s < hi; s += bits) {
      uint32_t b = hi - s < bits ? hi - s : bits;
      out[n++] = (digit){w, s, (UINT64_C(1) << b) - 1};
    }
  }
  return n;
}

static void histogram(const uint64_t *rows, size_t n, uint32_t width, const digit *d,
                      size_t n_digits, size_t stride, size_t *counts) {
  for (size_t i = 0; i < n; i++) {
    const uint64_t *r = rows + i * width;
    for (size_t p = 0; p < n_digits; p++)
      counts[p * stride + ((r[d[p].word] >> d[p].shift) & d[p].mask)]++;
  }
}

/* Turns counts into starting offsets; false if one value holds every row
 * (the pass would change nothing). */
static bool offsets(size_t *c, size_t buckets, size_t n) {
  size_t off = 0;
  for (size_t k = 0; k < buckets; k++) {
    if (c[k] == n) return false;
    size_t cnt = c[k];
    c[k] = off;
    off += cnt;
  }
  return true;
}

static inline __attribute__((always_inline)) void scatter(const uint64_t *src, uint64_t *dst,
                                                          size_t n, uint32_t width, digit d,
                                                          size_t *c) {
  for (size_t i = 0; i < n; i++) {
    const uint64_t *r = src + i * width;
    size_t pos = c[(r[d.word] >> d.shift) & d.mask]++;
    memcpy(dst + pos * width, r, width * sizeof(uint64_t));
  }
}

/* One stable pass; constant widths let the compiler inline the row copy. */
static void scatter_rows(const uint64_t *src, uint64_t *dst, size_t n, uint32_t width, digit d,
                         size_t *c) {
  switch (width) {
  case 2: scatter(src, dst, n, 2, d, c); break;
  case 3: scatter(src, dst, n, 3, d, c); break;
  case 4: scatter(src, dst, n, 4, d, c); break;
  case 5: scatter(src, dst, n, 5, d, c); break;
  case 6: scatter(src, dst, n, 6, d, c); break;
  case 7: scatter(src, dst, n, 7, d, c); break;
  case 8: scatter(src, dst, n, 8, d, c); break;
  default: scatter(src, dst, n, width, d, c); break;
  }
}

/* The scratch one LSD sort of up to n rows needs: the block of varying
 * bits, digit plan and counts (sized for the digit width of n rows). */
static size_t block_bytes(uint32_t key_words, uint32_t bits, size_t *head_out) {
  size_t stride = (size_t)1 << bits, max_digits = (size_t)key_words * (64 / bits + 1);
  size_t head = key_words * sizeof(uint64_t) + max_digits * sizeof(digit);
  head = (head + sizeof(size_t) - 1) / sizeof(size_t) * sizeof(size_t);
  *head_out = head;
  return head + max_digits * stride * sizeof(size_t);
}

static uint32_t digit_bits(size_t n) { return n >= LARGE_N ? LARGE_DIGIT : SMALL_DIGIT; }

/* LSD radix sort of n rows (n > 32) with the caller's memory: `block` of at
 * least block_bytes(key_words, digit_bits(n)) bytes, and `buf`, room for n
 * rows, or NULL to have it allocated here (returns RF_ENOMEM, rows
 * unchanged, if that fails). `known`, when given, are bits that may vary
 * in each key word (a superset of those that do, from a larger sort this
 * is a part of): they replace the pass that finds them. */
static int lsd_sort(uint64_t *rows, size_t n, uint32_t width, uint32_t key_words, char *block,
                    uint64_t *buf, const uint64_t *known) {
  uint32_t bits = digit_bits(n);
  size_t head, stride = (size_t)1 << bits;
  block_bytes(key_words, bits, &head);
  uint64_t *diff = (uint64_t *)block;
  digit *plan = (digit *)(block + key_words * sizeof(uint64_t));
  size_t *counts = (size_t *)(block + head);
  if (known)
    memcpy(diff, known, key_words * sizeof(uint64_t));
  else
    varying_bits(rows, n, width, key_words, diff);
  size_t n_digits = plan_digits(diff, key_words, bits, plan);
  memset(counts, 0, n_digits * stride * sizeof(size_t));
  histogram(rows, n, width, plan, n_digits, stride, counts);
  bool own = false;
  uint64_t *src = rows, *dst = buf;
  for (size_t p = 0; p < n_digits; p++) {
    size_t *c = counts + p * stride;
    if (!offsets(c, (size_t)plan[p].mask + 1, n)) continue;
    if (!dst) {
      dst = buf = rf__malloc(n * width * sizeof(uint64_t));
      if (!buf) return RF_ENOMEM;
      own = true;
    }
    scatter_rows(src, dst, n, width, plan[p], c);
    uint64_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != rows) memcpy(rows, src, n * width * sizeof(uint64_t));
  if (own) rf__free_sized(buf, n * width * sizeof(uint64_t));
  return 0;
}

/* Inputs larger than this are partitioned in place first (see the top). */
#define MSD_BYTES ((size_t)1 << 24)
#define MSD_BITS 8

static inline void swap_row(uint64_t *a, uint64_t *b, uint32_t width) {
  for (uint32_t i = 0; i < width; i++) {
    uint64_t t = a[i];
    a[i] = b[i];
    b[i] = t;
  }
}

/* MSD step, then LSD per part. Returns 1 if it does not apply (no key bit
 * varies, or rows too wide for its row buffer): the caller sorts plainly. */
static int msd_sort(uint64_t *rows, size_t n, uint32_t width, uint32_t key_words) {
  if (width > RF_MAX_COLS + 8 || key_words > EXACT_WORDS) return 1;
  /* The most significant varying bits: the top of the first key word
   * that varies. The varying bits of every word serve the parts too. */
  uint64_t diff[EXACT_WORDS];
  varying_bits(rows, n, width, key_words, diff);
  uint32_t w = 0;
  while (w < key_words && diff[w] == 0) w++;
  if (w == key_words) return 0; /* every key equal: already sorted */
  uint32_t hi = 64 - (uint32_t)__builtin_clzll(diff[w]);
  uint32_t lo = hi > MSD_BITS ? hi - MSD_BITS : 0;
  uint64_t mask = ((uint64_t)1 << (hi - lo)) - 1;
  size_t nb = (size_t)mask + 1, start[1u << MSD_BITS], next[1u << MSD_BITS];
  memset(start, 0, nb * sizeof(size_t));
  for (size_t i = 0; i < n; i++) start[(rows[i * width + w] >> lo) & mask]++;
  size_t largest = 0, off = 0;
  for (size_t b = 0; b < nb; b++) {
    size_t c = start[b];
    if (c > largest) largest = c;
    start[b] = next[b] = off;
    off += c;
  }
  /* All the memory the parts need, before any row moves: a block for the
   * widest digit any part uses, and a buffer for the largest part. */
  size_t head, small = block_bytes(key_words, SMALL_DIGIT, &head);
  size_t wide = block_bytes(key_words, digit_bits(largest), &head);
  char *block = rf__malloc(small > wide ? small : wide);
  uint64_t *buf = rf__malloc((largest ? largest : 1) * width * sizeof(uint64_t));
  if (!block || !buf) {
    rf__free(block);
    rf__free(buf);
    return RF_ENOMEM;
  }
  /* In-place permutation: each row in a part's unsorted region is carried
   * along the cycle of the rows it displaces until one belongs where it
   * was taken from. */
  uint64_t tmp[RF_MAX_COLS + 8];
  for (size_t b = 0; b < nb; b++) {
    size_t end = b + 1 < nb ? start[b + 1] : n;
    while (next[b] < end) {
      copy_row(tmp, rows + next[b] * width, width);
      size_t c = (tmp[w] >> lo) & mask;
      while (c != b) {
        swap_row(tmp, rows + next[c] * width, width);
        next[c]++;
        c = (tmp[w] >> lo) & mask;
      }
      copy_row(rows + next[b] * width, tmp, width);
      next[b]++;
    }
  }
  for (size_t b = 0; b < nb; b++) {
    size_t m = (b + 1 < nb ? start[b + 1] : n) - start[b];
    uint64_t *part = rows + start[b] * width;
    if (m <= 32)
      insertion_sort(part, m, width, key_words, tmp);
    else
      lsd_sort(part, m, width, key_words, block, buf, diff); /* allocates nothing */
  }
  rf__free(block);
  rf__free_sized(buf, (largest ? largest : 1) * width * sizeof(uint64_t));
  return 0;
}

int rf__sort_rows(uint64_t *rows, size_t n, uint32_t width, uint32_t key_words) {
  if (n < 2 || key_words == 0) return 0;
  if (n <= 32 && width <= RF_MAX_COLS + 8) {
    uint64_t tmp[RF_MAX_COLS + 8];
    insertion_sort(rows, n, width, key_words, tmp);
    return 0;
  }
  if (n * width * sizeof(uint64_t) > MSD_BYTES) {
    int rc = msd_sort(rows, n, width, key_words);
    if (rc <= 0) return rc;
  }
  size_t head;
  char *block = rf__malloc(block_bytes(key_words, digit_bits(n), &head));
  if (!block) return RF_ENOMEM;
  int rc = lsd_sort(rows, n, width, key_words, block, NULL, NULL);
  rf__free(block);
  return rc;
}
