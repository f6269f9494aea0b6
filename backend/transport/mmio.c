/* SPDX-License-Identifier: MIT */
#include "transport/mmio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/checked.h"
#include "common/log.h"
#include "transport/saved.h"

#define TRANSPORT_FEATURES                                                                     \
    ((1ull << VIRTIO_F_INDIRECT_DESC) | (1ull << VIRTIO_F_EVENT_IDX) |                         \
     (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_ACCESS_PLATFORM))

static void complete_chain(void *opaque, void *tag, int result, uint32_t written);

int mmio_init(struct mmio_dev *m, const struct vdev_ops *ops, void *dev, struct gmem *g,
              bool require_access_platform, void (*set_irq)(void *, int), void *irq_opaque)
{
    memset(m, 0, sizeof(*m));
    if (ops->num_queues == 0 || ops->num_queues > VIRTIO_MMIO_MAX_QUEUES)
        return -EINVAL;
    m->ops = ops;
    m->dev = dev;
    m->gmem = g;
    m->require_access_platform = require_access_platform;
    m->set_irq = set_irq;
    m->irq_opaque = irq_opaque;
    /* Set-up allocates what serving needs: nothing grows once the guest runs. */
    m->req = calloc(VDEV_MAX_PENDING, sizeof(*m->req));
    m->stalled = calloc(VIRTIO_MMIO_MAX_QUEUES, sizeof(*m->stalled));
    m->chain = calloc(VDEV_MAX_PENDING, sizeof(*m->chain));
    if (!m->req || !m->stalled || !m->chain) {
        mmio_fini(m);
        return -ENOMEM;
    }
    /* A free slot belongs to no batch, from the start as after each use:
     * only a busy member of a live batch holds an index. */
    for (unsigned i = 0; i < VDEV_MAX_PENDING; i++)
        m->req[i].batch = -1;
    m->host = (struct vdev_host){ .complete = complete_chain, .opaque = m };
    if (ops->attach)
        ops->attach(dev, &m->host);
    return 0;
}

void mmio_fini(struct mmio_dev *m)
{
    free(m->req);
    free(m->stalled);
    free(m->chain);
    m->req = NULL;
    m->stalled = NULL;
    m->chain = NULL;
}

uint64_t mmio_device_features(const struct mmio_dev *m)
{
    uint64_t f = m->ops->features(m->dev) | TRANSPORT_FEATURES;
    if (gmem_mode_is_grant(m->gmem->mode))
        f |= 1ull << VIRTIO_F_GRANT_ADDRESSING;
    /* A pool lets us keep grant mappings; foreign mode never keeps guest frames. */
    if (m->gmem->mode == GMEM_GRANT)
        f |= 1ull << VIRTIO_F_GRANT_POOL;
    return f;
}

static void update_irq(struct mmio_dev *m)
{
    bool level = m->isr != 0;
    if (level == m->irq_level)
        return;
    m->irq_level = level;
    if (m->set_irq)
        m->set_irq(m->irq_opaque, level);
}

static void raise_vring_irq(struct mmio_dev *m, unsigned q);
static void stop_queues_now(struct mmio_dev *m);

/*
 * Let every chain in flight finish before anything it points into is
 * unmapped: the kernel may still be reading or writing those pages.  The
 * used entries of the queues in stopping are not published (those queues are
 * going away); the others' are, as usual.  A device broken by a completion
 * inside the drain asks for the queues to stop: that waits until the drain
 * is over (stop_pending), so nothing is unmapped while chains are in flight.
 */
static void drain(struct mmio_dev *m, uint32_t stopping)
{
    m->stopping_queues |= stopping;
    if (m->draining)
        return; /* the outer drain keeps the bits until it ends */
    if (m->inflight && m->ops->poll) {
        m->draining = true;
        m->ops->poll(m->dev, true);
        m->draining = false;
    }
    m->stopping_queues = 0;
    if (m->stop_pending) {
        m->stop_pending = false;
        stop_queues_now(m);
    }
}

static void stop_queues_now(struct mmio_dev *m)
{
    m->deferred_queues = m->waiting_queues = m->completed_queues = 0;
    memset(m->has_stalled, 0, sizeof(m->has_stalled));
    for (unsigned q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++)
        vq_stop(&m->vq[q], m->gmem);
    /* A reset driver may revoke its pool: let go of every page of it. */
    gmem_persist_flush(m->gmem);
}

static void stop_queues(struct mmio_dev *m)
{
    if (m->draining) {
        m->stopping_queues = ~0u;
        m->stop_pending = true;
        return;
    }
    drain(m, ~0u);
    stop_queues_now(m);
}

static void device_reset(struct mmio_dev *m)
{
    stop_queues(m);
    gmem_persist_enable(m->gmem, false);
    memset(m->vq, 0, sizeof(m->vq));
    m->status = 0;
    m->isr = 0;
    m->vring_queues = 0;
    m->drv_features = 0;
    m->pool_addr = 0;
    m->pool_pages = 0;
    m->dev_features_sel = m->drv_features_sel = m->queue_sel = 0;
    m->ops->reset(m->dev);
    m->ctr.resets++;
    update_irq(m);
}

void mmio_shutdown(struct mmio_dev *m)
{
    stop_queues(m);
    m->isr = 0;
    update_irq(m);
}

void mmio_fail_device(struct mmio_dev *m, const char *why)
{
    m->ctr.guest_errors++;
    if (m->status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    vg_log_guest("device needs reset: %s", why);
    /* The rings can no longer be trusted: stop touching them, release the grants. */
    stop_queues(m);
    m->status |= VIRTIO_STATUS_NEEDS_RESET;
    m->config_generation++;
    /*
     * The notification is owed once DRIVER_OK is set (virtio 1.2, 2.1.2), as
     * QEMU sends it.  Before that no driver listens for it, and firmware that
     * never asked for an interrupt is not ready for the line it would hold
     * up: SeaBIOS on Xen triple-faulted in its next protected-mode switch.
     */
    if (m->status & VIRTIO_STATUS_DRIVER_OK)
        mmio_notify_config(m);
}

void mmio_notify_config(struct mmio_dev *m)
{
    m->isr |= VIRTIO_MMIO_INT_CONFIG;
    update_irq(m);
}

static bool live(const struct mmio_dev *m)
{
    return (m->status & VIRTIO_STATUS_DRIVER_OK) &&
           !(m->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

static void raise_vring_irq(struct mmio_dev *m, unsigned q)
{
    if (vq_should_notify(&m->vq[q])) {
        m->isr |= VIRTIO_MMIO_INT_VRING;
        m->vring_queues |= 1u << q;
        m->ctr.interrupts++;
        update_irq(m);
    }
}

/* Interrupt for every queue with new used entries, if the device still serves it. */
static void raise_completed(struct mmio_dev *m)
{
    for (unsigned q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++) {
        if (!(m->completed_queues & (1u << q)))
            continue;
        m->completed_queues &= ~(1u << q);
        if (live(m) && m->vq[q].started)
            raise_vring_irq(m, q);
    }
}

static struct mmio_req *free_slot(struct mmio_dev *m)
{
    for (unsigned i = 0; i < VDEV_MAX_PENDING; i++)
        if (!m->req[i].busy)
            return &m->req[i];
    return NULL;
}

/*
 * Unmap (grant-copy mode: copy back, then release), then publish: the driver
 * may revoke its grants once it sees the entry.  Breaks the device and
 * returns -1 when the guest's grants or used ring refuse.
 */
static int publish_chain(struct mmio_dev *m, struct mmio_req *r, uint32_t written)
{
    struct virtq *vq = &m->vq[r->queue];
    r->busy = false;
    if ((m->stopping_queues & (1u << r->queue)) || !live(m) || !vq->started) {
        gmem_unmap(m->gmem, &r->sg);
        return 0;
    }
    if (gmem_finish(m->gmem, &r->sg) < 0) {
        mmio_fail_device(m, "device-writable buffer not granted writable");
        return -1;
    }
    saved_publishing(m->saved, r->queue, r->head, (uint16_t)(vq->used_idx + 1));
    if (vq_push_used(vq, r->head, written) < 0) {
        mmio_fail_device(m, "used ring not writable");
        return -1;
    }
    saved_published(m->saved, r->queue);
    m->ctr.chains++;
    m->ctr.chains_by_queue[r->queue]++;
    m->completed_queues |= 1u << r->queue;
    return 0;
}

/*
 * A batched chain is done.  Its used entry waits until every chain of its
 * batch is: the last one unmaps the batch, then publishes each, in the
 * order they were taken (those whose device and queue still serve; the
 * others are only released).  Only the members are visited, not every slot:
 * a batch of one costs one publish, for the process and for its proof.
 */
static int batch_member_done(struct mmio_dev *m, struct mmio_req *r, unsigned bi,
                             uint32_t written)
{
    struct mmio_batch *b = &m->batch[bi];
    r->done = true;
    r->written = written;
    if (--b->pending)
        return 0;
    gmem_unmap_batch(m->gmem, &b->maps);
    /* Copied before the batch is free: a free batch may be taken again,
     * and publishing must not depend on whether anything it calls does. */
    uint8_t member[MMIO_BATCH_MAX];
    unsigned n = b->n;
    memcpy(member, b->member, sizeof(member));
    b->busy = false;
    b->n = 0;
    int rc = 0;
    for (unsigned j = 0; j < n; j++) {
        struct mmio_req *x = &m->req[member[j]];
        if (!x->busy || x->batch != (int16_t)bi || !x->done)
            continue;
        x->batch = -1; /* its sg owns no mapping: it is only published */
        x->done = false;
        if (publish_chain(m, x, x->written) < 0)
            rc = -1;
    }
    return rc;
}

/*
 * A chain the device completed later ends as its slot says, batched or not
 * (never recursive: a bounded proof).  Where the caller knows which, it
 * calls that directly: the slot's batch index is then never read back.  The
 * index is tested where it is used, so an analyser sees the bound.
 */
static int finish_chain(struct mmio_dev *m, struct mmio_req *r, uint32_t written)
{
    int16_t bi = r->batch;
    if (bi >= 0 && (unsigned)bi < VDEV_MAX_PENDING)
        return batch_member_done(m, r, (unsigned)bi, written);
    return publish_chain(m, r, written);
}

static void complete_chain(void *opaque, void *tag, int result, uint32_t written)
{
    struct mmio_dev *m = opaque;
    struct mmio_req *r = tag;
    /* The device hands back only tags it was given: a slot in flight. */
    if (r < m->req || r >= m->req + VDEV_MAX_PENDING || !r->busy || r->done)
        return;
    m->inflight--;
    if (result < 0) {
        /* Broken first: finishing then releases without publishing. */
        mmio_fail_device(m, "request violates the device protocol");
        finish_chain(m, r, 0);
    } else {
        finish_chain(m, r, written);
    }
}

static void count_inflight(struct mmio_dev *m)
{
    if (m->inflight + 1u > m->ctr.inflight_peak)
        m->ctr.inflight_peak = m->inflight + 1u; /* this one counts while it is served */
    if (m->inflight + 1u > m->ctr.inflight_peak_window)
        m->ctr.inflight_peak_window = m->inflight + 1u;
}

static const char *map_error(int rc)
{
    return rc == -EINVAL ? "buffer address is not a grant address"
         : rc == -EFAULT ? "buffer not granted or out of range"
         : rc == -EACCES ? "buffer outside the announced pool"
                         : "chain maps more pages than the device allows";
}

/* Map and hand over one chain: 1 done or pending, 0 wait for the chains in flight, <0 broken. */
static int start_chain(struct mmio_dev *m, unsigned q, struct mmio_req *r,
                       const struct vq_chain *chain)
{
    int rc = gmem_map_data(m->gmem, chain->buf, chain->n, &r->sg);
    if (rc == -EBUSY && m->inflight > 0)
        return 0;
    if (rc < 0) {
        mmio_fail_device(m, map_error(rc));
        return rc;
    }
    r->busy = true;
    r->batch = -1;
    r->queue = (uint8_t)q;
    r->head = chain->head;
    count_inflight(m);
    uint32_t written = 0;
    rc = m->ops->handle_chain(m->dev, q, &r->sg, r, &written);
    if (rc == VDEV_PENDING && m->ops->poll) {
        m->inflight++;
        return 1;
    }
    if (rc < 0 || rc == VDEV_PENDING) {
        gmem_unmap(m->gmem, &r->sg);
        r->busy = false;
        mmio_fail_device(m, "request violates the device protocol");
        return -EPROTO;
    }
    return publish_chain(m, r, written) < 0 ? -EFAULT : 1;
}

/*
 * Chains taken from one queue, slots reserved, not mapped yet.  Slots by
 * index, not by pointer: an unused entry is still a slot (0), never NULL,
 * which is what lets the proof (tests/prove/) see every access in bounds.
 */
_Static_assert(VDEV_MAX_PENDING <= 256, "a slot index fits in a byte");
struct batch_build {
    uint8_t slot[MMIO_BATCH_MAX];
    unsigned n;
    uint32_t pages;
};

/* Give the reserved slots back: nothing of theirs was mapped or handed over. */
static void batch_drop(struct mmio_dev *m, struct batch_build *bb)
{
    for (unsigned j = 0; j < bb->n; j++)
        m->req[bb->slot[j]].busy = false;
    bb->n = 0;
    bb->pages = 0;
}

/*
 * Map the collected chains of queue q in one call per direction and hand
 * each to the device.  1, or <0 once the device is broken (a chain it could
 * not map or serve).  A chain that completes at once is held like any
 * member until the batch is done.
 */
static int batch_start(struct mmio_dev *m, unsigned q, struct batch_build *bb)
{
    unsigned k = bb->n, bi = 0;
    if (k == 0)
        return 1;
    /* A busy batch holds a busy slot outside this one: one is always free.
     * The bound is tested anyway, where the index is used. */
    while (bi < VDEV_MAX_PENDING && m->batch[bi].busy)
        bi++;
    if (bi == VDEV_MAX_PENDING) {
        batch_drop(m, bb);
        mmio_fail_device(m, "no batch free (a transport bug)");
        return -EBUSY;
    }
    struct mmio_batch *b = &m->batch[bi];
    struct gmem_batch_chain c[MMIO_BATCH_MAX];
    for (unsigned j = 0; j < k; j++) {
        const struct vq_chain *ch = &m->chain[bb->slot[j]];
        c[j] = (struct gmem_batch_chain){ .bufs = ch->buf, .n = ch->n,
                                          .sg = &m->req[bb->slot[j]].sg };
    }
    int rc = gmem_map_batch(m->gmem, c, k, &b->maps);
    if (rc < 0) {
        batch_drop(m, bb);
        mmio_fail_device(m, map_error(rc));
        return rc;
    }
    b->busy = true;
    b->pending = k;
    b->n = k;
    /* The members, kept by the batch: bb is reused by the next batch, and
     * the last completion publishes them. */
    memcpy(b->member, bb->slot, sizeof(b->member));
    m->ctr.batches++;
    for (unsigned j = 0; j < k; j++) {
        struct mmio_req *r = &m->req[b->member[j]];
        r->done = false;
        r->batch = (int16_t)bi;
        r->queue = (uint8_t)q;
        r->head = m->chain[b->member[j]].head;
    }
    bb->n = 0;
    bb->pages = 0;
    for (unsigned j = 0; j < k; j++) {
        struct mmio_req *r = &m->req[b->member[j]];
        if (!live(m) || (m->stopping_queues & (1u << q)) || !m->vq[q].started) {
            batch_member_done(m, r, bi, 0); /* broken while handing over: released only */
            continue;
        }
        count_inflight(m);
        uint32_t written = 0;
        rc = m->ops->handle_chain(m->dev, q, &r->sg, r, &written);
        if (rc == VDEV_PENDING && m->ops->poll) {
            m->inflight++;
        } else if (rc < 0 || rc == VDEV_PENDING) {
            mmio_fail_device(m, "request violates the device protocol");
            batch_member_done(m, r, bi, 0);
        } else {
            batch_member_done(m, r, bi, written);
        }
    }
    return live(m) ? 1 : -EPROTO;
}

/*
 * Take chain into the batch being built (its slot r reserved), or say why
 * not: 1 taken, 0 it waits for the chains in flight (held in stalled[q]),
 * <0 the device broke.  A chain that would not fit beside the batch sends
 * the batch first.
 */
static int batch_add(struct mmio_dev *m, unsigned q, struct batch_build *bb, struct mmio_req *r,
                     const struct vq_chain *chain)
{
    uint32_t pages;
    int rc = gmem_data_pages(m->gmem, chain->buf, chain->n, &pages);
    if (rc < 0) {
        batch_drop(m, bb);
        mmio_fail_device(m, map_error(rc));
        return rc;
    }
    if (pages > gmem_data_room(m->gmem) - bb->pages) {
        rc = batch_start(m, q, bb);
        if (rc < 0)
            return rc;
        if (pages > gmem_data_room(m->gmem)) {
            /* Not alone either, so chains are in flight: wait for them. */
            if (chain != &m->stalled[q])
                m->stalled[q] = *chain;
            return 0;
        }
    }
    r->busy = true; /* reserved */
    r->done = false;
    r->batch = -1;
    bb->slot[bb->n++] = (uint8_t)(r - m->req);
    bb->pages += pages;
    return bb->n == MMIO_BATCH_MAX ? batch_start(m, q, bb) : 1;
}

/*
 * Serve the available chains of queue q, at most the queue's size of them,
 * then interrupt if the driver wants it.  A guest that keeps publishing would
 * otherwise hold the process here: what is left is deferred, and the event
 * loop comes back to it (mmio_run_deferred) after serving everything else.
 * Interrupt suppression is checked after each bounded batch, so the 16-bit
 * used-event comparison never spans more than a ring's worth of completions.
 * A chain that finds no free slot, or does not fit beside those in flight,
 * waits for a completion (mmio_poll_device resumes the queue).
 *
 * Where each request's data is mapped (grant without a pool, foreign), the
 * chains found here are mapped together, one call per direction for up to
 * MMIO_BATCH_MAX of them, instead of one or two calls each.
 */
static void process_queue(struct mmio_dev *m, unsigned q)
{
    struct virtq *vq = &m->vq[q];
    bool batching = gmem_can_batch(m->gmem);
    struct batch_build bb = { .n = 0 };
    unsigned budget = vq->size;
    m->deferred_queues &= ~(1u << q);
    m->waiting_queues &= ~(1u << q);
    for (int pass = 0; pass < 2; pass++) {
        for (;;) {
            if (budget == 0) {
                if (batch_start(m, q, &bb) < 0)
                    return;
                m->deferred_queues |= 1u << q;
                m->ctr.deferrals++;
                goto notify;
            }
            struct mmio_req *r = free_slot(m);
            if (!r && bb.n) {
                if (batch_start(m, q, &bb) < 0)
                    return;
                continue; /* a synchronous device may have freed slots */
            }
            if (!r)
                goto wait;
            struct vq_chain *chain = batching ? &m->chain[r - m->req] : &m->stalled[q];
            if (!m->has_stalled[q]) {
                int rc = vq_pop_chain(vq, m->gmem, chain);
                if (rc == 0)
                    break;
                if (rc < 0) {
                    batch_drop(m, &bb);
                    mmio_fail_device(m, "malformed ring or descriptor chain");
                    return;
                }
                saved_took(m->saved, q, chain->head);
                budget--;
            } else if (batching) {
                *chain = m->stalled[q];
            }
            m->has_stalled[q] = false;
            int rc = batching ? batch_add(m, q, &bb, r, chain) : start_chain(m, q, r, chain);
            if (rc < 0)
                return;
            if (rc == 0) {
                m->has_stalled[q] = true;
                goto wait;
            }
        }
        if (batch_start(m, q, &bb) < 0)
            return;
        /* Second pass closes the race with a driver that added buffers
         * before it could see the new avail_event. */
        if (!vq->event_idx || vq_publish_avail_event(vq) < 0)
            break;
    }
    goto notify;
wait:
    m->waiting_queues |= 1u << q;
    m->ctr.stalls++;
notify:
    /* The kick may complete chains (a refused submission), on any queue. */
    if (m->ops->kick)
        m->ops->kick(m->dev);
    m->completed_queues |= 1u << q;
    raise_completed(m);
}

static void save_regs(struct mmio_dev *m)
{
    struct saved_regs *s = saved_cur(m->saved);
    if (s)
        mmio_save_regs(m, s);
}

void mmio_save_regs(const struct mmio_dev *m, struct saved_regs *s)
{
    s->status = m->status;
    s->isr = m->isr;
    s->config_generation = m->config_generation;
    s->dev_features_sel = m->dev_features_sel;
    s->drv_features_sel = m->drv_features_sel;
    s->queue_sel = m->queue_sel;
    s->drv_features = m->drv_features;
    s->pool_addr = m->pool_addr;
    s->pool_pages = m->pool_pages;
    for (unsigned q = 0; q < VIRTIO_MMIO_MAX_QUEUES && q < SAVED_QUEUES; q++) {
        const struct virtq *vq = &m->vq[q];
        struct saved_queue *sq = &s->q[q];
        sq->size = vq->size;
        sq->desc = vq->desc_addr;
        sq->avail = vq->avail_addr;
        sq->used = vq->used_addr;
        sq->ready = vq->started;
    }
}

static void poll_device(struct mmio_dev *m);

void mmio_poll_device(struct mmio_dev *m)
{
    poll_device(m);
    save_regs(m);
}

static void poll_device(struct mmio_dev *m)
{
    if (!m->ops->poll)
        return;
    m->ops->poll(m->dev, false);
    raise_completed(m);
    /* Round robin: the queue resumed first this time goes last next time. */
    m->resume_from = (m->resume_from + 1) % VIRTIO_MMIO_MAX_QUEUES;
    for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
        unsigned q = (m->resume_from + i) % VIRTIO_MMIO_MAX_QUEUES;
        if ((m->waiting_queues & (1u << q)) && live(m) && m->vq[q].started)
            process_queue(m, q);
    }
}

bool mmio_has_deferred(const struct mmio_dev *m)
{
    return m->deferred_queues != 0;
}

void mmio_run_deferred(struct mmio_dev *m)
{
    for (unsigned q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++)
        if ((m->deferred_queues & (1u << q)) && live(m) && m->vq[q].started)
            process_queue(m, q);
        else
            m->deferred_queues &= ~(1u << q);
    save_regs(m);
}

int mmio_resubmit(struct mmio_dev *m, unsigned q, uint16_t head)
{
    if (q >= VIRTIO_MMIO_MAX_QUEUES)
        return -EPROTO; /* before &m->vq[q] is even formed */
    struct virtq *vq = &m->vq[q];
    for (;;) {
        if (!live(m) || !vq->started)
            return -EPROTO;
        struct mmio_req *r = free_slot(m);
        if (r) {
            int rc = vq_chain_at(vq, m->gmem, head, &m->stalled[q]);
            if (rc < 0) {
                mmio_fail_device(m, "malformed chain among those taken before the restart");
                return rc;
            }
            rc = start_chain(m, q, r, &m->stalled[q]);
            if (rc != 0)
                return rc < 0 ? rc : 0;
        }
        /* No slot, or no room beside the chains in flight: they finish first. */
        if (!m->inflight || !m->ops->poll) {
            mmio_fail_device(m, "no room for the chains taken before the restart");
            return -EBUSY;
        }
        m->ops->poll(m->dev, true);
    }
}

void mmio_restart_queues(struct mmio_dev *m)
{
    for (unsigned q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++)
        if (live(m) && m->vq[q].started)
            process_queue(m, q);
    if (live(m)) {
        m->isr |= VIRTIO_MMIO_INT_VRING;
        for (unsigned q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++)
            if (m->vq[q].started)
                m->vring_queues |= 1u << q;
        m->ctr.interrupts++;
    }
    /*
     * Set the line whatever it was: a process killed between an ISR change
     * and its set_irq may have left it high with nothing to acknowledge (a
     * level interrupt the guest can never clear) or low with work pending.
     */
    m->irq_level = m->isr == 0;
    update_irq(m);
    save_regs(m);
}

/*
 * DRIVER_OK with an announced pool: map it, once.  The rings stay outside
 * it: the pool is mapped read-write for as long as the device is live, and
 * the descriptor and driver areas are the driver's to keep read-only.
 */
static void announce_pool(struct mmio_dev *m)
{
    int rc = gmem_pool_announce(m->gmem, m->pool_addr, m->pool_pages);
    for (unsigned q = 0; rc == 0 && q < m->ops->num_queues; q++) {
        struct gmem_buf areas[3];
        if (!m->vq[q].started)
            continue;
        vq_ring_areas(&m->vq[q], areas);
        for (unsigned i = 0; i < 3; i++)
            if (gmem_pool_overlaps(m->gmem, &areas[i]))
                rc = -EEXIST;
    }
    if (rc < 0) {
        mmio_fail_device(m, rc == -EFAULT   ? "announced pool not granted"
                            : rc == -EEXIST ? "announced pool overlaps a queue's rings"
                                            : "announced pool invalid (address or size)");
        return;
    }
    /* For whoever compares this device's map calls with the pool it was told. */
    vg_info("announced grant pool mapped: %u pages from grant ref %llu",
            (unsigned)m->pool_pages,
            (unsigned long long)((m->pool_addr & ~GMEM_GRANT_FLAG) >> VG_PAGE_SHIFT));
}

static void write_status(struct mmio_dev *m, uint32_t val)
{
    if (val == 0) {
        device_reset(m);
        return;
    }
    /* NEEDS_RESET is the device's to set; the driver cannot set or clear it. */
    uint32_t nv = (val & ~VIRTIO_STATUS_NEEDS_RESET) | (m->status & VIRTIO_STATUS_NEEDS_RESET);
    if (m->status & ~nv) {
        vg_log_guest("status 0x%x clears bits of 0x%x without a reset", val, m->status);
        return;
    }
    uint32_t added = nv & ~m->status;
    if (added & VIRTIO_STATUS_FEATURES_OK) {
        uint64_t offered = mmio_device_features(m);
        /* GRANT_ADDRESSING needs ACCESS_PLATFORM: offered only where that is required. */
        bool ok = !(m->drv_features & ~offered) &&
                  (m->drv_features & (1ull << VIRTIO_F_VERSION_1)) &&
                  (!m->require_access_platform ||
                   (m->drv_features & (1ull << VIRTIO_F_ACCESS_PLATFORM)));
        if (!ok) {
            vg_log_guest("refusing features 0x%llx", (unsigned long long)m->drv_features);
            nv &= ~VIRTIO_STATUS_FEATURES_OK;
        } else {
            /*
             * GRANT_POOL without GRANT_ADDRESSING breaks the draft's
             * dependency; the first frontend series (frontend-linux/v1)
             * accepts it so, and is served as before, for comparison.
             */
            if ((m->drv_features & (1ull << VIRTIO_F_GRANT_POOL)) &&
                !(m->drv_features & (1ull << VIRTIO_F_GRANT_ADDRESSING)))
                vg_log_guest("driver accepts GRANT_POOL without GRANT_ADDRESSING: "
                             "served as a pool driver (v1 frontends do this)");
            m->ops->set_features(m->dev, m->drv_features);
            gmem_persist_enable(m->gmem, m->drv_features & (1ull << VIRTIO_F_GRANT_POOL));
        }
    }
    if ((added & VIRTIO_STATUS_DRIVER_OK) && !(nv & VIRTIO_STATUS_FEATURES_OK)) {
        vg_log_guest("DRIVER_OK before FEATURES_OK");
        nv &= ~VIRTIO_STATUS_DRIVER_OK;
    }
    m->status = nv;
    if ((added & nv & VIRTIO_STATUS_DRIVER_OK) && m->pool_pages && live(m))
        announce_pool(m);
}

/* Queue layout registers are writable only between FEATURES_OK and QueueReady. */
static struct virtq *configurable_queue(struct mmio_dev *m, const char *reg)
{
    if (m->queue_sel >= m->ops->num_queues || !(m->status & VIRTIO_STATUS_FEATURES_OK) ||
        (m->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) ||
        m->vq[m->queue_sel].started) {
        vg_log_guest("ignored %s write (queue %u, status 0x%x)", reg, m->queue_sel, m->status);
        return NULL;
    }
    return &m->vq[m->queue_sel];
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
    if (high)
        *v = (*v & 0xffffffffull) | ((uint64_t)val << 32);
    else
        *v = (*v & ~0xffffffffull) | val;
}

/*
 * The pool is announced before DRIVER_OK, once per reset.  Without the
 * feature the registers are not there: ignored, whatever the status.
 */
static void write_pool(struct mmio_dev *m, uint64_t off, uint32_t val)
{
    if (!(m->status & VIRTIO_STATUS_FEATURES_OK) ||
        !(m->drv_features & (1ull << VIRTIO_F_GRANT_POOL))) {
        vg_log_guest("ignored GrantPool write (status 0x%x, features 0x%llx)", m->status,
                     (unsigned long long)m->drv_features);
        return;
    }
    if (m->status & VIRTIO_STATUS_DRIVER_OK) {
        mmio_fail_device(m, "GrantPool written while the device is live");
        return;
    }
    if (off == VIRTIO_MMIO_GRANT_POOL_PAGES)
        m->pool_pages = val;
    else
        set_half(&m->pool_addr, off == VIRTIO_MMIO_GRANT_POOL_HIGH, val);
}

static void write_queue_ready(struct mmio_dev *m, uint32_t val)
{
    if (val == 0) {
        if (m->queue_sel < m->ops->num_queues) {
            /* The queue's chains in flight point into its rings' grants. */
            drain(m, 1u << m->queue_sel);
            m->has_stalled[m->queue_sel] = false;
            m->waiting_queues &= ~(1u << m->queue_sel);
            vq_stop(&m->vq[m->queue_sel], m->gmem);
            poll_device(m); /* the other queues' completions, if any */
        }
        return;
    }
    struct virtq *vq = configurable_queue(m, "QueueReady");
    if (!vq)
        return;
    vq->event_idx = m->drv_features & (1ull << VIRTIO_F_EVENT_IDX);
    vq->indirect = m->drv_features & (1ull << VIRTIO_F_INDIRECT_DESC);
    int rc = vq_start(vq, m->gmem);
    if (rc < 0)
        mmio_fail_device(m, rc == -EINVAL ? "queue size or ring address invalid"
                                          : "ring areas not granted or out of range");
    else
        saved_queue_started(m->saved, m->queue_sel);
}

static void reg_write(struct mmio_dev *m, uint64_t off, uint32_t val)
{
    struct virtq *vq;
    switch (off) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        m->dev_features_sel = val;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        m->drv_features_sel = val;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        if (!(m->status & VIRTIO_STATUS_DRIVER) || (m->status & VIRTIO_STATUS_FEATURES_OK) ||
            m->drv_features_sel > 1) {
            vg_log_guest("ignored DriverFeatures write (sel %u, status 0x%x)",
                         m->drv_features_sel, m->status);
            break;
        }
        set_half(&m->drv_features, m->drv_features_sel == 1, val);
        break;
    case VIRTIO_MMIO_QUEUE_SEL:
        m->queue_sel = val;
        break;
    case VIRTIO_MMIO_QUEUE_NUM:
        if (!(vq = configurable_queue(m, "QueueNum")))
            break;
        if (val == 0 || val > m->ops->queue_size_max || (val & (val - 1))) {
            mmio_fail_device(m, "queue size not a power of two within QueueNumMax");
            break;
        }
        vq->size = (uint16_t)val;
        break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        if ((vq = configurable_queue(m, "QueueDesc")))
            set_half(&vq->desc_addr, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
        break;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
        if ((vq = configurable_queue(m, "QueueDriver")))
            set_half(&vq->avail_addr, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, val);
        break;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        if ((vq = configurable_queue(m, "QueueDevice")))
            set_half(&vq->used_addr, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, val);
        break;
    case VIRTIO_MMIO_QUEUE_READY:
        write_queue_ready(m, val);
        break;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        if (!live(m) || val >= m->ops->num_queues || !m->vq[val].started) {
            vg_log_guest("ignored notify of queue %u (status 0x%x)", val, m->status);
            break;
        }
        m->ctr.notifies++;
        process_queue(m, val);
        break;
    case VIRTIO_MMIO_INTERRUPT_ACK:
        m->isr &= ~val;
        update_irq(m);
        break;
    case VIRTIO_MMIO_STATUS:
        write_status(m, val);
        break;
    case VIRTIO_MMIO_GRANT_POOL_LOW:
    case VIRTIO_MMIO_GRANT_POOL_HIGH:
    case VIRTIO_MMIO_GRANT_POOL_PAGES:
        write_pool(m, off, val);
        break;
    case VIRTIO_MMIO_SHM_SEL:
    case VIRTIO_MMIO_QUEUE_RESET:
        break; /* no shared memory regions; RING_RESET is not offered */
    default:
        vg_log_guest("write to read-only or unknown register 0x%llx", (unsigned long long)off);
        break;
    }
}

static uint32_t reg_read(struct mmio_dev *m, uint64_t off)
{
    /* One test of the index, where it is used: an analyser sees the bound. */
    struct virtq *vq = m->queue_sel < m->ops->num_queues ? &m->vq[m->queue_sel] : NULL;
    uint64_t feat;
    switch (off) {
    case VIRTIO_MMIO_MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION:
        return 2;
    case VIRTIO_MMIO_DEVICE_ID:
        return m->ops->device_id;
    case VIRTIO_MMIO_VENDOR_ID:
        return VIRTIO_MMIO_VENDOR;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        feat = mmio_device_features(m);
        return m->dev_features_sel == 0 ? (uint32_t)feat
               : m->dev_features_sel == 1 ? (uint32_t)(feat >> 32)
                                          : 0;
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
        return vq ? m->ops->queue_size_max : 0; /* 0: no such queue */
    case VIRTIO_MMIO_QUEUE_NUM:
        return vq ? vq->size : 0;
    case VIRTIO_MMIO_QUEUE_READY:
        return vq ? vq->started : 0;
    case VIRTIO_MMIO_INTERRUPT_STATUS:
        return m->isr;
    case VIRTIO_MMIO_STATUS:
        return m->status;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
        return vq ? (uint32_t)vq->desc_addr : 0;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        return vq ? (uint32_t)(vq->desc_addr >> 32) : 0;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
        return vq ? (uint32_t)vq->avail_addr : 0;
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
        return vq ? (uint32_t)(vq->avail_addr >> 32) : 0;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
        return vq ? (uint32_t)vq->used_addr : 0;
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        return vq ? (uint32_t)(vq->used_addr >> 32) : 0;
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:
        return 0xffffffffu; /* "no such region" */
    case VIRTIO_MMIO_GRANT_POOL_LOW:
        return (uint32_t)m->pool_addr;
    case VIRTIO_MMIO_GRANT_POOL_HIGH:
        return (uint32_t)(m->pool_addr >> 32);
    case VIRTIO_MMIO_GRANT_POOL_PAGES:
        return m->pool_pages;
    case VIRTIO_MMIO_CONFIG_GENERATION:
        return m->config_generation;
    default:
        vg_log_guest("read of write-only or unknown register 0x%llx", (unsigned long long)off);
        return 0;
    }
}

void mmio_access(struct mmio_dev *m, uint64_t off, uint32_t size, bool is_write, uint64_t *val)
{
    if (size != 1 && size != 2 && size != 4 && size != 8) {
        vg_log_guest("MMIO access of size %u at 0x%llx", size, (unsigned long long)off);
        goto bad;
    }
    if (off >= VIRTIO_MMIO_CONFIG) {
        uint8_t buf[8] = { 0 };
        uint64_t coff = off - VIRTIO_MMIO_CONFIG;
        int rc;
        if (coff > UINT32_MAX)
            goto bad;
        if (is_write) {
            uint64_t v = *val;
            memcpy(buf, &v, size); /* little-endian host, as on Arm64 and x86 */
            rc = m->ops->config_write(m->dev, (uint32_t)coff, buf, size);
        } else {
            rc = m->ops->config_read(m->dev, (uint32_t)coff, buf, size);
            uint64_t v = 0;
            memcpy(&v, buf, size);
            *val = v;
        }
        if (rc < 0) {
            vg_log_guest("config access beyond the device's config at 0x%llx",
                         (unsigned long long)coff);
            goto bad;
        }
        return;
    }
    if (size != 4 || (off & 3)) {
        vg_log_guest("register access of size %u at 0x%llx", size, (unsigned long long)off);
        goto bad;
    }
    if (is_write) {
        reg_write(m, off, (uint32_t)*val);
        save_regs(m); /* before the guest sees the write done */
    } else {
        *val = reg_read(m, off);
    }
    return;
bad:
    if (!is_write)
        *val = 0;
}
