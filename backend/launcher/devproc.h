/* SPDX-License-Identifier: MIT */
/*
 * One device process as the launcher sees it: started with fork and exec,
 * its end of the socketpair at fd 3, /dev/null as stdin and stdout, a pipe
 * as stderr (devlog.h), its own session; then CONFIG and the image fd.  What
 * it says is checked (devmsg.h); CLOSE starts a deadline after which it is
 * killed.  The launcher keeps xenstore: this module never touches it.
 */
#ifndef VG_DEVPROC_H
#define VG_DEVPROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipc/devmsg.h"
#include "launcher/devlog.h"
#include "launcher/tsinput.h"

/* The default of the launcher's --stop-timeout. */
#define DEVPROC_CLOSE_DEADLINE_MS 2000
/* Where the device process finds its end of the socketpair: `--control-fd 3`. */
#define DEVPROC_CONTROL_FD 3
#define DEVPROC_CONTROL_FD_ARG "3"

struct devproc {
    pid_t pid; /* 0: free slot */
    int sock;  /* -1 once the device closed its end */
    /*
     * Adopted from a launcher that is gone (adopt.h): not our child, so no
     * socket, no log, no exit status; a pidfd tells when it exits, and it
     * is closed with SIGTERM instead of CLOSE.
     */
    bool adopted;
    int pidfd;
    uint16_t domid;
    uint32_t devid;
    bool ready, close_sent, down_seen;
    uint32_t down_status;
    uint64_t deadline_ms; /* SIGKILL after this; 0: none */
    /*
     * How long it may take to stop after CLOSE (--stop-timeout).  Kept
     * across devproc_clear by the caller: a device with all of a large
     * guest's RAM mapped (foreign --premap) spends seconds in munmap.
     */
    uint64_t close_deadline_ms;
    struct devlog log;    /* its stderr */
    /*
     * What a replacement needs if the process is killed while serving: the
     * state area it writes (a sealed memfd, transport/saved.h; never read
     * here), the image, its configuration, and the ioreq server id the first
     * process reported with READY (-1 before; a replacement must report the
     * same).  An adopted process has none of these and is not replaced.
     */
    int state_fd, image_fd;
    struct devmsg_config cfg;
    int ioservid;          /* cfg.resume: this process replaces a killed one */
    bool killed_here;      /* the launcher sent it SIGKILL (never replaced then) */
    uint64_t died_ms;      /* when its predecessor was reaped */
    uint64_t restart_window_ms;
    unsigned restarts_in_window;
    /* SIGUSR1's status table: asked (one answer allowed), and the last answer. */
    bool stats_asked, stats_known;
    struct devmsg_stats stats;
};

enum devproc_event { DEVPROC_NOTHING, DEVPROC_READY };

uint64_t devproc_now_ms(void);
/* Ask a serving process for its counters (STATS); false if it cannot answer now. */
bool devproc_ask_stats(struct devproc *d);
void devproc_clear(struct devproc *d);
/* Start the process for td, handing it img; on success the slot is live. */
int devproc_start(struct devproc *d, const struct ts_device *td, int img, char *const argv[],
                  int devnull);
/*
 * Its process was killed while serving: start a replacement on the same
 * server, state area and image.  0, or negative errno (the slot is then as
 * devproc_exited left it: release it).
 */
int devproc_restart(struct devproc *d, char *const argv[], int devnull);
/* What it said since the last call: DEVPROC_READY once, when it reports READY. */
enum devproc_event devproc_read(struct devproc *d);
void devproc_close(struct devproc *d, uint32_t reason);
void devproc_kill(struct devproc *d, const char *why);
/* It was reaped with @status: drain it, and the error text for libxl (NULL: a clean close). */
const char *devproc_exited(struct devproc *d, int status);
/* Take over a device process a previous launcher started (adopt_scan checked it). */
void devproc_adopt(struct devproc *d, uint16_t domid, uint32_t devid, pid_t pid, int pidfd);
/* Close what is left and free the slot. */
void devproc_release(struct devproc *d);

#endif
