/* SPDX-License-Identifier: MIT */
/*
 * Forced into every file of the proof (-include): what glibc provides as
 * macros and Frama-C's libc does not.  The backend runs little-endian (x86-64
 * and arm64), where these conversions are the identity.
 */
#ifndef VG_PROVE_LIBC_H
#define VG_PROVE_LIBC_H
#define le16toh(x) ((uint16_t)(x))
#define le32toh(x) ((uint32_t)(x))
#define le64toh(x) ((uint64_t)(x))
#define htole16(x) ((uint16_t)(x))
#define htole32(x) ((uint32_t)(x))
#define htole64(x) ((uint64_t)(x))
/* One thread here: ordering against the guest is not what EVA checks. */
#define __atomic_thread_fence(order) ((void)(order))
#define __atomic_signal_fence(order) ((void)(order))
/* Frama-C 25 does not parse C11 static assertions; the compilers check them. */
#define _Static_assert(cond, msg) struct vg_prove_static_assert_unused
#endif
