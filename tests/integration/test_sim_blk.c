/* SPDX-License-Identifier: MIT */
/*
 * The backend process against the simulated guest, through its real entry
 * point (ioreqs on the shared page, grants in the grant table).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "../common/rig.h"


static void image_read(struct rig *r, uint64_t off, void *buf, size_t n)
{
    int fd = open(r->img, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, n, (off_t)off), (ssize_t)n);
    close(fd);
}

/* Write, read back, compare with the guest's view and with the image file. */
static void roundtrip(struct rig *r, enum vdrv_dma dma)
{
    static const uint32_t sizes[] = { 512, 4096, 4096 + 512, 65536, 3 * 65536 + 4096, 262144 };
    uint32_t ring_pages = r->v.ring_map.ref >= 0 ? r->v.ring_map.npages : 0;
    uint64_t sector = 3;
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        uint32_t n = sizes[i];
        uint8_t *w = malloc(n), *rd = malloc(n), *img = malloc(n);
        rig_pattern(w, n, i + 1);
        /* spec: GRT-DEV-ACC-1 */
        assert_int_equal(vdrv_blk_sync(&r->v, T_OUT, sector, w, n), S_OK);
        /* grant mode: the data grants are unmapped before completion */
        if (dma == VDRV_DMA_GRANT)
            /* spec: GRT-DEV-LIFE-1 */
            assert_int_equal(simdom_grants_mapped_now(r->d), ring_pages);
        memset(rd, 0, n);
        assert_int_equal(vdrv_blk_sync(&r->v, T_IN, sector, rd, n), S_OK);
        assert_memory_equal(w, rd, n);
        image_read(r, sector * 512, img, n);
        assert_memory_equal(w, img, n);
        if (dma == VDRV_DMA_GRANT)
            assert_int_equal(simdom_grants_mapped_now(r->d), ring_pages);
        sector += n / 512 + 5;
        free(w);
        free(rd);
        free(img);
    }
    assert_int_equal(r->v.grant_busy, 0);
}

static void test_grant_roundtrip(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, true), 0);
    roundtrip(&r, VDRV_DMA_GRANT);
    assert_int_equal(rig_down(&r), 0);
}

/*
 * A driver with a bounce pool (VIRTIO_F_GRANT_POOL): the backend keeps the
 * pool pages it has seen mapped, so a steady workload stops mapping at all;
 * a reset releases every one of them, and the driver can revoke its pool.
 */
static void test_grant_pool_persistent_mappings(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    assert_int_equal(rig_pool_probe(&r, 256), 0);
    assert_true(r.v.features & (1ull << 45));
    static uint8_t w[65536], rd[65536];
    struct xensim_stats s0, s1;
    for (unsigned round = 0; round < 50; round++) {
        uint32_t n = 4096u * (1 + round % 16);
        rig_pattern(w, n, round);
        assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 8u * round, w, n), S_OK);
        memset(rd, 0, n);
        assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 8u * round, rd, n), S_OK);
        assert_memory_equal(w, rd, n);
        if (round == 15)
            simdom_stats(r.d, &s0); /* every size has been seen once */
    }
    simdom_stats(r.d, &s1);
    print_message("pool: %llu grant map calls in the last 34 rounds (68 requests)\n",
                  (unsigned long long)(s1.gnt_map_calls - s0.gnt_map_calls));
    assert_int_equal(s1.gnt_map_calls - s0.gnt_map_calls, 0);
    uint32_t mapped = simdom_grants_mapped_now(r.d);
    assert_true(mapped > r.v.ring_map.npages && mapped <= r.v.ring_map.npages + 256);
    /* the driver revokes the pool after a reset: nothing may still be mapped */
    vdrv_remove(&r.v);
    r.probed = false;
    /* spec: GRT-DEV-POOL-1 */
    assert_int_equal(simdom_grants_mapped_now(r.d), 0);
    assert_int_equal(r.v.grant_busy, 0);
    /* the next driver may be a dynamic-grant one: per-request unmapping again */
    assert_int_equal(rig_default_probe(&r, VDRV_DMA_GRANT), 0);
    roundtrip(&r, VDRV_DMA_GRANT);
    assert_int_equal(rig_down(&r), 0);
}

static void test_grant_roundtrip_direct_no_event_idx(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
    struct vdrv_opts o = { .base = RIG_BASE, .irq = RIG_IRQ, .dma = VDRV_DMA_GRANT,
                           .queue_size = 64 };
    assert_int_equal(vdrv_probe(&r.v, r.d, &o), 0);
    r.probed = true;
    roundtrip(&r, VDRV_DMA_GRANT);
    assert_int_equal(rig_down(&r), 0);
}

static void test_foreign_roundtrip(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_PHYS, true), 0);
    roundtrip(&r, VDRV_DMA_PHYS);
    assert_int_equal(rig_down(&r), 0);
}

static void test_foreign_premap_roundtrip(void **state)
{
    (void)state;
    struct rig r;
    const char *extra[] = { "--premap", NULL };
    assert_int_equal(rig_up(&r, extra, VDRV_DMA_PHYS, true), 0);
    roundtrip(&r, VDRV_DMA_PHYS);
    assert_int_equal(rig_down(&r), 0);
}

static void test_grant_mode_maps_no_foreign_memory(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, true), 0);
    simdom_stats_reset(r.d);
    uint8_t buf[8192];
    rig_pattern(buf, sizeof(buf), 9);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 0, buf, sizeof(buf)), S_OK);
    assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 0, buf, sizeof(buf)), S_OK);
    struct xensim_stats s;
    simdom_stats(r.d, &s);
    assert_int_equal(s.fgn_map_calls, 0);
    assert_int_equal(s.fgn_mapped.peak, 0);
    assert_true(s.gnt_map_calls > 0);
    assert_int_equal(s.gnt_map_calls, s.gnt_unmap_calls);
    assert_int_equal(rig_down(&r), 0);
}

static void test_flush_get_id(void **state)
{
    (void)state;
    struct rig r;
    const char *extra[] = { "--serial", "vg-serial-0001", NULL };
    assert_int_equal(rig_up(&r, extra, VDRV_DMA_GRANT, true), 0);
    assert_int_equal(vdrv_blk_sync(&r.v, T_FLUSH, 0, NULL, 0), S_OK);
    char id[512] = { 0 };
    assert_int_equal(vdrv_blk_sync(&r.v, T_GET_ID, 0, id, 512), S_OK);
    assert_string_equal(id, "vg-serial-0001");
    assert_int_equal(rig_down(&r), 0);
}

/* Lines of the backend's log holding @needle, and the number after it on the first. */
static unsigned long long log_number_after(const struct rig *r, const char *needle)
{
    FILE *f = fopen(r->log, "r");
    char line[2048];
    unsigned long long v = 0;
    while (f && fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, needle);
        if (p) {
            v = strtoull(p + strlen(needle), NULL, 10);
            break;
        }
    }
    if (f)
        fclose(f);
    return v;
}

/*
 * A driver that declines VIRTIO_BLK_F_FLUSH believes the device has no
 * volatile cache: each write reaches stable storage (fdatasync) before it
 * completes.  With FLUSH negotiated, only FLUSH syncs.
 */
static void test_write_through_without_flush(void **state)
{
    (void)state;
    static uint8_t w[4096];
    rig_pattern(w, sizeof(w), 5);
    for (int declined = 0; declined < 2; declined++) {
        struct rig r;
        assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, false), 0);
        struct vdrv_opts o = { .base = RIG_BASE, .irq = RIG_IRQ, .dma = VDRV_DMA_GRANT,
                               .queue_size = 64, .indirect = true, .event_idx = true,
                               .refuse_features = declined ? 1ull << 9 : 0 };
        assert_int_equal(vdrv_probe(&r.v, r.d, &o), 0);
        r.probed = true;
        assert_int_equal(!!(r.v.features & (1ull << 9)), !declined);
        for (int i = 0; i < 5; i++)
            assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 8u * i, w, sizeof(w)), S_OK);
        assert_int_equal(rig_down(&r), 0);
        unsigned long long syncs = log_number_after(&r, "write-through syncs ");
        print_message("FLUSH %s: %llu write-through syncs for 5 writes\n",
                      declined ? "declined" : "negotiated", syncs);
        assert_true(syncs == (declined ? 5u : 0u));
    }
}

/*
 * More than 65,536 completions with EVENT_IDX: the 16-bit used-event
 * comparison must keep asking for exactly the interrupts the driver wants
 * across the wrap (a lost one would cost the driver its 100 ms timeout).
 */
static void test_used_event_past_16_bit_wrap(void **state)
{
    (void)state;
    /* Minutes with every syscall traced, and no syscall the others lack. */
    if (getenv("VG_UNDER_TRACE"))
        skip();
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, true), 0);
    char id[20];
    uint64_t irq_before = 0;
    for (unsigned i = 0; i < 66000; i++) {
        if (i == 65800)
            irq_before = r.v.interrupts;
        assert_int_equal(vdrv_blk_sync(&r.v, T_GET_ID, 0, id, sizeof(id)), S_OK);
    }
    uint64_t late = r.v.interrupts - irq_before;
    print_message("used index wrapped: %llu interrupts for the last 200 of 66000 requests\n",
                  (unsigned long long)late);
    assert_int_equal(late, 200);
    assert_int_equal(rig_down(&r), 0);
}

static void test_discard_write_zeroes(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, true), 0);
    uint8_t buf[16384], rd[16384], zero[16384] = { 0 };
    rig_pattern(buf, sizeof(buf), 3);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 64, buf, sizeof(buf)), S_OK);
    uint8_t seg[16] = { 0 };
    uint64_t sector = 64;
    uint32_t num = 32, flags = 0;
    memcpy(seg, &sector, 8);
    memcpy(seg + 8, &num, 4);
    memcpy(seg + 12, &flags, 4);
    assert_int_equal(vdrv_blk_sync(&r.v, T_WZ, 0, seg, 16), S_OK);
    assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 64, rd, sizeof(rd)), S_OK);
    assert_memory_equal(rd, zero, sizeof(rd));
    assert_int_equal(vdrv_blk_sync(&r.v, T_DISCARD, 0, seg, 16), S_OK);
    /* a discard segment past the end is refused, the unmap flag is for write-zeroes only */
    sector = (RIG_IMG_MB << 11) - 8;
    memcpy(seg, &sector, 8);
    assert_int_equal(vdrv_blk_sync(&r.v, T_DISCARD, 0, seg, 16), S_IOERR);
    sector = 0;
    flags = 1;
    memcpy(seg, &sector, 8);
    memcpy(seg + 12, &flags, 4);
    assert_int_equal(vdrv_blk_sync(&r.v, T_DISCARD, 0, seg, 16), S_UNSUPP);
    assert_int_equal(rig_down(&r), 0);
}

/*
 * WRITE_ZEROES on a filesystem without FALLOC_FL_ZERO_RANGE (tmpfs): the
 * device writes zeroes itself (pwrite, a rule of the jail kept for this).
 */
static void test_write_zeroes_without_zero_range(void **state)
{
    (void)state;
    char probe[64];
    snprintf(probe, sizeof(probe), "/dev/shm/vg-zr-%d", (int)getpid());
    int fd = open(probe, O_RDWR | O_CREAT | O_EXCL, 0600);
    bool zero_range = fd >= 0 && ftruncate(fd, 8192) == 0 &&
                      fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 4096) == 0;
    bool usable = fd >= 0;
    if (fd >= 0)
        close(fd);
    unlink(probe);
    if (!usable || zero_range) {
        print_message("no filesystem without ZERO_RANGE at /dev/shm: case not run\n");
        skip();
    }
    setenv("VG_RIG_IMG_DIR", "/dev/shm", 1);
    struct rig r;
    int rc = rig_up(&r, NULL, VDRV_DMA_GRANT, true);
    unsetenv("VG_RIG_IMG_DIR");
    assert_int_equal(rc, 0);
    static uint8_t buf[16384], rd[16384], zero[16384];
    rig_pattern(buf, sizeof(buf), 9);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 64, buf, sizeof(buf)), S_OK);
    uint8_t seg[16] = { 0 };
    uint64_t sector = 64;
    uint32_t num = 32;
    memcpy(seg, &sector, 8);
    memcpy(seg + 8, &num, 4);
    assert_int_equal(vdrv_blk_sync(&r.v, T_WZ, 0, seg, 16), S_OK);
    assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 64, rd, sizeof(rd)), S_OK);
    assert_memory_equal(rd, zero, sizeof(rd));
    assert_int_equal(rig_down(&r), 0);
}

static void test_out_of_range_never_touches_image(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, true), 0);
    uint64_t cap = r.v.capacity;
    assert_int_equal(cap, (uint64_t)RIG_IMG_MB << 11);
    uint8_t buf[4096];
    rig_pattern(buf, sizeof(buf), 5);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, cap, buf, 4096), S_IOERR);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, cap - 4, buf, 4096), S_IOERR);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, UINT64_MAX - 3, buf, 4096), S_IOERR);
    assert_int_equal(vdrv_blk_sync(&r.v, T_IN, UINT64_MAX / 512 + 1, buf, 4096), S_IOERR);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 0, buf, 100), S_IOERR); /* not whole sectors */
    assert_int_equal(vdrv_blk_sync(&r.v, 77, 0, buf, 512), S_UNSUPP);
    struct stat st;
    assert_int_equal(stat(r.img, &st), 0);
    assert_int_equal(st.st_size, (off_t)RIG_IMG_MB << 20);
    assert_int_equal(st.st_blocks, 0); /* nothing was ever written to the sparse image */
    assert_int_equal(rig_down(&r), 0);
}

static void test_read_only(void **state)
{
    (void)state;
    struct rig r;
    const char *extra[] = { "--read-only", NULL };
    assert_int_equal(rig_up(&r, extra, VDRV_DMA_GRANT, true), 0);
    assert_true(r.v.features & (1ull << 5));
    assert_false(r.v.features & (1ull << 14)); /* no write-zeroes on a RO disk */
    uint8_t buf[4096];
    rig_pattern(buf, sizeof(buf), 6);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 0, buf, 4096), S_IOERR);
    assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 0, buf, 4096), S_OK);
    uint8_t zero[4096] = { 0 };
    assert_memory_equal(buf, zero, 4096);
    struct stat st;
    assert_int_equal(stat(r.img, &st), 0);
    assert_int_equal(st.st_blocks, 0);
    assert_int_equal(rig_down(&r), 0);
}

/* The backend's log holds this line (it is kept after rig_down). */
static bool log_has(const struct rig *r, const char *needle)
{
    FILE *f = fopen(r->log, "r");
    char line[1024];
    bool found = false;
    while (f && !found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* The number after "at most " in the closing report: chains in flight together. */
static long inflight_peak(const struct rig *r)
{
    FILE *f = fopen(r->log, "r");
    char line[1024];
    long peak = -1;
    while (f && fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, " at most ");
        if (p && strstr(line, "chains in flight"))
            peak = strtol(p + 9, NULL, 10);
    }
    if (f)
        fclose(f);
    return peak;
}

/*
 * Through the process: 48 writes published before one notify are in flight
 * together on the io_uring engine, then 48 reads of them; every byte comes
 * back.  This host's kernel allows io_uring: the test fails if the backend
 * fell back to synchronous I/O.
 */
static void test_many_requests_in_flight(void **state)
{
    (void)state;
    enum { N = 48, LEN = 65536 };
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, true), 0);
    static uint8_t w[N][LEN], rd[N][LEN];
    static struct vdrv_blk_req q[N];
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < N; i++) {
            if (pass == 0)
                rig_pattern(w[i], LEN, 100 + i);
            else
                memset(rd[i], 0, LEN);
            q[i] = (struct vdrv_blk_req){ .type = pass ? T_IN : T_OUT,
                                          .sector = (uint64_t)i * (LEN / 512),
                                          .data = pass ? rd[i] : w[i], .len = LEN };
            assert_int_equal(vdrv_blk_submit(&r.v, &q[i]), 0);
        }
        assert_int_equal(vdrv_kick(&r.v), 0);
        unsigned done = 0;
        for (int t = 0; t < 200 && done < N; t++) {
            assert_true(vdrv_reap(&r.v, 100) >= 0);
            done = 0;
            for (unsigned i = 0; i < N; i++)
                done += q[i].done;
        }
        assert_int_equal(done, N);
        for (unsigned i = 0; i < N; i++)
            assert_int_equal(q[i].status, S_OK);
    }
    for (unsigned i = 0; i < N; i++)
        assert_memory_equal(w[i], rd[i], LEN);
    assert_int_equal(rig_down(&r), 0);
    assert_true(log_has(&r, "io_uring image I/O"));
    assert_true(log_has(&r, "image I/O io_uring: ")); /* the closing report */
    long peak = inflight_peak(&r);
    print_message("io_uring: at most %ld chains in flight\n", peak);
    assert_true(peak > 1 && peak <= 64);
}

/* The n-th (from 1) "stats: " line of the backend's log, waiting up to 2 s for it. */
static bool stats_line(const struct rig *r, int n, char *out, size_t size)
{
    for (int t = 0; t < 200; t++) {
        FILE *f = fopen(r->log, "r");
        char line[1024];
        int seen = 0;
        while (f && fgets(line, sizeof(line), f)) {
            const char *p = strstr(line, "stats: ");
            if (p && ++seen == n) {
                snprintf(out, size, "%s", p);
                fclose(f);
                return true;
            }
        }
        if (f)
            fclose(f);
        usleep(10000);
    }
    return false;
}

/*
 * SIGUSR1 asks the serving process for its counters and the peaks since the
 * previous report, and it goes on serving: what make bench uses to give each
 * workload its own map calls and peaks.
 */
static void test_stats_report_on_sigusr1(void **state)
{
    (void)state;
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, true), 0);
    static uint8_t w[65536];
    rig_pattern(w, sizeof(w), 9);
    for (int i = 0; i < 4; i++)
        assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 128u * i, w, sizeof(w)), S_OK);
    char l1[512], l2[512];
    unsigned long long c1, m1, u1, k1, now1, pk1, f1, c2, m2, u2, k2, now2, pk2, f2;
    const char *fmt = "stats: chains %llu maps %llu unmaps %llu grant copies %llu pages mapped "
                      "now %llu peak %llu; in flight peak %llu";
    assert_int_equal(kill(r.pid, SIGUSR1), 0);
    assert_true(stats_line(&r, 1, l1, sizeof(l1)));
    assert_int_equal(sscanf(l1, fmt, &c1, &m1, &u1, &k1, &now1, &pk1, &f1), 7);
    /* nothing happens between the two reports */
    assert_int_equal(kill(r.pid, SIGUSR1), 0);
    assert_true(stats_line(&r, 2, l2, sizeof(l2)));
    assert_int_equal(sscanf(l2, fmt, &c2, &m2, &u2, &k2, &now2, &pk2, &f2), 7);
    print_message("after 4 writes of 64 KiB: %s", l1);
    print_message("idle since: %s", l2);
    assert_true(c1 >= 4 && m1 >= 4 && k1 == 0);
    assert_true(pk1 >= now1 + 16); /* a 64 KiB buffer was mapped, and is not now */
    assert_int_equal(f1, 1);                  /* synchronous driver: one at a time */
    assert_int_equal(c2, c1);
    assert_int_equal(m2, m1);
    assert_int_equal(now2, now1);
    assert_int_equal(pk2, now2);              /* the peak started again at the report */
    assert_int_equal(f2, 0);
    /* still serving */
    assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 0, w, sizeof(w)), S_OK);
    assert_int_equal(rig_down(&r), 0);
}

/*
 * Grant-copy mode: every byte of every request is copied in or out with
 * grant copy; no data grant is ever mapped (only the ring, and each
 * request's indirect table while it is read), and the data round-trips.
 */
static void test_grant_copy_roundtrip(void **state)
{
    (void)state;
    struct rig r;
    const char *extra[] = { "--mode", "grant-copy", NULL };
    assert_int_equal(rig_up(&r, extra, VDRV_DMA_GRANT, true), 0);
    assert_false(r.v.features & (1ull << 45)); /* no pool to keep: nothing is kept */
    struct xensim_stats s0, s1;
    simdom_stats(r.d, &s0);
    roundtrip(&r, VDRV_DMA_GRANT); /* which checks only the ring stays mapped */
    simdom_stats(r.d, &s1);
    uint64_t copies = s1.gnt_copy_calls - s0.gnt_copy_calls;
    uint64_t mapped = s1.gnt_pages_mapped - s0.gnt_pages_mapped;
    print_message("grant-copy: 12 requests, %llu copy calls, %llu bytes, %llu pages mapped\n",
                  (unsigned long long)copies,
                  (unsigned long long)(s1.gnt_copy_bytes - s0.gnt_copy_bytes),
                  (unsigned long long)mapped);
    /* in and out for each of the 12, and each indirect table copied, not mapped */
    assert_int_equal(copies, 36);
    assert_int_equal(mapped, 0);
    assert_int_equal(rig_down(&r), 0);
}

/* --aio=sync: one request at a time, preadv/pwritev, same results. */
static void test_sync_engine_roundtrip(void **state)
{
    (void)state;
    struct rig r;
    const char *extra[] = { "--aio=sync", NULL };
    assert_int_equal(rig_up(&r, extra, VDRV_DMA_GRANT, true), 0);
    roundtrip(&r, VDRV_DMA_GRANT);
    uint8_t buf[4096];
    assert_int_equal(vdrv_blk_sync(&r.v, T_FLUSH, 0, buf, 0), S_OK);
    assert_int_equal(rig_down(&r), 0);
    assert_true(log_has(&r, "sync image I/O"));
    assert_true(log_has(&r, "image I/O sync: 0 submitted"));
    assert_int_equal(inflight_peak(&r), 1);
}

/*
 * The image shrinks under a serving device (an operator's truncate): a read
 * past the new end comes back short from the kernel.  The request gets
 * IOERR, on either engine, and the device serves on; a read inside the
 * image still works.
 */
static void test_image_truncated_under_device(void **state)
{
    (void)state;
    static const char *const sync_args[] = { "--aio=sync", NULL };
    for (int engine = 0; engine < 2; engine++) {
        struct rig r;
        assert_int_equal(rig_up(&r, engine ? sync_args : NULL, VDRV_DMA_GRANT, true), 0);
        static uint8_t buf[8192];
        rig_pattern(buf, sizeof(buf), 41);
        assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 4096, buf, sizeof(buf)), S_OK);
        assert_int_equal(truncate(r.img, 1 << 20), 0);
        assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 4096, buf, sizeof(buf)), S_IOERR);
        assert_false(vdrv_status(&r.v) & NEEDS_RESET);
        assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 8, buf, 4096), S_OK);
        assert_int_equal(rig_down(&r), 0);
        assert_true(log_has(&r, "failed"));
    }
}

/*
 * A host that refuses io_uring (a container's seccomp profile): auto falls
 * back to the sync engine with a warning and serves as before, under the sync
 * engine's allowlist; --aio=io_uring refuses to start instead.
 */
static void test_io_uring_refused(void **state)
{
    (void)state;
    const char *be = getenv("VG_BACKEND"), *probe = getenv("VG_PROBE_BACKEND");
    assert_non_null(be);
    assert_non_null(probe);
    char wrapper[256], saved[256];
    snprintf(wrapper, sizeof(wrapper), "%.*s/no-uring", (int)(strrchr(probe, '/') - probe),
             probe);
    snprintf(saved, sizeof(saved), "%s", be);
    setenv("VG_NO_URING_EXEC", saved, 1);
    setenv("VG_BACKEND", wrapper, 1);
    struct rig r;
    int rc = rig_up(&r, NULL, VDRV_DMA_GRANT, true);
    if (rc == 0) {
        roundtrip(&r, VDRV_DMA_GRANT);
        rc = rig_down(&r);
    }
    bool warned = log_has(&r, "io_uring_setup: Operation not permitted: serving the image "
                              "with synchronous calls");
    const char *strict[] = { "--aio=io_uring", NULL };
    struct rig r2;
    int rc2 = rig_up(&r2, strict, VDRV_DMA_GRANT, false);
    bool refused = rc2 != 0 && log_has(&r2, "--aio=io_uring: io_uring_setup");
    if (rc2 == 0)
        rig_down(&r2);
    else
        simdom_destroy(r2.d);
    setenv("VG_BACKEND", saved, 1);
    assert_int_equal(rc, 0);
    assert_true(warned);
    assert_true(refused);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grant_roundtrip),
        cmocka_unit_test(test_grant_pool_persistent_mappings),
        cmocka_unit_test(test_grant_roundtrip_direct_no_event_idx),
        cmocka_unit_test(test_foreign_roundtrip),
        cmocka_unit_test(test_foreign_premap_roundtrip),
        cmocka_unit_test(test_grant_mode_maps_no_foreign_memory),
        cmocka_unit_test(test_flush_get_id),
        cmocka_unit_test(test_write_through_without_flush),
        cmocka_unit_test(test_used_event_past_16_bit_wrap),
        cmocka_unit_test(test_discard_write_zeroes),
        cmocka_unit_test(test_write_zeroes_without_zero_range),
        cmocka_unit_test(test_out_of_range_never_touches_image),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_many_requests_in_flight),
        cmocka_unit_test(test_sync_engine_roundtrip),
        cmocka_unit_test(test_grant_copy_roundtrip),
        cmocka_unit_test(test_stats_report_on_sigusr1),
        cmocka_unit_test(test_io_uring_refused),
        cmocka_unit_test(test_image_truncated_under_device),
    };
    return cmocka_run_group_tests(tests, rig_group_setup, rig_group_teardown);
}
