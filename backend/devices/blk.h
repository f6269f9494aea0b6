/* SPDX-License-Identifier: MIT */
/* virtio-blk over a raw image file (or block device). */
#ifndef VG_BLK_H
#define VG_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "aio/aio.h"
#include "devices/device.h"

#define VIRTIO_ID_BLOCK 2

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR 512u
#define BLK_SIZE_MAX 65536u
#define BLK_MAX_DISCARD_SECTORS (1u << 22)
#define BLK_MAX_DISCARD_SEG 16u
/* Request queues offered with VIRTIO_BLK_F_MQ (a driver without it uses queue 0). */
#define BLK_NUM_QUEUES 4u

struct blk_counters {
    uint64_t reads, writes, flushes, get_ids, discards, write_zeroes;
    uint64_t ioerr, unsupp, bytes_read, bytes_written, write_through_syncs;
};

/* A read, write or flush the image engine has in flight (asynchronous engine only). */
struct blk_req {
    bool busy, write, flush;
    void *tag;                /* the transport's, handed back at completion */
    const struct gmem_sg *sg; /* stays mapped until then */
    uint64_t off, left;       /* image offset and bytes still to move */
    uint64_t status_off, len;
    uint32_t out;             /* bytes reported written to the guest on success */
    unsigned iovcnt, cur;
    struct iovec iov[GMEM_MAX_BUFS];
};

struct blk_dev {
    int fd;
    bool read_only;
    bool is_blockdev;
    uint64_t capacity; /* sectors */
    uint32_t seg_max;
    uint64_t features; /* accepted */
    char id[VIRTIO_BLK_ID_BYTES];
    struct blk_counters ctr;
    /* Asynchronous image I/O, once blk_start_aio chose io_uring and attach gave a host. */
    struct aio aio;
    bool aio_failed;             /* the ring refused a submission: every later I/O fails */
    struct blk_req *req;         /* VDEV_MAX_PENDING of them */
    uint16_t queued[VDEV_MAX_PENDING]; /* queued since the last submission */
    unsigned nqueued;
    const struct vdev_host *host;
};

extern const struct vdev_ops blk_ops;

struct iovec;
/*
 * Test-only: the probe twin sets it, the daemon never does.  Called with the
 * guest buffers a read is about to fill, before the device writes them, to
 * measure what a backend could see there (stale guest data).
 */
extern void (*blk_read_dest_hook)(const struct iovec *iov, int iovcnt);

/*
 * Serve the image open on fd (a regular file or a block device; the device
 * process is handed it and never opens a path).  Takes fd, closed on
 * failure.  queue_size bounds seg_max; serial NULL leaves the ID empty.
 */
int blk_open_fd(struct blk_dev *b, int fd, bool read_only, const char *serial,
                uint16_t queue_size);
/*
 * Choose the image engine (before the jail): io_uring locked to the image,
 * or synchronous calls.  Without it, or before attach, every request
 * completes inside handle_chain.  0 or negative errno.
 */
int blk_start_aio(struct blk_dev *b, enum aio_pref pref);
/* The engine's fd to poll (readable when completions wait), -1 if none. */
int blk_event_fd(const struct blk_dev *b);
/* The same from a path: for tests and fuzzers only. */
int blk_open(struct blk_dev *b, const char *path, bool read_only, const char *serial,
             uint16_t queue_size);
void blk_close(struct blk_dev *b);

#endif
