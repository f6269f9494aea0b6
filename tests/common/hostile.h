/* SPDX-License-Identifier: MIT */
/*
 * What the hostile-guest tests share (test_hostile.c, test_hostile_branches.c):
 * a guest that breaks its device and must find it working again after a
 * reset, granted pages, and blk requests laid out by hand.
 */
#ifndef VG_TEST_HOSTILE_H
#define VG_TEST_HOSTILE_H

#include <stdbool.h>
#include <stdint.h>

#include "rig.h"

/* virtio-mmio register offsets the tests write by hand */
#define R_MAGIC 0x000
#define R_DRV_FEATURES 0x020
#define R_DRV_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_NOTIFY 0x050
#define R_ISR 0x060
#define R_ACK 0x064
#define R_STATUS 0x070
#define R_DESC_LOW 0x080
#define R_DESC_HIGH 0x084
#define R_DRIVER_LOW 0x090
#define R_DRIVER_HIGH 0x094
#define R_DEVICE_LOW 0x0a0
#define R_DEVICE_HIGH 0x0a4
#define R_CONFIG 0x100

struct granted {
    uint64_t gpa, dma;
    struct vdrv_map m;
};
/*
 * A blk request laid out by hand in descriptors 0.. of the ring: the header
 * (hdr_len bytes of a read-only grant), optionally one data buffer in its own
 * page, then the status byte in its own writable page (preset to 0xee).
 */
struct raw_req {
    struct granted hdr, data, st;
    uint8_t *status, *payload;
};

/* A page written at sector and read back, through the probed driver. */
void expect_serves(struct rig *r, uint64_t sector, uint32_t seed);
/* Notify, then expect NEEDS_RESET with a config interrupt, grants released,
 * and a device that works again after a reset (the driver probed again with dma). */
void expect_needs_reset_dma(struct rig *r, enum vdrv_dma dma);
/* The same for a grant driver. */
void expect_needs_reset(struct rig *r);
/* Publish head, notify, expect the device broken (and recoverable), stop cleanly. */
void publish_expect_reset(struct rig *r, uint16_t head);
/* One fresh page granted to the backend (read-only if ro). */
void grant_page(struct rig *r, struct granted *g, bool ro);
/*
 * A blk request laid out by hand in descriptors 0.. of the ring: the header
 * (hdr_len bytes of a read-only grant), optionally one data buffer in its own
 * page, then the status byte in its own writable page (preset to 0xee).
 */
void raw_blk(struct rig *r, struct raw_req *q, uint32_t type, uint64_t sector,
             uint32_t hdr_len, uint32_t data_len, uint16_t data_flags);
/* Publish head 0 and notify; the used length the device reported (it must not break). */
uint32_t complete_raw(struct rig *r);
/* After hand-made requests the driver's bookkeeping is stale: reset, serve, stop. */
void reset_serve_down(struct rig *r);
/* Bring a fresh device to FEATURES_OK by hand, as a driver would. */
void manual_features_ok(struct rig *r);
/* The device broke itself: config interrupt, then a reset and a normal probe serve again. */
void expect_broken_then_recover(struct rig *r);
/* A raw blk request gets status want, and nothing reaches the image. */
void blk_status_case(uint32_t type, uint64_t sector, uint32_t hdr_len, uint32_t data_len,
                     uint16_t data_flags, uint8_t want, bool read_only);

#endif
