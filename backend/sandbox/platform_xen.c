/* SPDX-License-Identifier: MIT */
/* What the real libxenevtchn does on its fd beyond ioctls (Linux osdep). */
#include "sandbox/rules.h"

size_t vg_sandbox_platform_rules(enum gmem_mode mode, const struct xen_ioreq_srv *srv,
                                 struct vg_rule *out, size_t max)
{
    static const struct vg_rule xen_rules[] = {
        VG_FD_RULE(read, VG_FD_EVTCHN, VG_REACH_XEN,
                   "xenevtchn_pending reads the pending port from /dev/xen/evtchn"),
        VG_FD_RULE(write, VG_FD_EVTCHN, VG_REACH_XEN,
                   "xenevtchn_unmask writes the port back to /dev/xen/evtchn"),
    };
    (void)mode;
    (void)srv;
    return vg_rules_append(out, 0, max, xen_rules, sizeof(xen_rules) / sizeof(xen_rules[0]));
}
