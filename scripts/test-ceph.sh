#!/usr/bin/env bash
# npm run test:ceph — the image-route conformance suite against Ceph's RADOS Gateway.
#
# Installs Ceph's Debian packages when missing, starts a one-node cluster with RGW on
# 127.0.0.1:18180 in a temporary directory (scripts/ceph-rgw.sh), creates the bucket, runs
# test/e2e/ceph.test.ts, and stops Ceph and removes the directory on every exit path.
#
# Env: CEPH_RGW_OBJECTSTORE=bluestore|memstore (memstore: default here, RAM-backed, the data is
# throw-away), CEPH_RGW_KEEP_DIR=1 keeps the directory (logs) after the run.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(radosgw ceph-mon ceph-osd ceph-common uuid-runtime curl)
BUCKET=streamgate-conformance
MON_PORT=18100
RGW_PORT=${CEPH_RGW_PORT:-18180}
export CEPH_RGW_OBJECTSTORE=${CEPH_RGW_OBJECTSTORE:-memstore}

log() { echo "[test-ceph $(date +%T)] $*" >&2; }
started=$(date +%s)

# shellcheck source=scripts/lib/apt.sh
source scripts/lib/apt.sh

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

install_missing "${PACKAGES[@]}"
for port in "$MON_PORT" "$RGW_PORT"; do
  if port_busy "$port"; then
    log "127.0.0.1:$port is in use (another Ceph?); stop it first"
    exit 1
  fi
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/streamgate-ceph.XXXXXX")
cleanup() {
  local status=$?
  if [ "$status" != 0 ] && [ -d "$DIR/log" ]; then
    log "failed ($status); last lines of the Ceph logs:"
    tail -n 15 "$DIR"/log/*.log >&2 2>/dev/null || true
  fi
  bash scripts/ceph-rgw.sh stop "$DIR" || log "could not stop Ceph in $DIR"
  if [ "${CEPH_RGW_KEEP_DIR:-}" = 1 ]; then log "kept $DIR"; else rm -rf "$DIR"; fi
  log "done in $(($(date +%s) - started)) s"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting Ceph ($CEPH_RGW_OBJECTSTORE) in $DIR"
bash scripts/ceph-rgw.sh start "$DIR" >"$DIR/rgw.env"
value() { sed -n "s/^$1=//p" "$DIR/rgw.env"; }
log "RGW up in $(value STARTUP_SECONDS) s"

export CEPH_RGW_ENDPOINT CEPH_RGW_REGION CEPH_RGW_ACCESS_KEY_ID CEPH_RGW_SECRET_ACCESS_KEY
CEPH_RGW_ENDPOINT=$(value S3_ENDPOINT)
CEPH_RGW_REGION=$(value S3_REGION)
CEPH_RGW_ACCESS_KEY_ID=$(value S3_ACCESS_KEY_ID)
CEPH_RGW_SECRET_ACCESS_KEY=$(value S3_SECRET_ACCESS_KEY)
export CEPH_RGW_BUCKET=$BUCKET

# RGW checks SigV4, which for S3 covers x-amz-content-sha256 (here of the empty body).
empty_sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
curl -sS --fail-with-body -o /dev/null -X PUT \
  --aws-sigv4 "aws:amz:$CEPH_RGW_REGION:s3" \
  --user "$CEPH_RGW_ACCESS_KEY_ID:$CEPH_RGW_SECRET_ACCESS_KEY" \
  -H "x-amz-content-sha256: $empty_sha256" \
  "$CEPH_RGW_ENDPOINT/$BUCKET"
log "bucket $BUCKET created"

npx vitest run -c vitest.e2e.config.ts test/e2e/ceph.test.ts
