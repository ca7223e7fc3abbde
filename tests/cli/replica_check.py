#!/usr/bin/env python3
"""replica_check.py - the checks of test-replica-crash.sh on JSON that ddloop prints.

    replica_check.py invariants SRC R1 R2 B
        SRC: `ddloop snapshot list VOL --json` of the source; R1, R2:
        `ddloop replica list R --json`; B: `ddloop ls URL --json` of the
        repository R1 forwards to (a missing or empty file: none yet).
        Checks: every snapshot a replica lists is the source's snapshot of
        the same UUID, with its name and fingerprint; R2 holds only
        snapshots R1 holds sealed; B names as targets only snapshots R1
        holds sealed. Prints one line per violation; exit 1 if any.
    replica_check.py newest R UUID
        Exit 0 when the newest snapshot of replica list R is UUID.
    replica_check.py repo P REF HEAD UUID
        P, REF: `ddloop ls URL --json` of a repository published with kills
        and of one published uninterrupted (further); HEAD: P's HEAD object
        (text). P must hold exactly REF's entries up to the one whose target
        is UUID (same names, checksums, sizes, kinds, bases, targets), and
        HEAD must name that entry and target, with one move per delta
        (seq = the number of entries).
    replica_check.py uuid SRC NAME
        Prints the UUID of the source's snapshot NAME.
"""
import json
import sys


def load(path):
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return None
    return json.loads(text) if text.strip() else None


def snaps(path):
    j = load(path)
    return j["snapshots"] if j else []


def invariants(src_path, r1_path, r2_path, b_path):
    src = {s["uuid"]: s for s in snaps(src_path)}
    bad = []
    held = {}
    for label, path in (("R1", r1_path), ("R2", r2_path)):
        held[label] = set()
        for s in snaps(path):
            held[label].add(s["uuid"])
            o = src.get(s["uuid"])
            if o is None:
                bad.append("%s lists %s (%s), which the source does not have" % (label, s["uuid"], s["name"]))
            elif o["fingerprint"] != s["fingerprint"]:
                bad.append("%s lists %s with fingerprint %s, the source's is %s" %
                           (label, s["uuid"], s["fingerprint"][:16], o["fingerprint"][:16]))
            elif o["name"] != s["name"]:
                bad.append("%s lists %s as %s, the source calls it %s" % (label, s["uuid"], s["name"], o["name"]))
    for u in sorted(held["R2"] - held["R1"]):
        bad.append("R2 holds %s (%s), which R1 does not hold sealed" % (u, src.get(u, {}).get("name", "?")))
    for e in load(b_path) or []:
        u = e["target"]["snapshot"]
        if u not in held["R1"]:
            bad.append("B's catalog names %s (%s), which R1 does not hold sealed" % (u, e["name"]))
    for b in bad:
        print(b)
    return 1 if bad else 0


def newest(r_path, uuid):
    s = snaps(r_path)
    return 0 if s and s[-1]["uuid"] == uuid else 1


def head_fields(path):
    fields = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition(" ")
            fields[k] = v
    return fields


def entry_key(e):
    return (e["name"], e["checksum"], e["size"], e["kind"], e.get("base", {}).get("snapshot"),
            e.get("base", {}).get("fingerprint"), e["target"]["snapshot"], e["target"]["fingerprint"])


def repo(p_path, ref_path, head_path, uuid):
    p, ref = load(p_path) or [], load(ref_path) or []
    want = []
    for e in ref:
        want.append(e)
        if e["target"]["snapshot"] == uuid:
            break
    else:
        print("the reference repository has no entry with target %s" % uuid)
        return 1
    bad = []
    got = sorted(entry_key(e) for e in p)
    exp = sorted(entry_key(e) for e in want)
    if got != exp:
        extra = [k[0] for k in got if k not in exp]
        missing = [k[0] for k in exp if k not in got]
        bad.append("catalog differs from an uninterrupted publish: extra or different %s, missing or different %s" %
                   (extra, missing))
    h = head_fields(head_path)
    last = want[-1]
    if h.get("entry") != last["name"] + ".entry" and h.get("entry") != last["name"]:
        bad.append("HEAD names entry %s, an uninterrupted publish %s" % (h.get("entry"), last["name"]))
    if uuid not in " ".join(h.values()) or last["target"]["fingerprint"] not in " ".join(h.values()):
        bad.append("HEAD's target is not %s/%s: %s" % (uuid, last["target"]["fingerprint"][:16], h))
    if h.get("seq") != str(len(want)):
        bad.append("HEAD's seq is %s after %d deltas (one move per delta)" % (h.get("seq"), len(want)))
    for b in bad:
        print(b)
    return 1 if bad else 0


def uuid_of(src_path, name):
    for s in snaps(src_path):
        if s["name"] == name:
            print(s["uuid"])
            return 0
    return 1


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "invariants":
        return invariants(*args)
    if cmd == "newest":
        return newest(*args)
    if cmd == "repo":
        return repo(*args)
    if cmd == "uuid":
        return uuid_of(*args)
    print("unknown command " + cmd)
    return 2


if __name__ == "__main__":
    sys.exit(main())
