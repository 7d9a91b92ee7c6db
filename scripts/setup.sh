#!/usr/bin/env bash
# Idempotent set-up on a fresh machine (npm registry and Debian apt are all it needs):
# npm dependencies, the mediasoup worker (cached build), and with --test the tools the
# end-to-end tests drive (Chromium), and ffmpeg for recording. Run by `npm start` and `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[setup] $*"; }

# npm dependencies. mediasoup's postinstall would download (or build with downloads)
# its worker; a non-empty MEDIASOUP_WORKER_BIN during install makes it skip that step,
# and scripts/mediasoup-worker.sh provides the worker instead. better-sqlite3 would
# download a prebuilt binary, then Node's headers to compile against: it is built from
# source (npm_config_build_from_source) against the headers that come with this Node
# (npm_config_nodedir).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  node_prefix="$(dirname "$(dirname "$(node -p process.execPath)")")"
  if [ -f "$node_prefix/include/node/node.h" ]; then
    export npm_config_nodedir="$node_prefix"
  else
    log "warning: no Node headers in $node_prefix/include/node: node-gyp will download them"
  fi
  log "installing npm dependencies (npm ci)"
  MEDIASOUP_WORKER_BIN=provided-by-setup npm_config_build_from_source=better-sqlite3 \
    npm ci --no-audit --no-fund
else
  log "npm dependencies up to date"
fi

bash scripts/mediasoup-worker.sh

# Recording runs ffmpeg (and checks files with ffprobe), for `npm start` and the tests.
bash scripts/apt-install.sh ffmpeg

if [ "${1:-}" = "--test" ]; then
  bash scripts/apt-install.sh chromium fonts-liberation fonts-noto-color-emoji iproute2 util-linux coturn prosody haproxy
  # lib-jitsi-meet (a published build of it) and the jQuery it needs, for the tests of Jitsi
  # Meet clients: packed into the cache (not installed: they run in Chromium, which gets
  # them from the test; test/support/jitsi-meet-page.ts).
  jitsi_cache="${VIDEO_WINDOW_CACHE:-$HOME/.cache/video-window}/lib-jitsi-meet"
  for pkg in @lyno/lib-jitsi-meet@2.6726.2 jquery@3.6.0; do
    file="$(echo "${pkg#@}" | sed 's|/|-|; s|@|-|').tgz"
    if [ ! -f "$jitsi_cache/$file" ]; then
      log "fetching $pkg into $jitsi_cache"
      mkdir -p "$jitsi_cache"
      (cd "$jitsi_cache" && npm pack --silent "$pkg" >/dev/null)
    fi
  done
  log "test tools ready: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
fi
