/*
 * The C libfuse2 baseline for the benchmark: exposes IMAGE as MOUNTPOINT/volume, like trackfs,
 * with pread/pwrite on one descriptor and no tracking. Built by bench/bench.ts with
 *   cc -O2 -Wall -o passthrough passthrough.c $(pkg-config --cflags --libs fuse)
 * and run as: passthrough IMAGE MOUNTPOINT -o big_writes,auto_unmount
 */
#define FUSE_USE_VERSION 26
#define _FILE_OFFSET_BITS 64
#include <fuse.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int image_fd = -1;
static off_t image_size;

static int pt_getattr(const char *path, struct stat *st) {
  memset(st, 0, sizeof *st);
  if (strcmp(path, "/") == 0) { st->st_mode = S_IFDIR | 0755; st->st_nlink = 2; return 0; }
  if (strcmp(path, "/volume") == 0) { st->st_mode = S_IFREG | 0644; st->st_nlink = 1; st->st_size = image_size; return 0; }
  return -ENOENT;
}

static int pt_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi) {
  (void)off; (void)fi;
  if (strcmp(path, "/") != 0) return -ENOTDIR;
  fill(buf, ".", NULL, 0); fill(buf, "..", NULL, 0); fill(buf, "volume", NULL, 0);
  return 0;
}

static int pt_open(const char *path, struct fuse_file_info *fi) {
  (void)fi;
  return strcmp(path, "/volume") == 0 ? 0 : -ENOENT;
}

static int pt_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)path; (void)fi;
  ssize_t n = pread(image_fd, buf, size, off);
  return n < 0 ? -errno : (int)n;
}

static int pt_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)path; (void)fi;
  if (off >= image_size) return -ENOSPC;
  if (off + (off_t)size > image_size) size = image_size - off;
  ssize_t n = pwrite(image_fd, buf, size, off);
  return n < 0 ? -errno : (int)n;
}

static int pt_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
  (void)path; (void)datasync; (void)fi;
  return fdatasync(image_fd) < 0 ? -errno : 0;
}

static int pt_truncate(const char *path, off_t size) {
  (void)path;
  return size == image_size ? 0 : -EINVAL;
}

static struct fuse_operations ops = {
  .getattr = pt_getattr, .readdir = pt_readdir, .open = pt_open, .read = pt_read,
  .write = pt_write, .fsync = pt_fsync, .truncate = pt_truncate,
};

int main(int argc, char *argv[]) {
  if (argc < 3) { fprintf(stderr, "usage: %s IMAGE MOUNTPOINT [fuse options]\n", argv[0]); return 2; }
  image_fd = open(argv[1], O_RDWR);
  if (image_fd < 0) { perror(argv[1]); return 1; }
  struct stat st;
  if (fstat(image_fd, &st) < 0) { perror("fstat"); return 1; }
  image_size = st.st_size;
  /* fuse_main gets argv without the image: prog MOUNTPOINT [options] */
  argv[1] = argv[0];
  return fuse_main(argc - 1, argv + 1, &ops, NULL);
}
