#!/bin/bash
# test-transport-hostile.sh - ls and pull against broken or hostile servers
# (tests/servers/hostile_http.py on 127.0.0.1): a catalog entry whose 200
# never ends, a 500 whose body never ends, a listing that never ends, an S3
# listing that repeats its continuation token, an object far larger than
# its catalog size, a server that stalls. Each must end promptly (well
# within the `timeout` that guards it) with one line on stderr and its
# documented exit code, with bounded disk use. Also: a symbolic link
# planted at the S3 multipart upload state leaves its target untouched.
source "$(dirname "$0")/lib.sh"
source "$HERE/transport_lib.sh"
requires python3 timeout
SERVER=$HERE/../servers/hostile_http.py
export XDG_STATE_HOME=$T/state AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test-secret AWS_REGION=us-east-1
unset AWS_ENDPOINT_URL AWS_SESSION_TOKEN

HPID=
hostile_start() {  # MODE [ENTRYFILE]: sets HURL (http://127.0.0.1:PORT)
  rm -f "$T/port" "$T/port.log"
  python3 "$SERVER" "$1" "$T/port" ${2:+"$2"} &
  HPID=$!
  for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
  HURL=http://127.0.0.1:$(cat "$T/port")
}
hostile_stop() {
  [ -n "$HPID" ] || return 0
  kill "$HPID" 2>/dev/null
  wait "$HPID" 2>/dev/null
  HPID=
}
trap 'hostile_stop; rm -rf "$T"' EXIT

# prompt CODE SECONDS DESCRIPTION COMMAND...: the command exits with CODE
# within SECONDS (it is killed at 60 s) and prints one line on stderr.
prompt() {
  local code=$1 limit=$2 what=$3; shift 3
  local start end
  start=$(date +%s.%N)
  expect_exit "$code" "$what" timeout -s KILL 60 "$@"
  end=$(date +%s.%N)
  check "... within $limit s ($(python3 -c "print(round($end - $start, 1))") s)" \
    python3 -c "import sys; sys.exit(0 if $end - $start < $limit else 1)"
}

hostile_start endless-entry
prompt 4 20 "a catalog entry whose 200 never ends" "$DDLOOP" ls --retries 0 "$HURL/repo"
err_has "$HURL/repo/catalog/a.delta.entry"
err_has "larger than 65536 bytes"
hostile_stop

hostile_start endless-500
prompt 8 20 "ls: a 500 whose body never ends" "$DDLOOP" ls --retries 0 "$HURL/repo"
err_has "HTTP 500"
prompt 8 20 "pull: a 500 whose body never ends, retried once" "$DDLOOP" pull -q --retries 1 "$HURL/repo" p500
check "pull created no directory" [ ! -e p500 ]
hostile_stop

hostile_start endless-listing
prompt 8 30 "a catalog listing that never ends" "$DDLOOP" ls --retries 0 "$HURL/repo"
err_has "larger than 67108864 bytes"
hostile_stop

hostile_start s3-repeat-token
prompt 8 20 "an S3 listing that repeats its continuation token" \
  "$DDLOOP" ls --retries 0 --endpoint "$HURL" s3://bucket/repo
err_has "repeats a continuation token"
check "it stopped at the second page" [ "$(grep -c 'list-type=2' "$T/port.log")" -eq 2 ]
hostile_stop

# An object that never ends, behind a real catalog entry (a small delta).
make_chain 1
expect_exit 0 "push a small delta to a file repository" "$DDLOOP" push -q c0.delta "file://$T/frepo"
CSIZE=$(size_of c0.delta)
hostile_start big-object "$T/frepo/catalog/c0.delta.entry"
mkdir big
( while :; do du -sb big | cut -f1; sleep 0.02; done ) >du.log 2>/dev/null &
DU=$!
prompt 4 20 "an object larger than its catalog size" "$DDLOOP" pull -q --retries 0 "$HURL/repo" big
kill $DU; wait $DU 2>/dev/null
err_has "sends more than the $CSIZE bytes expected"
MAXDU=$(sort -n du.log | tail -1)
check "DIR never held more than the catalog size plus the directory ($MAXDU bytes, size $CSIZE)" \
  [ "$MAXDU" -le $((CSIZE + 8192)) ]
check "nothing is left in DIR" [ -z "$(ls -A big)" ]
hostile_stop

hostile_start stall
prompt 8 15 "--timeout 2: a server that stops sending" "$DDLOOP" ls --retries 0 --timeout 2 "$HURL/repo"
err_has "$HURL/repo"
hostile_stop

# A WebDAV server without MOVE: catalog entries go by If-None-Match.
hostile_start webdav-no-move
expect_exit 0 "push to a server without MOVE" "$DDLOOP" push -q --retries 0 c0.delta "$HURL/repo"
check "... it tried MOVE, then PUT with If-None-Match" grep -q "^MOVE /repo/catalog/.c0.delta.entry" "$T/port.log"
mkdir nmpull
expect_exit 0 "pull from it" "$DDLOOP" pull -q --retries 0 "$HURL/repo" nmpull
check "... gives the delta" same nmpull/c0.delta c0.delta
check "no temporary object is left" [ -z "$(curl -s "$HURL/repo/catalog/" | grep '"\.')" ]
# Two different deltas under one name at once, 10 times: one wins.
mkdir nm1 nm2 && cp c0.delta nm1/x.delta
truncate -s 1M nm.img && head -c 300000 /dev/urandom | dd of=nm.img conv=notrunc status=none
"$DDLOOP" create nm.img -o nm2/x.delta -q
good=0
for k in $(seq 10); do
  r1=0 r2=0
  "$DDLOOP" push -q --retries 0 nm1/x.delta "$HURL/race$k" 2>nm1.err & p1=$!
  "$DDLOOP" push -q --retries 0 nm2/x.delta "$HURL/race$k" 2>nm2.err & p2=$!
  wait $p1 || r1=$?
  wait $p2 || r2=$?
  [ $((r1 == 0)) != $((r2 == 0)) ] && grep -q "different delta of the same name" nm1.err nm2.err && good=$((good + 1))
done
check "without MOVE, two pushes of different deltas under one name: one winner in $good of 10" [ "$good" = 10 ]
hostile_stop

# A link planted at the S3 upload state (a multipart upload that fails at
# its second part leaves one) must not be written through.
big_delta big.delta 40
hostile_start s3-multipart-fail
expect_exit 8 "a multipart upload refused at part 2" "$DDLOOP" push -q --retries 0 --endpoint "$HURL" big.delta s3://bucket/repo
state=$(ls "$T"/state/ddloop/s3-upload-* 2>/dev/null | head -1)
check "it left an upload state ($state)" [ -n "$state" ]
check "the state directory is private" [ "$(stat -c %a "$T/state/ddloop")" = 700 ]
echo "precious" > victim
rm -f "$state" && ln -s "$T/victim" "$state"
expect_exit 8 "the push again, with a link planted at its state" "$DDLOOP" push -q --retries 0 --endpoint "$HURL" big.delta s3://bucket/repo
check "the link's target is untouched" [ "$(cat victim)" = precious ]
check "the state is a regular file again, not the link" [ -f "$state" ] && [ ! -L "$state" ]
hostile_stop

finish
