/* SPDX-License-Identifier: MIT */
/*
 * vgtest=rebind: the frontend series' teardown, on the guest's data disk
 * (vda), with the bounce pool on and a kernel built with KASAN and DMA-API
 * debugging (whose reports dom0 reads on the console).
 *   - vda's virtio-mmio device is unbound and bound again vgcycles= times;
 *     after each unbind no grant-DMA device may be left and no page granted
 *     (xen-grant-dma/total), after each bind a write through the new device
 *     must read back;
 *   - then the host probes the pool's grants, told by "VGTEST SYNC" lines:
 *     mappable while the device is bound, revoked once it is unbound;
 *   - then one read and one write larger than the pool;
 *   - then the usual data test (vgmib= MiB, at most 32) through the disk;
 *   - and the DMA-API debugging error count must be 0.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "vgtest.h"

#define DEBUGFS "/sys/kernel/debug"
#define GRANT_DMA DEBUGFS "/xen-grant-dma"
#define CYCLE_IO (64u << 10)
#define CYCLE_BASE (32ull << 20)   /* beyond what test_rw writes */
#define BIG_IO (4u << 20)
#define BIG_BASE (48ull << 20)

/* A small file's text, or "" (errno set) when it cannot be read. */
static const char *read_text(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY);
    ssize_t len = fd >= 0 ? read(fd, buf, n - 1) : -1;
    int err = errno;
    if (fd >= 0)
        close(fd);
    buf[len > 0 ? len : 0] = 0;
    errno = len >= 0 ? 0 : err;
    return buf;
}

int write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int err = errno;
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -(n < 0 ? err : EIO);
}

/* "key: value" in a debugfs file of the series; -1 if absent. */
static long debugfs_value(const char *path, const char *key)
{
    char text[1024];
    read_text(path, text, sizeof(text));
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        size_t k = strlen(key);
        if (!strncmp(line, key, k) && line[k] == ':')
            return strtol(line + k + 1, NULL, 10);
    }
    return -1;
}

/* The platform device (e.g. 2000000.virtio) that vda sits on. */
int platform_device_of_vda(char *pdev, size_t n)
{
    char path[PATH_MAX];
    if (!realpath("/sys/block/vda", path))
        return -errno;
    const char *p = strstr(path, "/platform/");
    if (!p)
        return -ENODEV;
    p += strlen("/platform/");
    size_t len = strcspn(p, "/");
    if (len == 0 || len >= n)
        return -ENAMETOOLONG;
    memcpy(pdev, p, len);
    pdev[len] = 0;
    return 0;
}

/* The disk a freshly bound platform device registered (vda, or the next). */
int disk_of(const char *pdev, char *disk, size_t n)
{
    char path[128];
    snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s", pdev);
    DIR *d = opendir(path);
    struct dirent *de;
    int ret = -ENODEV;
    while (d && (de = readdir(d)) && ret) {
        if (strncmp(de->d_name, "virtio", 6))
            continue;
        char blk[128 + 256 + 8];
        snprintf(blk, sizeof(blk), "%s/%s/block", path, de->d_name);
        DIR *b = opendir(blk);
        struct dirent *be;
        while (b && (be = readdir(b)) && ret)
            if (be->d_name[0] != '.' && strlen(be->d_name) < n) {
                strcpy(disk, be->d_name);
                ret = 0;
            }
        if (b)
            closedir(b);
    }
    if (d)
        closedir(d);
    return ret;
}

/* Write LEN bytes of pattern at OFF through /dev/DISK and read them back. */
int pattern_roundtrip(const char *disk, uint64_t seed, uint64_t off, size_t len,
                             char *why, size_t n)
{
    char dev[64];
    snprintf(dev, sizeof(dev), "/dev/%s", disk);
    uint64_t *buf = NULL;
    int fd = open(dev, O_RDWR | O_DIRECT);
    if (fd < 0 || posix_memalign((void **)&buf, 4096, len < CHUNK ? CHUNK : len)) {
        snprintf(why, n, "%s: %s", dev, strerror(errno));
        goto bad;
    }
    for (size_t c = 0; c < len; c += CHUNK)
        fill(buf + c / 8, seed, off + c);
    if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len) {
        snprintf(why, n, "write of %zu at %llu: %s", len, (unsigned long long)off,
                 strerror(errno));
        goto bad;
    }
    memset(buf, 0xa5, len);
    if (pread(fd, buf, len, (off_t)off) != (ssize_t)len) {
        snprintf(why, n, "read of %zu at %llu: %s", len, (unsigned long long)off,
                 strerror(errno));
        goto bad;
    }
    for (size_t i = 0; i < len / 8; i++)
        if (buf[i] != pattern_word(seed, off / 8 + i)) {
            snprintf(why, n, "wrong data at byte %llu", (unsigned long long)(off + i * 8));
            goto bad;
        }
    close(fd);
    free(buf);
    return 0;
bad:
    if (fd >= 0)
        close(fd);
    free(buf);
    return -1;
}

/* One unbind and bind; the disk's name afterwards in DISK. */
static int cycle(const char *pdev, unsigned i, uint64_t seed, char *disk, size_t n)
{
    char why[160], path[PATH_MAX];
    int err = write_text(MMIO_DRIVER "/unbind", pdev);
    if (err) {
        fail("rebind", "cycle %u: unbind %s: %s", i, pdev, strerror(-err));
        return -1;
    }
    long devices = debugfs_value(GRANT_DMA "/total", "devices");
    long granted = debugfs_value(GRANT_DMA "/total", "pages_granted_now");
    snprintf(path, sizeof(path), GRANT_DMA "/%s", pdev);
    if (devices != 0 || granted != 0 || access(path, F_OK) == 0) {
        fail("rebind", "cycle %u: unbound, yet devices=%ld pages_granted_now=%ld%s", i, devices,
             granted, access(path, F_OK) == 0 ? ", its debugfs file is still there" : "");
        return -1;
    }
    err = write_text(MMIO_DRIVER "/bind", pdev);
    if (err || disk_of(pdev, disk, n)) {
        fail("rebind", "cycle %u: bind %s: %s", i, pdev, err ? strerror(-err) : "no disk");
        return -1;
    }
    if (debugfs_value(path, "pool_pages") <= 0) {
        fail("rebind", "cycle %u: %s came back without its pool", i, pdev);
        return -1;
    }
    /* The case runs with xen.grant_dma_ring_ro=1: each new ring is so. */
    if (debugfs_value(path, "ring_pages_readonly") <= 0) {
        fail("rebind", "cycle %u: %s came back with its rings read-write", i, pdev);
        return -1;
    }
    if (pattern_roundtrip(disk, seed, CYCLE_BASE + (uint64_t)i * CYCLE_IO, CYCLE_IO, why,
                          sizeof(why))) {
        fail("rebind", "cycle %u: %s: %s", i, disk, why);
        return -1;
    }
    /* Every request has completed: a slot still in use was never unmapped. */
    long in_use = debugfs_value(path, "pool_bytes_in_use");
    if (in_use != 0) {
        fail("rebind", "cycle %u: %ld bytes of the pool in use with no I/O in flight", i, in_use);
        return -1;
    }
    return 0;
}

/*
 * A request larger than the pool: the series makes the block layer's limit
 * swiotlb's largest mapping (256 KiB, a fifth of the smallest pool), so the
 * I/O is split into requests that fit.
 */
static void big_request(const char *pdev, const char *disk, uint64_t seed)
{
    char path[PATH_MAX], text[32], why[160];
    snprintf(path, sizeof(path), GRANT_DMA "/%s", pdev);
    long pool_kib = debugfs_value(path, "pool_pages") * 4;
    snprintf(path, sizeof(path), "/sys/block/%s/queue/max_hw_sectors_kb", disk);
    long hw_kib = strtol(read_text(path, text, sizeof(text)), NULL, 10);
    if (pool_kib <= 0 || hw_kib <= 0 || hw_kib * 5 > pool_kib) {
        fail("big-request", "max_hw_sectors_kb %ld for a %ld KiB pool (want at most a fifth)",
             hw_kib, pool_kib);
        return;
    }
    /* As large as the device allows, as a user tuning for throughput would. */
    snprintf(path, sizeof(path), "/sys/block/%s/queue/max_sectors_kb", disk);
    snprintf(text, sizeof(text), "%ld", hw_kib);
    if (write_text(path, text))
        fail("big-request", "cannot set max_sectors_kb to %ld", hw_kib);
    double t0 = now();
    if (pattern_roundtrip(disk, seed, BIG_BASE, BIG_IO, why, sizeof(why))) {
        fail("big-request", "%s", why);
        return;
    }
    pass("big-request", "%u KiB written and read back in one call each through a %ld KiB pool "
         "(requests of at most %ld KiB) in %.2f s", BIG_IO >> 10, pool_kib, hw_kib, now() - t0);
}

/* CONFIG_DMA_API_DEBUG's own count of misuse it found; it must be 0. */
static void dma_api_errors(void)
{
    char text[32];
    long disabled = strtol(read_text(DEBUGFS "/dma-api/disabled", text, sizeof(text)), NULL, 10);
    if (errno) {
        fail("dma-api-debug", "no %s/dma-api (kernel without DMA-API debugging?)", DEBUGFS);
        return;
    }
    long errors = strtol(read_text(DEBUGFS "/dma-api/error_count", text, sizeof(text)), NULL, 10);
    if (disabled)
        fail("dma-api-debug", "DMA-API debugging disabled itself (out of entries?)");
    else if (errors)
        fail("dma-api-debug", "%ld DMA-API errors reported", errors);
    else
        pass("dma-api-debug", "0 errors reported");
}

void test_rebind(uint64_t seed, unsigned cycles, unsigned hold, unsigned mib)
{
    char pdev[64], disk[32] = "vda";
    mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
    int err = platform_device_of_vda(pdev, sizeof(pdev));
    if (err) {
        fail("rebind", "no platform device under vda: %s", strerror(-err));
        return;
    }
    unsigned done = 0;
    double t0 = now();
    while (done < cycles && !cycle(pdev, done, seed, disk, sizeof(disk)))
        done++;
    if (done == cycles)
        pass("rebind", "%s unbound and bound %u times in %.1f s: each time 0 devices and 0 "
             "pages granted once unbound, the pool and read-only ring pages back, 64 KiB "
             "read back and 0 bytes of the pool in use once bound",
             pdev, cycles, now() - t0);

    /* The host maps a pool grant now (it must work), then after the unbind. */
    printf("VGTEST SYNC pool-live %s\n", pdev);
    fflush(stdout);
    sleep(hold);
    write_text(MMIO_DRIVER "/unbind", pdev);
    printf("VGTEST SYNC pool-ended %s\n", pdev);
    fflush(stdout);
    sleep(hold);
    err = write_text(MMIO_DRIVER "/bind", pdev);
    if (err || disk_of(pdev, disk, sizeof(disk))) {
        fail("rebind", "last bind of %s: %s", pdev, err ? strerror(-err) : "no disk");
        return;
    }
    big_request(pdev, disk, seed);
    char dev[64];
    snprintf(dev, sizeof(dev), "/dev/%s", disk);
    test_rw(dev, seed, mib < 32 ? mib : 32);
    dma_api_errors();
}
