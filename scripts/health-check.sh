#!/usr/bin/env bash
# Runs the controller on this repository's servers/ and config/ in the background, on a free
# loopback port, waits (bounded) until `controller health` says ready, then stops it. Exit 0
# only when the fleet became ready; otherwise the controller's log and /status are printed.
# Usage: scripts/health-check.sh [--env NAME] [--wait SECONDS]   (default: development, 60 s)
# The CI's health job and `make nightly-health` both come here.
set -euo pipefail
cd "$(dirname "$0")/.."
env_name=development
wait_s=60
while (($#)); do
  case $1 in
    --env) env_name=$2; shift 2 ;;
    --wait) wait_s=$2; shift 2 ;;
    *) echo "usage: $0 [--env NAME] [--wait SECONDS]" >&2; exit 2 ;;
  esac
done
bin=${CONTROLLER:-.build/debug/controller}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
log=$(mktemp)
"$bin" run --root . --env "$env_name" --listen "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
stop() {
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    # The controller stops its servers within about 20 s; SIGKILL after 40 s.
    for _ in $(seq 400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  rm -f "$log"
}
trap stop EXIT
deadline=$((SECONDS + wait_s))
status=1
while ((SECONDS < deadline)); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "health-check: the controller exited early" >&2
    break
  fi
  if "$bin" health --root . --env "$env_name" --url "$url" >/dev/null 2>&1; then
    status=0
    break
  fi
  sleep 1
done
"$bin" status --root . --env "$env_name" --url "$url" || true
if ((status != 0)); then
  echo "health-check: not ready within ${wait_s} s (env $env_name); the controller's log:" >&2
  tail -n 100 "$log" >&2
  exit 1
fi
echo "health-check: ready (env $env_name)"
