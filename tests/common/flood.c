/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "flood.h"

#include <errno.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#define R_NOTIFY 0x050
#define D_NEXT 1
#define D_WRITE 2

uint64_t flood_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Never more than a ring's worth ahead of the device: that would break it. */
static void *refill(void *arg)
{
    struct flood *f = arg;
    struct vdrv *v = f->v;
    uint16_t head = 0;
    while (!atomic_load(&f->stop)) {
        if ((uint16_t)(v->avail_idx - vdrv_used_idx(v)) < v->qsize) {
            vdrv_put_avail(v, head);
            head = (uint16_t)((head + 2) % v->qsize);
            atomic_fetch_add(&f->chains, 1);
        } else {
            /* Full: let the device run (on 2 cores a spinning guest starves it too). */
            usleep(20);
        }
    }
    return NULL;
}

static void *notify(void *arg)
{
    struct flood *f = arg;
    while (!atomic_load(&f->stop)) {
        int rc = simdom_mmio_write(f->v->d, 0, f->base + R_NOTIFY, 4, 0);
        if (rc < 0) {
            int zero = 0;
            atomic_compare_exchange_strong(&f->first_error, &zero, rc);
            atomic_fetch_add(&f->errors, 1);
            /* The ioreq server is gone (torn down) or the wait abandoned: stop. */
            if (rc == -ENODEV || rc == -ECANCELED)
                break;
        }
        atomic_fetch_add(&f->notifies, 1);
    }
    return NULL;
}

int flood_start(struct flood *f, struct vdrv *v, uint64_t base)
{
    memset(f, 0, sizeof(*f));
    f->v = v;
    f->base = base;
    uint64_t hdr = simdom_alloc_pages(v->d, 1), st = simdom_alloc_pages(v->d, 1);
    if (!hdr || !st)
        return -ENOMEM;
    uint8_t *h = simdom_gpa(v->d, hdr, 16);
    memset(h, 0, 16);
    h[0] = 99; /* no such request type */
    uint64_t hdr_dma = vdrv_dma_map(v, hdr, 4096, true, &f->hdr_map);
    uint64_t st_dma = vdrv_dma_map(v, st, 4096, false, &f->st_map);
    if (!hdr_dma || !st_dma)
        return -ENOSPC;
    for (uint16_t i = 0; i < v->qsize; i += 2) {
        vdrv_put_desc(v, i, hdr_dma, 16, D_NEXT, (uint16_t)(i + 1));
        vdrv_put_desc(v, (uint16_t)(i + 1), st_dma + i, 1, D_WRITE, 0);
    }
    atomic_store(&f->stop, false);
    if (pthread_create(&f->refill, NULL, refill, f) != 0)
        return -EAGAIN;
    if (pthread_create(&f->notify, NULL, notify, f) != 0) {
        atomic_store(&f->stop, true);
        pthread_join(f->refill, NULL);
        return -EAGAIN;
    }
    return 0;
}

void flood_stop(struct flood *f)
{
    atomic_store(&f->stop, true);
    pthread_join(f->refill, NULL);
    /* The notifier may wait on a backend that is gone: its domain gives up. */
    simdom_abandon_io(f->v->d);
    pthread_join(f->notify, NULL);
}
