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
    xs = sorted(xs)
    return xs[(len(xs) - 1) // 2] if xs else None  # lower median for even counts, as the other bench


def cmd_report(a):
    meta = {}
    for line in open(a.meta):
        k, v = line.rstrip("\n").split("\t", 1)
        meta[k] = json.loads(v) if v[:1] in "{[" else v
    runs = [json.loads(line) for line in open(a.runs) if line.strip()]
    size = int(meta["size"])
    chain = int(meta["chain"])
    configs = meta["configs"]  # [[key, label], ...] in table order; keys knob-* go to the knob table

    def rows(cfg, test):
        return [r for r in runs if r["config"] == cfg and r["test"] == test]

    def summary(cfg):
        s = {}
        seq, rnd = rows(cfg, "seq"), rows(cfg, "rand")
        if seq:
            s["seq_mbs"] = _med([r["bw_bytes"] / 1e6 for r in seq])
            s["seq_runs"] = ",".join("%.0f" % (r["bw_bytes"] / 1e6) for r in seq)
        if rnd:
            s["iops"] = _med([r["iops"] for r in rnd])
            s["lat"] = _med([r["lat_mean_us"] for r in rnd])
            s["p99"] = _med([r["p99_us"] for r in rnd])
            s["rand_runs"] = ",".join("%.0f" % r["iops"] for r in rnd)
        both = seq + rnd
        if both and "hwm_kib" in both[0]:
            s["hwm_seq"] = max(r["hwm_kib"] for r in seq) / 1024 if seq else None
            s["hwm_rand"] = max(r["hwm_kib"] for r in rnd) / 1024 if rnd else None
            s["cpu_seq"] = _med([r["cpu_s"] for r in seq]) if seq else None
            s["cpu_rand"] = _med([r["cpu_s"] for r in rnd]) if rnd else None
            s["mount_s"] = _med([r["mount_s"] for r in both])
        return s

    labels = {c[0]: c[1] for c in configs}
    S = {k: summary(k) for k in labels}
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
    ev = meta["evolve"]
    cs = meta["chain_stats"]
    one = meta["one_stats"]
    d = meta["diff"]
    w("- Chain: %d deltas (`ddloop create --base PREV NEXT`, 4K chunks, level 3), each made by %d random "
      "4 KiB and %d random 64 KiB writes (4K-aligned; generated log/base64/random data) = %s, %.2f%% of the "
      "image; the %d deltas total %s in %d records (mean data record %s); the 1-delta chain "
      "(`--base BASE FINAL`) is %s in %d records (mean data record %s, records are runs of adjacent changed "
      "chunks up to %s)" % (
          chain, ev["writes_4k"], ev["writes_64k"], _human(ev["bytes"]), 100.0 * ev["bytes"] / size, chain,
          _human(cs["file_size"]), cs["records"], _human(cs["mean_data_record"]), _human(one["file_size"]),
          one["records"], _human(one["mean_data_record"]), _human(one["frame_max"])))
    w("- Final state: **%d of %d 4K blocks differ from the base (%.2f%%, %s)**; the fully applied target "
      "(`ddloop apply` of all %d deltas onto a copy of the base) equals it (`cmp`)" % (
          d["changed_4k"], d["blocks_4k"], 100 * d["changed_fraction"], _human(d["changed_bytes_4k"]), chain))
    w("- Cache: **first-read figures**. Every measurement gets a fresh mount (ddloop or bindfs) and, just "
      "before fio starts, `sync; echo 3 > /proc/sys/vm/drop_caches`: base, deltas and target are read from "
      "the disk, and the FUSE file's page cache starts empty. \"mount s\" is the time `ddloop mount` takes "
      "to return, also after a drop_caches.")
    w("- Reads: fio %s, one job, `--ioengine=psync --direct=0`. Sequential: `--rw=read --bs=1M` of the "
      "whole %s, MB/s (10^6 bytes/s). Random: `--rw=randread --bs=4k --runtime=%s --time_based "
      "--randseed=%s` (same offsets for every reader), IOPS and mean latency (fio's lat, submission to "
      "completion). Median of %s runs (all runs in the runs columns). ddloop mount defaults: `--threads 8 "
      "--cache-size 64M`. Peak RSS is VmHWM of the ddloop process serving the mount, read from "
      "/proc/PID/status just before the unmount (max over runs); CPU s is its utime+stime over the whole "
      "mount (median)." % (meta["fio_version"].replace("fio-", ""), _human(size), meta["runtime"],
                           meta["seed"], meta["repeat"]))
    w("")
    def f1(x, fmt="%.1f"):
        return "—" if x is None else fmt % x

    def table(keys):
        w("| reader | seq 1M MB/s | rand 4K IOPS | rand mean lat µs | rand p99 µs | peak RSS MiB (seq / rand) "
          "| CPU s (seq / rand) | mount s | seq runs MB/s | rand runs IOPS |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
        for key in keys:
            s = S[key]
            w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                labels[key], f1(s.get("seq_mbs"), "%.0f"), f1(s.get("iops"), "%.0f"), f1(s.get("lat"), "%.0f"),
                f1(s.get("p99"), "%.0f"),
                "%s / %s" % (f1(s.get("hwm_seq")), f1(s.get("hwm_rand"))) if "hwm_seq" in s else "—",
                "%s / %s" % (f1(s.get("cpu_seq"), "%.2f"), f1(s.get("cpu_rand"), "%.2f")) if "cpu_seq" in s
                else "—", f1(s.get("mount_s"), "%.2f"), s.get("seq_runs", ""), s.get("rand_runs", "")))
        w("")

    w("### First read of the target volume")
    w("")
    table([k for k in labels if not k.startswith("knob-")])
    knobs = [k for k in labels if k.startswith("knob-")]
    if knobs:
        w("### Tuning knobs (%d-delta chain; first row is the default, `--threads 8 --cache-size 64M`)" % chain)
        w("")
        table(["chainN"] + knobs)
    w("### Goals")
    w("")
    dl, d1, bf = S["chainN"], S["chain1"], S["bindfs"]
    w("| goal | figure | verdict |")
    w("|---|---|---|")

    def met(ok):
        return "met" if ok else "**not met**"
    for key, name in (("chain1", "1-delta"), ("chainN", "%d-delta" % chain)):
        r = S[key]["seq_mbs"] / bf["seq_mbs"]
        w("| ddloop sequential first read ≥ bindfs (%s chain) | %.0f / %.0f MB/s = %.2f× | %s |" % (
            name, S[key]["seq_mbs"], bf["seq_mbs"], r, met(r >= 1.0)))
    r = dl["lat"] / d1["lat"]
    w("| random 4K time, %d-delta / 1-delta chain ≤ 1.2 | %.0f / %.0f µs mean latency = %.2f× (IOPS %.0f vs %.0f) "
      "| %s |" % (chain, dl["lat"], d1["lat"], r, dl["iops"], d1["iops"], met(r <= 1.2)))
    w("| memory of the mount process (reported) | peak RSS %.1f MiB (%d-delta chain), %.1f MiB (1-delta) | — |" % (
        max(dl["hwm_seq"], dl["hwm_rand"]), chain, max(d1["hwm_seq"], d1["hwm_rand"])))
    w("")
    w("For reference: ddloop %d-delta / direct read of the target file: sequential %.2f×, random 4K IOPS %.2f×; "
      "bindfs / direct: sequential %.2f×, random 4K IOPS %.2f×." % (
          chain, dl["seq_mbs"] / S["direct"]["seq_mbs"], dl["iops"] / S["direct"]["iops"],
          bf["seq_mbs"] / S["direct"]["seq_mbs"], bf["iops"] / S["direct"]["iops"]))
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
    r = sub.add_parser("report")
    r.add_argument("meta")
    r.add_argument("runs")
    a = p.parse_args()
    {"evolve": cmd_evolve, "fio-run": cmd_fio_run, "chain-stats": cmd_chain_stats, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
