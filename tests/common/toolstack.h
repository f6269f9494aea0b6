/* SPDX-License-Identifier: MIT */
/*
 * What libxl does for a standalone virtio disk, done by a test against the
 * simulator's xenstored: introduce the guest, write the backend directory
 * (state last, so the launcher sees it whole), close it, release the guest.
 * The raw writers let a test play a buggy or hostile toolstack.
 */
#ifndef VG_TEST_TOOLSTACK_H
#define VG_TEST_TOOLSTACK_H

#include <stdbool.h>
#include <stdint.h>

struct xs_handle;

struct tstk_disk {
    const char *dom;  /* the domain entry, normally the domid in decimal */
    const char *dev;  /* the device entry, normally the devid in decimal */
    const char *frontend_id, *base, *irq, *params, *mode; /* NULL: not written */
    const char *transport, *state; /* NULL: "mmio" and "1", as libxl writes them */
    /* The backend domain's home ("/local/domain/5"), or NULL: ours (dom0's). */
    const char *backend_home;
};

struct xs_handle *tstk_open(void);
/* What xen-init-dom0 writes: dom0's domid node, which the launcher reads to know where it runs. */
int tstk_init_dom0(struct xs_handle *xs);
/* A driver domain's home as libxl makes it (its domid node, readable by it). */
int tstk_add_driver_domain(struct xs_handle *xs, uint16_t domid);
/* The guest's home and its introduction, as libxl and xenstored make them. */
int tstk_add_domain(struct xs_handle *xs, uint16_t domid);
int tstk_release_domain(struct xs_handle *xs, uint16_t domid);
/*
 * A disk as libxl writes it for domid (params, writable), then state 1 and
 * online 1.  Under a backend_home the device directory is made first and
 * given to the backend domain, the guest reading, as libxl does.
 */
void tstk_disk_default(struct tstk_disk *d, uint16_t domid, const char *params);
int tstk_write_disk(struct xs_handle *xs, const struct tstk_disk *d);
int tstk_write_node(struct xs_handle *xs, const struct tstk_disk *d, const char *node,
                    const char *val);
/* The node's value (caller frees) or NULL. */
char *tstk_read_node(struct xs_handle *xs, const struct tstk_disk *d, const char *node);
int tstk_remove_disk(struct xs_handle *xs, const struct tstk_disk *d);
/* Wait until state reads @want; 0, or -ETIMEDOUT. */
int tstk_wait_state(struct xs_handle *xs, const struct tstk_disk *d, int want, int timeout_ms);

#endif
