/* SPDX-License-Identifier: MIT */
/*
 * Test-only: after the sandbox is in place, attempt one forbidden class of
 * call, named by $VG_PROBE_FORBIDDEN.  Under --sandbox=kill each must end the
 * process with SIGSYS before it returns; if it returns, the probe says so
 * and exits 3 so the test can tell "allowed" from "killed".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "sandbox/probe.h"
#include "xen/ioreq.h"

void vg_sandbox_probe(struct xen_ioreq_srv *srv)
{
    const char *what = getenv("VG_PROBE_FORBIDDEN");
    if (!what || !*what)
        return;
    vg_warn("probe: attempting forbidden '%s'", what);
    long r = -1;
    if (!strcmp(what, "foreign-map")) {
        /* The first page of guest RAM (Arm GUEST_RAM0_BASE), as a foreign mapping. */
        xen_pfn_t gfn = 0x40000;
        int err = 0;
        void *p = xenforeignmemory_map(srv->fmem, srv->domid, PROT_READ, 1, &gfn, &err);
        r = p ? 0 : -1;
    } else if (!strcmp(what, "execve")) {
        char *const argv[] = { "/bin/sh", NULL };
        r = execve("/bin/sh", argv, NULL);
    } else if (!strcmp(what, "socket")) {
        r = socket(AF_INET, SOCK_STREAM, 0);
    } else if (!strcmp(what, "open")) {
        r = open("/etc/passwd", O_RDONLY);
    } else if (!strcmp(what, "exec-mmap")) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        r = p == MAP_FAILED ? -1 : 0;
    } else {
        vg_err("probe: unknown class '%s'", what);
        exit(4);
    }
    vg_err("probe: forbidden '%s' returned %ld (%s): not killed", what, r,
           r < 0 ? strerror(errno) : "success");
    exit(3);
}
