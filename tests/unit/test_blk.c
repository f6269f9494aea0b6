/* SPDX-License-Identifier: MIT */
/* virtio-blk request handling over hand-built scatter lists. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/blk.h"

#define CAP_SECTORS 2048u /* 1 MiB image */

static char path[64];
static struct blk_dev b;
static uint8_t hdr[16], data[16384], status;
static struct gmem_sg sg;

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof(path), "/tmp/vgblk.XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, CAP_SECTORS * 512) < 0)
        return -1;
    close(fd);
    if (blk_open(&b, path, false, "unit-serial", 128) < 0)
        return -1;
    blk_ops.set_features(&b, blk_ops.features(&b));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    blk_close(&b);
    unlink(path);
    return 0;
}

/* header, then a data span of len bytes (device-writable or not), then status */
static void build(uint32_t type, uint64_t sector, uint32_t len, bool data_writable)
{
    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, &type, 4);
    memcpy(hdr + 8, &sector, 8);
    status = 0xee;
    sg.n = 0;
    sg.nmaps = 0;
    sg.span[sg.n++] = (struct gmem_span){ hdr, 16, false, 0, 0 };
    if (len)
        sg.span[sg.n++] = (struct gmem_span){ data, len, data_writable, 0, 0 };
    sg.span[sg.n++] = (struct gmem_span){ &status, 1, true, 0, 0 };
}

static int run(uint32_t *written)
{
    return blk_ops.handle_chain(&b, 0, &sg, NULL, written);
}

static void test_write_then_read(void **state)
{
    (void)state;
    uint32_t w;
    for (unsigned i = 0; i < 4096; i++)
        data[i] = (uint8_t)(i * 7);
    build(VIRTIO_BLK_T_OUT, 10, 4096, false);
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_OK);
    assert_int_equal(w, 1);
    memset(data, 0, 4096);
    build(VIRTIO_BLK_T_IN, 10, 4096, true);
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_OK);
    assert_int_equal(w, 4097);
    for (unsigned i = 0; i < 4096; i++)
        assert_int_equal(data[i], (uint8_t)(i * 7));
}

static void test_header_split_across_buffers(void **state)
{
    (void)state;
    uint32_t w, type = VIRTIO_BLK_T_IN;
    uint64_t sector = 10;
    memcpy(hdr, &type, 4);
    memcpy(hdr + 8, &sector, 8);
    sg.n = 0;
    sg.span[sg.n++] = (struct gmem_span){ hdr, 8, false, 0, 0 };
    sg.span[sg.n++] = (struct gmem_span){ hdr + 8, 8, false, 0, 0 };
    sg.span[sg.n++] = (struct gmem_span){ data, 512, true, 0, 0 };
    sg.span[sg.n++] = (struct gmem_span){ &status, 1, true, 0, 0 };
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_OK);
}

static void test_out_of_capacity(void **state)
{
    (void)state;
    uint32_t w;
    static const uint64_t sectors[] = { CAP_SECTORS, CAP_SECTORS - 7, UINT64_MAX,
                                        UINT64_MAX - 7, UINT64_MAX / 512 + 1 };
    for (unsigned i = 0; i < 5; i++) {
        build(VIRTIO_BLK_T_OUT, sectors[i], 4096, false);
        assert_int_equal(run(&w), 0);
        assert_int_equal(status, VIRTIO_BLK_S_IOERR);
        build(VIRTIO_BLK_T_IN, sectors[i], 4096, true);
        assert_int_equal(run(&w), 0);
        assert_int_equal(status, VIRTIO_BLK_S_IOERR);
        assert_int_equal(w, 1);
    }
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, CAP_SECTORS * 512);
}

static void test_partial_sector(void **state)
{
    (void)state;
    uint32_t w;
    build(VIRTIO_BLK_T_OUT, 0, 100, false);
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_IOERR);
    build(VIRTIO_BLK_T_IN, 0, 513, true);
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_IOERR);
}

static void test_short_header(void **state)
{
    (void)state;
    uint32_t w;
    build(VIRTIO_BLK_T_IN, 0, 0, false);
    sg.span[0].len = 15;
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_IOERR);
}

static void test_no_status_byte(void **state)
{
    (void)state;
    uint32_t w;
    build(VIRTIO_BLK_T_OUT, 0, 512, false);
    sg.n = 2; /* drop the status span */
    assert_int_equal(run(&w), -EPROTO);
}

static void test_unknown_type(void **state)
{
    (void)state;
    uint32_t w;
    build(99, 0, 0, false);
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_UNSUPP);
}

static void test_flush_and_get_id(void **state)
{
    (void)state;
    uint32_t w;
    build(VIRTIO_BLK_T_FLUSH, 0, 0, false);
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_OK);
    memset(data, 'x', 64);
    build(VIRTIO_BLK_T_GET_ID, 0, 5, true); /* shorter than the id: truncated, no overrun */
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_OK);
    assert_int_equal(w, 6);
    assert_memory_equal(data, "unit-", 5);
    assert_int_equal(data[5], 'x');
}

static void put_seg(unsigned i, uint64_t sector, uint32_t num, uint32_t flags)
{
    memcpy(data + 16 * i, &sector, 8);
    memcpy(data + 16 * i + 8, &num, 4);
    memcpy(data + 16 * i + 12, &flags, 4);
}

static void test_discard_and_write_zeroes(void **state)
{
    (void)state;
    uint32_t w;
    put_seg(0, 0, 8, 0);
    build(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_OK);
    put_seg(0, 0, 8, 1); /* unmap allowed for write-zeroes */
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_OK);
    build(VIRTIO_BLK_T_DISCARD, 0, 16, false);
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_UNSUPP); /* unmap flag on discard */
    put_seg(0, 0, 8, 0x80);
    build(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_UNSUPP); /* reserved flag */
    put_seg(0, CAP_SECTORS - 4, 8, 0);
    build(VIRTIO_BLK_T_DISCARD, 0, 16, false);
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_IOERR);
    put_seg(0, UINT64_MAX - 2, 8, 0);
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_IOERR);
    build(VIRTIO_BLK_T_DISCARD, 0, 24, false); /* not whole segments */
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_IOERR);
    for (unsigned i = 0; i < BLK_MAX_DISCARD_SEG + 1; i++)
        put_seg(i, 0, 1, 0);
    build(VIRTIO_BLK_T_DISCARD, 0, 16 * (BLK_MAX_DISCARD_SEG + 1), false);
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_IOERR);
    blk_ops.set_features(&b, 0); /* not negotiated */
    build(VIRTIO_BLK_T_DISCARD, 0, 16, false);
    put_seg(0, 0, 8, 0);
    assert_int_equal(run(&w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_UNSUPP);
    blk_ops.set_features(&b, blk_ops.features(&b));
}

static void test_read_only_device(void **state)
{
    (void)state;
    struct blk_dev ro;
    uint32_t w;
    assert_int_equal(blk_open(&ro, path, true, NULL, 128), 0);
    assert_true(blk_ops.features(&ro) & (1u << VIRTIO_BLK_F_RO));
    assert_false(blk_ops.features(&ro) & (1u << VIRTIO_BLK_F_DISCARD));
    build(VIRTIO_BLK_T_OUT, 0, 512, false);
    assert_int_equal(blk_ops.handle_chain(&ro, 0, &sg, NULL, &w), 0);
    assert_int_equal(status, VIRTIO_BLK_S_IOERR);
    blk_close(&ro);
}

static void test_config_space(void **state)
{
    (void)state;
    uint64_t cap = 0;
    uint32_t v32 = 0;
    assert_int_equal(blk_ops.config_read(&b, 0, &cap, 8), 0);
    assert_int_equal(cap, CAP_SECTORS);
    assert_int_equal(blk_ops.config_read(&b, 12, &v32, 4), 0);
    assert_int_equal(v32, 64);
    assert_int_equal(blk_ops.config_read(&b, 20, &v32, 4), 0);
    assert_int_equal(v32, 512);
    assert_int_equal(blk_ops.config_read(&b, 58, &v32, 4), -ERANGE);
    assert_int_equal(blk_ops.config_read(&b, 0xffffffff, &v32, 4), -ERANGE);
    assert_int_equal(blk_ops.config_write(&b, 0, &v32, 4), 0);
    assert_int_equal(blk_ops.config_write(&b, 4096, &v32, 4), -ERANGE);
}

static void test_open_errors(void **state)
{
    (void)state;
    struct blk_dev x;
    assert_int_equal(blk_open(&x, "/nonexistent/disk.img", false, NULL, 128), -ENOENT);
    assert_int_equal(blk_open(&x, "/tmp", true, NULL, 128), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_then_read),
        cmocka_unit_test(test_header_split_across_buffers),
        cmocka_unit_test(test_out_of_capacity),
        cmocka_unit_test(test_partial_sector),
        cmocka_unit_test(test_short_header),
        cmocka_unit_test(test_no_status_byte),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_flush_and_get_id),
        cmocka_unit_test(test_discard_and_write_zeroes),
        cmocka_unit_test(test_read_only_device),
        cmocka_unit_test(test_config_space),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
