/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "launcher/devlog.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/log.h"

int devlog_open(struct devlog *l, int *child_end)
{
    int p[2];
    l->fd = -1;
    l->len = 0;
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
        int e = -errno;
        close(p[0]);
        close(p[1]);
        return e;
    }
    l->fd = p[0];
    *child_end = p[1];
    return 0;
}

static void emit(struct devlog *l, uint16_t domid, uint32_t devid)
{
    if (l->len == 0)
        return;
    char clean[DEVLOG_LINE_MAX];
    vg_log_sanitize(clean, sizeof(clean), l->line, l->len);
    /* Text keeps "domD device V says: LINE", which scripts read (tests/e2e). */
    if (vg_log_format() == VG_LOG_JSON)
        vg_info_dev(domid, devid, "says: %s", clean);
    else
        vg_info("dom%u device %u says: %s", domid, devid, clean);
    l->len = 0;
}

void devlog_relay(struct devlog *l, uint16_t domid, uint32_t devid)
{
    char buf[1024];
    size_t budget = DEVLOG_BYTES_PER_WAKEUP;
    while (l->fd >= 0 && budget > 0) {
        ssize_t n = read(l->fd, buf, sizeof(buf) < budget ? sizeof(buf) : budget);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            devlog_close(l, domid, devid);
            return;
        }
        budget -= (size_t)n;
        for (ssize_t i = 0; i < n; i++) {
            char c = buf[i];
            if (c == '\n' || l->len + 1 >= sizeof(l->line)) {
                emit(l, domid, devid);
                if (c == '\n')
                    continue;
            }
            l->line[l->len++] = c ? c : '?';
        }
    }
}

void devlog_close(struct devlog *l, uint16_t domid, uint32_t devid)
{
    if (l->fd < 0)
        return;
    emit(l, domid, devid);
    close(l->fd);
    l->fd = -1;
}
