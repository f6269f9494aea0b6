/* SPDX-License-Identifier: MIT */
/*
 * The announced grant pool (spec/virtio/grant-pool.tex; the GrantPool
 * registers of transport/mmio.h), through the backend process's real entry
 * point: a driver that announces its pool is served from one mapping of it;
 * a buffer or indirect table outside it, a pool over the rings, a pool that
 * is not granted, too large, misaligned or not a grant address, and a pool
 * written again while the device is live each break the device and leave
 * nothing mapped; writes before FEATURES_OK or without GRANT_POOL are
 * ignored.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "../common/hostile.h"
#include "../common/rig.h"
#include "transport/mmio.h"

#define POOL_PAGES 64u
#define GRANT (1ull << 63)

static void up(struct rig *r)
{
    assert_int_equal(rig_up(r, NULL, VDRV_DMA_GRANT, false), 0);
}

static int probe(struct rig *r, enum vdrv_announce a, uint64_t addr, uint32_t pages)
{
    struct vdrv_opts o = { .base = RIG_BASE, .irq = RIG_IRQ, .dma = VDRV_DMA_GRANT,
                           .queue_size = 64, .indirect = true, .event_idx = true,
                           .pool_pages = POOL_PAGES, .announce = a,
                           .announce_addr = addr, .announce_pages = pages };
    int rc = vdrv_probe(&r->v, r->d, &o);
    r->probed = rc == 0;
    return rc;
}

static uint64_t pool_addr(const struct rig *r)
{
    return GRANT | ((uint64_t)r->v.pool_ref << 12);
}

/* Broken at DRIVER_OK: NEEDS_RESET, nothing mapped; then a reset and a plain driver is served. */
static void expect_refused_at_driver_ok(struct rig *r)
{
    assert_true(vdrv_status(&r->v) & NEEDS_RESET);
    expect_needs_reset(r);
    assert_int_equal(rig_down(r), 0);
}

static void test_pool_announced_served_from_one_mapping(void **state)
{
    (void)state;
    struct rig r;
    up(&r);
    assert_int_equal(probe(&r, VDRV_ANNOUNCE_POOL, 0, 0), 0);
    assert_true(r.v.features & (1ull << 45));
    assert_int_equal(vdrv_read32(&r.v, VIRTIO_MMIO_GRANT_POOL_PAGES), POOL_PAGES);
    assert_int_equal(vdrv_read32(&r.v, VIRTIO_MMIO_GRANT_POOL_LOW), (uint32_t)pool_addr(&r));
    assert_int_equal(vdrv_read32(&r.v, VIRTIO_MMIO_GRANT_POOL_HIGH),
                     (uint32_t)(pool_addr(&r) >> 32));
    /* spec: GRT-DEV-POOL-3 */
    assert_int_equal(simdom_grants_mapped_now(r.d), r.v.ring_map.npages + POOL_PAGES);
    struct xensim_stats s0, s1;
    simdom_stats(r.d, &s0);
    static uint8_t w[32768], rd[32768];
    for (unsigned round = 0; round < 20; round++) {
        uint32_t n = 4096u * (1 + round % 8);
        rig_pattern(w, n, round);
        assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 8u * round, w, n), S_OK);
        memset(rd, 0, n);
        assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 8u * round, rd, n), S_OK);
        assert_memory_equal(w, rd, n);
    }
    simdom_stats(r.d, &s1);
    /* Mapped once at DRIVER_OK: no request maps anything. */
    assert_int_equal(s1.gnt_map_calls - s0.gnt_map_calls, 0);
    vdrv_remove(&r.v);
    r.probed = false;
    /* spec: GRT-DEV-POOL-1 */
    assert_int_equal(simdom_grants_mapped_now(r.d), 0);
    assert_int_equal(rig_default_probe(&r, VDRV_DMA_GRANT), 0);
    assert_int_equal(vdrv_read32(&r.v, VIRTIO_MMIO_GRANT_POOL_PAGES), 0); /* reset cleared it */
    expect_serves(&r, 8, 3);
    assert_int_equal(rig_down(&r), 0);
}

/* A request whose header and status sit in a page granted outside the pool. */
static void test_pool_buffer_outside_refused(void **state)
{
    (void)state;
    struct rig r;
    up(&r);
    assert_int_equal(probe(&r, VDRV_ANNOUNCE_POOL, 0, 0), 0);
    uint64_t gpa = simdom_alloc_pages(r.d, 1);
    int64_t ref = simdom_grant_range(r.d, gpa, 1, false);
    assert_true(ref >= 0);
    memset(simdom_gpa(r.d, gpa, 16), 0, 16);
    uint64_t a = GRANT | ((uint64_t)ref << 12);
    vdrv_put_desc(&r.v, 0, a, 16, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, a + 512, 1, D_WRITE, 0);
    /* spec: GRT-DEV-POOL-4 */
    publish_expect_reset(&r, 0);
}

/* Starts in the pool's last page and runs one page past it. */
static void test_pool_buffer_straddling_end_refused(void **state)
{
    (void)state;
    struct rig r;
    up(&r);
    assert_int_equal(probe(&r, VDRV_ANNOUNCE_POOL, 0, 0), 0);
    uint64_t last = pool_addr(&r) + ((uint64_t)(POOL_PAGES - 1) << 12);
    memset(simdom_gpa(r.d, r.v.pool_gpa + (uint64_t)(POOL_PAGES - 1) * 4096, 16), 0, 16);
    vdrv_put_desc(&r.v, 0, last, 16, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, last + 4096 - 16, 8192, D_WRITE, 2);
    vdrv_put_desc(&r.v, 2, last + 32, 1, D_WRITE, 0);
    publish_expect_reset(&r, 0);
}

/* The descriptors inside the pool, the indirect table that lists them outside it. */
static void test_pool_indirect_table_outside_refused(void **state)
{
    (void)state;
    struct rig r;
    up(&r);
    assert_int_equal(probe(&r, VDRV_ANNOUNCE_POOL, 0, 0), 0);
    uint64_t gpa = simdom_alloc_pages(r.d, 1);
    int64_t ref = simdom_grant_range(r.d, gpa, 1, true);
    assert_true(ref >= 0);
    uint64_t in = pool_addr(&r);
    memset(simdom_gpa(r.d, r.v.pool_gpa, 16), 0, 16);
    struct {
        uint64_t addr;
        uint32_t len;
        uint16_t flags, next;
    } t[2] = { { in, 16, D_NEXT, 1 }, { in + 512, 1, D_WRITE, 0 } };
    memcpy(simdom_gpa(r.d, gpa, sizeof(t)), t, sizeof(t));
    vdrv_put_desc(&r.v, 0, GRANT | ((uint64_t)ref << 12), sizeof(t), D_INDIRECT, 0);
    /* spec: GRT-DEV-POOL-4 */
    publish_expect_reset(&r, 0);
}

static void test_pool_over_rings_refused(void **state)
{
    (void)state;
    struct rig r;
    up(&r);
    assert_int_equal(probe(&r, VDRV_ANNOUNCE_RINGS, 0, 0), 0);
    /* spec: GRT-DEV-POOL-5 */
    expect_refused_at_driver_ok(&r);
}

static void test_pool_written_while_live_refused(void **state)
{
    (void)state;
    struct rig r;
    up(&r);
    assert_int_equal(probe(&r, VDRV_ANNOUNCE_POOL, 0, 0), 0);
    expect_serves(&r, 0, 1);
    /* The same pool, announced again. */
    vdrv_write32(&r.v, VIRTIO_MMIO_GRANT_POOL_PAGES, POOL_PAGES);
    /* spec: GRT-DEV-POOL-6 */
    expect_refused_at_driver_ok(&r);
}

/* What the device cannot map as a pool: each one breaks it at DRIVER_OK. */
static void test_pool_invalid_announcements_refused(void **state)
{
    (void)state;
    /* The pool's own address, with more pages than any pool has. */
    static const uint32_t pages[] = { 1025, UINT32_MAX };
    static const uint64_t addr[] = {
        GRANT | (7000ull << 12),       /* refs nobody granted */
        0x40000000,                    /* a physical address */
        GRANT | 0x40000800,            /* not page-aligned */
        GRANT | (0xffffffffull << 12), /* its second ref past 2^32 */
        GRANT | (0x100000000ull << 12),
    };
    for (unsigned i = 0; i < sizeof(pages) / sizeof(pages[0]) + sizeof(addr) / sizeof(addr[0]);
         i++) {
        struct rig r;
        up(&r);
        unsigned k = i - (unsigned)(sizeof(pages) / sizeof(pages[0]));
        if (i < sizeof(pages) / sizeof(pages[0]))
            assert_int_equal(probe(&r, VDRV_ANNOUNCE_POOL, 0, pages[i]), 0);
        else
            assert_int_equal(probe(&r, VDRV_ANNOUNCE_GIVEN, addr[k], 2), 0);
        print_message("bad announcement %u\n", i);
        /* spec: GRT-DEV-POOL-3 */
        expect_refused_at_driver_ok(&r);
    }
}

/*
 * Without GRANT_POOL the registers are not there to write, before DRIVER_OK
 * or after it: ignored, and the device serves.  Before FEATURES_OK too.
 */
static void test_pool_written_without_feature_ignored(void **state)
{
    (void)state;
    struct rig r;
    up(&r);
    struct vdrv_opts o = { .base = RIG_BASE, .irq = RIG_IRQ, .dma = VDRV_DMA_GRANT,
                           .queue_size = 64, .announce = VDRV_ANNOUNCE_GIVEN,
                           .announce_addr = GRANT | (1ull << 12), .announce_pages = 1 };
    assert_int_equal(vdrv_probe(&r.v, r.d, &o), 0);
    r.probed = true;
    assert_false(r.v.features & (1ull << 45));
    /* spec: GRT-DEV-POOL-7 */
    assert_int_equal(vdrv_read32(&r.v, VIRTIO_MMIO_GRANT_POOL_PAGES), 0);
    assert_false(vdrv_status(&r.v) & NEEDS_RESET);
    vdrv_write32(&r.v, VIRTIO_MMIO_GRANT_POOL_PAGES, 4); /* live, no pool negotiated */
    /* spec: GRT-DEV-POOL-7 */
    assert_false(vdrv_status(&r.v) & NEEDS_RESET);
    assert_int_equal(vdrv_read32(&r.v, VIRTIO_MMIO_GRANT_POOL_PAGES), 0);
    expect_serves(&r, 0, 2);
    vdrv_remove(&r.v);
    r.probed = false;
    /* A pool driver's announcement before FEATURES_OK: ignored too. */
    assert_int_equal(rig_pool_probe(&r, POOL_PAGES), 0);
    vdrv_write32(&r.v, VIRTIO_MMIO_STATUS, 0);
    vdrv_write32(&r.v, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vdrv_write32(&r.v, VIRTIO_MMIO_GRANT_POOL_LOW, (uint32_t)pool_addr(&r));
    vdrv_write32(&r.v, VIRTIO_MMIO_GRANT_POOL_PAGES, POOL_PAGES);
    assert_int_equal(vdrv_read32(&r.v, VIRTIO_MMIO_GRANT_POOL_LOW), 0);
    assert_int_equal(vdrv_read32(&r.v, VIRTIO_MMIO_GRANT_POOL_PAGES), 0);
    vdrv_remove(&r.v);
    r.probed = false;
    assert_int_equal(simdom_grants_mapped_now(r.d), 0);
    assert_int_equal(rig_down(&r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_announced_served_from_one_mapping),
        cmocka_unit_test(test_pool_buffer_outside_refused),
        cmocka_unit_test(test_pool_buffer_straddling_end_refused),
        cmocka_unit_test(test_pool_indirect_table_outside_refused),
        cmocka_unit_test(test_pool_over_rings_refused),
        cmocka_unit_test(test_pool_written_while_live_refused),
        cmocka_unit_test(test_pool_invalid_announcements_refused),
        cmocka_unit_test(test_pool_written_without_feature_ignored),
    };
    return cmocka_run_group_tests(tests, rig_group_setup, rig_group_teardown);
}
