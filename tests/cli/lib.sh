# lib.sh - shared helpers for the shell tests of the ddloop command.
# Source it after setting nothing; the test gets $DDLOOP (the binary, $1),
# a scratch directory $T removed on exit, and these helpers.
set -u
DDLOOP=${1:?usage: $0 PATH-TO-ddloop}
DDLOOP=$(readlink -f "$DDLOOP")
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/ddloop-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
PASSED=0
FAILED=0

# requires TOOL...: skip the whole test (exit 77) when a tool is missing.
requires() {
  for t in "$@"; do
    if ! command -v "$t" >/dev/null 2>&1; then
      echo "SKIP: $t is not installed"
      exit 77
    fi
  done
}

ok() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
  local what=$1; shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# expect_exit CODE DESCRIPTION COMMAND...: passes when the command exits
# with CODE and prints exactly one line on stderr naming what is wrong.
expect_exit() {
  local code=$1 what=$2; shift 2
  local rc=0
  "$@" >"$T/.out" 2>"$T/.err" || rc=$?
  if [ "$rc" -ne "$code" ]; then
    not_ok "$what (exit $rc, wanted $code): $(head -c 300 "$T/.err")"
  elif [ "$code" -ne 0 ] && [ "$(wc -l <"$T/.err")" -ne 1 ]; then
    not_ok "$what (wanted one line on stderr, got: $(cat "$T/.err"))"
  else
    ok "$what"
  fi
}

# err_has TEXT: the last expect_exit's stderr contains TEXT.
err_has() {
  if grep -qF -- "$1" "$T/.err"; then ok "message names '$1'"; else not_ok "message lacks '$1': $(cat "$T/.err")"; fi
}

same() { cmp -s "$1" "$2"; }

# write_at FILE OFFSET SIZE SOURCE: overwrite bytes in place.
write_at() {
  head -c "$3" "$4" | dd of="$1" bs=1M seek="$2" oflag=seek_bytes conv=notrunc status=none
}

# Text-like (compressible) bytes.
text_file() { yes "block delta snapshot volume $2 replica chunk" | head -c "$1"; }

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

# flip_byte FILE OFFSET: inverts the byte at OFFSET, so the file surely
# changes (writing a fixed byte leaves it unchanged 1 time in 256).
flip_byte() {
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "\\$(printf '%03o' $((255 - b)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
