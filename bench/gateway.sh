#!/usr/bin/env bash
# The gateway against the peer a user would pick instead, in one run on this machine, all on
# 127.0.0.1: `tools/call` of mcp-server-time (PyPI) driven directly over stdio, through
# `controller run` (/mcp/time) and through mcp-proxy (PyPI, Streamable HTTP at /mcp), with the
# same client (wrk, one keep-alive connection for latency, CONNECTIONS for throughput) on both
# HTTP paths; the CPU each spends beside its server under load; then mcp-demo through the gateway
# at the highest rate it sustains. Both HTTP paths use a legacy session (initialize, then
# Mcp-Session-Id), the only kind mcp-proxy serves; the gateway is also driven statelessly (2026).
# Installs wrk (apt), the test venv (scripts/setup.sh) and mcp-proxy (pip, into .venv-bench).
# CONTROLLER_BIN / MCP_DEMO_BIN use those binaries instead of building release here.
# Usage: bench/gateway.sh [DURATION] [CONNECTIONS] [STDIO_CALLS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-16}
stdio_calls=${3:-5000}
command -v swift >/dev/null || [ ! -x /opt/swift/usr/bin/swift ] || PATH=/opt/swift/usr/bin:$PATH

# --- What it needs ---------------------------------------------------------------------------
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v wrk >/dev/null; then
  echo "gateway: installing wrk" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk curl >/dev/null
fi
scripts/setup.sh >&2
venv=${VENV:-.venv}
time_server="$PWD/$venv/bin/mcp-server-time"
bench_venv=.venv-bench
if ! [ -x "$bench_venv/bin/mcp-proxy" ]; then
  echo "gateway: installing mcp-proxy into $bench_venv" >&2
  python3 -m venv "$bench_venv"
  "$bench_venv/bin/pip" install -q 'mcp-proxy==0.13.0' >/dev/null
fi
source bench/binaries.sh

# --- Processes -------------------------------------------------------------------------------
source bench/processes.sh gateway

root=$tmp/root
mkdir -p "$root/servers" "$root/config"
printf 'features: { time: { enabled: true }, demo: { enabled: true } }\n' >"$root/config/default.yaml"
: >"$root/.env.example"
# Limits far above what one machine sends: the runs measure the gateway, not its rate limit.
limits='{ rps: 100000, burst: 100000, concurrency: 256, request_timeout: 30s }'
printf 'name: time\ndescription: mcp-server-time\ntransport: stdio\ncommand: ["%s"]\nlimits: %s\n' \
  "$time_server" "$limits" >"$root/servers/time.yaml"
printf 'name: demo\ndescription: mcp-demo\ntransport: stdio\ncommand: ["%s"]\nlimits: %s\n' "$demo" "$limits" >"$root/servers/demo.yaml"
controller_port=$(free_port)
# As users run it: default log level (a JSON line per request), written to a file.
env -i PATH=/usr/bin:/bin HOME="$root" "$controller" run --root "$root" --listen "127.0.0.1:$controller_port" \
  >"$tmp/controller.log" 2>&1 &
controller_pid=$!
pids+=("$controller_pid")
proxy_port=$(free_port)
"$bench_venv/bin/mcp-proxy" --port "$proxy_port" --host 127.0.0.1 --log-level WARNING -- "$time_server" >"$tmp/proxy.log" 2>&1 &
proxy_pid=$!
pids+=("$proxy_pid")

for _ in $(seq 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$controller_port/readyz")" = 200 ] && break
  sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$controller_port/readyz")" = 200 ] || {
  echo "gateway: the controller is not ready:" >&2; tail -20 "$tmp/controller.log" >&2; exit 1; }

# A legacy session: prints its id. Args: URL
session() {
  local id
  id=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}' \
    "$1" | tr -d '\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')
  [ -n "$id" ] || return 1
  curl -s -o /dev/null -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -H "Mcp-Session-Id: $id" -H 'MCP-Protocol-Version: 2025-06-18' -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$1"
  echo "$id"
}
proxy_session=""
for _ in $(seq 300); do proxy_session=$(session "http://127.0.0.1:$proxy_port/mcp" 2>/dev/null) && break; sleep 0.1; done
[ -n "$proxy_session" ] || { echo "gateway: mcp-proxy did not answer:" >&2; tail -20 "$tmp/proxy.log" >&2; exit 1; }
# /readyz is 200 once one server is ready; mcp-server-time (Python) may still be starting.
gateway_session=""
for _ in $(seq 300); do gateway_session=$(session "http://127.0.0.1:$controller_port/mcp/time" 2>/dev/null) && break; sleep 0.1; done
[ -n "$gateway_session" ] || { echo "gateway: /mcp/time did not answer:" >&2; tail -20 "$tmp/controller.log" >&2; exit 1; }

child_of() { # PARENT PATTERN -> the child whose command line has PATTERN
  local pid
  for pid in $(pgrep -P "$1"); do tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2" && { echo "$pid"; return; }; done
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
time_under_controller=$(child_of "$controller_pid" mcp-server-time)
time_under_proxy=$(child_of "$proxy_pid" mcp-server-time)

# --- Header ----------------------------------------------------------------------------------
model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "machine: $(nproc) cores ($model), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "versions: $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'), mcp-proxy $("$bench_venv/bin/pip" show mcp-proxy | sed -n 's/^Version: //p')" \
  "(mcp $("$bench_venv/bin/pip" show mcp | sed -n 's/^Version: //p')), mcp-server-time $("$venv/bin/pip" show mcp-server-time | sed -n 's/^Version: //p')," \
  "controller $controller"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# --- Runs ------------------------------------------------------------------------------------
call_body='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_current_time","arguments":{"timezone":"UTC"}}}'
modern_meta='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
# Runs wrk; prints its BENCH line. Args: URL SECONDS CONNECTIONS BODY SESSION VERSION [METHOD NAME]
run_wrk() {
  local out=$tmp/wrk.txt
  BENCH_BODY=$4 BENCH_SESSION=$5 BENCH_VERSION=$6 BENCH_METHOD=${7:-} BENCH_NAME=${8:-} timeout -k 5 $(($2 + 30)) \
    wrk -t1 -c"$3" -d"$2s" --timeout 10s --latency -s bench/gateway_wrk.lua "$1" >"$out" 2>&1 ||
    { echo "gateway: wrk failed:" >&2; cat "$out" >&2; exit 1; }
  grep '^BENCH ' "$out" || { echo "gateway: no BENCH line:" >&2; cat "$out" >&2; exit 1; }
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
ms() { awk -v us="$1" 'BEGIN {printf "%.3f", us / 1000}'; }
errors() { echo $(( $(field "$1" status) + $(field "$1" connect) + $(field "$1" read) + $(field "$1" write) + $(field "$1" timeout) )); }

direct=$("$venv/bin/python" bench/gateway_stdio.py "$stdio_calls" get_current_time '{"timezone":"UTC"}' -- "$time_server")
gateway_url="http://127.0.0.1:$controller_port/mcp/time"
proxy_url="http://127.0.0.1:$proxy_port/mcp"
run_wrk "$gateway_url" 2 1 "$call_body" "$gateway_session" 2025-06-18 >/dev/null
run_wrk "$proxy_url" 2 1 "$call_body" "$proxy_session" 2025-06-18 >/dev/null
gateway_one=$(run_wrk "$gateway_url" "$duration" 1 "$call_body" "$gateway_session" 2025-06-18)
modern_body="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"get_current_time\",\"arguments\":{\"timezone\":\"UTC\"},$modern_meta}}"
gateway_modern=$(run_wrk "$gateway_url" "$duration" 1 "$modern_body" "" 2026-07-28 tools/call get_current_time)
proxy_one=$(run_wrk "$proxy_url" "$duration" 1 "$call_body" "$proxy_session" 2025-06-18)

# Throughput with CPU accounting: the front (controller or mcp-proxy) against its server child.
loaded() { # URL SESSION FRONT_PID CHILD_PID
  local f0 c0 line f1 c1
  f0=$(ticks "$3"); c0=$(ticks "$4")
  line=$(run_wrk "$1" "$duration" "$connections" "$call_body" "$2" 2025-06-18)
  f1=$(ticks "$3"); c1=$(ticks "$4")
  echo "$line front_cpu=$(( f1 - f0 )) server_cpu=$(( c1 - c0 ))"
}
gateway_load=$(loaded "$gateway_url" "$gateway_session" "$controller_pid" "$time_under_controller")
proxy_load=$(loaded "$proxy_url" "$proxy_session" "$proxy_pid" "$time_under_proxy")

row() { # LABEL CONNECTIONS LINE
  printf '| %s | %s | %.0f | %s | %s | %s |\n' "$1" "$2" "$(field "$3" rps)" "$(ms "$(field "$3" p50_us)")" \
    "$(ms "$(field "$3" p99_us)")" "$(errors "$3")"
}
echo "mcp-server-time, tools/call get_current_time {timezone: UTC}"
echo
echo "| path | connections | calls/s | p50 ms | p99 ms | errors |"
echo "|---|---:|---:|---:|---:|---:|"
printf '| direct stdio (Python driver, sequential) | 1 | %.0f | %s | %s | 0 |\n' "$(field "$direct" rps)" \
  "$(ms "$(field "$direct" p50_us)")" "$(ms "$(field "$direct" p99_us)")"
row "controller /mcp/time, legacy session" 1 "$gateway_one"
row "controller /mcp/time, stateless 2026-07-28" 1 "$gateway_modern"
row "mcp-proxy /mcp, legacy session" 1 "$proxy_one"
row "controller /mcp/time, legacy session" "$connections" "$gateway_load"
row "mcp-proxy /mcp, legacy session" "$connections" "$proxy_load"
echo
added() { awk -v a="$(field "$1" p50_us)" -v d="$(field "$direct" p50_us)" 'BEGIN {printf "%.3f", (a - d) / 1000}'; }
echo "added to the direct p50: controller $(added "$gateway_one") ms (stateless $(added "$gateway_modern") ms), mcp-proxy $(added "$proxy_one") ms"
for name in gateway proxy; do
  var=${name}_load
  line=${!var}
  awk -v n="$name" -v f="$(field "$line" front_cpu)" -v s="$(field "$line" server_cpu)" -v r="$(field "$line" requests)" 'BEGIN {
    printf "under load, %s: %.2f s CPU in the front, %.2f s in mcp-server-time (front = %.0f%% of the server), %.0f us of front CPU per call\n",
      (n == "gateway" ? "controller" : "mcp-proxy"), f / 100, s / 100, (s > 0 ? f / s * 100 : 0), (r > 0 ? f / 100 / r * 1e6 : 0) }'
done
echo

# --- mcp-demo at the highest rate ----------------------------------------------------------------
demo_url="http://127.0.0.1:$controller_port/mcp/demo"
demo_body="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"hi\"},$modern_meta}}"
echo "mcp-demo echo through the controller, stateless 2026-07-28 (wrk, one thread)"
echo
echo "| connections | calls/s | p50 ms | p99 ms | errors | controller CPU per call | mcp-demo CPU per call |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
demo_child=$(child_of "$controller_pid" "$demo")
for c in 8 32 64; do
  f0=$(ticks "$controller_pid"); d0=$(ticks "$demo_child")
  line=$(run_wrk "$demo_url" "$duration" "$c" "$demo_body" "" 2026-07-28 tools/call echo)
  f1=$(ticks "$controller_pid"); d1=$(ticks "$demo_child")
  printf '| %s | %.0f | %s | %s | %s | %s | %s |\n' "$c" "$(field "$line" rps)" "$(ms "$(field "$line" p50_us)")" "$(ms "$(field "$line" p99_us)")" \
    "$(errors "$line")" "$(awk -v t=$((f1 - f0)) -v r="$(field "$line" requests)" 'BEGIN {printf "%.0f us", t / 100 / r * 1e6}')" \
    "$(awk -v t=$((d1 - d0)) -v r="$(field "$line" requests)" 'BEGIN {printf "%.0f us", t / 100 / r * 1e6}')"
done
echo
echo "controller RSS after the runs: $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$controller_pid/status"), threads: $(awk '/Threads/ {print $2}' "/proc/$controller_pid/status")"
