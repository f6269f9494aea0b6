/* SPDX-License-Identifier: MIT */
/*
 * The driver domain's removal of closed device directories (closedirs.c), on
 * a clock the test holds, over the simulated xenstored: removed when due and
 * only if still Closed with online 0, once per device however many events
 * name it, a full table drops (libxl's own cleanup takes over), and a
 * directory the backend may not remove is left with a warning.  The
 * launcher's tests see the same through the watch loop, but only when its
 * timing allows; here every branch runs every time.
 */
#define _GNU_SOURCE
#include "simxs_fixture.h"

#include "launcher/closedirs.h"
#include "launcher/tsinput.h"

#define BE 7 /* the driver domain */
#define DEVID 51712u

static char dir_of[64];

static const char *dir(unsigned devid)
{
    snprintf(dir_of, sizeof(dir_of), "/local/domain/%u/" TS_DIR "/%u/%u", BE, DOMU, devid);
    return dir_of;
}

/* What libxl leaves for the backend's domain to remove: state 6, online 0. */
static void make_closed(struct xs_handle *h, unsigned devid, const char *state,
                        const char *online)
{
    char p[96];
    const char *leaf[] = { "state", state, "online", online };
    assert_true(xs_mkdir(h, XBT_NULL, dir(devid)));
    assert_true(set_perms(h, dir(devid), BE, XS_PERM_NONE, BE, XS_PERM_NONE));
    for (unsigned i = 0; i < 4; i += 2) {
        snprintf(p, sizeof(p), "%s/%s", dir(devid), leaf[i]);
        assert_true(wr(h, p, leaf[i + 1]));
        assert_true(set_perms(h, p, BE, XS_PERM_NONE, BE, XS_PERM_NONE));
    }
}

static bool exists(struct xs_handle *h, unsigned devid)
{
    unsigned n;
    char **d = xs_directory(h, XBT_NULL, dir(devid), &n);
    free(d);
    return d != NULL;
}

static void test_removed_when_due(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *be = open_as(BE);
    struct closedirs c = { 0 };
    make_closed(h, DEVID, "6", "0");
    assert_int_equal(closedirs_next_ms(&c, 0), UINT64_MAX);
    closedirs_note(&c, DOMU, DEVID, 100);
    closedirs_note(&c, DOMU, DEVID, 600); /* a later event: the first deadline holds */
    assert_int_equal(closedirs_next_ms(&c, 100), CLOSEDIRS_GRACE_MS);
    assert_int_equal(closedirs_next_ms(&c, 5000), 0);
    closedirs_run(&c, be, 100 + CLOSEDIRS_GRACE_MS - 1);
    assert_true(exists(h, DEVID)); /* libxl has not read state 6 yet */
    closedirs_run(&c, be, 100 + CLOSEDIRS_GRACE_MS);
    assert_false(exists(h, DEVID));
    assert_int_equal(closedirs_next_ms(&c, 0), UINT64_MAX); /* done once */
    xs_close(be);
    xs_close(h);
}

/* libxl reused the directory, or the device came back online: kept. */
static void test_rewritten_kept(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *be = open_as(BE);
    struct closedirs c = { 0 };
    make_closed(h, DEVID, "6", "0");
    make_closed(h, DEVID + 1, "6", "0");
    closedirs_note(&c, DOMU, DEVID, 0);
    closedirs_note(&c, DOMU, DEVID + 1, 0);
    make_closed(h, DEVID, "1", "1");
    make_closed(h, DEVID + 1, "6", "1");
    closedirs_run(&c, be, CLOSEDIRS_GRACE_MS);
    assert_true(exists(h, DEVID));
    assert_true(exists(h, DEVID + 1));
    assert_int_equal(closedirs_next_ms(&c, 0), UINT64_MAX);
    xs_close(be);
    xs_close(h);
}

/* More closed devices than slots: the overflow is not removed (libxl will). */
static void test_table_full(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *be = open_as(BE);
    struct closedirs c = { 0 };
    for (unsigned i = 0; i < LAUNCHER_MAX_DEVICES + 2; i++) {
        make_closed(h, DEVID + i, "6", "0");
        closedirs_note(&c, DOMU, DEVID + i, 0);
    }
    assert_true(c.full_warned);
    closedirs_run(&c, be, CLOSEDIRS_GRACE_MS);
    assert_false(c.full_warned);
    for (unsigned i = 0; i < LAUNCHER_MAX_DEVICES + 2; i++)
        assert_int_equal(exists(h, DEVID + i), i >= LAUNCHER_MAX_DEVICES);
    xs_close(be);
    xs_close(h);
}

/* A directory the backend's domain may read but not remove: left, warned. */
static void test_not_removable(void **state)
{
    (void)state;
    struct xs_handle *h = xs_open(0), *be = open_as(BE);
    struct closedirs c = { 0 };
    make_closed(h, DEVID, "6", "0");
    assert_true(set_perms(h, dir(DEVID), 0, XS_PERM_NONE, BE, XS_PERM_READ));
    char p[96];
    snprintf(p, sizeof(p), "%s/state", dir(DEVID));
    assert_true(set_perms(h, p, 0, XS_PERM_NONE, BE, XS_PERM_READ));
    snprintf(p, sizeof(p), "%s/online", dir(DEVID));
    assert_true(set_perms(h, p, 0, XS_PERM_NONE, BE, XS_PERM_READ));
    closedirs_note(&c, DOMU, DEVID, 0);
    closedirs_run(&c, be, CLOSEDIRS_GRACE_MS);
    assert_true(exists(h, DEVID));
    assert_int_equal(closedirs_next_ms(&c, 0), UINT64_MAX);
    xs_close(be);
    xs_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_removed_when_due, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewritten_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_removable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
