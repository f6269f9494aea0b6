/* SPDX-License-Identifier: MIT */
/* Command line of the backend: one process serves one device of one guest. */
#ifndef VG_CONFIG_H
#define VG_CONFIG_H

/* Also debian/changelog's version: the package and the binary say the same. */
#define VG_VERSION "0.1.0"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "aio/aio.h"
#include "common/log.h"
#include "gmem/gmem.h"
#include "sandbox/sandbox.h"

/*
 * Bounds every source of a device's configuration shares: the command line,
 * the toolstack's directory (launcher/tsinput.c) and the launcher's CONFIG
 * (ipc/devmsg.c).
 */
#define VG_DOMID_MAX 0x7fefu     /* guest domids end below DOMID_FIRST_RESERVED */
#define VG_SPI_MIN 32u           /* an Arm SPI */
#define VG_SPI_MAX 1019u
#define VG_WINDOW_ALIGN 0x200u   /* the MMIO window: registers plus config space... */
#define VG_WINDOW_MAX 0x1000u    /* ...and at most one trap page */
/*
 * A virtio-pci function's slot on bus 0.  Xen's device model has the first
 * three (host bridge, PIIX3, the platform device or VGA), and Xen does not
 * stop a second server from claiming a function another one has.
 */
#define VG_PCI_SLOT_MIN 3u
#define VG_PCI_SLOT_MAX 31u

static inline bool vg_domid_ok(uint64_t d)
{
    return d >= 1 && d <= VG_DOMID_MAX;
}

static inline bool vg_irq_ok(uint64_t irq)
{
    return irq >= VG_SPI_MIN && irq <= VG_SPI_MAX;
}

static inline bool vg_window_ok(uint64_t base, uint64_t size)
{
    return size >= VG_WINDOW_ALIGN && size <= VG_WINDOW_MAX && base % VG_WINDOW_ALIGN == 0 &&
           base + size > base;
}

enum vg_transport { VG_TRANSPORT_MMIO, VG_TRANSPORT_PCI };

struct vg_config {
    const char *device; /* "blk" */
    uint16_t domid;
    bool have_domid;
    enum vg_transport transport;
    /* virtio-mmio: the window and the SPI; given by --base, --size or --irq */
    uint64_t base, size;
    unsigned irq;
    bool window_given;
    /* virtio-pci: function 0 of this slot on bus 0 (0: not given) */
    unsigned pci_slot;
    const char *image;
    bool read_only;
    enum gmem_mode mode;
    uint64_t ram_base, ram_size;
    const char *serial;
    bool premap;
    enum aio_pref aio;
    /* Started by the launcher: the configuration and the image fd arrive on this socket. */
    int control_fd;
    uint32_t devid;
    struct vg_sandbox_cfg sandbox;
    enum vg_log_level log_level;
    enum vg_log_format log_format; /* VG_LOG_TEXT unless --log-format */
};

/* 0 ok, 1 help/version printed (exit 0), -EINVAL with a message on stderr. */
int vg_config_parse(struct vg_config *c, int argc, char **argv);
/* The cross-option checks, again after the launcher's configuration filled in its part. */
int vg_config_check(struct vg_config *c);
void vg_config_usage(FILE *f);

#endif
