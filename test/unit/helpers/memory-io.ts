/**
 * An in-memory JournalIo for unit tests.
 *
 * - The file is a growable Buffer; `size()` and `truncate()` behave like a regular file (growth
 *   reads as zeros).
 * - Latency on demand: `hold(op)` parks every later call of that operation until the test releases
 *   it (`release`, `releaseAt`, `failAt`, `unhold`), so a test can keep a commit in flight, let
 *   writes complete in any order, or fail one write of a batch.
 * - Crashes: `powerLossImage()` is what survives a power cut (only bytes that a completed datasync
 *   covered; a datasync covers what was written before it was called), `processCrashImage()` is
 *   what survives the death of the process (every completed write: it is in the OS page cache).
 *   A write still held (pending) is in neither.
 * - A failed datasync is sticky-once, as on Linux ("fsyncgate"): the writes it covered are dropped
 *   from write-back (still readable, as the page cache keeps them, but never made durable unless
 *   written again), and a later datasync succeeds without them. A fault injected by a wrapping
 *   FaultInjectingIo never reaches this io, so it drops nothing: use `faultHook` or `failAt`.
 * - `faultHook` fails a single call by returning an errno code for it.
 */
import { injectedFault, type JournalIo } from '../../../src/journal/journal-io.js';

export type MemOp = 'read' | 'write' | 'datasync' | 'truncate';

export interface PendingCall {
  op: MemOp;
  /** File offset of a write or read; -1 for other operations. */
  position: number;
  /** Completes the call successfully (applies the write, makes the datasync durable). */
  complete: () => void;
  /** Fails the call with an errno code; nothing is applied. */
  fail: (code: string) => void;
}

type Mutation = { position: number; data: Buffer } | { truncate: number };

export class MemoryIo implements JournalIo {
  private data: Buffer;
  private length: number;
  private durable: Buffer;
  private readonly held = new Set<MemOp>();
  private readonly pending: PendingCall[] = [];
  private readonly pendingWaiters: { op: MemOp | null; n: number; resolve: () => void }[] = [];
  readonly calls = { read: 0, write: 0, datasync: 0, truncate: 0, size: 0, close: 0 };
  /** Completed writes, in completion order (offset and length). */
  readonly writeLog: { position: number; length: number }[] = [];
  /**
   * Completed writes and truncates no datasync has covered yet, in order: the disk may hold any
   * subset of the writes. A failed datasync removes what it covered (dropped from write-back).
   */
  private unsynced: Mutation[] = [];
  /** Writes a failed datasync dropped: readable now, lost at a power cut unless written again. */
  dropped = 0;
  closed = false;
  /** Called at the start of each call; a returned errno code fails that call. */
  faultHook: ((op: MemOp, position: number) => string | null) | null = null;

  constructor(initial?: Buffer) {
    this.data = Buffer.alloc(Math.max(initial?.length ?? 0, 4096));
    this.length = 0;
    if (initial) {
      initial.copy(this.data);
      this.length = initial.length;
    }
    this.durable = this.contents();
  }

  /* ------------------------------------------------------------- JournalIo ---- */

  async read(buf: Buffer, position: number): Promise<number> {
    this.calls.read++;
    return this.gate('read', position, () => {
      if (position >= this.length) return 0;
      const n = Math.min(buf.length, this.length - position);
      this.data.copy(buf, 0, position, position + n);
      return n;
    });
  }

  async write(buf: Buffer, position: number): Promise<void> {
    this.calls.write++;
    // pwrite reads the caller's buffer when it runs; the journal's buffers are private snapshots,
    // so copying at call time is equivalent and catches a caller that reuses a buffer too early.
    const copy = Buffer.from(buf);
    return this.gate('write', position, () => {
      this.ensure(position + copy.length);
      copy.copy(this.data, position);
      this.length = Math.max(this.length, position + copy.length);
      this.writeLog.push({ position, length: copy.length });
      this.unsynced.push({ position, data: copy });
    });
  }

  async datasync(): Promise<void> {
    this.calls.datasync++;
    // Covers what was written before the call (and was not dropped by a failed datasync since).
    const covered = new Set(this.unsynced);
    return this.gate('datasync', -1, () => {
      this.durable = applyMutations(this.durable, this.unsynced.filter((m) => covered.has(m)));
      this.unsynced = this.unsynced.filter((m) => !covered.has(m));
    }, () => {
      // Sticky-once: the kernel marks the pages clean after the failed write-back.
      this.dropped += this.unsynced.filter((m) => covered.has(m)).length;
      this.unsynced = this.unsynced.filter((m) => !covered.has(m));
    });
  }

  async size(): Promise<number> {
    this.calls.size++;
    return this.length;
  }

  async truncate(size: number): Promise<void> {
    this.calls.truncate++;
    return this.gate('truncate', -1, () => {
      this.ensure(size);
      if (size < this.length) this.data.fill(0, size, this.length);
      this.length = size;
      this.unsynced.push({ truncate: size });
    });
  }

  async close(): Promise<void> {
    this.calls.close++;
    this.closed = true;
  }

  /* ---------------------------------------------------------------- crashes ---- */

  /** Bytes that survive a power cut: those covered by a completed datasync. */
  powerLossImage(): Buffer {
    return Buffer.from(this.durable);
  }

  /**
   * A power cut with write-back reordering: the durable bytes plus whichever of the completed but
   * unsynced writes `landed` picks (by their order of completion), as a disk may have taken any
   * subset of them.
   */
  powerLossImageWith(landed: (i: number) => boolean): Buffer {
    const writes = this.unsynced.filter((m) => 'data' in m);
    return applyMutations(this.durable, this.unsynced.filter((m) => !('data' in m) || landed(writes.indexOf(m))));
  }

  /** How many completed writes no datasync has covered (and none dropped): `landed`'s range. */
  unsyncedWrites(): number {
    return this.unsynced.filter((m) => 'data' in m).length;
  }

  /** Bytes that survive the death of the process: every completed write. */
  processCrashImage(): Buffer {
    return this.contents();
  }

  /** Direct access for tests that corrupt the file in place. */
  bytes(): Buffer {
    return this.data.subarray(0, this.length);
  }

  /* ---------------------------------------------------------------- latency ---- */

  hold(op: MemOp): void {
    this.held.add(op);
  }

  /** Stops holding `op` and completes every pending call of it, oldest first. */
  unhold(op: MemOp): void {
    this.held.delete(op);
    this.release(op);
  }

  pendingCalls(op?: MemOp): PendingCall[] {
    return this.pending.filter((p) => op === undefined || p.op === op);
  }

  pendingCount(op?: MemOp): number {
    return this.pendingCalls(op).length;
  }

  /** Resolves once at least n calls (of op, or of any operation) are pending. */
  waitForPending(op: MemOp | null, n = 1): Promise<void> {
    return new Promise((resolve) => {
      this.pendingWaiters.push({ op, n, resolve });
      this.wakeWaiters();
    });
  }

  /** Completes up to n pending calls of op, oldest first. Returns how many. */
  release(op: MemOp, n = Infinity): number {
    let done = 0;
    for (const p of this.pendingCalls(op)) {
      if (done >= n) break;
      p.complete();
      done++;
    }
    return done;
  }

  /** Completes the i-th pending call (over all operations, oldest first). */
  releaseAt(i: number): void {
    const p = this.pending[i];
    if (!p) throw new RangeError(`no pending call ${i}`);
    p.complete();
  }

  /** Fails the i-th pending call with an errno code. */
  failAt(i: number, code: string): void {
    const p = this.pending[i];
    if (!p) throw new RangeError(`no pending call ${i}`);
    p.fail(code);
  }

  /* ---------------------------------------------------------------- private ---- */

  /** Runs `apply` when the call completes; `failed` when it fails (a fault or failAt). */
  private gate<T>(op: MemOp, position: number, apply: () => T, failed: () => void = () => {}): Promise<T> {
    if (this.closed) return Promise.reject(injectedFault('EBADF', op));
    const code = this.faultHook?.(op, position) ?? null;
    if (code) {
      failed();
      return Promise.reject(injectedFault(code, op));
    }
    if (!this.held.has(op)) return Promise.resolve().then(apply);
    return new Promise<T>((resolve, reject) => {
      const call: PendingCall = {
        op,
        position,
        complete: () => {
          this.remove(call);
          resolve(apply());
        },
        fail: (c: string) => {
          this.remove(call);
          failed();
          reject(injectedFault(c, op));
        },
      };
      this.pending.push(call);
      this.wakeWaiters();
    });
  }

  private remove(call: PendingCall): void {
    const i = this.pending.indexOf(call);
    if (i >= 0) this.pending.splice(i, 1);
  }

  private wakeWaiters(): void {
    for (let i = this.pendingWaiters.length - 1; i >= 0; i--) {
      const w = this.pendingWaiters[i]!;
      if (this.pendingCount(w.op ?? undefined) >= w.n) {
        this.pendingWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  private ensure(size: number): void {
    if (size <= this.data.length) return;
    const next = Buffer.alloc(Math.max(size, this.data.length * 2));
    this.data.copy(next, 0, 0, this.length);
    this.data = next;
  }

  private contents(): Buffer {
    return Buffer.from(this.data.subarray(0, this.length));
  }
}

/** `base` with the mutations applied in order (writes grow the file; a truncate sets its size). */
function applyMutations(base: Buffer, mutations: readonly Mutation[]): Buffer {
  let image = Buffer.from(base);
  for (const m of mutations) {
    if ('truncate' in m) {
      const next = Buffer.alloc(m.truncate);
      image.copy(next, 0, 0, Math.min(image.length, m.truncate));
      image = next;
      continue;
    }
    if (image.length < m.position + m.data.length) {
      const grown = Buffer.alloc(m.position + m.data.length);
      image.copy(grown);
      image = grown;
    }
    m.data.copy(image, m.position);
  }
  return image;
}

/** Lets every non-held asynchronous step run (all queued microtasks and one macrotask turn). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Tracks whether a promise has settled, without awaiting it. */
export function track<T>(p: Promise<T>): { readonly state: 'pending' | 'resolved' | 'rejected'; readonly error: unknown; promise: Promise<T> } {
  const t = { state: 'pending' as 'pending' | 'resolved' | 'rejected', error: undefined as unknown, promise: p };
  p.then(() => { t.state = 'resolved'; }, (e) => { t.state = 'rejected'; t.error = e; });
  return t;
}
