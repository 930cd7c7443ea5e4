/*
 * test_api_errors.c: bad use of the public API returns an error code with a
 * message naming what was wrong; nothing crashes, and the graph stays
 * usable (or, for building errors, reports the first error at start).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "rhizoflow.h"

static rf_graph *started_graph(rf_input **in, rf_probe **p) {
  rf_graph *g;
  cr_assert_eq(rf_graph_create(NULL, &g), 0);
  rf_coll *c = rf_input_new(g, "edges", 2, in);
  *p = rf_probe_new(c);
  cr_assert_eq(rf_graph_start(g), 0);
  return g;
}

Test(api_errors, advancing_backwards) {
  rf_input *in;
  rf_probe *p;
  rf_graph *g = started_graph(&in, &p);
  cr_assert_eq(rf_input_advance_to(in, 5), 0);
  cr_expect_eq(rf_input_advance_to(in, 3), RF_ETIME);
  cr_expect(strstr(rf_last_error(), "edges") != NULL, "message names the input: %s",
            rf_last_error());
  cr_expect(strstr(rf_last_error(), "5") != NULL);
  cr_expect_eq(rf_input_time(in), 5);
  cr_expect_eq(rf_probe_wait(p, 4), 0); /* still usable */
  rf_graph_destroy(g);
}

Test(api_errors, wrong_arity) {
  rf_input *in;
  rf_probe *p;
  rf_graph *g = started_graph(&in, &p);
  rf_value rec[3] = {1, 2, 3};
  cr_expect_eq(rf_input_insert(in, rec, 3), RF_EARITY);
  cr_expect(strstr(rf_last_error(), "takes 2 columns, got 3") != NULL, "%s", rf_last_error());
  cr_expect_eq(rf_input_insert(in, rec, 2), 0);
  rf_graph_destroy(g);
}

Test(api_errors, closed_input) {
  rf_input *in;
  rf_probe *p;
  rf_graph *g = started_graph(&in, &p);
  cr_assert_eq(rf_input_close(in), 0);
  rf_value rec[2] = {1, 2};
  cr_expect_eq(rf_input_insert(in, rec, 2), RF_ECLOSED);
  cr_expect(strstr(rf_last_error(), "closed") != NULL);
  cr_expect_eq(rf_input_advance_to(in, 9), RF_ECLOSED);
  cr_expect_eq(rf_input_close(in), RF_ECLOSED);
  cr_expect_eq(rf_graph_run(g), 0);
  cr_expect(rf_probe_done(p, UINT64_MAX - 1));
  rf_graph_destroy(g);
}

Test(api_errors, probe_wait_stalls_instead_of_hanging) {
  rf_input *in;
  rf_probe *p;
  rf_graph *g = started_graph(&in, &p);
  cr_expect_eq(rf_probe_wait(p, 0), RF_ESTALL);
  cr_expect(strstr(rf_last_error(), "advance") != NULL, "%s", rf_last_error());
  rf_graph_destroy(g);
}

Test(api_errors, use_before_start) {
  rf_graph *g;
  cr_assert_eq(rf_graph_create(NULL, &g), 0);
  rf_input *in;
  rf_input_new(g, "x", 1, &in);
  rf_value v = 1;
  cr_expect_eq(rf_input_insert(in, &v, 1), RF_ESTATE);
  cr_expect_eq(rf_graph_step(g), RF_ESTATE);
  rf_graph_destroy(g);
}

Test(api_errors, building_errors_are_sticky) {
  rf_graph *g;
  cr_assert_eq(rf_graph_create(NULL, &g), 0);
  rf_input *in;
  rf_coll *c = rf_input_new(g, "x", 2, &in);
  rf_arr *bad = rf_arrange(c, 3); /* key wider than the record */
  cr_expect_null(bad);
  cr_expect_eq(rf_graph_error(g), RF_EARITY);
  cr_expect_null(rf_count(bad)); /* NULL in, NULL out */
  rf_coll *other = rf_input_new(g, "y", 3, &in);
  cr_expect_null(rf_concat(c, other)); /* arity mismatch, but the first error sticks */
  int rc = rf_graph_start(g);
  cr_expect_eq(rc, RF_EARITY);
  cr_expect(strstr(rf_last_error(), "rf_arrange") != NULL, "%s", rf_last_error());
  rf_graph_destroy(g);
}

Test(api_errors, unset_loop_variable) {
  rf_graph *g;
  cr_assert_eq(rf_graph_create(NULL, &g), 0);
  rf_input *in;
  rf_coll *c = rf_input_new(g, "x", 1, &in);
  rf_scope *s = rf_scope_new(g, NULL);
  rf_var *v = rf_var_new(s, rf_enter(s, c));
  cr_assert_not_null(v);
  cr_expect_eq(rf_graph_start(g), RF_ESTATE);
  cr_expect(strstr(rf_last_error(), "rf_var_set") != NULL, "%s", rf_last_error());
  rf_graph_destroy(g);
}

Test(api_errors, scope_mismatch) {
  rf_graph *g;
  cr_assert_eq(rf_graph_create(NULL, &g), 0);
  rf_input *in;
  rf_coll *c = rf_input_new(g, "x", 1, &in);
  rf_scope *s = rf_scope_new(g, NULL);
  rf_coll *inner = rf_enter(s, c);
  cr_expect_null(rf_concat(c, inner));
  cr_expect_eq(rf_graph_error(g), RF_ESCOPE);
  rf_graph_destroy(g);
}

static int failing_map(void *ctx, const rf_value *in, rf_value *out) { return -1; }

Test(api_errors, callback_error_stops_the_graph) {
  rf_graph *g;
  cr_assert_eq(rf_graph_create(NULL, &g), 0);
  rf_input *in;
  rf_coll *c = rf_input_new(g, "x", 1, &in);
  rf_probe *p = rf_probe_new(rf_map(c, 1, failing_map, NULL));
  cr_assert_eq(rf_graph_start(g), 0);
  rf_value v = 1;
  cr_assert_eq(rf_input_insert(in, &v, 1), 0);
  cr_assert_eq(rf_input_advance_to(in, 1), 0);
  cr_expect_eq(rf_probe_wait(p, 0), RF_ECALLBACK);
  cr_expect(strstr(rf_last_error(), "map") != NULL, "%s", rf_last_error());
  cr_expect_eq(rf_graph_step(g), RF_ECALLBACK); /* stays failed */
  cr_expect_eq(rf_input_insert(in, &v, 1), RF_ECALLBACK);
  rf_graph_destroy(g);
}

Test(api_errors, f64_encoding_rejects_nan_and_orders) {
  rf_value a, b, c;
  cr_expect_eq(rf_from_f64(0.0 / 0.0, &a), RF_ERANGE);
  cr_assert_eq(rf_from_f64(-2.5, &a), 0);
  cr_assert_eq(rf_from_f64(-0.0, &b), 0);
  cr_assert_eq(rf_from_f64(3.25, &c), 0);
  cr_expect(a < b && b < c);
  cr_expect_eq(rf_to_f64(a), -2.5);
  cr_expect_eq(rf_to_f64(c), 3.25);
  cr_expect(rf_from_i64(-1) < rf_from_i64(0));
  cr_expect_eq(rf_to_i64(rf_from_i64(-42)), -42);
  cr_expect_str_eq(rf_err_name(RF_ETIME), "RF_ETIME");
  cr_expect_str_eq(rf_strerror(RF_ENOMEM), "out of memory");
}

Test(api_errors, sum_overflow_is_an_error) {
  rf_graph *g;
  cr_assert_eq(rf_graph_create(NULL, &g), 0);
  rf_input *in;
  rf_coll *c = rf_input_new(g, "kv", 2, &in);
  rf_probe *p = rf_probe_new(rf_arr_collection(rf_sum(rf_arrange(c, 1))));
  cr_assert_eq(rf_graph_start(g), 0);
  rf_value r1[2] = {1, rf_from_i64(INT64_MAX)}, r2[2] = {1, rf_from_i64(5)};
  cr_assert_eq(rf_input_insert(in, r1, 2), 0);
  cr_assert_eq(rf_input_insert(in, r2, 2), 0);
  cr_assert_eq(rf_input_advance_to(in, 1), 0);
  cr_expect_eq(rf_probe_wait(p, 0), RF_ERANGE);
  cr_expect(strstr(rf_last_error(), "rf_sum") != NULL, "%s", rf_last_error());
  rf_graph_destroy(g);
}
