#!/bin/bash
# test-transport-race.sh - concurrent writers and readers, 20 trials each:
# two pushes of different deltas under one name, at the same moment, to a
# file:// repository and to nginx (WebDAV): exactly one wins, the other
# fails with one clear line, the repository holds the winner (and not the
# loser's object); two pulls into one directory: both succeed, the file is
# whole, nothing is left behind.
source "$(dirname "$0")/lib.sh"
source "$HERE/transport_lib.sh"
source "$HERE/../servers/nginx.sh"
requires python3 curl
TRIALS=${DDLOOP_RACE_TRIALS:-20}

# Two different seeds, both named x.delta.
mkdir a b
for d in a b; do
  truncate -s 8M $d.img
  head -c 3M /dev/urandom | dd of=$d.img conv=notrunc status=none
  "$DDLOOP" create $d.img -o $d/x.delta --level 0 -q
done

# race_push NAME URL: one trial; prints "ok" or what went wrong.
race_push() {
  local url=$1 ra=0 rb=0 pa pb
  "$DDLOOP" push -q a/x.delta "$url" 2>ra.err & pa=$!
  "$DDLOOP" push -q b/x.delta "$url" 2>rb.err & pb=$!
  wait $pa || ra=$?
  wait $pb || rb=$?
  local winner= loser_err=
  if [ $ra = 0 ] && [ $rb != 0 ]; then winner=a; loser_err=rb.err
  elif [ $rb = 0 ] && [ $ra != 0 ]; then winner=b; loser_err=ra.err
  else echo "exits $ra and $rb: $(cat ra.err rb.err | head -c 300)"; return; fi
  [ "$(cat ra.err rb.err | wc -l)" = 1 ] || { echo "not one line on stderr: $(cat ra.err rb.err)"; return; }
  grep -q "different delta of the same name" $loser_err || { echo "unclear loser message: $(cat $loser_err)"; return; }
  rm -rf got && mkdir got
  "$DDLOOP" pull -q "$url" got 2>pull.err || { echo "pull failed: $(cat pull.err)"; return; }
  same got/x.delta $winner/x.delta || { echo "the repository does not hold the winner ($winner)"; return; }
  echo ok
}

summarize() {  # WHAT: counts "ok" lines in results
  local good
  good=$(grep -c '^ok$' results || true)
  check "$1: $good of $TRIALS trials had one winner, one clear loser, the winner stored" [ "$good" = "$TRIALS" ]
  grep -v '^ok$' results | sort | uniq -c | head -5 | sed 's/^/#   /'
}

: >results
for i in $(seq "$TRIALS"); do race_push "file://$T/frepo$i" >>results; done
summarize "file:// push race"
check "file://: the loser's object was removed (one object per repository)" \
  [ "$(ls "$T"/frepo*/deltas | grep -c '^x.delta')" = "$TRIALS" ]

trap 'nginx_stop; rm -rf "$T"' EXIT
nginx_start "$T/ng" || exit 1
: >results
for i in $(seq "$TRIALS"); do race_push "$NGINX_URL/hrepo$i" >>results; done
summarize "http:// (nginx WebDAV) push race"
check "http://: no temporary entry is left" [ -z "$(find "$T/ng/www" -name '.*.tmp')" ]
nginx_stop

# Two pulls into one directory at once.
big_delta big.delta 24
expect_exit 0 "push a 24 MiB delta" "$DDLOOP" push -q big.delta "file://$T/prepo"
: >results
for i in $(seq "$TRIALS"); do
  d=pull$i
  r1=0 r2=0
  "$DDLOOP" pull -q --limit-rate 100M "file://$T/prepo" $d 2>p1.err & p1=$!
  "$DDLOOP" pull -q --limit-rate 100M "file://$T/prepo" $d 2>p2.err & p2=$!
  wait $p1 || r1=$?
  wait $p2 || r2=$?
  if [ $r1 != 0 ] || [ $r2 != 0 ]; then echo "exits $r1 $r2: $(cat p1.err p2.err | head -c 300)"
  elif ! same $d/big.delta big.delta; then echo "big.delta differs"
  elif [ "$(ls -A $d)" != big.delta ]; then echo "left behind: $(ls -A $d | tr '\n' ' ')"
  else echo ok; fi >>results
  rm -rf $d
done
good=$(grep -c '^ok$' results || true)
check "two pulls into one directory: $good of $TRIALS trials both exit 0, the file whole, nothing left" [ "$good" = "$TRIALS" ]
grep -v '^ok$' results | sort | uniq -c | head -5 | sed 's/^/#   /'

finish
