/* SPDX-License-Identifier: MIT */
/*
 * MSI-X (transport/msix.c) as a Xen HVM guest drives it, and as a hostile
 * one abuses it: PIRQ-format entries that stay masked, pending bits
 * delivered once on unmask, accesses of every width at every offset, and
 * messages Xen would refuse (dropped here, not injected).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "transport/msix.h"

static struct msix x;
static unsigned injected;
static uint64_t last_addr;
static uint32_t last_data;

static void inject(void *opaque, uint64_t addr, uint32_t data)
{
    (void)opaque;
    injected++;
    last_addr = addr;
    last_data = data;
}

static int setup(void **state)
{
    (void)state;
    msix_init(&x, inject, NULL);
    injected = 0;
    return 0;
}

static void entry(unsigned v, uint64_t addr, uint32_t data, uint32_t ctrl)
{
    msix_table_write(&x, v * 16, 4, (uint32_t)addr);
    msix_table_write(&x, v * 16 + 4, 4, (uint32_t)(addr >> 32));
    msix_table_write(&x, v * 16 + 8, 4, data);
    msix_table_write(&x, v * 16 + 12, 4, ctrl);
}

/* What Linux writes under Xen: PIRQ 0x123 in the address, vector 0, ExtINT. */
#define PIRQ_ADDR (0xfee00000ull | (0x23ull << 12) | (0x1ull << 32 << 8))
#define PIRQ_DATA 0x700u

static void test_reset_state(void **state)
{
    (void)state;
    for (unsigned v = 0; v < MSIX_MAX_VECTORS; v++) {
        assert_int_equal(msix_table_read(&x, v * 16 + 12, 4), 1); /* masked */
        assert_int_equal(msix_table_read(&x, v * 16 + 8, 4), 0);
    }
    assert_int_equal(msix_pba_read(&x, 0, 4), 0);
    /* Not enabled: a notify pends, nothing is sent. */
    assert_true(msix_notify(&x, 2));
    assert_int_equal(injected, 0);
    assert_int_equal(msix_pba_read(&x, 0, 4), 4);
}

/* Xen's PIRQ rule: a masked entry in PIRQ format is delivered anyway. */
static void test_pirq_entry_delivered_while_masked(void **state)
{
    (void)state;
    entry(1, PIRQ_ADDR, PIRQ_DATA, 1);
    msix_set_control(&x, MSIX_CTRL_ENABLE);
    assert_true(msix_notify(&x, 1));
    assert_int_equal(injected, 1);
    assert_int_equal(last_addr, PIRQ_ADDR);
    assert_int_equal(last_data, PIRQ_DATA);
    /* The function mask still holds it back, and releases it once. */
    msix_set_control(&x, MSIX_CTRL_ENABLE | MSIX_CTRL_FUNCTION_MASK);
    assert_true(msix_notify(&x, 1));
    assert_true(msix_notify(&x, 1));
    assert_int_equal(injected, 1);
    assert_int_equal(msix_pba_read(&x, 0, 4), 2);
    msix_table_write(&x, 16 + 12, 4, 0); /* an entry unmasked under the function mask */
    assert_int_equal(injected, 1);
    msix_set_control(&x, MSIX_CTRL_ENABLE);
    assert_int_equal(injected, 2);
    assert_int_equal(msix_pba_read(&x, 0, 4), 0);
}

/* A vector-format entry obeys its Mask bit: pending while masked, sent on unmask. */
static void test_vector_entry_pends_while_masked(void **state)
{
    (void)state;
    entry(3, 0xfee01000, 0x4041, 1); /* vector 0x41, fixed, masked */
    msix_set_control(&x, MSIX_CTRL_ENABLE);
    assert_true(msix_notify(&x, 3));
    assert_int_equal(injected, 0);
    assert_int_equal(msix_pba_read(&x, 0, 4), 8);
    msix_table_write(&x, 3 * 16 + 12, 4, 0xfffffffe); /* only the Mask bit is writable */
    assert_int_equal(msix_table_read(&x, 3 * 16 + 12, 4), 0);
    assert_int_equal(injected, 1);
    assert_int_equal(last_data, 0x4041);
    assert_int_equal(msix_pba_read(&x, 0, 4), 0);
    assert_true(msix_notify(&x, 3));
    assert_int_equal(injected, 2);
}

/* Messages Xen would refuse are not injected: counted as dropped. */
static void test_malformed_messages_dropped(void **state)
{
    (void)state;
    msix_set_control(&x, MSIX_CTRL_ENABLE);
    entry(0, 0, 0, 0);                  /* never programmed: PIRQ 0, no window */
    entry(1, 0xfee00000, 0, 0);         /* PIRQ format, PIRQ 0 */
    entry(2, 0xfec00000, 0x41, 0);      /* outside the interrupt window */
    entry(3, 0xfee00000, 0x0241, 0);    /* SMI delivery */
    entry(4, 0xfee00000, 0x0441, 0);    /* NMI */
    entry(5, 0xfee00000, 0x0741, 0);    /* ExtINT with a vector */
    entry(6, 0xfee00000, 0x0141, 0);    /* lowest priority: fine */
    entry(7, 0xfee00000ull | 0xffffff00ull << 32, 0, 0); /* PIRQ in the high bits: fine */
    for (uint16_t v = 0; v < MSIX_MAX_VECTORS; v++)
        assert_true(msix_notify(&x, v));
    assert_int_equal(x.dropped, 6);
    assert_int_equal(injected, 2);
    assert_int_equal(x.delivered, 2);
    /* A vector the table has not, or "no vector": nothing, not even pending. */
    assert_false(msix_notify(&x, MSIX_MAX_VECTORS));
    assert_false(msix_notify(&x, MSIX_NO_VECTOR));
    assert_int_equal(msix_pba_read(&x, 0, 4), 0);
}

/* Every width at every offset: only aligned dwords inside reach the table;
 * the PBA takes no write (it is not even given one). */
static void test_access_widths_and_offsets(void **state)
{
    (void)state;
    static const uint32_t sizes[] = { 1, 2, 3, 8, 0 };
    struct msix before = x;
    for (uint32_t off = 0; off < MSIX_TABLE_BYTES + 16; off++) {
        for (unsigned s = 0; s < 5; s++) {
            msix_table_write(&x, off, sizes[s], UINT32_MAX);
            assert_int_equal(msix_table_read(&x, off, sizes[s]), UINT32_MAX);
        }
        if (off & 3 || off >= MSIX_TABLE_BYTES) {
            msix_table_write(&x, off, 4, UINT32_MAX);
            assert_int_equal(msix_table_read(&x, off, 4), UINT32_MAX);
        }
    }
    assert_memory_equal(&x, &before, sizeof(x));
    assert_int_equal(msix_pba_read(&x, 8, 4), UINT32_MAX);
    assert_int_equal(msix_pba_read(&x, 2, 4), UINT32_MAX);
    assert_int_equal(msix_pba_read(&x, 0, 2), UINT32_MAX);
    assert_int_equal(msix_pba_read(&x, 4, 4), 0);
}

/* A reset (virtio reset or function level) masks everything and forgets pending bits. */
static void test_reset_forgets(void **state)
{
    (void)state;
    entry(1, PIRQ_ADDR, PIRQ_DATA, 0);
    assert_true(msix_notify(&x, 1)); /* not enabled: pending */
    msix_reset(&x);
    msix_set_control(&x, MSIX_CTRL_ENABLE);
    assert_int_equal(injected, 0);
    assert_int_equal(msix_table_read(&x, 16 + 12, 4), 1);
    assert_int_equal(msix_table_read(&x, 16, 4), 0);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_reset_state),
        T(test_pirq_entry_delivered_while_masked),
        T(test_vector_entry_pends_while_masked),
        T(test_malformed_messages_dropped),
        T(test_access_widths_and_offsets),
        T(test_reset_forgets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
