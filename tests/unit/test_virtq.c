/* SPDX-License-Identifier: MIT */
/* Split-ring walking and guest-memory mapping, with every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../common/inproc.h"
#include "virtq/virtq.h"
#include "xensim/vdrv.h"

#define QS 8

static struct inproc ip;
static uint16_t avail_idx;
static struct virtq vq;
static uint8_t *ring, *buf;
static uint64_t ring_dma, buf_dma;

static int setup(void **state)
{
    (void)state;
    if (inproc_up(&ip) < 0)
        return -1;
    ring_dma = inproc_grant(&ip, 1, false, &ring);
    buf_dma = inproc_grant(&ip, 4, false, &buf);
    memset(&vq, 0, sizeof(vq));
    vq.size = QS;
    vq.desc_addr = ring_dma;
    vq.avail_addr = ring_dma + 0x100;
    vq.used_addr = ring_dma + 0x200;
    vq.indirect = true;
    memset(ring, 0, 4096);
    avail_idx = 0;
    return vq_start(&vq, &ip.g);
}

static int teardown(void **state)
{
    (void)state;
    vq_stop(&vq, &ip.g);
    assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
    inproc_down(&ip);
    return 0;
}

static void publish(uint16_t head)
{
    memcpy(ring + 0x100 + 4 + 2 * (avail_idx % QS), &head, 2);
    avail_idx++;
    memcpy(ring + 0x102, &avail_idx, 2);
}

static void set_avail_idx(uint16_t v)
{
    avail_idx = v;
    memcpy(ring + 0x102, &avail_idx, 2);
}

static int pop(struct vq_chain *c)
{
    return vq_pop_chain(&vq, &ip.g, c);
}

static struct vq_chain c;

static void test_valid_chain_then_empty(void **state)
{
    (void)state;
    vdrv_encode_desc(ring, 0, buf_dma, 16, VRING_DESC_F_NEXT, 3);
    vdrv_encode_desc(ring, 3, buf_dma + 4096, 8192, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 5);
    vdrv_encode_desc(ring, 5, buf_dma + 100, 1, VRING_DESC_F_WRITE, 0);
    publish(0);
    assert_int_equal(pop(&c), 1);
    assert_int_equal(c.head, 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.read_len, 16);
    assert_int_equal(c.write_len, 8193);
    assert_true(c.buf[1].writable && !c.buf[0].writable);
    assert_int_equal(pop(&c), 0);
    /* a used entry is written, and the private index published */
    assert_int_equal(vq_push_used(&vq, 0, 77), 0);
    uint16_t used_idx;
    uint32_t elem[2];
    memcpy(&used_idx, ring + 0x202, 2);
    memcpy(elem, ring + 0x204, 8);
    assert_int_equal(used_idx, 1);
    assert_int_equal(elem[0], 0);
    assert_int_equal(elem[1], 77);
}

static void test_head_out_of_range(void **state)
{
    (void)state;
    publish(QS);
    assert_int_equal(pop(&c), -ERANGE);
}

static void test_next_out_of_range(void **state)
{
    (void)state;
    vdrv_encode_desc(ring, 0, buf_dma, 16, VRING_DESC_F_NEXT, QS + 1);
    publish(0);
    assert_int_equal(pop(&c), -ERANGE);
}

static void test_loop(void **state)
{
    (void)state;
    vdrv_encode_desc(ring, 0, buf_dma, 16, VRING_DESC_F_NEXT, 1);
    vdrv_encode_desc(ring, 1, buf_dma, 16, VRING_DESC_F_NEXT, 0);
    publish(0);
    assert_int_equal(pop(&c), -ELOOP);
}

static void test_avail_jump(void **state)
{
    (void)state;
    set_avail_idx(QS + 1);
    assert_int_equal(pop(&c), -EOVERFLOW);
}

static void test_readable_after_writable(void **state)
{
    (void)state;
    vdrv_encode_desc(ring, 0, buf_dma, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
    vdrv_encode_desc(ring, 1, buf_dma, 16, 0, 0);
    publish(0);
    assert_int_equal(pop(&c), -EINVAL);
}

static void test_total_length_overflow(void **state)
{
    (void)state;
    vdrv_encode_desc(ring, 0, buf_dma, 0xffffffffu, VRING_DESC_F_NEXT, 1);
    vdrv_encode_desc(ring, 1, buf_dma, 2, 0, 0);
    publish(0);
    assert_int_equal(pop(&c), -EOVERFLOW);
}

static void indirect(uint32_t len, uint16_t outer, uint16_t inner1, int expect)
{
    uint8_t *t = buf + 8192;
    vdrv_encode_desc(t, 0, buf_dma, 16, VRING_DESC_F_NEXT, 1);
    vdrv_encode_desc(t, 1, inner1 & VRING_DESC_F_INDIRECT ? buf_dma + 8192 : buf_dma + 64, 32, inner1, 0);
    vdrv_encode_desc(ring, 0, buf_dma + 8192, len, outer, 1);
    publish(0);
    assert_int_equal(pop(&c), expect);
}

static void test_indirect_valid(void **state)
{
    (void)state;
    indirect(32, VRING_DESC_F_INDIRECT, VRING_DESC_F_WRITE, 1);
    /* spec: GRT-DEV-SCOPE-2 */
    assert_int_equal(c.n, 2);
    assert_true(c.buf[1].writable);
    /* the indirect table was unmapped once copied */
    assert_int_equal(simdom_grants_mapped_now(ip.d), 1);
}

static void test_indirect_nested(void **state)
{
    (void)state;
    indirect(32, VRING_DESC_F_INDIRECT, VRING_DESC_F_INDIRECT, -EINVAL);
}

static void test_indirect_with_next(void **state)
{
    (void)state;
    indirect(32, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, -EINVAL);
}

static void test_indirect_length_not_multiple(void **state)
{
    (void)state;
    indirect(20, VRING_DESC_F_INDIRECT, VRING_DESC_F_WRITE, -EINVAL);
}

static void test_indirect_zero_length(void **state)
{
    (void)state;
    indirect(0, VRING_DESC_F_INDIRECT, VRING_DESC_F_WRITE, -EINVAL);
}

static void test_indirect_larger_than_queue(void **state)
{
    (void)state;
    indirect(16 * (QS + 1), VRING_DESC_F_INDIRECT, VRING_DESC_F_WRITE, -EINVAL);
}

static void test_indirect_not_negotiated(void **state)
{
    (void)state;
    vq.indirect = false;
    indirect(32, VRING_DESC_F_INDIRECT, VRING_DESC_F_WRITE, -EINVAL);
    vq.indirect = true;
}

static void test_indirect_table_loop(void **state)
{
    (void)state;
    uint8_t *t = buf + 8192;
    vdrv_encode_desc(t, 0, buf_dma, 16, VRING_DESC_F_NEXT, 1);
    vdrv_encode_desc(t, 1, buf_dma, 16, VRING_DESC_F_NEXT, 0);
    vdrv_encode_desc(ring, 0, buf_dma + 8192, 32, VRING_DESC_F_INDIRECT, 0);
    publish(0);
    assert_int_equal(pop(&c), -ELOOP);
}

static void test_indirect_table_not_granted(void **state)
{
    (void)state;
    vdrv_encode_desc(ring, 0, (1ull << 63) | (900ull << 12), 32, VRING_DESC_F_INDIRECT, 0);
    publish(0);
    /* spec: GRT-DEV-SCOPE-2 */
    assert_int_equal(pop(&c), -EFAULT);
}

static void test_notify_suppression(void **state)
{
    (void)state;
    /* without EVENT_IDX: NO_INTERRUPT in avail flags */
    uint16_t flags = VRING_AVAIL_F_NO_INTERRUPT;
    memcpy(ring + 0x100, &flags, 2);
    assert_int_equal(vq_push_used(&vq, 0, 1), 0);
    assert_false(vq_should_notify(&vq));
    flags = 0;
    memcpy(ring + 0x100, &flags, 2);
    assert_int_equal(vq_push_used(&vq, 0, 1), 0);
    assert_true(vq_should_notify(&vq));
    assert_false(vq_should_notify(&vq)); /* nothing new */
    /* with EVENT_IDX: interrupt only when used_event is crossed */
    vq.event_idx = true;
    uint16_t used_event = 5;
    memcpy(ring + 0x100 + 4 + 2 * QS, &used_event, 2);
    assert_int_equal(vq_push_used(&vq, 0, 1), 0); /* used idx 3 */
    assert_false(vq_should_notify(&vq));
    assert_int_equal(vq_push_used(&vq, 0, 1), 0);
    assert_int_equal(vq_push_used(&vq, 0, 1), 0);
    assert_int_equal(vq_push_used(&vq, 0, 1), 0); /* 6: crossed 5 */
    assert_true(vq_should_notify(&vq));
    vq.last_avail = 9;
    assert_int_equal(vq_publish_avail_event(&vq), 0);
    uint16_t ae;
    memcpy(&ae, ring + 0x200 + 4 + 8 * QS, 2);
    assert_int_equal(ae, 9);
}

static void test_start_refusals(void **state)
{
    (void)state;
    struct virtq q = vq;
    q.started = false;
    q.desc_addr = ring_dma + 8; /* misaligned */
    assert_int_equal(vq_start(&q, &ip.g), -EINVAL);
    q.desc_addr = ring_dma;
    q.size = 6; /* not a power of two */
    assert_int_equal(vq_start(&q, &ip.g), -EINVAL);
    q.size = QS;
    q.used_addr = 0x40000000; /* a physical address in grant mode */
    assert_int_equal(vq_start(&q, &ip.g), -EINVAL);
    q.used_addr = (1ull << 63) | (1000ull << 12); /* not granted */
    /* spec: GRT-DEV-SCOPE-1 */
    assert_int_equal(vq_start(&q, &ip.g), -EFAULT);
}

/* A stopped queue's rings are unmapped: every call refuses, none reads them. */
static void test_stopped_queue_refuses(void **state)
{
    (void)state;
    publish(0);
    vq.event_idx = true;
    vq_stop(&vq, &ip.g);
    assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
    uint16_t idx = 0xabcd;
    assert_int_equal(pop(&c), 0);
    assert_int_equal(vq_chain_at(&vq, &ip.g, 0, &c), -EINVAL);
    assert_int_equal(vq_read_used_idx(&vq, &idx), -EINVAL);
    assert_int_equal(idx, 0xabcd);
    assert_int_equal(vq_publish_avail_event(&vq), 0);
    vq_stop(&vq, &ip.g); /* twice: nothing left to unmap */
}

static void test_gmem_refusals(void **state)
{
    (void)state;
    struct gmem_sg sg;
    uint8_t *ro;
    uint64_t ro_dma = inproc_grant(&ip, 1, true, &ro);
    struct gmem_buf b = { ro_dma, 16, true };
    assert_int_equal(gmem_map_bufs(&ip.g, &b, 1, &sg), -EFAULT); /* RO grant, writable use */
    b.writable = false;
    assert_int_equal(gmem_map_bufs(&ip.g, &b, 1, &sg), 0);
    assert_int_equal(gmem_span_write(&sg.span[0], 0, "x", 1), -EFAULT);
    /* spec: GRT-DEV-ACC-3 */
    assert_int_equal(gmem_span_read(&sg.span[0], 10, ro, 7), -EFAULT); /* past len 16 */
    assert_int_equal(gmem_span_read(&sg.span[0], UINT64_MAX, ro, 2), -EFAULT);
    gmem_unmap(&ip.g, &sg);
    b.addr = (1ull << 63) | (0x1ffffffffull << 12); /* ref beyond 32 bits */
    assert_int_equal(gmem_map_bufs(&ip.g, &b, 1, &sg), -EINVAL);
    b.addr = (1ull << 63) | (0xffffffffull << 12);
    b.len = 8192; /* consecutive refs would wrap */
    /* spec: GRT-DEV-ENC-3 */
    assert_int_equal(gmem_map_bufs(&ip.g, &b, 1, &sg), -EINVAL);
    /* a grant to another domain */
    uint64_t gpa = simdom_alloc_pages(ip.d, 1);
    assert_int_equal(simdom_grant_raw(ip.d, 1000, 7, (uint32_t)(gpa >> 12), 1), 0);
    b = (struct gmem_buf){ (1ull << 63) | (1000ull << 12), 16, false };
    assert_int_equal(gmem_map_bufs(&ip.g, &b, 1, &sg), -EFAULT);
    /* more pages than one chain may map */
    b = (struct gmem_buf){ buf_dma, (GMEM_MAX_CHAIN_PAGES + 1) * 4096u, false };
    assert_int_equal(gmem_map_bufs(&ip.g, &b, 1, &sg), -E2BIG);
    /* a failed batch leaves nothing mapped (ring pages aside) */
    assert_int_equal(simdom_grants_mapped_now(ip.d), 1);
}

/*
 * A pool driver's slots move through its pool at 2 KiB offsets: the chunks kept
 * serve them all after a few maps, and no ref beyond the lowest and highest the
 * driver named is ever mapped, though its neighbours are granted to us too.
 */
static void test_persist_chunks(void **state)
{
    (void)state;
    enum { N = 3 * GMEM_PERSIST_CHUNK };
    uint8_t *left, *pool, *right, *ro;
    assert_true(inproc_grant(&ip, 1, false, &left) != 0);
    uint64_t pool_dma = inproc_grant(&ip, N, false, &pool);
    assert_true(pool_dma != 0);
    assert_true(inproc_grant(&ip, 1, false, &right) != 0);
    uint64_t ro_dma = inproc_grant(&ip, 4, true, &ro);
    assert_true(ro_dma != 0);
    uint32_t before = simdom_grants_mapped_now(ip.d);
    gmem_persist_enable(&ip.g, true);
    struct gmem_sg sg;
    /* The first buffer alone: nothing else named, so only its own page. */
    struct gmem_buf b = { inproc_dma(pool_dma, 4096ull * 70 + 2048), 2048, true };
    assert_int_equal(gmem_map_data(&ip.g, &b, 1, &sg), 0);
    assert_int_equal(simdom_grants_mapped_now(ip.d), before + 1);
    /* The pool's first and last pages: the extent named is now the pool. */
    b = (struct gmem_buf){ pool_dma, 512, false };
    assert_int_equal(gmem_map_data(&ip.g, &b, 1, &sg), 0);
    b.addr = inproc_dma(pool_dma, 4096ull * (N - 1));
    assert_int_equal(gmem_map_data(&ip.g, &b, 1, &sg), 0);
    /* Slots all over the pool, both directions, some across a page boundary. */
    uint64_t calls = ip.g.stats.map_calls;
    for (unsigned pass = 0; pass < 2; pass++) {
        if (pass == 1)
            calls = ip.g.stats.map_calls;
        for (uint32_t i = 0; i + 1 < N; i++) {
            b = (struct gmem_buf){ inproc_dma(pool_dma, 4096ull * i + 2048), 4096, i & 1 };
            assert_int_equal(gmem_map_data(&ip.g, &b, 1, &sg), 0);
            if (b.writable) {
                assert_int_equal(gmem_span_write(&sg.span[0], 4094, "ok", 2), 0);
                assert_int_equal(memcmp(pool + 4096ull * (i + 1) + 2046, "ok", 2), 0);
            } else {
                assert_int_equal(gmem_span_write(&sg.span[0], 0, "no", 2), -EFAULT);
            }
        }
        /* The pool spans at most four chunks; the second pass maps nothing. */
        assert_true(ip.g.stats.map_calls - calls <= (pass ? 0 : 4));
    }
    assert_int_equal(simdom_grants_mapped_now(ip.d), before + N);
    /* Read-only grants named beyond: their chunk cannot be mapped writable, so exactly. */
    b = (struct gmem_buf){ inproc_dma(ro_dma, 4096ull * 3), 16, false };
    assert_int_equal(gmem_map_data(&ip.g, &b, 1, &sg), 0);
    b.addr = inproc_dma(ro_dma, 4096ull + 100);
    assert_int_equal(gmem_map_data(&ip.g, &b, 1, &sg), 0);
    uint8_t byte;
    assert_int_equal(gmem_span_read(&sg.span[0], 0, &byte, 1), 0);
    b.writable = true; /* and a writable use of them is still refused */
    assert_int_equal(gmem_map_data(&ip.g, &b, 1, &sg), -EFAULT);
    gmem_persist_enable(&ip.g, false);
    assert_int_equal(simdom_grants_mapped_now(ip.d), before);
}

/* Kept mappings (a VIRTIO_F_GRANT_POOL driver): bounded, per direction, validated. */
static void test_persist_bounded(void **state)
{
    (void)state;
    enum { N = GMEM_PERSIST_ENTRIES + 40 };
    uint8_t *pool;
    uint64_t pool_dma = inproc_grant(&ip, N, false, &pool);
    assert_true(pool_dma != 0);
    uint32_t before = simdom_grants_mapped_now(ip.d);
    gmem_persist_enable(&ip.g, true);
    struct gmem_sg sg;
    struct gmem_buf b = { pool_dma, 4096, false };
    assert_int_equal(gmem_map_data(&ip.g, &b, 1, &sg), 0);
    gmem_unmap(&ip.g, &sg);
    assert_int_equal(gmem_map_data(&ip.g, &b, 1, &sg), 0); /* kept: no new map */
    assert_int_equal(ip.g.stats.persist_hits, 1);
    /* spec: GRT-DEV-POOL-2 */
    assert_int_equal(gmem_span_write(&sg.span[0], 0, "x", 1), -EFAULT); /* readable only */
    b.writable = true; /* the same page as a device-writable buffer: its own mapping */
    assert_int_equal(gmem_map_data(&ip.g, &b, 1, &sg), 0);
    assert_int_equal(gmem_span_write(&sg.span[0], 0, "y", 1), 0);
    assert_int_equal(pool[0], 'y');
    assert_int_equal(ip.g.stats.persist_misses, 2);
    /* every page once: the oldest mappings are evicted, the count stays bounded */
    for (uint32_t i = 0; i < N; i++) {
        b = (struct gmem_buf){ inproc_dma(pool_dma, 4096ull * i), 512, false };
        assert_int_equal(gmem_map_data(&ip.g, &b, 1, &sg), 0);
        gmem_unmap(&ip.g, &sg);
    }
    assert_true(ip.g.stats.persist_evictions > 0);
    /* spec: GRT-DEV-POOL-2 */
    assert_true(ip.g.persist.pages <= GMEM_PERSIST_PAGES);
    unsigned live = 0;
    for (unsigned i = 0; i < GMEM_PERSIST_ENTRIES; i++)
        live += ip.g.persist.e[i].addr != NULL;
    assert_true(live > 0 && live <= GMEM_PERSIST_ENTRIES);
    /* a kept mapping does not excuse an address that is not a grant */
    b = (struct gmem_buf){ 0x40000000, 16, false };
    /* spec: GRT-DEV-POOL-2 */
    assert_int_equal(gmem_map_data(&ip.g, &b, 1, &sg), -EINVAL);
    /* reset: everything is released, and mapping goes back to per request */
    gmem_persist_enable(&ip.g, false);
    assert_int_equal(simdom_grants_mapped_now(ip.d), before);
    b = (struct gmem_buf){ pool_dma, 16, false };
    assert_int_equal(gmem_map_data(&ip.g, &b, 1, &sg), 0);
    assert_int_equal(sg.nmaps, 1);
    gmem_unmap(&ip.g, &sg);
    assert_int_equal(simdom_grants_mapped_now(ip.d), before);
}

static void test_gmem_mapped_grant_cannot_be_revoked(void **state)
{
    (void)state;
    struct gmem_sg sg;
    struct gmem_buf b = { buf_dma + 5, 4096, true }; /* spans two pages */
    assert_int_equal(gmem_map_bufs(&ip.g, &b, 1, &sg), 0);
    assert_int_equal(sg.nmaps, 1);
    assert_int_equal(sg.map[0].pages, 2);
    assert_int_equal(gmem_sg_write(&sg, 0, "grant", 5), 0);
    assert_memory_equal(buf + 5, "grant", 5);
    uint32_t ref = (uint32_t)((buf_dma & ~(1ull << 63)) >> 12);
    assert_int_equal(simdom_revoke(ip.d, ref + 1), -EBUSY);
    gmem_unmap(&ip.g, &sg);
    assert_int_equal(simdom_revoke(ip.d, ref + 1), 0);
}

static void test_foreign_mode_bounds(void **state)
{
    (void)state;
    xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
    struct gmem g;
    assert_int_equal(gmem_init(&g, GMEM_FOREIGN, IP_DOMID, NULL, fm, 0x40000000, 4u << 20), 0);
    struct gmem_sg sg;
    struct gmem_buf b = { 0x40000000 + (4u << 20) - 8, 16, false }; /* runs off RAM */
    assert_int_equal(gmem_map_bufs(&g, &b, 1, &sg), -EFAULT);
    b.addr = 0x3ffffff0;
    assert_int_equal(gmem_map_bufs(&g, &b, 1, &sg), -EFAULT);
    b.addr = UINT64_MAX - 4;
    assert_int_equal(gmem_map_bufs(&g, &b, 1, &sg), -EFAULT);
    b.addr = 0x40001000;
    assert_int_equal(gmem_map_bufs(&g, &b, 1, &sg), 0);
    gmem_unmap(&g, &sg);
    assert_int_equal(gmem_init(&g, GMEM_FOREIGN, IP_DOMID, NULL, fm, 0x40000000, 0), -EINVAL);
    assert_int_equal(gmem_init(&g, GMEM_GRANT, IP_DOMID, NULL, fm, 0, 0), -EINVAL);
    xenforeignmemory_close(fm);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_valid_chain_then_empty),
        T(test_head_out_of_range),
        T(test_next_out_of_range),
        T(test_loop),
        T(test_avail_jump),
        T(test_readable_after_writable),
        T(test_total_length_overflow),
        T(test_indirect_valid),
        T(test_indirect_nested),
        T(test_indirect_with_next),
        T(test_indirect_length_not_multiple),
        T(test_indirect_zero_length),
        T(test_indirect_larger_than_queue),
        T(test_indirect_not_negotiated),
        T(test_indirect_table_loop),
        T(test_indirect_table_not_granted),
        T(test_notify_suppression),
        T(test_start_refusals),
        T(test_stopped_queue_refuses),
        T(test_gmem_refusals),
        T(test_gmem_mapped_grant_cannot_be_revoked),
        T(test_persist_bounded),
        T(test_persist_chunks),
        T(test_foreign_mode_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
