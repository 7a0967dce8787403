/*
 * The native data path's core: serves reads, and rewrites of recorded clusters, of the volume file
 * with pread/pwrite on the calling (libfuse worker) thread, or says "forward" so the request goes
 * to fuse-native and JavaScript unchanged. Knows nothing of libfuse or N-API (fastpath-fuse.c and
 * fastpath-napi.c are the glue), so it can be tested on its own (native/test/fastpath-core-test.c).
 *
 * THE RULE (write-ahead; the TypeScript side of it is the WRITE-AHEAD RULE in
 * src/journal/journal.ts). Native code writes a cluster of the image only if that cluster's bit
 * is set in `recorded`. TypeScript sets a bit there (fp_or_recorded_page) only after the journal
 * commit that made the bit durable has completed, copying exactly the bits that commit wrote; and
 * clears bits (fp_clear_recorded, a checkpoint starting an empty epoch) only while the write gate
 * is closed and no native write is in flight. Everything else -- a first touch, a write crossing
 * the end, a read-only mount, a closed gate, any I/O error or short transfer -- is forwarded to
 * JavaScript, which handles it exactly as it does without this module.
 *
 * THREADS, OWNERSHIP, ORDERING. Two kinds of threads touch a struct fp_state:
 *  - the owner: Node's main thread (through N-API), which attaches, opens and closes the gates,
 *    mirrors recorded bits, clears them, reads counters;
 *  - libfuse worker threads, any number at once, which call fp_read / fp_write.
 * Each field below says which of three rules it follows:
 *  [binding]  written only by the owner, only while both gates are closed and nothing is in flight
 *             (fp_attach / fp_detach refuse otherwise). A worker reads them only after counting
 *             itself in and finding its gate open, so it always sees them immutable.
 *  [atomic]   C11 atomics; the memory order is stated where it matters.
 *  [lock]     under signal_lock.
 *
 * GATES AND DRAINING. A request first increments its in-flight counter, then loads its gate; if
 * the gate is closed it decrements and forwards. The owner closes a gate with a store and then
 * waits for the counter to reach zero. Both sides use sequentially consistent operations, so at
 * least one of them sees the other: either the owner sees the request counted (and waits for it),
 * or the request sees the gate closed (and forwards). No request slips past a closing gate. Once
 * the owner has seen the count at zero after closing, the gate is "drained" until it opens again
 * (later requests all see it closed): detach, attach and clearing `recorded` need that.
 * When a counter returns to zero while the owner asked to be told (drain_wanted), the worker that
 * took it to zero calls the drain signal (fastpath-napi.c: a threadsafe function that wakes a
 * promise on the event loop).
 *
 * A NATIVE CALL STUCK ON A STALLED DEVICE cannot be answered from JavaScript: it stays in
 * pread/pwrite, counted in flight, until the device answers, the FUSE connection is aborted, or
 * the process exits. So (1) the owner's wait for draining is bounded by the caller (a timeout);
 * (2) fp_detach and fp_clear_recorded refuse (-EBUSY) while anything is in flight, so a stuck call
 * never sees its binding or its bits change under it; (3) the image descriptor used here is the
 * module's own dup (F_DUPFD_CLOEXEC, taken at attach), closed only by fp_detach (refused while a
 * call is in flight) or when the state is freed (after libfuse joined every worker). JavaScript
 * may close its own descriptor at any time: the number this module uses is never closed or reused
 * while a native call may still use it. While stuck, the gates stay closed and JavaScript serves
 * every new request as it does without this module.
 */
#ifndef TRACKFS_FASTPATH_H
#define TRACKFS_FASTPATH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The journal's bitmap page geometry (src/journal/format.ts: PAGE_BITMAP_BYTES, CLUSTERS_PER_PAGE):
 * bit c lives in page c / FP_CLUSTERS_PER_PAGE, byte (c % FP_CLUSTERS_PER_PAGE) / 8, bit
 * (c % FP_CLUSTERS_PER_PAGE) % 8, least significant bit first. */
#define FP_PAGE_BYTES 4064
#define FP_CLUSTERS_PER_PAGE (FP_PAGE_BYTES * 8)

/* How many concurrent sequential streams the follower tracks (src/tracker/tracker.ts STREAMS). */
#define FP_STREAMS 4

/* fp_read / fp_write return this when the request must go to the file system below. */
#define FP_FORWARD ((ssize_t)-1)

/* Why a request was forwarded (counted per reason). */
enum fp_forward_reason {
  FP_FWD_GATE = 0,   /* the request's gate was closed, or nothing is attached */
  FP_FWD_UNRECORDED, /* a write touching a cluster not in `recorded` (a first touch) */
  FP_FWD_RANGE,      /* a write past or crossing the end, or of zero bytes */
  FP_FWD_IO,         /* pread/pwrite failed or was short: JavaScript redoes the whole request */
  FP_FWD_HANDOFF,    /* a write at which the stream follower acts (marks ahead) */
  FP_FWD_OTHER,      /* not the volume file, or a write on a read-only binding */
  FP_FWD_REASONS
};

/* What fp_attach binds: the volume and how to judge a write. */
struct fp_binding_params {
  int fd;                  /* the image; fp_attach dups it */
  uint64_t size;           /* the volume's size in bytes */
  uint64_t cluster_size;   /* the journal's cluster size in bytes */
  int read_only;
  const char *path;        /* the volume's path in the mount, e.g. "/volume" */
  uint64_t mark_ahead;     /* the tracker's mark-ahead window in bytes; 0: no follower */
  uint64_t follow_after;   /* src/tracker/tracker.ts MARK_AHEAD_AFTER */
};

/* One followed stream: where its last write ended and how much it wrote contiguously. Races
 * between threads can only make the follower less exact (a mark-ahead a little early, late or
 * missed), never make a write skip the recorded check. */
struct fp_stream {
  _Atomic int64_t end; /* [atomic] -1: unused */
  _Atomic uint64_t run; /* [atomic] */
};

struct fp_counters {
  uint64_t reads, writes;              /* served natively */
  uint64_t read_bytes, written_bytes;  /* served natively */
  uint64_t forwarded_reads, forwarded_writes;
  uint64_t forwarded[FP_FWD_REASONS];  /* reads and writes, by reason */
  int64_t reads_in_flight, writes_in_flight;
  uint64_t completed;                  /* requests finished: served or forwarded (their sum) */
  int64_t last_write_ns;               /* CLOCK_REALTIME of the last native write; 0: none */
};

struct fp_state {
  /* [binding] */
  int attached;
  int fd;
  uint64_t size, cluster_size, cluster_count;
  int read_only;
  char path[256];
  uint64_t mark_ahead, follow_after;
  size_t page_count;
  /* [binding] the array; [atomic] each entry: a page is allocated by the owner, filled, then
   * published with a release store; workers load it with acquire. Pages live until detach. */
  _Atomic(_Atomic uint8_t *) *pages;

  /* [atomic] gates, written by the owner, read by workers; seq_cst (see GATES above). On the same
   * cache line as the in-flight counters: a request touches both, one after the other. */
  _Alignas(64) _Atomic int read_open;
  _Atomic int write_open;
  /* [atomic] requests counted in and not yet left; seq_cst */
  _Atomic int64_t reads_in_flight, writes_in_flight;
  /* [atomic] the owner wants the drain signal when a counter reaches zero; seq_cst */
  _Atomic int drain_wanted;
  /* Owner only: the gate is closed and the owner has seen its count at zero since it closed, so
   * no request that saw it open is still inside (fastpath.c: observe). */
  int reads_quiet, writes_quiet;

  /* [lock] how to tell the owner a counter reached zero; set and cleared by the owner. */
  pthread_mutex_t signal_lock;
  void (*signal)(void *ctx);
  void *signal_ctx;

  /* [atomic] the stream follower, shared by native writes and JavaScript (fp_follow) */
  _Alignas(64) struct fp_stream streams[FP_STREAMS];
  _Atomic uint32_t next_stream;

  /* [atomic] counters, relaxed: each is exact, a snapshot of several is not. Each group on a cache
   * line of its own: readers and writers then do not bounce each other's lines (nor the gates'). */
  _Alignas(64) _Atomic uint64_t reads;
  _Atomic uint64_t read_bytes, forwarded_reads;
  _Alignas(64) _Atomic uint64_t writes;
  _Atomic uint64_t written_bytes, forwarded_writes;
  _Atomic int64_t last_write_ns; /* stored at most once a millisecond */
  _Alignas(64) _Atomic uint64_t forwarded[FP_FWD_REASONS];
};

void fp_init(struct fp_state *st);
/* Frees what the state holds (closes the dup, frees pages). Only when no worker can call in. */
void fp_destroy(struct fp_state *st);

/* Owner. 0, or -EBUSY (attached already, a gate open or a call in flight), -EINVAL, -errno of dup. */
int fp_attach(struct fp_state *st, const struct fp_binding_params *p);
/* Owner. 0, or -EBUSY while a gate is open or anything is in flight; -EINVAL when not attached. */
int fp_detach(struct fp_state *st);
/*
 * Owner, when fp_detach said EBUSY (a call stuck on the device): retire_fd (fsid.h) on the
 * module's descriptor. The number stays the module's, so a request that counted itself in before
 * the gates closed finds an inert file (its I/O fails and is forwarded to JavaScript), never
 * another one; fp_detach closes it once the stuck call has returned. 0, -errno of retire_fd, or
 * -EINVAL when not attached.
 */
int fp_retire_fd(struct fp_state *st);
/* Owner. Opening a gate needs a binding (-EINVAL); closing always works. */
int fp_set_gates(struct fp_state *st, int read_open, int write_open);
/* Owner. ORs a page of committed bits into `recorded`. 0, -EINVAL (not attached, bad index or
 * length), -ENOMEM. */
int fp_or_recorded_page(struct fp_state *st, size_t index, const uint8_t *bits, size_t len);
/* Owner. Empties `recorded` (a new epoch). -EBUSY unless the write gate is closed and no write is
 * in flight; -EINVAL when not attached. */
int fp_clear_recorded(struct fp_state *st);
/* Owner. Arms the drain signal, then returns 0 when the gate (the write gate, or both) is closed and
 * drained, else a positive number (the requests in flight, at least 1). The signal fires once, from
 * the worker that next takes a counter to zero; call this again when it fires. */
int64_t fp_arm_drain(struct fp_state *st, int writes_only);
int64_t fp_in_flight(struct fp_state *st, int writes_only);
/* Owner. Installs (or, with NULL, removes) the drain signal. */
void fp_set_signal(struct fp_state *st, void (*signal)(void *), void *ctx);
void fp_counters(struct fp_state *st, struct fp_counters *out);

/* Any thread. The stream follower of src/tracker/tracker.ts (ChangeTracker.follow), shared: returns
 * how many bytes the stream this write continues had written before it (0: a new stream). */
uint64_t fp_follow(struct fp_state *st, uint64_t offset, uint64_t length);

/* Workers. Serve the request, or return FP_FORWARD. fp_read fills buf (room for `size` bytes) and
 * returns the byte count: 0 at or past the end, cut at the end. fp_write returns `size`. */
ssize_t fp_read(struct fp_state *st, const char *path, char *buf, size_t size, off_t offset);
ssize_t fp_write(struct fp_state *st, const char *path, const char *buf, size_t size, off_t offset);

#endif
