#!/bin/bash
# test-output-special.sh - an output path never destroys what it names:
# `-o -`, a FIFO, a character device, a block device and a link to
# standard output are written as a stream (create | apply round trips, the
# node keeps its type), only regular files are replaced (a link to one stays
# a link), a terminal is refused at once (for `create -o`, `volume delta -o`
# and `restore -f -`), and nothing planted at a temporary or part-file name
# is followed or overwritten.
source "$(dirname "$0")/lib.sh"
requires python3 cmp

# on_tty CMD...: runs CMD with a new terminal as its stdin, stdout and
# stderr (nothing is ever typed on it); prints what it wrote, then rc=N, or
# rc=timeout if it had not finished after 10 s.
on_tty() {
  python3 -c '
import os, pty, select, signal, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out, deadline = b"", time.time() + 10
while True:
    r, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
    if not r:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        print(out.decode(errors="replace"))
        print("rc=timeout")
        sys.exit(0)
    try:
        b = os.read(fd, 65536)
    except OSError:
        b = b""
    if not b:
        break
    out += b
_, st = os.waitpid(pid, 0)
print(out.decode(errors="replace"))
print("rc=%d" % os.waitstatus_to_exitcode(st))
' "$@"
}

truncate -s 8M a.img
text_file $((2 << 20)) a > t && write_at a.img 0 $((2 << 20)) t
head -c $((1 << 20)) /dev/urandom > r && write_at a.img $((4 << 20)) $((1 << 20)) r
cp a.img b.img && head -c $((1 << 20)) /dev/urandom > r && write_at b.img $((6 << 20)) $((1 << 20)) r

# --- -o -: a stream into a pipe, applied as it comes ------------------------
"$DDLOOP" create a.img -o - -q | "$DDLOOP" apply --from - rt.img -q
check "create -o - | apply --from -: a seed rebuilds the image" same rt.img a.img
"$DDLOOP" create --base a.img b.img -o - -q | "$DDLOOP" apply --from - rt.img -q
check "create --base -o - | apply --from -: the increment reaches the target" same rt.img b.img
check "no file named '-' was created" test ! -e ./-
"$DDLOOP" create --base a.img b.img -o - --json 2>summary.json > ab.delta
expect_exit 0 "a delta written to stdout (a regular file) verifies" "$DDLOOP" verify ab.delta -q
check "the summary goes to stderr when the delta goes to stdout" \
  python3 -c "import json,os; j=json.load(open('summary.json')); assert j['file']=='<stdout>' and j['file_size']==os.path.getsize('ab.delta')"

# --- volume delta -o - --------------------------------------------------------
"$DDLOOP" volume import vol b.img -q && "$DDLOOP" snapshot create vol s1 -q
"$DDLOOP" volume delta vol --to s1 -o - -q | "$DDLOOP" apply --from - vrt.img -q
check "volume delta -o - | apply --from -: the seed gives the snapshot" same vrt.img b.img
"$DDLOOP" volume delta vol --from origin --to s1 -o - -q > vd.delta
expect_exit 0 "volume delta to stdout verifies" "$DDLOOP" verify vd.delta -q
check "volume delta made no file named '-'" test ! -e ./- -a ! -e vol/-

# --- A FIFO stays a FIFO -----------------------------------------------------
mkfifo fifo
# The reader opens the FIFO under timeout: if the FIFO were replaced, no
# writer would ever come.
timeout 60 sh -c 'exec "$0" apply --from - fifo.img -q < fifo' "$DDLOOP" &
reader=$!
expect_exit 0 "create -o FIFO with a reader on the FIFO" "$DDLOOP" create a.img -o fifo -q
[ -p fifo ] || kill $reader
wait $reader
check "the reader applied what came through the FIFO" same fifo.img a.img
check "the FIFO is still a FIFO" test -p fifo -a ! -L fifo

# --- A symbolic link to standard output stays a link -------------------------
ln -s /proc/self/fd/1 stdout-link
"$DDLOOP" create a.img -o stdout-link -q > via-link.delta
check "the link to /proc/self/fd/1 is still that link" test "$(readlink stdout-link)" = /proc/self/fd/1
expect_exit 0 "what went through the link to stdout is the delta" "$DDLOOP" verify via-link.delta -q
"$DDLOOP" create a.img -o stdout-link -q | "$DDLOOP" apply --from - link.img -q
check "through the link into a pipe: the image" same link.img a.img
echo precious > victim && ln -s victim file-link
expect_exit 0 "create -o LINK-TO-A-FILE" "$DDLOOP" create a.img -o file-link -q
check "a link to a regular file stays a link; the file it names is replaced" \
  sh -c "[ -L file-link ] && [ \"\$(readlink file-link)\" = victim ] && '$DDLOOP' verify victim -q"
ln -s nowhere dangling
expect_exit 3 "a link to nothing is refused, not created through" "$DDLOOP" create a.img -o dangling -q
check "nothing was created through the dangling link" test ! -e nowhere -a -L dangling

# --- A terminal is refused at once -------------------------------------------
on_tty "$DDLOOP" create a.img -o - > tty.out
check "create -o - on a terminal exits 2 at once" grep -q '^rc=2' tty.out
check "it says why, on one line" grep -q "<stdout>: is a terminal; refusing to write a deltafile" tty.out
check "and writes nothing else there, and no file named '-'" sh -c "[ \$(grep -c . tty.out) -eq 2 ] && [ ! -e ./- ]"
on_tty "$DDLOOP" volume delta vol --to s1 -o - > tty2.out
check "volume delta -o - on a terminal exits 2" sh -c "grep -q '^rc=2' tty2.out && grep -q 'is a terminal' tty2.out"
on_tty "$DDLOOP" restore -f - --list > tty3.out
check "restore -f - with a terminal on stdin exits 2 at once (no wait)" grep -q '^rc=2' tty3.out
check "it says why" grep -q "<stdin>: is a terminal; refusing to read an archive" tty3.out

# --- Nothing planted at create's temporary name is followed ------------------
# Before the unique random temporary names, create wrote OUT.tmp.PID: a link
# planted there (exec keeps the PID) sent the delta into the victim.
echo "do not overwrite" > victim2
cp victim2 victim2.orig
bash -c 'ln -s victim2 "planted.delta.tmp.$$"; exec "$0" create a.img -o planted.delta -q' "$DDLOOP"
check "a link planted at create's old temporary name: the victim is untouched" same victim2 victim2.orig
expect_exit 0 "and the delta was written where asked" "$DDLOOP" verify planted.delta -q

# --- Nothing planted at restore --extract's part names is followed -----------
"$DDLOOP" create a.img -o seed.delta -q
"$DDLOOP" archive seed.delta -f one.tar -q
mkdir ex ex2
echo "victim of a hard link" > hvictim && cp hvictim hvictim.orig
ln hvictim ex/.seed.delta.ddloop-part
expect_exit 0 "restore --extract with a hard link planted at the old part-file name" \
  "$DDLOOP" restore -f one.tar --extract ex -q
check "the hard-linked victim is untouched" same hvictim hvictim.orig
check "the extracted deltafile is the archived one" same ex/seed.delta seed.delta
echo "victim of a symlink" > svictim && cp svictim svictim.orig
ln -s ../svictim ex2/.seed.delta.ddloop-part
expect_exit 0 "restore --extract with a symbolic link planted there" "$DDLOOP" restore -f one.tar --extract ex2 -q
check "the symlinked victim is untouched" same svictim svictim.orig
check "the extracted deltafile is the archived one" same ex2/seed.delta seed.delta
check "no temporary part file is left behind" test -z "$(ls -A ex ex2 | grep '\.tmp$')"

# --- Device nodes (root) -----------------------------------------------------
if [ "$(id -u)" -eq 0 ] && mknod null-dev c 1 3 2>/dev/null; then
  expect_exit 0 "create -o CHAR-DEVICE (a scratch /dev/null)" "$DDLOOP" create a.img -o null-dev -q
  check "the character device is still a character device 1,3" \
    test "$(stat -c '%F %t,%T' null-dev)" = "character special file 1,3"
  expect_exit 0 "volume delta -o CHAR-DEVICE" "$DDLOOP" volume delta vol --to s1 -o null-dev -q
  check "still a character device" test -c null-dev
else
  echo "skip: not root, or mknod not permitted: character-device output not tested"
fi

if [ "$(id -u)" -eq 0 ] && command -v losetup >/dev/null && truncate -s 16M dev.img &&
    dev=$(losetup -f --show dev.img 2>/dev/null); then
  trap 'losetup -d "$dev" 2>/dev/null; rm -rf "$T"' EXIT
  # A scratch node for the loop device: a ddloop that replaced its output
  # would destroy this node, not the system's /dev/loopN.
  mknod blk b $(stat -c '0x%t 0x%T' "$dev")
  "$DDLOOP" create --base a.img b.img -o blk --json > dev.json 2>dev.err
  check "create -o BLOCK-DEVICE" test $? -eq 0
  size=$(python3 -c "import json; print(json.load(open('dev.json'))['file_size'])" 2>/dev/null || echo 0)
  check "the block device is still a block device" test -b blk
  cp a.img bd.img
  head -c "$size" "$dev" | "$DDLOOP" apply --from - bd.img -q
  check "the delta is at offset 0 of the device: applied from it, the target" same bd.img b.img
  check "the file behind the device keeps its size" test "$(stat -c %s dev.img)" -eq $((16 << 20))
  losetup -d "$dev"
  trap 'rm -rf "$T"' EXIT
else
  echo "skip: not root or no loop device: block-device output not tested"
fi

finish
