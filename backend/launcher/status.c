/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "launcher/status.h"

#include <inttypes.h>
#include <stdio.h>

#include "common/log.h"

void status_begin(struct status_request *s, struct devproc *dev, unsigned n, uint64_t now_ms)
{
    for (unsigned i = 0; i < n; i++)
        devproc_ask_stats(&dev[i]);
    if (!s->due_ms)
        s->due_ms = now_ms + STATUS_WAIT_MS;
}

static bool all_answered(const struct devproc *dev, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (dev[i].pid > 0 && dev[i].stats_asked)
            return false;
    return true;
}

static const char *state_of(const struct devproc *d)
{
    if (d->adopted)
        return "adopted"; /* its socket went with the launcher that started it */
    if (d->down_seen || d->sock < 0)
        return "stopping";
    if (d->close_sent)
        return "closing";
    return d->ready ? "serving" : "starting";
}

static void print_row(const struct devproc *d, const char *mode)
{
    char counters[96] = "counters unknown";
    if (d->stats_asked)
        snprintf(counters, sizeof(counters), "no answer within %u ms", STATUS_WAIT_MS);
    else if (d->stats_known)
        snprintf(counters, sizeof(counters),
                 "requests %" PRIu64 ", pages mapped %" PRIu64 ", peak %" PRIu64,
                 d->stats.chains, d->stats.pages_now, d->stats.pages_peak);
    vg_info_dev(d->domid, d->devid, "status: pid %d, %s mode, %s, %s", (int)d->pid, mode,
                state_of(d), counters);
}

void status_poll(struct status_request *s, const struct devproc *dev, unsigned n,
                 const char *mode, uint64_t now_ms)
{
    if (!s->due_ms || (now_ms < s->due_ms && !all_answered(dev, n)))
        return;
    s->due_ms = 0;
    unsigned live = 0;
    for (unsigned i = 0; i < n; i++)
        live += dev[i].pid > 0;
    vg_info("status: %u device(s)", live);
    for (unsigned i = 0; i < n; i++)
        if (dev[i].pid > 0)
            print_row(&dev[i], mode);
}

uint64_t status_next_ms(const struct status_request *s, uint64_t now_ms)
{
    if (!s->due_ms)
        return UINT64_MAX;
    return s->due_ms > now_ms ? s->due_ms - now_ms : 0;
}
