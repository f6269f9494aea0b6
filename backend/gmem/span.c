/* SPDX-License-Identifier: MIT */
/*
 * The one accessor: every byte of guest memory the backend reads or writes
 * passes through a span, checked against the span's length (and direction)
 * with overflow-safe arithmetic.  Kept apart from the mapping code so the
 * proof (tests/prove/) can check its users against this contract alone.
 */
#include <errno.h>
#include <string.h>

#include "common/checked.h"
#include "gmem/gmem.h"

int gmem_span_read(const struct gmem_span *s, uint64_t off, void *dst, size_t len)
{
    if (!vg_range_ok(off, len, s->len))
        return -EFAULT;
    if (len)
        memcpy(dst, s->host + off, len);
    return 0;
}

int gmem_span_write(const struct gmem_span *s, uint64_t off, const void *src, size_t len)
{
    if (!s->writable || !vg_range_ok(off, len, s->len))
        return -EFAULT;
    if (len)
        memcpy(s->host + off, src, len);
    return 0;
}

uint64_t gmem_sg_len(const struct gmem_sg *sg, bool writable)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < sg->n; i++)
        if (sg->span[i].writable == writable)
            t += sg->span[i].len;
    return t;
}

int gmem_sg_iov(const struct gmem_sg *sg, bool writable, uint64_t off, uint64_t len,
                struct iovec *iov, unsigned max_iov)
{
    unsigned n = 0;
    for (unsigned i = 0; i < sg->n && len; i++) {
        const struct gmem_span *s = &sg->span[i];
        if (s->writable != writable)
            continue;
        if (off >= s->len) {
            off -= s->len;
            continue;
        }
        uint64_t take = s->len - off;
        if (take > len)
            take = len;
        if (n == max_iov)
            return -E2BIG;
        iov[n++] = (struct iovec){ .iov_base = s->host + off, .iov_len = (size_t)take };
        len -= take;
        off = 0;
    }
    return len ? -EFAULT : (int)n;
}

/*
 * Copy [off, off+len) of the readable (or writable) stream span by span,
 * each through the accessor above.  The whole range is checked first, so a
 * write that does not fit changes nothing in the guest.
 */
static int sg_copy(const struct gmem_sg *sg, bool writable, uint64_t off, uint8_t *priv,
                   size_t len)
{
    if (!vg_range_ok(off, len, gmem_sg_len(sg, writable)))
        return -EFAULT;
    for (unsigned i = 0; i < sg->n && len; i++) {
        const struct gmem_span *s = &sg->span[i];
        if (s->writable != writable)
            continue;
        if (off >= s->len) {
            off -= s->len;
            continue;
        }
        size_t take = s->len - off < len ? (size_t)(s->len - off) : len;
        int rc = writable ? gmem_span_write(s, off, priv, take) : gmem_span_read(s, off, priv, take);
        if (rc < 0)
            return rc;
        priv += take;
        len -= take;
        off = 0;
    }
    return 0;
}

int gmem_sg_read(const struct gmem_sg *sg, uint64_t off, void *dst, size_t len)
{
    return sg_copy(sg, false, off, dst, len);
}

int gmem_sg_write(const struct gmem_sg *sg, uint64_t off, const void *src, size_t len)
{
    return sg_copy(sg, true, off, (uint8_t *)src, len);
}
