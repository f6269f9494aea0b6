/* SPDX-License-Identifier: MIT */
/*
 * MSI-X (transport/msix.c): any sequence of table and PBA accesses (any
 * width, any offset), Message Control writes and vector notifies.
 * Oracles: no sanitizer report; every injected message is one Xen accepts
 * (in the interrupt window; PIRQ format with a PIRQ, or fixed/lowest
 * priority delivery) from an entry that was deliverable; a pending bit only
 * for a vector of the table; delivered + dropped counts every send.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/msix.h"

static struct msix x;
static unsigned sends;

static void inject(void *opaque, uint64_t addr, uint32_t data)
{
    (void)opaque;
    sends++;
    if ((addr & 0xfff00000u) != 0xfee00000u || !x.enabled || x.function_masked)
        abort();
    if ((data & 0xff) == 0) {
        if ((((addr >> 32) & 0xffffff00u) | ((addr >> 12) & 0xffu)) == 0)
            abort();
    } else if (((data >> 8) & 7) > 1) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msix_init(&x, inject, NULL);
    sends = 0;
    for (size_t i = 0; i + 6 <= size; i += 6) {
        uint8_t op = data[i], off = data[i + 1];
        uint32_t val;
        memcpy(&val, &data[i + 2], 4);
        static const uint32_t widths[4] = { 4, 4, 1, 8 };
        uint32_t w = widths[(op >> 3) & 3];
        switch (op & 7) {
        case 0:
            msix_table_write(&x, off, w, val);
            break;
        case 1:
            (void)msix_table_read(&x, off, w);
            break;
        case 2:
            (void)msix_pba_read(&x, off & 0xf, w);
            break;
        case 3:
            msix_set_control(&x, (uint16_t)val);
            break;
        case 4: /* a PIRQ-format entry, as Linux under Xen writes it */
            msix_table_write(&x, (off & 7) * 16, 4, 0xfee00000u | (val & 0xff000));
            msix_table_write(&x, (off & 7) * 16 + 8, 4, 0x700);
            break;
        case 5:
        case 6:
            (void)msix_notify(&x, (uint16_t)(op & 0x40 ? val : off & 0xf));
            break;
        default:
            msix_reset(&x);
            break;
        }
        if (x.pending >> MSIX_MAX_VECTORS)
            abort();
    }
    if (x.delivered != sends)
        abort();
    return 0;
}
