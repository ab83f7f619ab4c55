#!/usr/bin/env bash
# Admin HTTP API against nginx and uvicorn on this machine, all on 127.0.0.1: keep-alive
# `GET /healthz` requests/s and p50/p99 (wrk, one thread, CONNECTIONS connections, DURATION s after
# a 2 s warm-up), the controller's p99 paced at half nginx's rate (goal: under 1 ms), and the
# controller's RSS/threads while HELD idle, half-sent and `GET /events` connections are open.
# Installs wrk and nginx (apt) and uvicorn (pip, into $VENV or .venv) when missing.
# CONTROLLER_BIN=path uses that binary instead of building release here.
# PACE_RPS=N paces the controller at N req/s instead of half nginx's rate.
# Usage: bench/http.sh [DURATION] [CONNECTIONS] [HELD]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-50}
held=${3:-2000}
warmup=2
started=$SECONDS
command -v swift >/dev/null || [ ! -x /opt/swift/usr/bin/swift ] || PATH=/opt/swift/usr/bin:$PATH

# --- What it needs ---------------------------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v curl >/dev/null || missing+=(curl)
source "$(dirname "$0")/apt-install.sh"
((${#missing[@]} == 0)) || apt_install http "${missing[@]}"
nginx=$(command -v nginx || echo /usr/sbin/nginx)
venv=${VENV:-.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -c 'import uvicorn, httptools, uvloop' 2>/dev/null; then
  echo "http: installing uvicorn[standard] into $venv" >&2
  "$venv/bin/pip" install -q 'uvicorn[standard]==0.55.0' >/dev/null
fi

if [ -n "${CONTROLLER_BIN:-}" ]; then
  controller=$CONTROLLER_BIN
else
  swift build -c release --product controller >/dev/null
  controller="$(swift build -c release --show-bin-path)/controller"
fi
[ -x "$controller" ] || { echo "http: no controller binary at $controller" >&2; exit 1; }

# --- Servers ---------------------------------------------------------------------------------
source bench/processes.sh http

# Waits (at most 30 s) for http://127.0.0.1:PORT/healthz to answer 200 while PID lives.
wait_ready() {
  local name=$1 pid=$2 port=$3 log=$4 _
  for _ in $(seq 300); do
    if ! alive "$pid"; then
      echo "http: $name exited before answering; its log:" >&2; tail -20 "$log" >&2; exit 1
    fi
    [ "$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ] && return 0
    sleep 0.1
  done
  echo "http: $name not answering /healthz after 30 s; its log:" >&2; tail -20 "$log" >&2; exit 1
}

# Controller: an empty root (no servers, empty config and .env.example), no tokens, loopback.
root=$tmp/root
mkdir -p "$root/servers" "$root/config"
: >"$root/config/default.yaml"
: >"$root/.env.example"
controller_port=$(free_port)
env -i PATH=/usr/bin:/bin HOME="$root" \
  "$controller" run --root "$root" --listen "127.0.0.1:$controller_port" >"$tmp/controller.log" 2>&1 &
controller_pid=$!
pids+=("$controller_pid")

mkdir -p "$tmp/nginx"
nginx_port=$(free_port)
sed -e "s|@DIR@|$tmp/nginx|g" -e "s|@PORT@|$nginx_port|g" bench/http_nginx.conf.template >"$tmp/nginx/nginx.conf"
"$nginx" -p "$tmp/nginx/" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx/stdout.log" 2>&1 &
nginx_pid=$!
pids+=("$nginx_pid")

uvicorn_port=$(free_port)
"$venv/bin/python" -m uvicorn --app-dir bench http_uvicorn_app:app --host 127.0.0.1 --port "$uvicorn_port" \
  --workers 1 --loop uvloop --http httptools --no-access-log --log-level warning >"$tmp/uvicorn.log" 2>&1 &
uvicorn_pid=$!
pids+=("$uvicorn_pid")

wait_ready controller "$controller_pid" "$controller_port" "$tmp/controller.log"
wait_ready nginx "$nginx_pid" "$nginx_port" "$tmp/nginx/error.log"
wait_ready uvicorn "$uvicorn_pid" "$uvicorn_port" "$tmp/uvicorn.log"

# --- Header ----------------------------------------------------------------------------------
model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
[ -n "$model" ] || model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
echo "machine: $(nproc) cores ($model), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "versions: $( (wrk -v 2>&1 || true) | head -1 | awk '{print $1, $2}'), $("$nginx" -v 2>&1 | sed 's/^nginx version: //'),"\
  "uvicorn $("$venv/bin/python" -c 'import uvicorn, httptools, uvloop; print(uvicorn.__version__, "(httptools", httptools.__version__ + ", uvloop", uvloop.__version__ + ")")')"\
  "on Python $("$venv/bin/python" -c 'import platform; print(platform.python_version())'),"\
  "controller $controller$([ -n "${CONTROLLER_BIN:-}" ] || echo " (release build of this tree at $(git rev-parse --short HEAD 2>/dev/null))")"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (anything else running shares the $(nproc) cores with the servers and wrk)"
echo "load: wrk -t1 -c$connections keep-alive GET /healthz, ${warmup} s warm-up then ${duration} s measured, one server at a time, all on 127.0.0.1"
echo

# --- Requests/s ------------------------------------------------------------------------------
# Runs wrk; prints its BENCH line (see bench/http_wrk.lua). Args: NAME PORT SECONDS CONNECTIONS [DELAY_MS]
# wrk_cpu: wrk's CPU time over wall time, in % of one core (near 100: wrk, not the server, was the limit).
run_wrk() {
  local name=$1 port=$2 seconds=$3 conns=$4 delay=${5:-} out line TIMEFORMAT='%R %U %S'
  out="$tmp/wrk-$name.txt"
  if ! { time BENCH_DELAY_MS=$delay timeout -k 5 $((seconds + 20)) \
    wrk -t1 -c"$conns" -d"${seconds}s" --timeout 5s --latency -s bench/http_wrk.lua \
    "http://127.0.0.1:$port/healthz" >"$out" 2>&1; } 2>"$out.time"; then
    echo "http: wrk against $name failed or timed out:" >&2; cat "$out" >&2; exit 1
  fi
  line=$(grep '^BENCH ' "$out") || { echo "http: no BENCH line from wrk ($name):" >&2; cat "$out" >&2; exit 1; }
  echo "$line wrk_cpu=$(awk '{printf "%.0f", ($2 + $3) / $1 * 100}' "$out.time")"
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
ms() { awk -v us="$1" 'BEGIN {printf "%.3f ms", us / 1000}'; }
errors() {
  local line=$1 key out=""
  for key in status connect read write timeout; do
    [ "$(field "$line" $key)" = 0 ] || out+="${out:+, }$key $(field "$line" $key)"
  done
  echo "${out:-0}"
}

echo "| server | connections | req/s | p50 | p99 | errors (non-2xx, socket) | wrk CPU |"
echo "|---|---:|---:|---:|---:|---|---:|"
declare -A rps
for server in nginx uvicorn controller; do
  port_var=${server}_port
  run_wrk "$server-warmup" "${!port_var}" "$warmup" "$connections" >/dev/null
  line=$(run_wrk "$server" "${!port_var}" "$duration" "$connections")
  rps[$server]=$(field "$line" rps)
  label=$server
  case $server in
    nginx) label="nginx (1 worker)" ;;
    uvicorn) label="uvicorn (1 worker, raw ASGI)" ;;
  esac
  printf '| %s | %s | %.0f | %s | %s | %s | %s%% |\n' "$label" "$connections" "${rps[$server]}" \
    "$(ms "$(field "$line" p50_us)")" "$(ms "$(field "$line" p99_us)")" "$(errors "$line")" "$(field "$line" wrk_cpu)"
done
echo "wrk CPU: its CPU time over wall time, % of one core; near 100% the one wrk thread, not the server, was the limit"
echo

# --- p99 at half nginx's rate ----------------------------------------------------------------
# Each connection waits DELAY ms after every response, so the rate is about
# C * 1000 / (DELAY' + T): T is the response time plus wrk's own time per request, DELAY' the
# wait as wrk's millisecond timers make it (they fire up to a millisecond early or late). Two 2 s
# calibration runs (the first is the warm-up) each measure the rate at the current delay and
# correct the delay for what it showed, within [¼, 2] × the nominal C * 1000 / target so that
# one noisy round cannot swing it to nothing. The measured run follows.
# nginx is paced the same way first, as a control: its p99 there is the floor this harness
# (wrk's one thread and its millisecond timers, on this machine) can show.
# A server whose unpaced rate is below the target is run unpaced (no hook) and says so.
# PACE_RPS=N paces at N requests/s instead (to see the p99 at a rate the controller can reach).
target=${PACE_RPS:-$(awk -v r="${rps[nginx]}" 'BEGIN {printf "%.0f", r / 2}')}
target_label="½ nginx"
[ -z "${PACE_RPS:-}" ] || target_label="PACE_RPS"
nominal=$(awk -v c="$connections" -v t="$target" 'BEGIN {printf "%.3f", c * 1000 / t}')
correct() { # DELAY RPS -> the delay that would have given $target, given the rate DELAY gave
  awk -v c="$connections" -v t="$target" -v d="$1" -v r="$2" -v n="$nominal" 'BEGIN {
    if (r < 1) r = 1
    x = c * 1000 / t - (c * 1000 / r - d)
    if (x < n / 4) x = n / 4
    if (x > 2 * n) x = 2 * n
    printf "%.3f", x
  }'
}
echo "paced by wrk's delay() hook (closed loop per connection with a think time: an approximation of open-loop load at a fixed rate)"
echo
echo "| server | connections | target req/s ($target_label) | achieved req/s | mean delay/request | p50 | p99 | p99 < 1 ms | errors | wrk CPU |"
echo "|---|---:|---:|---:|---:|---:|---:|---|---|---:|"
: >"$tmp/paced.txt"
: >"$tmp/paced-notes.txt"
for server in nginx controller; do
  port_var=${server}_port
  if awk -v t="$target" -v max="${rps[$server]}" 'BEGIN {exit !(t > 1.02 * max)}'; then
    pace=""
    printf "note: the target is above the %s's unpaced rate (%.0f req/s): its row is unpaced (full load), not at the target\n" \
      "$server" "${rps[$server]}" >>"$tmp/paced-notes.txt"
    run_wrk "$server-paced-warmup" "${!port_var}" "$warmup" "$connections" >/dev/null
  else
    pace=$nominal
    for round in 1 2; do
      line=$(run_wrk "$server-paced-calibration-$round" "${!port_var}" "$warmup" "$connections" "$pace")
      pace=$(correct "$pace" "$(field "$line" rps)")
    done
  fi
  line=$(run_wrk "$server-paced" "${!port_var}" "$duration" "$connections" "$pace")
  achieved=$(field "$line" rps)
  p99=$(field "$line" p99_us)
  label="controller, paced"
  [ "$server" = controller ] || label="nginx, paced (control)"
  printf '| %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s%% |\n' "$label" "$connections" "$target" "$achieved" \
    "$([ -n "$pace" ] && echo "$pace ms" || echo "none (unpaced)")" "$(ms "$(field "$line" p50_us)")" "$(ms "$p99")" \
    "$(awk -v p="$p99" 'BEGIN {print (p < 1000 ? "yes" : "no")}')" "$(errors "$line")" "$(field "$line" wrk_cpu)" >>"$tmp/paced.txt"
  [ -z "$pace" ] || awk -v a="$achieved" -v t="$target" -v s="$server" 'BEGIN {
    if (a < 0.95 * t || a > 1.05 * t) printf "note: %s paced at %.0f%% of the target (calibration off: a noisy machine, or wrk on its one thread)\n", s, 100 * a / t
  }' >>"$tmp/paced-notes.txt"
done
cat "$tmp/paced.txt"
[ ! -s "$tmp/paced-notes.txt" ] || cat "$tmp/paced-notes.txt"
echo

# --- Held connections ------------------------------------------------------------------------
echo "held connections on the controller (one Python process, non-blocking sockets; counts from the client side,"
echo "fds/RSS/threads from /proc of the controller: before → ~1 s after the last connect; curl on a fresh connection while held)"
echo
echo "| held | connected | open at first sample | open at end | answers received | controller fds | RSS MiB | threads | curl /readyz | curl /status |"
echo "|---|---:|---|---|---|---|---|---|---|---|"
notes=$tmp/notes.txt
: >"$notes"
for kind in idle partial sse; do
  rc=0
  timeout -k 5 90 python3 bench/http_hold.py "$controller_pid" "$controller_port" "$kind" "$held" \
    --settle 1 --hold 4 --notes "$notes" || rc=$?
  [ "$rc" = 0 ] || echo "| $held $kind | helper failed (exit status $rc) | | | | | | | | |"
  alive "$controller_pid" || { echo "http: the controller exited during the held-connection phase:" >&2; tail -20 "$tmp/controller.log" >&2; exit 1; }
done
echo
sed 's/^/note: /' "$notes"
echo
echo "total: $((SECONDS - started)) s"
