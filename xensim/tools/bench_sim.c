/* SPDX-License-Identifier: MIT */
/*
 * `make bench-sim`: the bench's workloads and CSV schema (tests/bench) on
 * the simulator, every row labelled simulated.  Each mode runs the backend
 * binary against a simulated guest; each workload keeps its queue depth of
 * requests in flight for a fixed number of requests, times each request
 * from submit to reap, reads the backend's CPU time from /proc before and
 * after, and takes map and copy calls and page peaks from the simulator's
 * own counters.  Write workloads are read back and compared.  A ratio
 * between modes on one machine, not a speed: the simulated hypervisor does
 * none of the real one's work.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xensim/guest.h"
#include "xensim/harness.h"
#include "xensim/vdrv.h"
#include "session.h"

#define AREA_MIB 32u
#define MAXQD 32u


struct workload {
    const char *name;
    uint32_t type; /* 0 read, 1 write */
    bool random;
    uint32_t bs;
    unsigned qd, count;
};

static uint64_t cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    /* after "(comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return ut + st;
}

static void pattern(uint8_t *p, uint32_t len, uint64_t sector)
{
    for (uint32_t i = 0; i < len; i += 8) {
        uint64_t x = (sector * 512 + i) * 0x9e3779b97f4a7c15ull;
        memcpy(p + i, &x, 8);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One workload; appends its CSV row.  0, or negative errno (the device failed). */
static int run_workload(FILE *csv, const struct session_mode *m, const struct workload *w,
                        struct vdrv *v, struct simdom *d, pid_t pid)
{
    static struct vdrv_blk_req req[MAXQD];
    static uint64_t t_submit[MAXQD];
    uint64_t *lat = calloc(w->count, sizeof(*lat));
    uint8_t *bufs = malloc((size_t)MAXQD * w->bs);
    uint8_t *check = malloc(w->bs);
    if (!lat || !bufs || !check)
        return -ENOMEM;
    uint64_t area = (uint64_t)AREA_MIB << 20, slots = area / w->bs;
    unsigned submitted = 0, completed = 0;
    int rc = 0;
    for (unsigned i = 0; i < w->qd; i++)
        req[i].done = true, req[i].data = NULL;
    simdom_stats_reset(d);
    uint64_t cpu0 = cpu_ticks(pid), t0 = simdom_now_ns();
    while (completed < w->count && rc == 0) {
        for (unsigned i = 0; i < w->qd && submitted < w->count; i++) {
            if (!req[i].done || req[i].data)
                continue;
            uint64_t slot = w->random ? (submitted * 2654435761ull) % slots : submitted % slots;
            uint64_t sector = slot * (w->bs / 512);
            uint8_t *buf = bufs + (size_t)i * w->bs;
            if (w->type == 1)
                pattern(buf, w->bs, sector);
            req[i] = (struct vdrv_blk_req){ .type = w->type, .sector = sector, .data = buf,
                                           .len = w->bs };
            t_submit[i] = simdom_now_ns();
            rc = vdrv_blk_submit(v, &req[i]);
            if (rc == -ENOSPC && submitted > completed) {
                /* the ring or the driver's bounce pool is full: as Linux, wait for completions */
                req[i].done = true;
                req[i].data = NULL;
                rc = 0;
                break;
            }
            if (rc < 0)
                break;
            submitted++;
        }
        if (rc == 0 && (rc = vdrv_kick(v)) >= 0)
            rc = vdrv_reap(v, 2000); /* how many completed, or negative errno */
        rc = rc < 0 ? rc : 0;
        if (rc == 0 && v->needs_reset) {
            fprintf(stderr, "bench-sim: %s %s: the device needs a reset\n", m->name, w->name);
            rc = -EIO;
        }
        uint64_t now = simdom_now_ns();
        for (unsigned i = 0; i < w->qd && rc == 0; i++) {
            if (!req[i].done || !req[i].data)
                continue;
            if (req[i].status != 0) {
                fprintf(stderr, "bench-sim: %s %s: request status %u\n", m->name, w->name,
                        req[i].status);
                rc = -EIO;
            }
            lat[completed++] = now - t_submit[i];
            req[i].data = NULL;
        }
    }
    double secs = (double)(simdom_now_ns() - t0) / 1e9;
    uint64_t cpu = cpu_ticks(pid) - cpu0;
    struct xensim_stats s;
    simdom_stats(d, &s);
    /* Writes: every slot written is read back and compared (the last write wins). */
    uint64_t verify_errors = 0;
    for (uint64_t k = 0; rc == 0 && w->type == 1 && k < w->count && k < slots; k++) {
        uint64_t slot = w->random ? (k * 2654435761ull) % slots : k % slots;
        uint64_t sector = slot * (w->bs / 512);
        int st = vdrv_blk_sync(v, 0, sector, check, w->bs);
        if (st != 0) {
            fprintf(stderr, "bench-sim: %s %s: read-back of sector %llu: %d\n", m->name,
                    w->name, (unsigned long long)sector, st);
            rc = -EIO;
            break;
        }
        pattern(bufs, w->bs, sector);
        verify_errors += memcmp(bufs, check, w->bs) != 0;
    }
    if (rc == 0) {
        qsort(lat, completed, sizeof(*lat), cmp_u64);
        double moved = (double)completed * w->bs;
        fprintf(csv, "%s,%s,%.0f,%.2f,%.0f,%.0f,%.3f,%.3f,%llu,%llu,%s,yes\n", m->name, w->name,
                completed / secs, moved / secs / 1e6, lat[completed / 2] / 1e3,
                lat[(completed * 99) / 100] / 1e3, (cpu / 100.0) / (moved / 1e9),
                (double)(s.gnt_map_calls + s.fgn_map_calls + s.gnt_copy_calls) / completed,
                (unsigned long long)(s.gnt_mapped.peak + s.fgn_mapped.peak),
                (unsigned long long)(m->dma == VDRV_DMA_GRANT ? s.granted.peak : 0),
                w->type == 1 ? (verify_errors ? "error" : "ok") : "");
        if (verify_errors)
            fprintf(stderr, "bench-sim: %s %s: %llu blocks read back wrong\n", m->name,
                    w->name, (unsigned long long)verify_errors);
        rc = verify_errors ? -EIO : 0;
    }
    free(lat);
    free(bufs);
    free(check);
    return rc;
}

static int run_mode(FILE *csv, const char *backend, const struct session_mode *m,
                    const struct workload *wl, unsigned nwl)
{
    struct simdom_params p = { .domid = SESSION_DOMID, .nr_vcpus = 1, .ram_size = 128ull << 20,
                               .nr_grants = 32768 };
    struct session s;
    int rc = session_up(&s, "bench-sim", backend, m, &p, (uint64_t)(AREA_MIB + 8) << 20, false);
    for (unsigned i = 0; i < nwl && rc == 0; i++) {
        rc = run_workload(csv, m, &wl[i], &s.v, s.d, s.pid);
        fflush(csv);
    }
    return session_down(&s, rc);
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: xensim-bench BACKEND OUT.csv [smoke]\n"
                        "The bench's workloads against the simulator, as CSV rows labelled "
                        "simulated.\n");
        return 2;
    }
    bool smoke = argc == 4 && !strcmp(argv[3], "smoke");
    static const struct session_mode modes[] = {
        { "grant", { "--mode", "grant", NULL }, VDRV_DMA_GRANT, 0 },
        { "pool", { "--mode", "grant", NULL }, VDRV_DMA_GRANT, 1024 },
        { "grant-copy", { "--mode", "grant-copy", NULL }, VDRV_DMA_GRANT, 0 },
        { "foreign", { "--mode", "foreign", NULL }, VDRV_DMA_PHYS, 0 },
        { "foreign-premap", { "--mode", "foreign", "--premap", NULL }, VDRV_DMA_PHYS, 0 },
    };
    unsigned k = smoke ? 1 : 4; /* request counts scale with it */
    const struct workload wl[] = {
        { "randread-4k-qd1", 0, true, 4096, 1, 1000 * k },
        { "randread-4k-qd8", 0, true, 4096, 8, 2000 * k },
        { "randread-4k-qd32", 0, true, 4096, 32, 2000 * k },
        { "randwrite-4k-qd1", 1, true, 4096, 1, 1000 * k },
        { "randwrite-4k-qd8", 1, true, 4096, 8, 2000 * k },
        { "randwrite-4k-qd32", 1, true, 4096, 32, 2000 * k },
        { "read-64k-qd8", 0, false, 65536, 8, 500 * k },
        { "write-64k-qd8", 1, false, 65536, 8, 500 * k },
        { "read-1m-qd8", 0, false, 1 << 20, 8, 40 * k },
        { "write-1m-qd8", 1, false, 1 << 20, 8, 32 },
    };
    FILE *csv = fopen(argv[2], "w");
    if (!csv) {
        perror(argv[2]);
        return 1;
    }
    fprintf(csv, "mode,workload,iops,mb_s,p50_us,p99_us,cpu_s_per_gb,"
                 "map_or_copy_calls_per_request,backend_pages_mapped_peak,"
                 "guest_pages_granted_peak,verify,simulated\n");
    struct sim_env env;
    if (sim_env_init(&env) < 0) {
        perror("bench-sim: temp dir");
        return 1;
    }
    int failed = 0;
    for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        failed |= run_mode(csv, argv[1], &modes[i], wl, sizeof(wl) / sizeof(wl[0])) < 0;
    fclose(csv);
    sim_env_fini(&env);
    return failed;
}
