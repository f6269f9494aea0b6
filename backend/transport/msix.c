/* SPDX-License-Identifier: MIT */
#include "transport/msix.h"

#include <string.h>

enum { ADDR_LO, ADDR_HI, DATA, CTRL };

#define ENTRY_MASKED 1u
/* x86 MSI: the address window, the data's vector and delivery mode. */
#define MSI_ADDR_WINDOW_MASK 0xfff00000u
#define MSI_ADDR_WINDOW 0xfee00000u
#define MSI_DATA_VECTOR(d) ((d) & 0xffu)
#define MSI_DATA_DELIVERY(d) (((d) >> 8) & 7u)
#define MSI_DELIVERY_FIXED 0u
#define MSI_DELIVERY_LOWPRI 1u

void msix_init(struct msix *x, void (*inject)(void *opaque, uint64_t addr, uint32_t data),
               void *opaque)
{
    memset(x, 0, sizeof(*x));
    x->inject = inject;
    x->opaque = opaque;
    msix_reset(x);
}

void msix_reset(struct msix *x)
{
    memset(x->table, 0, sizeof(x->table));
    for (unsigned v = 0; v < MSIX_MAX_VECTORS; v++)
        x->table[v][CTRL] = ENTRY_MASKED;
    x->pending = 0;
    x->enabled = x->function_masked = false;
}

static bool is_pirq_message(uint32_t data)
{
    return MSI_DATA_VECTOR(data) == 0;
}

/* Xen's PIRQ rule: an entry in PIRQ format is live whatever its Mask bit. */
static bool is_deliverable(const struct msix *x, unsigned v)
{
    return x->enabled && !x->function_masked &&
           (!(x->table[v][CTRL] & ENTRY_MASKED) || is_pirq_message(x->table[v][DATA]));
}

/* What Xen would refuse, refused here, without the hypervisor's console warning. */
static bool is_valid_message(uint64_t addr, uint32_t data)
{
    if ((addr & MSI_ADDR_WINDOW_MASK) != MSI_ADDR_WINDOW)
        return false;
    if (is_pirq_message(data)) /* the PIRQ is in the address; 0 is none */
        return (((addr >> 32) & 0xffffff00u) | ((addr >> 12) & 0xffu)) != 0;
    return MSI_DATA_DELIVERY(data) == MSI_DELIVERY_FIXED ||
           MSI_DATA_DELIVERY(data) == MSI_DELIVERY_LOWPRI;
}

static void deliver(struct msix *x, unsigned v)
{
    uint64_t addr = (uint64_t)x->table[v][ADDR_HI] << 32 | x->table[v][ADDR_LO];
    uint32_t data = x->table[v][DATA];
    if (!is_valid_message(addr, data)) {
        x->dropped++;
        return;
    }
    x->delivered++;
    x->inject(x->opaque, addr, data);
}

/* Whatever became deliverable goes now, once. */
static void deliver_pending(struct msix *x)
{
    for (unsigned v = 0; v < MSIX_MAX_VECTORS; v++) {
        if ((x->pending & (1ull << v)) && is_deliverable(x, v)) {
            x->pending &= ~(1ull << v);
            deliver(x, v);
        }
    }
}

static bool is_dword_access(uint32_t off, uint32_t size, uint32_t limit)
{
    return size == 4 && !(off & 3) && off < limit;
}

uint32_t msix_table_read(const struct msix *x, uint32_t off, uint32_t size)
{
    if (!is_dword_access(off, size, MSIX_TABLE_BYTES))
        return UINT32_MAX;
    return x->table[off / MSIX_ENTRY_SIZE][(off % MSIX_ENTRY_SIZE) / 4];
}

void msix_table_write(struct msix *x, uint32_t off, uint32_t size, uint32_t val)
{
    if (!is_dword_access(off, size, MSIX_TABLE_BYTES))
        return;
    unsigned v = off / MSIX_ENTRY_SIZE, w = (off % MSIX_ENTRY_SIZE) / 4;
    /* Only the Mask bit of the vector control word is writable. */
    x->table[v][w] = w == CTRL ? (val & ENTRY_MASKED) : val;
    deliver_pending(x);
}

uint32_t msix_pba_read(const struct msix *x, uint32_t off, uint32_t size)
{
    if (!is_dword_access(off, size, MSIX_PBA_BYTES))
        return UINT32_MAX;
    return (uint32_t)(x->pending >> (8 * off));
}

void msix_set_control(struct msix *x, uint16_t control)
{
    x->enabled = control & MSIX_CTRL_ENABLE;
    x->function_masked = control & MSIX_CTRL_FUNCTION_MASK;
    deliver_pending(x);
}

bool msix_notify(struct msix *x, uint16_t vec)
{
    if (vec >= MSIX_MAX_VECTORS)
        return false;
    if (is_deliverable(x, vec))
        deliver(x, vec);
    else
        x->pending |= 1ull << vec;
    return true;
}
