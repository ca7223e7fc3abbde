#!/bin/bash
# test-replica-fallback.sh - when the upstream line moves (issue 14), over a
# file:// repository. The source goes back to an older snapshot (volume
# revert, then snapshot delete of the later ones), writes, snapshots and
# publishes anew (HEAD moves sideways): a replica that held the later
# snapshots goes back to the common one itself and follows to the source's
# content, and one that had stopped at the common snapshot just continues.
# Then the base is gone upstream (every delta removed with `ddloop rm`, a
# fresh seed-only line published) and a replica holding nothing in common
# exits 10, "needs a reseed", one line, with its snapshots and volume files
# unchanged (sync --watch ends on it too); a new replica starts from the
# new seed and follows.
source "$(dirname "$0")/lib.sh"
source "$HERE/replica_lib.sh"
requires losetup
requires_replication
V=$T/src
REPO=file://$T/repo
R=$T/r
RB=$T/rb

# snap NAME MIB: 256 KiB written at MIB MiB, then snapshot NAME.
snap() { src_write "$V" "$2" 256 && "$DDLOOP" snapshot create "$V" "$1" -q; }
# newest R: the newest snapshot's "name uuid fingerprint" on replica R (or the source with -s).
newest() {
  if [ "$1" = -s ]; then src_idents "$V" cur; else replica_idents "$1" cur; fi
  tail -1 cur
}

expect_exit 0 "volume create (32 MiB)" "$DDLOOP" volume create "$V" --size 32M -q
for s in a:1 b:2 c:3 d:4; do check "snapshot ${s%:*}" snap "${s%:*}" "${s#*:}"; done
expect_exit 0 "publish up to b" "$DDLOOP" publish "$V" "$REPO" --snapshot b -q
expect_exit 0 "replica init rb" "$DDLOOP" replica init "$RB" --from "$REPO" --id rb -q
expect_exit 0 "rb syncs a b" "$DDLOOP" replica sync "$RB" -q
expect_exit 0 "publish c d" "$DDLOOP" publish "$V" "$REPO" -q
expect_exit 0 "replica init r" "$DDLOOP" replica init "$R" --from "$REPO" --id r -q
expect_exit 0 "r syncs a b c d" "$DDLOOP" replica sync "$R" -q
check "r is at d" [ "$(newest "$R" | cut -d' ' -f1)" = d ]

# --- the source goes back to b and publishes a new line ----------------------
expect_exit 0 "source: volume revert to b" "$DDLOOP" volume revert "$V" b -q
expect_exit 0 "source: snapshot delete d" "$DDLOOP" snapshot delete "$V" d -q
expect_exit 0 "source: snapshot delete c" "$DDLOOP" snapshot delete "$V" c -q
check "snapshot e (b plus new writes)" snap e 5
run pub-e publish "$V" "$REPO" --json
check "publish of e exits 0" ran_ok pub-e
check "publish sends one delta, from b (not a seed)" \
  [ "$(jget "$T/o/pub-e.out" "[(d['snapshot_name'], d['seed']) for d in j['deltas']]")" = "[('e', False)]" ]
check "HEAD moved to e" [ "$(jget "$T/o/pub-e.out" "j['head']['snapshot_name']")" = e ]
# r holds c and d, which HEAD's line no longer has: it must go back to b
# (its own revert) and apply e from there.
run sync-r replica sync "$R" --json
check "r syncs after the source went back" ran_ok sync-r
check "r went back to b itself" [ "$(jget "$T/o/sync-r.out" "j['reverted_to']")" = b ]
check "r applied e" [ "$(jget "$T/o/sync-r.out" "[a['name'] for a in j['applied']]")" = "['e']" ]
check "r's newest is the source's e (name, UUID, fingerprint)" [ "$(newest "$R")" = "$(newest -s)" ]
src_idents "$V" ids-src
replica_idents "$R" ids-r
check "every source snapshot is on r with its identity" sh -c "grep -vxFf ids-r ids-src | wc -l | grep -qx 0"
check "r's c and d stay listed" sh -c "cut -d' ' -f1 ids-r | tr '\n' ' ' | grep -qx 'a b c d e '"
check "e exports byte-identical from the source and r" same_export "$V" "$R/volume" e
check "b exports byte-identical from the source and r" same_export "$V" "$R/volume" b
run sync-rb replica sync "$RB" --json
check "rb (stopped at b) syncs" ran_ok sync-rb
check "rb just continues: no revert, e applied" \
  [ "$(jget "$T/o/sync-rb.out" "(j['reverted_to'], [a['name'] for a in j['applied']])")" = "('', ['e'])" ]
check "rb's newest is the source's e" [ "$(newest "$RB")" = "$(newest -s)" ]
run again replica sync "$R" --json
check "r syncs again: up to date" rc0_and [ "$(jget "$T/o/again.out" "j['applied']")" = "[]" ]

# --- the base is gone upstream: nothing in common ------------------------------
check "snapshot f" snap f 6
check "snapshot g" snap g 7
for s in a b e; do expect_exit 0 "source: snapshot delete $s" "$DDLOOP" snapshot delete "$V" "$s" -q; done
names=$(jget <("$DDLOOP" ls "$REPO" --json) "' '.join(e['name'] for e in j)")
# shellcheck disable=SC2086
expect_exit 0 "ddloop rm of every delta upstream ($names)" "$DDLOOP" rm "$REPO" $names
check "the repository lists no delta" [ "$(jget <("$DDLOOP" ls "$REPO" --json) "len(j)")" = 0 ]
run pub-f publish "$V" "$REPO" --snapshot f --json
check "publish f into the emptied repository exits 0" ran_ok pub-f
check "... as a seed, HEAD at f" \
  [ "$(jget "$T/o/pub-f.out" "([d['seed'] for d in j['deltas']], j['head']['snapshot_name'])")" = "([True], 'f')" ]
untouched_sum "$R" >sum-r
untouched_sum "$RB" >sum-rb
expect_exit 10 "rb, holding nothing in common with the new line, needs a reseed" "$DDLOOP" replica sync "$RB"
err_has "needs a reseed"
check "rb's snapshots and volume files are unchanged" unchanged "$RB" sum-rb
expect_exit 10 "sync --watch ends on a needed reseed" timeout 60 "$DDLOOP" replica sync "$RB" --watch 1s
check "rb is still untouched" unchanged "$RB" sum-rb
run reseed-r replica sync "$R" --json
check "r needs a reseed too (exit $RC)" [ "$RC" = 10 ]
check "r is untouched" unchanged "$R" sum-r
run st replica status "$RB" --json
check "rb's status reports the error" rc0_and grep -q 'needs a reseed' "$T/o/st.out"

# The remedy: a new replica from the new seed.
expect_exit 0 "replica init rn" "$DDLOOP" replica init "$T/rn" --from "$REPO" --id rn -q
expect_exit 0 "rn syncs the seed f" "$DDLOOP" replica sync "$T/rn" -q
src_idents "$V" ids-src
check "rn's newest is the source's f" [ "$(newest "$T/rn")" = "$(grep '^f ' ids-src)" ]
expect_exit 0 "publish g" "$DDLOOP" publish "$V" "$REPO" -q
expect_exit 0 "rn syncs g" "$DDLOOP" replica sync "$T/rn" -q
src_idents "$V" ids-src
replica_idents "$T/rn" ids-rn
check "rn holds f g with the source's identities" diff ids-src ids-rn
check "g exports byte-identical from the source and rn" same_export "$V" "$T/rn/volume" g
check "nothing is left attached" sh -c "'$DDLOOP' list | grep -q 'nothing attached'"
finish
