/* SPDX-License-Identifier: MIT */
/* Nondeterministic values for the EVA harnesses (env.c): a guest's choices. */
#ifndef VG_PROVE_ENV_H
#define VG_PROVE_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xen/grant_table.h>

uint64_t prove_u64(void);
uint32_t prove_u32(void);
uint16_t prove_u16(void);
bool prove_bool(void);
/* The guest rewrites [p, p+len) behind the backend's back. */
void prove_scribble(void *p, size_t len);

#endif
