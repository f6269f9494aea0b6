/* SPDX-License-Identifier: MIT */
/*
 * The virtio-pci transport (transport/pci.c) over a blk device: sequences of
 * configuration accesses (any register, any width, the PCI_CFG window, BAR
 * relocation, MSI-X enable and mask) and BAR accesses (any offset of the
 * 32 KiB BAR, any width), queue address halves often pointing at the
 * granted ring so queues really start and notifies reach the ring.  Each
 * input starts from a fresh device and ends with a reset.  Oracles: no
 * crash or sanitizer report; a read answers no more bytes than asked; every
 * MSI injected is one Xen accepts; the window is the BAR's size or none;
 * nothing mapped after the reset.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "transport/pci.h"

static struct mmio_dev m;
static struct pci_transport p;

static void move_window(void *opaque, uint64_t base, uint64_t size)
{
    (void)opaque;
    if (size && (size != VIRTIO_PCI_BAR_SIZE || !base || base % VIRTIO_PCI_BAR_SIZE))
        abort();
}

static void set_intx(void *opaque, unsigned level)
{
    (void)opaque;
    if (level > 1 || (level && p.msix.enabled)) /* MSI-X on: the line only ever drops */
        abort();
}

static void inject_msi(void *opaque, uint64_t addr, uint32_t data)
{
    (void)opaque;
    if ((addr & 0xfff00000u) != 0xfee00000u)
        abort();
    if ((data & 0xff) && ((data >> 8) & 7) > 1)
        abort();
}

/* A queue address half aimed at the granted ring, or the value itself. */
static uint64_t ring_part(uint64_t off, uint32_t val)
{
    uint64_t a = fz.ring_dma + (val & 0xff8);
    if (off >= VIRTIO_PCI_COMMON_Q_DESCLO && off <= VIRTIO_PCI_COMMON_Q_USEDHI)
        return off & 4 ? a >> 32 : (uint32_t)a;
    return val;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_env_init();
    struct fuzz_in in = { data, size };
    if (mmio_init(&m, &blk_ops, &fz.blk, &fz.ip.g, true, NULL, NULL) < 0)
        abort();
    static const struct pci_host host = { move_window, set_intx, inject_msi, NULL };
    if (pci_init(&p, &m, &host) < 0)
        abort();
    fz.blk.read_only = false;
    memset(fz.ring, 0, 4096);
    for (unsigned i = 0; i < 256 && in.n >= 4; i++) {
        uint8_t op = fin_u8(&in);
        static const uint32_t sizes[] = { 4, 2, 1, 4, 8, 3, 2, 4 };
        uint32_t sz = sizes[(op >> 2) & 7];
        uint32_t val = fin_u32(&in);
        if (op & 2) { /* configuration space */
            uint32_t reg = fin_u8(&in);
            if (op & 0x80)
                reg |= (uint32_t)fin_u8(&in) << 8;
            uint32_t v = val;
            pci_config_access(&p, reg, sz, op & 1, &v);
            /* Xen sends config accesses of 1, 2 or 4 bytes only (xen/ioreq.c refuses others). */
            if (!(op & 1) && (sz == 1 || sz == 2) && (v >> (8 * sz)))
                abort();
        } else { /* the BAR: a region, then an offset in it */
            uint64_t off = (uint64_t)(fin_u8(&in) & 7) << 12 | (fin_u8(&in) & (op & 0x80 ? 0xff : 0x3f));
            uint64_t v = op & 0x20 ? ring_part(off, val) : val;
            if (op & 0x40) /* let the input also shape the ring between accesses */
                memcpy(fz.ring + (val & 0xf80), in.p, in.n < 128 ? in.n : 128);
            pci_bar_access(&p, off, sz, op & 1, &v);
            if (!(op & 1) && sz < 8 && (v >> (8 * sz)))
                abort();
        }
    }
    uint64_t zero = 0;
    pci_bar_access(&p, VIRTIO_PCI_COMMON_STATUS, 1, true, &zero);
    mmio_shutdown(&m);
    mmio_fini(&m);
    fuzz_expect_nothing_mapped();
    return 0;
}
