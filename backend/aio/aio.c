/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "aio/aio.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"

const char *aio_engine_name(enum aio_engine e)
{
    return e == AIO_ENGINE_URING ? "io_uring" : "sync";
}

static const char *const pref_names[] = { "auto", "io_uring", "sync" };

const char *aio_pref_name(enum aio_pref p)
{
    return p <= AIO_PREF_SYNC ? pref_names[p] : "?";
}

int aio_pref_parse(const char *s, enum aio_pref *p)
{
    for (unsigned i = 0; i <= AIO_PREF_SYNC; i++)
        if (!strcmp(s, pref_names[i])) {
            *p = (enum aio_pref)i;
            return 0;
        }
    return -EINVAL;
}

/*
 * A second open file description of the image, for the ring alone.  The
 * kernel releases a ring's registered files asynchronously, after the
 * process is gone; registered as it is, the image's own description would
 * keep the launcher's flock() a moment longer, and a guest rebooting at once
 * would find its disk "in use".  Before the jail, so /proc is still there.
 */
static int reopen_image(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    char path[32];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int r = open(path, (fl & (O_ACCMODE | O_DIRECT)) | O_CLOEXEC);
    if (r < 0)
        return -errno;
    struct stat a, b;
    if (fstat(fd, &a) < 0 || fstat(r, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
        close(r);
        return -ESTALE;
    }
    return r;
}

/* The ring's whole capability set, fixed before the first request. */
static int lock_down(struct io_uring *ring, int image_fd)
{
    int own = reopen_image(image_fd);
    if (own < 0)
        return own;
    int rc = io_uring_register_files(ring, &own, 1);
    close(own); /* the ring holds its own reference now */
    if (rc < 0)
        return rc;
    struct io_uring_restriction res[4];
    memset(res, 0, sizeof(res));
    res[0].opcode = IORING_RESTRICTION_SQE_OP;
    res[0].sqe_op = IORING_OP_READV;
    res[1].opcode = IORING_RESTRICTION_SQE_OP;
    res[1].sqe_op = IORING_OP_WRITEV;
    res[2].opcode = IORING_RESTRICTION_SQE_OP;
    res[2].sqe_op = IORING_OP_FSYNC;
    res[3].opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
    res[3].sqe_flags = IOSQE_FIXED_FILE;
    /*
     * No IORING_RESTRICTION_REGISTER_OP: once enabled, nothing more can be
     * registered.  The raw calls, because Debian's liburing 2.3 does not
     * export io_uring_register_restrictions or io_uring_enable_rings.
     */
    rc = io_uring_register(ring->ring_fd, IORING_REGISTER_RESTRICTIONS, res, 4);
    if (rc < 0)
        return rc;
    return io_uring_register(ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
}

int aio_init(struct aio *a, int image_fd, enum aio_pref pref)
{
    memset(a, 0, sizeof(*a));
    a->engine = AIO_ENGINE_SYNC;
    a->image_fd = image_fd;
    if (pref == AIO_PREF_SYNC)
        return 0;
    a->ring = calloc(1, sizeof(*a->ring));
    if (!a->ring)
        return -ENOMEM;
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_R_DISABLED;
    int rc = io_uring_queue_init_params(AIO_DEPTH, a->ring, &p);
    const char *step = "io_uring_setup";
    if (rc == 0) {
        step = "io_uring restrictions";
        rc = lock_down(a->ring, image_fd);
        if (rc < 0)
            io_uring_queue_exit(a->ring);
    }
    if (rc < 0) {
        free(a->ring);
        a->ring = NULL;
        if (pref == AIO_PREF_URING) {
            vg_err("--aio=io_uring: %s: %s", step, strerror(-rc));
            return rc;
        }
        vg_warn("%s: %s: serving the image with synchronous calls", step, strerror(-rc));
        return 0;
    }
    a->engine = AIO_ENGINE_URING;
    return 0;
}

void aio_fini(struct aio *a)
{
    if (a->engine == AIO_ENGINE_URING)
        io_uring_queue_exit(a->ring);
    free(a->ring);
    a->ring = NULL;
    a->engine = AIO_ENGINE_SYNC;
}

int aio_ring_fd(const struct aio *a)
{
    return a->engine == AIO_ENGINE_URING ? a->ring->ring_fd : -1;
}

bool aio_is_async(const struct aio *a)
{
    return a->engine == AIO_ENGINE_URING;
}

static struct io_uring_sqe *next_sqe(struct aio *a)
{
    if (a->engine != AIO_ENGINE_URING || a->inflight + a->queued >= AIO_DEPTH)
        return NULL;
    return io_uring_get_sqe(a->ring);
}

int aio_queue_rw(struct aio *a, bool write, const struct iovec *iov, unsigned iovcnt,
                 uint64_t off, bool dsync, void *user)
{
    struct io_uring_sqe *sqe = next_sqe(a);
    if (!sqe)
        return -EAGAIN;
    /* Index 0 of the registered files: the image, the only file the ring may touch. */
    if (write)
        io_uring_prep_writev(sqe, 0, iov, iovcnt, off);
    else
        io_uring_prep_readv(sqe, 0, iov, iovcnt, off);
    sqe->flags |= IOSQE_FIXED_FILE;
    if (write && dsync)
        sqe->rw_flags = RWF_DSYNC;
    io_uring_sqe_set_data(sqe, user);
    a->queued++;
    return 0;
}

int aio_queue_fdatasync(struct aio *a, void *user)
{
    struct io_uring_sqe *sqe = next_sqe(a);
    if (!sqe)
        return -EAGAIN;
    io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data(sqe, user);
    a->queued++;
    return 0;
}

int aio_submit(struct aio *a)
{
    if (a->engine != AIO_ENGINE_URING || a->queued == 0)
        return 0;
    int rc;
    do {
        rc = io_uring_submit(a->ring);
    } while (rc == -EINTR);
    a->stats.enters++;
    if (rc < 0)
        return rc;
    /* The kernel may take fewer than queued (it ran out of requests): the rest stay queued. */
    unsigned n = (unsigned)rc < a->queued ? (unsigned)rc : a->queued;
    a->stats.submitted += n;
    a->inflight += n;
    a->queued -= n;
    return (int)n;
}

int aio_reap(struct aio *a, bool wait, aio_done_fn done, void *ctx)
{
    if (a->engine != AIO_ENGINE_URING)
        return 0;
    int n = 0;
    for (;;) {
        struct io_uring_cqe *cqe;
        int rc = io_uring_peek_cqe(a->ring, &cqe);
        if (rc == -EAGAIN && wait && n == 0 && a->inflight) {
            a->stats.enters++;
            rc = io_uring_wait_cqe(a->ring, &cqe);
            if (rc == -EINTR)
                continue;
        }
        if (rc == -EAGAIN)
            return n;
        if (rc < 0)
            return rc;
        void *user = io_uring_cqe_get_data(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(a->ring, cqe);
        a->inflight--;
        a->stats.completed++;
        n++;
        done(user, res, ctx);
    }
}
