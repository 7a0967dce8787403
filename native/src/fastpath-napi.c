/*
 * N-API bindings of the native data path (src/native/fastpath.ts is the typed side). Every
 * function here runs on Node's main thread, the owner of fastpath.h. Results are integers: 0 or a
 * negative errno; programming errors (wrong argument types, a released handle) throw.
 *
 * A handle is an External around a struct fp_js. Its drain signal is a threadsafe function that
 * calls the JavaScript function given to create() on the event loop; it is unref'd, so it never
 * keeps the process alive.
 */
#define _GNU_SOURCE
#include "fastpath-napi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fastpath-fuse.h"

_Static_assert(FP_JS_COUNTERS == 6 + FP_FWD_REASONS + 4, "counters() layout");

struct fp_js {
  struct fp_instance *inst; /* NULL once released */
  napi_threadsafe_function tsfn; /* NULL once released or finalized */
  /* Owners of this struct: the External and the threadsafe function (main thread only). */
  int refs;
};

#define THROW(msg)                                          \
  do {                                                      \
    napi_throw_error(env, NULL, "trackfs_native: " msg);    \
    return NULL;                                            \
  } while (0)

#define CHECK(call)                                               \
  do {                                                            \
    if ((call) != napi_ok) THROW("N-API call failed: " #call);   \
  } while (0)

static void js_unref(struct fp_js *js) {
  if (--js->refs == 0) free(js);
}

/* Runs on a libfuse worker, under the state's signal_lock. */
static void drain_signal(void *ctx) {
  struct fp_js *js = ctx;
  napi_call_threadsafe_function(js->tsfn, NULL, napi_tsfn_nonblocking);
}

/* Drops JavaScript's hold on the instance; idempotent. */
static void release(struct fp_js *js) {
  if (!js->inst) return;
  /* After this returns no worker is inside drain_signal, and none will enter it. */
  fp_set_signal(&js->inst->st, NULL, NULL);
  if (js->tsfn) {
    napi_release_threadsafe_function(js->tsfn, napi_tsfn_release);
    js->tsfn = NULL; /* tsfn_finalized still runs, later */
  }
  fp_instance_release_js(js->inst);
  js->inst = NULL;
}

static void tsfn_finalized(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct fp_js *js = data;
  if (js->inst) fp_set_signal(&js->inst->st, NULL, NULL);
  js->tsfn = NULL;
  js_unref(js);
}

static void external_finalized(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct fp_js *js = data;
  release(js);
  js_unref(js);
}

/* The live instance behind argv[0], or NULL with an exception pending. */
static struct fp_instance *instance_of(napi_env env, napi_value v) {
  void *data = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &data) != napi_ok) {
    napi_throw_type_error(env, NULL, "trackfs_native: not a fast path handle");
    return NULL;
  }
  struct fp_js *js = data;
  if (!js->inst) {
    napi_throw_error(env, NULL, "trackfs_native: the fast path handle was released");
    return NULL;
  }
  return js->inst;
}

static int get_u64(napi_env env, napi_value v, uint64_t *out) {
  int64_t x;
  if (napi_get_value_int64(env, v, &x) != napi_ok || x < 0) return 0;
  *out = (uint64_t)x;
  return 1;
}

static napi_value int_result(napi_env env, int64_t r) {
  napi_value out;
  CHECK(napi_create_int64(env, r, &out));
  return out;
}

#define ARGS(n)                                                         \
  size_t argc = (n);                                                    \
  napi_value argv[(n) > 0 ? (n) : 1];                                   \
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));          \
  if (argc < (n)) THROW("too few arguments");

/* create(onDrainSignal) -> { handle, id } */
static napi_value create_js(napi_env env, napi_callback_info info) {
  ARGS(1)
  fp_module_register();
  struct fp_js *js = calloc(1, sizeof *js);
  if (!js) THROW("out of memory");
  js->inst = fp_instance_new();
  if (!js->inst) {
    free(js);
    THROW("out of memory");
  }
  js->refs = 1;
  napi_value name, handle, id, out;
  CHECK(napi_create_string_utf8(env, "trackfs fast path drain", NAPI_AUTO_LENGTH, &name));
  if (napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, js, tsfn_finalized, NULL, NULL, &js->tsfn) != napi_ok) {
    fp_instance_release_js(js->inst);
    free(js);
    THROW("cannot create the drain signal (is the argument a function?)");
  }
  js->refs++;
  napi_unref_threadsafe_function(env, js->tsfn);
  fp_set_signal(&js->inst->st, drain_signal, js);
  CHECK(napi_create_external(env, js, external_finalized, NULL, &handle));
  CHECK(napi_create_uint32(env, js->inst->id, &id));
  CHECK(napi_create_object(env, &out));
  CHECK(napi_set_named_property(env, out, "handle", handle));
  CHECK(napi_set_named_property(env, out, "id", id));
  return out;
}

/* attach(handle, fd, size, clusterSize, readOnly, path, markAhead, followAfter) -> 0 | -errno */
static napi_value attach_js(napi_env env, napi_callback_info info) {
  ARGS(8)
  struct fp_instance *inst = instance_of(env, argv[0]);
  if (!inst) return NULL;
  struct fp_binding_params p;
  int32_t fd;
  bool ro;
  char path[256];
  size_t path_len;
  if (napi_get_value_int32(env, argv[1], &fd) != napi_ok || !get_u64(env, argv[2], &p.size) ||
      !get_u64(env, argv[3], &p.cluster_size) || napi_get_value_bool(env, argv[4], &ro) != napi_ok ||
      napi_get_value_string_utf8(env, argv[5], path, sizeof path, &path_len) != napi_ok || path_len >= sizeof path - 1 ||
      !get_u64(env, argv[6], &p.mark_ahead) || !get_u64(env, argv[7], &p.follow_after))
    THROW("attach(handle, fd, size, clusterSize, readOnly, path, markAhead, followAfter): bad argument");
  p.fd = fd;
  p.read_only = ro;
  p.path = path;
  return int_result(env, fp_attach(&inst->st, &p));
}

static napi_value detach_js(napi_env env, napi_callback_info info) {
  ARGS(1)
  struct fp_instance *inst = instance_of(env, argv[0]);
  if (!inst) return NULL;
  return int_result(env, fp_detach(&inst->st));
}

static napi_value retire_fd_js(napi_env env, napi_callback_info info) {
  ARGS(1)
  struct fp_instance *inst = instance_of(env, argv[0]);
  if (!inst) return NULL;
  return int_result(env, fp_retire_fd(&inst->st));
}

/* setGates(handle, read, write) -> 0 | -errno */
static napi_value set_gates_js(napi_env env, napi_callback_info info) {
  ARGS(3)
  struct fp_instance *inst = instance_of(env, argv[0]);
  if (!inst) return NULL;
  bool r, w;
  if (napi_get_value_bool(env, argv[1], &r) != napi_ok || napi_get_value_bool(env, argv[2], &w) != napi_ok)
    THROW("setGates(handle, read, write): two booleans");
  return int_result(env, fp_set_gates(&inst->st, r, w));
}

/* armDrain(handle, writesOnly) -> requests in flight now (the signal fires when a count reaches 0) */
static napi_value arm_drain_js(napi_env env, napi_callback_info info) {
  ARGS(2)
  struct fp_instance *inst = instance_of(env, argv[0]);
  if (!inst) return NULL;
  bool writes_only;
  if (napi_get_value_bool(env, argv[1], &writes_only) != napi_ok) THROW("armDrain(handle, writesOnly): a boolean");
  return int_result(env, fp_arm_drain(&inst->st, writes_only));
}

/* orRecordedPage(handle, index, bits: Uint8Array of PAGE_BYTES) -> 0 | -errno */
static napi_value or_recorded_page_js(napi_env env, napi_callback_info info) {
  ARGS(3)
  struct fp_instance *inst = instance_of(env, argv[0]);
  if (!inst) return NULL;
  uint64_t index;
  bool is_typed;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (!get_u64(env, argv[1], &index) || napi_is_typedarray(env, argv[2], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[2], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array)
    THROW("orRecordedPage(handle, index, bits): an index and a Uint8Array");
  return int_result(env, fp_or_recorded_page(&inst->st, (size_t)index, data, length));
}

static napi_value clear_recorded_js(napi_env env, napi_callback_info info) {
  ARGS(1)
  struct fp_instance *inst = instance_of(env, argv[0]);
  if (!inst) return NULL;
  return int_result(env, fp_clear_recorded(&inst->st));
}

/* follow(handle, offset, length) -> bytes the stream had written before this write */
static napi_value follow_js(napi_env env, napi_callback_info info) {
  ARGS(3)
  struct fp_instance *inst = instance_of(env, argv[0]);
  if (!inst) return NULL;
  uint64_t offset, length;
  if (!get_u64(env, argv[1], &offset) || !get_u64(env, argv[2], &length)) THROW("follow(handle, offset, length): two integers");
  napi_value out;
  CHECK(napi_create_double(env, (double)fp_follow(&inst->st, offset, length), &out));
  return out;
}

/* counters(handle, out: Float64Array(COUNTERS)) fills `out` in the order of fastpath.ts. */
static napi_value counters_js(napi_env env, napi_callback_info info) {
  ARGS(2)
  struct fp_instance *inst = instance_of(env, argv[0]);
  if (!inst) return NULL;
  bool is_typed;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_is_typedarray(env, argv[1], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_float64_array ||
      length < FP_JS_COUNTERS)
    THROW("counters(handle, out): a Float64Array of COUNTERS entries");
  struct fp_counters c;
  fp_counters(&inst->st, &c);
  double *o = data;
  int i = 0;
  o[i++] = (double)c.reads;
  o[i++] = (double)c.writes;
  o[i++] = (double)c.read_bytes;
  o[i++] = (double)c.written_bytes;
  o[i++] = (double)c.forwarded_reads;
  o[i++] = (double)c.forwarded_writes;
  for (int r = 0; r < FP_FWD_REASONS; r++) o[i++] = (double)c.forwarded[r];
  o[i++] = (double)c.reads_in_flight;
  o[i++] = (double)c.writes_in_flight;
  o[i++] = (double)c.completed;
  o[i++] = (double)c.last_write_ns / 1e6;
  return NULL;
}

/* release(handle): JavaScript is done with it (also done by the garbage collector). */
static napi_value release_js(napi_env env, napi_callback_info info) {
  ARGS(1)
  void *data = NULL;
  napi_valuetype t;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external || napi_get_value_external(env, argv[0], &data) != napi_ok)
    THROW("release(handle): not a fast path handle");
  release(data);
  return NULL;
}

/* libfuseCopies() -> paths of the libfuse libraries loaded in this process */
static napi_value libfuse_copies_js(napi_env env, napi_callback_info info) {
  (void)info;
  char paths[4][512];
  int n = fp_libfuse_copies(paths, 4);
  napi_value out;
  CHECK(napi_create_array(env, &out));
  for (int i = 0; i < n && i < 4; i++) {
    napi_value s;
    CHECK(napi_create_string_utf8(env, paths[i], NAPI_AUTO_LENGTH, &s));
    CHECK(napi_set_element(env, out, i, s));
  }
  return out;
}

napi_value fastpath_napi_exports(napi_env env) {
  napi_value fp, v;
  if (napi_create_object(env, &fp) != napi_ok) return NULL;
  napi_property_descriptor props[] = {
    {"create", NULL, create_js, NULL, NULL, NULL, napi_enumerable, NULL},
    {"attach", NULL, attach_js, NULL, NULL, NULL, napi_enumerable, NULL},
    {"detach", NULL, detach_js, NULL, NULL, NULL, napi_enumerable, NULL},
    {"retireFd", NULL, retire_fd_js, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setGates", NULL, set_gates_js, NULL, NULL, NULL, napi_enumerable, NULL},
    {"armDrain", NULL, arm_drain_js, NULL, NULL, NULL, napi_enumerable, NULL},
    {"orRecordedPage", NULL, or_recorded_page_js, NULL, NULL, NULL, napi_enumerable, NULL},
    {"clearRecorded", NULL, clear_recorded_js, NULL, NULL, NULL, napi_enumerable, NULL},
    {"follow", NULL, follow_js, NULL, NULL, NULL, napi_enumerable, NULL},
    {"counters", NULL, counters_js, NULL, NULL, NULL, napi_enumerable, NULL},
    {"release", NULL, release_js, NULL, NULL, NULL, napi_enumerable, NULL},
    {"libfuseCopies", NULL, libfuse_copies_js, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, fp, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  struct { const char *name; int64_t value; } constants[] = {
    {"PAGE_BYTES", FP_PAGE_BYTES},
    {"STREAMS", FP_STREAMS},
    {"COUNTERS", FP_JS_COUNTERS},
  };
  for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++) {
    if (napi_create_int64(env, constants[i].value, &v) != napi_ok || napi_set_named_property(env, fp, constants[i].name, v) != napi_ok)
      return NULL;
  }
  if (napi_create_string_utf8(env, FP_MODULE_NAME, NAPI_AUTO_LENGTH, &v) != napi_ok || napi_set_named_property(env, fp, "MODULE", v) != napi_ok)
    return NULL;
  if (napi_create_string_utf8(env, FP_MODULE_OPTION, NAPI_AUTO_LENGTH, &v) != napi_ok || napi_set_named_property(env, fp, "OPTION", v) != napi_ok)
    return NULL;
  return fp;
}
