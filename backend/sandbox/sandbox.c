/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "sandbox/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xentoolcore.h>

#include "common/log.h"
#include "sandbox/rules.h"
#include "xen/ioreq.h"

const char *vg_sandbox_mode_name(enum vg_sandbox_mode m)
{
    return m == VG_SANDBOX_KILL ? "kill" : m == VG_SANDBOX_LOG ? "log" : "off";
}

void vg_close_fds_except(int keep)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int self = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        int fd = atoi(de->d_name);
        if (fd > 2 && fd != self && fd != keep)
            close(fd);
    }
    closedir(d);
}

/*
 * Every Xen handle open so far is pinned to the guest: the device-model,
 * foreign-memory and event-channel handles by their own restriction, and
 * every handle that cannot be restricted (libxencall's privcmd and hypercall
 * fds inside libxendevicemodel) made useless.  xentoolcore_restrict_all
 * would do the same to a gnttab handle, so grant mode opens that one after
 * this.  Restriction pins the domid only: privcmd could still foreign-map
 * this guest's RAM, which the seccomp filter forbids in grant mode.
 */
int vg_sandbox_restrict_xen(const struct vg_sandbox_cfg *c, uint16_t domid)
{
    if (c->mode == VG_SANDBOX_OFF)
        return 0;
    if (xentoolcore_restrict_all(domid) < 0) {
        vg_err("xentoolcore_restrict_all(dom%u): %s", domid, strerror(errno));
        return -errno;
    }
    return 0;
}

/*
 * Every file the backend needs is open; from now on it sees an empty,
 * read-only tmpfs as its root, in a mount namespace of its own, so neither a
 * path nor a mount of the host is reachable.
 *
 * The namespace starts as a copy of the host's mounts.  Kept, those copies
 * would pin every host filesystem for as long as the device runs (an
 * operator's umount would return, yet the filesystem stay alive here), so
 * the empty root is pivoted in and the old tree detached: the namespace then
 * holds the empty root alone.  An initramfs root (rootfs) cannot be pivoted
 * away from (EINVAL, as under an earlier chroot): there the device chroots,
 * and its mounts follow the host's where the host shares them (MS_SLAVE).
 */
static int enter_empty_root(void)
{
    mkdir("/run/virtio-grant", 0755);
    if (mkdir(VG_SANDBOX_EMPTY_ROOT, 0755) < 0 && errno != EEXIST)
        return -errno;
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
        mount("vg-empty", VG_SANDBOX_EMPTY_ROOT, "tmpfs",
              MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=1,mode=0555") < 0 ||
        chdir(VG_SANDBOX_EMPTY_ROOT) < 0)
        return -errno;
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
        /* The old root now sits on top of ".": detach it, and every mount under it. */
        if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
            return -errno;
        return 0;
    }
    if (errno != EINVAL)
        return -errno;
    if (chroot(".") < 0 || chdir("/") < 0)
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

/* The highest fd open; read before the empty root hides /proc. */
static int highest_fd(void)
{
    int maxfd = 2;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -errno;
    int self = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d)))
        if (atoi(de->d_name) > maxfd && atoi(de->d_name) != self)
            maxfd = atoi(de->d_name);
    closedir(d);
    return maxfd;
}

/*
 * No core file can leak guest data; no fd can be opened beyond what is open
 * now.  (poll() also refuses more entries than RLIMIT_NOFILE, so the limit
 * must cover every fd the event loop watches.)
 */
static int tighten_rlimits(int maxfd)
{
    struct rlimit zero = { 0, 0 };
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

static int add_rule(scmp_filter_ctx ctx, uint32_t action, const struct vg_rule *r,
                    const struct vg_sandbox_fds *fds)
{
    int nr = seccomp_syscall_resolve_name(r->syscall);
    if (nr == __NR_SCMP_ERROR) {
        vg_err("seccomp: no system call '%s' on this architecture", r->syscall);
        return -EINVAL;
    }
    switch (r->cond) {
    case VG_COND_NONE:
        return seccomp_rule_add(ctx, action, nr, 0);
    case VG_COND_FD: {
        int fd = vg_rule_fd_value(r, fds);
        if (fd < 0)
            return 0; /* this process holds no such fd: nothing to allow */
        return seccomp_rule_add(ctx, action, nr, 1, ARG_EQ(0, fd));
    }
    case VG_COND_NO_EXEC:
        return seccomp_rule_add(ctx, action, nr, 1, ARG_MASKED_EQ(2, PROT_EXEC, 0));
    case VG_COND_IOCTL:
        /* All 64 bits: a request with junk above the 32 the kernel reads is refused. */
        return seccomp_rule_add(ctx, action, nr, 1, ARG_EQ(1, r->ioctl));
    }
    return -EINVAL;
}

static int install_filter(const struct vg_sandbox_cfg *c, const struct xen_ioreq_srv *srv,
                          const struct vg_sandbox_fds *fds)
{
    scmp_filter_ctx ctx =
        seccomp_init(c->mode == VG_SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        return -ENOMEM;
    struct vg_rule rules[VG_MAX_RULES];
    size_t n = vg_sandbox_rules(c->gmem_mode, c->aio_engine, srv, rules, VG_MAX_RULES);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = add_rule(ctx, SCMP_ACT_ALLOW, &rules[i], fds);
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    return rc;
}

/* The filter and the empty root hold for the calling thread only: there must be no other. */
static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -errno;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

int vg_sandbox_enter(const struct vg_sandbox_cfg *c, struct xen_ioreq_srv *srv,
                     const struct vg_sandbox_fds *fds)
{
    int rc;
    if (c->mode == VG_SANDBOX_OFF) {
        vg_warn("sandbox off: the backend keeps root, its files and every syscall");
        return 0;
    }
    int threads = count_threads();
    if (threads != 1) {
        vg_err("the device process has %d threads: the jail would cover only one", threads);
        return threads < 0 ? threads : -EPERM;
    }
    int maxfd = highest_fd();
    if (maxfd < 0) {
        vg_err("/proc/self/fd: %s", strerror(-maxfd));
        return maxfd;
    }
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
    if ((rc = tighten_rlimits(maxfd)) < 0) {
        vg_err("setrlimit: %s", strerror(-rc));
        return rc;
    }
    if ((rc = install_filter(c, srv, fds)) < 0) {
        vg_err("seccomp: %s", strerror(-rc));
        return rc;
    }
    vg_info("sandbox %s: uid %u gid %u, empty root, no new privs, seccomp allowlist (%s mode, "
            "%s image I/O)",
            vg_sandbox_mode_name(c->mode), (unsigned)c->uid, (unsigned)c->gid,
            gmem_mode_name(c->gmem_mode), aio_engine_name(c->aio_engine));
    return 0;
}
