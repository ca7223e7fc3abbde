#!/bin/bash
# test-golden-volume.sh DDLOOP - `ddloop volume check` accepts a copy of the
# committed golden volume (tests/golden/volume/vol) and exits 0, and fails
# with exit 3 or more once a byte of its manifest is flipped. Works on
# copies only: the committed volume is never opened.
HERE_GOLDEN=$(cd "$(dirname "$0")/../golden/volume" && pwd)
source "$(dirname "$0")/lib.sh"

cp -r "$HERE_GOLDEN/vol" "$T/vol"
expect_exit 0 "volume check of a copy of the golden volume exits 0" "$DDLOOP" volume check "$T/vol"
check "the copy is still identical to the committed volume (check only reads)" diff -r "$HERE_GOLDEN/vol" "$T/vol" -x lock

cp -r "$HERE_GOLDEN/vol" "$T/bad"
size=$(stat -c %s "$T/bad/manifest")
flip_byte "$T/bad/manifest" $((size - 20))
rc=0
"$DDLOOP" volume check "$T/bad" >/dev/null 2>"$T/.err" || rc=$?
if [ "$rc" -ne 0 ] && [ "$(wc -l <"$T/.err")" -eq 1 ]; then ok "a flipped manifest byte fails the check (exit $rc, one line)"
else not_ok "a flipped manifest byte: exit $rc, stderr: $(cat "$T/.err")"; fi

finish
