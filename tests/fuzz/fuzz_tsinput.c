/* SPDX-License-Identifier: MIT */
/*
 * The launcher's reading of a toolstack directory (launcher/tsinput.c):
 * every node of backend/virtio_disk/<domid>/<devid> and the guest's
 * memory/static-max as fuzzer bytes, embedded NULs and all, served by a
 * stand-in xs_read; and the number parsers on their own.
 * Oracles: an accepted number re-prints to the string it came from and is
 * within its bound; an accepted directory holds only values the launcher may
 * act on (its own domid, a 512-byte aligned base, an SPI, an absolute
 * params path, RAM in whole KiB); a refused one says why.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xenstore.h>

#include "config/config.h"
#include "fuzz_common.h"
#include "launcher/tsinput.h"

static const char *const nodes[] = { "frontend-id", "base",   "irq",        "transport",
                                     "mode",        "params", "static-max" };
#define NODES (sizeof(nodes) / sizeof(nodes[0]))

static struct {
    bool present[NODES];
    char val[NODES][64];
    unsigned len[NODES];
} dir;

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_tsinput: %s\n", what);
        abort();
    }
}

/* The toolstack's directory, as libxenstore returns it: malloc'd, NUL after len bytes. */
void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned *len)
{
    (void)h;
    (void)t;
    const char *last = strrchr(path, '/');
    for (unsigned i = 0; last && i < NODES; i++) {
        if (!dir.present[i] || strcmp(last + 1, nodes[i]))
            continue;
        char *v = malloc(dir.len[i] + 1);
        if (!v)
            return NULL;
        memcpy(v, dir.val[i], dir.len[i]);
        v[dir.len[i]] = '\0';
        *len = dir.len[i];
        return v;
    }
    return NULL;
}

static void fill_string(struct fuzz_in *in, char *s, unsigned *len, unsigned max)
{
    unsigned n = fin_u8(in) % max;
    for (unsigned i = 0; i < n; i++)
        s[i] = (char)fin_u8(in);
    s[n] = '\0';
    *len = n;
}

/* An accepted number has one spelling: the one the parser was given. */
static void parsers(struct fuzz_in *in)
{
    char s[40];
    unsigned n;
    fill_string(in, s, &n, sizeof(s));
    uint64_t max = fin_u64(in), v;
    if (ts_parse_id(s, max, &v) == 0) {
        char back[32];
        snprintf(back, sizeof(back), "%" PRIu64, v);
        check(v <= max && !strcmp(back, s), "ts_parse_id accepted a non-canonical id");
    }
    if (ts_parse_u64(s, max, &v) == 0) {
        char back[32];
        bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
        snprintf(back, sizeof(back), hex ? "%" PRIx64 : "%" PRIu64, v);
        const char *digits = hex ? s + 2 : s;
        while (hex && digits[0] == '0' && digits[1])
            digits++;
        check(v <= max, "ts_parse_u64 accepted a value above its bound");
        check(!strcasecmp(back, digits), "ts_parse_u64's value is not what was written");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    parsers(&in);
    uint8_t present = fin_u8(&in);
    for (unsigned i = 0; i < NODES; i++) {
        dir.present[i] = present & (1u << i);
        fill_string(&in, dir.val[i], &dir.len[i], sizeof(dir.val[i]));
    }
    uint16_t domid = fin_u16(&in) % 8;
    uint32_t devid = fin_u32(&in);
    struct ts_device d;
    char why[128] = "";
    int rc = ts_read_device(NULL, domid, devid, fin_u8(&in) & 1, &d, why, sizeof(why));
    if (rc < 0) {
        check(why[0] != '\0', "refused without a reason");
        return 0;
    }
    check(rc == 0, "ts_read_device returned something else than 0 or an errno");
    check(d.domid == domid && d.devid == devid, "the device is not the directory's");
    check(vg_domid_ok(d.domid), "accepted a domid the launcher may not serve");
    check(d.base % VG_WINDOW_ALIGN == 0 && d.base <= UINT64_MAX - VG_WINDOW_MAX,
          "accepted a window base the launcher may not map");
    check(vg_irq_ok(d.irq), "accepted an irq that is not an SPI");
    check(d.params[0] == '/' && memchr(d.params, '\0', sizeof(d.params)),
          "accepted a params path that is not absolute or not terminated");
    check(d.ram_size % 1024 == 0, "RAM not in whole KiB");
    return 0;
}
