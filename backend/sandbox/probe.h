/* SPDX-License-Identifier: MIT */
/*
 * The seam the sandbox tests use: called once the sandbox is in place and
 * before the first guest request.  The daemon links probe_none.c; the test
 * binary virtio-grant-probe links tests/sandbox/probe_forbidden.c, which
 * attempts the forbidden call named by $VG_PROBE_FORBIDDEN and must die, or
 * ($VG_PROBE_FORBIDDEN=residual) measures what the jail cannot forbid.
 */
#ifndef VG_SANDBOX_PROBE_H
#define VG_SANDBOX_PROBE_H

#include <xengnttab.h>

struct xen_ioreq_srv;
struct vg_sandbox_fds;
struct aio;

void vg_sandbox_probe(struct xen_ioreq_srv *srv, xengnttab_handle *gnt,
                      const struct vg_sandbox_fds *fds, struct aio *aio);

#endif
