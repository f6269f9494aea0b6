/* SPDX-License-Identifier: MIT */
/*
 * Transactions of the simulator's xenstored: a private view until commit,
 * commit atomic or EAGAIN after any change meanwhile, watches at commit,
 * permissions and quotas as outside, a bounded number per connection.
 */
#define _GNU_SOURCE
#include "simxs_fixture.h"

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

/* /dev/state is 1, and w watches /dev with its first event already taken. */
static void dev_state_watched(struct xs_handle *h, struct xs_handle *w)
{
    assert_true(wr(h, "/dev/state", "1"));
    assert_true(xs_watch(w, "/dev", "d"));
    expect_event(w, "/dev", "d");
}

static void test_txn_commit(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *o = xs_open(0), *w = xs_open(0);
    unsigned len;
    dev_state_watched(h, w);

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
    dev_state_watched(h, w);

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
