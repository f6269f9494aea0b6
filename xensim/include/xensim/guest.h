/* SPDX-License-Identifier: MIT */
/*
 * The simulated guest: owns a domain's RAM, grant table and vCPUs, and plays
 * Xen's part for it (ioreq dispatch, event delivery).  Tests and the demo
 * drive a backend process through this API.
 */
#ifndef XENSIM_GUEST_H
#define XENSIM_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/hvm/ioreq.h>

#include "xensim/shared.h"

struct simdom;

struct simdom_params {
    uint16_t domid;
    uint16_t backend_domid;
    uint32_t nr_vcpus;
    uint64_t ram_size;
    uint32_t nr_grants;
};

/* Creates $XENSIM_DIR/dom<N>/ (XENSIM_DIR must be set); destroy removes it. */
struct simdom *simdom_create(const struct simdom_params *p);
void simdom_destroy(struct simdom *d);
const char *simdom_dir(const struct simdom *d);

/* Guest physical memory: a page allocator over RAM, and host pointers. */
uint64_t simdom_alloc_pages(struct simdom *d, uint32_t npages); /* gpa or 0 */
void simdom_free_pages(struct simdom *d, uint64_t gpa, uint32_t npages);
void *simdom_gpa(struct simdom *d, uint64_t gpa, size_t len); /* NULL if out of RAM */
uint64_t simdom_ram_size(const struct simdom *d);

/* Grants to the backend domain.  grant_range takes npages consecutive refs,
 * as Linux's grant DMA ops do; returns the first ref or -errno. */
int64_t simdom_grant_range(struct simdom *d, uint64_t gpa, uint32_t npages, bool readonly);
/* Raw entry write, for hostile tests (any domid, frame, flags). */
int simdom_grant_raw(struct simdom *d, uint32_t ref, uint16_t domid, uint32_t frame,
                     uint16_t flags);
/* Linux gnttab_end_foreign_access_ref: -EBUSY while the backend maps it. */
int simdom_revoke(struct simdom *d, uint32_t ref);
/*
 * The race of a revocation with the backend's map, made certain: the grant
 * is revoked at the backend's next attempt to map it, after the notify the
 * backend is serving and before Xen's check.  simdom_revoke afterwards
 * settles the guest's own bookkeeping.
 */
void simdom_revoke_at_map(struct simdom *d, uint32_t ref);
void simdom_release_refs(struct simdom *d, uint32_t ref, uint32_t n); /* back to free pool */
uint32_t simdom_grants_mapped_now(struct simdom *d); /* entries with reading/writing */
/* The page an entry grants the backend domain, or NULL: what the table says, for reference models. */
void *simdom_granted_page(struct simdom *d, uint32_t ref, bool *readonly);

/* Wait until a backend has enabled an ioreq server covering addr. */
int simdom_wait_backend(struct simdom *d, uint64_t addr, int timeout_ms);
/* The same for a server that claimed PCI function sbdf (and has no window yet). */
int simdom_wait_backend_pci(struct simdom *d, uint32_t sbdf, int timeout_ms);
/* A vCPU's MMIO access trapped to the ioreq server. */
int simdom_mmio_read(struct simdom *d, uint32_t vcpu, uint64_t addr, uint32_t size,
                     uint64_t *val);
int simdom_mmio_write(struct simdom *d, uint32_t vcpu, uint64_t addr, uint32_t size,
                      uint64_t val);
/*
 * A vCPU's configuration access to PCI function `sbdf` (Xen's encoding:
 * segment << 16 | bus << 8 | device << 3 | function), as Xen forwards a
 * CF8/CFC cycle: to the ioreq server the function is mapped to, as an
 * IOREQ_TYPE_PCI_CONFIG request; with no server for it, Xen's null handler
 * answers (reads all ones, writes dropped).
 */
int simdom_pci_config_read(struct simdom *d, uint32_t vcpu, uint32_t sbdf, uint32_t reg,
                           uint32_t size, uint32_t *val);
int simdom_pci_config_write(struct simdom *d, uint32_t vcpu, uint32_t sbdf, uint32_t reg,
                            uint32_t size, uint32_t val);
/* MSIs Xen accepted for this domain so far, and the last one's address and data. */
uint64_t simdom_msi(struct simdom *d, uint64_t *addr, uint32_t *data);
/* inject_msi calls Xen refused: a backend that checks the guest's table makes none. */
uint64_t simdom_msi_refused(struct simdom *d);
/* Block until more than `seen` MSIs were accepted, or timeout; 1 more, 0 timeout. */
int simdom_wait_msi(struct simdom *d, uint64_t seen, int timeout_ms);
/* Any ioreq, for hostile tests; returns the data the server answered. */
int simdom_ioreq_raw(struct simdom *d, uint32_t vcpu, const ioreq_t *req, uint64_t *data);
/* The backend is gone: every vCPU waiting on an ioreq gives up (-ECANCELED), now and later. */
void simdom_abandon_io(struct simdom *d);

/* IRQ line as the backend drives it (drains pending messages first). */
bool simdom_irq_level(struct simdom *d, uint32_t irq);
/* Block until the line is high or timeout; 1 high, 0 timeout. */
int simdom_wait_irq(struct simdom *d, uint32_t irq, int timeout_ms);
uint64_t simdom_irq_edges(struct simdom *d, uint32_t irq);
int simdom_fd(const struct simdom *d);

/* Exposure and activity counters (see xensim/shared.h). */
void simdom_stats(struct simdom *d, struct xensim_stats *out);
void simdom_stats_reset(struct simdom *d);
/* Read a gauge's time-average over [start, now] in pages. */
double simdom_gauge_avg(const struct xensim_stats *s, const struct xensim_gauge *g,
                        uint64_t now_ns);
uint64_t simdom_now_ns(void);

#endif
