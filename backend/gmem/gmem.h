/* SPDX-License-Identifier: MIT */
/*
 * Guest memory access.  A gmem_span is the only way the backend touches guest
 * memory: it is produced by mapping exactly what the guest named (granted
 * pages in grant mode, guest frames in foreign mode), and every access goes
 * through gmem_span_read/gmem_span_write, which check the range.
 */
#ifndef VG_GMEM_H
#define VG_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>

enum gmem_mode { GMEM_GRANT, GMEM_FOREIGN, GMEM_FOREIGN_PREMAP };

/* Linux grant DMA ops: bit 63 marks a grant address, ref in bits 12..62. */
#define GMEM_GRANT_FLAG (1ull << 63)
/* Pages one chain may map; bounds what a guest can make us map at once. */
#define GMEM_MAX_CHAIN_PAGES 2048u
/* Buffers one chain may carry. */
#define GMEM_MAX_BUFS 256u

struct gmem_stats {
    uint64_t map_calls, unmap_calls, pages_mapped;
};

struct gmem {
    enum gmem_mode mode;
    uint16_t domid;
    xengnttab_handle *gnt;          /* grant mode */
    xenforeignmemory_handle *fmem;  /* foreign modes (and the ioreq page, elsewhere) */
    uint64_t ram_base, ram_size;    /* foreign modes: guest RAM window */
    uint8_t *premap;                /* foreign premap: all of guest RAM */
    struct gmem_stats stats;
};

/* A guest buffer as the guest described it (address as on the ring). */
struct gmem_buf {
    uint64_t addr;
    uint32_t len;
    bool writable; /* device-writable */
};

struct gmem_span {
    uint8_t *host;
    uint32_t len;
    bool writable;
};

struct gmem_mapping {
    void *addr;
    uint32_t pages;
};

/* The spans of one set of buffers, in order, and what must be unmapped. */
struct gmem_sg {
    struct gmem_span span[GMEM_MAX_BUFS];
    unsigned n;
    struct gmem_mapping map[2]; /* one per direction */
    unsigned nmaps;
};

int gmem_init(struct gmem *g, enum gmem_mode mode, uint16_t domid, xengnttab_handle *gnt,
              xenforeignmemory_handle *fmem, uint64_t ram_base, uint64_t ram_size);
void gmem_fini(struct gmem *g);

/*
 * Map bufs[0..n) in one call per direction (read-only for device-readable
 * buffers).  Returns 0, or a negative errno that always means "the guest
 * named memory it may not give us": -EINVAL malformed address, -EFAULT not
 * granted/mapped, -E2BIG too many pages.
 */
int gmem_map_bufs(struct gmem *g, const struct gmem_buf *bufs, unsigned n, struct gmem_sg *sg);
void gmem_unmap(struct gmem *g, struct gmem_sg *sg);

int gmem_span_read(const struct gmem_span *s, uint64_t off, void *dst, size_t len);
int gmem_span_write(const struct gmem_span *s, uint64_t off, const void *src, size_t len);

/* Copy across the readable (or writable) spans of sg as one byte stream. */
int gmem_sg_read(const struct gmem_sg *sg, uint64_t off, void *dst, size_t len);
int gmem_sg_write(const struct gmem_sg *sg, uint64_t off, const void *src, size_t len);
/* Describe [off, off+len) of the readable/writable stream as iovecs for
 * preadv/pwritev; returns the iovec count or a negative errno. */
int gmem_sg_iov(const struct gmem_sg *sg, bool writable, uint64_t off, uint64_t len,
                struct iovec *iov, unsigned max_iov);
uint64_t gmem_sg_len(const struct gmem_sg *sg, bool writable);

const char *gmem_mode_name(enum gmem_mode m);

#endif
