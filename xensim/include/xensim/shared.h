/* SPDX-License-Identifier: MIT */
/*
 * Layout of one simulated domain, shared by the simulated guest (which owns
 * it) and the backend (which reaches it only through the Xen library calls
 * that xensim implements).  Everything lives in files under
 * $XENSIM_DIR/dom<N>/ so the two sides can be separate processes:
 *
 *   state      page 0: struct xensim_dom_hdr (hypervisor bookkeeping)
 *              page 1: the ioreq server's shared_iopage (Xen's own layout)
 *              page 2..: grant table v1 entries, then per-entry pin counts
 *   ram        guest RAM, gfn XENSIM_RAM_BASE_GFN upwards
 *   guest.sock the guest's event/IRQ datagram socket
 *
 * Backend-side event channels are datagram sockets named in the port table.
 */
#ifndef XENSIM_SHARED_H
#define XENSIM_SHARED_H

#include <stdatomic.h>
#include <stdint.h>

#define XENSIM_MAGIC 0x58534d31u /* "XSM1" */
#define XENSIM_PAGE_SIZE 4096u
#define XENSIM_PAGE_SHIFT 12
/* Xen on Arm's GUEST_RAM0_BASE: 0x40000000. */
#define XENSIM_RAM_BASE 0x40000000ull
#define XENSIM_RAM_BASE_GFN (XENSIM_RAM_BASE >> XENSIM_PAGE_SHIFT)
#define XENSIM_MAX_VCPUS 8
#define XENSIM_MAX_PORTS 64
#define XENSIM_SOCK_PATH_MAX 100

/* MSI: an MSI was injected (it wakes a guest waiting for one; the count is in the header). */
enum xensim_msg_kind { XENSIM_MSG_EVENT = 1, XENSIM_MSG_IRQ = 2, XENSIM_MSG_MSI = 3 };

/* One datagram on an event/IRQ socket. */
struct xensim_msg {
    uint32_t kind;
    uint32_t port; /* EVENT: the receiver's local port */
    uint32_t irq;  /* IRQ: SPI number */
    uint32_t level;
};

/* A guest-side (domain) event channel port, bound by the backend. */
struct xensim_port {
    _Atomic uint32_t bound;   /* 1 while a backend socket is attached */
    uint32_t remote_port;     /* backend's local port number */
    char remote_sock[XENSIM_SOCK_PATH_MAX];
};

/*
 * Exposure counters.  "cur" is an instantaneous page count; "area" the
 * integral of cur over time in page*ns, so that area / elapsed is the
 * time-average.  Updated under hdr->stats_lock by whichever side changes it.
 */
struct xensim_gauge {
    uint64_t cur, peak, area, last_ns;
};

struct xensim_stats {
    struct xensim_gauge granted;  /* pages granted to the backend domain */
    struct xensim_gauge gnt_mapped;
    struct xensim_gauge fgn_mapped;
    uint64_t gnt_map_calls, gnt_unmap_calls, gnt_pages_mapped;
    uint64_t gnt_copy_calls, gnt_copy_segs, gnt_copy_bytes;
    uint64_t fgn_map_calls, fgn_unmap_calls, fgn_pages_mapped;
    uint64_t irq_raised, ioreqs;
    uint64_t start_ns;
};

struct xensim_dom_hdr {
    uint32_t magic;
    uint16_t domid;
    uint16_t backend_domid;
    uint32_t nr_vcpus;
    uint32_t nr_grants;
    uint64_t ram_size;
    uint32_t pin_offset; /* byte offset of the pin-count array in "state" */
    uint32_t state_size;

    /* ioreq server (one per domain in the simulator) */
    _Atomic uint32_t ioreq_created;
    _Atomic uint32_t ioreq_enabled;
    uint32_t ioreq_is_mmio;
    uint64_t ioreq_start, ioreq_end; /* inclusive, as Xen's dm_op */
    /* The PCI function mapped to the server (Xen's SBDF), if ioreq_pci_mapped. */
    uint32_t ioreq_pci_sbdf;
    uint32_t ioreq_pci_mapped;
    /* MSIs injected (xendevicemodel_inject_msi), and the last one. */
    _Atomic uint64_t msi_count;
    uint64_t msi_addr;
    uint32_t msi_data;
    /* inject_msi calls Xen refused (it warns on its console for each) */
    _Atomic uint64_t msi_refused;

    struct xensim_port ports[XENSIM_MAX_PORTS];
    uint32_t irq_level[1024 / 32]; /* mirrors the SPI lines */
    /*
     * ref + 1, or 0: the guest revokes that grant at the backend's next
     * attempt to pin it, just before Xen's check, as a revocation racing
     * the backend would land (simdom_revoke_at_map).
     */
    _Atomic uint32_t revoke_at_pin;

    _Atomic uint32_t stats_lock;
    struct xensim_stats stats;
};

/* Per grant entry: how many mappings Xen holds, by access kind. */
struct xensim_pin {
    _Atomic uint32_t readers;
    _Atomic uint32_t writers;
};

#define XENSIM_IOREQ_PAGE_OFF XENSIM_PAGE_SIZE
#define XENSIM_GNTTAB_OFF (2 * XENSIM_PAGE_SIZE)

#endif
