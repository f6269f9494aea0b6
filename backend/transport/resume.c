/* SPDX-License-Identifier: MIT */
#include "transport/resume.h"

#include <string.h>

#include "common/log.h"

#define DRIVER_BITS (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER)

static void wr(struct mmio_dev *m, uint64_t off, uint32_t val)
{
    uint64_t v = val;
    mmio_access(m, off, 4, true, &v);
}

static void wr64(struct mmio_dev *m, uint64_t lo_off, uint64_t val)
{
    wr(m, lo_off, (uint32_t)val);
    wr(m, lo_off + 4, (uint32_t)(val >> 32));
}

/* The driver's writes, in the order a driver makes them; false if any was refused. */
static bool replay_registers(struct mmio_dev *m, const struct saved_regs *s)
{
    uint32_t want = s->status & ~VIRTIO_STATUS_NEEDS_RESET;
    if (want & DRIVER_BITS)
        wr(m, VIRTIO_MMIO_STATUS, want & DRIVER_BITS);
    if (want & VIRTIO_STATUS_DRIVER) {
        wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
        wr(m, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)s->drv_features);
        wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
        wr(m, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(s->drv_features >> 32));
    }
    if (want & VIRTIO_STATUS_FEATURES_OK)
        wr(m, VIRTIO_MMIO_STATUS, want & (DRIVER_BITS | VIRTIO_STATUS_FEATURES_OK));
    for (unsigned q = 0; q < m->ops->num_queues && (want & VIRTIO_STATUS_FEATURES_OK); q++) {
        const struct saved_queue *sq = &s->q[q];
        wr(m, VIRTIO_MMIO_QUEUE_SEL, q);
        if (sq->size)
            wr(m, VIRTIO_MMIO_QUEUE_NUM, sq->size);
        wr64(m, VIRTIO_MMIO_QUEUE_DESC_LOW, sq->desc);
        wr64(m, VIRTIO_MMIO_QUEUE_DRIVER_LOW, sq->avail);
        wr64(m, VIRTIO_MMIO_QUEUE_DEVICE_LOW, sq->used);
        if (sq->ready)
            wr(m, VIRTIO_MMIO_QUEUE_READY, 1);
    }
    if ((want & VIRTIO_STATUS_FEATURES_OK) && (s->pool_addr || s->pool_pages)) {
        wr64(m, VIRTIO_MMIO_GRANT_POOL_LOW, s->pool_addr);
        wr(m, VIRTIO_MMIO_GRANT_POOL_PAGES, s->pool_pages);
    }
    if (want)
        wr(m, VIRTIO_MMIO_STATUS, want);
    wr(m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, s->dev_features_sel);
    wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, s->drv_features_sel);
    wr(m, VIRTIO_MMIO_QUEUE_SEL, s->queue_sel);

    /* Everything must have landed as saved; the other queues must have stayed unset. */
    if (m->status != want || m->drv_features != s->drv_features ||
        m->pool_addr != s->pool_addr || m->pool_pages != s->pool_pages)
        return false;
    for (unsigned q = 0; q < SAVED_QUEUES; q++) {
        const struct saved_queue *sq = &s->q[q];
        const struct virtq *vq = &m->vq[q];
        if (vq->size != sq->size || vq->desc_addr != sq->desc || vq->avail_addr != sq->avail ||
            vq->used_addr != sq->used || vq->started != (sq->ready != 0))
            return false;
    }
    return true;
}

/*
 * Queue q's used index and chains in flight, from the saved copy and the
 * guest's used index; false if they do not fit together.
 */
static bool restore_positions(struct virtq *vq, const struct saved_queue *sq, uint8_t *taken,
                              uint16_t *used)
{
    uint16_t guest;
    if (vq_read_used_idx(vq, &guest) < 0)
        return false;
    memcpy(taken, sq->taken, VQ_MAX_SIZE);
    *used = sq->used_idx;
    if (sq->pub_set) {
        /* A publish was cut: did the guest's index move?  Then finish it, as saved.c would. */
        if (sq->pub_head >= vq->size)
            return false;
        if (guest == sq->pub_target) {
            if (sq->pub_taken == 0)
                return false;
            taken[sq->pub_head] = (uint8_t)(sq->pub_taken - 1);
            *used = sq->pub_target;
        } else if (guest == (uint16_t)(sq->pub_target - 1)) {
            taken[sq->pub_head] = sq->pub_taken;
        } else {
            return false;
        }
    }
    if (guest != *used)
        return false;
    unsigned sum = 0;
    for (unsigned h = 0; h < VQ_MAX_SIZE; h++) {
        if (h >= vq->size && taken[h])
            return false;
        sum += taken[h];
    }
    if (sum > vq->size)
        return false;
    vq->used_idx = *used;
    vq->signalled_used = *used;
    vq->last_avail = (uint16_t)(*used + sum);
    return true;
}

/*
 * The other slot rebuilt from m (and, accepted, the queues' positions: used
 * index and chains taken), then made current with one store: a kill before
 * it leaves the old state current, to be read again by the next replacement.
 * From then on m writes the area.
 */
static void switch_slot(struct mmio_dev *m, struct saved_area *a, uint32_t slot,
                        const uint16_t *used, uint8_t (*taken)[VQ_MAX_SIZE])
{
    struct saved_regs *n = &a->s[(slot & 1) ^ 1];
    memset(n, 0, sizeof(*n));
    mmio_save_regs(m, n);
    for (unsigned q = 0; used && q < SAVED_QUEUES; q++) {
        n->q[q].used_idx = used[q];
        memcpy(n->q[q].taken, taken[q], VQ_MAX_SIZE);
    }
    SAVED_ORDER();
    a->magic = SAVED_MAGIC;
    SAVED_ORDER();
    a->slot = (slot & 1) ^ 1;
    SAVED_ORDER();
    m->saved = a;
}

/* The state becomes this process's, broken as it is (refused again by the next one). */
static void refuse(struct mmio_dev *m, struct saved_area *a, uint32_t slot,
                   struct resume_result *res, const char *why)
{
    res->refused = true;
    mmio_fail_device(m, why);
    /*
     * Always interrupt: the replay may have broken the device before it
     * reached DRIVER_OK (so mmio_fail_device stayed silent), and a driver
     * the previous process served is waiting on a device it believes live.
     */
    mmio_notify_config(m);
    switch_slot(m, a, slot, NULL, NULL);
}

void resume_device(struct mmio_dev *m, struct saved_area *a, struct resume_result *res)
{
    *res = (struct resume_result){ 0 };
    /* One fetch into private memory; only the copy is used. */
    struct saved_regs s;
    uint32_t magic = a->magic, slot = a->slot;
    memcpy(&s, &a->s[slot & 1], sizeof(s));
    m->saved = NULL; /* the replay must not overwrite what it reads */
    if (magic != SAVED_MAGIC || slot > 1) {
        refuse(m, a, slot, res, "the state saved before the restart is unreadable");
        return;
    }
    if (!replay_registers(m, &s)) {
        refuse(m, a, slot, res, "the state saved before the restart was refused");
        return;
    }
    m->config_generation = s.config_generation;
    if (s.status & VIRTIO_STATUS_NEEDS_RESET) {
        refuse(m, a, slot, res, "it needed a reset before the restart");
        return;
    }
    uint8_t taken[SAVED_QUEUES][VQ_MAX_SIZE];
    uint16_t used[SAVED_QUEUES] = { 0 };
    for (unsigned q = 0; q < SAVED_QUEUES; q++) {
        memset(taken[q], 0, VQ_MAX_SIZE);
        if (m->vq[q].started && !restore_positions(&m->vq[q], &s.q[q], taken[q], &used[q])) {
            refuse(m, a, slot, res, "the ring position saved before the restart does not match the "
                              "guest's used ring");
            return;
        }
    }

    m->isr = s.isr & (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
    switch_slot(m, a, slot, used, taken);

    for (unsigned q = 0; q < SAVED_QUEUES; q++)
        for (unsigned h = 0; h < VQ_MAX_SIZE; h++)
            for (unsigned k = 0; k < taken[q][h]; k++) {
                if (mmio_resubmit(m, q, (uint16_t)h) < 0)
                    return; /* broken: mmio_resubmit said why */
                res->chains++;
            }
    mmio_restart_queues(m);
}
