/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "gmem/persist.h"

#include "common/checked.h"

#include <errno.h>
#include <sys/mman.h>

void gmem_persist_enable(struct gmem *g, bool on)
{
    if (!on)
        gmem_persist_flush(g);
    /* Foreign mappings of guest frames are never kept: that mode is for comparison only. */
    g->persist.enabled = on && g->mode == GMEM_GRANT;
}

_Static_assert(GMEM_POOL_MAX_PAGES <= GMEM_PERSIST_PAGES, "map_run's refs hold a pool");

/* Map refs [first, first + n) in one call, counted; NULL if one is not ours. */
static uint8_t *map_run(struct gmem *g, uint32_t first, uint32_t n, bool writable)
{
    uint32_t refs[GMEM_PERSIST_PAGES];
    for (uint32_t k = 0; k < n; k++)
        refs[k] = first + k;
    uint8_t *a = xengnttab_map_domain_grant_refs(g->gnt, n, g->domid, refs,
                                                 PROT_READ | (writable ? PROT_WRITE : 0));
    if (a) {
        g->stats.map_calls++;
        g->stats.pages_mapped += n;
        gmem_account(g, n);
    }
    return a;
}

static void unmap_run(struct gmem *g, uint8_t *addr, uint32_t n)
{
    xengnttab_unmap(g->gnt, addr, n);
    g->stats.unmap_calls++;
    gmem_account(g, -(int64_t)n);
}

static void drop(struct gmem *g, struct gmem_persist_entry *e)
{
    unmap_run(g, e->addr, e->npages);
    g->persist.pages -= e->npages;
    e->addr = NULL;
}

/* Only once nothing is in flight (the transport drains first): no pin is left. */
void gmem_persist_flush(struct gmem *g)
{
    struct gmem_persist *p = &g->persist;
    for (unsigned i = 0; i < GMEM_PERSIST_ENTRIES; i++)
        if (p->e[i].addr)
            drop(g, &p->e[i]);
    p->seen_hi = 0;
    if (p->pool) {
        unmap_run(g, p->pool, p->pool_npages);
        p->pool = NULL;
    }
}

int gmem_pool_announce(struct gmem *g, uint64_t addr, uint32_t npages)
{
    struct gmem_persist *p = &g->persist;
    if (!p->enabled || !(addr & GMEM_GRANT_FLAG) || (addr & (VG_PAGE_SIZE - 1)) ||
        npages == 0 || npages > GMEM_POOL_MAX_PAGES)
        return -EINVAL;
    uint64_t first = (addr & ~GMEM_GRANT_FLAG) >> VG_PAGE_SHIFT;
    if (first > UINT32_MAX || npages - 1 > UINT32_MAX - first)
        return -EINVAL;
    if (p->pool)
        return -EALREADY;
    uint8_t *a = map_run(g, (uint32_t)first, npages, true);
    if (!a)
        return -EFAULT;
    p->pool = a;
    p->pool_first = (uint32_t)first;
    p->pool_npages = npages;
    return 0;
}

/* Do refs [first, first + npages) lie inside the pool?  npages > 0; no wrap. */
static bool in_pool(const struct gmem_persist *p, uint64_t first, uint64_t npages)
{
    return first >= p->pool_first && npages <= p->pool_npages &&
           first - p->pool_first <= p->pool_npages - npages;
}

bool gmem_pool_overlaps(const struct gmem *g, const struct gmem_buf *b)
{
    const struct gmem_persist *p = &g->persist;
    if (!p->pool || !(b->addr & GMEM_GRANT_FLAG) || b->len == 0)
        return false;
    uint64_t a = b->addr & ~GMEM_GRANT_FLAG; /* below 2^63: no overflow */
    uint64_t first = a >> VG_PAGE_SHIFT;
    uint64_t last = (a + b->len - 1) >> VG_PAGE_SHIFT;
    return first < (uint64_t)p->pool_first + p->pool_npages && last >= p->pool_first;
}

void gmem_persist_begin(struct gmem *g)
{
    g->persist.tick++;
    g->persist.call_pins = 0;
}

void gmem_persist_unpin(struct gmem *g, uint16_t pin)
{
    struct gmem_persist *p = &g->persist;
    if (pin == 0 || pin > GMEM_PERSIST_ENTRIES || p->e[pin - 1].pins == 0)
        return;
    p->e[pin - 1].pins--;
    p->pins--;
}

static uint8_t *pinned(struct gmem *g, struct gmem_persist_entry *e, uint16_t *pin)
{
    e->pins++;
    g->persist.pins++;
    g->persist.call_pins++;
    *pin = (uint16_t)(e - g->persist.e + 1);
    return e->addr;
}

/* Free an entry and pages for npages more, sparing what this map call uses. */
static struct gmem_persist_entry *make_room(struct gmem *g, struct gmem_persist_entry *free_e,
                                            uint32_t npages)
{
    struct gmem_persist *p = &g->persist;
    while (!free_e || p->pages + npages > GMEM_PERSIST_PAGES) {
        struct gmem_persist_entry *lru = NULL;
        for (unsigned i = 0; i < GMEM_PERSIST_ENTRIES; i++) {
            struct gmem_persist_entry *e = &p->e[i];
            if (e->addr && e->last_use != p->tick && e->pins == 0 &&
                (!lru || e->last_use < lru->last_use))
                lru = e;
        }
        if (!lru)
            return NULL;
        drop(g, lru);
        g->stats.persist_evictions++;
        if (!free_e)
            free_e = lru;
    }
    return free_e;
}

/* Map refs [first, first + n) into *slot, or an entry evicted to make room. */
static int keep(struct gmem *g, struct gmem_persist_entry **slot, uint32_t first, uint32_t n,
                bool writable)
{
    struct gmem_persist_entry *e = make_room(g, *slot, n);
    if (!e)
        return g->persist.pins > g->persist.call_pins ? -EBUSY : -E2BIG;
    *slot = e; /* free now, whatever happens next */
    uint8_t *a = map_run(g, first, n, writable);
    if (!a)
        return -EFAULT;
    *e = (struct gmem_persist_entry){ .addr = a, .first_ref = first, .npages = n,
                                      .writable = writable, .pins = 0,
                                      .last_use = g->persist.tick };
    g->persist.pages += n;
    return 0;
}

/* Does e hold refs [first, first + npages) for this direction? */
static bool holds(const struct gmem_persist_entry *e, uint32_t first, uint32_t npages,
                  bool writable)
{
    return e->addr && first >= e->first_ref && first - e->first_ref <= e->npages &&
           npages <= e->npages - (first - e->first_ref) && (e->writable || !writable);
}

uint8_t *gmem_persist_get(struct gmem *g, uint32_t first, uint32_t npages, bool writable,
                          uint16_t *pin, int *rc)
{
    struct gmem_persist *p = &g->persist;
    if (p->pool) {
        /* Announced: nothing outside it is a buffer, and nothing more is mapped. */
        if (npages == 0 || !in_pool(p, first, npages)) {
            *rc = -EACCES;
            return NULL;
        }
        *pin = 0; /* the pool lives until the reset, whatever is in flight */
        g->stats.persist_hits++;
        return p->pool + (size_t)(first - p->pool_first) * VG_PAGE_SIZE;
    }
    struct gmem_persist_entry *free_e = NULL;
    for (unsigned i = 0; i < GMEM_PERSIST_ENTRIES; i++) {
        struct gmem_persist_entry *e = &p->e[i];
        if (!e->addr) {
            if (!free_e)
                free_e = e;
        } else if (holds(e, first, npages, writable)) {
            e->last_use = p->tick;
            g->stats.persist_hits++;
            return pinned(g, e, pin) + (size_t)(first - e->first_ref) * VG_PAGE_SIZE;
        }
    }
    g->stats.persist_misses++;
    if (npages == 0 || npages > GMEM_PERSIST_PAGES) {
        *rc = -E2BIG;
        return NULL;
    }
    uint64_t end = (uint64_t)first + npages; /* describe_bufs: refs do not wrap */
    if (p->seen_hi == 0 || p->seen_lo > first)
        p->seen_lo = first;
    if (p->seen_hi < end)
        p->seen_hi = end;
    uint64_t lo = first & ~(uint64_t)(GMEM_PERSIST_CHUNK - 1);
    uint64_t hi = (end + GMEM_PERSIST_CHUNK - 1) & ~(uint64_t)(GMEM_PERSIST_CHUNK - 1);
    if (lo < p->seen_lo)
        lo = p->seen_lo;
    if (hi > p->seen_hi)
        hi = p->seen_hi;
    /* Read-write serves both directions; a chunk with a ref that is not ours fails whole. */
    if (hi - lo > npages && hi - lo <= GMEM_PERSIST_PAGES &&
        keep(g, &free_e, (uint32_t)lo, (uint32_t)(hi - lo), true) == 0)
        return pinned(g, free_e, pin) + (size_t)(first - lo) * VG_PAGE_SIZE;
    *rc = keep(g, &free_e, first, npages, writable);
    return *rc ? NULL : pinned(g, free_e, pin);
}
