/*
 * internal.h: the parts of an rf_hv that its modules share: the catalog
 * (catalog.h), the dataflow's inputs, views and probes (flow.c), the
 * writer's bookkeeping (hv.c), and the change-stream hub (subscribe.c).
 * Not API.
 */
#ifndef RF_HYPERVIEWS_INTERNAL_H
#define RF_HYPERVIEWS_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "common/mpsc.h"
#include "hyperviews/catalog.h"
#include "rhizoflow.h"

/* Kinds of schema rule (the `rule` input's second column). */
enum { HV_RULE_SELECTION = 1, HV_RULE_TRANSFORM = 2, HV_RULE_RESOLVE = 3 };

/* Symbols of the reserved words, interned at creation. */
typedef struct hv_words {
  uint64_t negates, schema, selection, transform, resolve, target_context, role, expand,
      property, policy, trusted;
} hv_words;

/* The dataflow (flow.c). */
typedef struct hv_flow {
  rf_graph *g;
  rf_input *in_delta; /* (d) */
  rf_input *in_neg;   /* (n, t): n negates t and is later */
  rf_input *in_sel;   /* (d, O, p) */
  rf_input *in_ref;   /* (d, r, X) */
  rf_input *in_rule;  /* (d, kind, S, key, S2) */
  rf_view *top;       /* (O) -> (p, d): live selected deltas */
  rf_view *objects;   /* (O): objects with a live selected delta */
  rf_view *schemas;   /* (S): schemas with a live selection rule */
  rf_view *rules;     /* (kind, S) -> (key, S2, d): live rules */
  rf_probe *done[5];  /* on the views' collections and the change stream */
  rf_probe *changes;  /* the change stream's probe */
} hv_flow;

/* A pending negation: negator n waits for its target (writer only). */
typedef struct hv_pending {
  uint64_t target, negator;
} hv_pending;

typedef struct hv_hub hv_hub;

struct rf_hv {
  hv_catalog *cat;
  hv_words w;
  hv_flow flow;
  uint32_t workers;
  rf_time open; /* the open batch's time; atomic: read by subscribers */
  /* Every view keeps the times >= retained readable, so that readers can
   * read all of them at one time: the writer moves it to the visible time
   * at each commit and sync, never past user_retain (rf_hv_retain_from). */
  rf_time retained;    /* writer only */
  rf_time user_retain; /* atomic; RF_TIME_LATEST: none asked */
  hv_pending *pending; /* negations whose target is unknown, unsorted */
  size_t n_pending, cap_pending;
  hv_hub *hub;
};

/* flow.c: builds and starts the dataflow; change records go to hub. */
int hv_flow_build(rf_hv *hv);
/* The change stream's inspect callback target (subscribe.c). */
void hv_hub_on_change(void *ctx, const rf_value *rec, uint32_t arity, const uint64_t *time,
                      uint32_t time_dim, rf_diff diff);
int hv_hub_new(rf_hv *hv, hv_hub **out);
void hv_hub_free(hv_hub *h);
/* Writer, at commit (before advancing the inputs past `open`): activates
 * the subscriptions made since the last commit from time open + 1 on. */
void hv_hub_on_commit(hv_hub *h, rf_time open);
/* Writer, after a sync: every time <= t is complete; hands the changes of
 * complete times to the subscribers. */
void hv_hub_completed(hv_hub *h, rf_time t);

/* render.c: the latest time every view can read (0 if none). */
rf_time hv_visible_time(rf_hv *hv);
/* 1 if schema S exists at t, 0 if not, or an error. */
int hv_schema_exists(rf_hv *hv, uint64_t S, rf_time t);

#endif
