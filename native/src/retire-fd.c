/*
 * retire_fd: takes a file out of this process's descriptor table without closing the number.
 *
 * Why: a descriptor of a file on a stalled device (a FUSE or network file system that no longer
 * answers) is a trap for every fork the daemon makes afterwards (fusermount, umount, a probe). The
 * child inherits it, and exec closes it (close-on-exec), which flushes it; the flush never
 * returns, so the exec never completes, and libuv's spawn waits for the exec on the event loop.
 * Closing the number is no answer either: a native request that counted itself in before the gates
 * closed may still pass that number to pread/pwrite, and a reused number would send its I/O to
 * another file. So the number is pointed at an inert file instead (dup3 over it): I/O on it fails
 * (EBADF), and the old file is closed by that dup3, on a thread of its own since the close flushes.
 * Declared in fsid.h.
 */
#define _GNU_SOURCE
#include "fsid.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#ifdef O_PATH

struct retire_args {
  int inert;
  int fd;
};

static void *swap_in_inert(void *arg) {
  struct retire_args *a = arg;
  dup3(a->inert, a->fd, O_CLOEXEC); /* replaces the table entry, then flushes the old file */
  close(a->inert);
  free(a);
  return NULL;
}

/* An O_PATH descriptor: F_GETFL needs no I/O, and the image is never opened O_PATH. */
static int is_inert(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && (flags & O_PATH) == O_PATH;
}

int retire_fd(int fd) {
  if (fd < 0) return -EBADF;
  if (is_inert(fd)) return 0;
  struct retire_args *a = malloc(sizeof *a);
  if (!a) return -ENOMEM;
  a->fd = fd;
  a->inert = open("/", O_PATH | O_CLOEXEC);
  if (a->inert < 0) {
    int e = errno;
    free(a);
    return -e;
  }
  pthread_attr_t attr;
  pthread_t t;
  int started = pthread_attr_init(&attr) == 0 && pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
                pthread_create(&t, &attr, swap_in_inert, a) == 0;
  pthread_attr_destroy(&attr);
  if (!started) {
    close(a->inert);
    free(a);
    return -EAGAIN;
  }
  /* dup3 swaps the entry before it flushes the old file: the swap shows within moments. */
  for (int i = 0; i < 500; i++) {
    if (is_inert(fd)) return 0;
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  return -ETIMEDOUT;
}

#else

/* macOS has no O_PATH, and no fusermount: the daemon's only fork there is umount(8). */
int retire_fd(int fd) {
  (void)fd;
  return -ENOSYS;
}

#endif
