/* SPDX-License-Identifier: MIT */
/*
 * The guest's side of the lifecycle cases (issue 15), on its data disk (vda).
 *   vgtest=reboot: the first boot writes vgmib= MiB of the pattern from 1 MiB
 *     on, flushes, then marks sector 0 and says "VGTEST SYNC reboot-ready";
 *     dom0 then reboots the domain (xl reboot, a new domid). The next boot
 *     finds the mark and must read the data back.
 *   vgtest=busy: write and read the pattern in a loop until dom0 destroys the
 *     domain, saying "VGTEST SYNC busy" once the first MiB is through, so that
 *     requests are in flight when it does.
 *   vgtest=restart: for vgsecs= seconds, passes of: write vgmib= MiB of a
 *     pattern new to the pass, flush, read all of it back and check it; dom0
 *     kills the device process meanwhile.  Any I/O error or wrong byte fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vgtest.h"

#define DISK "/dev/vda"
#define DATA_BASE ((uint64_t)CHUNK) /* sector 0 holds the mark */
#define MARK_WORD 0x544f4f4245524756ull /* "VGREBOOT" */

/* The first word of sector 0: the mark, with the seed after it. */
static int read_mark(int fd, uint64_t *buf, uint64_t seed)
{
    if (pread(fd, buf, 4096, 0) != 4096)
        return -errno;
    return buf[0] == MARK_WORD && buf[1] == seed;
}

static int write_data(int fd, uint64_t *buf, uint64_t seed, unsigned mib)
{
    for (unsigned i = 0; i < mib; i++) {
        uint64_t off = DATA_BASE + (uint64_t)i * CHUNK;
        fill(buf, seed, off);
        if (pwrite(fd, buf, CHUNK, (off_t)off) != (ssize_t)CHUNK)
            return -errno;
    }
    return fsync(fd) < 0 ? -errno : 0;
}

/* 0 when all mib MiB hold the pattern; the wrong byte's offset + 1 if not. */
static long long verify_data(int fd, uint64_t *buf, uint64_t seed, unsigned mib)
{
    for (unsigned i = 0; i < mib; i++) {
        uint64_t off = DATA_BASE + (uint64_t)i * CHUNK;
        if (pread(fd, buf, CHUNK, (off_t)off) != (ssize_t)CHUNK)
            return -errno;
        long bad = check(buf, seed, off);
        if (bad >= 0)
            return (long long)(off + (uint64_t)bad * 8) + 1;
    }
    return 0;
}

void test_reboot(uint64_t seed, unsigned mib)
{
    uint64_t *buf;
    int fd = open_direct(DISK, "reboot-open", &buf);
    if (fd < 0)
        return;
    int marked = read_mark(fd, buf, seed);
    if (marked < 0) {
        fail("reboot-mark", "%s: %s", DISK, strerror(-marked));
    } else if (marked) {
        double t0 = now();
        long long bad = verify_data(fd, buf, seed, mib);
        if (bad == 0)
            pass("after-reboot", "%u MiB written before the reboot read back in %.2f s", mib,
                 now() - t0);
        else if (bad < 0)
            fail("after-reboot", "%s: %s", DISK, strerror((int)-bad));
        else
            fail("after-reboot", "wrong data at byte %lld", bad - 1);
    } else {
        int err = write_data(fd, buf, seed, mib);
        memset(buf, 0, 4096);
        buf[0] = MARK_WORD;
        buf[1] = seed;
        if (!err && (pwrite(fd, buf, 4096, 0) != 4096 || fsync(fd) < 0))
            err = -errno;
        if (err) {
            fail("before-reboot", "%s: %s", DISK, strerror(-err));
        } else {
            pass("before-reboot", "%u MiB written and flushed, sector 0 marked", mib);
            printf("VGTEST SYNC reboot-ready\n");
            /* dom0 reboots the domain; powering off here would be a failure. */
            sleep(600);
            fail("before-reboot", "no reboot came in 600 s");
        }
    }
    close(fd);
    free(buf);
}

void test_busy(uint64_t seed, unsigned mib)
{
    uint64_t *buf;
    int fd = open_direct(DISK, "busy-open", &buf);
    if (fd < 0)
        return;
    /* Until dom0 destroys the domain: a failure before that is a finding. */
    for (unsigned long i = 0;; i++) {
        uint64_t off = DATA_BASE + (uint64_t)(i % mib) * CHUNK;
        fill(buf, seed, off);
        if (pwrite(fd, buf, CHUNK, (off_t)off) != (ssize_t)CHUNK ||
            pread(fd, buf, CHUNK, (off_t)off) != (ssize_t)CHUNK) {
            fail("busy", "%s at %llu: %s", DISK, (unsigned long long)off, strerror(errno));
            break;
        }
        if (check(buf, seed, off) >= 0) {
            fail("busy", "%s: wrong data read back at %llu", DISK, (unsigned long long)off);
            break;
        }
        if (i == 0)
            printf("VGTEST SYNC busy\n");
    }
    close(fd);
    free(buf);
}

void test_restart(uint64_t seed, unsigned mib, unsigned secs)
{
    uint64_t *buf;
    int fd = open_direct(DISK, "restart-open", &buf);
    if (fd < 0)
        return;
    printf("VGTEST SYNC restart-io\n");
    double t0 = now();
    unsigned pass_no = 0;
    /* Each pass a new pattern: a write lost or served stale shows as the old one. */
    while (now() - t0 < secs) {
        uint64_t s = seed + 100 + pass_no;
        int err = write_data(fd, buf, s, mib);
        long long bad = err ? err : verify_data(fd, buf, s, mib);
        if (bad < 0) {
            fail("restart-io", "pass %u: %s: %s", pass_no, DISK, strerror((int)-bad));
            break;
        }
        if (bad > 0) {
            fail("restart-io", "pass %u: wrong data at byte %lld", pass_no, bad - 1);
            break;
        }
        pass_no++;
    }
    if (pass_no)
        pass("restart-io", "%u passes of %u MiB written, flushed, read back in %.0f s; "
             "last seed %llu", pass_no, mib, now() - t0,
             (unsigned long long)(seed + 100 + pass_no - 1));
    close(fd);
    free(buf);
}
