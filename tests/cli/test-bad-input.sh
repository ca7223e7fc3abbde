#!/bin/bash
# test-bad-input.sh - wrong bases, broken chains, damaged or truncated
# deltafiles, bad options: a clear one-line error, the documented exit code
# (ddloop(8), EXIT STATUS), and the image left byte for byte as it was.
source "$(dirname "$0")/lib.sh"

truncate -s 8M a.img
text_file $((2 << 20)) a > t && write_at a.img 0 $((2 << 20)) t
cp a.img b.img && head -c 200000 /dev/urandom > r && write_at b.img 1000000 200000 r
cp b.img c.img && text_file 50000 c > t && write_at c.img 3000000 50000 t
"$DDLOOP" create --base a.img b.img -o ab.delta -q
"$DDLOOP" create --base b.img c.img -o bc.delta -q
"$DDLOOP" create --base a.img c.img -o ac.delta -q

untouched() {  # untouched IMAGE SHA: the image still has its old contents
  check "$1 is untouched" test "$(sha256sum <"$1")" = "$2"
}

cp c.img img && sum=$(sha256sum <img)
expect_exit 6 "apply onto a wrong base" "$DDLOOP" apply ab.delta img
err_has "img: is not the base of the delta"
untouched img "$sum"

cp a.img img && rm -f img.ddloop-state && sum=$(sha256sum <img)
expect_exit 7 "apply two deltas from one base (a fork)" "$DDLOOP" apply ab.delta ac.delta img
err_has "ab.delta and ac.delta: both continue from"
untouched img "$sum"
expect_exit 7 "apply a delta twice" "$DDLOOP" apply ab.delta bc.delta ab.delta img
err_has "the same delta given twice"
untouched img "$sum"
expect_exit 0 "apply a chain given out of order" "$DDLOOP" apply bc.delta ab.delta img -q
check "the shuffled chain gives the last image" same img c.img
cp a.img img && rm -f img.ddloop-state && sum=$(sha256sum <img)

truncate -s 4M small.img && sum=$(sha256sum <small.img)
expect_exit 6 "apply onto an image of another size" "$DDLOOP" apply ab.delta small.img
err_has "small.img: size 4194304 bytes"
untouched small.img "$sum"

# Damaged deltas: every region, refused before the image is touched.
size=$(stat -c %s ab.delta)
for at in 0 300 600 $((size / 2)) $((size - 4200)) $((size - 60)); do
  cp ab.delta bad.delta
  printf '\xff' | dd of=bad.delta bs=1 seek=$at conv=notrunc status=none
  cp a.img img && rm -f img.ddloop-state && sum=$(sha256sum <img)
  expect_exit 4 "apply a delta damaged at byte $at" "$DDLOOP" apply bad.delta img
  err_has "bad.delta:"
  untouched img "$sum"
  expect_exit 4 "verify a delta damaged at byte $at" "$DDLOOP" verify bad.delta
done
for n in 100 5000 $((size - 1)); do
  head -c $n ab.delta > cut.delta
  expect_exit 4 "verify a delta truncated to $n bytes" "$DDLOOP" verify cut.delta
  err_has "truncated"
  cp a.img img && rm -f img.ddloop-state && sum=$(sha256sum <img)
  expect_exit 4 "apply a delta truncated to $n bytes" "$DDLOOP" apply cut.delta img
  untouched img "$sum"
done
head -c 1000 /dev/urandom > junk.delta
expect_exit 4 "info on a file that is not a deltafile" "$DDLOOP" info junk.delta
err_has "junk.delta: bad magic: not a deltafile"

# A newer format version is "unsupported", not "corrupt".
cp "$HERE/../golden/invalid/version-2.delta" v2.delta
expect_exit 5 "a newer format version" "$DDLOOP" info v2.delta
err_has "format version 2"

# Missing files and bad options.
expect_exit 3 "a missing deltafile" "$DDLOOP" info nope.delta
err_has "nope.delta"
expect_exit 3 "a missing new image" "$DDLOOP" create --base a.img nope.img -o x.delta
check "no output is left behind" test ! -e x.delta
expect_exit 2 "a chunk size that is not a power of two" "$DDLOOP" create --base a.img b.img -o x.delta --chunk-size 3000
expect_exit 2 "an unknown option" "$DDLOOP" create --frobnicate a.img -o x.delta
expect_exit 2 "no subcommand" "$DDLOOP"
expect_exit 2 "apply without an image" "$DDLOOP" apply ab.delta
expect_exit 2 "apply --check bogus" "$DDLOOP" apply --check bogus ab.delta img
truncate -s 1000 odd.img
expect_exit 2 "an image whose size is not a multiple of 512" "$DDLOOP" create odd.img -o x.delta
truncate -s 16M big.img
expect_exit 2 "images of different sizes" "$DDLOOP" create --base a.img big.img -o x.delta
err_has "differs from"

# Interrupted create: no output and no temp file are left behind.
truncate -s 8G sparse-a.img sparse-b.img
printf 'x' | dd of=sparse-b.img bs=1 seek=$((6 << 30)) conv=notrunc status=none
for attempt in 1 2 3 4 5; do
  "$DDLOOP" create --base sparse-a.img sparse-b.img -o int.delta -q --threads 1 &
  pid=$!
  sleep 0.2
  kill -INT $pid 2>/dev/null
  rc=0; wait $pid || rc=$?
  [ $rc -ne 0 ] && break
  rm -f int.delta
done
check "an interrupted create exits with 130 (got $rc)" test $rc -eq 130
check "an interrupted create leaves no output" test ! -e int.delta
check "an interrupted create leaves no temp file" sh -c "! ls int.delta.tmp.* 2>/dev/null"
rm -f sparse-a.img sparse-b.img

# verify --base with the wrong image.
expect_exit 6 "verify --base with the wrong image" "$DDLOOP" verify ab.delta --base c.img
err_has "c.img: is not the base of ab.delta"

# A damaged state file is reported, not trusted.
cp a.img img && rm -f img.ddloop-state
"$DDLOOP" apply ab.delta img -q
sed -i 's/^state at/state  at/' img.ddloop-state
sum=$(sha256sum <img)
expect_exit 4 "a damaged replica state file" "$DDLOOP" apply bc.delta img
err_has "damaged replica state"
untouched img "$sum"

# An image changed behind the state's back is checked in full.
cp a.img img && rm -f img.ddloop-state && "$DDLOOP" apply ab.delta img -q
printf 'tampered' | dd of=img bs=1 seek=5000000 conv=notrunc status=none
sum=$(sha256sum <img)
expect_exit 6 "an image modified since its state was recorded" "$DDLOOP" apply bc.delta img
untouched img "$sum"

finish
