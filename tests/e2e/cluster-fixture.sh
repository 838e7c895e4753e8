#!/usr/bin/env bash
# The e2e `cluster` fixture (run by ctest; INGRESSX_CLUSTER_DIR set by tests/e2e).
#   cluster-fixture.sh up         dev/cluster up (reuses a healthy cluster in the dir)
#   cluster-fixture.sh down       dev/cluster down, then fail if dev/cluster leftovers lists anything
#   cluster-fixture.sh leftovers  fail if dev/cluster leftovers lists anything
# INGRESSX_E2E_KEEP_CLUSTER=1 : down and leftovers do nothing (exit 77, ctest "skipped"),
# so the next run's `up` reuses the running cluster.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER="$ROOT/dev/cluster"
: "${INGRESSX_CLUSTER_DIR:?INGRESSX_CLUSTER_DIR must be set}"
export INGRESSX_CLUSTER_DIR

keep() { [ "${INGRESSX_E2E_KEEP_CLUSTER:-0}" = 1 ]; }

leftovers() {
  local out
  if out="$("$CLUSTER" leftovers 2>&1)"; then
    printf '%s\n' "$out"
    return 0
  fi
  printf 'FAIL: the cluster of %s left these behind:\n%s\n' "$INGRESSX_CLUSTER_DIR" "$out" >&2
  return 1
}

case "${1:-}" in
  up)
    [ "$(id -u)" = 0 ] || { echo "FAIL: the e2e cluster needs root" >&2; exit 1; }
    t0=$SECONDS
    "$CLUSTER" up
    "$CLUSTER" status
    echo "cluster.up: ready in $((SECONDS - t0)) s (INGRESSX_CLUSTER_DIR=$INGRESSX_CLUSTER_DIR)"
    ;;
  down)
    if keep; then
      echo "INGRESSX_E2E_KEEP_CLUSTER=1: leaving the cluster in $INGRESSX_CLUSTER_DIR running"
      exit 77
    fi
    t0=$SECONDS
    "$CLUSTER" down
    echo "cluster.down: down in $((SECONDS - t0)) s"
    leftovers
    ;;
  leftovers)
    if keep; then
      echo "INGRESSX_E2E_KEEP_CLUSTER=1: the cluster is kept; nothing to check"
      exit 77
    fi
    leftovers
    ;;
  *)
    echo "usage: $0 up|down|leftovers" >&2
    exit 2
    ;;
esac
