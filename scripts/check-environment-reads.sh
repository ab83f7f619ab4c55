#!/usr/bin/env bash
# Fails when any source file other than Sources/Desired/Environment.swift reads the process
# environment: every value a server sees must come from one snapshot (DESIGN.md). The demo
# server (Sources/McpDemo) is a separate program, a test peer, and reads its own MCP_DEMO_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."
hits=$(grep -rnE 'ProcessInfo|getenv|\benviron\b|setenv\(|unsetenv' Sources \
  --include='*.swift' --include='*.c' --include='*.h' --exclude-dir=McpDemo \
  | grep -v '^Sources/Desired/Environment.swift:' || true)
if [ -n "$hits" ]; then
  echo "environment read outside Sources/Desired/Environment.swift:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "environment reads: only in Sources/Desired/Environment.swift"
