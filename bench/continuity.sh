#!/usr/bin/env bash
# What clients see of continuity, through `controller run` (release build) on 127.0.0.1:
# 1. a replacement under steady load: THREADS Python keep-alive clients call mcp-demo's echo for
#    SECONDS while its manifest is edited a third of the way in; calls, failures, and the p99
#    of calls made during the replacement against the p99 before it;
# 2. `tools/list` on the aggregate /mcp with SERVERS mcp-demo servers ready: the first answer,
#    then p50 and p99 of 200 more.
# Installs the test venv (scripts/setup.sh). CONTROLLER_BIN / MCP_DEMO_BIN use those binaries
# instead of building release here.
# Usage: bench/continuity.sh [THREADS] [SECONDS] [SERVERS]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-8}
seconds=${2:-9}
servers=${3:-50}
command -v swift >/dev/null || [ ! -x /opt/swift/usr/bin/swift ] || PATH=/opt/swift/usr/bin:$PATH
scripts/setup.sh >&2
python=$PWD/${VENV:-.venv}/bin/python
source bench/binaries.sh
source bench/processes.sh continuity

# A root with COUNT mcp-demo servers (demo, demo2, …); prints nothing. Args: DIR COUNT
make_root() {
  mkdir -p "$1/servers" "$1/config"
  : >"$1/.env.example"
  local features="" name
  for i in $(seq "$2"); do
    name=demo; [ "$i" -gt 1 ] && name="demo$i"
    features="$features $name: { enabled: true },"
    printf 'name: %s\ndescription: mcp-demo\ntransport: stdio\ncommand: ["%s"]\nlimits: %s\n' "$name" "$demo" \
      '{ rps: 100000, burst: 100000, concurrency: 256, request_timeout: 30s }' >"$1/servers/$name.yaml"
  done
  printf 'features: {%s }\nreconcile: { spawn_rate: 1000 }\n' "${features%,}" >"$1/config/default.yaml"
}
# Starts the controller on DIR and sets $port once every server is ready. Args: DIR COUNT
start() {
  port=$(free_port)
  env -i PATH=/usr/bin:/bin HOME="$1" "$controller" run --root "$1" --listen "127.0.0.1:$port" >"$1/controller.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 600); do
    [ "$(ready_count "$port")" = "$2" ] && return
    sleep 0.1
  done
  echo "continuity: the controller on $1 is not ready:" >&2; tail -20 "$1/controller.log" >&2; exit 1
}
# How many instances are ready, per /status (0 while it does not answer). Args: PORT
ready_count() {
  curl -s "http://127.0.0.1:$1/status" | "$python" -c '
import json, sys
try:
    print(sum(1 for s in json.load(sys.stdin)["servers"] for i in s["instances"] if i["phase"] == "ready"))
except ValueError:
    print(0)'
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "machine: $(nproc) cores ($model), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

make_root "$tmp/one" 1
start "$tmp/one" 1
line=$("$python" bench/continuity.py replace "$port" "$tmp/one" "$demo" "$threads" "$seconds" | grep '^BENCH ')
echo "replacement under load ($threads Python clients, ${seconds} s, mcp-demo echo, /mcp/demo stateless):"
echo "  calls $(field "$line" calls), failed $(field "$line" failures), $(field "$line" rps) calls/s;" \
  "p50 $(field "$line" steady_p50_ms) ms and p99 $(field "$line" steady_p99_ms) ms before the edit;" \
  "p99 $(field "$line" during_p99_ms) ms over the $(field "$line" during_calls) calls made during the replacement" \
  "($(field "$line" replace_ms) ms from the edit until the old process was gone)"

make_root "$tmp/many" "$servers"
start "$tmp/many" "$servers"
line=$("$python" bench/continuity.py list "$port" 200 | grep '^BENCH ')
echo "aggregate tools/list on /mcp with $servers servers ready ($(field "$line" tools) tools):"
echo "  first $(field "$line" first_ms) ms; then p50 $(field "$line" p50_ms) ms, p99 $(field "$line" p99_ms) ms over 200 (one keep-alive Python client)"
