/* Starts and stops the project's site server from a C test (blocking; before/after the loop). */
#ifndef UVCRAWL_SITEPROC_H
#define UVCRAWL_SITEPROC_H

#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "task.h"

extern char **environ;

/* Servers still running: killed if the test aborts (a failed ASSERT), or they would keep the
 * test's stderr open and meson would wait for the timeout instead of reporting the failure. */
static pid_t siteproc_children[8];

static void siteproc_on_abort(int sig) {
  for (int i = 0; i < 8; i++)
    if (siteproc_children[i] > 0) kill(siteproc_children[i], SIGKILL);
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Spawns `path args...` and reads its "port N" line. Returns the child's pid. */
static inline pid_t siteproc_start(const char *path, char *const args[], int *port) {
  int fds[2];
  pid_t pid;
  posix_spawn_file_actions_t fa;
  ASSERT_EQ(pipe(fds), 0);
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  ASSERT_EQ(posix_spawn(&pid, path, &fa, NULL, args, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  for (int i = 0; i < 8; i++)
    if (siteproc_children[i] <= 0) {
      siteproc_children[i] = pid;
      break;
    }
  signal(SIGABRT, siteproc_on_abort);
  close(fds[1]);
  FILE *f = fdopen(fds[0], "r");
  ASSERT_NOT_NULL(f);
  ASSERT_EQ(fscanf(f, "port %d", port), 1);
  fclose(f);
  return pid;
}

static inline void siteproc_stop(pid_t pid) {
  int status;
  for (int i = 0; i < 8; i++)
    if (siteproc_children[i] == pid) siteproc_children[i] = 0;
  kill(pid, SIGTERM);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
}

#endif
