/* SPDX-License-Identifier: MIT */
/*
 * EVA harness, part two of the transport (backend/transport/mmio.c): the
 * serving engine behind QueueNotify.  A device brought up by the book, both
 * queues of size PROVE_QSIZE at any ring addresses, the features any the
 * device offers, the grant mode and the serving path (batched or not) any;
 * then one step, any of: a notify of either queue through the register
 * path, the device's poll, a deferred run, QueueReady 0 on either queue,
 * or a reset; then the shutdown, which drains every chain still pending.
 * PROVE_LIVE=1 instead: both queues notified, then the device's poll while
 * the device still serves (completions published, the waiting queue
 * resumed).  Case splits for that run, each fixing what is otherwise any:
 * PROVE_MODE (the gmem mode), PROVE_AP (ACCESS_PLATFORM required),
 * PROVE_NOTIFY_Q (the queue notified first), PROVE_FEAT (the optional
 * features taken), PROVE_POOL (a grant pool taken or not, the other
 * optional features any), PENDING_MAX (chains the stand-in keeps pending).
 *
 * The walker is its envelope (model_virtq.c): every chain it can give is
 * given (any head below the queue size, any buffers, any count), and every
 * failure; eva_virtq.c proves that envelope of the real walker for every
 * queue size.  The mapping layer is model_alias.c.  The stand-in device
 * serves a chain at once, fails it, or keeps it pending (PENDING_MAX), and
 * completes pending ones in any order with any result, through the
 * transport's host interface, as blk does from its poll.
 *
 * mmio.c is included, as in part one (eva_mmio_regs.c), for symmetry: this
 * part analyses every function of it as compiled.
 *
 * Where it stands (2026-12-04): no alarm in any run of make prove.
 * PROVE_LIVE=0: 22 s.  PROVE_LIVE=1, queue size 1 and PENDING_MAX 1 (the
 * least that makes a queue wait beside a chain in flight), the optional
 * features, PROVE_AP and the first queue any, in every gmem mode: grant
 * without a pool 33 s and with one 16 s (run apart: together they did not
 * finish in 3 minutes), foreign 34 s, foreign-premap 22 s, grant-copy 21 s.
 * What let them end, each found where EVA piled up states:
 *   - mmio_init gives every free slot batch -1, so that EVA, joining a free
 *     slot with a busy one, no longer sees a busy slot in batch 0 and
 *     analyses the batch path in modes that never batch;
 *   - the envelope's chain comes in one step (model_virtq.c);
 *   - a batch keeps its members, and its last completion publishes those,
 *     not every slot that names the batch (64 steps, each splitting);
 *   - counters start any, and the bring-ups are joined before the notifies
 *     (both below).
 * The batching modes were stopped unfinished at 23 and 27 minutes before
 * the last three, and foreign at 7 minutes with the members alone.
 * Queue size 2 with PENDING_MAX 2 (a chain in flight and one waiting on a
 * queue) has no alarm in grant-copy (79 s, in make prove; before the last
 * two changes: 12800 states at process_queue's start_chain call within two
 * minutes).  Not proved: that size in the batching modes, where a batch
 * has two members while the poll resumes a queue (foreign: stopped
 * unfinished at 10 minutes, 2200 states in batch_start's hand-over loop, no
 * alarm).  Batches of two are proved in PROVE_LIVE=0, at queue size 2.
 */
#include <errno.h>
#include <string.h>

#include "devices/device.h"
#include "prove_env.h"
#include "transport/mmio.h"
#include "transport/saved.h"

#include "transport/mmio.c"

/* EVA prints the values each call is given (run.sh looks for them). */
void Frama_C_show_each_poll_meets_waiting(uint32_t waiting);
void Frama_C_show_each_resumed_chain(unsigned queue);
void Frama_C_show_each_batch_members(unsigned n);
void Frama_C_show_each_pending_full(unsigned n);

#ifndef PROVE_LIVE
#define PROVE_LIVE 0
#endif
#ifndef PROVE_QSIZE
#define PROVE_QSIZE 2
#endif
/* Chains the stand-in device keeps pending at once (blk keeps up to 64). */
#ifndef PENDING_MAX
#define PENDING_MAX 2
#endif

static const struct vdev_host *host;
/* Set around the live run's poll: a chain handed over then is a resumed one. */
static bool in_poll;
static void *pending[PENDING_MAX];
static unsigned npending;

/* Any features, the same at every call, as a device's are. */
static uint64_t dev_feature_bits;

static uint64_t dev_features(void *dev)
{
    (void)dev;
    return dev_feature_bits;
}

static void dev_set_features(void *dev, uint64_t f)
{
    (void)dev;
    (void)f;
}

static int dev_config_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
    (void)dev;
    (void)off;
    memset(buf, 0, len);
    return 0;
}

static int dev_config_write(void *dev, uint32_t off, const void *buf, uint32_t len)
{
    (void)dev;
    (void)off;
    (void)buf;
    (void)len;
    return -ERANGE;
}

/*
 * Serves a chain as blk does: done at once (any length written), failed
 * (the driver broke the protocol), or kept pending.  It reads no guest
 * byte: its accesses go through the span accessor, proved on its own
 * (eva_span.c).  What it checks is what the transport hands a device.
 */
static int dev_handle_chain(void *dev, unsigned queue, const struct gmem_sg *sg, void *tag,
                            uint32_t *written)
{
    (void)dev;
    /*@ assert handed: queue < 2 && \valid_read(sg) && sg->n <= GMEM_MAX_BUFS; */
    /*@ assert handed: \valid(written); */
    if (in_poll)
        Frama_C_show_each_resumed_chain(queue);
    /* How many chains the batch handed over holds (run.sh: two, somewhere). */
    const struct mmio_dev *m = host->opaque;
    const struct mmio_req *r = tag;
    if (r->batch >= 0 && (unsigned)r->batch < VDEV_MAX_PENDING)
        Frama_C_show_each_batch_members(m->batch[r->batch].n);
    if (prove_bool())
        return -EINVAL;
    if (npending < PENDING_MAX && prove_bool()) {
        pending[npending++] = tag;
        if (npending == PENDING_MAX)
            Frama_C_show_each_pending_full(npending);
        return VDEV_PENDING;
    }
    *written = prove_u32();
    return 0;
}

/* Completions, in any order: the one picked goes; the last takes its place. */
static void dev_poll(void *dev, bool wait)
{
    (void)dev;
    //@ loop unroll PENDING_MAX;
    while (npending && (wait || prove_bool())) {
        /* Picked by branches, not by an index in a range: each pick is its
         * own state, so the tag (a slot) stays one slot. */
        unsigned i = 0;
        //@ loop unroll PENDING_MAX;
        while (i + 1 < npending && prove_bool())
            i++;
        void *tag = pending[i];
        pending[i] = pending[--npending];
        /* Never NULL: only slots are kept.  Where EVA joins a state with an
         * entry kept and one without, it sees the empty entry's NULL too. */
        if (tag)
            host->complete(host->opaque, tag, prove_bool() ? 0 : -EIO, prove_u32());
    }
}

static void dev_attach(void *dev, const struct vdev_host *h)
{
    (void)dev;
    host = h;
}

static void dev_reset(void *dev)
{
    (void)dev;
}

static const struct vdev_ops prove_ops = {
    .name = "prove",
    .device_id = 2,
    .num_queues = 2,
    .queue_size_max = 256,
    .features = dev_features,
    .set_features = dev_set_features,
    .config_read = dev_config_read,
    .config_write = dev_config_write,
    .handle_chain = dev_handle_chain,
    .attach = dev_attach,
    .poll = dev_poll,
    .reset = dev_reset,
};

static void set_irq(void *opaque, int level)
{
    (void)opaque;
    (void)level;
}

static struct gmem g;
static struct mmio_dev dev;
static struct saved_area area;

static void wr(uint64_t off, uint32_t v)
{
    uint64_t x = v;
    mmio_access(&dev, off, 4, true, &x);
}

/*
 * PROVE_LIVE=1 starts from a driver that negotiates what the device needs
 * and sizes both queues before it readies either, so a queue is never left
 * unsized beside a started one (EVA would join those states, and see a
 * started queue of size 0 that no run has).  Refused negotiations and
 * queues left unsized are PROVE_LIVE=0's and eva_mmio_regs.c's.
 */
static void bring_up(void)
{
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t offered = mmio_device_features(&dev);
    uint64_t f = offered & prove_u64();
    if (PROVE_LIVE) {
        /* The bits the transport acts on, each taken or not by a branch, so
         * that f stays a small set of values EVA can check against offered
         * (any 64-bit f, it cannot: it keeps no relation between the two). */
        f = offered & ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_ACCESS_PLATFORM) |
                       (1ull << VIRTIO_F_GRANT_ADDRESSING));
#ifdef PROVE_FEAT
        /* Bit 0 EVENT_IDX, bit 1 GRANT_POOL, bit 2 INDIRECT_DESC. */
        f |= offered & ((PROVE_FEAT & 1 ? 1ull << VIRTIO_F_EVENT_IDX : 0) |
                        (PROVE_FEAT & 2 ? 1ull << VIRTIO_F_GRANT_POOL : 0) |
                        (PROVE_FEAT & 4 ? 1ull << VIRTIO_F_INDIRECT_DESC : 0));
#else
        if (prove_bool())
            f |= offered & (1ull << VIRTIO_F_EVENT_IDX);
#ifdef PROVE_POOL
        if (PROVE_POOL)
#else
        if (prove_bool())
#endif
            f |= offered & (1ull << VIRTIO_F_GRANT_POOL);
        if (prove_bool())
            f |= offered & (1ull << VIRTIO_F_INDIRECT_DESC);
#endif
    }
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
    wr(VIRTIO_MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    //@ loop unroll 2;
    for (uint32_t q = 0; q < prove_ops.num_queues; q++) {
        wr(VIRTIO_MMIO_QUEUE_SEL, q);
        wr(VIRTIO_MMIO_QUEUE_NUM, PROVE_QSIZE);
        wr(VIRTIO_MMIO_QUEUE_DESC_LOW, prove_u32());
        wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, prove_u32());
        wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, prove_u32());
        wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, prove_u32());
        wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, prove_u32());
        wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, prove_u32());
        if (!PROVE_LIVE)
            wr(VIRTIO_MMIO_QUEUE_READY, 1);
    }
    //@ loop unroll 2;
    for (uint32_t q = 0; PROVE_LIVE && q < prove_ops.num_queues; q++) {
        wr(VIRTIO_MMIO_QUEUE_SEL, q);
        wr(VIRTIO_MMIO_QUEUE_READY, 1);
    }
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                               VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

int main(void)
{
    saved_init(&area);
    /* PROVE_LIVE: the device-specific bits go only to the device, which
     * ignores them; none keeps the driver's choice a small set. */
    dev_feature_bits = PROVE_LIVE ? 0 : prove_u64();
#ifdef PROVE_MODE
    g.mode = PROVE_MODE;
#else
    g.mode = (enum gmem_mode)(prove_u32() % 4);
#endif
#ifdef PROVE_AP
    bool ap = PROVE_AP;
#else
    bool ap = prove_bool();
#endif
    if (mmio_init(&dev, &prove_ops, NULL, &g, ap, set_irq, NULL) < 0)
        return 0;
    dev.saved = &area;
    /*
     * Counters start anywhere: more runs than the real ones (which start at
     * 0), and no decision outside their own update reads them (nor
     * config_generation, only copied and read back).  Counted from 0, two
     * paths that end in the same state differ in a counter, so EVA keeps
     * both and analyses every later step once for each (the live run in
     * foreign mode, every knob fixed: 60 s with them exact, 37 s with them
     * any).
     */
    prove_scribble(&dev.ctr, sizeof(dev.ctr));
    dev.config_generation = prove_u32();
    bring_up();
    /* Queue indices by branches, so that each is its own state. */
#if PROVE_LIVE
    /*
     * Completions while the device serves: both queues notified, one after
     * the other (the second's chain may find no room beside the first's and
     * wait), then the device's poll, which completes chains in any order
     * and resumes the waiting queue.
     */
    unsigned first;
    /*
     * One state from here: a join, so every bring-up is still covered, only
     * less precisely.  Joined are the knobs left any (ACCESS_PLATFORM
     * required, the optional features, and so each queue's event_idx and
     * indirect flags and the pool flag) and the bring-up's own outcomes (a
     * queue started or refused at any ring address, the device live or
     * needing a reset); the queue sizes are fixed, so no started queue of
     * size 0 comes of it.  EVA keeps no relation between the joined values:
     * a branch on one narrows only that one.  That was precise enough (0
     * alarms).  Kept apart, each bring-up carried its own copy of every
     * later step, and a notify's states ran past slevel and were joined
     * inside process_queue instead, where the batch being built lost its
     * size (foreign mode, the rest any, a batch keeping its members: stopped
     * unfinished at 7 minutes with the counters exact and no merge, 34 s
     * with both).  Joined after the queue is chosen, the notify would index
     * a queue in {0, 1}: it is chosen below.
     */
    /*@ slevel merge; */
#ifdef PROVE_NOTIFY_Q
    first = PROVE_NOTIFY_Q;
#else
    first = prove_bool() ? 1 : 0;
#endif
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, first);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1 - first);
    /* Evidence for run.sh that the poll below can meet a waiting queue (a
     * run where none waits would prove nothing about resuming one). */
    if (live(&dev) && dev.waiting_queues)
        Frama_C_show_each_poll_meets_waiting(dev.waiting_queues);
    in_poll = true;
    mmio_poll_device(&dev);
    in_poll = false;
#else
    unsigned q = prove_bool() ? 1 : 0;
    switch (prove_u32() % 5) {
    case 0:
        wr(VIRTIO_MMIO_QUEUE_NOTIFY, q);
        break;
    case 1:
        mmio_poll_device(&dev);
        break;
    case 2:
        if (mmio_has_deferred(&dev))
            mmio_run_deferred(&dev);
        break;
    case 3:
        wr(VIRTIO_MMIO_QUEUE_SEL, q);
        wr(VIRTIO_MMIO_QUEUE_READY, 0);
        break;
    default:
        wr(VIRTIO_MMIO_STATUS, 0);
        break;
    }
#endif
    mmio_shutdown(&dev);
    mmio_fini(&dev);
    return 0;
}
