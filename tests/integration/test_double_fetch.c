/* SPDX-License-Identifier: MIT */
/*
 * Double fetch (XSA-155 class): while the backend process serves requests,
 * a second guest thread keeps rewriting descriptors and avail-ring entries
 * of the live ring between notify and completion.  The backend copies each
 * shared field once and validates the copy, so it serves what it fetched or
 * breaks the device (DEVICE_NEEDS_RESET); the process never crashes (the
 * sanitizer build runs this too), leaves no grant mapped, and after a reset
 * serves clean requests correctly.  (A request's status byte proves nothing
 * here: a rewritten address can legitimately steer data over it.)
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/rig.h"

static atomic_bool stop, paused;
static atomic_ulong mutations;

struct mutator {
    struct vdrv *v;
    unsigned seed;
    bool avail_too;
};

/* Rewrite one field of a random descriptor (or avail entry) at a time. */
static void *mutate(void *arg)
{
    struct mutator *m = arg;
    struct vdrv *v = m->v;
    unsigned s = m->seed;
    while (!atomic_load(&stop)) {
        if (atomic_load(&paused)) {
            usleep(100);
            continue;
        }
        uint16_t i = (uint16_t)(rand_r(&s) % v->qsize);
        uint8_t *d = v->desc + 16u * i;
        switch (rand_r(&s) % (m->avail_too ? 6 : 5)) {
        case 0: { /* addr: a nearby ref, or bit 63 cleared */
            uint64_t a;
            memcpy(&a, d, 8);
            a = (rand_r(&s) & 1) ? a + ((uint64_t)(rand_r(&s) % 5) << 12) : a & ~(1ull << 63);
            memcpy(d, &a, 8);
            break;
        }
        case 1: { /* len */
            uint32_t l = (rand_r(&s) & 1) ? (uint32_t)rand_r(&s) : (uint32_t)(rand_r(&s) % 70000);
            memcpy(d + 8, &l, 4);
            break;
        }
        case 2: { /* flags */
            uint16_t f = (uint16_t)(rand_r(&s) & 7);
            memcpy(d + 12, &f, 2);
            break;
        }
        case 3: { /* next */
            uint16_t n = (uint16_t)(rand_r(&s) % (v->qsize + 2u));
            memcpy(d + 14, &n, 2);
            break;
        }
        case 4: /* leave this one alone for a moment */
            break;
        default: { /* an avail ring entry */
            uint16_t h = (uint16_t)(rand_r(&s) % (v->qsize + 1u));
            memcpy(v->avail + 4 + 2u * i, &h, 2);
            break;
        }
        }
        atomic_fetch_add(&mutations, 1);
        /* Slow enough that many requests complete between breakages. */
        usleep(50 + rand_r(&s) % 400);
    }
    return NULL;
}

static void run(bool avail_too, unsigned seed)
{
    struct rig r;
    assert_int_equal(rig_up(&r, NULL, VDRV_DMA_GRANT, true), 0);
    static uint8_t buf[16][8192];
    static struct vdrv_blk_req req[16];
    atomic_store(&stop, false);
    atomic_store(&paused, false);
    atomic_store(&mutations, 0);
    struct mutator m = { &r.v, seed, avail_too };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, mutate, &m), 0);
    unsigned completed = 0, episodes = 0;
    for (unsigned round = 0; round < 300; round++) {
        if (r.v.needs_reset) {
            /* The guest broke the device: reset it, as a driver would, and go on. */
            atomic_store(&paused, true);
            vdrv_remove(&r.v);
            assert_int_equal(rig_default_probe(&r, VDRV_DMA_GRANT), 0);
            atomic_store(&paused, false);
            episodes++;
        }
        unsigned n = 0;
        for (; n < 8; n++) {
            req[n] = (struct vdrv_blk_req){ .type = (round + n) % 2 ? T_OUT : T_IN,
                                            .sector = (round * 8 + n) % 64,
                                            .data = buf[n], .len = 4096u * (1 + n % 2) };
            if (vdrv_blk_submit(&r.v, &req[n]) < 0)
                break;
        }
        vdrv_kick(&r.v);
        for (int tries = 0; tries < 20 && !r.v.needs_reset; tries++) {
            vdrv_reap(&r.v, 20);
            bool all = true;
            for (unsigned i = 0; i < n; i++)
                all = all && req[i].done;
            if (all)
                break;
        }
        for (unsigned i = 0; i < n; i++)
            completed += req[i].done;
        /* A request a live device never completes would be a hang: count it as broken. */
        for (unsigned i = 0; i < n; i++)
            if (!req[i].done)
                r.v.needs_reset = true;
    }
    atomic_store(&stop, true);
    pthread_join(t, NULL);
    print_message("double fetch (%s): %lu mutations, %u requests completed, %u resets\n",
                  avail_too ? "descriptors and avail" : "descriptors",
                  (unsigned long)atomic_load(&mutations), completed, episodes);
    assert_true(atomic_load(&mutations) > 0);
    assert_true(completed > 0);
    /* The mutator is gone: after a reset the device serves correctly again. */
    vdrv_remove(&r.v);
    assert_int_equal(rig_default_probe(&r, VDRV_DMA_GRANT), 0);
    static uint8_t w[8192], rd[8192];
    for (size_t i = 0; i < sizeof(w); i++)
        w[i] = (uint8_t)(i * 7 + seed);
    assert_int_equal(vdrv_blk_sync(&r.v, T_OUT, 100, w, sizeof(w)), 0);
    assert_int_equal(vdrv_blk_sync(&r.v, T_IN, 100, rd, sizeof(rd)), 0);
    assert_memory_equal(w, rd, sizeof(w));
    /* alive, exits 0 on SIGTERM, no grant left mapped */
    assert_int_equal(rig_down(&r), 0);
}

static void test_c07_double_fetch_descriptors(void **state)
{
    (void)state;
    run(false, 1);
}

static void test_c07_double_fetch_descriptors_and_avail(void **state)
{
    (void)state;
    run(true, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c07_double_fetch_descriptors),
        cmocka_unit_test(test_c07_double_fetch_descriptors_and_avail),
    };
    return cmocka_run_group_tests(tests, rig_group_setup, rig_group_teardown);
}
