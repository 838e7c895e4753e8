#!/usr/bin/env bash
# The e2e `cluster` fixture (run by ctest; INGRESSX_CLUSTER_DIR set by tests/e2e).
#   cluster-fixture.sh up         dev/cluster up (reuses a healthy cluster in the dir)
#   cluster-fixture.sh down       dev/cluster down, then fail if dev/cluster leftovers lists anything
#   cluster-fixture.sh leftovers  fail if dev/cluster leftovers lists anything
# One full cluster runs per machine. When another directory's cluster runs (the demo's,
# or one brought up by hand), `up` borrows it if it is healthy: INGRESSX_CLUSTER_DIR
# becomes a link to it, this build's images are imported, and `down` leaves it running
# (the machine as the tests found it). A recorded cluster that is not healthy is taken
# down first, and `up` says so.
# INGRESSX_E2E_KEEP_CLUSTER=1 : down and leftovers do nothing (exit 77, ctest "skipped"),
# so the next run's `up` reuses the running cluster.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER="$ROOT/dev/cluster"
: "${INGRESSX_CLUSTER_DIR:?INGRESSX_CLUSTER_DIR must be set}"
export INGRESSX_CLUSTER_DIR

keep() { [ "${INGRESSX_E2E_KEEP_CLUSTER:-0}" = 1 ]; }
BORROWED="${INGRESSX_CLUSTER_DIR%/}.borrowed"

# borrow_or_clear : with another directory's full cluster on the machine, borrow it when
# healthy (returns 0), take it down when not (returns 1 after that). Returns 1 when none.
borrow_or_clear() {
  local other rc=0 self
  other="$("$CLUSTER" running 2>/dev/null)" || rc=$?
  [ -n "$other" ] || return 1
  self="$(realpath -m -- "$INGRESSX_CLUSTER_DIR")"
  [ "$(realpath -m -- "$other")" != "$self" ] || return 1
  if [ $rc -ne 0 ]; then
    echo "cluster.up: the full cluster of $other is recorded but not healthy; taking it down first"
    INGRESSX_CLUSTER_DIR="$other" "$CLUSTER" down
    return 1
  fi
  echo "cluster.up: a healthy full cluster runs in $other (one per machine): the tests use it and leave it running"
  if [ -L "$INGRESSX_CLUSTER_DIR" ]; then
    rm -f -- "$INGRESSX_CLUSTER_DIR"
  elif [ -e "$INGRESSX_CLUSTER_DIR" ]; then
    # Our own directory from an earlier run: nothing of it runs (the node is the other's).
    [ -f "$INGRESSX_CLUSTER_DIR/.ingressx-cluster" ] ||
      { echo "FAIL: $INGRESSX_CLUSTER_DIR is not a cluster directory; not replacing it" >&2; exit 1; }
    "$CLUSTER" down >/dev/null
    rm -rf -- "$INGRESSX_CLUSTER_DIR"
  fi
  mkdir -p -- "$(dirname -- "$INGRESSX_CLUSTER_DIR")"
  ln -s -- "$other" "$INGRESSX_CLUSTER_DIR"
  printf '%s\n' "$other" >"$BORROWED"
  # This build's ingressx-hook and images (INGRESSX_BUILD_DIR), as a fresh `up` would.
  "$CLUSTER" images
  return 0
}

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
    rm -f -- "$BORROWED"
    [ ! -L "$INGRESSX_CLUSTER_DIR" ] || rm -f -- "$INGRESSX_CLUSTER_DIR"
    borrow_or_clear || "$CLUSTER" up
    "$CLUSTER" status
    echo "cluster.up: ready in $((SECONDS - t0)) s (INGRESSX_CLUSTER_DIR=$INGRESSX_CLUSTER_DIR)"
    ;;
  down)
    if keep; then
      echo "INGRESSX_E2E_KEEP_CLUSTER=1: leaving the cluster in $INGRESSX_CLUSTER_DIR running"
      exit 77
    fi
    if [ -f "$BORROWED" ]; then
      rm -f -- "$INGRESSX_CLUSTER_DIR"
      echo "cluster.down: the cluster of $(cat "$BORROWED") was borrowed: left running"
      exit 0
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
    if [ -f "$BORROWED" ]; then
      other="$(cat "$BORROWED")"
      rm -f -- "$BORROWED"
      INGRESSX_CLUSTER_DIR="$other" "$CLUSTER" status >/dev/null ||
        { echo "FAIL: the borrowed cluster of $other is no longer healthy" >&2; exit 1; }
      echo "cluster.teardown_check: the borrowed cluster of $other runs as before"
      exit 0
    fi
    leftovers
    ;;
  *)
    echo "usage: $0 up|down|leftovers" >&2
    exit 2
    ;;
esac
