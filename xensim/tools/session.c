/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xensim/harness.h"

int session_up(struct session *s, const char *tool, const char *backend,
               const struct session_mode *m, const struct simdom_params *p, uint64_t img_bytes,
               bool quiet)
{
    memset(s, 0, sizeof(*s));
    s->tool = tool;
    s->mode = m;
    s->pid = -1;
    s->d = simdom_create(p);
    if (!s->d)
        return -errno;
    snprintf(s->img, sizeof(s->img), "%s/%s.img", getenv("XENSIM_DIR"), tool);
    snprintf(s->log, sizeof(s->log), "%s/backend-%s.log", getenv("XENSIM_DIR"), m->name);
    int fd = open(s->img, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)img_bytes) < 0) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return rc;
    }
    close(fd);
    char ram[32];
    snprintf(ram, sizeof(ram), "%lluM", (unsigned long long)(p->ram_size >> 20));
    char *argv[16] = { (char *)backend, "blk", "--domid", "1", "--image", s->img };
    int n = 6;
    if (quiet)
        argv[n++] = "-q";
    for (int i = 0; m->args[i]; i++)
        argv[n++] = (char *)m->args[i];
    if (m->dma == VDRV_DMA_PHYS) {
        argv[n++] = "--ram-size";
        argv[n++] = ram;
    }
    argv[n] = NULL;
    s->pid = sim_spawn(argv, s->log);
    if (s->pid < 0)
        return -errno;
    struct vdrv_opts o = { .base = SESSION_MMIO_BASE, .irq = SESSION_IRQ, .dma = m->dma,
                           .queue_size = 128, .indirect = true, .event_idx = true,
                           .pool_pages = m->pool_pages };
    int rc = simdom_wait_backend(s->d, SESSION_MMIO_BASE, 5000);
    if (rc == 0)
        rc = vdrv_probe(&s->v, s->d, &o);
    return rc < 0 ? rc : 0;
}

uint64_t session_left_mapped(struct session *s)
{
    if (s->v.d)
        vdrv_remove(&s->v);
    return s->d ? simdom_grants_mapped_now(s->d) : 0;
}

int session_down(struct session *s, int rc)
{
    session_left_mapped(s);
    if (s->pid > 0) {
        int st = sim_stop(s->pid);
        if (rc == 0 && st != 0) {
            fprintf(stderr, "%s: %s: the backend exited with status 0x%x\n", s->tool,
                    s->mode->name, st);
            rc = -EIO;
        }
    }
    if (rc < 0) {
        fprintf(stderr, "%s: %s failed: %s; the backend's log (%s) ends:\n", s->tool,
                s->mode->name, strerror(-rc), s->log);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "tail -n 20 %s >&2", s->log);
        if (system(cmd) < 0)
            perror("system");
    }
    if (s->d)
        simdom_destroy(s->d);
    s->d = NULL;
    unlink(s->img);
    return rc;
}
