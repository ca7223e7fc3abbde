#!/bin/sh
# guest-tests.sh - the checks run inside the QEMU guest (busybox sh) by /init.
#
# The host (test-kernel-qemu.sh) put into the initramfs:
#   /usr/local/bin/ddloop            the command under test, with its libraries
#   /usr/local/bin/gdate, gdd        coreutils date (ns clock) and dd
#   /lib/modules/ddloop.ko           the driver, when kernel/ddloop.c exists
#   /data/snap0.img, snap3.img       base and fully applied target images
#   /data/d0.delta                   seed of snapshot 0
#   /data/d1..d3.delta               snapshot k-1 -> k
#   /data/d3bad.delta                d3 with bytes flipped at 2/5 of the file
#   /data/d1idx.delta                d1 with a byte flipped in its index
#   /data/d1trunc.delta              d1 without its last 100 bytes
#   /data/notdelta.bin               64 KiB of random bytes
#   /data/x0.img, x2.img             1 MiB base and target of the issue-12 chain
#   /data/x1.delta, x2.delta         x1 rewrites 256 KiB, x2 three 4 KiB blocks in it
#   /usr/local/bin/ioctl_race        tests/kernel/ioctl_race.c (static): STATUS and
#                                    REMOVE racing ADD
#   /usr/local/bin/ioctl_probe       tests/kernel/ioctl_probe.c (static), with
#                                    the driver: its ioctls called directly
#   /data/manifestK                  sha256sum of every file of snapshot K
#   /data/expected.env               SNAPk_SHA, PARTi_SHA (4 quarters of
#                                    snapshot 3), SIZE, BLOCKS, X_SIZE, X1_SHA,
#                                    X2_SHA
# Without ddloop.ko only the smoke checks run (the userspace binary and its
# libraries work in the guest). Every check prints "ok ..." or "FAIL ...";
# the last line is "N passed, N failed".

. /data/expected.env

PASSED=0
FAILED=$(wc -l </tmp/boot-failures 2>/dev/null || echo 0)
save() { echo "$PASSED $FAILED" >/tmp/counts; }
ok() { PASSED=$((PASSED + 1)); save; echo "ok   $*"; }
DMESG_SEEN=0
not_ok() {  # with the driver loaded, also what the kernel logged since the last failure
  FAILED=$((FAILED + 1)); save; echo "FAIL $*"
  if [ -n "${KERNEL_TESTS:-}" ]; then
    dmesg >/tmp/dmesg.now
    tail -n +$((DMESG_SEEN + 1)) /tmp/dmesg.now | tail -n 8 | sed 's/^/# dmesg: /'
    DMESG_SEEN=$(wc -l </tmp/dmesg.now)
  fi
  return 0
}
note() { echo "# $*"; }
save

sha_of() { eval "echo \$SNAP$1_SHA"; }
first_word() { cut -d' ' -f1; }

# ---------------------------------------------------------------- smoke ----
if out=$(ddloop --version 2>&1) && echo "$out" | grep -q '^ddloop '; then
  ok "ddloop --version: $out"
else
  not_ok "ddloop --version: $out"
fi

if ddloop info /data/d1.delta >/tmp/info.out 2>&1; then
  ok "ddloop info /data/d1.delta ($(wc -l </tmp/info.out) lines)"
  head -n 6 /tmp/info.out | sed 's/^/#   /'
else
  not_ok "ddloop info /data/d1.delta: $(head -c 300 /tmp/info.out)"
fi

if [ ! -f /lib/modules/ddloop.ko ]; then
  note "no ddloop.ko in the initramfs (no kernel/ddloop.c, or --smoke): smoke checks only"
  echo "$PASSED passed, $FAILED failed"
  touch /tmp/tests-done
  exit 0
fi

# --------------------------------------------------------------- driver ----
KERNEL_TESTS=1
DMESG_SEEN=$(dmesg | wc -l)
DEV=

# attach WHAT ARGS...: ddloop attach --kernel ARGS; on success DEV is the
# /dev/ddloopN it printed.
attach() {
  what=$1; shift
  DEV=
  out=$(ddloop attach --kernel "$@" 2>/tmp/attach.err)
  rc=$?
  if [ $rc -ne 0 ]; then
    not_ok "$what: attach failed (exit $rc): $(head -c 300 /tmp/attach.err)"
    return 1
  fi
  dev=$(echo "$out" | tail -n 1)
  case $dev in
    /dev/ddloop[0-9]*) ;;
    *) not_ok "$what: attach printed '$out', not /dev/ddloopN"; return 1 ;;
  esac
  if [ ! -b "$dev" ]; then
    not_ok "$what: $dev is not a block device"
    return 1
  fi
  DEV=$dev
  ok "$what: attach -> $DEV"
}

# detach WHAT: ddloop detach $DEV, and the device is gone from /sys/block.
detach() {
  if ! out=$(ddloop detach "$DEV" 2>&1); then
    not_ok "$1: detach $DEV failed: $out"
    return 1
  fi
  name=${DEV#/dev/}
  i=0
  while [ -e "/sys/block/$name" ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
  if [ -e "/sys/block/$name" ]; then
    not_ok "$1: detach $DEV returned 0 but /sys/block/$name still exists"
  else
    ok "$1: detach $DEV"
  fi
}

# check_sha WHAT DEVICE SHA: the whole device reads back as SHA.
check_sha() {
  got=$(sha256sum "$2" 2>/tmp/sha.err | first_word)
  if [ "$got" = "$3" ]; then
    ok "$1: sha256 of $2 matches"
  else
    not_ok "$1: sha256 of $2 is '$got' ($(head -c 200 /tmp/sha.err)), wanted $3"
  fi
}

# check_files WHAT DEVICE MANIFEST: mount read-only, every file's checksum
# is in the manifest made on the host, umount.
check_files() {
  if ! out=$(mount -t ext4 -o ro "$2" /mnt 2>&1); then
    not_ok "$1: mount -t ext4 -o ro $2: $out"
    return 1
  fi
  (cd /mnt && find . -type f | sort | xargs sha256sum) >/tmp/manifest 2>&1
  if cmp -s /tmp/manifest "$3"; then
    ok "$1: mounted read-only, $(wc -l <"$3") files match the manifest"
  else
    not_ok "$1: files differ from the manifest"
    diff "$3" /tmp/manifest | head -n 10 | sed 's/^/#   /'
  fi
  if out=$(umount /mnt 2>&1); then
    ok "$1: umount"
  else
    not_ok "$1: umount: $out"
  fi
}

if out=$(insmod /lib/modules/ddloop.ko 2>&1); then
  ok "insmod ddloop.ko"
else
  not_ok "insmod ddloop.ko: $out"
fi

# Every point of the chain, over the base.
chain=
for k in 1 2 3; do
  chain="$chain /data/d$k.delta"
  what="chain d1..d$k"
  # shellcheck disable=SC2086  # chain is a list of paths without spaces
  if attach "$what" --base /data/snap0.img $chain; then
    check_sha "$what" "$DEV" "$(sha_of $k)"
    check_files "$what" "$DEV" "/data/manifest$k"
    detach "$what"
  fi
done

# A seed chain: no base at all.
what="seed chain d0..d3"
if attach "$what" /data/d0.delta /data/d1.delta /data/d2.delta /data/d3.delta; then
  check_sha "$what" "$DEV" "$SNAP3_SHA"
  detach "$what"
fi

# A damaged record: its blocks fail with EIO, never wrong data; every other
# block reads back as snapshot 3.
what="damaged d3"
if attach "$what" --base /data/snap0.img /data/d1.delta /data/d2.delta /data/d3bad.delta; then
  gdd if="$DEV" of=/tmp/bad.img bs=4096 conv=noerror,sync 2>/tmp/dd.err
  errors=$(grep -c 'Input/output error' /tmp/dd.err)
  size=$(stat -c %s /tmp/bad.img 2>/dev/null || echo 0)
  if [ "$errors" -gt 0 ] && [ "$errors" -lt "$BLOCKS" ]; then
    ok "$what: dd reports I/O errors on $errors of $BLOCKS blocks"
  else
    not_ok "$what: dd reports I/O errors on $errors of $BLOCKS blocks (wanted some, not all): $(tail -n 3 /tmp/dd.err | tr '\n' ' ')"
  fi
  differ=$(cmp -l /tmp/bad.img /data/snap3.img 2>/dev/null |
    awk '{ b = int(($1 - 1) / 4096); if (!(b in seen)) { seen[b] = 1; n++ } } END { print n + 0 }')
  if [ "$size" -eq "$SIZE" ] && [ "$differ" -le "$errors" ]; then
    ok "$what: every block read without error matches snapshot 3 ($differ blocks differ, $errors failed)"
  else
    not_ok "$what: $differ blocks differ from snapshot 3 but only $errors failed (read $size of $SIZE bytes)"
  fi
  rm -f /tmp/bad.img
  detach "$what"
fi

# Four readers at once, each on its own quarter, through the page cache and
# then with O_DIRECT.
what="parallel readers"
if attach "$what" --base /data/snap0.img /data/d1.delta /data/d2.delta /data/d3.delta; then
  quarter=$((SIZE / 4 / 65536))
  for mode in buffered direct; do
    flag=
    [ $mode = direct ] && flag=iflag=direct
    for i in 0 1 2 3; do
      # shellcheck disable=SC2086  # flag is empty or one word
      (dd if="$DEV" bs=65536 skip=$((i * quarter)) count=$quarter $flag 2>/dev/null |
        sha256sum | first_word >/tmp/part$i) &
    done
    wait
    bad=
    for i in 0 1 2 3; do
      [ "$(cat /tmp/part$i)" = "$(eval "echo \$PART${i}_SHA")" ] || bad="$bad $i"
    done
    if [ -z "$bad" ]; then
      ok "$what ($mode): 4 quarters read at once all match"
    else
      not_ok "$what ($mode): quarters$bad differ from snapshot 3"
    fi
  done
  detach "$what"
fi

# Unload and load again; the driver still works.
if out=$(rmmod ddloop 2>&1); then ok "rmmod ddloop"; else not_ok "rmmod ddloop: $out"; fi
if out=$(insmod /lib/modules/ddloop.ko 2>&1); then ok "insmod ddloop.ko again"; else not_ok "insmod ddloop.ko again: $out"; fi
what="after reload"
if attach "$what" --base /data/snap0.img /data/d1.delta /data/d2.delta /data/d3.delta; then
  check_sha "$what" "$DEV" "$SNAP3_SHA"
  detach "$what"
fi

# Deltas given out of order are put in chain order by ddloop before the
# driver sees them (deltafile/chain_order.h): d3 d1 d2 reads as snapshot 3.
what="shuffled chain d3 d1 d2"
if attach "$what" --base /data/snap0.img /data/d3.delta /data/d1.delta /data/d2.delta; then
  check_sha "$what" "$DEV" "$SNAP3_SHA"
  detach "$what"
fi

# A broken chain (a gap: d2 is missing between d1 and d3) is refused with
# the documented exit status 7 (ddloop(8)).
out=$(ddloop attach --kernel --base /data/snap0.img /data/d1.delta /data/d3.delta 2>&1)
rc=$?
if [ $rc -eq 7 ]; then
  ok "broken chain d1 d3 refused (exit 7): $(echo "$out" | head -n 1)"
elif [ $rc -ne 0 ]; then
  not_ok "broken chain d1 d3 refused with exit $rc, wanted 7: $(echo "$out" | head -n 1)"
else
  not_ok "broken chain d1 d3 attached as '$out'"
  ddloop detach "$(echo "$out" | tail -n 1)" >/dev/null 2>&1
fi

# The driver's own checks, reached without ddloop's in front of them:
# ioctl_probe calls ADD/STATUS/REMOVE on /dev/ddloop-control directly (bad
# chains, damaged files, bad arguments, REMOVE of an open device). Its
# "ok"/"FAIL" lines are counted here; its "#" lines are passed through.
# counted NAME FILE RC: the "ok"/"FAIL" lines of a probe program's output
# FILE counted here as "NAME: ...", "#" lines passed through.
counted() {
  probe_failed=0 probe_passed=0
  while IFS= read -r line; do
    case $line in
      "ok "*) rest=${line#ok}; ok "$1: ${rest#"${rest%%[! ]*}"}"; probe_passed=$((probe_passed + 1)) ;;
      "FAIL "*) not_ok "$1: ${line#FAIL }"; probe_failed=$((probe_failed + 1)) ;;
      *) echo "$line" ;;
    esac
  done <"$2"
  if [ "$3" -ne 0 ] && [ $probe_failed -eq 0 ]; then
    not_ok "$1 exited $3 without a FAIL line"
  elif [ "$3" -eq 0 ] && [ $probe_passed -eq 0 ]; then
    not_ok "$1 printed no ok line"
  fi
}
if [ -x /usr/local/bin/ioctl_probe ]; then
  ioctl_probe /data "$SIZE" >/tmp/probe.out 2>&1
  counted ioctl /tmp/probe.out $?
else
  not_ok "no /usr/local/bin/ioctl_probe in the initramfs"
fi

# The chain of issue 12: x1 rewrites 256 KiB in one record, x2 changes three
# separate 4 KiB blocks strictly inside it. The merged map has 7 extents
# (4 pieces of x1's record around x2's 3), more than the old capacity bound
# (2 * 1 + 3 + 1 = 6) allowed for; the device must read back as x2.
what="issue 12 chain x1 x2"
if attach "$what" --base /data/x0.img /data/x1.delta /data/x2.delta; then
  check_sha "$what" "$DEV" "$X2_SHA"
  line=$(dmesg | grep "${DEV#/dev/}: 2 deltafile(s), $X_SIZE bytes" | tail -n 1)
  case $line in
    *" 7 extents,"*) ok "$what: the merged map has 7 extents" ;;
    *) not_ok "$what: wanted 7 extents, the driver logged '$line'" ;;
  esac
  # O_DIRECT 4 KiB reads of each changed block and its neighbours
  for b in 63 64 67 68 69 99 100 101 119 120 121 127 128; do
    gdd if="$DEV" bs=4096 skip=$b count=1 iflag=direct status=none 2>/dev/null | sha256sum | first_word >/tmp/blk.dev
    gdd if=/data/x2.img bs=4096 skip=$b count=1 status=none | sha256sum | first_word >/tmp/blk.img
    cmp -s /tmp/blk.dev /tmp/blk.img || bad_blocks="${bad_blocks:-} $b"
  done
  if [ -z "${bad_blocks:-}" ]; then
    ok "$what: O_DIRECT 4 KiB reads at the 6 split points and around them match x2"
  else
    not_ok "$what: O_DIRECT 4 KiB blocks$bad_blocks differ from x2"
  fi
  detach "$what"
fi

# The base's lock lives as long as the device (issue 12, item 2): attach
# hands the driver the descriptor of its shared flock on the base, and the
# driver keeps that open file until REMOVE. So once the attaching process
# has exited, `ddloop apply` onto the base is refused (exit 9, one line
# naming the base), the base and the device are unchanged; after detach the
# same apply works. The base is a copy: snap0/x0 serve later checks.
what="base locked by the device"
LB=/tmp/lockbase.img
cp /data/x0.img $LB
lb_sha=$(sha256sum <$LB | first_word)
if attach "$what" --base $LB /data/x1.delta /data/x2.delta; then
  # attach ran in $(...): it has exited. Nothing but the kernel has the base
  # open, and /proc/locks still shows a shared FLOCK on its inode.
  openers=
  for f in /proc/[0-9]*/fd/*; do
    [ "$(readlink "$f" 2>/dev/null)" = $LB ] && openers="$openers ${f#/proc/}"
  done
  ino=$(stat -c %i $LB)
  if [ -z "$openers" ] && grep -Eq "FLOCK +ADVISORY +READ .*:$ino " /proc/locks; then
    ok "$what: no process has $LB open, /proc/locks still has its shared FLOCK"
  else
    not_ok "$what: open by:${openers:- nobody}; /proc/locks: $(grep ":$ino " /proc/locks | head -n 2 | tr '\n' ' ')"
  fi
  err=$(ddloop apply /data/x1.delta $LB 2>&1 >/dev/null)
  rc=$?
  lines=$(printf '%s\n' "$err" | wc -l)
  if [ $rc -eq 9 ] && [ "$lines" -eq 1 ] &&
    echo "$err" | grep -q "^ddloop apply: $LB: another process is using it: holds its lock"; then
    ok "$what: apply onto the attached base refused (exit 9): $err"
  else
    not_ok "$what: apply onto the attached base exited $rc ($lines lines), wanted 9 and one line: $(echo "$err" | head -c 300)"
  fi
  if [ "$(sha256sum <$LB | first_word)" = "$lb_sha" ]; then
    ok "$what: the base is unchanged (sha256)"
  else
    not_ok "$what: the base was written while the device served it"
  fi
  check_sha "$what (after the refused apply)" "$DEV" "$X2_SHA"
  if detach "$what"; then
    err=$(ddloop apply -q /data/x1.delta $LB 2>&1)
    rc=$?
    got=$(sha256sum <$LB | first_word)
    if [ $rc -eq 0 ] && [ "$got" = "$X1_SHA" ]; then
      ok "$what: after detach the same apply works (the base is now x1)"
    else
      not_ok "$what: apply after detach exited $rc ($(echo "$err" | head -c 300)); base sha256 $got, wanted $X1_SHA"
    fi
  fi
fi
rm -f $LB $LB.ddloop-state

# REMOVE and STATUS racing ADD (issue 12): a device is visible only once it
# is complete. ioctl_race adds and removes base + d1 1000 times while
# three threads call STATUS/REMOVE on ids 0..7; the dmesg check at the end
# catches an oops it causes.
if [ -x /usr/local/bin/ioctl_race ]; then
  ioctl_race /data/snap0.img /data/d1.delta "$SIZE" 1000 >/tmp/race.out 2>&1
  counted ioctl_race /tmp/race.out $?
else
  not_ok "no /usr/local/bin/ioctl_race in the initramfs"
fi

# Benchmark (not a check): whole-device O_DIRECT reads through the driver
# against a loop device over the fully applied image, both from RAM. Under
# TCG only the ratio means anything.
ns() { gdate +%s%N; }
read_ns() {  # read_ns DEVICE: nanoseconds to read it whole
  t0=$(ns)
  dd if="$1" of=/dev/null bs=1M iflag=direct 2>/dev/null || { echo fail; return; }
  t1=$(ns)
  echo $((t1 - t0))
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mibps() { awk -v b="$SIZE" -v t="$1" 'BEGIN { printf "%.1f", b / 1048576 / (t / 1e9) }'; }
what="bench"
if attach "$what" --base /data/snap0.img /data/d1.delta /data/d2.delta /data/d3.delta; then
  if out=$(losetup -r /dev/loop0 /data/snap3.img 2>&1); then
    cold=$(read_ns "$DEV")
    for _ in 1 2 3 4 5; do read_ns "$DEV"; done >/tmp/t.ddloop
    read_ns /dev/loop0 >/dev/null
    for _ in 1 2 3 4 5; do read_ns /dev/loop0; done >/tmp/t.loop
    if grep -q fail /tmp/t.ddloop /tmp/t.loop || [ "$cold" = fail ]; then
      not_ok "$what: a timed read failed"
    else
      td=$(median </tmp/t.ddloop)
      tl=$(median </tmp/t.loop)
      ratio=$(awk -v a="$tl" -v b="$td" 'BEGIN { printf "%.2f", a / b }')
      echo "BENCH read ratio ddloop/loop $ratio (ddloop $(mibps "$td") MiB/s, loop $(mibps "$tl") MiB/s, first ddloop read $(mibps "$cold") MiB/s; $((SIZE >> 20)) MiB device, dd bs=1M iflag=direct, median of 5)"
    fi
    losetup -d /dev/loop0
  else
    not_ok "$what: losetup -r /dev/loop0 /data/snap3.img: $out"
  fi
  detach "$what"
fi

# The kernel log must be clean.
BAD_KLOG='WARNING:|BUG:|Oops|KASAN|general protection|Call Trace:'
if dmesg | grep -E "$BAD_KLOG" >/tmp/dmesg.bad; then
  not_ok "dmesg has $(wc -l </tmp/dmesg.bad) WARNING/BUG/Oops/KASAN/GPF/Call Trace lines"
  dmesg | grep -E -m 1 -A 30 "$BAD_KLOG" | sed 's/^/# dmesg: /'
else
  ok "dmesg has no WARNING:, BUG:, Oops, KASAN, general protection or Call Trace"
fi
note "ddloop lines in dmesg: $(dmesg | grep -c ddloop)"

echo "$PASSED passed, $FAILED failed"
touch /tmp/tests-done
