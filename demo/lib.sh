# Helpers of scripts/demo.sh and bench/rollout-matrix.sh (sourced): messages, rendering
# demo/*.yaml, the front door's runtime API, the fortio load clients and their figures.
# Needs: ROOT, OUT, DEMO_NS and the DEMO_*_IMAGE variables; FORTIO (the fortio binary)
# for the load; ADMIN_IP (the front door's runtime API Service) for runtime_api.
# shellcheck shell=bash disable=SC2034,SC2016

say() { printf '%s %s\n' "$(date +%T)" "$*"; }
die() { printf '%sdemo: %s%s\n' "${R:-}" "$*" "${N:-}" >&2; exit 1; }
alive() { local st; st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1; [ -n "$st" ] && [ "$st" != Z ]; }
k() { kubectl -n "$DEMO_NS" "$@"; }

# render FILE : demo/FILE with ${DEMO_NS} and the ${DEMO_*_IMAGE} variables substituted.
render() {
  DEMO_NS="$DEMO_NS" DEMO_NGINX_IMAGE="$DEMO_NGINX_IMAGE" DEMO_HAPROXY_IMAGE="$DEMO_HAPROXY_IMAGE" \
    DEMO_FORTIO_IMAGE="$DEMO_FORTIO_IMAGE" \
    envsubst '${DEMO_NS} ${DEMO_NGINX_IMAGE} ${DEMO_HAPROXY_IMAGE} ${DEMO_FORTIO_IMAGE}' <"$ROOT/demo/$1"
}

# runtime_api CMD : one command to the front door's runtime API (from this host, through
# the ClusterIP Service, as the operator does from its pod by name).
runtime_api() {
  timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/9999" && printf "%s\n" "$2" >&3 && cat <&3' _ "$ADMIN_IP" "$*"
}
# weights : the servers of backend edge, e.g. "edge-primary=100@10.0.0.5 edge-temp=0(off)".
weights() {
  runtime_api "show servers state edge" 2>/dev/null | awk '
    NF >= 19 && $2 == "edge" { s = $4 "=" $8; if ($5 != "127.0.0.1") s = s "@" $5; if ($7 % 2 || int($7 / 8) % 2) s = s "(off)"
      printf "%s%s", sep, s; sep = " " } END { print "" }'
}

# header NAME URL : waits (up to a minute) until GET URL answers 2xx; prints header NAME.
header() {
  local h=""
  for _ in $(seq 1 60); do
    h="$(curl -fsS -o /dev/null -D - --max-time 3 "$2" 2>/dev/null | tr -d '\r' |
      awk -v n="$1" 'tolower($1) == tolower(n) ":" { print $2 }')"
    [ -n "$h" ] && { echo "$h"; return 0; }
    sleep 1
  done
  return 1
}

# ---------------------------------------------------------------- load
LOADS=(short slow long)
declare -A LOAD_PID=()
SHORT_QPS="${SHORT_QPS:-50}"
LOAD_PHASE="" LOAD_T0=""
# load_start PHASE URL [KEEPALIVE] : the three fortio clients in the background, until
# load_stop: short (SHORT_QPS over 4 connections, 512 B), slow (1 s, 4 connections at
# 4 qps), long-lived (20 s, 2 connections). KEEPALIVE "off": a new connection per request.
# With LOAD_ACCESS_LOG=1, each client also logs every request (start time, latency,
# status; fortio -access-log-file) to $OUT/access-PHASE-NAME.jsonl. LOAD_PREFIX (array):
# a command the clients run under (e.g. ip netns exec NS); LOAD_ARGS (array): more fortio
# flags (e.g. -dns-method first).
load_start() {
  local phase="$1" url="$2" ka="${3:-on}" name qps c timeout path extra
  LOAD_PHASE="$phase" LOAD_T0="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for name in "${LOADS[@]}"; do
    case "$name" in
      short) qps="$SHORT_QPS" c=4 timeout=10s path="/?size=512" ;;
      slow) qps=4 c=4 timeout=30s path="/?delay=1s" ;;
      long) qps=0 c=2 timeout=60s path="/?delay=20s" ;;
    esac
    rm -f "$OUT/load-$phase-$name.json"
    extra=()
    if [ -n "${LOAD_ACCESS_LOG:-}" ]; then
      rm -f "$OUT/access-$phase-$name.jsonl"
      extra=(-access-log-file "$OUT/access-$phase-$name.jsonl")
    fi
    [ -z "${LOAD_ARGS+x}" ] || extra+=("${LOAD_ARGS[@]}")
    setpriv --pdeathsig KILL -- ${LOAD_PREFIX+"${LOAD_PREFIX[@]}"} "$FORTIO" load -qps "$qps" -c "$c" -t 0 -timeout "$timeout" \
      -keepalive="$([ "$ka" = off ] && echo false || echo true)" "${extra[@]}" \
      -logger-json=false -json "$OUT/load-$phase-$name.json" "$url$path" >"$OUT/load-$phase-$name.log" 2>&1 &
    LOAD_PID[$name]=$!
  done
  sleep 2
  for name in "${LOADS[@]}"; do
    alive "${LOAD_PID[$name]}" || die "load client $name exited at start: $(tail -n 5 "$OUT/load-$phase-$name.log")"
  done
  say "load on $url (keep-alive $ka): short $SHORT_QPS qps over 4 connections, slow 1 s x4 at 4 qps, long-lived 20 s x2"
}
# load_stop : SIGINT to the clients; fortio lets the requests in flight end (a long-lived
# one: up to 20 s), then writes its JSON. Saves the front door's log since load_start
# to $OUT/frontdoor-PHASE.log.
load_stop() {
  local name _
  say "stopping the load (requests in flight end first: up to 20 s)"
  for name in "${LOADS[@]}"; do kill -INT "${LOAD_PID[$name]}" 2>/dev/null || true; done
  for name in "${LOADS[@]}"; do
    for _ in $(seq 1 450); do alive "${LOAD_PID[$name]}" || break; sleep 0.1; done
    alive "${LOAD_PID[$name]}" && kill -KILL "${LOAD_PID[$name]}" 2>/dev/null
    wait "${LOAD_PID[$name]}" 2>/dev/null || true
    unset "LOAD_PID[$name]"
  done
  k logs deploy/frontdoor --since-time="$LOAD_T0" >"$OUT/frontdoor-$LOAD_PHASE.log" 2>/dev/null || true
}
load_kill_all() {
  local n
  for n in "${!LOAD_PID[@]}"; do kill -KILL "${LOAD_PID[$n]}" 2>/dev/null; wait "${LOAD_PID[$n]}" 2>/dev/null; done
  return 0
}
