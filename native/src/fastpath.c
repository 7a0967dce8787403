/*
 * The native data path's core. The rule it keeps, the threads that touch it and the ordering it
 * relies on are stated once, in fastpath.h.
 */
#define _GNU_SOURCE
#include "fastpath.h"
#include "fsid.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RELAXED memory_order_relaxed

/* native/test/fastpath-core-test.c builds this file with FP_TEST_HOOKS to act just before the I/O. */
#ifdef FP_TEST_HOOKS
void fp_test_before_io(struct fp_state *st, int is_write);
#define BEFORE_IO(st, is_write) fp_test_before_io((st), (is_write))
#else
#define BEFORE_IO(st, is_write) ((void)0)
#endif

void fp_init(struct fp_state *st) {
  memset(st, 0, sizeof *st);
  st->fd = -1;
  st->reads_quiet = st->writes_quiet = 1;
  pthread_mutex_init(&st->signal_lock, NULL);
  for (int i = 0; i < FP_STREAMS; i++) atomic_init(&st->streams[i].end, -1);
}

static void free_pages(struct fp_state *st) {
  if (!st->pages) return;
  for (size_t i = 0; i < st->page_count; i++) free((void *)atomic_load_explicit(&st->pages[i], RELAXED));
  free((void *)st->pages);
  st->pages = NULL;
  st->page_count = 0;
}

static void *close_fd(void *arg) {
  close((int)(intptr_t)arg);
  return NULL;
}

/*
 * Closes `fd` on a thread of its own: close() of a file on a stalled device (a FUSE or network
 * file system flushes at close) may never return, and the caller is Node's event loop. The number
 * stays ours until the close is done, so it cannot be reused under anyone.
 */
static void close_in_background(int fd) {
  pthread_attr_t attr;
  pthread_t t;
  if (pthread_attr_init(&attr) == 0 && pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0 &&
      pthread_create(&t, &attr, close_fd, (void *)(intptr_t)fd) == 0) {
    pthread_attr_destroy(&attr);
    return;
  }
  pthread_attr_destroy(&attr);
  close(fd); /* no thread to be had: closing here is all that is left */
}

void fp_destroy(struct fp_state *st) {
  if (st->fd >= 0) close_in_background(st->fd);
  st->fd = -1;
  free_pages(st);
  st->attached = 0;
  pthread_mutex_destroy(&st->signal_lock);
}

/*
 * Latches that nothing can still be using what a closed gate protects: the owner saw the gate's
 * in-flight count at zero after closing it. Every request that saw the gate open counted itself in
 * before that (GATES in fastpath.h), so had left by then, and every later one sees the gate closed.
 * The latch holds until the gate opens again, whatever transient counts requests racing the close
 * leave afterwards. Owner only.
 */
static void observe(struct fp_state *st) {
  if (!atomic_load(&st->write_open) && atomic_load(&st->writes_in_flight) == 0) st->writes_quiet = 1;
  if (!atomic_load(&st->read_open) && atomic_load(&st->reads_in_flight) == 0) st->reads_quiet = 1;
}

static int quiescent(struct fp_state *st) {
  observe(st);
  return st->reads_quiet && st->writes_quiet;
}

int fp_attach(struct fp_state *st, const struct fp_binding_params *p) {
  if (st->attached || !quiescent(st)) return -EBUSY;
  if (p->fd < 0 || p->size == 0 || p->cluster_size == 0 || !p->path || p->path[0] != '/' ||
      strlen(p->path) >= sizeof st->path || (p->mark_ahead > 0 && p->follow_after == 0))
    return -EINVAL;
  uint64_t clusters = p->size / p->cluster_size + (p->size % p->cluster_size != 0);
  size_t page_count = (size_t)((clusters + FP_CLUSTERS_PER_PAGE - 1) / FP_CLUSTERS_PER_PAGE);
  _Atomic(_Atomic uint8_t *) *pages = calloc(page_count, sizeof *pages);
  if (!pages) return -ENOMEM;
  int fd = fcntl(p->fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    int e = errno;
    free((void *)pages);
    return -e;
  }
  st->fd = fd;
  st->size = p->size;
  st->cluster_size = p->cluster_size;
  st->cluster_count = clusters;
  st->read_only = p->read_only != 0;
  strcpy(st->path, p->path);
  st->mark_ahead = p->mark_ahead;
  st->follow_after = p->follow_after;
  st->page_count = page_count;
  st->pages = pages;
  for (int i = 0; i < FP_STREAMS; i++) {
    atomic_store(&st->streams[i].end, -1);
    atomic_store(&st->streams[i].run, 0);
  }
  st->attached = 1;
  return 0;
}

int fp_detach(struct fp_state *st) {
  if (!st->attached) return -EINVAL;
  if (!quiescent(st)) return -EBUSY;
  close_in_background(st->fd);
  st->fd = -1;
  free_pages(st);
  st->attached = 0;
  return 0;
}

int fp_retire_fd(struct fp_state *st) {
  if (!st->attached || st->fd < 0) return -EINVAL;
  return retire_fd(st->fd);
}

int fp_set_gates(struct fp_state *st, int read_open, int write_open) {
  if ((read_open || write_open) && !st->attached) return -EINVAL;
  if (read_open) st->reads_quiet = 0;
  if (write_open) st->writes_quiet = 0;
  atomic_store(&st->read_open, read_open != 0);
  atomic_store(&st->write_open, write_open != 0);
  return 0;
}

int fp_or_recorded_page(struct fp_state *st, size_t index, const uint8_t *bits, size_t len) {
  if (!st->attached || index >= st->page_count || len != FP_PAGE_BYTES) return -EINVAL;
  _Atomic uint8_t *page = atomic_load_explicit(&st->pages[index], RELAXED); /* only the owner stores */
  if (!page) {
    int any = 0;
    for (size_t i = 0; i < len && !any; i++) any = bits[i] != 0;
    if (!any) return 0;
    page = calloc(FP_PAGE_BYTES, 1);
    if (!page) return -ENOMEM;
    for (size_t i = 0; i < len; i++) atomic_init(&page[i], bits[i]);
    atomic_store_explicit(&st->pages[index], page, memory_order_release);
    return 0;
  }
  for (size_t i = 0; i < len; i++)
    if (bits[i]) atomic_fetch_or_explicit(&page[i], bits[i], memory_order_release);
  return 0;
}

int fp_clear_recorded(struct fp_state *st) {
  if (!st->attached) return -EINVAL;
  observe(st);
  if (!st->writes_quiet) return -EBUSY;
  for (size_t p = 0; p < st->page_count; p++) {
    _Atomic uint8_t *page = atomic_load_explicit(&st->pages[p], RELAXED);
    if (!page) continue;
    for (size_t i = 0; i < FP_PAGE_BYTES; i++) atomic_store_explicit(&page[i], 0, RELAXED);
  }
  return 0;
}

static int64_t in_flight(struct fp_state *st, int writes_only) {
  int64_t n = atomic_load(&st->writes_in_flight);
  return writes_only ? n : n + atomic_load(&st->reads_in_flight);
}

int64_t fp_in_flight(struct fp_state *st, int writes_only) {
  observe(st); /* a zero seen here drains the gate as well */
  return in_flight(st, writes_only);
}

int64_t fp_arm_drain(struct fp_state *st, int writes_only) {
  atomic_store(&st->drain_wanted, 1);
  /* Loaded after the store (seq_cst): a worker that took a counter to zero before this load is
   * seen here as zero; one that does it after sees drain_wanted set and signals. */
  observe(st);
  if (st->writes_quiet && (writes_only || st->reads_quiet)) return 0;
  int64_t n = in_flight(st, writes_only);
  return n > 0 ? n : 1; /* zero, but a gate is open: not drained */
}

void fp_set_signal(struct fp_state *st, void (*signal)(void *), void *ctx) {
  pthread_mutex_lock(&st->signal_lock);
  st->signal = signal;
  st->signal_ctx = ctx;
  pthread_mutex_unlock(&st->signal_lock);
}

void fp_counters(struct fp_state *st, struct fp_counters *out) {
  out->reads = atomic_load_explicit(&st->reads, RELAXED);
  out->writes = atomic_load_explicit(&st->writes, RELAXED);
  out->read_bytes = atomic_load_explicit(&st->read_bytes, RELAXED);
  out->written_bytes = atomic_load_explicit(&st->written_bytes, RELAXED);
  out->forwarded_reads = atomic_load_explicit(&st->forwarded_reads, RELAXED);
  out->forwarded_writes = atomic_load_explicit(&st->forwarded_writes, RELAXED);
  for (int i = 0; i < FP_FWD_REASONS; i++) out->forwarded[i] = atomic_load_explicit(&st->forwarded[i], RELAXED);
  out->reads_in_flight = atomic_load(&st->reads_in_flight);
  out->writes_in_flight = atomic_load(&st->writes_in_flight);
  out->completed = out->reads + out->writes + out->forwarded_reads + out->forwarded_writes;
  out->last_write_ns = atomic_load_explicit(&st->last_write_ns, RELAXED);
}

/* ------------------------------------------------------------ the follower ---- */

uint64_t fp_follow(struct fp_state *st, uint64_t offset, uint64_t length) {
  int64_t end = (int64_t)(offset + length);
  for (int i = 0; i < FP_STREAMS; i++) {
    int64_t expected = (int64_t)offset;
    if (atomic_compare_exchange_strong(&st->streams[i].end, &expected, end))
      return atomic_fetch_add(&st->streams[i].run, length);
  }
  /* Not a continuation: it starts a stream of its own, in place of the least recently started. */
  uint32_t slot = atomic_fetch_add(&st->next_stream, 1) % FP_STREAMS;
  atomic_store(&st->streams[slot].run, length);
  atomic_store(&st->streams[slot].end, end);
  return 0;
}

/* What fp_follow would return for this write, without following it. */
static uint64_t follow_peek(struct fp_state *st, uint64_t offset) {
  for (int i = 0; i < FP_STREAMS; i++)
    if (atomic_load(&st->streams[i].end) == (int64_t)offset) return atomic_load(&st->streams[i].run);
  return 0;
}

/* ------------------------------------------------------------ the data path ---- */

static int recorded(struct fp_state *st, uint64_t cluster) {
  _Atomic uint8_t *page = atomic_load_explicit(&st->pages[cluster / FP_CLUSTERS_PER_PAGE], memory_order_acquire);
  if (!page) return 0;
  uint64_t bit = cluster % FP_CLUSTERS_PER_PAGE;
  return (atomic_load_explicit(&page[bit >> 3], memory_order_acquire) >> (bit & 7)) & 1;
}

static int all_recorded(struct fp_state *st, uint64_t first, uint64_t last) {
  for (uint64_t c = first; c <= last; c++)
    if (!recorded(st, c)) return 0;
  return 1;
}

/*
 * Would ChangeTracker.markAheadOf act on this write of a stream that had already written
 * `before` bytes? It acts when the trigger cluster, half a window past the write, is not marked.
 * Here "not recorded" stands for "not marked" (recorded is a subset of marked), so this says yes
 * whenever the tracker would act, and also while the window it marked is still being committed;
 * such a write goes to JavaScript, where markAheadOf then finds the trigger marked and returns.
 * The arithmetic is ChangeTracker.markAheadOf's, in integers.
 */
static int follower_acts(struct fp_state *st, uint64_t before, uint64_t end, uint64_t last) {
  if (before < st->follow_after) return 0;
  uint64_t cs = st->cluster_size, final = st->cluster_count - 1;
  uint64_t edge = (end - 1 + st->mark_ahead) / cs;
  if (edge > final) edge = final;
  /* floor((end - 1 + markAhead / 2) / cs), exact for an odd markAhead too */
  uint64_t trigger = (2 * (end - 1) + st->mark_ahead) / (2 * cs);
  if (trigger < last + 1) trigger = last + 1;
  if (trigger > edge) trigger = edge;
  return trigger > last && !recorded(st, trigger);
}

static void leave(struct fp_state *st, _Atomic int64_t *counter) {
  if (atomic_fetch_sub(counter, 1) != 1) return;
  /* This thread took the counter to zero: tell the owner if it asked. */
  if (!atomic_load(&st->drain_wanted) || !atomic_exchange(&st->drain_wanted, 0)) return;
  pthread_mutex_lock(&st->signal_lock);
  if (st->signal) st->signal(st->signal_ctx);
  pthread_mutex_unlock(&st->signal_lock);
}

static ssize_t forward(struct fp_state *st, int is_write, enum fp_forward_reason why) {
  atomic_fetch_add_explicit(is_write ? &st->forwarded_writes : &st->forwarded_reads, 1, RELAXED);
  atomic_fetch_add_explicit(&st->forwarded[why], 1, RELAXED);
  return FP_FORWARD;
}

static int is_volume(struct fp_state *st, const char *path) { return path && strcmp(path, st->path) == 0; }

ssize_t fp_read(struct fp_state *st, const char *path, char *buf, size_t size, off_t offset) {
  /* A request that finds the gate closed before counting itself in never touches the counter: a
   * closed gate then leaves the count at zero under load. Only an optimisation: the check that
   * decides is the one after counting in. */
  if (!atomic_load_explicit(&st->read_open, RELAXED)) return forward(st, 0, FP_FWD_GATE);
  atomic_fetch_add(&st->reads_in_flight, 1);
  if (!atomic_load(&st->read_open)) {
    leave(st, &st->reads_in_flight);
    return forward(st, 0, FP_FWD_GATE);
  }
  /* Counted in with the gate open: the binding is immutable until this request leaves. */
  if (!is_volume(st, path) || offset < 0) {
    leave(st, &st->reads_in_flight);
    return forward(st, 0, FP_FWD_OTHER);
  }
  uint64_t off = (uint64_t)offset;
  size_t n = off >= st->size ? 0 : (size > st->size - off ? (size_t)(st->size - off) : size);
  BEFORE_IO(st, 0);
  ssize_t got = n == 0 ? 0 : pread(st->fd, buf, n, offset);
  if (got != (ssize_t)n) {
    leave(st, &st->reads_in_flight);
    return forward(st, 0, FP_FWD_IO);
  }
  atomic_fetch_add_explicit(&st->reads, 1, RELAXED);
  atomic_fetch_add_explicit(&st->read_bytes, n, RELAXED);
  leave(st, &st->reads_in_flight);
  return (ssize_t)n;
}

ssize_t fp_write(struct fp_state *st, const char *path, const char *buf, size_t size, off_t offset) {
  if (!atomic_load_explicit(&st->write_open, RELAXED)) return forward(st, 1, FP_FWD_GATE);
  atomic_fetch_add(&st->writes_in_flight, 1);
  if (!atomic_load(&st->write_open)) {
    leave(st, &st->writes_in_flight);
    return forward(st, 1, FP_FWD_GATE);
  }
  enum fp_forward_reason why;
  if (!is_volume(st, path) || st->read_only) {
    why = FP_FWD_OTHER;
    goto out_forward;
  }
  uint64_t off = (uint64_t)offset;
  if (offset < 0 || size == 0 || off >= st->size || size > st->size - off) {
    why = FP_FWD_RANGE;
    goto out_forward;
  }
  uint64_t end = off + size;
  uint64_t first = off / st->cluster_size, last = (end - 1) / st->cluster_size;
  if (!all_recorded(st, first, last)) {
    why = FP_FWD_UNRECORDED;
    goto out_forward;
  }
  if (st->mark_ahead > 0) {
    if (follower_acts(st, follow_peek(st, off), end, last)) {
      /* JavaScript follows this write itself (through fp_follow) and marks ahead. */
      why = FP_FWD_HANDOFF;
      goto out_forward;
    }
    fp_follow(st, off, size);
  }
  BEFORE_IO(st, 1);
  ssize_t put = pwrite(st->fd, buf, size, offset);
  if (put != (ssize_t)size) {
    /* The follower already counted this write; JavaScript's redo then looks like a new stream,
     * which only delays a mark-ahead. */
    why = FP_FWD_IO;
    goto out_forward;
  }
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
  if (ns - atomic_load_explicit(&st->last_write_ns, RELAXED) >= 1000000) atomic_store_explicit(&st->last_write_ns, ns, RELAXED);
  atomic_fetch_add_explicit(&st->writes, 1, RELAXED);
  atomic_fetch_add_explicit(&st->written_bytes, size, RELAXED);
  leave(st, &st->writes_in_flight);
  return (ssize_t)size;

out_forward:
  leave(st, &st->writes_in_flight);
  return forward(st, 1, why);
}
