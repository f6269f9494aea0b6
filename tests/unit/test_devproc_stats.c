/* SPDX-License-Identifier: MIT */
/*
 * The status table's messages through the launcher's real reader
 * (devproc_read), with a stand-in device at the other end of the socketpair:
 * one STATS answer per request is taken; a second answer, an answer nobody
 * asked for, or a device that answers without reading what it is asked (so
 * requests pile up) gets it killed, and the launcher never blocks on it.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/devproc.h"

static struct devproc d;
static int dev_end = -1;

/* A serving device as the launcher holds it: a live child, a socket, READY seen. */
static int setup(void **state)
{
    (void)state;
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 ||
        fcntl(sp[0], F_SETFL, O_NONBLOCK) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    devproc_clear(&d);
    d.pid = pid;
    d.sock = sp[0];
    d.domid = 7;
    d.devid = 51712;
    d.ready = true;
    dev_end = sp[1];
    return pid > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (d.pid > 0) { /* never kill(-1): that is every process */
        kill(d.pid, SIGKILL);
        waitpid(d.pid, NULL, 0);
    }
    if (d.sock >= 0)
        close(d.sock);
    close(dev_end);
    return 0;
}

static void answer(uint64_t chains)
{
    struct devmsg m = { .type = DEVMSG_STATS, .stats = { .chains = chains, .pages_now = 2,
                                                         .pages_peak = 9 } };
    assert_int_equal(devmsg_send(dev_end, &m, -1), 0);
}

static void expect_request(void)
{
    struct devmsg m;
    assert_int_equal(devmsg_recv(dev_end, &m, NULL), 0);
    assert_int_equal(m.type, DEVMSG_STATS_REQ);
}

static void expect_killed(void)
{
    int st;
    assert_int_equal(waitpid(d.pid, &st, 0), d.pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    d.pid = 0;
}

static void test_one_answer_per_request(void **state)
{
    (void)state;
    assert_true(devproc_ask_stats(&d));
    assert_true(devproc_ask_stats(&d)); /* still owed: not asked twice */
    expect_request();
    struct devmsg none;
    assert_int_equal(devmsg_recv(dev_end, &none, NULL), -EAGAIN);
    answer(41);
    devproc_read(&d);
    assert_true(d.stats_known);
    assert_false(d.stats_asked);
    assert_int_equal(d.stats.chains, 41);
    assert_int_equal(d.stats.pages_peak, 9);
    answer(42); /* a second answer to the same request */
    devproc_read(&d);
    assert_true(d.killed_here);
    expect_killed();
}

static void test_unasked_answer_killed(void **state)
{
    (void)state;
    answer(1);
    devproc_read(&d);
    assert_true(d.killed_here);
    expect_killed();
}

/* Answers, never reads: the requests fill the socket, and then it is killed. */
static void test_requests_not_read_killed(void **state)
{
    (void)state;
    unsigned asked = 0;
    while (!d.killed_here && asked < 100000) {
        if (devproc_ask_stats(&d)) {
            asked++;
            answer(asked);
            devproc_read(&d);
        }
    }
    assert_true(d.killed_here);
    assert_true(asked > 10);
    expect_killed();
}

/* Not serving yet, closing, or gone: not asked. */
static void test_not_asked_when_not_serving(void **state)
{
    (void)state;
    d.ready = false;
    assert_false(devproc_ask_stats(&d));
    d.ready = true;
    d.close_sent = true;
    assert_false(devproc_ask_stats(&d));
    struct devmsg none;
    assert_int_equal(devmsg_recv(dev_end, &none, NULL), -EAGAIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_answer_per_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unasked_answer_killed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_not_read_killed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_asked_when_not_serving, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
