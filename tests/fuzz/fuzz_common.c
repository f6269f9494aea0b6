/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "fuzz_common.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

struct fuzz_env fz;

void fuzz_env_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    vg_log_init(VG_LOG_ERROR, "fuzz");
    if (inproc_up(&fz.ip) < 0) {
        fprintf(stderr, "fuzz: simulator set-up failed\n");
        abort();
    }
    fz.ring_dma = inproc_grant(&fz.ip, 1, false, &fz.ring);
    fz.data_dma = inproc_grant(&fz.ip, FZ_DATA_PAGES - 1, false, &fz.data);
    fz.ro_dma = inproc_grant(&fz.ip, 1, true, &fz.ro);
    snprintf(fz.image, sizeof(fz.image), "%s/fuzz.img", fz.ip.env.dir);
    int fd = open(fz.image, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (!fz.ring_dma || !fz.data_dma || !fz.ro_dma || fd < 0 ||
        ftruncate(fd, (off_t)FZ_IMAGE_SECTORS * 512) < 0) {
        fprintf(stderr, "fuzz: grants or image failed\n");
        abort();
    }
    close(fd);
    if (blk_open(&fz.blk, fz.image, false, "fuzz", blk_ops.queue_size_max) < 0) {
        fprintf(stderr, "fuzz: blk_open failed\n");
        abort();
    }
}

void fuzz_expect_nothing_mapped(void)
{
    uint32_t n = simdom_grants_mapped_now(fz.ip.d);
    if (n) {
        fprintf(stderr, "fuzz: %u grant(s) still mapped after reset\n", n);
        abort();
    }
}

uint8_t fin_u8(struct fuzz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

uint16_t fin_u16(struct fuzz_in *in)
{
    return (uint16_t)(fin_u8(in) | fin_u8(in) << 8);
}

uint32_t fin_u32(struct fuzz_in *in)
{
    return fin_u16(in) | (uint32_t)fin_u16(in) << 16;
}

uint64_t fin_u64(struct fuzz_in *in)
{
    return fin_u32(in) | (uint64_t)fin_u32(in) << 32;
}

uint64_t fin_addr(struct fuzz_in *in)
{
    uint8_t kind = fin_u8(in);
    uint16_t off = fin_u16(in);
    switch (kind & 7) {
    case 0:
        return fin_u64(in);
    case 1:
        return fz.ro_dma + (off & 0xfff);
    case 2: /* a ref nobody granted, just past ours */
        return fz.data_dma + ((uint64_t)(FZ_DATA_PAGES + 4) << 12) + (off & 0xfff);
    case 3: /* the same frame as a guest-physical address */
        return (fz.data_dma & ~GMEM_GRANT_FLAG) + (off & 0xfff);
    default:
        return fz.data_dma + (off % ((FZ_DATA_PAGES - 1) * 4096u));
    }
}
