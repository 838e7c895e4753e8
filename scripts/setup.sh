#!/usr/bin/env bash
# Installs every build and test dependency of ingressx from Debian's packages, then
# builds the pinned Kubernetes binaries from the Go module proxy (cached by version
# outside the work tree). Idempotent; safe to run on a brand-new machine.
# Usage: scripts/setup.sh [--no-k8s | --cluster]
#   --no-k8s   Debian packages only
#   --cluster  also build the node components (kubelet, kube-controller-manager,
#              kube-scheduler, kube-proxy) and CoreDNS for `dev/cluster up`
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl openssl
  clang-format
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
  libspdlog-dev libfmt-dev libboost-dev catch2 prometheus-cpp-dev libcivetweb-dev
  etcd-server
  nginx haproxy procps python3
  libldns-dev bind9 bind9-dnsutils
  prometheus # the analysis gate's Prometheus queries are tested against it
  unzip # dev/lib/build-external-dns.sh unpacks the module zip
  gnuplot-nox # the plot of bench/rollout-matrix.sh
)
# Only for the single-node cluster (dev/cluster up; --cluster): runtime, CNI plugins,
# image tools. The test command does not need them.
CLUSTER_PACKAGES=(
  containerd runc containernetworking-plugins umoci iptables conntrack socat
  iproute2 busybox-static
)
[ "${1:-}" != "--cluster" ] || PACKAGES+=("${CLUSTER_PACKAGES[@]}")

need=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "setup: installing ${need[*]}"
  $SUDO apt-get update -q
  # The hook tests start their own nginx and HAProxy; the packages' system services must
  # not start (they would take port 80). Deny service starts during the install through
  # policy-rc.d, unless the machine already has its own policy.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
  # Debian's etcd-server package starts a system etcd; ingressx runs its own.
  if systemctl is-active --quiet etcd 2>/dev/null; then $SUDO systemctl disable --now etcd || true; fi
  for svc in nginx haproxy containerd; do
    if systemctl is-active --quiet "$svc" 2>/dev/null; then $SUDO systemctl disable --now "$svc" || true; fi
  done
else
  echo "setup: Debian packages already installed"
fi

if [ "${1:-}" != "--no-k8s" ]; then
  "$here/dev/lib/build-k8s.sh" kube-apiserver >/dev/null
fi
if [ "${1:-}" = "--cluster" ]; then
  "$here/dev/lib/build-k8s.sh" kube-apiserver kubelet kube-controller-manager kube-scheduler \
    kube-proxy >/dev/null
  "$here/dev/lib/build-coredns.sh" >/dev/null
fi
echo "setup: done"
