/* SPDX-License-Identifier: MIT */
/*
 * The mapping layer (gmem.c) as its users may rely on it, for the virtq
 * proof: a call either fails with a negative errno, or gives each buffer a
 * span whose host points to exactly len bytes, every one unknown (the guest
 * wrote them).  That contract of gmem.c is assumed here, not proved: gmem.c
 * is not analysed yet (its tests and fuzzers check it).
 */
#include <errno.h>
#include <stdlib.h>

#include "__fc_builtin.h"
#include "gmem/gmem.h"
#include "prove_env.h"

static int model_map(const struct gmem_buf *bufs, unsigned n, struct gmem_sg *sg)
{
    sg->n = 0;
    sg->nmaps = 0;
    if (n > GMEM_MAX_BUFS || prove_bool())
        return prove_bool() ? -EFAULT : -E2BIG;
    /* each buffer its own block of its own size: keep the iterations apart */
    /*@ loop unroll 3; */
    for (unsigned i = 0; i < n; i++) {
        uint8_t *p = bufs[i].len ? malloc(bufs[i].len) : NULL;
        if (bufs[i].len && !p) {
            sg->n = i;
            gmem_unmap(NULL, sg);
            return -EFAULT;
        }
        if (p)
            prove_scribble(p, bufs[i].len);
        sg->span[i] = (struct gmem_span){ .host = p, .len = bufs[i].len,
                                          .writable = bufs[i].writable, .pin = 0,
                                          .guest = bufs[i].addr };
    }
    sg->n = n;
    return 0;
}

int gmem_map_bufs(struct gmem *g, const struct gmem_buf *bufs, unsigned n, struct gmem_sg *sg)
{
    (void)g;
    return model_map(bufs, n, sg);
}

int gmem_map_data(struct gmem *g, const struct gmem_buf *bufs, unsigned n, struct gmem_sg *sg)
{
    (void)g;
    return model_map(bufs, n, sg);
}

void gmem_unmap(struct gmem *g, struct gmem_sg *sg)
{
    (void)g;
    for (unsigned i = 0; i < sg->n; i++)
        free(sg->span[i].host);
    sg->n = 0;
}

int gmem_fetch(struct gmem *g, const struct gmem_buf *b, void *dst)
{
    (void)g;
    if (prove_bool())
        return -EFAULT;
    prove_scribble(dst, b->len);
    return 0;
}
