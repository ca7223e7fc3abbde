#!/usr/bin/env bash
# bench-archive.sh - `ddloop archive` and `ddloop restore` through a pipe
# against `tar -b 20 -cf - | tar -xf -` of the same deltafiles, same run.
#
# Not part of ctest: it needs about 4x --size of free disk and a minute or
# two of both cores at 1G. See README.md here.
#
# Usage: tests/bench/bench-archive.sh [--size 1G] [--repeat 3] [--block-size 10240]
#          [--workdir DIR] [--ddloop PATH] [--no-build] [--no-append] [--results FILE] [--keep]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/../.." && pwd)
CMDLINE=$(printf '%q ' "$0" "$@")
CMDLINE=${CMDLINE% }

SIZE_ARG=1G
REPEAT=3
BLOCK=10240
WORKDIR="$BENCH_DIR/work"
DDLOOP=""
BUILD=1
APPEND=1
RESULTS="$BENCH_DIR/RESULTS.md"
KEEP=0

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOT'

Options:
  --size N        total bytes of the deltafile chain (default 1G)
  --repeat N      timed runs per pipeline, median reported (default 3)
  --block-size N  ddloop archive --block-size (default 10240, what tar -b 20 writes)
  --workdir DIR   scratch space (default tests/bench/work; run-PID inside, removed at exit)
  --ddloop PATH   ddloop binary (default build/ddloop/ddloop, built first)
  --no-build      do not run cmake/ninja before the bench
  --no-append     print the Markdown section only
  --results FILE  file to append to (default tests/bench/RESULTS.md)
  --keep          keep the run directory
EOT
}

while (($#)); do
  case $1 in
    --size) SIZE_ARG=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --block-size) BLOCK=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
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
((SIZE >= 64 * 1024 * 1024)) || die "--size must be at least 64M"
need=()
[[ -x /usr/bin/time ]] || need+=(time)
command -v tar >/dev/null || need+=(tar)
install_missing "${need[@]}"
find_ddloop

mkdir -p "$WORKDIR"
RUN=$(cd "$WORKDIR" && pwd)/run-$$
cleanup() {
  local rc=$?
  if [[ -d $RUN ]]; then
    if ((KEEP)); then log "kept $RUN"; else rm -rf -- "$RUN"; fi
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$RUN"
cp "$DDLOOP" "$RUN/ddloop"
DDLOOP=$RUN/ddloop
avail=$(df -B1 --output=avail "$RUN" | tail -1)
((avail > 4 * SIZE)) || die "need about 4x --size free in $WORKDIR"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- the chain
# An image of 5/6 SIZE (60% random, 40% log-like text), its seed (about
# SIZE/2), then four deltas each rewriting SIZE/8 of it with random data:
# about SIZE in all.
IMG=$((SIZE * 5 / 6 / 65536 * 65536))
STEP=$((SIZE / 8 / 65536 * 65536))
cd "$RUN"
log "building a chain of about $SIZE_ARG"
head -c $((IMG * 6 / 10)) /dev/urandom > v0.img
# (yes dies of SIGPIPE when head has enough: not an error)
{ yes "2026-11-25T00:00:00Z backup[4242]: replica chunk snapshot volume delta ok" || true; } |
  head -c $((IMG - IMG * 6 / 10)) >> v0.img
"$DDLOOP" create v0.img -o c0.delta -q
CHAIN=(c0.delta)
for i in 1 2 3 4; do
  cp v$((i - 1)).img v$i.img
  off=$(( (i * 7919 * 65536) % (IMG - STEP) / 65536 * 65536 ))
  head -c "$STEP" /dev/urandom | dd of=v$i.img bs=1M seek="$off" oflag=seek_bytes conv=notrunc status=none
  "$DDLOOP" create --base v$((i - 1)).img v$i.img -o c$i.delta -q
  rm v$((i - 1)).img
  CHAIN+=(c$i.delta)
done
FINAL=v4.img
TOTAL=$(cat "${CHAIN[@]}" | wc -c)
log "chain: ${#CHAIN[@]} deltafiles, $TOTAL bytes"

# time_it LABEL CMD: median wall seconds of REPEAT runs of `bash -c CMD`
# (before each: the chain read into the page cache, the outputs removed,
# sync), peak RSS (max), and every run's wall time.
declare -A WALL RSS RUNS
time_it() {
  local label=$1 cmd=$2 r times=() rss=0
  for ((r = 0; r < REPEAT; r++)); do
    rm -rf out img img.ddloop-state && mkdir out
    cat "${CHAIN[@]}" >/dev/null
    sync
    /usr/bin/time -f '%e %M' -o t.txt bash -c "set -o pipefail; $cmd" || die "$label failed: $cmd"
    read -r w m < t.txt
    times+=("$w")
    ((m > rss)) && rss=$m
  done
  WALL[$label]=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((REPEAT + 1) / 2))p")
  RSS[$label]=$rss
  RUNS[$label]=$(IFS=,; echo "${times[*]}")
  log "$label: ${WALL[$label]} s (runs ${RUNS[$label]})"
}

D="$DDLOOP"
C="${CHAIN[*]}"
time_it tar_c "tar -b 20 -cf - $C | cat > /dev/null"
time_it dd_a "$D archive $C -f - --block-size $BLOCK -q | cat > /dev/null"
time_it tar_cx "tar -b 20 -cf - $C | tar -xf - -C out"
time_it dd_apply "$D archive $C -f - --block-size $BLOCK -q | $D restore -f - --apply img -q"
cmp -s img "$FINAL" || die "restore --apply did not rebuild the image"
time_it dd_extract "$D archive $C -f - --block-size $BLOCK -q | $D restore -f - --extract out -q"
for f in "${CHAIN[@]}"; do cmp -s "out/$f" "$f" || die "restore --extract: $f differs"; done
time_it dd_verify "$D archive $C -f - --block-size $BLOCK -q | $D restore -f - --verify -q"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

mbps() { python3 -c "print('%.0f' % ($TOTAL / 1e6 / max($1, 0.001)))"; }
ratio() { python3 -c "print('%.2f' % ($2 / max($1, 0.001)))"; }
verdict() { python3 -c "print('met' if $2 / max($1, 0.001) >= 0.9 else '**not met**')"; }
row() { printf '| %s | %s | %s | %s | %s |\n' "$1" "${WALL[$2]}" "$(mbps "${WALL[$2]}")" "$((RSS[$2] / 1024))" "${RUNS[$2]}"; }

SECTION=$(
  echo
  echo "## bench-archive.sh, $(date -u +%Y-%m-%d) ($(date -u +%H:%M) UTC)"
  echo
  echo "Command: \`$CMDLINE\`"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr); load $LOAD_BEFORE before, $LOAD_AFTER after."
  echo "ddloop: $("$DDLOOP" --version 2>&1 | head -1) ($BUILD_TYPE); $(tar --version | head -1)."
  echo "Chain: ${#CHAIN[@]} deltafiles (a seed of a $(numfmt --to=iec $IMG) image, 60% random, and 4 deltas each rewriting $(numfmt --to=iec $STEP)), $TOTAL bytes in all; page-cached before each run; median of $REPEAT runs; MB = 10^6 bytes."
  echo "ddloop --block-size $BLOCK; tar -b 20 (10240-byte blocks)."
  echo
  echo "| pipeline | wall s | MB/s of chain | peak RSS MiB | runs s |"
  echo "|---|---:|---:|---:|---|"
  row "\`tar -b 20 -cf - CHAIN \\| cat >/dev/null\`" tar_c
  row "\`ddloop archive CHAIN -f - \\| cat >/dev/null\`" dd_a
  row "\`tar -b 20 -cf - CHAIN \\| tar -xf - -C out\`" tar_cx
  row "\`ddloop archive CHAIN -f - \\| ddloop restore -f - --apply img\`" dd_apply
  row "\`ddloop archive CHAIN -f - \\| ddloop restore -f - --extract out\`" dd_extract
  row "\`ddloop archive CHAIN -f - \\| ddloop restore -f - --verify\`" dd_verify
  echo
  echo "### Goals (≥ 0.9× tar's throughput)"
  echo
  echo "| goal | ratio | verdict |"
  echo "|---|---:|---|"
  echo "| archive vs tar -cf (to a pipe) | $(ratio "${WALL[dd_a]}" "${WALL[tar_c]}")× | $(verdict "${WALL[dd_a]}" "${WALL[tar_c]}") |"
  echo "| archive \\| restore --apply vs tar -cf \\| tar -xf | $(ratio "${WALL[dd_apply]}" "${WALL[tar_cx]}")× | $(verdict "${WALL[dd_apply]}" "${WALL[tar_cx]}") |"
  echo "| archive \\| restore --extract vs tar -cf \\| tar -xf | $(ratio "${WALL[dd_extract]}" "${WALL[tar_cx]}")× | $(verdict "${WALL[dd_extract]}" "${WALL[tar_cx]}") |"
  echo
  echo "### What limits the figures"
  echo
  echo "(fill in by hand)"
)
printf '%s\n' "$SECTION"
if ((APPEND)); then printf '%s\n' "$SECTION" >> "$RESULTS"; log "appended to $RESULTS"; fi
