/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sim_internal.h"

#define MAX_ATTACHED 16
static struct xensim_dom attached[MAX_ATTACHED];
static unsigned nr_attached;

const char *xensim_dir(void)
{
    const char *d = getenv("XENSIM_DIR");
    return (d && *d) ? d : "/run/xensim";
}

uint16_t xensim_self_domid(void)
{
    const char *s = getenv("XENSIM_SELF_DOMID");
    return s ? (uint16_t)strtoul(s, NULL, 0) : 0;
}

uint64_t xensim_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void xensim_spin_lock(_Atomic uint32_t *l)
{
    uint32_t z = 0;
    while (!atomic_compare_exchange_weak(l, &z, 1)) {
        z = 0;
        sched_yield();
    }
}

void xensim_spin_unlock(_Atomic uint32_t *l)
{
    atomic_store(l, 0);
}

void xensim_gauge_add(struct xensim_dom_hdr *h, struct xensim_gauge *g, int64_t delta)
{
    uint64_t now = xensim_now_ns();
    xensim_spin_lock(&h->stats_lock);
    if (g->last_ns)
        g->area += g->cur * (now - g->last_ns);
    g->last_ns = now;
    g->cur = (uint64_t)((int64_t)g->cur + delta);
    if (g->cur > g->peak)
        g->peak = g->cur;
    xensim_spin_unlock(&h->stats_lock);
}

void xensim_stat_add(struct xensim_dom_hdr *h, uint64_t *ctr, uint64_t n)
{
    xensim_spin_lock(&h->stats_lock);
    *ctr += n;
    xensim_spin_unlock(&h->stats_lock);
}

int xensim_open_mirror_fd(void)
{
    return open("/dev/null", O_RDWR | O_CLOEXEC);
}

void xensim_mirror_ioctl(int fd, unsigned long req)
{
    int saved = errno;
    if (fd >= 0)
        (void)ioctl(fd, req, NULL);
    errno = saved;
}

void xensim_guest_sock_path(uint32_t domid, char *buf, size_t len)
{
    snprintf(buf, len, "%s/dom%u/guest.sock", xensim_dir(), domid);
}

static int sim_sockaddr(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
    size_t n = strlen(name);
    if (n + 1 > sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path + 1, name, n);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    return 0;
}

int xensim_bind_sock(int sock, const char *name)
{
    struct sockaddr_un sa;
    socklen_t len;
    int rc = sim_sockaddr(name, &sa, &len);
    if (rc < 0)
        return rc;
    return bind(sock, (struct sockaddr *)&sa, len) < 0 ? -errno : 0;
}

bool xensim_sock_alive(const char *name)
{
    struct sockaddr_un sa;
    socklen_t len;
    if (sim_sockaddr(name, &sa, &len) < 0)
        return false;
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return true; /* cannot tell: assume the binding stands */
    bool alive = connect(s, (struct sockaddr *)&sa, len) == 0 || errno != ECONNREFUSED;
    close(s);
    return alive;
}

int xensim_send_msg(int sock, const char *name, const struct xensim_msg *m)
{
    struct sockaddr_un sa;
    socklen_t len;
    int rc = sim_sockaddr(name, &sa, &len);
    if (rc < 0)
        return rc;
    if (sendto(sock, m, sizeof(*m), MSG_DONTWAIT, (struct sockaddr *)&sa, len) < 0)
        return -errno;
    return 0;
}

int xensim_dom_map_state(struct xensim_dom *d, int fd, int writable_ram)
{
    (void)writable_ram;
    struct xensim_dom_hdr probe;
    if (pread(fd, &probe, sizeof(probe), 0) != (ssize_t)sizeof(probe))
        return -EIO;
    if (probe.magic != XENSIM_MAGIC)
        return -EINVAL;
    void *p = mmap(NULL, probe.state_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    d->state_fd = fd;
    d->state_size = probe.state_size;
    d->hdr = p;
    d->domid = probe.domid;
    d->iopage = (shared_iopage_t *)((char *)p + XENSIM_IOREQ_PAGE_OFF);
    d->gnttab = (grant_entry_v1_t *)((char *)p + XENSIM_GNTTAB_OFF);
    d->pins = (struct xensim_pin *)((char *)p + probe.pin_offset);
    return 0;
}

struct xensim_dom *xensim_dom_get(uint32_t domid)
{
    for (unsigned i = 0; i < nr_attached; i++)
        if (attached[i].domid == domid && attached[i].hdr)
            return &attached[i];
    unsigned slot = 0;
    while (slot < nr_attached && attached[slot].hdr)
        slot++;
    if (slot == MAX_ATTACHED) {
        errno = ENOSPC;
        return NULL;
    }
    char path[256];
    snprintf(path, sizeof(path), "%s/dom%u/state", xensim_dir(), domid);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        errno = ESRCH; /* what Xen says for a domain that does not exist */
        return NULL;
    }
    struct xensim_dom *d = &attached[slot];
    int rc = xensim_dom_map_state(d, fd, 1);
    if (rc < 0) {
        close(fd);
        errno = -rc;
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/dom%u/ram", xensim_dir(), domid);
    d->ram_fd = open(path, O_RDWR | O_CLOEXEC);
    if (d->ram_fd < 0) {
        int e = errno;
        munmap(d->hdr, d->state_size);
        close(fd);
        memset(d, 0, sizeof(*d));
        errno = e;
        return NULL;
    }
    if (slot == nr_attached)
        nr_attached++;
    return d;
}

void xensim_dom_forget(uint32_t domid)
{
    for (unsigned i = 0; i < nr_attached; i++) {
        struct xensim_dom *d = &attached[i];
        if (d->hdr && d->domid == domid) {
            munmap(d->hdr, d->state_size);
            close(d->state_fd);
            close(d->ram_fd);
            memset(d, 0, sizeof(*d));
        }
    }
}
