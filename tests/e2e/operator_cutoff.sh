#!/usr/bin/env bash
# A leader cut off from the apiserver mid-rollout while a second replica takes over.
# Operator a reaches the apiserver through a TCP forwarder (socat) of its own; b directly.
# a leads; during the rollout's first shift the forwarder's port is black-holed (iptables
# DROP: a's requests hang, they do not fail fast). a must stop acting (no API write, no
# HAProxy write) within its renew deadline (10 s) and exit; b takes the Lease once it has
# gone unrenewed for the lease duration (15 s) and finishes the rollout. Under load, strict
# front door: 0 failed requests, every step once in order, the plan's moves only.
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/operator_lib.sh
. "$(dirname "$0")/operator_lib.sh"
LEASE=ingressx-operator
command -v socat >/dev/null || fail "socat is not installed (scripts/setup.sh --cluster installs it)"
command -v iptables >/dev/null || fail "iptables is not installed"

SOCAT_PID="" DROP_RULE=""
cutoff_cleanup() {
  if [ -n "$DROP_RULE" ]; then iptables -D INPUT -i lo -p tcp --dport "$DROP_RULE" -j DROP 2>/dev/null || true; fi
  if [ -n "$SOCAT_PID" ]; then kill "$SOCAT_PID" 2>/dev/null || true; wait "$SOCAT_PID" 2>/dev/null || true; fi
}
opx_setup
trap 'rc=$?; cutoff_cleanup; (exit $rc); opx_cleanup' EXIT

opx_prepare TempFleet '[{weight: 50, pause: 20s}, {weight: 100}]'
api="${INGRESSX_APISERVER_URL:?no INGRESSX_APISERVER_URL in the cluster env}"
api_port="${api##*:}"
fwd_port="$(opx_free_port)"
setpriv --pdeathsig KILL -- socat "TCP-LISTEN:$fwd_port,bind=127.0.0.1,fork,reuseaddr" "TCP:127.0.0.1:$api_port" &
SOCAT_PID=$!
kubectl config view --raw --flatten --minify >"$OPX_TMP/a.kubeconfig"
cluster="$(kubectl config view --minify -o jsonpath='{.clusters[0].name}')"
kubectl --kubeconfig "$OPX_TMP/a.kubeconfig" config set-cluster "$cluster" --server="https://127.0.0.1:$fwd_port" >/dev/null
for _ in $(seq 1 50); do kubectl --kubeconfig "$OPX_TMP/a.kubeconfig" get ns default >/dev/null 2>&1 && break; sleep 0.1; done
kubectl --kubeconfig "$OPX_TMP/a.kubeconfig" get ns default >/dev/null || fail "the forwarder 127.0.0.1:$fwd_port does not reach the apiserver"

master() { opx_operator_metric "$1" '^leader_election_master_status'; }
KUBECONFIG="$OPX_TMP/a.kubeconfig" opx_start_operator a --leader-election-id "$LEASE"
for _ in $(seq 1 150); do [ "$(master a)" = 1 ] && break; sleep 0.2; done
[ "$(master a)" = 1 ] || fail "operator a did not take the Lease"
opx_start_operator b --leader-election-id "$LEASE"
opx_fleet_up edge-primary edge
[ "$(master b)" = 0 ] || fail "operator b leads; a should"

opx_load_start_recording
opx_start_rollout 2
t0=$SECONDS phase="" step="" cut_at="" a_gone_at="" b_led_at=""
while [ $((SECONDS - t0)) -lt 900 ]; do
  opx_record_split
  opx_poll_rollout "$OPX_FR" "$t0"
  phase="$OPX_PHASE" step="$OPX_STEP"
  if [ -z "$cut_at" ] && [ "$step" = shift-to-temp/1 ]; then
    sleep 2 # the move is made; its pause runs
    iptables -I INPUT -i lo -p tcp --dport "$fwd_port" -j DROP
    DROP_RULE="$fwd_port"
    cut_at="$EPOCHREALTIME"
    opx_log "operator a (pid ${OPX_OP_PID[a]}) cut off from the apiserver (DROP on 127.0.0.1:$fwd_port)"
  fi
  if [ -n "$cut_at" ] && [ -z "$a_gone_at" ] && ! opx_alive "${OPX_OP_PID[a]}"; then
    rc=0
    wait "${OPX_OP_PID[a]}" || rc=$?
    unset "OPX_OP_PID[a]"
    a_gone_at="$EPOCHREALTIME"
    opx_log "operator a exited (status $rc) $(awk -v a="$cut_at" -v b="$a_gone_at" 'BEGIN { printf "%.1f", b - a }') s after the cut"
    [ $rc -ne 0 ] || fail "operator a exited 0 after losing the Lease; it should say it lost it (status 1)"
  fi
  if [ -n "$cut_at" ] && [ -z "$b_led_at" ] && [ "$(master b)" = 1 ]; then
    b_led_at="$EPOCHREALTIME"
    opx_log "operator b leads $(awk -v a="$cut_at" -v b="$b_led_at" 'BEGIN { printf "%.1f", b - a }') s after the cut"
  fi
  case "$phase" in Succeeded | Failed | Aborted) break ;; esac
  sleep 0.3
done
[ -n "$cut_at" ] || fail "the rollout never reached shift-to-temp/1"
[ "$phase" = Succeeded ] || fail "FleetRollout $OPX_FR ended '$phase' ($(k get fr "$OPX_FR" -o jsonpath='{.status.message}'))"
[ -n "$a_gone_at" ] || fail "operator a still runs after the rollout ended, cut off from the apiserver"
[ -n "$b_led_at" ] || fail "operator b never led"
for _ in 1 2 3 4 5 6; do opx_record_split; sleep 0.3; done
opx_load_finish
opx_print_rollout "$OPX_FR"

# a's last write: every API write and HAProxy move is logged; after the cut a may log
# only failures and its step-down. The fence closes at the last good renewal's start +
# 10 s, so within 10 s of the cut (+ 0.5 s of log granularity).
python3 - "${OPX_OP_LOG[a]:-$OPX_TMP/operator-a-1.log}" "$cut_at" <<'PY' || fail "operator a acted after the cut: see above"
import json, sys
from datetime import datetime, timezone
log, cut = sys.argv[1], float(sys.argv[2])
acted, stop = [], None
for line in open(log):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    t = datetime.strptime(e["ts"][:23], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
    m = e.get("msg", "")
    if t > cut and any(k in m for k in ("traffic set to", "applied fleet", "deleting fleet", "created FleetRollout")):
        acted.append("%.1f s after the cut: %s" % (t - cut, m))
    if t > cut and stop is None and ("stepping down" in m or "lost" in m):
        stop = t - cut
for a in acted:
    print("operator a acted", a)
print("operator a stepped down %.1f s after the cut" % stop if stop is not None else "operator a never logged its step-down")
sys.exit(1 if acted or stop is None or stop > 12.5 else 0)
PY
gap="$(awk -v a="$a_gone_at" -v b="$b_led_at" 'BEGIN { printf "%.1f", b - a }')"
awk -v g="$gap" 'BEGIN { exit !(g >= 0) }' || fail "operator b led ${gap#-} s before operator a was gone"
opx_check_steps "$OPX_FR" "$(opx_plan TempFleet)"
opx_check_moves "$(opx_moves TempFleet)"
ok "leader cut off mid-shift: it stopped acting and exited, b took over ${gap} s later and finished; 0 failed requests"
