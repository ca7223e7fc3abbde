#!/bin/bash
# test-volume.sh - ddloop volumes end to end (issue 6): ext4 on an attached
# volume through a scripted workload, a snapshot after each step (frozen
# through --mount-fs); every snapshot exported two ways; for every pair
# A < B, `volume delta` applied onto an image of A gives B byte for byte and
# carries the fingerprint `ddloop create` computes from the two images;
# fsync reaches the store (kill -9 of the server loses nothing synced);
# revert; snapshot delete (attached and not); `volume check` finds a
# flipped byte in an index and in a data chunk; bad input.
source "$(dirname "$0")/lib.sh"
requires mkfs.ext4 e2fsck fsfreeze losetup mount umount sha256sum
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (FUSE mounts, loop devices)"; exit 77; }
[ -c /dev/fuse ] || { echo "SKIP: /dev/fuse is missing (FUSE not available here)"; exit 77; }
[ -c /dev/loop-control ] || { echo "SKIP: /dev/loop-control is missing (no loop devices)"; exit 77; }
export DDLOOP_RUN_DIR="$T/run"
cleanup() {
  "$DDLOOP" detach --all --force -q 2>/dev/null
  umount -l "$T/fs" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
mkdir -p fs
V=$T/vol

# tree NAME: names and contents of the files under fs, for comparing.
tree() { (cd fs && find . -path ./lost+found -prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum) > "tree-$1"; }
snap() { expect_exit 0 "snapshot $1 of the attached volume (frozen)" "$DDLOOP" snapshot create "$V" "$1"
         grep -q "filesystem frozen" "$T/.out" || not_ok "snapshot $1 did not freeze the filesystem"; tree "$1"; }

expect_exit 0 "volume create (64 MiB)" "$DDLOOP" volume create "$V" --size 64M -q
dev=$("$DDLOOP" volume attach "$V") || not_ok "volume attach"
check "the live volume's device is writable" test "$(blockdev --getro "$dev")" = 0
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$dev"
expect_exit 0 "detach" "$DDLOOP" detach -q "$dev"
expect_exit 0 "attach again with --mount-fs" "$DDLOOP" volume attach "$V" --mount-fs fs
check "list shows the volume attachment" sh -c "'$DDLOOP' list | grep -q 'volume $V .*ok'"
snap s0
# The workload: create, append, delete, overwrite, a large file.
mkdir fs/dir && for i in 1 2 3; do text_file 150000 "$i" > fs/dir/f$i.txt; done
head -c $((4 << 20)) /dev/urandom > fs/big.bin
snap s1
text_file 300000 appended >> fs/dir/f1.txt
snap s2
rm fs/dir/f2.txt
snap s3
head -c 300000 /dev/urandom | dd of=fs/big.bin bs=1 seek=1000000 conv=notrunc status=none
snap s4
head -c $((12 << 20)) /dev/urandom > fs/large.bin
snap s5
check "snapshot list shows the six snapshots" test "$("$DDLOOP" snapshot list "$V" | grep -c '^s[0-5] ')" = 6

# fsync reaches the store: written + sync, then the server is killed.
head -c 1000000 /dev/urandom > fs/synced.bin && sync fs/synced.bin && sync
sum_synced=$(sha256sum <fs/synced.bin)
pid=$("$DDLOOP" list --json | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
kill -9 "$pid"
expect_exit 0 "detach after kill -9 of the server" timeout 60 "$DDLOOP" detach -q --force fs
expect_exit 0 "attach after the crash" "$DDLOOP" volume attach "$V" --mount-fs fs
check "data synced before the crash is there" test "$(sha256sum <fs/synced.bin 2>/dev/null)" = "$sum_synced"
expect_exit 9 "a second attach of the live volume" "$DDLOOP" volume attach "$V"
err_has "in use by"
expect_exit 9 "revert while attached" "$DDLOOP" volume revert "$V" s1
err_has "in use by"
expect_exit 9 "check while attached" "$DDLOOP" volume check "$V"
expect_exit 0 "volume info while attached" "$DDLOOP" volume info "$V" --json
check "info says it is in use" grep -q '"in_use": true' "$T/.out"
expect_exit 0 "detach" "$DDLOOP" detach -q fs

# Each snapshot as an image: through a read-only attach, and from a seed delta.
truncate -s 64M img-origin
for s in s0 s1 s2 s3 s4 s5; do
  d=$("$DDLOOP" volume attach "$V" --snapshot "$s") || { not_ok "attach --snapshot $s"; continue; }
  [ "$(blockdev --getro "$d")" = 1 ] || not_ok "snapshot $s's device is read-only"
  dd if="$d" of="img-$s" bs=1M status=none
  "$DDLOOP" detach -q "$d"
  "$DDLOOP" volume delta "$V" --to "$s" -o "seed-$s.ddl" -q && "$DDLOOP" apply "seed-$s.ddl" "seed-$s.img" -q
  check "snapshot $s: the seed delta gives the attached snapshot's bytes" same "seed-$s.img" "img-$s"
done

# Every pair A < B.
snaps="origin s0 s1 s2 s3 s4 s5"
for a in $snaps; do
  later=0
  for b in $snaps; do
    [ "$b" = "$a" ] && { later=1; continue; }
    [ $later = 1 ] && [ "$b" != origin ] || continue
    "$DDLOOP" volume delta "$V" --from "$a" --to "$b" -o d.ddl -q || { not_ok "volume delta $a..$b"; continue; }
    "$DDLOOP" verify d.ddl -q || not_ok "verify of volume delta $a..$b"
    cp "img-$a" x.img && "$DDLOOP" apply d.ddl x.img -q || not_ok "apply of volume delta $a..$b"
    same x.img "img-$b" || not_ok "volume delta $a..$b onto $a does not give $b"
    "$DDLOOP" create --base "img-$a" "img-$b" -o c.ddl -q
    fp() { "$DDLOOP" info --json "$1" | sed -n "s/.*\"$2\": {[^}]*\"fingerprint\": \"\([0-9a-f]*\)\".*/\1/p"; }
    [ -n "$(fp d.ddl target)" ] && [ "$(fp d.ddl target)" = "$(fp c.ddl target)" ] &&
      [ "$(fp d.ddl base)" = "$(fp c.ddl base)" ] || not_ok "fingerprints of $a..$b differ from ddloop create's"
    rm -f x.img x.img.ddloop-state
    ok "pair $a..$b: verify, apply gives $b byte for byte, fingerprints as ddloop create's"
  done
done

# Bad input: one line, documented exit codes.
mkdir notvol
expect_exit 3 "a directory that is not a volume" "$DDLOOP" volume info notvol
err_has "not a ddloop volume"
expect_exit 3 "an unknown snapshot" "$DDLOOP" volume delta "$V" --from s1 --to nosuch -o x.ddl
err_has "no snapshot 'nosuch'"
check "no output is left behind" test ! -e x.ddl
expect_exit 3 "attach of an unknown snapshot" "$DDLOOP" volume attach "$V" --snapshot nosuch
expect_exit 2 "a delta backwards" "$DDLOOP" volume delta "$V" --from s3 --to s1 -o x.ddl
expect_exit 2 "create over an existing volume" "$DDLOOP" volume create "$V" --size 1M
expect_exit 2 "a duplicate snapshot name" "$DDLOOP" snapshot create "$V" s1

# Revert to an early snapshot, then delete snapshots (one through the attach server).
expect_exit 0 "volume revert to s1" "$DDLOOP" volume revert "$V" s1 -q
dev=$("$DDLOOP" volume attach "$V")
check "the reverted volume reads as s1" test "$(sha256sum <"$dev")" = "$(sha256sum <img-s1)"
check "e2fsck -n is clean after the revert" sh -c "e2fsck -fn $dev >/dev/null 2>&1"
"$DDLOOP" detach -q "$dev"
"$DDLOOP" volume attach "$V" --mount-fs fs >/dev/null && tree reverted
check "the reverted file tree equals s1's" diff tree-s1 tree-reverted
d=$("$DDLOOP" volume attach "$V" --snapshot s3)
expect_exit 2 "snapshot delete while a snapshot is attached" "$DDLOOP" snapshot delete "$V" s4
"$DDLOOP" detach -q "$d"
expect_exit 0 "snapshot delete s4 of the attached volume" "$DDLOOP" snapshot delete "$V" s4 -q
"$DDLOOP" detach -q fs
expect_exit 0 "snapshot delete s2 (detached: merged into s3)" "$DDLOOP" snapshot delete "$V" s2 -q
expect_exit 0 "snapshot delete s0 (the oldest: folded into base)" "$DDLOOP" snapshot delete "$V" s0 -q
"$DDLOOP" volume delta "$V" --from s1 --to s5 -o d.ddl -q && cp img-s1 x.img && "$DDLOOP" apply d.ddl x.img -q
check "after the deletes, s1..s5 still gives s5" same x.img img-s5
check "snapshot list shows s1 s3 s5" test "$("$DDLOOP" snapshot list "$V" --json | grep -o '"name": "[^"]*"' | tr -d '\n')" = '"name": "s1""name": "s3""name": "s5"'

# volume check: clean, then a flipped byte in an index and in a data chunk.
expect_exit 0 "volume check of the intact volume" "$DDLOOP" volume check "$V"
flip() { local b; b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '); printf "\\$(printf %o $((b ^ 1)))" |
         dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
idx=$(ls -S "$V"/seg-*-*.idx | head -1)
cp "$idx" idx.bak && flip "$idx" 200
expect_exit 4 "volume check finds a flipped byte in an index" "$DDLOOP" volume check "$V"
check "the report names the index file" grep -q "^$idx: " "$T/.out"
cp idx.bak "$idx"
data=${idx%-*}.data
off=$(cmp "$data" /dev/zero 2>/dev/null | sed -n 's/.* byte \([0-9]*\),.*/\1/p')
flip "$data" $((off - 1 + 100))
expect_exit 4 "volume check finds a flipped byte in a data chunk" "$DDLOOP" volume check "$V"
check "the report names the data file" grep -q "^$data: chunk [0-9]* does not match its index entry" "$T/.out"
check "nothing is left attached" sh -c "'$DDLOOP' list | grep -q 'nothing attached'"
check "no loop device of ours is left" sh -c "! losetup -a | grep -q 'ddloop:'"
finish
