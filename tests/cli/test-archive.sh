#!/bin/bash
# test-archive.sh - `ddloop archive` and `ddloop restore`: pax archives that
# GNU tar and bsdtar read, fixed-size writes through a FIFO, streaming apply
# with no temporary files, split sets in and out of order, appended
# archives, and damaged, truncated, foreign and hostile archives.
source "$(dirname "$0")/lib.sh"
requires tar bsdtar python3

# A chain: seed (a), a->b, b->c, c->d; each step writes 2 MiB of random data.
truncate -s 16M a.img
text_file $((4 << 20)) a > t && write_at a.img 0 $((4 << 20)) t
head -c $((2 << 20)) /dev/urandom > r && write_at a.img $((6 << 20)) $((2 << 20)) r
cp a.img b.img && head -c $((2 << 20)) /dev/urandom > r && write_at b.img $((9 << 20)) $((2 << 20)) r
cp b.img c.img && head -c $((2 << 20)) /dev/urandom > r && write_at c.img $((12 << 20)) $((2 << 20)) r
cp c.img d.img && head -c $((2 << 20)) /dev/urandom > r && write_at d.img $((1 << 20)) $((2 << 20)) r
"$DDLOOP" create a.img -o seed.delta -q
"$DDLOOP" create --base a.img b.img -o ab.delta -q
"$DDLOOP" create --base b.img c.img -o bc.delta -q
"$DDLOOP" create --base c.img d.img -o cd.delta -q

# --- The archive is a pax tar file other tools read ---------------------
"$DDLOOP" archive seed.delta ab.delta bc.delta -f set.tar -q
check "the archive is whole 10240-byte blocks" test $(($(stat -c %s set.tar) % 10240)) -eq 0
check "the archive is pax (extended headers)" sh -c "bsdtar -tvf set.tar >/dev/null && head -c 512 set.tar | grep -q PaxHeader"
check "GNU tar lists catalog and deltafiles in order" \
  test "$(tar -tf set.tar | tr '\n' ' ')" = "ddloop-catalog.txt seed.delta ab.delta bc.delta "
check "bsdtar lists them too" test "$(bsdtar -tf set.tar | tr '\n' ' ')" = "ddloop-catalog.txt seed.delta ab.delta bc.delta "
check "tar -tvf gives sizes" sh -c "tar -tvf set.tar | grep -q \" $(stat -c %s ab.delta) .* ab.delta\$\""
mkdir tx && tar -xf set.tar -C tx
check "tar -xf extracts deltafiles that ddloop verify accepts" \
  sh -c "'$DDLOOP' verify -q tx/seed.delta && '$DDLOOP' verify -q tx/ab.delta && '$DDLOOP' verify -q tx/bc.delta"
check "the extracted files are byte-identical" sh -c "cmp -s tx/ab.delta ab.delta && cmp -s tx/bc.delta bc.delta"
check "the catalog is readable text" grep -q '^ddloop-archive-catalog 1$' tx/ddloop-catalog.txt

"$DDLOOP" restore -f set.tar --list > list.out
check "--list prints the catalog" sh -c "grep -q 'archive 1 of 1' list.out && grep -q 'seed.delta' list.out && grep -q 'bc.delta' list.out"
"$DDLOOP" restore -f set.tar --list --json > list.json
check "--list --json is JSON" python3 -c "import json,sys; j=json.load(open('list.json')); assert len(j['archives'][0]['deltafiles'])==3"
expect_exit 0 "--verify of a good archive" "$DDLOOP" restore -f set.tar --verify
check "--verify names every deltafile" test "$(grep -c ': verified$' "$T/.out")" -eq 3

# --- Through a FIFO, 64 KiB writes, streaming apply, no temp files -------
mkfifo fifo
mkdir ap
"$DDLOOP" archive seed.delta ab.delta bc.delta -f fifo --block-size 65536 --json > arc.json &
"$DDLOOP" restore -f fifo --apply ap/img -q
wait $!
check "restore --apply over a FIFO rebuilds the image" same ap/img c.img
check "no temporary files beside the image" test "$(ls -A ap | tr '\n' ' ')" = "img img.ddloop-state "
check "the writer reports 64 KiB blocks" \
  python3 -c "import json; j=json.load(open('arc.json'))['archives'][0]; assert j['block_size']==65536 and j['bytes']==j['blocks']*65536 and j['blocks']>50"
if command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null; then
  # -P: only writes to the FIFO (a sanitizer runtime writes to pipes of its own).
  strace -f -qq -P "$PWD/fifo" -e trace=write -o writes.log \
    "$DDLOOP" archive seed.delta ab.delta bc.delta -f fifo --block-size 65536 -q 2>/dev/null &
  cat fifo > via-fifo.tar
  wait $!
  n=$(grep -c 'write(' writes.log)
  check "strace: $n write(2) calls, every one of exactly 65536 bytes" \
    test "$n" -gt 50 -a "$(grep -c 'write(.*, 65536) = 65536$' writes.log)" -eq "$n"
  check "the archive read from the FIFO is whole 64 KiB blocks" test $(($(stat -c %s via-fifo.tar) % 65536)) -eq 0
  expect_exit 0 "the archive from the FIFO verifies" "$DDLOOP" restore -f via-fifo.tar --verify -q
else
  echo "skip: strace missing or not permitted; write sizes checked through --json only"
fi

# --- A set split over three media --------------------------------------
media=$(( ($(stat -c %s seed.delta) > $(stat -c %s ab.delta) ? $(stat -c %s seed.delta) : $(stat -c %s ab.delta)) + 65536 ))
"$DDLOOP" archive seed.delta ab.delta bc.delta -f split.tar --media-size $media -q
check "--media-size splits into three numbered archives" \
  test "$(ls split.tar.* | tr '\n' ' ')" = "split.tar.001 split.tar.002 split.tar.003 "
check "no archive is larger than the medium" \
  sh -c "[ \$(stat -c %s split.tar.001) -le $media ] && [ \$(stat -c %s split.tar.002) -le $media ] && [ \$(stat -c %s split.tar.003) -le $media ]"
"$DDLOOP" restore -f split.tar.001 --list > split.list
check "each catalog says what comes next" grep -q 'next: archive 2 (split.tar.002), starting with ab.delta' split.list
mkdir sp
"$DDLOOP" restore -f split.tar.001 -f split.tar.002 -f split.tar.003 --apply sp/img -q
check "the split set restored in order rebuilds the image" same sp/img c.img
cat split.tar.001 split.tar.002 split.tar.003 > split-all.tar
expect_exit 0 "the split set concatenated on one stream verifies" sh -c "'$DDLOOP' restore -f - --verify < split-all.tar"
mkdir sp2
expect_exit 7 "archives out of order are refused" \
  "$DDLOOP" restore -f split.tar.001 -f split.tar.003 -f split.tar.002 --apply sp2/img
err_has "expected archive 2"
err_has "split.tar.002"
expect_exit 7 "a restore that starts with archive 2 is refused" "$DDLOOP" restore -f split.tar.002 --verify
err_has "archive 1 (split.tar.001)"
expect_exit 4 "a set missing its last archive is refused" \
  "$DDLOOP" restore -f split.tar.001 -f split.tar.002 --verify
err_has "split.tar.003"
expect_exit 0 "any one archive of a set can be listed" "$DDLOOP" restore -f split.tar.002 --list
check "--media-size too small for a deltafile" sh -c "! '$DDLOOP' archive seed.delta -f small.tar --media-size 100K 2>/dev/null && [ ! -e small.tar ]"

# --- A later archive appended to the same file (tar concatenation) -----
"$DDLOOP" archive seed.delta ab.delta -f tape.tar -q
"$DDLOOP" archive bc.delta cd.delta -f tape.tar --append -q
"$DDLOOP" restore -f tape.tar --list > tape.list
check "--list shows both appended archives" test "$(grep -c 'archive 1 of 1 of set' tape.list)" -eq 2
check "GNU tar -i lists across the concatenation" test "$(tar -itf tape.tar | grep -c delta)" -eq 4
mkdir tp
cat tape.tar | "$DDLOOP" restore -f - --apply tp/img -q
check "the appended chain applies from a pipe" same tp/img d.img

# --- A failed append (a full disk) leaves the archive as it was ----------
# A tmpfs of 10 MiB holds the first archive (seed, ab) and a filler; appending
# bc and cd runs out of space part way. The archive must be cut back to its
# old bytes, so that, with room made, a later append restores in full.
if [ "$(id -u)" -eq 0 ] && mkdir full && mount -t tmpfs -o size=10M ddloop-test full 2>/dev/null; then
  trap 'umount "$T/full" 2>/dev/null; rm -rf "$T"' EXIT
  "$DDLOOP" archive seed.delta ab.delta -f full/tape.tar -q
  cp full/tape.tar before-append.tar
  head -c $(( 10 * 1024 * 1024 - $(stat -c %s full/tape.tar) - (2 << 20) )) /dev/zero > full/filler 2>/dev/null
  expect_exit 3 "an append that runs out of space fails" "$DDLOOP" archive bc.delta cd.delta -f full/tape.tar --append
  err_has "No space left on device"
  err_has "as it was before the append"
  check "the archive is byte-identical to before the failed append" same full/tape.tar before-append.tar
  rm full/filler
  expect_exit 0 "with room made, the next append succeeds" "$DDLOOP" archive bc.delta cd.delta -f full/tape.tar --append -q
  mkdir fa
  expect_exit 0 "the archive restores in full after the failed append" \
    "$DDLOOP" restore -f full/tape.tar --apply fa/img -q
  check "the restored image is the last target" same fa/img d.img
  umount full
  trap 'rm -rf "$T"' EXIT
else
  echo "skip: not root or no tmpfs: the full-disk append is not tested"
fi

# --- An append stopped by SIGTERM leaves the archive as it was -----------
# strace slows every write(2) down, so the signal comes part way through.
if command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null; then
  "$DDLOOP" archive seed.delta -f sig.tar -q
  cp sig.tar before-sig.tar
  strace -f -qq -o /dev/null -e trace=write -e inject=write:delay_enter=200000 \
    "$DDLOOP" archive ab.delta bc.delta -f sig.tar --append -q &
  tracer=$!
  sleep 2
  kill -TERM $(ps -o pid= --ppid $tracer) 2>/dev/null
  rc=0; wait $tracer || rc=$?
  check "the append was stopped by SIGTERM part way (exit $rc)" test "$rc" -eq 143
  check "the archive is byte-identical to before the stopped append" same sig.tar before-sig.tar
else
  echo "skip: strace missing or not permitted: the append stopped by a signal is not tested"
fi

# --- Damage ------------------------------------------------------------
# Offset of ab.delta's data in set.tar: where its first 512 bytes are.
off=$(python3 -c "import sys; a=open('set.tar','rb').read(); d=open('ab.delta','rb').read(); print(a.index(d[:512]))")
cp set.tar bad.tar
size=$(stat -c %s ab.delta)
flip_byte bad.tar $((off + size / 2))
check "the byte really changed" sh -c "! cmp -s bad.tar set.tar"
expect_exit 4 "restore --verify reports the damaged deltafile" "$DDLOOP" restore -f bad.tar --verify
err_has "ab.delta"
check "the others are still verified" \
  sh -c "grep -q 'seed.delta: verified' '$T/.out' && grep -q 'bc.delta: verified' '$T/.out' && grep -q 'ab.delta: FAILED' '$T/.out'"
check "exactly one member failed" test "$(grep -c FAILED "$T/.out")" -eq 1
mkdir ex
expect_exit 4 "restore --extract of the damaged archive" "$DDLOOP" restore -f bad.tar --extract ex
check "the good deltafiles are extracted, the damaged one is not" test "$(ls -A ex | tr '\n' ' ')" = "bc.delta seed.delta "
check "the extracted deltafiles verify" sh -c "'$DDLOOP' verify -q ex/seed.delta && cmp -s ex/bc.delta bc.delta"
mkdir dm
expect_exit 4 "restore --apply stops at the damaged deltafile" "$DDLOOP" restore -f bad.tar --apply dm/img
check "the image is not recorded as at a target past the damage" sh -c "! grep -q '^state at' dm/img.ddloop-state"
check "later deltafiles are verified, not applied" grep -q 'bc.delta: verified (not applied)' "$T/.out"
"$DDLOOP" restore -f set.tar --apply dm/img -q
check "the good archive then finishes the image (the seed already there is skipped)" same dm/img c.img

head -c $(( $(stat -c %s set.tar) / 2 )) set.tar > half.tar
expect_exit 4 "a truncated archive is refused" "$DDLOOP" restore -f half.tar --verify
err_has "truncated"
# Cut at a block boundary right after the first deltafile: tar framing ends cleanly.
cut=$(python3 -c "a=open('set.tar','rb').read(); d=open('seed.delta','rb').read(); i=a.index(d[:512]); print((i+len(d)+511)//512*512)")
head -c $cut set.tar > cut.tar
expect_exit 4 "an archive cut between deltafiles is refused" "$DDLOOP" restore -f cut.tar --verify
err_has "ab.delta is missing"

# --- Not ours, and hostile -----------------------------------------------
tar -cf plain.tar seed.delta
expect_exit 4 "a tar archive without a catalog is refused" "$DDLOOP" restore -f plain.tar --verify
err_has "not a ddloop archive"
head -c 100000 /dev/urandom > noise.bin
expect_exit 4 "random bytes are refused" "$DDLOOP" restore -f noise.bin --list
err_has "not a ddloop archive"
: > empty.tar
expect_exit 4 "an empty file is refused" "$DDLOOP" restore -f empty.tar --list
err_has "not a ddloop archive"

"$DDLOOP" archive seed.delta -f one.tar -q
mkdir h && tar -xf one.tar -C h
etc_x_existed=no; [ -e /etc/x ] && etc_x_existed=yes
# hostile WHAT ARCHIVE TEXT: restore --extract DIR refuses it and writes
# nothing, in DIR or beside it (DIR/../x) or at /etc/x.
mkdir hz
hostile() {
  local what=$1 arc=$2 text=$3
  rm -rf hz/out && mkdir hz/out
  expect_exit 4 "hostile archive refused: $what" sh -c "cd hz && '$DDLOOP' restore -f '$T/$arc' --extract out"
  err_has "$text"
  check "nothing written for: $what" sh -c "[ -z \"\$(ls -A hz/out)\" ] && [ ! -e hz/x ] && [ ! -e x ] && { [ $etc_x_existed = yes ] || [ ! -e /etc/x ]; }"
}
tar --format=pax -C h -P --transform='s,^seed\.delta$,../x,' -cf dotdot.tar ddloop-catalog.txt seed.delta
hostile "member ../x" dotdot.tar "'../x'"
tar --format=pax -C h -P --transform='s,^seed\.delta$,/etc/x,' -cf abs.tar ddloop-catalog.txt seed.delta
hostile "member /etc/x" abs.tar "'/etc/x'"
mkdir hs && cp h/ddloop-catalog.txt hs/ && ln -s /etc/passwd hs/seed.delta
tar --format=pax -C hs -cf symlink.tar ddloop-catalog.txt seed.delta
hostile "symlink" symlink.tar "symbolic link"
mkdir hl && cp h/ddloop-catalog.txt hl/ && ln hl/ddloop-catalog.txt hl/seed.delta
tar --format=pax -C hl -cf hardlink.tar ddloop-catalog.txt seed.delta
hostile "hard link" hardlink.tar "hard link"
if [ "$(id -u)" = 0 ]; then
  mkdir hd && cp h/ddloop-catalog.txt hd/ && mknod hd/seed.delta c 1 3
  tar --format=pax -C hd -cf device.tar ddloop-catalog.txt seed.delta
  hostile "device node" device.tar "device node"
else
  echo "skip device-node archive (mknod needs root)"
fi
mkdir ho && cp h/ddloop-catalog.txt ho/ && cp seed.delta ho/ && head -c 1M /dev/zero >> ho/seed.delta
tar --format=pax -C ho -cf oversize.tar ddloop-catalog.txt seed.delta
hostile "oversize member" oversize.tar "the catalog says"

# --- Bad requests --------------------------------------------------------
expect_exit 2 "restore without an action" "$DDLOOP" restore -f set.tar
expect_exit 2 "--block-size not a multiple of 512" "$DDLOOP" archive seed.delta -f b.tar --block-size 1000
expect_exit 2 "--block-size over 1 MiB" "$DDLOOP" archive seed.delta -f b.tar --block-size 2M
expect_exit 7 "deltafiles that do not chain" "$DDLOOP" archive seed.delta bc.delta -f b.tar
check "nothing written for a refused archive" test ! -e b.tar
expect_exit 3 "a missing archive" "$DDLOOP" restore -f nosuch.tar --list
expect_exit 2 "--extract into a missing directory" "$DDLOOP" restore -f set.tar --extract nosuchdir
finish
