/* SPDX-License-Identifier: MIT */
/*
 * EVA harness: the queue sizes vq_start accepts.  eva_virtq.c analyses the
 * walker for each size accepted (the powers of two up to 256); this checks
 * that no other 16-bit value the driver may write to QueueNum gets that far.
 */
#include "gmem/gmem.h"
#include "prove_env.h"
#include "virtq/virtq.h"

static struct gmem g;
static struct virtq vq;

static int accepted(uint32_t q)
{
    vq.size = (uint16_t)q;
    vq.desc_addr = prove_u64();
    vq.avail_addr = prove_u64();
    vq.used_addr = prove_u64();
    int rc = vq_start(&vq, &g);
    if (rc == 0)
        vq_stop(&vq, &g);
    return rc == 0;
}

int main(void)
{
    /*@ loop unroll 512; */
    for (uint32_t q = 0; q < 512; q++) {
        int ok = accepted(q);
        //@ assert ok ==> (q == 1 || q == 2 || q == 4 || q == 8 || q == 16 || q == 32 || q == 64 || q == 128 || q == 256);
    }
    uint16_t big = prove_u16();
    if (big > VQ_MAX_SIZE) {
        int ok = accepted(big);
        //@ assert !ok;
    }
    return 0;
}
