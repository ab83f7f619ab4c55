#!/usr/bin/env bash
# The controller against supervisord holding the same COUNT mcp-demo processes, one count at a
# time, in one run (loopback only):
# 1. `controller run` on a scratch root with COUNT mcp-demo manifests, all enabled, every other
#    key at its built-in default (health probes every 15 s; reconcile.start_window, where the
#    binary knows it, is left at its default too): seconds from launch until GET /readyz is 200
#    (polled every 50 ms), the controller's RSS (VmRSS) and descriptors then, its own CPU
#    (utime + stime of the controller process, not its children) over an idle window as % of
#    one core, RSS at the end of it, and seconds from SIGTERM until it has exited;
# 2. supervisord (PyPI, installed into .venv-bench) with COUNT [program:x] sections running the
#    same binary: seconds from launch until every program is RUNNING (XML-RPC over its unix
#    socket, polled every 50 ms), then the same figures for supervisord's own process.
# The idle window starts SETTLE_SECONDS after readiness, so that the last starts' work is not
# counted as idle. Readiness is not the same thing on both sides: the controller's means the
# server answered MCP's initialize, supervisord's means the process stayed up startsecs=1
# (supervisord's own notion; it never speaks to the process). While idle the controller probes
# every server every 15 s; supervisord probes nothing.
# CONTROLLER_BIN / MCP_DEMO_BIN use those binaries instead of building release here.
# Usage: bench/scale.sh [COUNT...]   (default: 200 1000)
# Environment: IDLE_SECONDS (30), SETTLE_SECONDS (10), READY_TIMEOUT (120), STOP_TIMEOUT (60),
# SUPERVISOR_GROUP (0; 1 puts supervisord's programs in one group: see make_supervisor_conf).
# shellcheck source-path=SCRIPTDIR/..
set -euo pipefail
export LC_ALL=C # $EPOCHREALTIME with a '.', whatever the caller's locale
cd "$(dirname "$0")/.."
counts=("$@")
[ "${#counts[@]}" -gt 0 ] || counts=(200 1000)
for n in "${counts[@]}"; do
  [[ $n =~ ^[1-9][0-9]{0,3}$ ]] || { echo "scale: a COUNT is a number from 1 to 9999, not '$n'" >&2; exit 2; }
done
idle_seconds=${IDLE_SECONDS:-30}
settle_seconds=${SETTLE_SECONDS:-10}
ready_timeout=${READY_TIMEOUT:-120}
stop_timeout=${STOP_TIMEOUT:-60}
supervisor_group=${SUPERVISOR_GROUP:-0}
[[ $supervisor_group =~ ^[01]$ ]] || { echo "scale: SUPERVISOR_GROUP is 0 or 1" >&2; exit 2; }
for value in "$idle_seconds" "$settle_seconds" "$ready_timeout" "$stop_timeout"; do
  [[ $value =~ ^[0-9]{1,4}$ ]] || { echo "scale: IDLE_SECONDS, SETTLE_SECONDS, READY_TIMEOUT and STOP_TIMEOUT are whole seconds" >&2; exit 2; }
done
command -v swift >/dev/null || [ ! -x /opt/swift/usr/bin/swift ] || PATH=/opt/swift/usr/bin:$PATH
source bench/binaries.sh
controller=$(realpath "$controller")
demo=$(realpath "$demo")

bench_venv=$PWD/.venv-bench
if ! "$bench_venv/bin/python" -c 'import supervisor' 2>/dev/null; then
  echo "scale: installing supervisor into .venv-bench" >&2
  [ -x "$bench_venv/bin/python" ] || python3 -m venv "$bench_venv"
  "$bench_venv/bin/pip" install -q 'supervisor==4.3.0' >/dev/null
fi

source bench/processes.sh scale
# Both sides run mcp-demo through this link, so every process this script starts has it in its
# command line and `pgrep -f` finds ours, not the mcp-demo of a test running beside it. (The
# controller passes the manifest's command as argv[0]; a bare `mcp-demo` would be just that.)
mkdir "$tmp/bin"
ln -s "$demo" "$tmp/bin/mcp-demo"
marker="$tmp/bin/mcp-demo"
# After the shared clean-up: no mcp-demo of ours may outlive the script.
survivors() {
  local remaining=()
  mapfile -t remaining < <(pgrep -f -- "$marker" || true)
  if [ "${#remaining[@]}" -gt 0 ]; then
    echo "scale: WARNING: ${#remaining[@]} mcp-demo processes survived (pids ${remaining[*]:0:10}); killing them" >&2
    kill -KILL "${remaining[@]}" 2>/dev/null || true
  fi
}
trap 'cleanup; survivors' EXIT
forget() { # Drops PID from $pids once it has been reaped, so the clean-up never signals a reused pid.
  local kept=() pid
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

hz=$(getconf CLK_TCK)
now_us() { echo "${EPOCHREALTIME/./}"; }
secs() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1e6 }'; }
# utime + stime of PID itself, in clock ticks (fields 14 and 15; the name in field 2 may hold spaces).
ticks() {
  local stat rest fields
  stat=$(<"/proc/$1/stat")
  rest=${stat##*) }
  read -ra fields <<<"$rest"
  echo $((fields[11] + fields[12]))
}
cpu_s() { awk -v t="$1" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }'; }
# PID's threads by name (threads of one name summed), most CPU so far (user + system) first:
# "name 1.23 s (2), …". Args: PID HOW_MANY
busiest_threads() {
  local task stat rest fields name
  for task in /proc/"$1"/task/*; do
    stat=$(<"$task/stat") || continue
    name=${stat#*(}
    name=${name%)*}
    rest=${stat##*) }
    read -ra fields <<<"$rest"
    echo "$((fields[11] + fields[12])) ${name// /_}"
  done | awk '{ t[$2] += $1; n[$2]++ } END { for (k in t) print t[k], k, n[k] }' | sort -rn | head -n "$2" |
    awk -v hz="$hz" '{ printf "%s%s %.2f s (%d)", (NR > 1 ? ", " : ""), $2, $1 / hz, $3 }'
}
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }
children() { pgrep -c -P "$1" || true; }
# CPU of PID over the idle window as % of one core; sets $idle_cpu. Args: PID
idle_window() {
  sleep "$settle_seconds"
  local t0 c0 t1 c1
  c0=$(ticks "$1")
  t0=$(now_us)
  sleep "$idle_seconds"
  c1=$(ticks "$1")
  t1=$(now_us)
  idle_cpu=$(awk -v t="$((c1 - c0))" -v hz="$hz" -v us="$((t1 - t0))" 'BEGIN { printf "%.2f", 100 * t / hz / (us / 1e6) }')
}
# SIGTERM to PID and seconds until it has exited (reaped), bounded by STOP_TIMEOUT: past it the
# process is killed and $stopped says so. Sets $stopped. Args: PID
stop() {
  local pid=$1 t0 sleeper
  sleep "$stop_timeout" &
  sleeper=$!
  pids+=("$sleeper")
  t0=$(now_us)
  kill -TERM "$pid" 2>/dev/null || true
  wait -n "$pid" "$sleeper" || true
  stopped=$(secs $(($(now_us) - t0)))
  if alive "$pid"; then
    stopped="over $stop_timeout (killed with $(children "$pid") children left)"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  else
    kill "$sleeper" 2>/dev/null || true
  fi
  wait "$sleeper" 2>/dev/null || true
  forget "$sleeper"
  forget "$pid"
}
# After each side stops: any mcp-demo of ours still running is reported and killed, so the
# other side starts from none. Args: WHO
left_over() {
  local stray=()
  mapfile -t stray < <(pgrep -f -- "$marker" || true)
  left=${#stray[@]}
  if [ "$left" -gt 0 ]; then
    echo "scale: WARNING: $left mcp-demo processes outlived $1; killing them" >&2
    kill -KILL "${stray[@]}" 2>/dev/null || true
  fi
}

# A root with COUNT mcp-demo servers s0001… and an empty .env.example. Args: DIR COUNT
make_root() {
  local i name
  mkdir -p "$1/servers" "$1/config"
  : >"$1/.env.example"
  {
    echo "features:"
    for ((i = 1; i <= $2; i++)); do printf '  s%04d: { enabled: true }\n' "$i"; done
  } >"$1/config/default.yaml"
  for ((i = 1; i <= $2; i++)); do
    printf -v name 's%04d' "$i"
    printf 'name: %s\ndescription: scale benchmark server\ntransport: stdio\ncommand: ["%s"]\n' \
      "$name" "$marker" >"$1/servers/$name.yaml"
  done
}

# Instances per phase, distinct pids and (where /status has it) the start window. Args: PORT
status_summary() {
  curl -s --noproxy '*' --max-time 5 "http://127.0.0.1:$1/status" | python3 -c '
import collections, json, sys
try:
    status = json.load(sys.stdin)
    servers = status["servers"]
except (ValueError, KeyError, TypeError):
    print("no answer"); sys.exit()
instances = [i for s in servers for i in s.get("instances", [])]
phases = collections.Counter(i.get("phase") for i in instances)
pids = {i.get("pid") for i in instances if i.get("pid")}
window = (status.get("capacity") or {}).get("start_window")
print(", ".join(f"{v} {k}" for k, v in sorted(phases.items())) + f" ({len(pids)} pids"
      + (f", start window {window})" if window is not None else ")"))'
}

# supervisord's configuration for COUNT programs. Args: DIR COUNT
#
# stdin: mcp-demo is a stdio server that exits at EOF on stdin, and supervisord gives every
# program a pipe for stdin whose write end it keeps open for the process's lifetime (for
# `supervisorctl`'s sendProcessStdin; supervisor/options.py make_pipes) and writes nothing to
# unless asked. So `command=` the binary itself keeps it up: no wrapper shell, no `sleep
# infinity |` (one more process per program), no fifo, and not /dev/zero (which sends data).
# stdout and stderr are pipes supervisord reads; with *_logfile=NONE it discards what comes,
# so it holds three pipe ends per program and no log files (the controller logs a child's
# stderr lines in its own log).
# Stopping: each [program:x] is a group of its own, and on SIGTERM supervisord stops one group
# per turn of its main loop, which waits up to 1 s on poll() when nothing else wakes it; so the
# stop time grows with COUNT and varies between runs. SUPERVISOR_GROUP=1 puts every program in
# one [group:bench], which supervisord stops all at once.
make_supervisor_conf() {
  local i name list=""
  cat <<EOF
[unix_http_server]
file=$1/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisord]
nodaemon=true
logfile=$1/supervisord.log
pidfile=$1/supervisord.pid
childlogdir=$1
minfds=$((3 * $2 + 64))
EOF
  for ((i = 1; i <= $2; i++)); do
    printf '\n[program:s%04d]\ncommand=%s\nautostart=true\nautorestart=true\nstartsecs=1\n' "$i" "$marker"
    printf 'stdout_logfile=NONE\nstderr_logfile=NONE\n'
  done
  if [ "$supervisor_group" = 1 ]; then
    for ((i = 1; i <= $2; i++)); do printf -v name 's%04d' "$i"; list+="${list:+,}$name"; done
    printf '\n[group:bench]\nprograms=%s\n' "$list"
  fi
}

# Waits until COUNT programs are RUNNING, for at most LIMIT seconds; prints the states
# otherwise and fails. Args: SOCKET COUNT LIMIT
supervisor_running() {
  "$bench_venv/bin/python" - "$@" <<'EOF'
import collections, sys, time, xmlrpc.client
from supervisor.xmlrpc import SupervisorTransport

sock, count, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline, states, error = time.monotonic() + limit, collections.Counter(), None
while time.monotonic() < deadline:
    try:
        # A new transport each time: one whose connect failed (no socket yet) stays failed.
        proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=SupervisorTransport(None, None, "unix://" + sock))
        states = collections.Counter(p["statename"] for p in proxy.supervisor.getAllProcessInfo())
        if states["RUNNING"] == count:
            sys.exit(0)
    except Exception as e:  # not listening yet, or still starting up
        error = e
    time.sleep(0.05)
print(", ".join(f"{v} {k}" for k, v in sorted(states.items())) or f"no answer: {error!r}")
sys.exit(1)
EOF
}

# Where the time to readiness went, from a log's timestamps relative to the launch (LAUNCH_US,
# epoch microseconds). controller: its JSON lines (ready's latency_ms is spawn to ready);
# supervisord: its own log (millisecond timestamps, local time). Args: KIND LOG LAUNCH_US
timeline() {
  env -u TZ python3 - "$@" <<'EOF'
import json, sys, time
from datetime import datetime

kind, path, launch = sys.argv[1], sys.argv[2], int(sys.argv[3]) / 1e6
at = lambda t: f"+{t - launch:.2f} s"
if kind == "controller":
    first, last, latencies, moves = {}, {}, [], []
    for line in open(path, errors="replace"):
        try:
            r = json.loads(line)
            t = datetime.strptime(r["ts"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        except (ValueError, KeyError, TypeError):
            continue
        first.setdefault(r.get("event"), t)
        last[r.get("event")] = t
        if r.get("event") == "ready" and "latency_ms" in r:
            latencies.append(r["latency_ms"])
        if r.get("event") in ("spawned", "ready"):
            moves.append((t, 1 if r["event"] == "spawned" else -1))
    if not latencies or "spawned" not in first:
        print("no spawn or ready in the log"); sys.exit()
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(round(p / 100 * (len(latencies) - 1))))]
    # How many were starting (spawned, not yet ready) at once: the time-weighted mean from the
    # first spawn to the last ready, and the most.
    starting = top = area = 0
    for (t, step), (after, _) in zip(moves, moves[1:] + [(moves[-1][0], 0)]):
        starting += step
        top = max(top, starting)
        area += starting * (after - t)
    span = moves[-1][0] - moves[0][0]
    print(f"listening {at(first.get('listening', launch))}, spawns {at(first['spawned'])} to {at(last['spawned'])},"
          f" last ready {at(last['ready'])}; spawn to ready p50 {pct(50):.1f} ms, p99 {pct(99):.1f} ms, max {latencies[-1]:.1f} ms;"
          f" starting at once: mean {area / span if span > 0 else 0:.1f}, most {top}")
else:
    marks = {}
    for line in open(path, errors="replace"):
        try:
            t = time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S")) + int(line[20:23]) / 1000
        except ValueError:
            continue
        for key, text in (("started", "supervisord started"), ("spawned", "spawned:"), ("running", "entered RUNNING")):
            if text in line:
                marks.setdefault(key, [t, t])[1] = t
    if not {"started", "spawned", "running"} <= marks.keys():
        print("no spawn or RUNNING in the log"); sys.exit()
    print(f"supervisord started {at(marks['started'][0])}, spawns {at(marks['spawned'][0])} to {at(marks['spawned'][1])},"
          f" RUNNING {at(marks['running'][0])} to {at(marks['running'][1])}")
EOF
}

run_controller() { # Args: COUNT
  local n=$1 root="$tmp/controller-$1" port pid t0 code i ready_us spawned exited
  make_root "$root" "$n"
  port=$(free_port)
  t0=$(now_us)
  env -i PATH="$tmp/bin:/usr/bin:/bin" HOME="$root" "$controller" run --root "$root" --listen "127.0.0.1:$port" \
    >"$root/controller.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  ready_us=""
  for ((i = 0; i < ready_timeout * 20 + 1; i++)); do
    code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/readyz" || true)
    if [ "$code" = 200 ]; then ready_us=$(($(now_us) - t0)); break; fi
    alive "$pid" || break
    [ $(($(now_us) - t0)) -lt $((ready_timeout * 1000000)) ] || break
    sleep 0.05
  done
  if [ -z "$ready_us" ]; then
    if alive "$pid"; then
      c_line="controller NOT ready within $ready_timeout s ($(status_summary "$port"))"
    else
      c_line="controller exited before it was ready"
    fi
    echo "scale: the controller's last log lines:" >&2
    tail -5 "$root/controller.log" >&2
    if alive "$pid"; then stop "$pid"; fi
    left_over "the controller"
    c_detail="controller: log: $(grep -c '"event":"spawned"' "$root/controller.log" || true) spawned; $left mcp-demo left after stop"
    c_timeline="controller log: $(timeline controller "$root/controller.log" "$t0")"
    return
  fi
  local ready_rss ready_fds kids idle_rss after ready_cpu threads
  ready_cpu=$(cpu_s "$(ticks "$pid")")
  threads=$(busiest_threads "$pid" 3)
  ready_rss=$(rss_mib "$pid")
  ready_fds=$(fds "$pid")
  kids=$(children "$pid")
  idle_window "$pid"
  idle_rss=$(rss_mib "$pid")
  after=$(status_summary "$port")
  stop "$pid"
  left_over "the controller"
  spawned=$(grep -c '"event":"spawned"' "$root/controller.log" || true)
  exited=$(grep -c '"event":"exited"' "$root/controller.log" || true)
  c_line="controller ready in $(secs "$ready_us") s (RSS $ready_rss MiB, $ready_fds fds,"
  c_line+=" $(awk -v f="$ready_fds" -v n="$n" 'BEGIN { printf "%.2f", f / n }') fds/server),"
  c_line+=" idle CPU $idle_cpu% (RSS $idle_rss MiB) over $idle_seconds s, stop $stopped s"
  c_detail="controller: $kids children and $ready_cpu s of CPU at ready (by thread name: $threads);"
  c_detail+=" after idle /status: $after; log: $spawned spawned,"
  c_detail+=" $exited unexpected exits; $left mcp-demo left after stop"
  c_timeline="controller log: $(timeline controller "$root/controller.log" "$t0")"
}

run_supervisord() { # Args: COUNT
  local n=$1 root="$tmp/supervisord-$1" pid t0 states running_us
  mkdir -p "$root"
  make_supervisor_conf "$root" "$n" >"$root/supervisord.conf"
  t0=$(now_us)
  env -i PATH="$tmp/bin:/usr/bin:/bin" HOME="$root" "$bench_venv/bin/supervisord" -c "$root/supervisord.conf" \
    >"$root/supervisord.out" 2>&1 &
  pid=$!
  pids+=("$pid")
  if ! states=$(supervisor_running "$root/supervisor.sock" "$n" "$ready_timeout"); then
    s_line="supervisord NOT all RUNNING within $ready_timeout s ($states)"
    tail -5 "$root/supervisord.log" >&2 || true
    stop "$pid"
    left_over "supervisord"
    s_detail="supervisord: $left mcp-demo left after stop"
    s_timeline="supervisord log: $(timeline supervisord "$root/supervisord.log" "$t0")"
    return
  fi
  running_us=$(($(now_us) - t0))
  local running_rss running_fds kids idle_rss running_cpu
  running_cpu=$(cpu_s "$(ticks "$pid")")
  running_rss=$(rss_mib "$pid")
  running_fds=$(fds "$pid")
  kids=$(children "$pid")
  idle_window "$pid"
  idle_rss=$(rss_mib "$pid")
  stop "$pid"
  left_over "supervisord"
  s_line="supervisord running in $(secs "$running_us") s, idle CPU $idle_cpu%, RSS $idle_rss MiB, stop $stopped s"
  s_detail="supervisord: $kids children and $running_cpu s of CPU at running (RSS $running_rss MiB, $running_fds fds,"
  s_detail+=" $(awk -v f="$running_fds" -v n="$n" 'BEGIN { printf "%.2f", f / n }') fds/server); $left mcp-demo left after stop"
  s_timeline="supervisord log: $(timeline supervisord "$root/supervisord.log" "$t0")"
}

model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "machine: $(nproc) cores ($model), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
if "$controller" schema --kind config 2>/dev/null | grep -q start_window; then
  window="knows reconcile.start_window (left at its default)"
else
  window="has no reconcile.start_window"
fi
echo "controller: $controller ($window); supervisor $("$bench_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("supervisor"))')" \
  "on Python $("$bench_venv/bin/python" -c 'import platform; print(platform.python_version())')"
echo "note: the controller probes each server (MCP) every 15 s, idle window included; supervisord does no health probes."
layout="one group per program (supervisord's default)"
[ "$supervisor_group" = 0 ] || layout="every program in one [group:bench]"
echo "supervisord: $layout, startsecs=1, stdin a pipe it holds open, stdout/stderr discarded"
echo "note: ready = /readyz 200 (every server answered initialize); RUNNING = up for startsecs=1, supervisord's own notion."
for n in "${counts[@]}"; do
  echo
  echo "load average before $n: $(cut -d' ' -f1-3 /proc/loadavg)"
  run_controller "$n"
  run_supervisord "$n"
  echo "$n servers: $c_line; $s_line"
  echo "  $c_detail"
  echo "  $s_detail"
  echo "  $c_timeline"
  echo "  $s_timeline"
done
