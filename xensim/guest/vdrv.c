/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "xensim/vdrv.h"
#include "vdrv_pci.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The guest's own copy of the virtio-mmio layout (as Linux has one). */
enum {
    R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_DEV_FEAT = 0x010,
    R_DEV_FEAT_SEL = 0x014, R_DRV_FEAT = 0x020, R_DRV_FEAT_SEL = 0x024, R_QUEUE_SEL = 0x030,
    R_QUEUE_NUM_MAX = 0x034, R_QUEUE_NUM = 0x038, R_QUEUE_READY = 0x044, R_NOTIFY = 0x050,
    R_ISR = 0x060, R_ACK = 0x064, R_STATUS = 0x070, R_DESC_LO = 0x080, R_DESC_HI = 0x084,
    R_DRIVER_LO = 0x090, R_DRIVER_HI = 0x094, R_DEVICE_LO = 0x0a0, R_DEVICE_HI = 0x0a4,
    R_POOL_LO = 0x0d0, R_POOL_HI = 0x0d4, R_POOL_PAGES = 0x0d8, R_CONFIG = 0x100,
};
#define S_ACK 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u
#define S_NEEDS_RESET 64u
#define F_INDIRECT (1ull << 28)
#define F_EVENT_IDX (1ull << 29)
#define F_VERSION_1 (1ull << 32)
#define F_ACCESS_PLATFORM (1ull << 33)
#define F_GRANT_ADDRESSING (1ull << 44) /* the draft's placeholder bits, as the Linux series */
#define F_GRANT_POOL (1ull << 45)
#define BLK_FEATURES ((1ull << 1) | (1ull << 2) | (1ull << 5) | (1ull << 6) | (1ull << 9) | \
                      (1ull << 13) | (1ull << 14))
#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4
#define PAGE 4096u
#define GRANT_FLAG (1ull << 63)
#define SEG_BYTES 65536u

uint32_t vdrv_read32(struct vdrv *v, uint32_t off)
{
    if (vdrv_is_pci(v))
        return vdrv_pci_reg_read(v, off);
    uint64_t val = ~0ull;
    if (simdom_mmio_read(v->d, v->o.vcpu, v->o.base + off, 4, &val) < 0)
        return ~0u;
    return (uint32_t)val;
}

void vdrv_write32(struct vdrv *v, uint32_t off, uint32_t val)
{
    if (vdrv_is_pci(v)) {
        vdrv_pci_reg_write(v, off, val);
        return;
    }
    simdom_mmio_write(v->d, v->o.vcpu, v->o.base + off, 4, val);
}

uint32_t vdrv_status(struct vdrv *v)
{
    return vdrv_read32(v, R_STATUS);
}

static uint32_t pages_for(uint64_t gpa, uint32_t len)
{
    return (uint32_t)(((gpa % PAGE) + len + PAGE - 1) / PAGE);
}

/* Pool pages a bounced buffer takes: it starts at a slot, zero bytes take one. */
static uint32_t slot_pages(uint32_t len)
{
    return len ? (len + PAGE - 1) / PAGE : 1;
}

/* What every mapping records, whichever way it is made. */
static void map_init(struct vdrv_map *m, uint64_t gpa, uint32_t len)
{
    m->gpa = gpa & ~(uint64_t)(PAGE - 1);
    m->npages = pages_for(gpa, len ? len : 1);
    m->ref = -1;
    m->free_pages = false;
    m->bounced = false;
}

/* Like Linux's bounce pool: first fit, the whole slot filled whatever the direction. */
static uint64_t pool_map(struct vdrv *v, uint64_t gpa, uint32_t len, bool to_device,
                         struct vdrv_map *m)
{
    uint32_t n = slot_pages(len), run = 0;
    for (uint32_t i = 0; i < v->pool_pages; i++) {
        run = v->pool_used[i] ? 0 : run + 1;
        if (run < n)
            continue;
        uint32_t slot = i + 1 - n;
        for (uint32_t k = 0; k < n; k++)
            v->pool_used[slot + k] = true;
        memcpy(simdom_gpa(v->d, v->pool_gpa + (uint64_t)slot * PAGE, len),
               simdom_gpa(v->d, gpa, len), len);
        v->bounced_bytes += len;
        m->bounced = true;
        m->to_device = to_device;
        m->slot = slot;
        m->len = len;
        m->orig = gpa;
        return GRANT_FLAG | ((uint64_t)(v->pool_ref + slot) << 12);
    }
    return 0; /* pool full */
}

static void pool_unmap(struct vdrv *v, struct vdrv_map *m)
{
    uint32_t n = slot_pages(m->len);
    if (!m->to_device)
        memcpy(simdom_gpa(v->d, m->orig, m->len),
               simdom_gpa(v->d, v->pool_gpa + (uint64_t)m->slot * PAGE, m->len), m->len);
    for (uint32_t k = 0; k < n; k++)
        v->pool_used[m->slot + k] = false;
    m->bounced = false;
}

/* Coherent memory (the ring) is granted in place even with a pool, as in Linux. */
static uint64_t grant_in_place(struct vdrv *v, uint64_t gpa, uint32_t len, bool to_device,
                               struct vdrv_map *m)
{
    map_init(m, gpa, len);
    if (v->o.dma == VDRV_DMA_PHYS)
        return gpa;
    /* grant-dma-ops: consecutive refs, read-only for DMA_TO_DEVICE */
    m->ref = simdom_grant_range(v->d, m->gpa, m->npages, to_device);
    if (m->ref < 0)
        return 0;
    return GRANT_FLAG | ((uint64_t)m->ref << 12) | (gpa % PAGE);
}

uint64_t vdrv_dma_map(struct vdrv *v, uint64_t gpa, uint32_t len, bool to_device,
                      struct vdrv_map *m)
{
    if (!v->pool_pages)
        return grant_in_place(v, gpa, len, to_device, m);
    map_init(m, gpa, len);
    return pool_map(v, gpa, len, to_device, m);
}

void vdrv_dma_unmap(struct vdrv *v, struct vdrv_map *m)
{
    if (m->bounced)
        pool_unmap(v, m);
    if (m->ref >= 0) {
        bool busy = false;
        for (uint32_t i = 0; i < m->npages; i++)
            if (simdom_revoke(v->d, (uint32_t)m->ref + i) == -EBUSY) {
                fprintf(stderr, "vdrv: grant %lld still in use by backend domain\n",
                        (long long)m->ref + i);
                v->grant_busy++;
                busy = true;
            }
        /* like Linux, a busy grant is leaked rather than reused */
        if (!busy)
            simdom_release_refs(v->d, (uint32_t)m->ref, m->npages);
        m->ref = -1;
    }
    if (m->free_pages)
        simdom_free_pages(v->d, m->gpa, m->npages);
    m->free_pages = false;
}

static uint64_t read_cfg64(struct vdrv *v, uint32_t off)
{
    return vdrv_read32(v, R_CONFIG + off) | ((uint64_t)vdrv_read32(v, R_CONFIG + off + 4) << 32);
}

/* The pool announcement, or a hostile one (spec/virtio/grant-pool.tex). */
static void announce_pool(struct vdrv *v, const struct vdrv_opts *o)
{
    uint64_t addr;
    uint32_t pages;
    switch (o->announce) {
    case VDRV_ANNOUNCE_POOL:
        if (!(v->features & F_GRANT_POOL))
            return;
        addr = GRANT_FLAG | ((uint64_t)v->pool_ref << 12);
        pages = o->announce_pages ? o->announce_pages : v->pool_pages;
        break;
    case VDRV_ANNOUNCE_RINGS:
        addr = v->desc_dma & ~(uint64_t)(PAGE - 1);
        pages = v->ring_map.npages;
        break;
    case VDRV_ANNOUNCE_GIVEN:
        addr = o->announce_addr;
        pages = o->announce_pages;
        break;
    default:
        return;
    }
    vdrv_write32(v, R_POOL_LO, (uint32_t)addr);
    vdrv_write32(v, R_POOL_HI, (uint32_t)(addr >> 32));
    vdrv_write32(v, R_POOL_PAGES, pages);
}

int vdrv_probe(struct vdrv *v, struct simdom *d, const struct vdrv_opts *o)
{
    memset(v, 0, sizeof(*v));
    v->d = d;
    v->o = *o;
    if (vdrv_is_pci(v)) {
        int rc = vdrv_pci_find(v);
        if (rc < 0)
            return rc;
    } else if (vdrv_read32(v, R_MAGIC) != 0x74726976 || vdrv_read32(v, R_VERSION) != 2 ||
               vdrv_read32(v, R_DEVICE_ID) != 2) {
        return -ENODEV;
    }
    vdrv_write32(v, R_STATUS, 0);
    vdrv_write32(v, R_STATUS, S_ACK);
    vdrv_write32(v, R_STATUS, S_ACK | S_DRIVER);
    vdrv_write32(v, R_DEV_FEAT_SEL, 0);
    v->dev_features = vdrv_read32(v, R_DEV_FEAT);
    vdrv_write32(v, R_DEV_FEAT_SEL, 1);
    v->dev_features |= (uint64_t)vdrv_read32(v, R_DEV_FEAT) << 32;
    uint64_t want = F_VERSION_1 | F_ACCESS_PLATFORM | BLK_FEATURES;
    if (o->dma == VDRV_DMA_GRANT)
        want |= F_GRANT_ADDRESSING;
    if (o->pool_pages && o->dma == VDRV_DMA_GRANT) {
        if (o->pool_pages > VDRV_MAX_POOL)
            return -EINVAL;
        v->pool_gpa = simdom_alloc_pages(d, o->pool_pages);
        if (!v->pool_gpa)
            return -ENOMEM;
        v->pool_ref = simdom_grant_range(d, v->pool_gpa, o->pool_pages, false);
        if (v->pool_ref < 0)
            return -ENOSPC;
        v->pool_pages = o->pool_pages;
        want |= F_GRANT_POOL;
    }
    if (o->indirect)
        want |= F_INDIRECT;
    if (o->event_idx)
        want |= F_EVENT_IDX;
    v->features = v->dev_features & want & ~o->refuse_features;
    if (!(v->features & F_GRANT_ADDRESSING))
        v->features &= ~F_GRANT_POOL; /* the draft's dependency */
    vdrv_write32(v, R_DRV_FEAT_SEL, 0);
    vdrv_write32(v, R_DRV_FEAT, (uint32_t)v->features);
    vdrv_write32(v, R_DRV_FEAT_SEL, 1);
    vdrv_write32(v, R_DRV_FEAT, (uint32_t)(v->features >> 32));
    vdrv_write32(v, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    if (!(vdrv_status(v) & S_FEATURES_OK))
        return -EPROTO;

    vdrv_write32(v, R_QUEUE_SEL, 0);
    uint32_t max = vdrv_read32(v, R_QUEUE_NUM_MAX);
    if (max == 0 || max > 1024)
        return -ENODEV;
    v->qsize = (uint16_t)(o->queue_size && o->queue_size < max ? o->queue_size : max);
    size_t desc_b = 16u * v->qsize, avail_b = 6u + 2u * v->qsize, used_b = 6u + 8u * v->qsize;
    size_t used_off = (desc_b + avail_b + PAGE - 1) & ~(size_t)(PAGE - 1);
    uint32_t npages = (uint32_t)((used_off + used_b + PAGE - 1) / PAGE);
    uint64_t gpa = simdom_alloc_pages(d, npages);
    if (!gpa)
        return -ENOMEM;
    uint8_t *host = simdom_gpa(d, gpa, (size_t)npages * PAGE);
    memset(host, 0, (size_t)npages * PAGE);
    uint64_t dma = grant_in_place(v, gpa, npages * PAGE, false, &v->ring_map);
    v->ring_map.free_pages = true;
    if (!dma)
        return -ENOSPC;
    v->desc = host;
    v->avail = host + desc_b;
    v->used = host + used_off;
    v->desc_dma = dma;
    v->avail_dma = dma + desc_b;
    v->used_dma = dma + used_off;
    for (uint16_t i = 0; i < v->qsize; i++)
        v->next_free[i] = (uint16_t)(i + 1);
    v->free_head = 0;
    v->nfree = v->qsize;

    if (!(vdrv_is_pci(v) && o->keep_queue_size && v->qsize == max))
        vdrv_write32(v, R_QUEUE_NUM, v->qsize);
    vdrv_write32(v, R_DESC_LO, (uint32_t)v->desc_dma);
    vdrv_write32(v, R_DESC_HI, (uint32_t)(v->desc_dma >> 32));
    vdrv_write32(v, R_DRIVER_LO, (uint32_t)v->avail_dma);
    vdrv_write32(v, R_DRIVER_HI, (uint32_t)(v->avail_dma >> 32));
    vdrv_write32(v, R_DEVICE_LO, (uint32_t)v->used_dma);
    vdrv_write32(v, R_DEVICE_HI, (uint32_t)(v->used_dma >> 32));
    if (vdrv_is_pci(v) && vdrv_pci_setup_queue(v) < 0)
        return -EBUSY;
    vdrv_write32(v, R_QUEUE_READY, 1);
    if (vdrv_read32(v, R_QUEUE_READY) != 1)
        return -EIO;
    announce_pool(v, o);
    vdrv_write32(v, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    v->capacity = read_cfg64(v, 0);
    v->size_max = vdrv_read32(v, R_CONFIG + 8);
    v->seg_max = vdrv_read32(v, R_CONFIG + 12);
    if (v->seg_max == 0 || v->seg_max > v->qsize - 2u)
        v->seg_max = v->qsize - 2u;
    return (vdrv_status(v) & S_DRIVER_OK) ? 0 : -EIO;
}

void vdrv_remove(struct vdrv *v)
{
    if (!v->d)
        return;
    vdrv_write32(v, R_STATUS, 0); /* reset: the device must drop its ring mappings */
    for (unsigned i = 0; i < v->qsize; i++)
        if (v->inflight[i]) {
            struct vdrv_blk_req *r = v->inflight[i];
            for (unsigned k = 0; k < r->nmaps; k++)
                vdrv_dma_unmap(v, &r->maps[k]);
            v->inflight[i] = NULL;
        }
    vdrv_dma_unmap(v, &v->ring_map);
    if (v->pool_pages) {
        /* after the reset the device must have let go of every pool page */
        struct vdrv_map pool = { .gpa = v->pool_gpa, .npages = v->pool_pages,
                                 .ref = v->pool_ref, .free_pages = true };
        vdrv_dma_unmap(v, &pool);
        v->pool_pages = 0;
    }
    v->d = NULL;
}

void vdrv_encode_desc(uint8_t *table, uint32_t i, uint64_t addr, uint32_t len, uint16_t flags,
                      uint16_t next)
{
    uint8_t *p = table + 16u * i;
    uint64_t a = htole64(addr);
    uint32_t l = htole32(len);
    uint16_t f = htole16(flags), n = htole16(next);
    memcpy(p, &a, 8);
    memcpy(p + 8, &l, 4);
    memcpy(p + 12, &f, 2);
    memcpy(p + 14, &n, 2);
}

void vdrv_put_desc(struct vdrv *v, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags,
                   uint16_t next)
{
    vdrv_encode_desc(v->desc, idx % v->qsize, addr, len, flags, next);
}

void vdrv_set_avail_idx(struct vdrv *v, uint16_t idx)
{
    atomic_thread_fence(memory_order_release);
    uint16_t le = htole16(idx);
    memcpy(v->avail + 2, &le, 2);
    v->avail_idx = idx;
}

void vdrv_put_avail(struct vdrv *v, uint16_t head)
{
    uint16_t le = htole16(head);
    memcpy(v->avail + 4 + 2u * (v->avail_idx % v->qsize), &le, 2);
    vdrv_set_avail_idx(v, (uint16_t)(v->avail_idx + 1));
}

uint16_t vdrv_used_idx(struct vdrv *v)
{
    uint16_t idx;
    memcpy(&idx, v->used + 2, 2);
    atomic_thread_fence(memory_order_acquire);
    return le16toh(idx);
}

static int alloc_desc(struct vdrv *v, uint16_t n, uint16_t *out)
{
    if (n > v->nfree)
        return -ENOSPC;
    for (uint16_t i = 0; i < n; i++) {
        out[i] = v->free_head;
        v->free_head = v->next_free[v->free_head];
    }
    v->nfree -= n;
    return 0;
}

static void free_desc_chain(struct vdrv *v, uint16_t head, uint16_t n)
{
    /* descriptors are linked through "next" in the ring; rebuild the free list */
    uint16_t idx = head;
    for (uint16_t i = 0; i < n; i++) {
        uint16_t nxt;
        memcpy(&nxt, v->desc + 16u * idx + 14, 2);
        v->next_free[idx] = v->free_head;
        v->free_head = idx;
        idx = le16toh(nxt);
    }
    v->nfree += n;
}

static bool is_to_device(uint32_t type)
{
    return type == 1 || type == 11 || type == 13; /* OUT, DISCARD, WRITE_ZEROES */
}

int vdrv_blk_submit(struct vdrv *v, struct vdrv_blk_req *r)
{
    bool out = is_to_device(r->type);
    uint32_t nseg = r->len ? (r->len + SEG_BYTES - 1) / SEG_BYTES : 0;
    if (nseg > v->seg_max || nseg + 2 > VDRV_MAX_MAPS)
        return -E2BIG;
    bool indirect = (v->features & F_INDIRECT) && nseg + 2 > 1;
    uint16_t ndesc = indirect ? 1 : (uint16_t)(nseg + 2);
    uint16_t ids[VDRV_MAX_MAPS];
    if (alloc_desc(v, ndesc, ids) < 0)
        return -ENOSPC;
    r->done = false;
    r->nmaps = 0;
    r->ndesc = ndesc;

    /* header at offset 0 and status at 64 of one page, mapped separately */
    r->hdr_gpa = simdom_alloc_pages(v->d, 1);
    uint32_t dpages = r->len ? (r->len + PAGE - 1) / PAGE : 0;
    r->data_gpa = dpages ? simdom_alloc_pages(v->d, dpages) : 0;
    if (!r->hdr_gpa || (dpages && !r->data_gpa))
        return -ENOMEM;
    uint8_t *hdr = simdom_gpa(v->d, r->hdr_gpa, PAGE);
    uint32_t type = htole32(r->type), zero = 0;
    uint64_t sector = htole64(r->sector);
    memcpy(hdr, &type, 4);
    memcpy(hdr + 4, &zero, 4);
    memcpy(hdr + 8, &sector, 8);
    hdr[64] = 0xff;
    if (out && r->len)
        memcpy(simdom_gpa(v->d, r->data_gpa, r->len), r->data, r->len);

    struct { uint64_t addr; uint32_t len; uint16_t flags; } d[VDRV_MAX_MAPS];
    unsigned n = 0;
    d[n].addr = vdrv_dma_map(v, r->hdr_gpa, 16, true, &r->maps[r->nmaps++]);
    d[n++].len = 16;
    for (uint32_t s = 0; s < nseg; s++) {
        uint32_t off = s * SEG_BYTES, len = r->len - off < SEG_BYTES ? r->len - off : SEG_BYTES;
        d[n].addr = vdrv_dma_map(v, r->data_gpa + off, len, out, &r->maps[r->nmaps++]);
        d[n].len = len;
        d[n++].flags = out ? 0 : D_WRITE;
    }
    d[n].addr = vdrv_dma_map(v, r->hdr_gpa + 64, 1, false, &r->maps[r->nmaps++]);
    d[n].len = 1;
    d[n++].flags = D_WRITE;
    d[0].flags = 0;
    for (unsigned i = 0; i < n; i++)
        if (!d[i].addr)
            return -ENOSPC;

    if (indirect) {
        uint32_t tpages = (16u * n + PAGE - 1) / PAGE;
        uint64_t tgpa = simdom_alloc_pages(v->d, tpages);
        if (!tgpa)
            return -ENOMEM;
        uint8_t *t = simdom_gpa(v->d, tgpa, (size_t)tpages * PAGE);
        for (unsigned i = 0; i < n; i++)
            vdrv_encode_desc(t, i, d[i].addr, d[i].len,
                             (uint16_t)(d[i].flags | (i + 1 < n ? D_NEXT : 0)), (uint16_t)(i + 1));
        struct vdrv_map *tm = &r->maps[r->nmaps++];
        uint64_t ta = vdrv_dma_map(v, tgpa, 16u * n, true, tm);
        tm->gpa = tgpa;
        tm->free_pages = true;
        if (!ta)
            return -ENOSPC;
        vdrv_put_desc(v, ids[0], ta, 16u * n, D_INDIRECT, 0);
    } else {
        for (unsigned i = 0; i < n; i++)
            vdrv_put_desc(v, ids[i], d[i].addr, d[i].len,
                          (uint16_t)(d[i].flags | (i + 1 < n ? D_NEXT : 0)),
                          i + 1 < n ? ids[i + 1] : 0);
    }
    v->inflight[ids[0]] = r;
    vdrv_put_avail(v, ids[0]);
    return 0;
}

int vdrv_kick(struct vdrv *v)
{
    uint16_t old = v->kicked_idx, new = v->avail_idx;
    v->kicked_idx = new;
    atomic_thread_fence(memory_order_seq_cst);
    bool need;
    if (v->features & F_EVENT_IDX) {
        uint16_t ev;
        memcpy(&ev, v->used + 4 + 8u * v->qsize, 2);
        ev = le16toh(ev);
        need = (uint16_t)(new - ev - 1) < (uint16_t)(new - old);
    } else {
        uint16_t flags;
        memcpy(&flags, v->used, 2);
        need = !(le16toh(flags) & 1);
    }
    if (!need)
        return 0;
    v->kicks++;
    if (vdrv_is_pci(v))
        return vdrv_pci_notify(v);
    return simdom_mmio_write(v->d, v->o.vcpu, v->o.base + R_NOTIFY, 4, 0);
}

static void complete(struct vdrv *v, uint16_t id, uint32_t len)
{
    struct vdrv_blk_req *r = id < v->qsize ? v->inflight[id] : NULL;
    if (!r) {
        fprintf(stderr, "vdrv: device returned unknown id %u\n", id);
        return;
    }
    v->inflight[id] = NULL;
    r->used_len = len;
    /* unmap first: a bounced buffer is copied back then */
    for (unsigned k = 0; k < r->nmaps; k++)
        vdrv_dma_unmap(v, &r->maps[k]);
    r->status = *(uint8_t *)simdom_gpa(v->d, r->hdr_gpa + 64, 1);
    if (!is_to_device(r->type) && r->len && r->status == 0)
        memcpy(r->data, simdom_gpa(v->d, r->data_gpa, r->len), r->len);
    simdom_free_pages(v->d, r->hdr_gpa, 1);
    if (r->len)
        simdom_free_pages(v->d, r->data_gpa, (r->len + PAGE - 1) / PAGE);
    free_desc_chain(v, id, r->ndesc);
    r->done = true;
    v->completions++;
}

/* 1 and the causes (ISR bits), acknowledged; 0 on timeout; or -errno. */
static int wait_interrupt(struct vdrv *v, int timeout_ms, uint32_t *isr)
{
    if (vdrv_is_pci(v))
        return vdrv_pci_wait_irq(v, timeout_ms, isr);
    int rc = simdom_wait_irq(v->d, v->o.irq, timeout_ms);
    if (rc > 0) {
        *isr = vdrv_read32(v, R_ISR);
        vdrv_write32(v, R_ACK, *isr);
    }
    return rc;
}

int vdrv_reap(struct vdrv *v, int timeout_ms)
{
    uint32_t isr = 0;
    int rc = wait_interrupt(v, timeout_ms, &isr);
    if (rc < 0)
        return rc;
    if (rc > 0) {
        v->interrupts++;
        if ((isr & 2) && (vdrv_status(v) & S_NEEDS_RESET))
            v->needs_reset = true;
    }
    int n = 0;
    for (;;) {
        uint16_t used = vdrv_used_idx(v);
        while (v->last_used != used) {
            uint32_t elem[2];
            memcpy(elem, v->used + 4 + 8u * (v->last_used % v->qsize), 8);
            complete(v, (uint16_t)le32toh(elem[0]), le32toh(elem[1]));
            v->last_used++;
            n++;
        }
        if (!(v->features & F_EVENT_IDX))
            break;
        /*
         * As Linux's virtqueue_enable_cb: ask for an interrupt at the next
         * entry, then look again.  A device completing on its own (not
         * inside our notify) may have published an entry after we read the
         * index and checked the old used_event: it will not interrupt for it.
         */
        uint16_t ue = htole16(v->last_used);
        memcpy(v->avail + 4 + 2u * v->qsize, &ue, 2);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (vdrv_used_idx(v) == v->last_used)
            break;
    }
    return n;
}

int vdrv_blk_sync(struct vdrv *v, uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
    struct vdrv_blk_req r = { .type = type, .sector = sector, .data = buf, .len = len };
    int rc = vdrv_blk_submit(v, &r);
    if (rc < 0)
        return rc;
    rc = vdrv_kick(v);
    if (rc < 0)
        return rc;
    for (int tries = 0; !r.done && tries < 50; tries++) {
        rc = vdrv_reap(v, 100);
        if (rc < 0)
            return rc;
        if (v->needs_reset)
            return -EIO;
    }
    return r.done ? r.status : -ETIMEDOUT;
}
