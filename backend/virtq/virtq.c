/* SPDX-License-Identifier: MIT */
#define _DEFAULT_SOURCE
#include "virtq/virtq.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "common/checked.h"
#include "common/log.h"

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

static int read_le16(const struct gmem_span *s, uint64_t off, uint16_t *v)
{
    uint16_t raw;
    int rc = gmem_span_read(s, off, &raw, sizeof(raw));
    if (rc < 0)
        return rc; /* raw was never written: *v stays as it was */
    *v = le16toh(raw);
    return 0;
}

static int read_desc(const struct gmem_span *table, uint16_t idx, struct vring_desc *d)
{
    struct vring_desc raw;
    int rc = gmem_span_read(table, (uint64_t)idx * sizeof(raw), &raw, sizeof(raw));
    if (rc < 0)
        return rc;
    d->addr = le64toh(raw.addr);
    d->len = le32toh(raw.len);
    d->flags = le16toh(raw.flags);
    d->next = le16toh(raw.next);
    return 0;
}

/* Walk one table (the ring's or an indirect one) from idx, appending to c. */
static int walk(struct virtq *vq, struct gmem *g, const struct gmem_span *table,
                uint32_t table_size, uint16_t idx, bool nested, struct vq_chain *c,
                bool *seen_write)
{
    for (uint32_t steps = 0;; steps++) {
        struct vring_desc d = { 0 }; /* every path writes it before use; EVA cannot tell */
        if (idx >= table_size) {
            vg_log_guest("queue: descriptor index %u >= %u", idx, table_size);
            return -ERANGE;
        }
        if (steps >= table_size) {
            vg_log_guest("queue: descriptor chain loops or exceeds %u", table_size);
            return -ELOOP;
        }
        int rc = read_desc(table, idx, &d); /* the one fetch of this descriptor */
        if (rc < 0)
            return rc;
        if (d.flags & VRING_DESC_F_INDIRECT) {
            if (!vq->indirect || nested || (d.flags & VRING_DESC_F_NEXT) || d.len == 0 ||
                d.len % sizeof(struct vring_desc) || d.len > vq->size * sizeof(struct vring_desc)) {
                vg_log_guest("queue: invalid indirect descriptor (flags 0x%x len %u)", d.flags,
                             d.len);
                return -EINVAL;
            }
            /*
             * Copied once into private memory, then walked there.  The walk
             * reads only the d.len bytes fetched (idx < d.len / 16), a
             * relation EVA cannot keep (tests/prove/); zeroing the rest costs
             * less than the fetch's map, and makes a read past them harmless
             * by construction rather than proved absent.
             */
            struct gmem_buf tb = { .addr = d.addr, .len = d.len, .writable = false };
            struct vring_desc copy[VQ_MAX_SIZE] = { 0 };
            rc = gmem_fetch(g, &tb, copy);
            if (rc < 0) {
                vg_log_guest("queue: cannot read indirect table: %s", strerror(-rc));
                return rc;
            }
            struct gmem_span ind = { .host = (uint8_t *)copy, .len = d.len };
            return walk(vq, g, &ind, d.len / sizeof(struct vring_desc), 0, true, c, seen_write);
        }
        bool w = d.flags & VRING_DESC_F_WRITE;
        if (!w && *seen_write) {
            vg_log_guest("queue: device-readable descriptor after a writable one");
            return -EINVAL;
        }
        *seen_write |= w;
        /* Direct and indirect buffers together: a chain is at most the queue size. */
        if (c->n >= vq->size) {
            vg_log_guest("queue: chain of more than %u buffers", vq->size);
            return -E2BIG;
        }
        uint64_t *total = w ? &c->write_len : &c->read_len;
        *total += d.len;
        if (c->read_len + c->write_len > UINT32_MAX) {
            vg_log_guest("queue: chain length exceeds 4 GiB");
            return -EOVERFLOW;
        }
        c->buf[c->n++] = (struct gmem_buf){ .addr = d.addr, .len = d.len, .writable = w };
        if (!(d.flags & VRING_DESC_F_NEXT))
            return 0;
        idx = d.next;
    }
}

int vq_pop_chain(struct virtq *vq, struct gmem *g, struct vq_chain *c)
{
    if (!vq->started)
        return 0;
    uint16_t avail_idx, head;
    int rc = read_le16(&vq->rings.span[VQ_RING_AVAIL], 2, &avail_idx);
    if (rc < 0)
        return rc;
    uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
    if (pending == 0)
        return 0;
    if (pending > vq->size) {
        vg_log_guest("queue: avail index moved by %u with size %u", pending, vq->size);
        return -EOVERFLOW;
    }
    /* Ring entries must be read after the index that published them. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    rc = read_le16(&vq->rings.span[VQ_RING_AVAIL], 4 + 2u * (vq->last_avail % vq->size), &head);
    if (rc < 0)
        return rc;
    rc = vq_chain_at(vq, g, head, c);
    if (rc < 0)
        return rc;
    vq->last_avail++;
    return 1;
}

int vq_chain_at(struct virtq *vq, struct gmem *g, uint16_t head, struct vq_chain *c)
{
    if (!vq->started)
        return -EINVAL;
    /* The walk checks it too; here the chain's head is never out of range,
     * even in a partial walk, and an analyser sees it (tests/prove/). */
    if (head >= vq->size) {
        vg_log_guest("queue: descriptor index %u >= %u", head, vq->size);
        return -ERANGE;
    }
    c->head = head;
    c->n = 0;
    c->read_len = c->write_len = 0;
    bool seen_write = false;
    return walk(vq, g, &vq->rings.span[VQ_RING_DESC], vq->size, head, false, c, &seen_write);
}

int vq_read_used_idx(const struct virtq *vq, uint16_t *idx)
{
    if (!vq->started)
        return -EINVAL;
    return read_le16(&vq->rings.span[VQ_RING_USED], 2, idx);
}

void (*vq_before_used_hook)(const struct virtq *vq, uint16_t head);

int vq_push_used(struct virtq *vq, uint16_t head, uint32_t len)
{
    if (vq_before_used_hook)
        vq_before_used_hook(vq, head);
    const struct gmem_span *used = &vq->rings.span[VQ_RING_USED];
    uint32_t elem[2] = { htole32(head), htole32(len) };
    int rc = gmem_span_write(used, 4 + 8u * (vq->used_idx % vq->size), elem, sizeof(elem));
    if (rc < 0)
        return rc;
    vq->used_idx++;
    /* The element must be visible before the index that publishes it. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    uint16_t idx = htole16(vq->used_idx);
    return gmem_span_write(used, 2, &idx, sizeof(idx));
}

bool vq_should_notify(struct virtq *vq)
{
    uint16_t old = vq->signalled_used, new = vq->used_idx;
    if (old == new)
        return false;
    vq->signalled_used = new;
    /* Our used index must be visible before we read the driver's wishes. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    const struct gmem_span *avail = &vq->rings.span[VQ_RING_AVAIL];
    uint16_t v;
    if (vq->event_idx) {
        if (read_le16(avail, 4 + 2u * vq->size, &v) < 0)
            return true;
        return (uint16_t)(new - v - 1) < (uint16_t)(new - old);
    }
    if (read_le16(avail, 0, &v) < 0)
        return true;
    return !(v & VRING_AVAIL_F_NO_INTERRUPT);
}

int vq_publish_avail_event(struct virtq *vq)
{
    if (!vq->event_idx || !vq->started)
        return 0;
    uint16_t v = htole16(vq->last_avail);
    int rc = gmem_span_write(&vq->rings.span[VQ_RING_USED], 4 + 8u * vq->size, &v, sizeof(v));
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return rc;
}
