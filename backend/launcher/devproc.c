/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "launcher/devproc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "ipc/devmsg.h"
#include "transport/saved.h"

/* A device gets a few messages per wakeup: it cannot keep the launcher to itself. */
#define MESSAGES_PER_WAKEUP 4

uint64_t devproc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void devproc_clear(struct devproc *d)
{
    uint64_t close_deadline = d->close_deadline_ms ? d->close_deadline_ms
                                                   : DEVPROC_CLOSE_DEADLINE_MS;
    *d = (struct devproc){ .sock = -1, .pidfd = -1, .log = { .fd = -1 }, .state_fd = -1,
                           .image_fd = -1, .ioservid = -1,
                           .close_deadline_ms = close_deadline };
}

/* Only async-signal-safe calls between fork and exec: the launcher has threads. */
static void exec_device(int ctl, int err_w, int devnull, char *const argv[])
{
    if (ctl == DEVPROC_CONTROL_FD)
        fcntl(ctl, F_SETFD, 0);
    else if (dup2(ctl, DEVPROC_CONTROL_FD) < 0)
        _exit(127);
    /* No terminal, no stdin/stdout; stderr is a pipe the launcher relays. */
    if (devnull >= 0 && (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0))
        _exit(127);
    if (dup2(err_w, 2) < 0)
        _exit(127);
    setsid();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv("/proc/self/exe", argv);
    _exit(127);
}

/* Fork and exec a process for d (its socket and log replaced), then CONFIG and STATE. */
static int spawn(struct devproc *d, char *const argv[], int devnull)
{
    int sp[2], err_w = -1, rc;
    struct devlog log;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        return -errno;
    /* The launcher's end never blocks: a device that stops reading must not
     * stop the launcher's one thread (devproc_ask_stats, devproc_close). */
    if (fcntl(sp[0], F_SETFL, O_NONBLOCK) < 0) {
        rc = -errno;
        close(sp[0]);
        close(sp[1]);
        return rc;
    }
    if ((rc = devlog_open(&log, &err_w)) < 0) {
        close(sp[0]);
        close(sp[1]);
        return rc;
    }
    pid_t pid = fork();
    if (pid == 0)
        exec_device(sp[1], err_w, devnull, argv);
    rc = pid < 0 ? -errno : 0;
    close(sp[1]);
    close(err_w);
    if (rc < 0) {
        close(sp[0]);
        close(log.fd);
        return rc;
    }
    d->pid = pid;
    d->sock = sp[0];
    d->log = log;
    d->ready = d->close_sent = d->down_seen = d->killed_here = false;
    d->stats_asked = d->stats_known = false; /* a new process: its own counters */
    d->down_status = 0;
    d->deadline_ms = 0;
    struct devmsg m = { .type = DEVMSG_CONFIG, .cfg = d->cfg };
    struct devmsg st = { .type = DEVMSG_STATE };
    if (devmsg_send(sp[0], &m, d->image_fd) < 0 || devmsg_send(sp[0], &st, d->state_fd) < 0)
        devproc_kill(d, "cannot send the configuration"); /* reaped like any other */
    return 0;
}

/* The area a device keeps its state in: sealed at its size, so no process can cut it short. */
static int make_state_area(void)
{
    int fd = memfd_create("virtio-grant-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, SAVED_AREA_BYTES) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

int devproc_start(struct devproc *d, const struct ts_device *td, int img, char *const argv[],
                  int devnull)
{
    devproc_clear(d);
    int state = make_state_area();
    if (state < 0)
        return state;
    d->state_fd = state;
    d->image_fd = fcntl(img, F_DUPFD_CLOEXEC, 3);
    if (d->image_fd < 0) {
        int rc = -errno;
        devproc_release(d);
        return rc;
    }
    d->domid = td->domid;
    d->devid = td->devid;
    struct devmsg_config *c = &d->cfg;
    c->domid = td->domid;
    c->devid = td->devid;
    c->base = td->base;
    c->size = 0x200; /* what libxl allocates per device */
    c->irq = td->irq;
    c->read_only = !td->writable;
    c->ram_size = td->ram_size;
    /* The guest sees this as the disk's serial: never the host path. */
    snprintf(c->serial, sizeof(c->serial), "vg-%u-%u", td->domid, td->devid);
    int rc = spawn(d, argv, devnull);
    if (rc < 0)
        devproc_release(d);
    return rc;
}

int devproc_restart(struct devproc *d, char *const argv[], int devnull)
{
    if (d->state_fd < 0 || d->image_fd < 0 || d->ioservid < 0)
        return -EINVAL;
    if (d->sock >= 0)
        close(d->sock);
    d->sock = -1;
    d->cfg.resume = 1;
    d->cfg.ioservid = (uint32_t)d->ioservid;
    d->died_ms = devproc_now_ms();
    return spawn(d, argv, devnull);
}

bool devproc_ask_stats(struct devproc *d)
{
    if (d->pid <= 0 || d->sock < 0 || !d->ready || d->close_sent || d->down_seen ||
        d->killed_here)
        return false;
    if (d->stats_asked)
        return true; /* still owed from the last request: one answer covers both */
    struct devmsg m = { .type = DEVMSG_STATS_REQ };
    int rc = devmsg_send(d->sock, &m, -1);
    if (rc == -EAGAIN) {
        /* Answers without reading what it is asked: requests pile up unread. */
        devproc_kill(d, "does not read the launcher's messages");
        return false;
    }
    if (rc < 0)
        return false;
    d->stats_asked = true;
    return true;
}

/* Through the pidfd where there is one: an adopted pid could be recycled once it exits. */
static void send_signal(struct devproc *d, int sig)
{
    if (d->pidfd >= 0)
        pidfd_send_signal(d->pidfd, sig, NULL, 0);
    else if (d->pid > 0) /* 0 or -1 would signal a whole group, or everything */
        kill(d->pid, sig);
}

void devproc_kill(struct devproc *d, const char *why)
{
    vg_warn_dev(d->domid, d->devid, "%s: killing pid %d", why, (int)d->pid);
    send_signal(d, SIGKILL);
    d->killed_here = true;
    d->deadline_ms = 0;
}

void devproc_adopt(struct devproc *d, uint16_t domid, uint32_t devid, pid_t pid, int pidfd)
{
    devproc_clear(d);
    d->pid = pid;
    d->pidfd = pidfd;
    d->adopted = true;
    d->ready = true;
    d->domid = domid;
    d->devid = devid;
}

void devproc_close(struct devproc *d, uint32_t reason)
{
    if (d->close_sent)
        return;
    d->close_sent = true;
    d->deadline_ms = devproc_now_ms() + d->close_deadline_ms;
    vg_info_dev(d->domid, d->devid, "closing: %s", devmsg_close_reason_name(reason));
    struct devmsg m = { .type = DEVMSG_CLOSE, .arg = reason };
    if (d->adopted) /* its socket went with its launcher: SIGTERM stops it the same way */
        send_signal(d, SIGTERM);
    else if (d->sock >= 0 && devmsg_send(d->sock, &m, -1) < 0)
        vg_warn_dev(d->domid, d->devid, "cannot send CLOSE; it will be killed");
}

enum devproc_event devproc_read(struct devproc *d)
{
    enum devproc_event ev = DEVPROC_NOTHING;
    for (int n = 0; n < MESSAGES_PER_WAKEUP && d->sock >= 0; n++) {
        struct devmsg m;
        int rc = devmsg_recv(d->sock, &m, NULL);
        if (rc == -EAGAIN)
            break;
        if (rc == -EPIPE) {
            close(d->sock);
            d->sock = -1;
            /* Going away, or hiding from CLOSE: either way it gets the deadline. */
            if (!d->deadline_ms && d->pid > 0)
                d->deadline_ms = devproc_now_ms() + d->close_deadline_ms;
            break;
        }
        /* After DOWN there is nothing left to say. */
        if (rc < 0 || d->down_seen ||
            !devmsg_is_valid_from_device(&m, d->ready, d->stats_asked)) {
            devproc_kill(d, "malformed message from the device process");
            close(d->sock);
            d->sock = -1;
            break;
        }
        if (m.type == DEVMSG_READY && d->ioservid >= 0 && m.arg != (uint32_t)d->ioservid) {
            devproc_kill(d, "the replacement serves another ioreq server");
            close(d->sock);
            d->sock = -1;
            break;
        }
        if (m.type == DEVMSG_READY) {
            d->ready = true;
            d->ioservid = (int)m.arg;
            ev = DEVPROC_READY;
        } else if (m.type == DEVMSG_STATS) {
            d->stats_asked = false;
            d->stats_known = true;
            d->stats = m.stats;
        } else {
            d->down_seen = true;
            d->down_status = m.arg;
        }
    }
    return ev;
}

const char *devproc_exited(struct devproc *d, int status)
{
    if (WIFSIGNALED(status))
        vg_warn_dev(d->domid, d->devid, "pid %d killed by signal %d", (int)d->pid,
                WTERMSIG(status));
    else
        vg_info_dev(d->domid, d->devid, "pid %d exited %d", (int)d->pid,
                WEXITSTATUS(status));
    /* Its last words (DOWN, log lines) may still be queued behind the SIGCHLD. */
    if (d->sock >= 0)
        devproc_read(d);
    devlog_relay(&d->log, d->domid, d->devid);
    devlog_close(&d->log, d->domid, d->devid);
    if (!WIFEXITED(status) || !d->down_seen)
        return "virtio-grant: the device process died";
    if (d->down_status == DEVMSG_DOWN_SETUP)
        return "virtio-grant: device set-up failed, see the backend log";
    if (d->down_status == DEVMSG_DOWN_SERVE || WEXITSTATUS(status) != 0)
        return "virtio-grant: the device failed, see the backend log";
    return NULL;
}

void devproc_release(struct devproc *d)
{
    if (d->sock >= 0)
        close(d->sock);
    if (d->pidfd >= 0)
        close(d->pidfd);
    if (d->state_fd >= 0)
        close(d->state_fd);
    if (d->image_fd >= 0)
        close(d->image_fd);
    devlog_close(&d->log, d->domid, d->devid);
    devproc_clear(d);
}
