/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "sandbox/rules.h"

#include <string.h>
#include <sys/ioctl.h>
#include <xen/xen.h>
#include <xen/sys/evtchn.h>
#include <xen/sys/gntdev.h>
#include <xen/sys/privcmd.h>

#define FD_RULE VG_FD_RULE
#define ANY_RULE VG_ANY_RULE
#define IOCTL_RULE VG_IOCTL_RULE

/*
 * The device process is single-threaded from exec to exit and holds no
 * xenstore connection: no futex, no thread signals, no libgcc_s, no sockets
 * to make.  What remains, and why:
 */
static const struct vg_rule common_rules[] = {
    /* Image I/O, on the image fd only: reads and writes by the engine's own
     * rules below; discard and write-zeroes are fallocate, and synchronous. */
    FD_RULE(fdatasync, VG_FD_IMAGE, VG_REACH_SERVE,
            "write-through without F_FLUSH after discard/write-zeroes (and the sync engine's "
            "FLUSH and writes)"),
    FD_RULE(fallocate, VG_FD_IMAGE, VG_REACH_SERVE, "DISCARD (punch hole), WRITE_ZEROES"),
    FD_RULE(pwrite64, VG_FD_IMAGE, VG_REACH_RARE,
            "WRITE_ZEROES where the filesystem cannot zero a range"),
    /* The event loop. */
#if defined(__aarch64__)
    ANY_RULE(ppoll, VG_REACH_SERVE, "the event loop (glibc's poll() on arm64)"),
#else
    ANY_RULE(poll, VG_REACH_SERVE, "the event loop"),
#endif
    FD_RULE(read, VG_FD_SIGNAL, VG_REACH_TEARDOWN,
            "SIGTERM arrives on the signalfd (and SIGUSR1, asking for a stats report)"),
    /* The launcher: CLOSE in, READY and DOWN out, on the socketpair only. */
    FD_RULE(recvmsg, VG_FD_CONTROL, VG_REACH_TEARDOWN, "CLOSE from the launcher"),
    FD_RULE(sendmsg, VG_FD_CONTROL, VG_REACH_SERVE, "READY and DOWN to the launcher"),
    FD_RULE(write, VG_FD_LOG, VG_REACH_SERVE, "the log, on stderr"),
    /* Grant and foreign mappings and the allocator; never executable. */
    { "mmap", VG_COND_NO_EXEC, 0, -1, 0, NULL, VG_REACH_SERVE, "grant/foreign mappings, malloc" },
    ANY_RULE(munmap, VG_REACH_SERVE, "unmapping grants before the used entry is published"),
    ANY_RULE(brk, VG_REACH_RARE, "malloc growing its heap (set-up allocates what serving needs)"),
    /* Teardown. */
    ANY_RULE(close, VG_REACH_TEARDOWN, "closing the Xen handles and the image at teardown"),
    ANY_RULE(exit_group, VG_REACH_TEARDOWN, "exit"),
    /* ioreqs: notify the vCPU that waits; unbind at teardown; DM ops. */
    IOCTL_RULE(IOCTL_EVTCHN_NOTIFY, VG_REACH_SERVE, "answer an ioreq to its vCPU"),
    IOCTL_RULE(IOCTL_EVTCHN_UNBIND, VG_REACH_TEARDOWN, "unbind the vCPU ports at teardown"),
    IOCTL_RULE(IOCTL_PRIVCMD_DM_OP, VG_REACH_SERVE,
               "set_irq_level while serving (virtio-pci: set_pci_intx_level, inject_msi, and "
               "the BAR's MMIO range mapped where the guest moves it); ioreq server teardown "
               "(handle restricted to the guest; seccomp cannot see the sub-op: threat-model "
               "residual risk)"),
};

/* The synchronous image engine (--aio=sync, or io_uring refused). */
static const struct vg_rule sync_io_rules[] = {
    FD_RULE(preadv, VG_FD_IMAGE, VG_REACH_SERVE, "virtio-blk reads into mapped guest buffers"),
    FD_RULE(pwritev, VG_FD_IMAGE, VG_REACH_SERVE, "virtio-blk writes from mapped guest buffers"),
};

/*
 * The io_uring engine: only entering the one ring, set up and locked before
 * the jail (aio.c: READV, WRITEV and FSYNC on the registered image only, no
 * later registration).  Not io_uring_setup or io_uring_register: no new ring,
 * and no change to this one.
 */
static const struct vg_rule uring_io_rules[] = {
    FD_RULE(io_uring_enter, VG_FD_RING, VG_REACH_SERVE,
            "submit reads, writes and flushes of the image and wait for them (the ring "
            "allows nothing else: IORING_REGISTER_RESTRICTIONS)"),
#if !defined(__aarch64__)
    /* arm64's poll() is ppoll, which the kernel restarts as itself. */
    ANY_RULE(restart_syscall, VG_REACH_RARE,
             "io_uring runs completions as task work, which interrupts poll(); the kernel "
             "then restarts poll through restart_syscall (make bench-sim-smoke dies of "
             "SIGSYS without it)"),
#endif
};

/* Not IOCTL_PRIVCMD_HYPERCALL, MMAP, MMAPBATCH or MMAPBATCH_V2: no guest RAM, ever. */
static const struct vg_rule grant_rules[] = {
    IOCTL_RULE(IOCTL_GNTDEV_MAP_GRANT_REF, VG_REACH_SERVE,
               "map the grants of one chain (seccomp cannot see the domid inside: residual risk)"),
    IOCTL_RULE(IOCTL_GNTDEV_UNMAP_GRANT_REF, VG_REACH_SERVE, "unmap them before completion"),
    IOCTL_RULE(IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR, VG_REACH_XEN,
               "libxengnttab finds a mapping's index to unmap it"),
};

static const struct vg_rule copy_rules[] = {
    IOCTL_RULE(IOCTL_GNTDEV_GRANT_COPY, VG_REACH_SERVE,
               "grant-copy mode: copy a chain's data in and out (seccomp cannot see the domid "
               "inside either: residual risk)"),
};

static const struct vg_rule foreign_rules[] = {
    IOCTL_RULE(IOCTL_PRIVCMD_MMAPBATCH_V2, VG_REACH_SERVE,
               "the comparison mode maps guest frames per request: the exposure we measure"),
};

size_t vg_rules_append(struct vg_rule *out, size_t n, size_t max, const struct vg_rule *r,
                       size_t count)
{
    for (size_t i = 0; i < count && n < max; i++)
        out[n++] = r[i];
    return n;
}

#define APPEND(rules) n = vg_rules_append(out, n, max, rules, sizeof(rules) / sizeof(rules[0]))

size_t vg_sandbox_rules(enum gmem_mode mode, enum aio_engine engine,
                        const struct xen_ioreq_srv *srv, struct vg_rule *out, size_t max)
{
    size_t n = 0;
    APPEND(common_rules);
    if (engine == AIO_ENGINE_URING)
        APPEND(uring_io_rules);
    else
        APPEND(sync_io_rules);
    if (gmem_mode_is_grant(mode))
        APPEND(grant_rules); /* grant-copy mode maps its rings */
    if (mode == GMEM_GRANT_COPY)
        APPEND(copy_rules);
    else if (mode == GMEM_FOREIGN)
        n = vg_rules_append(out, n, max, foreign_rules, sizeof(foreign_rules) / sizeof(foreign_rules[0]));
    /* Premapped foreign mode maps everything before the jail: no mapping ioctl at all. */
    return n + vg_sandbox_platform_rules(mode, srv, out + n, max - n);
}

int vg_rule_fd_value(const struct vg_rule *r, const struct vg_sandbox_fds *fds)
{
    switch (r->fd) {
    case VG_FD_IMAGE:
        return fds->image;
    case VG_FD_CONTROL:
        return fds->control;
    case VG_FD_EVTCHN:
        return fds->evtchn;
    case VG_FD_SIGNAL:
        return fds->sigfd;
    case VG_FD_LOG:
        return 2;
    case VG_FD_RAW:
        return r->raw_fd;
    case VG_FD_RING:
        return fds->ring;
    }
    return -1;
}

static const char *vg_rule_reach_name(enum vg_rule_reach r)
{
    static const char *const names[] = { "serve", "teardown", "xen-only", "rare" };
    return r <= VG_REACH_RARE ? names[r] : "?";
}

void vg_sandbox_print_rules(FILE *f, enum gmem_mode mode, enum aio_engine engine)
{
    static const char *const fdn[] = { "image", "control", "evtchn", "signalfd", "stderr",
                                       "platform", "io_uring" };
    struct vg_rule r[VG_MAX_RULES];
    size_t n = vg_sandbox_rules(mode, engine, NULL, r, VG_MAX_RULES);
    for (size_t i = 0; i < n; i++) {
        char cond[64] = "-";
        if (r[i].cond == VG_COND_FD)
            snprintf(cond, sizeof(cond), "fd=%s", fdn[r[i].fd]);
        else if (r[i].cond == VG_COND_NO_EXEC)
            snprintf(cond, sizeof(cond), "prot&PROT_EXEC=0");
        else if (r[i].cond == VG_COND_IOCTL)
            snprintf(cond, sizeof(cond), "%s=0x%llx", r[i].ioctl_name,
                     (unsigned long long)r[i].ioctl);
        fprintf(f, "%s\t%s\t%s\t%s\n", r[i].syscall, cond, vg_rule_reach_name(r[i].reach),
                r[i].why);
    }
}
