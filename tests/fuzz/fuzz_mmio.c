/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio register state machine: sequences of reads and writes of
 * any size at any offset of the window, with queue address registers often
 * pointing at the granted ring page so queues really start, and the grant
 * pool registers at the data pages so an announced pool is mapped.  Each input
 * starts from a fresh device and ends with a reset.  Oracle: no crash or
 * sanitizer report, nothing mapped after the reset.
 */
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"

static void irq(void *opaque, int level)
{
    (void)opaque;
    (void)level;
}

static uint32_t ring_addr_part(uint16_t off, uint32_t val)
{
    uint64_t a = fz.ring_dma + (val & 0xff8);
    switch (off) {
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
        return (uint32_t)a;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        return (uint32_t)(a >> 32);
    case VIRTIO_MMIO_GRANT_POOL_LOW: /* a pool of the data pages, from one of the first 16 */
        return (uint32_t)(fz.data_dma + ((uint64_t)(val & 0xf) << 12));
    case VIRTIO_MMIO_GRANT_POOL_HIGH:
        return (uint32_t)(fz.data_dma >> 32);
    default:
        return val;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_env_init();
    struct fuzz_in in = { data, size };
    static struct mmio_dev m;
    if (mmio_init(&m, &blk_ops, &fz.blk, &fz.ip.g, true, irq, NULL) < 0)
        abort();
    fz.blk.read_only = false;
    memset(fz.ring, 0, 4096);
    for (unsigned i = 0; i < 256 && in.n >= 4; i++) {
        uint8_t op = fin_u8(&in);
        uint16_t off = fin_u16(&in);
        if (!(op & 0x10))
            off &= 0x1fc; /* mostly aligned registers inside the window */
        static const uint32_t sizes[] = { 4, 4, 1, 2, 8, 3, 4, 4 };
        uint32_t sz = sizes[(op >> 1) & 7];
        uint64_t val = fin_u32(&in);
        if (op & 0x20)
            val = ring_addr_part(off, (uint32_t)val);
        if (op & 0x40) /* let the input also shape the ring between accesses */
            memcpy(fz.ring + (val & 0xf80), in.p, in.n < 128 ? in.n : 128);
        mmio_access(&m, off, sz, op & 1, &val);
    }
    mmio_shutdown(&m);
    mmio_fini(&m);
    fuzz_expect_nothing_mapped();
    return 0;
}
