/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "hostile.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <sys/stat.h>

/* A page written at sector and read back, through the probed driver. */
void expect_serves(struct rig *r, uint64_t sector, uint32_t seed)
{
    uint8_t buf[4096], rd[4096];
    rig_pattern(buf, sizeof(buf), seed);
    assert_int_equal(vdrv_blk_sync(&r->v, T_OUT, sector, buf, 4096), S_OK);
    assert_int_equal(vdrv_blk_sync(&r->v, T_IN, sector, rd, 4096), S_OK);
    assert_memory_equal(buf, rd, 4096);
}

void expect_needs_reset_dma(struct rig *r, enum vdrv_dma dma)
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
    assert_int_equal(rig_default_probe(r, dma), 0);
    expect_serves(r, 8, 11);
}

void expect_needs_reset(struct rig *r)
{
    expect_needs_reset_dma(r, VDRV_DMA_GRANT);
}

/* Publish head, notify, expect the device broken (and recoverable), stop cleanly. */
void publish_expect_reset(struct rig *r, uint16_t head)
{
    vdrv_put_avail(&r->v, head);
    expect_needs_reset(r);
    assert_int_equal(rig_down(r), 0);
}


void grant_page(struct rig *r, struct granted *g, bool ro)
{
    g->gpa = simdom_alloc_pages(r->d, 1);
    assert_true(g->gpa != 0);
    g->dma = vdrv_dma_map(&r->v, g->gpa, 4096, ro, &g->m);
    assert_true(g->dma != 0);
}



void raw_blk(struct rig *r, struct raw_req *q, uint32_t type, uint64_t sector,
                    uint32_t hdr_len, uint32_t data_len, uint16_t data_flags)
{
    memset(q, 0, sizeof(*q));
    grant_page(r, &q->hdr, true);
    uint8_t *h = simdom_gpa(r->d, q->hdr.gpa, 16);
    memset(h, 0, 16);
    memcpy(h, &type, 4);
    memcpy(h + 8, &sector, 8);
    uint16_t n = 0;
    vdrv_put_desc(&r->v, n, q->hdr.dma, hdr_len, D_NEXT, (uint16_t)(n + 1));
    n++;
    if (data_len) {
        grant_page(r, &q->data, !(data_flags & D_WRITE));
        q->payload = simdom_gpa(r->d, q->data.gpa, 4096);
        vdrv_put_desc(&r->v, n, q->data.dma, data_len, data_flags | D_NEXT, (uint16_t)(n + 1));
        n++;
    }
    grant_page(r, &q->st, false);
    q->status = simdom_gpa(r->d, q->st.gpa, 1);
    *q->status = 0xee;
    vdrv_put_desc(&r->v, n, q->st.dma, 1, D_WRITE, 0);
}

/*
 * Publish head 0 and notify; wait for its used entry.  Returns the used length
 * the device reported; the device must not have broken.
 */
uint32_t complete_raw(struct rig *r)
{
    uint16_t before = vdrv_used_idx(&r->v);
    vdrv_put_avail(&r->v, 0);
    vdrv_write32(&r->v, R_NOTIFY, 0);
    for (int i = 0; i < 200 && vdrv_used_idx(&r->v) == before; i++)
        simdom_wait_irq(r->d, RIG_IRQ, 10);
    assert_int_equal(vdrv_used_idx(&r->v), (uint16_t)(before + 1));
    assert_false(vdrv_status(&r->v) & NEEDS_RESET);
    assert_true(sim_alive(r->pid));
    assert_int_equal(simdom_grants_mapped_now(r->d), r->v.ring_map.npages);
    uint32_t elem[2];
    memcpy(elem, r->v.used + 4 + 8u * (before % r->v.qsize), sizeof(elem));
    assert_int_equal(elem[0], 0);
    return elem[1];
}


/* After hand-made requests the driver's bookkeeping is stale: reset, serve, stop. */
void reset_serve_down(struct rig *r)
{
    vdrv_remove(&r->v);
    r->probed = false;
    assert_int_equal(rig_default_probe(r, VDRV_DMA_GRANT), 0);
    uint8_t buf[4096], rd[4096];
    rig_pattern(buf, sizeof(buf), 23);
    if (r->v.features & (1ull << 5)) { /* VIRTIO_BLK_F_RO: reads only */
        assert_int_equal(vdrv_blk_sync(&r->v, T_OUT, 16, buf, 4096), S_IOERR);
        memset(buf, 0, sizeof(buf));
    } else {
        assert_int_equal(vdrv_blk_sync(&r->v, T_OUT, 16, buf, 4096), S_OK);
    }
    assert_int_equal(vdrv_blk_sync(&r->v, T_IN, 16, rd, 4096), S_OK);
    assert_memory_equal(buf, rd, 4096);
    assert_int_equal(rig_down(r), 0);
}

/* Bring a fresh device to FEATURES_OK by hand, as a driver would. */
void manual_features_ok(struct rig *r)
{
    struct vdrv *v = &r->v;
    v->d = r->d;
    v->o = (struct vdrv_opts){ .base = RIG_BASE, .irq = RIG_IRQ };
    vdrv_write32(v, R_STATUS, 0);
    vdrv_write32(v, R_STATUS, 3);
    vdrv_write32(v, 0x024, 1);
    vdrv_write32(v, 0x020, 3); /* VERSION_1 | ACCESS_PLATFORM */
    vdrv_write32(v, R_STATUS, 11);
    assert_int_equal(vdrv_status(v), 11);
}

/*
 * The device broke itself: a config interrupt if the driver had set
 * DRIVER_OK, none before (the failing access completed after the device
 * broke, so a line it raised would be up already); then a reset and a
 * normal probe serve again.
 */
void expect_broken_then_recover(struct rig *r)
{
    uint32_t status = vdrv_status(&r->v);
    assert_true(status & NEEDS_RESET);
    if (status & 4u) {
        assert_int_equal(simdom_wait_irq(r->d, RIG_IRQ, 1000), 1);
        assert_true(vdrv_read32(&r->v, R_ISR) & 2);
    } else {
        assert_false(simdom_irq_level(r->d, RIG_IRQ));
        assert_int_equal(vdrv_read32(&r->v, R_ISR), 0);
    }
    assert_true(sim_alive(r->pid));
    vdrv_write32(&r->v, R_STATUS, 0);
    reset_serve_down(r);
}

/* Class 11: blk requests through raw descriptors; each gets its status, the image is safe. */
void blk_status_case(uint32_t type, uint64_t sector, uint32_t hdr_len, uint32_t data_len,
                            uint16_t data_flags, uint8_t want, bool read_only)
{
    struct rig r;
    struct raw_req q;
    const char *ro[] = { "--read-only", NULL };
    assert_int_equal(rig_up(&r, read_only ? ro : NULL, VDRV_DMA_GRANT, true), 0);
    raw_blk(&r, &q, type, sector, hdr_len, data_len, data_flags);
    if (q.payload)
        memset(q.payload, 0x3c, 4096);
    complete_raw(&r);
    assert_int_equal(*q.status, want);
    /* nothing reached the image: it is still all holes */
    struct stat st;
    assert_int_equal(stat(r.img, &st), 0);
    assert_int_equal(st.st_blocks, 0);
    reset_serve_down(&r);
}
