#!/bin/bash
# test-hostile-delta.sh - deltafiles whose checksums are right but whose
# footer or index lie (hostile_delta.py, sparse files), and size options too
# large for 64 bits: one line on stderr and the documented exit code, never
# an abort (exit 134) or gigabytes of memory.
source "$(dirname "$0")/lib.sh"
requires python3 truncate

truncate -s 8M a.img
text_file $((1 << 20)) a > t && write_at a.img 0 $((1 << 20)) t
cp a.img b.img && head -c 100000 /dev/urandom > r && write_at b.img 1000000 100000 r
"$DDLOOP" create --base a.img b.img -o ab.delta -q
"$DDLOOP" create b.img -o seed.delta -q

# A footer claiming 127 * 2^28 records (an index of 1 TiB, all holes).
python3 "$HERE/hostile_delta.py" count ab.delta count.delta
for c in info verify; do
  expect_exit 4 "$c: a footer claiming 34091302912 records" "$DDLOOP" $c count.delta
  err_has "count.delta: footer: 34091302912 records cannot fit in"
done
cp a.img img && sum=$(sha256sum <img)
expect_exit 4 "apply: a footer claiming 34091302912 records" "$DDLOOP" apply count.delta img
check "img is untouched" test "$(sha256sum <img)" = "$sum"

# An index entry claiming a 3.9 GiB record (the file is that large, sparse).
python3 "$HERE/hostile_delta.py" record ab.delta record.delta
python3 "$HERE/hostile_delta.py" record seed.delta seedrec.delta
for c in info verify; do
  expect_exit 4 "$c: an index entry claiming a 4187593113-byte record" "$DDLOOP" $c record.delta
  err_has "index entry 0 claims a record of 4187593113 bytes"
done
expect_exit 4 "apply: an index entry claiming a 4187593113-byte record" "$DDLOOP" apply record.delta img
check "img is untouched" test "$(sha256sum <img)" = "$sum"

# mount: refused at open, in little memory. (Before: mounted, and one 4 KiB
# read took the server to 3.9 GB and half a minute.)
if [ "$(id -u)" -eq 0 ] && [ -c /dev/fuse ] && command -v /usr/bin/time >/dev/null; then
  export DDLOOP_RUN_DIR="$T/run"
  mkdir -p mnt
  trap 'umount -l "$T/mnt" 2>/dev/null; rm -rf "$T"' EXIT
  expect_exit 4 "mount: a seed whose index claims a 4187593113-byte record" \
    /usr/bin/time -o rss -f %M "$DDLOOP" mount seedrec.delta mnt --pid-file pid
  err_has "seedrec.delta: index entry 0 claims a record of 4187593113 bytes"
  if [ -s pid ]; then  # it mounted after all: measure what one read costs
    dd if=mnt/disk of=/dev/null bs=4k count=1 status=none 2>/dev/null
    not_ok "mount served it: after one 4 KiB read the server's peak RSS is $(grep VmHWM "/proc/$(cat pid)/status")"
    umount mnt
  fi
  rss=$(tail -1 rss) limit=100000
  [ -n "${DDLOOP_SANITIZED:-}" ] && limit=500000  # ASan's own memory
  check "mount's peak RSS ${rss} KB is under $((limit / 1000)) MB" test "$rss" -lt $limit
else
  echo "skip mount part: needs root, /dev/fuse and /usr/bin/time"
fi

# Every size option, given 20+ digits or a suffix that overflows: exit 2.
big=99999999999999999999
mkdir -p repo mnt
for v in $big 18446744073709551616 17179869184T; do
  expect_exit 2 "volume create --size $v" "$DDLOOP" volume create vol --size $v
  err_has "--size $v: too large"
  expect_exit 2 "create --chunk-size $v" "$DDLOOP" create --base a.img b.img -o x.delta --chunk-size $v
  err_has "--chunk-size $v: too large"
  expect_exit 2 "mount --cache-size $v" "$DDLOOP" mount --base a.img ab.delta mnt --cache-size $v
  err_has "--cache-size $v: too large"
  expect_exit 2 "attach --cache-size $v" "$DDLOOP" attach --base a.img ab.delta --cache-size $v
  err_has "--cache-size $v: too large"
  expect_exit 2 "apply --checkpoint $v" "$DDLOOP" apply --checkpoint $v ab.delta img
  err_has "--checkpoint $v: too large"
  expect_exit 2 "archive --block-size $v" "$DDLOOP" archive ab.delta -f out.tar --block-size $v
  err_has "--block-size $v: too large"
  expect_exit 2 "archive --media-size $v" "$DDLOOP" archive ab.delta -f out.tar --media-size $v
  err_has "--media-size $v: too large"
  expect_exit 2 "push --limit-rate $v" "$DDLOOP" push --limit-rate $v ab.delta "file://$T/repo"
  err_has "--limit-rate $v: too large"
  expect_exit 2 "pull --limit-rate $v" "$DDLOOP" pull --limit-rate $v "file://$T/repo" in
  err_has "--limit-rate $v: too large"
done
check "img is untouched" test "$(sha256sum <img)" = "$sum"
check "nothing was created" test ! -e vol -a ! -e x.delta -a ! -e out.tar
check "the largest size still parses" "$DDLOOP" apply --checkpoint 18446744073709551615 -q ab.delta img
finish
