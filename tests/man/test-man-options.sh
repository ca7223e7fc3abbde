#!/bin/bash
# test-man-options.sh DDLOOP MANDIR - the man pages document the command.
#
# For every subcommand that `DDLOOP --help` lists, runs `DDLOOP SUB --help`
# and checks MANDIR/ddloop-SUB.8:
#   - the page exists;
#   - every option (short and long: -o, --output, -h, --help, ...) is in
#     its OPTIONS section;
#   - every positional is in its SYNOPSIS and OPTIONS sections, by its name
#     in capitals (image -> IMAGE) or, when its help text is made of
#     metavariables ("DELTA... IMG"), by those;
#   - every option named in an OPTIONS item tag (the line after .TP) is a
#     real option of the subcommand (no stale documentation).
# A subcommand that is a group of subcommands (`ddloop volume create`,
# `ddloop volume delta`, ...) has one page: each member is in its SYNOPSIS,
# and each member's options and positionals are checked against it as above;
# a member with a page of its own (ddloop-replica-serve.8) is checked against
# that page instead, and the group's page must refer to it.
# Checks that every page in MANDIR is listed in MANDIR/CMakeLists.txt.
# Also checks that MANDIR/ddloop.8 names every subcommand (the word and a
# ddloop-SUB reference) and documents the options of `DDLOOP --help`.
# Prints one ok/FAIL line per check and "N passed, N failed"; exits 0 only
# when nothing failed.
set -u

DDLOOP=${1:?usage: $0 PATH-TO-ddloop MAN-DIR}
MANDIR=${2:?usage: $0 PATH-TO-ddloop MAN-DIR}
PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] && exit 0
  exit 1
}

# plain PAGE: the roff source with comments dropped and the escapes that
# matter for option names undone (\- is -, font changes vanish).
plain() {
  sed -e '/^\.\\"/d' \
      -e 's/\\f\[[^]]*\]//g; s/\\f([A-Za-z0-9][A-Za-z0-9]//g; s/\\f[A-Za-z0-9]//g' \
      -e 's/\\-/-/g; s/\\&//g; s/\\%//g; s/\\~/ /g; s/\\e/\\/g' "$1"
}

# section NAME: the lines of section NAME of the plain page on stdin.
section() {
  awk -v want="$1" '
    /^\.SH[ \t]/ { h = $0; sub(/^\.SH[ \t]+/, "", h); gsub(/"/, "", h); sub(/[ \t]+$/, "", h); on = (h == want); next }
    on { print }'
}

# tags: the item tags (the line after each .TP) of the plain text on stdin.
tags() {
  awk '/^\.TP/ { t = 1; next } t { print; t = 0 }'
}

# mentions WORD: the text on stdin has WORD, not as part of a longer name
# (--base does not match --base-snapshot).
mentions() {
  grep -Eq -- "(^|[^[:alnum:]_-])$1([^[:alnum:]_-]|\$)"
}

# help_entries SECTION: the entries of one section of CLI11 help on stdin,
# one per line as "NAME<TAB>DESCRIPTION" (NAME: first field of the entry).
help_entries() {
  awk -v want="$1" '
    /^[A-Za-z]+:[ \t]*$/ { s = tolower($0); sub(/:.*/, "", s); on = (s == tolower(want)); next }
    /^[^ ]/ { on = 0 }
    on && /^  [^ ]/ {
      rest = substr($0, 3)
      if (match(rest, /   */)) { head = substr(rest, 1, RSTART - 1); desc = substr(rest, RSTART + RLENGTH) }
      else { head = rest; desc = "" }
      print head "\t" desc
    }'
}

# help_options: the option names of CLI11 help on stdin, one per line.
help_options() {
  help_entries Options | cut -f1 | tr ',' ' ' |
    awk '{ for (i = 1; i <= NF; i++) { if ($i ~ /^-/) print $i; else break } }'
}

if [ ! -x "$DDLOOP" ]; then
  echo "FAIL $DDLOOP is not an executable"
  exit 1
fi
if [ ! -d "$MANDIR" ]; then
  echo "FAIL $MANDIR is not a directory"
  exit 1
fi

top_help=$("$DDLOOP" --help 2>&1) || not_ok "ddloop --help exits 0"
subs=$(printf '%s\n' "$top_help" | help_entries Subcommands | cut -f1 | awk '{ print $1 }')
if [ -z "$subs" ]; then
  not_ok "ddloop --help lists no subcommand (help format not understood)"
  finish
fi

# The overview page: every subcommand and the top-level options.
overview="$MANDIR/ddloop.8"
if [ ! -f "$overview" ]; then
  not_ok "ddloop.8: no such page in $MANDIR"
else
  ov=$(plain "$overview")
  for sub in $subs; do
    if printf '%s\n' "$ov" | mentions "$sub"; then ok "ddloop.8 names subcommand $sub"
    else not_ok "ddloop.8: subcommand $sub is not mentioned"; fi
    if printf '%s\n' "$ov" | mentions "ddloop-$sub"; then ok "ddloop.8 refers to ddloop-$sub"
    else not_ok "ddloop.8: no reference to ddloop-$sub(8)"; fi
  done
  for opt in $(printf '%s\n' "$top_help" | help_options); do
    if printf '%s\n' "$ov" | section OPTIONS | mentions "$opt"; then ok "ddloop.8 documents $opt"
    else not_ok "ddloop.8: option $opt is missing from OPTIONS"; fi
  done
fi

# check_help NAME WHAT HELP: the options and positionals of one `--help`
# (of `ddloop WHAT`) are in $options_sec (and $synopsis_sec) of page NAME;
# its options are added to $all_opts.
check_help() {
  local name=$1 what=$2 help=$3 opts opt head desc pos words where sec found alts alt all w
  opts=$(printf '%s\n' "$help" | help_options)
  if [ -z "$opts" ]; then
    not_ok "ddloop $what --help lists no option (help format not understood)"
    return
  fi
  all_opts=$(printf '%s\n%s\n' "$all_opts" "$opts")
  for opt in $opts; do
    if printf '%s\n' "$options_sec" | mentions "$opt"; then ok "$name documents $opt${4:+ ($what)}"
    else not_ok "$name: option $opt${4:+ of ddloop $what} is missing from OPTIONS"; fi
  done
  # Positionals: by NAME in capitals, or by the metavariables of their help.
  while IFS=$'\t' read -r head desc; do
    [ -n "$head" ] || continue
    pos=${head%% *}
    words=$(printf '%s\n' "$pos" | tr '[:lower:]' '[:upper:]')
    if [ -n "$desc" ] && printf '%s\n' "$desc" | grep -Eq '^([A-Z][A-Z0-9_]*(\.\.\.)?[[:space:]]*)+$'; then
      words="$words|$(printf '%s\n' "$desc" | tr -s ' ' '\n' | sed 's/\.\.\.$//' | grep . | paste -sd ' ')"
    fi
    for where in SYNOPSIS OPTIONS; do
      if [ "$where" = SYNOPSIS ]; then sec=$synopsis_sec; else sec=$options_sec; fi
      found=no
      # Alternatives are separated by |; all words of one alternative must appear.
      IFS='|' read -ra alts <<<"$words"
      for alt in "${alts[@]}"; do
        all=yes
        for w in $alt; do
          printf '%s\n' "$sec" | mentions "$w" || all=no
        done
        [ "$all" = yes ] && found=yes && break
      done
      if [ "$found" = yes ]; then ok "$name shows positional $pos in $where${4:+ ($what)}"
      else not_ok "$name: positional $pos (${words//|/ or }) is missing from $where"; fi
    done
  done < <(printf '%s\n' "$help" | help_entries Positionals)
}

# stale_options NAME SUB OPTS: every option in an OPTIONS item tag of
# $options_sec is one of OPTS (no stale documentation).
stale_options() {
  local name=$1 sub=$2 opts=$3 doc
  for doc in $(printf '%s\n' "$options_sec" | tags | grep -Eo -- '(^|[^[:alnum:]_-])--?[[:alpha:]][[:alnum:]-]*' |
               sed 's/^[^-]*//' | sort -u); do
    if printf '%s\n' "$opts" | grep -qxF -- "$doc"; then ok "$name: $doc is a real option"
    else not_ok "$name: OPTIONS documents $doc, which ddloop $sub --help does not list"; fi
  done
}

# read_page PAGE NAME: sets text, options_sec and synopsis_sec from PAGE;
# fails (reported) when it has no OPTIONS section.
read_page() {
  text=$(plain "$1")
  options_sec=$(printf '%s\n' "$text" | section OPTIONS)
  synopsis_sec=$(printf '%s\n' "$text" | section SYNOPSIS)
  [ -n "$options_sec" ] && return 0
  not_ok "$2: no OPTIONS section"
  return 1
}

# synopsis_shows NAME SUB MEMBER: $synopsis_sec shows `ddloop SUB MEMBER`.
synopsis_shows() {
  if printf '%s\n' "$synopsis_sec" | grep -Eq -- "$2[[:space:]]+$3([^[:alnum:]_-]|\$)"; then
    ok "$1 shows 'ddloop $2 $3' in SYNOPSIS"
  else not_ok "$1: 'ddloop $2 $3' is missing from SYNOPSIS"; fi
}

# check_member_page PAGE SUB MEMBER HELP: a group member with a page of its
# own is checked against it as a subcommand is against its page.
check_member_page() {
  local page=$1 sub=$2 member=$3 mhelp=$4 name text options_sec synopsis_sec all_opts=""
  name=$(basename "$page")
  read_page "$page" "$name" || return
  check_help "$name" "$sub $member" "$mhelp"
  synopsis_shows "$name" "$sub" "$member"
  stale_options "$name" "$sub $member" "$all_opts"
}

for sub in $subs; do
  page="$MANDIR/ddloop-$sub.8"
  name="ddloop-$sub.8"
  if [ ! -f "$page" ]; then
    not_ok "$name: subcommand $sub has no page in $MANDIR"
    continue
  fi
  if ! help=$("$DDLOOP" "$sub" --help 2>&1); then
    not_ok "ddloop $sub --help exits 0"
    continue
  fi
  read_page "$page" "$name" || continue

  all_opts=""
  check_help "$name" "$sub" "$help"
  # A command group (ddloop volume create, ...): each member's options and
  # positionals are documented on the group's page, or on the member's own
  # page ddloop-SUB-MEMBER.8 when it has one (the group's page then refers
  # to it).
  for member in $(printf '%s\n' "$help" | help_entries Subcommands | cut -f1 | awk '{ print $1 }'); do
    if ! mhelp=$("$DDLOOP" "$sub" "$member" --help 2>&1); then
      not_ok "ddloop $sub $member --help exits 0"
      continue
    fi
    own="$MANDIR/ddloop-$sub-$member.8"
    if [ -f "$own" ]; then
      if printf '%s\n' "$text" | mentions "ddloop-$sub-$member"; then ok "$name refers to ddloop-$sub-$member"
      else not_ok "$name: no reference to ddloop-$sub-$member(8)"; fi
      check_member_page "$own" "$sub" "$member" "$mhelp"
      continue
    fi
    check_help "$name" "$sub $member" "$mhelp" member
    synopsis_shows "$name" "$sub" "$member"
  done
  opts=$all_opts

  # No stale options: every option in an OPTIONS item tag exists.
  stale_options "$name" "$sub" "$opts"
done

# Every page in MANDIR (sections 5 and 8) is listed in MANDIR/CMakeLists.txt,
# so the build checks it (check-man.sh) and installs it.
if [ -f "$MANDIR/CMakeLists.txt" ]; then
  for page in "$MANDIR"/*.5 "$MANDIR"/*.8; do
    [ -e "$page" ] || continue
    p=$(basename "$page")
    if grep -qF -- "/$p" "$MANDIR/CMakeLists.txt"; then ok "$p is in man/CMakeLists.txt"
    else not_ok "$p is not listed in man/CMakeLists.txt (neither checked at build nor installed)"; fi
  done
else
  not_ok "$MANDIR/CMakeLists.txt is missing"
fi

finish
