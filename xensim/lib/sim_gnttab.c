/* SPDX-License-Identifier: MIT */
/*
 * libxengnttab on the simulator, with Xen's v1 grant semantics: the entry
 * must permit access to this domain, GTF_readonly forbids writable maps,
 * GTF_reading/GTF_writing are set while mapped (so the guest's revoke
 * fails), and a batch maps all or nothing.  Every mapping sits between two
 * inaccessible guard pages (real gntdev gives no such promise), so a backend
 * that strays one byte outside what it was granted faults in the tests
 * instead of silently reading a neighbouring mapping.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "sim_internal.h"
#include <xen/sys/gntdev.h>
#include <xengnttab.h>


struct gmap {
    struct gmap *next;
    void *addr;
    uint32_t count;
    struct xensim_dom *dom;
    int writable;
    uint32_t refs[];
};

struct xengntdev_handle {
    int mirror_fd;
    struct xensim_ledger *ledger; /* what this process holds mapped, for its death */
    bool nulled; /* xentoolcore_restrict_all: gntdev cannot be restricted, so it is /dev/null */
    uint32_t max_grants;
    uint32_t in_use;
    struct gmap *maps;
};

static int restrict_cb(void *h, domid_t domid)
{
    (void)domid;
    ((xengnttab_handle *)h)->nulled = true;
    return 0;
}

xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger, unsigned int flags)
{
    (void)logger;
    (void)flags;
    xengnttab_handle *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->mirror_fd = xensim_open_mirror_fd();
    h->max_grants = 128; /* gntdev's historical default limit */
    h->ledger = xensim_ledger_open(); /* NULL: mappings this process leaves at death stay */
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

int xengnttab_close(xengnttab_handle *h)
{
    if (!h)
        return 0;
    xensim_toolcore_deregister(h);
    while (h->maps)
        xengnttab_unmap(h, h->maps->addr, h->maps->count);
    xensim_ledger_close(h->ledger);
    close(h->mirror_fd);
    free(h);
    return 0;
}

int xengnttab_fd(xengnttab_handle *h)
{
    return h->mirror_fd;
}

int xengnttab_set_max_grants(xengnttab_handle *h, uint32_t nr)
{
    xensim_mirror_ioctl(h->mirror_fd, IOCTL_GNTDEV_SET_MAX_GRANTS);
    if (h->in_use) {
        errno = EBUSY;
        return -1;
    }
    h->max_grants = nr;
    return 0;
}


/* Xen's check-and-pin: a cmpxchg loop so a concurrent revoke either wins
 * (and the map fails) or loses (and sees GTF_reading). */
static int pin(struct xensim_dom *d, uint32_t ref, uint16_t self, int writable)
{
    if (ref >= d->hdr->nr_grants)
        return GNTST_bad_gntref;
    grant_entry_v1_t *e = &d->gnttab[ref];
    _Atomic uint16_t *flags = (_Atomic uint16_t *)&e->flags;
    uint32_t armed = ref + 1;
    if (atomic_compare_exchange_strong(&d->hdr->revoke_at_pin, &armed, 0)) {
        uint16_t idle = atomic_load(flags) & ~(GTF_reading | GTF_writing);
        atomic_compare_exchange_strong(flags, &idle, 0); /* as the guest's revoke would */
    }
    uint16_t f = atomic_load(flags);
    for (;;) {
        if ((f & GTF_type_mask) != GTF_permit_access)
            return GNTST_general_error;
        if (e->domid != self)
            return GNTST_permission_denied;
        if (writable && (f & GTF_readonly))
            return GNTST_permission_denied;
        uint16_t nf = f | GTF_reading | (writable ? GTF_writing : 0);
        if (atomic_compare_exchange_weak(flags, &f, nf))
            break;
    }
    uint32_t frame = e->frame;
    if (frame < XENSIM_RAM_BASE_GFN ||
        frame - XENSIM_RAM_BASE_GFN >= d->hdr->ram_size / XENSIM_PAGE_SIZE) {
        /* set the pin counts so unpin() restores the flags consistently */
        atomic_fetch_add(&d->pins[ref].readers, 1);
        if (writable)
            atomic_fetch_add(&d->pins[ref].writers, 1);
        xensim_unpin(d, ref, writable);
        return GNTST_bad_page;
    }
    atomic_fetch_add(&d->pins[ref].readers, 1);
    if (writable)
        atomic_fetch_add(&d->pins[ref].writers, 1);
    return GNTST_okay;
}

void *xengnttab_map_domain_grant_refs(xengnttab_handle *h, uint32_t count, uint32_t domid,
                                      uint32_t *refs, int prot)
{
    xensim_mirror_ioctl(h->mirror_fd, IOCTL_GNTDEV_MAP_GRANT_REF);
    if (h->nulled) {
        errno = ENOTTY; /* an ioctl on /dev/null */
        return NULL;
    }
    if (count == 0 || count > h->max_grants - h->in_use || h->in_use > h->max_grants) {
        errno = count ? ENOSPC : EINVAL;
        return NULL;
    }
    struct xensim_dom *d = xensim_dom_get(domid);
    if (!d)
        return NULL;
    int writable = (prot & PROT_WRITE) != 0;
    uint16_t self = xensim_self_domid();
    uint32_t done;
    int st = GNTST_okay;
    /* Noted before each pin, un-noted after each unpin: a kill anywhere leaves
     * the ledger holding at least what is pinned (see xensim_unpin). */
    for (done = 0; done < count; done++) {
        xensim_ledger_note(h->ledger, d->domid, refs[done], writable, 1);
        st = pin(d, refs[done], self, writable);
        if (st != GNTST_okay) {
            xensim_ledger_note(h->ledger, d->domid, refs[done], writable, -1);
            break;
        }
    }
    void *guarded = MAP_FAILED, *base = NULL;
    size_t guarded_len = ((size_t)count + 2) * XENSIM_PAGE_SIZE;
    struct gmap *m = NULL;
    if (st == GNTST_okay) {
        guarded = mmap(NULL, guarded_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        m = malloc(sizeof(*m) + count * sizeof(uint32_t));
    }
    if (guarded == MAP_FAILED || !m)
        goto undo;
    base = (char *)guarded + XENSIM_PAGE_SIZE;
    for (uint32_t i = 0; i < count; i++) {
        off_t off = (off_t)(d->gnttab[refs[i]].frame - XENSIM_RAM_BASE_GFN) * XENSIM_PAGE_SIZE;
        void *p = mmap((char *)base + (size_t)i * XENSIM_PAGE_SIZE, XENSIM_PAGE_SIZE,
                       prot & (PROT_READ | PROT_WRITE), MAP_SHARED | MAP_FIXED, d->ram_fd, off);
        if (p == MAP_FAILED)
            goto undo;
    }
    m->addr = base;
    m->count = count;
    m->dom = d;
    m->writable = writable;
    memcpy(m->refs, refs, count * sizeof(uint32_t));
    m->next = h->maps;
    h->maps = m;
    h->in_use += count;
    xensim_gauge_add(d->hdr, &d->hdr->stats.gnt_mapped, count);
    xensim_stat_add(d->hdr, &d->hdr->stats.gnt_map_calls, 1);
    xensim_stat_add(d->hdr, &d->hdr->stats.gnt_pages_mapped, count);
    return base;

undo:
    for (uint32_t i = 0; i < done; i++) {
        xensim_unpin(d, refs[i], writable);
        xensim_ledger_note(h->ledger, d->domid, refs[i], writable, -1);
    }
    if (guarded != MAP_FAILED)
        munmap(guarded, guarded_len);
    free(m);
    /* gntdev reports a failed grant map as EINVAL on the mmap() */
    errno = (st == GNTST_okay) ? ENOMEM : EINVAL;
    return NULL;
}

/*
 * GNTTABOP_copy as gntdev's IOCTL_GNTDEV_GRANT_COPY: per segment, the grant
 * side is checked and pinned like a map (GTF_readonly forbids it as the
 * destination), must stay inside its page, and the bytes move through a
 * transient mapping of that page; the status of each segment is its own.
 */
static int16_t copy_segment(xengnttab_grant_copy_segment_t *s, uint16_t self)
{
    bool from_guest = s->flags & GNTCOPY_source_gref, to_guest = s->flags & GNTCOPY_dest_gref;
    if (from_guest == to_guest)
        return GNTST_general_error; /* local to local, or guest to guest: not simulated */
    uint32_t ref = from_guest ? s->source.foreign.ref : s->dest.foreign.ref;
    uint16_t off = from_guest ? s->source.foreign.offset : s->dest.foreign.offset;
    uint16_t domid = from_guest ? s->source.foreign.domid : s->dest.foreign.domid;
    if ((uint32_t)off + s->len > XENSIM_PAGE_SIZE)
        return GNTST_bad_copy_arg;
    struct xensim_dom *d = xensim_dom_get(domid);
    if (!d)
        return GNTST_bad_domain;
    int16_t st = (int16_t)pin(d, ref, self, to_guest);
    if (st != GNTST_okay)
        return st;
    /* Through a mapping of the one page: mmap is what the jail allows the simulator anyway. */
    off_t at = (off_t)(d->gnttab[ref].frame - XENSIM_RAM_BASE_GFN) * XENSIM_PAGE_SIZE;
    uint8_t *page = mmap(NULL, XENSIM_PAGE_SIZE, PROT_READ | (to_guest ? PROT_WRITE : 0),
                         MAP_SHARED, d->ram_fd, at);
    if (page != MAP_FAILED) {
        if (from_guest)
            memcpy(s->dest.virt, page + off, s->len);
        else
            memcpy(page + off, s->source.virt, s->len);
        munmap(page, XENSIM_PAGE_SIZE);
    }
    xensim_unpin(d, ref, to_guest);
    if (page == MAP_FAILED)
        return GNTST_general_error;
    xensim_stat_add(d->hdr, &d->hdr->stats.gnt_copy_segs, 1);
    xensim_stat_add(d->hdr, &d->hdr->stats.gnt_copy_bytes, s->len);
    return GNTST_okay;
}

int xengnttab_grant_copy(xengnttab_handle *h, uint32_t count, xengnttab_grant_copy_segment_t *segs)
{
    xensim_mirror_ioctl(h->mirror_fd, IOCTL_GNTDEV_GRANT_COPY);
    if (h->nulled) {
        errno = ENOTTY;
        return -1;
    }
    uint16_t self = xensim_self_domid();
    struct xensim_dom *counted = NULL;
    for (uint32_t i = 0; i < count; i++) {
        segs[i].status = copy_segment(&segs[i], self);
        if (!counted)
            counted = xensim_dom_get(segs[i].flags & GNTCOPY_source_gref
                                         ? segs[i].source.foreign.domid
                                         : segs[i].dest.foreign.domid);
    }
    if (counted)
        xensim_stat_add(counted->hdr, &counted->hdr->stats.gnt_copy_calls, 1);
    return 0;
}

void *xengnttab_map_grant_refs(xengnttab_handle *h, uint32_t count, uint32_t *domids,
                               uint32_t *refs, int prot)
{
    for (uint32_t i = 1; i < count; i++)
        if (domids[i] != domids[0]) {
            errno = EINVAL; /* the simulator maps one domain per batch */
            return NULL;
        }
    return xengnttab_map_domain_grant_refs(h, count, domids[0], refs, prot);
}

void *xengnttab_map_grant_ref(xengnttab_handle *h, uint32_t domid, uint32_t ref, int prot)
{
    return xengnttab_map_domain_grant_refs(h, 1, domid, &ref, prot);
}

int xengnttab_unmap(xengnttab_handle *h, void *start, uint32_t count)
{
    xensim_mirror_ioctl(h->mirror_fd, IOCTL_GNTDEV_UNMAP_GRANT_REF);
    struct gmap **pp = &h->maps;
    while (*pp && (*pp)->addr != start)
        pp = &(*pp)->next;
    struct gmap *m = *pp;
    if (!m || m->count != count) {
        errno = EINVAL;
        return -1;
    }
    *pp = m->next;
    munmap((char *)m->addr - XENSIM_PAGE_SIZE, ((size_t)count + 2) * XENSIM_PAGE_SIZE);
    for (uint32_t i = 0; i < count; i++) {
        xensim_unpin(m->dom, m->refs[i], m->writable);
        xensim_ledger_note(h->ledger, m->dom->domid, m->refs[i], m->writable, -1);
    }
    h->in_use -= count;
    xensim_gauge_add(m->dom->hdr, &m->dom->hdr->stats.gnt_mapped, -(int64_t)count);
    xensim_stat_add(m->dom->hdr, &m->dom->hdr->stats.gnt_unmap_calls, 1);
    free(m);
    return 0;
}
