/* SPDX-License-Identifier: MIT */
/* The simulated driver's virtio-pci transport (vdrv_pci.c), for vdrv.c. */
#ifndef XENSIM_VDRV_PCI_H
#define XENSIM_VDRV_PCI_H

#include <stdint.h>

#include "xensim/vdrv.h"

static inline bool vdrv_is_pci(const struct vdrv *v)
{
    return v->o.pci_slot != 0;
}

/*
 * Identity, BAR0 placed at o.base, the capabilities, MEMORY and MASTER on,
 * and with o.msix the table programmed and MSI-X enabled.  0, -ENODEV (not
 * a modern virtio-blk function, or one this driver cannot use) or -EINVAL
 * (o.base does not suit the BAR).
 */
int vdrv_pci_find(struct vdrv *v);
/* After the queue's layout, before queue_enable: its notify offset, and its vectors. */
int vdrv_pci_setup_queue(struct vdrv *v);
/* A virtio-mmio register offset, carried to its virtio-pci field (vdrv.h). */
uint32_t vdrv_pci_reg_read(struct vdrv *v, uint32_t off);
void vdrv_pci_reg_write(struct vdrv *v, uint32_t off, uint32_t val);
/* Queue 0's notification. */
int vdrv_pci_notify(struct vdrv *v);
/* Wait for an interrupt: 1 and the ISR bits it stands for, 0 on timeout, or -errno. */
int vdrv_pci_wait_irq(struct vdrv *v, int timeout_ms, uint32_t *isr);

#endif
