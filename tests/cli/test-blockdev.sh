#!/bin/bash
# test-blockdev.sh - block devices as inputs and as the replica: create from
# loop devices, apply onto a loop device (ZERO records take BLKZEROOUT),
# wrong base refused with the device untouched, quick check from the state.
source "$(dirname "$0")/lib.sh"
requires losetup
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for loop devices"; exit 77; }
DEVS=()
cleanup_devs() { for d in "${DEVS[@]}"; do losetup -d "$d" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup_devs EXIT
attach() {  # attach VAR FILE: a loop device for FILE, its name in VAR
  local d
  d=$(losetup -f --show "$2" 2>/dev/null) || { echo "SKIP: cannot attach a loop device here"; exit 77; }
  DEVS+=("$d")
  printf -v "$1" '%s' "$d"
}

truncate -s 32M a.img
head -c $((8 << 20)) /dev/urandom | dd of=a.img conv=notrunc status=none
text_file $((4 << 20)) x > t && write_at a.img $((12 << 20)) $((4 << 20)) t
cp a.img b.img
head -c $((1 << 20)) /dev/urandom > r && write_at b.img $((20 << 20)) $((1 << 20)) r
write_at b.img $((2 << 20)) $((2 << 20)) /dev/zero
attach la a.img
attach lb b.img

expect_exit 0 "create from two loop devices" "$DDLOOP" create --base "$la" "$lb" -o dev.delta -q
"$DDLOOP" create --base a.img b.img -o file.delta -q
fp() { "$DDLOOP" info --json "$1" | sed 's/.*"target": {[^}]*"fingerprint": "\([0-9a-f]*\)".*/\1/'; }
check "devices and files give the same target fingerprint" test "$(fp dev.delta)" = "$(fp file.delta)"
check "the delta holds a zero record" sh -c "'$DDLOOP' info --json dev.delta | grep -q '\"zero_bytes\": 2097152'"

cp a.img r.img
attach lr r.img
expect_exit 0 "apply onto a loop device" "$DDLOOP" apply --state st dev.delta "$lr" -q
sync
check "the device holds NEW" cmp -s "$lr" b.img
check "the state is where --state says" grep -q '^state at' st
expect_exit 0 "re-apply with --check quick trusts the state" "$DDLOOP" apply --state st --check quick dev.delta "$lr"
err_has "already holds the target"

cp b.img w.img
printf 'x' | dd of=w.img bs=1 seek=100 conv=notrunc status=none
attach lw w.img
sum=$(sha256sum <"$lw")
expect_exit 6 "apply onto a device that is not the base" "$DDLOOP" apply --state st2 dev.delta "$lw"
check "the device is untouched" test "$(sha256sum <"$lw")" = "$sum"
finish
