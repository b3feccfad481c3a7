#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it:
#   1. scripts/lint.sh    ansible-lint (production profile, offline) and changelog lint
#   2. scripts/sanity.sh  ansible-test sanity on the collection
#   3. unit tests         pytest -m "not lab" (no lab needed)
#   4. lab tests          pytest -m lab, with the lab brought up first and down afterwards
# Every stage runs even when an earlier one failed; the exit status is non-zero if any failed.
# Extra arguments go to both pytest runs (make test PYTEST_ARGS="-k ike_facts").
# KEEP_LAB=1 leaves the lab up after the lab tests.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
TOPOLOGY=${TOPOLOGY:-lab/topologies/default.yml}
PYTEST=("$PY" -m pytest -p no:cacheprovider --durations=25)

declare -a results=()
failed=0
record() {  # record NAME RC
  local name=$1 rc=$2
  if [ "$rc" -eq 0 ]; then results+=("$name: ok"); else results+=("$name: FAILED (exit $rc)"); failed=1; fi
}
summary() {
  echo
  echo "test: ${results[*]/%/;}"
  if [ "$failed" -eq 0 ]; then echo "test: all stages passed"; else echo "test: some stages FAILED"; fi
}

# pytest exits 5 when no test was collected or all were deselected: not a failure here.
run_pytest() {  # run_pytest NAME pytest-args...
  local name=$1; shift
  local rc=0
  "${PYTEST[@]}" "$@" || rc=$?
  [ "$rc" -eq 5 ] && { echo "test: $name: no tests collected"; rc=0; }
  record "$name" "$rc"
}

echo "==> lint"
rc=0; scripts/lint.sh || rc=$?; record lint "$rc"

echo "==> sanity"
rc=0; scripts/sanity.sh || rc=$?; record sanity "$rc"

echo "==> unit tests"
run_pytest unit -m "not lab" "$@"

echo "==> lab tests"
# Only bring the lab up when there is a lab test to run (and the lab code exists).
rc=0
"${PYTEST[@]}" -q --collect-only -m lab "$@" >/dev/null 2>&1 || rc=$?
if [ "$rc" -eq 5 ]; then
  echo "test: lab: no lab tests collected; lab not started"
  record lab 0
elif [ ! -f lab/labctl.py ]; then
  echo "test: lab: lab/labctl.py does not exist yet; running lab tests without bringing a lab up"
  run_pytest lab -m lab "$@"
else
  lab_down() {
    if [ "${KEEP_LAB:-0}" = 1 ]; then echo "test: KEEP_LAB=1, leaving the lab up"; return 0; fi
    echo "==> lab down"
    local rc=0
    "$PY" -m lab.labctl down || rc=$?
    record "lab down" "$rc"
  }
  # From here on the lab goes down however the script ends (also when half-built).
  trap 'lab_down; summary; exit $failed' EXIT
  trap 'record interrupted 130; exit' INT TERM
  echo "==> lab up ($TOPOLOGY)"
  rc=0; "$PY" -m lab.labctl up --topology "$TOPOLOGY" || rc=$?
  if [ "$rc" -ne 0 ]; then
    record "lab up" "$rc"
  else
    run_pytest lab -m lab "$@"
  fi
  exit "$failed"
fi

summary
exit "$failed"
