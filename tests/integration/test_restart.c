/* SPDX-License-Identifier: MIT */
/*
 * A device process killed while serving (issue 15, item 4), on the
 * simulator: the launcher replaces it on the same ioreq server and state
 * area, the replacement serves again the chains the dead one had taken, and
 * the guest's verified writes finish without an error.  Then the state area
 * is the hostile input it is: each field a compromised device process could
 * have written, changed before the kill, must break only the guest's device
 * (DEVICE_NEEDS_RESET), never the replacement process.
 *
 * VG_RESTART_KILLS kills at random points (40 in make check).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/checked.h"
#include "launcher_rig.h"
#include "transport/saved.h"

#define REQS 8                /* writes in flight per round */
#define REQ_BYTES (16 * 1024) /* each: 32 sectors */
#define S_NEEDS_RESET 64u

/* Each replacement's "serving again, N ms after" figure, in order. */
static unsigned service_gaps(const struct launcher *L, unsigned *ms, unsigned max)
{
    FILE *f = fopen(L->log, "r");
    char line[1024];
    unsigned n = 0;
    while (f && fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, "serving again, ");
        if (p && n < max)
            ms[n++] = (unsigned)atoi(p + strlen("serving again, "));
    }
    if (f)
        fclose(f);
    return n;
}

/* Chains the replacements served again, summed over their "restarted on" lines. */
static unsigned chains_served_again(const struct launcher *L)
{
    FILE *f = fopen(L->log, "r");
    char line[1024];
    unsigned total = 0, id, n;
    while (f && fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, "restarted on ioreq server ");
        if (p && sscanf(p, "restarted on ioreq server %u: %u chains", &id, &n) == 2)
            total += n;
    }
    if (f)
        fclose(f);
    return total;
}

static int cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

struct killer {
    const struct launcher *L;
    unsigned kills;
    _Atomic unsigned done;
    _Atomic bool stop;
    unsigned seed;
};

/* Kill the serving process at a random point, wait for its replacement, again. */
static void *kill_loop(void *arg)
{
    struct killer *k = arg;
    for (unsigned i = 0; i < k->kills && !atomic_load(&k->stop); i++) {
        usleep(1000u * (rand_r(&k->seed) % 30u) + (unsigned)(rand_r(&k->seed) % 1000u));
        pid_t pid = device_pid(k->L);
        if (pid <= 0 || kill(pid, SIGKILL) < 0)
            break;
        int before = (int)i;
        if (!log_grows(k->L, "serving again", NULL, before, WAIT_MS))
            break;
        atomic_store(&k->done, i + 1);
    }
    atomic_store(&k->stop, true);
    return NULL;
}

/* One round: REQS writes in flight at once, then each read back. */
static void verified_round(struct served *s, unsigned round)
{
    static uint8_t w[REQS][REQ_BYTES], r[REQ_BYTES];
    static struct vdrv_blk_req req[REQS];
    for (unsigned j = 0; j < REQS; j++) {
        rig_pattern(w[j], REQ_BYTES, round * REQS + j + 1);
        req[j] = (struct vdrv_blk_req){ .type = T_OUT, .sector = 64u * j, .data = w[j],
                                        .len = REQ_BYTES };
        assert_int_equal(vdrv_blk_submit(&s->v, &req[j]), 0);
    }
    assert_true(vdrv_kick(&s->v) >= 0);
    uint64_t deadline = now_ms() + 4 * WAIT_MS;
    for (;;) {
        unsigned done = 0;
        for (unsigned j = 0; j < REQS; j++)
            done += req[j].done;
        if (done == REQS)
            break;
        if (now_ms() > deadline)
            fail_msg("round %u: %u of %u writes completed", round, done, REQS);
        vdrv_reap(&s->v, 200);
    }
    for (unsigned j = 0; j < REQS; j++) {
        if (req[j].status != S_OK)
            fail_msg("round %u: write %u status %u", round, j, req[j].status);
        assert_int_equal(vdrv_blk_sync(&s->v, T_IN, 64u * j, r, REQ_BYTES), S_OK);
        if (memcmp(w[j], r, REQ_BYTES) != 0)
            fail_msg("round %u: write %u read back different", round, j);
    }
    assert_false(s->v.needs_reset);
}

static void test_killed_device_replaced_under_io(void **state)
{
    (void)state;
    const char *e = getenv("VG_RESTART_KILLS");
    struct killer k = { .kills = e ? (unsigned)atoi(e) : 40, .seed = (unsigned)getpid() };
    struct launcher L;
    launcher_up_opts(&L, getenv("VG_BACKEND"), "--restart-limit", "1000");
    struct served s;
    serve_guest(&L, &s);
    k.L = &L;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, kill_loop, &k), 0);
    unsigned round = 0;
    while (!atomic_load(&k.stop))
        verified_round(&s, round++);
    pthread_join(t, NULL);
    verified_round(&s, round++);
    if (atomic_load(&k.done) != k.kills) {
        dump_log(&L);
        fail_msg("%u of %u kills were followed by a replacement", atomic_load(&k.done), k.kills);
    }
    unsigned gaps[1024];
    unsigned n = service_gaps(&L, gaps, 1024);
    assert_int_equal(n, k.kills);
    qsort(gaps, n, sizeof(gaps[0]), cmp_unsigned);
    int resumed = log_count(&L, "restarted on ioreq server", NULL);
    unsigned again = chains_served_again(&L);
    printf("restart: %u kills in %u verified rounds of %u writes; service gap (death seen to "
           "replacement ready) median %u ms, worst %u ms; %u chains in flight at a kill "
           "served again\n",
           n, round, REQS, gaps[n / 2], gaps[n - 1], again);
    assert_int_equal(resumed, (int)n);
    /* Kills land mostly while writes are in flight: the point of the test. */
    assert_true(again > 0);
    assert_int_equal(log_count(&L, "state was refused", NULL), 0);
    assert_int_equal(s.v.grant_busy, 0);
    s.dev = device_pid(&L);
    close_by_toolstack(&s);
    unserve_guest(&s);
    launcher_down(&L);
}

/* The launcher's memfd for the device, mapped here as a compromised device would see it. */
static struct saved_area *map_state_area(pid_t launcher)
{
    char dir[64], path[384], link[256];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)launcher);
    DIR *d = opendir(dir);
    struct saved_area *a = NULL;
    for (struct dirent *e; d && !a && (e = readdir(d));) {
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ssize_t n = readlink(path, link, sizeof(link) - 1);
        if (n <= 0)
            continue;
        link[n] = 0;
        if (!strstr(link, "memfd:virtio-grant-state"))
            continue;
        int fd = open(path, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        void *p = mmap(NULL, SAVED_AREA_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        assert_true(p != MAP_FAILED);
        a = p;
    }
    if (d)
        closedir(d);
    assert_non_null(a);
    return a;
}

typedef void (*tamper_fn)(struct saved_area *a, struct saved_regs *s, struct saved_queue *q);

static void t_nothing(struct saved_area *a, struct saved_regs *s, struct saved_queue *q)
{
    (void)a, (void)s, (void)q;
}
static void t_magic(struct saved_area *a, struct saved_regs *s, struct saved_queue *q)
{
    (void)s, (void)q;
    a->magic = 0x12345678;
}
static void t_slot(struct saved_area *a, struct saved_regs *s, struct saved_queue *q)
{
    (void)s, (void)q;
    a->slot = 7;
}
static void t_queue_size(struct saved_area *a, struct saved_regs *s, struct saved_queue *q)
{
    (void)a, (void)s;
    q->size = 1024;
}
static void t_features(struct saved_area *a, struct saved_regs *s, struct saved_queue *q)
{
    (void)a, (void)q;
    s->drv_features |= 1ull << 50;
}
static void t_status(struct saved_area *a, struct saved_regs *s, struct saved_queue *q)
{
    (void)a, (void)q;
    s->status = 1 | 2 | 4; /* DRIVER_OK without FEATURES_OK */
}
static void t_ring_address(struct saved_area *a, struct saved_regs *s, struct saved_queue *q)
{
    (void)a, (void)s;
    q->desc = 0x1000; /* no grant behind it */
}
static void t_head_beyond(struct saved_area *a, struct saved_regs *s, struct saved_queue *q)
{
    (void)a, (void)s;
    q->taken[200] = 1; /* the queue has 64 entries */
}
static void t_too_many(struct saved_area *a, struct saved_regs *s, struct saved_queue *q)
{
    (void)a, (void)s;
    q->taken[0] = 65;
}
static void t_used_idx(struct saved_area *a, struct saved_regs *s, struct saved_queue *q)
{
    (void)a, (void)s;
    q->used_idx += 5;
}
static void t_publish_marker(struct saved_area *a, struct saved_regs *s, struct saved_queue *q)
{
    (void)a, (void)s;
    q->pub_head = 0;
    q->pub_target = (uint16_t)(q->used_idx + 7);
    q->pub_taken = 1;
    q->pub_set = 1;
}
static void t_queue_unoffered(struct saved_area *a, struct saved_regs *s, struct saved_queue *q)
{
    (void)a, (void)q;
    s->q[3].size = 64; /* a queue the driver never set up */
    s->q[3].ready = 1;
}

/*
 * Serve a guest, stop its device process, change its state area, kill it:
 * the replacement refuses (or, untouched, accepts) the state, and is alive.
 */
static void expect_resume(tamper_fn tamper, bool refused, const char *what)
{
    struct launcher L;
    launcher_up_opts(&L, getenv("VG_BACKEND"), "--restart-limit", "10");
    struct served s;
    serve_guest(&L, &s);
    pid_t dev = device_pid(&L);
    struct saved_area *a = map_state_area(L.pid);
    kill(dev, SIGSTOP);
    struct saved_regs *cur = &a->s[a->slot & 1];
    tamper(a, cur, &cur->q[0]);
    kill(dev, SIGKILL);
    if (!log_has(&L, "serving again", WAIT_MS)) {
        dump_log(&L);
        fail_msg("%s: no replacement", what);
    }
    pid_t repl = device_pid(&L);
    assert_true(repl > 0 && repl != dev);
    bool said_refused = log_has(&L, "state was refused", refused ? WAIT_MS : 200);
    uint32_t status = vdrv_status(&s.v);
    if (said_refused != refused || !!(status & S_NEEDS_RESET) != refused) {
        dump_log(&L);
        fail_msg("%s: refused %d, status 0x%x", what, said_refused, status);
    }
    assert_int_equal(kill(repl, 0), 0); /* the guest's device, not the process */
    if (!refused) {
        static uint8_t w[4096], r[4096];
        rig_pattern(w, sizeof(w), 99);
        assert_int_equal(vdrv_blk_sync(&s.v, T_OUT, 8, w, sizeof(w)), S_OK);
        assert_int_equal(vdrv_blk_sync(&s.v, T_IN, 8, r, sizeof(r)), S_OK);
        assert_memory_equal(w, r, sizeof(w));
    } else {
        /* The driver was live: it is told (ISR's configuration bit, the line up). */
        if (!(vdrv_read32(&s.v, 0x060) & 2u) || !simdom_irq_level(s.d, s.v.o.irq)) {
            dump_log(&L);
            fail_msg("%s: refused without a configuration interrupt", what);
        }
        /* The guest resets its device and is served again by the same process. */
        vdrv_remove(&s.v);
        struct vdrv_opts o = { .base = RIG_BASE, .irq = RIG_IRQ, .dma = VDRV_DMA_GRANT,
                               .queue_size = 64, .indirect = true, .event_idx = true };
        assert_int_equal(vdrv_probe(&s.v, s.d, &o), 0);
        static uint8_t r[4096];
        assert_int_equal(vdrv_blk_sync(&s.v, T_IN, 8, r, sizeof(r)), S_OK);
        assert_int_equal(device_pid(&L), repl);
    }
    munmap(a, SAVED_AREA_BYTES);
    s.dev = repl;
    close_by_toolstack(&s);
    unserve_guest(&s);
    launcher_down(&L);
}

static void test_state_untouched_resumes(void **state)
{
    (void)state;
    expect_resume(t_nothing, false, "untouched");
}

static void test_state_refused(void **state)
{
    (void)state;
    static const struct {
        tamper_fn fn;
        const char *what;
    } cases[] = {
        { t_magic, "bad magic" },
        { t_slot, "slot out of range" },
        { t_queue_size, "queue size above QueueNumMax" },
        { t_features, "features not offered" },
        { t_status, "DRIVER_OK without FEATURES_OK" },
        { t_ring_address, "ring at an ungranted address" },
        { t_head_beyond, "a head beyond the queue" },
        { t_too_many, "more chains taken than the queue holds" },
        { t_used_idx, "used index not the guest's" },
        { t_publish_marker, "a publish marker the guest's index cannot match" },
        { t_queue_unoffered, "a queue the driver never set up" },
    };
    for (size_t i = 0; i < VG_ARRAY_SIZE(cases); i++)
        expect_resume(cases[i].fn, true, cases[i].what);
}

/*
 * Any death but a SIGKILL from elsewhere is the device's own doing (SIGSYS
 * from the jail, SIGSEGV, an exit) and is not retried: the device closes,
 * Closed is written, no replacement starts.
 */
static void test_crash_not_replaced(void **state)
{
    (void)state;
    static const int sigs[] = { SIGSEGV, SIGSYS };
    for (size_t i = 0; i < VG_ARRAY_SIZE(sigs); i++) {
        struct launcher L;
        launcher_up_opts(&L, getenv("VG_BACKEND"), "--restart-limit", "10");
        struct served s;
        serve_guest(&L, &s);
        assert_int_equal(kill(s.dev, sigs[i]), 0);
        if (tstk_wait_state(xs, &s.disk, 6, WAIT_MS) < 0) {
            dump_log(&L);
            fail_msg("signal %d: no Closed", sigs[i]);
        }
        assert_true(pid_gone(s.dev, WAIT_MS));
        assert_int_equal(log_count(&L, "replaces pid", NULL), 0);
        vdrv_remove(&s.v);
        unserve_guest(&s);
        launcher_down(&L);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_untouched_resumes),
        cmocka_unit_test(test_state_refused),
        cmocka_unit_test(test_crash_not_replaced),
        cmocka_unit_test(test_killed_device_replaced_under_io),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
