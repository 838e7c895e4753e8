#!/usr/bin/env bash
# The README's two commands in the order a newcomer runs them, on a fresh clone of HEAD:
# scripts/demo.sh, then scripts/test.sh (what CI runs), then scripts/demo.sh again. Each
# must pass; the demo leaves its cluster up, the tests borrow it and leave it running, the
# second demo reuses it (docs/local-cluster.md, "One full cluster per machine").
#
#   dev/newcomer-check.sh [CLONE_DIR]      (default: a new directory under /tmp)
#
# About 90 minutes on 2 cores from a cold build. Logs: CLONE_DIR/newcomer-*.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$(mktemp -d /tmp/ingressx-newcomer.XXXXXX)}"
[ -e "$dir/.git" ] || git clone -q "$ROOT" "$dir"
cd "$dir"
echo "newcomer-check: fresh clone of $(git rev-parse --short HEAD) in $dir"
t_all=$SECONDS
for cmd in scripts/demo.sh scripts/test.sh scripts/demo.sh; do
  n=$(( ${n:-0} + 1 ))
  log="$dir/newcomer-$n-$(basename "$cmd" .sh).log"
  t0=$SECONDS
  echo "newcomer-check: [$n/3] $cmd (log $log)"
  if ! CI=true "$cmd" </dev/null >"$log" 2>&1; then
    echo "newcomer-check: FAIL: $cmd after $((SECONDS - t0)) s; last lines:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
  echo "newcomer-check: [$n/3] $cmd passed in $((SECONDS - t0)) s"
done
echo "newcomer-check: demo -> test -> demo passed in $((SECONDS - t_all)) s"
