/* SPDX-License-Identifier: MIT */
/*
 * A hostile guest against the virtio-pci function, through the backend
 * process's real entry point (configuration ioreqs and BAR accesses):
 * configuration space written at every offset and width, malformed config
 * requests, the BAR moved about and switched off, the capability list
 * scribbled on, MSI-X entries Xen would refuse, bus mastering and INTx
 * disabled under load, common-configuration fields at the wrong width, and
 * a broken ring.  Each time the process survives, read-only state stays as
 * it was, and a reset (a fresh probe) brings a working device back.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/hostile.h"

#define CFG_COMMAND 0x04
#define CFG_STATUS 0x06
#define CFG_BAR0 0x10
#define CMD_MEMORY 0x2u
#define CMD_MASTER 0x4u
#define CMD_INTX_DISABLE 0x400u
#define STATUS_INTERRUPT 0x8u
#define C_DFSELECT 0x00
#define C_MSIX_CONFIG 0x10
#define C_STATUS 0x14
#define C_Q_SELECT 0x16
#define C_Q_SIZE 0x18
#define C_Q_MSIX 0x1a
#define C_Q_ENABLE 0x1c
#define C_Q_DESCLO 0x20
#define NO_VECTOR 0xffffu

static void up(struct rig *r, enum rig_irq irq)
{
    assert_int_equal(rig_up_pci(r, RIG_PCI_SLOT, irq, NULL, VDRV_DMA_GRANT, true), 0);
}

static uint64_t common_rd(struct rig *r, uint32_t off, uint32_t size)
{
    return vdrv_bar_read(&r->v, r->v.pci.common + off, size);
}

static void common_wr(struct rig *r, uint32_t off, uint32_t size, uint64_t val)
{
    vdrv_bar_write(&r->v, r->v.pci.common + off, size, val);
}

static uint64_t msis(struct rig *r, uint32_t *data)
{
    uint64_t addr;
    uint32_t d;
    uint64_t n = simdom_msi(r->d, &addr, &d);
    if (data)
        *data = d;
    return n;
}

/* A reset and Linux's probe again, then a page served: the device works. */
static void reprobe_serves(struct rig *r, uint32_t seed)
{
    assert_true(sim_alive(r->pid));
    vdrv_remove(&r->v);
    r->probed = false;
    assert_int_equal(rig_default_probe(r, VDRV_DMA_GRANT), 0);
    expect_serves(r, 16, seed);
}

/* The offset of the first vendor capability of this cfg_type. */
static uint32_t vendor_cap(struct rig *r, uint32_t type)
{
    uint32_t ptr = vdrv_cfg_read(&r->v, 0x34, 1);
    for (int ttl = 48; ptr >= 0x40 && ttl > 0; ttl--) {
        if (vdrv_cfg_read(&r->v, ptr, 1) == 0x09 && vdrv_cfg_read(&r->v, ptr + 3, 1) == type)
            return ptr;
        ptr = vdrv_cfg_read(&r->v, ptr + 1, 1);
    }
    return 0;
}

/* The bits of each configuration byte the guest may change (PCI and virtio-pci say so). */
static void writable_bits(struct rig *r, uint8_t rw[256])
{
    memset(rw, 0, 256);
    rw[CFG_COMMAND] = CMD_MEMORY | CMD_MASTER;
    rw[CFG_COMMAND + 1] = CMD_INTX_DISABLE >> 8;
    rw[CFG_STATUS] = STATUS_INTERRUPT; /* follows the line, not the guest */
    rw[CFG_BAR0 + 1] = 0x80; /* a 32 KiB BAR: address bits 15-31 */
    rw[CFG_BAR0 + 2] = rw[CFG_BAR0 + 3] = 0xff;
    rw[0x0c] = rw[0x0d] = 0xff; /* cache line size, latency timer: stored, unused */
    rw[0x3c] = 0xff; /* INTERRUPT_LINE: the firmware's scratch byte */
    rw[r->v.pci.msix_cap + 3] = 0xc0; /* MSI-X enable and function mask */
    uint32_t cfg = vendor_cap(r, 5); /* VIRTIO_PCI_CAP_PCI_CFG: bar, offset, length, data */
    assert_true(cfg != 0);
    rw[cfg + 4] = 0xff;
    for (unsigned i = cfg + 8; i < cfg + 20; i++)
        rw[i] = 0xff;
}

/*
 * P-1, P-7: every offset, at every width, aligned or not, written with
 * zeros, ones and a pattern, and read: the process survives, identity and
 * capabilities do not move, and the device works after a reset.
 */
static void test_config_space_storm(void **state)
{
    (void)state;
    struct rig r;
    up(&r, RIG_MSIX);
    uint8_t before[256], after[256], rw[256];
    writable_bits(&r, rw);
    for (unsigned i = 0; i < 256; i++)
        before[i] = (uint8_t)vdrv_cfg_read(&r.v, i, 1);
    static const uint32_t sizes[] = { 1, 2, 4 };
    for (uint32_t reg = 0; reg < 0x104; reg++)
        for (unsigned s = 0; s < 3; s++) {
            uint32_t vals[] = { 0, UINT32_MAX, 0xa5c3e187u ^ (reg * 0x01010101u) };
            for (unsigned k = 0; k < 3; k++) {
                vdrv_cfg_write(&r.v, reg, sizes[s], vals[k]);
                (void)vdrv_cfg_read(&r.v, reg, sizes[s]);
            }
        }
    assert_true(sim_alive(r.pid));
    for (unsigned i = 0; i < 256; i++) {
        after[i] = (uint8_t)vdrv_cfg_read(&r.v, i, 1);
        if ((before[i] ^ after[i]) & ~rw[i])
            fail_msg("read-only bits of byte 0x%02x changed: 0x%02x -> 0x%02x", i, before[i],
                     after[i]);
    }
    assert_int_equal(vdrv_cfg_read(&r.v, 0x100, 4), 0); /* nothing past 256 bytes */
    /* The guest moved its own BAR about: the driver puts it back to reset the device. */
    vdrv_cfg_write(&r.v, CFG_BAR0, 4, (uint32_t)RIG_PCI_BAR);
    vdrv_cfg_write(&r.v, CFG_COMMAND, 2, CMD_MEMORY | CMD_MASTER);
    reprobe_serves(&r, 21);
    assert_int_equal(rig_down(&r), 0);
}

static uint64_t config_ioreq(struct rig *r, uint32_t sbdf, uint32_t reg, uint32_t size,
                             uint32_t count, uint8_t data_is_ptr)
{
    ioreq_t q = { .addr = (uint64_t)sbdf << 32 | reg, .size = size, .count = count,
                  .data_is_ptr = data_is_ptr, .dir = IOREQ_READ, .type = IOREQ_TYPE_PCI_CONFIG };
    uint64_t data = 0;
    assert_int_equal(simdom_ioreq_raw(r->d, 0, &q, &data), 0);
    return data;
}

/*
 * P-2: configuration requests in shapes Xen does not send for a plain CF8/CFC
 * cycle, or for another function: answered as an absent function (all ones)
 * and never served as a register.
 */
static void test_config_bad_shapes(void **state)
{
    (void)state;
    struct rig r;
    up(&r, RIG_INTX);
    uint32_t ours = RIG_PCI_SLOT << 3;
    assert_int_equal(config_ioreq(&r, ours, 0, 4, 1, 0), 0x10421af4u);
    assert_int_equal(config_ioreq(&r, ours, 0, 3, 1, 0), 0xffffffu);
    assert_int_equal(config_ioreq(&r, ours, 0, 8, 1, 0), UINT64_MAX);
    assert_int_equal(config_ioreq(&r, ours, 0, 4, 2, 0), UINT32_MAX);   /* rep insl */
    assert_int_equal(config_ioreq(&r, ours, 0, 4, 1, 1), UINT32_MAX);   /* data_is_ptr */
    assert_int_equal(config_ioreq(&r, ours | 1, 0, 4, 1, 0), UINT32_MAX); /* function 1 */
    assert_int_equal(config_ioreq(&r, ours + 8, 0, 4, 1, 0), UINT32_MAX); /* the next slot */
    assert_int_equal(config_ioreq(&r, ours | 1u << 16, 0, 4, 1, 0), UINT32_MAX); /* segment 1 */
    expect_serves(&r, 16, 22);
    assert_int_equal(rig_down(&r), 0);
}

static uint32_t queue_size_at(struct rig *r, uint64_t base)
{
    uint64_t v = ~0ull;
    assert_int_equal(simdom_mmio_read(r->d, 0, base + r->v.pci.common + C_Q_SIZE, 2, &v), 0);
    return (uint32_t)v;
}

/*
 * P-5, P-21: the BAR moved while the device is live: the old place answers
 * nothing (a request still aimed there is refused), the new one serves,
 * near the top of the 32-bit space too; at 0, at the all-ones pattern of
 * BAR sizing (0xffff8000: a probe left behind, never an address firmware
 * assigns) or with memory decoding off, it is nowhere.
 */
static void test_bar_relocation(void **state)
{
    (void)state;
    struct rig r;
    up(&r, RIG_INTX);
    expect_serves(&r, 16, 23);
    static const uint64_t places[] = { 0xe0000000ull, 0xffff0000ull, 0xfee00000ull };
    uint64_t old = RIG_PCI_BAR;
    for (unsigned i = 0; i < 3; i++) {
        vdrv_cfg_write(&r.v, CFG_BAR0, 4, (uint32_t)places[i]);
        r.v.o.base = places[i];
        assert_int_equal(queue_size_at(&r, old), 0);
        assert_int_equal(queue_size_at(&r, places[i]), r.v.qsize);
        expect_serves(&r, 16, 24 + i);
        old = places[i];
    }
    vdrv_cfg_write(&r.v, CFG_BAR0, 4, 0);
    assert_int_equal(queue_size_at(&r, old), 0);
    vdrv_cfg_write(&r.v, CFG_BAR0, 4, 0xffff8000u);
    assert_int_equal(queue_size_at(&r, 0xffff8000ull), 0);
    vdrv_cfg_write(&r.v, CFG_BAR0, 4, (uint32_t)old);
    assert_int_equal(queue_size_at(&r, old), r.v.qsize);
    uint32_t cmd = vdrv_cfg_read(&r.v, CFG_COMMAND, 2);
    vdrv_cfg_write(&r.v, CFG_COMMAND, 2, cmd & ~CMD_MEMORY);
    assert_int_equal(queue_size_at(&r, old), 0);
    vdrv_cfg_write(&r.v, CFG_COMMAND, 2, cmd);
    expect_serves(&r, 16, 28);
    assert_int_equal(rig_down(&r), 0);
}

/* A request submitted and notified; the test waits for its interrupt itself. */
static void submit(struct rig *r, struct vdrv_blk_req *q, void *buf)
{
    memset(q, 0, sizeof(*q));
    q->type = T_IN;
    q->sector = 16;
    q->data = buf;
    q->len = 4096;
    assert_int_equal(vdrv_blk_submit(&r->v, q), 0);
    assert_int_equal(vdrv_kick(&r->v), 0);
}

/*
 * Until the device has put the request in the used ring (2 s at most), then
 * one configuration read: the device process is single-threaded, so once
 * it is answered, whatever the completion raised has been sent or held.
 */
static void wait_used(struct rig *r)
{
    for (int i = 0; i < 200 && vdrv_used_idx(&r->v) == r->v.last_used; i++)
        usleep(10000);
    assert_int_equal(vdrv_used_idx(&r->v), (uint16_t)(r->v.last_used + 1));
    (void)vdrv_cfg_read(&r->v, 0, 4);
}

/* The request completes in the used ring; no MSI came for it since `seen`. */
static void completes_silently(struct rig *r, struct vdrv_blk_req *q, uint64_t seen)
{
    wait_used(r);
    assert_int_equal(msis(r, NULL), seen);
    r->v.pci.msi_seen = seen;
    vdrv_reap(&r->v, 0);
    assert_true(q->done);
}

static void write_entry(struct rig *r, unsigned e, uint32_t lo, uint32_t hi, uint32_t data,
                        uint32_t ctrl)
{
    uint32_t at = r->v.pci.msix_table + 16 * e;
    vdrv_bar_write(&r->v, at, 4, lo);
    vdrv_bar_write(&r->v, at + 4, 4, hi);
    vdrv_bar_write(&r->v, at + 8, 4, data);
    vdrv_bar_write(&r->v, at + 12, 4, ctrl);
}

/*
 * P-20, P-24: MSI-X entries Xen would refuse (NMI delivery, a PIRQ message
 * without a PIRQ, an address outside the interrupt window) are never sent;
 * vectors past the table read back NO_VECTOR; accesses of other widths
 * leave an entry as it was; a function mask holds the message pending until
 * it is lifted, then it goes once.
 */
static void test_msix_abuse(void **state)
{
    (void)state;
    struct rig r;
    up(&r, RIG_MSIX);
    static uint8_t buf[4096];
    struct vdrv_blk_req q;
    static const uint32_t bad[][3] = {
        { 0xfee00000u, 0, 0x400u | 0x41 }, /* NMI */
        { 0xfee00000u, 0, 0 },             /* PIRQ format, PIRQ 0 */
        { 0x12345000u, 0, 0x41 },          /* not the interrupt window */
        { 0xfee00000u, 0, 0x700u | 0x41 }, /* ExtINT */
    };
    for (unsigned i = 0; i < 4; i++) {
        write_entry(&r, 1, bad[i][0], bad[i][1], bad[i][2], 0);
        uint64_t seen = msis(&r, NULL);
        submit(&r, &q, buf);
        completes_silently(&r, &q, seen);
    }
    assert_int_equal(simdom_msi_refused(r.d), 0); /* not even asked of Xen */
    write_entry(&r, 1, 0xfee00000u, 0, 0x41, 0);
    assert_int_equal(vdrv_bar_read(&r.v, 0x5000, 4), 0); /* a refused message is not pending */
    /* other widths: all ones read, nothing written */
    uint32_t at = r.v.pci.msix_table + 16;
    assert_int_equal(vdrv_bar_read(&r.v, at + 8, 2), 0xffff);
    assert_int_equal(vdrv_bar_read(&r.v, at + 8, 1), 0xff);
    vdrv_bar_write(&r.v, at + 8, 2, 0x0042);
    vdrv_bar_write(&r.v, at + 8, 8, 0x43);
    assert_int_equal(vdrv_bar_read(&r.v, at + 8, 4), 0x41);
    vdrv_bar_write(&r.v, 0x5000, 4, UINT32_MAX); /* the PBA is read-only */
    assert_int_equal(vdrv_bar_read(&r.v, 0x5000, 4), 0);
    /* vectors past the table */
    common_wr(&r, C_MSIX_CONFIG, 2, 8);
    assert_int_equal(common_rd(&r, C_MSIX_CONFIG, 2), NO_VECTOR);
    common_wr(&r, C_Q_MSIX, 2, 0x1234);
    assert_int_equal(common_rd(&r, C_Q_MSIX, 2), NO_VECTOR);
    common_wr(&r, C_MSIX_CONFIG, 2, 0);
    common_wr(&r, C_Q_MSIX, 2, 1);
    /* function mask: pending, then sent once when lifted */
    uint32_t ctrl = r.v.pci.msix_cap + 2u;
    uint32_t c = vdrv_cfg_read(&r.v, ctrl, 2);
    vdrv_cfg_write(&r.v, ctrl, 2, c | 0x4000u);
    uint64_t seen = msis(&r, NULL);
    submit(&r, &q, buf);
    wait_used(&r);
    assert_int_equal(msis(&r, NULL), seen);
    assert_int_equal(vdrv_bar_read(&r.v, 0x5000, 4), 1u << 1); /* vector 1 pending */
    vdrv_cfg_write(&r.v, ctrl, 2, c & ~0x4000u);
    uint32_t data = 0;
    assert_int_equal(simdom_wait_msi(r.d, seen, 2000), 1);
    assert_int_equal(msis(&r, &data), seen + 1);
    assert_int_equal(data, 0x41);
    assert_int_equal(vdrv_bar_read(&r.v, 0x5000, 4), 0);
    r.v.pci.msi_seen = seen + 1;
    vdrv_reap(&r.v, 0);
    assert_true(q.done);
    expect_serves(&r, 16, 31);
    assert_int_equal(rig_down(&r), 0);
}

/* P-31: with bus mastering off a notify is ignored: no ring is read, nothing completes. */
static void test_bus_master_off(void **state)
{
    (void)state;
    struct rig r;
    up(&r, RIG_MSIX);
    static uint8_t buf[4096];
    struct vdrv_blk_req q;
    uint32_t cmd = vdrv_cfg_read(&r.v, CFG_COMMAND, 2);
    vdrv_cfg_write(&r.v, CFG_COMMAND, 2, cmd & ~CMD_MASTER);
    submit(&r, &q, buf); /* its notify is answered once the device has ignored it */
    (void)vdrv_cfg_read(&r.v, 0, 4);
    assert_int_equal(vdrv_reap(&r.v, 50), 0);
    assert_false(q.done);
    assert_int_equal(vdrv_used_idx(&r.v), r.v.last_used);
    vdrv_cfg_write(&r.v, CFG_COMMAND, 2, cmd);
    vdrv_write32(&r.v, R_NOTIFY, 0); /* the driver's kick was spent on the ignored one */
    for (int i = 0; i < 20 && !q.done; i++)
        vdrv_reap(&r.v, 100);
    assert_true(q.done);
    assert_int_equal(q.status, S_OK);
    expect_serves(&r, 16, 32);
    assert_int_equal(rig_down(&r), 0);
}

/* P-3: INTX_DISABLE keeps the line low (STATUS.INTERRUPT still says why); clearing it asserts. */
static void test_intx_disable(void **state)
{
    (void)state;
    struct rig r;
    up(&r, RIG_INTX);
    static uint8_t buf[4096];
    struct vdrv_blk_req q;
    uint32_t cmd = vdrv_cfg_read(&r.v, CFG_COMMAND, 2);
    vdrv_cfg_write(&r.v, CFG_COMMAND, 2, cmd | CMD_INTX_DISABLE);
    uint64_t edges = simdom_irq_edges(r.d, r.v.pci.gsi);
    submit(&r, &q, buf);
    wait_used(&r);
    assert_false(simdom_irq_level(r.d, r.v.pci.gsi));
    assert_true(vdrv_cfg_read(&r.v, CFG_STATUS, 2) & STATUS_INTERRUPT);
    assert_int_equal(simdom_irq_edges(r.d, r.v.pci.gsi), edges);
    vdrv_cfg_write(&r.v, CFG_COMMAND, 2, cmd);
    assert_int_equal(simdom_wait_irq(r.d, r.v.pci.gsi, 2000), 1);
    assert_int_equal(vdrv_reap(&r.v, 100), 1); /* reads the ISR: the line goes down */
    assert_true(q.done);
    assert_false(simdom_irq_level(r.d, r.v.pci.gsi));
    assert_false(vdrv_cfg_read(&r.v, CFG_STATUS, 2) & STATUS_INTERRUPT);
    expect_serves(&r, 16, 33);
    assert_int_equal(rig_down(&r), 0);
}

/*
 * P-12, P-13, P-17: common-configuration fields at the wrong width are
 * refused; a queue index past the device's has no fields; a notify of a
 * width or at an offset the capability does not give is refused.
 */
static void test_common_config_abuse(void **state)
{
    (void)state;
    struct rig r;
    up(&r, RIG_INTX);
    uint32_t status = (uint32_t)common_rd(&r, C_STATUS, 1);
    common_wr(&r, C_STATUS, 4, 0); /* over status, generation and queue_select */
    assert_int_equal(common_rd(&r, C_STATUS, 1), status);
    assert_int_equal(common_rd(&r, C_STATUS, 4), 0);
    uint32_t sel = (uint32_t)common_rd(&r, C_DFSELECT, 4);
    common_wr(&r, C_DFSELECT, 2, sel ^ 1);
    assert_int_equal(common_rd(&r, C_DFSELECT, 4), sel);
    assert_int_equal(common_rd(&r, C_Q_DESCLO, 8), 0);
    common_wr(&r, C_Q_SELECT, 2, 0xffff);
    assert_int_equal(common_rd(&r, C_Q_SIZE, 2), 0);
    assert_int_equal(common_rd(&r, C_Q_MSIX, 2), NO_VECTOR);
    common_wr(&r, C_Q_ENABLE, 2, 1);
    assert_int_equal(common_rd(&r, C_Q_ENABLE, 2), 0);
    common_wr(&r, C_Q_SELECT, 2, 0);
    common_wr(&r, C_Q_ENABLE, 2, 0); /* the driver must not: ignored, the queue runs on */
    assert_int_equal(common_rd(&r, C_Q_ENABLE, 2), 1);
    vdrv_bar_write(&r.v, r.v.pci.notify + 2, 2, 0);
    vdrv_bar_write(&r.v, r.v.pci.notify, 1, 0);
    vdrv_bar_write(&r.v, r.v.pci.isr, 4, 0);
    assert_int_equal(vdrv_bar_read(&r.v, 0x7ff8, 8), 0); /* past every structure */
    assert_false(vdrv_status(&r.v) & NEEDS_RESET);
    expect_serves(&r, 16, 34);
    assert_int_equal(rig_down(&r), 0);
}

/*
 * P-16, P-30: a descriptor loop breaks the device as on MMIO, and the
 * configuration vector says so; a reset maps every event to no vector and
 * queue_size back to the maximum; a fresh probe serves again.
 */
static void test_broken_ring_and_reset(void **state)
{
    (void)state;
    struct rig r;
    up(&r, RIG_MSIX);
    struct granted hdr;
    grant_page(&r, &hdr, true);
    vdrv_put_desc(&r.v, 0, hdr.dma, 16, D_NEXT, 0); /* next is itself */
    vdrv_put_avail(&r.v, 0);
    uint64_t seen = msis(&r, NULL);
    assert_int_equal(vdrv_kick(&r.v), 0);
    assert_int_equal(simdom_wait_msi(r.d, seen, 2000), 1);
    uint32_t data = 0;
    msis(&r, &data);
    assert_int_equal(data, 0x40); /* the configuration vector */
    assert_true(vdrv_status(&r.v) & NEEDS_RESET);
    assert_int_equal(simdom_grants_mapped_now(r.d), 0); /* a broken device keeps nothing */
    vdrv_dma_unmap(&r.v, &hdr.m);
    common_wr(&r, C_STATUS, 1, 0);
    assert_int_equal(common_rd(&r, C_MSIX_CONFIG, 2), NO_VECTOR);
    assert_int_equal(common_rd(&r, C_Q_MSIX, 2), NO_VECTOR);
    assert_int_equal(common_rd(&r, C_Q_SIZE, 2), 256);
    assert_int_equal(common_rd(&r, C_Q_ENABLE, 2), 0);
    reprobe_serves(&r, 35);
    assert_int_equal(rig_down(&r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_space_storm),
        cmocka_unit_test(test_config_bad_shapes),
        cmocka_unit_test(test_bar_relocation),
        cmocka_unit_test(test_msix_abuse),
        cmocka_unit_test(test_bus_master_off),
        cmocka_unit_test(test_intx_disable),
        cmocka_unit_test(test_common_config_abuse),
        cmocka_unit_test(test_broken_ring_and_reset),
    };
    return cmocka_run_group_tests(tests, rig_group_setup, rig_group_teardown);
}
