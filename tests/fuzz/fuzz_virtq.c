/* SPDX-License-Identifier: MIT */
/*
 * Split-ring walking over fuzzer-shaped guest memory: a descriptor table,
 * avail ring and indirect tables from the input, addresses mostly inside
 * the granted pages, every chain mapped, read, written and completed the way
 * the transport does it.  Oracle: no crash or sanitizer report, and no grant
 * left mapped once the queue is stopped.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "virtq/virtq.h"
#include "xensim/vdrv.h"

#define AVAIL_OFF 2048u
#define USED_OFF 2560u

static void fill_descs(struct fuzz_in *in, uint8_t *table, unsigned count, uint16_t qs)
{
    for (unsigned i = 0; i < count && in->n; i++) {
        uint64_t addr = fin_addr(in);
        uint8_t lk = fin_u8(in);
        uint32_t len = (lk & 0x80) ? fin_u32(in) : fin_u16(in) % 9000u;
        uint16_t flags = (lk & 0x40) ? fin_u16(in) : (lk & 7);
        uint16_t next = (lk & 0x20) ? fin_u16(in) : (uint16_t)(fin_u8(in) % (qs + 2u));
        vdrv_encode_desc(table, (uint16_t)i, addr, len, flags, next);
    }
}

static uint8_t scratch[65536];

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
    vq.event_idx = cfg & 16;
    vq.desc_addr = fz.ring_dma;
    vq.avail_addr = fz.ring_dma + AVAIL_OFF;
    vq.used_addr = fz.ring_dma + USED_OFF;

    memset(fz.ring, 0, 4096);
    memset(fz.data, 0, 4096);
    fill_descs(&in, fz.ring, vq.size, vq.size);
    uint16_t avail_idx = (cfg & 32) ? fin_u16(&in) : (uint16_t)(fin_u8(&in) % (vq.size + 2u));
    uint8_t *avail = fz.ring + AVAIL_OFF;
    memcpy(avail + 2, &avail_idx, 2);
    for (unsigned i = 0; i < vq.size; i++) {
        uint16_t head = (cfg & 64) ? fin_u16(&in) : (uint16_t)(fin_u8(&in) % (vq.size + 1u));
        memcpy(avail + 4 + 2 * i, &head, 2);
    }
    /* The first data page doubles as the place for indirect tables. */
    fill_descs(&in, fz.data, 256, vq.size);

    if (vq_start(&vq, &fz.ip.g) < 0)
        return 0;
    static struct vq_chain c;
    static struct gmem_sg sg;
    for (unsigned i = 0; i < 2u * vq.size + 2; i++) {
        if (vq_pop_chain(&vq, &fz.ip.g, &c) <= 0)
            break;
        uint32_t written = 0;
        if (gmem_map_bufs(&fz.ip.g, c.buf, c.n, &sg) == 0) {
            uint64_t rl = gmem_sg_len(&sg, false), wl = gmem_sg_len(&sg, true);
            for (uint64_t off = 0; off < rl; off += sizeof(scratch)) {
                size_t n = rl - off < sizeof(scratch) ? (size_t)(rl - off) : sizeof(scratch);
                gmem_sg_read(&sg, off, scratch, n);
            }
            for (uint64_t off = 0; off < wl; off += sizeof(scratch)) {
                size_t n = wl - off < sizeof(scratch) ? (size_t)(wl - off) : sizeof(scratch);
                gmem_sg_write(&sg, off, scratch, n);
            }
            written = (uint32_t)wl;
            gmem_unmap(&fz.ip.g, &sg);
        }
        if (vq_push_used(&vq, c.head, written) < 0)
            break;
    }
    (void)vq_should_notify(&vq);
    (void)vq_publish_avail_event(&vq);
    vq_stop(&vq, &fz.ip.g);
    fuzz_expect_nothing_mapped();
    return 0;
}
