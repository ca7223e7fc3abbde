#!/bin/bash
# test-replica-crash.sh - replication killed anywhere converges, and never
# shows what it has not fully received. Source volume VOL (written through
# `volume attach`: root, FUSE, loop) -> `ddloop publish` -> repository A
# (nginx) -> replica R1, which forwards to repository B (file://) -> R2.
#  1. `replica sync R1` is killed with SIGKILL at >= 50 random points over
#     its pull, apply, seal and forward (one snapshot published per round,
#     the delay random in the time one sync takes); every re-run converges to
#     A's HEAD; no re-run asks for a reseed (exit 10).
#  2. `ddloop publish` is killed at >= 20 random points; the re-run leaves
#     the repository exactly as an uninterrupted publish (same entry names,
#     checksums, sizes, bases and targets; HEAD on the same entry, one move
#     per delta).
#  3. nginx stopped and restarted under a sync, then answering 503 for a
#     while: the sync retries and succeeds, no reseed.
# After every step: each snapshot a replica lists is the source's of the
# same UUID (name, fingerprint); R2 holds only what R1 holds sealed; B's
# catalog names only what R1 holds sealed. At the end the newest snapshot
# exported from VOL, R1 and R2 is byte-identical.
source "$(dirname "$0")/lib.sh"
source "$HERE/../servers/nginx.sh"
requires python3 curl sha256sum
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (the source volume is written through volume attach)"; exit 77; }
[ -c /dev/fuse ] || { echo "SKIP: /dev/fuse is missing (FUSE not available here)"; exit 77; }
[ -c /dev/loop-control ] || { echo "SKIP: /dev/loop-control is missing (no loop devices)"; exit 77; }
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || {
  [ "${CI:-}" = true ] && { echo "FAIL: nginx is not installed (CI installs nginx-light)"; exit 1; }
  echo "SKIP: nginx is not installed"
  exit 77
}
export DDLOOP_RUN_DIR=$T/run XDG_STATE_HOME=$T/xdg
CHECK="python3 $HERE/replica_check.py"
cleanup() {
  nginx_stop
  "$DDLOOP" detach --all --force -q 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
RANDOM=1414
# rand_us HI: a random number of microseconds in [0, HI].
rand_us() { echo $(((RANDOM * 32768 + RANDOM) % ($1 + 1))); }
sleep_us() { sleep "$(printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)))"; }
now_us() { echo $(($(date +%s%N) / 1000)); }

# The source: a 32 MiB volume; s00 holds 12 MiB, each of s01..s$NSMALL
# changes 256 KiB in 4 places; big1..big3 change 6 MiB each (the slow syncs
# of part 3).
NSMALL=72
V=$T/vol
"$DDLOOP" volume create "$V" --size 32M -q || { echo "FAIL: volume create"; exit 1; }
dev=$("$DDLOOP" volume attach "$V") || { echo "FAIL: volume attach"; exit 1; }
put() { head -c "$2" "$3" | dd of="$dev" bs=64K seek="$1" oflag=direct,seek_bytes conv=fsync status=none; }
text_file $((8 << 20)) source >text.bin
put 0 $((8 << 20)) text.bin
put $((16 << 20)) $((4 << 20)) /dev/urandom
"$DDLOOP" snapshot create "$V" s00 -q || { echo "FAIL: snapshot create"; exit 1; }
start=$(now_us)
for i in $(seq 1 $NSMALL); do
  for k in 1 2 3 4; do put $((((i * 131 + k * 977) % 500) * 65536)) 65536 /dev/urandom; done
  "$DDLOOP" snapshot create "$V" "$(printf 's%02d' "$i")" -q || not_ok "snapshot create s$i"
done
for i in 1 2 3; do
  put $(((i * 6) << 20)) $((6 << 20)) /dev/urandom
  "$DDLOOP" snapshot create "$V" "big$i" -q || not_ok "snapshot create big$i"
done
"$DDLOOP" detach -q "$dev" || not_ok "detach the source"
"$DDLOOP" snapshot list "$V" --json >src.json
check "the source has $((NSMALL + 4)) snapshots" \
  test "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["snapshots"]))' src.json)" = $((NSMALL + 4))
echo "source made in $((($(now_us) - start) / 1000)) ms"
uuid() { $CHECK uuid src.json "$1"; }

nginx_start "$T/ng" || exit 1
PORT=${NGINX_URL##*:}
A=$NGINX_URL/a/
B=file://$T/b

# After every step: the invariants, and what an interrupted command left.
RC10=0
invariants() {
  "$DDLOOP" replica list r1 --json >r1.json 2>/dev/null || echo '{"snapshots": []}' >r1.json
  "$DDLOOP" replica list r2 --json >r2.json 2>/dev/null || echo '{"snapshots": []}' >r2.json
  "$DDLOOP" ls "$B" --json >b.json 2>/dev/null || : >b.json
  local out
  if out=$($CHECK invariants src.json r1.json r2.json b.json); then ok "$1: invariants hold"; else
    not_ok "$1: $out"; fi
}
# sync R [ARGS]: a sync to completion; exit 10 (a reseed) is never right here.
sync_rc=0
sync_to_end() {
  local r=$1; shift
  sync_rc=0
  "$DDLOOP" replica sync "$r" -q "$@" 2>"$T/sync.err" || sync_rc=$?
  [ $sync_rc -eq 10 ] && RC10=$((RC10 + 1))
  return $sync_rc
}

## 1. kill -9 of R1's sync.
expect_exit 0 "publish s00 to A" "$DDLOOP" publish "$V" "$A" --snapshot s00 -q
expect_exit 0 "replica init r1 from A, forwarding to B" "$DDLOOP" replica init r1 --from "$A" --forward "$B" --id r1 -q
expect_exit 0 "first sync of r1 (the seed)" "$DDLOOP" replica sync r1 -q
expect_exit 0 "replica init r2 from B" "$DDLOOP" replica init r2 --from "$B" --id r2 -q
expect_exit 0 "first sync of r2" "$DDLOOP" replica sync r2 -q
invariants "after the seed"

# How long one incremental sync (pull, apply, seal, forward) takes.
"$DDLOOP" publish "$V" "$A" --snapshot s01 -q
start=$(now_us)
sync_to_end r1 || not_ok "sync of s01 (exit $sync_rc): $(cat sync.err)"
dur=$(($(now_us) - start))
sync_to_end r2
echo "one incremental sync takes $((dur / 1000)) ms"

# nginx's ETag of a file is its mtime in seconds and its size; HEAD written
# twice in one second keeps its size, so its ETag too: a sync that read the
# first HEAD must not take the second for unchanged. Deterministic, however
# slow the build (ASan): HEAD's mtime is put 60 s ahead, so the sync reads
# it in (before) the second it changed whenever it runs within that minute;
# the next HEAD gets that mtime back (what a write in the same second gives).
etag() { curl -sI "${A}HEAD" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p'; }
"$DDLOOP" publish "$V" "$A" --snapshot s02 -q
touch -d "@$(($(date +%s) + 60))" "$T/ng/www/a/HEAD" && touch -r "$T/ng/www/a/HEAD" head.stamp && e1=$(etag)
sync_to_end r1 || not_ok "sync of s02 (exit $sync_rc): $(cat sync.err)"
"$DDLOOP" publish "$V" "$A" --snapshot s03 -q
touch -r head.stamp "$T/ng/www/a/HEAD"
check "HEAD of s03 has the ETag of s02's (the case of two writes in one second)" test "$(etag)" = "$e1"
sync_to_end r1 || not_ok "sync of s03 (exit $sync_rc): $(cat sync.err)"
"$DDLOOP" replica list r1 --json >r1.json
check "a HEAD rewritten in the second a sync read it is not taken for unchanged" $CHECK newest r1.json "$(uuid s03)"
sync_to_end r1 && sync_to_end r2

declare -A phases
mid=0 runs=0 hi=$dur
for i in $(seq 4 $NSMALL); do
  [ $mid -ge 50 ] && [ $i -lt $NSMALL ] && continue
  s=$(printf 's%02d' "$i")
  "$DDLOOP" publish "$V" "$A" --snapshot "$s" -q || not_ok "publish $s to A"
  # One kill, and every third round a second one of the re-run.
  for kill in 1 2; do
    [ $kill = 2 ] && [ $((i % 3)) -ne 0 ] && break
    runs=$((runs + 1))
    "$DDLOOP" replica sync r1 -q 2>/dev/null &
    pid=$!
    delay=$(rand_us "$hi")
    sleep_us "$delay"
    kill -9 $pid 2>/dev/null
    rc=0; { wait $pid; } 2>/dev/null || rc=$?  # no "Killed" line
    [ $rc -eq 10 ] && RC10=$((RC10 + 1))
    if [ $rc -eq 137 ]; then
      mid=$((mid + 1))
      # Where it was: the phase an interrupted sync leaves in R/state.
      ph=$("$DDLOOP" replica status r1 --offline --json 2>/dev/null |
        python3 -c 'import json,sys; print((json.load(sys.stdin).get("interrupted") or "-").split()[0])' 2>/dev/null)
      phases[${ph:-?}]=$((${phases[${ph:-?}]:-0} + 1))
      hi=$((hi * 21 / 20 < dur * 2 ? hi * 21 / 20 : dur * 2))
    else
      hi=$((hi * 9 / 10 + 1000))
    fi
    invariants "round $i kill $kill (after $((delay / 1000)) ms, exit $rc)"
  done
  if sync_to_end r1; then
    "$DDLOOP" replica list r1 --json >r1.json
    if $CHECK newest r1.json "$(uuid "$s")"; then ok "round $i: the re-run converged to $s"; else
      not_ok "round $i: the re-run ended, but r1's newest is not $s"; fi
  else
    not_ok "round $i: the re-run failed (exit $sync_rc): $(cat sync.err)"
  fi
  leftover=$(find r1 -maxdepth 2 \( -name '.ddloop-publish-*' -o -path 'r1/incoming/*' \) | head -3)
  [ -z "$leftover" ] || not_ok "round $i: a converged sync left $leftover"
  sync_to_end r2 || not_ok "round $i: sync of r2 (exit $sync_rc): $(cat sync.err)"
  invariants "round $i, r2 synced"
done
echo "$runs syncs killed, $mid mid-run; interrupted in phase: $(for p in "${!phases[@]}"; do printf '%s %s, ' "$p" "${phases[$p]}"; done)"
if [ $mid -ge 50 ]; then ok "at least 50 kills landed mid-sync"; else not_ok "only $mid kills landed mid-sync"; fi
check "kills landed in more than one phase" test "${#phases[@]}" -ge 2

## 2. kill -9 of the publisher, compared with an uninterrupted publish.
expect_exit 0 "an uninterrupted publish to the reference repository" \
  "$DDLOOP" publish "$V" "file://$T/ref" --snapshot "$(printf 's%02d' $NSMALL)" -q
"$DDLOOP" ls "file://$T/ref" --json >ref.json
P=$NGINX_URL/p/
"$DDLOOP" publish "$V" "$NGINX_URL/timing/" --snapshot s02 -q
start=$(now_us)
"$DDLOOP" publish "$V" "$NGINX_URL/timing/" --snapshot s04 -q
pdur=$(($(now_us) - start))
echo "a publish of 2 deltas takes $((pdur / 1000)) ms"
pmid=0 pruns=0 hi=$pdur k=-1 rounds=0
mkdir -p pwork
while [ $pmid -lt 20 ] && [ $rounds -lt 80 ]; do
  rounds=$((rounds + 1))
  k=$((k + 1 + RANDOM % 3))
  if [ $k -gt $NSMALL ]; then rm -rf "$T/ng/www/p"; k=$((RANDOM % 3)); fi
  s=$(printf 's%02d' "$k")
  pruns=$((pruns + 1))
  "$DDLOOP" publish "$V" "$P" --snapshot "$s" --work-dir pwork -q 2>/dev/null &
  pid=$!
  delay=$(rand_us "$hi")
  sleep_us "$delay"
  kill -9 $pid 2>/dev/null
  rc=0; { wait $pid; } 2>/dev/null || rc=$?  # no "Killed" line
  if [ $rc -eq 137 ]; then
    pmid=$((pmid + 1)); hi=$((hi * 21 / 20 < pdur * 2 ? hi * 21 / 20 : pdur * 2))
  else
    hi=$((hi * 9 / 10 + 1000))
  fi
  if ! "$DDLOOP" publish "$V" "$P" --snapshot "$s" --work-dir pwork -q 2>pub.err; then
    not_ok "publish round $rounds: the re-run failed: $(cat pub.err)"
    continue
  fi
  "$DDLOOP" ls "$P" --json >p.json
  curl -sf "${P}HEAD" -o head.txt || : >head.txt
  if out=$($CHECK repo p.json ref.json head.txt "$(uuid "$s")"); then
    ok "publish round $rounds (to $s, killed after $((delay / 1000)) ms, exit $rc): as an uninterrupted publish"
  else
    not_ok "publish round $rounds (to $s, killed after $((delay / 1000)) ms, exit $rc): $out"
  fi
done
echo "$pruns publishes killed, $pmid mid-run"
if [ $pmid -ge 20 ]; then ok "at least 20 kills landed mid-publish"; else not_ok "only $pmid kills landed mid-publish"; fi
left=$(find pwork -mindepth 1 | head -3)
check "killed publishes left nothing in the work directory${left:+ (left: $left)}" test -z "$left"

## 3. The server goes away under a sync, then answers 503 for a while.
# A copy of the test's nginx.conf whose every location answers 503.
sed 's/^\( *location [^{]*{\)$/\1 return 503;/' "$T/ng/nginx.conf" >"$T/ng/nginx-503.conf"
nginx_with() {  # nginx_with CONF: nginx on the same port with another config
  nginx_stop
  "$(command -v nginx || echo /usr/sbin/nginx)" -p "$T/ng" -e "$T/ng/error.log" -c "$1" &
  NGINX_PID=$!
  local i; for i in $(seq 50); do curl -s -o /dev/null "$NGINX_URL/" && return 0; sleep 0.1; done
  not_ok "nginx did not come back with $1"
}
expect_exit 0 "publish big1 (6 MiB changed) to A" "$DDLOOP" publish "$V" "$A" --snapshot big1 -q
"$DDLOOP" replica sync r1 --limit-rate 1M --json >cut.json 2>cut.err &
pid=$!
sleep 1.5
nginx_stop
sleep 2
nginx_start "$T/ng" "$PORT" >/dev/null || not_ok "nginx restarts on port $PORT"
rc=0; { wait $pid; } 2>/dev/null || rc=$?  # no "Killed" line
[ $rc -eq 10 ] && RC10=$((RC10 + 1))
check "sync with nginx stopped and restarted under it succeeds (exit $rc: $(head -c 300 cut.err))" test $rc -eq 0
"$DDLOOP" replica list r1 --json >r1.json
check "r1 is at big1" $CHECK newest r1.json "$(uuid big1)"
invariants "after the server restart"

expect_exit 0 "publish big2 to A" "$DDLOOP" publish "$V" "$A" --snapshot big2 -q
n503=$(grep -c ' 503 ' "$T/ng/access.log")
nginx_with "$T/ng/nginx-503.conf"
"$DDLOOP" replica sync r1 --json >503.json 2>503.err &
pid=$!
sleep 3
nginx_with "$T/ng/nginx.conf"
rc=0; { wait $pid; } 2>/dev/null || rc=$?  # no "Killed" line
[ $rc -eq 10 ] && RC10=$((RC10 + 1))
check "nginx answered 503 meanwhile" test "$(grep -c ' 503 ' "$T/ng/access.log")" -gt "$n503"
check "sync through 503s succeeds (exit $rc: $(head -c 300 503.err))" test $rc -eq 0
"$DDLOOP" replica list r1 --json >r1.json
check "r1 is at big2" $CHECK newest r1.json "$(uuid big2)"

# 503s that start mid-transfer (the sync slowed down), lasting 2 s.
expect_exit 0 "publish big3 to A" "$DDLOOP" publish "$V" "$A" --snapshot big3 -q
"$DDLOOP" replica sync r1 --limit-rate 1M --json >503b.json 2>503b.err &
pid=$!
sleep 1.5
nginx_with "$T/ng/nginx-503.conf"
sleep 2
nginx_with "$T/ng/nginx.conf"
rc=0; { wait $pid; } 2>/dev/null || rc=$?  # no "Killed" line
[ $rc -eq 10 ] && RC10=$((RC10 + 1))
check "sync with 503s from mid-transfer succeeds (exit $rc: $(head -c 300 503b.err))" test $rc -eq 0
sync_to_end r2 || not_ok "r2 syncs big1..big3 from B (exit $sync_rc): $(cat sync.err)"
invariants "after the 503s"
check "no sync asked for a reseed (exit 10) in the whole test" test $RC10 -eq 0

## The final state, exported: the newest snapshot of VOL, R1 and R2.
"$DDLOOP" replica list r1 --json >r1.json
"$DDLOOP" replica list r2 --json >r2.json
check "r1 is at the source's newest" $CHECK newest r1.json "$(uuid big3)"
check "r2 is at the source's newest" $CHECK newest r2.json "$(uuid big3)"
for n in src r1 r2; do
  v=$n/volume && [ $n = src ] && v=$V
  "$DDLOOP" volume delta "$v" --to big3 -o "export-$n.ddl" -q && "$DDLOOP" apply "export-$n.ddl" "export-$n.img" -q ||
    not_ok "export big3 of $v"
done
check "big3 exported from r1 is the source's, byte for byte" same export-src.img export-r1.img
check "big3 exported from r2 is the source's, byte for byte" same export-src.img export-r2.img
finish
