/* SPDX-License-Identifier: MIT */
/*
 * The lifecycle soak on the simulator (issue 15): one launcher serves guest
 * after guest, each created under a new domid, written to and read back,
 * then destroyed with requests still in flight.  Nothing may pile up: the
 * launcher's fds and memory, device processes, grant mappings, domains.
 * VG_SOAK_CYCLES cycles (20 in make check, 200 in make soak).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher_rig.h"

struct sample {
    unsigned fds, devices;
    unsigned long rss_kb;
};

static unsigned count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    unsigned n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static unsigned long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long kb = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %lu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* The launcher's live children: its device processes. */
static unsigned children(pid_t parent)
{
    DIR *d = opendir("/proc");
    unsigned n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[300], buf[512];
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t got = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[got] = 0;
        const char *p = strrchr(buf, ')');
        int ppid = 0;
        char st;
        if (p && sscanf(p + 2, "%c %d", &st, &ppid) == 2 && ppid == parent && st != 'Z')
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static struct sample take(const struct launcher *L)
{
    return (struct sample){ .fds = count_fds(L->pid), .devices = children(L->pid),
                            .rss_kb = rss_kb(L->pid) };
}

/* One guest's life: created, served, busy, destroyed; everything let go. */
static void cycle(struct launcher *L, uint16_t domid, unsigned i)
{
    struct served s;
    guest_up(L, &s, domid, 1, VDRV_DMA_GRANT, 0, NULL);
    static uint8_t w[16384], r[16384];
    rig_pattern(w, sizeof(w), i);
    uint64_t sector = (i % 64) * 32u;
    assert_int_equal(vdrv_blk_sync(&s.v, T_OUT, sector, w, sizeof(w)), S_OK);
    assert_int_equal(vdrv_blk_sync(&s.v, T_IN, sector, r, sizeof(r)), S_OK);
    assert_memory_equal(w, r, sizeof(w));
    /* Requests published and notified, never reaped: in flight at the destroy. */
    static struct vdrv_blk_req q[8];
    static uint8_t buf[8][4096];
    for (unsigned k = 0; k < 8; k++) {
        q[k] = (struct vdrv_blk_req){ .type = T_OUT, .sector = sector + 8u * k, .data = buf[k],
                                      .len = sizeof(buf[k]) };
        assert_int_equal(vdrv_blk_submit(&s.v, &q[k]), 0);
    }
    assert_int_equal(vdrv_kick(&s.v), 0);
    assert_int_equal(tstk_release_domain(xs, domid), 0);
    if (!pid_gone(s.dev, 2000) || tstk_wait_state(xs, &s.disk, 6, 2000) < 0) {
        dump_log(L);
        fail_msg("cycle %u: dom%u: device %d not gone and Closed within 2 s", i, domid, s.dev);
    }
    assert_int_equal(simdom_grants_mapped_now(s.d), 0);
    struct xensim_stats st;
    simdom_stats(s.d, &st);
    assert_int_equal(st.fgn_mapped.cur, 0);
    simdom_destroy(s.d);
    tstk_remove_disk(xs, &s.disk);
}

static void test_soak_create_run_destroy(void **state)
{
    (void)state;
    const char *env_cycles = getenv("VG_SOAK_CYCLES");
    unsigned n = env_cycles ? (unsigned)strtoul(env_cycles, NULL, 10) : 20;
    assert_true(n >= 2 && n <= 100000);
    struct launcher L;
    launcher_up(&L);
    struct sample first = { 0 }, last = { 0 };
    uint64_t t0 = now_ms();
    for (unsigned i = 0; i < n; i++) {
        /* a new domid each time, as Xen gives, wrapping inside the guest range */
        cycle(&L, (uint16_t)(DOMID + 1 + i % 30000), i);
        struct sample s = take(&L);
        assert_int_equal(s.devices, 0);
        if (i == 1)
            first = s; /* after a first cycle warmed the allocator up */
        last = s;
    }
    uint64_t ms = now_ms() - t0;
    print_message("soak: %u cycles in %llu ms; launcher fds %u -> %u, RSS %lu -> %lu kB (after cycle 2 and last), "
                  "device processes left %u, grant mappings left 0 each cycle\n",
                  n, (unsigned long long)ms, first.fds, last.fds, first.rss_kb, last.rss_kb,
                  last.devices);
    assert_int_equal(last.fds, first.fds);
#if defined(__SANITIZE_ADDRESS__)
    /* ASan's quarantine holds freed memory back, so RSS grows with every
     * allocation; a leak is ASan's to report when the launcher exits. */
    print_message("soak: ASan build: RSS not compared\n");
#else
    /* The launcher allocates per device and frees it again: no growth with cycles
     * beyond 64 KiB of allocator noise (4 KiB a cycle exceeds it within 20). */
    assert_true(last.rss_kb <= first.rss_kb + 64);
#endif
    launcher_down(&L);
}

/*
 * xl reboot on the simulator: the guest's disk closed as libxl closes it
 * (Closing, then Closed once its device process is gone), the domain
 * released, and the guest re-created under a new domid with the same disk.
 * A new device process serves it, and what the first boot wrote and
 * flushed reads back.
 */
static void test_reboot_new_domid(void **state)
{
    (void)state;
    struct launcher L;
    launcher_up(&L);
    static uint8_t w[65536], r[65536];
    rig_pattern(w, sizeof(w), 4242);
    pid_t first = -1;
    for (unsigned boot = 0; boot < 2; boot++) {
        uint16_t domid = (uint16_t)(20001 + boot);
        struct served s;
        guest_up(&L, &s, domid, 1, VDRV_DMA_GRANT, 0, NULL);
        assert_true(s.dev != first);
        if (boot == 0) {
            assert_int_equal(vdrv_blk_sync(&s.v, T_OUT, 128, w, sizeof(w)), S_OK);
            assert_int_equal(vdrv_blk_sync(&s.v, T_FLUSH, 0, NULL, 0), S_OK);
            first = s.dev;
        } else {
            assert_int_equal(vdrv_blk_sync(&s.v, T_IN, 128, r, sizeof(r)), S_OK);
            assert_memory_equal(w, r, sizeof(w));
            print_message("reboot: dom%u's 64 KiB read back by dom%u through pid %d (was %d)\n",
                          domid - 1, domid, (int)s.dev, (int)first);
        }
        close_by_toolstack(&s);
        assert_int_equal(tstk_release_domain(xs, domid), 0);
        assert_int_equal(simdom_grants_mapped_now(s.d), 0);
        simdom_destroy(s.d);
        tstk_remove_disk(xs, &s.disk);
    }
    launcher_down(&L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reboot_new_domid),
        cmocka_unit_test(test_soak_create_run_destroy),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
