#!/usr/bin/env bash
# The full fault matrix: tests/e2e/operator_faults.sh for every strategy x mode, on the
# local cluster (brought up, or borrowed, as the e2e tests do), one table at the end.
#
#   tests/e2e/fault-matrix.sh [--write FILE] [--extended]
#
# Environment: INGRESSX_BUILD_DIR (default build/ci: the operator binary and the hook
# image come from there), INGRESSX_CLUSTER_DIR (default $INGRESSX_BUILD_DIR/cluster).
# CI (scripts/test.sh, ctest -L e2e) runs two of the four rows: TempFleet crash and
# BlueGreen error. --write FILE also writes the table (markdown) to FILE. --extended also
# runs the other fault scenarios: the cut-off leader, the reloaded front door, the broken
# image, the apiserver down for 30 s, a proxy pod killed mid-drain.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="" extended=0
while [ $# -gt 0 ]; do
  case "$1" in
    --write) out="${2:?--write needs a file}"; shift ;;
    --extended) extended=1 ;;
    *) echo "fault-matrix: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
export INGRESSX_BUILD_DIR="${INGRESSX_BUILD_DIR:-$ROOT/build/ci}"
export INGRESSX_CLUSTER_DIR="${INGRESSX_CLUSTER_DIR:-$INGRESSX_BUILD_DIR/cluster}"
[ -x "$INGRESSX_BUILD_DIR/operator/ingressx-operator" ] ||
  { echo "fault-matrix: no $INGRESSX_BUILD_DIR/operator/ingressx-operator (cmake --build --preset ci)" >&2; exit 1; }
"$ROOT/tests/e2e/cluster-fixture.sh" up
logs="$(mktemp -d /tmp/ingressx-fault-matrix.XXXXXX)"
rc=0
rows=()
for strategy in TempFleet BlueGreen; do
  for mode in crash error; do
    log="$logs/$strategy-$mode.log"
    echo "==> operator_faults.sh $strategy $mode (log $log)"
    if "$ROOT/tests/e2e/operator_faults.sh" "$strategy" "$mode" >"$log" 2>&1; then
      while IFS= read -r l; do rows+=("| $strategy | ${l#| }"); done < <(grep '^| [a-z]' "$log" | grep -v '^| failpoint')
      grep '^ok' "$log" | tail -n 1
    else
      rc=1
      rows+=("| $strategy | (run failed: see $log) | $mode | | Failed | | |")
      tail -n 20 "$log"
    fi
  done
done
if [ $extended = 1 ]; then
  for t in operator_cutoff operator_reload operator_broken_image operator_apiserver_down operator_pod_killed; do
    log="$logs/$t.log"
    echo "==> $t.sh (log $log)"
    if "$ROOT/tests/e2e/$t.sh" >"$log" 2>&1; then grep '^ok' "$log" | tail -n 1; else rc=1; tail -n 20 "$log"; fi
  done
fi
"$ROOT/tests/e2e/cluster-fixture.sh" down || rc=1
table="| strategy | failpoint | action | fired in step | result | requests | failed |
|---|---|---|---|---|---|---|
$(printf '%s\n' "${rows[@]}")"
echo
echo "$table"
[ -z "$out" ] || printf '%s\n' "$table" >"$out"
exit $rc
