/* volume_format_header_check.c - volume_disk_format.h must compile as plain
 * C, and every field must sit at the offset that ddloop-volume(5)
 * documents. This file is compiled, never run. */
#include <stddef.h>

#include "snapcore/volume_disk_format.h"

#define AT(type, field, off) DDL_STATIC_ASSERT(offsetof(struct type, field) == (off), #type "." #field)

AT(ddl_vol_manifest_header, magic, 0);
AT(ddl_vol_manifest_header, type, 4);
AT(ddl_vol_manifest_header, length, 8);
AT(ddl_vol_manifest_header, reserved, 12);
AT(ddl_vol_manifest_header, seq, 16);
AT(ddl_vol_manifest_header, volume_uuid, 24);
AT(ddl_vol_snap_head, id, 0);
AT(ddl_vol_snap_head, name_len, 8);
AT(ddl_vol_snap_tail, uuid, 0);
AT(ddl_vol_snap_tail, fingerprint, 16);
AT(ddl_vol_snap_tail, create_ns, 48);
AT(ddl_vol_snap_tail, index_gen, 56);
AT(ddl_vol_snap_tail, chunks, 64);
AT(ddl_vol_checkpoint, volume_size, 0);
AT(ddl_vol_checkpoint, chunk_shift, 8);
AT(ddl_vol_checkpoint, create_ns, 12);
AT(ddl_vol_checkpoint, origin_uuid, 20);
AT(ddl_vol_checkpoint, origin_fingerprint, 36);
AT(ddl_vol_checkpoint, head_id, 68);
AT(ddl_vol_checkpoint, next_id, 76);
AT(ddl_vol_checkpoint, revert_target, 84);
AT(ddl_vol_checkpoint, revert_head, 92);
AT(ddl_vol_checkpoint, snap_count, 100);
AT(ddl_vol_snapshot_create_tail, new_head, 0);
AT(ddl_vol_snapshot_create_tail, next_id, 8);
AT(ddl_vol_snapshot_delete, id, 0);
AT(ddl_vol_snapshot_delete, mode, 8);
AT(ddl_vol_snapshot_delete, next_gen, 12);
AT(ddl_vol_snapshot_delete, next_chunks, 20);
AT(ddl_vol_snapshot_delete, origin_fingerprint, 28);
AT(ddl_vol_snapshot_delete, origin_uuid, 60);
AT(ddl_vol_revert_begin, target, 0);
AT(ddl_vol_revert_begin, new_head, 8);
AT(ddl_vol_revert_begin, next_id, 16);
AT(ddl_vol_revert_done, new_head, 0);
AT(ddl_vol_index_entry, chunk, 0);
AT(ddl_vol_index_entry, old_hash, 8);
AT(ddl_vol_index_entry, new_hash, 24);
AT(ddl_vol_index_block, magic, 0);
AT(ddl_vol_index_block, count, 4);
AT(ddl_vol_index_block, segment, 8);
AT(ddl_vol_index_block, gen, 16);
AT(ddl_vol_index_block, block_no, 24);
AT(ddl_vol_index_block, blocks, 32);
AT(ddl_vol_index_block, volume_uuid, 40);
AT(ddl_vol_index_block, entries, 56);
AT(ddl_vol_index_block, reserved, 4056);
AT(ddl_vol_index_block, csum, 4088);
AT(ddl_vol_journal_header, magic, 0);
AT(ddl_vol_journal_header, type, 4);
AT(ddl_vol_journal_header, count, 8);
AT(ddl_vol_journal_header, reserved, 12);
AT(ddl_vol_journal_header, seq, 16);
AT(ddl_vol_journal_header, segment, 24);
AT(ddl_vol_journal_header, volume_uuid, 32);
AT(ddl_vol_journal_entry, chunk, 0);
AT(ddl_vol_journal_entry, hash, 8);
AT(ddl_cow_trailer, magic, 0);
AT(ddl_cow_trailer, volume_size, 8);
AT(ddl_cow_trailer, target, 16);
AT(ddl_cow_trailer, reserved, 64);
AT(ddl_cow_trailer, csum, 4088);

int ddl_volume_format_header_check_dummy;
