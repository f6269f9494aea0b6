/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "xen/ioreq.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <xen/memory.h>

#include "common/checked.h"
#include "common/log.h"

static int fail(const char *what)
{
    int e = errno ? errno : EIO;
    vg_err("%s: %s", what, strerror(e));
    return -e;
}

int xen_ioreq_open(struct xen_ioreq_srv *s, uint16_t domid, uint64_t base, uint64_t size,
                   unsigned irq)
{
    return xen_ioreq_attach(s, domid, base, size, irq, -1);
}

int xen_ioreq_attach(struct xen_ioreq_srv *s, uint16_t domid, uint64_t base, uint64_t size,
                     unsigned irq, int id)
{
    int rc;
    memset(s, 0, sizeof(*s));
    s->domid = domid;
    s->base = base;
    s->size = size;
    s->irq = irq;

    s->dm = xendevicemodel_open(NULL, 0);
    if (!s->dm) {
        rc = fail("xendevicemodel_open");
        goto out;
    }
    s->fmem = xenforeignmemory_open(NULL, 0);
    if (!s->fmem) {
        rc = fail("xenforeignmemory_open");
        goto out;
    }
    s->evt = xenevtchn_open(NULL, 0);
    if (!s->evt) {
        rc = fail("xenevtchn_open");
        goto out;
    }
    if (xendevicemodel_nr_vcpus(s->dm, domid, &s->nr_vcpus) < 0) {
        rc = fail("xendevicemodel_nr_vcpus (does the domain exist?)");
        goto out;
    }
    if (s->nr_vcpus == 0 || s->nr_vcpus > XEN_IOREQ_MAX_VCPUS) {
        errno = ERANGE;
        rc = fail("vCPU count");
        goto out;
    }
    if (id >= 0) {
        /*
         * A dead process's server: Xen keeps it, with its range, enabled,
         * and the guest's vCPUs wait on it.  Its ports were closed with the
         * process, so they bind again.  Not ours to destroy until we serve
         * it (xen_ioreq_take_over): a replacement that fails leaves it as
         * it found it, for the next one.
         */
        s->id = (ioservid_t)id;
        s->attached = true;
    } else if (xendevicemodel_create_ioreq_server(s->dm, domid, HVM_IOREQSRV_BUFIOREQ_OFF,
                                                  &s->id) < 0) {
        rc = fail("xendevicemodel_create_ioreq_server");
        goto out;
    } else {
        s->created = true;
    }
    void *page = NULL;
    s->res = xenforeignmemory_map_resource(s->fmem, domid, XENMEM_resource_ioreq_server, s->id,
                                           XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &page,
                                           PROT_READ | PROT_WRITE, 0);
    if (!s->res) {
        rc = fail("mapping the ioreq page");
        goto out;
    }
    s->iopage = page;
    /* A PCI device has no window until the guest places its BAR (size 0). */
    if (size && !s->attached &&
        xendevicemodel_map_io_range_to_ioreq_server(s->dm, domid, s->id, 1, base,
                                                    base + size - 1) < 0) {
        rc = fail("xendevicemodel_map_io_range_to_ioreq_server");
        goto out;
    }
    s->range_mapped = size != 0;
    /*
     * Xen writes each vCPU's vp_eport into the page only when the server is
     * enabled (Xen 4.17 ioreq_server_enable), so enable first, then bind.
     * The guest is still paused: libxl unpauses it after our InitWait.
     */
    if (!s->attached && xendevicemodel_set_ioreq_server_state(s->dm, domid, s->id, 1) < 0) {
        rc = fail("enabling the ioreq server");
        goto out;
    }
    s->enabled = !s->attached;
    for (unsigned v = 0; v < s->nr_vcpus; v++) {
        int p = xenevtchn_bind_interdomain(s->evt, domid, s->iopage->vcpu_ioreq[v].vp_eport);
        if (p < 0) {
            rc = fail("binding a vCPU event channel");
            goto out;
        }
        s->port[v] = (evtchn_port_t)p;
    }
    /*
     * A process killed between answering an ioreq (IORESP_READY) and its
     * notify leaves that vCPU asleep in Xen, which wakes it only on an
     * event: send one on every port.  A vCPU not waiting ignores it.
     */
    for (unsigned v = 0; s->attached && v < s->nr_vcpus; v++)
        xenevtchn_notify(s->evt, s->port[v]);
    return 0;
out:
    xen_ioreq_close(s);
    return rc;
}

void xen_ioreq_take_over(struct xen_ioreq_srv *s)
{
    if (s->attached)
        s->created = s->range_mapped = s->enabled = true;
    s->attached = false;
}

/* The bus, device and function of Xen's SBDF (segment 0: the only one HVM has). */
static uint8_t sbdf_bus(uint32_t sbdf)
{
    return (uint8_t)(sbdf >> 8);
}

static uint8_t sbdf_dev(uint32_t sbdf)
{
    return (uint8_t)(sbdf >> 3 & 0x1f);
}

static uint8_t sbdf_fn(uint32_t sbdf)
{
    return (uint8_t)(sbdf & 7);
}

void xen_ioreq_close(struct xen_ioreq_srv *s)
{
    if (s->enabled)
        xendevicemodel_set_ioreq_server_state(s->dm, s->domid, s->id, 0);
    s->enabled = false;
    for (unsigned v = 0; v < s->nr_vcpus; v++)
        if (s->port[v])
            xenevtchn_unbind(s->evt, s->port[v]);
    memset(s->port, 0, sizeof(s->port));
    if (s->pci.mapped)
        xendevicemodel_unmap_pcidev_from_ioreq_server(s->dm, s->domid, s->id, 0,
                                                      sbdf_bus(s->pci.sbdf), sbdf_dev(s->pci.sbdf),
                                                      sbdf_fn(s->pci.sbdf));
    s->pci.mapped = false;
    if (s->range_mapped)
        xendevicemodel_unmap_io_range_from_ioreq_server(s->dm, s->domid, s->id, 1, s->base,
                                                        s->base + s->size - 1);
    s->range_mapped = false;
    if (s->res)
        xenforeignmemory_unmap_resource(s->fmem, s->res);
    s->res = NULL;
    s->iopage = NULL;
    if (s->created)
        xendevicemodel_destroy_ioreq_server(s->dm, s->domid, s->id);
    s->created = false;
    if (s->evt)
        xenevtchn_close(s->evt);
    if (s->fmem)
        xenforeignmemory_close(s->fmem);
    if (s->dm)
        xendevicemodel_close(s->dm);
    s->evt = NULL;
    s->fmem = NULL;
    s->dm = NULL;
}

int xen_ioreq_fd(const struct xen_ioreq_srv *s)
{
    return xenevtchn_fd(s->evt);
}

void xen_ioreq_set_irq(void *srv, int level)
{
    struct xen_ioreq_srv *s = srv;
    if (xendevicemodel_set_irq_level(s->dm, s->domid, s->irq, (unsigned)level) < 0)
        vg_warn("set_irq_level(%u, %d): %s", s->irq, level, strerror(errno));
}

void xen_ioreq_set_pcidev(struct xen_ioreq_srv *s, uint32_t sbdf, xen_pcicfg_fn fn, void *opaque)
{
    s->pci.sbdf = sbdf;
    s->pci.fn = fn;
    s->pci.opaque = opaque;
}

int xen_ioreq_map_pcidev(struct xen_ioreq_srv *s)
{
    if (!s->pci.fn)
        return -EINVAL;
    /* A dead process's server keeps its claim (xen_ioreq_attach). */
    if (!s->attached && !s->pci.mapped &&
        xendevicemodel_map_pcidev_to_ioreq_server(s->dm, s->domid, s->id, 0,
                                                  sbdf_bus(s->pci.sbdf), sbdf_dev(s->pci.sbdf),
                                                  sbdf_fn(s->pci.sbdf)) < 0)
        return fail("xendevicemodel_map_pcidev_to_ioreq_server");
    s->pci.mapped = true;
    return 0;
}

int xen_ioreq_move_window(struct xen_ioreq_srv *s, uint64_t base, uint64_t size)
{
    if (s->range_mapped && s->base == base && s->size == size)
        return 0;
    if (size && (base + size - 1 < base))
        return -EINVAL;
    /* The old range first: one range at a time, so Xen never holds two. */
    if (s->range_mapped &&
        xendevicemodel_unmap_io_range_from_ioreq_server(s->dm, s->domid, s->id, 1, s->base,
                                                        s->base + s->size - 1) < 0)
        vg_warn("unmapping MMIO 0x%llx+0x%llx: %s", (unsigned long long)s->base,
                (unsigned long long)s->size, strerror(errno));
    s->range_mapped = false;
    s->base = s->size = 0; /* no window: every MMIO request is refused */
    if (!size)
        return 0;
    if (xendevicemodel_map_io_range_to_ioreq_server(s->dm, s->domid, s->id, 1, base,
                                                    base + size - 1) < 0)
        return fail("xendevicemodel_map_io_range_to_ioreq_server");
    s->base = base;
    s->size = size;
    s->range_mapped = true;
    return 0;
}

int xen_ioreq_set_intx(struct xen_ioreq_srv *s, unsigned level)
{
    /* INTA of the claimed function: the only pin the device reports. */
    if (xendevicemodel_set_pci_intx_level(s->dm, s->domid, 0, sbdf_bus(s->pci.sbdf),
                                          sbdf_dev(s->pci.sbdf), 0, level) < 0)
        return fail("xendevicemodel_set_pci_intx_level");
    return 0;
}

int xen_ioreq_inject_msi(struct xen_ioreq_srv *s, uint64_t addr, uint32_t data)
{
    if (xendevicemodel_inject_msi(s->dm, s->domid, addr, data) < 0)
        return fail("xendevicemodel_inject_msi");
    return 0;
}

static uint64_t size_mask(uint32_t size)
{
    return size >= 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
}

/*
 * A configuration access: Xen puts the function's SBDF in bits 63-32 of
 * addr and the register in bits 31-0 (bits 11-8 set only by an AMD
 * extended CF8).  A rep string access on port 0xCFC arrives as count > 1.
 */
static bool serve_pci_config(struct xen_ioreq_srv *s, ioreq_t *req)
{
    if (!s->pci.fn || (req->addr >> 32) != s->pci.sbdf) {
        vg_log_guest("config access to SBDF 0x%llx: not ours",
                     (unsigned long long)(req->addr >> 32));
        return false;
    }
    if (req->data_is_ptr || req->count != 1 ||
        (req->size != 1 && req->size != 2 && req->size != 4)) {
        vg_log_guest("config access with data_is_ptr=%u count=%u size=%u rejected",
                     req->data_is_ptr, req->count, req->size);
        return false;
    }
    uint32_t val = (uint32_t)(req->data & size_mask(req->size));
    s->pci.fn(s->pci.opaque, (uint32_t)req->addr, req->size, req->dir == IOREQ_WRITE, &val);
    if (req->dir == IOREQ_READ)
        req->data = val & size_mask(req->size);
    return true;
}

/* Validate a private copy of the request and run it; returns false if rejected. */
static bool serve(struct xen_ioreq_srv *s, ioreq_t *req, xen_mmio_fn fn, void *opaque)
{
    if (req->type == IOREQ_TYPE_INVALIDATE) {
        s->ctr.invalidates++; /* no mapcache to invalidate: acknowledge */
        return true;
    }
    if (req->type == IOREQ_TYPE_PCI_CONFIG)
        return serve_pci_config(s, req);
    if (req->type != IOREQ_TYPE_COPY) {
        vg_log_guest("ioreq type %u rejected", req->type);
        return false;
    }
    if (req->data_is_ptr || req->count != 1) {
        vg_log_guest("ioreq with data_is_ptr=%u count=%u rejected", req->data_is_ptr, req->count);
        return false;
    }
    if ((req->size != 1 && req->size != 2 && req->size != 4 && req->size != 8) ||
        req->addr < s->base || !vg_range_ok(req->addr - s->base, req->size, s->size)) {
        vg_log_guest("ioreq at 0x%llx size %u outside the window", (unsigned long long)req->addr,
                     req->size);
        return false;
    }
    uint64_t val = req->data;
    fn(opaque, req->addr - s->base, req->size, req->dir == IOREQ_WRITE, &val);
    if (req->dir == IOREQ_READ)
        req->data = val & size_mask(req->size);
    return true;
}

bool xen_ioreq_serve_slot(struct xen_ioreq_srv *s, ioreq_t *slot, bool stale, xen_mmio_fn fn,
                          void *opaque)
{
    /* INPROCESS is left only by a process killed while serving it: serve it again. */
    if (slot->state != STATE_IOREQ_READY && !(stale && slot->state == STATE_IOREQ_INPROCESS))
        return false;
    /* Fields are valid only once READY is seen; copy them once, use the copy. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    ioreq_t req;
    memcpy(&req, slot, sizeof(req));
    slot->state = STATE_IOREQ_INPROCESS;
    if (serve(s, &req, fn, opaque)) {
        s->ctr.handled++;
    } else {
        s->ctr.rejected++;
        /* What virtio-mmio answers for a register it refuses; for config
         * space, what a function that is not there answers. */
        if (req.dir == IOREQ_READ)
            req.data = req.type == IOREQ_TYPE_PCI_CONFIG ? size_mask(req.size) : 0;
    }
    slot->data = req.data;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    slot->state = STATE_IORESP_READY;
    return true;
}

static void handle_vcpu(struct xen_ioreq_srv *s, unsigned v, xen_mmio_fn fn, void *opaque,
                        bool stale)
{
    if (xen_ioreq_serve_slot(s, &s->iopage->vcpu_ioreq[v], stale, fn, opaque))
        xenevtchn_notify(s->evt, s->port[v]);
}

int xen_ioreq_dispatch(struct xen_ioreq_srv *s, xen_mmio_fn fn, void *opaque)
{
    int port = xenevtchn_pending(s->evt);
    if (port < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
    xenevtchn_unmask(s->evt, (evtchn_port_t)port);
    for (unsigned v = 0; v < s->nr_vcpus; v++)
        if (s->port[v] == (evtchn_port_t)port)
            handle_vcpu(s, v, fn, opaque, false);
    return 0;
}

void xen_ioreq_serve_stale(struct xen_ioreq_srv *s, xen_mmio_fn fn, void *opaque)
{
    for (unsigned v = 0; v < s->nr_vcpus; v++)
        handle_vcpu(s, v, fn, opaque, true);
}
