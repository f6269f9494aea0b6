/* SPDX-License-Identifier: MIT */
/*
 * The sandbox, tested as Firecracker tests its seccomp filters: the backend
 * serves a simulated guest with the sandbox on and its /proc status shows the
 * confinement; a test-only build of the backend attempts each forbidden class
 * of call once sandboxed and must die of SIGSYS.  The rest of the suite runs
 * sandboxed too, which exercises every allowed rule the simulator can reach.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/rig.h"


static struct sim_env env;

static int group_setup(void **state)
{
    (void)state;
    /* LeakSanitizer cannot scan a sandboxed process (no /proc, no ptrace). */
    setenv("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1", 1);
    unsetenv("VG_TEST_SANDBOX");
    return sim_env_init(&env);
}

static int group_teardown(void **state)
{
    (void)state;
    sim_env_fini(&env);
    return 0;
}

/* The value of a field of /proc/PID/task/TID/status, tabs and all ("" if absent). */
static void task_status_field(pid_t pid, const char *tid, const char *field, char *out, size_t n)
{
    char path[300], line[256];
    snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, tid);
    FILE *f = fopen(path, "r");
    out[0] = 0;
    assert_non_null(f);
    size_t fl = strlen(field);
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, field, fl) && line[fl] == ':') {
            const char *v = line + fl + 1;
            while (*v == '\t' || *v == ' ')
                v++;
            snprintf(out, n, "%s", v);
            out[strcspn(out, "\n")] = 0;
            break;
        }
    }
    fclose(f);
}

static void status_field(pid_t pid, const char *field, char *out, size_t n)
{
    char tid[16];
    snprintf(tid, sizeof(tid), "%d", (int)pid);
    task_status_field(pid, tid, field, out, n);
}

/* Entries of a directory other than . and .. (-1 if it cannot be read). */
static int dir_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

static bool same_mount_ns(pid_t pid)
{
    char a[64], b[64], p[64];
    snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)pid);
    ssize_t na = readlink(p, a, sizeof(a) - 1), nb = readlink("/proc/self/ns/mnt", b, sizeof(b) - 1);
    assert_true(na > 0 && nb > 0);
    a[na] = b[nb] = 0;
    return !strcmp(a, b);
}

static void write_read_flush(struct rig *r)
{
    static uint8_t w[16384], rd[16384];
    for (size_t i = 0; i < sizeof(w); i++)
        w[i] = (uint8_t)(i * 13 + 5);
    assert_int_equal(vdrv_blk_sync(&r->v, T_OUT, 8, w, sizeof(w)), S_OK);
    assert_int_equal(vdrv_blk_sync(&r->v, T_FLUSH, 0, NULL, 0), S_OK);
    assert_int_equal(vdrv_blk_sync(&r->v, T_IN, 8, rd, sizeof(rd)), S_OK);
    assert_memory_equal(w, rd, sizeof(w));
}

/*
 * Every task of the process, not just the main one: the filter and the empty
 * root hold per thread, so a thread started before the jail would escape it.
 * The device process must have exactly one.
 */
static void expect_confined(struct rig *r, const char *ids)
{
    char path[64], v[128];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)r->pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    int tasks = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        tasks++;
        static const char *const want[][2] = {
            { "Seccomp", "2" }, { "NoNewPrivs", "1" }, { "CapEff", "0000000000000000" },
        };
        for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            task_status_field(r->pid, de->d_name, want[i][0], v, sizeof(v));
            assert_string_equal(v, want[i][1]);
        }
        task_status_field(r->pid, de->d_name, "Uid", v, sizeof(v));
        assert_string_equal(v, ids);
        task_status_field(r->pid, de->d_name, "Gid", v, sizeof(v));
        assert_string_equal(v, ids);
        char root[300];
        snprintf(root, sizeof(root), "/proc/%d/task/%s/root", (int)r->pid, de->d_name);
        assert_int_equal(dir_entries(root), 0);
    }
    closedir(d);
    assert_int_equal(tasks, 1);
    assert_false(same_mount_ns(r->pid));
}

static void test_sandbox_confines_grant_backend(void **state)
{
    (void)state;
    struct rig r;
    const char *extra[] = { "--sandbox=kill", NULL };
    assert_int_equal(rig_up(&r, extra, VDRV_DMA_GRANT, true), 0);
    expect_confined(&r, "65534\t65534\t65534\t65534");
    write_read_flush(&r);
    assert_int_equal(rig_down(&r), 0);
}

/*
 * The jail pins no host filesystem: one the host mounted before the device
 * started goes away when the host unmounts it, while the device runs.  With
 * a copy of the host's tree kept in the jail's namespace, umount would
 * return, yet the filesystem stay alive there until the device exits.  The
 * jail's own /proc view cannot show this (mountinfo lists only what is under
 * a process's root), so the filesystem says it: inotify's IN_UNMOUNT comes
 * when it is really gone.
 */
static void test_sandbox_pins_no_host_mount(void **state)
{
    (void)state;
    char dir[] = "/tmp/vg-pin-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(mount("vg-pin", dir, "tmpfs", 0, "size=64k"), 0);
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    assert_true(in >= 0);
    assert_true(inotify_add_watch(in, dir, IN_UNMOUNT) >= 0);
    struct rig r;
    const char *extra[] = { "--sandbox=kill", NULL };
    assert_int_equal(rig_up(&r, extra, VDRV_DMA_GRANT, true), 0);
    expect_confined(&r, "65534\t65534\t65534\t65534");
    assert_int_equal(umount2(dir, 0), 0);
    struct pollfd p = { .fd = in, .events = POLLIN };
    int ready = poll(&p, 1, 2000);
    union {
        struct inotify_event ev;
        char buf[sizeof(struct inotify_event) + 256];
    } u;
    bool gone = ready == 1 && read(in, &u, sizeof(u)) > 0 && (u.ev.mask & IN_UNMOUNT);
    write_read_flush(&r);
    assert_int_equal(rig_down(&r), 0);
    close(in);
    rmdir(dir);
    if (!gone)
        fail_msg("the host's umount of %s left the filesystem alive in the jail", dir);
}

static void test_sandbox_confines_foreign_backend(void **state)
{
    (void)state;
    struct rig r;
    const char *extra[] = { "--sandbox=kill", NULL };
    assert_int_equal(rig_up(&r, extra, VDRV_DMA_PHYS, true), 0);
    expect_confined(&r, "65534\t65534\t65534\t65534");
    write_read_flush(&r);
    assert_int_equal(rig_down(&r), 0);
}

static void test_sandbox_uid_gid_options(void **state)
{
    (void)state;
    struct rig r;
    const char *extra[] = { "--sandbox=kill", "--uid", "4242", "--gid", "4243", NULL };
    assert_int_equal(rig_up(&r, extra, VDRV_DMA_GRANT, true), 0);
    char v[128];
    status_field(r.pid, "Uid", v, sizeof(v));
    assert_string_equal(v, "4242\t4242\t4242\t4242");
    status_field(r.pid, "Gid", v, sizeof(v));
    assert_string_equal(v, "4243\t4243\t4243\t4243");
    write_read_flush(&r);
    assert_int_equal(rig_down(&r), 0);
}

static void test_sandbox_off_keeps_privileges(void **state)
{
    (void)state;
    struct rig r;
    const char *extra[] = { "--sandbox=off", NULL };
    assert_int_equal(rig_up(&r, extra, VDRV_DMA_GRANT, true), 0);
    char v[128];
    status_field(r.pid, "Seccomp", v, sizeof(v));
    assert_string_equal(v, "0");
    assert_true(same_mount_ns(r.pid));
    write_read_flush(&r);
    assert_int_equal(rig_down(&r), 0);
}

/*
 * Run the probe backend with --sandbox=MODE and VG_PROBE_FORBIDDEN=WHAT;
 * return its wait status.  Foreign maps the guest saw are returned too.
 */
static int run_probe_dma(const char *what, const char *mode, enum vdrv_dma dma,
                         uint64_t *fgn_maps)
{
    const char *probe = getenv("VG_PROBE_BACKEND");
    const char *be = getenv("VG_BACKEND");
    assert_non_null(probe);
    assert_non_null(be);
    char *saved = strdup(be);
    setenv("VG_BACKEND", probe, 1);
    setenv("VG_PROBE_FORBIDDEN", what, 1);
    char arg[32];
    snprintf(arg, sizeof(arg), "--sandbox=%s", mode);
    const char *extra[] = { arg, NULL };
    struct rig r;
    (void)rig_up(&r, extra, dma, false);
    setenv("VG_BACKEND", saved, 1);
    unsetenv("VG_PROBE_FORBIDDEN");
    free(saved);
    /* Never kill(0) or waitpid(0): that is this whole process group. */
    assert_true(r.pid > 0);
    int st = -1;
    for (int i = 0; i < 500; i++) {
        if (waitpid(r.pid, &st, WNOHANG) == r.pid)
            break;
        st = -1;
        usleep(10000);
    }
    if (st == -1) {
        kill(r.pid, SIGKILL);
        waitpid(r.pid, &st, 0);
        st = -1;
    }
    struct xensim_stats s;
    simdom_stats(r.d, &s);
    *fgn_maps = s.fgn_map_calls;
    simdom_destroy(r.d);
    unlink(r.img);
    return st;
}

/* The same in grant mode. */
static int run_probe(const char *what, const char *mode, uint64_t *fgn_maps)
{
    return run_probe_dma(what, mode, VDRV_DMA_GRANT, fgn_maps);
}

static void expect_sigsys(const char *what)
{
    uint64_t maps = 0;
    int st = run_probe(what, "kill", &maps);
    if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS))
        fail_msg("'%s': wait status 0x%x, expected death by SIGSYS", what, st);
    assert_int_equal(maps, 0);
}

static void test_forbidden_foreign_map_in_grant_mode(void **state)
{
    (void)state;
    /* spec: GRT-DEV-ERR-2 */
    expect_sigsys("foreign-map");
}

static void test_forbidden_execve(void **state)
{
    (void)state;
    expect_sigsys("execve");
}

static void test_forbidden_socket(void **state)
{
    (void)state;
    expect_sigsys("socket");
}

static void test_forbidden_open(void **state)
{
    (void)state;
    expect_sigsys("open");
}

static void test_forbidden_exec_mapping(void **state)
{
    (void)state;
    expect_sigsys("exec-mmap");
}

/* An attacker in the jail: no new connection to xenstore, by socket or by device node. */
static void test_forbidden_xenstore_socket(void **state)
{
    (void)state;
    expect_sigsys("xenstore-socket");
}

static void test_forbidden_xenbus_device(void **state)
{
    (void)state;
    expect_sigsys("xenbus");
}

/* No host path, by any call that takes one. */
static void test_forbidden_openat_and_stat(void **state)
{
    (void)state;
    expect_sigsys("openat");
    expect_sigsys("stat");
}

static void test_forbidden_exec_mprotect(void **state)
{
    (void)state;
    expect_sigsys("exec-mprotect");
}

/* An allowed ioctl number with junk in the upper 32 bits is not that ioctl. */
static void test_forbidden_ioctl_high_bits(void **state)
{
    (void)state;
    expect_sigsys("ioctl-high-bits");
}

static void test_forbidden_privcmd_hypercall_and_mmap_resource(void **state)
{
    (void)state;
    expect_sigsys("privcmd-hypercall");
    expect_sigsys("privcmd-mmap-resource");
}

/* No second task: a thread or a child would need clone. */
static void test_forbidden_fork(void **state)
{
    (void)state;
    expect_sigsys("fork");
}

/*
 * io_uring operations bypass seccomp: the device's ring must refuse, by its
 * own restrictions, what the filter refuses.  The probe puts each on the
 * ring from inside the jail and exits 6 when its completion is -EACCES (3
 * when the ring carried it out, and the filter never saw it).
 */
static void expect_ring_refusal(const char *what)
{
    uint64_t maps = 0;
    int st = run_probe(what, "kill", &maps);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 6))
        fail_msg("'%s': wait status 0x%x, expected the ring's refusal (exit 6)", what, st);
}

static void test_ring_refuses_open_and_socket(void **state)
{
    (void)state;
    expect_ring_refusal("uring-openat");
    expect_ring_refusal("uring-fixed-openat");
    expect_ring_refusal("uring-socket");
}

/* An allowed operation, but on an fd rather than the registered image. */
static void test_ring_refuses_unregistered_fd(void **state)
{
    (void)state;
    expect_ring_refusal("uring-unfixed-read");
}

/* No new ring and no change to this one: the syscalls themselves are filtered. */
static void test_forbidden_ring_setup_and_register(void **state)
{
    (void)state;
    expect_sigsys("uring-setup");
    expect_sigsys("uring-register");
}

/*
 * Writing to any fd the device holds but stderr (its log): the image and the
 * control socket are written only with pwritev/sendmsg, and every other fd is
 * a Xen handle or the signalfd.  The fds are listed from a live device.
 */
static void test_forbidden_write_to_held_fds(void **state)
{
    (void)state;
    struct rig r;
    const char *extra[] = { "--sandbox=kill", NULL };
    assert_int_equal(rig_up(&r, extra, VDRV_DMA_GRANT, true), 0);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)r.pid);
    int fds[64], n = 0;
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) && n < 64)
        if (de->d_name[0] != '.' && atoi(de->d_name) != 2)
            fds[n++] = atoi(de->d_name);
    closedir(d);
    assert_int_equal(rig_down(&r), 0);
    assert_true(n >= 4); /* stdin, stdout, the image and the Xen handles at least */
    for (int i = 0; i < n; i++) {
        char fd[16];
        snprintf(fd, sizeof(fd), "%d", fds[i]);
        setenv("VG_PROBE_FD", fd, 1);
        expect_sigsys("write-fd");
    }
    unsetenv("VG_PROBE_FD");
}

/* Lines of a file holding @needle. */
static int lines_with(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int n = 0;
    while (f && fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return n;
}

/*
 * What a filter in dom0 cannot stop, measured from inside the jail (see
 * threat-model/README.md): the gntdev handle maps a grant the guest gave dom0
 * for something else (its xenstore ring, ref 1), and DM_OP reaches any sub-op
 * (here: creating a second ioreq server).  This test records today's residual
 * risk; a driver domain
 * under FLASK is the deployment meant to turn both into refusals.
 */
static void test_residual_risks_measured(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    /* ASan's runtime makes calls on the way out that the jail kills (SIGSYS);
     * the gcc and clang runs measure this with the production filter. */
    skip();
#endif
    const char *be = getenv("VG_BACKEND");
    char *saved = strdup(be);
    setenv("VG_BACKEND", getenv("VG_PROBE_BACKEND"), 1);
    setenv("VG_PROBE_FORBIDDEN", "residual", 1);
    const char *extra[] = { "--sandbox=kill", NULL };
    struct rig r;
    (void)rig_up(&r, extra, VDRV_DMA_GRANT, false);
    setenv("VG_BACKEND", saved, 1);
    unsetenv("VG_PROBE_FORBIDDEN");
    free(saved);
    assert_true(r.pid > 0);
    int st = -1;
    for (int i = 0; i < 500 && waitpid(r.pid, &st, WNOHANG) != r.pid; i++)
        usleep(10000);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 3))
        fail_msg("residual probe: wait status 0x%x, expected exit 3", st);
    print_message("residual, from the jail:\n");
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "grep -o 'RESIDUAL.*' %s >&2", r.log);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(lines_with(r.log, "RESIDUAL gntdev-map dom1 ref 1: mapped from the jail"), 1);
    /* Reported, not asserted: the simulator allows one ioreq server per guest
     * (EBUSY); real Xen allows several, and the e2e reports what it did. */
    assert_int_equal(lines_with(r.log, "RESIDUAL dm-op create_ioreq_server dom1:"), 1);
    simdom_destroy(r.d);
    unlink(r.img);
}

/* The kill comes from the filter: in log mode the same call goes through. */
static void test_log_mode_only_logs(void **state)
{
    (void)state;
    uint64_t maps = 0;
    int st = run_probe("socket", "log", &maps);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 3))
        fail_msg("log mode: wait status 0x%x, expected the probe's exit 3", st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sandbox_confines_grant_backend),
        cmocka_unit_test(test_sandbox_confines_foreign_backend),
        cmocka_unit_test(test_sandbox_pins_no_host_mount),
        cmocka_unit_test(test_sandbox_uid_gid_options),
        cmocka_unit_test(test_sandbox_off_keeps_privileges),
        cmocka_unit_test(test_forbidden_foreign_map_in_grant_mode),
        cmocka_unit_test(test_forbidden_execve),
        cmocka_unit_test(test_forbidden_socket),
        cmocka_unit_test(test_forbidden_open),
        cmocka_unit_test(test_forbidden_exec_mapping),
        cmocka_unit_test(test_forbidden_xenstore_socket),
        cmocka_unit_test(test_forbidden_xenbus_device),
        cmocka_unit_test(test_forbidden_openat_and_stat),
        cmocka_unit_test(test_forbidden_exec_mprotect),
        cmocka_unit_test(test_forbidden_ioctl_high_bits),
        cmocka_unit_test(test_forbidden_privcmd_hypercall_and_mmap_resource),
        cmocka_unit_test(test_forbidden_fork),
        cmocka_unit_test(test_forbidden_write_to_held_fds),
        cmocka_unit_test(test_ring_refuses_open_and_socket),
        cmocka_unit_test(test_ring_refuses_unregistered_fd),
        cmocka_unit_test(test_forbidden_ring_setup_and_register),
        cmocka_unit_test(test_residual_risks_measured),
        cmocka_unit_test(test_log_mode_only_logs),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
