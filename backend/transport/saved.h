/* SPDX-License-Identifier: MIT */
/*
 * The device's state, kept outside the device process so that a process
 * killed while serving can be replaced without the guest noticing (like
 * vhost-user's inflight area).  The launcher creates the area (a sealed
 * memfd of SAVED_AREA_BYTES), hands it to each device process it starts for
 * the device and never reads it.  The device writes it as it goes; the one
 * that replaces a dead one reads it once, validates it like guest input (the
 * writer served a hostile guest) and rebuilds from it (resume.h).
 *
 * What is kept: the registers the driver wrote (replayed through the
 * register path on restart, so every check the guest's own writes meet
 * applies), and per queue the used index and how many times each head was
 * taken from the avail ring and not yet published.  The avail position is
 * not kept: every chain taken is either in flight or published, so it is
 * the used index plus the chains in flight.  A chain taken but not yet
 * counted is taken again from the ring.
 *
 * A kill can land between any two stores.  Publishing a used entry is made
 * recoverable by a marker written before it: the head, the used index after
 * it and the head's count before it.  Whether the guest saw the entry is
 * read from the guest's used index; the marker's values are then written
 * again, so a publish cut anywhere ends the same way.  A restart rebuilds
 * the state in the other slot and switches to it with one store.
 */
#ifndef VG_SAVED_H
#define VG_SAVED_H

#include <stdbool.h>
#include <stdint.h>

#include "virtq/virtq.h"

/* "VGS2": the layout with the GrantPool registers; an area of another layout is refused. */
#define SAVED_MAGIC 0x32534756u
#define SAVED_AREA_BYTES 4096u
#define SAVED_QUEUES 4u

struct saved_queue {
    uint64_t desc, avail, used;
    uint16_t size;
    uint8_t ready;
    uint8_t pad;
    uint16_t used_idx;
    /* a used entry being published: head, used index after it, head's count before it */
    uint16_t pub_head, pub_target;
    uint8_t pub_taken;
    uint8_t pub_set;
    uint8_t taken[VQ_MAX_SIZE]; /* per head: taken from avail, not published */
};

struct saved_regs {
    uint32_t status, isr, config_generation;
    uint32_t dev_features_sel, drv_features_sel, queue_sel;
    uint64_t drv_features;
    uint64_t pool_addr; /* the GrantPool registers */
    uint32_t pool_pages, pad;
    struct saved_queue q[SAVED_QUEUES];
};

struct saved_area {
    uint32_t magic;
    uint32_t slot; /* the slot in use, 0 or 1 */
    /* Set before the device destroys its ioreq server: nothing is left to take over. */
    uint32_t closing;
    uint32_t pad;
    struct saved_regs s[2];
};

_Static_assert(sizeof(struct saved_area) <= SAVED_AREA_BYTES, "saved area outgrew its page");

/* A kill lands between instructions: stores must stay in program order. */
#define SAVED_ORDER() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* The slot being written; NULL when there is no area (started by hand). */
static inline struct saved_regs *saved_cur(struct saved_area *a)
{
    return a ? &a->s[a->slot & 1] : NULL;
}

/* A fresh area, for the device's first process. */
void saved_init(struct saved_area *a);

/* Queue q was started (its rings mapped): nothing taken, nothing used. */
void saved_queue_started(struct saved_area *a, unsigned q);
/* A chain with this head was taken from queue q's avail ring. */
void saved_took(struct saved_area *a, unsigned q, uint16_t head);
/* Around vq_push_used: the marker, then the counts after it. */
void saved_publishing(struct saved_area *a, unsigned q, uint16_t head, uint16_t used_after);
void saved_published(struct saved_area *a, unsigned q);

#endif
