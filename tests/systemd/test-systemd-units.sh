#!/bin/bash
# test-systemd-units.sh UNITDIR DDLOOP INSTALLED MANDIR - the configured
# systemd units (build/systemd) pass `systemd-analyze verify` with no
# warning at all (it exits 0 on an unknown key or a bad calendar, so any
# output fails), with their ExecStart= pointed from the installed path
# INSTALLED to the built DDLOOP, and their Documentation= pages found in
# MANDIR; each ddloop command line in them is one the binary accepts; the
# unit names the man pages give exist.
UNITS=$(readlink -f "${1:?usage: $0 UNITDIR DDLOOP INSTALLED MANDIR}")
INSTALLED=${3:?}
MANDIR=$(readlink -f "${4:?}")
source "$(dirname "$0")/../cli/lib.sh" "$2"
if ! command -v systemd-analyze >/dev/null 2>&1; then
  # CI installs what a test needs; elsewhere a missing tool is a skip.
  if [ "${CI:-}" = true ] && [ "$(id -u)" -eq 0 ]; then
    apt-get install -y -qq --no-install-recommends systemd >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd >/dev/null; }
  fi
  command -v systemd-analyze >/dev/null 2>&1 || { echo "SKIP: systemd-analyze is not installed (apt-get install systemd)"; exit 77; }
fi

mkdir -p units man/man5 man/man8
cp "$MANDIR"/*.5 man/man5/ && cp "$MANDIR"/*.8 man/man8/
export MANPATH=$T/man
for f in "$UNITS"/ddloop-*; do
  b=$(basename "$f")
  case "$b" in *.service) grep -q "^ExecStart=$INSTALLED " "$f" || not_ok "$b: ExecStart does not run $INSTALLED" ;; esac
  sed "s#$INSTALLED #$DDLOOP #g" "$f" >"units/$b"
  # A template is verified as an instance of it.
  ln -s "$b" "units/${b/@./@test.}"
done
for t in publish replica serve; do
  check "the unit ddloop-$t@.service exists" test -f "units/ddloop-$t@.service"
done
for t in publish replica; do
  check "the unit ddloop-$t@.timer exists" test -f "units/ddloop-$t@.timer"
done

for u in units/ddloop-*@test.*; do
  out=$(cd units && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=yes "./$(basename "$u")" 2>&1)
  rc=$?
  if [ $rc -eq 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify $(basename "$u")"; else
    not_ok "systemd-analyze verify $(basename "$u") (exit $rc): $out"; fi
done

# Each Exec line's ddloop subcommand and options are the binary's: the
# words before the first variable are the subcommand, each option after it
# must be in that subcommand's --help.
grep -h '^Exec' units/ddloop-*@.service | while IFS= read -r line; do
  cmd=${line#*=}
  read -r -a words <<<"$cmd"
  sub=() opts=()
  for w in "${words[@]:1}"; do
    case "$w" in
      -*) opts+=("$w") ;;
      '$'* | '${'* | %*) ;;
      *) [ ${#opts[@]} -eq 0 ] && sub+=("$w") ;;
    esac
  done
  # Positional arguments are variables, so sub holds only subcommand words.
  help=$("$DDLOOP" "${sub[@]}" --help 2>&1) || { echo "FAIL ddloop ${sub[*]} --help: $help"; echo x >>bad; continue; }
  # CLI11 prints the parent's help, exit 0, for an unknown subcommand.
  grep -q "^Usage: [^ ]*ddloop ${sub[*]} " <<<"$help" || { echo "FAIL ddloop has no subcommand '${sub[*]}'"; echo x >>bad; continue; }
  for o in "${opts[@]}"; do
    grep -qE -- "(^|[ ,])$o([ ,=]|$)" <<<"$help" || { echo "FAIL ddloop ${sub[*]} has no option $o"; echo x >>bad; }
  done
  echo "ok   ddloop ${sub[*]} accepts ${opts[*]}"
done
check "every ddloop command line in the units is accepted" test ! -e bad

# The unit names the man pages tell the reader to enable exist.
for n in $(grep -ho 'ddloop\\\?-[a-z]*@[a-z0-9]*\.[a-z]*' "$MANDIR"/*.8 | sed 's/\\//g' | sort -u); do
  tmpl=$(sed 's/@[a-z0-9]*\./@./' <<<"$n")
  check "man pages' $n is a unit ($tmpl)" test -f "units/$tmpl"
done
finish
