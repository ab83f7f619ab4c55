# Sourced by the benchmark scripts: a scratch directory ($tmp), the background processes they
# start ($pids, appended to by the caller), and their bounded clean-up on any exit.
# Usage: source bench/processes.sh NAME   (the scratch directory is /tmp/omni-bench-NAME-XXXXXX)

tmp=$(mktemp -d "/tmp/omni-bench-$1-XXXXXX")
pids=()
cleanup() {
  local pid children=()
  for pid in "${pids[@]}"; do
    mapfile -t -O "${#children[@]}" children < <(pgrep -P "$pid" 2>/dev/null || true)
    kill -TERM "$pid" 2>/dev/null || true
  done
  # Bounded: whatever has not exited 10 s after SIGTERM is killed, its children (nginx's
  # worker, a server's process) too.
  ( sleep 10; for pid in "${pids[@]}" "${children[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done ) &
  local watchdog=$!
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  kill "$watchdog" 2>/dev/null || true
  wait "$watchdog" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A child that exited stays a zombie until waited for, and kill -0 still succeeds on it.
alive() { [ -e "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
