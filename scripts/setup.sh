#!/usr/bin/env bash
# Installs what building and testing need, once: Debian packages and a Python venv for the
# test peers. Safe to run again; does nothing when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."
# systemd: systemd-analyze verifies the unit in manifests/ (Tests/deploy); util-linux (unshare,
# nsenter) and iproute2 (ip) run the controller in a network namespace of its own there.
packages=(libyaml-dev libinotifytools0-dev pkg-config python3-venv curl git prometheus systemd util-linux iproute2)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Creates (or refreshes) venv DIR from REQUIREMENTS when the file changed since the last time.
ensure_venv() {
  local dir=$1 requirements=$2
  local stamp="$dir/.requirements"
  if [ ! -f "$stamp" ] || ! cmp -s "$requirements" "$stamp"; then
    echo "setup: creating $dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q --upgrade pip >/dev/null
    "$dir/bin/pip" install -q -r "$requirements"
    cp "$requirements" "$stamp"
  fi
}
ensure_venv "${VENV:-.venv}" requirements-test.txt
# The SDK's 1.x client cannot share a venv with 2.x: it gets its own.
ensure_venv "${VENV_SDK1:-.venv-sdk1}" requirements-sdk1.txt
