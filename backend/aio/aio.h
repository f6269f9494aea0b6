/* SPDX-License-Identifier: MIT */
/*
 * Image I/O with many requests in flight: an io_uring locked down to the
 * image before the jail goes up, or, where io_uring is missing or refused,
 * plain synchronous calls.
 *
 * io_uring operations never pass through seccomp: an unrestricted ring could
 * open files or make sockets behind the filter's back.  So the ring is
 * created disabled, the image is registered as its only file, and
 * IORING_REGISTER_RESTRICTIONS allows READV, WRITEV and FSYNC on registered
 * files only (IOSQE_FIXED_FILE required) and no later registration at all;
 * only then is it enabled.  The jailed process may call io_uring_enter on
 * this ring's fd and nothing else io_uring.
 */
#ifndef VG_AIO_H
#define VG_AIO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum aio_engine { AIO_ENGINE_SYNC, AIO_ENGINE_URING };
enum aio_pref { AIO_PREF_AUTO, AIO_PREF_URING, AIO_PREF_SYNC };

/* Requests one device keeps in flight; also the ring's submission queue size. */
#define AIO_DEPTH 64u

struct aio_stats {
    uint64_t submitted, completed, enters, short_transfers;
};

struct io_uring;

struct aio {
    enum aio_engine engine;
    int image_fd;
    unsigned queued, inflight; /* queued: prepared, not yet given to the kernel */
    struct io_uring *ring;     /* liburing's, allocated at init (io_uring engine only) */
    struct aio_stats stats;
};

/* Called for every completion: res is bytes transferred or a negative errno. */
typedef void (*aio_done_fn)(void *user, int res, void *ctx);

/*
 * Before the jail.  AUTO falls back to SYNC (with a warning) where the ring
 * cannot be created or restricted; URING fails instead.  0 or negative errno.
 */
int aio_init(struct aio *a, int image_fd, enum aio_pref pref);
void aio_fini(struct aio *a);
/* The ring's fd, readable when completions wait; -1 for the sync engine. */
int aio_ring_fd(const struct aio *a);
bool aio_is_async(const struct aio *a);

/* io_uring only: prepare one request; it reaches the kernel at aio_submit. -EAGAIN: full. */
int aio_queue_rw(struct aio *a, bool write, const struct iovec *iov, unsigned iovcnt,
                 uint64_t off, bool dsync, void *user);
int aio_queue_fdatasync(struct aio *a, void *user);
/*
 * Hand what is queued to the kernel, in one system call; how many it took
 * (they go in queue order; the rest stay queued), or negative errno.
 */
int aio_submit(struct aio *a);
/*
 * Call done() for every completion ready, or, with wait, for at least one
 * when any is in flight.  Returns how many completed, or negative errno.
 */
int aio_reap(struct aio *a, bool wait, aio_done_fn done, void *ctx);

const char *aio_engine_name(enum aio_engine e);
/* "auto", "io_uring" or "sync"; -EINVAL otherwise. */
int aio_pref_parse(const char *s, enum aio_pref *p);
const char *aio_pref_name(enum aio_pref p);

#endif
