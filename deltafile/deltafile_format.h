/* SPDX-License-Identifier: MIT */
/* clang-format off */
/* (plain C in the kernel's style, shared with kernel/: CONTRIBUTING.md) */
/*
 * deltafile_format.h - the on-disk format of a ddloop deltafile, version 1.
 *
 * This is the one definition of the format. It is plain C with no
 * dependencies so that the userspace library (C++) and the kernel driver
 * (kernel/ddloop.c) include the same file. The normative description is
 * man/deltafile.5; this header holds only constants and structs.
 *
 * Every multi-byte integer is little-endian. Structs are naturally aligned
 * and have no implicit padding; their sizes are checked below. Never read
 * a field directly on a big-endian host: use the accessors of the library
 * (deltafile/endian.h) or le*_to_cpu() in the kernel.
 *
 * File layout:
 *
 *   header        512 bytes                      struct ddl_header
 *   record 0..n-1 each: ddl_record + hash table + payload
 *   END record    64 bytes                       struct ddl_record, type END
 *   index         index_blocks * 4096 bytes      struct ddl_index_block
 *   footer        128 bytes                      struct ddl_footer
 */
#ifndef DELTAFILE_FORMAT_H
#define DELTAFILE_FORMAT_H

#ifdef __KERNEL__
#include <linux/types.h>
typedef __u8 ddl_u8;
typedef __u16 ddl_le16;
typedef __u32 ddl_le32;
typedef __u64 ddl_le64;
#define DDL_STATIC_ASSERT(c, m) _Static_assert(c, m)
#else
#include <stdint.h>
typedef uint8_t ddl_u8;
typedef uint16_t ddl_le16;
typedef uint32_t ddl_le32;
typedef uint64_t ddl_le64;
#ifdef __cplusplus
#define DDL_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define DDL_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif
#endif

/* ---- header ------------------------------------------------------------ */

/* 0x89 'D' 'D' 'L' '\r' '\n' 0x1a '\n': the high byte catches 7-bit
 * transfers, CR LF catches newline conversion (the PNG trick). */
#define DDL_MAGIC "\x89" "DDL\r\n\x1a\n"
#define DDL_MAGIC_LEN 8
#define DDL_VERSION 1
#define DDL_HEADER_SIZE 512

/* Incompatible features: a reader that does not know a set bit must refuse
 * the file. */
#define DDL_INCOMPAT_ZSTD (1ULL << 0) /* records may be zstd frames */
#define DDL_INCOMPAT_KNOWN (DDL_INCOMPAT_ZSTD)
/* Compatible features: a reader ignores bits it does not know. None yet. */
#define DDL_COMPAT_KNOWN 0ULL

/* header flags */
#define DDL_HF_SEED (1U << 0) /* no base: the base is the all-zero volume */
#define DDL_HF_KNOWN (DDL_HF_SEED)

#define DDL_CODEC_NONE 0
#define DDL_CODEC_ZSTD 1

#define DDL_CHUNK_HASH_XXH3_128 1 /* per-chunk content hash (fingerprint) */
#define DDL_RECORD_CSUM_XXH64 1   /* record/metadata checksums, seed 0 */

#define DDL_CHUNK_SHIFT_MIN 12 /* 4 KiB */
#define DDL_CHUNK_SHIFT_MAX 20 /* 1 MiB */
#define DDL_FRAME_MAX_LIMIT (256u * 1024u) /* largest raw DATA record */
#define DDL_FRAME_MIN 4096u

#define DDL_UUID_SIZE 16
#define DDL_HASH_SIZE 16        /* one chunk hash */
#define DDL_FINGERPRINT_SIZE 32 /* four le64 lanes */

/* A point in a volume's history: which snapshot, and what it contains. */
struct ddl_identity {
	ddl_u8 snapshot_uuid[DDL_UUID_SIZE];
	ddl_u8 fingerprint[DDL_FINGERPRINT_SIZE];
};
DDL_STATIC_ASSERT(sizeof(struct ddl_identity) == 48, "ddl_identity size");

struct ddl_header {
	ddl_u8 magic[DDL_MAGIC_LEN];   /*   0 DDL_MAGIC */
	ddl_le32 version;              /*   8 DDL_VERSION */
	ddl_le32 header_size;          /*  12 DDL_HEADER_SIZE */
	ddl_le64 incompat_features;    /*  16 DDL_INCOMPAT_* */
	ddl_le64 compat_features;      /*  24 DDL_COMPAT_* */
	ddl_u8 volume_uuid[DDL_UUID_SIZE]; /* 32 lineage; all-zero: unbound */
	ddl_le64 volume_size;          /*  48 bytes, multiple of 512 */
	ddl_le32 chunk_shift;          /*  56 log2(chunk size), 12..20 */
	ddl_le32 frame_max;            /*  60 max raw bytes of a DATA record */
	ddl_le32 codec;                /*  64 DDL_CODEC_* used by the writer */
	ddl_le32 flags;                /*  68 DDL_HF_* */
	ddl_le64 create_time_ns;       /*  72 UTC, ns since the Unix epoch */
	ddl_le32 chunk_hash;           /*  80 DDL_CHUNK_HASH_* */
	ddl_le32 record_csum;          /*  84 DDL_RECORD_CSUM_* */
	struct ddl_identity base;      /*  88 all-zero for a seed */
	struct ddl_identity target;    /* 136 */
	ddl_u8 reserved[320];          /* 184 zero when written */
	ddl_le64 header_csum;          /* 504 xxh64 of bytes 0..503 */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_header) == DDL_HEADER_SIZE, "ddl_header size");

/* ---- records ----------------------------------------------------------- */

#define DDL_RECORD_MAGIC 0x43455244u /* "DREC" */
#define DDL_RECORD_SIZE 64

#define DDL_REC_DATA 1 /* payload holds the new bytes of [offset, +length) */
#define DDL_REC_ZERO 2 /* [offset, +length) becomes zeros; no payload */
#define DDL_REC_END 3  /* marks the end of the records */

/* Largest hash table of one record (ZERO records covering many chunks are
 * split by the writer so that a streaming reader needs bounded memory). */
#define DDL_MAX_RECORD_HASHES 65536u

struct ddl_record {
	ddl_le32 magic;        /*  0 DDL_RECORD_MAGIC */
	ddl_le16 type;         /*  4 DDL_REC_* */
	ddl_le16 codec;        /*  6 DDL_CODEC_* of the payload */
	ddl_le64 seq;          /*  8 0, 1, 2, ... in file order; END: count */
	ddl_le64 offset;       /* 16 volume byte offset; END: volume_size */
	ddl_le64 length;       /* 24 raw bytes covered; END: 0 */
	ddl_le32 payload_size; /* 32 stored payload bytes; 0 unless DATA */
	ddl_le32 nhash;        /* 36 old-hash entries that follow */
	ddl_le64 data_csum;    /* 40 xxh64 of the raw bytes; 0 unless DATA */
	ddl_le64 reserved;     /* 48 zero */
	ddl_le64 header_csum;  /* 56 xxh64 of bytes 0..55 and the hash table */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_record) == DDL_RECORD_SIZE, "ddl_record size");

/* ---- index --------------------------------------------------------------- */

#define DDL_INDEX_MAGIC 0x58444944u /* "DIDX" */
#define DDL_INDEX_BLOCK_SIZE 4096
#define DDL_INDEX_PER_BLOCK 127

struct ddl_index_entry {
	ddl_le64 offset;      /*  0 volume byte offset of the record */
	ddl_le64 length;      /*  8 raw bytes covered */
	ddl_le64 file_offset; /* 16 where its struct ddl_record starts */
	ddl_le32 record_size; /* 24 64 + 16 * nhash + payload_size */
	ddl_le16 type;        /* 28 DDL_REC_DATA or DDL_REC_ZERO */
	ddl_le16 codec;       /* 30 */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_index_entry) == 32, "ddl_index_entry size");

struct ddl_index_block {
	ddl_le32 magic;       /*    0 DDL_INDEX_MAGIC */
	ddl_le32 count;       /*    4 entries used, 1..127 */
	ddl_le64 block_no;    /*    8 0, 1, 2, ... */
	ddl_le64 file_offset; /*   16 where this block is stored */
	struct ddl_index_entry entries[DDL_INDEX_PER_BLOCK]; /* 24 */
	ddl_le64 csum;        /* 4088 xxh64 of bytes 0..4087 */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_index_block) == DDL_INDEX_BLOCK_SIZE, "ddl_index_block size");

/* ---- footer ---------------------------------------------------------- */

#define DDL_FOOTER_MAGIC "\x89" "DDF\r\n\x1a\n"
#define DDL_FOOTER_SIZE 128

struct ddl_footer {
	ddl_u8 magic[DDL_MAGIC_LEN]; /*   0 DDL_FOOTER_MAGIC */
	ddl_le64 index_offset;       /*   8 */
	ddl_le64 index_blocks;       /*  16 */
	ddl_le64 record_count;       /*  24 DATA + ZERO records */
	ddl_le64 end_offset;         /*  32 file offset of the END record */
	ddl_le64 data_bytes;         /*  40 raw bytes in DATA records */
	ddl_le64 zero_bytes;         /*  48 bytes in ZERO records */
	ddl_le64 payload_bytes;      /*  56 stored payload bytes */
	ddl_le64 changed_chunks;     /*  64 hash entries in all records */
	ddl_le64 header_csum;        /*  72 copy of ddl_header.header_csum */
	ddl_u8 reserved[32];         /*  80 zero */
	ddl_le64 file_csum;          /* 112 xxh64 of file bytes 512 .. here (the
	                              *     header has its own header_csum) */
	ddl_le64 footer_csum;        /* 120 xxh64 of footer bytes 0..119 */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_footer) == DDL_FOOTER_SIZE, "ddl_footer size");

#endif /* DELTAFILE_FORMAT_H */
