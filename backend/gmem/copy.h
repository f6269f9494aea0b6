/* SPDX-License-Identifier: MIT */
/*
 * Grant-copy mode (see GMEM_GRANT_COPY in gmem.h): internal to gmem.  A
 * chain's buffers get a run of private bounce pages; device-readable spans
 * are filled from the guest's grants with one xengnttab_grant_copy call,
 * device-writable ones start zeroed and go back with one more call.
 */
#ifndef VG_GMEM_COPY_H
#define VG_GMEM_COPY_H

#include "gmem/gmem.h"

int gmem_copy_init(struct gmem *g);
void gmem_copy_fini(struct gmem *g);
/*
 * Lay out bufs[0..n) in bounce pages (sg's spans point there) and copy the
 * readable ones in.  -E2BIG: more than the arena; -EBUSY: it would fit
 * beside none of the chains in flight; -EFAULT: a grant refused the copy.
 */
int gmem_copy_in(struct gmem *g, const struct gmem_buf *bufs, unsigned n, struct gmem_sg *sg);
/* Copy sg's writable spans back to the guest; -EFAULT if a grant refuses. */
int gmem_copy_out(struct gmem *g, const struct gmem_sg *sg);
/* Copy one guest buffer straight into dst (no bounce pages). */
int gmem_copy_fetch(struct gmem *g, const struct gmem_buf *b, void *dst);
/* Give sg's bounce pages back. */
void gmem_copy_release(struct gmem *g, struct gmem_sg *sg);

#endif
