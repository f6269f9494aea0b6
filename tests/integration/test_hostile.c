/* SPDX-License-Identifier: MIT */
/*
 * The hostile-guest catalogue (../shared/reference/hostile-guest.md): one or
 * more tests per input class, named test_cNN_<class>, each driven through the
 * backend process's real entry point (ioreqs on the shared page, rings and
 * grants in simulated guest memory).  Each asserts what the class calls for:
 * the device breaks (DEVICE_NEEDS_RESET with a config interrupt) or the
 * request carries an error status; the process lives and serves again after
 * a reset; no grant stays mapped.  Every grant mapping in the simulator sits
 * between guard pages, so a stray access outside a grant kills the backend
 * and fails the test.  Class 7 (double fetch) is test_double_fetch.c.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/flood.h"
#include "../common/hostile.h"
#include "../common/rig.h"
#include "transport/mmio.h"

/* ---- hostile guests: the device must break, the process must not ---- */

/* Extra backend arguments for the grant tests' second run, in grant-copy mode. */
static const char *const *hostile_extra;
static const char *const grant_copy_args[] = { "--mode", "grant-copy", NULL };

static int grant_copy_on(void **state)
{
    (void)state;
    hostile_extra = grant_copy_args;
    return 0;
}

static int grant_copy_off(void **state)
{
    (void)state;
    hostile_extra = NULL;
    return 0;
}

static void hostile_up(struct rig *r)
{
    assert_int_equal(rig_up(r, hostile_extra, VDRV_DMA_GRANT, true), 0);
}

static void test_c02_head_out_of_range(void **state)
{
    (void)state;
    struct rig r;
    hostile_up(&r);
    publish_expect_reset(&r, (uint16_t)(r.v.qsize + 3));
}

static void test_c01_avail_idx_jump(void **state)
{
    (void)state;
    struct rig r;
    hostile_up(&r);
    vdrv_set_avail_idx(&r.v, (uint16_t)(r.v.qsize + 1));
    expect_needs_reset(&r);
    assert_int_equal(rig_down(&r), 0);
}

static void test_c03_descriptor_loop(void **state)
{
    (void)state;
    struct rig r;
    struct granted g;
    hostile_up(&r);
    grant_page(&r, &g, true);
    vdrv_put_desc(&r.v, 0, g.dma, 16, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, g.dma, 16, D_NEXT, 0);
    publish_expect_reset(&r, 0);
}

static void test_c02_next_out_of_range(void **state)
{
    (void)state;
    struct rig r;
    struct granted g;
    hostile_up(&r);
    grant_page(&r, &g, true);
    vdrv_put_desc(&r.v, 0, g.dma, 16, D_NEXT, 0xffff);
    publish_expect_reset(&r, 0);
}

static void indirect_case(uint16_t inner_flags, uint32_t table_len, uint16_t outer_flags)
{
    struct rig r;
    struct granted tbl, data;
    hostile_up(&r);
    grant_page(&r, &tbl, true);
    grant_page(&r, &data, false);
    uint8_t *t = simdom_gpa(r.d, tbl.gpa, 4096);
    vdrv_encode_desc(t, 0, data.dma, 16, D_NEXT, 1);
    vdrv_encode_desc(t, 1, inner_flags & D_INDIRECT ? tbl.dma : data.dma + 64, 16,
                   inner_flags, 0);
    vdrv_put_desc(&r.v, 0, tbl.dma, table_len, outer_flags, 1);
    publish_expect_reset(&r, 0);
}

static void test_c04_indirect_nested(void **state)
{
    (void)state;
    indirect_case(D_INDIRECT, 32, D_INDIRECT);
}

static void test_c04_indirect_with_next(void **state)
{
    (void)state;
    indirect_case(D_WRITE, 32, D_INDIRECT | D_NEXT);
}

static void test_c04_indirect_len_not_multiple_of_16(void **state)
{
    (void)state;
    indirect_case(D_WRITE, 24, D_INDIRECT);
}

static void test_c04_indirect_zero_length(void **state)
{
    (void)state;
    indirect_case(D_WRITE, 0, D_INDIRECT);
}

static void test_c08_readable_after_writable(void **state)
{
    (void)state;
    struct rig r;
    struct granted g;
    hostile_up(&r);
    grant_page(&r, &g, false);
    vdrv_put_desc(&r.v, 0, g.dma, 16, D_NEXT | D_WRITE, 1);
    vdrv_put_desc(&r.v, 1, g.dma + 64, 16, 0, 0);
    publish_expect_reset(&r, 0);
}

static void test_c05_total_length_overflow(void **state)
{
    (void)state;
    struct rig r;
    struct granted g;
    hostile_up(&r);
    grant_page(&r, &g, false);
    vdrv_put_desc(&r.v, 0, g.dma, 0xffffffffu, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, g.dma, 0xffffffffu, D_WRITE, 0);
    publish_expect_reset(&r, 0);
}

/* A stock Linux 6.1 frontend with a dom0 backend puts guest-physical
 * addresses on the ring: grant mode must refuse, not serve. */
static void test_c12_bit63_clear_address(void **state)
{
    (void)state;
    struct rig r;
    hostile_up(&r);
    uint64_t gpa = simdom_alloc_pages(r.d, 1);
    uint8_t *p = simdom_gpa(r.d, gpa, 4096);
    memset(p, 0, 4096); /* a valid IN header for sector 0 */
    vdrv_put_desc(&r.v, 0, gpa, 16, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, gpa + 512, 512, D_NEXT | D_WRITE, 2);
    vdrv_put_desc(&r.v, 2, gpa + 2048, 1, D_WRITE, 0);
    vdrv_put_avail(&r.v, 0);
    simdom_stats_reset(r.d);
    /* spec: GRT-DEV-ENC-1 */
    expect_needs_reset(&r);
    struct xensim_stats s;
    simdom_stats(r.d, &s);
    /* spec: GRT-DEV-ENC-1, spec: GRT-DEV-ERR-2 */
    assert_int_equal(s.fgn_map_calls, 0);
    assert_int_equal(rig_down(&r), 0);
}

static void test_c12_bad_ref(void **state)
{
    (void)state;
    struct rig r;
    hostile_up(&r);
    vdrv_put_desc(&r.v, 0, (1ull << 63) | (7000ull << 12), 16, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, (1ull << 63) | (7001ull << 12), 1, D_WRITE, 0);
    /* spec: GRT-DEV-ERR-1 */
    publish_expect_reset(&r, 0);
}

/*
 * A driver that negotiated VIRTIO_F_GRANT_POOL and then names an ungranted ref:
 * kept mappings do not excuse it, and breaking the device releases every kept
 * mapping before the driver revokes its pool.
 */
static void test_c12_bad_ref_with_pool(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    assert_int_equal(rig_pool_probe(&r, 64), 0);
    assert_true(r.v.features & (1ull << 45));
    uint8_t buf[8192];
    assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 0, buf, sizeof(buf)), S_OK);
    assert_true(simdom_grants_mapped_now(r.d) > r.v.ring_map.npages); /* kept */
    vdrv_put_desc(&r.v, 0, (1ull << 63) | (7000ull << 12), 16, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, (1ull << 63) | (7001ull << 12), 1, D_WRITE, 0);
    /* spec: GRT-DEV-POOL-1 */
    publish_expect_reset(&r, 0); /* which checks nothing is left mapped */
}

static void test_c12_wrong_domid(void **state)
{
    (void)state;
    struct rig r;
    hostile_up(&r);
    uint64_t gpa = simdom_alloc_pages(r.d, 1);
    assert_int_equal(simdom_grant_raw(r.d, 7100, 5 /* not the backend */, (uint32_t)(gpa >> 12),
                                      1 /* GTF_permit_access */),
                     0);
    vdrv_put_desc(&r.v, 0, (1ull << 63) | (7100ull << 12), 16, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, (1ull << 63) | (7100ull << 12) | 64, 1, D_WRITE, 0);
    publish_expect_reset(&r, 0);
}

static void test_c12_readonly_grant_for_writable_buffer(void **state)
{
    (void)state;
    struct rig r;
    struct granted hdr, ro;
    hostile_up(&r);
    grant_page(&r, &hdr, true);
    grant_page(&r, &ro, true); /* read-only grant, used as device-writable */
    memset(simdom_gpa(r.d, hdr.gpa, 16), 0, 16);
    vdrv_put_desc(&r.v, 0, hdr.dma, 16, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, ro.dma, 513, D_WRITE, 0);
    /* spec: GRT-DEV-ACC-2 */
    publish_expect_reset(&r, 0);
}

static void test_c12_non_consecutive_refs(void **state)
{
    (void)state;
    struct rig r;
    struct granted hdr;
    hostile_up(&r);
    grant_page(&r, &hdr, true);
    memset(simdom_gpa(r.d, hdr.gpa, 16), 0, 16);
    /* two pages granted with refs 7200 and 7202: a 2-page buffer at 7200 needs 7201 */
    uint64_t gpa = simdom_alloc_pages(r.d, 2);
    assert_int_equal(simdom_grant_raw(r.d, 7200, 0, (uint32_t)(gpa >> 12), 1), 0);
    assert_int_equal(simdom_grant_raw(r.d, 7202, 0, (uint32_t)(gpa >> 12) + 1, 1), 0);
    vdrv_put_desc(&r.v, 0, hdr.dma, 16, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, (1ull << 63) | (7200ull << 12), 8192, D_WRITE, 0);
    /* spec: GRT-DEV-ENC-2 */
    publish_expect_reset(&r, 0);
}

static void test_c12_revoked_between_notify_and_map(void **state)
{
    (void)state;
    struct rig r;
    struct granted hdr, st;
    hostile_up(&r);
    grant_page(&r, &hdr, true);
    grant_page(&r, &st, false);
    assert_int_equal(simdom_revoke(r.d, (uint32_t)st.m.ref), 0);
    vdrv_put_desc(&r.v, 0, hdr.dma, 16, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, st.dma, 1, D_WRITE, 0);
    publish_expect_reset(&r, 0);
}

static void test_c11_no_status_byte(void **state)
{
    (void)state;
    struct rig r;
    struct granted hdr;
    hostile_up(&r);
    grant_page(&r, &hdr, true);
    vdrv_put_desc(&r.v, 0, hdr.dma, 16, 0, 0);
    publish_expect_reset(&r, 0);
}

static void test_c12_ring_not_granted(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    struct vdrv *v = &r.v;
    v->d = r.d;
    v->o = (struct vdrv_opts){ .base = RIG_BASE, .irq = RIG_IRQ };
    vdrv_write32(v, 0x070, 0);
    vdrv_write32(v, 0x070, 3);
    vdrv_write32(v, 0x024, 1);
    vdrv_write32(v, 0x020, 3); /* VERSION_1 | ACCESS_PLATFORM */
    vdrv_write32(v, 0x070, 11);
    assert_int_equal(vdrv_status(v), 11);
    vdrv_write32(v, 0x038, 64);
    vdrv_write32(v, 0x080, 0x40000000); /* a physical address: not a grant */
    vdrv_write32(v, 0x090, 0x40001000);
    vdrv_write32(v, 0x0a0, 0x40002000);
    vdrv_write32(v, 0x044, 1);
    assert_int_equal(vdrv_read32(v, 0x044), 0);
    /* spec: GRT-DEV-SCOPE-1, spec: GRT-DEV-MMIO-1 (the queue registers hold grant addresses) */
    assert_true(vdrv_status(v) & NEEDS_RESET);
    assert_int_equal(simdom_irq_edges(r.d, RIG_IRQ), 0); /* before DRIVER_OK: no interrupt */
    vdrv_write32(v, 0x070, 0);
    assert_int_equal(rig_default_probe(&r, VDRV_DMA_GRANT), 0);
    assert_int_equal(rig_down(&r), 0);
}

static void test_c12_no_access_platform(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    struct vdrv *v = &r.v;
    v->d = r.d;
    v->o = (struct vdrv_opts){ .base = RIG_BASE, .irq = RIG_IRQ };
    vdrv_write32(v, 0x070, 3);
    vdrv_write32(v, 0x024, 1);
    vdrv_write32(v, 0x020, 1); /* VERSION_1 only */
    vdrv_write32(v, 0x070, 11);
    /* spec: GRT-DEV-FEAT-2 */
    assert_int_equal(vdrv_status(v), 3);
    assert_int_equal(rig_down(&r), 0);
}

/*
 * The draft's feature bits, through the register file: offered in grant
 * mode only (GRANT_POOL only where the pool exists, and only with
 * GRANT_ADDRESSING), and GRANT_ADDRESSING refused without ACCESS_PLATFORM.
 */
static uint32_t features_hi(struct vdrv *v, const struct rig *r)
{
    v->d = r->d;
    v->o = (struct vdrv_opts){ .base = RIG_BASE, .irq = RIG_IRQ };
    vdrv_write32(v, 0x070, 0);
    vdrv_write32(v, 0x070, 3);
    vdrv_write32(v, 0x014, 1);
    return vdrv_read32(v, 0x010);
}

static uint32_t accept_hi(struct vdrv *v, uint32_t hi)
{
    vdrv_write32(v, 0x070, 0);
    vdrv_write32(v, 0x070, 3);
    vdrv_write32(v, 0x024, 1);
    vdrv_write32(v, 0x020, hi);
    vdrv_write32(v, 0x070, 11);
    return vdrv_status(v);
}

static void test_c12_grant_feature_bits(void **state)
{
    (void)state;
    const uint32_t ga = 1u << (VIRTIO_F_GRANT_ADDRESSING - 32), pool = 1u << (VIRTIO_F_GRANT_POOL - 32);
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    uint32_t hi = features_hi(&r.v, &r);
    /* spec: GRT-DEV-FEAT-1 */
    assert_int_equal(hi & (ga | pool | 3), ga | pool | 3); /* with VERSION_1, ACCESS_PLATFORM */
    assert_int_equal(accept_hi(&r.v, 1 | ga), 3);            /* without ACCESS_PLATFORM */
    assert_int_equal(accept_hi(&r.v, 1 | 2 | ga | pool), 11); /* the draft's way */
    assert_int_equal(accept_hi(&r.v, 1 | 2 | pool), 11);      /* a v1 frontend's way */
    assert_int_equal(rig_down(&r), 0);

    assert_int_equal(rig_up(&r, grant_copy_args, VDRV_DMA_GRANT, false), 0);
    hi = features_hi(&r.v, &r);
    assert_int_equal(hi & (ga | pool), ga); /* no pool to keep mapped when copying */
    assert_int_equal(accept_hi(&r.v, 1 | 2 | ga | pool), 3);
    assert_int_equal(rig_down(&r), 0);

    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_PHYS, false), 0);
    hi = features_hi(&r.v, &r);
    /* spec: GRT-DEV-FEAT-4 */
    assert_int_equal(hi & (ga | pool), 0);
    assert_int_equal(accept_hi(&r.v, 1 | 2 | ga), 3); /* never offered */
    assert_int_equal(rig_down(&r), 0);
}

/*
 * GRT-DEV-TRANS-1: handles name the granting domain's table only.  Another
 * guest grants a page to this backend's domain under a ref this guest never
 * granted; this guest's ring names that ref.  The device must resolve it
 * against this guest (where it is not granted) and break, and the other
 * guest's page must stay unmapped and unwritten.
 */
static void test_c12_ref_of_another_granting_domain(void **state)
{
    (void)state;
    struct rig r;
    struct granted hdr;
    hostile_up(&r);
    struct simdom_params p = { .domid = 9, .backend_domid = 0, .nr_vcpus = 1,
                               .ram_size = 16u << 20, .nr_grants = 8192 };
    struct simdom *other = simdom_create(&p);
    assert_non_null(other);
    uint64_t gpa = simdom_alloc_pages(other, 1);
    uint8_t *page = simdom_gpa(other, gpa, 4096);
    memset(page, 0xee, 4096);
    assert_int_equal(simdom_grant_raw(other, 7300, 0, (uint32_t)(gpa >> 12), 1), 0);
    assert_null(simdom_granted_page(r.d, 7300, NULL)); /* not this guest's grant */
    grant_page(&r, &hdr, true);
    memset(simdom_gpa(r.d, hdr.gpa, 16), 0, 16); /* a read of sector 0 */
    vdrv_put_desc(&r.v, 0, hdr.dma, 16, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, (1ull << 63) | (7300ull << 12), 1, D_WRITE, 0);
    vdrv_put_avail(&r.v, 0);
    expect_needs_reset(&r);
    /* spec: GRT-DEV-TRANS-1 */
    assert_int_equal(simdom_grants_mapped_now(other), 0);
    struct xensim_stats st;
    simdom_stats(other, &st);
    assert_int_equal(st.gnt_pages_mapped, 0);
    assert_int_equal(st.gnt_copy_segs, 0);
    for (unsigned i = 0; i < 4096; i++)
        assert_int_equal(page[i], 0xee);
    simdom_destroy(other);
    assert_int_equal(rig_down(&r), 0);
}

/*
 * GRT-DEV-LIFE-3: the guest revokes the status page's grant after its
 * notify reached the device and before the device maps it (the simulator
 * revokes it at the map attempt).  The device treats the buffer as invalid:
 * broken, alive, nothing left mapped, and it serves again after a reset.
 */
static void test_c12_revoked_after_notify_before_map(void **state)
{
    (void)state;
    struct rig r;
    struct granted hdr, st;
    hostile_up(&r);
    grant_page(&r, &hdr, true);
    grant_page(&r, &st, false);
    memset(simdom_gpa(r.d, hdr.gpa, 16), 0, 16);
    vdrv_put_desc(&r.v, 0, hdr.dma, 16, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, st.dma, 1, D_WRITE, 0);
    simdom_revoke_at_map(r.d, (uint32_t)st.m.ref);
    vdrv_put_avail(&r.v, 0);
    /* spec: GRT-DEV-LIFE-3 */
    expect_needs_reset(&r);
    assert_null(simdom_granted_page(r.d, (uint32_t)st.m.ref, NULL)); /* it was revoked */
    assert_int_equal(simdom_revoke(r.d, (uint32_t)st.m.ref), 0);    /* and is not pinned */
    assert_int_equal(rig_down(&r), 0);
}

/*
 * GRT-DEV-FEAT-2: a grant-mode device offering GRANT_ADDRESSING refuses a
 * driver without ACCESS_PLATFORM; and, as the spec's Xen binding notes,
 * accepts ACCESS_PLATFORM without the bit (Linux's grant DMA convention)
 * as well as with it.
 */
static void test_c12_grant_or_platform_equivalent(void **state)
{
    (void)state;
    const uint32_t ga = 1u << (VIRTIO_F_GRANT_ADDRESSING - 32);
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    assert_true(features_hi(&r.v, &r) & ga);
    /* spec: GRT-DEV-FEAT-2 */
    assert_int_equal(accept_hi(&r.v, 1), 3);           /* neither: FEATURES_OK refused */
    assert_int_equal(accept_hi(&r.v, 1 | 2), 11);      /* the platform's equivalent */
    assert_int_equal(accept_hi(&r.v, 1 | 2 | ga), 11); /* the bit */
    assert_int_equal(rig_down(&r), 0);
}

static void test_c10_malformed_ioreqs(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, true), 0);
    const ioreq_t bad[] = {
        { .addr = RIG_BASE, .count = 1, .size = 4, .dir = IOREQ_READ, .data_is_ptr = 1,
          .type = IOREQ_TYPE_COPY },
        { .addr = RIG_BASE, .count = 2, .size = 4, .dir = IOREQ_READ, .type = IOREQ_TYPE_COPY },
        { .addr = RIG_BASE, .count = 1, .size = 3, .dir = IOREQ_READ, .type = IOREQ_TYPE_COPY },
        { .addr = RIG_BASE + 0x1fe, .count = 1, .size = 4, .dir = IOREQ_READ,
          .type = IOREQ_TYPE_COPY },
        { .addr = RIG_BASE - 4, .count = 1, .size = 4, .dir = IOREQ_READ,
          .type = IOREQ_TYPE_COPY },
        { .addr = 0x10, .count = 1, .size = 4, .dir = IOREQ_READ, .type = IOREQ_TYPE_PIO },
        { .addr = RIG_BASE + 0x70, .count = 1, .size = 4, .dir = IOREQ_WRITE, .data = 0,
          .data_is_ptr = 1, .type = IOREQ_TYPE_COPY },
    };
    /* A refused read answers 0, as virtio-mmio does for a register it ignores. */
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (uint32_t vcpu = 0; vcpu < 2; vcpu++) {
            uint64_t val = 0xa5a5a5a5a5a5a5a5ull;
            assert_int_equal(simdom_ioreq_raw(r.d, vcpu, &bad[i], &val), 0);
            if (bad[i].dir == IOREQ_READ)
                assert_true(val == 0);
        }
    }
    const ioreq_t inval = { .type = IOREQ_TYPE_INVALIDATE };
    assert_int_equal(simdom_ioreq_raw(r.d, 0, &inval, NULL), 0);
    /* the device was not reset by the rejected write, and still answers */
    assert_int_equal(vdrv_read32(&r.v, 0), 0x74726976);
    assert_true(vdrv_status(&r.v) & 4);
    uint8_t buf[4096];
    assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 0, buf, 4096), S_OK);
    assert_true(sim_alive(r.pid));
    assert_int_equal(rig_down(&r), 0);
}

/* 1,000 hostile episodes: no growth in mappings, and the process survives. */
static void test_c13_1000_episodes_do_not_leak(void **state)
{
    (void)state;
    struct rig r;
    hostile_up(&r);
    for (int i = 0; i < 1000; i++) {
        vdrv_put_avail(&r.v, (uint16_t)(r.v.qsize + (i % 7)));
        vdrv_write32(&r.v, 0x050, 0);
        assert_true(vdrv_status(&r.v) & NEEDS_RESET);
        vdrv_remove(&r.v);
        r.probed = false;
        assert_int_equal(simdom_grants_mapped_now(r.d), 0);
        assert_int_equal(rig_default_probe(&r, VDRV_DMA_GRANT), 0);
    }
    uint8_t buf[4096];
    assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 0, buf, 4096), S_OK);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)r.pid);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "test $(ls %s | wc -l) -lt 32", path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(rig_down(&r), 0);
}

/* ---- classes the first cut had no test for, and raw blk requests ---- */


/* Class 5: a zero-length device-writable buffer is a read of nothing, not a fault. */
static void test_c05_zero_length_descriptor(void **state)
{
    (void)state;
    struct rig r;
    struct raw_req q;
    hostile_up(&r);
    raw_blk(&r, &q, T_IN, 0, 16, 0, 0);
    vdrv_put_desc(&r.v, 0, q.hdr.dma, 16, D_NEXT, 2);
    vdrv_put_desc(&r.v, 2, q.st.dma + 64, 0, D_WRITE | D_NEXT, 1); /* zero bytes */
    assert_int_equal(complete_raw(&r), 1);
    assert_int_equal(*q.status, S_OK);
    reset_serve_down(&r);
}

/* Class 5: one descriptor of almost 4 GiB on a one-page grant cannot be mapped. */
static void test_c05_huge_length(void **state)
{
    (void)state;
    struct rig r;
    struct raw_req q;
    hostile_up(&r);
    raw_blk(&r, &q, T_IN, 0, 16, 4096, D_WRITE);
    vdrv_put_desc(&r.v, 1, q.data.dma, 0xfffff000u, D_WRITE | D_NEXT, 2);
    publish_expect_reset(&r, 0);
}

/* Class 6: GET_ID into a 5-byte buffer copies 5 bytes, not the 20 of an ID. */
static void test_c06_copy_bounded_by_guest_buffer(void **state)
{
    (void)state;
    struct rig r;
    struct raw_req q;
    const char *extra[] = { "--serial", "0123456789abcdefghij", NULL };
    assert_int_equal(rig_up(&r, extra, VDRV_DMA_GRANT, true), 0);
    raw_blk(&r, &q, T_GET_ID, 0, 16, 5, D_WRITE);
    memset(q.payload, 0xaa, 4096);
    assert_int_equal(complete_raw(&r), 6);
    assert_int_equal(*q.status, S_OK);
    assert_memory_equal(q.payload, "01234", 5);
    for (unsigned i = 5; i < 4096; i++)
        assert_int_equal(q.payload[i], 0xaa);
    reset_serve_down(&r);
}

/* Class 8: an IN request whose data buffer is device-readable gets nothing written into it. */
static void test_c08_no_write_into_readable_buffer(void **state)
{
    (void)state;
    struct rig r;
    struct raw_req q;
    hostile_up(&r);
    uint8_t img[512];
    rig_pattern(img, sizeof(img), 5);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 0, img, 512), S_OK);
    raw_blk(&r, &q, T_IN, 0, 16, 512, 0); /* read-only grant: a write would fault */
    uint8_t before[512];
    rig_pattern(q.payload, 512, 9);
    memcpy(before, q.payload, 512);
    complete_raw(&r);
    assert_memory_equal(q.payload, before, 512);
    reset_serve_down(&r);
}

/* Class 9: the device keeps its used index private; a guest scribble changes nothing. */
static void test_c09_used_idx_not_read_back(void **state)
{
    (void)state;
    struct rig r;
    hostile_up(&r);
    uint8_t buf[4096];
    assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 0, buf, 4096), S_OK);
    assert_int_equal(vdrv_used_idx(&r.v), 1);
    uint16_t scribble = 0x1234;
    memcpy(r.v.used + 2, &scribble, 2);
    memset(r.v.used + 4, 0x5a, 8u * r.v.qsize); /* and every used element */
    struct raw_req q;
    raw_blk(&r, &q, T_IN, 0, 16, 512, D_WRITE);
    vdrv_put_avail(&r.v, 0);
    vdrv_write32(&r.v, R_NOTIFY, 0);
    assert_int_equal(simdom_wait_irq(r.d, RIG_IRQ, 2000), 1);
    assert_int_equal(vdrv_used_idx(&r.v), 2); /* its own 1 + 1, not 0x1235 */
    uint32_t elem[2];
    memcpy(elem, r.v.used + 4 + 8, sizeof(elem));
    assert_int_equal(elem[0], 0);
    assert_int_equal(elem[1], 513);
    assert_int_equal(*q.status, S_OK);
    reset_serve_down(&r);
}



static void test_c10_queue_sel_out_of_range(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    manual_features_ok(&r);
    vdrv_write32(&r.v, R_QUEUE_SEL, 7);
    assert_int_equal(vdrv_read32(&r.v, R_QUEUE_NUM_MAX), 0);
    vdrv_write32(&r.v, R_QUEUE_NUM, 64);
    vdrv_write32(&r.v, R_DESC_LOW, 0x1000);
    vdrv_write32(&r.v, R_QUEUE_READY, 1);
    assert_int_equal(vdrv_read32(&r.v, R_QUEUE_READY), 0);
    assert_int_equal(vdrv_read32(&r.v, R_QUEUE_NUM), 0);
    assert_false(vdrv_status(&r.v) & NEEDS_RESET);
    vdrv_write32(&r.v, R_QUEUE_SEL, 0);
    assert_int_equal(vdrv_read32(&r.v, R_QUEUE_NUM), 0); /* queue 0 untouched */
    reset_serve_down(&r);
}

static void test_c10_queue_num_not_power_of_two(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    manual_features_ok(&r);
    vdrv_write32(&r.v, R_QUEUE_SEL, 0);
    vdrv_write32(&r.v, R_QUEUE_NUM, 48);
    expect_broken_then_recover(&r);
}

static void test_c10_queue_num_above_max(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    manual_features_ok(&r);
    vdrv_write32(&r.v, R_QUEUE_SEL, 0);
    vdrv_write32(&r.v, R_QUEUE_NUM, vdrv_read32(&r.v, R_QUEUE_NUM_MAX) * 2);
    expect_broken_then_recover(&r);
}

/* Queue layout registers before FEATURES_OK and after DRIVER_OK are ignored. */
static void test_c10_register_writes_in_wrong_status(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    r.v.d = r.d;
    r.v.o = (struct vdrv_opts){ .base = RIG_BASE, .irq = RIG_IRQ };
    vdrv_write32(&r.v, R_STATUS, 3);
    vdrv_write32(&r.v, R_QUEUE_SEL, 0);
    vdrv_write32(&r.v, R_QUEUE_NUM, 64);
    vdrv_write32(&r.v, R_QUEUE_READY, 1);
    assert_int_equal(vdrv_read32(&r.v, R_QUEUE_NUM), 0);
    assert_int_equal(vdrv_read32(&r.v, R_QUEUE_READY), 0);
    vdrv_write32(&r.v, R_STATUS, 0);
    assert_int_equal(rig_default_probe(&r, VDRV_DMA_GRANT), 0);
    uint32_t desc = vdrv_read32(&r.v, R_DESC_LOW), num = vdrv_read32(&r.v, R_QUEUE_NUM);
    vdrv_write32(&r.v, R_DESC_LOW, 0xdead000);
    vdrv_write32(&r.v, R_QUEUE_NUM, 16);
    assert_int_equal(vdrv_read32(&r.v, R_DESC_LOW), desc);
    assert_int_equal(vdrv_read32(&r.v, R_QUEUE_NUM), num);
    /* DRIVER_OK cleared without a reset is ignored too */
    vdrv_write32(&r.v, R_STATUS, 1);
    assert_int_equal(vdrv_status(&r.v), 15);
    reset_serve_down(&r);
}

static void test_c10_bad_access_size(void **state)
{
    (void)state;
    struct rig r;
    hostile_up(&r);
    static const struct {
        uint64_t off;
        uint32_t size;
    } bad[] = { { R_MAGIC, 1 }, { R_MAGIC, 2 }, { R_MAGIC, 8 }, { R_MAGIC + 2, 4 },
                { R_STATUS, 1 }, { R_STATUS + 1, 4 } };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t val = 0x77;
        assert_int_equal(simdom_mmio_read(r.d, 0, RIG_BASE + bad[i].off, bad[i].size, &val), 0);
        assert_true(val == 0);
        /* a narrow write of 0 to STATUS would be a reset if it were taken */
        assert_int_equal(simdom_mmio_write(r.d, 1, RIG_BASE + bad[i].off, bad[i].size, 0), 0);
    }
    assert_int_equal(vdrv_read32(&r.v, R_MAGIC), 0x74726976);
    assert_int_equal(vdrv_status(&r.v), 15);
    reset_serve_down(&r);
}

static void test_c10_config_access_past_end(void **state)
{
    (void)state;
    struct rig r;
    hostile_up(&r);
    uint64_t cap = 0;
    assert_int_equal(simdom_mmio_read(r.d, 0, RIG_BASE + R_CONFIG, 8, &cap), 0);
    assert_true(cap == ((uint64_t)RIG_IMG_MB << 20) / 512);
    /* Past the device's config but inside the window: the device answers 0.
     * Straddling the window's end: the ioreq dispatcher refuses, and answers 0 too. */
    static const struct {
        uint64_t off, want;
    } past[] = { { 0x03e, 0 }, { 0x080, 0 }, { 0x0fc, 0 }, { 0x0fe, 0 }, { 0x0ff, 0 } };
    for (unsigned i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
        uint64_t val = 0x77;
        assert_int_equal(simdom_mmio_read(r.d, 0, RIG_BASE + R_CONFIG + past[i].off, 4, &val), 0);
        assert_true(val == past[i].want);
        assert_int_equal(
            simdom_mmio_write(r.d, 0, RIG_BASE + R_CONFIG + past[i].off, 4, ~0ull), 0);
    }
    /* capacity is read-only: a write to it changes nothing */
    assert_int_equal(simdom_mmio_write(r.d, 0, RIG_BASE + R_CONFIG, 8, 1), 0);
    uint64_t again = 0;
    assert_int_equal(simdom_mmio_read(r.d, 0, RIG_BASE + R_CONFIG, 8, &again), 0);
    assert_true(again == cap);
    reset_serve_down(&r);
}


static void test_c11_sector_past_capacity(void **state)
{
    (void)state;
    uint64_t cap = ((uint64_t)RIG_IMG_MB << 20) / 512;
    blk_status_case(T_OUT, cap - 1, 16, 1024, 0, S_IOERR, false);
}

static void test_c11_sector_overflow(void **state)
{
    (void)state;
    blk_status_case(T_OUT, UINT64_MAX - 1, 16, 1024, 0, S_IOERR, false);
}

static void test_c11_unknown_type(void **state)
{
    (void)state;
    blk_status_case(99, 0, 16, 512, 0, S_UNSUPP, false);
}

static void test_c11_short_header(void **state)
{
    (void)state;
    blk_status_case(T_OUT, 0, 8, 0, 0, S_IOERR, false);
}

static void test_c11_write_on_read_only(void **state)
{
    (void)state;
    blk_status_case(T_OUT, 0, 16, 512, 0, S_IOERR, true);
}

/* Class 12: three consecutive refs whose middle one belongs to another domain. */
static void test_c12_partial_batch_failure(void **state)
{
    (void)state;
    struct rig r;
    struct granted hdr;
    hostile_up(&r);
    grant_page(&r, &hdr, true);
    memset(simdom_gpa(r.d, hdr.gpa, 16), 0, 16);
    uint64_t gpa = simdom_alloc_pages(r.d, 3);
    uint32_t gfn = (uint32_t)(gpa >> 12);
    assert_int_equal(simdom_grant_raw(r.d, 7300, 0, gfn, 1), 0);
    assert_int_equal(simdom_grant_raw(r.d, 7301, 5 /* not the backend */, gfn + 1, 1), 0);
    assert_int_equal(simdom_grant_raw(r.d, 7302, 0, gfn + 2, 1), 0);
    vdrv_put_desc(&r.v, 0, hdr.dma, 16, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, (1ull << 63) | (7300ull << 12), 3 * 4096 + 1, D_WRITE, 0);
    /* which also checks nothing stayed mapped: ref 7300's pin was undone */
    publish_expect_reset(&r, 0);
}

/* Class 13: one broken device leaves another guest's device serving. */
/*
 * Class 3: a chain's buffers, direct and indirect together, number at most
 * the queue size.  @prefix direct readable descriptors (the header first),
 * then an indirect table of @table_n entries whose last is the status byte:
 * a T_OUT with no data, so a chain within the limit completes OK.
 */
static void chain_with_indirect(struct rig *r, uint16_t prefix, uint16_t table_n)
{
    struct granted hdr, tbl, st;
    grant_page(r, &hdr, true);
    grant_page(r, &tbl, true);
    grant_page(r, &st, false);
    uint8_t *h = simdom_gpa(r->d, hdr.gpa, 16);
    memset(h, 0, 16);
    h[0] = T_OUT;
    uint8_t *t = simdom_gpa(r->d, tbl.gpa, 4096);
    for (uint16_t i = 0; i + 1 < table_n; i++)
        vdrv_encode_desc(t, i, hdr.dma + 64, 0, D_NEXT, (uint16_t)(i + 1));
    vdrv_encode_desc(t, (uint16_t)(table_n - 1), st.dma, 1, D_WRITE, 0);
    vdrv_put_desc(&r->v, 0, hdr.dma, 16, D_NEXT, 1);
    for (uint16_t i = 1; i < prefix; i++)
        vdrv_put_desc(&r->v, i, hdr.dma + 64, 0, D_NEXT, (uint16_t)(i + 1));
    vdrv_put_desc(&r->v, prefix, tbl.dma, 16u * table_n, D_INDIRECT, 0);
}

static void test_c03_chain_within_queue_size_with_indirect(void **state)
{
    (void)state;
    struct rig r;
    hostile_up(&r);
    assert_int_equal(r.v.qsize, 64);
    /* 31 direct + 33 indirect = 64 buffers: exactly the queue size, served. */
    chain_with_indirect(&r, 31, 33);
    assert_int_equal(complete_raw(&r), 1);
    reset_serve_down(&r);
}

static void test_c03_chain_longer_than_queue_size_with_indirect(void **state)
{
    (void)state;
    struct rig r;
    hostile_up(&r);
    /* 40 direct + 32 indirect = 72 buffers on a 64-entry queue (each part alone fits). */
    chain_with_indirect(&r, 40, 32);
    publish_expect_reset(&r, 0);
}

/* ---- a guest that keeps its device busy breaks nothing but its own latency ---- */

/*
 * Class 14: one vCPU floods the queue and notifies without pause.  Each notify
 * serves at most a queue's worth of chains and defers the rest, so another
 * vCPU's MMIO read and SIGTERM are served within a bound; we report it.
 */
static void test_c14_flooding_vcpu_does_not_starve(void **state)
{
    (void)state;
    struct rig r;
    struct flood f;
    hostile_up(&r);
    assert_int_equal(flood_start(&f, &r.v, RIG_BASE), 0);
    usleep(200000);
    uint64_t worst = 0, total = 0;
    unsigned reads = 0;
    for (uint64_t end = flood_now_us() + 1500000; flood_now_us() < end; reads++) {
        uint64_t v = 0, t0 = flood_now_us();
        int rc = simdom_mmio_read(r.d, 1, RIG_BASE, 4, &v);
        if (rc != 0) {
            char cmd[256];
            snprintf(cmd, sizeof(cmd), "tail -n 20 %s >&2", r.log);
            if (system(cmd) < 0)
                perror("system");
            int st = 0;
            pid_t w = waitpid(r.pid, &st, WNOHANG);
            fail_msg("vCPU1 MMIO read under the flood: %s (backend %s, status 0x%x)",
                     strerror(-rc), w == r.pid ? "gone" : "alive", st);
        }
        uint64_t dt = flood_now_us() - t0;
        assert_true(v == 0x74726976u);
        worst = dt > worst ? dt : worst;
        total += dt;
    }
    unsigned long published = atomic_load(&f.chains);
    /* SIGTERM while the flood goes on. */
    uint64_t t0 = flood_now_us();
    kill(r.pid, SIGTERM);
    int st = 0;
    assert_int_equal(waitpid(r.pid, &st, 0), r.pid);
    uint64_t term_us = flood_now_us() - t0;
    flood_stop(&f);
    print_message("flood: %lu notifies failed (first: %s)\n", (unsigned long)atomic_load(&f.errors),
                  strerror(-atomic_load(&f.first_error)));
    print_message("flood: %lu chains published, %lu notifies; vCPU1 MMIO read over %u reads: "
                  "mean %llu us, worst %llu us; SIGTERM to exit %llu us\n",
                  published, (unsigned long)atomic_load(&f.notifies), reads,
                  (unsigned long long)(total / (reads ? reads : 1)),
                  (unsigned long long)worst, (unsigned long long)term_us);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(published > 10u * r.v.qsize); /* the flood was real */
    /*
     * Starvation is told from scheduling noise by counts, not times: without
     * the per-notify bound vCPU1 got 2 reads served in those 1.5 s (worst
     * 917 ms); with it, hundreds (45 on a busy machine).  The latencies above are the measurement;
     * the time limits below only catch a process that stopped answering.
     */
    assert_true(reads > 10);
    assert_true(worst < 2000000);
    assert_true(term_us < 2000000);
    r.probed = false;
    simdom_destroy(r.d);
    unlink(r.img);
}

/* While a is broken, b (another guest's device) serves verified I/O; both processes live. */
static void expect_other_serves(struct rig *a, struct rig *b)
{
    uint8_t w[8192], rd[8192];
    for (unsigned i = 0; i < 20; i++) {
        rig_pattern(w, sizeof(w), i);
        assert_int_equal(vdrv_blk_sync(&b->v, T_OUT, 8u * i, w, sizeof(w)), S_OK);
        assert_int_equal(vdrv_blk_sync(&b->v, T_IN, 8u * i, rd, sizeof(rd)), S_OK);
        assert_memory_equal(w, rd, sizeof(w));
    }
    assert_true(sim_alive(a->pid) && sim_alive(b->pid));
}

static void test_c13_other_device_unaffected(void **state)
{
    (void)state;
    struct rig a, b;
    hostile_up(&a);
    assert_int_equal(rig_up_dom(&b, 2, NULL, VDRV_DMA_GRANT, true), 0);
    vdrv_put_avail(&a.v, (uint16_t)(a.v.qsize + 3));
    vdrv_write32(&a.v, R_NOTIFY, 0);
    assert_int_equal(simdom_wait_irq(a.d, RIG_IRQ, 2000), 1);
    assert_true(vdrv_status(&a.v) & NEEDS_RESET);
    expect_other_serves(&a, &b);
    assert_false(vdrv_status(&b.v) & NEEDS_RESET);
    assert_int_equal(rig_down(&b), 0);
    vdrv_write32(&a.v, R_STATUS, 0);
    reset_serve_down(&a);
}

/* The same with an error in the driver's addresses: a ref the guest never granted. */
static void test_c13_address_error_other_device_unaffected(void **state)
{
    (void)state;
    struct rig a, b;
    struct granted hdr;
    hostile_up(&a);
    assert_int_equal(rig_up_dom(&b, 2, NULL, VDRV_DMA_GRANT, true), 0);
    grant_page(&a, &hdr, true);
    memset(simdom_gpa(a.d, hdr.gpa, 16), 0, 16);
    vdrv_put_desc(&a.v, 0, hdr.dma, 16, D_NEXT, 1);
    vdrv_put_desc(&a.v, 1, (1ull << 63) | (7999ull << 12), 1, D_WRITE, 0);
    vdrv_put_avail(&a.v, 0);
    vdrv_write32(&a.v, R_NOTIFY, 0);
    assert_int_equal(simdom_wait_irq(a.d, RIG_IRQ, 2000), 1);
    assert_true(vdrv_status(&a.v) & NEEDS_RESET);
    expect_other_serves(&a, &b);
    /* The note under the spec's Errors: one driver's bad address breaks only its device. */
    assert_false(vdrv_status(&b.v) & NEEDS_RESET);
    assert_int_equal(rig_down(&b), 0);
    vdrv_write32(&a.v, R_STATUS, 0);
    reset_serve_down(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c01_avail_idx_jump),
        cmocka_unit_test(test_c02_head_out_of_range),
        cmocka_unit_test(test_c02_next_out_of_range),
        cmocka_unit_test(test_c03_descriptor_loop),
        cmocka_unit_test(test_c04_indirect_nested),
        cmocka_unit_test(test_c04_indirect_with_next),
        cmocka_unit_test(test_c04_indirect_len_not_multiple_of_16),
        cmocka_unit_test(test_c04_indirect_zero_length),
        cmocka_unit_test(test_c05_total_length_overflow),
        cmocka_unit_test(test_c05_zero_length_descriptor),
        cmocka_unit_test(test_c05_huge_length),
        cmocka_unit_test(test_c06_copy_bounded_by_guest_buffer),
        cmocka_unit_test(test_c08_readable_after_writable),
        cmocka_unit_test(test_c08_no_write_into_readable_buffer),
        cmocka_unit_test(test_c09_used_idx_not_read_back),
        cmocka_unit_test(test_c10_queue_sel_out_of_range),
        cmocka_unit_test(test_c10_queue_num_not_power_of_two),
        cmocka_unit_test(test_c10_queue_num_above_max),
        cmocka_unit_test(test_c10_register_writes_in_wrong_status),
        cmocka_unit_test(test_c10_bad_access_size),
        cmocka_unit_test(test_c10_config_access_past_end),
        cmocka_unit_test(test_c10_malformed_ioreqs),
        cmocka_unit_test(test_c11_sector_past_capacity),
        cmocka_unit_test(test_c11_sector_overflow),
        cmocka_unit_test(test_c11_unknown_type),
        cmocka_unit_test(test_c11_short_header),
        cmocka_unit_test(test_c11_write_on_read_only),
        cmocka_unit_test(test_c11_no_status_byte),
        cmocka_unit_test(test_c12_bit63_clear_address),
        cmocka_unit_test(test_c12_bad_ref),
        cmocka_unit_test(test_c12_bad_ref_with_pool),
        cmocka_unit_test(test_c12_wrong_domid),
        cmocka_unit_test(test_c12_readonly_grant_for_writable_buffer),
        /* Grant-copy mode meets the same grants when it copies, not maps. */
#define COPY(t) cmocka_unit_test_setup_teardown(t, grant_copy_on, grant_copy_off)
        COPY(test_c12_bit63_clear_address),
        COPY(test_c12_bad_ref),
        COPY(test_c12_wrong_domid),
        COPY(test_c12_readonly_grant_for_writable_buffer),
        COPY(test_c12_non_consecutive_refs),
        COPY(test_c12_revoked_between_notify_and_map),
#undef COPY
        cmocka_unit_test(test_c12_revoked_between_notify_and_map),
        cmocka_unit_test(test_c12_non_consecutive_refs),
        cmocka_unit_test(test_c12_partial_batch_failure),
        cmocka_unit_test(test_c12_ring_not_granted),
        cmocka_unit_test(test_c12_no_access_platform),
        cmocka_unit_test(test_c12_grant_feature_bits),
        cmocka_unit_test(test_c12_grant_or_platform_equivalent),
        cmocka_unit_test(test_c12_ref_of_another_granting_domain),
        cmocka_unit_test(test_c12_revoked_after_notify_before_map),
        cmocka_unit_test(test_c13_1000_episodes_do_not_leak),
        cmocka_unit_test(test_c13_other_device_unaffected),
        cmocka_unit_test(test_c13_address_error_other_device_unaffected),
        cmocka_unit_test(test_c03_chain_within_queue_size_with_indirect),
        cmocka_unit_test(test_c03_chain_longer_than_queue_size_with_indirect),
        cmocka_unit_test(test_c14_flooding_vcpu_does_not_starve),
    };
    return cmocka_run_group_tests(tests, rig_group_setup, rig_group_teardown);
}
