/* SPDX-License-Identifier: MIT */
/*
 * Structure-aware ring walking: the input describes a descriptor graph, not
 * bytes.  Descriptors are readable or writable buffers, indirect tables
 * (placed in the granted pages, or not granted, or named by frame), raw
 * flags; next links go forward, back (loops), to themselves or out of range;
 * tables alias each other and the ring.  The real walker (vq_chain_at)
 * must agree with a reference walk written from the virtio spec and the
 * rules in the brief: same verdict, and for an accepted chain the same
 * buffers in the same order.
 */
#define _DEFAULT_SOURCE
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "virtq/virtq.h"
#include "xensim/guest.h"
#include "xensim/vdrv.h"

#define AVAIL_OFF 2048u
#define USED_OFF 2560u
#define TABLE_PAGES (FZ_DATA_PAGES - 1) /* the granted writable pages hold the tables */

struct ref_chain {
    unsigned n;
    struct gmem_buf buf[VQ_MAX_SIZE];
    uint64_t read_len, write_len;
};

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_vqgraph: %s\n", what);
        abort();
    }
}

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static struct desc desc_at(const uint8_t *table, uint32_t i)
{
    struct desc d;
    uint8_t raw[16];
    memcpy(raw, table + 16u * i, 16);
    memcpy(&d.addr, raw, 8);
    memcpy(&d.len, raw + 8, 4);
    memcpy(&d.flags, raw + 12, 2);
    memcpy(&d.next, raw + 14, 2);
    d.addr = le64toh(d.addr);
    d.len = le32toh(d.len);
    d.flags = le16toh(d.flags);
    d.next = le16toh(d.next);
    return d;
}

/*
 * The host page behind a grant address, or NULL, from the guest's grant
 * table as it stands: the harness's grants, and also refs 0 and 1, which
 * the toolstack grants dom0 (console and xenstore rings) before any device
 * exists.  A guest may name those too; the walker reads them as it would
 * any granted page (threat-model residual risk).
 */
static const uint8_t *granted_page(uint64_t addr)
{
    if (!(addr & GMEM_GRANT_FLAG))
        return NULL; /* a frame number: grant mode refuses it */
    uint64_t ref = (addr & ~GMEM_GRANT_FLAG) >> 12;
    bool readonly;
    return ref > UINT32_MAX ? NULL : simdom_granted_page(fz.ip.d, (uint32_t)ref, &readonly);
}

/* An indirect table's bytes, fetched page by page as the walker's fetch maps them. */
static bool ref_fetch(uint64_t addr, uint32_t len, uint8_t *out)
{
    for (uint32_t done = 0; done < len;) {
        uint64_t at = addr + done;
        const uint8_t *page = granted_page(at);
        if (!page || at < addr)
            return false;
        uint32_t in = (uint32_t)(at & 4095), take = 4096 - in;
        if (take > len - done)
            take = len - done;
        memcpy(out + done, page + in, take);
        done += take;
    }
    return true;
}

/* The split-ring rules, walked over the same guest bytes. */
static bool ref_walk(uint16_t qs, bool indirect, const uint8_t *table, uint32_t tsize,
                     uint32_t idx, bool nested, struct ref_chain *c, bool *seen_write)
{
    for (uint32_t steps = 0;; steps++) {
        if (idx >= tsize || steps >= tsize)
            return false; /* out of the table, or a loop */
        struct desc d = desc_at(table, idx);
        if (d.flags & VRING_DESC_F_INDIRECT) {
            if (!indirect || nested || (d.flags & VRING_DESC_F_NEXT) || d.len == 0 ||
                d.len % 16 || d.len > 16u * qs)
                return false;
            static uint8_t t[16 * VQ_MAX_SIZE];
            if (!ref_fetch(d.addr, d.len, t))
                return false; /* not granted, or named by frame */
            return ref_walk(qs, indirect, t, d.len / 16, 0, true, c, seen_write);
        }
        bool w = d.flags & VRING_DESC_F_WRITE;
        if (!w && *seen_write)
            return false;
        *seen_write |= w;
        if (c->n >= qs)
            return false;
        *(w ? &c->write_len : &c->read_len) += d.len;
        if (c->read_len + c->write_len > UINT32_MAX)
            return false;
        c->buf[c->n++] = (struct gmem_buf){ d.addr, d.len, w };
        if (!(d.flags & VRING_DESC_F_NEXT))
            return true;
        idx = d.next;
    }
}

/* One descriptor, shaped: mostly a sensible one, sometimes exactly the wrong one. */
static void gen_desc(struct fuzz_in *in, uint8_t *table, uint32_t i, uint32_t tsize, uint16_t qs)
{
    uint8_t k = fin_u8(in);
    uint64_t addr = fin_u64(in);
    uint32_t len = (k & 0x80) && (k & 7) < 5 ? fin_u32(in) : fin_u16(in);
    uint16_t flags = 0;
    switch (k & 7) {
    case 0: case 1: case 2:
        break;
    case 3: case 4:
        flags = VRING_DESC_F_WRITE;
        break;
    case 5: case 6: { /* an indirect table in one of the table pages */
        uint32_t entries = fin_u8(in) % (qs + 2u);
        uint32_t page = fin_u8(in) % TABLE_PAGES, slot = fin_u8(in) % 16;
        flags = VRING_DESC_F_INDIRECT;
        len = 16 * entries + ((k & 0x80) ? fin_u8(in) % 16 : 0);
        switch ((k >> 3) & 3) {
        case 0: case 1:
            addr = fz.data_dma + page * 4096u + slot * 256u; /* may run on into the next grant */
            break;
        case 2: /* a ref nobody granted */
            addr = fz.data_dma + ((uint64_t)(FZ_DATA_PAGES + 4) << 12) + slot * 256u;
            break;
        default: /* the same memory named by frame */
            addr = (fz.data_dma & ~GMEM_GRANT_FLAG) + page * 4096u;
        }
        break;
    }
    default:
        flags = fin_u16(in);
    }
    uint8_t link = fin_u8(in); /* its own byte: where a link goes is not where a table is */
    if ((link & 4) && (k & 7) != 7)
        flags |= VRING_DESC_F_NEXT;
    uint16_t next;
    switch (link & 3) {
    case 0: next = (uint16_t)(i + 1); break;            /* the usual chain */
    case 1: next = (uint16_t)(fin_u8(in) % (i + 1)); break; /* back: a loop */
    case 2: next = (uint16_t)(tsize + fin_u8(in) % 4); break; /* just out of range */
    default: next = fin_u16(in);
    }
    vdrv_encode_desc(table, i, addr, len, flags, next);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_env_init();
    struct fuzz_in in = { data, size };
    static const uint16_t sizes[] = { 1, 2, 4, 8, 16, 32, 64, 128 };
    uint8_t cfg = fin_u8(&in);
    struct virtq vq;
    memset(&vq, 0, sizeof(vq));
    vq.size = sizes[cfg & 7];
    vq.indirect = cfg & 8;
    vq.desc_addr = fz.ring_dma;
    vq.avail_addr = fz.ring_dma + AVAIL_OFF;
    vq.used_addr = fz.ring_dma + USED_OFF;
    memset(fz.ring, 0, 4096);
    memset(fz.data, 0, TABLE_PAGES * 4096u);

    for (uint32_t i = 0; i < vq.size; i++)
        gen_desc(&in, fz.ring, i, vq.size, vq.size);
    /* Tables: runs of descriptors at 256-byte slots of the table pages, overlapping at will. */
    unsigned tables = fin_u8(&in) % 8;
    for (unsigned t = 0; t < tables; t++) {
        uint8_t *at = fz.data + (fin_u8(&in) % TABLE_PAGES) * 4096u + (fin_u8(&in) % 16) * 256u;
        uint32_t room = (uint32_t)(fz.data + TABLE_PAGES * 4096u - at) / 16;
        uint32_t entries = fin_u8(&in) % (vq.size + 2u);
        for (uint32_t i = 0; i < entries && i < room; i++)
            gen_desc(&in, at, i, entries, vq.size);
    }
    if (vq_start(&vq, &fz.ip.g) < 0)
        abort(); /* the ring is granted and aligned: not guest data */
    unsigned heads = 1 + fin_u8(&in) % 4;
    for (unsigned h = 0; h < heads; h++) {
        uint16_t head = (uint16_t)(fin_u8(&in) % (vq.size + 2u));
        static struct vq_chain got;
        static struct ref_chain want;
        memset(&want, 0, sizeof(want));
        bool seen_write = false;
        bool ok = head < vq.size &&
                  ref_walk(vq.size, vq.indirect, fz.ring, vq.size, head, false, &want, &seen_write);
        int rc = vq_chain_at(&vq, &fz.ip.g, head, &got);
        check((rc == 0) == ok, ok ? "walker refused a valid chain" : "walker accepted a bad chain");
        if (!ok)
            continue;
        check(got.n == want.n && got.read_len == want.read_len && got.write_len == want.write_len,
              "walker's chain differs in size from the reference walk");
        for (unsigned i = 0; i < want.n; i++)
            check(got.buf[i].addr == want.buf[i].addr && got.buf[i].len == want.buf[i].len &&
                      got.buf[i].writable == want.buf[i].writable,
                  "walker's buffer differs from the reference walk");
    }
    vq_stop(&vq, &fz.ip.g);
    fuzz_expect_nothing_mapped();
    return 0;
}
