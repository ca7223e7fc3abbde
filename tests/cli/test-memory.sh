#!/bin/bash
# test-memory.sh - apply's memory stays bounded (<= 64 MiB peak RSS) however
# large the delta: here 384 MiB of incompressible changes, applied from a
# file and from a pipe, with the full base check.
source "$(dirname "$0")/lib.sh"
if [ -n "${DDLOOP_SANITIZED:-}" ]; then
  echo "SKIP: peak RSS is not meaningful under AddressSanitizer"
  exit 77
fi
[ -x /usr/bin/time ] || { echo "SKIP: /usr/bin/time (package time) is not installed"; exit 77; }

SIZE=$((384 << 20))
truncate -s $SIZE old.img
head -c $SIZE /dev/urandom > new.img
"$DDLOOP" create --base old.img new.img -o big.delta -q
check "the delta is large ($(stat -c %s big.delta) bytes)" test "$(stat -c %s big.delta)" -gt $((300 << 20))

rss() {  # rss COMMAND...: peak RSS in KiB
  /usr/bin/time -f %M -o "$T/.rss" "$@" >/dev/null 2>&1 || { echo 999999999; return; }
  tail -1 "$T/.rss"
}
cp old.img img
kb=$(rss "$DDLOOP" apply --check full big.delta img)
check "apply from a file peaks at $kb KiB (<= 65536)" test "$kb" -le 65536
check "and gives NEW" same img new.img
cp old.img img2
kb=$(rss sh -c "cat big.delta | '$DDLOOP' apply --from - img2")
check "apply from a pipe peaks at $kb KiB (<= 65536)" test "$kb" -le 65536
check "and gives NEW" same img2 new.img
kb=$(rss "$DDLOOP" verify big.delta --base old.img)
check "verify --base peaks at $kb KiB (<= 65536)" test "$kb" -le 65536
finish
