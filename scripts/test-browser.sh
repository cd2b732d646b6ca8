#!/usr/bin/env bash
# npm run test:browser — headless Chromium plays a video from the gateway and seeks into it
# (test/e2e/browser-video.test.ts), also from a page on another origin through a signed URL
# with CORS (test/e2e/browser-signed-video.test.ts), and opens the Swagger UI at /docs
# (test/e2e/browser-docs.test.ts).
#
# Installs Debian's chromium and ffmpeg when missing (apt-get update only when the install
# fails on a stale or empty package list), then runs the test. playwright-core drives
# /usr/bin/chromium: no browser download.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(chromium ffmpeg)

log() { echo "[test-browser $(date +%T)] $*" >&2; }
started=$(date +%s)

# shellcheck source=scripts/lib/apt.sh
source scripts/lib/apt.sh

install_missing "${PACKAGES[@]}"
for binary in /usr/bin/chromium ffmpeg; do
  command -v "$binary" >/dev/null || { log "missing $binary after install"; exit 1; }
done

status=0
npx vitest run -c vitest.e2e.config.ts test/e2e/browser-video.test.ts \
  test/e2e/browser-signed-video.test.ts test/e2e/browser-docs.test.ts || status=$?
log "done in $(($(date +%s) - started)) s"
exit "$status"
