#!/usr/bin/env bash
# test-extent-map-chain.sh - real chains, made by `ddloop create`, through
# the driver's extent-map merge and index checks (kernel/ddloop_map.h) in
# userspace under ASan: extent_map_harness --chain loads each delta with
# ddloop_check_footer/ddloop_check_entry, merges with ddloop_overlay, and
# reads the volume through the map, which must equal the target image.
#
# Usage: tests/kernel/test-extent-map-chain.sh PATH-TO-ddloop PATH-TO-extent_map_harness
HARNESS=$(readlink -f "${2:?usage: $0 PATH-TO-ddloop PATH-TO-extent_map_harness}")
# shellcheck source=../cli/lib.sh
. "$(dirname "$0")/../cli/lib.sh"

run() {  # run WHAT BASE TARGET DELTA...
  local what=$1; shift
  if "$HARNESS" --chain "$@" >"$T/harness.out" 2>&1; then
    ok "$what: $(tail -n 1 "$T/harness.out" | sed 's/^ok *//')"
  else
    not_ok "$what:"
    sed 's/^/#   /' "$T/harness.out" | tail -n 40
  fi
}
put() {  # put IMAGE BLOCK4K COUNT SOURCE: COUNT 4 KiB blocks of SOURCE at BLOCK4K
  head -c $(($3 * 4096)) "$4" | dd of="$1" bs=4096 seek="$2" conv=notrunc status=none
}

# The chain of issue 12: x1 rewrites 256 KiB (one record), x2 changes three
# separate 4 KiB blocks strictly inside it.
head -c $((1 << 20)) /dev/urandom >x0.img
cp x0.img x1.img && put x1.img 64 64 /dev/urandom
cp x1.img x2.img
for b in 68 100 120; do put x2.img $b 1 /dev/urandom; done
"$DDLOOP" create -q --base x0.img x1.img -o x1.delta
"$DDLOOP" create -q --base x1.img x2.img -o x2.delta
run "issue 12 chain (256 KiB, then 3 blocks inside)" x0.img x2.img x1.delta x2.delta

# A longer chain over 8 MiB: random runs, zeroed runs (ZERO records),
# compressible runs, single blocks at both ends and adjacent to earlier
# changes, then a seed of the result followed by one more delta.
head -c $((8 << 20)) /dev/urandom >y0.img
prev=y0.img
deltas=()
for k in 1 2 3 4 5; do
  cp $prev y$k.img
  for _ in 1 2 3 4 5 6; do
    # Inside the 2048 blocks: a write past the end grew the image, and
    # `ddloop create` then rightly refused two sizes (a CI flake).
    n=$((1 + RANDOM % 70)) && at=$((RANDOM % (2048 - n + 1)))
    case $((RANDOM % 3)) in
      0) put y$k.img $at $n /dev/urandom ;;
      1) put y$k.img $at $n /dev/zero ;;
      2) yes "ddloop extent $k $at" | put y$k.img $at $n /dev/stdin ;;
    esac
  done
  put y$k.img 0 1 /dev/urandom                  # the first block
  put y$k.img 2047 1 /dev/urandom               # the last block
  put y$k.img $((k * 100 + 1)) 1 /dev/urandom   # next to delta k-1's
  "$DDLOOP" create -q --base $prev y$k.img -o y$k.delta
  deltas+=("y$k.delta")
  prev=y$k.img
done
run "5-delta chain over 8 MiB (data, zero, compressible)" y0.img y5.img "${deltas[@]}"
"$DDLOOP" create -q y5.img -o s5.delta
cp y5.img y6.img && put y6.img 500 300 /dev/urandom && put y6.img 600 3 /dev/zero
"$DDLOOP" create -q --base y5.img y6.img -o y6.delta
run "seed chain (no base) plus one delta" - y6.img s5.delta y6.delta

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
