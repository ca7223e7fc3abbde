#!/usr/bin/env bash
# bench-create-apply.sh - ddloop create/apply against xdelta3, rdiff and
# zstd --patch-from on two ext4 images that differ by a realistic ~5%.
#
# Not part of ctest: it needs root (loop mount; debugfs otherwise), several
# times --size of free disk, and minutes of both cores. See README.md here.
#
# Usage: tests/bench/bench-create-apply.sh [--size 1G] [--workdir DIR]
#          [--seed N] [--repeat N] [--threads N] [--modify-via auto|mount|debugfs]
#          [--ddloop PATH] [--no-build] [--no-append] [--results FILE] [--keep]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/../.." && pwd)
HELPERS="$BENCH_DIR/bench_helpers.py"
CMDLINE=$(printf '%q ' "$0" "$@")
CMDLINE=${CMDLINE% }

SIZE_ARG=1G
WORKDIR="$BENCH_DIR/work"
SEED=1
REPEAT=3
THREADS=2
MODIFY_VIA=auto
DDLOOP=""
BUILD=1
APPEND=1
RESULTS="$BENCH_DIR/RESULTS.md"
KEEP=0
CHUNKS=(4K 16K 64K)
DEFAULT_CHUNK=4K

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options:
  --size N          image size (numfmt IEC: 64M, 1G; default 1G)
  --workdir DIR     scratch space (default tests/bench/work, git-ignored);
                    a run-PID subdirectory is made there and removed at exit
  --seed N          RNG seed for the data and the changes (default 1)
  --repeat N        timed runs of each command; the median is reported (default 3)
  --threads N       ddloop --threads and zstd -T (default 2)
  --modify-via M    how NEW is changed: mount (loop mount, needs root),
                    debugfs (debugfs -w), auto (mount if it works; default)
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
    --workdir) WORKDIR=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --modify-via) MODIFY_VIA=$2; shift 2 ;;
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
((REPEAT >= 1)) || die "--repeat must be at least 1"
case $MODIFY_VIA in auto|mount|debugfs) ;; *) die "--modify-via: auto, mount or debugfs" ;; esac

# ---------------------------------------------------------------- 1. tools
need=()
command -v xdelta3 >/dev/null || need+=(xdelta3)
command -v rdiff >/dev/null || need+=(rdiff)
command -v zstd >/dev/null || need+=(zstd)
{ command -v mkfs.ext4 && command -v debugfs; } >/dev/null || need+=(e2fsprogs)
[[ -x /usr/bin/time ]] || need+=(time)
command -v python3 >/dev/null || need+=(python3)
install_missing "${need[@]}"

find_ddloop

# ---------------------------------------------------------------- scratch
mkdir -p "$WORKDIR"
RUN=$(cd "$WORKDIR" && pwd)/run-$$
MNT=""
cleanup() {
  local rc=$?
  if [[ -n $MNT ]] && mountpoint -q "$MNT" 2>/dev/null; then umount "$MNT" || umount -l "$MNT" || true; fi
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

avail=$(df -B1 --output=avail "$RUN" | tail -1)
((avail > 7 * SIZE)) || die "need about 7x --size free in $WORKDIR ($((7 * SIZE)) bytes), have $avail"

OLD=$RUN/old.img NEW=$RUN/new.img NEW2=$RUN/new2.img COPY=$RUN/apply.img OUTF=$RUN/decoded.img
META=$RUN/meta.tsv RES=$RUN/results.tsv
: >"$META"
: >"$RES"
meta() { printf '%s\t%s\n' "$1" "$2" >>"$META"; }

meta date "$(date -u)"
meta date_iso "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
meta cmdline "$CMDLINE"
meta size "$SIZE"
meta seed "$SEED"
meta repeat "$REPEAT"
meta threads "$THREADS"
meta chunks "${CHUNKS[*]}"
meta default_chunk "$DEFAULT_CHUNK"
meta nproc "$(nproc)"
meta cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
meta mem_kib "$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
meta kernel "$(uname -sr)"
meta load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
meta ddloop_version "$("$DDLOOP" --version 2>&1 | head -1) ($BUILD_TYPE)"
meta xdelta3_version "$(xdelta3 -V 2>&1 | head -1 | cut -d, -f1)"
meta rdiff_version "$(rdiff --version 2>&1 | head -1)"
meta zstd_version "$(zstd --version 2>&1 | head -1 | sed 's/^\*\** *//; s/ *\*\**$//')"
meta mke2fs_version "$(mkfs.ext4 -V 2>&1 | head -1)"

# ---------------------------------------------------------------- 2. images
log "generating ~60% of $SIZE_ARG of files (seed $SEED)"
GEN=$RUN/gen
mkdir "$GEN"
meta gen "$(python3 "$HELPERS" gen "$GEN" --bytes $((SIZE * 60 / 100)) --volume "$SIZE" --seed "$SEED")"

log "mkfs.ext4 -d -> OLD"
# Fully allocated, like a block device: zeros written, no discard, no sparse copies.
head -c "$SIZE" /dev/zero >"$OLD"
E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -b 4096 -L bench -U 6d2b8c4e-5b1f-4c57-9a0e-0d2d7c1e0b01 \
  -E lazy_itable_init=0,lazy_journal_init=0,nodiscard,root_owner=0:0,hash_seed=1b4e28ba-2fa1-11d2-883f-0016d3cca427 \
  -d "$GEN" "$OLD"
cp --sparse=never "$OLD" "$NEW"

via=$MODIFY_VIA
if [[ $via != debugfs ]]; then
  MNT=$RUN/mnt
  mkdir "$MNT"
  if mount -o loop "$NEW" "$MNT" 2>"$RUN/mount.err"; then
    via=mount
  elif [[ $via == mount ]]; then
    die "mount -o loop failed: $(cat "$RUN/mount.err")"
  else
    log "mount -o loop failed ($(head -1 "$RUN/mount.err")); using debugfs -w"
    via=debugfs
  fi
fi
if [[ $via == mount ]]; then
  log "changing files in NEW through a loop mount"
  meta mutate "$(python3 "$HELPERS" mutate "$MNT" --size "$SIZE" --seed "$SEED")"
  umount "$MNT"
  meta modify_via "loop mount (mount -o loop; python writes; umount)"
else
  log "changing files in NEW through debugfs -w"
  meta mutate "$(python3 "$HELPERS" mutate "$GEN" --size "$SIZE" --seed "$SEED" --debugfs-cmds "$RUN/debugfs.cmds")"
  debugfs -w -f "$RUN/debugfs.cmds" "$NEW" >"$RUN/debugfs.log" 2>&1
  if grep -v -e '^debugfs [0-9]' -e '^debugfs:' -e '^Allocated inode: [0-9]*$' -e '^$' "$RUN/debugfs.log" | grep -q .; then
    cat "$RUN/debugfs.log" >&2
    die "debugfs reported errors"
  fi
  meta modify_via "debugfs -w (changed files are removed and written anew)"
fi
rm -rf -- "$GEN"
log "random 4 KiB and 64 KiB writes into NEW"
meta scribble "$(python3 "$HELPERS" scribble "$NEW" --seed "$SEED")"
log "counting changed blocks"
meta diff "$(python3 "$HELPERS" diffcount "$OLD" "$NEW")"
log "changed: $(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%d of %d 4K blocks (%.2f%%), %d 64K chunks" % (d["changed_4k"], d["blocks_4k"], 100*d["changed_fraction"], d["changed_64k"]))' "$(tail -1 "$META" | cut -f2)")"
cp --sparse=never "$NEW" "$NEW2"
sync

# ---------------------------------------------------------------- 3. timing
warm() { cat "$@" >/dev/null; }

# measure STEP LABEL PREP OUT -- CMD...: runs PREP (untimed, eval'd), sync, then
# CMD under /usr/bin/time, REPEAT times. Appends one line to $RES: the median
# wall time, every wall time, the max peak RSS, the median CPU%, and OUT's size.
measure() {
  local step=$1 label=$2 prep=$3 out=$4
  shift 5
  local walls=() cpus=() rss=0 i t0 t1 e m u s wall
  for ((i = 1; i <= REPEAT; i++)); do
    eval "$prep"
    sync
    t0=$(date +%s%N)
    if ! /usr/bin/time -f '%e %M %U %S' -o "$RUN/time.out" "$@" >"$RUN/cmd.log" 2>&1; then
      cat "$RUN/cmd.log" >&2
      die "FAILED ($label): $*"
    fi
    t1=$(date +%s%N)
    read -r e m u s <"$RUN/time.out"
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    walls+=("$wall")
    cpus+=("$(awk -v u="$u" -v s="$s" -v w="$wall" 'BEGIN { printf "%.0f", (u + s) / w * 100 }')")
    if ((m > rss)); then rss=$m; fi
  done
  local med cpu bytes=-
  med=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  cpu=$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  if [[ $out != - ]]; then bytes=$(stat -c %s "$out"); fi
  local all
  all=$(IFS=,; echo "${walls[*]}")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$step" "$label" "$med" "$all" "$rss" "$cpu" "$bytes" >>"$RES"
  log "$(printf '%-7s %-42s %8ss  rss %7s KiB  cpu %3s%%  out %s' "$step" "$label" "$med" "$rss" "$cpu" "$bytes")"
}

check_same() {  # check_same FILE LABEL: FILE must equal NEW
  cmp -s "$1" "$NEW" || die "$2: output differs from NEW"
}

fresh_copy() {
  rm -f "$COPY" "$COPY.ddloop-state"
  cp --sparse=never "$OLD" "$COPY"
  sync "$COPY"
  warm "$OLD" "$1"
}

warm "$OLD" "$NEW" "$NEW2"
meta allocated "$(du -B1 "$OLD" "$NEW" "$NEW2" | awk -v s="$SIZE" '{ printf "%s%.0f%%", (NR > 1 ? ", " : ""), 100 * $1 / s }')"
meta fincore "$(fincore -b -n -o RES,SIZE,FILE "$OLD" "$NEW" "$NEW2" | awk '{ printf "%s%s %.0f%%", (NR > 1 ? ", " : ""), $3, 100 * $1 / $2 }' | sed "s|$RUN/||g")"

log "create: ddloop at ${CHUNKS[*]} and the peers (median of $REPEAT)"
for c in "${CHUNKS[@]}"; do
  d=$RUN/delta.$c.ddl
  measure create "ddloop create --chunk-size $c" "rm -f $d; warm $OLD $NEW" "$d" -- \
    "$DDLOOP" create --base "$OLD" "$NEW" -o "$d" --chunk-size "$c" --threads "$THREADS" --quiet
  "$DDLOOP" verify --quiet "$d"
  "$DDLOOP" info --json "$d" >"$RUN/info.$c.json"
  meta "changed_chunks_$c" "$(python3 "$HELPERS" json-get "$RUN/info.$c.json" changed_chunks)"
done

XD=$RUN/out.xd
measure create "xdelta3 -e (level 3, -B 64M)" "rm -f $XD; warm $OLD $NEW" "$XD" -- \
  xdelta3 -e -f -s "$OLD" "$NEW" "$XD"
XDB=$RUN/out.B.xd
XD_BIG=0
if ((SIZE > 64 * 1024 * 1024)); then
  XD_BIG=1
  measure create "xdelta3 -e (level 3, -B $SIZE_ARG)" "rm -f $XDB; warm $OLD $NEW" "$XDB" -- \
    xdelta3 -e -f -B "$SIZE" -s "$OLD" "$NEW" "$XDB"
fi

SIG=$RUN/old.sig RD=$RUN/out.rdiff
measure create "rdiff signature" "rm -f $SIG; warm $OLD" "$SIG" -- rdiff signature "$OLD" "$SIG"
measure create "rdiff delta" "rm -f $RD; warm $SIG $NEW" "$RD" -- rdiff delta "$SIG" "$NEW" "$RD"

ZST=$RUN/out.zst
measure create "zstd -3 -T$THREADS --patch-from --long=31" "rm -f $ZST; warm $OLD $NEW" "$ZST" -- \
  zstd -q -f -T"$THREADS" --patch-from="$OLD" --long=31 "$NEW" -o "$ZST"

log "apply / decode (median of $REPEAT; each onto a fresh copy or a new file)"
for c in "${CHUNKS[@]}"; do
  d=$RUN/delta.$c.ddl
  measure apply "ddloop apply ($c delta)" "fresh_copy $d" - -- \
    "$DDLOOP" apply "$d" "$COPY" --threads "$THREADS" --quiet
  check_same "$COPY" "ddloop apply ($c)"
done
rm -f "$COPY" "$COPY.ddloop-state"

measure apply "xdelta3 -d (-B 64M)" "rm -f $OUTF; warm $OLD $XD" - -- xdelta3 -d -f -s "$OLD" "$XD" "$OUTF"
check_same "$OUTF" "xdelta3 -d"
if ((XD_BIG)); then
  measure apply "xdelta3 -d (-B $SIZE_ARG)" "rm -f $OUTF; warm $OLD $XDB" - -- \
    xdelta3 -d -f -B "$SIZE" -s "$OLD" "$XDB" "$OUTF"
  check_same "$OUTF" "xdelta3 -d -B"
fi
measure apply "rdiff patch" "rm -f $OUTF; warm $OLD $RD" - -- rdiff patch "$OLD" "$RD" "$OUTF"
check_same "$OUTF" "rdiff patch"
measure apply "zstd -d --patch-from --long=31" "rm -f $OUTF; warm $OLD $ZST" - -- \
  zstd -q -f -d --long=31 --patch-from="$OLD" "$ZST" -o "$OUTF"
check_same "$OUTF" "zstd -d"
rm -f "$OUTF"

log "identical-region scan: ddloop create --base NEW NEW2 (identical copies)"
SAME=$RUN/same.ddl
for c in "${CHUNKS[@]}"; do
  measure scan "ddloop create identical --chunk-size $c" "rm -f $SAME; warm $NEW $NEW2" "$SAME" -- \
    "$DDLOOP" create --base "$NEW" "$NEW2" -o "$SAME" --chunk-size "$c" --threads "$THREADS" --quiet
done
meta load_after "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- 4. report
python3 "$HELPERS" report "$META" "$RES" >"$RUN/section.md"
cat "$RUN/section.md"
if ((APPEND)); then
  if [[ ! -f $RESULTS ]]; then
    cat >"$RESULTS" <<'EOF'
# ddloop benchmark results

Append-only log of `tests/bench/bench-create-apply.sh` runs: one section per
run, newest last. Do not rewrite old sections; the only hand edit expected is
the "What limits the figures" paragraph of your own run. See README.md here.
EOF
  fi
  { echo; cat "$RUN/section.md"; } >>"$RESULTS"
  log "appended to $RESULTS"
fi
