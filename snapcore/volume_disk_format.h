/* SPDX-License-Identifier: MIT */
/* clang-format off */
/* (plain C in the kernel's style, shared with kernel/: CONTRIBUTING.md) */
/*
 * volume_disk_format.h - the on-disk format of a ddloop volume's metadata,
 * version 1, and of the COW overlay file's trailer.
 *
 * This is the one definition of the layouts; man/ddloop-volume.5 is the
 * normative description (what each field means, what XXH64 covers, how a
 * reader rebuilds the state). Plain C with no dependencies, like
 * deltafile/deltafile_format.h, whose types (ddl_le32, ...) and sizes
 * (DDL_UUID_SIZE, DDL_HASH_SIZE, DDL_FINGERPRINT_SIZE) it uses. Constants
 * and structs only: no state, nothing to lock (thread-safe).
 *
 * Every multi-byte integer is little-endian. The structs describe byte
 * layouts: code never reads or writes a field through them; it converts each
 * field with deltafile/endian.h at offsetof(struct, field) of a byte buffer
 * (snapcore/volume_format.cc). The fixed blocks (index block, journal
 * header, manifest header, COW trailer) are naturally aligned without
 * implicit padding. The manifest payloads are packed (__attribute__((packed)),
 * DDL_VOL_PACKED): they follow each other and a name of any length, so their
 * fields sit at any byte offset. Sizes and offsets are asserted below and in
 * tests/snapcore/volume_format_header_check.c.
 *
 * A volume is a directory (ddloop-volume(5)):
 *   manifest            manifest records: one checkpoint, then edits
 *   base                the origin content, volume_size bytes
 *   seg-<id>.data       a segment's chunks at their own offsets (sparse)
 *   seg-<id>-<gen>.idx  a sealed segment's index: ddl_vol_index_block[]
 *   seg-<id>.jnl        the live head's journal: journal records
 *   lock, control       held/served by the ddloop command; not metadata
 *
 * Checksums are XXH64, seed 0 (DDL_RECORD_CSUM_XXH64 of deltafile(5)).
 */
#ifndef DDLOOP_VOLUME_DISK_FORMAT_H
#define DDLOOP_VOLUME_DISK_FORMAT_H

#include "deltafile/deltafile_format.h"

#define DDL_VOL_PACKED __attribute__((packed))

/* ---- manifest ------------------------------------------------------------ */

#define DDL_VOL_MANIFEST_MAGIC 0x4d4c4444u /* "DDLM" read as bytes */
#define DDL_VOL_MANIFEST_HEADER_SIZE 40
#define DDL_VOL_MANIFEST_MAX_PAYLOAD (1u << 30)
#define DDL_VOL_MANIFEST_CSUM_SIZE 8 /* le64 after the payload */
#define DDL_VOL_MAX_NAME 255         /* bytes of a snapshot name */

/* record types */
#define DDL_VOL_REC_CHECKPOINT 1      /* the whole state; only the first record */
#define DDL_VOL_REC_SNAPSHOT_CREATE 2 /* the head was sealed as a snapshot */
#define DDL_VOL_REC_SNAPSHOT_DELETE 3 /* a snapshot's segment was folded/merged */
#define DDL_VOL_REC_REVERT_BEGIN 4    /* a head with a snapshot's content is built */
#define DDL_VOL_REC_REVERT_DONE 5     /* that head replaced the live one */

/* A record is: this header, `length` payload bytes, then an le64 XXH64 of
 * the header and the payload (40 + length bytes). */
struct ddl_vol_manifest_header {
	ddl_le32 magic;                    /*  0 DDL_VOL_MANIFEST_MAGIC */
	ddl_le32 type;                     /*  4 DDL_VOL_REC_* */
	ddl_le32 length;                   /*  8 payload bytes, <= MAX_PAYLOAD */
	ddl_le32 reserved;                 /* 12 zero */
	ddl_le64 seq;                      /* 16 1, 2, 3, ... without gaps */
	ddl_u8 volume_uuid[DDL_UUID_SIZE]; /* 24 the volume's UUID */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_vol_manifest_header) == DDL_VOL_MANIFEST_HEADER_SIZE,
		  "ddl_vol_manifest_header size");

/* A snapshot in a payload: ddl_vol_snap_head, name_len bytes of name (no
 * terminator), ddl_vol_snap_tail. */
struct DDL_VOL_PACKED ddl_vol_snap_head {
	ddl_le64 id;       /*  0 snapshot id = id of the segment of its changes */
	ddl_le32 name_len; /*  8 1..DDL_VOL_MAX_NAME */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_vol_snap_head) == 12, "ddl_vol_snap_head size");

struct DDL_VOL_PACKED ddl_vol_snap_tail {
	ddl_u8 uuid[DDL_UUID_SIZE];               /*  0 the snapshot's UUID */
	ddl_u8 fingerprint[DDL_FINGERPRINT_SIZE]; /* 16 of its whole content */
	ddl_le64 create_ns;                       /* 48 UTC ns since the epoch */
	ddl_le64 index_gen;                       /* 56 current seg-<id>-<gen>.idx */
	ddl_le64 chunks;                          /* 64 entries in that index */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_vol_snap_tail) == 72, "ddl_vol_snap_tail size");

/* CHECKPOINT payload: this, then snap_count snapshots, oldest first. */
struct DDL_VOL_PACKED ddl_vol_checkpoint {
	ddl_le64 volume_size;                       /*   0 bytes, multiple of 512 */
	ddl_le32 chunk_shift;                       /*   8 log2(chunk size) */
	ddl_le64 create_ns;                         /*  12 UTC ns since the epoch */
	ddl_u8 origin_uuid[DDL_UUID_SIZE];          /*  20 identity of `base` */
	ddl_u8 origin_fingerprint[DDL_FINGERPRINT_SIZE]; /* 36 */
	ddl_le64 head_id;                           /*  68 the live head segment */
	ddl_le64 next_id;                           /*  76 next unused id */
	ddl_le64 revert_target;                     /*  84 0, or a revert's target */
	ddl_le64 revert_head;                       /*  92 0, or the head it builds */
	ddl_le64 snap_count;                        /* 100 */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_vol_checkpoint) == 108, "ddl_vol_checkpoint size");

/* SNAPSHOT_CREATE payload: a snapshot (the sealed head), then this. */
struct DDL_VOL_PACKED ddl_vol_snapshot_create_tail {
	ddl_le64 new_head; /* 0 id of the new, empty head */
	ddl_le64 next_id;  /* 8 */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_vol_snapshot_create_tail) == 16, "ddl_vol_snapshot_create_tail size");

/* SNAPSHOT_DELETE modes */
#define DDL_VOL_DELETE_FOLD_INTO_BASE 0  /* the oldest: chunks written into base */
#define DDL_VOL_DELETE_MERGE_INTO_NEXT 1 /* chunks copied into the next snapshot */
#define DDL_VOL_DELETE_MERGE_INTO_HEAD 2 /* the newest: chunks went to the head */

struct DDL_VOL_PACKED ddl_vol_snapshot_delete {
	ddl_le64 id;                               /*  0 the deleted snapshot */
	ddl_le32 mode;                             /*  8 DDL_VOL_DELETE_* */
	ddl_le64 next_gen;                         /* 12 MERGE_INTO_NEXT: new index gen */
	ddl_le64 next_chunks;                      /* 20 ... and its entry count */
	ddl_u8 origin_fingerprint[DDL_FINGERPRINT_SIZE]; /* 28 FOLD: the new origin */
	ddl_u8 origin_uuid[DDL_UUID_SIZE];         /* 60 FOLD: the new origin */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_vol_snapshot_delete) == 76, "ddl_vol_snapshot_delete size");

struct DDL_VOL_PACKED ddl_vol_revert_begin {
	ddl_le64 target;   /*  0 the snapshot whose content the head gets */
	ddl_le64 new_head; /*  8 id of the head being built */
	ddl_le64 next_id;  /* 16 */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_vol_revert_begin) == 24, "ddl_vol_revert_begin size");

struct DDL_VOL_PACKED ddl_vol_revert_done {
	ddl_le64 new_head; /* 0 = the revert_head of the REVERT_BEGIN */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_vol_revert_done) == 8, "ddl_vol_revert_done size");

/* ---- segment index ------------------------------------------------------ */

#define DDL_VOL_INDEX_MAGIC 0x494c4444u /* "DDLI" */
#define DDL_VOL_INDEX_BLOCK_SIZE 4096
#define DDL_VOL_INDEX_PER_BLOCK 100

struct ddl_vol_index_entry {
	ddl_le64 chunk;                   /*  0 chunk number, ascending in a file */
	ddl_u8 old_hash[DDL_HASH_SIZE];   /*  8 in the previous snapshot (or origin) */
	ddl_u8 new_hash[DDL_HASH_SIZE];   /* 24 in this snapshot */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_vol_index_entry) == 40, "ddl_vol_index_entry size");

struct ddl_vol_index_block {
	ddl_le32 magic;                    /*    0 DDL_VOL_INDEX_MAGIC */
	ddl_le32 count;                    /*    4 entries used, 0..100 */
	ddl_le64 segment;                  /*    8 segment (= snapshot) id */
	ddl_le64 gen;                      /*   16 index generation, >= 1 */
	ddl_le64 block_no;                 /*   24 this block's position, 0.. */
	ddl_le64 blocks;                   /*   32 blocks in the file */
	ddl_u8 volume_uuid[DDL_UUID_SIZE]; /*   40 */
	struct ddl_vol_index_entry entries[DDL_VOL_INDEX_PER_BLOCK]; /* 56 unused: zero */
	ddl_u8 reserved[32];               /* 4056 zero */
	ddl_le64 csum;                     /* 4088 XXH64 of bytes 0..4087 */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_vol_index_block) == DDL_VOL_INDEX_BLOCK_SIZE, "ddl_vol_index_block size");

/* ---- head journal -------------------------------------------------------- */

#define DDL_VOL_JOURNAL_MAGIC 0x4a4c4444u /* "DDLJ" */
#define DDL_VOL_JOURNAL_HEADER_SIZE 48
#define DDL_VOL_JOURNAL_MAX_ENTRIES (1u << 24) /* per record, on read */
#define DDL_VOL_JOURNAL_CSUM_SIZE 8            /* le64 after the entries */

#define DDL_VOL_JNL_ENTRIES 1 /* chunks flushed (count may be 0: "open") */
#define DDL_VOL_JNL_CLEAN 2   /* closed: every hash describes the data */

/* A record is: this header, count ddl_vol_journal_entry, then an le64
 * XXH64 of everything before it in the record. */
struct ddl_vol_journal_header {
	ddl_le32 magic;                    /*  0 DDL_VOL_JOURNAL_MAGIC */
	ddl_le32 type;                     /*  4 DDL_VOL_JNL_* */
	ddl_le32 count;                    /*  8 entries that follow */
	ddl_le32 reserved;                 /* 12 zero */
	ddl_le64 seq;                      /* 16 1, 2, 3, ... in the file */
	ddl_le64 segment;                  /* 24 the head segment's id */
	ddl_u8 volume_uuid[DDL_UUID_SIZE]; /* 32 */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_vol_journal_header) == DDL_VOL_JOURNAL_HEADER_SIZE,
		  "ddl_vol_journal_header size");

struct ddl_vol_journal_entry {
	ddl_le64 chunk;               /* 0 */
	ddl_u8 hash[DDL_HASH_SIZE];   /* 8 XXH3-128 chunk hash (deltafile(5)) */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_vol_journal_entry) == 24, "ddl_vol_journal_entry size");

/* ---- COW overlay file (ddloop mount --cow) ------------------------------- */

/* The file: the volume's bytes at their own offsets (sparse), padded to a
 * 4 KiB boundary; then a bitmap of the 4 KiB blocks written (bit b%64 of
 * le64 word b/64), padded to 4 KiB; then this trailer, the file's last
 * 4096 bytes. Written once, when the file is created. */
#define DDL_COW_MAGIC "DDLCOW1" /* 8 bytes with its NUL */
#define DDL_COW_MAGIC_LEN 8
#define DDL_COW_BLOCK_SIZE 4096   /* unit of the bitmap */
#define DDL_COW_TRAILER_SIZE 4096

struct ddl_cow_trailer {
	ddl_u8 magic[DDL_COW_MAGIC_LEN]; /*    0 DDL_COW_MAGIC */
	ddl_le64 volume_size;            /*    8 bytes of the chain it overlays */
	struct ddl_identity target;      /*   16 the chain's target identity */
	ddl_u8 reserved[4024];           /*   64 zero */
	ddl_le64 csum;                   /* 4088 XXH64 of bytes 0..4087 */
};
DDL_STATIC_ASSERT(sizeof(struct ddl_cow_trailer) == DDL_COW_TRAILER_SIZE, "ddl_cow_trailer size");

#endif /* DDLOOP_VOLUME_DISK_FORMAT_H */
