/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "sandbox/sandbox.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xen/sys/evtchn.h>
#include <xen/sys/gntdev.h>
#include <xen/sys/privcmd.h>

#include "common/log.h"
#include "xen/ioreq.h"

const char *vg_sandbox_mode_name(enum vg_sandbox_mode m)
{
    return m == VG_SANDBOX_KILL ? "kill" : m == VG_SANDBOX_LOG ? "log" : "off";
}

void vg_close_inherited_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int self = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        int fd = atoi(de->d_name);
        if (fd > 2 && fd != self)
            close(fd);
    }
    closedir(d);
}

/*
 * Restriction pins the domid only: privcmd could still foreign-map this
 * guest's RAM, which the seccomp filter below forbids in grant mode.  The
 * gnttab handle has no restriction; grants are checked per map by Xen.
 * xentoolcore_restrict_all is not used: it would turn the gnttab and
 * xenstore handles into /dev/null.
 */
static int restrict_handles(struct xen_ioreq_srv *s)
{
    if (xendevicemodel_restrict(s->dm, s->domid) < 0) {
        vg_err("xendevicemodel_restrict: %s", strerror(errno));
        return -errno;
    }
    if (xenforeignmemory_restrict(s->fmem, s->domid) < 0) {
        vg_err("xenforeignmemory_restrict: %s", strerror(errno));
        return -errno;
    }
    if (xenevtchn_restrict(s->evt, s->domid) < 0) {
        vg_err("xenevtchn_restrict: %s", strerror(errno));
        return -errno;
    }
    return 0;
}

/*
 * Every file the backend needs is open; from now on it sees an empty,
 * read-only tmpfs as its root, in a mount namespace of its own, so neither a
 * path nor a mount of the host is reachable.
 */
static int enter_empty_root(void)
{
    mkdir("/run/virtio-grant", 0755);
    if (mkdir(VG_SANDBOX_EMPTY_ROOT, 0755) < 0 && errno != EEXIST)
        return -errno;
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("vg-empty", VG_SANDBOX_EMPTY_ROOT, "tmpfs",
              MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=1,mode=0555") < 0 ||
        chdir(VG_SANDBOX_EMPTY_ROOT) < 0 || chroot(".") < 0 || chdir("/") < 0)
        return -errno;
    return 0;
}

static int drop_ids(uid_t uid, gid_t gid)
{
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        return -errno;
    /* Paranoia: a failed drop must not go unnoticed. */
    if (setuid(0) == 0 && uid != 0)
        return -EPERM;
    return 0;
}

/* No core file can leak guest data; no fd can be opened beyond what is open now. */
static int tighten_rlimits(void)
{
    struct rlimit zero = { 0, 0 };
    int maxfd = 2;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (atoi(de->d_name) > maxfd)
                maxfd = atoi(de->d_name);
        closedir(d);
    }
    struct rlimit files = { (rlim_t)maxfd + 1, (rlim_t)maxfd + 1 };
    if (setrlimit(RLIMIT_CORE, &zero) < 0 || setrlimit(RLIMIT_NOFILE, &files) < 0)
        return -errno;
    return 0;
}

/*
 * libseccomp's SCMP_An() macros leave datum_b implicit, which clang's
 * -Wmissing-field-initializers rejects: spell every field out.
 */
static struct scmp_arg_cmp arg_cmp(unsigned int arg, enum scmp_compare op, scmp_datum_t a,
                                   scmp_datum_t b)
{
    struct scmp_arg_cmp c = { .arg = arg, .op = op, .datum_a = a, .datum_b = b };
    return c;
}
#define ARG_EQ(n, v) arg_cmp((n), SCMP_CMP_EQ, (scmp_datum_t)(v), 0)
#define ARG_MASKED_EQ(n, mask, v) arg_cmp((n), SCMP_CMP_MASKED_EQ, (mask), (scmp_datum_t)(v))

#define ALLOW(sc) rc = rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sc), 0)
/* The kernel reads the request as unsigned int: compare the low 32 bits. */
#define ALLOW_IOCTL(req)                                                                      \
    rc = rc ? rc                                                                              \
            : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,                       \
                               ARG_MASKED_EQ(1, 0xffffffffu, (uint32_t)(req)))

static int install_filter(const struct vg_sandbox_cfg *c)
{
    scmp_filter_ctx ctx =
        seccomp_init(c->mode == VG_SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        return -ENOMEM;
    int rc = 0;
    /* libxenstore's reader thread exists already: filter every thread. */
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);

    /* Image I/O on the fd opened at set-up; fdatasync is FLUSH, fallocate discard/zeroes. */
    ALLOW(read); ALLOW(write); ALLOW(pread64); ALLOW(pwrite64); ALLOW(readv); ALLOW(writev);
    ALLOW(preadv); ALLOW(pwritev); ALLOW(lseek); ALLOW(fdatasync); ALLOW(fsync);
    ALLOW(fallocate); ALLOW(fstat); ALLOW(newfstatat);
    /* The event loop: ioreq event channel, signalfd, xenstore socket. */
    ALLOW(poll); ALLOW(ppoll);
    /* Simulated event channels are datagram sockets already bound; none can be created. */
    ALLOW(sendto); ALLOW(recvfrom); ALLOW(sendmsg); ALLOW(recvmsg);
    /* Grant and foreign mappings and the allocator; never executable (see below). */
    ALLOW(munmap); ALLOW(madvise); ALLOW(brk); ALLOW(mremap);
    rc = rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                                    ARG_MASKED_EQ(2, PROT_EXEC, 0));
    rc = rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                                    ARG_MASKED_EQ(2, PROT_EXEC, 0));
    /* Teardown closes handles; libxenstore's thread waits on futexes. */
    ALLOW(close); ALLOW(futex); ALLOW(set_robust_list); ALLOW(rseq);
    ALLOW(clock_gettime); ALLOW(clock_nanosleep); ALLOW(nanosleep); ALLOW(gettimeofday);
    ALLOW(getpid); ALLOW(gettid); ALLOW(sched_yield);
    ALLOW(rt_sigprocmask); ALLOW(rt_sigreturn); ALLOW(restart_syscall);
    /*
     * Seen on real Xen: libxenstore ignores SIGPIPE around every request, and
     * xs_close cancels its reader thread, for which glibc installs its
     * cancellation handler (SIGRTMIN) and signals the thread.  Those two
     * signals only, and only to ourselves.
     */
    rc = rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigaction), 1,
                                    ARG_EQ(0, SIGPIPE));
    rc = rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigaction), 1,
                                    ARG_EQ(0, __SIGRTMIN));
    rc = rc ? rc : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
                                    ARG_EQ(0, getpid()),
                                    ARG_EQ(2, __SIGRTMIN));
    ALLOW(exit); ALLOW(exit_group);

    /* ioreqs: ack and notify on the guest's vCPU ports; unbind at teardown. */
    ALLOW_IOCTL(IOCTL_EVTCHN_NOTIFY);
    ALLOW_IOCTL(IOCTL_EVTCHN_UNBIND);
    /* set_irq_level and the ioreq server's teardown are dm_ops. */
    ALLOW_IOCTL(IOCTL_PRIVCMD_DM_OP);
    if (c->gmem_mode == GMEM_GRANT) {
        /* Per-request grant maps; libxengnttab finds a mapping's index to unmap it. */
        ALLOW_IOCTL(IOCTL_GNTDEV_MAP_GRANT_REF);
        ALLOW_IOCTL(IOCTL_GNTDEV_UNMAP_GRANT_REF);
        ALLOW_IOCTL(IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR);
        ALLOW_IOCTL(IOCTL_GNTDEV_SET_UNMAP_NOTIFY);
        ALLOW_IOCTL(IOCTL_GNTDEV_GRANT_COPY);
        /* Not IOCTL_PRIVCMD_HYPERCALL, MMAP, MMAPBATCH, MMAPBATCH_V2: no guest RAM, ever. */
    } else if (c->gmem_mode == GMEM_FOREIGN) {
        /* The comparison mode maps guest frames per request: the exposure we measure. */
        ALLOW_IOCTL(IOCTL_PRIVCMD_MMAPBATCH_V2);
    }
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    return rc;
}

int vg_sandbox_enter(const struct vg_sandbox_cfg *c, struct xen_ioreq_srv *srv)
{
    int rc;
    if (c->mode == VG_SANDBOX_OFF) {
        vg_warn("sandbox off: the backend keeps root, its files and every syscall");
        return 0;
    }
    if ((rc = restrict_handles(srv)) < 0)
        return rc;
    /*
     * Seen on real Xen: xs_close cancels libxenstore's reader thread, and
     * glibc's pthread_cancel loads libgcc_s for unwinding on first use.
     * Load it now, while there is a root to load it from and open is allowed.
     */
    if (!dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE))
        vg_warn("preloading libgcc_s: %s", dlerror());
    if ((rc = enter_empty_root()) < 0) {
        vg_err("empty root: %s (the sandbox needs root to set up; --sandbox=off to debug)",
               strerror(-rc));
        return rc;
    }
    if ((rc = drop_ids(c->uid, c->gid)) < 0) {
        vg_err("dropping to uid %u gid %u: %s", (unsigned)c->uid, (unsigned)c->gid,
               strerror(-rc));
        return rc;
    }
    /* Nothing may regain privilege by exec, and no one may ptrace or read our memory. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
        vg_err("prctl: %s", strerror(errno));
        return -errno;
    }
    if ((rc = tighten_rlimits()) < 0) {
        vg_err("setrlimit: %s", strerror(-rc));
        return rc;
    }
    if ((rc = install_filter(c)) < 0) {
        vg_err("seccomp: %s", strerror(-rc));
        return rc;
    }
    vg_info("sandbox %s: uid %u gid %u, empty root, no new privs, seccomp allowlist (%s mode)",
            vg_sandbox_mode_name(c->mode), (unsigned)c->uid, (unsigned)c->gid,
            gmem_mode_name(c->gmem_mode));
    return 0;
}
