/* SPDX-License-Identifier: MIT */
/*
 * The launcher through its real entry points: a toolstack (tests/common/
 * toolstack.c) writes backend directories into the simulator's xenstored,
 * `virtio-grant-sim watch` validates them, opens images and starts jailed
 * device processes, and a simulated guest drives the device.  Hostile
 * directories must each be refused with one log line, nothing written,
 * nothing opened, and the launcher still serving.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "../common/flood.h"
#include "../common/rig.h"
#include "../common/toolstack.h"
#include "launcher/closedirs.h"
#include "xensim/simxs.h"

#include "launcher_rig.h"

static void test_serves_and_closes_on_closing(void **state)
{
    (void)state;
    struct launcher L;
    struct served s;
    launcher_up(&L);
    serve_guest(&L, &s);
    /* The serial is not the host path. */
    char id[21] = { 0 };
    assert_int_equal(vdrv_blk_sync(&s.v, T_GET_ID, 0, id, 20), S_OK);
    assert_string_equal(id, "vg-7-51712");
    close_by_toolstack(&s);
    assert_true(log_has(&L, "exited 0", 0));
    char *err = tstk_read_node(xs, &s.disk, "error");
    assert_null(err);
    unserve_guest(&s);
    launcher_down(&L);
}

static void test_closes_on_online_0(void **state)
{
    (void)state;
    struct launcher L;
    struct served s;
    launcher_up(&L);
    serve_guest(&L, &s);
    vdrv_remove(&s.v);
    assert_int_equal(tstk_write_node(xs, &s.disk, "online", "0"), 0);
    assert_int_equal(tstk_wait_state(xs, &s.disk, 6, WAIT_MS), 0);
    assert_true(pid_gone(s.dev, WAIT_MS));
    /* In dom0 the Closed directory is libxl's to remove, not ours. */
    usleep((CLOSEDIRS_GRACE_MS + 500) * 1000);
    char *st = tstk_read_node(xs, &s.disk, "state");
    assert_non_null(st);
    free(st);
    unserve_guest(&s);
    launcher_down(&L);
}

/*
 * The guest dies with its device live and mapped: the launcher tells the
 * device process (which holds no xenstore), the process releases everything
 * and exits, and Closed is written, all within the 2 s the launcher allows.
 * Returns the time it took.
 */
static uint64_t guest_death(struct served *s)
{
    uint64_t t0 = now_ms();
    assert_int_equal(tstk_release_domain(xs, DOMID), 0);
    assert_true(pid_gone(s->dev, 2000));
    assert_int_equal(tstk_wait_state(xs, &s->disk, 6, 2000), 0);
    uint64_t dt = now_ms() - t0;
    assert_true(dt < 2000);
    return dt;
}

static void test_guest_death_releases_within_2s(void **state)
{
    (void)state;
    struct launcher L;
    struct served s;
    launcher_up(&L);
    serve_guest(&L, &s);
    uint64_t dt = guest_death(&s);
    print_message("guest death to device gone and Closed: %llu ms\n", (unsigned long long)dt);
    assert_true(log_has(&L, "the guest is gone", 0));
    assert_int_equal(simdom_grants_mapped_now(s.d), 0);
    simdom_destroy(s.d);
    tstk_remove_disk(xs, &s.disk);
    launcher_down(&L);
}

/* The same in foreign mode: its guest-RAM mappings go with the process. */
static void test_guest_death_foreign_mode(void **state)
{
    (void)state;
    struct launcher L;
    struct served s;
    launcher_up_opts(&L, getenv("VG_BACKEND"), "--mode", "foreign");
    serve_guest_dma(&L, &s, VDRV_DMA_PHYS);
    struct xensim_stats st;
    simdom_stats(s.d, &st);
    assert_true(st.fgn_map_calls > 0);
    uint64_t dt = guest_death(&s);
    print_message("foreign mode: guest death to device gone and Closed: %llu ms\n",
                  (unsigned long long)dt);
    simdom_stats(s.d, &st);
    assert_int_equal(st.fgn_mapped.cur, 0);
    simdom_destroy(s.d);
    tstk_remove_disk(xs, &s.disk);
    launcher_down(&L);
}

/*
 * Closing while the guest floods its queue from one vCPU: the launcher's
 * CLOSE is served between bounded batches, so the device still stops, maps
 * nothing and is Closed well within the launcher's 2 s deadline.
 */
static void test_closing_under_flood(void **state)
{
    (void)state;
    /* A measurement of time: meaningless with every syscall traced. */
    if (getenv("VG_UNDER_TRACE"))
        skip();
    struct launcher L;
    struct served s;
    struct flood f;
    launcher_up(&L);
    serve_guest(&L, &s);
    assert_int_equal(flood_start(&f, &s.v, RIG_BASE), 0);
    /* Close only once the flood is under way, more than a queue's worth
     * served: waited for, not slept on, so a loaded host cannot make the
     * test close before the flood and pass for nothing. */
    for (uint64_t until = now_ms() + WAIT_MS; atomic_load(&f.chains) <= 640 && now_ms() < until;)
        usleep(10000);
    assert_true(atomic_load(&f.chains) > 640);
    uint64_t t0 = now_ms();
    assert_int_equal(tstk_write_node(xs, &s.disk, "state", "5"), 0);
    assert_int_equal(tstk_wait_state(xs, &s.disk, 6, WAIT_MS), 0);
    uint64_t dt = now_ms() - t0;
    bool gone = pid_gone(s.dev, WAIT_MS);
    unsigned long published = atomic_load(&f.chains);
    flood_stop(&f);
    print_message("Closing under a flood (%lu chains published): Closed after %llu ms\n",
                  published, (unsigned long long)dt);
    assert_true(gone);
    assert_true(dt < 2000);
    /* Stopped by CLOSE, not by the deadline's SIGKILL. */
    assert_false(log_has(&L, "did not stop within the deadline", 0));
    assert_true(log_has(&L, "exited 0", 0));
    unserve_guest(&s);
    launcher_down(&L);
}

/* libxl removed the directory: the device goes, and nothing recreates the directory. */
static void test_directory_removed(void **state)
{
    (void)state;
    struct launcher L;
    struct served s;
    launcher_up(&L);
    serve_guest(&L, &s);
    assert_int_equal(tstk_remove_disk(xs, &s.disk), 0);
    assert_true(pid_gone(s.dev, 3000));
    usleep(100000);
    char *st = tstk_read_node(xs, &s.disk, "state");
    assert_null(st);
    assert_int_equal(simdom_grants_mapped_now(s.d), 0);
    simdom_destroy(s.d);
    tstk_release_domain(xs, DOMID);
    launcher_down(&L);
}

/* A device that ignores CLOSE is killed when the operator's --stop-timeout runs out. */
static void test_stop_timeout_kills_device(void **state)
{
    (void)state;
    if (sandbox_off())
        skip(); /* the probe runs only once jailed */
    struct launcher L;
    struct guest_dir g;
    setenv("VG_PROBE_FORBIDDEN", "ignore-close", 1);
    launcher_up_opts(&L, getenv("VG_PROBE_BACKEND"), "--stop-timeout", "300");
    unsetenv("VG_PROBE_FORBIDDEN");
    guest_dir_up(&g);
    assert_true(log_has(&L, "probe: ignoring CLOSE", WAIT_MS));
    guest_dir_down(&g);
    if (!log_has(&L, "did not stop within the deadline (300 ms)", WAIT_MS) ||
        !log_has(&L, "killed by signal 9", WAIT_MS)) {
        dump_log(&L);
        fail_msg("the device that ignored CLOSE was not killed at --stop-timeout");
    }
    launcher_down(&L);
}

/*
 * A device process that tries something forbidden once jailed dies of SIGSYS;
 * the launcher survives, writes the error and Closed, and keeps watching.
 */
static void test_device_killed_launcher_survives(void **state)
{
    (void)state;
    if (sandbox_off())
        skip(); /* nothing kills without the sandbox */
    struct launcher L;
    struct guest_dir g;
    launcher_up_probe(&L, "xenstore-socket");
    guest_dir_up(&g);
    expect_died_and_closed(&g);
    assert_true(log_has(&L, "killed by signal 31", WAIT_MS));
    guest_dir_down(&g);
    launcher_down(&L);
}

/* The device process turns on its launcher: it is killed, the launcher lives on. */
static void device_attacks_launcher(const char *what, const char *expect)
{
    if (sandbox_off())
        skip(); /* the probe runs only once jailed */
    struct launcher L;
    struct guest_dir g;
    launcher_up_probe(&L, what);
    guest_dir_up(&g);
    expect_died_and_closed(&g);
    if (!log_has(&L, expect, WAIT_MS) || !log_has(&L, "killed by signal 9", WAIT_MS)) {
        dump_log(&L);
        fail_msg("%s: the launcher did not kill the device", what);
    }
    guest_dir_down(&g);
    launcher_down(&L);
}

static void test_device_flooding_launcher_killed(void **state)
{
    (void)state;
    device_attacks_launcher("flood-launcher", "malformed message from the device process");
}

static void test_device_sending_fd_killed(void **state)
{
    (void)state;
    device_attacks_launcher("fd-to-launcher", "malformed message from the device process");
}

static void test_device_unasked_stats_killed(void **state)
{
    (void)state;
    device_attacks_launcher("stats-unasked", "malformed message from the device process");
}

/* The requests count on the last status line in the launcher's log, or -1. */
static long last_status_requests(const struct launcher *L)
{
    FILE *f = fopen(L->log, "r");
    char line[512];
    long n = -1;
    while (f && fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, ", grant mode, serving, requests ");
        if (p)
            n = strtol(p + strlen(", grant mode, serving, requests "), NULL, 10);
    }
    if (f)
        fclose(f);
    return n;
}

/*
 * SIGUSR1 to the launcher: one status line per device, with the counters the
 * device reports when asked; the launcher serves on, and the next table
 * counts the requests served since.
 */
static void test_status_table(void **state)
{
    (void)state;
    struct launcher L;
    struct served s;
    launcher_up(&L);
    serve_guest(&L, &s);
    /* A loaded host may let a table go out with "no answer": ask again then. */
    long before = -1;
    for (int tries = 0; tries < 5 && before < 0; tries++) {
        int rows = log_count(&L, "dom7 device 51712: status: pid ", NULL);
        assert_int_equal(kill(L.pid, SIGUSR1), 0);
        if (!log_grows(&L, "dom7 device 51712: status: pid ", NULL, rows, WAIT_MS)) {
            dump_log(&L);
            fail_msg("no status table");
        }
        before = last_status_requests(&L);
    }
    assert_true(log_has(&L, "status: 1 device(s)", 0));
    assert_true(before >= 0);
    char id[21] = { 0 };
    for (int i = 0; i < 3; i++)
        assert_int_equal(vdrv_blk_sync(&s.v, T_GET_ID, 0, id, 20), S_OK);
    long after = -1;
    for (int tries = 0; tries < 5 && after < 0; tries++) {
        int rows = log_count(&L, "dom7 device 51712: status: pid ", NULL);
        int answered = log_count(&L, ", grant mode, serving, requests ", NULL);
        assert_int_equal(kill(L.pid, SIGUSR1), 0);
        assert_true(log_grows(&L, "dom7 device 51712: status: pid ", NULL, rows, WAIT_MS));
        if (log_count(&L, ", grant mode, serving, requests ", NULL) > answered)
            after = last_status_requests(&L);
    }
    if (after != before + 3) {
        dump_log(&L);
        fail_msg("the second table does not count the 3 requests since the first");
    }
    close_by_toolstack(&s);
    unserve_guest(&s);
    launcher_down(&L);
}

/* What a device writes to stderr reaches the log attributed to it, never as the launcher. */
static void test_device_cannot_forge_launcher_log(void **state)
{
    (void)state;
    if (sandbox_off())
        skip(); /* the probe runs only once jailed */
    struct launcher L;
    struct guest_dir g;
    launcher_up_probe(&L, "forge-log");
    guest_dir_up(&g);
    assert_int_equal(tstk_wait_state(xs, &g.td, 6, WAIT_MS), 0);
    assert_true(log_has(&L, "exited 3", WAIT_MS));
    /* Both forged lines arrive, each under the device's name, escapes replaced. */
    assert_int_equal(log_count(&L, "dom7 device 51712 says: virtio-grant[watch]: info: dom7 "
                                   "device 51712: ready (InitWait)", NULL), 1);
    assert_int_equal(log_count(&L, "dom7 device 51712 says: virtio-grant[watch]: warn: "
                                   "forged?[2J", NULL), 1);
    assert_int_equal(log_count(&L, "ready (InitWait)", NULL), 1);
    assert_int_equal(log_count(&L, "\x1b", NULL), 0);
    guest_dir_down(&g);
    launcher_down(&L);
}

/* Two directories naming one image file: the second is refused while the first serves. */
static void test_image_file_shared_refused(void **state)
{
    (void)state;
    struct launcher L;
    struct served s;
    launcher_up(&L);
    serve_guest(&L, &s);
    struct tstk_disk td;
    tstk_disk_default(&td, DOMID, disk);
    td.dev = "51728";
    td.base = "33555456";
    td.irq = "34";
    assert_int_equal(tstk_write_disk(xs, &td), 0);
    assert_true(log_has(&L, "virtio_disk/7/51728: refused: params: image file in use", WAIT_MS));
    close_by_toolstack(&s);
    unserve_guest(&s);
    launcher_down(&L);
}

/* The access mode the device process holds the image with. */
static int image_access_mode(pid_t dev)
{
    char path[64], target[256], line[128];
    int mode = -1;
    for (int fd = 3; fd < 64; fd++) {
        snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)dev, fd);
        ssize_t k = readlink(path, target, sizeof(target) - 1);
        if (k <= 0)
            continue;
        target[k] = 0;
        if (strcmp(target, disk) != 0)
            continue;
        assert_int_equal(mode, -1); /* held once */
        snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)dev, fd);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f))
            if (!strncmp(line, "flags:", 6))
                mode = (int)(strtoul(line + 6, NULL, 8) & O_ACCMODE);
        fclose(f);
    }
    return mode;
}

/* The operator's --read-only wins over mode=w: the device holds a read-only fd. */
static void test_operator_read_only(void **state)
{
    (void)state;
    struct launcher L;
    struct guest_dir g;
    launcher_up_opts(&L, getenv("VG_BACKEND"), "--read-only", NULL);
    guest_dir_up(&g);
    assert_int_equal(tstk_wait_state(xs, &g.td, 2, WAIT_MS), 0);
    pid_t dev = device_pid(&L);
    assert_int_equal(image_access_mode(dev), O_RDONLY);
    assert_int_equal(tstk_write_node(xs, &g.td, "state", "5"), 0);
    assert_int_equal(tstk_wait_state(xs, &g.td, 6, WAIT_MS), 0);
    assert_true(pid_gone(dev, WAIT_MS));
    guest_dir_down(&g);
    launcher_down(&L);
}

/* A value with a newline cannot forge a second log line. */
static void test_refusal_cannot_forge_log_lines(void **state)
{
    (void)state;
    struct launcher L;
    launcher_up(&L);
    struct tstk_disk td;
    tstk_disk_default(&td, DOMID, disk);
    td.mode = "r\nvirtio-grant[watch]: info: forged";
    assert_int_equal(tstk_write_disk(xs, &td), 0);
    assert_true(log_has(&L, "refused: mode 'r?virtio-grant[watch]: info: forged'", WAIT_MS));
    /* Every line that mentions it is a refusal quoting it, none stands alone. */
    assert_int_equal(log_count(&L, "forged", NULL),
                     log_count(&L, "refused: mode 'r?virtio-grant[watch]: info: forged'", NULL));
    assert_int_equal(tstk_remove_disk(xs, &td), 0);
    launcher_down(&L);
}

struct hostile {
    const char *what;
    const char *dom, *dev, *frontend_id, *base, *irq, *params, *mode, *transport, *state;
    const char *reason; /* a substring of the refusal */
};

/*
 * Write the directory, expect exactly one refusal naming it, and nothing
 * written back or started; then remove it.
 */
static void expect_refused(struct launcher *L, const struct hostile *h)
{
    struct tstk_disk td;
    tstk_disk_default(&td, DOMID, disk);
    if (h->dom)
        td.dom = h->dom;
    if (h->dev)
        td.dev = h->dev;
    if (h->frontend_id)
        td.frontend_id = h->frontend_id;
    if (h->base)
        td.base = h->base;
    if (h->irq)
        td.irq = !strcmp(h->irq, "-") ? NULL : h->irq;
    if (h->params)
        td.params = h->params;
    if (h->mode)
        td.mode = h->mode;
    td.transport = h->transport;
    td.state = h->state;
    char needle[160];
    snprintf(needle, sizeof(needle), "backend/virtio_disk/%s/%s: refused: ", td.dom, td.dev);
    int before = log_count(L, needle, h->reason);
    assert_int_equal(tstk_write_disk(xs, &td), 0);
    if (!log_grows(L, needle, h->reason, before, WAIT_MS)) {
        dump_log(L);
        fail_msg("%s: no refusal with '%s'", h->what, h->reason);
    }
    print_message("refused %s\n", h->what);
    char *st = tstk_read_node(xs, &td, "state");
    assert_non_null(st);
    assert_string_equal(st, h->state ? h->state : "1");
    free(st);
    assert_null(tstk_read_node(xs, &td, "error"));
    assert_false(log_has(L, "started pid", 0));
    assert_true(sim_alive(L->pid));
    assert_int_equal(tstk_remove_disk(xs, &td), 0);
}

static void test_hostile_directories_refused(void **state)
{
    (void)state;
    /* Escapes aim at a file outside --images, never at a real system path:
     * the test tree is removed recursively afterwards. */
    char link[200], fifo[200], chr[200], via[200], dotdot[300], outside[200], secret[240];
    char escape[200];
    snprintf(outside, sizeof(outside), "%s/outside", env.dir);
    snprintf(secret, sizeof(secret), "%s/secret", outside);
    snprintf(link, sizeof(link), "%s/link.img", images);
    snprintf(fifo, sizeof(fifo), "%s/fifo.img", images);
    snprintf(chr, sizeof(chr), "%s/null.img", images);
    snprintf(escape, sizeof(escape), "%s/escape", images);
    snprintf(via, sizeof(via), "%s/escape/secret", images);
    snprintf(dotdot, sizeof(dotdot), "%s/../outside/secret", images);
    assert_int_equal(mkdir(outside, 0700), 0);
    int sfd = open(secret, O_WRONLY | O_CREAT, 0600);
    assert_true(sfd >= 0);
    close(sfd);
    assert_int_equal(symlink(disk, link), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(symlink(outside, escape), 0);
    bool have_chr = mknod(chr, S_IFCHR | 0600, makedev(1, 3)) == 0;

    struct launcher L;
    launcher_up(&L);
    const struct hostile cases[] = {
        { "params a symlink", .params = link, .reason = "is a symlink" },
        { "params a FIFO", .params = fifo, .reason = "neither a regular file nor a block" },
        { "params outside --images", .params = secret, .reason = "outside the images" },
        { "params through a symlinked directory", .params = via, .reason = "symlink" },
        { "params escaping with ..", .params = dotdot, .reason = "outside the images directory" },
        { "params relative", .params = "disk.img", .reason = "params: missing, relative" },
        { "base with a sign and a blank", .base = " -1024", .reason = "base: ' -1024'" },
        { "base with trailing junk", .base = "0x2000000junk", .reason = "base: '0x2000000junk'" },
        { "base misaligned", .base = "0x2000100", .reason = "not 512-byte aligned" },
        { "frontend-id with junk", .frontend_id = "7junk", .reason = "frontend-id: '7junk'" },
        { "frontend-id of another guest", .frontend_id = "8", .reason = "not the directory's" },
        /* xenstore allows only [A-Za-z0-9_@/-] in names: no '+5' or ' 5' to try. */
        { "device id -5", .dev = "-5", .reason = "device id is not canonical" },
        { "device id 0x5", .dev = "0x5", .reason = "device id is not canonical" },
        { "device id 05", .dev = "05", .reason = "device id is not canonical" },
        { "domain id 007", .dom = "007", .reason = "not a canonical guest domid" },
        { "domain id 0", .dom = "0", .frontend_id = "0", .reason = "not a canonical guest" },
        { "irq missing", .irq = "-", .reason = "irq: missing" },
        { "irq not an SPI", .irq = "31", .reason = "irq: '31' is not a number in 32..1019" },
        { "mode rw", .mode = "rw", .reason = "mode 'rw' is neither" },
        { "transport pci", .transport = "pci", .reason = "transport 'pci' is not supported" },
        { "base past 2^64 - 4 KiB", .base = "0xfffffffffffff200",
          .reason = "base: '0xfffffffffffff200' is not a number" },
        { "base beyond 64 bits", .base = "18446744073709551616", .reason = "base: '1844674407" },
        { "state with junk", .state = "1x", .reason = "state is not a XenbusState" },
        { "state 7", .state = "7", .reason = "state is not a XenbusState" },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_refused(&L, &cases[i]);
    if (have_chr) {
        const struct hostile c = { "params a char device", .params = chr,
                                   .reason = "neither a regular file nor a block device" };
        expect_refused(&L, &c);
    } else {
        print_message("mknod not permitted here: the char-device case ran only as the FIFO\n");
    }
    /* A name longer than any canonical one: counted and said, nothing started. */
    struct tstk_disk lng;
    tstk_disk_default(&lng, DOMID, disk);
    lng.dev = "123456789012345678901234567890123456789012345678901234567890";
    assert_int_equal(tstk_write_disk(xs, &lng), 0);
    if (!log_has(&L, "1 device directories refused: names longer than 47 bytes", WAIT_MS)) {
        dump_log(&L);
        fail_msg("a directory name too long to refuse by name was not logged");
    }
    char *lst = tstk_read_node(xs, &lng, "state");
    assert_non_null(lst);
    assert_string_equal(lst, "1");
    free(lst);
    tstk_remove_disk(xs, &lng);
    /* Nobody opened the FIFO: a writer finds no reader. */
    int w = open(fifo, O_WRONLY | O_NONBLOCK);
    assert_int_equal(w, -1);
    assert_int_equal(errno, ENXIO);
    /* And the launcher still serves a good directory. */
    struct served s;
    serve_guest(&L, &s);
    close_by_toolstack(&s);
    unserve_guest(&s);
    launcher_down(&L);
    unlink(link);
    unlink(fifo);
    unlink(escape);
    unlink(chr);
}

/* Foreign mode sizes the guest's RAM from static-max: a junk value is refused. */
static void test_foreign_static_max_refused(void **state)
{
    (void)state;
    struct launcher L;
    launcher_up_opts(&L, getenv("VG_BACKEND"), "--mode", "foreign");
    assert_int_equal(tstk_add_domain(xs, DOMID), 0);
    assert_true(xs_write(xs, XBT_NULL, "/local/domain/7/memory/static-max", "32768k", 6));
    struct tstk_disk td;
    tstk_disk_default(&td, DOMID, disk);
    assert_int_equal(tstk_write_disk(xs, &td), 0);
    assert_true(log_has(&L, "refused: memory/static-max: '32768k' is not a size", WAIT_MS));
    assert_false(log_has(&L, "started pid", 0));
    assert_int_equal(tstk_remove_disk(xs, &td), 0);
    tstk_release_domain(xs, DOMID);
    launcher_down(&L);
}

/* An embedded NUL would make two readers see two values: refused. */
static void test_params_with_nul_refused(void **state)
{
    (void)state;
    struct launcher L;
    launcher_up(&L);
    struct tstk_disk td;
    tstk_disk_default(&td, DOMID, disk);
    td.params = NULL;
    assert_int_equal(tstk_write_node(xs, &td, "frontend-id", "7"), 0);
    char v[300];
    int n = snprintf(v, sizeof(v), "%s", disk);
    memcpy(v + n, "\0/etc/shadow", 13);
    char path[256];
    snprintf(path, sizeof(path), "backend/virtio_disk/%s/%s/params", td.dom, td.dev);
    assert_true(xs_write(xs, XBT_NULL, path, v, (unsigned)n + 12));
    assert_int_equal(tstk_write_disk(xs, &td), 0);
    assert_true(log_has(&L, "params: missing, relative or too long", WAIT_MS));
    assert_false(log_has(&L, "started pid", 0));
    assert_int_equal(tstk_remove_disk(xs, &td), 0);
    launcher_down(&L);
}

/* A block device in use (held exclusively, as a mount holds it) is refused. */
static void test_block_device_in_use_refused(void **state)
{
    (void)state;
    char loopimg[200], cmd[300], node[200];
    snprintf(loopimg, sizeof(loopimg), "%s/loop-backing.raw", env.dir);
    int fd = open(loopimg, O_RDWR | O_CREAT, 0600);
    assert_true(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
    close(fd);
    snprintf(cmd, sizeof(cmd), "losetup -f --show %s 2>/dev/null", loopimg);
    FILE *p = popen(cmd, "r");
    char dev[64] = "";
    if (!p || !fgets(dev, sizeof(dev), p) || dev[0] != '/') {
        if (p)
            pclose(p);
        print_message("no loop device here: case not run\n");
        skip();
    }
    pclose(p);
    dev[strcspn(dev, "\n")] = 0;
    struct stat st;
    assert_int_equal(stat(dev, &st), 0);
    snprintf(node, sizeof(node), "%s/busy.blk", images);
    assert_int_equal(mknod(node, S_IFBLK | 0600, st.st_rdev), 0);
    int hold = open(dev, O_RDONLY | O_EXCL);
    assert_true(hold >= 0);

    struct launcher L;
    launcher_up(&L);
    const struct hostile c = { "a block device in use", .params = node,
                               .reason = "block device in use" };
    expect_refused(&L, &c);
    launcher_down(&L);
    close(hold);
    unlink(node);
    snprintf(cmd, sizeof(cmd), "losetup -d %s", dev);
    assert_int_equal(system(cmd), 0);
}

static void test_bad_launcher_options(void **state)
{
    (void)state;
    const char *be = getenv("VG_BACKEND");
    const char *bad[][4] = {
        { "watch", "--images", "relative/dir", NULL },
        { "watch", "--images", "/nonexistent-vg-images", NULL },
        { "watch", "--mode", "bogus", NULL },
        { "watch", "--domid", "3", NULL },
        /* what the toolstack sets per device, refused rather than ignored */
        { "watch", "--irq", "40", NULL },
        { "watch", "--serial=abc", NULL, NULL },
        { "watch", "--control-fd", "5", NULL },
        { "watch", "--ir", "40", NULL },       /* getopt's abbreviations too */
        { "watch", "--control", "5", NULL },
        { "watch", "--bas=0x3000000", NULL, NULL },
        /* combinations, checked once at start rather than in every device */
        { "watch", "--premap", NULL, NULL },
        { "watch", "--ram-size", "64M", NULL },
        { "watch", "--log-format", "xml", NULL },
        { "watch", "--stop-timeout", "99", NULL },
        { "watch", "--stop-timeout", "600001", NULL },
        { "watch", "--stop-timeout=2s", NULL, NULL },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[6] = { be, bad[i][0], bad[i][1], bad[i][2], NULL };
        pid_t pid = sim_spawn((char *const *)argv, "/dev/null");
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        if (WEXITSTATUS(st) != 2)
            fail_msg("watch %s %s: exit %d, not 2", bad[i][1], bad[i][2] ? bad[i][2] : "",
                     WEXITSTATUS(st));
    }
    /* --help and --version are not errors */
    const char *ok[][3] = { { "watch", "--help", NULL }, { "watch", "--version", NULL } };
    for (unsigned i = 0; i < 2; i++) {
        const char *argv[4] = { be, ok[i][0], ok[i][1], NULL };
        pid_t pid = sim_spawn((char *const *)argv, "/dev/null");
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
}

/* Whether pid sleeps (state S) in be's image: past exec, waiting on something. */
static bool sleeping_in(pid_t pid, const char *be)
{
    char path[64], exe[PATH_MAX], want[PATH_MAX], stat[256];
    snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(path, exe, sizeof(exe) - 1);
    if (n <= 0 || !realpath(be, want))
        return false;
    exe[n] = 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    bool s = f && fgets(stat, sizeof(stat), f) && strrchr(stat, ')') &&
             strrchr(stat, ')')[2] == 'S';
    if (f)
        fclose(f);
    return s && !strcmp(exe, want);
}

/*
 * A stop (SIGTERM) that reaches a device process during set-up, here while
 * it waits for the launcher's CONFIG, waits for the event loop instead of
 * killing it half way (which would leave an ioreq server behind): the
 * process ends on its own, with an exit status.
 */
static void test_stop_during_setup_waits(void **state)
{
    (void)state;
    /* Under rule-coverage.sh the backend is a wrapper (strace): the signal
     * and the process image are the wrapper's, not the device's. */
    if (getenv("VG_UNDER_TRACE"))
        skip();
    const char *be = getenv("VG_BACKEND");
    int sp[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (dup2(sp[1], 3) < 0 || null < 0 || dup2(null, 2) < 0)
            _exit(127);
        execl(be, "virtio-grant", "blk", "--control-fd", "3", (char *)NULL);
        _exit(127);
    }
    close(sp[1]);
    int i = 0;
    while (i++ < 500 && !sleeping_in(pid, be))
        usleep(10000);
    assert_true(sleeping_in(pid, be));
    assert_int_equal(kill(pid, SIGTERM), 0);
    usleep(100000);
    close(sp[0]); /* no CONFIG will come */
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st))
        fail_msg("a SIGTERM during set-up killed the device process (status 0x%x)", st);
    assert_int_not_equal(WEXITSTATUS(st), 0);
}

/*
 * The launcher crashes (SIGKILL) with a guest being served: the device
 * process serves on, and the next launcher adopts it from its record, tells
 * when the guest dies, and writes Closed once the process is gone.
 */
static void test_launcher_crash_device_serves_on(void **state)
{
    (void)state;
    struct launcher L1, L2;
    struct served s;
    launcher_up(&L1);
    serve_guest(&L1, &s);
    assert_int_equal(kill(L1.pid, SIGKILL), 0);
    int st;
    assert_int_equal(waitpid(L1.pid, &st, 0), L1.pid);
    static uint8_t w[65536], r[65536];
    rig_pattern(w, sizeof(w), 21);
    /* no launcher at all: the guest's I/O goes on */
    assert_int_equal(vdrv_blk_sync(&s.v, T_OUT, 64, w, sizeof(w)), S_OK);
    assert_int_equal(vdrv_blk_sync(&s.v, T_IN, 64, r, sizeof(r)), S_OK);
    assert_memory_equal(w, r, sizeof(w));
    assert_int_equal(kill(s.dev, 0), 0);
    launcher_up(&L2);
    char line[96];
    snprintf(line, sizeof(line), "adopted pid %d,", (int)s.dev);
    assert_true(log_has(&L2, line, WAIT_MS));
    memset(r, 0, sizeof(r));
    assert_int_equal(vdrv_blk_sync(&s.v, T_IN, 64, r, sizeof(r)), S_OK);
    assert_memory_equal(w, r, sizeof(w));
    uint64_t t0 = now_ms();
    assert_int_equal(tstk_release_domain(xs, DOMID), 0);
    /* Closed as soon as the process has exited (its pidfd says so); who reaps it is
     * up to init, as it is no launcher's child now. */
    assert_int_equal(tstk_wait_state(xs, &s.disk, 6, 2000), 0);
    print_message("adopted device: guest death to Closed in %llu ms\n",
                  (unsigned long long)(now_ms() - t0));
    assert_true(pid_gone(s.dev, 10000));
    snprintf(line, sizeof(line), "adopted pid %d exited", (int)s.dev);
    assert_true(log_has(&L2, line, WAIT_MS));
    assert_int_equal(simdom_grants_mapped_now(s.d), 0);
    simdom_destroy(s.d);
    tstk_remove_disk(xs, &s.disk);
    launcher_down(&L2);
}

static void write_record(const char *name, const char *text)
{
    char path[320];
    snprintf(path, sizeof(path), "%s/%s", state_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Start time of this process, as the launcher reads it. */
static unsigned long long own_start_time(void)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    for (int field = 2; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    assert_non_null(p);
    return strtoull(p + 1, NULL, 10);
}

/*
 * What a restarted launcher reads back is checked like any input: each bad
 * record is named with its reason, removed, and nothing adopted; a state
 * directory others can write is refused outright.
 */
static void test_state_records_refused(void **state)
{
    (void)state;
    char text[64];
    struct { const char *name, *why; } bad[] = {
        { "junk", "not a <domid>.<devid> name" },
        { "0.51712", "not a <domid>.<devid> name" },
        { "7.0x10", "not a <domid>.<devid> name" },
        { "8.51712", "not \"<pid> <start time>\"" },
        { "9.51712", "not \"<pid> <start time>\"" },
        { "10.51712", "the process is gone" },
        { "11.51712", "that pid is another process now" },
        { "12.51712", "the process does not run this binary" },
    };
    mkdir(state_dir, 0700);
    write_record(bad[0].name, "1 1\n");
    write_record(bad[1].name, "1 1\n");
    write_record(bad[2].name, "1 1\n");
    write_record(bad[3].name, "123\n");
    write_record(bad[4].name, "-5 7\n");
    write_record(bad[5].name, "4194000 1\n"); /* no such pid on a test machine */
    snprintf(text, sizeof(text), "%d %llu\n", (int)getpid(), own_start_time() + 1);
    write_record(bad[6].name, text);
    snprintf(text, sizeof(text), "%d %llu\n", (int)getpid(), own_start_time());
    write_record(bad[7].name, text);
    struct launcher L;
    launcher_up(&L);
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char line[160], path[320];
        snprintf(line, sizeof(line), "state record %s: not adopted: %s; removed", bad[i].name,
                 bad[i].why);
        /* the records are read after the "watching" line launcher_up waited for */
        if (!log_has(&L, line, WAIT_MS)) {
            dump_log(&L);
            fail_msg("no refusal: %s", line);
        }
        snprintf(path, sizeof(path), "%s/%s", state_dir, bad[i].name);
        assert_int_equal(access(path, F_OK), -1);
    }
    assert_int_equal(log_count(&L, "adopted pid", NULL), 0);
    launcher_down(&L);

    char open_dir[200];
    snprintf(open_dir, sizeof(open_dir), "%s/state-0777", env.dir);
    assert_int_equal(mkdir(open_dir, 0777), 0);
    assert_int_equal(chmod(open_dir, 0777), 0);
    char arg[220];
    snprintf(arg, sizeof(arg), "--state-dir=%s", open_dir);
    const char *argv[] = { getenv("VG_BACKEND"), "watch", "--images", images, arg, NULL };
    struct launcher R;
    snprintf(R.log, sizeof(R.log), "%s/state-0777.log", env.dir);
    pid_t pid = R.pid = sim_spawn((char *const *)argv, R.log);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_true(log_has(&R, "a directory only this user can write", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serves_and_closes_on_closing),
        cmocka_unit_test(test_closes_on_online_0),
        cmocka_unit_test(test_guest_death_releases_within_2s),
        cmocka_unit_test(test_guest_death_foreign_mode),
        cmocka_unit_test(test_closing_under_flood),
        cmocka_unit_test(test_directory_removed),
        cmocka_unit_test(test_device_killed_launcher_survives),
        cmocka_unit_test(test_stop_timeout_kills_device),
        cmocka_unit_test(test_hostile_directories_refused),
        cmocka_unit_test(test_params_with_nul_refused),
        cmocka_unit_test(test_foreign_static_max_refused),
        cmocka_unit_test(test_block_device_in_use_refused),
        cmocka_unit_test(test_bad_launcher_options),
        cmocka_unit_test(test_stop_during_setup_waits),
        cmocka_unit_test(test_device_flooding_launcher_killed),
        cmocka_unit_test(test_device_sending_fd_killed),
        cmocka_unit_test(test_device_unasked_stats_killed),
        cmocka_unit_test(test_status_table),
        cmocka_unit_test(test_device_cannot_forge_launcher_log),
        cmocka_unit_test(test_image_file_shared_refused),
        cmocka_unit_test(test_operator_read_only),
        cmocka_unit_test(test_refusal_cannot_forge_log_lines),
        cmocka_unit_test(test_launcher_crash_device_serves_on),
        cmocka_unit_test(test_state_records_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
