#!/usr/bin/env bash
# npm run test:browser — headless Chromium plays a video from the gateway and seeks into it
# (test/e2e/browser-video.test.ts).
#
# Installs Debian's chromium and ffmpeg when missing (apt-get update only when the install
# fails on a stale or empty package list), then runs the test. playwright-core drives
# /usr/bin/chromium: no browser download.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(chromium ffmpeg)

log() { echo "[test-browser $(date +%T)] $*" >&2; }
started=$(date +%s)

install_missing() {
  local missing=() p sudo=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { log "need root to install: ${missing[*]}"; exit 1; }
    sudo=(sudo)
  fi
  log "installing ${missing[*]}"
  # Another job (Ceph's packages) may hold the dpkg lock: wait for it rather than fail.
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600)
  if ! "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null; then
    log "install failed; updating the package lists and trying again"
    "${apt[@]}" update -qq
    "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

install_missing
for binary in /usr/bin/chromium ffmpeg; do
  command -v "$binary" >/dev/null || { log "missing $binary after install"; exit 1; }
done

status=0
npx vitest run -c vitest.e2e.config.ts test/e2e/browser-video.test.ts || status=$?
log "done in $(($(date +%s) - started)) s"
exit "$status"
