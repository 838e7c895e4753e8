# The node half of the full single-node cluster for dev/cluster: containerd (our own
# instance), kube-controller-manager, kube-scheduler, kubelet, kube-proxy, CoreDNS, and
# the teardown of everything they create. Sourced, not executed.
# shellcheck shell=bash
#
# Host objects the cluster creates, and how `down` finds exactly them:
#   processes      pid files in $RUN_DIR (ours), shims and pod processes: their command
#                  line names $DIR, or they sit in our cgroup (/sys/fs/cgroup/*/$CGROUP_NAME)
#   mounts         everything mounted below $DIR, and the pod network namespaces whose
#                  paths containerd recorded for our sandboxes (run/netns.list)
#   interfaces     the CNI bridge $BRIDGE and the veths of our pods (gone with the netns)
#   iptables       KUBE-* (kube-proxy, kubelet) and CNI-* (bridge, portmap) chains, removed
#                  only when none of them existed before `up` (run/iptables-owned)
#   sysctls        the values before `up` are recorded in run/sysctl.saved and restored
#   files          /var/log/containers/* links into $DIR; /var/lib/cni/results/ entries of
#                  our sandboxes; the directories /run/netns, /var/lib/cni, /run/containerd
#                  and /var/log/containers when `up` created them (and they are empty)
# What `up` recorded lives in $HOST_STATE (kept until `down` succeeds); the list of
# sandboxes and network namespaces of the last run is also kept in $LOG_DIR/node-objects
# for `dev/cluster leftovers`.

NODE_NAME="${INGRESSX_NODE_NAME:-ingressx-node}"
POD_CIDR="${INGRESSX_POD_CIDR:-10.244.0.0/24}"
POD_GATEWAY="${INGRESSX_POD_GATEWAY:-10.244.0.1}"
CLUSTER_DNS_IP="10.0.0.10"
CLUSTER_DOMAIN="cluster.local"
BRIDGE="ingressx0"
CNI_NET="ingressx"
CGROUP_NAME="ingressx"
CNI_BIN_DIR="/usr/lib/cni"
# shellcheck disable=SC2034 # used by dev/cluster
NODE_COMPONENTS=(containerd kube-controller-manager kube-scheduler kubelet kube-proxy coredns)
# Host directories that containerd, the CNI plugins and the kubelet create when missing.
HOST_DIRS=(/run/netns /var/lib/cni /run/containerd /var/log/containers)
SYSCTLS=(net.ipv4.ip_forward net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables
  net.bridge.bridge-nf-call-ip6tables vm.overcommit_memory vm.panic_on_oom kernel.panic
  kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

node_paths() {
  CTRD_DIR="$DIR/containerd"
  CONTAINERD_SOCK="$CTRD_DIR/containerd.sock"
  KUBELET_DIR="$DIR/kubelet"
  CNI_DIR="$DIR/cni"
  COMPONENT_DIR="$DIR/components"
  POD_LOG_DIR="$DIR/pod-logs"
  HOST_STATE="$DIR/host-state"
  NODE_OBJECTS="$LOG_DIR/node-objects"
}

# node_ip : the address pods and the apiserver use to reach this node (the source
# address of the default route, else the first global address; INGRESSX_NODE_IP overrides).
node_ip() {
  if [ -n "${INGRESSX_NODE_IP:-}" ]; then printf '%s' "$INGRESSX_NODE_IP"; return; fi
  local ip
  ip="$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "src") { print $(i + 1); exit } }')"
  # No default route: the first global address of an interface that is not ours.
  [ -n "$ip" ] || ip="$(ip -4 -o addr show scope global 2>/dev/null |
    awk -v br="$BRIDGE" '$2 != br { sub(/\/.*/, "", $4); print $4; exit }')"
  printf '%s' "$ip"
}

# --- preflight ---------------------------------------------------------------------

node_preflight() {
  [ "$(id -u)" -eq 0 ] || die "the full cluster needs root (containerd, kubelet, iptables)"
  local c
  for c in containerd containerd-shim-runc-v2 runc ctr iptables ip6tables iptables-save conntrack umoci gcc \
    kubectl nginx busybox; do
    command -v "$c" >/dev/null || die "$c is not installed; run scripts/setup.sh --cluster"
  done
  for c in bridge host-local loopback portmap; do
    [ -x "$CNI_BIN_DIR/$c" ] || die "CNI plugin $CNI_BIN_DIR/$c missing (Debian containernetworking-plugins)"
  done
  [ -d /sys/fs/cgroup/memory ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || die "no cgroup memory controller"
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    local other
    other="$(cat -- "${OWNER_FILE:-/run/ingressx/full-cluster}" 2>/dev/null)" || other=""
    [ -z "$other" ] || [ "$other" = "$DIR" ] ||
      die "interface $BRIDGE belongs to the full cluster of $other (one full cluster per machine): use it (INGRESSX_CLUSTER_DIR=$other) or take it down (INGRESSX_CLUSTER_DIR=$other dev/cluster down)"
    die "interface $BRIDGE already exists and is not from a running cluster of $DIR; remove it or run dev/cluster down"
  fi
  if grep -q "^${POD_CIDR%/*}" <<<"$(ip -4 route)"; then
    die "the pod CIDR $POD_CIDR is already routed on this machine (INGRESSX_POD_CIDR to change it)"
  fi
  NODE_IP="$(node_ip)"
  [ -n "$NODE_IP" ] || die "could not find this machine's address (set INGRESSX_NODE_IP)"
}

# _chains_present : prints KUBE-* / CNI-* chains in any table, for iptables and ip6tables.
_chains_present() {
  local ipt
  for ipt in iptables-save ip6tables-save; do
    "$ipt" 2>/dev/null | grep -E '^:(KUBE-|CNI-)' | cut -d' ' -f1 || true
  done
}

# record_host_state : sysctls, iptables ownership, /var/log/containers; before anything starts.
record_host_state() {
  local s f
  mkdir -p "$HOST_STATE"
  [ -f "$HOST_STATE/sysctl.saved" ] && return 0 # a previous up's records are still valid
  : >"$NODE_OBJECTS"
  : >"$HOST_STATE/created-dirs"
  for f in "${HOST_DIRS[@]}"; do
    [ -e "$f" ] || echo "$f" >>"$HOST_STATE/created-dirs"
  done
  : >"$HOST_STATE/sysctl.saved.tmp"
  for s in "${SYSCTLS[@]}"; do
    f="/proc/sys/${s//.//}"
    [ -r "$f" ] && printf '%s=%s\n' "$s" "$(cat "$f")" >>"$HOST_STATE/sysctl.saved.tmp"
  done
  if [ -z "$(_chains_present)" ]; then
    echo yes >"$HOST_STATE/iptables-owned"
  else
    log "warning: KUBE-*/CNI-* iptables chains exist already (another cluster?); down will not remove any"
    echo no >"$HOST_STATE/iptables-owned"
  fi
  mv "$HOST_STATE/sysctl.saved.tmp" "$HOST_STATE/sysctl.saved"
}

# --- cgroups -----------------------------------------------------------------------

_cgroup_roots() { # every mounted cgroup hierarchy
  awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/self/mounts
}

make_cgroup_root() {
  local m
  while read -r m; do
    mkdir -p "$m/$CGROUP_NAME" 2>/dev/null || continue
    if [ -f "$m/cpuset.cpus" ] && [ -f "$m/$CGROUP_NAME/cpuset.cpus" ]; then
      [ -n "$(cat "$m/$CGROUP_NAME/cpuset.cpus")" ] || cat "$m/cpuset.cpus" >"$m/$CGROUP_NAME/cpuset.cpus"
      [ -n "$(cat "$m/$CGROUP_NAME/cpuset.mems")" ] || cat "$m/cpuset.mems" >"$m/$CGROUP_NAME/cpuset.mems"
    fi
  done < <(_cgroup_roots)
}

# _cgroup_pids : pids in our cgroup tree (any hierarchy)
_cgroup_pids() {
  local m
  while read -r m; do
    [ -d "$m/$CGROUP_NAME" ] || continue
    find "$m/$CGROUP_NAME" -name cgroup.procs -exec cat {} + 2>/dev/null
  done < <(_cgroup_roots) | sort -un
}

remove_cgroup_root() {
  local m rc=0
  while read -r m; do
    [ -d "$m/$CGROUP_NAME" ] || continue
    find "$m/$CGROUP_NAME" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    if [ -d "$m/$CGROUP_NAME" ]; then
      log "could not remove cgroup $m/$CGROUP_NAME"
      rc=1
    fi
  done < <(_cgroup_roots)
  return $rc
}

# --- PKI and kubeconfigs -----------------------------------------------------------

make_node_pki() {
  local eku_client="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
  _sign kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "$eku_client"
  _sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$eku_client"
  _sign kube-proxy "/CN=system:kube-proxy" "$eku_client"
  _sign kube-controller-manager "/CN=system:kube-controller-manager" "$eku_client"
  _sign kube-scheduler "/CN=system:kube-scheduler" "$eku_client"
  _sign coredns "/CN=ingressx:coredns" "$eku_client"
}

# component_kubeconfig NAME -> path of a kubeconfig for NAME (cert pki/NAME.crt)
component_kubeconfig() {
  local name="$1" f="$COMPONENT_DIR/$1.kubeconfig"
  (umask 077 && cat >"$f" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ingressx
  cluster:
    server: $API_URL
    certificate-authority: $PKI_DIR/ca.crt
users:
- name: $name
  user:
    client-certificate: $PKI_DIR/$name.crt
    client-key: $PKI_DIR/$name.key
contexts:
- name: $name
  context: {cluster: ingressx, user: $name}
current-context: $name
EOF
  )
  printf '%s' "$f"
}

# --- containerd --------------------------------------------------------------------

# _have_cap BIT : true if this process has capability BIT in its effective set.
_have_cap() {
  local eff
  eff="$(awk '/^CapEff:/ { print $2 }' /proc/self/status)"
  (((16#$eff >> $1) & 1))
}

start_containerd() {
  local t0
  t0="$(now)"
  RESTRICT_OOM=false
  _have_cap 24 || RESTRICT_OOM=true # CAP_SYS_RESOURCE
  mkdir -p "$CTRD_DIR"/{root,state,runc,opt} "$CNI_DIR/net.d" "$CNI_DIR/ipam"
  cat >"$CTRD_DIR/config.toml" <<EOF
# containerd for the ingressx dev cluster ($DIR); not the system's containerd.
version = 2
root = "$CTRD_DIR/root"
state = "$CTRD_DIR/state"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[debug]
  level = "info"
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$CTRD_DIR/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  max_container_log_line_size = 16384
  # Clamp pods' oom_score_adj at containerd's own: without CAP_SYS_RESOURCE (missing in
  # some VMs and sandboxes) runc cannot lower it (the pause container asks for -998).
  restrict_oom_score_adj = $RESTRICT_OOM
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "${INGRESSX_RUNC:-$(command -v runc)}"
        Root = "$CTRD_DIR/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$CNI_DIR/net.d"
    max_conf_num = 1
EOF
  # The bridge is created by the CNI bridge plugin on the first pod; host-local keeps its
  # leases below $DIR.
  cat >"$CNI_DIR/net.d/10-$CNI_NET.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NET",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$CNI_DIR/ipam",
        "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$POD_GATEWAY" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
  : >"$LOG_DIR/containerd.log"
  log "starting containerd ($CONTAINERD_SOCK)"
  start_daemon containerd "$LOG_DIR/containerd.log" "$(command -v containerd)" --config "$CTRD_DIR/config.toml"
  local i
  for ((i = 0; i < 150; i++)); do
    ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1 && break
    component_running containerd || { tail -n 30 "$LOG_DIR/containerd.log" >&2; die "containerd exited"; }
    sleep 0.2
  done
  ((i < 150)) || die "containerd did not answer on $CONTAINERD_SOCK"
  log "containerd ready (pid $(pid_of containerd)) in $(elapsed "$t0")"
}

# --- control-plane controllers -----------------------------------------------------

# The controller-manager and the scheduler serve only /healthz, /readyz and /livez on
# loopback (always allowed), so they get no authentication/authorization kubeconfig.
# --node-monitor-grace-period 120 s (default 40 s): the one node's heartbeats go through the
# apiserver; an apiserver restarted or down for a while (tests/e2e/operator_apiserver_down.sh:
# 30 s down + ~15 s start on 2 cores) must not make the node NotReady and its pods'
# endpoints vanish, which would be the test cluster's outage, not the operator's.
start_controller_manager() {
  local bin="$1" port="$2" kc
  kc="$(component_kubeconfig kube-controller-manager)"
  : >"$LOG_DIR/kube-controller-manager.log"
  log "starting kube-controller-manager (https://127.0.0.1:$port)"
  start_daemon kube-controller-manager "$LOG_DIR/kube-controller-manager.log" "$bin/kube-controller-manager" \
    --kubeconfig="$kc" \
    --bind-address=127.0.0.1 --secure-port="$port" --cert-dir="$COMPONENT_DIR/kcm-certs" \
    --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI_DIR/sa.key" --root-ca-file="$PKI_DIR/ca.crt" \
    --cluster-signing-cert-file="$PKI_DIR/ca.crt" --cluster-signing-key-file="$PKI_DIR/ca.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" --cluster-cidr="$POD_CIDR" --allocate-node-cidrs=false \
    --node-monitor-grace-period=120s \
    --profiling=false --v=1
}

start_scheduler() {
  local bin="$1" port="$2" kc
  kc="$(component_kubeconfig kube-scheduler)"
  : >"$LOG_DIR/kube-scheduler.log"
  log "starting kube-scheduler (https://127.0.0.1:$port)"
  start_daemon kube-scheduler "$LOG_DIR/kube-scheduler.log" "$bin/kube-scheduler" \
    --kubeconfig="$kc" \
    --bind-address=127.0.0.1 --secure-port="$port" --cert-dir="$COMPONENT_DIR/scheduler-certs" \
    --leader-elect=false --profiling=false --v=1
}

# --- kubelet -----------------------------------------------------------------------

start_kubelet() {
  local bin="$1" port="$2" healthz="$3" kc
  kc="$(component_kubeconfig kubelet)"
  mkdir -p "$KUBELET_DIR" "$POD_LOG_DIR"
  cat >"$COMPONENT_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $healthz
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI_DIR/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
imageServiceEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_NAME
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
failSwapOn: false
clusterDNS: [$CLUSTER_DNS_IP]
clusterDomain: $CLUSTER_DOMAIN
resolvConf: /etc/resolv.conf
podLogsDir: $POD_LOG_DIR
# Locally imported images are never pulled again (no registry): never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
imageMinimumGCAge: 87600h
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
protectKernelDefaults: false
maxPods: 110
shutdownGracePeriod: 0s
EOF
  : >"$LOG_DIR/kubelet.log"
  log "starting kubelet (node $NODE_NAME at $NODE_IP:$port)"
  start_daemon kubelet "$LOG_DIR/kubelet.log" "$bin/kubelet" \
    --config="$COMPONENT_DIR/kubelet.yaml" --kubeconfig="$kc" --root-dir="$KUBELET_DIR" \
    --cert-dir="$KUBELET_DIR/pki" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1
}

start_kube_proxy() {
  local bin="$1" healthz="$2" metrics="$3" kc
  kc="$(component_kubeconfig kube-proxy)"
  cat >"$COMPONENT_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $kc}
mode: iptables
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:$healthz
metricsBindAddress: 127.0.0.1:$metrics
oomScoreAdj: 0
# Leave the machine's conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
  : >"$LOG_DIR/kube-proxy.log"
  log "starting kube-proxy (iptables mode)"
  start_daemon kube-proxy "$LOG_DIR/kube-proxy.log" "$bin/kube-proxy" \
    --config="$COMPONENT_DIR/kube-proxy.yaml" --v=1
}

# --- CoreDNS (a host process behind the kube-dns Service) --------------------------

start_coredns() {
  local bin="$1" port="$2" health="$3" ready="$4" kc
  kc="$(component_kubeconfig coredns)"
  cat >"$COMPONENT_DIR/Corefile" <<EOF
.:$port {
    bind $NODE_IP
    errors
    health 127.0.0.1:$health
    ready 127.0.0.1:$ready
    kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $kc coredns
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    forward . /etc/resolv.conf
    cache 30
    loop
    loadbalance
}
EOF
  : >"$LOG_DIR/coredns.log"
  log "starting CoreDNS on $NODE_IP:$port (Service kube-dns $CLUSTER_DNS_IP)"
  start_daemon coredns "$LOG_DIR/coredns.log" "$bin/coredns" -conf "$COMPONENT_DIR/Corefile"
}

# cluster_objects : RBAC for CoreDNS and the kube-dns Service with a hand-made
# EndpointSlice pointing at the CoreDNS host process.
cluster_objects() {
  local port="$1" i
  # kube-system is created by the apiserver shortly after /readyz.
  for ((i = 0; i < 150; i++)); do
    kubectl --kubeconfig "$KUBECONFIG_FILE" get namespace kube-system >/dev/null 2>&1 && break
    sleep 0.2
  done
  kubectl --kubeconfig "$KUBECONFIG_FILE" apply -f - >"$LOG_DIR/cluster-objects.log" 2>&1 <<EOF ||
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "ingressx:coredns", labels: {app.kubernetes.io/managed-by: ingressx-dev-cluster}}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "ingressx:coredns", labels: {app.kubernetes.io/managed-by: ingressx-dev-cluster}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "ingressx:coredns"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "ingressx:coredns"}]
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS, app.kubernetes.io/managed-by: ingressx-dev-cluster}
spec:
  clusterIP: $CLUSTER_DNS_IP
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: $port}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: $port}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-host
  namespace: kube-system
  labels:
    kubernetes.io/service-name: kube-dns
    endpointslice.kubernetes.io/managed-by: ingressx-dev-cluster
addressType: IPv4
ports:
- {name: dns, port: $port, protocol: UDP}
- {name: dns-tcp, port: $port, protocol: TCP}
endpoints:
- addresses: [$NODE_IP]
  conditions: {ready: true}
  nodeName: $NODE_NAME
EOF
    { cat "$LOG_DIR/cluster-objects.log" >&2; die "could not create the cluster DNS objects"; }
}

# wait_node_ready TIMEOUT
wait_node_ready() {
  local deadline=$((SECONDS + $1)) st
  while ((SECONDS < deadline)); do
    st="$(kubectl --kubeconfig "$KUBECONFIG_FILE" get node "$NODE_NAME" \
      -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" || true
    [ "$st" = True ] && return 0
    component_running kubelet || { tail -n 40 "$LOG_DIR/kubelet.log" >&2; die "kubelet exited"; }
    sleep 0.5
  done
  tail -n 40 "$LOG_DIR/kubelet.log" >&2
  die "node $NODE_NAME not Ready within $1s"
}

# wait_default_sa TIMEOUT : pods can be created once the controller-manager made the
# default ServiceAccount (and the root CA ConfigMap its token volume needs).
wait_default_sa() {
  local deadline=$((SECONDS + $1)) k=(kubectl --kubeconfig "$KUBECONFIG_FILE" -n default)
  while ((SECONDS < deadline)); do
    "${k[@]}" get serviceaccount default >/dev/null 2>&1 &&
      "${k[@]}" get configmap kube-root-ca.crt >/dev/null 2>&1 && return 0
    component_running kube-controller-manager || {
      tail -n 30 "$LOG_DIR/kube-controller-manager.log" >&2
      die "kube-controller-manager exited"
    }
    sleep 0.3
  done
  die "the default ServiceAccount did not appear within $1s (see $LOG_DIR/kube-controller-manager.log)"
}

# wait_dns TIMEOUT : the kube-dns Service answers from the host (through kube-proxy).
wait_dns() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    if busybox nslookup "kubernetes.default.svc.$CLUSTER_DOMAIN" "$CLUSTER_DNS_IP" >/dev/null 2>&1; then
      return 0
    fi
    component_running coredns || { tail -n 20 "$LOG_DIR/coredns.log" >&2; die "coredns exited"; }
    sleep 0.5
  done
  tail -n 20 "$LOG_DIR/coredns.log" >&2
  die "cluster DNS ($CLUSTER_DNS_IP) did not answer within $1s"
}

# --- teardown ----------------------------------------------------------------------

# _ours_by_cmdline : our containerd's shims: containerd-shim-runc-v2 ... -address $CONTAINERD_SOCK
_ours_by_cmdline() {
  local p cl
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    cl="$({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null)" || continue
    [[ "$cl" == *containerd-shim*" -address $CONTAINERD_SOCK "* ]] && echo "$p"
  done
  return 0
}

# revive_containerd : if our containerd died while its pods live on, start it again with
# the recorded command line so that stop_pods can find and stop them.
revive_containerd() {
  component_running containerd && return 0
  [ -f "$RUN_DIR/containerd.args" ] && [ -d "$CTRD_DIR/root" ] || return 0
  local args i
  mapfile -t args <"$RUN_DIR/containerd.args"
  log "containerd is not running; starting it again to stop its pods"
  start_daemon containerd "$LOG_DIR/containerd.log" "${args[@]}"
  for ((i = 0; i < 100; i++)); do
    ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "containerd did not come back; stopping its pods by cgroup"
}

# stop_pods : before containerd stops — remember our sandboxes' netns paths, kill and
# delete every task and container in containerd's k8s.io namespace (ours alone).
stop_pods() {
  [ -S "$CONTAINERD_SOCK" ] && component_running containerd || return 0
  local c=(ctr --address "$CONTAINERD_SOCK" -n k8s.io) id
  "${c[@]}" containers ls -q 2>/dev/null | while read -r id; do
    echo "container $id"
    "${c[@]}" containers info "$id" 2>/dev/null |
      grep -o '"/var/run/netns/[^"]*"\|"/run/netns/[^"]*"' | tr -d '"' | sed 's/^/netns /' || true
  done | sort -u >>"$NODE_OBJECTS"
  for id in $("${c[@]}" tasks ls -q 2>/dev/null); do
    "${c[@]}" tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
  done
  for id in $("${c[@]}" tasks ls -q 2>/dev/null); do
    "${c[@]}" tasks delete -f "$id" >/dev/null 2>&1 || true
  done
  for id in $("${c[@]}" containers ls -q 2>/dev/null); do
    "${c[@]}" containers delete "$id" >/dev/null 2>&1 || true
  done
}

# kill_leftovers : shims (command line names $DIR) and pod processes (in our cgroups).
kill_leftovers() {
  local pids p i
  for i in 1 2 3; do
    mapfile -t pids < <({ _ours_by_cmdline; _cgroup_pids; } | sort -un)
    [ ${#pids[@]} -eq 0 ] && return 0
    for p in "${pids[@]}"; do
      [ -n "$p" ] && [ "$p" != "$$" ] && kill -KILL "$p" 2>/dev/null || true
    done
    sleep 0.5
  done
  mapfile -t pids < <({ _ours_by_cmdline; _cgroup_pids; } | sort -un)
  [ ${#pids[@]} -eq 0 ] || { log "processes left: ${pids[*]}"; return 1; }
}

# _netns_by_lease : "netns PATH" and "container ID" lines for the network namespaces in
# /run/netns whose eth0 address our host-local IPAM leased (to that container); finds the
# namespaces of pods whose sandboxes containerd no longer knows.
_netns_by_lease() {
  local f ip lease
  [ -d "$CNI_DIR/ipam/$CNI_NET" ] && [ -d /run/netns ] || return 0
  for f in /run/netns/cni-*; do
    [ -e "$f" ] || continue
    ip="$(nsenter --net="$f" ip -4 -o addr show dev eth0 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }')"
    lease="$CNI_DIR/ipam/$CNI_NET/$ip"
    [ -n "$ip" ] && [ -f "$lease" ] || continue
    echo "netns $f"
    echo "container $(head -n1 "$lease" | tr -d '\r')"
  done
  return 0
}

unmount_ours() {
  local m rc=0
  # Deepest first. Mount points are octal-escaped in /proc/self/mountinfo.
  while read -r m; do
    umount -l "$m" 2>/dev/null || { log "could not unmount $m"; rc=1; }
  done < <(awk '{ print $5 }' /proc/self/mountinfo | sed 's/\\040/ /g' |
    grep -E "^$DIR/|^$(realpath -m "$DIR")/" | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-)
  local kind r
  _netns_by_lease >>"$NODE_OBJECTS"
  if [ -f "$NODE_OBJECTS" ]; then
    while read -r kind m; do
      [ "$kind" = netns ] && [ -n "$m" ] || continue
      r="$(realpath -m -- "$m")"
      if awk -v p="$r" '$5 == p { f = 1 } END { exit !f }' /proc/self/mountinfo; then
        umount "$r" 2>/dev/null || umount -l "$r" || { log "could not unmount $r"; rc=1; }
      fi
      rm -f -- "$r" || rc=1
    done <"$NODE_OBJECTS"
  fi
  return $rc
}

# _drop_chains IPT PATTERN : removes jumps to and the chains matching PATTERN (all tables)
_drop_chains() {
  local ipt="$1" pat="$2" t rule chain
  for t in filter nat mangle raw; do
    "$ipt" -t "$t" -S >/dev/null 2>&1 || continue
    # rules in any chain that jump to one of ours, then our chains themselves
    while read -r rule; do
      # -S prints rules shell-quoted (comments are in double quotes)
      eval "\"\$ipt\" -t \"\$t\" ${rule/#-A /-D }" 2>/dev/null || log "could not delete ($ipt -t $t) $rule"
    done < <("$ipt" -t "$t" -S | grep -E "^-A " | grep -E -- "-j ($pat)" | grep -vE "^-A ($pat) ")
    for chain in $("$ipt" -t "$t" -S | awk '$1 == "-N" { print $2 }' | grep -E "^($pat)"); do
      "$ipt" -t "$t" -F "$chain" 2>/dev/null || true
    done
    for chain in $("$ipt" -t "$t" -S | awk '$1 == "-N" { print $2 }' | grep -E "^($pat)"); do
      "$ipt" -t "$t" -X "$chain" 2>/dev/null || log "could not delete $ipt -t $t chain $chain"
    done
  done
}

remove_iptables() {
  [ "$(cat "$HOST_STATE/iptables-owned" 2>/dev/null)" = yes ] || {
    [ -f "$HOST_STATE/iptables-owned" ] && log "KUBE-*/CNI-* chains existed before up: leaving iptables alone"
    return 0
  }
  local ipt
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    _drop_chains "$ipt" 'KUBE-|CNI-'
  done
}

restore_host_state() {
  local line k v id kind
  if [ -f "$HOST_STATE/sysctl.saved" ]; then
    while IFS='=' read -r k v; do
      [ -n "$k" ] || continue
      printf '%s' "$v" >"/proc/sys/${k//.//}" 2>/dev/null || true
    done <"$HOST_STATE/sysctl.saved"
  fi
  if [ -d /var/log/containers ]; then
    for line in /var/log/containers/*; do
      [ -L "$line" ] || continue
      case "$(readlink "$line")" in "$DIR"/*) rm -f -- "$line" ;; esac
    done
  fi
  # libcni's cache entries of our sandboxes: <network>-<sandbox id>-<ifname>
  if [ -f "$NODE_OBJECTS" ]; then
    while read -r kind id; do
      [ "$kind" = container ] && [ -n "$id" ] || continue
      rm -f -- /var/lib/cni/results/"$CNI_NET-$id"-* /var/lib/cni/results/cni-loopback-"$id"-*
      # a shim killed by force leaves its socket: /run/containerd/s/sha256(address/ns/id)
      rm -f -- "/run/containerd/s/$(printf '%s' "$CONTAINERD_SOCK/k8s.io/$id" | sha256sum | cut -c1-64)"
    done <"$NODE_OBJECTS"
  fi
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link delete "$BRIDGE" || log "could not delete $BRIDGE"; fi
  # Directories up created (only if empty: anything else's files keep them).
  if [ -f "$HOST_STATE/created-dirs" ]; then
    while read -r line; do
      [ -d "$line" ] || continue
      find "$line" -depth -type d -empty -delete 2>/dev/null || true
    done <"$HOST_STATE/created-dirs"
  fi
}

# node_down : the node half of `down`, after the pid-recorded components are stopped
# (containerd is stopped here, after its pods).
node_down() {
  node_paths
  local rc=0
  local c
  for c in coredns kube-proxy kubelet kube-scheduler kube-controller-manager; do
    stop_component "$c" || rc=1
  done
  revive_containerd
  stop_pods
  stop_component containerd || rc=1
  kill_leftovers || rc=1
  unmount_ours || rc=1
  remove_iptables
  restore_host_state
  remove_cgroup_root || rc=1
  [ $rc -ne 0 ] || rm -rf -- "$HOST_STATE"
  return $rc
}

# node_leftovers : prints what of this cluster is still on the machine (empty = clean).
node_leftovers() {
  node_paths
  local p
  for p in $(_ours_by_cmdline); do echo "process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"; done
  # The components (etcd, kube-apiserver, kubelet, ...): every command line names $DIR/.
  local cl
  for p in /proc/[0-9]*; do
    p="${p#/proc/}"
    cl="$({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null)" || continue
    [[ "$cl" == *"$DIR/"* ]] && echo "process $p: $cl"
  done
  for p in $(_cgroup_pids); do echo "process $p in cgroup $CGROUP_NAME"; done
  awk '{ print $5 }' /proc/self/mountinfo | grep -E "^$DIR/" | sed 's/^/mount /' || true
  local kind
  if [ -f "$NODE_OBJECTS" ]; then
    while read -r kind p; do
      case "$kind" in
        netns) [ -e "$p" ] && echo "netns $p" ;;
        container)
          find /var/lib/cni/results -name "*-$p-*" 2>/dev/null | sed 's/^/file /'
          local sock
          sock="/run/containerd/s/$(printf '%s' "$CONTAINERD_SOCK/k8s.io/$p" | sha256sum | cut -c1-64)"
          [ -e "$sock" ] && echo "socket $sock"
          ;;
      esac
    done <"$NODE_OBJECTS"
  fi
  if [ -f "$HOST_STATE/created-dirs" ]; then
    while read -r p; do [ -e "$p" ] && echo "directory $p (created by up)"; done <"$HOST_STATE/created-dirs"
  fi
  for p in /var/log/containers/*; do
    [ -L "$p" ] && case "$(readlink "$p")" in "$DIR"/*) echo "link $p" ;; esac
  done
  ip link show "$BRIDGE" >/dev/null 2>&1 && echo "interface $BRIDGE"
  ip -o link show 2>/dev/null | grep -F "master $BRIDGE" | sed 's/^/interface /' || true
  if [ "$(cat "$HOST_STATE/iptables-owned" 2>/dev/null)" != no ]; then
    _chains_present | sed 's/^:/iptables chain /'
  fi
  local m
  while read -r m; do [ -d "$m/$CGROUP_NAME" ] && echo "cgroup $m/$CGROUP_NAME"; done < <(_cgroup_roots)
  true
}
