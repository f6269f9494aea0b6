/* SPDX-License-Identifier: MIT */
/* The simulated guest domain: RAM, grant table, vCPU ioreqs, IRQ line. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/sim_internal.h"
#include "xensim/guest.h"

struct simdom {
    struct xensim_dom dom;
    char dir[200];
    uint8_t *ram;
    uint64_t ram_pages;
    uint8_t *page_used;  /* one byte per RAM page: simple first-fit allocator */
    uint64_t page_hint;
    uint8_t *ref_used;   /* allocated grant refs */
    uint8_t *ref_counted;/* refs counted in the "granted" gauge */
    uint32_t ref_hint;
    int sock;
    uint64_t irq_edges[1024];
    int io_timeout_ms;
    _Atomic bool io_abandoned; /* simdom_abandon_io: no vCPU waits any longer */
};

uint64_t simdom_now_ns(void)
{
    return xensim_now_ns();
}

static int make_file(const char *dir, const char *name, size_t size)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, (off_t)size) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * As libxl seeds a new guest's grant table: ref 0 is the console ring and
 * ref 1 the xenstore ring, both granted to dom0 before any device exists.
 * They are not virtio buffers, yet a dom0 backend's gntdev handle can map
 * them (threat-model residual risk); they are not counted as exposure.
 */
static void seed_reserved_grants(struct simdom *d)
{
    static const char *const what[] = { "console ring", "xenstore ring" };
    for (uint32_t ref = 0; ref < 2; ref++) {
        uint64_t gpa = simdom_alloc_pages(d, 1);
        char *p = gpa ? simdom_gpa(d, gpa, XENSIM_PAGE_SIZE) : NULL;
        if (!p)
            return;
        snprintf(p, XENSIM_PAGE_SIZE, "dom%u %s", d->dom.domid, what[ref]);
        grant_entry_v1_t *e = &d->dom.gnttab[ref];
        e->domid = 0;
        e->frame = (uint32_t)(gpa / XENSIM_PAGE_SIZE);
        atomic_thread_fence(memory_order_release);
        atomic_store((_Atomic uint16_t *)&e->flags, (uint16_t)GTF_permit_access);
    }
}

struct simdom *simdom_create(const struct simdom_params *p)
{
    if (!getenv("XENSIM_DIR") || p->nr_vcpus == 0 || p->nr_vcpus > XENSIM_MAX_VCPUS ||
        p->ram_size == 0 || p->ram_size % XENSIM_PAGE_SIZE || p->nr_grants < 16) {
        errno = EINVAL;
        return NULL;
    }
    struct simdom *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->io_timeout_ms = 10000;
    d->sock = -1;
    snprintf(d->dir, sizeof(d->dir), "%s/dom%u", xensim_dir(), p->domid);
    if (mkdir(d->dir, 0700) < 0 && errno != EEXIST)
        goto fail;

    size_t gnt_bytes = (size_t)p->nr_grants * sizeof(grant_entry_v1_t);
    size_t pin_off = XENSIM_GNTTAB_OFF + ((gnt_bytes + XENSIM_PAGE_SIZE - 1) & ~(size_t)4095);
    size_t state_size = pin_off + (size_t)p->nr_grants * sizeof(struct xensim_pin);
    state_size = (state_size + XENSIM_PAGE_SIZE - 1) & ~(size_t)4095;
    int sfd = make_file(d->dir, "state", state_size);
    if (sfd < 0)
        goto fail;
    struct xensim_dom_hdr h = { .magic = XENSIM_MAGIC,
                                .domid = p->domid,
                                .backend_domid = p->backend_domid,
                                .nr_vcpus = p->nr_vcpus,
                                .nr_grants = p->nr_grants,
                                .ram_size = p->ram_size,
                                .pin_offset = (uint32_t)pin_off,
                                .state_size = (uint32_t)state_size };
    if (pwrite(sfd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
        xensim_dom_map_state(&d->dom, sfd, 1) < 0) {
        close(sfd);
        goto fail;
    }
    d->dom.ram_fd = make_file(d->dir, "ram", p->ram_size);
    if (d->dom.ram_fd < 0)
        goto fail;
    d->ram = mmap(NULL, p->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, d->dom.ram_fd, 0);
    if (d->ram == MAP_FAILED) {
        d->ram = NULL;
        goto fail;
    }
    d->ram_pages = p->ram_size / XENSIM_PAGE_SIZE;
    d->page_used = calloc(d->ram_pages, 1);
    d->ref_used = calloc(p->nr_grants, 1);
    d->ref_counted = calloc(p->nr_grants, 1);
    if (!d->page_used || !d->ref_used || !d->ref_counted)
        goto fail;
    /* Linux keeps the first refs for the console and xenstore. */
    memset(d->ref_used, 1, GNTTAB_NR_RESERVED_ENTRIES);
    d->ref_hint = GNTTAB_NR_RESERVED_ENTRIES;
    seed_reserved_grants(d);

    d->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    char sock_path[sizeof(d->dir) + 16];
    snprintf(sock_path, sizeof(sock_path), "%s/guest.sock", d->dir);
    if (d->sock < 0)
        goto fail;
    int rc = xensim_bind_sock(d->sock, sock_path);
    if (rc < 0) {
        errno = -rc;
        goto fail;
    }
    int big = 1 << 20;
    setsockopt(d->sock, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    simdom_stats_reset(d);
    return d;
fail:;
    int e = errno;
    simdom_destroy(d);
    errno = e ? e : EIO;
    return NULL;
}

void simdom_destroy(struct simdom *d)
{
    if (!d)
        return;
    char path[300];
    if (d->dom.hdr)
        xensim_dom_forget(d->dom.domid);
    if (d->sock >= 0)
        close(d->sock);
    if (d->ram)
        munmap(d->ram, d->ram_pages * XENSIM_PAGE_SIZE);
    if (d->dom.hdr)
        munmap(d->dom.hdr, d->dom.state_size);
    if (d->dom.state_fd > 0)
        close(d->dom.state_fd);
    if (d->dom.ram_fd > 0)
        close(d->dom.ram_fd);
    static const char *const files[] = { "state", "ram" };
    for (unsigned i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", d->dir, files[i]);
        unlink(path);
    }
    rmdir(d->dir);
    free(d->page_used);
    free(d->ref_used);
    free(d->ref_counted);
    free(d);
}

const char *simdom_dir(const struct simdom *d)
{
    return d->dir;
}

int simdom_fd(const struct simdom *d)
{
    return d->sock;
}

uint64_t simdom_ram_size(const struct simdom *d)
{
    return d->ram_pages * XENSIM_PAGE_SIZE;
}

uint64_t simdom_alloc_pages(struct simdom *d, uint32_t n)
{
    if (n == 0 || n > d->ram_pages)
        return 0;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t start = pass ? 0 : d->page_hint;
        uint64_t run = 0;
        for (uint64_t i = start; i < d->ram_pages; i++) {
            run = d->page_used[i] ? 0 : run + 1;
            if (run == n) {
                uint64_t first = i + 1 - n;
                memset(d->page_used + first, 1, n);
                d->page_hint = i + 1;
                return XENSIM_RAM_BASE + first * XENSIM_PAGE_SIZE;
            }
        }
    }
    return 0;
}

void simdom_free_pages(struct simdom *d, uint64_t gpa, uint32_t n)
{
    uint64_t first = (gpa - XENSIM_RAM_BASE) / XENSIM_PAGE_SIZE;
    if (gpa < XENSIM_RAM_BASE || first + n > d->ram_pages)
        return;
    memset(d->page_used + first, 0, n);
    if (first < d->page_hint)
        d->page_hint = first;
}

void *simdom_gpa(struct simdom *d, uint64_t gpa, size_t len)
{
    uint64_t size = d->ram_pages * XENSIM_PAGE_SIZE;
    if (gpa < XENSIM_RAM_BASE || gpa - XENSIM_RAM_BASE > size ||
        len > size - (gpa - XENSIM_RAM_BASE))
        return NULL;
    return d->ram + (gpa - XENSIM_RAM_BASE);
}

static int64_t alloc_refs(struct simdom *d, uint32_t n)
{
    uint32_t nr = d->dom.hdr->nr_grants;
    for (int pass = 0; pass < 2; pass++) {
        uint32_t run = 0;
        for (uint32_t i = pass ? 0 : d->ref_hint; i < nr; i++) {
            run = d->ref_used[i] ? 0 : run + 1;
            if (run == n) {
                uint32_t first = i + 1 - n;
                memset(d->ref_used + first, 1, n);
                d->ref_hint = i + 1;
                return first;
            }
        }
    }
    return -ENOSPC;
}

static void publish(struct simdom *d, uint32_t ref, uint16_t domid, uint32_t frame, uint16_t flags)
{
    grant_entry_v1_t *e = &d->dom.gnttab[ref];
    e->domid = domid;
    e->frame = frame;
    /* Xen must see domid and frame before the flags that make them valid. */
    atomic_thread_fence(memory_order_release);
    atomic_store((_Atomic uint16_t *)&e->flags, flags);
    bool counts = (flags & GTF_type_mask) == GTF_permit_access && domid == d->dom.hdr->backend_domid;
    if (counts && !d->ref_counted[ref]) {
        d->ref_counted[ref] = 1;
        xensim_gauge_add(d->dom.hdr, &d->dom.hdr->stats.granted, 1);
    }
}

int64_t simdom_grant_range(struct simdom *d, uint64_t gpa, uint32_t npages, bool readonly)
{
    if (npages == 0 || !simdom_gpa(d, gpa, (size_t)npages * XENSIM_PAGE_SIZE) ||
        gpa % XENSIM_PAGE_SIZE)
        return -EINVAL;
    int64_t first = alloc_refs(d, npages);
    if (first < 0)
        return first;
    for (uint32_t i = 0; i < npages; i++)
        publish(d, (uint32_t)first + i, d->dom.hdr->backend_domid,
                (uint32_t)(gpa / XENSIM_PAGE_SIZE) + i,
                GTF_permit_access | (readonly ? GTF_readonly : 0));
    return first;
}

int simdom_grant_raw(struct simdom *d, uint32_t ref, uint16_t domid, uint32_t frame, uint16_t flags)
{
    if (ref >= d->dom.hdr->nr_grants)
        return -EINVAL;
    d->ref_used[ref] = 1;
    publish(d, ref, domid, frame, flags);
    return 0;
}

int simdom_revoke(struct simdom *d, uint32_t ref)
{
    if (ref >= d->dom.hdr->nr_grants)
        return -EINVAL;
    _Atomic uint16_t *flags = (_Atomic uint16_t *)&d->dom.gnttab[ref].flags;
    uint16_t f = atomic_load(flags);
    /* Busy: perhaps only because a dead backend process held it, which Linux releases. */
    if ((f & (GTF_reading | GTF_writing)) && xensim_reap_dead(&d->dom))
        f = atomic_load(flags);
    do {
        if (f & (GTF_reading | GTF_writing))
            return -EBUSY;
    } while (!atomic_compare_exchange_weak(flags, &f, 0));
    if (d->ref_counted[ref]) {
        d->ref_counted[ref] = 0;
        xensim_gauge_add(d->dom.hdr, &d->dom.hdr->stats.granted, -1);
    }
    return 0;
}

void simdom_revoke_at_map(struct simdom *d, uint32_t ref)
{
    atomic_store(&d->dom.hdr->revoke_at_pin, ref + 1);
}

void simdom_release_refs(struct simdom *d, uint32_t ref, uint32_t n)
{
    for (uint32_t i = 0; i < n && ref + i < d->dom.hdr->nr_grants; i++)
        if (ref + i >= GNTTAB_NR_RESERVED_ENTRIES)
            d->ref_used[ref + i] = 0;
    if (ref < d->ref_hint && ref >= GNTTAB_NR_RESERVED_ENTRIES)
        d->ref_hint = ref;
}

void *simdom_granted_page(struct simdom *d, uint32_t ref, bool *readonly)
{
    if (ref >= d->dom.hdr->nr_grants)
        return NULL;
    const grant_entry_v1_t *e = &d->dom.gnttab[ref];
    uint16_t flags = atomic_load((_Atomic uint16_t *)&e->flags);
    atomic_thread_fence(memory_order_acquire);
    if ((flags & GTF_type_mask) != GTF_permit_access || e->domid != d->dom.hdr->backend_domid)
        return NULL;
    *readonly = flags & GTF_readonly;
    return simdom_gpa(d, (uint64_t)e->frame * XENSIM_PAGE_SIZE, XENSIM_PAGE_SIZE);
}

uint32_t simdom_grants_mapped_now(struct simdom *d)
{
    xensim_reap_dead(&d->dom);
    uint32_t n = 0;
    for (uint32_t i = 0; i < d->dom.hdr->nr_grants; i++)
        if (atomic_load((_Atomic uint16_t *)&d->dom.gnttab[i].flags) & (GTF_reading | GTF_writing))
            n++;
    return n;
}

static void take_msg(struct simdom *d, const struct xensim_msg *m)
{
    if (m->kind == XENSIM_MSG_IRQ && m->irq < 1024 && m->level)
        d->irq_edges[m->irq]++;
}

/* Wait for one message; 0 on timeout. */
static int recv_msg(struct simdom *d, struct xensim_msg *m, int timeout_ms)
{
    struct pollfd pfd = { .fd = d->sock, .events = POLLIN };
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc <= 0)
        return rc < 0 ? -errno : 0;
    ssize_t n = recv(d->sock, m, sizeof(*m), MSG_DONTWAIT);
    if (n != (ssize_t)sizeof(*m))
        return n < 0 && errno == EAGAIN ? 0 : -EIO;
    return 1;
}

/* Until the server is enabled, claims what wanted() says, and has every vCPU's port bound. */
static int wait_server(struct simdom *d, bool (*wanted)(const struct xensim_dom_hdr *, uint64_t),
                       uint64_t what, int timeout_ms)
{
    struct xensim_dom_hdr *h = d->dom.hdr;
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        if (atomic_load(&h->ioreq_enabled) && wanted(h, what)) {
            bool all = true;
            for (uint32_t v = 0; v < h->nr_vcpus; v++)
                all &= atomic_load(&h->ports[v + 1].bound) != 0;
            if (all)
                return 0;
        }
        usleep(10000);
    }
    return -ETIMEDOUT;
}

static bool covers(const struct xensim_dom_hdr *h, uint64_t addr)
{
    return addr >= h->ioreq_start && addr <= h->ioreq_end;
}

static bool claims(const struct xensim_dom_hdr *h, uint64_t sbdf)
{
    return h->ioreq_pci_mapped && h->ioreq_pci_sbdf == sbdf;
}

int simdom_wait_backend(struct simdom *d, uint64_t addr, int timeout_ms)
{
    return wait_server(d, covers, addr, timeout_ms);
}

int simdom_wait_backend_pci(struct simdom *d, uint32_t sbdf, int timeout_ms)
{
    return wait_server(d, claims, sbdf, timeout_ms);
}

int simdom_ioreq_raw(struct simdom *d, uint32_t vcpu, const ioreq_t *req, uint64_t *data)
{
    struct xensim_dom_hdr *h = d->dom.hdr;
    if (vcpu >= h->nr_vcpus)
        return -EINVAL;
    ioreq_t *slot = &d->dom.iopage->vcpu_ioreq[vcpu];
    uint32_t port = slot->vp_eport;
    if (!atomic_load(&h->ioreq_enabled) || port >= XENSIM_MAX_PORTS ||
        !atomic_load(&h->ports[port].bound))
        return -ENODEV;
    if (slot->state != STATE_IOREQ_NONE)
        return -EBUSY;
    slot->addr = req->addr;
    slot->data = req->data;
    slot->count = req->count;
    slot->size = req->size;
    slot->data_is_ptr = req->data_is_ptr;
    slot->dir = req->dir;
    slot->df = req->df;
    slot->type = req->type;
    atomic_thread_fence(memory_order_release);
    slot->state = STATE_IOREQ_READY;
    xensim_stat_add(h, &h->stats.ioreqs, 1);
    struct xensim_msg m = { .kind = XENSIM_MSG_EVENT, .port = h->ports[port].remote_port };
    int rc = xensim_send_msg(d->sock, h->ports[port].remote_sock, &m);
    /* A backend process that died leaves the vCPU waiting, as on Xen: a
     * replacement bound to the port serves the request it finds READY. */
    if (rc < 0 && rc != -ECONNREFUSED) {
        slot->state = STATE_IOREQ_NONE;
        return rc;
    }
    uint64_t deadline = xensim_now_ns() + (uint64_t)d->io_timeout_ms * 1000000ull;
    /*
     * As Xen's wait_on_xen_event_channel: the state is looked at before the
     * vCPU sleeps and again only when an event on its port wakes it, so a
     * backend that answers without notifying leaves it asleep here too.
     */
    bool look = true;
    for (;;) {
        atomic_thread_fence(memory_order_acquire);
        if (look && slot->state == STATE_IORESP_READY) {
            atomic_thread_fence(memory_order_acquire);
            if (data)
                *data = slot->data;
            slot->state = STATE_IOREQ_NONE;
            return 0;
        }
        uint64_t now = xensim_now_ns();
        if (now >= deadline)
            return -ETIMEDOUT;
        if (atomic_load(&d->io_abandoned))
            return -ECANCELED;
        /* In slices, so an abandoned wait ends soon. */
        uint64_t left_ms = (deadline - now) / 1000000ull + 1;
        struct xensim_msg in;
        rc = recv_msg(d, &in, left_ms > 50 ? 50 : (int)left_ms);
        if (rc < 0)
            return rc;
        /* Any event: vCPUs in this process share the socket, one may take another's. */
        look = rc > 0 && in.kind == XENSIM_MSG_EVENT;
        if (rc > 0)
            take_msg(d, &in);
    }
}

void simdom_abandon_io(struct simdom *d)
{
    atomic_store(&d->io_abandoned, true);
}

int simdom_mmio_read(struct simdom *d, uint32_t vcpu, uint64_t addr, uint32_t size, uint64_t *val)
{
    ioreq_t r = { .addr = addr, .count = 1, .size = size, .dir = IOREQ_READ,
                  .type = IOREQ_TYPE_COPY };
    return simdom_ioreq_raw(d, vcpu, &r, val);
}

int simdom_mmio_write(struct simdom *d, uint32_t vcpu, uint64_t addr, uint32_t size, uint64_t val)
{
    ioreq_t r = { .addr = addr, .data = val, .count = 1, .size = size, .dir = IOREQ_WRITE,
                  .type = IOREQ_TYPE_COPY };
    return simdom_ioreq_raw(d, vcpu, &r, NULL);
}

/* Whether Xen would route a config cycle for sbdf to the (one) server. */
static bool pci_claimed(struct simdom *d, uint32_t sbdf)
{
    struct xensim_dom_hdr *h = d->dom.hdr;
    return atomic_load(&h->ioreq_enabled) && h->ioreq_pci_mapped && h->ioreq_pci_sbdf == sbdf;
}

int simdom_pci_config_read(struct simdom *d, uint32_t vcpu, uint32_t sbdf, uint32_t reg,
                           uint32_t size, uint32_t *val)
{
    if (!pci_claimed(d, sbdf)) {
        *val = size >= 4 ? UINT32_MAX : (1u << (8 * size)) - 1;
        return 0;
    }
    ioreq_t r = { .addr = (uint64_t)sbdf << 32 | reg, .count = 1, .size = size,
                  .dir = IOREQ_READ, .type = IOREQ_TYPE_PCI_CONFIG };
    uint64_t data = 0;
    int rc = simdom_ioreq_raw(d, vcpu, &r, &data);
    *val = (uint32_t)data;
    return rc;
}

int simdom_pci_config_write(struct simdom *d, uint32_t vcpu, uint32_t sbdf, uint32_t reg,
                            uint32_t size, uint32_t val)
{
    if (!pci_claimed(d, sbdf))
        return 0;
    ioreq_t r = { .addr = (uint64_t)sbdf << 32 | reg, .data = val, .count = 1, .size = size,
                  .dir = IOREQ_WRITE, .type = IOREQ_TYPE_PCI_CONFIG };
    return simdom_ioreq_raw(d, vcpu, &r, NULL);
}

uint64_t simdom_msi(struct simdom *d, uint64_t *addr, uint32_t *data)
{
    uint64_t n = atomic_load(&d->dom.hdr->msi_count);
    *addr = d->dom.hdr->msi_addr;
    *data = d->dom.hdr->msi_data;
    return n;
}

uint64_t simdom_msi_refused(struct simdom *d)
{
    return atomic_load(&d->dom.hdr->msi_refused);
}

int simdom_wait_msi(struct simdom *d, uint64_t seen, int timeout_ms)
{
    uint64_t deadline = xensim_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        if (atomic_load(&d->dom.hdr->msi_count) > seen)
            return 1;
        uint64_t now = xensim_now_ns();
        if (now >= deadline)
            return 0;
        struct xensim_msg m;
        /* In slices: an MSI sent before this guest listened wakes nobody. */
        uint64_t left_ms = (deadline - now) / 1000000ull + 1;
        int rc = recv_msg(d, &m, left_ms > 20 ? 20 : (int)left_ms);
        if (rc < 0)
            return rc;
        if (rc > 0)
            take_msg(d, &m);
    }
}

static void drain(struct simdom *d)
{
    struct xensim_msg m;
    while (recv_msg(d, &m, 0) > 0)
        take_msg(d, &m);
}

bool simdom_irq_level(struct simdom *d, uint32_t irq)
{
    drain(d);
    if (irq >= 1024)
        return false;
    return (d->dom.hdr->irq_level[irq / 32] >> (irq % 32)) & 1;
}

uint64_t simdom_irq_edges(struct simdom *d, uint32_t irq)
{
    drain(d);
    return irq < 1024 ? d->irq_edges[irq] : 0;
}

int simdom_wait_irq(struct simdom *d, uint32_t irq, int timeout_ms)
{
    uint64_t deadline = xensim_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        if (simdom_irq_level(d, irq))
            return 1;
        uint64_t now = xensim_now_ns();
        if (now >= deadline)
            return 0;
        struct xensim_msg m;
        int rc = recv_msg(d, &m, (int)((deadline - now) / 1000000ull) + 1);
        if (rc < 0)
            return rc;
        if (rc > 0)
            take_msg(d, &m);
    }
}

void simdom_stats(struct simdom *d, struct xensim_stats *out)
{
    struct xensim_dom_hdr *h = d->dom.hdr;
    uint64_t now = xensim_now_ns();
    xensim_spin_lock(&h->stats_lock);
    struct xensim_gauge *g[] = { &h->stats.granted, &h->stats.gnt_mapped, &h->stats.fgn_mapped };
    for (unsigned i = 0; i < 3; i++) {
        if (g[i]->last_ns)
            g[i]->area += g[i]->cur * (now - g[i]->last_ns);
        g[i]->last_ns = now;
    }
    *out = h->stats;
    xensim_spin_unlock(&h->stats_lock);
}

void simdom_stats_reset(struct simdom *d)
{
    struct xensim_dom_hdr *h = d->dom.hdr;
    uint64_t now = xensim_now_ns();
    xensim_spin_lock(&h->stats_lock);
    struct xensim_stats s = { .start_ns = now };
    struct xensim_gauge *old[] = { &h->stats.granted, &h->stats.gnt_mapped, &h->stats.fgn_mapped };
    struct xensim_gauge *nw[] = { &s.granted, &s.gnt_mapped, &s.fgn_mapped };
    for (unsigned i = 0; i < 3; i++)
        *nw[i] = (struct xensim_gauge){ .cur = old[i]->cur, .peak = old[i]->cur, .last_ns = now };
    h->stats = s;
    xensim_spin_unlock(&h->stats_lock);
}

double simdom_gauge_avg(const struct xensim_stats *s, const struct xensim_gauge *g, uint64_t now)
{
    (void)now;
    uint64_t span = g->last_ns > s->start_ns ? g->last_ns - s->start_ns : 0;
    return span ? (double)g->area / (double)span : (double)g->cur;
}
