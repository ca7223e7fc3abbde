#!/bin/bash
# test-ext4.sh - a real ext4 image through six states (files created,
# appended, renamed, deleted, a large file overwritten in the middle),
# snapshot images after each; every delta and the whole chain reproduce each
# snapshot byte for byte, and the result passes e2fsck.
source "$(dirname "$0")/lib.sh"
requires mkfs.ext4 debugfs e2fsck

source "$HERE/ext4_snapshots.sh"
make_ext4_snapshots $((48 << 20))
for n in 1 2 3 4 5; do
  check "snapshot $n differs from $((n - 1))" sh -c "! cmp -s snap$n.img snap$((n - 1)).img"
  check "snapshot $n is a clean ext4" sh -c "e2fsck -fn snap$n.img >/dev/null 2>&1"
done

"$DDLOOP" create snap0.img -o d0.delta -q
for n in 1 2 3 4 5; do
  expect_exit 0 "create delta $((n - 1))->$n" "$DDLOOP" create --base snap$((n - 1)).img snap$n.img -o d$n.delta -q
  cp snap$((n - 1)).img img
  expect_exit 0 "apply delta $n" "$DDLOOP" apply d$n.delta img -q
  check "delta $n reproduces snapshot $n" same img snap$n.img
done
: > chain.img
expect_exit 0 "apply the seed and 5 deltas in one call" "$DDLOOP" apply d0.delta d1.delta d2.delta d3.delta d4.delta d5.delta chain.img -q
check "the chain reproduces snapshot 5" same chain.img snap5.img
check "the result passes e2fsck" sh -c "e2fsck -fn chain.img >/dev/null 2>&1"
check "the result holds the renamed file" sh -c "debugfs -R 'ls -l /' chain.img 2>/dev/null | grep -q renamed.txt"
check "the deleted file is gone" sh -c "! debugfs -R 'ls -l /' chain.img 2>/dev/null | grep -q doc3.txt"
sz=$("$DDLOOP" info --json d5.delta | sed 's/.*"file_size": \([0-9]*\).*/\1/')
check "a 300 KB overwrite gives a small delta ($sz bytes)" test "$sz" -lt 2000000
finish
