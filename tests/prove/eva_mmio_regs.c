/* SPDX-License-Identifier: MIT */
/*
 * EVA harness, part one of the transport (backend/transport/mmio.c): its
 * register file.  A driver's bring-up by the book with every value its own
 * choice (or none at all), then any PROVE_ACCESSES guest accesses: any
 * offset inside the window, any size the ioreq decoder lets through (1, 2,
 * 4, 8), either direction, any value; the device's feature word and the
 * grant mode are any.  The status machine, feature negotiation, the queue
 * registers, QueueReady, the interrupt registers and the config window run
 * as compiled.
 *
 * The serving engine behind QueueNotify (process_queue: the walk, the
 * slots, the batches, the publishing) is the subject of part two
 * (eva_mmio_serve.c, not yet a proof: see there).  Here it is its contract
 * below: it may change what serving changes, and it may break the device,
 * and nothing else; so this part proves the register file, not the engine.
 * Analysed together in one run, each access joins the engine's states into
 * the register file's and the analysis drowns in its own imprecision: the
 * first harness, which did, raised 286 alarms with two accesses
 * (2026-12-02), nearly all from joined states.
 *
 * mmio.c is included, so that its static functions can be given contracts.
 */
#include <errno.h>
#include <string.h>

#include "devices/device.h"
#include "prove_env.h"
#include "transport/mmio.h"
#include "transport/saved.h"

struct mmio_dev;
/*
 * What the register file relies on.  Not listed, so kept: the queue layout
 * the driver wrote (sizes, addresses, features), and the drain bookkeeping,
 * which the engine restores before it returns (it is never entered from a
 * drain).  The engine's own slots and batches are no field the file reads.
 */
/*@ requires \valid(m) && q < VIRTIO_MMIO_MAX_QUEUES;
    assigns m->status, m->isr, m->irq_level, m->config_generation, m->ctr,
            m->deferred_queues, m->waiting_queues, m->completed_queues, m->inflight,
            m->vq[0 .. VIRTIO_MMIO_MAX_QUEUES - 1].rings,
            m->has_stalled[0 .. VIRTIO_MMIO_MAX_QUEUES - 1],
            m->vq[0 .. VIRTIO_MMIO_MAX_QUEUES - 1].started,
            m->vq[0 .. VIRTIO_MMIO_MAX_QUEUES - 1].last_avail,
            m->vq[0 .. VIRTIO_MMIO_MAX_QUEUES - 1].used_idx,
            m->vq[0 .. VIRTIO_MMIO_MAX_QUEUES - 1].signalled_used;
    ensures broken_or_not: m->status == \old(m->status) ||
                           m->status == (\old(m->status) | VIRTIO_STATUS_NEEDS_RESET);
    ensures isr_bits: m->isr == (m->isr & (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG));
    ensures line: m->irq_level == 0 || m->irq_level == 1;
    ensures m->has_stalled[0 .. VIRTIO_MMIO_MAX_QUEUES - 1] == 0 ||
            m->has_stalled[0 .. VIRTIO_MMIO_MAX_QUEUES - 1] == 1;
    ensures m->vq[0 .. VIRTIO_MMIO_MAX_QUEUES - 1].started == 0 ||
            m->vq[0 .. VIRTIO_MMIO_MAX_QUEUES - 1].started == 1;
 */
static void process_queue(struct mmio_dev *m, unsigned q);

#include "transport/mmio.c"

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
    (void)sg;
    (void)tag;
    (void)written;
    return -EINVAL; /* never called: the engine is its contract here */
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
static struct mmio_dev dev;
static struct saved_area area;

static void wr(uint64_t off, uint32_t v)
{
    uint64_t x = v;
    mmio_access(&dev, off, 4, true, &x);
}

/*
 * A driver that brings the device up by the book, every value its own
 * choice; or stops short anywhere (each step is skipped or not).  The
 * accesses after it are anything at all.
 */
static void bring_up(void)
{
    if (prove_bool())
        return;
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, prove_u32());
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, prove_u32());
    wr(VIRTIO_MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    //@ loop unroll 2;
    for (uint32_t q = 0; q < prove_ops.num_queues; q++) {
        if (prove_bool())
            continue;
        wr(VIRTIO_MMIO_QUEUE_SEL, q);
        wr(VIRTIO_MMIO_QUEUE_NUM, prove_u32());
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
    g.mode = (enum gmem_mode)(prove_u32() % 4);
    if (mmio_init(&dev, &prove_ops, NULL, &g, prove_bool(), set_irq, NULL) < 0)
        return 0;
    dev.saved = &area;
    bring_up();
    //@ loop unroll PROVE_ACCESSES;
    for (int i = 0; i < PROVE_ACCESSES; i++) {
        static const uint32_t sizes[] = { 1, 2, 4, 8 };
        uint32_t size = sizes[prove_u32() % 4];
        uint64_t off = prove_u32() % (WINDOW - size + 1);
        uint64_t val = prove_u64();
        mmio_access(&dev, off, size, prove_bool(), &val);
        if (mmio_has_deferred(&dev) && prove_bool())
            mmio_run_deferred(&dev);
    }
    mmio_shutdown(&dev);
    mmio_fini(&dev);
    return 0;
}
