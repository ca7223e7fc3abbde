#!/bin/bash
# bench-replica.sh - replication end to end against the same steps done by
# hand with the primitives, in one run, on loopback:
#   replication: ddloop publish VOL s3://RGW -> replica sync R1 (pull, apply,
#                seal, forward to nginx) -> replica sync R2 (from nginx)
#   by hand:     volume delta VOL; push to RGW; pull; apply onto an image;
#                push the pulled delta to nginx; pull; apply onto an image
# per snapshot, each snapshot changing --change (default 5%) of a --size
# (default 1G) volume in 64 KiB random writes (random data). Then:
#   - an idle `replica sync R2` against the unchanged repository: requests
#     seen by nginx (goal 1 conditional GET, 0 listings) and wall time (goal
#     <= 50 ms, median of 9);
#   - --replicas (default 64) replicas of one nginx repository (a small
#     32 MiB volume of its own) syncing at once: a new snapshot, then an idle
#     round; all must succeed; requests and wall time of each round.
#
#   tests/bench/bench-replica.sh [--size 1G] [--change 0.05] [--snapshots 3]
#       [--replicas 64] [--no-rgw] [--ddloop PATH] [--workdir DIR]
#       [--no-append] [--results FILE] [--keep]
#
# Needs root (the source volume is written through `ddloop volume attach`:
# FUSE and a loop device), nginx, and for RGW ceph-mon ceph-osd radosgw
# (tests/servers/rgw.sh; --no-rgw or a failed start: the first hop goes to a
# second nginx path instead, and the report says so). About 4x --size of
# disk. Not part of ctest. Appends a Markdown section to RESULTS.md (fill in
# "What limits the figures" by hand).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SIZE=1G CHANGE=0.05 NSNAP=3 NREP=64 RGW=yes APPEND=yes KEEP=no
DDLOOP=$ROOT/build/ddloop/ddloop
WORK=$HERE/work
RESULTS=$HERE/RESULTS.md
while [ $# -gt 0 ]; do
  case $1 in
    --size) SIZE=$2; shift ;;
    --change) CHANGE=$2; shift ;;
    --snapshots) NSNAP=$2; shift ;;
    --replicas) NREP=$2; shift ;;
    --no-rgw) RGW=no ;;
    --ddloop) DDLOOP=$2; shift ;;
    --workdir) WORK=$2; shift ;;
    --no-append) APPEND=no ;;
    --results) RESULTS=$2; shift ;;
    --keep) KEEP=yes ;;
    -h|--help) sed -n 2,26p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || { echo "bench-replica.sh: needs root (volume attach)" >&2; exit 1; }
log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "$*"; exit 1; }

W=$WORK/run-$$
mkdir -p "$W"
cp "$DDLOOP" "$W/ddloop"  # a private copy: a rebuild during the run does not disturb it
D=$W/ddloop
export DDLOOP_RUN_DIR=$W/run XDG_STATE_HOME=$W/state
source "$ROOT/tests/servers/nginx.sh"
RGW_DIR=
cleanup() {
  "$D" detach --all --force -q 2>/dev/null
  nginx_stop || true
  [ -n "$RGW_DIR" ] && bash "$ROOT/tests/servers/rgw.sh" stop "$RGW_DIR" >/dev/null 2>&1 || true
  [ $KEEP = yes ] || rm -rf "$W"
}
trap cleanup EXIT
cd "$W"
BYTES=$(python3 -c "import sys; s=sys.argv[1]; m={'K':1<<10,'M':1<<20,'G':1<<30}; print(int(s[:-1])*m[s[-1]] if s[-1] in m else int(s))" "$SIZE")

now() { date +%s%N; }
# t VAR COMMAND...: runs COMMAND (failing the bench if it fails) and adds its
# wall time in ms to VAR.
t() {
  local var=$1 t0 rc; shift
  t0=$(now)
  "$@" >"$W/cmd.out" 2>"$W/cmd.err"; rc=$?
  [ $rc -eq 0 ] || die "$* failed (exit $rc): $(head -c 400 "$W/cmd.err")"
  eval "$var=\$((\${$var:-0} + ($(now) - t0) / 1000000))"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# write_changes DEV SEED FRACTION: random 64 KiB writes of random data over
# FRACTION of the device (distinct offsets), then fsync.
write_changes() {
  python3 - "$@" <<'EOF'
import os, random, sys
dev, seed, frac = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
size = os.path.getsize(dev) if not dev.startswith("/dev/") else int(open("/sys/class/block/%s/size" % os.path.basename(dev)).read()) * 512
n = size // 65536
rng = random.Random(seed)
fd = os.open(dev, os.O_WRONLY)
for blk in rng.sample(range(n), int(n * frac)):
    os.pwrite(fd, os.urandom(65536), blk * 65536)
os.fsync(fd)
os.close(fd)
EOF
}

log "nginx"
nginx_start "$W/ng" >/dev/null || die "nginx did not start"
UP_KIND=nginx UP=$NGINX_URL/up/ UP_MANUAL=$NGINX_URL/up-manual/
if [ $RGW = yes ]; then
  log "Ceph RGW (10-30 s)"
  RGW_DIR=$W/rgw
  if bash "$ROOT/tests/servers/rgw.sh" start "$RGW_DIR" >/dev/null 2>"$W/rgw.err"; then
    source "$RGW_DIR/env"
    export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_ENDPOINT_URL
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
      --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
      "$AWS_ENDPOINT_URL/bench")
    [ "$code" = 200 ] || die "cannot create the bucket (HTTP $code)"
    UP_KIND="Ceph RGW (memstore)" UP=s3://bench/up UP_MANUAL=s3://bench/manual
  else
    log "RGW did not start ($(tail -1 "$W/rgw.err")); the first hop goes to nginx"
    RGW_DIR=
  fi
fi
DOWN=$NGINX_URL/down/ DOWN_MANUAL=$NGINX_URL/down-manual/
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

log "source volume of $SIZE"
V=$W/vol
"$D" volume create "$V" --size "$SIZE" -q || die "volume create"
dev=$("$D" volume attach "$V") || die "volume attach"
# s0: 60% of the volume random, 20% text-like (compressible).
dd if=/dev/urandom of="$dev" bs=1M count=$((BYTES * 6 / 10 >> 20)) oflag=direct status=none
yes "replica bench volume snapshot chunk $RANDOM" | head -c $((BYTES / 5)) |
  dd of="$dev" bs=1M seek=$((BYTES * 7 / 10 >> 20)) oflag=direct iflag=fullblock status=none
sync
"$D" snapshot create "$V" s0 -q || die "snapshot s0"
for i in $(seq 1 "$NSNAP"); do
  write_changes "$dev" "$i" "$CHANGE"
  "$D" snapshot create "$V" "s$i" -q || die "snapshot s$i"
done
"$D" detach -q "$dev" || die "detach the source"

log "seeding both paths (not timed)"
"$D" publish "$V" "$UP" --snapshot s0 -q || die "publish s0"
"$D" replica init r1 --from "$UP" --forward "$DOWN" --id r1 -q || die "replica init r1"
"$D" replica sync r1 -q || die "replica sync r1 (seed)"
"$D" replica init r2 --from "$DOWN" --id r2 -q || die "replica init r2"
"$D" replica sync r2 -q || die "replica sync r2 (seed)"
mkdir -p m in1 in2
"$D" volume delta "$V" --to s0 -o m/s0.ddl -q || die "volume delta s0"
"$D" push m/s0.ddl "$UP_MANUAL" -q && "$D" pull "$UP_MANUAL" in1 -q && "$D" apply in1/s0.ddl img1 -q &&
  "$D" push in1/s0.ddl "$DOWN_MANUAL" -q && "$D" pull "$DOWN_MANUAL" in2 -q && "$D" apply in2/s0.ddl img2 -q ||
  die "manual seed"

ROWS=() REPL=() MANUAL=()
for i in $(seq 1 "$NSNAP"); do
  log "snapshot s$i: replication, then by hand"
  pub=0 r1=0 r2=0
  t pub "$D" publish "$V" "$UP" --snapshot "s$i" -q
  t r1 "$D" replica sync r1 -q
  t r2 "$D" replica sync r2 -q
  md=0 mpush=0 mpull1=0 mapply1=0 mpush2=0 mpull2=0 mapply2=0
  t md "$D" volume delta "$V" --from "s$((i - 1))" --to "s$i" -o "m/s$i.ddl" -q
  t mpush "$D" push "m/s$i.ddl" "$UP_MANUAL" -q
  t mpull1 "$D" pull "$UP_MANUAL" in1 -q
  t mapply1 "$D" apply "in1/s$i.ddl" img1 -q
  t mpush2 "$D" push "in1/s$i.ddl" "$DOWN_MANUAL" -q
  t mpull2 "$D" pull "$DOWN_MANUAL" in2 -q
  t mapply2 "$D" apply "in2/s$i.ddl" img2 -q
  repl=$((pub + r1 + r2)) man=$((md + mpush + mpull1 + mapply1 + mpush2 + mpull2 + mapply2))
  REPL+=("$repl") MANUAL+=("$man")
  dsize=$(stat -c %s "m/s$i.ddl")
  ROWS+=("| s$i | $((dsize >> 20)) | $pub | $r1 | $r2 | **$repl** | $md + $mpush | $mpull1 + $mapply1 + $mpush2 | $mpull2 + $mapply2 | **$man** | $(python3 -c "print('%.2f' % ($repl / $man))")× |")
  log "${ROWS[-1]}"
done
# The last snapshot, exported from R2 and from the source, must agree.
"$D" volume delta r2/volume --to "s$NSNAP" -o x2.ddl -q && "$D" apply x2.ddl x2.img -q || die "export from r2"
cmp -s x2.img img2 || die "R2's s$NSNAP differs from the one applied by hand"
rm -f x2.img x2.ddl
RATIO=$(python3 -c "import sys; a=sorted(map(int,sys.argv[1].split())); b=sorted(map(int,sys.argv[2].split())); print('%.2f' % (a[len(a)//2] / b[len(b)//2]))" "${REPL[*]}" "${MANUAL[*]}")

log "idle sync of r2"
IDLE_T=() IDLE_REQ=() IDLE_LIST=()
for k in $(seq 9); do
  n0=$(wc -l <"$W/ng/access.log")
  t0=$(now)
  "$D" replica sync r2 -q || die "idle sync"
  IDLE_T+=($((($(now) - t0) / 1000000)))
  sleep 0.2  # nginx writes its log line after the response
  tail -n +$((n0 + 1)) "$W/ng/access.log" >idle.log
  IDLE_REQ+=("$(wc -l <idle.log)")
  IDLE_LIST+=("$(grep -c '"GET [^ ]*/ HTTP' idle.log)")
done
# What starting the binary costs, for comparison.
BASE_T=()
for k in $(seq 9); do t0=$(now); "$D" --version >/dev/null; BASE_T+=($((($(now) - t0) / 1000000))); done
IDLE_SAMPLE=$(awk '{print $6, $7, $9}' idle.log | tr -d '"' | paste -sd';')

log "$NREP replicas of one repository"
SV=$W/small
"$D" volume create "$SV" --size 32M -q || die "small volume"
sdev=$("$D" volume attach "$SV") || die "attach the small volume"
write_changes "$sdev" 100 0.5
"$D" snapshot create "$SV" a -q
"$D" detach -q "$sdev"
STAR=$NGINX_URL/star/
"$D" publish "$SV" "$STAR" -q || die "publish the small volume"
for k in $(seq "$NREP"); do "$D" replica init "star$k" --from "$STAR" --id "star$k" -q || die "init star$k"; done
sdev=$("$D" volume attach "$SV") || die "attach the small volume"
write_changes "$sdev" 101 0.05
"$D" snapshot create "$SV" b -q
"$D" detach -q "$sdev"
# star_round NAME: all replicas sync at once; sets STAR_MS, STAR_REQ, STAR_FAIL.
star_round() {
  local n0 t0 k
  n0=$(wc -l <"$W/ng/access.log")
  t0=$(now)
  for k in $(seq "$NREP"); do "$D" replica sync "star$k" -q 2>"star$k.err" & done
  STAR_FAIL=0
  for k in $(seq "$NREP"); do wait -n || STAR_FAIL=$((STAR_FAIL + 1)); done
  STAR_MS=$((($(now) - t0) / 1000000))
  sleep 0.3
  STAR_REQ=$(tail -n +$((n0 + 1)) "$W/ng/access.log" | wc -l)
  STAR_LIST=$(tail -n +$((n0 + 1)) "$W/ng/access.log" | grep -c '"GET [^ ]*/ HTTP')
}
star_round; S1="$STAR_MS $STAR_REQ $STAR_LIST $STAR_FAIL"  # the seed (a, 16 MiB)
"$D" publish "$SV" "$STAR" -q || die "publish b"
star_round; S2="$STAR_MS $STAR_REQ $STAR_LIST $STAR_FAIL"
star_round; S3="$STAR_MS $STAR_REQ $STAR_LIST $STAR_FAIL"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

star_row() { local label=$1; set -- $2; echo "| $label | $NREP | $((NREP - $4)) | $1 ms | $2 | $3 |"; }
VERSION=$("$D" --version 2>/dev/null | head -1)
REPORT=$(cat <<EOF

## bench-replica.sh, $(date -u +%Y-%m-%d) ($(date -u +%H:%M) UTC)

Command: \`tests/bench/bench-replica.sh --size $SIZE --change $CHANGE --snapshots $NSNAP --replicas $NREP\`
on $(nproc) cores, load average $LOAD_BEFORE before, $LOAD_AFTER after; loopback only; $VERSION.
First hop: $UP_KIND; second hop: nginx (tests/servers/nginx.sh, WebDAV). Source: a $SIZE ddloop volume
(s0: 60% random, 20% text), each later snapshot $CHANGE of it rewritten in 64 KiB random writes of random
data; every delta is about $(python3 -c "print(int($BYTES * $CHANGE) >> 20)") MiB.

Per snapshot, wall ms. Replication: \`publish\` to the first hop, \`replica sync R1\` (pull, apply into
its volume, seal, forward: regenerate the delta from R1's snapshots and upload it to nginx), \`replica
sync R2\`. By hand: \`volume delta\` + \`push\`; \`pull\` + \`apply\` onto an image + \`push\` of the
pulled file to nginx; \`pull\` + \`apply\`. Ratio = replication / by hand (goal ≤ 1.10).

| snapshot | delta MiB | publish | sync R1 | sync R2 | replication | delta + push | pull + apply + push | pull + apply | by hand | ratio |
|---|---|---|---|---|---|---|---|---|---|---|
$(printf '%s\n' "${ROWS[@]}")

Median ratio: **${RATIO}×**. R2's last snapshot, exported, equals the image applied by hand.

Idle \`replica sync R2\` (nothing published since), 9 runs: wall ms $(printf '%s,' "${IDLE_T[@]}" | sed 's/,$//')
(median **$(median "${IDLE_T[@]}") ms**, goal ≤ 50; \`ddloop --version\` alone: median $(median "${BASE_T[@]}") ms); requests at nginx per run $(printf '%s,' "${IDLE_REQ[@]}" | sed 's/,$//')
(goal 1), of them listings $(printf '%s,' "${IDLE_LIST[@]}" | sed 's/,$//') (goal 0); the last run's requests:
\`$IDLE_SAMPLE\`.

$NREP replicas of one nginx repository (a 32 MiB volume), all syncing at once:

| round | replicas | succeeded | wall | requests at nginx | of them listings |
|---|---|---|---|---|---|
$(star_row "seed (16 MiB)" "$S1")
$(star_row "one new snapshot (1.6 MiB)" "$S2")
$(star_row "idle" "$S3")

### What limits the figures

(fill in by hand)
EOF
)
echo "$REPORT"
[ $APPEND = yes ] && echo "$REPORT" >>"$RESULTS" && log "appended to $RESULTS"
exit 0
