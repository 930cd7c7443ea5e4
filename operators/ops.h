/*
 * ops.h: what operator files share with each other (not with other
 * layers): constructors used to compose operators from others.
 */
#ifndef RF_OPERATORS_OPS_H
#define RF_OPERATORS_OPS_H

#include "dataflow/graph.h"

/* A concat operator with n_in ports left unconnected (a loop variable). */
rf__op *rf__concat_op_new(rf_graph *g, rf_scope *s, uint32_t n_in, uint32_t dim,
                          uint32_t arity);

#endif
