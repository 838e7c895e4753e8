#!/usr/bin/env bash
# A TempFleet rollout with DNS cutover (rfc2136) under load: the record edge.example.test
# lives on a BIND9 primary + secondary (tests/e2e/dns_lab.sh, TSIG key per run); the
# operator (on the host) points it at the serving fleet's Service ClusterIP with signed
# UPDATEs and waits until both authoritative servers answer. fortio clients in a network
# namespace whose resolv.conf names the two servers send short, slow and long-lived
# requests to http://edge.example.test:PORT/ with keep-alive off, so every request resolves the
# name again (through BIND9) and connects to the fleet the record names.
#
# Asserts: every request answers 2xx (0 non-2xx, 0 transport errors); the rollout
# Succeeds; clients followed the record (after each move, no request starts at the old
# fleet: nginx access logs of every pod, by syslog to the host); the DNS drain rule: each
# drain after a DNS move ends no sooner than the record's TTL after the move (FleetRollout
# step timestamps), decided by observed connections; edge-temp is gone, edge runs the new
# template and both servers answer edge's address with the TTL.
# Prints per step the DNS convergence time (operator: apply() until every authoritative
# server answers; test side: a UDP poller of both servers) and the per-fleet request counts.
#
# Knobs: INGRESSX_E2E_DNS_TTL (record TTL, default 25 s: longer than the 20 s long-lived
# requests, so that the drain's end is set by the TTL rule and not by the connections).
# shellcheck disable=SC2034 # OPX_* variables are read by opx_render (envsubst)
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/operator_lib.sh
. "$(dirname "$0")/operator_lib.sh"
# shellcheck source=tests/e2e/dns_lab.sh
. "$(dirname "$0")/dns_lab.sh"

DNS_TTL="${INGRESSX_E2E_DNS_TTL:-25}"
DNS_PAUSE=3s
DNS_HOST="edge.$DNSLAB_ZONE"
DNS_TEMP_IP=""
T_START=$SECONDS

# The rollout watch prints this at each step change (the weight tests print HAProxy's
# servers there): what each authoritative server answers for the name, by fleet.
opx_haproxy_summary() {
  local a
  a="$(dnslab_answers "$DNS_HOST")"
  [ -n "${DNS_EDGE_IP:-}" ] && a="${a//$DNS_EDGE_IP/edge}"
  [ -n "$DNS_TEMP_IP" ] && a="${a//$DNS_TEMP_IP/edge-temp}"
  echo "dns $DNS_HOST: $a"
}
# on each step change: remember edge-temp's ClusterIP (its Service is gone at the end).
dns_on_step() {
  [ -n "$DNS_TEMP_IP" ] && return 0
  DNS_TEMP_IP="$(k get svc edge-temp -o jsonpath='{.spec.clusterIP}' 2>/dev/null || true)"
}

# The load (opx_load_start_all) runs in the lab's netns against http://edge.example.test
# (resolved through BIND9), keep-alive off (a connection per request) and -dns-method
# first (the default, cached-rr, would keep the first answer for the whole run): each
# request resolves the name again and connects to the address the record has then.
dns_load_start_all() {
  OPX_LOAD_PREFIX=(ip netns exec "$DNSLAB_NETNS")
  OPX_LOAD_FLAGS=(-keepalive=false -dns-method first)
  OPX_LOAD_URL="http://$DNS_HOST:$DNS_PORT"
  opx_load_start_all
}

# ---------------------------------------------------------------- set-up

opx_setup
dnslab_chain_e2e_cleanup
dnslab_up
# The fleet Services' port: one no other Service in the cluster uses, so that the rules
# below touch nothing but this test's traffic.
used_ports=" $(kubectl get svc -A -o jsonpath='{.items[*].spec.ports[*].port}') "
DNS_PORT=""
for _ in $(seq 1 20); do
  p=$((20000 + RANDOM % 10000))
  [[ "$used_ports" == *" $p "* ]] || { DNS_PORT=$p; break; }
done
[ -n "$DNS_PORT" ] || fail "no free Service port in 20000..29999"
OPX_SERVICE_PORT="$DNS_PORT"
# Here the default gateway answers every TCP connection, also one to a ClusterIP that
# kube-proxy has not programmed yet: the operator's check that a fleet's address takes
# connections would pass before it does. Reset those as a real cluster network would.
dnslab_reject_unserved "$INGRESSX_SERVICE_CLUSTER_IP_RANGE" "$DNS_PORT"
dnslab_syslog_start "$OPX_TMP/access.log"
opx_backend
OPX_SYSLOG_SERVER="$DNSLAB_NS1_IP:$DNSLAB_SYSLOG_PORT"
OPX_NGINX_ACCESS_LOG="access_log syslog:server=$OPX_SYSLOG_SERVER,tag=fleet,nohostname fleet;"
opx_nginx_configmap
dnslab_secret_create edge-tsig
OPX_CUTOVER_TYPE=dns
OPX_CUTOVER_BLOCK="{provider: rfc2136, rfc2136: $(dnslab_rfc2136 "[edge]" "$DNS_TTL" edge-tsig)}"
opx_render_fleet TempFleet "[{weight: 100, pause: $DNS_PAUSE}]"
opx_dry_run_fleet
opx_start_operator main

opx_apply_fleet
opx_wait_fleet_phase Ready 180
opx_assert_fleet_pods edge 1 3 60
DNS_EDGE_IP="$(k get svc edge -o jsonpath='{.spec.clusterIP}')"
[ -n "$DNS_EDGE_IP" ] || fail "Service edge has no ClusterIP"
dnslab_wait_a "$DNS_HOST" "$DNS_EDGE_IP" 30
for ip in "$DNSLAB_NS1_IP" "$DNSLAB_NS2_IP"; do
  ttl="$(dnslab_ttl "$ip" "$DNS_HOST")"
  [ "$ttl" = "$DNS_TTL" ] || fail "$ip answers $DNS_HOST with TTL '$ttl', want $DNS_TTL"
done
opx_log "both servers answer $DNS_HOST A $DNS_EDGE_IP (Service edge) ttl $DNS_TTL"
# From the netns, the name resolves through BIND9 and the ClusterIP answers (host
# forwarding + kube-proxy).
dnslab_check_reach "http://$DNS_HOST:$DNS_PORT/?size=16" 20
ok "netns $DNSLAB_NETNS resolves $DNS_HOST through BIND9 and reaches Service edge $DNS_EDGE_IP"
# Pods reach the lab's servers too (an operator in the cluster would need that).
pod="$(k get pod -l app=edge -o jsonpath='{.items[0].metadata.name}')"
for ip in "$DNSLAB_NS1_IP" "$DNSLAB_NS2_IP"; do
  out="$(k exec "$pod" -c nginx -- nslookup "$DNS_HOST" "$ip" 2>&1)" || true
  grep -q "Address: $DNS_EDGE_IP\$" <<<"$out" || fail "pod $pod: nslookup $DNS_HOST $ip does not answer $DNS_EDGE_IP: $out"
done
ok "pod $pod resolves $DNS_HOST at both servers ($DNSLAB_NS1_IP, $DNSLAB_NS2_IP)"
OPX_REV0="$(opx_pf '{.status.currentRevision}')"
[ -n "$OPX_REV0" ] || fail "the Ready fleet has no status.currentRevision"

# ---------------------------------------------------------------- the rollout under load

dnslab_watch_start "$DNS_HOST" "$OPX_TMP/dns-watch.log"
dns_load_start_all
sleep 3
opx_mark_requests main
OP_LOG="${OPX_OP_LOG[main]}"
OP_LOG_MARK="$(wc -l <"$OP_LOG")"
opx_start_rollout 2
opx_watch_rollout "$OPX_FR" Succeeded 480 dns_on_step
opx_load_stop
dnslab_watch_stop
if opx_load_report >"$OPX_TMP/load-report.txt"; then
  grep -v '^front door' "$OPX_TMP/load-report.txt"
else
  grep -v '^front door' "$OPX_TMP/load-report.txt"
  echo "--- the clients' errors (fortio logs; IPs: edge $DNS_EDGE_IP, edge-temp ${DNS_TEMP_IP:-?}):"
  grep -h -o '"ts":[0-9.]*,"level":"warn","msg":"\[E\][^"]*' "$OPX_TMP"/load-*.log | head -n 20 | sed 's/^/    /' || true
  echo "--- the operator's DNS moves:"
  grep -h -E 'traffic set to|authoritative server' "$OP_LOG" | cut -c1-300 | sed 's/^/    /' || true
  fail "$OPX_LOAD_BAD requests failed (non-2xx or transport error) through DNS; logs in $OPX_TMP"
fi
ok "load through DNS (netns $DNSLAB_NETNS -> BIND9 -> fleet ClusterIPs): 0 non-2xx, 0 transport errors"

opx_wait_gone deploy/edge-temp 60
opx_wait_gone svc/edge-temp 30
opx_assert_fleet_pods edge 2 3 90
dnslab_wait_a "$DNS_HOST" "$DNS_EDGE_IP" 10
ok "both authoritative servers answer $DNS_HOST A $DNS_EDGE_IP (edge) again"
opx_wait_fleet_phase Ready 30
cur="$(opx_pf '{.status.currentRevision}')"
[ "$cur" = "$OPX_REV" ] || fail "status.currentRevision is $cur after the rollout, want $OPX_REV"
opx_print_rollout "$OPX_FR"
k get fr "$OPX_FR" -o json >"$OPX_TMP/fr.json"
tail -n "+$((OP_LOG_MARK + 1))" "$OP_LOG" >"$OPX_TMP/operator-rollout.log"
[ -n "$DNS_TEMP_IP" ] || fail "never saw Service edge-temp's ClusterIP during the rollout"

# ---------------------------------------------------------------- analysis

# One python pass over the FleetRollout, the operator's log, the DNS poller, the fleets'
# access logs and the fortio results: prints the figures, exits 1 with the reasons when an
# assertion does not hold.
python3 - "$OPX_TMP" "$DNS_TTL" "$DNS_EDGE_IP" "$DNS_TEMP_IP" "${OPX_LOADS[@]}" <<'PY' || fail "the DNS assertions do not hold (files in $OPX_TMP)"
import json, os, re, sys
from datetime import datetime, timezone

d, ttl, edge_ip, temp_ip = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
loads = sys.argv[5:]
fleet_of_ip = {edge_ip: "edge", temp_ip: "edge-temp"}
bad = []

def ts(s):  # RFC 3339 (seconds or milliseconds) -> epoch seconds
    s = s.replace("Z", "+00:00")
    return datetime.fromisoformat(s).timestamp()

fr = json.load(open(os.path.join(d, "fr.json")))
steps = fr["status"]["steps"]
drains = fr["status"].get("drains", []) or []

# --- the operator's DNS steps: "traffic set to X via rfc2136 ... in N ms" (apply() returns
# when every authoritative server answers) and the provider's own lines before it.
moves = []  # dicts: summary, t_end, ms, servers, update_ms
pending = {}
for line in open(os.path.join(d, "operator-rollout.log")):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    msg = j.get("msg", "")
    m = re.search(r"authoritative server\(s\) answer (\S+ \S+) after (\d+) ms", msg)
    if m:
        pending = {"servers": int(re.search(r"(\d+) authoritative", msg).group(1)),
                   "record": m.group(1), "update_ms": int(m.group(2))}
        continue
    m = re.search(r"traffic set to (.*) via (rfc2136 .*) in (\d+) ms", msg)
    if m:
        t_end = ts(j["ts"])
        moves.append(dict(summary=m.group(1), t_end=t_end, ms=int(m.group(3)),
                          t_start=t_end - int(m.group(3)) / 1000.0, **pending))
        pending = {}
# The FleetRollout step of each move, by its traffic split.
def split_key(pairs):
    return " ".join(sorted("%s=%s" % p for p in pairs))
step_of_split = {}
for s in steps:
    if s["name"].startswith("shift") and s.get("traffic"):
        step_of_split[split_key((t["fleet"], t["weight"]) for t in s["traffic"])] = s
real_moves = [m for m in moves if "record" in m]
for m in moves:
    s = step_of_split.get(split_key(tuple(x.split("=")) for x in m["summary"].split()))
    m["step"] = s["name"] if s else "?"
if len(real_moves) != 2:
    bad.append("want 2 DNS moves with an UPDATE (to edge-temp and back), the operator logged %d: %s"
               % (len(real_moves), [m["summary"] for m in moves]))
for m in real_moves:
    if m.get("servers") != 2:
        bad.append("%s: the provider waited for %s authoritative server(s), want 2 (primary and secondary)"
                   % (m["step"], m.get("servers")))

# --- test side: the UDP poller's answer changes per server.
changes = []  # (t, server, answer)
for line in open(os.path.join(d, "dns-watch.log")):
    p = line.split()
    if len(p) >= 3:
        changes.append((float(p[0]), p[1], " ".join(p[2:])))
def first_answer(server, ip, after):
    for t, srv, a in changes:
        if srv == server and t >= after - 0.05 and a == ip:
            return t
    return None
print("DNS convergence per step (operator: apply() from its start until every authoritative server answers;"
      " poller: when each server first answered the new address, from apply()'s start):")
conv = []
for m in real_moves:
    to_fleet = [x.split("=")[0] for x in m["summary"].split() if x.endswith("=100")][0]
    ip = edge_ip if to_fleet == "edge" else temp_ip
    t1, t2 = first_answer("ns1", ip, m["t_start"]), first_answer("ns2", ip, m["t_start"])
    poll = "ns1 +%s ms, ns2 +%s ms" % tuple("%.0f" % ((t - m["t_start"]) * 1000) if t else "?" for t in (t1, t2))
    lag = "%.0f ms" % ((t2 - t1) * 1000) if t1 and t2 else "?"
    print("  %-14s -> %-9s operator %4d ms (UPDATE accepted -> %d servers answer: %d ms); poller %s (secondary after primary: %s)"
          % (m["step"], to_fleet, m["ms"], m.get("servers", 0), m.get("update_ms", -1), poll, lag))
    conv.append("%s %d ms" % (m["step"], m["ms"]))
    if t2 is None or t1 is None:
        bad.append("%s: the poller did not see both servers answer %s" % (m["step"], ip))
    elif max(t1, t2) > m["t_end"] + 1.0:
        bad.append("%s: the poller saw a server answer %s %.0f ms after apply() returned"
                   % (m["step"], ip, (max(t1, t2) - m["t_end"]) * 1000))
held = sum(1 for l in open(os.path.join(d, "operator-rollout.log")) if "edge-temp: waiting for its Service address" in l)
print("  (before the first move the operator logged \"edge-temp: waiting for its Service address\" %d time(s): its connect check of the new ClusterIP)" % held)
for m in moves:
    if "record" not in m:
        print("  %-14s (no UPDATE needed: %s already answered) %d ms" % (m["step"], m["summary"], m["ms"]))

# --- the DNS drain rule: a drain after a DNS move ends no sooner than the TTL after the
# move (the move is done when the shift step's wait began: status.steps[].waitingSince),
# and is then decided by the observed connections. Timestamps have 1 s resolution
# (truncated), so a difference >= TTL in them means >= TTL - 1 s real, and a real one
# >= TTL always shows as >= TTL.
print("DNS drain (ttl %d s):" % ttl)
last_shift = None
for s in steps:
    if s["name"].startswith("shift"):
        last_shift = s
    if not s["name"].startswith("drain-"):
        continue
    if not last_shift:
        bad.append("%s: no DNS move before it" % s["name"]); continue
    moved = last_shift.get("waitingSince") or last_shift.get("startedAt")
    fleet = "edge" if s["name"] == "drain-primary" else "edge-temp"
    rec = [x for x in drains if x.get("fleet") == fleet]
    rec = rec[-1] if rec else {}
    after_move = ts(s["finishedAt"]) - ts(moved)
    length = ts(s["finishedAt"]) - ts(s["startedAt"])
    print("  %-13s move done %s (%s waitingSince), drain %s .. %s: ends %.0f s after the move, lasts %.0f s;"
          " decided by %s with %s connections"
          % (s["name"], moved[11:19], last_shift["name"], s["startedAt"][11:19], s["finishedAt"][11:19],
             after_move, length, rec.get("decidedBy"), rec.get("activeConnections")))
    if after_move < ttl:
        bad.append("%s ended %.0f s after the DNS move (%s), sooner than the TTL %d s" % (s["name"], after_move, last_shift["name"], ttl))
    if length < ttl:
        bad.append("%s lasted %.0f s, less than the TTL %d s" % (s["name"], length, ttl))
    if rec.get("decidedBy") != "connections":
        bad.append("%s: decided by %s, want connections" % (s["name"], rec.get("decidedBy")))
    s["_fleet"], s["_moved"] = fleet, ts(moved)

# --- which fleet served the requests: nginx access logs (syslog), request start =
# $msec - $request_time, by pod -> fleet.
reqs = []  # (start, end, fleet, status)
for line in open(os.path.join(d, "access.log")):
    p = line.split()
    if len(p) < 5:
        continue
    try:
        end, rt, host, status = float(p[-4]), float(p[-3]), p[-2], p[-1]
    except ValueError:
        continue
    m = re.match(r"^(.*)-[a-z0-9]{5,10}-[a-z0-9]{5}$", host)
    reqs.append((end - rt, end, m.group(1) if m else host, status))
reqs.sort()
bounds = [("before the first move", None)]
for m in real_moves:
    bounds.append(("during " + m["step"], m["t_start"]))
    bounds.append(("after " + m["step"], m["t_end"]))
print("requests served per fleet (nginx access logs of every pod; by request start):")
for i, (label, t0) in enumerate(bounds):
    t1 = bounds[i + 1][1] if i + 1 < len(bounds) else None
    sel = [r for r in reqs if (t0 is None or r[0] >= t0) and (t1 is None or r[0] < t1)]
    per = {}
    for r in sel:
        per[r[2]] = per.get(r[2], 0) + 1
    print("  %-26s %s" % (label, " ".join("%s=%d" % kv for kv in sorted(per.items())) or "none"))
# After each move (1 s after apply() returned, until the next move starts), no request
# starts at the fleet the record left: the clients followed the record.
for i, m in enumerate(real_moves):
    to_fleet = [x.split("=")[0] for x in m["summary"].split() if x.endswith("=100")][0]
    t0 = m["t_end"] + 1.0
    t1 = real_moves[i + 1]["t_start"] if i + 1 < len(real_moves) else float("inf")
    sel = [r for r in reqs if t0 <= r[0] < t1]
    stray = [r for r in sel if r[2] != to_fleet]
    if not sel or len(stray) > 0:
        bad.append("after %s: %d of %d requests started at another fleet than %s (clients did not follow the record)"
                   % (m["step"], len(stray), len(sel), to_fleet))
    else:
        print("  after %s: all %d requests started from 1 s after the move until the next went to %s"
              % (m["step"], len(sel), to_fleet))
# The drained fleet's last request ended before its drain did (the drain waited for it).
for s in steps:
    if s["name"].startswith("drain-") and "_fleet" in s:
        ends = [r[1] for r in reqs if r[2] == s["_fleet"] and r[0] < ts(s["finishedAt"]) + 1]
        mine = [e for e in ends if e >= s["_moved"] - 1]
        if mine:
            last = max(mine)
            print("  %s: last request at %s ended %.1f s after the move, the drain ended %.1f s after it"
                  % (s["name"], s["_fleet"], last - s["_moved"], ts(s["finishedAt"]) - s["_moved"]))
            if last > ts(s["finishedAt"]) + 1:
                bad.append("%s: a request at %s ended after the drain" % (s["name"], s["_fleet"]))
non2xx = [r for r in reqs if not r[3].startswith("2")]
if non2xx:
    bad.append("%d requests answered non-2xx by the fleets' nginx" % len(non2xx))

# --- fortio: connections per resolved address (keep-alive off: one per request).
total = errs = 0
for name in loads:
    r = json.load(open(os.path.join(d, "load-%s.json" % name)))
    ipc = {}
    for k, v in (r.get("IPCountMap") or {}).items():
        f = fleet_of_ip.get(k.rsplit(":", 1)[0], k)
        ipc[f] = ipc.get(f, 0) + v
    codes = {int(k): v for k, v in (r.get("RetCodes") or {}).items()}
    total += r["DurationHistogram"]["Count"]
    errs += sum(v for k, v in codes.items() if not 200 <= k < 300)
    print("  fortio %-5s: %d requests, %d connections, resolved to %s"
          % (name, r["DurationHistogram"]["Count"], r.get("SocketCount", 0),
             " ".join("%s=%d" % kv for kv in sorted(ipc.items()))))
    if len(ipc) < 2 and name != "long":
        bad.append("load %s connected to only %s" % (name, list(ipc)))

with open(os.path.join(d, "summary.txt"), "w") as f:
    f.write("requests %d, errors %d, DNS convergence %s" % (total, errs, ", ".join(conv)))
if bad:
    for b in bad:
        print("FAIL: " + b)
    sys.exit(1)
PY
# The floor of opx_figures: with DNS cutover each drain lasts at least the TTL.
OPX_MIN_DRAIN_S="$DNS_TTL" opx_figures main "$OPX_FR"
summary="$(cat "$OPX_TMP/summary.txt")"
ok "TempFleet rollout with rfc2136 cutover to revision $OPX_REV Succeeded in ${OPX_ROLLOUT_WALL} s under load through BIND9: $summary; drains >= ttl ${DNS_TTL} s after each move, decided by connections; test wall $((SECONDS - T_START)) s"

# ---------------------------------------------------------------- provider failure
# The TSIG key in the Secret goes wrong: BIND9 refuses the next move. The rollout must
# wait at its shift step with traffic (the record) where it is, the ProxyFleet's
# CutoverReady condition must say what failed, the operator must retry with a growing
# backoff, and the key never appears in status, Events or the operator's log. Then (a)
# with the key put right the same rollout goes on and Succeeds, and (b) with the key wrong
# again, an abort returns the fleet to where it was. The load runs all along: 0 errors.
DNS_BAD_SECRET="$(head -c 32 /dev/urandom | base64 -w0)"
dns_set_key() { # SECRET
  k create secret generic edge-tsig --from-literal=secret="$1" --dry-run=client -o yaml |
    k apply -f - >/dev/null || fail "could not update Secret edge-tsig"
}
dns_cutover_condition() {
  opx_pf '{range .status.conditions[?(@.type=="CutoverReady")]}{.status}|{.reason}|{.message}{end}'
}
# dns_wait_cutover_failed : CutoverReady False/ApplyFailed, the step waiting at
# shift-to-temp/1, both servers still answering edge; the key nowhere.
dns_wait_cutover_failed() {
  local deadline=$((SECONDS + 120)) c=""
  while [ $SECONDS -lt $deadline ]; do
    c="$(dns_cutover_condition)"
    [[ "$c" == False\|ApplyFailed\|* ]] && break
    sleep 0.5
  done
  [[ "$c" == False\|ApplyFailed\|* ]] || fail "CutoverReady is '$c' 120 s after the key went wrong, want False/ApplyFailed"
  opx_log "CutoverReady: $c"
  grep -q -E 'BADSIG|BADKEY|NOTAUTH|TSIG' <<<"$c" || fail "the condition does not say the TSIG key was refused: $c"
  local step msg
  step="$(k get fr "$OPX_FR" -o jsonpath='{.status.currentStep}')"
  [ "$step" = shift-to-temp/1 ] || fail "the rollout is at step '$step' while the provider fails, want shift-to-temp/1"
  msg="$(k get fr "$OPX_FR" -o jsonpath='{.status.steps[?(@.name=="shift-to-temp/1")].message}')"
  grep -q "retrying with backoff" <<<"$msg" || fail "step shift-to-temp/1 says '$msg', want the retry with backoff"
  dnslab_wait_a "$DNS_HOST" "$DNS_EDGE_IP" 5
  # At least 3 failed attempts, each waiting longer than the one before (2 s, 4 s, 8 s).
  local waits=""
  deadline=$((SECONDS + 40))
  while [ $SECONDS -lt $deadline ]; do
    waits="$(tail -n "+$((OP_LOG_MARK + 1))" "$OP_LOG" | grep -o 'failed ([0-9]* in a row, next try in [0-9]* ms)' |
      sed 's/.*next try in \([0-9]*\) ms.*/\1/' | tr '\n' ' ')"
    [ "$(wc -w <<<"$waits")" -ge 3 ] && break
    sleep 1
  done
  # shellcheck disable=SC2086 # one argument per wait
  python3 -c 'import sys; w = [int(x) for x in sys.argv[1:]]; sys.exit(0 if len(w) >= 3 and all(b > a for a, b in zip(w, w[1:])) else 1)' $waits ||
    fail "the operator's retries after the refused UPDATE are not backing off: waits [$waits] ms"
  opx_log "refused moves retried after $waits ms; record still at edge at both servers"
  local where
  for where in "$(k get pf "$OPX_FLEET" -o json)" "$(k get fr "$OPX_FR" -o json)" "$(k get events -o json)" "$(cat "$OP_LOG")"; do
    if grep -q -F -e "$DNS_BAD_SECRET" -e "$DNSLAB_SECRET" <<<"$where"; then
      fail "a TSIG secret appears in status, Events or the operator's log"
    fi
  done
  k get events -o json | grep -q '"reason": "TrafficShiftFailed"' || fail "no TrafficShiftFailed Event"
}

DNS_TEMP_IP=""
dns_load_start_all
sleep 2
OP_LOG_MARK="$(wc -l <"$OP_LOG")"
dns_set_key "$DNS_BAD_SECRET"
OPX_REV0="$OPX_REV"
opx_start_rollout 3
dns_wait_cutover_failed
ok "a refused UPDATE (wrong TSIG key): the rollout waits at shift-to-temp/1 with CutoverReady False/ApplyFailed, retries with backoff, the record stays on edge, no key in status, Events or logs"
# (a) the key put right: the same rollout goes on.
dns_set_key "$DNSLAB_SECRET"
opx_watch_rollout "$OPX_FR" Succeeded 480 dns_on_step
c="$(dns_cutover_condition)"
[[ "$c" == True\|* ]] || fail "CutoverReady is '$c' after the key was put right and the rollout Succeeded"
dnslab_wait_a "$DNS_HOST" "$DNS_EDGE_IP" 10
ok "with the key put right the rollout to revision $OPX_REV went on and Succeeded; CutoverReady True"
# (b) the key wrong again, then an abort.
OP_LOG_MARK="$(wc -l <"$OP_LOG")"
dns_set_key "$DNS_BAD_SECRET"
OPX_REV0="$OPX_REV"
opx_start_rollout 4
dns_wait_cutover_failed
k patch pf "$OPX_FLEET" --type merge -p '{"spec":{"abort":true}}' >/dev/null || fail "could not set spec.abort"
opx_watch_rollout "$OPX_FR" Aborted 240
opx_wait_gone deploy/edge-temp 60
dnslab_wait_a "$DNS_HOST" "$DNS_EDGE_IP" 5
ok "an abort while the provider refused every move: Aborted, edge-temp gone, the record on edge"
opx_load_stop
if ! opx_load_report >"$OPX_TMP/load-report-2.txt"; then
  grep -v '^front door' "$OPX_TMP/load-report-2.txt"
  fail "$OPX_LOAD_BAD requests failed while the provider failed"
fi
grep -v '^front door' "$OPX_TMP/load-report-2.txt"
k patch pf "$OPX_FLEET" --type merge -p '{"spec":{"abort":false}}' >/dev/null
dns_set_key "$DNSLAB_SECRET"
ok "provider failure: 0 non-2xx and 0 transport errors through the refused moves, the recovery and the abort; test wall $((SECONDS - T_START)) s"
