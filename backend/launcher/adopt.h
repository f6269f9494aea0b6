/* SPDX-License-Identifier: MIT */
/*
 * A launcher that crashes takes no guest's disk with it: its device
 * processes keep serving, and the next launcher adopts them.  For that the
 * launcher records every device process it starts in its state directory
 * (--state-dir, default ADOPT_DEFAULT_DIR, the launcher's alone: 0700): a
 * file "<domid>.<devid>" holding "<pid> <start time>", the start time read
 * from /proc/PID/stat so that a recycled pid is never taken for the device.
 *
 * The records are read back as untrusted input: canonical names, numbers in
 * range, and a process that is alive with that start time, runs this very
 * binary and is not our child.  A record that fails is logged and removed;
 * its device is not adopted (nothing else is done to the process).
 */
#ifndef VG_ADOPT_H
#define VG_ADOPT_H

#include <stdint.h>
#include <sys/types.h>

#define ADOPT_DEFAULT_DIR "/run/virtio-grant"

struct adopt_dir {
    int fd; /* the state directory, -1: records are not kept */
};

/* Create (0700) or open the directory; it must be a directory we own that no one else can write. */
int adopt_open(struct adopt_dir *a, const char *path);
void adopt_close(struct adopt_dir *a);
/* Record a device process just started; -errno (the device still runs, unadoptable). */
int adopt_record(struct adopt_dir *a, uint16_t domid, uint32_t devid, pid_t pid);
void adopt_forget(struct adopt_dir *a, uint16_t domid, uint32_t devid);

/* A process that passed every check, and a pidfd for it (the callee owns it). */
typedef void (*adopt_fn)(void *opaque, uint16_t domid, uint32_t devid, pid_t pid, int pidfd);
/* Read every record once, at start-up: fn for each valid one. */
void adopt_scan(struct adopt_dir *a, adopt_fn fn, void *opaque);

#endif
