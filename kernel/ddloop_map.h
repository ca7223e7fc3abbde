/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ddloop_map.h - the pure parts of ddloop.ko: the bounds of a delta's
 * footer and index entries, and the merge of a delta's records into the
 * device's extent map.
 *
 * One source for two builds: kernel/ddloop.c includes it, and so does the
 * userspace harness tests/kernel/extent_map_harness.c, which runs these very
 * functions under ASan/UBSan on real and adversarial chains. Nothing here
 * touches files or locks. It needs u16/u32/u64, U64_MAX, DIV_ROUND_UP,
 * check_add_overflow, check_mul_overflow, kvmalloc_array, kvfree and the
 * errno values: from the kernel headers below, or from the harness's
 * tests/kernel/kshim.h, included first.
 */
#ifndef DDLOOP_MAP_H
#define DDLOOP_MAP_H

#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/types.h>
#endif

#include "deltafile/deltafile_format.h"

/*
 * Records per delta the driver loads: 32 bytes each of index, so at most
 * 1 GiB (kvmalloc refuses more than INT_MAX bytes). With the writer's
 * records of up to 256 KiB that is far beyond any real delta; a delta of
 * scattered 4 KiB changes reaches it at 128 GiB of changes.
 */
#define DDLOOP_MAX_RECORDS (1u << 25)
/* Extents in a device's merged map: 24 bytes each, at most 1.5 GiB. */
#define DDLOOP_MAX_EXTENTS (1ull << 26)

/* One record of one delta, from its on-disk index. */
struct ddloop_rec {
	u64 file_offset;
	u64 offset;
	u64 length;
	u32 record_size;
	u16 type;
	u16 codec;
};

/* A run [start, end) of volume bytes served by record rec of delta delta. */
struct ddloop_extent {
	u64 start;
	u64 end;
	u32 delta;
	u32 rec;
};

/* What a delta's header says, as far as its index entries depend on it. */
struct ddloop_geom {
	u64 volume_size;
	u32 chunk_shift; /* DDL_CHUNK_SHIFT_MIN..MAX, checked by the caller */
	u32 frame_max;   /* <= DDL_FRAME_MAX_LIMIT, checked by the caller */
	bool zstd;       /* incompat bit ZSTD: codec 1 allowed */
};

/* The footer's fields that locate the index. */
struct ddloop_footer_vals {
	u64 index_offset;
	u64 index_blocks;
	u64 record_count;
	u64 end_offset;
};

/*
 * Checks the footer against the file size and the header, before anything
 * is allocated for its records: index_offset = end_offset + 64,
 * index_blocks = ceil(record_count / 127), index_offset + 4096 *
 * index_blocks + 128 = file size, every sum checked for wrap. record_count
 * is bounded three ways: each record takes at least 64 bytes between the
 * header and END (so <= (end_offset - 512) / 64, which the file size
 * bounds), records are disjoint, non-empty and 512-aligned (so <=
 * volume_size / 512), and <= DDLOOP_MAX_RECORDS. Returns 0 or -EINVAL.
 */
static inline int ddloop_check_footer(const struct ddloop_footer_vals *f, u64 fsize, u64 volume_size)
{
	u64 want_index, index_bytes, end;

	if (f->record_count > DDLOOP_MAX_RECORDS || f->end_offset < DDL_HEADER_SIZE ||
	    f->record_count > (f->end_offset - DDL_HEADER_SIZE) / DDL_RECORD_SIZE ||
	    f->record_count > volume_size / 512 ||
	    f->index_blocks != DIV_ROUND_UP(f->record_count, DDL_INDEX_PER_BLOCK))
		return -EINVAL;
	if (check_add_overflow(f->end_offset, (u64)DDL_RECORD_SIZE, &want_index) ||
	    want_index != f->index_offset)
		return -EINVAL;
	if (check_mul_overflow(f->index_blocks, (u64)DDL_INDEX_BLOCK_SIZE, &index_bytes) ||
	    check_add_overflow(f->index_offset, index_bytes, &end) ||
	    check_add_overflow(end, (u64)DDL_FOOTER_SIZE, &end) || end != fsize)
		return -EINVAL;
	return 0;
}

/* Largest record_size of any valid record: header, 65536 hashes, payload. */
#define DDLOOP_RECORD_SIZE_MAX \
	((u64)DDL_RECORD_SIZE + (u64)DDL_HASH_SIZE * DDL_MAX_RECORD_HASHES + DDL_FRAME_MAX_LIMIT + 4096)

/*
 * Checks index entry r (the n-th, prev the one before it or NULL) against
 * the format's rules that the driver relies on, before anything is sized
 * by it: it starts at file offset expect and ends by end_offset (no wrap);
 * offset and length are 512-aligned, non-empty, inside the volume, after
 * the previous record; DATA or ZERO; and record_size = 64 + 16 * nhash +
 * payload_size with nhash = ceil((offset+length)/C) - ceil(offset/C) <=
 * 65536 and payload_size 0 for ZERO, = length for raw DATA, 1..length+4096
 * for zstd DATA (length <= frame_max). So record_size <=
 * DDLOOP_RECORD_SIZE_MAX (about 1.3 MiB), which bounds the buffer a read
 * of the record allocates. Returns 0 or -EINVAL.
 */
static inline int ddloop_check_entry(const struct ddloop_rec *r, const struct ddloop_rec *prev, u64 expect,
				     u64 end_offset, const struct ddloop_geom *g)
{
	u64 end, rec_end, nhash, fixed, payload;

	if (r->file_offset != expect || r->record_size < DDL_RECORD_SIZE ||
	    check_add_overflow(r->file_offset, (u64)r->record_size, &rec_end) || rec_end > end_offset)
		return -EINVAL;
	if (!r->length || r->offset % 512 || r->length % 512 || r->offset >= g->volume_size ||
	    r->length > g->volume_size - r->offset)
		return -EINVAL;
	if (prev && r->offset < prev->offset + prev->length) /* prev was checked: no wrap */
		return -EINVAL;
	end = r->offset + r->length; /* <= volume_size */
	nhash = ((end + (1ull << g->chunk_shift) - 1) >> g->chunk_shift) -
		((r->offset + (1ull << g->chunk_shift) - 1) >> g->chunk_shift);
	if (nhash > DDL_MAX_RECORD_HASHES)
		return -EINVAL;
	fixed = DDL_RECORD_SIZE + DDL_HASH_SIZE * nhash;
	if (r->record_size < fixed)
		return -EINVAL;
	payload = r->record_size - fixed;
	switch (r->type) {
	case DDL_REC_ZERO:
		return payload == 0 ? 0 : -EINVAL;
	case DDL_REC_DATA:
		if (r->length > g->frame_max)
			return -EINVAL;
		if (r->codec == DDL_CODEC_NONE)
			return payload == r->length ? 0 : -EINVAL;
		if (r->codec == DDL_CODEC_ZSTD && g->zstd)
			return payload >= 1 && payload <= r->length + 4096 ? 0 : -EINVAL;
		return -EINVAL;
	default:
		return -EINVAL;
	}
}

/*
 * How many extents overlaying nrec records on a map of old extents can
 * make, at most:
 *
 * The records are sorted and disjoint, so they cut the line into nrec + 1
 * gaps g_0 < g_1 < ... < g_nrec (before the first record, between two,
 * after the last; possibly empty). The new map is the records themselves
 * (nrec extents) plus what survives of the old extents: the non-empty
 * intersections of an old extent with a gap. An old extent and a gap are
 * intervals, so each pair (old extent, gap) gives at most one piece.
 * Walk the pieces in address order: the next piece's old extent and gap
 * are each the same as the previous one's or later, and not both the same
 * (that would be the same piece), so from one piece to the next the old
 * index or the gap index goes up by at least one. From the first piece
 * to the last they go up by at most (old - 1) + nrec in all, so there are
 * at most old + nrec pieces. Hence
 *
 *     new map <= old + nrec + nrec = old + 2 * nrec,
 *
 * and it is tight: one old extent with nrec records strictly inside it
 * becomes nrec + 1 pieces plus nrec records. (The bound this replaced,
 * 2 * old + nrec + 1, is 6 for that case with old = 1, nrec = 3, which
 * makes 7: the issue-12 heap overflow.)
 *
 * Second bound: all boundaries are multiples of 512 (records are checked
 * to be 512-aligned here, old extents were made from such records), and
 * the extents are disjoint and non-empty inside [0, volume_size), so there
 * are at most volume_size / 512 of them. The capacity is the smaller one.
 */
static inline int ddloop_map_bound(u64 old, u32 nrec, u64 volume_size, u64 max_extents, u64 *cap)
{
	u64 twice, bound;

	if (check_mul_overflow((u64)nrec, (u64)2, &twice) || check_add_overflow(old, twice, &bound))
		return -E2BIG;
	if (bound > volume_size / 512)
		bound = volume_size / 512;
	if (bound > max_extents)
		return -E2BIG;
	*cap = bound;
	return 0;
}

/*
 * Overlays delta d's records on the map *ext of *next extents (sorted,
 * disjoint): one linear merge, the new map replaces the old one. The
 * records must be non-empty, 512-aligned, sorted, disjoint and inside
 * [0, volume_size) (checked here again: -EINVAL, map unchanged). -E2BIG
 * when the bound exceeds max_extents, -ENOMEM. May sleep.
 */
static inline int ddloop_overlay(struct ddloop_extent **ext, u64 *next, const struct ddloop_rec *recs, u32 nrec,
				 u32 d, u64 volume_size, u64 max_extents)
{
	const struct ddloop_extent *old = *ext;
	struct ddloop_extent *out;
	u64 i = 0, o = 0, cap, gap_start = 0;
	u32 j;
	int err;

	for (j = 0; j < nrec; j++) {
		if (!recs[j].length || recs[j].offset % 512 || recs[j].length % 512 ||
		    recs[j].offset >= volume_size || recs[j].length > volume_size - recs[j].offset ||
		    (j && recs[j].offset < recs[j - 1].offset + recs[j - 1].length))
			return -EINVAL;
	}
	err = ddloop_map_bound(*next, nrec, volume_size, max_extents, &cap);
	if (err)
		return err;
	out = kvmalloc_array(cap ? cap : 1, sizeof(*out), GFP_KERNEL | __GFP_NOWARN);
	if (!out)
		return -ENOMEM;
	/* Gap j is [gap_start, offset of record j), the last gap ends at U64_MAX. */
	for (j = 0; j <= nrec; j++) {
		u64 gap_end = j < nrec ? recs[j].offset : U64_MAX;

		/* the pieces of old extents in this gap: each one advances i or ends the gap */
		while (i < *next && old[i].start < gap_end) {
			u64 s = old[i].start > gap_start ? old[i].start : gap_start;
			u64 e = old[i].end < gap_end ? old[i].end : gap_end;

			if (s < e) {
				if (o == cap)
					goto overflow;
				out[o++] = (struct ddloop_extent){ .start = s, .end = e, .delta = old[i].delta,
								   .rec = old[i].rec };
			}
			if (old[i].end > gap_end)
				break; /* it goes on past this gap: its tail may land in the next */
			i++;
		}
		if (j == nrec)
			break;
		if (o == cap)
			goto overflow;
		out[o++] = (struct ddloop_extent){ .start = recs[j].offset,
						   .end = recs[j].offset + recs[j].length,
						   .delta = d,
						   .rec = j };
		gap_start = recs[j].offset + recs[j].length;
	}
	kvfree(*ext);
	*ext = out;
	*next = o;
	return 0;
overflow:
	/* unreachable if the proof above holds; refuse rather than overrun */
	kvfree(out);
	return -EOVERFLOW;
}

#endif /* DDLOOP_MAP_H */
