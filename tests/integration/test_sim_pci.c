/* SPDX-License-Identifier: MIT */
/*
 * The backend process as a virtio-pci function (--transport pci), driven
 * through its real entry point: configuration cycles Xen forwards as
 * IOREQ_TYPE_PCI_CONFIG, BAR accesses, and interrupts through Xen's PCI
 * INTx and MSI dm ops.  The driver probes as Linux's virtio_pci_modern.
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
#include <string.h>
#include <unistd.h>

#include "../common/rig.h"

#define F_ACCESS_PLATFORM (1ull << 33)

static void image_read(struct rig *r, uint64_t off, void *buf, size_t n)
{
    int fd = open(r->img, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, n, (off_t)off), (ssize_t)n);
    close(fd);
}

/* Write, read back, compare with the guest's view and with the image. */
static void roundtrip(struct rig *r, enum vdrv_dma dma)
{
    static const uint32_t sizes[] = { 512, 4096 + 512, 65536, 3 * 65536 + 4096 };
    uint32_t ring_pages = r->v.ring_map.ref >= 0 ? r->v.ring_map.npages : 0;
    uint64_t sector = 7;
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint32_t n = sizes[i];
        uint8_t *w = malloc(n), *rd = malloc(n), *img = malloc(n);
        rig_pattern(w, n, i + 11);
        assert_int_equal(vdrv_blk_sync(&r->v, T_OUT, sector, w, n), S_OK);
        memset(rd, 0, n);
        assert_int_equal(vdrv_blk_sync(&r->v, T_IN, sector, rd, n), S_OK);
        assert_memory_equal(w, rd, n);
        image_read(r, sector * 512, img, n);
        assert_memory_equal(w, img, n);
        if (dma == VDRV_DMA_GRANT)
            assert_int_equal(simdom_grants_mapped_now(r->d), ring_pages);
        sector += n / 512 + 3;
        free(w);
        free(rd);
        free(img);
    }
    assert_int_equal(r->v.grant_busy, 0);
}

static uint64_t msi_count(struct rig *r)
{
    uint64_t addr;
    uint32_t data;
    return simdom_msi(r->d, &addr, &data);
}

/* INTx: the slot's INTA line, raised and lowered by ISR reads; no MSI. */
static void test_grant_intx(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up_pci(&r, RIG_PCI_SLOT, RIG_INTX, NULL, VDRV_DMA_GRANT, true), 0);
    roundtrip(&r, VDRV_DMA_GRANT);
    assert_true(r.v.interrupts > 0);
    assert_true(simdom_irq_edges(r.d, r.v.pci.gsi) > 0);
    assert_false(simdom_irq_level(r.d, r.v.pci.gsi)); /* every ISR was read */
    assert_int_equal(msi_count(&r), 0);
    assert_int_equal(rig_down(&r), 0);
}

/* MSI-X with ordinary messages: the queue's vector, never the INTx line. */
static void test_grant_msix(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up_pci(&r, RIG_PCI_SLOT, RIG_MSIX, NULL, VDRV_DMA_GRANT, true), 0);
    roundtrip(&r, VDRV_DMA_GRANT);
    uint64_t addr;
    uint32_t data;
    assert_true(simdom_msi(r.d, &addr, &data) >= r.v.interrupts);
    assert_true(r.v.interrupts > 0);
    assert_int_equal(addr, 0xfee00000u);
    assert_int_equal(data, 0x41); /* the queue's vector, entry 1 */
    assert_int_equal(simdom_irq_edges(r.d, r.v.pci.gsi), 0);
    assert_int_equal(rig_down(&r), 0);
}

/*
 * As Linux on Xen: PIRQ-format entries (vector 0, the PIRQ in the address)
 * whose Mask bit the driver never clears are delivered all the same.
 */
static void test_grant_msix_pirq(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up_pci(&r, RIG_PCI_SLOT, RIG_MSIX_PIRQ, NULL, VDRV_DMA_GRANT, true),
                     0);
    roundtrip(&r, VDRV_DMA_GRANT);
    uint64_t addr;
    uint32_t data;
    assert_true(simdom_msi(r.d, &addr, &data) > 0);
    assert_int_equal(addr, 0xfee00000u | 101u << 12); /* the queue's PIRQ */
    assert_int_equal(data, 0);
    assert_int_equal(rig_down(&r), 0);
}

/* Foreign mode, for comparison: guest-physical addresses, over the same transport. */
static void test_foreign_intx(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up_pci(&r, 9, RIG_INTX, NULL, VDRV_DMA_PHYS, true), 0);
    roundtrip(&r, VDRV_DMA_PHYS);
    assert_true(simdom_irq_edges(r.d, 21) > 0); /* slot 9's INTA: GSI ((36 + 1) & 31) + 16 */
    assert_int_equal(rig_down(&r), 0);
}

/*
 * SeaBIOS keeps queue_size at the maximum it read and never writes it: the
 * queue starts at that size (it was refused as size 0, found on real Xen).
 */
static void test_queue_size_kept(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up_pci(&r, RIG_PCI_SLOT, RIG_INTX, NULL, VDRV_DMA_PHYS, false), 0);
    struct vdrv_opts o = { .base = RIG_PCI_BAR, .pci_slot = RIG_PCI_SLOT, .dma = VDRV_DMA_PHYS,
                           .keep_queue_size = true };
    assert_int_equal(vdrv_probe(&r.v, r.d, &o), 0);
    r.probed = true;
    assert_int_equal(r.v.qsize, 256);
    assert_int_equal(vdrv_status(&r.v) & 0x40u, 0); /* no DEVICE_NEEDS_RESET */
    roundtrip(&r, VDRV_DMA_PHYS);
    assert_int_equal(rig_down(&r), 0);
}

/*
 * SeaBIOS in an HVM guest: it accepts ACCESS_PLATFORM and gives the rings as
 * guest-physical addresses.  Grant mode refuses them at queue_enable, before
 * DRIVER_OK: NEEDS_RESET, and no interrupt the firmware never asked for (the
 * INTx line it raised made SeaBIOS triple-fault on real Xen).
 */
static void test_refused_before_driver_ok_is_silent(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up_pci(&r, RIG_PCI_SLOT, RIG_INTX, NULL, VDRV_DMA_GRANT, false), 0);
    struct vdrv_opts o = { .base = RIG_PCI_BAR, .pci_slot = RIG_PCI_SLOT, .dma = VDRV_DMA_PHYS,
                           .keep_queue_size = true };
    assert_true(vdrv_probe(&r.v, r.d, &o) < 0);
    assert_true(vdrv_status(&r.v) & 0x40u); /* DEVICE_NEEDS_RESET */
    assert_int_equal(simdom_irq_edges(r.d, r.v.pci.gsi), 0);
    assert_false(simdom_irq_level(r.d, r.v.pci.gsi));
    /* the same device then serves a grant driver */
    o.dma = VDRV_DMA_GRANT;
    o.keep_queue_size = false;
    o.queue_size = 64;
    assert_int_equal(vdrv_probe(&r.v, r.d, &o), 0);
    r.probed = true;
    roundtrip(&r, VDRV_DMA_GRANT);
    assert_int_equal(rig_down(&r), 0);
}

/* A stock driver that does not accept ACCESS_PLATFORM is refused in grant mode, as on MMIO. */
static void test_stock_driver_refused(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up_pci(&r, RIG_PCI_SLOT, RIG_MSIX, NULL, VDRV_DMA_GRANT, false), 0);
    struct vdrv_opts o = { .base = RIG_PCI_BAR, .pci_slot = RIG_PCI_SLOT, .msix = true,
                           .dma = VDRV_DMA_PHYS, .queue_size = 64,
                           .refuse_features = F_ACCESS_PLATFORM };
    assert_int_equal(vdrv_probe(&r.v, r.d, &o), -EPROTO);
    assert_int_equal(vdrv_status(&r.v) & 8u, 0); /* FEATURES_OK not kept */
    /* the same device then serves a driver that does */
    o.dma = VDRV_DMA_GRANT;
    o.refuse_features = 0;
    assert_int_equal(vdrv_probe(&r.v, r.d, &o), 0);
    r.probed = true;
    roundtrip(&r, VDRV_DMA_GRANT);
    assert_int_equal(rig_down(&r), 0);
}

/* Nothing answers configuration cycles for other functions: Xen's null handler, all ones. */
static void test_only_its_function(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up_pci(&r, RIG_PCI_SLOT, RIG_INTX, NULL, VDRV_DMA_GRANT, true), 0);
    uint32_t v = 0;
    assert_int_equal(simdom_pci_config_read(r.d, 0, (RIG_PCI_SLOT << 3) | 1, 0, 4, &v), 0);
    assert_int_equal(v, UINT32_MAX);
    assert_int_equal(simdom_pci_config_read(r.d, 0, (RIG_PCI_SLOT + 1) << 3, 0, 4, &v), 0);
    assert_int_equal(v, UINT32_MAX);
    assert_int_equal(vdrv_cfg_read(&r.v, 0, 4), 0x10421af4u);
    assert_int_equal(rig_down(&r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grant_intx),
        cmocka_unit_test(test_grant_msix),
        cmocka_unit_test(test_grant_msix_pirq),
        cmocka_unit_test(test_foreign_intx),
        cmocka_unit_test(test_queue_size_kept),
        cmocka_unit_test(test_refused_before_driver_ok_is_silent),
        cmocka_unit_test(test_stock_driver_refused),
        cmocka_unit_test(test_only_its_function),
    };
    return cmocka_run_group_tests(tests, rig_group_setup, rig_group_teardown);
}
