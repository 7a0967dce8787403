/* N-API bindings of the native data path; addon.c exports them as `fastPath`. */
#ifndef TRACKFS_FASTPATH_NAPI_H
#define TRACKFS_FASTPATH_NAPI_H

#include <node_api.h>

/* Entries counters() writes: served reads, writes, read bytes, written bytes; forwarded reads,
 * writes; forwarded by reason (FP_FWD_REASONS); reads and writes in flight; completed; the time of
 * the last native write in ms since the epoch (0: none). */
#define FP_JS_COUNTERS (6 + 6 + 4)

/* The `fastPath` object, or NULL with an exception pending. */
napi_value fastpath_napi_exports(napi_env env);

#endif
