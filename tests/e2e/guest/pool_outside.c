/* SPDX-License-Identifier: MIT */
/*
 * vgtest=pool-outside: a guest that announces a grant pool and then hands
 * the device a buffer outside it.  Linux never does that, so this guest
 * drives vda's virtio-mmio device itself, from userspace, once the kernel
 * has let go of it:
 *   - the kernel writes a pattern to vda's first sector, then vda's device is
 *     unbound; /dev/mem maps its registers, and /dev/xen/gntalloc grants the
 *     backend domain (vgbackend=, default 0) five pages: the descriptor
 *     table, the available ring, the used ring, a one-page pool, and a page
 *     outside the pool;
 *   - it negotiates VERSION_1, ACCESS_PLATFORM, GRANT_ADDRESSING and
 *     GRANT_POOL, sets up queue 0 on the ring pages, announces the pool and
 *     sets DRIVER_OK: the device must stay live;
 *   - a read of sector 0 wholly inside the pool must complete with the
 *     pattern (pool-inside);
 *   - a read whose data buffer is the page outside the pool must not
 *     complete: the device sets DEVICE_NEEDS_RESET and writes nothing
 *     (pool-outside);
 *   - after a reset the kernel binds the device again and reads and writes
 *     through it (pool-recovered).
 * Register offsets and bits are those of the virtio 1.x MMIO transport and
 * of the draft (spec/): this program has no kernel header to lean on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vgtest.h"

enum {
    R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008,
    R_DEV_FEATURES = 0x010, R_DEV_FEATURES_SEL = 0x014,
    R_DRV_FEATURES = 0x020, R_DRV_FEATURES_SEL = 0x024,
    R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034, R_QUEUE_NUM = 0x038,
    R_QUEUE_READY = 0x044, R_QUEUE_NOTIFY = 0x050,
    R_INT_STATUS = 0x060, R_INT_ACK = 0x064, R_STATUS = 0x070,
    R_DESC_LO = 0x080, R_DESC_HI = 0x084, R_AVAIL_LO = 0x090, R_AVAIL_HI = 0x094,
    R_USED_LO = 0x0a0, R_USED_HI = 0x0a4,
    R_POOL_LO = 0x0d0, R_POOL_HI = 0x0d4, R_POOL_PAGES = 0x0d8,
};
#define S_ACK 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u
#define S_NEEDS_RESET 0x40u
#define F_VERSION_1 32
#define F_ACCESS_PLATFORM 33
#define F_GRANT_ADDRESSING 44
#define F_GRANT_POOL 45
#define D_NEXT 1
#define D_WRITE 2
#define QSIZE 8
#define GRANT_ADDR(ref) ((1ull << 63) | ((uint64_t)(ref) << 12))

enum { P_DESC, P_AVAIL, P_USED, P_POOL, P_OUTSIDE, NPAGES };

/* <xen/gntalloc.h>'s ABI (the header is not in the cross toolchain). */
struct gntalloc_alloc {
    uint16_t domid;
    uint16_t flags;
    uint32_t count;
    uint64_t index;
    uint32_t gref_ids[NPAGES]; /* the kernel fills count of them */
};
#define GNTALLOC_FLAG_WRITABLE 1
#define IOCTL_GNTALLOC_ALLOC_GREF _IOC(_IOC_NONE, 'G', 5, 24)

struct vdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};
struct blk_hdr {
    uint32_t type, reserved;
    uint64_t sector;
};

struct udrv {
    volatile uint32_t *regs;
    uint8_t *page[NPAGES];
    uint32_t ref[NPAGES];
    uint16_t avail_idx;
};

/* The ring and the buffers are cacheable memory, the registers device memory. */
static void wmb_io(void)
{
#ifdef __aarch64__
    __asm__ volatile("dsb sy" ::: "memory");
#else
    __sync_synchronize();
#endif
}

static uint32_t rd(struct udrv *d, unsigned off) { return d->regs[off / 4]; }
static void wr(struct udrv *d, unsigned off, uint32_t v)
{
    wmb_io();
    d->regs[off / 4] = v;
}

static volatile uint16_t *used_idx(struct udrv *d) { return (volatile uint16_t *)(d->page[P_USED] + 2); }

/* One request: hdr and status at pool offsets, data at DATA (a page and offset). */
static void post_read(struct udrv *d, unsigned head, unsigned hdr_off, unsigned data_page,
                      unsigned data_off, unsigned status_off)
{
    struct vdesc *t = (struct vdesc *)d->page[P_DESC];
    struct blk_hdr *h = (struct blk_hdr *)(d->page[P_POOL] + hdr_off);
    *h = (struct blk_hdr){.type = 0, .sector = 0};
    t[head] = (struct vdesc){GRANT_ADDR(d->ref[P_POOL]) + hdr_off, sizeof(*h), D_NEXT,
                             (uint16_t)(head + 1)};
    t[head + 1] = (struct vdesc){GRANT_ADDR(d->ref[data_page]) + data_off, 512,
                                 D_WRITE | D_NEXT, (uint16_t)(head + 2)};
    t[head + 2] = (struct vdesc){GRANT_ADDR(d->ref[P_POOL]) + status_off, 1, D_WRITE, 0};
    volatile uint16_t *avail = (volatile uint16_t *)d->page[P_AVAIL];
    avail[2 + d->avail_idx % QSIZE] = (uint16_t)head;
    __sync_synchronize();
    avail[1] = ++d->avail_idx;
    wr(d, R_QUEUE_NOTIFY, 0);
}

/* Until the used index reaches WANT or the status has BITS; 0 if so in 10 s. */
static int wait_for(struct udrv *d, uint16_t want, uint32_t bits)
{
    for (double end = now() + 10; now() < end; usleep(1000)) {
        if (bits ? (rd(d, R_STATUS) & bits) : *used_idx(d) == want) {
            __sync_synchronize();
            wr(d, R_INT_ACK, rd(d, R_INT_STATUS));
            return 0;
        }
    }
    return -ETIMEDOUT;
}

static void wr64(struct udrv *d, unsigned lo, uint64_t v)
{
    wr(d, lo, (uint32_t)v);
    wr(d, lo + 4, (uint32_t)(v >> 32));
}

/* Reset, negotiate, set up queue 0, announce the pool, DRIVER_OK; 0 or a FAIL said. */
static int bring_up(struct udrv *d)
{
    if (rd(d, R_MAGIC) != 0x74726976 || rd(d, R_VERSION) != 2 || rd(d, R_DEVICE_ID) != 2) {
        fail("pool-outside", "not a virtio-mmio v2 block device");
        return -1;
    }
    wr(d, R_STATUS, 0);
    wr(d, R_STATUS, S_ACK | S_DRIVER);
    wr(d, R_DEV_FEATURES_SEL, 1);
    uint32_t hi = rd(d, R_DEV_FEATURES);
    uint32_t want = 1u << (F_VERSION_1 - 32) | 1u << (F_ACCESS_PLATFORM - 32) |
                    1u << (F_GRANT_ADDRESSING - 32) | 1u << (F_GRANT_POOL - 32);
    if ((hi & want) != want) {
        fail("pool-outside", "device offers 0x%x in the high word, not 0x%x", hi, want);
        return -1;
    }
    wr(d, R_DRV_FEATURES_SEL, 0);
    wr(d, R_DRV_FEATURES, 0);
    wr(d, R_DRV_FEATURES_SEL, 1);
    wr(d, R_DRV_FEATURES, want);
    wr(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    if (!(rd(d, R_STATUS) & S_FEATURES_OK)) {
        fail("pool-outside", "device refused the features");
        return -1;
    }
    wr(d, R_QUEUE_SEL, 0);
    if (rd(d, R_QUEUE_NUM_MAX) < QSIZE) {
        fail("pool-outside", "queue 0 holds fewer than %d", QSIZE);
        return -1;
    }
    wr(d, R_QUEUE_NUM, QSIZE);
    wr64(d, R_DESC_LO, GRANT_ADDR(d->ref[P_DESC]));
    wr64(d, R_AVAIL_LO, GRANT_ADDR(d->ref[P_AVAIL]));
    wr64(d, R_USED_LO, GRANT_ADDR(d->ref[P_USED]));
    wr(d, R_QUEUE_READY, 1);
    wr64(d, R_POOL_LO, GRANT_ADDR(d->ref[P_POOL]));
    wr(d, R_POOL_PAGES, 1);
    wr(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    uint32_t st = rd(d, R_STATUS);
    if (st != (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK)) {
        fail("pool-outside", "status 0x%x after DRIVER_OK with a one-page pool", st);
        return -1;
    }
    return 0;
}

/* The two requests; the kernel wrote the pattern to sector 0 before. */
static void inside_then_outside(struct udrv *d, uint64_t seed)
{
    memset(d->page[P_POOL], 0xa5, 4096);
    memset(d->page[P_OUTSIDE], 0xa5, 4096);
    post_read(d, 0, 0, P_POOL, 512, 1024);
    if (wait_for(d, 1, 0)) {
        fail("pool-inside", "a read inside the pool did not complete (status 0x%x)",
             rd(d, R_STATUS));
        return;
    }
    const uint64_t *w = (const uint64_t *)(d->page[P_POOL] + 512);
    long bad = -1;
    for (unsigned i = 0; i < 512 / 8 && bad < 0; i++)
        if (w[i] != pattern_word(seed, i))
            bad = (long)i * 8;
    if (d->page[P_POOL][1024] != 0 || bad >= 0)
        fail("pool-inside", "status byte %u, first wrong byte %ld", d->page[P_POOL][1024], bad);
    else
        pass("pool-inside", "sector 0 read through the announced pool (grant ref %u)",
             d->ref[P_POOL]);

    post_read(d, 3, 2048, P_OUTSIDE, 0, 2560);
    int rc = wait_for(d, 0, S_NEEDS_RESET);
    unsigned untouched = 0;
    for (unsigned i = 0; i < 4096; i++)
        untouched += d->page[P_OUTSIDE][i] == 0xa5;
    if (rc)
        fail("pool-outside", "no DEVICE_NEEDS_RESET in 10 s (status 0x%x)", rd(d, R_STATUS));
    else if (*used_idx(d) != 1 || untouched != 4096 || d->page[P_POOL][2560] != 0xa5)
        fail("pool-outside", "used index %u, %u of 4096 bytes outside untouched, status byte 0x%x",
             *used_idx(d), untouched, d->page[P_POOL][2560]);
    else
        pass("pool-outside", "a buffer outside the pool: DEVICE_NEEDS_RESET (status 0x%x), "
                             "not used, nothing written", rd(d, R_STATUS));
}

void test_pool_outside(uint64_t seed, unsigned backend)
{
    char pdev[64] = "", disk[32], why[128] = "", path[160];
    if (platform_device_of_vda(pdev, sizeof(pdev))) {
        fail("pool-outside", "vda has no platform device");
        return;
    }
    if (pattern_roundtrip("vda", seed, 0, 4096, why, sizeof(why))) {
        fail("pool-outside", "the pattern through the kernel first: %s", why);
        return;
    }
    /* gntalloc grants the first 4 KiB of each of its pages: one Xen page each. */
    if (sysconf(_SC_PAGESIZE) != 4096) {
        fail("pool-outside", "needs 4 KiB pages, not %ld", sysconf(_SC_PAGESIZE));
        return;
    }
    unsigned long base = strtoul(pdev, NULL, 16);
    struct gntalloc_alloc ga = {.domid = (uint16_t)backend, .flags = GNTALLOC_FLAG_WRITABLE,
                                .count = NPAGES};
    int gfd = open("/dev/xen/gntalloc", O_RDWR);
    if (gfd < 0 || ioctl(gfd, IOCTL_GNTALLOC_ALLOC_GREF, &ga)) {
        fail("pool-outside", "gntalloc: %s", strerror(errno));
        return;
    }
    struct udrv d = {0};
    uint8_t *pages = mmap(NULL, NPAGES * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, gfd,
                          (off_t)ga.index);
    if (pages == MAP_FAILED) {
        fail("pool-outside", "mmap of the granted pages: %s", strerror(errno));
        return;
    }
    for (unsigned i = 0; i < NPAGES; i++) {
        d.page[i] = pages + i * 4096;
        d.ref[i] = ga.gref_ids[i];
        memset(d.page[i], 0, 4096);
    }
    /* The registers only once the kernel has let go of them (and their region). */
    snprintf(path, sizeof(path), "%s/unbind", MMIO_DRIVER);
    int err = write_text(path, pdev);
    if (err) {
        fail("pool-outside", "unbind %s: %s", pdev, strerror(-err));
        return;
    }
    int mem = open("/dev/mem", O_RDWR | O_SYNC);
    void *regs = mem < 0 ? MAP_FAILED
                         : mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mem,
                                (off_t)(base & ~4095ul));
    if (regs == MAP_FAILED) {
        fail("pool-outside", "/dev/mem at 0x%lx: %s", base, strerror(errno));
        return;
    }
    d.regs = (volatile uint32_t *)regs + (base & 4095) / 4;
    printf("E2E INFO pool-outside: %s at 0x%lx, grant refs desc %u avail %u used %u pool %u "
           "outside %u\n", pdev, base, d.ref[P_DESC], d.ref[P_AVAIL], d.ref[P_USED],
           d.ref[P_POOL], d.ref[P_OUTSIDE]);
    if (bring_up(&d) == 0)
        inside_then_outside(&d, seed);
    wr(&d, R_STATUS, 0);
    uint32_t st = rd(&d, R_STATUS);
    munmap(regs, 4096);
    close(mem);
    munmap(pages, NPAGES * 4096);
    close(gfd); /* gntalloc ends the grants once the backend has unmapped them */
    snprintf(path, sizeof(path), "%s/bind", MMIO_DRIVER);
    err = write_text(path, pdev);
    if (st != 0 || err || disk_of(pdev, disk, sizeof(disk)) ||
        pattern_roundtrip(disk, seed + 7, 1 << 20, 64 << 10, why, sizeof(why)))
        fail("pool-recovered", "status 0x%x after the reset, bind %d: %s", st, err,
             err ? strerror(-err) : why);
    else
        pass("pool-recovered", "reset, bound again as %s, 64 KiB written and read back", disk);
}
