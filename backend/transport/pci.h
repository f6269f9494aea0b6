/* SPDX-License-Identifier: MIT */
/*
 * virtio-pci (modern, virtio 1.x) in front of the transport's register
 * file and serving engine (transport/mmio.c): the same status machine,
 * feature rules, queues and completions, reached through a PCI function's
 * configuration space (transport/pcicfg.c) and one 32-bit memory BAR, with
 * interrupts as MSI-X (transport/msix.c) or INTx.
 *
 * BAR0 (32 KiB, the layout docs/plans/virtio-pci-x86.md §3.4 argues for):
 *   0x0000 common configuration    0x3000 notifications (multiplier 0:
 *   0x1000 ISR status                     every queue writes the same
 *   0x2000 device configuration           register, its index)
 *   0x4000 MSI-X table             0x5000 MSI-X pending bits
 *
 * Every value the guest writes, in configuration space or in the BAR, is
 * checked here or by the register file behind it; an access of the wrong
 * width is refused (reads 0) and logged.  Interrupts are worked out after
 * each entry point from what the register file raised, so the register
 * file needs no notion of vectors.
 */
#ifndef VG_PCI_H
#define VG_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "transport/mmio.h"
#include "transport/msix.h"
#include "transport/pcicfg.h"

#define VIRTIO_PCI_VENDOR 0x1af4u
#define VIRTIO_PCI_DEVICE_BASE 0x1040u /* + the virtio device id */
#define VIRTIO_PCI_BAR_SIZE 0x8000u

#define VIRTIO_PCI_COMMON 0x0000u
#define VIRTIO_PCI_ISR 0x1000u
#define VIRTIO_PCI_DEVICE_CFG 0x2000u
#define VIRTIO_PCI_NOTIFY 0x3000u
#define VIRTIO_PCI_MSIX_TABLE 0x4000u
#define VIRTIO_PCI_MSIX_PBA 0x5000u
#define VIRTIO_PCI_COMMON_LEN 0x40u
#define VIRTIO_PCI_DEVICE_CFG_LEN 0x100u

/* Common configuration (virtio 1.2, 4.1.4.3). */
#define VIRTIO_PCI_COMMON_DFSELECT 0x00
#define VIRTIO_PCI_COMMON_DF 0x04
#define VIRTIO_PCI_COMMON_GFSELECT 0x08
#define VIRTIO_PCI_COMMON_GF 0x0c
#define VIRTIO_PCI_COMMON_MSIX 0x10
#define VIRTIO_PCI_COMMON_NUMQ 0x12
#define VIRTIO_PCI_COMMON_STATUS 0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15
#define VIRTIO_PCI_COMMON_Q_SELECT 0x16
#define VIRTIO_PCI_COMMON_Q_SIZE 0x18
#define VIRTIO_PCI_COMMON_Q_MSIX 0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE 0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF 0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO 0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI 0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO 0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI 0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO 0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI 0x34

/* Vendor capability types. */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

/* What the transport asks of Xen (backend/xen/ioreq.c in the device process). */
struct pci_host {
    /* The BAR decodes at base now (size 0: nowhere). */
    void (*move_window)(void *opaque, uint64_t base, uint64_t size);
    void (*set_intx)(void *opaque, unsigned level);
    void (*inject_msi)(void *opaque, uint64_t addr, uint32_t data);
    void *opaque;
};

struct pci_counters {
    uint64_t refused;   /* accesses of a width or at an offset nothing answers */
    uint64_t held_back; /* interrupts kept while bus mastering was off */
};

struct pci_transport {
    struct mmio_dev *m;
    struct pcicfg cfg;
    struct msix msix;
    struct pci_host host;
    uint8_t msix_cap, pci_cfg_cap; /* their offsets in configuration space */
    uint16_t msix_config_vector;
    uint16_t queue_vector[VIRTIO_MMIO_MAX_QUEUES];
    uint32_t window_base; /* where BAR0 decodes now, 0: nowhere */
    bool intx_level;
    struct pci_counters ctr;
};

/*
 * In front of m, which mmio_init set up (its set_irq is taken over: the
 * transport raises interrupts itself).  0, or -ENOSPC if the capabilities
 * do not fit (a bug, not an input).
 */
int pci_init(struct pci_transport *p, struct mmio_dev *m, const struct pci_host *host);

/* A configuration access (backend/xen/ioreq.c's xen_pcicfg_fn). */
void pci_config_access(void *opaque, uint32_t reg, uint32_t size, bool is_write, uint32_t *val);
/* An access at offset off of the BAR's window (xen_mmio_fn). */
void pci_bar_access(void *opaque, uint64_t off, uint32_t size, bool is_write, uint64_t *val);
/*
 * The register file's other entry points, with the interrupts they raise.
 * With bus mastering off the device takes no new chain (a notify is
 * ignored, deferred chains wait) and sends no MSI; chains already handed
 * to the image complete into the used ring, their buffers having been
 * mapped while it was on.
 */
void pci_poll_device(struct pci_transport *p);
/* Deferred chains to serve now: none while bus mastering is off. */
bool pci_has_deferred(const struct pci_transport *p);
void pci_run_deferred(struct pci_transport *p);
/* mmio_shutdown, and the INTx line the register file no longer drives let go. */
void pci_shutdown(struct pci_transport *p);

#endif
