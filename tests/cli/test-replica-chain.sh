#!/bin/bash
# test-replica-chain.sh - chained replication end to end (issue 14): a
# source volume with ext4, written and snapshotted six times (mon .. sat)
# while mounted, is published to Ceph RGW (s3://); replica R1 syncs from it
# and forwards to an nginx WebDAV repository; replica R2 syncs from nginx.
# Every snapshot on R1 and R2 carries the source's name, UUID and
# fingerprint, and exports to the source's bytes; the live head (written
# after the last snapshot) is never published. A seventh snapshot flows
# through both hops incrementally. An idle R2 sync is not_modified and costs
# nginx exactly one request, a conditional GET of HEAD answered 304.
# `ddloop ls URL --replicas` shows R1 upstream of it and R2 on nginx, at HEAD.
# With nginx down, R1 still seals what it pulls and forwards it later.
source "$(dirname "$0")/lib.sh"
source "$HERE/replica_lib.sh"
requires mkfs.ext4 e2fsck fsfreeze losetup mount umount
requires_replication
start_nginx
start_rgw
echo "# nginx at $NGINX_URL, radosgw at $AWS_ENDPOINT_URL"
mkbucket repo
S3=s3://repo/vol
WEB=$NGINX_URL/vol/
V=$T/src
mkdir -p fs

# --- the source: ext4 on a live volume, six snapshots while mounted --------
expect_exit 0 "volume create (64 MiB)" "$DDLOOP" volume create "$V" --size 64M -q
dev=$("$DDLOOP" volume attach "$V") || { not_ok "volume attach"; finish; exit; }
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$dev"
"$DDLOOP" detach -q "$dev"
expect_exit 0 "attach with --mount-fs" "$DDLOOP" volume attach "$V" --mount-fs fs
DAYS=(mon tue wed thu fri sat)
for day in 0 1 2 3 4 5; do
  d=${DAYS[$day]}
  # Create, append, overwrite in place, delete: every kind of change.
  mkdir -p fs/$d && text_file $((100000 * (day + 1))) "$d" >fs/$d/notes.txt
  head -c $(((day + 1) * 300000)) /dev/urandom >fs/$d/data.bin
  [ $day -lt 1 ] || text_file 50000 "$d" >>fs/mon/notes.txt
  [ $day -lt 2 ] || rm fs/${DAYS[$((day - 2))]}/data.bin
  [ $day -lt 3 ] || head -c 65536 /dev/urandom | dd of=fs/tue/notes.txt bs=4096 seek=3 conv=notrunc status=none
  expect_exit 0 "snapshot $d of the mounted volume" "$DDLOOP" snapshot create "$V" "$d"
done
# Written after the last snapshot: the live head, which must not travel.
head -c 1000000 /dev/urandom >fs/unsnapshotted.bin && sync

# --- publish to RGW while the volume stays mounted ---------------------------
run publish publish "$V" "$S3" --json
check "publish of six snapshots to s3:// exits 0" ran_ok publish
check "publish sent six deltas, the first a seed" \
  [ "$(jget "$T/o/publish.out" "[d['seed'] for d in j['deltas']]")" = "[True, False, False, False, False, False]" ]
check "HEAD names sat" [ "$(jget "$T/o/publish.out" "j['head']['snapshot_name']")" = sat ]
run publish2 publish "$V" "$S3" --json
check "a second publish has nothing to do" \
  rc0_and [ "$(jget "$T/o/publish2.out" "len(j['deltas'])")" = 0 ]

# --- R1: from s3://, forwarding to nginx; R2: from nginx -----------------------
run init1 replica init "$T/r1" --from "$S3" --forward "$WEB" --id r1 --json
check "replica init R1 (from s3://, forward to http://)" ran_ok init1
run sync1 replica sync "$T/r1" --json
check "R1 sync exits 0" ran_ok sync1
check "R1 applied the six snapshots in order" \
  [ "$(jget "$T/o/sync1.out" "' '.join(a['name'] for a in j['applied'])")" = "mon tue wed thu fri sat" ]
check "R1 forwarded six to nginx" \
  [ "$(jget "$T/o/sync1.out" "[(f['status'], f['published']) for f in j['forwards']]")" = "[('ok', 6)]" ]
run init2 replica init "$T/r2" --from "$WEB" --id r2 -q
check "replica init R2 (from http://)" ran_ok init2
# R1 wrote nginx's HEAD just now. nginx's ETag is the mtime in seconds and
# the size, so a tag read in the second HEAD changed is not kept (the next
# poll reads HEAD whole, still one request): let that second pass, so the
# idle poll below is the 304 case.
sleep 1.1
run sync2 replica sync "$T/r2" --json
check "R2 sync exits 0" ran_ok sync2
check "R2 applied the six snapshots" [ "$(jget "$T/o/sync2.out" "len(j['applied'])")" = 6 ]

src_idents "$V" ids-src
replica_idents "$T/r1" ids-r1
replica_idents "$T/r2" ids-r2
check "the source lists six snapshots" [ "$(wc -l <ids-src)" = 6 ]
check "R1 holds every snapshot under the source's name, UUID and fingerprint" diff ids-src ids-r1
check "R2 holds every snapshot under the source's name, UUID and fingerprint" diff ids-src ids-r2
check "the catalog on nginx carries the snapshot names" \
  [ "$(jget <("$DDLOOP" ls "$WEB" --json) "' '.join(e['snapshot_name'] for e in j)")" = "mon tue wed thu fri sat" ]
for d in mon tue wed thu fri sat; do
  export_snap "$V" "$d" "src-$d.img" || not_ok "export of $d from the source"
  export_snap "$T/r1/volume" "$d" r1.img && export_snap "$T/r2/volume" "$d" r2.img
  check "snapshot $d exports byte-identical from the source, R1 and R2" same_all "src-$d.img" r1.img r2.img
  rm -f r1.img r2.img
done
check "the exported sat is a clean ext4" sh -c "e2fsck -fn src-sat.img >/dev/null 2>&1"
rm -f src-*.img

# --- idle polls: one conditional GET of HEAD, nothing listed ---------------------
untouched_sum "$T/r2" >sum-r2
before=$(wc -l <"$T/ng/access.log")
run idle2 replica sync "$T/r2" --json
after=$(wc -l <"$T/ng/access.log")
check "an idle R2 sync exits 0" ran_ok idle2
check "an idle R2 sync says not_modified" [ "$(jget "$T/o/idle2.out" "j['not_modified']")" = True ]
tail -n +$((before + 1)) "$T/ng/access.log" >idle.log
check "an idle R2 sync made exactly one request ($(tr '\n' ' ' <idle.log))" [ $((after - before)) = 1 ]
check "that request is a conditional GET of HEAD answered 304" grep -q '"GET /vol/HEAD HTTP/1.1" 304 ' idle.log
check "an idle R2 sync listed nothing" sh -c "! grep -qE '\"GET [^ ]*/ HTTP' idle.log"
# A sync every few minutes for years must not grow anything.
check "an idle R2 sync wrote nothing into R2's volume" unchanged "$T/r2" sum-r2
run idle1 replica sync "$T/r1" --json
check "an idle R1 sync (s3://, with a forward) says not_modified" \
  rc0_and [ "$(jget "$T/o/idle1.out" "j['not_modified']")" = True ]

# --- a seventh snapshot flows through both hops -----------------------------------
text_file 200000 sunday >fs/sun.txt
expect_exit 0 "snapshot sun" "$DDLOOP" snapshot create "$V" sun
run publish3 publish "$V" "$S3" --json
check "publish of sun sends one delta" rc0_and [ "$(jget "$T/o/publish3.out" "len(j['deltas'])")" = 1 ]
run sync1b replica sync "$T/r1" --json
check "R1 applies sun and forwards one" rc0_and [ "$(jget "$T/o/sync1b.out" "([a['name'] for a in j['applied']], j['forwards'][0]['published'])")" = "(['sun'], 1)" ]
before=$(wc -l <"$T/ng/access.log")
run sync2b replica sync "$T/r2" --json
check "R2 applies sun" rc0_and [ "$(jget "$T/o/sync2b.out" "[a['name'] for a in j['applied']]")" = "['sun']" ]
# One delta behind: HEAD, the manifest, sun's entry (found by HEAD's name,
# its base by base_entry), the delta, the position -- no catalog listing,
# no other entry read.
tail -n +$((before + 1)) "$T/ng/access.log" >one.log
check "a sync one delta behind lists nothing ($(wc -l <one.log) requests)" sh -c "! grep -qE '\"(GET|PROPFIND) [^ ]*/ HTTP' one.log"
check "a sync one delta behind reads one catalog entry" [ "$(grep -c '/catalog/[^ ]*\.entry HTTP/1.1\" 200' one.log)" = 1 ]
src_idents "$V" ids-src
replica_idents "$T/r2" ids-r2
check "R2 holds the seven snapshots with the source's identities" diff ids-src ids-r2
check "sun exports byte-identical from the source and R2" same_export "$V" "$T/r2/volume" sun
run status2 replica status "$T/r2" --json
check "R2's status: newest sun, lag 0" rc0_and [ "$(jget "$T/o/status2.out" "(j['newest']['name'], j.get('lag'))")" = "('sun', 0)" ]

# --- where the replicas say they are ---------------------------------------------
run lsr1 ls "$S3" --replicas --json
check "ls s3:// --replicas: r1 at sun, at HEAD" rc0_and [ "$(jget "$T/o/lsr1.out" "[(r['id'], r['snapshot_name'], r.get('behind')) for r in j]")" = "[('r1', 'sun', 0)]" ]
run lsr2 ls "$WEB" --replicas --json
check "ls http:// --replicas: r2 at sun, at HEAD" rc0_and [ "$(jget "$T/o/lsr2.out" "[(r['id'], r['snapshot_name'], r.get('behind')) for r in j]")" = "[('r2', 'sun', 0)]" ]
run lsr3 ls "$WEB" --replicas
check "ls --replicas (text) names r2" rc0_and grep -q '^r2 ' "$T/o/lsr3.out"

# --- the forward target away: R1 keeps what it sealed and forwards later ----------
PORT=${NGINX_URL##*:}
nginx_stop
text_file 100000 monday2 >fs/mon2.txt
expect_exit 0 "snapshot mon2" "$DDLOOP" snapshot create "$V" mon2
expect_exit 0 "publish mon2" "$DDLOOP" publish "$V" "$S3" -q
run away replica sync "$T/r1" --json --attempts 1 --retries 0
check "with nginx down, R1's sync fails as a network error (exit $RC)" [ "$RC" = 8 ]
check "... says its forward failed" [ "$(jget "$T/o/away.out" "[f['status'] for f in j['forwards']]")" = "['failed']" ]
replica_idents "$T/r1" ids-r1
check "... but R1 applied and sealed mon2" [ "$(tail -1 ids-r1 | cut -d' ' -f1)" = mon2 ]
start_nginx "$PORT"
run back replica sync "$T/r1" --json
check "with nginx back, R1 forwards mon2" rc0_and [ "$(jget "$T/o/back.out" "j['forwards'][0]['published']")" = 1 ]
run sync2c replica sync "$T/r2" --json
check "R2 applies mon2" rc0_and [ "$(jget "$T/o/sync2c.out" "[a['name'] for a in j['applied']]")" = "['mon2']" ]
src_idents "$V" ids-src
replica_idents "$T/r2" ids-r2
check "R2 holds the source's eight snapshots" diff ids-src ids-r2

expect_exit 0 "detach the source" "$DDLOOP" detach -q fs
check "nothing is left attached" sh -c "'$DDLOOP' list | grep -q 'nothing attached'"
finish
