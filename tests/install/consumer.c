/*
 * consumer.c: a program outside the tree that uses the installed library
 * (tests/install/check_install.sh builds it with pkg-config and with
 * find_package).
 */
#include <stdio.h>
#include "rhizoflow.h"
int main(void) {
  rf_graph *g; rf_input *in;
  if (rf_graph_create(NULL, &g) < 0) return 1;
  rf_coll *c = rf_input_new(g, "x", 2, &in);
  rf_probe *p = rf_probe_new(rf_arr_collection(rf_count(rf_arrange(c, 1))));
  if (rf_graph_start(g) < 0) return 1;
  rf_value r[2] = {1, 2}; rf_input_insert(in, r, 2); rf_input_advance_to(in, 1);
  int rc = rf_probe_wait(p, 0);
  printf("probe_wait: %s\n", rf_strerror(rc));
  rf_graph_destroy(g);
  return rc;
}
