/* SPDX-License-Identifier: MIT */
/* What the real libxenevtchn does on its fd beyond ioctls (Linux osdep). */
#include "sandbox/rules.h"

size_t vg_sandbox_platform_rules(enum gmem_mode mode, const struct xen_ioreq_srv *srv,
                                 struct vg_rule *out, size_t max)
{
    static const struct vg_rule xen_rules[] = {
        { "read", VG_COND_FD, VG_FD_EVTCHN, -1, 0, NULL, VG_REACH_XEN,
          "xenevtchn_pending reads the pending port from /dev/xen/evtchn" },
        { "write", VG_COND_FD, VG_FD_EVTCHN, -1, 0, NULL, VG_REACH_XEN,
          "xenevtchn_unmask writes the port back to /dev/xen/evtchn" },
    };
    (void)mode;
    (void)srv;
    size_t n = 0;
    for (size_t i = 0; i < sizeof(xen_rules) / sizeof(xen_rules[0]) && n < max; i++)
        out[n++] = xen_rules[i];
    return n;
}
