#!/bin/bash
# test-chain-order.sh - `apply`, `mount` and `attach` order a chain
# themselves (deltafile/chain_order.h): five deltas given reversed or
# shuffled rebuild the last image byte for byte; a fork, a gap and a delta
# given twice exit 7 with one line naming the files, the image untouched.
source "$(dirname "$0")/lib.sh"

SIZE=$((6 << 20))
truncate -s $SIZE s0.img
text_file $((2 << 20)) base > t && write_at s0.img 0 $((2 << 20)) t
for n in 1 2 3 4 5; do
  cp s$((n - 1)).img s$n.img
  head -c 100000 /dev/urandom > r && write_at s$n.img $((n * 900000)) 100000 r
  "$DDLOOP" create --base s$((n - 1)).img s$n.img -o d$n.delta -q
done
"$DDLOOP" create --base s1.img s3.img -o fork.delta -q  # from s1, like d2

apply_fresh() {  # apply_fresh WHAT DELTA...: onto a new copy of s0, then compare with s5
  local what=$1; shift
  cp s0.img img && rm -f img.ddloop-state
  expect_exit 0 "apply $what" "$DDLOOP" apply "$@" img -q
  check "$what gives the last image" same img s5.img
}
apply_fresh "in order" d1.delta d2.delta d3.delta d4.delta d5.delta
apply_fresh "reversed" d5.delta d4.delta d3.delta d2.delta d1.delta
apply_fresh "shuffled" d3.delta d5.delta d1.delta d4.delta d2.delta
apply_fresh "shuffled again" d2.delta d4.delta d1.delta d5.delta d3.delta

# --json lists the deltas in the order applied.
cp s0.img img && rm -f img.ddloop-state
"$DDLOOP" apply --json d4.delta d2.delta d5.delta d1.delta d3.delta img > out.json
check "--json lists the deltas in chain order" python3 -c "
import json, sys
j = json.load(open('out.json'))
assert [d['file'] for d in j['deltas']] == ['d%d.delta' % n for n in range(1, 6)], j
assert j['applied'] == 5 and not any(d['already_there'] for d in j['deltas']), j"

# Part way along: the image holds s3; the shuffled chain finishes it.
cp s3.img img && rm -f img.ddloop-state
"$DDLOOP" apply --json d5.delta d1.delta d4.delta d3.delta d2.delta img > out.json
check "an image at s3 finishes a shuffled chain" same img s5.img
check "--json marks the three deltas already there" python3 -c "
import json
j = json.load(open('out.json'))
assert [d['already_there'] for d in j['deltas']] == [True, True, True, False, False], j"

# Broken chains: exit 7, one line naming the files, the image untouched.
cp s0.img img && rm -f img.ddloop-state && sum=$(sha256sum <img)
untouched() { check "the image is untouched ($1)" test "$(sha256sum <img)" = "$sum"; }
expect_exit 7 "a fork" "$DDLOOP" apply d3.delta fork.delta d1.delta d2.delta img
err_has "fork.delta and d2.delta: both continue from"
untouched fork
expect_exit 7 "a gap" "$DDLOOP" apply d5.delta d1.delta d2.delta d4.delta img
err_has "d2.delta: no delta given continues from its target"
err_has "d4.delta starts from"
untouched gap
expect_exit 7 "a delta given twice" "$DDLOOP" apply d2.delta d1.delta d2.delta img
err_has "the same delta given twice"
untouched twice
check "no state file was written" test ! -e img.ddloop-state

# mount and attach: a shuffled chain serves the last snapshot.
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ] || ! command -v losetup >/dev/null; then
  echo "SKIP (part): mount/attach need root, /dev/fuse and losetup"
else
  export DDLOOP_RUN_DIR="$T/run"
  mkdir mnt
  trap '"$DDLOOP" detach --all --force -q 2>/dev/null; umount -l "$T/mnt" 2>/dev/null; rm -rf "$T"' EXIT
  expect_exit 0 "mount a shuffled chain" "$DDLOOP" mount --base s0.img d4.delta d1.delta d5.delta d3.delta d2.delta mnt
  check "mnt/disk equals s5" same mnt/disk s5.img
  umount mnt
  expect_exit 7 "mount with a gap" "$DDLOOP" mount --base s0.img d1.delta d3.delta mnt
  err_has "(a gap: deltas are missing)"
  dev=$("$DDLOOP" attach --base s0.img d5.delta d3.delta d1.delta d2.delta d4.delta) && {
    check "attach of a shuffled chain: $dev equals s5" same "$dev" s5.img
    "$DDLOOP" detach -q "$dev"
  } || not_ok "attach a shuffled chain"
  expect_exit 7 "attach with a fork" "$DDLOOP" attach --base s0.img d1.delta d2.delta fork.delta
  err_has "both continue from"
fi

finish
