/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture of the libFuzzer harnesses: one simulated guest in-process
 * with a granted ring page, granted data pages (one of them granted
 * read-only), a virtio-blk device on a sparse temporary image, and a reader
 * that turns fuzzer bytes into values.
 */
#ifndef VG_FUZZ_COMMON_H
#define VG_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "../common/inproc.h"
#include "devices/blk.h"
#include "transport/mmio.h"

#define FZ_DATA_PAGES 8 /* the last one is granted read-only */
#define FZ_IMAGE_SECTORS 2048u

struct fuzz_env {
    struct inproc ip;
    uint8_t *ring, *data, *ro;
    uint64_t ring_dma, data_dma, ro_dma;
    struct blk_dev blk;
    char image[128];
};

extern struct fuzz_env fz;

/* Once per process; aborts if the fixture cannot be built (not guest data). */
void fuzz_env_init(void);
/* No grant may stay mapped once a harness has reset what it used. */
void fuzz_expect_nothing_mapped(void);

struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

uint8_t fin_u8(struct fuzz_in *in);
uint16_t fin_u16(struct fuzz_in *in);
uint32_t fin_u32(struct fuzz_in *in);
uint64_t fin_u64(struct fuzz_in *in);
/*
 * A buffer address: mostly inside the granted data pages (so the walk goes
 * deep), sometimes the read-only page, an ungranted ref, a bit-63-clear
 * address or a raw value.
 */
uint64_t fin_addr(struct fuzz_in *in);

#endif
