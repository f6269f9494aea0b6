/* SPDX-License-Identifier: MIT */
/*
 * The transport tests' fixture (test_mmio, test_resume): a blk device on a
 * 1 MiB image (setup) or a 16 MiB one on io_uring (setup_async), behind the
 * mmio transport, driven in-process against a simulated guest.
 */
#ifndef VG_TEST_MMIO_FIXTURE_H
#define VG_TEST_MMIO_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/inproc.h"
#include "devices/blk.h"
#include "transport/mmio.h"

extern struct inproc ip;
extern struct blk_dev blk;
extern struct mmio_dev m;
extern char img[96];
extern int irq_level, irq_raises;

void set_irq(void *opaque, int level);
uint32_t rd(uint64_t off);
void wr(uint64_t off, uint32_t val);
int setup(void **state);
int setup_async(void **state);
int teardown(void **state);
bool needs_reset(void);

/* The queue start_async_queue sets up and notifies. */
extern unsigned aqueue;
/* Its ring: two granted pages, desc at 0, avail at 0x400, used at 0x1000. */
extern uint8_t *aring;
extern uint64_t aring_dma;
/* If apool_pages: the pool announced before DRIVER_OK (GRANT_POOL in the features). */
extern uint64_t apool_addr;
extern uint32_t apool_pages;
void start_async_queue_lo(uint32_t features_lo, uint32_t features_hi);
void start_async_queue(uint32_t features_hi);
/*
 * n writes, chain i = descriptors 3i..3i+2: a header (sector stride * i), len
 * bytes of data at data_dma + i * data_step (device-readable), and status
 * byte i in the header page.
 */
void publish_writes_at(unsigned n, uint64_t hdr_dma, uint8_t *hdr, uint64_t data_dma,
                       uint64_t data_step, uint32_t len, uint64_t stride);
void publish_writes(unsigned n, uint64_t hdr_dma, uint8_t *hdr, uint64_t data_dma, uint32_t len);
uint16_t used_idx(void);
void notify_async_queue(void);
/* Poll the device until n used entries are out (at most about 5 s). */
void poll_until_used(uint16_t n);

#endif
