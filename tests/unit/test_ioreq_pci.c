/* SPDX-License-Identifier: MIT */
/*
 * A PCI device's Xen plumbing end to end through the simulator: a guest
 * vCPU's access to a PCI function becomes an IOREQ_TYPE_PCI_CONFIG request
 * only once an ioreq server has claimed that function
 * (xen_ioreq_map_pcidev), the server decodes it (backend/xen/ioreq.c) onto
 * a configuration space (transport/pcicfg.c), and what it refuses reads all
 * ones; the MMIO window follows the BAR (xen_ioreq_move_window); INTA and
 * MSIs reach the guest with Xen's checks.  The server runs in a thread of
 * this process, as the device process's loop would.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "../common/inproc.h"
#include "transport/pcicfg.h"
#include "xen/ioreq.h"

#define SBDF XEN_IOREQ_SBDF(0, 0, 5, 0)

static struct inproc ip;
static struct xen_ioreq_srv srv;
static struct pcicfg cfg;
static pthread_t server;
static atomic_bool stop;
static bool running;

static void on_mmio(void *opaque, uint64_t off, uint32_t size, bool is_write, uint64_t *val)
{
    (void)opaque;
    (void)size;
    if (!is_write)
        *val = off + 1; /* which register it was, as the window saw it */
}

static void on_config(void *opaque, uint32_t reg, uint32_t size, bool is_write, uint32_t *val)
{
    struct pcicfg *c = opaque;
    if (is_write)
        pcicfg_write(c, reg, size, *val);
    else
        *val = pcicfg_read(c, reg, size);
}

static void *serve(void *arg)
{
    (void)arg;
    struct pollfd pfd = { .fd = xen_ioreq_fd(&srv), .events = POLLIN };
    while (!atomic_load(&stop))
        if (poll(&pfd, 1, 20) > 0)
            xen_ioreq_dispatch(&srv, on_mmio, NULL);
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    if (inproc_up(&ip) < 0 || xen_ioreq_open(&srv, IP_DOMID, 0x2000000, 0x200, 33) < 0)
        return -1;
    static const struct pcicfg_id id = {
        .vendor = 0x1af4, .device = 0x1042, .revision = 1, .class_code = 0x018000,
        .subsystem_vendor = 0x1af4, .subsystem = 0x1100, .interrupt_pin = 1,
    };
    pcicfg_init(&cfg, &id);
    if (pcicfg_add_mem_bar32(&cfg, 0, 0x8000) < 0)
        return -1;
    xen_ioreq_set_pcidev(&srv, SBDF, on_config, &cfg);
    atomic_store(&stop, false);
    running = !pthread_create(&server, NULL, serve, NULL);
    return running ? 0 : -1;
}

static void stop_server(void)
{
    atomic_store(&stop, true);
    if (running)
        pthread_join(server, NULL);
    running = false;
}

static int teardown(void **state)
{
    (void)state;
    stop_server();
    xen_ioreq_close(&srv); /* a no-op on a closed server */
    inproc_down(&ip);
    return 0;
}

static uint32_t cfg_read(uint32_t sbdf, uint32_t reg, uint32_t size)
{
    uint32_t v = 0;
    assert_int_equal(simdom_pci_config_read(ip.d, 0, sbdf, reg, size, &v), 0);
    return v;
}

/* Before the claim, the function is absent: all ones, and no request reaches the server. */
static void test_unclaimed_function_reads_all_ones(void **state)
{
    (void)state;
    assert_int_equal(cfg_read(SBDF, PCI_VENDOR_ID, 4), UINT32_MAX);
    assert_int_equal(cfg_read(SBDF, PCI_VENDOR_ID, 2), 0xffff);
    assert_int_equal(srv.ctr.handled + srv.ctr.rejected, 0);
}

static void test_claimed_function_is_served(void **state)
{
    (void)state;
    /* No configuration space to answer with: nothing to claim. */
    xen_ioreq_set_pcidev(&srv, SBDF, NULL, NULL);
    assert_int_equal(xen_ioreq_map_pcidev(&srv), -EINVAL);
    xen_ioreq_set_pcidev(&srv, SBDF, on_config, &cfg);
    assert_int_equal(xen_ioreq_map_pcidev(&srv), 0);
    assert_int_equal(xen_ioreq_map_pcidev(&srv), 0); /* claimed once, in Xen */
    assert_int_equal(cfg_read(SBDF, PCI_VENDOR_ID, 4), 0x10421af4);
    /* The sizing dance firmware does, through the real decode path. */
    assert_int_equal(simdom_pci_config_write(ip.d, 0, SBDF, PCI_BAR0, 4, UINT32_MAX), 0);
    assert_int_equal(cfg_read(SBDF, PCI_BAR0, 4), 0xffff8000);
    assert_int_equal(simdom_pci_config_write(ip.d, 0, SBDF, PCI_BAR0, 4, 0xf0000000), 0);
    assert_int_equal(simdom_pci_config_write(ip.d, 0, SBDF, PCI_COMMAND, 2, 0x0006), 0);
    assert_int_equal(pcicfg_bar_base(&cfg, 0), 0xf0000000);
    /* Another function of the same device is not ours: Xen's null handler. */
    assert_int_equal(cfg_read(XEN_IOREQ_SBDF(0, 0, 5, 1), PCI_VENDOR_ID, 4), UINT32_MAX);
    /* A dword read across the end of the space: the bytes beyond read 0. */
    assert_int_equal(cfg_read(SBDF, 0xfe, 4), 0);
}

/* Shapes only a hostile guest (or a rep string instruction) makes: refused,
 * answered all ones, counted, and the space untouched. */
static void test_malformed_config_requests_refused(void **state)
{
    (void)state;
    assert_int_equal(xen_ioreq_map_pcidev(&srv), 0);
    struct pcicfg before = cfg;
    const ioreq_t bad[] = {
        { .addr = (uint64_t)SBDF << 32, .count = 1, .size = 3, .dir = IOREQ_READ,
          .type = IOREQ_TYPE_PCI_CONFIG },
        { .addr = (uint64_t)SBDF << 32, .count = 1, .size = 8, .dir = IOREQ_READ,
          .type = IOREQ_TYPE_PCI_CONFIG },
        { .addr = (uint64_t)SBDF << 32 | PCI_BAR0, .count = 4, .size = 4, .data_is_ptr = 1,
          .dir = IOREQ_READ, .type = IOREQ_TYPE_PCI_CONFIG },
        /* Xen routed it here, but the SBDF in it is not the claimed one. */
        { .addr = (uint64_t)(SBDF + 8) << 32, .count = 1, .size = 4, .dir = IOREQ_READ,
          .type = IOREQ_TYPE_PCI_CONFIG },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t data = 0;
        assert_int_equal(simdom_ioreq_raw(ip.d, 0, &bad[i], &data), 0);
        uint64_t ones = bad[i].size >= 8 ? UINT64_MAX : (1ull << (8 * bad[i].size)) - 1;
        assert_int_equal(data, ones);
    }
    const ioreq_t bad_write = { .addr = (uint64_t)SBDF << 32 | PCI_BAR0, .data = 0,
                                .count = 2, .size = 4, .dir = IOREQ_WRITE,
                                .type = IOREQ_TYPE_PCI_CONFIG };
    assert_int_equal(simdom_ioreq_raw(ip.d, 0, &bad_write, NULL), 0);
    assert_int_equal(srv.ctr.rejected, 5);
    assert_memory_equal(&cfg, &before, sizeof(cfg));
}

/* Closing the server gives the function back: absent again. */
static void test_close_unclaims(void **state)
{
    (void)state;
    assert_int_equal(xen_ioreq_map_pcidev(&srv), 0);
    assert_int_equal(cfg_read(SBDF, PCI_DEVICE_ID, 2), 0x1042);
    stop_server();
    xen_ioreq_close(&srv);
    assert_int_equal(cfg_read(SBDF, PCI_DEVICE_ID, 2), 0xffff);
}

/* The window follows the BAR: the new range is served, the old one no more. */
static void test_window_follows_the_bar(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(simdom_mmio_read(ip.d, 0, 0x2000010, 4, &v), 0);
    assert_int_equal(v, 0x11);
    assert_int_equal(xen_ioreq_move_window(&srv, 0xf0000000, 0x8000), 0);
    assert_int_equal(simdom_wait_backend(ip.d, 0xf0007ffc, 0), 0); /* Xen routes it here */
    assert_int_equal(simdom_mmio_read(ip.d, 0, 0xf0000010, 4, &v), 0);
    assert_int_equal(v, 0x11);
    uint64_t rejected = srv.ctr.rejected;
    assert_int_equal(simdom_mmio_read(ip.d, 0, 0x2000010, 4, &v), 0); /* a stale access */
    assert_int_equal(v, 0);
    assert_int_equal(srv.ctr.rejected, rejected + 1);
    /* Decoding off: no window at all. */
    assert_int_equal(xen_ioreq_move_window(&srv, 0, 0), 0);
    assert_int_equal(simdom_wait_backend(ip.d, 0xf0000010, 0), -ETIMEDOUT);
    assert_int_equal(simdom_mmio_read(ip.d, 0, 0xf0000010, 4, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(xen_ioreq_move_window(&srv, UINT64_MAX - 0xfff, 0x2000), -EINVAL);
    assert_int_equal(xen_ioreq_move_window(&srv, 0xe0000000, 0x8000), 0);
    assert_int_equal(xen_ioreq_move_window(&srv, 0xe0000000, 0x8000), 0); /* unchanged */
    assert_int_equal(simdom_wait_backend(ip.d, 0xe0000000, 0), 0);
}

/* INTA of device 5 is GSI (5 * 4 + 0) + 16 = 36, as the guest's ACPI tables route it. */
static void test_intx_raises_the_pins_gsi(void **state)
{
    (void)state;
    assert_int_equal(xen_ioreq_map_pcidev(&srv), 0);
    assert_int_equal(xen_ioreq_set_intx(&srv, 1), 0);
    assert_true(simdom_irq_level(ip.d, 36));
    assert_int_equal(xen_ioreq_set_intx(&srv, 0), 0);
    assert_false(simdom_irq_level(ip.d, 36));
    assert_int_equal(xen_ioreq_set_intx(&srv, 2), -EINVAL);
}

/* MSIs as Xen takes them: a PIRQ message, a vector one; Xen refuses PIRQ 0 and NMI delivery. */
static void test_msi_injected_with_xens_checks(void **state)
{
    (void)state;
    uint64_t addr;
    uint32_t data;
    assert_int_equal(xen_ioreq_inject_msi(&srv, 0xfee23000, 0x700), 0);
    assert_int_equal(simdom_msi(ip.d, &addr, &data), 1);
    assert_int_equal(addr, 0xfee23000);
    assert_int_equal(data, 0x700);
    assert_int_equal(xen_ioreq_inject_msi(&srv, 0xfee00000, 0x4041), 0);
    assert_int_equal(xen_ioreq_inject_msi(&srv, 0xfee00000, 0), -ERANGE);
    assert_int_equal(xen_ioreq_inject_msi(&srv, 0xfee00000, 0x441), -EINVAL);
    assert_int_equal(simdom_msi(ip.d, &addr, &data), 2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_unclaimed_function_reads_all_ones),
        T(test_claimed_function_is_served),
        T(test_malformed_config_requests_refused),
        T(test_close_unclaims),
        T(test_window_follows_the_bar),
        T(test_intx_raises_the_pins_gsi),
        T(test_msi_injected_with_xens_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
