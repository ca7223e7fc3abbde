#!/bin/bash
# test-crash-apply.sh - SIGKILL `ddloop apply` at random points (at least
# 50 that land mid-run); re-running the same command must converge to NEW
# every time, and no kill may leave a state file claiming the target while
# the image differs from it.
source "$(dirname "$0")/lib.sh"
requires sha256sum

SIZE=$((64 << 20))
truncate -s $SIZE old.img
text_file $((24 << 20)) a > t && write_at old.img 0 $((24 << 20)) t
head -c $((16 << 20)) /dev/urandom > r && write_at old.img $((32 << 20)) $((16 << 20)) r
cp old.img new.img
for i in $(seq 0 39); do
  head -c 524288 /dev/urandom > r && write_at new.img $(((i * 1597 % 120) * 524288)) 524288 r
done
write_at new.img $((50 << 20)) $((4 << 20)) /dev/zero
"$DDLOOP" create --base old.img new.img -o d.delta -q
target_fp=$("$DDLOOP" info --json d.delta | sed 's/.*"target": {[^}]*"fingerprint": "\([0-9a-f]*\)".*/\1/')
[ ${#target_fp} -eq 64 ] || { echo "cannot read the target fingerprint"; exit 1; }

# How long one apply takes, to spread the kills across it.
cp old.img img
start=$(date +%s%N)
"$DDLOOP" apply --checkpoint 1M d.delta img -q
dur_us=$((($(date +%s%N) - start) / 1000))
cmp -s img new.img || { echo "plain apply failed"; exit 1; }
echo "one apply takes ${dur_us} us"

# The invariant after any kill: a state of "at" the target means the image is NEW.
check_invariant() {
  if [ -f img.ddloop-state ] && grep -q '^state at' img.ddloop-state; then
    if grep -q "^current_fingerprint $target_fp" img.ddloop-state; then
      cmp -s img new.img || { not_ok "kill $1: state says target but the image differs"; return; }
    else
      not_ok "kill $1: state says at something other than the target"
      return
    fi
  fi
  ok "kill $1: no false claim of completion"
}

# Kill after a random delay in [0, hi). The window adapts to the machine's
# load: a kill that came too late (the run had finished) narrows it.
mid=0 resumed=0 runs=0 hi=$dur_us
RANDOM=4242
while [ $mid -lt 50 ] && [ $runs -lt 400 ]; do
  runs=$((runs + 1))
  cp old.img img && rm -f img.ddloop-state
  "$DDLOOP" apply --checkpoint 1M d.delta img -q 2>/dev/null &
  pid=$!
  delay=$(((RANDOM * 32768 + RANDOM) % (hi + 1)))
  sleep "$(printf '0.%06d' $((delay % 1000000)))"
  kill -9 $pid 2>/dev/null
  rc=0; wait $pid || rc=$?
  if [ $rc -eq 137 ]; then
    mid=$((mid + 1))
    hi=$((hi * 21 / 20 < dur_us * 2 ? hi * 21 / 20 : dur_us * 2))
  else
    hi=$((hi * 9 / 10 + 1000))
  fi
  check_invariant "$runs (after ${delay} us, exit $rc)"
  # Every third run, kill the re-run as well.
  if [ $((runs % 3)) -eq 0 ]; then
    "$DDLOOP" apply --checkpoint 1M d.delta img -q 2>/dev/null &
    pid=$!
    sleep "$(printf '0.%06d' $(((delay / 2) % 1000000)))"
    kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
    check_invariant "$runs (second kill)"
  fi
  out=$("$DDLOOP" apply --checkpoint 1M d.delta img 2>&1) || { not_ok "run $runs: re-run failed: $out"; continue; }
  case "$out" in *resuming*) resumed=$((resumed + 1)) ;; esac
  if cmp -s img new.img; then ok "run $runs: re-run converged"; else not_ok "run $runs: re-run did not converge"; fi
done
echo "$runs runs, $mid kills landed mid-apply, $resumed re-runs resumed from a checkpoint"
if [ $mid -ge 50 ]; then ok "at least 50 kills landed mid-apply"; else not_ok "only $mid kills landed mid-apply"; fi
finish
