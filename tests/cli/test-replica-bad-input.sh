#!/bin/bash
# test-replica-bad-input.sh - what a replica refuses (issue 14), each with
# one line on stderr naming what is wrong, its documented exit status, and
# the replica untouched (its snapshots and volume files as they were): a
# URL with no repository (3, "is there a repository"), a repository of
# another volume at init and at sync (11), a replica whose volume/ is
# another volume's (11), a damaged or truncated HEAD (4), a corrupted delta
# upstream (4: the pull discards it; the repaired one is then applied), a
# directory that is not a replica (3), a replica in use (9), bad options
# (2), an existing directory for init (3).
source "$(dirname "$0")/lib.sh"
source "$HERE/replica_lib.sh"
requires losetup flock
requires_replication
start_nginx
ONE=$NGINX_URL/one
TWO=$NGINX_URL/two
WWW=$NGINX_WWW
R=$T/r

snap() { src_write "$1" "$3" 256 && "$DDLOOP" snapshot create "$1" "$2" -q; }
expect_exit 0 "volume one" "$DDLOOP" volume create "$T/v1" --size 16M -q
expect_exit 0 "volume two" "$DDLOOP" volume create "$T/v2" --size 16M -q
check "one: snapshot a" snap "$T/v1" a 1
check "one: snapshot b" snap "$T/v1" b 3
check "two: snapshot x" snap "$T/v2" x 2
expect_exit 0 "publish one" "$DDLOOP" publish "$T/v1" "$ONE" -q
expect_exit 0 "publish two" "$DDLOOP" publish "$T/v2" "$TWO" -q
expect_exit 0 "replica r of one" "$DDLOOP" replica init "$R" --from "$ONE" --id r -q
expect_exit 0 "r syncs" "$DDLOOP" replica sync "$R" -q
expect_exit 0 "replica r2 of two" "$DDLOOP" replica init "$T/r2" --from "$TWO" --id r2 -q
expect_exit 0 "r2 syncs" "$DDLOOP" replica sync "$T/r2" -q
untouched_sum "$R" >sum-r

# no_replica DIR: init left neither DIR nor a hidden work directory beside it.
no_replica() { [ ! -e "$1" ] && [ -z "$(find "$(dirname "$1")" -maxdepth 1 -name ".$(basename "$1")*")" ]; }

# --- wrong or foreign upstreams ---------------------------------------------------
expect_exit 3 "init from a URL with no repository" "$DDLOOP" replica init "$T/rw" --from "$NGINX_URL/nothing/"
err_has "is there a repository"
check "... made no replica" no_replica "$T/rw"
"$DDLOOP" volume delta "$T/v1" --to a -o a.ddl -q
expect_exit 11 "init seeded with one's seed from two's repository" \
  "$DDLOOP" replica init "$T/rf" --from "$TWO" --seed a.ddl
err_has "$(jget <("$DDLOOP" replica status "$T/r2" --offline --json) "j['volume']")"
check "... made no replica" no_replica "$T/rf"
mv "$WWW/one" "$WWW/one.orig" && cp -a "$WWW/two" "$WWW/one"
# Both HEADs were written within a second or two and have the same size:
# nginx's ETag (mtime seconds, size) could be the same, and the sync would
# rightly not read HEAD again. A different mtime gives a different ETag.
touch -d '-1 day' "$WWW/one/HEAD"
expect_exit 11 "sync when the upstream became another volume's repository" "$DDLOOP" replica sync "$R"
err_has "repository of volume"
check "r is untouched" unchanged "$R" sum-r
rm -rf "$WWW/one" && mv "$WWW/one.orig" "$WWW/one"

# --- a replica directory holding another volume --------------------------------------
mv "$R/volume" "$T/r-volume" && cp -a "$T/r2/volume" "$R/volume"
untouched_sum "$R" >sum-swapped
expect_exit 11 "sync of a replica whose volume/ is another volume's" "$DDLOOP" replica sync "$R"
err_has "$R/volume"
check "the foreign volume/ is untouched" unchanged "$R" sum-swapped
rm -rf "$R/volume" && mv "$T/r-volume" "$R/volume"

# --- a damaged HEAD ---------------------------------------------------------------------
cp "$WWW/one/HEAD" HEAD.good
head -c 300 /dev/urandom >"$WWW/one/HEAD"
expect_exit 4 "sync with a HEAD of garbage" "$DDLOOP" replica sync "$R"
err_has "HEAD"
check "r is untouched" unchanged "$R" sum-r
head -c $(($(stat -c %s HEAD.good) / 2)) HEAD.good >"$WWW/one/HEAD"
expect_exit 4 "sync with a truncated HEAD" "$DDLOOP" replica sync "$R"
err_has "HEAD"
check "r is untouched" unchanged "$R" sum-r
cp HEAD.good "$WWW/one/HEAD"
expect_exit 0 "sync with HEAD repaired" "$DDLOOP" replica sync "$R" -q
untouched_sum "$R" >sum-r

# --- a corrupted delta upstream ---------------------------------------------------------
check "one: snapshot c" snap "$T/v1" c 5
expect_exit 0 "publish c" "$DDLOOP" publish "$T/v1" "$ONE" -q
obj=$(jget <("$DDLOOP" ls "$ONE" --json) "[e['object'] for e in j if e['snapshot_name'] == 'c'][0]")
delta=$WWW/one/${obj#/}
check "c's delta is on the server ($obj)" test -s "$delta"
flip_byte "$delta" $(($(stat -c %s "$delta") / 2))
expect_exit 4 "sync pulling a corrupted delta" "$DDLOOP" replica sync "$R"
err_has "$(basename "$delta")"
check "r is untouched" unchanged "$R" sum-r
check "nothing of the corrupted delta is kept in r/incoming" \
  sh -c "[ -z \"\$(ls -A '$R/incoming' 2>/dev/null)\" ]"
flip_byte "$delta" $(($(stat -c %s "$delta") / 2))
run repaired replica sync "$R" --json
check "with the delta repaired, sync applies c" \
  rc0_and [ "$(jget "$T/o/repaired.out" "[a['name'] for a in j['applied']]")" = "['c']" ]
untouched_sum "$R" >sum-r

# --- not a replica, busy, bad options ------------------------------------------------------
mkdir notr
expect_exit 3 "sync of a directory that is not a replica" "$DDLOOP" replica sync notr
err_has "not a replica directory"
expect_exit 3 "list of a directory that is not a replica" "$DDLOOP" replica list notr
expect_exit 3 "status of a directory that is not a replica" "$DDLOOP" replica status notr
expect_exit 3 "sync of a missing directory" "$DDLOOP" replica sync "$T/nosuch"
check "notr is still empty" [ -z "$(ls -A notr)" ]
(
  exec 9>>"$R/lock"
  flock -x 9
  exec sleep 30
) &
FLOCK=$!  # the sleep, which holds the lock
for _ in $(seq 50); do flock -n -x "$R/lock" true 2>/dev/null || break; sleep 0.1; done
expect_exit 9 "sync while another holds r/lock" "$DDLOOP" replica sync "$R"
err_has "in use"
expect_exit 9 "revert while another holds r/lock" "$DDLOOP" replica revert "$R" a
kill "$FLOCK" 2>/dev/null
wait "$FLOCK" 2>/dev/null
check "r is untouched" unchanged "$R" sum-r
expect_exit 2 "init with an id holding a slash" "$DDLOOP" replica init "$T/ri" --from "$ONE" --id 'a/b'
check "... made no replica" no_replica "$T/ri"
expect_exit 2 "init with a password in the URL" \
  "$DDLOOP" replica init "$T/rp" --from "http://alice:secret@127.0.0.1:1/x/"
check "... and does not print it" sh -c "! grep -q secret '$T/.err'"
expect_exit 3 "init over an existing directory" "$DDLOOP" replica init "$R" --from "$ONE"
err_has "exists"
expect_exit 3 "revert to an unknown snapshot" "$DDLOOP" replica revert "$R" nosuch
check "r is untouched" unchanged "$R" sum-r
check "nothing is left attached" sh -c "'$DDLOOP' list | grep -q 'nothing attached'"
finish
