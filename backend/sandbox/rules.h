/* SPDX-License-Identifier: MIT */
/*
 * The device process's seccomp allowlist, kept as data: common rules, the
 * rules of the guest-memory mode, and the rules of the Xen library
 * implementation underneath (platform_xen.c, or xensim's sim_sandbox.c, so
 * the simulator never widens the production filter), and those of the image
 * engine.  Each rule carries its reason and says where it is reached;
 * `virtio-grant sandbox-rules MODE [ENGINE]` prints the table, and tests/sandbox/rule-coverage.sh fails if a rule the
 * suites should reach was never hit.
 */
#ifndef VG_SANDBOX_RULES_H
#define VG_SANDBOX_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sandbox/sandbox.h"

enum vg_rule_cond {
    VG_COND_NONE,    /* any arguments */
    VG_COND_FD,      /* argument 0 is one of the process's declared fds */
    VG_COND_NO_EXEC, /* argument 2 (prot) has no PROT_EXEC */
    VG_COND_IOCTL,   /* argument 1 is exactly this request, all 64 bits */
};

enum vg_rule_fd { VG_FD_IMAGE, VG_FD_CONTROL, VG_FD_EVTCHN, VG_FD_SIGNAL, VG_FD_LOG, VG_FD_RAW,
                  VG_FD_RING };

/* Where the rule is reached: the coverage check demands a hit for SERVE and TEARDOWN. */
enum vg_rule_reach {
    VG_REACH_SERVE,    /* serving a guest, in the simulator suites */
    VG_REACH_TEARDOWN, /* tearing down, in the simulator suites */
    VG_REACH_XEN,      /* only the real Xen libraries call it (e2e) */
    VG_REACH_RARE,     /* a host-error fallback the suites cannot provoke */
};

struct vg_rule {
    const char *syscall;
    enum vg_rule_cond cond;
    enum vg_rule_fd fd; /* VG_COND_FD */
    int raw_fd;         /* VG_FD_RAW: a platform fd, filled in at composition */
    uint64_t ioctl;     /* VG_COND_IOCTL */
    const char *ioctl_name;
    enum vg_rule_reach reach;
    const char *why;
};

#define VG_MAX_RULES 64

/* One rule each: on a declared fd, with any arguments, on one ioctl request. */
#define VG_FD_RULE(sc, which, reach, why) { #sc, VG_COND_FD, which, -1, 0, NULL, reach, why }
#define VG_ANY_RULE(sc, reach, why) { #sc, VG_COND_NONE, 0, -1, 0, NULL, reach, why }
#define VG_IOCTL_RULE(req, reach, why) { "ioctl", VG_COND_IOCTL, 0, -1, req, #req, reach, why }

struct xen_ioreq_srv;

/* Compose the whole allowlist for this configuration; the number of rules. */
size_t vg_sandbox_rules(enum gmem_mode mode, enum aio_engine engine,
                        const struct xen_ioreq_srv *srv, struct vg_rule *out, size_t max);
/* The fd a rule names, from the declared set; -1 if none. */
int vg_rule_fd_value(const struct vg_rule *r, const struct vg_sandbox_fds *fds);
void vg_sandbox_print_rules(FILE *f, enum gmem_mode mode, enum aio_engine engine);
/* Append @count rules to out[n..max); the new count. */
size_t vg_rules_append(struct vg_rule *out, size_t n, size_t max, const struct vg_rule *r,
                       size_t count);

/* The Xen library implementation's own rules (platform_xen.c or xensim's). */
size_t vg_sandbox_platform_rules(enum gmem_mode mode, const struct xen_ioreq_srv *srv,
                                 struct vg_rule *out, size_t max);

#endif
