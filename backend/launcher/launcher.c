/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "launcher/launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xenstore.h>

#include "common/checked.h"
#include "common/log.h"
#include "config/config.h"
#include "ipc/devmsg.h"
#include "launcher/adopt.h"
#include "launcher/closedirs.h"
#include "launcher/devproc.h"
#include "launcher/image.h"
#include "launcher/status.h"
#include "launcher/tsinput.h"

#define XENBUS_INITIALISING 1
#define XENBUS_INITWAIT 2
#define XENBUS_CLOSING 5
#define XENBUS_CLOSED 6

/* Directories refused once are not re-read on every watch event, until they go away. */
#define REFUSED_NAME_MAX 48
struct refusal {
    char name[REFUSED_NAME_MAX]; /* "<domain entry>/<device entry>" as listed */
};

struct launcher {
    struct xs_handle *xs;
    /*
     * The domain we run in.  Outside dom0 (a driver domain) xenstored refuses
     * XS_IS_DOMAIN_INTRODUCED (EACCES), so guest death is seen only as the
     * toolstack's online 0, Closing or removed directory; and closed
     * directories are ours to remove (closedirs.h).
     */
    uint16_t self;
    struct closedirs closed;
    int sigfd;
    bool stopping, lost_xenstore;
    bool force_ro; /* the operator's --read-only: every image opened read-only */
    int devnull;
    bool want_ram_size; /* foreign mode needs the guest's RAM size */
    struct image_policy images;
    const char *state_dir;
    struct adopt_dir state; /* device processes a restarted launcher adopts */
    unsigned restart_limit; /* replacements per device per minute; 0: never */
    uint64_t stop_timeout_ms; /* --stop-timeout: CLOSE to SIGKILL */
    char **dev_argv;
    struct devproc dev[LAUNCHER_MAX_DEVICES];
    struct refusal refused[LAUNCHER_MAX_DEVICES];
    enum gmem_mode mode; /* every device's, for the status table */
    unsigned too_long_names; /* at the last scan, to log only changes */
    struct status_request status;
};

static void launcher_usage(void)
{
    printf("usage: virtio-grant watch [--images DIR] [device options]\n"
           "\n"
           "Serve every disk the toolstack creates with backendtype=standalone,\n"
           "specification=virtio: for each directory under backend/virtio_disk in this\n"
           "domain's xenstore home, validate it, open its image, and start one jailed\n"
           "device process ('virtio-grant blk') for it.\n"
           "\n"
           "  --images DIR   open images only beneath DIR (no symlinks, no escape)\n"
           "  --state-dir DIR  where each device process is recorded, so that a launcher\n"
           "                 restarted after a crash adopts those still serving\n"
           "                 (default " ADOPT_DEFAULT_DIR ")\n"
           "  --restart-limit N  a device process killed while serving is replaced on\n"
           "                 the same ioreq server and state, at most N times a minute\n"
           "                 per device (default %u; 0: never, the device closes)\n"
           "  --stop-timeout MS  how long a device process may take to stop after it is\n"
           "                 told to close, before it is killed (default %u ms; a\n"
           "                 premapped foreign device of a large guest needs more)\n"
           "  --log-format text|json  json: one object per line, a device's domid and\n"
           "                 devid as fields (default text)\n"
           "  -V, --version  print the version\n"
           "  device options: --mode, --premap, --ram-base, --ram-size, --aio, --sandbox,\n"
           "                  --uid, --gid, --read-only, -v, -q (see 'virtio-grant --help');\n"
           "                  the toolstack sets the rest for each device\n",
           LAUNCHER_RESTART_LIMIT, DEVPROC_CLOSE_DEADLINE_MS);
}

static struct devproc *find_dev(struct launcher *L, uint16_t domid, uint32_t devid)
{
    for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++)
        if (L->dev[i].pid > 0 && L->dev[i].domid == domid && L->dev[i].devid == devid)
            return &L->dev[i];
    return NULL;
}

static bool was_refused(const struct launcher *L, const char *name)
{
    for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++)
        if (L->refused[i].name[0] && !strcmp(L->refused[i].name, name))
            return true;
    return false;
}

/* One line naming the guest, the device and the reason; nothing written, nothing opened. */
static void refuse(struct launcher *L, const char *name, const char *why)
{
    /* Toolstack values are quoted in @why: no control byte may forge a log line. */
    char clean[192];
    vg_log_sanitize(clean, sizeof(clean), why, strlen(why));
    vg_warn("backend/virtio_disk/%s: refused: %s", name, clean);
    for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++) {
        if (!L->refused[i].name[0]) {
            snprintf(L->refused[i].name, REFUSED_NAME_MAX, "%s", name);
            return;
        }
    }
}

/* A dead directory's refusal is forgotten, so a new one by that name is read again. */
static void forget_vanished_refusals(struct launcher *L)
{
    for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++) {
        if (!L->refused[i].name[0])
            continue;
        char path[96];
        unsigned n;
        snprintf(path, sizeof(path), TS_DIR "/%s", L->refused[i].name);
        char **e = xs_directory(L->xs, XBT_NULL, path, &n);
        if (!e)
            L->refused[i].name[0] = 0;
        free(e);
    }
}

/* The toolstack rewrote (part of) a refused directory: read it again on the next scan. */
static void forget_refusal_of(struct launcher *L, const char *changed)
{
    static const char prefix[] = TS_DIR "/";
    if (strncmp(changed, prefix, sizeof(prefix) - 1) != 0)
        return;
    const char *name = changed + sizeof(prefix) - 1;
    const char *slash = strchr(name, '/');
    const char *end = slash ? strchr(slash + 1, '/') : NULL;
    size_t len = end ? (size_t)(end - name) : strlen(name);
    for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++)
        if (L->refused[i].name[0] && strlen(L->refused[i].name) == len &&
            !strncmp(L->refused[i].name, name, len))
            L->refused[i].name[0] = 0;
}

/*
 * Written only while the directory exists, and in one transaction with that
 * check: after libxl removed the directory, a plain write would recreate it.
 */
static void write_state(struct launcher *L, uint16_t domid, uint32_t devid, int state,
                        const char *error)
{
    char path[96], val[12];
    snprintf(val, sizeof(val), "%d", state);
    for (int tries = 0; tries < 8; tries++) {
        xs_transaction_t t = xs_transaction_start(L->xs);
        if (t == XBT_NULL)
            break;
        int cur = ts_read_state_in(L->xs, t, domid, devid);
        bool ok = true;
        if (cur != -ENOENT && cur < state) {
            if (error) {
                snprintf(path, sizeof(path), TS_DIR "/%u/%u/error", domid, devid);
                ok = xs_write(L->xs, t, path, error, strlen(error));
            }
            snprintf(path, sizeof(path), TS_DIR "/%u/%u/state", domid, devid);
            ok = ok && xs_write(L->xs, t, path, val, strlen(val));
        }
        if (!ok) {
            xs_transaction_end(L->xs, t, true);
            break;
        }
        if (xs_transaction_end(L->xs, t, false))
            return;
        if (errno != EAGAIN)
            break;
    }
    vg_warn_dev(domid, devid, "writing state %d: %s", state, strerror(errno));
}

/* A process started or put in, recorded for a launcher restarted after a crash (adopt.h). */
static void record_pid(struct launcher *L, const struct devproc *d)
{
    int rc = adopt_record(&L->state, d->domid, d->devid, d->pid);
    if (rc < 0)
        vg_warn_dev(d->domid, d->devid,
                    "cannot record pid %d: a launcher restarted after a crash will not adopt it: %s",
                    (int)d->pid, strerror(-rc));
}

static void start_device(struct launcher *L, const char *name, uint16_t domid, uint32_t devid)
{
    struct devproc *slot = NULL;
    for (int i = 0; i < LAUNCHER_MAX_DEVICES && !slot; i++)
        if (L->dev[i].pid <= 0)
            slot = &L->dev[i];
    if (!slot) {
        refuse(L, name, "too many devices");
        return;
    }
    struct ts_device td;
    char why[160];
    if (ts_read_device(L->xs, domid, devid, L->want_ram_size, &td, why, sizeof(why)) < 0) {
        refuse(L, name, why);
        return;
    }
    int img = -1;
    if (L->force_ro)
        td.writable = false;
    if (image_open(&L->images, td.params, td.writable, &img, why, sizeof(why)) < 0) {
        refuse(L, name, why);
        return;
    }
    int rc = devproc_start(slot, &td, img, L->dev_argv, L->devnull);
    close(img);
    if (rc < 0) {
        vg_err_dev(domid, devid, "cannot start the device process: %s",
               strerror(-rc));
        return;
    }
    vg_info_dev(domid, devid, "started pid %d for %s (%s)", (int)slot->pid,
            td.params, td.writable ? "rw" : "ro");
    record_pid(L, slot);
}

/* A device process left serving by a launcher that is gone (adopt_scan checked it). */
static void adopt_device(void *opaque, uint16_t domid, uint32_t devid, pid_t pid, int pidfd)
{
    struct launcher *L = opaque;
    for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++) {
        if (L->dev[i].pid <= 0) {
            devproc_adopt(&L->dev[i], domid, devid, pid, pidfd);
            vg_info_dev(domid, devid, "adopted pid %d, left serving by a launcher that is gone",
                        (int)pid);
            return;
        }
    }
    vg_warn_dev(domid, devid, "pid %d not adopted: too many devices", (int)pid);
    close(pidfd);
}

/* Closed is written, as for a child, once the process is gone: all its mappings with it. */
static void device_gone(struct launcher *L, struct devproc *d, const char *error)
{
    write_state(L, d->domid, d->devid, XENBUS_CLOSED, error);
    vg_info_dev(d->domid, d->devid, "Closed");
    adopt_forget(&L->state, d->domid, d->devid);
    devproc_release(d);
}

/*
 * Without xenstore the launcher can neither see new devices nor hear the
 * toolstack close them: stop every device, as on SIGTERM, and exit non-zero.
 */
static void xenstore_lost(struct launcher *L)
{
    if (L->stopping)
        return;
    vg_err("lost the xenstore connection: stopping every device");
    L->stopping = true;
    L->lost_xenstore = true;
    for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++)
        if (L->dev[i].pid > 0)
            devproc_close(&L->dev[i], DEVMSG_CLOSE_LAUNCHER_STOP);
}

/* Start a device process for every valid directory that waits for its backend. */
static void scan(struct launcher *L)
{
    unsigned nd, nv;
    char **doms = xs_directory(L->xs, XBT_NULL, TS_DIR, &nd);
    /* The real libxenstore reports a dead connection only as errors like these. */
    if (!doms && (errno == EBADF || errno == ENOTCONN || errno == EPIPE || errno == ECONNRESET))
        xenstore_lost(L);
    unsigned too_long = 0;
    for (unsigned i = 0; doms && i < nd; i++) {
        char dir[96], name[REFUSED_NAME_MAX];
        snprintf(dir, sizeof(dir), TS_DIR "/%s", doms[i]);
        char **devs = xs_directory(L->xs, XBT_NULL, dir, &nv);
        for (unsigned j = 0; devs && j < nv; j++) {
            uint64_t domid, devid;
            if (snprintf(name, sizeof(name), "%s/%s", doms[i], devs[j]) >= (int)sizeof(name)) {
                too_long++; /* longer than any canonical name, and than the refusal list's */
                continue;
            }
            if (was_refused(L, name))
                continue;
            if (ts_parse_id(doms[i], VG_DOMID_MAX, &domid) < 0 || !vg_domid_ok(domid)) {
                refuse(L, name, "the domain id is not a canonical guest domid");
                continue;
            }
            if (ts_parse_id(devs[j], TS_DEVID_MAX, &devid) < 0) {
                refuse(L, name, "the device id is not canonical decimal");
                continue;
            }
            if (find_dev(L, (uint16_t)domid, (uint32_t)devid))
                continue;
            int st = ts_read_state(L->xs, (uint16_t)domid, (uint32_t)devid);
            if (st == -EINVAL)
                refuse(L, name, "state is not a XenbusState");
            else if (st == XENBUS_INITIALISING)
                start_device(L, name, (uint16_t)domid, (uint32_t)devid);
            else if (st == XENBUS_CLOSING)
                /* Nothing is served here (refused, or never started): Closed is true now. */
                write_state(L, (uint16_t)domid, (uint32_t)devid, XENBUS_CLOSED, NULL);
            else if (st == XENBUS_CLOSED && L->self != 0 &&
                     ts_online_is(L->xs, XBT_NULL, (uint16_t)domid, (uint32_t)devid, "0"))
                /* The grace starts once libxl has let go too: online 0. */
                closedirs_note(&L->closed, (uint16_t)domid, (uint32_t)devid, devproc_now_ms());
        }
        free(devs);
    }
    free(doms);
    /* Said when the count changes, not on every scan: no line per watch event. */
    if (too_long && too_long != L->too_long_names)
        vg_warn(TS_DIR ": %u device directories refused: names longer than %d bytes",
                too_long, REFUSED_NAME_MAX - 1);
    L->too_long_names = too_long;
}

/* Guest death, Closing, online=0 or a removed directory: tell the device. */
static void check_devices(struct launcher *L)
{
    for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++) {
        struct devproc *d = &L->dev[i];
        if (d->pid <= 0 || d->close_sent)
            continue;
        if (L->self == 0 && !xs_is_domain_introduced(L->xs, d->domid)) {
            devproc_close(d, DEVMSG_CLOSE_GUEST_GONE);
            continue;
        }
        int st = ts_read_state(L->xs, d->domid, d->devid);
        char *online = ts_read_node(L->xs, d->domid, d->devid, "online");
        if (st == -ENOENT)
            devproc_close(d, DEVMSG_CLOSE_DIR_GONE);
        else if (st < 0 || st >= XENBUS_CLOSING || (online && strcmp(online, "1") != 0))
            devproc_close(d, DEVMSG_CLOSE_TOOLSTACK);
        free(online);
    }
}

static void on_device_message(struct launcher *L, struct devproc *d)
{
    enum devproc_event ev = devproc_read(d);
    if (ev == DEVPROC_READY && d->cfg.resume) {
        /* The guest kept its state: it only waited, for this long. */
        vg_info_dev(d->domid, d->devid, "pid %d serving again, %llu ms after its predecessor died",
                    (int)d->pid, (unsigned long long)(devproc_now_ms() - d->died_ms));
    } else if (ev == DEVPROC_READY) {
        /* libxl unpauses the guest on InitWait: the ioreq server is live and jailed. */
        write_state(L, d->domid, d->devid, XENBUS_INITWAIT, NULL);
        vg_info_dev(d->domid, d->devid, "ready (InitWait)");
    }
}

/*
 * SIGKILLed, not by us, while serving (READY seen) a guest that is still
 * there: an operator, the OOM killer, a test.  The guest waits on the ioreq
 * server the dead process left, so a replacement can take over.  Any other
 * death is the device's own doing and is not retried: an exit is its
 * decision, and SIGSYS (the jail's kill), SIGSEGV or SIGABRT may be a guest
 * attacking it, which a replacement serving the same chains again would
 * only invite to try again.  A device whose processes keep being killed is
 * given up after restart_limit a minute.
 */
static bool may_restart(struct launcher *L, struct devproc *d, int status)
{
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL || d->killed_here || !d->ready ||
        L->stopping || d->close_sent || d->adopted || d->ioservid < 0 || d->state_fd < 0 ||
        L->restart_limit == 0)
        return false;
    uint64_t now = devproc_now_ms();
    if (now - d->restart_window_ms >= 60000) {
        d->restart_window_ms = now;
        d->restarts_in_window = 0;
    }
    if (d->restarts_in_window >= L->restart_limit) {
        vg_warn_dev(d->domid, d->devid, "replaced %u times within a minute: giving up",
                    d->restarts_in_window);
        return false;
    }
    d->restarts_in_window++;
    return true;
}

static int restart_device(struct launcher *L, struct devproc *d)
{
    pid_t old = d->pid;
    int rc = devproc_restart(d, L->dev_argv, L->devnull);
    if (rc < 0) {
        vg_err_dev(d->domid, d->devid, "cannot replace pid %d: %s", (int)old,
               strerror(-rc));
        return rc;
    }
    vg_info_dev(d->domid, d->devid, "pid %d replaces pid %d on ioreq server %d",
            (int)d->pid, (int)old, d->ioservid);
    record_pid(L, d);
    return 0;
}

static void reap(struct launcher *L)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++) {
            struct devproc *d = &L->dev[i];
            if (d->pid != pid)
                continue;
            const char *error = devproc_exited(d, status);
            if (may_restart(L, d, status) && restart_device(L, d) == 0)
                continue;
            device_gone(L, d, error);
        }
    }
}

static int live_devices(const struct launcher *L)
{
    int n = 0;
    for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++)
        n += L->dev[i].pid > 0;
    return n;
}

static void enforce_deadlines(struct launcher *L)
{
    uint64_t now = devproc_now_ms();
    for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++) {
        struct devproc *d = &L->dev[i];
        if (d->pid > 0 && d->deadline_ms && now >= d->deadline_ms) {
            char why[64];
            snprintf(why, sizeof(why), "did not stop within the deadline (%llu ms)",
                     (unsigned long long)d->close_deadline_ms);
            devproc_kill(d, why);
        }
    }
}

static int poll_timeout(const struct launcher *L)
{
    uint64_t now = devproc_now_ms(), next = UINT64_MAX;
    for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++)
        if (L->dev[i].pid > 0 && L->dev[i].deadline_ms && L->dev[i].deadline_ms < next)
            next = L->dev[i].deadline_ms;
    uint64_t wait = next == UINT64_MAX ? UINT64_MAX : next <= now ? 0 : next - now;
    if (!L->stopping) {
        uint64_t rm = closedirs_next_ms(&L->closed, now);
        wait = rm < wait ? rm : wait;
    }
    uint64_t st = status_next_ms(&L->status, now);
    wait = st < wait ? st : wait;
    return wait == UINT64_MAX ? -1 : wait > INT32_MAX ? INT32_MAX : (int)wait;
}

static void on_signal(struct launcher *L)
{
    struct signalfd_siginfo si;
    while (read(L->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD)
            continue;
        if (si.ssi_signo == SIGUSR1) {
            status_begin(&L->status, L->dev, LAUNCHER_MAX_DEVICES, devproc_now_ms());
            continue;
        }
        if (!L->stopping)
            vg_info("signal %u: stopping every device", si.ssi_signo);
        L->stopping = true;
        for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++)
            if (L->dev[i].pid > 0)
                devproc_close(&L->dev[i], DEVMSG_CLOSE_LAUNCHER_STOP);
    }
    reap(L);
}

static int serve(struct launcher *L)
{
    struct pollfd pfd[2 + 3 * LAUNCHER_MAX_DEVICES];
    int owner[2 + 3 * LAUNCHER_MAX_DEVICES];
    int xsfd = xs_fileno(L->xs);
    if (xsfd < 0) {
        vg_err("xs_fileno: %s", strerror(errno));
        return 1;
    }
    while (!L->stopping || live_devices(L) > 0) {
        int n = 0;
        pfd[n++] = (struct pollfd){ .fd = L->stopping ? -1 : xsfd, .events = POLLIN };
        pfd[n++] = (struct pollfd){ .fd = L->sigfd, .events = POLLIN };
        for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++) {
            if (L->dev[i].pid > 0 && L->dev[i].sock >= 0) {
                owner[n] = i;
                pfd[n++] = (struct pollfd){ .fd = L->dev[i].sock, .events = POLLIN };
            }
            if (L->dev[i].pid > 0 && L->dev[i].log.fd >= 0) {
                owner[n] = i;
                pfd[n++] = (struct pollfd){ .fd = L->dev[i].log.fd, .events = POLLIN };
            }
            if (L->dev[i].pid > 0 && L->dev[i].pidfd >= 0) {
                owner[n] = i;
                pfd[n++] = (struct pollfd){ .fd = L->dev[i].pidfd, .events = POLLIN };
            }
        }
        if (poll(pfd, (nfds_t)n, poll_timeout(L)) < 0 && errno != EINTR) {
            vg_err("poll: %s", strerror(errno));
            return 1;
        }
        if (pfd[1].revents & POLLIN)
            on_signal(L);
        if (pfd[0].revents & (POLLHUP | POLLERR))
            xenstore_lost(L); /* stopping: poll ignores its fd from now on */
        for (int k = 2; k < n; k++) {
            struct devproc *d = &L->dev[owner[k]];
            if (!pfd[k].revents || d->pid <= 0)
                continue;
            if (d->sock == pfd[k].fd)
                on_device_message(L, d);
            else if (d->log.fd == pfd[k].fd)
                devlog_relay(&d->log, d->domid, d->devid);
            else if (d->pidfd == pfd[k].fd) {
                /* not our child: no exit status to tell libxl */
                vg_info_dev(d->domid, d->devid, "adopted pid %d exited",
                        (int)d->pid);
                device_gone(L, d, NULL);
            }
        }
        if (pfd[0].revents & POLLIN) {
            char **ev;
            while ((ev = xs_check_watch(L->xs))) {
                forget_refusal_of(L, ev[XS_WATCH_PATH]);
                free(ev);
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                xenstore_lost(L);
            if (!L->stopping) {
                forget_vanished_refusals(L);
                scan(L);
            }
            check_devices(L);
        }
        enforce_deadlines(L);
        status_poll(&L->status, L->dev, LAUNCHER_MAX_DEVICES, gmem_mode_name(L->mode),
                    devproc_now_ms());
        if (!L->stopping)
            closedirs_run(&L->closed, L->xs, devproc_now_ms());
    }
    return L->lost_xenstore ? 1 : 0;
}

/* Our domid, from the domid node libxl (or xen-init-dom0) writes in our home. */
static int read_self(struct launcher *L)
{
    unsigned len;
    uint64_t id;
    char *s = xs_read(L->xs, XBT_NULL, "domid", &len);
    int rc = s && strlen(s) == len ? ts_parse_id(s, VG_DOMID_MAX, &id) : -EINVAL;
    free(s);
    if (rc < 0) {
        vg_err("cannot tell which domain this is: no canonical 'domid' in this domain's "
               "xenstore home (is the toolstack up?)");
        return rc;
    }
    L->self = (uint16_t)id;
    if (L->self != 0)
        vg_info("in driver domain %u: guest liveness from the toolstack's online/state and "
                "directory removal; closed directories are removed here",
                L->self);
    return 0;
}

/* Split our own options from the device's, and check the device's now, once. */
/* A device option the launcher fills in from each device's directory, or NULL. */
static const char *toolstack_option(const char *arg)
{
    static const char *const opts[] = { "--domid", "--image", "--base", "--size",
                                        "--irq", "--serial", "--control-fd" };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        size_t n = strlen(opts[i]);
        if (!strncmp(arg, opts[i], n) && (arg[n] == 0 || arg[n] == '='))
            return opts[i];
    }
    return NULL;
}

static int parse_options(struct launcher *L, int argc, char **argv)
{
    const char *images = NULL;
    enum vg_log_format fmt = VG_LOG_TEXT;
    L->dev_argv = calloc((size_t)argc + 5, sizeof(char *));
    if (!L->dev_argv)
        return -ENOMEM;
    int n = 0;
    L->dev_argv[n++] = "virtio-grant";
    L->dev_argv[n++] = "blk";
    L->dev_argv[n++] = "--control-fd";
    L->dev_argv[n++] = DEVPROC_CONTROL_FD_ARG;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            launcher_usage();
            return 1;
        }
        if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
            printf("virtio-grant " VG_VERSION "\n");
            return 1;
        }
        const char *per_device = toolstack_option(argv[i]);
        if (per_device) {
            fprintf(stderr, "virtio-grant: watch: %s is set for each device by the toolstack "
                            "(xenstore), not on the command line\n", per_device);
            return -EINVAL;
        }
        if (!strcmp(argv[i], "--images") && i + 1 < argc)
            images = argv[++i];
        else if (!strncmp(argv[i], "--images=", 9))
            images = argv[i] + 9;
        else if ((!strcmp(argv[i], "--log-format") && i + 1 < argc) ||
                 !strncmp(argv[i], "--log-format=", 13)) {
            /* The launcher's own: device processes log text, which it relays. */
            const char *v = argv[i][12] == '=' ? argv[i] + 13 : argv[++i];
            if (vg_log_format_parse(v, &fmt) < 0) {
                fprintf(stderr, "virtio-grant: --log-format is 'text' or 'json'\n");
                return -EINVAL;
            }
        } else if (!strcmp(argv[i], "--state-dir") && i + 1 < argc)
            L->state_dir = argv[++i];
        else if (!strncmp(argv[i], "--state-dir=", 12))
            L->state_dir = argv[i] + 12;
        else if ((!strcmp(argv[i], "--restart-limit") && i + 1 < argc) ||
                 !strncmp(argv[i], "--restart-limit=", 16)) {
            const char *v = argv[i][15] == '=' ? argv[i] + 16 : argv[++i];
            uint64_t limit;
            if (ts_parse_id(v, 1000, &limit) < 0) {
                fprintf(stderr, "virtio-grant: --restart-limit %s: a count from 0 to 1000\n", v);
                return -EINVAL;
            }
            L->restart_limit = (unsigned)limit;
        } else if ((!strcmp(argv[i], "--stop-timeout") && i + 1 < argc) ||
                   !strncmp(argv[i], "--stop-timeout=", 15)) {
            const char *v = argv[i][14] == '=' ? argv[i] + 15 : argv[++i];
            uint64_t ms;
            if (ts_parse_id(v, 600000, &ms) < 0 || ms < 100) {
                fprintf(stderr, "virtio-grant: --stop-timeout %s: milliseconds from 100 to "
                                "600000\n", v);
                return -EINVAL;
            }
            L->stop_timeout_ms = ms;
        }
        else
            L->dev_argv[n++] = argv[i];
    }
    struct vg_config c, plain;
    if (vg_config_parse(&c, n, L->dev_argv) != 0)
        return -EINVAL;
    /* What getopt resolved, abbreviations included ("--ir 40"): the fields the
     * toolstack sets per device must be as if no option had named them. */
    if (vg_config_parse(&plain, 4, L->dev_argv) != 0)
        return -EINVAL;
    if (c.base != plain.base || c.size != plain.size || c.irq != plain.irq ||
        c.serial != plain.serial || c.control_fd != plain.control_fd) {
        fprintf(stderr, "virtio-grant: watch: the MMIO window, irq, serial and control fd are "
                        "set for each device by the toolstack, not on the command line\n");
        return -EINVAL;
    }
    /* The combinations too, now rather than in every device process: with
     * what the launcher fills in per device (a guest, and in foreign mode its
     * RAM size from xenstore) standing in. */
    struct vg_config combo = c;
    combo.have_domid = true;
    combo.domid = 1;
    if (!gmem_mode_is_grant(combo.mode) && combo.ram_size == 0)
        combo.ram_size = VG_PAGE_SIZE;
    if (vg_config_check(&combo) != 0)
        return -EINVAL;
    L->mode = combo.mode;
    L->want_ram_size = !gmem_mode_is_grant(c.mode) && c.ram_size == 0;
    L->force_ro = c.read_only;
    vg_log_init(c.log_level, "virtio-grant[watch]");
    vg_log_set_format(fmt);
    int rc = image_policy_init(&L->images, images);
    if (rc < 0) {
        fprintf(stderr, "virtio-grant: --images %s: %s (an absolute directory)\n", images,
                strerror(-rc));
        return rc;
    }
    return 0;
}

int launcher_run(int argc, char **argv)
{
    static struct launcher L;
    for (int i = 0; i < LAUNCHER_MAX_DEVICES; i++)
        devproc_clear(&L.dev[i]);
    L.restart_limit = LAUNCHER_RESTART_LIMIT;
    /* Started with 0-2 closed, a received or opened fd could land on 2: the log. */
    L.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    while (L.devnull >= 0 && L.devnull <= 2)
        L.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    /* Blocked before anything else: a status request (SIGUSR1) that comes
     * during start-up waits for the signalfd instead of killing. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1); /* the status table */
    sigprocmask(SIG_BLOCK, &set, NULL);
    int rc = parse_options(&L, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    for (int i = 0; i < LAUNCHER_MAX_DEVICES && L.stop_timeout_ms; i++)
        L.dev[i].close_deadline_ms = L.stop_timeout_ms;
    /* A device that died must not take the launcher with it through a write. */
    signal(SIGPIPE, SIG_IGN);
    L.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    L.xs = xs_open(0);
    if (L.sigfd < 0 || !L.xs) {
        vg_err("launcher set-up: %s", strerror(errno));
        return 1;
    }
    if (read_self(&L) < 0)
        return 1;
    const char *sd = L.state_dir ? L.state_dir : ADOPT_DEFAULT_DIR;
    if ((rc = adopt_open(&L.state, sd)) < 0) {
        vg_err("--state-dir %s: %s (a directory only this user can write)", sd, strerror(-rc));
        return 1;
    }
    if (!xs_watch(L.xs, TS_DIR, "vg-dir") || !xs_watch(L.xs, "@releaseDomain", "vg-release")) {
        vg_err("xs_watch: %s", strerror(errno));
        return 1;
    }
    vg_info("dom%u: watching %s for new devices%s%s", L.self, TS_DIR,
            L.images.dir ? ", images under " : "", L.images.dir ? L.images.dir : "");
    adopt_scan(&L.state, adopt_device, &L);
    scan(&L);
    check_devices(&L); /* an adopted device whose guest went while no launcher watched */
    rc = serve(&L);
    adopt_close(&L.state);
    xs_close(L.xs);
    close(L.sigfd);
    free(L.dev_argv);
    return rc;
}
