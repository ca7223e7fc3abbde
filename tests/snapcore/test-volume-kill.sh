#!/bin/bash
# test-volume-kill.sh VOLUME_TORTURE - real kill -9 of a process writing to a
# volume (writes, flushes, snapshots) and of one reverting it. After every
# kill the volume must open consistent: every flushed write present, no torn
# or misplaced chunk, every reported snapshot present with its fingerprint;
# an interrupted revert must finish on re-run and give the snapshot.
set -u
T=$1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
pause() { sleep "$(awk -v s=$RANDOM -v lo="$1" -v hi="$2" 'BEGIN{srand(s); printf "%.3f", lo+rand()*(hi-lo)}')"; }

V=$WORK/vol
"$T" create "$V" $((16 << 20)) || fail "create"
kills=0
for session in $(seq 1 22); do
  "$T" write "$V" "$session" >"$WORK/log.$session" 2>"$WORK/err" &
  pid=$!
  pause 0.2 0.6
  kill -9 $pid 2>/dev/null && kills=$((kills + 1))
  wait $pid 2>/dev/null
  grep -q . "$WORK/err" && fail "writer $session: $(cat "$WORK/err")"
  out=$("$T" check "$V" "$WORK/state" "$WORK/log.$session" "$session") || fail "after kill $session: $out"
  echo "write kill $session: $out"
done
[ "$kills" -ge 20 ] || fail "only $kills kills during writes"

snap=$(grep -h '^S ' "$WORK"/log.* | head -1 | cut -d' ' -f2)
[ -n "$snap" ] || fail "no snapshot was taken"
rkills=0 landed=0
for i in $(seq 1 30); do
  "$T" revert "$V" "$snap" >"$WORK/rlog" 2>&1 &
  pid=$!
  # Aim after the volume is open (slow under a sanitizer), inside the revert.
  for _ in $(seq 200); do grep -q begin "$WORK/rlog" && break; sleep 0.01; done
  pause 0.0 0.03
  kill -9 $pid 2>/dev/null && rkills=$((rkills + 1))
  wait $pid 2>/dev/null
  out=$("$T" revert "$V" "$snap" 2>&1) || fail "re-run of revert after kill $i: $out"
  case $out in *interrupted*) landed=$((landed + 1)) ;; esac
  msg=$("$T" check-revert "$V" "$snap" 2>&1) || fail "after revert kill $i: $msg"
  # Change the volume again so the next revert has work to do.
  "$T" write "$V" $((100 + i)) >/dev/null 2>&1 &
  pid=$!
  pause 0.1 0.3
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
done
echo "kills during writes: $kills; during revert: $rkills ($landed found an interrupted revert to finish)"
[ "$rkills" -ge 20 ] || fail "only $rkills kills during revert"
[ "$landed" -ge 5 ] || fail "only $landed kills landed inside a revert"
echo PASS
