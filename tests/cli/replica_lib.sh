# replica_lib.sh - what the test-replica-*.sh tests share: their skips, the
# servers (nginx, Ceph RGW) and cleanup, a source volume written through its
# loop device, and the identities and exports that are compared. Source
# after lib.sh; it sources transport_lib.sh (jget) and servers/nginx.sh.
#
#   requires_replication    skip (77) without root, FUSE, loop devices or
#                           `ddloop publish` / `ddloop replica`
#   server_skip MSG         a missing server package: a skip, but a failure
#                           in CI (CI=true), where build.sh installs them
#   start_nginx / start_rgw set NGINX_URL, NGINX_WWW / AWS_* (once a script)
#   run NAME ARGS...        ddloop ARGS, output in $T/o/NAME.{out,err}; RC
#   src_write V MIB KIB     KIB KiB of random bytes at MIB MiB into the live
#                           volume V (attached, written, detached)
#   idents JSON             "name uuid fingerprint" per snapshot, oldest first
#   export_snap VOL S FILE  snapshot S of volume VOL as an image (seed+apply)
#   rc0_and CMD...          the last run exited 0 and CMD passes
#   untouched_sum R         what must not change when a sync is refused
#   unchanged R SUMFILE     ... has not changed since untouched_sum wrote SUMFILE
source "$HERE/transport_lib.sh"
source "$HERE/../servers/nginx.sh"
requires python3 curl sha256sum
mkdir -p "$T/o"
export XDG_STATE_HOME=$T/state  # publish locks and multipart records stay in $T
export DDLOOP_RUN_DIR=$T/run    # attachment records too
unset AWS_SESSION_TOKEN AWS_DEFAULT_REGION
RGW_DIR=

requires_replication() {
  [ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (volume attach: loop devices, FUSE)"; exit 77; }
  [ -c /dev/fuse ] || { echo "SKIP: /dev/fuse is missing (FUSE not available here)"; exit 77; }
  [ -c /dev/loop-control ] || { echo "SKIP: /dev/loop-control is missing (no loop devices)"; exit 77; }
  local help
  help=$("$DDLOOP" --help 2>/dev/null)
  if ! grep -qE '^ +publish ' <<<"$help" || ! grep -qE '^ +replica ' <<<"$help"; then
    echo "SKIP: this ddloop has no publish and replica subcommands"
    exit 77
  fi
}

server_skip() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL: $1 (in CI build.sh installs it: a skip would hide the test)"
    exit 1
  fi
  echo "SKIP: $1"
  exit 77
}

replica_cleanup() {
  local pid
  for pid in $(jobs -p); do [ "$pid" = "${NGINX_PID:-}" ] || kill "$pid" 2>/dev/null; done
  "$DDLOOP" detach --all --force -q >/dev/null 2>&1
  nginx_stop
  [ -z "$RGW_DIR" ] || bash "$HERE/../servers/rgw.sh" stop "$RGW_DIR" >/dev/null 2>&1 || true
  if [ "$FAILED" -ne 0 ]; then
    KEEP=$(mktemp -d "${TMPDIR:-/tmp}/ddloop-replica-logs.XXXXXX")
    cp -r "$T/o" "$KEEP"/ 2>/dev/null
    cp "$T"/ng/*.log "$KEEP"/ 2>/dev/null
    [ -z "$RGW_DIR" ] || cp -r "$RGW_DIR/log" "$KEEP"/rgw-log 2>/dev/null
    echo "command outputs and server logs kept in $KEEP"
  fi
  rm -rf "$T"
}
trap replica_cleanup EXIT

start_nginx() {
  local rc=0
  nginx_start "$T/ng" "${1:-}" 2>"$T/o/nginx-start.err" || rc=$?
  [ "$rc" -ne 77 ] || server_skip "nginx is not installed (apt-get install nginx-light)"
  [ "$rc" -eq 0 ] || { echo "FAIL: nginx did not start: $(cat "$T/o/nginx-start.err")"; exit 1; }
  NGINX_WWW=$T/ng/www
}

start_rgw() {
  local rc=0
  RGW_DIR=$T/rgw
  bash "$HERE/../servers/rgw.sh" start "$RGW_DIR" >"$T/o/rgw-start.out" 2>"$T/o/rgw-start.err" || rc=$?
  [ "$rc" -ne 77 ] || server_skip "$(head -1 "$T/o/rgw-start.err" | sed 's/^SKIP: //')"
  [ "$rc" -eq 0 ] || { echo "FAIL: the S3 server did not start:"; cat "$T/o/rgw-start.err"; exit 1; }
  # shellcheck disable=SC1091
  source "$RGW_DIR/env"
}

# mkbucket NAME: an S3 bucket on the RGW.
mkbucket() {
  local code
  code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
    "$AWS_ENDPOINT_URL/$1")
  [ "$code" = 200 ] || { echo "FAIL: could not create bucket $1 (HTTP $code)"; exit 1; }
}

run() {
  local name=$1
  shift
  RC=0
  "$DDLOOP" "$@" >"$T/o/$name.out" 2>"$T/o/$name.err" || RC=$?
}

rc0_and() { [ "$RC" -eq 0 ] && "$@"; }  # the last run exited 0 and COMMAND passes

# ran_ok NAME: the last run exited 0 (else its stderr is shown).
ran_ok() {
  [ "$RC" -eq 0 ] && return 0
  echo "  ($1: exit $RC: $(head -c 400 "$T/o/$1.err"))"
  return 1
}

src_write() {
  local dev
  dev=$("$DDLOOP" volume attach "$1") || { not_ok "volume attach $1"; return 1; }
  head -c $(($3 << 10)) /dev/urandom | dd of="$dev" bs=64K seek=$(($2 << 4)) conv=fsync status=none
  "$DDLOOP" detach -q "$dev" || not_ok "detach $dev"
}

idents() {
  python3 -c 'import json, sys
for s in json.load(open(sys.argv[1]))["snapshots"]: print(s["name"], s["uuid"], s["fingerprint"])' "$1"
}

# src_idents V FILE / replica_idents R FILE: the identities, into FILE.
src_idents() { "$DDLOOP" snapshot list "$1" --json >"$T/o/list.json" && idents "$T/o/list.json" >"$2"; }
replica_idents() { "$DDLOOP" replica list "$1" --json >"$T/o/list.json" && idents "$T/o/list.json" >"$2"; }

# newest_fp JSON-FILE: the fingerprint of the newest snapshot in a list.
newest_fp() { idents "$1" | tail -1 | cut -d' ' -f3; }

export_snap() {
  rm -f "$3" "$3.ddl"
  "$DDLOOP" volume delta "$1" --to "$2" -o "$3.ddl" -q && "$DDLOOP" apply "$3.ddl" "$3" -q && rm -f "$3.ddl" "$3.ddloop-state"
}

# same_all FILE...: all the files have the same bytes.
same_all() {
  local f
  for f in "${@:2}"; do same "$1" "$f" || return 1; done
}

# same_export VOL-A VOL-B SNAP: snapshot SNAP exports to the same bytes from both volumes.
same_export() {
  export_snap "$1" "$3" "$T/xa.img" && export_snap "$2" "$3" "$T/xb.img" && same "$T/xa.img" "$T/xb.img"
  local rc=$?
  rm -f "$T/xa.img" "$T/xb.img"
  return $rc
}

# (the list; every volume file's name, size, mtime and inode, since a write
# moves the mtime; the metadata files' bytes too: the data files are sparse,
# as large as the volume, and too slow to hash)
# unchanged R SUMFILE: R's untouched_sum is still SUMFILE (else the difference is shown).
unchanged() {
  untouched_sum "$1" >"$T/o/sum-now"
  cmp -s "$2" "$T/o/sum-now" && return 0
  if diff "$2" "$T/o/sum-now" | grep '^[<>]' | grep -qv '\.jnl'; then
    diff "$2" "$T/o/sum-now" | head -8 | sed 's/^/  /'
  else
    echo "  (only the head journal changed: $(diff "$2" "$T/o/sum-now" | grep '^>.* [0-9]* [0-9.]* [0-9]*$' |
      cut -c3- | cut -d' ' -f1,2 | tr '\n' ' ')bytes now: the command opened the volume read-write)"
  fi
  return 1
}
untouched_sum() {
  "$DDLOOP" replica list "$1" --json
  (cd "$1/volume" && find . -type f ! -name lock -printf '%P %s %T@ %i\n' | sort &&
    find . -type f ! -name '*.data' ! -name base ! -name lock -print0 | sort -z | xargs -0 -r sha256sum)
}
