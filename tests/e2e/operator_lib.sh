# Helpers of the operator e2e tests (sourced after lib.sh). The operator runs on the
# host (not in the cluster) with the admin kubeconfig; in front of the fleets is an
# HAProxy on the host (the "front door", started by the test), whose runtime API the
# operator drives; a fortio backend in the cluster; fortio load clients on the host send
# short, slow and long-lived requests through the front door during the whole rollout.
#
# opx_setup makes the namespace and installs a cleanup trap that, even on failure, stops
# the load clients, deletes the ProxyFleet while an operator still runs, kills every
# operator and HAProxy it started (by PID), then deletes the namespace (lib.sh).
# Everything started in the background also gets SIGKILL from the kernel when this
# script dies (setpriv --pdeathsig), so a killed test leaves no process behind.
# shellcheck shell=bash disable=SC2034,SC2016

OPX_DATA="$E2E_ROOT/tests/e2e/data"
OPX_BUILD_DIR="${INGRESSX_BUILD_DIR:-$E2E_ROOT/build/dev}"
OPX_OPERATOR_BIN="${INGRESSX_OPERATOR_BIN:-$OPX_BUILD_DIR/operator/ingressx-operator}"
OPX_HOOK_IMAGE="${INGRESSX_INGRESSX_IMAGE:-localhost/ingressx/ingressx:dev}"
OPX_FLEET=edge
OPX_TMP=""
OPX_HAPROXY_PID=""
OPX_HAPROXY_PORT=""
OPX_HAPROXY_STATS_PORT=""
OPX_LOADS=()
declare -A OPX_LOAD_PID=() OPX_OP_PID=() OPX_OP_METRICS=() OPX_OP_HEALTH=() OPX_OP_LOG=()
OPX_OP_SEQ=0
OPX_OP_BAD_EXIT=""  # operators that did not stop cleanly on SIGTERM (fails the test)

opx_log() { printf '%s %s\n' "$(date +%T.%1N)" "$*"; }
opx_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# opx_alive PID : the process runs (not gone, not a zombie).
opx_alive() {
  local st
  st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
# opx_render FILE : FILE from tests/e2e/data with ${OPX_*} and ${INGRESSX_*} variables
# substituted (only those: nginx's own $variables stay).
opx_render() {
  (
    local v vars=""
    for v in $(compgen -v | grep -E '^(OPX|INGRESSX)_'); do
      export "${v?}"
      vars="$vars \${$v}"
    done
    envsubst "$vars" <"$OPX_DATA/$1"
  )
}

# ---------------------------------------------------------------- setup and cleanup

# opx_setup : namespace, temp dir, cleanup trap; CRDs installed (server-side apply).
opx_setup() {
  e2e_namespace
  OPX_TMP="$(mktemp -d "${TMPDIR:-/tmp}/ingressx-$E2E_NAME.XXXXXX")"
  trap opx_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
  opx_log "namespace $NS, logs in $OPX_TMP"
  kubectl apply --server-side --force-conflicts -f "$E2E_ROOT/crds/" >/dev/null ||
    fail "could not install the CRDs from crds/"
  kubectl wait --for condition=established --timeout=30s \
    crd/proxyfleets.ingressx.io crd/fleetrollouts.ingressx.io >/dev/null ||
    fail "the ingressx CRDs are not established after 30 s"
}

opx_dump_state() {
  echo "--- ingressx state at failure (namespace $NS, t=$((SECONDS))s)"
  k get pf,fr -o wide 2>&1 | sed 's/^/    /' || true
  local fr
  fr="$(k get pf "$OPX_FLEET" -o jsonpath='{.status.currentRollout}' 2>/dev/null || true)"
  [ -n "$fr" ] && opx_print_rollout "$fr" 2>&1 | sed 's/^/    /'
  echo "--- ProxyFleet status"
  k get pf "$OPX_FLEET" -o jsonpath='{.status}' 2>&1 | python3 -m json.tool 2>/dev/null | head -n 60 | sed 's/^/    /' || true
  if [ -n "$OPX_HAPROXY_PID" ]; then
    echo "--- HAProxy servers: $(opx_haproxy_summary 2>&1)"
    echo "--- HAProxy log, last non-2xx lines:"
    awk '$6 !~ /^2/' "$OPX_TMP/haproxy.log" 2>/dev/null | tail -n 15 | sed 's/^/    /' || true
  fi
  local n
  for n in "${!OPX_OP_LOG[@]}"; do
    echo "--- operator $n (pid ${OPX_OP_PID[$n]:-?}) log tail: ${OPX_OP_LOG[$n]}"
    tail -n 40 "${OPX_OP_LOG[$n]}" 2>/dev/null | cut -c1-400 | sed 's/^/    /' || true
  done
}

opx_cleanup() {
  local rc=$?
  set +e
  trap - INT TERM HUP
  [ $rc -ne 0 ] && [ -n "${NS:-}" ] && opx_dump_state
  opx_load_kill_all
  # Delete the fleet while an operator runs, so that a finalizer of its own is handled.
  local n live=0
  for n in "${!OPX_OP_PID[@]}"; do opx_alive "${OPX_OP_PID[$n]}" && live=1; done
  if [ -n "${NS:-}" ] && [ $live = 1 ]; then
    k delete pf --all --wait=true --timeout=45s >/dev/null 2>&1 ||
      echo "warning: ProxyFleets in $NS not deleted within 45 s" >&2
  fi
  for n in "${!OPX_OP_PID[@]}"; do opx_stop_operator "$n" TERM; done
  if [ -n "$OPX_OP_BAD_EXIT" ] && [ $rc -eq 0 ]; then
    echo "FAIL [$E2E_NAME]: $OPX_OP_BAD_EXIT" >&2
    rc=1
  fi
  if [ -n "${NS:-}" ]; then
    local o
    for o in $(k get pf,fr -o name 2>/dev/null); do
      k patch "$o" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
    done
  fi
  opx_haproxy_stop
  if [ -n "$OPX_TMP" ]; then
    if [ $rc -eq 0 ]; then rm -rf -- "$OPX_TMP"; else echo "logs kept in $OPX_TMP" >&2; fi
  fi
  (exit $rc)
  e2e_cleanup
}

# ---------------------------------------------------------------- HAProxy front door

# opx_haproxy_start : HAProxy (foreground, PID recorded) on 127.0.0.1:OPX_HAPROXY_PORT
# with its runtime API on 127.0.0.1:OPX_HAPROXY_STATS_PORT; log in $OPX_TMP/haproxy.log.
# opx_haproxy_start same : again on the same ports, from the same config file (a reload
# as a front door's config management does it: runtime weights are forgotten).
opx_haproxy_start() {
  if [ "${1:-}" != same ]; then
    OPX_HAPROXY_PORT="$(opx_free_port)"
    OPX_HAPROXY_STATS_PORT="$(opx_free_port)"
  fi
  opx_render operator-haproxy.cfg >"$OPX_TMP/haproxy.cfg"
  /usr/sbin/haproxy -c -q -f "$OPX_TMP/haproxy.cfg" || fail "invalid HAProxy config $OPX_TMP/haproxy.cfg"
  setpriv --pdeathsig KILL -- /usr/sbin/haproxy -db -f "$OPX_TMP/haproxy.cfg" >>"$OPX_TMP/haproxy.log" 2>&1 &
  OPX_HAPROXY_PID=$!
  local _
  for _ in $(seq 1 50); do
    opx_alive "$OPX_HAPROXY_PID" || fail "HAProxy exited at start: $(tail -n 5 "$OPX_TMP/haproxy.log")"
    opx_haproxy_cmd "show info" 2>/dev/null | grep -q '^Pid:' && {
      opx_log "HAProxy pid $OPX_HAPROXY_PID: front door 127.0.0.1:$OPX_HAPROXY_PORT, runtime API 127.0.0.1:$OPX_HAPROXY_STATS_PORT"
      return 0
    }
    sleep 0.1
  done
  fail "HAProxy runtime API 127.0.0.1:$OPX_HAPROXY_STATS_PORT does not answer after 5 s"
}
opx_haproxy_stop() {
  [ -n "$OPX_HAPROXY_PID" ] || return 0
  kill "$OPX_HAPROXY_PID" 2>/dev/null || true
  local _
  for _ in $(seq 1 30); do opx_alive "$OPX_HAPROXY_PID" || break; sleep 0.1; done
  if opx_alive "$OPX_HAPROXY_PID"; then kill -KILL "$OPX_HAPROXY_PID" 2>/dev/null || true; fi
  wait "$OPX_HAPROXY_PID" 2>/dev/null || true
  OPX_HAPROXY_PID=""
}
# opx_haproxy_cmd CMD... : one runtime API command; prints the answer.
opx_haproxy_cmd() {
  timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "%s\n" "$2" >&3 && cat <&3' \
    _ "$OPX_HAPROXY_STATS_PORT" "$*"
}
# opx_haproxy_servers : one line per server of backend edge: NAME ADDR PORT WEIGHT STATE
# (STATE: ready, drain, maint or down; from "show servers state edge").
opx_haproxy_servers() {
  opx_haproxy_cmd "show servers state edge" | awk '
    NF >= 19 && $2 == "edge" {
      op = $6; adm = $7; st = "ready"
      # admin state bits: 0x01 forced, 0x02 inherited, 0x20 resolution maintenance;
      # 0x08 forced, 0x10 inherited drain (0x04 only says "disabled" in the config).
      if (adm % 2 || int(adm / 2) % 2 || int(adm / 32) % 2) st = "maint"
      else if (int(adm / 8) % 2 || int(adm / 16) % 2) st = "drain"
      else if (op != 2) st = "down"
      print $4, $5, $19, $8, st
    }'
}
# opx_haproxy_summary : the servers on one line, e.g.
# "edge-primary=100@10.0.0.12:80 edge-temp=0@10.0.0.40:80(drain) edge-blue=0(maint) ..."
opx_haproxy_summary() {
  [ -n "$OPX_HAPROXY_PID" ] || { echo "(no HAProxy)"; return 0; }
  opx_haproxy_servers | awk '{
    s = $1 "=" $4; if ($2 != "127.0.0.1" || $3 != 9) s = s "@" $2 ":" $3
    if ($5 != "ready") s = s "(" $5 ")"; printf "%s%s", sep, s; sep = " " } END { print "" }'
}
# opx_traffic_on SERVER SERVICE : all traffic goes to SERVER, whose address is the
# ClusterIP of SERVICE: it has a weight > 0 and is ready; every other server has weight 0
# or is not ready (drain, maint, down). Prints why not on stdout when it does not hold.
opx_traffic_on() {
  local server="$1" svc="$2" ip servers
  ip="$(k get svc "$svc" -o jsonpath='{.spec.clusterIP}' 2>/dev/null)" || ip=""
  [ -n "$ip" ] || { echo "no Service $svc"; return 1; }
  servers="$(opx_haproxy_servers)" || { echo "runtime API does not answer"; return 1; }
  awk -v want="$server" -v ip="$ip" '
    $1 == want { seen = 1; if ($2 != ip || $4 <= 0 || $5 != "ready") bad = bad " " $1 " is " $4 "@" $2 ":" $3 " " $5 " (want weight>0 @" ip " ready);" }
    $1 != want && $4 > 0 && $5 == "ready" { bad = bad " " $1 " still has weight " $4 ";" }
    END { if (!seen) bad = bad " no server " want; if (bad != "") { print bad; exit 1 } }' <<<"$servers"
}
# opx_wait_traffic_on SERVER SERVICE TIMEOUT
opx_wait_traffic_on() {
  local server="$1" svc="$2" deadline=$((SECONDS + $3)) why=""
  while [ $SECONDS -lt $deadline ]; do
    why="$(opx_traffic_on "$server" "$svc")" && {
      opx_log "HAProxy: all traffic on $server -> Service $svc: $(opx_haproxy_summary)"
      return 0
    }
    sleep 0.5
  done
  fail "HAProxy does not send all traffic to $server (Service $svc) after $3 s:$why; servers: $(opx_haproxy_summary)"
}
# opx_haproxy_point SERVER ADDR PORT WEIGHT : sets a server by hand (harness checks only).
opx_haproxy_point() {
  opx_haproxy_cmd "set server edge/$1 addr $2 port $3" >/dev/null &&
    opx_haproxy_cmd "set server edge/$1 weight $4" >/dev/null &&
    opx_haproxy_cmd "set server edge/$1 state ready" >/dev/null || fail "runtime API: could not set $1"
}

# ---------------------------------------------------------------- cluster objects

# opx_http_ok URL : GET from the host answers 200 within 10 s (kube-proxy may need a
# moment to program a new Service). fortio's echo answers 200 with an empty body.
opx_http_ok() {
  local code="" _
  for _ in $(seq 1 20); do
    code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 3 "$1" 2>&1)" && [ "$code" = 200 ] && return 0
    sleep 0.5
  done
  fail "GET $1 does not answer 200 within 10 s; last: $code"
}

# opx_backend : the fortio backend (2 replicas) and Service backend; sets OPX_BACKEND_IP.
opx_backend() {
  opx_render operator-backend.yaml | k apply -f - >/dev/null || fail "could not apply the backend"
  k rollout status deploy/backend --timeout=120s >/dev/null || fail "backend did not become ready in 120 s"
  OPX_BACKEND_IP="$(k get svc backend -o jsonpath='{.spec.clusterIP}')"
  opx_http_ok "http://$OPX_BACKEND_IP/?delay=10ms"
  opx_log "backend: fortio x2 behind Service backend $OPX_BACKEND_IP"
}
# opx_nginx_configmap : ConfigMap edge-nginx (needs OPX_BACKEND_IP).
opx_nginx_configmap() {
  opx_render operator-nginx-configmap.yaml | k apply -f - >/dev/null || fail "could not apply ConfigMap edge-nginx"
}
# opx_render_fleet STRATEGY STEPS [REPLICAS] : renders the ProxyFleet to $OPX_TMP/fleet.yaml.
# STRATEGY: TempFleet or BlueGreen (scaleDownDelay 5s); STEPS: flow-style list. The cutover
# is the host HAProxy's (weight/haproxy) unless OPX_CUTOVER_TYPE (weight or dns) and
# OPX_CUTOVER_BLOCK (its flow-style block, e.g. {provider: rfc2136, rfc2136: {...}}) are
# set; the Service port is OPX_SERVICE_PORT (default 80).
OPX_SERVICE_PORT=80
OPX_MIN_DRAIN=2s  # the fleet's proxy.drain.minDrain
OPX_CUTOVER_TYPE="" OPX_CUTOVER_BLOCK="" OPX_CUTOVER=""
OPX_NGINX_ACCESS_LOG=""  # see data/operator-nginx-configmap.yaml
opx_render_fleet() {
  case "$1" in
    TempFleet)
      OPX_STRATEGY='{type: TempFleet}'
      OPX_HAPROXY_SERVERS='{primary: edge-primary, temp: edge-temp}' ;;
    BlueGreen)
      OPX_STRATEGY='{type: BlueGreen, scaleDownDelay: 5s}'
      OPX_HAPROXY_SERVERS='{blue: edge-blue, green: edge-green}' ;;
    *) fail "opx_render_fleet: unknown strategy $1" ;;
  esac
  OPX_STEPS="$2"
  OPX_FLEET_REPLICAS="${3:-3}"
  if [ -n "$OPX_CUTOVER_BLOCK" ]; then
    OPX_CUTOVER="$OPX_CUTOVER_BLOCK"
  else
    OPX_CUTOVER_TYPE=weight
    OPX_CUTOVER="{provider: haproxy, haproxy: {runtimeAPI: '127.0.0.1:${OPX_HAPROXY_STATS_PORT}', backend: edge, servers: $OPX_HAPROXY_SERVERS}}"
  fi
  opx_render operator-fleet.yaml >"$OPX_TMP/fleet.yaml"
}
# opx_dry_run_fleet : the apiserver (schema + CEL rules) accepts $OPX_TMP/fleet.yaml.
opx_dry_run_fleet() {
  local out
  out="$(k apply --dry-run=server -f "$OPX_TMP/fleet.yaml" 2>&1)" ||
    fail "the apiserver refuses the ProxyFleet: $out"
}
opx_apply_fleet() {
  k apply -f "$OPX_TMP/fleet.yaml" >/dev/null || fail "could not apply the ProxyFleet"
  opx_log "ProxyFleet $OPX_FLEET applied ($OPX_STRATEGY, steps $OPX_STEPS)"
}
# opx_prepare STRATEGY STEPS : everything but the operator: HAProxy, backend, ConfigMap,
# the fleet manifest rendered and checked by a server-side dry run.
opx_prepare() {
  opx_haproxy_start
  opx_backend
  opx_nginx_configmap
  opx_render_fleet "$1" "$2"
  opx_dry_run_fleet
}

# opx_pf JSONPATH : a field of the ProxyFleet; empty (and success) when it cannot be read.
opx_pf() { k get pf "$OPX_FLEET" -o jsonpath="$1" 2>/dev/null || true; }
# opx_wait_fleet_phase PHASE TIMEOUT : prints phase changes.
opx_wait_fleet_phase() {
  local want="$1" deadline=$((SECONDS + $2)) phase="" last="-"
  while [ $SECONDS -lt $deadline ]; do
    phase="$(opx_pf '{.status.phase}')" || phase=""
    if [ "$phase" != "$last" ]; then
      opx_log "ProxyFleet $OPX_FLEET phase '${phase}' ($(opx_pf '{.status.message}'))"
      last="$phase"
    fi
    [ "$phase" = "$want" ] && return 0
    sleep 0.5
  done
  fail "ProxyFleet $OPX_FLEET is in phase '$phase', not $want, after $2 s"
}
# opx_change_template MARK : a template change (pod annotation e2e.ingressx.io/revision).
opx_change_template() {
  k patch pf "$OPX_FLEET" --type merge \
    -p "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"e2e.ingressx.io/revision\":\"$1\"}}}}}" \
    >/dev/null || fail "could not patch the fleet's template"
  opx_log "template changed: pod annotation e2e.ingressx.io/revision=$1"
}
# opx_wait_update_revision ABOVE TIMEOUT : waits for .status.updateRevision > ABOVE; prints it.
opx_wait_update_revision() {
  local above="$1" deadline=$((SECONDS + $2)) rev=""
  while [ $SECONDS -lt $deadline ]; do
    rev="$(opx_pf '{.status.updateRevision}')" || rev=""
    [ -n "$rev" ] && [ "$rev" -gt "$above" ] && { echo "$rev"; return 0; }
    sleep 0.5
  done
  fail "the fleet's status.updateRevision is '$rev' $2 s after the template change (want > $above)"
}
# opx_rollout_of REVISION TIMEOUT : prints the name of the FleetRollout of that revision.
opx_rollout_of() {
  local rev="$1" deadline=$((SECONDS + $2)) name=""
  while [ $SECONDS -lt $deadline ]; do
    name="$(k get fr -o json 2>/dev/null | python3 -c '
import json, sys
for i in json.load(sys.stdin)["items"]:
    s = i.get("spec", {})
    if s.get("fleetRef", {}).get("name") == sys.argv[1] and str(s.get("revision")) == sys.argv[2]:
        print(i["metadata"]["name"]); break' "$OPX_FLEET" "$rev")" || name=""
    [ -n "$name" ] && { echo "$name"; return 0; }
    sleep 0.5
  done
  fail "no FleetRollout of fleet $OPX_FLEET for revision $rev after $2 s"
}

# opx_watch_rollout FR WANT_PHASE TIMEOUT [ON_STEP] : follows the FleetRollout until it
# ends, printing each step change with the HAProxy weights; fails unless it ends in
# WANT_PHASE. ON_STEP, a function, is called with the new step at each change.
OPX_ROLLOUT_WALL=""
opx_watch_rollout() {
  local fr="$1" want="$2" deadline=$((SECONDS + $3)) on_step="${4:-}" t0=$SECONDS
  local phase="" step="" last="-" st
  while [ $SECONDS -lt $deadline ]; do
    st="$(k get fr "$fr" -o jsonpath='{.status.phase}|{.status.currentStep}' 2>/dev/null)" || st="|"
    phase="${st%%|*}" step="${st#*|}"
    # Recording the moves (opx_load_start_recording) goes on while the rollout is watched.
    [ ! -e "$OPX_TMP/splits" ] || opx_record_split
    if [ "$phase/$step" != "$last" ]; then
      opx_log "FleetRollout $fr +$((SECONDS - t0))s phase=${phase:-?} step=${step:--} | $(opx_haproxy_summary 2>&1)"
      last="$phase/$step"
      [ -n "$on_step" ] && [ -n "$step" ] && "$on_step" "$step"
    fi
    case "$phase" in
      Succeeded | Failed | Aborted)
        OPX_ROLLOUT_WALL=$((SECONDS - t0))
        [ "$phase" = "$want" ] && return 0
        fail "FleetRollout $fr ended $phase, want $want: $(k get fr "$fr" -o jsonpath='{.status.message}')" ;;
    esac
    sleep 0.3
  done
  fail "FleetRollout $fr is $phase at step '$step' after $3 s (want $want)"
}
# opx_print_rollout FR : its steps with times, traffic and drains; the wall time.
opx_print_rollout() {
  k get fr "$1" -o json | python3 -c '
import json, sys
from datetime import datetime
def t(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None
def dur(a, b):
    a, b = t(a), t(b)
    return "%6.1fs" % (b - a).total_seconds() if a and b else "     -"
fr = json.load(sys.stdin); st = fr.get("status", {}); sp = fr.get("spec", {})
print("FleetRollout %s: revision %s <- %s, trigger %s, phase %s, %s" % (fr["metadata"]["name"],
      sp.get("revision"), sp.get("fromRevision"), sp.get("trigger"), st.get("phase"), st.get("message", "")))
for s in st.get("steps", []):
    tr = " ".join("%s=%s" % (x.get("fleet"), x.get("weight")) for x in s.get("traffic", []) or [])
    print("  %-18s %-9s %s  %s .. %s  %s %s" % (s.get("name"), s.get("phase"), dur(s.get("startedAt"), s.get("finishedAt")),
          (s.get("startedAt") or "-")[11:19], (s.get("finishedAt") or "-")[11:19], tr, s.get("message", "") or ""))
for d in st.get("drains", []) or []:
    print("  drain %s: %s connections, %s, decided by %s" % (d.get("fleet"), d.get("activeConnections"),
          dur(d.get("startedAt"), d.get("finishedAt")).strip(), d.get("decidedBy")))
print("  wall time %s (startedAt %s, finishedAt %s)" % (dur(st.get("startedAt"), st.get("finishedAt")).strip(),
      st.get("startedAt"), st.get("finishedAt")))'
}

# opx_fleet_pods DEPLOYMENT : "NAME READY TERMINATING REVISION-ANNOTATION" per pod of the
# Deployment (by its selector).
opx_fleet_pods() {
  local sel
  sel="$(k get deploy "$1" -o json | python3 -c '
import json, sys
m = json.load(sys.stdin)["spec"]["selector"].get("matchLabels", {})
print(",".join("%s=%s" % kv for kv in sorted(m.items())))')" || return 1
  k get pods -l "$sel" -o json | python3 -c '
import json, sys
for p in json.load(sys.stdin)["items"]:
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))
    print(p["metadata"]["name"], "ready" if ready else "notready",
          "terminating" if p["metadata"].get("deletionTimestamp") else "running",
          p["metadata"].get("annotations", {}).get("e2e.ingressx.io/revision", "-"))'
}
# opx_assert_fleet_pods DEPLOYMENT MARK REPLICAS TIMEOUT : exactly REPLICAS pods, all
# ready, none terminating, all with annotation e2e.ingressx.io/revision=MARK.
opx_assert_fleet_pods() {
  local d="$1" mark="$2" n="$3" deadline=$((SECONDS + $4)) pods=""
  while [ $SECONDS -lt $deadline ]; do
    pods="$(opx_fleet_pods "$d" 2>/dev/null)" || pods=""
    if [ -n "$pods" ] && [ "$(wc -l <<<"$pods")" = "$n" ] &&
      ! awk -v m="$mark" '$2 != "ready" || $3 != "running" || $4 != m { bad = 1 } END { exit !bad }' <<<"$pods"; then
      opx_log "Deployment $d: $n pods, all ready, all at template mark $mark"
      return 0
    fi
    sleep 1
  done
  fail "Deployment $d does not have $n ready pods at template mark $mark after $4 s: $(tr '\n' ';' <<<"$pods")"
}
# opx_wait_gone KIND/NAME TIMEOUT
opx_wait_gone() {
  local deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    k get "$1" >/dev/null 2>&1 || { opx_log "$1 is gone"; return 0; }
    sleep 0.5
  done
  fail "$1 still exists after $2 s"
}

# ---------------------------------------------------------------- the operator

# opx_start_operator NAME [EXTRA ARGS...] : starts ingressx-operator on the host (PID in
# OPX_OP_PID[NAME], log in OPX_OP_LOG[NAME]) and waits until its /healthz answers.
# Fails, with the log's tail, when the binary is missing or does not keep running.
opx_start_operator() {
  local name="$1"
  shift
  [ -e "$OPX_OPERATOR_BIN" ] ||
    fail "no operator binary $OPX_OPERATOR_BIN (build it: cmake --build $OPX_BUILD_DIR --target ingressx-operator); this test needs it"
  [ -x "$OPX_OPERATOR_BIN" ] || fail "$OPX_OPERATOR_BIN is not executable"
  # (Not for a restart without waiting: the apiserver may be what is down.)
  [ "${OPX_START_NO_WAIT:-0}" = 1 ] ||
    kubectl get node -o jsonpath='{.items[*].status.images[*].names}' | grep -q -- "$OPX_HOOK_IMAGE" ||
    fail "the node has no image $OPX_HOOK_IMAGE (the preStop hook): run dev/cluster images with INGRESSX_BUILD_DIR=$OPX_BUILD_DIR"
  local mport hport log pid
  mport="$(opx_free_port)"
  hport="$(opx_free_port)"
  OPX_OP_SEQ=$((OPX_OP_SEQ + 1))
  log="$OPX_TMP/operator-$name-$OPX_OP_SEQ.log"
  setpriv --pdeathsig KILL -- "$OPX_OPERATOR_BIN" --kubeconfig "$KUBECONFIG" --namespace "$NS" \
    --leader-election-namespace "$NS" --hook-image "$OPX_HOOK_IMAGE" \
    --metrics-bind-address "127.0.0.1:$mport" --health-probe-bind-address "127.0.0.1:$hport" \
    --log-format json "$@" >"$log" 2>&1 &
  pid=$!
  OPX_OP_PID[$name]=$pid OPX_OP_METRICS[$name]=$mport OPX_OP_HEALTH[$name]=$hport OPX_OP_LOG[$name]=$log
  # OPX_START_NO_WAIT=1: the caller watches the process itself (it may crash on purpose).
  if [ "${OPX_START_NO_WAIT:-0}" = 1 ]; then
    opx_log "operator $name: pid $pid (not waiting for /healthz), log $log"
    return 0
  fi
  local t0=$SECONDS rc=0 _
  for _ in $(seq 1 150); do
    if ! opx_alive "$pid"; then
      wait "$pid" || rc=$?
      unset "OPX_OP_PID[$name]"
      fail "ingressx-operator ($name) exited with status $rc $((SECONDS - t0)) s after its start instead of running; $OPX_OPERATOR_BIN is not a working operator yet. Log tail: $(tail -n 15 "$log" | cut -c1-300)"
    fi
    curl -fsS --max-time 1 "http://127.0.0.1:$hport/healthz" >/dev/null 2>&1 && {
      opx_log "operator $name: pid $pid, metrics 127.0.0.1:$mport, health 127.0.0.1:$hport, log $log"
      return 0
    }
    sleep 0.2
  done
  fail "ingressx-operator ($name, pid $pid) runs but its /healthz on 127.0.0.1:$hport does not answer after 30 s. Log tail: $(tail -n 15 "$log" | cut -c1-300)"
}
# opx_stop_operator NAME [SIGNAL] : SIGNAL (default TERM) to its PID; SIGKILL after 10 s.
opx_stop_operator() {
  local name="$1" sig="${2:-TERM}" pid="${OPX_OP_PID[$1]:-}" _
  [ -n "$pid" ] || return 0
  local rc=0 killed=0
  kill -s "$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do opx_alive "$pid" || break; sleep 0.1; done
  if opx_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; killed=1; fi
  wait "$pid" 2>/dev/null || rc=$?
  unset "OPX_OP_PID[$name]"
  # After SIGTERM the operator must stop cleanly (status 0) within 10 s.
  if [ "$sig" = TERM ] && { [ $killed = 1 ] || [ $rc -ne 0 ]; }; then
    OPX_OP_BAD_EXIT="${OPX_OP_BAD_EXIT}operator $name (pid $pid) exited with status $rc after SIGTERM$([ $killed = 1 ] && echo ' (SIGKILL after 10 s)'); "
    echo "operator $name (pid $pid) did not stop cleanly on SIGTERM: status $rc; log ${OPX_OP_LOG[$name]:-?}" >&2
  fi
  return 0
}
# opx_operator_metric NAME REGEX : sum of the samples of the operator's /metrics whose
# line matches REGEX (e.g. '^leader_election_master_status'); empty when none.
opx_operator_metric() {
  { curl -fsS --max-time 2 "http://127.0.0.1:${OPX_OP_METRICS[$1]}/metrics" 2>/dev/null || true; } |
    awk -v re="$2" '$0 ~ re && !/^#/ { s += $NF; n++ } END { if (n) print s + 0 }'
}

# ---------------------------------------------------------------- load through the front door

OPX_FORTIO=""
# Where the load goes: OPX_LOAD_URL (default the front door, http://127.0.0.1:PORT), run
# through the command OPX_LOAD_PREFIX (e.g. ip netns exec NS) with the extra fortio flags
# OPX_LOAD_FLAGS (e.g. -keepalive=false).
OPX_LOAD_URL="" OPX_LOAD_PREFIX=() OPX_LOAD_FLAGS=()
# opx_load_start NAME QPS CONNECTIONS TIMEOUT PATH : a fortio client in the background
# (keep-alive unless OPX_LOAD_FLAGS say otherwise, until stopped), JSON result in
# $OPX_TMP/load-NAME.json.
opx_load_start() {
  local name="$1" qps="$2" c="$3" timeout="$4" path="$5"
  if [ -z "$OPX_FORTIO" ]; then
    OPX_FORTIO="$("$E2E_ROOT/dev/lib/build-fortio.sh")/fortio" || fail "no fortio client (dev/lib/build-fortio.sh)"
  fi
  rm -f "$OPX_TMP/load-$name.json"
  setpriv --pdeathsig KILL -- "${OPX_LOAD_PREFIX[@]}" "$OPX_FORTIO" load -qps "$qps" -c "$c" -t 0 \
    -timeout "$timeout" "${OPX_LOAD_FLAGS[@]}" -logger-json=false -json "$OPX_TMP/load-$name.json" \
    "$(opx_load_url)$path" >"$OPX_TMP/load-$name.log" 2>&1 &
  OPX_LOAD_PID[$name]=$!
  OPX_LOADS+=("$name")
}
# opx_load_start_all : short (100 qps, 8 connections), slow (1 s, 4 qps, 4 connections)
# and long-lived (20 s, 2 connections) requests.
OPX_HAPROXY_LOG_MARK=0
opx_load_url() { echo "${OPX_LOAD_URL:-http://127.0.0.1:$OPX_HAPROXY_PORT}"; }
opx_load_start_all() {
  OPX_LOADS=()
  touch "$OPX_TMP/haproxy.log" # (none when there is no HAProxy)
  OPX_HAPROXY_LOG_MARK="$(wc -l <"$OPX_TMP/haproxy.log")"
  opx_load_start short 100 8 10s "/?size=512"
  opx_load_start slow 4 4 30s "/?delay=1s"
  opx_load_start long 0 2 60s "/?delay=20s"
  sleep 2
  local n
  for n in "${OPX_LOADS[@]}"; do
    opx_alive "${OPX_LOAD_PID[$n]}" || fail "load client $n exited at start: $(tail -n 5 "$OPX_TMP/load-$n.log")"
  done
  opx_log "load started${OPX_LOAD_PREFIX[*]:+ (${OPX_LOAD_PREFIX[*]})} to $(opx_load_url)${OPX_LOAD_FLAGS[*]:+ (${OPX_LOAD_FLAGS[*]})}: short 100 qps x8, slow 1s x4, long 20s x2"
}
# opx_load_stop : SIGINT to every client (fortio then writes its JSON), waits for them.
opx_load_stop() {
  local n pid _
  for n in "${OPX_LOADS[@]}"; do
    pid="${OPX_LOAD_PID[$n]:-}"
    [ -n "$pid" ] || continue
    opx_alive "$pid" || fail "load client $n ended before it was stopped: $(tail -n 5 "$OPX_TMP/load-$n.log")"
    kill -INT "$pid"
  done
  for n in "${OPX_LOADS[@]}"; do
    pid="${OPX_LOAD_PID[$n]:-}"
    [ -n "$pid" ] || continue
    for _ in $(seq 1 450); do opx_alive "$pid" || break; sleep 0.1; done
    if opx_alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      echo "warning: load client $n killed after 45 s" >&2
    fi
    wait "$pid" 2>/dev/null || true
    unset "OPX_LOAD_PID[$n]"
  done
}
opx_load_kill_all() {
  local n
  for n in "${!OPX_LOAD_PID[@]}"; do
    kill -KILL "${OPX_LOAD_PID[$n]}" 2>/dev/null || true
    wait "${OPX_LOAD_PID[$n]}" 2>/dev/null || true
    unset "OPX_LOAD_PID[$n]"
  done
  return 0
}
# opx_load_report : one line per load (requests, 2xx, non-2xx, transport errors,
# latencies); sets OPX_LOAD_BAD (non-2xx + errors over all loads); returns 1 if > 0.
OPX_LOAD_BAD=0
opx_load_report() {
  local out
  out="$(python3 - "$OPX_TMP" "${OPX_LOADS[@]}" <<'PY'
import json, os, sys
d, bad = sys.argv[1], 0
for name in sys.argv[2:]:
    f = os.path.join(d, "load-%s.json" % name)
    try:
        r = json.load(open(f))
    except Exception as e:
        print("load %-5s: no result (%s)" % (name, e)); bad += 1; continue
    codes = {int(k): v for k, v in (r.get("RetCodes") or {}).items()}
    n = r["DurationHistogram"]["Count"]
    ok = sum(v for k, v in codes.items() if 200 <= k < 300)
    errs = sum(v for k, v in codes.items() if k <= 0)
    non2xx = sum(v for k, v in codes.items() if k > 0 and not 200 <= k < 300)
    pct = {p["Percentile"]: p["Value"] for p in r["DurationHistogram"].get("Percentiles") or []}
    ms = lambda v: "%.0fms" % (1000 * v) if v is not None else "-"
    detail = " ".join("%dx%d" % (v, k) for k, v in sorted(codes.items()) if k > 0 and not 200 <= k < 300)
    print("load %-5s: %6d requests in %5.1fs (%.1f qps), 2xx %d, non-2xx %d%s, transport errors %d, failed %d; p50 %s p99 %s max %s"
          % (name, n, r["ActualDuration"] / 1e9, r["ActualQPS"], ok, non2xx, " (%s)" % detail if detail else "",
             errs, r["ErrorsDurationHistogram"]["Count"], ms(pct.get(50)), ms(pct.get(99)),
             ms(r["DurationHistogram"].get("Max"))))
    if n == 0:
        print("load %-5s: no request completed" % name); bad += 1
    bad += non2xx + errs
print("BAD %d" % bad)
PY
)" || fail "could not read the load results in $OPX_TMP"
  grep -v '^BAD ' <<<"$out"
  # What the front door hid: requests HAProxy retried (connection failure, empty
  # response, timeout); the retry count is the last of the a/f/b/s/r counters.
  tail -n "+$((OPX_HAPROXY_LOG_MARK + 1))" "$OPX_TMP/haproxy.log" | awk '
    $6 ~ /^[0-9]+$/ { n++; split($11, c, "/"); if (c[5] != "0") r++; if ($6 !~ /^2/) b++ }
    END { printf "front door: %d requests logged by HAProxy, %d of them retried by HAProxy, %d answered non-2xx\n", n, r, b }'
  OPX_LOAD_BAD="$(sed -n 's/^BAD //p' <<<"$out")"
  # A retry by the front door is a failed request (it runs with retries 0, so any count
  # here means the configuration was changed behind the test's back).
  local retried
  retried="$(tail -n "+$((OPX_HAPROXY_LOG_MARK + 1))" "$OPX_TMP/haproxy.log" | awk '
    $6 ~ /^[0-9]+$/ { split($11, c, "/"); if (c[5] != "0") r++ } END { print r + 0 }')"
  OPX_LOAD_BAD=$((OPX_LOAD_BAD + retried))
  [ "$OPX_LOAD_BAD" = 0 ]
}
# opx_load_finish : stops the load and fails unless every request answered 2xx.
opx_load_finish() {
  opx_load_stop
  opx_load_report ||
    fail "$OPX_LOAD_BAD requests failed (non-2xx or transport error) through the front door; HAProxy log: $OPX_TMP/haproxy.log"
  ok "load through the front door: 0 non-2xx, 0 errors"
}

# ---------------------------------------------------------------- steps and moves

# opx_record_split : appends the split HAProxy serves ("srv=w,srv=w" of the ready servers
# with weight > 0) to $OPX_TMP/splits when it changed and held for two calls in a row (a
# move's runtime commands land one by one). Call it every few hundred ms.
OPX_SPLIT_LAST="-" OPX_SPLIT_CAND="" OPX_SPLIT_N=0
opx_record_split() {
  local s
  s="$(opx_haproxy_servers 2>/dev/null | awk '$4 > 0 && $5 == "ready" { print $1 "=" $4 }' | sort | paste -sd, -)" || return 0
  if [ "$s" = "$OPX_SPLIT_CAND" ]; then OPX_SPLIT_N=$((OPX_SPLIT_N + 1)); else OPX_SPLIT_CAND="$s" OPX_SPLIT_N=1; fi
  if [ $OPX_SPLIT_N -ge 2 ] && [ "$OPX_SPLIT_CAND" != "$OPX_SPLIT_LAST" ]; then
    OPX_SPLIT_LAST="$OPX_SPLIT_CAND"
    echo "$OPX_SPLIT_CAND" >>"$OPX_TMP/splits"
    opx_log "HAProxy serves: ${OPX_SPLIT_CAND:-nothing}"
  fi
}
# opx_check_plan STRATEGY FR : after a rollout of opx_plan's shape (two cutover steps, 50
# then 100) recorded from opx_load_start_recording: FR's steps and HAProxy's moves are the
# plan's (opx_check_steps, opx_check_moves).
opx_check_plan() {
  local _
  for _ in 1 2 3 4 5 6; do opx_record_split; sleep 0.3; done
  opx_check_steps "$2" "$(opx_plan "$1")"
  opx_check_moves "$(opx_moves "$1")"
}
# opx_poll_rollout FR T0 : one look at FR: its phase and current step into OPX_PHASE and
# OPX_STEP (unchanged when it cannot be read), a log line when either changed (+seconds
# since T0, and the front door's servers). For the callers' own watch loops.
OPX_PHASE="" OPX_STEP="" OPX_POLL_LAST="-"
opx_poll_rollout() {
  local st
  st="$(k get fr "$1" -o jsonpath='{.status.phase}|{.status.currentStep}' 2>/dev/null)" || st="$OPX_PHASE|$OPX_STEP"
  OPX_PHASE="${st%%|*}" OPX_STEP="${st#*|}"
  if [ "$st" != "$OPX_POLL_LAST" ]; then
    opx_log "FleetRollout $1 +$((SECONDS - $2))s phase=${OPX_PHASE:-?} step=${OPX_STEP:--} | $(opx_haproxy_summary 2>&1)"
    OPX_POLL_LAST="$st"
  fi
}
# opx_load_start_recording : the load on, then the split HAProxy serves recorded as the
# first line of $OPX_TMP/splits (opx_record_split from here on, opx_check_moves at the end).
opx_load_start_recording() {
  : >"$OPX_TMP/splits"
  opx_load_start_all
  sleep 3
  opx_record_split
  opx_record_split
}
# opx_check_moves WANT : the recorded splits, joined by "|", are exactly WANT (the plan's
# moves: none missing, none repeated, nothing half-made in between).
opx_check_moves() {
  local seen
  seen="$(paste -sd'|' "$OPX_TMP/splits")"
  [ "$seen" = "$1" ] || fail "HAProxy's splits were [$seen], want [$1] (a move missing, repeated or half-made)"
  ok "traffic moves seen on HAProxy match the plan: $seen"
}
# opx_plan STRATEGY : the step names of a non-initial rollout with two cutover steps.
opx_plan() {
  case "$1" in
    TempFleet) echo "provision-temp shift-to-temp/1 shift-to-temp/2 drain-primary upgrade-primary verify-primary promote shift-back/1 shift-back/2 drain-temp delete-temp" ;;
    BlueGreen) echo "provision-green verify-green promote shift/1 shift/2 drain-blue scale-down-blue" ;;
  esac
}
# opx_moves STRATEGY : the splits of such a rollout, as opx_check_moves wants them.
opx_moves() {
  case "$1" in
    TempFleet) echo "edge-primary=100|edge-primary=50,edge-temp=50|edge-temp=100|edge-primary=50,edge-temp=50|edge-primary=100" ;;
    BlueGreen) echo "edge-blue=100|edge-blue=50,edge-green=50|edge-green=100" ;;
  esac
}
# opx_check_steps FR PLAN : FR's steps are exactly PLAN's names, in order, each Succeeded
# (promote Skipped: automatic promotion).
opx_check_steps() {
  local got want="" s
  got="$(k get fr "$1" -o json | python3 -c '
import json, sys
print(" ".join("%s:%s" % (s["name"], s["phase"]) for s in json.load(sys.stdin)["status"]["steps"]))')"
  for s in $2; do
    if [ "$s" = promote ]; then want="$want $s:Skipped"; else want="$want $s:Succeeded"; fi
  done
  [ "$got" = "${want# }" ] || fail "the FleetRollout's steps are [$got], want [${want# }]"
  ok "every planned step present, in order, done once: ${want# }"
}

# ---------------------------------------------------------------- test flow

# opx_fleet_up SERVER SERVICE : applies the fleet (operator running) and waits until it
# is Ready with all HAProxy traffic on SERVER (the Service SERVICE) and 3 ready pods at
# template mark 1; sets OPX_REV0 (status.currentRevision).
OPX_REV0=""
opx_fleet_up() {
  opx_apply_fleet
  opx_wait_fleet_phase Ready 180
  opx_wait_traffic_on "$1" "$2" 60
  opx_assert_fleet_pods "$2" 1 3 60
  OPX_REV0="$(opx_pf '{.status.currentRevision}')"
  [ -n "$OPX_REV0" ] || fail "the Ready fleet has no status.currentRevision"
  opx_log "fleet Ready at revision $OPX_REV0: $(opx_pf '{.status.trafficSummary}')"
}
# opx_start_rollout MARK : changes the template; sets OPX_REV (the new updateRevision)
# and OPX_FR (its FleetRollout).
OPX_REV="" OPX_FR=""
opx_start_rollout() {
  opx_change_template "$1"
  OPX_REV="$(opx_wait_update_revision "$OPX_REV0" 30)"
  OPX_FR="$(opx_rollout_of "$OPX_REV" 30)"
  opx_log "rollout to revision $OPX_REV: FleetRollout $OPX_FR"
}
# opx_wait_step FR STEP TIMEOUT : follows FR (printing changes) until its currentStep is
# STEP; fails if it ends first.
opx_wait_step() {
  local fr="$1" want="$2" deadline=$((SECONDS + $3)) st last="-" phase step
  while [ $SECONDS -lt $deadline ]; do
    st="$(k get fr "$fr" -o jsonpath='{.status.phase}|{.status.currentStep}' 2>/dev/null)" || st="|"
    phase="${st%%|*}" step="${st#*|}"
    if [ "$st" != "$last" ]; then
      opx_log "FleetRollout $fr phase=${phase:-?} step=${step:--} | $(opx_haproxy_summary 2>&1)"
      last="$st"
    fi
    [ "$step" = "$want" ] && return 0
    case "$phase" in Succeeded | Failed | Aborted) fail "FleetRollout $fr ended $phase before step $want" ;; esac
    sleep 0.3
  done
  fail "FleetRollout $fr did not reach step $want in $3 s (at '$step', phase $phase)"
}
# opx_random_sleep MAX_MS : sleeps 0..MAX_MS ms; prints the delay in ms.
opx_random_sleep() {
  local ms=$((RANDOM % ($1 + 1)))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  echo "$ms"
}

# ---------------------------------------------------------------- figures for the record

# opx_mark_requests NAME : remembers the operator's API request count now (OPX_REQ0).
opx_mark_requests() { OPX_REQ0="$(opx_operator_metric "$1" '^ingressx_api_requests_total')"; }
# opx_figures NAME FR : one line with the rollout's wall time against its floor (the sum
# of its configured pauses and minimum drains plus the pod start-up it waited for), the
# drain time spent on observed connections, the operator's peak RSS and the API requests
# it made since opx_mark_requests.
opx_figures() {
  local name="$1" fr="$2" pid="${OPX_OP_PID[$1]:-}" req1 rss="?"
  req1="$(opx_operator_metric "$name" '^ingressx_api_requests_total')"
  [ -n "$pid" ] && rss="$(awk '/^VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null)"
  k get fr "$fr" -o json | python3 -c '
import json, sys
from datetime import datetime
fr = json.load(sys.stdin)
def t(s): return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
def d(v):
    import re
    total = 0.0
    for num, unit in re.findall(r"([0-9.]+)(ms|s|m|h)", v or "0s"):
        total += float(num) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total
st, spec = fr["status"], fr["spec"]
wall = (t(st["finishedAt"]) - t(st["startedAt"])).total_seconds()
pauses = sum(d(s.get("pause")) for s in spec["cutover"].get("steps", []))
shifts = 2 if spec["strategy"].get("type", "TempFleet") == "TempFleet" else 1
startup = 0.0
for s in st["steps"]:
    if s["name"].startswith(("provision-", "upgrade-")) and "finishedAt" in s:
        startup += (t(s["finishedAt"]) - t(s["startedAt"])).total_seconds()
drains = st.get("drains", [])
min_drain = float(sys.argv[1])
scale_down = d(spec["strategy"].get("scaleDownDelay")) if shifts == 1 else 0
floor = pauses * shifts + min_drain * len(drains) + startup + scale_down
drain_time = sum((t(x["finishedAt"]) - t(x["startedAt"])).total_seconds() for x in drains if "finishedAt" in x)
print("figures: rollout wall %.0f s, floor %.0f s (pauses %.0f s, min drains %.0f s, pod start-up %.0f s, scale-down delay %.0f s); "
      "drains took %.0f s on observed connections (%s)" % (wall, floor, pauses * shifts, min_drain * len(drains), startup, scale_down,
      drain_time, ", ".join("%s %s" % (x["fleet"], x.get("decidedBy", "?")) for x in drains)))
' "${OPX_MIN_DRAIN_S:-2}" || true
  echo "figures: operator peak RSS ${rss:-?}; API requests during the rollout: $(( ${req1:-0} - ${OPX_REQ0:-0} ))"
}
