/* SPDX-License-Identifier: MIT */
/*
 * The virtio-pci transport (transport/pci.c) in front of a blk device on a
 * simulated guest, in-process: the configuration space as Linux's
 * virtio_pci probe reads it, a request served through the BAR, interrupts
 * as MSI-X (Xen's PIRQ format) and as INTx, and a hostile guest's accesses:
 * every width at every offset, vectors out of range, queue_enable 0,
 * notifies with bus mastering off, and the PCI_CFG window abused.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "mmio_fixture.h"
#include "transport/pci.h"

static struct pci_transport p;
static uint64_t win_base, win_size;
static unsigned windows, intx, msis;
static uint64_t msi_addr;
static uint32_t msi_data;

static void move_window(void *opaque, uint64_t base, uint64_t size)
{
    (void)opaque;
    win_base = base;
    win_size = size;
    windows++;
}

static void set_intx(void *opaque, unsigned level)
{
    (void)opaque;
    intx = level;
}

static void inject_msi(void *opaque, uint64_t addr, uint32_t data)
{
    (void)opaque;
    msis++;
    msi_addr = addr;
    msi_data = data;
}

static int setup_pci(void **state)
{
    if (setup(state) < 0)
        return -1;
    win_base = win_size = 0;
    windows = intx = msis = 0;
    const struct pci_host host = { move_window, set_intx, inject_msi, NULL };
    return pci_init(&p, &m, &host);
}

static uint32_t cfg_rd(uint32_t reg, uint32_t size)
{
    uint32_t v = 0xdead;
    pci_config_access(&p, reg, size, false, &v);
    return v;
}

static void cfg_wr(uint32_t reg, uint32_t size, uint32_t val)
{
    pci_config_access(&p, reg, size, true, &val);
}

static uint64_t bar_rd(uint64_t off, uint32_t size)
{
    uint64_t v = 0xdead;
    pci_bar_access(&p, off, size, false, &v);
    return v;
}

static void bar_wr(uint64_t off, uint32_t size, uint64_t val)
{
    pci_bar_access(&p, off, size, true, &val);
}

/* The vendor capability of this cfg_type: its offset in configuration space. */
static uint32_t find_vendor_cap(uint8_t type)
{
    unsigned hops = 0;
    for (uint32_t c = cfg_rd(PCI_CAPABILITY_LIST, 1); c; c = cfg_rd(c + 1, 1)) {
        assert_true(c >= 0x40 && !(c & 3) && ++hops < 48);
        if (cfg_rd(c, 1) == 0x09 && cfg_rd(c + 3, 1) == type)
            return c;
    }
    return 0;
}

/* What vp_modern_probe reads, and what it requires of each structure. */
static void test_probe_view(void **state)
{
    (void)state;
    assert_int_equal(cfg_rd(PCI_VENDOR_ID, 2), 0x1af4);
    assert_int_equal(cfg_rd(PCI_DEVICE_ID, 2), 0x1042); /* 0x1040 + blk */
    assert_int_equal(cfg_rd(PCI_CLASS_REVISION, 1), 1);
    assert_true(cfg_rd(PCI_SUBSYSTEM_ID, 2) >= 0x40);
    assert_int_equal(cfg_rd(PCI_HEADER_TYPE, 1), 0);
    assert_int_equal(cfg_rd(PCI_INTERRUPT_PIN, 1), 1);
    static const struct { uint8_t type; uint32_t off, minlen; } want[] = {
        { VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON, 56 },
        { VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR, 1 },
        { VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_CFG, 60 },
        { VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY, 2 },
        { VIRTIO_PCI_CAP_PCI_CFG, 0, 0 },
    };
    for (unsigned i = 0; i < 5; i++) {
        uint32_t c = find_vendor_cap(want[i].type);
        assert_true(c);
        assert_int_equal(cfg_rd(c + 4, 1), 0); /* BAR0 */
        assert_int_equal(cfg_rd(c + 8, 4), want[i].off);
        assert_true(cfg_rd(c + 12, 4) >= want[i].minlen);
    }
    uint32_t n = find_vendor_cap(VIRTIO_PCI_CAP_NOTIFY_CFG);
    assert_int_equal(cfg_rd(n + 2, 1), 20);
    assert_int_equal(cfg_rd(n + 16, 4), 0); /* notify_off_multiplier */
    /* MSI-X: 8 vectors, table and PBA in BAR0. */
    uint32_t x = cfg_rd(PCI_CAPABILITY_LIST, 1);
    assert_int_equal(cfg_rd(x, 1), 0x11);
    assert_int_equal(cfg_rd(x + 2, 2) & 0x7ff, MSIX_MAX_VECTORS - 1);
    assert_int_equal(cfg_rd(x + 4, 4), VIRTIO_PCI_MSIX_TABLE);
    assert_int_equal(cfg_rd(x + 8, 4), VIRTIO_PCI_MSIX_PBA);
    /* Past the capabilities: nothing, and nothing writable. */
    cfg_wr(0xf0, 4, UINT32_MAX);
    assert_int_equal(cfg_rd(0xf0, 4), 0);
}

/* The BAR decodes where firmware puts it, only with memory decoding on. */
static void test_bar_window(void **state)
{
    (void)state;
    cfg_wr(PCI_BAR0, 4, UINT32_MAX);
    assert_int_equal(cfg_rd(PCI_BAR0, 4), ~(VIRTIO_PCI_BAR_SIZE - 1));
    cfg_wr(PCI_BAR0, 4, 0xf1000000);
    assert_int_equal(windows, 0);
    cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(windows, 1);
    assert_int_equal(win_base, 0xf1000000);
    assert_int_equal(win_size, VIRTIO_PCI_BAR_SIZE);
    cfg_wr(PCI_BAR0, 4, 0xe0008000); /* relocated by the guest */
    assert_int_equal(win_base, 0xe0008000);
    cfg_wr(PCI_COMMAND, 2, 0);
    assert_int_equal(win_size, 0);
    assert_int_equal(windows, 3);
}

/* Linux's probe and one queue, through the common configuration's natural widths. */
static void bring_up(uint16_t vector)
{
    aring_dma = inproc_grant(&ip, 2, false, &aring);
    bar_wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_STATUS, 1), 0);
    bar_wr(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    bar_wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    assert_true(bar_rd(VIRTIO_PCI_COMMON_DF, 4) & 1); /* VERSION_1 */
    bar_wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    bar_wr(VIRTIO_PCI_COMMON_GF, 4, 3); /* VERSION_1 | ACCESS_PLATFORM */
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_GF, 4), 3);
    bar_wr(VIRTIO_PCI_COMMON_STATUS, 1, 11);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_STATUS, 1), 11);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_NUMQ, 2), blk_ops.num_queues);
    bar_wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), blk_ops.queue_size_max);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    bar_wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 64);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
    bar_wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)aring_dma);
    bar_wr(VIRTIO_PCI_COMMON_Q_DESCHI, 4, (uint32_t)(aring_dma >> 32));
    bar_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)(aring_dma + 0x400));
    bar_wr(VIRTIO_PCI_COMMON_Q_AVAILHI, 4, (uint32_t)((aring_dma + 0x400) >> 32));
    bar_wr(VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)(aring_dma + 0x1000));
    bar_wr(VIRTIO_PCI_COMMON_Q_USEDHI, 4, (uint32_t)((aring_dma + 0x1000) >> 32));
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_Q_USEDHI, 4), (uint32_t)((aring_dma + 0x1000) >> 32));
    bar_wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, vector);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), vector);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_Q_NOFF, 2), 0);
    bar_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
    bar_wr(VIRTIO_PCI_COMMON_STATUS, 1, 15);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_STATUS, 1), 15);
}

/* One write of 4 KiB, published and served through the notify register. */
static void one_request(void)
{
    uint8_t *hdr, *data;
    uint64_t hdr_dma = inproc_grant(&ip, 1, false, &hdr);
    uint64_t data_dma = inproc_grant(&ip, 1, true, &data);
    memset(data, 0x5a, 4096);
    publish_writes(1, hdr_dma, hdr, data_dma, 4096);
    bar_wr(VIRTIO_PCI_NOTIFY, 2, 0);
    assert_int_equal(used_idx(), 1);
    assert_int_equal(hdr[0x800], 0); /* VIRTIO_BLK_S_OK */
}

/* INTx: the ISR raises the line, reading it clears both; INTX_DISABLE holds the line low. */
static void test_request_with_intx(void **state)
{
    (void)state;
    cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    bring_up(MSIX_NO_VECTOR);
    one_request();
    assert_int_equal(intx, 1);
    assert_true(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    assert_int_equal(bar_rd(VIRTIO_PCI_ISR, 1), VIRTIO_MMIO_INT_VRING);
    assert_int_equal(intx, 0);
    assert_false(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    assert_int_equal(bar_rd(VIRTIO_PCI_ISR, 1), 0);
    assert_int_equal(msis, 0);
    /* The event loop's other entry points: nothing pending, nothing raised. */
    pci_poll_device(&p);
    pci_run_deferred(&p);
    assert_int_equal(intx, 0);
}

static void test_intx_disable(void **state)
{
    (void)state;
    cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
    bring_up(MSIX_NO_VECTOR);
    one_request();
    assert_int_equal(intx, 0);
    assert_true(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT); /* the status still says so */
}

/* MSI-X as Linux under Xen sets it up: PIRQ-format entries it never unmasks. */
static void test_request_with_msix(void **state)
{
    (void)state;
    cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    uint32_t x = cfg_rd(PCI_CAPABILITY_LIST, 1);
    for (unsigned v = 0; v < 2; v++) {
        bar_wr(VIRTIO_PCI_MSIX_TABLE + 16 * v, 4, 0xfee00000 | (0x30u + v) << 12);
        bar_wr(VIRTIO_PCI_MSIX_TABLE + 16 * v + 8, 4, 0x700); /* vector 0: PIRQ */
    }
    cfg_wr(x + 2, 2, MSIX_CTRL_ENABLE);
    bar_wr(VIRTIO_PCI_COMMON_MSIX, 2, 0);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_MSIX, 2), 0);
    bring_up(1);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_MSIX, 2), MSIX_NO_VECTOR); /* the reset unmapped it */
    bar_wr(VIRTIO_PCI_COMMON_MSIX, 2, 0);
    one_request();
    assert_int_equal(msis, 1);
    assert_int_equal(msi_addr, 0xfee31000); /* queue 0's vector, 1 */
    assert_int_equal(bar_rd(VIRTIO_PCI_ISR, 1), 0); /* MSI-X does not use the ISR */
    assert_int_equal(intx, 0);
    /* A broken device signals the config vector. */
    mmio_fail_device(&m, "test");
    bar_rd(VIRTIO_PCI_COMMON_STATUS, 1); /* any access delivers what was raised */
    assert_int_equal(msis, 2);
    assert_int_equal(msi_addr, 0xfee30000);
}

/* Without bus mastering, no DMA and no MSI: a notify is ignored, an interrupt waits. */
static void test_bus_mastering_off(void **state)
{
    (void)state;
    cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    bring_up(0);
    uint32_t x = cfg_rd(PCI_CAPABILITY_LIST, 1);
    bar_wr(VIRTIO_PCI_MSIX_TABLE, 4, 0xfee30000);
    bar_wr(VIRTIO_PCI_MSIX_TABLE + 8, 4, 0x700);
    cfg_wr(x + 2, 2, MSIX_CTRL_ENABLE);
    cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    uint8_t *hdr, *data;
    uint64_t hdr_dma = inproc_grant(&ip, 1, false, &hdr);
    uint64_t data_dma = inproc_grant(&ip, 1, true, &data);
    publish_writes(1, hdr_dma, hdr, data_dma, 512);
    bar_wr(VIRTIO_PCI_NOTIFY, 2, 0);
    assert_int_equal(used_idx(), 0);
    cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    bar_wr(VIRTIO_PCI_NOTIFY, 2, 0);
    assert_int_equal(used_idx(), 1);
    assert_int_equal(msis, 1);
    mmio_fail_device(&m, "test"); /* raised, then mastering is off at the next look: held */
    cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(msis, 1);
    assert_true(p.ctr.held_back > 0);
    cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    assert_int_equal(msis, 1); /* the config vector is unmapped: nothing to send */
}

/* Turning MSI-X on lowers the INTx line, with bus mastering off too; nothing deferred runs. */
static void test_msix_enable_drops_intx(void **state)
{
    (void)state;
    cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    bring_up(MSIX_NO_VECTOR);
    one_request();
    assert_int_equal(intx, 1);
    cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    cfg_wr(cfg_rd(PCI_CAPABILITY_LIST, 1) + 2, 2, MSIX_CTRL_ENABLE);
    assert_int_equal(intx, 0);
    assert_int_equal(msis, 0);
    assert_false(pci_has_deferred(&p));
}

/* Every width at every offset of each region: wrong widths refused, nothing breaks. */
static void test_every_width_every_offset(void **state)
{
    (void)state;
    cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    static const uint32_t sizes[] = { 1, 2, 3, 4, 8 };
    static const uint64_t regions[] = { VIRTIO_PCI_COMMON, VIRTIO_PCI_ISR, VIRTIO_PCI_DEVICE_CFG,
                                        VIRTIO_PCI_NOTIFY, VIRTIO_PCI_MSIX_TABLE,
                                        VIRTIO_PCI_MSIX_PBA, 0x6000, 0x7ff8 };
    for (unsigned r = 0; r < 8; r++)
        for (uint64_t off = 0; off < 0x108; off++)
            for (unsigned s = 0; s < 5; s++) {
                uint64_t v = bar_rd(regions[r] + off, sizes[s]);
                assert_true(sizes[s] >= 8 || v < (1ull << (8 * sizes[s])));
                if (regions[r] != VIRTIO_PCI_COMMON || off != VIRTIO_PCI_COMMON_STATUS)
                    bar_wr(regions[r] + off, sizes[s], UINT64_MAX);
            }
    assert_true(p.ctr.refused > 0);
    /* Whatever was written, the identity and the capability list are intact. */
    assert_int_equal(cfg_rd(PCI_VENDOR_ID, 4), 0x10421af4);
    assert_true(find_vendor_cap(VIRTIO_PCI_CAP_COMMON_CFG));
}

static void test_hostile_common_fields(void **state)
{
    (void)state;
    cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    bring_up(0);
    /* Vectors beyond the table read back as no vector. */
    bar_wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, MSIX_MAX_VECTORS);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), MSIX_NO_VECTOR);
    bar_wr(VIRTIO_PCI_COMMON_MSIX, 2, 0x7ff);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_MSIX, 2), MSIX_NO_VECTOR);
    /* queue_enable 0 is not a way to stop a queue. */
    bar_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 0);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
    /* A queue that does not exist: size 0, no vector, nothing to enable. */
    bar_wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0xffff);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), MSIX_NO_VECTOR);
    bar_wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
    bar_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
    /* Features beyond 64 bits read 0; the read-only fields stay so. */
    bar_wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 7);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_GF, 4), 0);
    bar_wr(VIRTIO_PCI_COMMON_NUMQ, 2, 99);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_NUMQ, 2), blk_ops.num_queues);
    assert_false(needs_reset());
}

/* The PCI_CFG window reaches the BAR only as its fields say, and only at a valid spot. */
static void test_pci_cfg_window(void **state)
{
    (void)state;
    uint32_t c = find_vendor_cap(VIRTIO_PCI_CAP_PCI_CFG);
    cfg_wr(c + 8, 4, VIRTIO_PCI_COMMON_NUMQ);
    cfg_wr(c + 12, 4, 2);
    assert_int_equal(cfg_rd(c + 16, 2), blk_ops.num_queues);
    uint64_t refused = p.ctr.refused;
    cfg_wr(c + 12, 4, 3); /* a width no access has */
    assert_int_equal(cfg_rd(c + 16, 4), 0);
    cfg_wr(c + 12, 4, 4);
    cfg_wr(c + 8, 4, 0x13); /* misaligned */
    assert_int_equal(cfg_rd(c + 16, 4), 0);
    cfg_wr(c + 8, 4, VIRTIO_PCI_BAR_SIZE); /* past the BAR */
    assert_int_equal(cfg_rd(c + 16, 4), 0);
    cfg_wr(c + 8, 4, 0);
    cfg_wr(c + 4, 1, 1); /* a BAR there is not */
    assert_int_equal(cfg_rd(c + 16, 4), 0);
    cfg_wr(c + 4, 1, 0);
    assert_int_equal(cfg_rd(c + 17, 1), 0); /* part of the data field */
    assert_int_equal(p.ctr.refused, refused + 5);
    /* A write through the window is a BAR write: device status. */
    cfg_wr(c + 8, 4, VIRTIO_PCI_COMMON_STATUS);
    cfg_wr(c + 12, 4, 1);
    cfg_wr(c + 16, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    assert_int_equal(bar_rd(VIRTIO_PCI_COMMON_STATUS, 1), VIRTIO_STATUS_ACKNOWLEDGE);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_pci, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_probe_view),
        T(test_bar_window),
        T(test_request_with_intx),
        T(test_intx_disable),
        T(test_msix_enable_drops_intx),
        T(test_request_with_msix),
        T(test_bus_mastering_off),
        T(test_every_width_every_offset),
        T(test_hostile_common_fields),
        T(test_pci_cfg_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
