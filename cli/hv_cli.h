/*
 * hv_cli.h: what the HyperViews subcommands (hv_cli.c) and the demo
 * (hv_demo.c) share.
 */
#ifndef RF_CLI_HV_CLI_H
#define RF_CLI_HV_CLI_H

#include <stdint.h>

#include "rhizoflow.h"

/* Adds every delta the reader has (up to its bound, or the current end of
 * the log) to hv's open batch. A stored delta the views refuse (an id
 * reused with other content) is reported on stderr, naming its place in
 * the log, and not used. *added (may be NULL): the new deltas. 0 or the
 * error (reported on stderr). */
int rf_hv_cli_load(rf_store *st, rf_store_reader *r, rf_hv *hv, const char *cmd,
                   uint64_t *added);

#endif
