/*
 * The libfuse 2.9 side of the native data path: a stacked file-system module named "trackfs"
 * that sits above the file system fuse-native builds, serves reads and recorded rewrites through
 * the core (fastpath.h) and forwards everything else with the fuse_fs_* functions.
 *
 * An instance is the state of one mount. JavaScript creates it (fp_instance_new) and passes its
 * id to the mount in the option string ("modules=trackfs,trackfs_fastpath=<id>"); libfuse calls
 * the module's factory inside fuse_new, which claims the instance by that id. An instance is
 * claimed by one mount at most, once.
 */
#ifndef TRACKFS_FASTPATH_FUSE_H
#define TRACKFS_FASTPATH_FUSE_H

#include <stdatomic.h>
#include <stdint.h>

#include "fastpath.h"

#define FP_MODULE_NAME "trackfs"
#define FP_MODULE_OPTION "trackfs_fastpath"

struct fuse_fs;

struct fp_instance {
  struct fp_state st;
  /* Immutable after fp_instance_new. */
  uint32_t id;
  /* [atomic] One reference for JavaScript (until fp_instance_release_js) and one for libfuse (from
   * the factory until the module's destroy, which libfuse calls after joining every worker). The
   * last one frees the instance: no worker can be inside it then. */
  _Atomic int refs;
  /* [registry lock] */
  int claimed;
  struct fp_instance *next;
  /* Set by the factory before libfuse can call the module; immutable after. */
  struct fuse_fs *below;
};

/* Registers the module with libfuse, once per process. Call it on the thread that mounts (Node's
 * main thread: fuse-native mounts from it), before the mount: libfuse's module list has no lock
 * of its own outside fuse_new. */
void fp_module_register(void);

struct fp_instance *fp_instance_new(void);
/* JavaScript's reference is gone: the instance can no longer be claimed, and is freed when libfuse
 * lets go of it too (or now, if no mount claimed it). */
void fp_instance_release_js(struct fp_instance *inst);

/* The paths of the libfuse copies loaded in this process (up to max). The module works only if
 * fuse-native and this addon resolved the same one. Returns how many were found. */
int fp_libfuse_copies(char paths[][512], int max);

#endif
