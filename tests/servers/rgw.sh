#!/bin/bash
# rgw.sh - a throwaway Ceph RADOS Gateway (S3) on 127.0.0.1, for tests.
#
#   tests/servers/rgw.sh start DIR        start mon + one memstore OSD + radosgw
#   tests/servers/rgw.sh stop DIR         stop them (radosgw, OSD, monitor)
#   tests/servers/rgw.sh restart-rgw DIR  stop and start radosgw only (same port)
#   tests/servers/rgw.sh stop-rgw DIR [--kill]  stop radosgw only (SIGTERM, or
#                                         SIGKILL at once with --kill)
#   tests/servers/rgw.sh start-rgw DIR    start radosgw again after stop-rgw
#   tests/servers/rgw.sh status DIR       exit 0 when all three are running
#
# Everything lives under DIR: ceph.conf, keyring, monitor store, OSD data dir,
# logs (DIR/log/*.log), admin sockets and pid files (DIR/run); nothing is
# read from or written to /etc/ceph or /var. Every daemon listens on
# 127.0.0.1 only, on free ports picked at start. Auth between the daemons is
# off ("none"); radosgw still checks S3 signatures (SigV2/SigV4) against the
# user "ddloop-test" created with random keys. Objects live in memory
# (memstore), so a stop loses them, but restart-rgw keeps them.
#
# start writes DIR/env, meant to be sourced:
#   AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION (us-east-1)
#   AWS_ENDPOINT_URL=http://127.0.0.1:PORT (path-style S3)
#   RGW_PIDS="MON OSD RGW"  and  CEPH_CONF=DIR/ceph.conf
# and prints the endpoint URL on stdout. It takes ~10-30 s. A start on a DIR
# whose cluster still runs prints the endpoint again and does nothing else;
# a start on a DIR left by a dead cluster wipes it first. A failed start
# stops whatever it had started, prints the log tails on stderr and exits 1.
#
# radosgw keeps nothing of its own (all state is in RADOS), so stop-rgw
# --kill is a clean way to cut transfers mid-request; a SIGTERM lets it
# drain for ~6 s first.
#
# stop sends SIGTERM and waits up to 15 s per daemon, then SIGKILL. radosgw
# goes first: it ignores SIGTERM once the monitor is gone. Only processes
# whose command line names DIR are signalled. stop on a stopped DIR is a
# no-op.
#
# Needs: apt-get install --no-install-recommends ceph-mon ceph-osd radosgw
# (plus python3 and curl). Exit 77 when they are missing, like the tests.
set -euo pipefail

usage() { echo "usage: $0 start|stop|restart-rgw|start-rgw|status DIR, or $0 stop-rgw DIR [--kill]" >&2; exit 2; }
[ $# -eq 2 ] || { [ $# -eq 3 ] && [ "$1" = stop-rgw ] && [ "$3" = --kill ]; } || usage
CMD=$1
if [ "$CMD" = start ]; then
  mkdir -p "$2"
elif [ ! -d "$2" ]; then
  [ "$CMD" = stop ] && exit 0
  echo "rgw.sh: $2: no such directory" >&2
  exit 1
fi
D=$(cd "$2" && pwd)
CONF=$D/ceph.conf
export CEPH_CONF=$CONF
CEPH=(ceph --conf "$CONF" --connect-timeout 15)

log() { echo "rgw.sh: $*" >&2; }

need_tools() {
  local t
  for t in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph uuidgen python3 curl; do
    if ! command -v "$t" >/dev/null 2>&1; then
      echo "SKIP: $t is not installed (apt-get install --no-install-recommends ceph-mon ceph-osd radosgw)" >&2
      exit 77
    fi
  done
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The pid recorded in DIR/run/NAME.pid, if that process still runs and its
# command line names DIR (so a recycled pid is never signalled).
live_pid() {
  local f=$D/run/$1.pid pid
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$D/" || return 1
  echo "$pid"
}

# alive PID: running and not a zombie (a daemon we spawned and that died
# stays a zombie until this script exits).
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# stop_daemon NAME [SIGNAL]: SIGTERM (or SIGNAL), wait up to 15 s, then
# SIGKILL and wait.
stop_daemon() {
  local pid i
  pid=$(live_pid "$1") || { rm -f "$D/run/$1.pid"; return 0; }
  kill -"${2:-TERM}" "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    log "$1 (pid $pid) ignored SIG${2:-TERM} for 15 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
  fi
  if alive "$pid"; then
    log "$1 (pid $pid) is still running"
    return 1
  fi
  rm -f "$D/run/$1.pid"
}

stop_all() {
  local rc=0
  stop_daemon rgw || rc=1
  stop_daemon osd || rc=1
  stop_daemon mon || rc=1
  return $rc
}

# spawn NAME COMMAND...: run a daemon in the foreground (-f) as a background
# child, its output in DIR/log/NAME.out. It stays in the caller's process
# group, so a test runner that kills the group on timeout takes it along.
spawn() {
  local name=$1; shift
  "$@" >"$D/log/$name.out" 2>&1 </dev/null &
  echo $! >"$D/run/$name.pid"
}

# wait_for SECONDS DAEMON WHAT COMMAND...: poll until the command succeeds;
# give up early if DAEMON (mon, osd, rgw) has died.
wait_for() {
  local secs=$1 daemon=$2 what=$3 i; shift 3
  for ((i = 0; i < secs * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! live_pid "$daemon" >/dev/null; then
      log "$daemon exited while waiting for $what"
      return 1
    fi
    sleep 0.2
  done
  log "timed out after ${secs}s waiting for $what"
  return 1
}

dump_logs() {
  local f
  for f in "$D"/log/*; do
    [ -s "$f" ] || continue
    echo "---- $f (last 15 lines)" >&2
    tail -n 15 "$f" >&2
  done
}

write_env() {
  local pids
  pids="$(live_pid mon || echo 0) $(live_pid osd || echo 0) $(live_pid rgw || echo 0)"
  cat >"$D/env.tmp" <<EOF
export AWS_ACCESS_KEY_ID=$ACCESS
export AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$RGW_PORT
export RGW_PIDS="$pids"
export CEPH_CONF=$CONF
EOF
  mv "$D/env.tmp" "$D/env"
}

rgw_up() {  # any HTTP answer on the port (an anonymous GET / is a 200)
  curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$RGW_PORT/"
}

start_rgw() {
  spawn rgw radosgw -f -c "$CONF" -n client.rgw \
    --rgw-frontends "beast endpoint=127.0.0.1:$RGW_PORT"
  wait_for 60 rgw "radosgw on port $RGW_PORT" rgw_up
}

osd_up() { "${CEPH[@]}" osd dump 2>/dev/null | grep -q '^osd.0 up'; }

all_running() { live_pid mon >/dev/null && live_pid osd >/dev/null && live_pid rgw >/dev/null; }

start() {
  if [ -s "$D/env" ] && all_running; then
    # shellcheck disable=SC1091
    (source "$D/env" && echo "$AWS_ENDPOINT_URL")
    return 0
  fi
  stop_all || true
  rm -rf "$D/mon" "$D/osd" "$D/rgw" "$D/log" "$D/run" "$D/crash" "$D/env" "$D/ceph.conf" "$D/monmap"
  mkdir -p "$D/mon" "$D/osd/ceph-0" "$D/rgw" "$D/log" "$D/run" "$D/crash"
  trap 'rc=$?; if [ $rc -ne 0 ]; then log "start failed; logs under $D/log"; dump_logs; stop_all || true; fi' EXIT

  local fsid mon_port osd_uuid
  fsid=$(uuidgen)
  osd_uuid=$(uuidgen)
  mon_port=$(free_port)
  RGW_PORT=$(free_port)
  ACCESS=$(python3 -c 'import secrets, string; print("".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(20)))')
  SECRET=$(python3 -c 'import secrets, string; print("".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40)))')

  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
public addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = false
# radosgw asks for "secure" monitor connections, which auth none cannot give.
ms mon client mode = crc secure
mon data avail warn = 2
mon data avail crit = 1
keyring = $D/keyring
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
crash dir = $D/crash
log to stderr = false
err to stderr = true
mon cluster log file = $D/log/cluster.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd crush chooseleaf type = 0

[mon]
mon data = $D/mon/\$cluster-\$id
mon initial members = a

[osd]
osd data = $D/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = ${RGW_MEMSTORE_BYTES:-4294967296}
osd crush update on start = false
osd class update on start = false
osd memory target = 1073741824
osd op num shards = 1
osd op num threads per shard = 2

[client.rgw]
rgw data = $D/rgw
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw dns name =
rgw enable usage log = false
rgw thread pool size = 64
rgw max chunk size = 4194304
EOF
  : >"$D/keyring"

  # Monitor.
  monmaptool --create --clobber --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$D/monmap" >/dev/null
  ceph-mon --conf "$CONF" --mkfs -i a --monmap "$D/monmap" >"$D/log/mon-mkfs.out" 2>&1
  spawn mon ceph-mon -f --conf "$CONF" -i a
  wait_for 30 mon "the monitor" "${CEPH[@]}" mon stat

  # OSD: registered and placed in the crush map before it starts.
  local id
  id=$("${CEPH[@]}" osd new "$osd_uuid")
  [ "$id" = 0 ] || { log "osd new gave id '$id', wanted 0"; return 1; }
  "${CEPH[@]}" osd crush add-bucket host0 host >/dev/null 2>&1
  "${CEPH[@]}" osd crush move host0 root=default >/dev/null 2>&1
  "${CEPH[@]}" osd crush add osd.0 1.0 host=host0 root=default >/dev/null 2>&1
  ceph-osd --conf "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$D/log/osd-mkfs.out" 2>&1
  spawn osd ceph-osd -f --conf "$CONF" -i 0
  wait_for 60 osd "the OSD to come up" osd_up

  # radosgw, then the S3 user (radosgw-admin talks to RADOS directly).
  start_rgw
  radosgw-admin --conf "$CONF" -n client.admin user create --uid=ddloop-test \
    --display-name="ddloop test" --access-key="$ACCESS" --secret-key="$SECRET" \
    >"$D/log/user-create.out" 2>&1
  write_env
  trap - EXIT
  echo "http://127.0.0.1:$RGW_PORT"
}

load_env() {
  [ -s "$D/env" ] || { log "$D/env is missing: no server started there"; exit 1; }
  RGW_PORT=$(sed -n 's|.*AWS_ENDPOINT_URL=http://127.0.0.1:||p' "$D/env")
  ACCESS=$(sed -n 's|.*AWS_ACCESS_KEY_ID=||p' "$D/env")
  SECRET=$(sed -n 's|.*AWS_SECRET_ACCESS_KEY=||p' "$D/env")
}

case "$CMD" in
  start)
    need_tools
    start
    ;;
  stop)
    stop_all
    if [ -s "$D/env" ]; then load_env && write_env; fi
    ;;
  restart-rgw|start-rgw)
    need_tools
    load_env
    if ! live_pid mon >/dev/null || ! live_pid osd >/dev/null; then
      log "the monitor or OSD is not running in $D"
      exit 1
    fi
    if [ "$CMD" = start-rgw ] && live_pid rgw >/dev/null; then exit 0; fi
    stop_daemon rgw
    start_rgw || { dump_logs; stop_daemon rgw || true; exit 1; }
    write_env
    ;;
  stop-rgw)
    load_env
    if [ "${3:-}" = --kill ]; then stop_daemon rgw KILL; else stop_daemon rgw; fi
    write_env
    ;;
  status)
    all_running
    ;;
  *)
    usage
    ;;
esac
