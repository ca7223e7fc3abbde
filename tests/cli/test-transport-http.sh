#!/bin/bash
# test-transport-http.sh - push, pull, ls and rm against a real nginx
# (WebDAV PUT/DELETE, autoindex listing) on 127.0.0.1: a 5-delta chain
# round trip; a download cut off by stopping the server resumes with a
# Range request (asserted by --json: resumed_from, bytes_transferred); a
# cut-off PUT leaves nothing visible and restarts cleanly; a corrupted
# object is detected and never renamed into place; 403 and connection
# errors are one clear line without credentials. A mistyped repository
# path is an error, not an empty repository; a listing over 1 MiB is read
# whole. HTTP Basic auth: a password holding '/' works in the URL and is
# never printed; --netrc-file and --netrc work; plain http:// with a
# password gives a warning.
source "$(dirname "$0")/lib.sh"
source "$HERE/transport_lib.sh"
source "$HERE/../servers/nginx.sh"
requires python3 curl
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { echo "SKIP: nginx is not installed"; exit 77; }

trap 'nginx_stop; rm -rf "$T"' EXIT
nginx_start "$T/ng" || exit 1
PORT=${NGINX_URL##*:}
REPO=$NGINX_URL/repo
WWW=$T/ng/www/repo

make_chain 5
D="c0.delta c1.delta c2.delta c3.delta c4.delta"
expect_exit 0 "push a 5-delta chain to nginx" "$DDLOOP" push --jobs 2 $D "$REPO" -q
check "ls lists five" [ "$(jget <("$DDLOOP" ls --json "$REPO") "len(j)")" = 5 ]
mkdir pulled
"$DDLOOP" pull --json --jobs 3 "$REPO" pulled > pull.json
check "pull brings five deltas" [ "$(jget pull.json "j['transferred']")" = 5 ]
expect_exit 0 "apply the pulled chain" "$DDLOOP" apply pulled/c0.delta pulled/c1.delta pulled/c2.delta \
  pulled/c3.delta pulled/c4.delta replica.img -q
check "the pulled chain gives the source image" same replica.img s4.img

# An interrupted download resumes with Range. The pull is slowed down, the
# server stopped under it, restarted, and the pull run again.
big_delta big.delta 48
SIZE=$(size_of big.delta)
expect_exit 0 "push a 48 MiB delta" "$DDLOOP" push big.delta "$REPO" -q
mkdir dl && cp $D dl/  # so that only big.delta is missing
# libcurl's rate limit lets an occasional burst through on loopback: if the
# pull finished before the server was stopped, try again (at most 3 times).
for attempt in 1 2 3; do
  rm -f dl/big.delta dl/.big.delta.*
  "$DDLOOP" pull --retries 0 --limit-rate 4M -q "$REPO" dl 2>pull.err &
  PULL=$!
  part=
  for _ in $(seq 100); do  # at most 10 s
    part=$(ls dl/.big.delta.*.part 2>/dev/null || true)
    [ -n "$part" ] && [ "$(size_of "$part")" -gt $((2 << 20)) ] && break
    sleep 0.1
  done
  nginx_stop
  rc=0; wait $PULL || rc=$?
  [ "$rc" != 0 ] && break
  nginx_start "$T/ng" "$PORT" || exit 1
done
check "the cut-off pull fails with exit 8 (remote) (exit $rc: $(cat pull.err))" [ "$rc" = 8 ]
have=$(size_of "$part" 2>/dev/null || echo 0)
check "a partial download was kept ($have bytes)" [ "$have" -gt 0 ] && [ "$have" -lt "$SIZE" ]
check "nothing was renamed into place" [ ! -e dl/big.delta ]
nginx_start "$T/ng" "$PORT" || exit 1
"$DDLOOP" pull --json "$REPO" dl > resume.json
check "the pull resumes from the partial file" [ "$(file_field resume.json big.delta resumed_from)" = "$have" ]
check "already received bytes are not received again" \
  [ "$(file_field resume.json big.delta bytes_transferred)" = $((SIZE - have)) ]
check "the resumed download is whole" same dl/big.delta big.delta
check "the server saw a Range request" grep -q "GET /repo/deltas/big.delta" "$T/ng/bytes.log"

# An interrupted PUT leaves nothing visible and restarts from byte 0.
expect_exit 0 "rm the big delta" "$DDLOOP" rm "$REPO" big.delta
"$DDLOOP" push --retries 0 --limit-rate 8M -q big.delta "$REPO" 2>push.err &
PUSH=$!
for _ in $(seq 100); do
  [ -n "$(ls "$T/ng/tmp/body" 2>/dev/null)" ] && [ "$(du -sb "$T/ng/tmp/body" | cut -f1)" -gt $((8 << 20)) ] && break
  sleep 0.1
done
nginx_stop
rc=0; wait $PUSH || rc=$?
check "the cut-off push fails with exit 8 (exit $rc: $(cat push.err))" [ "$rc" = 8 ]
check "no object and no entry is visible" [ -z "$(ls "$WWW/deltas" "$WWW/catalog" | grep big)" ]
nginx_start "$T/ng" "$PORT" || exit 1
"$DDLOOP" push --json big.delta "$REPO" > push.json
check "the push restarts cleanly" [ "$(file_field push.json big.delta status)" = transferred ]
check "it sends the whole file once" [ "$(file_field push.json big.delta bytes_transferred)" = "$SIZE" ]
check "resumed_from is 0 for a plain PUT" [ "$(file_field push.json big.delta resumed_from)" = 0 ]

# A corrupted object on the server is detected and not renamed into place.
obj=$(ls "$WWW"/deltas/c3.delta.*)
flip_byte "$obj" 3000
mkdir bad
expect_exit 4 "a corrupted object fails the pull" "$DDLOOP" pull -q --after c2.delta "$REPO" bad
err_has "$REPO/deltas/c3.delta"
check "the corrupted delta is not in DIR" [ ! -e bad/c3.delta ]
check "no partial file is left" [ -z "$(ls -A bad | grep c3)" ]

# A mistyped repository path is not an empty repository.
expect_exit 3 "ls of a path with no repository" "$DDLOOP" ls "$NGINX_URL/nosuchrepo"
err_has "is there a repository at"
expect_exit 3 "pull from a path with no repository" "$DDLOOP" pull -q "$NGINX_URL/nosuchrepo" "$T/fromnothing"
check "... creates no directory" [ ! -e "$T/fromnothing" ]
mkdir -p "$T/ng/www/emptied" && expect_exit 0 "push into a new repository" "$DDLOOP" push -q c0.delta "$NGINX_URL/emptied"
expect_exit 0 "rm its only delta" "$DDLOOP" rm "$NGINX_URL/emptied" c0.delta
check "an emptied repository lists nothing, exit 0" [ "$("$DDLOOP" ls --json "$NGINX_URL/emptied")" = "[]" ]

# A listing over 1 MiB: 5000 entries with 150-character names.
mkdir -p "$T/ng/www/many/catalog"
python3 - "$WWW/catalog/c0.delta.entry" "$T/ng/www/many/catalog" 5000 <<'EOF'
import sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(src).read()
old = [l for l in text.splitlines() if l.startswith("name ")][0]
for i in range(n):
    name = "d%05d-%s.delta" % (i, "x" * 140)
    open("%s/%s.entry" % (dst, name), "w").write(text.replace(old, "name " + name))
EOF
LBYTES=$(curl -s "$NGINX_URL/many/catalog/" | wc -c)
check "the catalog listing is over 1 MiB ($LBYTES bytes)" [ "$LBYTES" -gt $((1 << 20)) ]
rc=0; "$DDLOOP" ls --json "$NGINX_URL/many" >many.json 2>many.err || rc=$?
check "ls of a 5000-entry repository exits 0 ($rc: $(head -c 200 many.err))" [ "$rc" = 0 ]
check "... and lists all 5000 ($(jget many.json 'len(j)' 2>/dev/null))" [ "$(jget many.json 'len(j)' 2>/dev/null)" = 5000 ]

# Credentials. The password holds a '/'.
lacks() { ! grep -qF -- "$1" "$2"; }
PW=$NGINX_AUTH_PASSWORD
AUTH=$NGINX_URL/auth/repo
AURL=http://$NGINX_AUTH_USER:$PW@127.0.0.1:$PORT/auth/repo
expect_exit 8 "the auth repository refuses an anonymous push (401)" "$DDLOOP" push -q c0.delta "$AUTH"
err_has "HTTP 401"
rc=0; "$DDLOOP" push -q c0.delta "$AURL" 2>auth.err || rc=$?
check "push with user:pa/ss@ in the URL works (exit $rc: $(head -c 300 auth.err))" [ "$rc" = 0 ]
check "a warning says the password goes over plain http://" grep -q "warning: .*plain http://" auth.err
check "... naming the URL without credentials" grep -qF "$AUTH" auth.err
check "... and not the password" lacks "${PW#*/}" auth.err
for what in readonly nosuchport; do
  url=http://$NGINX_AUTH_USER:$PW@127.0.0.1:$PORT/readonly/repo
  [ $what = nosuchport ] && url=http://$NGINX_AUTH_USER:$PW@127.0.0.1:1/repo
  rc=0; "$DDLOOP" push -q --retries 0 c0.delta "$url" 2>pw.err || rc=$?
  check "$what: a failure with a '/' password exits 8 ($rc)" [ "$rc" = 8 ]
  check "$what: one error line after the warning ($(wc -l <pw.err))" [ "$(grep -vc warning pw.err)" = 1 ]
  check "$what: no part of the password is printed: $(grep -v warning pw.err)" lacks "${PW%%/*}" pw.err
  check "$what: ... nor its tail" lacks "${PW#*/}" pw.err
done
printf 'machine 127.0.0.1 login %s password %s\n' "$NGINX_AUTH_USER" "$PW" >netrc
chmod 600 netrc
rc=0; "$DDLOOP" ls --json --netrc-file netrc "$AUTH" >n.json 2>n.err || rc=$?
check "ls --netrc-file FILE works (exit $rc: $(head -c 200 n.err))" [ "$rc" = 0 ]
check "... and lists the pushed delta" [ "$(jget n.json 'len(j)' 2>/dev/null)" = 1 ]
check "... with the plain-http warning" grep -q "warning: .*plain http://" n.err
mkdir -p home && cp netrc home/.netrc
rc=0; HOME=$T/home "$DDLOOP" pull -q --netrc "$AUTH" npulled 2>np.err || rc=$?
check "pull --netrc (~/.netrc) works (exit $rc: $(head -c 200 np.err))" [ "$rc" = 0 ]
check "... and brings the delta" same npulled/c0.delta c0.delta
expect_exit 3 "--netrc-file of a missing file" "$DDLOOP" ls --netrc-file "$T/nosuch" "$AUTH"
rc=0; "$DDLOOP" ls "$REPO" >/dev/null 2>anon.err || rc=$?
check "an anonymous ls warns about nothing" [ "$rc" = 0 ] && [ ! -s anon.err ]

# Clear errors.
rc=0; "$DDLOOP" push -q c0.delta "http://alice:s3cr3t@127.0.0.1:$PORT/readonly/repo" 2>"$T/.err" || rc=$?
check "PUT refused by the server (403): exit 8 ($rc)" [ "$rc" = 8 ]
err_has "HTTP 403 Forbidden"
check "the password is not in the message" bash -c "! grep -q s3cr3t '$T/.err'"
check "the message names the URL without credentials" grep -q "http://127.0.0.1:$PORT/readonly/repo" "$T/.err"
nginx_stop
expect_exit 8 "server down" "$DDLOOP" ls --retries 0 "$REPO"
err_has "127.0.0.1"

finish
