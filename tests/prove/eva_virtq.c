/* SPDX-License-Identifier: MIT */
/*
 * EVA harness: the ring walker (virtq.c) and the guest-memory accessor
 * (span.c), over the mapping layer's contract (model_gmem.c).  The guest
 * picks the ring addresses, every byte of the rings and of every buffer and
 * indirect table, and rewrites the rings between any two steps.
 * PROVE_QSIZE is the queue size the driver wrote: make prove runs each size
 * vq_start accepts (the powers of two up to 256); eva_qsize.c shows it
 * accepts no other.  The ring positions start anywhere, as after a restart
 * (resume.c sets them from the saved state).
 *
 * The "envelope" asserts after each call are what the transport's proof
 * (eva_mmio_serve.c) takes from the walker (model_virtq.c): proved here,
 * for every queue size, they let that proof use the envelope instead of
 * walking the rings again.
 */
#include <errno.h>
#include <string.h>

#include "__fc_builtin.h"
#include "gmem/gmem.h"
#include "prove_env.h"
#include "virtq/virtq.h"

#ifndef PROVE_QSIZE
#define PROVE_QSIZE 0
#endif
/* Chains served per run: enough to wrap nothing, every path is reached by nondeterminism. */
#define PROVE_STEPS 3

static struct gmem g;
static struct virtq vq;
static struct vq_chain chain;

static void guest_rewrites_rings(void)
{
    /*@ loop unroll 3; */
    for (unsigned i = 0; i < vq.rings.n; i++)
        prove_scribble(vq.rings.span[i].host, vq.rings.span[i].len);
}

/*
 * What each call may change, checked against the code by the From plugin
 * (-from-verify-assigns): nothing of the queue's layout, its started flag
 * or its ring mappings (the envelope's last clause).  The entropy source is
 * the harness's own nondeterminism (a fetch that fails or not).
 */
/*@ assigns vq->last_avail, *c, Frama_C_entropy_source; */
int vq_pop_chain(struct virtq *vq, struct gmem *g, struct vq_chain *c);
/*@ assigns *c, Frama_C_entropy_source; */
int vq_chain_at(struct virtq *vq, struct gmem *g, uint16_t head, struct vq_chain *c);
/*@ assigns vq->used_idx,
            ((uint8_t *)vq->rings.span[2].host)[0 .. vq->rings.span[2].len - 1]; */
int vq_push_used(struct virtq *vq, uint16_t head, uint32_t len);
/*@ assigns vq->signalled_used; */
bool vq_should_notify(struct virtq *vq);
/*@ assigns ((uint8_t *)vq->rings.span[2].host)[0 .. vq->rings.span[2].len - 1]; */
int vq_publish_avail_event(struct virtq *vq);

int main(void)
{
    vq.size = PROVE_QSIZE ? PROVE_QSIZE : prove_u16();
    vq.desc_addr = prove_u64();
    vq.avail_addr = prove_u64();
    vq.used_addr = prove_u64();
    vq.event_idx = prove_bool();
    vq.indirect = prove_bool();
    if (vq_start(&vq, &g) < 0)
        return 0;
    /*@ assert envelope: vq.started == 1 && vq.last_avail == 0 && vq.used_idx == 0 &&
                         vq.signalled_used == 0; */
    vq.last_avail = prove_u16();
    vq.used_idx = prove_u16();
    vq.signalled_used = prove_u16();
    for (int step = 0; step < PROVE_STEPS; step++) {
        guest_rewrites_rings();
        int rc;
        bool got;
        if (prove_bool()) {
            rc = vq_pop_chain(&vq, &g, &chain);
            got = rc == 1;
            /*@ assert envelope: rc <= 1; */
            if (got) {
                /*@ assert envelope: chain.head < vq.size; */
            }
        } else {
            rc = vq_chain_at(&vq, &g, prove_u16(), &chain); /* a restart's resubmit */
            got = rc == 0;
            /*@ assert envelope: rc <= 0; */
            if (got) {
                /*@ assert envelope: chain.head < vq.size; */
            }
        }
        /*@ assert envelope: chain.head < VQ_MAX_SIZE; */
        if (rc < 0)
            break; /* the transport breaks the device: nothing more is read */
        if (!got)
            continue;
        guest_rewrites_rings();
        rc = vq_push_used(&vq, chain.head, prove_u32());
        /*@ assert envelope: rc == 0 || rc == -EFAULT; */
        (void)vq_should_notify(&vq);
        rc = vq_publish_avail_event(&vq);
        /*@ assert envelope: rc == 0 || rc == -EFAULT; */
        uint16_t used;
        (void)vq_read_used_idx(&vq, &used);
    }
    vq_stop(&vq, &g);
    return 0;
}
