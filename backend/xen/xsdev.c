/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "xen/xsdev.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "common/log.h"

#define XSDEV_TOKEN "vg-dev"

/* Read one node of our directory; NULL if absent. Caller frees. */
static char *xsdev_read(struct xsdev *x, const char *node)
{
    char path[128];
    unsigned len;
    snprintf(path, sizeof(path), "%s/%s", x->dir, node);
    return xs_read(x->xs, XBT_NULL, path, &len);
}

static int xsdev_read_u64(struct xsdev *x, const char *node, uint64_t *out)
{
    char *s = xsdev_read(x, node);
    if (!s) {
        vg_err("xenstore %s/%s: missing", x->dir, node);
        return -ENOENT;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    int rc = (errno || end == s || *end || *s == '-') ? -EINVAL : 0;
    if (rc < 0)
        vg_err("xenstore %s/%s: not a number: '%s'", x->dir, node, s);
    free(s);
    *out = v;
    return rc;
}

/* Guest RAM size for foreign mode, from the toolstack's view of the domain. */
static int xsdev_read_static_max(struct xsdev *x, uint64_t *bytes)
{
    char path[64];
    unsigned len;
    snprintf(path, sizeof(path), "/local/domain/%u/memory/static-max", x->domid);
    char *s = xs_read(x->xs, XBT_NULL, path, &len);
    if (!s)
        return -ENOENT;
    char *end;
    unsigned long long kib = strtoull(s, &end, 10);
    int rc = (end == s || *end || kib == 0 || kib > (1ull << 40)) ? -EINVAL : 0;
    free(s);
    *bytes = kib << 10;
    return rc;
}

int xsdev_open(struct xsdev *x, struct vg_config *c)
{
    uint64_t base, irq;
    int rc;

    x->domid = c->domid;
    x->devid = c->devid;
    x->xs = xs_open(0);
    if (!x->xs) {
        rc = -errno;
        vg_err("xs_open: %s", strerror(errno));
        return rc;
    }
    /* Relative paths resolve under our own domain's home, dom0 or a driver domain. */
    snprintf(x->dir, sizeof(x->dir), "backend/virtio_disk/%u/%u", x->domid, x->devid);

    char *s = xsdev_read(x, "frontend-id");
    if (!s || strtoul(s, NULL, 10) != x->domid) {
        vg_err("xenstore %s: frontend-id %s does not match", x->dir, s ? s : "(missing)");
        free(s);
        return -EINVAL;
    }
    free(s);
    if ((rc = xsdev_read_u64(x, "base", &base)) < 0 || (rc = xsdev_read_u64(x, "irq", &irq)) < 0)
        return rc;
    if (irq < 32 || irq > 1019) {
        vg_err("xenstore %s/irq: %" PRIu64 " is not an Arm SPI", x->dir, irq);
        return -EINVAL;
    }
    s = xsdev_read(x, "transport");
    if (s && strcmp(s, "mmio") != 0) {
        vg_err("xenstore %s/transport: '%s' is not supported (mmio only)", x->dir, s);
        free(s);
        return -EINVAL;
    }
    free(s);
    x->params = xsdev_read(x, "params");
    if (!x->params || !*x->params) {
        vg_err("xenstore %s/params: missing image path", x->dir);
        return -EINVAL;
    }
    s = xsdev_read(x, "mode");
    bool ro = s && strcmp(s, "w") != 0;
    free(s);

    c->have_domid = true;
    c->base = base;
    c->irq = (unsigned)irq;
    c->image = x->params;
    c->read_only = c->read_only || ro;
    if (c->mode != GMEM_GRANT && c->ram_size == 0 && xsdev_read_static_max(x, &c->ram_size) < 0)
        vg_warn("xenstore: no static-max for dom%u; give --ram-size", x->domid);
    return 0;
}

int xsdev_set_state(struct xsdev *x, int state)
{
    char path[128], val[4];
    snprintf(path, sizeof(path), "%s/state", x->dir);
    snprintf(val, sizeof(val), "%d", state);
    if (!xs_write(x->xs, XBT_NULL, path, val, strlen(val))) {
        int rc = -errno;
        vg_err("xenstore write %s: %s", path, strerror(errno));
        return rc;
    }
    return 0;
}

void xsdev_fail(struct xsdev *x, const char *why)
{
    char path[128];
    if (!x->xs)
        return;
    snprintf(path, sizeof(path), "%s/error", x->dir);
    xs_write(x->xs, XBT_NULL, path, why, strlen(why));
    xsdev_set_state(x, XSDEV_CLOSED);
}

int xsdev_watch(struct xsdev *x)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/state", x->dir);
    if (!xs_watch(x->xs, path, XSDEV_TOKEN) || !xs_watch(x->xs, "@releaseDomain", XSDEV_TOKEN)) {
        int rc = -errno;
        vg_err("xs_watch: %s", strerror(errno));
        return rc;
    }
    /* libxenstore creates the watch pipe on first use: do it before the sandbox forbids pipe2. */
    x->fd = xs_fileno(x->xs);
    if (x->fd < 0) {
        vg_err("xs_fileno: %s", strerror(errno));
        return -EIO;
    }
    return 0;
}

int xsdev_fd(const struct xsdev *x)
{
    return x->fd;
}

bool xsdev_should_close(struct xsdev *x)
{
    char **ev;
    while ((ev = xs_check_watch(x->xs)))
        free(ev);

    if (!xs_is_domain_introduced(x->xs, x->domid)) {
        vg_info("dom%u is gone", x->domid);
        return true;
    }
    char *s = xsdev_read(x, "state");
    char *online = xsdev_read(x, "online");
    bool close = !s || atoi(s) >= XSDEV_CLOSING || (online && strcmp(online, "0") == 0);
    if (close)
        vg_info("toolstack closes the device (state %s, online %s)", s ? s : "removed",
                online ? online : "removed");
    free(s);
    free(online);
    return close;
}

void xsdev_close(struct xsdev *x)
{
    if (x->xs)
        xs_close(x->xs);
    x->xs = NULL;
    free(x->params);
    x->params = NULL;
}
