/* SPDX-License-Identifier: MIT */
/*
 * A device process killed at a chosen point, replayed in-process: the saved
 * area and the guest's used ring are copied at that point (what a kill
 * leaves), the first device is shut down, the used ring is put back as it
 * was, and a fresh device resumes from the copy.  Every chain must then be
 * published exactly once: those the guest saw before the kill never again,
 * the others served again.  The cut points are the ones a random kill
 * rarely hits: inside a publish, before and after the guest's index moved.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmio_fixture.h"
#include "transport/resume.h"
#include "transport/saved.h"

#define CHAINS 10
#define USED_BYTES (6 + 8 * 64)

static struct saved_area area, cut_area;
static uint8_t cut_used[USED_BYTES];
static unsigned publishes, area_at, used_at;

/* At the area_at-th and used_at-th publish (the marker written, the entry not yet). */
static void cut_at_publish(const struct virtq *vq, uint16_t head)
{
    (void)vq;
    (void)head;
    publishes++;
    if (publishes == area_at)
        cut_area = area;
    if (publishes == used_at)
        memcpy(cut_used, aring + 0x1000, USED_BYTES);
}

/* The distinct heads in the first n used entries; fails on a repeat. */
static void expect_each_head_once(uint16_t n)
{
    bool seen[64] = { false };
    for (uint16_t i = 0; i < n; i++) {
        uint32_t id;
        memcpy(&id, aring + 0x1004 + 8 * i, 4);
        assert_true(id < 64 && id % 3 == 0);
        if (seen[id])
            fail_msg("head %u published twice", id);
        seen[id] = true;
    }
}

/* The kill: the device lets go of everything it mapped. */
static void kill_device(void)
{
    m.saved = NULL;
    mmio_shutdown(&m);
    mmio_fini(&m);
    assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
}

/* Its replacement, from what the area held at the cut. */
static void replace_device(struct resume_result *res)
{
    assert_int_equal(mmio_init(&m, &blk_ops, &blk, &ip.g, true, set_irq, NULL), 0);
    area = cut_area;
    resume_device(&m, &area, res);
    assert_false(res->refused);
}

/*
 * Ten writes on io_uring, cut where area_at/used_at say (0: right after the
 * notify, nothing published), resumed; `published` of them were out before
 * the cut and must not be served again.
 */
static void cut_and_resume(unsigned a_at, unsigned u_at, uint16_t published)
{
    uint8_t *hdr, *data;
    saved_init(&area);
    m.saved = &area;
    start_async_queue(3);
    uint64_t hdr_dma = inproc_grant(&ip, 1, false, &hdr);
    uint64_t data_dma = inproc_grant(&ip, 1, true, &data);
    memset(data, 0x3c, 4096);
    publish_writes(CHAINS, hdr_dma, hdr, data_dma, 4096);
    publishes = 0;
    area_at = a_at;
    used_at = u_at;
    vq_before_used_hook = cut_at_publish;
    notify_async_queue();
    if (a_at == 0) {
        cut_area = area;
        memcpy(cut_used, aring + 0x1000, USED_BYTES);
    }
    poll_until_used(CHAINS);
    vq_before_used_hook = NULL;

    /* The kill; the guest's ring is as it was at the cut. */
    kill_device();
    memcpy(aring + 0x1000, cut_used, USED_BYTES);
    memset(hdr + 0x800, 0xee, CHAINS);

    struct resume_result res;
    replace_device(&res);
    assert_int_equal(res.chains, CHAINS - published);
    poll_until_used(CHAINS);
    usleep(20000);
    mmio_poll_device(&m);
    assert_int_equal(used_idx(), CHAINS); /* nothing published twice */
    expect_each_head_once(CHAINS);
    /* Served again: status written anew; seen before the cut: left alone. */
    unsigned again = 0;
    for (unsigned i = 0; i < CHAINS; i++)
        again += hdr[0x800 + i] == 0;
    assert_int_equal(again, CHAINS - published);
    assert_false(needs_reset());
    /* The replacement interrupts once, for what the dead one may not have announced. */
    assert_int_equal(irq_level, 1);
    /* And it keeps the area: a second kill now would find nothing in flight. */
    struct saved_regs *s = saved_cur(&area);
    unsigned taken = 0;
    for (unsigned h = 0; h < VQ_MAX_SIZE; h++)
        taken += s->q[0].taken[h];
    assert_int_equal(taken, 0);
    assert_int_equal(s->q[0].used_idx, CHAINS);
    assert_int_equal(s->q[0].pub_set, 0);
}

static void test_cut_with_all_in_flight(void **state)
{
    (void)state;
    cut_and_resume(0, 0, 0);
}

/* Killed inside the fourth publish, before the guest's index moved: three were out. */
static void test_cut_before_used_index_moved(void **state)
{
    (void)state;
    cut_and_resume(4, 4, 3);
}

/*
 * Killed inside the fourth publish after the guest's index moved (the used
 * ring as at the fifth publish, the area still marked for the fourth): four
 * were out, and the fourth must not be served again.
 */
static void test_cut_after_used_index_moved(void **state)
{
    (void)state;
    cut_and_resume(4, 5, 4);
}

/* A resubmit the saved state could not have asked for is refused, not served. */
static void test_resubmit_refused(void **state)
{
    (void)state;
    assert_int_equal(mmio_resubmit(&m, VIRTIO_MMIO_MAX_QUEUES, 0), -EPROTO);
    assert_int_equal(mmio_resubmit(&m, 0, 0), -EPROTO); /* not live: no driver yet */
    assert_false(needs_reset());
}

/*
 * A publish marker whose head is out of the table (only a page written by
 * something other than this process could hold one) completes nothing: no
 * count is written outside the table, and the marker stays for the
 * restart's own checks.  A valid marker completes as usual.
 */
static void test_published_marker_head_out_of_range(void **state)
{
    (void)state;
    static struct saved_area a, before;
    saved_init(&a);
    struct saved_queue *sq = &saved_cur(&a)->q[1];
    sq->taken[5] = 2;
    sq->used_idx = 3;
    sq->pub_set = 1;
    sq->pub_head = VQ_MAX_SIZE + 44;
    sq->pub_target = 4;
    sq->pub_taken = 2;
    before = a;
    saved_published(&a, 1);
    assert_memory_equal(&a, &before, sizeof(a));

    saved_publishing(&a, 1, 5, 4);
    saved_published(&a, 1);
    assert_int_equal(sq->taken[5], 1);
    assert_int_equal(sq->used_idx, 4);
    assert_int_equal(sq->pub_set, 0);
}

/* The announced pool is part of what a replacement takes over: mapped again, nothing else. */
static void test_announced_pool_taken_over(void **state)
{
    (void)state;
    uint8_t *pool;
    saved_init(&area);
    m.saved = &area;
    apool_addr = inproc_grant(&ip, 4, false, &pool);
    apool_pages = 4;
    /* VERSION_1, ACCESS_PLATFORM, GRANT_ADDRESSING, GRANT_POOL */
    start_async_queue(3u | (1u << 12) | (1u << 13));
    apool_pages = 0;
    assert_false(needs_reset());
    assert_int_equal(simdom_grants_mapped_now(ip.d), 2 + 4);
    publish_writes(CHAINS, apool_addr, pool, apool_addr + 4096, 4096);
    notify_async_queue();
    poll_until_used(CHAINS);
    cut_area = area;

    kill_device();
    struct resume_result res;
    replace_device(&res);
    assert_false(needs_reset());
    assert_int_equal(rd(VIRTIO_MMIO_GRANT_POOL_PAGES), 4);
    assert_int_equal(simdom_grants_mapped_now(ip.d), 2 + 4);
    /* Still enforced: a buffer outside the pool breaks the device. */
    uint8_t *hdr;
    uint64_t hdr_dma = inproc_grant(&ip, 1, false, &hdr);
    publish_writes(CHAINS + 1, hdr_dma, hdr, hdr_dma, 16);
    notify_async_queue();
    assert_true(needs_reset());
    assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
}

#define TA(f) cmocka_unit_test_setup_teardown(f, setup_async, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TA(test_cut_with_all_in_flight),
        TA(test_cut_before_used_index_moved),
        TA(test_cut_after_used_index_moved),
        TA(test_resubmit_refused),
        TA(test_announced_pool_taken_over),
        cmocka_unit_test(test_published_marker_head_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
