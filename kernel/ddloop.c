// SPDX-License-Identifier: GPL-2.0
/*
 * ddloop.c - a read-only block device over a base image plus a chain of
 * ddloop deltafiles (format: man/deltafile.5, deltafile_format.h).
 *
 * /dev/ddloop-control takes DDLOOP_CTL_ADD with file descriptors of the
 * base (optional) and the deltafiles in chain order, and creates
 * /dev/ddloopN whose bytes are the volume at the last delta's target: the
 * base overlaid by each delta in turn. No userspace process is in the read
 * path: the device survives the death of whoever attached it.
 *
 * Memory: each delta's index is loaded once (32 bytes per record) and merged
 * into one sorted extent map (24 bytes per extent), so a lookup is a binary
 * search whatever the chain length. Decoded records are kept in a per-device
 * LRU cache bounded by cache_mb. Every record is checked when it is decoded:
 * header checksum (xxh64), zstd decompression to exactly its length, data
 * checksum (xxh64). A failure ends the request with BLK_STS_IOERR, never
 * with wrong data, and is logged once per record (ratelimited).
 *
 * The pure parts (the bounds of a delta's footer and index, the merge into
 * the extent map and the proof of its capacity) are in ddloop_map.h, which
 * tests/kernel/extent_map_harness.c also compiles and runs under ASan.
 * Every allocation sized by the file is bounded by what was checked first.
 *
 * Requests are served in ->queue_rq, which may sleep (BLK_MQ_F_BLOCKING):
 * it reads the backing files with kernel_read().
 *
 * Contract with the caller: the driver checks the deltafiles and that they
 * chain, and the base's size, but cannot check that the base image holds
 * the first delta's base: that needs the chunks' XXH3-128 hashes, which the
 * kernel library lacks. `ddloop attach` checks it before DDLOOP_CTL_ADD (the
 * recorded base hash of every chunk the first delta changes); other callers
 * must do the same.
 */
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/idr.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/xxhash.h>
#include <linux/zstd.h>
#include <asm/unaligned.h>

#include "deltafile/deltafile_format.h"
#include "ddloop_map.h"
#include "ddloop_uapi.h"

static unsigned int ddloop_cache_mb = 16;
module_param_named(cache_mb, ddloop_cache_mb, uint, 0644);
MODULE_PARM_DESC(cache_mb, "Decoded-record cache per device in MiB (default 16, at most "
		 __stringify(DDLOOP_CACHE_MB_MAX) ")");

static unsigned int ddloop_queues = 4;
module_param_named(queues, ddloop_queues, uint, 0444);
MODULE_PARM_DESC(queues, "Hardware queues per device, at most the online CPUs (default 4)");

static int ddloop_major;
static DEFINE_IDR(ddloop_index_idr);
/*
 * Protects ddloop_index_idr. An index is reserved with a NULL entry while
 * its device is made, and the device is published (idr_replace) only once
 * add_disk() has succeeded: REMOVE and STATUS, which look devices up under
 * this mutex, see a complete device or none (idr_find of a reserved index
 * is NULL).
 */
static DEFINE_MUTEX(ddloop_ctl_mutex);

struct ddloop_delta {
	struct file *file;
	u32 nrec;
	struct ddloop_rec *recs;
	unsigned long *logged; /* one bit per record: damage already reported */
	u8 base_id[48];        /* struct ddl_identity of the base */
	u8 target_id[48];
	u8 volume_uuid[16];
	u64 volume_size;
	u32 chunk_shift;
	u32 frame_max;
	bool seed;
};

struct ddloop_cached {
	struct list_head lru;
	struct hlist_node node;
	u64 key;
	size_t len;
	u8 *data;
};

#define DDLOOP_CACHE_BITS 10

struct ddloop_dev {
	int index;
	u64 size;
	struct file *base;
	u32 ndeltas;
	struct ddloop_delta *deltas;
	struct ddloop_extent *ext;
	u64 next;
	size_t index_bytes;

	struct mutex cache_lock; /* protects the cache fields below */
	struct list_head lru;
	DECLARE_HASHTABLE(cache, DDLOOP_CACHE_BITS);
	size_t cache_bytes;
	size_t cache_max;

	atomic64_t io_errors;
	bool deleting; /* under disk->open_mutex: no new opens */
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
};

/* Per hardware queue: a zstd decompression context. */
struct ddloop_hctx {
	struct mutex lock; /* one decompression at a time on this context */
	void *workspace;
	zstd_dctx *dctx;
};

/* ---- reading backing files (may sleep) ---------------------------------- */

static int ddloop_read_file(struct file *f, void *buf, size_t len, loff_t pos)
{
	while (len) {
		ssize_t n = kernel_read(f, buf, len, &pos);

		if (n < 0)
			return n;
		if (n == 0)
			return -ENODATA;
		buf += n;
		len -= n;
	}
	return 0;
}

static u64 ddloop_file_size(struct file *f)
{
	return i_size_read(f->f_mapping->host);
}

/* ---- loading and checking a delta's header, footer and index ------------ */

/*
 * Makes room for need records in d->recs (holding n), growing it as index
 * blocks pass their checks: the array is never more than twice the records
 * of the blocks already checked (plus one block), and never more than nrec.
 */
static int ddloop_grow_recs(struct ddloop_delta *d, u32 n, u32 *cap, u32 need, u32 nrec)
{
	struct ddloop_rec *p;
	u32 ncap;

	if (need <= *cap)
		return 0;
	ncap = max_t(u32, need, min_t(u64, 2ull * *cap, nrec));
	p = kvmalloc_array(ncap, sizeof(*p), GFP_KERNEL | __GFP_NOWARN);
	if (!p)
		return -ENOMEM;
	if (n)
		memcpy(p, d->recs, (size_t)n * sizeof(*p));
	kvfree(d->recs);
	d->recs = p;
	*cap = ncap;
	return 0;
}

static int ddloop_load_delta(struct ddloop_delta *d)
{
	u8 *hdr, *foot, *blk = NULL;
	u64 fsize = ddloop_file_size(d->file);
	struct ddloop_footer_vals f;
	struct ddloop_geom g;
	u64 expect, b;
	u32 n = 0, cap = 0;
	int err = -EINVAL;

	hdr = kmalloc(DDL_HEADER_SIZE + DDL_FOOTER_SIZE, GFP_KERNEL);
	if (!hdr)
		return -ENOMEM;
	foot = hdr + DDL_HEADER_SIZE;
	if (fsize < DDL_HEADER_SIZE + DDL_RECORD_SIZE + DDL_FOOTER_SIZE)
		goto out;
	err = ddloop_read_file(d->file, hdr, DDL_HEADER_SIZE, 0);
	if (!err)
		err = ddloop_read_file(d->file, foot, DDL_FOOTER_SIZE, fsize - DDL_FOOTER_SIZE);
	if (err)
		goto out;
	err = -EINVAL;
	if (memcmp(hdr, DDL_MAGIC, DDL_MAGIC_LEN) ||
	    get_unaligned_le32(hdr + offsetof(struct ddl_header, version)) != DDL_VERSION ||
	    get_unaligned_le32(hdr + offsetof(struct ddl_header, header_size)) != DDL_HEADER_SIZE ||
	    xxh64(hdr, offsetof(struct ddl_header, header_csum), 0) !=
		    get_unaligned_le64(hdr + offsetof(struct ddl_header, header_csum)) ||
	    (get_unaligned_le64(hdr + offsetof(struct ddl_header, incompat_features)) & ~DDL_INCOMPAT_KNOWN))
		goto out;
	d->volume_size = get_unaligned_le64(hdr + offsetof(struct ddl_header, volume_size));
	d->chunk_shift = get_unaligned_le32(hdr + offsetof(struct ddl_header, chunk_shift));
	d->frame_max = get_unaligned_le32(hdr + offsetof(struct ddl_header, frame_max));
	d->seed = get_unaligned_le32(hdr + offsetof(struct ddl_header, flags)) & DDL_HF_SEED;
	memcpy(d->volume_uuid, hdr + offsetof(struct ddl_header, volume_uuid), 16);
	memcpy(d->base_id, hdr + offsetof(struct ddl_header, base), 48);
	memcpy(d->target_id, hdr + offsetof(struct ddl_header, target), 48);
	if (!d->volume_size || d->volume_size % 512 || d->chunk_shift < DDL_CHUNK_SHIFT_MIN ||
	    d->chunk_shift > DDL_CHUNK_SHIFT_MAX || d->frame_max > DDL_FRAME_MAX_LIMIT)
		goto out;
	g.volume_size = d->volume_size;
	g.chunk_shift = d->chunk_shift;
	g.frame_max = d->frame_max;
	g.zstd = get_unaligned_le64(hdr + offsetof(struct ddl_header, incompat_features)) & DDL_INCOMPAT_ZSTD;

	if (memcmp(foot, DDL_FOOTER_MAGIC, DDL_MAGIC_LEN) ||
	    xxh64(foot, offsetof(struct ddl_footer, footer_csum), 0) !=
		    get_unaligned_le64(foot + offsetof(struct ddl_footer, footer_csum)) ||
	    get_unaligned_le64(foot + offsetof(struct ddl_footer, header_csum)) !=
		    get_unaligned_le64(hdr + offsetof(struct ddl_header, header_csum)))
		goto out;
	f.index_offset = get_unaligned_le64(foot + offsetof(struct ddl_footer, index_offset));
	f.index_blocks = get_unaligned_le64(foot + offsetof(struct ddl_footer, index_blocks));
	f.record_count = get_unaligned_le64(foot + offsetof(struct ddl_footer, record_count));
	f.end_offset = get_unaligned_le64(foot + offsetof(struct ddl_footer, end_offset));
	/* wrap-checked sums, record_count <= what the file, the volume and DDLOOP_MAX_RECORDS allow */
	if (ddloop_check_footer(&f, fsize, d->volume_size))
		goto out;
	d->nrec = f.record_count;

	err = -ENOMEM;
	blk = kvmalloc(DDL_INDEX_BLOCK_SIZE, GFP_KERNEL);
	if (!blk)
		goto out;
	expect = DDL_HEADER_SIZE;
	for (b = 0; b < f.index_blocks; b++) {
		u64 at = f.index_offset + b * DDL_INDEX_BLOCK_SIZE; /* no wrap: checked with the footer */
		u32 count, i;

		err = ddloop_read_file(d->file, blk, DDL_INDEX_BLOCK_SIZE, at);
		if (err)
			goto out;
		err = -EINVAL;
		count = get_unaligned_le32(blk + offsetof(struct ddl_index_block, count));
		if (get_unaligned_le32(blk) != DDL_INDEX_MAGIC ||
		    xxh64(blk, offsetof(struct ddl_index_block, csum), 0) !=
			    get_unaligned_le64(blk + offsetof(struct ddl_index_block, csum)) ||
		    get_unaligned_le64(blk + offsetof(struct ddl_index_block, block_no)) != b ||
		    get_unaligned_le64(blk + offsetof(struct ddl_index_block, file_offset)) != at ||
		    !count || count > DDL_INDEX_PER_BLOCK || count > d->nrec - n)
			goto out;
		/* only now, for a block that passed its checks, room for its entries */
		err = ddloop_grow_recs(d, n, &cap, n + count, d->nrec);
		if (err)
			goto out;
		err = -EINVAL;
		for (i = 0; i < count; i++, n++) {
			const u8 *e = blk + offsetof(struct ddl_index_block, entries) + 32 * i;
			struct ddloop_rec *r = &d->recs[n];

			r->offset = get_unaligned_le64(e + offsetof(struct ddl_index_entry, offset));
			r->length = get_unaligned_le64(e + offsetof(struct ddl_index_entry, length));
			r->file_offset = get_unaligned_le64(e + offsetof(struct ddl_index_entry, file_offset));
			r->record_size = get_unaligned_le32(e + offsetof(struct ddl_index_entry, record_size));
			r->type = get_unaligned_le16(e + offsetof(struct ddl_index_entry, type));
			r->codec = get_unaligned_le16(e + offsetof(struct ddl_index_entry, codec));
			/* record_size <= DDLOOP_RECORD_SIZE_MAX from here on: it sizes ddloop_decode's buffer */
			if (ddloop_check_entry(r, n ? &d->recs[n - 1] : NULL, expect, f.end_offset, &g))
				goto out;
			expect += r->record_size; /* <= end_offset: checked */
		}
	}
	if (n != d->nrec || expect != f.end_offset)
		goto out;
	/* one bit per record, for records that all passed their checks */
	err = -ENOMEM;
	d->logged = bitmap_zalloc(max_t(u32, n, 1), GFP_KERNEL | __GFP_NOWARN);
	if (!d->logged)
		goto out;
	err = 0;
out:
	kvfree(blk);
	kfree(hdr);
	return err;
}

/* ---- the merged extent map: ddloop_overlay() in ddloop_map.h ------------ */

static long ddloop_find(const struct ddloop_dev *dev, u64 pos)
{
	long lo = 0, hi = dev->next;

	while (lo < hi) { /* first extent with end > pos */
		long mid = lo + (hi - lo) / 2;

		if (dev->ext[mid].end <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- records: read, check, decode, cache --------------------------------- */

static void ddloop_report(struct ddloop_dev *dev, u32 d, u32 r, const char *why)
{
	if (!test_and_set_bit(r, dev->deltas[d].logged))
		pr_err_ratelimited("ddloop%d: %pD: record %u: %s; reads of it fail with EIO\n", dev->index,
				   dev->deltas[d].file, r, why);
}

/* Reads and checks record r of delta d into a new buffer. May sleep. */
static u8 *ddloop_decode(struct ddloop_dev *dev, struct ddloop_hctx *ctx, u32 d, u32 r)
{
	const struct ddloop_rec *rec = &dev->deltas[d].recs[r];
	struct xxh64_state xs;
	u8 *raw, *data = NULL;
	const u8 *payload;
	u32 nhash, psize;
	int err;

	raw = kvmalloc(rec->record_size, GFP_KERNEL);
	data = kvmalloc(rec->length, GFP_KERNEL);
	if (!raw || !data) {
		ddloop_report(dev, d, r, "out of memory");
		goto fail;
	}
	err = ddloop_read_file(dev->deltas[d].file, raw, rec->record_size, rec->file_offset);
	if (err) {
		ddloop_report(dev, d, r, "cannot read the record");
		goto fail;
	}
	nhash = get_unaligned_le32(raw + offsetof(struct ddl_record, nhash));
	psize = get_unaligned_le32(raw + offsetof(struct ddl_record, payload_size));
	if (get_unaligned_le32(raw) != DDL_RECORD_MAGIC ||
	    (u64)DDL_RECORD_SIZE + (u64)DDL_HASH_SIZE * nhash + psize != rec->record_size) {
		ddloop_report(dev, d, r, "bad record header");
		goto fail;
	}
	xxh64_reset(&xs, 0);
	xxh64_update(&xs, raw, offsetof(struct ddl_record, header_csum));
	xxh64_update(&xs, raw + DDL_RECORD_SIZE, (size_t)DDL_HASH_SIZE * nhash);
	if (xxh64_digest(&xs) != get_unaligned_le64(raw + offsetof(struct ddl_record, header_csum)) ||
	    get_unaligned_le64(raw + offsetof(struct ddl_record, seq)) != r ||
	    get_unaligned_le64(raw + offsetof(struct ddl_record, offset)) != rec->offset ||
	    get_unaligned_le64(raw + offsetof(struct ddl_record, length)) != rec->length) {
		ddloop_report(dev, d, r, "header checksum mismatch");
		goto fail;
	}
	payload = raw + DDL_RECORD_SIZE + (size_t)DDL_HASH_SIZE * nhash;
	if (rec->codec == DDL_CODEC_ZSTD) {
		size_t got;

		mutex_lock(&ctx->lock);
		got = zstd_decompress_dctx(ctx->dctx, data, rec->length, payload, psize);
		mutex_unlock(&ctx->lock);
		if (zstd_is_error(got) || got != rec->length) {
			ddloop_report(dev, d, r, "zstd frame does not decode");
			goto fail;
		}
	} else {
		if (psize != rec->length) {
			ddloop_report(dev, d, r, "bad raw payload size");
			goto fail;
		}
		memcpy(data, payload, rec->length);
	}
	if (xxh64(data, rec->length, 0) != get_unaligned_le64(raw + offsetof(struct ddl_record, data_csum))) {
		ddloop_report(dev, d, r, "data checksum mismatch");
		goto fail;
	}
	kvfree(raw);
	return data;
fail:
	kvfree(raw);
	kvfree(data);
	return NULL;
}

static struct ddloop_cached *ddloop_cache_find(struct ddloop_dev *dev, u64 key)
{
	struct ddloop_cached *c;

	hash_for_each_possible(dev->cache, c, node, key)
		if (c->key == key)
			return c;
	return NULL;
}

static void ddloop_cache_drop(struct ddloop_dev *dev, struct ddloop_cached *c)
{
	hash_del(&c->node);
	list_del(&c->lru);
	dev->cache_bytes -= c->len;
	kvfree(c->data);
	kfree(c);
}

/*
 * Copies len bytes at byte skip of record r of delta d into buf, decoding
 * the record on a cache miss. May sleep.
 */
static int ddloop_copy_record(struct ddloop_dev *dev, struct ddloop_hctx *ctx, u32 d, u32 r, u64 skip,
			      void *buf, size_t len)
{
	u64 key = ((u64)d << 32) | r;
	struct ddloop_cached *c;
	u8 *data;

	mutex_lock(&dev->cache_lock);
	c = ddloop_cache_find(dev, key);
	if (c) {
		list_move(&c->lru, &dev->lru);
		memcpy(buf, c->data + skip, len);
		mutex_unlock(&dev->cache_lock);
		return 0;
	}
	mutex_unlock(&dev->cache_lock);

	data = ddloop_decode(dev, ctx, d, r);
	if (!data)
		return -EIO;
	memcpy(buf, data + skip, len);

	mutex_lock(&dev->cache_lock);
	c = kmalloc(sizeof(*c), GFP_KERNEL);
	if (!c || ddloop_cache_find(dev, key) || dev->deltas[d].recs[r].length > dev->cache_max) {
		kfree(c);
		kvfree(data);
	} else {
		c->key = key;
		c->len = dev->deltas[d].recs[r].length;
		c->data = data;
		hash_add(dev->cache, &c->node, key);
		list_add(&c->lru, &dev->lru);
		dev->cache_bytes += c->len;
		while (dev->cache_bytes > dev->cache_max)
			ddloop_cache_drop(dev, list_last_entry(&dev->lru, struct ddloop_cached, lru));
	}
	mutex_unlock(&dev->cache_lock);
	return 0;
}

/* Reads volume bytes [pos, pos+len) into buf. May sleep. */
static int ddloop_read(struct ddloop_dev *dev, struct ddloop_hctx *ctx, void *buf, u64 pos, size_t len)
{
	u64 end = pos + len;
	long i = ddloop_find(dev, pos);
	int err;

	while (pos < end) {
		u64 next = (i < dev->next) ? min(end, max(pos, dev->ext[i].start)) : end;
		const struct ddloop_extent *e;
		const struct ddloop_rec *rec;
		u64 stop;

		if (pos < next) { /* a gap: the base, or zeros */
			if (dev->base) {
				err = ddloop_read_file(dev->base, buf, next - pos, pos);
				if (err)
					return err;
			} else {
				memset(buf, 0, next - pos);
			}
			buf += next - pos;
			pos = next;
			continue;
		}
		e = &dev->ext[i];
		rec = &dev->deltas[e->delta].recs[e->rec];
		stop = min(end, e->end);
		if (rec->type == DDL_REC_ZERO) {
			memset(buf, 0, stop - pos);
		} else {
			err = ddloop_copy_record(dev, ctx, e->delta, e->rec, pos - rec->offset, buf, stop - pos);
			if (err)
				return err;
		}
		buf += stop - pos;
		pos = stop;
		i++;
	}
	return 0;
}

/* ---- block device -------------------------------------------------------- */

/* Runs in process context and may sleep (BLK_MQ_F_BLOCKING). */
static blk_status_t ddloop_queue_rq(struct blk_mq_hw_ctx *hctx, const struct blk_mq_queue_data *bd)
{
	struct request *rq = bd->rq;
	struct ddloop_dev *dev = hctx->queue->queuedata;
	struct ddloop_hctx *ctx = hctx->driver_data;
	u64 pos = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
	blk_status_t status = BLK_STS_OK;
	struct req_iterator iter;
	struct bio_vec bvec;

	blk_mq_start_request(rq);
	if (req_op(rq) != REQ_OP_READ) {
		status = BLK_STS_NOTSUPP;
		goto out;
	}
	rq_for_each_segment(bvec, rq, iter) {
		void *p = bvec_kmap_local(&bvec);
		int err = 0;

		if (pos >= dev->size)
			memset(p, 0, bvec.bv_len);
		else
			err = ddloop_read(dev, ctx, p, pos, min_t(u64, bvec.bv_len, dev->size - pos));
		kunmap_local(p);
		if (err) {
			atomic64_inc(&dev->io_errors);
			status = BLK_STS_IOERR;
			break;
		}
		pos += bvec.bv_len;
	}
out:
	blk_mq_end_request(rq, status);
	return BLK_STS_OK;
}

static int ddloop_init_hctx(struct blk_mq_hw_ctx *hctx, void *data, unsigned int index)
{
	struct ddloop_hctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	size_t ws = zstd_dctx_workspace_bound();

	if (!ctx)
		return -ENOMEM;
	mutex_init(&ctx->lock);
	ctx->workspace = kvmalloc(ws, GFP_KERNEL);
	if (!ctx->workspace)
		goto fail;
	ctx->dctx = zstd_init_dctx(ctx->workspace, ws);
	if (!ctx->dctx)
		goto fail;
	hctx->driver_data = ctx;
	return 0;
fail:
	kvfree(ctx->workspace);
	kfree(ctx);
	return -ENOMEM;
}

static void ddloop_exit_hctx(struct blk_mq_hw_ctx *hctx, unsigned int index)
{
	struct ddloop_hctx *ctx = hctx->driver_data;

	kvfree(ctx->workspace);
	kfree(ctx);
}

static const struct blk_mq_ops ddloop_mq_ops = {
	.queue_rq = ddloop_queue_rq,
	.init_hctx = ddloop_init_hctx,
	.exit_hctx = ddloop_exit_hctx,
};

/* Called with disk->open_mutex held; may sleep. */
static int ddloop_open(struct block_device *bdev, fmode_t mode)
{
	struct ddloop_dev *dev = bdev->bd_disk->private_data;

	return dev->deleting ? -ENXIO : 0;
}

static const struct block_device_operations ddloop_fops = {
	.owner = THIS_MODULE,
	.open = ddloop_open,
};

/* ---- creating and removing devices (process context, may sleep) --------- */

static void ddloop_free(struct ddloop_dev *dev)
{
	struct ddloop_cached *c, *tmp;
	u32 d;

	list_for_each_entry_safe(c, tmp, &dev->lru, lru)
		ddloop_cache_drop(dev, c);
	for (d = 0; d < dev->ndeltas; d++) {
		if (dev->deltas[d].file)
			fput(dev->deltas[d].file);
		kvfree(dev->deltas[d].recs);
		bitmap_free(dev->deltas[d].logged);
	}
	kfree(dev->deltas);
	kvfree(dev->ext);
	if (dev->base)
		fput(dev->base);
	kfree(dev);
}

static int ddloop_check_chain(struct ddloop_dev *dev)
{
	u32 d;

	for (d = 1; d < dev->ndeltas; d++) {
		const struct ddloop_delta *a = &dev->deltas[d - 1], *b = &dev->deltas[d];

		if (memcmp(a->volume_uuid, b->volume_uuid, 16) || a->volume_size != b->volume_size ||
		    a->chunk_shift != b->chunk_shift || memcmp(b->base_id, a->target_id, 48)) {
			pr_warn("ddloop: %pD does not follow %pD in a chain\n", b->file, a->file);
			return -EINVAL;
		}
	}
	if (dev->deltas[0].seed != !dev->base)
		return -EINVAL; /* a seed takes no base; anything else needs one */
	if (dev->base && ddloop_file_size(dev->base) != dev->deltas[0].volume_size)
		return -EINVAL;
	return 0;
}

static int ddloop_add(struct ddloop_add *a, const s32 *fds)
{
	struct ddloop_dev *dev;
	struct gendisk *disk;
	u32 d;
	int err;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	mutex_init(&dev->cache_lock);
	INIT_LIST_HEAD(&dev->lru);
	hash_init(dev->cache);
	atomic64_set(&dev->io_errors, 0);
	/* userspace's value and the module parameter alike: at most DDLOOP_CACHE_BYTES_MAX */
	dev->cache_max = min_t(u64, a->cache_bytes ? a->cache_bytes : (u64)READ_ONCE(ddloop_cache_mb) << 20,
			       DDLOOP_CACHE_BYTES_MAX);
	dev->deltas = kcalloc(a->ndeltas, sizeof(*dev->deltas), GFP_KERNEL);
	if (!dev->deltas) {
		err = -ENOMEM;
		goto free;
	}
	dev->ndeltas = a->ndeltas;
	err = -EBADF;
	if (a->base_fd >= 0) {
		dev->base = fget(a->base_fd);
		if (!dev->base || !(dev->base->f_mode & FMODE_READ))
			goto free;
	}
	for (d = 0; d < a->ndeltas; d++) {
		err = -EBADF;
		dev->deltas[d].file = fget(fds[d]);
		if (!dev->deltas[d].file || !(dev->deltas[d].file->f_mode & FMODE_READ))
			goto free;
		err = ddloop_load_delta(&dev->deltas[d]);
		if (err) {
			pr_warn("ddloop: %pD: not a valid deltafile (%d)\n", dev->deltas[d].file, err);
			goto free;
		}
		dev->index_bytes += (size_t)dev->deltas[d].nrec * sizeof(struct ddloop_rec);
	}
	err = ddloop_check_chain(dev);
	if (err)
		goto free;
	dev->size = dev->deltas[0].volume_size;
	for (d = 0; d < dev->ndeltas; d++) {
		err = ddloop_overlay(&dev->ext, &dev->next, dev->deltas[d].recs, dev->deltas[d].nrec, d, dev->size,
				     DDLOOP_MAX_EXTENTS);
		if (err)
			goto free;
	}
	dev->index_bytes += dev->next * sizeof(struct ddloop_extent);

	/* reserve the index only: REMOVE and STATUS find NULL until idr_replace() below */
	mutex_lock(&ddloop_ctl_mutex);
	dev->index = idr_alloc(&ddloop_index_idr, NULL, 0, 1 << MINORBITS, GFP_KERNEL);
	mutex_unlock(&ddloop_ctl_mutex);
	if (dev->index < 0) {
		err = dev->index;
		goto free;
	}

	dev->tag_set.ops = &ddloop_mq_ops;
	dev->tag_set.nr_hw_queues = clamp_t(unsigned int, ddloop_queues, 1, num_online_cpus());
	dev->tag_set.queue_depth = 64;
	dev->tag_set.numa_node = NUMA_NO_NODE;
	dev->tag_set.flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_BLOCKING;
	dev->tag_set.driver_data = dev;
	err = blk_mq_alloc_tag_set(&dev->tag_set);
	if (err)
		goto unindex;
	disk = blk_mq_alloc_disk(&dev->tag_set, dev);
	if (IS_ERR(disk)) {
		err = PTR_ERR(disk);
		goto free_tags;
	}
	dev->disk = disk;
	disk->major = ddloop_major;
	disk->first_minor = dev->index;
	disk->minors = 1;
	disk->fops = &ddloop_fops;
	disk->private_data = dev;
	snprintf(disk->disk_name, DISK_NAME_LEN, "ddloop%d", dev->index);
	set_capacity(disk, dev->size >> SECTOR_SHIFT);
	set_disk_ro(disk, true);
	blk_queue_logical_block_size(disk->queue, 512);
	blk_queue_max_hw_sectors(disk->queue, 2048);
	blk_queue_flag_set(QUEUE_FLAG_NONROT, disk->queue);
	err = add_disk(disk);
	if (err)
		goto put;
	a->index = dev->index;
	pr_info("ddloop%d: %u deltafile(s), %llu bytes, %llu extents, %zu bytes of index\n", dev->index,
		dev->ndeltas, dev->size, dev->next, dev->index_bytes);
	/* complete: publish it. From here a REMOVE may free dev: no access after this. */
	mutex_lock(&ddloop_ctl_mutex);
	idr_replace(&ddloop_index_idr, dev, a->index);
	mutex_unlock(&ddloop_ctl_mutex);
	return 0;
put:
	put_disk(disk);
free_tags:
	blk_mq_free_tag_set(&dev->tag_set);
unindex:
	mutex_lock(&ddloop_ctl_mutex);
	idr_remove(&ddloop_index_idr, dev->index);
	mutex_unlock(&ddloop_ctl_mutex);
free:
	ddloop_free(dev);
	return err;
}

/*
 * Called with ddloop_ctl_mutex held; may sleep. Refusing busy devices and
 * marking the device as deleting happen under the disk's open_mutex, which
 * ->open also runs under, so no open can slip in before del_gendisk().
 */
static int ddloop_remove(struct ddloop_dev *dev, bool force)
{
	mutex_lock(&dev->disk->open_mutex);
	if (!force && disk_openers(dev->disk)) {
		mutex_unlock(&dev->disk->open_mutex);
		return -EBUSY;
	}
	dev->deleting = true;
	mutex_unlock(&dev->disk->open_mutex);
	idr_remove(&ddloop_index_idr, dev->index);
	del_gendisk(dev->disk);
	put_disk(dev->disk);
	blk_mq_free_tag_set(&dev->tag_set);
	pr_info("ddloop%d: removed\n", dev->index);
	ddloop_free(dev);
	return 0;
}

static long ddloop_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	struct ddloop_dev *dev;
	long err;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	switch (cmd) {
	case DDLOOP_CTL_ADD: {
		struct ddloop_add a;
		s32 *fds;

		if (copy_from_user(&a, argp, sizeof(a)))
			return -EFAULT;
		if (!a.ndeltas || a.ndeltas > DDLOOP_MAX_DELTAS || a.flags ||
		    memchr_inv(a.reserved, 0, sizeof(a.reserved)))
			return -EINVAL; /* reserved fields must be zero so they can grow */
		if (a.base_fd < -1)
			return -EBADF;
		fds = memdup_user(u64_to_user_ptr(a.delta_fds), a.ndeltas * sizeof(s32));
		if (IS_ERR(fds))
			return PTR_ERR(fds);
		err = ddloop_add(&a, fds);
		kfree(fds);
		if (!err && copy_to_user(argp, &a, sizeof(a)))
			err = -EFAULT;
		return err;
	}
	case DDLOOP_CTL_REMOVE: {
		s32 index;

		if (get_user(index, (s32 __user *)argp))
			return -EFAULT;
		mutex_lock(&ddloop_ctl_mutex);
		dev = idr_find(&ddloop_index_idr, index);
		err = dev ? ddloop_remove(dev, false) : -ENODEV;
		mutex_unlock(&ddloop_ctl_mutex);
		return err;
	}
	case DDLOOP_CTL_STATUS: {
		struct ddloop_status st;

		if (copy_from_user(&st, argp, sizeof(st)))
			return -EFAULT;
		mutex_lock(&ddloop_ctl_mutex);
		dev = idr_find(&ddloop_index_idr, st.index);
		if (dev) {
			memset(&st, 0, sizeof(st));
			st.index = dev->index;
			st.ndeltas = dev->ndeltas;
			st.size = dev->size;
			st.extents = dev->next;
			st.index_bytes = dev->index_bytes;
			mutex_lock(&dev->cache_lock);
			st.cache_bytes = dev->cache_bytes;
			mutex_unlock(&dev->cache_lock);
			st.cache_max = dev->cache_max;
			st.io_errors = atomic64_read(&dev->io_errors);
			st.openers = disk_openers(dev->disk);
		}
		mutex_unlock(&ddloop_ctl_mutex);
		if (!dev)
			return -ENODEV;
		return copy_to_user(argp, &st, sizeof(st)) ? -EFAULT : 0;
	}
	}
	return -ENOTTY;
}

static const struct file_operations ddloop_ctl_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = ddloop_ctl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice ddloop_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "ddloop-control",
	.fops = &ddloop_ctl_fops,
};

static int __init ddloop_init(void)
{
	int err;

	ddloop_major = register_blkdev(0, "ddloop");
	if (ddloop_major < 0)
		return ddloop_major;
	err = misc_register(&ddloop_misc);
	if (err) {
		unregister_blkdev(ddloop_major, "ddloop");
		return err;
	}
	pr_info("ddloop: deltafile format %d, control at /dev/ddloop-control\n", DDL_VERSION);
	return 0;
}

static int ddloop_exit_one(int id, void *p, void *data)
{
	if (p) /* NULL: an index reserved by an ADD in progress, which cannot be at exit */
		ddloop_remove(p, true);
	return 0;
}

static void __exit ddloop_exit(void)
{
	misc_deregister(&ddloop_misc);
	mutex_lock(&ddloop_ctl_mutex);
	idr_for_each(&ddloop_index_idr, ddloop_exit_one, NULL);
	idr_destroy(&ddloop_index_idr);
	mutex_unlock(&ddloop_ctl_mutex);
	unregister_blkdev(ddloop_major, "ddloop");
}

module_init(ddloop_init);
module_exit(ddloop_exit);
MODULE_DESCRIPTION("Block devices over a base image and a chain of ddloop deltafiles");
MODULE_LICENSE("GPL");
