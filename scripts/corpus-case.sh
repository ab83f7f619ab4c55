#!/usr/bin/env bash
# Prints the errors `controller validate` reports for one broken-corpus case, in the form its
# `# expect:` lines use (LINE:COL: key.path: message). Usage: scripts/corpus-case.sh CASE.yaml
# A case under Tests/DesiredTests/Corpus/config/ is a config layer; any other is a manifest.
set -euo pipefail
case_file=$1
bin=${CONTROLLER:-$(dirname "$0")/../.build/debug/controller}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/servers" "$tmp/config"
: > "$tmp/config/default.yaml"
if [[ $case_file == */config/* ]]; then
  cp "$case_file" "$tmp/config/default.yaml"
else
  cp "$case_file" "$tmp/servers/$(basename "$case_file")"
fi
printf 'OMNI_API_TOKENS=\n' > "$tmp/.env.example"
"$bin" validate --root "$tmp" --format json | python3 -c '
import json, sys
for d in json.load(sys.stdin)["diagnostics"]:
    if d["severity"] == "error" and not d["file"].endswith(".env.example"):
        print(str(d["line"]) + ":" + str(d["column"]) + ": " + (d["path"] + ": " if d["path"] else "") + d["message"])
'
