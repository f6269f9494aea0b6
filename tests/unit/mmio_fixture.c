/* SPDX-License-Identifier: MIT */
/* The transport tests' fixture: one blk device behind mmio on a simulated guest, in-process. */
#define _GNU_SOURCE
#include "mmio_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct inproc ip;
struct blk_dev blk;
struct mmio_dev m;
char img[96];
int irq_level, irq_raises;

void set_irq(void *opaque, int level)
{
    (void)opaque;
    irq_level = level;
    irq_raises += level;
}

uint32_t rd(uint64_t off)
{
    uint64_t v = 0xdead;
    mmio_access(&m, off, 4, false, &v);
    return (uint32_t)v;
}

void wr(uint64_t off, uint32_t val)
{
    uint64_t v = val;
    mmio_access(&m, off, 4, true, &v);
}

int setup(void **state)
{
    (void)state;
    if (inproc_up(&ip) < 0)
        return -1;
    snprintf(img, sizeof(img), "%s/disk.img", ip.env.dir);
    FILE *f = fopen(img, "w");
    if (!f || ftruncate(fileno(f), 1 << 20) < 0)
        return -1;
    fclose(f);
    if (blk_open(&blk, img, false, NULL, 256) < 0)
        return -1;
    irq_level = irq_raises = 0;
    if (mmio_init(&m, &blk_ops, &blk, &ip.g, true, set_irq, NULL) < 0)
        return -1;
    return 0;
}

int teardown(void **state)
{
    (void)state;
    mmio_shutdown(&m);
    mmio_fini(&m);
    blk_close(&blk);
    assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
    inproc_down(&ip);
    return 0;
}

bool needs_reset(void)
{
    return rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET;
}

unsigned aqueue; /* the queue start_async_queue sets up and notifies */

/* The same device on the io_uring engine (16 MiB): chains stay in flight until polled. */
int setup_async(void **state)
{
    if (setup(state) < 0)
        return -1;
    mmio_fini(&m);
    blk_close(&blk);
    aqueue = 0;
    if (truncate(img, 16 << 20) < 0 || blk_open(&blk, img, false, NULL, 256) < 0 ||
        blk_start_aio(&blk, AIO_PREF_URING) < 0)
        return -1;
    return mmio_init(&m, &blk_ops, &blk, &ip.g, true, set_irq, NULL);
}

uint8_t *aring;
uint64_t aring_dma;
uint64_t apool_addr;
uint32_t apool_pages;

/* A 64-entry queue on two granted pages: desc at 0, avail at 0x400, used at 0x1000. */
void start_async_queue_lo(uint32_t features_lo, uint32_t features_hi)
{
    aring_dma = inproc_grant(&ip, 2, false, &aring);
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, features_lo);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, features_hi);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                               VIRTIO_STATUS_FEATURES_OK);
    wr(VIRTIO_MMIO_QUEUE_SEL, aqueue);
    wr(VIRTIO_MMIO_QUEUE_NUM, 64);
    wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)aring_dma);
    wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(aring_dma >> 32));
    wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(aring_dma + 0x400));
    wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)((aring_dma + 0x400) >> 32));
    wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(aring_dma + 0x1000));
    wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)((aring_dma + 0x1000) >> 32));
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    if (apool_pages) {
        wr(VIRTIO_MMIO_GRANT_POOL_LOW, (uint32_t)apool_addr);
        wr(VIRTIO_MMIO_GRANT_POOL_HIGH, (uint32_t)(apool_addr >> 32));
        wr(VIRTIO_MMIO_GRANT_POOL_PAGES, apool_pages);
    }
    wr(VIRTIO_MMIO_STATUS, 15);
}

void start_async_queue(uint32_t features_hi)
{
    start_async_queue_lo(0, features_hi);
}

/*
 * n writes, chain i = descriptors 3i..3i+2: a header (sector stride * i), len
 * bytes of data at data_dma + i * data_step (device-readable), and status
 * byte i in the header page.
 */
void publish_writes_at(unsigned n, uint64_t hdr_dma, uint8_t *hdr, uint64_t data_dma,
                              uint64_t data_step, uint32_t len, uint64_t stride)
{
    for (unsigned i = 0; i < n; i++) {
        uint32_t type = 1;
        uint64_t sector = stride * i;
        memcpy(hdr + 16 * i, &type, 4);
        memcpy(hdr + 16 * i + 8, &sector, 8);
        hdr[0x800 + i] = 0xee;
        struct { uint64_t a; uint32_t l; uint16_t f, n; } d[3] = {
            { hdr_dma + 16 * i, 16, 1, (uint16_t)(3 * i + 1) },
            { data_dma + i * data_step, len, 1, (uint16_t)(3 * i + 2) },
            { hdr_dma + 0x800 + i, 1, 2, 0 },
        };
        memcpy(aring + 16 * 3 * i, d, sizeof(d));
        uint16_t head = (uint16_t)(3 * i);
        memcpy(aring + 0x404 + 2 * i, &head, 2);
    }
    uint16_t idx = (uint16_t)n;
    memcpy(aring + 0x402, &idx, 2);
}

void publish_writes(unsigned n, uint64_t hdr_dma, uint8_t *hdr, uint64_t data_dma,
                           uint32_t len)
{
    publish_writes_at(n, hdr_dma, hdr, data_dma, 0, len, 8);
}

uint16_t used_idx(void)
{
    uint16_t u;
    memcpy(&u, aring + 0x1002, 2);
    return u;
}

/* Poll the device until n used entries are out (at most about 5 s). */
void notify_async_queue(void)
{
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, aqueue);
}

void poll_until_used(uint16_t n)
{
    for (int i = 0; i < 5000 && used_idx() != n; i++) {
        mmio_poll_device(&m);
        if (used_idx() != n)
            usleep(1000);
    }
    assert_int_equal(used_idx(), n);
}
