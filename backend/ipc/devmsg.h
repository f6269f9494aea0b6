/* SPDX-License-Identifier: MIT */
/*
 * The launcher and a device process talk over one SOCK_SEQPACKET socketpair
 * in fixed-size messages.  The launcher is trusted by the device; the device
 * is not trusted by the launcher (it serves a hostile guest), so everything
 * the launcher receives is checked with devmsg_is_valid_from_device() and
 * any fd that arrives with it is closed.
 *
 *   launcher -> device  CONFIG (+ the image fd)  once, right after exec
 *   launcher -> device  STATE (+ a memfd)        right after CONFIG: the area the
 *                                                device keeps its state in
 *                                                (transport/saved.h)
 *   device -> launcher  READY (ioreq server id)  ioreq server live, jail up
 *   launcher -> device  STATS_REQ                 the counters, for the status table
 *   device -> launcher  STATS (counters)          one reply per request; shown, never
 *                                                acted on
 *   launcher -> device  CLOSE (reason)           stop serving, tear down
 *   device -> launcher  DOWN (status)            torn down, about to exit
 *
 * EOF on either side means the other is gone.  A device process killed while
 * serving is replaced: its successor gets CONFIG with resume set and the
 * server id the first process reported, and the same STATE area.
 */
#ifndef VG_DEVMSG_H
#define VG_DEVMSG_H

#include <stdbool.h>
#include <stdint.h>

enum devmsg_type {
    DEVMSG_CONFIG = 1,
    DEVMSG_READY = 2,
    DEVMSG_CLOSE = 3,
    DEVMSG_DOWN = 4,
    DEVMSG_STATE = 5,
    DEVMSG_STATS_REQ = 6,
    DEVMSG_STATS = 7,
};

enum devmsg_close_reason {
    DEVMSG_CLOSE_TOOLSTACK = 1, /* state Closing or online=0 */
    DEVMSG_CLOSE_GUEST_GONE,    /* the domain was released */
    DEVMSG_CLOSE_DIR_GONE,      /* the toolstack removed the directory */
    DEVMSG_CLOSE_LAUNCHER_STOP, /* the launcher was asked to stop */
};

/* DOWN's status: why the device stopped.  The launcher maps it to fixed text. */
enum devmsg_down_status {
    DEVMSG_DOWN_CLOSED = 0,  /* after CLOSE or a signal */
    DEVMSG_DOWN_SETUP = 1,   /* set-up or the jail failed; the guest was never served */
    DEVMSG_DOWN_SERVE = 2,   /* a host error while serving */
};

#define DEVMSG_SERIAL_BYTES 20

/* What the toolstack said about the device, validated by the launcher. */
struct devmsg_config {
    uint16_t domid;
    uint8_t read_only;
    uint8_t resume; /* 1: replace a killed process, on its server and state */
    uint32_t devid;
    uint32_t irq;
    uint32_t ioservid; /* resume only: the server to attach to; 0 otherwise */
    uint64_t base, size;
    uint64_t ram_size; /* foreign mode only; 0 in grant mode */
    char serial[DEVMSG_SERIAL_BYTES + 1];
    char pad3[3];
};

/* What a device says about itself when asked (SIGUSR1 to the launcher). */
struct devmsg_stats {
    uint64_t chains;                /* requests completed */
    uint64_t pages_now, pages_peak; /* guest pages mapped, rings included */
};

struct devmsg {
    uint32_t type;
    uint32_t arg; /* CLOSE: reason; DOWN: status; READY: ioreq server id; else 0 */
    struct devmsg_config cfg;   /* CONFIG only; zero otherwise */
    struct devmsg_stats stats;  /* STATS only; zero otherwise */
};

/* Send one message, with fd attached if fd >= 0.  Negative errno on failure. */
int devmsg_send(int sock, const struct devmsg *m, int fd);
/*
 * Receive one whole message.  With fd == NULL no fd may arrive; otherwise
 * exactly one must.  A short, truncated or oversized message, or a stray or
 * missing fd, is -EBADMSG and every fd it carried is closed.  -EPIPE on EOF,
 * -EAGAIN if nothing is pending on a non-blocking socket.
 */
int devmsg_recv(int sock, struct devmsg *m, int *fd);

/* What a device process may say, in the state the launcher has it in. */
bool devmsg_is_valid_from_device(const struct devmsg *m, bool ready_seen, bool stats_asked);
/* The checks a device applies to the CONFIG it got (the launcher checked them first). */
bool devmsg_is_valid_config(const struct devmsg_config *c);

const char *devmsg_close_reason_name(uint32_t reason);

#endif
