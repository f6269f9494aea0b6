/* SPDX-License-Identifier: MIT */
/*
 * The device binary's command line (config/config.c): argv words from the
 * fuzzer (NUL-separated), after "virtio-grant" and mostly "blk".
 * Oracles: parsing returns 0, 1 (help or version printed) or a negative
 * errno, nothing else; an accepted configuration (but one the launcher
 * completes, --control-fd) passes the cross-option checks again and holds
 * only values the daemon may act on.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "fuzz_common.h"

#define MAX_ARGS 24

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_config: %s\n", what);
        abort();
    }
}

/*
 * vg_config_parse starts getopt at optind 2, which glibc takes as "go on":
 * its hidden position may still point into the previous input's argv.  A
 * parse with optind 0 resets it, as a fresh process would be.
 */
static void reset_getopt(void)
{
    static char prog[] = "x";
    static char *argv[] = { prog, NULL };
    static const struct option none[] = { { NULL, 0, NULL, 0 } };
    optind = 0;
    opterr = 0;
    (void)getopt_long(1, argv, "", none, NULL);
    opterr = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char arena[4096];
    static char prog[] = "virtio-grant", blk[] = "blk";
    if (size >= sizeof(arena))
        size = sizeof(arena) - 1;
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = prog;
    size_t at = 0;
    if (size && data[0] & 1) {
        argv[argc++] = blk; /* the device word right, so the options are reached */
        at = 1;
    }
    memcpy(arena, data, size);
    arena[size] = '\0';
    while (at <= size && argc < MAX_ARGS) {
        argv[argc++] = arena + at;
        at += strlen(arena + at) + 1;
    }
    argv[argc] = NULL;

    reset_getopt();
    static FILE *null;
    if (!null)
        null = fopen("/dev/null", "w");
    check(null != NULL, "cannot open /dev/null");
    FILE *out = stdout, *err = stderr;
    stdout = stderr = null;
    struct vg_config c;
    int rc = vg_config_parse(&c, argc, argv);
    stdout = out;
    stderr = err;

    check(rc == 0 || rc == 1 || (rc < 0 && rc > -4096), "parse returned no known answer");
    if (rc != 0)
        return 0;
    check(c.device && !strcmp(c.device, "blk"), "accepted a device other than blk");
    if (c.control_fd < 0) { /* otherwise the launcher sends these later, then checks */
        check(vg_config_check(&c) == 0, "an accepted configuration fails its own check");
        check(c.have_domid && vg_domid_ok(c.domid), "accepted a domid it may not serve");
        check(vg_window_ok(c.base, c.size), "accepted a window it may not map");
        check(vg_irq_ok(c.irq), "accepted an irq that is not an SPI");
    }
    return 0;
}
