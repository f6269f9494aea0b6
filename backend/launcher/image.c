/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "launcher/image.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int image_policy_init(struct image_policy *p, const char *dir)
{
    p->dir_fd = -1;
    p->dir = NULL;
    if (!dir)
        return 0;
    size_t n = strlen(dir);
    if (dir[0] != '/' || n < 2 || dir[n - 1] == '/')
        return -EINVAL;
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    p->dir_fd = fd;
    p->dir = dir;
    return 0;
}

static int openat2_fd(int dirfd, const char *path, int flags, unsigned long long resolve)
{
    struct open_how how = { .flags = (unsigned long long)flags, .resolve = resolve };
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    return fd < 0 ? -errno : (int)fd;
}

static int why_err(char *why, size_t n, int err, const char *what)
{
    snprintf(why, n, "params: %s", what);
    return err;
}

int image_open(const struct image_policy *p, const char *path, bool writable, int *fd,
               char *why, size_t why_len)
{
    int dirfd = AT_FDCWD;
    const char *rel = path;
    /* Magic links (/proc/self/fd/N) never; under --images no symlink at all, no escape. */
    unsigned long long resolve = RESOLVE_NO_MAGICLINKS;
    if (path[0] != '/')
        return why_err(why, why_len, -EINVAL, "not an absolute path");
    if (p->dir_fd >= 0) {
        size_t n = strlen(p->dir);
        if (strncmp(path, p->dir, n) != 0 || path[n] != '/' || path[n + 1] == '\0')
            return why_err(why, why_len, -EPERM, "outside the images directory");
        dirfd = p->dir_fd;
        rel = path + n + 1;
        resolve |= RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
    }
    /*
     * First a path-only handle: it names the node without acting on it (a
     * FIFO or a device is not opened), so the type is checked on exactly the
     * node that will be opened, and nothing outside --images is even looked at.
     */
    int node = openat2_fd(dirfd, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC, resolve);
    if (node < 0) {
        const char *what = node == -ENOENT ? "does not exist"
                         : node == -EXDEV ? "resolves outside the images directory"
                         : node == -ELOOP ? "goes through a symlink"
                         : node == -ENOSYS ? "openat2 unavailable: cannot confine the open"
                                           : "cannot be resolved";
        return why_err(why, why_len, node, what);
    }
    struct stat pre, post;
    int rc = 0;
    const char *what = NULL;
    if (fstat(node, &pre) < 0) {
        rc = -errno;
        what = "cannot stat";
    } else if (S_ISLNK(pre.st_mode)) {
        rc = -ELOOP;
        what = "is a symlink";
    } else if (!S_ISREG(pre.st_mode) && !S_ISBLK(pre.st_mode)) {
        rc = -EINVAL;
        what = "neither a regular file nor a block device";
    }
    if (rc < 0) {
        close(node);
        return why_err(why, why_len, rc, what);
    }
    /* Reopen that very node for I/O. */
    char self[64];
    snprintf(self, sizeof(self), "/proc/self/fd/%d", node);
    int flags = (writable ? O_RDWR : O_RDONLY) | O_NOCTTY | O_CLOEXEC;
    /* O_EXCL on a block device claims it: a mounted or in-use disk fails with EBUSY. */
    if (S_ISBLK(pre.st_mode))
        flags |= O_EXCL;
    int f = open(self, flags);
    close(node);
    if (f < 0) {
        rc = -errno;
        return why_err(why, why_len, rc,
                       rc == -EBUSY ? "block device in use (mounted or claimed)" : "cannot open");
    }
    if (fstat(f, &post) < 0 || post.st_dev != pre.st_dev || post.st_ino != pre.st_ino ||
        (post.st_mode & S_IFMT) != (pre.st_mode & S_IFMT)) {
        close(f);
        return why_err(why, why_len, -ESTALE, "changed while being opened");
    }
    /* One writer or many readers per image file, as O_EXCL gives block devices. */
    if (S_ISREG(pre.st_mode) && flock(f, (writable ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
        rc = -errno;
        close(f);
        return why_err(why, why_len, rc, "image file in use by another device");
    }
    *fd = f;
    return 0;
}
