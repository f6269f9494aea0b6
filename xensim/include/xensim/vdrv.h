/* SPDX-License-Identifier: MIT */
/*
 * A simulated guest virtio driver, modelled on Linux's virtio-mmio,
 * virtio-pci (modern) and grant DMA ops: it probes, negotiates, sets up one
 * split queue and grants every buffer with consecutive refs (read-only when
 * it goes to the device).  On
 * completion it revokes the grants and complains loudly if one is still
 * mapped, as Linux does ("Grant still in use by backend domain").
 *
 * The struct is public so hostile tests can write the rings directly.
 */
#ifndef XENSIM_VDRV_H
#define XENSIM_VDRV_H

#include <stdbool.h>
#include <stdint.h>

#include "xensim/guest.h"

enum vdrv_dma { VDRV_DMA_GRANT, VDRV_DMA_PHYS };

struct vdrv_opts {
    uint64_t base;      /* MMIO window; virtio-pci: where the driver places BAR0 */
    uint32_t irq;       /* virtio-mmio's SPI (virtio-pci's INTA line is the slot's) */
    /* virtio-pci: function 0 of this slot on bus 0; 0: virtio-mmio at base */
    uint8_t pci_slot;
    /* virtio-pci: MSI-X, vector 0 for configuration changes and 1 for the
     * queue, not INTx; pirq: in the PIRQ format Linux uses on Xen (vector 0,
     * the PIRQ in the address, every entry left masked) */
    bool msix, msix_pirq;
    enum vdrv_dma dma;
    uint16_t queue_size; /* 0: device maximum */
    /* virtio-pci: leave queue_size as read (the maximum) and never write it,
     * as SeaBIOS does; the spec allows a driver that keeps the maximum */
    bool keep_queue_size;
    bool indirect, event_idx;
    uint32_t vcpu;
    /* grant mode: bounce every buffer through a pool of this many pages,
     * granted once (Linux's xen.grant_dma_pool_pages=), and accept
     * VIRTIO_F_GRANT_POOL if the device offers it */
    uint32_t pool_pages;
    /* feature bits the driver declines even when offered (a simpler driver) */
    uint64_t refuse_features;
    /* the GrantPool registers before DRIVER_OK: the pool (if GRANT_POOL was
     * negotiated; announce_pages, if not 0, in place of its size), or
     * hostile: the ring pages, or announce_addr and announce_pages */
    enum vdrv_announce { VDRV_ANNOUNCE_NONE, VDRV_ANNOUNCE_POOL, VDRV_ANNOUNCE_RINGS,
                         VDRV_ANNOUNCE_GIVEN } announce;
    uint64_t announce_addr;
    uint32_t announce_pages;
};

/* One DMA mapping: what to revoke and free at completion. */
struct vdrv_map {
    uint64_t gpa;
    uint32_t npages;
    int64_t ref; /* first grant ref, -1 in phys mode */
    bool free_pages;
    /* bounced through the pool: slot, what to copy back where */
    bool bounced, to_device;
    uint32_t slot, len;
    uint64_t orig;
};

#define VDRV_MAX_POOL 1024

#define VDRV_MAX_MAPS 80

struct vdrv_blk_req {
    uint32_t type;
    uint64_t sector;
    void *data;      /* test-process buffer copied to/from guest pages */
    uint32_t len;
    /* results */
    bool done;
    uint8_t status;
    uint32_t used_len;
    /* internal */
    uint64_t data_gpa, hdr_gpa;
    struct vdrv_map maps[VDRV_MAX_MAPS];
    unsigned nmaps;
    uint16_t ndesc;
};

/* What the virtio-pci probe found, from the function's capabilities. */
struct vdrv_pci {
    uint32_t sbdf;
    uint32_t bar_size;
    uint32_t common, notify, isr, device; /* offsets in BAR0 */
    uint32_t notify_mult;
    uint16_t notify_off; /* queue 0's */
    uint8_t msix_cap;    /* 0: none */
    uint32_t msix_table; /* offset in BAR0 */
    uint16_t msix_size;
    uint32_t gsi;        /* INTA's line, as the guest's ACPI tables route it */
    uint64_t msi_seen;   /* MSIs counted when last looked */
};

struct vdrv {
    struct simdom *d;
    struct vdrv_opts o;
    struct vdrv_pci pci;
    uint64_t dev_features, features;
    uint16_t qsize;
    uint64_t capacity;
    uint32_t seg_max, size_max;
    /* ring: one contiguous allocation, granted read-write as Linux does */
    struct vdrv_map ring_map;
    uint8_t *desc, *avail, *used;
    uint64_t desc_dma, avail_dma, used_dma;
    uint16_t avail_idx, kicked_idx, last_used;
    uint16_t free_head, nfree;
    uint16_t next_free[1024];
    struct vdrv_blk_req *inflight[1024];
    /* bounce pool (o.pool_pages), granted read-write for the device's lifetime */
    uint64_t pool_gpa;
    int64_t pool_ref;
    uint32_t pool_pages;
    bool pool_used[VDRV_MAX_POOL];
    uint64_t bounced_bytes;
    /* loud failures and observations */
    uint64_t grant_busy;  /* revokes that found the grant still mapped */
    uint64_t interrupts, kicks, completions;
    bool needs_reset;
};

/* 0 or -errno; fails if the device refuses FEATURES_OK. */
int vdrv_probe(struct vdrv *v, struct simdom *d, const struct vdrv_opts *o);
void vdrv_remove(struct vdrv *v);

uint64_t vdrv_dma_map(struct vdrv *v, uint64_t gpa, uint32_t len, bool to_device,
                      struct vdrv_map *m);
void vdrv_dma_unmap(struct vdrv *v, struct vdrv_map *m);

/* Queue a request (no notify); -ENOSPC when the ring is full. */
int vdrv_blk_submit(struct vdrv *v, struct vdrv_blk_req *r);
/* Notify the device if it wants it (EVENT_IDX aware). */
int vdrv_kick(struct vdrv *v);
/* Wait for the interrupt (timeout_ms), ack it, complete used entries. */
int vdrv_reap(struct vdrv *v, int timeout_ms);
/* Submit, kick, wait: returns the status byte or -errno. */
int vdrv_blk_sync(struct vdrv *v, uint32_t type, uint64_t sector, void *buf, uint32_t len);

/*
 * Register access helpers, by virtio-mmio register offset; on virtio-pci
 * they reach the same field of the common configuration (at its width),
 * the ISR, the notify register or the device configuration, and registers
 * PCI has no field for read ~0 and write nothing.
 */
uint32_t vdrv_read32(struct vdrv *v, uint32_t off);
void vdrv_write32(struct vdrv *v, uint32_t off, uint32_t val);
uint32_t vdrv_status(struct vdrv *v);

/* virtio-pci: the function's configuration space, as the guest's CF8/CFC cycles reach it. */
uint32_t vdrv_cfg_read(struct vdrv *v, uint32_t reg, uint32_t size);
void vdrv_cfg_write(struct vdrv *v, uint32_t reg, uint32_t size, uint32_t val);
/* virtio-pci: an access of `size` bytes at offset off of BAR0, where the driver placed it. */
uint64_t vdrv_bar_read(struct vdrv *v, uint32_t off, uint32_t size);
void vdrv_bar_write(struct vdrv *v, uint32_t off, uint32_t size, uint64_t val);

/* Encode descriptor i of a table (the ring's or an indirect one), little-endian. */
void vdrv_encode_desc(uint8_t *table, uint32_t i, uint64_t addr, uint32_t len, uint16_t flags,
                      uint16_t next);

/* Hostile-test helpers: raw ring writes. */
void vdrv_put_desc(struct vdrv *v, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags,
                   uint16_t next);
void vdrv_put_avail(struct vdrv *v, uint16_t head); /* ring entry + idx++ */
void vdrv_set_avail_idx(struct vdrv *v, uint16_t idx);
uint16_t vdrv_used_idx(struct vdrv *v);

#endif
