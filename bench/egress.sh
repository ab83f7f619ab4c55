#!/usr/bin/env bash
# The egress proxy's cost: a 1 MiB download from nginx on 127.0.0.2, ITERATIONS times each,
# direct and through proxies on 127.0.0.1, in one run: the controller's proxy (absolute-form
# `curl -x`, and a CONNECT tunnel with `--proxytunnel`) and tinyproxy (the peer a user would
# pick instead), the same two ways. The controller runs one server (mcp-demo) and the proxy URL
# is read where that server sees it: /proc/<pid>/environ of the process `/status` names.
# Reported per path (curl's own timers, medians and p90 over the iterations): time_connect
# (TCP to the first hop), pretransfer (ready to send the request: includes the CONNECT tunnel),
# time to first byte, and throughput (1 MiB / transfer time). Goal: under 5% throughput loss,
# under 0.5 ms added before the request can be sent.
# Installs nginx and tinyproxy (apt) when missing.
# CONTROLLER_BIN=path MCP_DEMO_BIN=path use those binaries instead of building release here.
# Usage: bench/egress.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-300}
((iterations >= 10 && iterations <= 100000)) || { echo "egress: ITERATIONS must be 10..100000" >&2; exit 2; }
command -v swift >/dev/null || [ ! -x /opt/swift/usr/bin/swift ] || PATH=/opt/swift/usr/bin:$PATH

# --- What it needs ---------------------------------------------------------------------------
missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v tinyproxy >/dev/null || [ -x /usr/bin/tinyproxy ] || missing+=(tinyproxy)
command -v curl >/dev/null || missing+=(curl)
source "$(dirname "$0")/apt-install.sh"
((${#missing[@]} == 0)) || apt_install egress "${missing[@]}"
nginx=$(command -v nginx || echo /usr/sbin/nginx)
tinyproxy=$(command -v tinyproxy || echo /usr/bin/tinyproxy)
source bench/binaries.sh
[ -x "$controller" ] && [ -x "$demo" ] || { echo "egress: no controller or mcp-demo binary" >&2; exit 1; }

source bench/processes.sh egress

# --- Origin: nginx on 127.0.0.2 serving 1 MiB ------------------------------------------------
mkdir -p "$tmp/nginx/www"
head -c 1048576 /dev/urandom >"$tmp/nginx/www/1m.bin"
origin_port=$(free_port)
cat >"$tmp/nginx/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
user root;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $tmp/nginx/client_body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    server {
        listen 127.0.0.2:$origin_port;
        root $tmp/nginx/www;
    }
}
CONF
"$nginx" -p "$tmp/nginx/" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx/stdout.log" 2>&1 &
pids+=("$!")
url="http://127.0.0.2:$origin_port/1m.bin"

# --- The controller, one server allowed to reach the origin ----------------------------------
root=$tmp/root
mkdir -p "$root/servers" "$root/config"
cat >"$root/config/default.yaml" <<YAML
features: { bench: { enabled: true } }
log: { level: warning }
YAML
cat >"$root/servers/bench.yaml" <<YAML
name: bench
description: the egress benchmark's server
transport: stdio
command: ["$demo"]
egress: ["127.0.0.2:$origin_port"]
YAML
: >"$root/.env.example"
controller_port=$(free_port)
env -i PATH=/usr/bin:/bin HOME="$root" \
  "$controller" run --root "$root" --listen "127.0.0.1:$controller_port" >"$tmp/controller.log" 2>&1 &
pids+=("$!")

# --- tinyproxy on 127.0.0.1 ------------------------------------------------------------------
tiny_port=$(free_port)
cat >"$tmp/tinyproxy.conf" <<CONF
Port $tiny_port
Listen 127.0.0.1
Timeout 600
MaxClients 100
Allow 127.0.0.1
ConnectPort $origin_port
LogLevel Error
LogFile "$tmp/tinyproxy.log"
CONF
"$tinyproxy" -d -c "$tmp/tinyproxy.conf" >"$tmp/tinyproxy.out" 2>&1 &
pids+=("$!")

# --- Ready: the origin answers, the server is ready, its proxy URL is known ------------------
proxy=""
for _ in $(seq 300); do
  if [ -z "$proxy" ]; then
    pid=$(curl -s --max-time 1 "http://127.0.0.1:$controller_port/status" | python3 -c '
import json, sys
try:
    status = json.load(sys.stdin)
    print(next(i["pid"] for s in status["servers"] if s["name"] == "bench" for i in s["instances"] if i["phase"] == "ready"))
except Exception:
    pass' || true)
    [ -z "$pid" ] || proxy=$(tr '\0' '\n' <"/proc/$pid/environ" | sed -n 's/^HTTP_PROXY=//p')
  fi
  if [ -n "$proxy" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url")" = 200 ] \
    && [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -x "http://127.0.0.1:$tiny_port" "$url")" = 200 ]; then
    break
  fi
  sleep 0.1
done
[ -n "$proxy" ] || { echo "egress: the server's proxy URL never appeared; controller log:" >&2; tail -20 "$tmp/controller.log" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -x "$proxy" "$url")
[ "$code" = 200 ] || { echo "egress: the controller's proxy answered $code" >&2; tail -20 "$tmp/controller.log" >&2; exit 1; }

# --- Header ----------------------------------------------------------------------------------
model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "machine: $(nproc) cores ($model), $(uname -sr); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: $("$nginx" -v 2>&1 | sed 's/^nginx version: //'), $("$tinyproxy" -v 2>&1 | head -1), $(curl --version | head -1 | cut -d' ' -f1-2),"\
  "controller $controller$([ -n "${CONTROLLER_BIN:-}" ] || echo " (release build of this tree at $(git rev-parse --short HEAD 2>/dev/null))")"
echo "load: curl GET of 1 MiB from nginx on 127.0.0.2 (sendfile), one connection per request, $iterations per path, paths interleaved"
echo

# --- Measure ---------------------------------------------------------------------------------
# Interleaved round by round, so drift in the machine's load hits every path alike.
paths=(direct omni-absolute omni-connect tinyproxy-absolute tinyproxy-connect)
declare -A args=(
  [direct]=""
  [omni-absolute]="-x $proxy"
  [omni-connect]="-x $proxy --proxytunnel"
  [tinyproxy-absolute]="-x http://127.0.0.1:$tiny_port"
  [tinyproxy-connect]="-x http://127.0.0.1:$tiny_port --proxytunnel"
)
for path in "${paths[@]}"; do : >"$tmp/$path.txt"; done
for _ in $(seq "$iterations"); do
  for path in "${paths[@]}"; do
    # shellcheck disable=SC2086 # the arguments are words on purpose
    timeout 10 curl -s -o /dev/null --max-time 5 ${args[$path]} \
      -w '%{http_code} %{size_download} %{time_connect} %{time_pretransfer} %{time_starttransfer} %{time_total}\n' \
      "$url" >>"$tmp/$path.txt" || echo "000 0 0 0 0 0" >>"$tmp/$path.txt"
  done
done

python3 - "$tmp" "${paths[@]}" <<'PY'
import statistics, sys
tmp, paths = sys.argv[1], sys.argv[2:]
def q(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]
rows = {}
for path in paths:
    ok = []
    failed = 0
    for line in open(f"{tmp}/{path}.txt"):
        code, size, connect, pre, ttfb, total = line.split()
        if code != "200" or int(size) != 1048576:
            failed += 1
            continue
        ok.append((float(connect) * 1000, float(pre) * 1000, float(ttfb) * 1000, float(total) * 1000))
    rows[path] = (ok, failed)
base = rows["direct"][0]
base_pre = statistics.median(r[1] for r in base)
base_ttfb = statistics.median(r[2] for r in base)
# Throughput over the transfer alone (first byte to last), MiB/s; median over requests.
def throughput(rs):
    return statistics.median(1.0 / max((r[3] - r[2]) / 1000, 1e-6) for r in rs)
base_tp = throughput(base)
print("| path | ok | failed | connect p50 / p90 | pretransfer p50 / p90 | added before request (p50) | first byte p50 / p90 | added to first byte (p50) | transfer MiB/s (p50) | throughput vs direct |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for path in paths:
    rs, failed = rows[path]
    if not rs:
        print(f"| {path} | 0 | {failed} | | | | | | | |")
        continue
    connect = [r[0] for r in rs]; pre = [r[1] for r in rs]; ttfb = [r[2] for r in rs]
    tp = throughput(rs)
    print(f"| {path} | {len(rs)} | {failed} | {q(connect, .5):.3f} / {q(connect, .9):.3f} ms | {q(pre, .5):.3f} / {q(pre, .9):.3f} ms"
          f" | {statistics.median(pre) - base_pre:+.3f} ms | {q(ttfb, .5):.3f} / {q(ttfb, .9):.3f} ms | {statistics.median(ttfb) - base_ttfb:+.3f} ms"
          f" | {tp:.0f} | {100 * (tp / base_tp - 1):+.1f}% |")
print()
print("connect: TCP to the first hop (the origin, or the proxy); pretransfer: until the request can be sent (for a tunnel, after the")
print("proxy's 200); first byte: until the response starts (an absolute-form proxy connects to the origin in this interval);")
print("transfer: first to last byte of the 1 MiB body. 'added' columns are medians minus the direct path's medians.")
PY
