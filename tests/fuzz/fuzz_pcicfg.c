/* SPDX-License-Identifier: MIT */
/*
 * The PCI configuration space (transport/pcicfg.c): sequences of guest
 * reads and writes of any width (valid or not) at any offset, including
 * past the end, over a header with a BAR and a capability list like the
 * virtio-pci transport's.  Oracles: no sanitizer report; no bit outside the
 * writable mask ever changes; the capability list stays what was built; a
 * decoded BAR base is aligned to its size and never 0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/pcicfg.h"

static const struct pcicfg_id id = {
    .vendor = 0x1af4, .device = 0x1042, .revision = 1, .class_code = 0x018000,
    .subsystem_vendor = 0x1af4, .subsystem = 0x1100, .interrupt_pin = 1,
};

static void build(struct pcicfg *c)
{
    static const uint8_t msix[10] = { 0x07, 0x00, 0x00, 0x40, 0, 0, 0x00, 0x50, 0, 0 };
    static const uint8_t msix_w[10] = { 0x00, 0xc0 }; /* function mask, enable */
    static const uint8_t vcap[14] = { 14, 1, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0 };
    pcicfg_init(c, &id);
    if (pcicfg_add_mem_bar32(c, 0, 0x8000) < 0 || pcicfg_add_cap(c, 0x11, msix, 10, msix_w) < 0 ||
        pcicfg_add_cap(c, 0x09, vcap, 14, NULL) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pcicfg c, ref;
    build(&c);
    ref = c;
    for (size_t i = 0; i + 7 <= size; i += 7) {
        uint8_t op = data[i];
        uint32_t reg = data[i + 1] | (uint32_t)(op & 0x80 ? data[i + 2] : 0) << 8;
        if (op & 0x40)
            reg |= 0xffffff00u; /* an offset near the top of the range */
        static const uint32_t widths[8] = { 1, 2, 4, 4, 0, 3, 8, 4 };
        uint32_t w = widths[(op >> 1) & 7];
        uint32_t val;
        memcpy(&val, &data[i + 3], 4);
        if (op & 1) {
            pcicfg_write(&c, reg, w, val);
        } else {
            uint32_t v = pcicfg_read(&c, reg, w);
            if (w == 1 || w == 2 || w == 4) {
                if (w < 4 && (v >> (8 * w)))
                    abort(); /* a narrow read returns only its bytes */
            } else if (v != UINT32_MAX) {
                abort();
            }
        }
        for (unsigned b = 0; b < PCICFG_SIZE; b++)
            if ((c.img[b] ^ ref.img[b]) & ~c.wmask[b])
                abort();
        uint32_t base = pcicfg_bar_base(&c, 0);
        if (base & (0x8000 - 1))
            abort();
    }
    if (memcmp(c.wmask, ref.wmask, sizeof(c.wmask)) || c.cap_last != ref.cap_last ||
        c.cap_free != ref.cap_free || memcmp(c.bar_size, ref.bar_size, sizeof(c.bar_size)))
        abort();
    return 0;
}
