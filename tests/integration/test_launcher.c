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

#include "../common/flood.h"
#include "../common/rig.h"
#include "../common/toolstack.h"
#include "launcher/closedirs.h"
#include "xensim/simxs.h"

#define DOMID 7
#define DD_DOMID 5
#define DD_DOMID_STR "5"
#define WAIT_MS 5000

static struct sim_env env;
static pid_t xsd;
static struct xs_handle *xs;
static char images[128], disk[160];

struct launcher {
    pid_t pid;
    char log[160];
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int group_setup(void **state)
{
    (void)state;
    if (sim_env_init(&env) < 0 || (xsd = simxs_start()) < 0 || !(xs = tstk_open()) ||
        tstk_init_dom0(xs) < 0)
        return -1;
    snprintf(images, sizeof(images), "%s/images", env.dir);
    snprintf(disk, sizeof(disk), "%s/disk.img", images);
    if (mkdir(images, 0700) < 0)
        return -1;
    int fd = open(disk, O_RDWR | O_CREAT, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)RIG_IMG_MB << 20) < 0)
        return -1;
    close(fd);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    xs_close(xs);
    simxs_stop(xsd);
    sim_env_fini(&env);
    return 0;
}

/* Lines of the launcher's log holding both @a and @b (b may be NULL). */
static int log_count(const struct launcher *L, const char *a, const char *b)
{
    FILE *f = fopen(L->log, "r");
    char line[1024];
    int n = 0;
    while (f && fgets(line, sizeof(line), f))
        n += strstr(line, a) && (!b || strstr(line, b));
    if (f)
        fclose(f);
    return n;
}

/* Wait up to timeout_ms for more than @before such lines. */
static bool log_grows(const struct launcher *L, const char *a, const char *b, int before,
                      int timeout_ms)
{
    for (int t = 0; t <= timeout_ms; t += 10) {
        if (log_count(L, a, b) > before)
            return true;
        if (timeout_ms)
            usleep(10000);
    }
    return false;
}

static bool log_has(const struct launcher *L, const char *needle, int timeout_ms)
{
    return log_grows(L, needle, NULL, 0, timeout_ms);
}

static void dump_log(const struct launcher *L)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "tail -n 40 %s >&2", L->log);
    if (system(cmd) < 0)
        perror("system");
}

/* `bin watch --images DIR -v --sandbox=... [opt [arg]]`, once it watches. */
static void launcher_up_opts(struct launcher *L, const char *bin, const char *opt,
                             const char *arg)
{
    static int n;
    snprintf(L->log, sizeof(L->log), "%s/launcher%d.log", env.dir, n++);
    static char sandbox[32];
    const char *sb = getenv("VG_TEST_SANDBOX");
    snprintf(sandbox, sizeof(sandbox), "--sandbox=%s", sb && *sb ? sb : "kill");
    const char *argv[] = { bin, "watch", "--images", images, "-v", sandbox, opt, arg, NULL };
    L->pid = sim_spawn((char *const *)argv, L->log);
    assert_true(L->pid > 0);
    if (!log_has(L, "watching backend/virtio_disk", WAIT_MS)) {
        dump_log(L);
        fail_msg("the launcher did not start");
    }
}

static void launcher_up_bin(struct launcher *L, const char *bin)
{
    launcher_up_opts(L, bin, NULL, NULL);
}

static void launcher_up(struct launcher *L)
{
    launcher_up_bin(L, getenv("VG_BACKEND"));
}

/* The test twin as launcher (so as device), attempting @what once jailed. */
static void launcher_up_probe(struct launcher *L, const char *what)
{
    setenv("VG_PROBE_FORBIDDEN", what, 1);
    launcher_up_bin(L, getenv("VG_PROBE_BACKEND"));
    unsetenv("VG_PROBE_FORBIDDEN");
}

static bool sandbox_off(void)
{
    const char *sb = getenv("VG_TEST_SANDBOX");
    return sb && !strcmp(sb, "off");
}

/* A guest that exists and one disk directory for it, as libxl writes it. */
struct guest_dir {
    struct simdom *d;
    struct tstk_disk td;
};

static void guest_dir_up(struct guest_dir *g)
{
    struct simdom_params p = { .domid = DOMID, .nr_vcpus = 1,
                               .ram_size = (uint64_t)RIG_RAM_MB << 20, .nr_grants = 64 };
    g->d = simdom_create(&p);
    assert_non_null(g->d);
    assert_int_equal(tstk_add_domain(xs, DOMID), 0);
    tstk_disk_default(&g->td, DOMID, disk);
    assert_int_equal(tstk_write_disk(xs, &g->td), 0);
}

static void guest_dir_down(struct guest_dir *g)
{
    simdom_destroy(g->d);
    tstk_remove_disk(xs, &g->td);
    tstk_release_domain(xs, DOMID);
}

/* The launcher closed the device on its behalf, with its own text. */
static void expect_died_and_closed(struct guest_dir *g)
{
    assert_int_equal(tstk_wait_state(xs, &g->td, 6, WAIT_MS), 0);
    char *err = tstk_read_node(xs, &g->td, "error");
    assert_non_null(err);
    assert_string_equal(err, "virtio-grant: the device process died");
    free(err);
}

static void launcher_down(struct launcher *L)
{
    assert_true(sim_alive(L->pid));
    int st = sim_stop(L->pid);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        dump_log(L);
        fail_msg("launcher exit status 0x%x", st);
    }
}

/* The pid the launcher logged for the device it started last. */
static pid_t device_pid(const struct launcher *L)
{
    FILE *f = fopen(L->log, "r");
    char line[1024];
    pid_t pid = -1;
    while (f && fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, "started pid ");
        if (p)
            pid = (pid_t)atoi(p + strlen("started pid "));
    }
    if (f)
        fclose(f);
    return pid;
}

struct served {
    struct simdom *d;
    struct vdrv v;
    struct tstk_disk disk;
    pid_t dev;
};

/*
 * A guest with one disk, served by backend domain @be (its xenstore home
 * @be_home, NULL for ours) and probed; writes and reads back a pattern.
 */
static void serve_guest_by(struct launcher *L, struct served *s, enum vdrv_dma dma, uint16_t be,
                           const char *be_home)
{
    struct simdom_params p = { .domid = DOMID, .nr_vcpus = 2, .backend_domid = be,
                               .ram_size = (uint64_t)RIG_RAM_MB << 20, .nr_grants = 8192 };
    memset(s, 0, sizeof(*s));
    s->d = simdom_create(&p);
    assert_non_null(s->d);
    assert_int_equal(tstk_add_domain(xs, DOMID), 0);
    tstk_disk_default(&s->disk, DOMID, disk);
    s->disk.backend_home = be_home;
    assert_int_equal(tstk_write_disk(xs, &s->disk), 0);
    if (tstk_wait_state(xs, &s->disk, 2, WAIT_MS) < 0) {
        dump_log(L);
        fail_msg("no InitWait");
    }
    s->dev = device_pid(L);
    assert_true(s->dev > 0);
    struct vdrv_opts o = { .base = RIG_BASE, .irq = RIG_IRQ, .dma = dma,
                           .queue_size = 64, .indirect = true, .event_idx = true };
    assert_int_equal(vdrv_probe(&s->v, s->d, &o), 0);
    static uint8_t w[8192], r[8192];
    rig_pattern(w, sizeof(w), 11);
    assert_int_equal(vdrv_blk_sync(&s->v, T_OUT, 16, w, sizeof(w)), S_OK);
    assert_int_equal(vdrv_blk_sync(&s->v, T_IN, 16, r, sizeof(r)), S_OK);
    assert_memory_equal(w, r, sizeof(w));
}

static void serve_guest_dma(struct launcher *L, struct served *s, enum vdrv_dma dma)
{
    serve_guest_by(L, s, dma, 0, NULL);
}

static void serve_guest(struct launcher *L, struct served *s)
{
    serve_guest_dma(L, s, VDRV_DMA_GRANT);
}

static bool pid_gone(pid_t pid, int timeout_ms)
{
    for (int t = 0; t <= timeout_ms; t += 2) {
        if (kill(pid, 0) < 0 && errno == ESRCH)
            return true;
        usleep(2000);
    }
    return false;
}

/* libxl's close: Closing, then Closed once the device process is gone. */
static void close_by_toolstack(struct served *s)
{
    vdrv_remove(&s->v);
    assert_int_equal(tstk_write_node(xs, &s->disk, "state", "5"), 0);
    assert_int_equal(tstk_wait_state(xs, &s->disk, 6, WAIT_MS), 0);
    assert_true(pid_gone(s->dev, WAIT_MS));
}

/* After the device went away: nothing mapped, the directory left to the toolstack. */
static void unserve_guest(struct served *s)
{
    assert_int_equal(simdom_grants_mapped_now(s->d), 0);
    simdom_destroy(s->d);
    tstk_remove_disk(xs, &s->disk);
    tstk_release_domain(xs, DOMID);
}

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
    usleep(200000);
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
    assert_true(published > 640);
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
    setenv("XENSIM_SELF_DOMID", DD_DOMID_STR, 1);
    launcher_up(&L);
    unsetenv("XENSIM_SELF_DOMID");
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

/* A launcher that cannot tell which domain it runs in does not start. */
static void test_launcher_needs_its_domid(void **state)
{
    (void)state;
    const char *argv[] = { getenv("VG_BACKEND"), "watch", NULL };
    char log[160];
    snprintf(log, sizeof(log), "%s/nodomid.log", env.dir);
    setenv("XENSIM_SELF_DOMID", "9", 1);
    pid_t pid = sim_spawn((char *const *)argv, log);
    unsetenv("XENSIM_SELF_DOMID");
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    struct launcher L = { .pid = pid };
    snprintf(L.log, sizeof(L.log), "%s", log);
    assert_true(log_has(&L, "cannot tell which domain this is", 0));
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
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *argv[6] = { be, bad[i][0], bad[i][1], bad[i][2], NULL };
        pid_t pid = sim_spawn((char *const *)argv, "/dev/null");
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 2);
    }
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
        cmocka_unit_test(test_hostile_directories_refused),
        cmocka_unit_test(test_params_with_nul_refused),
        cmocka_unit_test(test_foreign_static_max_refused),
        cmocka_unit_test(test_block_device_in_use_refused),
        cmocka_unit_test(test_bad_launcher_options),
        cmocka_unit_test(test_driver_domain),
        cmocka_unit_test(test_launcher_needs_its_domid),
        cmocka_unit_test(test_device_flooding_launcher_killed),
        cmocka_unit_test(test_device_sending_fd_killed),
        cmocka_unit_test(test_device_cannot_forge_launcher_log),
        cmocka_unit_test(test_image_file_shared_refused),
        cmocka_unit_test(test_operator_read_only),
        cmocka_unit_test(test_refusal_cannot_forge_log_lines),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
