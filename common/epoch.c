/*
 * epoch.c: the process's epoch domain and per-thread records (see epoch.h).
 *
 * Threads: rf__epoch_* may be called from any thread. The domain is set up
 * once (pthread_once). A thread's record lives in thread-local storage; a
 * pthread key destructor runs its pending frees and unregisters it when the
 * thread exits, so that ck_epoch can recycle it for another thread (under
 * TSan that hand-over is annotated: ck orders it with atomics TSan cannot
 * see, and many short-lived worker threads recycle records often).
 */
#include "common/epoch.h"

#include <pthread.h>

#include "common/alloc.h"
#include "common/atomic.h" /* RF__ATOMIC_TSAN */
#include "common/error.h"

#if defined(RF__ATOMIC_TSAN)
#include <sanitizer/tsan_interface.h>
/* The happens-before edge ck_epoch provides but TSan cannot see (epoch.h):
 * a reader's section exit releases this object; a deferred free, which ck
 * runs only after every section that could have seen the object has
 * exited, acquires it first. One object for the whole domain: acquiring
 * more edges than needed can only hide races, never invent them, and the
 * free functions touch nothing but the retired object. */
static char tsan_epoch_sync;
/* rf__atomic_fence_seq_cst's word under TSan (common/atomic.h). */
uint32_t rf__atomic_tsan_fence_word;
#define RF__TSAN_RELEASE() __tsan_release(&tsan_epoch_sync)
#define RF__TSAN_ACQUIRE() __tsan_acquire(&tsan_epoch_sync)
/* A record handed from an exiting thread to a new one: ck_epoch_unregister
 * and ck_epoch_recycle order it with atomics TSan cannot see either. */
#define RF__TSAN_RELEASE_RECORD(r) __tsan_release(r)
#define RF__TSAN_ACQUIRE_RECORD(r) __tsan_acquire(r)
#else
#define RF__TSAN_RELEASE() ((void)0)
#define RF__TSAN_ACQUIRE() ((void)0)
#define RF__TSAN_RELEASE_RECORD(r) ((void)(r))
#define RF__TSAN_ACQUIRE_RECORD(r) ((void)(r))
#endif

static ck_epoch_t domain;
static pthread_once_t domain_once = PTHREAD_ONCE_INIT;
static pthread_key_t record_key;
static _Thread_local ck_epoch_record_t *my_record;

static void record_release(void *p) {
  ck_epoch_record_t *r = p;
  ck_epoch_barrier(r); /* run what this thread retired before giving it up */
  RF__TSAN_RELEASE_RECORD(r); /* this thread's writes, before the next owner's */
  ck_epoch_unregister(r);
}

static void domain_init(void) {
  ck_epoch_init(&domain);
  pthread_key_create(&record_key, record_release);
}

static ck_epoch_record_t *record(void) {
  if (my_record) return my_record;
  pthread_once(&domain_once, domain_init);
  ck_epoch_record_t *r = ck_epoch_recycle(&domain, NULL);
  if (r) RF__TSAN_ACQUIRE_RECORD(r); /* the previous owner's writes come first */
  if (!r) {
    /* Records are never freed: ck_epoch keeps them for recycling. */
    r = rf__malloc(sizeof *r);
    if (!r) return NULL;
    ck_epoch_register(&domain, r, NULL);
  }
  pthread_setspecific(record_key, r);
  my_record = r;
  return r;
}

int rf__epoch_enter(rf__epoch_section *s) {
  s->record = record();
  if (!s->record) return rf__error(RF_ENOMEM, "epoch: out of memory for a thread record");
  ck_epoch_begin(s->record, &s->section);
  return 0;
}

void rf__epoch_exit(rf__epoch_section *s) {
  RF__TSAN_RELEASE(); /* before ck_epoch_end lets a writer free what we read */
  ck_epoch_end(s->record, &s->section);
}

/* Runs a retired object's free function (ck_epoch calls it once the grace
 * period has passed). */
static void run_deferred(ck_epoch_entry_t *ce) {
  rf__epoch_entry *e = (rf__epoch_entry *)ce; /* ck is the first member */
  RF__TSAN_ACQUIRE(); /* every section that could have seen it has exited */
  e->fn(e);
}

int rf__epoch_retire(rf__epoch_entry *entry, void (*fn)(rf__epoch_entry *)) {
  ck_epoch_record_t *r = record();
  if (!r) return rf__error(RF_ENOMEM, "epoch: out of memory for a thread record");
  entry->fn = fn;
  ck_epoch_call(r, &entry->ck, run_deferred);
  ck_epoch_poll(r);
  return 0;
}

int rf__epoch_barrier(void) {
  ck_epoch_record_t *r = record();
  if (!r) return rf__error(RF_ENOMEM, "epoch: out of memory for a thread record");
  ck_epoch_barrier(r);
  return 0;
}
