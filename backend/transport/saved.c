/* SPDX-License-Identifier: MIT */
#include "transport/saved.h"

#include <string.h>

void saved_init(struct saved_area *a)
{
    if (!a)
        return;
    memset(a, 0, sizeof(*a));
    a->magic = SAVED_MAGIC;
}

void saved_queue_started(struct saved_area *a, unsigned q)
{
    struct saved_regs *s = saved_cur(a);
    if (!s || q >= SAVED_QUEUES)
        return;
    struct saved_queue *sq = &s->q[q];
    sq->pub_set = 0;
    SAVED_ORDER();
    sq->used_idx = 0;
    memset(sq->taken, 0, sizeof(sq->taken));
}

void saved_took(struct saved_area *a, unsigned q, uint16_t head)
{
    struct saved_regs *s = saved_cur(a);
    /* A head at or beyond VQ_MAX_SIZE never passes vq_pop_chain. */
    if (!s || q >= SAVED_QUEUES || head >= VQ_MAX_SIZE)
        return;
    /* More than 255 of one head in flight needs a guest repeating it: clamp, and the
     * restart finds too many chains taken and breaks that guest's device. */
    if (s->q[q].taken[head] < UINT8_MAX)
        s->q[q].taken[head]++;
}

void saved_publishing(struct saved_area *a, unsigned q, uint16_t head, uint16_t used_after)
{
    struct saved_regs *s = saved_cur(a);
    if (!s || q >= SAVED_QUEUES || head >= VQ_MAX_SIZE)
        return;
    struct saved_queue *sq = &s->q[q];
    sq->pub_head = head;
    sq->pub_target = used_after;
    sq->pub_taken = sq->taken[head];
    SAVED_ORDER();
    sq->pub_set = 1;
    SAVED_ORDER();
}

void saved_published(struct saved_area *a, unsigned q)
{
    struct saved_regs *s = saved_cur(a);
    if (!s || q >= SAVED_QUEUES || !s->q[q].pub_set)
        return;
    struct saved_queue *sq = &s->q[q];
    /* Read once and checked where it is used, as a restart does: a count is
     * never written outside the head table, whatever the page holds. */
    uint16_t head = sq->pub_head;
    if (head >= VQ_MAX_SIZE)
        return;
    SAVED_ORDER();
    /* Written, not decremented: a restart repeats exactly these two stores. */
    sq->taken[head] = sq->pub_taken ? (uint8_t)(sq->pub_taken - 1) : 0;
    sq->used_idx = sq->pub_target;
    SAVED_ORDER();
    sq->pub_set = 0;
}
