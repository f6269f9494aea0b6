/* SPDX-License-Identifier: MIT */
/*
 * vg-xenprobe: what a domain may do to another through Xen, asked directly.
 * It runs as root with fresh library handles and no seccomp, which is more
 * than a compromised backend with --sandbox=off holds, so that whatever it
 * is refused, Xen (the XSM/FLASK policy), not the jail, refused.
 *
 *   vg-xenprobe foreign-map DOMID GFN   map one guest frame (privcmd)
 *   vg-xenprobe grant-map DOMID REF     map one grant of DOMID (gntdev)
 *   vg-xenprobe ioreq-server DOMID      create (then destroy) an ioreq server
 *   vg-xenprobe grant-table DOMID       map DOMID's grant table frame 0
 *                                       (XENMEM_acquire_resource)
 *   vg-xenprobe grant-forge DOMID GFN SELF REF
 *                                       through that mapping, write grant REF
 *                                       (unused) of DOMID as a read-only grant
 *                                       of frame GFN to domain SELF, map it,
 *                                       then revoke it: guest RAM by frame
 *                                       number, reached through the grant table
 *
 * Prints one "PROBE" line.  Exit status: 0 the operation succeeded, 3 Xen
 * (or the kernel on its behalf) refused it (the line gives the errno), 4 it
 * could not be tried here (a device node would not open), 2 bad usage.
 */
#define _GNU_SOURCE
#define __XEN_TOOLS__ 1 /* the ioreq server flags are a tools interface */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xendevicemodel.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xen/hvm/hvm_op.h>
#include <xen/memory.h>

#define ST_OK 0
#define ST_USAGE 2
#define ST_REFUSED 3
#define ST_LOCAL 4

static int cannot_try(const char *what, unsigned domid, int err)
{
    printf("PROBE %s dom%u: not tried: %s (errno %d)\n", what, domid, strerror(err), err);
    return ST_LOCAL;
}

static int refused(const char *what, unsigned domid, int err)
{
    printf("PROBE %s dom%u: refused: %s (errno %d)\n", what, domid, strerror(err), err);
    return ST_REFUSED;
}

static int foreign_map(unsigned domid, uint64_t gfn)
{
    xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
    if (!fm)
        return cannot_try("foreign-map", domid, errno);
    xen_pfn_t pfn = (xen_pfn_t)gfn;
    int err = 0;
    void *p = xenforeignmemory_map(fm, (uint32_t)domid, PROT_READ, 1, &pfn, &err);
    int rc;
    if (!p || err) {
        rc = refused("foreign-map", domid, p ? -err : errno);
    } else {
        printf("PROBE foreign-map dom%u: SUCCEEDED: gfn 0x%" PRIx64 " mapped, first word 0x%" PRIx64
               "\n", domid, gfn, *(volatile uint64_t *)p);
        rc = ST_OK;
    }
    if (p)
        xenforeignmemory_unmap(fm, p, 1);
    xenforeignmemory_close(fm);
    return rc;
}

static int grant_map(unsigned domid, uint32_t ref)
{
    xengnttab_handle *g = xengnttab_open(NULL, 0);
    if (!g)
        return cannot_try("grant-map", domid, errno);
    void *p = xengnttab_map_grant_ref(g, (uint32_t)domid, ref, PROT_READ);
    int rc;
    if (!p) {
        rc = refused("grant-map", domid, errno);
    } else {
        printf("PROBE grant-map dom%u: SUCCEEDED: ref %u mapped, first word 0x%" PRIx64 "\n",
               domid, ref, *(volatile uint64_t *)p);
        xengnttab_unmap(g, p, 1);
        rc = ST_OK;
    }
    xengnttab_close(g);
    return rc;
}

static int ioreq_server(unsigned domid)
{
    xendevicemodel_handle *dm = xendevicemodel_open(NULL, 0);
    if (!dm)
        return cannot_try("ioreq-server", domid, errno);
    ioservid_t id;
    int rc;
    if (xendevicemodel_create_ioreq_server(dm, (domid_t)domid, HVM_IOREQSRV_BUFIOREQ_OFF, &id)) {
        rc = refused("ioreq-server", domid, errno);
    } else {
        printf("PROBE ioreq-server dom%u: SUCCEEDED: server %u created (destroyed again)\n",
               domid, id);
        xendevicemodel_destroy_ioreq_server(dm, (domid_t)domid, id);
        rc = ST_OK;
    }
    xendevicemodel_close(dm);
    return rc;
}

static int grant_table(unsigned domid)
{
    xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
    if (!fm)
        return cannot_try("grant-table", domid, errno);
    void *p = NULL;
    xenforeignmemory_resource_handle *r = xenforeignmemory_map_resource(
        fm, (domid_t)domid, XENMEM_resource_grant_table, XENMEM_resource_grant_table_id_shared,
        0, 1, &p, PROT_READ, 0);
    int rc;
    if (!r) {
        rc = refused("grant-table", domid, errno);
    } else {
        /* v1 entries: flags (16), domid (16), frame (32); entry 1 is xenstore's. */
        const volatile uint16_t *e = p;
        printf("PROBE grant-table dom%u: SUCCEEDED: frame 0 mapped, entry 1 flags 0x%x "
               "domid %u\n", domid, e[4], e[5]);
        xenforeignmemory_unmap_resource(fm, r);
        rc = ST_OK;
    }
    xenforeignmemory_close(fm);
    return rc;
}

/*
 * What resource_map on a guest amounts to: its grant table is writable, so
 * the mapper can grant itself any of the guest's frames.  Only an unused
 * entry is touched, and it is cleared again.
 */
static int grant_forge(unsigned domid, uint64_t gfn, unsigned self, uint32_t ref)
{
    struct entry {
        uint16_t flags, domid;
        uint32_t frame;
    };
    const char *what = "grant-forge";
    if (ref >= 4096 / sizeof(struct entry) || gfn > UINT32_MAX) {
        fprintf(stderr, "vg-xenprobe: REF must lie in grant frame 0, GFN below 2^32\n");
        return ST_USAGE;
    }
    xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
    xengnttab_handle *g = xengnttab_open(NULL, 0);
    if (!fm || !g)
        return cannot_try(what, domid, errno);
    void *p = NULL;
    xenforeignmemory_resource_handle *r = xenforeignmemory_map_resource(
        fm, (domid_t)domid, XENMEM_resource_grant_table, XENMEM_resource_grant_table_id_shared,
        0, 1, &p, PROT_READ | PROT_WRITE, 0);
    if (!r)
        return refused("grant-forge (writable grant table)", domid, errno);
    volatile struct entry *e = (volatile struct entry *)p + ref;
    if (e->flags) {
        printf("PROBE %s dom%u: not tried: ref %u is in use (flags 0x%x)\n", what, domid, ref,
               e->flags);
        return ST_LOCAL;
    }
    e->domid = (uint16_t)self;
    e->frame = (uint32_t)gfn;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    e->flags = 1 /* GTF_permit_access */ | 4 /* GTF_readonly */;
    void *m = xengnttab_map_grant_ref(g, (uint32_t)domid, ref, PROT_READ);
    int rc;
    if (!m) {
        rc = refused(what, domid, errno);
    } else {
        printf("PROBE %s dom%u: SUCCEEDED: ref %u forged for gfn 0x%" PRIx64 " and mapped, "
               "first word 0x%" PRIx64 "\n", what, domid, ref, gfn, *(volatile uint64_t *)m);
        xengnttab_unmap(g, m, 1);
        rc = ST_OK;
    }
    e->flags = 0;
    xenforeignmemory_unmap_resource(fm, r);
    xenforeignmemory_close(fm);
    xengnttab_close(g);
    return rc;
}

static int number(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (!*s || *end || errno || v > max)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t domid, arg = 0, self = 0, ref = 0;
    if (argc < 3 || number(argv[2], 0x7fef, &domid) < 0 ||
        (argc >= 4 && number(argv[3], UINT64_MAX, &arg) < 0) ||
        (argc == 6 && (number(argv[4], 0x7fef, &self) < 0 || number(argv[5], 511, &ref) < 0)) ||
        argc == 5 || argc > 6)
        goto usage;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(argv[1], "foreign-map") && argc == 4)
        return foreign_map((unsigned)domid, arg);
    if (!strcmp(argv[1], "grant-map") && argc == 4 && arg <= UINT32_MAX)
        return grant_map((unsigned)domid, (uint32_t)arg);
    if (!strcmp(argv[1], "ioreq-server") && argc == 3)
        return ioreq_server((unsigned)domid);
    if (!strcmp(argv[1], "grant-table") && argc == 3)
        return grant_table((unsigned)domid);
    if (!strcmp(argv[1], "grant-forge") && argc == 6)
        return grant_forge((unsigned)domid, arg, (unsigned)self, (uint32_t)ref);
usage:
    fprintf(stderr, "usage: vg-xenprobe foreign-map DOMID GFN | grant-map DOMID REF |\n"
                    "                   ioreq-server DOMID | grant-table DOMID |\n"
                    "                   grant-forge DOMID GFN SELF REF\n");
    return ST_USAGE;
}
