/* SPDX-License-Identifier: MIT */
/*
 * A small in-memory xenstored for the simulator.  Backends reach it through
 * xensim/lib/sim_xenstore.c, which implements the <xenstore.h> API.
 */
#ifndef XENSIM_SIMXS_H
#define XENSIM_SIMXS_H

#include <sys/types.h>

/*
 * Fork a server listening on the abstract socket $XENSIM_DIR/xenstored
 * (XENSIM_DIR must be set, e.g. by sim_env_init).  It returns once the
 * server's tree exists and connections are accepted; the server dies with
 * the calling thread.  Returns the server's pid, or -errno.
 */
pid_t simxs_start(void);

/* Terminate and reap the server: 0 if it was running and stopped, else -errno. */
int simxs_stop(pid_t pid);

#endif
