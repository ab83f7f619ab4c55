#!/usr/bin/env bash
# The nightly check of the real catalogue: enables every server that declares secrets when all
# of them are set in this environment (OMNI_FEATURE_<NAME>=true; the CI passes the repository's
# secrets as variables of the same names as .env.example), then runs the health check in the
# production layer with a wait long enough for npx/uvx first starts.
# Servers without secrets are not enabled here: they need no credentials, so the regular CI
# covers what can be covered without them.
set -euo pipefail
cd "$(dirname "$0")/.."
enabled=()
for manifest in servers/*.yaml; do
  name=$(basename "$manifest" .yaml)
  secrets=$("${VENV:-.venv}/bin/python" - "$manifest" <<'PY'
import sys, yaml
print(" ".join(yaml.safe_load(open(sys.argv[1])).get("secrets") or []))
PY
)
  [ -n "$secrets" ] || continue
  complete=1
  for secret in $secrets; do [ -n "${!secret:-}" ] || complete=0; done
  if ((complete)); then
    feature="OMNI_FEATURE_$(echo "$name" | tr 'a-z-' 'A-Z_')"
    export "$feature=true"
    enabled+=("$name")
  fi
done
echo "nightly-health: enabled (${#enabled[@]}): ${enabled[*]:-none}"
exec scripts/health-check.sh --env production --wait "${NIGHTLY_WAIT:-300}"
