#!/usr/bin/env bash
# Validates 1,000 generated manifests with a release build and prints the wall time.
# Goal (issue 3): under 0.5 s. Usage: bench/validate.sh [COUNT] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
runs=${2:-5}
swift build -c release --product controller >/dev/null
bin=$(swift build -c release --show-bin-path)/controller
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/servers" "$tmp/config"
cp config/default.yaml "$tmp/config/"
printf 'OMNI_API_TOKENS=\nBENCH_TOKEN=\nBENCH_MODE=\n' > "$tmp/.env.example"
features=""
for i in $(seq -w 1 "$count"); do
  cat > "$tmp/servers/srv-$i.yaml" <<YAML
# yaml-language-server: \$schema=../schema/manifest.schema.json
name: srv-$i
description: generated server $i for the validate benchmark
homepage: https://example.com/srv-$i
transport: stdio
command: [mcp-demo, --id, "$i", "--mode=\${BENCH_MODE:-fast}"]
env:
  TOKEN: "\${BENCH_TOKEN}"
  LEVEL: info
secrets: [BENCH_TOKEN]
scopes: [read]
egress: [api.example.com, "*.example.org:443"]
limits: { rps: 5, burst: 10, concurrency: 4, request_timeout: 20s }
health: { interval: 15s, timeout: 5s, failure_threshold: 3 }
restart: { policy: on-failure, backoff: [500ms, 1s, 2s, 5s], budget: 5/60s, quarantine: 5m }
YAML
  features+="  srv-$i: { enabled: true }"$'\n'
done
printf 'features:\n%s' "$features" >> "$tmp/config/default.yaml"
sed -i 's/^features: {}$//' "$tmp/config/default.yaml"
"$bin" validate --root "$tmp" >/dev/null   # warm the page cache
times=()
for _ in $(seq "$runs"); do
  start=$(date +%s.%N)
  BENCH_TOKEN=t "$bin" validate --root "$tmp" > "$tmp/out.txt"
  end=$(date +%s.%N)
  times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }')")
done
tail -1 "$tmp/out.txt"
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")
best=$(echo "$sorted" | head -1)
printf 'validate %d manifests (release): median %.3f s, best %.3f s over %d runs (goal < 0.5 s)\n' "$count" "$median" "$best" "$runs"
