/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue, device side.  Everything read from the rings is copied
 * once into private memory and validated there; the used index is private.
 */
#ifndef VG_VIRTQ_H
#define VG_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "gmem/gmem.h"

#define VQ_MAX_SIZE 256u

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1

/* A validated chain: buffers in ring order, readable ones first. */
struct vq_chain {
    uint16_t head;
    unsigned n;
    struct gmem_buf buf[VQ_MAX_SIZE];
    uint64_t read_len, write_len;
};

/* The spans of struct virtq's rings, in this order. */
enum vq_ring_area { VQ_RING_DESC, VQ_RING_AVAIL, VQ_RING_USED };

struct virtq {
    /* set by the transport */
    uint16_t size;
    uint64_t desc_addr, avail_addr, used_addr;
    bool event_idx, indirect;
    /* running state */
    bool started;
    struct gmem_sg rings; /* enum vq_ring_area */
    uint16_t last_avail;  /* next avail entry to consume */
    uint16_t used_idx;    /* private: never read back from the guest */
    uint16_t signalled_used;
};

/* Map the three areas (desc and avail read-only, used read-write). */
int vq_start(struct virtq *vq, struct gmem *g);
void vq_stop(struct virtq *vq, struct gmem *g);

/*
 * Take the next chain.  Returns 1 with *c filled, 0 when the ring is empty,
 * or a negative errno when the guest broke the ring (the caller must mark the
 * device as needing reset: the ring state is no longer trustworthy).
 */
int vq_pop_chain(struct virtq *vq, struct gmem *g, struct vq_chain *c);
/* The chain that starts at head (a restart serves again the chains taken before it). */
int vq_chain_at(struct virtq *vq, struct gmem *g, uint16_t head, struct vq_chain *c);
int vq_push_used(struct virtq *vq, uint16_t head, uint32_t len);
/* The used index as the guest's ring holds it now: guest data, to be checked. */
int vq_read_used_idx(const struct virtq *vq, uint16_t *idx);
/*
 * Test-only: the probe twin sets it, the daemon never does.  Called before a
 * used entry is published, to play a device that also rewrites the
 * descriptor table the driver gave it.
 */
extern void (*vq_before_used_hook)(const struct virtq *vq, uint16_t head);
/* After a batch: whether the driver wants an interrupt (EVENT_IDX aware). */
bool vq_should_notify(struct virtq *vq);
/* With EVENT_IDX, tell the driver where to notify next. */
int vq_publish_avail_event(struct virtq *vq);

/* The three areas as buffers, indexed by enum vq_ring_area (the size is valid). */
void vq_ring_areas(const struct virtq *vq, struct gmem_buf areas[3]);
size_t vq_desc_bytes(uint16_t size);
size_t vq_avail_bytes(uint16_t size);
size_t vq_used_bytes(uint16_t size);

#endif
