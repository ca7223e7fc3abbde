/*
 * extent_map_harness.c - the driver's extent-map merge and index bounds
 * (kernel/ddloop_map.h, the very source ddloop.ko compiles) run in
 * userspace under ASan/UBSan.
 *
 *   extent_map_harness                       adversarial and random chains
 *   extent_map_harness --chain BASE|- TARGET DELTA...
 *                                            a real chain made by ddloop create
 *
 * Every merge is checked against a reference that paints each 512-byte
 * sector with the last record covering it: the map must be sorted,
 * disjoint, 512-aligned, each extent inside the record it names, cover
 * exactly the painted sectors with the same owners, and hold at most
 * old + 2 * nrec extents. --chain also loads each delta's footer and index
 * through ddloop_check_footer/ddloop_check_entry, reads the volume through
 * the map (base or zeros in gaps, ZERO records, DATA records decoded with
 * zstd) and compares it with TARGET byte for byte.
 *
 * Prints "ok ..." or "FAIL ..." lines; exit 0 when nothing failed, 1
 * otherwise, 2 on a usage or I/O error. A heap overflow in the merge is an
 * ASan report and a nonzero exit.
 */
#define _GNU_SOURCE
#include "tests/kernel/kshim.h"

#include "kernel/ddloop_map.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

static int failures, checks;

static void report(bool good, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (!good)
		failures++;
	printf(good ? "ok   " : "FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* ---- a chain in memory, and the reference --------------------------------- */

#define MAX_DELTAS 16

struct chain {
	u64 volume_size;
	u32 ndeltas;
	struct ddloop_rec *recs[MAX_DELTAS];
	u32 nrec[MAX_DELTAS];
	struct ddloop_extent *ext;
	u64 next;
};

static void chain_init(struct chain *c, u64 volume_size)
{
	memset(c, 0, sizeof(*c));
	c->volume_size = volume_size;
}

static void chain_free(struct chain *c)
{
	for (u32 d = 0; d < c->ndeltas; d++)
		free(c->recs[d]);
	kvfree(c->ext);
	c->ext = NULL;
}

/* Owner of each sector after deltas 0..upto: (delta << 32 | rec) + 1, 0 = none. */
static u64 *paint(const struct chain *c, u32 upto)
{
	u64 sectors = c->volume_size / 512;
	u64 *owner = calloc(sectors ? sectors : 1, sizeof(*owner));

	for (u32 d = 0; d <= upto; d++)
		for (u32 j = 0; j < c->nrec[d]; j++)
			for (u64 s = c->recs[d][j].offset / 512; s < (c->recs[d][j].offset + c->recs[d][j].length) / 512; s++)
				owner[s] = (((u64)d << 32) | j) + 1;
	return owner;
}

/* The map after deltas 0..upto against the reference; a message when wrong. */
static const char *check_map(const struct chain *c, u32 upto, char *why, size_t whylen)
{
	u64 sectors = c->volume_size / 512, s = 0, prev_end = 0;
	u64 *owner = paint(c, upto);
	const char *bad = NULL;

	for (u64 k = 0; k < c->next && !bad; k++) {
		const struct ddloop_extent *e = &c->ext[k];
		const struct ddloop_rec *r;

		if (e->start >= e->end || e->start % 512 || e->end % 512 || e->end > c->volume_size ||
		    (k && e->start < prev_end)) {
			snprintf(why, whylen, "extent %llu [%llu, %llu) is empty, unaligned, unsorted or past the end",
				 (unsigned long long)k, (unsigned long long)e->start, (unsigned long long)e->end);
			bad = why;
			break;
		}
		if (e->delta > upto || e->rec >= c->nrec[e->delta]) {
			snprintf(why, whylen, "extent %llu names delta %u record %u, which does not exist",
				 (unsigned long long)k, e->delta, e->rec);
			bad = why;
			break;
		}
		r = &c->recs[e->delta][e->rec];
		if (e->start < r->offset || e->end > r->offset + r->length) {
			snprintf(why, whylen, "extent %llu [%llu, %llu) is outside its record [%llu, +%llu)",
				 (unsigned long long)k, (unsigned long long)e->start, (unsigned long long)e->end,
				 (unsigned long long)r->offset, (unsigned long long)r->length);
			bad = why;
			break;
		}
		for (; s < e->start / 512; s++) /* a gap: nobody owns it */
			if (owner[s]) {
				snprintf(why, whylen, "sector %llu is in a gap of the map but belongs to delta %llu record %llu",
					 (unsigned long long)s, (unsigned long long)((owner[s] - 1) >> 32),
					 (unsigned long long)((owner[s] - 1) & 0xffffffffu));
				bad = why;
				break;
			}
		for (; !bad && s < e->end / 512; s++)
			if (owner[s] != ((((u64)e->delta << 32) | e->rec) + 1)) {
				snprintf(why, whylen, "sector %llu maps to delta %u record %u, the reference says %llu",
					 (unsigned long long)s, e->delta, e->rec, (unsigned long long)owner[s]);
				bad = why;
			}
		prev_end = e->end;
	}
	for (; !bad && s < sectors; s++)
		if (owner[s]) {
			snprintf(why, whylen, "sector %llu after the last extent belongs to a record",
				 (unsigned long long)s);
			bad = why;
		}
	free(owner);
	return bad;
}

/*
 * Adds delta d's records and overlays them; checks the result. want is the
 * exact extent count expected, or -1. Returns false when a check failed.
 */
static bool overlay_checked(struct chain *c, const char *name, struct ddloop_rec *recs, u32 nrec, long long want,
			    bool quiet)
{
	u32 d = c->ndeltas;
	u64 old = c->next, bound;
	char why[256];
	const char *bad;
	int err;

	c->recs[d] = recs;
	c->nrec[d] = nrec;
	c->ndeltas++;
	bound = old + 2ull * nrec;
	err = ddloop_overlay(&c->ext, &c->next, recs, nrec, d, c->volume_size, DDLOOP_MAX_EXTENTS);
	if (err) {
		report(false, "%s: delta %u: ddloop_overlay failed with %d", name, d, err);
		return false;
	}
	bad = check_map(c, d, why, sizeof(why));
	if (!bad && c->next > bound) {
		snprintf(why, sizeof(why), "%llu extents, more than old + 2 * nrec = %llu",
			 (unsigned long long)c->next, (unsigned long long)bound);
		bad = why;
	}
	if (!bad && want >= 0 && c->next != (u64)want) {
		snprintf(why, sizeof(why), "%llu extents, wanted %lld", (unsigned long long)c->next, want);
		bad = why;
	}
	if (bad || !quiet)
		report(!bad, "%s: delta %u (%u records on %llu extents): %s", name, d, nrec,
		       (unsigned long long)old, bad ? bad : "map matches the reference");
	if (!bad && !quiet)
		printf("#    %llu extents, bound old + 2*nrec = %llu\n", (unsigned long long)c->next,
		       (unsigned long long)bound);
	return !bad;
}

static struct ddloop_rec *recs_new(u32 n)
{
	return calloc(n ? n : 1, sizeof(struct ddloop_rec));
}

static void set_rec(struct ddloop_rec *r, u64 offset, u64 length)
{
	r->offset = offset;
	r->length = length;
	r->type = DDL_REC_DATA;
}

/* ---- adversarial chains --------------------------------------------------- */

static void test_issue12(void)
{
	struct chain c;
	struct ddloop_rec *d0 = recs_new(1), *d1 = recs_new(3);

	chain_init(&c, 1 << 20);
	set_rec(&d0[0], 64 << 12, 256 << 10); /* 256 KiB at block 64 */
	set_rec(&d1[0], 68 << 12, 4096);      /* three 4 KiB blocks strictly inside */
	set_rec(&d1[1], 100 << 12, 4096);
	set_rec(&d1[2], 120 << 12, 4096);
	if (overlay_checked(&c, "issue 12 chain", d0, 1, 1, false))
		overlay_checked(&c, "issue 12 chain", d1, 3, 7, false); /* = 1 + 2 * 3: the bound is tight */
	chain_free(&c);
}

/* One extent over the whole volume split by n tiny records: 2n + 1 extents. */
static void test_many_tiny(u32 n)
{
	struct chain c;
	struct ddloop_rec *d0 = recs_new(1), *d1 = recs_new(n);

	chain_init(&c, (u64)(n + 1) * 1024);
	set_rec(&d0[0], 0, c.volume_size);
	for (u32 j = 0; j < n; j++)
		set_rec(&d1[j], 512 + (u64)j * 1024, 512);
	if (overlay_checked(&c, "tiny records splitting one extent", d0, 1, 1, true))
		overlay_checked(&c, "tiny records splitting one extent", d1, n, 2ll * n + 1, false);
	chain_free(&c);
}

/* Adjacent records, records exactly over old extents, at 0 and at the volume end. */
static void test_adjacent_and_ends(void)
{
	struct chain c;
	u64 vol = 64 * 4096;
	struct ddloop_rec *d0 = recs_new(4), *d1 = recs_new(64), *d2 = recs_new(3), *d3 = recs_new(2);

	chain_init(&c, vol);
	set_rec(&d0[0], 0, 4096); /* at 0 */
	set_rec(&d0[1], 4096, 8192); /* adjacent to it */
	set_rec(&d0[2], 20 * 4096, 4096);
	set_rec(&d0[3], vol - 4096, 4096); /* at the volume end */
	overlay_checked(&c, "adjacent and ends", d0, 4, 4, false);
	for (u32 j = 0; j < 64; j++) /* the whole volume, record after record */
		set_rec(&d1[j], (u64)j * 4096, 4096);
	overlay_checked(&c, "adjacent and ends", d1, 64, 64, false);
	set_rec(&d2[0], 0, vol / 2); /* exactly over 32 old extents */
	set_rec(&d2[1], vol / 2, 4096);
	set_rec(&d2[2], vol - 512, 512); /* the last sector */
	overlay_checked(&c, "adjacent and ends", d2, 3, 34, false); /* 2 new, 30 + 1 old pieces, 1 new */
	set_rec(&d3[0], 512, vol - 1024); /* straddles everything but the first and last sector */
	set_rec(&d3[1], vol - 512, 512);
	overlay_checked(&c, "adjacent and ends", d3, 2, 3, false);
	chain_free(&c);
}

/*
 * Max counts: every sector its own record, over maps as fragmented as a
 * volume allows. old + 2 * nrec exceeds volume_size / 512 there, so the
 * capacity is the volume bound: the merge must fit it exactly.
 */
static void test_max_counts(void)
{
	struct chain c;
	u64 vol = 1 << 20, sectors = vol / 512;
	struct ddloop_rec *d0 = recs_new(sectors / 2), *d1 = recs_new(sectors), *d2 = recs_new(sectors);

	chain_init(&c, vol);
	for (u64 s = 0; s < sectors / 2; s++)
		set_rec(&d0[s], s * 1024 + 512, 512); /* every other sector */
	overlay_checked(&c, "max counts", d0, sectors / 2, sectors / 2, false);
	for (u64 s = 0; s < sectors; s++)
		set_rec(&d1[s], s * 512, 512);
	overlay_checked(&c, "max counts", d1, sectors, sectors, false);
	for (u64 s = 0; s < sectors; s++)
		set_rec(&d2[s], s * 512, 512);
	overlay_checked(&c, "max counts", d2, sectors, sectors, false);
	chain_free(&c);
}

static u64 rng_state = 0x9e3779b97f4a7c15ull;

static u64 rnd(u64 n) /* 0..n-1, xorshift64* */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return n ? (rng_state * 0x2545f4914f6cdd1dull) % n : 0;
}

/* Random chains: records of random length with random gaps (0: adjacent). */
static void test_random(int chains)
{
	int good = 0;
	u64 most = 0;

	for (int k = 0; k < chains; k++) {
		struct chain c;
		u64 sectors = 1 + rnd(k % 10 ? 512 : 8192);
		u32 nd = 1 + rnd(8);
		bool all = true;
		char name[64];

		chain_init(&c, sectors * 512);
		snprintf(name, sizeof(name), "random chain %d", k);
		for (u32 d = 0; d < nd && all; d++) {
			u32 cap = 1 + rnd(sectors), n = 0;
			struct ddloop_rec *r = recs_new(cap);
			u64 s = rnd(4); /* sometimes at 0 */
			u64 maxlen = 1 + rnd(d % 2 ? 4 : 64), maxgap = rnd(d % 3 ? 8 : 128);

			while (n < cap && s < sectors) {
				u64 len = 1 + rnd(maxlen);

				if (len > sectors - s)
					len = sectors - s; /* ends at the volume end */
				set_rec(&r[n++], s * 512, len * 512);
				s += len + rnd(maxgap + 1);
			}
			all = overlay_checked(&c, name, r, n, -1, true);
		}
		if (c.next > most)
			most = c.next;
		good += all;
		chain_free(&c);
	}
	report(good == chains, "%d random chains of 1..8 deltas (adjacent, overlapping, inside, at both ends): "
			       "%d match the reference, largest map %llu extents",
	       chains, good, (unsigned long long)most);
}

/* Records the merge must refuse, leaving the map as it was and allocating nothing. */
static void test_refusals(void)
{
	static const struct {
		const char *what;
		u64 o1, l1, o2, l2;
	} cases[] = {
		{ "overlapping records", 0, 8192, 4096, 4096 },
		{ "unsorted records", 8192, 4096, 0, 4096 },
		{ "an unaligned offset", 0, 4096, 8192 + 1, 4096 },
		{ "an unaligned length", 0, 4096, 8192, 4095 },
		{ "an empty record", 0, 4096, 8192, 0 },
		{ "a record past the volume end", 0, 4096, 1 << 20, 512 },
		{ "a record ending past the volume end", 0, 4096, (1 << 20) - 512, 1024 },
		{ "a record whose end wraps", 0, 4096, 8192, 0ull - 8192 },
	};
	struct chain c;
	struct ddloop_rec *d0 = recs_new(1);

	chain_init(&c, 1 << 20);
	set_rec(&d0[0], 0, 1 << 20);
	overlay_checked(&c, "refusals", d0, 1, 1, true);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct ddloop_rec r[2];
		struct ddloop_extent *before = c.ext;
		unsigned long allocs = kshim_allocs;
		int err;

		memset(r, 0, sizeof(r));
		set_rec(&r[0], cases[k].o1, cases[k].l1);
		set_rec(&r[1], cases[k].o2, cases[k].l2);
		err = ddloop_overlay(&c.ext, &c.next, r, 2, 1, c.volume_size, DDLOOP_MAX_EXTENTS);
		report(err == -EINVAL && c.ext == before && c.next == 1 && kshim_allocs == allocs,
		       "refused %s with -EINVAL, map unchanged, nothing allocated (got %d)", cases[k].what, err);
	}
	{
		struct ddloop_rec r[4];
		struct ddloop_extent *before = c.ext;
		unsigned long allocs = kshim_allocs;
		int err;

		for (int k = 0; k < 4; k++)
			set_rec(&r[k], 8192 + k * 8192, 4096);
		/* 1 + 2 * 4 = 9 > 8: refused before any allocation */
		err = ddloop_overlay(&c.ext, &c.next, r, 4, 1, c.volume_size, 8);
		report(err == -E2BIG && c.ext == before && kshim_allocs == allocs,
		       "a map whose bound (9) exceeds max_extents (8) is refused with -E2BIG (got %d)", err);
		err = ddloop_overlay(&c.ext, &c.next, r, 4, 1, c.volume_size, 9);
		report(err == 0 && c.next == 9, "the same map with max_extents 9 is made, 9 extents (got %d, %llu)", err,
		       (unsigned long long)c.next);
	}
	kvfree(c.ext);
	free(d0);
}

/* The capacity at the extremes of its arguments: no wrap, the volume bound, the maximum. */
static void test_bound_extremes(void)
{
	u64 cap = 0;
	int err;

	err = ddloop_map_bound(U64_MAX - 1, UINT32_MAX, U64_MAX, U64_MAX, &cap);
	report(err == -E2BIG, "bound: old 2^64 - 2 plus 2 * (2^32 - 1) records wraps: -E2BIG (got %d)", err);
	err = ddloop_map_bound(0, UINT32_MAX, 1ull << 63, DDLOOP_MAX_EXTENTS, &cap);
	report(err == -E2BIG, "bound: 2 * (2^32 - 1) > DDLOOP_MAX_EXTENTS: -E2BIG (got %d)", err);
	err = ddloop_map_bound(1ull << 40, UINT32_MAX, 1 << 20, DDLOOP_MAX_EXTENTS, &cap);
	report(err == 0 && cap == 2048, "bound: any counts on a 1 MiB volume: the volume bound, 2048 (got %d, %llu)", err,
	       (unsigned long long)cap);
	err = ddloop_map_bound(DDLOOP_MAX_EXTENTS - 2 * (u64)DDLOOP_MAX_RECORDS, DDLOOP_MAX_RECORDS, U64_MAX,
			       DDLOOP_MAX_EXTENTS, &cap);
	report(err == 0 && cap == DDLOOP_MAX_EXTENTS, "bound: exactly DDLOOP_MAX_EXTENTS is allowed (got %d, %llu)", err,
	       (unsigned long long)cap);
}

/* ---- the footer and index bounds ------------------------------------------- */

static void test_footer(void)
{
	const u64 vol = 1 << 30;
	struct ddloop_footer_vals f;
	u64 fsize;
	int err;

	/* a valid footer: 10 records of at least 64 bytes, one index block */
	f = (struct ddloop_footer_vals){ .record_count = 10, .index_blocks = 1, .end_offset = 512 + 10 * 64 };
	f.index_offset = f.end_offset + 64;
	fsize = f.index_offset + 4096 + 128;
	report(ddloop_check_footer(&f, fsize, vol) == 0, "footer: a consistent footer is accepted");

	f.record_count = 11; /* 11 records cannot fit in 10 * 64 bytes */
	report(ddloop_check_footer(&f, fsize, vol) == -EINVAL,
	       "footer: more records than (end_offset - 512) / 64 is refused before any allocation");

	f = (struct ddloop_footer_vals){ .record_count = 3, .index_blocks = 1, .end_offset = 1 << 20 };
	f.index_offset = f.end_offset + 64;
	report(ddloop_check_footer(&f, f.index_offset + 4096 + 128, 1024) == -EINVAL,
	       "footer: more records than volume_size / 512 is refused");

	f = (struct ddloop_footer_vals){ .record_count = DDLOOP_MAX_RECORDS + 1ull,
					 .index_blocks = DIV_ROUND_UP(DDLOOP_MAX_RECORDS + 1ull, 127),
					 .end_offset = 1ull << 40 };
	f.index_offset = f.end_offset + 64;
	report(ddloop_check_footer(&f, f.index_offset + f.index_blocks * 4096 + 128, 1ull << 50) == -EINVAL,
	       "footer: record_count DDLOOP_MAX_RECORDS + 1 is refused, whatever the file size");

	f = (struct ddloop_footer_vals){ .record_count = DDLOOP_MAX_RECORDS,
					 .index_blocks = DIV_ROUND_UP(DDLOOP_MAX_RECORDS, 127),
					 .end_offset = 512 + 64ull * DDLOOP_MAX_RECORDS };
	f.index_offset = f.end_offset + 64;
	report(ddloop_check_footer(&f, f.index_offset + f.index_blocks * 4096 + 128, 1ull << 50) == 0,
	       "footer: record_count DDLOOP_MAX_RECORDS in a file that holds them is accepted");

	f = (struct ddloop_footer_vals){ .record_count = 1ull << 32, .index_blocks = DIV_ROUND_UP(1ull << 32, 127),
					 .end_offset = 1ull << 45 };
	f.index_offset = f.end_offset + 64;
	report(ddloop_check_footer(&f, f.index_offset + f.index_blocks * 4096 + 128, 1ull << 50) == -EINVAL,
	       "footer: record_count 2^32 is refused");

	/* end_offset + 64 wraps to a small index_offset that matches the file size */
	f = (struct ddloop_footer_vals){ .record_count = 1, .index_blocks = 1, .end_offset = U64_MAX - 10 };
	f.index_offset = f.end_offset + 64; /* wraps to 53 */
	err = ddloop_check_footer(&f, f.index_offset + 4096 + 128, vol);
	report(err == -EINVAL, "footer: end_offset + 64 wrapping to %llu is refused (got %d)",
	       (unsigned long long)f.index_offset, err);

	/* index_offset + 4096 * index_blocks + 128 wrapping to the file size */
	f = (struct ddloop_footer_vals){ .record_count = 0, .index_blocks = 0, .end_offset = U64_MAX - 100 };
	f.index_offset = f.end_offset + 64;
	err = ddloop_check_footer(&f, f.index_offset + 128, vol); /* wraps to 91 */
	report(err == -EINVAL, "footer: index_offset + index + 128 wrapping to the file size %llu is refused (got %d)",
	       (unsigned long long)(f.index_offset + 128), err);

	f = (struct ddloop_footer_vals){ .record_count = 0, .index_blocks = 1ull << 52, .end_offset = 512 };
	f.index_offset = 576;
	report(ddloop_check_footer(&f, 576 + 128, vol) == -EINVAL,
	       "footer: index_blocks 2^52 (not ceil(record_count / 127)) is refused");
}

static void test_entries(void)
{
	const struct ddloop_geom g = { .volume_size = 1ull << 40, .chunk_shift = 12, .frame_max = 256 << 10, .zstd = true };
	struct ddloop_rec r, prev;
	const u64 end = 1ull << 40;

	memset(&r, 0, sizeof(r));
	r = (struct ddloop_rec){ .file_offset = 512, .offset = 0, .length = 8192, .record_size = 64 + 32 + 8192,
				 .type = DDL_REC_DATA, .codec = DDL_CODEC_NONE };
	report(ddloop_check_entry(&r, NULL, 512, end, &g) == 0, "entry: a raw DATA record of 2 chunks is accepted");
	prev = r;
	r.record_size = 0xffffffffu;
	report(ddloop_check_entry(&r, NULL, 512, end, &g) == -EINVAL,
	       "entry: record_size 4 GiB - 1 (more than 64 + 16 * nhash + payload) is refused");
	r = (struct ddloop_rec){ .file_offset = U64_MAX - 100, .offset = 0, .length = 4096, .record_size = 64 + 16 + 4096,
				 .type = DDL_REC_DATA };
	report(ddloop_check_entry(&r, NULL, U64_MAX - 100, U64_MAX, &g) == -EINVAL,
	       "entry: file_offset + record_size wrapping is refused");
	r = (struct ddloop_rec){ .file_offset = 512, .offset = 4096, .length = 4096, .record_size = 64 + 16 + 100,
				 .type = DDL_REC_ZERO };
	report(ddloop_check_entry(&r, NULL, 512, end, &g) == -EINVAL, "entry: a ZERO record with a payload is refused");
	r.record_size = 64 + 16;
	report(ddloop_check_entry(&r, NULL, 512, end, &g) == 0, "entry: a ZERO record of one chunk is accepted");
	r = (struct ddloop_rec){ .file_offset = 512, .offset = 0, .length = 65536ull << 12,
				 .record_size = 64 + 16 * 65536, .type = DDL_REC_ZERO };
	report(ddloop_check_entry(&r, NULL, 512, end, &g) == 0, "entry: a ZERO record of 65536 chunks is accepted");
	r.length = 65537ull << 12;
	r.record_size = 64 + 16 * 65537;
	report(ddloop_check_entry(&r, NULL, 512, end, &g) == -EINVAL, "entry: nhash 65537 is refused");
	r = (struct ddloop_rec){ .file_offset = 512, .offset = 0, .length = 4096, .record_size = 64 + 16 + 4096 + 4097,
				 .type = DDL_REC_DATA, .codec = DDL_CODEC_ZSTD };
	report(ddloop_check_entry(&r, NULL, 512, end, &g) == -EINVAL, "entry: a zstd payload > length + 4096 is refused");
	r.record_size = 64 + 16 + 4096 + 4096;
	report(ddloop_check_entry(&r, NULL, 512, end, &g) == 0, "entry: a zstd payload of length + 4096 is accepted");
	r = (struct ddloop_rec){ .file_offset = 512, .offset = 0, .length = (256 << 10) + 4096,
				 .record_size = 64 + 16 * 65 + (256 << 10) + 4096, .type = DDL_REC_DATA };
	report(ddloop_check_entry(&r, NULL, 512, end, &g) == -EINVAL, "entry: DATA longer than frame_max is refused");
	r = (struct ddloop_rec){ .file_offset = 512 + prev.record_size, .offset = 4096, .length = 4096,
				 .record_size = 64 + 16 + 4096, .type = DDL_REC_DATA };
	report(ddloop_check_entry(&r, &prev, 512 + prev.record_size, end, &g) == -EINVAL,
	       "entry: a record overlapping the previous one is refused");
	r.offset = 8192;
	report(ddloop_check_entry(&r, &prev, 512 + prev.record_size, end, &g) == 0,
	       "entry: the record right after it is accepted");
	r.offset = 8192 + 256;
	report(ddloop_check_entry(&r, &prev, 512 + prev.record_size, end, &g) == -EINVAL,
	       "entry: an offset that is no multiple of 512 is refused");
	report(DDLOOP_RECORD_SIZE_MAX < (2u << 20), "entry: every accepted record_size is < 2 MiB (max %llu)",
	       (unsigned long long)DDLOOP_RECORD_SIZE_MAX);
}

/* ---- a real chain ------------------------------------------------------------ */

static u64 le64(const u8 *p)
{
	u64 v = 0;

	for (int k = 7; k >= 0; k--)
		v = v << 8 | p[k];
	return v;
}

static u32 le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static u8 *read_all(const char *path, u64 *size)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	u8 *buf;

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: %m\n", path);
		exit(2);
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf || pread(fd, buf, st.st_size, 0) != st.st_size) {
		fprintf(stderr, "%s: cannot read %lld bytes\n", path, (long long)st.st_size);
		exit(2);
	}
	close(fd);
	*size = st.st_size;
	return buf;
}

/* Loads a delta's index as ddloop_load_delta does, through the shared checks. */
static bool load_delta(const char *path, const u8 *file, u64 fsize, struct ddloop_rec **out, u32 *nrec,
		       u64 *volume_size)
{
	struct ddloop_footer_vals f;
	struct ddloop_geom g;
	const u8 *foot;
	struct ddloop_rec *recs;
	u64 expect = DDL_HEADER_SIZE, n = 0;

	if (fsize < DDL_HEADER_SIZE + DDL_RECORD_SIZE + DDL_FOOTER_SIZE || memcmp(file, DDL_MAGIC, DDL_MAGIC_LEN)) {
		report(false, "%s: not a deltafile", path);
		return false;
	}
	g.volume_size = le64(file + offsetof(struct ddl_header, volume_size));
	g.chunk_shift = le32(file + offsetof(struct ddl_header, chunk_shift));
	g.frame_max = le32(file + offsetof(struct ddl_header, frame_max));
	g.zstd = le64(file + offsetof(struct ddl_header, incompat_features)) & DDL_INCOMPAT_ZSTD;
	foot = file + fsize - DDL_FOOTER_SIZE;
	f.index_offset = le64(foot + offsetof(struct ddl_footer, index_offset));
	f.index_blocks = le64(foot + offsetof(struct ddl_footer, index_blocks));
	f.record_count = le64(foot + offsetof(struct ddl_footer, record_count));
	f.end_offset = le64(foot + offsetof(struct ddl_footer, end_offset));
	if (ddloop_check_footer(&f, fsize, g.volume_size)) {
		report(false, "%s: ddloop_check_footer refuses the footer of a valid delta", path);
		return false;
	}
	recs = recs_new(f.record_count);
	for (u64 b = 0; b < f.index_blocks; b++) {
		const u8 *blk = file + f.index_offset + b * DDL_INDEX_BLOCK_SIZE;
		u32 count = le32(blk + offsetof(struct ddl_index_block, count));

		if (le32(blk) != DDL_INDEX_MAGIC || !count || count > DDL_INDEX_PER_BLOCK || n + count > f.record_count) {
			report(false, "%s: index block %llu is not valid", path, (unsigned long long)b);
			free(recs);
			return false;
		}
		for (u32 i = 0; i < count; i++, n++) {
			const u8 *e = blk + offsetof(struct ddl_index_block, entries) + 32 * i;
			struct ddloop_rec *r = &recs[n];

			r->offset = le64(e + offsetof(struct ddl_index_entry, offset));
			r->length = le64(e + offsetof(struct ddl_index_entry, length));
			r->file_offset = le64(e + offsetof(struct ddl_index_entry, file_offset));
			r->record_size = le32(e + offsetof(struct ddl_index_entry, record_size));
			r->type = e[offsetof(struct ddl_index_entry, type)] | e[offsetof(struct ddl_index_entry, type) + 1] << 8;
			r->codec = e[offsetof(struct ddl_index_entry, codec)] | e[offsetof(struct ddl_index_entry, codec) + 1] << 8;
			if (ddloop_check_entry(r, n ? &recs[n - 1] : NULL, expect, f.end_offset, &g)) {
				report(false, "%s: ddloop_check_entry refuses record %llu of a valid delta", path,
				       (unsigned long long)n);
				free(recs);
				return false;
			}
			expect += r->record_size;
		}
	}
	if (n != f.record_count || expect != f.end_offset) {
		report(false, "%s: %llu records end at %llu, the footer says %llu at %llu", path, (unsigned long long)n,
		       (unsigned long long)expect, (unsigned long long)f.record_count, (unsigned long long)f.end_offset);
		free(recs);
		return false;
	}
	*out = recs;
	*nrec = n;
	*volume_size = g.volume_size;
	return true;
}

static int run_chain(int argc, char **argv)
{
	const char *base_path = argv[0], *target_path = argv[1];
	u8 *files[MAX_DELTAS], *base = NULL, *target, *vol;
	u64 fsize[MAX_DELTAS], base_size = 0, target_size;
	struct chain c;
	u32 nd = argc - 2;

	if (nd < 1 || nd > MAX_DELTAS) {
		fprintf(stderr, "--chain: 1..%d deltas\n", MAX_DELTAS);
		return 2;
	}
	chain_init(&c, 0);
	for (u32 d = 0; d < nd; d++) {
		struct ddloop_rec *recs;
		u32 n;
		u64 volume_size;

		files[d] = read_all(argv[2 + d], &fsize[d]);
		if (!load_delta(argv[2 + d], files[d], fsize[d], &recs, &n, &volume_size))
			return 1;
		if (d && volume_size != c.volume_size) {
			report(false, "%s: volume size differs from the previous delta's", argv[2 + d]);
			return 1;
		}
		c.volume_size = volume_size;
		report(true, "%s: footer and %u index entries pass ddloop_check_footer/ddloop_check_entry", argv[2 + d], n);
		if (!overlay_checked(&c, argv[2 + d], recs, n, -1, false))
			return 1;
	}
	target = read_all(target_path, &target_size);
	if (strcmp(base_path, "-"))
		base = read_all(base_path, &base_size);
	if (target_size != c.volume_size || (base && base_size != c.volume_size)) {
		report(false, "--chain: base/target size differs from the volume size %llu", (unsigned long long)c.volume_size);
		return 1;
	}
	/* the volume read through the map, as ddloop_read does */
	vol = base ? base : calloc(c.volume_size, 1);
	for (u64 k = 0; k < c.next; k++) {
		const struct ddloop_extent *e = &c.ext[k];
		const struct ddloop_rec *r = &c.recs[e->delta][e->rec];
		const u8 *raw = files[e->delta] + r->file_offset;
		u32 psize = le32(raw + offsetof(struct ddl_record, payload_size));
		u32 nhash = le32(raw + offsetof(struct ddl_record, nhash));
		const u8 *payload = raw + DDL_RECORD_SIZE + (size_t)DDL_HASH_SIZE * nhash;
		u8 *data;

		if (r->type == DDL_REC_ZERO) {
			memset(vol + e->start, 0, e->end - e->start);
			continue;
		}
		if ((u64)DDL_RECORD_SIZE + DDL_HASH_SIZE * (u64)nhash + psize != r->record_size) {
			report(false, "%s: record %u: header does not match the index", argv[2 + e->delta], e->rec);
			return 1;
		}
		data = malloc(r->length);
		if (r->codec == DDL_CODEC_ZSTD) {
			size_t got = ZSTD_decompress(data, r->length, payload, psize);

			if (ZSTD_isError(got) || got != r->length) {
				report(false, "%s: record %u: zstd frame does not decode", argv[2 + e->delta], e->rec);
				return 1;
			}
		} else {
			memcpy(data, payload, r->length);
		}
		memcpy(vol + e->start, data + (e->start - r->offset), e->end - e->start);
		free(data);
	}
	if (memcmp(vol, target, c.volume_size)) {
		u64 at = 0;

		while (vol[at] == target[at])
			at++;
		report(false, "--chain: the volume read through the map differs from %s at byte %llu", target_path,
		       (unsigned long long)at);
	} else {
		report(true, "--chain: %u delta(s), %llu extents: the volume read through the map equals %s (%llu bytes)",
		       nd, (unsigned long long)c.next, target_path, (unsigned long long)c.volume_size);
	}
	free(vol);
	free(target);
	for (u32 d = 0; d < nd; d++)
		free(files[d]);
	chain_free(&c);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "--chain")) {
		if (argc < 5) {
			fprintf(stderr, "usage: extent_map_harness --chain BASE|- TARGET DELTA...\n");
			return 2;
		}
		return run_chain(argc - 2, argv + 2);
	}
	if (argc != 1) {
		fprintf(stderr, "usage: extent_map_harness [--chain BASE|- TARGET DELTA...]\n");
		return 2;
	}
	test_issue12();
	test_many_tiny(100000);
	test_adjacent_and_ends();
	test_max_counts();
	test_random(3000);
	test_refusals();
	test_bound_extremes();
	test_footer();
	test_entries();
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
