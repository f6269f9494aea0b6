/* SPDX-License-Identifier: MIT */
/*
 * The launcher tests' rig: the simulator's xenstored and environment (one per
 * test binary, cmocka group set-up), `virtio-grant-sim watch` started as dom0
 * or as a driver domain, its log, and a simulated guest with one disk that a
 * toolstack (tests/common/toolstack.c) writes for it.
 */
#ifndef VG_TEST_LAUNCHER_RIG_H
#define VG_TEST_LAUNCHER_RIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/rig.h"
#include "../common/toolstack.h"

#define DOMID 7
#define DD_DOMID 5
#define DD_DOMID_STR "5"
#define WAIT_MS 5000

extern struct sim_env env;
extern pid_t xsd;
extern struct xs_handle *xs;
extern char images[128], disk[160];
/* The launchers' --state-dir (launcher/adopt.h), shared by a binary's launchers. */
extern char state_dir[160];

/* A launcher process and the file its output goes to. */
struct launcher {
    pid_t pid;
    char log[160];
};

/* A guest that exists and one disk directory for it, as libxl writes it. */
struct guest_dir {
    struct simdom *d;
    struct tstk_disk td;
};

/* A guest with one disk, served by a device process the launcher started. */
struct served {
    struct simdom *d;
    struct vdrv v;
    struct tstk_disk disk;
    pid_t dev;
};

uint64_t now_ms(void);
int group_setup(void **state);
int group_teardown(void **state);
int log_count(const struct launcher *L, const char *a, const char *b);
bool log_grows(const struct launcher *L, const char *a, const char *b, int before,
               int timeout_ms);
bool log_has(const struct launcher *L, const char *needle, int timeout_ms);
void dump_log(const struct launcher *L);
void launcher_up_as(struct launcher *L, const char *self, const char *bin,
                    const char *opt, const char *arg);
void launcher_up_opts(struct launcher *L, const char *bin, const char *opt,
                      const char *arg);
void launcher_up_bin(struct launcher *L, const char *bin);
void launcher_up(struct launcher *L);
void launcher_up_probe(struct launcher *L, const char *what);
bool sandbox_off(void);
void guest_dir_up(struct guest_dir *g);
void guest_dir_down(struct guest_dir *g);
void expect_died_and_closed(struct guest_dir *g);
void launcher_down(struct launcher *L);
pid_t device_pid(const struct launcher *L);
/*
 * Guest @domid (@nr_vcpus vCPUs) with one disk for backend domain @be (its
 * xenstore home @be_home, NULL for ours): its device process up (InitWait),
 * the driver probed.
 */
void guest_up(struct launcher *L, struct served *s, uint16_t domid, uint32_t nr_vcpus,
              enum vdrv_dma dma, uint16_t be, const char *be_home);
void serve_guest_by(struct launcher *L, struct served *s, enum vdrv_dma dma, uint16_t be,
                    const char *be_home);
void serve_guest_dma(struct launcher *L, struct served *s, enum vdrv_dma dma);
void serve_guest(struct launcher *L, struct served *s);
bool pid_gone(pid_t pid, int timeout_ms);
void close_by_toolstack(struct served *s);
void unserve_guest(struct served *s);

#endif
