/* SPDX-License-Identifier: MIT */
/* virtio-mmio version 2: registers, status state machine, queue processing. */
#ifndef VG_MMIO_H
#define VG_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "gmem/gmem.h"
#include "virtq/virtq.h"

struct saved_area;
struct saved_regs;

#define VIRTIO_MMIO_MAGIC 0x74726976u
#define VIRTIO_MMIO_VENDOR 0x554d4551u /* "QEMU", what guests expect to see */
#define VIRTIO_MMIO_MAX_QUEUES 4

#define VIRTIO_MMIO_MAGIC_VALUE 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
/*
 * The draft grant extension (spec/); bits 44 and 45 are the draft's
 * placeholders until the virtio TC allocates them, and the frontend series
 * uses the same numbers.
 *   GRANT_ADDRESSING: every address the driver gives is a grant address, and
 *   the device promises never to read one as a guest frame and to release a
 *   buffer's mappings before its used entry (and all of them on reset), so
 *   the driver may count on revoking its grants.  Offered in grant modes;
 *   it needs ACCESS_PLATFORM.
 *   GRANT_POOL: the driver bounces every buffer through a pool it keeps
 *   granted while the device is live; offered only with GRANT_ADDRESSING.
 */
#define VIRTIO_F_GRANT_ADDRESSING 44
#define VIRTIO_F_GRANT_POOL 45

#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_SHM_SEL 0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW 0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc
#define VIRTIO_MMIO_QUEUE_RESET 0x0c0
/*
 * The draft's pool announcement (spec/virtio/grant-pool.tex), in the
 * transport's unused range 0x0c4-0x0f8: the pool's first grant address and
 * its length in pages, written after FEATURES_OK with GRANT_POOL and before
 * DRIVER_OK; the device maps the pool at DRIVER_OK when GrantPoolPages is
 * not 0.  Read back as written.
 */
#define VIRTIO_MMIO_GRANT_POOL_LOW 0x0d0
#define VIRTIO_MMIO_GRANT_POOL_HIGH 0x0d4
#define VIRTIO_MMIO_GRANT_POOL_PAGES 0x0d8
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

#define VIRTIO_MMIO_INT_VRING 1u
#define VIRTIO_MMIO_INT_CONFIG 2u

#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33

struct mmio_counters {
    uint64_t notifies, chains, interrupts, resets, guest_errors;
    uint64_t deferrals; /* a notify's batch hit its bound and the rest was deferred */
    uint64_t stalls;    /* a queue waited for a chain in flight to complete */
    uint64_t inflight_peak;
    uint64_t batches;  /* batch maps made: chains / batches is what one map call served */
    uint64_t inflight_peak_window; /* since the last stats report (SIGUSR1) */
    uint64_t chains_by_queue[VIRTIO_MMIO_MAX_QUEUES]; /* shows what MQ spread */
};

/* A chain handed to the device and not completed yet: its buffers stay mapped. */
struct mmio_req {
    bool busy;
    bool done;      /* batched: completed, its used entry waits for the batch */
    uint8_t queue;
    uint16_t head;
    int16_t batch;  /* its batch (index in mmio_dev.batch), or -1: maps of its own */
    uint32_t written;
    struct gmem_sg sg;
};

/*
 * The chains one notify brought, their data mapped together (gmem_map_batch)
 * in the modes that map per request.  Released, and only then published,
 * when the last of them completes.
 */
#define MMIO_BATCH_MAX 32u
struct mmio_batch {
    bool busy;
    unsigned pending; /* members not completed yet */
    unsigned n;       /* members, their slots in the order they were taken */
    uint8_t member[MMIO_BATCH_MAX];
    struct gmem_batch maps;
};

struct mmio_dev {
    const struct vdev_ops *ops;
    void *dev;
    struct gmem *gmem;
    bool require_access_platform; /* grant mode: addresses must be translated */
    void (*set_irq)(void *opaque, int level);
    void *irq_opaque;

    uint32_t status;
    uint32_t isr;
    /* The queues a used-buffer interrupt was raised for, for a transport
     * with a vector per queue (transport/pci.c clears it); MMIO ignores it. */
    uint32_t vring_queues;
    uint32_t dev_features_sel, drv_features_sel, queue_sel;
    uint32_t config_generation;
    uint64_t drv_features;
    uint64_t pool_addr; /* GrantPool registers, as the driver wrote them */
    uint32_t pool_pages;
    struct virtq vq[VIRTIO_MMIO_MAX_QUEUES];
    bool irq_level;
    uint32_t deferred_queues; /* bit per queue with chains left over from a bounded batch */
    /*
     * Chains in flight (VDEV_MAX_PENDING slots, allocated at init), the queues
     * waiting for one of them to complete (no free slot, or their next chain
     * did not fit beside them: held in stalled[q], validated and unmapped),
     * and the queues whose used ring got entries since the last interrupt check.
     */
    struct mmio_req *req;
    unsigned inflight;
    uint32_t waiting_queues, completed_queues;
    unsigned resume_from; /* waiting queues resume in turn from here */
    bool has_stalled[VIRTIO_MMIO_MAX_QUEUES];
    struct vq_chain *stalled; /* one per queue */
    struct vq_chain *chain;   /* one per slot: a batch's chains until they are mapped */
    struct mmio_batch batch[VDEV_MAX_PENDING];
    uint32_t stopping_queues; /* their completions are not published */
    bool draining, stop_pending;
    struct vdev_host host;
    struct mmio_counters ctr;
    /* Kept outside the process for a restart (transport/saved.h); NULL: none. */
    struct saved_area *saved;
};

/* 0, or -ENOMEM; mmio_fini frees what it allocated. */
int mmio_init(struct mmio_dev *m, const struct vdev_ops *ops, void *dev, struct gmem *g,
              bool require_access_platform, void (*set_irq)(void *, int), void *irq_opaque);
void mmio_fini(struct mmio_dev *m);
/*
 * One guest access at offset off of the window.  size is 1, 2, 4 or 8.  A
 * read fills *val.  Never fails the caller: bad accesses are the guest's
 * problem and are answered (reads of nonsense return 0) and logged.
 */
void mmio_access(struct mmio_dev *m, uint64_t off, uint32_t size, bool is_write, uint64_t *val);
/* Work left over from a bounded batch: the event loop polls without blocking while so. */
bool mmio_has_deferred(const struct mmio_dev *m);
void mmio_run_deferred(struct mmio_dev *m);
/*
 * The device's completions are ready (its event fd is readable): publish
 * them, interrupt if the driver wants it, and resume the queues that waited.
 */
void mmio_poll_device(struct mmio_dev *m);
/* Wait for every chain in flight, then release queue mappings and deassert the line. */
void mmio_shutdown(struct mmio_dev *m);
/*
 * Break the device: DEVICE_NEEDS_RESET, and a configuration interrupt if
 * DRIVER_OK is set.  A driver that sets DRIVER_OK afterwards is not
 * interrupted (as with QEMU): SeaBIOS does so without checking its queue.
 */
void mmio_fail_device(struct mmio_dev *m, const char *why);
/* The configuration-change interrupt, whatever the status. */
void mmio_notify_config(struct mmio_dev *m);
uint64_t mmio_device_features(const struct mmio_dev *m);

/* For a restart (transport/resume.h). */
/* The driver-written registers and queue layout, into a saved slot. */
void mmio_save_regs(const struct mmio_dev *m, struct saved_regs *s);
/*
 * Serve again a chain the previous process had taken from queue q (already
 * counted in the saved state), waiting for chains in flight if it must.
 * 0, or <0 once the device is broken.
 */
int mmio_resubmit(struct mmio_dev *m, unsigned q, uint16_t head);
/*
 * Serve what the guest queued while no process served it, and interrupt
 * once: the dead process may have published entries without interrupting.
 */
void mmio_restart_queues(struct mmio_dev *m);

#endif
