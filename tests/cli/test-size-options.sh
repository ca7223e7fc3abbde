#!/bin/bash
# test-size-options.sh - every size option of every command goes through
# the one size parser (deltafile/size_value.h): 20+ digits, a negative
# number and suffix garbage each give exit 2 and exactly one line on stderr
# naming the option, before anything is read or written.
. "$(dirname "$0")/lib.sh"

head -c 1M /dev/urandom > a.img
"$DDLOOP" create a.img -o seed.delta -q
mkdir repo pulled mnt
"$DDLOOP" push -q seed.delta "file://$T/repo"

# Each line: a command with @ where the value goes. The rest of each
# command is valid, so the size is the only thing wrong with it.
COMMANDS=(
  "create --chunk-size @ a.img -o out.delta"
  "apply --checkpoint @ seed.delta b.img"
  "archive --block-size @ seed.delta -f out.tar"
  "archive --media-size @ seed.delta -f out.tar"
  "attach --cache-size @ seed.delta"
  "mount --cache-size @ seed.delta mnt"
  "volume create vol1 --size @"
  "volume create vol2 --size 1M --chunk-size @"
  "volume import vol3 a.img --chunk-size @"
  "push --limit-rate @ seed.delta file://$T/repo"
  "pull --limit-rate @ file://$T/repo pulled"
)
VALUES=("123456789012345678901234" "18446744073709551616" "-5" "4Kx" "1.5G" "K")

for cmd in "${COMMANDS[@]}"; do
  read -r -a words <<<"$cmd"
  opt=""
  for w in "${words[@]}"; do case $w in --*) [ -z "$opt" ] && opt=$w ;; esac; done
  # the option before @
  for i in "${!words[@]}"; do [ "${words[$i]}" = @ ] && opt=${words[$((i - 1))]}; done
  for v in "${VALUES[@]}"; do
    for form in separate joined; do
      args=()
      for i in "${!words[@]}"; do
        w=${words[$i]}
        if [ "$form" = joined ] && [ "$i" -lt $((${#words[@]} - 1)) ] && [ "${words[$((i + 1))]}" = @ ]; then
          args+=("$w=$v")
        elif [ "$w" = @ ]; then
          [ "$form" = separate ] && args+=("$v")
        else
          args+=("$w")
        fi
      done
      expect_exit 2 "ddloop ${args[*]}" "$DDLOOP" "${args[@]}"
      err_has "$opt $v: "
    done
  done
done
check "nothing was created by a refused command" \
  [ ! -e out.delta ] && [ ! -e out.tar ] && [ ! -e b.img ] && [ ! -e vol1 ] && [ ! -e vol2 ] && [ ! -e vol3 ]
check "nothing was pulled" [ -z "$(ls -A pulled)" ]

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
