#!/usr/bin/env bash
# Installs what building and testing need, once: Debian packages and a Python venv for the
# test peers. Safe to run again; does nothing when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(libyaml-dev libinotifytools0-dev pkg-config python3-venv curl git prometheus)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
venv=${VENV:-.venv}
stamp="$venv/.requirements"
if [ ! -f "$stamp" ] || ! cmp -s requirements-test.txt "$stamp"; then
  echo "setup: creating $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >/dev/null
  "$venv/bin/pip" install -q -r requirements-test.txt
  cp requirements-test.txt "$stamp"
fi
# The SDK's 1.x client cannot share a venv with 2.x: it gets its own.
sdk1=${VENV_SDK1:-.venv-sdk1}
stamp1="$sdk1/.requirements"
if [ ! -f "$stamp1" ] || ! cmp -s requirements-sdk1.txt "$stamp1"; then
  echo "setup: creating $sdk1"
  python3 -m venv "$sdk1"
  "$sdk1/bin/pip" install -q --upgrade pip >/dev/null
  "$sdk1/bin/pip" install -q -r requirements-sdk1.txt
  cp requirements-sdk1.txt "$stamp1"
fi
