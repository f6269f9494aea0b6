/* SPDX-License-Identifier: MIT */
/*
 * libxenforeignmemory on the simulator: the ioreq server's page as a
 * resource, and (foreign mode only) guest RAM by frame number.  Every page of
 * guest RAM mapped here is counted, so a grant-mode run can show zero.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim_internal.h"
#include <xen/memory.h>
#include <xen/sys/privcmd.h>
#include <xenforeignmemory.h>


struct fmap {
    struct fmap *next;
    void *addr;
    size_t pages;
    struct xensim_dom *dom;
};

struct xenforeignmemory_handle {
    int mirror_fd;
    int restrict_domid;
    struct fmap *maps;
};

struct xenforeignmemory_resource_handle {
    void *addr;
    unsigned long nr_frames;
};

static int restrict_cb(void *h, domid_t domid)
{
    return xenforeignmemory_restrict(h, domid);
}

xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger, unsigned flags)
{
    (void)logger;
    (void)flags;
    xenforeignmemory_handle *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->restrict_domid = -1;
    h->mirror_fd = xensim_open_mirror_fd();
    if (h->mirror_fd < 0 || xensim_toolcore_register(h, restrict_cb) < 0) {
        int e = errno;
        if (h->mirror_fd >= 0)
            close(h->mirror_fd);
        free(h);
        errno = e;
        return NULL;
    }
    return h;
}

int xenforeignmemory_close(xenforeignmemory_handle *h)
{
    if (!h)
        return 0;
    xensim_toolcore_deregister(h);
    while (h->maps)
        xenforeignmemory_unmap(h, h->maps->addr, h->maps->pages);
    close(h->mirror_fd);
    free(h);
    return 0;
}

int xenforeignmemory_restrict(xenforeignmemory_handle *h, domid_t domid)
{
    xensim_mirror_ioctl(h->mirror_fd, IOCTL_PRIVCMD_RESTRICT);
    if (h->restrict_domid >= 0 && h->restrict_domid != domid) {
        errno = EPERM;
        return -1;
    }
    h->restrict_domid = domid;
    return 0;
}

static struct xensim_dom *target(xenforeignmemory_handle *h, uint32_t dom)
{
    if (h->restrict_domid >= 0 && (uint32_t)h->restrict_domid != dom) {
        errno = EPERM;
        return NULL;
    }
    return xensim_dom_get(dom);
}

void *xenforeignmemory_map(xenforeignmemory_handle *h, uint32_t dom, int prot, size_t pages,
                           const xen_pfn_t arr[], int err[])
{
    xensim_mirror_ioctl(h->mirror_fd, IOCTL_PRIVCMD_MMAPBATCH_V2);
    struct xensim_dom *d = target(h, dom);
    if (!d)
        return NULL;
    if (pages == 0) {
        errno = EINVAL;
        return NULL;
    }
    struct fmap *m = malloc(sizeof(*m));
    void *base = mmap(NULL, pages * XENSIM_PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    if (!m || base == MAP_FAILED) {
        free(m);
        if (base != MAP_FAILED)
            munmap(base, pages * XENSIM_PAGE_SIZE);
        errno = ENOMEM;
        return NULL;
    }
    uint64_t ram_pages = d->hdr->ram_size / XENSIM_PAGE_SIZE;
    int failed = 0;
    for (size_t i = 0; i < pages; i++) {
        int e = 0;
        if (arr[i] < XENSIM_RAM_BASE_GFN || arr[i] - XENSIM_RAM_BASE_GFN >= ram_pages) {
            e = -EINVAL; /* privcmd reports an unpopulated frame per page */
        } else {
            off_t off = (off_t)(arr[i] - XENSIM_RAM_BASE_GFN) * XENSIM_PAGE_SIZE;
            if (mmap((char *)base + i * XENSIM_PAGE_SIZE, XENSIM_PAGE_SIZE,
                     prot & (PROT_READ | PROT_WRITE), MAP_SHARED | MAP_FIXED, d->ram_fd,
                     off) == MAP_FAILED)
                e = -errno;
        }
        if (err)
            err[i] = e;
        failed |= e != 0;
    }
    if (failed && !err) {
        munmap(base, pages * XENSIM_PAGE_SIZE);
        free(m);
        errno = EFAULT;
        return NULL;
    }
    m->addr = base;
    m->pages = pages;
    m->dom = d;
    m->next = h->maps;
    h->maps = m;
    xensim_gauge_add(d->hdr, &d->hdr->stats.fgn_mapped, (int64_t)pages);
    xensim_stat_add(d->hdr, &d->hdr->stats.fgn_map_calls, 1);
    xensim_stat_add(d->hdr, &d->hdr->stats.fgn_pages_mapped, pages);
    return base;
}

void *xenforeignmemory_map2(xenforeignmemory_handle *h, uint32_t dom, void *addr, int prot,
                            int flags, size_t pages, const xen_pfn_t arr[], int err[])
{
    if (addr || flags) {
        errno = EOPNOTSUPP;
        return NULL;
    }
    return xenforeignmemory_map(h, dom, prot, pages, arr, err);
}

int xenforeignmemory_unmap(xenforeignmemory_handle *h, void *addr, size_t pages)
{
    struct fmap **pp = &h->maps;
    while (*pp && (*pp)->addr != addr)
        pp = &(*pp)->next;
    struct fmap *m = *pp;
    if (!m || m->pages != pages) {
        errno = EINVAL;
        return -1;
    }
    *pp = m->next;
    munmap(addr, pages * XENSIM_PAGE_SIZE);
    xensim_gauge_add(m->dom->hdr, &m->dom->hdr->stats.fgn_mapped, -(int64_t)pages);
    xensim_stat_add(m->dom->hdr, &m->dom->hdr->stats.fgn_unmap_calls, 1);
    free(m);
    return 0;
}

xenforeignmemory_resource_handle *xenforeignmemory_map_resource(
    xenforeignmemory_handle *h, domid_t domid, unsigned int type, unsigned int id,
    unsigned long frame, unsigned long nr_frames, void **paddr, int prot, int flags)
{
    xensim_mirror_ioctl(h->mirror_fd, IOCTL_PRIVCMD_MMAP_RESOURCE);
    struct xensim_dom *d = target(h, domid);
    if (!d)
        return NULL;
    /* The simulator has exactly one resource: the ioreq page of server 0. */
    if (type != XENMEM_resource_ioreq_server || id != 0 ||
        frame != XENMEM_resource_ioreq_server_frame_ioreq(0) || nr_frames != 1 || flags ||
        !atomic_load(&d->hdr->ioreq_created)) {
        errno = EOPNOTSUPP;
        return NULL;
    }
    xenforeignmemory_resource_handle *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    void *p = mmap(*paddr, XENSIM_PAGE_SIZE, prot, MAP_SHARED | (*paddr ? MAP_FIXED : 0),
                   d->state_fd, XENSIM_IOREQ_PAGE_OFF);
    if (p == MAP_FAILED) {
        free(r);
        return NULL;
    }
    r->addr = p;
    r->nr_frames = 1;
    *paddr = p;
    return r;
}

int xenforeignmemory_unmap_resource(xenforeignmemory_handle *h,
                                    xenforeignmemory_resource_handle *r)
{
    (void)h;
    if (!r)
        return 0;
    munmap(r->addr, r->nr_frames * XENSIM_PAGE_SIZE);
    free(r);
    return 0;
}

int xenforeignmemory_resource_size(xenforeignmemory_handle *h, domid_t domid, unsigned int type,
                                   unsigned int id, unsigned long *nr_frames)
{
    (void)h;
    (void)domid;
    (void)id;
    if (type != XENMEM_resource_ioreq_server) {
        errno = EOPNOTSUPP;
        return -1;
    }
    *nr_frames = 2;
    return 0;
}
