/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "launcher/devproc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "ipc/devmsg.h"

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
    *d = (struct devproc){ .sock = -1, .pidfd = -1, .log = { .fd = -1 } };
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

int devproc_start(struct devproc *d, const struct ts_device *td, int img, char *const argv[],
                  int devnull)
{
    int sp[2], err_w = -1, rc;
    struct devlog log;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
        return -errno;
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
    *d = (struct devproc){ .pid = pid, .sock = sp[0], .pidfd = -1, .domid = td->domid, .devid = td->devid,
                           .log = log };
    struct devmsg m = { .type = DEVMSG_CONFIG };
    m.cfg.domid = td->domid;
    m.cfg.devid = td->devid;
    m.cfg.base = td->base;
    m.cfg.size = 0x200; /* what libxl allocates per device */
    m.cfg.irq = td->irq;
    m.cfg.read_only = !td->writable;
    m.cfg.ram_size = td->ram_size;
    /* The guest sees this as the disk's serial: never the host path. */
    snprintf(m.cfg.serial, sizeof(m.cfg.serial), "vg-%u-%u", td->domid, td->devid);
    rc = devmsg_send(sp[0], &m, img);
    if (rc < 0)
        devproc_kill(d, "cannot send the configuration"); /* reaped like any other */
    return 0;
}

/* Through the pidfd where there is one: an adopted pid could be recycled once it exits. */
static void send_signal(struct devproc *d, int sig)
{
    if (d->pidfd >= 0)
        pidfd_send_signal(d->pidfd, sig, NULL, 0);
    else
        kill(d->pid, sig);
}

void devproc_kill(struct devproc *d, const char *why)
{
    vg_warn("dom%u device %u: %s: killing pid %d", d->domid, d->devid, why, (int)d->pid);
    send_signal(d, SIGKILL);
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
    d->deadline_ms = devproc_now_ms() + DEVPROC_CLOSE_DEADLINE_MS;
    vg_info("dom%u device %u: closing: %s", d->domid, d->devid, devmsg_close_reason_name(reason));
    struct devmsg m = { .type = DEVMSG_CLOSE, .arg = reason };
    if (d->adopted) /* its socket went with its launcher: SIGTERM stops it the same way */
        send_signal(d, SIGTERM);
    else if (d->sock >= 0 && devmsg_send(d->sock, &m, -1) < 0)
        vg_warn("dom%u device %u: cannot send CLOSE; it will be killed", d->domid, d->devid);
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
                d->deadline_ms = devproc_now_ms() + DEVPROC_CLOSE_DEADLINE_MS;
            break;
        }
        /* After DOWN there is nothing left to say. */
        if (rc < 0 || d->down_seen || !devmsg_is_valid_from_device(&m, d->ready)) {
            devproc_kill(d, "malformed message from the device process");
            close(d->sock);
            d->sock = -1;
            break;
        }
        if (m.type == DEVMSG_READY) {
            d->ready = true;
            ev = DEVPROC_READY;
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
        vg_warn("dom%u device %u: pid %d killed by signal %d", d->domid, d->devid, (int)d->pid,
                WTERMSIG(status));
    else
        vg_info("dom%u device %u: pid %d exited %d", d->domid, d->devid, (int)d->pid,
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
    devlog_close(&d->log, d->domid, d->devid);
    devproc_clear(d);
}
