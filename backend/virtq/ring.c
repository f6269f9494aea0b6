/* SPDX-License-Identifier: MIT */
/*
 * A queue's rings: their sizes, and mapping them at QueueReady.  Apart from
 * the walker (virtq.c) so that the serving engine's proof analyses this code
 * as compiled, with the walker alone as its proven envelope
 * (tests/prove/model_virtq.c).
 */
#include "virtq/virtq.h"

#include <errno.h>

size_t vq_desc_bytes(uint16_t size)
{
    return 16u * size;
}

size_t vq_avail_bytes(uint16_t size)
{
    return 6u + 2u * size;
}

size_t vq_used_bytes(uint16_t size)
{
    return 6u + 8u * size;
}

void vq_ring_areas(const struct virtq *vq, struct gmem_buf areas[3])
{
    areas[VQ_RING_DESC] = (struct gmem_buf){ vq->desc_addr, (uint32_t)vq_desc_bytes(vq->size), false };
    areas[VQ_RING_AVAIL] = (struct gmem_buf){ vq->avail_addr, (uint32_t)vq_avail_bytes(vq->size), false };
    areas[VQ_RING_USED] = (struct gmem_buf){ vq->used_addr, (uint32_t)vq_used_bytes(vq->size), true };
}

int vq_start(struct virtq *vq, struct gmem *g)
{
    if (vq->size == 0 || vq->size > VQ_MAX_SIZE || (vq->size & (vq->size - 1)))
        return -EINVAL;
    /*
     * The split-ring alignment rules; a driver that breaks them is broken.
     * One test of all three, not three: branch by branch, the serving
     * engine's proof keeps each refused address apart and does not finish.
     */
    uint64_t misaligned = (vq->desc_addr & 15) | (vq->avail_addr & 1) | (vq->used_addr & 3);
    if (misaligned)
        return -EINVAL;
    struct gmem_buf areas[3];
    vq_ring_areas(vq, areas);
    int rc = gmem_map_bufs(g, areas, 3, &vq->rings);
    if (rc < 0)
        return rc;
    vq->last_avail = 0;
    vq->used_idx = 0;
    vq->signalled_used = 0;
    vq->started = true;
    return 0;
}

void vq_stop(struct virtq *vq, struct gmem *g)
{
    if (vq->started)
        gmem_unmap(g, &vq->rings);
    vq->started = false;
}
