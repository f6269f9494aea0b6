/* SPDX-License-Identifier: MIT */
#include "transport/pcicfg.h"

#include <errno.h>
#include <string.h>

/* Bits a guest may change: memory decoding, bus mastering, INTx off.  No I/O
 * BAR exists, so I/O decoding stays 0. */
#define COMMAND_WRITABLE (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE)
/* A memory BAR's low nibble is its type: 32-bit, non-prefetchable = 0. */
#define BAR_TYPE_BITS 0xfu

static void put(uint8_t *a, uint32_t reg, uint32_t size, uint32_t val)
{
    for (uint32_t i = 0; i < size; i++)
        a[reg + i] = (uint8_t)(val >> (8 * i));
}

static uint32_t get(const uint8_t *a, uint32_t reg, uint32_t size)
{
    uint32_t v = 0;
    for (uint32_t i = 0; i < size; i++)
        v |= (uint32_t)a[reg + i] << (8 * i);
    return v;
}

static bool is_valid_size(uint32_t size)
{
    return size == 1 || size == 2 || size == 4;
}

void pcicfg_init(struct pcicfg *c, const struct pcicfg_id *id)
{
    memset(c, 0, sizeof(*c));
    put(c->img, PCI_VENDOR_ID, 2, id->vendor);
    put(c->img, PCI_DEVICE_ID, 2, id->device);
    put(c->img, PCI_CLASS_REVISION, 4, id->class_code << 8 | id->revision);
    put(c->img, PCI_SUBSYSTEM_VENDOR_ID, 2, id->subsystem_vendor);
    put(c->img, PCI_SUBSYSTEM_ID, 2, id->subsystem);
    c->img[PCI_INTERRUPT_PIN] = id->interrupt_pin;
    put(c->wmask, PCI_COMMAND, 2, COMMAND_WRITABLE);
    /* Scratch registers firmware and drivers write and read back. */
    c->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    c->wmask[PCI_LATENCY_TIMER] = 0xff;
    c->wmask[PCI_INTERRUPT_LINE] = 0xff;
    c->cap_free = PCICFG_CAP_START;
}

int pcicfg_add_mem_bar32(struct pcicfg *c, unsigned bar, uint32_t size)
{
    if (bar >= PCICFG_BARS || size < 16 || (size & (size - 1)))
        return -EINVAL;
    if (c->bar_size[bar])
        return -EEXIST;
    c->bar_size[bar] = size;
    /* The base's bits below the size read 0 whatever is written: sizing. */
    put(c->wmask, PCI_BAR0 + 4 * bar, 4, ~(size - 1) & ~BAR_TYPE_BITS);
    return 0;
}

int pcicfg_add_cap(struct pcicfg *c, uint8_t id, const void *body, uint8_t len,
                   const uint8_t *wmask)
{
    uint32_t off = (c->cap_free + 3u) & ~3u;
    if (off + 2u + len > PCICFG_SIZE)
        return -ENOSPC;
    c->img[off] = id;
    c->img[off + 1] = 0; /* the end of the list, until another follows */
    memcpy(&c->img[off + 2], body, len);
    if (wmask)
        memcpy(&c->wmask[off + 2], wmask, len);
    if (c->cap_last)
        c->img[c->cap_last + 1] = (uint8_t)off;
    else
        c->img[PCI_CAPABILITY_LIST] = (uint8_t)off;
    put(c->img, PCI_STATUS, 2, get(c->img, PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
    c->cap_last = (uint8_t)off;
    c->cap_free = (uint16_t)(off + 2u + len);
    return (int)off;
}

/*
 * Byte by byte, so an access of any width at any offset (one that crosses a
 * dword, or runs past the end) is exact: bytes beyond the 256 read 0 and
 * are not written (no extended configuration space).
 */
uint32_t pcicfg_read(const struct pcicfg *c, uint32_t reg, uint32_t size)
{
    if (!is_valid_size(size))
        return UINT32_MAX;
    uint32_t v = 0;
    for (uint32_t i = 0; i < size; i++)
        if (reg < PCICFG_SIZE - i)
            v |= (uint32_t)c->img[reg + i] << (8 * i);
    return v;
}

void pcicfg_write(struct pcicfg *c, uint32_t reg, uint32_t size, uint32_t val)
{
    if (!is_valid_size(size))
        return;
    for (uint32_t i = 0; i < size; i++) {
        if (reg >= PCICFG_SIZE - i)
            break;
        uint32_t r = reg + i;
        uint8_t b = (uint8_t)(val >> (8 * i));
        c->img[r] = (uint8_t)((c->img[r] & ~c->wmask[r]) | (b & c->wmask[r]));
    }
}

uint32_t pcicfg_get(const struct pcicfg *c, uint32_t reg, uint32_t size)
{
    if (!is_valid_size(size) || reg > PCICFG_SIZE - size)
        return 0;
    return get(c->img, reg, size);
}

void pcicfg_set(struct pcicfg *c, uint32_t reg, uint32_t size, uint32_t val)
{
    if (is_valid_size(size) && reg <= PCICFG_SIZE - size)
        put(c->img, reg, size, val);
}

uint32_t pcicfg_bar_base(const struct pcicfg *c, unsigned bar)
{
    if (bar >= PCICFG_BARS || !c->bar_size[bar] ||
        !(get(c->img, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY))
        return 0;
    uint32_t base = get(c->img, PCI_BAR0 + 4 * bar, 4) & ~BAR_TYPE_BITS;
    uint32_t sizing = ~(c->bar_size[bar] - 1) & ~BAR_TYPE_BITS;
    /* 0 is never assigned; all writable bits set is a sizing probe left
     * behind (firmware restores the base after it). */
    return base == 0 || base == sizing ? 0 : base;
}
