/*
 * atomic.h: the atomic operations rhizoflow uses, named for their memory
 * ordering.
 *
 * Why this layer exists: concurrencykit (ck_pr) stays the implementation
 * (DESIGN.md §7), but its loads, stores and fences are inline assembly or
 * volatile accesses, which ThreadSanitizer cannot model: it reports false
 * races on every ck_pr-based structure and cannot see the happens-before
 * edge a release store and an acquire load make. So every atomic access in
 * rhizoflow goes through the functions below. In a normal build they are
 * ck_pr operations with ck_pr fences (acquire: load then load fence;
 * release: store fence then store; read-modify-writes bracketed by the
 * atomic fences, which cost nothing on TSO machines such as x86-64). Under
 * ThreadSanitizer (__SANITIZE_THREAD__, or clang's thread_sanitizer
 * feature) they are the compiler's __atomic builtins with the same memory
 * orders, which TSan models.
 *
 * One caveat: TSan does not model stand-alone fences, so under TSan
 * rf__atomic_fence_seq_cst is a seq_cst read-modify-write of one shared
 * word (see there). The places that rely on a full fence (Dekker's pattern
 * in scheduler/park.c and operators/view.c) order only atomics against
 * atomics, which TSan never reports as races anyway.
 *
 * Naming: rf__atomic_<op>_<order>_<width>, width 32, 64 or ptr. The _ptr
 * forms take the address of a pointer object of any pointer type (as ck_pr
 * does), so callers need no casts. Every use says, in a comment, why the
 * access has to be atomic.
 */
#ifndef RF_COMMON_ATOMIC_H
#define RF_COMMON_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__SANITIZE_THREAD__)
#define RF__ATOMIC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RF__ATOMIC_TSAN 1
#endif
#endif

#if defined(RF__ATOMIC_TSAN)

/* ---- ThreadSanitizer: compiler builtins, which TSan understands --------- */

#define RF__LOAD(p, mo) __atomic_load_n((p), (mo))
#define RF__STORE(p, v, mo) __atomic_store_n((p), (v), (mo))

static inline uint32_t rf__atomic_load_relaxed_32(const uint32_t *p) { return RF__LOAD(p, __ATOMIC_RELAXED); }
static inline uint64_t rf__atomic_load_relaxed_64(const uint64_t *p) { return RF__LOAD(p, __ATOMIC_RELAXED); }
static inline void *rf__atomic_load_relaxed_ptr(const void *p) { return RF__LOAD((void *const *)p, __ATOMIC_RELAXED); }
static inline uint32_t rf__atomic_load_acquire_32(const uint32_t *p) { return RF__LOAD(p, __ATOMIC_ACQUIRE); }
static inline uint64_t rf__atomic_load_acquire_64(const uint64_t *p) { return RF__LOAD(p, __ATOMIC_ACQUIRE); }
static inline void *rf__atomic_load_acquire_ptr(const void *p) { return RF__LOAD((void *const *)p, __ATOMIC_ACQUIRE); }

static inline void rf__atomic_store_relaxed_32(uint32_t *p, uint32_t v) { RF__STORE(p, v, __ATOMIC_RELAXED); }
static inline void rf__atomic_store_relaxed_64(uint64_t *p, uint64_t v) { RF__STORE(p, v, __ATOMIC_RELAXED); }
static inline void rf__atomic_store_relaxed_ptr(void *p, void *v) { RF__STORE((void **)p, v, __ATOMIC_RELAXED); }
static inline void rf__atomic_store_release_32(uint32_t *p, uint32_t v) { RF__STORE(p, v, __ATOMIC_RELEASE); }
static inline void rf__atomic_store_release_64(uint64_t *p, uint64_t v) { RF__STORE(p, v, __ATOMIC_RELEASE); }
static inline void rf__atomic_store_release_ptr(void *p, void *v) { RF__STORE((void **)p, v, __ATOMIC_RELEASE); }

/* Exchange, acquire and release. */
static inline uint32_t rf__atomic_fas_32(uint32_t *p, uint32_t v) { return __atomic_exchange_n(p, v, __ATOMIC_ACQ_REL); }
static inline void *rf__atomic_fas_ptr(void *p, void *v) { return __atomic_exchange_n((void **)p, v, __ATOMIC_ACQ_REL); }

/* Compare-and-swap, acquire and release on success: true if *p was old
 * and is now new. */
static inline bool rf__atomic_cas_32(uint32_t *p, uint32_t old, uint32_t new_) {
  return __atomic_compare_exchange_n(p, &old, new_, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
static inline bool rf__atomic_cas_ptr(void *p, void *old, void *new_) {
  return __atomic_compare_exchange_n((void **)p, &old, new_, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE);
}

/* Fetch-and-add, relaxed (counters): returns the value before. */
static inline uint64_t rf__atomic_faa_relaxed_64(uint64_t *p, uint64_t d) { return __atomic_fetch_add(p, d, __ATOMIC_RELAXED); }
static inline void rf__atomic_inc_relaxed_64(uint64_t *p) { (void)__atomic_fetch_add(p, 1, __ATOMIC_RELAXED); }

/* Reference counts: taking a reference is relaxed (the taker already holds
 * one); dropping one releases the holder's accesses and, for the thread
 * that sees zero, acquires everybody else's before it frees. */
static inline void rf__atomic_inc_relaxed_32(uint32_t *p) { (void)__atomic_fetch_add(p, 1, __ATOMIC_RELAXED); }
static inline bool rf__atomic_dec_zero_32(uint32_t *p) { return __atomic_sub_fetch(p, 1, __ATOMIC_ACQ_REL) == 0; }

/* TSan does not model stand-alone fences (GCC rejects them under
 * -fsanitize=thread: -Wtsan), so a full fence is a sequentially consistent
 * read-modify-write of one process-wide word (defined in common/epoch.c).
 * It is a full barrier on the machine, and TSan sees it as an acquire and a
 * release of that word: every fence synchronizes with the ones before it,
 * an edge C11 fences give only when the fenced accesses see each other, so
 * TSan may miss a race around a fence but never reports a false one. */
extern uint32_t rf__atomic_tsan_fence_word;
static inline void rf__atomic_fence_seq_cst(void) {
  (void)__atomic_fetch_add(&rf__atomic_tsan_fence_word, 0, __ATOMIC_SEQ_CST);
}

#undef RF__LOAD
#undef RF__STORE

#else

/* ---- Normal builds: concurrencykit ---------------------------------------- */

#include <ck_pr.h>

static inline uint32_t rf__atomic_load_relaxed_32(const uint32_t *p) { return ck_pr_load_32(p); }
static inline uint64_t rf__atomic_load_relaxed_64(const uint64_t *p) { return ck_pr_load_64(p); }
static inline void *rf__atomic_load_relaxed_ptr(const void *p) { return ck_pr_md_load_ptr(p); }
static inline uint32_t rf__atomic_load_acquire_32(const uint32_t *p) {
  uint32_t v = ck_pr_load_32(p);
  ck_pr_fence_load();
  return v;
}
static inline uint64_t rf__atomic_load_acquire_64(const uint64_t *p) {
  uint64_t v = ck_pr_load_64(p);
  ck_pr_fence_load();
  return v;
}
static inline void *rf__atomic_load_acquire_ptr(const void *p) {
  void *v = ck_pr_md_load_ptr(p);
  ck_pr_fence_load();
  return v;
}

static inline void rf__atomic_store_relaxed_32(uint32_t *p, uint32_t v) { ck_pr_store_32(p, v); }
static inline void rf__atomic_store_relaxed_64(uint64_t *p, uint64_t v) { ck_pr_store_64(p, v); }
static inline void rf__atomic_store_relaxed_ptr(void *p, void *v) { ck_pr_store_ptr_unsafe(p, v); }
static inline void rf__atomic_store_release_32(uint32_t *p, uint32_t v) {
  ck_pr_fence_store();
  ck_pr_store_32(p, v);
}
static inline void rf__atomic_store_release_64(uint64_t *p, uint64_t v) {
  ck_pr_fence_store();
  ck_pr_store_64(p, v);
}
static inline void rf__atomic_store_release_ptr(void *p, void *v) {
  ck_pr_fence_store();
  ck_pr_store_ptr_unsafe(p, v);
}

/* Exchange, acquire and release: earlier loads and stores before it, later
 * ones after (no instructions on TSO, where atomics serialize). */
static inline uint32_t rf__atomic_fas_32(uint32_t *p, uint32_t v) {
  ck_pr_fence_store_atomic();
  ck_pr_fence_load_atomic();
  uint32_t old = ck_pr_fas_32(p, v);
  ck_pr_fence_atomic_load();
  ck_pr_fence_atomic_store();
  return old;
}
static inline void *rf__atomic_fas_ptr(void *p, void *v) {
  ck_pr_fence_store_atomic();
  ck_pr_fence_load_atomic();
  void *old = ck_pr_fas_ptr(p, v);
  ck_pr_fence_atomic_load();
  ck_pr_fence_atomic_store();
  return old;
}

/* Compare-and-swap, acquire and release on success: true if *p was old
 * and is now new. */
static inline bool rf__atomic_cas_32(uint32_t *p, uint32_t old, uint32_t new_) {
  ck_pr_fence_store_atomic();
  ck_pr_fence_load_atomic();
  bool ok = ck_pr_cas_32(p, old, new_);
  ck_pr_fence_atomic_load();
  ck_pr_fence_atomic_store();
  return ok;
}
static inline bool rf__atomic_cas_ptr(void *p, void *old, void *new_) {
  ck_pr_fence_store_atomic();
  ck_pr_fence_load_atomic();
  bool ok = ck_pr_cas_ptr(p, old, new_);
  ck_pr_fence_atomic_load();
  ck_pr_fence_atomic_store();
  return ok;
}

/* Fetch-and-add, relaxed (counters): returns the value before. */
static inline uint64_t rf__atomic_faa_relaxed_64(uint64_t *p, uint64_t d) { return ck_pr_faa_64(p, d); }
static inline void rf__atomic_inc_relaxed_64(uint64_t *p) { ck_pr_inc_64(p); }

/* Reference counts: taking a reference is relaxed (the taker already holds
 * one); dropping one releases the holder's accesses and, for the thread
 * that sees zero, acquires everybody else's before it frees. */
static inline void rf__atomic_inc_relaxed_32(uint32_t *p) { ck_pr_inc_32(p); }
static inline bool rf__atomic_dec_zero_32(uint32_t *p) {
  bool zero;
  ck_pr_fence_store_atomic();
  ck_pr_fence_load_atomic();
  ck_pr_dec_32_zero(p, &zero);
  if (zero) {
    ck_pr_fence_atomic_load();
    ck_pr_fence_atomic_store();
  }
  return zero;
}

static inline void rf__atomic_fence_seq_cst(void) { ck_pr_fence_memory(); }

#endif

/* A spin-wait hint to the core (no memory effect). */
static inline void rf__atomic_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

#endif
