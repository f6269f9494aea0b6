/* SPDX-License-Identifier: MIT */
/*
 * libxenstore on the simulator, talking to xensim/guest/simxs.c.
 *
 * A handle is two SOCK_SEQPACKET connections to $XENSIM_DIR/xenstored, one
 * xenstore message per packet: requests and replies on one, and watch
 * events pushed by the server on the other.  xs_fileno() is the event
 * socket, so poll() on it means an event is pending, with no thread: the
 * backend may forbid them.  The connection acts as xensim_self_domid().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>
#include <xenstore.h>

#include "sim_internal.h"

struct xs_handle {
    int req, evt;
    uint32_t req_id;
};

#define HDR sizeof(struct xsd_sockmsg)

static int xs_connect(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    /* Abstract name, like every xensim socket: see xensim_bind_sock(). */
    int n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "%s/xenstored", xensim_dir());
    if (n < 0 || (size_t)n >= sizeof(sa.sun_path) - 1) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static bool send_msg(int fd, uint32_t type, uint32_t req_id, xs_transaction_t t,
                     struct iovec *iov, unsigned n)
{
    struct xsd_sockmsg h = { .type = type, .req_id = req_id, .tx_id = t };
    struct iovec v[5] = { { &h, HDR } };
    for (unsigned i = 0; i < n; i++) {
        v[i + 1] = iov[i];
        h.len += (uint32_t)iov[i].iov_len;
    }
    /* As the real library: refuse before sending what xenstored would refuse. */
    if (h.len > XENSTORE_PAYLOAD_MAX) {
        errno = E2BIG;
        return false;
    }
    struct msghdr m = { .msg_iov = v, .msg_iovlen = n + 1 };
    ssize_t r;
    while ((r = sendmsg(fd, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    return r == (ssize_t)(HDR + h.len);
}

/* One message: its payload, malloc'd and NUL-terminated beyond *len. */
static char *recv_msg(int fd, int flags, struct xsd_sockmsg *h, unsigned *len)
{
    char buf[HDR + XENSTORE_PAYLOAD_MAX + 1];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), flags)) < 0 && errno == EINTR)
        ;
    if (n <= 0) {
        if (n == 0)
            errno = EBADF; /* what the real library says when xenstored hangs up */
        return NULL;
    }
    memcpy(h, buf, HDR < (size_t)n ? HDR : (size_t)n);
    if ((size_t)n < HDR || (size_t)n >= sizeof(buf) || h->len != (size_t)n - HDR) {
        errno = EIO;
        return NULL;
    }
    char *p = malloc(h->len + 1);
    if (!p)
        return NULL;
    memcpy(p, buf + HDR, h->len);
    p[h->len] = '\0';
    *len = h->len;
    return p;
}

static int err_from_string(const char *s)
{
    for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
        if (!strcmp(s, xsd_errors[i].errstring))
            return xsd_errors[i].errnum;
    return EINVAL;
}

static char *exchange(int fd, uint32_t type, uint32_t req_id, xs_transaction_t t,
                      struct iovec *iov, unsigned n, unsigned *len)
{
    struct xsd_sockmsg h;
    unsigned rlen;
    if (!send_msg(fd, type, req_id, t, iov, n))
        return NULL;
    char *p = recv_msg(fd, 0, &h, &rlen);
    if (!p)
        return NULL;
    if (h.type == XS_ERROR || h.type != type || h.req_id != req_id) {
        errno = h.type == XS_ERROR ? err_from_string(p) : EIO;
        free(p);
        return NULL;
    }
    if (len)
        *len = rlen;
    return p;
}

static char *talk(struct xs_handle *h, xs_transaction_t t, uint32_t type, struct iovec *iov,
                  unsigned n, unsigned *len)
{
    /* The server judges t: an id it did not give this handle is ENOENT. */
    if (!h) {
        errno = EINVAL;
        return NULL;
    }
    for (unsigned i = 0; i < n; i++)
        if (!iov[i].iov_base && iov[i].iov_len) {
            errno = EINVAL;
            return NULL;
        }
    return exchange(h->req, type, ++h->req_id, t, iov, n, len);
}

static struct iovec str_iov(const char *s)
{
    return (struct iovec){ (void *)s, s ? strlen(s) + 1 : 1 };
}

static char *talk1(struct xs_handle *h, xs_transaction_t t, uint32_t type, const char *s,
                   unsigned *len)
{
    struct iovec v = str_iov(s);
    return talk(h, t, type, &v, 1, len);
}

static bool ok(char *reply)
{
    bool r = reply != NULL;
    free(reply);
    return r;
}

struct xs_handle *xs_open(unsigned long flags)
{
    (void)flags; /* all deprecated and ignored, as in the real library */
    struct xs_handle *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    char dom[8], *id = NULL, *ack = NULL;
    unsigned len;
    snprintf(dom, sizeof(dom), "%u", (unsigned)xensim_self_domid());
    struct iovec hello[2] = { str_iov("sim-hello"), str_iov(dom) };
    h->evt = -1;
    h->req = xs_connect();
    if (h->req < 0 || !(id = exchange(h->req, XS_CONTROL, ++h->req_id, XBT_NULL, hello, 2, &len)))
        goto fail;
    /* The reply is "<id>\0<cookie>\0": the event socket proves it with both. */
    if (strlen(id) + 1 >= len) {
        errno = EIO;
        goto fail;
    }
    struct iovec ev[3] = { str_iov("sim-events"), str_iov(id), str_iov(id + strlen(id) + 1) };
    h->evt = xs_connect();
    /* Waiting for the answer orders the pairing before any xs_watch. */
    if (h->evt < 0 || !(ack = exchange(h->evt, XS_CONTROL, ++h->req_id, XBT_NULL, ev, 3, NULL)))
        goto fail;
    free(id);
    free(ack);
    return h;
fail:;
    int e = errno;
    free(id);
    xs_close(h);
    errno = e;
    return NULL;
}

void xs_close(struct xs_handle *h)
{
    if (!h)
        return;
    if (h->req >= 0)
        close(h->req);
    if (h->evt >= 0)
        close(h->evt);
    free(h);
}

void xs_daemon_close(struct xs_handle *h)
{
    xs_close(h);
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len)
{
    return talk1(h, t, XS_READ, path, len);
}

bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data,
              unsigned int len)
{
    struct iovec v[2] = { str_iov(path), { (void *)data, len } };
    return ok(talk(h, t, XS_WRITE, v, 2, NULL));
}

bool xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    return ok(talk1(h, t, XS_MKDIR, path, NULL));
}

bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    return ok(talk1(h, t, XS_RM, path, NULL));
}

/* "a\0b\0" -> one block: the pointer array, then the strings it points into. */
static char **split_strings(char *s, unsigned len, unsigned *num)
{
    unsigned n = 0;
    for (unsigned i = 0; i < len; i++)
        n += s[i] == '\0';
    char **v = malloc(n * sizeof(char *) + len + 1);
    if (v) {
        char *copy = (char *)(v + n);
        memcpy(copy, s, len + 1);
        for (unsigned i = 0, off = 0; i < n; i++, off += (unsigned)strlen(copy + off) + 1)
            v[i] = copy + off;
        *num = n;
    }
    free(s);
    return v;
}

char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *num)
{
    unsigned len;
    char *s = talk1(h, t, XS_DIRECTORY, path, &len);
    return s ? split_strings(s, len, num) : NULL;
}

struct xs_permissions *xs_get_permissions(struct xs_handle *h, xs_transaction_t t,
                                          const char *path, unsigned int *num)
{
    unsigned len, n;
    char *s = talk1(h, t, XS_GET_PERMS, path, &len);
    char **v = s ? split_strings(s, len, &n) : NULL;
    if (!v)
        return NULL;
    struct xs_permissions *p = malloc((n ? n : 1) * sizeof(*p));
    for (unsigned i = 0; p && i < n; i++) {
        static const char letters[] = "nrwb"; /* index == XS_PERM_* bits */
        const char *l = v[i][0] ? strchr(letters, v[i][0]) : NULL;
        char *end;
        p[i].id = (unsigned)strtoul(v[i] + 1, &end, 10);
        p[i].perms = l ? (unsigned)(l - letters) : 0;
        if (!l || end == v[i] + 1 || *end) {
            free(p);
            p = NULL;
            errno = EIO;
        }
    }
    free(v);
    if (p)
        *num = n;
    return p;
}

bool xs_set_permissions(struct xs_handle *h, xs_transaction_t t, const char *path,
                        struct xs_permissions *perms, unsigned int num_perms)
{
    if (!path || (num_perms && !perms) || num_perms > XENSTORE_PAYLOAD_MAX / 2) {
        errno = EINVAL;
        return false;
    }
    char *buf = malloc((size_t)num_perms * 12 + 1), *p = buf;
    if (!buf)
        return false;
    for (unsigned i = 0; i < num_perms; i++) {
        unsigned bits = perms[i].perms & ~(unsigned)XS_PERM_OWNER;
        if (bits > (XS_PERM_READ | XS_PERM_WRITE)) {
            free(buf);
            errno = EINVAL;
            return false;
        }
        p += sprintf(p, "%c%u", "nrwb"[bits], perms[i].id) + 1;
    }
    struct iovec v[2] = { str_iov(path), { buf, (size_t)(p - buf) } };
    bool r = ok(talk(h, t, XS_SET_PERMS, v, 2, NULL));
    free(buf);
    return r;
}

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
    struct iovec v[2] = { str_iov(path), str_iov(token) };
    return ok(talk(h, XBT_NULL, XS_WATCH, v, 2, NULL));
}

bool xs_unwatch(struct xs_handle *h, const char *path, const char *token)
{
    struct iovec v[2] = { str_iov(path), str_iov(token) };
    return ok(talk(h, XBT_NULL, XS_UNWATCH, v, 2, NULL));
}

int xs_fileno(struct xs_handle *h)
{
    return h->evt;
}

static char **read_event(struct xs_handle *h, int flags, unsigned *num)
{
    struct xsd_sockmsg m;
    unsigned len, n;
    char *s = recv_msg(h->evt, flags, &m, &len);
    if (!s)
        return NULL;
    char **v = NULL;
    if (m.type == XS_WATCH_EVENT && len && s[len - 1] == '\0') {
        v = split_strings(s, len, &n);
        if (v && n != 2) {
            free(v);
            v = NULL;
        }
    } else {
        free(s);
    }
    if (!v && errno != ENOMEM)
        errno = EIO;
    if (v && num)
        *num = 2;
    return v;
}

char **xs_check_watch(struct xs_handle *h)
{
    return read_event(h, MSG_DONTWAIT, NULL);
}

char **xs_read_watch(struct xs_handle *h, unsigned int *num)
{
    return read_event(h, 0, num);
}

/*
 * As the real library: the server gives the id ("<id>\0"), XBT_NULL on
 * failure.  Requests name it in their header; see xensim/guest/simxs_txn.c.
 */
xs_transaction_t xs_transaction_start(struct xs_handle *h)
{
    char *s = talk1(h, XBT_NULL, XS_TRANSACTION_START, "", NULL);
    if (!s)
        return XBT_NULL;
    char *end;
    unsigned long id = strtoul(s, &end, 10);
    bool good = end != s && !*end && id != XBT_NULL && id <= UINT32_MAX;
    free(s);
    if (!good) {
        errno = EIO;
        return XBT_NULL;
    }
    return (xs_transaction_t)id;
}

/* Commit, or abort: t is over either way.  EAGAIN: the store changed meanwhile; start over. */
bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort)
{
    return ok(talk1(h, t, XS_TRANSACTION_END, abort ? "F" : "T", NULL));
}

static char *talk_domid(struct xs_handle *h, uint32_t type, unsigned domid, unsigned *len)
{
    char s[16];
    snprintf(s, sizeof(s), "%u", domid);
    return talk1(h, XBT_NULL, type, s, len);
}

bool xs_introduce_domain(struct xs_handle *h, unsigned int domid, unsigned long mfn,
                         unsigned int eventchn)
{
    char d[16], m[24], e[16];
    snprintf(d, sizeof(d), "%u", domid);
    snprintf(m, sizeof(m), "%lu", mfn);
    snprintf(e, sizeof(e), "%u", eventchn);
    struct iovec v[3] = { str_iov(d), str_iov(m), str_iov(e) };
    return ok(talk(h, XBT_NULL, XS_INTRODUCE, v, 3, NULL));
}

bool xs_release_domain(struct xs_handle *h, unsigned int domid)
{
    return ok(talk_domid(h, XS_RELEASE, domid, NULL));
}

bool xs_is_domain_introduced(struct xs_handle *h, unsigned int domid)
{
    char *r = talk_domid(h, XS_IS_DOMAIN_INTRODUCED, domid, NULL);
    bool yes = r && !strcmp(r, "T");
    free(r);
    return yes;
}

char *xs_get_domain_path(struct xs_handle *h, unsigned int domid)
{
    return talk_domid(h, XS_GET_DOMAIN_PATH, domid, NULL);
}
