/* SPDX-License-Identifier: MIT */
/* What the guest test's parts share (vg-e2e-blk.c, rebind.c, lifecycle.c). */
#ifndef VG_E2E_VGTEST_H
#define VG_E2E_VGTEST_H

#include <stddef.h>
#include <stdint.h>

#define CHUNK (1u << 20)

/* The pattern: a hash of (seed, byte offset / 8), so every block differs. */
uint64_t pattern_word(uint64_t seed, uint64_t index);
void fill(uint64_t *buf, uint64_t seed, uint64_t off);
/* Index of the first wrong word of a CHUNK, or -1. */
long check(const uint64_t *buf, uint64_t seed, uint64_t off);
double now(void);
uint64_t *alloc_chunk(void);
/* dev opened for O_DIRECT I/O, with a CHUNK buffer in *buf; -1 (a FAIL said) if not. */
int open_direct(const char *dev, const char *step, uint64_t **buf);

/* "VGTEST PASS|FAIL <step> ..." on the console; fail() counts failures. */
void pass(const char *step, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fail(const char *step, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* rebind.c's sysfs and disk helpers, shared with pool_outside.c; 0 or -errno. */
#define MMIO_DRIVER "/sys/bus/platform/drivers/virtio-mmio"
int write_text(const char *path, const char *text);
/* The platform device (e.g. 2000000.virtio) that vda sits on. */
int platform_device_of_vda(char *pdev, size_t n);
/* The disk a freshly bound platform device registered (vda, or the next). */
int disk_of(const char *pdev, char *disk, size_t n);
/* Write LEN bytes of pattern at OFF through /dev/DISK and read them back; -1 and WHY if not. */
int pattern_roundtrip(const char *disk, uint64_t seed, uint64_t off, size_t len, char *why,
                      size_t n);

void test_rw(const char *dev, uint64_t seed, unsigned mib);
void test_rebind(uint64_t seed, unsigned cycles, unsigned hold, unsigned mib);
void test_reboot(uint64_t seed, unsigned mib);
void test_busy(uint64_t seed, unsigned mib);
void test_restart(uint64_t seed, unsigned mib, unsigned secs);
void test_pool_outside(uint64_t seed, unsigned backend);

#endif
