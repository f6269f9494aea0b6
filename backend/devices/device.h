/* SPDX-License-Identifier: MIT */
/* What a virtio device model provides to the transport. */
#ifndef VG_DEVICE_H
#define VG_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "gmem/gmem.h"

/* handle_chain's answer when the device finishes the chain later (see vdev_host). */
#define VDEV_PENDING 1
/* Chains one device may leave pending at once: the transport's in-flight slots. */
#define VDEV_MAX_PENDING 64u

/* What the transport gives a device that leaves chains pending. */
struct vdev_host {
    /*
     * The device is done with the chain it was handed with tag: the transport
     * unmaps its buffers, then publishes the used entry (result 0) or breaks
     * the device (negative errno, as handle_chain's).  The last thing the
     * device does with that chain.
     */
    void (*complete)(void *opaque, void *tag, int result, uint32_t written);
    void *opaque;
};

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
     * errno: the driver broke the protocol and the device needs a reset;
     * VDEV_PENDING: sg stays mapped and the device calls host->complete(tag)
     * later (only once attach gave it a host).
     */
    int (*handle_chain)(void *dev, unsigned queue, const struct gmem_sg *sg, void *tag,
                        uint32_t *written);
    void (*reset)(void *dev);
    /* Optional, for devices that leave chains pending.  The transport's hooks. */
    void (*attach)(void *dev, const struct vdev_host *host);
    /* Start what handle_chain queued: once per batch of chains. */
    void (*kick)(void *dev);
    /* Complete what has finished; with drain, wait until nothing is pending. */
    void (*poll)(void *dev, bool drain);
};

#endif
