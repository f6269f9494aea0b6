/* SPDX-License-Identifier: MIT */
#include "transport/pci.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"

#define CAP_ID_MSIX 0x11
#define CAP_ID_VENDOR 0x09
/* PCI_CFG's window: bar at +4, offset at +8, length at +12, data at +16. */
#define PCI_CFG_BAR 4u
#define PCI_CFG_OFFSET 8u
#define PCI_CFG_LENGTH 12u
#define PCI_CFG_DATA 16u

static uint32_t mmio_read(struct pci_transport *p, uint64_t off)
{
    uint64_t v = 0;
    mmio_access(p->m, off, 4, false, &v);
    return (uint32_t)v;
}

static void mmio_write(struct pci_transport *p, uint64_t off, uint32_t val)
{
    uint64_t v = val;
    mmio_access(p->m, off, 4, true, &v);
}

static uint16_t command(const struct pci_transport *p)
{
    return (uint16_t)pcicfg_get(&p->cfg, PCI_COMMAND, 2);
}

static void refuse(struct pci_transport *p, const char *where, uint64_t off, uint32_t size)
{
    p->ctr.refused++;
    vg_log_guest("virtio-pci: %s access of size %u at 0x%llx refused", where, size,
                 (unsigned long long)off);
}

/* A vector the table has, or NO_VECTOR: what the spec has a device read back. */
static uint16_t checked_vector(uint32_t v)
{
    return v < MSIX_MAX_VECTORS ? (uint16_t)v : MSIX_NO_VECTOR;
}

static void unmap_vectors(struct pci_transport *p)
{
    p->msix_config_vector = MSIX_NO_VECTOR;
    for (unsigned q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++)
        p->queue_vector[q] = MSIX_NO_VECTOR;
}

/*
 * What the register file raised since the last look, delivered as MSI-X
 * (one message per event's vector; the ISR is then acknowledged, as MSI-X
 * does not use it) or as INTx (the ISR stays until the driver reads it).
 * No message is sent while bus mastering is off: it waits, raised.  With
 * MSI-X on, the INTx line is down whatever the ISR holds.
 */
static void deliver_interrupts(struct pci_transport *p)
{
    struct mmio_dev *m = p->m;
    uint32_t isr = m->isr;
    bool line = false;
    if (p->msix.enabled && isr && !(command(p) & PCI_COMMAND_MASTER)) {
        p->ctr.held_back++;
    } else if (p->msix.enabled) {
        if (isr & VIRTIO_MMIO_INT_CONFIG)
            msix_notify(&p->msix, p->msix_config_vector);
        for (unsigned q = 0; (isr & VIRTIO_MMIO_INT_VRING) && q < m->ops->num_queues; q++)
            if (m->vring_queues & (1u << q))
                msix_notify(&p->msix, p->queue_vector[q]);
        m->vring_queues = 0;
        if (isr)
            mmio_write(p, VIRTIO_MMIO_INTERRUPT_ACK, isr);
    } else {
        line = isr && !(command(p) & PCI_COMMAND_INTX_DISABLE);
        m->vring_queues = 0; /* INTx has one line: which queue does not matter */
    }
    uint16_t status = (uint16_t)pcicfg_get(&p->cfg, PCI_STATUS, 2);
    status = (uint16_t)(m->isr ? status | PCI_STATUS_INTERRUPT : status & ~PCI_STATUS_INTERRUPT);
    pcicfg_set(&p->cfg, PCI_STATUS, 2, status);
    if (line != p->intx_level) {
        p->intx_level = line;
        p->host.set_intx(p->host.opaque, line);
    }
}

static void inject(void *opaque, uint64_t addr, uint32_t data)
{
    struct pci_transport *p = opaque;
    p->host.inject_msi(p->host.opaque, addr, data);
}

/* After a configuration write: where the BAR decodes, and MSI-X's enable and mask. */
static void config_changed(struct pci_transport *p)
{
    uint32_t base = pcicfg_bar_base(&p->cfg, 0);
    if (base != p->window_base) {
        p->window_base = base;
        p->host.move_window(p->host.opaque, base, base ? VIRTIO_PCI_BAR_SIZE : 0);
    }
    msix_set_control(&p->msix, (uint16_t)pcicfg_get(&p->cfg, p->msix_cap + 2u, 2));
    deliver_interrupts(p);
}

static uint32_t queue_size(struct pci_transport *p)
{
    struct mmio_dev *m = p->m;
    if (m->queue_sel >= m->ops->num_queues)
        return 0;
    /* Reads the maximum until the driver writes a size. */
    return m->vq[m->queue_sel].size ? m->vq[m->queue_sel].size : m->ops->queue_size_max;
}

/*
 * Each field of the common configuration has one width (the spec's
 * "natural" one): 32 bits for the feature words and the queue address
 * halves, 8 for device_status and config_generation, 16 for the rest
 * (queue_notif_config_data and queue_reset, not offered, read 0).
 */
static unsigned field_width(uint64_t off)
{
    if (off < VIRTIO_PCI_COMMON_MSIX ||
        (off >= VIRTIO_PCI_COMMON_Q_DESCLO && off <= VIRTIO_PCI_COMMON_Q_USEDHI))
        return off % 4 ? 0 : 4;
    if (off == VIRTIO_PCI_COMMON_STATUS || off == VIRTIO_PCI_COMMON_CFGGENERATION)
        return 1;
    bool is_16bit = off <= VIRTIO_PCI_COMMON_Q_NOFF || off == 0x38 || off == 0x3a;
    return is_16bit && !(off % 2) ? 2 : 0;
}

/* Common fields that are a register of the register file, written straight through. */
static const struct {
    uint8_t pci;
    uint16_t mmio;
} write_through[] = {
    { VIRTIO_PCI_COMMON_DFSELECT, VIRTIO_MMIO_DEVICE_FEATURES_SEL },
    { VIRTIO_PCI_COMMON_GFSELECT, VIRTIO_MMIO_DRIVER_FEATURES_SEL },
    { VIRTIO_PCI_COMMON_GF, VIRTIO_MMIO_DRIVER_FEATURES },
    { VIRTIO_PCI_COMMON_Q_SELECT, VIRTIO_MMIO_QUEUE_SEL },
    { VIRTIO_PCI_COMMON_Q_SIZE, VIRTIO_MMIO_QUEUE_NUM },
    { VIRTIO_PCI_COMMON_Q_DESCLO, VIRTIO_MMIO_QUEUE_DESC_LOW },
    { VIRTIO_PCI_COMMON_Q_DESCHI, VIRTIO_MMIO_QUEUE_DESC_HIGH },
    { VIRTIO_PCI_COMMON_Q_AVAILLO, VIRTIO_MMIO_QUEUE_DRIVER_LOW },
    { VIRTIO_PCI_COMMON_Q_AVAILHI, VIRTIO_MMIO_QUEUE_DRIVER_HIGH },
    { VIRTIO_PCI_COMMON_Q_USEDLO, VIRTIO_MMIO_QUEUE_DEVICE_LOW },
    { VIRTIO_PCI_COMMON_Q_USEDHI, VIRTIO_MMIO_QUEUE_DEVICE_HIGH },
};

/* The register file's twin of a common field, or 0: none. */
static uint16_t mmio_twin(uint64_t off)
{
    for (unsigned i = 0; i < sizeof(write_through) / sizeof(write_through[0]); i++)
        if (write_through[i].pci == off)
            return write_through[i].mmio;
    return 0;
}

static uint32_t common_read(struct pci_transport *p, uint64_t off)
{
    struct mmio_dev *m = p->m;
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        return m->dev_features_sel;
    case VIRTIO_PCI_COMMON_DF:
        return mmio_read(p, VIRTIO_MMIO_DEVICE_FEATURES);
    case VIRTIO_PCI_COMMON_GFSELECT:
        return m->drv_features_sel;
    case VIRTIO_PCI_COMMON_GF:
        return m->drv_features_sel < 2 ? (uint32_t)(m->drv_features >> (32 * m->drv_features_sel))
                                       : 0;
    case VIRTIO_PCI_COMMON_MSIX:
        return p->msix_config_vector;
    case VIRTIO_PCI_COMMON_NUMQ:
        return m->ops->num_queues;
    case VIRTIO_PCI_COMMON_STATUS:
        return m->status & 0xff;
    case VIRTIO_PCI_COMMON_CFGGENERATION:
        return m->config_generation & 0xff;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        return m->queue_sel & 0xffff;
    case VIRTIO_PCI_COMMON_Q_SIZE:
        return queue_size(p);
    case VIRTIO_PCI_COMMON_Q_MSIX:
        return m->queue_sel < m->ops->num_queues ? p->queue_vector[m->queue_sel]
                                                 : MSIX_NO_VECTOR;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        return mmio_read(p, VIRTIO_MMIO_QUEUE_READY);
    default:
        if (off >= VIRTIO_PCI_COMMON_Q_DESCLO && off <= VIRTIO_PCI_COMMON_Q_USEDHI)
            return mmio_read(p, mmio_twin(off)); /* what the driver wrote */
        return 0; /* queue_notify_off (multiplier 0), notif_config_data, queue_reset */
    }
}

static void common_write(struct pci_transport *p, uint64_t off, uint32_t val)
{
    struct mmio_dev *m = p->m;
    uint16_t twin = mmio_twin(off);
    if (twin) {
        mmio_write(p, twin, val);
        return;
    }
    switch (off) {
    case VIRTIO_PCI_COMMON_MSIX:
        p->msix_config_vector = checked_vector(val);
        break;
    case VIRTIO_PCI_COMMON_STATUS:
        mmio_write(p, VIRTIO_MMIO_STATUS, val);
        if (val == 0)
            unmap_vectors(p); /* a reset maps every event to no vector */
        break;
    case VIRTIO_PCI_COMMON_Q_MSIX:
        if (m->queue_sel < m->ops->num_queues)
            p->queue_vector[m->queue_sel] = checked_vector(val);
        break;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        /* The driver MUST NOT write 0 (virtio 1.2, 4.1.4.3.2): queues stop by reset. */
        if (val == 1) {
            /*
             * queue_size reads the maximum after a reset, and a driver may
             * keep it without writing it back (SeaBIOS does): the register
             * file's QueueNum, 0 until written, takes that maximum here.
             */
            if (m->queue_sel < m->ops->num_queues && m->vq[m->queue_sel].size == 0)
                mmio_write(p, VIRTIO_MMIO_QUEUE_NUM, m->ops->queue_size_max);
            mmio_write(p, VIRTIO_MMIO_QUEUE_READY, 1);
        } else
            vg_log_guest("virtio-pci: queue_enable %u ignored", val);
        break;
    default:
        vg_log_guest("virtio-pci: write to read-only common field 0x%llx",
                     (unsigned long long)off);
        break;
    }
}

static void bar_access(struct pci_transport *p, uint64_t off, uint32_t size, bool is_write,
                       uint64_t *val)
{
    uint64_t in = off & 0xfff;
    switch (off >> 12) {
    case VIRTIO_PCI_COMMON >> 12:
        if (in >= VIRTIO_PCI_COMMON_LEN || field_width(in) != size)
            break;
        if (is_write)
            common_write(p, in, (uint32_t)*val);
        else
            *val = common_read(p, in);
        return;
    case VIRTIO_PCI_ISR >> 12:
        if (in != 0 || size != 1)
            break;
        if (!is_write) {
            /* Read and cleared in one: what the driver saw is acknowledged. */
            *val = p->m->isr & 0xff;
            if (*val)
                mmio_write(p, VIRTIO_MMIO_INTERRUPT_ACK, (uint32_t)*val);
        }
        return;
    case VIRTIO_PCI_DEVICE_CFG >> 12:
        if (in >= VIRTIO_PCI_DEVICE_CFG_LEN || (size != 1 && size != 2 && size != 4))
            break;
        mmio_access(p->m, VIRTIO_MMIO_CONFIG + in, size, is_write, val);
        return;
    case VIRTIO_PCI_NOTIFY >> 12:
        if (in != 0 || (size != 2 && size != 4))
            break;
        if (!is_write) {
            *val = 0;
        } else if (!(command(p) & PCI_COMMAND_MASTER)) {
            /* No bus mastering, no DMA: the rings are not touched. */
            vg_log_guest("virtio-pci: notify with bus mastering off ignored");
        } else {
            mmio_write(p, VIRTIO_MMIO_QUEUE_NOTIFY, (uint32_t)(*val & 0xffff));
        }
        return;
    case VIRTIO_PCI_MSIX_TABLE >> 12:
        if (in >= MSIX_TABLE_BYTES)
            break;
        if (is_write)
            msix_table_write(&p->msix, (uint32_t)in, size, (uint32_t)*val);
        else
            *val = msix_table_read(&p->msix, (uint32_t)in, size);
        return;
    case VIRTIO_PCI_MSIX_PBA >> 12:
        if (in >= MSIX_PBA_BYTES)
            break;
        if (!is_write)
            *val = msix_pba_read(&p->msix, (uint32_t)in, size);
        return;
    }
    refuse(p, "BAR", off, size);
    if (!is_write)
        *val = 0;
}

void pci_bar_access(void *opaque, uint64_t off, uint32_t size, bool is_write, uint64_t *val)
{
    struct pci_transport *p = opaque;
    /* A write carries no more bytes than its width; a read answers no more
     * than it asked for (MSI-X's refusal is all ones). */
    uint64_t mask = size < 8 ? (1ull << (8 * size)) - 1 : UINT64_MAX;
    if (is_write)
        *val &= mask;
    bar_access(p, off, size, is_write, val);
    if (!is_write)
        *val &= mask;
    deliver_interrupts(p);
}

/*
 * The VIRTIO_PCI_CAP_PCI_CFG window: the data field reads and writes the
 * BAR at the offset and width the driver put in the capability.  Anything
 * but an access of exactly that width to the data field, at a valid offset
 * of BAR0, is refused.
 */
static bool pci_cfg_window(struct pci_transport *p, uint32_t reg, uint32_t size, bool is_write,
                           uint32_t *val)
{
    uint32_t data = p->pci_cfg_cap + PCI_CFG_DATA;
    if (reg >= data + 4 || reg + size <= data)
        return false; /* not the data field: plain configuration space */
    uint32_t bar = pcicfg_get(&p->cfg, p->pci_cfg_cap + PCI_CFG_BAR, 1);
    uint32_t off = pcicfg_get(&p->cfg, p->pci_cfg_cap + PCI_CFG_OFFSET, 4);
    uint32_t len = pcicfg_get(&p->cfg, p->pci_cfg_cap + PCI_CFG_LENGTH, 4);
    if (reg != data || size != len || bar != 0 || off >= VIRTIO_PCI_BAR_SIZE ||
        (len != 1 && len != 2 && len != 4) || off % len) {
        refuse(p, "PCI_CFG window", off, size);
        if (!is_write)
            *val = 0;
        return true;
    }
    uint64_t mask = size < 4 ? (1ull << (8 * size)) - 1 : UINT32_MAX;
    uint64_t v = *val & mask;
    bar_access(p, off, size, is_write, &v);
    if (!is_write)
        *val = (uint32_t)(v & mask);
    return true;
}

void pci_config_access(void *opaque, uint32_t reg, uint32_t size, bool is_write, uint32_t *val)
{
    struct pci_transport *p = opaque;
    if (!pci_cfg_window(p, reg, size, is_write, val)) {
        if (is_write)
            pcicfg_write(&p->cfg, reg, size, *val);
        else
            *val = pcicfg_read(&p->cfg, reg, size);
    }
    if (is_write)
        config_changed(p);
    else
        deliver_interrupts(p);
}

void pci_poll_device(struct pci_transport *p)
{
    mmio_poll_device(p->m);
    deliver_interrupts(p);
}

/* Deferred chains are DMA the device has yet to do: they wait for bus mastering. */
bool pci_has_deferred(const struct pci_transport *p)
{
    return mmio_has_deferred(p->m) && (command(p) & PCI_COMMAND_MASTER);
}

void pci_run_deferred(struct pci_transport *p)
{
    if (command(p) & PCI_COMMAND_MASTER)
        mmio_run_deferred(p->m);
    deliver_interrupts(p);
}

void pci_shutdown(struct pci_transport *p)
{
    mmio_shutdown(p->m);
    /* Destroying the server does not deassert a line it left asserted. */
    if (p->intx_level) {
        p->intx_level = false;
        p->host.set_intx(p->host.opaque, 0);
    }
}

static int add_vendor_cap(struct pci_transport *p, uint8_t type, uint32_t offset, uint32_t length,
                          uint8_t extra_len, const uint8_t *wmask)
{
    uint8_t body[18] = { 0 };
    body[0] = (uint8_t)(16 + extra_len); /* cap_len */
    body[1] = type;
    body[2] = 0; /* bar */
    memcpy(&body[6], &offset, 4);
    memcpy(&body[10], &length, 4);
    return pcicfg_add_cap(&p->cfg, CAP_ID_VENDOR, body, (uint8_t)(14 + extra_len), wmask);
}

int pci_init(struct pci_transport *p, struct mmio_dev *m, const struct pci_host *host)
{
    memset(p, 0, sizeof(*p));
    p->m = m;
    p->host = *host;
    m->set_irq = NULL; /* interrupts are this transport's (deliver_interrupts) */
    const struct pcicfg_id id = {
        .vendor = VIRTIO_PCI_VENDOR,
        .device = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + m->ops->device_id),
        .revision = 1, /* non-transitional */
        .class_code = m->ops->device_id == 2 ? 0x018000 : 0xff0000,
        .subsystem_vendor = VIRTIO_PCI_VENDOR,
        .subsystem = 0x1100, /* at least 0x40 for a non-transitional device */
        .interrupt_pin = 1,
    };
    pcicfg_init(&p->cfg, &id);
    msix_init(&p->msix, inject, p);
    unmap_vectors(p);
    int rc = pcicfg_add_mem_bar32(&p->cfg, 0, VIRTIO_PCI_BAR_SIZE);
    if (rc < 0)
        return rc;
    /* MSI-X: table and PBA in BAR0; only enable and function mask are writable. */
    uint8_t msix[10] = { 0 };
    uint16_t ctrl = MSIX_MAX_VECTORS - 1;
    uint32_t table = VIRTIO_PCI_MSIX_TABLE, pba = VIRTIO_PCI_MSIX_PBA;
    memcpy(&msix[0], &ctrl, 2);
    memcpy(&msix[2], &table, 4);
    memcpy(&msix[6], &pba, 4);
    static const uint8_t msix_w[10] = { 0x00, 0xc0 };
    int off = pcicfg_add_cap(&p->cfg, CAP_ID_MSIX, msix, sizeof(msix), msix_w);
    if (off < 0)
        return off;
    p->msix_cap = (uint8_t)off;
    static const uint8_t notify_mult[4] = { 0 }; /* every queue notifies at offset 0 */
    if ((rc = add_vendor_cap(p, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON,
                             VIRTIO_PCI_COMMON_LEN, 0, NULL)) < 0 ||
        (rc = add_vendor_cap(p, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR, 1, 0, NULL)) < 0 ||
        (rc = add_vendor_cap(p, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_CFG,
                             VIRTIO_PCI_DEVICE_CFG_LEN, 0, NULL)) < 0)
        return rc;
    uint8_t body[18] = { 0 };
    body[0] = 20;
    body[1] = VIRTIO_PCI_CAP_NOTIFY_CFG;
    uint32_t noff = VIRTIO_PCI_NOTIFY, nlen = 2;
    memcpy(&body[6], &noff, 4);
    memcpy(&body[10], &nlen, 4);
    memcpy(&body[14], notify_mult, 4);
    if ((rc = pcicfg_add_cap(&p->cfg, CAP_ID_VENDOR, body, 18, NULL)) < 0)
        return rc;
    /* PCI_CFG: bar, offset, length and data are the driver's to write. */
    static const uint8_t cfg_w[18] = { [2] = 0xff, [6] = 0xff, 0xff, 0xff, 0xff,
                                       [10] = 0xff, 0xff, 0xff, 0xff,
                                       [14] = 0xff, 0xff, 0xff, 0xff };
    if ((rc = add_vendor_cap(p, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 4, cfg_w)) < 0)
        return rc;
    p->pci_cfg_cap = (uint8_t)rc;
    return 0;
}
