/* SPDX-License-Identifier: MIT */
/*
 * The simulator's xenstored and its <xenstore.h> client: the tree, Xen's
 * permission rules between dom0 and a guest, watches (also as fd events a
 * poll loop sees), domain introduction, and the bounds a client cannot pass.
 * Transactions are in test_simxs_txn.c.
 */
#define _GNU_SOURCE
#include "simxs_fixture.h"

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
    /* A driver domain may not even ask (xenstored: EACCES), so the answer is "no". */
    struct xs_handle *dd = open_as(5);
    assert_non_null(dd);
    assert_fails(xs_is_domain_introduced(dd, 0), EACCES);
    assert_fails(xs_introduce_domain(dd, 8, 0xfeffc, 3), EACCES);
    xs_close(dd);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
