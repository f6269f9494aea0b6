/* SPDX-License-Identifier: MIT */
/*
 * The launcher in a driver domain: `virtio-grant-sim watch` acting as dom5
 * (XENSIM_SELF_DOMID) watches its own home, where the toolstack writes the
 * guest's directory as libxl does for a backend outside dom0.  xenstored
 * will not tell it whether a guest lives, and closed directories are its own
 * to remove; and it does not start without knowing its domid.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "../common/rig.h"
#include "../common/toolstack.h"
#include "launcher/closedirs.h"
#include "xensim/simxs.h"

#include "launcher_rig.h"

/*
 * The launcher in a driver domain (dom5): it finds the directory libxl wrote
 * in its own home, serves the guest's grants to dom5, and since xenstored
 * will not tell it whether the guest lives (EACCES), the guest's release
 * alone closes nothing.  libxl's online 0 and Closing do; once Closed, the
 * launcher removes the directory itself after its grace period, as xl devd
 * would, but never a Closed directory still online.
 */
static void test_driver_domain(void **state)
{
    (void)state;
    struct launcher L;
    struct served s;
    assert_int_equal(tstk_add_driver_domain(xs, DD_DOMID), 0);
    launcher_up_as(&L, DD_DOMID_STR, getenv("VG_BACKEND"), NULL, NULL);
    assert_true(log_has(&L, "in driver domain " DD_DOMID_STR, 0));
    serve_guest_by(&L, &s, VDRV_DMA_GRANT, DD_DOMID, "/local/domain/" DD_DOMID_STR);

    struct tstk_disk stale = s.disk;
    stale.dev = "51728";
    stale.state = "6";
    assert_int_equal(tstk_write_disk(xs, &stale), 0);

    assert_int_equal(tstk_release_domain(xs, DOMID), 0);
    usleep(300 * 1000);
    assert_int_equal(kill(s.dev, 0), 0);
    static uint8_t buf[4096];
    assert_int_equal(vdrv_blk_sync(&s.v, T_IN, 0, buf, sizeof(buf)), S_OK);
    assert_int_equal(log_count(&L, "the guest is gone", NULL), 0);

    vdrv_remove(&s.v);
    assert_int_equal(tstk_write_node(xs, &s.disk, "online", "0"), 0);
    assert_int_equal(tstk_write_node(xs, &s.disk, "state", "5"), 0);
    /* libxl must be able to read Closed before the directory goes. */
    assert_int_equal(tstk_wait_state(xs, &s.disk, 6, WAIT_MS), 0);
    assert_true(pid_gone(s.dev, WAIT_MS));
    assert_true(log_has(&L, "closed directory removed", CLOSEDIRS_GRACE_MS + WAIT_MS));
    char *st = tstk_read_node(xs, &s.disk, "state");
    assert_null(st);
    st = tstk_read_node(xs, &stale, "state");
    assert_non_null(st); /* online 1: the toolstack has not let go of it */
    free(st);
    assert_int_equal(simdom_grants_mapped_now(s.d), 0);
    simdom_destroy(s.d);
    tstk_remove_disk(xs, &s.disk);
    launcher_down(&L);
}

/*
 * A directory the launcher refused, in a driver domain: when libxl gives up
 * on it (online 0, Closing) the launcher writes Closed at once, nothing being
 * served, and removes it after the grace.  One rewritten to Initialising
 * within the grace is kept.
 */
static void test_driver_domain_closes_refused(void **state)
{
    (void)state;
    struct launcher L;
    struct tstk_disk bad, back;
    assert_int_equal(tstk_add_driver_domain(xs, DD_DOMID), 0);
    launcher_up_as(&L, DD_DOMID_STR, getenv("VG_BACKEND"), NULL, NULL);
    tstk_disk_default(&bad, DOMID, "/etc/passwd");
    bad.backend_home = "/local/domain/" DD_DOMID_STR;
    back = bad;
    back.dev = "51728";
    assert_int_equal(tstk_write_disk(xs, &bad), 0);
    assert_int_equal(tstk_write_disk(xs, &back), 0);
    assert_true(log_grows(&L, "refused", NULL, 1, WAIT_MS));

    assert_int_equal(tstk_write_node(xs, &bad, "online", "0"), 0);
    assert_int_equal(tstk_write_node(xs, &bad, "state", "5"), 0);
    assert_int_equal(tstk_wait_state(xs, &bad, 6, WAIT_MS), 0);
    assert_true(log_has(&L, "51712: closed directory removed", CLOSEDIRS_GRACE_MS + WAIT_MS));

    assert_int_equal(tstk_write_node(xs, &back, "online", "0"), 0);
    assert_int_equal(tstk_write_node(xs, &back, "state", "5"), 0);
    assert_int_equal(tstk_wait_state(xs, &back, 6, WAIT_MS), 0);
    assert_int_equal(tstk_write_node(xs, &back, "state", "1"), 0); /* libxl made it anew */
    usleep((CLOSEDIRS_GRACE_MS + 500) * 1000);
    char *st = tstk_read_node(xs, &back, "state");
    assert_non_null(st);
    assert_string_equal(st, "1");
    free(st);
    assert_int_equal(log_count(&L, "51728: closed directory removed", NULL), 0);
    tstk_remove_disk(xs, &bad);
    launcher_down(&L);
}

/* Exit status of @pid within 5 s, or -1 (then it is killed). */
static int exit_status_within(pid_t pid)
{
    int st;
    for (int t = 0; t < WAIT_MS; t += 10) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/*
 * A launcher that cannot tell which domain it runs in does not start: no
 * domid node, or one that is not a canonical guest domid.  The node is
 * readable by dom9 throughout, as "9" shows at the end.
 */
static void test_launcher_needs_its_domid(void **state)
{
    (void)state;
    static const struct {
        const char *val;
        unsigned len;
    } cases[] = { { NULL, 0 }, { "09", 2 },  { "9x", 2 }, { "32752", 5 },
                  { "9\0", 2 }, { "", 0 },    { "9", 1 } };
    assert_int_equal(tstk_add_driver_domain(xs, 9), 0);
    assert_true(xs_rm(xs, XBT_NULL, "/local/domain/9/domid"));
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool good = i == sizeof(cases) / sizeof(cases[0]) - 1;
        if (cases[i].val)
            assert_true(
                xs_write(xs, XBT_NULL, "/local/domain/9/domid", cases[i].val, cases[i].len));
        struct launcher L;
        snprintf(L.log, sizeof(L.log), "%s/nodomid%u.log", env.dir, i);
        const char *argv[] = { getenv("VG_BACKEND"), "watch", NULL };
        setenv("XENSIM_SELF_DOMID", "9", 1);
        L.pid = sim_spawn((char *const *)argv, L.log);
        unsetenv("XENSIM_SELF_DOMID");
        assert_true(L.pid > 0);
        if (good) {
            assert_true(log_has(&L, "in driver domain 9", WAIT_MS));
            launcher_down(&L);
        } else {
            assert_int_equal(exit_status_within(L.pid), 1);
            assert_true(log_has(&L, "cannot tell which domain this is", 0));
        }
    }
    xs_rm(xs, XBT_NULL, "/local/domain/9");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_driver_domain),
        cmocka_unit_test(test_driver_domain_closes_refused),
        cmocka_unit_test(test_launcher_needs_its_domid),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
