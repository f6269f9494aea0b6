/* SPDX-License-Identifier: MIT */
/*
 * libxenevtchn on the simulator.  A handle is a bound datagram socket, so
 * xenevtchn_fd() is pollable exactly like /dev/xen/evtchn.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "sim_internal.h"
#include <xen/sys/evtchn.h>
#include <xenevtchn.h>


#define MAX_LOCAL 64

struct local_port {
    int used;
    uint32_t domid;
    uint32_t remote_port;
};

struct xenevtchn_handle {
    int mirror_fd;
    int sock;
    int restrict_domid;
    char path[XENSIM_SOCK_PATH_MAX];
    struct local_port ports[MAX_LOCAL]; /* index = local port, 0 unused */
};

static int restrict_cb(void *h, domid_t domid)
{
    return xenevtchn_restrict(h, domid);
}

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
    (void)logger;
    (void)flags;
    static unsigned seq;
    xenevtchn_handle *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->restrict_domid = -1;
    h->mirror_fd = xensim_open_mirror_fd();
    h->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int n = snprintf(h->path, sizeof(h->path), "%s/evtchn-%d-%u.sock", xensim_dir(), (int)getpid(),
                     seq++);
    if (h->mirror_fd < 0 || h->sock < 0 || n < 0 || (size_t)n >= sizeof(h->path))
        goto fail;
    int rc = xensim_bind_sock(h->sock, h->path);
    if (rc < 0) {
        errno = -rc;
        goto fail;
    }
    if (xensim_toolcore_register(h, restrict_cb) < 0)
        goto fail;
    return h;
fail:;
    int e = errno ? errno : ENAMETOOLONG;
    if (h->mirror_fd >= 0)
        close(h->mirror_fd);
    if (h->sock >= 0)
        close(h->sock);
    free(h);
    errno = e;
    return NULL;
}

int xenevtchn_close(xenevtchn_handle *h)
{
    if (!h)
        return 0;
    xensim_toolcore_deregister(h);
    for (unsigned p = 1; p < MAX_LOCAL; p++)
        if (h->ports[p].used)
            xenevtchn_unbind(h, p);
    close(h->sock);
    close(h->mirror_fd);
    free(h);
    return 0;
}

int xenevtchn_fd(xenevtchn_handle *h)
{
    return h->sock;
}

int xenevtchn_restrict(xenevtchn_handle *h, domid_t domid)
{
    xensim_mirror_ioctl(h->mirror_fd, IOCTL_EVTCHN_RESTRICT_DOMID);
    if (h->restrict_domid >= 0 && h->restrict_domid != domid) {
        errno = EPERM;
        return -1;
    }
    h->restrict_domid = domid;
    return 0;
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *h, uint32_t domid,
                                                     evtchn_port_t remote_port)
{
    xensim_mirror_ioctl(h->mirror_fd, IOCTL_EVTCHN_BIND_INTERDOMAIN);
    if (h->restrict_domid >= 0 && (uint32_t)h->restrict_domid != domid) {
        errno = EPERM;
        return -1;
    }
    struct xensim_dom *d = xensim_dom_get(domid);
    if (!d)
        return -1;
    /* Only the ports Xen allocated for the ioreq server exist in the sim. */
    if (remote_port == 0 || remote_port > d->hdr->nr_vcpus || remote_port >= XENSIM_MAX_PORTS ||
        !atomic_load(&d->hdr->ioreq_created)) {
        errno = EINVAL;
        return -1;
    }
    struct xensim_port *rp = &d->hdr->ports[remote_port];
    if (atomic_load(&rp->bound) && xensim_sock_alive(rp->remote_sock)) {
        errno = EBUSY;
        return -1;
    }
    unsigned local;
    for (local = 1; local < MAX_LOCAL && h->ports[local].used; local++)
        ;
    if (local == MAX_LOCAL) {
        errno = ENOSPC;
        return -1;
    }
    h->ports[local] = (struct local_port){ .used = 1, .domid = domid, .remote_port = remote_port };
    rp->remote_port = local;
    snprintf(rp->remote_sock, sizeof(rp->remote_sock), "%s", h->path);
    atomic_store(&rp->bound, 1);
    return (int)local;
}

xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *h, uint32_t domid)
{
    (void)h;
    (void)domid;
    errno = EOPNOTSUPP;
    return -1;
}

xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *h, unsigned int virq)
{
    (void)h;
    (void)virq;
    errno = EOPNOTSUPP;
    return -1;
}

int xenevtchn_unbind(xenevtchn_handle *h, evtchn_port_t port)
{
    xensim_mirror_ioctl(h->mirror_fd, IOCTL_EVTCHN_UNBIND);
    if (port == 0 || port >= MAX_LOCAL || !h->ports[port].used) {
        errno = EINVAL;
        return -1;
    }
    struct xensim_dom *d = xensim_dom_get(h->ports[port].domid);
    if (d) {
        struct xensim_port *rp = &d->hdr->ports[h->ports[port].remote_port];
        if (strcmp(rp->remote_sock, h->path) == 0)
            atomic_store(&rp->bound, 0);
    }
    h->ports[port].used = 0;
    return 0;
}

int xenevtchn_notify(xenevtchn_handle *h, evtchn_port_t port)
{
    xensim_mirror_ioctl(h->mirror_fd, IOCTL_EVTCHN_NOTIFY);
    if (port == 0 || port >= MAX_LOCAL || !h->ports[port].used) {
        errno = EINVAL;
        return -1;
    }
    char path[256];
    xensim_guest_sock_path(h->ports[port].domid, path, sizeof(path));
    struct xensim_msg m = { .kind = XENSIM_MSG_EVENT, .port = h->ports[port].remote_port };
    int rc = xensim_send_msg(h->sock, path, &m);
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return 0;
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *h)
{
    struct xensim_msg m;
    for (;;) {
        ssize_t n = recv(h->sock, &m, sizeof(m), MSG_DONTWAIT);
        if (n < 0)
            return -1;
        if (n == (ssize_t)sizeof(m) && m.kind == XENSIM_MSG_EVENT && m.port < MAX_LOCAL &&
            h->ports[m.port].used)
            return (int)m.port;
        /* Anything else is noise for a closed or unknown port: drop it. */
    }
}

int xenevtchn_unmask(xenevtchn_handle *h, evtchn_port_t port)
{
    (void)h;
    (void)port;
    return 0;
}
