#!/usr/bin/env bash
# tests/store/cli_test.sh: the store's command-line subcommands end to end
# (`rhizoflow ingest`, `store check`, `store dump`): summaries, duplicates,
# a bad batch that appends nothing while the other batches are appended
# (--batch), a torn tail found by check and repaired by the next ingest
# (dropping the whole unfinished batch), usage errors, and exit codes (0 ok,
# 1 failure, 2 usage).
#   cli_test.sh PATH/TO/rhizoflow
set -u
RF=$(realpath "$1")
if [ ! -x "$RF" ]; then echo "cli_test: no program at $1" >&2; exit 1; fi
T=$(mktemp -d /tmp/rf_store_cli_XXXXXX)
trap 'rm -rf "$T"' EXIT
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

D1='{"id":"d1","timestamp":1,"author":"ann","system":"s","pointers":[{"role":"title","target":{"id":"p1","context":"title"}}]}'
D2='{"id":"d2","timestamp":2,"author":"bob","system":"s","pointers":[{"role":"negates","target":{"id":"d1"}}]}'
printf '%s\n%s\n\n%s\n' "$D1" "$D2" "$D1" > good.jsonl
printf '%s\n{"id":"x","timestamp":1}\nnot json\n' "$D1" > bad.jsonl

expect 0 "ingest --help" -- "$RF" ingest --help
contains out.txt "usage: rhizoflow ingest"
expect 0 "store --help" -- "$RF" store --help
contains out.txt "usage: rhizoflow store check"
expect 2 "bad durability" -- "$RF" ingest --durability sometimes good.jsonl
contains err.txt "--durability"
expect 2 "store without a subcommand" -- "$RF" store
expect 2 "unknown option" -- "$RF" ingest --frobnicate
expect 1 "check of no store" -- "$RF" store check --store nowhere
contains err.txt "no store at nowhere"
expect 1 "missing input file" -- "$RF" ingest --store s absent.jsonl

expect 0 "ingest" -- "$RF" ingest --store s good.jsonl
contains out.txt "accepted 2, duplicates 1, rejected 0"
expect 0 "ingest from stdin, group commit" -- bash -c "\"$RF\" ingest --store s --durability group - < good.jsonl"
contains out.txt "accepted 0, duplicates 3, rejected 0"
expect 1 "bad batch" -- "$RF" ingest --store s bad.jsonl
contains err.txt "line 2: field 'author': missing"
contains err.txt "line 3: invalid JSON"
contains err.txt "nothing appended"
contains out.txt "rejected 2 lines (1 of 1 batches of up to 10000 lines); the store holds 2 deltas"
contains err.txt "lines 1-3: batch not appended (2 bad lines)"
expect 0 "check" -- "$RF" store check --store s
contains out.txt "records:         2 (2 deltas, 0 collection updates, 0 other)"
contains out.txt "batches:         1"
contains out.txt "check: ok"
expect 0 "dump" -- "$RF" store dump --store s
printf '%s\n%s\n' "$D1" "$D2" > want.jsonl
if ! cmp -s out.txt want.jsonl; then echo "FAIL: dump differs"; diff out.txt want.jsonl; fails=$((fails + 1)); fi

expect 0 "dump up to a time" -- "$RF" store dump --store s --until-time 1
printf '%s\n' "$D1" > want1.jsonl
if ! cmp -s out.txt want1.jsonl; then echo "FAIL: dump --until-time differs"; diff out.txt want1.jsonl; fails=$((fails + 1)); fi
expect 2 "bad --until-time" -- "$RF" store dump --store s --until-time soon

# a torn tail: check reports it and changes nothing; the next ingest repairs
# it. The cut spoils the COMMIT record of the one batch that holds both
# deltas, so the whole batch goes (all or nothing) and is ingested again.
truncate -s -5 s/00000000.seg
expect 1 "check of a torn tail" -- "$RF" store check --store s
contains out.txt "torn tail"
contains out.txt "unfinished batch"
contains out.txt "PROBLEMS FOUND"
expect 0 "ingest repairs the tail" -- "$RF" ingest --store s --durability none good.jsonl
contains err.txt "dropped"
contains out.txt "accepted 2, duplicates 1"
expect 0 "check after repair" -- "$RF" store check --store s

# --batch: a bad line rejects its own batch only; exit 1 all the same
D3='{"id":"d3","timestamp":3,"author":"cy","system":"s","pointers":[{"role":"r","target":3}]}'
D4='{"id":"d4","timestamp":4,"author":"cy","system":"s","pointers":[{"role":"r","target":4}]}'
D5='{"id":"d5","timestamp":5,"author":"cy","system":"s","pointers":[{"role":"r","target":5}]}'
printf '%s\n%s\n{"id":"bad","timestamp":0}\n%s\n%s\n' "$D3" "$D4" "$D5" "$D1" > mixed.jsonl
expect 1 "batches of 2 with a bad line in the second" -- "$RF" ingest --store b --batch 2 mixed.jsonl
contains err.txt "line 3: field 'timestamp': must be a positive integer"
contains err.txt "lines 3-4: batch not appended (1 bad line)"
contains err.txt "the other batches were appended"
contains out.txt "5 lines: accepted 3, duplicates 0, rejected 1 lines (1 of 3 batches of up to 2 lines)"
expect 0 "dump after a partly rejected ingest" -- "$RF" store dump --store b
printf '%s\n%s\n%s\n' "$D3" "$D4" "$D1" > wantb.jsonl
if ! cmp -s out.txt wantb.jsonl; then echo "FAIL: dump after --batch differs"; diff out.txt wantb.jsonl; fails=$((fails + 1)); fi
expect 0 "check after a partly rejected ingest" -- "$RF" store check --store b
contains out.txt "batches:         2"
expect 2 "--batch 0" -- "$RF" ingest --store b --batch 0 mixed.jsonl
contains err.txt "--batch"
expect 2 "--batch without a number" -- "$RF" ingest --store b --batch lots mixed.jsonl
expect 2 "--batch with no value" -- "$RF" ingest --store b --batch
# damage before the tail: an error naming segment and offset
printf 'X' | dd of=s/00000000.seg bs=1 seek=40 conv=notrunc status=none
expect 1 "check of a corrupt store" -- "$RF" store check --store s
contains err.txt "00000000.seg at offset 32"
expect 1 "ingest into a corrupt store" -- "$RF" ingest --store s good.jsonl
contains err.txt "00000000.seg at offset 32"

if [ "$fails" -ne 0 ]; then echo "cli_test: $fails failures"; exit 1; fi
echo "cli_test: ok"
