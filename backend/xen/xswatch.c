/* SPDX-License-Identifier: MIT */
/*
 * `virtio-grant watch [blk options]`: the launcher for toolstack-created
 * disks.  It watches backend/virtio_disk under our home and, for each device
 * directory still in Initialising, starts `virtio-grant blk --xenstore D/N`
 * with the given options.  Each device runs in its own process so one guest's
 * device can fail, or be confined, without touching another's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xenstore.h>

#include "common/log.h"
#include "config/config.h"
#include "xen/xsdev.h"

#define WATCH_DIR "backend/virtio_disk"
#define MAX_CHILDREN 64

struct child {
    pid_t pid;
    uint16_t domid;
    unsigned devid;
};

struct watcher {
    struct xs_handle *xs;
    struct child kids[MAX_CHILDREN];
    int argc;
    char **argv; /* blk options to pass on */
};

static struct child *find_child(struct watcher *w, uint16_t domid, unsigned devid)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (w->kids[i].pid > 0 && w->kids[i].domid == domid && w->kids[i].devid == devid)
            return &w->kids[i];
    return NULL;
}

static void spawn(struct watcher *w, uint16_t domid, unsigned devid)
{
    struct child *slot = NULL;
    for (int i = 0; i < MAX_CHILDREN && !slot; i++)
        if (w->kids[i].pid <= 0)
            slot = &w->kids[i];
    if (!slot) {
        vg_err("dom%u device %u: too many devices, not started", domid, devid);
        return;
    }
    char id[32];
    snprintf(id, sizeof(id), "%u/%u", domid, devid);
    char **argv = calloc((size_t)w->argc + 5, sizeof(*argv));
    if (!argv)
        return;
    int n = 0;
    argv[n++] = "virtio-grant";
    argv[n++] = "blk";
    argv[n++] = "--xenstore";
    argv[n++] = id;
    for (int i = 0; i < w->argc; i++)
        argv[n++] = w->argv[i];
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    free(argv);
    if (pid < 0) {
        vg_err("dom%u device %u: fork: %s", domid, devid, strerror(errno));
        return;
    }
    *slot = (struct child){ .pid = pid, .domid = domid, .devid = devid };
    vg_info("dom%u device %u: started pid %d", domid, devid, (int)pid);
}

/* Start a process for every device directory that waits for its backend. */
static void scan(struct watcher *w)
{
    unsigned nd, nv;
    char **doms = xs_directory(w->xs, XBT_NULL, WATCH_DIR, &nd);
    for (unsigned i = 0; doms && i < nd; i++) {
        char dir[96], path[128];
        snprintf(dir, sizeof(dir), WATCH_DIR "/%s", doms[i]);
        char **devs = xs_directory(w->xs, XBT_NULL, dir, &nv);
        for (unsigned j = 0; devs && j < nv; j++) {
            uint16_t domid;
            unsigned devid, len;
            snprintf(path, sizeof(path), "%s/%s", doms[i], devs[j]);
            if (vg_parse_dev_id(path, &domid, &devid) < 0 || find_child(w, domid, devid))
                continue;
            snprintf(path, sizeof(path), "%s/%s/state", dir, devs[j]);
            char *st = xs_read(w->xs, XBT_NULL, path, &len);
            if (st && atoi(st) == XSDEV_INITIALISING)
                spawn(w, domid, devid);
            free(st);
        }
        free(devs);
    }
    free(doms);
}

static void close_for(struct watcher *w, const struct child *k)
{
    char path[128], state[128];
    unsigned len;
    snprintf(state, sizeof(state), WATCH_DIR "/%u/%u/state", k->domid, k->devid);
    char *st = xs_read(w->xs, XBT_NULL, state, &len);
    if (st && atoi(st) < XSDEV_CLOSED) {
        static const char why[] = "virtio-grant: the device process died";
        snprintf(path, sizeof(path), WATCH_DIR "/%u/%u/error", k->domid, k->devid);
        xs_write(w->xs, XBT_NULL, path, why, sizeof(why) - 1);
        xs_write(w->xs, XBT_NULL, state, "6", 1);
    }
    free(st);
}

static void reap(struct watcher *w)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < MAX_CHILDREN; i++) {
            struct child *k = &w->kids[i];
            if (k->pid != pid)
                continue;
            bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            if (WIFSIGNALED(status))
                vg_warn("dom%u device %u: pid %d killed by signal %d", k->domid, k->devid,
                        (int)pid, WTERMSIG(status));
            else
                vg_info("dom%u device %u: pid %d exited %d", k->domid, k->devid, (int)pid,
                        WEXITSTATUS(status));
            /* A dead device must not be restarted against the same directory:
             * close it on its behalf so libxl fails now rather than at its timeout. */
            if (!ok)
                close_for(w, k);
            k->pid = 0;
        }
    }
}

int xswatch_run(int argc, char **argv)
{
    static struct watcher w;
    w.argc = argc;
    w.argv = argv;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    w.xs = xs_open(0);
    if (sfd < 0 || !w.xs) {
        vg_err("watch set-up: %s", strerror(errno));
        return 1;
    }
    if (!xs_watch(w.xs, WATCH_DIR, "vg-watch")) {
        vg_err("xs_watch %s: %s", WATCH_DIR, strerror(errno));
        return 1;
    }
    vg_info("watching %s for new devices", WATCH_DIR);
    struct pollfd pfd[2] = { { .fd = xs_fileno(w.xs), .events = POLLIN },
                             { .fd = sfd, .events = POLLIN } };
    int rc = 0;
    for (;;) {
        if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
            rc = 1;
            break;
        }
        if (pfd[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) && si.ssi_signo != SIGCHLD) {
                vg_info("signal %u: stopping devices", si.ssi_signo);
                break;
            }
            reap(&w);
        }
        if (pfd[0].revents & POLLIN) {
            char **ev;
            while ((ev = xs_check_watch(w.xs)))
                free(ev);
            scan(&w);
        }
    }
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (w.kids[i].pid > 0)
            kill(w.kids[i].pid, SIGTERM);
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (w.kids[i].pid > 0)
            waitpid(w.kids[i].pid, NULL, 0);
    xs_close(w.xs);
    close(sfd);
    return rc;
}
