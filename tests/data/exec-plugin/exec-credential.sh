#!/usr/bin/env bash
# Exec credential plugin for the `exec` context of the dev/cluster kubeconfig.
# Prints an ExecCredential (client.authentication.k8s.io/v1) whose status.token is read
# from $INGRESSX_EXEC_TOKEN_FILE and which expires after $INGRESSX_EXEC_EXPIRY_SECONDS
# (default 600). Each run appends one line to $INGRESSX_EXEC_COUNT_FILE when that is set,
# so tests can count invocations. Fails (exit 1, message on stderr) unless
# KUBERNETES_EXEC_INFO is set and is JSON of kind ExecCredential, as a client must send.
set -euo pipefail

fail() {
  printf 'exec-credential: %s\n' "$*" >&2
  exit 1
}

info="${KUBERNETES_EXEC_INFO:-}"
[ -n "$info" ] || fail "KUBERNETES_EXEC_INFO is not set"

# Check KUBERNETES_EXEC_INFO: JSON object with kind ExecCredential; echo its apiVersion.
if command -v jq >/dev/null 2>&1; then
  kind="$(jq -er '.kind' <<<"$info" 2>/dev/null)" || fail "KUBERNETES_EXEC_INFO is not a JSON object with a kind: $info"
  api_version="$(jq -r '.apiVersion // ""' <<<"$info")"
elif command -v python3 >/dev/null 2>&1; then
  parsed="$(python3 -c 'import json,sys
d = json.loads(sys.argv[1])
assert isinstance(d, dict)
print(d.get("kind", "")); print(d.get("apiVersion", ""))' "$info" 2>/dev/null)" ||
    fail "KUBERNETES_EXEC_INFO is not a JSON object: $info"
  kind="$(sed -n 1p <<<"$parsed")"
  api_version="$(sed -n 2p <<<"$parsed")"
else
  [[ "$info" =~ ^[[:space:]]*\{.*\}[[:space:]]*$ ]] || fail "KUBERNETES_EXEC_INFO is not a JSON object: $info"
  kind=""
  api_version=""
  if [[ "$info" =~ \"kind\"[[:space:]]*:[[:space:]]*\"([^\"]*)\" ]]; then kind="${BASH_REMATCH[1]}"; fi
  if [[ "$info" =~ \"apiVersion\"[[:space:]]*:[[:space:]]*\"([^\"]*)\" ]]; then api_version="${BASH_REMATCH[1]}"; fi
fi
[ "$kind" = ExecCredential ] || fail "KUBERNETES_EXEC_INFO has kind '$kind', want ExecCredential"
api_version="${api_version:-client.authentication.k8s.io/v1}"
[ "$api_version" = client.authentication.k8s.io/v1 ] ||
  fail "KUBERNETES_EXEC_INFO has apiVersion '$api_version', this plugin speaks client.authentication.k8s.io/v1"

token_file="${INGRESSX_EXEC_TOKEN_FILE:-}"
[ -n "$token_file" ] || fail "INGRESSX_EXEC_TOKEN_FILE is not set"
[ -r "$token_file" ] || fail "cannot read token file $token_file"
token="$(tr -d ' \r\n' <"$token_file")"
[ -n "$token" ] || fail "token file $token_file is empty"

if [ -n "${INGRESSX_EXEC_COUNT_FILE:-}" ]; then
  # One short write with O_APPEND: safe when several clients run the plugin at once.
  printf '%s pid=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" "$$" >>"$INGRESSX_EXEC_COUNT_FILE"
fi

expiry_seconds="${INGRESSX_EXEC_EXPIRY_SECONDS:-600}"
expires="$(date -u -d "+${expiry_seconds} seconds" +%Y-%m-%dT%H:%M:%SZ)"

printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' \
  "$token" "$expires"
