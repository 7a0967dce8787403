/* Linux: statx(2) for the mount id (the locks are in flock.c). */
#define _GNU_SOURCE
#include "fsid.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

/* Debian 12's headers predate Linux 6.8. The kernel ignores mask bits it does not know. */
#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif

int mount_id_of(int fd, uint64_t *id, enum mount_id_kind *kind) {
  struct statx stx;
  /* AT_STATX_DONT_SYNC: cached attributes only, so a network file system is not asked. */
  if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID | STATX_MNT_ID_UNIQUE, &stx) != 0) return -errno;
  if (stx.stx_mask & STATX_MNT_ID_UNIQUE) {
    *kind = MOUNT_ID_UNIQUE;
  } else if (stx.stx_mask & STATX_MNT_ID) {
    *kind = MOUNT_ID_REUSED;
  } else {
    *kind = MOUNT_ID_NONE;
    return 0;
  }
  *id = stx.stx_mnt_id;
  return 0;
}
