/* SPDX-License-Identifier: MIT */
/*
 * EVA harness: the virtio-mmio transport (mmio.c, with the walker and the
 * restart bookkeeping it calls) driven by any sequence of PROVE_ACCESSES
 * guest accesses: any offset inside the window, any size the ioreq decoder
 * lets through (1, 2, 4, 8), either direction, any value.  A stand-in device serves chains the
 * way blk does (reads a header, writes a status) or refuses them.
 *
 * Not yet part of make prove: EVA stops at the finish_chain /
 * batch_member_done recursion (it needs an ACSL contract for finish_chain)
 * and, with two accesses, raises ~280 alarms, most from joined register
 * state (queue_sel, the queue size) rather than from the code.  Run it with
 * `tests/prove/run.sh --mmio`, which lists them and fails nothing.
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

int main(void)
{
    saved_init(&area);
    if (mmio_init(&m, &prove_ops, NULL, &g, prove_bool(), set_irq, NULL) < 0)
        return 0;
    m.saved = &area;
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
