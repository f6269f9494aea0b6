/* SPDX-License-Identifier: MIT */
/*
 * What the simulated-xenstore unit tests share: a fresh XENSIM_DIR and
 * xenstored per test, connections as dom0 or a guest, and assertions on
 * values, failures and watch events.
 */
#ifndef VG_TEST_SIMXS_FIXTURE_H
#define VG_TEST_SIMXS_FIXTURE_H

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

static inline int setup(void **state)
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

static inline int teardown(void **state)
{
    struct fixture *f = *state;
    int rc = simxs_stop(f->server);
    sim_env_fini(&f->env);
    free(f);
    return rc;
}

static inline struct xs_handle *open_as(unsigned domid)
{
    char s[16];
    snprintf(s, sizeof(s), "%u", domid);
    setenv("XENSIM_SELF_DOMID", s, 1);
    struct xs_handle *h = xs_open(0);
    unsetenv("XENSIM_SELF_DOMID");
    return h;
}

static inline void assert_value_in(struct xs_handle *h, xs_transaction_t t, const char *path,
                            const char *want)
{
    unsigned len = 12345;
    char *v = xs_read(h, t, path, &len);
    assert_non_null(v);
    assert_int_equal(len, strlen(want));
    assert_string_equal(v, want); /* also checks the terminator */
    free(v);
}

static inline void assert_value(struct xs_handle *h, const char *path, const char *want)
{
    assert_value_in(h, XBT_NULL, path, want);
}

static inline void assert_fails(bool ok, int err)
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

static inline bool wr_in(struct xs_handle *h, xs_transaction_t t, const char *path, const char *v)
{
    return xs_write(h, t, path, v, (unsigned)strlen(v));
}

static inline bool wr(struct xs_handle *h, const char *path, const char *v)
{
    return wr_in(h, XBT_NULL, path, v);
}

static inline bool set_perms_in(struct xs_handle *h, xs_transaction_t t, const char *path,
                         unsigned owner, unsigned other, unsigned who, unsigned perm)
{
    struct xs_permissions p[2] = { { owner, other }, { who, perm } };
    return xs_set_permissions(h, t, path, p, who == owner ? 1 : 2);
}

static inline bool set_perms(struct xs_handle *h, const char *path, unsigned owner, unsigned other,
                      unsigned who, unsigned perm)
{
    return set_perms_in(h, XBT_NULL, path, owner, other, who, perm);
}

/* The next event, which must be (path, token); none pending is a failure. */
static inline void expect_event(struct xs_handle *h, const char *path, const char *token)
{
    char **ev = xs_check_watch(h);
    if (!ev)
        fail_msg("no event, wanted %s (errno %d)", path, errno);
    assert_string_equal(ev[XS_WATCH_PATH], path);
    assert_string_equal(ev[XS_WATCH_TOKEN], token);
    free(ev);
}

static inline void expect_no_event(struct xs_handle *h)
{
    char **ev = xs_check_watch(h);
    if (ev)
        fail_msg("unexpected event %s %s", ev[0], ev[1]);
    assert_int_equal(errno, EAGAIN);
}

static inline bool fd_readable(struct xs_handle *h)
{
    struct pollfd p = { .fd = xs_fileno(h), .events = POLLIN };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

#endif
