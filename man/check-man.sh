#!/bin/sh
# check-man.sh PAGE... - build-time check of the man pages.
#
# Fails (exit 1) if a page lacks a NAME, DESCRIPTION or SEE ALSO section,
# or if groff, when installed, warns about it (groff -man -ww -z). Run by
# the man-check target (man/CMakeLists.txt); usable by hand too.
set -u

if [ $# -eq 0 ]; then
  echo "usage: $0 PAGE..." >&2
  exit 2
fi

have_groff=no
if command -v groff >/dev/null 2>&1; then
  have_groff=yes
else
  echo "check-man.sh: groff not found; checking sections only" >&2
fi

failed=0
for page in "$@"; do
  name=$(basename "$page")
  if [ ! -r "$page" ]; then
    echo "$name: cannot read $page" >&2
    failed=$((failed + 1))
    continue
  fi
  bad=no
  # A section heading is ".SH NAME", ".SH \"SEE ALSO\"" or ".SH SEE ALSO".
  for section in NAME DESCRIPTION 'SEE ALSO'; do
    if ! grep -Eq "^\.SH[[:space:]]+\"?$section\"?[[:space:]]*\$" "$page"; then
      echo "$name: no $section section" >&2
      bad=yes
    fi
  done
  if [ "$have_groff" = yes ]; then
    warnings=$(groff -man -ww -z "$page" 2>&1)
    if [ -n "$warnings" ]; then
      echo "$name: groff -man -ww warns:" >&2
      printf '%s\n' "$warnings" | sed 's/^/  /' >&2
      bad=yes
    fi
  fi
  if [ "$bad" = yes ]; then
    failed=$((failed + 1))
  fi
done

if [ "$failed" -ne 0 ]; then
  echo "check-man.sh: $failed of $# page(s) failed" >&2
  exit 1
fi
exit 0
