/* SPDX-License-Identifier: MIT */
/*
 * `make demo`: the backend against the simulated guest, one short block
 * workload in grant mode (buffers granted in place, and bounced through a
 * pool the backend keeps mapped), foreign mode and foreign mode with
 * premapping, with throughput and what the backend could reach and did map.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xensim/guest.h"
#include "xensim/harness.h"
#include "xensim/vdrv.h"
#include "session.h"

#define BLOCK 4096u
#define BLOCKS 8192u /* 32 MiB of the image take part */


struct result {
    double w_iops, w_mbs, r_iops, r_mbs;
    double gmap_per_req, gunmap_per_req, fmap_per_req, funmap_per_req;
    double reach_peak, reach_avg, mapped_peak, mapped_avg;
    uint64_t reqs, verify_errors, grant_busy, left_mapped;
};

static unsigned opt_writes = 8000, opt_reads = 1000;
static uint64_t opt_ram_mb = 64;

static void fill(uint8_t *p, uint32_t block, uint32_t gen)
{
    uint64_t x = ((uint64_t)block << 32) ^ gen ^ 0x9e3779b97f4a7c15ull;
    for (unsigned i = 0; i < BLOCK; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p + i, &x, 8);
    }
}

/* Keep `depth` requests in flight until `total` have completed. */
static int run_phase(struct vdrv *v, struct vdrv_blk_req *reqs, uint8_t *bufs, unsigned depth,
                     unsigned total, uint32_t type, uint32_t blocks_per_req, uint32_t gen,
                     uint64_t *verify_errors, double *secs)
{
    unsigned submitted = 0, completed = 0;
    uint32_t size = blocks_per_req * BLOCK;
    uint64_t t0 = simdom_now_ns();
    for (unsigned i = 0; i < depth; i++)
        reqs[i].done = true;
    while (completed < total) {
        for (unsigned i = 0; i < depth && submitted < total; i++) {
            if (!reqs[i].done)
                continue;
            /* writes scatter over the area (odd stride); reads walk it in order */
            uint32_t first = type == 1 ? (uint32_t)((submitted * 2654435761u) % BLOCKS)
                                       : (submitted * blocks_per_req) % BLOCKS;
            if (first + blocks_per_req > BLOCKS)
                first = 0;
            uint8_t *buf = bufs + (size_t)i * size;
            if (type == 1)
                fill(buf, first, gen);
            reqs[i] = (struct vdrv_blk_req){ .type = type, .sector = (uint64_t)first * 8,
                                            .data = buf, .len = size };
            int rc = vdrv_blk_submit(v, &reqs[i]);
            if (rc < 0)
                return rc;
            submitted++;
        }
        int rc = vdrv_kick(v);
        if (rc < 0)
            return rc;
        rc = vdrv_reap(v, 2000);
        if (rc < 0 || v->needs_reset)
            return rc < 0 ? rc : -EIO;
        for (unsigned i = 0; i < depth; i++) {
            if (!reqs[i].done || !reqs[i].data)
                continue;
            if (reqs[i].status != 0)
                return -EIO;
            if (type == 0) {
                uint8_t expect[BLOCK];
                for (uint32_t b = 0; b < blocks_per_req; b++) {
                    fill(expect, (uint32_t)(reqs[i].sector / 8) + b, gen);
                    if (memcmp(expect, (uint8_t *)reqs[i].data + b * BLOCK, BLOCK))
                        (*verify_errors)++;
                }
            }
            reqs[i].data = NULL;
            completed++;
        }
    }
    *secs = (double)(simdom_now_ns() - t0) / 1e9;
    return 0;
}

static int run_mode(const char *backend, const struct session_mode *m, struct result *res)
{
    struct simdom_params p = { .domid = SESSION_DOMID, .backend_domid = 0, .nr_vcpus = 1,
                               .ram_size = opt_ram_mb << 20, .nr_grants = 16384 };
    struct session se;
    int rc = session_up(&se, "demo", backend, m, &p, 64 << 20, true);
    struct vdrv *v = &se.v;
    const unsigned depth = 16;
    struct vdrv_blk_req reqs[16];
    uint8_t *bufs = malloc((size_t)depth * 16 * BLOCK);
    if (!bufs && rc == 0)
        rc = -ENOMEM;
    double wsecs = 0, rsecs = 0;
    struct xensim_stats s;
    if (rc == 0 && bufs) {
        simdom_stats_reset(se.d);
        rc = run_phase(v, reqs, bufs, depth, opt_writes, 1, 1, 7, &res->verify_errors, &wsecs);
        /* every block the reads check must have been written */
        for (uint32_t b = 0; rc == 0 && b < BLOCKS; b += 16) {
            uint8_t *buf = bufs;
            for (uint32_t k = 0; k < 16; k++)
                fill(buf + k * BLOCK, b + k, 7);
            rc = vdrv_blk_sync(v, 1, (uint64_t)b * 8, buf, 16 * BLOCK);
            rc = rc > 0 ? -EIO : rc;
        }
        /* exposure and map counts are reported for the read phase alone */
        simdom_stats_reset(se.d);
        if (rc == 0)
            rc = run_phase(v, reqs, bufs, 8, opt_reads, 0, 16, 7, &res->verify_errors, &rsecs);
        simdom_stats(se.d, &s);
    }
    if (rc == 0) {
        uint64_t ram_pages = p.ram_size / 4096;
        uint64_t now = simdom_now_ns();
        res->reqs = opt_reads;
        res->w_iops = opt_writes / wsecs;
        res->w_mbs = opt_writes * (double)BLOCK / wsecs / 1e6;
        res->r_iops = opt_reads / rsecs;
        res->r_mbs = opt_reads * 16.0 * BLOCK / rsecs / 1e6;
        res->gmap_per_req = (double)s.gnt_map_calls / opt_reads;
        res->gunmap_per_req = (double)s.gnt_unmap_calls / opt_reads;
        res->fmap_per_req = (double)s.fgn_map_calls / opt_reads;
        res->funmap_per_req = (double)s.fgn_unmap_calls / opt_reads;
        if (m->dma == VDRV_DMA_GRANT) {
            res->reach_peak = 100.0 * s.granted.peak / ram_pages;
            res->reach_avg = 100.0 * simdom_gauge_avg(&s, &s.granted, now) / ram_pages;
        } else {
            res->reach_peak = res->reach_avg = 100.0; /* by construction */
        }
        res->mapped_peak = 100.0 * (s.gnt_mapped.peak + s.fgn_mapped.peak) / ram_pages;
        res->mapped_avg = 100.0 *
                          (simdom_gauge_avg(&s, &s.gnt_mapped, now) +
                           simdom_gauge_avg(&s, &s.fgn_mapped, now)) /
                          ram_pages;
        res->grant_busy = v->grant_busy;
    }
    res->left_mapped = session_left_mapped(&se);
    free(bufs);
    return session_down(&se, rc);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: xensim-demo --backend PATH [--writes N] [--reads N] [--ram-mb N]\n"
               "Runs the backend binary against a simulated guest in grant (in place and\n"
               "with a bounce pool), foreign and foreign --premap modes and prints\n"
               "measured throughput and exposure.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = { { "backend", required_argument, 0, 'b' },
                                          { "writes", required_argument, 0, 'w' },
                                          { "reads", required_argument, 0, 'r' },
                                          { "ram-mb", required_argument, 0, 'm' },
                                          { "help", no_argument, 0, 'h' },
                                          { 0, 0, 0, 0 } };
    const char *backend = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'b': backend = optarg; break;
        case 'w': opt_writes = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'r': opt_reads = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'm': opt_ram_mb = strtoull(optarg, NULL, 0); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!backend || opt_writes == 0 || opt_reads == 0 || opt_ram_mb < 16) {
        usage(stderr);
        return 2;
    }
    static const struct session_mode modes[] = {
        { "grant", { "--mode", "grant", NULL }, VDRV_DMA_GRANT, 0 },
        { "grant-pool", { "--mode", "grant", NULL }, VDRV_DMA_GRANT, 256 },
        { "foreign", { "--mode", "foreign", NULL }, VDRV_DMA_PHYS, 0 },
        { "foreign-premap", { "--mode", "foreign", "--premap", NULL }, VDRV_DMA_PHYS, 0 },
    };
    enum { NMODES = sizeof(modes) / sizeof(modes[0]) };
    struct result res[NMODES] = { 0 };
    struct sim_env env;
    if (sim_env_init(&env) < 0) {
        perror("demo: temp dir");
        return 1;
    }
    int failed = 0;
    printf("virtio-grant demo: simulated guest dom%u, %llu MiB RAM, virtio-blk on a 64 MiB image\n"
           "workload: %u x 4 KiB scattered writes (QD16), then %u x 64 KiB sequential reads "
           "(QD8), every read verified\n\n",
           SESSION_DOMID, (unsigned long long)opt_ram_mb, opt_writes, opt_reads);
    for (unsigned i = 0; i < NMODES; i++) {
        if (run_mode(backend, &modes[i], &res[i]) < 0)
            failed = 1;
        else if (res[i].verify_errors || res[i].grant_busy || res[i].left_mapped)
            failed = 1;
    }
    printf("%-16s %10s %9s %10s %9s | %-13s %-13s | %-15s %-15s\n", "mode", "4k-wr IOPS",
           "4k-wr MB/s", "64k-rd IOPS", "64k-rd MB/s", "grant map/unmap", "fgn map/unmap",
           "reach pk/avg %", "mapped pk/avg %");
    for (unsigned i = 0; i < NMODES; i++) {
        const struct result *r = &res[i];
        printf("%-16s %10.0f %9.1f %10.0f %9.1f | %5.2f / %5.2f %5.2f / %5.2f | %6.3f/%6.3f   "
               "%6.3f/%6.3f\n",
               modes[i].name, r->w_iops, r->w_mbs, r->r_iops, r->r_mbs, r->gmap_per_req,
               r->gunmap_per_req, r->fmap_per_req, r->funmap_per_req, r->reach_peak,
               r->reach_avg, r->mapped_peak, r->mapped_avg);
    }
    printf("\nmap/unmap: calls per 64 KiB read request (one call maps a whole direction;\n"
           "grant-pool keeps what it mapped, so after warm-up it maps nothing).\n"
           "reach: share of guest RAM the backend could map (grant: pages granted to it, the\n"
           "whole pool with a pool; foreign: all RAM by construction). mapped: share it\n"
           "actually had mapped. Peak and time-average over the read phase.\n");
    for (unsigned i = 0; i < NMODES; i++)
        printf("%-16s verify errors %llu, grants still mapped at revoke %llu, left mapped "
               "after reset %llu\n",
               modes[i].name, (unsigned long long)res[i].verify_errors,
               (unsigned long long)res[i].grant_busy, (unsigned long long)res[i].left_mapped);
    sim_env_fini(&env);
    if (failed)
        fprintf(stderr, "demo: FAILED\n");
    return failed;
}
