/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk request handling against a temporary image: a chain of up to
 * eight buffers in granted pages, with fuzzed header, data, lengths and
 * writability, handed to blk_ops.handle_chain as the transport does.
 * Oracle: no crash or sanitizer report, the reported written length never
 * exceeds the device-writable bytes, nothing stays mapped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_env_init();
    struct fuzz_in in = { data, size };
    uint8_t cfg = fin_u8(&in);
    fz.blk.read_only = cfg & 1;
    blk_ops.set_features(&fz.blk, blk_ops.features(&fz.blk) & ((cfg & 2) ? ~0ull : fin_u64(&in)));

    /* The request header, mostly a known type and an in-range sector. */
    uint8_t *hdr = fz.data;
    static const uint32_t types[] = { 0, 1, 4, 8, 11, 13 };
    uint32_t type = (cfg & 4) ? fin_u32(&in) : types[fin_u8(&in) % 6];
    uint64_t sector = (cfg & 8) ? fin_u64(&in) : fin_u16(&in) % (FZ_IMAGE_SECTORS + 64u);
    memcpy(hdr, &type, 4);
    memset(hdr + 4, 0, 4);
    memcpy(hdr + 8, &sector, 8);
    /* Data pages (after the header page): fuzz bytes, e.g. discard segments. */
    size_t fill = in.n < 3 * 4096u ? in.n : 3 * 4096u;
    memcpy(fz.data + 4096, in.p + in.n - fill, fill);

    struct gmem_buf bufs[8];
    unsigned n = 1 + (fin_u8(&in) & 7);
    bufs[0] = (struct gmem_buf){ fz.data_dma, (cfg & 16) ? fin_u8(&in) % 40u : 16, false };
    for (unsigned i = 1; i < n; i++) {
        uint8_t k = fin_u8(&in);
        uint64_t addr = (k & 0x80) ? fin_addr(&in)
                                   : fz.data_dma + 4096 + (fin_u16(&in) % (5 * 4096u));
        uint32_t len = (k & 0x40) ? fin_u16(&in) : 1u + fin_u16(&in) % 8192u;
        bufs[i] = (struct gmem_buf){ addr, len, (k & 1) || i == n - 1 };
    }
    /* Readable buffers first, as a validated chain would have them. */
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j > 1 && bufs[j - 1].writable && !bufs[j].writable; j--) {
            struct gmem_buf t = bufs[j];
            bufs[j] = bufs[j - 1];
            bufs[j - 1] = t;
        }
    static struct gmem_sg sg;
    if (gmem_map_bufs(&fz.ip.g, bufs, n, &sg) == 0) {
        uint32_t written = 0;
        (void)blk_ops.handle_chain(&fz.blk, 0, &sg, NULL, &written);
        if (written > gmem_sg_len(&sg, true))
            abort();
        gmem_unmap(&fz.ip.g, &sg);
    }
    fuzz_expect_nothing_mapped();
    return 0;
}
