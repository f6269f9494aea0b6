/* SPDX-License-Identifier: MIT */
/*
 * SIGUSR1 to the launcher: one line per device it serves, with the mode, the
 * state the launcher has it in, and what the device process reports when
 * asked (requests completed, guest pages mapped now and at peak).  The
 * devices are asked at once; the table follows when all have answered or
 * STATUS_WAIT_MS have passed, so a stuck device delays it, never blocks it.
 */
#ifndef VG_STATUS_H
#define VG_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "launcher/devproc.h"

#define STATUS_WAIT_MS 500

struct status_request {
    uint64_t due_ms; /* 0: no table pending */
};

void status_begin(struct status_request *s, struct devproc *dev, unsigned n, uint64_t now_ms);
/* The table, if one is pending and complete or due. */
void status_poll(struct status_request *s, const struct devproc *dev, unsigned n,
                 const char *mode, uint64_t now_ms);
/* Milliseconds until a pending table is due, or UINT64_MAX. */
uint64_t status_next_ms(const struct status_request *s, uint64_t now_ms);

#endif
