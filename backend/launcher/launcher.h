/* SPDX-License-Identifier: MIT */
/*
 * `virtio-grant watch`: the unjailed launcher.  It alone holds xenstore: it
 * watches backend/virtio_disk under its own domain's home, validates each new
 * directory (tsinput.h), opens the image (image.h), and starts one jailed
 * device process per device, handing it the configuration and the image fd
 * (devmsg.h).  It does the whole XenbusState handshake for the device, tells
 * it when the toolstack closes it or the guest dies, and kills it if it does
 * not stop within DEVPROC_CLOSE_DEADLINE_MS (devproc.h).
 */
#ifndef VG_LAUNCHER_H
#define VG_LAUNCHER_H

#define LAUNCHER_MAX_DEVICES 64
/* Replacements of a killed device process, per device per minute (--restart-limit). */
#define LAUNCHER_RESTART_LIMIT 10

int launcher_run(int argc, char **argv);

#endif
