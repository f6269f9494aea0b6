/* SPDX-License-Identifier: MIT */
/*
 * Test-only: after the sandbox is in place, act as an attacker who already
 * runs code in the device process and attempt one thing, named by
 * $VG_PROBE_FORBIDDEN.  Under --sandbox=kill each must end the process with
 * SIGSYS before it returns; if it returns, the probe says so and exits 3 so
 * the test can tell "allowed" from "killed".  Two modes keep serving instead:
 * "stale" measures what a read's buffers hold before the device writes them,
 * "next-flag" plays a device that rewrites the descriptor table.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <liburing.h>

#include "aio/aio.h"
#include "common/log.h"
#include "devices/blk.h"
#include "ipc/devmsg.h"
#include "sandbox/probe.h"
#include "sandbox/sandbox.h"
#include "virtq/virtq.h"
#include "xen/ioreq.h"

#include <xen/hvm/dm_op.h>
#include <xen/sys/evtchn.h>
#include <xen/sys/privcmd.h>

/* What the forbidden call returned: 0 or more means it did something. */
static long attempt(const char *what, struct xen_ioreq_srv *srv)
{
    if (!strcmp(what, "foreign-map")) {
        /* The first page of guest RAM (Arm GUEST_RAM0_BASE), as a foreign mapping. */
        xen_pfn_t gfn = 0x40000;
        int err = 0;
        return xenforeignmemory_map(srv->fmem, srv->domid, PROT_READ, 1, &gfn, &err) ? 0 : -1;
    }
    if (!strcmp(what, "execve")) {
        char *const argv[] = { "/bin/sh", NULL };
        return execve("/bin/sh", argv, NULL);
    }
    if (!strcmp(what, "socket"))
        return socket(AF_INET, SOCK_STREAM, 0);
    if (!strcmp(what, "xenstore-socket")) {
        /* The xenstored socket: a new connection would need a socket first. */
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/run/xenstored/socket");
        return s < 0 ? s : connect(s, (struct sockaddr *)&sa, sizeof(sa));
    }
    if (!strcmp(what, "xenbus"))
        return open("/dev/xen/xenbus", O_RDWR);
    if (!strcmp(what, "open"))
        return open("/etc/passwd", O_RDONLY);
    if (!strcmp(what, "openat"))
        return openat(AT_FDCWD, "/etc/passwd", O_RDONLY);
    if (!strcmp(what, "stat")) {
        struct stat st;
        return stat("/etc/passwd", &st);
    }
    if (!strcmp(what, "exec-mmap")) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? -1 : 0;
    }
    if (!strcmp(what, "exec-mprotect")) {
        void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? -1 : mprotect(p, 4096, PROT_READ | PROT_EXEC);
    }
    if (!strcmp(what, "ioctl-high-bits")) {
        /* An allowed request with junk above the 32 bits the kernel reads. */
        unsigned long req = (1ul << 32) | (unsigned long)IOCTL_EVTCHN_NOTIFY;
        return ioctl(xen_ioreq_fd(srv), req, NULL);
    }
    if (!strcmp(what, "privcmd-hypercall"))
        return ioctl(xen_ioreq_fd(srv), IOCTL_PRIVCMD_HYPERCALL, NULL);
    if (!strcmp(what, "privcmd-mmap-resource"))
        return ioctl(xen_ioreq_fd(srv), IOCTL_PRIVCMD_MMAP_RESOURCE, NULL);
    if (!strcmp(what, "write-fd")) {
        const char *n = getenv("VG_PROBE_FD");
        return write(n ? atoi(n) : 0, "x", 1);
    }
    if (!strcmp(what, "fork"))
        return fork();
    if (!strcmp(what, "uring-setup")) {
        /* A fresh, unrestricted ring: io_uring_setup is not in the allowlist. */
        struct io_uring ring;
        return io_uring_queue_init(4, &ring, 0);
    }
    vg_err("probe: unknown class '%s'", what);
    _exit(4);
}

/*
 * io_uring operations never pass through seccomp, so the ring's own
 * restrictions must refuse what the filter would: each class puts one
 * operation on the device's ring and reads its completion.  -EACCES (exit 6)
 * is the restriction refusing it; anything else means the ring carried it
 * out (exit 3).  Outside the jail's filter only io_uring_enter on this ring.
 */
static void attempt_on_ring(const char *what, struct aio *aio, const struct vg_sandbox_fds *fds)
{
    static char buf[512];
    if (!aio || !aio->ring) {
        vg_err("probe: '%s' needs the io_uring engine", what);
        _exit(4);
    }
    struct io_uring_sqe *sqe = io_uring_get_sqe(aio->ring);
    if (!sqe)
        _exit(4);
    if (!strcmp(what, "uring-openat")) {
        io_uring_prep_openat(sqe, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
    } else if (!strcmp(what, "uring-socket")) {
        io_uring_prep_socket(sqe, AF_INET, SOCK_STREAM, 0, 0);
    } else if (!strcmp(what, "uring-unfixed-read")) {
        /* An allowed operation on a plain fd (the image's own): registered files only. */
        io_uring_prep_read(sqe, fds->image, buf, sizeof(buf), 0);
    } else if (!strcmp(what, "uring-fixed-openat")) {
        io_uring_prep_openat(sqe, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
        sqe->flags |= IOSQE_FIXED_FILE;
    } else {
        vg_err("probe: unknown class '%s'", what);
        _exit(4);
    }
    struct io_uring_cqe *cqe;
    int rc = io_uring_submit(aio->ring);
    if (rc >= 0)
        rc = io_uring_wait_cqe(aio->ring, &cqe);
    if (rc < 0) {
        vg_err("probe: '%s': the ring failed: %s", what, strerror(-rc));
        _exit(4);
    }
    int res = cqe->res;
    vg_warn("probe: io_uring '%s' completed with %d (%s)", what, res,
            res < 0 ? strerror(-res) : "success");
    /* The raw exit_group: ASan's _exit() first calls sigaltstack, which the jail kills. */
    syscall(SYS_exit_group, res == -EACCES ? 6 : 3);
    _exit(3);
}

/*
 * What seccomp cannot forbid in dom0, measured from inside the jail: a gntdev
 * map names its domid inside a struct the filter cannot read, and a DM_OP's
 * sub-op too.  Each line starts RESIDUAL so the tests and the e2e can collect
 * them; the process then exits 3 (not killed: nothing here is filtered).
 */
static void measure_residual(struct xen_ioreq_srv *srv, xengnttab_handle *gnt)
{
    const char *dom = getenv("VG_PROBE_DOMID"), *refs = getenv("VG_PROBE_REFS");
    uint32_t target = dom ? (uint32_t)strtoul(dom, NULL, 0) : srv->domid;
    char list[64];
    snprintf(list, sizeof(list), "%s", refs ? refs : "0,1");
    for (char *save, *r = strtok_r(list, ",", &save); gnt && r; r = strtok_r(NULL, ",", &save)) {
        uint32_t ref = (uint32_t)strtoul(r, NULL, 0);
        unsigned char *p = xengnttab_map_grant_ref(gnt, target, ref, PROT_READ);
        if (p) {
            unsigned nz = 0;
            for (unsigned i = 0; i < 4096; i++)
                nz += p[i] != 0;
            vg_warn("RESIDUAL gntdev-map dom%u ref %u: mapped from the jail (%u non-zero bytes)",
                    target, ref, nz);
            xengnttab_unmap(gnt, p, 1);
        } else {
            vg_warn("RESIDUAL gntdev-map dom%u ref %u: refused (%s)", target, ref,
                    strerror(errno));
        }
    }
    /*
     * A DM op naming a domain that does not exist, on every fd held: a
     * restricted privcmd fd says EPERM, a fd that is not privcmd ENOTTY or
     * EINVAL; anything else (ESRCH) means the call reached Xen unrestricted.
     */
    unsigned restricted = 0, other = 0, reached = 0;
    for (int fd = 3; fd < 64; fd++) {
        struct xen_dm_op op = { .op = XEN_DMOP_nr_vcpus };
        privcmd_dm_op_buf_t buf = { .uptr = &op, .size = sizeof(op) };
        privcmd_dm_op_t dm = { .dom = 0x7000, .num = 1, .ubufs = &buf };
        if (ioctl(fd, IOCTL_PRIVCMD_DM_OP, &dm) == 0 || errno == ESRCH) {
            reached++;
            vg_warn("RESIDUAL dm-op to dom0x7000 through fd %d reached Xen (%s)", fd,
                    strerror(errno));
        } else if (errno == EPERM) {
            restricted++;
        } else if (errno != EBADF) {
            other++;
        }
    }
    vg_warn("RESIDUAL dm-op to another domain: %u fds restricted (EPERM), %u not privcmd, "
            "%u reached Xen", restricted, other, reached);
    ioservid_t id;
    if (xendevicemodel_create_ioreq_server(srv->dm, srv->domid, HVM_IOREQSRV_BUFIOREQ_OFF,
                                           &id) == 0) {
        vg_warn("RESIDUAL dm-op create_ioreq_server dom%u: a second ioreq server (id %u) "
                "from the jail", srv->domid, (unsigned)id);
        xendevicemodel_destroy_ioreq_server(srv->dm, srv->domid, id);
    } else {
        vg_warn("RESIDUAL dm-op create_ioreq_server dom%u: refused (%s)", srv->domid,
                strerror(errno));
    }
}

/*
 * "stale": not an attack but a measurement.  A backend sees a read's guest
 * buffers before it fills them; whatever non-zero bytes they hold there are
 * guest data the guest did not mean to send (with in-place grants, the
 * destination's old contents; with a bounce pool, what the pool put there).
 */
static uint64_t stale_nonzero, stale_checked;

/* Non-zero bytes of a word: a zero byte alone gets its high bit set in z. */
static unsigned nonzero_bytes(uint64_t w)
{
    const uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
    uint64_t z = ~(((w & low7) + low7) | w | low7);
    return 8u - (unsigned)__builtin_popcountll(z);
}

/* Word at a time: the read path is timed beside the other cases. */
static void count_stale(const struct iovec *iov, int iovcnt)
{
    for (int i = 0; i < iovcnt; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t n = iov[i].iov_len, k = 0;
        for (; k + 8 <= n; k += 8) {
            uint64_t w;
            memcpy(&w, p + k, 8);
            stale_nonzero += w ? nonzero_bytes(w) : 0;
        }
        for (; k < n; k++)
            stale_nonzero += p[k] != 0;
        stale_checked += n;
    }
}

static void report_stale(void)
{
    vg_warn("STALE %llu of %llu bytes non-zero in device-writable buffers before the device "
            "wrote them",
            (unsigned long long)stale_nonzero, (unsigned long long)stale_checked);
}

/*
 * "next-flag": a hostile device that, before publishing each used entry, sets
 * VRING_DESC_F_NEXT on the last descriptor of the chain in the shared table
 * (through its own writable mapping of the ring's grants).  A driver that
 * follows the table's flags when it frees the chain walks on into
 * descriptors still in flight; one that follows its own copy does not.
 */
static xengnttab_handle *tamper_gnt;
static uint16_t tamper_domid;
static uint64_t tampered, tamper_failed, tamper_seen;

static void set_next_on_last(const struct virtq *vq, uint16_t head)
{
    const uint64_t grant_bit = 1ull << 63;
    size_t off = vq->desc_addr & 4095, bytes = 16u * vq->size;
    uint32_t refs[2], pages = (uint32_t)((off + bytes + 4095) / 4096);
    tamper_seen++;
    if (!(vq->desc_addr & grant_bit) || pages > 2 || head >= vq->size) {
        tamper_failed++;
        return;
    }
    for (uint32_t i = 0; i < pages; i++)
        refs[i] = (uint32_t)((vq->desc_addr & ~grant_bit) >> 12) + i;
    uint8_t *map = xengnttab_map_domain_grant_refs(tamper_gnt, pages, tamper_domid, refs,
                                                   PROT_READ | PROT_WRITE);
    if (!map) {
        tamper_failed++;
        return;
    }
    uint8_t *table = map + off;
    uint16_t i = head, flags = 0, next;
    for (unsigned n = 0; n < vq->size; n++) {
        memcpy(&flags, table + 16u * i + 12, 2);
        if (!(le16toh(flags) & VRING_DESC_F_NEXT))
            break;
        memcpy(&next, table + 16u * i + 14, 2);
        i = le16toh(next) % vq->size;
    }
    flags = htole16((uint16_t)(le16toh(flags) | VRING_DESC_F_NEXT));
    memcpy(table + 16u * i + 12, &flags, 2);
    tampered++;
    xengnttab_unmap(tamper_gnt, map, pages);
}

static void report_tamper(void)
{
    vg_warn("TAMPER NEXT set on the last descriptor of %llu of %llu completed chains "
            "(%llu not reachable)",
            (unsigned long long)tampered, (unsigned long long)tamper_seen,
            (unsigned long long)tamper_failed);
}

void vg_sandbox_probe(struct xen_ioreq_srv *srv, xengnttab_handle *gnt,
                      const struct vg_sandbox_fds *fds, struct aio *aio)
{
    const char *what = getenv("VG_PROBE_FORBIDDEN");
    if (!what || !*what)
        return;
    if (!strcmp(what, "stale")) {
        blk_read_dest_hook = count_stale;
        atexit(report_stale);
        return;
    }
    if (!strcmp(what, "next-flag") && gnt) {
        tamper_gnt = gnt;
        tamper_domid = srv->domid;
        vq_before_used_hook = set_next_on_last;
        atexit(report_tamper);
        return;
    }
    if (!strcmp(what, "residual")) {
        measure_residual(srv, gnt);
        _exit(3);
    }
    /* A compromised device turning on its launcher: forged log lines, floods, stray fds. */
    if (!strcmp(what, "forge-log")) {
        static const char forged[] = "virtio-grant[watch]: info: dom7 device 51712: ready "
                                     "(InitWait)\nvirtio-grant[watch]: warn: forged\x1b[2J\n";
        if (write(2, forged, sizeof(forged) - 1) < 0)
            _exit(5);
        _exit(3);
    }
    if (!strcmp(what, "ignore-close")) {
        /* A device that never stops when told: only the launcher's deadline ends it. */
        vg_warn("probe: ignoring CLOSE");
        for (;;)
            poll(NULL, 0, -1);
    }
    if (!strcmp(what, "flood-launcher") || !strcmp(what, "fd-to-launcher") ||
        !strcmp(what, "stats-unasked")) {
        /* stats-unasked: counters nobody asked for, which could otherwise flood */
        struct devmsg m = { .type = what[0] == 's' ? DEVMSG_STATS : DEVMSG_DOWN,
                            .stats = { .chains = 1 } };
        if (m.type == DEVMSG_DOWN)
            m.stats.chains = 0;
        bool fd = what[0] == 'f' && what[1] == 'd';
        for (int i = 0; i < (fd ? 1 : 100000); i++)
            if (devmsg_send(fds->control, &m, fd ? fds->image : -1) < 0)
                break;
        vg_warn("probe: '%s' sent; waiting for the launcher", what);
        for (;;)
            poll(NULL, 0, -1);
    }
    if (!strncmp(what, "uring-", 6) && strcmp(what, "uring-setup") != 0 &&
        strcmp(what, "uring-register") != 0)
        attempt_on_ring(what, aio, fds);
    if (!strcmp(what, "uring-register") && aio && aio->ring) {
        /* Registering another file: io_uring_register is not in the allowlist either. */
        vg_warn("probe: attempting forbidden '%s'", what);
        int fd = 0;
        long r = io_uring_register_files_update(aio->ring, 0, &fd, 1);
        vg_err("probe: forbidden '%s' returned %ld: not killed", what, r);
        _exit(3);
    }
    vg_warn("probe: attempting forbidden '%s'", what);
    long r = attempt(what, srv);
    vg_err("probe: forbidden '%s' returned %ld (%s): not killed", what, r,
           r < 0 ? strerror(errno) : "success");
    _exit(3);
}
