/* SPDX-License-Identifier: MIT */
/* libxendevicemodel on the simulator: ioreq server and IRQ lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "sim_internal.h"
#include <xen/sys/privcmd.h>
#include <xendevicemodel.h>


struct xendevicemodel_handle {
    int mirror_fd;
    int sock; /* unbound datagram socket for IRQ messages */
    int restrict_domid;
};

int xensim_dm_sock(const struct xendevicemodel_handle *h)
{
    return h ? h->sock : -1;
}

static int restrict_cb(void *h, domid_t domid)
{
    return xendevicemodel_restrict(h, domid);
}

xendevicemodel_handle *xendevicemodel_open(struct xentoollog_logger *logger, unsigned int flags)
{
    (void)logger;
    (void)flags;
    xendevicemodel_handle *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->restrict_domid = -1;
    h->mirror_fd = xensim_open_mirror_fd();
    h->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (h->mirror_fd < 0 || h->sock < 0 || xensim_toolcore_register(h, restrict_cb) < 0) {
        int e = errno;
        if (h->mirror_fd >= 0)
            close(h->mirror_fd);
        if (h->sock >= 0)
            close(h->sock);
        free(h);
        errno = e;
        return NULL;
    }
    return h;
}

int xendevicemodel_close(xendevicemodel_handle *h)
{
    if (!h)
        return 0;
    xensim_toolcore_deregister(h);
    close(h->mirror_fd);
    close(h->sock);
    free(h);
    return 0;
}

/* Every dm_op goes through here, as every real one is IOCTL_PRIVCMD_DM_OP. */
static struct xensim_dom *dm_op(xendevicemodel_handle *h, domid_t domid)
{
    xensim_mirror_ioctl(h->mirror_fd, IOCTL_PRIVCMD_DM_OP);
    if (h->restrict_domid >= 0 && h->restrict_domid != domid) {
        errno = EPERM;
        return NULL;
    }
    return xensim_dom_get(domid);
}

int xendevicemodel_restrict(xendevicemodel_handle *h, domid_t domid)
{
    xensim_mirror_ioctl(h->mirror_fd, IOCTL_PRIVCMD_RESTRICT);
    if (h->restrict_domid >= 0 && h->restrict_domid != domid) {
        errno = EPERM;
        return -1;
    }
    h->restrict_domid = domid;
    return 0;
}

int xendevicemodel_nr_vcpus(xendevicemodel_handle *h, domid_t domid, unsigned int *vcpus)
{
    struct xensim_dom *d = dm_op(h, domid);
    if (!d)
        return -1;
    *vcpus = d->hdr->nr_vcpus;
    return 0;
}

int xendevicemodel_create_ioreq_server(xendevicemodel_handle *h, domid_t domid,
                                       int handle_bufioreq, ioservid_t *id)
{
    struct xensim_dom *d = dm_op(h, domid);
    if (!d)
        return -1;
    if (handle_bufioreq != HVM_IOREQSRV_BUFIOREQ_OFF) {
        errno = EOPNOTSUPP; /* as on Arm */
        return -1;
    }
    uint32_t zero = 0;
    if (!atomic_compare_exchange_strong(&d->hdr->ioreq_created, &zero, 1)) {
        errno = EBUSY; /* the simulator supports one server per domain */
        return -1;
    }
    /* Xen allocates one unbound port per vCPU; it publishes them on enable. */
    for (uint32_t v = 0; v < d->hdr->nr_vcpus; v++)
        memset(&d->iopage->vcpu_ioreq[v], 0, sizeof(ioreq_t));
    *id = 0;
    return 0;
}

/* The domain of an op on server id, which must exist (the simulator has one, id 0). */
static struct xensim_dom *server_op(xendevicemodel_handle *h, domid_t domid, ioservid_t id)
{
    struct xensim_dom *d = dm_op(h, domid);
    if (d && (id != 0 || !atomic_load(&d->hdr->ioreq_created))) {
        errno = ENOENT;
        return NULL;
    }
    return d;
}

int xendevicemodel_get_ioreq_server_info(xendevicemodel_handle *h, domid_t domid, ioservid_t id,
                                         xen_pfn_t *ioreq_gfn, xen_pfn_t *bufioreq_gfn,
                                         evtchn_port_t *bufioreq_port)
{
    (void)ioreq_gfn;
    (void)bufioreq_gfn;
    (void)bufioreq_port;
    struct xensim_dom *d = server_op(h, domid, id);
    if (!d)
        return -1;
    return 0;
}

static int io_range(xendevicemodel_handle *h, domid_t domid, ioservid_t id, int is_mmio,
                    uint64_t start, uint64_t end, int map)
{
    struct xensim_dom *d = dm_op(h, domid);
    if (!d)
        return -1;
    if (id != 0 || !atomic_load(&d->hdr->ioreq_created) || end < start) {
        errno = EINVAL;
        return -1;
    }
    if (map) {
        d->hdr->ioreq_is_mmio = (uint32_t)is_mmio;
        d->hdr->ioreq_start = start;
        d->hdr->ioreq_end = end;
    } else {
        d->hdr->ioreq_start = 1;
        d->hdr->ioreq_end = 0;
    }
    return 0;
}

int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *h, domid_t domid,
                                                ioservid_t id, int is_mmio, uint64_t start,
                                                uint64_t end)
{
    return io_range(h, domid, id, is_mmio, start, end, 1);
}

int xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *h, domid_t domid,
                                                    ioservid_t id, int is_mmio, uint64_t start,
                                                    uint64_t end)
{
    return io_range(h, domid, id, is_mmio, start, end, 0);
}

/*
 * As libxendevicemodel and Xen 4.17: the library refuses a device above 31
 * or a function above 7; Xen refuses segment, bus or a second mapping of an
 * SBDF the server has (-EEXIST), and an unmap of one it has not (-ENOENT).
 * One function per server here.
 */
static int pcidev(xendevicemodel_handle *h, domid_t domid, ioservid_t id, uint16_t segment,
                  uint8_t bus, uint8_t device, uint8_t function, int map)
{
    if (device > 0x1f || function > 7) {
        errno = EINVAL;
        return -1;
    }
    struct xensim_dom *d = server_op(h, domid, id);
    if (!d)
        return -1;
    uint32_t sbdf = (uint32_t)segment << 16 | (uint32_t)bus << 8 | (uint32_t)device << 3 | function;
    if (map && d->hdr->ioreq_pci_mapped) {
        errno = EEXIST;
        return -1;
    }
    if (!map && (!d->hdr->ioreq_pci_mapped || d->hdr->ioreq_pci_sbdf != sbdf)) {
        errno = ENOENT;
        return -1;
    }
    d->hdr->ioreq_pci_sbdf = sbdf;
    d->hdr->ioreq_pci_mapped = (uint32_t)map;
    return 0;
}

int xendevicemodel_map_pcidev_to_ioreq_server(xendevicemodel_handle *h, domid_t domid,
                                              ioservid_t id, uint16_t segment, uint8_t bus,
                                              uint8_t device, uint8_t function)
{
    return pcidev(h, domid, id, segment, bus, device, function, 1);
}

int xendevicemodel_unmap_pcidev_from_ioreq_server(xendevicemodel_handle *h, domid_t domid,
                                                  ioservid_t id, uint16_t segment, uint8_t bus,
                                                  uint8_t device, uint8_t function)
{
    return pcidev(h, domid, id, segment, bus, device, function, 0);
}

int xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *h, domid_t domid, ioservid_t id,
                                          int enabled)
{
    struct xensim_dom *d = server_op(h, domid, id);
    if (!d)
        return -1;
    /* As Xen 4.17's ioreq_server_enable: vp_eport is valid only from here on. */
    if (enabled)
        for (uint32_t v = 0; v < d->hdr->nr_vcpus; v++)
            d->iopage->vcpu_ioreq[v].vp_eport = v + 1;
    atomic_store(&d->hdr->ioreq_enabled, enabled ? 1 : 0);
    return 0;
}

int xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *h, domid_t domid, ioservid_t id)
{
    struct xensim_dom *d = dm_op(h, domid);
    if (!d)
        return -1;
    if (id != 0) {
        errno = ENOENT;
        return -1;
    }
    atomic_store(&d->hdr->ioreq_enabled, 0);
    for (uint32_t p = 0; p < XENSIM_MAX_PORTS; p++)
        atomic_store(&d->hdr->ports[p].bound, 0);
    d->hdr->ioreq_pci_mapped = 0; /* destroying a server drops all its ranges */
    atomic_store(&d->hdr->ioreq_created, 0);
    return 0;
}

/*
 * As Xen 4.17 (hvm_pci_intx_assert): segment and bus 0, device up to 31,
 * pin A-D; the line raised is the pin's GSI, as the guest's ACPI tables
 * route it: ((device * 4 + device / 8 + intx) & 31) + 16.
 */
int xendevicemodel_set_pci_intx_level(xendevicemodel_handle *h, domid_t domid, uint16_t segment,
                                      uint8_t bus, uint8_t device, uint8_t intx,
                                      unsigned int level)
{
    if (segment || bus || device > 31 || intx > 3 || level > 1) {
        errno = EINVAL;
        return -1;
    }
    unsigned gsi = ((device * 4u + device / 8u + intx) & 31u) + 16u;
    return xendevicemodel_set_irq_level(h, domid, gsi, level);
}

/*
 * As Xen 4.17 (hvm_inject_msi): vector 0 is a PIRQ message, whose PIRQ is
 * in the address and must not be 0 (-ERANGE); otherwise only fixed and
 * lowest-priority delivery is accepted (-EINVAL, and Xen warns on its
 * console).  Counted, with the last message, for the guest to see.
 */
int xendevicemodel_inject_msi(xendevicemodel_handle *h, domid_t domid, uint64_t msi_addr,
                              uint32_t msi_data)
{
    struct xensim_dom *d = dm_op(h, domid);
    if (!d)
        return -1;
    if ((msi_data & 0xff) == 0) {
        if ((((msi_addr >> 32) & 0xffffff00u) | ((msi_addr >> 12) & 0xffu)) == 0) {
            atomic_fetch_add(&d->hdr->msi_refused, 1);
            errno = ERANGE;
            return -1;
        }
    } else if (((msi_data >> 8) & 7) > 1) {
        atomic_fetch_add(&d->hdr->msi_refused, 1);
        errno = EINVAL;
        return -1;
    }
    d->hdr->msi_addr = msi_addr;
    d->hdr->msi_data = msi_data;
    atomic_fetch_add(&d->hdr->msi_count, 1);
    char path[256];
    xensim_guest_sock_path(domid, path, sizeof(path));
    struct xensim_msg m = { .kind = XENSIM_MSG_MSI, .irq = msi_data & 0xff };
    (void)xensim_send_msg(h->sock, path, &m); /* a guest not listening polls the count */
    return 0;
}

int xendevicemodel_set_irq_level(xendevicemodel_handle *h, domid_t domid, unsigned int irq,
                                 unsigned int level)
{
    struct xensim_dom *d = dm_op(h, domid);
    if (!d)
        return -1;
    if (irq >= 1024 || level > 1) {
        errno = EINVAL;
        return -1;
    }
    uint32_t bit = 1u << (irq % 32);
    if (level)
        d->hdr->irq_level[irq / 32] |= bit;
    else
        d->hdr->irq_level[irq / 32] &= ~bit;
    if (level)
        xensim_stat_add(d->hdr, &d->hdr->stats.irq_raised, 1);
    char path[256];
    xensim_guest_sock_path(domid, path, sizeof(path));
    struct xensim_msg m = { .kind = XENSIM_MSG_IRQ, .irq = irq, .level = level };
    int rc = xensim_send_msg(h->sock, path, &m);
    /* A guest that is not listening loses the edge, like a masked line. */
    (void)rc;
    return 0;
}
