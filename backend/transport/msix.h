/* SPDX-License-Identifier: MIT */
/*
 * MSI-X for the virtio-pci transport: the vector table and the pending-bit
 * array the guest maps in the BAR, the function's enable and mask bits, and
 * the rule that decides whether a vector is delivered now (through the
 * inject callback: xendevicemodel_inject_msi on Xen) or left pending.
 *
 * Xen HVM guests write PIRQ-format messages (vector 0, the PIRQ in the
 * address) and never clear an entry's Mask bit (Linux sets
 * pci_msi_ignore_mask under Xen), so, as QEMU does on Xen, an entry whose
 * data has vector 0 is delivered whatever its Mask bit says.  Every table
 * value is the guest's: a message Xen would refuse with a console warning
 * (a delivery mode other than fixed or lowest priority, an address outside
 * the interrupt window) is dropped here and counted instead.
 */
#ifndef VG_MSIX_H
#define VG_MSIX_H

#include <stdbool.h>
#include <stdint.h>

/* Vectors offered: a config vector and one per queue, with room. */
#define MSIX_MAX_VECTORS 8u
#define MSIX_ENTRY_SIZE 16u
#define MSIX_TABLE_BYTES (MSIX_MAX_VECTORS * MSIX_ENTRY_SIZE)
#define MSIX_PBA_BYTES 8u
/* A queue or the config change mapped to no vector (virtio-pci). */
#define MSIX_NO_VECTOR 0xffffu

/* Message Control (capability + 2). */
#define MSIX_CTRL_TABLE_SIZE_MASK 0x07ffu
#define MSIX_CTRL_FUNCTION_MASK 0x4000u
#define MSIX_CTRL_ENABLE 0x8000u

struct msix {
    uint32_t table[MSIX_MAX_VECTORS][4]; /* address low, address high, data, vector control */
    uint64_t pending;                    /* the PBA */
    bool enabled, function_masked;
    void (*inject)(void *opaque, uint64_t addr, uint32_t data);
    void *opaque;
    uint64_t delivered, dropped;         /* messages sent; refused as malformed */
};

/* Reset state: every entry masked, nothing pending, MSI-X off.  inject is required. */
void msix_init(struct msix *x, void (*inject)(void *opaque, uint64_t addr, uint32_t data),
               void *opaque);
void msix_reset(struct msix *x);

/*
 * Guest accesses at byte `off` of the table or the PBA, of `size` bytes.
 * Only aligned 4-byte accesses reach an entry (as on hardware, and as Linux
 * does); others read all ones and write nothing.  The PBA is read-only.
 */
uint32_t msix_table_read(const struct msix *x, uint32_t off, uint32_t size);
void msix_table_write(struct msix *x, uint32_t off, uint32_t size, uint32_t val);
uint32_t msix_pba_read(const struct msix *x, uint32_t off, uint32_t size);

/* The guest wrote Message Control: enable and function mask as written. */
void msix_set_control(struct msix *x, uint16_t control);

/*
 * Signal vector `vec`: delivered if deliverable now, else pending until it
 * is.  Returns false, signalling nothing, for MSIX_NO_VECTOR or a vector
 * beyond the table (the driver mapped the event to no vector).
 */
bool msix_notify(struct msix *x, uint16_t vec);

#endif
