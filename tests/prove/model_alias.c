/* SPDX-License-Identifier: MIT */
/*
 * The mapping layer for the transport's proof (eva_mmio_regs.c,
 * eva_mmio_serve.c): each call succeeds or fails with the errnos the real
 * one returns, and a successful map gives the sg its count.  What its spans
 * hold is not modelled: nothing analysed with this model reads a span (the
 * walker is model_virtq.c there, or never called on a ring; the stand-in
 * device asserts the sg it is handed, and reads no guest byte).  The spans
 * and the accessor over them are proved on their own (eva_virtq.c with
 * model_gmem.c, eva_span.c).  Batches are modelled as the real ones behave
 * towards their users (member sgs own nothing).
 */
#include <errno.h>
#include <string.h>

#include "gmem/gmem.h"
#include "prove_env.h"
#include "transport/mmio.h"

static int model_map(const struct gmem_buf *bufs, unsigned n, struct gmem_sg *sg, bool busy)
{
    (void)bufs;
    sg->n = 0;
    sg->nmaps = 0;
    if (n > GMEM_MAX_BUFS)
        return -E2BIG;
    switch (prove_u32() % 3) {
    case 0:
        return -EFAULT; /* not granted */
    case 1:
        return busy ? -EBUSY : -E2BIG;
    }
    sg->n = n;
    return 0;
}

void gmem_account(struct gmem *g, int64_t pages)
{
    (void)g;
    (void)pages;
}

int gmem_map_bufs(struct gmem *g, const struct gmem_buf *bufs, unsigned n, struct gmem_sg *sg)
{
    (void)g;
    return model_map(bufs, n, sg, false);
}

int gmem_map_data(struct gmem *g, const struct gmem_buf *bufs, unsigned n, struct gmem_sg *sg)
{
    (void)g;
    return model_map(bufs, n, sg, true);
}

void gmem_unmap(struct gmem *g, struct gmem_sg *sg)
{
    (void)g;
    sg->n = 0;
    sg->nmaps = 0;
}

int gmem_finish(struct gmem *g, struct gmem_sg *sg)
{
    gmem_unmap(g, sg);
    return prove_bool() ? 0 : -EFAULT; /* grant copy-back refused */
}

int gmem_fetch(struct gmem *g, const struct gmem_buf *b, void *dst)
{
    (void)g;
    if (prove_bool())
        return -EFAULT;
    prove_scribble(dst, b->len);
    return 0;
}

int gmem_data_pages(const struct gmem *g, const struct gmem_buf *bufs, unsigned n,
                    uint32_t *pages)
{
    (void)g;
    (void)bufs;
    if (n > GMEM_MAX_BUFS || prove_bool())
        return prove_bool() ? -EINVAL : -E2BIG;
    *pages = prove_u32() % (GMEM_MAX_CHAIN_PAGES + 1);
    return 0;
}

uint32_t gmem_data_room(const struct gmem *g)
{
    (void)g;
    return prove_u32() % (GMEM_MAX_CHAIN_PAGES + 1);
}

int gmem_map_batch(struct gmem *g, const struct gmem_batch_chain *c, unsigned k,
                   struct gmem_batch *b)
{
    (void)g;
    memset(b, 0, sizeof(*b));
    int rc = 0;
    /* Unrolled: each member's sg is its own slot's, never a range of them. */
    //@ loop unroll MMIO_BATCH_MAX;
    for (unsigned j = 0; j < k && rc == 0; j++)
        rc = model_map(c[j].bufs, c[j].n, c[j].sg, true);
    if (rc < 0) {
        //@ loop unroll MMIO_BATCH_MAX;
        for (unsigned j = 0; j < k; j++)
            c[j].sg->n = 0;
    }
    return rc;
}

void gmem_unmap_batch(struct gmem *g, struct gmem_batch *b)
{
    (void)g;
    memset(b, 0, sizeof(*b));
}

/* The flag only, as persist.c sets it: gmem_can_batch (gmem.h) reads it. */
void gmem_persist_enable(struct gmem *g, bool on)
{
    g->persist.enabled = on && g->mode == GMEM_GRANT;
}

void gmem_persist_flush(struct gmem *g)
{
    (void)g;
}

/* An announced pool: mapped, or refused with the real call's errnos. */
int gmem_pool_announce(struct gmem *g, uint64_t addr, uint32_t npages)
{
    (void)g;
    (void)addr;
    (void)npages;
    switch (prove_u32() % 4) {
    case 0:
        return -EINVAL;
    case 1:
        return -EALREADY;
    case 2:
        return -EFAULT;
    }
    return 0;
}

bool gmem_pool_overlaps(const struct gmem *g, const struct gmem_buf *b)
{
    (void)g;
    (void)b;
    return prove_bool();
}
