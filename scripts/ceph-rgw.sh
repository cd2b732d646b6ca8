#!/usr/bin/env bash
# Started by scripts/test-ceph.sh (and the bench, when `radosgw` is installed).
# Minimal single-node Ceph (Pacific 16.2.x, Debian packages) + RADOS Gateway on loopback.
#
#   ceph-rgw.sh start DIR   # create (first time) or restart a cluster in DIR, print endpoint + keys
#   ceph-rgw.sh stop DIR    # stop the daemons started from DIR (by pid file, never by name)
#   ceph-rgw.sh status DIR  # ceph -s
#
# Packages: apt-get install --no-install-recommends radosgw ceph-mon ceph-osd ceph-common
# (no ceph-mgr: not needed for RADOS I/O or RGW).
#
# Layout: 1 mon (v2 127.0.0.1:18100, v1 :18101), 1 bluestore OSD on a sparse file
# (CEPH_RGW_OBJECTSTORE=memstore for a RAM-backed OSD), pool size 1, radosgw beast on
# 127.0.0.1:18180. OSD messengers bind inside 18110-18179. Nothing listens off loopback.
#
# Env overrides: CEPH_RGW_ACCESS_KEY, CEPH_RGW_SECRET_KEY, CEPH_RGW_PORT (18180),
#                CEPH_RGW_OBJECTSTORE (bluestore|memstore), CEPH_RGW_OSD_SIZE_GB (10)
set -euo pipefail

ACCESS_KEY=${CEPH_RGW_ACCESS_KEY:-GATEWAYTESTACCESSKEY}
SECRET_KEY=${CEPH_RGW_SECRET_KEY:-gatewaytestsecretkey0123456789abcdefghij}
RGW_PORT=${CEPH_RGW_PORT:-18180}
MON_V2_PORT=18100
MON_V1_PORT=18101
OBJECTSTORE=${CEPH_RGW_OBJECTSTORE:-bluestore}
OSD_SIZE_GB=${CEPH_RGW_OSD_SIZE_GB:-10}
RGW_UID=gateway-test

usage() { echo "usage: $0 {start|stop|status} DIR" >&2; exit 2; }
log() { echo "[ceph-rgw $(date +%T)] $*" >&2; }

[ $# -eq 2 ] || usage
CMD=$1
DIR=$(mkdir -p "$2" && cd "$2" && pwd)
CONF=$DIR/ceph.conf
CEPH=(timeout 60 ceph -c "$CONF" --connect-timeout 30)

for b in ceph ceph-mon ceph-osd radosgw radosgw-admin ceph-authtool monmaptool; do
  command -v "$b" >/dev/null || { echo "missing $b: apt-get install --no-install-recommends radosgw ceph-mon ceph-osd ceph-common" >&2; exit 1; }
done

write_conf() {
  local fsid=$1
  cat > "$CONF" <<EOF
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$MON_V2_PORT,v1:127.0.0.1:$MON_V1_PORT]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_port_min = 18110
ms_bind_port_max = 18179
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
keyring = $DIR/keyring
run_dir = $DIR/run
admin_socket = $DIR/run/\$name.asok
pid_file = $DIR/run/\$name.pid
log_file = $DIR/log/\$name.log
crash_dir = $DIR/crash
log_to_stderr = false
err_to_stderr = true
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
mon_data_avail_warn = 2
mon_data_avail_crit = 1

[mon]
mon_data = $DIR/mon.\$id
mon_cluster_log_file = $DIR/log/cluster.log
mon_allow_pool_delete = true
# commit map changes quickly (default 1s); speeds up start and first bucket/object
paxos_propose_interval = 0.1

[osd]
osd_data = $DIR/osd.\$id
keyring = $DIR/osd.\$id/keyring
osd_objectstore = $OBJECTSTORE
bluestore_block_create = true
bluestore_block_size = $((OSD_SIZE_GB * 1024 * 1024 * 1024))
bluestore_fsck_on_mount = false
memstore_device_bytes = $((OSD_SIZE_GB * 1024 * 1024 * 1024))
osd_memory_target = 1073741824
osd_max_object_size = 134217728

[client.rgw.a]
keyring = $DIR/rgw.a/keyring
rgw_data = $DIR/rgw.a
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw_dns_name = localhost
rgw_thread_pool_size = 128
EOF
}

pid_alive() { # pidfile -> true if the pid in it is a live process started with our conf
  local pf=$1 pid
  [ -s "$pf" ] || return 1
  pid=$(cat "$pf")
  [ -d "/proc/$pid" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$CONF"
}

wait_for() { # seconds description command...
  local t=$1 what=$2; shift 2
  local end=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || { log "timeout waiting for $what"; return 1; }
    sleep 0.5
  done
}

osd_up() { "${CEPH[@]}" osd dump 2>/dev/null | grep -qE '^osd\.0 up +in'; }
rgw_http() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RGW_PORT/" | grep -qE '^(200|403)$'; }

init_cluster() {
  local fsid uuid secret
  log "initialising new cluster in $DIR ($OBJECTSTORE OSD)"
  mkdir -p "$DIR"/{run,log,crash,mon.a,osd.0,rgw.a}
  fsid=$(uuidgen)
  write_conf "$fsid"
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$DIR/keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  monmaptool --create --clobber --fsid "$fsid" \
    --addv a "[v2:127.0.0.1:$MON_V2_PORT,v1:127.0.0.1:$MON_V1_PORT]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" --keyring "$DIR/keyring"
  start_mon
  uuid=$(uuidgen)
  secret=$(ceph-authtool --gen-print-key)
  printf '{"cephx_secret": "%s"}\n' "$secret" > "$DIR/osd.0/new.json"
  "${CEPH[@]}" osd new "$uuid" -i "$DIR/osd.0/new.json" >/dev/null
  printf '[osd.0]\n\tkey = %s\n' "$secret" > "$DIR/osd.0/keyring"
  ceph-osd -c "$CONF" -i 0 --mkfs --key "$secret" --osd-uuid "$uuid" > "$DIR/log/osd.0.mkfs.out" 2>&1 \
    || { cat "$DIR/log/osd.0.mkfs.out" >&2; return 1; }
  "${CEPH[@]}" auth get-or-create client.rgw.a \
    mon 'allow rw' osd 'allow rwx' mgr 'allow rw' -o "$DIR/rgw.a/keyring"
  touch "$DIR/.initialized"
}

start_mon() {
  pid_alive "$DIR/run/mon.a.pid" && return 0
  ceph-mon -c "$CONF" -i a
  wait_for 60 "mon quorum" "${CEPH[@]}" mon stat
}
start_osd() {
  pid_alive "$DIR/run/osd.0.pid" || ceph-osd -c "$CONF" -i 0
  wait_for 120 "osd.0 up" osd_up
}
start_rgw() {
  pid_alive "$DIR/run/client.rgw.a.pid" || radosgw -c "$CONF" -n client.rgw.a
  wait_for 180 "radosgw http on :$RGW_PORT" rgw_http
}
ensure_pools() { # pre-create the pools RGW would create lazily on the first bucket/object
  local p existing
  existing=$("${CEPH[@]}" osd pool ls)
  for p in default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
    grep -qx "$p" <<<"$existing" && continue
    "${CEPH[@]}" osd pool create "$p" 8 8 >/dev/null 2>&1
    "${CEPH[@]}" osd pool application enable "$p" rgw >/dev/null 2>&1
  done
}
ensure_user() {
  if ! radosgw-admin -c "$CONF" user info --uid="$RGW_UID" >/dev/null 2>&1; then
    radosgw-admin -c "$CONF" user create --uid="$RGW_UID" --display-name="Gateway test" \
      --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
  fi
}

case $CMD in
  start)
    t0=$(date +%s.%N)
    if [ ! -e "$DIR/.initialized" ]; then
      init_cluster
    else
      start_mon
    fi
    start_osd
    start_rgw
    ensure_user
    ensure_pools
    t1=$(date +%s.%N)
    cat <<EOF
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
S3_REGION=default
S3_ACCESS_KEY_ID=$ACCESS_KEY
S3_SECRET_ACCESS_KEY=$SECRET_KEY
S3_FORCE_PATH_STYLE=true
CEPH_CONF=$CONF
STARTUP_SECONDS=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
EOF
    ;;
  stop)
    for name in client.rgw.a osd.0 mon.a; do
      pf=$DIR/run/$name.pid
      if pid_alive "$pf"; then
        pid=$(cat "$pf")
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 60); do [ -d "/proc/$pid" ] || break; sleep 0.5; done
        if [ -d "/proc/$pid" ]; then log "$name did not exit, SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
      fi
      rm -f "$pf"
    done
    ;;
  status)
    "${CEPH[@]}" -s
    ;;
  *) usage ;;
esac
