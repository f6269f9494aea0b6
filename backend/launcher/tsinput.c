/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "launcher/tsinput.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "config/config.h"

static int digit(char c, bool hex)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (hex && c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (hex && c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* strtoull accepts a sign, leading blanks and overflow-wraps in places: not used here. */
static int parse_digits(const char *s, unsigned base, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return -EINVAL;
    for (; *s; s++) {
        int d = digit(*s, base == 16);
        if (d < 0)
            return -EINVAL;
        if ((uint64_t)d > max || v > (max - (uint64_t)d) / base)
            return -ERANGE;
        v = v * base + (uint64_t)d;
    }
    *out = v;
    return 0;
}

int ts_parse_id(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || (s[0] == '0' && s[1] != '\0'))
        return -EINVAL;
    return parse_digits(s, 10, max, out);
}

int ts_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s)
        return -EINVAL;
    if (s[0] == '0' && s[1] == 'x')
        return parse_digits(s + 2, 16, max, out);
    return ts_parse_id(s, max, out);
}

static char *read_checked(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
    unsigned len;
    char *s = xs_read(xs, t, path, &len);
    if (s && strlen(s) != len) {
        /* An embedded NUL would let two readers see two different values. */
        free(s);
        errno = EINVAL;
        return NULL;
    }
    return s;
}

static char *read_node_in(struct xs_handle *xs, xs_transaction_t t, uint16_t domid,
                          uint32_t devid, const char *node)
{
    char path[128];
    snprintf(path, sizeof(path), TS_DIR "/%u/%u/%s", domid, devid, node);
    return read_checked(xs, t, path);
}

char *ts_read_node_in(struct xs_handle *xs, xs_transaction_t t, uint16_t domid, uint32_t devid,
                      const char *node)
{
    return read_node_in(xs, t, domid, devid, node);
}

bool ts_online_is(struct xs_handle *xs, xs_transaction_t t, uint16_t domid, uint32_t devid,
                  const char *want)
{
    char *s = read_node_in(xs, t, domid, devid, "online");
    bool is = s && !strcmp(s, want);
    free(s);
    return is;
}

int ts_read_state_in(struct xs_handle *xs, xs_transaction_t t, uint16_t domid, uint32_t devid)
{
    char *s = read_node_in(xs, t, domid, devid, "state");
    uint64_t v;
    if (!s)
        return -ENOENT;
    int rc = ts_parse_id(s, 6, &v);
    free(s);
    return rc < 0 || v == 0 ? -EINVAL : (int)v;
}

__attribute__((format(printf, 3, 4))) static int refuse(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* A required number node, in [min, max]. */
static int read_number(struct xs_handle *xs, const struct ts_device *d, const char *node,
                       uint64_t min, uint64_t max, uint64_t *out, char *why, size_t n)
{
    char *s = ts_read_node(xs, d->domid, d->devid, node);
    if (!s)
        return refuse(why, n, "%s: missing or not a string", node);
    int rc = ts_parse_u64(s, max, out);
    if (rc == 0 && *out < min)
        rc = -ERANGE;
    if (rc < 0)
        refuse(why, n, "%s: '%.40s' is not a number in %llu..%llu", node, s,
               (unsigned long long)min, (unsigned long long)max);
    free(s);
    return rc < 0 ? -EINVAL : 0;
}

static int read_ram_size(struct xs_handle *xs, struct ts_device *d, char *why, size_t n)
{
    char path[64];
    snprintf(path, sizeof(path), "/local/domain/%u/memory/static-max", d->domid);
    char *s = read_checked(xs, XBT_NULL, path);
    uint64_t kib;
    /* Arm guests' RAM bank is below 1 TiB; anything larger is not a real domain. */
    int rc = s ? ts_parse_id(s, 1ull << 30, &kib) : -ENOENT;
    if (rc == 0 && kib == 0)
        rc = -ERANGE;
    if (rc < 0)
        refuse(why, n, "memory/static-max: '%.40s' is not a size in KiB (foreign mode)",
               s ? s : "(missing)");
    else
        d->ram_size = kib << 10;
    free(s);
    return rc < 0 ? -EINVAL : 0;
}

int ts_read_device(struct xs_handle *xs, uint16_t domid, uint32_t devid, bool want_ram_size,
                   struct ts_device *d, char *why, size_t why_len)
{
    uint64_t v;
    memset(d, 0, sizeof(*d));
    d->domid = domid;
    d->devid = devid;

    /* The guest this directory serves is the one its path names, nothing else. */
    if (read_number(xs, d, "frontend-id", 1, VG_DOMID_MAX, &v, why, why_len) < 0)
        return -EINVAL;
    if (v != domid)
        return refuse(why, why_len, "frontend-id %llu is not the directory's domid",
                      (unsigned long long)v);
    if (read_number(xs, d, "base", 0, UINT64_MAX - VG_WINDOW_MAX, &d->base, why, why_len) < 0)
        return -EINVAL;
    if (d->base % VG_WINDOW_ALIGN)
        return refuse(why, why_len, "base 0x%llx is not 512-byte aligned",
                      (unsigned long long)d->base);
    if (read_number(xs, d, "irq", VG_SPI_MIN, VG_SPI_MAX, &v, why, why_len) < 0)
        return -EINVAL;
    d->irq = (uint32_t)v;

    char *s = ts_read_node(xs, domid, devid, "transport");
    bool bad_transport = s && strcmp(s, "mmio") != 0;
    if (bad_transport)
        refuse(why, why_len, "transport '%.40s' is not supported (mmio only)", s);
    free(s);
    if (bad_transport)
        return -EINVAL;

    s = ts_read_node(xs, domid, devid, "mode");
    if (!s || (strcmp(s, "r") != 0 && strcmp(s, "w") != 0)) {
        refuse(why, why_len, "mode '%.40s' is neither 'r' nor 'w'", s ? s : "(missing)");
        free(s);
        return -EINVAL;
    }
    d->writable = s[0] == 'w';
    free(s);

    s = ts_read_node(xs, domid, devid, "params");
    size_t len = s ? strlen(s) : 0;
    bool ok = s && s[0] == '/' && len < sizeof(d->params);
    if (ok)
        memcpy(d->params, s, len + 1);
    else
        refuse(why, why_len, "params: missing, relative or too long");
    free(s);
    if (!ok)
        return -EINVAL;
    return want_ram_size ? read_ram_size(xs, d, why, why_len) : 0;
}
