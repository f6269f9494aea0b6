/* SPDX-License-Identifier: MIT */
/*
 * virtio-grant: one virtio-mmio device for one Xen guest.
 *
 * Set-up is staged and torn down in mirror image.  The same sources link
 * against the real Xen libraries or against xensim.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <xengnttab.h>

#include "common/checked.h"
#include "common/log.h"
#include "config/config.h"
#include "devices/blk.h"
#include "gmem/gmem.h"
#include "sandbox/probe.h"
#include "sandbox/sandbox.h"
#include "transport/mmio.h"
#include "virtq/virtq.h"
#include "xen/ioreq.h"
#include "xen/xsdev.h"

/* Enough grants for the rings, one indirect table and one maximal chain. */
#define GRANTS_NEEDED (GMEM_MAX_CHAIN_PAGES + 16)

struct backend {
    struct vg_config cfg;
    struct blk_dev blk;
    bool blk_open;
    xengnttab_handle *gnt;
    struct xen_ioreq_srv srv;
    bool srv_open;
    struct gmem gmem;
    bool gmem_open;
    struct mmio_dev mmio;
    bool mmio_open;
    int sigfd;
    struct xsdev xs; /* only with --xenstore */
};

static void on_mmio(void *opaque, uint64_t off, uint32_t size, bool is_write, uint64_t *val)
{
    mmio_access(opaque, off, size, is_write, val);
}

static void teardown(struct backend *b)
{
    if (b->mmio_open)
        mmio_shutdown(&b->mmio);
    if (b->gmem_open)
        gmem_fini(&b->gmem);
    if (b->srv_open)
        xen_ioreq_close(&b->srv);
    if (b->gnt)
        xengnttab_close(b->gnt);
    if (b->blk_open)
        blk_close(&b->blk);
    if (b->sigfd >= 0)
        close(b->sigfd);
}

static int setup(struct backend *b)
{
    const struct vg_config *c = &b->cfg;
    int rc = blk_open(&b->blk, c->image, c->read_only, c->serial, blk_ops.queue_size_max);
    if (rc < 0) {
        vg_err("cannot open image %s: %s", c->image, strerror(-rc));
        return rc;
    }
    b->blk_open = true;

    if (c->mode == GMEM_GRANT) {
        b->gnt = xengnttab_open(NULL, 0);
        if (!b->gnt) {
            rc = -errno;
            vg_err("xengnttab_open: %s", strerror(errno));
            return rc;
        }
        /* Must precede the first map; a failure only means the default limit. */
        if (xengnttab_set_max_grants(b->gnt, GRANTS_NEEDED) < 0)
            vg_warn("xengnttab_set_max_grants(%u): %s", GRANTS_NEEDED, strerror(errno));
    }

    rc = xen_ioreq_open(&b->srv, c->domid, c->base, c->size, c->irq);
    if (rc < 0)
        return rc;
    b->srv_open = true;

    /* Grant mode hands gmem no foreign handle: it cannot map guest RAM. */
    rc = gmem_init(&b->gmem, c->mode, c->domid, b->gnt,
                   c->mode == GMEM_GRANT ? NULL : b->srv.fmem, c->ram_base, c->ram_size);
    if (rc < 0) {
        vg_err("guest memory set-up: %s", strerror(-rc));
        return rc;
    }
    b->gmem_open = true;

    mmio_init(&b->mmio, &blk_ops, &b->blk, &b->gmem, c->mode == GMEM_GRANT, xen_ioreq_set_irq,
              &b->srv);
    b->mmio_open = true;

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    b->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (b->sigfd < 0) {
        rc = -errno;
        vg_err("signalfd: %s", strerror(errno));
        return rc;
    }
    return 0;
}

static int serve(struct backend *b)
{
    struct pollfd pfd[3] = {
        { .fd = xen_ioreq_fd(&b->srv), .events = POLLIN },
        { .fd = b->sigfd, .events = POLLIN },
        { .fd = b->xs.xs ? xsdev_fd(&b->xs) : -1, .events = POLLIN },
    };
    for (;;) {
        if (poll(pfd, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            vg_err("poll: %s", strerror(errno));
            return -errno;
        }
        if (pfd[1].revents) {
            struct signalfd_siginfo si;
            if (read(b->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                vg_info("signal %u: shutting down", si.ssi_signo);
            return 0;
        }
        if ((pfd[2].revents & POLLIN) && xsdev_should_close(&b->xs))
            return 0;
        if (pfd[0].revents & (POLLERR | POLLHUP)) {
            vg_err("event channel closed");
            return -EPIPE;
        }
        if (pfd[0].revents & POLLIN) {
            int rc = xen_ioreq_dispatch(&b->srv, on_mmio, &b->mmio);
            if (rc < 0) {
                vg_err("event channel: %s", strerror(-rc));
                return rc;
            }
        }
    }
}

static void report(const struct backend *b)
{
    const struct mmio_counters *m = &b->mmio.ctr;
    const struct blk_counters *k = &b->blk.ctr;
    vg_info("served %llu chains (%llu notifies, %llu interrupts, %llu resets, %llu guest errors); "
            "blk reads %llu writes %llu flushes %llu ioerr %llu unsupp %llu; "
            "maps %llu unmaps %llu pages %llu (kept: hits %llu misses %llu evictions %llu); "
            "ioreqs %llu rejected %llu",
            (unsigned long long)m->chains, (unsigned long long)m->notifies,
            (unsigned long long)m->interrupts, (unsigned long long)m->resets,
            (unsigned long long)m->guest_errors, (unsigned long long)k->reads,
            (unsigned long long)k->writes, (unsigned long long)k->flushes,
            (unsigned long long)k->ioerr, (unsigned long long)k->unsupp,
            (unsigned long long)b->gmem.stats.map_calls,
            (unsigned long long)b->gmem.stats.unmap_calls,
            (unsigned long long)b->gmem.stats.pages_mapped,
            (unsigned long long)b->gmem.stats.persist_hits,
            (unsigned long long)b->gmem.stats.persist_misses,
            (unsigned long long)b->gmem.stats.persist_evictions,
            (unsigned long long)b->srv.ctr.handled, (unsigned long long)b->srv.ctr.rejected);
}

/* With --xenstore, the toolstack's directory supplies what the command line did not. */
static int xenstore_config(struct backend *b)
{
    int rc = xsdev_open(&b->xs, &b->cfg);
    if (rc < 0) {
        xsdev_fail(&b->xs, "virtio-grant: cannot read the device directory");
        return rc;
    }
    rc = vg_config_check(&b->cfg);
    if (rc < 0)
        xsdev_fail(&b->xs, "virtio-grant: invalid device configuration");
    return rc;
}

int main(int argc, char **argv)
{
    static struct backend b = { .sigfd = -1 };
    if (argc >= 2 && !strcmp(argv[1], "watch")) {
        vg_log_init(VG_LOG_INFO, "virtio-grant[watch]");
        return xswatch_run(argc - 2, argv + 2);
    }
    int rc = vg_config_parse(&b.cfg, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    vg_close_inherited_fds();
    char who[96];
    snprintf(who, sizeof(who), "virtio-grant[dom%u blk%s%s]", b.cfg.domid,
             b.cfg.xenstore_id ? " " : "", b.cfg.xenstore_id ? b.cfg.xenstore_id : "");
    vg_log_init(b.cfg.log_level, who);
    if (b.cfg.xenstore_id && (rc = xenstore_config(&b)) < 0) {
        xsdev_close(&b.xs);
        return 1;
    }

    rc = setup(&b);
    if (rc == 0 && b.xs.xs)
        rc = xsdev_watch(&b.xs);
    /* Narrowed before libxl learns we are ready, i.e. before the guest runs. */
    if (rc == 0 && (rc = vg_sandbox_enter(&b.cfg.sandbox, &b.srv)) == 0)
        vg_sandbox_probe(&b.srv);
    /* libxl unpauses the guest once we are in InitWait: the ioreq server is live. */
    if (rc == 0 && b.xs.xs)
        rc = xsdev_set_state(&b.xs, XSDEV_INITWAIT);
    if (rc == 0) {
        vg_info("serving %s (%llu sectors%s) at 0x%llx in %s mode, irq %u", b.cfg.image,
                (unsigned long long)b.blk.capacity, b.cfg.read_only ? ", read-only" : "",
                (unsigned long long)b.cfg.base, gmem_mode_name(b.cfg.mode), b.cfg.irq);
        rc = serve(&b);
        report(&b);
    }
    teardown(&b);
    /* Closed only after the ioreq server is gone and every grant is unmapped. */
    if (b.xs.xs) {
        if (rc < 0)
            xsdev_fail(&b.xs, "virtio-grant: device failed, see the backend log");
        else
            xsdev_set_state(&b.xs, XSDEV_CLOSED);
        xsdev_close(&b.xs);
    }
    return rc < 0 ? 1 : 0;
}
