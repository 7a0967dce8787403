/*
 * trackfs's own N-API addon. Optional: trackfs runs without it (src/native/native.ts says what
 * is lost and logs it once). mountIdOf, lockFile and unlockFile are thin, synchronous wrappers
 * around one system call that does no I/O on a device (cached metadata, advisory locks), so they
 * are safe on the event loop; inTerminalForeground opens the controlling terminal without waiting
 * (O_NONBLOCK) and reads its foreground process group; retireFd waits at most half a second for a
 * swap done on a thread of its own. `fastPath`, the native data path (fastpath*.c), is there only when the addon was
 * built against libfuse-dev (binding.gyp defines TRACKFS_HAVE_FASTPATH); its calls from
 * JavaScript do no I/O either.
 */
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fsid.h"
#ifdef TRACKFS_HAVE_FASTPATH
#include "fastpath-napi.h"
#endif

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "trackfs_native: N-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

/*
 * The arguments of a call whose first one is an integer (a descriptor or a pid): fills
 * argv[0..want) and *first, or throws a TypeError with `usage` and returns 0. (Checks of the
 * further arguments are the caller's.)
 */
static int int_call(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage, int *first) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want ||
      napi_get_value_int32(env, argv[0], first) != napi_ok) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  return 1;
}

/* mountIdOf(fd) -> { kind: 'unique' | 'reused' | 'none', id: string } or a negative errno. */
static napi_value mount_id_of_js(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int fd;
  if (!int_call(env, info, 1, argv, "mountIdOf(fd): fd must be an integer", &fd)) return NULL;
  uint64_t id = 0;
  enum mount_id_kind kind = MOUNT_ID_NONE;
  int r = mount_id_of(fd, &id, &kind);
  napi_value out;
  if (r < 0) {
    CHECK(napi_create_int32(env, r, &out));
    return out;
  }
  char text[24];
  snprintf(text, sizeof text, "%llu", (unsigned long long)id);
  const char *name = kind == MOUNT_ID_UNIQUE ? "unique" : kind == MOUNT_ID_REUSED ? "reused" : "none";
  napi_value kind_v, id_v;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &kind_v));
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &id_v));
  CHECK(napi_set_named_property(env, out, "kind", kind_v));
  CHECK(napi_set_named_property(env, out, "id", id_v));
  return out;
}

/* lockFile(fd, exclusive) -> 0 or a negative errno. Never waits. */
static napi_value lock_file_js(napi_env env, napi_callback_info info) {
  static const char usage[] = "lockFile(fd, exclusive): an integer and a boolean";
  napi_value argv[2];
  int fd;
  bool exclusive = false;
  if (!int_call(env, info, 2, argv, usage, &fd)) return NULL;
  if (napi_get_value_bool(env, argv[1], &exclusive) != napi_ok) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  napi_value out;
  CHECK(napi_create_int32(env, lock_file(fd, exclusive, 0), &out));
  return out;
}

/* A call of one integer argument answered with fn's integer result. */
static napi_value int_to_int(napi_env env, napi_callback_info info, const char *usage, int (*fn)(int)) {
  napi_value argv[1];
  int arg;
  if (!int_call(env, info, 1, argv, usage, &arg)) return NULL;
  napi_value out;
  CHECK(napi_create_int32(env, fn(arg), &out));
  return out;
}

/* unlockFile(fd) -> 0 or a negative errno. */
static napi_value unlock_file_js(napi_env env, napi_callback_info info) {
  return int_to_int(env, info, "unlockFile(fd): an integer", unlock_file);
}

/*
 * inTerminalForeground(pid) -> 1 when process pid's group is the foreground group of this
 * process's controlling terminal, 0 when it is not, or a negative errno (-ENXIO: no controlling
 * terminal; -ESRCH: no such process). A signal the terminal raises (Ctrl-C, Ctrl-\, a hangup)
 * went to every process of that group.
 */
static int in_terminal_foreground(int pid) {
  pid_t group = getpgid(pid);
  int fd = group < 0 ? -1 : open("/dev/tty", O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (group < 0 || fd < 0) return -errno;
  pid_t fg = tcgetpgrp(fd);
  int r = fg < 0 ? -errno : fg == group;
  close(fd);
  return r;
}

static napi_value in_terminal_foreground_js(napi_env env, napi_callback_info info) {
  return int_to_int(env, info, "inTerminalForeground(pid): an integer", in_terminal_foreground);
}

/* retireFd(fd) -> 0 or a negative errno: retire_fd (retire-fd.c). */
static napi_value retire_fd_js(napi_env env, napi_callback_info info) {
  return int_to_int(env, info, "retireFd(fd): an integer", retire_fd);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"mountIdOf", NULL, mount_id_of_js, NULL, NULL, NULL, napi_default, NULL},
    {"lockFile", NULL, lock_file_js, NULL, NULL, NULL, napi_default, NULL},
    {"unlockFile", NULL, unlock_file_js, NULL, NULL, NULL, napi_default, NULL},
    {"inTerminalForeground", NULL, in_terminal_foreground_js, NULL, NULL, NULL, napi_default, NULL},
    {"retireFd", NULL, retire_fd_js, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
#ifdef TRACKFS_HAVE_FASTPATH
  napi_value fast_path = fastpath_napi_exports(env);
  if (!fast_path) return NULL;
  CHECK(napi_set_named_property(env, exports, "fastPath", fast_path));
#endif
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
