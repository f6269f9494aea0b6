/* SPDX-License-Identifier: MIT */
/*
 * A conventional PCI type-0 function's configuration space, as the guest
 * reaches it through Xen's IOREQ_TYPE_PCI_CONFIG requests: a 256-byte image
 * plus, per bit, whether the guest may write it.  (No bit is write-1-to-
 * clear: the only such bits, the status register's error bits, are never
 * set by a device that reports no bus errors, so they read 0 for good.)
 * Everything else a config write can do follows from that mask: BAR
 * sizing (the low bits of a BAR are read-only, so writing all ones reads back
 * the size), read-only identity and capability bytes, scratch registers.
 * Device-agnostic: the virtio-pci transport builds its header and
 * capabilities on it and reacts to what changed after each write.
 *
 * Every register offset and width comes from the guest; none is trusted.
 */
#ifndef VG_PCICFG_H
#define VG_PCICFG_H

#include <stdbool.h>
#include <stdint.h>

#define PCICFG_SIZE 256u
#define PCICFG_BARS 6u

/* Type-0 header registers (PCI Local Bus 3.0, 6.1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_CLASS_REVISION 0x08
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER 0x0d
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST 0x0010

/* Where capabilities start: below is the header. */
#define PCICFG_CAP_START 0x40u

struct pcicfg {
    uint8_t img[PCICFG_SIZE];
    uint8_t wmask[PCICFG_SIZE];   /* bits a guest write sets as written */
    uint32_t bar_size[PCICFG_BARS]; /* 0: no such BAR */
    uint16_t cap_free;            /* first byte no capability uses */
    uint8_t cap_last;             /* the last capability's offset, 0: none yet */
};

struct pcicfg_id {
    uint16_t vendor, device;
    uint8_t revision;
    uint32_t class_code; /* 24 bits: base class, sub-class, programming interface */
    uint16_t subsystem_vendor, subsystem;
    uint8_t interrupt_pin; /* 1 = INTA, 0 = none */
};

/* An empty header with this identity; command, status and BARs at reset values. */
void pcicfg_init(struct pcicfg *c, const struct pcicfg_id *id);

/*
 * BAR `bar` as a 32-bit non-prefetchable memory BAR of `size` bytes (a power
 * of two, at least 16).  -EINVAL for a bad index or size, -EEXIST if set.
 */
int pcicfg_add_mem_bar32(struct pcicfg *c, unsigned bar, uint32_t size);

/*
 * Appends a capability: `id`, then `len` bytes of `body` (what follows the
 * id and next bytes), of which the guest may write the bits set in `wmask`
 * (NULL: none).  The capability is 4-byte aligned and linked after the last
 * one.  Returns its offset, or -ENOSPC.
 */
int pcicfg_add_cap(struct pcicfg *c, uint8_t id, const void *body, uint8_t len,
                   const uint8_t *wmask);

/* A guest read or write of `size` (1, 2 or 4) bytes at `reg` (any value). */
uint32_t pcicfg_read(const struct pcicfg *c, uint32_t reg, uint32_t size);
void pcicfg_write(struct pcicfg *c, uint32_t reg, uint32_t size, uint32_t val);

/* The device's own view and updates (bypass the guest's masks). */
uint32_t pcicfg_get(const struct pcicfg *c, uint32_t reg, uint32_t size);
void pcicfg_set(struct pcicfg *c, uint32_t reg, uint32_t size, uint32_t val);

/*
 * Where BAR `bar` decodes now: its base when memory decoding is on and the
 * base is not the sizing pattern, else 0 (not decoded).
 */
uint32_t pcicfg_bar_base(const struct pcicfg *c, unsigned bar);

#endif
