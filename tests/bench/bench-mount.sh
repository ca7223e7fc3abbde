#!/usr/bin/env bash
# bench-mount.sh - first-read speed of `ddloop mount` (FUSE) over a long and a
# short delta chain, against the fully applied image read directly and
# through bindfs (a plain FUSE passthrough); peak RSS of the mount process.
#
# Not part of ctest: it needs root (FUSE mounts, drop_caches), about 5x --size
# of free disk, and about 10 minutes at 1 GiB / 100 deltas. See README.md here.
#
# Usage: tests/bench/bench-mount.sh [--size 1G] [--chain 100] [--repeat 3]
#          [--rand-io SIZE/4] [--runtime 20] [--workdir DIR] [--seed N] [--no-knobs]
#          [--ddloop PATH] [--no-build] [--no-append] [--results FILE] [--keep]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/../.." && pwd)
HELPERS="$BENCH_DIR/bench_helpers.py"
MHELPERS="$BENCH_DIR/bench_mount_helpers.py"
CMDLINE=$(printf '%q ' "$0" "$@")
CMDLINE=${CMDLINE% }

SIZE_ARG=1G
CHAIN=100
FRACTION=0.002
WORKDIR="$BENCH_DIR/work"
SEED=1
REPEAT=3
RUNTIME=20
RAND_IO_ARG=""
THREADS=2
KNOBS=1
DDLOOP=""
BUILD=1
APPEND=1
RESULTS="$BENCH_DIR/RESULTS.md"
KEEP=0

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options:
  --size N          image size (numfmt IEC: 128M, 1G; default 1G)
  --chain N         deltas in the long chain (default 100)
  --fraction F      share of the image each delta rewrites (default 0.002 = 0.2%)
  --repeat N        runs of each measurement, fresh mount each; median reported (default 3)
  --rand-io N       bytes each random-read run reads (fio --io_size; distinct 4K
                    blocks, no block twice; default a quarter of --size)
  --runtime S       time limit of each random-read run (fio --runtime; default 20)
  --workdir DIR     scratch space (default tests/bench/work, git-ignored);
                    a run-PID subdirectory is made there and removed at exit
  --seed N          RNG seed for the data, the changes and fio (default 1)
  --threads N       ddloop create/apply --threads while building the chain (default 2)
  --no-knobs        skip the tuning-knob runs on the long chain (--threads 1,
                    --cache-size 16M / 256M, the FUSE mount's read_ahead_kb at 1024)
  --ddloop PATH     ddloop binary (default build/ddloop/ddloop, built first)
  --no-build        do not run cmake/ninja before the bench
  --no-append       print the Markdown section only; do not append it to RESULTS.md
  --results FILE    file to append the section to (default tests/bench/RESULTS.md)
  --keep            keep the run directory (images, deltas) for inspection
EOF
}

while (($#)); do
  case $1 in
    --size) SIZE_ARG=$2; shift 2 ;;
    --chain) CHAIN=$2; shift 2 ;;
    --fraction) FRACTION=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --runtime) RUNTIME=$2; shift 2 ;;
    --rand-io) RAND_IO_ARG=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --no-knobs) KNOBS=0; shift ;;
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

SIZE=$(numfmt --from=iec "${SIZE_ARG%iB}") || die "--size $SIZE_ARG: not a size"
((SIZE >= 16 * 1024 * 1024)) || die "--size must be at least 16M"
((SIZE % 65536 == 0)) || die "--size must be a multiple of 64K"
((CHAIN >= 2)) || die "--chain must be at least 2"
((REPEAT >= 1)) || die "--repeat must be at least 1"
((RUNTIME >= 1)) || die "--runtime must be at least 1"
if [[ -n $RAND_IO_ARG ]]; then
  RAND_IO=$(numfmt --from=iec "${RAND_IO_ARG%iB}") || die "--rand-io $RAND_IO_ARG: not a size"
else
  RAND_IO=$((SIZE / 4))
fi
((RAND_IO >= 4096 && RAND_IO <= SIZE)) || die "--rand-io must be 4K to --size"
((EUID == 0)) || die "needs root (FUSE mounts, /proc/sys/vm/drop_caches)"
[[ -e /dev/fuse ]] || die "/dev/fuse is missing"

# ---------------------------------------------------------------- 1. tools
need=()
command -v fio >/dev/null || need+=(fio)
command -v bindfs >/dev/null || need+=(bindfs)
command -v fusermount3 >/dev/null || need+=(fuse3)
{ command -v mkfs.ext4 && command -v debugfs; } >/dev/null || need+=(e2fsprogs)
command -v python3 >/dev/null || need+=(python3)
command -v fincore >/dev/null || need+=(util-linux)
install_missing "${need[@]}"

find_ddloop

# ---------------------------------------------------------------- scratch
mkdir -p "$WORKDIR"
RUN=$(cd "$WORKDIR" && pwd)/run-$$
MNT=$RUN/mnt
cleanup() {
  local rc=$?
  if [[ -d $MNT ]] && mountpoint -q "$MNT" 2>/dev/null; then umount "$MNT" || umount -l "$MNT" || true; fi
  if [[ -d $RUN ]]; then
    if ((KEEP)); then log "kept $RUN"; else rm -rf -- "$RUN"; fi
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$RUN" "$MNT"
# Run a private copy: a rebuild of build/ during the run must not swap the binary.
cp "$DDLOOP" "$RUN/ddloop"
DDLOOP=$RUN/ddloop

avail=$(df -B1 --output=avail "$RUN" | tail -1)
((avail > 5 * SIZE)) || die "need about 5x --size free in $WORKDIR ($((5 * SIZE)) bytes), have $avail"

BASE=$RUN/base.img PREV=$RUN/prev.img CUR=$RUN/cur.img
TDIR=$RUN/target TARGET=$RUN/target/target.img
DELTAS=$RUN/deltas ONE=$RUN/one.ddl
META=$RUN/meta.tsv RUNS=$RUN/runs.jsonl
: >"$META"
: >"$RUNS"
meta() { printf '%s\t%s\n' "$1" "$2" >>"$META"; }

disk_desc() {  # the block device under DIR, with the settings that shape cold reads
  local src dev rot ra
  src=$(findmnt -no SOURCE -T "$1" 2>/dev/null | head -1)
  dev=$(basename "$src")
  dev=${dev%%[0-9]*}
  if [[ -r /sys/block/$dev/queue/rotational ]]; then
    rot=$(cat "/sys/block/$dev/queue/rotational")
    ra=$(cat "/sys/block/$dev/queue/read_ahead_kb")
    printf '%s (%s, rotational=%s, read_ahead_kb=%s, scheduler %s)' "$src" \
      "$(findmnt -no FSTYPE -T "$1" | head -1)" "$rot" "$ra" \
      "$(sed 's/.*\[\(.*\)\].*/\1/' "/sys/block/$dev/queue/scheduler" 2>/dev/null || echo '?')"
  else
    printf '%s' "${src:-unknown}"
  fi
}

meta date "$(date -u)"
meta date_iso "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
meta cmdline "$CMDLINE"
meta size "$SIZE"
meta chain "$CHAIN"
meta fraction "$FRACTION"
meta seed "$SEED"
meta repeat "$REPEAT"
meta runtime "$RUNTIME"
meta nproc "$(nproc)"
meta cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
meta mem_kib "$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
meta kernel "$(uname -sr)"
meta disk "$(disk_desc "$RUN")"
meta load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
meta ddloop_version "$("$DDLOOP" --version 2>&1 | head -1) ($BUILD_TYPE)"
meta fio_version "$(fio --version 2>&1 | head -1)"
meta bindfs_version "$(bindfs --version 2>&1 | head -1)"
meta libfuse_version "$(dpkg-query -W -f '${Version}' libfuse3-3 2>/dev/null || fusermount3 --version 2>&1 | head -1)"

# ---------------------------------------------------------------- 2. images
log "generating ~60% of $SIZE_ARG of files (seed $SEED)"
GEN=$RUN/gen
mkdir "$GEN"
meta gen "$(python3 "$HELPERS" gen "$GEN" --bytes $((SIZE * 60 / 100)) --volume "$SIZE" --seed "$SEED")"
log "mkfs.ext4 -d -> base"
head -c "$SIZE" /dev/zero >"$BASE"
E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -b 4096 -L bench -U 6d2b8c4e-5b1f-4c57-9a0e-0d2d7c1e0b01 \
  -E lazy_itable_init=0,lazy_journal_init=0,nodiscard,root_owner=0:0,hash_seed=1b4e28ba-2fa1-11d2-883f-0016d3cca427 \
  -d "$GEN" "$BASE"
rm -rf -- "$GEN"
cp --sparse=never "$BASE" "$PREV"
cp --sparse=never "$BASE" "$CUR"

log "chain of $CHAIN deltas, each ~$FRACTION of the image in scattered 4K/64K writes"
mkdir "$DELTAS"
CHAIN_FILES=()
for ((k = 1; k <= CHAIN; k++)); do
  d=$(printf '%s/d%04d.ddl' "$DELTAS" "$k")
  ev=$(python3 "$MHELPERS" evolve "$CUR" --step "$k" --seed "$SEED" --fraction "$FRACTION")
  ((k == 1)) && meta evolve "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["bytes"]=4096*d["writes_4k"]+65536*d["writes_64k"]; print(json.dumps(d))' "$ev")"
  "$DDLOOP" create --base "$PREV" "$CUR" -o "$d" --threads "$THREADS" --quiet
  python3 "$MHELPERS" evolve "$PREV" --step "$k" --seed "$SEED" --fraction "$FRACTION" >/dev/null
  CHAIN_FILES+=("$d")
  ((k % 10 == 0)) && log "  $k deltas"
done
cmp -s "$PREV" "$CUR" || die "internal: PREV and CUR differ after the chain"
rm -f "$PREV"
log "1-delta chain: ddloop create --base BASE FINAL"
"$DDLOOP" create --base "$BASE" "$CUR" -o "$ONE" --threads "$THREADS" --quiet
meta chain_stats "$("$DDLOOP" info --json "${CHAIN_FILES[@]}" | python3 "$MHELPERS" chain-stats)"
meta one_stats "$("$DDLOOP" info --json "$ONE" | python3 "$MHELPERS" chain-stats)"
log "counting changed blocks (base vs final)"
meta diff "$(python3 "$HELPERS" diffcount "$BASE" "$CUR")"

log "target: ddloop apply of all $CHAIN deltas onto a copy of the base"
mkdir "$TDIR"
cp --sparse=never "$BASE" "$TARGET"
"$DDLOOP" apply "${CHAIN_FILES[@]}" "$TARGET" --threads "$THREADS" --quiet
rm -f "$TARGET.ddloop-state"
cmp "$TARGET" "$CUR" || die "applied target differs from the final state"
rm -f "$CUR"
sync

# ---------------------------------------------------------------- 3. reads
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
warm() { cat "$@" >/dev/null; }
wait_gone() {  # wait_gone PID: the server exits shortly after its unmount
  local i
  for ((i = 0; i < 200; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
  die "process $1 still there 10 s after its unmount"
}
FUSE_RA=""
fuse_ra() {  # read_ahead_kb of the FUSE mount's backing_dev_info
  local dev
  dev=$(mountpoint -d "$MNT" 2>/dev/null) || return 0
  [[ -r /sys/class/bdi/$dev/read_ahead_kb ]] && cat "/sys/class/bdi/$dev/read_ahead_kb"
}
# Bytes of the backing files (base + deltas, or the target) in the page cache:
# after a cold run, what the reader fetched from the disk, readahead included.
resident_bytes() { fincore -b -n -o RES "$@" | awk '{ s += $1 } END { print s + 0 }'; }

fio_args() {  # fio_args seq|rand FILE
  # --invalidate=0: fio must not drop the file's page cache itself (the warm
  # runs rely on it; the cold runs drop every cache just before).
  local common=(--name="$1" --filename="$2" --readonly --ioengine=psync --direct=0 --numjobs=1
    --size="$SIZE" --invalidate=0 --output-format=json)
  if [[ $1 == seq ]]; then
    printf '%s\n' "${common[@]}" --rw=read --bs=1M
  else
    printf '%s\n' "${common[@]}" --rw=randread --bs=4k --io_size="$RAND_IO" --runtime="$RUNTIME" --randseed="$SEED"
  fi
}

# one_run CONFIG TEST CACHE REP: mounts what CONFIG reads (fresh mount), makes
# the backing files cold (drop_caches) or warm (read once), runs fio, reads the
# server's VmHWM and CPU time, unmounts; appends one JSON line to $RUNS.
one_run() {
  local cfg=$1 test=$2 cache=$3 rep=$4 file extra="" t0 t1 pid="" hwm cpu i
  local -a mopts=() backing=()
  case $cfg in
    direct) file=$TARGET; backing=("$TARGET") ;;
    bindfs)
      bindfs -o ro "$TDIR" "$MNT"
      pid=$(pgrep -n -x -f "bindfs -o ro $TDIR $MNT") || die "cannot find the bindfs process"
      file=$MNT/target.img; backing=("$TARGET") ;;
    chain1|chainN|knob-*)
      case $cfg in
        knob-threads1) mopts=(--threads 1) ;;
        knob-cache16M) mopts=(--cache-size 16M) ;;
        knob-cache256M) mopts=(--cache-size 256M) ;;
        knob-ra1M) ;;  # default options; read_ahead_kb set after the mount
      esac
      if [[ $cfg == chain1 ]]; then backing=("$BASE" "$ONE"); else backing=("$BASE" "${CHAIN_FILES[@]}"); fi
      rm -f "$RUN/mount.pid"
      if [[ $cache == cold ]]; then drop_caches; fi
      t0=$(date +%s%N)
      "$DDLOOP" mount --base "$BASE" --pid-file "$RUN/mount.pid" "${mopts[@]}" "${backing[@]:1}" "$MNT" \
        2>>"$RUN/mount.log" || { cat "$RUN/mount.log" >&2; die "ddloop mount failed ($cfg)"; }
      t1=$(date +%s%N)
      i=0
      while [[ ! -s $RUN/mount.pid ]] && ((i++ < 100)); do sleep 0.05; done
      pid=$(cat "$RUN/mount.pid" 2>/dev/null) || die "no pid file from ddloop mount"
      extra=$(printf ', "mount_s": %s' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')")
      file=$MNT/disk ;;
    *) die "internal: config $cfg" ;;
  esac
  if [[ $cfg != direct ]]; then
    mountpoint -q "$MNT" || die "$cfg: $MNT is not mounted"
    if [[ $cfg == knob-ra1M ]]; then
      echo 1024 >"/sys/class/bdi/$(mountpoint -d "$MNT")/read_ahead_kb" || die "cannot set the FUSE mount's read_ahead_kb"
    else
      FUSE_RA=$(fuse_ra)
    fi
  fi
  if [[ $cache == cold ]]; then drop_caches; else warm "${backing[@]}"; sync; fi
  mapfile -t args < <(fio_args "$test" "$file")
  if ! fio "${args[@]}" >"$RUN/fio.json" 2>"$RUN/fio.err"; then
    cat "$RUN/fio.err" "$RUN/fio.json" >&2
    die "fio failed ($cfg $test $cache)"
  fi
  if [[ $cache == cold ]]; then
    extra+=$(printf ', "disk_mib": %s' "$(resident_bytes "${backing[@]}" | awk '{ printf "%.1f", $1 / 1048576 }')")
  fi
  if [[ -n $pid ]]; then
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$pid/stat")
    extra+=$(printf ', "hwm_kib": %s, "cpu_s": %s' "$hwm" "$cpu")
  fi
  if [[ $cfg != direct ]]; then
    umount "$MNT" || die "umount $MNT failed ($cfg)"
    if [[ -n $pid ]]; then wait_gone "$pid"; fi
  fi
  local res
  res=$(python3 "$MHELPERS" fio-run "$RUN/fio.json")
  printf '{"config": "%s", "test": "%s", "cache": "%s", "rep": %d%s, %s\n' "$cfg" "$test" "$cache" "$rep" \
    "$extra" "${res#\{}" >>"$RUNS"
  log "$(python3 "$MHELPERS" run-line "$(tail -1 "$RUNS")")"
}

CONFIGS=(chain1 chainN direct bindfs)
if ((KNOBS)); then CONFIGS+=(knob-threads1 knob-cache16M knob-cache256M knob-ra1M); fi
log "reads: ${CONFIGS[*]} x seq/rand x cold/warm, $REPEAT runs each (fresh mount each)"
# Repeats outermost, so slow drift on a shared machine spreads over every reader.
for ((rep = 1; rep <= REPEAT; rep++)); do
  for cfg in "${CONFIGS[@]}"; do
    for cache in cold warm; do
      for test in seq rand; do
        one_run "$cfg" "$test" "$cache" "$rep"
      done
    done
  done
done
meta load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
meta fuse_ra_kb "${FUSE_RA:-unknown}"
meta rand_io "$RAND_IO"
{
  printf '[["chain1", "ddloop mount, 1-delta chain"], ["chainN", "ddloop mount, %d-delta chain"], ' "$CHAIN"
  printf '["direct", "target file, direct (no FUSE)"], ["bindfs", "target file via bindfs"]'
  if ((KNOBS)); then
    printf ', ["knob-threads1", "%d-delta chain, --threads 1"], ' "$CHAIN"
    printf '["knob-cache16M", "%d-delta chain, --cache-size 16M"], ' "$CHAIN"
    printf '["knob-cache256M", "%d-delta chain, --cache-size 256M"], ' "$CHAIN"
    printf '["knob-ra1M", "%d-delta chain, FUSE bdi read_ahead_kb 1024"]' "$CHAIN"
  fi
  printf ']\n'
} >"$RUN/configs.json"
meta configs "$(cat "$RUN/configs.json")"

# ---------------------------------------------------------------- 4. report
python3 "$MHELPERS" report "$META" "$RUNS" >"$RUN/section.md"
cat "$RUN/section.md"
if ((APPEND)); then
  { echo; cat "$RUN/section.md"; } >>"$RESULTS"
  log "appended to $RESULTS"
fi
