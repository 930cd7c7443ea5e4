#!/bin/sh
# tests/tsan_runner/selftest.sh PROGRAM [LAUNCHER...]: checks the TSan
# build's Criterion stand-in (ctest test tsan_runner_selftest). Runs PROGRAM
# (tests/tsan_runner/selftest.c built with the runner) and requires that every
# test of suite "pass" passed, of "skip" was skipped and of "fail" failed,
# that the summary counts agree, that the program exited with status 1, and
# that a failed cr_assert stopped its test while a failed cr_expect did not.
# LAUNCHER (e.g. setarch -R) is put before PROGRAM.
set -u
prog=$1
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$@" "$prog" >"$out" 2>&1
status=$?
cat "$out"
echo "---- selftest.sh checks ----"

bad=0
fail() { echo "selftest.sh: $*"; bad=1; }

[ "$status" -eq 1 ] || fail "the runner exited with $status, want 1 (some tests fail)"

tests=$("$@" "$prog" --list | sed 's/ (disabled)$//')
[ -n "$tests" ] || fail "--list printed no tests"
n_pass=0 n_fail=0 n_skip=0
for t in $tests; do
  suite=${t%%/*}
  case $suite in
    pass) want=PASS n_pass=$((n_pass + 1)) ;;
    fail) want=FAIL n_fail=$((n_fail + 1)) ;;
    skip) want=SKIP n_skip=$((n_skip + 1)) ;;
    *) fail "$t: unexpected suite $suite"; continue ;;
  esac
  got=$(grep -E "^\[(PASS|FAIL|SKIP)\] $t( |$)" "$out" | cut -c2-5)
  [ "$got" = "$want" ] || fail "$t: got '${got:-no result line}', want $want"
done
n=$((n_pass + n_fail + n_skip))
summary="Tested: $n | Passing: $n_pass | Failing: $n_fail | Skipped: $n_skip"
grep -qF "$summary" "$out" || fail "the summary is not '$summary'"

grep -q "NOT REACHED" "$out" && fail "code after a failed cr_assert or cr_skip_test ran"
grep -q "reached after a failed cr_expect" "$out" || fail "a failed cr_expect stopped its test"
[ "$(grep -c "selftest: fini ran" "$out")" -eq 2 ] ||
  fail ".fini did not run exactly twice (after a pass and after a failed cr_assert)"
grep -q "ThreadSanitizer" "$out" || fail "fail/data_race drew no ThreadSanitizer report"

if [ "$bad" -ne 0 ]; then
  echo "selftest.sh: FAILED"
  exit 1
fi
echo "selftest.sh: all $n tests ended as their suites say ($n_pass pass, $n_fail fail, $n_skip skip)"
