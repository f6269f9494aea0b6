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
    struct vg_rule sim_rules[] = {
        VG_FD_RULE(recvfrom, VG_FD_EVTCHN, VG_REACH_SERVE,
                   "simulator: xenevtchn_pending receives from the event channel socket"),
        VG_FD_RULE(sendto, VG_FD_EVTCHN, VG_REACH_SERVE,
                   "simulator: xenevtchn_notify sends on the event channel socket"),
        VG_FD_RULE(sendto, VG_FD_RAW, VG_REACH_SERVE,
                   "simulator: set_irq_level sends on the device model's socket"),
        VG_ANY_RULE(sched_yield, VG_REACH_RARE,
                    "simulator: the spinlock on the state it shares with the guest yields when "
                    "contended (seen under a flooding guest)"),
    };
    sim_rules[2].raw_fd = srv ? xensim_dm_sock(srv->dm) : -1;
    (void)mode;
    return vg_rules_append(out, 0, max, sim_rules, sizeof(sim_rules) / sizeof(sim_rules[0]));
}
