/*
 * Facts about open files that Node.js does not expose: which mount a file is on (a number that
 * changes when its file system is unmounted and mounted again), whole-file advisory locks, and a
 * descriptor taken out of the table without its number being freed.
 * See src/native/native.ts for the TypeScript side and why each is needed.
 */
#ifndef TRACKFS_FSID_H
#define TRACKFS_FSID_H

#include <stdint.h>

/* What mount_id_of() found. */
enum mount_id_kind {
  MOUNT_ID_NONE = 0,   /* not available on this kernel or platform */
  MOUNT_ID_UNIQUE = 1, /* STATX_MNT_ID_UNIQUE (Linux 6.8+): never reused while the host is up */
  MOUNT_ID_REUSED = 2, /* STATX_MNT_ID: the number mountinfo shows; reused after an unmount */
};

/* The mount of open file `fd`. Returns 0 or a negative errno; *kind says which id it is. */
int mount_id_of(int fd, uint64_t *id, enum mount_id_kind *kind);

/* flock(2) on `fd`; returns 0 or a negative errno (-EWOULDBLOCK when held elsewhere). */
int lock_file(int fd, int exclusive, int wait);

/* Releases the flock(2) lock of `fd`'s open file description (every descriptor that shares it,
 * such as the fast path's duplicate, which is closed on a thread of its own); 0 or -errno. */
int unlock_file(int fd);

/* Points descriptor `fd` at an inert file (I/O on it fails) and closes the old one on a thread of
 * its own: see retire-fd.c for why. 0 once the swap is seen, or -errno (-ENOSYS off Linux). */
int retire_fd(int fd);

#endif
