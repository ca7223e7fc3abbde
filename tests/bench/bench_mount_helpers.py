#!/usr/bin/env python3
"""Helpers for bench-mount.sh: seeded chain changes, fio summaries, report.

Subcommands (deterministic for a given --seed):
  evolve IMG --step K --seed S --fraction F
                              step K of the chain: scattered 4 KiB and 64 KiB
                              writes (4K-aligned, about F of the image in all,
                              half the bytes each) of generated data (the mix
                              of bench_helpers.py: log text, base64, random)
                              straight into IMG; prints one JSON line
  fio-run FIO_JSON            one line of JSON from fio's --output-format=json
  chain-stats                 totals of `ddloop info --json` lines read on stdin
  run-line JSON               one progress line for a run
  report META RUNS            the Markdown section for RESULTS.md
"""
import argparse
import json
import os
import random
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_helpers import content, pick_kind, _human  # noqa: E402  (same directory)


def cmd_evolve(a):
    rng = random.Random(a.seed * 1000003 + a.step * 7919 + 3)
    size = os.path.getsize(a.img)
    budget = int(size * a.fraction)
    out = {"step": a.step}
    fd = os.open(a.img, os.O_WRONLY)
    try:
        for length in (4096, 65536):
            count = max(1, (budget // 2) // length)
            for _ in range(count):
                off = rng.randrange(0, (size - length) // 4096 + 1) * 4096  # 4K-aligned, any 64K phase
                os.pwrite(fd, content(rng, pick_kind(rng), length), off)
            out["writes_%dk" % (length // 1024)] = count
    finally:
        os.close(fd)
    print(json.dumps(out))


def cmd_fio_run(a):
    with open(a.file) as f:
        text = f.read()
    # fio may print notes before the JSON document.
    d = json.loads(text[text.index("{"):])
    r = d["jobs"][0]["read"]
    pct = r.get("clat_ns", {}).get("percentile", {})
    print(json.dumps({
        "bw_bytes": r["bw_bytes"], "iops": r["iops"], "ios": r["total_ios"], "io_bytes": r["io_bytes"],
        "runtime_ms": r["runtime"], "lat_mean_us": r["lat_ns"]["mean"] / 1000.0,
        "p99_us": pct.get("99.000000", 0) / 1000.0,
    }))


def cmd_chain_stats(a):
    t = {"files": 0, "file_size": 0, "records": 0, "data_records": 0, "data_bytes": 0, "payload_bytes": 0,
         "changed_chunks": 0, "frame_max": 0}
    for line in sys.stdin:
        if not line.strip():
            continue
        j = json.loads(line)
        t["files"] += 1
        for k in ("file_size", "records", "data_records", "data_bytes", "payload_bytes", "changed_chunks"):
            t[k] += j[k]
        t["frame_max"] = max(t["frame_max"], j["frame_max"])
    t["mean_data_record"] = t["data_bytes"] / t["data_records"] if t["data_records"] else 0
    print(json.dumps(t))


def _med(xs):
    xs = sorted(x for x in xs if x is not None)
    return xs[(len(xs) - 1) // 2] if xs else None  # lower median for even counts


def cmd_run_line(a):
    r = json.loads(a.json)
    extra = ""
    if "hwm_kib" in r:
        extra = "  rss %.1f MiB cpu %.2f s" % (r["hwm_kib"] / 1024, r["cpu_s"])
    if "mount_s" in r:
        extra += " mount %.2f s" % r["mount_s"]
    print("%-15s %-4s %-4s run %d: %8.1f MB/s %8.0f IOPS lat %7.0f us disk %7.1f MiB%s" % (
        r["config"], r["test"], r["cache"], r["rep"], r["bw_bytes"] / 1e6, r["iops"], r["lat_mean_us"],
        r.get("disk_mib", 0), extra))


def cmd_report(a):
    meta = {}
    for line in open(a.meta):
        k, v = line.rstrip("\n").split("\t", 1)
        meta[k] = json.loads(v) if v[:1] in "{[" else v
    runs = [json.loads(line) for line in open(a.runs) if line.strip()]
    size = int(meta["size"])
    chain = int(meta["chain"])
    labels = {k: v for k, v in meta["configs"]}  # table order; keys knob-* go to the knob table

    def summary(cfg, cache):
        s = {}
        seq = [r for r in runs if r["config"] == cfg and r["cache"] == cache and r["test"] == "seq"]
        rnd = [r for r in runs if r["config"] == cfg and r["cache"] == cache and r["test"] == "rand"]
        if seq:
            s["seq_mbs"] = _med([r["bw_bytes"] / 1e6 for r in seq])
            s["seq_runs"] = ",".join("%.0f" % (r["bw_bytes"] / 1e6) for r in seq)
            s["disk_seq"] = _med([r.get("disk_mib") for r in seq])
        if rnd:
            s["iops"] = _med([r["iops"] for r in rnd])
            s["lat"] = _med([r["lat_mean_us"] for r in rnd])
            s["p99"] = _med([r["p99_us"] for r in rnd])
            s["rand_runs"] = ",".join("%.0f" % r["iops"] for r in rnd)
            s["disk_rand"] = _med([r.get("disk_mib") for r in rnd])
            s["rand_mib"] = _med([r["io_bytes"] / 1048576 for r in rnd])
        if seq and rnd and "hwm_kib" in seq[0]:
            s["hwm"] = max(r["hwm_kib"] for r in seq + rnd) / 1024
            s["hwm_seq"] = max(r["hwm_kib"] for r in seq) / 1024
            s["hwm_rand"] = max(r["hwm_kib"] for r in rnd) / 1024
            s["cpu_seq"] = _med([r["cpu_s"] for r in seq])
            s["cpu_rand"] = _med([r["cpu_s"] for r in rnd])
            s["mount_s"] = _med([r.get("mount_s") for r in seq + rnd])
        return s

    C = {k: summary(k, "cold") for k in labels}
    W = {k: summary(k, "warm") for k in labels}

    def f(x, fmt="%.1f"):
        return "—" if x is None else fmt % x

    def pair(s, a, b, fmt="%.1f"):
        return "%s / %s" % (f(s.get(a), fmt), f(s.get(b), fmt)) if a in s else "—"

    o = []
    w = o.append
    w("## Mount read run %s — %s image, %d-delta chain, seed %s (`bench-mount.sh`)" % (
        meta["date_iso"], _human(size), chain, meta["seed"]))
    w("")
    w("- Date: `%s`" % meta["date"])
    w("- Command: `%s`" % meta["cmdline"])
    w("- Host: %s CPUs (%s), %.1f GiB RAM, %s; backing files on %s; load average before %s, after %s" % (
        meta["nproc"], meta["cpu"], int(meta["mem_kib"]) / 1048576, meta["kernel"], meta["disk"],
        meta["load_before"], meta["load_after"]))
    w("- Tools: %s; %s; %s; libfuse %s" % (meta["ddloop_version"], meta["fio_version"], meta["bindfs_version"],
                                          meta["libfuse_version"]))
    g = meta["gen"]
    w("- Base: %s ext4 image (`mkfs.ext4 -d`, as in bench-create-apply.sh) holding %d generated files, %s "
      "(log text, base64 and random bytes), fully allocated" % (_human(size), g["files"], _human(g["bytes"])))
    ev, cs, one, d = meta["evolve"], meta["chain_stats"], meta["one_stats"], meta["diff"]
    w("- Chain: %d deltas (`ddloop create --base PREV NEXT`, default 4K chunks, level 3), each made by %d random "
      "4 KiB and %d random 64 KiB writes (4K-aligned; generated log/base64/random data) = %s, %.2f%% of the "
      "image; together %s in %d records (mean DATA record %s). The 1-delta chain (`create --base BASE FINAL`) "
      "is %s in %d records (mean DATA record %s; a record is a run of adjacent changed chunks, at most %s)" % (
          chain, ev["writes_4k"], ev["writes_64k"], _human(ev["bytes"]), 100.0 * ev["bytes"] / size,
          _human(cs["file_size"]), cs["records"], _human(cs["mean_data_record"]), _human(one["file_size"]),
          one["records"], _human(one["mean_data_record"]), _human(one["frame_max"])))
    w("- Final state: **%d of %d 4K blocks differ from the base (%.2f%%, %s)**; the fully applied target "
      "(`ddloop apply` of all %d deltas onto a copy of the base) equals it (`cmp`)" % (
          d["changed_4k"], d["blocks_4k"], 100 * d["changed_fraction"], _human(d["changed_bytes_4k"]), chain))
    w("- Cache: every run gets a fresh mount (ddloop or bindfs), so the FUSE file's page cache starts empty. "
      "**Cold = first-read figures**: `sync; echo 3 > /proc/sys/vm/drop_caches` just before fio, so base, "
      "deltas and target come from the disk. Warm: the backing files (base + deltas, or the target) are read "
      "once with `cat` before fio, so only FUSE and ddloop's own work are measured. \"mount s\" is the time "
      "`ddloop mount` takes to return (after a drop_caches in the cold runs). \"read from disk MiB\" "
      "(cold runs) is how much of the backing files (base + deltas, or the target) was in the page cache "
      "after the fio run (`fincore`), i.e. what the reader fetched from the disk, readahead included. The "
      "FUSE mounts' read_ahead_kb (bdi) was %s; the disk's is in the Host line." % meta.get("fuse_ra_kb", "?"))
    w("- Reads: fio %s, one job, `--ioengine=psync --direct=0`. Sequential: `--rw=read --bs=1M` of the "
      "whole %s, MB/s (10^6 bytes/s). Random: `--rw=randread --bs=4k --io_size=%s --runtime=%s "
      "--randseed=%s`: distinct 4K blocks at the same offsets for every reader, no block twice (fio's random "
      "map), stopping after %s or %s s; IOPS and mean / p99 latency (fio's lat, submission to completion). "
      "Median of %s runs (all runs in the runs columns). ddloop mount uses its defaults, `--threads 8 "
      "--cache-size 64M`, except in the knob rows. Peak RSS is VmHWM of the ddloop process serving the mount "
      "(or bindfs) from /proc/PID/status just before the unmount (max over runs); CPU s is that process's "
      "utime+stime over the whole mount (median)." % (
          meta["fio_version"].replace("fio-", ""), _human(size), meta["rand_io"], meta["runtime"], meta["seed"],
          _human(int(meta["rand_io"])), meta["runtime"], meta["repeat"]))
    w("")

    def table(S, keys, cold):
        head = ["reader", "seq 1M MB/s", "rand 4K IOPS", "rand mean lat µs", "rand p99 µs"]
        if cold:
            head.append("read from disk MiB (seq / rand)")
        head += ["peak RSS MiB (seq / rand)", "CPU s (seq / rand)"]
        if cold:
            head.append("mount s")
        head += ["seq runs MB/s", "rand runs IOPS"]
        w("| " + " | ".join(head) + " |")
        w("|---|" + "---:|" * (len(head) - 3) + "---|---|")
        for key in keys:
            s = S[key]
            row = [labels[key], f(s.get("seq_mbs"), "%.0f"), f(s.get("iops"), "%.0f"), f(s.get("lat"), "%.0f"),
                   f(s.get("p99"), "%.0f")]
            if cold:
                row.append(pair(s, "disk_seq", "disk_rand", "%.0f"))
            row += [pair(s, "hwm_seq", "hwm_rand"), pair(s, "cpu_seq", "cpu_rand", "%.2f")]
            if cold:
                row.append(f(s.get("mount_s"), "%.2f"))
            row += [s.get("seq_runs", ""), s.get("rand_runs", "")]
            w("| " + " | ".join(row) + " |")
        w("")

    main = [k for k in labels if not k.startswith("knob-")]
    knobs = [k for k in labels if k.startswith("knob-")]
    w("### First read (cold: caches dropped, fresh mount)")
    w("")
    table(C, main, True)
    w("### Backing files in the page cache (warm; fresh mount, FUSE page cache empty)")
    w("")
    table(W, main, False)
    if knobs:
        w("### Tuning knobs (%d-delta chain; the first rows are the defaults, `--threads 8 --cache-size 64M`)" %
          chain)
        w("")
        w("Cold:")
        w("")
        table(C, ["chainN"] + knobs, True)
        w("Warm:")
        w("")
        table(W, ["chainN"] + knobs, False)

    w("### Goals")
    w("")
    w("| goal | cold (first read) | verdict | warm | verdict |")
    w("|---|---|---|---|---|")

    def met(ok):
        return "met" if ok else "**not met**"
    for key, name in (("chain1", "1-delta"), ("chainN", "%d-delta" % chain)):
        cells = []
        for S in (C, W):
            r = S[key]["seq_mbs"] / S["bindfs"]["seq_mbs"]
            cells += ["%.0f / %.0f MB/s = %.2f×" % (S[key]["seq_mbs"], S["bindfs"]["seq_mbs"], r), met(r >= 1.0)]
        w("| ddloop sequential read ≥ bindfs (%s chain) | %s |" % (name, " | ".join(cells)))
    cells = []
    for S in (C, W):
        r = S["chainN"]["lat"] / S["chain1"]["lat"]
        cells += ["%.0f / %.0f µs mean = %.2f× (IOPS %.0f vs %.0f)" % (
            S["chainN"]["lat"], S["chain1"]["lat"], r, S["chainN"]["iops"], S["chain1"]["iops"]), met(r <= 1.2)]
    w("| random 4K time, %d-delta / 1-delta chain ≤ 1.2 | %s |" % (chain, " | ".join(cells)))
    w("| memory of the mount process (reported) | peak RSS %.1f MiB (%d-delta), %.1f MiB (1-delta) | — | "
      "%.1f MiB, %.1f MiB | — |" % (C["chainN"]["hwm"], chain, C["chain1"]["hwm"], W["chainN"]["hwm"],
                                    W["chain1"]["hwm"]))
    w("")
    w("For reference, against the target file read directly: ddloop %d-delta chain sequential %.2f× cold, "
      "%.2f× warm; random 4K IOPS %.2f× cold, %.2f× warm. bindfs: sequential %.2f× cold, %.2f× warm; random 4K "
      "IOPS %.2f× cold, %.2f× warm." % (
          chain, C["chainN"]["seq_mbs"] / C["direct"]["seq_mbs"], W["chainN"]["seq_mbs"] / W["direct"]["seq_mbs"],
          C["chainN"]["iops"] / C["direct"]["iops"], W["chainN"]["iops"] / W["direct"]["iops"],
          C["bindfs"]["seq_mbs"] / C["direct"]["seq_mbs"], W["bindfs"]["seq_mbs"] / W["direct"]["seq_mbs"],
          C["bindfs"]["iops"] / C["direct"]["iops"], W["bindfs"]["iops"] / W["direct"]["iops"]))
    w("")
    w("### What limits the figures")
    w("")
    w("_To be filled in by whoever ran this section (see README.md)._")
    print("\n".join(o))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("evolve")
    e.add_argument("img")
    e.add_argument("--step", type=int, required=True)
    e.add_argument("--seed", type=int, default=1)
    e.add_argument("--fraction", type=float, default=0.002)
    f = sub.add_parser("fio-run")
    f.add_argument("file")
    sub.add_parser("chain-stats")
    rl = sub.add_parser("run-line")
    rl.add_argument("json")
    r = sub.add_parser("report")
    r.add_argument("meta")
    r.add_argument("runs")
    a = p.parse_args()
    {"evolve": cmd_evolve, "fio-run": cmd_fio_run, "chain-stats": cmd_chain_stats, "run-line": cmd_run_line,
     "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
