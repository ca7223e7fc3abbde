#!/usr/bin/env python3
"""bench_volume_helpers.py - helpers of bench-volume.sh.

  write-chunks DEV --count N --span BYTES --seed S [--chunk 4096]
      writes N distinct, seeded chunks of random bytes at chunk-aligned
      offsets in [0, span) of DEV, then fsyncs; the same arguments give the
      same offsets and bytes on any device. Prints the offsets' spread.
  fio-summary JSON
      prints "bw_MBps iops runtime_s" of the first job's writes.
  report META RUNS
      META: key<TAB>value lines; RUNS: one JSON object per measurement.
      Prints the Markdown section for RESULTS.md.
"""
import json
import os
import random
import statistics
import sys


def write_chunks(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="write-chunks")
    ap.add_argument("dev")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--span", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--chunk", type=int, default=4096)
    a = ap.parse_args(argv)
    rng = random.Random(a.seed)
    chunks = sorted(rng.sample(range(a.span // a.chunk), a.count))
    fd = os.open(a.dev, os.O_WRONLY)
    try:
        for c in chunks:
            data = rng.getrandbits(8 * a.chunk).to_bytes(a.chunk, "little")
            if os.pwrite(fd, data, c * a.chunk) != a.chunk:
                sys.exit("write-chunks: short write")
        os.fsync(fd)
    finally:
        os.close(fd)
    print("%d chunks, offsets %d..%d MiB" % (len(chunks), chunks[0] * a.chunk >> 20, chunks[-1] * a.chunk >> 20))


def fio_summary(path):
    with open(path) as f:
        text = f.read()
    j = json.loads(text[text.index("{"):])  # fio may print notes before the JSON
    w = j["jobs"][0]["write"]
    print("%.1f %.0f %.2f" % (w["bw_bytes"] / 1e6, w["iops"], w["runtime"] / 1000.0))


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def report(meta_path, runs_path):
    meta = {}
    with open(meta_path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    runs = []
    with open(runs_path) as f:
        for line in f:
            if line.strip():
                runs.append(json.loads(line))

    def sel(**kw):
        return [r for r in runs if all(r.get(k) == v for k, v in kw.items())]

    out = []
    p = out.append
    p("")
    p("## %s — bench-volume.sh: ddloop volumes (delta time vs volume size, writes vs a loop device, metadata size)" %
      meta.get("date_iso", "?"))
    p("")
    p("Command: `%s`" % meta.get("cmdline", "?"))
    p("")
    p("Machine: %s cores (%s), %s MiB RAM, %s; scratch on %s; load before %s, after %s. ddloop %s; %s." % (
        meta.get("nproc"), meta.get("cpu"), int(meta.get("mem_kib", "0")) // 1024, meta.get("kernel"),
        meta.get("disk"), meta.get("load_before"), meta.get("load_after"), meta.get("ddloop_version"),
        meta.get("fio_version")))
    p("")

    # 1. delta
    p("### 1. `ddloop volume delta` of the same %s changed 4 KiB chunks: small vs large volume" % meta.get("changed"))
    p("")
    p("Each volume: `ddloop volume create --size N`, `ddloop snapshot create VOL a`, attach, the same %s seeded "
      "chunks written (distinct 4K-aligned offsets, random bytes, `write-chunks`), detach, "
      "`ddloop snapshot create VOL b`; then %s rounds of `ddloop volume delta VOL --from a --to b -o OUT --json` "
      "on the three volumes in turn (output removed before each run; page cache warm; the output is fsynced "
      "and renamed by ddloop). Wall clock from `date +%%s%%N` around the process, CPU = user+sys of GNU time; "
      "medians." % (
          meta.get("changed"), meta.get("delta_repeat")))
    p("")
    p("| volume | chunks written over | wall ms (median) | CPU ms (median) | runs, wall ms | delta bytes | "
      "changed_chunks | peak RSS MiB |")
    p("|---|---|---:|---:|---|---:|---:|---:|")
    rows, cpu = {}, {}
    for tag in ("small", "large", "large-spread"):
        rs = sel(kind="delta", tag=tag)
        if not rs:
            continue
        ms = [r["ms"] for r in rs]
        rows[tag] = med(ms)
        cpu[tag] = med([r["cpu_ms"] for r in rs])
        p("| %s | %s | %.1f | %.0f | %s | %d | %d | %.1f |" % (
            rs[0]["label"], rs[0]["span"], med(ms), cpu[tag], ",".join("%.0f" % x for x in ms), rs[-1]["file_size"],
            rs[-1]["changed_chunks"], max(r["rss_kib"] for r in rs) / 1024.0))
    p("")

    # 2. writes
    p("### 2. Write throughput: attached volume vs a loop device over a plain image file (%s each)" %
      meta.get("io_size_h"))
    p("")
    p("Each run gets a fresh device: `ddloop volume create --size %s` + `ddloop volume attach`, versus "
      "`truncate -s %s` + `losetup -f --show` (both sparse, so both allocate on first write). fio %s, "
      "one job, `--ioengine=psync --direct=1` on the device (no page cache of the loop device itself; the "
      "loop driver writes to its backing file, the image or the FUSE file, through the page cache):" % (
          meta.get("io_size_h"), meta.get("io_size_h"), meta.get("fio_version")))
    p("")
    p("- sequential: `--rw=write --bs=1M --size=%s --end_fsync=1`; MB/s = bytes / wall time of the fio "
      "process, so the final fsync (all dirty data to the disk) is inside the figure;" % meta.get("io_size_h"))
    p("- random: `--rw=randwrite --bs=4k --fsync=%s --end_fsync=1 --io_size=%s --runtime=%s "
      "--randrepeat=1 --randseed=%s` (an fsync after every %s writes, so each batch reaches the disk); "
      "IOPS as fio reports them (writes only; the fsyncs' time is inside the run)." % (
          meta.get("rand_fsync"), meta.get("rand_io_h"), meta.get("rand_runtime"), meta.get("seed"),
          meta.get("rand_fsync")))
    p("")
    p("Median of %s runs; the order volume/loop alternates between runs." % meta.get("io_repeat"))
    p("")
    p("| workload | loop over image | ddloop volume | volume / loop | runs (loop) | runs (volume) |")
    p("|---|---:|---:|---:|---|---|")
    ratios = {}
    for wl, unit, key in (("seq", "MB/s", "mbps"), ("rand", "IOPS", "iops")):
        lo = [r[key] for r in sel(kind="io", workload=wl, dev="loop")]
        vo = [r[key] for r in sel(kind="io", workload=wl, dev="volume")]
        if not lo or not vo:
            continue
        ratios[wl] = med(vo) / med(lo)
        name = "sequential 1M writes" if wl == "seq" else "random 4K writes"
        p("| %s (%s) | %.0f | %.0f | %.2f | %s | %s |" % (
            name, unit, med(lo), med(vo), ratios[wl], ",".join("%.0f" % x for x in lo),
            ",".join("%.0f" % x for x in vo)))
    p("")

    # 3. metadata
    p("### 3. Metadata per GiB of changed data")
    p("")
    p("A fresh %s volume, attached; fio writes as in 2; then `ddloop snapshot create` (through the attached "
      "volume's control socket) and detach. Metadata = manifest + `*.idx` + `*.jnl` (apparent sizes; "
      "allocated in brackets), divided by the changed data (the snapshot's chunk count x 4 KiB)." %
      meta.get("io_size_h"))
    p("")
    p("| writes | changed chunks | manifest B | *.idx B | *.jnl B | total B [allocated] | per GiB changed |")
    p("|---|---:|---:|---:|---:|---:|---:|")
    for r in sel(kind="meta"):
        gib = r["chunks"] * 4096 / float(1 << 30)
        tot = r["manifest"] + r["idx"] + r["jnl"]
        p("| %s | %d | %d | %d | %d | %d [%d] | %.2f MiB |" % (
            r["label"], r["chunks"], r["manifest"], r["idx"], r["jnl"], tot, r["allocated"],
            tot / gib / 1048576.0 if gib else float("nan")))
    p("")

    p("### Goals")
    p("")
    p("| goal | measured | verdict |")
    p("|---|---|---|")
    if "small" in rows and "large" in rows:
        r = rows["large"] / rows["small"]
        p("| delta time, %s / %s volume ≤ 1.3 | %.1f / %.1f ms = %.2f× (CPU %.0f / %.0f ms) | %s |" % (
            meta.get("large_h"), meta.get("small_h"), rows["large"], rows["small"], r, cpu["large"], cpu["small"],
            "met" if r <= 1.3 else "**not met**"))
    if "large-spread" in rows and "small" in rows:
        r = rows["large-spread"] / rows["small"]
        p("| (extra) same count spread over the whole %s / %s ≤ 1.3 | %.1f / %.1f ms = %.2f× (CPU %.0f / %.0f ms) | %s |" % (
            meta.get("large_h"), meta.get("small_h"), rows["large-spread"], rows["small"], r, cpu["large-spread"],
            cpu["small"],
            "met" if r <= 1.3 else "**not met**"))
    if "seq" in ratios:
        p("| sequential write, volume / loop ≥ 0.5 | %.2f× | %s |" % (
            ratios["seq"], "met" if ratios["seq"] >= 0.5 else "**not met**"))
    if "rand" in ratios:
        p("| random 4K write, volume / loop (reported) | %.2f× | — |" % ratios["rand"])
    p("")
    p("### What limits the figures")
    p("")
    p("(fill in by hand from what you saw)")
    print("\n".join(out))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "write-chunks":
        write_chunks(rest)
    elif cmd == "fio-summary":
        fio_summary(rest[0])
    elif cmd == "report":
        report(rest[0], rest[1])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
