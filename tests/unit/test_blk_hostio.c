/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk when the host, not the guest, misbehaves: the image shrinks under
 * the device, the file-size limit refuses a write half way, the io_uring stops
 * taking requests.  Each time the request fails with IOERR, after any short
 * transfer has been carried on where it stopped, and the device neither
 * crashes, hangs nor reports data it did not move.  Both engines: the
 * synchronous one (no host attached) and io_uring.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "devices/blk.h"

#define CAP_SECTORS 2048u /* 1 MiB image */

static char path[64];
static struct blk_dev b;
static uint8_t hdr[16], data[8192], status;
static struct gmem_sg sg;

/* What the io_uring engine reported through the host. */
static unsigned completions;
static int last_result;
static uint32_t last_written;

static void record_completion(void *opaque, void *tag, int result, uint32_t written)
{
    (void)opaque;
    (void)tag;
    completions++;
    last_result = result;
    last_written = written;
}

static const struct vdev_host host = { .complete = record_completion };

static int open_image(bool uring)
{
    snprintf(path, sizeof(path), "/tmp/vgblkio.XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, CAP_SECTORS * 512) < 0)
        return -1;
    close(fd);
    if (blk_open(&b, path, false, "hostio", 128) < 0)
        return -1;
    blk_ops.set_features(&b, blk_ops.features(&b));
    if (uring) {
        if (blk_start_aio(&b, AIO_PREF_URING) < 0)
            return -1;
        blk_ops.attach(&b, &host);
    }
    completions = 0;
    return 0;
}

static int setup_sync(void **state)
{
    (void)state;
    return open_image(false);
}

static int setup_uring(void **state)
{
    (void)state;
    return open_image(true);
}

/* What test_write_refused_half_way changes, put back even when it fails half way. */
static struct rlimit saved_fsize;
static void (*saved_xfsz)(int) = SIG_DFL;

static int teardown(void **state)
{
    (void)state;
    if (saved_fsize.rlim_max)
        setrlimit(RLIMIT_FSIZE, &saved_fsize);
    signal(SIGXFSZ, saved_xfsz);
    blk_close(&b);
    unlink(path);
    return 0;
}

/* header, then data split into spans of the given lengths, then status */
static void build(uint32_t type, uint64_t sector, const uint32_t *lens, unsigned nlens,
                  bool data_writable)
{
    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, &type, 4);
    memcpy(hdr + 8, &sector, 8);
    status = 0xee;
    sg.n = 0;
    sg.nmaps = 0;
    sg.span[sg.n++] = (struct gmem_span){ hdr, 16, false, 0, 0 };
    uint32_t at = 0;
    for (unsigned i = 0; i < nlens; i++) {
        sg.span[sg.n++] = (struct gmem_span){ data + at, lens[i], data_writable, 0, 0 };
        at += lens[i];
    }
    sg.span[sg.n++] = (struct gmem_span){ &status, 1, true, 0, 0 };
}

/* Run one request to its end, through the ring when there is one. */
static uint8_t run(void)
{
    uint32_t w = 0;
    unsigned before = completions;
    int rc = blk_ops.handle_chain(&b, 0, &sg, (void *)&sg, &w);
    if (rc == VDEV_PENDING) {
        blk_ops.poll(&b, true);
        assert_int_equal(completions, before + 1);
        assert_int_equal(last_result, 0);
        w = last_written;
    } else {
        assert_int_equal(rc, 0);
    }
    if (status != VIRTIO_BLK_S_OK)
        assert_int_equal(w, 1); /* only the status byte: no data claimed */
    return status;
}

static void fill_image(uint8_t seed)
{
    static const uint32_t len[] = { 8192 };
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 13 + seed);
    build(VIRTIO_BLK_T_OUT, 0, len, 1, false);
    assert_int_equal(run(), VIRTIO_BLK_S_OK);
}

static void shrink_image(off_t bytes)
{
    assert_int_equal(truncate(path, bytes), 0);
}

/*
 * The image is cut to 5 KiB while the device believes it is 1 MiB.  A read of
 * sectors 8..11 gets 1 KiB (short: the rest is asked for where it stopped,
 * past a first buffer it filled whole), then end of file: IOERR.  The bytes
 * that did arrive are the image's.  A read wholly past the end: IOERR.
 */
static void test_image_shrunk(void **state)
{
    (void)state;
    static const uint32_t split[] = { 512, 1536 }, one[] = { 512 };
    fill_image(3);
    shrink_image(5 * 1024);
    memset(data, 0, sizeof(data));
    build(VIRTIO_BLK_T_IN, 8, split, 2, true);
    assert_int_equal(run(), VIRTIO_BLK_S_IOERR);
    for (unsigned i = 0; i < 1024; i++)
        assert_int_equal(data[i], (uint8_t)((4096 + i) * 13 + 3));
    build(VIRTIO_BLK_T_IN, 100, one, 1, true);
    assert_int_equal(run(), VIRTIO_BLK_S_IOERR);
    if (aio_is_async(&b.aio))
        assert_true(b.aio.stats.short_transfers >= 1);
    /* the device still serves what the image still holds */
    build(VIRTIO_BLK_T_IN, 2, one, 1, true);
    assert_int_equal(run(), VIRTIO_BLK_S_OK);
    assert_int_equal(data[0], (uint8_t)(1024 * 13 + 3));
}

/*
 * RLIMIT_FSIZE at 9 KiB: a 2 KiB write at 8 KiB moves 1 KiB (short), then the
 * rest is refused (EFBIG; SIGXFSZ ignored as a daemon would): IOERR.  A write
 * wholly past the limit: IOERR at once.
 */
static void test_write_refused_half_way(void **state)
{
    (void)state;
    static const uint32_t split[] = { 512, 1536 }, one[] = { 512 };
    struct rlimit lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved_fsize), 0);
    lim = saved_fsize;
    lim.rlim_cur = 9 * 1024;
    saved_xfsz = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    memset(data, 0x5a, sizeof(data));
    build(VIRTIO_BLK_T_OUT, 16, split, 2, false);
    uint8_t st_half = run();
    build(VIRTIO_BLK_T_OUT, 64, one, 1, false);
    uint8_t st_past = run();
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved_fsize), 0);
    signal(SIGXFSZ, saved_xfsz);
    saved_xfsz = SIG_DFL;
    assert_int_equal(st_half, VIRTIO_BLK_S_IOERR);
    assert_int_equal(st_past, VIRTIO_BLK_S_IOERR);
    uint8_t back[2048];
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, back, sizeof(back), 8192), sizeof(back));
    close(fd);
    for (unsigned i = 0; i < 1024; i++)
        assert_int_equal(back[i], 0x5a); /* the part the host took */
    if (aio_is_async(&b.aio))
        assert_true(b.aio.stats.short_transfers >= 1);
}

/*
 * The ring stops taking requests (its fd now names /dev/null, so every
 * io_uring_enter fails): the queued request fails with IOERR, and so does
 * every later read, write and flush, without entering the ring again.
 */
static void test_uring_refuses(void **state)
{
    (void)state;
    static const uint32_t one[] = { 512 };
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    assert_true(null >= 0);
    assert_true(dup2(null, blk_event_fd(&b)) >= 0);
    close(null);
    build(VIRTIO_BLK_T_IN, 0, one, 1, true);
    assert_int_equal(run(), VIRTIO_BLK_S_IOERR);
    uint64_t enters = b.aio.stats.enters;
    build(VIRTIO_BLK_T_OUT, 0, one, 1, false);
    assert_int_equal(run(), VIRTIO_BLK_S_IOERR);
    build(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false);
    assert_int_equal(run(), VIRTIO_BLK_S_IOERR);
    assert_int_equal(b.aio.stats.enters, enters);
    /* requests that never touch the image still work */
    static const uint32_t id[] = { 20 };
    build(VIRTIO_BLK_T_GET_ID, 0, id, 1, true);
    assert_int_equal(run(), VIRTIO_BLK_S_OK);
}

int main(void)
{
    const struct CMUnitTest sync_tests[] = {
        cmocka_unit_test_setup_teardown(test_image_shrunk, setup_sync, teardown),
        cmocka_unit_test_setup_teardown(test_write_refused_half_way, setup_sync, teardown),
    };
    const struct CMUnitTest uring_tests[] = {
        cmocka_unit_test_setup_teardown(test_image_shrunk, setup_uring, teardown),
        cmocka_unit_test_setup_teardown(test_write_refused_half_way, setup_uring, teardown),
        cmocka_unit_test_setup_teardown(test_uring_refuses, setup_uring, teardown),
    };
    int failed = cmocka_run_group_tests_name("sync engine", sync_tests, NULL, NULL);
    return failed + cmocka_run_group_tests_name("io_uring engine", uring_tests, NULL, NULL);
}
