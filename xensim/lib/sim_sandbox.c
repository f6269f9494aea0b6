/* SPDX-License-Identifier: MIT */
/*
 * The simulator's share of the device process's allowlist: its event
 * channels and IRQ lines are datagram sockets, already bound before the
 * jail.  Only virtio-grant-sim links this; the real binary links
 * backend/sandbox/platform_xen.c instead, so none of it reaches production.
 */
#include "sandbox/rules.h"
#include "sim_internal.h"
#include "xen/ioreq.h"

size_t vg_sandbox_platform_rules(enum gmem_mode mode, const struct xen_ioreq_srv *srv,
                                 struct vg_rule *out, size_t max)
{
    const struct vg_rule sim_rules[] = {
        { "recvfrom", VG_COND_FD, VG_FD_EVTCHN, -1, 0, NULL, VG_REACH_SERVE,
          "simulator: xenevtchn_pending receives from the event channel socket" },
        { "sendto", VG_COND_FD, VG_FD_EVTCHN, -1, 0, NULL, VG_REACH_SERVE,
          "simulator: xenevtchn_notify sends on the event channel socket" },
        { "sendto", VG_COND_FD, VG_FD_RAW, srv ? xensim_dm_sock(srv->dm) : -1, 0, NULL,
          VG_REACH_SERVE, "simulator: set_irq_level sends on the device model's socket" },
    };
    (void)mode;
    size_t n = 0;
    for (size_t i = 0; i < sizeof(sim_rules) / sizeof(sim_rules[0]) && n < max; i++)
        out[n++] = sim_rules[i];
    return n;
}
