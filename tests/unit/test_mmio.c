/* SPDX-License-Identifier: MIT */
/* virtio-mmio register file and status state machine, driven directly. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmio_fixture.h"

static void negotiate(uint32_t hi)
{
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, hi);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                               VIRTIO_STATUS_FEATURES_OK);
}

static void test_identity(void **state)
{
    (void)state;
    assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
    assert_int_equal(rd(VIRTIO_MMIO_VERSION), 2);
    assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), 2);
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    /* VERSION_1, ACCESS_PLATFORM and, in grant mode, GRANT_ADDRESSING and GRANT_POOL */
    /* spec: GRT-DEV-FEAT-1 */
    assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES),
                     3u | (1u << (VIRTIO_F_GRANT_ADDRESSING - 32)) |
                         (1u << (VIRTIO_F_GRANT_POOL - 32)));
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    assert_true(rd(VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_F_INDIRECT_DESC));
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
    assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
    assert_int_equal(rd(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
}

static void test_features_ok_refusals(void **state)
{
    (void)state;
    negotiate(0); /* no VERSION_1 */
    assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
    negotiate(1); /* grant mode without ACCESS_PLATFORM */
    /* spec: GRT-DEV-FEAT-2 */
    assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
    negotiate(1 | 2 | 0x100); /* a feature never offered */
    assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
    negotiate(3);
    assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
    /* features are frozen after FEATURES_OK */
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
    assert_int_equal(m.drv_features >> 32, 3);
    assert_false(needs_reset());
}

static void test_driver_features_before_driver_ignored(void **state)
{
    (void)state;
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 3);
    assert_int_equal(m.drv_features, 0);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_DRIVER);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 3);
    assert_int_equal(m.drv_features, 0);
}

static void test_status_rules(void **state)
{
    (void)state;
    negotiate(3);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE); /* clears bits: ignored */
    assert_int_equal(rd(VIRTIO_MMIO_STATUS), 11);
    wr(VIRTIO_MMIO_STATUS, 11 | VIRTIO_STATUS_NEEDS_RESET); /* driver cannot set it */
    assert_false(needs_reset());
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                               VIRTIO_STATUS_DRIVER_OK); /* without FEATURES_OK */
    assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK);
}

static void test_queue_num_invalid_breaks_device(void **state)
{
    (void)state;
    static const uint32_t bad[] = { 0, 3, 100, 512, 0x80000000u };
    for (unsigned i = 0; i < 5; i++) {
        negotiate(3);
        irq_raises = 0;
        wr(VIRTIO_MMIO_QUEUE_NUM, bad[i]);
        assert_true(needs_reset());
        /* before DRIVER_OK: no notification is owed, and none is sent */
        assert_int_equal(irq_raises, 0);
        assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
        wr(VIRTIO_MMIO_STATUS, 0);
        assert_int_equal(irq_level, 0);
        assert_false(needs_reset());
    }
}

static void test_queue_sel_out_of_range(void **state)
{
    (void)state;
    negotiate(3);
    wr(VIRTIO_MMIO_QUEUE_SEL, BLK_NUM_QUEUES); /* one past the last */
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    wr(VIRTIO_MMIO_QUEUE_NUM, 3);
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    wr(VIRTIO_MMIO_QUEUE_SEL, 0xffffffffu);
    wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
    assert_false(needs_reset());
    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
}

static void test_queue_regs_need_features_ok(void **state)
{
    (void)state;
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(VIRTIO_MMIO_QUEUE_NUM, 64);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM), 0);
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
}

static void test_bad_access_sizes(void **state)
{
    (void)state;
    uint64_t v = 1;
    mmio_access(&m, VIRTIO_MMIO_MAGIC_VALUE, 2, false, &v);
    assert_int_equal(v, 0);
    v = 1;
    mmio_access(&m, VIRTIO_MMIO_MAGIC_VALUE + 1, 4, false, &v);
    assert_int_equal(v, 0);
    v = 1;
    mmio_access(&m, VIRTIO_MMIO_MAGIC_VALUE, 3, false, &v);
    assert_int_equal(v, 0);
    v = VIRTIO_STATUS_ACKNOWLEDGE;
    mmio_access(&m, VIRTIO_MMIO_STATUS, 1, true, &v);
    assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
    v = 0x12345;
    mmio_access(&m, 0x0f0, 4, true, &v); /* unknown register */
    mmio_access(&m, VIRTIO_MMIO_MAGIC_VALUE, 4, true, &v); /* read-only */
    assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
}

static void test_config_space(void **state)
{
    (void)state;
    uint64_t v = 0;
    mmio_access(&m, VIRTIO_MMIO_CONFIG, 8, false, &v);
    assert_int_equal(v, 2048);
    assert_int_equal(rd(VIRTIO_MMIO_CONFIG), 2048);
    assert_int_equal(rd(VIRTIO_MMIO_CONFIG + 4), 0);
    v = 0xff;
    mmio_access(&m, VIRTIO_MMIO_CONFIG + 56, 1, false, &v);
    assert_int_equal(v, 1);
    v = 7;
    mmio_access(&m, VIRTIO_MMIO_CONFIG + 58, 4, false, &v); /* runs past the end */
    assert_int_equal(v, 0);
    v = 7;
    mmio_access(&m, 0x1000 + 0xffffffffull, 4, false, &v);
    assert_int_equal(v, 0);
}

/* A queue brought up on granted rings, one IN request, interrupt and ack. */
static void test_request_through_registers(void **state)
{
    (void)state;
    uint8_t *ring, *data;
    uint64_t ring_dma = inproc_grant(&ip, 1, false, &ring);
    uint64_t data_dma = inproc_grant(&ip, 2, false, &data);
    negotiate(3);
    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(VIRTIO_MMIO_QUEUE_NUM, 8);
    wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)ring_dma);
    wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(ring_dma >> 32));
    wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(ring_dma + 0x100));
    wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)((ring_dma + 0x100) >> 32));
    wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(ring_dma + 0x200));
    wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)((ring_dma + 0x200) >> 32));
    /* notify before DRIVER_OK is ignored, even with a ready queue */
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
    wr(VIRTIO_MMIO_QUEUE_NUM, 16); /* layout is frozen while ready */
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM), 8);
    struct { uint64_t a; uint32_t l; uint16_t f, n; } d[3] = {
        { data_dma, 16, 1, 1 },
        { data_dma + 4096, 512, 3, 2 },
        { data_dma + 64, 1, 2, 0 },
    };
    memcpy(ring, d, sizeof(d)); /* header of zeros: IN, sector 0 */
    uint16_t one = 1;
    memcpy(ring + 0x102, &one, 2);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    uint16_t used_idx;
    memcpy(&used_idx, ring + 0x202, 2);
    assert_int_equal(used_idx, 0);
    wr(VIRTIO_MMIO_STATUS, 15);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 5); /* no such queue */
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    memcpy(&used_idx, ring + 0x202, 2);
    assert_int_equal(used_idx, 1);
    assert_int_equal(data[64], 0);
    assert_int_equal(irq_level, 1);
    assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    assert_int_equal(irq_level, 0);
    /* only the ring page stays mapped between requests */
    assert_int_equal(simdom_grants_mapped_now(ip.d), 1);
    wr(VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
    assert_int_equal(m.ctr.chains, 1);
}


/*
 * Ten writes in one notify are all in flight at once, nothing is published
 * until their completions are polled, and then every one is, with its
 * status, the data on the image and only the ring left mapped.
 */
static void test_async_chains_in_flight(void **state)
{
    (void)state;
    uint8_t *hdr, *data;
    start_async_queue(3);
    uint64_t hdr_dma = inproc_grant(&ip, 1, false, &hdr);
    uint64_t data_dma = inproc_grant(&ip, 1, true, &data);
    memset(data, 0x5a, 4096);
    publish_writes(10, hdr_dma, hdr, data_dma, 4096);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(m.inflight, 10);
    assert_int_equal(used_idx(), 0);
    poll_until_used(10);
    assert_int_equal(m.inflight, 0);
    assert_int_equal(m.ctr.inflight_peak, 10);
    for (unsigned i = 0; i < 10; i++) {
        assert_int_equal(hdr[0x800 + i], 0);
        uint32_t len;
        memcpy(&len, aring + 0x1000 + 4 + 8 * i + 4, 4);
        assert_int_equal(len, 1); /* a write reports only its status byte, as the sync path */
    }
    assert_int_equal(irq_level, 1);
    assert_int_equal(simdom_grants_mapped_now(ip.d), 2); /* the ring's two pages */
    /* The exposure the bench reports, in page mappings: the rings take three
     * (desc and avail share page 0, mapped once for each), and each chain in
     * flight three (header and data pages read-only, the status page writable). */
    assert_int_equal(ip.g.stats.pages_now, 3);
    assert_int_equal(ip.g.stats.pages_peak, 3 + 10 * 3);
    uint8_t back[4096];
    FILE *f = fopen(img, "r");
    assert_non_null(f);
    assert_int_equal(fseek(f, 9 * 4096, SEEK_SET), 0);
    assert_int_equal(fread(back, 1, sizeof(back), f), sizeof(back));
    fclose(f);
    assert_memory_equal(back, data, 4096);
    assert_int_equal(blk.aio.stats.submitted, 10);
}

/*
 * A reset with chains in flight: the device waits for the kernel to finish
 * with their pages before it unmaps anything, publishes none of them, and
 * leaves nothing mapped.  The same for QueueReady = 0.
 */
static void test_async_reset_drains_in_flight(void **state)
{
    (void)state;
    uint8_t *hdr, *data;
    for (int how = 0; how < 2; how++) {
        start_async_queue(3);
        uint64_t hdr_dma = inproc_grant(&ip, 1, false, &hdr);
        uint64_t data_dma = inproc_grant(&ip, 16, true, &data);
        publish_writes(8, hdr_dma, hdr, data_dma, 65536);
        wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
        assert_int_equal(m.inflight, 8);
        if (how == 0) {
            wr(VIRTIO_MMIO_STATUS, 0);
            /* spec: GRT-DEV-LIFE-2 */
            assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
        } else {
            wr(VIRTIO_MMIO_QUEUE_READY, 0);
            assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
            /* spec: GRT-DEV-LIFE-2 */
            assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
        }
        assert_int_equal(m.inflight, 0);
        assert_int_equal(blk.aio.inflight, 0);
        assert_int_equal(used_idx(), 0);
        assert_int_equal(m.ctr.chains, 0);
        wr(VIRTIO_MMIO_STATUS, 0);
    }
}

/*
 * Twenty chains of 130 pages each (header, 128 of data, status): per-request
 * data maps in flight together stay within 2048 pages, so the sixteenth
 * waits (its validated copy kept) until a completion frees room, and all
 * twenty are served in the end.
 */
static void test_async_page_budget_stalls(void **state)
{
    (void)state;
    uint8_t *hdr, *data;
    start_async_queue(3);
    uint64_t hdr_dma = inproc_grant(&ip, 1, false, &hdr);
    uint64_t data_dma = inproc_grant(&ip, 128, true, &data);
    publish_writes(20, hdr_dma, hdr, data_dma, 128 * 4096);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(m.inflight, 15);
    assert_true(m.has_stalled[0]);
    assert_true(m.ctr.stalls >= 1);
    assert_int_equal(ip.g.data_pages, 15 * 130);
    poll_until_used(20);
    assert_false(m.has_stalled[0]);
    assert_int_equal(ip.g.data_pages, 0);
    for (unsigned i = 0; i < 20; i++)
        assert_int_equal(hdr[0x800 + i], 0);
    assert_false(needs_reset());
}

/*
 * A pool driver (VIRTIO_F_GRANT_POOL): data mappings are kept, and one that a
 * chain in flight points into must not be evicted under the kernel's I/O.
 * Twenty chains of 128 distinct pages each overflow the 2048 kept pages:
 * the sixteenth waits instead of evicting, and every chain's own bytes reach
 * the image.
 */
static void test_async_pool_pins_mappings_in_flight(void **state)
{
    (void)state;
    uint8_t *hdr, *data;
    start_async_queue(3u | (1u << (VIRTIO_F_GRANT_POOL - 32)));
    assert_true(ip.g.persist.enabled);
    uint64_t hdr_dma = inproc_grant(&ip, 1, false, &hdr);
    uint64_t data_dma = inproc_grant(&ip, 20 * 128, true, &data);
    for (unsigned i = 0; i < 20; i++)
        memset(data + (size_t)i * 128 * 4096, 0x10 + i, 128 * 4096);
    publish_writes_at(20, hdr_dma, hdr, data_dma, 128 * 4096, 128 * 4096, 1024);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_int_equal(m.inflight, 15);
    assert_true(m.has_stalled[0]);
    assert_int_equal(ip.g.stats.persist_evictions, 0);
    poll_until_used(20);
    for (unsigned i = 0; i < 20; i++)
        assert_int_equal(hdr[0x800 + i], 0);
    assert_int_equal(ip.g.persist.pins, 0);
    FILE *f = fopen(img, "r");
    assert_non_null(f);
    for (unsigned i = 0; i < 20; i++) {
        uint8_t first, last;
        assert_int_equal(fseek(f, (long)i * 1024 * 512, SEEK_SET), 0);
        assert_int_equal(fread(&first, 1, 1, f), 1);
        assert_int_equal(fseek(f, (long)i * 1024 * 512 + 128 * 4096 - 1, SEEK_SET), 0);
        assert_int_equal(fread(&last, 1, 1, f), 1);
        assert_int_equal(first, 0x10 + i);
        assert_int_equal(last, 0x10 + i);
    }
    fclose(f);
    assert_false(needs_reset());
}

/*
 * Indirect chains while the data budget is full: sixteen chains of 128
 * pages fill it exactly, and the seventeenth's indirect table must still be
 * read (copied outside the budget, at once) rather than break the device;
 * that chain then waits for room like any other.
 */
static void test_async_indirect_table_with_budget_full(void **state)
{
    (void)state;
    uint8_t *hdr, *data, *tables;
    start_async_queue_lo(1u << VIRTIO_F_INDIRECT_DESC, 3);
    uint64_t hdr_dma = inproc_grant(&ip, 1, false, &hdr);
    uint64_t data_dma = inproc_grant(&ip, 126, true, &data);
    uint64_t tab_dma = inproc_grant(&ip, 1, true, &tables);
    for (unsigned i = 0; i < 20; i++) {
        uint32_t type = 1;
        uint64_t sector = 8u * i;
        memcpy(hdr + 16 * i, &type, 4);
        memcpy(hdr + 16 * i + 8, &sector, 8);
        hdr[0x800 + i] = 0xee;
        struct { uint64_t a; uint32_t l; uint16_t f, n; } d[3] = {
            { hdr_dma + 16 * i, 16, 1, 1 },
            { data_dma, 126 * 4096, 1, 2 },
            { hdr_dma + 0x800 + i, 1, 2, 0 },
        };
        memcpy(tables + 48 * i, d, sizeof(d));
        struct { uint64_t a; uint32_t l; uint16_t f, n; } ind = { tab_dma + 48 * i, 48, 4, 0 };
        memcpy(aring + 16 * i, &ind, sizeof(ind));
        uint16_t head = (uint16_t)i;
        memcpy(aring + 0x404 + 2 * i, &head, 2);
    }
    uint16_t idx = 20;
    memcpy(aring + 0x402, &idx, 2);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    assert_false(needs_reset());
    assert_int_equal(m.inflight, 16);
    assert_int_equal(ip.g.data_pages, 2048);
    assert_true(m.has_stalled[0]);
    poll_until_used(20);
    for (unsigned i = 0; i < 20; i++)
        assert_int_equal(hdr[0x800 + i], 0);
    assert_false(needs_reset());
}

/*
 * VIRTIO_BLK_F_MQ: the config space says four queues, and a chain on queue 2
 * is served by the same process (the slots are shared), its interrupt raised.
 */
static void test_mq_second_queue_served(void **state)
{
    (void)state;
    uint16_t nq = 0;
    uint64_t v = 0;
    mmio_access(&m, VIRTIO_MMIO_CONFIG + 34, 2, false, &v);
    nq = (uint16_t)v;
    assert_int_equal(nq, BLK_NUM_QUEUES);
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    assert_true(rd(VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_MQ));
    uint8_t *hdr, *data;
    aqueue = 2;
    start_async_queue_lo(1u << VIRTIO_BLK_F_MQ, 3);
    uint64_t hdr_dma = inproc_grant(&ip, 1, false, &hdr);
    uint64_t data_dma = inproc_grant(&ip, 1, true, &data);
    publish_writes(4, hdr_dma, hdr, data_dma, 4096);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* queue 0 is not ready: ignored */
    assert_int_equal(m.inflight, 0);
    notify_async_queue();
    assert_int_equal(m.inflight, 4);
    poll_until_used(4);
    aqueue = 0;
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(hdr[0x800 + i], 0);
    assert_int_equal(irq_level, 1);
    assert_false(needs_reset());
    /* the closing report's per-queue figures (what the bench's MQ rows show) */
    assert_int_equal(m.ctr.chains_by_queue[2], 4);
    assert_int_equal(m.ctr.chains_by_queue[0], 0);
}

/* Rule 5 as seen by the guest: at each used entry, only the ring's pages are mapped. */
static unsigned publishes, published_with_data_mapped;
static uint16_t published_head[16];

static void count_mapped_at_publish(const struct virtq *vq, uint16_t head)
{
    (void)vq;
    if (publishes < 16)
        published_head[publishes] = head;
    publishes++;
    published_with_data_mapped += simdom_grants_mapped_now(ip.d) != 2;
}

/*
 * The chains one notify brings are mapped together: ten writes, one map
 * call per direction instead of two each, and no used entry published while
 * any of the batch's data grants is still mapped, on the synchronous engine
 * (every chain done before the next is handed over) and on io_uring (all
 * in flight together).
 */
static void batch_of_ten(bool async)
{
    uint8_t *hdr, *data;
    start_async_queue(3);
    uint64_t hdr_dma = inproc_grant(&ip, 1, false, &hdr);
    uint64_t data_dma = inproc_grant(&ip, 1, true, &data);
    memset(data, 0x6b, 4096);
    publish_writes(10, hdr_dma, hdr, data_dma, 4096);
    uint64_t maps0 = ip.g.stats.map_calls, unmaps0 = ip.g.stats.unmap_calls;
    publishes = published_with_data_mapped = 0;
    vq_before_used_hook = count_mapped_at_publish;
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    if (async) {
        assert_int_equal(m.inflight, 10);
        poll_until_used(10);
    }
    vq_before_used_hook = NULL;
    assert_int_equal(used_idx(), 10);
    assert_int_equal(publishes, 10);
    /* spec: GRT-DEV-LIFE-1 */
    assert_int_equal(published_with_data_mapped, 0);
    /* in the order the chains were taken (the batch keeps its members) */
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(published_head[i], 3 * i);
    assert_int_equal(ip.g.stats.map_calls - maps0, 2);
    assert_int_equal(ip.g.stats.unmap_calls - unmaps0, 2);
    assert_int_equal(m.ctr.batches, 1);
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(hdr[0x800 + i], 0);
    assert_int_equal(ip.g.data_pages, 0);
    assert_false(needs_reset());
}

static void test_batch_maps_once_per_direction(void **state)
{
    (void)state;
    batch_of_ten(false);
}

static void test_async_batch_maps_once_per_direction(void **state)
{
    (void)state;
    batch_of_ten(true);
}

static bool any_slot_busy(void)
{
    for (unsigned i = 0; i < VDEV_MAX_PENDING; i++)
        if (m.req[i].busy)
            return true;
    return false;
}

/*
 * A batch with a bad member.  The second of three chains has no writable
 * status byte: the device breaks, and the first, already done, is not
 * published either.  A chain naming an ungranted page: the batch's map
 * fails, no chain of it runs.  Either way nothing stays mapped and every
 * slot is free again.
 */
static void test_batch_with_a_bad_member(void **state)
{
    (void)state;
    for (int how = 0; how < 2; how++) {
        uint8_t *hdr, *data;
        start_async_queue(3);
        uint64_t hdr_dma = inproc_grant(&ip, 1, false, &hdr);
        uint64_t data_dma = inproc_grant(&ip, 1, true, &data);
        publish_writes(3, hdr_dma, hdr, data_dma, 4096);
        if (how == 0) {
            uint16_t readable = 0; /* chain 1's status descriptor (4) loses its WRITE flag */
            memcpy(aring + 16 * 4 + 12, &readable, 2);
        } else {
            uint64_t ungranted = data_dma + 64 * 4096; /* beyond the one granted page */
            memcpy(aring + 16 * 7, &ungranted, 8); /* chain 2's data descriptor (7) */
        }
        uint64_t writes0 = blk.ctr.writes;
        wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
        assert_true(needs_reset());
        assert_int_equal(used_idx(), 0);
        assert_int_equal(m.inflight, 0);
        assert_false(any_slot_busy());
        assert_int_equal(ip.g.data_pages, 0);
        assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
        assert_int_equal(blk.ctr.writes - writes0, how == 0 ? 1 : 0);
        wr(VIRTIO_MMIO_STATUS, 0);
    }
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TA(f) cmocka_unit_test_setup_teardown(f, setup_async, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_identity),
        T(test_features_ok_refusals),
        T(test_driver_features_before_driver_ignored),
        T(test_status_rules),
        T(test_queue_num_invalid_breaks_device),
        T(test_queue_sel_out_of_range),
        T(test_queue_regs_need_features_ok),
        T(test_bad_access_sizes),
        T(test_config_space),
        T(test_request_through_registers),
        TA(test_async_chains_in_flight),
        TA(test_async_reset_drains_in_flight),
        TA(test_async_page_budget_stalls),
        TA(test_async_pool_pins_mappings_in_flight),
        TA(test_async_indirect_table_with_budget_full),
        TA(test_mq_second_queue_served),
        T(test_batch_maps_once_per_direction),
        TA(test_async_batch_maps_once_per_direction),
        T(test_batch_with_a_bad_member),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
