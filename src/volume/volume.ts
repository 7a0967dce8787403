/**
 * The exported volume: a fixed-size byte range backed by the image, with every write gated by the
 * tracker (write-ahead) and every request gated by the mount's state (IoGate). Results are reported as FUSE
 * wants them: a byte count, or a negative errno; exactly one reply per request.
 *
 * Errno choices:
 *   state other than active     EIO, or ENODEV once the device is gone (see lifecycle.ts)
 *   write at or past the end    ENOSPC (a write that crosses the end is cut short, like a device)
 *   journal cannot record       EIO, and the data never reaches the image
 *   write on a read-only mount  EROFS
 *   image I/O error             the image's own errno (EIO, ENOSPC, ...), or the lifecycle's once
 *                               the error has taken the mount out of `active` (device gone)
 *
 * Writes can be paused and drained (a checkpoint): a paused write waits, registered like any
 * other request, and starts when the last pause ends; so no write straddles a checkpoint. Pauses
 * nest (a count), so overlapping pausers cannot release each other's writes.
 *
 * Every request in flight is registered, so that when the backing store vanishes or stalls the
 * owner can answer all of them at once (abortInFlight) instead of waiting for calls that may
 * never return. A request answered that way ignores its late completion; its buffer is never
 * reused, because a stalled call may still write into it.
 */
import type { ImageFile } from './image.js';
import type { WriteTracker } from '../tracker/tracker.js';
import { fuseErr, fuseErrOf, type ErrnoName } from '../util/errno.js';
import { withTimeout } from '../util/timeout.js';
import type { RecordedListener } from '../journal/page-cache.js';
import type { FastPathCounters } from '../native/fastpath.js';
import type { StreamFollower } from '../tracker/tracker.js';
import type { NativeGateInputs, NativePath } from './native-path.js';

/**
 * Whether requests may be served now, and if not, the errno they get. The volume declares what it
 * needs; the mount's lifecycle (src/mount/lifecycle.ts) provides it.
 */
export interface IoGate {
  ioError(): ErrnoName | null;
  /** Calls `listener` after every change of state, synchronously (the native gates follow it). */
  onTransition(listener: () => void): void;
}

const EIO = fuseErr('EIO');
const EROFS = fuseErr('EROFS');
const ENOSPC = fuseErr('ENOSPC');

export type Reply = (result: number) => void;
export type ReadReply = (result: number, data: Buffer | null) => void;

/** What the volume reports upward (logged once by the owner, never per request). */
export interface VolumeEvents {
  journalFailed(e: unknown): void;
  /** Called before the request is answered, so the owner may change the lifecycle first. */
  imageFailed(e: unknown, op: 'read' | 'write' | 'sync'): void;
}

/** The backing handles while the volume is attached; swapped out by eject and back by resume. */
export interface Backing {
  image: ImageFile;
  tracker: WriteTracker;
  /** The journal's recorded bits, for the native data path (Journal.shareRecorded). */
  recorded: { shareRecorded(listener: RecordedListener | null): void };
  clusterSize: number;
  /** The tracker's mark-ahead window (bytes; 0: off). */
  markAhead: number;
}

/** Which path serves requests, and what each has served (for status). */
export interface DataPathReport {
  path: 'native' | 'javascript';
  /** Why not native, when it is not. */
  reason: string | null;
  /** Requests JavaScript answered (read and write, forwarded by the module included). */
  javascript: { reads: number; writes: number };
  /** What the native module did, when there is one. */
  native: FastPathCounters | null;
}

interface Pending {
  answered: boolean;
  /** The sweep tick when the request began: stuck requests are found without a clock per request. */
  tick: number;
  abort(result: number): void;
}

const POOL_BUFFER_SIZE = 128 * 1024;
const POOL_MAX = 64;

export class Volume {
  private backing: Backing | null = null;
  private openHandles = 0;
  private readonly pending = new Set<Pending>();
  private drainWaiters: (() => void)[] = [];
  private closedWaiters: (() => void)[] = [];
  /** Counts expireStuck() sweeps. */
  private tick = 0;
  /** Writes past the pause gate and not yet answered. */
  private writesInFlight = 0;
  private writesDrainedWaiters: (() => void)[] = [];
  /** How many pauseWrites() are not yet matched by resumeWrites(): writes wait while above 0. */
  private pauseDepth = 0;
  /** While writes are paused: the writes waiting to start. */
  private pausedWrites: (() => void)[] = [];
  private readonly pool: Buffer[] = [];
  private mtimeMs = Date.now();
  private jsReads = 0;
  private jsWrites = 0;

  /**
   * `native`: the native data path, or null with why not (the JavaScript path serves everything).
   */
  constructor(
    readonly size: number,
    private readonly gate: IoGate,
    private readonly events: VolumeEvents,
    readonly readOnly: boolean,
    private readonly native: { path: NativePath; reason?: never } | { path: null; reason: string },
  ) {
    gate.onTransition(() => this.refreshGates());
  }

  get openCount(): number { return this.openHandles; }
  get pendingRequests(): number { return this.pending.size; }
  /** The volume's mtime: the last write through either path (or the last attach). */
  get modifiedAtMs(): number {
    return this.native.path ? Math.max(this.mtimeMs, this.native.path.lastWriteAtMs()) : this.mtimeMs;
  }
  /** The stream follower the tracker must use (shared with the native path when there is one). */
  get streamFollower(): StreamFollower | undefined {
    return this.native.path?.follow;
  }

  /**
   * Serves from `backing`. The native path is bound and given the recorded bits before its gates
   * open. The mtime moves: a resumed image may have changed while ejected, and a new mtime makes
   * the kernel drop the pages it cached (auto_cache) at the next open.
   */
  attach(backing: Backing): void {
    this.backing = backing;
    this.mtimeMs = Date.now();
    const native = this.native.path;
    if (native) {
      native.bind({
        fd: backing.image.fd,
        size: this.size,
        clusterSize: backing.clusterSize,
        readOnly: this.readOnly,
        markAhead: backing.markAhead,
      });
      backing.recorded.shareRecorded(native.recorded);
    }
    this.refreshGates();
  }

  /**
   * Forgets the handles (eject, removal, shutdown; the lifecycle already refuses I/O and the
   * volume was drained). False when a native call is still stuck on the image: the native module
   * keeps its own descriptor of it until the call returns.
   */
  detach(): boolean {
    const b = this.backing;
    this.backing = null;
    this.refreshGates();
    b?.recorded.shareRecorded(null);
    return this.native.path?.unbind() ?? true;
  }

  /** Opens or closes the native gates to match what this volume would serve now. */
  private refreshGates(): void {
    this.native.path?.refreshGates(this.gateInputs());
  }

  private gateInputs(): NativeGateInputs {
    return { serving: this.backing !== null && this.gate.ioError() === null, writesPaused: this.pauseDepth > 0 };
  }

  dataPath(): DataPathReport {
    const javascript = { reads: this.jsReads, writes: this.jsWrites };
    const native = this.native.path;
    if (!native) return { path: 'javascript', reason: this.native.reason, javascript, native: null };
    const r = native.report();
    return { path: r.serving || this.backing === null ? 'native' : 'javascript', reason: r.off, javascript, native: r.counters };
  }

  /** The native module was not stacked on this mount after all: JavaScript serves everything. */
  nativeRefused(why: string): void {
    this.native.path?.disable(why);
  }

  /** Native calls found stuck on the image (they never returned). */
  get stuckNativeCalls(): number {
    return this.native.path?.stuck ?? 0;
  }

  /** Counts a descriptor. Write access on a read-only mount is refused here, not at write time. */
  open(wantsWrite: boolean): number {
    if (wantsWrite && this.readOnly) return EROFS;
    this.openHandles++;
    return 0;
  }

  release(): void {
    if (this.openHandles > 0) this.openHandles--;
    if (this.openHandles === 0) this.wakeClosed();
  }

  /** Resolves when no descriptor is open on the volume. */
  whenAllClosed(): Promise<void> {
    if (this.openHandles === 0) return Promise.resolve();
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  /** The errno a request gets now, or 0 when it may proceed. */
  private refusal(): number {
    const refused = this.gate.ioError();
    if (refused) return fuseErr(refused);
    return this.backing ? 0 : EIO;
  }

  read(position: number, length: number, reply: ReadReply): void {
    this.jsReads++;
    const refused = this.refusal();
    if (refused) return reply(refused, null);
    if (position >= this.size || length <= 0) return reply(0, null);
    const n = Math.min(length, this.size - position);
    const buf = this.takeBuffer(n);
    const req = this.begin((result) => reply(result, null));
    this.backing!.image.read(buf, n, position, (err, got) => {
      if (!this.end(req)) return; // answered already; buf may still be written into: drop it
      if (err) {
        this.giveBuffer(buf);
        this.events.imageFailed(err, 'read');
        return reply(this.imageErrno(err), null);
      }
      // The caller copies out of buf synchronously, then the buffer goes back to the pool.
      reply(got, buf);
      this.giveBuffer(buf);
    });
  }

  /** `data` must already be a copy owned by trackfs (FUSE's buffer dies with the callback). */
  write(data: Buffer, position: number, reply: Reply): void {
    this.jsWrites++;
    const refused = this.refusal();
    if (refused) return reply(refused);
    if (this.readOnly) return reply(EROFS);
    if (data.length === 0) return reply(0);
    if (position >= this.size) return reply(ENOSPC);
    if (this.pauseDepth > 0) {
      const req = this.begin(reply);
      this.pausedWrites.push(() => {
        if (req.answered) return; // aborted while paused
        const refusedNow = this.refusal();
        if (refusedNow) {
          this.end(req);
          return reply(refusedNow);
        }
        this.startWrite(req, data, position, reply);
      });
      return;
    }
    this.startWrite(this.begin(reply), data, position, reply);
  }

  /**
   * Holds new writes back (they wait, they are not refused) until every pauseWrites() has been
   * matched by a resumeWrites(): two checkpoints that overlap each keep writes paused until both
   * are done.
   */
  pauseWrites(): void {
    this.pauseDepth++;
    this.refreshGates();
  }

  resumeWrites(): void {
    if (this.pauseDepth === 0) throw new Error('INTERNAL ERROR: resumeWrites() without pauseWrites()');
    if (--this.pauseDepth > 0) return;
    this.refreshGates();
    const waiting = this.pausedWrites;
    this.pausedWrites = [];
    for (const start of waiting) start();
  }

  /**
   * Resolves once no write that got past the pause gate is still in flight, native ones included;
   * rejects with ETIMEDOUT after `limitMs`.
   */
  whenWritesDrained(limitMs: number): Promise<void> {
    const js = this.writesInFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.writesDrainedWaiters.push(resolve));
    const both = Promise.all([js, this.native.path?.drained('writes', limitMs)]).then(() => {});
    return withTimeout(both, limitMs, 'writes in flight');
  }

  private startWrite(req: Pending, data: Buffer, position: number, reply: Reply): void {
    const n = Math.min(data.length, this.size - position);
    const backing = this.backing!;
    this.writesInFlight++;
    const done = reply;
    reply = (result: number) => {
      this.writeEnded();
      done(result);
    };
    req.abort = reply;
    const wait = backing.tracker.beforeWrite(position, n);
    if (wait === null) {
      this.issueWrite(backing, req, data, n, position, reply);
      return;
    }
    wait.then(
      () => {
        if (req.answered) return; // aborted while waiting: the data must not be written now
        this.issueWrite(backing, req, data, n, position, reply);
      },
      (e) => {
        // Write-ahead failed: the data must not reach the image.
        if (!this.end(req)) return;
        this.events.journalFailed(e);
        reply(EIO);
      },
    );
  }

  private issueWrite(backing: Backing, req: Pending, data: Buffer, n: number, position: number, reply: Reply): void {
    backing.image.write(data, n, position, (err, written) => {
      if (!this.end(req)) return;
      if (err) {
        this.events.imageFailed(err, 'write');
        return reply(this.imageErrno(err));
      }
      this.mtimeMs = Date.now();
      reply(written);
    });
  }

  /** fsync/fdatasync of the volume: the journal and the image, both durable. */
  fsync(reply: Reply): void {
    const refused = this.refusal();
    if (refused) return reply(refused);
    const { image, tracker } = this.backing!;
    const req = this.begin(reply);
    let imageError: unknown = null;
    let journalFailed = false;
    const imageSync = image.datasync().catch((e) => { imageError = e; });
    const journalSync = tracker.sync().catch((e) => {
      journalFailed = true;
      this.events.journalFailed(e);
    });
    void Promise.all([imageSync, journalSync]).then(() => {
      if (!this.end(req)) return;
      if (imageError) {
        this.events.imageFailed(imageError, 'sync');
        return reply(this.imageErrno(imageError));
      }
      reply(journalFailed ? EIO : 0);
    });
  }

  /**
   * Answers every request in flight with `result` now (the backing store is gone or stalled). Their
   * late completions are ignored; writes still waiting for the journal are never issued.
   */
  abortInFlight(result: number): number {
    const n = this.pending.size;
    for (const req of [...this.pending]) {
      req.answered = true;
      this.pending.delete(req);
      req.abort(result);
    }
    if (n > 0) this.wakeDrained();
    return n;
  }

  /**
   * Called once a second: answers with EIO the requests in flight for `limitTicks` sweeps or more
   * (a backing call that never returns must not hang its caller forever). Returns how many.
   */
  expireStuck(limitTicks: number): number {
    this.tick++;
    let n = this.native.path?.sweep(this.tick, limitTicks, this.gateInputs()) ?? 0;
    for (const req of this.pending) {
      if (this.tick - req.tick < limitTicks) continue;
      req.answered = true;
      this.pending.delete(req);
      req.abort(EIO);
      n++;
    }
    if (n > 0) this.wakeDrained();
    return n;
  }

  /**
   * Resolves once no request is in flight, native ones included; rejects with ETIMEDOUT after
   * `limitMs`. New requests are the lifecycle's to refuse.
   */
  drain(limitMs: number): Promise<void> {
    const js = this.pending.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    return withTimeout(Promise.all([js, this.native.path?.drained('all', limitMs)]).then(() => {}), limitMs, 'requests in flight');
  }

  private imageErrno(err: unknown): number {
    // If the failure took the mount out of active (device gone), say that, not the raw errno.
    const refused = this.gate.ioError();
    return refused ? fuseErr(refused) : fuseErrOf(err);
  }

  private begin(abort: (result: number) => void): Pending {
    const req: Pending = { answered: false, tick: this.tick, abort };
    this.pending.add(req);
    return req;
  }

  /** Marks a request finished; false if it was already answered by abortInFlight. */
  private end(req: Pending): boolean {
    if (req.answered) return false;
    req.answered = true;
    this.pending.delete(req);
    this.wakeDrained();
    return true;
  }

  private wakeDrained(): void {
    if (this.pending.size > 0 || this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private writeEnded(): void {
    if (--this.writesInFlight > 0 || this.writesDrainedWaiters.length === 0) return;
    const waiters = this.writesDrainedWaiters;
    this.writesDrainedWaiters = [];
    for (const w of waiters) w();
  }

  private wakeClosed(): void {
    const waiters = this.closedWaiters;
    this.closedWaiters = [];
    for (const w of waiters) w();
  }

  private takeBuffer(n: number): Buffer {
    if (n > POOL_BUFFER_SIZE) return Buffer.allocUnsafe(n);
    return this.pool.pop() ?? Buffer.allocUnsafe(POOL_BUFFER_SIZE);
  }

  private giveBuffer(buf: Buffer): void {
    if (buf.length === POOL_BUFFER_SIZE && this.pool.length < POOL_MAX) this.pool.push(buf);
  }
}
