#!/bin/bash
# test-mount.sh - `ddloop mount` and `ddloop attach` on a real ext4 chain:
# every point of the chain reads as its snapshot (disk bytes and file tree);
# seed chains; bad chains refused; a damaged record gives EIO only where it
# is read; --cow leaves base and deltas untouched; a kill -9 of the server is
# cleaned up by detach and a new attach works.
source "$(dirname "$0")/lib.sh"
requires mkfs.ext4 debugfs sha256sum losetup mount umount
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (FUSE mounts, loop devices)"; exit 77; }
[ -c /dev/fuse ] || { echo "SKIP: /dev/fuse is missing (FUSE not available here)"; exit 77; }
export DDLOOP_RUN_DIR="$T/run"
cleanup() {
  "$DDLOOP" detach --all --force -q 2>/dev/null
  for m in "$T"/mnt* "$T"/fs "$T"/ref; do umount -l "$m" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
source "$HERE/ext4_snapshots.sh"
make_ext4_snapshots $((48 << 20))
"$DDLOOP" create snap0.img -o d0.delta -q
for n in 1 2 3 4 5; do "$DDLOOP" create --base snap$((n - 1)).img snap$n.img -o d$n.delta -q; done
mkdir -p mnt fs ref
sums_before=$(sha256sum snap0.img d*.delta)

# Every point of the chain, with a base and as a seed chain.
chain=""
for n in 1 2 3 4 5; do
  chain="$chain d$n.delta"
  expect_exit 0 "mount base + $n deltas" "$DDLOOP" mount --base snap0.img $chain mnt
  check "point $n: mnt/disk equals snapshot $n" test "$(sha256sum <mnt/disk)" = "$(sha256sum <snap$n.img)"
  umount mnt
  expect_exit 0 "mount seed + $n deltas" "$DDLOOP" mount d0.delta $chain mnt
  check "point $n (seed chain): mnt/disk equals snapshot $n" test "$(sha256sum <mnt/disk)" = "$(sha256sum <snap$n.img)"
  umount mnt
done
check "the read-only disk refuses writes" sh -c "'$DDLOOP' mount d0.delta mnt && ! (echo x > mnt/disk) 2>/dev/null; umount mnt"

# attach --mount-fs: the file tree equals the snapshot's.
chain=""
for n in 1 2 3 4 5; do
  chain="$chain d$n.delta"
  dev=$("$DDLOOP" attach --base snap0.img $chain) || { not_ok "attach point $n"; continue; }
  check "point $n: $dev equals snapshot $n" test "$(sha256sum <"$dev")" = "$(sha256sum <snap$n.img)"
  "$DDLOOP" detach -q "$dev"
  expect_exit 0 "attach --mount-fs point $n" "$DDLOOP" attach --base snap0.img $chain --mount-fs fs
  mount -o ro,loop,norecovery snap$n.img ref
  check "point $n: the file tree (names, sizes, contents) equals snapshot $n's" diff -r ref fs
  umount ref
  check "list shows the attachment" sh -c "'$DDLOOP' list | grep -q ' ok'"
  expect_exit 0 "detach point $n" "$DDLOOP" detach -q fs
done
check "nothing is left attached" sh -c "'$DDLOOP' list | grep -q 'nothing attached'"
check "no ddloop mount is left" sh -c "! grep -q '$T' /proc/mounts"

# Bad chains are refused before anything is mounted.
expect_exit 7 "a chain with a gap" "$DDLOOP" mount --base snap0.img d1.delta d3.delta d4.delta mnt
err_has "d1.delta: no delta given continues from its target"
err_has "(a gap: deltas are missing)"
truncate -s $((48 << 20)) other.img && mkfs.ext4 -q -F other.img && cp other.img other2.img
printf 'x' | dd of=other2.img bs=1 seek=30000000 conv=notrunc status=none
"$DDLOOP" create --base other.img other2.img -o foreign.delta -q
expect_exit 7 "a foreign delta in the chain" "$DDLOOP" mount --base snap0.img d1.delta foreign.delta mnt
expect_exit 6 "a chain without its base" "$DDLOOP" mount d1.delta mnt
expect_exit 6 "the wrong base image" "$DDLOOP" mount --base snap2.img d1.delta mnt
expect_exit 7 "attach refuses a broken chain too" "$DDLOOP" attach --base snap0.img d1.delta d3.delta
expect_exit 3 "a missing deltafile" "$DDLOOP" mount --base snap0.img nope.delta mnt
err_has "nope.delta"
expect_exit 4 "a file that is not a deltafile" "$DDLOOP" attach --base snap0.img snap1.img
expect_exit 3 "detach of something ddloop did not attach" "$DDLOOP" detach "$T/nowhere"
err_has "not attached by ddloop"
expect_exit 2 "mount without a mount point" "$DDLOOP" mount d0.delta
if [ ! -e /dev/ddloop-control ]; then
  expect_exit 3 "attach --kernel without the driver" "$DDLOOP" attach --kernel d0.delta
  err_has "/dev/ddloop-control"
fi
expect_exit 2 "--kernel with --cow" "$DDLOOP" attach --kernel --cow x.cow d0.delta
check "the refusals mounted nothing" sh -c "! grep -q '$T' /proc/mounts"

# A damaged record: EIO where it is read, correct data elsewhere, one log line.
cp d5.delta bad.delta
size=$(stat -c %s bad.delta)
printf '\xff\xff\xff\xff' | dd of=bad.delta bs=1 seek=$((size * 2 / 5)) conv=notrunc status=none
"$DDLOOP" mount --log "$T/mount.log" --base snap0.img d1.delta d2.delta d3.delta d4.delta bad.delta mnt
dd if=mnt/disk of=read.img bs=4096 conv=noerror,sync 2>dd.err
errors=$(grep -c "Input/output error" dd.err)
check "reads that touch the damaged record fail with EIO ($errors blocks)" test "$errors" -gt 0
check "at most one record's worth of blocks fail ($errors <= 64)" test "$errors" -le 64
cmp -l read.img snap5.img | awk '{print int(($1 - 1) / 4096)}' | sort -un > bad-blocks
check "every other block reads correctly (only failed blocks differ)" test "$(wc -l <bad-blocks)" -le "$errors"
check "the log names the deltafile and record" grep -q "bad.delta: record [0-9]* at byte" "$T/mount.log"
check "the damage is logged once" test "$(grep -c 'bad.delta: record' "$T/mount.log")" -eq 1
umount mnt

# --cow: read-write ext4 on the overlay; base and deltas stay byte-identical.
expect_exit 0 "attach --cow --mount-fs (read-write)" "$DDLOOP" attach --base snap0.img d1.delta d2.delta --cow scratch.cow --mount-fs fs
echo "written through the overlay" > fs/new-file.txt && head -c 3000000 /dev/urandom > fs/big-new.bin && sync
expect_exit 0 "detach the cow attachment" "$DDLOOP" detach -q fs
check "base and deltafiles are byte-identical to before" test "$(sha256sum snap0.img d*.delta)" = "$sums_before"
expect_exit 0 "re-attach with the same scratch file" "$DDLOOP" attach --base snap0.img d1.delta d2.delta --cow scratch.cow --mount-fs fs
check "the files written before are there" grep -q "written through the overlay" fs/new-file.txt
"$DDLOOP" detach -q fs
expect_exit 6 "the scratch file of another chain point is refused" "$DDLOOP" attach --base snap0.img d1.delta --cow scratch.cow
check "e2fsck of the chain is unaffected" sh -c "'$DDLOOP' mount --base snap0.img d1.delta d2.delta mnt && e2fsck -fn mnt/disk >/dev/null 2>&1; rc=\$?; umount mnt; exit \$rc"

# kill -9 of the server while a reader is active; detach cleans up.
"$DDLOOP" attach --base snap0.img d1.delta d2.delta d3.delta --mount-fs fs >/dev/null
pid=$("$DDLOOP" list --json | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
if [ -n "$pid" ] && [ "$pid" -gt 1 ]; then
  ( while cat fs/created.txt fs/big.bin >/dev/null 2>&1; do echo 1 > /proc/sys/vm/drop_caches; done ) &
  reader=$!
  sleep 0.5
  kill -9 "$pid"
  sleep 0.3
  check "list reports the attachment stale" sh -c "'$DDLOOP' list | grep -q stale"
  expect_exit 0 "detach after kill -9" timeout 60 "$DDLOOP" detach -q fs
  kill "$reader" 2>/dev/null; wait "$reader" 2>/dev/null
  check "no ddloop mount is left after the kill" sh -c "! grep -q '$T' /proc/mounts"
  check "no loop device of ours is left" sh -c "! losetup -a | grep -q '$T/run'"
  expect_exit 0 "a new attach works" "$DDLOOP" attach --base snap0.img d1.delta --mount-fs fs
  check "and shows the files" test -f fs/created.txt
  "$DDLOOP" detach -q fs
else
  not_ok "could not find the server's PID"
fi
finish
