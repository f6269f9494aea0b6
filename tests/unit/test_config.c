/* SPDX-License-Identifier: MIT */
/* Command-line parsing: defaults, and a clear refusal for each bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"

static int parse(struct vg_config *c, const char *line)
{
    static char buf[512];
    char *argv[32];
    int argc = 0;
    snprintf(buf, sizeof(buf), "virtio-grant %s", line);
    for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    int rc = vg_config_parse(c, argc, argv);
    fclose(stderr);
    stderr = saved;
    return rc;
}

static void test_defaults(void **state)
{
    (void)state;
    struct vg_config c;
    assert_int_equal(parse(&c, "blk --domid 3 --image /x"), 0);
    assert_int_equal(c.domid, 3);
    assert_int_equal(c.base, 0x2000000);
    assert_int_equal(c.size, 0x200);
    assert_int_equal(c.irq, 33);
    assert_int_equal(c.mode, GMEM_GRANT);
    assert_false(c.read_only);
    assert_int_equal(c.log_format, VG_LOG_TEXT);
    assert_int_equal(parse(&c, "blk --domid 1 --image /x --log-format=json"), 0);
    assert_int_equal(c.log_format, VG_LOG_JSON);
}

static void test_foreign_and_premap(void **state)
{
    (void)state;
    struct vg_config c;
    assert_int_equal(parse(&c, "blk --domid 1 --image /x --mode foreign --ram-size 64M"), 0);
    assert_int_equal(c.mode, GMEM_FOREIGN);
    assert_int_equal(c.ram_size, 64ull << 20);
    assert_int_equal(parse(&c, "blk --domid 1 --image /x --mode foreign --ram-size 1G --premap"),
                     0);
    assert_int_equal(c.mode, GMEM_FOREIGN_PREMAP);
}

static void test_pci(void **state)
{
    (void)state;
    struct vg_config c;
    assert_int_equal(parse(&c, "blk --domid 2 --image /x --transport pci --pci-slot 5"), 0);
    assert_int_equal(c.transport, VG_TRANSPORT_PCI);
    assert_int_equal(c.pci_slot, 5);
    assert_int_equal(parse(&c, "blk --domid 2 --image /x --transport=pci --pci-slot=0x1f "
                               "--mode foreign --ram-size 64M"), 0);
    assert_int_equal(c.pci_slot, 31);
    assert_int_equal(parse(&c, "blk --domid 2 --image /x --transport mmio --irq 40"), 0);
    assert_int_equal(c.transport, VG_TRANSPORT_MMIO);
    assert_int_equal(c.irq, 40);
}

static void test_rejections(void **state)
{
    (void)state;
    struct vg_config c;
    static const char *const bad[] = {
        "",
        "net --domid 1 --image /x",
        "blk --image /x",
        "blk --domid 1",
        "blk --domid 0 --image /x",
        "blk --domid 70000 --image /x",
        "blk --domid 1x --image /x",
        "blk --domid -1 --image /x",
        "blk --domid 1 --image /x --mode magic",
        "blk --domid 1 --image /x --premap",
        "blk --domid 1 --image /x --mode foreign",
        "blk --domid 1 --image /x --mode foreign --ram-size 100",
        "blk --domid 1 --image /x --ram-size 64M",
        "blk --domid 1 --image /x --irq 5",
        "blk --domid 1 --image /x --base 0x2000010",
        "blk --domid 1 --image /x --size 0x100",
        "blk --domid 1 --image /x --base 0xfffffffffffffe00",
        "blk --domid 1 --image /x --serial 123456789012345678901",
        "blk --domid 1 --image /x --bogus",
        "blk --domid 1 --image /x --log-format xml",
        "blk --domid 1 --image /x --irq 040",   /* octal? refused, not read as 32 */
        "blk --domid 1K --image /x",            /* suffixes are for sizes */
        "blk --domid +1 --image /x",
        "blk --domid 0x --image /x",
        "blk --domid 1 --image /x --size 0x",
        "blk --domid 1 --image /x extra",
        "blk --domid 99999999999999999999999 --image /x",
        "blk --domid 1 --image /x --transport virtio",
        "blk --domid 1 --image /x --transport pci",                /* no slot */
        "blk --domid 1 --image /x --pci-slot 5",                   /* no pci */
        "blk --domid 1 --image /x --transport pci --pci-slot 0",   /* host bridge */
        "blk --domid 1 --image /x --transport pci --pci-slot 2",   /* the device model's */
        "blk --domid 1 --image /x --pci-slot 5 --transport mmio",
        "blk --control-fd 3 --pci-slot 5",
        "blk --domid 1 --image /x --transport pci --pci-slot 32",
        "blk --domid 1 --image /x --transport pci --pci-slot 5 --base 0x2000000",
        "blk --domid 1 --image /x --transport pci --pci-slot 5 --size 0x200",
        "blk --domid 1 --image /x --transport pci --pci-slot 5 --irq 33",
        "blk --control-fd 3 --transport pci --pci-slot 5",         /* the launcher: mmio only */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(&c, bad[i]) != -22)
            fail_msg("accepted: '%s'", bad[i]);
    }
}

static void test_help(void **state)
{
    (void)state;
    struct vg_config c;
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    int a = parse(&c, "--help"), b = parse(&c, "blk --help"), v = parse(&c, "--version");
    fclose(stdout);
    stdout = saved;
    assert_int_equal(a, 1);
    assert_int_equal(b, 1);
    assert_int_equal(v, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_foreign_and_premap),
        cmocka_unit_test(test_pci),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
