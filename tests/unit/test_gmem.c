/* SPDX-License-Identifier: MIT */
/*
 * The mapping layer's own refusals: the budgets a guest could try to
 * exceed (buffers per chain, pages per chain, pages in flight, batches),
 * foreign mappings Xen refuses in part, and the mode names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <xenforeignmemory.h>

#include "../common/inproc.h"
#include "gmem/gmem.h"

#define RAM_BASE 0x40000000ull /* the simulated guest's RAM: 16 MiB from here */
#define RAM_SIZE (16ull << 20)

static struct inproc ip;
static uint64_t big_dma; /* BIG_PAGES granted pages */
#define BIG_PAGES 1500u

static int setup(void **state)
{
    (void)state;
    uint8_t *host;
    if (inproc_up(&ip) < 0)
        return -1;
    big_dma = inproc_grant(&ip, BIG_PAGES, false, &host);
    return big_dma ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    gmem_persist_flush(&ip.g);
    assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
    inproc_down(&ip);
    return 0;
}

static struct gmem_buf pages_at(uint64_t dma, uint32_t pages, bool writable)
{
    return (struct gmem_buf){ .addr = dma, .len = pages * 4096u, .writable = writable };
}

static void test_mode_names(void **state)
{
    (void)state;
    for (int i = GMEM_GRANT; i <= GMEM_GRANT_COPY; i++) {
        enum gmem_mode m;
        assert_int_equal(gmem_mode_parse(gmem_mode_name((enum gmem_mode)i), &m), 0);
        assert_int_equal(m, i);
    }
    enum gmem_mode m;
    assert_int_equal(gmem_mode_parse("grant ", &m), -EINVAL);
    assert_int_equal(gmem_mode_parse("", &m), -EINVAL);
    assert_string_equal(gmem_mode_name((enum gmem_mode)99), "?");
}

static void test_too_many_buffers(void **state)
{
    (void)state;
    static struct gmem_buf bufs[GMEM_MAX_BUFS + 1];
    static struct gmem_sg sg;
    for (unsigned i = 0; i <= GMEM_MAX_BUFS; i++)
        bufs[i] = (struct gmem_buf){ big_dma, 16, false };
    uint32_t pages;
    assert_int_equal(gmem_map_bufs(&ip.g, bufs, GMEM_MAX_BUFS + 1, &sg), -E2BIG);
    assert_int_equal(gmem_map_data(&ip.g, bufs, GMEM_MAX_BUFS + 1, &sg), -E2BIG);
    assert_int_equal(gmem_data_pages(&ip.g, bufs, GMEM_MAX_BUFS + 1, &pages), -E2BIG);
    assert_int_equal(gmem_data_pages(&ip.g, bufs, 2, &pages), 0);
    assert_int_equal(pages, 2);
}

/* One chain may not map more than GMEM_MAX_CHAIN_PAGES, however it splits them. */
static void test_chain_page_budget(void **state)
{
    (void)state;
    static struct gmem_sg sg;
    struct gmem_buf two[2] = { pages_at(big_dma, 1200, false), pages_at(big_dma, 1200, true) };
    uint32_t pages;
    assert_int_equal(gmem_data_pages(&ip.g, two, 2, &pages), -E2BIG);
    assert_int_equal(gmem_map_data(&ip.g, two, 2, &sg), -E2BIG);
    gmem_persist_enable(&ip.g, true);
    assert_int_equal(gmem_map_data(&ip.g, two, 2, &sg), -E2BIG);
    gmem_persist_enable(&ip.g, false);
    assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
}

/* Chains in flight share one maximal chain's pages: the next waits (-EBUSY), alone it fits. */
static void test_pages_in_flight(void **state)
{
    (void)state;
    static struct gmem_sg held, next;
    struct gmem_buf a = pages_at(big_dma, 1200, false), b = pages_at(big_dma, 900, true);
    assert_int_equal(gmem_map_data(&ip.g, &a, 1, &held), 0);
    assert_int_equal(gmem_data_room(&ip.g), GMEM_MAX_CHAIN_PAGES - 1200);
    assert_int_equal(gmem_map_data(&ip.g, &b, 1, &next), -EBUSY);
    /* An indirect table never waits: it is mapped beside the budget and gone again. */
    uint8_t table[64];
    struct gmem_buf t = { big_dma + 4096, sizeof(table), false };
    static struct gmem_sg fill;
    struct gmem_buf rest = pages_at(big_dma, GMEM_MAX_CHAIN_PAGES - 1200, false);
    assert_int_equal(gmem_map_data(&ip.g, &rest, 1, &fill), 0);
    assert_int_equal(gmem_fetch(&ip.g, &t, table), 0);
    gmem_unmap(&ip.g, &fill);
    /* A batch does not fit beside the chain in flight either. */
    struct gmem_batch batch;
    struct gmem_batch_chain c = { &b, 1, &next };
    assert_int_equal(gmem_map_batch(&ip.g, &c, 1, &batch), -EBUSY);
    gmem_unmap(&ip.g, &held);
    assert_int_equal(gmem_map_data(&ip.g, &b, 1, &next), 0);
    gmem_unmap(&ip.g, &next);
}

static void test_batch_refusals(void **state)
{
    (void)state;
    static struct gmem_sg s1, s2;
    struct gmem_buf a = pages_at(big_dma, 1200, false), b = pages_at(big_dma, 1200, true);
    struct gmem_batch_chain c[2] = { { &a, 1, &s1 }, { &b, 1, &s2 } };
    struct gmem_batch batch;
    assert_int_equal(gmem_map_batch(&ip.g, c, 2, &batch), -E2BIG);
    assert_int_equal(s1.n + s2.n, 0);
    gmem_persist_enable(&ip.g, true); /* a pool driver's buffers stay mapped: no batches */
    assert_false(gmem_can_batch(&ip.g));
    assert_int_equal(gmem_map_batch(&ip.g, c, 1, &batch), -EINVAL);
    gmem_persist_enable(&ip.g, false);
}

/* Xen maps a foreign range in part (errs[] set for some frames): nothing stays mapped. */
static void test_foreign_partial_map(void **state)
{
    (void)state;
    xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
    assert_non_null(fm);
    struct gmem g;
    /* The toolstack said 32 MiB; the guest has 16: the frames past it are not the guest's. */
    assert_int_equal(gmem_init(&g, GMEM_FOREIGN, IP_DOMID, NULL, fm, RAM_BASE, 2 * RAM_SIZE), 0);
    static struct gmem_sg sg;
    struct gmem_buf b = { RAM_BASE + RAM_SIZE - 4096, 8192, false };
    assert_int_equal(gmem_map_bufs(&g, &b, 1, &sg), -EFAULT);
    assert_int_equal(g.stats.pages_now, 0);
    b.addr = RAM_BASE + RAM_SIZE - 8192;
    assert_int_equal(gmem_map_bufs(&g, &b, 1, &sg), 0);
    gmem_unmap(&g, &sg);
    gmem_fini(&g);
    /* Premapping all of a RAM size that is not the guest's fails whole. */
    assert_int_equal(gmem_init(&g, GMEM_FOREIGN_PREMAP, IP_DOMID, NULL, fm, RAM_BASE,
                               2 * RAM_SIZE) < 0, 1);
    assert_null(g.premap);
    assert_int_equal(g.stats.pages_now, 0);
    xenforeignmemory_close(fm);
}

/*
 * The announcement's own refusals, which the transport's guards keep a guest
 * from reaching (it announces only with a pool negotiated, pages > 0, once
 * per DRIVER_OK), and the overlap test at its edges.
 */
static void test_pool_announce_refusals(void **state)
{
    (void)state;
    const uint64_t pool = big_dma + 4096 * 8; /* refs 8..15 of the big grant */
    assert_int_equal(gmem_pool_announce(&ip.g, pool, 8), -EINVAL); /* no pool negotiated */
    gmem_persist_enable(&ip.g, true);
    assert_int_equal(gmem_pool_announce(&ip.g, pool, 0), -EINVAL);
    /* Each refusal for its own reason: every page below is granted unless said. */
    assert_int_equal(gmem_pool_announce(&ip.g, big_dma, GMEM_POOL_MAX_PAGES + 1), -EINVAL);
    assert_int_equal(gmem_pool_announce(&ip.g, big_dma & ~GMEM_GRANT_FLAG, 8), -EINVAL);
    assert_int_equal(gmem_pool_announce(&ip.g, pool + 0x800, 8), -EINVAL);
    assert_int_equal(gmem_pool_announce(&ip.g, GMEM_GRANT_FLAG | (0xffffffffull << 12), 2),
                     -EINVAL); /* refs past 2^32: refused before any map */
    assert_int_equal(gmem_pool_announce(&ip.g, big_dma + 4096ull * (BIG_PAGES - 4), 8),
                     -EFAULT); /* its last 4 pages not granted */
    assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
    /* The largest pool is mapped, and unmapped with the kept mappings. */
    assert_int_equal(gmem_pool_announce(&ip.g, big_dma, GMEM_POOL_MAX_PAGES), 0);
    assert_int_equal(simdom_grants_mapped_now(ip.d), GMEM_POOL_MAX_PAGES);
    gmem_persist_flush(&ip.g);
    assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
    struct gmem_buf ring = pages_at(pool, 1, false);
    assert_false(gmem_pool_overlaps(&ip.g, &ring)); /* nothing announced */
    assert_int_equal(gmem_pool_announce(&ip.g, pool, 8), 0);
    assert_int_equal(gmem_pool_announce(&ip.g, pool, 8), -EALREADY);
    assert_int_equal(simdom_grants_mapped_now(ip.d), 8);
    /* The pages just before and just after it, and its first and last. */
    struct gmem_buf before = pages_at(pool - 4096, 1, false);
    struct gmem_buf after = pages_at(pool + 8 * 4096, 1, false);
    struct gmem_buf first = pages_at(pool - 4096, 2, false);
    struct gmem_buf last = pages_at(pool + 7 * 4096, 2, false);
    assert_false(gmem_pool_overlaps(&ip.g, &before));
    assert_false(gmem_pool_overlaps(&ip.g, &after));
    assert_true(gmem_pool_overlaps(&ip.g, &first));
    assert_true(gmem_pool_overlaps(&ip.g, &last));
    struct gmem_buf empty = { pool, 0, false }, phys = { RAM_BASE, 4096, false };
    assert_false(gmem_pool_overlaps(&ip.g, &empty));
    assert_false(gmem_pool_overlaps(&ip.g, &phys));
    /* A data buffer below, straddling or after it is refused; inside, served unmapped. */
    struct gmem_sg sg;
    assert_int_equal(gmem_map_data(&ip.g, &before, 1, &sg), -EACCES);
    assert_int_equal(gmem_map_data(&ip.g, &first, 1, &sg), -EACCES);
    assert_int_equal(gmem_map_data(&ip.g, &last, 1, &sg), -EACCES);
    assert_int_equal(gmem_map_data(&ip.g, &after, 1, &sg), -EACCES);
    struct gmem_buf in = pages_at(pool + 4096, 7, true);
    uint64_t calls = ip.g.stats.map_calls;
    assert_int_equal(gmem_map_data(&ip.g, &in, 1, &sg), 0);
    assert_int_equal(ip.g.stats.map_calls, calls);
    assert_int_equal(gmem_span_write(&sg.span[0], 7 * 4096 - 1, "z", 1), 0);
    assert_int_equal(gmem_span_write(&sg.span[0], 7 * 4096, "z", 1), -EFAULT);
    gmem_unmap(&ip.g, &sg);
    gmem_persist_flush(&ip.g);
    assert_int_equal(simdom_grants_mapped_now(ip.d), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_mode_names),         T(test_too_many_buffers), T(test_chain_page_budget),
        T(test_pages_in_flight),    T(test_batch_refusals),   T(test_foreign_partial_map),
        T(test_pool_announce_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
