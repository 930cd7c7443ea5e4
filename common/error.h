/*
 * error.h: internal error helpers. Codes are the public RF_E* values; a
 * thread-local message says what was wrong and where (rf_last_error).
 * The early-return kit follows zstd's RETURN_ERROR_IF / FORWARD_IF_ERROR.
 */
#ifndef RF_COMMON_ERROR_H
#define RF_COMMON_ERROR_H

#include "rhizoflow.h"

/* Records a message for rf_last_error and returns err. */
int rf__error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define RF_RETURN_ERROR_IF(cond, err, ...)                                     \
  do {                                                                         \
    if (cond) return rf__error((err), __VA_ARGS__);                            \
  } while (0)

#define RF_FORWARD_IF_ERROR(expr)                                              \
  do {                                                                         \
    int rf__rc_ = (expr);                                                      \
    if (rf__rc_ < 0) return rf__rc_;                                           \
  } while (0)

#define RF_CHECK_ALLOC(ptr)                                                    \
  do {                                                                         \
    if (!(ptr)) return rf__error(RF_ENOMEM, "%s: out of memory", __func__);    \
  } while (0)

#endif
