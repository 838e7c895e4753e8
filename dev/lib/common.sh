# Shared helpers for dev/cluster. Sourced, not executed.
# shellcheck shell=bash
#
# Process rules: every process this tool starts gets a pid file in $RUN_DIR; it is only
# ever signalled by that pid, and only after /proc/<pid>/cmdline shows it still is the
# process we started (its command line names the state directory). Nothing is ever
# killed by name.

# --- logging and timing ------------------------------------------------------------

log() { printf 'cluster: %s\n' "$*" >&2; }
die() {
  local rc=1
  if [[ "${1:-}" =~ ^[0-9]+$ ]]; then rc=$1; shift; fi
  printf 'cluster: error: %s\n' "$*" >&2
  exit "$rc"
}

now() { printf '%s' "$EPOCHREALTIME"; }
# elapsed START -> seconds with one decimal since START (a value from now)
elapsed() { awk -v s="$1" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", e - s }'; }

# --- state directory ---------------------------------------------------------------

# Sets the path variables for the state directory. Everything is written below $DIR.
init_paths() {
  local raw="${INGRESSX_CLUSTER_DIR:-/tmp/ingressx-cluster}"
  [ -n "$raw" ] || die "INGRESSX_CLUSTER_DIR is empty"
  DIR="$(realpath -m -- "$raw")"
  case "$DIR" in
    / | /tmp | /root | /home | /usr | /etc | /var | "$HOME") die "refusing to use $DIR as the cluster state directory" ;;
  esac
  MARKER="$DIR/.ingressx-cluster"
  LOCK_FILE="$DIR/.lock"
  ENV_FILE="$DIR/env"
  KUBECONFIG_FILE="$DIR/kubeconfig"
  PKI_DIR="$DIR/pki"
  AUTH_DIR="$DIR/auth"
  RUN_DIR="$DIR/run"
  LOG_DIR="$DIR/logs"
  ETCD_DATA_DIR="$DIR/etcd"
  APISERVER_CERT_DIR="$DIR/apiserver-certs"
  TOKEN_USER_TOKEN_FILE="$DIR/token-user.token"
  EXEC_USER_TOKEN_FILE="$DIR/exec-user.token"
}

# Creates the state directory, or checks that an existing one is ours.
claim_dir() {
  if [ -d "$DIR" ] && [ ! -f "$MARKER" ]; then
    if [ -n "$(ls -A -- "$DIR" 2>/dev/null)" ]; then
      die "$DIR exists, is not empty and is not an ingressx cluster directory (no $MARKER); refusing to use it"
    fi
  fi
  mkdir -p -- "$DIR"
  printf 'ingressx dev/cluster state directory\n' >"$MARKER"
}

# Takes an exclusive lock for the rest of this process (fd 9). Children that outlive us
# must be started with 9>&- so they do not keep holding it.
take_lock() {
  [ -f "$MARKER" ] || return 0
  exec 9>>"$LOCK_FILE"
  if ! flock -w 300 9; then
    die "another dev/cluster command holds $LOCK_FILE"
  fi
}

# Removes runtime data (keeps the marker, the lock and the logs of the last run).
clean_runtime_data() {
  [ -f "$MARKER" ] || return 0
  rm -rf -- "$ENV_FILE" "$KUBECONFIG_FILE" "$PKI_DIR" "$AUTH_DIR" "$RUN_DIR" \
    "$ETCD_DATA_DIR" "$APISERVER_CERT_DIR" "$TOKEN_USER_TOKEN_FILE" "$EXEC_USER_TOKEN_FILE"
}

# --- env file ----------------------------------------------------------------------

# env_get KEY -> value from $ENV_FILE (empty if missing)
env_get() {
  [ -f "$ENV_FILE" ] || return 0
  local k v
  while IFS='=' read -r k v; do
    if [ "$k" = "$1" ]; then printf '%s' "$v"; return 0; fi
  done <"$ENV_FILE"
}

# --- ports -------------------------------------------------------------------------

# free_ports N -> N distinct free TCP ports on 127.0.0.1, one per line
free_ports() {
  local py
  if ! py="$(command -v /usr/bin/python3 || command -v python3)"; then
    # No python3: random ports below the ephemeral range that nothing accepts on.
    local n=0 p seen=" "
    while ((n < $1)); do
      p=$((20000 + RANDOM % 12000))
      [[ "$seen" == *" $p "* ]] && continue
      if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        seen+="$p "
        echo "$p"
        n=$((n + 1))
      fi
    done
    return 0
  fi
  "$py" - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
for s in socks:
    s.close()
PY
}

# --- processes ---------------------------------------------------------------------

pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }

# pid_of NAME -> pid recorded for component NAME (empty if none)
pid_of() {
  local f
  f="$(pid_file "$1")"
  [ -f "$f" ] && tr -dc '0-9' <"$f" || true
}

# is_ours PID -> true if PID is alive (not a zombie) and its command line names $DIR
is_ours() {
  local pid="$1" state cmdline
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state="$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$pid/stat" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] || return 1
  cmdline="$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null)" || return 1
  [[ "$cmdline" == *"$DIR/"* ]]
}

# component_running NAME -> true if the recorded process of NAME is alive
component_running() { is_ours "$(pid_of "$1")"; }

# start_daemon NAME LOGFILE CMD ARGS... : starts CMD in its own session with no
# inherited fds except the log, records its pid and the command line.
start_daemon() {
  local name="$1" logfile="$2"
  shift 2
  local pidf
  pidf="$(pid_file "$name")"
  mkdir -p -- "$RUN_DIR" "$LOG_DIR"
  rm -f -- "$pidf"
  printf '%s\n' "$@" >"$RUN_DIR/$name.args"
  printf -- '--- %s starting %s\n' "$(date -u +%FT%TZ)" "$name" >>"$logfile"
  # bash -c writes its own pid and execs the daemon, so the pid file holds the daemon's
  # pid whether or not setsid had to fork.
  # shellcheck disable=SC2016 # expanded by the inner bash
  setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$pidf" "$@" \
    </dev/null >>"$logfile" 2>&1 9>&- &
  local i
  for ((i = 0; i < 100; i++)); do
    [ -s "$pidf" ] && break
    sleep 0.05
  done
  [ -s "$pidf" ] || die "could not start $name (no pid file)"
  printf '%s\n' "$name" >>"$RUN_DIR/order"
}

# stop_pid NAME PID : TERM, wait up to 10 s, then KILL; fails if it is still there.
stop_pid() {
  local name="$1" pid="$2" i
  is_ours "$pid" || return 0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    is_ours "$pid" || return 0
    sleep 0.1
  done
  log "$name (pid $pid) did not exit after 10s; sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    is_ours "$pid" || return 0
    sleep 0.1
  done
  log "$name (pid $pid) is still running after KILL"
  return 1
}

# stop_component NAME : stops the recorded process of NAME and removes its pid file.
stop_component() {
  local name="$1" pid
  pid="$(pid_of "$name")"
  if [ -n "$pid" ]; then
    stop_pid "$name" "$pid" || return 1
  fi
  rm -f -- "$(pid_file "$name")"
}

# stop_all : stops every recorded component, in reverse start order.
stop_all() {
  [ -d "$RUN_DIR" ] || return 0
  local names=() n rc=0 seen=" "
  if [ -f "$RUN_DIR/order" ]; then
    mapfile -t names < <(tac "$RUN_DIR/order")
  fi
  # Any pid file not in the order file (should not happen) is stopped last.
  local f
  for f in "$RUN_DIR"/*.pid; do
    [ -e "$f" ] || continue
    n="$(basename "$f" .pid)"
    names+=("$n")
  done
  for n in "${names[@]}"; do
    [[ "$seen" == *" $n "* ]] && continue
    seen+="$n "
    stop_component "$n" || rc=1
  done
  return $rc
}

# wait_http NAME PID TIMEOUT LOGFILE CURL-ARGS... : polls until curl succeeds; fails early
# if PID exits, and tails LOGFILE on failure.
wait_http() {
  local name="$1" pid="$2" timeout="$3" logfile="$4"
  shift 4
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if curl -fsS --max-time 2 -o /dev/null "$@" 2>/dev/null; then
      return 0
    fi
    if ! is_ours "$pid"; then
      log "$name (pid $pid) exited during startup; last lines of $logfile:"
      tail -n 30 -- "$logfile" >&2 || true
      return 1
    fi
    sleep 0.2
  done
  log "$name did not become ready within ${timeout}s; last lines of $logfile:"
  tail -n 30 -- "$logfile" >&2 || true
  curl -sS --max-time 2 "$@" >&2 2>&1 || true
  return 1
}
