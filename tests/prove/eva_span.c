/* SPDX-License-Identifier: MIT */
/*
 * EVA harness: the accessor (span.c) as a device uses it, on a chain of
 * three spans of exactly PROVE_LEN0/1/2 bytes (make prove runs several
 * layouts, empty and page-sized spans among them).  Offsets, lengths and
 * directions are the guest's and the device's: any value at all.
 */
#include <sys/uio.h>

#include "gmem/gmem.h"
#include "prove_env.h"

#ifndef PROVE_LEN0
#define PROVE_LEN0 1
#define PROVE_LEN1 4096
#define PROVE_LEN2 16
#endif

/* Exactly as long as the spans say (an empty span has no memory: host NULL). */
static uint8_t buf0[PROVE_LEN0 ? PROVE_LEN0 : 1], buf1[PROVE_LEN1 ? PROVE_LEN1 : 1],
    buf2[PROVE_LEN2 ? PROVE_LEN2 : 1];
static struct gmem_sg sg;
static uint8_t scratch[8192];
static struct iovec iov[GMEM_MAX_BUFS];

static void span(unsigned i, uint8_t *host, uint32_t len)
{
    sg.span[i] = (struct gmem_span){ .host = len ? host : NULL, .len = len,
                                     .writable = prove_bool() };
    if (len)
        prove_scribble(host, len);
}

int main(void)
{
    span(0, buf0, PROVE_LEN0);
    span(1, buf1, PROVE_LEN1);
    span(2, buf2, PROVE_LEN2);
    sg.n = 3;
    /*
     * Lengths one at a time: the check relates the offset to the length, and
     * EVA keeps each in an interval of its own.  With the length fixed, any
     * offset at all is proved in bounds or refused.
     */
    static const size_t lens[] = { 0, 1, 2, 8, 16, 512, 4095, 4096, 4097, 8192 };
    /*@ loop unroll 10; */
    for (unsigned k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        /*@ loop unroll 3; */
        for (unsigned i = 0; i < 3; i++) {
            uint8_t *mine = scratch + sizeof(scratch) - lens[k];
            (void)gmem_span_read(&sg.span[i], prove_u64(), mine, lens[k]);
            (void)gmem_span_write(&sg.span[i], prove_u64(), mine, lens[k]);
        }
        /* the caller's buffer exactly lens[k] long: its end is the end of scratch */
        uint8_t *mine = scratch + sizeof(scratch) - lens[k];
        (void)gmem_sg_read(&sg, prove_u64(), mine, lens[k]);
        (void)gmem_sg_write(&sg, prove_u64(), mine, lens[k]);
    }
    (void)gmem_sg_iov(&sg, prove_bool(), prove_u64(), prove_u64(), iov, prove_u32() % 4);
    (void)gmem_sg_len(&sg, prove_bool());
    return 0;
}
