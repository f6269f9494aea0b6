/* SPDX-License-Identifier: MIT */
/*
 * vg-grant-peak DOMID [INTERVAL_MS]: how many pages a guest has granted,
 * sampled from dom0, for make bench's "guest pages granted (peak)" column.
 *
 * It maps the guest's shared grant table read-only (XENMEM_acquire_resource,
 * as a device model maps ioreq pages) and counts the v1 entries whose type is
 * not GTF_invalid, every INTERVAL_MS (default 20).  On SIGUSR1 it prints
 *   granted now N peak M samples S
 * with the peak of the samples since the previous line, so a benchmark that
 * signals at each workload's start and end gets each workload's peak.  A
 * sample can miss a shorter burst: the figure is a sampled peak, a lower
 * bound.  SIGTERM/SIGINT: unmap and exit.  Run it only while the guest
 * lives: the mapping holds the table's pages, so a destroyed guest stays a
 * zombie until this exits.
 *
 * Only v1 entries are understood: Linux guests on Arm always use v1 (on x86
 * too unless they need v2's wider frame numbers); dom0 cannot ask which.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <xenforeignmemory.h>
#include <xen/grant_table.h>
#include <xen/memory.h>

#define PAGE 4096u
#define ENTRIES_PER_PAGE (PAGE / sizeof(grant_entry_v1_t))

static void usage(FILE *f)
{
    fprintf(f, "usage: vg-grant-peak DOMID [INTERVAL_MS]\n"
               "  Counts the pages DOMID has granted (grant table v1), every INTERVAL_MS\n"
               "  (default 20, 1..10000); SIGUSR1 prints the count and the peak since the\n"
               "  previous report; SIGTERM ends it.\n");
}

static bool parse_ul(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/*
 * Count entries [0, n) and note the highest one in use.  The scan runs in
 * dom0 beside the backend it measures, so most samples stop a frame past
 * the highest entry seen (Linux hands out low refs first); every
 * FULL_SCAN_EVERY-th sample reads the whole table again.
 */
#define FULL_SCAN_EVERY 50
static unsigned long count_granted(const volatile grant_entry_v1_t *e, size_t n, size_t *high)
{
    unsigned long c = 0;
    size_t top = 0;
    for (size_t i = 0; i < n; i++)
        if ((e[i].flags & GTF_type_mask) != GTF_invalid) {
            c++;
            top = i + 1;
        }
    *high = top;
    return c;
}

static unsigned long sample(const volatile grant_entry_v1_t *e, size_t n, unsigned long samples,
                            size_t *high)
{
    size_t lim = *high + ENTRIES_PER_PAGE;
    if (samples % FULL_SCAN_EVERY == 0 || lim > n)
        lim = n;
    return count_granted(e, lim, high);
}

int main(int argc, char **argv)
{
    unsigned long domid, interval = 20;
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || argc > 3 || !parse_ul(argv[1], 1, DOMID_FIRST_RESERVED - 1, &domid) ||
        (argc == 3 && !parse_ul(argv[2], 1, 10000, &interval))) {
        usage(stderr);
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    xenforeignmemory_handle *fm = xenforeignmemory_open(NULL, 0);
    if (sfd < 0 || !fm) {
        fprintf(stderr, "vg-grant-peak: %s: %s\n", sfd < 0 ? "signalfd" : "xenforeignmemory_open",
                strerror(errno));
        return 1;
    }
    size_t size = 0;
    if (xenforeignmemory_resource_size(fm, (domid_t)domid, XENMEM_resource_grant_table,
                                       XENMEM_resource_grant_table_id_shared, &size) < 0 ||
        size < PAGE) {
        fprintf(stderr, "vg-grant-peak: dom%lu: grant table size: %s\n", domid,
                size ? "too small" : strerror(errno));
        return 1;
    }
    /* Every frame the table may grow to (Xen grows it to back the mapping). */
    unsigned long frames = size / PAGE;
    void *addr = NULL;
    xenforeignmemory_resource_handle *res = xenforeignmemory_map_resource(
        fm, (domid_t)domid, XENMEM_resource_grant_table, XENMEM_resource_grant_table_id_shared,
        0, frames, &addr, PROT_READ, 0);
    if (!res) {
        fprintf(stderr, "vg-grant-peak: dom%lu: mapping %lu grant table frames: %s\n", domid,
                frames, strerror(errno));
        return 1;
    }
    const volatile grant_entry_v1_t *e = addr;
    size_t n = frames * ENTRIES_PER_PAGE;
    size_t high = 0;
    unsigned long now = count_granted(e, n, &high), peak = now, samples = 1, total = 1;
    fprintf(stderr, "vg-grant-peak: dom%lu: %lu frames, %lu granted, every %lu ms\n", domid,
            frames, now, interval);
    int rc = 0;
    for (;;) {
        struct pollfd p = { .fd = sfd, .events = POLLIN };
        int r = poll(&p, 1, (int)interval);
        if (r < 0 && errno != EINTR) {
            rc = 1;
            break;
        }
        if (r == 0) {
            now = sample(e, n, total++, &high);
            samples++;
            if (now > peak)
                peak = now;
            continue;
        }
        struct signalfd_siginfo si;
        if (r < 0 || read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
            continue;
        if (si.ssi_signo != SIGUSR1)
            break;
        now = count_granted(e, n, &high);
        if (now > peak)
            peak = now;
        printf("granted now %lu peak %lu samples %lu\n", now, peak, samples + 1);
        fflush(stdout);
        peak = now;
        samples = 0;
    }
    xenforeignmemory_unmap_resource(fm, res);
    xenforeignmemory_close(fm);
    return rc;
}
