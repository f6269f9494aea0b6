/* SPDX-License-Identifier: MIT */
/*
 * The ioreq slot decoder (xen_ioreq_serve_slot) on fuzzer-written slots: the
 * 32 bytes of one vCPU's ioreq_t exactly as a guest's vCPU (through Xen)
 * leaves them, and the guest rewriting the slot while the access is served.
 * Oracles: the transport only ever sees an access of 1, 2, 4 or 8 bytes
 * inside the window, and the configuration space one of 1, 2 or 4 bytes to
 * the server's own PCI function, at the register the request named; a slot
 * not READY (nor INPROCESS when stale) is left alone; an answered slot is
 * IORESP_READY, a read's data fits its size, a refused read answers 0 (all
 * ones for a configuration read, as an absent function); exactly one of
 * handled or rejected moves per answered slot.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "xen/ioreq.h"

#define WIN_BASE 0x2000000ull
#define WIN_SIZE 0x200ull
#define SBDF XEN_IOREQ_SBDF(0, 0, 5, 0)

struct seen {
    ioreq_t *slot;
    struct fuzz_in *in;
    unsigned calls;
    uint32_t size;
    bool is_write;
    uint32_t reg; /* configuration accesses: the register */
};

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_ioreq: %s\n", what);
        abort();
    }
}

static void on_access(void *opaque, uint64_t off, uint32_t size, bool is_write, uint64_t *val)
{
    struct seen *s = opaque;
    s->calls++;
    s->size = size;
    s->is_write = is_write;
    check(size == 1 || size == 2 || size == 4 || size == 8, "access size not 1, 2, 4 or 8");
    check(off < WIN_SIZE && size <= WIN_SIZE - off, "access outside the window");
    /* The register answers anything; the guest rewrites the whole slot meanwhile. */
    *val = fin_u64(s->in);
    uint8_t junk[sizeof(ioreq_t)];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = fin_u8(s->in);
    memcpy(s->slot, junk, sizeof(junk));
}

static void on_config(void *opaque, uint32_t reg, uint32_t size, bool is_write, uint32_t *val)
{
    struct seen *s = opaque;
    s->calls++;
    s->size = size;
    s->is_write = is_write;
    s->reg = reg;
    check(size == 1 || size == 2 || size == 4, "config access size not 1, 2 or 4");
    check(!is_write || size == 4 || *val < (1u << (8 * size)), "config write wider than its size");
    *val = fin_u32(s->in);
    uint8_t junk[sizeof(ioreq_t)];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = fin_u8(s->in);
    memcpy(s->slot, junk, sizeof(junk));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    bool stale = fin_u8(&in) & 1;
    ioreq_t slot;
    uint8_t raw[sizeof(slot)];
    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = fin_u8(&in);
    memcpy(&slot, raw, sizeof(slot));
    ioreq_t before = slot;
    struct xen_ioreq_srv srv;
    memset(&srv, 0, sizeof(srv));
    srv.base = WIN_BASE;
    srv.size = WIN_SIZE;
    struct seen seen = { .slot = &slot, .in = &in };
    xen_ioreq_set_pcidev(&srv, SBDF, on_config, &seen);

    bool answered = xen_ioreq_serve_slot(&srv, &slot, stale, on_access, &seen);

    bool pending = before.state == STATE_IOREQ_READY ||
                   (stale && before.state == STATE_IOREQ_INPROCESS);
    check(answered == pending, "answered a slot that held no request, or ignored one");
    if (!answered) {
        check(!memcmp(&slot, &before, sizeof(slot)), "a slot without a request was written");
        check(seen.calls == 0, "a slot without a request reached the transport");
        return 0;
    }
    check(slot.state == STATE_IORESP_READY, "answered slot not IORESP_READY");
    /* an invalidate counts as handled too */
    check(srv.ctr.handled + srv.ctr.rejected == 1, "not exactly one of handled, rejected moved");
    check(seen.calls <= 1, "one request, several accesses");
    if (seen.calls) {
        /* what was served is what the slot said when it was copied */
        check(seen.size == before.size, "served a size the copy did not hold");
        check(seen.is_write == (before.dir == IOREQ_WRITE), "served the wrong direction");
        if (before.dir == IOREQ_READ && before.size < 8)
            check(slot.data < (1ull << (8 * before.size)), "read data wider than the access");
        if (before.type == IOREQ_TYPE_PCI_CONFIG) {
            check(before.addr >> 32 == SBDF, "served another function's config space");
            check(seen.reg == (uint32_t)before.addr, "served another register");
        }
    } else if (srv.ctr.rejected && before.dir == IOREQ_READ) {
        uint64_t ones = before.size >= 8 ? UINT64_MAX : (1ull << (8 * before.size)) - 1;
        check(slot.data == (before.type == IOREQ_TYPE_PCI_CONFIG ? ones : 0),
              "a refused read answered something other than 0 (all ones: config space)");
    }
    return 0;
}
