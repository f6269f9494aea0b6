/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "gmem/persist.h"

#include <errno.h>
#include <sys/mman.h>

void gmem_persist_enable(struct gmem *g, bool on)
{
    if (!on)
        gmem_persist_flush(g);
    /* Foreign mappings of guest frames are never kept: that mode is for comparison only. */
    g->persist.enabled = on && g->mode == GMEM_GRANT;
}

static void drop(struct gmem *g, struct gmem_persist_entry *e)
{
    xengnttab_unmap(g->gnt, e->addr, e->npages);
    g->stats.unmap_calls++;
    g->persist.pages -= e->npages;
    e->addr = NULL;
}

void gmem_persist_flush(struct gmem *g)
{
    for (unsigned i = 0; i < GMEM_PERSIST_ENTRIES; i++)
        if (g->persist.e[i].addr)
            drop(g, &g->persist.e[i]);
}

void gmem_persist_begin(struct gmem *g)
{
    g->persist.tick++;
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
            if (e->addr && e->last_use != p->tick && (!lru || e->last_use < lru->last_use))
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

uint8_t *gmem_persist_get(struct gmem *g, uint32_t first, uint32_t npages, bool writable,
                          int *rc)
{
    struct gmem_persist *p = &g->persist;
    struct gmem_persist_entry *free_e = NULL;
    for (unsigned i = 0; i < GMEM_PERSIST_ENTRIES; i++) {
        struct gmem_persist_entry *e = &p->e[i];
        if (!e->addr) {
            if (!free_e)
                free_e = e;
        } else if (e->first_ref == first && e->npages == npages && e->writable == writable) {
            e->last_use = p->tick;
            g->stats.persist_hits++;
            return e->addr;
        }
    }
    g->stats.persist_misses++;
    if (npages == 0 || npages > GMEM_PERSIST_PAGES || !(free_e = make_room(g, free_e, npages))) {
        *rc = -E2BIG;
        return NULL;
    }
    uint32_t refs[GMEM_PERSIST_PAGES];
    for (uint32_t k = 0; k < npages; k++)
        refs[k] = first + k;
    uint8_t *a = xengnttab_map_domain_grant_refs(g->gnt, npages, g->domid, refs,
                                                 PROT_READ | (writable ? PROT_WRITE : 0));
    if (!a) {
        *rc = -EFAULT;
        return NULL;
    }
    g->stats.map_calls++;
    g->stats.pages_mapped += npages;
    *free_e = (struct gmem_persist_entry){ .addr = a, .first_ref = first, .npages = npages,
                                           .writable = writable, .last_use = p->tick };
    p->pages += npages;
    return a;
}
