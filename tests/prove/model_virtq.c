/* SPDX-License-Identifier: MIT */
/*
 * The ring walker (backend/virtq/virtq.c) as the transport may rely on it,
 * for the serving engine's proof (eva_mmio_serve.c).  Each call returns
 * any value inside the envelope that eva_virtq.c proves of the real one,
 * for every queue size, with its "envelope" asserts after each call:
 *   - vq_pop_chain gives 1 only with head < size, 0, or a negative errno;
 *     vq_chain_at 0 on the same terms, or a negative errno; the head is
 *     below VQ_MAX_SIZE whatever they return;
 *   - vq_push_used and vq_publish_avail_event give 0 or -EFAULT;
 *   - each assigns only what its contract there lists (checked against the
 *     code by -from-verify-assigns): the ring positions, the chain, the
 *     used ring's bytes; never the queue's layout, its started flag or its
 *     ring mappings.
 * Everything else (a chain's addresses and lengths, the positions' new
 * values, which of several errnos) is any here.  So the transport is proved
 * against the walker's proven envelope, and the walk itself is not analysed
 * again here: analysed together, every ring byte a guest can write joins the
 * transport's states and drowns the analysis (284 alarms, 2026-12-03).
 * Starting and stopping a queue is not modelled: the serving engine's run
 * analyses the real vq_start and vq_stop (ring.c) as compiled.
 */
#include <errno.h>

#include "prove_env.h"
#include "virtq/virtq.h"

/*
 * Any chain: buffers and count alike.  The walker bounds the count by the
 * queue size, but EVA loses that bound where the walk's paths join (its
 * error paths leave the count widened), and the transport needs none: it
 * hands the count to the mapping layer, which refuses more than
 * GMEM_MAX_BUFS buffers (-E2BIG), and reads no buffer itself.
 */
static void any_chain(struct vq_chain *c)
{
    /* Every byte at once (a writable flag that is neither 0 nor 1 too: the
     * transport reads no buffer).  A loop of VQ_MAX_SIZE steps here was
     * replayed step by step for each of the states that reach a pop. */
    prove_scribble(c->buf, sizeof(c->buf));
    c->n = prove_u32();
    c->read_len = prove_u64();
    c->write_len = prove_u64();
}

int vq_pop_chain(struct virtq *vq, struct gmem *g, struct vq_chain *c)
{
    (void)g;
    if (!vq->started || prove_bool())
        return 0;
    if (prove_bool()) {
        /* The ring was broken part-way: c holds a partial walk, or an
         * older chain (of a queue that may have been larger). */
        c->head = (uint16_t)(prove_u32() % VQ_MAX_SIZE);
        any_chain(c);
        return -EINVAL; /* which errno: the transport tests only its sign */
    }
    c->head = (uint16_t)(prove_u32() % vq->size);
    any_chain(c);
    vq->last_avail = prove_u16();
    return 1;
}

int vq_chain_at(struct virtq *vq, struct gmem *g, uint16_t head, struct vq_chain *c)
{
    (void)g;
    if (!vq->started)
        return -EINVAL;
    if (head >= vq->size)
        return -ERANGE;
    c->head = head;
    if (prove_bool()) {
        any_chain(c);
        return -EINVAL;
    }
    any_chain(c);
    return 0;
}

int vq_push_used(struct virtq *vq, uint16_t head, uint32_t len)
{
    (void)head;
    (void)len;
    vq->used_idx = prove_u16();
    return prove_bool() ? 0 : -EFAULT;
}

bool vq_should_notify(struct virtq *vq)
{
    vq->signalled_used = prove_u16();
    return prove_bool();
}

int vq_publish_avail_event(struct virtq *vq)
{
    (void)vq;
    return prove_bool() ? 0 : -EFAULT;
}
