/* SPDX-License-Identifier: MIT */
/*
 * virtio-grant: `watch` is the launcher (launcher/); `blk` is one virtio
 * block device for one Xen guest, virtio-mmio or virtio-pci, in one process
 * that jails itself before the guest's first request.
 *
 * A device process started by the launcher gets its configuration and the
 * image fd on --control-fd; started by hand it opens --image itself, before
 * anything else.  Either way it never opens xenstore, and after set-up it
 * holds only its guest's Xen handles, the image, the control socket and its
 * signalfd.  Set-up is staged and torn down in mirror image.  The same
 * sources link against the real Xen libraries or against xensim.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xengnttab.h>

#include "common/log.h"
#include "config/config.h"
#include "devices/blk.h"
#include "gmem/gmem.h"
#include "ipc/devmsg.h"
#include "launcher/image.h"
#include "launcher/launcher.h"
#include "sandbox/probe.h"
#include "sandbox/rules.h"
#include "sandbox/sandbox.h"
#include "transport/mmio.h"
#include "transport/pci.h"
#include "transport/resume.h"
#include "transport/saved.h"
#include "xen/ioreq.h"

/* Enough grants for the rings, one indirect table and one maximal chain. */
#define GRANTS_NEEDED (GMEM_MAX_CHAIN_PAGES + 16)
/* How long a launched device waits for its CONFIG before giving up. */
#define CONFIG_WAIT_MS 10000

struct backend {
    struct vg_config cfg;
    char serial[DEVMSG_SERIAL_BYTES + 1];
    int image_fd;
    struct blk_dev blk;
    bool blk_open;
    xengnttab_handle *gnt;
    struct xen_ioreq_srv srv;
    bool srv_open;
    struct gmem gmem;
    bool gmem_open;
    struct mmio_dev mmio;
    bool mmio_open;
    /* --transport pci: the function in front of mmio's register file */
    struct pci_transport pci;
    bool pci_open;
    /* Who answers the window's accesses: mmio_access, or the PCI BAR. */
    xen_mmio_fn on_access;
    void *access_opaque;
    int sigfd;
    /* Launched: the state area (saved.h); resume: replacing a killed process on its server. */
    struct saved_area *saved;
    bool resume;
    int ioservid;
};

static void on_mmio(void *opaque, uint64_t off, uint32_t size, bool is_write, uint64_t *val)
{
    mmio_access(opaque, off, size, is_write, val);
}

/* The transport's hooks into Xen; failures are logged where they happen. */
static void pci_move_window(void *srv, uint64_t base, uint64_t size)
{
    xen_ioreq_move_window(srv, base, size);
}

static void pci_set_intx(void *srv, unsigned level)
{
    xen_ioreq_set_intx(srv, level);
}

static void pci_inject_msi(void *srv, uint64_t addr, uint32_t data)
{
    xen_ioreq_inject_msi(srv, addr, data);
}

/*
 * The function at slot N of bus 0: its configuration space is this
 * server's from here, and its BAR the window once the guest places it.
 */
static int setup_pci(struct backend *b)
{
    const struct pci_host host = { .move_window = pci_move_window, .set_intx = pci_set_intx,
                                   .inject_msi = pci_inject_msi, .opaque = &b->srv };
    int rc = pci_init(&b->pci, &b->mmio, &host);
    if (rc < 0) {
        vg_err("virtio-pci set-up: %s", strerror(-rc));
        return rc;
    }
    b->pci_open = true;
    xen_ioreq_set_pcidev(&b->srv, XEN_IOREQ_SBDF(0, 0, b->cfg.pci_slot, 0), pci_config_access,
                         &b->pci);
    if ((rc = xen_ioreq_map_pcidev(&b->srv)) < 0)
        return rc;
    b->on_access = pci_bar_access;
    b->access_opaque = &b->pci;
    return 0;
}

static void teardown(struct backend *b)
{
    if (b->pci_open) {
        pci_shutdown(&b->pci); /* waits for the image I/O in flight */
        mmio_fini(&b->mmio);
    } else if (b->mmio_open) {
        mmio_shutdown(&b->mmio); /* waits for the image I/O in flight */
        mmio_fini(&b->mmio);
    }
    if (b->gmem_open)
        gmem_fini(&b->gmem);
    /* A kill from here on must not bring a replacement to a server about to go. */
    if (b->saved && b->srv_open && b->srv.created)
        b->saved->closing = 1;
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
    int rc = blk_open_fd(&b->blk, b->image_fd, c->read_only, b->serial,
                         blk_ops.queue_size_max);
    b->image_fd = -1; /* owned by blk now, closed on failure */
    if (rc < 0) {
        vg_err("cannot serve the image (a regular file or a block device): %s", strerror(-rc));
        return rc;
    }
    b->blk_open = true;
    /* Before the jail: the ring is created, locked to the image and enabled here. */
    if ((rc = blk_start_aio(&b->blk, c->aio)) < 0)
        return rc;
    b->cfg.sandbox.aio_engine = b->blk.aio.engine; /* also named by the closing report */

    if (b->resume && b->saved->closing) {
        vg_err("the process this one replaces was tearing the device down: nothing to resume");
        return -ESTALE;
    }
    /* A PCI device has no window (size 0) until the guest places its BAR. */
    bool pci = c->transport == VG_TRANSPORT_PCI;
    rc = xen_ioreq_attach(&b->srv, c->domid, pci ? 0 : c->base, pci ? 0 : c->size,
                          pci ? 0 : c->irq, b->resume ? b->ioservid : -1);
    if (rc < 0)
        return rc;
    b->srv_open = true;

    /* Before gnttab exists: restricting all would turn it into /dev/null. */
    if ((rc = vg_sandbox_restrict_xen(&c->sandbox, c->domid)) < 0)
        return rc;
    if (gmem_mode_is_grant(c->mode)) {
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

    /* Grant mode hands gmem no foreign handle: it cannot map guest RAM. */
    rc = gmem_init(&b->gmem, c->mode, c->domid, b->gnt,
                   gmem_mode_is_grant(c->mode) ? NULL : b->srv.fmem, c->ram_base, c->ram_size);
    if (rc < 0) {
        vg_err("guest memory set-up: %s", strerror(-rc));
        return rc;
    }
    b->gmem_open = true;

    /* A PCI function raises its own interrupts (x86 Xen has no set_irq_level). */
    rc = mmio_init(&b->mmio, &blk_ops, &b->blk, &b->gmem, gmem_mode_is_grant(c->mode),
                   pci ? NULL : xen_ioreq_set_irq, &b->srv);
    if (rc < 0) {
        vg_err("device set-up: %s", strerror(-rc));
        return rc;
    }
    b->mmio_open = true;
    b->on_access = on_mmio;
    b->access_opaque = &b->mmio;
    if (pci && (rc = setup_pci(b)) < 0)
        return rc;
    if (b->saved && !b->resume) {
        saved_init(b->saved);
        b->mmio.saved = b->saved;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1); /* a stats report, for benchmarks that sample per workload */
    sigprocmask(SIG_BLOCK, &set, NULL);
    /* A launcher that is gone leaves stderr a pipe without a reader: log lines are lost,
     * the process is not. */
    signal(SIGPIPE, SIG_IGN);
    b->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
    if (b->sigfd < 0) {
        rc = -errno;
        vg_err("signalfd: %s", strerror(errno));
        return rc;
    }
    return 0;
}

/*
 * A message from the launcher while serving: CLOSE, or a status request
 * answered on the spot.  A
 * launcher that is gone (crashed: an orderly one sends CLOSE first) is no
 * reason to fail the guest: serve on, and a restarted launcher adopts this
 * process (launcher/adopt.h) and stops it with SIGTERM when the time comes.
 */
/* 1: CLOSE; 0: carry on; -EPROTO: the launcher said something it never says. */
static int launcher_says_close(struct backend *b, bool *gone)
{
    struct devmsg m;
    int rc = devmsg_recv(b->cfg.control_fd, &m, NULL);
    if (rc == -EAGAIN)
        return 0;
    /* ECONNRESET: it died with a message of ours unread */
    if (rc == -EPIPE || rc == -ECONNRESET) {
        vg_info("the launcher is gone: serving on until a new one stops this device");
        *gone = true;
        return 0;
    }
    if (rc == 0 && m.type == DEVMSG_STATS_REQ) {
        /* The launcher's status table (its SIGUSR1): lifetime peak, no window reset. */
        struct devmsg r = { .type = DEVMSG_STATS,
                            .stats = { .chains = b->mmio.ctr.chains,
                                       .pages_now = b->gmem.stats.pages_now,
                                       .pages_peak = b->gmem.stats.pages_peak } };
        if (devmsg_send(b->cfg.control_fd, &r, -1) < 0)
            vg_warn("cannot answer the launcher's status request");
        return 0;
    }
    if (rc < 0 || m.type != DEVMSG_CLOSE) {
        vg_err("unexpected message from the launcher: shutting down");
        return -EPROTO; /* a failure, not a close: DOWN says so, and the exit status */
    }
    vg_info("closing: %s", devmsg_close_reason_name(m.arg));
    return 1;
}

/*
 * SIGUSR1: the counters so far, and the peaks since the previous report, on
 * one line; then those peaks start again.  A benchmark sends it at each
 * workload's start and end and takes differences, so each workload gets its
 * own map calls and peaks without restarting the device.
 */
static void report_window(struct backend *b)
{
    struct gmem_stats *g = &b->gmem.stats;
    struct mmio_counters *m = &b->mmio.ctr;
    vg_info("stats: chains %llu maps %llu unmaps %llu grant copies %llu pages mapped now %llu "
            "peak %llu; in flight peak %llu",
            (unsigned long long)m->chains, (unsigned long long)g->map_calls,
            (unsigned long long)g->unmap_calls, (unsigned long long)g->copy_calls,
            (unsigned long long)g->pages_now, (unsigned long long)g->pages_peak_window,
            (unsigned long long)m->inflight_peak_window);
    g->pages_peak_window = g->pages_now;
    m->inflight_peak_window = 0;
}

static void device_poll(struct backend *b)
{
    if (b->pci_open)
        pci_poll_device(&b->pci);
    else
        mmio_poll_device(&b->mmio);
}

static bool device_has_deferred(const struct backend *b)
{
    return b->pci_open ? pci_has_deferred(&b->pci) : mmio_has_deferred(&b->mmio);
}

static void device_run_deferred(struct backend *b)
{
    if (b->pci_open)
        pci_run_deferred(&b->pci);
    else
        mmio_run_deferred(&b->mmio);
}

static int serve(struct backend *b)
{
    /* The image engine's completions (none for the sync engine: fd -1 is skipped). */
    struct pollfd pfd[4] = {
        { .fd = xen_ioreq_fd(&b->srv), .events = POLLIN },
        { .fd = b->sigfd, .events = POLLIN },
        { .fd = b->cfg.control_fd, .events = POLLIN },
        { .fd = blk_event_fd(&b->blk), .events = POLLIN },
    };
    /* What the guest asked while no process served it (none on a first start). */
    if (b->resume)
        xen_ioreq_serve_stale(&b->srv, b->on_access, b->access_opaque);
    for (;;) {
        /* Deferred chains are served only once nothing else is pending. */
        int timeout = device_has_deferred(b) ? 0 : -1;
        int n = poll(pfd, 4, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            vg_err("poll: %s", strerror(errno));
            return -errno;
        }
        if (n == 0) {
            device_run_deferred(b);
            continue;
        }
        if (pfd[1].revents) {
            struct signalfd_siginfo si;
            ssize_t got = read(b->sigfd, &si, sizeof(si));
            if (got == (ssize_t)sizeof(si) && si.ssi_signo == SIGUSR1) {
                report_window(b);
                continue;
            }
            if (got == (ssize_t)sizeof(si))
                vg_info("signal %u: shutting down", si.ssi_signo);
            return 0;
        }
        bool gone = false;
        int said = pfd[2].revents ? launcher_says_close(b, &gone) : 0;
        if (said != 0)
            return said > 0 ? 0 : said;
        if (gone)
            pfd[2].fd = -1;
        if (pfd[0].revents & (POLLERR | POLLHUP)) {
            vg_err("event channel closed");
            return -EPIPE;
        }
        if (pfd[3].revents)
            device_poll(b);
        if (pfd[0].revents & POLLIN) {
            int rc = xen_ioreq_dispatch(&b->srv, b->on_access, b->access_opaque);
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
    const struct aio_stats *a = &b->blk.aio.stats;
    vg_info("image I/O %s: %llu submitted in %llu ring entries, %llu short, at most %llu chains "
            "in flight, %llu stalls",
            aio_engine_name(b->cfg.sandbox.aio_engine), (unsigned long long)a->submitted,
            (unsigned long long)a->enters, (unsigned long long)a->short_transfers,
            (unsigned long long)m->inflight_peak, (unsigned long long)m->stalls);
    vg_info("served %llu chains (%llu notifies, %llu deferrals, %llu interrupts, %llu resets, "
            "%llu guest errors); grant copies %llu (%llu bytes); blk reads %llu writes %llu flushes %llu write-through syncs "
            "%llu ioerr %llu unsupp %llu; maps %llu unmaps %llu pages %llu (kept: hits %llu "
            "misses %llu evictions %llu); pages mapped peak %llu; ioreqs %llu rejected %llu; "
            "map batches %llu",
            (unsigned long long)m->chains, (unsigned long long)m->notifies,
            (unsigned long long)m->deferrals, (unsigned long long)m->interrupts,
            (unsigned long long)m->resets, (unsigned long long)m->guest_errors,
            (unsigned long long)b->gmem.stats.copy_calls,
            (unsigned long long)b->gmem.stats.copy_bytes, (unsigned long long)k->reads, (unsigned long long)k->writes,
            (unsigned long long)k->flushes, (unsigned long long)k->write_through_syncs,
            (unsigned long long)k->ioerr, (unsigned long long)k->unsupp,
            (unsigned long long)b->gmem.stats.map_calls,
            (unsigned long long)b->gmem.stats.unmap_calls,
            (unsigned long long)b->gmem.stats.pages_mapped,
            (unsigned long long)b->gmem.stats.persist_hits,
            (unsigned long long)b->gmem.stats.persist_misses,
            (unsigned long long)b->gmem.stats.persist_evictions,
            (unsigned long long)b->gmem.stats.pages_peak,
            (unsigned long long)b->srv.ctr.handled, (unsigned long long)b->srv.ctr.rejected,
            (unsigned long long)m->batches);
    char by_queue[VIRTIO_MMIO_MAX_QUEUES * 21 + 1] = "";
    size_t len = 0;
    unsigned nq = b->mmio.ops ? b->mmio.ops->num_queues : 0;
    for (unsigned q = 0; q < nq && q < VIRTIO_MMIO_MAX_QUEUES; q++)
        len += (size_t)snprintf(by_queue + len, sizeof(by_queue) - len, " %llu",
                                (unsigned long long)m->chains_by_queue[q]);
    vg_info("chains by queue:%s", by_queue); /* no "served ": scripts key on that word */
    if (b->pci_open)
        vg_info("virtio-pci: %llu accesses refused, %llu interrupts held back, MSI-X %llu "
                "messages sent %llu dropped",
                (unsigned long long)b->pci.ctr.refused, (unsigned long long)b->pci.ctr.held_back,
                (unsigned long long)b->pci.msix.delivered,
                (unsigned long long)b->pci.msix.dropped);
}

/* STATE, right after CONFIG: the area this device's state lives in, mapped here. */
static int receive_state(struct backend *b)
{
    struct pollfd p = { .fd = b->cfg.control_fd, .events = POLLIN };
    struct devmsg m;
    int fd = -1, rc;
    if (poll(&p, 1, CONFIG_WAIT_MS) <= 0)
        rc = -ETIMEDOUT;
    else if ((rc = devmsg_recv(b->cfg.control_fd, &m, &fd)) == 0 && m.type != DEVMSG_STATE)
        rc = -EBADMSG;
    struct stat st;
    if (rc == 0 && (fstat(fd, &st) < 0 || st.st_size != SAVED_AREA_BYTES))
        rc = -EBADMSG;
    if (rc == 0) {
        void *area = mmap(NULL, SAVED_AREA_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (area == MAP_FAILED)
            rc = -errno;
        else
            b->saved = area;
    }
    if (fd >= 0)
        close(fd); /* the mapping is all this process keeps of it */
    if (rc < 0)
        vg_err("no state area from the launcher: %s", strerror(-rc));
    return rc;
}

/* The launcher's CONFIG, checked again here: it fills what the command line did not. */
static int receive_config(struct backend *b)
{
    struct vg_config *c = &b->cfg;
    struct pollfd p = { .fd = c->control_fd, .events = POLLIN };
    if (poll(&p, 1, CONFIG_WAIT_MS) <= 0) {
        vg_err("no configuration from the launcher");
        return -ETIMEDOUT;
    }
    struct devmsg m;
    int rc = devmsg_recv(c->control_fd, &m, &b->image_fd);
    if (rc == 0 && (m.type != DEVMSG_CONFIG || !devmsg_is_valid_config(&m.cfg))) {
        close(b->image_fd);
        b->image_fd = -1;
        rc = -EBADMSG;
    }
    if (rc < 0) {
        vg_err("bad configuration from the launcher: %s", strerror(-rc));
        return rc;
    }
    c->domid = m.cfg.domid;
    c->have_domid = true;
    c->devid = m.cfg.devid;
    c->base = m.cfg.base;
    c->size = m.cfg.size;
    c->irq = m.cfg.irq;
    c->read_only = c->read_only || m.cfg.read_only;
    if (m.cfg.ram_size)
        c->ram_size = m.cfg.ram_size;
    memcpy(b->serial, m.cfg.serial, sizeof(b->serial));
    b->resume = m.cfg.resume;
    b->ioservid = (int)m.cfg.ioservid;
    if ((rc = receive_state(b)) < 0)
        return rc;
    return vg_config_check(c);
}

/* By hand: the operator named the image; open it as the launcher would. */
static int open_own_image(struct backend *b)
{
    struct vg_config *c = &b->cfg;
    struct image_policy anywhere = { .dir_fd = -1 };
    char why[160];
    int rc = image_open(&anywhere, c->image, !c->read_only, &b->image_fd, why, sizeof(why));
    if (rc < 0)
        vg_err("--image %s: %s (%s)", c->image, why, strerror(-rc));
    if (c->serial)
        snprintf(b->serial, sizeof(b->serial), "%s", c->serial);
    else
        snprintf(b->serial, sizeof(b->serial), "vg-%u-0", c->domid);
    return rc;
}

static void tell_launcher(const struct backend *b, uint32_t type, uint32_t arg)
{
    struct devmsg m = { .type = type, .arg = arg };
    if (b->cfg.control_fd >= 0)
        devmsg_send(b->cfg.control_fd, &m, -1);
}

int main(int argc, char **argv)
{
    static struct backend b = { .sigfd = -1, .image_fd = -1 };
    if (argc >= 2 && !strcmp(argv[1], "watch"))
        return launcher_run(argc - 2, argv + 2);
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "sandbox-rules")) {
        /* The device process's allowlist for a configuration, as data, for review and tests. */
        enum gmem_mode mode;
        enum aio_pref engine = AIO_PREF_URING;
        if (gmem_mode_parse(argv[2], &mode) < 0 ||
            (argc == 4 && (aio_pref_parse(argv[3], &engine) < 0 || engine == AIO_PREF_AUTO))) {
            fprintf(stderr, "virtio-grant: sandbox-rules grant|grant-copy|foreign|foreign-premap "
                            "[io_uring|sync]\n");
            return 2;
        }
        vg_sandbox_print_rules(stdout, mode,
                               engine == AIO_PREF_SYNC ? AIO_ENGINE_SYNC : AIO_ENGINE_URING);
        return 0;
    }
    /*
     * A stats request (SIGUSR1) or a stop (SIGTERM, SIGINT, SIGHUP) that
     * comes during set-up waits for the signalfd: killed half way, the
     * process would leave what it had registered with Xen (an ioreq server
     * serving nobody) instead of tearing it down.  Set-up does not wait on
     * the guest, so the stop is served as soon as the event loop runs.
     */
    sigset_t early;
    sigemptyset(&early);
    sigaddset(&early, SIGUSR1);
    sigaddset(&early, SIGTERM);
    sigaddset(&early, SIGINT);
    sigaddset(&early, SIGHUP);
    sigprocmask(SIG_BLOCK, &early, NULL);
    int rc = vg_config_parse(&b.cfg, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    vg_close_fds_except(b.cfg.control_fd);
    bool launched = b.cfg.control_fd >= 0;
    vg_log_init(b.cfg.log_level, "virtio-grant[blk]");
    vg_log_set_format(b.cfg.log_format);
    rc = launched ? receive_config(&b) : open_own_image(&b);
    if (rc == 0) {
        char who[64];
        snprintf(who, sizeof(who), "virtio-grant[dom%u blk%u]", b.cfg.domid, b.cfg.devid);
        vg_log_set_who(who);
        vg_log_set_device(b.cfg.domid, (uint32_t)b.cfg.devid);
        rc = setup(&b);
    }
    /* Narrowed before the launcher tells libxl we are ready, i.e. before the guest runs. */
    struct vg_sandbox_fds fds = { .image = b.blk.fd, .control = b.cfg.control_fd,
                                  .sigfd = b.sigfd, .ring = blk_event_fd(&b.blk) };
    if (rc == 0) {
        fds.evtchn = xen_ioreq_fd(&b.srv);
        if ((rc = vg_sandbox_enter(&b.cfg.sandbox, &b.srv, &fds)) == 0)
            vg_sandbox_probe(&b.srv, b.gnt, &fds, &b.blk.aio);
    }
    uint32_t down = DEVMSG_DOWN_SETUP;
    if (rc == 0 && b.resume) {
        /* Inside the jail: the area and the rings are guest-influenced input. */
        struct resume_result res;
        resume_device(&b.mmio, b.saved, &res);
        if (res.refused)
            vg_warn("restarted: the saved state was refused, the guest's device needs a reset");
        else
            vg_info("restarted on ioreq server %d: %u chains taken before served again",
                    b.ioservid, res.chains);
    }
    if (rc == 0) {
        xen_ioreq_take_over(&b.srv); /* a replacement's server is its own from here */
        tell_launcher(&b, DEVMSG_READY, b.srv.id);
        if (b.pci_open)
            vg_info("serving %llu sectors%s as virtio-pci 00:%02x.0 in %s mode, %s image I/O",
                    (unsigned long long)b.blk.capacity, b.cfg.read_only ? ", read-only" : "",
                    b.cfg.pci_slot, gmem_mode_name(b.cfg.mode),
                    aio_engine_name(b.blk.aio.engine));
        else
            vg_info("serving %llu sectors%s at 0x%llx in %s mode, irq %u, %s image I/O",
                    (unsigned long long)b.blk.capacity, b.cfg.read_only ? ", read-only" : "",
                    (unsigned long long)b.cfg.base, gmem_mode_name(b.cfg.mode), b.cfg.irq,
                    aio_engine_name(b.blk.aio.engine));
        rc = serve(&b);
        down = rc < 0 ? DEVMSG_DOWN_SERVE : DEVMSG_DOWN_CLOSED;
    }
    if (b.image_fd >= 0)
        close(b.image_fd);
    teardown(&b);
    /* After the teardown, so that the unmaps count what it released too (the rings). */
    if (down != DEVMSG_DOWN_SETUP)
        report(&b);
    /* Only now, with the ioreq server gone and every grant unmapped. */
    tell_launcher(&b, DEVMSG_DOWN, down);
    return rc < 0 ? 1 : 0;
}
