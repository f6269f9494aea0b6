/* SPDX-License-Identifier: MIT */
/*
 * The PCI configuration space (transport/pcicfg.c) as a hostile guest meets
 * it: writes of every width at every offset, BAR sizing, the capability
 * list, accesses past the end and of widths Xen never sends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "transport/pcicfg.h"

static const struct pcicfg_id blk_id = {
    .vendor = 0x1af4, .device = 0x1042, .revision = 1, .class_code = 0x018000,
    .subsystem_vendor = 0x1af4, .subsystem = 0x1100, .interrupt_pin = 1,
};

static struct pcicfg c;

static int setup(void **state)
{
    (void)state;
    pcicfg_init(&c, &blk_id);
    assert_int_equal(pcicfg_add_mem_bar32(&c, 0, 0x8000), 0);
    return 0;
}

static void test_identity(void **state)
{
    (void)state;
    assert_int_equal(pcicfg_read(&c, PCI_VENDOR_ID, 4), 0x10421af4);
    assert_int_equal(pcicfg_read(&c, PCI_DEVICE_ID, 2), 0x1042);
    assert_int_equal(pcicfg_read(&c, PCI_CLASS_REVISION, 4), 0x01800001);
    assert_int_equal(pcicfg_read(&c, PCI_HEADER_TYPE, 1), 0);
    assert_int_equal(pcicfg_read(&c, PCI_SUBSYSTEM_ID, 2), 0x1100);
    assert_int_equal(pcicfg_read(&c, PCI_INTERRUPT_PIN, 1), 1);
    assert_int_equal(pcicfg_read(&c, PCI_COMMAND, 2), 0);
    /* No capability yet: the list bit is clear. */
    assert_int_equal(pcicfg_read(&c, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
}

/* Writes of all ones and all zeros, every width, every offset (and past
 * the end): a bit the guest may not write never changes. */
static void test_read_only_bits_hold(void **state)
{
    (void)state;
    static const uint8_t body[6] = { 1, 2, 3, 4, 5, 6 };
    static const uint8_t wm[6] = { 0, 0xf0, 0, 0, 0, 0 };
    assert_true(pcicfg_add_cap(&c, 0x09, body, sizeof(body), wm) >= 0);
    struct pcicfg before = c;
    static const uint32_t sizes[] = { 1, 2, 4 };
    for (uint32_t reg = 0; reg < PCICFG_SIZE + 8; reg++)
        for (unsigned s = 0; s < 3; s++)
            for (unsigned v = 0; v < 2; v++) {
                pcicfg_write(&c, reg, sizes[s], v ? UINT32_MAX : 0);
                for (unsigned i = 0; i < PCICFG_SIZE; i++)
                    if ((c.img[i] ^ before.img[i]) & ~c.wmask[i])
                        fail_msg("byte 0x%x changed outside its mask (write 0x%x/%u)", i, reg,
                                 sizes[s]);
            }
    assert_memory_equal(c.wmask, before.wmask, sizeof(c.wmask));
}

static void test_bar_sizing(void **state)
{
    (void)state;
    pcicfg_write(&c, PCI_BAR0, 4, UINT32_MAX);
    assert_int_equal(pcicfg_read(&c, PCI_BAR0, 4), 0xffff8000); /* 32 KiB, memory, 32-bit */
    /* BARs 1-5 and the ROM do not exist: they size to 0. */
    for (unsigned b = 1; b < PCICFG_BARS; b++) {
        pcicfg_write(&c, PCI_BAR0 + 4 * b, 4, UINT32_MAX);
        assert_int_equal(pcicfg_read(&c, PCI_BAR0 + 4 * b, 4), 0);
    }
    pcicfg_write(&c, PCI_ROM_ADDRESS, 4, UINT32_MAX);
    assert_int_equal(pcicfg_read(&c, PCI_ROM_ADDRESS, 4), 0);
    /* A base that is not aligned to the size keeps only its aligned bits. */
    pcicfg_write(&c, PCI_BAR0, 4, 0xf0001234);
    assert_int_equal(pcicfg_read(&c, PCI_BAR0, 4), 0xf0000000);
    /* Byte-wide writes reach the same register. */
    pcicfg_write(&c, PCI_BAR0 + 3, 1, 0xe1);
    assert_int_equal(pcicfg_read(&c, PCI_BAR0, 4), 0xe1000000);
    assert_int_equal(pcicfg_add_mem_bar32(&c, 0, 0x1000), -EEXIST);
    assert_int_equal(pcicfg_add_mem_bar32(&c, 6, 0x1000), -EINVAL);
    assert_int_equal(pcicfg_add_mem_bar32(&c, 1, 0x1800), -EINVAL);
    assert_int_equal(pcicfg_add_mem_bar32(&c, 1, 8), -EINVAL);
}

/* The BAR decodes only with memory decoding on, and never at 0 or at the
 * sizing pattern a probe leaves. */
static void test_bar_base(void **state)
{
    (void)state;
    pcicfg_write(&c, PCI_BAR0, 4, 0xf0000000);
    assert_int_equal(pcicfg_bar_base(&c, 0), 0);
    pcicfg_write(&c, PCI_COMMAND, 2, 0xffff);
    assert_int_equal(pcicfg_read(&c, PCI_COMMAND, 2),
                     PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
    assert_int_equal(pcicfg_bar_base(&c, 0), 0xf0000000);
    pcicfg_write(&c, PCI_BAR0, 4, UINT32_MAX);
    assert_int_equal(pcicfg_bar_base(&c, 0), 0);
    pcicfg_write(&c, PCI_BAR0, 4, 0);
    assert_int_equal(pcicfg_bar_base(&c, 0), 0);
    assert_int_equal(pcicfg_bar_base(&c, 1), 0);
    assert_int_equal(pcicfg_bar_base(&c, 99), 0);
}

/* The list as Linux walks it: from 0x34, 4-byte aligned, at 0x40 or above,
 * ending in 0, each capability read-only except where its mask says. */
static void test_capability_list(void **state)
{
    (void)state;
    uint8_t body[14] = { 0 };
    int first = pcicfg_add_cap(&c, 0x11, body, 10, NULL);
    int second = pcicfg_add_cap(&c, 0x09, body, 13, NULL);
    int third = pcicfg_add_cap(&c, 0x09, body, 14, NULL);
    assert_int_equal(first, 0x40);
    assert_int_equal(second, 0x4c);
    assert_int_equal(third, 0x5c); /* 0x4c + 15 = 0x5b, aligned up */
    assert_true(pcicfg_read(&c, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    unsigned hops = 0, ids[4];
    for (uint32_t p = pcicfg_read(&c, PCI_CAPABILITY_LIST, 1); p; hops++) {
        assert_true(hops < 3 && p >= PCICFG_CAP_START && !(p & 3));
        ids[hops] = pcicfg_read(&c, p, 1);
        p = pcicfg_read(&c, p + 1, 1);
    }
    assert_int_equal(hops, 3);
    assert_int_equal(ids[0], 0x11);
    assert_int_equal(ids[2], 0x09);
    /* The guest cannot relink it. */
    pcicfg_write(&c, PCI_CAPABILITY_LIST, 1, 0x80);
    pcicfg_write(&c, (uint32_t)first + 1, 1, 0x40);
    assert_int_equal(pcicfg_read(&c, PCI_CAPABILITY_LIST, 1), 0x40);
    assert_int_equal(pcicfg_read(&c, (uint32_t)first + 1, 1), 0x4c);
}

static void test_capability_space_runs_out(void **state)
{
    (void)state;
    uint8_t body[254] = { 0 };
    int n = 0;
    while (pcicfg_add_cap(&c, 0x09, body, 60, NULL) >= 0)
        n++;
    assert_int_equal(n, 3); /* at 0x40, 0x80, 0xc0: 62 bytes each, aligned up to 64 */
    assert_int_equal(pcicfg_add_cap(&c, 0x09, body, 0, NULL), -ENOSPC); /* 0xfe, aligned: 0x100 */
    /* Exactly to the last byte, and one more does not fit. */
    pcicfg_init(&c, &blk_id);
    assert_int_equal(pcicfg_add_cap(&c, 0x09, body, 191, NULL), -ENOSPC);
    assert_int_equal(pcicfg_add_cap(&c, 0x09, body, 190, NULL), 0x40);
    assert_int_equal(pcicfg_add_cap(&c, 0x09, body, 0, NULL), -ENOSPC);
    assert_int_equal(pcicfg_read(&c, 0x41, 1), 0);
}

/* Past the end: bytes beyond 256 read 0 and take no write, with no wrap of
 * the offset; widths Xen never sends read all ones and write nothing. */
static void test_out_of_range_and_bad_widths(void **state)
{
    (void)state;
    c.img[0xfe] = 0x12;
    c.img[0xff] = 0x34;
    assert_int_equal(pcicfg_read(&c, 0xfe, 4), 0x3412);
    assert_int_equal(pcicfg_read(&c, 0x100, 4), 0);
    assert_int_equal(pcicfg_read(&c, UINT32_MAX, 4), 0);
    assert_int_equal(pcicfg_read(&c, UINT32_MAX - 1, 2), 0);
    struct pcicfg before = c;
    pcicfg_write(&c, 0x100, 4, UINT32_MAX);
    pcicfg_write(&c, UINT32_MAX, 4, UINT32_MAX);
    pcicfg_write(&c, PCI_INTERRUPT_LINE, 3, 0xaa);
    pcicfg_write(&c, PCI_INTERRUPT_LINE, 0, 0xaa);
    pcicfg_write(&c, PCI_INTERRUPT_LINE, 8, 0xaa);
    assert_memory_equal(&c, &before, sizeof(c));
    assert_int_equal(pcicfg_read(&c, PCI_VENDOR_ID, 3), UINT32_MAX);
    assert_int_equal(pcicfg_read(&c, PCI_VENDOR_ID, 8), UINT32_MAX);
    assert_int_equal(pcicfg_get(&c, 0xfe, 4), 0);
    assert_int_equal(pcicfg_get(&c, PCI_VENDOR_ID, 3), 0);
    pcicfg_set(&c, 0xfe, 4, UINT32_MAX);
    pcicfg_set(&c, PCI_VENDOR_ID, 3, UINT32_MAX);
    assert_memory_equal(&c, &before, sizeof(c));
}

/* Scratch registers keep what is written; a dword write across them
 * changes only the writable bytes. */
static void test_scratch_registers(void **state)
{
    (void)state;
    pcicfg_write(&c, PCI_INTERRUPT_LINE, 4, 0xffffff0b);
    assert_int_equal(pcicfg_read(&c, PCI_INTERRUPT_LINE, 4), 0x0000010b);
    pcicfg_write(&c, PCI_CACHE_LINE_SIZE, 4, 0xffff4010);
    assert_int_equal(pcicfg_read(&c, PCI_CACHE_LINE_SIZE, 2), 0x4010);
    assert_int_equal(pcicfg_read(&c, PCI_HEADER_TYPE, 2), 0);
    /* The device's own updates bypass the mask (the interrupt status bit). */
    pcicfg_set(&c, PCI_STATUS, 2, PCI_STATUS_INTERRUPT);
    assert_int_equal(pcicfg_get(&c, PCI_STATUS, 2), PCI_STATUS_INTERRUPT);
    pcicfg_write(&c, PCI_STATUS, 2, 0);
    assert_int_equal(pcicfg_read(&c, PCI_STATUS, 2), PCI_STATUS_INTERRUPT);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_identity),
        T(test_read_only_bits_hold),
        T(test_bar_sizing),
        T(test_bar_base),
        T(test_capability_list),
        T(test_capability_space_runs_out),
        T(test_out_of_range_and_bad_widths),
        T(test_scratch_registers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
