#!/bin/bash
# test-ext4.sh - a real ext4 image through six states (files created,
# appended, renamed, deleted, a large file overwritten in the middle),
# snapshot images after each; every delta and the whole chain reproduce each
# snapshot byte for byte, and the result passes e2fsck.
source "$(dirname "$0")/lib.sh"
requires mkfs.ext4 debugfs e2fsck

SIZE=$((48 << 20))
mkdir src && for i in 1 2 3 4; do text_file 200000 "$i" > src/doc$i.txt; done
head -c $((4 << 20)) /dev/urandom > src/big.bin
truncate -s $SIZE snap0.img
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 -d src snap0.img

dbg() { debugfs -w -R "$1" "$2" >/dev/null 2>&1; }
step() {  # step N: snapN.img = snap(N-1).img changed
  cp snap$(($1 - 1)).img snap$1.img
  case $1 in
    1) text_file 300000 new > f && dbg "write f created.txt" snap1.img ;;
    2) cat src/doc1.txt > f && text_file 50000 more >> f && dbg "rm doc1.txt" snap2.img && dbg "write f doc1.txt" snap2.img ;;
    3) dbg "mv doc2.txt renamed.txt" snap3.img || dbg "ln doc2.txt renamed.txt" snap3.img; dbg "unlink doc2.txt" snap3.img ;;
    4) dbg "rm doc3.txt" snap4.img ;;
    5) cp src/big.bin f && head -c 300000 /dev/urandom | dd of=f bs=1 seek=2000000 conv=notrunc status=none &&
       dbg "rm big.bin" snap5.img && dbg "write f big.bin" snap5.img ;;
  esac
}
for n in 1 2 3 4 5; do step $n; done
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
