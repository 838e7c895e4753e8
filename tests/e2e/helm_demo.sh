#!/usr/bin/env bash
# The demo (scripts/demo.sh) as a test: the chart installed (namespaced), the operator IN
# THE CLUSTER drives an HAProxy front door (in the cluster too, runtime API over TCP by
# Service name) through a TempFleet rollout started with `kubectl ingressx rollout start
# --wait`, under short, slow and long-lived requests from the host: --check fails unless
# every request answered 2xx. No set-up or build (the binaries of INGRESSX_BUILD_DIR), no
# plain-Deployment comparison; namespaces of its own, deleted at the end by the demo.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
build="${INGRESSX_BUILD_DIR:-$E2E_ROOT/build/dev}"
for b in operator/ingressx-operator cli/kubectl-ingressx hooks/ingressx-hook; do
  [ -x "$build/$b" ] || fail "no $build/$b: build ingressx-operator, kubectl-ingressx and ingressx-hook in $build"
done
id="$(printf '%04x%04x' $RANDOM $RANDOM)"
out="$(mktemp -d "${TMPDIR:-/tmp}/ingressx-$E2E_NAME.XXXXXX")"
rc=0
"$E2E_ROOT/scripts/demo.sh" --no-setup --no-build --no-baseline --check --build-dir "$build" \
  --namespace "e2e-helm-demo-$id" --release-namespace "e2e-helm-demo-op-$id" --out "$out" || rc=$?
[ $rc = 0 ] || fail "scripts/demo.sh exited $rc (results and logs in $out)"
grep -q 'Succeeded' "$out/summary.md" || fail "no succeeded FleetRollout in $out/summary.md"
rm -rf -- "$out"
ok "demo: TempFleet rollout by the in-cluster operator (Helm release), 0 failed requests"
