/*
 * tests/tsan_runner/criterion/criterion.h: a stand-in for Criterion's
 * <criterion/criterion.h>, used only by the ThreadSanitizer build
 * (RF_SANITIZE=thread), where Criterion itself cannot start (its boxfort
 * sandbox maps its "inheritable arena" at addresses TSan refuses). The test
 * sources are unchanged: in the TSan build this folder comes first on the
 * include path, and tests/tsan_runner/runner.c provides main(). Every other
 * build uses the real Criterion.
 *
 * It provides what the suite uses, with Criterion's meaning:
 *   Test(suite, name, .init = f, .fini = f, .timeout = seconds,
 *        .disabled = true, .description = "...") { ... }
 *   cr_assert*(...)  a failure ends the test (the rest of its body is not
 *                    run; .fini still is) and fails it;
 *   cr_expect*(...)  a failure fails the test, which goes on;
 *     both in the forms cr_X(cond), cr_X_not(cond), cr_X_eq/neq/lt/leq/gt/geq
 *     (a, b) (compared with the C operator, each operand evaluated once),
 *     cr_X_null/not_null(p), cr_X_str_eq/str_neq(a, b) (strcmp), each with an
 *     optional printf message (a string literal, as Criterion requires);
 *   cr_assert_fail(...), cr_expect_fail(...), cr_skip_test(...),
 *   cr_log_info/warn/error(...), cr_log(level, ...).
 * Anything else Criterion has (TestSuite, ParameterizedTest, Theory, the
 * cr_assert(eq(...)) "new" assertions, .signal, .exit_code) is not here: a
 * test that uses it does not compile in the TSan build, rather than run
 * unchecked. README.md here says how the runner runs the tests.
 */
#ifndef RF_TSAN_CRITERION_H
#define RF_TSAN_CRITERION_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The message of an assertion is optional: RF_CRT_MSG("" __VA_ARGS__)
 * turns "no message" into the empty format string, which gcc would flag. */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wformat-zero-length"
#endif

struct rf_crt_test {
  const char *suite;
  const char *name;
  const char *file;
  int line;
  void (*fn)(void);
  /* Test() options, named as in Criterion's struct criterion_test_extra_data. */
  void (*init)(void);
  void (*fini)(void);
  double timeout; /* seconds; 0: none */
  bool disabled;
  const char *description;
};

/* Called by each Test()'s constructor; the runner owns the list. */
void rf_crt_register(struct rf_crt_test *t);

/* A failed cr_assert: reports, then ends the test (it does not return). */
_Noreturn void rf_crt_assert_failed(const char *file, int line, const char *expr,
                                    const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A failed cr_expect: reports, marks the test failed, returns. */
void rf_crt_expect_failed(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
_Noreturn void rf_crt_skip(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

enum criterion_logging_level { CRITERION_INFO = 1, CRITERION_IMPORTANT, CRITERION_ERROR };
#define CR_LOG_INFO CRITERION_INFO
#define CR_LOG_WARNING CRITERION_IMPORTANT
#define CR_LOG_ERROR CRITERION_ERROR
void rf_crt_log(int level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define Test(Suite, Name, ...)                                                           \
  static void rf_crt_body_##Suite##_##Name(void);                                        \
  static struct rf_crt_test rf_crt_test_##Suite##_##Name = {                             \
      .suite = #Suite, .name = #Name, .file = __FILE__, .line = __LINE__,                \
      .fn = rf_crt_body_##Suite##_##Name, __VA_ARGS__};                                  \
  __attribute__((constructor)) static void rf_crt_register_##Suite##_##Name(void) {      \
    rf_crt_register(&rf_crt_test_##Suite##_##Name);                                      \
  }                                                                                      \
  static void rf_crt_body_##Suite##_##Name(void)

/* One check: COND is evaluated exactly once; on failure FAIL_FN reports
 * EXPR (the source text) and the optional message. */
#define RF_CRT_CHECK(fail_fn, cond, expr, ...)                                           \
  do {                                                                                   \
    if (!(cond)) fail_fn(__FILE__, __LINE__, expr, "" __VA_ARGS__);                      \
  } while (0)

#define cr_assert(cond, ...) RF_CRT_CHECK(rf_crt_assert_failed, cond, #cond, __VA_ARGS__)
#define cr_expect(cond, ...) RF_CRT_CHECK(rf_crt_expect_failed, cond, #cond, __VA_ARGS__)
#define cr_assert_not(cond, ...) \
  RF_CRT_CHECK(rf_crt_assert_failed, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_expect_not(cond, ...) \
  RF_CRT_CHECK(rf_crt_expect_failed, !(cond), "!(" #cond ")", __VA_ARGS__)

#define RF_CRT_OP(fail_fn, op, a, b, ...) \
  RF_CRT_CHECK(fail_fn, (a) op (b), "(" #a ") " #op " (" #b ")", __VA_ARGS__)
#define cr_assert_eq(a, b, ...) RF_CRT_OP(rf_crt_assert_failed, ==, a, b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) RF_CRT_OP(rf_crt_assert_failed, !=, a, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) RF_CRT_OP(rf_crt_assert_failed, <, a, b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) RF_CRT_OP(rf_crt_assert_failed, <=, a, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) RF_CRT_OP(rf_crt_assert_failed, >, a, b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) RF_CRT_OP(rf_crt_assert_failed, >=, a, b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) RF_CRT_OP(rf_crt_expect_failed, ==, a, b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) RF_CRT_OP(rf_crt_expect_failed, !=, a, b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) RF_CRT_OP(rf_crt_expect_failed, <, a, b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) RF_CRT_OP(rf_crt_expect_failed, <=, a, b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) RF_CRT_OP(rf_crt_expect_failed, >, a, b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) RF_CRT_OP(rf_crt_expect_failed, >=, a, b, __VA_ARGS__)

#define cr_assert_null(p, ...) \
  RF_CRT_CHECK(rf_crt_assert_failed, (p) == NULL, "(" #p ") == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) \
  RF_CRT_CHECK(rf_crt_assert_failed, (p) != NULL, "(" #p ") != NULL", __VA_ARGS__)
#define cr_expect_null(p, ...) \
  RF_CRT_CHECK(rf_crt_expect_failed, (p) == NULL, "(" #p ") == NULL", __VA_ARGS__)
#define cr_expect_not_null(p, ...) \
  RF_CRT_CHECK(rf_crt_expect_failed, (p) != NULL, "(" #p ") != NULL", __VA_ARGS__)

#define RF_CRT_STR(fail_fn, op, a, b, ...)                                               \
  RF_CRT_CHECK(fail_fn, strcmp((a), (b)) op 0, "strcmp(" #a ", " #b ") " #op " 0",       \
               __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) RF_CRT_STR(rf_crt_assert_failed, ==, a, b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) RF_CRT_STR(rf_crt_assert_failed, !=, a, b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...) RF_CRT_STR(rf_crt_expect_failed, ==, a, b, __VA_ARGS__)
#define cr_expect_str_neq(a, b, ...) RF_CRT_STR(rf_crt_expect_failed, !=, a, b, __VA_ARGS__)

#define cr_assert_fail(...) rf_crt_assert_failed(__FILE__, __LINE__, "cr_assert_fail", "" __VA_ARGS__)
#define cr_expect_fail(...) rf_crt_expect_failed(__FILE__, __LINE__, "cr_expect_fail", "" __VA_ARGS__)
#define cr_skip_test(...) rf_crt_skip(__FILE__, __LINE__, "" __VA_ARGS__)

#define cr_log(level, ...) rf_crt_log((level), __FILE__, __LINE__, __VA_ARGS__)
#define cr_log_info(...) rf_crt_log(CR_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define cr_log_warn(...) rf_crt_log(CR_LOG_WARNING, __FILE__, __LINE__, __VA_ARGS__)
#define cr_log_error(...) rf_crt_log(CR_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)

#endif /* RF_TSAN_CRITERION_H */
