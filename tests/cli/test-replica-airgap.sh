#!/bin/bash
# test-replica-airgap.sh - air-gapped seeding (issue 14): a seed and one
# delta of the source (`ddloop volume delta`) are written by `ddloop
# archive` to a tar file in tape-sized blocks, carried over, and `replica
# init --seed-archive` starts a replica from it while the upstream nginx is
# not even running (and a second one from a pipe). Once nginx runs and the
# source has published, `replica sync` continues from the archive's
# snapshots: identities continuous (the source's UUIDs and fingerprints),
# no reseed, and only the deltas after the archive are downloaded.
source "$(dirname "$0")/lib.sh"
source "$HERE/replica_lib.sh"
requires losetup
requires_replication
V=$T/src
PORT=$(nginx_free_port)
REPO=http://127.0.0.1:$PORT/site
R=$T/r

snap() { src_write "$V" "$2" 512 && "$DDLOOP" snapshot create "$V" "$1" -q; }
expect_exit 0 "volume create (48 MiB)" "$DDLOOP" volume create "$V" --size 48M -q
for s in mon:2 tue:9 wed:17 thu:30; do check "snapshot ${s%:*}" snap "${s%:*}" "${s#*:}"; done

# --- tape: the seed of mon and mon..tue, in 10 KiB blocks like tar --------------
# A deltafile carries no snapshot name: the seeded snapshots are named after
# their files (as publish names them, NAME-UUID8.ddl, or plain NAME.ddl).
expect_exit 0 "volume delta: seed of mon" "$DDLOOP" volume delta "$V" --to mon -o mon.ddl -q
expect_exit 0 "volume delta: mon..tue" "$DDLOOP" volume delta "$V" --from mon --to tue -o tue.ddl -q
expect_exit 0 "archive both to a tar file" "$DDLOOP" archive mon.ddl tue.ddl -f tape.tar --block-size 10240 -q
check "the archive is whole 10 KiB blocks" [ $(($(stat -c %s tape.tar) % 10240)) = 0 ]
rm -f mon.ddl tue.ddl

# --- init at the site, the upstream unreachable -----------------------------------
run init replica init "$R" --from "$REPO" --seed-archive tape.tar --id site --json
check "replica init --seed-archive exits 0 with nginx down" ran_ok init
check "init says the upstream was not checked" [ "$(jget "$T/o/init.out" "j['upstream_checked']")" = False ]
check "init seeded mon and tue" [ "$(jget "$T/o/init.out" "[s['name'] for s in j['snapshots']]")" = "['mon', 'tue']" ]
src_idents "$V" ids-src
replica_idents "$R" ids-r
check "the seeded snapshots carry the source's names, UUIDs and fingerprints" \
  diff <(head -2 ids-src) ids-r
check "tue exports byte-identical from the source and the seeded replica" same_export "$V" "$R/volume" tue
run init-pipe replica init "$T/rp" --from "$REPO" --seed-archive - --id pipe --retries 0 -q <tape.tar
check "replica init --seed-archive - (a pipe) exits 0" ran_ok init-pipe
replica_idents "$T/rp" ids-rp
check "the piped replica holds the same two snapshots" diff ids-r ids-rp
run early replica sync "$R" --attempts 1 --retries 0
check "a sync while the upstream is down fails as a network error (exit $RC)" [ "$RC" = 8 ]
replica_idents "$R" ids-after
check "... and leaves the seeded snapshots" diff ids-r ids-after

# --- the link comes up: publish, then sync incrementally ---------------------------
start_nginx "$PORT"
expect_exit 0 "publish mon..thu to nginx" "$DDLOOP" publish "$V" "$REPO" -q
"$DDLOOP" ls "$REPO" --json >ls.json
objects_known=$(jget ls.json "' '.join(e['object'] for e in j if e['snapshot_name'] in ('mon', 'tue'))")
before=$(wc -l <"$T/ng/access.log")
run sync replica sync "$R" --json
tail -n +$((before + 1)) "$T/ng/access.log" >sync.log
check "replica sync from http:// exits 0" ran_ok sync
check "no reseed, no going back" [ "$(jget "$T/o/sync.out" "j['reverted_to']")" = "" ]
check "it applied wed and thu only" [ "$(jget "$T/o/sync.out" "[a['name'] for a in j['applied']]")" = "['wed', 'thu']" ]
objects_new=$(jget ls.json "' '.join(e['object'] for e in j if e['snapshot_name'] in ('wed', 'thu'))")
# fetched WANT OBJECT OBJECT: whether (yes/no) a GET in sync.log names each of the two.
fetched() {
  local want=$1 o got
  shift
  [ $# -eq 2 ] || { echo "  (wanted two objects, got: $*)"; return 1; }
  for o in "$@"; do
    got=no
    grep '"GET ' sync.log | grep -qF "/${o##*/} " && got=yes
    [ $got = "$want" ] || { echo "  ($o downloaded: $got)"; return 1; }
  done
}
# shellcheck disable=SC2086
check "mon's and tue's deltas were not downloaded" fetched no $objects_known
# shellcheck disable=SC2086
check "wed's and thu's were" fetched yes $objects_new
replica_idents "$R" ids-r
check "the replica holds the source's four snapshots, identities continuous" diff ids-src ids-r
check "thu exports byte-identical from the source and the replica" same_export "$V" "$R/volume" thu
expect_exit 0 "the piped replica syncs too" "$DDLOOP" replica sync "$T/rp" -q
replica_idents "$T/rp" ids-rp
check "... to the same four" diff ids-src ids-rp
check "nothing is left attached" sh -c "'$DDLOOP' list | grep -q 'nothing attached'"
finish
