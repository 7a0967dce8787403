/* Platforms without statx (macOS): no mount id; flock(2) exists. */
#include "fsid.h"

#include <errno.h>
#include <sys/file.h>

int mount_id_of(int fd, uint64_t *id, enum mount_id_kind *kind) {
  (void)fd;
  *id = 0;
  *kind = MOUNT_ID_NONE;
  return 0;
}

int lock_file(int fd, int exclusive, int wait) {
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  int r;
  do r = flock(fd, op); while (r != 0 && errno == EINTR);
  return r == 0 ? 0 : -errno;
}
