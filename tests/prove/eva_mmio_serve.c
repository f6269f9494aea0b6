/* SPDX-License-Identifier: MIT */
/*
 * EVA harness, part two of the transport (backend/transport/mmio.c): the
 * serving engine behind QueueNotify.  A device brought up by the book, both
 * queues of size PROVE_QSIZE at any ring addresses, the features any the
 * device offers; then PROVE_STEPS steps, each any of: a notify of either
 * queue through the register path, the device completing any of its pending
 * chains with any result, a deferred batch run, QueueReady 0 on either
 * queue, or a reset.  Every byte of guest memory is any value (the mapping
 * model, model_alias.c), so the walk, the slots, the batches and the
 * publishing run on whatever a guest can put in its rings.  The device
 * serves a chain as blk does (a header read, a status write), fails it, or
 * keeps it pending; its completions come back through the transport's
 * host interface, as blk's do from its poll.
 *
 * mmio.c is included, as in part one (eva_mmio_regs.c), for symmetry: this
 * part analyses every function of it as compiled.
 *
 * Not a proof yet (`tests/prove/run.sh --mmio`, measured 2026-12-03 at
 * 991a6d0, queue size 2, three steps): 284 alarms in 270 s over both
 * serving paths; with the batch path off (PROVE_DEFS=-DPROVE_BATCH=0) 224
 * alarms in 757 s.  Where the imprecision starts, on either path: the
 * mapping model's per-span loop is merged (model_alias.c, the span's
 * writable flag), and the request slot that free_slot returns ranges over
 * several slots once a step's states are joined, so a span is read at two
 * imprecise indices at once (a slot, then a span in its list) and its
 * fields smear into each other ("Misaligned", span.c gmem_sg_len).  On the
 * batch path the same happens to a batch's members (bb->r[j], bi).  Next:
 * the model's loop unrolled to the chain's length, slots split by index
 * (-eva-split-return on an index free_slot returns, or per-slot
 * partitioning), and the batch loops unrolled to the queue size.
 */
#include <errno.h>
#include <string.h>

#include "devices/device.h"
#include "prove_env.h"
#include "transport/mmio.h"
#include "transport/saved.h"

#include "transport/mmio.c"

#ifndef PROVE_STEPS
#define PROVE_STEPS 3
#endif
#ifndef PROVE_QSIZE
#define PROVE_QSIZE 2
#endif
/* Chains the stand-in device keeps pending at once (blk keeps up to 64). */
#define PENDING_MAX 2

static const struct vdev_host *host;
static void *pending[PENDING_MAX];
static unsigned npending;

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
    (void)off;
    memset(buf, 0, len);
    return 0;
}

static int dev_config_write(void *dev, uint32_t off, const void *buf, uint32_t len)
{
    (void)dev;
    (void)off;
    (void)buf;
    (void)len;
    return -ERANGE;
}

static int dev_handle_chain(void *dev, unsigned queue, const struct gmem_sg *sg, void *tag,
                            uint32_t *written)
{
    (void)dev;
    (void)queue;
    uint8_t hdr[16], status = 0;
    if (gmem_sg_read(sg, 0, hdr, sizeof(hdr)) < 0 || prove_bool())
        return -EINVAL; /* the driver broke the protocol */
    uint64_t wl = gmem_sg_len(sg, true);
    if (wl == 0 || gmem_sg_write(sg, wl - 1, &status, 1) < 0)
        return -EINVAL;
    if (npending < PENDING_MAX && prove_bool()) {
        pending[npending++] = tag;
        return VDEV_PENDING;
    }
    *written = (uint32_t)(wl > UINT32_MAX ? UINT32_MAX : wl);
    return 0;
}

/* Completions, in any order: the one picked goes; the last takes its place. */
static void dev_poll(void *dev, bool wait)
{
    (void)dev;
    //@ loop unroll PENDING_MAX;
    while (npending && (wait || prove_bool())) {
        unsigned i = prove_u32() % npending;
        void *tag = pending[i];
        pending[i] = pending[--npending];
        host->complete(host->opaque, tag, prove_bool() ? 0 : -EIO, prove_u32());
    }
}

static void dev_attach(void *dev, const struct vdev_host *h)
{
    (void)dev;
    host = h;
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
    .attach = dev_attach,
    .poll = dev_poll,
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

static void bring_up(void)
{
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t f = mmio_device_features(&dev) & prove_u64();
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
    wr(VIRTIO_MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    //@ loop unroll 2;
    for (uint32_t q = 0; q < prove_ops.num_queues; q++) {
        wr(VIRTIO_MMIO_QUEUE_SEL, q);
        wr(VIRTIO_MMIO_QUEUE_NUM, PROVE_QSIZE);
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
    //@ loop unroll PROVE_STEPS;
    for (int i = 0; i < PROVE_STEPS; i++) {
        switch (prove_u32() % 5) {
        case 0:
            wr(VIRTIO_MMIO_QUEUE_NOTIFY, prove_u32() % 2);
            break;
        case 1:
            mmio_poll_device(&dev);
            break;
        case 2:
            if (mmio_has_deferred(&dev))
                mmio_run_deferred(&dev);
            break;
        case 3:
            wr(VIRTIO_MMIO_QUEUE_SEL, prove_u32() % 2);
            wr(VIRTIO_MMIO_QUEUE_READY, 0);
            break;
        default:
            wr(VIRTIO_MMIO_STATUS, 0);
            break;
        }
    }
    mmio_shutdown(&dev);
    mmio_fini(&dev);
    return 0;
}
