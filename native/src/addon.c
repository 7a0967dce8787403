/*
 * trackfs's own N-API addon. Optional: trackfs runs without it (src/native/native.ts says what
 * is lost and logs it once). mountIdOf and lockFile are thin, synchronous wrappers around one
 * system call that does no I/O on a device (cached metadata, advisory locks), so they are safe on
 * the event loop. `fastPath`, the native data path (fastpath*.c), is there only when the addon was
 * built against libfuse-dev (binding.gyp defines TRACKFS_HAVE_FASTPATH); its calls from
 * JavaScript do no I/O either.
 */
#include <node_api.h>
#include <stdio.h>
#include <string.h>

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

static int32_t arg_int(napi_env env, napi_value v, int *ok) {
  int32_t out = 0;
  *ok = napi_get_value_int32(env, v, &out) == napi_ok;
  return out;
}

/* mountIdOf(fd) -> { kind: 'unique' | 'reused' | 'none', id: string } or a negative errno. */
static napi_value mount_id_of_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int ok;
  int fd = arg_int(env, argv[0], &ok);
  if (argc < 1 || !ok) {
    napi_throw_type_error(env, NULL, "mountIdOf(fd): fd must be an integer");
    return NULL;
  }
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
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int ok;
  int fd = arg_int(env, argv[0], &ok);
  bool exclusive = false;
  if (argc < 2 || !ok || napi_get_value_bool(env, argv[1], &exclusive) != napi_ok) {
    napi_throw_type_error(env, NULL, "lockFile(fd, exclusive): an integer and a boolean");
    return NULL;
  }
  napi_value out;
  CHECK(napi_create_int32(env, lock_file(fd, exclusive, 0), &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"mountIdOf", NULL, mount_id_of_js, NULL, NULL, NULL, napi_default, NULL},
    {"lockFile", NULL, lock_file_js, NULL, NULL, NULL, napi_default, NULL},
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
