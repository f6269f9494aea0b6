/* SPDX-License-Identifier: MIT */
/*
 * The simulator's xenstored and its <xenstore.h> client: the tree, Xen's
 * permission rules between dom0 and a guest, watches (also as fd events a
 * poll loop sees), domain introduction, transactions, and the bounds a client
 * cannot pass.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xenstore.h>

#include "xensim/harness.h"
#include "xensim/simxs.h"

#define DOMU 5

struct fixture {
    struct sim_env env;
    pid_t server;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || sim_env_init(&f->env) < 0)
        return -1;
    f->server = simxs_start();
    if (f->server < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rc = simxs_stop(f->server);
    sim_env_fini(&f->env);
    free(f);
    return rc;
}

static struct xs_handle *open_as(unsigned domid)
{
    char s[16];
    snprintf(s, sizeof(s), "%u", domid);
    setenv("XENSIM_SELF_DOMID", s, 1);
    struct xs_handle *h = xs_open(0);
    unsetenv("XENSIM_SELF_DOMID");
    return h;
}

static void assert_value_in(struct xs_handle *h, xs_transaction_t t, const char *path,
                            const char *want)
{
    unsigned len = 12345;
    char *v = xs_read(h, t, path, &len);
    assert_non_null(v);
    assert_int_equal(len, strlen(want));
    assert_string_equal(v, want); /* also checks the terminator */
    free(v);
}

static void assert_value(struct xs_handle *h, const char *path, const char *want)
{
    assert_value_in(h, XBT_NULL, path, want);
}

static void assert_fails(bool ok, int err)
{
    int e = errno;
    assert_false(ok);
    assert_int_equal(e, err);
}

#define assert_null_errno(expr, err)                                                               \
    do {                                                                                           \
        void *p_ = (void *)(expr);                                                                 \
        int e_ = errno;                                                                            \
        assert_null(p_);                                                                           \
        assert_int_equal(e_, err);                                                                 \
    } while (0)

static bool wr_in(struct xs_handle *h, xs_transaction_t t, const char *path, const char *v)
{
    return xs_write(h, t, path, v, (unsigned)strlen(v));
}

static bool wr(struct xs_handle *h, const char *path, const char *v)
{
    return wr_in(h, XBT_NULL, path, v);
}

static bool set_perms_in(struct xs_handle *h, xs_transaction_t t, const char *path,
                         unsigned owner, unsigned other, unsigned who, unsigned perm)
{
    struct xs_permissions p[2] = { { owner, other }, { who, perm } };
    return xs_set_permissions(h, t, path, p, who == owner ? 1 : 2);
}

static bool set_perms(struct xs_handle *h, const char *path, unsigned owner, unsigned other,
                      unsigned who, unsigned perm)
{
    return set_perms_in(h, XBT_NULL, path, owner, other, who, perm);
}

/* The next event, which must be (path, token); none pending is a failure. */
static void expect_event(struct xs_handle *h, const char *path, const char *token)
{
    char **ev = xs_check_watch(h);
    if (!ev)
        fail_msg("no event, wanted %s (errno %d)", path, errno);
    assert_string_equal(ev[XS_WATCH_PATH], path);
    assert_string_equal(ev[XS_WATCH_TOKEN], token);
    free(ev);
}

static void expect_no_event(struct xs_handle *h)
{
    char **ev = xs_check_watch(h);
    if (ev)
        fail_msg("unexpected event %s %s", ev[0], ev[1]);
    assert_int_equal(errno, EAGAIN);
}

static bool fd_readable(struct xs_handle *h)
{
    struct pollfd p = { .fd = xs_fileno(h), .events = POLLIN };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0);
    assert_non_null(h);
    assert_true(wr(h, "/a/b", "hello"));
    assert_value(h, "/a/b", "hello");
    assert_value(h, "/a", ""); /* made on the way */
    assert_true(xs_mkdir(h, XBT_NULL, "/a/c"));
    assert_true(xs_mkdir(h, XBT_NULL, "/a/c")); /* exists: fine */
    assert_true(xs_write(h, XBT_NULL, "/a/bin", "x\0y", 3));
    unsigned len;
    char *v = xs_read(h, XBT_NULL, "/a/bin", &len);
    assert_int_equal(len, 3);
    assert_memory_equal(v, "x\0y", 4);
    free(v);

    unsigned n = 0;
    char **d = xs_directory(h, XBT_NULL, "/a", &n);
    assert_non_null(d);
    assert_int_equal(n, 3);
    assert_string_equal(d[0], "b");
    assert_string_equal(d[1], "c");
    assert_string_equal(d[2], "bin");
    free(d); /* one block */
    d = xs_directory(h, XBT_NULL, "/a/c", &n);
    assert_non_null(d);
    assert_int_equal(n, 0);
    free(d);
    d = xs_directory(h, XBT_NULL, "/local/domain", &n);
    assert_int_equal(n, 1);
    assert_string_equal(d[0], "0");
    free(d);

    assert_true(xs_rm(h, XBT_NULL, "/a"));
    assert_null_errno(xs_read(h, XBT_NULL, "/a/b", &len), ENOENT);
    assert_null_errno(xs_directory(h, XBT_NULL, "/a", &n), ENOENT);
    assert_true(xs_rm(h, XBT_NULL, "/a")); /* gone, but its parent is there */
    assert_fails(xs_rm(h, XBT_NULL, "/a/b/c"), ENOENT);
    assert_fails(xs_rm(h, XBT_NULL, "/"), EINVAL);

    char *p = xs_get_domain_path(h, 7);
    assert_string_equal(p, "/local/domain/7");
    free(p);
    unsigned num;
    struct xs_permissions *perms = xs_get_permissions(h, XBT_NULL, "/local/domain/0", &num);
    assert_int_equal(num, 1);
    assert_int_equal(perms[0].id, 0);
    assert_int_equal(perms[0].perms, XS_PERM_NONE);
    free(perms);

    /* An id the server did not give this handle names no transaction. */
    assert_fails(xs_transaction_end(h, XBT_NULL, false), ENOENT);
    assert_null_errno(xs_read(h, 1, "/local", &len), ENOENT);
    xs_close(h);
    xs_close(NULL);
}

static void test_relative_paths(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *u;
    assert_true(wr(h, "name", "dom0"));
    assert_value(h, "/local/domain/0/name", "dom0");
    assert_true(wr(h, "/local/domain/5", ""));
    assert_true(set_perms(h, "/local/domain/5", DOMU, XS_PERM_NONE, DOMU, 0));
    u = open_as(DOMU);
    assert_non_null(u);
    assert_true(wr(u, "data/x", "1"));
    assert_value(h, "/local/domain/5/data/x", "1");
    assert_value(u, "data/x", "1");

    /* Relative watches hear relative paths. */
    assert_true(xs_watch(u, "data", "rel"));
    expect_event(u, "data", "rel");
    assert_true(wr(h, "/local/domain/5/data/y", "2"));
    expect_event(u, "data/y", "rel");
    assert_true(xs_rm(h, XBT_NULL, "/local/domain/5"));
    expect_event(u, "data", "rel"); /* went with an ancestor */
    expect_no_event(u);
    xs_close(u);
    xs_close(h);
}

static void test_domu_access(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *u = open_as(DOMU);
    unsigned len, n;
    assert_non_null(u);
    assert_true(wr(h, "/secret", "s"));
    assert_null_errno(xs_read(u, XBT_NULL, "/secret", &len), EACCES);
    assert_null_errno(xs_read(u, XBT_NULL, "/secret/none", &len), EACCES); /* no ENOENT leak */
    assert_null_errno(xs_directory(u, XBT_NULL, "/", &n), EACCES);
    assert_null_errno(xs_get_permissions(u, XBT_NULL, "/secret", &n), EACCES);
    assert_fails(wr(u, "/secret", "mine"), EACCES);
    assert_fails(wr(u, "/secret/new", "mine"), EACCES);
    assert_fails(xs_mkdir(u, XBT_NULL, "/secret"), EACCES);
    assert_fails(xs_rm(u, XBT_NULL, "/secret"), EACCES);

    assert_true(set_perms(h, "/secret", 0, XS_PERM_NONE, DOMU, XS_PERM_READ));
    assert_value(u, "/secret", "s");
    assert_null_errno(xs_read(u, XBT_NULL, "/secret/none", &len), ENOENT);
    struct xs_permissions *p = xs_get_permissions(u, XBT_NULL, "/secret", &n);
    assert_int_equal(n, 2);
    assert_int_equal(p[1].id, DOMU);
    assert_int_equal(p[1].perms, XS_PERM_READ);
    free(p);
    assert_fails(wr(u, "/secret", "mine"), EACCES);

    assert_true(set_perms(h, "/secret", 0, XS_PERM_NONE, DOMU, XS_PERM_WRITE));
    assert_true(wr(u, "/secret", "mine"));
    assert_null_errno(xs_read(u, XBT_NULL, "/secret", &len), EACCES);
    assert_value(h, "/secret", "mine");
    /* Only the owner changes permissions; only dom0 manages domains. */
    assert_fails(set_perms(u, "/secret", DOMU, XS_PERM_NONE, DOMU, 0), EACCES);
    assert_fails(xs_introduce_domain(u, 9, 1, 1), EACCES);
    assert_fails(xs_release_domain(u, 0), EACCES);

    /* Everyone's default, from the first entry. */
    assert_true(set_perms(h, "/secret", 0, XS_PERM_READ | XS_PERM_WRITE, 0, 0));
    assert_value(u, "/secret", "mine");
    assert_true(xs_rm(u, XBT_NULL, "/secret"));
    xs_close(u);
    xs_close(h);
}

static void test_domu_owns_what_it_creates(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *u = open_as(DOMU);
    assert_true(xs_mkdir(h, XBT_NULL, "/backend/vif"));
    assert_true(set_perms(h, "/backend/vif", 0, XS_PERM_NONE, DOMU, XS_PERM_WRITE));
    assert_true(wr(u, "/backend/vif/5/0/state", "1"));

    unsigned n;
    const char *const made[] = { "/backend/vif/5", "/backend/vif/5/0", "/backend/vif/5/0/state" };
    for (unsigned i = 0; i < 3; i++) {
        struct xs_permissions *p = xs_get_permissions(h, XBT_NULL, made[i], &n);
        assert_non_null(p);
        assert_int_equal(n, 2); /* the rest of the list is inherited */
        assert_int_equal(p[0].id, DOMU);
        assert_int_equal(p[0].perms, XS_PERM_NONE);
        free(p);
    }
    assert_value(u, "/backend/vif/5/0/state", "1"); /* the owner may read */
    /* It may open its node to others, but not give it away. */
    assert_true(set_perms(u, "/backend/vif/5", DOMU, XS_PERM_NONE, 7, XS_PERM_READ));
    assert_fails(set_perms(u, "/backend/vif/5", 7, XS_PERM_NONE, 7, 0), EPERM);
    /* dom0's own creation under the same node stays dom0's. */
    assert_true(wr(h, "/backend/vif/x", ""));
    struct xs_permissions *p = xs_get_permissions(h, XBT_NULL, "/backend/vif/x", &n);
    assert_int_equal(p[0].id, 0);
    free(p);
    assert_fails(wr(u, "/backend/other", "1"), EACCES);
    xs_close(u);
    xs_close(h);
}

static void test_watches(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *w = xs_open(0);
    assert_true(xs_watch(w, "/a", "t1"));
    expect_event(w, "/a", "t1"); /* fires once when registered */
    expect_no_event(w);
    assert_fails(xs_watch(w, "/a", "t1"), EEXIST);

    assert_true(wr(h, "/a/b", "1"));
    expect_event(w, "/a/b", "t1");
    assert_true(wr(h, "/ab", "1")); /* a sibling, not a child */
    assert_true(wr(h, "/a/b", "2"));
    expect_event(w, "/a/b", "t1");
    assert_true(xs_mkdir(h, XBT_NULL, "/a/b")); /* exists: no change */
    expect_no_event(w);

    assert_true(wr(h, "/a/b/c/d", "1"));
    expect_event(w, "/a/b/c/d", "t1");
    assert_true(xs_watch(w, "/a/b/c", "t2"));
    expect_event(w, "/a/b/c", "t2");
    assert_true(xs_rm(h, XBT_NULL, "/a/b"));
    expect_event(w, "/a/b", "t1");
    expect_event(w, "/a/b/c", "t2"); /* a watch below a removed node fires too */
    expect_no_event(w);

    assert_true(set_perms(h, "/a", 0, XS_PERM_READ, 0, 0));
    expect_event(w, "/a", "t1");
    assert_true(xs_unwatch(w, "/a", "t1"));
    assert_fails(xs_unwatch(w, "/a", "t1"), ENOENT);
    assert_true(wr(h, "/a/e", "1"));
    expect_no_event(w);

    /* xs_read_watch blocks until one is there: here one is. */
    assert_true(wr(h, "/a/b/c", "1"));
    unsigned num = 0;
    char **ev = xs_read_watch(w, &num);
    assert_non_null(ev);
    assert_int_equal(num, 2);
    assert_string_equal(ev[XS_WATCH_PATH], "/a/b/c");
    assert_string_equal(ev[XS_WATCH_TOKEN], "t2");
    free(ev);
    xs_close(w);
    xs_close(h);
}

static void test_watch_unreadable(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *u = open_as(DOMU);
    assert_true(wr(h, "/shared/x", "1"));
    assert_true(xs_watch(u, "/shared", "tok"));
    expect_event(u, "/shared", "tok"); /* the initial event needs no access */

    assert_true(wr(h, "/shared/x", "2"));
    expect_no_event(u); /* dom0-only node */

    assert_true(set_perms(h, "/shared/x", 0, XS_PERM_NONE, DOMU, XS_PERM_READ));
    expect_event(u, "/shared/x", "tok"); /* readable after the change */
    assert_true(wr(h, "/shared/x", "3"));
    expect_event(u, "/shared/x", "tok");
    assert_true(set_perms(h, "/shared/x", 0, XS_PERM_NONE, 0, 0));
    expect_event(u, "/shared/x", "tok"); /* readable before the change */
    assert_true(wr(h, "/shared/x", "4"));
    assert_true(xs_rm(h, XBT_NULL, "/shared/x"));
    expect_no_event(u);
    xs_close(u);
    xs_close(h);
}

static void test_domains(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *w = xs_open(0);
    assert_true(xs_watch(w, "@introduceDomain", "in"));
    assert_true(xs_watch(w, "@releaseDomain", "out"));
    expect_event(w, "@introduceDomain", "in");
    expect_event(w, "@releaseDomain", "out");

    assert_true(xs_is_domain_introduced(h, 0));
    assert_false(xs_is_domain_introduced(h, 7));
    assert_true(xs_introduce_domain(h, 7, 0xfeffc, 3));
    expect_event(w, "@introduceDomain", "in");
    assert_true(xs_is_domain_introduced(h, 7));
    assert_true(xs_introduce_domain(h, 7, 0xfeffc, 3)); /* again: no news */
    expect_no_event(w);

    assert_true(xs_release_domain(h, 7));
    expect_event(w, "@releaseDomain", "out");
    expect_no_event(w);
    assert_false(xs_is_domain_introduced(h, 7));
    assert_fails(xs_release_domain(h, 7), ENOENT);
    assert_fails(xs_release_domain(h, 0), EINVAL);
    assert_fails(xs_introduce_domain(h, 0x7ff0, 1, 1), EINVAL);
    assert_fails(xs_read(h, XBT_NULL, "@releaseDomain", NULL) != NULL, EINVAL);
    xs_close(w);
    xs_close(h);
}

static void test_fileno_polls(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *w = xs_open(0);
    assert_false(fd_readable(w));
    assert_true(xs_watch(w, "/p", "tok"));
    assert_true(fd_readable(w)); /* the initial event */
    expect_event(w, "/p", "tok");
    assert_false(fd_readable(w));
    assert_true(wr(h, "/q", "1"));
    assert_false(fd_readable(w));
    assert_true(wr(h, "/p", "1"));
    assert_true(fd_readable(w));
    expect_event(w, "/p", "tok");
    assert_false(fd_readable(w));
    assert_true(xs_fileno(w) != xs_fileno(h));
    xs_close(w);
    xs_close(h);
}

static void test_limits(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0);
    static char big[XENSTORE_PAYLOAD_MAX + 1], path[XENSTORE_ABS_PATH_MAX + 2];
    memset(big, 'v', sizeof(big));

    /* Path and value share one payload. */
    assert_fails(xs_write(h, XBT_NULL, "/v", big, XENSTORE_PAYLOAD_MAX), E2BIG);
    unsigned fit = XENSTORE_PAYLOAD_MAX - 3;
    assert_true(xs_write(h, XBT_NULL, "/v", big, fit));
    unsigned len;
    char *v = xs_read(h, XBT_NULL, "/v", &len);
    assert_int_equal(len, fit);
    free(v);

    memset(path, 'p', sizeof(path) - 1);
    path[0] = '/';
    path[XENSTORE_ABS_PATH_MAX] = '\0';
    assert_true(wr(h, path, "1"));
    path[XENSTORE_ABS_PATH_MAX] = 'p';
    assert_fails(wr(h, path, "1"), EINVAL);
    path[XENSTORE_REL_PATH_MAX + 2] = '\0';
    assert_fails(wr(h, path + 1, "1"), EINVAL); /* relative: the tighter bound */
    path[XENSTORE_REL_PATH_MAX + 1] = '\0';
    assert_true(wr(h, path + 1, "1"));

    const char *const bad[] = { "/a b", "/a//b", "/a/", "", "/a\\b", "/a.b", "@x" };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_fails(wr(h, bad[i], "1"), EINVAL);
    assert_fails(xs_watch(h, "/a/", "t"), EINVAL);
    assert_fails(xs_directory(h, XBT_NULL, NULL, &len) != NULL, EINVAL);

    /* An event too big for one message is dropped, as xenstored does. */
    static char token[3001];
    memset(token, 't', sizeof(token) - 1);
    assert_true(xs_watch(h, "/t", token));
    expect_event(h, "/t", token);
    memset(path, 'p', 1100);
    memcpy(path, "/t/", 3);
    path[1100] = '\0';
    assert_true(wr(h, path, "1"));
    expect_no_event(h);
    assert_true(wr(h, "/t", "1"));
    expect_event(h, "/t", token);

    /* A guest's node quota: it cannot fill the store. */
    assert_true(wr(h, "/local/domain/5", ""));
    assert_true(set_perms(h, "/local/domain/5", DOMU, XS_PERM_NONE, DOMU, 0));
    struct xs_handle *u = open_as(DOMU);
    unsigned made = 0;
    char name[32];
    for (; made < 2000; made++) {
        snprintf(name, sizeof(name), "n%u", made);
        if (!wr(u, name, ""))
            break;
    }
    assert_int_equal(errno, ENOSPC);
    assert_in_range(made, 900, 1000);
    assert_true(wr(h, "/after", "dom0 is not limited by a guest's quota"));
    xs_close(u);
    xs_close(h);
}

static void test_event_backlog_bounded(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *w = xs_open(0);
    assert_true(xs_watch(w, "/flood", "f"));
    char name[32];
    const unsigned writes = 3000;
    for (unsigned i = 0; i < writes; i++) {
        snprintf(name, sizeof(name), "/flood/%u", i % 50);
        assert_true(wr(h, name, "x"));
    }
    assert_true(wr(h, "/flood/end", "x"));
    /*
     * The oldest went; the newest and the connection remain.  The server
     * refills the socket as it drains, so wait (bounded) for the last one.
     */
    unsigned got = 0;
    for (bool last = false; !last; got++) {
        struct pollfd p = { .fd = xs_fileno(w), .events = POLLIN };
        assert_int_equal(poll(&p, 1, 5000), 1);
        char **ev = xs_check_watch(w);
        assert_non_null(ev);
        last = !strcmp(ev[XS_WATCH_PATH], "/flood/end");
        free(ev);
    }
    assert_true(got < writes);
    expect_no_event(w);
    assert_true(wr(h, "/flood/again", "x"));
    expect_event(w, "/flood/again", "f");
    xs_close(w);
    xs_close(h);
}

static void test_connection_bound(void **state)
{
    (void)state;
    struct xs_handle *hs[64];
    unsigned n = 0;
    while (n < 64 && (hs[n] = xs_open(0)))
        n++;
    assert_in_range(n, 1, 63); /* a handle is two connections */
    /* Requests on a survivor order the server's view of the closes first. */
    while (n > 1)
        xs_close(hs[--n]);
    free(xs_directory(hs[0], XBT_NULL, "/", &n));
    struct xs_handle *again = xs_open(0);
    assert_non_null(again);
    xs_close(again);
    xs_close(hs[0]);
}

static int raw_connect(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    const char *dir = getenv("XENSIM_DIR");
    int n = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "%s/xenstored", dir);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa,
                             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)),
                     0);
    return fd;
}

/* A client breaking the protocol loses its connection; the server goes on. */
static void test_hostile_clients(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0);
    assert_true(wr(h, "/k", "v"));
    static char msg[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX + 1];
    struct xsd_sockmsg m = { .type = XS_READ };
    static const char hello[] = "sim-hello\0" "0";
    static const char events[] = "sim-events\0" "1\0" "0000000000000000"; /* not its cookie */
    const struct {
        uint32_t type, len; /* the header's */
        const char *payload;
        size_t sent;        /* payload bytes sent */
    } bad[] = {
        { XS_READ, 3, "/k", 3 },                                /* a request before hello */
        { XS_CONTROL, 100, hello, sizeof(hello) },              /* a length that lies */
        { XS_CONTROL, sizeof(events), events, sizeof(events) }, /* someone else's events */
        { XS_CONTROL, XENSTORE_PAYLOAD_MAX + 1, NULL, XENSTORE_PAYLOAD_MAX + 1 }, /* too big */
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int fd = raw_connect();
        m.type = bad[i].type;
        m.len = bad[i].len;
        memset(msg, 0, sizeof(msg));
        memcpy(msg, &m, sizeof(m));
        if (bad[i].payload)
            memcpy(msg + sizeof(m), bad[i].payload, bad[i].sent);
        assert_true(send(fd, msg, sizeof(m) + bad[i].sent, MSG_NOSIGNAL) > 0);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        assert_int_equal(poll(&p, 1, 5000), 1);
        char b;
        assert_int_equal(recv(fd, &b, 1, 0), 0); /* hung up, nothing said */
        close(fd);
    }
    int fd = raw_connect();
    assert_true(send(fd, "x", 1, MSG_NOSIGNAL) == 1); /* shorter than a header */
    char b;
    assert_int_equal(recv(fd, &b, 1, 0), 0);
    close(fd);
    assert_value(h, "/k", "v");
    xs_close(h);
}

static xs_transaction_t start(struct xs_handle *h)
{
    xs_transaction_t t = xs_transaction_start(h);
    if (t == XBT_NULL)
        fail_msg("xs_transaction_start: errno %d", errno);
    return t;
}

static void assert_dir_in(struct xs_handle *h, xs_transaction_t t, const char *path,
                          unsigned want)
{
    unsigned n = 12345;
    char **d = xs_directory(h, t, path, &n);
    assert_non_null(d);
    assert_int_equal(n, want);
    free(d);
}

static void test_txn_commit(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *o = xs_open(0), *w = xs_open(0);
    unsigned len;
    assert_true(wr(h, "/dev/state", "1"));
    assert_true(xs_watch(w, "/dev", "d"));
    expect_event(w, "/dev", "d");

    xs_transaction_t t = start(h);
    assert_true(wr_in(h, t, "/dev/state", "3"));
    assert_true(wr_in(h, t, "/dev/new/leaf", "x"));
    assert_true(wr_in(h, t, "/dev/state", "4")); /* again: still one change */
    assert_true(xs_mkdir(h, t, "/dev/dir"));
    /* It reads its own writes; nobody else sees them, not even its own handle outside it. */
    assert_value_in(h, t, "/dev/state", "4");
    assert_value_in(h, t, "/dev/new/leaf", "x");
    assert_dir_in(h, t, "/dev", 3);
    assert_value(h, "/dev/state", "1");
    assert_value(o, "/dev/state", "1");
    assert_null_errno(xs_read(o, XBT_NULL, "/dev/new/leaf", &len), ENOENT);
    assert_dir_in(o, XBT_NULL, "/dev", 1);
    /* Ids are the handle's own. */
    assert_null_errno(xs_read(o, t, "/dev/state", &len), ENOENT);
    expect_no_event(w);

    assert_true(xs_transaction_end(h, t, false));
    assert_value(o, "/dev/state", "4");
    assert_value(o, "/dev/new/leaf", "x");
    assert_dir_in(o, XBT_NULL, "/dev", 3);
    /* Now, once per changed node, in the order they first changed. */
    expect_event(w, "/dev/state", "d");
    expect_event(w, "/dev/new/leaf", "d");
    expect_event(w, "/dev/dir", "d");
    expect_no_event(w);
    /* It is over. */
    assert_fails(xs_transaction_end(h, t, false), ENOENT);
    assert_null_errno(xs_read(h, t, "/dev/state", &len), ENOENT);

    /* One that only reads commits, changes nothing and tells no one. */
    t = start(h);
    assert_value_in(h, t, "/dev/state", "4");
    assert_true(xs_transaction_end(h, t, false));
    expect_no_event(w);
    xs_close(w);
    xs_close(o);
    xs_close(h);
}

static void test_txn_abort(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *w = xs_open(0);
    unsigned len;
    assert_true(wr(h, "/keep/a", "1"));
    assert_true(xs_watch(w, "/keep", "k"));
    expect_event(w, "/keep", "k");

    xs_transaction_t t = start(h);
    assert_true(wr_in(h, t, "/keep/a", "2"));
    assert_true(wr_in(h, t, "/keep/b", "2"));
    assert_true(set_perms_in(h, t, "/keep", 0, XS_PERM_READ, 0, 0));
    assert_true(xs_rm(h, t, "/keep/a"));
    assert_true(xs_transaction_end(h, t, true));
    assert_value(h, "/keep/a", "1");
    assert_null_errno(xs_read(h, XBT_NULL, "/keep/b", &len), ENOENT);
    struct xs_permissions *p = xs_get_permissions(h, XBT_NULL, "/keep", &len);
    assert_int_equal(p[0].perms, XS_PERM_NONE);
    free(p);
    expect_no_event(w);
    assert_fails(xs_transaction_end(h, t, true), ENOENT);

    /* A handle closed in the middle: its transaction goes with it. */
    struct xs_handle *g = xs_open(0);
    t = start(g);
    assert_true(wr_in(g, t, "/keep/gone", "1"));
    xs_close(g);
    assert_null_errno(xs_read(h, XBT_NULL, "/keep/gone", &len), ENOENT);
    expect_no_event(w);
    xs_close(w);
    xs_close(h);
}

static void test_txn_conflict(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *o = xs_open(0), *w = xs_open(0);
    unsigned len;
    assert_true(wr(h, "/dev/state", "1"));
    assert_true(xs_watch(w, "/dev", "d"));
    expect_event(w, "/dev", "d");

    xs_transaction_t t = start(h);
    assert_value_in(h, t, "/dev/state", "1");
    assert_true(wr(o, "/dev/state", "5")); /* another writer, meanwhile */
    expect_event(w, "/dev/state", "d");
    assert_value_in(h, t, "/dev/state", "1"); /* not seen inside */
    assert_true(wr_in(h, t, "/dev/state", "2"));
    assert_true(wr_in(h, t, "/dev/other", "2"));
    assert_fails(xs_transaction_end(h, t, false), EAGAIN);
    /* The store is as the other writer left it, and no one hears of the loser. */
    assert_value(h, "/dev/state", "5");
    assert_null_errno(xs_read(h, XBT_NULL, "/dev/other", &len), ENOENT);
    expect_no_event(w);
    assert_fails(xs_transaction_end(h, t, false), ENOENT); /* over, as on Xen */

    /* Read-check-write as a launcher does it: only a device in state 5 goes to 6. */
    unsigned attempts = 0;
    for (bool done = false; !done;) {
        t = start(h);
        char *cur = xs_read(h, t, "/dev/state", &len);
        assert_non_null(cur);
        if (attempts++ == 0)
            assert_true(wr(o, "/dev/state", "7")); /* the device moved on meanwhile */
        if (!strcmp(cur, "5"))
            assert_true(wr_in(h, t, "/dev/state", "6"));
        free(cur);
        done = xs_transaction_end(h, t, false);
        if (!done)
            assert_int_equal(errno, EAGAIN);
    }
    assert_int_equal(attempts, 2);
    assert_value(h, "/dev/state", "7"); /* not overwritten from a stale read */
    expect_event(w, "/dev/state", "d");
    expect_no_event(w);

    /*
     * The simulator's rule is coarser than xenstored's: any change to the
     * store, anywhere, fails every transaction open across it, even one that
     * only read.  A commit that changed nothing is no change.
     */
    xs_transaction_t a = start(h), b = start(h), c = start(o);
    assert_true(wr_in(h, a, "/dev/state", "8"));
    assert_value_in(h, b, "/dev/state", "7");
    xs_transaction_t r = start(o);
    assert_true(xs_transaction_end(o, r, false)); /* read-only: harmless */
    assert_true(xs_transaction_end(h, a, false));
    assert_fails(xs_transaction_end(h, b, false), EAGAIN);
    assert_true(wr_in(o, c, "/unrelated", "1"));
    assert_fails(xs_transaction_end(o, c, false), EAGAIN);
    assert_value(o, "/dev/state", "8");
    xs_close(w);
    xs_close(o);
    xs_close(h);
}

static void test_txn_rm_removed_meanwhile(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *o = xs_open(0);
    unsigned len;
    assert_true(wr(h, "/vbd/51712/state", "1"));
    assert_true(wr(h, "/vbd/51712/params", "img"));

    xs_transaction_t t = start(h);
    assert_true(xs_rm(o, XBT_NULL, "/vbd/51712"));
    assert_dir_in(h, t, "/vbd/51712", 2); /* still there in its view */
    assert_true(xs_rm(h, t, "/vbd/51712"));
    assert_null_errno(xs_read(h, t, "/vbd/51712/state", &len), ENOENT);
    assert_fails(xs_transaction_end(h, t, false), EAGAIN);
    assert_null_errno(xs_read(h, XBT_NULL, "/vbd/51712", &len), ENOENT);
    assert_dir_in(h, XBT_NULL, "/vbd", 0);

    /* Retried, it sees the directory gone: removing it again succeeds, below it fails. */
    t = start(h);
    assert_true(xs_rm(h, t, "/vbd/51712"));
    assert_fails(xs_rm(h, t, "/vbd/51712/state"), ENOENT);
    assert_true(xs_transaction_end(h, t, false)); /* a failed request does not doom it */
    assert_dir_in(h, XBT_NULL, "/vbd", 0);
    xs_close(o);
    xs_close(h);
}

static void test_txn_limit(void **state)
{
    (void)state;
    enum { QUOTA = 10 }; /* xenstored's default, per connection */
    struct xs_handle *h = xs_open(0), *o = xs_open(0);
    xs_transaction_t ts[QUOTA];
    for (unsigned i = 0; i < QUOTA; i++) {
        ts[i] = start(h);
        for (unsigned k = 0; k < i; k++)
            assert_int_not_equal(ts[i], ts[k]);
    }
    assert_int_equal(xs_transaction_start(h), XBT_NULL);
    assert_int_equal(errno, ENOSPC); /* what xenstored says past its quota */
    xs_transaction_t other = start(o); /* another connection has its own */
    assert_true(xs_transaction_end(o, other, true));

    /* Each has its own view. */
    assert_true(wr_in(h, ts[0], "/mine", "0"));
    assert_null_errno(xs_read(h, ts[1], "/mine", NULL), ENOENT);
    assert_true(xs_transaction_end(h, ts[3], true));
    ts[3] = start(h);
    assert_int_equal(xs_transaction_start(h), XBT_NULL);
    assert_int_equal(errno, ENOSPC);
    for (unsigned i = 0; i < QUOTA; i++)
        assert_true(xs_transaction_end(h, ts[i], true));

    /* Closed with all open: the server frees them (a sanitizer build checks at stop). */
    for (unsigned i = 0; i < QUOTA; i++)
        assert_true(wr_in(h, start(h), "/left", "open"));
    xs_close(h);
    h = xs_open(0);
    assert_null_errno(xs_read(h, XBT_NULL, "/left", NULL), ENOENT);
    for (unsigned i = 0; i < QUOTA; i++)
        ts[i] = start(h);
    xs_close(o);
    xs_close(h);
}

static void test_txn_domu_permissions(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *u = open_as(DOMU);
    unsigned len, n;
    assert_non_null(u);
    assert_true(wr(h, "/secret", "s"));
    assert_true(wr(h, "/local/domain/5", ""));
    assert_true(set_perms(h, "/local/domain/5", DOMU, XS_PERM_NONE, DOMU, 0));

    /* The same rules inside as outside. */
    xs_transaction_t t = start(u);
    assert_null_errno(xs_read(u, t, "/secret", &len), EACCES);
    assert_null_errno(xs_read(u, t, "/secret/none", &len), EACCES); /* no ENOENT leak */
    assert_null_errno(xs_directory(u, t, "/", &n), EACCES);
    assert_null_errno(xs_get_permissions(u, t, "/secret", &n), EACCES);
    assert_fails(wr_in(u, t, "/secret", "mine"), EACCES);
    assert_fails(wr_in(u, t, "/secret/new", "mine"), EACCES);
    assert_fails(xs_mkdir(u, t, "/secret"), EACCES);
    assert_fails(xs_rm(u, t, "/secret"), EACCES);
    assert_fails(set_perms_in(u, t, "/secret", DOMU, XS_PERM_NONE, DOMU, 0), EACCES);
    assert_true(wr_in(u, t, "data/x", "1"));
    assert_fails(set_perms_in(u, t, "data/x", 7, XS_PERM_NONE, 7, 0), EPERM);
    assert_true(set_perms_in(u, t, "data/x", DOMU, XS_PERM_NONE, 7, XS_PERM_READ));
    assert_value_in(u, t, "data/x", "1");
    assert_true(xs_transaction_end(u, t, false));
    assert_value(h, "/local/domain/5/data/x", "1");
    struct xs_permissions *p = xs_get_permissions(h, XBT_NULL, "/local/domain/5/data/x", &n);
    assert_int_equal(n, 2);
    assert_int_equal(p[0].id, DOMU);
    assert_int_equal(p[1].id, 7);
    free(p);

    /* dom0 opening a node in a transaction opens it only at commit... */
    t = start(h);
    assert_true(set_perms_in(h, t, "/secret", 0, XS_PERM_NONE, DOMU, XS_PERM_READ));
    assert_null_errno(xs_read(u, XBT_NULL, "/secret", &len), EACCES);
    assert_true(xs_transaction_end(h, t, false));
    assert_value(u, "/secret", "s");

    /* ...and the guest hears at commit only of what it may read. */
    assert_true(xs_watch(u, "/shared", "w"));
    expect_event(u, "/shared", "w");
    t = start(h);
    assert_true(wr_in(h, t, "/shared/closed", "1"));
    assert_true(wr_in(h, t, "/shared/open", "1"));
    assert_true(set_perms_in(h, t, "/shared/open", 0, XS_PERM_NONE, DOMU, XS_PERM_READ));
    assert_true(wr_in(h, t, "/shared/tmp", "1")); /* made and removed: never readable */
    assert_true(set_perms_in(h, t, "/shared/tmp", 0, XS_PERM_READ, 0, 0));
    assert_true(xs_rm(h, t, "/shared/tmp"));
    expect_no_event(u);
    assert_true(xs_transaction_end(h, t, false));
    expect_event(u, "/shared/open", "w");
    expect_no_event(u);
    xs_close(u);
    xs_close(h);
}

static void test_txn_limits(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0);
    assert_true(wr(h, "/local/domain/5", ""));
    assert_true(set_perms(h, "/local/domain/5", DOMU, XS_PERM_NONE, DOMU, 0));
    struct xs_handle *u = open_as(DOMU);

    /* A guest's node quota counts its nodes in the transaction's view. */
    xs_transaction_t t = start(u);
    unsigned made = 0;
    char name[32];
    for (; made < 2000; made++) {
        snprintf(name, sizeof(name), "n%u", made);
        if (!wr_in(u, t, name, ""))
            break;
    }
    assert_int_equal(errno, ENOSPC);
    assert_in_range(made, 900, 1000);
    assert_true(xs_transaction_end(u, t, false));
    snprintf(name, sizeof(name), "/local/domain/5/n%u", made - 1);
    assert_value(h, name, "");
    t = start(u);
    assert_fails(wr_in(u, t, "one-more", ""), ENOSPC);
    assert_true(xs_rm(u, t, "n0"));
    assert_true(wr_in(u, t, "one-more", ""));
    assert_true(xs_transaction_end(u, t, true));

    /* Paths and payloads are bounded as outside. */
    static char big[XENSTORE_PAYLOAD_MAX + 1], path[XENSTORE_ABS_PATH_MAX + 2];
    memset(big, 'v', sizeof(big));
    memset(path, 'p', sizeof(path) - 1);
    path[0] = '/';
    t = start(h);
    assert_fails(xs_write(h, t, "/v", big, XENSTORE_PAYLOAD_MAX), E2BIG);
    assert_fails(wr_in(h, t, path, "1"), EINVAL);

    /* So is how much one transaction changes, for dom0 too: each path is remembered. */
    unsigned changed = 0;
    for (; changed < 2000; changed++) {
        snprintf(name, sizeof(name), "/many/%u", changed);
        if (!wr_in(h, t, name, ""))
            break;
    }
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(changed, 1024);
    assert_true(wr_in(h, t, "/many/0", "again")); /* already counted */
    assert_true(xs_transaction_end(h, t, false));
    assert_value(h, "/many/0", "again");
    xs_close(u);
    xs_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domu_access, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domu_owns_what_it_creates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fileno_polls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_backlog_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_rm_removed_meanwhile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_domu_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_limits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
