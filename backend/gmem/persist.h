/* SPDX-License-Identifier: MIT */
/*
 * Persistent grant mappings (see struct gmem_persist in gmem.h): internal to
 * gmem, which consults them for data buffers once the driver has negotiated
 * VIRTIO_F_GRANT_POOL.
 */
#ifndef VG_GMEM_PERSIST_H
#define VG_GMEM_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

#include "gmem/gmem.h"

/*
 * The host address of refs [first, first + npages) mapped at least for the
 * given direction, mapping them on a miss (their chunk read-write if it can,
 * else exactly them; evicting the least recently used entries that the
 * current map call does not use and no chain in flight holds).  The entry is
 * pinned until gmem_persist_unpin.  NULL with *rc set: -EFAULT when the
 * grants cannot be mapped, -E2BIG when they cannot fit, -EBUSY when they
 * would fit but for pins other chains hold.
 */
uint8_t *gmem_persist_get(struct gmem *g, uint32_t first, uint32_t npages, bool writable,
                          uint16_t *pin, int *rc);
/* Release what gmem_persist_get pinned (*pin, as it returned it). */
void gmem_persist_unpin(struct gmem *g, uint16_t pin);
/* Start a map call: entries the previous call used may be evicted again. */
void gmem_persist_begin(struct gmem *g);

#endif
