#!/bin/bash
# test-stream-apply.sh - `apply --from -`: a deltafile read from a pipe (no
# seek), including broken and interrupted streams, which must never leave
# an image recorded as complete, and resume when the stream is sent again.
source "$(dirname "$0")/lib.sh"

truncate -s 16M a.img
text_file $((6 << 20)) a > t && write_at a.img 0 $((6 << 20)) t
cp a.img b.img
head -c $((3 << 20)) /dev/urandom > r && write_at b.img $((8 << 20)) $((3 << 20)) r
text_file 100000 b > t && write_at b.img 200000 100000 t
"$DDLOOP" create --base a.img b.img -o ab.delta -q
"$DDLOOP" create b.img -o seed.delta -q

cp a.img img
cat ab.delta | "$DDLOOP" apply --from - img -q
check "a delta from a pipe applies" same img b.img
expect_exit 0 "the same stream onto its target is a no-op" sh -c "cat ab.delta | '$DDLOOP' apply --from - img"
err_has "already holds the target"
check "the state records the target" grep -q '^state at' img.ddloop-state

: > s.img
"$DDLOOP" apply --from - s.img -q < seed.delta
check "a seed from stdin onto an empty file" same s.img b.img

mkfifo fifo
cp a.img img2
cat ab.delta > fifo &
"$DDLOOP" apply --from - img2 -q < fifo
check "a delta through a FIFO applies" same img2 b.img

# A stream cut short: an error, and the image is not recorded as done.
cp a.img img && rm -f img.ddloop-state
size=$(stat -c %s ab.delta)
expect_exit 4 "a truncated stream is refused" sh -c "head -c $((size * 2 / 3)) ab.delta | '$DDLOOP' apply --from - img"
err_has "<stdin>"
check "the state says the apply is unfinished" grep -q '^state applying' img.ddloop-state
cat ab.delta | "$DDLOOP" apply --from - img -q
check "sending the whole stream again finishes the job" same img b.img

# A stream damaged in the middle: stops before writing bad data.
cp ab.delta bad.delta
printf '\xff\xff' | dd of=bad.delta bs=1 seek=$((size / 2)) conv=notrunc status=none
cp a.img img && rm -f img.ddloop-state
expect_exit 4 "a damaged stream is refused" sh -c "cat bad.delta | '$DDLOOP' apply --from - img"
check "the image is not recorded as at the target" sh -c "! grep -q '^state at' img.ddloop-state"
cat ab.delta | "$DDLOOP" apply --from - img -q
check "the good stream then finishes the job" same img b.img

# Wrong base through a pipe (neither the base nor the target): refused
# before writing.
cp a.img img && rm -f img.ddloop-state
printf 'other' | dd of=img bs=1 seek=5000000 conv=notrunc status=none
sum=$(sha256sum <img)
expect_exit 6 "a stream onto a wrong base is refused" sh -c "cat ab.delta | '$DDLOOP' apply --from - img"
check "the image is untouched" test "$(sha256sum <img)" = "$sum"

expect_exit 2 "--from with deltafile arguments" "$DDLOOP" apply --from - ab.delta img
finish
