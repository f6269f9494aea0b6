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
 */
#include <string.h>

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
        } else {
            rc = vq_chain_at(&vq, &g, prove_u16(), &chain); /* a restart's resubmit */
            got = rc == 0;
        }
        if (rc < 0)
            break; /* the transport breaks the device: nothing more is read */
        if (!got)
            continue;
        guest_rewrites_rings();
        (void)vq_push_used(&vq, chain.head, prove_u32());
        (void)vq_should_notify(&vq);
        (void)vq_publish_avail_event(&vq);
        uint16_t used;
        (void)vq_read_used_idx(&vq, &used);
    }
    vq_stop(&vq, &g);
    return 0;
}
