/* Platforms without statx (macOS): no mount id (the locks are in flock.c). */
#include "fsid.h"


int mount_id_of(int fd, uint64_t *id, enum mount_id_kind *kind) {
  (void)fd;
  *id = 0;
  *kind = MOUNT_ID_NONE;
  return 0;
}
