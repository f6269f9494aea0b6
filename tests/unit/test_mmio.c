/* SPDX-License-Identifier: MIT */
/* virtio-mmio register file and status state machine, driven directly. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/inproc.h"
#include "devices/blk.h"
#include "transport/mmio.h"

static struct inproc ip;
static struct blk_dev blk;
static struct mmio_dev m;
static char img[96];
static int irq_level, irq_raises;

static void set_irq(void *opaque, int level)
{
    (void)opaque;
    irq_level = level;
    irq_raises += level;
}

static uint32_t rd(uint64_t off)
{
    uint64_t v = 0xdead;
    mmio_access(&m, off, 4, false, &v);
    return (uint32_t)v;
}

static void wr(uint64_t off, uint32_t val)
{
    uint64_t v = val;
    mmio_access(&m, off, 4, true, &v);
}

static int setup(void **state)
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

static int teardown(void **state)
{
    (void)state;
    mmio_shutdown(&m);
    mmio_fini(&m);
    blk_close(&blk);
    assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
    inproc_down(&ip);
    return 0;
}

static void negotiate(uint32_t hi)
{
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, hi);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                               VIRTIO_STATUS_FEATURES_OK);
}

static bool needs_reset(void)
{
    return rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET;
}

static void test_identity(void **state)
{
    (void)state;
    assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
    assert_int_equal(rd(VIRTIO_MMIO_VERSION), 2);
    assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), 2);
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    /* VERSION_1, ACCESS_PLATFORM and, in grant mode, GRANT_POOL (bit 45) */
    assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), 3u | (1u << (VIRTIO_F_GRANT_POOL - 32)));
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    assert_true(rd(VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_F_INDIRECT_DESC));
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
    assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
    assert_int_equal(rd(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
}

static void test_features_ok_refusals(void **state)
{
    (void)state;
    negotiate(0); /* no VERSION_1 */
    assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
    negotiate(1); /* grant mode without ACCESS_PLATFORM */
    assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
    negotiate(1 | 2 | 0x100); /* a feature never offered */
    assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
    negotiate(3);
    assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
    /* features are frozen after FEATURES_OK */
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
    assert_int_equal(m.drv_features >> 32, 3);
    assert_false(needs_reset());
}

static void test_driver_features_before_driver_ignored(void **state)
{
    (void)state;
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 3);
    assert_int_equal(m.drv_features, 0);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_DRIVER);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 3);
    assert_int_equal(m.drv_features, 0);
}

static void test_status_rules(void **state)
{
    (void)state;
    negotiate(3);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE); /* clears bits: ignored */
    assert_int_equal(rd(VIRTIO_MMIO_STATUS), 11);
    wr(VIRTIO_MMIO_STATUS, 11 | VIRTIO_STATUS_NEEDS_RESET); /* driver cannot set it */
    assert_false(needs_reset());
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                               VIRTIO_STATUS_DRIVER_OK); /* without FEATURES_OK */
    assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK);
}

static void test_queue_num_invalid_breaks_device(void **state)
{
    (void)state;
    static const uint32_t bad[] = { 0, 3, 100, 512, 0x80000000u };
    for (unsigned i = 0; i < 5; i++) {
        negotiate(3);
        irq_raises = 0;
        wr(VIRTIO_MMIO_QUEUE_NUM, bad[i]);
        assert_true(needs_reset());
        assert_int_equal(irq_raises, 1);
        assert_true(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
        wr(VIRTIO_MMIO_STATUS, 0);
        assert_int_equal(irq_level, 0);
        assert_false(needs_reset());
    }
}

static void test_queue_sel_out_of_range(void **state)
{
    (void)state;
    negotiate(3);
    wr(VIRTIO_MMIO_QUEUE_SEL, 1);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    wr(VIRTIO_MMIO_QUEUE_NUM, 3);
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    wr(VIRTIO_MMIO_QUEUE_SEL, 0xffffffffu);
    wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
    assert_false(needs_reset());
    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
}

static void test_queue_regs_need_features_ok(void **state)
{
    (void)state;
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(VIRTIO_MMIO_QUEUE_NUM, 64);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM), 0);
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
}

static void test_bad_access_sizes(void **state)
{
    (void)state;
    uint64_t v = 1;
    mmio_access(&m, VIRTIO_MMIO_MAGIC_VALUE, 2, false, &v);
    assert_int_equal(v, 0);
    v = 1;
    mmio_access(&m, VIRTIO_MMIO_MAGIC_VALUE + 1, 4, false, &v);
    assert_int_equal(v, 0);
    v = 1;
    mmio_access(&m, VIRTIO_MMIO_MAGIC_VALUE, 3, false, &v);
    assert_int_equal(v, 0);
    v = VIRTIO_STATUS_ACKNOWLEDGE;
    mmio_access(&m, VIRTIO_MMIO_STATUS, 1, true, &v);
    assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
    v = 0x12345;
    mmio_access(&m, 0x0f0, 4, true, &v); /* unknown register */
    mmio_access(&m, VIRTIO_MMIO_MAGIC_VALUE, 4, true, &v); /* read-only */
    assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
}

static void test_config_space(void **state)
{
    (void)state;
    uint64_t v = 0;
    mmio_access(&m, VIRTIO_MMIO_CONFIG, 8, false, &v);
    assert_int_equal(v, 2048);
    assert_int_equal(rd(VIRTIO_MMIO_CONFIG), 2048);
    assert_int_equal(rd(VIRTIO_MMIO_CONFIG + 4), 0);
    v = 0xff;
    mmio_access(&m, VIRTIO_MMIO_CONFIG + 56, 1, false, &v);
    assert_int_equal(v, 1);
    v = 7;
    mmio_access(&m, VIRTIO_MMIO_CONFIG + 58, 4, false, &v); /* runs past the end */
    assert_int_equal(v, 0);
    v = 7;
    mmio_access(&m, 0x1000 + 0xffffffffull, 4, false, &v);
    assert_int_equal(v, 0);
}

/* A queue brought up on granted rings, one IN request, interrupt and ack. */
static void test_request_through_registers(void **state)
{
    (void)state;
    uint8_t *ring, *data;
    uint64_t ring_dma = inproc_grant(&ip, 1, false, &ring);
    uint64_t data_dma = inproc_grant(&ip, 2, false, &data);
    negotiate(3);
    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(VIRTIO_MMIO_QUEUE_NUM, 8);
    wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)ring_dma);
    wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(ring_dma >> 32));
    wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(ring_dma + 0x100));
    wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)((ring_dma + 0x100) >> 32));
    wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(ring_dma + 0x200));
    wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)((ring_dma + 0x200) >> 32));
    /* notify before DRIVER_OK is ignored, even with a ready queue */
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
    wr(VIRTIO_MMIO_QUEUE_NUM, 16); /* layout is frozen while ready */
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM), 8);
    struct { uint64_t a; uint32_t l; uint16_t f, n; } d[3] = {
        { data_dma, 16, 1, 1 },
        { data_dma + 4096, 512, 3, 2 },
        { data_dma + 64, 1, 2, 0 },
    };
    memcpy(ring, d, sizeof(d)); /* header of zeros: IN, sector 0 */
    uint16_t one = 1;
    memcpy(ring + 0x102, &one, 2);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    uint16_t used_idx;
    memcpy(&used_idx, ring + 0x202, 2);
    assert_int_equal(used_idx, 0);
    wr(VIRTIO_MMIO_STATUS, 15);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 5); /* no such queue */
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    memcpy(&used_idx, ring + 0x202, 2);
    assert_int_equal(used_idx, 1);
    assert_int_equal(data[64], 0);
    assert_int_equal(irq_level, 1);
    assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    assert_int_equal(irq_level, 0);
    /* only the ring page stays mapped between requests */
    assert_int_equal(simdom_grants_mapped_now(ip.d), 1);
    wr(VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
    assert_int_equal(m.ctr.chains, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_identity),
        T(test_features_ok_refusals),
        T(test_driver_features_before_driver_ignored),
        T(test_status_rules),
        T(test_queue_num_invalid_breaks_device),
        T(test_queue_sel_out_of_range),
        T(test_queue_regs_need_features_ok),
        T(test_bad_access_sizes),
        T(test_config_space),
        T(test_request_through_registers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
