#!/usr/bin/env python3
"""hostile_delta.py - makes a deltafile that lies, from a real one, with every
checksum right (except the whole-file one), as a sparse file:

  count IN OUT   the footer (and END record) claim 127 * 2^28 records, with
                 an index of 2^28 blocks (1 TiB, all holes)
  record IN OUT  the index entry of the first DATA record claims a record of
                 0xF9999999 bytes (3.9 GiB); the records after it move up,
                 the gap is a hole

Used by test-hostile-delta.sh. xxh64 (seed 0) is written out here so that the
test needs nothing but python3.
"""
import struct
import sys

M = (1 << 64) - 1
P1, P2, P3, P4, P5 = (11400714785074694791, 14029467366897019727, 1609587929392839161,
                      9650029242287828579, 2870177450012600261)


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M


def rnd(acc, lane):
    return (rotl((acc + lane * P2) & M, 31) * P1) & M


def xxh64(b):
    n, i = len(b), 0
    if n >= 32:
        v = [(P1 + P2) & M, P2, 0, (-P1) & M]
        while i + 32 <= n:
            for k in range(4):
                v[k] = rnd(v[k], struct.unpack_from('<Q', b, i + 8 * k)[0])
            i += 32
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M
        for k in range(4):
            h = ((h ^ rnd(0, v[k])) * P1 + P4) & M
    else:
        h = P5
    h = (h + n) & M
    while i + 8 <= n:
        h = (rotl(h ^ rnd(0, struct.unpack_from('<Q', b, i)[0]), 27) * P1 + P4) & M
        i += 8
    if i + 4 <= n:
        h = (rotl(h ^ (struct.unpack_from('<I', b, i)[0] * P1 & M), 23) * P2 + P3) & M
        i += 4
    while i < n:
        h = (rotl(h ^ (b[i] * P5 & M), 11) * P1) & M
        i += 1
    h ^= h >> 33
    h = (h * P2) & M
    h ^= h >> 29
    h = (h * P3) & M
    return h ^ (h >> 32)


def end_record(end, seq):
    e = bytearray(end)
    struct.pack_into('<Q', e, 8, seq)
    struct.pack_into('<Q', e, 56, xxh64(bytes(e[:56])))
    return bytes(e)


def index_block(no, at, entries):
    b = bytearray(4096)
    struct.pack_into('<IIQQ', b, 0, 0x58444944, len(entries), no, at)
    for k, e in enumerate(entries):
        struct.pack_into('<QQQIHH', b, 24 + 32 * k, *e)
    struct.pack_into('<Q', b, 4088, xxh64(bytes(b[:4088])))
    return bytes(b)


def footer(old, index_offset, index_blocks, count, end_offset):
    f = bytearray(old)
    struct.pack_into('<QQQQ', f, 8, index_offset, index_blocks, count, end_offset)
    struct.pack_into('<Q', f, 120, xxh64(bytes(f[:120])))
    return bytes(f)


def main():
    mode, src, dst = sys.argv[1:4]
    d = open(src, 'rb').read()
    assert xxh64(d[:504]) == struct.unpack_from('<Q', d, 504)[0], 'xxh64 is wrong'
    foot = d[-128:]
    index_offset, index_blocks, count, end_offset = struct.unpack_from('<QQQQ', foot, 8)
    end = d[end_offset:end_offset + 64]
    entries = []
    for b in range(index_blocks):
        at = index_offset + 4096 * b
        n = struct.unpack_from('<I', d, at + 4)[0]
        entries += [list(struct.unpack_from('<QQQIHH', d, at + 24 + 32 * k)) for k in range(n)]
    with open(dst, 'wb') as out:
        if mode == 'count':
            count = 127 << 28
            out.write(d[:end_offset])
            out.write(end_record(end, count))
            size = end_offset + 64 + (1 << 28) * 4096 + 128
            out.seek(size - 128)
            out.write(footer(foot, end_offset + 64, 1 << 28, count, end_offset))
        elif mode == 'record':
            k = next(i for i, e in enumerate(entries) if e[4] == 1)  # first DATA record
            grow = 0xF9999999 - entries[k][3]
            out.write(d[:512])
            for i, e in enumerate(entries):
                out.seek(e[2] + (grow if i > k else 0))
                out.write(d[e[2]:e[2] + e[3]])
                if i > k:
                    e[2] += grow
            entries[k][3] = 0xF9999999
            end_offset += grow
            out.seek(end_offset)
            out.write(end)
            index_offset = end_offset + 64
            for b in range(index_blocks):
                out.write(index_block(b, index_offset + 4096 * b, entries[127 * b:127 * b + 127]))
            out.write(footer(foot, index_offset, index_blocks, count, end_offset))
        else:
            sys.exit('usage: hostile_delta.py count|record IN OUT')


main()
