/* SPDX-License-Identifier: MIT */
/*
 * The e2e block test, one static arm64 binary with two roles:
 *   as the domU's /init: mount /dev, run the test named by vgtest= on the
 *     kernel command line (rw; rebind, in rebind.c; reboot, busy and
 *     restart, in lifecycle.c; pool-outside, in pool_outside.c; idle), print
 *     "VGTEST PASS|FAIL <step> ..." lines on the console, power off (after
 *     vghold= seconds); with vgiommu=D, first check that the device tree
 *     links every virtio device to backend domain D;
 *   in dom0: `vg-e2e-blk verify FILE SEED MIB` checks that the image holds the
 *     pattern the guest wrote, i.e. the data really went through the backend;
 *     `vg-e2e-blk zero FILE MIB` checks an image was left untouched.
 * The pattern is a hash of (seed, byte offset / 8) so every block differs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/reboot.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vgtest.h"

static int failures;

uint64_t pattern_word(uint64_t seed, uint64_t index)
{
    uint64_t z = seed + (index + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void fill(uint64_t *buf, uint64_t seed, uint64_t off)
{
    for (size_t i = 0; i < CHUNK / 8; i++)
        buf[i] = pattern_word(seed, off / 8 + i);
}

/* Index of the first wrong word, or -1. */
long check(const uint64_t *buf, uint64_t seed, uint64_t off)
{
    for (size_t i = 0; i < CHUNK / 8; i++)
        if (buf[i] != pattern_word(seed, off / 8 + i))
            return (long)i;
    return -1;
}

double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void pass(const char *step, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("VGTEST PASS %s %s\n", step, msg);
    fflush(stdout);
}

void fail(const char *step, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("VGTEST FAIL %s: %s\n", step, msg);
    fflush(stdout);
    failures++;
}

uint64_t *alloc_chunk(void)
{
    void *p = NULL;
    if (posix_memalign(&p, 4096, CHUNK))
        return NULL;
    return p;
}

int open_direct(const char *dev, const char *step, uint64_t **buf)
{
    *buf = alloc_chunk();
    int fd = *buf ? open(dev, O_RDWR | O_DIRECT) : -1;
    if (fd < 0) {
        fail(step, "%s: %s", dev, *buf ? strerror(errno) : "no memory for a buffer");
        free(*buf);
    }
    return fd;
}

/* Write MIB MiB of pattern with O_DIRECT, flush, read back and verify. */
void test_rw(const char *dev, uint64_t seed, unsigned mib)
{
    uint64_t *buf;
    int fd = open_direct(dev, "rw-open", &buf);
    if (fd < 0)
        return;
    uint64_t size = 0;
    if (ioctl(fd, BLKGETSIZE64, &size) < 0 || size < (uint64_t)mib * CHUNK) {
        fail("rw-size", "%s: %llu bytes, need %u MiB", dev, (unsigned long long)size, mib);
        goto out;
    }
    double t0 = now();
    for (unsigned i = 0; i < mib; i++) {
        uint64_t off = (uint64_t)i * CHUNK;
        fill(buf, seed, off);
        if (pwrite(fd, buf, CHUNK, (off_t)off) != (ssize_t)CHUNK) {
            fail("write", "%s at %llu: %s", dev, (unsigned long long)off, strerror(errno));
            goto out;
        }
    }
    double t1 = now();
    if (fsync(fd) < 0) { /* virtio-blk FLUSH */
        fail("flush", "%s: %s", dev, strerror(errno));
        goto out;
    }
    double t2 = now();
    pass("write", "%u MiB in %.2f s: %.2f MB/s", mib, t1 - t0, mib * 1.048576 / (t1 - t0));
    pass("flush", "in %.3f s", t2 - t1);
    double rt = 0;
    for (unsigned i = 0; i < mib; i++) {
        uint64_t off = (uint64_t)i * CHUNK;
        /*
         * A known non-zero destination: what a backend sees in it before
         * the device writes is then measurable (the probe twin's STALE
         * count): the pattern with in-place grants, zeroes from a pool.
         */
        memset(buf, 0xa5, CHUNK);
        double r0 = now();
        if (pread(fd, buf, CHUNK, (off_t)off) != (ssize_t)CHUNK) {
            fail("read", "%s at %llu: %s", dev, (unsigned long long)off, strerror(errno));
            goto out;
        }
        rt += now() - r0;
        long bad = check(buf, seed, off);
        if (bad >= 0) {
            fail("verify", "%s: wrong data at byte %llu", dev,
                 (unsigned long long)(off + (uint64_t)bad * 8));
            goto out;
        }
    }
    pass("read", "%u MiB in %.2f s: %.2f MB/s", mib, rt, mib * 1.048576 / rt);
    pass("verify", "%u MiB match", mib);
out:
    close(fd);
    free(buf);
}

/*
 * A read-only device (libxl access=ro, so the backend offers VIRTIO_BLK_F_RO):
 * its data reads back, and a write fails in the guest, which honours the
 * feature (Linux 6.1 refuses the write itself, so it never reaches the
 * device; the device-side refusal is tested on the simulator).  dom0 checks
 * afterwards that the image did not change.
 */
static void test_ro(const char *dev, uint64_t seed)
{
    uint64_t *buf = alloc_chunk();
    int fd = open(dev, O_RDONLY | O_DIRECT);
    if (!buf || fd < 0) {
        fail("ro-read", "%s: %s", dev, strerror(errno));
        goto out;
    }
    int ro = 0;
    if (ioctl(fd, BLKROGET, &ro) < 0 || !ro)
        fail("ro-flag", "%s: the guest does not see the device as read-only", dev);
    else
        pass("ro-flag", "%s is read-only in the guest", dev);
    if (pread(fd, buf, CHUNK, 0) != (ssize_t)CHUNK || check(buf, seed, 0) >= 0) {
        fail("ro-read", "%s: first MiB not the expected pattern", dev);
        goto out;
    }
    pass("ro-read", "first MiB matches");
    close(fd);
    fd = open(dev, O_RDWR | O_DIRECT);
    memset(buf, 0xa5, 4096);
    if (fd >= 0 && pwrite(fd, buf, 4096, 0) >= 0)
        fail("ro-write", "a write to %s succeeded", dev);
    else
        pass("ro-write", "refused: %s", strerror(errno));
    if (fd >= 0)
        close(fd);
    fd = open(dev, O_RDONLY | O_DIRECT);
    if (fd < 0 || pread(fd, buf, CHUNK, 0) != (ssize_t)CHUNK || check(buf, seed, 0) >= 0)
        fail("ro-intact", "data changed");
    else
        pass("ro-intact", "first MiB unchanged");
out:
    if (fd >= 0)
        close(fd);
    free(buf);
}

static const char *cmdline_arg(const char *cmdline, const char *key, char *val, size_t n)
{
    const char *p = strstr(cmdline, key);
    if (!p)
        return NULL;
    p += strlen(key);
    size_t i = 0;
    while (p[i] && p[i] != ' ' && p[i] != '\n' && i + 1 < n) {
        val[i] = p[i];
        i++;
    }
    val[i] = 0;
    return val;
}

/* virtio0 is vda: its feature string has one character per bit. */
static void read_features(char *feat, size_t n)
{
    int fd = open("/sys/bus/virtio/devices/virtio0/features", O_RDONLY);
    ssize_t got = fd >= 0 ? read(fd, feat, n - 1) : -1;
    if (fd >= 0)
        close(fd);
    feat[got > 0 ? got : 0] = 0;
}

/*
 * VIRTIO_F_GRANT_ADDRESSING (bit 44, the draft's placeholder): the patched
 * series accepts it from a device in a grant mode; a stock or v1 kernel, or
 * a device that does not offer it, leaves it clear (vgga= says which).
 */
static void check_grant_addressing(int want)
{
    char feat[80];
    read_features(feat, sizeof(feat));
    int got = strlen(feat) > 44 && feat[44] == '1';
    if (got && (feat[32] != '1' || feat[33] != '1'))
        /* spec: GRT-DRV-FEAT-1 */
        fail("grant-addressing", "VIRTIO_F_GRANT_ADDRESSING without VERSION_1 and "
                                 "ACCESS_PLATFORM (features %s)", feat);
    else if (got == want)
        pass("grant-addressing", "virtio0 %s VIRTIO_F_GRANT_ADDRESSING (features %s)",
             got ? "negotiated" : "did not negotiate", feat);
    else
        fail("grant-addressing", "virtio0 %s VIRTIO_F_GRANT_ADDRESSING, want %s (features %s)",
             got ? "negotiated" : "did not negotiate", want ? "it" : "not", feat);
}

/*
 * What each grant-DMA device exposed to its backend (the frontend series'
 * debugfs counters), as INFO lines, and that its ring's device-read pages are
 * granted read-only; with a pool (xen.grant_dma_pool_pages=
 * on the command line) also check the pool is in use and that the device
 * negotiated VIRTIO_F_GRANT_POOL (bit 45).
 */
static void report_exposure(int pool_expected, int ring_ro_expected)
{
    const char *dir = "/sys/kernel/debug/xen-grant-dma";
    mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
    DIR *d = opendir(dir);
    if (!d) {
        fail("exposure", "no %s (frontend series not applied?)", dir);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        /* "total" is all devices together (rebind.c reads it) */
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "total"))
            continue;
        char path[320], text[1024], line[1024] = "";
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        int fd = open(path, O_RDONLY);
        ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
        if (fd >= 0)
            close(fd);
        text[n > 0 ? n : 0] = 0;
        long pool = 0, ring_ro = 0;
        for (char *tok = strtok(text, "\n"); tok; tok = strtok(NULL, "\n")) {
            char key[64];
            long val;
            if (sscanf(tok, "%63[^:]: %ld", key, &val) == 2) {
                snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s=%ld", key, val);
                if (!strcmp(key, "pool_pages"))
                    pool = val;
                if (!strcmp(key, "ring_pages_readonly"))
                    ring_ro = val;
            }
        }
        printf("VGTEST INFO exposure %s%s\n", de->d_name, line);
        /*
         * The descriptor table and available ring fill whole pages the device
         * only reads: read-only with xen.grant_dma_ring_ro=1, else (the
         * default) read-write like the rest.
         */
        if (ring_ro_expected && ring_ro > 0)
            /* spec: GRT-DRV-ACC-1 */
            pass("ring-ro", "%s: %ld ring pages granted read-only", de->d_name, ring_ro);
        else if (ring_ro_expected)
            fail("ring-ro", "%s: the whole ring is granted read-write", de->d_name);
        else if (ring_ro == 0)
            pass("ring-rw", "%s: rings read-write by default", de->d_name);
        else
            fail("ring-rw", "%s: %ld ring pages read-only without asking", de->d_name, ring_ro);
        if (pool_expected && pool <= 0)
            fail("pool-active", "%s has no bounce pool", de->d_name);
        else if (pool_expected)
            pass("pool-active", "%s bounces through %ld granted pages", de->d_name, pool);
    }
    closedir(d);
    if (!pool_expected)
        return;
    char feat[80];
    read_features(feat, sizeof(feat));
    if (strlen(feat) > 45 && feat[45] == '1')
        pass("pool-feature", "virtio0 negotiated VIRTIO_F_GRANT_POOL");
    else
        fail("pool-feature", "virtio0 did not negotiate VIRTIO_F_GRANT_POOL (features %s)", feat);
}

/* A device-tree property of up to n bytes; its length, or -1. */
static ssize_t dt_prop(const char *node, const char *prop, void *buf, size_t n)
{
    char path[320];
    snprintf(path, sizeof(path), "/sys/firmware/devicetree/base/%s/%s", node, prop);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t len = read(fd, buf, n);
    close(fd);
    return len;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * What makes an unpatched kernel use grants: libxl gives each virtio device
 * whose backend is not dom0 an "iommus = <&xen-grant-dma BACKEND>" link.
 * Every virtio@ node must carry one naming @want, through a node whose
 * compatible is "xen,grant-dma".
 */
static void check_iommus(unsigned want)
{
    DIR *d = opendir("/sys/firmware/devicetree/base");
    if (!d) {
        fail("iommus", "no /sys/firmware/devicetree/base");
        return;
    }
    uint32_t grant_dma = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char compat[64] = "";
        unsigned char ph[4];
        if (dt_prop(de->d_name, "compatible", compat, sizeof(compat) - 1) > 0 &&
            !strcmp(compat, "xen,grant-dma") && dt_prop(de->d_name, "phandle", ph, 4) == 4)
            grant_dma = be32(ph);
    }
    rewinddir(d);
    int n = 0;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "virtio@", 7))
            continue;
        unsigned char cells[8];
        n++;
        if (dt_prop(de->d_name, "iommus", cells, sizeof(cells)) != 8)
            fail("iommus", "%s has no iommus link", de->d_name);
        else if (!grant_dma || be32(cells) != grant_dma || be32(cells + 4) != want)
            fail("iommus", "%s links to <0x%x %u>, want <xen,grant-dma 0x%x, %u>", de->d_name,
                 be32(cells), be32(cells + 4), grant_dma, want);
        else
            pass("iommus", "%s: iommus = <&xen,grant-dma %u>", de->d_name, want);
    }
    closedir(d);
    if (!n)
        fail("iommus", "no virtio@ node in the device tree");
}

static int guest_main(void)
{
    mkdir("/dev", 0755);
    mkdir("/proc", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    mount("proc", "/proc", "proc", 0, NULL);
    mkdir("/sys", 0755);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    /* The initramfs has no /dev/console, so the kernel gave us no stdio. */
    int con = open("/dev/console", O_RDWR);
    if (con >= 0) {
        dup2(con, 0);
        dup2(con, 1);
        dup2(con, 2);
        if (con > 2)
            close(con);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    char cmdline[1024] = "", test[32] = "rw", mib[16] = "64", seed[24] = "1", iommu[8] = "",
         hold[8] = "0";
    int fd = open("/proc/cmdline", O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
        cmdline[n > 0 ? n : 0] = 0;
        close(fd);
    }
    cmdline_arg(cmdline, "vgtest=", test, sizeof(test));
    cmdline_arg(cmdline, "vgmib=", mib, sizeof(mib));
    cmdline_arg(cmdline, "vgseed=", seed, sizeof(seed));
    cmdline_arg(cmdline, "vghold=", hold, sizeof(hold));
    printf("VGTEST START %s mib=%s seed=%s\n", test, mib, seed);
    if (cmdline_arg(cmdline, "vgiommu=", iommu, sizeof(iommu)))
        check_iommus((unsigned)atoi(iommu));
    uint64_t s = strtoull(seed, NULL, 0);
    if (!strcmp(test, "rw")) {
        test_rw("/dev/vda", s, (unsigned)atoi(mib));
        test_ro("/dev/vdb", s + 1);
        char ga[4];
        if (cmdline_arg(cmdline, "vgga=", ga, sizeof(ga)))
            check_grant_addressing(atoi(ga));
        if (strstr(cmdline, "xen.grant_dma_backend_domid=") ||
            strstr(cmdline, "xen.grant_dma_pool_pages="))
            report_exposure(strstr(cmdline, "xen.grant_dma_pool_pages=") != NULL,
                            strstr(cmdline, "xen.grant_dma_ring_ro=1") != NULL);
    } else if (!strcmp(test, "rebind")) {
        char cycles[8] = "100";
        cmdline_arg(cmdline, "vgcycles=", cycles, sizeof(cycles));
        test_rebind(s, (unsigned)atoi(cycles), 20, (unsigned)atoi(mib));
    } else if (!strcmp(test, "reboot")) {
        test_reboot(s, (unsigned)atoi(mib));
    } else if (!strcmp(test, "busy")) {
        test_busy(s, (unsigned)atoi(mib));
    } else if (!strcmp(test, "restart")) {
        char secs[8] = "60";
        cmdline_arg(cmdline, "vgsecs=", secs, sizeof(secs));
        test_restart(s, (unsigned)atoi(mib), (unsigned)atoi(secs));
    } else if (!strcmp(test, "pool-outside")) {
        char backend[8] = "0";
        cmdline_arg(cmdline, "vgbackend=", backend, sizeof(backend));
        test_pool_outside(s, (unsigned)atoi(backend));
    } else if (strcmp(test, "idle") != 0) { /* idle: a bystander domain, vghold= long */
        fail("args", "unknown vgtest=%s", test);
    }
    printf("VGTEST DONE failures=%d\n", failures);
    sleep((unsigned)atoi(hold)); /* while the host probes what else it can reach */
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}

/* dom0 side: does FILE hold the pattern (or zeroes) for its first MIB MiB? */
static int verify_file(const char *path, uint64_t seed, unsigned mib, int zero)
{
    uint64_t *buf = alloc_chunk();
    int fd = open(path, O_RDONLY);
    if (!buf || fd < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    for (unsigned i = 0; i < mib; i++) {
        uint64_t off = (uint64_t)i * CHUNK;
        if (pread(fd, buf, CHUNK, (off_t)off) != (ssize_t)CHUNK) {
            fprintf(stderr, "%s: short read at %llu\n", path, (unsigned long long)off);
            return 1;
        }
        for (size_t w = 0; w < CHUNK / 8; w++) {
            uint64_t want = zero ? 0 : pattern_word(seed, off / 8 + w);
            if (buf[w] != want) {
                fprintf(stderr, "%s: unexpected data at byte %llu\n", path,
                        (unsigned long long)(off + w * 8));
                return 1;
            }
        }
    }
    close(fd);
    free(buf);
    return 0;
}

/* dom0 side: write the pattern (the read-only disk's known contents). */
static int fill_file(const char *path, uint64_t seed, unsigned mib)
{
    uint64_t *buf = alloc_chunk();
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    if (!buf || fd < 0)
        return 1;
    for (unsigned i = 0; i < mib; i++) {
        fill(buf, seed, (uint64_t)i * CHUNK);
        if (pwrite(fd, buf, CHUNK, (off_t)i * CHUNK) != (ssize_t)CHUNK)
            return 1;
    }
    return close(fd) < 0;
}

int main(int argc, char **argv)
{
    if (getpid() == 1)
        return guest_main();
    if (argc == 5 && !strcmp(argv[1], "verify"))
        return verify_file(argv[2], strtoull(argv[3], NULL, 0), (unsigned)atoi(argv[4]), 0);
    if (argc == 5 && !strcmp(argv[1], "fill"))
        return fill_file(argv[2], strtoull(argv[3], NULL, 0), (unsigned)atoi(argv[4]));
    if (argc == 4 && !strcmp(argv[1], "zero"))
        return verify_file(argv[2], 0, (unsigned)atoi(argv[3]), 1);
    fprintf(stderr, "usage: vg-e2e-blk verify FILE SEED MIB | fill FILE SEED MIB | zero FILE MIB\n"
                    "       (as PID 1 in a domU: the guest test, see vgtest= on the cmdline)\n");
    return 2;
}
