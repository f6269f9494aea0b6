/* SPDX-License-Identifier: MIT */
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
#include "xensim/simxs.h"

#include "launcher_rig.h"

struct sim_env env;
pid_t xsd;
struct xs_handle *xs;
char images[128], disk[160], state_dir[160];

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int group_setup(void **state)
{
    (void)state;
    if (sim_env_init(&env) < 0 || (xsd = simxs_start()) < 0 || !(xs = tstk_open()) ||
        tstk_init_dom0(xs) < 0)
        return -1;
    snprintf(images, sizeof(images), "%s/images", env.dir);
    snprintf(disk, sizeof(disk), "%s/disk.img", images);
    snprintf(state_dir, sizeof(state_dir), "%s/launcher-state", env.dir);
    if (mkdir(images, 0700) < 0)
        return -1;
    int fd = open(disk, O_RDWR | O_CREAT, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)RIG_IMG_MB << 20) < 0)
        return -1;
    close(fd);
    return 0;
}

int group_teardown(void **state)
{
    (void)state;
    xs_close(xs);
    simxs_stop(xsd);
    sim_env_fini(&env);
    return 0;
}

/* Lines of the launcher's log holding both @a and @b (b may be NULL). */
int log_count(const struct launcher *L, const char *a, const char *b)
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
bool log_grows(const struct launcher *L, const char *a, const char *b, int before,
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

bool log_has(const struct launcher *L, const char *needle, int timeout_ms)
{
    return log_grows(L, needle, NULL, 0, timeout_ms);
}

void dump_log(const struct launcher *L)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "tail -n 40 %s >&2", L->log);
    if (system(cmd) < 0)
        perror("system");
}

/* `bin watch --images DIR -v --sandbox=... [opt [arg]]`, once it watches. */
/* As domain @self (NULL: dom0), the environment set only around the spawn. */
void launcher_up_as(struct launcher *L, const char *self, const char *bin,
                    const char *opt, const char *arg)
{
    static int n;
    snprintf(L->log, sizeof(L->log), "%s/launcher%d.log", env.dir, n++);
    static char sandbox[32];
    const char *sb = getenv("VG_TEST_SANDBOX");
    snprintf(sandbox, sizeof(sandbox), "--sandbox=%s", sb && *sb ? sb : "kill");
    static char state[192];
    snprintf(state, sizeof(state), "--state-dir=%s", state_dir);
    const char *argv[] = { bin, "watch", "--images", images, state, "-v", sandbox, opt, arg,
                           NULL };
    if (self)
        setenv("XENSIM_SELF_DOMID", self, 1);
    L->pid = sim_spawn((char *const *)argv, L->log);
    unsetenv("XENSIM_SELF_DOMID");
    assert_true(L->pid > 0);
    if (!log_has(L, "watching backend/virtio_disk", WAIT_MS)) {
        dump_log(L);
        fail_msg("the launcher did not start");
    }
}

void launcher_up_opts(struct launcher *L, const char *bin, const char *opt,
                      const char *arg)
{
    launcher_up_as(L, NULL, bin, opt, arg);
}

void launcher_up_bin(struct launcher *L, const char *bin)
{
    launcher_up_opts(L, bin, NULL, NULL);
}

void launcher_up(struct launcher *L)
{
    launcher_up_bin(L, getenv("VG_BACKEND"));
}

/* The test twin as launcher (so as device), attempting @what once jailed. */
void launcher_up_probe(struct launcher *L, const char *what)
{
    setenv("VG_PROBE_FORBIDDEN", what, 1);
    launcher_up_bin(L, getenv("VG_PROBE_BACKEND"));
    unsetenv("VG_PROBE_FORBIDDEN");
}

bool sandbox_off(void)
{
    const char *sb = getenv("VG_TEST_SANDBOX");
    return sb && !strcmp(sb, "off");
}


void guest_dir_up(struct guest_dir *g)
{
    struct simdom_params p = { .domid = DOMID, .nr_vcpus = 1,
                               .ram_size = (uint64_t)RIG_RAM_MB << 20, .nr_grants = 64 };
    g->d = simdom_create(&p);
    assert_non_null(g->d);
    assert_int_equal(tstk_add_domain(xs, DOMID), 0);
    tstk_disk_default(&g->td, DOMID, disk);
    assert_int_equal(tstk_write_disk(xs, &g->td), 0);
}

void guest_dir_down(struct guest_dir *g)
{
    simdom_destroy(g->d);
    tstk_remove_disk(xs, &g->td);
    tstk_release_domain(xs, DOMID);
}

/* The launcher closed the device on its behalf, with its own text. */
void expect_died_and_closed(struct guest_dir *g)
{
    assert_int_equal(tstk_wait_state(xs, &g->td, 6, WAIT_MS), 0);
    char *err = tstk_read_node(xs, &g->td, "error");
    assert_non_null(err);
    assert_string_equal(err, "virtio-grant: the device process died");
    free(err);
}

void launcher_down(struct launcher *L)
{
    assert_true(sim_alive(L->pid));
    int st = sim_stop(L->pid);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        dump_log(L);
        fail_msg("launcher exit status 0x%x", st);
    }
}

/* The pid the launcher logged last for a device: one it started, or one it put in. */
pid_t device_pid(const struct launcher *L)
{
    FILE *f = fopen(L->log, "r");
    char line[1024];
    pid_t pid = -1;
    while (f && fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, "started pid ");
        if (p)
            pid = (pid_t)atoi(p + strlen("started pid "));
        if (strstr(line, " replaces pid ") && (p = strstr(line, ": pid ")))
            pid = (pid_t)atoi(p + strlen(": pid "));
    }
    if (f)
        fclose(f);
    return pid;
}


void guest_up(struct launcher *L, struct served *s, uint16_t domid, uint32_t nr_vcpus,
              enum vdrv_dma dma, uint16_t be, const char *be_home)
{
    struct simdom_params p = { .domid = domid, .nr_vcpus = nr_vcpus, .backend_domid = be,
                               .ram_size = (uint64_t)RIG_RAM_MB << 20, .nr_grants = 8192 };
    memset(s, 0, sizeof(*s));
    s->d = simdom_create(&p);
    assert_non_null(s->d);
    assert_int_equal(tstk_add_domain(xs, domid), 0);
    tstk_disk_default(&s->disk, domid, disk);
    s->disk.backend_home = be_home;
    assert_int_equal(tstk_write_disk(xs, &s->disk), 0);
    if (tstk_wait_state(xs, &s->disk, 2, WAIT_MS) < 0) {
        dump_log(L);
        fail_msg("dom%u: no InitWait", domid);
    }
    s->dev = device_pid(L);
    assert_true(s->dev > 0);
    struct vdrv_opts o = { .base = RIG_BASE, .irq = RIG_IRQ, .dma = dma,
                           .queue_size = 64, .indirect = true, .event_idx = true };
    assert_int_equal(vdrv_probe(&s->v, s->d, &o), 0);
}

/*
 * A guest with one disk, served by backend domain @be (its xenstore home
 * @be_home, NULL for ours) and probed; writes and reads back a pattern.
 */
void serve_guest_by(struct launcher *L, struct served *s, enum vdrv_dma dma, uint16_t be,
                    const char *be_home)
{
    guest_up(L, s, DOMID, 2, dma, be, be_home);
    static uint8_t w[8192], r[8192];
    rig_pattern(w, sizeof(w), 11);
    assert_int_equal(vdrv_blk_sync(&s->v, T_OUT, 16, w, sizeof(w)), S_OK);
    assert_int_equal(vdrv_blk_sync(&s->v, T_IN, 16, r, sizeof(r)), S_OK);
    assert_memory_equal(w, r, sizeof(w));
}

void serve_guest_dma(struct launcher *L, struct served *s, enum vdrv_dma dma)
{
    serve_guest_by(L, s, dma, 0, NULL);
}

void serve_guest(struct launcher *L, struct served *s)
{
    serve_guest_dma(L, s, VDRV_DMA_GRANT);
}

bool pid_gone(pid_t pid, int timeout_ms)
{
    for (int t = 0; t <= timeout_ms; t += 2) {
        if (kill(pid, 0) < 0 && errno == ESRCH)
            return true;
        usleep(2000);
    }
    return false;
}

/* libxl's close: Closing, then Closed once the device process is gone. */
void close_by_toolstack(struct served *s)
{
    vdrv_remove(&s->v);
    assert_int_equal(tstk_write_node(xs, &s->disk, "state", "5"), 0);
    assert_int_equal(tstk_wait_state(xs, &s->disk, 6, WAIT_MS), 0);
    assert_true(pid_gone(s->dev, WAIT_MS));
}

/* After the device went away: nothing mapped, the directory left to the toolstack. */
void unserve_guest(struct served *s)
{
    assert_int_equal(simdom_grants_mapped_now(s->d), 0);
    simdom_destroy(s->d);
    tstk_remove_disk(xs, &s->disk);
    tstk_release_domain(xs, DOMID);
}
