#!/usr/bin/env bash
# tests/hyperviews/cli_test.sh: the HyperViews subcommands end to end:
# `schema add` (stored as deltas, a change, a cycle refused), `ingest` then
# `view` (HyperView, --resolve, --all, --as-of), `watch` following deltas
# ingested by another process, `demo`, usage errors and exit codes. Data
# timestamps are later than `schema add`'s (the current time in ms), so
# that --as-of sees the schemas.
#   cli_test.sh PATH/TO/rhizoflow
set -u
RF=$(realpath "$1")
if [ ! -x "$RF" ]; then echo "cli_test: no program at $1" >&2; exit 1; fi
T=$(mktemp -d /tmp/rf_hv_cli_XXXXXX)
WATCH_PID=
trap '[ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
fails=0
expect() { # expect WANT_RC DESCRIPTION -- command...
  local want=$1 what=$2
  shift 3
  "$@" >out.txt 2>err.txt
  local rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL: $what: exit $rc, want $want"; cat out.txt err.txt; fails=$((fails + 1))
  fi
}
contains() { # contains FILE TEXT
  if ! grep -qF -- "$2" "$1"; then
    echo "FAIL: $1 lacks '$2'"; cat "$1"; fails=$((fails + 1))
  fi
}
lacks() { # lacks FILE TEXT
  if grep -qF -- "$2" "$1"; then
    echo "FAIL: $1 has '$2'"; cat "$1"; fails=$((fails + 1))
  fi
}

cat > schema.json <<'EOF'
[{"name": "post", "transform": {"author": "person"}, "resolve": {"rating": "average"}},
 {"name": "person"}]
EOF
cat > deltas.jsonl <<'EOF'
{"id":"d1","timestamp":2000000000010,"author":"ann","system":"s","pointers":[{"role":"post","target":{"id":"p1","context":"title"}},{"role":"title","target":"Hello"}]}
{"id":"d2","timestamp":2000000000011,"author":"ann","system":"s","pointers":[{"role":"post","target":{"id":"p1","context":"author"}},{"role":"author","target":{"id":"ann"}}]}
{"id":"d3","timestamp":2000000000012,"author":"ann","system":"s","pointers":[{"role":"person","target":{"id":"ann","context":"name"}},{"role":"name","target":"Ann"}]}
{"id":"d4","timestamp":2000000000013,"author":"bob","system":"s","pointers":[{"role":"post","target":{"id":"p1","context":"rating"}},{"role":"rating","target":4}]}
{"id":"d5","timestamp":2000000000014,"author":"cat","system":"s","pointers":[{"role":"post","target":{"id":"p1","context":"rating"}},{"role":"rating","target":2}]}
{"id":"d6","timestamp":2000000000020,"author":"cat","system":"s","pointers":[{"role":"negates","target":{"id":"d5"}}]}
EOF

expect 0 "schema --help" -- "$RF" schema --help
contains out.txt "usage: rhizoflow schema add"
expect 2 "schema without add" -- "$RF" schema
expect 2 "schema add without a file" -- "$RF" schema add --store db
expect 1 "schema add of a missing file" -- "$RF" schema add --store db nope.json
contains err.txt "nope.json"

expect 0 "schema add" -- "$RF" schema add --store db schema.json
contains out.txt "schema add: 4 deltas stored"
expect 0 "schema add again changes nothing" -- "$RF" schema add --store db schema.json
contains out.txt "no change"
echo '{"name": "person", "transform": {"wrote": "post"}}' > cycle.json
expect 2 "a cycle is refused" -- "$RF" schema add --store db cycle.json
contains err.txt "would form a cycle: post -> person -> post"
echo '{"name": "post", "resolve": {"rating": "median"}}' > badpolicy.json
expect 2 "an unknown policy is refused" -- "$RF" schema add --store db badpolicy.json
contains err.txt "resolve.rating"

expect 0 "ingest" -- "$RF" ingest --store db deltas.jsonl
expect 0 "view" -- "$RF" view --store db post p1
contains out.txt '"target":{"id":"ann","view":{"id":"ann","name":[{"id":"d3"'
lacks out.txt '"d5"'
expect 0 "view --resolve" -- "$RF" view --store db post p1 --resolve
contains out.txt '{"id":"p1","author":{"id":"ann","view":{"id":"ann","name":"Ann"}},"rating":4.0,"title":"Hello"}'
expect 0 "view --as-of before the negation" -- "$RF" view --store db post p1 --resolve --as-of 2000000000019
contains out.txt '"rating":3.0'
expect 0 "view --all" -- "$RF" view --store db person --all
# ann and p1, and the schemas' own objects (schemas are data)
[ "$(wc -l < out.txt)" -eq 4 ] || { echo "FAIL: view --all: want 4 objects"; cat out.txt; fails=$((fails + 1)); }
head -1 out.txt > first.txt
contains first.txt '{"id":"ann"'
expect 3 "view of an unknown schema" -- "$RF" view --store db blog p1
contains err.txt "schema 'blog' does not exist"
expect 2 "view with a bad option" -- "$RF" view --store db post p1 --frobnicate
expect 0 "view with 2 workers" -- "$RF" view --store db post p1 --resolve --workers 2
contains out.txt '"rating":4.0'

# watch follows deltas another process ingests.
"$RF" watch --store db post > watch.txt 2> watch_err.txt &
WATCH_PID=$!
sleep 1
echo '{"id":"d7","timestamp":2000000000030,"author":"ann","system":"s","pointers":[{"role":"person","target":{"id":"ann","context":"name"}},{"role":"name","target":"Ann B."}]}' > more.jsonl
expect 0 "ingest while watching" -- "$RF" ingest --store db more.jsonl
for _ in $(seq 50); do grep -q '"delta":"d7"' watch.txt && break; sleep 0.1; done
kill "$WATCH_PID"; wait "$WATCH_PID" 2>/dev/null; WATCH_PID=
contains watch.txt '"object":"p1","schema":"person","via":"ann","property":"name","delta":"d7","diff":1'
contains watch.txt '"object":"ann","schema":"post","via":"ann","property":"name","delta":"d7","diff":1'

expect 0 "demo" -- "$RF" demo
contains out.txt "View of post1 now:"
contains out.txt '"title":"Incremental views"'
expect 0 "demo with 2 workers" -- "$RF" demo --workers 2
contains out.txt '"rating":4.5'
expect 2 "demo with a bad option" -- "$RF" demo --frobnicate

if [ "$fails" -ne 0 ]; then echo "cli_test: $fails failure(s)"; exit 1; fi
echo "cli_test: all passed"
