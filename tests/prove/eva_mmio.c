/* SPDX-License-Identifier: MIT */
/*
 * EVA harness: the virtio-mmio transport (mmio.c, with the walker and the
 * restart bookkeeping it calls) driven by any sequence of PROVE_ACCESSES
 * guest accesses: any offset inside the window, any size the ioreq decoder
 * lets through (1, 2, 4, 8), either direction, any value.  A stand-in device serves chains the
 * way blk does (reads a header, writes a status) or refuses them.
 *
 * Not yet part of make prove, and not a proof: about 280 alarms with two
 * accesses after bring-up, nearly all from EVA's precision, not the code
 * (measured 2026-12-02, `PROVE_EVA="-plevel 2000" tests/prove/run.sh --mmio`):
 *   - a non-relational domain cannot keep the transport's invariants once
 *     register states are joined (a started queue has a power-of-two size and
 *     mapped rings; a busy slot's batch index is in range), so the serving
 *     paths are analysed in states no access sequence reaches;
 *   - two-level indexing (a request slot, then a span in its scatter list)
 *     loses the congruence of offsets, and the fields of mmio_req and
 *     gmem_span smear into each other ("garbled mix", origin Misaligned);
 *   - shrinking the arrays (4 slots, 4 spans, 2 batches) removes only ten.
 * What it would take: ACSL invariants on mmio_dev checked at each access
 * (WP, or EVA with -eva-split annotations on the queue and slot states), or
 * a transport split so each register path is analysed from a precise state.
 * Measured 2026-12-02 as well: a fixed queue size (8) instead of a
 * nondeterministic one gives 287 alarms, so the sizes are not the cause;
 * -eva-slevel 300 ran for over 15 minutes without finishing.  Where the
 * smearing starts (the "Misaligned" origins): the slot pointer that
 * free_slot returns ranges over several request slots once loop states are
 * joined, so the writes through it (r->busy, r->batch = -1) are weak
 * updates; finish_chain then reads a batch index the code has just
 * overwritten, takes the batch path, and writes through m->batch[bi] with
 * bi imprecise (mmio.c batch_member_done, publish_chain).  Slots named by
 * index and the batch decision passed down, rather than re-read, are the
 * next step.
 * finish_chain is no longer recursive (publish_chain is its leaf), so the
 * analysis does run to the end.  Run it with `tests/prove/run.sh --mmio`,
 * which lists the alarms and fails nothing.
 */
#include <errno.h>
#include <string.h>

#include "devices/device.h"
#include "prove_env.h"
#include "transport/mmio.h"
#include "transport/saved.h"

#ifndef PROVE_ACCESSES
#define PROVE_ACCESSES 8
#endif
#define WINDOW 0x1000u /* VG_WINDOW_MAX: the largest window the launcher maps */

static uint8_t config[8];

static uint64_t dev_features(void *dev)
{
    (void)dev;
    return prove_u64();
}

static void dev_set_features(void *dev, uint64_t f)
{
    (void)dev;
    (void)f;
}

static int dev_config_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
    (void)dev;
    if (off > sizeof(config) || len > sizeof(config) - off)
        return -ERANGE;
    memcpy(buf, config + off, len);
    return 0;
}

static int dev_config_write(void *dev, uint32_t off, const void *buf, uint32_t len)
{
    (void)dev;
    if (off > sizeof(config) || len > sizeof(config) - off)
        return -ERANGE;
    memcpy(config + off, buf, len);
    return 0;
}

static int dev_handle_chain(void *dev, unsigned queue, const struct gmem_sg *sg, void *tag,
                            uint32_t *written)
{
    (void)dev;
    (void)queue;
    (void)tag;
    uint8_t hdr[16], status = 0;
    if (gmem_sg_read(sg, 0, hdr, sizeof(hdr)) < 0 || prove_bool())
        return -EINVAL; /* the driver broke the protocol */
    uint64_t wl = gmem_sg_len(sg, true);
    if (wl == 0 || gmem_sg_write(sg, wl - 1, &status, 1) < 0)
        return -EINVAL;
    *written = (uint32_t)(wl > UINT32_MAX ? UINT32_MAX : wl);
    return 0;
}

static void dev_reset(void *dev)
{
    (void)dev;
}

static const struct vdev_ops prove_ops = {
    .name = "prove",
    .device_id = 2,
    .num_queues = 2,
    .queue_size_max = 256,
    .features = dev_features,
    .set_features = dev_set_features,
    .config_read = dev_config_read,
    .config_write = dev_config_write,
    .handle_chain = dev_handle_chain,
    .reset = dev_reset,
};

static void set_irq(void *opaque, int level)
{
    (void)opaque;
    (void)level;
}

static struct gmem g;
static struct mmio_dev m;
static struct saved_area area;

static void wr(uint64_t off, uint32_t v)
{
    uint64_t x = v;
    mmio_access(&m, off, 4, true, &x);
}

/*
 * A driver brings the device up by the book, every value its own choice:
 * features, each queue's size (a power of two up to 256) and ring addresses.
 * Starting a queue may still fail (rings not granted): the device is broken.
 */
static void bring_up(void)
{
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    for (uint32_t sel = 0; sel < 2; sel++) {
        wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
        wr(VIRTIO_MMIO_DRIVER_FEATURES, prove_u32());
    }
    wr(VIRTIO_MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    for (uint32_t q = 0; q < prove_ops.num_queues; q++) {
        wr(VIRTIO_MMIO_QUEUE_SEL, q);
#ifdef PROVE_QSIZE
        wr(VIRTIO_MMIO_QUEUE_NUM, PROVE_QSIZE);
#else
        wr(VIRTIO_MMIO_QUEUE_NUM, 1u << (prove_u32() % 9));
#endif
        wr(VIRTIO_MMIO_QUEUE_DESC_LOW, prove_u32());
        wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, prove_u32());
        wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, prove_u32());
        wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, prove_u32());
        wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, prove_u32());
        wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, prove_u32());
        wr(VIRTIO_MMIO_QUEUE_READY, 1);
    }
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                               VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

int main(void)
{
    saved_init(&area);
    if (mmio_init(&m, &prove_ops, NULL, &g, prove_bool(), set_irq, NULL) < 0)
        return 0;
    m.saved = &area;
    bring_up();
    //@ loop unroll PROVE_ACCESSES;
    for (int i = 0; i < PROVE_ACCESSES; i++) {
        static const uint32_t sizes[] = { 1, 2, 4, 8 };
        uint32_t size = sizes[prove_u32() % 4];
        uint64_t off = prove_u32() % (WINDOW - size + 1);
        uint64_t val = prove_u64();
        mmio_access(&m, off, size, prove_bool(), &val);
        if (mmio_has_deferred(&m) && prove_bool())
            mmio_run_deferred(&m);
    }
    mmio_shutdown(&m);
    mmio_fini(&m);
    return 0;
}
