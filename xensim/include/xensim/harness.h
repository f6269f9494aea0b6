/* SPDX-License-Identifier: MIT */
/* Running a backend process against a simulated guest (tests and demo). */
#ifndef XENSIM_HARNESS_H
#define XENSIM_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

struct sim_env {
    char dir[64];
};

/* A fresh XENSIM_DIR under /tmp, exported to this process and its children. */
int sim_env_init(struct sim_env *e);
void sim_env_fini(struct sim_env *e);
/* fork+exec argv (argv[0] is the binary); stderr goes to log_path if set. */
pid_t sim_spawn(char *const argv[], const char *log_path);
bool sim_alive(pid_t pid);
/* SIGTERM then wait (up to 5 s, then SIGKILL); returns the wait status. */
int sim_stop(pid_t pid);

#endif
