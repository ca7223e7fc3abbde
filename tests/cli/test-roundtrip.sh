#!/bin/bash
# test-roundtrip.sh - create/apply round trips through the command: odd
# sizes, zero regions, incompressible data, a change in the last partial
# chunk, a chain of five in one call, a seed onto an empty file, info/verify.
source "$(dirname "$0")/lib.sh"

SIZE=$((10 * 1024 * 1024 + 3 * 4096 + 512))
truncate -s $SIZE old.img
text_file $((3 << 20)) a > t1 && write_at old.img 0 $((3 << 20)) t1
head -c $((2 << 20)) /dev/urandom > r1 && write_at old.img $((4 << 20)) $((2 << 20)) r1
cp old.img new.img
text_file 70000 b > t2 && write_at new.img 100000 70000 t2
head -c 300000 /dev/urandom > r2 && write_at new.img $((5 << 20 + 4096)) 300000 r2
write_at new.img $((1 << 20)) $((1 << 20)) /dev/zero
head -c 4096 /dev/urandom > r3 && write_at new.img $((7 << 20)) 4096 r3
text_file 600 c > t3 && write_at new.img $((SIZE - 700)) 600 t3

for cs in 4K 64K 1M; do
  expect_exit 0 "create --chunk-size $cs" "$DDLOOP" create --base old.img new.img -o d-$cs.delta --chunk-size $cs -q
  expect_exit 0 "verify --base ($cs)" "$DDLOOP" verify d-$cs.delta --base old.img -q
  cp old.img img-$cs
  expect_exit 0 "apply ($cs)" "$DDLOOP" apply d-$cs.delta img-$cs -q
  check "apply gives NEW byte for byte ($cs)" same img-$cs new.img
done
expect_exit 0 "create --level 0 --threads 1" "$DDLOOP" create --base old.img new.img -o raw.delta --level 0 --threads 1 -q
cp old.img img-raw && "$DDLOOP" apply raw.delta img-raw -q
check "uncompressed delta applies" same img-raw new.img

# info: human and JSON.
"$DDLOOP" info d-64K.delta > info.txt
check "info shows the kind" grep -q "incremental" info.txt
check "info shows the volume size" grep -q "($SIZE bytes)" info.txt
"$DDLOOP" info --json d-64K.delta > info.json
check "info --json is one object with volume_size" grep -q "\"volume_size\": $SIZE" info.json
"$DDLOOP" create --base old.img new.img -o j.delta --json > create.json
check "create --json reports changed chunks" grep -q '"changed_chunks"' create.json

# Seed onto an empty file and onto a missing one.
expect_exit 0 "create seed" "$DDLOOP" create new.img -o seed.delta -q
: > empty.img
expect_exit 0 "apply seed onto an empty file" "$DDLOOP" apply seed.delta empty.img -q
check "seed gives NEW" same empty.img new.img
expect_exit 0 "apply seed onto a missing file" "$DDLOOP" apply seed.delta fresh.img -q
check "seed creates NEW" same fresh.img new.img

# A chain of five deltas applied in one call.
cp old.img s0.img
for i in 1 2 3 4 5; do
  cp s$((i - 1)).img s$i.img
  head -c 65536 /dev/urandom > rnd && write_at s$i.img $((i * 1000000)) 65536 rnd
  text_file 5000 "$i" > txt && write_at s$i.img $((i * 1500000 + 512)) 5000 txt
  "$DDLOOP" create --base s$((i - 1)).img s$i.img -o c$i.delta -q
done
cp s0.img chain.img
expect_exit 0 "apply a chain of 5 in one call" "$DDLOOP" apply c1.delta c2.delta c3.delta c4.delta c5.delta chain.img -q
check "chain gives the last target" same chain.img s5.img
expect_exit 0 "re-applying the chain is a no-op" "$DDLOOP" apply c1.delta c2.delta c3.delta c4.delta c5.delta chain.img
cp s2.img mid.img
expect_exit 0 "an image at delta 2's target gets 3..5" "$DDLOOP" apply c1.delta c2.delta c3.delta c4.delta c5.delta mid.img -q
check "mid-chain image reaches the last target" same mid.img s5.img
cp s0.img full.img
expect_exit 0 "apply --check full" "$DDLOOP" apply --check full c1.delta full.img -q
check "--check full result" same full.img s1.img
"$DDLOOP" apply --json c2.delta full.img > apply.json
check "apply --json reports the base check" grep -q '"base_check": "recorded state' apply.json

finish
