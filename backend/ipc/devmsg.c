/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "ipc/devmsg.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"

int devmsg_send(int sock, const struct devmsg *m, int fd)
{
    struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (fd >= 0) {
        memset(&ctl, 0, sizeof(ctl));
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof(ctl.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n;
    do
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n == (ssize_t)sizeof(*m) ? 0 : -EIO;
}

/* Close every fd a message carried; return how many there were. */
static int close_carried(struct msghdr *mh, int *first)
{
    int count = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < nfd; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (count == 0 && first)
                *first = fd;
            else
                close(fd);
            count++;
        }
    }
    return count;
}

int devmsg_recv(int sock, struct devmsg *m, int *fd)
{
    /* One byte more than a message, so an oversized one shows as such. */
    char buf[sizeof(*m) + 1];
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf) };
    ssize_t n;
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    int got = -1;
    int nfds = close_carried(&mh, &got);
    if (n == 0 && nfds == 0)
        return -EPIPE;
    bool fds_ok = fd ? nfds == 1 : nfds == 0;
    if (n != (ssize_t)sizeof(*m) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || !fds_ok) {
        if (nfds > 0)
            close(got);
        return -EBADMSG;
    }
    memcpy(m, buf, sizeof(*m));
    if (fd)
        *fd = got;
    return 0;
}

bool devmsg_is_valid_config(const struct devmsg_config *c)
{
    return vg_domid_ok(c->domid) && c->read_only <= 1 && vg_irq_ok(c->irq) &&
           vg_window_ok(c->base, c->size) && memchr(c->serial, 0, sizeof(c->serial)) != NULL &&
           c->resume <= 1 && c->ioservid <= UINT16_MAX && (c->resume || c->ioservid == 0);
}

bool devmsg_is_valid_from_device(const struct devmsg *m, bool ready_seen, bool stats_asked)
{
    static const struct devmsg_config zero;
    static const struct devmsg_stats no_stats;
    if (memcmp(&m->cfg, &zero, sizeof(zero)) != 0)
        return false;
    if (m->type != DEVMSG_STATS && memcmp(&m->stats, &no_stats, sizeof(no_stats)) != 0)
        return false;
    switch (m->type) {
    case DEVMSG_READY:
        return !ready_seen && m->arg <= UINT16_MAX; /* ioservid_t */
    case DEVMSG_DOWN:
        return m->arg <= DEVMSG_DOWN_SERVE;
    case DEVMSG_STATS:
        /* Only as the answer to a request: a device cannot flood the launcher
         * with them.  The numbers are the device's word, printed as such. */
        return stats_asked && m->arg == 0;
    default:
        return false;
    }
}

const char *devmsg_close_reason_name(uint32_t reason)
{
    switch (reason) {
    case DEVMSG_CLOSE_TOOLSTACK:
        return "the toolstack closes the device";
    case DEVMSG_CLOSE_GUEST_GONE:
        return "the guest is gone";
    case DEVMSG_CLOSE_DIR_GONE:
        return "the device directory was removed";
    case DEVMSG_CLOSE_LAUNCHER_STOP:
        return "the launcher is stopping";
    default:
        return "unknown reason";
    }
}
