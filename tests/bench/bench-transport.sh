#!/bin/bash
# bench-transport.sh - `ddloop push` / `ddloop pull` of one big deltafile
# against `curl -T` / `curl -o` of the same file, in the same run, on
# loopback: nginx (WebDAV PUT, tests/servers/nginx.sh) and, when
# tests/servers/rgw.sh can start one, Ceph RGW (S3, SigV4).
#
#   tests/bench/bench-transport.sh [--size 1024] [--repeat 3] [--no-rgw]
#       [--ddloop PATH] [--workdir DIR] [--no-append] [--results FILE]
#
# --size is the image size in MiB; the deltafile is a seed of random data
# stored uncompressed (--level 0), so it is about as big. Figures are MB/s
# (10^6 bytes) of the deltafile's size over wall time, median of --repeat.
# ddloop's pull time includes what curl does not do: the whole-file xxh64
# against the catalog, the full `ddloop verify` of the download, fsync and
# rename; its push time includes reading the file once for the checksum.
# Appends a Markdown section to RESULTS.md (fill in "What limits the
# figures" by hand).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SIZE=1024 REPEAT=3 RGW=yes APPEND=yes
DDLOOP=$ROOT/build/ddloop/ddloop
WORK=$HERE/work
RESULTS=$HERE/RESULTS.md
while [ $# -gt 0 ]; do
  case $1 in
    --size) SIZE=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --no-rgw) RGW=no ;;
    --ddloop) DDLOOP=$2; shift ;;
    --workdir) WORK=$2; shift ;;
    --no-append) APPEND=no ;;
    --results) RESULTS=$2; shift ;;
    -h|--help) sed -n 2,18p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

W=$WORK/run-$$
mkdir -p "$W"
cp "$DDLOOP" "$W/ddloop"  # a private copy: a rebuild during the run does not disturb it
D=$W/ddloop
source "$ROOT/tests/servers/nginx.sh"
RGW_DIR=
cleanup() {
  nginx_stop || true
  [ -n "$RGW_DIR" ] && bash "$ROOT/tests/servers/rgw.sh" stop "$RGW_DIR" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT

echo "== making a ${SIZE} MiB deltafile" >&2
cd "$W"
head -c "${SIZE}M" /dev/urandom > img
"$D" create img -o big.delta --level 0 -q
rm -f img
BYTES=$(stat -c %s big.delta)
cat big.delta > /dev/null
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

now() { date +%s.%N; }
# timed VAR COMMAND...: appends the wall time of COMMAND to the array VAR.
timed() {
  local var=$1 t0 t1; shift
  t0=$(now)
  "$@"
  t1=$(now)
  eval "$var+=($(echo "$t1 - $t0" | bc -l))"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mbs() { echo "scale=0; $BYTES / 1000000 / $1" | bc -l; }
secs() { printf '%.2f\n' "$@" | paste -sd, -; }
ROWS=()
# row TARGET OP CURL_TIMES DDLOOP_TIMES
row() {
  local c d
  c=$(median $3) d=$(median $4)
  ROWS+=("| $1 | $2 | $(mbs "$c") | $(mbs "$d") | $(printf '%.2f' "$(echo "$c / $d" | bc -l)")× | $(secs $3) | $(secs $4) |")
  echo "${ROWS[-1]}" >&2
}

# bench NAME URL CURL_ARGS...: curl PUT/GET of big.delta to URL/curl/big.delta,
# ddloop push/pull to URL-or-REPO; DDLOOP_REPO and DDLOOP_ARGS set by caller.
bench() {
  local name=$1 url=$2; shift 2
  local cput=() cget=() cgets=() dpush=() dpull=() i
  for i in $(seq "$REPEAT"); do
    echo "== $name run $i/$REPEAT" >&2
    timed cput curl -sS -f -o /dev/null "$@" -T big.delta "$url/curl/big.delta"
    rm -f got && sync
    timed cget curl -sS -f "$@" -o got "$url/curl/big.delta"
    cmp -s got big.delta || { echo "curl GET gave other bytes" >&2; exit 1; }
    rm -f got && sync
    timed cgets sh -c 'curl "$@" && sync got' curl -sS -f "$@" -o got "$url/curl/big.delta"
    rm -f got
    "$D" rm "${DDLOOP_ARGS[@]}" "$DDLOOP_REPO" big.delta >/dev/null 2>&1 || true
    sync
    timed dpush "$D" push -q "${DDLOOP_ARGS[@]}" big.delta "$DDLOOP_REPO"
    rm -rf pulled && mkdir pulled && sync
    timed dpull "$D" pull -q "${DDLOOP_ARGS[@]}" "$DDLOOP_REPO" pulled
    cmp -s pulled/big.delta big.delta || { echo "ddloop pull gave other bytes" >&2; exit 1; }
    rm -rf pulled
  done
  row "$name" "upload (curl -T / ddloop push)" "${cput[*]}" "${dpush[*]}"
  row "$name" "download (curl -o / ddloop pull)" "${cget[*]}" "${dpull[*]}"
  row "$name" "download, durable (curl -o; sync FILE / ddloop pull)" "${cgets[*]}" "${dpull[*]}"
}

nginx_start "$W/ng"
DDLOOP_REPO=$NGINX_URL/repo DDLOOP_ARGS=()
bench nginx "$NGINX_URL"
nginx_stop
rm -rf "$W/ng"

RGW_NOTE="RGW: skipped (--no-rgw)"
if [ "$RGW" = yes ]; then
  # RGW frees deleted objects hours later (garbage collection): room for every run.
  export RGW_MEMSTORE_BYTES=$(( (4 * REPEAT + 2) * SIZE * 1048576 ))
  if [ -f "$ROOT/tests/servers/rgw.sh" ] && RGW_DIR=$W/rgw && bash "$ROOT/tests/servers/rgw.sh" start "$RGW_DIR" >/dev/null; then
    # shellcheck disable=SC1091
    source "$RGW_DIR/env"
    export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION AWS_ENDPOINT_URL
    SIG=(--aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
         -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD')
    curl -sS -f -o /dev/null -X PUT "${SIG[@]}" "$AWS_ENDPOINT_URL/bench"
    export XDG_STATE_HOME=$W/state  # multipart upload records
    DDLOOP_REPO=s3://bench/repo DDLOOP_ARGS=()
    bench "Ceph RGW (memstore)" "$AWS_ENDPOINT_URL/bench" "${SIG[@]}"
    RGW_NOTE="RGW: tests/servers/rgw.sh (one memstore OSD, radosgw beast), path-style, SigV4 UNSIGNED-PAYLOAD"
  else
    RGW_NOTE="RGW: tests/servers/rgw.sh could not start one; skipped"
    RGW_DIR=
  fi
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

REPORT=$(cat <<EOF

## bench-transport.sh, $(date -u +%Y-%m-%d) ($(date -u +%H:%M) UTC)

Command: \`tests/bench/bench-transport.sh --size $SIZE --repeat $REPEAT\` on $(nproc) cores,
load average $LOAD_BEFORE before, $LOAD_AFTER after. One deltafile of
$BYTES bytes (a seed of random data, \`--level 0\`), page-cached; loopback
only. ddloop $("$D" --version | head -1); $(curl --version | head -1 | cut -d' ' -f1-2).
$RGW_NOTE. nginx: tests/servers/nginx.sh (\`dav_methods PUT\`, one process).

MB/s = 10^6 bytes / wall second, median of $REPEAT runs; ratio = ddloop / curl
throughput (goal ≥ 0.9×). ddloop push includes reading the file once for
its checksum and writing the catalog entry; ddloop pull includes listing
the catalog, the xxh64 check, a full \`ddloop verify\`, fsync and rename.
Both send \`Expect: 100-continue\` (curl's default); ddloop uses 16 MiB multipart parts on S3.

| target | operation | curl MB/s | ddloop MB/s | ratio | curl s (runs) | ddloop s (runs) |
|---|---|---|---|---|---|---|
$(printf '%s\n' "${ROWS[@]}")

### What limits the figures

- ddloop pull makes the file durable (fsync, then rename, then a directory
  sync) before it reports success; \`curl -o\` leaves it in the page cache. The
  "durable" row times \`curl -o\` followed by \`sync FILE\` (fsync) for the
  like-for-like comparison; the disk's write speed limits both there.
  ddloop starts writeback every 32 MiB during the download
  (\`sync_file_range\`) and hashes the bytes as they arrive, so what is left
  after the last byte is the \`ddloop verify\` pass (page-cached) and the
  tail of the fsync.
- ddloop push to S3 sends 16 MiB multipart parts, two at a time (resumable
  part by part); curl sends one PUT. To nginx, ddloop's push and curl's PUT
  are the same request.
- 2 cores are shared by the client, the server (nginx, or radosgw + OSD +
  monitor) and the kernel's loopback; run-to-run spread is up to 2x, so
  compare the ratio within one run, not across runs.
EOF
)
printf '%s\n' "$REPORT"
if [ "$APPEND" = yes ]; then printf '%s\n' "$REPORT" >> "$RESULTS"; fi
