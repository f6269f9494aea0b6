/* SPDX-License-Identifier: MIT */
/*
 * The Xen side of one emulated device: an ioreq server for the guest, its
 * shared page, one event channel per vCPU, the guest's IRQ line, the MMIO
 * window, and for a PCI device the function whose configuration space the
 * server answers.
 */
#ifndef VG_IOREQ_H
#define VG_IOREQ_H

#include <stdbool.h>
#include <stdint.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/hvm/ioreq.h>

#define XEN_IOREQ_MAX_VCPUS 128

typedef void (*xen_mmio_fn)(void *opaque, uint64_t off, uint32_t size, bool is_write,
                            uint64_t *val);
/* A configuration access of 1, 2 or 4 bytes at register `reg` (any value). */
typedef void (*xen_pcicfg_fn)(void *opaque, uint32_t reg, uint32_t size, bool is_write,
                              uint32_t *val);

/* Xen's PCI address of a function: segment, bus, device, function. */
#define XEN_IOREQ_SBDF(seg, bus, dev, fn)                                                      \
    ((uint32_t)(seg) << 16 | (uint32_t)(bus) << 8 | ((uint32_t)(dev) & 0x1f) << 3 |           \
     ((uint32_t)(fn) & 7))

struct xen_ioreq_counters {
    uint64_t handled, rejected, invalidates;
};

/* The PCI function this server claims, and who answers its configuration space. */
struct xen_ioreq_pcidev {
    uint32_t sbdf;
    xen_pcicfg_fn fn;
    void *opaque;
    bool mapped; /* the SBDF is mapped to the server in Xen */
};

struct xen_ioreq_srv {
    uint16_t domid;
    uint64_t base, size;
    unsigned irq;
    xendevicemodel_handle *dm;
    xenforeignmemory_handle *fmem; /* the ioreq page; guest RAM only in foreign mode */
    xenevtchn_handle *evt;
    xenforeignmemory_resource_handle *res;
    shared_iopage_t *iopage;
    ioservid_t id;
    bool created, range_mapped, enabled;
    bool attached; /* a dead process's server, not yet taken over: close leaves it */
    unsigned nr_vcpus;
    evtchn_port_t port[XEN_IOREQ_MAX_VCPUS]; /* local port per vCPU, 0 if unbound */
    struct xen_ioreq_pcidev pci; /* fn NULL: no PCI function (virtio-mmio) */
    struct xen_ioreq_counters ctr;
};

/* Staged set-up; on failure everything done so far is undone. */
int xen_ioreq_open(struct xen_ioreq_srv *s, uint16_t domid, uint64_t base, uint64_t size,
                   unsigned irq);
/*
 * The same, on the server id a killed device process created (its range is
 * mapped and it is enabled); id < 0 creates one as xen_ioreq_open does.
 */
int xen_ioreq_attach(struct xen_ioreq_srv *s, uint16_t domid, uint64_t base, uint64_t size,
                     unsigned irq, int id);
/* Serving it now: from here on, closing disables, unmaps and destroys it. */
void xen_ioreq_take_over(struct xen_ioreq_srv *s);
/* Mirror image of xen_ioreq_open. */
void xen_ioreq_close(struct xen_ioreq_srv *s);
int xen_ioreq_fd(const struct xen_ioreq_srv *s);
/* Serve what is pending on the event channel; negative errno on a host error. */
int xen_ioreq_dispatch(struct xen_ioreq_srv *s, xen_mmio_fn fn, void *opaque);
/*
 * Serve the requests the guest's vCPUs made while no process listened, and
 * the one a killed process had taken (an access served twice is harmless:
 * every register write is idempotent, a notify serves what is available).
 */
void xen_ioreq_serve_stale(struct xen_ioreq_srv *s, xen_mmio_fn fn, void *opaque);
/*
 * One vCPU's slot: if it holds a request (READY, or INPROCESS when stale),
 * copy it once, validate and serve the copy, and write the answer.  True
 * when answered (the caller notifies the vCPU).  Uses only base, size, pci
 * and the counters of s: the ioreq fuzzer calls it with no Xen handle.
 */
bool xen_ioreq_serve_slot(struct xen_ioreq_srv *s, ioreq_t *slot, bool stale, xen_mmio_fn fn,
                          void *opaque);
/*
 * Configuration accesses to `sbdf` go to fn (IOREQ_TYPE_PCI_CONFIG); any
 * other SBDF, or none set, is refused and reads all ones, as an absent
 * function does.  No Xen call: xen_ioreq_map_pcidev claims it in Xen.
 */
void xen_ioreq_set_pcidev(struct xen_ioreq_srv *s, uint32_t sbdf, xen_pcicfg_fn fn, void *opaque);
/* Claims the function set above for this server (unclaimed on close). */
int xen_ioreq_map_pcidev(struct xen_ioreq_srv *s);
/*
 * Where the device's BAR now decodes: the old MMIO range is given back and
 * this one claimed (size 0: none).  Requests outside it are refused, even
 * one a vCPU issued before the move.  On failure there is no window.
 */
int xen_ioreq_move_window(struct xen_ioreq_srv *s, uint64_t base, uint64_t size);
/* The claimed function's INTA line, asserted (1) or not (0). */
int xen_ioreq_set_intx(struct xen_ioreq_srv *s, unsigned level);
/* One MSI, as the guest's MSI-X table entry says (transport/msix.c checked it). */
int xen_ioreq_inject_msi(struct xen_ioreq_srv *s, uint64_t addr, uint32_t data);
/* IRQ line callback for the transport (opaque is the server). */
void xen_ioreq_set_irq(void *srv, int level);

#endif
