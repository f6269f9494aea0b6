/* SPDX-License-Identifier: MIT */
/*
 * The xenstore side of one device: the directory libxl writes for a
 * standalone virtio disk, backend/virtio_disk/<domid>/<devid> under the
 * backend domain's home, and the XenbusState handshake libxl waits for
 * (InitWait after set-up, Closed after teardown).
 *
 * Only the toolstack and the backend domain can write that directory; the
 * guest's own frontend directory is never read.
 */
#ifndef VG_XSDEV_H
#define VG_XSDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

/* XenbusState values used by the handshake (xen/io/xenbus.h). */
enum { XSDEV_INITIALISING = 1, XSDEV_INITWAIT = 2, XSDEV_CONNECTED = 4, XSDEV_CLOSING = 5,
       XSDEV_CLOSED = 6 };

struct xs_handle;

struct xsdev {
    struct xs_handle *xs;
    uint16_t domid;
    unsigned devid;
    char dir[64];
    char *params; /* owned: the image path libxl was given */
    int fd;       /* watch fd, fixed by xsdev_watch before the sandbox */
};

/* Connect and read the directory of c->domid/c->devid into @c (image, base, irq, mode). */
int xsdev_open(struct xsdev *x, struct vg_config *c);
int xsdev_set_state(struct xsdev *x, int state);
/* Report a set-up failure where `xl` shows it, then move to Closed. */
void xsdev_fail(struct xsdev *x, const char *why);
/* Watch the device's state/online nodes and guest death; fixes the watch fd. */
int xsdev_watch(struct xsdev *x);
int xsdev_fd(const struct xsdev *x);
/* Drain pending watch events; true once the toolstack or guest death asks us to close. */
bool xsdev_should_close(struct xsdev *x);
void xsdev_close(struct xsdev *x);

/* `virtio-grant watch`: spawn one device process per new directory. */
int xswatch_run(int argc, char **argv);

#endif
