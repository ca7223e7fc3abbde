/* format_header_check.c - deltafile_format.h must compile as plain C (the
 * kernel driver includes it), and every field must sit at the offset that
 * deltafile(5) documents. This file is compiled, never run. */
#include <stddef.h>

#include "deltafile/deltafile_format.h"

#define AT(type, field, off) DDL_STATIC_ASSERT(offsetof(struct type, field) == (off), #type "." #field)

AT(ddl_header, version, 8);
AT(ddl_header, header_size, 12);
AT(ddl_header, incompat_features, 16);
AT(ddl_header, compat_features, 24);
AT(ddl_header, volume_uuid, 32);
AT(ddl_header, volume_size, 48);
AT(ddl_header, chunk_shift, 56);
AT(ddl_header, frame_max, 60);
AT(ddl_header, codec, 64);
AT(ddl_header, flags, 68);
AT(ddl_header, create_time_ns, 72);
AT(ddl_header, chunk_hash, 80);
AT(ddl_header, record_csum, 84);
AT(ddl_header, base, 88);
AT(ddl_header, target, 136);
AT(ddl_header, reserved, 184);
AT(ddl_header, header_csum, 504);
AT(ddl_record, type, 4);
AT(ddl_record, codec, 6);
AT(ddl_record, seq, 8);
AT(ddl_record, offset, 16);
AT(ddl_record, length, 24);
AT(ddl_record, payload_size, 32);
AT(ddl_record, nhash, 36);
AT(ddl_record, data_csum, 40);
AT(ddl_record, reserved, 48);
AT(ddl_record, header_csum, 56);
AT(ddl_index_entry, length, 8);
AT(ddl_index_entry, file_offset, 16);
AT(ddl_index_entry, record_size, 24);
AT(ddl_index_entry, type, 28);
AT(ddl_index_entry, codec, 30);
AT(ddl_index_block, count, 4);
AT(ddl_index_block, block_no, 8);
AT(ddl_index_block, file_offset, 16);
AT(ddl_index_block, entries, 24);
AT(ddl_index_block, csum, 4088);
AT(ddl_footer, index_offset, 8);
AT(ddl_footer, index_blocks, 16);
AT(ddl_footer, record_count, 24);
AT(ddl_footer, end_offset, 32);
AT(ddl_footer, data_bytes, 40);
AT(ddl_footer, zero_bytes, 48);
AT(ddl_footer, payload_bytes, 56);
AT(ddl_footer, changed_chunks, 64);
AT(ddl_footer, header_csum, 72);
AT(ddl_footer, reserved, 80);
AT(ddl_footer, file_csum, 112);
AT(ddl_footer, footer_csum, 120);

int ddl_format_header_check_dummy;
