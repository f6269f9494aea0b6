/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "gmem/gmem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/checked.h"
#include "common/log.h"
#include "gmem/copy.h"
#include "gmem/persist.h"

int gmem_mode_parse(const char *s, enum gmem_mode *m)
{
    for (int i = GMEM_GRANT; i <= GMEM_GRANT_COPY; i++) {
        if (!strcmp(s, gmem_mode_name((enum gmem_mode)i))) {
            *m = (enum gmem_mode)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *gmem_mode_name(enum gmem_mode m)
{
    switch (m) {
    case GMEM_GRANT:
        return "grant";
    case GMEM_FOREIGN:
        return "foreign";
    case GMEM_FOREIGN_PREMAP:
        return "foreign-premap";
    case GMEM_GRANT_COPY:
        return "grant-copy";
    }
    return "?";
}

void gmem_account(struct gmem *g, int64_t pages)
{
    g->stats.pages_now += (uint64_t)pages; /* unsigned wrap undoes an earlier add */
    if (g->stats.pages_now > g->stats.pages_peak)
        g->stats.pages_peak = g->stats.pages_now;
    if (g->stats.pages_now > g->stats.pages_peak_window)
        g->stats.pages_peak_window = g->stats.pages_now;
}

int gmem_init(struct gmem *g, enum gmem_mode mode, uint16_t domid, xengnttab_handle *gnt,
              xenforeignmemory_handle *fmem, uint64_t ram_base, uint64_t ram_size)
{
    memset(g, 0, sizeof(*g));
    g->mode = mode;
    g->domid = domid;
    if (gmem_mode_is_grant(mode)) {
        /* Grant mode keeps no foreign handle at all: there is nothing to misuse. */
        if (!gnt)
            return -EINVAL;
        g->gnt = gnt;
        return mode == GMEM_GRANT_COPY ? gmem_copy_init(g) : 0;
    }
    if (!fmem || ram_size == 0 || ram_base % VG_PAGE_SIZE || ram_size % VG_PAGE_SIZE ||
        ram_base + ram_size < ram_base)
        return -EINVAL;
    g->fmem = fmem;
    g->ram_base = ram_base;
    g->ram_size = ram_size;
    if (mode != GMEM_FOREIGN_PREMAP)
        return 0;

    size_t pages = ram_size / VG_PAGE_SIZE;
    xen_pfn_t *pfns = calloc(pages, sizeof(*pfns));
    int *errs = malloc(pages * sizeof(*errs));
    if (!pfns || !errs) {
        free(pfns);
        free(errs);
        return -ENOMEM;
    }
    for (size_t i = 0; i < pages; i++)
        pfns[i] = (ram_base >> VG_PAGE_SHIFT) + i;
    g->premap = xenforeignmemory_map(fmem, domid, PROT_READ | PROT_WRITE, pages, pfns, errs);
    int rc = g->premap ? 0 : -errno;
    for (size_t i = 0; g->premap && i < pages; i++)
        if (errs[i]) {
            rc = errs[i];
            break;
        }
    free(pfns);
    free(errs);
    if (rc < 0) {
        if (g->premap)
            xenforeignmemory_unmap(fmem, g->premap, pages);
        g->premap = NULL;
        vg_err("cannot map guest RAM 0x%llx+0x%llx: %s", (unsigned long long)ram_base,
               (unsigned long long)ram_size, strerror(-rc));
        return rc;
    }
    g->stats.map_calls++;
    g->stats.pages_mapped += pages;
    gmem_account(g, (int64_t)pages);
    return 0;
}

void gmem_fini(struct gmem *g)
{
    gmem_persist_flush(g);
    gmem_copy_fini(g);
    if (g->premap) {
        xenforeignmemory_unmap(g->fmem, g->premap, g->ram_size / VG_PAGE_SIZE);
        gmem_account(g, -(int64_t)(g->ram_size / VG_PAGE_SIZE));
    }
    g->premap = NULL;
}

struct buf_frames {
    uint64_t first; /* grant ref or gfn of the first page */
    uint32_t npages;
    uint32_t off;   /* offset in the first page */
};

/* Turn a ring address into frames, refusing anything the mode does not allow. */
static int buf_frames(const struct gmem *g, const struct gmem_buf *b, struct buf_frames *f)
{
    f->off = (uint32_t)(b->addr & (VG_PAGE_SIZE - 1));
    f->npages = b->len ? (uint32_t)(((uint64_t)f->off + b->len + VG_PAGE_SIZE - 1) >> VG_PAGE_SHIFT)
                       : 0;
    if (gmem_mode_is_grant(g->mode)) {
        /* Never a frame number: an address without the flag is a guest error. */
        if (!(b->addr & GMEM_GRANT_FLAG))
            return -EINVAL;
        f->first = (b->addr & ~GMEM_GRANT_FLAG) >> VG_PAGE_SHIFT;
        if (f->first > UINT32_MAX || (f->npages && f->first + f->npages - 1 > UINT32_MAX))
            return -EINVAL;
        return 0;
    }
    if (b->addr < g->ram_base || !vg_range_ok(b->addr - g->ram_base, b->len, g->ram_size))
        return -EFAULT;
    f->first = b->addr >> VG_PAGE_SHIFT;
    return 0;
}

/*
 * Map frames[0..total) (grant refs, or guest frame numbers in the foreign
 * modes) in one call, read-only unless writable.  -EFAULT: the guest had not
 * granted one of them, or it is not its memory.
 */
static int map_list(struct gmem *g, const uint64_t *frames, uint32_t total, bool writable,
                    uint8_t **base)
{
    uint32_t refs[GMEM_MAX_CHAIN_PAGES];
    xen_pfn_t pfns[GMEM_MAX_CHAIN_PAGES];
    int errs[GMEM_MAX_CHAIN_PAGES];
    if (total == 0 || total > GMEM_MAX_CHAIN_PAGES)
        return -E2BIG;
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    if (gmem_mode_is_grant(g->mode)) {
        for (uint32_t p = 0; p < total; p++)
            refs[p] = (uint32_t)frames[p];
        *base = xengnttab_map_domain_grant_refs(g->gnt, total, g->domid, refs, prot);
        if (!*base)
            return -EFAULT;
    } else {
        for (uint32_t p = 0; p < total; p++)
            pfns[p] = (xen_pfn_t)frames[p];
        *base = xenforeignmemory_map(g->fmem, g->domid, prot, total, pfns, errs);
        if (!*base)
            return -EFAULT;
        for (uint32_t p = 0; p < total; p++)
            if (errs[p]) {
                xenforeignmemory_unmap(g->fmem, *base, total);
                *base = NULL; /* gone: a caller cleaning up must not unmap it again */
                return -EFAULT;
            }
    }
    g->stats.map_calls++;
    g->stats.pages_mapped += total;
    gmem_account(g, total);
    return 0;
}

static void unmap_list(struct gmem *g, const struct gmem_mapping *map)
{
    if (gmem_mode_is_grant(g->mode))
        xengnttab_unmap(g->gnt, map->addr, map->pages);
    else
        xenforeignmemory_unmap(g->fmem, map->addr, map->pages);
    g->stats.unmap_calls++;
    gmem_account(g, -(int64_t)map->pages);
}

static int map_direction(struct gmem *g, const struct gmem_buf *bufs, unsigned n,
                         const struct buf_frames *f, bool writable, struct gmem_sg *sg)
{
    uint64_t frames[GMEM_MAX_CHAIN_PAGES];
    uint32_t first_page[GMEM_MAX_BUFS];
    uint32_t total = 0;

    for (unsigned i = 0; i < n; i++) {
        if (bufs[i].writable != writable)
            continue;
        first_page[i] = total;
        if (f[i].npages > GMEM_MAX_CHAIN_PAGES - total)
            return -E2BIG;
        for (uint32_t p = 0; p < f[i].npages; p++)
            frames[total + p] = f[i].first + p;
        total += f[i].npages;
    }
    if (total == 0)
        return 0;
    uint8_t *base;
    int rc = map_list(g, frames, total, writable, &base);
    if (rc < 0)
        return rc;
    sg->map[sg->nmaps++] = (struct gmem_mapping){ .addr = base, .pages = total };
    for (unsigned i = 0; i < n; i++)
        if (bufs[i].writable == writable && f[i].npages)
            sg->span[i].host = base + (size_t)first_page[i] * VG_PAGE_SIZE + f[i].off;
    return 0;
}

/* Check every address and lay out the spans; nothing is mapped yet. */
static int describe_bufs(const struct gmem *g, const struct gmem_buf *bufs, unsigned n,
                         struct buf_frames *f, struct gmem_sg *sg)
{
    sg->n = 0;
    sg->nmaps = 0;
    sg->data_pages = 0;
    sg->copy_pages = 0;
    if (n > GMEM_MAX_BUFS)
        return -E2BIG;
    for (unsigned i = 0; i < n; i++) {
        int rc = buf_frames(g, &bufs[i], &f[i]);
        if (rc < 0)
            return rc;
        sg->span[i] = (struct gmem_span){ .host = NULL, .len = bufs[i].len,
                                          .writable = bufs[i].writable, .pin = 0,
                                          .guest = bufs[i].addr };
        if (g->mode == GMEM_FOREIGN_PREMAP && bufs[i].len)
            sg->span[i].host = g->premap + (bufs[i].addr - g->ram_base);
    }
    return 0;
}

/* Map what describe_bufs laid out, both directions; nothing stays mapped on failure. */
static int map_described(struct gmem *g, const struct gmem_buf *bufs, unsigned n,
                         const struct buf_frames *f, struct gmem_sg *sg)
{
    sg->n = n;
    if (g->mode == GMEM_FOREIGN_PREMAP)
        return 0;
    int rc = map_direction(g, bufs, n, f, false, sg);
    if (rc == 0)
        rc = map_direction(g, bufs, n, f, true, sg);
    if (rc < 0)
        gmem_unmap(g, sg);
    return rc;
}

/* Per-request data maps of the chains in flight share one maximal chain's pages. */
static int map_data_bounded(struct gmem *g, const struct gmem_buf *bufs, unsigned n,
                            const struct buf_frames *f, struct gmem_sg *sg)
{
    uint64_t pages = 0;
    for (unsigned i = 0; i < n && g->mode != GMEM_FOREIGN_PREMAP; i++)
        pages += f[i].npages;
    if (pages > GMEM_MAX_CHAIN_PAGES)
        return -E2BIG;
    if (pages > GMEM_MAX_CHAIN_PAGES - g->data_pages)
        return -EBUSY; /* data_pages > 0: a chain is in flight */
    int rc = map_described(g, bufs, n, f, sg);
    if (rc == 0) {
        sg->data_pages = (uint32_t)pages;
        g->data_pages += (uint32_t)pages;
    }
    return rc;
}

static void unpin_spans(struct gmem *g, struct gmem_sg *sg, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        gmem_persist_unpin(g, sg->span[i].pin);
        sg->span[i].pin = 0;
    }
}

int gmem_map_data(struct gmem *g, const struct gmem_buf *bufs, unsigned n, struct gmem_sg *sg)
{
    struct buf_frames f[GMEM_MAX_BUFS];
    int rc = describe_bufs(g, bufs, n, f, sg);
    if (rc < 0)
        return rc;
    if (g->mode == GMEM_GRANT_COPY)
        return gmem_copy_in(g, bufs, n, sg);
    if (!g->persist.enabled)
        return map_data_bounded(g, bufs, n, f, sg);
    gmem_persist_begin(g);
    uint32_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!f[i].npages)
            continue;
        if (f[i].npages > GMEM_MAX_CHAIN_PAGES - total) {
            rc = -E2BIG;
        } else {
            total += f[i].npages;
            /* What a failed call left mapped stays valid: kept, or flushed on a reset. */
            uint8_t *base = gmem_persist_get(g, (uint32_t)f[i].first, f[i].npages,
                                             bufs[i].writable, &sg->span[i].pin, &rc);
            if (base)
                sg->span[i].host = base + f[i].off;
        }
        if (rc < 0) {
            unpin_spans(g, sg, i);
            return rc;
        }
    }
    sg->n = n;
    return 0;
}

int gmem_map_bufs(struct gmem *g, const struct gmem_buf *bufs, unsigned n, struct gmem_sg *sg)
{
    struct buf_frames f[GMEM_MAX_BUFS];
    int rc = describe_bufs(g, bufs, n, f, sg);
    return rc < 0 ? rc : map_described(g, bufs, n, f, sg);
}

uint32_t gmem_data_room(const struct gmem *g)
{
    return GMEM_MAX_CHAIN_PAGES - g->data_pages;
}

int gmem_data_pages(const struct gmem *g, const struct gmem_buf *bufs, unsigned n,
                    uint32_t *pages)
{
    uint64_t t = 0;
    if (n > GMEM_MAX_BUFS)
        return -E2BIG;
    for (unsigned i = 0; i < n; i++) {
        struct buf_frames f;
        int rc = buf_frames(g, &bufs[i], &f);
        if (rc < 0)
            return rc;
        t += f.npages;
    }
    if (t > GMEM_MAX_CHAIN_PAGES)
        return -E2BIG;
    *pages = (uint32_t)t;
    return 0;
}

/*
 * Each span's place in its direction's mapping is kept as a byte offset in
 * span.host until the mapping exists; then it becomes the address.
 */
int gmem_map_batch(struct gmem *g, const struct gmem_batch_chain *c, unsigned k,
                   struct gmem_batch *b)
{
    static uint64_t frames[2][GMEM_MAX_CHAIN_PAGES]; /* large; single-threaded */
    uint32_t total[2] = { 0, 0 };
    uint8_t *base[2] = { NULL, NULL };
    int rc = 0;
    memset(b, 0, sizeof(*b));
    if (!gmem_can_batch(g))
        return -EINVAL;
    for (unsigned j = 0; j < k && rc == 0; j++) {
        struct buf_frames f[GMEM_MAX_BUFS];
        rc = describe_bufs(g, c[j].bufs, c[j].n, f, c[j].sg);
        for (unsigned i = 0; i < c[j].n && rc == 0; i++) {
            unsigned d = c[j].bufs[i].writable;
            if (f[i].npages > GMEM_MAX_CHAIN_PAGES - total[0] - total[1]) {
                rc = -E2BIG;
                break;
            }
            c[j].sg->span[i].host =
                (uint8_t *)(uintptr_t)((size_t)total[d] * VG_PAGE_SIZE + f[i].off);
            for (uint32_t p = 0; p < f[i].npages; p++)
                frames[d][total[d] + p] = f[i].first + p;
            total[d] += f[i].npages;
        }
        c[j].sg->n = c[j].n;
    }
    if (rc == 0 && total[0] + total[1] > gmem_data_room(g))
        rc = -EBUSY;
    for (unsigned d = 0; d < 2 && rc == 0; d++)
        if (total[d])
            rc = map_list(g, frames[d], total[d], d, &base[d]);
    if (rc < 0) {
        if (base[0])
            unmap_list(g, &(struct gmem_mapping){ .addr = base[0], .pages = total[0] });
        for (unsigned j = 0; j < k; j++)
            c[j].sg->n = 0;
        return rc;
    }
    for (unsigned d = 0; d < 2; d++)
        if (total[d])
            b->map[b->nmaps++] = (struct gmem_mapping){ .addr = base[d], .pages = total[d] };
    for (unsigned j = 0; j < k; j++)
        for (unsigned i = 0; i < c[j].n; i++) {
            struct gmem_span *sp = &c[j].sg->span[i];
            sp->host = sp->len ? base[sp->writable] + (uintptr_t)sp->host : NULL;
        }
    b->data_pages = total[0] + total[1];
    g->data_pages += b->data_pages;
    return 0;
}

void gmem_unmap_batch(struct gmem *g, struct gmem_batch *b)
{
    for (unsigned i = 0; i < b->nmaps; i++)
        unmap_list(g, &b->map[i]);
    g->data_pages -= b->data_pages < g->data_pages ? b->data_pages : g->data_pages;
    memset(b, 0, sizeof(*b));
}

void gmem_unmap(struct gmem *g, struct gmem_sg *sg)
{
    for (unsigned i = 0; i < sg->nmaps; i++)
        unmap_list(g, &sg->map[i]);
    unpin_spans(g, sg, sg->n);
    gmem_copy_release(g, sg);
    g->data_pages -= sg->data_pages < g->data_pages ? sg->data_pages : g->data_pages;
    sg->data_pages = 0;
    sg->nmaps = 0;
    sg->n = 0;
}

int gmem_finish(struct gmem *g, struct gmem_sg *sg)
{
    int rc = sg->copy_pages ? gmem_copy_out(g, sg) : 0;
    gmem_unmap(g, sg);
    return rc;
}

int gmem_fetch(struct gmem *g, const struct gmem_buf *b, void *dst)
{
    struct buf_frames f;
    int rc = buf_frames(g, b, &f);
    if (rc < 0)
        return rc;
    if (g->mode == GMEM_GRANT_COPY)
        return b->len ? gmem_copy_fetch(g, b, dst) : 0;
    static struct gmem_sg sg; /* large; the backend is single-threaded */
    /* A pool driver bounces its tables too: they may stay mapped. */
    rc = gmem_map_data(g, b, 1, &sg);
    if (rc == -EBUSY)
        rc = gmem_map_bufs(g, b, 1, &sg);
    if (rc < 0)
        return rc;
    rc = gmem_span_read(&sg.span[0], 0, dst, b->len);
    gmem_unmap(g, &sg);
    return rc;
}
