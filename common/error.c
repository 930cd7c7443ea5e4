/*
 * error.c: error names and messages from the one RF_ERRNO_MAP list, and the
 * thread-local "last error" message.
 */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[512];

int rf__error(int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return err;
}

const char *rf_last_error(void) {
  return last_error[0] ? last_error : "no error";
}

const char *rf_strerror(int err) {
  switch (err) {
  case 0: return "success";
#define RF__ERR_MSG(name, code, msg) case code: return msg;
  RF_ERRNO_MAP(RF__ERR_MSG)
#undef RF__ERR_MSG
  default: return "unknown error";
  }
}

const char *rf_err_name(int err) {
  switch (err) {
  case 0: return "RF_OK";
#define RF__ERR_NAME(name, code, msg) case code: return "RF_" #name;
  RF_ERRNO_MAP(RF__ERR_NAME)
#undef RF__ERR_NAME
  default: return "RF_E?";
  }
}
