#!/bin/bash
# test-replica-star.sh - star replication (issue 14): one source publishes
# to an nginx repository and eight replicas sync from it at the same time
# (background jobs), three snapshots at first, then five more published one
# by one while replica r8 is left out. All converge on the source's
# identities and bytes; r8 then catches up from its own base, pulling only
# the five deltas it lacks (no seed again), and the seven others are
# untouched by it (their volumes unchanged, their next sync not_modified).
# `ddloop ls URL --replicas` lists all eight at HEAD. A HEAD replaced
# within the second a replica read it, by one of the same size (the same
# nginx ETag), is still seen as moved.
source "$(dirname "$0")/lib.sh"
source "$HERE/replica_lib.sh"
requires losetup
requires_replication
start_nginx
REPO=$NGINX_URL/star
V=$T/src
N=8

# sync_all I...: replica sync of r<I> for each I, all at once; passes when every one exits 0.
sync_all() {
  local i pids=() bad=0
  for i in "$@"; do
    "$DDLOOP" replica sync "$T/r$i" --json >"$T/o/sync-r$i.out" 2>"$T/o/sync-r$i.err" &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { bad=1; echo "  (r${*:$((i + 1)):1}: $(head -c 300 "$T/o/sync-r${*:$((i + 1)):1}.err"))"; }
  done
  return $bad
}
# converged I...: each r<I> holds exactly the source's snapshots (name, UUID, fingerprint).
converged() {
  local i
  src_idents "$V" ids-src
  for i in "$@"; do
    replica_idents "$T/r$i" ids-r$i && diff -q ids-src ids-r$i >/dev/null || { echo "  (r$i differs)"; return 1; }
  done
}
snap() { src_write "$V" "$2" 384 && "$DDLOOP" snapshot create "$V" "$1" -q && "$DDLOOP" publish "$V" "$REPO" -q; }

expect_exit 0 "volume create (32 MiB)" "$DDLOOP" volume create "$V" --size 32M -q
for s in 1 2 3; do check "snapshot s$s published" snap s$s $((s * 3)); done
for i in $(seq $N); do
  run init-r$i replica init "$T/r$i" --from "$REPO" --id r$i -q
  ran_ok init-r$i || not_ok "replica init r$i"
done
check "$N replicas sync concurrently, each exits 0" sync_all $(seq $N)
check "all $N converge on the source's three snapshots" converged $(seq $N)
check "every replica applied s1 s2 s3" sh -c "for f in '$T'/o/sync-r*.out; do
  grep -q '\"applied\": \[{\"name\": \"s1\"' \"\$f\" || exit 1; done"

# Five more, r8 left out of every round.
for s in 4 5 6 7 8; do
  check "snapshot s$s published" snap s$s $((s * 3))
  check "round s$s: r1..r7 sync concurrently" sync_all $(seq $((N - 1)))
done
check "r1..r7 converge on all eight snapshots" converged $(seq $((N - 1)))
replica_idents "$T/r$N" ids-left
check "r8, left out, still holds s1 s2 s3" [ "$(cut -d' ' -f1 ids-left | tr '\n' ' ')" = "s1 s2 s3 " ]
for i in $(seq $((N - 1))); do untouched_sum "$T/r$i" >sum-r$i; done

# r8 catches up from its own base.
before=$(wc -l <"$T/ng/access.log")
run catchup replica sync "$T/r$N" --json
tail -n +$((before + 1)) "$T/ng/access.log" >catchup.log
check "r8 sync exits 0" ran_ok catchup
check "r8 applied s4..s8, in order" \
  [ "$(jget "$T/o/catchup.out" "' '.join(a['name'] for a in j['applied'])")" = "s4 s5 s6 s7 s8" ]
check "r8 did not go back first" [ "$(jget "$T/o/catchup.out" "j['reverted_to']")" = "" ]
check "r8 downloaded five deltas, not the seed ($(grep -c 'GET /star/deltas/' catchup.log))" \
  [ "$(grep -c '"GET /star/deltas/[^ ]* HTTP/1.1" 20[06]' catchup.log)" = 5 ]
check "r8 converges on the source's eight snapshots" converged $N
check "s8 exports byte-identical from the source, r1 and r8" \
  sh -c "'$DDLOOP' volume delta '$V' --to s8 -o a.ddl -q && '$DDLOOP' apply a.ddl a.img -q &&
    '$DDLOOP' volume delta '$T/r1/volume' --to s8 -o b.ddl -q && '$DDLOOP' apply b.ddl b.img -q &&
    '$DDLOOP' volume delta '$T/r$N/volume' --to s8 -o c.ddl -q && '$DDLOOP' apply c.ddl c.img -q &&
    cmp -s a.img b.img && cmp -s a.img c.img"
rm -f ./*.img ./*.ddl ./*.ddloop-state

unaffected() {
  local i
  for i in $(seq $((N - 1))); do unchanged "$T/r$i" sum-r$i || { echo "  (r$i changed)"; return 1; }; done
}
check "r1..r7 are unchanged by r8's catch-up" unaffected
check "r1..r7 sync again concurrently" sync_all $(seq $((N - 1)))
check "... and each is not_modified" sh -c "for i in \$(seq $((N - 1))); do
  grep -q '\"not_modified\": true' '$T'/o/sync-r\$i.out || exit 1; done"
run lsr ls "$REPO" --replicas --json
check "ls --replicas lists the $N replicas, each at s8 and at HEAD" rc0_and \
  [ "$(jget "$T/o/lsr.out" "sorted(set((r['snapshot_name'], r.get('behind')) for r in j)) + [len(j)]")" = "[('s8', 0), $N]" ]

# --- polling nginx: a HEAD replaced within the second it was read ------------------
# nginx's ETag is the file's mtime in seconds and its size, so a HEAD moved
# twice within one second to one of the same size (publish moves it after
# every delta) keeps its ETag: a tag read in the second HEAD was written
# proves nothing (git's "racy" index entries). Made deterministic with a
# HEAD dated in the future: every read is then within its second.
W=$T/w
WREPO=$NGINX_URL/racy
HEADF=$NGINX_WWW/racy/HEAD
future=$(($(date +%s) + 600))
wsnap() { src_write "$W" "$2" 128 && "$DDLOOP" snapshot create "$W" "$1" -q && "$DDLOOP" publish "$W" "$WREPO" -q; }
expect_exit 0 "volume w" "$DDLOOP" volume create "$W" --size 8M -q
check "w1 published" wsnap w1 1
expect_exit 0 "replica rw" "$DDLOOP" replica init "$T/rw" --from "$WREPO" --id rw -q
expect_exit 0 "rw syncs w1" "$DDLOOP" replica sync "$T/rw" -q
check "w2 published" wsnap w2 2
touch -d "@$future" "$HEADF"
run racy2 replica sync "$T/rw" --json
check "rw syncs w2, reading HEAD in the second it was written" \
  rc0_and [ "$(jget "$T/o/racy2.out" "[a['name'] for a in j['applied']]")" = "['w2']" ]
size2=$(stat -c %s "$HEADF")
check "w3 published" wsnap w3 3
touch -d "@$future" "$HEADF"
check "HEAD kept its size and mtime (so its ETag)" [ "$(stat -c %s "$HEADF")" = "$size2" ]
run racy replica sync "$T/rw" --json
check "rw sees that HEAD moved and applies w3" \
  rc0_and [ "$(jget "$T/o/racy.out" "(j['not_modified'], [a['name'] for a in j['applied']])")" = "(False, ['w3'])" ]
check "nothing is left attached" sh -c "'$DDLOOP' list | grep -q 'nothing attached'"
finish
