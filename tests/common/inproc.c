/* SPDX-License-Identifier: MIT */
#include "inproc.h"

#include <string.h>

int inproc_up(struct inproc *ip)
{
    memset(ip, 0, sizeof(*ip));
    if (sim_env_init(&ip->env) < 0)
        return -1;
    struct simdom_params p = { .domid = IP_DOMID, .nr_vcpus = 1, .ram_size = 16u << 20,
                               .nr_grants = 4096 };
    ip->d = simdom_create(&p);
    ip->gnt = xengnttab_open(NULL, 0);
    if (!ip->d || !ip->gnt || xengnttab_set_max_grants(ip->gnt, 4096) < 0)
        return -1;
    return gmem_init(&ip->g, GMEM_GRANT, IP_DOMID, ip->gnt, NULL, 0, 0);
}

void inproc_down(struct inproc *ip)
{
    gmem_fini(&ip->g);
    xengnttab_close(ip->gnt);
    simdom_destroy(ip->d);
    sim_env_fini(&ip->env);
}

uint64_t inproc_grant(struct inproc *ip, uint32_t npages, bool readonly, uint8_t **host)
{
    uint64_t gpa = simdom_alloc_pages(ip->d, npages);
    if (!gpa)
        return 0;
    *host = simdom_gpa(ip->d, gpa, (size_t)npages * 4096);
    memset(*host, 0, (size_t)npages * 4096);
    int64_t ref = simdom_grant_range(ip->d, gpa, npages, readonly);
    if (ref < 0)
        return 0;
    return (1ull << 63) | ((uint64_t)ref << 12);
}

uint64_t inproc_dma(uint64_t base_dma, uint64_t offset)
{
    return base_dma + (offset & ~4095ull) + (offset & 4095);
}
