/* SPDX-License-Identifier: MIT */
/*
 * Toolstack input is hostile input.  libxl writes a standalone virtio disk's
 * directory, backend/virtio_disk/<domid>/<devid> under the backend domain's
 * home, but a buggy toolstack or another compromised process may have
 * written it instead.  Everything the launcher acts on passes through here:
 * numbers canonical and in range, ids with one spelling, strings without
 * embedded NULs, the directory consistent with its own name.
 */
#ifndef VG_TSINPUT_H
#define VG_TSINPUT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xenstore.h>

#define TS_DEVID_MAX 0xfffffffu

struct ts_device {
    uint16_t domid;
    uint32_t devid;
    uint64_t base;
    uint32_t irq;
    bool writable;
    char params[PATH_MAX];
    uint64_t ram_size; /* /local/domain/<domid>/memory/static-max, when asked for */
};

/*
 * A number as the toolstack writes it: canonical decimal ("0" or no leading
 * zero) or "0x" and hex digits; no sign, no whitespace, nothing after it, at
 * most @max.  0 or -EINVAL / -ERANGE.
 */
int ts_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* An id in a path (domid, devid): canonical decimal only, so one device has one name. */
int ts_parse_id(const char *s, uint64_t max, uint64_t *out);

/*
 * Read and check the directory of domid/devid (the names already passed
 * ts_parse_id).  On refusal returns a negative errno and a one-line reason in
 * @why; nothing is written to xenstore and nothing is opened.
 */
int ts_read_device(struct xs_handle *xs, uint16_t domid, uint32_t devid, bool want_ram_size,
                   struct ts_device *d, char *why, size_t why_len);

/* A node of the device's directory, checked as a string (no NUL inside). NULL if absent. */
char *ts_read_node_in(struct xs_handle *xs, xs_transaction_t t, uint16_t domid, uint32_t devid,
                      const char *node);
#define ts_read_node(xs, domid, devid, node) ts_read_node_in((xs), XBT_NULL, (domid), (devid), (node))
/* Does the device's online node read exactly @want, in transaction t? */
bool ts_online_is(struct xs_handle *xs, xs_transaction_t t, uint16_t domid, uint32_t devid,
                  const char *want);
/* The state node as a XenbusState (1..6), or -ENOENT / -EINVAL; in transaction t. */
int ts_read_state_in(struct xs_handle *xs, xs_transaction_t t, uint16_t domid, uint32_t devid);
#define ts_read_state(xs, domid, devid) ts_read_state_in((xs), XBT_NULL, (domid), (devid))

#define TS_DIR "backend/virtio_disk"

#endif
