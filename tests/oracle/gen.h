/*
 * gen.h: the seeded random generator of oracle cases. A 64-bit seed gives a
 * program (a composition of the public API's operators, loops included) and
 * an update stream; the same seed always gives the same case. The top byte of
 * a case seed names the operator family it was drawn for, so a printed seed
 * alone replays the case (RF_ORACLE_SEED).
 *
 * Every accepted case is checked by the evaluator at every time of its
 * stream: loops must reach a fixed point within a small number of rounds and
 * collections must stay small. A draw that fails this is discarded and the
 * generator draws again from a seed derived from the case seed.
 */
#ifndef RF_ORACLE_GEN_H
#define RF_ORACLE_GEN_H

#include "evaluator.h"
#include "program.h"

typedef enum or_family {
  OR_FAM_BASIC = 1, /* map, filter, flat_map, project, concat, negate, consolidate, inspect */
  OR_FAM_JOIN,      /* arrange, join, join_map, self-join, shared arrangements, semi/antijoin */
  OR_FAM_REDUCE,    /* count, sum, min, max, distinct, threshold, general reduce */
  OR_FAM_ITERATE,   /* rf_iterate and explicit scopes, monotone and non-monotone bodies */
  OR_FAM_NESTED,    /* iterate nested in iterate */
  OR_FAM_MIXED,     /* everything */
  OR_N_FAMILIES
} or_family;

const char *or_family_name(or_family f);
/* The seed of case `index` of family f. */
uint64_t or_case_seed(or_family f, uint64_t index);
/* The family a case seed was drawn for (0 if none). */
or_family or_seed_family(uint64_t seed);

/* Generates the case of `seed` into *p and *s and its expected outputs at
 * every time into *exp. Returns 0, or -1 with a message when no acceptable
 * case could be drawn (a generator bug). */
int or_generate(uint64_t seed, or_program *p, or_stream *s, or_expected *exp, char *msg,
                size_t msg_len);

/* The limits a case must meet to be accepted. */
or_eval_limits or_gen_accept_limits(void);

#endif /* RF_ORACLE_GEN_H */
