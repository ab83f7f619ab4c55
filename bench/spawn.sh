#!/usr/bin/env bash
# Starts 200 mcp-demo servers to ready under the supervisor, idles 30 s with probes running,
# stops them all, and prints the figures. Goals (issue 4): all ready in under 5 s, idle CPU
# under 1% of a core, RSS under 40 MiB. Usage: bench/spawn.sh [COUNT] [IDLE_SECONDS] [INTERVAL]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product SpawnBench >/dev/null
swift build -c release --product mcp-demo >/dev/null
bin=$(swift build -c release --show-bin-path)
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
"$bin/SpawnBench" "${1:-200}" "${2:-30}" "${3:-15s}"
