/* SPDX-License-Identifier: MIT */
/*
 * The whole device in-process through the simulator: a driver-like bring-up
 * through the registers (features, one queue on the granted ring page), then
 * rounds in which the input rewrites the descriptor table, avail ring,
 * indirect tables and request headers and notifies, acknowledges interrupts
 * or resets the device.  Oracle: no crash or sanitizer report; after a reset
 * only nothing stays mapped.
 */
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "xensim/vdrv.h"

static struct mmio_dev m;

static void irq(void *opaque, int level)
{
    (void)opaque;
    (void)level;
}

static void wr(uint32_t off, uint32_t v)
{
    uint64_t val = v;
    mmio_access(&m, off, 4, true, &val);
}

static uint32_t rd(uint32_t off)
{
    uint64_t val = 0;
    mmio_access(&m, off, 4, false, &val);
    return (uint32_t)val;
}

static void bring_up(uint16_t qs, uint32_t feat_lo, uint32_t feat_hi)
{
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint32_t lo = rd(VIRTIO_MMIO_DEVICE_FEATURES);
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint32_t hi = rd(VIRTIO_MMIO_DEVICE_FEATURES);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, lo & feat_lo);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, hi & (feat_hi | 3u)); /* VERSION_1, ACCESS_PLATFORM */
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                               VIRTIO_STATUS_FEATURES_OK);
    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(VIRTIO_MMIO_QUEUE_NUM, qs);
    uint64_t d = fz.ring_dma, a = fz.ring_dma + 2048, u = fz.ring_dma + 2560;
    wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)d);
    wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(d >> 32));
    wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)a);
    wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(a >> 32));
    wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)u);
    wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(u >> 32));
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                               VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_env_init();
    struct fuzz_in in = { data, size };
    static const uint16_t sizes[] = { 1, 2, 4, 8, 16, 32, 64, 128 };
    uint8_t cfg = fin_u8(&in);
    uint16_t qs = sizes[cfg & 7];
    uint32_t feat_lo = fin_u32(&in), feat_hi = fin_u32(&in);
    memset(fz.ring, 0, 4096);
    if (mmio_init(&m, &blk_ops, &fz.blk, &fz.ip.g, true, irq, NULL) < 0)
        abort();
    fz.blk.read_only = cfg & 8;
    bring_up(qs, feat_lo, feat_hi);
    uint16_t avail_idx = 0;
    for (unsigned round = 0; round < 32 && in.n; round++) {
        uint8_t op = fin_u8(&in);
        switch (op & 7) {
        case 0: { /* a descriptor, in the ring or an indirect table */
            uint8_t *table = (op & 8) ? fz.data : fz.ring;
            uint16_t idx = fin_u8(&in);
            uint64_t addr = fin_addr(&in);
            uint32_t len = (op & 16) ? fin_u32(&in) : fin_u16(&in) % 9000u;
            uint16_t flags = fin_u8(&in) & 7, next = fin_u8(&in);
            if (table == fz.ring)
                idx %= qs;
            vdrv_encode_desc(table, idx, addr, len, flags, (uint16_t)(next % (qs + 1u)));
            break;
        }
        case 1: { /* publish a head; sometimes a wild avail idx */
            uint16_t head = (uint16_t)(fin_u8(&in) % (qs + 1u));
            memcpy(fz.ring + 2048 + 4 + 2 * (avail_idx % qs), &head, 2);
            avail_idx = (op & 8) ? fin_u16(&in) : (uint16_t)(avail_idx + 1);
            memcpy(fz.ring + 2048 + 2, &avail_idx, 2);
            break;
        }
        case 2: { /* a request header in a data page */
            uint16_t at = fin_u16(&in) % (6 * 4096u - 16);
            uint32_t type = fin_u8(&in) % 16;
            uint64_t sector = fin_u16(&in) % (FZ_IMAGE_SECTORS + 64u);
            memcpy(fz.data + at, &type, 4);
            memcpy(fz.data + at + 8, &sector, 8);
            break;
        }
        case 3:
        case 4:
            wr(VIRTIO_MMIO_QUEUE_NOTIFY, (op & 8) ? fin_u8(&in) : 0);
            break;
        case 5:
            wr(VIRTIO_MMIO_INTERRUPT_ACK, rd(VIRTIO_MMIO_INTERRUPT_STATUS));
            break;
        case 6: { /* any register write */
            uint16_t off = fin_u16(&in) & 0x1fc;
            wr(off, fin_u32(&in));
            break;
        }
        default: /* reset and bring up again */
            bring_up(qs, feat_lo, feat_hi);
            avail_idx = 0;
            memset(fz.ring + 2048, 0, 2048);
            break;
        }
    }
    wr(VIRTIO_MMIO_STATUS, 0);
    fuzz_expect_nothing_mapped();
    mmio_shutdown(&m);
    mmio_fini(&m);
    return 0;
}
