/* SPDX-License-Identifier: MIT */
/* Internals shared by xensim's library implementations and its guest side. */
#ifndef XENSIM_INTERNAL_H
#define XENSIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/hvm/ioreq.h>

#include "xensim/shared.h"

/* A domain's files mapped into this process. */
struct xensim_dom {
    uint16_t domid;
    int state_fd, ram_fd;
    struct xensim_dom_hdr *hdr;
    shared_iopage_t *iopage;
    grant_entry_v1_t *gnttab;
    struct xensim_pin *pins;
    size_t state_size;
};

const char *xensim_dir(void);
/* The domid this process acts as when it maps grants (XENSIM_SELF_DOMID). */
uint16_t xensim_self_domid(void);
/* Attach (once, cached) to a domain the simulated guest created. */
struct xensim_dom *xensim_dom_get(uint32_t domid);
/* Drop a cached attachment (a guest in this process destroyed the domain). */
void xensim_dom_forget(uint32_t domid);
int xensim_dom_map_state(struct xensim_dom *d, int fd, int writable_ram);

uint64_t xensim_now_ns(void);
void xensim_gauge_add(struct xensim_dom_hdr *h, struct xensim_gauge *g, int64_t delta);
void xensim_stat_add(struct xensim_dom_hdr *h, uint64_t *ctr, uint64_t n);

/*
 * Issue the ioctl the real library would issue, on a /dev/null fd, so that a
 * seccomp filter written for real Xen sees the same request numbers.  The
 * result (ENOTTY) is ignored; the simulator does the work itself.
 */
void xensim_mirror_ioctl(int fd, unsigned long req);
int xensim_open_mirror_fd(void);

/* $XENSIM_DIR/dom<N>/guest.sock: where events and IRQ levels for a guest go. */
void xensim_guest_sock_path(uint32_t domid, char *buf, size_t len);
/*
 * Socket names look like paths but live in the abstract namespace: no file,
 * so a backend in an empty root under another uid still reaches them, as it
 * reaches a real event channel through an fd it already holds.
 */
int xensim_bind_sock(int sock, const char *name);
int xensim_send_msg(int sock, const char *name, const struct xensim_msg *m);
/*
 * Whether a socket by that name is still bound.  A process's event channel
 * sockets go with it, as Xen closes a dead process's ports (the guest's end
 * is unbound again and can be bound anew).
 */
bool xensim_sock_alive(const char *name);
/* xentoolcore_restrict_all's registry (sim_toolcore.c). */
/* 0, or -1 with errno set: a handle that cannot be registered must not be opened,
 * or restrict_all would leave it unrestricted. */
int xensim_toolcore_register(void *h, int (*restrict_cb)(void *h, domid_t domid));
void xensim_toolcore_deregister(void *h);

/* Drop one mapping's pin of ref; the last one clears GTF_reading/GTF_writing. */
void xensim_unpin(struct xensim_dom *d, uint32_t ref, int writable);

/*
 * Grant mappings per process, in a file of its own under $XENSIM_DIR: Linux
 * releases a process's gntdev mappings when it dies, and a backend killed
 * while serving must not leave the guest's grants pinned.  The file is
 * created and mapped when the handle opens (before any jail); the guest side
 * releases what a dead process held (xensim_reap_dead) whenever it looks at
 * pins: a revoke that finds a grant busy, a count of mapped grants.
 */
#define XENSIM_LEDGER_REFS 65536u
struct xensim_ledger;
struct xensim_ledger *xensim_ledger_open(void);
void xensim_ledger_close(struct xensim_ledger *l);
void xensim_ledger_note(struct xensim_ledger *l, uint16_t domid, uint32_t ref, int writable,
                        int delta);
/* Release the pins that dead processes held on d's grants; how many. */
uint32_t xensim_reap_dead(struct xensim_dom *d);

/* The device model handle's socket, for the simulator's seccomp rules. */
struct xendevicemodel_handle;
int xensim_dm_sock(const struct xendevicemodel_handle *h);
void xensim_spin_lock(_Atomic uint32_t *l);
void xensim_spin_unlock(_Atomic uint32_t *l);

#endif
