/* SPDX-License-Identifier: MIT */
/*
 * Test-only: run a command on a host that refuses io_uring, as container
 * runtimes' default seccomp profiles do.  io_uring_setup fails with EPERM,
 * then $VG_NO_URING_EXEC runs with this program's arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    (void)argc;
    const char *exe = getenv("VG_NO_URING_EXEC");
    if (!exe || !*exe) {
        fprintf(stderr, "no-uring: set VG_NO_URING_EXEC to the program to run\n");
        return 2;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(io_uring_setup), 0) < 0 ||
        seccomp_load(ctx) < 0) {
        fprintf(stderr, "no-uring: cannot install the filter\n");
        return 2;
    }
    seccomp_release(ctx);
    execv(exe, argv);
    perror("no-uring: execv");
    return 2;
}
