/* SPDX-License-Identifier: MIT */
/*
 * A guest that keeps its device busy: one thread keeps the queue full of
 * cheap requests (an unknown type: UNSUPP, no I/O) reusing the same
 * descriptors, another notifies from vCPU 0 without pause.  The tests
 * measure what the device process still serves meanwhile.
 */
#ifndef VG_TEST_FLOOD_H
#define VG_TEST_FLOOD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "xensim/vdrv.h"

struct flood {
    struct vdrv *v;
    uint64_t base;
    atomic_bool stop;
    atomic_ulong notifies, chains, errors;
    atomic_int first_error; /* of a notify, 0 if none */
    pthread_t refill, notify;
    struct vdrv_map hdr_map, st_map;
};

/* Build the chains on v's ring (probed, at base) and start both threads. */
int flood_start(struct flood *f, struct vdrv *v, uint64_t base);
/* Stop both, once the backend is gone: the domain's pending and later ioreqs give up. */
void flood_stop(struct flood *f);
uint64_t flood_now_us(void);

#endif
