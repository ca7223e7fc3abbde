#!/bin/bash
# test-transport-s3.sh - push/pull/ls/rm against a real S3 server: a
# throwaway Ceph radosgw on 127.0.0.1 (tests/servers/rgw.sh). A chain of
# five round trip; a wrong secret is refused without being printed; a
# corrupted object never lands under its name; an upload and a download cut
# off by killing the server resume where they stopped; concurrent pulls,
# and a pull racing a push, only ever give whole, verified deltas; of two
# pushes of different deltas under one name at once, exactly one wins; an
# idle poll of HEAD is one request, answered 304.
# Skips (77) without the ceph packages or without `ddloop push`.
source "$(dirname "$0")/lib.sh"
requires python3 curl ceph-mon ceph-osd radosgw radosgw-admin
"$DDLOOP" --help 2>/dev/null | grep -qE '^ +push ' || { echo "SKIP: this ddloop has no push subcommand"; exit 77; }

RGW="bash $HERE/../servers/rgw.sh"
SRV=$T/rgw
export XDG_STATE_HOME=$T/state  # multipart upload records stay in $T
unset AWS_SESSION_TOKEN AWS_DEFAULT_REGION
cleanup() {
  local pid
  for pid in $(jobs -p); do kill "$pid" 2>/dev/null; done
  $RGW stop "$SRV" >/dev/null 2>&1 || true
  if [ "$FAILED" -ne 0 ] && [ -d "$SRV/log" ]; then
    KEEP=$(mktemp -d "${TMPDIR:-/tmp}/ddloop-rgw-logs.XXXXXX")
    cp -r "$SRV/log" "$T/o" "$KEEP"/ 2>/dev/null
    echo "radosgw logs and command outputs kept in $KEEP"
  fi
  rm -rf "$T"
}
trap cleanup EXIT

rc=0
$RGW start "$SRV" >"$T/rgw-start.out" 2>"$T/rgw-start.err" || rc=$?
if [ "$rc" -eq 77 ]; then cat "$T/rgw-start.err"; exit 77; fi
if [ "$rc" -ne 0 ]; then echo "FAIL: the S3 server did not start:"; cat "$T/rgw-start.err"; exit 1; fi
# shellcheck disable=SC1091
source "$SRV/env"
echo "# radosgw at $AWS_ENDPOINT_URL"
mkdir -p "$T/o"

# s3 METHOD PATH [curl args...]: a signed request; prints the HTTP status.
s3() {
  local m=$1 p=$2; shift 2
  curl -sS -o /dev/null -w '%{http_code}' -X "$m" --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
    "$@" "$AWS_ENDPOINT_URL/$p"
}
s3get() {  # s3get PATH FILE
  curl -sS -f -o "$2" --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
    "$AWS_ENDPOINT_URL/$1"
}
mkbucket() { [ "$(s3 PUT "$1")" = 200 ] || not_ok "create bucket $1"; }

# run NAME COMMAND...: runs ddloop, output in o/NAME.out and o/NAME.err;
# sets RC.
run() {
  local name=$1; shift
  RC=0
  "$DDLOOP" "$@" >"$T/o/$name.out" 2>"$T/o/$name.err" || RC=$?
}
# expect_fail DESCRIPTION COMMAND...: nonzero exit, one line on stderr
# (copied to $T/.err for err_has).
expect_fail() {
  local what=$1; shift
  local rc=0
  "$@" >"$T/.out" 2>"$T/.err" || rc=$?
  if [ "$rc" -eq 0 ]; then
    not_ok "$what (exit 0, wanted a failure)"
  elif [ "$(wc -l <"$T/.err")" -ne 1 ]; then
    not_ok "$what (exit $rc; wanted one line on stderr, got: $(head -c 600 "$T/.err"))"
  else
    ok "$what (exit $rc)"
  fi
}
# jq FILE PYTHON-EXPR: evaluates the expression with j = the parsed JSON.
jq() {
  python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}
# file_field JSON NAME FIELD: FIELD of the "files" element named NAME.
file_field() { jq "$1" "[f['$3'] for f in j['files'] if f['name'] == '$2'][0]"; }
rc0_and() { [ "$RC" -eq 0 ] && "$@"; }  # the last run exited 0 and COMMAND passes
none() { ! "$@"; }
one_line_naming() { [ "$(wc -l <"$2")" -eq 1 ] && grep -qF -- "$1" "$2"; }
is_report() {  # one JSON object with a "files" array
  [ "$(jq "$1" "isinstance(j, dict) and isinstance(j.get('files'), list)")" = True ]
}
# wait_pid PID SECONDS: waits for our child; its exit status is in WRC.
wait_pid() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$1" 2>/dev/null; then
    not_ok "pid $1 still running after $2 s; killed"
    kill -KILL "$1" 2>/dev/null
  fi
  WRC=0
  wait "$1" || WRC=$?
}
# --retries exists: keep the fault tests short.
RETRIES=()
"$DDLOOP" push --help 2>&1 | grep -q -- --retries && RETRIES=(--retries 1)

# --- 1. a chain of five: push, ls, pull, apply --------------------------------
SIZE=$((16 << 20))
truncate -s $SIZE s0.img
text_file $((4 << 20)) base >t0 && write_at s0.img 0 $((4 << 20)) t0
for i in 1 2 3 4 5; do
  cp s$((i - 1)).img s$i.img
  head -c 300000 /dev/urandom >rnd && write_at s$i.img $((i * 2000000)) 300000 rnd
  text_file 70000 "$i" >txt && write_at s$i.img $((i * 2500000 + 512)) 70000 txt
  "$DDLOOP" create --base s$((i - 1)).img s$i.img -o c$i.delta -q
done
CHAIN=(c1.delta c2.delta c3.delta c4.delta c5.delta)
mkbucket chain

run push1 push --json "${CHAIN[@]}" s3://chain/repo
check "push of a 5-delta chain exits 0 ($(head -c 200 "$T/o/push1.err"))" [ "$RC" -eq 0 ]
check "push --json is one object with a files array" is_report "$T/o/push1.out"
check "push --json lists 5 files, all transferred" \
  [ "$(jq "$T/o/push1.out" "sorted(f['status'] for f in j['files'])")" = "['transferred', 'transferred', 'transferred', 'transferred', 'transferred']" ]
n=$(jq "$T/o/push1.out" "sum(1 for f in j['files'] if f['bytes_transferred'] == f['size'] and f['resumed_from'] == 0)")
check "push --json: bytes_transferred == size, resumed_from == 0 for each ($n of 5)" [ "$n" = 5 ]
check "push --json sizes are the file sizes" \
  [ "$(file_field "$T/o/push1.out" c3.delta size)" = "$(stat -c %s c3.delta)" ]

run push1b push --json "${CHAIN[@]}" s3://chain/repo
check "re-push exits 0" [ "$RC" -eq 0 ]
check "re-push skips all 5, sending nothing" \
  [ "$(jq "$T/o/push1b.out" "[f['status'] for f in j['files']].count('skipped') == 5 and sum(f['bytes_transferred'] for f in j['files']) == 0")" = True ]

run ls1 ls --json s3://chain/repo
check "ls --json exits 0" [ "$RC" -eq 0 ]
check "ls --json lists the 5 deltas in chain order" \
  [ "$(jq "$T/o/ls1.out" "[e['name'] for e in j]")" = "['c1.delta', 'c2.delta', 'c3.delta', 'c4.delta', 'c5.delta']" ]
check "ls --json gives each size" [ "$(jq "$T/o/ls1.out" "j[1]['size']")" = "$(stat -c %s c2.delta)" ]
run ls1h ls s3://chain/repo
check "ls (human) prints 5 lines" rc0_and [ "$(wc -l <"$T/o/ls1h.out")" -eq 5 ]
# --endpoint instead of AWS_ENDPOINT_URL, --region instead of AWS_REGION.
RC=0
env -u AWS_ENDPOINT_URL -u AWS_REGION "$DDLOOP" ls --endpoint "$AWS_ENDPOINT_URL" --region us-east-1 --json \
  s3://chain/repo >"$T/o/ls1e.out" 2>"$T/o/ls1e.err" || RC=$?
check "ls --endpoint URL works without AWS_ENDPOINT_URL" rc0_and [ "$(jq "$T/o/ls1e.out" "len(j)")" = 5 ]

mkdir p1
run pull1 pull --json s3://chain/repo p1
check "pull into an empty dir exits 0 ($(head -c 200 "$T/o/pull1.err"))" [ "$RC" -eq 0 ]
check "pull --json is one object with a files array" is_report "$T/o/pull1.out"
check "pull --json: 5 transferred, bytes_transferred == size" \
  [ "$(jq "$T/o/pull1.out" "sum(1 for f in j['files'] if f['status'] == 'transferred' and f['bytes_transferred'] == f['size'])")" = 5 ]
check "pull leaves only the 5 deltas in DIR" [ "$(ls -A p1 | tr '\n' ' ')" = "c1.delta c2.delta c3.delta c4.delta c5.delta " ]
n=0; for d in "${CHAIN[@]}"; do same "$d" "p1/$d" && n=$((n + 1)); done
check "pulled deltas are byte-identical ($n of 5)" [ "$n" = 5 ]
cp s0.img chain.img
expect_exit 0 "apply the pulled chain onto the base" "$DDLOOP" apply p1/c1.delta p1/c2.delta p1/c3.delta p1/c4.delta p1/c5.delta chain.img -q
check "pulled chain gives the last image" same chain.img s5.img
run pull1b pull --json s3://chain/repo p1
check "re-pull skips all 5" rc0_and [ "$(jq "$T/o/pull1b.out" "[f['status'] for f in j['files']].count('skipped')")" = 5 ]
mkdir p1a
run pull1a pull --json --after c2.delta s3://chain/repo p1a
check "pull --after c2.delta fetches c3..c5 only" \
  rc0_and [ "$(ls p1a | tr '\n' ' ')" = "c3.delta c4.delta c5.delta " ]

# rm, in a repository of its own.
run push_rm push -q c1.delta c2.delta s3://chain/rmrepo
check "push -q prints nothing" rc0_and test ! -s "$T/o/push_rm.out" -a ! -s "$T/o/push_rm.err"
run rm1 rm s3://chain/rmrepo c2.delta
check "rm exits 0" [ "$RC" -eq 0 ]
run ls_rm ls --json s3://chain/rmrepo
check "after rm, ls lists only c1.delta" [ "$(jq "$T/o/ls_rm.out" "[e['name'] for e in j]")" = "['c1.delta']" ]
expect_fail "rm of a missing name fails" "$DDLOOP" rm s3://chain/rmrepo nosuch.delta
err_has nosuch.delta
expect_fail "push to a missing bucket fails" "$DDLOOP" push -q c1.delta s3://nosuchbucket/repo
err_has nosuchbucket
expect_fail "pull from a missing bucket fails" "$DDLOOP" pull -q s3://nosuchbucket/repo p1

# --- 2. wrong secret ------------------------------------------------------------
BAD_SECRET=WrongSecretKey0123456789abcdefWRONGKEY99
RC=0
AWS_SECRET_ACCESS_KEY=$BAD_SECRET "$DDLOOP" push --json c1.delta s3://chain/badkey \
  >"$T/o/badkey.out" 2>"$T/o/badkey.err" || RC=$?
check "push with a wrong secret fails" [ "$RC" -ne 0 ]
check "the message says 403 / access denied: $(head -c 300 "$T/o/badkey.err")" \
  grep -qiE '403|access ?denied|forbidden' "$T/o/badkey.err"
check "one line on stderr" [ "$(wc -l <"$T/o/badkey.err")" -eq 1 ]
check "the wrong secret is not printed" none grep -qF "$BAD_SECRET" "$T/o/badkey.out" "$T/o/badkey.err"
expect_fail "ls with a wrong secret fails" env AWS_SECRET_ACCESS_KEY=$BAD_SECRET "$DDLOOP" ls s3://chain/repo
check "ls message does not print the secret" none grep -qF "$BAD_SECRET" "$T/.out" "$T/.err"
run ls_after_bad ls --json s3://chain/badkey
check "nothing was stored by the refused push: no repository there (exit $RC)" \
  [ "$RC" -eq 3 ] && grep -q "is there a repository at" "$T/o/ls_after_bad.err"

# --- 3. a corrupted object on the server --------------------------------------
mkbucket corrupt
run push3 push -q c1.delta c2.delta c3.delta s3://corrupt/r
check "push for the corruption test" [ "$RC" -eq 0 ]
run ls3 ls --json s3://corrupt/r
obj=$(jq "$T/o/ls3.out" "[e['object'] for e in j if e['name'] == 'c2.delta'][0]")
case "$obj" in r/*) key=$obj ;; *) key=r/$obj ;; esac
if s3get "corrupt/$key" obj.bin; then
  python3 - obj.bin <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
for off in (len(b) // 2, len(b) // 2 + 1, len(b) - 100):
    b[off] ^= 0xFF
open(p, 'wb').write(b)
EOF
  check "overwrite c2's object with flipped bytes" [ "$(s3 PUT "corrupt/$key" -T obj.bin)" = 200 ]
else
  not_ok "fetch c2's object 'corrupt/$key' (from ls --json 'object': '$obj')"
fi
mkdir p3
run pull3 pull --json s3://corrupt/r p3
check "pull of a corrupted delta fails" [ "$RC" -ne 0 ]
check "one line on stderr, naming c2: $(head -c 300 "$T/o/pull3.err")" \
  one_line_naming c2 "$T/o/pull3.err"
check "no c2.delta in DIR" [ ! -e p3/c2.delta ]
check "pull --json marks c2.delta failed" [ "$(file_field "$T/o/pull3.out" c2.delta status)" = failed ]
check "c1.delta arrived and verifies" "$DDLOOP" verify -q p3/c1.delta
for f in p3/*.delta; do
  [ -e "$f" ] || continue
  check "what the failed pull left verifies: $f" "$DDLOOP" verify -q "$f"
done

# --- 4. resume an upload and a download cut off by killing the server ---------
BIG=$((200 << 20))
truncate -s $((224 << 20)) big0.img
cp big0.img big1.img
head -c $BIG /dev/urandom >rnd && write_at big1.img $((8 << 20)) $BIG rnd && rm rnd
"$DDLOOP" create --base big0.img big1.img -o big.delta -q
BIGSIZE=$(stat -c %s big.delta)
check "the big delta is over 190 MiB (incompressible)" [ "$BIGSIZE" -gt $((190 << 20)) ]
mkbucket resume

# parts_done BUCKET: parts the server holds for the bucket's unfinished
# multipart uploads (ListMultipartUploads, then ListParts).
s3xml() {
  curl -sS -f --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$AWS_ENDPOINT_URL/$1" 2>/dev/null
}
parts_done() {
  local xml n=0 key id
  xml=$(s3xml "$1?uploads=") || { echo 0; return; }
  while read -r key id; do
    [ -n "$id" ] || continue
    n=$((n + $(s3xml "$1/$key?uploadId=$id" | grep -o '<Part>' | wc -l)))
  done < <(python3 -c '
import re, sys
for u in re.findall(r"<Upload>(.*?)</Upload>", sys.stdin.read(), re.S):
    k = re.search(r"<Key>(.*?)</Key>", u); i = re.search(r"<UploadId>(.*?)</UploadId>", u)
    if k and i: print(k.group(1), i.group(1))' <<<"$xml")
  echo $n
}
"$DDLOOP" push --json --limit-rate 25M "${RETRIES[@]}" big.delta s3://resume/r >"$T/o/push4a.out" 2>"$T/o/push4a.err" &
PUSH=$!
for ((i = 0; i < 300; i++)); do
  [ "$(parts_done resume)" -ge 3 ] && break
  kill -0 $PUSH 2>/dev/null || break
  sleep 0.2
done
n=$(parts_done resume)
check "the server holds >= 3 parts of the unfinished upload ($n)" [ "$n" -ge 3 ]
$RGW stop-rgw "$SRV" --kill
wait_pid $PUSH 120
check "the push cut off by the server's death fails: $(head -c 200 "$T/o/push4a.err")" [ "$WRC" -ne 0 ]
check "the interrupted push printed one line on stderr" [ "$(wc -l <"$T/o/push4a.err")" -eq 1 ]
$RGW start-rgw "$SRV" || not_ok "radosgw restarts"
run ls4 ls --json s3://resume/r
check "the interrupted delta is not listed" rc0_and [ "$(jq "$T/o/ls4.out" "len(j)")" = 0 ]
run push4b push --json "${RETRIES[@]}" big.delta s3://resume/r
check "re-push after the restart exits 0 ($(head -c 200 "$T/o/push4b.err"))" [ "$RC" -eq 0 ]
rf=$(file_field "$T/o/push4b.out" big.delta resumed_from)
bt=$(file_field "$T/o/push4b.out" big.delta bytes_transferred)
check "re-push resumed: resumed_from=$rf > 0" [ "${rf:-0}" -gt 0 ]
check "re-push sent less than the file: bytes_transferred=$bt < $BIGSIZE" [ "${bt:-$BIGSIZE}" -lt "$BIGSIZE" ]
check "resumed_from + bytes_transferred == size" [ $((${rf:-0} + ${bt:-0})) -eq "$BIGSIZE" ]
check "no unfinished multipart upload is left on the server" [ "$(s3xml "resume?uploads=" | grep -c '<UploadId>')" = 0 ]

mkdir p4
"$DDLOOP" pull --json --limit-rate 25M "${RETRIES[@]}" s3://resume/r p4 >"$T/o/pull4a.out" 2>"$T/o/pull4a.err" &
PULL=$!
partial() { find p4 -maxdepth 1 -type f -name '.*' -size +48M | head -1; }
for ((i = 0; i < 600; i++)); do
  [ -n "$(partial)" ] && break
  kill -0 $PULL 2>/dev/null || break
  sleep 0.1
done
check "a hidden partial download over 48 MiB appeared in DIR ($(ls -A p4))" [ -n "$(partial)" ]
$RGW stop-rgw "$SRV" --kill
wait_pid $PULL 120
check "the pull cut off by the server's death fails: $(head -c 200 "$T/o/pull4a.err")" [ "$WRC" -ne 0 ]
check "no big.delta in DIR after the cut" [ ! -e p4/big.delta ]
$RGW start-rgw "$SRV" || not_ok "radosgw restarts"
run pull4b pull --json "${RETRIES[@]}" s3://resume/r p4
check "re-pull after the restart exits 0 ($(head -c 200 "$T/o/pull4b.err"))" [ "$RC" -eq 0 ]
rf=$(file_field "$T/o/pull4b.out" big.delta resumed_from)
bt=$(file_field "$T/o/pull4b.out" big.delta bytes_transferred)
check "re-pull resumed: resumed_from=$rf > 0" [ "${rf:-0}" -gt 0 ]
check "re-pull received less than the file: bytes_transferred=$bt < $BIGSIZE" [ "${bt:-$BIGSIZE}" -lt "$BIGSIZE" ]
check "the resumed download is byte-identical" same p4/big.delta big.delta
check "no partial file left in DIR" [ "$(ls -A p4)" = big.delta ]
cp big0.img big.img
expect_exit 0 "the downloaded big delta applies" "$DDLOOP" apply p4/big.delta big.img -q
check "and gives the big image" same big.img big1.img
rm -f big.img big0.img big1.img

# --- 5. concurrent pulls; a pull racing a push ---------------------------------
declare -A PIDS
for k in 1 2 3 4 5 6 7 8; do
  mkdir c$k
  "$DDLOOP" pull --json --jobs 2 s3://chain/repo c$k >"$T/o/cpull$k.out" 2>"$T/o/cpull$k.err" &
  PIDS[$k]=$!
done
okn=0
for k in 1 2 3 4 5 6 7 8; do
  wait_pid "${PIDS[$k]}" 120
  [ "$WRC" -eq 0 ] && okn=$((okn + 1))
done
check "8 concurrent pulls all exit 0 ($okn of 8)" [ "$okn" = 8 ]
vn=0
for k in 1 2 3 4 5 6 7 8; do
  for d in "${CHAIN[@]}"; do
    "$DDLOOP" verify -q "c$k/$d" 2>/dev/null && same "$d" "c$k/$d" && vn=$((vn + 1))
  done
done
check "all 40 concurrently pulled deltas verify and match ($vn of 40)" [ "$vn" = 40 ]
cp s0.img c8.img
expect_exit 0 "one concurrently pulled chain applies" "$DDLOOP" apply c8/c1.delta c8/c2.delta c8/c3.delta c8/c4.delta c8/c5.delta c8.img -q
check "and gives the last image" same c8.img s5.img

# A push of a 48 MiB seed (multipart) while pulls run back to back.
head -c $((48 << 20)) /dev/urandom >race.img
"$DDLOOP" create race.img -o race.delta -q
mkbucket race
run push5a push -q c1.delta s3://race/r
"$DDLOOP" push -q --limit-rate 12M "${RETRIES[@]}" race.delta s3://race/r >"$T/o/push5.out" 2>"$T/o/push5.err" &
PUSH=$!
n=0 during=0 bad=0 got=0
while [ $n -lt 25 ]; do
  n=$((n + 1))
  kill -0 $PUSH 2>/dev/null && during=$((during + 1)) || last=1
  mkdir r$n
  "$DDLOOP" pull -q s3://race/r r$n >"$T/o/rpull$n.out" 2>"$T/o/rpull$n.err" || { bad=$((bad + 1)); echo "# pull $n: $(cat "$T/o/rpull$n.err")"; }
  for f in r$n/*; do
    [ -e "$f" ] || continue
    "$DDLOOP" verify -q "$f" 2>/dev/null || { bad=$((bad + 1)); echo "# pull $n: $f does not verify"; }
  done
  [ -e r$n/race.delta ] && { got=$((got + 1)); same r$n/race.delta race.delta || { bad=$((bad + 1)); echo "# pull $n: race.delta differs"; }; }
  [ "${last:-0}" = 1 ] && break
  sleep 0.3
done
wait_pid $PUSH 60
check "the racing push exits 0 ($(head -c 200 "$T/o/push5.err"))" [ "$WRC" -eq 0 ]
check "pulls ran while the push was under way ($during of $n)" [ "$during" -ge 2 ]
check "every racing pull exited 0 with only whole, verified deltas ($bad problems)" [ "$bad" -eq 0 ]
check "the pull after the push got race.delta ($got pulls had it)" [ "$got" -ge 1 ]

# --- 6. two pushes of different deltas under one name, at once (20 trials) ----
mkdir ra rb && cp c1.delta ra/x.delta && cp c2.delta rb/x.delta
mkbucket pushrace
good=0
for k in $(seq 20); do
  ra=0 rb=0
  "$DDLOOP" push -q ra/x.delta s3://pushrace/r$k >"$T/o/ra$k.out" 2>"$T/o/ra$k.err" & pa=$!
  "$DDLOOP" push -q rb/x.delta s3://pushrace/r$k >"$T/o/rb$k.out" 2>"$T/o/rb$k.err" & pb=$!
  wait $pa || ra=$?
  wait $pb || rb=$?
  winner=
  [ $ra = 0 ] && [ $rb != 0 ] && winner=ra && loser=rb
  [ $rb = 0 ] && [ $ra != 0 ] && winner=rb && loser=ra
  if [ -z "$winner" ]; then echo "# trial $k: exits $ra and $rb: $(cat "$T/o/ra$k.err" "$T/o/rb$k.err")"; continue; fi
  if ! one_line_naming "different delta of the same name" "$T/o/$loser$k.err"; then
    echo "# trial $k: loser said: $(cat "$T/o/$loser$k.err")"; continue
  fi
  mkdir -p pr$k
  "$DDLOOP" pull -q s3://pushrace/r$k pr$k 2>"$T/o/pr$k.err" && same pr$k/x.delta $winner/x.delta && good=$((good + 1)) \
    || echo "# trial $k: the repository does not hold the winner: $(cat "$T/o/pr$k.err")"
done
check "S3 push race: $good of 20 trials had one winner, one clear loser, the winner stored" [ "$good" = 20 ]

# --- 7. the idle poll of HEAD: one signed request, answered 304 ----------------
# REPO_TOOL (tests/backup/repo_tool.cc) is set by ctest. radosgw logs each
# request it served ("beast: ... "GET /BUCKET/KEY ..." STATUS") at debug level
# 1, from its log thread: counts are read after a pause.
TOOL=${REPO_TOOL:-}
if [ -x "$TOOL" ]; then
  RGWLOG=$SRV/log/client.rgw.log
  served() { sleep 1; grep -c ' beast: ' "$RGWLOG"; }
  mkbucket head
  "$DDLOOP" create s0.img -o c0.delta -q
  run headpush push c0.delta c1.delta s3://head/repo
  check "push a seed and a delta to s3://head/repo ($(head -c 200 "$T/o/headpush.err"))" [ "$RC" -eq 0 ]
  sleep 1.1  # a tag read in the second HEAD was written is not kept
  "$TOOL" poll s3://head/repo >"$T/o/poll1.out" 2>"$T/o/poll1.err"
  read -r what seq entry tag <"$T/o/poll1.out"
  check "the first poll reads HEAD ($what $seq $entry $(cat "$T/o/poll1.err"))" [ "$what $seq $entry" = "changed 1 c1.delta" ]
  check "... and keeps its ETag ($tag)" [ -n "$tag" ]
  before=$(served)
  "$TOOL" poll s3://head/repo "$tag" >"$T/o/poll2.out" 2>&1
  check "an unchanged HEAD: unchanged ($(cat "$T/o/poll2.out"))" [ "$(cut -d' ' -f1 "$T/o/poll2.out")" = unchanged ]
  check "... in exactly one request" [ "$(served)" = $((before + 1)) ]
  check "... a GET of HEAD answered 304" grep -q '"GET /head/repo/HEAD HTTP/1.1" 304' <(grep ' beast: ' "$RGWLOG" | tail -1)
  run headpush2 push c2.delta s3://head/repo
  "$TOOL" poll s3://head/repo "$tag" >"$T/o/poll3.out" 2>&1
  read -r what seq entry tag <"$T/o/poll3.out"
  check "a moved HEAD is read ($what $seq $entry)" [ "$what $seq $entry" = "changed 2 c2.delta" ]
else
  not_ok "REPO_TOOL is not set to tests/backup/repo_tool: the HEAD poll is not tested"
fi

# --- the secret never appears in any output ------------------------------------
check "no output of any command contains the secret key" none grep -rqF "$AWS_SECRET_ACCESS_KEY" "$T/o" "$T/.out" "$T/.err"

finish
