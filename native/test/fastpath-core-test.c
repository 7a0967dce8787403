/*
 * Tests of the native data path's core (native/src/fastpath.c) without libfuse or Node: the
 * serve/forward decisions, the recorded bitmap's geometry, the refusals that protect a call in
 * flight, the drain signal, and a race between workers and a closing gate.
 *
 *   cc -std=gnu11 -O2 -pthread -DFP_TEST_HOOKS -Inative/src native/test/fastpath-core-test.c \
 *      native/src/fastpath.c -o core-test && ./core-test TMPDIR
 *
 * Prints "ok - NAME" or "not ok - NAME: why" per check and exits 1 if any failed.
 * test/unit/native-core.test.ts builds and runs it.
 */
#define _GNU_SOURCE
#include "fastpath.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define EXPECT(cond, name)                                               \
  do {                                                                   \
    if (cond) {                                                          \
      printf("ok - %s\n", name);                                         \
    } else {                                                             \
      printf("not ok - %s: %s (line %d)\n", name, #cond, __LINE__);      \
      failures++;                                                        \
    }                                                                    \
  } while (0)

/* ------------------------------------------------------------ the hook ---- */

/* Called by fastpath.c just before each pread/pwrite (FP_TEST_HOOKS). */
static void (*before_io)(struct fp_state *, int);
void fp_test_before_io(struct fp_state *st, int is_write) {
  if (before_io) before_io(st, is_write);
}

/* ------------------------------------------------------------ helpers ---- */

static const char *tmpdir;

static int temp_file(uint64_t size) {
  char path[512];
  snprintf(path, sizeof path, "%s/core-XXXXXX", tmpdir);
  int fd = mkstemp(path);
  if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
    perror("temp file");
    exit(2);
  }
  unlink(path);
  return fd;
}

static void attach(struct fp_state *st, int fd, uint64_t size, uint64_t cs, int ro, uint64_t mark_ahead, uint64_t after) {
  struct fp_binding_params p = {fd, size, cs, ro, "/volume", mark_ahead, after};
  int r = fp_attach(st, &p);
  if (r != 0) {
    fprintf(stderr, "attach: %d\n", r);
    exit(2);
  }
}

/* Sets clusters [first, last] in `recorded`, a page at a time as TypeScript would. */
static void record(struct fp_state *st, uint64_t first, uint64_t last) {
  uint8_t bits[FP_PAGE_BYTES];
  for (uint64_t page = first / FP_CLUSTERS_PER_PAGE; page <= last / FP_CLUSTERS_PER_PAGE; page++) {
    memset(bits, 0, sizeof bits);
    for (uint64_t c = first; c <= last; c++) {
      if (c / FP_CLUSTERS_PER_PAGE != page) continue;
      uint64_t bit = c % FP_CLUSTERS_PER_PAGE;
      bits[bit >> 3] |= (uint8_t)(1u << (bit & 7));
    }
    if (fp_or_recorded_page(st, page, bits, sizeof bits) != 0) exit(2);
  }
}

static uint64_t fwd(struct fp_state *st, enum fp_forward_reason r) {
  struct fp_counters c;
  fp_counters(st, &c);
  return c.forwarded[r];
}

/* ------------------------------------------------------------ decisions ---- */

static void test_decisions(void) {
  const uint64_t cs = 64 * 1024, size = 16 * cs + 5 * 1024; /* the last cluster is partial */
  int fd = temp_file(size);
  struct fp_state st;
  fp_init(&st);
  attach(&st, fd, size, cs, 0, 0, 0);
  static char buf[256 * 1024], back[256 * 1024];
  memset(buf, 0xab, sizeof buf);

  EXPECT(fp_read(&st, "/volume", back, 4096, 0) == FP_FORWARD && fwd(&st, FP_FWD_GATE) == 1, "a closed gate forwards reads");
  EXPECT(fp_write(&st, "/volume", buf, 4096, 0) == FP_FORWARD && fwd(&st, FP_FWD_GATE) == 2, "a closed gate forwards writes");
  fp_set_gates(&st, 1, 1);

  EXPECT(fp_write(&st, "/volume", buf, 4096, 0) == FP_FORWARD && fwd(&st, FP_FWD_UNRECORDED) == 1, "a first touch is forwarded");
  record(&st, 0, 3);
  EXPECT(fp_write(&st, "/volume", buf, 4 * cs, 0) == (ssize_t)(4 * cs), "a rewrite of recorded clusters is served");
  EXPECT(pread(fd, back, 4 * cs, 0) == (ssize_t)(4 * cs) && memcmp(back, buf, 4 * cs) == 0, "the served write is in the image");
  EXPECT(fp_write(&st, "/volume", buf, 4096 + 1, 4 * cs - 4096) == FP_FORWARD && fwd(&st, FP_FWD_UNRECORDED) == 2,
         "a write reaching one unrecorded cluster is forwarded");

  record(&st, 0, 16);
  EXPECT(fp_write(&st, "/volume", buf, 8192, size - 4096) == FP_FORWARD && fwd(&st, FP_FWD_RANGE) == 1, "a write crossing the end is forwarded");
  EXPECT(fp_write(&st, "/volume", buf, 10, size) == FP_FORWARD && fwd(&st, FP_FWD_RANGE) == 2, "a write at the end is forwarded");
  EXPECT(fp_write(&st, "/volume", buf, 0, 0) == FP_FORWARD && fwd(&st, FP_FWD_RANGE) == 3, "an empty write is forwarded");
  EXPECT(fp_write(&st, "/volume", buf, 4096, size - 4096) == 4096, "a write ending exactly at the end is served");
  EXPECT(fp_write(&st, "/other", buf, 4096, 0) == FP_FORWARD && fwd(&st, FP_FWD_OTHER) == 1, "a write to another path is forwarded");
  EXPECT(fp_read(&st, "/other", back, 4096, 0) == FP_FORWARD && fwd(&st, FP_FWD_OTHER) == 2, "a read of another path is forwarded");

  EXPECT(fp_read(&st, "/volume", back, 4096, 0) == 4096 && memcmp(back, buf, 4096) == 0, "a read is served");
  EXPECT(fp_read(&st, "/volume", back, 8192, size - 1000) == 1000, "a read crossing the end is cut at the end");
  EXPECT(fp_read(&st, "/volume", back, 4096, size) == 0, "a read at the end returns 0");
  EXPECT(fp_read(&st, "/volume", back, 4096, size + 1) == 0, "a read past the end returns 0");

  struct fp_counters c;
  fp_counters(&st, &c);
  uint64_t fwd_total = 0;
  for (int i = 0; i < FP_FWD_REASONS; i++) fwd_total += c.forwarded[i];
  EXPECT(c.reads == 4 && c.writes == 2 && c.read_bytes == 4096 + 1000 && c.written_bytes == 4 * cs + 4096, "served counters add up");
  EXPECT(fwd_total == c.forwarded_reads + c.forwarded_writes && c.completed == c.reads + c.writes + fwd_total, "forwarded counters add up");
  EXPECT(c.last_write_ns > 0 && c.reads_in_flight == 0 && c.writes_in_flight == 0, "last write time set, nothing in flight");

  /* Errors: a descriptor that cannot write (read-only open of the same file) makes pwrite fail. */
  fp_set_gates(&st, 0, 0);
  EXPECT(fp_detach(&st) == 0, "detach when closed and drained");
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  int rofd = open(path, O_RDONLY);
  attach(&st, rofd, size, cs, 0, 0, 0);
  record(&st, 0, 16);
  fp_set_gates(&st, 1, 1);
  EXPECT(fp_write(&st, "/volume", buf, 4096, 0) == FP_FORWARD && fwd(&st, FP_FWD_IO) == 1, "a failed pwrite is forwarded whole");
  close(rofd); /* the module holds its own duplicate */
  EXPECT(fp_read(&st, "/volume", back, 4096, 0) == 4096, "the module's descriptor outlives the caller's");
  fp_set_gates(&st, 0, 0);
  fp_detach(&st);

  attach(&st, fd, size, cs, 1, 0, 0);
  record(&st, 0, 16);
  fp_set_gates(&st, 1, 1);
  EXPECT(fp_write(&st, "/volume", buf, 4096, 0) == FP_FORWARD && fwd(&st, FP_FWD_OTHER) == 3, "a read-only binding forwards writes");
  EXPECT(fp_read(&st, "/volume", back, 4096, 0) == 4096, "a read-only binding serves reads");
  fp_set_gates(&st, 0, 0);
  fp_destroy(&st);
  close(fd);
}

/* ------------------------------------------------------------ bitmap ---- */

static void test_bitmap(void) {
  const uint64_t cs = 4096, clusters = FP_CLUSTERS_PER_PAGE + 100, size = clusters * cs;
  int fd = temp_file(size);
  struct fp_state st;
  fp_init(&st);
  attach(&st, fd, size, cs, 0, 0, 0);
  fp_set_gates(&st, 1, 1);
  char buf[8192] = {0};
  uint8_t bits[FP_PAGE_BYTES] = {0};
  bits[0] = 1; /* page 1, bit 0: cluster FP_CLUSTERS_PER_PAGE */
  EXPECT(fp_or_recorded_page(&st, 1, bits, sizeof bits) == 0, "or a page");
  EXPECT(fp_write(&st, "/volume", buf, 4096, FP_CLUSTERS_PER_PAGE * cs) == 4096, "bit 0 of page 1 is the first cluster of page 1");
  EXPECT(fp_write(&st, "/volume", buf, 4096, (FP_CLUSTERS_PER_PAGE - 1) * cs) == FP_FORWARD, "the last cluster of page 0 is not recorded");
  memset(bits, 0, sizeof bits);
  bits[(FP_CLUSTERS_PER_PAGE - 1) >> 3] = 0x80;
  fp_or_recorded_page(&st, 0, bits, sizeof bits);
  EXPECT(fp_write(&st, "/volume", buf, 8192, (FP_CLUSTERS_PER_PAGE - 1) * cs) == 8192, "a write across the page boundary is served when both bits are set");
  memset(bits, 0, sizeof bits);
  bits[1] = 0x02; /* cluster 9 */
  fp_or_recorded_page(&st, 0, bits, sizeof bits);
  EXPECT(fp_write(&st, "/volume", buf, 4096, 9 * cs) == 4096 && fp_write(&st, "/volume", buf, 4096, 8 * cs) == FP_FORWARD,
         "bits are least significant first");
  EXPECT(fp_write(&st, "/volume", buf, 4096, (FP_CLUSTERS_PER_PAGE - 1) * cs) == 4096, "or keeps the bits set before");
  EXPECT(fp_or_recorded_page(&st, 2, bits, sizeof bits) == -EINVAL, "a page past the end is refused");
  EXPECT(fp_or_recorded_page(&st, 0, bits, sizeof bits - 1) == -EINVAL, "a page of the wrong length is refused");

  EXPECT(fp_clear_recorded(&st) == -EBUSY, "clear is refused while the write gate is open");
  fp_set_gates(&st, 1, 0);
  EXPECT(fp_clear_recorded(&st) == 0, "clear with the write gate closed and drained");
  fp_set_gates(&st, 1, 1);
  EXPECT(fp_write(&st, "/volume", buf, 4096, 9 * cs) == FP_FORWARD && fp_write(&st, "/volume", buf, 4096, FP_CLUSTERS_PER_PAGE * cs) == FP_FORWARD,
         "after clear nothing is recorded (a new epoch)");
  fp_set_gates(&st, 0, 0);
  fp_destroy(&st);
  close(fd);
}

/* ------------------------------------------------------------ a call held in flight ---- */

static sem_t entered, proceed;
static void hold_in_io(struct fp_state *st, int is_write) {
  (void)st;
  (void)is_write;
  sem_post(&entered);
  sem_wait(&proceed);
}

struct call {
  struct fp_state *st;
  int is_write;
  ssize_t result;
};
static void *run_call(void *arg) {
  struct call *c = arg;
  char buf[4096] = {0};
  c->result = c->is_write ? fp_write(c->st, "/volume", buf, sizeof buf, 0) : fp_read(c->st, "/volume", buf, sizeof buf, 0);
  return NULL;
}

static int signals;
static void count_signal(void *ctx) {
  (void)ctx;
  __atomic_add_fetch(&signals, 1, __ATOMIC_SEQ_CST);
}

static void test_held_call(void) {
  const uint64_t cs = 65536, size = 4 * cs;
  int fd = temp_file(size);
  struct fp_state st;
  fp_init(&st);
  fp_set_signal(&st, count_signal, NULL);
  attach(&st, fd, size, cs, 0, 0, 0);
  record(&st, 0, 3);
  struct fp_binding_params p = {fd, size, cs, 0, "/volume", 0, 0};
  EXPECT(fp_attach(&st, &p) == -EBUSY, "attach twice is refused");
  fp_set_gates(&st, 1, 1);
  EXPECT(fp_detach(&st) == -EBUSY, "detach with open gates is refused");

  sem_init(&entered, 0, 0);
  sem_init(&proceed, 0, 0);
  before_io = hold_in_io;
  struct call w = {&st, 1, 0};
  pthread_t t;
  pthread_create(&t, NULL, run_call, &w);
  sem_wait(&entered); /* the write is inside, before its pwrite */
  fp_set_gates(&st, 0, 0);
  EXPECT(fp_in_flight(&st, 1) == 1, "the held write is counted in flight");
  EXPECT(fp_detach(&st) == -EBUSY, "detach is refused while a call is in flight, even with the gates closed");
  EXPECT(fp_clear_recorded(&st) == -EBUSY, "clear is refused while a write is in flight");
  EXPECT(fp_arm_drain(&st, 1) == 1 && signals == 0, "drain armed, not yet signalled");

  /* A read that comes and goes meanwhile forwards (gate closed); its counter reaching zero may
   * consume the signal, so the owner re-arms, as fastpath.ts does. */
  before_io = NULL;
  char rb[4096];
  EXPECT(fp_read(&st, "/volume", rb, sizeof rb, 0) == FP_FORWARD, "a read behind a closed gate is forwarded");
  if (signals > 0) {
    EXPECT(fp_arm_drain(&st, 1) == 1, "re-armed: the write is still in flight");
    signals = 0;
  }
  sem_post(&proceed);
  pthread_join(t, NULL);
  EXPECT(w.result == 4096, "the held write completes when released");
  EXPECT(signals == 1, "the worker that took the count to zero signalled once");
  EXPECT(fp_in_flight(&st, 0) == 0, "nothing in flight");
  EXPECT(fp_arm_drain(&st, 1) == 0, "arming now sees zero at once");
  EXPECT(fp_detach(&st) == 0, "detach once drained");
  fp_destroy(&st);
  close(fd);
}

/* ------------------------------------------------------------ the gate race ---- */

/* Workers write and read recorded clusters in a loop while the owner keeps closing the write gate,
 * waiting for the count to reach zero, declaring a quiet period, and reopening. A worker reaching
 * pwrite during a quiet period is a request that slipped past the closing gate. */
static _Atomic int quiet, stop;
static _Atomic long violations, io_in_quiet_reads;

static void watch_io(struct fp_state *st, int is_write) {
  (void)st;
  if (atomic_load(&quiet)) {
    if (is_write) atomic_fetch_add(&violations, 1);
    else atomic_fetch_add(&io_in_quiet_reads, 1);
  }
}

static void *hammer(void *arg) {
  struct fp_state *st = arg;
  char buf[512] = {0};
  unsigned n = 0;
  while (!atomic_load(&stop)) {
    if (n++ % 4 == 0) fp_read(st, "/volume", buf, sizeof buf, 0);
    else fp_write(st, "/volume", buf, sizeof buf, 0);
  }
  return NULL;
}

static void test_gate_race(void) {
  const uint64_t cs = 4096, size = cs;
  int fd = temp_file(size);
  struct fp_state st;
  fp_init(&st);
  attach(&st, fd, size, cs, 0, 0, 0);
  record(&st, 0, 0);
  fp_set_gates(&st, 1, 1);
  before_io = watch_io;
  pthread_t t[3];
  for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, hammer, &st);
  /* Bounded by time as well as rounds: on a loaded machine each yield can cost a time slice. */
  int rounds = 0, cleared = 0;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    fp_set_gates(&st, 1, 0);
    while (fp_in_flight(&st, 1) != 0) sched_yield();
    atomic_store(&quiet, 1);
    cleared += fp_clear_recorded(&st) == 0;
    for (int i = 0; i < 10; i++) sched_yield();
    record(&st, 0, 0);
    atomic_store(&quiet, 0);
    fp_set_gates(&st, 1, 1);
    for (int i = 0; i < 3; i++) sched_yield();
    rounds++;
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while (rounds < 3000 && (rounds < 200 || (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < 2000));
  atomic_store(&stop, 1);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  before_io = NULL;
  struct fp_counters c;
  fp_counters(&st, &c);
  printf("# gate race: %d rounds, %llu writes served, %llu forwarded at the gate, %ld reads during quiet periods\n", rounds,
         (unsigned long long)c.writes, (unsigned long long)c.forwarded[FP_FWD_GATE], atomic_load(&io_in_quiet_reads));
  EXPECT(c.writes > 0 && c.forwarded[FP_FWD_GATE] > 0, "the race ran both ways (served and gated writes)");
  EXPECT(cleared == rounds, "clear always succeeded once drained");
  EXPECT(atomic_load(&violations) == 0, "no write reached pwrite after the gate closed and the count reached zero");
  fp_set_gates(&st, 0, 0);
  fp_destroy(&st);
  close(fd);
}

/* ------------------------------------------------------------ the follower ---- */

static void test_follower(void) {
  const uint64_t cs = 65536, size = 64 * cs, window = 1 << 20, after = 256 * 1024;
  int fd = temp_file(size);
  struct fp_state st;
  fp_init(&st);
  attach(&st, fd, size, cs, 0, window, after);
  record(&st, 0, 31); /* [0, 2 MiB) */
  fp_set_gates(&st, 1, 1);
  char buf[65536] = {0};
  uint64_t off = 0;
  int served = 0;
  while (fp_write(&st, "/volume", buf, sizeof buf, (off_t)off) == (ssize_t)sizeof buf) {
    served++;
    off += sizeof buf;
  }
  /* ChangeTracker.markAheadOf acts when cluster floor((end - 1 + window / 2) / cs) is unmarked:
   * for the write at 1.5 MiB (end 1.5625 MiB) that is cluster 32, the first one not recorded. */
  EXPECT(off == 1536 * 1024 && fwd(&st, FP_FWD_HANDOFF) == 1, "the write at which the follower acts is handed to JavaScript");
  EXPECT(fp_write(&st, "/volume", buf, sizeof buf, (off_t)off) == FP_FORWARD && fwd(&st, FP_FWD_HANDOFF) == 2,
         "a handed-off write did not advance the follower");
  EXPECT(fp_follow(&st, off, sizeof buf) == off, "JavaScript's follow sees the stream the native side served");
  EXPECT(fp_follow(&st, 5 * cs, 100) == 0, "a write elsewhere starts a new stream");
  record(&st, 32, 63);
  EXPECT(fp_write(&st, "/volume", buf, sizeof buf, (off_t)(off + sizeof buf)) == (ssize_t)sizeof buf,
         "once the window is recorded the stream is served again");
  fp_set_gates(&st, 0, 0);
  fp_destroy(&st);
  close(fd);
  (void)served;
}

int main(int argc, char **argv) {
  tmpdir = argc > 1 ? argv[1] : "/tmp";
  test_decisions();
  test_bitmap();
  test_held_call();
  test_gate_race();
  test_follower();
  printf("%s\n", failures ? "FAILED" : "PASSED");
  return failures ? 1 : 0;
}
