#!/bin/bash
# test-repo-head.sh - a repository's own objects (ddloop-repository(5)):
# the first push writes a manifest bound to the deltas' volume, and a
# delta of another volume is refused (exit 11) with nothing uploaded; push
# writes HEAD and moves it along the chain, never back; `ls --replicas`
# lists replica positions and how far behind HEAD they are; an idle poll of
# HEAD on nginx is exactly one request answered 304, and a HEAD rewritten
# within one second (same size, so the same nginx ETag) is still seen as
# changed. Needs REPO_TOOL (tests/backup/repo_tool.cc; set by ctest).
source "$(dirname "$0")/lib.sh"
source "$HERE/transport_lib.sh"
source "$HERE/../servers/nginx.sh"
requires python3 curl
TOOL=${REPO_TOOL:-}
[ -x "$TOOL" ] || { echo "SKIP: REPO_TOOL is not set to tests/backup/repo_tool"; exit 77; }

# --- file:// ---------------------------------------------------------------
make_chain 4
REPO=file://$T/repo
expect_exit 0 "push a seed" "$DDLOOP" push c0.delta "$REPO" -q
check "the manifest is a text record" [ "$(head -1 repo/ddloop-repository)" = "ddloop-repository 1" ]
check "... with its checksum line" grep -q '^checksum ' repo/ddloop-repository
check "... named after the URL" grep -qx 'name repo' repo/ddloop-repository
check "HEAD is at the seed, seq 1" [ "$(grep -E '^(seq|entry) ' repo/HEAD | paste -sd,)" = "seq 1,entry c0.delta" ]
expect_exit 0 "push two more" "$DDLOOP" push c2.delta c1.delta "$REPO" -q
check "HEAD moved to the end of the chain, seq 2" [ "$(grep -E '^(seq|entry) ' repo/HEAD | paste -sd,)" = "seq 2,entry c2.delta" ]
expect_exit 0 "push the seed again" "$DDLOOP" push c0.delta "$REPO" -q
check "HEAD does not move back" [ "$(grep -E '^(seq|entry) ' repo/HEAD | paste -sd,)" = "seq 2,entry c2.delta" ]
"$DDLOOP" ls --json "$REPO" > ls.json
check "ls --json has snapshot_name" [ "$(jget ls.json "all('snapshot_name' in e for e in j)")" = True ]

# Volumes: deltas made with --volume-uuid bind a new repository.
VA=0a0a0a0a-0000-4000-8000-00000000000a
VB=0b0b0b0b-0000-4000-8000-00000000000b
"$DDLOOP" create --volume-uuid $VA s0.img -o a0.delta -q
"$DDLOOP" create --volume-uuid $VB s0.img -o b0.delta -q
expect_exit 0 "push a delta of volume A" "$DDLOOP" push a0.delta "file://$T/vola" -q
check "the manifest names volume A" grep -qx "volume $VA" vola/ddloop-repository
find vola -type f | sort | xargs md5sum > vola.before
expect_exit 11 "a delta of volume B is refused" "$DDLOOP" push b0.delta "file://$T/vola" -q
err_has "repository of volume $VA, not $VB"
check "... and nothing was uploaded" [ "$(find vola -type f | sort | xargs md5sum)" = "$(cat vola.before)" ]
expect_exit 11 "unbound deltas are refused there too" "$DDLOOP" push c3.delta "file://$T/vola" -q
mkdir nothing
expect_exit 3 "ls of a directory with no repository" "$DDLOOP" ls "file://$T/nothing"
err_has "is there a repository at file://$T/nothing? (no ddloop-repository)"

# Replica positions.
"$DDLOOP" ls --replicas --json "$REPO" > none.json
check "no replicas yet: an empty list" [ "$(jget none.json "len(j)")" = 0 ]
check "write a position at c2 (HEAD)" "$TOOL" position "$REPO" site-a c2.delta
check "write a position at c0" "$TOOL" position "$REPO" site-b c0.delta
"$DDLOOP" ls --replicas --json "$REPO" > reps.json
check "ls --replicas --json lists both, by id" [ "$(jget reps.json "','.join(r['id'] for r in j)")" = site-a,site-b ]
check "... with how far behind HEAD" [ "$(jget reps.json "','.join(str(r['behind']) for r in j)")" = 0,2 ]
"$DDLOOP" ls --replicas "$REPO" > reps.txt
check "ls --replicas says 'at HEAD'" grep -q 'site-a .*at HEAD' reps.txt
check "... and '2 behind'" grep -q 'site-b .*2 behind' reps.txt
echo junk > repo/replicas/site-c
expect_exit 4 "a damaged position is reported" "$DDLOOP" ls --replicas "$REPO"
err_has "replicas/site-c"
check "... and the others still listed" [ "$(wc -l <"$T/.out")" = 2 ]
rm repo/replicas/site-c

# --- nginx: the idle poll is one request ------------------------------------
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { echo "SKIP: nginx is not installed (the rest)"; exit $((FAILED ? 1 : 0)); }
trap 'nginx_stop; rm -rf "$T"' EXIT
nginx_start "$T/ng" || exit 1
HREPO=$NGINX_URL/repo
LOG=$T/ng/bytes.log
requests() { wc -l <"$LOG"; }
expect_exit 0 "push two deltas to nginx" "$DDLOOP" push c0.delta c1.delta "$HREPO" -q
sleep 1.1  # a tag read in the second HEAD was written is not kept
"$TOOL" poll "$HREPO" > p1.out
read -r what seq entry tag < p1.out
check "the first poll reads HEAD ($what $seq $entry)" [ "$what $seq $entry" = "changed 1 c1.delta" ]
check "... and keeps its ETag ($tag)" [ -n "$tag" ]
before=$(requests)
"$TOOL" poll "$HREPO" "$tag" > p2.out
check "an unchanged HEAD: unchanged ($(cat p2.out))" [ "$(cut -d' ' -f1 p2.out)" = unchanged ]
check "... in exactly one request" [ "$(requests)" = $((before + 1)) ]
check "... answered 304" [ "$(tail -1 "$LOG" | cut -d' ' -f1-3)" = "GET /repo/HEAD 304" ]
expect_exit 0 "push the next delta" "$DDLOOP" push c2.delta "$HREPO" -q
"$TOOL" poll "$HREPO" "$tag" > p3.out
read -r what seq entry tag < p3.out
check "a moved HEAD is read ($what $seq $entry)" [ "$what $seq $entry" = "changed 2 c2.delta" ]
# Two HEADs of one size written within one second have one nginx ETag
# (mtime in seconds, size): a tag read in that second must not hide the
# second one. (Without the Last-Modified rule this fails unless a second
# boundary falls between the push and the move.)
expect_exit 0 "push c3" "$DDLOOP" push c3.delta "$HREPO" -q
"$TOOL" poll "$HREPO" > p4.out
read -r what seq entry tag < p4.out
check "HEAD is at c3, seq 3 ($what $seq $entry)" [ "$what $seq $entry" = "changed 3 c3.delta" ]
check "move HEAD back to c2 (same size)" "$TOOL" move "$HREPO" c2.delta
"$TOOL" poll "$HREPO" "$tag" > p5.out
check "the moved HEAD is read, not taken for the old one ($(cat p5.out))" \
  [ "$(cut -d' ' -f1-3 p5.out)" = "changed 4 c2.delta" ]

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
