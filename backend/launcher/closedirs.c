/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "launcher/closedirs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "launcher/tsinput.h"

#define XENBUS_CLOSED 6

void closedirs_note(struct closedirs *c, uint16_t domid, uint32_t devid, uint64_t now_ms)
{
    int free_slot = -1;
    for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++) {
        if (c->e[i].due_ms && c->e[i].domid == domid && c->e[i].devid == devid)
            return; /* already due: every watch event under it comes back here */
        if (!c->e[i].due_ms && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0) {
        /* libxl removes it itself after its timeout: late, not lost.  Said once per overflow. */
        if (!c->full_warned)
            vg_warn_dev(domid, devid, "too many closed directories to remove");
        c->full_warned = true;
        return;
    }
    c->full_warned = false;
    c->e[free_slot].domid = domid;
    c->e[free_slot].devid = devid;
    c->e[free_slot].due_ms = now_ms + CLOSEDIRS_GRACE_MS;
}

/* In one transaction with the check, so a directory libxl rewrote since is kept. */
static void remove_if_closed(struct xs_handle *xs, uint16_t domid, uint32_t devid)
{
    char path[64];
    snprintf(path, sizeof(path), TS_DIR "/%u/%u", domid, devid);
    for (int tries = 0; tries < 8; tries++) {
        xs_transaction_t t = xs_transaction_start(xs);
        if (t == XBT_NULL)
            break;
        bool closed = ts_read_state_in(xs, t, domid, devid) == XENBUS_CLOSED &&
                      ts_online_is(xs, t, domid, devid, "0");
        if (!closed) {
            xs_transaction_end(xs, t, true);
            return;
        }
        if (!xs_rm(xs, t, path)) {
            int err = errno;
            xs_transaction_end(xs, t, true);
            errno = err;
            break;
        }
        if (xs_transaction_end(xs, t, false)) {
            vg_info_dev(domid, devid, "closed directory removed");
            return;
        }
        if (errno != EAGAIN)
            break;
    }
    /* libxl removes it itself once its wait times out: late, not lost. */
    vg_warn_dev(domid, devid, "removing the closed directory: %s", strerror(errno));
}

void closedirs_run(struct closedirs *c, struct xs_handle *xs, uint64_t now_ms)
{
    for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++) {
        if (!c->e[i].due_ms || now_ms < c->e[i].due_ms)
            continue;
        c->e[i].due_ms = 0;
        c->full_warned = false;
        remove_if_closed(xs, c->e[i].domid, c->e[i].devid);
    }
}

uint64_t closedirs_next_ms(const struct closedirs *c, uint64_t now_ms)
{
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++) {
        if (!c->e[i].due_ms)
            continue;
        uint64_t wait = c->e[i].due_ms > now_ms ? c->e[i].due_ms - now_ms : 0;
        if (wait < next)
            next = wait;
    }
    return next;
}
