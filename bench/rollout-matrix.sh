#!/usr/bin/env bash
# The zero-downtime benchmark: the same proxy upgrade (nginx.conf v1 <-> v2 of demo/) of a
# 3-pod nginx fleet under the same load through the same front door (the demo's in-cluster
# HAProxy), for
#   ingressx TempFleet  x keep-alive on/off
#   ingressx BlueGreen  x keep-alive on/off
#   ingressx TempFleet, BlueGreen with DNS cutover instead of the front door (rfc2136 to
#          a BIND9 primary + secondary on the host, tests/e2e/dns_lab.sh; clients in a
#          netns resolving through them) x keep-alive on/off
#   plain: a Deployment rolling update, no hook (no ingressx) x keep-alive on/off
#   seed:  the same rolling update with the seed article's shell preStop hook
#          (sleep 5; nginx -s quit; wait until nginx is gone; terminationGracePeriodSeconds
#          600) x keep-alive on/off
# and prints, per run: requests, failures by kind (non-2xx by status, transport errors),
# long-lived streams cut, requests the front door retried or that waited >= 1 s to
# connect, latencies, the rollout time against its floor, the operator's CPU time and
# peak RSS during the run, and the FleetRollout's steps; as a Markdown table
# (OUT/results.md), JSON (OUT/results.json) and a plot (OUT/rollout-matrix.png: requests
# answered, failed and retried per second, the rollout's steps marked; needs gnuplot).
#
# The load (demo/lib.sh): short requests (50 qps over 4 connections), slow 1 s requests
# (4 connections at 4 qps), long-lived 20 s requests (2 connections), from 10 s before
# the upgrade to 25 s after it. "keep-alive off": every request on a new connection.
#
# Needs: a running local cluster (dev/cluster up; INGRESSX_CLUSTER_DIR) and a build with
# ingressx-operator, kubectl-ingressx and ingressx-hook (--build-dir; its binaries are put
# into the ingressx image and imported first). The operator is installed with the chart,
# watching only the benchmark's namespace. ~21 minutes for the whole matrix (2 cores).
#
# Usage: bench/rollout-matrix.sh [--build-dir DIR] [--out DIR] [--runs "RUN..."]
#                                [--namespace NS] [--short-qps N]
#   RUN: TempFleet:on TempFleet:off BlueGreen:on BlueGreen:off TempFleet-dns:on
#        TempFleet-dns:off BlueGreen-dns:on BlueGreen-dns:off plain:on plain:off seed:on
#        seed:off (default: all, in this order; the -dns ones when tests/e2e/dns_lab.sh
#        exists)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${INGRESSX_BUILD_DIR:-$ROOT/build/dev}"
OUT=""
RUNS="TempFleet:on TempFleet:off BlueGreen:on BlueGreen:off"
# the DNS rows need the DNS lab of the e2e tests
[ ! -f "$ROOT/tests/e2e/dns_lab.sh" ] || RUNS="$RUNS TempFleet-dns:on TempFleet-dns:off BlueGreen-dns:on BlueGreen-dns:off"
RUNS="$RUNS plain:on plain:off seed:on seed:off"
DEMO_NS=ingressx-bench
SHORT_QPS=50
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR="$(realpath -m "$2")"; shift ;;
    --out) OUT="$2"; shift ;;
    --runs) RUNS="$2"; shift ;;
    --namespace) DEMO_NS="$2"; shift ;;
    --short-qps) SHORT_QPS="$2"; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "rollout-matrix: unknown option $1 (--help)" >&2; exit 2 ;;
  esac
  shift
done
REL_NS="$DEMO_NS-system" REL=ingressx
OUT="${OUT:-/tmp/ingressx-rollout-matrix-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
OUT="$(realpath "$OUT")"
BEFORE_S=10 AFTER_S=25
LOAD_ACCESS_LOG=1 # demo/lib.sh: every request in OUT/access-RUN-LOAD.jsonl (the plot's time series)
# shellcheck source=demo/lib.sh
. "$ROOT/demo/lib.sh"

[ "$(id -u)" = 0 ] || die "needs root (the local cluster's images are imported with ctr)"
for b in operator/ingressx-operator cli/kubectl-ingressx hooks/ingressx-hook; do
  [ -x "$BUILD_DIR/$b" ] || die "no $BUILD_DIR/$b (build it, or --build-dir)"
done
"$ROOT/dev/cluster" status >/dev/null 2>&1 || die "no cluster running in ${INGRESSX_CLUSTER_DIR:-/tmp/ingressx-cluster} (dev/cluster up)"
eval "$("$ROOT/dev/cluster" env)"
export KUBECONFIG
HELM="$("$ROOT/dev/lib/build-helm.sh")/helm"
FORTIO="$("$ROOT/dev/lib/build-fortio.sh")/fortio"
mkdir -p "$OUT/bin" && ln -sfn "$BUILD_DIR/cli/kubectl-ingressx" "$OUT/bin/kubectl-ingressx"
export PATH="$OUT/bin:$PATH"
DEMO_NGINX_IMAGE="$INGRESSX_NGINX_IMAGE" DEMO_HAPROXY_IMAGE="$INGRESSX_HAPROXY_IMAGE"
DEMO_FORTIO_IMAGE="$INGRESSX_FORTIO_IMAGE"
CTR=(ctr --address "$INGRESSX_CONTAINERD_SOCKET" -n k8s.io)
command -v gnuplot >/dev/null || say "WARNING: no gnuplot (scripts/setup.sh installs gnuplot-nox): no plot"

CLEAN=0 DNS_LAB=0
cleanup() {
  local rc=$?
  set +e
  trap - INT TERM HUP
  load_kill_all
  if [ $CLEAN = 1 ]; then
    say "cleaning up: namespace $DEMO_NS, release $REL_NS/$REL"
    k delete pf --all --wait=true --timeout=60s >/dev/null 2>&1
    if [ "$DNS_LAB" = 1 ]; then (exit $rc); dnslab_cleanup >/dev/null 2>&1; fi
    # Deployment plain first, while the backend Service still exists: the seed hook's
    # "nginx -s quit" parses nginx.conf again, which fails once that Service is gone (host
    # not found in upstream), and its pods would then wait out their 600 s grace period.
    k scale deploy/plain --replicas=0 >/dev/null 2>&1
    k wait --for=delete pod -l app=plain --timeout=60s >/dev/null 2>&1
    for p in $(k get pods -l app=plain -o name 2>/dev/null); do k exec "$p" -- kill -QUIT 1 >/dev/null 2>&1; done
    kubectl delete ns "$DEMO_NS" --wait=true --timeout=120s >/dev/null 2>&1
    "$HELM" uninstall "$REL" -n "$REL_NS" --wait --timeout 90s >/dev/null 2>&1
    kubectl delete ns "$REL_NS" --wait=true --timeout=90s >/dev/null 2>&1
  fi
  echo "results and logs: $OUT"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

say "images from $BUILD_DIR"
INGRESSX_BUILD_DIR="$BUILD_DIR" INGRESSX_HOOK_BIN="$BUILD_DIR/hooks/ingressx-hook" \
  INGRESSX_OPERATOR_BIN="$BUILD_DIR/operator/ingressx-operator" \
  INGRESSX_PLUGIN_BIN="$BUILD_DIR/cli/kubectl-ingressx" "$ROOT/dev/cluster" images >"$OUT/images.log" 2>&1 ||
  die "dev/cluster images failed: $OUT/images.log"
digest="$(ctr --address "$INGRESSX_CONTAINERD_SOCKET" -n k8s.io images ls "name==$INGRESSX_INGRESSX_IMAGE" | awk 'NR == 2 { print $3 }')"
for ns in "$DEMO_NS" "$REL_NS"; do # left Terminating by a previous run
  kubectl wait --for=delete "namespace/$ns" --timeout=300s >/dev/null 2>&1 || die "namespace $ns is still there (Terminating?)"
done
CLEAN=1
kubectl create namespace "$DEMO_NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
"$HELM" upgrade --install "$REL" "$ROOT/helm/ingressx" -n "$REL_NS" --create-namespace \
  --set watchNamespace="$DEMO_NS" --set-string "podAnnotations.ingressx\.io/image-digest=$digest" \
  --wait --timeout 5m >"$OUT/helm.log" 2>&1 || die "helm install failed: $(tail -n 20 "$OUT/helm.log")"
say "operator installed in $REL_NS (watching $DEMO_NS)"
for f in backend.yaml nginx-config.yaml plain.yaml frontdoor.yaml; do
  render "$f" | k apply -f - >/dev/null || die "could not apply demo/$f"
done
k rollout status deploy/backend --timeout=120s >/dev/null || die "the backend did not become ready"
k rollout status deploy/frontdoor --timeout=120s >/dev/null || die "the front door did not become ready"
NODE_IP="$(kubectl get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')"
EDGE_URL="http://$NODE_IP:$(k get svc frontdoor -o jsonpath='{.spec.ports[?(@.name=="edge")].nodePort}')"
PLAIN_URL="http://$NODE_IP:$(k get svc frontdoor -o jsonpath='{.spec.ports[?(@.name=="plain")].nodePort}')"
ADMIN_IP="$(k get svc frontdoor-admin -o jsonpath='{.spec.clusterIP}')"

# config_patch N : a pod template patch selecting nginx.conf vN (1 or 2) for the fleet
# (kubectl ingressx rollout start -f) and, as a Deployment patch, for plain.
config_cm() { [ "$1" = 2 ] && echo edge-nginx-v2 || echo edge-nginx; }
fleet_patch() {
  printf 'metadata:\n  annotations: {bench.ingressx.io/config: v%s}\nspec:\n  volumes:\n  - name: conf\n    configMap: {name: %s}\n' \
    "$1" "$(config_cm "$1")" >"$OUT/fleet-v$1.yaml"
  echo "$OUT/fleet-v$1.yaml"
}
plain_patch() {
  printf '{"spec":{"template":{"metadata":{"annotations":{"bench.ingressx.io/config":"v%s"}},"spec":{"volumes":[{"name":"conf","configMap":{"name":"%s"}}]}}}}' \
    "$1" "$(config_cm "$1")"
}

# frontdoor_reset : every server of backend edge back to its placeholder (no address, weight
# 0, maintenance). A deleted ProxyFleet leaves the servers the operator set pointing at
# its deleted Services' ClusterIPs, with their weights; a ClusterIP is soon given to some
# other Service (10.0.0.0/24 here), which then gets the front door's traffic.
frontdoor_reset() {
  local srv
  for srv in edge-primary edge-temp edge-blue edge-green; do
    if ! { runtime_api "set server edge/$srv state maint" && runtime_api "set server edge/$srv weight 0" &&
      runtime_api "set server edge/$srv addr 127.0.0.1 port 9"; } >/dev/null; then
      die "runtime API: could not reset $srv"
    fi
  done
}
# fleet_delete : deletes ProxyFleet edge (and waits for its Deployments to go).
fleet_delete() {
  k get pf edge >/dev/null 2>&1 || return 0
  k delete pf edge --wait=true --timeout=120s >/dev/null || die "could not delete ProxyFleet edge"
  for _ in $(seq 1 60); do [ -n "$(k get deploy -l ingressx.io/fleet -o name 2>/dev/null)" ] || break; sleep 1; done
  frontdoor_reset
  FLEET_STRATEGY=""
}
# fleet_up STRATEGY : (re)creates ProxyFleet edge with that strategy; waits until Ready.
FLEET_STRATEGY="" FLEET_CONF=1
fleet_up() {
  [ "$FLEET_STRATEGY" = "$1" ] && return 0
  fleet_delete
  case "$1" in *-dns) dns_up ;; esac
  case "$1" in
    TempFleet) render fleet.yaml ;;
    BlueGreen) render fleet.yaml | sed -e 's/servers: {primary: edge-primary, temp: edge-temp}/servers: {blue: edge-blue, green: edge-green}/' \
      -e 's/strategy: {type: TempFleet}/strategy: {type: BlueGreen, scaleDownDelay: 5s}/' ;;
    TempFleet-dns | BlueGreen-dns) render fleet.yaml | dns_fleet "${1%-dns}" ;;
  esac >"$OUT/fleet-$1.yaml"
  k apply -f "$OUT/fleet-$1.yaml" >/dev/null || die "could not apply the $1 ProxyFleet"
  k wait --for=jsonpath='{.status.phase}'=Ready pf/edge --timeout=240s >/dev/null ||
    die "ProxyFleet edge ($1) is not Ready after 240 s: $(k get pf edge -o jsonpath='{.status.message}')"
  FLEET_STRATEGY="$1" FLEET_CONF=1
  case "$1" in
    *-dns)
      dnslab_check_reach "$DNS_URL/" 30
      say "ProxyFleet edge ($1) Ready: $DNS_HOST $(dnslab_answers "$DNS_HOST") ($(k get svc -l ingressx.io/fleet -o jsonpath='{range .items[*]}{.metadata.name}={.spec.clusterIP} {end}'))" ;;
    *)
      header X-Edge-Config "$EDGE_URL/" >/dev/null || die "no answer through the front door"
      say "ProxyFleet edge ($1) Ready: $(weights)" ;;
  esac
}

# ---------------------------------------------------------------- DNS cutover
# The DNS rows use the DNS lab of the e2e tests (tests/e2e/dns_lab.sh): a BIND9 primary
# and secondary on the host (on addresses that pods reach too: the operator runs in the
# cluster), a TSIG key made per run, and a network namespace whose resolv.conf names the
# two servers. The fleet's record edge.example.test moves between the fleets' Service
# ClusterIPs (rfc2136 provider, TTL DNS_TTL); the load clients run in that netns, resolve
# the name through BIND9 (fortio -dns-method first: at each new connection, not once)
# and reach the ClusterIPs through the host.
DNS_TTL=10 DNS_HOST="" DNS_URL=""
dns_up() {
  [ "$DNS_LAB" = 1 ] && return 0
  [ -f "$ROOT/tests/e2e/dns_lab.sh" ] || die "the DNS rows need tests/e2e/dns_lab.sh"
  # shellcheck source=tests/e2e/dns_lab.sh
  . "$ROOT/tests/e2e/dns_lab.sh"
  DNS_LAB=1
  DNSLAB_DIR="$OUT/dnslab" && mkdir -p "$DNSLAB_DIR"
  dnslab_up >"$OUT/dnslab.log" 2>&1 || die "the DNS lab did not come up: $(tail -n 5 "$OUT/dnslab.log")"
  NS="$DEMO_NS" dnslab_secret_create bench-tsig
  DNS_HOST="edge.$DNSLAB_ZONE" DNS_URL="http://edge.$DNSLAB_ZONE"
  say "DNS lab: BIND9 $DNSLAB_SERVER (+ $DNSLAB_NS2_IP), zone $DNSLAB_ZONE, clients in netns $DNSLAB_NETNS"
}
# dns_fleet STRATEGY : the fleet of stdin (demo/fleet.yaml) with DNS cutover instead of
# the front door's weights: one step (a record moves at once), the same drains.
dns_fleet() {
  local strat="{type: TempFleet}"
  [ "$1" = BlueGreen ] && strat="{type: BlueGreen, scaleDownDelay: 5s}"
  awk -v rfc="$(dnslab_rfc2136 "[edge]" "$DNS_TTL" bench-tsig)" -v strat="$strat" '
    /^  cutover:/ { print "  cutover:\n    type: dns\n    dns: {provider: rfc2136, rfc2136: " rfc "}\n    steps: [{weight: 100}]"; skip = 1; next }
    /^  strategy:/ { print "  strategy: " strat; skip = 0; next }
    !skip { print }'
}

# ---------------------------------------------------------------- the baselines
# plain_up MODE : Deployment plain at 3 Ready replicas, without a hook (MODE plain) or with
# the seed's preStop hook (MODE seed). Switching: scaled to 0 first, so that the switch
# itself is no rolling update; the ProxyFleet is deleted (the 2 cores are shared).
# The seed article's hook, for OpenResty: "sleep 5; /usr/local/openresty/nginx/sbin/nginx
# -c /etc/nginx/nginx.conf -s quit; while pgrep -x nginx; do sleep 1; done". The nginx
# image here (dev/lib/images.sh: Debian's nginx + busybox) has /bin/sh and busybox's
# pidof but no pgrep: "pidof nginx" is the same test (a process named nginx exists).
SEED_HOOK='sleep 5; /usr/sbin/nginx -c /etc/nginx/nginx.conf -s quit; while pidof nginx >/dev/null; do sleep 1; done'
seed_patch() {
  python3 -c 'import json, sys; print(json.dumps({"spec": {"template": {"spec": {"terminationGracePeriodSeconds": 600,
    "containers": [{"name": "nginx", "lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", sys.argv[1]]}}}}]}}}}))' "$SEED_HOOK"
}
PLAIN_MODE=plain # demo/plain.yaml: no hook, 0 replicas
plain_up() {
  local want="$1"
  if [ "$PLAIN_MODE" = "$want" ] && [ "$(k get deploy plain -o jsonpath='{.spec.replicas}')" = 3 ]; then return 0; fi
  fleet_delete
  if [ "$PLAIN_MODE" != "$want" ]; then
    k scale deploy/plain --replicas=0 >/dev/null
    k wait --for=delete pod -l app=plain --timeout=660s >/dev/null 2>&1 || true
    case "$want" in
      seed) k patch deploy/plain --type strategic -p "$(seed_patch)" >/dev/null ;;
      plain) k patch deploy/plain --type json -p '[{"op": "remove", "path": "/spec/template/spec/containers/0/lifecycle"},
        {"op": "replace", "path": "/spec/template/spec/terminationGracePeriodSeconds", "value": 30}]' >/dev/null ;;
    esac || die "could not switch Deployment plain to $want"
    PLAIN_MODE="$want"
  fi
  k scale deploy/plain --replicas=3 >/dev/null
  k rollout status deploy/plain --timeout=180s >/dev/null || die "Deployment plain ($want) did not become ready"
  header X-Edge-Config "$PLAIN_URL/" >/dev/null || die "no answer through the front door (plain)"
  say "Deployment plain ($want) Ready"
}
plain_down() {
  [ "$(k get deploy plain -o jsonpath='{.spec.replicas}')" = 0 ] && return 0
  k scale deploy/plain --replicas=0 >/dev/null
  k wait --for=delete pod -l app=plain --timeout=660s >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------- the operator's figures
# The operator runs in the cluster (2 replicas, one leads). Its processes are found through
# its pods: the container ID in the pod's status -> containerd's task (its PID) -> the
# PID's cgroup. CPU: the container cgroup's CPU time (cgroup v1 cpuacct.usage, v2
# cpu.stat usage_usec) at the start and the end of the run; peak RSS: VmHWM of the
# process, reset at the start of the run (/proc/PID/clear_refs 5).
op_pids() {
  local pod cid pid
  kubectl -n "$REL_NS" get pods -l "app.kubernetes.io/instance=$REL,app.kubernetes.io/component=operator" \
    -o jsonpath='{range .items[*]}{.metadata.name} {.status.containerStatuses[0].containerID}{"\n"}{end}' 2>/dev/null |
    while read -r pod cid; do
      [ -n "$cid" ] || continue
      pid="$("${CTR[@]}" tasks ls 2>/dev/null | awk -v id="${cid#*://}" '$1 == id { print $2 }')"
      [ -n "$pid" ] && echo "$pod $pid"
    done
}
cg_cpu_ns() {
  local rel mnt
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    rel="$(awk -F: '$1 == "0" { print $3 }' "/proc/$1/cgroup")"
    awk '$1 == "usage_usec" { printf "%d\n", $2 * 1000 }' "/sys/fs/cgroup$rel/cpu.stat"
  else
    rel="$(awk -F: '$2 ~ /(^|,)cpuacct(,|$)/ { print $3 }' "/proc/$1/cgroup")"
    mnt="$(awk '$3 == "cgroup" && ("," $4 ",") ~ /,cpuacct,/ { print $2; exit }' /proc/self/mounts)"
    cat "$mnt$rel/cpuacct.usage"
  fi
}
op_mark() {
  local pod pid
  op_pids | while read -r pod pid; do
    echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
    echo "$pod $pid $(cg_cpu_ns "$pid" 2>/dev/null || echo -)"
  done >"$OUT/operator-$1.start"
}
op_collect() {
  local pod pid cpu0 leader
  leader="$(kubectl -n "$REL_NS" get lease ingressx-operator -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true)"
  while read -r pod pid cpu0; do
    echo "$pod $pid $cpu0 $(cg_cpu_ns "$pid" 2>/dev/null || echo -) $(awk '/^VmHWM/ { h = $2 } /^VmRSS/ { r = $2 } END { print h + 0, r + 0 }' "/proc/$pid/status" 2>/dev/null || echo "0 0")"
  done <"$OUT/operator-$1.start" | python3 -c '
import json, sys
leader = sys.argv[1]
pods = []
for line in sys.stdin:
    pod, pid, c0, c1, hwm, rss = line.split()
    cpu = (int(c1) - int(c0)) / 1e9 if c0.isdigit() and c1.isdigit() else None
    pods.append({"pod": pod, "pid": int(pid), "leader": bool(leader) and leader.split("_")[0] == pod,
                 "cpu_seconds": round(cpu, 3) if cpu is not None else None,
                 "peak_rss_kib": int(hwm) or None, "rss_kib": int(rss) or None})
print(json.dumps({"lease_holder": leader, "pods": pods,
                  "measured": "container cgroup CPU time over the run; VmHWM reset at the run start"}, indent=2))
' "$leader" >"$OUT/operator-$1.json"
}

# ---------------------------------------------------------------- the runs
RESULTS=() LABELS=()
PLAIN_CONF=1
for run in $RUNS; do
  what="${run%%:*}" ka="${run#*:}"
  name="$what-ka-$ka"
  case "$ka" in on | off) ;; *) die "unknown run $run (keep-alive: on|off)" ;; esac
  case "$what" in
    TempFleet | BlueGreen | TempFleet-dns | BlueGreen-dns)
      plain_down
      fleet_up "$what"
      next=$((3 - FLEET_CONF))
      say "=== $name: kubectl ingressx rollout start edge (nginx.conf v$FLEET_CONF -> v$next)"
      op_mark "$name"
      url="$EDGE_URL" fd=()
      if [ "${what%-dns}" != "$what" ]; then
        LOAD_PREFIX=(ip netns exec "$DNSLAB_NETNS") LOAD_ARGS=(-dns-method first) url="$DNS_URL" fd=(--no-frontdoor)
      fi
      load_start "$name" "$url" "$ka"
      unset LOAD_PREFIX LOAD_ARGS
      sleep $BEFORE_S
      t=$SECONDS rc=0 t0="$(date +%s.%N)"
      kubectl ingressx -n "$DEMO_NS" rollout start edge -f "$(fleet_patch "$next")" --wait --timeout 10m \
        >"$OUT/rollout-$name.log" 2>&1 || rc=$?
      wall=$((SECONDS - t))
      sleep $AFTER_S
      load_stop
      op_collect "$name"
      [ $rc = 0 ] || die "$name: kubectl ingressx exited $rc: $(tail -n 5 "$OUT/rollout-$name.log")"
      FLEET_CONF=$next
      k get fr "$(k get pf edge -o jsonpath='{.status.currentRollout}')" -o json >"$OUT/fr-$name.json"
      k get pf edge -o json >"$OUT/pf-$name.json"
      python3 "$ROOT/bench/figures.py" run "$OUT" "$name" edge "$wall" "$t0" --kind "$what" --keepalive "$ka" "${fd[@]}" \
        --fr "$OUT/fr-$name.json" --pf "$OUT/pf-$name.json" --operator "$OUT/operator-$name.json" >"$OUT/run-$name.json" ;;
    plain | seed)
      plain_up "$what"
      next=$((3 - PLAIN_CONF))
      case "$what" in
        plain) say "=== $name: rolling update of Deployment plain, no hook (nginx.conf v$PLAIN_CONF -> v$next)" ;;
        seed) say "=== $name: rolling update of Deployment plain with the seed's preStop hook (nginx.conf v$PLAIN_CONF -> v$next)" ;;
      esac
      old_pods="$(k get pods -l app=plain -o name | tr '\n' ' ')"
      op_mark "$name"
      load_start "$name" "$PLAIN_URL" "$ka"
      sleep $BEFORE_S
      t=$SECONDS t0="$(date +%s.%N)"
      k patch deploy/plain --type strategic -p "$(plain_patch "$next")" >/dev/null
      k rollout status deploy/plain --timeout=300s >"$OUT/rollout-$name.log" 2>&1 || die "$name: the rolling update did not finish"
      wall=$((SECONDS - t))
      echo "$(date +%s.%N) ready" >"$OUT/marks-$name.txt"
      # the rollout ends when the last old pod is gone (with a preStop hook, after it)
      for _ in $(seq 1 1320); do
        # shellcheck disable=SC2086
        [ -n "$(k get $old_pods --ignore-not-found -o name 2>/dev/null)" ] || break
        sleep 0.5
      done
      t_gone="$(date +%s.%N)"
      echo "$t_gone old gone" >>"$OUT/marks-$name.txt"
      sleep $AFTER_S
      load_stop
      op_collect "$name"
      PLAIN_CONF=$next
      python3 "$ROOT/bench/figures.py" run "$OUT" "$name" plain "$wall" "$t0" --kind "$what" --keepalive "$ka" \
        --marks "$OUT/marks-$name.txt" --rollout-end "$t_gone" \
        --operator "$OUT/operator-$name.json" >"$OUT/run-$name.json" ;;
    *) die "unknown run $run (TempFleet|BlueGreen|TempFleet-dns|BlueGreen-dns|plain|seed):(on|off)" ;;
  esac
  RESULTS+=("$OUT/run-$name.json")
  case "$what" in plain) l="plain rolling" ;; seed) l="seed preStop" ;; *-dns) l="${what%-dns} DNS" ;; *) l="$what" ;; esac
  LABELS+=("$l, ka $ka")
  say "$name: $(python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); t = r["total"]; print("%d requests, %d non-2xx, %d transport errors, %d of %d streams cut, wall %gs" % (t["requests"], t["non2xx"], t["errors"], r["loads"]["long"]["non2xx"] + r["loads"]["long"]["errors"], r["loads"]["long"]["requests"], r["wall_seconds"]))' "$OUT/run-$name.json")"
done

python3 -c 'import json, sys; json.dump([json.load(open(f)) for f in sys.argv[1:]], sys.stdout, indent=2)' "${RESULTS[@]}" >"$OUT/results.json"
{
  echo "# ingressx rollout matrix"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -sr), short load $SHORT_QPS qps;"
  echo "\`bench/rollout-matrix.sh --runs \"$RUNS\"\` (one invocation: every column is from this run)."
  echo
  python3 "$ROOT/bench/figures.py" table "$OUT/results.json" "${LABELS[@]}"
} | tee "$OUT/results.md"
if command -v gnuplot >/dev/null; then
  if python3 "$ROOT/bench/figures.py" plot "$OUT/results.json" "$OUT/rollout-matrix.png" "${LABELS[@]}"; then
    echo "plot: $OUT/rollout-matrix.png"
  else
    say "WARNING: the plot failed"
  fi
fi
echo
echo "JSON: $OUT/results.json"
