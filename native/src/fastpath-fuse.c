/*
 * The "trackfs" libfuse 2.9 module (see fastpath-fuse.h). libfuse pushes it above fuse-native's
 * file system when the mount options say modules=trackfs. Its read_buf and write ask the core
 * (fastpath.c) first; everything else, and whatever the core declines, goes to the file system
 * below through fuse_fs_*(below, ...), which also sets the context's private data to the lower
 * file system's, so fuse-native beneath works unchanged.
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 26
#include "fastpath-fuse.h"

#include <fuse.h>
#include <fuse_opt.h>

#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct fp_instance *self(void) { return fuse_get_context()->private_data; }
static struct fuse_fs *below(void) { return self()->below; }

/* ------------------------------------------------------------ the data path ---- */

static int fpm_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size, off_t off, struct fuse_file_info *fi) {
  struct fp_instance *inst = self();
  /* libfuse frees both with free() (fuse_free_buf). */
  struct fuse_bufvec *bv = malloc(sizeof *bv);
  char *mem = malloc(size > 0 ? size : 1);
  if (bv && mem) {
    ssize_t n = fp_read(&inst->st, path, mem, size, off);
    if (n != FP_FORWARD) {
      *bv = (struct fuse_bufvec)FUSE_BUFVEC_INIT((size_t)n);
      bv->buf[0].mem = mem;
      *bufp = bv;
      return 0;
    }
  }
  free(mem);
  free(bv);
  return fuse_fs_read_buf(inst->below, path, bufp, size, off, fi);
}

/* Not write_buf: libfuse then hands over one flat buffer, and turns splice reads from the device
 * off (fuse_fs_init), so a declined write is still whole when it is forwarded. */
static int fpm_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  struct fp_instance *inst = self();
  ssize_t n = fp_write(&inst->st, path, buf, size, off);
  if (n != FP_FORWARD) return (int)n;
  return fuse_fs_write(inst->below, path, buf, size, off, fi);
}

/* ------------------------------------------------------------ lifecycle ---- */

static void *fpm_init(struct fuse_conn_info *conn) {
  struct fp_instance *inst = self();
  fuse_fs_init(inst->below, conn);
  return inst; /* becomes this file system's private data again */
}

static void fp_instance_unref(struct fp_instance *inst) {
  if (atomic_fetch_sub(&inst->refs, 1) != 1) return;
  fp_destroy(&inst->st);
  free(inst);
}

/* Called by libfuse once every worker has been joined (fuse_session_loop_mt), after INIT. */
static void fpm_destroy(void *data) {
  struct fp_instance *inst = data;
  fuse_fs_destroy(inst->below);
  fp_instance_unref(inst);
}

/* ------------------------------------------------------------ forwarding ---- */
/* Every operation fuse-native may implement is forwarded, so the stack answers exactly as
 * fuse-native alone: the fuse_fs_* functions fall back (fgetattr to getattr, ...) or say ENOSYS
 * just as libfuse would for fuse-native's own table. */

static int fwd_getattr(const char *p, struct stat *st) { return fuse_fs_getattr(below(), p, st); }
static int fwd_fgetattr(const char *p, struct stat *st, struct fuse_file_info *fi) { return fuse_fs_fgetattr(below(), p, st, fi); }
static int fwd_access(const char *p, int mask) { return fuse_fs_access(below(), p, mask); }
static int fwd_readlink(const char *p, char *buf, size_t len) { return fuse_fs_readlink(below(), p, buf, len); }
static int fwd_opendir(const char *p, struct fuse_file_info *fi) { return fuse_fs_opendir(below(), p, fi); }
static int fwd_readdir(const char *p, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi) {
  return fuse_fs_readdir(below(), p, buf, fill, off, fi);
}
static int fwd_releasedir(const char *p, struct fuse_file_info *fi) { return fuse_fs_releasedir(below(), p, fi); }
static int fwd_fsyncdir(const char *p, int datasync, struct fuse_file_info *fi) { return fuse_fs_fsyncdir(below(), p, datasync, fi); }
static int fwd_mknod(const char *p, mode_t mode, dev_t rdev) { return fuse_fs_mknod(below(), p, mode, rdev); }
static int fwd_mkdir(const char *p, mode_t mode) { return fuse_fs_mkdir(below(), p, mode); }
static int fwd_symlink(const char *from, const char *to) { return fuse_fs_symlink(below(), from, to); }
static int fwd_unlink(const char *p) { return fuse_fs_unlink(below(), p); }
static int fwd_rmdir(const char *p) { return fuse_fs_rmdir(below(), p); }
static int fwd_rename(const char *from, const char *to) { return fuse_fs_rename(below(), from, to); }
static int fwd_link(const char *from, const char *to) { return fuse_fs_link(below(), from, to); }
static int fwd_chmod(const char *p, mode_t mode) { return fuse_fs_chmod(below(), p, mode); }
static int fwd_chown(const char *p, uid_t uid, gid_t gid) { return fuse_fs_chown(below(), p, uid, gid); }
static int fwd_truncate(const char *p, off_t size) { return fuse_fs_truncate(below(), p, size); }
static int fwd_ftruncate(const char *p, off_t size, struct fuse_file_info *fi) { return fuse_fs_ftruncate(below(), p, size, fi); }
static int fwd_utimens(const char *p, const struct timespec tv[2]) { return fuse_fs_utimens(below(), p, tv); }
static int fwd_create(const char *p, mode_t mode, struct fuse_file_info *fi) { return fuse_fs_create(below(), p, mode, fi); }
static int fwd_open(const char *p, struct fuse_file_info *fi) { return fuse_fs_open(below(), p, fi); }
static int fwd_statfs(const char *p, struct statvfs *buf) { return fuse_fs_statfs(below(), p, buf); }
static int fwd_flush(const char *p, struct fuse_file_info *fi) { return fuse_fs_flush(below(), p, fi); }
static int fwd_release(const char *p, struct fuse_file_info *fi) { return fuse_fs_release(below(), p, fi); }
static int fwd_fsync(const char *p, int datasync, struct fuse_file_info *fi) { return fuse_fs_fsync(below(), p, datasync, fi); }
static int fwd_setxattr(const char *p, const char *name, const char *value, size_t size, int flags) {
  return fuse_fs_setxattr(below(), p, name, value, size, flags);
}
static int fwd_getxattr(const char *p, const char *name, char *value, size_t size) { return fuse_fs_getxattr(below(), p, name, value, size); }
static int fwd_listxattr(const char *p, char *list, size_t size) { return fuse_fs_listxattr(below(), p, list, size); }
static int fwd_removexattr(const char *p, const char *name) { return fuse_fs_removexattr(below(), p, name); }

static const struct fuse_operations fpm_ops = {
  .init = fpm_init,
  .destroy = fpm_destroy,
  .read_buf = fpm_read_buf,
  .write = fpm_write,
  .getattr = fwd_getattr,
  .fgetattr = fwd_fgetattr,
  .access = fwd_access,
  .readlink = fwd_readlink,
  .opendir = fwd_opendir,
  .readdir = fwd_readdir,
  .releasedir = fwd_releasedir,
  .fsyncdir = fwd_fsyncdir,
  .mknod = fwd_mknod,
  .mkdir = fwd_mkdir,
  .symlink = fwd_symlink,
  .unlink = fwd_unlink,
  .rmdir = fwd_rmdir,
  .rename = fwd_rename,
  .link = fwd_link,
  .chmod = fwd_chmod,
  .chown = fwd_chown,
  .truncate = fwd_truncate,
  .ftruncate = fwd_ftruncate,
  .utimens = fwd_utimens,
  .create = fwd_create,
  .open = fwd_open,
  .statfs = fwd_statfs,
  .flush = fwd_flush,
  .release = fwd_release,
  .fsync = fwd_fsync,
  .setxattr = fwd_setxattr,
  .getxattr = fwd_getxattr,
  .listxattr = fwd_listxattr,
  .removexattr = fwd_removexattr,
};

/* ------------------------------------------------------------ instances ---- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fp_instance *registry; /* [registry_lock] instances JavaScript still holds */
static uint32_t next_id = 1;          /* [registry_lock] */

struct fp_instance *fp_instance_new(void) {
  /* Aligned as the struct asks (its hot fields are grouped by cache line); sizeof is a multiple. */
  struct fp_instance *inst = aligned_alloc(_Alignof(struct fp_instance), sizeof *inst);
  if (!inst) return NULL;
  memset(inst, 0, sizeof *inst);
  fp_init(&inst->st);
  atomic_init(&inst->refs, 1);
  pthread_mutex_lock(&registry_lock);
  inst->id = next_id++;
  inst->next = registry;
  registry = inst;
  pthread_mutex_unlock(&registry_lock);
  return inst;
}

void fp_instance_release_js(struct fp_instance *inst) {
  pthread_mutex_lock(&registry_lock);
  for (struct fp_instance **p = &registry; *p; p = &(*p)->next) {
    if (*p == inst) {
      *p = inst->next;
      break;
    }
  }
  pthread_mutex_unlock(&registry_lock);
  fp_instance_unref(inst);
}

/* Takes libfuse's reference to instance `id`, if JavaScript holds it and no mount has claimed it. */
static struct fp_instance *claim(uint32_t id) {
  struct fp_instance *found = NULL;
  pthread_mutex_lock(&registry_lock);
  for (struct fp_instance *i = registry; i; i = i->next) {
    if (i->id == id && !i->claimed) {
      i->claimed = 1;
      atomic_fetch_add(&i->refs, 1);
      found = i;
      break;
    }
  }
  pthread_mutex_unlock(&registry_lock);
  return found;
}

/* ------------------------------------------------------------ the module ---- */

struct fpm_options {
  unsigned id;
};

static const struct fuse_opt fpm_option_spec[] = {
  {FP_MODULE_OPTION "=%u", offsetof(struct fpm_options, id), 0},
  FUSE_OPT_END,
};

static struct fuse_fs *fpm_new(struct fuse_args *args, struct fuse_fs *next[]) {
  struct fpm_options o = {0};
  /* Takes our option out of args, so that the layers after this one do not see it. */
  if (fuse_opt_parse(args, &o, fpm_option_spec, NULL) == -1) return NULL;
  if (!next[0] || next[1]) {
    fprintf(stderr, "trackfs: the %s module needs exactly one file system below it\n", FP_MODULE_NAME);
    return NULL;
  }
  struct fp_instance *inst = claim(o.id);
  if (!inst) {
    fprintf(stderr, "trackfs: %s=%u names no unclaimed native data path instance\n", FP_MODULE_OPTION, o.id);
    return NULL;
  }
  inst->below = next[0];
  struct fuse_fs *fs = fuse_fs_new(&fpm_ops, sizeof fpm_ops, inst);
  if (!fs) fp_instance_unref(inst);
  return fs;
}

static struct fuse_module fpm_module = {
  .name = FP_MODULE_NAME,
  .factory = fpm_new,
};
static int registered; /* main thread only */

void fp_module_register(void) {
  if (registered) return;
  registered = 1;
  fuse_register_module(&fpm_module);
}

/* ------------------------------------------------------------ libfuse copies ---- */

struct copies {
  char (*paths)[512];
  int max, n;
};

static int note_copy(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  struct copies *c = data;
  const char *name = info->dlpi_name;
  const char *base = name ? strrchr(name, '/') : NULL;
  base = base ? base + 1 : name;
  if (!base || strncmp(base, "libfuse.so", 10) != 0) return 0;
  if (c->n < c->max) snprintf(c->paths[c->n], sizeof c->paths[0], "%s", name);
  c->n++;
  return 0;
}

int fp_libfuse_copies(char paths[][512], int max) {
  struct copies c = {paths, max, 0};
  dl_iterate_phdr(note_copy, &c);
  return c.n;
}
