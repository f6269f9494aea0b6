/* SPDX-License-Identifier: MIT */
/*
 * A device process that replaces one killed while serving: rebuild the
 * device from the saved area (transport/saved.h) and serve again the chains
 * the dead process had taken.  Runs inside the jail, before the first guest
 * request is dispatched: the area and the rings are hostile input.
 *
 * The registers are replayed through mmio_access, so a value the guest could
 * not have set through its own writes is refused the same way.  A ring
 * position that does not match the guest's used index, a head beyond the
 * queue, more chains in flight than the queue holds: the state is refused
 * and the guest's device is broken (DEVICE_NEEDS_RESET), never the process.
 */
#ifndef VG_RESUME_H
#define VG_RESUME_H

#include "transport/mmio.h"
#include "transport/saved.h"

struct resume_result {
    unsigned chains;  /* served again */
    bool refused;     /* the state was refused: the device is broken */
};

/* Rebuild m (fresh from mmio_init) from a; m writes a from then on. */
void resume_device(struct mmio_dev *m, struct saved_area *a, struct resume_result *res);

#endif
