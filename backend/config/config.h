/* SPDX-License-Identifier: MIT */
/* Command line of the backend: one process serves one device of one guest. */
#ifndef VG_CONFIG_H
#define VG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/log.h"
#include "gmem/gmem.h"
#include "sandbox/sandbox.h"

struct vg_config {
    const char *device; /* "blk" */
    uint16_t domid;
    bool have_domid;
    uint64_t base, size;
    unsigned irq;
    const char *image;
    bool read_only;
    enum gmem_mode mode;
    uint64_t ram_base, ram_size;
    const char *serial;
    bool premap;
    /* Started by the launcher: the configuration and the image fd arrive on this socket. */
    int control_fd;
    uint32_t devid;
    struct vg_sandbox_cfg sandbox;
    enum vg_log_level log_level;
};

/* 0 ok, 1 help/version printed (exit 0), -EINVAL with a message on stderr. */
int vg_config_parse(struct vg_config *c, int argc, char **argv);
/* The cross-option checks, again after the launcher's configuration filled in its part. */
int vg_config_check(struct vg_config *c);
void vg_config_usage(FILE *f);

#endif
