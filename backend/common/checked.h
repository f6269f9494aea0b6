/* SPDX-License-Identifier: MIT */
/* Overflow-safe arithmetic for values a guest controls. */
#ifndef VG_CHECKED_H
#define VG_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

/* True when [off, off+len) lies inside [0, limit) without wrapping. */
static inline bool vg_range_ok(uint64_t off, uint64_t len, uint64_t limit)
{
    return off <= limit && len <= limit - off;
}

static inline bool vg_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

static inline bool vg_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

#define VG_PAGE_SIZE 4096u
#define VG_PAGE_SHIFT 12
#define VG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
