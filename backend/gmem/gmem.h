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

/*
 * GMEM_GRANT_COPY: grant addresses as in GMEM_GRANT, but a chain's data never
 * mapped: xengnttab_grant_copy moves it into private bounce pages before the
 * device sees it and back out before the used entry (the rings are mapped).
 */
enum gmem_mode { GMEM_GRANT, GMEM_FOREIGN, GMEM_FOREIGN_PREMAP, GMEM_GRANT_COPY };

static inline bool gmem_mode_is_grant(enum gmem_mode m)
{
    return m == GMEM_GRANT || m == GMEM_GRANT_COPY;
}

/* Linux grant DMA ops: bit 63 marks a grant address, ref in bits 12..62. */
#define GMEM_GRANT_FLAG (1ull << 63)
/* Pages one chain may map; bounds what a guest can make us map at once. */
#define GMEM_MAX_CHAIN_PAGES 2048u
/* Buffers one chain may carry. */
#define GMEM_MAX_BUFS 256u

struct gmem_stats {
    uint64_t map_calls, unmap_calls, pages_mapped;
    uint64_t persist_hits, persist_misses, persist_evictions;
    uint64_t copy_calls, copy_bytes; /* grant-copy mode */
    uint64_t pages_now, pages_peak;  /* guest pages mapped into the backend, rings included */
    uint64_t pages_peak_window;      /* the peak since the last stats report (SIGUSR1) */
};


/* Grant-copy mode's bounce pages: one maximal chain's worth, shared by the chains in flight. */
struct gmem_copy {
    uint8_t *arena;
    uint8_t used[GMEM_MAX_CHAIN_PAGES / 8]; /* a bit per page */
    uint32_t pages_used;
    struct xengnttab_grant_copy_segment *segs; /* GMEM_MAX_CHAIN_PAGES of them */
};

/*
 * Persistent grant mappings, for a driver that negotiated VIRTIO_F_GRANT_POOL:
 * it bounces every buffer through a pool it keeps granted while the device is
 * live, so a mapping of a buffer's pages stays valid after the request and can
 * serve any later request that names pages inside it.  A buffer's slot moves
 * through the pool (Linux's swiotlb hands out 2 KiB slots round-robin), so on
 * a miss the aligned chunk of GMEM_PERSIST_CHUNK refs around the buffer is
 * mapped, clipped to the lowest and highest ref the driver has named since the
 * last reset: never a ref beyond those the guest put on the ring itself.
 * Bounded, evicted least recently used, and dropped whole on reset.  Entries
 * outnumber the buffers of one chain and the page budget holds one maximal
 * chain, so a chain never evicts its own mappings and the grant budget is that
 * of per-request maps.  The span accessors still bound every access to the
 * buffer and its direction.
 */
#define GMEM_PERSIST_ENTRIES (2 * GMEM_MAX_BUFS)
#define GMEM_PERSIST_PAGES GMEM_MAX_CHAIN_PAGES
#define GMEM_PERSIST_CHUNK 64u
/* An announced pool: Linux's grant DMA pool is at most 1024 pages. */
#define GMEM_POOL_MAX_PAGES 1024u

struct gmem_persist_entry {
    uint8_t *addr; /* NULL: free */
    uint32_t first_ref, npages;
    bool writable;
    uint32_t pins; /* spans of chains in flight that point into it: not evictable */
    uint64_t last_use;
};

struct gmem_persist {
    bool enabled;
    uint64_t tick;
    uint32_t pages;
    uint32_t pins, call_pins; /* all pins; those taken by the current map call */
    uint64_t seen_lo, seen_hi;  /* refs named since the last reset; none: seen_hi 0 */
    struct gmem_persist_entry e[GMEM_PERSIST_ENTRIES];
    /* The pool the driver announced (gmem_pool_announce): mapped whole, or NULL. */
    uint8_t *pool;
    uint32_t pool_first, pool_npages;
};

struct gmem {
    enum gmem_mode mode;
    uint16_t domid;
    xengnttab_handle *gnt;          /* grant mode */
    xenforeignmemory_handle *fmem;  /* foreign modes (and the ioreq page, elsewhere) */
    uint64_t ram_base, ram_size;    /* foreign modes: guest RAM window */
    uint8_t *premap;                /* foreign premap: all of guest RAM */
    struct gmem_persist persist;    /* grant mode with a pool driver */
    struct gmem_copy copy;          /* grant-copy mode */
    uint32_t data_pages;            /* pages of per-request data maps now mapped */
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
    uint16_t pin; /* persistent entry index + 1 this span holds, 0 none */
    uint64_t guest; /* the address as on the ring: grant-copy mode copies back to it */
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
    uint32_t data_pages; /* what gmem_map_data counted against its budget */
    uint32_t copy_first, copy_pages; /* grant-copy mode: its run of bounce pages */
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
/*
 * The same for the data buffers of a request: once persistent mappings are
 * enabled, each buffer comes from (or is added to) them and gmem_unmap leaves
 * it mapped.  Never used for rings, whose mappings must outlive any eviction.
 *
 * Chains may be in flight together (an asynchronous device), so what their
 * data maps hold at once is bounded: per-request maps by GMEM_MAX_CHAIN_PAGES
 * in all, persistent mappings by their own budget, and an entry a chain in
 * flight points into is never evicted.  -EBUSY: this chain does not fit
 * beside the chains in flight, but would alone; retry once one completes.
 */
int gmem_map_data(struct gmem *g, const struct gmem_buf *bufs, unsigned n, struct gmem_sg *sg);
void gmem_unmap(struct gmem *g, struct gmem_sg *sg);

/*
 * Batches: the data buffers of several chains (those one notify brought)
 * mapped in one call per direction, in the modes that map each request's
 * data (grant without a pool, foreign).  The chains' sgs point into the
 * batch's mappings and own none of them (gmem_unmap on one releases
 * nothing); gmem_unmap_batch releases them all at once, so no chain of a
 * batch may publish its used entry before every chain of it is done.
 */
struct gmem_batch {
    struct gmem_mapping map[2]; /* one per direction */
    unsigned nmaps;
    uint32_t data_pages;
};
struct gmem_batch_chain {
    const struct gmem_buf *bufs;
    unsigned n;
    struct gmem_sg *sg;
};
/* Batching needs per-request data maps: grant without a pool, or foreign.
 * Inline, so the transport's proof runs this rule, not a model of it. */
static inline bool gmem_can_batch(const struct gmem *g)
{
    return (g->mode == GMEM_GRANT && !g->persist.enabled) || g->mode == GMEM_FOREIGN;
}
/* The pages a chain's data would map; negative errno as gmem_map_bufs. */
int gmem_data_pages(const struct gmem *g, const struct gmem_buf *bufs, unsigned n,
                    uint32_t *pages);
/* Pages per-request maps may still take beside the chains in flight. */
uint32_t gmem_data_room(const struct gmem *g);
/* Errors as gmem_map_data, for the batch as a whole; nothing stays mapped on failure. */
int gmem_map_batch(struct gmem *g, const struct gmem_batch_chain *c, unsigned k,
                   struct gmem_batch *b);
void gmem_unmap_batch(struct gmem *g, struct gmem_batch *b);
/* Count pages mapped (positive) or unmapped (negative) towards the exposure peak. */
void gmem_account(struct gmem *g, int64_t pages);
/*
 * The device is done with sg and its used entry comes next: grant-copy mode
 * first copies the device-writable spans back to the guest, then everything
 * is released as by gmem_unmap.  -EFAULT: the guest's grants refused the copy
 * (not granted writable, or revoked), a guest error like a failed map.
 */
int gmem_finish(struct gmem *g, struct gmem_sg *sg);

/* Grant mode only: keep data mappings (the driver keeps its grants), or not. */
void gmem_persist_enable(struct gmem *g, bool on);
/* Unmap every persistent mapping, an announced pool too: on reset, on a broken device, at teardown. */
void gmem_persist_flush(struct gmem *g);
/*
 * The driver announced its pool: npages consecutive grant refs from the grant
 * address addr.  Mapped read-write in one call; from then on every data
 * buffer must lie inside it (gmem_map_data refuses any other with -EACCES)
 * and is served from that mapping.  -EINVAL: not a page-aligned grant
 * address, no pages, more than GMEM_POOL_MAX_PAGES, refs past 2^32, or no
 * pool negotiated; -EALREADY: a pool is already announced; -EFAULT: the
 * pages are not all granted to us.  Released by gmem_persist_flush.
 */
int gmem_pool_announce(struct gmem *g, uint64_t addr, uint32_t npages);
/* Does any page of b fall inside the announced pool? */
bool gmem_pool_overlaps(const struct gmem *g, const struct gmem_buf *b);

/*
 * Copy one small guest buffer (an indirect table) into dst, b->len bytes:
 * grant copy in grant-copy mode, else a mapping held only for the copy.  It
 * never waits for the chains in flight: a table that does not fit the data
 * budget beside them is mapped outside it, as it is gone again at once.
 * Negative errno as gmem_map_bufs.
 */
int gmem_fetch(struct gmem *g, const struct gmem_buf *b, void *dst);

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
/* "grant", "foreign", "foreign-premap" or "grant-copy"; -EINVAL otherwise. */
int gmem_mode_parse(const char *s, enum gmem_mode *m);

#endif
