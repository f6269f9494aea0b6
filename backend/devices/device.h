/* SPDX-License-Identifier: MIT */
/* What a virtio device model provides to the transport. */
#ifndef VG_DEVICE_H
#define VG_DEVICE_H

#include <stdint.h>

#include "gmem/gmem.h"

struct vdev_ops {
    const char *name;
    uint32_t device_id;
    unsigned num_queues;
    uint16_t queue_size_max;
    /* Device-specific feature bits offered (transport bits are added). */
    uint64_t (*features)(void *dev);
    /* Accepted features, at FEATURES_OK. */
    void (*set_features)(void *dev, uint64_t features);
    /* Config space; -ERANGE for an access outside it. */
    int (*config_read)(void *dev, uint32_t off, void *buf, uint32_t len);
    int (*config_write)(void *dev, uint32_t off, const void *buf, uint32_t len);
    /*
     * Serve one chain whose buffers are mapped in sg.  *written gets the
     * bytes written to device-writable buffers.  0: complete it; negative
     * errno: the driver broke the protocol and the device needs a reset.
     */
    int (*handle_chain)(void *dev, unsigned queue, const struct gmem_sg *sg, uint32_t *written);
    void (*reset)(void *dev);
};

#endif
