#!/usr/bin/env bash
# Fills in the krew manifest template (cli/krew/ingressx.yaml) for a release and prints it.
#
#   cli/krew/release.sh VERSION DIR [URL_BASE] > ingressx.yaml
#
# DIR holds kubectl-ingressx-VERSION-<os>-<arch>.tar.gz for every platform of the template
# (linux-amd64, linux-arm64). URL_BASE defaults to the GitHub release of VERSION.
# Fails (non-zero, nothing printed) if an archive is missing or a placeholder stays unfilled.
set -euo pipefail

usage() { echo "usage: $0 VERSION DIR [URL_BASE]" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage
version="${1#v}"
dir="$2"
url_base="${3:-https://github.com/ingressx/ingressx/releases/download/v${version}}"
here="$(cd "$(dirname "$0")" && pwd)"
template="$here/ingressx.yaml"

[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] ||
  { echo "$0: version $1 is not semantic (x.y.z)" >&2; exit 2; }
[ -d "$dir" ] || { echo "$0: $dir is not a directory" >&2; exit 2; }

sha256_of() {
  local f="$1"
  [ -f "$f" ] || { echo "$0: missing archive $f" >&2; exit 1; }
  sha256sum "$f" | cut -d' ' -f1
}

out="$(sed -e "/^# krew plugin manifest template/,/^apiVersion/{/^#/d}" "$template")"
for platform in linux-amd64 linux-arm64; do
  os="${platform%-*}" arch="${platform#*-}"
  key="SHA256_${os^^}_${arch^^}"
  sum="$(sha256_of "$dir/kubectl-ingressx-${version}-${platform}.tar.gz")"
  out="${out//@${key}@/$sum}"
done
out="${out//@VERSION@/$version}"
out="${out//@URL_BASE@/$url_base}"
if grep -q '@[A-Z0-9_]*@' <<<"$out"; then
  echo "$0: unfilled placeholders: $(grep -o '@[A-Z0-9_]*@' <<<"$out" | sort -u | tr '\n' ' ')" >&2
  exit 1
fi
printf '%s\n' "$out"
