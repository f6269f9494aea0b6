/* SPDX-License-Identifier: MIT */
/*
 * The backend process against the simulated guest, through its real entry
 * point (ioreqs on the shared page, grants in the grant table).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "../common/rig.h"

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WZ 13
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define NEEDS_RESET 64u
#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4

static struct sim_env env;

static int group_setup(void **state)
{
    (void)state;
    return sim_env_init(&env);
}

static int group_teardown(void **state)
{
    (void)state;
    sim_env_fini(&env);
    return 0;
}

static void pattern(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 31u + seed * 7u + (i >> 9)) ^ seed);
}

static void image_read(struct rig *r, uint64_t off, void *buf, size_t n)
{
    int fd = open(r->img, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, n, (off_t)off), (ssize_t)n);
    close(fd);
}

/* Write, read back, compare with the guest's view and with the image file. */
static void roundtrip(struct rig *r, enum vdrv_dma dma)
{
    static const uint32_t sizes[] = { 512, 4096, 4096 + 512, 65536, 3 * 65536 + 4096, 262144 };
    uint32_t ring_pages = r->v.ring_map.ref >= 0 ? r->v.ring_map.npages : 0;
    uint64_t sector = 3;
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint32_t n = sizes[i];
        uint8_t *w = malloc(n), *rd = malloc(n), *img = malloc(n);
        pattern(w, n, i + 1);
        assert_int_equal(vdrv_blk_sync(&r->v, T_OUT, sector, w, n), S_OK);
        /* grant mode: the data grants are unmapped before completion */
        if (dma == VDRV_DMA_GRANT)
            assert_int_equal(simdom_grants_mapped_now(r->d), ring_pages);
        memset(rd, 0, n);
        assert_int_equal(vdrv_blk_sync(&r->v, T_IN, sector, rd, n), S_OK);
        assert_memory_equal(w, rd, n);
        image_read(r, sector * 512, img, n);
        assert_memory_equal(w, img, n);
        if (dma == VDRV_DMA_GRANT)
            assert_int_equal(simdom_grants_mapped_now(r->d), ring_pages);
        sector += n / 512 + 5;
        free(w);
        free(rd);
        free(img);
    }
    assert_int_equal(r->v.grant_busy, 0);
}

static void test_grant_roundtrip(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, true), 0);
    roundtrip(&r, VDRV_DMA_GRANT);
    assert_int_equal(rig_down(&r), 0);
}

static void test_grant_roundtrip_direct_no_event_idx(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    struct vdrv_opts o = { .base = RIG_BASE, .irq = RIG_IRQ, .dma = VDRV_DMA_GRANT,
                           .queue_size = 64 };
    assert_int_equal(vdrv_probe(&r.v, r.d, &o), 0);
    r.probed = true;
    roundtrip(&r, VDRV_DMA_GRANT);
    assert_int_equal(rig_down(&r), 0);
}

static void test_foreign_roundtrip(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_PHYS, true), 0);
    roundtrip(&r, VDRV_DMA_PHYS);
    assert_int_equal(rig_down(&r), 0);
}

static void test_foreign_premap_roundtrip(void **state)
{
    (void)state;
    struct rig r;
    const char *extra[] = { "--premap", NULL };
    assert_int_equal(rig_up(&r, extra, VDRV_DMA_PHYS, true), 0);
    roundtrip(&r, VDRV_DMA_PHYS);
    assert_int_equal(rig_down(&r), 0);
}

static void test_grant_mode_maps_no_foreign_memory(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, true), 0);
    simdom_stats_reset(r.d);
    uint8_t buf[8192];
    pattern(buf, sizeof(buf), 9);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 0, buf, sizeof(buf)), S_OK);
    assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 0, buf, sizeof(buf)), S_OK);
    struct xensim_stats s;
    simdom_stats(r.d, &s);
    assert_int_equal(s.fgn_map_calls, 0);
    assert_int_equal(s.fgn_mapped.peak, 0);
    assert_true(s.gnt_map_calls > 0);
    assert_int_equal(s.gnt_map_calls, s.gnt_unmap_calls);
    assert_int_equal(rig_down(&r), 0);
}

static void test_flush_get_id(void **state)
{
    (void)state;
    struct rig r;
    const char *extra[] = { "--serial", "vg-serial-0001", NULL };
    assert_int_equal(rig_up(&r, extra, VDRV_DMA_GRANT, true), 0);
    assert_int_equal(vdrv_blk_sync(&r.v, T_FLUSH, 0, NULL, 0), S_OK);
    char id[512] = { 0 };
    assert_int_equal(vdrv_blk_sync(&r.v, T_GET_ID, 0, id, 512), S_OK);
    assert_string_equal(id, "vg-serial-0001");
    assert_int_equal(rig_down(&r), 0);
}

static void test_discard_write_zeroes(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, true), 0);
    uint8_t buf[16384], rd[16384], zero[16384] = { 0 };
    pattern(buf, sizeof(buf), 3);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 64, buf, sizeof(buf)), S_OK);
    uint8_t seg[16] = { 0 };
    uint64_t sector = 64;
    uint32_t num = 32, flags = 0;
    memcpy(seg, &sector, 8);
    memcpy(seg + 8, &num, 4);
    memcpy(seg + 12, &flags, 4);
    assert_int_equal(vdrv_blk_sync(&r.v, T_WZ, 0, seg, 16), S_OK);
    assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 64, rd, sizeof(rd)), S_OK);
    assert_memory_equal(rd, zero, sizeof(rd));
    assert_int_equal(vdrv_blk_sync(&r.v, T_DISCARD, 0, seg, 16), S_OK);
    /* a discard segment past the end is refused, the unmap flag is for write-zeroes only */
    sector = (RIG_IMG_MB << 11) - 8;
    memcpy(seg, &sector, 8);
    assert_int_equal(vdrv_blk_sync(&r.v, T_DISCARD, 0, seg, 16), S_IOERR);
    sector = 0;
    flags = 1;
    memcpy(seg, &sector, 8);
    memcpy(seg + 12, &flags, 4);
    assert_int_equal(vdrv_blk_sync(&r.v, T_DISCARD, 0, seg, 16), S_UNSUPP);
    assert_int_equal(rig_down(&r), 0);
}

static void test_out_of_range_never_touches_image(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, true), 0);
    uint64_t cap = r.v.capacity;
    assert_int_equal(cap, (uint64_t)RIG_IMG_MB << 11);
    uint8_t buf[4096];
    pattern(buf, sizeof(buf), 5);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, cap, buf, 4096), S_IOERR);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, cap - 4, buf, 4096), S_IOERR);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, UINT64_MAX - 3, buf, 4096), S_IOERR);
    assert_int_equal(vdrv_blk_sync(&r.v, T_IN, UINT64_MAX / 512 + 1, buf, 4096), S_IOERR);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 0, buf, 100), S_IOERR); /* not whole sectors */
    assert_int_equal(vdrv_blk_sync(&r.v, 77, 0, buf, 512), S_UNSUPP);
    struct stat st;
    assert_int_equal(stat(r.img, &st), 0);
    assert_int_equal(st.st_size, (off_t)RIG_IMG_MB << 20);
    assert_int_equal(st.st_blocks, 0); /* nothing was ever written to the sparse image */
    assert_int_equal(rig_down(&r), 0);
}

static void test_read_only(void **state)
{
    (void)state;
    struct rig r;
    const char *extra[] = { "--read-only", NULL };
    assert_int_equal(rig_up(&r, extra, VDRV_DMA_GRANT, true), 0);
    assert_true(r.v.features & (1ull << 5));
    assert_false(r.v.features & (1ull << 14)); /* no write-zeroes on a RO disk */
    uint8_t buf[4096];
    pattern(buf, sizeof(buf), 6);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 0, buf, 4096), S_IOERR);
    assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 0, buf, 4096), S_OK);
    uint8_t zero[4096] = { 0 };
    assert_memory_equal(buf, zero, 4096);
    struct stat st;
    assert_int_equal(stat(r.img, &st), 0);
    assert_int_equal(st.st_blocks, 0);
    assert_int_equal(rig_down(&r), 0);
}

/* ---- hostile guests: the device must break, the process must not ---- */

/* Notify, then expect NEEDS_RESET with a config interrupt, grants released,
 * and a device that works again after a reset. */
static void expect_needs_reset(struct rig *r)
{
    vdrv_write32(&r->v, 0x050, 0);
    assert_int_equal(simdom_wait_irq(r->d, RIG_IRQ, 2000), 1);
    uint32_t isr = vdrv_read32(&r->v, 0x060);
    assert_true(isr & 2);
    assert_true(vdrv_status(&r->v) & NEEDS_RESET);
    assert_true(sim_alive(r->pid));
    assert_int_equal(simdom_grants_mapped_now(r->d), 0);
    vdrv_remove(&r->v);
    r->probed = false;
    assert_int_equal(rig_default_probe(r, VDRV_DMA_GRANT), 0);
    uint8_t buf[4096], rd[4096];
    pattern(buf, sizeof(buf), 11);
    assert_int_equal(vdrv_blk_sync(&r->v, T_OUT, 8, buf, 4096), S_OK);
    assert_int_equal(vdrv_blk_sync(&r->v, T_IN, 8, rd, 4096), S_OK);
    assert_memory_equal(buf, rd, 4096);
}

/* Publish head, notify, expect the device broken (and recoverable), stop cleanly. */
static void publish_expect_reset(struct rig *r, uint16_t head)
{
    vdrv_put_avail(&r->v, head);
    expect_needs_reset(r);
    assert_int_equal(rig_down(r), 0);
}

struct granted {
    uint64_t gpa, dma;
    struct vdrv_map m;
};

static void grant_page(struct rig *r, struct granted *g, bool ro)
{
    g->gpa = simdom_alloc_pages(r->d, 1);
    assert_true(g->gpa != 0);
    g->dma = vdrv_dma_map(&r->v, g->gpa, 4096, ro, &g->m);
    assert_true(g->dma != 0);
}

static void hostile_up(struct rig *r)
{
    assert_int_equal(rig_up(r, NULL, VDRV_DMA_GRANT, true), 0);
}

static void test_hostile_head_out_of_range(void **state)
{
    (void)state;
    struct rig r;
    hostile_up(&r);
    vdrv_put_avail(&r.v, (uint16_t)(r.v.qsize + 3));
    expect_needs_reset(&r);
    assert_int_equal(rig_down(&r), 0);
}

static void test_hostile_avail_idx_jump(void **state)
{
    (void)state;
    struct rig r;
    hostile_up(&r);
    vdrv_set_avail_idx(&r.v, (uint16_t)(r.v.qsize + 1));
    expect_needs_reset(&r);
    assert_int_equal(rig_down(&r), 0);
}

static void test_hostile_descriptor_loop(void **state)
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

static void test_hostile_next_out_of_range(void **state)
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

static void test_hostile_indirect_nested(void **state)
{
    (void)state;
    indirect_case(D_INDIRECT, 32, D_INDIRECT);
}

static void test_hostile_indirect_with_next(void **state)
{
    (void)state;
    indirect_case(D_WRITE, 32, D_INDIRECT | D_NEXT);
}

static void test_hostile_indirect_bad_length(void **state)
{
    (void)state;
    indirect_case(D_WRITE, 24, D_INDIRECT);
}

static void test_hostile_indirect_zero_length(void **state)
{
    (void)state;
    indirect_case(D_WRITE, 0, D_INDIRECT);
}

static void test_hostile_readable_after_writable(void **state)
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

static void test_hostile_total_length_overflow(void **state)
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
static void test_hostile_bit63_clear_address(void **state)
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
    expect_needs_reset(&r);
    struct xensim_stats s;
    simdom_stats(r.d, &s);
    assert_int_equal(s.fgn_map_calls, 0);
    assert_int_equal(rig_down(&r), 0);
}

static void test_hostile_ungranted_ref(void **state)
{
    (void)state;
    struct rig r;
    hostile_up(&r);
    vdrv_put_desc(&r.v, 0, (1ull << 63) | (7000ull << 12), 16, D_NEXT, 1);
    vdrv_put_desc(&r.v, 1, (1ull << 63) | (7001ull << 12), 1, D_WRITE, 0);
    publish_expect_reset(&r, 0);
}

static void test_hostile_grant_for_other_domain(void **state)
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

static void test_hostile_readonly_grant_for_writable_buffer(void **state)
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
    publish_expect_reset(&r, 0);
}

static void test_hostile_non_consecutive_refs(void **state)
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
    publish_expect_reset(&r, 0);
}

static void test_hostile_revoked_before_notify(void **state)
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

static void test_hostile_no_status_byte(void **state)
{
    (void)state;
    struct rig r;
    struct granted hdr;
    hostile_up(&r);
    grant_page(&r, &hdr, true);
    vdrv_put_desc(&r.v, 0, hdr.dma, 16, 0, 0);
    publish_expect_reset(&r, 0);
}

static void test_hostile_ring_address_not_granted(void **state)
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
    assert_true(vdrv_status(v) & NEEDS_RESET);
    assert_int_equal(simdom_wait_irq(r.d, RIG_IRQ, 1000), 1);
    vdrv_write32(v, 0x070, 0);
    assert_false(simdom_irq_level(r.d, RIG_IRQ));
    assert_int_equal(rig_default_probe(&r, VDRV_DMA_GRANT), 0);
    assert_int_equal(rig_down(&r), 0);
}

static void test_grant_mode_requires_access_platform(void **state)
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
    assert_int_equal(vdrv_status(v), 3);
    assert_int_equal(rig_down(&r), 0);
}

static void test_hostile_ioreqs(void **state)
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
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t val = 0;
        for (uint32_t vcpu = 0; vcpu < 2; vcpu++) {
            assert_int_equal(simdom_ioreq_raw(r.d, vcpu, &bad[i], &val), 0);
            if (bad[i].dir == IOREQ_READ)
                assert_true(val == ~0ull);
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
static void test_hostile_episodes_do_not_leak(void **state)
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grant_roundtrip),
        cmocka_unit_test(test_grant_roundtrip_direct_no_event_idx),
        cmocka_unit_test(test_foreign_roundtrip),
        cmocka_unit_test(test_foreign_premap_roundtrip),
        cmocka_unit_test(test_grant_mode_maps_no_foreign_memory),
        cmocka_unit_test(test_flush_get_id),
        cmocka_unit_test(test_discard_write_zeroes),
        cmocka_unit_test(test_out_of_range_never_touches_image),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_hostile_head_out_of_range),
        cmocka_unit_test(test_hostile_avail_idx_jump),
        cmocka_unit_test(test_hostile_descriptor_loop),
        cmocka_unit_test(test_hostile_next_out_of_range),
        cmocka_unit_test(test_hostile_indirect_nested),
        cmocka_unit_test(test_hostile_indirect_with_next),
        cmocka_unit_test(test_hostile_indirect_bad_length),
        cmocka_unit_test(test_hostile_indirect_zero_length),
        cmocka_unit_test(test_hostile_readable_after_writable),
        cmocka_unit_test(test_hostile_total_length_overflow),
        cmocka_unit_test(test_hostile_bit63_clear_address),
        cmocka_unit_test(test_hostile_ungranted_ref),
        cmocka_unit_test(test_hostile_grant_for_other_domain),
        cmocka_unit_test(test_hostile_readonly_grant_for_writable_buffer),
        cmocka_unit_test(test_hostile_non_consecutive_refs),
        cmocka_unit_test(test_hostile_revoked_before_notify),
        cmocka_unit_test(test_hostile_no_status_byte),
        cmocka_unit_test(test_hostile_ring_address_not_granted),
        cmocka_unit_test(test_grant_mode_requires_access_platform),
        cmocka_unit_test(test_hostile_ioreqs),
        cmocka_unit_test(test_hostile_episodes_do_not_leak),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
