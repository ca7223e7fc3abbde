#!/bin/bash
# test-transport-file.sh - push, pull, ls and rm with a file:// repository:
# a 5-delta chain pushed, pulled into an empty directory and applied equals
# the source; re-runs skip; --after; a partial download resumes; a
# corrupted object or catalog entry is detected and nothing is renamed into
# place; a malformed catalog entry is reported and skipped, the rest still
# listed and pulled; a directory that is no repository is an error; links
# planted at the part file and at the transport's temporary names are not
# written through; name clashes, unknown names and bad URLs give clear
# errors.
source "$(dirname "$0")/lib.sh"
source "$HERE/transport_lib.sh"
requires python3

make_chain 5
REPO=file://$T/repo
D="c0.delta c1.delta c2.delta c3.delta c4.delta"

expect_exit 0 "push a 5-delta chain" "$DDLOOP" push $D "$REPO" -q
"$DDLOOP" push --json $D "$REPO" > push2.json
check "a second push skips all five" [ "$(jget push2.json "j['skipped']")" = 5 ]
check "skipped deltas move no bytes" [ "$(jget push2.json "j['bytes_transferred']")" = 0 ]
"$DDLOOP" ls --json "$REPO" > ls.json
check "ls --json lists five deltas in chain order" \
  [ "$(jget ls.json "','.join(e['name'] for e in j)")" = "c0.delta,c1.delta,c2.delta,c3.delta,c4.delta" ]
check "ls --json has checksum, volume uuid, base and target" \
  [ "$(jget ls.json "all('checksum' in e and 'volume_uuid' in e and 'target' in e for e in j) and 'base' in j[1]")" = True ]
check "ls shows the seed" grep -q "(seed)" <("$DDLOOP" ls "$REPO")

mkdir pulled
"$DDLOOP" pull --json "$REPO" pulled > pull.json
check "pull brings five deltas" [ "$(jget pull.json "j['transferred']")" = 5 ]
check "pull reports bytes_transferred = size" \
  [ "$(file_field pull.json c4.delta bytes_transferred)" = "$(size_of c4.delta)" ]
for i in 0 1 2 3 4; do check "c$i.delta pulled byte for byte" same c$i.delta pulled/c$i.delta; done
expect_exit 0 "apply the pulled chain" "$DDLOOP" apply pulled/c0.delta pulled/c1.delta pulled/c2.delta \
  pulled/c3.delta pulled/c4.delta replica.img -q
check "the pulled chain gives the source image" same replica.img s4.img
"$DDLOOP" pull --json "$REPO" pulled > pull2.json
check "pulling again skips everything" [ "$(jget pull2.json "j['skipped']")" = 5 ]

mkdir after
"$DDLOOP" pull --json --after c2.delta "$REPO" after > after.json
check "--after NAME pulls only what chains after it" [ "$(ls after | paste -sd,)" = "c3.delta,c4.delta" ]
mkdir after2
target=$(jget ls.json "j[3]['target']['fingerprint']")
expect_exit 0 "--after FINGERPRINT" "$DDLOOP" pull --after "$target" -q "$REPO" after2
check "--after a fingerprint pulls the rest" [ "$(ls after2)" = "c4.delta" ]
expect_exit 2 "--after an unknown identity" "$DDLOOP" pull --after deadbeefdeadbeef -q "$REPO" after2
err_has "no delta has the target"

# A partial download (as left by a killed pull) resumes where it stopped.
mkdir resume
obj=$(ls repo/deltas/c0.delta.*)
csum=${obj##*.}
head -c 300000 "$obj" > resume/.c0.delta.$csum.part
"$DDLOOP" pull --json "$REPO" resume > resume.json
check "resumed_from is the partial file's size" [ "$(file_field resume.json c0.delta resumed_from)" = 300000 ]
check "only the rest is transferred" \
  [ "$(file_field resume.json c0.delta bytes_transferred)" = $(($(size_of c0.delta) - 300000)) ]
check "the resumed delta is whole" same resume/c0.delta c0.delta
check "no partial file is left" [ -z "$(ls -A resume | grep part)" ]

# A corrupted object is detected on pull and never renamed into place.
mkdir bad
obj4=$(ls repo/deltas/c4.delta.*)
cp "$obj4" obj4.orig
flip_byte "$obj4" 5000
expect_exit 4 "a corrupted object fails the pull" "$DDLOOP" pull --after c3.delta -q "$REPO" bad
err_has "c4.delta"
err_has "checksum"
check "the corrupted delta is not in DIR" [ ! -e bad/c4.delta ]
check "and no partial file is left" [ -z "$(ls -A bad)" ]
cp obj4.orig "$obj4"

# Corrupted catalog entry.
cp repo/catalog/c2.delta.entry entry.orig
echo "junk" > repo/catalog/c2.delta.entry
expect_exit 4 "a damaged catalog entry" "$DDLOOP" ls "$REPO"
err_has "c2.delta.entry"
rc=0; "$DDLOOP" ls --json "$REPO" >bad-ls.json 2>bad-ls.err || rc=$?
check "ls --json with one bad entry exits 4 ($rc)" [ "$rc" = 4 ]
check "... still lists the other four" [ "$(jget bad-ls.json "','.join(sorted(e['name'] for e in j))" 2>/dev/null)" = "c0.delta,c1.delta,c3.delta,c4.delta" ]
check "... and says it skipped one, in one line" [ "$(wc -l <bad-ls.err)" = 1 ] && grep -q "skipped" bad-ls.err
rc=0; "$DDLOOP" pull -q "$REPO" skipbad 2>skipbad.err || rc=$?
check "pull with one bad entry exits 4 ($rc): $(cat skipbad.err)" [ "$rc" = 4 ]
check "... and pulls the other four" [ "$(ls skipbad | paste -sd,)" = "c0.delta,c1.delta,c3.delta,c4.delta" ]
head -c 100000 /dev/zero | tr '\0' 'x' > repo/catalog/c2.delta.entry
expect_exit 4 "an oversized catalog entry" "$DDLOOP" ls "$REPO"
err_has "unexpectedly large"
cp entry.orig repo/catalog/c2.delta.entry

# A repository written before the marker existed is still read.
check "the first push wrote the manifest" [ "$(head -1 repo/ddloop-repository)" = "ddloop-repository 1" ]
mv repo/ddloop-repository marker.orig
check "a repository without the marker but with entries is listed" \
  [ "$(jget <("$DDLOOP" ls --json "$REPO") "len(j)")" = 5 ]
mv marker.orig repo/ddloop-repository

# A directory that is no repository is not an empty one.
mkdir notrepo
expect_exit 3 "ls of a directory that is no repository" "$DDLOOP" ls "file://$T/notrepo"
err_has "is there a repository at"
expect_exit 3 "pull from a directory that is no repository" "$DDLOOP" pull -q "file://$T/notrepo" "$T/fromnothing"
check "... creates no directory" [ ! -e "$T/fromnothing" ]

# Links planted at the part file and at the transport's temporary name.
echo precious > victim
big=$(printf 'x%.0s' $(seq 2000))
printf '%s' "$big" > victim2 && cp victim2 victim2.orig
mkdir planted
ln -s "$T/victim" "planted/.c0.delta.$csum.part"
rc=0; "$DDLOOP" pull -q "$REPO" planted 2>planted.err || rc=$?
check "pull past a link planted at the part file exits 0 ($rc: $(cat planted.err))" [ "$rc" = 0 ]
check "... leaves the link's target untouched" [ "$(cat victim)" = precious ]
check "... and pulls the delta whole" same planted/c0.delta c0.delta
mkdir planted2
ln -s "$T/victim2" "planted2/.c0.delta.$csum.part"
rc=0; "$DDLOOP" pull -q "$REPO" planted2 2>/dev/null || rc=$?
check "a planted link to a file larger than the delta: target untouched" same victim2 victim2.orig
echo precious > victim3
mkdir -p repo2/deltas
rc=0; bash -c 'ln -s "$1" "$2/.c0.delta.$3.tmp.$$"; ln -s "$1" "$2/.c0.delta.$3.tmp"; exec "$4" push -q c0.delta "file://$5"' \
  _ "$T/victim3" "$T/repo2/deltas" "$csum" "$DDLOOP" "$T/repo2" 2>planted3.err || rc=$?
check "push past links planted at the transport's temporary names exits 0 ($rc: $(cat planted3.err))" [ "$rc" = 0 ]
check "... leaves the target untouched" [ "$(cat victim3)" = precious ]
check "... and stores the delta" same "repo2/deltas/c0.delta.$csum" c0.delta

# Clashes and mistakes.
mkdir other && cp c3.delta other/c4.delta
expect_exit 2 "a different delta under a pushed name is refused" "$DDLOOP" push other/c4.delta "$REPO" -q
err_has "different delta"
cp c1.delta pulled/c2.delta.tmp && mv pulled/c2.delta.tmp pulled/c2.delta
expect_exit 2 "a different file in DIR under a delta's name" "$DDLOOP" pull -q "$REPO" pulled
expect_exit 3 "rm of an unknown name" "$DDLOOP" rm "$REPO" nosuch.delta
err_has "nosuch.delta"
expect_exit 2 "an unknown URL scheme" "$DDLOOP" ls ftp://example.org/x
expect_exit 2 "a relative file URL" "$DDLOOP" ls file://relative/x
expect_exit 3 "pull into a directory whose parent is missing" "$DDLOOP" pull -q "$REPO" "$T/nowhere/sub"
check "pull creates a missing directory" "$DDLOOP" pull -q "$REPO" "$T/fresh"
check "... and fills it" test -s "$T/fresh/c1.delta"
expect_exit 4 "push of a damaged deltafile" bash -c "head -c 2000 c1.delta > cut.delta; \"$DDLOOP\" push -q cut.delta \"$REPO\""

expect_exit 0 "rm a delta" "$DDLOOP" rm "$REPO" c4.delta
check "ls no longer shows it" [ "$(jget <("$DDLOOP" ls --json "$REPO") "len(j)")" = 4 ]
check "its object is gone too" [ -z "$(ls repo/deltas | grep c4.delta)" ]

finish
