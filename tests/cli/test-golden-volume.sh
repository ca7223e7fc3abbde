#!/bin/bash
# test-golden-volume.sh DDLOOP - `ddloop volume check` accepts a copy of the
# committed golden volume (tests/golden/volume/vol) and exits 0, and fails
# (exit 4, corruption, one line) once a byte of its checkpoint record is flipped. Works on
# copies only: the committed volume is never opened.
HERE_GOLDEN=$(cd "$(dirname "$0")/../golden/volume" && pwd)
source "$(dirname "$0")/lib.sh"

cp -r "$HERE_GOLDEN/vol" "$T/vol"
expect_exit 0 "volume check of a copy of the golden volume exits 0" "$DDLOOP" volume check "$T/vol"
check "the copy is still identical to the committed volume (check only reads)" diff -r "$HERE_GOLDEN/vol" "$T/vol" -x lock

cp -r "$HERE_GOLDEN/vol" "$T/bad"
flip_byte "$T/bad/manifest" 60  # in the checkpoint, the first record: not a torn tail
expect_exit 4 "a flipped checkpoint byte fails the check as corruption" "$DDLOOP" volume check "$T/bad"
err_has "manifest"

finish
