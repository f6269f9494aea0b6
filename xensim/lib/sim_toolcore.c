/* SPDX-License-Identifier: MIT */
/*
 * libxentoolcore on the simulator: xentoolcore_restrict_all() restricts
 * every open handle to one domain, as the real one does, and makes the
 * handles it cannot restrict (gntdev) useless, as the real one dup2()s
 * /dev/null over them.  Each xensim library registers its handles here.
 */
#include <errno.h>
#include <xentoolcore.h>

#include "sim_internal.h"

#define MAX_HANDLES 64

static struct {
    void *h;
    int (*restrict_cb)(void *h, domid_t domid);
} reg[MAX_HANDLES];

/* Backend processes are single-threaded: no lock. */
int xensim_toolcore_register(void *h, int (*restrict_cb)(void *h, domid_t domid))
{
    for (int i = 0; i < MAX_HANDLES; i++) {
        if (!reg[i].h) {
            reg[i].h = h;
            reg[i].restrict_cb = restrict_cb;
            return 0;
        }
    }
    errno = EMFILE;
    return -1;
}

void xensim_toolcore_deregister(void *h)
{
    for (int i = 0; i < MAX_HANDLES; i++)
        if (reg[i].h == h)
            reg[i].h = NULL;
}

int xentoolcore_restrict_all(domid_t domid)
{
    for (int i = 0; i < MAX_HANDLES; i++) {
        if (reg[i].h && reg[i].restrict_cb(reg[i].h, domid) < 0) {
            if (!errno)
                errno = EPERM;
            return -1;
        }
    }
    return 0;
}
