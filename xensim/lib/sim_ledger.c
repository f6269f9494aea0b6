/* SPDX-License-Identifier: MIT */
/*
 * Who holds which grant mapped, so that a process's death releases its
 * mappings as gntdev's release does (see sim_internal.h).  One file per
 * handle: "ledger-<pid>-<n>", a header naming the domain, then per grant
 * ref the read and the write pins this process holds.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim_internal.h"

struct ledger_file {
    uint32_t domid_plus1; /* 0: nothing mapped yet; the simulator maps one domain per handle */
    uint32_t pad;
    uint16_t readers[XENSIM_LEDGER_REFS];
    uint16_t writers[XENSIM_LEDGER_REFS];
};

struct xensim_ledger {
    struct ledger_file *f;
};

/* One less, never below 0; true when this took the last one. */
static bool drop_one(_Atomic uint32_t *c)
{
    uint32_t v = atomic_load(c);
    while (v && !atomic_compare_exchange_weak(c, &v, v - 1))
        ;
    return v == 1;
}

/*
 * Saturating: a process killed between its unpin and its ledger entry
 * leaves one pin more in the ledger than it holds, and releasing that must
 * not wrap the count (it may take a live mapper's pin: the only inexactness,
 * two adjacent statements wide).
 */
void xensim_unpin(struct xensim_dom *d, uint32_t ref, int writable)
{
    struct xensim_pin *p = &d->pins[ref];
    _Atomic uint16_t *flags = (_Atomic uint16_t *)&d->gnttab[ref].flags;
    if (drop_one(&p->readers))
        atomic_fetch_and(flags, (uint16_t)~GTF_reading);
    if (writable && drop_one(&p->writers))
        atomic_fetch_and(flags, (uint16_t)~GTF_writing);
}

struct xensim_ledger *xensim_ledger_open(void)
{
    static unsigned seq;
    char path[300];
    snprintf(path, sizeof(path), "%s/ledger-%d-%u", xensim_dir(), (int)getpid(), seq++);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    struct xensim_ledger *l = malloc(sizeof(*l));
    void *p = MAP_FAILED;
    if (l && ftruncate(fd, sizeof(struct ledger_file)) == 0)
        p = mmap(NULL, sizeof(struct ledger_file), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd); /* the mapping is what is written: no fd, no path after set-up */
    if (p == MAP_FAILED) {
        free(l);
        unlink(path);
        return NULL;
    }
    l->f = p;
    return l;
}

void xensim_ledger_close(struct xensim_ledger *l)
{
    if (!l)
        return;
    /* Everything was unmapped; the file goes with the next reap (a jail forbids unlink). */
    munmap(l->f, sizeof(*l->f));
    free(l);
}

void xensim_ledger_note(struct xensim_ledger *l, uint16_t domid, uint32_t ref, int writable,
                        int delta)
{
    if (!l || ref >= XENSIM_LEDGER_REFS)
        return;
    if (!l->f->domid_plus1)
        l->f->domid_plus1 = (uint32_t)domid + 1;
    if (l->f->domid_plus1 != (uint32_t)domid + 1)
        return; /* a second domain is not followed */
    l->f->readers[ref] = (uint16_t)(l->f->readers[ref] + delta);
    if (writable)
        l->f->writers[ref] = (uint16_t)(l->f->writers[ref] + delta);
}

static bool pid_dead(const char *name)
{
    int pid;
    if (sscanf(name, "ledger-%d-", &pid) != 1 || pid <= 0)
        return false;
    return kill(pid, 0) < 0 && errno == ESRCH;
}

/* Release what one dead process's ledger holds on d; the pins released. */
static uint32_t release(struct xensim_dom *d, int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct ledger_file *f =
        mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (f == MAP_FAILED)
        return 0;
    uint32_t n = 0;
    if (f->domid_plus1 == (uint32_t)d->domid + 1) {
        for (uint32_t ref = 0; ref < XENSIM_LEDGER_REFS && ref < d->hdr->nr_grants; ref++) {
            uint16_t w = f->writers[ref], r = f->readers[ref];
            for (uint16_t i = 0; i < r; i++)
                xensim_unpin(d, ref, i < w);
            n += r;
        }
        if (n)
            xensim_gauge_add(d->hdr, &d->hdr->stats.gnt_mapped, -(int64_t)n);
        f->domid_plus1 = 0;
    }
    bool empty = f->domid_plus1 == 0;
    munmap(f, sizeof(*f));
    if (empty)
        unlinkat(dirfd, name, 0);
    return n;
}

uint32_t xensim_reap_dead(struct xensim_dom *d)
{
    DIR *dir = opendir(xensim_dir());
    if (!dir)
        return 0;
    uint32_t n = 0;
    for (struct dirent *e; (e = readdir(dir));)
        if (!strncmp(e->d_name, "ledger-", 7) && pid_dead(e->d_name))
            n += release(d, dirfd(dir), e->d_name);
    closedir(dir);
    return n;
}
