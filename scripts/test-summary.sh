#!/usr/bin/env bash
# Reads `swift test` output on stdin, passes it through without the per-test progress lines,
# and ends with the plain closing line "tests: N passed, N failed". Exits non-zero unless
# Swift Testing reported a passing run (a crash that prints no summary is a failure too).
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
tee "$log" | grep -vE '^(◇|✔) ' || true
passed=$(grep -cE '^✔ Test .* passed' "$log" || true)
failed=$(grep -cE '^✘ Test .* failed' "$log" || true)
summary=$(grep -E '^(✔|✘) Test run with' "$log" | tail -1 || true)
echo "tests: $passed passed, $failed failed"
[[ $summary == ✔* ]] || exit 1
[ "$failed" -eq 0 ]
