/* SPDX-License-Identifier: MIT */
/*
 * The validation branches an outside review found tested only by unit tests
 * or not at all (issue 18), now through the backend process's real entry
 * point: ioreqs on the shared page, rings and grants in simulated guest
 * memory.  As in test_hostile.c, a guest that breaks the rules breaks its
 * own device (DEVICE_NEEDS_RESET and a config interrupt) or gets an error
 * status; the process lives, releases every grant, and serves again after a
 * reset.  Already covered elsewhere through the process: the chain-length
 * limit across indirect tables (test_hostile.c test_c03_*), a partially
 * failing grant batch (test_c12_partial_batch_failure), EVENT_IDX past the
 * 16-bit wrap (test_sim_blk.c test_used_event_past_16_bit_wrap).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xen/grant_table.h>

#include "../common/hostile.h"
#include "../common/rig.h"

#define GRANT_ADDR(ref) ((1ull << 63) | ((uint64_t)(ref) << 12))
#define F_INDIRECT (1u << 28)
#define F_EVENT_IDX (1u << 29)

static void up(struct rig *r)
{
    assert_int_equal(rig_up(r, NULL, VDRV_DMA_GRANT, true), 0);
}

/* An indirect table of n entries in its own granted page (entries filled by the caller). */
static uint8_t *indirect_table(struct rig *r, struct granted *tbl)
{
    grant_page(r, tbl, true);
    return simdom_gpa(r->d, tbl->gpa, 4096);
}

/* ---- class 4: indirect tables ---- */

/* A driver that did not negotiate INDIRECT_DESC may not use it. */
static void test_c04_indirect_not_negotiated(void **state)
{
    (void)state;
    struct rig r;
    struct granted tbl, data;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    struct vdrv_opts o = { .base = RIG_BASE, .irq = RIG_IRQ, .dma = VDRV_DMA_GRANT,
                           .queue_size = 64, .indirect = false, .event_idx = true };
    assert_int_equal(vdrv_probe(&r.v, r.d, &o), 0);
    r.probed = true;
    assert_false(r.v.features & F_INDIRECT);
    uint8_t *t = indirect_table(&r, &tbl);
    grant_page(&r, &data, false);
    vdrv_encode_desc(t, 0, data.dma, 16, 0, 0);
    vdrv_put_desc(&r.v, 0, tbl.dma, 16, D_INDIRECT, 0);
    publish_expect_reset(&r, 0);
}

/* A table of more entries than the queue has. */
static void test_c04_indirect_larger_than_queue(void **state)
{
    (void)state;
    struct rig r;
    struct granted tbl, data;
    up(&r);
    uint8_t *t = indirect_table(&r, &tbl);
    grant_page(&r, &data, false);
    uint32_t n = r.v.qsize + 1u;
    for (uint32_t i = 0; i < n; i++)
        vdrv_encode_desc(t, i, data.dma, 16, i + 1 < n ? D_NEXT : D_WRITE,
                         (uint16_t)(i + 1 < n ? i + 1 : 0));
    vdrv_put_desc(&r.v, 0, tbl.dma, 16u * n, D_INDIRECT, 0);
    publish_expect_reset(&r, 0);
}

/* Inside a table: a loop (0 -> 1 -> 0), and a next beyond the table's end. */
static void indirect_walk_case(uint16_t next_of_1)
{
    struct rig r;
    struct granted tbl, data;
    up(&r);
    uint8_t *t = indirect_table(&r, &tbl);
    grant_page(&r, &data, false);
    vdrv_encode_desc(t, 0, data.dma, 16, D_NEXT, 1);
    vdrv_encode_desc(t, 1, data.dma + 64, 16, D_NEXT, next_of_1);
    vdrv_put_desc(&r.v, 0, tbl.dma, 32, D_INDIRECT, 0);
    publish_expect_reset(&r, 0);
}

static void test_c04_indirect_loop(void **state)
{
    (void)state;
    indirect_walk_case(0);
}

static void test_c04_indirect_next_out_of_range(void **state)
{
    (void)state;
    indirect_walk_case(2); /* the table has entries 0 and 1 */
}

/* The table's own address names a grant the guest never made. */
static void test_c04_indirect_table_not_granted(void **state)
{
    (void)state;
    struct rig r;
    up(&r);
    vdrv_put_desc(&r.v, 0, GRANT_ADDR(7777), 32, D_INDIRECT, 0);
    publish_expect_reset(&r, 0);
}

/* ---- class 10: queue set-up ---- */

/* Two ring pages granted to the backend (refs 7400 and 7401), read-only if ro. */
static uint64_t ring_pages(struct rig *r, bool ro)
{
    uint64_t gpa = simdom_alloc_pages(r->d, 2);
    uint32_t gfn = (uint32_t)(gpa >> 12);
    uint16_t flags = GTF_permit_access | (ro ? GTF_readonly : 0);
    assert_int_equal(simdom_grant_raw(r->d, 7400, 0, gfn, flags), 0);
    assert_int_equal(simdom_grant_raw(r->d, 7401, 0, gfn + 1, flags), 0);
    return GRANT_ADDR(7400);
}

/*
 * Queue 0 set up by hand on two granted ring pages: size @num (0: never
 * written), the areas at the given offsets.  QueueReady must not take, and
 * the device must break and come back after a reset.
 */
static void queue_setup_case(uint32_t num, uint64_t desc, uint64_t avail, uint64_t used,
                             bool ro)
{
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    manual_features_ok(&r);
    uint64_t base = ring_pages(&r, ro);
    desc += base;
    avail += base;
    used += base;
    vdrv_write32(&r.v, R_QUEUE_SEL, 0);
    if (num)
        vdrv_write32(&r.v, R_QUEUE_NUM, num);
    vdrv_write32(&r.v, R_DESC_LOW, (uint32_t)desc);
    vdrv_write32(&r.v, R_DESC_HIGH, (uint32_t)(desc >> 32));
    vdrv_write32(&r.v, R_DRIVER_LOW, (uint32_t)avail);
    vdrv_write32(&r.v, R_DRIVER_HIGH, (uint32_t)(avail >> 32));
    vdrv_write32(&r.v, R_DEVICE_LOW, (uint32_t)used);
    vdrv_write32(&r.v, R_DEVICE_HIGH, (uint32_t)(used >> 32));
    vdrv_write32(&r.v, R_QUEUE_READY, 1);
    assert_int_equal(vdrv_read32(&r.v, R_QUEUE_READY), 0);
    assert_int_equal(simdom_grants_mapped_now(r.d), 0);
    expect_broken_then_recover(&r);
}

static void test_c10_queue_size_zero_at_ready(void **state)
{
    (void)state;
    queue_setup_case(0, 0, 0x400, 0x1000, false);
}

/* Each ring area off its split-ring alignment (desc 16, avail 2, used 4). */
static void test_c10_misaligned_rings(void **state)
{
    (void)state;
    queue_setup_case(64, 0x008, 0x400, 0x1000, false);
    queue_setup_case(64, 0x000, 0x401, 0x1000, false);
    queue_setup_case(64, 0x000, 0x400, 0x1002, false);
}

/* ---- class 12: grants ---- */

/* The used ring must be written: a read-only grant for it breaks the device at QueueReady. */
static void test_c12_used_ring_granted_read_only(void **state)
{
    (void)state;
    queue_setup_case(64, 0, 0x400, 0x1000, true);
}

/* A buffer naming a ref at or above 2^32, and one whose refs would wrap past 2^32 - 1. */
static void ref_case(uint64_t addr, uint32_t len)
{
    struct rig r;
    struct granted hdr;
    up(&r);
    grant_page(&r, &hdr, true);
    memset(simdom_gpa(r.d, hdr.gpa, 16), 0, 16);
    vdrv_put_desc(&r.v, 0, hdr.dma, 16, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, addr, len, D_WRITE, 0);
    publish_expect_reset(&r, 0);
}

static void test_c12_ref_above_32_bits(void **state)
{
    (void)state;
    ref_case(GRANT_ADDR(1ull << 32), 4096);
    ref_case(GRANT_ADDR(0xfffffffffull), 16);
}

static void test_c12_refs_wrap(void **state)
{
    (void)state;
    ref_case(GRANT_ADDR(0xffffffffull), 2 * 4096); /* refs 0xffffffff and "0" */
}

/* Foreign mode: a guest address outside the guest's RAM. */
static void test_c12_foreign_address_outside_ram(void **state)
{
    (void)state;
    static const uint64_t bad[] = {
        0x1000,                                 /* below RAM */
        0x40000000ull + ((uint64_t)RIG_RAM_MB << 20), /* just past its end */
        UINT64_MAX - 4095,                      /* wraps */
    };
    for (unsigned i = 0; i < 3; i++) {
        struct rig r;
        assert_int_equal(rig_up(&r, NULL, VDRV_DMA_PHYS, true), 0);
        uint64_t hdr = simdom_alloc_pages(r.d, 1);
        memset(simdom_gpa(r.d, hdr, 16), 0, 16);
        vdrv_put_desc(&r.v, 0, hdr, 16, D_NEXT, 1);
        vdrv_put_desc(&r.v, 1, bad[i], 4096, D_WRITE, 0);
        vdrv_put_avail(&r.v, 0);
        expect_needs_reset_dma(&r, VDRV_DMA_PHYS);
        assert_int_equal(rig_down(&r), 0);
    }
}

/* ---- class 10: feature negotiation and notify guards ---- */

/* Driver features @lo/@hi offered at FEATURES_OK: the bit must not stick. */
static void features_refused(struct rig *r, uint32_t lo, uint32_t hi)
{
    struct vdrv *v = &r->v;
    vdrv_write32(v, R_STATUS, 0);
    vdrv_write32(v, R_STATUS, 3);
    vdrv_write32(v, R_DRV_FEATURES_SEL, 0);
    vdrv_write32(v, R_DRV_FEATURES, lo);
    vdrv_write32(v, R_DRV_FEATURES_SEL, 1);
    vdrv_write32(v, R_DRV_FEATURES, hi);
    vdrv_write32(v, R_STATUS, 11);
    assert_int_equal(vdrv_status(v), 3);
}

static void test_c10_feature_negotiation_guards(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    r.v.d = r.d;
    r.v.o = (struct vdrv_opts){ .base = RIG_BASE, .irq = RIG_IRQ };
    struct vdrv *v = &r.v;
    features_refused(&r, 0, 3 | (1u << 18));  /* a bit the device does not offer */
    features_refused(&r, 0, 2);               /* no VERSION_1 */
    /* DRIVER_OK before FEATURES_OK is not taken */
    vdrv_write32(v, R_STATUS, 0);
    vdrv_write32(v, R_STATUS, 3);
    vdrv_write32(v, R_STATUS, 7);
    assert_int_equal(vdrv_status(v), 3);
    /* DriverFeatures before DRIVER, with a selector past 1, and after FEATURES_OK: ignored */
    vdrv_write32(v, R_STATUS, 0);
    vdrv_write32(v, R_STATUS, 1);
    vdrv_write32(v, R_DRV_FEATURES_SEL, 1);
    vdrv_write32(v, R_DRV_FEATURES, 3);
    vdrv_write32(v, R_STATUS, 3);
    vdrv_write32(v, R_STATUS, 11);
    assert_int_equal(vdrv_status(v), 3); /* the early write did not count: no VERSION_1 */
    vdrv_write32(v, R_DRV_FEATURES_SEL, 2);
    vdrv_write32(v, R_DRV_FEATURES, 3);
    vdrv_write32(v, R_STATUS, 11);
    assert_int_equal(vdrv_status(v), 3);
    manual_features_ok(&r);
    vdrv_write32(v, R_DRV_FEATURES_SEL, 0);
    vdrv_write32(v, R_DRV_FEATURES, F_EVENT_IDX); /* after FEATURES_OK: ignored */
    assert_false(vdrv_status(v) & NEEDS_RESET);
    assert_true(sim_alive(r.pid));
    vdrv_write32(v, R_STATUS, 0);
    reset_serve_down(&r);
}

/* Notifies that serve nothing: before DRIVER_OK, of a queue that does not exist, of one not started. */
static void test_c10_notify_ignored(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    manual_features_ok(&r);
    vdrv_write32(&r.v, R_NOTIFY, 0); /* not live */
    vdrv_write32(&r.v, R_STATUS, 0);
    assert_int_equal(rig_default_probe(&r, VDRV_DMA_GRANT), 0);
    vdrv_write32(&r.v, R_NOTIFY, 9);          /* no such queue */
    vdrv_write32(&r.v, R_NOTIFY, 0xffffffff); /* nor this */
    vdrv_write32(&r.v, R_NOTIFY, 1);          /* exists, never started */
    assert_false(vdrv_status(&r.v) & NEEDS_RESET);
    assert_true(sim_alive(r.pid));
    expect_serves(&r, 24, 17);
    assert_int_equal(rig_down(&r), 0);
}

/* ---- class 11: blk lengths, discard and write-zeroes ---- */

static void test_c11_partial_sectors(void **state)
{
    (void)state;
    blk_status_case(T_OUT, 0, 16, 100, 0, S_IOERR, false);
    blk_status_case(T_IN, 0, 16, 700, D_WRITE, S_IOERR, false);
}

/* A discard or write-zeroes payload of @segs 16-byte segments, all like @seg. */
static void discard_case(uint32_t type, const uint8_t seg[16], uint32_t segs, uint32_t payload,
                         uint8_t want, bool read_only)
{
    struct rig r;
    struct raw_req q;
    const char *ro[] = { "--read-only", NULL };
    assert_int_equal(rig_up(&r, read_only ? ro : NULL, VDRV_DMA_GRANT, true), 0);
    raw_blk(&r, &q, type, 0, 16, payload, 0);
    for (uint32_t i = 0; i < segs && 16 * (i + 1) <= 4096; i++)
        memcpy(q.payload + 16 * i, seg, 16);
    complete_raw(&r);
    assert_int_equal(*q.status, want);
    reset_serve_down(&r);
}

static void make_seg(uint8_t seg[16], uint64_t sector, uint32_t num, uint32_t flags)
{
    memcpy(seg, &sector, 8);
    memcpy(seg + 8, &num, 4);
    memcpy(seg + 12, &flags, 4);
}

static void test_c11_discard_and_write_zeroes_checks(void **state)
{
    (void)state;
    uint8_t ok[16], big[16], past[16], flagged[16];
    uint64_t cap = ((uint64_t)RIG_IMG_MB << 20) / 512;
    make_seg(ok, 0, 8, 0);
    make_seg(big, 0, (1u << 22) + 1, 0);
    make_seg(past, cap - 4, 8, 0);
    make_seg(flagged, 0, 8, 2);
    for (int zero = 0; zero < 2; zero++) {
        uint32_t t = zero ? T_WZ : T_DISCARD;
        discard_case(t, ok, 1, 16, S_OK, false);           /* the control */
        discard_case(t, ok, 1, 20, S_IOERR, false);        /* not whole segments */
        discard_case(t, ok, 17, 17 * 16, S_IOERR, false);  /* more than max_discard_seg */
        discard_case(t, big, 1, 16, S_IOERR, false);       /* more than max sectors */
        discard_case(t, past, 1, 16, S_IOERR, false);      /* past the end */
        discard_case(t, flagged, 1, 16, S_UNSUPP, false);  /* an unknown flag */
        discard_case(t, ok, 1, 16, S_UNSUPP, true);        /* a read-only disk offers neither */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c04_indirect_not_negotiated),
        cmocka_unit_test(test_c04_indirect_larger_than_queue),
        cmocka_unit_test(test_c04_indirect_loop),
        cmocka_unit_test(test_c04_indirect_next_out_of_range),
        cmocka_unit_test(test_c04_indirect_table_not_granted),
        cmocka_unit_test(test_c10_queue_size_zero_at_ready),
        cmocka_unit_test(test_c10_misaligned_rings),
        cmocka_unit_test(test_c12_used_ring_granted_read_only),
        cmocka_unit_test(test_c12_ref_above_32_bits),
        cmocka_unit_test(test_c12_refs_wrap),
        cmocka_unit_test(test_c12_foreign_address_outside_ram),
        cmocka_unit_test(test_c10_feature_negotiation_guards),
        cmocka_unit_test(test_c10_notify_ignored),
        cmocka_unit_test(test_c11_partial_sectors),
        cmocka_unit_test(test_c11_discard_and_write_zeroes_checks),
    };
    return cmocka_run_group_tests(tests, rig_group_setup, rig_group_teardown);
}
