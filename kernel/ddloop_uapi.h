/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note OR MIT */
/*
 * ddloop_uapi.h - the ioctls of /dev/ddloop-control.
 *
 * Shared by kernel/ddloop.c and attach/kernel_device.cc. Structs keep
 * reserved fields that callers set to zero, so they can grow without a new
 * ioctl number.
 */
#ifndef DDLOOP_UAPI_H
#define DDLOOP_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define DDLOOP_MAX_DELTAS 512

/*
 * Largest decoded-record cache of one device: ddloop_add.cache_bytes and
 * the module parameter cache_mb are clamped to it (1 GiB).
 */
#define DDLOOP_CACHE_MB_MAX 1024
#define DDLOOP_CACHE_BYTES_MAX ((__u64)DDLOOP_CACHE_MB_MAX << 20)

/* Add a device: a base image (optional) and deltafiles in chain order. */
struct ddloop_add {
	__s32 base_fd;     /* in: -1 for a seed chain */
	__u32 ndeltas;     /* in: 1..DDLOOP_MAX_DELTAS */
	__u64 delta_fds;   /* in: user pointer to __s32[ndeltas] */
	__u64 cache_bytes; /* in: decoded-record cache, 0 = module default;
	                    * clamped to DDLOOP_CACHE_BYTES_MAX */
	__s32 index;       /* out: N of /dev/ddloopN */
	__u32 flags;       /* in: zero */
	__u64 reserved[6]; /* zero */
};

struct ddloop_status {
	__s32 index;        /* in */
	__u32 ndeltas;      /* out */
	__u64 size;         /* out: bytes */
	__u64 extents;      /* out: merged extent map entries */
	__u64 index_bytes;  /* out: kernel memory held for the index */
	__u64 cache_bytes;  /* out: decoded records cached now */
	__u64 io_errors;    /* out: requests failed for damaged records */
	__u32 openers;      /* out */
	__u32 pad;
	__u64 cache_max;    /* out: the cache's bound, after clamping */
	__u64 reserved[5];
};

#define DDLOOP_CTL_ADD _IOWR(0xDD, 1, struct ddloop_add)
#define DDLOOP_CTL_REMOVE _IOW(0xDD, 2, __s32)
#define DDLOOP_CTL_STATUS _IOWR(0xDD, 3, struct ddloop_status)

#endif /* DDLOOP_UAPI_H */
