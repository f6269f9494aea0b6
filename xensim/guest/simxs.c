/* SPDX-License-Identifier: MIT */
/*
 * The simulated xenstored process: its connections and their messages.
 *
 * Wire: SOCK_SEQPACKET, one xenstore message (struct xsd_sockmsg + payload,
 * as on a real xenstored socket) per packet.  A client handle makes two
 * connections.  The first says XS_CONTROL "sim-hello\0<domid>\0" and is
 * answered "<id>\0<cookie>\0"; it then carries requests and replies.  The
 * second says XS_CONTROL "sim-events\0<id>\0<cookie>\0", is answered "OK\0",
 * and from then on only carries XS_WATCH_EVENT messages from the server, so
 * that a client can poll() it.  Events caused by a request are sent before
 * its reply, so they are pending by the time the request returns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/sim_internal.h"
#include "simxs_internal.h"
#include "xensim/harness.h"
#include "xensim/simxs.h"

#define MSG_MAX (sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX)

static void *encode(uint32_t type, uint32_t req_id, const void *a, size_t alen, const void *b,
                    size_t blen, size_t *len)
{
    struct xsd_sockmsg h = { .type = type, .req_id = req_id, .len = (uint32_t)(alen + blen) };
    char *p = malloc(sizeof(h) + alen + blen);
    if (!p)
        return NULL;
    memcpy(p, &h, sizeof(h));
    if (alen)
        memcpy(p + sizeof(h), a, alen);
    if (blen)
        memcpy(p + sizeof(h) + alen, b, blen);
    *len = sizeof(h) + alen + blen;
    return p;
}

static bool try_send(struct sxs_conn *c, const void *p, size_t len)
{
    if (send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len)
        return true;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
        c->dead = true;
    return false;
}

/* Takes p.  A reply waits alone; an event joins the connection's queue. */
static void put(struct sxs_conn *c, void *p, size_t len)
{
    if (!p) {
        c->dead = true; /* out of memory: losing a message silently would be worse */
        return;
    }
    if (c->dead || ((c->kind != SXS_EVT || c->evcount == 0) && try_send(c, p, len))) {
        free(p);
        return;
    }
    if (c->kind != SXS_EVT) {
        c->reply = p;
        c->reply_len = len;
        return;
    }
    /*
     * A client that never reads loses its oldest events rather than its
     * connection: a guest able to trigger events must not be able to cut
     * the backend off, and the newest events describe the current state.
     * (Xen's C xenstored drops the newest, once a guest's quota is hit.)
     */
    if (c->evcount == SXS_EVQ_MAX) {
        free(c->evq[c->evhead]);
        c->evhead = (c->evhead + 1) % SXS_EVQ_MAX;
        c->evcount--;
        c->evdropped++;
    }
    unsigned slot = (c->evhead + c->evcount++) % SXS_EVQ_MAX;
    c->evq[slot] = p;
    c->evlen[slot] = len;
}

void sxs_emit(struct sxs_conn *c, uint32_t type, uint32_t req_id, const void *a, size_t alen,
              const void *b, size_t blen)
{
    size_t len = 0;
    void *p = encode(type, req_id, a, alen, b, blen, &len);
    put(c, p, len);
}

static void flush(struct sxs_conn *c)
{
    if (c->reply && try_send(c, c->reply, c->reply_len)) {
        free(c->reply);
        c->reply = NULL;
    }
    while (c->evcount && try_send(c, c->evq[c->evhead], c->evlen[c->evhead])) {
        free(c->evq[c->evhead]);
        c->evhead = (c->evhead + 1) % SXS_EVQ_MAX;
        c->evcount--;
    }
}

static uint64_t new_cookie(void)
{
    uint64_t v;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
        return v;
    return xensim_now_ns() ^ ((uint64_t)getpid() << 32);
}

/* The first message on a connection says which half of a handle it is. */
static void handshake(struct sxs_server *s, struct sxs_conn *c, const struct xsd_sockmsg *h,
                      const char *pl)
{
    const char *v[3];
    int n = h->type == XS_CONTROL ? sxs_split(pl, h->len, v, 3) : -EINVAL;
    char buf[64];
    unsigned domid;
    c->dead = true;
    if (n == 2 && !strcmp(v[0], "sim-hello") && sxs_parse_domid(v[1], &domid) == 0) {
        c->kind = SXS_REQ;
        c->domid = (uint16_t)domid; /* the simulator trusts what a client says it is */
        c->id = ++s->next_id;
        c->cookie = new_cookie();
        c->dead = false;
        int k = snprintf(buf, sizeof(buf), "%" PRIu32 "%c%016" PRIx64, c->id, 0, c->cookie);
        sxs_emit(c, XS_CONTROL, h->req_id, buf, (size_t)k + 1, NULL, 0);
    } else if (n == 3 && !strcmp(v[0], "sim-events")) {
        char *end1, *end2;
        unsigned long id = strtoul(v[1], &end1, 10);
        uint64_t cookie = strtoull(v[2], &end2, 16);
        for (unsigned i = 0; i < SXS_MAX_CONNS && !*end1 && !*end2; i++) {
            struct sxs_conn *r = &s->conns[i];
            if (r->fd >= 0 && !r->dead && r->kind == SXS_REQ && !r->peer && r->id == id &&
                r->cookie == cookie) {
                c->kind = SXS_EVT;
                c->domid = r->domid;
                c->peer = r;
                r->peer = c;
                c->dead = false;
                sxs_emit(c, XS_CONTROL, h->req_id, "OK", 3, NULL, 0);
                break;
            }
        }
    }
}

static void on_message(struct sxs_server *s, struct sxs_conn *c, char *buf, size_t n)
{
    static char out[XENSTORE_PAYLOAD_MAX];
    struct xsd_sockmsg h;
    /* A malformed header is a protocol violation: xenstored drops the client. */
    if (n < sizeof(h)) {
        c->dead = true;
        return;
    }
    memcpy(&h, buf, sizeof(h));
    if (h.len != n - sizeof(h) || h.len > XENSTORE_PAYLOAD_MAX) {
        c->dead = true;
        return;
    }
    char *pl = buf + sizeof(h);
    pl[h.len] = '\0'; /* recv left room: string functions cannot run off */
    if (c->kind == SXS_NEW) {
        handshake(s, c, &h, pl);
        return;
    }
    if (c->kind != SXS_REQ) {
        c->dead = true; /* nothing is ever sent on an event connection */
        return;
    }
    uint32_t outlen;
    int rc = sxs_request(s, c, h.type, h.tx_id, pl, h.len, out, &outlen);
    if (rc == 0) {
        sxs_emit(c, h.type, h.req_id, out, outlen, NULL, 0);
        return;
    }
    const char *err = "EINVAL"; /* what xenstored says for an errno it cannot name */
    for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
        if (xsd_errors[i].errnum == -rc)
            err = xsd_errors[i].errstring;
    sxs_emit(c, XS_ERROR, h.req_id, err, strlen(err) + 1, NULL, 0);
}

static void service(struct sxs_server *s, struct sxs_conn *c, short revents)
{
    static char buf[MSG_MAX + 1];
    if (revents & POLLOUT)
        flush(c);
    if (revents & POLLIN) {
        ssize_t n = recv(c->fd, buf, MSG_MAX + 1, MSG_DONTWAIT);
        if (n > (ssize_t)MSG_MAX || n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            c->dead = true; /* oversized (truncated), closed or broken */
        else if (n > 0)
            on_message(s, c, buf, (size_t)n);
    } else if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
        c->dead = true;
    }
}

static void drop(struct sxs_conn *c)
{
    close(c->fd);
    free(c->reply);
    sxs_watches_free(c);
    sxs_txns_free(c); /* uncommitted: discarded, as when a client dies on Xen */
    while (c->evcount) {
        free(c->evq[c->evhead]);
        c->evhead = (c->evhead + 1) % SXS_EVQ_MAX;
        c->evcount--;
    }
    if (c->evdropped)
        fprintf(stderr, "simxs: dropped %lu events for a client not reading them\n",
                c->evdropped);
    c->fd = -1;
}

static void reap(struct sxs_server *s)
{
    /* A handle is both connections: losing either ends it. */
    for (unsigned i = 0; i < SXS_MAX_CONNS; i++)
        if (s->conns[i].fd >= 0 && s->conns[i].dead && s->conns[i].peer)
            s->conns[i].peer->dead = true;
    for (unsigned i = 0; i < SXS_MAX_CONNS; i++)
        if (s->conns[i].fd >= 0 && s->conns[i].dead)
            drop(&s->conns[i]);
}

static void accept_one(struct sxs_server *s)
{
    int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    for (unsigned i = 0; i < SXS_MAX_CONNS; i++) {
        struct sxs_conn *c = &s->conns[i];
        if (c->fd < 0) {
            memset(c, 0, sizeof(*c));
            c->fd = fd;
            c->kind = SXS_NEW;
            return;
        }
    }
    close(fd); /* full: the client's hello fails */
}

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

/* Returns when SIGTERM came; it can only arrive inside ppoll (wait_mask). */
static void serve(struct sxs_server *s, const sigset_t *wait_mask)
{
    struct pollfd pfd[SXS_MAX_CONNS + 1];
    unsigned idx[SXS_MAX_CONNS];
    for (;;) {
        unsigned n = 0;
        for (unsigned i = 0; i < SXS_MAX_CONNS; i++) {
            struct sxs_conn *c = &s->conns[i];
            if (c->fd < 0)
                continue;
            short ev = c->reply ? POLLOUT : POLLIN; /* one request at a time */
            if (c->evcount)
                ev |= POLLOUT;
            pfd[n] = (struct pollfd){ .fd = c->fd, .events = ev };
            idx[n++] = i;
        }
        pfd[n] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
        if (ppoll(pfd, n + 1, NULL, wait_mask) < 0) {
            if (errno == EINTR && stopping)
                return;
            if (errno == EINTR)
                continue;
            perror("simxs: poll");
            _exit(1);
        }
        for (unsigned k = 0; k < n; k++) {
            struct sxs_conn *c = &s->conns[idx[k]];
            if (pfd[k].revents && !c->dead)
                service(s, c, pfd[k].revents);
        }
        reap(s);
        /* Last, so that no slot is reused while this round's results refer to it. */
        if (pfd[n].revents & POLLIN)
            accept_one(s);
    }
}

static _Noreturn void child(pid_t parent, int lfd, int ready_fd)
{
    /* Die with the test; and do not hold its other descriptors open. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* it died before PDEATHSIG was armed */
        _exit(0);
    int lo = lfd < ready_fd ? lfd : ready_fd, hi = lfd < ready_fd ? ready_fd : lfd;
    close_range(3, (unsigned)lo - 1, 0);
    close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
    close_range((unsigned)hi + 1, ~0u, 0);
    /* simxs_stop's SIGTERM is taken between requests, so the server can clean up. */
    sigset_t term, none;
    sigemptyset(&none);
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_SETMASK, &term, NULL);
    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);

    struct sxs_server *s = calloc(1, sizeof(*s));
    if (!s || sxs_tree_init(&s->tree) < 0)
        _exit(1);
    s->lfd = lfd;
    for (unsigned i = 0; i < SXS_MAX_CONNS; i++)
        s->conns[i].fd = -1;
    if (write(ready_fd, "", 1) != 1)
        _exit(1);
    close(ready_fd);
    serve(s, &none);
    for (unsigned i = 0; i < SXS_MAX_CONNS; i++)
        if (s->conns[i].fd >= 0)
            drop(&s->conns[i]);
    sxs_tree_free(&s->tree);
    free(s);
    close(lfd);
    exit(0); /* not _exit: a sanitizer's leak check then covers the server too */
}

pid_t simxs_start(void)
{
    char name[XENSIM_SOCK_PATH_MAX];
    int n = snprintf(name, sizeof(name), "%s/xenstored", xensim_dir());
    if (n < 0 || (size_t)n >= sizeof(name))
        return -ENAMETOOLONG;
    /* Bound and listening before the fork: a client may connect at once. */
    int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (lfd < 0)
        return -errno;
    int rc = xensim_bind_sock(lfd, name);
    if (rc == 0 && listen(lfd, SXS_MAX_CONNS) < 0)
        rc = -errno;
    int ready[2];
    if (rc == 0 && pipe2(ready, O_CLOEXEC) < 0)
        rc = -errno;
    if (rc < 0) {
        close(lfd);
        return rc;
    }
    pid_t parent = getpid();
    fflush(NULL); /* else buffered test output is printed twice */
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        child(parent, lfd, ready[1]);
    }
    rc = pid < 0 ? -errno : 0;
    close(lfd);
    close(ready[1]);
    if (rc < 0) {
        close(ready[0]);
        return rc;
    }
    /* The child says when its tree exists; EOF means it failed. */
    char b;
    ssize_t r;
    while ((r = read(ready[0], &b, 1)) < 0 && errno == EINTR)
        ;
    close(ready[0]);
    if (r != 1) {
        waitpid(pid, NULL, 0);
        return -EIO;
    }
    return pid;
}

int simxs_stop(pid_t pid)
{
    if (pid <= 0)
        return -EINVAL;
    int st = sim_stop(pid);
    if (st == -1)
        return -ECHILD;
    if ((WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) || (WIFEXITED(st) && WEXITSTATUS(st) == 0))
        return 0;
    return -EIO; /* it crashed: the test should hear of it */
}
