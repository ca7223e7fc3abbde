#!/usr/bin/env bash
# bench-volume.sh - ddloop volumes (ddloop-volume(8)): (1) `ddloop volume
# delta` time for the same changed chunks on a small and a large sparse
# volume; (2) fio write throughput through an attached volume against a loop
# device over a plain image file; (3) metadata bytes per GiB of changed data.
#
# Not part of ctest: it needs root (loop devices, FUSE), fio, and about
# 3x --io-size of free disk. About 6 minutes with the defaults.
#
# Usage: tests/bench/bench-volume.sh [--small 1G] [--large 64G] [--changed 1000]
#          [--io-size 1G] [--repeat 5] [--delta-repeat 15] [--workdir DIR] [--seed N]
#          [--ddloop PATH] [--no-build] [--no-append] [--results FILE] [--keep]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/../.." && pwd)
VHELPERS="$BENCH_DIR/bench_volume_helpers.py"
CMDLINE=$(printf '%q ' "$0" "$@")
CMDLINE=${CMDLINE% }

SMALL_ARG=1G
LARGE_ARG=64G
CHANGED=1000
IO_ARG=1G
REPEAT=5
DELTA_REPEAT=15
RAND_IO_ARG=256M
RAND_RUNTIME=30
RAND_FSYNC=32
WORKDIR="$BENCH_DIR/work"
SEED=1
DDLOOP=""
BUILD=1
APPEND=1
RESULTS="$BENCH_DIR/RESULTS.md"
KEEP=0

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options:
  --small N         the small volume of part 1 (default 1G)
  --large N         the large volume of part 1 (default 64G; sparse, costs no disk)
  --changed N       chunks changed between the two snapshots of part 1 (default 1000)
  --io-size N       size of the devices of parts 2 and 3, and of the sequential
                    write (default 1G)
  --repeat N        runs of each fio measurement, fresh devices each (default 5)
  --delta-repeat N  runs of each `volume delta` (default 15)
  --rand-io N       bytes each random-write run writes at most (default 256M)
  --rand-runtime S  time limit of a random-write run (default 30)
  --rand-fsync N    fio --fsync: an fsync after every N random writes (default 32)
  --workdir DIR     scratch space (default tests/bench/work, git-ignored);
                    a run-PID subdirectory is made there and removed at exit
  --seed N          seed of the changed chunks and of fio (default 1)
  --ddloop PATH     ddloop binary (default build/ddloop/ddloop, built first)
  --no-build        do not run cmake/ninja before the bench
  --no-append       print the Markdown section only; do not append it to RESULTS.md
  --results FILE    file to append the section to (default tests/bench/RESULTS.md)
  --keep            keep the run directory (volumes, deltas) for inspection
EOF
}

while (($#)); do
  case $1 in
    --small) SMALL_ARG=$2; shift 2 ;;
    --large) LARGE_ARG=$2; shift 2 ;;
    --changed) CHANGED=$2; shift 2 ;;
    --io-size) IO_ARG=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --delta-repeat) DELTA_REPEAT=$2; shift 2 ;;
    --rand-io) RAND_IO_ARG=$2; shift 2 ;;
    --rand-runtime) RAND_RUNTIME=$2; shift 2 ;;
    --rand-fsync) RAND_FSYNC=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --ddloop) DDLOOP=$2; BUILD=0; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-append) APPEND=0; shift ;;
    --results) RESULTS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

source "$BENCH_DIR/bench_common.sh"

size_of() { numfmt --from=iec "${1%iB}" 2>/dev/null || die "$1: not a size"; }
SMALL=$(size_of "$SMALL_ARG")
LARGE=$(size_of "$LARGE_ARG")
IO=$(size_of "$IO_ARG")
RAND_IO=$(size_of "$RAND_IO_ARG")
((SMALL % 4096 == 0 && LARGE % 4096 == 0 && IO % 1048576 == 0)) || die "sizes must be multiples of 4K (--io-size of 1M)"
((CHANGED >= 1 && CHANGED * 4096 <= SMALL)) || die "--changed must fit in --small"
((REPEAT >= 1 && DELTA_REPEAT >= 1)) || die "--repeat and --delta-repeat must be at least 1"
((EUID == 0)) || die "needs root (loop devices, FUSE)"
[[ -e /dev/fuse ]] || die "/dev/fuse is missing"

need=()
command -v fio >/dev/null || need+=(fio)
command -v fusermount3 >/dev/null || need+=(fuse3)
command -v losetup >/dev/null || need+=(util-linux)
command -v python3 >/dev/null || need+=(python3)
[[ -x /usr/bin/time ]] || need+=(time)
install_missing "${need[@]}"

find_ddloop

# ---------------------------------------------------------------- scratch
mkdir -p "$WORKDIR"
RUN=$(cd "$WORKDIR" && pwd)/run-$$
ATTACHED=()  # devices from `ddloop volume attach`
LOOPS=()     # devices from `losetup`
cleanup() {
  local rc=$? d
  for d in "${ATTACHED[@]}"; do "$DDLOOP" detach "$d" >/dev/null 2>&1 || log "could not detach $d"; done
  for d in "${LOOPS[@]}"; do losetup -d "$d" 2>/dev/null || log "could not release $d"; done
  if [[ -d $RUN ]]; then
    if ((KEEP)); then log "kept $RUN"; else rm -rf -- "$RUN"; fi
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$RUN"
# Run a private copy: a rebuild of build/ during the run must not swap the binary.
cp "$DDLOOP" "$RUN/ddloop"
DDLOOP=$RUN/ddloop
"$DDLOOP" volume --help >/dev/null 2>&1 || die "$DDLOOP has no 'volume' command yet"

avail=$(df -B1 --output=avail "$RUN" | tail -1)
((avail > 3 * IO)) || die "need about 3x --io-size free in $WORKDIR ($((3 * IO)) bytes), have $avail"

META=$RUN/meta.tsv RUNS=$RUN/runs.jsonl
: >"$META"
: >"$RUNS"
meta() { printf '%s\t%s\n' "$1" "$2" >>"$META"; }
human() { numfmt --to=iec "$1"; }

disk_desc() {
  local src dev
  src=$(findmnt -no SOURCE -T "$1" 2>/dev/null | head -1)
  dev=$(basename "$src")
  dev=${dev%%[0-9]*}
  if [[ -r /sys/block/$dev/queue/rotational ]]; then
    printf '%s (%s, rotational=%s, scheduler %s)' "$src" "$(findmnt -no FSTYPE -T "$1" | head -1)" \
      "$(cat "/sys/block/$dev/queue/rotational")" \
      "$(sed 's/.*\[\(.*\)\].*/\1/' "/sys/block/$dev/queue/scheduler" 2>/dev/null || echo '?')"
  else
    printf '%s' "${src:-unknown}"
  fi
}

meta date_iso "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
meta cmdline "$CMDLINE"
meta changed "$CHANGED"
meta small_h "$(human "$SMALL")"
meta large_h "$(human "$LARGE")"
meta io_size_h "$(human "$IO")"
meta rand_io_h "$(human "$RAND_IO")"
meta rand_runtime "$RAND_RUNTIME"
meta rand_fsync "$RAND_FSYNC"
meta seed "$SEED"
meta io_repeat "$REPEAT"
meta delta_repeat "$DELTA_REPEAT"
meta nproc "$(nproc)"
meta cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
meta mem_kib "$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
meta kernel "$(uname -sr)"
meta disk "$(disk_desc "$RUN")"
meta load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
meta ddloop_version "$("$DDLOOP" --version 2>&1 | head -1) ($BUILD_TYPE)"
meta fio_version "$(fio --version 2>&1 | head -1)"

# attach VOL: sets DEV to the loop device (not in a subshell: the cleanup
# must see ATTACHED).
attach() {
  DEV=$("$DDLOOP" volume attach "$1")
  [[ -b $DEV ]] || die "volume attach $1 printed '$DEV', not a block device"
  ATTACHED+=("$DEV")
}
detach() {  # detach DEV (attached by attach)
  "$DDLOOP" detach "$1" >>"$RUN/detach.log" 2>&1 || die "ddloop detach $1 failed: $(tail -1 "$RUN/detach.log")"
  local keep=() d
  for d in "${ATTACHED[@]}"; do [[ $d == "$1" ]] || keep+=("$d"); done
  ATTACHED=("${keep[@]+"${keep[@]}"}")
}
loop_attach() {  # loop_attach IMG: sets DEV to the loop device
  DEV=$(losetup -f --show "$1")
  LOOPS+=("$DEV")
}
loop_detach() {
  losetup -d "$1"
  local keep=() d
  for d in "${LOOPS[@]}"; do [[ $d == "$1" ]] || keep+=("$d"); done
  LOOPS=("${keep[@]+"${keep[@]}"}")
}
now_ns() { date +%s%N; }

# ---------------------------------------------------------------- 1. delta
# delta_setup TAG SIZE SPAN: volume vol-TAG of SIZE with snapshots a and b
# that differ by the same CHANGED chunks (offsets within SPAN).
delta_setup() {
  local tag=$1 size=$2 span=$3 vol=$RUN/vol-$1
  log "part 1: $(human "$size") volume: $CHANGED chunks over $(human "$span")"
  "$DDLOOP" volume create "$vol" --size "$size" -q
  "$DDLOOP" snapshot create "$vol" a -q
  attach "$vol"
  python3 "$VHELPERS" write-chunks "$DEV" --count "$CHANGED" --span "$span" --seed "$SEED" >&2
  detach "$DEV"
  "$DDLOOP" snapshot create "$vol" b -q
}

# delta_time TAG LABEL SPAN: one timed `volume delta` a..b of vol-TAG.
delta_time() {
  local tag=$1 label=$2 span=$3 vol=$RUN/vol-$1 out=$RUN/d-$1.ddl t0 t1 js cpu
  rm -f "$out"
  t0=$(now_ns)
  /usr/bin/time -f '%M %U %S' -o "$RUN/rss" "$DDLOOP" volume delta "$vol" --from a --to b -o "$out" --json \
    >"$RUN/delta-$tag.json"
  t1=$(now_ns)
  js=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["file_size"], j["changed_chunks"])' \
    "$RUN/delta-$tag.json")
  read -r rss usr sys <"$RUN/rss"
  printf '{"kind":"delta","tag":"%s","label":"%s","span":"first %s","ms":%s,"cpu_ms":%s,"file_size":%s,"changed_chunks":%s,"rss_kib":%s}\n' \
    "$tag" "$label" "$(human "$span")" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e6}')" \
    "$(awk -v u="$usr" -v s="$sys" 'BEGIN {printf "%.0f", (u + s) * 1000}')" ${js% *} ${js#* } "$rss" >>"$RUNS"
}

CASES=("small|$(human "$SMALL") volume|$SMALL|$SMALL"
       "large|$(human "$LARGE") volume|$LARGE|$SMALL"
       "large-spread|$(human "$LARGE") volume, chunks over all of it|$LARGE|$LARGE")
for c in "${CASES[@]}"; do
  IFS='|' read -r tag label size span <<<"$c"
  delta_setup "$tag" "$size" "$span"
done
sync
log "part 1: $DELTA_REPEAT rounds of volume delta, the three volumes in turn"
for ((k = 0; k < DELTA_REPEAT; k++)); do
  for c in "${CASES[@]}"; do
    IFS='|' read -r tag label size span <<<"$c"
    delta_time "$tag" "$label" "$span"
  done
done
for c in "${CASES[@]}"; do
  IFS='|' read -r tag label size span <<<"$c"
  [[ $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["changed_chunks"])' "$RUN/delta-$tag.json") == "$CHANGED" ]] ||
    die "$label: the delta does not hold $CHANGED chunks"
  "$DDLOOP" verify "$RUN/d-$tag.ddl" >/dev/null || die "$label: ddloop verify failed on the delta"
  rm -rf -- "$RUN/vol-$tag" "$RUN/d-$tag.ddl"
done

# ---------------------------------------------------------------- 2. writes
# fio_run DEV WORKLOAD: runs fio on DEV; prints "mbps iops wall_s".
fio_run() {
  local dev=$1 wl=$2 args t0 t1
  if [[ $wl == seq ]]; then
    args=(--rw=write --bs=1M --size="$IO" --end_fsync=1)
  else
    args=(--rw=randwrite --bs=4k --size="$IO" --io_size="$RAND_IO" --runtime="$RAND_RUNTIME"
          --fsync="$RAND_FSYNC" --end_fsync=1 --randrepeat=1 --randseed="$SEED")
  fi
  sync
  t0=$(now_ns)
  fio --name="$wl" --filename="$dev" --ioengine=psync --direct=1 --numjobs=1 "${args[@]}" \
    --output-format=json --output="$RUN/fio.json" >/dev/null
  t1=$(now_ns)
  read -r _ iops _ < <(python3 "$VHELPERS" fio-summary "$RUN/fio.json")
  local bytes
  bytes=$(python3 -c 'import json,sys; t=open(sys.argv[1]).read(); print(json.loads(t[t.index("{"):])["jobs"][0]["write"]["io_bytes"])' "$RUN/fio.json")
  awk -v n="$bytes" -v a="$t0" -v b="$t1" -v iops="$iops" \
    'BEGIN {printf "%.1f %s %.3f\n", n / ((b - a) / 1e9) / 1e6, iops, (b - a) / 1e9}'
}

# io_one KIND WORKLOAD REP: a fresh device of KIND (volume|loop), one fio run.
io_one() {
  local kind=$1 wl=$2 rep=$3 dev r img=$RUN/plain.img vol=$RUN/vol-io
  if [[ $kind == volume ]]; then
    "$DDLOOP" volume create "$vol" --size "$IO" -q
    attach "$vol"
  else
    truncate -s "$IO" "$img"
    loop_attach "$img"
  fi
  dev=$DEV
  r=$(fio_run "$dev" "$wl")
  log "  $wl $kind run $rep: $r (MB/s IOPS s)"
  read -r mbps iops wall <<<"$r"
  printf '{"kind":"io","workload":"%s","dev":"%s","rep":%d,"mbps":%s,"iops":%s,"wall_s":%s}\n' \
    "$wl" "$kind" "$rep" "$mbps" "$iops" "$wall" >>"$RUNS"
  if [[ $kind == volume ]]; then
    if ((rep == 0)); then meta_case "$wl" "$vol" "$dev"; else detach "$dev"; fi
    rm -rf -- "$vol"
  else
    loop_detach "$dev"
    rm -f -- "$img"
  fi
}

# ---------------------------------------------------------------- 3. metadata
# meta_case WORKLOAD VOL DEV: snapshot the attached volume, detach, measure.
meta_case() {
  local wl=$1 vol=$2 dev=$3 chunks label
  chunks=$("$DDLOOP" snapshot create "$vol" m --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["chunks"])')
  detach "$dev"
  if [[ $wl == seq ]]; then label="sequential 1M, whole volume"; else label="random 4K (fsync every $RAND_FSYNC)"; fi
  meta_sizes "$vol" "$chunks" "$label, after the snapshot"
  # The next writable open removes files the manifest does not need.
  attach "$vol"
  detach "$DEV"
  meta_sizes "$vol" "$chunks" "$label, after the next attach + detach"
}

# meta_sizes VOL CHUNKS LABEL: one "meta" row.
meta_sizes() {
  local vol=$1 chunks=$2 label=$3 man idx jnl alloc
  man=$(stat -c %s "$vol/manifest")
  idx=$(find "$vol" -maxdepth 1 -name '*.idx' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  jnl=$(find "$vol" -maxdepth 1 -name '*.jnl' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  alloc=$(find "$vol" -maxdepth 1 \( -name manifest -o -name '*.idx' -o -name '*.jnl' \) -printf '%b\n' |
    awk '{s += $1 * 512} END {print s + 0}')
  log "  metadata after $label: manifest $man, idx $idx, jnl $jnl bytes for $chunks chunks"
  printf '{"kind":"meta","label":"%s","chunks":%s,"manifest":%s,"idx":%s,"jnl":%s,"allocated":%s}\n' \
    "$label" "$chunks" "$man" "$idx" "$jnl" "$alloc" >>"$RUNS"
}

log "part 2: fio writes, volume vs loop device, $REPEAT runs each"
for wl in seq rand; do
  for ((rep = 0; rep < REPEAT; rep++)); do
    if ((rep % 2 == 0)); then
      io_one volume "$wl" "$rep"
      io_one loop "$wl" "$rep"
    else
      io_one loop "$wl" "$rep"
      io_one volume "$wl" "$rep"
    fi
  done
done

meta load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
SECTION=$(python3 "$VHELPERS" report "$META" "$RUNS")
printf '%s\n' "$SECTION"
if ((APPEND)); then
  printf '%s\n' "$SECTION" >>"$RESULTS"
  log "appended to $RESULTS"
fi
