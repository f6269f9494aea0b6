/* SPDX-License-Identifier: MIT */
/*
 * Narrowing the backend after set-up, before the first guest request: the
 * Xen handles pinned to the guest (during set-up), an empty read-only root, an unprivileged
 * uid, no new privileges, tight rlimits, and a seccomp allowlist whose
 * default kills the process.  What stays allowed, and why, is in rules.c.
 */
#ifndef VG_SANDBOX_H
#define VG_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "aio/aio.h"
#include "gmem/gmem.h"

enum vg_sandbox_mode { VG_SANDBOX_KILL, VG_SANDBOX_LOG, VG_SANDBOX_OFF };

#define VG_SANDBOX_DEFAULT_ID 65534 /* nobody / nogroup */
#define VG_SANDBOX_EMPTY_ROOT "/run/virtio-grant/empty"

struct vg_sandbox_cfg {
    enum vg_sandbox_mode mode;
    uid_t uid;
    gid_t gid;
    enum gmem_mode gmem_mode;
    enum aio_engine aio_engine; /* the image engine set-up chose */
};

/* The fds the device process declares beside its Xen handles; -1 if it has none. */
struct vg_sandbox_fds {
    int image, control, evtchn, sigfd;
    int ring; /* the io_uring, locked to the image (aio.h) */
};

struct xen_ioreq_srv;

/* Close every inherited fd above stderr but @keep (-1: none): run first, before set-up. */
void vg_close_fds_except(int keep);

/* Pin every Xen handle open now to the guest (before gnttab is opened). */
int vg_sandbox_restrict_xen(const struct vg_sandbox_cfg *c, uint16_t domid);

/* The steps above, once set-up is done. */
int vg_sandbox_enter(const struct vg_sandbox_cfg *c, struct xen_ioreq_srv *srv,
                     const struct vg_sandbox_fds *fds);

const char *vg_sandbox_mode_name(enum vg_sandbox_mode m);

#endif
