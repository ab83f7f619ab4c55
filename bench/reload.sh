#!/usr/bin/env bash
# Edit-to-action latency with 200 servers running, and idle CPU/RSS with 500 (issue 5).
# Goals: p50 under 50 ms from save to `replace`; idle CPU under 1% of a core at 500 servers.
# Usage: bench/reload.sh [COUNT] [EDITS] [IDLE_COUNT] [IDLE_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product controller >/dev/null
swift build -c release --product mcp-demo >/dev/null
bin=$(swift build -c release --show-bin-path)
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
python3 bench/reload.py "$bin/controller" "${1:-200}" "${2:-100}" "${3:-500}" "${4:-30}"
