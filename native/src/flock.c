/* Whole-file advisory locks, flock(2): the same on Linux and macOS. Declared in fsid.h. */
#include "fsid.h"

#include <errno.h>
#include <sys/file.h>

int lock_file(int fd, int exclusive, int wait) {
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  int r;
  do r = flock(fd, op); while (r != 0 && errno == EINTR);
  return r == 0 ? 0 : -errno;
}

int unlock_file(int fd) {
  int r;
  do r = flock(fd, LOCK_UN); while (r != 0 && errno == EINTR);
  return r == 0 ? 0 : -errno;
}
