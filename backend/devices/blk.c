/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "devices/blk.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/checked.h"
#include "common/log.h"

#define BLK_HDR_BYTES 16u
#define BLK_SEG_BYTES 16u
#define VIRTIO_BLK_WZ_F_UNMAP 1u

/* struct virtio_blk_config up to write_zeroes_may_unmap, little-endian. */
#define CFG_CAPACITY 0
#define CFG_SIZE_MAX 8
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20
#define CFG_NUM_QUEUES 34
#define CFG_MAX_DISCARD_SECTORS 36
#define CFG_MAX_DISCARD_SEG 40
#define CFG_DISCARD_ALIGN 44
#define CFG_MAX_WZ_SECTORS 48
#define CFG_MAX_WZ_SEG 52
#define CFG_WZ_MAY_UNMAP 56
#define CFG_BYTES 60

int blk_open_fd(struct blk_dev *b, int fd, bool read_only, const char *serial,
                uint16_t queue_size)
{
    memset(b, 0, sizeof(*b));
    b->fd = fd;
    struct stat st;
    uint64_t bytes = 0;
    if (fstat(b->fd, &st) < 0)
        goto fail;
    if (S_ISBLK(st.st_mode)) {
        b->is_blockdev = true;
        if (ioctl(b->fd, BLKGETSIZE64, &bytes) < 0)
            goto fail;
    } else if (S_ISREG(st.st_mode)) {
        bytes = (uint64_t)st.st_size;
    } else {
        errno = EINVAL;
        goto fail;
    }
    /* A trailing partial sector is not addressable by the guest. */
    b->capacity = bytes / VIRTIO_BLK_SECTOR;
    b->read_only = read_only;
    /* Two descriptors go to the header and the status byte. */
    b->seg_max = queue_size > 66 ? 64 : (uint32_t)queue_size - 2;
    /* zero-padded and not terminated when 20 bytes long, per spec */
    if (serial)
        memcpy(b->id, serial, strnlen(serial, sizeof(b->id)));
    return 0;
fail:;
    int e = errno;
    close(b->fd);
    b->fd = -1;
    return -e;
}

int blk_open(struct blk_dev *b, const char *path, bool read_only, const char *serial,
             uint16_t queue_size)
{
    int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    return blk_open_fd(b, fd, read_only, serial, queue_size);
}

_Static_assert(AIO_DEPTH >= VDEV_MAX_PENDING, "one ring entry per chain in flight");

int blk_start_aio(struct blk_dev *b, enum aio_pref pref)
{
    int rc = aio_init(&b->aio, b->fd, pref);
    if (rc < 0 || !aio_is_async(&b->aio))
        return rc;
    b->req = calloc(VDEV_MAX_PENDING, sizeof(*b->req));
    if (!b->req) {
        aio_fini(&b->aio);
        return -ENOMEM;
    }
    return 0;
}

int blk_event_fd(const struct blk_dev *b)
{
    return aio_ring_fd(&b->aio);
}

void blk_close(struct blk_dev *b)
{
    aio_fini(&b->aio);
    free(b->req);
    b->req = NULL;
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
}

static uint64_t blk_features(void *dev)
{
    struct blk_dev *b = dev;
    uint64_t f = (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
                 (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) |
                 (1ull << VIRTIO_BLK_F_MQ);
    if (b->read_only)
        f |= 1ull << VIRTIO_BLK_F_RO;
    else if (!b->is_blockdev)
        f |= (1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
    return f;
}

static void blk_set_features(void *dev, uint64_t f)
{
    ((struct blk_dev *)dev)->features = f;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, 4);
}

static int blk_config_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
    struct blk_dev *b = dev;
    uint8_t cfg[CFG_BYTES] = { 0 };
    if (!vg_range_ok(off, len, sizeof(cfg)))
        return -ERANGE;
    uint64_t cap = htole64(b->capacity);
    memcpy(cfg + CFG_CAPACITY, &cap, 8);
    put_le32(cfg + CFG_SIZE_MAX, BLK_SIZE_MAX);
    put_le32(cfg + CFG_SEG_MAX, b->seg_max);
    put_le32(cfg + CFG_BLK_SIZE, VIRTIO_BLK_SECTOR);
    uint16_t nq = htole16(BLK_NUM_QUEUES);
    memcpy(cfg + CFG_NUM_QUEUES, &nq, 2);
    put_le32(cfg + CFG_MAX_DISCARD_SECTORS, BLK_MAX_DISCARD_SECTORS);
    put_le32(cfg + CFG_MAX_DISCARD_SEG, BLK_MAX_DISCARD_SEG);
    put_le32(cfg + CFG_DISCARD_ALIGN, 1);
    put_le32(cfg + CFG_MAX_WZ_SECTORS, BLK_MAX_DISCARD_SECTORS);
    put_le32(cfg + CFG_MAX_WZ_SEG, BLK_MAX_DISCARD_SEG);
    cfg[CFG_WZ_MAY_UNMAP] = 1;
    memcpy(buf, cfg + off, len);
    return 0;
}

static int blk_config_write(void *dev, uint32_t off, const void *buf, uint32_t len)
{
    (void)dev;
    (void)buf;
    /* Only "writeback" is writable in the spec, and we do not offer it. */
    vg_log_guest("blk: ignored config write at 0x%x len %u", off, len);
    return off < CFG_BYTES ? 0 : -ERANGE;
}

void (*blk_read_dest_hook)(const struct iovec *iov, int iovcnt);

/* The request stays inside the disk: sector + n <= capacity, no wrap. */
static bool in_capacity(const struct blk_dev *b, uint64_t sector, uint64_t nsectors)
{
    return vg_range_ok(sector, nsectors, b->capacity);
}

static int rw_full(int fd, bool write, struct iovec *iov, int iovcnt, off_t off)
{
    while (iovcnt > 0) {
        ssize_t n = write ? pwritev(fd, iov, iovcnt, off) : preadv(fd, iov, iovcnt, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        off += n;
        while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

/*
 * Without VIRTIO_BLK_F_FLUSH the driver believes the device has no volatile
 * cache, so a completed write must already be on stable storage.
 */
static int write_through(struct blk_dev *b)
{
    if (b->features & (1ull << VIRTIO_BLK_F_FLUSH))
        return 0;
    b->ctr.write_through_syncs++;
    return fdatasync(b->fd) == 0 ? 0 : -errno;
}

/* What the sync engine did, or BLK_QUEUED: the request waits in the ring. */
#define BLK_QUEUED 0x100

static void count_rw(struct blk_dev *b, bool write, uint64_t len)
{
    if (write) {
        b->ctr.writes++;
        b->ctr.bytes_written += len;
    } else {
        b->ctr.reads++;
        b->ctr.bytes_read += len;
    }
}

static struct blk_req *free_req(struct blk_dev *b)
{
    for (unsigned i = 0; b->req && b->host && !b->aio_failed && i < VDEV_MAX_PENDING; i++)
        if (!b->req[i].busy)
            return &b->req[i];
    return NULL;
}

static int queue_req(struct blk_dev *b, struct blk_req *r)
{
    if (b->aio_failed)
        return -EIO; /* the ring is never entered again (blk_kick) */
    int rc = r->flush ? aio_queue_fdatasync(&b->aio, r)
                      : aio_queue_rw(&b->aio, r->write, r->iov + r->cur, r->iovcnt - r->cur,
                                     r->off,
                                     r->write && !(b->features & (1ull << VIRTIO_BLK_F_FLUSH)),
                                     r);
    if (rc == 0)
        b->queued[b->nqueued++] = (uint16_t)(r - b->req);
    return rc;
}

static int blk_rw(struct blk_dev *b, bool write, uint64_t sector, const struct gmem_sg *sg,
                  uint64_t data_off, uint64_t data_len, struct blk_req *r)
{
    struct iovec sync_iov[GMEM_MAX_BUFS];
    struct iovec *iov = r ? r->iov : sync_iov;
    if (data_len % VIRTIO_BLK_SECTOR) {
        vg_log_guest("blk: data length %llu not a multiple of 512", (unsigned long long)data_len);
        return VIRTIO_BLK_S_IOERR;
    }
    if (!in_capacity(b, sector, data_len / VIRTIO_BLK_SECTOR)) {
        vg_log_guest("blk: sector %llu + %llu beyond capacity %llu", (unsigned long long)sector,
                     (unsigned long long)(data_len / VIRTIO_BLK_SECTOR),
                     (unsigned long long)b->capacity);
        return VIRTIO_BLK_S_IOERR;
    }
    if (write && b->read_only)
        return VIRTIO_BLK_S_IOERR;
    if (data_len == 0)
        return VIRTIO_BLK_S_OK;
    int n = gmem_sg_iov(sg, !write, data_off, data_len, iov, GMEM_MAX_BUFS);
    if (n < 0)
        return VIRTIO_BLK_S_IOERR;
    if (!write && blk_read_dest_hook)
        blk_read_dest_hook(iov, n);
    if (r) {
        r->write = write;
        r->flush = false;
        r->off = sector * VIRTIO_BLK_SECTOR;
        r->left = r->len = data_len;
        r->iovcnt = (unsigned)n;
        r->cur = 0;
        return queue_req(b, r) == 0 ? BLK_QUEUED : VIRTIO_BLK_S_IOERR;
    }
    int rc = rw_full(b->fd, write, iov, n, (off_t)(sector * VIRTIO_BLK_SECTOR));
    if (rc == 0 && write)
        rc = write_through(b);
    if (rc < 0) {
        vg_warn("blk: %s at sector %llu failed: %s", write ? "write" : "read",
                (unsigned long long)sector, strerror(-rc));
        return VIRTIO_BLK_S_IOERR;
    }
    count_rw(b, write, data_len);
    return VIRTIO_BLK_S_OK;
}

static void count_status(struct blk_dev *b, uint8_t status)
{
    if (status == VIRTIO_BLK_S_IOERR)
        b->ctr.ioerr++;
    else if (status == VIRTIO_BLK_S_UNSUPP)
        b->ctr.unsupp++;
}

/* The status byte, then the chain back to the transport: the last touch of r. */
static void finish_req(struct blk_dev *b, struct blk_req *r, uint8_t status)
{
    count_status(b, status);
    int rc = gmem_sg_write(r->sg, r->status_off, &status, 1) < 0 ? -EFAULT : 0;
    uint32_t written = status == VIRTIO_BLK_S_OK ? r->out : 1;
    void *tag = r->tag;
    r->busy = false;
    b->host->complete(b->host->opaque, tag, rc, written);
}

/* Move past the bytes a short transfer did move. */
static void advance(struct blk_req *r, uint64_t done)
{
    r->off += done;
    r->left -= done;
    while (r->cur < r->iovcnt && done >= r->iov[r->cur].iov_len)
        done -= r->iov[r->cur++].iov_len;
    if (r->cur < r->iovcnt) {
        r->iov[r->cur].iov_base = (uint8_t *)r->iov[r->cur].iov_base + done;
        r->iov[r->cur].iov_len -= (size_t)done;
    }
}

static void blk_io_done(void *user, int res, void *ctx)
{
    struct blk_dev *b = ctx;
    struct blk_req *r = user;
    if (r < b->req || r >= b->req + VDEV_MAX_PENDING || !r->busy)
        return;
    if (r->flush) {
        b->ctr.flushes++;
        finish_req(b, r, res < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
        return;
    }
    if (res > 0 && (uint64_t)res < r->left) {
        /* Short: the rest goes back in the ring, as rw_full loops for the sync engine. */
        b->aio.stats.short_transfers++;
        advance(r, (uint64_t)res);
        if (queue_req(b, r) == 0)
            return;
        res = -EIO;
    }
    if (res <= 0) {
        vg_warn("blk: %s at offset %llu failed: %s", r->write ? "write" : "read",
                (unsigned long long)r->off, res < 0 ? strerror(-res) : "end of file");
        finish_req(b, r, VIRTIO_BLK_S_IOERR);
        return;
    }
    if (r->write && !(b->features & (1ull << VIRTIO_BLK_F_FLUSH)))
        b->ctr.write_through_syncs++; /* RWF_DSYNC did it */
    count_rw(b, r->write, r->len);
    finish_req(b, r, VIRTIO_BLK_S_OK);
}

/*
 * Hand the queued requests to the kernel, in order.  If the ring refuses
 * (the host is out of resources: the bounds above keep both rings from
 * overflowing), the requests it did not take fail with IOERR, and so does
 * every later request: the ring still holds their entries, so it is never
 * entered to submit again.
 */
static void blk_kick(void *dev)
{
    struct blk_dev *b = dev;
    unsigned n = b->nqueued, done = 0;
    int rc = 0;
    if (n == 0 || b->aio_failed)
        return;
    while (done < n && (rc = aio_submit(&b->aio)) > 0)
        done += (unsigned)rc;
    uint16_t left[VDEV_MAX_PENDING]; /* completing them below may queue nothing more */
    memcpy(left, b->queued + done, (n - done) * sizeof(left[0]));
    b->nqueued = 0;
    if (done == n)
        return;
    vg_err("blk: io_uring took %u of %u requests (%s); image I/O fails from now on", done, n,
           rc < 0 ? strerror(-rc) : "no progress");
    b->aio_failed = true;
    for (unsigned i = 0; i < n - done; i++)
        finish_req(b, &b->req[left[i]], VIRTIO_BLK_S_IOERR);
}

static void blk_poll(void *dev, bool drain)
{
    struct blk_dev *b = dev;
    do {
        blk_kick(b);
        int rc = aio_reap(&b->aio, drain, blk_io_done, b);
        if (rc < 0) {
            vg_err("blk: io_uring completion wait failed: %s", strerror(-rc));
            break;
        }
    } while (drain && (b->aio.inflight || b->nqueued));
    blk_kick(b); /* short transfers queued again while reaping */
}

static void blk_attach(void *dev, const struct vdev_host *host)
{
    ((struct blk_dev *)dev)->host = host;
}

static int zero_range(int fd, uint64_t off, uint64_t len)
{
    if (fallocate(fd, FALLOC_FL_ZERO_RANGE, (off_t)off, (off_t)len) == 0)
        return 0;
    static const uint8_t zeros[65536];
    while (len) {
        size_t n = len > sizeof(zeros) ? sizeof(zeros) : (size_t)len;
        ssize_t w = pwrite(fd, zeros, n, (off_t)off);
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        off += (uint64_t)w;
        len -= (uint64_t)w;
    }
    return 0;
}

static uint8_t blk_discard_or_zero(struct blk_dev *b, uint32_t type, const struct gmem_sg *sg,
                                   uint64_t payload)
{
    bool zero = type == VIRTIO_BLK_T_WRITE_ZEROES;
    unsigned feat = zero ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD;
    if (!(b->features & (1ull << feat)))
        return VIRTIO_BLK_S_UNSUPP;
    if (b->read_only)
        return VIRTIO_BLK_S_IOERR;
    if (payload == 0 || payload % BLK_SEG_BYTES || payload / BLK_SEG_BYTES > BLK_MAX_DISCARD_SEG) {
        vg_log_guest("blk: %s payload of %llu bytes", zero ? "write-zeroes" : "discard",
                     (unsigned long long)payload);
        return VIRTIO_BLK_S_IOERR;
    }
    /* Validate every segment before touching the image. */
    struct { uint64_t sector; uint32_t num, flags; } seg[BLK_MAX_DISCARD_SEG];
    unsigned nseg = (unsigned)(payload / BLK_SEG_BYTES);
    for (unsigned i = 0; i < nseg; i++) {
        uint8_t raw[BLK_SEG_BYTES];
        if (gmem_sg_read(sg, BLK_HDR_BYTES + (uint64_t)i * BLK_SEG_BYTES, raw, sizeof(raw)) < 0)
            return VIRTIO_BLK_S_IOERR;
        memcpy(&seg[i].sector, raw, 8);
        memcpy(&seg[i].num, raw + 8, 4);
        memcpy(&seg[i].flags, raw + 12, 4);
        seg[i].sector = le64toh(seg[i].sector);
        seg[i].num = le32toh(seg[i].num);
        seg[i].flags = le32toh(seg[i].flags);
        uint32_t allowed = zero ? VIRTIO_BLK_WZ_F_UNMAP : 0;
        if (seg[i].flags & ~allowed)
            return VIRTIO_BLK_S_UNSUPP;
        if (seg[i].num > BLK_MAX_DISCARD_SECTORS || !in_capacity(b, seg[i].sector, seg[i].num))
            return VIRTIO_BLK_S_IOERR;
    }
    for (unsigned i = 0; i < nseg; i++) {
        uint64_t off = seg[i].sector * VIRTIO_BLK_SECTOR;
        uint64_t len = (uint64_t)seg[i].num * VIRTIO_BLK_SECTOR;
        int rc = 0;
        if (zero)
            rc = zero_range(b->fd, off, len);
        else if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                           (off_t)len) < 0 && errno != EOPNOTSUPP)
            rc = -errno; /* discard is advisory: unsupported is not an error */
        if (rc < 0)
            return VIRTIO_BLK_S_IOERR;
    }
    if (write_through(b) < 0)
        return VIRTIO_BLK_S_IOERR;
    if (zero)
        b->ctr.write_zeroes++;
    else
        b->ctr.discards++;
    return VIRTIO_BLK_S_OK;
}

static int blk_handle_chain(void *dev, unsigned queue, const struct gmem_sg *sg, void *tag,
                            uint32_t *written)
{
    struct blk_dev *b = dev;
    (void)queue;
    int st;
    struct blk_req *r = NULL;
    uint64_t rlen = gmem_sg_len(sg, false), wlen = gmem_sg_len(sg, true);
    *written = 0;
    if (wlen == 0) {
        /* No status byte: the request cannot even be failed. */
        vg_log_guest("blk: request without a writable status byte");
        return -EPROTO;
    }
    uint64_t status_off = wlen - 1;
    uint8_t status = VIRTIO_BLK_S_IOERR;
    uint32_t out = 1;
    uint8_t hdr[BLK_HDR_BYTES];
    if (rlen < BLK_HDR_BYTES || gmem_sg_read(sg, 0, hdr, sizeof(hdr)) < 0) {
        vg_log_guest("blk: request header shorter than 16 bytes");
        goto done;
    }
    uint32_t type;
    uint64_t sector;
    memcpy(&type, hdr, 4);
    memcpy(&sector, hdr + 8, 8);
    type = le32toh(type);
    sector = le64toh(sector);

    /* Reads, writes and flushes go to the ring when there is one, and only
     * there: the jail of the io_uring engine has no preadv, pwritev or fdatasync. */
    if (type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_FLUSH) {
        r = free_req(b);
        if (!r && aio_is_async(&b->aio)) {
            status = VIRTIO_BLK_S_IOERR; /* the engine failed (blk_kick) */
            goto done;
        }
    }
    if (r)
        *r = (struct blk_req){ .busy = true, .tag = tag, .sg = sg, .status_off = status_off,
                               .out = type == VIRTIO_BLK_T_IN ? (uint32_t)wlen : 1 };
    switch (type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        st = type == VIRTIO_BLK_T_IN
                 ? blk_rw(b, false, sector, sg, 0, status_off, r)
                 : blk_rw(b, true, sector, sg, BLK_HDR_BYTES, rlen - BLK_HDR_BYTES, r);
        if (st == BLK_QUEUED)
            return VDEV_PENDING;
        status = (uint8_t)st;
        if (status == VIRTIO_BLK_S_OK && type == VIRTIO_BLK_T_IN)
            out = (uint32_t)wlen;
        break;
    case VIRTIO_BLK_T_FLUSH:
        if (r) {
            r->flush = true;
            if (queue_req(b, r) == 0)
                return VDEV_PENDING;
            status = VIRTIO_BLK_S_IOERR;
            break;
        }
        status = fdatasync(b->fd) == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
        b->ctr.flushes++;
        break;
    case VIRTIO_BLK_T_GET_ID: {
        uint64_t n = status_off < VIRTIO_BLK_ID_BYTES ? status_off : VIRTIO_BLK_ID_BYTES;
        status = gmem_sg_write(sg, 0, b->id, (size_t)n) == 0 ? VIRTIO_BLK_S_OK
                                                               : VIRTIO_BLK_S_IOERR;
        if (status == VIRTIO_BLK_S_OK)
            out = (uint32_t)n + 1;
        b->ctr.get_ids++;
        break;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        status = blk_discard_or_zero(b, type, sg, rlen - BLK_HDR_BYTES);
        break;
    default:
        vg_log_guest("blk: unsupported request type %u", type);
        status = VIRTIO_BLK_S_UNSUPP;
        break;
    }
done:
    if (r)
        r->busy = false; /* finished here after all */
    count_status(b, status);
    if (gmem_sg_write(sg, status_off, &status, 1) < 0)
        return -EFAULT;
    *written = out;
    return 0;
}

static void blk_reset(void *dev)
{
    ((struct blk_dev *)dev)->features = 0;
}

const struct vdev_ops blk_ops = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .num_queues = BLK_NUM_QUEUES, /* all served by this one process, slots shared */
    .queue_size_max = 256,
    .features = blk_features,
    .set_features = blk_set_features,
    .config_read = blk_config_read,
    .config_write = blk_config_write,
    .handle_chain = blk_handle_chain,
    .reset = blk_reset,
    .attach = blk_attach,
    .kick = blk_kick,
    .poll = blk_poll,
};
