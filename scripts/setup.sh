#!/usr/bin/env bash
# Idempotent set-up on a fresh machine (npm registry and Debian apt are all it needs):
# npm dependencies, the mediasoup worker (cached build), and with --test the tools the
# end-to-end tests drive (Chromium). Run by `npm start` and `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[setup] $*"; }

apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "installing ${missing[*]} with apt"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# npm dependencies. mediasoup's postinstall would download (or build with downloads)
# its worker; a non-empty MEDIASOUP_WORKER_BIN during install makes it skip that step,
# and scripts/mediasoup-worker.sh provides the worker instead.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies (npm ci)"
  MEDIASOUP_WORKER_BIN=provided-by-setup npm ci --no-audit --no-fund
else
  log "npm dependencies up to date"
fi

bash scripts/mediasoup-worker.sh

if [ "${1:-}" = "--test" ]; then
  apt_install chromium fonts-liberation iproute2 util-linux coturn prosody
  log "test tools ready: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
fi
