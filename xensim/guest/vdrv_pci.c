/* SPDX-License-Identifier: MIT */
/*
 * The simulated driver's virtio-pci (modern) transport, as Linux's
 * virtio_pci_modern finds and drives a function: identity, the vendor
 * capabilities that say where each structure is in which BAR, BAR sizing
 * and placement, memory decoding and bus mastering, then MSI-X or INTx.
 * The rest of the driver (vdrv.c) speaks virtio-mmio register offsets;
 * they are carried to the common configuration's fields here.
 */
#define _GNU_SOURCE
#include "vdrv_pci.h"

#include <errno.h>
#include <string.h>

#define PCI_VENDOR_VIRTIO 0x1af4u
#define PCI_DEVICE_MODERN 0x1040u /* + the virtio device id */
#define CFG_COMMAND 0x04
#define CFG_STATUS 0x06
#define CFG_BAR0 0x10
#define CFG_CAP_PTR 0x34
#define CFG_INT_PIN 0x3d
#define CMD_MEMORY 0x2u
#define CMD_MASTER 0x4u
#define STATUS_CAP_LIST 0x10u
#define CAP_MSIX 0x11
#define CAP_VENDOR 0x09
#define MSIX_ENABLE 0x8000u
#define MSIX_FUNCTION_MASK 0x4000u
#define VIRTIO_CAP_COMMON 1
#define VIRTIO_CAP_NOTIFY 2
#define VIRTIO_CAP_ISR 3
#define VIRTIO_CAP_DEVICE 4
#define NO_VECTOR 0xffffu
/* Common configuration fields Linux uses (virtio 1.2, 4.1.4.3). */
#define C_MSIX_CONFIG 0x10
#define C_Q_MSIX 0x1a
#define C_Q_NOTIFY_OFF 0x1e
/* The first PIRQ of the PIRQ-format messages (any the guest's Xen gave it). */
#define FIRST_PIRQ 100u

uint32_t vdrv_cfg_read(struct vdrv *v, uint32_t reg, uint32_t size)
{
    uint32_t val = ~0u;
    if (simdom_pci_config_read(v->d, v->o.vcpu, v->pci.sbdf, reg, size, &val) < 0)
        return ~0u;
    return val;
}

void vdrv_cfg_write(struct vdrv *v, uint32_t reg, uint32_t size, uint32_t val)
{
    simdom_pci_config_write(v->d, v->o.vcpu, v->pci.sbdf, reg, size, val);
}

uint64_t vdrv_bar_read(struct vdrv *v, uint32_t off, uint32_t size)
{
    uint64_t val = ~0ull;
    if (simdom_mmio_read(v->d, v->o.vcpu, v->o.base + off, size, &val) < 0)
        return ~0ull;
    return val;
}

void vdrv_bar_write(struct vdrv *v, uint32_t off, uint32_t size, uint64_t val)
{
    simdom_mmio_write(v->d, v->o.vcpu, v->o.base + off, size, val);
}

/* A virtio-mmio register's field in the common configuration, and its width. */
static const struct {
    uint16_t mmio;
    uint8_t common, width;
} common_twin[] = {
    { 0x014, 0x00, 4 }, /* DeviceFeaturesSel: device_feature_select */
    { 0x010, 0x04, 4 }, /* DeviceFeatures */
    { 0x024, 0x08, 4 }, /* DriverFeaturesSel */
    { 0x020, 0x0c, 4 }, /* DriverFeatures */
    { 0x070, 0x14, 1 }, /* Status: device_status */
    { 0x030, 0x16, 2 }, /* QueueSel */
    { 0x034, 0x18, 2 }, /* QueueNumMax: queue_size reads the maximum until written */
    { 0x038, 0x18, 2 }, /* QueueNum */
    { 0x044, 0x1c, 2 }, /* QueueReady: queue_enable */
    { 0x080, 0x20, 4 }, { 0x084, 0x24, 4 }, /* QueueDesc */
    { 0x090, 0x28, 4 }, { 0x094, 0x2c, 4 }, /* QueueDriver */
    { 0x0a0, 0x30, 4 }, { 0x0a4, 0x34, 4 }, /* QueueDevice */
};

static bool twin(uint32_t off, uint32_t *at, uint32_t *width)
{
    for (size_t i = 0; i < sizeof(common_twin) / sizeof(common_twin[0]); i++)
        if (common_twin[i].mmio == off) {
            *at = common_twin[i].common;
            *width = common_twin[i].width;
            return true;
        }
    return false;
}

#define R_NOTIFY 0x050
#define R_ISR 0x060
#define R_CONFIG 0x100

uint32_t vdrv_pci_reg_read(struct vdrv *v, uint32_t off)
{
    uint32_t at, width;
    if (twin(off, &at, &width))
        return (uint32_t)vdrv_bar_read(v, v->pci.common + at, width);
    if (off == R_ISR)
        return (uint32_t)vdrv_bar_read(v, v->pci.isr, 1); /* and clears it */
    if (off >= R_CONFIG)
        return (uint32_t)vdrv_bar_read(v, v->pci.device + (off - R_CONFIG), 4);
    return ~0u;
}

void vdrv_pci_reg_write(struct vdrv *v, uint32_t off, uint32_t val)
{
    uint32_t at, width;
    if (twin(off, &at, &width))
        vdrv_bar_write(v, v->pci.common + at, width, val);
    else if (off == R_NOTIFY)
        vdrv_pci_notify(v);
    else if (off >= R_CONFIG)
        vdrv_bar_write(v, v->pci.device + (off - R_CONFIG), 4, val);
    /* InterruptACK and the GrantPool registers have no PCI field */
}

int vdrv_pci_notify(struct vdrv *v)
{
    return simdom_mmio_write(v->d, v->o.vcpu,
                             v->o.base + v->pci.notify + (uint64_t)v->pci.notify_off *
                                                              v->pci.notify_mult,
                             2, 0);
}

/* One vendor capability's structure, if it lies inside BAR0 (as Linux checks). */
static int take_region(struct vdrv *v, uint32_t cap, uint32_t *where)
{
    uint32_t bar = vdrv_cfg_read(v, cap + 4, 1);
    uint32_t off = vdrv_cfg_read(v, cap + 8, 4), len = vdrv_cfg_read(v, cap + 12, 4);
    if (bar != 0 || off > v->pci.bar_size || len > v->pci.bar_size - off)
        return -ENODEV;
    *where = off;
    return 0;
}

/* Walks the capability list from 0x34, bounded as Linux's pci_find_capability is. */
static int find_capabilities(struct vdrv *v)
{
    bool have[5] = { false };
    uint32_t ptr = vdrv_cfg_read(v, CFG_CAP_PTR, 1) & ~3u;
    for (int ttl = 48; ptr >= 0x40 && ttl > 0; ttl--) {
        uint32_t id = vdrv_cfg_read(v, ptr, 1), next = vdrv_cfg_read(v, ptr + 1, 1) & ~3u;
        if (id == CAP_MSIX && !v->pci.msix_cap) {
            uint32_t table = vdrv_cfg_read(v, ptr + 4, 4);
            if ((table & 7) == 0) { /* in BAR0: the only one the driver placed */
                v->pci.msix_cap = (uint8_t)ptr;
                v->pci.msix_table = table & ~7u;
                v->pci.msix_size = (uint16_t)((vdrv_cfg_read(v, ptr + 2, 2) & 0x7ff) + 1);
            }
        } else if (id == CAP_VENDOR) {
            uint32_t type = vdrv_cfg_read(v, ptr + 3, 1);
            uint32_t *where[5] = { NULL, &v->pci.common, &v->pci.notify, &v->pci.isr,
                                   &v->pci.device };
            if (type >= 1 && type <= 4 && !have[type]) {
                if (take_region(v, ptr, where[type]) < 0)
                    return -ENODEV;
                have[type] = true;
                if (type == VIRTIO_CAP_NOTIFY)
                    v->pci.notify_mult = vdrv_cfg_read(v, ptr + 16, 4);
            }
        }
        ptr = next;
    }
    return have[1] && have[2] && have[3] && have[4] ? 0 : -ENODEV;
}

/* BAR0: a 32-bit memory BAR, sized by writing all ones, placed at the driver's address. */
static int place_bar(struct vdrv *v)
{
    vdrv_cfg_write(v, CFG_BAR0, 4, ~0u);
    uint32_t probe = vdrv_cfg_read(v, CFG_BAR0, 4);
    if (probe & 7) /* I/O space or 64-bit: not what this driver expects */
        return -ENODEV;
    v->pci.bar_size = ~(probe & ~0xfu) + 1;
    if (!v->pci.bar_size || v->o.base % v->pci.bar_size || v->o.base > UINT32_MAX)
        return -EINVAL;
    vdrv_cfg_write(v, CFG_BAR0, 4, (uint32_t)v->o.base);
    return 0;
}

static void program_msix(struct vdrv *v)
{
    uint32_t ctrl = v->pci.msix_cap + 2u;
    uint32_t c = vdrv_cfg_read(v, ctrl, 2);
    /* As Linux: enabled with the function masked while the table is written. */
    vdrv_cfg_write(v, ctrl, 2, c | MSIX_ENABLE | MSIX_FUNCTION_MASK);
    for (uint32_t i = 0; i < 2 && i < v->pci.msix_size; i++) {
        uint32_t e = v->pci.msix_table + 16 * i, pirq = FIRST_PIRQ + i;
        if (v->o.msix_pirq) {
            vdrv_bar_write(v, e, 4, 0xfee00000u | (pirq & 0xff) << 12);
            vdrv_bar_write(v, e + 4, 4, pirq & 0xffffff00u);
            vdrv_bar_write(v, e + 8, 4, 0); /* vector 0: the PIRQ format */
            /* Mask left set: Linux on Xen never clears it (pci_msi_ignore_mask). */
        } else {
            vdrv_bar_write(v, e, 4, 0xfee00000u);
            vdrv_bar_write(v, e + 4, 4, 0);
            vdrv_bar_write(v, e + 8, 4, 0x40 + i); /* fixed delivery, vector 0x40 + i */
            vdrv_bar_write(v, e + 12, 4, 0);
        }
    }
    vdrv_cfg_write(v, ctrl, 2, (c | MSIX_ENABLE) & ~MSIX_FUNCTION_MASK);
    uint64_t addr;
    uint32_t data;
    v->pci.msi_seen = simdom_msi(v->d, &addr, &data);
}

int vdrv_pci_find(struct vdrv *v)
{
    memset(&v->pci, 0, sizeof(v->pci));
    uint32_t slot = v->o.pci_slot;
    v->pci.sbdf = slot << 3;
    uint32_t id = vdrv_cfg_read(v, 0, 4);
    if ((id & 0xffff) != PCI_VENDOR_VIRTIO || (id >> 16) != PCI_DEVICE_MODERN + 2)
        return -ENODEV; /* not a modern virtio-blk */
    if (!(vdrv_cfg_read(v, CFG_STATUS, 2) & STATUS_CAP_LIST) || vdrv_cfg_read(v, CFG_INT_PIN, 1) != 1)
        return -ENODEV;
    int rc = place_bar(v);
    if (rc < 0 || (rc = find_capabilities(v)) < 0)
        return rc;
    if (v->o.msix && !v->pci.msix_cap)
        return -ENODEV;
    uint32_t cmd = vdrv_cfg_read(v, CFG_COMMAND, 2);
    vdrv_cfg_write(v, CFG_COMMAND, 2, cmd | CMD_MEMORY | CMD_MASTER);
    /* hvmloader's _PRT: device d's INTA is GSI ((d * 4 + d / 8) & 31) + 16. */
    v->pci.gsi = ((slot * 4 + slot / 8) & 31) + 16;
    if (v->o.msix)
        program_msix(v);
    return 0;
}

int vdrv_pci_setup_queue(struct vdrv *v)
{
    v->pci.notify_off = (uint16_t)vdrv_bar_read(v, v->pci.common + C_Q_NOTIFY_OFF, 2);
    if (!v->o.msix)
        return 0;
    /* As vp_find_vqs_msix: a vector the device cannot map reads back NO_VECTOR. */
    vdrv_bar_write(v, v->pci.common + C_MSIX_CONFIG, 2, 0);
    if (vdrv_bar_read(v, v->pci.common + C_MSIX_CONFIG, 2) == NO_VECTOR)
        return -EBUSY;
    vdrv_bar_write(v, v->pci.common + C_Q_MSIX, 2, 1);
    if (vdrv_bar_read(v, v->pci.common + C_Q_MSIX, 2) == NO_VECTOR)
        return -EBUSY;
    return 0;
}

int vdrv_pci_wait_irq(struct vdrv *v, int timeout_ms, uint32_t *isr)
{
    if (v->o.msix) {
        int rc = simdom_wait_msi(v->d, v->pci.msi_seen, timeout_ms);
        if (rc <= 0)
            return rc;
        uint64_t addr;
        uint32_t data;
        v->pci.msi_seen = simdom_msi(v->d, &addr, &data);
        *isr = 3; /* which vector is not told apart: look at both */
        return 1;
    }
    int rc = simdom_wait_irq(v->d, v->pci.gsi, timeout_ms);
    if (rc <= 0)
        return rc;
    *isr = vdrv_pci_reg_read(v, R_ISR) & 0xff; /* the read acknowledges */
    return 1;
}
