/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "gmem/copy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xen/grant_table.h>

#include "common/checked.h"
#include "common/log.h"

#define ARENA_BYTES ((size_t)GMEM_MAX_CHAIN_PAGES * VG_PAGE_SIZE)
/* Spans start on cache lines: a header, its data and a status byte share a page or two. */
#define SPAN_ALIGN 64u

int gmem_copy_init(struct gmem *g)
{
    g->copy.arena = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1, 0);
    g->copy.segs = calloc(GMEM_MAX_CHAIN_PAGES, sizeof(*g->copy.segs));
    if (g->copy.arena == MAP_FAILED || !g->copy.segs) {
        if (g->copy.arena == MAP_FAILED)
            g->copy.arena = NULL;
        gmem_copy_fini(g);
        return -ENOMEM;
    }
    return 0;
}

void gmem_copy_fini(struct gmem *g)
{
    if (g->copy.arena)
        munmap(g->copy.arena, ARENA_BYTES);
    free(g->copy.segs);
    g->copy.arena = NULL;
    g->copy.segs = NULL;
}

static bool page_used(const struct gmem_copy *c, uint32_t p)
{
    return c->used[p / 8] & (1u << (p % 8));
}

static void mark(struct gmem_copy *c, uint32_t first, uint32_t n, bool used)
{
    for (uint32_t p = first; p < first + n; p++) {
        if (used)
            c->used[p / 8] |= (uint8_t)(1u << (p % 8));
        else
            c->used[p / 8] &= (uint8_t)~(1u << (p % 8));
    }
}

/* First fit: the first free run of n pages, or -1. */
static int64_t find_run(const struct gmem_copy *c, uint32_t n)
{
    uint32_t run = 0;
    for (uint32_t p = 0; p < GMEM_MAX_CHAIN_PAGES; p++) {
        run = page_used(c, p) ? 0 : run + 1;
        if (run == n)
            return (int64_t)p + 1 - n;
    }
    return -1;
}

/* One segment per guest page a span touches (a segment may not leave its page). */
static unsigned add_segments(struct gmem *g, unsigned k, const struct gmem_span *s, bool to_guest)
{
    uint64_t ref0 = (s->guest & ~GMEM_GRANT_FLAG) >> VG_PAGE_SHIFT;
    uint32_t off0 = (uint32_t)(s->guest & (VG_PAGE_SIZE - 1));
    for (uint32_t pos = 0; pos < s->len;) {
        uint64_t at = (uint64_t)off0 + pos;
        uint32_t in_page = (uint32_t)(at & (VG_PAGE_SIZE - 1));
        uint32_t chunk = VG_PAGE_SIZE - in_page;
        if (chunk > s->len - pos)
            chunk = s->len - pos;
        struct xengnttab_grant_copy_segment *seg = &g->copy.segs[k++];
        memset(seg, 0, sizeof(*seg));
        if (to_guest) {
            seg->source.virt = s->host + pos;
            seg->dest.foreign.ref = (uint32_t)(ref0 + (at >> VG_PAGE_SHIFT));
            seg->dest.foreign.offset = (uint16_t)in_page;
            seg->dest.foreign.domid = g->domid;
            seg->flags = GNTCOPY_dest_gref;
        } else {
            seg->dest.virt = s->host + pos;
            seg->source.foreign.ref = (uint32_t)(ref0 + (at >> VG_PAGE_SHIFT));
            seg->source.foreign.offset = (uint16_t)in_page;
            seg->source.foreign.domid = g->domid;
            seg->flags = GNTCOPY_source_gref;
        }
        seg->len = (uint16_t)chunk;
        pos += chunk;
    }
    return k;
}

/* Copy every span of one direction in one call; each segment's status must be okay. */
static int copy_direction(struct gmem *g, const struct gmem_sg *sg, bool to_guest)
{
    unsigned k = 0;
    uint64_t bytes = 0;
    for (unsigned i = 0; i < sg->n; i++) {
        if (sg->span[i].writable != to_guest || sg->span[i].len == 0)
            continue;
        /* describe_bufs bounded the pages, so the segments fit */
        k = add_segments(g, k, &sg->span[i], to_guest);
        bytes += sg->span[i].len;
    }
    if (k == 0)
        return 0;
    g->stats.copy_calls++;
    if (xengnttab_grant_copy(g->gnt, k, g->copy.segs) < 0) {
        vg_warn("grant copy: %s", strerror(errno));
        return -EFAULT;
    }
    for (unsigned i = 0; i < k; i++)
        if (g->copy.segs[i].status != GNTST_okay)
            return -EFAULT;
    g->stats.copy_bytes += bytes;
    return 0;
}

int gmem_copy_in(struct gmem *g, const struct gmem_buf *bufs, unsigned n, struct gmem_sg *sg)
{
    uint64_t bytes = 0, pages_touched = 0;
    for (unsigned i = 0; i < n; i++) {
        uint32_t off = (uint32_t)(bufs[i].addr & (VG_PAGE_SIZE - 1));
        pages_touched += ((uint64_t)off + bufs[i].len + VG_PAGE_SIZE - 1) / VG_PAGE_SIZE;
        bytes = (bytes + SPAN_ALIGN - 1) / SPAN_ALIGN * SPAN_ALIGN + bufs[i].len;
    }
    uint64_t pages = (bytes + VG_PAGE_SIZE - 1) / VG_PAGE_SIZE;
    if (pages > GMEM_MAX_CHAIN_PAGES || pages_touched > GMEM_MAX_CHAIN_PAGES)
        return -E2BIG;
    int64_t first = pages ? find_run(&g->copy, (uint32_t)pages) : 0;
    if (first < 0)
        return g->copy.pages_used ? -EBUSY : -E2BIG;
    mark(&g->copy, (uint32_t)first, (uint32_t)pages, true);
    g->copy.pages_used += (uint32_t)pages;
    sg->copy_first = (uint32_t)first;
    sg->copy_pages = (uint32_t)pages;
    uint8_t *base = g->copy.arena + (size_t)first * VG_PAGE_SIZE;
    uint64_t at = 0;
    for (unsigned i = 0; i < n; i++) {
        at = (at + SPAN_ALIGN - 1) / SPAN_ALIGN * SPAN_ALIGN;
        sg->span[i].host = base + at;
        /* No byte of an earlier request reaches the guest through a short write. */
        if (sg->span[i].writable)
            memset(sg->span[i].host, 0, sg->span[i].len);
        at += bufs[i].len;
    }
    sg->n = n;
    int rc = copy_direction(g, sg, false);
    if (rc < 0) {
        gmem_copy_release(g, sg);
        sg->n = 0;
    }
    return rc;
}

int gmem_copy_fetch(struct gmem *g, const struct gmem_buf *b, void *dst)
{
    struct gmem_sg one = { .n = 1 };
    one.span[0] = (struct gmem_span){ .host = dst, .len = b->len, .writable = false,
                                      .guest = b->addr };
    return copy_direction(g, &one, false);
}

int gmem_copy_out(struct gmem *g, const struct gmem_sg *sg)
{
    return copy_direction(g, sg, true);
}

void gmem_copy_release(struct gmem *g, struct gmem_sg *sg)
{
    if (sg->copy_pages) {
        mark(&g->copy, sg->copy_first, sg->copy_pages, false);
        g->copy.pages_used -= sg->copy_pages;
    }
    sg->copy_pages = 0;
}
