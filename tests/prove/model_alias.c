/* SPDX-License-Identifier: MIT */
/*
 * The mapping layer for the transport's proof (eva_mmio_regs.c,
 * eva_mmio_serve.c): every span, of rings and of data, points at the start of one block of guest memory as
 * large as any span can be (2^32 bytes); a ring map makes its first page
 * unknown again, the rest keeps whatever EVA last knew.  All buffers
 * alias, as a guest may make them.  Coarser than model_gmem.c (an access
 * past a span's end but inside the block would pass), and enough here: the
 * walker's ring accesses are proved exactly in eva_virtq.c, this run is
 * about the transport's own arrays, registers and state.  Calls fail with
 * the errnos the real ones return; batches are modelled as the real ones
 * behave towards their users (member sgs own nothing).
 */
#include <errno.h>
#include <string.h>

#include "gmem/gmem.h"
#include "prove_env.h"

static uint8_t guest_mem[1ull << 32];

static int model_map(const struct gmem_buf *bufs, unsigned n, struct gmem_sg *sg, bool busy)
{
    sg->n = 0;
    sg->nmaps = 0;
    if (n > GMEM_MAX_BUFS)
        return -E2BIG;
    switch (prove_u32() % 4) {
    case 0:
        return -EFAULT; /* not granted */
    case 1:
        return busy ? -EBUSY : -E2BIG;
    }
    /* Field by field: a whole-struct copy at an index EVA knows as a range
     * would smear each field over its neighbours (padding included). */
    for (unsigned i = 0; i < n; i++) {
        sg->span[i].host = guest_mem;
        sg->span[i].len = bufs[i].len;
        sg->span[i].writable = bufs[i].writable;
        sg->span[i].pin = 0;
        sg->span[i].guest = bufs[i].addr;
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
    int rc = model_map(bufs, n, sg, false);
    if (rc == 0)
        prove_scribble(guest_mem, 4096); /* what a ring holds: anything */
    return rc;
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

/* PROVE_BATCH 0 or 1: one of the two serving paths per run (the mode decides it). */
bool gmem_can_batch(const struct gmem *g)
{
    (void)g;
#ifdef PROVE_BATCH
    return PROVE_BATCH;
#else
    return prove_bool();
#endif
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
    for (unsigned j = 0; j < k && rc == 0; j++)
        rc = model_map(c[j].bufs, c[j].n, c[j].sg, true);
    if (rc < 0)
        for (unsigned j = 0; j < k; j++)
            c[j].sg->n = 0;
    return rc;
}

void gmem_unmap_batch(struct gmem *g, struct gmem_batch *b)
{
    (void)g;
    memset(b, 0, sizeof(*b));
}

void gmem_persist_enable(struct gmem *g, bool on)
{
    (void)g;
    (void)on;
}

void gmem_persist_flush(struct gmem *g)
{
    (void)g;
}
