/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "launcher/adopt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "config/config.h"
#include "launcher/tsinput.h"

#define RECORD_MAX 64 /* "<pid> <start time>\n" with room to spare */
#define PID_MAX 4194304u /* Linux's PID_MAX_LIMIT */

int adopt_open(struct adopt_dir *a, const char *path)
{
    a->fd = -1;
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return -errno;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
        close(fd);
        return -EPERM;
    }
    a->fd = fd;
    return 0;
}

void adopt_close(struct adopt_dir *a)
{
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
}

/* Field 22 of /proc/PID/stat: when it started, in clock ticks since boot. */
static int start_time(pid_t pid, unsigned long long *t)
{
    char path[32], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -EIO;
    buf[n] = 0;
    /* after "(comm)", which may hold anything: the last ')' ends it */
    const char *p = strrchr(buf, ')');
    if (!p)
        return -EIO;
    p++;
    for (int field = 3; field < 22; field++) {
        p = strchr(p + 1, ' ');
        if (!p)
            return -EIO;
    }
    char *end;
    errno = 0;
    *t = strtoull(p + 1, &end, 10);
    return errno || end == p + 1 ? -EIO : 0;
}

static void record_name(char *name, size_t size, uint16_t domid, uint32_t devid)
{
    snprintf(name, size, "%u.%u", domid, devid);
}

int adopt_record(struct adopt_dir *a, uint16_t domid, uint32_t devid, pid_t pid)
{
    if (a->fd < 0)
        return 0;
    unsigned long long t;
    int rc = start_time(pid, &t);
    if (rc < 0)
        return rc;
    char name[32], tmp[40], buf[RECORD_MAX];
    record_name(name, sizeof(name), domid, devid);
    snprintf(tmp, sizeof(tmp), ".%s.new", name);
    int len = snprintf(buf, sizeof(buf), "%d %llu\n", (int)pid, t);
    int fd = openat(a->fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    /* Written whole, then renamed: a crash leaves the old record or the new one. */
    bool ok = write(fd, buf, (size_t)len) == len;
    close(fd);
    if (!ok || renameat(a->fd, tmp, a->fd, name) < 0) {
        rc = ok ? -errno : -EIO;
        unlinkat(a->fd, tmp, 0);
        return rc;
    }
    return 0;
}

void adopt_forget(struct adopt_dir *a, uint16_t domid, uint32_t devid)
{
    char name[32];
    if (a->fd < 0)
        return;
    record_name(name, sizeof(name), domid, devid);
    unlinkat(a->fd, name, 0);
}

/* Whether pid runs the file this process runs (the device is this binary, exec'd). */
static bool runs_this_binary(pid_t pid)
{
    char path[32];
    struct stat self, other;
    snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
    return stat("/proc/self/exe", &self) == 0 && stat(path, &other) == 0 &&
           self.st_dev == other.st_dev && self.st_ino == other.st_ino;
}

/* NULL if the record names a process we may adopt, else why not. */
static const char *check_record(struct adopt_dir *a, const char *name, uint16_t *domid,
                                uint32_t *devid, pid_t *pid, unsigned long long *started)
{
    char n[32], buf[RECORD_MAX];
    uint64_t dom, dev, p;
    size_t name_len = strlen(name);
    if (name_len >= sizeof(n))
        return "not a <domid>.<devid> name";
    memcpy(n, name, name_len + 1);
    char *dot = strchr(n, '.');
    if (!dot)
        return "not a <domid>.<devid> name";
    *dot = 0;
    if (ts_parse_id(n, VG_DOMID_MAX, &dom) < 0 || !vg_domid_ok(dom) ||
        ts_parse_id(dot + 1, TS_DEVID_MAX, &dev) < 0)
        return "not a <domid>.<devid> name";
    int fd = openat(a->fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size >= RECORD_MAX) {
        if (fd >= 0)
            close(fd);
        return "not a small regular file";
    }
    ssize_t len = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (len <= 0)
        return "empty";
    buf[len] = 0;
    char *sp = strchr(buf, ' '), *nl = strchr(buf, '\n');
    if (!sp || !nl || nl != buf + len - 1)
        return "not \"<pid> <start time>\"";
    *sp = 0;
    *nl = 0;
    uint64_t t;
    if (ts_parse_id(buf, PID_MAX, &p) < 0 || p < 2 || ts_parse_id(sp + 1, UINT64_MAX, &t) < 0)
        return "not \"<pid> <start time>\"";
    unsigned long long now;
    if (start_time((pid_t)p, &now) < 0)
        return "the process is gone";
    if (now != t)
        return "that pid is another process now";
    if (!runs_this_binary((pid_t)p))
        return "the process does not run this binary";
    *domid = (uint16_t)dom;
    *devid = (uint32_t)dev;
    *pid = (pid_t)p;
    *started = t;
    return NULL;
}

void adopt_scan(struct adopt_dir *a, adopt_fn fn, void *opaque)
{
    if (a->fd < 0)
        return;
    int dfd = dup(a->fd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        vg_err("state directory: %s", strerror(errno));
        return;
    }
    rewinddir(d);
    for (struct dirent *e; (e = readdir(d));) {
        /* Directories are not records: the jail's mount point (sandbox.h) lives here. */
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            (fstatat(a->fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)))
            continue;
        uint16_t domid = 0;
        uint32_t devid = 0;
        pid_t pid = -1;
        unsigned long long started = 0, again = 0;
        const char *why = check_record(a, e->d_name, &domid, &devid, &pid, &started);
        int pidfd = why ? -1 : pidfd_open(pid, 0);
        /* The pid could have been recycled before pidfd_open: check what it holds. */
        if (!why && (pidfd < 0 || start_time(pid, &again) < 0 || again != started ||
                     !runs_this_binary(pid)))
            why = "the process is gone";
        if (why) {
            char clean[80];
            /* Removed first: the line says it is gone (a test under strace read it early). */
            unlinkat(a->fd, e->d_name, 0);
            vg_log_sanitize(clean, sizeof(clean), e->d_name, strlen(e->d_name));
            vg_warn("state record %s: not adopted: %s; removed", clean, why);
            if (pidfd >= 0)
                close(pidfd);
            continue;
        }
        fn(opaque, domid, devid, pid, pidfd);
    }
    closedir(d);
}
