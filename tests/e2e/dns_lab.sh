# A DNS lab for the DNS cutover tests and benchmarks (sourced; bash; root): two
# authoritative BIND9 servers for one zone, and a network namespace for DNS clients.
#
#   BIND9   a primary (takes TSIG-signed UPDATEs, key generated per run) and a secondary
#           (follows it by NOTIFY + IXFR), each a foreground `named -g` under
#           `setpriv --pdeathsig KILL`, killed by PID in dnslab_cleanup. They listen on
#           port 53 of two addresses on the host end of a veth pair (the rfc2136 provider
#           queries the zone's NS targets on port 53), reachable from the host, from the
#           netns and from pods (pod -> node routing), so an operator in the cluster can
#           use them as well as one on the host. The zone's NS records name both (glue in
#           the zone), so the provider waits for both.
#   netns   DNSLAB_NETNS with the other end of the veth, a default route via the host end
#           and /etc/netns/$DNSLAB_NETNS/resolv.conf naming both servers: a process started
#           with dnslab_exec resolves names through BIND9 and reaches Service ClusterIPs
#           through the host (ip_forward + kube-proxy's iptables rules).
#
# Addresses: a free /29 in 10.253.0.0/16 (not the cluster's 10.0.0.0/24 services nor its
# 10.244.0.0/24 pods), picked per run under a lock, so that parallel runs do not collide.
#
# API (each function fails the test through fail() from lib.sh when it is defined):
#   dnslab_up                   dnslab_net_up + dnslab_bind_up
#   dnslab_net_up               netns + veth; sets DNSLAB_ID, DNSLAB_NETNS, DNSLAB_VETH_HOST,
#                               DNSLAB_VETH_NS, DNSLAB_NET (x/29), DNSLAB_NS1_IP and
#                               DNSLAB_NS2_IP (host end), DNSLAB_CLIENT_IP (netns end),
#                               DNSLAB_DIR (own temp dir unless set before)
#   dnslab_bind_up              key + both named; sets DNSLAB_SECRET (base64 TSIG secret),
#                               DNSLAB_SERVER (NS1:53), DNSLAB_PRIMARY_PID, DNSLAB_SECONDARY_PID
#   dnslab_exec CMD...          CMD in the netns (resolves through BIND9)
#   dnslab_check_reach URL [S]  GET URL from the netns answers 200 within S s (default 15)
#   dnslab_dig IP NAME [TYPE]   +short answer of one server, one line
#   dnslab_answers NAME         "ns1=A ns2=A" (A records, "-" for none)
#   dnslab_wait_a NAME IP S     both servers answer exactly A IP within S s
#   dnslab_ttl IP NAME          the TTL of NAME's A record at that server
#   dnslab_secret_create NAME   Secret NAME (key `secret`) in namespace $NS, for tsigSecretRef
#   dnslab_rfc2136 NAMES TTL SECRET
#                               flow YAML of spec.cutover.dns.rfc2136 for this lab
#   dnslab_watch_start NAME [F] UDP poller of both servers (20 ms), a line per answer change
#                               "EPOCH SERVER ANSWER"; sets DNSLAB_WATCH_PID, DNSLAB_WATCH_FILE
#   dnslab_watch_stop
#   dnslab_syslog_start [F]     UDP syslog collector on DNSLAB_NS1_IP (pods reach it), a line
#                               "EPOCH MESSAGE" per datagram; sets DNSLAB_SYSLOG_PID,
#                               DNSLAB_SYSLOG_PORT, DNSLAB_SYSLOG_FILE
#   dnslab_reject_unserved CIDR PORT
#                               host iptables rules (OUTPUT, FORWARD) resetting TCP to
#                               CIDR:PORT that kube-proxy did not DNAT, as a real network
#                               would not answer (see the function); removed by cleanup
#   dnslab_cleanup              kills everything above by PID, deletes netns, veth,
#                               /etc/netns/$DNSLAB_NETNS and DNSLAB_DIR (kept on failure or
#                               DNSLAB_KEEP_DIR=1); idempotent, keeps $?; call it from your
#                               EXIT trap, or:
#   dnslab_chain_e2e_cleanup    after e2e_namespace/opx_setup: lib.sh's e2e_cleanup runs
#                               dnslab_cleanup first (after opx_cleanup stopped the operator)
# Knobs (set before dnslab_up): DNSLAB_ZONE (example.test), DNSLAB_KEY_NAME (ingressx-e2e),
# DNSLAB_ALGORITHM (hmac-sha256 or hmac-sha512), DNSLAB_DIR.
#
# shellcheck shell=bash disable=SC2034

DNSLAB_ZONE="${DNSLAB_ZONE:-example.test}"
DNSLAB_KEY_NAME="${DNSLAB_KEY_NAME:-ingressx-e2e}"
DNSLAB_ALGORITHM="${DNSLAB_ALGORITHM:-hmac-sha256}"
DNSLAB_NAMED="${DNSLAB_NAMED:-/usr/sbin/named}"
DNSLAB_DIR=""
DNSLAB_OWN_DIR=0
DNSLAB_ID=""
DNSLAB_NETNS="" DNSLAB_VETH_HOST="" DNSLAB_VETH_NS=""
DNSLAB_NET="" DNSLAB_NS1_IP="" DNSLAB_NS2_IP="" DNSLAB_CLIENT_IP=""
DNSLAB_SERVER="" DNSLAB_SECRET=""
DNSLAB_PRIMARY_PID="" DNSLAB_SECONDARY_PID=""
DNSLAB_WATCH_PID="" DNSLAB_WATCH_FILE=""
DNSLAB_SYSLOG_PID="" DNSLAB_SYSLOG_PORT="" DNSLAB_SYSLOG_FILE=""
DNSLAB_NETNS_MADE=0
DNSLAB_IPT_RULES=()

_dnslab_log() {
  if declare -F opx_log >/dev/null; then opx_log "$@"; else printf '%s dnslab: %s\n' "$(date +%T.%1N)" "$*"; fi
}
_dnslab_fail() {
  if declare -F fail >/dev/null; then fail "$@"; fi
  echo "FAIL [dns_lab]: $*" >&2
  exit 1
}
_dnslab_alive() {
  local st
  st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
_dnslab_kill() {
  local pid="$1" _
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do _dnslab_alive "$pid" || break; sleep 0.1; done
  _dnslab_alive "$pid" && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- network namespace

# dnslab_net_up : the netns and veth pair. Sets DNSLAB_ID, DNSLAB_NETNS, DNSLAB_VETH_HOST,
# DNSLAB_VETH_NS, DNSLAB_NET (a.b.c.d/29), DNSLAB_NS1_IP (host end, the primary),
# DNSLAB_NS2_IP (host end too, the secondary), DNSLAB_CLIENT_IP (netns end).
dnslab_net_up() {
  [ "$(id -u)" = 0 ] || _dnslab_fail "dns_lab needs root (ip netns, veth, named on port 53)"
  [ "$(sysctl -n net.ipv4.ip_forward 2>/dev/null)" = 1 ] ||
    _dnslab_fail "net.ipv4.ip_forward is not 1 (is the cluster up?): the netns could not reach Service ClusterIPs"
  [ -n "$DNSLAB_DIR" ] || {
    DNSLAB_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ingressx-dnslab.XXXXXX")"
    DNSLAB_OWN_DIR=1
  }
  mkdir -p /run/lock
  local lock=/run/lock/ingressx-dnslab.lock try r k base used found=0
  exec {_dnslab_lock_fd}>"$lock"
  flock -w 30 "$_dnslab_lock_fd" || _dnslab_fail "could not take $lock in 30 s"
  used="$(ip -4 -o addr show; ip -4 route show table all)"
  for try in $(seq 1 50); do
    DNSLAB_ID="$(printf '%04x' $((RANDOM % 65536)))"
    r=$((RANDOM % 256)) k=$((RANDOM % 32))
    base="10.253.$r.$((k * 8))"
    grep -qE "10\\.253\\.$r\\.[0-9]" <<<"$used" && continue
    [ -e "/run/netns/ixdns-$DNSLAB_ID" ] && continue
    ip link show "ixd${DNSLAB_ID}h" >/dev/null 2>&1 && continue
    found=1
    break
  done
  [ "$found" = 1 ] || { flock -u "$_dnslab_lock_fd"; _dnslab_fail "no free /29 in 10.253.0.0/16"; }
  DNSLAB_NETNS="ixdns-$DNSLAB_ID" DNSLAB_VETH_HOST="ixd${DNSLAB_ID}h" DNSLAB_VETH_NS="ixd${DNSLAB_ID}n"
  DNSLAB_NET="$base/29"
  DNSLAB_NS1_IP="10.253.$r.$((k * 8 + 1))"
  DNSLAB_NS2_IP="10.253.$r.$((k * 8 + 2))"
  DNSLAB_CLIENT_IP="10.253.$r.$((k * 8 + 6))"
  DNSLAB_NETNS_MADE=1
  local out
  out="$(
    set -e
    exec 2>&1
    ip netns add "$DNSLAB_NETNS"
    ip link add "$DNSLAB_VETH_HOST" type veth peer name "$DNSLAB_VETH_NS" netns "$DNSLAB_NETNS"
    ip addr add "$DNSLAB_NS1_IP/29" dev "$DNSLAB_VETH_HOST"
    ip addr add "$DNSLAB_NS2_IP/29" dev "$DNSLAB_VETH_HOST"
    ip link set "$DNSLAB_VETH_HOST" up
    ip -n "$DNSLAB_NETNS" link set lo up
    ip -n "$DNSLAB_NETNS" addr add "$DNSLAB_CLIENT_IP/29" dev "$DNSLAB_VETH_NS"
    ip -n "$DNSLAB_NETNS" link set "$DNSLAB_VETH_NS" up
    ip -n "$DNSLAB_NETNS" route add default via "$DNSLAB_NS1_IP"
    mkdir -p "/etc/netns/$DNSLAB_NETNS"
    printf 'nameserver %s\nnameserver %s\noptions timeout:1 attempts:2\n' \
      "$DNSLAB_NS1_IP" "$DNSLAB_NS2_IP" >"/etc/netns/$DNSLAB_NETNS/resolv.conf"
  )" || { flock -u "$_dnslab_lock_fd"; _dnslab_fail "could not set up netns $DNSLAB_NETNS: $out"; }
  flock -u "$_dnslab_lock_fd"
  exec {_dnslab_lock_fd}>&-
  _dnslab_log "dns lab: netns $DNSLAB_NETNS ($DNSLAB_CLIENT_IP on $DNSLAB_VETH_NS), host end $DNSLAB_VETH_HOST ($DNSLAB_NS1_IP, $DNSLAB_NS2_IP), net $DNSLAB_NET"
}

# dnslab_exec CMD... : runs CMD in the netns (its /etc/resolv.conf names the two servers).
dnslab_exec() { ip netns exec "$DNSLAB_NETNS" "$@"; }

# dnslab_check_reach URL [TIMEOUT] : GET URL from the netns answers 200 (retries; kube-proxy
# may need a moment for a new Service).
dnslab_check_reach() {
  local url="$1" deadline=$((SECONDS + ${2:-15})) code=""
  while [ $SECONDS -lt "$deadline" ]; do
    code="$(dnslab_exec curl -sS -o /dev/null -w '%{http_code}' --max-time 3 "$url" 2>&1)" && [ "$code" = 200 ] && return 0
    sleep 0.5
  done
  _dnslab_fail "GET $url from netns $DNSLAB_NETNS does not answer 200 within ${2:-15} s; last: $code"
}

# ---------------------------------------------------------------- BIND9

_dnslab_options() { # DIR LISTEN
  cat <<EOF
options {
  directory "$1";
  pid-file "$1/named.pid";
  session-keyfile "$1/session.key";
  managed-keys-directory "$1";
  listen-on port 53 { $2; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  minimal-responses no;
  notify-delay 0;
EOF
}

# dnslab_bind_up : the key and both servers. Sets DNSLAB_SECRET (base64), DNSLAB_SERVER
# (NS1:53, the provider's `server`), DNSLAB_PRIMARY_PID, DNSLAB_SECONDARY_PID.
dnslab_bind_up() {
  [ -x "$DNSLAB_NAMED" ] || _dnslab_fail "no $DNSLAB_NAMED (apt-get install bind9 bind9-dnsutils)"
  local d="$DNSLAB_DIR" z="$DNSLAB_ZONE"
  mkdir -p "$d/primary" "$d/secondary"
  tsig-keygen -a "$DNSLAB_ALGORITHM" "$DNSLAB_KEY_NAME" >"$d/tsig.key" || _dnslab_fail "tsig-keygen failed"
  chmod 600 "$d/tsig.key"
  DNSLAB_SECRET="$(sed -n 's/.*secret "\([^"]*\)".*/\1/p' "$d/tsig.key")"
  [ -n "$DNSLAB_SECRET" ] || _dnslab_fail "no secret in $d/tsig.key"
  cat >"$d/primary/zone.db" <<EOF
\$TTL 300
@ IN SOA ns1.$z. hostmaster.$z. 1 3600 600 86400 60
@ IN NS ns1.$z.
@ IN NS ns2.$z.
ns1 IN A $DNSLAB_NS1_IP
ns2 IN A $DNSLAB_NS2_IP
EOF
  {
    _dnslab_options "$d/primary" "$DNSLAB_NS1_IP"
    cat <<EOF
  notify explicit;
  also-notify { $DNSLAB_NS2_IP; };
  allow-transfer { $DNSLAB_NET; 127.0.0.0/8; };
};
controls { };
include "$d/tsig.key";
zone "$z" {
  type primary;
  file "$d/primary/zone.db";
  allow-update { key "$DNSLAB_KEY_NAME"; };
};
EOF
  } >"$d/primary/named.conf"
  {
    _dnslab_options "$d/secondary" "$DNSLAB_NS2_IP"
    cat <<EOF
  notify no;
  allow-notify { $DNSLAB_NET; };
};
controls { };
include "$d/tsig.key";
zone "$z" {
  type secondary;
  primaries { $DNSLAB_NS1_IP; };
  file "$d/secondary/zone.db";
};
EOF
  } >"$d/secondary/named.conf"
  _dnslab_named primary "$DNSLAB_NS1_IP"
  DNSLAB_PRIMARY_PID="$_dnslab_pid"
  _dnslab_named secondary "$DNSLAB_NS2_IP"
  DNSLAB_SECONDARY_PID="$_dnslab_pid"
  DNSLAB_SERVER="$DNSLAB_NS1_IP:53"
  _dnslab_log "dns lab: BIND9 primary pid $DNSLAB_PRIMARY_PID on $DNSLAB_NS1_IP:53, secondary pid $DNSLAB_SECONDARY_PID on $DNSLAB_NS2_IP:53, zone $z, TSIG key $DNSLAB_KEY_NAME ($DNSLAB_ALGORITHM), dir $d"
}
# _dnslab_named SUB IP : starts one named (from this shell, not a subshell: --pdeathsig
# is tied to the forking thread) and waits until it answers the zone's SOA (a secondary:
# after its first transfer). Sets _dnslab_pid; the PID is also in $DNSLAB_DIR/SUB.pid.
_dnslab_named() {
  local sub="$1" ip="$2" d="$DNSLAB_DIR/$1" _
  setpriv --pdeathsig KILL -- "$DNSLAB_NAMED" -g -4 -n 1 -c "$d/named.conf" >"$d/named.out" 2>&1 </dev/null &
  _dnslab_pid=$!
  echo "$_dnslab_pid" >"$DNSLAB_DIR/$sub.pid"
  for _ in $(seq 1 100); do
    _dnslab_alive "$_dnslab_pid" || _dnslab_fail "named ($sub) exited at start: $(tail -n 8 "$d/named.out")"
    dig +tcp +time=1 +tries=1 +short "@$ip" "$DNSLAB_ZONE" SOA 2>/dev/null | grep -q hostmaster && return 0
    sleep 0.2
  done
  _dnslab_fail "named ($sub) does not answer for $DNSLAB_ZONE on $ip:53 after 20 s: $(tail -n 8 "$d/named.out")"
}

# dnslab_up : dnslab_net_up + dnslab_bind_up.
dnslab_up() {
  dnslab_net_up
  dnslab_bind_up
}

# dnslab_dig SERVER_IP NAME [TYPE] : the +short answer (one line per record) of one server.
dnslab_dig() {
  dig +time=1 +tries=2 +short "@$1" "$2" "${3:-A}" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//'
}
# dnslab_answers NAME : "ns1=ANSWER ns2=ANSWER" (A records; "-" for none).
dnslab_answers() {
  local a b
  a="$(dnslab_dig "$DNSLAB_NS1_IP" "$1")" b="$(dnslab_dig "$DNSLAB_NS2_IP" "$1")"
  echo "ns1=${a:--} ns2=${b:--}"
}
# dnslab_wait_a NAME IP TIMEOUT : both servers answer exactly the A record IP for NAME.
dnslab_wait_a() {
  local deadline=$((SECONDS + $3)) got=""
  while [ $SECONDS -lt "$deadline" ]; do
    got="$(dnslab_answers "$1")"
    [ "$got" = "ns1=$2 ns2=$2" ] && return 0
    sleep 0.2
  done
  _dnslab_fail "$1 is not A $2 at both servers after $3 s: $got"
}
# dnslab_ttl SERVER_IP NAME : the TTL of NAME's A record at that server.
dnslab_ttl() { dig +time=1 +tries=2 +noall +answer "@$1" "$2" A 2>/dev/null | awk '$4 == "A" { print $2; exit }'; }

# dnslab_secret_create NAME : a Secret NAME (key `secret`: the TSIG secret) in namespace $NS.
dnslab_secret_create() {
  kubectl -n "$NS" create secret generic "$1" --from-literal=secret="$DNSLAB_SECRET" >/dev/null ||
    _dnslab_fail "could not create Secret $1 in $NS"
}
# dnslab_rfc2136 NAMES TTL SECRET : flow-style YAML of spec.cutover.dns.rfc2136 (NAMES a
# flow list, e.g. "[edge]").
dnslab_rfc2136() {
  printf '{server: "%s", zone: %s, names: %s, ttl: %s, tsigKeyName: %s, algorithm: %s, tsigSecretRef: {name: %s, key: secret}}' \
    "$DNSLAB_SERVER" "$DNSLAB_ZONE" "$1" "$2" "$DNSLAB_KEY_NAME" "$DNSLAB_ALGORITHM" "$3"
}

# ---------------------------------------------------------------- observers

# dnslab_watch_start NAME [FILE] : polls both servers over UDP every 20 ms (python, no
# process per query) and writes a line "EPOCH_S SERVER ANSWER" each time a server's A
# answer for NAME changes (ANSWER "-" for none). Sets DNSLAB_WATCH_PID, DNSLAB_WATCH_FILE.
dnslab_watch_start() {
  DNSLAB_WATCH_FILE="${2:-$DNSLAB_DIR/watch.log}"
  : >"$DNSLAB_WATCH_FILE"
  setpriv --pdeathsig KILL -- python3 -u -c '
import random, socket, struct, sys, time
name, out = sys.argv[1], open(sys.argv[2], "a", buffering=1)
servers = [("ns1", sys.argv[3]), ("ns2", sys.argv[4])]
def query(qid):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for l in name.rstrip(".").split("."):
        q += bytes([len(l)]) + l.encode()
    return q + b"\0" + struct.pack(">HH", 1, 1)
def skip(m, i):
    while True:
        n = m[i]
        if n == 0: return i + 1
        if n & 0xC0 == 0xC0: return i + 2
        i += n + 1
def answer(m):
    qd, an = struct.unpack(">HH", m[4:8])
    i = 12
    for _ in range(qd): i = skip(m, i) + 4
    ips = []
    for _ in range(an):
        i = skip(m, i)
        t, c, ttl, l = struct.unpack(">HHIH", m[i:i + 10]); i += 10
        if t == 1 and l == 4: ips.append(socket.inet_ntoa(m[i:i + 4]))
        i += l
    return " ".join(sorted(ips)) or "-"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
last = {}
while True:
    for label, ip in servers:
        qid = random.randrange(65536)
        try:
            s.sendto(query(qid), (ip, 53))
            while True:
                m, _ = s.recvfrom(4096)
                if struct.unpack(">H", m[:2])[0] == qid: break
            a = answer(m)
        except socket.timeout:
            a = "timeout"
        now = time.time()
        if last.get(label) != a:
            last[label] = a
            out.write("%.3f %s %s\n" % (now, label, a))
    time.sleep(0.02)
' "$1" "$DNSLAB_WATCH_FILE" "$DNSLAB_NS1_IP" "$DNSLAB_NS2_IP" >"$DNSLAB_WATCH_FILE.err" 2>&1 &
  DNSLAB_WATCH_PID=$!
}
dnslab_watch_stop() { _dnslab_kill "$DNSLAB_WATCH_PID"; DNSLAB_WATCH_PID=""; }

# dnslab_syslog_start [FILE] : a UDP syslog collector on DNSLAB_NS1_IP (reachable from
# pods) for nginx `access_log syslog:server=$DNSLAB_NS1_IP:$DNSLAB_SYSLOG_PORT,...`: one
# line "RECV_EPOCH_S MESSAGE" per datagram. Sets DNSLAB_SYSLOG_PID, _PORT, _FILE.
dnslab_syslog_start() {
  DNSLAB_SYSLOG_FILE="${1:-$DNSLAB_DIR/syslog.log}"
  : >"$DNSLAB_SYSLOG_FILE"
  rm -f "$DNSLAB_DIR/syslog.port"
  setpriv --pdeathsig KILL -- python3 -u -c '
import socket, sys, time, os
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((sys.argv[1], 0))
out = open(sys.argv[2], "a", buffering=1)
with open(sys.argv[3] + ".tmp", "w") as f: f.write(str(s.getsockname()[1]))
os.rename(sys.argv[3] + ".tmp", sys.argv[3])
while True:
    m, _ = s.recvfrom(65535)
    out.write("%.3f %s\n" % (time.time(), m.decode("utf-8", "replace").strip()))
' "$DNSLAB_NS1_IP" "$DNSLAB_SYSLOG_FILE" "$DNSLAB_DIR/syslog.port" >"$DNSLAB_SYSLOG_FILE.err" 2>&1 &
  DNSLAB_SYSLOG_PID=$!
  local _
  for _ in $(seq 1 50); do
    [ -s "$DNSLAB_DIR/syslog.port" ] && { DNSLAB_SYSLOG_PORT="$(cat "$DNSLAB_DIR/syslog.port")"; return 0; }
    _dnslab_alive "$DNSLAB_SYSLOG_PID" || break
    sleep 0.1
  done
  _dnslab_fail "the syslog collector did not start: $(cat "$DNSLAB_SYSLOG_FILE.err" 2>/dev/null)"
}

# dnslab_reject_unserved CIDR PORT : on this machine the default gateway accepts a TCP
# connection to any address it is sent (a transparent proxy), so a connect to a ClusterIP
# that kube-proxy has not programmed yet succeeds; in a real cluster nothing answers it.
# These rules (first in OUTPUT and FORWARD, tagged ingressx-dnslab-$DNSLAB_ID) reset TCP
# connections to CIDR (the Service range) on PORT (pick one no other Service uses) that
# kube-proxy did not DNAT to an endpoint: its own REJECT of a Service without endpoints
# answers the same way. So the operator's reachability check of a fleet's ClusterIP, and
# the clients, see what a real cluster would show. Removed by dnslab_cleanup.
dnslab_reject_unserved() {
  local chain rule
  for chain in OUTPUT FORWARD; do
    rule="-p tcp -d $1 --dport $2 -m comment --comment ingressx-dnslab-$DNSLAB_ID -j REJECT --reject-with tcp-reset"
    # shellcheck disable=SC2086 # $rule: words without spaces
    iptables -w 5 -I "$chain" 1 $rule || _dnslab_fail "iptables -I $chain $rule failed"
    DNSLAB_IPT_RULES+=("$chain $rule")
  done
  _dnslab_log "dns lab: TCP to $1 port $2 not DNATed by kube-proxy is reset (OUTPUT, FORWARD)"
}

# ---------------------------------------------------------------- cleanup

# dnslab_cleanup : kills the observers and both named by PID, deletes the netns, the veth
# and /etc/netns/$DNSLAB_NETNS, and the lab directory (kept, with the named logs, when
# DNSLAB_KEEP_DIR=1 or the exit status is not 0). Idempotent; keeps $?.
dnslab_cleanup() {
  local rc=$? sub pid
  dnslab_watch_stop
  _dnslab_kill "$DNSLAB_SYSLOG_PID"
  DNSLAB_SYSLOG_PID=""
  for pid in "$DNSLAB_SECONDARY_PID" "$DNSLAB_PRIMARY_PID"; do _dnslab_kill "$pid"; done
  if [ -n "$DNSLAB_DIR" ]; then
    for sub in secondary primary; do # started, but not recorded (set-up failed)
      pid="$(cat "$DNSLAB_DIR/$sub.pid" 2>/dev/null || true)"
      [ -n "$pid" ] && _dnslab_kill "$pid"
      rm -f "$DNSLAB_DIR/$sub.pid"
    done
  fi
  DNSLAB_PRIMARY_PID="" DNSLAB_SECONDARY_PID=""
  local r
  for r in "${DNSLAB_IPT_RULES[@]}"; do
    # shellcheck disable=SC2086 # "CHAIN RULE...": words without spaces
    iptables -w 5 -D $r 2>/dev/null || echo "warning: could not delete iptables rule $r" >&2
  done
  DNSLAB_IPT_RULES=()
  if [ "$DNSLAB_NETNS_MADE" = 1 ]; then
    # Processes still in the netns (a load client the caller did not stop) keep it alive.
    local p
    for p in $(ip netns pids "$DNSLAB_NETNS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip link del "$DNSLAB_VETH_HOST" 2>/dev/null || true
    ip netns del "$DNSLAB_NETNS" 2>/dev/null || true
    rm -rf -- "/etc/netns/$DNSLAB_NETNS"
    DNSLAB_NETNS_MADE=0
  fi
  if [ "$DNSLAB_OWN_DIR" = 1 ] && [ -n "$DNSLAB_DIR" ]; then
    if [ "$rc" = 0 ] && [ "${DNSLAB_KEEP_DIR:-0}" != 1 ]; then
      rm -rf -- "$DNSLAB_DIR"
    else
      echo "dns lab files kept in $DNSLAB_DIR" >&2
    fi
    DNSLAB_OWN_DIR=0
  fi
  return "$rc"
}
# dnslab_chain_e2e_cleanup : makes lib.sh's e2e_cleanup (the end of opx_cleanup's chain,
# after the fleets are deleted and the operators stopped) run dnslab_cleanup first, so the
# lab goes away on every exit of the test, and after the operator no longer needs it.
dnslab_chain_e2e_cleanup() {
  declare -F e2e_cleanup >/dev/null || return 0
  declare -F _dnslab_e2e_cleanup_orig >/dev/null && return 0
  eval "_dnslab_e2e_cleanup_orig() $(declare -f e2e_cleanup | tail -n +2)"
  # shellcheck disable=SC2329 # called by the EXIT trap chain
  e2e_cleanup() {
    local rc=$?
    (exit "$rc")
    dnslab_cleanup
    (exit "$rc")
    _dnslab_e2e_cleanup_orig
  }
}
