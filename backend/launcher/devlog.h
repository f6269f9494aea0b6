/* SPDX-License-Identifier: MIT */
/*
 * A device process's stderr is a pipe the launcher reads: every line it
 * writes reaches the log prefixed with the device the launcher knows it as,
 * with control bytes replaced, so a compromised device can neither forge a
 * launcher line nor pass for another device.  Reads are bounded per wakeup.
 */
#ifndef VG_DEVLOG_H
#define VG_DEVLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"

/* Room for the launcher's prefix ("domD device N says: ") within one log line. */
#define DEVLOG_LINE_MAX (VG_LOG_LINE_MAX - 64)
#define DEVLOG_BYTES_PER_WAKEUP 8192

struct devlog {
    int fd; /* read end, non-blocking; -1 when closed */
    size_t len;
    char line[DEVLOG_LINE_MAX];
};

/* A pipe for one device: *child_end becomes its stderr. 0 or negative errno. */
int devlog_open(struct devlog *l, int *child_end);
/* Relay what is pending; on EOF flush, close and set fd to -1. */
void devlog_relay(struct devlog *l, uint16_t domid, uint32_t devid);
void devlog_close(struct devlog *l, uint16_t domid, uint32_t devid);

#endif
