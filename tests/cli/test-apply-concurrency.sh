#!/bin/bash
# test-apply-concurrency.sh - `apply` never records a false "at target":
#  1. two applies of different deltas (same base) started together on one
#     image: one wins, its state is true of the image, the other gets exit 9
#     (or 6 when it only started after the winner was done), 20 trials;
#  2. a held lock (flock(1)) refuses apply with exit 9, nothing written;
#  3. apply onto the base of a live attach is refused (exit 9), and works
#     after detach; apply racing attach: never both, 20 trials each;
#  4. block-device states: /dev/vg0/data_replica and /dev/vg0_data/replica
#     (links to two loop devices) get different states, and one device
#     through two paths (a link, its node, a mknod copy) shares one state
#     and one lock;
#  5. apply --from - with a terminal on stdin refuses at once;
#  6. a busy base at attach is exit 9 and one line naming it, whenever the
#     lock is taken: before attach (flock(1) holds it), or (with strace, which
#     delays the FUSE server's exec) between attach's check and the server's
#     start; likewise a volume's lock taken before its server starts.
source "$(dirname "$0")/lib.sh"
requires sha256sum flock python3
TRIALS=${DDLOOP_CONCURRENCY_TRIALS:-20}
export DDLOOP_RUN_DIR="$T/run"  # our attachments only
ATTACHED=()
DEVS=()
STATES=()
cleanup() {
  for d in "${ATTACHED[@]}"; do "$DDLOOP" detach -q "$d" 2>/dev/null; done
  for d in "${DEVS[@]}"; do losetup -d "$d" 2>/dev/null; done
  for s in "${STATES[@]}"; do rm -f "$s"; done
  rm -rf "$T"
}
trap cleanup EXIT
sum() { sha256sum <"$1" | cut -c1-64; }
target_fp() { "$DDLOOP" info --json "$1" | sed 's/.*"target": {[^}]*"fingerprint": "\([0-9a-f]*\)".*/\1/'; }
state_fp() { sed -n 's/^current_fingerprint //p' "$1"; }

# A base and two different targets changing the same regions (so that
# neither delta's changed chunks match the other's target).
make_set() {  # make_set PREFIX SIZE_MIB
  local p=$1 mib=$2
  head -c $((mib << 20)) /dev/urandom > "$p.base"
  cp "$p.base" "$p.x"
  cp "$p.base" "$p.y"
  local i
  for i in $(seq 0 2 $((mib - 1))); do
    head -c $((1 << 20)) /dev/urandom > r && write_at "$p.x" $((i << 20)) $((1 << 20)) r
    head -c $((1 << 20)) /dev/urandom > r && write_at "$p.y" $((i << 20)) $((1 << 20)) r
  done
  "$DDLOOP" create --base "$p.base" "$p.x" -o "$p.dx" -q
  "$DDLOOP" create --base "$p.base" "$p.y" -o "$p.dy" -q
}

# --- 1. Two applies racing on one image.
make_set c 32
fx=$(target_fp c.dx)
fy=$(target_fp c.dy)
bad=0 busy=0 late=0
for t in $(seq 1 "$TRIALS"); do
  cp c.base img && rm -f img.ddloop-state
  "$DDLOOP" apply --checkpoint 1M c.dx img -q 2>ex.err & px=$!
  "$DDLOOP" apply --checkpoint 1M c.dy img -q 2>ey.err & py=$!
  rx=0 ry=0
  wait $px || rx=$?
  wait $py || ry=$?
  why=""
  if [ "$rx" -eq 0 ] && [ "$ry" -ne 0 ]; then win=x lose_rc=$ry lose_err=ey.err fwin=$fx
  elif [ "$ry" -eq 0 ] && [ "$rx" -ne 0 ]; then win=y lose_rc=$rx lose_err=ex.err fwin=$fy
  else why="exits $rx and $ry: wanted exactly one 0"; fi
  if [ -z "$why" ]; then
    if [ "$(sum img)" != "$(sum c.$win)" ]; then why="the image is not the winner's target"
    elif [ "$(state_fp img.ddloop-state)" != "$fwin" ] || ! grep -q '^state at' img.ddloop-state; then
      why="the state does not say at the winner's target"
    elif [ "$(wc -l <"$lose_err")" -ne 1 ]; then why="the loser printed $(wc -l <"$lose_err") lines"
    elif [ "$lose_rc" -eq 9 ] && grep -q "^ddloop apply: img: another process is using it: holds its lock" "$lose_err"; then
      busy=$((busy + 1))
    elif [ "$lose_rc" -eq 6 ] && grep -q "^ddloop apply: img: is not the base" "$lose_err"; then
      late=$((late + 1))  # it started after the winner had finished
    else why="loser exit $lose_rc: $(cat "$lose_err")"; fi
  fi
  if [ -n "$why" ]; then bad=$((bad + 1)); echo "  trial $t: $why"; fi
done
check "$TRIALS racing applies: one winner each, state true of the image ($busy refused busy, $late refused late)" \
  test "$bad" -eq 0
check "the lock refused at least one overlapping apply (exit 9)" test "$busy" -ge 1
ls -a | grep -q '\.tmp$' && not_ok "a temporary file was left behind" || ok "no temporary file left behind"

# --- 2. A lock held by another program: refused, nothing written.
cp c.base img && rm -f img.ddloop-state
flock -n -o img sleep 30 & holder=$!  # -o: only flock itself holds it
for i in $(seq 1 50); do grep -q FLOCK /proc/locks && break; sleep 0.1; done
sleep 0.3
expect_exit 9 "apply onto an image another process holds locked" "$DDLOOP" apply c.dx img
err_has "img: another process is using it: holds its lock (pid"
err_has "flock"
check "the image is untouched" test "$(sum img)" = "$(sum c.base)"
check "no state was written" test ! -e img.ddloop-state
expect_exit 9 "through a symbolic link: the same lock" sh -c "ln -sf img link.img && '$DDLOOP' apply c.dx link.img"
kill $(pgrep -P $holder) $holder 2>/dev/null; wait $holder 2>/dev/null
expect_exit 0 "once the lock is gone the apply works" "$DDLOOP" apply -q c.dx link.img
check "the image holds the target" same img c.x
check "the link and the file share one state" test -e img.ddloop-state -a ! -e link.img.ddloop-state

# --- 5. A terminal on standard input: refused at once, not waited on.
cat > pty_apply.py <<'EOF'
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "apply", "--from", "-", sys.argv[2]])
out, deadline = b"", time.time() + 10
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            d = b""
        if not d:
            break
        out += d
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
else:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    print("TIMEOUT " + out.decode(errors="replace").strip())
    sys.exit(124)
if not done:
    _, status = os.waitpid(pid, 0)
print(out.decode(errors="replace").strip())
sys.exit(os.waitstatus_to_exitcode(status))
EOF
cp c.base img && rm -f img.ddloop-state
rc=0; python3 pty_apply.py "$DDLOOP" img > tty.out || rc=$?; echo $rc > tty.rc
check "apply --from - on a terminal exits 2 at once (got $(cat tty.rc): $(head -c 200 tty.out))" test "$(cat tty.rc)" = 2
check "the message says stdin is a terminal" grep -q "<stdin>: is a terminal" tty.out
check "the image is untouched" test "$(sum img)" = "$(sum c.base)"

# Root-only parts: attach (FUSE or the kernel driver) and loop devices.
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: parts 3 and 4 need root"; finish; exit; fi

# --- 3. apply onto the base of a live attachment.
attach_ok=1
if [ ! -c /dev/fuse ] && [ ! -e /dev/ddloop-control ]; then
  echo "SKIP part 3: neither /dev/fuse nor /dev/ddloop-control (attach impossible here)"; attach_ok=0
elif ! command -v losetup >/dev/null; then
  echo "SKIP part 3: losetup is missing"; attach_ok=0
fi
if [ "$attach_ok" -eq 1 ]; then
  make_set a 8
  bad=0
  for t in $(seq 1 "$TRIALS"); do
    cp a.base base.img && rm -f base.img.ddloop-state
    dev=$("$DDLOOP" attach --base base.img a.dx 2>att.err) || { bad=$((bad + 1)); echo "  trial $t: attach: $(cat att.err)"; continue; }
    ATTACHED+=("$dev")
    rc=0
    "$DDLOOP" apply a.dy base.img 2>ap.err >/dev/null || rc=$?
    why=""
    if [ "$rc" -ne 9 ]; then why="apply onto the attached base: exit $rc $(cat ap.err)"
    elif ! grep -q "^ddloop apply: base.img: another process is using it: holds its lock" ap.err; then why="message: $(cat ap.err)"
    elif [ "$t" -eq 1 ]; then echo "  (trial 1 refusal: $(cat ap.err))"
    elif [ "$(sum base.img)" != "$(sum a.base)" ]; then why="the base was written"
    elif [ "$(sum "$dev")" != "$(sum a.x)" ]; then why="the device does not serve the target"
    fi
    "$DDLOOP" detach -q "$dev" || why="$why; detach failed"
    ATTACHED=()
    if [ -z "$why" ]; then
      "$DDLOOP" apply -q a.dy base.img 2>ap.err || why="apply after detach: $(cat ap.err)"
      [ -z "$why" ] && ! same base.img a.y && why="apply after detach: wrong content"
    fi
    if [ -n "$why" ]; then bad=$((bad + 1)); echo "  trial $t: $why"; fi
  done
  check "$TRIALS attach-then-apply trials: refused while attached (exit 9), works after detach" test "$bad" -eq 0

  bad=0 won_attach=0 won_apply=0
  for t in $(seq 1 "$TRIALS"); do
    cp a.base base.img && rm -f base.img.ddloop-state
    "$DDLOOP" attach --base base.img a.dx >att.out 2>att.err & pa=$!
    "$DDLOOP" apply -q a.dy base.img 2>ap.err & pp=$!
    ra=0 rp=0
    wait $pa || ra=$?
    wait $pp || rp=$?
    dev=$(cat att.out)
    why=""
    if [ "$ra" -eq 0 ] && [ "$rp" -eq 0 ]; then why="both the attach and the apply succeeded"
    elif [ "$ra" -eq 0 ]; then
      won_attach=$((won_attach + 1))
      [ "$rp" -ne 9 ] && why="apply lost with exit $rp: $(cat ap.err)"
      [ "$(sum base.img)" != "$(sum a.base)" ] && why="the base was written while attached"
      [ "$(sum "$dev")" != "$(sum a.x)" ] && why="the device does not serve the target"
    elif [ "$rp" -eq 0 ]; then
      won_apply=$((won_apply + 1))
      same base.img a.y || why="the apply won but the image is not its target"
      [ "$(wc -l <att.err)" -eq 1 ] || why="attach lost with $(wc -l <att.err) lines on stderr"
      # 9: the apply held the base; 6: the apply had already finished, so the
      # base is no longer the chain's base. Either is a correct refusal.
      case $ra in
        9) ;;
        6) grep -q "expects in its base" att.err || why="attach lost with exit 6 but not for its base: $(cat att.err)" ;;
        *) why="attach lost with exit $ra, wanted 9 or 6: $(cat att.err)" ;;
      esac
    else why="both failed: attach $ra $(cat att.err); apply $rp $(cat ap.err)"; fi
    if [ "$ra" -eq 0 ] && [ -n "$dev" ]; then "$DDLOOP" detach -q "$dev" || why="$why; detach failed"; fi
    if [ -n "$why" ]; then bad=$((bad + 1)); echo "  race $t: $why"; fi
  done
  check "$TRIALS apply-vs-attach races: never both ($won_attach attach won, $won_apply apply won)" test "$bad" -eq 0
fi

# --- 6. A busy base at attach: exit 9, one line, whenever the lock is taken.
if [ "$attach_ok" -eq 1 ]; then
  cp a.base base.img && rm -f base.img.ddloop-state
  export DDLOOP_RUN_DIR="$T/run6"
  flock -n -o base.img sleep 30 & holder=$!
  for i in $(seq 1 50); do grep -q FLOCK /proc/locks && break; sleep 0.1; done
  sleep 0.3
  expect_exit 9 "attach onto a base another process holds locked" "$DDLOOP" attach --base base.img a.dx
  err_has "base.img: another process is using it: holds its lock (pid"
  kill $(pgrep -P $holder) $holder 2>/dev/null; wait $holder 2>/dev/null
  check "no attachment is left behind" test -z "$(ls "$DDLOOP_RUN_DIR" 2>/dev/null)"
  # gap_attach LOCKFILE CMD...: CMD (an attach) under strace, each exec
  # delayed 2 s, so its FUSE server starts 2 s after attach's check (which
  # wrote run6/ddl-*/state); LOCKFILE is locked (flock -x -n) in that gap.
  # Sets GAP_RC (attach), GAP_FLOCK (0: flock got the lock) and GAP_IN (1:
  # the server had not started when flock ran).
  gap_attach() {
    local lockfile=$1 pa pf i; shift
    rm -rf "$DDLOOP_RUN_DIR"
    # LeakSanitizer cannot run under ptrace: an ASan build traces without it.
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
      strace -f -qq -o /dev/null -b execve -e trace=execve -e inject=execve:delay_enter=2000000 \
      "$@" >gap.out 2>gap.err & pa=$!
    for i in $(seq 1 200); do ls "$DDLOOP_RUN_DIR"/ddl-*/state >/dev/null 2>&1 && break; sleep 0.05; done
    GAP_IN=0
    ls "$DDLOOP_RUN_DIR"/ddl-*/pid >/dev/null 2>&1 || GAP_IN=1
    flock -x -n "$lockfile" sleep 4 & pf=$!
    sleep 0.2
    ls "$DDLOOP_RUN_DIR"/ddl-*/pid >/dev/null 2>&1 && GAP_IN=0
    GAP_RC=0; wait $pa || GAP_RC=$?
    GAP_FLOCK=0; wait $pf || GAP_FLOCK=$?
  }
  if ! command -v strace >/dev/null || ! strace -f -o /dev/null -e inject=execve:delay_enter=1 true 2>/dev/null; then
    echo "SKIP part 6 (gap): strace is missing or may not trace here"
  elif [ ! -c /dev/fuse ]; then
    echo "SKIP part 6 (gap): no /dev/fuse"
  else
    cp a.base base.img && rm -f base.img.ddloop-state
    gap_attach base.img "$DDLOOP" attach --fuse --base base.img a.dx
    dev=$(tail -n 1 gap.out)
    why=""
    if [ "$GAP_IN" -ne 1 ]; then why="the server started before the lock was tried: the gap was not hit"
    elif [ "$GAP_RC" -eq 0 ] && [ "$GAP_FLOCK" -ne 0 ]; then
      [ "$(sum "$dev")" = "$(sum a.x)" ] || why="attached, but the device does not serve the target"
    elif [ "$GAP_RC" -eq 9 ] && [ "$(wc -l <gap.err)" -eq 1 ] &&
      grep -q "^ddloop attach: [^ ]*base.img: another process is using it" gap.err; then :
    else why="attach exit $GAP_RC ($(cat gap.err)), the lock in the gap: flock exit $GAP_FLOCK"; fi
    [ "$GAP_RC" -eq 0 ] && { "$DDLOOP" detach -q "$dev" || why="$why; detach failed"; }
    check "a lock tried between attach's check and its server: attach $GAP_RC, flock $GAP_FLOCK${why:+: $why}" \
      test -z "$why"
    check "the base is untouched" test "$(sum base.img)" = "$(sum a.base)"
    rm -rf vol && "$DDLOOP" volume create vol --size 8M -q
    gap_attach vol/lock "$DDLOOP" volume attach vol
    why=""
    if [ "$GAP_IN" -ne 1 ]; then why="the server started before the lock was tried: the gap was not hit"
    elif [ "$GAP_FLOCK" -ne 0 ]; then why="flock could not take vol/lock in the gap (exit $GAP_FLOCK)"
    elif [ "$GAP_RC" -ne 9 ] || [ "$(wc -l <gap.err)" -ne 1 ] ||
      ! grep -q "^ddloop volume attach: [^ ]*vol: in use by" gap.err; then
      why="volume attach exit $GAP_RC: $(cat gap.err)"
    fi
    [ "$GAP_RC" -eq 0 ] && "$DDLOOP" detach -q "$(tail -n 1 gap.out)"
    check "a volume locked before its server starts: volume attach exit 9, one line${why:+: $why}" test -z "$why"
    check "no attachment is left behind" test -z "$(ls "$DDLOOP_RUN_DIR" 2>/dev/null)"
  fi
  export DDLOOP_RUN_DIR="$T/run"
fi

# --- 4. Block-device states and locks.
if ! command -v losetup >/dev/null; then echo "SKIP part 4: losetup is missing"; finish; exit; fi
loop() {  # loop VAR FILE
  local d
  d=$(losetup -f --show "$2" 2>/dev/null) || { echo "SKIP part 4: cannot attach a loop device here"; finish; exit; }
  DEVS+=("$d")
  printf -v "$1" '%s' "$d"
}
# The state of a device, as DefaultStatePath names it (BlockDeviceKey).
dev_state() {
  local mm name
  mm=$(printf '%d%%3A%d' "0x$(stat -L -c %t "$1")" "0x$(stat -L -c %T "$1")")
  name=$(basename "$(readlink -f "/sys/dev/block/$(printf '%d:%d' "0x$(stat -L -c %t "$1")" "0x$(stat -L -c %T "$1")")")")
  echo "/var/lib/ddloop/replica/block-$mm-$name.state"
}
make_set b 8
cp b.x bz.img
head -c $((1 << 20)) /dev/urandom > r && write_at bz.img 0 $((1 << 20)) r
"$DDLOOP" create --base b.x bz.img -o b.dz -q   # x -> z
cp b.base ra.img
cp b.x rb.img
printf 'Q' | dd of=rb.img bs=1 seek=$(((1 << 20) + 5)) conv=notrunc status=none  # x, but not quite
loop la ra.img
loop lb rb.img
mkdir -p dev/vg0 dev/vg0_data
ln -s "$la" dev/vg0/data_replica
ln -s "$lb" dev/vg0_data/replica
old_style=/var/lib/ddloop/replica/$(echo "$T/dev/vg0/data_replica" | tr / _).state
sa=$(dev_state "$la")
sb=$(dev_state "$lb")
STATES+=("$old_style" "$sa" "$sb")
rm -f "$old_style" "$sa" "$sb"
expect_exit 0 "apply onto /dev/vg0/data_replica" "$DDLOOP" apply -q b.dx "$T/dev/vg0/data_replica"
check "the device holds the target" cmp -s "$la" b.x
check "its state is keyed by the device ($(basename "$sa"))" grep -q '^state at' "$sa"
sumb=$(sum "$lb")
expect_exit 6 "--check quick onto /dev/vg0_data/replica: another device, no shared state" \
  "$DDLOOP" apply --check quick b.dz "$T/dev/vg0_data/replica"
check "that device is untouched" test "$(sum "$lb")" = "$sumb"
check "and has no state recorded as done" test ! -e "$sb" -o -z "$(grep '^state at' "$sb" 2>/dev/null)"
"$DDLOOP" apply --json --check quick b.dx "$la" > j1 2>&1
check "the device's own node finds the state written through the link" grep -q '"base_check": "recorded state' j1
mm=$(printf '%d %d' "0x$(stat -L -c %t "$la")" "0x$(stat -L -c %T "$la")")
if mknod node b $mm 2>/dev/null && head -c 1 node >/dev/null 2>&1; then
  "$DDLOOP" apply --json --check quick b.dx "$T/node" > j2 2>&1
  check "a mknod copy of the node finds the same state" grep -q '"base_check": "recorded state' j2
  flock -n -o "$la" sleep 30 & holder=$!
  for i in $(seq 1 50); do grep -q FLOCK /proc/locks && break; sleep 0.1; done
  sleep 0.3
  expect_exit 9 "a lock on the device's node refuses apply through a mknod copy" "$DDLOOP" apply b.dz "$T/node"
  err_has "another process is using it"
  kill $(pgrep -P $holder) $holder 2>/dev/null; wait $holder 2>/dev/null
else
  echo "note: mknod of a usable device node is not allowed here; that check is left out"
fi
mkdir -p mnt
if command -v mkfs.ext4 >/dev/null && mkfs.ext4 -q -F "$lb" >/dev/null 2>&1 && mount "$lb" mnt 2>/dev/null; then
  expect_exit 9 "apply onto a mounted device is refused" "$DDLOOP" apply --check full b.dz "$T/dev/vg0_data/replica"
  err_has "mounted or held open exclusively"
  umount mnt
fi
finish
