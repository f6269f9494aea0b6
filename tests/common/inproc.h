/* SPDX-License-Identifier: MIT */
/*
 * Unit-test fixture: a simulated guest and the backend's guest-memory layer
 * in one process (the simulator's grant table works the same across or
 * within processes).
 */
#ifndef VG_TEST_INPROC_H
#define VG_TEST_INPROC_H

#include <stdbool.h>
#include <stdint.h>
#include <xengnttab.h>

#include "gmem/gmem.h"
#include "xensim/guest.h"
#include "xensim/harness.h"

#define IP_DOMID 1

struct inproc {
    struct sim_env env;
    struct simdom *d;
    xengnttab_handle *gnt;
    struct gmem g;
};

int inproc_up(struct inproc *ip);
void inproc_down(struct inproc *ip);
/* Allocate and grant npages; returns the grant DMA address, *host the memory. */
uint64_t inproc_grant(struct inproc *ip, uint32_t npages, bool readonly, uint8_t **host);
/* The address of a host pointer inside an earlier grant (same page run). */
uint64_t inproc_dma(uint64_t base_dma, uint64_t offset);

#endif
