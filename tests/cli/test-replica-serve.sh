#!/bin/bash
# test-replica-serve.sh - `ddloop replica serve R DIR` (issue 14): the newest
# snapshot of R/volume at DIR/current, switched after each new snapshot
# while 4 readers read through DIR/current and check that every pass sees
# one generation, whole (0 torn or mixed reads), and that a generation
# never goes back; >= 100 switches; old mounts released while serving;
# SIGTERM stops with exit 0 and leaves no mount, attachment or loop device;
# a reader inside a snapshot keeps it (even across a stop, up to
# --stop-wait); kill -9 of serve, then a restart adopts what it left; one
# serve per DIR; bad input.
#
# The syncs are simulated: the test writes generation N of a file set into
# the live volume (attached with --mount-fs) and takes snapshot gN, as
# `ddloop replica sync` seals one.
source "$(dirname "$0")/lib.sh"
requires mkfs.ext4 fsfreeze losetup mount umount sha256sum
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (FUSE mounts, loop devices)"; exit 77; }
[ -c /dev/fuse ] || { echo "SKIP: /dev/fuse is missing (FUSE not available here)"; exit 77; }
[ -c /dev/loop-control ] || { echo "SKIP: /dev/loop-control is missing (no loop devices)"; exit 77; }
export DDLOOP_RUN_DIR="$T/run"
SERVE_PID=
cleanup() {
  touch "$T/stop-readers"
  [ -n "$SERVE_PID" ] && kill -9 "$SERVE_PID" 2>/dev/null
  wait 2>/dev/null
  for m in $(awk -v d="$T/srv/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo); do umount -l "$m"; done
  "$DDLOOP" detach --all --force -q 2>/dev/null
  umount -l "$T/fs" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
R=$T/r V=$T/r/volume DIR=$T/srv
SWITCHES=${DDLOOP_SERVE_SWITCHES:-105}
mkdir -p fs r

# gen N: generation N of the file set in the live filesystem (8 files whose
# every line names the generation and the file, of sizes that vary, and
# MANIFEST with their sha256s), then snapshot gN of it (frozen).
gen() {
  local n=$1 i
  for i in 1 2 3 4 5 6 7 8; do
    yes "gen $n file f$i" | head -c $(( (i * 7919 + n * 104729) % 60000 + 4096 )) > fs/f$i
  done
  (cd fs && sha256sum f1 f2 f3 f4 f5 f6 f7 f8 > MANIFEST && echo "$n" > GEN)
  "$DDLOOP" snapshot create "$V" "g$n" -q || not_ok "snapshot create g$n"
}
# served N: waits until a path opened through DIR/current shows generation N.
served() {
  local k
  for k in $(seq 200); do
    [ "$(cat "$DIR/current/GEN" 2>/dev/null)" = "$1" ] && return 0
    sleep 0.05
  done
  return 1
}
# log_has FILE TEXT: FILE gets a line with TEXT within 10 s.
log_has() { local k; for k in $(seq 100); do grep -qF -- "$2" "$1" && return 0; sleep 0.1; done; return 1; }
start_serve() {  # LOG [OPTIONS...]
  local log=$1; shift
  "$DDLOOP" replica serve "$R" "$DIR" --poll 0.2 "$@" 2>"$log" &
  SERVE_PID=$!
}
stop_serve() {  # waits for it; sets SERVE_RC
  kill -TERM "$SERVE_PID"
  SERVE_RC=0
  wait "$SERVE_PID" || SERVE_RC=$?
  SERVE_PID=
}
mounts_under_dir() { awk -v d="$DIR/" 'index($5, d) == 1' /proc/self/mountinfo | wc -l; }
attachments() { "$DDLOOP" list --json | grep -o '"id": "ddl-[0-9a-f]*"' | wc -l; }

# reader ID PAUSE: until stop-readers exists, passes of: cd DIR/current
# (the pass stays in that snapshot), read GEN, sleep PAUSE (a switch
# happens meanwhile), then every file's first line must name that
# generation and sha256sum -c of that snapshot's MANIFEST must pass.
# A pass that finds no GEN (it resolved DIR/current just as the old
# snapshot was unmounted, and met its empty mount point) is retried: it
# read nothing. Writes "passes retries bad last-generation" to reader-ID.
reader() {
  local id=$1 pause=$2 passes=0 retries=0 bad=0 last=-1 g rc
  while [ ! -e "$T/stop-readers" ]; do
    rc=0
    g=$(cd "$DIR/current" 2>/dev/null || exit 3
        IFS= read -r g <GEN 2>/dev/null || exit 3
        [ "$pause" = 0 ] || sleep "$pause"
        for i in 1 2 3 4 5 6 7 8; do
          IFS= read -r line <f$i || { echo "f$i unreadable in gen $g"; exit 1; }
          [ "$line" = "gen $g file f$i" ] || { echo "mixed: f$i is '$line' in gen $g"; exit 1; }
        done
        sha256sum --quiet --strict -c MANIFEST >/dev/null 2>&1 || { echo "torn: gen $g fails its MANIFEST"; exit 1; }
        echo "$g") || rc=$?
    case $rc in
      0) passes=$((passes + 1))
         [ "$g" -ge "$last" ] || { bad=$((bad + 1)); echo "reader $id: gen $g after gen $last" >>"$T/reader-errors"; }
         last=$g ;;
      3) retries=$((retries + 1)) ;;
      *) bad=$((bad + 1)); echo "reader $id: $g" >>"$T/reader-errors" ;;
    esac
    sleep 0.01  # a breath between passes, so that busy readers do not starve serve on a small machine
  done
  echo "$passes $retries $bad $last" >"$T/reader-$id"
}

# The replica's volume: ext4, attached live with --mount-fs, generation 0.
expect_exit 0 "volume create R/volume (64 MiB)" "$DDLOOP" volume create "$V" --size 64M -q
dev=$("$DDLOOP" volume attach "$V") || not_ok "volume attach"
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$dev"
"$DDLOOP" detach -q "$dev"
expect_exit 0 "attach the live volume with --mount-fs" "$DDLOOP" volume attach "$V" --mount-fs fs
gen 0

# Bad input: one line, documented exit codes, nothing served.
mkdir notrep
expect_exit 3 "R without a volume" "$DDLOOP" replica serve notrep "$DIR"
err_has "not a ddloop volume"
expect_exit 2 "--poll 0" "$DDLOOP" replica serve "$R" "$DIR" --poll 0
expect_exit 2 "DIR inside the replica's volume" "$DDLOOP" replica serve "$R" "$V/srv"
check "nothing is made inside the volume" test ! -e "$V/srv"
mkdir -p bad && echo x > bad/current
expect_exit 2 "DIR/current is a regular file" "$DDLOOP" replica serve "$R" bad
err_has "bad/current: exists and is not a symbolic link"
check "bad/current is left alone" test "$(cat bad/current)" = x

# Serving, and >= 100 switches under 4 readers.
start_serve serve.log
check "DIR/current serves generation 0" served 0
check "the snapshot's attachment is listed (ddloop list)" sh -c "'$DDLOOP' list | grep -q 'snapshot g0 .*ok'"
check "ddloop list --json names its owner" sh -c "'$DDLOOP' list --json | grep -qF '\"owner\": \"replica serve $(readlink -f "$DIR")\"'"
expect_exit 9 "a second serve of the same DIR" "$DDLOOP" replica serve "$R" "$DIR"
err_has "in use by pid $SERVE_PID"
rm -f stop-readers reader-errors
reader 1 0 & reader 2 0 & reader 3 0.3 & reader 4 1.5 &
late=0 t0=$SECONDS
for n in $(seq 1 "$SWITCHES"); do
  gen "$n"
  served "$n" || late=$((late + 1))
  # Now and then, a reader that holds a snapshot through several switches.
  [ $((n % 25)) = 0 ] && (cd "$DIR/current" && sleep 2) &
done
echo "     $SWITCHES snapshots served in $((SECONDS - t0)) s"
check "every generation was served through DIR/current after its snapshot ($late late)" test "$late" = 0
touch stop-readers
wait $(jobs -p | grep -vx "$SERVE_PID") 2>/dev/null
# The readers have left their snapshots: a poll releases them (10 s at most;
# "released" is logged once the attachment is undone, after the unmount).
switches=$(grep -c "serving snapshot" serve.log)
for k in $(seq 100); do
  [ "$(mounts_under_dir)" = 1 ] && [ "$(grep -c "released snapshot" serve.log)" = $((switches - 1)) ] && break
  sleep 0.1
done
check "at least 100 switches ($switches)" test "$switches" -gt 100
total=0
for id in 1 2 3 4; do
  read -r passes retries bad last <"reader-$id" || { not_ok "reader $id reported nothing"; continue; }
  echo "     reader $id: $passes passes, $retries retried, $bad bad, last generation $last"
  check "reader $id: 0 torn or mixed reads" test "$bad" = 0
  check "reader $id read passes" test "$passes" -gt 0
  total=$((total + passes))
done
[ -e reader-errors ] && head -5 reader-errors
check "readers saw generations during the switches ($total passes)" test "$total" -gt 100
check "old snapshots are released while serving (1 mount left)" test "$(mounts_under_dir)" = 1
released=$(grep -c "released snapshot" serve.log)
check "every replaced snapshot was released ($released of $((switches - 1)))" test "$released" = $((switches - 1))

# A reader inside the served snapshot at stop: waited for (--stop-wait).
( cd "$DIR/current" && sleep 2 ) &
inside=$!
sleep 0.3
stop_serve
wait "$inside"
check "SIGTERM: serve exits 0 (rc $SERVE_RC)" test "$SERVE_RC" = 0
check "no DIR/current after stop" test ! -e "$DIR/current" -a ! -L "$DIR/current"
check "no mount under DIR after stop" test "$(mounts_under_dir)" = 0
check "only the live volume is attached after stop" test "$(attachments)" = 1
check "one loop device of ours is left (the live volume's)" test "$(losetup -a | grep -c "($DDLOOP_RUN_DIR/")" = 1
check "the stop waited for the reader, not lazily" sh -c "! grep -q lazily serve.log"

# kill -9, a new snapshot, a restart: the leftover is adopted, then released.
start_serve serve2.log
check "served again after a restart" served "$SWITCHES"
kill -9 "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null; SERVE_PID=
check "kill -9 leaves the snapshot attached" test "$(attachments)" = 2
gen $((SWITCHES + 1))
start_serve serve3.log
check "after kill -9, the restart serves the new snapshot" served $((SWITCHES + 1))
check "the restart adopted what the killed serve left" grep -q "adopted snapshot g$SWITCHES" serve3.log
check "and released it once unused" log_has serve3.log "released snapshot g$SWITCHES"
stop_serve
check "SIGTERM after the restart: exit 0" test "$SERVE_RC" = 0
check "no mount under DIR" test "$(mounts_under_dir)" = 0
check "only the live volume is attached" test "$(attachments)" = 1

# A reader that stays past --stop-wait: unmounted lazily, still exit 0.
start_serve serve4.log --stop-wait 0.5
served $((SWITCHES + 1)) || not_ok "served for the lazy stop"
( cd "$DIR/current" && sleep 4 ) &
inside=$!
sleep 0.3
stop_serve
check "a reader past --stop-wait: exit 0" test "$SERVE_RC" = 0
check "the log says it was unmounted lazily" grep -q "unmounted lazily" serve4.log
wait "$inside"
check "no mount under DIR" test "$(mounts_under_dir)" = 0
check "only the live volume is attached" test "$(attachments)" = 1

expect_exit 0 "detach the live volume" "$DDLOOP" detach -q fs
check "nothing is left attached" sh -c "'$DDLOOP' list | grep -q 'nothing attached'"
check "no loop device of ours is left" sh -c "! losetup -a | grep -q '($DDLOOP_RUN_DIR/'"
finish
