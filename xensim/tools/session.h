/* SPDX-License-Identifier: MIT */
/*
 * The simulator tools' (make demo, make bench-sim) one set-up: a simulated
 * guest, an image, the backend binary serving it in one mode, the guest's
 * driver probed; and the one teardown with its failure report.
 */
#ifndef VG_XENSIM_TOOLS_SESSION_H
#define VG_XENSIM_TOOLS_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "xensim/guest.h"
#include "xensim/vdrv.h"

#define SESSION_DOMID 1
#define SESSION_MMIO_BASE 0x2000000ull
#define SESSION_IRQ 33

struct session_mode {
    const char *name;
    const char *args[4]; /* the backend's mode options, NULL-terminated */
    enum vdrv_dma dma;
    uint32_t pool_pages; /* the guest bounces through a pool (VIRTIO_F_GRANT_POOL) */
};

struct session {
    const char *tool; /* names the tool in its messages */
    const struct session_mode *mode;
    struct simdom *d;
    pid_t pid;
    struct vdrv v;
    char img[160], log[160];
};

/*
 * Create the domain (p), an image of img_bytes in $XENSIM_DIR, start the
 * backend (quiet: -q) and probe.  0, or a negative errno; either way
 * session_down follows.
 */
int session_up(struct session *s, const char *tool, const char *backend,
               const struct session_mode *m, const struct simdom_params *p, uint64_t img_bytes,
               bool quiet);
/* Grants the backend still maps, after the driver is removed (session_down does that). */
uint64_t session_left_mapped(struct session *s);
/*
 * Remove the driver, stop the backend (a non-zero exit fails a run that
 * had not failed), report a failure with the backend's log, destroy the
 * domain and the image.  Returns rc, or -EIO.
 */
int session_down(struct session *s, int rc);

#endif
