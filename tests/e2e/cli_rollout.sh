#!/usr/bin/env bash
# kubectl ingressx as a CI pipeline uses it, against the real operator on the local
# cluster, under load through the HAProxy front door: `rollout start --wait` exits 0 when
# the rollout finishes, 3 when --timeout is too short, 4 when the rollout waits for manual
# promotion, 1 when it is aborted. Also prints the cold-start time of `rollout status`
# next to `kubectl get proxyfleet`.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/operator_lib.sh
. "$(dirname "$0")/operator_lib.sh"
opx_setup
CLI_DIR="$OPX_BUILD_DIR/cli"
[ -x "$CLI_DIR/kubectl-ingressx" ] ||
  fail "no $CLI_DIR/kubectl-ingressx (build it: cmake --build $OPX_BUILD_DIR --target kubectl-ingressx)"
export PATH="$CLI_DIR:$PATH"
opx_prepare TempFleet '[{weight: 100, pause: 2s}]'
opx_start_operator main
opx_fleet_up edge-primary edge

# A pod template patch per rollout: a new annotation value is a new revision.
patch_file() {
  local f="$OPX_TMP/patch-$1.yaml"
  printf 'metadata:\n  annotations:\n    e2e.ingressx.io/revision: "%s"\n' "$1" >"$f"
  printf '%s\n' "$f"
}
# ingressx EXPECTED_RC ARGS... : runs `kubectl ingressx -n NS ARGS...`, output prefixed,
# and fails unless it exits EXPECTED_RC.
ingressx() {
  local want="$1" rc=0
  shift
  opx_log "kubectl ingressx $* (want exit $want)"
  set +e
  kubectl ingressx -n "$NS" "$@" 2>&1 | sed 's/^/    | /'
  rc="${PIPESTATUS[0]}"
  set -e
  [ "$rc" = "$want" ] || fail "kubectl ingressx $* exited $rc, want $want"
  ok "kubectl ingressx $1 ... exited $rc"
}

# Cold start: one `rollout status` that looks once, next to kubectl reading the same fleet.
ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(ms)
kubectl ingressx -n "$NS" rollout status edge --watch=false >/dev/null 2>&1 || true
t1=$(ms)
kubectl -n "$NS" get proxyfleet edge >/dev/null
t2=$(ms)
echo "figures: cold start: kubectl ingressx rollout status $((t1 - t0)) ms, kubectl get proxyfleet $((t2 - t1)) ms"

opx_load_start_all
sleep 2

# 1. --wait returns 0 when the rollout is done.
ingressx 0 rollout start edge -f "$(patch_file 2)" --wait --timeout 300s
[ "$(opx_pf '{.status.phase}')" = Ready ] || fail "fleet not Ready after rollout start --wait returned 0"

# 2. A --timeout shorter than the rollout: 3; the rollout itself goes on and finishes.
ingressx 3 rollout start edge -f "$(patch_file 3)" --wait --timeout 3s
ingressx 0 rollout status edge --timeout 300s

# 3. Manual promotion: --wait stops at the promotion point with 4; promote; status 0.
k patch pf edge --type merge -p '{"spec":{"strategy":{"promotion":"Manual"}}}' >/dev/null
ingressx 4 rollout start edge -f "$(patch_file 4)" --wait --timeout 300s
ingressx 0 rollout promote edge
ingressx 0 rollout status edge --timeout 300s

# 4. An abort while --wait waits: 1; traffic is back on the known-good primary.
k patch pf edge --type merge -p '{"spec":{"strategy":{"promotion":"Automatic"},"cutover":{"steps":[{"weight":50,"pause":"120s"},{"weight":100}]}}}' >/dev/null
out="$OPX_TMP/start-5.out"
kubectl ingressx -n "$NS" rollout start edge -f "$(patch_file 5)" --wait --timeout 300s >"$out" 2>&1 &
waiter=$!
for _ in $(seq 1 300); do
  [ "$(k get fr -l ingressx.io/fleet=edge -o jsonpath='{range .items[*]}{.status.currentStep}{"\n"}{end}' | grep -c '^shift-to-temp/1$')" -ge 1 ] && break
  sleep 0.5
done
ingressx 0 rollout abort edge
rc=0
wait "$waiter" || rc=$?
sed 's/^/    | /' "$out"
[ "$rc" = 1 ] || fail "rollout start --wait exited $rc after the abort, want 1"
ok "rollout start --wait exited 1 after the abort"
opx_wait_traffic_on edge-primary edge 60
opx_wait_fleet_phase Aborted 120
opx_load_finish
ok "kubectl ingressx exit codes 0, 3, 4, 1 on real rollouts; load: 0 failed requests"
