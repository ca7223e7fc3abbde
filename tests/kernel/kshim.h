/*
 * kshim.h - the few kernel definitions kernel/ddloop_map.h uses, for the
 * userspace harness (extent_map_harness.c). Included before
 * kernel/ddloop_map.h. Allocations are plain malloc, so that ASan sees
 * every byte of an extent map and reports the first one written out of
 * bounds.
 */
#ifndef DDLOOP_KSHIM_H
#define DDLOOP_KSHIM_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define U64_MAX UINT64_MAX
#define GFP_KERNEL 0u
#define __GFP_NOWARN 0u
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define check_add_overflow(a, b, d) __builtin_add_overflow(a, b, d)
#define check_mul_overflow(a, b, d) __builtin_mul_overflow(a, b, d)

/* Counts calls, so a test can tell that a refusal allocated nothing. */
static unsigned long kshim_allocs;

static inline void *kvmalloc_array(size_t n, size_t size, unsigned int flags)
{
	size_t bytes;

	(void)flags;
	if (__builtin_mul_overflow(n, size, &bytes) || bytes > (size_t)INT32_MAX)
		return NULL; /* as the kernel's kvmalloc: nothing above INT_MAX */
	kshim_allocs++;
	return malloc(bytes);
}

static inline void kvfree(const void *p)
{
	free((void *)p);
}

#endif /* DDLOOP_KSHIM_H */
