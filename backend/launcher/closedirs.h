/* SPDX-License-Identifier: MIT */
/*
 * A duty of a backend outside the toolstack's domain (a driver domain): it
 * removes its own device directories once they are closed and let go.  libxl, closing a
 * device whose backend lives in another domain, writes online 0 and state
 * Closing, waits for Closed, then waits up to LIBXL_DESTROY_TIMEOUT (10 s)
 * for that domain to remove the directory, as `xl devd` would
 * (libxl_device.c, device_backend_callback).  A directory seen Closed with
 * online 0 is removed CLOSEDIRS_GRACE_MS later, so that libxl reads state 6
 * first: a directory gone before that read makes libxl log a failed
 * removal.  In the toolstack's own domain libxl removes it itself.  A
 * launcher that stops drops what is pending: libxl's own cleanup takes over.
 */
#ifndef VG_CLOSEDIRS_H
#define VG_CLOSEDIRS_H

#include <stdbool.h>
#include <stdint.h>
#include <xenstore.h>

#include "launcher/launcher.h"

#define CLOSEDIRS_GRACE_MS 1000

struct closedirs {
    struct {
        uint16_t domid;
        uint32_t devid;
        uint64_t due_ms; /* 0: a free slot */
    } e[LAUNCHER_MAX_DEVICES];
    bool full_warned;
};

/* domid/devid (names already checked) is Closed: remove it when due, if it still is. */
void closedirs_note(struct closedirs *c, uint16_t domid, uint32_t devid, uint64_t now_ms);
/* Remove every due directory that is still Closed with online 0. */
void closedirs_run(struct closedirs *c, struct xs_handle *xs, uint64_t now_ms);
/* Milliseconds until the next one is due, or UINT64_MAX. */
uint64_t closedirs_next_ms(const struct closedirs *c, uint64_t now_ms);

#endif
