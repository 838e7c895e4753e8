#!/usr/bin/env bash
# Builds external-dns (kubernetes-sigs/external-dns; the external-dns cutover provider's
# tests run it against the BIND9 lab) from the Go module proxy at a pinned version and
# caches it outside the work tree, keyed by version:
#   $INGRESSX_CACHE/external-dns/<version>/bin/external-dns
# Usage: build-external-dns.sh             Prints the bin directory on stdout. Idempotent.
#        build-external-dns.sh --if-built  The same when it is cached; else exits 1 without
#                                          building (the tests look it up this way).
# (No release binaries are downloaded: the source is the module zip from the proxy.)
#
# Built from the module zip rather than with `go install pkg@version`: the module's go.mod
# may declare a newer `go` line than the installed toolchain (v0.23.0 says go 1.27.0) and
# go install refuses that (and refuses modules with replace directives). The zip is copied
# to a temporary directory, the go line is lowered to the local toolchain when it is
# newer (GOTOOLCHAIN=local: no toolchain download either), the source is adjusted as below
# (modules the proxy does not serve; Go 1.27 literals), and built there. Takes ~10 minutes
# on 2 cores the first time (INGRESSX_GO_BUILD_P, default 2), then it is cached.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

EXTERNAL_DNS_VERSION="${INGRESSX_EXTERNAL_DNS_VERSION:-v0.23.0}"
CACHE="${INGRESSX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ingressx}"
OUT="$CACHE/external-dns/$EXTERNAL_DNS_VERSION"
BIN="$OUT/bin"
GO_P="${INGRESSX_GO_BUILD_P:-2}"
MODULE=sigs.k8s.io/external-dns

if [ -x "$BIN/external-dns" ]; then
  echo "$BIN"
  exit 0
fi
if [ "${1:-}" = "--if-built" ]; then
  echo "build-external-dns: $BIN/external-dns is not built; run $0" >&2
  exit 1
fi
command -v go >/dev/null || { echo "build-external-dns: go is not installed (scripts/setup.sh)" >&2; exit 1; }
command -v unzip >/dev/null || { echo "build-external-dns: unzip is not installed" >&2; exit 1; }
export GOTOOLCHAIN=local
echo "build-external-dns: building external-dns $EXTERNAL_DNS_VERSION from the Go module proxy (several minutes, once)" >&2

# `go mod download -json` fetches the zip and prints its path; it exits non-zero (with an
# "Error" field) when the module needs a newer go than the local one, but the zip is
# downloaded and verified against go.sum's checksum database all the same.
json="$(go mod download -json "$MODULE@$EXTERNAL_DNS_VERSION" || true)"
zip="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Zip": "\(.*\)",\{0,1\}$/\1/p')"
if [ -z "$zip" ] || [ ! -f "$zip" ]; then
  echo "build-external-dns: go mod download $MODULE@$EXTERNAL_DNS_VERSION gave no module zip:" >&2
  printf '%s\n' "$json" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/ingressx-external-dns.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
unzip -q "$zip" -d "$work"
src="$work/$MODULE@$EXTERNAL_DNS_VERSION"
chmod -R u+w "$src"
cd "$src"

# Lower the go line when it is newer than the local toolchain (go 1.X[.Y] vs go1.A.B); the
# one language change external-dns v0.23.0 relies on (Go 1.27: promoted fields in composite
# literals) is rewritten below.
local_go="$(go env GOVERSION | sed 's/^go//')"
mod_go="$(sed -n 's/^go \([0-9.]*\)$/\1/p' go.mod)"
lowered=""
if [ -n "$mod_go" ] && [ "$(printf '%s\n%s\n' "$mod_go" "$local_go" | sort -V | tail -1)" != "$local_go" ]; then
  echo "build-external-dns: go.mod says go $mod_go; building with the local go $local_go" >&2
  sed -i "s/^go $mod_go\$/go $local_go/; /^toolchain /d" go.mod
  lowered=1
fi

# Modules that v0.23.0 requires and the module proxy does not serve (403 "not available"):
# - github.com/civo/civogo and github.com/exoscale/egoscale/v3: only the civo and exoscale
#   DNS providers use them; they are left out of the provider factory (this binary has
#   every other provider, --provider=civo|exoscale fails at start).
# - github.com/openshift/api at af5c920502e2: pinned back to the version that
#   github.com/openshift/client-go (also required) asks for, which the proxy serves.
if [ "$EXTERNAL_DNS_VERSION" = v0.23.0 ]; then
  sed -i '/provider\/civo"$/d; /provider\/exoscale"$/d; /civo\.New,$/d; /exoscale\.New,$/d' \
    provider/factory/provider.go
  if grep -n 'civo\|exoscale' provider/factory/provider.go >&2; then
    echo "build-external-dns: could not leave civo/exoscale out of provider/factory/provider.go" >&2
    exit 1
  fi
  go mod edit -droprequire github.com/civo/civogo -droprequire github.com/exoscale/egoscale/v3 \
    -require github.com/openshift/api@v0.0.0-20260810132456-8f52beb625b5
fi

if [ -n "$lowered" ]; then
  # T{Name: x} where Name is a field of an embedded E -> T{E: E{Name: x}} (Go < 1.27 needs
  # the embedded field spelled out), with go/packages type information.
  echo "build-external-dns: rewriting composite literals with promoted fields (go-promoted-literals)" >&2
  (cd "$here/go-promoted-literals" && GOFLAGS=-mod=mod go build -o "$work/go-promoted-literals" .) >&2
  GOFLAGS=-mod=mod "$work/go-promoted-literals" . >&2
fi

mkdir -p "$BIN"
# Static (no cgo), stamped as external-dns's Makefile does (external-dns --version).
CGO_ENABLED=0 go build -p "$GO_P" -mod=mod -trimpath \
  -ldflags "-s -w -X $MODULE/pkg/apis/externaldns.Version=$EXTERNAL_DNS_VERSION" \
  -o "$BIN/external-dns.tmp" . >&2
mv "$BIN/external-dns.tmp" "$BIN/external-dns"
echo "$BIN"
