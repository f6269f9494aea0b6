/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "toolstack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xenstore.h>

struct xs_handle *tstk_open(void)
{
    return xs_open(0);
}

int tstk_init_dom0(struct xs_handle *xs)
{
    return xs_write(xs, XBT_NULL, "/local/domain/0/domid", "0", 1) ? 0 : -errno;
}

int tstk_add_driver_domain(struct xs_handle *xs, uint16_t domid)
{
    char home[32], path[64], id[8];
    snprintf(home, sizeof(home), "/local/domain/%u", domid);
    snprintf(path, sizeof(path), "%s/domid", home);
    snprintf(id, sizeof(id), "%u", domid);
    struct xs_permissions perms[2] = { { .id = 0, .perms = XS_PERM_NONE },
                                       { .id = domid, .perms = XS_PERM_READ } };
    if (!xs_write(xs, XBT_NULL, path, id, strlen(id)) ||
        !xs_set_permissions(xs, XBT_NULL, home, perms, 2) ||
        !xs_set_permissions(xs, XBT_NULL, path, perms, 2))
        return -errno;
    return 0;
}

int tstk_add_domain(struct xs_handle *xs, uint16_t domid)
{
    char path[64], kib[32];
    snprintf(path, sizeof(path), "/local/domain/%u/memory/static-max", domid);
    snprintf(kib, sizeof(kib), "%u", 32u * 1024u);
    if (!xs_write(xs, XBT_NULL, path, kib, strlen(kib)))
        return -errno;
    return xs_introduce_domain(xs, domid, 0, 0) ? 0 : -errno;
}

int tstk_release_domain(struct xs_handle *xs, uint16_t domid)
{
    return xs_release_domain(xs, domid) ? 0 : -errno;
}

void tstk_disk_default(struct tstk_disk *d, uint16_t domid, const char *params)
{
    static char dom[8][8];
    static unsigned next;
    char *s = dom[next++ % 8];
    snprintf(s, sizeof(dom[0]), "%u", domid);
    *d = (struct tstk_disk){ .dom = s, .dev = "51712", .frontend_id = s, .base = "33554432",
                             .irq = "33", .params = params, .mode = "w" };
}

/* The device directory, or one of its nodes (node NULL: the directory). */
static void disk_path(char *path, size_t n, const struct tstk_disk *d, const char *node)
{
    snprintf(path, n, "%s%sbackend/virtio_disk/%s/%s%s%s", d->backend_home ? d->backend_home : "",
             d->backend_home ? "/" : "", d->dom, d->dev, node ? "/" : "", node ? node : "");
}

int tstk_write_node(struct xs_handle *xs, const struct tstk_disk *d, const char *node,
                    const char *val)
{
    char path[256];
    disk_path(path, sizeof(path), d, node);
    return xs_write(xs, XBT_NULL, path, val, strlen(val)) ? 0 : -errno;
}

char *tstk_read_node(struct xs_handle *xs, const struct tstk_disk *d, const char *node)
{
    char path[256];
    unsigned len;
    disk_path(path, sizeof(path), d, node);
    return xs_read(xs, XBT_NULL, path, &len);
}

/* libxl gives a driver domain its device directory, the guest reading it. */
static int give_to_backend(struct xs_handle *xs, const struct tstk_disk *d)
{
    char path[256];
    unsigned be, guest;
    disk_path(path, sizeof(path), d, NULL);
    if (sscanf(d->backend_home, "/local/domain/%u", &be) != 1 || sscanf(d->dom, "%u", &guest) != 1)
        return -EINVAL;
    struct xs_permissions perms[2] = { { .id = (unsigned)be, .perms = XS_PERM_NONE },
                                       { .id = (unsigned)guest, .perms = XS_PERM_READ } };
    if (!xs_mkdir(xs, XBT_NULL, path) || !xs_set_permissions(xs, XBT_NULL, path, perms, 2))
        return -errno;
    return 0;
}

int tstk_write_disk(struct xs_handle *xs, const struct tstk_disk *d)
{
    if (d->backend_home) {
        int rc = give_to_backend(xs, d);
        if (rc < 0)
            return rc;
    }
    const struct {
        const char *node, *val;
    } nodes[] = {
        { "frontend-id", d->frontend_id }, { "base", d->base },        { "irq", d->irq },
        { "params", d->params },           { "mode", d->mode },        { "type", "standalone" },
        { "transport", d->transport ? d->transport : "mmio" },
        { "online", "1" },
        { "state", d->state ? d->state : "1" },
    };
    for (unsigned i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        if (!nodes[i].val)
            continue;
        int rc = tstk_write_node(xs, d, nodes[i].node, nodes[i].val);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int tstk_remove_disk(struct xs_handle *xs, const struct tstk_disk *d)
{
    char path[256];
    disk_path(path, sizeof(path), d, NULL);
    *strrchr(path, '/') = 0; /* the guest's whole entry, as the tests always did */
    return xs_rm(xs, XBT_NULL, path) ? 0 : -errno;
}

int tstk_wait_state(struct xs_handle *xs, const struct tstk_disk *d, int want, int timeout_ms)
{
    for (int t = 0; t <= timeout_ms; t += 5) {
        char *s = tstk_read_node(xs, d, "state");
        bool ok = s && atoi(s) == want;
        free(s);
        if (ok)
            return 0;
        usleep(5000);
    }
    return -ETIMEDOUT;
}
