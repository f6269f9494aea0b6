/* SPDX-License-Identifier: MIT */
/*
 * Opening a disk image named by the toolstack (or by the operator), for a
 * device process that never opens a path itself.  Only a regular file or a
 * block device, checked on the node itself before it is opened; never
 * through a symlink at the last component; a block device exclusively
 * (O_EXCL), so a mounted or otherwise claimed disk is refused, and a regular
 * file under a lock (one writer or many readers); with an images directory,
 * nothing outside it, symlinks included.
 */
#ifndef VG_IMAGE_H
#define VG_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

struct image_policy {
    int dir_fd;      /* the --images directory, or -1 for anywhere */
    const char *dir; /* its absolute path, without a trailing slash */
};

/* Open the images directory once, at start: an absolute path to a directory. */
int image_policy_init(struct image_policy *p, const char *dir);

/* 0 with *fd set, or a negative errno with a one-line reason in @why. */
int image_open(const struct image_policy *p, const char *path, bool writable, int *fd,
               char *why, size_t why_len);

#endif
