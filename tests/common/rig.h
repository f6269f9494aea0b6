/* SPDX-License-Identifier: MIT */
/* A simulated guest with the backend process serving it, for integration tests. */
#ifndef VG_TEST_RIG_H
#define VG_TEST_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xensim/guest.h"
#include "xensim/harness.h"
#include "xensim/vdrv.h"

/* virtio-blk request types and status, descriptor flags, status bits */
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WZ 13
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2
#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4
#define NEEDS_RESET 64u

#define RIG_DOMID 1
#define RIG_BASE 0x2000000ull
#define RIG_IRQ 33
#define RIG_RAM_MB 32
#define RIG_IMG_MB 8
/* virtio-pci: the slot, and where the driver places BAR0 (hvmloader's hole). */
#define RIG_PCI_SLOT 5
#define RIG_PCI_BAR 0xf0000000ull

enum rig_irq { RIG_INTX, RIG_MSIX, RIG_MSIX_PIRQ };

struct rig {
    struct simdom *d;
    pid_t pid;
    struct vdrv v;
    bool probed;
    /* virtio-pci (rig_up_pci): the slot, 0 for virtio-mmio, and how it interrupts */
    uint8_t pci_slot;
    enum rig_irq irq_mode;
    char img[160], log[160];
};

/* Start a domain and a backend with extra args (NULL-terminated); probe if asked. */
int rig_up(struct rig *r, const char *const extra[], enum vdrv_dma dma, bool probe);
/* The same for another domain (its own image and log): devices side by side. */
int rig_up_dom(struct rig *r, uint16_t domid, const char *const extra[], enum vdrv_dma dma,
               bool probe);
/* The same with the device as virtio-pci function 0 of slot, probed with the interrupts asked. */
int rig_up_pci(struct rig *r, uint8_t slot, enum rig_irq irq, const char *const extra[],
               enum vdrv_dma dma, bool probe);
/* Stop the backend and check it exits cleanly (0) after everything the test did. */
int rig_down(struct rig *r);
int rig_default_probe(struct rig *r, enum vdrv_dma dma);
/* The same, the driver bouncing through a pool of pool_pages (VIRTIO_F_GRANT_POOL). */
int rig_pool_probe(struct rig *r, uint32_t pool_pages);

/* cmocka group fixtures: one fresh XENSIM_DIR shared by the group's tests. */
int rig_group_setup(void **state);
int rig_group_teardown(void **state);
/* The data pattern the tests write and compare. */
void rig_pattern(uint8_t *p, size_t n, uint32_t seed);

#endif
