#!/usr/bin/env bash
# Runs the client benchmark against a throwaway control plane (started and stopped here).
set -euo pipefail
cd "$(dirname "$0")/.."
export INGRESSX_CLUSTER_DIR="${INGRESSX_CLUSTER_DIR:-/tmp/ingressx-bench-cp}"
cmake --preset ci >/dev/null && cmake --build --preset ci --target bench_client
trap 'dev/cluster down' EXIT
dev/cluster up --control-plane-only
build/ci/bench/bench_client "$INGRESSX_CLUSTER_DIR/kubeconfig" "${1:-1000}"
