/* SPDX-License-Identifier: MIT */
/*
 * What the analysed code calls outside itself, for Frama-C's EVA: the Xen
 * libraries and the log.  Each model returns what the real one may return,
 * and every byte it hands over is unknown: mapped guest pages hold whatever
 * the guest wrote.  Only for `make prove`; never linked into a binary.
 */
#include "prove_env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "__fc_builtin.h"
#include "common/checked.h"
#include "common/log.h"

/* Guest pages: fresh memory of exactly the mapped size, every byte unknown. */
static void *guest_pages(uint32_t count)
{
    if (Frama_C_nondet(0, 1))
        return NULL; /* a ref not granted, a frame not the guest's */
    uint8_t *p = malloc((size_t)count * VG_PAGE_SIZE);
    if (p)
        Frama_C_make_unknown((char *)p, (size_t)count * VG_PAGE_SIZE);
    return p;
}

void *xengnttab_map_domain_grant_refs(xengnttab_handle *xgt, uint32_t count, uint32_t domid,
                                      uint32_t *refs, int prot)
{
    (void)xgt;
    (void)domid;
    (void)refs;
    (void)prot;
    return guest_pages(count);
}

int xengnttab_unmap(xengnttab_handle *xgt, void *start_address, uint32_t count)
{
    (void)xgt;
    (void)count;
    free(start_address);
    return 0;
}

int xengnttab_grant_copy(xengnttab_handle *xgt, uint32_t count,
                         xengnttab_grant_copy_segment_t *segs)
{
    (void)xgt;
    for (uint32_t i = 0; i < count; i++) {
        /* from the guest: len bytes land in the private side; to it: read only */
        if (segs[i].flags & GNTCOPY_source_gref)
            Frama_C_make_unknown((char *)segs[i].dest.virt, segs[i].len);
        segs[i].status = (int16_t)Frama_C_interval(-12, 0);
    }
    return Frama_C_nondet(0, -1);
}

void *xenforeignmemory_map(xenforeignmemory_handle *fmem, uint32_t dom, int prot, size_t pages,
                           const xen_pfn_t arr[], int err[])
{
    (void)fmem;
    (void)dom;
    (void)prot;
    (void)arr;
    void *p = guest_pages((uint32_t)pages);
    for (size_t i = 0; p && i < pages; i++)
        err[i] = Frama_C_nondet(0, -EFAULT);
    return p;
}

int xenforeignmemory_unmap(xenforeignmemory_handle *fmem, void *addr, size_t pages)
{
    (void)fmem;
    (void)pages;
    free(addr);
    return 0;
}

/* The log formats nothing here: it is not what is being proved. */
void vg_log(enum vg_log_level level, const char *fmt, ...)
{
    (void)level;
    (void)fmt;
}

void vg_log_guest(const char *fmt, ...)
{
    (void)fmt;
}

enum vg_log_level vg_log_level(void)
{
    return VG_LOG_ERROR;
}

uint64_t prove_u64(void)
{
    uint64_t hi = (uint32_t)Frama_C_unsigned_int_interval(0, UINT32_MAX);
    uint64_t lo = (uint32_t)Frama_C_unsigned_int_interval(0, UINT32_MAX);
    return hi << 32 | lo;
}

uint32_t prove_u32(void)
{
    return Frama_C_unsigned_int_interval(0, UINT32_MAX);
}

uint16_t prove_u16(void)
{
    return (uint16_t)Frama_C_unsigned_int_interval(0, UINT16_MAX);
}

bool prove_bool(void)
{
    return Frama_C_nondet(0, 1);
}

void prove_scribble(void *p, size_t len)
{
    Frama_C_make_unknown((char *)p, len);
}
